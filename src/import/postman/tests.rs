//! Tests of the Postman import: each conversion rule on hand-built v2.0 and v2.1 collections,
//! input encodings, errors, a large collection, environments with secrets, and real public
//! exports (`tests/fixtures/postman`, sources in the README there).
//!
//! Every imported collection is loaded with courier's own loader, as `courier check` does, and
//! the ones whose variables can be supplied are prechecked, which renders every template.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use tempfile::TempDir;

use super::names::{Names, slug, upper_snake};
use super::scripts::{Asserts, convert_test_script};
use super::*;
use crate::diag::{SourceFile, Spot};
use crate::import::{Format, ImportOptions, ImportReport, import as import_postman, yaml};
use crate::model::{self, Tmpl};
use crate::runner::{Inputs, Origin, Plan, Settings, Setup, StateChoice, lookup_from};
use crate::template::Engine;

// ---------------------------------------------------------------------------------------------
// Helpers

struct Imported {
    dir: TempDir,
    report: ImportReport,
}

impl Imported {
    fn out(&self) -> PathBuf {
        self.dir.path().join("out")
    }

    /// A written file read back with courier's YAML reader.
    fn yaml(&self, relative: &str) -> Value {
        read_yaml(&self.out().join(relative))
    }

    fn text(&self, relative: &str) -> String {
        std::fs::read_to_string(self.out().join(relative)).unwrap()
    }

    fn notes(&self) -> String {
        self.report.not_converted.join("\n")
    }
}

fn read_yaml(path: &Path) -> Value {
    let text = std::fs::read_to_string(path).unwrap();
    model::yaml::parse(&SourceFile::new(path, text), "test file")
        .unwrap_or_else(|d| panic!("{}: {}", path.display(), d.render(false)))
}

/// Writes the inputs to a temporary folder and imports them into `out` there.
fn import_bytes(collection: &[u8], environments: &[&[u8]]) -> Result<Imported> {
    let dir = TempDir::new().unwrap();
    let collection_path = dir.path().join("in.postman_collection.json");
    std::fs::write(&collection_path, collection).unwrap();
    let environments = environments
        .iter()
        .enumerate()
        .map(|(i, bytes)| {
            let path = dir.path().join(format!("env{i}.postman_environment.json"));
            std::fs::write(&path, bytes).unwrap();
            path
        })
        .collect();
    let options = ImportOptions {
        format: Format::Postman,
        globals: Vec::new(),
        tags: Vec::new(),
        operations: Vec::new(),
        collection: collection_path,
        environments,
        out: dir.path().join("out"),
    };
    let report = import_postman(&options)?;
    Ok(Imported { dir, report })
}

fn import(collection: &Value, environments: &[&Value]) -> Imported {
    let envs: Vec<Vec<u8>> = environments
        .iter()
        .map(|e| serde_json::to_vec_pretty(e).unwrap())
        .collect();
    let env_refs: Vec<&[u8]> = envs.iter().map(Vec::as_slice).collect();
    import_bytes(&serde_json::to_vec_pretty(collection).unwrap(), &env_refs)
        .unwrap_or_else(|e| panic!("{}", e.render(false)))
}

fn import_err(bytes: &[u8]) -> String {
    match import_bytes(bytes, &[]) {
        Ok(_) => panic!("the import should have failed"),
        Err(e) => e.render(false),
    }
}

/// Loads the written collection (and its first environment) as `courier check` does, and
/// prechecks every request with these `--var`s and OS variables: every template renders.
fn check(imported: &Imported, vars: &[(&str, &str)], os: &[(&str, &str)]) {
    let collection =
        model::load_collection(&imported.out()).unwrap_or_else(|e| panic!("{}", e.render(false)));
    let environment = imported
        .report
        .environments
        .first()
        .map(|p| model::load_environment(p).unwrap_or_else(|e| panic!("{}", e.render(false))));
    let vars: Vec<(String, String, Origin)> = vars
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string(), Origin::CommandLine))
        .collect();
    let os: HashMap<String, String> = os
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    let inputs = Inputs {
        collection: &collection,
        environment: environment.as_ref(),
        vars: &vars,
        lookup: lookup_from(os),
        grants: &[],
        settings: Settings::default(),
    };
    Plan::new(inputs, no_setup()).unwrap_or_else(|e| panic!("{}", e.render(false)));
}

/// A plan with no overrides, no state file and no data.
fn no_setup() -> Setup<'static> {
    Setup {
        overrides: Vec::new(),
        state: StateChoice::Ignore,
        samples: Vec::new(),
    }
}

fn v21(items: Value) -> Value {
    json!({
        "info": {
            "_postman_id": "5d6f0f3c-0000-4000-8000-000000000000",
            "name": "Hand built",
            "schema": "https://schema.getpostman.com/json/collection/v2.1.0/collection.json"
        },
        "item": items
    })
}

fn get(name: &str, url: &str) -> Value {
    json!({ "name": name, "request": { "method": "GET", "header": [], "url": url } })
}

/// A Postman test event.
fn tests_event(lines: &[&str]) -> Value {
    json!([{ "listen": "test", "script": { "type": "text/javascript", "exec": lines } }])
}

fn render_with(template: &str, context: Value) -> std::result::Result<String, String> {
    let file = SourceFile::new("t.yaml", template.to_string());
    let t = Tmpl::new(template, Spot::new(&file, 0..template.len()));
    let mut engine = Engine::new(lookup_from(HashMap::new()));
    engine.compile(&t).map_err(|d| d.title.clone())?;
    engine
        .render(
            &t,
            &minijinja::Value::from(minijinja::value::Serde(context)),
        )
        .map_err(|d| d.title)
}

// ---------------------------------------------------------------------------------------------
// YAML writing

#[test]
fn every_string_survives_the_yaml_round_trip() {
    let tricky = [
        "yes",
        "no",
        "on",
        "off",
        "Yes",
        "NO",
        "y",
        "n",
        "true",
        "False",
        "null",
        "~",
        "",
        "0755",
        "0x1F",
        "1e3",
        "-1",
        ".5",
        ".inf",
        "a: b",
        "a:b",
        "#x",
        "x #y",
        "- x",
        "[a]",
        "{a: 1}",
        "*ref",
        "&anchor",
        "!tag",
        "|",
        ">",
        "%x",
        "@x",
        "`x`",
        "'single'",
        "\"double\"",
        "back\\slash",
        " leading",
        "trailing ",
        "tab\there",
        "multi\nline",
        "multi\nline\n",
        "multi\nline\n\n",
        "\nleading newline",
        "  indented\nsecond",
        "crlf\r\nline",
        "nel\u{85}x",
        "ls\u{2028}x",
        "bom\u{FEFF}x",
        "bell\u{7}",
        "del\u{7f}",
        "unicode é 日本語 🎉",
        "{{ template }}",
        "{% raw %}",
        "ws only\n   \nline",
        "trailing spaces  \nline",
        "$.a.b",
        "key with  two spaces",
        "x\u{0}y",
    ];
    let mut map = serde_json::Map::new();
    for (i, s) in tricky.iter().enumerate() {
        map.insert(format!("k{i}"), json!(s));
        // The same strings as keys and in sequences.
        map.insert((*s).to_string(), json!([s, { "nested": s }, [s]]));
    }
    map.insert(
        "numbers".into(),
        json!([0, -7, 1.5, 1e300, u64::MAX, i64::MIN, true, null, {}, []]),
    );
    let value = Value::Object(map);
    let text = yaml::render(&[
        yaml::Entry::Comment(vec!["a comment\nwith two lines\r and a CR".into()]),
        yaml::Entry::Field("doc".into(), value.clone()),
    ]);
    let back: Value = model::yaml::parse(&SourceFile::new("r.yaml", text.clone()), "test")
        .unwrap_or_else(|d| panic!("{}\n{text}", d.render(false)));
    assert_eq!(back["doc"], value, "{text}");
}

#[test]
fn simple_strings_are_written_plain_and_multi_line_text_as_a_block() {
    let text = yaml::render(&[
        yaml::Entry::Field("method".into(), json!("GET")),
        yaml::Entry::Field("url".into(), json!("{{ base_url }}/users")),
        yaml::Entry::Field("answer".into(), json!("yes")),
        yaml::Entry::Field("text".into(), json!("line one\nline two\n")),
    ]);
    assert_eq!(
        text,
        "method: GET\nurl: \"{{ base_url }}/users\"\nanswer: \"yes\"\ntext: |\n  line one\n  line two\n"
    );
}

// ---------------------------------------------------------------------------------------------
// Variables and templates

#[test]
fn postman_variables_become_courier_templates() {
    let mut names = Names::new(["base_url", "my.var", "api-key"], ["user id"]);
    assert_eq!(names.template("{{base_url}}/x"), "{{ base_url }}/x");
    assert_eq!(names.template("{{ base_url }}"), "{{ base_url }}");
    assert_eq!(
        names.template("{{my.var}}:{{api-key}}"),
        "{{ my_var }}:{{ api_key }}"
    );
    assert_eq!(names.template("{{user id}}"), "{{ user_id }}");
    assert_eq!(
        names.template("{{$guid}} {{$randomUUID}}"),
        "{{ uuid() }} {{ uuid() }}"
    );
    assert_eq!(names.template("{{$timestamp}}"), "{{ timestamp() }}");
    assert_eq!(names.template("{{$isoTimestamp}}"), "{{ now() }}");
    assert_eq!(
        names.renames,
        [
            ("my.var".to_string(), "my_var".to_string()),
            ("api-key".to_string(), "api_key".to_string()),
            ("user id".to_string(), "user_id".to_string())
        ]
    );
}

#[test]
fn renames_never_collide_with_existing_names() {
    // `my_var` exists as written, so `my.var` must take another name; reserved words move too.
    let mut names = Names::new(["my.var", "my_var", "true", "1st"], []);
    assert_eq!(names.courier("my_var"), "my_var");
    assert_eq!(names.courier("my.var"), "my_var_2");
    assert_eq!(names.courier("true"), "true_");
    assert_eq!(names.courier("1st"), "_1st");
}

