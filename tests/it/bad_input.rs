//! Every kind of invalid input: courier exits 2 with a message that points into the file
//! (file:line:col, the offending text, a fix), and sends nothing, so no refresh token is spent on
//! a run that could never finish. Each test snapshots the whole rendered message.

use crate::support::{
    self, EMULATOR_ENV, Project, REFRESH_REQUEST, REVOKE_REQUEST, Transcript, assert_transcript,
};

/// Runs `requests` as a collection against a fresh emulator and checks that courier refused it
/// without sending anything.
fn refused(requests: &[(&str, &str)], extra: &[&str]) -> Transcript {
    let zoom = support::emulator();
    let t = Project::collection(requests).run(&zoom.base_url(), extra);
    assert_refused(t, zoom.hits())
}

/// [`refused`] for a collection of one request file, `token.yaml`.
fn refused_request(text: &str) -> Transcript {
    refused(&[("token.yaml", text)], &[])
}

/// [`refused`] with `env.yaml` of this text in place of `environments/emulator.yaml`.
fn refused_with_env(requests: &[(&str, &str)], env: &str) -> Transcript {
    let zoom = support::emulator();
    let project = Project::collection(requests).with("env.yaml", env);
    let env = project.file("env.yaml");
    let t = support::run_collection(&project.dir(), &env, &zoom.base_url(), &[]);
    assert_refused(t, zoom.hits())
}

/// The bundled collection with `--env ENV EXTRA…` against a fresh emulator, refused.
fn refused_bundled(env: &str, extra: &[&str]) -> Transcript {
    let zoom = support::emulator();
    let t = support::run_collection(support::BUNDLED, env, &zoom.base_url(), extra);
    assert_refused(t, zoom.hits())
}

/// Exit 2, no report on stdout, nothing sent.
#[track_caller]
fn assert_refused(t: Transcript, hits: usize) -> Transcript {
    assert_eq!(t.code, 2, "{t}");
    assert_eq!(hits, 0, "a refused run must send nothing: {t}");
    assert_eq!(t.stdout, "", "{t}");
    t
}

/// A request to the emulator's token endpoint, with `rest` from line 4 on.
fn token_request(rest: &str) -> String {
    format!("name: Token\nmethod: POST\nurl: \"{{{{ base_url }}}}/oauth/token\"\n{rest}")
}

