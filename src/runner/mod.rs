//! Running a collection: variables in order of precedence, the check that every variable will be
//! defined before anything is sent, then the requests in order, each one's captures feeding the
//! next.
//!
//! The runner produces [`RequestResult`]s and hands each to a [`Reporter`] as soon as it is known;
//! it prints nothing itself.

mod build;
mod evaluate;
pub mod result;
pub mod scope;

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::diag::{Diagnostic, did_you_mean};
use crate::error::{Error, Result};
use crate::http::{Client, TransportError};
use crate::model::{Collection, Environment, Request, Tmpl, VarDef};
use crate::secrets::{Redactor, name_looks_secret};
use crate::template::{Engine, EnvLookup};
pub use result::{CheckResult, RequestResult, Summary};
pub use scope::{Origin, Scope};

/// How the run behaves, resolved from the command line.
#[derive(Debug, Clone)]
pub struct Settings {
    pub timeout: Duration,
    pub max_redirects: u32,
    pub bail: bool,
    pub show_secrets: bool,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            timeout: Duration::from_secs(30),
            max_redirects: 10,
            bail: false,
            show_secrets: false,
        }
    }
}

/// Receives the run as it happens. Implementations print or write; they never change the run.
pub trait Reporter {
    fn start(
        &mut self,
        collection: &Collection,
        environment: Option<&Environment>,
        redactor: &Redactor,
    );
    fn request(&mut self, result: &RequestResult, redactor: &Redactor);
    fn finish(&mut self, summary: &Summary, redactor: &Redactor);
}

/// A run being prepared or under way.
pub struct Run<'a> {
    collection: &'a Collection,
    environment: Option<&'a Environment>,
    settings: Settings,
    engine: Engine,
    scope: Scope,
    redactor: Redactor,
    secret_names: BTreeSet<String>,
}

