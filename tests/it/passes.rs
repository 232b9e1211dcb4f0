//! Passes end to end: `-n`, `--data` (CSV and JSON), several `--env` files (and a quoted glob),
//! `--jobs`, `--shard`, plus `--max-body` and `--quiet`. Each test runs a small collection
//! against a loopback server that records every request, so the server's log proves which pass
//! sent which values; the emulator appears only where state files are the point, one emulator
//! per environment, since it rotates its refresh token.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use courier::mock::zoom::{Seed, ZoomMock};
use serde_json::Value;

use crate::support::{self, BUNDLED, Project, Recorded, Reply, Server, Transcript};

/// A sends the pass's `user` and `pass_label` and captures `x` from the answer; B sends `user`
/// and `x` back, so the server can tell whose capture B carries.
const COLLECTION: &str = "name: Passes\nrequests:\n  - a.yaml\n  - b.yaml\n";
const REQUEST_A: &str = r#"name: A
method: POST
url: "{{ base_url }}/a"
json: { user: "{{ user }}", pass: "{{ pass_label }}" }
assert:
  status: 200
capture:
  x: $.n
"#;
const REQUEST_B: &str = r#"name: B
method: POST
url: "{{ base_url }}/b"
json: { user: "{{ user }}", x: "{{ x }}" }
assert:
  status: 200
"#;
/// The values a pass falls back on when neither a data row nor `--var` gives one.
const ENVIRONMENT: &str = "name: Defaults\nvariables:\n  user: env-user\n  pass_label: env-label\n";

/// The collection above with its environment as `env.yaml`, and `extra` files beside them.
fn project(extra: &[(&str, &str)]) -> Project {
    let mut files = vec![
        ("collection.yaml", COLLECTION),
        ("a.yaml", REQUEST_A),
        ("b.yaml", REQUEST_B),
        ("env.yaml", ENVIRONMENT),
    ];
    files.extend_from_slice(extra);
    Project::new(&files)
}

/// `courier run PROJECT --env PROJECT/env.yaml --var base_url=SERVER EXTRA…`
fn run(project: &Project, server: &Server, extra: &[&str]) -> Transcript {
    support::run_collection(
        &project.dir(),
        &project.file("env.yaml"),
        &server.url(),
        extra,
    )
}

/// Answers each request `{"n": "USER/K"}`: the `user` of its JSON body and its arrival number,
/// so a capture of `$.n` is unique and names the pass that made it.
fn numbering_server() -> Server {
    let answer = numbering_answer();
    Server::start(move |request| Some(answer(request)))
}

/// The answer of [`numbering_server`], for servers that wrap it.
fn numbering_answer() -> impl Fn(&Recorded) -> Reply + Send + Sync + 'static {
    let count = AtomicUsize::new(0);
    move |request| {
        let k = count.fetch_add(1, Ordering::SeqCst) + 1;
        let user = body(request)["user"].as_str().unwrap_or("-").to_string();
        Reply::json(&serde_json::json!({ "n": format!("{user}/{k}") }).to_string())
    }
}

fn body(request: &Recorded) -> Value {
    serde_json::from_str(&request.body).unwrap_or(Value::Null)
}

/// The JSON bodies the server received on `path`, in arrival order.
fn bodies(server: &Server, path: &str) -> Vec<Value> {
    server
        .requests()
        .iter()
        .filter(|r| r.path == path)
        .map(body)
        .collect()
}

/// The pass labels of the blocks of request `name`, in print order: `✓ A · iteration 2` gives
/// `iteration 2`.
fn labels(stdout: &str, name: &str) -> Vec<String> {
    stdout
        .lines()
        .filter_map(|line| {
            let rest = line
                .strip_prefix("✓ ")
                .or_else(|| line.strip_prefix("✗ "))?;
            rest.strip_prefix(name)?
                .strip_prefix(" · ")
                .map(str::to_string)
        })
        .collect()
}

