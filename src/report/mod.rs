//! Reports: pure functions of the run's results, written as the run goes.
//!
//! Every reporter builds its text first and passes it through the run's [`Redactor`] before
//! writing, so no secret reaches any output.
//! [`Console`] and the annotations of [`github::GithubReport`] are printed as each request finishes; the
//! files CI reads ([`junit::JunitReport`], [`json::JsonReport`], the GitHub step summary) are written once, when
//! the run finishes, pass or fail, with the redactor as it stands at the end (it knows every
//! secret captured on the way).
//!
//! [`Fanout`] hands the run to several reporters at once. [`Reporter`]'s methods cannot fail, so a
//! report that cannot be written (its folder does not exist) keeps the error, and the CLI asks
//! [`Fanout::errors`] after the run: the run itself went as it went, and its exit code says so,
//! but a CI job that asked for a report it did not get should hear about it.

pub mod console;
pub mod github;
pub mod html;
pub mod json;
pub mod junit;
pub mod merge;
pub mod preview;
pub mod progress;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

pub use console::Console;

use crate::error::Error;
use crate::runner::{CheckResult, Reporter, RequestResult, RunStart, Summary};
use crate::secrets::Redactor;

/// A reporter the CLI can combine in a [`Fanout`], and ask afterwards whether its output arrived.
pub trait Sink: Reporter {
    /// The first error met writing this report. Reporters that print to a stream return `None`:
    /// like the console, they drop output that cannot be written (a closed pipe), since the
    /// exit code still says how the run went.
    fn error(&self) -> Option<&Error> {
        None
    }
}

impl<W: Write> Sink for Console<W> {}

/// Several reporters as one: each hears every event, in the order they were added.
#[derive(Default)]
pub struct Fanout<'a> {
    reporters: Vec<Box<dyn Sink + 'a>>,
}

impl<'a> Fanout<'a> {
    pub fn new() -> Self {
        Fanout::default()
    }

    /// Adds a reporter, for chaining: `Fanout::new().with(console).with(junit)`.
    #[cfg(test)]
    pub fn with(mut self, reporter: impl Sink + 'a) -> Self {
        self.push(reporter);
        self
    }

    /// Adds a reporter, for the ones the command line asks for.
    pub fn push(&mut self, reporter: impl Sink + 'a) {
        self.reporters.push(Box::new(reporter));
    }

    /// The errors of the reports that could not be written, in the order the reporters were
    /// added; empty when every report arrived. Each renders as the CLI renders any error.
    pub fn errors(&self) -> Vec<&Error> {
        self.reporters.iter().filter_map(|r| r.error()).collect()
    }
}

impl Reporter for Fanout<'_> {
    fn start(&mut self, run: &RunStart<'_>, redactor: &Redactor) {
        for reporter in &mut self.reporters {
            reporter.start(run, redactor);
        }
    }

    fn request(&mut self, result: &RequestResult, redactor: &Redactor) {
        for reporter in &mut self.reporters {
            reporter.request(result, redactor);
        }
    }

    fn finish(&mut self, summary: &Summary, redactor: &Redactor) {
        for reporter in &mut self.reporters {
            reporter.finish(summary, redactor);
        }
    }

    fn secret_learned(&mut self, value: &str) {
        for reporter in &mut self.reporters {
            reporter.secret_learned(value);
        }
    }
}

/// `Basic abc` → `Basic ***`: the scheme is useful to see, the credentials never are.
pub(crate) fn mask_credentials(value: &str) -> String {
    match value.split_once(' ') {
        Some((scheme, _)) => format!("{scheme} {}", crate::secrets::MASK),
        None => crate::secrets::MASK.to_string(),
    }
}

/// What the file reports need of the run beyond its results, taken when it starts.
#[derive(Debug, Clone)]
pub(crate) struct RunInfo {
    pub collection: String,
    pub environment: Option<PathBuf>,
    /// The runner keeps only a monotonic clock, so the wall-clock start is read here.
    pub started_at: SystemTime,
}

