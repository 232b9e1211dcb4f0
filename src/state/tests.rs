//! Tests of the whole state file: round trips, locking across threads and processes, crashes at
//! every step of a save, rescue, and the rendered errors.
//!
//! Process tests re-run this test binary filtered to a helper test that does its work only when
//! an environment variable names a state file; run normally, the helpers pass without doing
//! anything.

use std::fs;
use std::io::{BufRead, BufReader};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use super::format::{MAX_INPUTS, MAX_SUPERSEDED, fingerprint};
use super::resolve::Why;
use super::*;

const HOLD_LOCK: &str = "COURIER_STATE_TEST_HOLD_LOCK";
const SAVE_LOOP: &str = "COURIER_STATE_TEST_SAVE_LOOP";

fn mode(path: &Path) -> u32 {
    fs::metadata(path).unwrap().permissions().mode() & 0o777
}

fn names(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    names.sort();
    names
}

fn open(path: &Path) -> StateFile {
    StateFile::open(path, Duration::from_secs(5)).unwrap()
}

/// The state file's value of `name`, read the way the next run reads it.
fn saved(path: &Path, name: &str) -> Option<String> {
    let file = SourceFile::new(path, fs::read_to_string(path).unwrap());
    let state = format::parse(&file).unwrap_or_else(|d| panic!("{}", d.render(false)));
    state.variables.get(name).map(|e| e.value.clone())
}

/// Re-runs this test binary on one helper test, with `var` set to the state file's path.
fn spawn_helper(test: &str, var: &str, path: &Path) -> Child {
    Command::new(std::env::current_exe().unwrap())
        .args([test, "--exact", "--nocapture", "--test-threads=1"])
        .env(var, path)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap()
}

#[test]
fn default_path_is_beside_the_environment() {
    let cases = [
        ("environments/prod.yaml", "environments/prod.state.yaml"),
        ("prod.yml", "prod.state.yml"),
        ("/abs/staging.YAML", "/abs/staging.state.YAML"),
        ("environments/prod", "environments/prod.state.yaml"),
        ("prod.env", "prod.env.state.yaml"),
    ];
    for (env, state) in cases {
        assert_eq!(
            default_state_path(Path::new(env)),
            Path::new(state),
            "{env}"
        );
    }
}

#[test]
fn save_then_open_again_round_trips() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("prod.state.yaml");
    let mut state = open(&path);
    assert!(
        state.get("refresh_token").is_none(),
        "a missing file is empty"
    );
    let r = state.resolve("refresh_token", Some("t0"));
    assert_eq!(r.why, Why::NotInState);
    state
        .save("refresh_token", "t1", "Refresh access token")
        .unwrap();
    assert_eq!(mode(&path), 0o600);
    drop(state);

    let mut state = open(&path);
    let entry = state.get("refresh_token").unwrap();
    assert_eq!(entry.value, "t1");
    assert_eq!(entry.previous.as_deref(), Some("t0"));
    assert_eq!(entry.superseded, [fingerprint("t0")]);
    assert_eq!(entry.by.as_deref(), Some("Refresh access token"));
    let age = SystemTime::now().duration_since(entry.updated.unwrap());
    assert!(age.unwrap() < Duration::from_secs(60));

    // Someone loosened the mode: the next save puts 0600 back.
    fs::set_permissions(&path, fs::Permissions::from_mode(0o644)).unwrap();
    state.resolve("refresh_token", None);
    state
        .save("refresh_token", "t2", "Refresh access token")
        .unwrap();
    assert_eq!(mode(&path), 0o600);
    assert_eq!(mode(&durable::lock_path(&path)), 0o600);
    assert_eq!(
        names(dir.path()),
        ["prod.state.yaml", "prod.state.yaml.lock"]
    );
    drop(state);

    let entry = open(&path).get("refresh_token").unwrap().clone();
    assert_eq!(entry.value, "t2");
    assert_eq!(entry.previous.as_deref(), Some("t1"));
    assert_eq!(entry.superseded, [fingerprint("t1"), fingerprint("t0")]);
}