/// The closing line of the console report.
fn summary_line(t: &Transcript) -> &str {
    t.stdout
        .lines()
        .rfind(|l| !l.trim().is_empty())
        .unwrap_or_default()
}

#[test]
fn iterations_send_each_request_once_per_pass() {
    let server = numbering_server();
    let project = project(&[]);

    let t = run(&project, &server, &["-n", "3", "--request", "A"]);

    assert_eq!(t.code, 0, "{t}");
    assert_eq!(server.hits(), 3, "{t}");
    assert_eq!(
        labels(&t.stdout, "A"),
        ["iteration 1", "iteration 2", "iteration 3"]
    );
    assert!(t.stdout.starts_with("Passes · 1 request × 3 passes"), "{t}");
    assert!(
        summary_line(&t).starts_with("3 requests: 3 passed · 3 checks: 3 passed"),
        "{t}"
    );
}

/// The awkward corners of CSV at once: a byte-order mark, a quoted cell holding a comma and a
/// line break, and an empty cell (which is an empty value, not a fall back on the environment).
#[test]
fn each_csv_row_runs_once_with_exactly_its_values() {
    let server = numbering_server();
    let project = project(&[(
        "rows.csv",
        "\u{feff}user,pass_label\nalice,\"a, b\nc\"\nbob,\n",
    )]);

    let t = run(
        &project,
        &server,
        &["--data", &project.file("rows.csv"), "--request", "A"],
    );

    assert_eq!(t.code, 0, "{t}");
    assert_eq!(
        bodies(&server, "/a"),
        [
            serde_json::json!({ "user": "alice", "pass": "a, b\nc" }),
            serde_json::json!({ "user": "bob", "pass": "" }),
        ]
    );
    assert_eq!(labels(&t.stdout, "A"), ["row 1", "row 2"]);
    assert!(summary_line(&t).starts_with("2 requests: 2 passed"), "{t}");
}

#[test]
fn each_json_row_runs_once_with_exactly_its_values() {
    let server = numbering_server();
    let project = project(&[(
        "rows.json",
        r#"[{"user": "carol", "pass_label": "first"}, {"user": "dave", "pass_label": 2}]"#,
    )]);

    let t = run(
        &project,
        &server,
        &["--data", &project.file("rows.json"), "--request", "A"],
    );

    assert_eq!(t.code, 0, "{t}");
    assert_eq!(
        bodies(&server, "/a"),
        [
            serde_json::json!({ "user": "carol", "pass": "first" }),
            serde_json::json!({ "user": "dave", "pass": "2" }),
        ]
    );
    assert_eq!(labels(&t.stdout, "A"), ["row 1", "row 2"]);
}

/// Precedence, lowest first: environment < data row < `--var`. A column the row lacks falls
/// back on the environment.
#[test]
fn a_row_beats_the_environment_and_var_beats_the_row() {
    let server = numbering_server();
    let project = project(&[("rows.csv", "pass_label\nfrom-row-1\nfrom-row-2\n")]);

    let t = run(
        &project,
        &server,
        &[
            "--data",
            &project.file("rows.csv"),
            "--request",
            "A",
            "--var",
            "pass_label=from-var",
        ],
    );
    let only_rows = run(
        &project,
        &server,
        &["--data", &project.file("rows.csv"), "--request", "A"],
    );

    assert_eq!(t.code, 0, "{t}");
    assert_eq!(only_rows.code, 0, "{only_rows}");
    let sent = bodies(&server, "/a");
    let pairs: Vec<(&str, &str)> = sent
        .iter()
        .map(|b| (b["user"].as_str().unwrap(), b["pass"].as_str().unwrap()))
        .collect();
    assert_eq!(
        pairs,
        [
            ("env-user", "from-var"),
            ("env-user", "from-var"),
            ("env-user", "from-row-1"),
            ("env-user", "from-row-2"),
        ]
    );
}

