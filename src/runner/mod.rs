//! Running a collection: variables in order of precedence, the check that every variable will be
//! defined before anything is sent, then the requests in order, each one's captures feeding the
//! next.
//!
//! The runner produces [`RequestResult`]s and hands each to a [`Reporter`] as soon as it is known;
//! it prints nothing itself.

mod build;
mod credentials;
mod evaluate;
pub mod passes;
pub mod result;
pub mod retry;
pub mod scope;

use std::collections::BTreeSet;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::assert::Document;
use crate::diag::{Diagnostic, did_you_mean};
use crate::error::{Error, Result, Suggestion};
use crate::http::{Client, ClientOptions, Exchange, Outgoing, TransportError, Watchdog};
use crate::model::{Collection, Environment, Request, Tmpl, VarDef};
use crate::secrets::{Redactor, name_looks_secret};
use crate::state::{StateFile, Winner};
use crate::template::{Engine, EnvGrants, EnvLookup};
pub use passes::{DataRow, Pass, Passes};
pub use result::{CheckResult, Failure, NotRun, RequestResult, Summary};
pub use retry::RetryPolicy;
pub use scope::{Origin, Scope};

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

/// Receives the run as it happens. Implementations print or write; they never change the run.
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

pub trait Reporter {
    fn start(&mut self, run: &RunStart<'_>, redactor: &Redactor);
    fn request(&mut self, result: &RequestResult, redactor: &Redactor);
    fn finish(&mut self, summary: &Summary, redactor: &Redactor);
    /// A secret value the run did not know when it started (a rotated token), called before
    /// any report of the request that carried it. GitHub Actions masks it from the log.
    fn secret_learned(&mut self, _value: &str) {}
}

/// A run of the collection with one environment, being prepared or under way. It may make
/// several passes (iterations, data rows); each pass starts from the same variables and keeps
/// its captures to itself.
pub struct Run<'a> {
    collection: &'a Collection,
    environment: Option<&'a Environment>,
    /// The requests that run, in order.
    selected: Vec<&'a Request>,
    settings: Settings,
    engine: Engine,
    /// Collection and environment variables, rendered.
    base: Scope,
    /// Variables above a data row, in order: `--var`, then values from the state file and the
    /// emulator's address.
    overrides: Vec<(String, Value, Origin)>,
    /// `base` with `overrides` applied: what a pass without a data row starts from.
    scope: Scope,
    redactor: Redactor,
    secret_names: BTreeSet<String>,
    /// Values of OS variables read through `env(...)` whose names are secret.
    os_secrets: Arc<Mutex<Vec<String>>>,
    /// How many of `os_secrets` the redactor has learnt.
    os_secrets_learnt: usize,
    /// Variables listed under `persist:` in the collection or the environment.
    persistent: Arc<BTreeSet<String>>,
    /// For each request (by name), the variables its templates read, worked out once: the run
    /// consults them before every request.
    uses: Arc<ByRequest<Uses>>,
    /// For each selected request, in the same order, what the run needs to know on every pass.
    steps: Arc<[Step]>,
    /// Where persistent variables are saved, locked for this run.
    state: Option<StateFile>,
    /// Set when saving a persistent value failed: the run stops.
    state_error: Option<String>,
    /// What the run did about its state that the user should hear of (a fall-back from a
    /// refused supplied token to the saved one).
    state_notices: Vec<String>,
    /// For each selected request, what it was last built into (see [`Run::built_before`]).
    built: Vec<Option<Built>>,
    /// The timeouts of this run's requests, which go one at a time.
    watchdog: Watchdog,
    /// The scope of the last pass, whose storage the next pass reuses.
    spare: Scope,
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

/// What the run knows of a selected request before sending it, worked out once: every pass
/// reads it, and shares its texts with the results instead of copying them.
struct Step {
    uses: Uses,
    name: Arc<str>,
    file: Arc<std::path::Path>,
    method: Arc<str>,
    /// Whether the request sends a persistent variable (see [`Run::carries_persistent`]).
    carries_persistent: bool,
    /// For each capture, in order: its name, shared with results and scopes.
    capture_names: Vec<Arc<str>>,
    /// For each capture, in order: whether its value is a secret (see [`Run::is_secret`]).
    secret_captures: Vec<bool>,
}

/// A built request and the values of the variables it was built from, in the order of
/// [`Uses::names`].
#[derive(Clone)]
struct Built {
    inputs: Vec<Value>,
    outgoing: Arc<Outgoing>,
    /// The URL as results show it.
    url: Arc<str>,
}

impl<'a> Run<'a> {
    /// Compiles every template and resolves the variables of the collection, the environment
    /// and `--var`, in that order of precedence.
    pub fn new(
        collection: &'a Collection,
        environment: Option<&'a Environment>,
        cli_vars: &[(String, String, Origin)],
        settings: Settings,
        lookup: EnvLookup,
        grants: &[String],
    ) -> Result<Run<'a>> {
        let selected = settings.selection.apply(collection)?;
        let listed: BTreeSet<String> = collection
            .secrets
            .iter()
            .chain(environment.into_iter().flat_map(|e| e.secrets.iter()))
            .cloned()
            .collect();
        let (lookup, os_secrets) = watch_secret_reads(lookup, listed);
        // Environment files are the user's own and read any OS variable; collection and
        // request files only what the user grants.
        let grants = EnvGrants::new(
            grants.iter().cloned().chain(
                environment
                    .into_iter()
                    .flat_map(|e| e.allow_env.iter().cloned()),
            ),
        );
        let environment_engine = Engine::new(Arc::clone(&lookup));
        let mut engine = Engine::granted(lookup, grants);
        for request in &collection.requests {
            for template in build::templates(request) {
                engine.compile(template)?;
            }
        }
        let mut base = Scope::default();
        define(
            &engine,
            &mut base,
            &collection.variables,
            Origin::Collection,
        )?;
        if let Some(env) = environment {
            define(
                &environment_engine,
                &mut base,
                &env.variables,
                Origin::Environment,
            )?;
        }
        let overrides: Vec<(String, Value, Origin)> = cli_vars
            .iter()
            .map(|(name, value, origin)| {
                (name.clone(), Value::String(value.clone()), origin.clone())
            })
            .collect();
        let base = base.frozen();
        let scope = layered(&base, None, &overrides).frozen();
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
        let persistent: BTreeSet<String> = collection
            .persist
            .iter()
            .chain(environment.into_iter().flat_map(|e| e.persist.iter()))
            .cloned()
            .collect();
        let mut uses = ByRequest::default();
        for request in &collection.requests {
            let mut names = BTreeSet::new();
            let mut pure = true;
            for template in build::templates(request) {
                names.extend(engine.variables_used(template)?);
                pure &= engine.is_pure(template);
            }
            let names = names.into_iter().collect();
            uses.insert(request.name.clone(), Uses { names, pure });
        }
        let mut run = Run {
            collection,
            environment,
            selected,
            settings,
            engine,
            base,
            overrides,
            scope,
            redactor,
            secret_names,
            os_secrets,
            os_secrets_learnt: 0,
            persistent: Arc::new(persistent),
            uses: Arc::new(uses),
            steps: Arc::new([]),
            state: None,
            state_error: None,
            state_notices: Vec::new(),
            built: Vec::new(),
            watchdog: Default::default(),
            spare: Scope::default(),
        };
        run.steps = run.selected.iter().map(|r| run.step(r)).collect();
        run.built = vec![None; run.selected.len()];
        run.learn_secrets();
        Ok(run)
    }