#[test]
fn text_that_only_looks_like_a_template_renders_as_itself() {
    let mut names = Names::new(["name"], []);
    let cases = [
        "{{#each items}}x{{/each}}",
        "{% if x %}",
        "{# not a comment #}",
        "{{}} and {{ }}",
        "{{{name}}}",
        "{\"a\":{\"b\":1}}",
        "{{$randomColor}} and {{$randomEmail}}",
        "a { b } c {",
        "{{name}}{",
        "{ {{name}} }",
    ];
    for postman in cases {
        let template = names.template(postman);
        let rendered = render_with(&template, json!({ "name": "N" }))
            .unwrap_or_else(|e| panic!("`{postman}` → `{template}`: {e}"));
        assert_eq!(
            rendered,
            postman.replace("{{name}}", "N"),
            "`{postman}` → `{template}`"
        );
    }
    assert!(names.literal.contains("#each items"));
    assert!(names.unknown_dynamic.contains("$randomColor"));
}

#[test]
fn random_int_is_postmans_random_int() {
    let mut names = Names::new([], []);
    assert_eq!(names.template("{{$randomInt}}"), "{{ random_int() }}");
    for _ in 0..200 {
        let n: i64 = render_with("{{ random_int() }}", json!({}))
            .unwrap()
            .parse()
            .unwrap();
        assert!((0..=1000).contains(&n), "{n}");
        let d: i64 = render_with("{{ random_int(1, 6) }}", json!({}))
            .unwrap()
            .parse()
            .unwrap();
        assert!((1..=6).contains(&d), "{d}");
    }
    let error = render_with("{{ random_int(6, 1) }}", json!({})).unwrap_err();
    assert!(
        error.contains("the first bound is above the second"),
        "{error}"
    );
}

#[test]
fn slugs_and_os_variable_names() {
    assert_eq!(slug("Get user / by ID!"), "get-user-by-id");
    assert_eq!(slug("Ünïcode naïve"), "ünïcode-naïve");
    assert_eq!(slug("???"), "request");
    assert_eq!(upper_snake("apiKey"), "API_KEY");
    assert_eq!(upper_snake("client-secret"), "CLIENT_SECRET");
    assert_eq!(upper_snake("my.token2"), "MY_TOKEN2");
}

// ---------------------------------------------------------------------------------------------
// Test scripts

fn convert_script(lines: &[&str]) -> (Value, Value, Option<Vec<String>>) {
    let lines: Vec<String> = lines.iter().map(|s| s.to_string()).collect();
    let mut asserts = Asserts::default();
    let mut captures = indexmap::IndexMap::new();
    let mut names = Names::new(["token", "user.id"], []);
    let outcome = convert_test_script(&lines, &mut asserts, &mut captures, &mut names);
    let captures = Value::Object(captures.into_iter().collect());
    (asserts.to_value(), captures, outcome.comment)
}

#[test]
fn common_test_statements_become_asserts_and_captures() {
    let (asserts, captures, comment) = convert_script(&[
        "pm.test(\"Status code is 200\", function () {",
        "    pm.response.to.have.status(200);",
        "});",
        "pm.test('body', () => {",
        "    var jsonData = pm.response.json();",
        "    pm.expect(jsonData.user.name).to.eql(\"Ann\");",
        "    pm.expect(jsonData.items[0]['the id']).to.equal(7);",
        "    pm.expect(pm.response.json().ok).to.be.true;",
        "    pm.expect(jsonData.tags).to.have.lengthOf(2);",
        "    pm.expect(jsonData.count).to.be.above(1);",
        "    pm.expect(jsonData).to.have.property('kind', 'user');",
        "    pm.expect(jsonData.email).to.be.a('string');",
        "    pm.expect(jsonData.gone).to.be.undefined;",
        "});",
        "pm.test(\"headers\", function () { pm.response.to.have.header(\"X-Request-Id\"); });",
        "pm.expect(pm.response.headers.get('Content-Type')).to.include('json');",
        "pm.expect(pm.response.responseTime).to.be.below(500);",
        "pm.expect(pm.response.text()).to.include('Ann');",
        "pm.environment.set(\"token\", jsonData.token);",
        "pm.collectionVariables.set('user.id', pm.response.json().user.id);",
        "pm.globals.set(\"request_id\", pm.response.headers.get(\"X-Request-Id\"));",
        "// a comment",
        "",
    ]);
    assert_eq!(comment, None, "every line is converted or frame");
    assert_eq!(
        asserts,
        json!({
            "status": 200,
            "headers": {
                "X-Request-Id": { "exists": true },
                "Content-Type": { "contains": "json" }
            },
            "json": {
                "$.user.name": "Ann",
                "$.items[0]['the id']": 7,
                "$.ok": true,
                "$.tags": { "length": 2 },
                "$.count": { "gt": 1 },
                "$.kind": "user",
                "$.email": { "type": "string" },
                "$.gone": { "exists": false }
            },
            "body": "Ann",
            "duration": 500
        })
    );
    assert_eq!(
        captures,
        json!({
            "token": "$.token",
            "user_id": "$.user.id",
            "request_id": { "header": "X-Request-Id" }
        })
    );
}

#[test]
fn older_test_syntax_and_named_statuses() {
    let (asserts, _, comment) = convert_script(&[
        "var data = JSON.parse(responseBody);",
        "tests[\"Status code is 201\"] = responseCode.code === 201;",
        "tests[\"has id\"] = data.hasOwnProperty('id');",
        "tests[\"has name\"] = \"name\" in data;",
        "tests[\"no secret\"] = !('secret' in data);",
        "tests[\"fast\"] = responseTime < 300;",
        "tests[\"body\"] = responseBody.has(\"created\");",
        "tests[\"list\"] = Array.isArray(data.items);",
        "tests[\"int\"] = Number.isInteger(data.count);",
        "tests[\"date\"] = /^\\d{4}-\\d{2}$/.test(data.month);",
        "pm.expect(pm.response.code).to.be.oneOf([201, 202]);",
    ]);
    assert!(comment.is_some(), "the second status contradicts the first");
    assert_eq!(
        asserts,
        json!({
            "status": 201,
            "json": {
                "$.id": { "exists": true },
                "$.name": { "exists": true },
                "$.secret": { "exists": false },
                "$.items": { "type": "array" },
                "$.count": { "type": "integer" },
                "$.month": { "matches": "^\\d{4}-\\d{2}$" }
            },
            "body": "created",
            "duration": 300
        })
    );
    let (asserts, _, _) = convert_script(&["pm.response.to.be.success;"]);
    assert_eq!(asserts, json!({ "status": "2xx" }));
    let (asserts, _, _) = convert_script(&["pm.response.to.be.ok"]);
    assert_eq!(asserts, json!({ "status": 200 }));
}

#[test]
fn checks_of_the_request_as_sent() {
    let (asserts, _, comment) = convert_script(&[
        "pm.test('sent', function () {",
        "    pm.request.to.have.header('Authorization');",
        "    pm.request.to.not.have.header('X-Debug');",
        "    pm.request.to.have.header('Accept', 'application/json');",
        "    pm.expect(pm.request.url.toString()).to.equal('https://x/y?z=1');",
        "    pm.expect(pm.request.headers.get('X-Trace')).to.include('abc');",
        "});",
    ]);
    assert!(comment.is_none(), "{comment:?}");
    assert_eq!(
        asserts,
        json!({ "request": {
            "url": "https://x/y?z=1",
            "headers": {
                "Authorization": { "exists": true },
                "X-Debug": { "exists": false },
                "Accept": "application/json",
                "X-Trace": { "contains": "abc" }
            }
        } })
    );
}

#[test]
fn a_collection_pre_request_script_of_written_sets_becomes_collection_variables() {
    let mut collection = v21(json!([get("Use", "{{url}}")]));
    collection["event"] = json!([{ "listen": "prerequest",
        "script": { "exec": ["pm.environment.set('url', 'https://x/y');"] } }]);
    let imported = import(&collection, &[]);
    assert_eq!(
        imported.yaml("collection.yaml")["variables"],
        json!({ "url": "https://x/y" })
    );
    let notes = imported.notes();
    assert!(
        notes.contains("collection: pre-request script sets `url` to a written value"),
        "{notes}"
    );
    check(&imported, &[], &[]);
}

#[test]
fn unsets_become_unset_after_the_captures() {
    let mut collection = v21(json!([
        { "name": "Set", "request": { "method": "GET", "url": "https://x/{{e}}/{{kept}}" },
          "event": [
            { "listen": "prerequest", "script": { "exec": ["pm.environment.set('e', '1');"] } },
            { "listen": "test", "script": { "exec": [
                "pm.environment.set('t', pm.response.json().t);",
                "postman.clearEnvironmentVariables();"
            ] } }
          ] },
        { "name": "Each", "request": { "method": "GET", "url": "https://x/{{e}}/{{t}}/{{each}}" },
          "event": [{ "listen": "test", "script": { "exec": [
                "pm.environment.unset('each');",
                "pm.collectionVariables.unset('kept');",
                "pm.globals.unset('g');"
          ] } }] },
        { "name": "Again", "request": { "method": "GET", "url": "https://x/{{e}}" },
          "event": [{ "listen": "test", "script": { "exec": [
                "pm.environment.unset('e');",
                "pm.environment.set('e', 'back');"
          ] } }] }
    ]));
    collection["variable"] = json!([{ "key": "kept", "value": "k" }, { "key": "g", "value": "c" }]);
    collection["event"] = json!([{ "listen": "prerequest",
        "script": { "exec": ["pm.environment.set('each', 'x');"] } }]);
    let imported = import(&collection, &[]);
    let set = imported.yaml("set.yaml");
    assert_eq!(
        set["unset"],
        json!(["e", "t"]),
        "clear: what scripts set in the environment"
    );
    let each = imported.yaml("each.yaml");
    // `each` is set again before every request; `kept` is the collection's own variable.
    assert_eq!(each["unset"], json!(["kept"]));
    let notes = imported.notes();
    assert!(
        notes.contains("unsets `g`, which the collection also defines"),
        "{notes}"
    );
    let again = imported.yaml("again.yaml");
    assert!(again.get("unset").is_none(), "unset, then set: set");
    assert_eq!(again["capture"]["e"], json!({ "value": "back" }));
    assert_eq!(imported.yaml("collection.yaml")["undefined"], "literal");
    check(&imported, &[], &[]);
}