impl RunInfo {
    pub fn new(run: &RunStart<'_>) -> RunInfo {
        RunInfo {
            collection: run.collection.name.clone(),
            environment: run.environment.map(|e| e.file.path.clone()),
            started_at: run.started_at,
        }
    }
}

impl Default for RunInfo {
    /// Stands in until `start` is called, so a reporter never has to hold an `Option`.
    fn default() -> Self {
        RunInfo {
            collection: String::new(),
            environment: None,
            started_at: SystemTime::now(),
        }
    }
}

/// Why a request did not pass, in one line: its error, the rejection of its credentials, or how
/// many of its checks failed. `None` when it passed.
pub(crate) fn reason(result: &RequestResult) -> Option<String> {
    if let Some(failure) = &result.failure {
        let message = failure.message();
        return Some(message.lines().next().unwrap_or_default().to_string());
    }
    let failed = result.failed_checks().count();
    (failed > 0).then(|| {
        let total = result.check_count();
        format!(
            "{failed} of {total} check{} failed",
            if total == 1 { "" } else { "s" }
        )
    })
}

/// A failed check in one line: `$.token_type: expected "bearer", got "Bearer"`.
pub(crate) fn claim(check: &CheckResult) -> String {
    format!(
        "{}: expected {}, got {}",
        check.subject, check.outcome.expected, check.outcome.actual
    )
}

/// Whole milliseconds, the unit every report uses.
pub(crate) fn millis(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

/// What a run prints and writes, resolved once from the command line and the terminal: the
/// reporters are made from it and from nothing else.
#[derive(Debug, Clone, Default)]
pub struct Output {
    /// Colour on standard output.
    pub color: bool,
    /// Standard output is a terminal: lines go out as they come, not buffered.
    pub stdout_is_terminal: bool,
    /// Standard error is a terminal: a progress bar may show there.
    pub stderr_is_terminal: bool,
    pub verbose: bool,
    pub quiet: bool,
    /// Running under GitHub Actions: annotations, masks and the step summary.
    pub github: Option<Github>,
    pub junit: Option<PathBuf>,
    pub json: Option<PathBuf>,
    pub html: Option<PathBuf>,
}

/// GitHub Actions, as the environment describes it.
#[derive(Debug, Clone, Default)]
pub struct Github {
    /// `GITHUB_STEP_SUMMARY`: the file the job summary is appended to.
    pub step_summary: Option<PathBuf>,
}

impl Output {
    /// Whether passing checks need their expected and actual texts: some output shows them.
    pub fn shows_passed_checks(&self) -> bool {
        !self.quiet || self.json.is_some() || self.html.is_some()
    }

    /// The reporters asked for, for a run of `total` requests: GitHub's under GitHub Actions,
    /// the console always, a progress bar on a terminal, and the report files.
    pub fn reporters(&self, total: usize) -> Fanout<'static> {
        let mut reporters = Fanout::new();
        if let Some(github) = &self.github {
            reporters.push(github::GithubReport::new(
                github.step_summary.clone(),
                std::io::stdout(),
            ));
        }
        let stdout = std::io::stdout();
        let console_out: Box<dyn Write> = if self.stdout_is_terminal {
            Box::new(stdout.lock())
        } else {
            // Not a terminal: nobody watches line by line, and a large run prints a lot.
            Box::new(std::io::BufWriter::with_capacity(64 * 1024, stdout.lock()))
        };
        let progress =
            progress::Progress::new(total as u64, self.stderr_is_terminal && !self.quiet);
        reporters.push(
            Console::new(console_out, self.color, self.verbose)
                .quiet(self.quiet)
                .with_progress(progress.clone()),
        );
        reporters.push(progress);
        if let Some(path) = &self.junit {
            reporters.push(junit::JunitReport::new(path.clone()));
        }
        if let Some(path) = &self.json {
            reporters.push(json::JsonReport::new(path.clone()));
        }
        if let Some(path) = &self.html {
            reporters.push(html::HtmlReport::new(path.clone()));
        }
        reporters
    }
}

