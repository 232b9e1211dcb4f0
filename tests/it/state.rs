//! Persistent variables across runs: the rotated refresh token is saved (0600) beside the
//! environment, wins over a stale injected copy and loses to one it has never seen, one run at a
//! time holds the state file, an unusable state folder is refused before anything is sent, and a
//! save that fails after the token was spent exits 5 with the token rescued.

use std::fs;
use std::path::Path;

use courier::mock::zoom::{Seed, ZoomMock};

use crate::support::{
    self, FAKE_REFRESH_TOKEN, Gate, Project, REFRESH_TOKEN, Transcript, assert_private,
    saved_refresh_token,
};

/// A Zoom emulator seeded like [`support::seed`] but with another first refresh token: the
/// user authorized the app again.
fn reauthorized_emulator(refresh_token: &str) -> ZoomMock {
    let seed = Seed {
        refresh_token: refresh_token.into(),
        ..support::seed()
    };
    ZoomMock::start_background(seed, "127.0.0.1:0".parse().unwrap()).expect("the emulator starts")
}

/// Runs the refresh once, injecting the seed token, and checks that it passed.
#[track_caller]
fn first_refresh(project: &Project, zoom: &ZoomMock) -> String {
    let t = project.refresh(&zoom.base_url(), REFRESH_TOKEN, &[]);
    assert_eq!(t.code, 0, "{t}");
    zoom.live_refresh_token().expect("the grant is alive")
}

/// Snapshots with the rescue file's timestamp hidden, on top of the usual filters.
fn assert_state_transcript(name: &str, t: &Transcript) {
    let mut settings = support::settings();
    settings.add_filter(r"\.rescue-\d+", ".rescue-[TS]");
    settings.bind(|| insta::assert_snapshot!(name, t.to_string()));
}

#[test]
fn the_rotated_token_is_used_though_the_original_is_injected_again() {
    let zoom = support::emulator();
    let project = support::persisting_env();
    let rotated = first_refresh(&project, &zoom);
    let state = project.file("env.state.yaml");
    assert_eq!(saved_refresh_token(&state).value, rotated);

    // CI injects the original token every time; the emulator would refuse it now.
    let t = project.refresh(&zoom.base_url(), REFRESH_TOKEN, &[]);

    assert_eq!(t.code, 0, "{t}");
    assert_eq!(zoom.hits(), 4, "a refresh and an API read a run");
    let live = zoom.live_refresh_token().expect("the grant is alive");
    assert_ne!(live, rotated, "the second run rotated the token again");
    let saved = saved_refresh_token(&state);
    assert_eq!(saved.value, live);
    assert_eq!(saved.previous.as_deref(), Some(rotated.as_str()));
    t.assert_hides(&[&live, &rotated]);
}

#[test]
fn a_token_the_state_has_never_seen_wins() {
    let old = support::emulator();
    let project = support::persisting_env();
    first_refresh(&project, &old);
    let zoom = reauthorized_emulator("fresh-token-2");

    let t = project.refresh(&zoom.base_url(), "fresh-token-2", &[]);

    assert_eq!(t.code, 0, "{t}");
    let live = zoom.live_refresh_token().expect("the grant is alive");
    let saved = saved_refresh_token(project.file("env.state.yaml"));
    assert_eq!(saved.value, live);
    assert_eq!(saved.previous.as_deref(), Some("fresh-token-2"));
}

#[test]
fn a_second_run_waits_for_the_lock_and_sends_nothing() {
    let gate = Gate::new();
    let server = support::gated_token_server(&gate);
    let project = support::persisting_env();
    let first = support::spawn(&mut project.refresh_command(
        &server.url(),
        REFRESH_TOKEN,
        &["--timeout", "10s"],
    ));
    // The lock is taken before the first request, so the request proves it is held.
    support::wait_until("the first run sent its refresh", || server.hits() == 1);

    let second = project.refresh(&server.url(), REFRESH_TOKEN, &["--lock-timeout", "200ms"]);
    gate.open();
    let first = support::finish(first);

    assert_eq!(second.code, 2, "{second}");
    assert_eq!(
        server.hits(),
        2,
        "the first run's refresh and API read; the second run must send nothing: {second}"
    );
    assert_eq!(first.code, 0, "{first}");
    assert_eq!(
        saved_refresh_token(project.file("env.state.yaml")).value,
        FAKE_REFRESH_TOKEN
    );
    assert_state_transcript("a_second_run_waits_for_the_lock_and_sends_nothing", &second);
}

/// A state path courier cannot create files beside: a 0500 folder, or for root (who writes
/// into one anyway) a folder that is a regular file.
fn unwritable_state_path(project: &Project) -> String {
    use std::os::unix::fs::PermissionsExt;
    let dir = project.path().join("read-only");
    fs::create_dir(&dir).unwrap();
    fs::set_permissions(&dir, fs::Permissions::from_mode(0o500)).unwrap();
    let probe = dir.join("probe");
    if fs::write(&probe, "").is_err() {
        return dir.join("env.state.yaml").display().to_string();
    }
    fs::remove_file(&probe).unwrap();
    let file = project.path().join("plain-file");
    fs::write(&file, "").unwrap();
    file.join("env.state.yaml").display().to_string()
}

