//! Request files: one HTTP request, its assertions and its captures.

use std::sync::Arc;
use std::time::Duration;

use indexmap::IndexMap;
use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::Value;
use serde_saphyr::Spanned;

use super::Tmpl;
use super::auth::{Auth, AuthDoc};
use super::contract::SchemaLoader;
use super::yaml::{self, Text};
use crate::assert::{self, Predicate, Query, SpecError, StatusSpec};
use crate::diag::{Diagnostic, SourceFile, Spot, did_you_mean};
use crate::error::Result;

const METHODS: [&str; 8] = [
    "GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS", "TRACE",
];

type Pairs = IndexMap<Spanned<String>, Spanned<Text>>;

#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(transform = crate::model::schema::at_most_one_body)]
pub(crate) struct RequestDoc {
    /// The request's name, unique in its collection: reports show it and `--request NAME`
    /// selects by it. Example: `Refresh access token`.
    #[schemars(with = "String")]
    name: Spanned<String>,
    /// Free text about the request, for readers of the file.
    #[serde(default)]
    description: Option<String>,
    /// Labels for selecting requests: `--tag smoke` runs only requests tagged `smoke`,
    /// `--skip-tag destructive` leaves those out. Example: `[smoke]`.
    #[serde(default)]
    tags: Vec<String>,
    /// `true`: the request runs even after an earlier failure or `--bail` stopped the run, like
    /// a teardown step. Default: `false`.
    #[serde(default)]
    always: bool,
    /// The HTTP method: GET, POST, PUT, PATCH, DELETE, HEAD, OPTIONS or TRACE, in any case.
    #[schemars(schema_with = "crate::model::schema::method")]
    method: Spanned<String>,
    /// The URL, a template: `"{{ base_url }}/oauth/token"`. Quote it when it starts with `{{`,
    /// or YAML reads a map.
    #[schemars(with = "String")]
    url: Spanned<String>,
    /// Request headers, name: value. Values are templates; numbers and booleans are sent as
    /// written. Example: `Accept: application/json`.
    #[serde(default)]
    #[schemars(schema_with = "crate::model::schema::headers")]
    headers: Pairs,
    /// Query parameters appended to the URL, percent-encoded, in the order written. Values are
    /// templates. Example: `page_size: 30`.
    #[serde(default)]
    #[schemars(with = "IndexMap<String, Text>")]
    query: Pairs,
    /// Authentication: exactly one of `basic` (username and password), `bearer` (a token),
    /// `oauth2` (courier gets and keeps the token) or `none`. Default: the collection's `auth`.
    #[serde(default)]
    #[schemars(with = "Option<AuthDoc>")]
    auth: Option<Spanned<AuthDoc>>,
    /// A form body, urlencoded in the order written, with `Content-Type:
    /// application/x-www-form-urlencoded` unless `headers` sets one. Values are templates. A
    /// request has at most one of `form`, `json` or `body`.
    #[serde(default)]
    #[schemars(with = "Option<IndexMap<String, Text>>")]
    form: Option<Spanned<Pairs>>,
    /// A JSON body: any YAML value, with `Content-Type: application/json` unless `headers` sets
    /// one; every string in it is a template. A request has at most one of `form`, `json` or
    /// `body`.
    #[serde(default)]
    #[schemars(with = "Option<Value>")]
    json: Option<Spanned<Value>>,
    /// A raw body with its content type: `{ content_type: text/plain, text: "…" }`. A request
    /// has at most one of `form`, `json` or `body`.
    #[serde(default)]
    #[schemars(with = "Option<RawBodyDoc>")]
    body: Option<Spanned<RawBodyDoc>>,
    /// Checks on the response: `status`, `headers`, `json`, `body` and `duration`. A failed
    /// check is reported and the run goes on (unless `--bail`).
    #[serde(default, rename = "assert")]
    asserts: Option<AssertDoc>,
    /// Values taken from the response into variables for later requests, name: source. The
    /// source is a JSONPath (`$.access_token`), `{ json: $.access_token }` or
    /// `{ header: X-Request-Id }`. A capture that finds nothing fails the request.
    #[serde(default)]
    #[schemars(schema_with = "crate::model::schema::captures")]
    capture: IndexMap<Spanned<String>, Spanned<Value>>,
    /// Variables this request removes from its pass once its answer is in (after its
    /// captures), as Postman's `pm.environment.unset` does: later requests of the pass find
    /// them undefined (with `undefined: literal`, the text `{{name}}`). Not a persistent one.
    #[serde(default)]
    #[schemars(with = "Vec<String>")]
    unset: Vec<Spanned<String>>,
    /// This request's timeout: seconds (`10`, `2.5`) or a duration (`10s`, `500ms`, `1m`).
    /// Default: `--timeout`.
    #[serde(default)]
    #[schemars(schema_with = "crate::model::schema::timeout")]
    timeout: Option<Spanned<Text>>,
    /// How many redirects to follow at most; `0` follows none. Default: `--max-redirects`.
    #[serde(default)]
    #[schemars(with = "Option<u32>")]
    redirects: Option<Spanned<u32>>,
    /// Send again until the assertions pass, for an asynchronous job:
    /// `{ times: 10, interval: 500ms }`. The last try's outcome is the result. Only for a
    /// request that sends and captures no persistent variable, with an idempotent method
    /// unless `idempotent: true` says a POST may be repeated. Distinct from `--retry`, which
    /// is about transport.
    #[serde(default)]
    #[schemars(with = "Option<PollDoc>")]
    poll: Option<Spanned<PollDoc>>,
}

