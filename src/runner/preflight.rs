//! The preflight: everything that can be known before the first request is sent. Every
//! variable a request uses is defined or captured by an earlier request, every name under
//! `persist:` is something the run defines or captures, and every template that uses no
//! capture renders to a valid request.

use serde_json::Value;

use super::plan::Resolved;
use super::{DataRow, Origin, Scope, build};
use crate::diag::{Diagnostic, did_you_mean};
use crate::error::{Error, Result};
use crate::model::{Auth, Request, Tmpl};

/// Runs the preflight on `vars` with each of `samples`, the rows of a data file that define
/// different columns (none without a data file).
pub(super) fn check_rows(vars: &Resolved<'_>, samples: &[&DataRow]) -> Result<()> {
    let Some((first, others)) = samples.split_first() else {
        return check(vars, None);
    };
    check(vars, Some(first))?;
    for row in others {
        check(vars, Some(row)).map_err(|e| match e {
            Error::Invalid(d) => Error::Invalid(Box::new(d.note(format!(
                "data row {} is shorter than the first row: its missing cells are not defined",
                row.number
            )))),
            other => other,
        })?;
    }
    Ok(())
}

/// Runs the preflight on `vars` with one data row.
fn check(vars: &Resolved<'_>, sample: Option<&DataRow>) -> Result<()> {
    let mut captured: Vec<(&str, &str)> = Vec::new();
    let mut unset: Vec<(&str, &str)> = Vec::new();
    let scope = vars.pass_scope(sample);
    check_persistent(vars, &scope)?;
    let context = scope.context();
    let mut sources_checked = vec![false; vars.collection.tokens.len()];
    for request in &vars.selected {
        // An `oauth2` auth's token request goes first, the first time a request needs it.
        if let Some(Auth::OAuth2(oauth2)) = &request.auth
            && !std::mem::replace(&mut sources_checked[oauth2.source], true)
        {
            let source = &vars.collection.tokens[oauth2.source].request;
            check_request(vars, source, &scope, &context, &mut captured, &mut unset)?;
        }
        check_request(vars, request, &scope, &context, &mut captured, &mut unset)?;
    }
    Ok(())
}

/// Checks one request against what is defined and what the requests before it capture, then
/// adds its own captures.
fn check_request<'r>(
    vars: &Resolved<'_>,
    request: &'r Request,
    scope: &Scope,
    context: &minijinja::Value,
    captured: &mut Vec<(&'r str, &'r str)>,
    unset: &mut Vec<(&'r str, &'r str)>,
) -> Result<()> {
    check_poll(vars, request)?;
    let mut uses_capture = false;
    // A token is never sent beside a variable nothing defines: `undefined: literal` is for
    // imported collections, not for what spends a rotating token.
    let strict = vars.carries_persistent(request) || vars.token_source(request).is_some();
    for template in build::templates(request) {
        for name in vars.engine.variables_used(template)? {
            if strict && vars.literal.contains(&name) {
                return Err(undefined(vars, &name, template, request, captured)
                    .note("`undefined: literal` never applies to a request that sends a persistent variable or gets a token")
                    .into());
            }
            if let Some((_, by)) = unset.iter().find(|(n, _)| *n == name) {
                if vars.collection.undefined_as_literal && !strict {
                    // Sent as `{{name}}`: rendered when sent, like a capture.
                    uses_capture = true;
                    continue;
                }
                return Err(Diagnostic::new(format!("variable `{name}` is unset before it is used"))
                    .at(template.spot.narrow_to(&name))
                    .label("used here")
                    .note(format!("`{by}` unsets it, and runs before `{}`", request.name))
                    .help("remove it from that request's `unset:`, or capture it again before this request")
                    .into());
            }
            if scope.contains(&name) {
                continue;
            }
            if captured.iter().any(|(c, _)| *c == name) {
                uses_capture = true;
                continue;
            }
            return Err(undefined(vars, &name, template, request, captured).into());
        }
    }
    if uses_capture {
        let dynamic: Vec<(&str, &str)> = captured.iter().chain(unset.iter()).copied().collect();
        render_static_parts(vars, request, &dynamic, context)?;
    } else {
        let mut scratch = vars.redactor.clone();
        build::build(&vars.engine, request, context, &vars.settings, &mut scratch)
            .map_err(|d| vars.redacted(d))?;
    }
    captured.extend(
        request
            .captures
            .iter()
            .map(|c| (c.name.as_str(), request.name.as_str())),
    );
    // A later capture defines it again.
    unset.retain(|(n, _)| !request.captures.iter().any(|c| c.name == *n));
    for (name, spot) in &request.unset {
        if vars.persistent.contains(name) {
            return Err(Diagnostic::new(format!("persistent variable `{name}` cannot be unset"))
                .at(spot.clone())
                .note("its newest value is saved for the next run: unsetting it would lose a rotated token")
                .help(format!("remove `{name}` from `unset:`"))
                .into());
        }
        captured.retain(|(n, _)| n != name);
        unset.push((name.as_str(), request.name.as_str()));
    }
    Ok(())
}

/// Methods a server must let a client repeat (RFC 9110 §9.2.2).
const IDEMPOTENT: [&str; 6] = ["GET", "HEAD", "OPTIONS", "TRACE", "PUT", "DELETE"];