#[test]
fn each_pass_keeps_its_own_captures() {
    let server = numbering_server();
    let project = project(&[]);

    let t = run(&project, &server, &["-n", "3"]);

    assert_eq!(t.code, 0, "{t}");
    let paths: Vec<String> = server.requests().into_iter().map(|r| r.path).collect();
    assert_eq!(paths, ["/a", "/b", "/a", "/b", "/a", "/b"]);
    // One pass at a time: A of pass k is request 2k-1, so its answer is `env-user/(2k-1)`.
    let carried: Vec<Value> = bodies(&server, "/b")
        .iter()
        .map(|b| b["x"].clone())
        .collect();
    assert_eq!(carried, ["env-user/1", "env-user/3", "env-user/5"]);
    assert_eq!(
        labels(&t.stdout, "B"),
        ["iteration 1", "iteration 2", "iteration 3"]
    );
}

/// A request built for one pass is sent again as is only when rebuilding it would give the
/// same bytes: a template that calls `uuid()` is rendered afresh on every pass.
#[test]
fn a_template_calling_a_function_renders_afresh_each_pass() {
    let server = numbering_server();
    let project = project(&[(
        "a.yaml",
        "name: A\nmethod: POST\nurl: \"{{ base_url }}/a\"\nheaders:\n  X-Request-Id: \"{{ uuid() }}\"\njson: { user: \"{{ user }}\" }\n",
    )]);

    let t = run(&project, &server, &["-n", "3", "--request", "A"]);

    assert_eq!(t.code, 0, "{t}");
    let ids: BTreeSet<String> = server
        .requests()
        .iter()
        .filter_map(|r| r.header("x-request-id").map(str::to_string))
        .collect();
    assert_eq!(ids.len(), 3, "{ids:?}");
}

/// The same isolation while passes run at the same time: each B carries the answer its own
/// pass's A got, told apart by the row's `user`, which the server puts into the answer.
#[test]
fn concurrent_passes_keep_their_own_captures() {
    let server = numbering_server();
    let project = project(&[("rows.csv", "user\nu1\nu2\nu3\nu4\n")]);

    let t = run(
        &project,
        &server,
        &["--data", &project.file("rows.csv"), "--jobs", "4"],
    );

    assert_eq!(t.code, 0, "{t}");
    let mut seen = BTreeSet::new();
    for b in bodies(&server, "/b") {
        let (user, x) = (b["user"].as_str().unwrap(), b["x"].as_str().unwrap());
        assert!(
            x.starts_with(&format!("{user}/")),
            "B of `{user}` carries `{x}`, captured by another pass"
        );
        seen.insert(user.to_string());
    }
    assert_eq!(
        seen,
        BTreeSet::from(["u1", "u2", "u3", "u4"].map(String::from))
    );
}

// ---------------------------------------------------------------------------
// Several environments

/// An emulator seeded with its own refresh token (and client), one per environment.
fn emulator_with(client_secret: &str, refresh_token: &str) -> ZoomMock {
    let seed = Seed {
        client_secret: client_secret.into(),
        refresh_token: refresh_token.into(),
        ..support::seed()
    };
    ZoomMock::start_background(seed, "127.0.0.1:0".parse().unwrap()).expect("the emulator starts")
}

/// An environment for `zoom` that keeps its refresh token in a state file.
fn persisting_environment(name: &str, zoom: &ZoomMock, secret: &str, token: &str) -> String {
    format!(
        "name: {name}\n\
         variables:\n  \
           base_url: {}\n  \
           ClientID: {}\n  \
           ClientSecret: {secret}\n  \
           refresh_token: {token}\n\
         secrets: [ClientSecret, refresh_token, access_token]\n\
         persist: [refresh_token]\n",
        zoom.base_url(),
        support::CLIENT_ID,
    )
}