#[test]
fn malformed_yaml() {
    let t = refused_request(&token_request("headers: { Accept: json\n"));
    t.assert_shows(&["token.yaml:4:10", "headers: { Accept: json"]);
    assert_transcript!(t, @r#"
        exit_code: 2
        ----- stdout -----

        ----- stderr -----
        error: invalid request file: unclosed bracket '{'
         --> [TEMP]/token.yaml:4:10
          |
        4 | headers: { Accept: json
          |          ^ here
        "#);
}

#[test]
fn unknown_key_suggests_the_nearest() {
    let t = refused_request(&token_request("heders:\n  Accept: json\n"));
    t.assert_shows(&[
        "unknown key `heders`",
        "token.yaml:4:1",
        "did you mean `headers`?",
    ]);
    assert_transcript!(t, @r#"
        exit_code: 2
        ----- stdout -----

        ----- stderr -----
        error: unknown key `heders` in request file
         --> [TEMP]/token.yaml:4:1
          |
        4 | heders:
          | ^^^^^^ unknown key
          |
          = help: did you mean `headers`?
        "#);
}

#[test]
fn duplicate_key() {
    let t = refused_request(&token_request("method: GET\n"));
    t.assert_shows(&["duplicate key `method`", "token.yaml:4:1"]);
    assert_transcript!(t, @r#"
        exit_code: 2
        ----- stdout -----

        ----- stderr -----
        error: duplicate key `method`
         --> [TEMP]/token.yaml:4:1
          |
        4 | method: GET
          | ^^^^^^ this key appears earlier in the same mapping
          |
          = help: each key may appear once: remove or rename one of them
        "#);
}

#[test]
fn wrong_type_for_timeout() {
    let t = refused_request(&token_request("timeout: [1]\n"));
    t.assert_shows(&[
        "token.yaml:4:1",
        "timeout: [1]",
        "expected a string, number",
    ]);
    assert_transcript!(t, @r#"
        exit_code: 2
        ----- stdout -----

        ----- stderr -----
        error: wrong type in request file: sequence, expected a string, number or boolean
         --> [TEMP]/token.yaml:4:1
          |
        4 | timeout: [1]
          | ^^^^^^^ here
        "#);
}

#[test]
fn wrong_type_for_redirects() {
    let t = refused_request(&token_request("redirects: many\n"));
    t.assert_shows(&["token.yaml:4:12", "redirects: many"]);
}

#[test]
fn wrong_type_for_redirects_says_what_it_takes() {
    let t = refused_request(&token_request("redirects: many\n"));
    let title = t.stderr.lines().next().unwrap_or_default();
    assert!(!title.contains("u32") && title.contains("number"), "{t}");
    assert_transcript!(t, @r#"
        exit_code: 2
        ----- stdout -----

        ----- stderr -----
        error: wrong type in request file: expected a whole number such as `5`
         --> [TEMP]/token.yaml:4:12
          |
        4 | redirects: many
          |            ^^^^ not a whole number such as `5`
          |
          = help: write a whole number such as `5` here
        "#);
}

#[test]
fn missing_request_file() {
    let project = Project::new(&[
        (
            "collection.yaml",
            "name: Typo\nrequests:\n  - refresh-acces-token.yaml\n",
        ),
        ("refresh-access-token.yaml", REFRESH_REQUEST),
    ]);
    let zoom = support::emulator();
    let t = assert_refused(project.run(&zoom.base_url(), &[]), zoom.hits());
    t.assert_shows(&[
        "collection.yaml:3:5",
        "did you mean `refresh-access-token.yaml`?",
    ]);
    assert_transcript!(t, @r#"
        exit_code: 2
        ----- stdout -----

        ----- stderr -----
        error: cannot read request file `refresh-acces-token.yaml`: no such file or directory
         --> [TEMP]/collection.yaml:3:5
          |
        3 |   - refresh-acces-token.yaml
          |     ^^^^^^^^^^^^^^^^^^^^^^^^ listed here
          |
          = help: did you mean `refresh-access-token.yaml`?
        "#);
}

#[test]
fn missing_environment_file() {
    let t = refused_bundled("environments/nope.yaml", &[]);
    t.assert_shows(&["cannot read environment file `environments/nope.yaml`"]);
    assert_transcript!(t, @r#"
        exit_code: 2
        ----- stdout -----

        ----- stderr -----
        error: cannot read environment file `environments/nope.yaml`: no such file or directory
          = help: check the path of the environment file
        "#);
}

#[test]
fn undefined_variable() {
    let t = refused_request("name: Token\nmethod: POST\nurl: \"{{ base_ur }}/oauth/token\"\n");
    t.assert_shows(&[
        "undefined variable `base_ur`",
        "token.yaml:3:10",
        "did you mean `base_url`?",
        "environment file (environments/emulator.yaml), --var",
    ]);
    assert_transcript!(t, @r#"
        exit_code: 2
        ----- stdout -----

        ----- stderr -----
        error: undefined variable `base_ur`
         --> [TEMP]/token.yaml:3:10
          |
        3 | url: "{{ base_ur }}/oauth/token"
          |          ^^^^^^^ used here, but defined nowhere
          |
          = note: searched collection variables ([TEMP]/collection.yaml), environment file (environments/emulator.yaml), --var, captures of earlier requests (none)
          = help: did you mean `base_url`?
        "#);
}

#[test]
fn undefined_variable_in_a_later_request_stops_the_first() {
    let revoke = REVOKE_REQUEST.replace("{{ access_token }}", "{{ acess_token }}");
    let t = refused(
        &[("refresh.yaml", REFRESH_REQUEST), ("revoke.yaml", &revoke)],
        &[],
    );
    t.assert_shows(&[
        "undefined variable `acess_token`",
        "revoke.yaml:17:14",
        "did you mean `access_token`?",
    ]);
    assert_transcript!(t, @r#"
        exit_code: 2
        ----- stdout -----

        ----- stderr -----
        error: undefined variable `acess_token`
          --> [TEMP]/revoke.yaml:17:14
           |
        17 |   token: "{{ acess_token }}"
           |              ^^^^^^^^^^^ used here, but defined nowhere
           |
           = note: searched collection variables ([TEMP]/collection.yaml), environment file (environments/emulator.yaml), --var, captures of earlier requests (`access_token`, `refresh_token`, `api_url`)
           = help: did you mean `access_token`?
        "#);
}

const BAD_JSONPATH: &str = "assert:\n  json:\n    $.a[: 1\n";

#[test]
fn bad_jsonpath() {
    let t = refused_request(&token_request(BAD_JSONPATH));
    t.assert_shows(&["invalid JSONPath `$.a[`", "token.yaml:6:5"]);
}

#[test]
fn bad_jsonpath_is_named_once() {
    let t = refused_request(&token_request(BAD_JSONPATH));
    assert_eq!(t.stderr.matches("invalid JSONPath").count(), 1, "{t}");
    assert_transcript!(t, @r#"
        exit_code: 2
        ----- stdout -----

        ----- stderr -----
        error: invalid JSONPath `$.a[`: parser error at character 4
         --> [TEMP]/token.yaml:6:5
          |
        6 |     $.a[: 1
          |     ^^^^ not an RFC 9535 JSONPath
          |
          = help: see RFC 9535; e.g. `$.items[0].id`, `$['content-type']`, `$.items[?@.price > 10]`
        "#);
}

#[test]
fn bad_regex() {
    let t = refused_request(&token_request(
        "assert:\n  json:\n    $.scope: { matches: \"(unclosed\" }\n",
    ));
    t.assert_shows(&["invalid regex `(unclosed`", "token.yaml:6:16"]);
    assert_transcript!(t, @r#"
        exit_code: 2
        ----- stdout -----

        ----- stderr -----
        error: invalid assertion on `$.scope`: invalid regex `(unclosed`: unclosed group
         --> [TEMP]/token.yaml:6:16
          |
        6 |     $.scope: { matches: "(unclosed" }
          |                ^^^^^^^
          |
          = help: the pattern uses Rust `regex` syntax, which has no look-around or backreferences
        "#);
}

#[test]
fn unknown_predicate_suggests_the_nearest() {
    let t = refused_request(&token_request(
        "assert:\n  json:\n    $.expires_in: { gtt: 0 }\n",
    ));
    t.assert_shows(&[
        "unknown predicate `gtt`",
        "token.yaml:6:21",
        "did you mean `gt`?",
    ]);
    assert_transcript!(t, @r#"
        exit_code: 2
        ----- stdout -----

        ----- stderr -----
        error: invalid assertion on `$.expires_in`: unknown predicate `gtt`
         --> [TEMP]/token.yaml:6:21
          |
        6 |     $.expires_in: { gtt: 0 }
          |                     ^^^
          |
          = help: did you mean `gt`?
        "#);
}

#[test]
fn unknown_method() {
    let t = refused_request("name: Token\nmethod: PSOT\nurl: \"{{ base_url }}/oauth/token\"\n");
    t.assert_shows(&[
        "unknown HTTP method `PSOT`",
        "token.yaml:2:9",
        "did you mean `POST`?",
    ]);
    assert_transcript!(t, @r#"
        exit_code: 2
        ----- stdout -----

        ----- stderr -----
        error: unknown HTTP method `PSOT`
         --> [TEMP]/token.yaml:2:9
          |
        2 | method: PSOT
          |         ^^^^ not a method courier can send
          |
          = help: did you mean `POST`?
        "#);
}

#[test]
fn url_that_does_not_parse_after_rendering() {
    let t = assert_refused(support::run_bundled("not a url", &[]), 0);
    t.assert_shows(&[
        "invalid URL `not a url/oauth/token`",
        "refresh-access-token.yaml:8:6",
    ]);
    assert_transcript!(t, @r#"
        exit_code: 2
        ----- stdout -----

        ----- stderr -----
        error: invalid URL `not a url/oauth/token`: relative URL without a base
         --> collections/zoom-oauth/refresh-access-token.yaml:8:6
          |
        8 | url: "{{ base_url }}/oauth/token"
          |      ^^^^^^^^^^^^^^^^^^^^^^^^^^^^ after rendering, this is not an absolute URL
          |
          = help: a URL needs a scheme and a host, e.g. `https://zoom.us/oauth/token`; check the variables it uses
        "#);
}

#[test]
fn header_value_with_a_line_break_after_rendering() {
    let t = refused_with_env(
        &[(
            "token.yaml",
            &token_request("headers:\n  X-Trace: \"{{ trace }}\"\n"),
        )],
        "variables:\n  trace: \"a\\r\\nX-Injected: 1\"\n",
    );
    t.assert_shows(&["header `X-Trace` contains a line break", "token.yaml:5:12"]);
    assert_transcript!(t, @r#"
        exit_code: 2
        ----- stdout -----

        ----- stderr -----
        error: header `X-Trace` contains a line break after rendering
         --> [TEMP]/token.yaml:5:12
          |
        5 |   X-Trace: "{{ trace }}"
          |            ^^^^^^^^^^^^^ renders to text with CR, LF or NUL
          |
          = note: a line break in a header or URL could inject headers of its own: courier refuses to send it
          = help: remove the line break from the variable's value, e.g. with `| trim`
        "#);
}

#[test]
fn var_without_equals_is_a_usage_error() {
    // A mistyped `--var ClientSecret$SECRET`: the argument may hold the secret, so the error
    // does not echo it.
    let t = refused_bundled(EMULATOR_ENV, &["--var", "ClientSecretHunter2Hunter2"]);
    t.assert_shows(&["has no `=`", "not shown"]);
    t.assert_hides(&["Hunter2Hunter2"]);
    assert_transcript!(t, @r#"
        exit_code: 2
        ----- stdout -----

        ----- stderr -----
        error: invalid value for '--var <NAME=VALUE>': expected NAME=VALUE, e.g. `--var base_url=http://127.0.0.1:[PORT]`; the value given (26 characters, not shown) has no `=`

        Usage: courier [OPTIONS] <COMMAND>

        For more information, try '--help'.
        "#);
}

#[test]
fn unset_os_variable_in_an_environment_file() {
    let t = refused_with_env(
        &[("refresh.yaml", REFRESH_REQUEST)],
        "variables:\n  ClientID: demo\n  ClientSecret: \"{{ env('ZOOM_NOT_SET') }}\"\n  \
         refresh_token: demo-refresh-token\n",
    );
    t.assert_shows(&[
        "environment variable `ZOOM_NOT_SET` is not set",
        "env.yaml:3:26",
    ]);
    assert_transcript!(t, @r#"
        exit_code: 2
        ----- stdout -----

        ----- stderr -----
        error: environment variable `ZOOM_NOT_SET` is not set
         --> [TEMP]/env.yaml:3:26
          |
        3 |   ClientSecret: "{{ env('ZOOM_NOT_SET') }}"
          |                          ^^^^^^^^^^^^ read here
          |
          = help: export ZOOM_NOT_SET before running courier, or give a default: env("ZOOM_NOT_SET", "…")
        "#);
}
