//! courier as a shell citizen: completion scripts, the manual page, the JSON Schemas printed or
//! written, `--color never` against `CLICOLOR_FORCE`, and output into a pipe that closes early
//! (`| head -1`), which must end quietly rather than panic.

use std::process::Command;

use serde_json::Value;

use crate::support::{self, BUNDLED, EMULATOR_ENV, Project, Server, Transcript};

const ESC: char = '\u{1b}';

/// Runs `script` with `sh -c`, `$0` being the courier binary. Colour and CI settings are off as
/// for [`support::courier`], and the working folder is the crate root.
fn sh(script: &str, args: &[&str]) -> Transcript {
    let mut command = Command::new("sh");
    command
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .env("NO_COLOR", "1")
        .env_remove("CLICOLOR_FORCE")
        .env_remove("GITHUB_ACTIONS")
        .args(["-c", script, env!("CARGO_BIN_EXE_courier")])
        .args(args);
    support::transcript(&mut command)
}

#[test]
fn completions_print_a_script_for_each_shell() {
    for (shell, marker) in [
        ("bash", "complete -F _courier"),
        ("zsh", "#compdef courier"),
        ("fish", "complete -c courier"),
        ("powershell", "Register-ArgumentCompleter"),
        ("elvish", "edit:completion:arg-completer[courier]"),
    ] {
        let t = support::run(["completions", shell]);

        assert_eq!(t.code, 0, "{shell}: {t}");
        assert!(t.stdout.contains(marker), "{shell} lacks `{marker}`");
        assert!(t.stdout.contains("iterations"), "{shell} lacks run's flags");
        assert!(t.stderr.is_empty(), "{shell}: {t}");
    }
}

#[test]
fn man_prints_roff() {
    let t = support::run(["man"]);

    assert_eq!(t.code, 0, "{t}");
    assert!(
        t.stdout.starts_with(".TH") || t.stdout.starts_with(".ie"),
        "{}",
        &t.stdout[..t.stdout.len().min(200)]
    );
    assert!(t.stdout.contains(".TH courier 1"), "no title header");
    assert!(t.stdout.contains(".SH NAME"), "no NAME section");
}

/// `courier man | head -1`: the pipe may close before courier has written; courier's own exit
/// status (kept in a file, since `sh` reports only the pipeline's last command) is 0 and its
/// stderr holds no panic.
#[test]
fn man_into_a_closed_pipe_ends_quietly() {
    let project = Project::new(&[]);
    let status = project.file("status");

    let t = sh(
        r#"{ "$0" man 2>"$1.err"; echo $? >"$1"; } | head -1"#,
        &[&status],
    );

    assert_eq!(t.code, 0, "{t}");
    assert_eq!(t.stdout.lines().count(), 1, "{t}");
    let stderr = std::fs::read_to_string(format!("{status}.err")).unwrap();
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert_eq!(std::fs::read_to_string(&status).unwrap().trim(), "0");
}

/// A long verbose run (over the 64 KiB courier buffers when piped) into `head -1`: it goes on
/// to the end and exits 0, with nothing on stderr about the closed pipe.
#[test]
fn a_run_into_a_closed_pipe_ends_quietly() {
    let server = Server::answering_json(r#"{"ok":true}"#);
    let project = Project::collection(&[(
        "get.yaml",
        "name: Get\nmethod: GET\nurl: \"{{ base_url }}/get\"\nheaders:\n  X-Filler: \"{{ filler }}\"\n",
    )]);
    let status = project.file("status");

    let t = sh(
        r#"{ "$0" run "$2" -v -n 40 --var "base_url=$3" --var "filler=$4" 2>"$1.err"; echo $? >"$1"; } | head -1"#,
        &[&status, &project.dir(), &server.url(), &"f".repeat(2000)],
    );

    assert_eq!(t.code, 0, "{t}");
    assert_eq!(t.stdout.lines().count(), 1, "{t}");
    let stderr = std::fs::read_to_string(format!("{status}.err")).unwrap();
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert!(stderr.is_empty(), "{stderr}");
    assert_eq!(std::fs::read_to_string(&status).unwrap().trim(), "0");
    assert_eq!(server.hits(), 40, "the run goes on without its reader");
}

#[test]
fn color_never_beats_clicolor_force() {
    let mut command = support::courier();
    command
        .env_remove("NO_COLOR")
        .env("CLICOLOR_FORCE", "1")
        .args(["--color", "never", "run", BUNDLED, "--env", EMULATOR_ENV])
        .arg("--mock-zoom");
    let run = support::transcript(&mut command);
    let mut command = support::courier();
    command
        .env_remove("NO_COLOR")
        .env("CLICOLOR_FORCE", "1")
        .args(["run", "collections/nope", "--color", "never"]);
    let error = support::transcript(&mut command);

    assert_eq!(run.code, 0, "{run}");
    assert!(!run.output().contains(ESC), "{run}");
    assert_eq!(error.code, 2, "{error}");
    assert!(!error.output().contains(ESC), "{error}");
}

#[test]
fn schema_prints_a_draft_07_schema() {
    let t = support::run(["schema", "request"]);

    assert_eq!(t.code, 0, "{t}");
    let schema: Value = serde_json::from_str(&t.stdout).expect("the schema is JSON");
    assert_eq!(
        schema["$schema"], "http://json-schema.org/draft-07/schema#",
        "{t}"
    );
    assert_eq!(schema["type"], "object");
    assert!(schema["properties"]["method"].is_object(), "{t}");
}

#[test]
fn schema_out_writes_the_committed_files() {
    let project = Project::new(&[]);
    let out = project.path().join("schemas");

    let t = support::run(["schema", "--out", &out.display().to_string()]);

    assert_eq!(t.code, 0, "{t}");
    let mut written: Vec<String> = std::fs::read_dir(&out)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    written.sort();
    assert_eq!(
        written,
        [
            "collection.schema.json",
            "environment.schema.json",
            "request.schema.json"
        ]
    );
    let committed = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("schema");
    for name in &written {
        assert_eq!(
            std::fs::read_to_string(out.join(name)).unwrap(),
            std::fs::read_to_string(committed.join(name)).unwrap(),
            "{name} differs from schema/{name}"
        );
        assert!(t.stdout.contains(name), "{t}");
    }
}
