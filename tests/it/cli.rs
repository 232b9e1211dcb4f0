//! The command line itself: help and version, usage errors, how `--var` is read, and when
//! output is coloured (`--color`, `NO_COLOR`, `CLICOLOR_FORCE`).

use crate::support::{self, BUNDLED, EMULATOR_ENV, Project, Server, Transcript, assert_transcript};

const ESC: &str = "\x1b[";

#[test]
fn help_lists_the_exit_codes() {
    let t = support::run(["--help"]);

    assert_eq!(t.code, 0, "{t}");
    t.assert_shows(&[
        "Exit codes:",
        "  0  every request was sent",
        "  1  an assertion failed",
        "  2  invalid input",
        "  3  transport failure",
    ]);
    assert_transcript!(t, @r#"
        exit_code: 0
        ----- stdout -----
        Run API request collections written in YAML

        Usage: courier [OPTIONS] <COMMAND>

        Commands:
          run          Send the requests of a collection in order and check their assertions
          check        Load and validate a collection and environment without sending anything (exit 0 or 2)
          vars         List each variable, its value (secrets masked) and where it came from
          curl         Print an equivalent curl command for requests of a collection (secrets masked)
          token        Print a valid access token: the kept one while it is fresh, else a new one
          completions  Print a shell completion script: `courier completions bash >
                       /etc/bash_completion.d/courier`
          man          Print the manual page (roff): `courier man > courier.1`
          schema       Print the JSON Schema (draft-07) of a file kind, for editor completion and
                       validation, or write all three into a folder
          mock         Serve a local emulator of a real API
          import       Convert another tool's collection into a courier collection
          report       Work with the reports of earlier runs
          help         Print this message or the help of the given subcommand(s)

        Options:
              --color <COLOR>  When to colour the output: `auto` colours a terminal unless NO_COLOR is set
                               [default: auto] [possible values: auto, always, never]
          -h, --help           Print help
          -V, --version        Print version

        Exit codes:
          0  every request was sent and every assertion passed
          1  an assertion failed (or a capture found nothing)
          2  invalid input: usage, YAML, template, JSONPath, regex, undefined variable
          3  transport failure: cannot connect, TLS, timeout
          4  credentials rejected: 401, or an OAuth error such as invalid_grant or invalid_client
          5  a new value of a persistent variable could not be saved (it was rescued to a side file)

        ----- stderr -----
        "#);
}

#[test]
fn run_help_lists_the_flags_and_exit_codes() {
    let t = support::run(["run", "--help"]);

    assert_eq!(t.code, 0, "{t}");
    t.assert_shows(&[
        "--env <FILE>",
        "--var <NAME=VALUE>",
        "--timeout",
        "--mock-zoom",
    ]);
    t.assert_shows(&["Exit codes:", "  3  transport failure"]);
}

#[test]
fn version() {
    let t = support::run(["--version"]);

    assert_eq!(t.code, 0, "{t}");
    assert_eq!(t.stdout, format!("courier {}\n", env!("CARGO_PKG_VERSION")));
}

#[test]
fn run_without_a_collection_is_a_usage_error() {
    let t = support::run(["run"]);

    assert_eq!(t.code, 2, "{t}");
    assert_transcript!(t, @r#"
        exit_code: 2
        ----- stdout -----

        ----- stderr -----
        error: the following required arguments were not provided:
          <COLLECTION>

        Usage: courier run <COLLECTION>

        For more information, try '--help'.
        "#);
}

#[test]
fn var_keeps_everything_after_the_first_equals_and_beats_the_environment() {
    let server = Server::answering_json("{}");
    let project = Project::collection(&[(
        "echo.yaml",
        "name: Echo\nmethod: POST\nurl: \"{{ base_url }}/echo\"\n\
         json:\n  query: \"{{ query }}\"\n  client: \"{{ ClientID }}\"\n",
    )]);

    let t = project.run(
        &server.url(),
        &[
            "--var",
            "query=a=b&c=d",
            "--var",
            "ClientID=from-the-command-line",
        ],
    );

    assert_eq!(t.code, 0, "{t}");
    let sent = server.requests();
    assert_eq!(
        sent[0].body,
        r#"{"query":"a=b&c=d","client":"from-the-command-line"}"#
    );
}

/// The bundled collection with `--mock-zoom`, colour flags first, and `NO_COLOR` set only if
/// `env` sets it.
fn mock_zoom_run(color: &[&str], env: &[(&str, &str)]) -> Transcript {
    let mut command = support::courier();
    command
        .env_remove("NO_COLOR")
        .args(color)
        .args(["run", BUNDLED, "--env", EMULATOR_ENV, "--mock-zoom"])
        .envs(env.iter().copied());
    support::transcript(&mut command)
}

#[test]
fn color_always_paints_the_report() {
    let t = mock_zoom_run(&["--color", "always"], &[]);

    assert_eq!(t.code, 0, "{t}");
    assert!(t.stdout.contains(ESC), "{t}");
}

#[test]
fn color_always_paints_errors() {
    let t = support::run(["--color", "always", "run", "collections/nope"]);

    assert_eq!(t.code, 2, "{t}");
    assert!(t.stderr.contains(ESC), "{t}");
}

#[test]
fn clicolor_force_paints_a_pipe() {
    let t = mock_zoom_run(&[], &[("CLICOLOR_FORCE", "1")]);

    assert_eq!(t.code, 0, "{t}");
    assert!(t.stdout.contains(ESC), "{t}");
}

#[test]
fn no_color_beats_clicolor_force() {
    let t = mock_zoom_run(&[], &[("NO_COLOR", "1"), ("CLICOLOR_FORCE", "1")]);

    assert_eq!(t.code, 0, "{t}");
    assert!(!t.output().contains(ESC), "{t}");
}

#[test]
fn a_test_server_whose_handler_panics_fails_the_test() {
    let server = Server::start(|_| panic!("handler bug"));
    let _ =
        std::net::TcpStream::connect(server.url().trim_start_matches("http://")).map(|mut s| {
            use std::io::Write;
            let _ = s.write_all(b"GET / HTTP/1.1\r\nhost: x\r\ncontent-length: 0\r\n\r\n");
            let mut buf = [0u8; 16];
            let _ = std::io::Read::read(&mut s, &mut buf);
        });
    let dropped = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| drop(server)));
    let said = dropped.expect_err("dropping the server reports the handler's panic");
    let said = said.downcast_ref::<String>().cloned().unwrap_or_default();
    assert!(said.contains("handler bug"), "{said}");
}