/// The case the precedence rule exists for: CI injects the first token on every run.
#[test]
fn a_stale_ci_secret_does_not_beat_the_state() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("s.yaml");
    {
        let mut run = open(&path);
        assert_eq!(run.resolve("rt", Some("t0")).value.as_deref(), Some("t0"));
        run.save("rt", "t1", "refresh").unwrap();
    }
    {
        let mut run = open(&path);
        let r = run.resolve("rt", Some("t0"));
        assert_eq!(
            (r.value.as_deref(), r.why),
            (Some("t1"), Why::InjectedSuperseded)
        );
        run.save("rt", "t2", "refresh").unwrap();
    }
    {
        // The user authorized again and put the new token in the secret store.
        let mut run = open(&path);
        let r = run.resolve("rt", Some("u0"));
        assert_eq!(
            (r.value.as_deref(), r.why),
            (Some("u0"), Why::InjectedUnknown)
        );
        run.save("rt", "u1", "refresh").unwrap();
    }
    let run = open(&path);
    let entry = run.get("rt").unwrap();
    assert_eq!(entry.previous.as_deref(), Some("u0"));
    for dead in ["u0", "t2", "t1", "t0"] {
        assert!(entry.supersedes(dead), "{dead}");
    }
}

#[test]
fn a_second_open_waits_for_the_lock_then_fails() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("s.yaml");
    let first = open(&path);
    let start = Instant::now();
    let err = StateFile::open(&path, Duration::from_millis(200)).unwrap_err();
    let waited = start.elapsed();
    assert!(matches!(err, StateError::Locked { .. }), "{err:?}");
    assert!(waited >= Duration::from_millis(200), "{waited:?}");
    assert!(waited < Duration::from_secs(2), "{waited:?}");
    drop(first);
    StateFile::open(&path, Duration::from_millis(200)).unwrap();
}

/// Helper for [`a_lock_held_by_another_process_blocks_until_it_dies`].
#[test]
fn helper_holds_the_lock() {
    let Some(path) = std::env::var_os(HOLD_LOCK) else {
        return;
    };
    let _state = open(Path::new(&path));
    // libtest prints the test's name without a newline first, so the marker ends a line.
    println!("courier-test-locked");
    // Killed by the parent; the bound only matters if the parent died first.
    std::thread::sleep(Duration::from_secs(10));
}

#[test]
fn a_lock_held_by_another_process_blocks_until_it_dies() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("s.yaml");
    let mut child = spawn_helper("state::tests::helper_holds_the_lock", HOLD_LOCK, &path);
    let stdout = BufReader::new(child.stdout.take().unwrap());
    let ready = stdout
        .lines()
        .map_while(Result::ok)
        .any(|l| l.ends_with("courier-test-locked"));
    assert!(ready, "the helper did not take the lock");

    let err = StateFile::open(&path, Duration::from_millis(200)).unwrap_err();
    assert!(matches!(err, StateError::Locked { .. }), "{err:?}");

    // SIGKILL: the kernel drops the lock with the process, no clean-up code runs.
    child.kill().unwrap();
    child.wait().unwrap();
    StateFile::open(&path, Duration::from_secs(2)).unwrap();
}

#[test]
fn a_read_only_folder_fails_the_preflight() {
    let dir = tempfile::tempdir().unwrap();
    for lock_exists in [false, true] {
        let folder = dir.path().join(format!("ro-{lock_exists}"));
        fs::create_dir(&folder).unwrap();
        let path = folder.join("s.yaml");
        if lock_exists {
            // An old lock file opens in a read-only folder: the probe must still catch it.
            drop(open(&path));
        }
        fs::set_permissions(&folder, fs::Permissions::from_mode(0o500)).unwrap();
        let probe = folder.join("root-probe");
        if fs::write(&probe, "x").is_ok() {
            let _ = fs::remove_file(&probe);
            fs::set_permissions(&folder, fs::Permissions::from_mode(0o700)).unwrap();
            eprintln!("note: a 0500 folder takes writes here (root?): read-only check skipped");
            return;
        }
        let result = StateFile::open(&path, Duration::from_millis(200));
        fs::set_permissions(&folder, fs::Permissions::from_mode(0o700)).unwrap();
        match result {
            Err(StateError::NotWritable { folder: f, .. }) => assert_eq!(f, folder),
            other => panic!("expected NotWritable, got {other:?}"),
        }
    }
}

