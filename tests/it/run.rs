//! The bundled Zoom OAuth collection run against the emulator: the happy path, `--mock-zoom`,
//! refresh-token rotation, the failures Zoom itself would give (wrong secret, spent refresh
//! token), and `-v` with every credential masked.

use courier::mock::zoom::ZoomMock;

use crate::support::{
    self, BASIC_CREDENTIALS, BUNDLED, CLIENT_SECRET, EMULATOR_ENV, Project, REFRESH_REQUEST,
    REFRESH_TOKEN, Transcript, assert_transcript,
};

/// Runs only the bundled refresh request (no revoke), which leaves the grant alive with a new
/// refresh token.
fn refresh_only(zoom: &ZoomMock) -> Transcript {
    Project::collection(&[("refresh.yaml", REFRESH_REQUEST)]).run(&zoom.base_url(), &[])
}

#[test]
fn bundled_collection_passes_against_the_emulator() {
    let zoom = support::emulator();

    let t = support::run_bundled(&zoom.base_url(), &[]);

    assert_eq!(t.code, 0, "{t}");
    assert_eq!(zoom.hits(), 3);
    // The revoke killed the whole grant, rotated refresh token included.
    assert_eq!(zoom.live_refresh_token(), None);
    assert_transcript!(t, @r#"
        exit_code: 0
        ----- stdout -----
        Zoom OAuth · 3 requests · environments/emulator.yaml

        ✓ Refresh access token
          POST http://127.0.0.1:[PORT]/oauth/token → 200 OK · [TIME]
          ✓ status 200
          ✓ header content-type contains "application/json"
          ✓ $.token_type == "bearer"
          ✓ $.access_token type string
          ✓ $.access_token not ""
          ✓ $.refresh_token type string
          ✓ $.expires_in type integer
          ✓ $.expires_in > 0
          ✓ $.scope type string
          ✓ body valid against schemas/token.json
          ✓ granted scope includes user:read
          → captured access_token, refresh_token, api_url

        ✓ Get current user
          GET http://127.0.0.1:[PORT]/v2/users/me → 200 OK · [TIME]
          ✓ status 200
          ✓ $.id type string
          ✓ $.id not ""
          ✓ $.account_id type string
          ✓ body valid against schemas/user.json

        ✓ Revoke access token
          POST http://127.0.0.1:[PORT]/oauth/revoke → 200 OK · [TIME]
          ✓ status 200
          ✓ $.status == "success"

        3 requests: 3 passed · 18 checks: 18 passed · [TIME]

        ----- stderr -----
        "#);
}

#[test]
fn mock_zoom_runs_the_collection_without_a_server_of_ours() {
    let t = support::run(["run", BUNDLED, "--env", EMULATOR_ENV, "--mock-zoom"]);

    assert_eq!(t.code, 0, "{t}");
    assert_transcript!(t, @r#"
        exit_code: 0
        ----- stdout -----
        Zoom OAuth · 3 requests · environments/emulator.yaml

        ✓ Refresh access token
          POST http://127.0.0.1:[PORT]/oauth/token → 200 OK · [TIME]
          ✓ status 200
          ✓ header content-type contains "application/json"
          ✓ $.token_type == "bearer"
          ✓ $.access_token type string
          ✓ $.access_token not ""
          ✓ $.refresh_token type string
          ✓ $.expires_in type integer
          ✓ $.expires_in > 0
          ✓ $.scope type string
          ✓ body valid against schemas/token.json
          ✓ granted scope includes user:read
          → captured access_token, refresh_token, api_url

        ✓ Get current user
          GET http://127.0.0.1:[PORT]/v2/users/me → 200 OK · [TIME]
          ✓ status 200
          ✓ $.id type string
          ✓ $.id not ""
          ✓ $.account_id type string
          ✓ body valid against schemas/user.json

        ✓ Revoke access token
          POST http://127.0.0.1:[PORT]/oauth/revoke → 200 OK · [TIME]
          ✓ status 200
          ✓ $.status == "success"

        3 requests: 3 passed · 18 checks: 18 passed · [TIME]

        ----- stderr -----
        using the embedded Zoom OAuth emulator at http://127.0.0.1:[PORT]
        "#);
}

#[test]
fn refresh_rotates_the_refresh_token_and_masks_the_new_one() {
    let zoom = support::emulator();

    let t = refresh_only(&zoom);

    assert_eq!(t.code, 0, "{t}");
    let live = zoom.live_refresh_token().expect("the grant is alive");
    assert_ne!(live, REFRESH_TOKEN);
    t.assert_hides(&[&live]);
}

#[test]
fn wrong_secret_is_invalid_client_and_stays_masked() {
    let zoom = support::emulator();

    let t = support::run_bundled(
        &zoom.base_url(),
        &["--var", "ClientSecret=wrong-secret-value"],
    );

    assert_ne!(t.code, 0, "{t}");
    assert!(t.stdout.contains("invalid_client"), "{t}");
    t.assert_hides(&["wrong-secret-value"]);
}

#[test]
fn spent_refresh_token_is_invalid_grant() {
    let zoom = support::emulator();
    let first = refresh_only(&zoom);
    assert_eq!(first.code, 0, "{first}");

    // The first run spent the seed token: Zoom refuses it although the grant is still alive.
    let second = support::run_bundled(&zoom.base_url(), &[]);

    assert_ne!(second.code, 0, "{second}");
    assert!(second.stdout.contains("invalid_grant"), "{second}");
    assert!(zoom.live_refresh_token().is_some());
    assert_eq!(zoom.hits(), 2, "the revoke has no token to send: {second}");
}

/// When the refresh is refused, the revoke that needs its `access_token` cannot be sent. That is
/// a consequence of the rejection, not invalid input, and the report should say so plainly.
#[test]
fn refused_refresh_leaves_the_revoke_unsent_without_calling_the_input_invalid() {
    let zoom = support::emulator();

    let t = support::run_bundled(
        &zoom.base_url(),
        &["--var", "ClientSecret=wrong-secret-value"],
    );

    assert!(matches!(t.code, 1 | 4), "the files are valid: {t}");
    t.assert_hides(&["{{ base_url }}", "error: invalid request: error:"]);
    assert_transcript!(t);
}

#[test]
fn verbose_shows_the_exchange_with_credentials_masked() {
    let zoom = support::emulator();

    let t = support::run_bundled(&zoom.base_url(), &["-v"]);

    assert_eq!(t.code, 0, "{t}");
    t.assert_shows(&[
        "> Authorization: Basic ***",
        "> grant_type=refresh_token&refresh_token=***",
        "< content-type: application/json",
        r#""access_token":"***","token_type":"bearer","refresh_token":"***""#,
        "> token=***",
    ]);
    // The seed values, the Basic credentials, and the tokens the emulator issued.
    t.assert_hides(&[
        CLIENT_SECRET,
        REFRESH_TOKEN,
        BASIC_CREDENTIALS,
        "emurt.",
        "emu.",
    ]);
    assert_transcript!(t);
}

/// The bundled Server-to-Server collection: an `account_credentials` token, then Zoom's API
/// with it, offline against the embedded emulator.
#[test]
fn the_server_to_server_collection_passes_against_the_emulator() {
    let t = support::run([
        "run",
        "collections/zoom-s2s",
        "--env",
        "environments/s2s/emulator.yaml",
        "--mock-zoom",
    ]);

    assert_eq!(t.code, 0, "{t}");
    t.assert_shows(&[
        "✓ Request access token",
        "✓ Get current user",
        "/v2/users/me → 200 OK",
        "2 requests: 2 passed",
    ]);
    t.assert_hides(&["courier-demo-s2s-secret"]);
}

/// A Server-to-Server app asking for another account's token is refused: exit 4, and the API
/// call that needs the token is not sent.
#[test]
fn the_server_to_server_collection_with_the_wrong_account_exits_4() {
    let seed = courier::mock::zoom::Seed {
        client_id: "courier-demo-s2s-client".into(),
        client_secret: "courier-demo-s2s-secret".into(),
        account_id: Some("the-right-account".into()),
        ..support::seed()
    };
    let zoom =
        courier::mock::zoom::ZoomMock::start_background(seed, "127.0.0.1:0".parse().unwrap())
            .expect("the emulator starts");

    let t = support::run_collection(
        "collections/zoom-s2s",
        "environments/s2s/emulator.yaml",
        &zoom.base_url(),
        &[],
    );

    assert_eq!(t.code, 4, "{t}");
    t.assert_shows(&["invalid_grant", "not run"]);
    assert_eq!(zoom.hits(), 1, "{t}");
}

/// `--dry-run` shows a request whose URL is a capture by the capture's default: what goes out
/// when the token answer names no API base.
#[test]
fn a_dry_run_shows_a_captured_url_by_its_default() {
    let t = support::run([
        "run",
        "collections/zoom-s2s",
        "--env",
        "environments/s2s/emulator.yaml",
        "--dry-run",
    ]);

    assert_eq!(t.code, 0, "{t}");
    t.assert_shows(&[
        "### Get current user\nGET https://api.zoom.us/v2/users/me HTTP/1.1",
        "Authorization: Bearer ***",
    ]);
}

/// The smoke check proves the token works: when Zoom's API refuses the access token the token
/// endpoint just issued, the run exits 4 with Zoom's words.
#[test]
fn an_access_token_the_api_refuses_exits_4() {
    let server = support::Server::start(|request| {
        Some(match request.path.starts_with(support::USERS_ME) {
            true => support::Reply::json_status(
                401,
                r#"{"code":124,"message":"Invalid access token."}"#,
            ),
            false => support::token_answer(request),
        })
    });

    let t = support::run_bundled(&server.url(), &["--tag", "smoke"]);

    assert_eq!(t.code, 4, "{t}");
    t.assert_shows(&[
        "✗ Get current user",
        "401 Unauthorized",
        "Invalid access token.",
    ]);
    t.assert_hides(&[support::FAKE_ACCESS_TOKEN]);
}

/// `vars:` checks read the variables as the request was sent, before its captures; a
/// `{ value: … }` capture is there for the requests after it.
#[test]
fn variable_checks_read_the_values_each_request_was_sent_with() {
    let server = support::Server::answering_json(r#"{"ok": true}"#);
    let first = "name: First\nmethod: GET\nurl: \"{{ base_url }}/a\"\n\
                 assert:\n  vars:\n    stage: { exists: false }\n    base_url: { truthy: true }\n\
                 capture:\n  stage: { value: done }\n";
    let second = "name: Second\nmethod: GET\nurl: \"{{ base_url }}/b?stage={{ stage }}\"\n\
                  assert:\n  vars:\n    stage: done\n    count: { loosely_equals: \"2\" }\n";
    let third = "name: Third\nmethod: GET\nurl: \"{{ base_url }}/c\"\n\
                 assert:\n  vars:\n    stage: { equals: other }\n";
    let project = Project::collection(&[
        ("first.yaml", first),
        ("second.yaml", second),
        ("third.yaml", third),
    ]);
    let t = support::run(
        [
            "run",
            &project.dir(),
            "--var",
            &format!("base_url={}", server.url()),
        ]
        .into_iter()
        .chain(["--var", "count=2"]),
    );

    assert_eq!(t.code, 1, "{t}");
    t.assert_shows(&[
        "✓ variable stage does not exist",
        "✓ variable stage == \"done\"",
        "✓ variable count == \"2\"",
        "✗ variable stage == \"other\"",
    ]);
    assert!(server.requests()[1].path.ends_with("?stage=done"));
}

/// `auth: { digest: … }` answers the server's challenge once: the right password gets in, a
/// wrong one gets the second 401 (credentials rejected), and neither shows in the output.
#[test]
fn digest_auth_answers_the_challenge_once() {
    let server = crate::echo::start();
    let request = |password: &str| {
        format!(
            "name: Digest\nmethod: GET\nurl: \"{{{{ base_url }}}}/digest-auth\"\n\
             auth:\n  digest: {{ username: postman, password: \"{password}\" }}\n\
             assert:\n  status: 200\n  json:\n    $.authenticated: true\n"
        )
    };
    let run = |password: &str| {
        let project = Project::collection(&[("digest.yaml", &request(password))]);
        support::run([
            "run",
            &project.dir(),
            "-v",
            "--var",
            &format!("base_url={}", server.url()),
        ])
    };

    let good = run("password");
    assert_eq!(good.code, 0, "{good}");
    let requests = server.requests();
    assert_eq!(requests.len(), 2, "the challenge, then the answer");
    assert!(requests[0].header("authorization").is_none());
    assert!(
        requests[1]
            .header("authorization")
            .unwrap()
            .starts_with("Digest username=\"postman\"")
    );

    let bad = run("wrong-secret");
    assert_eq!(bad.code, 4, "{bad}");
    bad.assert_hides(&["wrong-secret"]);
    assert_eq!(server.requests().len(), 4, "one answer, not a loop");
}

/// `unset:` removes variables from the pass after the request's captures: a strict collection
/// refuses a later use before anything is sent; with `undefined: literal`, the later request
/// sends `{{name}}`, as Postman does after `pm.environment.unset`. The next pass has it again.
#[test]
fn unset_removes_a_variable_for_the_rest_of_the_pass() {
    let server = crate::support::Server::start(|r| {
        Some(crate::support::Reply::json(&format!(
            r#"{{"path":"{}"}}"#,
            r.path
        )))
    });
    let first = "name: First\nmethod: GET\nurl: \"{{ base_url }}/a/{{ x }}\"\nunset: [x]\n";
    let second = "name: Second\nmethod: GET\nurl: \"{{ base_url }}/b/{{ x }}\"\n";
    let run = |head: &str| {
        let project = Project::new(&[
            (
                "collection.yaml",
                &format!(
                    "name: U\n{head}variables:\n  x: one\nrequests: [first.yaml, second.yaml]\n"
                ),
            ),
            ("first.yaml", first),
            ("second.yaml", second),
        ]);
        support::run([
            "run",
            &project.dir(),
            "-n",
            "2",
            "--var",
            &format!("base_url={}", server.url()),
        ])
    };
    let strict = run("");
    assert_eq!(strict.code, 2, "{strict}");
    strict.assert_shows(&[
        "variable `x` is unset before it is used",
        "`First` unsets it",
    ]);
    assert_eq!(server.hits(), 0);

    let literal = run("undefined: literal\n");
    assert_eq!(literal.code, 0, "{literal}");
    let paths: Vec<String> = server.requests().iter().map(|r| r.path.clone()).collect();
    assert_eq!(
        paths,
        ["/a/one", "/b/%7B%7Bx%7D%7D", "/a/one", "/b/%7B%7Bx%7D%7D"]
    );
}

/// `assert: request:` checks the request as sent: its URL and headers, `Host` included; a
/// failed check on a credential header shows it masked.
#[test]
fn request_checks_read_what_was_sent() {
    let server = crate::support::Server::start(|_| Some(crate::support::Reply::json("{}")));
    let request = |expected: &str| {
        format!(
            "name: Sent\nmethod: GET\nurl: \"{{{{ base_url }}}}/r\"\nquery:\n  page: 2\n\
             headers:\n  X-Trace: abc\nauth:\n  bearer: \"{{{{ token }}}}\"\n\
             assert:\n  request:\n    url: {{ contains: \"/r?page=2\" }}\n    headers:\n\
             \x20     x-trace: abc\n      Host: {{ exists: true }}\n      Cookie: {{ exists: false }}\n\
             \x20     Authorization: \"{expected}\"\n"
        )
    };
    let run = |expected: &str| {
        let project = Project::collection(&[("sent.yaml", &request(expected))]);
        support::run([
            "run",
            &project.dir(),
            "--var",
            &format!("base_url={}", server.url()),
            "--var",
            "token=tok-s3cret",
        ])
    };
    let good = run("Bearer tok-s3cret");
    assert_eq!(good.code, 0, "{good}");
    let bad = run("Bearer other");
    assert_eq!(bad.code, 1, "{bad}");
    bad.assert_shows(&["request header Authorization"]);
    bad.assert_hides(&["tok-s3cret"]);
}

/// `auth: { oauth1: … }` signs each send (HMAC-SHA1 over the method, URL, query and form body)
/// as the echo imitation verifies it with postman-echo's consumer secret; a wrong secret is
/// refused (exit 4) and never shown, and every send has its own nonce.
#[test]
fn oauth1_signs_what_the_server_verifies() {
    let server = crate::echo::start();
    let request = |secret: &str| {
        format!(
            "name: OAuth1\nmethod: POST\nurl: \"{{{{ base_url }}}}/oauth1?page=2&q=a b\"\n\
             auth:\n  oauth1:\n    consumer_key: RKCGzna7bv9YD57c\n    consumer_secret: \"{secret}\"\n\
             form:\n  note: \"50% off & more\"\n\
             assert:\n  status: 200\n  json:\n    $.status: pass\n"
        )
    };
    let run = |secret: &str| {
        let project = Project::collection(&[("oauth1.yaml", &request(secret))]);
        support::run([
            "run",
            &project.dir(),
            "-v",
            "-n",
            "2",
            "--var",
            &format!("base_url={}", server.url()),
        ])
    };

    let good = run("D+EdQ-gs$-%@2Nu7");
    assert_eq!(good.code, 0, "{good}");
    good.assert_hides(&["D+EdQ-gs$-%@2Nu7", "D%2BEdQ-gs%24-%25%402Nu7"]);
    let nonce = |i: usize| {
        let requests = server.requests();
        let header = requests[i].header("authorization").unwrap().to_string();
        assert!(header.starts_with("OAuth "), "{header}");
        header
            .split(", ")
            .find(|p| p.starts_with("oauth_nonce="))
            .unwrap()
            .to_string()
    };
    assert_ne!(nonce(0), nonce(1), "a fresh nonce each send");

    let bad = run("not-the-secret");
    assert_eq!(bad.code, 4, "{bad}");
    bad.assert_hides(&["not-the-secret"]);
}

/// `in: query` puts the `oauth_*` parameters in the URL, and no `Authorization` header.
#[test]
fn oauth1_in_query_signs_the_url() {
    let server = crate::support::Server::start(|_| Some(crate::support::Reply::json("{}")));
    let request = "name: Q\nmethod: GET\nurl: \"{{ base_url }}/r?x=1\"\n\
                   auth:\n  oauth1:\n    consumer_key: key\n    consumer_secret: s3cret\n    token: tok\n    token_secret: tsecret\n    signature_method: HMAC-SHA256\n    in: query\n";
    let project = Project::collection(&[("q.yaml", request)]);
    let t = support::run([
        "run",
        &project.dir(),
        "--var",
        &format!("base_url={}", server.url()),
    ]);
    assert_eq!(t.code, 0, "{t}");
    let sent = &server.requests()[0];
    assert!(sent.header("authorization").is_none());
    for part in [
        "x=1",
        "oauth_consumer_key=key",
        "oauth_token=tok",
        "oauth_signature_method=HMAC-SHA256",
        "oauth_signature=",
    ] {
        assert!(sent.path.contains(part), "{part} in {}", sent.path);
    }
    t.assert_hides(&["s3cret", "tsecret"]);
}

/// A 401 the request asserts is what its author expects (a probe of the challenge), not a
/// rejection; one it does not assert still is (exit 4).
#[test]
fn an_asserted_401_is_no_rejection() {
    let server = crate::echo::start();
    let run = |assert: &str| {
        let request =
            format!("name: Probe\nmethod: GET\nurl: \"{{{{ base_url }}}}/digest-auth\"\n{assert}");
        let project = Project::collection(&[("probe.yaml", &request)]);
        support::run([
            "run",
            &project.dir(),
            "--var",
            &format!("base_url={}", server.url()),
        ])
    };
    let probe =
        run("assert:\n  status: 401\n  headers:\n    WWW-Authenticate: { contains: Digest }\n");
    assert_eq!(probe.code, 0, "{probe}");
    let plain = run("");
    assert_eq!(plain.code, 4, "{plain}");
    plain.assert_shows(&["the server refused the credentials (401 Unauthorized)"]);
}
