//! No credential leaks from a run, in any output: stdout and stderr with `-v`, the JUnit and
//! JSON reports, GitHub workflow commands and step summary. The only raw copies allowed are the
//! `::add-mask::` lines GitHub needs, each before anything that could show the value. Also
//! `--show-secrets`, and the explanations of rejected credentials (exit 4).

use std::fs;

use base64::Engine as _;
use courier::mock::zoom::{Seed, ZoomMock};
use regex::Regex;

use crate::support::{self, CLIENT_ID, Project, REFRESH_TOKEN, assert_transcript};

/// Credentials whose URL-encoded, JSON-escaped and XML-escaped forms differ from them, so a leak
/// of any form is seen.
const AWKWARD_SECRET: &str = "s3cr/et+\"&x y";
const AWKWARD_REFRESH_TOKEN: &str = "seed/refresh+token=\"1\"&x";

/// Every token the emulator issues: `emu.` (access) or `emurt.` (refresh) and 32 hex digits.
const ISSUED: &str = r"emu(rt)?\.[0-9a-f]{32}";

const MASK_COMMAND: &str = "::add-mask::";

/// Every output of a run, by name.
struct Outputs(Vec<(&'static str, String)>);

/// Runs the bundled collection against an emulator seeded with the awkward credentials, with
/// every output courier has turned on.
fn run_with_every_output(extra: &[&str]) -> (ZoomMock, Outputs) {
    let seed = Seed {
        client_secret: AWKWARD_SECRET.into(),
        refresh_token: AWKWARD_REFRESH_TOKEN.into(),
        ..support::seed()
    };
    let zoom = ZoomMock::start_background(seed, "127.0.0.1:0".parse().unwrap()).unwrap();
    let project = Project::new(&[(
        "env.yaml",
        &format!(
            "name: Awkward credentials\n\
             variables:\n  \
               ClientID: {CLIENT_ID}\n  \
               ClientSecret: '{AWKWARD_SECRET}'\n  \
               refresh_token: '{AWKWARD_REFRESH_TOKEN}'\n\
             secrets: [ClientSecret, refresh_token, access_token]\n"
        ),
    )]);
    let (junit, json, summary) = (
        project.file("junit.xml"),
        project.file("report.json"),
        project.file("summary.md"),
    );
    let mut command = support::run_command(
        support::BUNDLED,
        &project.file("env.yaml"),
        &zoom.base_url(),
        &["-v", "--report-junit", &junit, "--report-json", &json],
    );
    command
        .args(extra)
        .env("GITHUB_ACTIONS", "true")
        .env("GITHUB_STEP_SUMMARY", &summary);
    let t = support::transcript(&mut command);
    assert_eq!(t.code, 0, "{t}");
    let read = |path: &str| fs::read_to_string(path).unwrap_or_else(|e| panic!("{path}: {e}"));
    let outputs = Outputs(vec![
        ("JUnit report", read(&junit)),
        ("JSON report", read(&json)),
        ("step summary", read(&summary)),
        ("stdout", t.stdout),
        ("stderr", t.stderr),
    ]);
    (zoom, outputs)
}

/// A value and every form it takes on the wire or in a report.
fn forms(value: &str) -> Vec<String> {
    let url: String = url::form_urlencoded::byte_serialize(value.as_bytes()).collect();
    let json = serde_json::to_string(value).unwrap();
    let xml = value
        .replace('&', "&amp;")
        .replace('"', "&quot;")
        .replace('<', "&lt;");
    vec![
        value.to_string(),
        url,
        json.trim_matches('"').to_string(),
        xml,
    ]
}

impl Outputs {
    fn stdout(&self) -> &str {
        &self.0.iter().find(|(name, _)| *name == "stdout").unwrap().1
    }

    /// Checks that no form of `value` appears outside `::add-mask::` lines.
    #[track_caller]
    fn assert_hide(&self, value: &str) {
        for (name, text) in &self.0 {
            for line in text.lines().filter(|l| !l.starts_with(MASK_COMMAND)) {
                for form in forms(value) {
                    assert!(!line.contains(&form), "{name} leaks `{form}`: {line}");
                }
            }
        }
    }

    /// The tokens the emulator issued that appear anywhere, each checked to be only in an
    /// `::add-mask::` line of stdout, and masked before the line `before`.
    #[track_caller]
    fn issued_tokens_masked_before(&self, before: &str) -> Vec<String> {
        let issued = Regex::new(ISSUED).unwrap();
        let mut found = Vec::new();
        for (name, text) in &self.0 {
            for line in text.lines() {
                for token in issued.find_iter(line) {
                    assert!(
                        *name == "stdout" && line == format!("{MASK_COMMAND}{}", token.as_str()),
                        "{name} leaks an issued token: {line}"
                    );
                    found.push(token.as_str().to_string());
                }
            }
        }
        for token in &found {
            self.assert_masked_before(token, before);
        }
        found
    }

    /// Checks that `value` is handed to `::add-mask::` before the first stdout line starting
    /// with `before`.
    #[track_caller]
    fn assert_masked_before(&self, value: &str, before: &str) {
        let lines: Vec<&str> = self.stdout().lines().collect();
        let mask = format!("{MASK_COMMAND}{value}");
        let masked = lines.iter().position(|l| *l == mask);
        let shown = lines.iter().position(|l| l.starts_with(before));
        assert!(
            masked.is_some() && masked < shown,
            "`{mask}` must come before `{before}`:\n{}",
            self.stdout()
        );
    }
}

fn basic_credentials() -> String {
    base64::engine::general_purpose::STANDARD.encode(format!("{CLIENT_ID}:{AWKWARD_SECRET}"))
}

#[test]
fn no_output_leaks_a_credential_of_a_refresh() {
    let (zoom, outputs) = run_with_every_output(&["--tag", "smoke"]);

    let live = zoom.live_refresh_token().expect("the grant is alive");
    for secret in [
        AWKWARD_SECRET,
        AWKWARD_REFRESH_TOKEN,
        &basic_credentials(),
        &live,
    ] {
        outputs.assert_hide(secret);
    }
    let header = "Zoom OAuth ·";
    outputs.assert_masked_before(AWKWARD_SECRET, header);
    outputs.assert_masked_before(AWKWARD_REFRESH_TOKEN, header);
    let issued = outputs.issued_tokens_masked_before("✓ Refresh access token");
    assert_eq!(issued.len(), 2, "an access and a refresh token: {issued:?}");
    assert!(issued.contains(&live), "{issued:?}");
}

#[test]
fn no_output_leaks_a_credential_of_the_whole_collection() {
    let (zoom, outputs) = run_with_every_output(&[]);

    assert_eq!(
        zoom.live_refresh_token(),
        None,
        "the revoke ended the grant"
    );
    for secret in [AWKWARD_SECRET, AWKWARD_REFRESH_TOKEN, &basic_credentials()] {
        outputs.assert_hide(secret);
    }
    let issued = outputs.issued_tokens_masked_before("✓ Refresh access token");
    assert_eq!(issued.len(), 2, "an access and a refresh token: {issued:?}");
}

#[test]
fn show_secrets_warns_and_shows_them() {
    let zoom = support::emulator();

    let t = support::run_bundled(
        &zoom.base_url(),
        &["--tag", "smoke", "-v", "--show-secrets"],
    );

    assert_eq!(t.code, 0, "{t}");
    assert!(
        t.stderr.contains("warning: --show-secrets"),
        "the warning goes to stderr: {t}"
    );
    let live = zoom.live_refresh_token().unwrap();
    t.assert_shows(&[
        &format!("> grant_type=refresh_token&refresh_token={REFRESH_TOKEN}"),
        &format!(r#""refresh_token":"{live}""#),
    ]);
}

#[test]
fn a_wrong_client_secret_exits_4_explaining_invalid_client() {
    let zoom = support::emulator();

    let t = support::run_bundled(
        &zoom.base_url(),
        &["--tag", "smoke", "--var", "ClientSecret=wrong-secret-value"],
    );

    assert_eq!(t.code, 4, "{t}");
    t.assert_shows(&[
        "credentials rejected (invalid_client): the client id or client secret is wrong",
    ]);
    t.assert_hides(&["wrong-secret-value"]);
}

#[test]
fn a_spent_refresh_token_exits_4_explaining_invalid_grant() {
    let zoom = support::emulator();
    let first = support::run_bundled(&zoom.base_url(), &["--tag", "smoke"]);
    assert_eq!(first.code, 0, "{first}");

    let t = support::run_bundled(&zoom.base_url(), &["--tag", "smoke"]);

    assert_eq!(t.code, 4, "{t}");
    t.assert_shows(&["invalid_grant", "already used", "revoked"]);
    assert_transcript!(t);
}