#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(rename = "Poll")]
struct PollDoc {
    /// How many times the request is sent at most, the first included (2 to 1000).
    #[schemars(with = "u32", range(min = 2, max = 1000))]
    times: Spanned<u32>,
    /// The wait between tries: seconds (`1`) or a duration (`500ms`, `2s`). Default: `1s`.
    #[serde(default)]
    #[schemars(schema_with = "crate::model::schema::timeout")]
    interval: Option<Spanned<Text>>,
    /// The request may be repeated although its method is not idempotent (a POST that
    /// starts nothing new, such as a search).
    #[serde(default)]
    idempotent: bool,
}

#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(rename = "RawBody")]
struct RawBodyDoc {
    /// The `Content-Type` header sent with the body. Example: `text/plain`.
    content_type: String,
    /// The body text, a template.
    #[schemars(with = "String")]
    text: Spanned<String>,
}

#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(rename = "Assertions")]
struct AssertDoc {
    /// The expected status: a code (`200`), a class (`"2xx"`) or a list of them
    /// (`[200, 201]`, `[304, "2xx"]`).
    #[serde(default)]
    #[schemars(schema_with = "crate::model::schema::status_assertion")]
    status: Option<Spanned<Value>>,
    /// Checks on response headers, name: predicates. Names match case-insensitively. A bare
    /// value means `equals`; a map holds predicates that must all hold:
    /// `content-type: { contains: application/json }`.
    #[serde(default)]
    #[schemars(schema_with = "crate::model::schema::header_assertions")]
    headers: IndexMap<Spanned<String>, Spanned<Value>>,
    /// Checks on the JSON body, RFC 9535 JSONPath: predicates. A bare value means `equals`
    /// (`$.token_type: bearer`); a map holds predicates that must all hold
    /// (`$.expires_in: { type: integer, gt: 0 }`).
    #[serde(default)]
    #[schemars(schema_with = "crate::model::schema::json_assertions")]
    json: IndexMap<Spanned<String>, Spanned<Value>>,
    /// Checks on the body as text: a bare string means `contains`; or a map of `contains`
    /// and `matches`.
    #[serde(default)]
    #[schemars(schema_with = "crate::model::schema::body_assertion")]
    body: Option<Spanned<Value>>,
    /// The response must come in under this many milliseconds. Example: `2000`.
    #[serde(default)]
    #[schemars(with = "Option<u64>")]
    duration: Option<Spanned<u64>>,
    /// Checks on variables as this request was sent (before its captures), name: JSON
    /// predicates; a bare value means `equals`. What `courier import postman` writes for a
    /// script's `pm.environment.get("x")`. Example: `region: { exists: true }`.
    #[serde(default)]
    #[schemars(schema_with = "crate::model::schema::var_assertions")]
    vars: IndexMap<Spanned<String>, Spanned<Value>>,
    /// A JSON Schema the whole JSON answer must be valid against: the path of a JSON or YAML
    /// file, relative to this file (`schemas/token.json`), or the schema as a mapping. Draft
    /// 2020-12 unless its `$schema` names draft-07. Checked on one node with
    /// `json: { $.user: { schema: … } }`.
    #[serde(default)]
    #[schemars(schema_with = "crate::model::schema::schema_assertion")]
    schema: Option<Spanned<Value>>,
    /// The JSON answer must equal a stored one: the path of its file, relative to this file
    /// (`snapshots/users-me.json`), or `{ file: …, ignore: [$.id, $.created_at] }` to leave
    /// volatile fields out. `courier run --update-snapshots` writes it. Secrets are stored as
    /// `***` and compare as present.
    #[serde(default)]
    #[schemars(schema_with = "crate::model::schema::snapshot_assertion")]
    snapshot: Option<Spanned<Value>>,
    /// Checks on the request as it was sent (after redirects, the one that got the answer):
    /// its `url` and `headers`, with header predicates. What `courier import postman` writes
    /// for a script's `pm.request.url` and `pm.request.to.have.header(…)`.
    #[serde(default)]
    request: Option<SentAssertDoc>,
}