#[test]
fn a_missing_folder_fails_the_preflight() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("gone/s.yaml");
    let err = StateFile::open(&path, Duration::from_millis(200)).unwrap_err();
    assert!(matches!(err, StateError::NotWritable { .. }), "{err:?}");
}

#[test]
fn an_invalid_state_file_is_an_error_with_its_position() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("s.yaml");
    let text = "version: 1\nvariables:\n  rt:\n    value: [unclosed\n";
    fs::write(&path, text).unwrap();
    let err = StateFile::open(&path, Duration::from_millis(200)).unwrap_err();
    let StateError::Invalid(d) = &err else {
        panic!("expected Invalid, got {err:?}");
    };
    let position = d.spot.as_ref().expect("a position").position();
    assert!(
        position.starts_with(&format!("{}:", path.display())),
        "{position}"
    );
    let rendered = d.render(false);
    assert!(rendered.contains(&position), "{rendered}");
    // Never replaced.
    assert_eq!(fs::read_to_string(&path).unwrap(), text);
}

#[test]
fn leftovers_of_an_interrupted_save_are_ignored_and_removed() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("s.yaml");
    {
        let mut state = open(&path);
        state.save("rt", "old", "seed").unwrap();
    }
    let valid = fs::read_to_string(&path).unwrap();
    // Killed while writing the temporary file: partial content.
    fs::write(
        dir.path().join(".s.yaml.tmp-1-0-1"),
        &valid[..valid.len() / 2],
    )
    .unwrap();
    // Killed after writing, before the rename: a complete new file never renamed.
    fs::write(
        dir.path().join(".s.yaml.tmp-1-1-2"),
        valid.replace("'old'", "'new'"),
    )
    .unwrap();
    // Killed between creating and removing the preflight probe.
    fs::write(dir.path().join(".s.yaml.probe-1-2-3"), "courier").unwrap();

    assert_eq!(saved(&path, "rt").as_deref(), Some("old"));
    let state = open(&path);
    assert_eq!(state.get("rt").unwrap().value, "old");
    assert_eq!(names(dir.path()), ["s.yaml", "s.yaml.lock"]);
}

/// Helper for [`kill_9_during_saves_leaves_a_whole_state_file`]: saves as fast as it can.
#[test]
fn helper_saves_in_a_loop() {
    let Some(path) = std::env::var_os(SAVE_LOOP) else {
        return;
    };
    let mut state = open(Path::new(&path));
    let start = Instant::now();
    let mut n = 0u64;
    while start.elapsed() < Duration::from_secs(5) {
        state.save("rt", &loop_value(n), "loop").unwrap();
        n += 1;
    }
}

/// Values long enough that a torn write would show, each checkable on its own.
fn loop_value(n: u64) -> String {
    format!("v{n}-{}", "x".repeat(2000 + (n % 97) as usize))
}

fn is_loop_value(value: &str) -> bool {
    value
        .strip_prefix('v')
        .and_then(|rest| rest.split_once('-'))
        .and_then(|(n, _)| n.parse::<u64>().ok())
        .is_some_and(|n| value == loop_value(n))
}

