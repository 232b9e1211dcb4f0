//! What the network can do to a run: an HTML page where JSON was expected, a server that never
//! answers, a port where nothing listens, and redirects (credentials stay with their origin).

use std::time::{Duration, Instant};

use courier::http::PROXY_VARIABLES;

use crate::support::{
    self, BASIC_CREDENTIALS, Project, Reply, Server, TlsServer, assert_transcript,
};

/// A GET with Basic credentials, to see which hop of a redirect receives them.
const AUTHENTICATED_GET: &str = r#"name: Follow the redirect
method: GET
url: "{{ base_url }}/start"
auth:
  basic:
    username: "{{ ClientID }}"
    password: "{{ ClientSecret }}"
"#;

#[test]
fn json_assertion_on_an_html_page_fails_cleanly() {
    let zoom = support::emulator();
    let project = Project::collection(&[(
        "not-found.yaml",
        r#"name: Unknown path
method: POST
url: "{{ base_url }}/nope"
assert:
  status: 200
  json:
    $.access_token: { type: string }
"#,
    )]);

    let t = project.run(&zoom.base_url(), &[]);

    assert_eq!(t.code, 1, "{t}");
    t.assert_shows(&[
        "the body is not JSON (content-type text/html;charset=utf-8): <!DOCTYPE html>",
    ]);
    assert_transcript!(t, @r#"
        exit_code: 1
        ----- stdout -----
        Test collection · 1 request · environments/emulator.yaml

        ✗ Unknown path
          POST http://127.0.0.1:[PORT]/nope → 404 Not Found · [TIME]
          ✗ status 200
              expected  200
              actual    404
              at [TEMP]/not-found.yaml:5:11
          ✗ $.access_token (JSON)
              expected  a JSON body
              actual    the body is not JSON (content-type text/html;charset=utf-8): <!DOCTYPE html><html><head><title>Error - Zoom</title></head><body><h1>404</h1><p>The page you requested was not found.<…
              at [TEMP]/not-found.yaml:7:5
          response body: <!DOCTYPE html><html><head><title>Error - Zoom</title></head><body><h1>404</h1><p>The page you requested was not found.</p></body></html>

        1 request: 0 passed, 1 failed · 2 checks: 0 passed, 2 failed · [TIME]

        ----- stderr -----
        "#);
}

#[test]
fn a_server_that_never_answers_times_out() {
    let server = Server::silent();
    let started = Instant::now();

    let t = support::run_bundled(&server.url(), &["--timeout", "300ms"]);

    assert_eq!(t.code, 3, "{t}");
    t.assert_shows(&["no answer within 300ms"]);
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "took {:?}",
        started.elapsed()
    );
    assert_eq!(server.hits(), 1, "the run stops at the first request");
    assert_transcript!(t, @r#"
        exit_code: 3
        ----- stdout -----
        Zoom OAuth · 3 requests · environments/emulator.yaml

        ✗ Refresh access token
          POST http://127.0.0.1:[PORT]/oauth/token
          error: transport failure: no answer within 300ms (raise it with `--timeout` or `timeout:` in the request file). The request went out but its answer was lost: the server may have rotated `refresh_token` already, and a new value courier never received cannot be saved. The state file `[TEMP]/state.yaml` still holds the value of `refresh_token` that was sent. It was not sent again: if it was spent, a second send fails and tells the server nothing. Run once more: exit 0 means it was not spent; exit 4 (invalid_grant) means it was, and the app must be authorized again

        – Get current user
          not run: the run stopped when `Refresh access token` had a transport failure

        – Revoke access token
          not run: the run stopped when `Refresh access token` had a transport failure

        3 requests: 0 passed, 1 failed, 2 not run · 0 checks: 0 passed · [TIME]

        ----- stderr -----
        "#);
}

#[test]
fn connection_refused_is_a_transport_failure() {
    let url = format!("http://127.0.0.1:{}", support::closed_port());

    let t = support::run_bundled(&url, &[]);

    assert_eq!(t.code, 3, "{t}");
    t.assert_shows(&["cannot connect"]);
}

#[test]
fn cross_origin_redirect_leaves_the_credentials_behind() {
    let elsewhere = Server::answering_json(r#"{"ok":true}"#);
    let target = format!("{}/landing", elsewhere.url());
    let origin = Server::start(move |_| Some(Reply::redirect(307, &target)));
    let project = Project::collection(&[("follow.yaml", AUTHENTICATED_GET)]);

    let t = project.run(&origin.url(), &[]);

    assert_eq!(t.code, 0, "{t}");
    let sent = origin.requests();
    assert_eq!(sent[0].header("authorization"), Some(basic().as_str()));
    let landed = elsewhere.requests();
    assert_eq!(landed.len(), 1, "{t}");
    assert_eq!(
        (landed[0].method.as_str(), landed[0].path.as_str()),
        ("GET", "/landing")
    );
    assert_eq!(landed[0].header("authorization"), None);
}

#[test]
fn same_origin_redirect_keeps_the_credentials() {
    let server = Server::start(|request| {
        Some(match request.path.as_str() {
            "/start" => Reply::redirect(307, "/landing"),
            _ => Reply::json(r#"{"ok":true}"#),
        })
    });
    let project = Project::collection(&[("follow.yaml", AUTHENTICATED_GET)]);

    let t = project.run(&server.url(), &[]);

    assert_eq!(t.code, 0, "{t}");
    let sent = server.requests();
    assert_eq!(sent.len(), 2, "{t}");
    assert_eq!(sent[1].path, "/landing");
    assert_eq!(sent[1].header("authorization"), Some(basic().as_str()));
}

#[test]
fn redirects_zero_stops_at_the_first_answer() {
    let elsewhere = Server::answering_json(r#"{"ok":true}"#);
    let target = format!("{}/landing", elsewhere.url());
    let origin = Server::start(move |_| Some(Reply::redirect(302, &target)));
    let request = format!("{AUTHENTICATED_GET}redirects: 0\nassert:\n  status: 302\n");
    let project = Project::collection(&[("follow.yaml", &request)]);

    let t = project.run(&origin.url(), &[]);

    assert_eq!(t.code, 0, "{t}");
    assert_eq!(origin.hits(), 1);
    assert_eq!(elsewhere.hits(), 0);
}

fn basic() -> String {
    format!("Basic {BASIC_CREDENTIALS}")
}

/// `--proxy` sends every request through the proxy, in absolute form. The target host is
/// `.invalid`, so only the loopback proxy can have answered.
#[test]
fn proxy_carries_the_request() {
    let proxy = Server::answering_json(r#"{"ok":true}"#);
    let project = Project::collection(&[("follow.yaml", AUTHENTICATED_GET)]);

    let t = project.run("http://courier-test.invalid", &["--proxy", &proxy.url()]);

    assert_eq!(t.code, 0, "{t}");
    let sent = proxy.requests();
    assert_eq!(sent.len(), 1, "{t}");
    assert_eq!(sent[0].path, "http://courier-test.invalid/start");
}

/// Without `--proxy`, the environment's `HTTP_PROXY` applies, as in curl. courier reads the
/// proxy variables once, when it makes its client, and asks no more when none is set.
#[test]
fn the_environments_proxy_carries_the_request() {
    let proxy = Server::answering_json(r#"{"ok":true}"#);
    let project = Project::collection(&[("follow.yaml", AUTHENTICATED_GET)]);
    let mut command = support::run_command(
        &project.dir(),
        support::EMULATOR_ENV,
        "http://courier-test.invalid",
        &[],
    );
    for name in PROXY_VARIABLES.iter().chain(&["NO_PROXY", "no_proxy"]) {
        command.env_remove(name);
    }
    command.env("HTTP_PROXY", proxy.url());

    let t = support::transcript(&mut command);

    assert_eq!(t.code, 0, "{t}");
    let sent = proxy.requests();
    assert_eq!(sent.len(), 1, "{t}");
    assert_eq!(sent[0].path, "http://courier-test.invalid/start");
}

/// `courier run` of [`AUTHENTICATED_GET`] against `url`, with no proxy variable (so that TLS
/// waits for the first https:// request), the system's roots from `ssl_cert_file` if given.
fn run_tls(url: &str, ssl_cert_file: Option<&str>, extra: &[&str]) -> support::Transcript {
    let project = Project::collection(&[("follow.yaml", AUTHENTICATED_GET)]);
    let mut command = support::run_command(&project.dir(), support::EMULATOR_ENV, url, extra);
    for name in PROXY_VARIABLES
        .iter()
        .chain(&["SSL_CERT_FILE", "SSL_CERT_DIR"])
    {
        command.env_remove(name);
    }
    if let Some(file) = ssl_cert_file {
        command.env("SSL_CERT_FILE", file);
    }
    support::transcript(&mut command)
}

/// With no TLS option, the first https:// request sets TLS up with the system's roots (here
/// the test CA, through `SSL_CERT_FILE`, as OpenSSL and curl read it).
#[test]
fn https_trusts_the_systems_roots() {
    let server = TlsServer::answering_json(r#"{"ok":true}"#);

    let t = run_tls(&server.url(), Some(support::TEST_CA), &[]);

    assert_eq!(t.code, 0, "{t}");
    assert_eq!(server.hits(), 1);
}

#[test]
fn https_trusts_a_cacert() {
    let server = TlsServer::answering_json(r#"{"ok":true}"#);

    let t = run_tls(&server.url(), None, &["--cacert", support::TEST_CA]);

    assert_eq!(t.code, 0, "{t}");
    assert_eq!(server.hits(), 1);
}

/// A certificate no trusted root signed ends the handshake: nothing is sent.
#[test]
fn https_refuses_a_certificate_nobody_trusts() {
    let server = TlsServer::answering_json(r#"{"ok":true}"#);

    let t = run_tls(&server.url(), None, &[]);

    assert_eq!(t.code, 3, "{t}");
    t.assert_shows(&["transport failure"]);
    assert_eq!(server.hits(), 0);
}

/// A `--cacert` file that holds no certificate is refused before anything is sent.
#[test]
fn a_cacert_without_certificates_is_refused() {
    let server = Server::answering_json(r#"{"ok":true}"#);
    let project = Project::collection(&[("follow.yaml", AUTHENTICATED_GET)]).with(
        "bad.pem",
        "-----BEGIN CERTIFICATE-----\nnot base64 at all\n-----END CERTIFICATE-----\n",
    );

    let t = project.run(&server.url(), &["--cacert", &project.file("bad.pem")]);

    assert_eq!(t.code, 2, "{t}");
    t.assert_shows(&["CA certificates of `--cacert`"]);
    assert_eq!(server.hits(), 0);
}

/// The guard in [`support::courier`]: an `https://` request to a host on the internet goes to a
/// proxy on a closed loopback port and fails at once, so no test can reach the internet by
/// mistake.
#[test]
fn a_test_cannot_reach_the_internet() {
    let project = Project::collection(&[(
        "me.yaml",
        "name: Me\nmethod: GET\nurl: https://api.zoom.us/v2/users/me\n",
    )]);
    let started = std::time::Instant::now();
    let t = support::transcript(&mut support::run_command(
        &project.dir(),
        support::EMULATOR_ENV,
        "http://127.0.0.1:9",
        &[],
    ));
    assert_eq!(t.code, 3, "{t}");
    // Through the dead proxy, not a DNS lookup: the request never left loopback.
    t.assert_shows(&["transport failure", "tunnel error"]);
    t.assert_hides(&["dns error"]);
    assert!(
        started.elapsed() < std::time::Duration::from_secs(10),
        "{t}"
    );
}

#[test]
fn a_transport_failure_leaves_the_independent_requests_running() {
    let server = Server::start(|_| Some(Reply::json(r#"{"id":"abc"}"#)));
    let nowhere = format!("http://127.0.0.1:{}", support::closed_port());
    let get = |name: &str, url: &str, extra: &str| {
        format!("name: {name}\nmethod: GET\nurl: \"{url}\"\n{extra}")
    };
    let project = Project::collection(&[
        (
            "down.yaml",
            &get("Down", &format!("{nowhere}/x"), "capture:\n  id: $.id\n"),
        ),
        ("up.yaml", &get("Up", &format!("{}/y", server.url()), "")),
        (
            "needs.yaml",
            &get(
                "Needs the id",
                &format!("{}/z/{{{{ id }}}}", server.url()),
                "",
            ),
        ),
    ]);

    let t = project.run(&server.url(), &["-q"]);

    assert_eq!(
        server.requests().len(),
        1,
        "only the independent request was sent"
    );
    assert_eq!(server.requests()[0].path, "/y");
    assert_transcript!(t, @r#"
        exit_code: 3
        ----- stdout -----
        ✗ Down
          GET http://127.0.0.1:[PORT]/x
          error: transport failure: cannot connect: error sending request for url (http://127.0.0.1:[PORT]/x): client error (Connect): tcp connect error: Connection refused (os error 111)

        – Needs the id
          not run: needs `id`, which `Down` did not capture

        3 requests: 1 passed, 1 failed, 1 not run · 0 checks: 0 passed · [TIME]

        ----- stderr -----
        "#);
}

/// Sets cookies at `/login` (then redirects to `/home`), and answers any other path with the
/// `Cookie` header it received.
fn cookie_server() -> Server {
    Server::start(|request| {
        Some(match request.path.as_str() {
            "/login" => Reply::redirect(302, "/home")
                .header("Set-Cookie", "theme=dark; Path=/")
                .header(
                    "Set-Cookie",
                    "sessionid=s3cret-session-value; Path=/; HttpOnly",
                ),
            _ => Reply::json(&format!(
                r#"{{"cookie":"{}"}}"#,
                request.header("cookie").unwrap_or("")
            )),
        })
    })
}

fn cookie_project(other_site: &str) -> Project {
    let get = |name: &str, path: &str, expect: &str| {
        format!(
            "name: {name}\nmethod: GET\nurl: \"{{{{ base_url }}}}{path}\"\nassert:\n  json:\n    $.cookie: \"{expect}\"\n"
        )
    };
    Project::collection(&[
        (
            "login.yaml",
            &get(
                "Log in",
                "/login",
                "theme=dark; sessionid=s3cret-session-value",
            ),
        ),
        (
            "again.yaml",
            &get(
                "Again",
                "/again",
                "theme=dark; sessionid=s3cret-session-value",
            ),
        ),
        (
            "other.yaml",
            &format!(
                "name: Other site\nmethod: GET\nurl: \"{other_site}/x\"\nassert:\n  json:\n    $.cookie: \"\"\n"
            ),
        ),
    ])
}

#[test]
fn cookies_set_by_an_answer_go_back_to_their_site_across_redirects_and_only_there() {
    let server = cookie_server();
    // The same server under another name is another site.
    let other = server.url().replace("127.0.0.1", "localhost");
    let project = cookie_project(&other);

    let t = project.run(&server.url(), &["-v"]);

    assert_eq!(t.code, 0, "{t}");
    // The redirect's target got the cookies its own hop set; the credential-like one is masked.
    t.assert_shows(&["Cookie: theme=dark; sessionid=***"]);
    t.assert_hides(&["s3cret-session-value"]);
    let sent: Vec<(String, Option<String>)> = server
        .requests()
        .iter()
        .map(|r| (r.path.clone(), r.header("cookie").map(str::to_string)))
        .collect();
    let with = Some("theme=dark; sessionid=s3cret-session-value".to_string());
    assert_eq!(
        sent,
        [
            ("/login".into(), None),
            ("/home".into(), with.clone()),
            ("/again".into(), with),
            ("/x".into(), None),
        ]
    );
}

#[test]
fn no_cookies_keeps_no_jar_and_each_pass_starts_empty() {
    let server = cookie_server();
    let project = cookie_project(&server.url().replace("127.0.0.1", "localhost"));

    let t = project.run(&server.url(), &["--no-cookies", "-q"]);
    assert_eq!(t.code, 1, "{t}");
    assert!(
        server
            .requests()
            .iter()
            .all(|r| r.header("cookie").is_none())
    );

    // Two passes: the second logs in again with an empty jar.
    let server = cookie_server();
    let project = cookie_project(&server.url().replace("127.0.0.1", "localhost"));
    let t = project.run(&server.url(), &["-n", "2", "-q"]);
    assert_eq!(t.code, 0, "{t}");
    let requests = server.requests();
    let logins: Vec<Option<&str>> = requests
        .iter()
        .filter(|r| r.path == "/login")
        .map(|r| r.header("cookie"))
        .collect();
    assert_eq!(logins, [None, None]);
}