#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(rename = "SentAssertions")]
struct SentAssertDoc {
    /// The URL as sent: a bare string means equals; or `contains`, `matches`, `exists`.
    #[serde(default)]
    #[schemars(schema_with = "crate::model::schema::sent_url_assertion")]
    url: Option<Spanned<Value>>,
    /// Headers as sent, name: predicates, as for response headers: those the request file,
    /// its auth and its body set, and `Host`.
    #[serde(default)]
    #[schemars(schema_with = "crate::model::schema::header_assertions")]
    headers: IndexMap<Spanned<String>, Spanned<Value>>,
}

/// One request of a collection, validated.
#[derive(Debug)]
pub struct Request {
    pub name: String,
    pub description: Option<String>,
    pub file: Arc<SourceFile>,
    pub name_spot: Spot,
    pub tags: Vec<String>,
    /// Runs even after a failure or `--bail` stopped the run (teardown).
    pub always: bool,
    pub method: String,
    pub url: Tmpl,
    pub headers: Vec<(String, Tmpl)>,
    pub query: Vec<(String, Tmpl)>,
    pub auth: Option<Auth>,
    pub body: Option<Body>,
    pub checks: Checks,
    pub captures: Vec<Capture>,
    /// Removed from the pass after the captures (`unset:`).
    pub unset: Vec<(String, Spot)>,
    pub timeout: Option<Duration>,
    /// How many redirects to follow; `None` means the run's default.
    pub redirects: Option<u32>,
    /// Sent again until its assertions pass (`poll:`).
    pub poll: Option<Poll>,
}

/// `poll:`: how often, and how far apart, a request is sent until its assertions pass.
#[derive(Debug, Clone)]
pub struct Poll {
    /// Tries at most, the first included.
    pub times: u32,
    pub interval: Duration,
    /// The file says a request with a method that is not idempotent may be repeated.
    pub idempotent: bool,
    pub spot: Spot,
}

/// The tries `poll:` may ask for at most: a request sent a thousand times is a load test.
const MOST_TRIES: u32 = 1000;

#[derive(Debug)]
pub enum Body {
    /// `application/x-www-form-urlencoded`, in the order written.
    Form(Vec<(String, Tmpl)>),
    Json(JsonTemplate),
    Raw {
        content_type: String,
        text: Tmpl,
    },
}

/// A JSON body whose strings are templates.
#[derive(Debug)]
pub enum JsonTemplate {
    Literal(Value),
    String(Tmpl),
    Array(Vec<JsonTemplate>),
    Object(Vec<(String, JsonTemplate)>),
}

/// The assertions of one request, compiled.
#[derive(Debug, Default)]
pub struct Checks {
    pub status: Option<(StatusSpec, Spot)>,
    pub headers: Vec<(String, Vec<Predicate>, Spot)>,
    pub json: Vec<JsonCheck>,
    pub body: Vec<(Predicate, Spot)>,
    /// The answer must come in under this many milliseconds.
    pub duration: Option<(u64, Spot)>,
    /// Variables as the request was sent: name, predicates.
    pub vars: Vec<(String, Vec<Predicate>, Spot)>,
    /// The URL the request was sent to.
    pub sent_url: Vec<(Predicate, Spot)>,
    /// Headers the request was sent with: name, predicates.
    pub sent_headers: Vec<(String, Vec<Predicate>, Spot)>,
    /// JSON Schemas the answer, or a node of it, must be valid against.
    pub schemas: Vec<SchemaCheck>,
    /// A stored answer the answer must equal.
    pub snapshot: Option<SnapshotCheck>,
}

/// `snapshot:`: a stored JSON answer, and the paths whose values are left out of it.
#[derive(Debug)]
pub struct SnapshotCheck {
    /// The file, as the request's folder joined with what was written.
    pub path: std::path::PathBuf,
    /// What was written, for messages.
    pub shown: String,
    pub ignore: Vec<Query>,
    pub spot: Spot,
}

