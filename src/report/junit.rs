//! The JUnit XML report, the format the test views of GitLab, Jenkins and GitHub read.
//!
//! One `<testsuite>` per run, named after the collection; one `<testcase>` per request sent,
//! named after the request with the collection as its class. Failed checks make a `<failure>`
//! (message `N of M checks failed`, text listing each check with where it is written); a request
//! that got no answer or could not be built is an `<error>`. The runner names only the requests
//! it sent, so requests a stopped run never reached are counted, not listed: a
//! `requests_not_run` property and a `<system-out>` line. The file is written once, at
//! `finish`, whether the run passed or not.

use std::fmt::Write as _;
use std::path::PathBuf;
use std::time::Duration;

use quick_junit::{NonSuccessKind, Report, TestCase, TestCaseStatus, TestSuite};

use super::{RunInfo, Sink, claim, reason, write_report};
use crate::error::Error;
use crate::runner::{CheckResult, Failure, Reporter, RequestResult, RunStart, Summary};
use crate::secrets::Redactor;

pub struct JunitReport {
    path: PathBuf,
    run: RunInfo,
    cases: Vec<Case>,
    error: Option<Error>,
}

/// A request as the report will show it. Kept as plain text until `finish`, where each piece is
/// redacted before XML escaping: a secret holding `&` or `<` would no longer match once escaped.
struct Case {
    /// Shared with the request's other passes.
    name: std::sync::Arc<str>,
    /// The pass label, when the run has several: it joins the class name, so CI servers group
    /// the test cases by pass.
    pass: Option<std::sync::Arc<str>>,
    duration: Duration,
    problem: Option<Problem>,
}

struct Problem {
    kind: NonSuccessKind,
    message: String,
    text: String,
}

impl JunitReport {
    /// For results read back from JSON reports: the run they were of.
    pub(super) fn set_run(&mut self, run: RunInfo) {
        self.run = run;
    }

    pub fn new(path: PathBuf) -> Self {
        JunitReport {
            path,
            run: RunInfo::default(),
            cases: Vec::new(),
            error: None,
        }
    }

    fn xml(&self, summary: &Summary, redactor: &Redactor) -> Result<String, Error> {
        let clean = |text: &str| redactor.redact(text).into_owned();
        let collection = clean(&self.run.collection);
        let mut suite = TestSuite::new(collection.as_str());
        suite.set_time(summary.duration);
        // quick-junit wants a chrono timestamp, which courier does not depend on; the attribute
        // is written as RFC 3339 text, which is what chrono would write.
        suite.extra.insert(
            "timestamp".into(),
            humantime::format_rfc3339_seconds(self.run.started_at)
                .to_string()
                .into(),
        );
        if let Some(env) = &self.run.environment {
            suite.add_property(("environment", clean(&env.display().to_string()).as_str()));
        }
        for case in &self.cases {
            let status = match &case.problem {
                None => TestCaseStatus::success(),
                Some(problem) => {
                    let mut status = TestCaseStatus::non_success(problem.kind);
                    status
                        .set_message(clean(&problem.message))
                        .set_description(clean(&problem.text));
                    status
                }
            };
            let mut test = TestCase::new(clean(&case.name), status);
            let classname = match &case.pass {
                Some(pass) => format!("{collection} · {}", clean(pass)),
                None => collection.clone(),
            };
            // No `assertions`: the schema strict consumers validate against has none (the
            // failure message counts the checks).
            test.set_classname(classname.as_str())
                .set_time(case.duration);
            suite.add_test_case(test);
        }
        // Requests the run never sent are skipped test cases, so a CI dashboard shows them.
        for not_run in &summary.not_run {
            let mut status = TestCaseStatus::skipped();
            status.set_message(clean(&not_run.reason));
            let mut test = TestCase::new(clean(&not_run.name), status);
            let classname = match &not_run.pass {
                Some(pass) => format!("{collection} · {}", clean(pass)),
                None => collection.clone(),
            };
            test.set_classname(classname.as_str());
            suite.add_test_case(test);
        }
        let mut report = Report::new("courier");
        report.set_time(summary.duration).add_test_suite(suite);
        let written = report.to_string().map_err(|e| e.to_string());
        written
            .and_then(|xml| strict(&xml))
            .map_err(|e| Error::Write {
                path: self.path.clone(),
                what: "the JUnit report",
                source: std::io::Error::other(e),
            })
    }
}

/// The report as the Jenkins xUnit plugin's `junit-10.xsd` allows, which the lenient readers
/// accept too: quick-junit writes `skipped` on `<testsuites>`, which that schema has not (the
/// `<testsuite>` keeps its own).
fn strict(xml: &str) -> Result<String, String> {
    use quick_xml::events::{BytesStart, Event};
    let mut reader = quick_xml::Reader::from_str(xml);
    let mut writer = quick_xml::Writer::new(Vec::with_capacity(xml.len()));
    loop {
        let event = reader.read_event().map_err(|e| e.to_string())?;
        let event = match event {
            Event::Eof => break,
            Event::Start(tag) if tag.name().as_ref() == b"testsuites" => {
                let mut kept = BytesStart::new("testsuites");
                for attribute in tag.attributes() {
                    let attribute = attribute.map_err(|e| e.to_string())?;
                    if attribute.key.as_ref() != b"skipped" {
                        kept.push_attribute(attribute);
                    }
                }
                Event::Start(kept)
            }
            other => other,
        };
        writer.write_event(event).map_err(|e| e.to_string())?;
    }
    String::from_utf8(writer.into_inner()).map_err(|e| e.to_string())
}