/// Each environment runs once, labelled with its file stem, against its own emulator, and saves
/// its rotated token to its own state file. A second run through a quoted glob finds the two
/// environments again (not their state files), and each resumes from its own state.
#[test]
fn each_environment_is_a_pass_with_its_own_state_file() {
    let zoom_a = emulator_with("secret-of-a", "first-token-of-a");
    let zoom_b = emulator_with("secret-of-b", "first-token-of-b");
    let project = Project::new(&[
        (
            "envs/a.yaml",
            &persisting_environment("A", &zoom_a, "secret-of-a", "first-token-of-a"),
        ),
        (
            "envs/b.yaml",
            &persisting_environment("B", &zoom_b, "secret-of-b", "first-token-of-b"),
        ),
    ]);
    let (env_a, env_b) = (project.file("envs/a.yaml"), project.file("envs/b.yaml"));
    let state = |name: &str| project.path().join("envs").join(name);

    let first = support::run([
        "run", BUNDLED, "--tag", "smoke", "--env", &env_a, "--env", &env_b,
    ]);

    assert_eq!(first.code, 0, "{first}");
    assert_eq!((zoom_a.hits(), zoom_b.hits()), (2, 2), "{first}");
    assert_eq!(
        labels(&first.stdout, "Refresh access token"),
        ["a", "b"],
        "{first}"
    );
    let live_a = zoom_a.live_refresh_token().expect("grant a is alive");
    let live_b = zoom_b.live_refresh_token().expect("grant b is alive");
    assert_eq!(
        support::saved_refresh_token(state("a.state.yaml")).value,
        live_a
    );
    assert_eq!(
        support::saved_refresh_token(state("b.state.yaml")).value,
        live_b
    );
    first.assert_hides(&[&live_a, &live_b, "first-token-of-a", "secret-of-b"]);

    // The environment files still hold the spent first tokens: only the states can pass now.
    let glob = project.path().join("envs").join("*.yaml");
    let second = support::run([
        "run",
        BUNDLED,
        "--tag",
        "smoke",
        "--env",
        &glob.display().to_string(),
        "--jobs",
        "2",
    ]);

    assert_eq!(second.code, 0, "{second}");
    assert!(
        second
            .stdout
            .starts_with("Zoom OAuth · 2 requests × 2 passes"),
        "the state files are no environments: {second}"
    );
    assert_eq!((zoom_a.hits(), zoom_b.hits()), (4, 4), "{second}");
    let mut second_labels = labels(&second.stdout, "Refresh access token");
    second_labels.sort();
    assert_eq!(second_labels, ["a", "b"]);
    for (zoom, file, before) in [
        (&zoom_a, "a.state.yaml", &live_a),
        (&zoom_b, "b.state.yaml", &live_b),
    ] {
        let saved = support::saved_refresh_token(state(file));
        assert_eq!(Some(&saved.value), zoom.live_refresh_token().as_ref());
        assert_eq!(saved.previous.as_ref(), Some(before), "{file}");
    }
    let yaml_files: BTreeSet<String> = std::fs::read_dir(project.path().join("envs"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".yaml"))
        .collect();
    assert_eq!(
        yaml_files,
        BTreeSet::from(["a.yaml", "a.state.yaml", "b.yaml", "b.state.yaml"].map(String::from)),
        "no state file shared or left elsewhere"
    );
}

// ---------------------------------------------------------------------------
// --jobs and --shard

/// Answers like [`numbering_server`], but the first requests wait (up to a second) until two
/// are in flight at once, so `peak` proves the passes overlapped.
fn overlapping_server(peak: Arc<AtomicUsize>) -> Server {
    let inner = numbering_answer();
    let in_flight = Arc::new(AtomicUsize::new(0));
    Server::start(move |request| {
        let now = in_flight.fetch_add(1, Ordering::SeqCst) + 1;
        peak.fetch_max(now, Ordering::SeqCst);
        let start = Instant::now();
        while peak.load(Ordering::SeqCst) < 2 && start.elapsed() < Duration::from_secs(1) {
            std::thread::sleep(Duration::from_millis(5));
        }
        in_flight.fetch_sub(1, Ordering::SeqCst);
        Some(inner(request))
    })
}

