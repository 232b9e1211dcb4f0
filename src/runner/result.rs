//! What happened in a run: the types reporters read.

use std::path::PathBuf;
use std::time::Duration;

use crate::assert::Outcome;
use crate::diag::Spot;
use crate::http::Exchange;

/// One request of the run and everything checked on its answer.
#[derive(Debug)]
pub struct RequestResult {
    pub name: String,
    pub file: PathBuf,
    pub method: String,
    /// The URL as rendered (redact before printing).
    pub url: String,
    /// Present when an answer came back.
    pub exchange: Option<Exchange>,
    pub checks: Vec<CheckResult>,
    /// The names captured from the answer.
    pub captured: Vec<String>,
    /// Why the request could not complete (transport failure, a runtime template error).
    pub error: Option<String>,
    pub duration: Duration,
}

impl RequestResult {
    pub fn passed(&self) -> bool {
        self.error.is_none() && self.checks.iter().all(|c| c.outcome.passed)
    }

    pub fn failed_checks(&self) -> impl Iterator<Item = &CheckResult> {
        self.checks.iter().filter(|c| !c.outcome.passed)
    }
}

/// One assertion or capture and its outcome.
#[derive(Debug)]
pub struct CheckResult {
    /// What was checked: `status`, `header content-type`, `$.token_type`, `body`, `duration`,
    /// `capture refresh_token`.
    pub subject: String,
    pub outcome: Outcome,
    /// Where the check is written.
    pub spot: Spot,
}

#[derive(Debug, Default, Clone)]
pub struct Summary {
    pub requests: usize,
    pub requests_failed: usize,
    /// Requests not sent because the run stopped early (`--bail` or a transport failure).
    pub requests_skipped: usize,
    pub checks_passed: usize,
    pub checks_failed: usize,
    pub transport_failed: bool,
    pub duration: Duration,
}

impl Summary {
    pub fn add(&mut self, result: &RequestResult) {
        self.requests += 1;
        if !result.passed() {
            self.requests_failed += 1;
        }
        let failed = result.failed_checks().count();
        self.checks_failed += failed;
        self.checks_passed += result.checks.len() - failed;
    }

    /// The process exit status for this run (see `crate::error::exit`).
    pub fn exit_code(&self) -> i32 {
        use crate::error::exit;
        if self.transport_failed {
            exit::TRANSPORT
        } else if self.requests_failed > 0 {
            exit::ASSERTION_FAILED
        } else {
            exit::OK
        }
    }
}
