//! What happened in a run: the types reporters read.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use crate::assert::Outcome;
use crate::diag::{Diagnostic, Spot};
use crate::http::Exchange;

/// One request of the run and everything checked on its answer.
#[derive(Debug)]
pub struct RequestResult {
    /// Shared with every pass of the request, like `file` and `method`.
    pub name: Arc<str>,
    pub file: Arc<Path>,
    pub method: Arc<str>,
    /// The URL as rendered (redact before printing).
    pub url: Arc<str>,
    /// Present when an answer came back.
    pub exchange: Option<Exchange>,
    pub checks: Vec<CheckResult>,
    /// Passed checks not in `checks`: counted only, when no report shows passed checks (see
    /// `Settings::check_texts`).
    pub passed_untold: usize,
    /// The names captured from the answer.
    pub captured: Vec<Arc<str>>,
    /// Why the request did not pass on its own account, whatever its checks say.
    pub failure: Option<Failure>,
    /// How many times the request was sent again after a retryable failure.
    pub retries: u32,
    /// With `poll:`, the tries before the one this result is of, whose assertions failed.
    pub tries: Vec<PollTry>,
    /// Which pass of the run this was (`production · iteration 2 · row 3`), when there are
    /// several. Shared by the results of the pass.
    pub pass: Option<Arc<str>>,
    pub duration: Duration,
}

/// One try of a polled request that did not pass, and was followed by another.
#[derive(Debug)]
pub struct PollTry {
    /// The answer (for `-v`).
    pub exchange: Exchange,
    /// Its failed checks.
    pub failed: Vec<CheckResult>,
}

impl RequestResult {
    pub fn passed(&self) -> bool {
        self.failure.is_none() && self.checks.iter().all(|c| c.outcome.passed)
    }

    /// What went wrong with the request itself (it could not be built, no answer came, a new
    /// value was not saved), in words.
    pub fn error(&self) -> Option<String> {
        self.failure
            .as_ref()
            .filter(|f| f.is_error())
            .map(Failure::message)
    }

    /// What it means that the answer rejected the credentials, and what to do.
    pub fn rejected(&self) -> Option<&str> {
        match &self.failure {
            Some(Failure::Rejected(why)) => Some(why),
            _ => None,
        }
    }

    /// Every check made, kept or only counted.
    pub fn check_count(&self) -> usize {
        self.checks.len() + self.passed_untold
    }

    pub fn failed_checks(&self) -> impl Iterator<Item = &CheckResult> {
        self.checks.iter().filter(|c| !c.outcome.passed)
    }
}

/// Why a request failed apart from its checks. Each reporter renders it; an invalid request
/// keeps its diagnostic, so reports can point at the line of the template that broke.
#[derive(Debug)]
pub enum Failure {
    /// The request could not be built from its values, a capture among them (exit code 2).
    Invalid(Box<Diagnostic>),
    /// No answer came: connect, TLS, timeout, a lost answer (exit code 3). What happened and
    /// what to do.
    Transport(String),
    /// The answer rejected the credentials (exit code 4): what it means and what to do.
    Rejected(String),
    /// A new value of a persistent variable arrived and could not be saved (exit code 5).
    NotSaved(String),
}

impl Failure {
    /// The failure in words, as every report prints it (before redaction).
    pub fn message(&self) -> String {
        match self {
            Failure::Invalid(d) => format!("invalid request: {}", d.render(false)),
            Failure::Transport(why) => format!("transport failure: {why}"),
            Failure::Rejected(why) | Failure::NotSaved(why) => why.clone(),
        }
    }

    /// Where in the user's files the failure is, when it is in one.
    pub fn spot(&self) -> Option<&Spot> {
        match self {
            Failure::Invalid(d) => d.spot.as_ref(),
            _ => None,
        }
    }

