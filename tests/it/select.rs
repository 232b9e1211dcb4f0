//! Choosing what runs: `--tag`, `--skip-tag` and `--request` (a selection that leaves out the
//! request a variable is captured by is refused before sending), and `always: true` teardown
//! that still runs after `--bail` stopped the run.

use crate::support::{self, Project, Reply, Server, Transcript, assert_transcript};

#[test]
fn tag_smoke_runs_the_refresh_and_the_api_read_only() {
    for selection in [["--tag", "smoke"], ["--skip-tag", "destructive"]] {
        let zoom = support::emulator();

        let t = support::run_bundled(&zoom.base_url(), &selection);

        assert_eq!(t.code, 0, "{selection:?}: {t}");
        assert_eq!(zoom.hits(), 2, "{selection:?}: {t}");
        assert!(zoom.live_refresh_token().is_some(), "no revoke: {t}");
        t.assert_shows(&[
            "Zoom OAuth · 2 requests ·",
            "✓ Refresh access token",
            "✓ Get current user",
        ]);
        t.assert_hides(&["Revoke access token"]);
    }
}

/// `--request "Revoke access token"` alone: the revoke needs `access_token`, which only the
/// refresh captures.
fn revoke_alone() -> Transcript {
    let zoom = support::emulator();
    let t = support::run_bundled(&zoom.base_url(), &["--request", "Revoke access token"]);
    assert_eq!(t.code, 2, "{t}");
    assert_eq!(zoom.hits(), 0, "{t}");
    t
}

#[test]
fn a_request_whose_variable_is_captured_by_one_left_out_is_refused() {
    let t = revoke_alone();

    t.assert_shows(&["undefined variable `access_token`"]);
}

/// Refusing a request whose variable another, left-out request captures names that request.
#[test]
fn refusing_a_request_names_the_left_out_request_that_captures_its_variable() {
    let t = revoke_alone();

    t.assert_shows(&[
        "`access_token` is captured by `Refresh access token`, which this run leaves out",
    ]);
    assert_transcript!(t, @r#"
        exit_code: 2
        ----- stdout -----

        ----- stderr -----
        error: undefined variable `access_token`
          --> collections/zoom-oauth/revoke-access-token.yaml:17:14
           |
        17 |   token: "{{ access_token }}"
           |              ^^^^^^^^^^^^ used here, but defined nowhere
           |
           = note: searched collection variables (collections/zoom-oauth/collection.yaml), environment file (environments/emulator.yaml), --var, captures of earlier requests (none)
           = note: `access_token` is captured by `Refresh access token`, which this run leaves out
           = help: run `Refresh access token` too (it captures `access_token`), or pass `--var access_token=…`
        "#);
}

#[test]
fn an_unknown_request_name_is_refused_with_a_suggestion() {
    let zoom = support::emulator();

    let t = support::run_bundled(&zoom.base_url(), &["--request", "Refresh acces token"]);

    assert_eq!(t.code, 2, "{t}");
    assert_eq!(zoom.hits(), 0, "{t}");
    t.assert_shows(&["did you mean `Refresh access token`?"]);
}

/// A GET of `{{ base_url }}/PATH` expecting `status`, with `rest` appended.
fn get(name: &str, path: &str, status: u16, rest: &str) -> String {
    format!(
        "name: {name}\nmethod: GET\nurl: \"{{{{ base_url }}}}/{path}\"\nassert:\n  status: {status}\n{rest}"
    )
}

#[test]
fn always_requests_run_after_bail_stopped_the_run() {
    let server = Server::start(|_| Some(Reply::json("{}")));
    let project = Project::collection(&[
        ("setup.yaml", &get("Set up", "setup", 201, "")),
        ("work.yaml", &get("Work", "work", 200, "")),
        (
            "teardown.yaml",
            &get("Tear down", "teardown", 200, "always: true\n"),
        ),
    ]);

    let t = project.run(&server.url(), &["--bail"]);

    assert_eq!(t.code, 1, "{t}");
    let paths: Vec<String> = server.requests().into_iter().map(|r| r.path).collect();
    assert_eq!(paths, ["/setup", "/teardown"], "{t}");
    t.assert_shows(&["--bail stopped the run when `Set up` failed", "✓ Tear down"]);
}
