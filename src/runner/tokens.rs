//! Access tokens of `oauth2` auths: where an [`Executor`] gets the one a request needs.
//!
//! In order: the token this executor already holds, while it is good for longer than the
//! auth's margin; the one the state file keeps from an earlier run, on the same terms; else
//! the auth's token request, sent like any request (no retry when it spends a refresh token, a
//! rotated one saved before anything else, `invalid_grant` falling back once to the other
//! candidate), whose answer is kept in the state file for the runs that follow.
//!
//! A resource that answers 401 to a token that was *not* fetched just now (it came from the
//! state file, or from earlier in the run) gets one new token, and the request is sent again
//! only when its method is idempotent. A second 401 is the answer: never a blind second
//! refresh.

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use serde_json::Value;

use super::execute::Executor;
use super::plan::{Plan, Resolved};
use super::{Failure, Origin, Reporter, RequestResult, Scope};
use crate::assert::Document;
use crate::http::Client;
use crate::model::{Auth, DEFAULT_MARGIN, Request, Tmpl};
use crate::state::CachedToken;

/// A token an executor holds for one token source.
#[derive(Clone)]
pub(super) struct Held {
    pub token: CachedToken,
    /// The key it is kept under in the state file.
    key: String,
    /// Fetched by this executor (not read back from the state file): a 401 to it is final.
    fetched: bool,
}

/// Methods a request may be sent again with, having had no effect the first time (RFC 9110
/// §9.2.2).
fn idempotent(method: &str) -> bool {
    matches!(
        method,
        "GET" | "HEAD" | "OPTIONS" | "TRACE" | "PUT" | "DELETE"
    )
}

/// What a token answer says, kept as the state file keeps it.
pub(super) fn read_answer(
    body: &[u8],
    received: SystemTime,
    token_url: &str,
    by: &str,
) -> Option<CachedToken> {
    let json = Document::parse(body)?;
    let text = |name: &str| {
        json.member(name)
            .and_then(Value::as_str)
            .map(str::to_string)
    };
    let access_token = text("access_token")?;
    let expires_at = json
        .member("expires_in")
        .and_then(|v| {
            v.as_f64()
                .or_else(|| v.as_str().and_then(|s| s.parse().ok()))
        })
        .filter(|secs| secs.is_finite() && *secs > 0.0)
        .map(|secs| received + Duration::from_secs_f64(secs.min(1e9)));
    Some(CachedToken {
        access_token,
        token_type: text("token_type"),
        expires_at,
        scope: text("scope"),
        api_url: text("api_url"),
        token_url: token_url.to_string(),
        by: Some(by.to_string()),
    })
}

/// Whose token `courier token` prints: an `oauth2` auth's, or the answer of a request that
/// asks for one itself (the bundled refresh request).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenTarget {
    /// The token source of this index.
    Source(usize),
    /// The plan's first selected request.
    Request,
}

impl TokenTarget {
    /// The one for `request`: its `oauth2` auth's source, else the request itself.
    pub fn of(request: &Request) -> TokenTarget {
        match &request.auth {
            Some(Auth::OAuth2(oauth2)) => TokenTarget::Source(oauth2.source),
            _ => TokenTarget::Request,
        }
    }
}

/// How much life a token must have left to be used: `given` (`--min-ttl`), else the auth's
/// `margin`.
fn threshold(vars: &Resolved<'_>, target: TokenTarget, given: Option<Duration>) -> Duration {
    given.unwrap_or(match target {
        TokenTarget::Source(index) => vars.collection.tokens[index].auth.margin,
        TokenTarget::Request => DEFAULT_MARGIN,
    })
}

