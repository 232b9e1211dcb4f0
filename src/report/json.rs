//! The JSON report: the whole run, in a schema programs can rely on.
//!
//! The schema is the set of types below, and their doc comments are its documentation. It is
//! versioned by `schema_version`: adding a field keeps the version, while removing a field or
//! changing what one means raises it. Fields are always present; a value that does not apply is
//! `null` or an empty list, never a missing key. Durations are whole milliseconds, paths are as
//! courier printed them (relative to where it was started when possible), and every text has been
//! through the run's redaction: a secret appears as `***`. Captured values are never written,
//! only the names they were captured into.
//!
//! The report is serialized, redacted and written (atomically) once, at the end of the run,
//! whether the run passed or not.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use super::{RunInfo, Sink, millis, write_report};
use crate::diag::Spot;
use crate::error::Error;
use crate::runner::{CheckResult, Reporter, RequestResult, RunStart, Summary};
use crate::secrets::Redactor;

/// The version of the schema this module writes.
pub const SCHEMA_VERSION: u32 = 1;

pub struct JsonReport {
    path: PathBuf,
    run: RunInfo,
    requests: Vec<JsonRequest>,
    error: Option<Error>,
}

impl JsonReport {
    /// For results read back from JSON reports: the run they were of.
    pub(super) fn set_run(&mut self, run: RunInfo) {
        self.run = run;
    }

    pub fn new(path: PathBuf) -> Self {
        JsonReport {
            path,
            run: RunInfo::default(),
            requests: Vec::new(),
            error: None,
        }
    }

    fn document<'a>(&'a self, summary: &'a Summary) -> JsonRun<'a> {
        JsonRun {
            schema_version: SCHEMA_VERSION,
            courier_version: env!("CARGO_PKG_VERSION"),
            collection: &self.run.collection,
            environment: self
                .run
                .environment
                .as_ref()
                .map(|p| p.display().to_string()),
            started_at: humantime::format_rfc3339_millis(self.run.started_at).to_string(),
            duration_ms: millis(summary.duration),
            summary: JsonSummary {
                requests: summary.requests,
                passed: summary.requests - summary.requests_failed,
                failed: summary.requests_failed,
                skipped: summary.not_run.len(),
                checks_passed: summary.checks_passed,
                checks_failed: summary.checks_failed,
                exit_code: summary.exit_code(),
            },
            requests: &self.requests,
            not_run: summary
                .not_run
                .iter()
                .map(|n| JsonNotRun {
                    name: &n.name,
                    pass: n.pass.as_deref(),
                    reason: &n.reason,
                })
                .collect(),
        }
    }
}

/// The report: one object for the whole run.
///
/// ```json
/// {
///   "schema_version": 1,
///   "courier_version": "0.1.0",
///   "collection": "Zoom OAuth",
///   "environment": "environments/emulator.yaml",
///   "started_at": "2025-01-31T09:30:00.123Z",
///   "duration_ms": 412,
///   "summary": {
///     "requests": 1, "passed": 0, "failed": 1, "skipped": 1,
///     "checks_passed": 6, "checks_failed": 1, "exit_code": 1
///   },
///   "requests": [
///     {
///       "name": "Refresh access token",
///       "pass": null,
///       "file": "collections/zoom-oauth/refresh-access-token.yaml",
///       "method": "POST",
///       "url": "http://127.0.0.1:8080/oauth/token",
///       "status": 200,
///       "duration_ms": 240,
///       "passed": false,
///       "error": null,
///       "rejected": null,
///       "failure": null,
///       "retries": 0,
///       "tries": [],
///       "checks": [
///         {
///           "subject": "$.token_type", "predicate": "equals", "passed": false,
///           "expected": "\"bearer\"", "actual": "\"Bearer\"", "diff": null,
///           "location": {
///             "file": "collections/zoom-oauth/refresh-access-token.yaml",
///             "line": 22, "column": 5
///           }
///         }
///       ],
///       "captured": ["access_token", "refresh_token"]
///     }
///   ],
///   "not_run": [
///     {
///       "name": "Revoke access token", "pass": null,
///       "reason": "--bail stopped the run when `Refresh access token` failed"
///     }
///   ]
/// }
/// ```
#[derive(Debug, Serialize)]
pub struct JsonRun<'a> {
    /// The version of this schema: `1`.
    pub schema_version: u32,
    /// The version of courier that wrote the report, e.g. `"0.1.0"`.
    pub courier_version: &'static str,
    /// The `name:` of the collection.
    pub collection: &'a str,
    /// The path of the environment file, or `null` when the run used none.
    pub environment: Option<String>,
    /// When the run started, RFC 3339 in UTC with milliseconds: `"2025-01-31T09:30:00.123Z"`.
    pub started_at: String,
    /// How long the whole run took, in milliseconds.
    pub duration_ms: u64,
    /// The counts of the run.
    pub summary: JsonSummary,
    /// The requests that were sent, in the order they ran. Selected requests that were not
    /// sent are in `not_run`.
    pub requests: &'a [JsonRequest],
    /// The selected requests that were not sent, in run order, each with why.
    pub not_run: Vec<JsonNotRun<'a>>,
}

