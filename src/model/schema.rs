//! The shape of courier's three kinds of file (collection, request, environment) as JSON
//! Schema, for editors; `crate::schema` finishes it with the assertion predicates.
//!
//! The schemas are derived with schemars from the same `*Doc` structs that serde reads the files
//! into, so a key added to a struct shows up in the schema, with its doc comment as the
//! `description` an editor shows on hover; `deny_unknown_fields` becomes `additionalProperties:
//! false`. They are draft-07, the newest draft the VS Code YAML extension reads. What serde sees
//! only as a `serde_json::Value` (assertion predicates, statuses, captures) or as a custom scalar
//! ([`Text`]) is described by hand here, from the rules of `crate::model`; a map of predicates
//! is a stand-in ([`PREDICATES_MARKER`]), since the predicates are `crate::assert`'s.
//!
//! The rule for every hand-written part: the schema never refuses what courier accepts (a false
//! error in an editor is worse than a missing one), and refuses as much as it can of what courier
//! refuses (unknown keys and predicates, wrong operand types, malformed statuses). Checks that
//! need more than a schema (a valid JSONPath or regex, a template that renders) stay courier's.
//!
//! The generated files are committed under `schema/`; a test fails when they drift from the types.

use std::borrow::Cow;

use schemars::generate::SchemaSettings;
use schemars::{JsonSchema, Schema, SchemaGenerator, json_schema};
use serde_json::{Map, Value, json};

use crate::model::yaml::Text;
use crate::model::{CollectionDoc, EnvironmentDoc, RequestDoc};

/// The meta-schema every generated schema names in `$schema`.
pub const DRAFT_07: &str = "http://json-schema.org/draft-07/schema#";

/// The kinds of file courier reads, one schema each.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FileKind {
    /// `collection.yaml`: the collection's name, variables and request list.
    Collection,
    /// One request file of a collection.
    Request,
    /// An environment file (`--env`).
    Environment,
}

impl FileKind {
    pub const ALL: [FileKind; 3] = [
        FileKind::Collection,
        FileKind::Request,
        FileKind::Environment,
    ];

    /// The name of the committed schema file under `schema/`.
    pub fn file_name(self) -> &'static str {
        match self {
            FileKind::Collection => "collection.schema.json",
            FileKind::Request => "request.schema.json",
            FileKind::Environment => "environment.schema.json",
        }
    }

    pub(crate) fn title(self) -> &'static str {
        match self {
            FileKind::Collection => "courier collection file",
            FileKind::Request => "courier request file",
            FileKind::Environment => "courier environment file",
        }
    }

    fn description(self) -> &'static str {
        match self {
            FileKind::Collection => {
                "A collection's `collection.yaml`: its name, default variables, secret and \
                 persistent variable names, and the request files it runs, in order."
            }
            FileKind::Request => {
                "One HTTP request of a collection: method, URL, headers, query, auth, at most one \
                 body, assertions on the response and captures for later requests. Strings are \
                 minijinja templates (`{{ base_url }}`)."
            }
            FileKind::Environment => {
                "An environment file (`courier run --env FILE`): the variable values of one target \
                 (an emulator, staging, production), and which of them are secret or persistent."
            }
        }
    }
}

/// The draft-07 schema of one kind of file as the model describes it: `$schema`, `title` and
/// `description` first, then what schemars derived, with shared parts under `definitions`.
/// Maps of predicates are still stand-ins (see [`PREDICATES_MARKER`]).
pub fn derived(kind: FileKind) -> Value {
    let generator = SchemaSettings::draft07().into_generator();
    let derived = match kind {
        FileKind::Collection => generator.into_root_schema_for::<CollectionDoc>(),
        FileKind::Request => generator.into_root_schema_for::<RequestDoc>(),
        FileKind::Environment => generator.into_root_schema_for::<EnvironmentDoc>(),
    };
    let mut root = Map::new();
    root.insert("$schema".into(), DRAFT_07.into());
    root.insert("title".into(), kind.title().into());
    root.insert("description".into(), kind.description().into());
    let Value::Object(rest) = derived.to_value() else {
        unreachable!("a struct's schema is an object")
    };
    for (key, mut value) in rest {
        if !matches!(key.as_str(), "$schema" | "title" | "description") {
            tidy(&mut value);
            root.insert(key, value);
        }
    }
    Value::Object(root)
}