/// Redacts a finished report and writes it to `path` through `path.tmp` and a rename, so a CI
/// job never reads half a file, nor the report of an earlier run as if it were this one's.
pub(crate) fn write_report(
    path: &Path,
    what: &'static str,
    text: &str,
    redactor: &Redactor,
) -> Result<(), Error> {
    let mut tmp = path.as_os_str().to_owned();
    tmp.push(".tmp");
    let tmp = PathBuf::from(tmp);
    let written = std::fs::write(&tmp, redactor.redact(text).as_bytes())
        .and_then(|()| std::fs::rename(&tmp, path));
    written.map_err(|source| {
        let _ = std::fs::remove_file(&tmp);
        Error::Write {
            path: path.to_path_buf(),
            what,
            source,
        }
    })
}

/// Appends to a file that others write too (the GitHub step summary), creating it if need be.
pub(crate) fn append_report(
    path: &Path,
    what: &'static str,
    text: &str,
    redactor: &Redactor,
) -> Result<(), Error> {
    std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .and_then(|mut file| file.write_all(redactor.redact(text).as_bytes()))
        .map_err(|source| Error::Write {
            path: path.to_path_buf(),
            what,
            source,
        })
}

/// Hand-built results for the reporters' tests: the runner's types, filled in as a run would.
#[cfg(test)]
pub(crate) mod fixtures {
    use std::path::Path;
    use std::time::Duration;

    use crate::assert::Outcome;
    use crate::diag::{SourceFile, Spot};
    use crate::http::{Exchange, Outgoing};
    use crate::model::{Collection, load_collection};
    use crate::runner::{CheckResult, Failure, Reporter, RequestResult, RunStart, Summary};
    use crate::secrets::Redactor;

    pub const FILE: &str = "collections/zoom-oauth/refresh-access-token.yaml";
    const TEXT: &str = "assert:\n  status: 200\n  json:\n    $.token_type: bearer\n";

    pub fn collection() -> Collection {
        load_collection(&Path::new(env!("CARGO_MANIFEST_DIR")).join("collections/zoom-oauth"))
            .expect("the bundled collection loads")
    }

    /// A check written at the first occurrence of `at` in the request file.
    fn check(subject: &str, at: &str, passed: bool, expected: &str, actual: &str) -> CheckResult {
        let file = SourceFile::new(FILE, TEXT);
        let start = TEXT.find(at).expect("`at` is in the fixture text");
        CheckResult {
            subject: subject.into(),
            outcome: Outcome {
                passed,
                predicate: "equals".into(),
                expected: expected.into(),
                actual: actual.into(),
                diff: None,
            },
            spot: Spot::new(&file, start..start + at.len()),
        }
    }

    /// `status: 200`, passed; written at line 2, column 3.
    pub fn status_ok() -> CheckResult {
        check("status", "status", true, "200", "200")
    }

    /// `$.token_type` expected `"bearer"`, failed with `actual`; written at line 4, column 5.
    pub fn token_type(actual: &str) -> CheckResult {
        check("$.token_type", "$.token_type", false, "\"bearer\"", actual)
    }

    /// A failed equality of two arrays, with its diff.
    pub fn scopes_differ() -> CheckResult {
        let mut scopes = check("$.scopes", "$.token_type", false, "[\"a\"]", "[\"b\"]");
        scopes.outcome.diff = Some("--- expected\n+++ actual\n-  \"a\"\n+  \"b\"".into());
        scopes
    }

    pub fn redacting(secret: &str) -> Redactor {
        let mut redactor = Redactor::default();
        redactor.add(secret);
        redactor
    }

    /// A request that got an answer with `status`.
    pub fn answered(name: &str, status: u16, checks: Vec<CheckResult>) -> RequestResult {
        let mut result = unanswered(name, None);
        result.duration = Duration::from_millis(42);
        result.exchange = Some(Exchange {
            request: std::sync::Arc::new(Outgoing {
                method: "POST".into(),
                url: url::Url::parse("http://127.0.0.1:9/oauth/token").unwrap(),
                headers: vec![],
                body: None,
                timeout: Duration::from_secs(30),
                max_redirects: 10,
                digest: None,
            }),
            status,
            reason: "OK",
            version: "HTTP/1.1",
            headers: crate::http::Headers::default(),
            body: Vec::new(),
            duration: result.duration,
            redirects: vec![],
        });
        result.checks = checks;
        result
    }