/// `schema:`, on the whole answer (`query` is `None`) or on what a JSONPath selects.
#[derive(Debug)]
pub struct SchemaCheck {
    pub query: Option<Query>,
    pub schema: Arc<assert::JsonSchema>,
    pub spot: Spot,
}

#[derive(Debug)]
pub struct JsonCheck {
    pub query: Query,
    pub predicates: Vec<Predicate>,
    pub spot: Spot,
}

#[derive(Debug)]
pub struct Capture {
    pub name: String,
    pub source: CaptureSource,
    /// Captured when the source finds nothing (`default:`); without one, finding nothing is a
    /// failed check.
    pub default: Option<Value>,
    /// Finding nothing captures nothing, and fails nothing (a token answer without a rotated
    /// refresh token).
    pub optional: bool,
    pub spot: Spot,
}

#[derive(Debug)]
pub enum CaptureSource {
    Json(Query),
    Header(String),
    /// `{ value: V }`: a value written in the file, taken when the response has come, as
    /// Postman's `pm.environment.set("name", "value")` in a test script does.
    Value(Value),
}

impl CaptureSource {
    /// True when the value comes from a field or header whose name says it is a credential
    /// (`$.access_token`, `Authorization`): it is masked whatever variable it is captured into.
    pub fn looks_secret(&self) -> bool {
        match self {
            CaptureSource::Json(query) => crate::secrets::name_looks_secret(query.as_str()),
            CaptureSource::Header(name) => crate::secrets::name_looks_secret(name),
            CaptureSource::Value(_) => false,
        }
    }
}

/// Loads one request file on its own; a collection loads its files with one [`SchemaLoader`].
#[cfg(test)]
pub(crate) fn load_request(file: &Arc<SourceFile>) -> Result<Request> {
    let mut loader = SchemaLoader::default();
    let request = load_request_with(file, &mut loader)?;
    loader.finish();
    Ok(request)
}

pub(crate) fn load_request_with(
    file: &Arc<SourceFile>,
    loader: &mut SchemaLoader,
) -> Result<Request> {
    let doc: RequestDoc = yaml::parse(file, "request file")?;
    let at = |s: &Spanned<_>| yaml::spot_of(file, s);
    let method = validate_method(&doc.method, at(&doc.method))?;
    let headers = pairs(file, &doc.headers, true)?;
    let query = pairs(file, &doc.query, false)?;
    let auth = doc
        .auth
        .as_ref()
        .map(|written| super::auth::auth(file, written))
        .transpose()?;
    let body = body(file, &doc)?;
    let checks = match doc.asserts {
        Some(asserts) => checks(file, asserts, loader)?,
        None => Checks::default(),
    };
    let captures = doc
        .capture
        .iter()
        .map(|(name, source)| capture(file, name, source))
        .collect::<Result<Vec<_>>>()?;
    let timeout = doc
        .timeout
        .as_ref()
        .map(|t| parse_timeout(t, yaml::spot_of(file, t)))
        .transpose()?;
    let mut unset = Vec::with_capacity(doc.unset.len());
    for name in &doc.unset {
        let spot = yaml::spot_of(file, name);
        if !is_identifier(&name.value) {
            return Err(
                Diagnostic::new(format!("invalid variable name `{}`", name.value))
                    .at(spot)
                    .help("variable names are letters, digits and `_`, not starting with a digit")
                    .into(),
            );
        }
        unset.push((name.value.clone(), spot));
    }
    let _ = &doc.description;
    Ok(Request {
        name: doc.name.value.clone(),
        description: doc.description,
        file: Arc::clone(file),
        name_spot: at(&doc.name),
        tags: doc.tags,
        always: doc.always,
        method,
        url: Tmpl::new(doc.url.value.clone(), at(&doc.url)),
        headers,
        query,
        auth,
        body,
        checks,
        captures,
        unset,
        timeout,
        poll: doc.poll.as_ref().map(|p| poll(file, p)).transpose()?,
        redirects: doc.redirects.map(|r| r.value),
    })
}

