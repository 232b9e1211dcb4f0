//! The stages before anything is sent. [`Resolved`] compiles every template and resolves the
//! variables of the collection, the environment and `--var`. [`Plan::new`] goes on from there in
//! the one order that is safe: overrides (the emulator's address), the state file, then the
//! preflight. A `Plan` that exists has passed the preflight; it is the only way to an
//! [`Executor`], which sends.

use std::collections::BTreeSet;
use std::sync::{Arc, Mutex};

use serde_json::Value;

use super::binding::{StateBinding, StateChoice, StateReport};
use super::execute::{Executor, Step};
use super::{
    ByRequest, DataRow, RunStart, Scope, Settings, Uses, build, define, layered, watch_secret_reads,
};
use crate::diag::Diagnostic;
use crate::error::Result;
use crate::http::Outgoing;
use crate::model::{Collection, Environment, Request};
use crate::runner::Origin;
use crate::secrets::{Redactor, name_looks_secret};
use crate::state::{StateFile, Winner};
use crate::template::{Engine, EnvGrants, EnvLookup};

/// What a run of one environment is made from.
pub struct Inputs<'a> {
    pub collection: &'a Collection,
    pub environment: Option<&'a Environment>,
    /// `--var-file` values, then `--var` values: later ones win.
    pub vars: &'a [(String, String, Origin)],
    /// How `env("NAME")` reads the OS environment (and `--env-file`).
    pub lookup: EnvLookup,
    /// `--allow-env`: OS variables the collection's `env(...)` may read.
    pub grants: &'a [String],
    pub settings: Settings,
}

/// What [`Plan::new`] does besides resolving the variables.
pub struct Setup<'a> {
    /// Variables above `--var`: the emulator's address.
    pub overrides: Vec<(&'static str, Value, Origin)>,
    pub state: StateChoice,
    /// With a data file, the rows the preflight checks ([`super::data::samples`]): the first,
    /// and one of each other set of defined columns.
    pub samples: Vec<&'a DataRow>,
}

/// The variables of a run, resolved, and every template compiled; nothing checked yet.
pub struct Resolved<'a> {
    pub(super) collection: &'a Collection,
    pub(super) environment: Option<&'a Environment>,
    /// The requests that run, in order.
    pub(super) selected: Vec<&'a Request>,
    pub(super) settings: Settings,
    pub(super) engine: Engine,
    /// Collection and environment variables, rendered.
    pub(super) base: Scope,
    /// Variables above a data row, in order: `--var`, then values from the state file and the
    /// emulator's address.
    pub(super) overrides: Vec<(String, Value, Origin)>,
    /// `base` with `overrides` applied: what a pass without a data row starts from.
    pub(super) scope: Scope,
    pub(super) redactor: Redactor,
    secret_names: BTreeSet<String>,
    /// Values of OS variables read through `env(...)` whose names are secret.
    pub(super) os_secrets: Arc<Mutex<Vec<String>>>,
    /// Variables listed under `persist:` in the collection or the environment.
    pub(super) persistent: BTreeSet<String>,
    /// For each request (by name), the variables its templates read, worked out once.
    pub(super) uses: ByRequest<Uses>,
    /// Names nothing defines or captures, sent as the text `{{name}}` (`undefined: literal`).
    pub(super) literal: BTreeSet<String>,
    pub(super) state: Option<StateFile>,
    state_report: StateReport,
}