/// Two fixes to what schemars derives, for editors. A `"default": null` (every `Option` field
/// has one) would be what completion inserts, and says nothing the key's absence does not. Doc
/// comments are wrapped at 100 columns: their single line breaks would show mid-sentence in a
/// hover, so they become spaces, and only blank lines (paragraphs) stay.
fn tidy(value: &mut Value) {
    match value {
        Value::Object(map) => {
            if map.get("default").is_some_and(Value::is_null) {
                map.remove("default");
            }
            if let Some(Value::String(text)) = map.get_mut("description") {
                *text = text
                    .split("\n\n")
                    .map(|paragraph| paragraph.replace('\n', " "))
                    .collect::<Vec<_>>()
                    .join("\n\n");
            }
            map.values_mut().for_each(tidy);
        }
        Value::Array(items) => items.iter_mut().for_each(tidy),
        _ => {}
    }
}

// ---------------------------------------------------------------------------
// Hand-written parts, named by the `#[schemars(...)]` attributes in `crate::model`.

/// Any scalar, read as text: `port: 8080` and `port: "8080"` are the same value.
impl JsonSchema for Text {
    fn inline_schema() -> bool {
        true
    }

    fn schema_name() -> Cow<'static, str> {
        "Text".into()
    }

    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({ "type": ["string", "number", "boolean"] })
    }
}

/// The key of a stand-in for the map of predicates of one target (`json`, `header`, `body`):
/// the predicates are assertion rules, which the model does not know, so `crate::schema` puts
/// them in when it finishes the schema.
pub const PREDICATES_MARKER: &str = "$courier:predicates";

/// Where a map of the predicates of `target` goes, described by `description`.
fn predicates(target: &str, description: &str) -> Value {
    json!({ PREDICATES_MARKER: target, "description": description })
}

/// What a bare value (not a map) may be where a map means predicates.
const NOT_A_MAP: [&str; 5] = ["string", "number", "boolean", "array", "null"];
/// Scalars compared as their text (header and body checks).
const SCALAR: [&str; 3] = ["string", "number", "boolean"];

/// An optional key may be written with a null value (`timeout: ~`): serde reads it as absent.
fn null_schema() -> Value {
    json!({ "type": "null" })
}

/// The methods courier sends; it accepts them in any case.
const METHODS: [&str; 8] = [
    "GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS", "TRACE",
];

/// `method`: the upper-case names for completion, and any other casing of them.
pub(crate) fn method(_: &mut SchemaGenerator) -> Schema {
    // ECMA-262 patterns have no `(?i)`: spell each letter as a class, `[Gg][Ee][Tt]`.
    let any_case = METHODS
        .iter()
        .map(|m| {
            m.chars()
                .map(|c| format!("[{c}{}]", c.to_ascii_lowercase()))
                .collect::<String>()
        })
        .collect::<Vec<_>>()
        .join("|");
    json_schema!({
        "type": "string",
        "anyOf": [
            { "enum": METHODS },
            { "pattern": format!("^(?:{any_case})$") }
        ]
    })
}

/// `grant` of an `oauth2` auth: the grants courier runs.
pub(crate) fn grant(_: &mut SchemaGenerator) -> Schema {
    json_schema!({
        "type": "string",
        "enum": ["refresh_token", "client_credentials", "account_credentials"]
    })
}

/// `undefined` of a collection.
pub(crate) fn undefined(_: &mut SchemaGenerator) -> Schema {
    json_schema!({
        "anyOf": [{ "type": "string", "enum": ["error", "literal"] }, null_schema()]
    })
}

/// `signature_method` of an `oauth1` auth.
pub(crate) fn signature_method(_: &mut SchemaGenerator) -> Schema {
    json_schema!({
        "anyOf": [
            { "type": "string", "enum": ["HMAC-SHA1", "HMAC-SHA256", "HMAC-SHA512", "PLAINTEXT"] },
            null_schema()
        ]
    })
}

/// `in` of an `oauth1` auth.
pub(crate) fn oauth1_in(_: &mut SchemaGenerator) -> Schema {
    json_schema!({
        "anyOf": [{ "type": "string", "enum": ["header", "query"] }, null_schema()]
    })
}

/// `client_auth` of an `oauth2` auth.
pub(crate) fn client_auth(_: &mut SchemaGenerator) -> Schema {
    json_schema!({
        "anyOf": [{ "type": "string", "enum": ["basic", "body"] }, null_schema()]
    })
}