#[test]
fn conditional_and_unknown_statements_stay_as_a_comment() {
    let (asserts, captures, comment) = convert_script(&[
        "pm.test(\"status\", function () {",
        "    pm.response.to.have.status(200);",
        "});",
        "if (pm.response.code === 200) {",
        "    pm.environment.set(\"token\", pm.response.json().token);",
        "    pm.response.to.have.status(201);",
        "}",
        "console.log(pm.response.json());",
        "pm.expect(pm.response.json().a).to.not.eql(1);",
    ]);
    // Only the unconditional check; the capture inside `if` may not run.
    assert_eq!(
        asserts,
        json!({ "status": 200, "json": { "$.a": { "not_equals": 1 } } })
    );
    assert_eq!(captures, json!({}));
    let comment = comment.expect("unconverted lines are kept");
    assert_eq!(comment[0], "postman test script (not converted):");
    assert!(comment.contains(&"  converted: pm.response.to.have.status(200);".to_string()));
    assert!(
        comment.contains(
            &"      pm.environment.set(\"token\", pm.response.json().token);".to_string()
        )
    );
    assert!(comment.contains(&"  console.log(pm.response.json());".to_string()));
}

fn outcome_of(lines: &[&str]) -> (Value, Value, super::scripts::Outcome) {
    let lines: Vec<String> = lines.iter().map(|s| s.to_string()).collect();
    let mut asserts = Asserts::default();
    let mut captures = indexmap::IndexMap::new();
    let mut names = Names::new(["token"], []);
    let outcome = convert_test_script(&lines, &mut asserts, &mut captures, &mut names);
    let captures = Value::Object(captures.into_iter().collect());
    (asserts.to_value(), captures, outcome)
}

#[test]
fn code_after_a_return_never_runs_and_becomes_nothing() {
    // Newman's `redirect-test` fixture: the check after `return` is dead in Newman too.
    let (asserts, _, outcome) =
        outcome_of(&["return 0; tests[\"Returned 302\"] = responseCode.code===302;"]);
    assert_eq!(asserts, json!({}));
    assert_eq!(outcome.dead, 1);
    assert!(outcome.left.is_empty(), "{:?}", outcome.left);
    let note = outcome.note("test").expect("a note");
    assert!(note.contains("1 line after `return` never runs"), "{note}");
    // Inside a `pm.test` callback, `return` ends only the callback.
    let (asserts, _, _) = outcome_of(&[
        "pm.test('a', function () { return; pm.response.to.have.status(500); });",
        "pm.response.to.have.status(200);",
    ]);
    assert_eq!(asserts, json!({ "status": 200 }));
}

#[test]
fn loose_and_strict_equality_stay_apart() {
    let (asserts, _, _) = outcome_of(&[
        "var json = JSON.parse(responseBody);",
        "tests['loose'] = json.count == 1;",
        "tests['strict'] = json.name === '1';",
        "tests['undefined'] = json.gone === undefined;",
        "tests['status'] = responseCode.code == '200';",
    ]);
    assert_eq!(
        asserts,
        json!({
            "status": 200,
            "json": {
                "$.count": { "loosely_equals": 1 },
                "$.name": "1",
                "$.gone": { "exists": false }
            }
        })
    );
    let (_, _, outcome) = outcome_of(&["tests['x'] = JSON.parse(responseBody).a != 1;"]);
    assert!(outcome.left[0].1.contains("`!=`"), "{:?}", outcome.left);
}

#[test]
fn conditions_combine_negate_and_read_truthiness() {
    let (asserts, _, outcome) = outcome_of(&[
        "var res = JSON.parse(responseBody);",
        "tests['gzip'] = res.gzipped;",
        "tests['both'] = responseCode.code === 200 && res.items.length === 2;",
        "tests['absent'] = !res.headers['disabled-header'];",
        "tests['has'] = responseBody.has('ok') && 'id' in res;",
        "tests['file'] = _.startsWith(res.files['a.json'], 'data:');",
        "tests['guid'] = /^[0-9a-f-]{36}$/i.test(res.form['FriendlyName']);",
        "tests['header'] = postman.getResponseHeader('contenT-TypE') === 'application/json';",
    ]);
    assert!(outcome.left.is_empty(), "{:?}", outcome.left);
    assert_eq!(
        asserts,
        json!({
            "status": 200,
            "headers": { "contenT-TypE": "application/json" },
            "json": {
                "$.gzipped": { "truthy": true },
                "$.items": { "length": 2 },
                "$.headers['disabled-header']": { "truthy": false },
                "$.id": { "exists": true },
                "$.files['a.json']": { "starts_with": "data:" },
                "$.form.FriendlyName": { "matches": "(?i)^[0-9a-f-]{36}$" }
            },
            "body": "ok"
        })
    );
}

#[test]
fn an_if_converts_only_as_an_idiom_or_under_a_checked_condition() {
    let (asserts, captures, outcome) = outcome_of(&[
        "var ok = responseCode.code === 200;",
        "tests['ok'] = ok;",
        "if (ok) {",
        "    var body = JSON.parse(responseBody);",
        "    tests['id'] = body.id === 7;",
        "    postman.setEnvironmentVariable('token', body.token);",
        "}",
        "if (JSON.parse(responseBody).a === 1) { tests['b'] = true; } else { tests['b'] = false; }",
        "if (JSON.parse(responseBody).flag) { tests['c'] = JSON.parse(responseBody).c === 1; }",
    ]);
    assert_eq!(
        asserts,
        json!({ "status": 200, "json": { "$.id": 7, "$.a": 1 } })
    );
    // A capture under the guard would happen in courier when the condition fails.
    assert_eq!(captures, json!({}));
    let lines: Vec<usize> = outcome.left.iter().map(|(line, _)| *line).collect();
    assert_eq!(lines, [6, 9], "{:?}", outcome.left);
    assert!(outcome.left[1].1.contains("an `if`"), "{:?}", outcome.left);
}

#[test]
fn a_set_of_a_written_value_is_a_value_capture() {
    let (_, captures, _) = outcome_of(&[
        "postman.setEnvironmentVariable('FOO', 'alpha');",
        "pm.environment.set('count', 2);",
    ]);
    assert_eq!(
        captures,
        json!({ "FOO": { "value": "alpha" }, "count": { "value": 2 } })
    );
}

#[test]
fn what_is_not_converted_is_named_with_its_line() {
    let (_, _, outcome) = outcome_of(&[
        "pm.test('env', function () {",
        "    pm.expect(CryptoJS.MD5('a').toString()).to.eql('1');",
        "});",
        "postman.setNextRequest('other');",
        "for (var i = 0; i < 3; i++) { tests['n'] = true; }",
    ]);
    let left: Vec<(usize, &str)> = outcome.left.iter().map(|(l, w)| (*l, w.as_str())).collect();
    assert_eq!(
        left,
        [
            (2, "uses a sandbox library (`CryptoJS`)"),
            (
                4,
                "`setNextRequest` changes the order of requests; courier runs them in order"
            ),
            (5, "a loop: courier checks are not repeated"),
        ]
    );
    let (_, _, outcome) = outcome_of(&["pm.test('x', function () {"]);
    assert!(
        outcome.left[0]
            .1
            .starts_with("not JavaScript the parser reads"),
        "{:?}",
        outcome.left
    );
}

#[test]
fn checks_on_variables_become_vars_checks_read_as_the_request_was_sent() {
    let (asserts, _, outcome) = outcome_of(&[
        "pm.test('env', function () {",
        "    pm.expect(pm.environment.has('a')).to.be.true;",
        "    pm.expect(pm.environment.get('b')).to.equal('2');",
        "});",
        "tests['old'] = postman.getEnvironmentVariable('c') === 'x' && !postman.getGlobalVariable('d');",
        "tests['data'] = data.e == 1;",
        "var data = JSON.parse(responseBody);",
        "tests['json'] = data.e === 1;",
        "postman.setEnvironmentVariable('f', 'set');",
        "tests['after'] = postman.getEnvironmentVariable('f') === 'set';",
    ]);
    assert_eq!(
        asserts,
        json!({
            "json": { "$.e": 1 },
            "vars": {
                "a": { "exists": true },
                "b": "2",
                "c": "x",
                "d": { "truthy": false },
                "e": { "loosely_equals": 1 }
            }
        })
    );
    // A variable the script set is read after the set in Postman, before it in courier.
    assert_eq!(outcome.left.len(), 1, "{:?}", outcome.left);
    assert!(outcome.left[0].1.contains("after this script sets it"));
}

#[test]
fn a_pre_request_script_that_only_sets_written_values_is_read() {
    use super::scripts::pre_request_sets;
    assert_eq!(
        pre_request_sets(
            "pm.globals.set('v', 'g');\npm.environment.set('v', 'e');\nconsole.log(1);"
        ),
        Some(vec![("v".to_string(), json!("e"))]),
        "the environment is read before the globals, whatever the order"
    );
    assert_eq!(
        pre_request_sets("pm.environment.set('v', Date.now());"),
        None
    );
    assert_eq!(
        pre_request_sets("if (x) { pm.environment.set('v', 1); }"),
        None
    );
    // A hash of a written string is a written value, worked out at import.
    assert_eq!(
        pre_request_sets(
            "postman.setGlobalVariable('a', CryptoJS.MD5('samplePayload').toString());\n\
             pm.environment.set('b', CryptoJS.SHA256('abc').toString(CryptoJS.enc.Base64));"
        ),
        Some(vec![
            ("a".to_string(), json!("da9ebb087d8e926c503e4909d9203a04")),
            (
                "b".to_string(),
                json!("ungWv48Bz+pBQUDeXa4iI7ADYaOWF3qctBD/YfIAFa0=")
            ),
        ])
    );
    assert_eq!(
        pre_request_sets("pm.environment.set('a', CryptoJS.MD5(pm.request.url).toString());"),
        None,
        "a hash of something not written stays a script"
    );
}

// ---------------------------------------------------------------------------------------------
// A hand-built v2.1 collection covering each rule

