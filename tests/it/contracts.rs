//! Response contracts: `schema:` checks against JSON Schemas, polling, snapshots and merged
//! shard reports, end to end, with the bad inputs each must refuse before sending.

use crate::support::{self, Project, Server, Transcript, assert_transcript};

/// A request to `/token` of the server, checked with `asserts` (indented under `assert:`).
fn request(asserts: &str) -> String {
    format!("name: Token\nmethod: GET\nurl: \"{{{{ base_url }}}}/token\"\nassert:\n{asserts}")
}

fn run(project: &Project, server: &Server) -> Transcript {
    project.run(&server.url(), &["--color", "never"])
}

const TOKEN_SCHEMA: &str = r#"{
  "type": "object",
  "required": ["access_token", "expires_in"],
  "properties": {
    "access_token": { "type": "string", "pattern": "^at-" },
    "expires_in": { "type": "integer", "minimum": 1 },
    "user": { "$ref": "user.yaml" }
  }
}"#;

const USER_SCHEMA: &str = "type: object\nrequired: [id]\nproperties:\n  id: { type: string }\n";

#[test]
fn a_schema_failure_names_where_what_and_which_rule_without_the_secret() {
    let server = Server::answering_json(
        r#"{"access_token":"sekrit-9f8e7d6c","expires_in":"3599","user":{"id":7}}"#,
    );
    let project =
        Project::collection(&[("token.yaml", &request("  schema: schemas/token.json\n"))])
            .with("schemas/token.json", TOKEN_SCHEMA)
            .with("schemas/user.yaml", USER_SCHEMA);
    let t = run(&project, &server);
    assert_eq!(t.code, 1, "{t}");
    t.assert_hides(&["sekrit-9f8e7d6c"]);
    t.assert_shows(&[
        "at `/expires_in`: want integer, but got string (`type` at schemas/token.json#/properties/expires_in/type)",
        "at `/user/id`: want string, but got number (`type` at schemas/user.yaml#/properties/id/type)",
        "(`pattern` at schemas/token.json#/properties/access_token/pattern)",
    ]);
}

/// Exit 2 and nothing sent: a schema is checked when the collection loads.
#[track_caller]
fn refused(project: &Project) -> Transcript {
    let server = Server::answering_json("{}");
    let t = run(project, &server);
    assert_eq!(t.code, 2, "{t}");
    assert_eq!(server.hits(), 0, "a refused run sends nothing: {t}");
    t
}