/// The key the token of `target` is kept under: what identifies the credential, rendered with
/// the values of the moment.
fn token_key(vars: &Resolved<'_>, target: TokenTarget, scope: &Scope) -> String {
    let context = scope.context();
    let render = |t: Option<&Tmpl>| {
        t.and_then(|t| vars.engine.render(t, &context).ok())
            .unwrap_or_default()
    };
    match target {
        TokenTarget::Source(index) => {
            let auth = &vars.collection.tokens[index].auth;
            CachedToken::key(&[
                auth.grant.as_str(),
                &render(Some(&auth.token_url)),
                &render(Some(&auth.client_id)),
                &render(auth.account_id.as_ref()),
                &render(auth.scope.as_ref()),
            ])
        }
        TokenTarget::Request => {
            let request = vars.request(0);
            let user = match &request.auth {
                Some(Auth::Basic(basic)) => render(Some(&basic.username)),
                _ => String::new(),
            };
            CachedToken::key(&["request", &request.name, &render(Some(&request.url)), &user])
        }
    }
}

impl Plan<'_> {
    /// The token the state file keeps for `target` with at least `min_ttl` (or the auth's
    /// margin) of life left: what `courier token` prints without sending anything.
    pub fn kept_token(
        &self,
        target: TokenTarget,
        min_ttl: Option<Duration>,
    ) -> Option<CachedToken> {
        self.vars.kept_token(target, min_ttl)
    }
}

impl Resolved<'_> {
    fn kept_token(&self, target: TokenTarget, min_ttl: Option<Duration>) -> Option<CachedToken> {
        let key = token_key(self, target, &self.scope);
        let threshold = threshold(self, target, min_ttl);
        self.state
            .as_ref()?
            .token(&key)
            .filter(|t| t.fresh(threshold, SystemTime::now()))
            .cloned()
    }

    /// The token source whose request `request` is, if it is one.
    pub fn token_source(&self, request: &Request) -> Option<usize> {
        self.collection
            .tokens
            .iter()
            .position(|t| std::ptr::eq(&t.request, request))
    }

    /// What the `index`-th token source will do, for the commands that send nothing: where the
    /// token comes from, and whether the state file keeps one that makes sending needless.
    pub fn token_plan(&self, index: usize) -> String {
        let source = &self.collection.tokens[index];
        let auth = &source.auth;
        let url = self
            .engine
            .render(&auth.token_url, &self.scope.context())
            .unwrap_or_else(|_| auth.token_url.text.clone());
        let mut text = format!(
            "`{}`: grant {} from POST {url}",
            source.request.name,
            auth.grant.as_str()
        );
        if let Some(name) = source.refresh_variable() {
            text.push_str(&format!("; the rotated refresh token is saved to `{name}`"));
        }
        let margin = humantime::format_duration(auth.margin);
        let kept = self.kept_token(TokenTarget::Source(index), None);
        text.push_str(&match (kept, &self.state) {
            (Some(token), _) => format!(
                "; not sent now: the state file keeps a token until {} (scope {}), used until {margin} before",
                token
                    .expires_at
                    .map(|at| humantime::format_rfc3339_seconds(at).to_string())
                    .unwrap_or_default(),
                token.scope.as_deref().unwrap_or("not given")
            ),
            (None, Some(_)) => "; sent: the state file keeps no fresh token".to_string(),
            (None, None) => format!(
                "; sent when no kept token has more than {margin} left (the state file beside the environment keeps it)"
            ),
        });
        self.redactor.redact(&text).into_owned()
    }
}