fn validate_method(method: &Spanned<String>, spot: Spot) -> Result<String> {
    let upper = method.value.to_ascii_uppercase();
    if METHODS.contains(&upper.as_str()) {
        return Ok(upper);
    }
    let help = match did_you_mean(&upper, METHODS) {
        Some(near) => format!("did you mean `{near}`?"),
        None => format!("use one of {}", crate::diag::backticked(&METHODS)),
    };
    Err(
        Diagnostic::new(format!("unknown HTTP method `{}`", method.value))
            .at(spot)
            .label("not a method courier can send")
            .help(help)
            .into(),
    )
}

fn pairs(file: &Arc<SourceFile>, map: &Pairs, header: bool) -> Result<Vec<(String, Tmpl)>> {
    map.iter()
        .map(|(name, value)| {
            if header && !is_header_name(&name.value) {
                return Err(
                    Diagnostic::new(format!("invalid header name `{}`", name.value))
                        .at(yaml::spot_of(file, name))
                        .help("header names are letters, digits and `-`, with no spaces or colons")
                        .into(),
                );
            }
            Ok((
                name.value.clone(),
                Tmpl::new(value.value.0.clone(), yaml::spot_of(file, value)),
            ))
        })
        .collect()
}

fn is_header_name(name: &str) -> bool {
    !name.is_empty()
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b))
}

fn body(file: &Arc<SourceFile>, doc: &RequestDoc) -> Result<Option<Body>> {
    let given: Vec<(&str, Spot)> = [
        doc.form.as_ref().map(|f| ("form", yaml::spot_of(file, f))),
        doc.json.as_ref().map(|j| ("json", yaml::spot_of(file, j))),
        doc.body.as_ref().map(|b| ("body", yaml::spot_of(file, b))),
    ]
    .into_iter()
    .flatten()
    .collect();
    if given.len() > 1 {
        return Err(Diagnostic::new(format!(
            "a request has at most one body, but this one has `{}` and `{}`",
            given[0].0, given[1].0
        ))
        .at(given[1].1.clone())
        .label("second body")
        .help("keep one of `form`, `json` or `body`")
        .into());
    }
    if let Some(form) = &doc.form {
        return Ok(Some(Body::Form(pairs(file, &form.value, false)?)));
    }
    if let Some(json) = &doc.json {
        return Ok(Some(Body::Json(json_template(
            &json.value,
            &yaml::spot_of(file, json),
        ))));
    }
    Ok(doc.body.as_ref().map(|raw| Body::Raw {
        content_type: raw.value.content_type.clone(),
        text: Tmpl::new(
            raw.value.text.value.clone(),
            yaml::spot_of(file, &raw.value.text),
        ),
    }))
}

/// Strings inside a JSON body keep the spot of the whole body; errors narrow it by searching
/// for the offending text.
fn json_template(value: &Value, spot: &Spot) -> JsonTemplate {
    match value {
        Value::String(s) => {
            let tmpl = Tmpl::new(s.clone(), spot.narrow_to(s));
            if tmpl.is_literal() {
                JsonTemplate::Literal(value.clone())
            } else {
                JsonTemplate::String(tmpl)
            }
        }
        Value::Array(items) => {
            JsonTemplate::Array(items.iter().map(|v| json_template(v, spot)).collect())
        }
        Value::Object(map) => JsonTemplate::Object(
            map.iter()
                .map(|(k, v)| (k.clone(), json_template(v, spot)))
                .collect(),
        ),
        _ => JsonTemplate::Literal(value.clone()),
    }
}

fn spec_error(e: SpecError, spot: Spot, title: &str) -> Diagnostic {
    let spot = match &e.key {
        Some(key) => spot.narrow_to(key),
        None => spot,
    };
    Diagnostic::new(format!("{title}: {}", e.message))
        .at(spot)
        .maybe_help(e.help)
}

/// `headers:` of an `assert:` (or of its `request:`): name, predicates.
fn header_checks(
    file: &Arc<SourceFile>,
    written: &IndexMap<Spanned<String>, Spanned<Value>>,
) -> Result<Vec<(String, Vec<Predicate>, Spot)>> {
    let mut checks = Vec::with_capacity(written.len());
    for (name, value) in written {
        let spot = yaml::spot_of(file, value);
        let predicates = assert::parse_header_predicates(&value.value).map_err(|e| {
            spec_error(
                e,
                spot.clone(),
                &format!("invalid assertion on header `{}`", name.value),
            )
        })?;
        checks.push((name.value.clone(), predicates, yaml::spot_of(file, name)));
    }
    Ok(checks)
}

