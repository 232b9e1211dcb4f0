//! The JSON Schemas under `schema/`: they match the types they are generated from, every bundled
//! file passes its schema, and the mistakes courier refuses are refused by the schema too.
//!
//! To update the committed files after changing a `*Doc` struct or `src/schema.rs`, run
//!
//! ```text
//! COURIER_UPDATE_SCHEMAS=1 cargo test --test it schema
//! ```
//!
//! and commit `schema/`. CI never sets the variable, so there a stale file fails the test.

use std::path::{Path, PathBuf};

use courier::schema::{self, FileKind};
use serde_json::Value;

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

#[test]
fn committed_schemas_match_the_types() {
    let update = std::env::var_os("COURIER_UPDATE_SCHEMAS").is_some_and(|v| v == "1");
    let dir = root().join("schema");
    let mut stale = Vec::new();
    for (_, file_name, value) in schema::all() {
        let path = dir.join(file_name);
        let fresh = schema::to_file_text(&value);
        let committed = std::fs::read_to_string(&path).unwrap_or_default();
        if committed == fresh {
            continue;
        }
        if update {
            std::fs::create_dir_all(&dir).unwrap();
            std::fs::write(&path, fresh).unwrap();
        } else {
            stale.push(format!("schema/{file_name}"));
        }
    }
    assert!(
        stale.is_empty(),
        "stale schema files (the types in src/model or src/schema.rs changed): {}\n\
         regenerate them with\n\n    COURIER_UPDATE_SCHEMAS=1 cargo test --test it schema\n\n\
         and commit the result",
        stale.join(", ")
    );
}

#[test]
fn bundled_files_pass_their_schemas() {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(root().join("collections")).unwrap() {
        let dir = entry.unwrap().path();
        if dir.is_dir() {
            for file in yaml_files(&dir) {
                let kind = if file.file_name().unwrap() == "collection.yaml" {
                    FileKind::Collection
                } else {
                    FileKind::Request
                };
                files.push((kind, file));
            }
        }
    }
    for dir in ["environments", "environments/s2s"] {
        for file in yaml_files(&root().join(dir)) {
            files.push((FileKind::Environment, file));
        }
    }
    let count = |kind| files.iter().filter(|(k, _)| *k == kind).count();
    assert!(
        count(FileKind::Collection) >= 2
            && count(FileKind::Request) >= 4
            && count(FileKind::Environment) >= 4,
        "the bundled files were not found: {files:?}"
    );
    let validators = Validators::new();
    for (kind, path) in &files {
        let text = std::fs::read_to_string(path).unwrap();
        if let Err(why) = validators.check(*kind, &text) {
            panic!("{} fails the {kind:?} schema:\n{why}", path.display());
        }
    }
}

#[test]
fn an_unknown_key_fails() {
    let why = Validators::new()
        .check(
            FileKind::Request,
            "name: a\nmethod: GET\nurl: u\nheders: { Accept: text/plain }\n",
        )
        .unwrap_err();
    assert!(why.contains("heders"), "{why}");
}

#[test]
fn a_misspelt_predicate_fails() {
    let validators = Validators::new();
    let base = "name: a\nmethod: GET\nurl: u\nassert:\n";
    let ok = format!("{base}  json:\n    $.n: {{ type: integer, gte: 1 }}\n");
    validators.check(FileKind::Request, &ok).unwrap();
    for wrong in [
        "  json:\n    $.n: { type: integer, gtee: 1 }\n",
        "  headers:\n    content-type: { contians: json }\n",
        // A JSON predicate courier refuses on a header.
        "  headers:\n    content-type: { starts_with: text }\n",
        "  body: { equals: ok }\n",
    ] {
        let text = format!("{base}{wrong}");
        assert!(
            validators.check(FileKind::Request, &text).is_err(),
            "passed the schema:\n{text}"
        );
    }
}

