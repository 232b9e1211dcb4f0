//! Running a collection, in stages with a type each: [`Resolved`] (templates compiled,
//! variables in order of precedence), [`Plan`] (state file attached, preflight passed: every
//! variable will be defined before anything is sent), and [`execute::Executor`] (the requests sent in
//! order, each one's captures feeding the next, persistent values saved through the state
//! binding as they arrive).
//!
//! The runner produces [`RequestResult`]s and hands each to a [`Reporter`] as soon as it is known;
//! it prints nothing itself.

mod binding;
mod build;
mod credentials;
pub mod data;
mod evaluate;
mod execute;
pub mod passes;
mod plan;
mod preflight;
pub mod result;
pub mod retry;
pub mod scope;
mod snapshot;
mod tokens;

use std::collections::BTreeSet;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::Value;

use crate::diag::did_you_mean;
use crate::error::{Error, Result, Suggestion};
use crate::http::ClientOptions;
use crate::model::{Collection, Environment, Request, Tmpl, VarDef};
use crate::secrets::{Redactor, name_looks_secret};
use crate::template::{Engine, EnvLookup};
pub use binding::StateChoice;
pub use data::DataRow;
pub use passes::{Pass, Passes};
pub use plan::{Inputs, Plan, Resolved, Setup};
pub use result::{CheckResult, Failure, NotRun, PollTry, RequestResult, Summary};
pub use retry::RetryPolicy;
pub use scope::{Origin, Scope};
pub use snapshot::SnapshotMode;
pub use tokens::TokenTarget;

/// How the run behaves, resolved from the command line.
#[derive(Debug, Clone)]
pub struct Settings {
    pub timeout: Duration,
    pub max_redirects: u32,
    pub bail: bool,
    pub show_secrets: bool,
    pub retry: RetryPolicy,
    pub client: ClientOptions,
    pub selection: Selection,
    /// Whether passing checks carry their expected and actual texts: only when some output
    /// shows them (the console without `--quiet`, JSON and HTML reports).
    pub check_texts: bool,
    /// Keep a cookie jar per pass (not with `--no-cookies`).
    pub cookies: bool,
    /// `--update-snapshots`: write `snapshot:` files instead of failing on them.
    pub snapshots: SnapshotMode,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            timeout: Duration::from_secs(30),
            max_redirects: 10,
            bail: false,
            show_secrets: false,
            retry: RetryPolicy::default(),
            client: ClientOptions::default(),
            selection: Selection::default(),
            check_texts: true,
            cookies: true,
            snapshots: SnapshotMode::Compare,
        }
    }
}

/// Which requests of the collection run (`--tag`, `--skip-tag`, `--request`).
#[derive(Debug, Clone, Default)]
pub struct Selection {
    /// Run only requests with one of these tags.
    pub tags: Vec<String>,
    /// Leave out requests with any of these tags.
    pub skip_tags: Vec<String>,
    /// Run only the requests with these names.
    pub requests: Vec<String>,
}

impl Selection {
    fn admits(&self, request: &Request) -> bool {
        let tagged = |tags: &[String]| request.tags.iter().any(|t| tags.contains(t));
        (self.tags.is_empty() || tagged(&self.tags))
            && !tagged(&self.skip_tags)
            && (self.requests.is_empty() || self.requests.contains(&request.name))
    }

    /// The selected requests in run order; a `--request` that names no request is an error.
    pub fn apply<'a>(&self, collection: &'a Collection) -> Result<Vec<&'a Request>> {
        for name in &self.requests {
            if !collection.requests.iter().any(|r| &r.name == name) {
                let names = collection.requests.iter().map(|r| r.name.as_str());
                let suggestion = match did_you_mean(name, names) {
                    Some(near) => Suggestion::Near(near.to_string()),
                    None => Suggestion::Known(
                        collection.requests.iter().map(|r| r.name.clone()).collect(),
                    ),
                };
                return Err(Error::NoSuchRequest {
                    name: name.clone(),
                    collection: collection.name.clone(),
                    suggestion,
                });
            }
        }
        Ok(collection
            .requests
            .iter()
            .filter(|r| self.admits(r))
            .collect())
    }
}

/// What reporters learn when a run starts.
#[derive(Debug, Clone)]
pub struct RunStart<'a> {
    pub collection: &'a Collection,
    pub environment: Option<&'a Environment>,
    /// The names of the requests that will run, in order (after `--tag`, `--request`, …).
    pub selected: Vec<&'a str>,
    /// How many times they run (iterations × data rows × environments, after `--shard`).
    pub passes: usize,
    /// Wall-clock time the run started (the runner times requests with a monotonic clock).
    pub started_at: std::time::SystemTime,
}

/// Receives the run as it happens. Implementations print or write; they never change the run.
pub trait Reporter {
    fn start(&mut self, run: &RunStart<'_>, redactor: &Redactor);
    fn request(&mut self, result: &RequestResult, redactor: &Redactor);
    fn finish(&mut self, summary: &Summary, redactor: &Redactor);
    /// A secret value the run did not know when it started (a rotated token), called before
    /// any report of the request that carried it. GitHub Actions masks it from the log.
    fn secret_learned(&mut self, _value: &str) {}
}

/// A result's URL until the request is built: shared, so that making a result allocates no
/// placeholder.
static NO_URL: std::sync::LazyLock<Arc<str>> = std::sync::LazyLock::new(|| Arc::from(""));

/// Facts about each request, by name, looked up on every request: a fast hash.
type ByRequest<T> = std::collections::HashMap<String, T, foldhash::fast::RandomState>;

/// What a request's templates read, worked out once per run.
#[derive(Clone)]
struct Uses {
    /// The variables, in a fixed order.
    names: Vec<String>,
    /// No template calls a function: the same values always build the same request.
    pure: bool,
}

/// Wraps the `env(...)` lookup so that the value of every OS variable read whose name is listed
/// under `secrets:` or looks secret (`ZOOM_CLIENT_SECRET`) is remembered for masking, whatever
/// courier variable (if any) it ends up in.
fn watch_secret_reads(
    inner: EnvLookup,
    listed: BTreeSet<String>,
) -> (EnvLookup, Arc<Mutex<Vec<String>>>) {
    let read = Arc::new(Mutex::new(Vec::new()));
    let seen = Arc::clone(&read);
    let lookup: EnvLookup = Arc::new(move |name| {
        let value = inner(name);
        if let Some(value) = &value
            && (listed.contains(name) || name_looks_secret(name))
            && let Ok(mut seen) = seen.lock()
        {
            seen.push(value.clone());
        }
        value
    });
    (lookup, read)
}

/// The variables of a pass, lowest precedence first: collection and environment (`base`), the
/// data row, then `overrides` (`--var`, the state file, the emulator).
fn layered(base: &Scope, row: Option<&DataRow>, overrides: &[(String, Value, Origin)]) -> Scope {
    let mut scope = base.clone();
    if let Some(row) = row {
        for (name, value) in row.values.iter() {
            scope.set(name.clone(), value.clone(), Origin::Data(row.number));
        }
    }
    for (name, value, origin) in overrides {
        scope.set(name.clone(), value.clone(), origin.clone());
    }
    scope
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

/// Shared so tests build lookups the same way.
#[cfg(test)]
pub fn lookup_from(map: std::collections::HashMap<String, String>) -> EnvLookup {
    Arc::new(move |name| map.get(name).cloned())
}
