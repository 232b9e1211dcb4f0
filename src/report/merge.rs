//! `courier report merge`: the JSON reports of several runs (the shards of a CI matrix, or one
//! run per environment) as one run: one summary, one JUnit file, one JSON report, one HTML page.
//!
//! Each report is read back into the results the reporters take, so a merged file is written by
//! the same code, in the same shape, as the file of a single run. What a JSON report does not
//! carry is not in the merged files: the wire (headers and bodies) of the HTML page. The exit
//! status is the worst of the parts', in the order courier ranks failures (see
//! [`worst_exit_code`]); a part that is not a courier JSON report, or has another
//! `schema_version`, is refused before anything is written.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use serde::Deserialize;

use super::html::HtmlReport;
use super::json::JsonReport;
use super::json::{JsonCheck, JsonLocation, JsonRequest, JsonSummary, SCHEMA_VERSION};
use super::junit::JunitReport;
use super::{RunInfo, Sink};
use crate::assert::Outcome;
use crate::diag::{Diagnostic, SourceFile, Spot};
use crate::error::{Error, Result, exit};
use crate::http::{Exchange, Outgoing};
use crate::runner::{CheckResult, Failure, NotRun, PollTry, RequestResult, Summary};
use crate::secrets::Redactor;

/// A JSON report as read back.
#[derive(Debug, Deserialize)]
struct ReadRun {
    collection: String,
    environment: Option<String>,
    started_at: String,
    duration_ms: u64,
    summary: JsonSummary,
    requests: Vec<JsonRequest>,
    not_run: Vec<ReadNotRun>,
}

#[derive(Debug, Deserialize)]
struct ReadNotRun {
    name: String,
    pass: Option<String>,
    reason: String,
}

/// Where the merged run goes.
#[derive(Debug, Default)]
pub struct MergeOutputs {
    pub junit: Option<PathBuf>,
    pub json: Option<PathBuf>,
    pub html: Option<PathBuf>,
}

/// What a merge made: the merged counts, and the exit status it ends with.
pub struct Merged {
    pub parts: usize,
    pub summary: Summary,
    pub exit_code: i32,
}

/// Reads every report of `paths`, writes the merged reports `outputs` asks for.
pub fn merge(paths: &[PathBuf], outputs: &MergeOutputs) -> Result<Merged> {
    if paths.is_empty() {
        return Err(Diagnostic::new("no report to merge")
            .help("name the JSON reports of the runs: `courier report merge shard-*.json --report-junit junit.xml`")
            .into());
    }
    let runs = paths
        .iter()
        .map(|path| read(path))
        .collect::<Result<Vec<_>>>()?;
    let info = run_info(&runs);
    let several_environments = runs
        .iter()
        .any(|(_, run)| run.environment != runs[0].1.environment);
    let mut spots = Spots::new(&runs);
    let mut summary = Summary::default();
    let mut reporters = reporters(outputs, &info, &runs);
    let redactor = Redactor::default();
    for (_, run) in &runs {
        // Runs of different environments that are one pass each: the environment tells their
        // results apart, as a pass label would.
        let label = (several_environments)
            .then(|| run.environment.clone())
            .flatten();
        for request in &run.requests {
            let result = result_of(request, label.as_deref(), &mut spots);
            summary.add(&result);
            for reporter in &mut reporters {
                reporter.request(&result, &redactor);
            }
        }
        summary.not_run.extend(run.not_run.iter().map(|n| NotRun {
            name: n.name.clone(),
            pass: n.pass.as_deref().or(label.as_deref()).map(Arc::from),
            reason: n.reason.clone(),
        }));
    }
    summary.duration = span(&runs);
    // A part may have failed beyond its results (a report it could not write, an environment
    // refused): its exit code says so, and the merged summary carries it.
    for (_, run) in &runs {
        match run.summary.exit_code {
            exit::INVALID_INPUT => summary.invalid = true,
            exit::TRANSPORT => summary.transport_failed = true,
            exit::CREDENTIALS_REJECTED => summary.credentials_rejected = true,
            exit::STATE_NOT_SAVED => summary.state_not_saved = true,
            _ => {}
        }
    }
    for reporter in &mut reporters {
        reporter.finish(&summary, &redactor);
    }
    if let Some(e) = reporters.iter().find_map(|r| r.error()) {
        return Err(copy_error(e));
    }
    let exit_code = runs
        .iter()
        .map(|(_, run)| run.summary.exit_code)
        .fold(exit::OK, worst_exit_code);
    Ok(Merged {
        parts: runs.len(),
        summary,
        exit_code,
    })
}