impl<'a> Run<'a> {
    /// Compiles every template and resolves the variables of the collection, the environment
    /// and `--var`, in that order of precedence.
    pub fn new(
        collection: &'a Collection,
        environment: Option<&'a Environment>,
        cli_vars: &[(String, String)],
        settings: Settings,
        lookup: EnvLookup,
    ) -> Result<Run<'a>> {
        let mut engine = Engine::new(lookup);
        for request in &collection.requests {
            for template in build::templates(request) {
                engine.compile(template)?;
            }
        }
        let mut scope = Scope::default();
        define(
            &engine,
            &mut scope,
            &collection.variables,
            Origin::Collection,
        )?;
        if let Some(env) = environment {
            define(&engine, &mut scope, &env.variables, Origin::Environment)?;
        }
        for (name, value) in cli_vars {
            scope.set(
                name.clone(),
                Value::String(value.clone()),
                Origin::CommandLine,
            );
        }
        let secret_names = collection
            .secrets
            .iter()
            .chain(environment.into_iter().flat_map(|e| e.secrets.iter()))
            .cloned()
            .collect();
        let redactor = if settings.show_secrets {
            Redactor::disabled()
        } else {
            Redactor::default()
        };
        let mut run = Run {
            collection,
            environment,
            settings,
            engine,
            scope,
            redactor,
            secret_names,
        };
        run.learn_secrets();
        Ok(run)
    }

    pub fn scope(&self) -> &Scope {
        &self.scope
    }

    pub fn redactor(&self) -> &Redactor {
        &self.redactor
    }

    /// Sets a variable above `--var` (the emulator's address, say).
    pub fn set(&mut self, name: &str, value: Value, origin: Origin) {
        self.scope.set(name, value, origin);
        self.learn_secrets();
    }

    fn is_secret(&self, name: &str) -> bool {
        self.secret_names.contains(name) || name_looks_secret(name)
    }

    fn learn_secrets(&mut self) {
        let values: Vec<String> = self
            .scope
            .iter()
            .filter(|(name, _)| self.is_secret(name))
            .map(|(_, var)| scope::value_text(&var.value))
            .collect();
        for value in values {
            self.redactor.add(&value);
        }
    }

    /// Everything that can be known before the first request is sent: every variable a request
    /// uses is defined or captured by an earlier request, and every template that uses no
    /// capture renders to a valid request. A run that would fail half-way for lack of a
    /// variable never starts, so no refresh token is spent for nothing.
    pub fn precheck(&self) -> Result<()> {
        let mut captured: Vec<(&str, &str)> = Vec::new();
        let context = self.scope.context();
        for request in &self.collection.requests {
            let mut uses_capture = false;
            for template in build::templates(request) {
                for name in self.engine.variables_used(template)? {
                    if self.scope.contains(&name) {
                        continue;
                    }
                    if captured.iter().any(|(c, _)| *c == name) {
                        uses_capture = true;
                        continue;
                    }
                    return Err(self.undefined(&name, template, request, &captured).into());
                }
            }
            if uses_capture {
                self.render_static_parts(request, &captured)?;
            } else {
                let mut scratch = self.redactor.clone();
                build::build(
                    &self.engine,
                    request,
                    &context,
                    &self.settings,
                    &mut scratch,
                )
                .map_err(|d| self.redacted(d))?;
            }
            captured.extend(
                request
                    .captures
                    .iter()
                    .map(|c| (c.name.as_str(), request.name.as_str())),
            );
        }
        Ok(())
    }

    /// For a request that needs captures, renders the templates that do not, so an unset
    /// `env(...)` or a bad filter is still caught before anything is sent.
    fn render_static_parts(&self, request: &Request, captured: &[(&str, &str)]) -> Result<()> {
        let context = self.scope.context();
        for template in build::templates(request) {
            let used = self.engine.variables_used(template)?;
            if used.iter().all(|n| !captured.iter().any(|(c, _)| c == n)) {
                self.engine
                    .render(template, &context)
                    .map_err(|d| self.redacted(d))?;
            }
        }
        Ok(())
    }

    fn undefined(
        &self,
        name: &str,
        template: &Tmpl,
        request: &Request,
        captured: &[(&str, &str)],
    ) -> Diagnostic {
        let mut searched = vec![format!(
            "collection variables ({})",
            self.collection.file.path.display()
        )];
        if let Some(env) = self.environment {
            searched.push(format!("environment file ({})", env.file.path.display()));
        }
        searched.push("--var".into());
        let earlier: Vec<String> = captured.iter().map(|(c, _)| format!("`{c}`")).collect();
        searched.push(if earlier.is_empty() {
            "captures of earlier requests (none)".into()
        } else {
            format!("captures of earlier requests ({})", earlier.join(", "))
        });
        let later = self
            .collection
            .requests
            .iter()
            .skip_while(|r| r.name != request.name)
            .find(|r| r.captures.iter().any(|c| c.name == name));
        let known: Vec<&str> = self
            .scope
            .names()
            .chain(captured.iter().map(|(c, _)| *c))
            .collect();
        let mut diagnostic = Diagnostic::new(format!("undefined variable `{name}`"))
            .at(template.spot.narrow_to(name))
            .label("used here, but defined nowhere")
            .note(format!("searched {}", searched.join(", ")));
        if let Some(later) = later {
            diagnostic = diagnostic.note(format!(
                "`{name}` is captured by `{}`, which runs after `{}`",
                later.name, request.name
            ));
        }
        diagnostic.help(match did_you_mean(name, known) {
            Some(near) => format!("did you mean `{near}`?"),
            None => format!(
                "define `{name}` under `variables:` in the environment file, or pass `--var {name}=…`"
            ),
        })
    }

    fn redacted(&self, mut d: Diagnostic) -> Diagnostic {
        d.title = self.redactor.redact(&d.title).into_owned();
        d.label = d.label.map(|l| self.redactor.redact(&l).into_owned());
        d.notes = d
            .notes
            .iter()
            .map(|n| self.redactor.redact(n).into_owned())
            .collect();
        d
    }

    /// Sends the requests in order and reports each. Failed assertions are results; the run
    /// stops early only on `--bail`, a transport failure, or a request that cannot be built.
    pub async fn execute(mut self, reporter: &mut dyn Reporter) -> Result<Summary> {
        let client = Client::new().map_err(|message| Error::Transport {
            message: format!("cannot create the HTTP client: {message}"),
        })?;
        let started = Instant::now();
        let mut summary = Summary::default();
        reporter.start(self.collection, self.environment, &self.redactor);
        let requests = &self.collection.requests;
        for (index, request) in requests.iter().enumerate() {
            let result = self.send(&client, request).await;
            summary.add(&result);
            let stop = match &result.error {
                Some(_) if result.exchange.is_none() => {
                    summary.transport_failed |= result
                        .error
                        .as_deref()
                        .is_some_and(|e| e.starts_with("transport"));
                    true
                }
                _ => self.settings.bail && !result.passed(),
            };
            reporter.request(&result, &self.redactor);
            if stop {
                summary.requests_skipped = requests.len() - index - 1;
                break;
            }
        }
        summary.duration = started.elapsed();
        reporter.finish(&summary, &self.redactor);
        Ok(summary)
    }

    async fn send(&mut self, client: &Client, request: &Request) -> RequestResult {
        let mut result = RequestResult {
            name: request.name.clone(),
            file: request.file.path.clone(),
            method: request.method.clone(),
            url: request.url.text.clone(),
            exchange: None,
            checks: Vec::new(),
            captured: Vec::new(),
            error: None,
            duration: Duration::ZERO,
        };
        let context = self.scope.context();
        let outgoing = match build::build(
            &self.engine,
            request,
            &context,
            &self.settings,
            &mut self.redactor,
        ) {
            Ok(outgoing) => outgoing,
            Err(d) => {
                result.error = Some(format!(
                    "invalid request: {}",
                    self.redacted(d).render(false)
                ));
                return result;
            }
        };
        result.url = outgoing.url.to_string();
        let started = Instant::now();
        let exchange = match client.exchange(outgoing).await {
            Ok(exchange) => exchange,
            Err(e) => {
                result.duration = started.elapsed();
                result.error = Some(format!("transport failure: {}", explain_transport(&e)));
                return result;
            }
        };
        result.duration = exchange.duration;
        let (checks, captured) = evaluate::evaluate(request, &exchange);
        for (name, value) in captured {
            if self.is_secret(&name) {
                self.redactor.add(&scope::value_text(&value));
            }
            result.captured.push(name.clone());
            self.scope
                .set(name, value, Origin::Capture(request.name.clone()));
        }
        result.checks = checks;
        result.exchange = Some(exchange);
        result
    }
}