/// `headers`: names are HTTP tokens (courier refuses others), values any scalar.
pub(crate) fn headers(_: &mut SchemaGenerator) -> Schema {
    json_schema!({
        "type": "object",
        "propertyNames": {
            "pattern": "^[A-Za-z0-9!#$%&'*+.^_`|~-]+$"
        },
        "additionalProperties": text_value("A header value, a template.")
    })
}

/// `variables` of a collection or an environment: any names, any YAML values.
pub(crate) fn variables(_: &mut SchemaGenerator) -> Schema {
    json_schema!({
        "type": "object",
        "additionalProperties": {
            "description": "A variable's value: any YAML value. Strings (also inside lists and maps) are templates."
        }
    })
}

/// `timeout`: seconds as a positive number, or a duration string.
pub(crate) fn timeout(_: &mut SchemaGenerator) -> Schema {
    json_schema!({
        "anyOf": [
            { "type": "number", "exclusiveMinimum": 0, "description": "Seconds." },
            { "type": "string", "description": "A duration: `10s`, `500ms`, `1m`, or seconds as text." },
            null_schema()
        ],
        "examples": ["10s", "500ms", 30]
    })
}

/// `capture`: variable names (identifiers, since templates use them) to a JSONPath or a header.
pub(crate) fn captures(_: &mut SchemaGenerator) -> Schema {
    let json_path = json!({
        "type": "string",
        "pattern": "^\\$",
        "description": "An RFC 9535 JSONPath into the JSON body: `$.access_token`. A path that matches several nodes captures the array of them."
    });
    let default = json!({
        "description": "Captured when the answer has no such value, instead of failing: `{ json: $.api_url, default: \"https://api.zoom.us\" }`."
    });
    json_schema!({
        "type": "object",
        "propertyNames": {
            "pattern": "^[A-Za-z_][A-Za-z0-9_]*$"
        },
        "additionalProperties": {
            "anyOf": [
                json_path,
                {
                    "type": "object",
                    "properties": { "json": json_path, "default": default },
                    "required": ["json"],
                    "additionalProperties": false
                },
                {
                    "type": "object",
                    "properties": {
                        "header": {
                            "type": "string",
                            "description": "A response header's name, matched in any case: `X-Request-Id`."
                        },
                        "default": default
                    },
                    "required": ["header"],
                    "additionalProperties": false
                },
                {
                    "type": "object",
                    "properties": {
                        "value": {
                            "description": "A value written here, captured when the response has come (what `pm.environment.set(\"name\", \"value\")` in a Postman test script does): `{ value: alpha }`."
                        }
                    },
                    "required": ["value"],
                    "additionalProperties": false
                }
            ]
        }
    })
}

/// `assert.status`: a code, a class, or a non-empty list of them.
pub(crate) fn status_assertion(_: &mut SchemaGenerator) -> Schema {
    let code = json!({
        "type": "integer",
        "minimum": 100,
        "maximum": 599,
        "description": "A status code: `200`."
    });
    let class = json!({
        "type": "string",
        "pattern": "^(?:[1-5][0-9][0-9]|[1-5][xX][xX])$",
        "description": "A class, `1xx` to `5xx` (quote it: `\"2xx\"`), or a quoted code."
    });
    json_schema!({
        "anyOf": [
            code,
            class,
            {
                "type": "array",
                "minItems": 1,
                "items": { "anyOf": [code, class] },
                "description": "Any of these: `[200, 201]`, `[304, \"2xx\"]`."
            },
            null_schema()
        ]
    })
}

/// `assert.headers`: header name to a bare value (equals) or a map of header predicates.
pub(crate) fn header_assertions(_: &mut SchemaGenerator) -> Schema {
    json_schema!({
        "type": "object",
        "additionalProperties": {
            "anyOf": [
                text_value("A bare value: the header equals this text. Numbers and booleans compare as written."),
                predicates("header", "Predicates on the header's value, all of which must hold. Header predicates: equals, contains, matches, exists.")
            ]
        }
    })
}

/// What `schema:` takes: a schema file's path, or a schema (a mapping or a boolean).
pub(crate) fn schema_operand() -> Value {
    json!({
        "description": "A JSON Schema (draft 2020-12, or draft-07 when its `$schema` says so): the path of a JSON or YAML file relative to this file, or the schema itself.",
        "type": ["string", "object", "boolean"]
    })
}

/// `assert.schema`: as [`schema_operand`], or null.
pub(crate) fn schema_assertion(_: &mut SchemaGenerator) -> Schema {
    json_schema!({
        "anyOf": [schema_operand(), null_schema()]
    })
}