#[test]
fn kill_9_during_saves_leaves_a_whole_state_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("s.yaml");
    open(&path).save("rt", "initial", "seed").unwrap();
    let start = Instant::now();
    let mut kills = 0;
    while kills < 20 && start.elapsed() < Duration::from_secs(3) {
        let before = fs::read(&path).unwrap();
        let mut child = spawn_helper("state::tests::helper_saves_in_a_loop", SAVE_LOOP, &path);
        // Kill only once the child is saving, at a different moment each time.
        let deadline = Instant::now() + Duration::from_secs(5);
        while fs::read(&path).unwrap() == before {
            assert!(Instant::now() < deadline, "the helper never saved");
            std::thread::sleep(Duration::from_millis(1));
        }
        std::thread::sleep(Duration::from_micros(300 * (kills % 11)));
        child.kill().unwrap();
        child.wait().unwrap();
        kills += 1;

        let value = saved(&path, "rt").expect("a value");
        assert!(is_loop_value(&value), "kill {kills}: torn value {value:?}");
    }
    assert!(kills >= 3, "only {kills} kills in the time allowed");
    // The next run cleans whatever the killed writers left.
    let state = open(&path);
    assert!(is_loop_value(&state.get("rt").unwrap().value));
    assert_eq!(names(dir.path()), ["s.yaml", "s.yaml.lock"]);
}

#[test]
fn a_vanished_folder_sends_the_value_to_the_rescue_folder() {
    let dir = tempfile::tempdir().unwrap();
    let rescue = tempfile::tempdir().unwrap();
    let folder = dir.path().join("env");
    fs::create_dir(&folder).unwrap();
    let path = folder.join("s.yaml");
    let mut state = open(&path);
    state.set_rescue_dir(rescue.path());
    fs::remove_dir_all(&folder).unwrap();

    let err = state
        .save("rt", "t-new", "Refresh access token")
        .unwrap_err();
    let Kept::Rescued { path: kept } = &err.kept else {
        panic!("expected a rescue file, got {err:?}");
    };
    assert_eq!(kept.parent(), Some(rescue.path()));
    assert!(
        kept.file_name()
            .unwrap()
            .to_str()
            .unwrap()
            .starts_with("s.yaml.rescue-"),
        "{kept:?}"
    );
    assert_eq!(fs::read_to_string(kept).unwrap(), "t-new");
    assert_eq!(mode(kept), 0o600);
    let text = err.render(false);
    assert!(text.contains(&kept.display().to_string()), "{text}");
    assert!(!text.contains("t-new"), "the value leaked: {text}");
    // The run keeps the new value.
    assert_eq!(state.get("rt").unwrap().value, "t-new");
}