    /// A stable name, for machine-readable reports.
    pub fn kind(&self) -> &'static str {
        match self {
            Failure::Invalid(_) => "invalid",
            Failure::Transport(_) => "transport",
            Failure::Rejected(_) => "rejected",
            Failure::NotSaved(_) => "not_saved",
        }
    }

    /// The request went wrong itself (JUnit's `<error>`), rather than the answer failing a
    /// check of the user's (`<failure>`): a rejection is an answer.
    pub fn is_error(&self) -> bool {
        !matches!(self, Failure::Rejected(_))
    }
}

/// One assertion or capture and its outcome.
#[derive(Debug)]
pub struct CheckResult {
    /// What was checked: `status`, `header content-type`, `$.token_type`, `body`, `duration`,
    /// `capture refresh_token`.
    pub subject: std::sync::Arc<str>,
    pub outcome: Outcome,
    /// Where the check is written.
    pub spot: Spot,
}

/// A selected request that was not sent.
#[derive(Debug, Clone)]
pub struct NotRun {
    pub name: String,
    /// The pass it belonged to, when there are several.
    pub pass: Option<Arc<str>>,
    /// Why, e.g. "needs `access_token`, which `Refresh access token` did not capture".
    pub reason: String,
}

#[derive(Debug, Default, Clone)]
pub struct Summary {
    pub requests: usize,
    pub requests_failed: usize,
    /// Selected requests not sent, in run order, and why: the run stopped early (`--bail`, a
    /// transport failure) or an earlier request did not capture what they need.
    pub not_run: Vec<NotRun>,
    pub checks_passed: usize,
    pub checks_failed: usize,
    pub transport_failed: bool,
    pub credentials_rejected: bool,
    /// A request could not be built from its captured values (exit code 2).
    pub invalid: bool,
    /// A persistent value was received but not saved (exit code 5).
    pub state_not_saved: bool,
    pub duration: Duration,
}

impl Summary {
    pub fn not_run(
        &mut self,
        request: &crate::model::Request,
        reason: String,
        pass: Option<Arc<str>>,
    ) {
        self.not_run.push(NotRun {
            name: request.name.clone(),
            pass,
            reason,
        });
    }

    /// Adds the counts of another part of the run (another environment, say).
    pub fn merge(&mut self, other: Summary) {
        self.requests += other.requests;
        self.requests_failed += other.requests_failed;
        self.not_run.extend(other.not_run);
        self.checks_passed += other.checks_passed;
        self.checks_failed += other.checks_failed;
        self.transport_failed |= other.transport_failed;
        self.credentials_rejected |= other.credentials_rejected;
        self.invalid |= other.invalid;
        self.state_not_saved |= other.state_not_saved;
    }

    pub fn add(&mut self, result: &RequestResult) {
        self.requests += 1;
        if !result.passed() {
            self.requests_failed += 1;
        }
        match &result.failure {
            Some(Failure::Rejected(_)) => self.credentials_rejected = true,
            Some(Failure::Invalid(_)) => self.invalid = true,
            Some(Failure::Transport(_)) => self.transport_failed = true,
            Some(Failure::NotSaved(_)) => self.state_not_saved = true,
            None => {}
        }
        let failed = result.failed_checks().count();
        self.checks_failed += failed;
        self.checks_passed += result.check_count() - failed;
    }

    /// Every selected request of every pass: the ones sent and the ones not run.
    pub fn selected(&self) -> usize {
        self.requests + self.not_run.len()
    }

    /// The process exit status for this run (see `crate::error::exit`).
    pub fn exit_code(&self) -> i32 {
        use crate::error::exit;
        if self.state_not_saved {
            exit::STATE_NOT_SAVED
        } else if self.invalid {
            exit::INVALID_INPUT
        } else if self.transport_failed {
            exit::TRANSPORT
        } else if self.credentials_rejected {
            exit::CREDENTIALS_REJECTED
        } else if self.requests_failed > 0 {
            exit::ASSERTION_FAILED
        } else {
            exit::OK
        }
    }
}