/// `assert.snapshot`: a file's path, or the path and the JSONPaths to ignore.
pub(crate) fn snapshot_assertion(_: &mut SchemaGenerator) -> Schema {
    json_schema!({
        "anyOf": [
            { "type": "string", "description": "The snapshot file, relative to this file." },
            {
                "type": "object",
                "properties": {
                    "file": { "type": "string", "description": "The snapshot file, relative to this file." },
                    "ignore": {
                        "type": "array",
                        "items": { "type": "string", "pattern": "^\\$" },
                        "description": "JSONPaths of volatile values (ids, timestamps), stored as `\"<ignored>\"` and not compared."
                    }
                },
                "required": ["file"],
                "additionalProperties": false
            },
            null_schema()
        ]
    })
}

/// `assert.request.url`: a bare value (equals) or header predicates.
pub(crate) fn sent_url_assertion(_: &mut SchemaGenerator) -> Schema {
    json_schema!({
        "anyOf": [
            text_value("A bare value: the URL as sent equals this text."),
            predicates("header", "Predicates on the URL as sent, all of which must hold: equals, contains, matches, exists."),
            null_schema()
        ]
    })
}

/// `assert.json`: JSONPath to a bare value (equals) or a map of JSON predicates.
pub(crate) fn json_assertions(_: &mut SchemaGenerator) -> Schema {
    json_schema!({
        "type": "object",
        "propertyNames": {
            "pattern": "^\\$"
        },
        "additionalProperties": {
            "anyOf": [
                {
                    "type": NOT_A_MAP,
                    "description": "A bare value: what the path selects equals it. To compare with an object, write `{ equals: { … } }`: a map is always predicates."
                },
                predicates("json-node", "Predicates on what the path selects, all of which must hold; `schema:` checks it against a JSON Schema.")
            ]
        }
    })
}

/// `assert.vars`: variable name → a bare value (equals) or JSON predicates.
pub(crate) fn var_assertions(_: &mut SchemaGenerator) -> Schema {
    json_schema!({
        "type": "object",
        "propertyNames": {
            "pattern": "^[A-Za-z_][A-Za-z0-9_]*$"
        },
        "additionalProperties": {
            "anyOf": [
                {
                    "type": NOT_A_MAP,
                    "description": "A bare value: the variable equals it."
                },
                predicates("json", "Predicates on the variable's value, all of which must hold.")
            ]
        }
    })
}

/// `assert.body`: a bare string (contains) or a map of body predicates.
pub(crate) fn body_assertion(_: &mut SchemaGenerator) -> Schema {
    json_schema!({
        "anyOf": [
            text_value("A bare value: the body contains this text."),
            predicates("body", "Predicates on the body as text, all of which must hold. Body predicates: contains, matches."),
            null_schema()
        ]
    })
}

/// A request has at most one body: once one of `form`, `json` or `body` has a value, the others
/// must be absent or null (serde reads a null as absent, so courier accepts that). `errorMessage`
/// is the VS Code extension's keyword for the text it shows instead of its generic one; other
/// validators ignore it.
pub(crate) fn at_most_one_body(schema: &mut Schema) {
    const BODIES: [&str; 3] = ["form", "json", "body"];
    let rules: Vec<Value> = BODIES
        .iter()
        .map(|body| {
            let others: Map<String, Value> = BODIES
                .iter()
                .filter(|other| *other != body)
                .map(|other| {
                    let message = format!(
                        "a request has at most one body, but this one has `{body}` and `{other}`: \
                         keep one of `form`, `json` or `body`"
                    );
                    let absent = json!({ "type": "null", "errorMessage": message });
                    ((*other).to_string(), absent)
                })
                .collect();
            json!({
                "if": { "required": [body], "properties": { *body: { "not": null_schema() } } },
                "then": { "properties": others }
            })
        })
        .collect();
    schema.insert("allOf".into(), Value::Array(rules));
}

/// `auth` takes exactly one of its kinds; as for courier, a null one is absent.
pub(crate) fn exactly_one_auth(schema: &mut Schema) {
    let one = |kind: &str| json!({ "required": [kind], "properties": { kind: { "not": null_schema() } } });
    schema.insert(
        "oneOf".into(),
        json!([
            one("basic"),
            one("digest"),
            one("oauth1"),
            one("bearer"),
            one("oauth2"),
            one("none")
        ]),
    );
}

fn text_value(description: &str) -> Value {
    json!({ "type": SCALAR, "description": description })
}