/// The worse of two exit statuses, as courier ranks failures for a single run: a value not
/// saved (5) over invalid input (2) over a transport failure (3) over rejected credentials (4)
/// over a failed check (1) over success.
pub fn worst_exit_code(a: i32, b: i32) -> i32 {
    let rank = |code: i32| match code {
        exit::OK => 0,
        exit::ASSERTION_FAILED => 1,
        exit::CREDENTIALS_REJECTED => 2,
        exit::TRANSPORT => 3,
        exit::INVALID_INPUT => 4,
        exit::STATE_NOT_SAVED => 5,
        // A status courier never writes ranks above all, so it is not hidden.
        _ => 6,
    };
    if rank(b) > rank(a) { b } else { a }
}

/// One report, checked to be a courier JSON report of this schema version.
fn read(path: &Path) -> Result<(PathBuf, ReadRun)> {
    let text = std::fs::read_to_string(path).map_err(|source| Error::Read {
        path: path.to_path_buf(),
        source,
        what: "JSON report",
    })?;
    let file = SourceFile::new(path, text);
    let value: serde_json::Value = serde_json::from_str(&file.text).map_err(|e| {
        let title = format!("`{}` is not JSON", path.display());
        crate::diag::json_error(&file, &e, &title)
            .help("name the files `courier run --report-json FILE` wrote")
    })?;
    let version = value
        .get("schema_version")
        .and_then(serde_json::Value::as_u64);
    let Some(version) = version else {
        return Err(
            Diagnostic::new(format!("`{}` is not a courier JSON report", path.display()))
                .note("it has no `schema_version`")
                .help("name the files `courier run --report-json FILE` wrote")
                .into(),
        );
    };
    if version != u64::from(SCHEMA_VERSION) {
        return Err(Diagnostic::new(format!(
            "`{}` is a report of schema version {version}; this courier merges version {SCHEMA_VERSION}",
            path.display()
        ))
        .note("reports of different versions cannot be merged: their fields mean different things")
        .help("run every part with the same courier version, or merge with the courier that wrote them")
        .into());
    }
    let run: ReadRun = serde_json::from_value(value).map_err(|e| {
        Diagnostic::new(format!(
            "`{}` is not a courier JSON report: {e}",
            path.display()
        ))
        .help("name the files `courier run --report-json FILE` wrote, unedited")
    })?;
    Ok((path.to_path_buf(), run))
}

/// The merged run's name, environment and start: the collections' names joined when they
/// differ, the environment when all parts share it, the earliest start.
fn run_info(runs: &[(PathBuf, ReadRun)]) -> RunInfo {
    let mut names: Vec<&str> = runs.iter().map(|(_, r)| r.collection.as_str()).collect();
    names.dedup();
    let environment = runs[0].1.environment.clone();
    let shared = runs.iter().all(|(_, r)| r.environment == environment);
    RunInfo {
        collection: names.join(" + "),
        environment: environment.filter(|_| shared).map(PathBuf::from),
        started_at: runs
            .iter()
            .filter_map(|(_, r)| started(r))
            .min()
            .unwrap_or_else(SystemTime::now),
    }
}

fn started(run: &ReadRun) -> Option<SystemTime> {
    humantime::parse_rfc3339(&run.started_at).ok()
}

/// From the first part's start to the last part's end: the wall time of the whole matrix.
fn span(runs: &[(PathBuf, ReadRun)]) -> Duration {
    let ends = runs.iter().filter_map(|(_, r)| {
        let start = started(r)?;
        Some((start, start + Duration::from_millis(r.duration_ms)))
    });
    let (first, last) = ends.fold((None, None), |(first, last), (start, end)| {
        (
            Some(first.map_or(start, |f: SystemTime| f.min(start))),
            Some(last.map_or(end, |l: SystemTime| l.max(end))),
        )
    });
    match (first, last) {
        (Some(first), Some(last)) => last.duration_since(first).unwrap_or_default(),
        _ => runs
            .iter()
            .map(|(_, r)| Duration::from_millis(r.duration_ms))
            .sum(),
    }
}

fn reporters(
    outputs: &MergeOutputs,
    info: &RunInfo,
    runs: &[(PathBuf, ReadRun)],
) -> Vec<Box<dyn Sink>> {
    let passes: usize = runs.len();
    let mut sinks: Vec<Box<dyn Sink>> = Vec::new();
    if let Some(path) = &outputs.junit {
        let mut report = JunitReport::new(path.clone());
        report.set_run(info.clone());
        sinks.push(Box::new(report));
    }
    if let Some(path) = &outputs.json {
        let mut report = JsonReport::new(path.clone());
        report.set_run(info.clone());
        sinks.push(Box::new(report));
    }
    if let Some(path) = &outputs.html {
        let mut report = HtmlReport::new(path.clone());
        report.set_run(info.clone(), passes);
        sinks.push(Box::new(report));
    }
    sinks
}

