//! Sending: an [`Executor`] runs passes of a [`Plan`], one request after another, and turns
//! each into a [`RequestResult`] it hands to the reporter as soon as it is known. Captures feed
//! the requests that follow; a persistent value is saved through the state binding the moment
//! it arrives. It prints nothing itself.

use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::Value;

use super::binding::StateBinding;
use super::plan::{Plan, set_override};
use super::{
    Failure, NO_URL, Origin, Pass, PollTry, Reporter, RequestResult, RetryPolicy, Scope, Summary,
    Uses, build, credentials, evaluate, layered, retry, scope,
};
use crate::assert::Document;
use crate::http::{Client, Exchange, Jar, Outgoing, TransportError, Watchdog};
use crate::model::Request;
use crate::secrets::name_looks_secret;

/// What the run knows of a selected request before sending it, worked out once: every pass
/// reads it, and shares its texts with the results instead of copying them.
pub(super) struct Step {
    uses: Uses,
    pub(super) name: Arc<str>,
    pub(super) file: Arc<std::path::Path>,
    pub(super) method: Arc<str>,
    /// Whether the request sends a persistent variable (a single-use refresh token).
    carries_persistent: bool,
    /// For each capture, in order: its name, shared with results and scopes.
    capture_names: Vec<Arc<str>>,
    /// For each capture, in order: whether its value is a secret.
    secret_captures: Vec<bool>,
}

impl Step {
    pub(super) fn new(vars: &super::plan::Resolved<'_>, request: &Request) -> Step {
        let uses = vars.uses.get(&request.name).cloned().unwrap_or(Uses {
            names: Vec::new(),
            pure: false,
        });
        Step {
            uses,
            name: request.name.as_str().into(),
            file: request.file.path.as_path().into(),
            method: request.method.as_str().into(),
            carries_persistent: vars.carries_persistent(request),
            capture_names: request
                .captures
                .iter()
                .map(|c| c.name.as_str().into())
                .collect(),
            secret_captures: request
                .captures
                .iter()
                .map(|c| vars.is_secret(&c.name) || c.source.looks_secret())
                .collect(),
        }
    }
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

/// Sends passes of one plan. Each pass starts from the same variables (but for what the state
/// saved) and keeps its captures to itself.
pub struct Executor<'p> {
    pub(super) plan: &'p Plan<'p>,
    /// The plan's overrides, and the values the state binding saved since.
    overrides: Vec<(String, Value, Origin)>,
    /// What a pass without a data row starts from.
    scope: Scope,
    pub(super) redactor: crate::secrets::Redactor,
    /// How many of the plan's secret OS variables the redactor has learnt.
    os_secrets_learnt: usize,
    pub(super) binding: Option<StateBinding>,
    /// For each selected request, what it was last built into (see [`Executor::built_before`]).
    built: Vec<Option<Built>>,
    /// The timeouts of this executor's requests, which go one at a time.
    watchdog: Watchdog,
    /// The scope of the last pass, whose storage the next pass reuses.
    spare: Scope,
    /// For each token source of the collection, the access token this executor holds.
    pub(super) tokens: Vec<Option<super::tokens::Held>>,
    /// For each token source: a refused token was replaced once already, so a second refusal
    /// is not answered with a second refresh.
    pub(super) replaced: Vec<bool>,
    /// For each token source: its token request failed in this run, so no later request gets
    /// a token from it.
    pub(super) token_failed: Vec<bool>,
    /// The cookies of the pass under way (none with `--no-cookies` or `cookies: false`).
    jar: Option<Jar>,
    /// Failed checks of a token request whose token is used all the same (a required scope
    /// missing): told with the result of the request that used it.
    pub(super) carried: Vec<super::CheckResult>,
    /// The `snapshot:` files read so far.
    snapshots: super::snapshot::Snapshots,
}

/// Why the rest of a pass is not sent.
type Stopped = Option<String>;

