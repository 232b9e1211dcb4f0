//! What a CI job feeds a run besides the collection: `--env-file` (dotenv read by `env(...)`,
//! below the OS environment), `--var-file` (below `--var`), and the commands that show what a
//! run would use without sending anything: `courier check` and `courier vars`.

use crate::support::{
    self, BUNDLED, CLIENT_ID, CLIENT_SECRET, Project, REFRESH_REQUEST, REFRESH_TOKEN,
    assert_transcript,
};

const EXAMPLE_ENV: &str = "environments/example.yaml";

/// A dotenv file giving `environments/example.yaml` the emulator's credentials, with this
/// client secret.
fn zoom_dotenv(client_secret: &str) -> String {
    format!(
        "# CI secrets\nZOOM_CLIENT_ID={CLIENT_ID}\nZOOM_CLIENT_SECRET=\"{client_secret}\"\n\
         ZOOM_REFRESH_TOKEN={REFRESH_TOKEN}\n"
    )
}

#[test]
fn env_file_fills_env_calls_without_the_process_environment() {
    let zoom = support::emulator();
    let project = Project::new(&[("ci.env", &zoom_dotenv(CLIENT_SECRET))]);
    let env_file = project.file("ci.env");

    let t = support::run_collection(
        BUNDLED,
        EXAMPLE_ENV,
        &zoom.base_url(),
        &["--tag", "smoke", "--env-file", &env_file],
    );

    assert_eq!(t.code, 0, "{t}");
    assert_eq!(zoom.hits(), 2, "the refresh and the API read");
    t.assert_hides(&[CLIENT_SECRET, REFRESH_TOKEN]);
}

#[test]
fn the_os_environment_wins_over_an_env_file() {
    let zoom = support::emulator();
    let project = Project::new(&[("ci.env", &zoom_dotenv("stale-secret-in-file"))]);
    let env_file = project.file("ci.env");
    let mut command = support::run_command(
        BUNDLED,
        EXAMPLE_ENV,
        &zoom.base_url(),
        &["--tag", "smoke", "--env-file", &env_file],
    );

    let t = support::transcript(command.env("ZOOM_CLIENT_SECRET", CLIENT_SECRET));

    assert_eq!(t.code, 0, "{t}");
    t.assert_hides(&["stale-secret-in-file", CLIENT_SECRET]);
}

#[test]
fn var_file_sets_variables_and_var_wins_over_it() {
    let project = Project::new(&[("vars.yaml", "ClientSecret: wrong-secret-value\n")]);
    let var_file = project.file("vars.yaml");
    let with_var_file = ["--tag", "smoke", "--var-file", &var_file];

    let zoom = support::emulator();
    let t = support::run_bundled(&zoom.base_url(), &with_var_file);
    assert_eq!(
        t.code, 4,
        "the variables file beats the environment file: {t}"
    );

    let zoom = support::emulator();
    let secret = format!("ClientSecret={CLIENT_SECRET}");
    let t = support::run_bundled(
        &zoom.base_url(),
        &[&with_var_file[..], &["--var", &secret]].concat(),
    );
    assert_eq!(t.code, 0, "--var beats the variables file: {t}");
}