/// The request blocks of a console report: the paragraphs between the heading and the summary.
fn blocks(stdout: &str) -> Vec<Vec<&str>> {
    let paragraphs: Vec<&str> = stdout.trim_end().split("\n\n").collect();
    let inner = &paragraphs[1..paragraphs.len() - 1];
    inner.iter().map(|p| p.lines().collect()).collect()
}

#[test]
fn jobs_run_passes_at_once_and_keep_each_block_whole() {
    let peak = Arc::new(AtomicUsize::new(0));
    let server = overlapping_server(peak.clone());
    let project = project(&[]);

    let t = run(&project, &server, &["-n", "6", "--jobs", "2"]);

    assert_eq!(t.code, 0, "{t}");
    assert_eq!(server.hits(), 12, "{t}");
    assert!(peak.load(Ordering::SeqCst) >= 2, "passes never overlapped");
    assert!(
        summary_line(&t).starts_with("12 requests: 12 passed · 12 checks: 12 passed"),
        "{t}"
    );
    let blocks = blocks(&t.stdout);
    assert_eq!(blocks.len(), 12, "{t}");
    let mut seen = BTreeSet::new();
    for block in &blocks {
        let (name, label) = block[0]
            .strip_prefix("✓ ")
            .and_then(|l| l.split_once(" · "))
            .unwrap_or_else(|| panic!("not a passing block heading: {block:?}\n{t}"));
        let path = if name == "A" { "/a" } else { "/b" };
        assert!(
            block[1].starts_with("  POST http://127.0.0.1:")
                && block[1].contains(&format!("{path} → 200 OK")),
            "`{}` is followed by another request's line: {block:?}",
            block[0]
        );
        assert!(block[2..].iter().all(|l| l.starts_with("  ")), "{block:?}");
        seen.insert((name.to_string(), label.to_string()));
    }
    let expected: BTreeSet<(String, String)> = (1..=6)
        .flat_map(|k| ["A", "B"].map(|n| (n.to_string(), format!("iteration {k}"))))
        .collect();
    assert_eq!(seen, expected);
}