/// The result a report's request was written from, as far as the report tells it.
fn result_of(request: &JsonRequest, label: Option<&str>, spots: &mut Spots) -> RequestResult {
    let url = request
        .url
        .parse()
        .unwrap_or_else(|_| "http://invalid/".parse().expect("a valid URL"));
    let outgoing = Arc::new(Outgoing {
        method: request.method.clone(),
        url,
        headers: Vec::new(),
        body: None,
        timeout: Duration::ZERO,
        max_redirects: 0,
        digest: None,
    });
    let exchange = |status: u16, duration_ms: u64| Exchange {
        request: Arc::clone(&outgoing),
        status,
        reason: reqwest::StatusCode::from_u16(status)
            .ok()
            .and_then(|s| s.canonical_reason())
            .unwrap_or(""),
        version: "HTTP/1.1",
        headers: Default::default(),
        body: Vec::new(),
        duration: Duration::from_millis(duration_ms),
        redirects: Vec::new(),
    };
    let failure = request.failure.as_ref().map(|f| {
        let error = request.error.clone().unwrap_or_default();
        match f.kind.as_str() {
            "invalid" => Failure::Invalid(Box::new(Diagnostic::new(
                error
                    .strip_prefix("invalid request: ")
                    .unwrap_or(&error)
                    .trim_start_matches("error: "),
            ))),
            "transport" => Failure::Transport(
                error
                    .strip_prefix("transport failure: ")
                    .unwrap_or(&error)
                    .to_owned(),
            ),
            "rejected" => Failure::Rejected(request.rejected.clone().unwrap_or(error)),
            _ => Failure::NotSaved(error),
        }
    });
    RequestResult {
        name: request.name.as_str().into(),
        file: Path::new(&request.file).into(),
        method: request.method.as_str().into(),
        url: request.url.as_str().into(),
        exchange: request.status.map(|s| exchange(s, request.duration_ms)),
        checks: request.checks.iter().map(|c| check_of(c, spots)).collect(),
        passed_untold: 0,
        captured: request
            .captured
            .iter()
            .map(|n| Arc::from(n.as_str()))
            .collect(),
        failure,
        retries: request.retries,
        tries: request
            .tries
            .iter()
            .map(|t| PollTry {
                exchange: exchange(t.status, t.duration_ms),
                failed: t.failed.iter().map(|c| check_of(c, spots)).collect(),
            })
            .collect(),
        pass: request.pass.as_deref().or(label).map(Arc::from),
        duration: Duration::from_millis(request.duration_ms),
    }
}

fn check_of(check: &JsonCheck, spots: &mut Spots) -> CheckResult {
    CheckResult {
        subject: check.subject.as_str().into(),
        outcome: Outcome {
            passed: check.passed,
            predicate: check.predicate.clone(),
            expected: check.expected.clone(),
            actual: check.actual.clone(),
            diff: check.diff.clone(),
        },
        spot: spots.at(&check.location),
    }
}

/// Places in the files the reports name. A report keeps a place as file, line and column, not
/// the file's text: each file stands in as blank text wide and long enough for every place in it,
/// so that a place reads back as the same line and column.
struct Spots {
    files: HashMap<String, (Arc<SourceFile>, usize)>,
}

impl Spots {
    fn new(runs: &[(PathBuf, ReadRun)]) -> Spots {
        let mut extent: HashMap<String, (usize, usize)> = HashMap::new();
        let locations = runs.iter().flat_map(|(_, run)| {
            run.requests.iter().flat_map(|r| {
                r.checks
                    .iter()
                    .chain(r.tries.iter().flat_map(|t| t.failed.iter()))
                    .map(|c| &c.location)
            })
        });
        for location in locations {
            let entry = extent.entry(location.file.clone()).or_default();
            entry.0 = entry.0.max(location.line);
            entry.1 = entry.1.max(location.column);
        }
        let files = extent
            .into_iter()
            .map(|(name, (lines, columns))| {
                let width = columns.max(1);
                let text = format!("{}\n", " ".repeat(width)).repeat(lines.max(1));
                (name.clone(), (SourceFile::new(name, text), width))
            })
            .collect();
        Spots { files }
    }

    fn at(&mut self, location: &JsonLocation) -> Spot {
        let (file, width) = self
            .files
            .get(&location.file)
            .expect("every location was measured");
        let offset = (location.line.max(1) - 1) * (width + 1) + location.column.max(1) - 1;
        Spot::new(file, offset..offset)
    }
}

/// A reporter's error, copied out of it: reporters keep theirs.
fn copy_error(e: &Error) -> Error {
    match e {
        Error::Write { path, what, source } => Error::Write {
            path: path.clone(),
            what,
            source: std::io::Error::new(source.kind(), source.to_string()),
        },
        other => Diagnostic::new(other.render(false)).into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_worst_exit_code_follows_courier_s_ranking() {
        assert_eq!(worst_exit_code(0, 1), 1);
        assert_eq!(
            worst_exit_code(4, 3),
            3,
            "transport over rejected credentials"
        );
        assert_eq!(worst_exit_code(2, 3), 2, "invalid input over transport");
        assert_eq!(worst_exit_code(5, 2), 5, "a value not saved over all");
        assert_eq!(worst_exit_code(1, 0), 1);
        assert_eq!(worst_exit_code(1, 101), 101);
    }
}