/// Request files that courier and the schema both accept, or both refuse. The schema leaves some
/// checks to courier (a JSONPath or regex that does not compile, a template that does not
/// render); those are not here.
const REQUESTS: &[(bool, &str)] = &[
    (true, "method: pOsT"),
    (
        true,
        "description: ~\nauth: ~\ntimeout: ~\nredirects: ~\njson: ~\nform: ~\nbody: ~\nassert: ~",
    ),
    (true, "timeout: 2.5"),
    (true, "timeout: 10s"),
    (true, "timeout: \"10\""),
    (true, "auth: { basic: ~, bearer: x }"),
    (true, "auth: { basic: { username: 1, password: true } }"),
    (true, "form: ~\njson: { a: 1 }"),
    (true, "body: { content_type: text/plain, text: hi }"),
    (true, "json: [1, 2]"),
    (true, "headers: { X-Count: 5, Accept: text/plain }"),
    (true, "query: { page: 1, on: yes }"),
    (true, "assert: { status: ~, body: ~, duration: ~ }"),
    (true, "assert: { status: [200, \"2XX\", \"404\"] }"),
    (
        true,
        "assert:\n  json: { $.a: ~, $.b: [1], $.c: { equals: { x: 1 } }, $.d: { length: 3.0 } }",
    ),
    (
        true,
        "assert: { headers: { x-n: 42, x-b: { equals: true, exists: true } } }",
    ),
    (true, "assert: { body: { contains: 5, matches: ok } }"),
    (
        true,
        "capture: { a: $.a, b: { json: $.b }, c: { header: X-C } }",
    ),
    (true, "auth: { none: true }"),
    (
        true,
        "auth: { oauth2: { grant: client_credentials, token_url: u, client_id: a, client_secret: b } }",
    ),
    (
        true,
        "auth:\n  oauth2:\n    grant: account_credentials\n    token_url: u\n    client_id: a\n    client_secret: b\n    account_id: c\n    client_auth: body\n    scope: x y\n    margin: 90s",
    ),
    (
        true,
        "auth: { oauth2: { grant: refresh_token, token_url: u, client_id: a, client_secret: b, refresh_token: \"{{ rt }}\" } }",
    ),
    (
        false,
        "auth: { oauth2: { grant: refresh, token_url: u, client_id: a, client_secret: b } }",
    ),
    (
        false,
        "auth: { oauth2: { grant: client_credentials, token_url: u, client_id: a } }",
    ),
    (
        false,
        "auth: { oauth2: { grant: client_credentials, token_url: u, client_id: a, client_secret: b, client_auth: header } }",
    ),
    (false, "auth: { none: true, bearer: x }"),
    (false, "method: PSOT"),
    (false, "heders: {}"),
    (false, "tags: ~"),
    (false, "always: yes"),
    (false, "timeout: true"),
    (false, "timeout: 0"),
    (false, "auth: {}"),
    (
        false,
        "auth: { bearer: a, basic: { username: a, password: b } }",
    ),
    (false, "auth: { basic: { username: a } }"),
    (false, "form: { a: 1 }\njson: { a: 1 }"),
    (false, "body: { text: hi }"),
    (false, "headers: { \"bad name\": x }"),
    (false, "query: { a: ~ }"),
    (false, "redirects: -1"),
    (false, "assert: { status: 99 }"),
    (false, "assert: { status: [] }"),
    (false, "assert: { status: \"6xx\" }"),
    (false, "assert: { json: { $.a: {} } }"),
    (false, "assert: { json: { $.a: { gtee: 1 } } }"),
    (false, "assert: { json: { $.a: { length: -1 } } }"),
    (false, "assert: { json: { $.a: { type: int } } }"),
    (false, "assert: { json: { $.a: { gt: \"1\" } } }"),
    (false, "assert: { json: { $.a: { exists: yes } } }"),
    (false, "assert: { json: { a: 1 } }"),
    (false, "assert: { headers: { x: { starts_with: a } } }"),
    (false, "assert: { headers: { x: ~ } }"),
    (false, "assert: { headers: { x: [a] } }"),
    (false, "assert: { body: { equals: a } }"),
    (false, "assert: { body: [a] }"),
    (false, "assert: { duration: -5 }"),
    (false, "capture: { 1a: $.a }"),
    (false, "capture: { a: { json: $.a, header: b } }"),
    (false, "capture: { a: 5 }"),
    (false, "capture: { a: x }"),
    (false, "capture: ~"),
];

const COLLECTIONS: &[(bool, &str)] = &[
    (true, "name: c\ndescription: ~\nrequests: [r.yaml]"),
    (
        true,
        "name: c\nvariables: { a: 1, b: [x], c: { d: e } }\nsecrets: [a]\npersist: [b]\nrequests: [r.yaml]",
    ),
    (false, "name: c\nrequests: []"),
    (false, "requests: [r.yaml]"),
    (false, "name: c\nvariables: ~\nrequests: [r.yaml]"),
    (false, "name: c\nrequest: [r.yaml]"),
    (
        true,
        "name: c\nauth: { oauth2: { grant: client_credentials, token_url: u, client_id: a, client_secret: b } }\nrequests: [r.yaml]",
    ),
    (false, "name: c\nauth: { oauth2: {} }\nrequests: [r.yaml]"),
];