/// `snapshot: FILE` or `snapshot: { file: FILE, ignore: [JSONPATH, …] }`.
fn snapshot(file: &Arc<SourceFile>, written: &Spanned<Value>) -> Result<SnapshotCheck> {
    let spot = yaml::spot_of(file, written);
    let invalid = |why: &str| -> crate::error::Error {
        Diagnostic::new(format!("invalid `snapshot:`: {why}"))
            .at(spot.clone())
            .help("write the path of the snapshot file (`snapshots/users-me.json`), or `{ file: snapshots/users-me.json, ignore: [$.id] }`")
            .into()
    };
    let (shown, ignore) = match &written.value {
        Value::String(path) => (path.clone(), Vec::new()),
        Value::Object(map) => {
            if let Some(key) = map.keys().find(|k| *k != "file" && *k != "ignore") {
                return Err(invalid(&format!("unknown key `{key}`")));
            }
            let Some(Value::String(path)) = map.get("file") else {
                return Err(invalid("`file` is missing or not a path"));
            };
            let ignore = match map.get("ignore") {
                None => Vec::new(),
                Some(Value::Array(paths)) => paths.clone(),
                Some(_) => return Err(invalid("`ignore` is a list of JSONPaths")),
            };
            (path.clone(), ignore)
        }
        _ => return Err(invalid("neither a path nor a mapping")),
    };
    if shown.trim().is_empty() {
        return Err(invalid("the path is empty"));
    }
    let ignore = ignore
        .iter()
        .map(|path| {
            let text = path
                .as_str()
                .ok_or_else(|| invalid("`ignore` is a list of JSONPaths"))?;
            Query::parse(text).map_err(|e| {
                Diagnostic::new(e.message)
                    .at(spot.narrow_to(text))
                    .label("not an RFC 9535 JSONPath")
                    .maybe_help(e.help)
                    .into()
            })
        })
        .collect::<Result<Vec<_>>>()?;
    let folder = match file.path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir.to_path_buf(),
        _ => std::path::PathBuf::from("."),
    };
    Ok(SnapshotCheck {
        path: folder.join(&shown),
        shown,
        ignore,
        spot,
    })
}

/// One `json:` entry: its predicates, and its `schema:` when the map has one.
fn json_check(
    file: &Arc<SourceFile>,
    path: &Spanned<String>,
    value: &Spanned<Value>,
    loader: &mut SchemaLoader,
    checks: &mut Checks,
) -> Result<()> {
    let path_spot = yaml::spot_of(file, path);
    let query = Query::parse(&path.value).map_err(|e| {
        Diagnostic::new(e.message)
            .at(path_spot.clone())
            .label("not an RFC 9535 JSONPath")
            .maybe_help(e.help)
    })?;
    let value_spot = yaml::spot_of(file, value);
    let mut written = value.value.clone();
    if let Some(schema) = written
        .as_object_mut()
        .and_then(|m| m.shift_remove("schema"))
    {
        let spot = value_spot.narrow_to("schema");
        checks.schemas.push(SchemaCheck {
            query: Some(query.clone()),
            schema: loader.load(file, spot, &schema)?,
            spot: path_spot.clone(),
        });
        if written.as_object().is_some_and(serde_json::Map::is_empty) {
            return Ok(());
        }
    }
    let predicates = assert::parse_json_predicates(&written).map_err(|e| {
        spec_error(
            e,
            value_spot,
            &format!("invalid assertion on `{}`", path.value),
        )
    })?;
    checks.json.push(JsonCheck {
        query,
        predicates,
        spot: path_spot,
    });
    Ok(())
}