#[test]
fn a_schema_file_that_is_not_json_is_refused_before_sending() {
    let project =
        Project::collection(&[("token.yaml", &request("  schema: schemas/token.json\n"))])
            .with("schemas/token.json", "{\n  \"type\": object\n}\n");
    let t = refused(&project);
    assert_transcript!(t, @r#"
    exit_code: 2
    ----- stdout -----

    ----- stderr -----
    error: the schema file is not JSON: expected value
     --> [TEMP]/schemas/token.json:2:11
      |
    2 |   "type": object
      |           ^ here
      |
      = note: named at [TEMP]/token.yaml:5:11
      = help: a schema file ending in `.json` holds JSON; name it `.yaml` to write YAML
    "#);
}

#[test]
fn a_missing_schema_file_is_refused_before_sending() {
    let project = Project::collection(&[("token.yaml", &request("  schema: schemas/nope.json\n"))]);
    let t = refused(&project);
    t.assert_shows(&[
        "cannot read the schema `schemas/nope.json`",
        "token.yaml:5:11",
    ]);
}

#[test]
fn a_bad_ref_is_refused_before_sending() {
    let project =
        Project::collection(&[("token.yaml", &request("  schema: schemas/token.json\n"))]).with(
            "schemas/token.json",
            r##"{ "properties": { "user": { "$ref": "#/$defs/user" } } }"##,
        );
    let t = refused(&project);
    assert_transcript!(t, @r#"
    exit_code: 2
    ----- stdout -----

    ----- stderr -----
    error: the JSON Schema schemas/token.json does not compile
     --> [TEMP]/token.yaml:5:11
      |
    5 |   schema: schemas/token.json
      |           ^^^^^^^^^^^^^^^^^^ json-pointer in schemas/token.json#/$defs/user not found
      |
      = help: fix the schema: every `$ref` must reach a file or a pointer that exists, and every keyword must follow its draft (2020-12 unless `$schema` says draft-07)
    "#);
}

#[test]
fn a_ref_to_a_missing_file_is_refused_before_sending() {
    let project =
        Project::collection(&[("token.yaml", &request("  schema: schemas/token.json\n"))])
            .with("schemas/token.json", TOKEN_SCHEMA);
    let t = refused(&project);
    t.assert_shows(&["schemas/user.yaml", "No such file"]);
}

#[test]
fn a_schema_that_breaks_its_draft_is_refused_before_sending() {
    let inline = "  json:\n    $.user:\n      schema: { type: object, required: id }\n";
    let t = refused(&Project::collection(&[("token.yaml", &request(inline))]));
    t.assert_shows(&[
        "does not compile",
        "token.yaml:7:7",
        "at '/required': want array, but got string",
    ]);
}

#[test]
fn a_node_is_checked_against_an_inline_schema_beside_its_predicates() {
    let server = Server::answering_json(r#"{"user":{"id":"u1","type":"x"}}"#);
    let inline = "  json:\n    $.user:\n      exists: true\n      schema:\n        type: object\n        required: [id, email]\n        properties: { type: { type: integer } }\n    $.missing: { schema: true }\n";
    let t = run(
        &Project::collection(&[("token.yaml", &request(inline))]),
        &server,
    );
    assert_eq!(t.code, 1, "{t}");
    t.assert_shows(&[
        "✓ $.user exists",
        "✗ $.user valid against the schema at ",
        "token.yaml:8:7\n",
        "at `/type`: want integer, but got string (`type` at the schema at ",
        "token.yaml:8:7#/properties/type/type)",
        "at `the root`: missing properties 'email' (`required` at ",
        "✗ $.missing valid against",
        "actual    nothing matched",
    ]);
}

#[test]
fn draft_07_is_used_when_the_schema_says_so() {
    // Draft-07's `items` as an array checks by position; draft 2020-12 refuses it.
    let schema =
        r#"{"$schema": "http://json-schema.org/draft-07/schema#", "items": [{"type": "string"}]}"#;
    let server = Server::answering_json(r#"[1]"#);
    let project = Project::collection(&[("token.yaml", &request("  schema: s.json\n"))])
        .with("s.json", schema);
    let t = run(&project, &server);
    assert_eq!(t.code, 1, "{t}");
    t.assert_shows(&["at `/0`: want string, but got number (`type` at s.json#/items/0/type)"]);
    let latest = Project::collection(&[("token.yaml", &request("  schema: s.json\n"))])
        .with("s.json", r#"{"items": [{"type": "string"}]}"#);
    refused(&latest).assert_shows(&["does not compile"]);
}

// ---------------------------------------------------------------------------
// poll:

/// A job that is `pending` for its first `pending` status reads, then `done`.
fn job(pending: usize) -> Server {
    let reads = std::sync::atomic::AtomicUsize::new(0);
    Server::start(move |_| {
        let n = reads.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        let state = if n < pending { "pending" } else { "done" };
        Some(support::Reply::json(&format!(
            r#"{{"state":"{state}","job_token":"jt-secret-{n}"}}"#
        )))
    })
}

fn job_request(method: &str, poll: &str) -> String {
    format!(
        "name: Job\nmethod: {method}\nurl: \"{{{{ base_url }}}}/job\"\npoll: {poll}\nassert:\n  json:\n    $.state: done\n"
    )
}

#[test]
fn a_polled_request_is_sent_until_its_checks_pass() {
    let server = job(2);
    let project = Project::collection(&[(
        "job.yaml",
        &job_request("GET", "{ times: 5, interval: 10ms }"),
    )]);
    let report = project.file("report.json");
    let t = project.run(
        &server.url(),
        &["--color", "never", "-v", "--report-json", &report],
    );
    assert_eq!(t.code, 0, "{t}");
    assert_eq!(server.hits(), 3);
    t.assert_shows(&[
        "↻ try 1: GET ",
        " · $.state: expected \"done\", actual \"pending\"\n",
        "↻ try 2: GET ",
        " · try 3\n",
        "✓ $.state == \"done\"",
    ]);
    t.assert_hides(&["jt-secret-0", "jt-secret-1", "jt-secret-2"]);
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&report).unwrap()).unwrap();
    let tries = json["requests"][0]["tries"].as_array().unwrap();
    assert_eq!(tries.len(), 2);
    assert_eq!(tries[0]["failed"][0]["actual"], "\"pending\"");
    assert_eq!(json["requests"][0]["passed"], true);
}

#[test]
fn a_poll_that_never_passes_fails_with_the_last_try() {
    let server = job(100);
    let project = Project::collection(&[(
        "job.yaml",
        &job_request("GET", "{ times: 3, interval: 1ms }"),
    )]);
    let t = project.run(&server.url(), &["--color", "never"]);
    assert_eq!(t.code, 1, "{t}");
    assert_eq!(server.hits(), 3, "times counts every send");
    t.assert_shows(&[
        "↻ try 2:",
        " · try 3\n",
        "✗ $.state == \"done\"",
        "actual    \"pending\"",
    ]);
}

#[test]
fn a_post_is_polled_only_when_the_file_says_it_may_be_repeated() {
    let server = job(1);
    let refused_post = Project::collection(&[("job.yaml", &job_request("POST", "{ times: 3 }"))]);
    let t = refused_post.run(&server.url(), &["--color", "never"]);
    assert_eq!((t.code, server.hits()), (2, 0), "{t}");
    assert_transcript!(t, @r#"
    exit_code: 2
    ----- stdout -----

    ----- stderr -----
    error: a POST request cannot be polled unless the file says it may be repeated
     --> [TEMP]/job.yaml:4:7
      |
    4 | poll: { times: 3 }
      |       ^
      |
      = note: POST is not idempotent: each try may act again on the server (create a second job, say)
      = help: poll a GET of the job's status instead; or, when repeating this request is harmless, add `idempotent: true` under `poll:`
    "#);
    let allowed = Project::collection(&[(
        "job.yaml",
        &job_request("POST", "{ times: 3, interval: 1ms, idempotent: true }"),
    )]);
    let t = allowed.run(&server.url(), &["--color", "never"]);
    assert_eq!((t.code, server.hits()), (0, 2), "{t}");
}

#[test]
fn a_request_that_spends_a_rotating_token_cannot_be_polled() {
    let zoom = support::emulator();
    let refresh = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/collections/zoom-oauth/refresh-access-token.yaml"
    ))
    .unwrap()
    .replace("tags: [smoke]\n", "tags: [smoke]\npoll: { times: 3 }\n");
    let project = Project::new(&[
        (
            "collection.yaml",
            "name: P\npersist: [refresh_token]\nrequests: [refresh.yaml]\n",
        ),
        ("refresh.yaml", &refresh),
        ("schemas/token.json", "true"),
    ]);
    let t = project.run(
        &zoom.base_url(),
        &["--color", "never", "--state", &project.file("s.json")],
    );
    assert_eq!((t.code, zoom.hits()), (2, 0), "{t}");
    t.assert_shows(&[
        "error: `Refresh access token` cannot be polled: it sends a persistent variable",
        "refresh.yaml:7:7",
        "each try would spend a rotating token",
    ]);
}

#[test]
fn poll_times_are_bounded() {
    let t = refused(&Project::collection(&[(
        "job.yaml",
        &job_request("GET", "{ times: 1 }"),
    )]));
    t.assert_shows(&["invalid `times: 1`", "between 2 and 1000", "job.yaml:4:16"]);
}

// ---------------------------------------------------------------------------
// snapshot:

/// A token answer whose token and id change with every request, and whose `plan` is `plan`.
fn changing(plan: &'static str) -> Server {
    let n = std::sync::atomic::AtomicUsize::new(0);
    Server::start(move |_| {
        let n = n.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        Some(support::Reply::json(&format!(
            r#"{{"access_token":"tok-{n}-5ecret","id":"id-{n}","plan":"{plan}","seats":[1,2]}}"#
        )))
    })
}

const SNAPSHOT_REQUEST: &str = "  snapshot: { file: snapshots/token.json, ignore: [$.id] }\n";

fn snapshot_run(project: &Project, server: &Server, extra: &[&str]) -> Transcript {
    let mut args = vec!["--color", "never"];
    args.extend_from_slice(extra);
    let mut command =
        support::run_command(&project.dir(), support::EMULATOR_ENV, &server.url(), &args);
    support::transcript(command.env_remove("CI"))
}

#[test]
fn a_snapshot_is_written_masked_and_then_compared() {
    let server = changing("pro");
    let project = Project::collection(&[("token.yaml", &request(SNAPSHOT_REQUEST))]);
    let t = snapshot_run(&project, &server, &[]);
    assert_eq!(t.code, 1, "{t}");
    t.assert_shows(&[
        "no snapshot yet: `courier run --update-snapshots` writes snapshots/token.json",
    ]);

    let t = snapshot_run(&project, &server, &["--update-snapshots"]);
    assert_eq!(t.code, 0, "{t}");
    t.assert_shows(&["✓ body equals the snapshot snapshots/token.json"]);
    let stored = std::fs::read_to_string(project.file("snapshots/token.json")).unwrap();
    assert_eq!(
        stored,
        "{\n  \"access_token\": \"***\",\n  \"id\": \"<ignored>\",\n  \"plan\": \"pro\",\n  \"seats\": [\n    1,\n    2\n  ]\n}\n"
    );
    // A new token and a new id: both compare as present.
    let t = snapshot_run(&project, &server, &[]);
    assert_eq!(t.code, 0, "{t}");
    t.assert_hides(&["5ecret"]);
}

#[test]
fn a_changed_answer_shows_a_diff() {
    let project = Project::collection(&[("token.yaml", &request(SNAPSHOT_REQUEST))]);
    snapshot_run(&project, &changing("pro"), &["--update-snapshots"]);
    let t = snapshot_run(&project, &changing("free"), &[]);
    assert_eq!(t.code, 1, "{t}");
    t.assert_shows(&[
        "✗ body equals the snapshot snapshots/token.json",
        "actual    differs from the snapshot (2 lines differ, see the diff)",
        "--- expected",
        "+++ actual",
        "-  \"plan\": \"pro\",",
        "+  \"plan\": \"free\",",
    ]);
    t.assert_hides(&["5ecret"]);
}

#[test]
fn a_snapshot_that_holds_a_secret_fails_without_showing_it() {
    let project = Project::collection(&[("token.yaml", &request(SNAPSHOT_REQUEST))]).with(
        "snapshots/token.json",
        r#"{"access_token": "***", "id": "<ignored>", "plan": "pro", "seats": [1, 2], "note": "tok-0-5ecret"}"#,
    );
    let t = snapshot_run(&project, &changing("pro"), &[]);
    assert_eq!(t.code, 1, "{t}");
    t.assert_shows(&[
        "the snapshot holds a value this run knows as a secret: replace it with \"***\"",
    ]);
    t.assert_hides(&["5ecret", "--- expected"]);
}

#[test]
fn updating_snapshots_is_refused_in_ci_unless_forced() {
    let server = changing("pro");
    let project = Project::collection(&[("token.yaml", &request(SNAPSHOT_REQUEST))]);
    let mut command = support::run_command(
        &project.dir(),
        support::EMULATOR_ENV,
        &server.url(),
        &["--update-snapshots"],
    );
    let t = support::transcript(command.env("CI", "true"));
    assert_eq!((t.code, server.hits()), (2, 0), "{t}");
    assert_transcript!(t, @r"
    exit_code: 2
    ----- stdout -----

    ----- stderr -----
    error: --update-snapshots is refused under CI=true: CI compares snapshots, it does not rewrite them
      = help: update the snapshots on your machine and commit them; or, to rewrite them in CI on purpose, pass --force-update-snapshots
    ");
    let mut forced = support::run_command(
        &project.dir(),
        support::EMULATOR_ENV,
        &server.url(),
        &["--force-update-snapshots"],
    );
    let t = support::transcript(forced.env("CI", "true"));
    assert_eq!(t.code, 0, "{t}");
    assert!(std::path::Path::new(&project.file("snapshots/token.json")).exists());
    let t = snapshot_run(&project, &server, &["--update-snapshots", "--show-secrets"]);
    assert_eq!(t.code, 2, "{t}");
    t.assert_shows(&["cannot be used with"]);
}

#[test]
fn a_bad_snapshot_key_or_ignore_path_is_refused_before_sending() {
    let t = refused(&Project::collection(&[(
        "token.yaml",
        &request("  snapshot: { file: s.json, ignore: [id] }\n"),
    )]));
    t.assert_shows(&["invalid JSONPath `id`", "token.yaml:5:38"]);
    let t = refused(&Project::collection(&[(
        "token.yaml",
        &request("  snapshot: { path: s.json }\n"),
    )]));
    t.assert_shows(&["invalid `snapshot:`: unknown key `path`", "token.yaml:5:13"]);
}

// ---------------------------------------------------------------------------
// courier report merge

/// `courier report merge ARGS…` in `dir`.
fn merge_in(dir: &Project, args: &[&str]) -> Transcript {
    let mut command = support::courier();
    command
        .current_dir(dir.dir())
        .args(["report", "merge"])
        .args(args);
    support::transcript(&mut command)
}

/// The bundled collection in `shards` shards of four iterations, each writing `shard-K.json`.
fn sharded(project: &Project, server: &Server, shards: usize) {
    for k in 1..=shards {
        let report = project.file(&format!("shard-{k}.json"));
        let shard = format!("{k}/{shards}");
        let t = support::run_collection(
            support::BUNDLED,
            support::EMULATOR_ENV,
            &server.url(),
            &[
                "--iterations",
                "4",
                "--shard",
                &shard,
                "--report-json",
                &report,
                "--tag",
                "smoke",
                "-q",
            ],
        );
        assert_eq!(t.code, 0, "{t}");
    }
}

#[test]
fn shard_reports_merge_into_one_summary_junit_json_and_html() {
    let server = Server::any_tenant_tokens();
    let project = Project::new(&[]);
    sharded(&project, &server, 3);
    let t = merge_in(
        &project,
        &[
            "shard-*.json",
            "--report-junit",
            "all.xml",
            "--report-json",
            "all.json",
            "--report-html",
            "all.html",
        ],
    );
    assert_eq!(t.code, 0, "{t}");
    t.assert_shows(&["merged 3 reports: 8 requests: 8 passed, 0 failed, 0 not run · 64 checks: 64 passed, 0 failed · exit 0"]);
    crate::reports::assert_strict_junit(&project.file("all.xml"));
    let junit = std::fs::read_to_string(project.file("all.xml")).unwrap();
    assert_eq!(junit.matches("<testcase ").count(), 8, "{junit}");
    assert!(
        junit.contains("classname=\"Zoom OAuth · iteration 4\""),
        "{junit}"
    );
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(project.file("all.json")).unwrap()).unwrap();
    // The same counts as the run in one piece.
    let whole = project.file("whole.json");
    support::run_collection(
        support::BUNDLED,
        support::EMULATOR_ENV,
        &server.url(),
        &[
            "--iterations",
            "4",
            "--report-json",
            &whole,
            "--tag",
            "smoke",
            "-q",
        ],
    );
    let whole: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&whole).unwrap()).unwrap();
    assert_eq!(json["summary"], whole["summary"]);
    assert_eq!(json["requests"][7]["pass"], "iteration 4");
    assert_eq!(
        json["requests"][0]["checks"][0]["location"]["line"], 17,
        "places read back"
    );
    let html = std::fs::read_to_string(project.file("all.html")).unwrap();
    assert!(html.contains("iteration 4"));
    // The merged JSON report merges again, to the same counts.
    let again = merge_in(&project, &["all.json"]);
    again.assert_shows(&["merged 1 reports: 8 requests: 8 passed"]);
}