fn full_v21() -> Value {
    let mut collection = v21(json!([
        {
            "name": "Users",
            "auth": { "type": "bearer", "bearer": [{ "key": "token", "value": "{{token}}", "type": "string" }] },
            "item": [
                {
                    "name": "Get user",
                    "event": [
                        { "listen": "prerequest", "script": { "exec": ["console.log('before');"] } },
                        { "listen": "test", "script": { "exec": [
                            "pm.test(\"ok\", function () {",
                            "    pm.response.to.have.status(200);",
                            "    var jsonData = pm.response.json();",
                            "    pm.expect(jsonData.id).to.eql(42);",
                            "});",
                            "pm.environment.set(\"user.name\", jsonData.name);",
                            "postman.setNextRequest(null);"
                        ] } }
                    ],
                    "request": {
                        "method": "get",
                        "header": [
                            { "key": "Accept", "value": "application/json" },
                            { "key": "X-Off", "value": "1", "disabled": true },
                            { "key": "X-Trace", "value": "{{$guid}}" },
                            { "key": "bad header", "value": "x" }
                        ],
                        "url": {
                            "raw": "{{base_url}}/users/:id?page=2&off=1&q={{search}}",
                            "host": ["{{base_url}}"],
                            "path": ["users", ":id"],
                            "query": [
                                { "key": "page", "value": "2" },
                                { "key": "off", "value": "1", "disabled": true },
                                { "key": "q", "value": "{{search}}" }
                            ],
                            "variable": [{ "key": "id", "value": "42" }]
                        },
                        "description": "Fetch one user"
                    }
                },
                {
                    "name": "Nested",
                    "auth": { "type": "noauth" },
                    "item": [
                        { "name": "Public", "request": { "method": "GET", "url": "{{base_url}}/public" } }
                    ]
                }
            ]
        },
        {
            "name": "Create user",
            "request": {
                "method": "POST",
                "header": [{ "key": "Content-Type", "value": "application/json" }],
                "body": {
                    "mode": "raw",
                    "raw": "{\n  \"name\": \"{{user.name}}\",\n  \"code\": \"0755\",\n  \"ok\": \"yes\",\n  \"tpl\": \"{{#each x}}\"\n}",
                    "options": { "raw": { "language": "json" } }
                },
                "url": "{{base_url}}/users"
            }
        },
        {
            "name": "Create user",
            "request": {
                "method": "POST",
                "body": { "mode": "raw", "raw": "{\"age\": {{age}}}", "options": { "raw": { "language": "json" } } },
                "url": "{{base_url}}/users"
            }
        },
        {
            "name": "Plain text",
            "request": {
                "method": "PUT",
                "header": [{ "key": "Content-Type", "value": "text/csv" }],
                "body": { "mode": "raw", "raw": "a,b\n1,{{api-key}}\n" },
                "url": "{{base_url}}/csv"
            }
        },
        {
            "name": "Login form",
            "request": {
                "method": "POST",
                "body": { "mode": "urlencoded", "urlencoded": [
                    { "key": "grant_type", "value": "password" },
                    { "key": "skip", "value": "x", "disabled": true },
                    { "key": "password", "value": "{{password}}" }
                ] },
                "url": "{{base_url}}/login",
                "auth": { "type": "basic", "basic": [
                    { "key": "username", "value": "{{user}}" },
                    { "key": "password", "value": "{{password}}" }
                ] }
            }
        },
        {
            "name": "Form data text",
            "request": {
                "method": "POST",
                "header": [{ "key": "Content-Type", "value": "multipart/form-data" }],
                "body": { "mode": "formdata", "formdata": [{ "key": "note", "value": "hi", "type": "text" }] },
                "url": "{{base_url}}/notes"
            }
        },
        {
            "name": "Upload",
            "request": {
                "method": "POST",
                "body": { "mode": "formdata", "formdata": [
                    { "key": "title", "value": "me", "type": "text" },
                    { "key": "avatar", "type": "file", "src": "/tmp/me.png" }
                ] },
                "url": "{{base_url}}/upload"
            }
        },
        {
            "name": "GraphQL",
            "request": {
                "method": "POST",
                "body": { "mode": "graphql", "graphql": {
                    "query": "query ($id: ID!) { user(id: $id) { name } }",
                    "variables": "{\"id\": \"{{user_id}}\"}"
                } },
                "url": "{{base_url}}/graphql"
            }
        },
        {
            "name": "Key in header",
            "request": {
                "method": "GET",
                "url": "{{base_url}}/k",
                "auth": { "type": "apikey", "apikey": [
                    { "key": "key", "value": "X-Api-Key" },
                    { "key": "value", "value": "{{api-key}}" },
                    { "key": "in", "value": "header" }
                ] }
            }
        },
        {
            "name": "Key in query",
            "request": {
                "method": "GET",
                "url": "{{base_url}}/k",
                "auth": { "type": "apikey", "apikey": [
                    { "key": "key", "value": "api_key" },
                    { "key": "value", "value": "{{api-key}}" },
                    { "key": "in", "value": "query" }
                ] }
            }
        },
        {
            "name": "OAuth",
            "request": {
                "method": "GET",
                "url": "{{base_url}}/me",
                "auth": { "type": "oauth2", "oauth2": [
                    { "key": "accessToken", "value": "{{access_token}}" },
                    { "key": "clientSecret", "value": "very-secret-client" },
                    { "key": "accessTokenUrl", "value": "https://auth.example.com/token" },
                    { "key": "grant_type", "value": "client_credentials" }
                ] }
            }
        },
        {
            "name": "Encoded query",
            "protocolProfileBehavior": { "followRedirects": false },
            "request": {
                "method": "GET",
                "url": {
                    "raw": "https://api.example.com/search?q=a%20b&tag=x&tag=y",
                    "protocol": "https",
                    "host": ["api", "example", "com"],
                    "path": ["search"],
                    "query": [
                        { "key": "q", "value": "a%20b" },
                        { "key": "tag", "value": "x" },
                        { "key": "tag", "value": "y" }
                    ]
                }
            }
        },
        {
            "name": "Dynamic",
            "request": {
                "method": "POST",
                "body": { "mode": "raw", "raw": "id={{$randomUUID}} at {{$timestamp}} n={{$randomInt}} c={{$randomColor}}" },
                "url": "example.com/dynamic"
            }
        },
        {
            "name": "Purge",
            "request": { "method": "PURGE", "url": "{{base_url}}/cache" }
        }
    ]));
    collection["auth"] = json!({ "type": "basic", "basic": [
        { "key": "username", "value": "root" },
        { "key": "password", "value": "{{password}}" }
    ] });
    collection["variable"] = json!([
        { "key": "base_url", "value": "https://old.example.com" },
        { "key": "base_url", "value": "https://api.example.com" },
        { "key": "unused", "value": "x", "disabled": true },
        { "key": "api-key", "value": "{{api_key_value}}" }
    ]);
    collection["event"] =
        json!([{ "listen": "test", "script": { "exec": ["pm.test('x', () => {});"] } }]);
    collection
}

#[test]
fn a_v21_collection_is_converted_rule_by_rule() {
    let environment = json!({
        "name": "Staging",
        "values": [
            { "key": "search", "value": "ann", "enabled": true },
            { "key": "user.name", "value": "Ann", "enabled": true },
            { "key": "password", "value": "hunter2", "type": "secret", "enabled": true },
            { "key": "api_key_value", "value": "k-123", "type": "default", "enabled": true }
        ]
    });
    let imported = import(&full_v21(), &[&environment]);
    let notes = imported.notes();

    // Folders on disk, run order kept, names and files made unique.
    let collection = imported.yaml("collection.yaml");
    assert_eq!(
        collection["requests"],
        json!([
            "users/get-user.yaml",
            "users/nested/public.yaml",
            "create-user.yaml",
            "create-user-2.yaml",
            "plain-text.yaml",
            "login-form.yaml",
            "form-data-text.yaml",
            "upload.yaml",
            "graphql.yaml",
            "key-in-header.yaml",
            "key-in-query.yaml",
            "oauth.yaml",
            "encoded-query.yaml",
            "dynamic.yaml"
        ])
    );
    assert_eq!(imported.report.requests, 14);
    assert_eq!(imported.report.folders, 2);
    assert!(
        notes.contains("Create user (2): renamed from `Create user`"),
        "{notes}"
    );
    assert!(
        notes.contains("Purge: method `PURGE` is not one courier sends"),
        "{notes}"
    );

    // Collection variables: duplicates take the last value, disabled ones are left out, the
    // path variable's value is added, renamed names are renamed everywhere.
    assert_eq!(collection["name"], "Hand built");
    assert_eq!(
        collection["variables"],
        json!({ "base_url": "https://api.example.com", "id": "42" })
    );
    assert!(
        notes.contains("collection: `api_key` uses `api_key_value`, which the environments define: moved to the end of each environment file"),
        "{notes}"
    );
    assert!(
        notes.contains("variable `api-key` renamed to `api_key`"),
        "{notes}"
    );
    assert!(
        notes.contains("variable `user.name` renamed to `user_name`"),
        "{notes}"
    );
    assert!(
        notes.contains("collection: test script kept as a comment in collection.yaml"),
        "{notes}"
    );
    assert!(
        imported
            .text("collection.yaml")
            .contains("# postman test script of the collection")
    );

    // URL with path variable, query (disabled left out), headers (disabled and invalid left
    // out), auth inherited from the folder, description, scripts.
    let get_user = imported.yaml("users/get-user.yaml");
    assert_eq!(
        get_user,
        json!({
            "name": "Get user",
            "description": "Fetch one user",
            "method": "GET",
            "url": "{{ base_url }}/users/{{ id }}",
            "headers": { "Accept": "application/json", "X-Trace": "{{ uuid() }}" },
            "query": { "page": "2", "q": "{{ search }}" },
            "auth": { "bearer": "{{ token }}" },
            "assert": { "status": 200, "json": { "$.id": 42 } },
            "capture": { "user_name": "$.name" }
        })
    );
    let text = imported.text("users/get-user.yaml");
    assert!(
        text.contains("# postman pre-request script (not converted):\n#   console.log('before');"),
        "{text}"
    );
    assert!(text.contains("#   postman.setNextRequest(null);"), "{text}");
    assert!(
        notes.contains("Get user: pre-request script kept as a comment"),
        "{notes}"
    );
    assert!(
        notes.contains("Get user: test script partly converted (3 statements"),
        "{notes}"
    );
    assert!(
        notes.contains("Get user: header `bad header` left out"),
        "{notes}"
    );

    // `noauth` on a folder stops the inherited auth.
    assert_eq!(imported.yaml("users/nested/public.yaml").get("auth"), None);

    // Raw JSON becomes `json:`; strings that YAML could misread stay strings; a literal
    // `{{#each}}` stays literal.
    let create = imported.yaml("create-user.yaml");
    assert_eq!(
        create["json"],
        json!({ "name": "{{ user_name }}", "code": "0755", "ok": "yes", "tpl": "{{ \"{{\" }}#each x}}" })
    );
    // A variable in a number's place is not JSON until rendered: the text is kept.
    assert_eq!(
        imported.yaml("create-user-2.yaml")["body"],
        json!({ "content_type": "application/json", "text": "{\"age\": {{ age }}}" })
    );
    assert_eq!(
        imported.yaml("plain-text.yaml")["body"],
        json!({ "content_type": "text/csv", "text": "a,b\n1,{{ api_key }}\n" })
    );

    // Bodies: urlencoded, form-data text (multipart header dropped), form-data with a file.
    let login = imported.yaml("login-form.yaml");
    assert_eq!(
        login["form"],
        json!({ "grant_type": "password", "password": "{{ password }}" })
    );
    assert_eq!(
        login["auth"],
        json!({ "basic": { "username": "{{ user }}", "password": "{{ password }}" } })
    );
    let form = imported.yaml("form-data-text.yaml");
    assert_eq!(form["form"], json!({ "note": "hi" }));
    assert_eq!(form.get("headers"), None);
    let upload = imported.yaml("upload.yaml");
    assert_eq!(upload.get("form"), None);
    assert!(
        imported
            .text("upload.yaml")
            .contains("#   avatar: <file \"/tmp/me.png\">")
    );
    assert!(
        notes.contains("Upload: form-data file field `avatar` not supported"),
        "{notes}"
    );
    // The request inherits the collection's basic auth.
    assert_eq!(upload["auth"]["basic"]["username"], "root");

    assert_eq!(
        imported.yaml("graphql.yaml")["json"],
        json!({ "query": "query ($id: ID!) { user(id: $id) { name } }", "variables": { "id": "{{ user_id }}" } })
    );
    assert_eq!(
        imported.yaml("key-in-header.yaml")["headers"],
        json!({ "X-Api-Key": "{{ api_key }}" })
    );
    assert_eq!(
        imported.yaml("key-in-query.yaml")["query"],
        json!({ "api_key": "{{ api_key }}" })
    );

    // OAuth 2.0 client credentials: courier's own oauth2 auth, the client secret not copied.
    let oauth = imported.yaml("oauth.yaml");
    assert_eq!(
        oauth["auth"],
        json!({ "oauth2": {
            "grant": "client_credentials",
            "token_url": "https://auth.example.com/token",
            "client_id": "",
            "client_secret": "{{ env('COURIER_POSTMAN_CLIENT_SECRET') }}",
        } })
    );
    let oauth_text = imported.text("oauth.yaml");
    assert!(!oauth_text.contains("very-secret-client"), "{oauth_text}");
    assert!(
        notes.contains("OAuth: OAuth 2.0 client secret read from COURIER_POSTMAN_CLIENT_SECRET"),
        "{notes}"
    );

    // Pre-encoded and repeated parameters stay in the URL; redirects off.
    let encoded = imported.yaml("encoded-query.yaml");
    assert_eq!(
        encoded["url"],
        "https://api.example.com/search?q=a%20b&tag=x&tag=y"
    );
    assert_eq!(encoded.get("query"), None);
    assert_eq!(encoded["redirects"], 0);

    // Dynamic variables, and a URL without a scheme gets Postman's `http://`.
    let dynamic = imported.yaml("dynamic.yaml");
    assert_eq!(dynamic["url"], "http://example.com/dynamic");
    assert_eq!(
        dynamic["body"]["text"],
        "id={{ uuid() }} at {{ timestamp() }} n={{ random_int() }} c={{ \"{{\" }}$randomColor}}"
    );
    assert!(
        notes.contains("dynamic variable `{{$randomColor}}` kept as literal text"),
        "{notes}"
    );

    // The environment: the secret is read from the OS environment, never written.
    let env = imported.yaml("environments/staging.yaml");
    assert_eq!(
        env,
        json!({
            "name": "Staging",
            "variables": {
                "search": "ann",
                "user_name": "Ann",
                "password": "{{ env('COURIER_POSTMAN_PASSWORD') }}",
                "api_key_value": "k-123",
                "api_key": "{{ api_key_value }}"
            },
            "secrets": ["password", "api_key_value", "api_key"]
        })
    );
    assert!(
        notes.contains("`password` from COURIER_POSTMAN_PASSWORD"),
        "{notes}"
    );
    assert!(notes.contains("`api_key_value` looks secret"), "{notes}");
    assert!(
        notes.contains("variables used but defined nowhere in the collection or its environments (Postman globals, or set by scripts): `token`, `age`, `user`, `user_id`;"),
        "{notes}"
    );

    // courier loads it all and every template renders, given the undefined variables.
    check(
        &imported,
        &[
            ("token", "t"),
            ("age", "3"),
            ("user", "u"),
            ("user_id", "7"),
        ],
        &[
            ("COURIER_POSTMAN_PASSWORD", "pw"),
            ("COURIER_POSTMAN_CLIENT_SECRET", "cs"),
        ],
    );
}