fn checks(file: &Arc<SourceFile>, doc: AssertDoc, loader: &mut SchemaLoader) -> Result<Checks> {
    let mut checks = Checks::default();
    if let Some(status) = &doc.status {
        let spot = yaml::spot_of(file, status);
        let spec = StatusSpec::parse(&status.value)
            .map_err(|e| spec_error(e, spot.clone(), "invalid status assertion"))?;
        checks.status = Some((spec, spot));
    }
    checks.headers = header_checks(file, &doc.headers)?;
    if let Some(sent) = &doc.request {
        checks.sent_headers = header_checks(file, &sent.headers)?;
        if let Some(url) = &sent.url {
            let spot = yaml::spot_of(file, url);
            let predicates = assert::parse_header_predicates(&url.value)
                .map_err(|e| spec_error(e, spot.clone(), "invalid assertion on the request URL"))?;
            checks.sent_url = predicates.into_iter().map(|p| (p, spot.clone())).collect();
        }
    }
    if let Some(schema) = &doc.schema {
        let spot = yaml::spot_of(file, schema);
        checks.schemas.push(SchemaCheck {
            query: None,
            schema: loader.load(file, spot.clone(), &schema.value)?,
            spot,
        });
    }
    for (path, value) in &doc.json {
        json_check(file, path, value, loader, &mut checks)?;
    }
    checks.snapshot = doc
        .snapshot
        .as_ref()
        .map(|written| snapshot(file, written))
        .transpose()?;
    if let Some(body) = &doc.body {
        let spot = yaml::spot_of(file, body);
        let predicates = assert::parse_body_predicates(&body.value)
            .map_err(|e| spec_error(e, spot.clone(), "invalid body assertion"))?;
        checks.body = predicates.into_iter().map(|p| (p, spot.clone())).collect();
    }
    checks.duration = doc
        .duration
        .as_ref()
        .map(|d| (d.value, yaml::spot_of(file, d)));
    for (name, value) in &doc.vars {
        let name_spot = yaml::spot_of(file, name);
        if !is_identifier(&name.value) {
            return Err(
                Diagnostic::new(format!("invalid variable name `{}`", name.value))
                    .at(name_spot)
                    .help("variable names are letters, digits and `_`, not starting with a digit")
                    .into(),
            );
        }
        let spot = yaml::spot_of(file, value);
        let predicates = assert::parse_json_predicates(&value.value).map_err(|e| {
            spec_error(
                e,
                spot,
                &format!("invalid assertion on variable `{}`", name.value),
            )
        })?;
        checks
            .vars
            .push((name.value.clone(), predicates, name_spot));
    }
    Ok(checks)
}

fn capture(
    file: &Arc<SourceFile>,
    name: &Spanned<String>,
    source: &Spanned<Value>,
) -> Result<Capture> {
    let spot = yaml::spot_of(file, source);
    let name_spot = yaml::spot_of(file, name);
    if !is_identifier(&name.value) {
        return Err(Diagnostic::new(format!("invalid capture name `{}`", name.value))
            .at(name_spot)
            .help("a capture becomes a template variable: use letters, digits and `_`, not starting with a digit")
            .into());
    }
    let bad = || {
        Diagnostic::new(format!("invalid capture `{}`", name.value))
            .at(spot.clone())
            .help("write a JSONPath (`$.access_token`), `{ json: $.access_token }`, `{ header: Location }` or `{ value: VALUE }`, with `default: VALUE` beside `json` or `header` for an optional value")
    };
    let (source, default) = match &source.value {
        Value::String(path) => (CaptureSource::Json(parse_capture_path(path, &spot)?), None),
        Value::Object(map) => {
            let default = map.get("default").cloned();
            let mut sources = map.iter().filter(|(key, _)| *key != "default");
            let source = match (sources.next(), sources.next()) {
                (Some((kind, Value::String(arg))), None) if kind == "json" => {
                    CaptureSource::Json(parse_capture_path(arg, &spot)?)
                }
                (Some((kind, Value::String(arg))), None) if kind == "header" => {
                    CaptureSource::Header(arg.clone())
                }
                (Some((kind, value)), None) if kind == "value" && default.is_none() => {
                    CaptureSource::Value(value.clone())
                }
                _ => return Err(bad().into()),
            };
            (source, default)
        }
        _ => return Err(bad().into()),
    };
    Ok(Capture {
        name: name.value.clone(),
        source,
        default,
        optional: false,
        spot: name_spot,
    })
}

fn parse_capture_path(path: &str, spot: &Spot) -> Result<Query> {
    Query::parse(path).map_err(|e| {
        Diagnostic::new(e.message)
            .at(spot.narrow_to(path))
            .label("not an RFC 9535 JSONPath")
            .maybe_help(e.help)
            .into()
    })
}