/// `poll:` repeats a request: never one that spends or saves a persistent value (a rotating
/// token), and only with an idempotent method unless the file says the request may be repeated.
fn check_poll(vars: &Resolved<'_>, request: &Request) -> Result<()> {
    let Some(poll) = &request.poll else {
        return Ok(());
    };
    let sent = vars.carries_persistent(request);
    let saved = request
        .captures
        .iter()
        .find(|c| vars.persistent.contains(&c.name));
    if sent || saved.is_some() {
        let what = match saved {
            Some(capture) if !sent => format!("captures persistent variable `{}`", capture.name),
            _ => "sends a persistent variable".to_owned(),
        };
        return Err(Diagnostic::new(format!("`{}` cannot be polled: it {what}", request.name))
            .at(poll.spot.clone())
            .note("each try would spend a rotating token, and only the last one's answer would be kept")
            .help("remove `poll:`; use `--retry` for transport failures")
            .into());
    }
    let method = request.method.to_ascii_uppercase();
    if !poll.idempotent && !IDEMPOTENT.contains(&method.as_str()) {
        return Err(Diagnostic::new(format!("a {method} request cannot be polled unless the file says it may be repeated"))
            .at(poll.spot.clone())
            .note(format!("{method} is not idempotent: each try may act again on the server (create a second job, say)"))
            .help("poll a GET of the job's status instead; or, when repeating this request is harmless, add `idempotent: true` under `poll:`")
            .into());
    }
    Ok(())
}

/// Every name under `persist:` must be something the run defines or a request captures: a
/// misspelt one would let the rotated token go unsaved, and the next run fail.
fn check_persistent(vars: &Resolved<'_>, scope: &Scope) -> Result<()> {
    let listed = vars.collection.persist_listed.iter().chain(
        vars.environment
            .into_iter()
            .flat_map(|e| e.persist_listed.iter()),
    );
    let captures = || {
        vars.collection
            .requests
            .iter()
            .flat_map(|r| r.captures.iter().map(|c| c.name.as_str()))
    };
    for entry in listed {
        let name = entry.name.as_str();
        if scope.contains(name) || captures().any(|c| c == name) {
            continue;
        }
        let known: Vec<&str> = scope.names().chain(captures()).collect();
        let help = match did_you_mean(name, known.iter().copied()) {
            Some(near) => format!("did you mean `{near}`?"),
            None => format!(
                "list a variable that a request captures (the collection captures {}), or define `{name}`",
                crate::diag::backticked(&captures().collect::<Vec<_>>())
            ),
        };
        return Err(Diagnostic::new(format!(
            "persistent variable `{name}` is neither defined nor captured"
        ))
        .at(entry.spot.clone())
        .label("nothing defines or captures this name")
        .note("a value that nothing captures is never saved: a rotated token would be lost")
        .help(help)
        .into());
    }
    Ok(())
}

/// For a request that needs captures, renders the templates that do not, so an unset
/// `env(...)` or a bad filter is still caught before anything is sent.
fn render_static_parts(
    vars: &Resolved<'_>,
    request: &Request,
    captured: &[(&str, &str)],
    context: &minijinja::Value,
) -> Result<()> {
    let is_static = |template: &Tmpl| {
        vars.engine
            .variables_used(template)
            .is_ok_and(|used| used.iter().all(|n| !captured.iter().any(|(c, _)| c == n)))
    };
    let mut partial = vars.scope.clone();
    for (name, _) in captured {
        if !partial.contains(name) {
            partial.set(
                *name,
                Value::String(String::new()),
                Origin::Capture((*name).into()),
            );
        }
    }
    build::check_static_parts(
        &vars.engine,
        request,
        context,
        &partial.context(),
        is_static,
    )
    .map_err(|d| vars.redacted(d).into())
}

/// The error for `name`, used by `template` of `request` and defined nowhere: where courier
/// looked, which request would capture it, and the fix.
fn undefined(
    vars: &Resolved<'_>,
    name: &str,
    template: &Tmpl,
    request: &Request,
    captured: &[(&str, &str)],
) -> Diagnostic {
    // The request that would capture it: left out of this run (`--request`, `--tag`), or
    // placed after the one that needs it.
    let captor = vars
        .collection
        .requests
        .iter()
        .find(|r| r.captures.iter().any(|c| c.name == name));
    let unselected = captor.is_some_and(|c| !vars.selected.iter().any(|s| s.name == c.name));
    let mut diagnostic = Diagnostic::new(format!("undefined variable `{name}`"))
        .at(template.spot.narrow_to(name))
        .label("used here, but defined nowhere")
        .note(format!("searched {}", searched(vars, captured)));
    if let Some(captor) = captor {
        diagnostic = diagnostic.note(if unselected {
            format!(
                "`{name}` is captured by `{}`, which this run leaves out",
                captor.name
            )
        } else {
            format!(
                "`{name}` is captured by `{}`, which runs after `{}`",
                captor.name, request.name
            )
        });
    }
    let known: Vec<&str> = vars
        .scope
        .names()
        .chain(captured.iter().map(|(c, _)| *c))
        .collect();
    diagnostic.help(match did_you_mean(name, known) {
        _ if unselected => format!(
            "run `{}` too (it captures `{name}`), or pass `--var {name}=…`",
            captor.map_or("", |c| c.name.as_str())
        ),
        Some(near) => format!("did you mean `{near}`?"),
        None => format!(
            "define `{name}` under `variables:` in the environment file, or pass `--var {name}=…`"
        ),
    })
}

/// Where a variable may come from, in the words of the undefined-variable error.
fn searched(vars: &Resolved<'_>, captured: &[(&str, &str)]) -> String {
    let mut searched = vec![format!(
        "collection variables ({})",
        vars.collection.file.path.display()
    )];
    if let Some(env) = vars.environment {
        searched.push(format!("environment file ({})", env.file.path.display()));
    }
    searched.push("--var".into());
    let earlier: Vec<String> = captured.iter().map(|(c, _)| format!("`{c}`")).collect();
    searched.push(if earlier.is_empty() {
        "captures of earlier requests (none)".into()
    } else {
        format!("captures of earlier requests ({})", earlier.join(", "))
    });
    searched.join(", ")
}