#[test]
fn a_rendered_request_carries_the_postman_values() {
    let collection = v21(json!([{
        "name": "Get user",
        "request": {
            "method": "GET",
            "header": [{ "key": "X-Name", "value": "{{user name}} & {{$guid}}" }],
            "url": "{{base_url}}/users/{{user.id}}?literal={{#x}}"
        }
    }]));
    let imported = import(&collection, &[]);
    let loaded = model::load_collection(&imported.out()).unwrap();
    let vars: Vec<(String, String, Origin)> = [
        ("base_url", "https://example.com"),
        ("user_name", "Ann"),
        ("user_id", "7"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v.to_string(), Origin::CommandLine))
    .collect();
    let inputs = Inputs {
        collection: &loaded,
        environment: None,
        vars: &vars,
        lookup: lookup_from(HashMap::new()),
        grants: &[],
        settings: Settings::default(),
    };
    Plan::new(inputs, no_setup()).unwrap();
    // The templates as courier renders them.
    let context = json!({ "base_url": "https://example.com", "user_name": "Ann", "user_id": "7" });
    let request = &loaded.requests[0];
    assert_eq!(
        render_with(&request.url.text, context.clone()).unwrap(),
        "https://example.com/users/7?literal={{#x}}"
    );
    let header = render_with(&request.headers[0].1.text, context).unwrap();
    assert!(
        header.starts_with("Ann & ") && header.len() == "Ann & ".len() + 36,
        "{header}"
    );
}

#[test]
fn path_variables_headers_and_bodies_at_their_edges() {
    let path_url = |id: &str| {
        json!({
            "raw": "{{base_url}}/users/:id/posts/:post",
            "host": ["{{base_url}}"],
            "path": ["users", ":id", "posts", ":post"],
            "variable": [{ "key": "id", "value": id }, { "key": "post" }]
        })
    };
    let mut collection = v21(json!([
        { "name": "First", "request": { "method": "GET", "url": path_url("1") } },
        // Another value for `id`: written in place rather than changing the first request's.
        { "name": "Second", "request": { "method": "GET", "url": path_url("2") } },
        { "name": "Third", "request": { "method": "GET", "url": path_url("{{user_id}}") } },
        {
            "name": "Headers twice",
            "request": {
                "method": "POST",
                "header": [
                    { "key": "Accept", "value": "text/html" },
                    { "key": "accept", "value": "application/json" },
                    { "key": "Cookie", "value": "a=1" },
                    { "key": "Cookie", "value": "b=2" }
                ],
                "body": { "mode": "raw", "raw": "[1, {\"a\": \"{{x}}\"}]" },
                "url": "{{base_url}}/h"
            }
        },
        {
            "name": "Repeated form",
            "request": {
                "method": "POST",
                "body": { "mode": "urlencoded", "urlencoded": [
                    { "key": "tag", "value": "a b" },
                    { "key": "tag", "value": "{{x}}" }
                ] },
                "url": "{{base_url}}/f"
            }
        },
        {
            "name": "GraphQL text variables",
            "request": {
                "method": "POST",
                "body": { "mode": "graphql", "graphql": { "query": "query { n }", "variables": "{\"n\": {{n}}}" } },
                "url": "{{base_url}}/g"
            }
        },
        {
            "name": "OAuth without a token variable",
            "request": {
                "method": "GET",
                "url": "{{base_url}}/o",
                "auth": { "type": "oauth2", "oauth2": [{ "key": "accessToken", "value": "eyJ.literal.token" }] }
            }
        }
    ]));
    collection["variable"] = json!([{ "key": "base_url", "value": "https://example.com" }]);
    let imported = import(&collection, &[]);
    assert_eq!(
        imported.yaml("first.yaml")["url"],
        "{{ base_url }}/users/{{ id }}/posts/{{ post }}"
    );
    assert_eq!(
        imported.yaml("second.yaml")["url"],
        "{{ base_url }}/users/2/posts/{{ post }}"
    );
    assert_eq!(
        imported.yaml("third.yaml")["url"],
        "{{ base_url }}/users/{{ user_id }}/posts/{{ post }}"
    );
    assert_eq!(imported.yaml("collection.yaml")["variables"]["id"], "1");

    let headers = imported.yaml("headers-twice.yaml");
    assert_eq!(
        headers["headers"],
        json!({ "Accept": "text/html, application/json", "Cookie": "a=1; b=2" })
    );
    // Raw text that parses as a JSON array is JSON even without a language.
    assert_eq!(headers["json"], json!([1, { "a": "{{ x }}" }]));

    assert_eq!(
        imported.yaml("repeated-form.yaml")["body"],
        json!({
            "content_type": "application/x-www-form-urlencoded",
            "text": "tag=a+b&tag={{ x | urlencode }}"
        })
    );
    assert_eq!(
        render_with("tag=a+b&tag={{ x | urlencode }}", json!({ "x": "c&d" })).unwrap(),
        "tag=a+b&tag=c%26d"
    );
    assert_eq!(
        imported.yaml("graphql-text-variables.yaml")["body"],
        json!({ "content_type": "application/json", "text": "{\"query\":\"query { n }\",\"variables\":{\"n\": {{ n }}}}" })
    );
    let oauth = imported.yaml("oauth-without-a-token-variable.yaml");
    assert_eq!(oauth.get("auth"), None);
    assert!(
        !imported
            .text("oauth-without-a-token-variable.yaml")
            .contains("eyJ.literal.token")
    );
    assert!(
        imported.notes().contains("no token is sent"),
        "{}",
        imported.notes()
    );
    check(
        &imported,
        &[("post", "9"), ("user_id", "3"), ("x", "y"), ("n", "1")],
        &[],
    );
}

// ---------------------------------------------------------------------------------------------
// v2.0 and loose exports