    /// A transport failure: `transport failure: {why}`.
    pub fn transport(why: &str) -> Option<Failure> {
        Some(Failure::Transport(why.into()))
    }

    /// A request that could not be built: `title`, at the first occurrence of `at` in the
    /// request file.
    pub fn invalid(title: &str, at: &str) -> Option<Failure> {
        let file = SourceFile::new(FILE, TEXT);
        let start = TEXT.find(at).expect("`at` is in the fixture text");
        let diagnostic = crate::diag::Diagnostic::new(title)
            .at(Spot::new(&file, start..start + at.len()))
            .label("here");
        Some(Failure::Invalid(Box::new(diagnostic)))
    }

    /// A request that got no answer, failing with `failure` if given.
    pub fn unanswered(name: &str, failure: Option<Failure>) -> RequestResult {
        RequestResult {
            name: name.into(),
            file: std::path::Path::new(FILE).into(),
            method: "POST".into(),
            url: "http://127.0.0.1:9/oauth/token".into(),
            exchange: None,
            checks: Vec::new(),
            passed_untold: 0,
            captured: Vec::new(),
            failure,
            retries: 0,
            tries: Vec::new(),
            pass: None,
            duration: Duration::from_millis(7),
        }
    }

    /// Plays a run to `reporter` as the runner would, `skipped` requests left unsent at the end.
    pub fn play(
        reporter: &mut dyn Reporter,
        results: &[RequestResult],
        skipped: usize,
        redactor: &Redactor,
    ) -> Summary {
        let collection = collection();
        let mut summary = Summary::default();
        let start = RunStart {
            collection: &collection,
            environment: None,
            selected: results.iter().map(|r| &*r.name).collect(),
            passes: 1,
            started_at: std::time::SystemTime::now(),
        };
        reporter.start(&start, redactor);
        for result in results {
            summary.add(result);
            reporter.request(result, redactor);
        }
        for i in 0..skipped {
            summary.not_run.push(crate::runner::NotRun {
                name: format!("Not run {}", i + 1),
                pass: None,
                reason: "the run stopped when `Revoke` got no answer".into(),
            });
        }
        summary.duration = Duration::from_millis(1234);
        reporter.finish(&summary, redactor);
        summary
    }
}

#[cfg(test)]
mod tests {
    use super::fixtures::*;
    use super::*;
    use crate::report::json::JsonReport;
    use crate::report::junit::JunitReport;

    #[test]
    fn reason_says_what_failed_first() {
        let failing = answered("r", 200, vec![status_ok(), token_type("\"Bearer\"")]);
        assert_eq!(reason(&failing).as_deref(), Some("1 of 2 checks failed"));
        let errored = unanswered("r", transport("cannot connect\nmore"));
        assert_eq!(
            reason(&errored).as_deref(),
            Some("transport failure: cannot connect")
        );
        assert_eq!(reason(&answered("r", 200, vec![status_ok()])), None);
    }

    #[test]
    fn fanout_calls_each_reporter_and_collects_write_errors() {
        let dir = tempfile::tempdir().unwrap();
        let missing = dir.path().join("no such folder/report.xml");
        let written = dir.path().join("report.json");
        let mut console = Vec::new();
        let mut fanout = Fanout::new()
            .with(Console::new(&mut console, false, false))
            .with(JunitReport::new(missing))
            .with(JsonReport::new(written.clone()));
        play(
            &mut fanout,
            &[answered("Refresh", 200, vec![])],
            0,
            &Redactor::default(),
        );

        let errors: Vec<String> = fanout.errors().iter().map(|e| e.to_string()).collect();
        assert_eq!(errors.len(), 1, "{errors:?}");
        assert!(
            errors[0].contains("cannot write the JUnit report"),
            "{errors:?}"
        );
        assert!(errors[0].contains("no such folder"), "{errors:?}");
        drop(fanout);
        assert!(String::from_utf8(console).unwrap().contains("Refresh"));
        assert!(written.exists());
    }
}
