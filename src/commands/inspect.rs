//! Commands that look and send nothing: `check`, `vars`, `curl`.

use std::io::Write;
use std::sync::Arc;

use super::{Loaded, load};
use crate::cli::Target;
use crate::error::{self, Result};
use crate::model::Environment;
use crate::runner::{self, Origin, Plan, Resolved, Selection, Settings, Setup, StateChoice};
use crate::{inputs, report};

/// `courier check`: everything `run` verifies before sending, and nothing sent. OS variables
/// that `env(...)` cannot find are listed as needs, not errors, so CI can lint without secrets.
pub(crate) fn check(target: &Target) -> Result<i32> {
    let loaded = load(target)?;
    let (lookup, needs) = inputs::Needs::wrap(Arc::clone(&loaded.lookup));
    let environments: Vec<Option<&Environment>> = if loaded.environments.is_empty() {
        vec![None]
    } else {
        loaded.environments.iter().map(Some).collect()
    };
    for environment in &environments {
        let inputs = loaded.inputs(*environment, Settings::default(), Arc::clone(&lookup));
        let setup = Setup {
            overrides: Vec::new(),
            state: StateChoice::Ignore,
            samples: Vec::new(),
        };
        Plan::new(inputs, setup)?;
    }
    let count = loaded.collection.requests.len();
    let mut out = std::io::stdout().lock();
    let mut line = format!(
        "ok: {} ({count} request{}, collection {})",
        loaded.collection.name,
        if count == 1 { "" } else { "s" },
        target.collection.display()
    );
    for env in &target.environments {
        line.push_str(&format!(", environment {}", env.display()));
    }
    let _ = writeln!(out, "{line}");
    for source in &loaded.collection.tokens {
        let auth = &source.auth;
        let _ = writeln!(
            out,
            "oauth2 `{}`: grant {}, POST {}, client authentication {}",
            source.request.name,
            auth.grant.as_str(),
            auth.token_url.text,
            match auth.client_auth {
                crate::model::ClientAuth::Basic => "basic",
                crate::model::ClientAuth::Body => "body",
            }
        );
    }
    for name in needs.names() {
        let _ = writeln!(
            out,
            "needs {name} (an OS environment variable not set here)"
        );
    }
    Ok(error::exit::OK)
}

/// `courier curl`: each selected request as a curl command, nothing sent.
pub(crate) fn print_curl(
    target: &Target,
    requests: Vec<String>,
    show_secrets: bool,
) -> Result<i32> {
    let loaded = load(target)?;
    let settings = Settings {
        show_secrets,
        selection: Selection {
            requests,
            ..Selection::default()
        },
        ..Settings::default()
    };
    let inputs = loaded.inputs(
        loaded.single_environment()?,
        settings,
        Arc::clone(&loaded.lookup),
    );
    let setup = Setup {
        overrides: Vec::new(),
        state: StateChoice::Peek {
            explicit: target.state.clone(),
        },
        samples: Vec::new(),
    };
    let plan = Plan::new(inputs, setup)?;
    if show_secrets {
        eprintln!("warning: --show-secrets is on: the commands carry the credentials");
    }
    let mut out = std::io::stdout().lock();
    let (rendered, redactor) = plan.render_offline()?;
    for (request, outgoing) in rendered {
        if plan.carries_persistent(request) {
            eprintln!(
                "warning: `{}` spends a persistent token: running its command rotates the token without courier saving the new one",
                request.name
            );
        }
        if let Some(index) = plan.vars().token_source(request) {
            let _ = writeln!(out, "# oauth2 {}", plan.vars().token_plan(index));
        }
        let command = report::preview::as_curl(&outgoing, &redactor);
        let _ = writeln!(out, "# {}\n{command}", request.name);
    }
    Ok(error::exit::OK)
}

/// `courier vars`: each variable, its value (masked if secret) and where it came from.
pub(crate) fn list_vars(target: &Target, show_secrets: bool) -> Result<i32> {
    let loaded = load(target)?;
    let (lookup, _needs) = inputs::Needs::wrap(Arc::clone(&loaded.lookup));
    let settings = Settings {
        show_secrets,
        ..Settings::default()
    };
    let environment = loaded.single_environment()?;
    let mut vars = Resolved::new(loaded.inputs(environment, settings, lookup))?;
    let peek = StateChoice::Peek {
        explicit: target.state.clone(),
    };
    let explained = vars.attach_state(&peek)?.explained.clone();
    let rows: Vec<[String; 3]> = vars
        .scope()
        .iter()
        .map(|(name, var)| {
            let value = runner::scope::value_text(&var.value);
            let value = vars.redactor().redact(&value).into_owned();
            let mut source = var.origin.to_string();
            let read = os_variables_read(&loaded, name, &var.origin);
            if !read.is_empty() {
                source.push_str(&format!(" (OS environment: {})", read.join(", ")));
            }
            [name.to_string(), value, source]
        })
        .collect();
    let width = |i: usize| {
        rows.iter()
            .map(|r| r[i].chars().count())
            .max()
            .unwrap_or(0)
            .max(5)
    };
    let (w0, w1) = (width(0), width(1));
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "{:w0$}  {:w1$}  SOURCE", "NAME", "VALUE");
    for [name, value, source] in rows {
        let _ = writeln!(out, "{name:w0$}  {value:w1$}  {source}");
    }
    for line in explained {
        let _ = writeln!(out, "\n{line}");
    }
    for index in 0..loaded.collection.tokens.len() {
        let _ = writeln!(out, "\noauth2 {}", vars.token_plan(index));
    }
    Ok(error::exit::OK)
}

/// The OS variables a file's definition of `name` reads through `env("...")`.
fn os_variables_read(loaded: &Loaded, name: &str, origin: &Origin) -> Vec<String> {
    let defs = match origin {
        Origin::Collection => &loaded.collection.variables,
        Origin::Environment => match loaded.environments.first() {
            Some(env) => &env.variables,
            None => return Vec::new(),
        },
        _ => return Vec::new(),
    };
    let Some(def) = defs.iter().find(|d| d.name == name) else {
        return Vec::new();
    };
    let pattern = regex::Regex::new(r#"env\(\s*["']([^"']+)["']"#).expect("a valid regex");
    let raw = def.value.to_string();
    pattern
        .captures_iter(&raw)
        .map(|c| c[1].to_string())
        .collect()
}