impl Executor<'_> {
    /// Makes the access token of `request`'s `oauth2` auth, if it has one, the value of the
    /// variable its header reads. `Err` is the result of a token request that failed,
    /// reported as the request's own: it was not sent.
    pub(super) async fn ensure_token(
        &mut self,
        client: &Client,
        request: &Request,
        scope: &mut Scope,
        reporter: &mut dyn Reporter,
    ) -> Result<(), RequestResult> {
        let TokenTarget::Source(index) = TokenTarget::of(request) else {
            return Ok(());
        };
        let target = TokenTarget::Source(index);
        let threshold = threshold(&self.plan.vars, target, None);
        if let Some(held) = &self.tokens[index]
            // A token whose answer named no lifetime serves the run that got it (it is never
            // read back from the state file).
            && (held.token.expires_at.is_none() || held.token.fresh(threshold, SystemTime::now()))
        {
            let value = Value::String(held.token.access_token.clone());
            let variable = self.plan.vars.collection.tokens[index].variable.as_str();
            scope.set(variable, value, Origin::Token);
            return Ok(());
        }
        match self
            .token_for(client, target, threshold, false, scope, reporter)
            .await
        {
            Ok(_) => Ok(()),
            Err(failed) => {
                self.token_failed[index] = true;
                Err(self.as_failure_of(request, failed))
            }
        }
    }

    /// True when sending `request` spends a rotating token: it sends a persistent variable, or
    /// its `oauth2` auth refreshes one.
    pub(super) fn spends_rotating_token(&self, request: &Request) -> bool {
        let vars = &self.plan.vars;
        vars.carries_persistent(request)
            || matches!(TokenTarget::of(request), TokenTarget::Source(index)
                if vars.collection.tokens[index].refresh_variable().is_some())
    }

    /// Why `request` cannot have its `oauth2` token: the token request failed earlier in the
    /// run.
    pub(super) fn token_unavailable(&self, request: &Request) -> Option<String> {
        let TokenTarget::Source(index) = TokenTarget::of(request) else {
            return None;
        };
        self.token_failed[index].then(|| {
            let source = &self.plan.vars.collection.tokens[index];
            format!(
                "needs the OAuth2 access token, which `{}` did not get",
                source.request.name
            )
        })
    }

    /// For `courier token`: a token for `target` with at least `min_ttl` (else the auth's
    /// margin) of life left, from the state file or, unless it is fresh there and `force` is
    /// off, from the token endpoint. `Err` is the failed token request.
    pub async fn access_token(
        &mut self,
        client: &Client,
        target: TokenTarget,
        min_ttl: Option<Duration>,
        force: bool,
        reporter: &mut dyn Reporter,
    ) -> Result<CachedToken, RequestResult> {
        let mut scope = self.plan.vars.scope.clone();
        let threshold = threshold(&self.plan.vars, target, min_ttl);
        self.token_for(client, target, threshold, force, &mut scope, reporter)
            .await
    }

    /// The kept token of `target` when it has `threshold` of life left (and `force` is off),
    /// else a new one from its token request, kept for later runs.
    async fn token_for(
        &mut self,
        client: &Client,
        target: TokenTarget,
        threshold: Duration,
        force: bool,
        scope: &mut Scope,
        reporter: &mut dyn Reporter,
    ) -> Result<CachedToken, RequestResult> {
        let key = token_key(&self.plan.vars, target, scope);
        let kept = self
            .binding
            .as_ref()
            .and_then(|b| b.token(&key))
            .filter(|t| !force && t.fresh(threshold, SystemTime::now()))
            .cloned();
        if let Some(token) = kept {
            if self.redactor.add(&token.access_token) {
                reporter.secret_learned(&token.access_token);
            }
            self.hold(target, scope, token.clone(), key, false);
            return Ok(token);
        }
        self.fetch_token(client, target, key, scope, reporter).await
    }

    /// Sends the token request of `target` and holds (and keeps) what it answers.
    async fn fetch_token(
        &mut self,
        client: &Client,
        target: TokenTarget,
        key: String,
        scope: &mut Scope,
        reporter: &mut dyn Reporter,
    ) -> Result<CachedToken, RequestResult> {
        let step = match target {
            TokenTarget::Source(index) => self.plan.vars.selected.len() + index,
            TokenTarget::Request => 0,
        };
        let result = self
            .send_once_more_if_refused(client, step, None, scope, reporter)
            .await;
        let by = &self.plan.vars.request(step).name;
        // A token that lacks a required scope is still a token: the drift is told with the
        // request that uses it, which is still sent.
        let usable = result.failure.is_none()
            && result
                .failed_checks()
                .all(|c| Arc::ptr_eq(&c.subject, &super::evaluate::SCOPE));
        let token = result
            .exchange
            .as_ref()
            .filter(|_| usable)
            .and_then(|e| read_answer(&e.body, SystemTime::now(), &result.url, by));
        let Some(token) = token else {
            return Err(result);
        };
        if let Some(binding) = &mut self.binding {
            binding.save_token(&key, token.clone());
        }
        self.carried
            .extend(result.checks.into_iter().filter(|c| !c.outcome.passed));
        self.hold(target, scope, token.clone(), key, true);
        Ok(token)
    }

    /// The failed checks of a token request whose token was still used (a required scope
    /// missing), for the result of the request that used it; emptied by the call.
    pub fn take_carried_checks(&mut self) -> Vec<super::CheckResult> {
        std::mem::take(&mut self.carried)
    }

    fn hold(
        &mut self,
        target: TokenTarget,
        scope: &mut Scope,
        token: CachedToken,
        key: String,
        fetched: bool,
    ) {
        let TokenTarget::Source(index) = target else {
            return;
        };
        let variable = self.plan.vars.collection.tokens[index].variable.as_str();
        let value = Value::String(token.access_token.clone());
        scope.set(variable, value, Origin::Token);
        self.tokens[index] = Some(Held {
            token,
            key,
            fetched,
        });
    }

    /// A failed token request, told as the failure of the request that needed the token.
    fn as_failure_of(&self, request: &Request, mut result: RequestResult) -> RequestResult {
        let step = self
            .plan
            .vars
            .selected
            .iter()
            .position(|r| std::ptr::eq(*r, request))
            .map(|i| &self.plan.steps[i]);
        if let Some(step) = step {
            result.name = Arc::clone(&step.name);
            result.file = Arc::clone(&step.file);
        }
        // The variable the token goes into is courier's own, not the user's.
        let variables = &self.plan.vars.collection.tokens;
        result
            .captured
            .retain(|name| !variables.iter().any(|t| *t.variable == **name));
        let getting = "getting the OAuth2 access token";
        result.failure = match result.failure.take() {
            Some(Failure::Rejected(why)) => Some(Failure::Rejected(format!("{getting}: {why}"))),
            Some(Failure::Transport(why)) => Some(Failure::Transport(format!("{getting}: {why}"))),
            Some(other) => Some(other),
            None if result.passed() => Some(Failure::Rejected(format!(
                "{getting}: the token endpoint's answer has no `access_token`"
            ))),
            None => None,
        };
        result
    }

    /// After a 401 to a token not fetched just now: drops it (here and in the state file),
    /// and for an idempotent request gets a new one and sends the request once more.
    pub(super) async fn after_refused_token(
        &mut self,
        client: &Client,
        index: usize,
        result: &mut RequestResult,
        scope: &mut Scope,
        reporter: &mut dyn Reporter,
    ) {
        let request = self.plan.vars.request(index);
        let TokenTarget::Source(source) = TokenTarget::of(request) else {
            return;
        };
        let refused = result.exchange.as_ref().is_some_and(|e| e.status == 401);
        let Some(held) = self.tokens[source].as_ref().filter(|_| refused) else {
            return;
        };
        if held.fetched || self.replaced[source] {
            return;
        }
        let key = held.key.clone();
        self.replaced[source] = true;
        self.tokens[source] = None;
        if let Some(binding) = &mut self.binding {
            binding.forget_token(&key);
        }
        if !idempotent(&request.method) {
            return;
        }
        let target = TokenTarget::Source(source);
        if let Err(failed) = self.fetch_token(client, target, key, scope, reporter).await {
            self.token_failed[source] = true;
            *result = self.as_failure_of(request, failed);
            return;
        }
        let retries = result.retries + 1;
        *result = self.send(client, index, None, scope, reporter).await;
        result.retries += retries;
    }
}