/// `courier mock zoom --token-lifetime 1s`: its token answers say so, Zoom's API takes the
/// access token at once, and refuses it with Zoom's 401 (exit 4) once it expired.
#[test]
fn mock_zoom_tokens_expire_after_the_lifetime_given() {
    let port = support::closed_port();
    let mut emulator = support::courier()
        .args(["mock", "zoom", "--port", &port.to_string()])
        .args(["--client-id", "id-1", "--client-secret", "secret-1"])
        .args(["--refresh-token", "rt-1", "--token-lifetime", "1s"])
        .stdout(std::process::Stdio::null())
        .spawn()
        .unwrap();
    support::wait_until("the emulator listens", || {
        std::net::TcpStream::connect(("127.0.0.1", port)).is_ok()
    });
    let refresh = "name: Refresh\nmethod: POST\nurl: \"{{ base_url }}/oauth/token\"\n\
        auth:\n  basic: { username: id-1, password: secret-1 }\n\
        form:\n  grant_type: refresh_token\n  refresh_token: rt-1\n\
        assert:\n  json:\n    $.expires_in: 1\n\
        capture:\n  access_token: $.access_token\n  api_url: $.api_url\n";
    let me = "name: Me\nmethod: GET\nurl: \"{{ api_url }}/v2/users/me\"\n\
        auth:\n  bearer: \"{{ access_token }}\"\nassert:\n  status: 200\n";
    // The access token and the API's address are kept in the state file, for the late call.
    let project = Project::collection(&[("refresh.yaml", refresh), ("me.yaml", me)]).with(
        "env.yaml",
        "variables: { base_url: unused }\npersist: [access_token, api_url]\n",
    );
    let run = |extra: &[&str]| {
        let url = format!("base_url=http://127.0.0.1:{port}");
        let mut args = vec!["run", &project.dir(), "--env", &project.file("env.yaml")]
            .into_iter()
            .map(String::from)
            .collect::<Vec<_>>();
        args.extend(["--var".to_string(), url]);
        args.extend(extra.iter().map(|a| a.to_string()));
        support::run(args)
    };

    let fresh = run(&[]);
    assert_eq!(fresh.code, 0, "{fresh}");
    std::thread::sleep(std::time::Duration::from_millis(1300));
    let late = run(&["--request", "Me"]);

    let _ = emulator.kill();
    let _ = emulator.wait();
    assert_eq!(late.code, 4, "{late}");
    late.assert_shows(&["401", "Invalid access token."]);
}