/// The JSON and JUnit reports of a run of several passes say which pass each request belonged
/// to, as the console does.
#[test]
fn the_reports_attribute_each_request_to_its_pass() {
    let server = numbering_server();
    let project = project(&[]);
    let (json, junit) = (project.file("report.json"), project.file("junit.xml"));

    let t = run(
        &project,
        &server,
        &[
            "-n",
            "6",
            "--jobs",
            "2",
            "--report-json",
            &json,
            "--report-junit",
            &junit,
        ],
    );

    assert_eq!(t.code, 0, "{t}");
    let expected: BTreeSet<(String, String)> = (1..=6)
        .flat_map(|k| ["A", "B"].map(|n| (n.to_string(), format!("iteration {k}"))))
        .collect();
    let report: Value = serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    let requests = report["requests"].as_array().unwrap();
    assert_eq!(requests.len(), 12);
    let attributed: BTreeSet<(String, String)> = requests
        .iter()
        .map(|r| {
            let pass = r
                .get("pass")
                .and_then(Value::as_str)
                .unwrap_or_else(|| panic!("no `pass` in {r}"));
            (r["name"].as_str().unwrap().to_string(), pass.to_string())
        })
        .collect();
    assert_eq!(attributed, expected);
    let xml = std::fs::read_to_string(&junit).unwrap();
    for (name, label) in &expected {
        let testcase = format!(r#"<testcase name="{name}" classname="Passes · {label}""#);
        assert_eq!(xml.matches(&testcase).count(), 1, "`{testcase}` in\n{xml}");
    }
}

/// One environment run with `--jobs 2` is still one environment: the heading and the JSON
/// report name it, as they do with `--jobs 1`.
#[test]
fn jobs_keep_the_environment_in_the_heading_and_the_report() {
    let server = numbering_server();
    let project = project(&[]);
    let report = project.file("report.json");

    let t = run(
        &project,
        &server,
        &["-n", "4", "--jobs", "2", "--report-json", &report],
    );

    assert_eq!(t.code, 0, "{t}");
    let heading = t.stdout.lines().next().unwrap_or_default();
    assert!(heading.ends_with("env.yaml"), "{heading}");
    let json: Value = serde_json::from_str(&std::fs::read_to_string(&report).unwrap()).unwrap();
    assert!(
        json["environment"]
            .as_str()
            .is_some_and(|e| e.ends_with("env.yaml")),
        "{}",
        json["environment"]
    );
}

#[test]
fn shards_split_the_passes_without_overlap() {
    let server = numbering_server();
    let project = project(&[]);

    let mut all = Vec::new();
    for shard in ["1/3", "2/3", "3/3"] {
        let t = run(
            &project,
            &server,
            &["-n", "7", "--shard", shard, "--request", "A"],
        );
        assert_eq!(t.code, 0, "{t}");
        let labels = labels(&t.stdout, "A");
        assert!(!labels.is_empty(), "shard {shard} ran nothing: {t}");
        all.extend(labels);
    }

    let mut numbers: Vec<usize> = all
        .iter()
        .map(|l| {
            l.strip_prefix("iteration ")
                .and_then(|n| n.parse().ok())
                .unwrap_or_else(|| panic!("label `{l}`"))
        })
        .collect();
    numbers.sort_unstable();
    assert_eq!(numbers, (1..=7).collect::<Vec<_>>());
    assert_eq!(server.hits(), 7);
}

// ---------------------------------------------------------------------------
// --max-body and --quiet

/// A JSON body of exactly 100 bytes.
fn hundred_bytes() -> String {
    let body = format!(r#"{{"n":"{}"}}"#, "x".repeat(92));
    assert_eq!(body.len(), 100);
    body
}

/// A body over `--max-body` fails its request with a message that names the option; exit 3,
/// as for a transport failure. A body of exactly the limit is fine.
#[test]
fn a_body_over_max_body_fails_its_request() {
    let body = hundred_bytes();
    let server = Server::start(move |_| Some(Reply::json(&body)));
    let project = project(&[]);

    let t = run(&project, &server, &["--max-body", "10", "--request", "A"]);
    let at_limit = run(&project, &server, &["--max-body", "100", "--request", "A"]);
    let under = run(&project, &server, &["--max-body", "99", "--request", "A"]);

    assert_eq!(t.code, 3, "{t}");
    assert!(t.stdout.contains("✗ A"), "{t}");
    t.assert_shows(&["larger than 10 bytes", "`--max-body`"]);
    assert_eq!(at_limit.code, 0, "{at_limit}");
    assert_eq!(under.code, 3, "{under}");
}

/// A collection of one passing and one failing request.
fn fine_and_broken() -> Project {
    Project::collection(&[
        (
            "fine.yaml",
            "name: Fine\nmethod: GET\nurl: \"{{ base_url }}/fine\"\nassert: { status: 200 }\n",
        ),
        (
            "broken.yaml",
            "name: Broken\nmethod: GET\nurl: \"{{ base_url }}/broken\"\nassert: { status: 201 }\n",
        ),
    ])
}

#[test]
fn quiet_prints_the_failures_and_the_summary() {
    let server = Server::answering_json(r#"{"ok":true}"#);
    let project = fine_and_broken();

    let t = support::run([
        "run",
        &project.dir(),
        "--quiet",
        "--var",
        &format!("base_url={}", server.url()),
    ]);

    assert_eq!(t.code, 1, "{t}");
    assert_eq!(server.hits(), 2, "{t}");
    t.assert_hides(&["Fine", "/fine"]);
    t.assert_shows(&["✗ Broken", "/broken → 200 OK", "✗ status 201"]);
    assert!(
        summary_line(&t).starts_with("2 requests: 1 passed, 1 failed"),
        "{t}"
    );
}

/// Quiet, courier keeps no texts for passed checks, but still counts them: in the summary and
/// in the JUnit file's `assertions`.
#[test]
fn quiet_still_counts_every_check() {
    let server = Server::answering_json(r#"{"ok":true}"#);
    let project = Project::collection(&[(
        "three.yaml",
        "name: Three\nmethod: GET\nurl: \"{{ base_url }}/three\"\nassert:\n  status: 200\n  json:\n    $.ok: true\n    $.n: 3\n",
    )]);
    let junit = project.file("junit.xml");

    let t = support::run([
        "run",
        &project.dir(),
        "--quiet",
        "--report-junit",
        &junit,
        "--var",
        &format!("base_url={}", server.url()),
    ]);

    assert_eq!(t.code, 1, "{t}");
    assert!(
        summary_line(&t).contains("3 checks: 2 passed, 1 failed"),
        "{t}"
    );
    let xml = std::fs::read_to_string(&junit).expect("the JUnit file");
    assert!(xml.contains("1 of 3 checks failed"), "{xml}");
}

/// `--quiet`'s help says "Print only failures and the closing summary": a passing run prints
/// the summary line and nothing else.
#[test]
fn quiet_prints_nothing_but_the_summary_when_all_pass() {
    let server = Server::answering_json(r#"{"ok":true}"#);
    let project = fine_and_broken();

    let t = support::run([
        "run",
        &project.dir(),
        "--quiet",
        "--request",
        "Fine",
        "--var",
        &format!("base_url={}", server.url()),
    ]);

    assert_eq!(t.code, 0, "{t}");
    let lines: Vec<&str> = t.stdout.lines().filter(|l| !l.trim().is_empty()).collect();
    assert_eq!(lines.len(), 1, "{t}");
    assert!(lines[0].starts_with("1 request: 1 passed"), "{t}");
}

#[test]
fn a_short_csv_row_leaves_its_missing_cells_undefined_and_a_long_one_is_refused() {
    let server =
        Server::start(|request| Some(Reply::json(&format!(r#"{{"path":"{}"}}"#, request.path))));
    let request = (
        "get.yaml",
        "name: Get\nmethod: GET\nurl: \"{{ base_url }}/{{ a }}/x{{ b }}\"\n",
    );
    let project = Project::collection(&[request]).with("rows.csv", "a,b\none,1\ntwo\n");

    // Nothing else defines `b`: the preflight refuses the run before anything is sent, and
    // says which row lacks it.
    let t = project.run(&server.url(), &["--data", &project.file("rows.csv"), "-q"]);
    assert_eq!(t.code, 2, "{t}");
    t.assert_shows(&[
        "undefined variable `b`",
        "data row 2 is shorter than the first row: its missing cells are not defined",
    ]);
    assert_eq!(server.hits(), 0);

    // A collection value of that name shows through the missing cell, as in Newman.
    let project = project.with(
        "collection.yaml",
        "name: Test collection\nvariables:\n  b: \"-default\"\nrequests:\n  - get.yaml\n",
    );
    let t = project.run(&server.url(), &["--data", &project.file("rows.csv"), "-q"]);
    assert_eq!(t.code, 0, "{t}");
    let paths: Vec<String> = server.requests().iter().map(|r| r.path.clone()).collect();
    assert_eq!(paths, ["/one/x1", "/two/x-default"]);

    let project = project.with("rows.csv", "a,b\none,1,extra\n");
    let t = project.run(&server.url(), &["--data", &project.file("rows.csv")]);
    assert_eq!(t.code, 2, "{t}");
    t.assert_shows(&[
        "3 cells, but the first row names 2 variables",
        "rows.csv:2:7",
    ]);
}
