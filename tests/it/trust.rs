//! The trust core over real use: the shipped files keep the rotated token run after run, a
//! persistent name nothing defines is refused, and the hostile inputs of issue 10 lose nothing
//! and print no secret.

use std::path::Path;
use std::process::Command;

use courier::mock::zoom::ZoomMock;

use crate::support::{self, CLIENT_ID, CLIENT_SECRET, Project, REFRESH_TOKEN, assert_transcript};

/// The shipped collection and environment files, copied under their own relative paths into a
/// temporary folder, so a run there writes its state beside the copy, not into the repository.
pub fn shipped_copy() -> Project {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut files = Vec::new();
    for dir in [
        "collections/zoom-oauth",
        "collections/zoom-oauth/schemas",
        "collections/zoom-s2s",
        "collections/zoom-s2s/schemas",
        "environments",
        "environments/s2s",
    ] {
        for entry in std::fs::read_dir(root.join(dir)).expect("a shipped folder") {
            let path = entry.expect("a folder entry").path();
            if path.is_dir() {
                continue;
            }
            let name = format!("{dir}/{}", path.file_name().unwrap().to_string_lossy());
            files.push((
                name,
                std::fs::read_to_string(&path).expect("a shipped file"),
            ));
        }
    }
    let files: Vec<(&str, &str)> = files
        .iter()
        .map(|(n, t)| (n.as_str(), t.as_str()))
        .collect();
    Project::new(&files)
}

/// `courier ARGS…` started in `project`'s folder with the real-Zoom environment's three OS
/// variables set to the emulator's credentials.
pub fn zoom_command<S: AsRef<std::ffi::OsStr>>(
    project: &Project,
    refresh_token: &str,
    args: &[S],
) -> Command {
    let mut command = support::courier();
    command
        .current_dir(project.path())
        .env("ZOOM_CLIENT_ID", CLIENT_ID)
        .env("ZOOM_CLIENT_SECRET", CLIENT_SECRET)
        .env("ZOOM_REFRESH_TOKEN", refresh_token)
        .env("ZOOM_S2S_CLIENT_ID", CLIENT_ID)
        .env("ZOOM_S2S_CLIENT_SECRET", CLIENT_SECRET)
        .env("ZOOM_ACCOUNT_ID", "test-account")
        .args(args);
    command
}

/// [`shipped_copy`] with `environments/production.yaml`, which the README's CI recipe says is a
/// copy of `environments/example.yaml`.
pub fn production_copy() -> Project {
    let project = shipped_copy();
    std::fs::copy(
        project.path().join("environments/example.yaml"),
        project.path().join("environments/production.yaml"),
    )
    .unwrap();
    project
}

/// The README's real-Zoom command, with only the server's address added.
fn smoke_args(zoom: &ZoomMock) -> Vec<String> {
    let base_url = format!("base_url={}", zoom.base_url());
    [
        "run",
        "collections/zoom-oauth",
        "--env",
        "environments/example.yaml",
        "--tag",
        "smoke",
        "--var",
        &base_url,
    ]
    .map(String::from)
    .to_vec()
}

#[test]
fn the_readme_real_zoom_command_keeps_the_token_run_after_run() {
    let zoom = support::emulator();
    let project = shipped_copy();
    let args = smoke_args(&zoom);
    for run in 1..=5 {
        // The CI secret store injects the original token every time.
        let t = support::transcript(&mut zoom_command(&project, REFRESH_TOKEN, &args));
        assert_eq!(t.code, 0, "run {run}: {t}");
        t.assert_hides(&[CLIENT_SECRET, REFRESH_TOKEN]);
    }
    assert_eq!(zoom.hits(), 10, "a refresh and an API read a run");
    let saved =
        support::saved_refresh_token(project.path().join("environments/example.state.yaml"));
    assert_eq!(Some(saved.value), zoom.live_refresh_token());
}

/// `env.yaml` naming only the emulator's three seed variables, then `extra`.
fn seed_env(extra: &str) -> Project {
    Project::new(&[(
        "env.yaml",
        &format!(
            "variables:\n  ClientID: {CLIENT_ID}\n  ClientSecret: {CLIENT_SECRET}\n  \
             refresh_token: {REFRESH_TOKEN}\n{extra}"
        ),
    )])
}