#[test]
fn a_v20_collection_with_its_older_shapes() {
    let collection = json!({
        "variables": [],
        "info": {
            "name": "Old style",
            "description": { "content": "Described in an object", "type": "text/markdown" },
            "schema": "https://schema.getpostman.com/json/collection/v2.0.0/collection.json"
        },
        "variable": [
            { "id": "host", "value": "https://v2.example.com", "type": "string" },
            { "id": "off", "value": "x", "enabled": false }
        ],
        "item": [
            {
                "name": "String request",
                "request": "{{host}}/ping"
            },
            {
                "name": "Header string",
                "event": [{ "listen": "test", "script": { "type": "text/javascript",
                    "exec": "tests[\"status\"] = responseCode.code === 200;" } }],
                "request": {
                    "url": "{{host}}/h",
                    "method": "POST",
                    "header": "Content-Type: application/x-www-form-urlencoded\n//X-Disabled: 1\nX-Custom: v",
                    "body": { "mode": "urlencoded", "urlencoded": [
                        { "key": "a", "value": "1", "enabled": true },
                        { "key": "b", "value": "2", "enabled": false }
                    ] },
                    "auth": { "type": "bearer", "bearer": { "token": "{{host}}-token" } }
                }
            }
        ]
    });
    let imported = import(&collection, &[]);
    let root = imported.yaml("collection.yaml");
    assert_eq!(root["description"], "Described in an object");
    assert_eq!(
        root["variables"],
        json!({ "host": "https://v2.example.com" })
    );
    assert_eq!(
        imported.yaml("string-request.yaml"),
        json!({ "name": "String request", "method": "GET", "url": "{{ host }}/ping" })
    );
    assert_eq!(
        imported.yaml("header-string.yaml"),
        json!({
            "name": "Header string",
            "method": "POST",
            "url": "{{ host }}/h",
            "headers": { "Content-Type": "application/x-www-form-urlencoded", "X-Custom": "v" },
            "auth": { "bearer": "{{ host }}-token" },
            "form": { "a": "1" },
            "assert": { "status": 200 }
        })
    );
    check(&imported, &[], &[]);
}

#[test]
fn missing_optional_fields_everywhere() {
    // No schema, no request fields, folders without names, an item that is neither.
    let collection = json!({
        "info": { "name": "Bare" },
        "item": [
            { "request": { "url": { "raw": "https://example.com/a" } } },
            { "name": "No url", "request": { "method": "DELETE" } },
            { "item": [ { "name": "Inner", "request": { "url": { "host": ["example", "com"], "path": "b" } } } ] },
            { "name": "Nothing" },
            { "name": "Empty folder", "item": [] }
        ]
    });
    let imported = import(&collection, &[]);
    let root = imported.yaml("collection.yaml");
    assert_eq!(
        root["requests"],
        json!(["untitled-request.yaml", "no-url.yaml", "folder/inner.yaml"])
    );
    assert_eq!(
        imported.yaml("folder/inner.yaml")["url"],
        "http://example.com/b"
    );
    assert_eq!(imported.report.folders, 1);
    model::load_collection(&imported.out()).unwrap();
}

// ---------------------------------------------------------------------------------------------
// Encodings

#[test]
fn byte_order_marks_and_utf16_are_read() {
    let text = serde_json::to_string(&v21(json!([get(
        "Café ☕",
        "https://example.com/{{ville}}"
    )])))
    .unwrap();
    let utf16 = |le: bool| -> Vec<u8> {
        let mut bytes = if le {
            vec![0xFF, 0xFE]
        } else {
            vec![0xFE, 0xFF]
        };
        for unit in text.encode_utf16() {
            bytes.extend(if le {
                unit.to_le_bytes()
            } else {
                unit.to_be_bytes()
            });
        }
        bytes
    };
    let mut bom = vec![0xEF, 0xBB, 0xBF];
    bom.extend(text.as_bytes());
    let env = "\u{FEFF}{\"name\":\"E\",\"values\":[{\"key\":\"ville\",\"value\":\"Zürich\"}]}";
    for bytes in [bom, utf16(true), utf16(false), utf16(true)[2..].to_vec()] {
        let imported = import_bytes(&bytes, &[env.as_bytes()]).unwrap();
        assert_eq!(imported.yaml("café.yaml")["name"], "Café ☕");
        assert_eq!(
            imported.yaml("environments/e.yaml")["variables"]["ville"],
            "Zürich"
        );
        check(&imported, &[], &[]);
    }
}

// ---------------------------------------------------------------------------------------------
// Errors

#[test]
fn a_json_file_that_is_not_a_collection_is_refused_by_name() {
    let error = import_err(b"{\n  \"openapi\": \"3.0.0\",\n  \"paths\": {}\n}\n");
    assert!(
        error.contains("not a Postman collection: `")
            && error.contains("in.postman_collection.json` has no `info.schema`"),
        "{error}"
    );
    assert!(
        error.contains("help: in Postman, open the collection's `…` menu, choose Export"),
        "{error}"
    );
    let other =
        import_err(br#"{"info": {"schema": "https://example.com/other.json"}, "item": []}"#);
    assert!(
        other.contains("has `info.schema` `https://example.com/other.json`"),
        "{other}"
    );
}

#[test]
fn a_file_that_is_not_json_is_refused_with_its_place() {
    let error = import_err(b"name: a yaml file\nitem: []\n");
    assert!(error.contains("not a Postman collection: `"), "{error}");
    assert!(error.contains("is not JSON"), "{error}");
    assert!(error.contains("in.postman_collection.json:1:"), "{error}");
    let binary = import_err(&[0xC3, 0x28, 0xFF, 0x00, 0x01]);
    assert!(binary.contains("is not UTF-8 or UTF-16 text"), "{binary}");
}

#[test]
fn a_field_of_the_wrong_type_is_pointed_at() {
    let error = import_err(
        b"{\n  \"info\": {\"name\": \"x\", \"schema\": \"https://schema.getpostman.com/json/collection/v2.1.0/collection.json\"},\n  \"item\": {\"name\": \"not a list\"}\n}\n",
    );
    assert!(error.contains("invalid Postman collection"), "{error}");
    assert!(error.contains(":3:"), "{error}");
}

#[test]
fn an_environment_that_is_a_collection_is_refused() {
    let collection = serde_json::to_vec(&v21(json!([get("a", "https://e.com")]))).unwrap();
    let Err(error) = import_bytes(&collection, &[&collection]) else {
        panic!("a collection is not an environment");
    };
    let error = error.render(false);
    assert!(error.contains("not a Postman environment: `"), "{error}");
    assert!(error.contains("has no `values` list"), "{error}");
    assert!(
        error.contains("this file is a Postman collection"),
        "{error}"
    );
}

#[test]
fn an_empty_collection_is_refused() {
    let error = import_err(serde_json::to_string(&v21(json!([]))).unwrap().as_bytes());
    assert!(error.contains("holds no requests to import"), "{error}");
}

#[test]
fn an_existing_collection_is_never_overwritten() {
    let collection = v21(json!([get("a", "https://e.com")]));
    let imported = import(&collection, &[]);
    let before = imported.text("a.yaml");
    let options = ImportOptions {
        format: Format::Postman,
        globals: Vec::new(),
        tags: Vec::new(),
        operations: Vec::new(),
        collection: imported.dir.path().join("in.postman_collection.json"),
        environments: vec![],
        out: imported.out(),
    };
    let error = import_postman(&options).unwrap_err().render(false);
    assert!(
        error.contains("already holds a collection (collection.yaml): nothing was written"),
        "{error}"
    );
    assert_eq!(imported.text("a.yaml"), before);

    // A folder with other files is fine, unless a file would be replaced.
    let out = imported.dir.path().join("other");
    std::fs::create_dir_all(&out).unwrap();
    std::fs::write(out.join("notes.txt"), "keep").unwrap();
    std::fs::write(out.join("a.yaml"), "mine").unwrap();
    let error = import_postman(&ImportOptions {
        format: Format::Postman,
        globals: Vec::new(),
        tags: Vec::new(),
        operations: Vec::new(),
        out: out.clone(),
        ..options.clone()
    })
    .unwrap_err()
    .render(false);
    assert!(
        error.contains("a.yaml` already exists: nothing was written"),
        "{error}"
    );
    assert!(!out.join("collection.yaml").exists());
    std::fs::remove_file(out.join("a.yaml")).unwrap();
    import_postman(&ImportOptions {
        format: Format::Postman,
        globals: Vec::new(),
        tags: Vec::new(),
        operations: Vec::new(),
        out: out.clone(),
        ..options
    })
    .unwrap();
    assert_eq!(
        std::fs::read_to_string(out.join("notes.txt")).unwrap(),
        "keep"
    );
}

// ---------------------------------------------------------------------------------------------
// Scale

#[test]
fn five_thousand_requests_import_in_linear_time() {
    let folders: Vec<Value> = (0..50)
        .map(|f| {
            let items: Vec<Value> = (0..100)
                .map(|i| {
                    json!({
                        "name": if i % 10 == 0 { "Same name".to_string() } else { format!("Request {f}-{i}") },
                        "event": tests_event(&["pm.response.to.have.status(200);", "pm.environment.set('v', pm.response.json().id);"]),
                        "request": {
                            "method": "POST",
                            "header": [{ "key": "Accept", "value": "application/json" }],
                            "body": { "mode": "raw", "raw": format!("{{\"n\": {i}, \"v\": \"{{{{v}}}}\"}}"), "options": { "raw": { "language": "json" } } },
                            "url": { "raw": format!("{{{{base_url}}}}/items/{i}?f={f}"), "host": ["{{base_url}}"], "path": ["items", i.to_string()], "query": [{ "key": "f", "value": f.to_string() }] }
                        }
                    })
                })
                .collect();
            json!({ "name": format!("Folder {f}"), "item": items })
        })
        .collect();
    let mut collection = v21(Value::Array(folders));
    collection["variable"] = json!([{ "key": "base_url", "value": "https://example.com" }, { "key": "v", "value": "0" }]);
    let bytes = serde_json::to_vec(&collection).unwrap();

    let started = Instant::now();
    let imported = import_bytes(&bytes, &[]).unwrap();
    let took = started.elapsed();
    assert_eq!(imported.report.requests, 5000);
    assert_eq!(imported.report.folders, 50);
    assert_eq!(imported.report.written.len(), 5001);
    let loaded = model::load_collection(&imported.out()).unwrap();
    assert_eq!(loaded.requests.len(), 5000);
    assert_eq!(loaded.requests[4999].name, "Request 49-99");
    assert_eq!(loaded.requests[10].name, "Same name (2)");
    eprintln!(
        "imported 5000 requests ({} KB) in {took:?}",
        bytes.len() / 1024
    );
    // A generous bound for slow CI machines and debug builds: quadratic behaviour would take
    // minutes, not seconds.
    assert!(took < Duration::from_secs(20), "took {took:?}");
}

// ---------------------------------------------------------------------------------------------
// Secrets

#[test]
fn secret_values_are_written_to_no_file() {
    let secret = "s3cr3t-value-that-must-not-leak";
    let collection = {
        let mut c = v21(json!([{
            "name": "Call",
            "request": {
                "method": "GET",
                "header": [{ "key": "Authorization", "value": "Bearer {{api.token}}" }],
                "url": "{{base_url}}/call"
            }
        }]));
        c["variable"] = json!([{ "key": "vault", "value": secret, "type": "secret" }]);
        c
    };
    let environment = json!({
        "name": "Production",
        "values": [
            { "key": "base_url", "value": "https://api.example.com", "type": "default", "enabled": true },
            { "key": "api.token", "value": secret, "type": "secret", "enabled": true },
            { "key": "clientSecret", "value": "", "type": "secret", "enabled": true },
            { "key": "disabled_secret", "value": secret, "type": "secret", "enabled": false },
            { "key": "password", "value": "written-on-purpose", "type": "default", "enabled": true }
        ],
        "_postman_variable_scope": "environment"
    });
    let imported = import(&collection, &[&environment]);
    for path in &imported.report.written {
        let text = std::fs::read_to_string(path).unwrap();
        assert!(
            !text.contains(secret),
            "{} holds the secret:\n{text}",
            path.display()
        );
    }
    assert!(!imported.notes().contains(secret));
    let env = imported.yaml("environments/production.yaml");
    assert_eq!(
        env["variables"]["api_token"],
        "{{ env('COURIER_POSTMAN_API_TOKEN') }}"
    );
    assert_eq!(
        env["variables"]["clientSecret"],
        "{{ env('COURIER_POSTMAN_CLIENT_SECRET') }}"
    );
    assert_eq!(env["variables"]["password"], "written-on-purpose");
    assert_eq!(
        env["secrets"],
        json!(["api_token", "clientSecret", "password"])
    );
    assert_eq!(
        imported.yaml("collection.yaml")["secrets"],
        json!(["vault"])
    );
    assert_eq!(
        imported.yaml("collection.yaml")["variables"]["vault"],
        "{{ env('COURIER_POSTMAN_VAULT') }}"
    );
    check(
        &imported,
        &[],
        &[
            ("COURIER_POSTMAN_API_TOKEN", "t"),
            ("COURIER_POSTMAN_CLIENT_SECRET", "c"),
            ("COURIER_POSTMAN_VAULT", "v"),
        ],
    );
}

// ---------------------------------------------------------------------------------------------
// Real public exports

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/postman")
        .join(name)
}

