//! The reports CI reads, from a run whose assertions fail: the JUnit file (written though the
//! run failed), the JSON report and its documented schema, and under GitHub Actions the
//! `::error` annotations that point into the request file and the step summary table.

use std::fs;

use serde_json::Value;

use crate::support::{self, Project, REFRESH_REQUEST, Server, Transcript};

/// A token endpoint that says `Bearer` where Zoom says `bearer`, sending API calls back to itself.
fn wrong_token_type(api_url: &str) -> String {
    format!(
        r#"{{"access_token":"fake-access-token-0001","token_type":"Bearer","refresh_token":"fake-refresh-token-0002","expires_in":3599,"scope":"user:read","api_url":"{api_url}"}}"#
    )
}

/// The reports of the bundled collection against a server answering [`wrong_token_type`] to
/// every token request: the refresh fails `$.token_type`, the revoke `$.status`.
struct FailedRun {
    t: Transcript,
    junit: String,
    json: Value,
    summary: String,
}

fn failed_run() -> FailedRun {
    let server = Server::start(|request| {
        Some(match request.path.starts_with(support::USERS_ME) {
            true => support::user_answer(),
            false => support::Reply::json(&wrong_token_type(&support::api_url(request))),
        })
    });
    let project = Project::new(&[("summary.md", "# Earlier step\n")]);
    let (junit, json, summary) = (
        project.file("reports/junit.xml"),
        project.file("reports/report.json"),
        project.file("summary.md"),
    );
    fs::create_dir(project.path().join("reports")).unwrap();
    let mut command = support::run_command(
        support::BUNDLED,
        support::EMULATOR_ENV,
        &server.url(),
        &["--report-junit", &junit, "--report-json", &json],
    );
    command
        .env("GITHUB_ACTIONS", "true")
        .env("GITHUB_STEP_SUMMARY", &summary);
    let t = support::transcript(&mut command);
    assert_eq!(t.code, 1, "{t}");
    let read = |path: &str| fs::read_to_string(path).unwrap_or_else(|e| panic!("{path}: {e}"));
    FailedRun {
        json: serde_json::from_str(&read(&json)).expect("the JSON report parses"),
        junit: read(&junit),
        summary: read(&summary),
        t,
    }
}

/// Validates a JUnit file against the schema the Jenkins xUnit plugin uses (`../shared/`),
/// with `xmllint` (Debian's `libxml2-utils`, which `.ci/run` installs).
#[track_caller]
pub(crate) fn assert_strict_junit(path: &str) {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let shared = root.join("../shared/junit-xsd/jenkins-xunit-junit-10.xsd");
    // The copy under tests/fixtures when the checkout does not sit beside `shared/`.
    let xsd = match shared.exists() {
        true => shared,
        false => root.join("tests/fixtures/junit/jenkins-xunit-junit-10.xsd"),
    };
    let out = std::process::Command::new("xmllint")
        .args(["--noout", "--schema"])
        .arg(&xsd)
        .arg(path)
        .output()
        .expect("xmllint runs (install libxml2-utils, as .ci/run does)");
    assert!(
        out.status.success(),
        "{path} fails junit-10.xsd:\n{}\n{}",
        String::from_utf8_lossy(&out.stderr),
        fs::read_to_string(path).unwrap_or_default()
    );
}

#[test]
fn junit_reports_validate_against_the_schema_strict_consumers_use() {
    // Failed checks, an error, requests not run, passes: every element courier writes.
    let failing = Server::start(|request| {
        Some(match request.path.starts_with(support::USERS_ME) {
            true => support::user_answer(),
            false => support::Reply::json(&wrong_token_type(&support::api_url(request))),
        })
    });
    let project = Project::new(&[]);
    for (name, url, extra) in [
        ("failed.xml", failing.url(), vec!["-n", "2"]),
        (
            "error.xml",
            format!("http://127.0.0.1:{}", support::closed_port()),
            vec![],
        ),
    ] {
        let junit = project.file(name);
        let mut args = vec!["--report-junit", junit.as_str()];
        args.extend(extra);
        let t = support::run_bundled(&url, &args);
        assert_ne!(t.code, 0, "{t}");
        assert_strict_junit(&junit);
    }
}

/// The line of the bundled refresh request where `text` is written.
fn line_of(text: &str) -> usize {
    1 + REFRESH_REQUEST
        .lines()
        .position(|l| l.contains(text))
        .expect("the line exists")
}

#[test]
fn junit_report_of_a_failing_run() {
    let run = failed_run();

    let report = quick_junit::Report::deserialize_from_str(&run.junit).expect("valid JUnit XML");
    let suite = &report.test_suites[0];
    assert_eq!(suite.name.as_str(), "Zoom OAuth");
    let names: Vec<&str> = suite.test_cases.iter().map(|c| c.name.as_str()).collect();
    assert_eq!(
        names,
        [
            "Refresh access token",
            "Get current user",
            "Revoke access token"
        ]
    );
    for text in [
        r#"<testsuite name="Zoom OAuth" tests="3""#,
        r#"failures="2""#,
        r#"<testcase name="Refresh access token" classname="Zoom OAuth""#,
        r#"<failure message="1 of 11 checks failed""#,
        "$.token_type: expected &quot;bearer&quot;, got &quot;Bearer&quot;",
        &format!(
            "at collections/zoom-oauth/refresh-access-token.yaml:{}:5",
            line_of("$.token_type")
        ),
    ] {
        assert!(
            run.junit.contains(text),
            "`{text}` is missing:\n{}",
            run.junit
        );
    }
}