impl<'p> Executor<'p> {
    pub(super) fn new(plan: &'p Plan<'p>, binding: Option<StateBinding>) -> Executor<'p> {
        Executor {
            plan,
            overrides: plan.vars.overrides.clone(),
            scope: plan.vars.scope.clone(),
            redactor: plan.vars.redactor.clone(),
            os_secrets_learnt: 0,
            binding,
            built: vec![None; plan.steps.len()],
            watchdog: Watchdog::default(),
            spare: Scope::default(),
            tokens: vec![None; plan.vars.collection.tokens.len()],
            replaced: vec![false; plan.vars.collection.tokens.len()],
            token_failed: vec![false; plan.vars.collection.tokens.len()],
            carried: Vec::new(),
            snapshots: Default::default(),
            jar: None,
        }
    }

    pub fn redactor(&self) -> &crate::secrets::Redactor {
        &self.redactor
    }

    /// What the run did about its state that the user should hear of.
    pub fn state_notices(&self) -> &[String] {
        self.binding.as_ref().map_or(&[], StateBinding::notices)
    }

    /// Why saving a persistent value failed, if it did (the run exits 5).
    pub fn state_error(&self) -> Option<&str> {
        self.binding.as_ref().and_then(StateBinding::error)
    }

    /// The value of each persistent variable now (for `--export-vars`).
    pub fn persistent_values(&self) -> Vec<(String, String)> {
        self.plan
            .vars
            .persistent
            .iter()
            .filter_map(|name| self.scope.text(name).map(|value| (name.clone(), value)))
            .collect()
    }

    /// Sends the selected requests once and reports each, in order. Failed assertions are
    /// results; a transport failure leaves the requests that need its captures unsent. The pass
    /// stops early on `--bail`, a request that cannot be built or a transport failure of one
    /// that spent a rotating token, after which only `always: true` requests (teardown) still
    /// run.
    pub async fn run_pass(
        &mut self,
        client: &Client,
        pass: &Pass,
        reporter: &mut dyn Reporter,
        summary: &mut Summary,
    ) {
        let plan = self.plan;
        let mut scope = match &pass.row {
            None => {
                let mut scope = std::mem::take(&mut self.spare);
                scope.restart_from(&self.scope);
                scope
            }
            Some(row) => layered(&plan.vars.base, Some(row), &self.overrides),
        };
        // Each pass starts with an empty jar, as each Newman iteration does.
        self.jar = plan.vars.cookies().then(Jar::new);
        let mut stopped: Stopped = None;
        // The steps past the selected requests are token requests, sent when needed.
        let selected = &plan.steps[..plan.vars.selected.len()];
        for (index, step) in selected.iter().enumerate() {
            let request = plan.vars.selected[index];
            if let Some(why) = &stopped
                && !request.always
            {
                summary.not_run(request, why.clone(), pass.label.clone());
                continue;
            }
            // An `oauth2` auth's token first: a failure to get it is the request's, and the
            // later ones that need it are not run (a dead refresh token is sent once).
            let oauth2 = matches!(request.auth, Some(crate::model::Auth::OAuth2(_)));
            if let Some(reason) = self.token_unavailable(request) {
                summary.not_run(request, reason, pass.label.clone());
                continue;
            }
            // Boxed: the token path sends a request of its own, and a pass's future would
            // otherwise carry its state for every request, oauth2 or not.
            if oauth2
                && let Err(mut failed) =
                    Box::pin(self.ensure_token(client, request, &mut scope, reporter)).await
            {
                failed.pass = pass.label.clone();
                summary.add(&failed);
                stopped = self.stop_after(&failed, request).or(stopped);
                reporter.request(&failed, &self.redactor);
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
                .send_once_more_if_refused(client, index, built, &mut scope, reporter)
                .await;
            if oauth2 {
                let refused =
                    self.after_refused_token(client, index, &mut result, &mut scope, reporter);
                Box::pin(refused).await;
            }
            let carried = self.take_carried_checks();
            result.checks.splice(0..0, carried);
            result.pass = pass.label.clone();
            summary.add(&result);
            stopped = self.stop_after(&result, request).or(stopped);
            reporter.request(&result, &self.redactor);
        }
        self.spare = scope;
    }

    /// Sends the `index`-th request; after `invalid_grant` on one that sent a persistent
    /// value, sends it once more with the other candidate value, if there is one.
    pub(super) async fn send_once_more_if_refused(
        &mut self,
        client: &Client,
        index: usize,
        built: Option<(Arc<Outgoing>, Arc<str>)>,
        scope: &mut Scope,
        reporter: &mut dyn Reporter,
    ) -> RequestResult {
        let step = &self.plan.steps[index];
        let result = self.send(client, index, built, scope, reporter).await;
        let refused = step.carries_persistent
            && matches!(result.failure, Some(Failure::Rejected(_)))
            && result
                .exchange
                .as_ref()
                .is_some_and(credentials::is_invalid_grant);
        if !refused || !self.fall_back(step, scope) {
            return result;
        }
        let retries = result.retries + 1;
        let mut result = self.send(client, index, None, scope, reporter).await;
        result.retries += retries;
        result
    }

    /// Why the rest of the pass is not sent after `result`, if it is not.
    fn stop_after(&self, result: &RequestResult, request: &Request) -> Stopped {
        if self.state_error().is_some() {
            return Some(format!(
                "a new value from `{}` could not be saved",
                request.name
            ));
        }
        match &result.failure {
            // Requests that need its captures are not run for lack of them; the others go on,
            // as in every peer. Not after a request that spent a rotating token whose answer
            // may be lost: a later one could send the dead token again.
            Some(Failure::Transport(_)) if self.spends_rotating_token(request) => Some(format!(
                "the run stopped when `{}` had a transport failure",
                request.name
            )),
            Some(Failure::Invalid(_)) => Some(format!(
                "the run stopped when `{}` could not be built",
                request.name
            )),
            _ if self.plan.vars.settings.bail && !result.passed() => Some(format!(
                "--bail stopped the run when `{}` failed",
                request.name
            )),
            _ => None,
        }
    }

    /// Sends the `index`-th selected request: as `built` for an earlier pass when it is given
    /// (see [`Executor::built_before`]), or built now.
    pub(super) async fn send(
        &mut self,
        client: &Client,
        index: usize,
        built: Option<(Arc<Outgoing>, Arc<str>)>,
        scope: &mut Scope,
        reporter: &mut dyn Reporter,
    ) -> RequestResult {
        let plan = self.plan;
        let (request, step) = (plan.vars.request(index), &plan.steps[index]);
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
            tries: Vec::new(),
            pass: None,
            duration: Duration::ZERO,
            passed_untold: 0,
        };
        let (outgoing, url) = match built {
            Some(built) => built,
            None => match self.build(index, scope) {
                Ok(built) => built,
                Err(d) => {
                    result.url = request.url.text.as_str().into();
                    result.failure = Some(Failure::Invalid(Box::new(d)));
                    return result;
                }
            },
        };
        result.url = url;
        let started = Instant::now();
        let exchanged = self
            .exchange_polled(client, index, outgoing, scope, reporter, &mut result)
            .await;
        // A cookie that looks like a credential is masked before anything shows it.
        for value in self.jar.as_mut().map(Jar::take_secrets).unwrap_or_default() {
            if self.redactor.add(&value) {
                reporter.secret_learned(&value);
            }
        }
        match exchanged {
            Ok(exchange) => self.take_answer(index, exchange, scope, reporter, &mut result),
            Err(e) => {
                result.duration = started.elapsed();
                let mut why = explain_transport(&e);
                if step.carries_persistent && may_have_arrived(&e) {
                    why.push_str(&self.lost_answer(step));
                }
                result.failure = Some(Failure::Transport(why));
            }
        }
        result
    }

    /// Sends `outgoing` (again while the retry policy allows), and with `poll:` again while its
    /// answer fails the request's checks and tries remain; the failed tries go into `result`.
    async fn exchange_polled(
        &mut self,
        client: &Client,
        index: usize,
        outgoing: Arc<Outgoing>,
        scope: &Scope,
        reporter: &mut dyn Reporter,
        result: &mut RequestResult,
    ) -> Result<Exchange, TransportError> {
        let plan = self.plan;
        let (request, step) = (plan.vars.request(index), &plan.steps[index]);
        loop {
            let exchanged = exchange_with_retries(
                client,
                &plan.vars.settings.retry,
                step.carries_persistent,
                Arc::clone(&outgoing),
                &mut result.retries,
                &mut self.watchdog,
                self.jar.as_mut(),
            )
            .await;
            // `poll:` — while tries remain, an answer that fails its checks is kept for the
            // report and the request sent again.
            let Some(poll) = &request.poll else {
                return exchanged;
            };
            match exchanged {
                Ok(exchange) if result.tries.len() + 1 < poll.times as usize => {
                    let failed = self.failed_checks(index, &exchange, scope, reporter);
                    if failed.is_empty() {
                        return Ok(exchange);
                    }
                    result.tries.push(PollTry { exchange, failed });
                    tokio::time::sleep(poll.interval).await;
                }
                other => return other,
            }
        }
    }

    /// The checks and captures of the request that `exchange` fails (none: it passes). The
    /// secrets in it are learnt either way: `-v` shows a failed try.
    fn failed_checks(
        &mut self,
        index: usize,
        exchange: &Exchange,
        scope: &Scope,
        reporter: &mut dyn Reporter,
    ) -> Vec<super::CheckResult> {
        let request = self.plan.vars.request(index);
        let json = Document::parse(&exchange.body);
        for value in json.as_ref().map(secrets_in_body).unwrap_or_default() {
            if self.redactor.add(value) {
                reporter.secret_learned(value);
            }
        }
        let mut evaluation = evaluate::evaluate(request, exchange, json.as_ref(), false);
        evaluate::check_vars(request, scope, false, &mut evaluation);
        evaluation.checks.retain(|c| !c.outcome.passed);
        evaluation.checks
    }

    /// Builds the `index`-th request from `scope`, and keeps it for the next pass when that
    /// one may send the same bytes.
    fn build(
        &mut self,
        index: usize,
        scope: &Scope,
    ) -> Result<(Arc<Outgoing>, Arc<str>), crate::diag::Diagnostic> {
        let vars = &self.plan.vars;
        let request = vars.request(index);
        let built = build::build(
            &vars.engine,
            request,
            &scope.context(),
            &vars.settings,
            &mut self.redactor,
        );
        match built {
            Ok(outgoing) => {
                // Building may have read secret OS variables through `env(...)`.
                self.learn_os_secrets();
                Ok(self.remember_built(index, scope, outgoing))
            }
            Err(d) => Err(vars.redacted(d)),
        }
    }

    /// Checks the answer, learns the secrets in it, captures and saves what it carries.
    fn take_answer(
        &mut self,
        index: usize,
        exchange: Exchange,
        scope: &mut Scope,
        reporter: &mut dyn Reporter,
        result: &mut RequestResult,
    ) {
        let plan = self.plan;
        let (request, step) = (plan.vars.request(index), &plan.steps[index]);
        result.duration = exchange.duration;
        // Read as JSON once, for the secret scan, the credentials check, assertions and captures.
        let json = Document::parse(&exchange.body);
        let body_secrets = json.as_ref().map(secrets_in_body).unwrap_or_default();
        for value in &body_secrets {
            if self.redactor.add(value) {
                reporter.secret_learned(value);
            }
        }
        // A status the request asserts is what its author expects (a probe of a 401 challenge,
        // say), not a rejection to report.
        let expected =
            (request.checks.status.as_ref()).is_some_and(|(s, _)| s.matches(exchange.status));
        if !expected {
            result.failure =
                credentials::rejection(&exchange, json.as_ref()).map(Failure::Rejected);
        }
        let check_texts = plan.vars.settings.check_texts;
        let mut evaluation = evaluate::evaluate(request, &exchange, json.as_ref(), check_texts);
        evaluate::check_vars(request, scope, check_texts, &mut evaluation);
        if let Some(environment) = plan.vars.environment {
            let required = &environment.required_scopes;
            let parsed = json.as_ref();
            evaluate::check_scopes(required, &exchange, parsed, check_texts, &mut evaluation);
        }
        for (capture, value) in evaluation.captured {
            let name = &step.capture_names[capture];
            if step.secret_captures[capture] {
                let text = scope::value_str(&value);
                // Most secret captures are tokens the body scan has just learnt.
                if !body_secrets.contains(&&*text) && self.redactor.add(&text) {
                    reporter.secret_learned(&text);
                }
            }
            self.persist(name, &value, request, result);
            result.captured.push(Arc::clone(name));
            let origin = Origin::Capture(Arc::clone(&step.name));
            scope.set(Arc::clone(name), value, origin);
        }
        // Unset: what `undefined: literal` sends for a name nothing defines, and missing to
        // `vars:` checks; the preflight refuses a later use when the collection is strict.
        for (name, _) in &request.unset {
            let text = Value::String(format!("{{{{{name}}}}}"));
            scope.set(name.as_str(), text, Origin::Literal);
        }
        if let Some(snapshot) = &request.checks.snapshot {
            let mode = plan.vars.settings.snapshots;
            let outcome = self
                .snapshots
                .check(snapshot, json.as_ref(), &self.redactor, mode);
            if outcome.passed && !check_texts {
                evaluation.passed_untold += 1;
            } else {
                evaluation.checks.push(super::CheckResult {
                    subject: "body".into(),
                    outcome,
                    spot: snapshot.spot.clone(),
                });
            }
        }
        result.checks = evaluation.checks;
        result.passed_untold = evaluation.passed_untold;
        result.exchange = Some(exchange);
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

    /// Keeps what the `index`-th request was built into, with the values it was built from,
    /// when its templates are pure (see [`Executor::built_before`]).
    fn remember_built(
        &mut self,
        index: usize,
        scope: &Scope,
        outgoing: Outgoing,
    ) -> (Arc<Outgoing>, Arc<str>) {
        let step = &self.plan.steps[index];
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

    /// Sets a variable above `--var` for the passes to come.
    pub(super) fn set(&mut self, name: &str, value: Value, origin: Origin) {
        if self.plan.vars.is_secret(name) {
            self.redactor.add(&scope::value_text(&value));
        }
        set_override(&mut self.overrides, name, value, origin);
        self.scope = layered(&self.plan.vars.base, None, &self.overrides).frozen();
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
        if !self.plan.vars.persistent.contains(name) {
            return;
        }
        let Some(binding) = &mut self.binding else {
            // No state file (the embedded emulator): the next pass still spends the new
            // value, since the one this pass used is dead.
            let origin = Origin::Capture(request.name.as_str().into());
            self.set(name, value.clone(), origin);
            return;
        };
        match binding.save(name, &scope::value_text(value), &request.name) {
            // The next pass must start from the new value: the one this pass used is dead.
            Ok(()) => {
                let origin = binding.origin();
                self.set(name, value.clone(), origin);
            }
            Err(message) => {
                // Reports put their own `error:` in front.
                let said = message.trim_start_matches("error: ").to_string();
                result.failure = Some(Failure::NotSaved(said));
            }
        }
    }

    /// After `invalid_grant` on a request that sent a persistent value, switches each such
    /// variable it reads to the other candidate (see [`crate::state::StateFile::fall_back`]):
    /// the refusal rotated nothing. True when something switched: the request is sent once
    /// more.
    fn fall_back(&mut self, step: &Step, scope: &mut Scope) -> bool {
        let Some(binding) = &mut self.binding else {
            return false;
        };
        let persistent = &self.plan.vars.persistent;
        let switched: Vec<(String, String)> = step
            .uses
            .names
            .iter()
            .filter(|n| persistent.contains(*n))
            .filter_map(|name| binding.fall_back(name).map(|value| (name.clone(), value)))
            .collect();
        let origin = binding.origin();
        for (name, value) in &switched {
            scope.set(name.as_str(), Value::String(value.clone()), origin.clone());
            self.set(name, Value::String(value.clone()), origin.clone());
        }
        !switched.is_empty()
    }

    /// Why a request cannot be sent: a variable it uses was to be captured by an earlier request
    /// that failed to capture it. The preflight proved every variable is defined or captured,
    /// so a missing one can only be a capture that did not happen.
    fn missing_capture(&self, step: &Step, scope: &Scope) -> Option<String> {
        let missing = step.uses.names.iter().find(|name| !scope.contains(name))?;
        let captor = self
            .plan
            .vars
            .collection
            .requests
            .iter()
            .find(|r| r.captures.iter().any(|c| &c.name == missing));
        Some(match captor {
            Some(captor) => format!("needs `{missing}`, which `{}` did not capture", captor.name),
            None => format!("needs `{missing}`, which is not defined"),
        })
    }

    /// The secret OS variables `env(...)` read since last time.
    fn learn_os_secrets(&mut self) {
        let Ok(read) = self.plan.vars.os_secrets.lock() else {
            return;
        };
        for value in &read[self.os_secrets_learnt.min(read.len())..] {
            self.redactor.add(value);
        }
        self.os_secrets_learnt = read.len();
    }

    /// What a lost answer to a request that carries a rotating token means, and what to do.
    fn lost_answer(&self, step: &Step) -> String {
        let persistent = &self.plan.vars.persistent;
        let names: Vec<&str> = step
            .uses
            .names
            .iter()
            .filter(|n| persistent.contains(*n))
            .map(String::as_str)
            .collect();
        let names = crate::diag::backticked(&names);
        let held = match &self.binding {
            Some(binding) => format!(
                "The state file `{}` still holds the value of {names} that was sent",
                binding.path().display()
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

/// Sends the request, and again while the retry policy allows (see [`retry`]).
async fn exchange_with_retries(
    client: &Client,
    policy: &RetryPolicy,
    carries_rotating_token: bool,
    outgoing: Arc<Outgoing>,
    retries: &mut u32,
    watchdog: &mut Watchdog,
    mut jar: Option<&mut Jar>,
) -> Result<Exchange, TransportError> {
    loop {
        let attempt = retry::Attempted {
            method: &outgoing.method,
            carries_rotating_token,
            retries_done: *retries,
        };
        let sent = client.exchange(Arc::clone(&outgoing), watchdog, jar.as_deref_mut());
        let wait = match sent.await {
            Ok(exchange) => {
                let retry_after = exchange.header("retry-after");
                match policy.after_status(attempt, exchange.status, retry_after.as_deref()) {
                    Some(wait) => wait,
                    None => return Ok(exchange),
                }
            }
            Err(e) => match policy.after_error(attempt, &e) {
                Some(wait) => wait,
                None => return Err(e),
            },
        };
        *retries += 1;
        tokio::time::sleep(wait).await;
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
