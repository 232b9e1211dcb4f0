//! Previews of what would be sent, with nothing sent: `courier run --dry-run` prints each
//! request as HTTP, `courier curl` as a curl command. Both mask credentials unless told
//! otherwise, show values that earlier requests would capture as `<name>`, and with
//! `--show-secrets` the curl command is meant to run as printed.

use std::process::Command;

use crate::support::{
    self, BASIC_CREDENTIALS, BUNDLED, CLIENT_SECRET, EMULATOR_ENV, Project, REFRESH_REQUEST,
    REFRESH_TOKEN, Server, Transcript, assert_transcript,
};

const REFRESH: &str = "Refresh access token";

#[test]
fn dry_run_prints_each_request_and_sends_nothing() {
    let server = Server::answering_json("{}");

    let t = support::run_bundled(&server.url(), &["--dry-run"]);

    assert_eq!(t.code, 0, "{t}");
    assert_eq!(server.hits(), 0, "a dry run sends nothing: {t}");
    t.assert_shows(&[
        "### Refresh access token\nPOST http://127.0.0.1:",
        "Authorization: Basic ***",
        "grant_type=refresh_token&refresh_token=***",
        "### Revoke access token",
    ]);
    t.assert_hides(&[CLIENT_SECRET, REFRESH_TOKEN, BASIC_CREDENTIALS]);
    assert_transcript!(t, @r#"
        exit_code: 0
        ----- stdout -----
        ### Refresh access token
        POST http://127.0.0.1:[PORT]/oauth/token HTTP/1.1
        Authorization: Basic ***
        Content-Type: application/x-www-form-urlencoded

        grant_type=refresh_token&refresh_token=***

        ### Get current user
        GET https://api.zoom.us/v2/users/me HTTP/1.1
        Authorization: Bearer ***

        ### Revoke access token
        POST http://127.0.0.1:[PORT]/oauth/revoke HTTP/1.1
        Content-Type: application/x-www-form-urlencoded; charset=UTF-8
        Authorization: Basic ***

        token=%3Caccess_token%3E


        ----- stderr -----
        "#);
}

/// A request that uses a value the one before it captures: the preview shows the capture's
/// name in its place, in a header and in a JSON body alike.
#[test]
fn dry_run_shows_a_value_to_be_captured_as_its_name() {
    let server = Server::answering_json("{}");
    let project = Project::collection(&[
        ("refresh.yaml", REFRESH_REQUEST),
        (
            "use.yaml",
            "name: Use the token\n\
             method: POST\n\
             url: \"{{ base_url }}/v2/users/me\"\n\
             headers:\n  X-Token: \"{{ access_token }}\"\n\
             json: { token: \"{{ access_token }}\", refresh: \"{{ refresh_token }}\" }\n",
        ),
    ]);

    let t = project.run(&server.url(), &["--dry-run"]);

    assert_eq!(t.code, 0, "{t}");
    assert_eq!(server.hits(), 0, "{t}");
    t.assert_shows(&[
        "X-Token: <access_token>",
        r#"{"token":"<access_token>","refresh":"<refresh_token>"}"#,
    ]);
    t.assert_hides(&[REFRESH_TOKEN, CLIENT_SECRET]);
}

/// The bundled revoke sends the captured access token in a form body. The preview shows the
/// body as it would go on the wire, so the `<access_token>` placeholder is form-encoded there.
#[test]
fn dry_run_shows_a_capture_in_a_form_body_as_it_would_be_sent() {
    let t = support::run_bundled("http://127.0.0.1:9", &["--dry-run"]);

    assert_eq!(t.code, 0, "{t}");
    t.assert_shows(&["token=%3Caccess_token%3E"]);
    // A URL made of a capture shows the capture's default.
    t.assert_shows(&["GET https://api.zoom.us/v2/users/me HTTP/1.1"]);
}

/// A persisting environment after one real refresh: its state file holds the rotated token,
/// the one the next run would send, while the environment still injects the spent seed token.
fn project_with_state() -> (Project, String) {
    let zoom = support::emulator();
    let project = support::persisting_env();
    let t = project.refresh(&zoom.base_url(), REFRESH_TOKEN, &[]);
    assert_eq!(t.code, 0, "{t}");
    let rotated = zoom.live_refresh_token().expect("the grant is alive");
    (project, rotated)
}

#[test]
fn dry_run_shows_the_state_files_token() {
    let (project, rotated) = project_with_state();

    let mut command = project.refresh_command("http://127.0.0.1:9", REFRESH_TOKEN, &[]);
    let t = support::transcript(command.args(["--dry-run", "--show-secrets"]));

    assert_eq!(t.code, 0, "{t}");
    t.assert_shows(&[&format!("refresh_token={rotated}")]);
}

#[test]
fn curl_uses_the_state_files_token() {
    let (project, rotated) = project_with_state();

    let mut command = support::courier();
    command
        .args(["curl", BUNDLED, "--request", REFRESH, "--show-secrets"])
        .args(["--env", &project.file("env.yaml")])
        .env(support::REFRESH_TOKEN_VAR, REFRESH_TOKEN);
    let t = support::transcript(&mut command);

    assert_eq!(t.code, 0, "{t}");
    t.assert_shows(&[&format!("refresh_token={rotated}")]);
}

#[test]
fn curl_prints_a_command_with_credentials_masked() {
    let t = support::run(["curl", BUNDLED, "--env", EMULATOR_ENV, "--request", REFRESH]);

    assert_eq!(t.code, 0, "{t}");
    t.assert_shows(&[
        "--header 'Authorization: Basic ***'",
        "--data-raw 'grant_type=refresh_token&refresh_token=***'",
    ]);
    t.assert_hides(&[CLIENT_SECRET, REFRESH_TOKEN, BASIC_CREDENTIALS, "Revoke"]);
    assert_transcript!(t, @r#"
        exit_code: 0
        ----- stdout -----
        # Refresh access token
        curl \
          --request POST \
          --url 'http://127.0.0.1:[PORT]/oauth/token' \
          --header 'Authorization: Basic ***' \
          --header 'Content-Type: application/x-www-form-urlencoded' \
          --data-raw 'grant_type=refresh_token&refresh_token=***' \
          --location --max-redirs 10 \
          --max-time 30


        ----- stderr -----
        warning: `Refresh access token` spends a persistent token: running its command rotates the token without courier saving the new one
        "#);
}

/// `--show-secrets`: "the command then runs as is". Run it with `sh -c` against the emulator:
/// curl exits 0 (with `--fail`, a 4xx would not) and the emulator rotated the token.
#[test]
fn curl_with_show_secrets_prints_a_command_that_works() {
    if !on_path("curl") {
        eprintln!("skipped: `curl` is not on PATH");
        return;
    }
    let zoom = support::emulator();
    let t = support::run([
        "curl",
        BUNDLED,
        "--env",
        EMULATOR_ENV,
        "--request",
        REFRESH,
        "--show-secrets",
        "--var",
        &format!("base_url={}", zoom.base_url()),
    ]);
    assert_eq!(t.code, 0, "{t}");
    t.assert_shows(&[REFRESH_TOKEN]);

    let printed: String = t
        .stdout
        .lines()
        .filter(|l| !l.starts_with('#'))
        .collect::<Vec<_>>()
        .join("\n");
    let script = format!("{} --fail --silent --show-error", printed.trim_end());
    let curl = Transcript::from(
        Command::new("sh")
            .args(["-c", &script])
            .output()
            .expect("sh runs"),
    );

    assert_eq!(curl.code, 0, "{script}\n{curl}");
    assert_eq!(zoom.hits(), 1);
    let live = zoom.live_refresh_token().expect("the grant is alive");
    assert_ne!(live, REFRESH_TOKEN, "the refresh went through");
    assert!(curl.stdout.contains(&live), "{curl}");
}

fn on_path(program: &str) -> bool {
    std::env::var_os("PATH")
        .is_some_and(|paths| std::env::split_paths(&paths).any(|dir| dir.join(program).is_file()))
}
