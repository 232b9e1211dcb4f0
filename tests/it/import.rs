//! `courier import postman` end to end: a real Postman export (the RealWorld "Conduit"
//! collection) becomes a collection that `courier check` accepts once the variables the import
//! names are given; an import never touches an existing collection; a file that is no collection
//! is refused clearly; and a secret value of a Postman environment is written nowhere.

use std::collections::BTreeMap;
use std::path::Path;

use crate::support::{self, Project, Transcript, assert_transcript};

const CONDUIT: &str = "tests/fixtures/postman/conduit.postman_collection.json";

/// `courier import postman COLLECTION --out OUT EXTRA…`
fn import(collection: &str, out: &Path, extra: &[&str]) -> Transcript {
    let out = out.display().to_string();
    let mut args = vec!["import", "postman", collection, "--out", &out];
    args.extend_from_slice(extra);
    support::run(args)
}

/// Every file under `dir`, by relative path, with its text.
fn tree(dir: &Path) -> BTreeMap<String, String> {
    fn walk(root: &Path, dir: &Path, files: &mut BTreeMap<String, String>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                walk(root, &path, files);
            } else {
                let relative = path.strip_prefix(root).unwrap().display().to_string();
                files.insert(relative, std::fs::read_to_string(&path).unwrap());
            }
        }
    }
    let mut files = BTreeMap::new();
    walk(dir, dir, &mut files);
    files
}

/// The names the import summary lists as "used but defined nowhere".
fn undefined_names(summary: &str) -> Vec<String> {
    let line = summary
        .lines()
        .find(|l| l.contains("defined nowhere"))
        .unwrap_or_else(|| panic!("no undefined-variables note in:\n{summary}"));
    let list = line.split_once("): ").map_or("", |(_, rest)| rest);
    let list = list.split(';').next().unwrap_or_default();
    list.split(", ")
        .map(|name| name.trim().trim_matches('`').to_string())
        .collect()
}

#[test]
fn conduit_imports_into_a_collection_that_checks() {
    let project = Project::new(&[]);
    let out = project.path().join("conduit");

    let t = import(CONDUIT, &out, &[]);

    assert_eq!(t.code, 0, "{t}");
    assert!(
        t.stdout
            .starts_with("imported 32 requests in 5 folders into "),
        "{t}"
    );
    assert_transcript!(t);

    // Conduit relies on Postman globals; the import names them, and with them the collection
    // passes every check courier makes before sending.
    let names = undefined_names(&t.stdout);
    assert!(names.contains(&"APIURL".to_string()), "{names:?}");
    let mut args = vec!["check".to_string(), out.display().to_string()];
    for name in &names {
        args.extend(["--var".to_string(), format!("{name}=http://x")]);
    }
    let check = support::run(&args);
    assert_eq!(check.code, 0, "{check}");
    assert!(
        check.stdout.starts_with("ok: Conduit (32 requests"),
        "{check}"
    );

    // Leaving one out sends it as `{{EMAIL}}`, as Newman does (`undefined: literal`)…
    let only_url = [
        "check",
        &out.display().to_string(),
        "--var",
        "APIURL=http://x",
    ];
    let lenient = support::run(only_url);
    assert_eq!(lenient.code, 0, "{lenient}");
    // …and `undefined: error` brings back courier's own rule, pointing into the imported files.
    let index = out.join("collection.yaml");
    let text = std::fs::read_to_string(&index).unwrap();
    assert!(text.contains("\nundefined: literal\n"), "{text}");
    std::fs::write(
        &index,
        text.replace("undefined: literal", "undefined: error"),
    )
    .unwrap();
    let strict = support::run(only_url);
    assert_eq!(strict.code, 2, "{strict}");
    assert!(
        strict.stderr.contains("error: undefined variable"),
        "{strict}"
    );
}

#[test]
fn importing_into_an_existing_collection_is_refused_and_changes_nothing() {
    let project = Project::new(&[]);
    let out = project.path().join("conduit");
    let first = import(CONDUIT, &out, &[]);
    assert_eq!(first.code, 0, "{first}");
    let before = tree(&out);

    let again = import(CONDUIT, &out, &[]);

    assert_eq!(again.code, 2, "{again}");
    assert!(
        again
            .stderr
            .contains("already holds a collection (collection.yaml): nothing was written"),
        "{again}"
    );
    assert!(again.stdout.is_empty(), "{again}");
    assert_eq!(tree(&out), before);
}