#[test]
fn check_lists_the_os_variables_it_needs_and_sends_nothing() {
    let zoom = support::emulator();
    let base_url = format!("base_url={}", zoom.base_url());

    let t = support::run(["check", BUNDLED, "--env", EXAMPLE_ENV, "--var", &base_url]);

    assert_eq!(t.code, 0, "{t}");
    assert_eq!(zoom.hits(), 0);
    t.assert_shows(&[
        "needs ZOOM_CLIENT_ID",
        "needs ZOOM_CLIENT_SECRET",
        "needs ZOOM_REFRESH_TOKEN",
    ]);
    assert_transcript!(t, @r#"
        exit_code: 0
        ----- stdout -----
        ok: Zoom OAuth (3 requests, collection collections/zoom-oauth), environment environments/example.yaml
        needs ZOOM_CLIENT_ID (an OS environment variable not set here)
        needs ZOOM_CLIENT_SECRET (an OS environment variable not set here)
        needs ZOOM_REFRESH_TOKEN (an OS environment variable not set here)

        ----- stderr -----
        "#);
}

#[test]
fn check_refuses_a_typo() {
    let typo = REFRESH_REQUEST.replace("form:", "from:");
    let project = Project::collection(&[("refresh.yaml", &typo)]);

    let t = support::run(["check", &project.dir(), "--env", support::EMULATOR_ENV]);

    assert_eq!(t.code, 2, "{t}");
    t.assert_shows(&["unknown key `from`", "did you mean `form`?"]);
    assert_transcript!(t, @r#"
        exit_code: 2
        ----- stdout -----

        ----- stderr -----
        error: unknown key `from` in request file
          --> [TEMP]/refresh.yaml:13:1
           |
        13 | from:
           | ^^^^ unknown key
           |
           = help: did you mean `form`?
        "#);
}

/// A state file holding `refresh_token`, as courier writes it.
const SAVED_STATE: &str = "version: 1\nvariables:\n  refresh_token:\n    \
                           value: 'saved-refresh-token'\n    previous: 'older-refresh-token'\n    \
                           superseded: []\n";

#[test]
fn vars_shows_each_source_and_masks_secrets() {
    let env = "name: CI\n\
               variables:\n  \
                 ClientID: \"{{ env('ZOOM_CLIENT_ID') }}\"\n  \
                 ClientSecret: \"{{ env('ZOOM_CLIENT_SECRET') }}\"\n\
               secrets: [ClientSecret]\n\
               persist: [refresh_token]\n";
    let project = Project::new(&[("env.yaml", env), ("env.state.yaml", SAVED_STATE)]);
    let mut command = support::courier();
    command
        .args(["vars", BUNDLED, "--env", &project.file("env.yaml")])
        .args(["--var", "extra=from the command line"])
        .env("ZOOM_CLIENT_ID", CLIENT_ID)
        .env("ZOOM_CLIENT_SECRET", CLIENT_SECRET);

    let t = support::transcript(&mut command);

    assert_eq!(t.code, 0, "{t}");
    t.assert_hides(&[CLIENT_SECRET, "saved-refresh-token"]);
    t.assert_shows(&[
        "https://zoom.us",
        "collection",
        "(OS environment: ZOOM_CLIENT_ID)",
        "state (",
        "--var",
    ]);
    assert_transcript!(t, @r#"
        exit_code: 0
        ----- stdout -----
        NAME           VALUE                  SOURCE
        base_url       https://zoom.us        collection
        ClientID       courier-demo-client    environment (OS environment: ZOOM_CLIENT_ID)
        ClientSecret   ***                    environment (OS environment: ZOOM_CLIENT_SECRET)
        extra          from the command line  --var
        refresh_token  ***                    state ([TEMP]/env.state.yaml)

        refresh_token: saved value used: nothing injected

        ----- stderr -----
        "#);
}

/// A value from `--var-file` is attributed to that file, not to `--var`.
#[test]
fn vars_names_the_variables_file_a_value_came_from() {
    let project = Project::new(&[("ci-vars.yaml", "region: eu\nbase_url: https://eu.zoom.us\n")]);
    let var_file = project.file("ci-vars.yaml");

    let t = support::run([
        "vars",
        BUNDLED,
        "--env",
        support::EMULATOR_ENV,
        "--var-file",
        &var_file,
        "--var",
        "region=us",
    ]);

    assert_eq!(t.code, 0, "{t}");
    let line = |name: &str| {
        t.stdout
            .lines()
            .find(|l| l.starts_with(name))
            .unwrap_or_default()
            .to_string()
    };
    assert!(line("base_url").contains("--var-file ("), "{t}");
    assert!(line("base_url").contains("https://eu.zoom.us"), "{t}");
    // `--var` wins over the file, and says so.
    assert!(
        line("region").contains("us") && line("region").ends_with("--var"),
        "{t}"
    );
}

#[test]
fn undefined_literal_sends_what_nothing_defines_as_text_but_never_beside_a_rotating_token() {
    let server = crate::support::Server::start(|_| Some(crate::support::Reply::json("{}")));
    let get = "name: Get\nmethod: GET\nurl: \"{{ base_url }}/x\"\nquery:\n  t: \"{{ missing }}\"\n";
    let project = crate::support::Project::new(&[
        (
            "c/collection.yaml",
            "name: Imported\nundefined: literal\nrequests: [get.yaml]\n",
        ),
        ("c/get.yaml", get),
    ]);

    let t = crate::support::run_collection(
        &project.file("c"),
        crate::support::EMULATOR_ENV,
        &server.url(),
        &[],
    );
    assert_eq!(t.code, 0, "{t}");
    assert_eq!(server.requests()[0].path, "/x?t=%7B%7Bmissing%7D%7D");
    // A value given on the command line wins over the text.
    let t = crate::support::run_collection(
        &project.file("c"),
        crate::support::EMULATOR_ENV,
        &server.url(),
        &["--var", "missing=given"],
    );
    assert_eq!(t.code, 0, "{t}");
    assert_eq!(server.requests()[1].path, "/x?t=given");

    // A request that spends a rotating token is held to the strict rule.
    let project = project
        .with(
            "c/collection.yaml",
            "name: Imported\nundefined: literal\npersist: [refresh_token]\nrequests: [get.yaml]\n",
        )
        .with(
            "c/get.yaml",
            &format!("{get}  rt: \"{{{{ refresh_token }}}}\"\ncapture:\n  refresh_token: $.refresh_token\n"),
        );
    let t = crate::support::run_collection(
        &project.file("c"),
        crate::support::EMULATOR_ENV,
        &server.url(),
        &[],
    );
    assert_eq!(t.code, 2, "{t}");
    t.assert_shows(&[
        "undefined variable `missing`",
        "`undefined: literal` never applies to a request that sends a persistent variable",
    ]);
    assert_eq!(server.requests().len(), 2, "nothing sent");
}
