//! `courier token`: a credential helper, like `gh auth token` or `gcloud auth
//! print-access-token`. stdout carries the token (or the chosen format) and nothing else;
//! everything else goes to stderr, masked.
//!
//! The token comes from the state file while it has `--min-ttl` (else the auth's margin) of
//! life left, read without the lock, so a hot path never waits on a run. Otherwise courier
//! takes the lock, reads the state again (another courier may have refreshed meanwhile: its
//! token is then used, and the refresh token it rotated in is the one that would be sent),
//! sends the token request, saves the rotation, keeps the token, and only then prints it. A
//! rotation that could not be saved prints no token (exit 5).

use std::io::Write as _;
use std::sync::Arc;
use std::time::SystemTime;

use super::load;
use crate::cli::{Refresh, TokenConfig, TokenFormat};
use crate::diag::Diagnostic;
use crate::error::{self, Result};
use crate::http;
use crate::model::{Body, Collection, Request};
use crate::runner::{
    Plan, Reporter, RequestResult, RunStart, Selection, Settings, Setup, StateChoice, Summary,
    TokenTarget,
};
use crate::secrets::Redactor;
use crate::state::CachedToken;

pub(crate) async fn print_token(config: TokenConfig) -> Result<i32> {
    let loaded = load(&config.target)?;
    let environment = loaded.single_environment()?;
    let request = token_request(&loaded.collection, config.request.as_deref())?;
    let target = TokenTarget::of(request);
    let settings = Settings {
        timeout: config.timeout,
        selection: Selection {
            requests: vec![request.name.clone()],
            ..Selection::default()
        },
        ..Settings::default()
    };
    let inputs = || loaded.inputs(environment, settings.clone(), Arc::clone(&loaded.lookup));
    let setup = |state| Setup {
        overrides: Vec::new(),
        state,
        samples: Vec::new(),
    };
    let explicit = config.target.state.clone();
    if config.refresh != Refresh::Always {
        // A look without the lock: a fresh token is printed without waiting on anyone.
        let peek = StateChoice::Peek {
            explicit: explicit.clone(),
        };
        let plan = Plan::new(inputs(), setup(peek))?;
        if let Some(token) = plan.kept_token(target, config.min_ttl) {
            return Ok(print(&config, &token));
        }
        if config.refresh == Refresh::Never {
            eprintln!(
                "error: no kept access token has the life asked for, and --no-refresh forbids getting one\n  \
                 = help: run without --no-refresh, or lower --min-ttl"
            );
            return Ok(error::exit::ASSERTION_FAILED);
        }
    }
    let lock = StateChoice::Lock {
        explicit,
        lock_timeout: config.lock_timeout,
        emulator: false,
    };
    let mut plan = Plan::new(inputs(), setup(lock))?;
    let client = http::Client::new(&settings.client)?;
    let mut executors = plan.executors(1);
    let executor = &mut executors[0];
    let mut told = Told;
    let force = config.refresh == Refresh::Always;
    let got = executor
        .access_token(&client, target, config.min_ttl, force, &mut told)
        .await;
    for check in executor.take_carried_checks() {
        let outcome = &check.outcome;
        let text = format!(
            "warning: {}: expected {}, got {}",
            check.subject, outcome.expected, outcome.actual
        );
        eprintln!("{}", executor.redactor().redact(&text));
    }
    for notice in executor.state_notices() {
        eprintln!("state: {}", executor.redactor().redact(notice));
    }
    match got {
        Ok(token) => match executor.state_error() {
            // Printed before the token would be: a token whose rotation is lost must not be
            // used as if all were well.
            Some(message) => {
                eprintln!("{message}");
                Ok(error::exit::STATE_NOT_SAVED)
            }
            None => Ok(print(&config, &token)),
        },
        Err(result) => {
            explain(&result, executor.redactor());
            let mut summary = Summary::default();
            summary.add(&result);
            Ok(summary.exit_code().max(error::exit::ASSERTION_FAILED))
        }
    }
}