/// A Postman environment export given where the collection goes: the commonest mix-up.
#[test]
fn a_file_that_is_no_collection_is_refused() {
    let project = Project::new(&[]);
    let out = project.path().join("out");

    let t = import(
        "tests/fixtures/postman/newman-disabled-and-duplicates.postman_environment.json",
        &out,
        &[],
    );

    assert_eq!(t.code, 2, "{t}");
    assert!(!out.exists(), "nothing is written");
    assert_transcript!(t, @r#"
        exit_code: 2
        ----- stdout -----

        ----- stderr -----
        error: not a Postman collection: `tests/fixtures/postman/newman-disabled-and-duplicates.postman_environment.json` has no `info.schema` and no `item` list
         --> tests/fixtures/postman/newman-disabled-and-duplicates.postman_environment.json:1:1
          |
        1 | {
          | ^ expected a Postman collection export
          |
          = note: this file is a Postman environment (or globals) export: pass it with `--environment`, and the collection as the first argument
          = help: in Postman, open the collection's `…` menu, choose Export, pick Collection v2.1 and Export; pass that `.json` file
        "#);
}

#[test]
fn a_secret_environment_value_is_written_nowhere() {
    const SECRET: &str = "pw-Zq81-never-written";
    let environment = format!(
        r#"{{"id": "5f0c", "name": "Conduit staging", "values": [
            {{"key": "APIURL", "value": "http://127.0.0.1:9/api", "type": "default", "enabled": true}},
            {{"key": "EMAIL", "value": "jake@example.com", "type": "default", "enabled": true}},
            {{"key": "PASSWORD", "value": "{SECRET}", "type": "secret", "enabled": true}}
        ], "_postman_variable_scope": "environment"}}"#
    );
    let project = Project::new(&[("staging.postman_environment.json", &environment)]);
    let out = project.path().join("conduit");
    let env_export = project.file("staging.postman_environment.json");

    let t = import(CONDUIT, &out, &["--environment", &env_export]);

    assert_eq!(t.code, 0, "{t}");
    t.assert_hides(&[SECRET]);
    let files = tree(&out);
    let env_file = "environments/conduit-staging.yaml";
    assert!(files.contains_key(env_file), "{:?}", files.keys());
    for (path, text) in &files {
        assert!(!text.contains(SECRET), "{path} holds the secret value");
    }
    assert!(
        files[env_file].contains("PASSWORD: \"{{ env('COURIER_POSTMAN_PASSWORD') }}\""),
        "{}",
        files[env_file]
    );

    // The environment fills the rest, and the secret is an OS variable the check says it needs.
    let mut args = vec![
        "check".to_string(),
        out.display().to_string(),
        "--env".to_string(),
        out.join(env_file).display().to_string(),
    ];
    for name in undefined_names(&t.stdout) {
        args.extend(["--var".to_string(), format!("{name}=x")]);
    }
    let check = support::run(&args);
    assert_eq!(check.code, 0, "{check}");
    assert!(
        check.stdout.contains("needs COURIER_POSTMAN_PASSWORD"),
        "{check}"
    );
}

/// Newman's `request-chaining-test`: a test script sets written values the next request sends
/// and checks; they become a `{ value }` capture and `vars:` checks, and the first request,
/// which sends the names before anything sets them, sends `{{FOO}}` as Newman does. Needs no
/// Newman (the differential test runs both).
#[test]
fn newmans_request_chaining_fixture_imports_as_captures_and_variable_checks() {
    let project = Project::new(&[]);
    let out = project.path().join("chaining");
    let fixture =
        "tests/fixtures/newman/request-chaining-test/request-chaining-test.postman_collection.json";
    let imported = import(fixture, &out, &[]);
    assert_eq!(imported.code, 0, "{imported}");
    let files = tree(&out);

    let first = &files["preliminary-request.yaml"];
    assert!(
        first.contains("capture:\n  FOO:\n    value: alpha\n  BAR:\n    value: beta\n"),
        "{first}"
    );
    assert!(
        first.contains("vars:\n    FOO:\n      truthy: false\n"),
        "{first}"
    );
    let second = &files["secondary-request.yaml"];
    assert!(
        second.contains("vars:\n    FOO: alpha\n    BAR: beta\n"),
        "{second}"
    );
    assert!(files["collection.yaml"].contains("undefined: literal"));
}