/// The counts of the run.
#[derive(Debug, Serialize, Deserialize)]
pub struct JsonSummary {
    /// Requests sent (or attempted): the length of `requests`.
    pub requests: usize,
    /// Requests whose every check passed, with no error and no rejection.
    pub passed: usize,
    /// Requests with a failed check, an error or rejected credentials.
    pub failed: usize,
    /// Selected requests not sent: the length of `not_run`.
    pub skipped: usize,
    /// Checks that passed, across every request.
    pub checks_passed: usize,
    /// Checks that failed, across every request.
    pub checks_failed: usize,
    /// The exit status courier ends with: 0 all passed, 1 a check failed, 2 invalid input,
    /// 3 transport failure, 4 credentials rejected.
    pub exit_code: i32,
}

/// A selected request that was not sent.
#[derive(Debug, Serialize)]
pub struct JsonNotRun<'a> {
    /// The `name:` of the request.
    pub name: &'a str,
    /// Which pass it belonged to; `null` when the run has a single pass.
    pub pass: Option<&'a str>,
    /// Why: the run stopped early (`--bail`, a transport failure, a value not saved), or an
    /// earlier request did not capture a variable it needs.
    pub reason: &'a str,
}

/// One request that was sent.
#[derive(Debug, Serialize, Deserialize)]
pub struct JsonRequest {
    /// The `name:` of the request.
    pub name: String,
    /// Which pass of the run it belongs to (`production · iteration 2 · row 3`); `null` when
    /// the run has a single pass.
    pub pass: Option<String>,
    /// The request file.
    pub file: String,
    /// The HTTP method, e.g. `"POST"`.
    pub method: String,
    /// The URL as sent (as written, when the request could not be built).
    pub url: String,
    /// The HTTP status of the answer, or `null` when no answer came.
    pub status: Option<u16>,
    /// How long the exchange took, in milliseconds.
    pub duration_ms: u64,
    /// True when every check passed, with no error and no rejection.
    pub passed: bool,
    /// Why the request could not complete (a transport failure, a request that could not be
    /// built), or `null`.
    pub error: Option<String>,
    /// What it means that the server rejected the credentials, and what to do, or `null`.
    pub rejected: Option<String>,
    /// What kind of failure `error` or `rejected` is, and where, or `null` when neither is set.
    pub failure: Option<JsonFailure>,
    /// How many times the request was sent again after a retryable failure.
    pub retries: u32,
    /// With `poll:`, the tries before the last whose checks failed, in order; the request's
    /// own `status`, `checks` and `duration_ms` are the last try's.
    pub tries: Vec<JsonTry>,
    /// Every check on the answer, in the order written, passed or not.
    pub checks: Vec<JsonCheck>,
    /// The names of the variables captured from the answer. Never their values.
    pub captured: Vec<String>,
}