#[test]
fn a_merge_exits_with_the_worst_exit_code_of_its_parts() {
    let project = Project::new(&[]);
    sharded(&project, &Server::any_tenant_tokens(), 1);
    let failing = Server::answering_json(r#"{"error":"invalid_grant","reason":"Invalid Token!"}"#);
    let t = support::run_collection(
        support::BUNDLED,
        support::EMULATOR_ENV,
        &failing.url(),
        &[
            "--report-json",
            &project.file("bad.json"),
            "--tag",
            "smoke",
            "-q",
        ],
    );
    assert_eq!(t.code, 1, "{t}");
    let t = merge_in(
        &project,
        &["shard-1.json", "bad.json", "--report-junit", "all.xml"],
    );
    assert_eq!(t.code, 1, "{t}");
    let junit = std::fs::read_to_string(project.file("all.xml")).unwrap();
    assert!(junit.contains("<failure"), "{junit}");
}

#[test]
fn reports_of_another_version_or_not_reports_are_refused() {
    let project = Project::new(&[]);
    sharded(&project, &Server::any_tenant_tokens(), 1);
    let text = std::fs::read_to_string(project.file("shard-1.json")).unwrap();
    let project = project
        .with(
            "old.json",
            &text.replacen("\"schema_version\": 1", "\"schema_version\": 0", 1),
        )
        .with("other.json", "{\"tests\": []}\n")
        .with("broken.json", "{\n  \"schema_version\": 1,\n  oops\n}\n");
    let t = merge_in(
        &project,
        &["shard-1.json", "old.json", "--report-junit", "all.xml"],
    );
    assert!(!std::path::Path::new(&project.file("all.xml")).exists());
    assert_transcript!(t, @r"
    exit_code: 2
    ----- stdout -----

    ----- stderr -----
    error: `old.json` is a report of schema version 0; this courier merges version 1
      = note: reports of different versions cannot be merged: their fields mean different things
      = help: run every part with the same courier version, or merge with the courier that wrote them
    ");
    let t = merge_in(&project, &["other.json"]);
    assert_eq!(t.code, 2, "{t}");
    t.assert_shows(&[
        "`other.json` is not a courier JSON report",
        "it has no `schema_version`",
    ]);
    let t = merge_in(&project, &["broken.json"]);
    assert_eq!(t.code, 2, "{t}");
    t.assert_shows(&["broken.json:3:3", "key must be a string"]);
    let t = merge_in(&project, &["none-*.json"]);
    assert_eq!(t.code, 2, "{t}");
    t.assert_shows(&["no report matches `none-*.json`"]);
}

// ---------------------------------------------------------------------------
// courier import openapi

const SHOP: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/tests/fixtures/openapi/shop.yaml"
);

fn import_openapi(project: &Project, spec: &str, extra: &[&str]) -> Transcript {
    let out = project.file("shop");
    let mut args = vec!["import", "openapi", spec, "--out", &out];
    args.extend_from_slice(extra);
    support::run(args)
}

/// The shop's server: answers each operation as its description says, or with `wrong` for
/// `GET /orders/{id}`.
fn shop_server(wrong: bool) -> Server {
    Server::start(move |request| {
        let order = match wrong {
            false => r#"{"id":"ord-1","total":12.5,"coupon":null}"#,
            true => r#"{"id":"ord-1","total":"12.5"}"#,
        };
        let path = request.path.split('?').next().unwrap_or("");
        Some(match (request.method.as_str(), path) {
            ("GET", "/health") => support::Reply::json(r#"{"status":"ok"}"#),
            ("GET", "/orders") => support::Reply::json(&format!(r#"{{"orders":[{order}]}}"#)),
            ("POST", "/orders") => support::Reply::json_status(201, order),
            ("GET", _) => support::Reply::json(order),
            _ => support::Reply::new(204, "text/plain", ""),
        })
    })
}

const SHOP_VARS: [&str; 7] = [
    "--var",
    "X_Tenant=t1",
    "--var",
    "access_token=tok-5ecret-1",
    "--var",
    "apiKey=key-5ecret-2",
    "--var",
];

#[test]
fn an_openapi_description_imports_into_a_collection_that_checks_and_runs() {
    let project = Project::new(&[]);
    let t = import_openapi(&project, SHOP, &[]);
    assert_eq!(t.code, 0, "{t}");
    t.assert_shows(&[
        "imported 5 requests in 2 folders into",
        "variables to define (with --var or an environment file): X_Tenant, access_token, apiKey, store_id",
    ]);
    let shop = project.file("shop");
    let mut check = vec!["check", shop.as_str()];
    check.extend_from_slice(&SHOP_VARS);
    check.push("store_id=s1");
    let t = support::run(&check);
    assert_eq!(t.code, 0, "only the variables it lists are needed: {t}");

    let server = shop_server(false);
    let url = format!("base_url={}", server.url());
    let mut run = vec!["run", shop.as_str(), "--color", "never", "--var", &url];
    run.extend_from_slice(&SHOP_VARS);
    run.push("store_id=s1");
    let t = support::run(&run);
    assert_eq!(t.code, 0, "{t}");
    t.assert_hides(&["5ecret"]);
    let sent = server.requests();
    let list = sent
        .iter()
        .find(|r| r.path.starts_with("/orders?"))
        .unwrap();
    assert_eq!(list.path, "/orders?limit=20&status=open");
    assert_eq!(list.header("x-tenant"), Some("t1"));
    assert_eq!(list.header("authorization"), Some("Bearer tok-5ecret-1"));
    let health = sent.iter().find(|r| r.path == "/health").unwrap();
    assert_eq!(
        health.header("authorization"),
        None,
        "security: [] sends no auth"
    );
    let refund = sent
        .iter()
        .find(|r| r.path == "/stores/s1/refunds")
        .unwrap();
    assert_eq!(refund.header("x-api-key"), Some("key-5ecret-2"));
    assert_eq!(
        refund.body, "amount=5&reason=%7B%7Bdamaged%7D%7D",
        "examples are sent as written"
    );
    let create = sent
        .iter()
        .find(|r| r.method == "POST" && r.path == "/orders")
        .unwrap();
    assert_eq!(create.body, r#"{"sku":"sku-42","quantity":0}"#);

    let wrong = shop_server(true);
    let url = format!("base_url={}", wrong.url());
    run[5] = &url;
    let t = support::run(&run);
    assert_eq!(t.code, 1, "{t}");
    t.assert_shows(&[
        "at `/total`: want number, but got string (`type` at ../schemas/openapi.json#/components/schemas/Order/properties/total/type)",
        "missing properties 'coupon'",
    ]);
}

#[test]
fn tag_and_operation_select_what_is_imported() {
    let project = Project::new(&[]);
    let t = import_openapi(&project, SHOP, &["--tag", "health"]);
    t.assert_shows(&["imported 1 request in 1 folder"]);
    let other = Project::new(&[]);
    let t = import_openapi(
        &other,
        SHOP,
        &["--operation", "getOrder", "--operation", "refund"],
    );
    t.assert_shows(&["imported 2 requests in 1 folder"]);
    let none = Project::new(&[]);
    let t = import_openapi(&none, SHOP, &["--operation", "nope"]);
    assert_eq!(t.code, 2, "{t}");
}

#[test]
fn what_is_not_an_openapi_3_description_is_refused() {
    let project = Project::new(&[
        (
            "swagger.yaml",
            "swagger: \"2.0\"\ninfo: { title: Zoom, version: \"2\" }\npaths: {}\n",
        ),
        ("postman.json", r#"{"info": {"name": "x"}, "item": []}"#),
        ("list.yaml", "- a\n- b\n"),
        ("broken.yaml", "openapi: 3.1.0\npaths: {\n"),
        ("broken.json", "{\n  \"openapi\": \"3.1.0\",\n  paths\n}"),
        (
            "dangling.yaml",
            "openapi: 3.1.0\ninfo: { title: D, version: \"1\" }\npaths:\n  /a:\n    get:\n      responses:\n        \"200\":\n          description: A.\n          content:\n            application/json:\n              schema: { $ref: \"#/components/schemas/Nope\" }\n",
        ),
    ]);
    let cases = [
        (
            "swagger.yaml",
            "is a Swagger 2.0 description; courier imports OpenAPI 3.0 and 3.1",
        ),
        (
            "postman.json",
            "is a Postman collection, not an OpenAPI description",
        ),
        (
            "list.yaml",
            "is not an OpenAPI description: it is not a mapping",
        ),
        ("broken.yaml", "broken.yaml:2"),
        ("broken.json", "broken.json:3:3"),
        ("dangling.yaml", "the `$ref` `#/components/schemas/Nope` of"),
    ];
    for (file, shown) in cases {
        let t = import_openapi(&project, &project.file(file), &[]);
        assert_eq!(t.code, 2, "{file}: {t}");
        t.assert_shows(&[shown]);
        assert!(
            !std::path::Path::new(&project.file("shop")).exists(),
            "{file}: nothing written"
        );
    }
}

#[test]
fn an_openapi_3_1_description_keeps_its_json_schema() {
    let spec = "openapi: 3.1.0\ninfo: { title: T, version: \"1\" }\npaths:\n  /t:\n    get:\n      operationId: t\n      responses:\n        \"200\":\n          description: T.\n          content:\n            application/json:\n              schema: { type: [string, \"null\"], examples: [a] }\n";
    let project = Project::new(&[("t.yaml", spec)]);
    let t = import_openapi(&project, &project.file("t.yaml"), &[]);
    assert_eq!(t.code, 0, "{t}");
    let schemas = std::fs::read_to_string(project.file("shop/schemas/openapi.json")).unwrap();
    assert!(schemas.contains("\"null\""), "{schemas}");
    let t = support::run(["check", &project.file("shop")]);
    assert_eq!(t.code, 0, "{t}");
}