impl<'a> Resolved<'a> {
    /// Compiles every template and resolves the variables of the collection, the environment
    /// and `--var`, in that order of precedence.
    pub fn new(inputs: Inputs<'a>) -> Result<Resolved<'a>> {
        let Inputs {
            collection,
            environment,
            vars,
            lookup,
            grants,
            settings,
        } = inputs;
        let selected = settings.selection.apply(collection)?;
        let listed = || {
            collection
                .secrets
                .iter()
                .chain(environment.into_iter().flat_map(|e| e.secrets.iter()))
                .cloned()
        };
        let (lookup, os_secrets) = watch_secret_reads(lookup, listed().collect());
        let (engine, base) = resolve_variables(collection, environment, lookup, grants)?;
        let uses = uses(&engine, collection)?;
        let (base, literal) = undefined_as_literal(collection, &uses, base, vars);
        let overrides: Vec<(String, Value, Origin)> = vars
            .iter()
            .map(|(name, value, origin)| {
                (name.clone(), Value::String(value.clone()), origin.clone())
            })
            .collect();
        let scope = layered(&base, None, &overrides).frozen();
        // A refresh token an `oauth2` auth sends rotates like any listed under `persist:`.
        let persistent = collection
            .persist
            .iter()
            .chain(environment.into_iter().flat_map(|e| e.persist.iter()))
            .cloned()
            .chain(
                collection
                    .tokens
                    .iter()
                    .filter_map(|t| t.refresh_variable().map(str::to_string)),
            )
            .collect();
        let redactor = match settings.show_secrets {
            true => Redactor::disabled(),
            false => Redactor::default(),
        };
        let mut resolved = Resolved {
            collection,
            environment,
            selected,
            settings,
            engine,
            base,
            overrides,
            scope,
            redactor,
            secret_names: listed().collect(),
            os_secrets,
            persistent,
            uses,
            literal,
            state: None,
            state_report: StateReport::default(),
        };
        resolved.learn_secrets();
        Ok(resolved)
    }

    pub fn scope(&self) -> &Scope {
        &self.scope
    }

    pub fn redactor(&self) -> &Redactor {
        &self.redactor
    }

    /// Sets a variable above `--var` (the emulator's address, a value from the state file).
    pub(super) fn set(&mut self, name: &str, value: Value, origin: Origin) {
        set_override(&mut self.overrides, name, value, origin);
        self.scope = layered(&self.base, None, &self.overrides).frozen();
        self.learn_secrets();
    }

    /// Takes the state file `choice` names: each persistent variable gets the newest saved
    /// value unless the user injected one the state has never seen (see
    /// [`crate::state::resolve`]).
    pub fn attach_state(&mut self, choice: &StateChoice) -> Result<&StateReport> {
        let persistent: Vec<&str> = self.persistent.iter().map(String::as_str).collect();
        let environment = self.environment.map(|e| e.file.path.as_path());
        let caches = !self.collection.tokens.is_empty();
        let Some(mut state) = choice.open(&persistent, caches, environment)? else {
            return Ok(&self.state_report);
        };
        let mut report = StateReport {
            path: Some(state.path().to_path_buf()),
            explained: Vec::new(),
            warnings: state.warnings().to_vec(),
        };
        for name in self.persistent.clone() {
            let injected = self.scope.text(&name);
            let resolution = state.resolve(&name, injected.as_deref());
            if resolution.winner() == Winner::State
                && let Some(value) = resolution.value
            {
                let origin = Origin::State(state.path().to_path_buf());
                self.set(&name, Value::String(value), origin);
            }
            report
                .explained
                .push(format!("{name}: {}", resolution.why.explain()));
        }
        self.state = Some(state);
        self.state_report = report;
        Ok(&self.state_report)
    }

    /// Whether passes keep a cookie jar: unless `--no-cookies` or the collection's
    /// `cookies: false` says not.
    pub(super) fn cookies(&self) -> bool {
        self.settings.cookies && self.collection.cookies
    }

    /// The `index`-th step's request: a selected one, or past them, a token source's.
    pub(super) fn request(&self, index: usize) -> &'a Request {
        match self.selected.get(index) {
            Some(request) => request,
            None => &self.collection.tokens[index - self.selected.len()].request,
        }
    }

    /// Persistent variables are treated as secrets whatever their name: they are credentials
    /// by construction.
    pub(super) fn is_secret(&self, name: &str) -> bool {
        self.secret_names.contains(name)
            || name_looks_secret(name)
            || self.persistent.contains(name)
    }

    fn learn_secrets(&mut self) {
        let mut values: Vec<String> = self
            .scope
            .iter()
            .filter(|(name, _)| self.is_secret(name))
            .map(|(_, var)| super::scope::value_text(&var.value))
            .collect();
        if let Ok(read) = self.os_secrets.lock() {
            values.extend(read.iter().cloned());
        }
        for value in values {
            self.redactor.add(&value);
        }
    }

    /// The variables a pass starts from: its data row sits between the environment and
    /// `--var`.
    pub(super) fn pass_scope(&self, row: Option<&DataRow>) -> Scope {
        match row {
            None => self.scope.clone(),
            Some(row) => layered(&self.base, Some(row), &self.overrides),
        }
    }

    /// True when a request sends a persistent variable (a single-use refresh token).
    pub fn carries_persistent(&self, request: &Request) -> bool {
        self.uses
            .get(&request.name)
            .is_some_and(|used| used.names.iter().any(|n| self.persistent.contains(n)))
    }

    /// A diagnostic with every secret the run knows masked in its words.
    pub(super) fn redacted(&self, mut d: Diagnostic) -> Diagnostic {
        d.title = self.redactor.redact(&d.title).into_owned();
        d.label = d.label.map(|l| self.redactor.redact(&l).into_owned());
        d.notes = d
            .notes
            .iter()
            .map(|n| self.redactor.redact(n).into_owned())
            .collect();
        d
    }
}