    pub fn scope(&self) -> &Scope {
        &self.scope
    }

    pub fn redactor(&self) -> &Redactor {
        &self.redactor
    }

    /// Sets a variable above `--var` (the emulator's address, a value from the state file).
    pub fn set(&mut self, name: &str, value: Value, origin: Origin) {
        self.overrides
            .retain(|(n, _, o)| n != name || matches!(o, Origin::CommandLine | Origin::VarFile(_)));
        self.overrides.push((name.to_string(), value, origin));
        self.scope = layered(&self.base, None, &self.overrides).frozen();
        self.learn_secrets();
    }

    /// The variables a pass starts from: its data row sits between the environment and
    /// `--var`.
    fn pass_scope(&self, row: Option<&DataRow>) -> Scope {
        match row {
            None => self.scope.clone(),
            Some(row) => layered(&self.base, Some(row), &self.overrides),
        }
    }

    fn step(&self, request: &Request) -> Step {
        let uses = self.uses.get(&request.name).cloned().unwrap_or(Uses {
            names: Vec::new(),
            pure: false,
        });
        Step {
            uses,
            name: request.name.as_str().into(),
            file: request.file.path.as_path().into(),
            method: request.method.as_str().into(),
            carries_persistent: self.carries_persistent(request),
            capture_names: request
                .captures
                .iter()
                .map(|c| c.name.as_str().into())
                .collect(),
            secret_captures: request
                .captures
                .iter()
                .map(|c| self.is_secret(&c.name) || c.source.looks_secret())
                .collect(),
        }
    }