fn explain_transport(e: &TransportError) -> String {
    match e {
        TransportError::Timeout(_) => {
            format!("{e} (raise it with `--timeout` or `timeout:` in the request file)")
        }
        _ => e.to_string(),
    }
}

/// Renders the string values of a file's variables, in order, each seeing the ones before it.
fn define(engine: &Engine, scope: &mut Scope, defs: &[VarDef], origin: Origin) -> Result<()> {
    for def in defs {
        let value = render_value(engine, &def.value, def, &scope.context())?;
        scope.set(def.name.clone(), value, origin.clone());
    }
    Ok(())
}

fn render_value(
    engine: &Engine,
    value: &Value,
    def: &VarDef,
    context: &minijinja::Value,
) -> Result<Value> {
    Ok(match value {
        Value::String(text) => {
            let template = Tmpl::new(text.clone(), def.spot.narrow_to(text));
            Value::String(engine.render(&template, context)?)
        }
        Value::Array(items) => Value::Array(
            items
                .iter()
                .map(|v| render_value(engine, v, def, context))
                .collect::<Result<_>>()?,
        ),
        Value::Object(map) => Value::Object(
            map.iter()
                .map(|(k, v)| Ok((k.clone(), render_value(engine, v, def, context)?)))
                .collect::<Result<_>>()?,
        ),
        other => other.clone(),
    })
}

/// Shared so tests and the CLI build lookups the same way.
pub fn lookup_from(map: std::collections::HashMap<String, String>) -> EnvLookup {
    Arc::new(move |name| map.get(name).cloned())
}