impl Reporter for JunitReport {
    fn start(&mut self, run: &RunStart<'_>, _: &Redactor) {
        self.run = RunInfo::new(run);
    }

    fn request(&mut self, result: &RequestResult, _: &Redactor) {
        let problem = reason(result).map(|message| {
            let mut text = String::new();
            if let Some(failure) = &result.failure {
                let _ = writeln!(text, "{}", failure.message().trim_end());
            }
            for check in result.failed_checks() {
                text.push_str(&details(check));
            }
            if !result.tries.is_empty() {
                let _ = writeln!(text, "polled: the last of {} tries", result.tries.len() + 1);
            }
            let kind = if result.failure.as_ref().is_some_and(Failure::is_error) {
                NonSuccessKind::Error
            } else {
                NonSuccessKind::Failure
            };
            Problem {
                kind,
                message,
                text: text.trim_end().to_string(),
            }
        });
        self.cases.push(Case {
            name: result.name.clone(),
            pass: result.pass.clone(),
            duration: result.duration,
            problem,
        });
    }

    fn finish(&mut self, summary: &Summary, redactor: &Redactor) {
        let written = self
            .xml(summary, redactor)
            .and_then(|xml| write_report(&self.path, "the JUnit report", &xml, redactor));
        if let Err(e) = written {
            self.error.get_or_insert(e);
        }
    }
}

impl Sink for JunitReport {
    fn error(&self) -> Option<&Error> {
        self.error.as_ref()
    }
}

/// A failed check as the failure text lists it: the claim, the diff if any, where it is written.
fn details(check: &CheckResult) -> String {
    let mut text = claim(check);
    text.push('\n');
    if let Some(diff) = &check.outcome.diff {
        for line in diff.lines() {
            let _ = writeln!(text, "    {line}");
        }
    }
    let _ = writeln!(text, "    at {}", check.spot.position());
    text
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::fixtures::*;

    fn run_to_file(results: &[RequestResult], skipped: usize, redactor: &Redactor) -> String {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("junit.xml");
        let mut report = JunitReport::new(path.clone());
        play(&mut report, results, skipped, redactor);
        assert!(report.error().is_none(), "{:?}", report.error());
        assert!(!dir.path().join("junit.xml.tmp").exists());
        std::fs::read_to_string(path).unwrap()
    }

    #[test]
    fn a_failing_run_is_written_with_failures_errors_and_skips() {
        let results = [
            answered("Refresh access token", 200, vec![status_ok()]),
            answered(
                "Revoke access token",
                200,
                vec![status_ok(), token_type("\"Bearer\"")],
            ),
            unanswered("List users", transport("cannot connect: refused")),
        ];
        let xml = run_to_file(&results, 2, &Redactor::default());
        assert!(
            xml.contains(r#"<testsuite name="Zoom OAuth" tests="5" skipped="2""#),
            "{xml}"
        );
        assert!(xml.contains(r#"failures="1""#), "{xml}");
        assert!(xml.contains(r#"errors="1""#), "{xml}");
        assert!(
            xml.contains(r#"<failure message="1 of 2 checks failed""#),
            "{xml}"
        );
        assert!(
            xml.contains(r#"<error message="transport failure: cannot connect: refused""#),
            "{xml}"
        );

        let report = Report::deserialize_from_str(&xml).expect("valid JUnit XML");
        let suite = &report.test_suites[0];
        assert_eq!(suite.name.as_str(), "Zoom OAuth");
        let names: Vec<&str> = suite.test_cases.iter().map(|c| c.name.as_str()).collect();
        assert_eq!(
            names,
            [
                "Refresh access token",
                "Revoke access token",
                "List users",
                "Not run 1",
                "Not run 2"
            ]
        );
        assert!(
            xml.contains(r#"<skipped message="the run stopped when `Revoke` got no answer""#),
            "{xml}"
        );
        assert!(matches!(
            suite.test_cases[0].status,
            TestCaseStatus::Success { .. }
        ));
        let revoke = &suite.test_cases[1];
        assert_eq!(revoke.classname.as_deref(), Some("Zoom OAuth"));
        assert_eq!(revoke.time, Some(Duration::from_millis(42)));
        let TestCaseStatus::NonSuccess {
            kind, description, ..
        } = &revoke.status
        else {
            panic!("revoke should fail: {:?}", revoke.status);
        };
        assert_eq!(*kind, NonSuccessKind::Failure);
        assert_eq!(
            description.as_deref(),
            Some(
                "$.token_type: expected \"bearer\", got \"Bearer\"\n    \
                 at collections/zoom-oauth/refresh-access-token.yaml:4:5"
            )
        );
    }

    #[test]
    fn a_diff_is_listed_under_its_check() {
        let xml = run_to_file(
            &[answered("Scopes", 200, vec![scopes_differ()])],
            0,
            &Redactor::default(),
        );
        assert!(xml.contains("    +++ actual\n"), "{xml}");
        assert!(!xml.contains("requests_not_run"), "{xml}");
    }

    #[test]
    fn no_secret_reaches_the_file_even_one_xml_would_escape() {
        let secret = "p&ss<w0rd>";
        let results = [answered("Refresh", 200, vec![token_type(secret)])];
        let xml = run_to_file(&results, 0, &redacting(secret));
        assert!(!xml.contains(secret), "{xml}");
        assert!(!xml.contains("p&amp;ss&lt;w0rd&gt;"), "{xml}");
        assert!(xml.contains("got ***"), "{xml}");
    }
}