    /// Persistent variables are treated as secrets whatever their name: they are credentials
    /// by construction.
    fn is_secret(&self, name: &str) -> bool {
        self.secret_names.contains(name)
            || name_looks_secret(name)
            || self
                .collection
                .persist
                .iter()
                .chain(self.environment.into_iter().flat_map(|e| e.persist.iter()))
                .any(|p| p == name)
    }

    /// Takes the state file for this run: each persistent variable gets the newest saved value
    /// unless the user injected one the state has never seen (see [`crate::state::resolve`]).
    /// Returns, for each persistent variable, a line saying which value won and why.
    pub fn attach_state(&mut self, mut state: StateFile) -> Vec<String> {
        let mut explained = Vec::new();
        for name in Arc::clone(&self.persistent).iter() {
            let injected = self.scope.text(name);
            let resolution = state.resolve(name, injected.as_deref());
            if resolution.winner() == Winner::State
                && let Some(value) = resolution.value
            {
                let origin = Origin::State(state.path().to_path_buf());
                self.set(name, Value::String(value), origin);
            }
            explained.push(format!("{name}: {}", resolution.why.explain()));
        }
        self.state = Some(state);
        self.learn_secrets();
        explained
    }

    /// The value of each persistent variable now (for `--export-vars`).
    pub fn persistent_values(&self) -> Vec<(String, String)> {
        self.persistent
            .iter()
            .filter_map(|name| self.scope.text(name).map(|value| (name.clone(), value)))
            .collect()
    }

    /// The secret OS variables `env(...)` read since last time.
    fn learn_os_secrets(&mut self) {
        let Ok(read) = self.os_secrets.lock() else {
            return;
        };
        for value in &read[self.os_secrets_learnt.min(read.len())..] {
            self.redactor.add(value);
        }
        self.os_secrets_learnt = read.len();
    }

    fn learn_secrets(&mut self) {
        let mut values: Vec<String> = self
            .scope
            .iter()
            .filter(|(name, _)| self.is_secret(name))
            .map(|(_, var)| scope::value_text(&var.value))
            .collect();
        if let Ok(read) = self.os_secrets.lock() {
            values.extend(read.iter().cloned());
        }
        for value in values {
            self.redactor.add(&value);
        }
    }