/// Replaces the override of `name`, if any, keeping what the user set on the command line.
pub(super) fn set_override(
    overrides: &mut Vec<(String, Value, Origin)>,
    name: &str,
    value: Value,
    origin: Origin,
) {
    overrides
        .retain(|(n, _, o)| n != name || matches!(o, Origin::CommandLine | Origin::VarFile(_)));
    overrides.push((name.to_string(), value, origin));
}

/// Compiles every template and renders the collection's and the environment's variables.
/// Environment files are the user's own and read any OS variable; collection and request files
/// only what the user grants.
fn resolve_variables(
    collection: &Collection,
    environment: Option<&Environment>,
    lookup: EnvLookup,
    grants: &[String],
) -> Result<(Engine, Scope)> {
    let grants = EnvGrants::new(
        grants.iter().cloned().chain(
            environment
                .into_iter()
                .flat_map(|e| e.allow_env.iter().cloned()),
        ),
    );
    let environment_engine = Engine::new(Arc::clone(&lookup));
    let mut engine = Engine::granted(lookup, grants);
    for request in collection.all_requests() {
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
    Ok((engine, base.frozen()))
}

/// With `undefined: literal`, every name a request reads that nothing defines or sets on the
/// command line, and no request before it captures, becomes the text `{{name}}` at the lowest
/// precedence, as Newman sends it: an environment, a data row, `--var` or a later capture
/// that defines it still wins.
fn undefined_as_literal(
    collection: &Collection,
    uses: &ByRequest<Uses>,
    mut base: Scope,
    vars: &[(String, String, Origin)],
) -> (Scope, BTreeSet<String>) {
    if !collection.undefined_as_literal {
        return (base, BTreeSet::new());
    }
    let mut captured: BTreeSet<&str> = BTreeSet::new();
    let mut literal: BTreeSet<String> = BTreeSet::new();
    for request in collection.all_requests() {
        let names = uses
            .get(&request.name)
            .map(|u| u.names.as_slice())
            .unwrap_or_default();
        literal.extend(
            names
                .iter()
                .filter(|name| !base.contains(name) && !captured.contains(name.as_str()))
                .filter(|name| !vars.iter().any(|(n, _, _)| n == *name))
                .cloned(),
        );
        captured.extend(request.captures.iter().map(|c| c.name.as_str()));
    }
    for name in &literal {
        let text = Value::String(format!("{{{{{name}}}}}"));
        base.set(name.as_str(), text, Origin::Literal);
    }
    (base.frozen(), literal)
}

/// What each request's templates read, worked out once per run: the run consults it before
/// every request.
fn uses(engine: &Engine, collection: &Collection) -> Result<ByRequest<Uses>> {
    let mut uses = ByRequest::default();
    for request in collection.all_requests() {
        let mut names = BTreeSet::new();
        let mut pure = true;
        for template in build::templates(request) {
            names.extend(engine.variables_used(template)?);
            pure &= engine.is_pure(template);
        }
        // An OAuth 1.0 signature holds a nonce and the time: each send is signed anew.
        pure &= !matches!(request.auth, Some(crate::model::Auth::OAuth1(_)));
        let names = names.into_iter().collect();
        uses.insert(request.name.clone(), Uses { names, pure });
    }
    Ok(uses)
}

/// A run of one environment that has passed the preflight: every variable a request uses is
/// defined or captured by an earlier request, and every template that uses no capture renders
/// to a valid request. It makes the executors that send.
pub struct Plan<'a> {
    pub(super) vars: Resolved<'a>,
    /// For each selected request, in the same order, what every pass needs to know of it.
    pub(super) steps: Vec<Step>,
}