fn import_fixture(collection: &str, environments: &[&str]) -> Imported {
    let dir = TempDir::new().unwrap();
    let options = ImportOptions {
        format: Format::Postman,
        globals: Vec::new(),
        tags: Vec::new(),
        operations: Vec::new(),
        collection: fixture(collection),
        environments: environments.iter().map(|e| fixture(e)).collect(),
        out: dir.path().join("out"),
    };
    let report = import_postman(&options).unwrap_or_else(|e| panic!("{}", e.render(false)));
    let imported = Imported { dir, report };
    model::load_collection(&imported.out()).unwrap_or_else(|e| panic!("{}", e.render(false)));
    for env in &imported.report.environments {
        model::load_environment(env).unwrap_or_else(|e| panic!("{}", e.render(false)));
    }
    imported
}

#[test]
fn the_realworld_conduit_collection_imports() {
    let imported = import_fixture("conduit.postman_collection.json", &[]);
    assert_eq!(imported.report.requests, 32);
    assert_eq!(imported.report.folders, 5);
    let login = imported.yaml("auth/login.yaml");
    assert_eq!(login["url"], "{{ APIURL }}/users/login");
    assert_eq!(
        login["json"],
        json!({ "user": { "email": "{{ EMAIL }}", "password": "{{ PASSWORD }}" } })
    );
    assert_eq!(
        login["assert"]["json"]["$.user.token"],
        json!({ "exists": true })
    );
    check(
        &imported,
        &[
            ("APIURL", "https://api.example.com"),
            ("EMAIL", "e@example.com"),
            ("PASSWORD", "p"),
            ("USERNAME", "u"),
            ("token", "t"),
            ("slug", "s"),
            ("commentId", "1"),
        ],
        &[],
    );
}

#[test]
fn newman_echo_collections_import() {
    for name in [
        "newman-echo-v2.postman_collection.json",
        "k6-echo.postman_collection.json",
    ] {
        let imported = import_fixture(name, &[]);
        assert!(imported.report.requests >= 19, "{name}");
        let notes = imported.notes();
        assert!(!notes.contains("digest auth not converted"), "{notes}");
        let digest = imported.yaml("auth-digest/digestauth-success.yaml");
        assert_eq!(
            digest["auth"],
            json!({ "digest": { "username": "postman", "password": "password" } })
        );
        let basic = imported.yaml("auth-others/basic-auth.yaml");
        assert_eq!(
            basic["auth"],
            json!({ "basic": { "username": "postman", "password": "password" } })
        );
        // Postman's auth replaces the request's own Authorization header; so does the import.
        assert_eq!(basic.get("headers"), None, "{name}");
        check(&imported, &[], &[]);
    }
}

#[test]
fn newman_encoding_and_variable_fixtures_import() {
    let imported = import_fixture(
        "newman-bom.postman_collection.json",
        &["newman-utf16.postman_environment.json"],
    );
    assert_eq!(
        imported.yaml("a-simple-get-request.yaml")["assert"],
        json!({ "status": 200, "json": { "$.args.serviceHostName": "localhost" } })
    );
    let env = imported.yaml("environments/localhost-rest-api-qa-master-localhost.yaml");
    assert_eq!(env["variables"]["servicePortNumber"], "44393");
    check(&imported, &[], &[]);

    let imported = import_fixture(
        "newman-disabled-and-duplicates.postman_collection.json",
        &["newman-disabled-and-duplicates.postman_environment.json"],
    );
    assert_eq!(
        imported.yaml("environments/disabled-and-duplicates.yaml")["variables"],
        json!({ "oneDisabled": "1", "duplicate": "2" })
    );
}

#[test]
fn oauth1_is_signed_by_courier_and_rsa_stays_a_comment() {
    let oauth1 = |fields: Value| {
        json!({ "name": "Signed", "request": { "method": "GET", "url": "https://x/r",
            "auth": { "type": "oauth1", "oauth1": fields } } })
    };
    let collection = v21(json!([
        oauth1(json!([
            { "key": "consumerKey", "value": "{{key}}" },
            { "key": "consumerSecret", "value": "s" },
            { "key": "token", "value": "" },
            { "key": "signatureMethod", "value": "HMAC-SHA256" },
            { "key": "addParamsToHeader", "value": false },
            { "key": "timestamp", "value": 1461319769 },
            { "key": "nonce", "value": "ik3oT5" },
            { "key": "includeBodyHash", "value": true }
        ])),
        oauth1(json!({ "consumerKey": "k", "consumerSecret": "s", "signatureMethod": "RSA-SHA1" })),
    ]));
    let imported = import(&collection, &[]);
    assert_eq!(
        imported.yaml("signed.yaml")["auth"],
        json!({ "oauth1": {
            "consumer_key": "{{ key }}",
            "consumer_secret": "s",
            "timestamp": "1461319769",
            "nonce": "ik3oT5",
            "signature_method": "HMAC-SHA256",
            "in": "query"
        } })
    );
    let notes = imported.notes();
    assert!(
        notes.contains("oauth1: courier sends no body hash"),
        "{notes}"
    );
    assert!(
        notes.contains("oauth1 auth signed with RSA-SHA1 not converted"),
        "{notes}"
    );
    assert!(imported.yaml("signed-2.yaml").get("auth").is_none());
    check(&imported, &[("key", "k")], &[]);
}

#[test]
fn an_authorization_code_oauth2_becomes_one_refreshing_oauth2_auth() {
    let mut collection = v21(json!([
        { "name": "Me", "request": { "method": "GET", "url": "{{base_url}}/me" } },
        { "name": "You", "request": { "method": "GET", "url": "{{base_url}}/you" } }
    ]));
    collection["auth"] = json!({ "type": "oauth2", "oauth2": [
        { "key": "grant_type", "value": "authorization_code" },
        { "key": "accessTokenUrl", "value": "{{base_url}}/oauth/token" },
        { "key": "clientId", "value": "{{client_id}}" },
        { "key": "clientSecret", "value": "{{client_secret}}" },
        { "key": "scope", "value": "user:read" },
        { "key": "client_authentication", "value": "header" }
    ] });
    collection["variable"] = json!([{ "key": "base_url", "value": "https://zoom.us" }]);

    let imported = import(&collection, &[]);

    let expected = json!({ "oauth2": {
        "grant": "refresh_token",
        "token_url": "{{ base_url }}/oauth/token",
        "client_id": "{{ client_id }}",
        "client_secret": "{{ client_secret }}",
        "refresh_token": "{{ refresh_token }}",
        "scope": "user:read",
    } });
    assert_eq!(imported.yaml("me.yaml")["auth"], expected);
    assert_eq!(imported.yaml("you.yaml")["auth"], expected);
    assert_eq!(
        imported.yaml("collection.yaml")["variables"]["refresh_token"],
        "{{ env('COURIER_POSTMAN_REFRESH_TOKEN') }}"
    );
    assert!(
        imported
            .notes()
            .contains("authorize once and give the refresh token as `refresh_token`"),
        "{}",
        imported.notes()
    );
    // The two requests share one token: one token request per run, not one each.
    let loaded = model::load_collection(&imported.out()).unwrap();
    assert_eq!(loaded.tokens.len(), 1);
}

#[test]
fn a_collection_without_info_and_with_one_event_object_imports_as_newman_runs_it() {
    let collection = json!({
        "item": [{
            "name": "Status",
            "event": {
                "listen": "test",
                "script": { "exec": ["pm.test('ok', function () { pm.response.to.have.status(200); });"] }
            },
            "request": { "method": "GET", "url": "https://example.com/status" }
        }],
        "event": { "listen": "prerequest", "script": { "exec": "" } }
    });

    let imported = import(&collection, &[]);

    assert_eq!(
        imported.yaml("collection.yaml")["name"],
        "Imported from Postman"
    );
    assert_eq!(imported.yaml("status.yaml")["assert"]["status"], 200);
    check(&imported, &[], &[]);
}

