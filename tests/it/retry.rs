//! `--retry`: what the server says it did not process (503, 429, honouring `Retry-After` in
//! seconds or as an HTTP date) and connections never made are retried; a timeout is retried
//! only for an idempotent request that carries no persistent variable, since the lost answer
//! may have spent a single-use refresh token.

use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant, SystemTime};

use crate::support::{self, Project, REFRESH_TOKEN, Reply, Server};

/// A collection of one GET of `/status` that expects 200, with `headers` added.
fn status_check(headers: &str) -> Project {
    let request = format!(
        "name: Status\nmethod: GET\nurl: \"{{{{ base_url }}}}/status\"\n{headers}assert:\n  status: 200\n"
    );
    Project::collection(&[("status.yaml", &request)])
}

/// A server that answers its first request with `first()` and every later one with `{}`, and
/// the times the requests arrived.
fn fails_once(
    first: impl Fn() -> Reply + Send + Sync + 'static,
) -> (Server, Arc<Mutex<Vec<Instant>>>) {
    let arrivals = Arc::new(Mutex::new(Vec::new()));
    let seen = Arc::clone(&arrivals);
    let server = Server::start(move |_| {
        let mut seen = seen.lock().unwrap_or_else(PoisonError::into_inner);
        seen.push(Instant::now());
        Some(if seen.len() == 1 {
            first()
        } else {
            Reply::json("{}")
        })
    });
    (server, arrivals)
}

/// The time between the first two requests.
fn gap(arrivals: &Mutex<Vec<Instant>>) -> Duration {
    let arrivals = arrivals.lock().unwrap();
    arrivals[1] - arrivals[0]
}

fn unavailable_for_a_second() -> Reply {
    Reply::json_status(503, "{}").header("Retry-After", "1")
}

#[test]
fn a_503_with_retry_after_is_retried_after_the_wait() {
    let (server, arrivals) = fails_once(unavailable_for_a_second);

    let t = status_check("").run(&server.url(), &["--retry", "2"]);

    assert_eq!(t.code, 0, "{t}");
    assert_eq!(server.hits(), 2);
    assert!(gap(&arrivals) >= Duration::from_secs(1), "{t}");
}

#[test]
fn a_503_without_retry_fails() {
    let (server, _) = fails_once(unavailable_for_a_second);

    let t = status_check("").run(&server.url(), &[]);

    assert_eq!(t.code, 1, "{t}");
    assert_eq!(server.hits(), 1);
}

#[test]
fn a_429_with_an_http_date_waits_until_then_or_the_longest_wait() {
    let (server, arrivals) = fails_once(|| {
        let at = httpdate::fmt_http_date(SystemTime::now() + Duration::from_secs(30));
        Reply::json_status(429, "{}").header("Retry-After", &at)
    });

    let t = status_check("").run(&server.url(), &["--retry", "1", "--retry-max-wait", "1s"]);

    assert_eq!(t.code, 0, "{t}");
    assert_eq!(server.hits(), 2);
    // Half a minute away, capped at one second; a date that did not parse would have left a
    // backoff of half a second at most.
    let gap = gap(&arrivals);
    assert!(
        gap >= Duration::from_secs(1) && gap < Duration::from_secs(5),
        "{gap:?}: {t}"
    );
}

#[test]
fn a_timed_out_refresh_is_never_sent_again() {
    let server = Server::silent();
    let project = support::persisting_env();

    let t = project.refresh(
        &server.url(),
        REFRESH_TOKEN,
        &["--timeout", "200ms", "--retry", "3"],
    );

    assert_eq!(t.code, 3, "{t}");
    assert_eq!(server.hits(), 1, "{t}");
}

#[test]
fn a_timed_out_get_is_retried_unless_it_carries_a_persistent_variable() {
    for (headers, hits) in [
        ("", 2),
        ("headers:\n  X-Token: \"{{ refresh_token }}\"\n", 1),
    ] {
        let server = Server::silent();
        let project = status_check(headers).with("env.yaml", &support::persisting_env_text());

        let t = support::transcript(
            project
                .persisting_command(&project.dir(), &server.url(), REFRESH_TOKEN)
                .args(["--timeout", "200ms", "--retry", "1"]),
        );

        assert_eq!(t.code, 3, "{t}");
        assert_eq!(server.hits(), hits, "{headers:?}: {t}");
    }
}

#[test]
fn a_refused_connection_is_retried() {
    let url = format!("http://127.0.0.1:{}", support::closed_port());
    let project = Project::new(&[]);
    let report = project.file("report.json");
    let started = Instant::now();

    let t = support::run_bundled(&url, &["--retry", "1", "--report-json", &report]);

    assert_eq!(t.code, 3, "{t}");
    assert!(started.elapsed() < Duration::from_secs(5), "{t}");
    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&report).unwrap()).unwrap();
    assert_eq!(report["requests"][0]["retries"], 1, "{report}");
}