/// One failed try of a polled request.
#[derive(Debug, Serialize, Deserialize)]
pub struct JsonTry {
    /// The HTTP status of its answer.
    pub status: u16,
    /// How long the exchange took, in milliseconds.
    pub duration_ms: u64,
    /// Its failed checks.
    pub failed: Vec<JsonCheck>,
}

/// Why a request failed apart from its checks.
#[derive(Debug, Serialize, Deserialize)]
pub struct JsonFailure {
    /// `"invalid"` (the request could not be built), `"transport"` (no answer),
    /// `"rejected"` (credentials refused) or `"not_saved"` (a new persistent value was lost
    /// to the state file, and rescued).
    pub kind: String,
    /// The template that broke, for an invalid request; `null` otherwise.
    pub location: Option<JsonLocation>,
}

/// One assertion or capture and its outcome.
#[derive(Debug, Serialize, Deserialize)]
pub struct JsonCheck {
    /// What was checked: `"status"`, `"header content-type"`, a JSONPath like
    /// `"$.token_type"`, `"body"`, `"duration"`, `"capture refresh_token"`.
    pub subject: String,
    /// The predicate as written, e.g. `"equals"`, `"gt"`, `"type"`, `"status"`.
    pub predicate: String,
    /// Whether the check held.
    pub passed: bool,
    /// What was wanted, as courier prints it: `"\"bearer\""`, `"> 0"`, `"type string"`.
    pub expected: String,
    /// What was found, as courier prints it: `"\"Bearer\""`, `"nothing matched"`.
    pub actual: String,
    /// A unified diff (`--- expected` / `+++ actual`) when two objects or arrays differed, or
    /// `null`.
    pub diff: Option<String>,
    /// Where the check is written.
    pub location: JsonLocation,
}

/// A place in a user's file.
#[derive(Debug, Serialize, Deserialize)]
pub struct JsonLocation {
    /// The file's path, as courier prints it.
    pub file: String,
    /// One-based.
    pub line: usize,
    /// One-based, in characters.
    pub column: usize,
}

impl From<&RequestResult> for JsonRequest {
    fn from(result: &RequestResult) -> Self {
        JsonRequest {
            name: result.name.to_string(),
            pass: result.pass.as_deref().map(str::to_owned),
            file: result.file.display().to_string(),
            method: result.method.to_string(),
            url: result.url.to_string(),
            status: result.exchange.as_ref().map(|e| e.status),
            duration_ms: millis(result.duration),
            passed: result.passed(),
            error: result.error(),
            rejected: result.rejected().map(str::to_owned),
            failure: result.failure.as_ref().map(|failure| JsonFailure {
                kind: failure.kind().to_owned(),
                location: failure.spot().map(JsonLocation::from),
            }),
            retries: result.retries,
            tries: result
                .tries
                .iter()
                .map(|tried| JsonTry {
                    status: tried.exchange.status,
                    duration_ms: millis(tried.exchange.duration),
                    failed: tried.failed.iter().map(JsonCheck::from).collect(),
                })
                .collect(),
            checks: result.checks.iter().map(JsonCheck::from).collect(),
            captured: result.captured.iter().map(|n| n.to_string()).collect(),
        }
    }
}

impl From<&CheckResult> for JsonCheck {
    fn from(check: &CheckResult) -> Self {
        let outcome = &check.outcome;
        JsonCheck {
            subject: check.subject.to_string(),
            predicate: outcome.predicate.clone(),
            passed: outcome.passed,
            expected: outcome.expected.clone(),
            actual: outcome.actual.clone(),
            diff: outcome.diff.clone(),
            location: JsonLocation::from(&check.spot),
        }
    }
}

impl From<&Spot> for JsonLocation {
    fn from(spot: &Spot) -> Self {
        let (line, column) = spot.line_col();
        JsonLocation {
            file: spot.path().display().to_string(),
            line,
            column,
        }
    }
}

impl Reporter for JsonReport {
    fn start(&mut self, run: &RunStart<'_>, _: &Redactor) {
        self.run = RunInfo::new(run);
    }