#[test]
fn a_failed_rename_sends_the_value_beside_the_state_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("s.yaml");
    let mut state = open(&path);
    // Something replaced the state file by a folder: the rename onto it fails.
    fs::create_dir(&path).unwrap();
    let err = state.save("rt", "t-new", "refresh").unwrap_err();
    let Kept::Rescued { path: kept } = &err.kept else {
        panic!("expected a rescue file, got {err:?}");
    };
    assert_eq!(kept.parent(), Some(dir.path()));
    assert_eq!(fs::read_to_string(kept).unwrap(), "t-new");
    assert_eq!(mode(kept), 0o600);
    let leftovers: Vec<_> = names(dir.path())
        .into_iter()
        .filter(|n| n.contains(".tmp-"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
}

#[test]
fn when_every_write_fails_the_error_holds_the_value() {
    let dir = tempfile::tempdir().unwrap();
    let folder = dir.path().join("env");
    fs::create_dir(&folder).unwrap();
    let path = folder.join("s.yaml");
    let mut state = open(&path);
    state.set_rescue_dir(&dir.path().join("no-such-folder"));
    fs::remove_dir_all(&folder).unwrap();

    let err = state.save("rt", "t-new", "refresh").unwrap_err();
    assert_eq!(err.unsaved_value(), Some("t-new"));
    let Kept::Nowhere { attempts, .. } = &err.kept else {
        panic!("expected Nowhere, got {err:?}");
    };
    assert_eq!(attempts.len(), 2);
    assert!(!err.render(false).contains("t-new"));
    assert!(!format!("{err:?}").contains("t-new"));
}

// ---- rendered messages, with fixed paths ----

fn not_found() -> io::Error {
    io::Error::from(io::ErrorKind::NotFound)
}

#[test]
fn lock_timeout_message() {
    let err = StateError::Locked {
        state: PathBuf::from("environments/prod.state.yaml"),
        lock: PathBuf::from("environments/prod.state.yaml.lock"),
        waited: Duration::from_secs(5),
    };
    let err = crate::error::Error::from(err);
    insta::assert_snapshot!(err.render(false), @r"
    error: another courier run is using the state file `environments/prod.state.yaml`
      = help: waited 5s for the lock on `environments/prod.state.yaml.lock`; let that run finish, or give this one its own state file with `--state`
    ");
    assert_eq!(err.code(), crate::error::exit::INVALID_INPUT);
}

#[test]
fn not_writable_message() {
    let err = StateError::NotWritable {
        state: PathBuf::from("environments/prod.state.yaml"),
        folder: PathBuf::from("environments"),
        source: io::Error::from(io::ErrorKind::PermissionDenied),
    };
    let err = crate::error::Error::from(err);
    insta::assert_snapshot!(err.render(false), @r"
    error: cannot create files in `environments`, the folder of the state file: permission denied
      = help: courier saves rotated tokens there and checks it before sending anything; make the folder writable or choose another file with `--state`
    ");
}

#[test]
fn save_error_messages() {
    let rescued = SaveError {
        name: "refresh_token".into(),
        state: PathBuf::from("environments/prod.state.yaml"),
        by: "Refresh access token".into(),
        source: not_found(),
        kept: Kept::Rescued {
            path: PathBuf::from("/tmp/prod.state.yaml.rescue-1795870800"),
        },
    };
    insta::assert_snapshot!(rescued.render(false), @r#"
    error: the new value of `refresh_token` was not saved to `environments/prod.state.yaml`: entity not found
      = note: `Refresh access token` received it and the value it replaced no longer works: this is the only copy
      = note: the value was written to `/tmp/prod.state.yaml.rescue-1795870800`
      = help: give it to the next run with `--var refresh_token="$(cat /tmp/prod.state.yaml.rescue-1795870800)"` (the state file has never seen it, so it wins), then delete the rescue file
    "#);
    let nowhere = SaveError {
        kept: Kept::Nowhere {
            value: "secret".into(),
            attempts: vec![
                (PathBuf::from("environments"), not_found()),
                (PathBuf::from("/tmp"), not_found()),
            ],
        },
        ..rescued
    };
    insta::assert_snapshot!(nowhere.render(false), @r"
    error: the new value of `refresh_token` was not saved to `environments/prod.state.yaml`: entity not found
      = note: `Refresh access token` received it and the value it replaced no longer works: this is the only copy
      = note: could not write a rescue file in `environments`: entity not found
      = note: could not write a rescue file in `/tmp`: entity not found
      = help: the value is only in this process's memory
    ");
}

/// One run of a CI job against a provider that rotates: the state rule picks a value, the
/// provider accepts it only while it is live, a refused supplied value falls back once to the
/// state's. Returns whether the run refreshed, and how many dead values it sent.
fn ci_run(
    path: &Path,
    live: &mut String,
    next_token: &mut u64,
    injected: Option<&str>,
) -> (bool, u32) {
    let mut run = open(path);
    let mut sending = run.resolve("rt", injected).value;
    let mut dead_sent = 0;
    loop {
        match sending {
            Some(value) if value == *live => {
                *next_token += 1;
                *live = format!("rt-{next_token}");
                run.save("rt", live, "refresh").unwrap();
                return (true, dead_sent);
            }
            Some(_) => {
                dead_sent += 1;
                sending = run.fall_back("rt").map(|(value, _)| value);
                if sending.is_none() {
                    return (false, dead_sent);
                }
            }
            None => return (false, dead_sent),
        }
    }
}

#[test]
fn the_injected_original_never_wins_however_many_runs() {
    // The README's recipe: the secret store injects the original token every hour, for months.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("s.yaml");
    let (mut live, mut n) = ("rt-0".to_string(), 0);
    for run in 0..(3 * MAX_SUPERSEDED + MAX_INPUTS) {
        let (refreshed, dead_sent) = ci_run(&path, &mut live, &mut n, Some("rt-0"));
        assert!(refreshed, "run {run}");
        assert_eq!(dead_sent, 0, "run {run} sent a dead token");
    }
    // The state file does not grow with the runs.
    let size = fs::metadata(&path).unwrap().len();
    assert!(size < 4096, "{size} bytes");
}

#[test]
fn a_refused_supplied_value_falls_back_to_the_state_once() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("s.yaml");
    let (mut live, mut n) = ("rt-0".to_string(), 0);
    assert_eq!(ci_run(&path, &mut live, &mut n, Some("rt-0")), (true, 0));
    // A value the state has never seen, and dead at the provider (a restored old backup).
    assert_eq!(
        ci_run(&path, &mut live, &mut n, Some("stale-backup")),
        (true, 1)
    );
    // Supplied before, so it no longer wins.
    assert_eq!(
        ci_run(&path, &mut live, &mut n, Some("stale-backup")),
        (true, 0)
    );
    // The state's value refused with nothing supplied: nothing to fall back to.
    let mut run = open(&path);
    run.resolve("rt", None);
    assert_eq!(run.fall_back("rt"), None);
    drop(run);
    // The state's value refused, a supplied one it thinks stale: tried once (a state file
    // from another server).
    let mut run = open(&path);
    run.resolve("rt", Some("rt-0"));
    assert_eq!(
        run.fall_back("rt"),
        Some(("rt-0".to_string(), FellBack::ToSupplied))
    );
    assert_eq!(run.fall_back("rt"), None);
}

mod rule {
    use super::*;
    use proptest::prelude::*;

    /// What the secret store hands a run.
    #[derive(Debug, Clone)]
    enum Supply {
        Nothing,
        /// The token the chain started from, injected forever (option A of the README).
        Original,
        /// The token the last run exported, pushed back (option B), or one some runs behind
        /// when pushing back failed.
        Exported {
            behind: usize,
        },
        /// The user authorized the app again: a new token, and the old grant dies.
        Reauthorized,
    }

    fn supply() -> impl Strategy<Value = Supply> {
        prop_oneof![
            1 => Just(Supply::Nothing),
            4 => Just(Supply::Original),
            4 => (0usize..60).prop_map(|behind| Supply::Exported { behind }),
            1 => Just(Supply::Reauthorized),
        ]
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

        /// Whatever the secret store supplies, in any order, every run refreshes (the state
        /// always holds the live token, or the store supplies the new grant), no run sends more
        /// than one dead token, and no token is ever sent twice successfully.
        #[test]
        fn every_run_refreshes_whatever_is_supplied(supplies in prop::collection::vec(supply(), 1..80)) {
            let dir = tempfile::tempdir().unwrap();
            let path = dir.path().join("s.yaml");
            let mut n = 0u64;
            let mut live = "rt-0".to_string();
            let mut original = live.clone();
            let mut history = vec![live.clone()];
            for (i, supply) in supplies.iter().enumerate() {
                let injected = match supply {
                    Supply::Nothing if i == 0 => Some(original.clone()),
                    Supply::Nothing => None,
                    Supply::Original => Some(original.clone()),
                    Supply::Exported { behind } => {
                        Some(history[history.len().saturating_sub(1 + behind)].clone())
                    }
                    Supply::Reauthorized => {
                        n += 1;
                        live = format!("rt-{n}");
                        original = live.clone();
                        Some(live.clone())
                    }
                };
                let (refreshed, dead_sent) = ci_run(&path, &mut live, &mut n, injected.as_deref());
                prop_assert!(refreshed, "run {} ({:?}) did not refresh", i, supply);
                prop_assert!(dead_sent <= 1, "run {} sent {} dead tokens", i, dead_sent);
                prop_assert!(!history.contains(&live), "a token was issued twice");
                history.push(live.clone());
            }
        }
    }
}