/// The request `courier token` gets the token of: `--request NAME`, else the first with
/// `auth: oauth2`, else the first that asks for a token itself.
fn token_request<'c>(collection: &'c Collection, name: Option<&str>) -> Result<&'c Request> {
    let asks_for_token = |r: &Request| matches!(&r.body, Some(Body::Form(fields)) if fields.iter().any(|(n, _)| n == "grant_type"));
    let is_oauth2 = |r: &Request| matches!(TokenTarget::of(r), TokenTarget::Source(_));
    let found = match name {
        Some(name) => {
            let named = Selection {
                requests: vec![name.to_string()],
                ..Selection::default()
            };
            let request = named.apply(collection)?[0];
            if !is_oauth2(request) && !asks_for_token(request) {
                return Err(Diagnostic::new(format!(
                    "`{name}` neither has `auth: oauth2` nor asks for a token"
                ))
                .at(request.name_spot.clone())
                .note("courier token prints the token of a request with `auth: { oauth2: … }`, or the `access_token` answered to a request whose form sets `grant_type`")
                .help("name such a request with --request")
                .into());
            }
            Some(request)
        }
        None => collection
            .requests
            .iter()
            .find(|r| is_oauth2(r))
            .or_else(|| collection.requests.iter().find(|r| asks_for_token(r))),
    };
    found.ok_or_else(|| {
        Diagnostic::new(format!(
            "the collection `{}` gets no token",
            collection.name
        ))
        .at(crate::diag::Spot::new(&collection.file, 0..0))
        .note("no request has `auth: { oauth2: … }`, and none sets `grant_type` in its form")
        .help("add `auth: { oauth2: { grant: …, token_url: …, client_id: …, client_secret: … } }` to the collection or a request")
        .into()
    })
}

/// Prints `token` in the chosen format; under GitHub Actions, masks it first (on stderr, so
/// `$(courier token …)` captures the token alone: the runner reads workflow commands on both
/// streams).
fn print(config: &TokenConfig, token: &CachedToken) -> i32 {
    if config.github {
        eprintln!("::add-mask::{}", token.access_token);
    }
    let text = match config.format {
        TokenFormat::Bare => token.access_token.clone(),
        TokenFormat::Header => format!("Authorization: Bearer {}", token.access_token),
        TokenFormat::Env => format!(
            "ACCESS_TOKEN={}",
            super::run::dotenv_quote(&token.access_token)
        ),
        TokenFormat::Json => as_json(token).to_string(),
    };
    let mut out = std::io::stdout().lock();
    match writeln!(out, "{text}").and_then(|()| out.flush()) {
        Ok(()) => error::exit::OK,
        Err(e) => {
            eprintln!("error: cannot write the token to stdout: {e}");
            error::exit::INVALID_INPUT
        }
    }
}

/// `--format json`: what a caller needs to use the token and know when to ask again.
fn as_json(token: &CachedToken) -> serde_json::Value {
    let now = SystemTime::now();
    serde_json::json!({
        "access_token": token.access_token,
        "token_type": token.token_type.as_deref().unwrap_or("bearer"),
        "expires_at": token
            .expires_at
            .map(|at| humantime::format_rfc3339_seconds(at).to_string()),
        "expires_in": token
            .expires_at
            .map(|at| at.duration_since(now).map_or(0, |left| left.as_secs())),
        "scope": token.scope,
        "api_url": token.api_url,
    })
}

/// Why no token came, on stderr, masked.
fn explain(result: &RequestResult, redactor: &Redactor) {
    let status = result
        .exchange
        .as_ref()
        .map(|e| format!(" → {}", e.status))
        .unwrap_or_default();
    let mut text = format!(
        "error: no access token: `{}` ({} {}{status}) failed\n",
        result.name, result.method, result.url
    );
    // A rejection or a lost answer says it all; the checks it failed are noise.
    if let Some(failure) = &result.failure {
        text.push_str(&format!("  {}\n", failure.message()));
    }
    for check in result.failed_checks().filter(|_| result.failure.is_none()) {
        let outcome = &check.outcome;
        text.push_str(&format!(
            "  ✗ {}: expected {}, got {}\n",
            check.subject, outcome.expected, outcome.actual
        ));
    }
    eprint!("{}", redactor.redact(&text));
}

/// The reporter of `courier token`: it prints nothing (stdout is the token's); it only
/// remembers that secrets were learnt, which the redactor already masks.
struct Told;

impl Reporter for Told {
    fn start(&mut self, _: &RunStart<'_>, _: &Redactor) {}
    fn request(&mut self, _: &RequestResult, _: &Redactor) {}
    fn finish(&mut self, _: &Summary, _: &Redactor) {}
}