#[test]
fn an_unwritable_state_folder_is_refused_before_sending() {
    let zoom = support::emulator();
    let project = support::persisting_env();
    let state = unwritable_state_path(&project);

    let t = project.refresh(&zoom.base_url(), REFRESH_TOKEN, &["--state", &state]);

    assert_eq!(t.code, 2, "{t}");
    assert_eq!(zoom.hits(), 0, "{t}");
    t.assert_shows(&["cannot create files in"]);
    assert_eq!(zoom.live_refresh_token().as_deref(), Some(REFRESH_TOKEN));
}

#[test]
fn a_partial_file_left_by_a_killed_save_does_not_break_the_next_run() {
    let zoom = support::emulator();
    let project = support::persisting_env();
    first_refresh(&project, &zoom);
    let stray = project.path().join(".env.state.yaml.tmp-4242-0-1");
    fs::write(
        &stray,
        "version: 1\nvariables:\n  refresh_token:\n    value: 'emurt.tru",
    )
    .unwrap();

    let t = project.refresh(&zoom.base_url(), REFRESH_TOKEN, &[]);

    assert_eq!(t.code, 0, "{t}");
    let live = zoom.live_refresh_token().expect("the grant is alive");
    assert_eq!(
        saved_refresh_token(project.file("env.state.yaml")).value,
        live
    );
    assert!(!stray.exists(), "the lock holder removes strays");
}

/// Runs the refresh with its state in a folder that becomes a file while the token is being
/// spent, so the save fails; the rescue file goes to the run's temp folder. Returns the run and
/// that folder.
fn save_fails_mid_run() -> (Transcript, Project) {
    let gate = Gate::new();
    let server = support::gated_token_server(&gate);
    let project = support::persisting_env();
    let folder = project.path().join("state");
    let rescue = project.path().join("rescue");
    fs::create_dir(&folder).unwrap();
    fs::create_dir(&rescue).unwrap();
    let state = folder.join("env.state.yaml").display().to_string();
    let run = support::spawn(
        project
            .refresh_command(&server.url(), REFRESH_TOKEN, &["--state", &state])
            // Where the rescue file goes when the state's folder will not take it.
            .env("TMPDIR", &rescue),
    );
    support::wait_until("the run sent its refresh", || server.hits() == 1);
    fs::remove_dir_all(&folder).unwrap();
    fs::write(&folder, "").unwrap();
    gate.open();
    (support::finish(run), project)
}

#[test]
fn a_save_that_fails_after_the_token_was_spent_exits_5_with_a_rescue_file() {
    let (t, project) = save_fails_mid_run();

    assert_eq!(t.code, 5, "{t}");
    let rescued = only_file_in(&project.path().join("rescue"));
    assert_private(&rescued);
    assert_eq!(fs::read_to_string(&rescued).unwrap(), FAKE_REFRESH_TOKEN);
    t.assert_shows(&[
        "the new value of `refresh_token` was not saved",
        &rescued.display().to_string(),
    ]);
    t.assert_hides(&[FAKE_REFRESH_TOKEN]);
}

/// The exit-5 message carries a single `error:` prefix.
#[test]
fn the_exit_5_message_has_one_error_prefix() {
    let (t, _project) = save_fails_mid_run();

    t.assert_hides(&["error: error:"]);
    assert_state_transcript("the_exit_5_message_has_one_error_prefix", &t);
}

fn only_file_in(dir: &Path) -> std::path::PathBuf {
    let mut entries: Vec<_> = fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert_eq!(entries.len(), 1, "{entries:?}");
    entries.pop().unwrap()
}

#[test]
fn export_vars_writes_the_new_token_as_dotenv_or_json() {
    let zoom = support::emulator();
    let project = support::persisting_env();
    let dotenv = project.file("out.env");
    let json = project.file("out.json");

    let first = project.refresh(&zoom.base_url(), REFRESH_TOKEN, &["--export-vars", &dotenv]);
    assert_eq!(first.code, 0, "{first}");
    let rotated = zoom.live_refresh_token().unwrap();
    let second = project.refresh(&zoom.base_url(), REFRESH_TOKEN, &["--export-vars", &json]);
    assert_eq!(second.code, 0, "{second}");
    let live = zoom.live_refresh_token().unwrap();

    assert_private(&dotenv);
    assert_eq!(
        fs::read_to_string(&dotenv).unwrap(),
        format!("refresh_token=\"{rotated}\"\n")
    );
    assert_private(&json);
    let exported: serde_json::Value =
        serde_json::from_str(&fs::read_to_string(&json).unwrap()).unwrap();
    assert_eq!(exported, serde_json::json!({ "refresh_token": live }));
}