#[test]
fn an_environment_naming_only_the_seed_variables_keeps_the_token() {
    let zoom = support::emulator();
    let project = seed_env("");
    let env = project.file("env.yaml");
    for run in 1..=3 {
        let t = support::run_collection(
            support::BUNDLED,
            &env,
            &zoom.base_url(),
            &["--tag", "smoke"],
        );
        assert_eq!(t.code, 0, "run {run}: {t}");
    }
    let saved = support::saved_refresh_token(project.path().join("env.state.yaml"));
    assert_eq!(Some(saved.value), zoom.live_refresh_token());
}

#[test]
fn a_misspelt_persistent_name_is_refused_before_sending() {
    let zoom = support::emulator();
    let project = seed_env("persist: [refresh_tokn]\n");
    let env = project.file("env.yaml");

    let run = support::run_collection(support::BUNDLED, &env, &zoom.base_url(), &[]);
    let check = support::run(["check", support::BUNDLED, "--env", &env]);

    assert_eq!(run.code, 2, "{run}");
    assert_eq!(check.code, 2, "{check}");
    assert_eq!(zoom.hits(), 0);
    assert!(
        run.stderr.contains("did you mean `refresh_token`?"),
        "{run}"
    );
    assert_transcript!(check, @r#"
        exit_code: 2
        ----- stdout -----

        ----- stderr -----
        error: persistent variable `refresh_tokn` is neither defined nor captured
         --> [TEMP]/env.yaml:5:11
          |
        5 | persist: [refresh_tokn]
          |           ^^^^^^^^^^^^ nothing defines or captures this name
          |
          = note: a value that nothing captures is never saved: a rotated token would be lost
          = help: did you mean `refresh_token`?
        "#);
}

/// How many hourly runs the CI recipe tests simulate: more than six weeks.
const CI_RUNS: usize = 1000;

/// The README's GitHub Actions step, run `CI_RUNS` times against one emulator with the state
/// kept between runs. `push_back` is option B: the exported token becomes the next injected one.
fn ci_recipe(push_back: bool) {
    let zoom = support::emulator();
    let project = production_copy();
    let base_url = format!("base_url={}", zoom.base_url());
    let args = [
        "run",
        "collections/zoom-oauth",
        "--env",
        "environments/production.yaml",
        "--tag",
        "smoke",
        "--retry",
        "2",
        "--report-junit",
        "zoom.xml",
        "--export-vars",
        "zoom.env",
        "--var",
        &base_url,
    ];
    let mut injected = REFRESH_TOKEN.to_string();
    let mut issued = std::collections::HashSet::new();
    for run in 1..=CI_RUNS {
        let t = support::transcript(&mut zoom_command(&project, &injected, &args));
        assert_eq!(t.code, 0, "run {run}: {t}");
        // One refresh per run, and its API read: no dead token was ever sent.
        assert_eq!(zoom.hits(), 2 * run, "run {run}: {t}");
        let live = zoom.live_refresh_token().expect("the grant is alive");
        assert!(issued.insert(live.clone()), "run {run}: a token came back");
        let exported = std::fs::read_to_string(project.path().join("zoom.env")).unwrap();
        assert_eq!(exported, format!("refresh_token=\"{live}\"\n"), "run {run}");
        if push_back {
            injected = live;
        }
    }
    let state = project.path().join("environments/production.state.yaml");
    let size = std::fs::metadata(&state).unwrap().len();
    assert!(
        size < 4096,
        "the state file grows with the runs: {size} bytes"
    );
}

#[test]
fn the_ci_recipe_survives_a_thousand_runs_injecting_the_original_token() {
    ci_recipe(false);
}

#[test]
fn the_ci_recipe_survives_a_thousand_runs_pushing_the_token_back() {
    ci_recipe(true);
}

#[test]
fn a_refused_unknown_token_falls_back_to_the_saved_one() {
    let zoom = support::emulator();
    let project = shipped_copy();
    let args = smoke_args(&zoom);
    let first = support::transcript(&mut zoom_command(&project, REFRESH_TOKEN, &args));
    assert_eq!(first.code, 0, "{first}");

    // A token the state has never seen, dead at Zoom (an old backup of the secret store).
    let stale = "stale-token-from-an-old-backup";
    let second = support::transcript(&mut zoom_command(&project, stale, &args));
    assert_eq!(second.code, 0, "{second}");
    assert_eq!(
        zoom.hits(),
        5,
        "the first run's two; then one refused send, the saved token and the API read"
    );
    assert!(
        second
            .stderr
            .contains("sent the state file's value instead"),
        "{second}"
    );

    // Supplied once, it never wins again.
    let third = support::transcript(&mut zoom_command(&project, stale, &args));
    assert_eq!(third.code, 0, "{third}");
    assert_eq!(zoom.hits(), 7, "and the third run's two");
    second.assert_hides(&[CLIENT_SECRET, stale]);
}

/// A secret as a user might write it in a file: quotes, backslash, unicode, `%`, `+`, `/`.
const LITERAL_SECRET: &str = "s3cr%t+/é\\\\x";

/// Runs the bundled collection with `env.yaml` holding `text`, expecting exit 2, and checks
/// that the secret in it shows nowhere.
#[track_caller]
fn refused_env(text: &str, hidden: &[&str]) -> crate::support::Transcript {
    let project = Project::new(&[("env.yaml", text)]);
    let t = support::run(["run", support::BUNDLED, "--env", &project.file("env.yaml")]);
    assert_eq!(t.code, 2, "{t}");
    t.assert_hides(hidden);
    t
}

#[test]
fn a_duplicate_key_in_an_environment_shows_no_value() {
    let t = refused_env(
        "variables:\n  ClientSecret: first-secret-value\n  ClientSecret: second-secret-value\n",
        &["first-secret-value", "second-secret-value"],
    );
    t.assert_shows(&["duplicate key `ClientSecret`", "env.yaml:3:3"]);
    assert_transcript!(t, @r#"
        exit_code: 2
        ----- stdout -----

        ----- stderr -----
        error: duplicate key `ClientSecret`
         --> [TEMP]/env.yaml:3:3
          |
        3 |   ClientSecret: ***
          |   ^^^^^^^^^^^^ this key appears earlier in the same mapping
          |
          = help: each key may appear once: remove or rename one of them
        "#);
}

#[test]
fn an_unclosed_quote_in_an_environment_shows_no_value() {
    let t = refused_env(
        "variables:\n  ClientSecret: \"unclosed-secret-value\n  refresh_token: next-line-token\n",
        &["unclosed-secret-value", "next-line-token"],
    );
    assert_transcript!(t, @r#"
        exit_code: 2
        ----- stdout -----

        ----- stderr -----
        error: invalid environment file: unclosed quote
         --> [TEMP]/env.yaml:2:17
          |
        2 |   ClientSecret: ***
          |                 ^^^ here
        "#);
}

#[test]
fn a_wrong_type_in_an_environment_shows_no_value() {
    let t = refused_env(
        "variables:\n  ClientID: demo\nsecrets: {ClientSecret: wrong-type-secret}\n",
        &["wrong-type-secret"],
    );
    t.assert_shows(&["env.yaml:3"]);
}

#[test]
fn a_template_error_on_a_line_with_a_secret_literal_shows_no_secret() {
    let secret = LITERAL_SECRET.replace("\\\\", "\\");
    let request = format!(
        "name: Get\nmethod: GET\nurl: \"http://127.0.0.1:1/x\"\nheaders:\n  Authorization: 'Bearer {secret} {{{{ oops'\n"
    );
    let project = Project::collection(&[("get.yaml", &request)]);
    let t = support::run(["check", &project.dir()]);
    assert_eq!(t.code, 2, "{t}");
    t.assert_shows(&["get.yaml:5:"]);
    t.assert_hides(&[&secret, "s3cr"]);
}

#[test]
fn a_bad_dotenv_line_shows_no_value() {
    let project = Project::new(&[(
        "ci.env",
        "ZOOM_CLIENT_ID=demo\nZOOM_CLIENT_SECRET dotenv-secret-value\n",
    )]);
    let t = support::run([
        "check",
        support::BUNDLED,
        "--env",
        support::EMULATOR_ENV,
        "--env-file",
        &project.file("ci.env"),
    ]);
    assert_eq!(t.code, 2, "{t}");
    t.assert_hides(&["dotenv-secret-value"]);
    assert_transcript!(t, @r#"
        exit_code: 2
        ----- stdout -----

        ----- stderr -----
        error: invalid dotenv file `[TEMP]/ci.env`
         --> [TEMP]/ci.env:2:20
          |
        2 | ***
          | ^^^ cannot read this line as `NAME=value`
          |
          = help: write one `NAME=value` per line; quote values with spaces
        "#);
}

#[test]
fn a_broken_state_file_shows_no_token() {
    let zoom = support::emulator();
    let project = support::persisting_env().with(
        "env.state.yaml",
        "version: 1\nvariables:\n  refresh_token:\n    value: 'saved-token-value\n",
    );
    let t = project.refresh(
        &zoom.base_url(),
        REFRESH_TOKEN,
        &["--state", &project.file("env.state.yaml")],
    );
    assert_eq!(t.code, 2, "{t}");
    assert_eq!(zoom.hits(), 0);
    t.assert_hides(&["saved-token-value"]);
}

#[test]
fn request_paths_outside_the_collection_are_refused_unread() {
    let outside = Project::new(&[(
        "secret.yaml",
        "name: x\nmethod: GET\nurl: http://outside-secret-host/\n",
    )]);
    let escaping = [
        "/proc/self/environ".to_string(),
        "../../../../etc/passwd".to_string(),
        outside.file("secret.yaml"),
        "link.yaml".to_string(),
    ];
    for path in escaping {
        let project = Project::new(&[(
            "collection.yaml",
            &format!("name: c\nrequests: [\"{path}\"]\n"),
        )]);
        std::os::unix::fs::symlink(
            outside.file("secret.yaml"),
            project.path().join("link.yaml"),
        )
        .unwrap();
        let t = support::run(["check", &project.dir()]);
        assert_eq!(t.code, 2, "{path}: {t}");
        t.assert_shows(&["is outside the collection folder", "nothing was read"]);
        t.assert_hides(&["outside-secret-host", "root:", "PATH="]);
    }
    // Inside after `..` and through a symlink that stays inside: fine.
    let project = Project::new(&[
        (
            "collection.yaml",
            "name: c\nrequests: [sub/../get.yaml, alias.yaml]\n",
        ),
        ("sub/keep", ""),
        (
            "get.yaml",
            "name: a\nmethod: GET\nurl: http://127.0.0.1:1/\n",
        ),
    ]);
    std::fs::write(
        project.path().join("b.yaml"),
        "name: b\nmethod: GET\nurl: http://127.0.0.1:1/\n",
    )
    .unwrap();
    std::os::unix::fs::symlink("b.yaml", project.path().join("alias.yaml")).unwrap();
    let t = support::run(["check", &project.dir()]);
    assert_eq!(t.code, 0, "{t}");
}

#[test]
fn an_escaping_request_path_names_the_entry() {
    let project = Project::new(&[(
        "collection.yaml",
        "name: c\nrequests: [\"../../../../etc/passwd\"]\n",
    )]);
    let t = support::run(["check", &project.dir()]);
    assert_transcript!(t, @r#"
        exit_code: 2
        ----- stdout -----

        ----- stderr -----
        error: request file `../../../../etc/passwd` is outside the collection folder
         --> [TEMP]/collection.yaml:2:12
          |
        2 | requests: ["../../../../etc/passwd"]
          |            ^^^^^^^^^^^^^^^^^^^^^^^^ not inside this collection's folder
          |
          = note: request files are read from `[TEMP]` and its sub-folders only (symlinks followed); nothing was read
          = help: move the file into the collection folder and list it by its relative path
        "#);
}

#[test]
fn a_symlinked_state_file_is_written_through_to_its_target() {
    let zoom = support::emulator();
    let project = support::persisting_env();
    let cache = Project::new(&[]);
    let target = cache.path().join("zoom.state.yaml");
    std::os::unix::fs::symlink(&target, project.path().join("env.state.yaml")).unwrap();
    for run in 1..=3 {
        let t = project.refresh(&zoom.base_url(), REFRESH_TOKEN, &[]);
        assert_eq!(t.code, 0, "run {run}: {t}");
    }
    let link = std::fs::symlink_metadata(project.path().join("env.state.yaml")).unwrap();
    assert!(
        link.file_type().is_symlink(),
        "the link was replaced by a file"
    );
    let saved = support::saved_refresh_token(&target);
    assert_eq!(Some(saved.value), zoom.live_refresh_token());
    assert!(
        cache.path().join("zoom.state.yaml.lock").exists(),
        "the lock is beside the target"
    );
}

#[test]
fn two_environments_with_one_state_file_are_refused_at_once() {
    let zoom = support::emulator();
    let project = support::persisting_env().with("env2.yaml", &support::persisting_env_text());
    let started = std::time::Instant::now();
    let mut command = support::run_command(
        support::BUNDLED,
        &project.file("env.yaml"),
        &zoom.base_url(),
        &[
            "--env",
            &project.file("env2.yaml"),
            "--state",
            &project.file("one.state.yaml"),
            "--tag",
            "smoke",
        ],
    );
    let t = support::transcript(command.env(support::REFRESH_TOKEN_VAR, REFRESH_TOKEN));
    assert_eq!(t.code, 2, "{t}");
    assert!(
        started.elapsed() < std::time::Duration::from_secs(10),
        "it waited on its own lock"
    );
    assert_eq!(zoom.hits(), 0);
    t.assert_shows(&["would share the state file", "nothing was sent"]);
    // The same environment twice is the same state file too.
    let mut command = support::run_command(
        support::BUNDLED,
        &project.file("env.yaml"),
        &zoom.base_url(),
        &["--env", &project.file("env.yaml"), "--tag", "smoke"],
    );
    let t = support::transcript(command.env(support::REFRESH_TOKEN_VAR, REFRESH_TOKEN));
    assert_eq!(t.code, 2, "{t}");
    assert_eq!(zoom.hits(), 0);
}

#[test]
fn a_world_readable_state_file_is_made_owner_only_with_a_warning() {
    use std::os::unix::fs::PermissionsExt;
    let zoom = support::emulator();
    let project = support::persisting_env();
    assert_eq!(
        project.refresh(&zoom.base_url(), REFRESH_TOKEN, &[]).code,
        0
    );
    let state = project.path().join("env.state.yaml");
    std::fs::set_permissions(&state, std::fs::Permissions::from_mode(0o644)).unwrap();

    let t = project.refresh(&zoom.base_url(), REFRESH_TOKEN, &[]);

    t.assert_shows(&["was readable by others (mode 644)"]);
    support::assert_private(&state);
}

#[test]
fn a_run_that_sends_nothing_is_not_green() {
    let zoom = support::emulator();
    let project = Project::new(&[("empty.csv", "user\n"), ("empty.json", "[]")]);
    let cases: [&[&str]; 3] = [
        &["--tag", "smoek"],
        &["--data", &project.file("empty.csv")],
        &["--data", &project.file("empty.json")],
    ];
    for extra in cases {
        let t = support::run_bundled(&zoom.base_url(), extra);
        assert_eq!(t.code, 2, "{extra:?}: {t}");
        t.assert_shows(&["nothing to send", "--allow-empty"]);
        let mut allowed = extra.to_vec();
        allowed.push("--allow-empty");
        let t = support::run_bundled(&zoom.base_url(), &allowed);
        assert_eq!(t.code, 0, "{allowed:?}: {t}");
    }
    assert_eq!(zoom.hits(), 0);
}

#[test]
fn a_tag_that_selects_nothing_says_so() {
    let zoom = support::emulator();
    let t = support::run_bundled(&zoom.base_url(), &["--tag", "smoek"]);
    assert_transcript!(t, @r#"
        exit_code: 2
        ----- stdout -----

        ----- stderr -----
        error: nothing to send: no request matches `--tag smoek`
          = help: did you mean `--tag smoke`? (`--allow-empty` makes a run that sends nothing exit 0)
        "#);
}

/// A token endpoint that reads each request whole, then closes the connection without a word:
/// the refresh reached the server, its answer never came back.
fn hanging_up_server() -> (String, std::sync::Arc<std::sync::atomic::AtomicUsize>) {
    use std::io::Read;
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let hits = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let counted = hits.clone();
    std::thread::spawn(move || {
        for mut stream in listener.incoming().flatten() {
            let _ = stream.set_read_timeout(Some(std::time::Duration::from_millis(300)));
            let mut buf = [0u8; 4096];
            let mut seen = Vec::new();
            while let Ok(n) = stream.read(&mut buf) {
                if n == 0 {
                    break;
                }
                seen.extend_from_slice(&buf[..n]);
                if seen.windows(13).any(|w| w == b"refresh_token") {
                    break;
                }
            }
            counted.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            drop(stream);
        }
    });
    (url, hits)
}

#[test]
fn a_lost_refresh_answer_says_what_it_means() {
    let (url, hits) = hanging_up_server();
    let project = support::persisting_env().with(
        "env.state.yaml",
        "version: 1\nvariables:\n  refresh_token:\n    value: 'saved-live-token'\n",
    );
    let t = project.refresh(&url, REFRESH_TOKEN, &["--retry", "3"]);
    assert_eq!(t.code, 3, "{t}");
    assert_eq!(
        hits.load(std::sync::atomic::Ordering::SeqCst),
        1,
        "a refresh is never resent"
    );
    t.assert_shows(&[
        "the server closed the connection without answering",
        "its answer was lost",
        "may have rotated `refresh_token` already",
        "still holds the value of `refresh_token` that was sent",
        "exit 4 (invalid_grant)",
    ]);
    t.assert_hides(&["saved-live-token"]);
    assert_eq!(
        support::saved_refresh_token(project.path().join("env.state.yaml")).value,
        "saved-live-token"
    );
}

#[test]
fn a_refresh_that_times_out_says_the_token_may_be_spent() {
    let server = support::Server::silent();
    let project = support::persisting_env();
    let t = project.refresh(
        &server.url(),
        REFRESH_TOKEN,
        &["--timeout", "300ms", "--retry", "2"],
    );
    assert_eq!(t.code, 3, "{t}");
    assert_eq!(server.hits(), 1);
    t.assert_shows(&["no answer within 300ms", "its answer was lost"]);
}

#[test]
fn what_the_wire_would_refuse_is_refused_before_the_refresh() {
    let zoom = support::emulator();
    let traced =
        support::REVOKE_REQUEST.replace("headers:\n", "headers:\n  X-Trace: \"{{ trace }}\"\n");
    let long = "name: Long\nmethod: GET\nurl: \"{{ base_url }}/v2/users/me?d={{ big }}&t={{ access_token }}\"\n";
    let project = Project::collection(&[
        ("refresh.yaml", support::REFRESH_REQUEST),
        ("revoke.yaml", &traced),
        ("long.yaml", long),
    ])
    .with(
        "vars.yaml",
        &format!("trace: \"a\\x01b\"\nbig: {}\n", "x".repeat(70_000)),
    );
    let check = support::run([
        "check",
        &project.dir(),
        "--env",
        support::EMULATOR_ENV,
        "--var-file",
        &project.file("vars.yaml"),
    ]);
    let run = project.run(
        &zoom.base_url(),
        &["--var-file", &project.file("vars.yaml")],
    );
    for t in [&check, &run] {
        assert_eq!(t.code, 2, "{t}");
        t.assert_shows(&[
            "header `X-Trace` contains the control character U+0001",
            "revoke.yaml:",
        ]);
    }
    assert_eq!(zoom.hits(), 0, "the refresh was spent");

    let fine = project.with(
        "vars.yaml",
        &format!("trace: ok\nbig: {}\n", "x".repeat(70_000)),
    );
    let t = fine.run(&zoom.base_url(), &["--var-file", &fine.file("vars.yaml")]);
    assert_eq!(t.code, 2, "{t}");
    t.assert_shows(&["the URL is at least 70", "long.yaml:3:"]);
    assert_eq!(zoom.hits(), 0, "the refresh was spent");
}

#[test]
fn a_collection_reads_only_the_os_variables_it_is_granted() {
    let server = support::Server::answering_json(r#"{"ok": true}"#);
    let request =
        "name: Leak\nmethod: GET\nurl: \"{{ base_url }}/?k={{ env('AWS_SECRET_ACCESS_KEY') }}\"\n";
    let project = Project::collection(&[("leak.yaml", request)])
        .with("granting.yaml", "variables: {}\nallow_env: [AWS_*]\n");
    let run = |extra: &[&str]| {
        let mut command = support::courier();
        command
            .args(["run", &project.dir(), "--var"])
            .arg(format!("base_url={}", server.url()))
            .args(extra)
            .env("AWS_SECRET_ACCESS_KEY", "runner-secret-key-value");
        support::transcript(&mut command)
    };

    let refused = run(&[]);
    assert_eq!(refused.code, 2, "{refused}");
    assert_eq!(server.hits(), 0, "the OS secret was sent");
    refused.assert_shows(&[
        "`AWS_SECRET_ACCESS_KEY` is not granted to the collection",
        "leak.yaml:3:",
        "--allow-env AWS_SECRET_ACCESS_KEY",
    ]);
    refused.assert_hides(&["runner-secret-key-value"]);
    let check = support::run(["check", &project.dir(), "--var", "base_url=http://x"]);
    assert_eq!(check.code, 2, "{check}");

    let granted = run(&["--allow-env", "AWS_SECRET_ACCESS_KEY"]);
    assert_eq!(granted.code, 0, "{granted}");
    let by_environment = run(&["--env", &project.file("granting.yaml")]);
    assert_eq!(by_environment.code, 0, "{by_environment}");
    assert_eq!(server.hits(), 2);
    // Both masked: the name looks secret.
    granted.assert_hides(&["runner-secret-key-value"]);
}

#[test]
fn a_refused_os_variable_read_says_how_to_grant_it() {
    let request = "name: Leak\nmethod: GET\nurl: \"http://127.0.0.1:1/?k={{ env('HOME') }}&c={{ env('COURIER_FREE', 'x') }}\"\n";
    let project = Project::collection(&[("leak.yaml", request)]);
    let t = support::run(["check", &project.dir()]);
    assert_transcript!(t, @r#"
        exit_code: 2
        ----- stdout -----

        ----- stderr -----
        error: the OS variable `HOME` is not granted to the collection
         --> [TEMP]/leak.yaml:3:37
          |
        3 | url: "http://127.0.0.1:[PORT]/?k={{ env('HOME') }}&c={{ env('COURIER_FREE', 'x') }}"
          |                                     ^^^^ read here
          |
          = note: collection and request files are shared and imported: their `env(...)` reads only `COURIER_*` and the names you grant (environment files read any)
          = help: grant it with `--allow-env HOME`, or `allow_env: [HOME]` in the environment file
        "#);
}

#[test]
fn json_nested_too_deep_is_not_called_not_json() {
    let deep: &'static str =
        Box::leak(format!("{}1{}", "[".repeat(200), "]".repeat(200)).into_boxed_str());
    let server = support::Server::answering_json(deep);
    let project = Project::collection(&[(
        "get.yaml",
        "name: Deep\nmethod: GET\nurl: \"{{ base_url }}/\"\nassert:\n  json:\n    $[0]: { exists: true }\n",
    )]);
    let t = support::run([
        "run",
        &project.dir(),
        "--var",
        &format!("base_url={}", server.url()),
    ]);
    assert_eq!(t.code, 1, "{t}");
    t.assert_shows(&["nested more than 128 levels deep"]);
}

#[test]
fn a_cacert_without_certificates_is_refused_even_for_http() {
    let zoom = support::emulator();
    let project = Project::new(&[("ca.pem", "this is not a certificate\n")]);
    let t = support::run_bundled(&zoom.base_url(), &["--cacert", &project.file("ca.pem")]);
    assert_eq!(t.code, 2, "{t}");
    assert_eq!(zoom.hits(), 0);
    t.assert_shows(&["holds no certificate"]);
}

/// `count` environment files `t00001.yaml`… in a new folder, each with its own `id` (and a
/// refresh token, for collections that persist one).
fn tenants(count: usize) -> Project {
    let project = Project::new(&[]);
    for i in 1..=count {
        std::fs::write(
            project.path().join(format!("t{i:05}.yaml")),
            format!("variables:\n  id: \"{i}\"\n  ClientID: {CLIENT_ID}\n  ClientSecret: {CLIENT_SECRET}\n  refresh_token: rt-{i}\n"),
        )
        .unwrap();
    }
    project
}

/// `courier ARGS…` under `ulimit -n 1024` (the usual default), with its peak memory in KiB as
/// `/usr/bin/time` measures it.
fn under_default_limits(args: &[String]) -> (crate::support::Transcript, u64) {
    let dir = Project::new(&[]);
    let time = dir.file("time.txt");
    let mut command = Command::new("sh");
    command
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .env("NO_COLOR", "1")
        .env_remove("GITHUB_ACTIONS")
        .arg("-c")
        .arg("ulimit -n 1024 && exec /usr/bin/time -f %M -o \"$0\" \"$@\"")
        .arg(&time)
        .arg(env!("CARGO_BIN_EXE_courier"))
        .args(args);
    let t = support::transcript(&mut command);
    let peak = std::fs::read_to_string(&time)
        .ok()
        .and_then(|s| s.trim().lines().last()?.parse().ok())
        .unwrap_or_else(|| panic!("no peak memory from /usr/bin/time: {t}"));
    (t, peak)
}

#[test]
fn ten_thousand_environments_run_under_the_default_open_file_limit() {
    let server = support::Server::answering_json(r#"{"ok": true}"#);
    let project = Project::collection(&[(
        "get.yaml",
        "name: Get\nmethod: GET\nurl: \"{{ base_url }}/t/{{ id }}\"\nassert:\n  status: 200\n",
    )]);
    let run = |count: usize| {
        let envs = tenants(count);
        let args = vec![
            "run".to_string(),
            project.dir(),
            "--env".into(),
            format!("{}/t*.yaml", envs.dir()),
            "--var".into(),
            format!("base_url={}", server.url()),
            "--quiet".into(),
            "--jobs".into(),
            "4".into(),
        ];
        under_default_limits(&args)
    };
    let (small, small_peak) = run(100);
    assert_eq!(small.code, 0, "{small}");
    let (large, large_peak) = run(10_000);
    assert_eq!(large.code, 0, "{large}");
    assert!(
        large.stdout.contains("10000 requests: 10000 passed"),
        "{large}"
    );
    assert_eq!(server.hits(), 10_100);
    eprintln!("peak memory: {small_peak} KiB for 100 environments, {large_peak} KiB for 10,000");
    // About 120 KiB per environment before: 1.2 GB for these. What is left per environment is
    // what the closing reports need.
    assert!(
        large_peak < small_peak + 16 * 1024,
        "peak {large_peak} KiB for 10,000 environments against {small_peak} KiB for 100"
    );
}

#[test]
fn fifteen_hundred_persisting_environments_hold_at_most_jobs_locks() {
    let server = support::Server::any_tenant_tokens();
    let envs = tenants(1_500);
    let args = vec![
        "run".to_string(),
        support::BUNDLED.into(),
        "--env".into(),
        format!("{}/t*.yaml", envs.dir()),
        "--tag".into(),
        "smoke".into(),
        "--var".into(),
        format!("base_url={}", server.url()),
        "--quiet".into(),
        "--jobs".into(),
        "2".into(),
    ];
    let (t, _) = under_default_limits(&args);
    assert_eq!(t.code, 0, "{t}");
    assert_eq!(
        server.hits(),
        3_000,
        "a refresh and an API read per environment"
    );
    for i in [1, 750, 1_500] {
        let saved = support::saved_refresh_token(envs.path().join(format!("t{i:05}.state.yaml")));
        assert_eq!(saved.value, format!("next-rt-{i}"));
    }
}

#[test]
fn one_environment_failing_its_preflight_leaves_the_others_running() {
    let server = support::Server::answering_json(r#"{"ok": true}"#);
    let project = Project::collection(&[(
        "get.yaml",
        "name: Get\nmethod: GET\nurl: \"{{ base_url }}/t/{{ id }}\"\n",
    )])
    .with("a.yaml", "variables: { id: a }\n")
    .with("b.yaml", "variables: { idd: b }\n")
    .with("c.yaml", "variables: { id: c }\n");
    let t = support::run([
        "run",
        &project.dir(),
        "--env",
        &project.file("a.yaml"),
        "--env",
        &project.file("b.yaml"),
        "--env",
        &project.file("c.yaml"),
        "--var",
        &format!("base_url={}", server.url()),
    ]);
    assert_eq!(t.code, 2, "{t}");
    assert_eq!(server.hits(), 2);
    t.assert_shows(&[
        "undefined variable `id`",
        "the preflight of",
        "b.yaml` failed",
    ]);
}

#[test]
fn a_state_file_from_another_server_falls_back_to_the_supplied_token() {
    // The README's standalone emulator, started afresh: its seed is the environment's token,
    // and the state file beside the environment holds a token of the emulator before it.
    let project = shipped_copy();
    let env = project.path().join("environments/emulator.yaml");
    let env = env.to_str().unwrap();
    for start in 1..=3 {
        let zoom = support::emulator();
        let t =
            support::run_collection(support::BUNDLED, env, &zoom.base_url(), &["--tag", "smoke"]);
        assert_eq!(t.code, 0, "emulator {start}: {t}");
        if start > 1 {
            t.assert_shows(&[
                "state file's value was refused (invalid_grant)",
                "sent the supplied value instead",
            ]);
            assert_eq!(
                zoom.hits(),
                3,
                "a refused send, the supplied token, the API read"
            );
        }
    }
}