#[test]
fn json_report_of_a_failing_run() {
    let run = failed_run();
    let json = &run.json;

    assert_eq!(json["schema_version"], 1);
    assert_eq!(json["courier_version"], env!("CARGO_PKG_VERSION"));
    assert_eq!(json["collection"], "Zoom OAuth");
    assert_eq!(json["environment"], support::EMULATOR_ENV);
    assert!(
        json["started_at"].as_str().unwrap().ends_with('Z'),
        "{json}"
    );
    assert!(json["duration_ms"].is_u64(), "{json}");
    let summary = &json["summary"];
    for (field, value) in [
        ("requests", 3),
        ("passed", 1),
        ("failed", 2),
        ("skipped", 0),
        ("exit_code", 1),
    ] {
        assert_eq!(summary[field], value, "summary.{field}: {json}");
    }
    assert_eq!(json["not_run"], serde_json::json!([]));
    let refresh = &json["requests"][0];
    assert_eq!(refresh["name"], "Refresh access token");
    assert_eq!(
        refresh["file"],
        "collections/zoom-oauth/refresh-access-token.yaml"
    );
    assert_eq!(refresh["method"], "POST");
    assert_eq!(refresh["status"], 200);
    assert_eq!(refresh["passed"], false);
    assert_eq!(refresh["error"], Value::Null);
    assert_eq!(refresh["rejected"], Value::Null);
    assert_eq!(refresh["retries"], 0);
    assert_eq!(
        refresh["captured"],
        serde_json::json!(["access_token", "refresh_token", "api_url"])
    );
    let failed: Vec<&Value> = refresh["checks"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["passed"] == false)
        .collect();
    assert_eq!(failed.len(), 1, "{json}");
    let check = failed[0];
    assert_eq!(check["subject"], "$.token_type");
    assert_eq!(check["predicate"], "equals");
    assert_eq!(check["expected"], "\"bearer\"");
    assert_eq!(check["actual"], "\"Bearer\"");
    assert_eq!(check["diff"], Value::Null);
    assert_eq!(check["location"]["line"], line_of("$.token_type"));
    assert_eq!(check["location"]["column"], 5);
}

#[test]
fn github_annotations_point_into_the_request_file() {
    let run = failed_run();

    let annotation = format!(
        "::error file=collections/zoom-oauth/refresh-access-token.yaml,line={},col=5,\
         title=Refresh access token::$.token_type: expected \"bearer\", got \"Bearer\"",
        line_of("$.token_type")
    );
    assert!(
        run.t.stdout.lines().any(|l| l == annotation),
        "`{annotation}` is missing:\n{}",
        run.t
    );
    assert!(
        run.t
            .stdout
            .contains("::error file=collections/zoom-oauth/revoke-access-token.yaml,line="),
        "{}",
        run.t
    );
}

#[test]
fn github_step_summary_is_appended_with_a_table() {
    let run = failed_run();

    let summary = run
        .summary
        .strip_prefix("# Earlier step\n")
        .expect("the summary is appended to, not replaced");
    assert!(summary.starts_with("## ❌ Zoom OAuth\n"), "{summary}");
    for text in [
        "| Request | Status | Time | Result |",
        "| Refresh access token | 200 | ",
        " ms | ❌ 1 of 11 checks failed |",
        "| Revoke access token | 200 | ",
        "1 of 3 requests passed",
        "### Failures",
        // Markdown punctuation in the text is escaped: `_` would start emphasis.
        &format!(
            "- **Refresh access token**: $.token\\_type: expected \"bearer\", got \"Bearer\" \
             at `collections/zoom-oauth/refresh-access-token.yaml:{}:5`",
            line_of("$.token_type")
        ),
    ] {
        assert!(summary.contains(text), "`{text}` is missing:\n{summary}");
    }
}

/// A request that cannot be built from what an earlier one captured is reported with the place
/// of the template that broke: the JSON report's `failure` and the GitHub annotation point at
/// it, as they do for a failed check.
#[test]
fn a_request_that_cannot_be_built_is_reported_where_its_template_is() {
    let zoom = support::emulator();
    let project = Project::collection(&[
        ("refresh.yaml", REFRESH_REQUEST),
        (
            "use.yaml",
            "name: Use the token\nmethod: GET\nurl: \"{{ access_token }}/users/me\"\n",
        ),
        (
            "after.yaml",
            "name: After\nmethod: GET\nurl: \"{{ base_url }}/x\"\n",
        ),
    ]);
    let json = project.file("report.json");
    let mut command = support::run_command(
        &project.dir(),
        support::EMULATOR_ENV,
        &zoom.base_url(),
        &["--report-json", &json],
    );
    command.env("GITHUB_ACTIONS", "true");
    let t = support::transcript(&mut command);

    assert_eq!(t.code, 2, "{t}");
    let report: Value = serde_json::from_str(&fs::read_to_string(&json).unwrap()).unwrap();
    let used = &report["requests"][1];
    assert_eq!(used["failure"]["kind"], "invalid", "{used:#}");
    let location = &used["failure"]["location"];
    assert!(
        location["file"].as_str().unwrap().ends_with("use.yaml"),
        "{location}"
    );
    assert_eq!(
        (&location["line"], &location["column"]),
        (&3.into(), &6.into())
    );
    assert_eq!(report["requests"][0]["failure"], Value::Null);
    assert_eq!(
        report["not_run"][0]["reason"],
        "the run stopped when `Use the token` could not be built"
    );
    let annotation = format!("::error file={},line=3,col=6,", project.file("use.yaml"));
    t.assert_shows(&[annotation.as_str()]);
}