    /// Everything that can be known before the first request is sent: every variable a request
    /// uses is defined or captured by an earlier request, and every template that uses no
    /// capture renders to a valid request. A run that would fail half-way for lack of a
    /// variable never starts, so no refresh token is spent for nothing.
    ///
    /// With a data file, `sample` is its first row: every row has the same columns.
    pub fn precheck(&self, sample: Option<&DataRow>) -> Result<()> {
        let mut captured: Vec<(&str, &str)> = Vec::new();
        let scope = self.pass_scope(sample);
        self.check_persistent(&scope)?;
        let context = scope.context();
        for request in &self.selected {
            let mut uses_capture = false;
            for template in build::templates(request) {
                for name in self.engine.variables_used(template)? {
                    if scope.contains(&name) {
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
                self.render_static_parts(request, &captured, &context)?;
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

    /// Every name under `persist:` must be something the run defines or a request captures: a
    /// misspelt one would let the rotated token go unsaved, and the next run fail.
    fn check_persistent(&self, scope: &Scope) -> Result<()> {
        let listed = self.collection.persist_listed.iter().chain(
            self.environment
                .into_iter()
                .flat_map(|e| e.persist_listed.iter()),
        );
        let captures = || {
            self.collection
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
        &self,
        request: &Request,
        captured: &[(&str, &str)],
        context: &minijinja::Value,
    ) -> Result<()> {
        let is_static = |template: &Tmpl| {
            self.engine
                .variables_used(template)
                .is_ok_and(|used| used.iter().all(|n| !captured.iter().any(|(c, _)| c == n)))
        };
        let mut partial = self.scope.clone();
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
            &self.engine,
            request,
            context,
            &partial.context(),
            is_static,
        )
        .map_err(|d| self.redacted(d).into())
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
        // The request that would capture it: left out of this run (`--request`, `--tag`), or
        // placed after the one that needs it.
        let captor = self
            .collection
            .requests
            .iter()
            .find(|r| r.captures.iter().any(|c| c.name == name));
        let unselected = captor.is_some_and(|c| !self.selected.iter().any(|s| s.name == c.name));
        let known: Vec<&str> = self
            .scope
            .names()
            .chain(captured.iter().map(|(c, _)| *c))
            .collect();
        let mut diagnostic = Diagnostic::new(format!("undefined variable `{name}`"))
            .at(template.spot.narrow_to(name))
            .label("used here, but defined nowhere")
            .note(format!("searched {}", searched.join(", ")));
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

    /// Renders the selected requests without sending anything (`--dry-run`, `courier curl`).
    /// A variable an earlier request would capture stands in as `<name>`. Secrets met on the
    /// way are learnt, so the caller can mask them.
    pub fn render_offline(&mut self) -> Result<Vec<(&'a Request, Outgoing)>> {
        let mut rendered = Vec::with_capacity(self.selected.len());
        let mut placeholders = Vec::new();
        for request in self.selected.clone() {
            let context = self.scope.context();
            let outgoing = build::build(
                &self.engine,
                request,
                &context,
                &self.settings,
                &mut self.redactor,
            )
            .map_err(|d| self.redacted(d))?;
            rendered.push((request, outgoing));
            for capture in &request.captures {
                let placeholder = Value::String(format!("<{}>", capture.name));
                self.scope.set(
                    capture.name.clone(),
                    placeholder,
                    Origin::Capture(request.name.as_str().into()),
                );
                placeholders.push(capture.name.clone());
            }
        }
        // A placeholder is no secret: it is what the reader needs to see.
        for name in placeholders {
            self.scope.remove(&name);
        }
        self.learn_secrets();
        Ok(rendered)
    }

    /// A copy to run other passes of the same environment at the same time. It has no state
    /// file: only runs without persistent variables are forked.
    pub fn fork(&self) -> Run<'a> {
        Run {
            collection: self.collection,
            environment: self.environment,
            selected: self.selected.clone(),
            settings: self.settings.clone(),
            engine: self.engine.clone(),
            base: self.base.clone(),
            overrides: self.overrides.clone(),
            scope: self.scope.clone(),
            redactor: self.redactor.clone(),
            secret_names: self.secret_names.clone(),
            os_secrets: Arc::clone(&self.os_secrets),
            os_secrets_learnt: self.os_secrets_learnt,
            persistent: Arc::clone(&self.persistent),
            uses: Arc::clone(&self.uses),
            steps: Arc::clone(&self.steps),
            state: None,
            state_error: None,
            state_notices: Vec::new(),
            built: self.built.clone(),
            watchdog: Default::default(),
            spare: Scope::default(),
        }
    }

    /// What reporters learn when the run starts.
    pub fn start_info(&self, started_at: std::time::SystemTime) -> RunStart<'a> {
        RunStart {
            collection: self.collection,
            environment: self.environment,
            selected: self.selected.iter().map(|r| r.name.as_str()).collect(),
            passes: 1,
            started_at,
        }
    }

    /// Tells the reporter every secret known before the first request (a token read back from
    /// the state file, say), so GitHub Actions masks them before anything is printed.
    pub fn announce_secrets(&mut self, reporter: &mut dyn Reporter) {
        self.learn_secrets();
        for value in self.redactor.values() {
            reporter.secret_learned(value);
        }
    }

    /// Sends the selected requests once and reports each, in order. Failed assertions are
    /// results; the pass stops early on `--bail`, a transport failure or a request that cannot
    /// be built, after which only `always: true` requests (teardown) still run.
    pub async fn run_pass(
        &mut self,
        client: &Client,
        pass: &Pass,
        reporter: &mut dyn Reporter,
        summary: &mut Summary,
    ) {
        let mut scope = match &pass.row {
            None => {
                let mut scope = std::mem::take(&mut self.spare);
                scope.restart_from(&self.scope);
                scope
            }
            Some(row) => self.pass_scope(Some(row)),
        };
        let mut stopped: Option<String> = None;
        // A handle on the steps, not a borrow of `self`, which `send` needs whole.
        let steps = Arc::clone(&self.steps);
        for (index, step) in steps.iter().enumerate() {
            let request = self.selected[index];
            if let Some(why) = &stopped
                && !request.always
            {
                summary.not_run(request, why.clone(), pass.label.clone());
                continue;
            }
            // A request built before from the same values needs no other check.
            let built = self.built_before(index, step, &scope);
            if built.is_none()
                && let Some(reason) = self.missing_capture(step, &scope)
            {
                summary.not_run(request, reason, pass.label.clone());
                continue;
            }
            let mut result = self
                .send(client, index, step, built, &mut scope, reporter)
                .await;
            if step.carries_persistent
                && matches!(result.failure, Some(Failure::Rejected(_)))
                && result
                    .exchange
                    .as_ref()
                    .is_some_and(credentials::is_invalid_grant)
                && self.fall_back(step, &mut scope)
            {
                let retries = result.retries + 1;
                result = self
                    .send(client, index, step, None, &mut scope, reporter)
                    .await;
                result.retries += retries;
            }
            result.pass = pass.label.clone();
            summary.add(&result);
            if matches!(
                result.failure,
                Some(Failure::Invalid(_) | Failure::Transport(_))
            ) {
                stopped = Some(format!(
                    "the run stopped when `{}` had a transport failure",
                    request.name
                ));
            } else if self.settings.bail && !result.passed() {
                stopped = Some(format!(
                    "--bail stopped the run when `{}` failed",
                    request.name
                ));
            }
            if self.state_error.is_some() {
                stopped = Some(format!(
                    "a new value from `{}` could not be saved",
                    request.name
                ));
            }
            reporter.request(&result, &self.redactor);
        }
        self.spare = scope;
    }

    /// Sends the `index`-th selected request, whose facts are `step`: as `built` for an earlier
    /// pass when it is given (see [`Run::built_before`]), or built now.
    async fn send(
        &mut self,
        client: &Client,
        index: usize,
        step: &Step,
        built: Option<(Arc<Outgoing>, Arc<str>)>,
        scope: &mut Scope,
        reporter: &mut dyn Reporter,
    ) -> RequestResult {
        let request = self.selected[index];
        let mut result = RequestResult {
            name: Arc::clone(&step.name),
            file: Arc::clone(&step.file),
            method: Arc::clone(&step.method),
            // The rendered URL, or the template when it cannot be rendered.
            url: Arc::clone(&NO_URL),
            exchange: None,
            checks: Vec::new(),
            captured: Vec::new(),
            failure: None,
            retries: 0,
            pass: None,
            duration: Duration::ZERO,
            passed_untold: 0,
        };
        let (outgoing, url) = match built {
            Some(built) => built,
            None => match build::build(
                &self.engine,
                request,
                &scope.context(),
                &self.settings,
                &mut self.redactor,
            ) {
                Ok(outgoing) => {
                    // Building may have read secret OS variables through `env(...)`.
                    self.learn_os_secrets();
                    self.remember_built(index, step, scope, outgoing)
                }
                Err(d) => {
                    result.url = request.url.text.as_str().into();
                    result.failure = Some(Failure::Invalid(Box::new(self.redacted(d))));
                    return result;
                }
            },
        };
        result.url = url;
        let started = Instant::now();
        // Out of `self` while the request is under way: `exchange_with_retries` reads `self`.
        let mut watchdog = std::mem::take(&mut self.watchdog);
        let exchanged = self
            .exchange_with_retries(
                client,
                step.carries_persistent,
                outgoing,
                &mut result.retries,
                &mut watchdog,
            )
            .await;
        self.watchdog = watchdog;
        let exchange = match exchanged {
            Ok(exchange) => exchange,
            Err(e) => {
                result.duration = started.elapsed();
                let mut why = explain_transport(&e);
                if step.carries_persistent && may_have_arrived(&e) {
                    why.push_str(&self.lost_answer(step));
                }
                result.failure = Some(Failure::Transport(why));
                return result;
            }
        };
        result.duration = exchange.duration;
        // Read as JSON once, for the secret scan, the credentials check, assertions and captures.
        let json = Document::parse(&exchange.body);
        let body_secrets = json.as_ref().map(secrets_in_body).unwrap_or_default();
        for value in &body_secrets {
            if self.redactor.add(value) {
                reporter.secret_learned(value);
            }
        }
        result.failure = credentials::rejection(&exchange, json.as_ref()).map(Failure::Rejected);
        let evaluation =
            evaluate::evaluate(request, &exchange, json.as_ref(), self.settings.check_texts);
        for (capture, value) in evaluation.captured {
            let name = &step.capture_names[capture];
            if step.secret_captures[capture] {
                let text = scope::value_str(&value);
                // Most secret captures are tokens the body scan has just learnt.
                if !body_secrets.contains(&&*text) && self.redactor.add(&text) {
                    reporter.secret_learned(&text);
                }
            }
            self.persist(name, &value, request, &mut result);
            result.captured.push(Arc::clone(name));
            scope.set(
                Arc::clone(name),
                value,
                Origin::Capture(Arc::clone(&step.name)),
            );
        }
        result.checks = evaluation.checks;
        result.passed_untold = evaluation.passed_untold;
        result.exchange = Some(exchange);
        result
    }

    /// The request built for an earlier pass, when building it again would give the same bytes:
    /// its templates call no function and every variable it reads has the same value. A long
    /// run sends the same request thousands of times; rendering it each time was most of
    /// courier's own work per request.
    fn built_before(
        &self,
        index: usize,
        step: &Step,
        scope: &Scope,
    ) -> Option<(Arc<Outgoing>, Arc<str>)> {
        let built = self.built[index].as_ref()?;
        let names = &step.uses.names;
        let same = names.len() == built.inputs.len()
            && names
                .iter()
                .zip(&built.inputs)
                .all(|(name, value)| scope.get(name).is_some_and(|var| &var.value == value));
        same.then(|| (Arc::clone(&built.outgoing), Arc::clone(&built.url)))
    }

    /// Keeps what `request` was built into, with the values it was built from, when its
    /// templates are pure (see [`Run::built_before`]).
    fn remember_built(
        &mut self,
        index: usize,
        step: &Step,
        scope: &Scope,
        outgoing: Outgoing,
    ) -> (Arc<Outgoing>, Arc<str>) {
        let url: Arc<str> = outgoing.url.as_str().into();
        let outgoing = Arc::new(outgoing);
        if step.uses.pure {
            let inputs = step
                .uses
                .names
                .iter()
                .map(|name| scope.get(name).map(|var| var.value.clone()))
                .collect::<Option<Vec<_>>>();
            if let Some(inputs) = inputs {
                self.built[index] = Some(Built {
                    inputs,
                    outgoing: Arc::clone(&outgoing),
                    url: Arc::clone(&url),
                });
            }
        }
        (outgoing, url)
    }

    /// Saves a captured persistent value durably, before anything else happens: Zoom has
    /// already killed the token it replaces. A failure stops the run (exit code 5) with the
    /// value rescued to a side file.
    fn persist(
        &mut self,
        name: &str,
        value: &Value,
        request: &Request,
        result: &mut RequestResult,
    ) {
        if !self.persistent_names().contains(name) {
            return;
        }
        let Some(state) = &mut self.state else {
            // No state file (the embedded emulator): the next pass still spends the new
            // value, since the one this pass used is dead.
            self.set(
                name,
                value.clone(),
                Origin::Capture(request.name.as_str().into()),
            );
            return;
        };
        match state.save(name, &scope::value_text(value), &request.name) {
            // The next pass must start from the new value: the one this pass used is dead.
            Ok(()) => {
                let origin = Origin::State(state.path().to_path_buf());
                self.set(name, value.clone(), origin);
            }
            Err(e) => {
                let message = e.render(false);
                // Reports put their own `error:` in front.
                let said = message.trim_start_matches("error: ").to_string();
                result.failure = Some(Failure::NotSaved(said));
                self.state_error = Some(message);
            }
        }
    }

    /// After `invalid_grant` on a request that sent a persistent value, switches each such
    /// variable it reads to the other candidate (see [`StateFile::fall_back`]): the refusal
    /// rotated nothing. True when something switched: the request is sent once more.
    fn fall_back(&mut self, step: &Step, scope: &mut Scope) -> bool {
        let Some(state) = &mut self.state else {
            return false;
        };
        let path = state.path().to_path_buf();
        let mut switched = Vec::new();
        for name in step
            .uses
            .names
            .iter()
            .filter(|n| self.persistent.contains(*n))
        {
            if let Some((value, way)) = state.fall_back(name) {
                switched.push((name.clone(), value, way));
            }
        }
        for (name, value, way) in &switched {
            let origin = Origin::State(path.clone());
            scope.set(name.as_str(), Value::String(value.clone()), origin.clone());
            self.set(name, Value::String(value.clone()), origin);
            self.state_notices
                .push(format!("{name}: {}", way.explain()));
        }
        !switched.is_empty()
    }

    /// What the run did about its state that the user should hear of.
    pub fn state_notices(&self) -> &[String] {
        &self.state_notices
    }

    /// Why `request` cannot be sent: a variable it uses was to be captured by an earlier request
    /// that failed to capture it. The check before the run proved every variable is defined or
    /// captured, so a missing one can only be a capture that did not happen.
    fn missing_capture(&self, step: &Step, scope: &Scope) -> Option<String> {
        let missing = step.uses.names.iter().find(|name| !scope.contains(name))?;
        let captor = self
            .collection
            .requests
            .iter()
            .find(|r| r.captures.iter().any(|c| &c.name == missing));
        Some(match captor {
            Some(captor) => format!("needs `{missing}`, which `{}` did not capture", captor.name),
            None => format!("needs `{missing}`, which is not defined"),
        })
    }

    /// Sends the request, and again while the retry policy allows (see [`retry`]).
    async fn exchange_with_retries(
        &self,
        client: &Client,
        carries_rotating_token: bool,
        outgoing: Arc<Outgoing>,
        retries: &mut u32,
        watchdog: &mut Watchdog,
    ) -> Result<Exchange, TransportError> {
        loop {
            let attempt = retry::Attempted {
                method: &outgoing.method,
                carries_rotating_token,
                retries_done: *retries,
            };
            let wait = match client.exchange(Arc::clone(&outgoing), watchdog).await {
                Ok(exchange) => {
                    let retry_after = exchange.header("retry-after");
                    match self.settings.retry.after_status(
                        attempt,
                        exchange.status,
                        retry_after.as_deref(),
                    ) {
                        Some(wait) => wait,
                        None => return Ok(exchange),
                    }
                }
                Err(e) => match self.settings.retry.after_error(attempt, &e) {
                    Some(wait) => wait,
                    None => return Err(e),
                },
            };
            *retries += 1;
            tokio::time::sleep(wait).await;
        }
    }

    /// True when a request sends a persistent variable (a single-use refresh token).
    pub fn carries_persistent(&self, request: &Request) -> bool {
        self.uses
            .get(&request.name)
            .is_some_and(|used| used.names.iter().any(|n| self.persistent.contains(n)))
    }

    pub fn environment(&self) -> Option<&'a Environment> {
        self.environment
    }

    /// Why saving a persistent value failed, if it did (the run exits 5).
    pub fn state_error(&self) -> Option<&str> {
        self.state_error.as_deref()
    }

    /// Variables listed under `persist:` in the collection or the environment.
    pub fn persistent_names(&self) -> &BTreeSet<String> {
        &self.persistent
    }
}

impl Run<'_> {
    /// What a lost answer to a request that carries a rotating token means, and what to do.
    fn lost_answer(&self, step: &Step) -> String {
        let names: Vec<&str> = step
            .uses
            .names
            .iter()
            .filter(|n| self.persistent.contains(*n))
            .map(String::as_str)
            .collect();
        let names = crate::diag::backticked(&names);
        let held = match &self.state {
            Some(state) => format!(
                "The state file `{}` still holds the value of {names} that was sent",
                state.path().display()
            ),
            None => format!("No state file keeps {names} in this run"),
        };
        format!(
            ". The request went out but its answer was lost: the server may have rotated {names} \
             already, and a new value courier never received cannot be saved. {held}. It was \
             not sent again: if it was spent, a second send fails and tells the server \
             nothing. Run once more: exit 0 means it was not spent; exit 4 (invalid_grant) means \
             it was, and the app must be authorized again"
        )
    }
}

/// True when a transport failure may have happened after the request reached the server: a
/// timeout, a reset or an unreadable answer. A connection never made sent nothing.
fn may_have_arrived(e: &TransportError) -> bool {
    matches!(
        e,
        TransportError::Timeout(_) | TransportError::TooLarge(_) | TransportError::Other(_)
    )
}

fn explain_transport(e: &TransportError) -> String {
    match e {
        TransportError::Timeout(_) => {
            format!("{e} (raise it with `--timeout` or `timeout:` in the request file)")
        }
        TransportError::TooLarge(_) => format!("{e} (raise `--max-body`)"),
        // hyper's words for a connection the server closed or reset without an answer.
        TransportError::Other(m)
            if m.contains("connection closed before message completed")
                || m.contains("connection reset")
                || m.contains("broken pipe") =>
        {
            format!("the server closed the connection without answering ({m})")
        }
        _ => e.to_string(),
    }
}

/// The string values of a JSON answer stored under secret-looking keys (`access_token`,
/// `refresh_token`, `client_secret`): masked in every output whether or not they are captured,
/// because a token is a credential wherever it appears.
fn secrets_in_body<'d>(body: &'d Document<'_>) -> Vec<&'d str> {
    body.strings_named(name_looks_secret)
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
            scope.set(
                name.clone(),
                Value::String(value.clone()),
                Origin::Data(row.number),
            );
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