impl<'a> Plan<'a> {
    /// Resolves the variables, sets `setup`'s overrides, takes the state file and runs the
    /// preflight, in that order: a run that would fail half-way for lack of a variable never
    /// starts, so no refresh token is spent for nothing.
    pub fn new(inputs: Inputs<'a>, setup: Setup<'_>) -> Result<Plan<'a>> {
        let mut vars = Resolved::new(inputs)?;
        for (name, value, origin) in setup.overrides {
            vars.set(name, value, origin);
        }
        vars.attach_state(&setup.state)?;
        super::preflight::check_rows(&vars, &setup.samples)?;
        // The selected requests, then the token requests of the collection's `oauth2` auths.
        let tokens = vars.collection.tokens.iter().map(|t| &t.request);
        let steps = vars
            .selected
            .iter()
            .copied()
            .chain(tokens)
            .map(|r| Step::new(&vars, r))
            .collect();
        Ok(Plan { vars, steps })
    }

    pub fn redactor(&self) -> &Redactor {
        &self.vars.redactor
    }

    /// The variables, resolved, and what comes with them.
    pub fn vars(&self) -> &Resolved<'a> {
        &self.vars
    }

    pub fn carries_persistent(&self, request: &Request) -> bool {
        self.vars.carries_persistent(request)
    }

    /// Tells the reporter every secret known before the first request (a token read back from
    /// the state file, say), so GitHub Actions masks them before anything is printed.
    pub fn announce_secrets(&self, reporter: &mut dyn super::Reporter) {
        for value in self.vars.redactor.values() {
            reporter.secret_learned(value);
        }
    }

    /// What was done with the state file.
    pub fn state_report(&self) -> &StateReport {
        &self.vars.state_report
    }

    /// What reporters learn when the run starts.
    pub fn start_info(&self, started_at: std::time::SystemTime) -> RunStart<'a> {
        RunStart {
            collection: self.vars.collection,
            environment: self.vars.environment,
            selected: self.vars.selected.iter().map(|r| r.name.as_str()).collect(),
            passes: 1,
            started_at,
        }
    }

    /// Renders the selected requests without sending anything (`--dry-run`, `courier curl`).
    /// A variable an earlier request would capture stands in as its `default:`, or as `<name>`. Returns, with them,
    /// the redactor that masks every secret met on the way.
    pub fn render_offline(&self) -> Result<(Vec<(&'a Request, Outgoing)>, Redactor)> {
        let vars = &self.vars;
        // Building teaches the redactor what each request sends as a credential; a placeholder
        // sent as one (`Bearer <access_token>`) is no secret, and is left out below.
        let mut learnt = vars.redactor.clone();
        let mut placeholders: Vec<String> = Vec::new();
        let mut scope = vars.scope.clone();
        let mut rendered = Vec::with_capacity(vars.selected.len());
        let mut sources_shown = vec![false; vars.collection.tokens.len()];
        let with_tokens = vars.selected.iter().flat_map(|&request| {
            // An `oauth2` auth's token request shows before the first request that needs it.
            let source = match &request.auth {
                Some(crate::model::Auth::OAuth2(oauth2))
                    if !std::mem::replace(&mut sources_shown[oauth2.source], true) =>
                {
                    Some(&vars.collection.tokens[oauth2.source].request)
                }
                _ => None,
            };
            source.into_iter().chain([request])
        });
        for request in with_tokens {
            let context = scope.context();
            let outgoing =
                build::build(&vars.engine, request, &context, &vars.settings, &mut learnt)
                    .map_err(|d| vars.redacted(d))?;
            rendered.push((request, outgoing));
            // A value the answer may not carry stays what it was.
            for capture in request.captures.iter().filter(|c| !c.optional) {
                // A placeholder is no secret: it is what the reader needs to see. A capture
                // with a default shows it: that is what goes out when the answer has none,
                // and a URL made of it (`{{ api_url }}/v2/users/me`) is still a URL.
                let placeholder = capture
                    .default
                    .clone()
                    .unwrap_or_else(|| Value::String(format!("<{}>", capture.name)));
                placeholders.push(super::scope::value_text(&placeholder));
                let origin = Origin::Capture(request.name.as_str().into());
                scope.set(capture.name.clone(), placeholder, origin);
            }
        }
        let mut redactor = vars.redactor.clone();
        for value in learnt.values() {
            if !placeholders.contains(value) {
                redactor.add(value);
            }
        }
        if let Ok(read) = vars.os_secrets.lock() {
            for value in read.iter() {
                redactor.add(value);
            }
        }
        Ok((rendered, redactor))
    }

    /// The executors that send this plan's passes: `ways` of them, to run at the same time,
    /// when nothing is persistent; one otherwise, holding the state file, since each pass
    /// spends the token the previous one saved.
    pub fn executors(&mut self, ways: usize) -> Vec<Executor<'_>> {
        let binding = self.vars.state.take().map(StateBinding::new);
        let ways = match binding.is_some() || !self.vars.persistent.is_empty() {
            true => 1,
            false => ways.max(1),
        };
        let plan: &Plan<'_> = self;
        let mut executors = vec![Executor::new(plan, binding)];
        executors.extend((1..ways).map(|_| Executor::new(plan, None)));
        executors
    }
}