#[test]
fn a_v1_export_is_converted_as_newman_converts_it() {
    let bytes = std::fs::read(
        "tests/fixtures/newman/multi-level-folders-v1/multi-level-folders-v1.postman_collection.json",
    )
    .unwrap();
    let imported = import_bytes(&bytes, &[]).unwrap_or_else(|e| panic!("{}", e.render(false)));
    let collection = imported.yaml("collection.yaml");
    // Sub-folders before a folder's own requests, as Newman runs them.
    assert_eq!(
        collection["requests"],
        json!([
            "f1/f1-r1.yaml",
            "f1/f1-r2.yaml",
            "f1/f1-r3.yaml",
            "f2/f2-f3/f2-f3-r1.yaml",
            "f2/f2-r1.yaml",
            "r1.yaml"
        ])
    );
    assert_eq!(imported.yaml("r1.yaml")["assert"]["status"], 200);
    assert!(
        imported.notes().contains("old format v1: converted"),
        "{}",
        imported.notes()
    );
    // An empty one is refused as any collection with no requests is.
    let empty = import_err(br#"{"id": "x", "name": "Old", "order": [], "requests": []}"#);
    assert!(empty.contains("no requests"), "{empty}");
}

#[test]
fn globals_join_the_collection_variables_beneath_its_own() {
    let collection = v21(json!([{
        "name": "Get",
        "request": { "method": "GET", "url": "{{host}}/{{path}}?k={{api_key}}" }
    }]));
    let mut collection = collection;
    collection["variable"] = json!([{ "key": "path", "value": "from-collection" }]);
    let globals = json!({
        "name": "Globals",
        "_postman_variable_scope": "globals",
        "values": [
            { "key": "host", "value": "https://example.com", "enabled": true },
            { "key": "path", "value": "from-globals", "enabled": true },
            { "key": "api_key", "value": "k-1", "type": "secret", "enabled": true }
        ]
    });
    let dir = TempDir::new().unwrap();
    let collection_path = dir.path().join("c.postman_collection.json");
    let globals_path = dir.path().join("g.postman_globals.json");
    std::fs::write(&collection_path, collection.to_string()).unwrap();
    std::fs::write(&globals_path, globals.to_string()).unwrap();
    let report = import_postman(&ImportOptions {
        format: Format::Postman,
        collection: collection_path,
        environments: Vec::new(),
        globals: vec![globals_path],
        out: dir.path().join("out"),
        tags: Vec::new(),
        operations: Vec::new(),
    })
    .unwrap();
    let imported = Imported { dir, report };

    let variables = &imported.yaml("collection.yaml")["variables"];
    assert_eq!(
        variables,
        &json!({
            "host": "https://example.com",
            "api_key": "{{ env('COURIER_POSTMAN_API_KEY') }}",
            "path": "from-collection",
        })
    );
    assert!(
        imported
            .notes()
            .contains("2 variables from the globals `g.postman_globals.json`"),
        "{}",
        imported.notes()
    );
    check(&imported, &[], &[("COURIER_POSTMAN_API_KEY", "k")]);
}

#[test]
fn an_import_that_uses_undefined_variables_sends_them_as_newman_does() {
    let collection = v21(json!([{
        "name": "Get",
        "request": { "method": "GET", "url": "https://example.com/{{nowhere}}" }
    }]));
    let imported = import(&collection, &[]);
    assert_eq!(imported.yaml("collection.yaml")["undefined"], "literal");
    // Loads and prechecks with nothing given: `{{nowhere}}` is text, as in Newman.
    check(&imported, &[], &[]);

    let defined = v21(json!([{
        "name": "Get",
        "request": { "method": "GET", "url": "https://example.com/" }
    }]));
    let imported = import(&defined, &[]);
    assert_eq!(imported.yaml("collection.yaml").get("undefined"), None);
}

/// Pieces of Postman test scripts, put together at random by the property test below.
const SCRIPT_PIECES: &[&str] = &[
    "pm.test('t', function () {",
    "pm.test('t', () => {",
    "});",
    "pm.expect(",
    ")",
    ").to.eql(",
    ").to.not.equal(",
    ").to.be.true",
    ").to.be.ok",
    ").to.have.property(",
    ").to.include(",
    ").to.be.below(",
    ").to.be.a(",
    "'string'",
    "'a'",
    "\"b c\"",
    "`t`",
    "1",
    "-2",
    "2.5",
    "null",
    "undefined",
    "true",
    "[1, 'x']",
    "{a: 1}",
    "/a+/i",
    "/(/",
    "pm.response.json()",
    "JSON.parse(responseBody)",
    ".a",
    "[0]",
    "['b c']",
    ".length",
    "tests['x'] =",
    "responseCode.code",
    "pm.response.code",
    "responseTime",
    "===",
    "==",
    "!==",
    "!=",
    "<",
    ">=",
    "&&",
    "||",
    "!",
    "in",
    "responseBody",
    "responseBody.has(",
    "postman.getResponseHeader('X-A')",
    "pm.response.headers.get('x-a')",
    "pm.environment.get('v')",
    "data.v",
    "pm.environment.set('v',",
    "postman.setEnvironmentVariable('w',",
    "pm.response.to.have.status(",
    "pm.response.to.be.ok",
    "pm.response.to.have.jsonBody('a.b',",
    "_.isArray(",
    "_.startsWith(",
    "Number.isInteger(",
    "if (",
    "else",
    "{",
    "}",
    "return;",
    ";",
    ",",
    "\n",
    "var j =",
    "var ok =",
    "j",
    "ok",
    "try {",
    "} catch (e) { console.log(e) }",
];

/// What a statement may read, test with, and compare to.
const SUBJECTS: &[&str] = &[
    "responseCode.code",
    "pm.response.code",
    "responseTime",
    "responseBody",
    "pm.response.text()",
    "pm.response.json()",
    "pm.response.json().a",
    "JSON.parse(responseBody).a[0]['b c']",
    "JSON.parse(responseBody).items.length",
    "j.id",
    "postman.getResponseHeader('X-A')",
    "pm.response.headers.get('x-a')",
    "pm.response.headers.has('x-a')",
    "pm.environment.get('v')",
    "pm.globals.has('v')",
    "data.v",
    "request.name",
    "CryptoJS.MD5('a')",
];
const OPERATORS: &[&str] = &["===", "==", "!==", "!=", "<", "<=", ">", ">=", "in"];
const CHAI: &[&str] = &[
    "to.eql",
    "to.equal",
    "to.not.eql",
    "to.be.true",
    "to.be.false",
    "to.be.ok",
    "to.be.undefined",
    "to.exist",
    "to.include",
    "to.match",
    "to.be.a",
    "to.have.property",
    "to.have.lengthOf",
    "to.be.above",
    "to.be.below",
    "to.be.oneOf",
    "to.be.empty",
];
const LITERALS: &[&str] = &[
    "200",
    "'200'",
    "1",
    "-1",
    "0",
    "2.5",
    "'a'",
    "\"\"",
    "null",
    "undefined",
    "true",
    "[200, 201]",
    "{ a: 1 }",
    "/a+/i",
    "/(?<n>x)/",
    "'string'",
    "'x-a'",
];

/// One statement: a legacy test, a chai assertion, a set, a declaration, or an `if`.
fn statement() -> impl proptest::strategy::Strategy<Value = String> {
    use proptest::prelude::*;
    use proptest::sample::select;
    let subject = || select(SUBJECTS);
    prop_oneof![
        (subject(), select(OPERATORS), select(LITERALS))
            .prop_map(|(s, o, l)| format!("tests['t'] = {s} {o} {l};")),
        (subject(), select(CHAI), select(LITERALS)).prop_map(|(s, c, l)| format!(
            "pm.test('t', function () {{ pm.expect({s}).{c}({l}); }});"
        )),
        (subject(), select(CHAI)).prop_map(|(s, c)| format!("pm.expect({s}).{c};")),
        (subject(), select(LITERALS))
            .prop_map(|(s, l)| format!("tests['t'] = {s} && {s} === {l};")),
        subject().prop_map(|s| format!("tests['t'] = !{s};")),
        (select(LITERALS), subject()).prop_map(|(l, s)| format!(
            "pm.environment.set('w', {l}); pm.environment.set('u', {s});"
        )),
        subject().prop_map(|s| format!("var j = {s};")),
        (subject(), select(LITERALS)).prop_map(|(s, l)| format!(
            "var ok = {s} === {l};\ntests['ok'] = ok;\nif (ok) {{ tests['in'] = j.x === 1; }}"
        )),
        select(LITERALS).prop_map(|l| format!("pm.response.to.have.status({l});")),
        Just("return;".to_string()),
    ]
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig::with_cases(300))]

    /// Statements of the shapes courier converts, with every subject, operator and literal:
    /// what is written is a request courier reads, and a statement is converted or left with
    /// its line.
    #[test]
    fn converted_statements_make_a_request_courier_reads(
        statements in proptest::collection::vec(statement(), 1..8)
    ) {
        let script = statements.join("\n");
        reads_back(&script)?;
    }
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig::with_cases(300))]

    /// Whatever a script says, converting it never panics, every statement left names a line
    /// of the script, and the checks and captures it writes make a request file courier reads.
    #[test]
    fn any_script_converts_into_a_request_courier_reads(
        pieces in proptest::collection::vec(proptest::sample::select(SCRIPT_PIECES), 0..40)
    ) {
        let script = pieces.join(" ");
        reads_back(&script)?;
    }
}

/// Converts `script`: every statement left names one of its lines, and the checks and captures
/// it writes make a request file courier reads.
fn reads_back(script: &str) -> Result<(), proptest::test_runner::TestCaseError> {
    let lines: Vec<String> = script.split('\n').map(String::from).collect();
    let mut asserts = Asserts::default();
    let mut captures = indexmap::IndexMap::new();
    let mut names = Names::new(["v"], []);
    let outcome = convert_test_script(&lines, &mut asserts, &mut captures, &mut names);
    for (line, _) in &outcome.left {
        proptest::prop_assert!((1..=lines.len()).contains(line), "line {line}: {script}");
    }
    let mut doc = json!({ "name": "r", "method": "GET", "url": "https://example.com/" });
    if !asserts.is_empty() {
        doc["assert"] = asserts.to_value();
    }
    if !captures.is_empty() {
        doc["capture"] = Value::Object(captures.into_iter().collect());
    }
    let text = serde_json::to_string_pretty(&doc).unwrap();
    let file = SourceFile::new(Path::new("r.yaml"), text.clone());
    let loaded = model::load_request(&file);
    proptest::prop_assert!(
        loaded.is_ok(),
        "{script}\n{text}\n{}",
        loaded.err().map(|e| e.render(false)).unwrap_or_default()
    );
    Ok(())
}