pub(crate) fn is_identifier(name: &str) -> bool {
    let mut chars = name.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

fn poll(file: &Arc<SourceFile>, written: &Spanned<PollDoc>) -> Result<Poll> {
    let spot = yaml::spot_of(file, written);
    let times = &written.value.times;
    if !(2..=MOST_TRIES).contains(&times.value) {
        return Err(Diagnostic::new(format!("invalid `times: {}`", times.value))
            .at(yaml::spot_of(file, times))
            .label(format!("between 2 and {MOST_TRIES}"))
            .help("`times` counts every send, the first included: `times: 10` sends at most ten times")
            .into());
    }
    let interval = match &written.value.interval {
        Some(i) => parse_duration(i, yaml::spot_of(file, i), "poll interval")?,
        None => Duration::from_secs(1),
    };
    Ok(Poll {
        times: times.value,
        interval,
        idempotent: written.value.idempotent,
        spot,
    })
}

/// `timeout: 10s`, `timeout: 500ms` or `timeout: 10` (seconds).
fn parse_timeout(value: &Spanned<Text>, spot: Spot) -> Result<Duration> {
    parse_duration(value, spot, "timeout")
}

/// A duration written as seconds (`10`, `2.5`) or with a unit (`10s`, `500ms`, `1m`).
pub(super) fn parse_duration(value: &Spanned<Text>, spot: Spot, what: &str) -> Result<Duration> {
    let text = value.value.0.trim();
    let parsed = match text.parse::<f64>() {
        Ok(secs) if secs.is_finite() && secs > 0.0 => Ok(Duration::from_secs_f64(secs)),
        Ok(_) => Err(format!("a {what} must be positive")),
        Err(_) => humantime::parse_duration(text).map_err(|e| e.to_string()),
    };
    parsed.map_err(|reason| {
        Diagnostic::new(format!(
            "invalid {what} `{text}`: {}",
            reason.to_lowercase()
        ))
        .at(spot)
        .help("write seconds (`10`) or a duration (`10s`, `500ms`, `1m`)")
        .into()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn load(text: &str) -> Result<Request> {
        load_request(&SourceFile::new("r.yaml", text))
    }

    #[test]
    fn a_full_request_loads() {
        let r = load(
            "name: Refresh\ntags: [smoke]\nmethod: post\nurl: \"{{ base_url }}/oauth/token\"\n\
             auth:\n  basic: { username: \"{{ ClientID }}\", password: \"{{ ClientSecret }}\" }\n\
             form:\n  grant_type: refresh_token\nassert:\n  status: 200\n  json:\n    $.token_type: bearer\n\
             capture:\n  refresh_token: $.refresh_token\ntimeout: 5s\n",
        )
        .unwrap();
        assert_eq!(r.method, "POST");
        assert!(matches!(r.body, Some(Body::Form(ref f)) if f[0].0 == "grant_type"));
        assert_eq!(r.checks.json.len(), 1);
        assert_eq!(r.timeout, Some(Duration::from_secs(5)));
        assert_eq!(r.url.spot.position(), "r.yaml:4:6");
    }

    #[test]
    fn a_capture_may_have_a_default() {
        let r = load(
            "name: a\nmethod: GET\nurl: u\ncapture:\n  api_url: { json: $.api_url, default: \"https://api.zoom.us\" }\n  id: $.id\n",
        )
        .unwrap();
        assert_eq!(
            r.captures[0].default,
            Some(Value::from("https://api.zoom.us"))
        );
        assert_eq!(r.captures[1].default, None);
        let e = load("name: a\nmethod: GET\nurl: u\ncapture:\n  a: { default: x }\n").unwrap_err();
        assert!(e.to_string().contains("invalid capture `a`"), "{e}");
        let e = load("name: a\nmethod: GET\nurl: u\ncapture:\n  a: { json: $.a, header: B }\n")
            .unwrap_err();
        assert!(e.to_string().contains("invalid capture `a`"), "{e}");
    }

    #[test]
    fn two_bodies_are_refused() {
        let e = load("name: a\nmethod: POST\nurl: u\nform: {a: b}\njson: {a: b}\n").unwrap_err();
        assert!(e.to_string().contains("at most one body"), "{e}");
    }

    #[test]
    fn unknown_method_suggests_one() {
        let e = load("name: a\nmethod: PSOT\nurl: u\n").unwrap_err();
        let text = e.to_string();
        assert!(
            text.contains("unknown HTTP method `PSOT`") && text.contains("did you mean `POST`?"),
            "{text}"
        );
    }

    #[test]
    fn bad_jsonpath_points_at_the_key() {
        let e = load("name: a\nmethod: GET\nurl: u\nassert:\n  json:\n    $.a[: 1\n").unwrap_err();
        let text = e.to_string();
        assert!(
            text.contains("invalid JSONPath `$.a[`") && text.contains("r.yaml:6:5"),
            "{text}"
        );
    }

    #[test]
    fn bad_timeout_is_explained() {
        let e = load("name: a\nmethod: GET\nurl: u\ntimeout: soon\n").unwrap_err();
        assert!(e.to_string().contains("invalid timeout `soon`"), "{e}");
    }
}