    /// Kept unredacted until `finish`, where the redactor knows every secret of the run. The
    /// redactor also knows the JSON-escaped form of each secret, so redacting the serialized text
    /// catches secrets inside strings as well as anywhere else.
    fn request(&mut self, result: &RequestResult, _: &Redactor) {
        self.requests.push(JsonRequest::from(result));
    }

    fn finish(&mut self, summary: &Summary, redactor: &Redactor) {
        let mut text = serde_json::to_string_pretty(&self.document(summary))
            .expect("the report holds only strings, numbers and lists");
        text.push('\n');
        if let Err(e) = write_report(&self.path, "the JSON report", &text, redactor) {
            self.error.get_or_insert(e);
        }
    }
}

impl Sink for JsonReport {
    fn error(&self) -> Option<&Error> {
        self.error.as_ref()
    }
}

#[cfg(test)]
mod tests {
    use serde_json::{Value, json};

    use super::*;
    use crate::report::fixtures::*;

    fn report(results: &[RequestResult], skipped: usize, redactor: &Redactor) -> (String, Value) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("report.json");
        let mut report = JsonReport::new(path.clone());
        play(&mut report, results, skipped, redactor);
        assert!(report.error().is_none(), "{:?}", report.error());
        let text = std::fs::read_to_string(path).unwrap();
        let value = serde_json::from_str(&text).expect("the report is JSON");
        (text, value)
    }

    #[test]
    fn the_report_has_the_documented_fields() {
        let mut refresh = answered(
            "Refresh access token",
            200,
            vec![status_ok(), token_type("\"Bearer\"")],
        );
        refresh.captured = vec!["access_token".into()];
        let results = [refresh, unanswered("Revoke", transport("refused"))];
        let (_, report) = report(&results, 1, &Redactor::default());

        assert_eq!(report["schema_version"], 1);
        assert_eq!(report["collection"], "Zoom OAuth");
        assert_eq!(report["environment"], Value::Null);
        let started = report["started_at"].as_str().unwrap();
        assert!(humantime::parse_rfc3339(started).is_ok(), "{started}");
        assert_eq!(report["duration_ms"], 1234);
        assert_eq!(
            report["summary"],
            json!({
                "requests": 2, "passed": 0, "failed": 2, "skipped": 1,
                "checks_passed": 1, "checks_failed": 1, "exit_code": 3
            })
        );
        let refresh = &report["requests"][0];
        assert_eq!(refresh["name"], "Refresh access token");
        assert_eq!(refresh["file"], FILE);
        assert_eq!(refresh["method"], "POST");
        assert_eq!(refresh["url"], "http://127.0.0.1:9/oauth/token");
        assert_eq!(refresh["status"], 200);
        assert_eq!(refresh["duration_ms"], 42);
        assert_eq!(refresh["passed"], false);
        assert_eq!(refresh["error"], Value::Null);
        assert_eq!(refresh["captured"], json!(["access_token"]));
        assert_eq!(
            refresh["checks"][1],
            json!({
                "subject": "$.token_type", "predicate": "equals", "passed": false,
                "expected": "\"bearer\"", "actual": "\"Bearer\"", "diff": null,
                "location": { "file": FILE, "line": 4, "column": 5 }
            })
        );
        let revoke = &report["requests"][1];
        assert_eq!(revoke["status"], Value::Null);
        assert_eq!(revoke["error"], "transport failure: refused");
        assert_eq!(revoke["checks"], json!([]));
    }

    #[test]
    fn secrets_are_masked_and_the_report_stays_json() {
        let secret = "tok\"en\\with/quotes";
        let mut result = answered("Refresh", 200, vec![token_type(secret)]);
        result.url = format!("http://127.0.0.1:9/?t={secret}").into();
        let (text, report) = report(&[result], 0, &redacting(secret));
        let escaped = serde_json::to_string(secret).unwrap();
        assert!(
            !text.contains(secret) && !text.contains(escaped.trim_matches('"')),
            "{text}"
        );
        assert_eq!(report["requests"][0]["checks"][0]["actual"], "***");
        assert_eq!(report["requests"][0]["url"], "http://127.0.0.1:9/?t=***");
    }
}