const ENVIRONMENTS: &[(bool, &str)] = &[
    (true, "name: ~\nvariables: { a: \"{{ env('A') }}\" }"),
    (true, "variables: { a: 1 }\nsecrets: [a]\npersist: [a]"),
    (true, "required_scopes: [user:read, \"meeting:read\"]"),
    (false, "required_scopes: user:read"),
    (false, "secrets: a"),
    (false, "variable: {}"),
];

#[test]
fn the_schemas_agree_with_courier() {
    let validators = Validators::new();
    let cases = REQUESTS
        .iter()
        .map(|(ok, extra)| {
            let method = if extra.contains("method:") {
                ""
            } else {
                "method: GET\n"
            };
            (
                FileKind::Request,
                *ok,
                format!("name: a\nurl: http://x\n{method}{extra}\n"),
            )
        })
        .chain(
            COLLECTIONS
                .iter()
                .map(|(ok, text)| (FileKind::Collection, *ok, format!("{text}\n"))),
        )
        .chain(
            ENVIRONMENTS
                .iter()
                .map(|(ok, text)| (FileKind::Environment, *ok, format!("{text}\n"))),
        );
    let mut disagreements = Vec::new();
    for (kind, expected, text) in cases {
        let schema = validators.check(kind, &text);
        let courier = courier_loads(kind, &text);
        if schema.is_ok() != expected || courier.is_ok() != expected {
            disagreements.push(format!(
                "{kind:?} file\n{text}  expected {}; schema: {schema:?}; courier: {courier:?}",
                if expected { "valid" } else { "invalid" }
            ));
        }
    }
    assert!(disagreements.is_empty(), "{}", disagreements.join("\n\n"));
}

/// Loads a file the way `courier check` would, in a temporary folder.
fn courier_loads(kind: FileKind, text: &str) -> Result<(), String> {
    let dir = tempfile::tempdir().unwrap();
    let write = |name: &str, text: &str| std::fs::write(dir.path().join(name), text).unwrap();
    let loaded = match kind {
        FileKind::Request => {
            write("collection.yaml", "name: c\nrequests: [r.yaml]\n");
            write("r.yaml", text);
            courier::model::load_collection(dir.path()).map(drop)
        }
        FileKind::Collection => {
            write("collection.yaml", text);
            write("r.yaml", "name: a\nmethod: GET\nurl: http://x\n");
            courier::model::load_collection(dir.path()).map(drop)
        }
        FileKind::Environment => {
            write("env.yaml", text);
            courier::model::load_environment(&dir.path().join("env.yaml")).map(drop)
        }
    };
    loaded.map_err(|e| e.to_string())
}

fn yaml_files(dir: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "yaml" || e == "yml"))
        // State files that a run leaves beside an environment file are not environments.
        .filter(|p| !p.to_string_lossy().contains(".state."))
        .collect();
    files.sort();
    files
}

/// The three schemas, compiled with boon (a draft-07 validator). They are generated rather than
/// read from `schema/`, so these tests do not race the update path; the drift test above ties
/// the two together.
struct Validators {
    schemas: boon::Schemas,
    indexes: Vec<(FileKind, boon::SchemaIndex)>,
}

impl Validators {
    fn new() -> Validators {
        let mut schemas = boon::Schemas::new();
        let mut compiler = boon::Compiler::new();
        let mut indexes = Vec::new();
        for (kind, file_name, value) in schema::all() {
            let url = format!("urn:courier:{file_name}");
            compiler.add_resource(&url, value).unwrap();
            let index = compiler
                .compile(&url, &mut schemas)
                .unwrap_or_else(|e| panic!("{file_name}: {e:#}"));
            indexes.push((kind, index));
        }
        Validators { schemas, indexes }
    }

    /// Reads YAML as courier does (YAML 1.2 booleans, `0755` stays a string) and validates it.
    fn check(&self, kind: FileKind, yaml: &str) -> Result<(), String> {
        let options = serde_saphyr::options! {
            strict_booleans: true,
            leading_zero_numbers_as_strings: true,
            legacy_octal_numbers: false,
        };
        let value: Value =
            serde_saphyr::from_str_with_options(yaml, options).map_err(|e| e.to_string())?;
        let index = self.indexes.iter().find(|(k, _)| *k == kind).unwrap().1;
        self.schemas
            .validate(&value, index)
            .map_err(|e| format!("{e}"))
    }
}
