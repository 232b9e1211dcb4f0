//! One Postman request as a courier request file.
//!
//! Each part (URL, headers, auth, body, scripts) is converted on its own and yields the
//! entries of the file plus notes on what could not be carried over. The request's YAML keys come
//! out in the README's order: name, description, method, url, headers, query, auth, body,
//! redirects, assert, capture, then the comments.

use std::collections::HashSet;
use std::sync::LazyLock;

use indexmap::IndexMap;
use regex::Regex;
use serde_json::{Map, Value, json};

use super::format::{self as postman, Auth, Body, Headers, Item, KeyValue, Url};
use super::names::{Names, Piece, pieces};
use super::scripts::{self, Asserts};
use crate::import::yaml::Entry;

const METHODS: [&str; 8] = [
    "GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS", "TRACE",
];

/// What the conversion of one request needs from the whole collection.
#[derive(Default)]
pub(super) struct Context {
    pub names: Names,
    /// The collection's `variables:` (courier names); path variables are added here.
    pub collection_vars: IndexMap<String, Value>,
    /// Names captured by some request's converted test script.
    pub captured: HashSet<String>,
    /// Each variable a pre-request script sets to a value written in it.
    pub pre_sets: Vec<PreSet>,
    /// Names a request uses that no request before it captures (Newman sends them as
    /// `{{name}}` there, even when a later capture defines them).
    pub used_before_capture: HashSet<String>,
    /// Names some request unsets.
    pub unset: HashSet<String>,
}

/// `pm.environment.set("var", "value")` in a request's pre-request script.
pub(super) struct PreSet {
    pub request: String,
    /// The courier name.
    pub var: String,
    pub value: Value,
    /// A request before this one captures the name.
    pub captured_earlier: bool,
}

/// A converted request: its file's entries and what was not carried over.
pub(super) struct Converted {
    pub entries: Vec<Entry>,
    pub notes: Vec<String>,
}

/// Converts a request named `name` (already unique in the collection). `Err` is the reason it
/// cannot be imported at all.
pub(super) fn convert(
    ctx: &mut Context,
    name: &str,
    item: &Item,
    request: &postman::RequestOrUrl,
    inherited_auth: Option<&Auth>,
) -> Result<Converted, String> {
    let captured_before = ctx.captured.clone();
    ctx.names.current.clear();
    let converted = convert_request(ctx, name, item, request, inherited_auth);
    let uncaptured = ctx
        .names
        .current
        .iter()
        .filter(|n| !captured_before.contains(*n))
        .cloned()
        .collect::<Vec<_>>();
    ctx.used_before_capture.extend(uncaptured);
    converted
}

fn convert_request(
    ctx: &mut Context,
    name: &str,
    item: &Item,
    request: &postman::RequestOrUrl,
    inherited_auth: Option<&Auth>,
) -> Result<Converted, String> {
    let empty = postman::Request::default();
    let (request, string_url) = match request {
        postman::RequestOrUrl::Url(url) => (&empty, Some(Url::Text(url.clone()))),
        postman::RequestOrUrl::Request(r) => (r.as_ref(), None),
    };
    let method = request
        .method
        .as_deref()
        .unwrap_or("GET")
        .trim()
        .to_ascii_uppercase();
    if !METHODS.contains(&method.as_str()) {
        return Err(format!(
            "method `{method}` is not one courier sends: request left out"
        ));
    }
    let mut r = RequestFile::default();
    let url = url(ctx, string_url.as_ref().or(request.url.as_ref()), &mut r);
    headers(ctx, request.header.as_ref(), &mut r);
    let auth = match &request.auth {
        Some(own) if !own.inherits() => Some(own),
        _ => inherited_auth,
    };
    if let Some(auth) = auth {
        convert_auth(ctx, auth, &mut r);
    }
    let prunes_body = matches!(method.as_str(), "GET" | "HEAD")
        && !behaviour(item, "disableBodyPruning").is_some_and(|v| v == &Value::Bool(true));
    if let Some(body) = request.body.as_ref().filter(|b| b.disabled != Some(true)) {
        if prunes_body {
            if body_has_content(body) {
                r.notes.push(format!(
                    "{method} body left out (Postman does not send it either)"
                ));
            }
        } else {
            convert_body(ctx, body, &mut r);
        }
    }
    redirects(item, &mut r);
    events(ctx, name, item, &mut r);
    let description = request
        .description
        .as_ref()
        .or(item.description.as_ref())
        .and_then(|d| d.text());
    Ok(r.finish(name, description, &method, url))
}

/// The parts of a request file as they are gathered.
#[derive(Default)]
struct RequestFile {
    headers: Map<String, Value>,
    query: Vec<(String, String)>,
    /// Query text kept in the URL (after `?`), when `query:` cannot express the parameters.
    query_in_url: Option<String>,
    auth: Option<Value>,
    auth_comment: Vec<String>,
    body: Option<(String, Value)>,
    body_comment: Vec<String>,
    redirects: Option<u64>,
    asserts: Asserts,
    captures: IndexMap<String, Value>,
    unset: Vec<String>,
    comments: Vec<Vec<String>>,
    notes: Vec<String>,
}

impl RequestFile {
    fn finish(
        mut self,
        name: &str,
        description: Option<&str>,
        method: &str,
        url: String,
    ) -> Converted {
        let mut entries = vec![Entry::Field("name".into(), name.into())];
        if let Some(d) = description {
            entries.push(Entry::Field("description".into(), d.into()));
        }
        entries.push(Entry::Field("method".into(), method.into()));
        let url = match self.query_in_url.take() {
            Some(q) if url.contains('?') => format!("{url}&{q}"),
            Some(q) => format!("{url}?{q}"),
            None => url,
        };
        entries.push(Entry::Field("url".into(), url.into()));
        if !self.headers.is_empty() {
            entries.push(Entry::Field("headers".into(), Value::Object(self.headers)));
        }
        if !self.query.is_empty() {
            let query = self
                .query
                .into_iter()
                .map(|(k, v)| (k, Value::String(v)))
                .collect();
            entries.push(Entry::Field("query".into(), Value::Object(query)));
        }
        if let Some(auth) = self.auth {
            entries.push(Entry::Field("auth".into(), auth));
        }
        if !self.auth_comment.is_empty() {
            entries.push(Entry::Comment(self.auth_comment));
        }
        if let Some((kind, body)) = self.body {
            entries.push(Entry::Field(kind, body));
        }
        if !self.body_comment.is_empty() {
            entries.push(Entry::Comment(self.body_comment));
        }
        if let Some(n) = self.redirects {
            entries.push(Entry::Field("redirects".into(), n.into()));
        }
        if !self.asserts.is_empty() {
            entries.push(Entry::Field("assert".into(), self.asserts.to_value()));
        }
        if !self.captures.is_empty() {
            let captures = self.captures.into_iter().collect();
            entries.push(Entry::Field("capture".into(), Value::Object(captures)));
        }
        if !self.unset.is_empty() {
            let names = self.unset.into_iter().map(Value::String).collect();
            entries.push(Entry::Field("unset".into(), Value::Array(names)));
        }
        for comment in self.comments {
            entries.push(Entry::Comment(comment));
        }
        Converted {
            entries,
            notes: self.notes,
        }
    }
}

// ---------------------------------------------------------------------------------------------
// URL and query

/// The URL template; query parameters go to `r.query` (or stay in the URL).
fn url(ctx: &mut Context, url: Option<&Url>, r: &mut RequestFile) -> String {
    let (base, params, variables): (String, Option<Vec<&KeyValue>>, &[KeyValue]) = match url {
        None => (String::new(), None, &[]),
        Some(Url::Text(text)) => (text.clone(), None, &[]),
        Some(Url::Parts(parts)) => {
            let listed: Vec<&KeyValue> = parts.query.iter().filter(|q| q.is_enabled()).collect();
            let base = match &parts.host {
                Some(host) => assemble(parts, host),
                None => parts.raw.clone().unwrap_or_default(),
            };
            if parts.host.is_some() || !parts.query.is_empty() {
                // The list is the truth; the raw text may hold disabled parameters too.
                (
                    strip_query(&base).to_string(),
                    Some(listed),
                    &parts.variable,
                )
            } else {
                (base, None, &parts.variable)
            }
        }
    };
    let base = with_scheme(&base);
    let template = path_template(ctx, &base, variables);
    if let Some(params) = params {
        query(ctx, &params, r);
    }
    template
}

/// `protocol://host:port/path` from the parts of a structured URL.
fn assemble(parts: &postman::UrlParts, host: &Value) -> String {
    let join = |v: &Value, sep: &str| match v {
        Value::Array(items) => items
            .iter()
            .filter_map(|i| match i {
                Value::Object(o) => o.get("value").and_then(postman::value_text),
                other => postman::value_text(other),
            })
            .collect::<Vec<_>>()
            .join(sep),
        other => postman::value_text(other).unwrap_or_default(),
    };
    let mut out = String::new();
    if let Some(protocol) = parts.protocol.as_deref().filter(|p| !p.is_empty()) {
        out.push_str(protocol.trim_end_matches("://"));
        out.push_str("://");
    }
    out.push_str(&join(host, "."));
    if let Some(port) = parts.port.as_ref().and_then(postman::value_text) {
        out.push(':');
        out.push_str(&port);
    }
    if let Some(path) = &parts.path {
        let path = join(path, "/");
        if !path.is_empty() {
            if !path.starts_with('/') {
                out.push('/');
            }
            out.push_str(&path);
        }
    }
    out
}

fn strip_query(url: &str) -> &str {
    url.split_once('?').map_or(url, |(base, _)| base)
}

/// Postman sends `example.com/x` as `http://example.com/x`; a URL starting with a variable is
/// left alone (the variable usually holds the scheme).
fn with_scheme(url: &str) -> String {
    let url = url.trim();
    if url.is_empty() || url.starts_with("{{") || url.contains("://") {
        url.to_string()
    } else {
        format!("http://{url}")
    }
}

/// Converts the URL, turning `/:name` path segments that have an entry in `url.variable` into
/// variables (Postman leaves a segment without an entry as it is). A literal value becomes a
/// collection variable, unless the collection already gives that name another value; a value
/// that is itself a template is written in place.
fn path_template(ctx: &mut Context, url: &str, variables: &[KeyValue]) -> String {
    static SEGMENT: LazyLock<Regex> =
        LazyLock::new(|| Regex::new(r"/:([^/?#]+)").expect("a valid regex"));
    if variables.is_empty() {
        return ctx.names.template(url);
    }
    // Only the path: `host:8080` is a port, and the query may hold `:` too.
    let after_scheme = url.find("://").map_or(0, |i| i + 3);
    let path_start = url[after_scheme..]
        .find('/')
        .map_or(url.len(), |i| after_scheme + i);
    let path_end = url[path_start..]
        .find(['?', '#'])
        .map_or(url.len(), |i| path_start + i);
    let mut out = String::new();
    let mut last = 0;
    for m in SEGMENT.captures_iter(&url[path_start..path_end]) {
        let (whole, name) = (m.get(0).expect("group 0"), &m[1]);
        let Some(variable) = variables.iter().find(|v| v.name() == Some(name)) else {
            continue;
        };
        let start = path_start + whole.start();
        out.push_str(&ctx.names.template(&url[last..=start]));
        out.push_str(&path_variable(ctx, variable));
        last = path_start + whole.end();
    }
    out.push_str(&ctx.names.template(&url[last..]));
    out
}

fn path_variable(ctx: &mut Context, variable: &KeyValue) -> String {
    let value = variable.text().unwrap_or_default();
    if value.contains("{{") {
        return ctx.names.template(&value);
    }
    let name = ctx.names.courier(variable.name().unwrap_or_default());
    if !value.is_empty() {
        let value = ctx.names.template(&value);
        match ctx.collection_vars.get(&name) {
            None => {
                ctx.collection_vars
                    .insert(name.clone(), Value::String(value));
            }
            Some(existing) if existing.as_str() == Some(value.as_str()) => {}
            // Another request (or the collection) gives the name another value: this request's
            // value is written in place, as Postman would send it.
            Some(_) => return value,
        }
    }
    format!("{{{{ {name} }}}}")
}

/// `query:` when it says exactly what Postman sends; otherwise the parameters stay in the URL as
/// written. courier percent-encodes `query:` values, so text already encoded (`%20`, `+`), a
/// name given twice, a name that is a variable or a parameter without `=` stays in the URL.
fn query(ctx: &mut Context, params: &[&KeyValue], r: &mut RequestFile) {
    if params.is_empty() {
        return;
    }
    let mut seen = HashSet::new();
    let fits = params.iter().all(|p| {
        let key = p.name().unwrap_or_default();
        let value = p.text();
        !key.is_empty()
            && seen.insert(key.to_string())
            && !key.contains(['%', '+', '{', '}', '&', '=', '#'])
            && value
                .as_deref()
                .is_some_and(|v| !v.contains(['%', '+', '&', '#']))
    });
    if fits {
        for p in params {
            let value = ctx.names.template(&p.text().unwrap_or_default());
            r.query
                .push((p.name().unwrap_or_default().to_string(), value));
        }
        return;
    }
    let text = params
        .iter()
        .map(|p| {
            let key = ctx.names.template(p.name().unwrap_or_default());
            match p.text() {
                Some(v) => format!("{key}={}", ctx.names.template(&v)),
                None => key,
            }
        })
        .collect::<Vec<_>>()
        .join("&");
    r.query_in_url = Some(text);
}

// ---------------------------------------------------------------------------------------------
// Headers

fn headers(ctx: &mut Context, headers: Option<&Headers>, r: &mut RequestFile) {
    let list: Vec<(String, String)> = match headers {
        None => Vec::new(),
        Some(Headers::List(list)) => list
            .iter()
            .filter(|h| h.is_enabled())
            .filter_map(|h| Some((h.name()?.trim().to_string(), h.text().unwrap_or_default())))
            .collect(),
        // v2.0's `"Name: value\n…"`; Postman marks disabled lines with `//`.
        Some(Headers::Text(text)) => text
            .lines()
            .filter(|l| !l.trim_start().starts_with("//"))
            .filter_map(|l| l.split_once(':'))
            .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
            .collect(),
    };
    for (name, value) in list {
        if name.is_empty() {
            continue;
        }
        if !is_header_name(&name) {
            r.notes.push(format!(
                "header `{name}` left out: courier header names are letters, digits and `-` (no variables)"
            ));
            continue;
        }
        add_header(r, &name, ctx.names.template(&value));
    }
}

/// A header given twice is sent once with both values, as HTTP allows (`; ` for cookies).
fn add_header(r: &mut RequestFile, name: &str, value: String) {
    let existing = r
        .headers
        .iter_mut()
        .find(|(k, _)| k.eq_ignore_ascii_case(name));
    match existing {
        Some((k, Value::String(v))) => {
            let separator = if k.eq_ignore_ascii_case("cookie") {
                "; "
            } else {
                ", "
            };
            v.push_str(separator);
            v.push_str(&value);
        }
        _ => {
            r.headers.insert(name.to_string(), Value::String(value));
        }
    }
}

fn remove_header(r: &mut RequestFile, name: &str) {
    r.headers.retain(|k, _| !k.eq_ignore_ascii_case(name));
}

/// Postman's auth helpers replace an `Authorization` header the request sets itself; courier
/// would send both, so the header goes.
fn set_auth(r: &mut RequestFile, auth: Value) {
    remove_header(r, "Authorization");
    r.auth = Some(auth);
}

fn header<'a>(r: &'a RequestFile, name: &str) -> Option<&'a str> {
    r.headers
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(name))
        .and_then(|(_, v)| v.as_str())
}

/// The same rule courier's loader applies (RFC 9110 token characters).
fn is_header_name(name: &str) -> bool {
    !name.is_empty()
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b))
}

// ---------------------------------------------------------------------------------------------
// Auth

fn convert_auth(ctx: &mut Context, auth: &Auth, r: &mut RequestFile) {
    let mut attr = |name: &str| auth.attribute(name).map(|v| ctx.names.template(&v));
    match auth.kind() {
        "noauth" => {}
        "basic" => {
            let username = attr("username").unwrap_or_default();
            let password = attr("password").unwrap_or_default();
            set_auth(
                r,
                json!({ "basic": { "username": username, "password": password } }),
            );
        }
        "digest" => {
            // Postman may hold a realm and nonce from a challenge it saw once; courier answers
            // the server's challenge of the moment.
            let username = attr("username").unwrap_or_default();
            let password = attr("password").unwrap_or_default();
            set_auth(
                r,
                json!({ "digest": { "username": username, "password": password } }),
            );
        }
        "bearer" => {
            let token = attr("token").unwrap_or_default();
            set_auth(r, json!({ "bearer": token }));
        }
        "apikey" => {
            let key = auth.attribute("key").unwrap_or_default();
            let value = attr("value").unwrap_or_default();
            let in_query = auth.attribute("in").as_deref() == Some("query");
            if key.is_empty() {
                r.notes
                    .push("API key auth has no key name: left out".into());
            } else if in_query {
                if r.query_in_url.is_some() || r.query.iter().any(|(k, _)| *k == key) {
                    let param = format!("{}={value}", ctx.names.template(&key));
                    r.query_in_url = Some(match r.query_in_url.take() {
                        Some(q) => format!("{q}&{param}"),
                        None => param,
                    });
                } else {
                    r.query.push((key, value));
                }
            } else if is_header_name(&key) {
                remove_header(r, &key);
                add_header(r, &key, value);
            } else {
                r.notes.push(format!(
                    "API key header `{key}` is not a valid header name: left out"
                ));
            }
        }
        "oauth1" => oauth1(ctx, auth, r),
        "oauth2" => oauth2(ctx, auth, r),
        other => {
            r.auth_comment.push(format!(
                "postman auth `{other}` (not converted: courier sends basic, digest, oauth1, bearer and oauth2 auth)"
            ));
            r.notes.push(format!(
                "{other} auth not converted (courier has basic, digest, oauth1, bearer and oauth2)"
            ));
        }
    }
}

/// Postman's OAuth 2.0 becomes courier's `oauth2` auth when courier can run its grant: client
/// credentials as they are, an authorization code (or PKCE) as the refresh of the token it gave,
/// which the user supplies once. A client secret written in the export is never copied: it is
/// read from `COURIER_POSTMAN_CLIENT_SECRET`. Other grants (implicit, password) keep their
/// settings as a comment and send the token variable as a bearer token, when one is apparent.
/// Postman's OAuth 1.0 signs as courier's `oauth1` does, with HMAC or PLAINTEXT. A timestamp
/// or nonce written in the export is kept: Postman sends it as it is.
fn oauth1(ctx: &mut Context, auth: &Auth, r: &mut RequestFile) {
    let method = auth
        .attribute("signatureMethod")
        .unwrap_or_else(|| "HMAC-SHA1".into());
    if !matches!(
        method.as_str(),
        "HMAC-SHA1" | "HMAC-SHA256" | "HMAC-SHA512" | "PLAINTEXT"
    ) {
        r.auth_comment.push(format!(
            "postman auth `oauth1` signed with {method} (not converted: courier signs with HMAC-SHA1, HMAC-SHA256, HMAC-SHA512 and PLAINTEXT)"
        ));
        r.notes.push(format!(
            "oauth1 auth signed with {method} not converted (courier signs with HMAC and PLAINTEXT)"
        ));
        return;
    }
    let mut converted = serde_json::Map::new();
    let fields = [
        ("consumerKey", "consumer_key"),
        ("consumerSecret", "consumer_secret"),
        ("token", "token"),
        ("tokenSecret", "token_secret"),
        ("realm", "realm"),
        ("timestamp", "timestamp"),
        ("timeStamp", "timestamp"),
        ("nonce", "nonce"),
    ];
    for (postman, courier) in fields {
        let value = auth.attribute(postman).unwrap_or_default();
        let required = matches!(courier, "consumer_key" | "consumer_secret");
        if required || !value.is_empty() {
            converted.insert(courier.into(), ctx.names.template(&value).into());
        }
    }
    if method != "HMAC-SHA1" {
        converted.insert("signature_method".into(), method.into());
    }
    if auth.attribute("addParamsToHeader").as_deref() == Some("false") {
        // Postman puts them in a form body when there is one; courier always in the URL.
        converted.insert("in".into(), "query".into());
    }
    for (field, what) in [
        ("includeBodyHash", "body hash (`oauth_body_hash`)"),
        ("callback", "`oauth_callback`"),
        ("verifier", "`oauth_verifier`"),
    ] {
        let value = auth.attribute(field).unwrap_or_default();
        if !value.is_empty() && value != "false" {
            r.notes.push(format!("oauth1: courier sends no {what}"));
        }
    }
    set_auth(r, json!({ "oauth1": converted }));
}

fn oauth2(ctx: &mut Context, auth: &Auth, r: &mut RequestFile) {
    if let Some(converted) = oauth2_auth(ctx, auth, r) {
        set_auth(r, json!({ "oauth2": converted }));
        return;
    }
    let mut comment = vec![
        "postman auth `oauth2` (not converted: courier runs the client_credentials and refresh_token grants only; fetch the token with a request of its own and capture it)".to_string(),
    ];
    for field in [
        "grant_type",
        "accessTokenUrl",
        "authUrl",
        "clientId",
        "scope",
    ] {
        if let Some(v) = auth.attribute(field).filter(|v| !v.is_empty()) {
            comment.push(format!("  {field}: {v}"));
        }
    }
    let token = auth.attribute("accessToken").unwrap_or_default();
    let variable = match pieces(token.trim()).as_slice() {
        [Piece::Var(name)] if ctx.names.is_variable(name) => Some(ctx.names.courier(name)),
        _ => ["access_token", "accessToken"]
            .into_iter()
            .find(|n| ctx.names.is_defined(n))
            .map(|n| ctx.names.courier(n)),
    };
    if let Some(var) = &variable {
        ctx.names.used.insert(var.clone());
    }
    let prefix = auth
        .attribute("headerPrefix")
        .filter(|p| !p.trim().is_empty())
        .unwrap_or_else(|| "Bearer".into());
    let in_query = auth.attribute("addTokenTo").as_deref() == Some("queryParams");
    match &variable {
        Some(var) if in_query => {
            r.query
                .push(("access_token".into(), format!("{{{{ {var} }}}}")));
            comment.push(format!(
                "the token is sent from `{var}` as the access_token parameter"
            ));
        }
        Some(var) if prefix.eq_ignore_ascii_case("bearer") => {
            set_auth(r, json!({ "bearer": format!("{{{{ {var} }}}}") }));
            comment.push(format!("the token is sent from `{var}` as a bearer token"));
        }
        Some(var) => {
            remove_header(r, "Authorization");
            add_header(r, "Authorization", format!("{prefix} {{{{ {var} }}}}"));
            comment.push(format!(
                "the token is sent from `{var}` in the Authorization header"
            ));
        }
        None => comment.push("no variable holding the token was found: no token is sent".into()),
    }
    r.notes.push(match variable {
        Some(_) => "OAuth 2.0 auth not converted (kept as a comment; the token variable is sent as a bearer token)".into(),
        None => "OAuth 2.0 auth not converted (kept as a comment; no token is sent)".into(),
    });
    r.auth_comment = comment;
}

/// The `oauth2:` settings for a Postman OAuth 2.0 auth whose grant courier runs, with a note
/// on what the user must supply; `None` for a grant courier cannot run.
fn oauth2_auth(ctx: &mut Context, auth: &Auth, r: &mut RequestFile) -> Option<Value> {
    let grant = auth
        .attribute("grant_type")
        .unwrap_or_else(|| "authorization_code".into());
    let refreshes = matches!(
        grant.as_str(),
        "authorization_code" | "authorization_code_with_pkce"
    );
    if grant != "client_credentials" && !refreshes {
        return None;
    }
    let token_url = auth
        .attribute(if refreshes {
            "refreshTokenUrl"
        } else {
            "accessTokenUrl"
        })
        .filter(|u| !u.is_empty())
        .or_else(|| auth.attribute("accessTokenUrl"))
        .filter(|u| !u.is_empty())?;
    let mut settings = serde_json::Map::new();
    let grant_name = if refreshes {
        "refresh_token"
    } else {
        "client_credentials"
    };
    settings.insert("grant".into(), json!(grant_name));
    settings.insert("token_url".into(), json!(ctx.names.template(&token_url)));
    let client_id = auth.attribute("clientId").unwrap_or_default();
    settings.insert("client_id".into(), json!(ctx.names.template(&client_id)));
    let secret = auth.attribute("clientSecret").unwrap_or_default();
    let secret = match pieces(secret.trim()).as_slice() {
        [Piece::Var(_)] => ctx.names.template(secret.trim()),
        _ => {
            r.notes.push(
                "OAuth 2.0 client secret read from COURIER_POSTMAN_CLIENT_SECRET (the export's value is not copied)".into(),
            );
            "{{ env('COURIER_POSTMAN_CLIENT_SECRET') }}".into()
        }
    };
    settings.insert("client_secret".into(), json!(secret));
    if auth.attribute("client_authentication").as_deref() == Some("body") {
        settings.insert("client_auth".into(), json!("body"));
    }
    if refreshes {
        let name = ctx.names.courier("refresh_token");
        if !ctx.names.is_defined("refresh_token") && !ctx.collection_vars.contains_key(&name) {
            ctx.collection_vars.insert(
                name.clone(),
                json!("{{ env('COURIER_POSTMAN_REFRESH_TOKEN') }}"),
            );
        }
        ctx.names.used.insert(name.clone());
        settings.insert("refresh_token".into(), json!(format!("{{{{ {name} }}}}")));
        r.notes.push(format!(
            "OAuth 2.0 {grant}: courier cannot open the browser step; authorize once and give the refresh token as `{name}` (COURIER_POSTMAN_REFRESH_TOKEN by default): courier refreshes and keeps it from then on"
        ));
    } else {
        r.notes
            .push("OAuth 2.0 client_credentials: converted to auth oauth2".into());
    }
    if let Some(scope) = auth.attribute("scope").filter(|s| !s.trim().is_empty()) {
        settings.insert("scope".into(), json!(ctx.names.template(&scope)));
    }
    Some(Value::Object(settings))
}

// ---------------------------------------------------------------------------------------------
// Body

fn body_has_content(body: &Body) -> bool {
    match body.mode.as_deref() {
        Some("raw") => body.raw.as_deref().is_some_and(|t| !t.is_empty()),
        Some("urlencoded") => body.urlencoded.iter().any(KeyValue::is_enabled),
        Some("formdata") => body.formdata.iter().any(KeyValue::is_enabled),
        Some("file") => body.file.is_some(),
        Some("graphql") => body.graphql.is_some(),
        _ => false,
    }
}

fn convert_body(ctx: &mut Context, body: &Body, r: &mut RequestFile) {
    match body.mode.as_deref() {
        Some("raw") => raw_body(ctx, body, r),
        Some("urlencoded") => {
            let fields: Vec<&KeyValue> =
                body.urlencoded.iter().filter(|f| f.is_enabled()).collect();
            form_body(ctx, &fields, r);
        }
        Some("formdata") => form_data(ctx, body, r),
        Some("graphql") => graphql(ctx, body, r),
        Some("file") => {
            r.body_comment.push(
                "postman body: a file (not converted: courier sends text bodies only)".into(),
            );
            r.notes.push("binary file body not converted".into());
        }
        _ => {}
    }
}

fn raw_body(ctx: &mut Context, body: &Body, r: &mut RequestFile) {
    let text = body.raw.clone().unwrap_or_default();
    if text.is_empty() {
        return;
    }
    let language = body.raw_language();
    let header_type = header(r, "content-type").map(str::to_string);
    let says_json = language == Some("json")
        || header_type
            .as_deref()
            .is_some_and(|t| t.to_ascii_lowercase().contains("json"));
    let parsed = serde_json::from_str::<Value>(&text).ok();
    if let Some(value) = parsed.filter(|v| says_json || v.is_object() || v.is_array())
        && faithful_json(&value, &text)
        && let Some(json) = json_template(ctx, &value)
    {
        r.body = Some(("json".into(), json));
        return;
    }
    let content_type = header_type
        .filter(|t| !t.contains("{{"))
        .unwrap_or_else(|| language_type(language).into());
    r.body = Some((
        "body".into(),
        json!({ "content_type": content_type, "text": ctx.names.template(&text) }),
    ));
}

/// courier re-serializes a `json:` body; that is only the same document when every number reads
/// back as written (serde_json turns integers beyond 64 bits and long decimals into floats).
fn faithful_json(value: &Value, text: &str) -> bool {
    match value {
        Value::Number(n) => n.is_i64() || n.is_u64() || text.contains(&n.to_string()),
        Value::Array(items) => items.iter().all(|v| faithful_json(v, text)),
        Value::Object(map) => map.values().all(|v| faithful_json(v, text)),
        _ => true,
    }
}

/// The JSON with its strings as templates; `None` when a key holds a variable (courier does
/// not template keys, so the raw text is kept instead).
fn json_template(ctx: &mut Context, value: &Value) -> Option<Value> {
    Some(match value {
        Value::String(s) => Value::String(ctx.names.template(s)),
        Value::Array(items) => Value::Array(
            items
                .iter()
                .map(|v| json_template(ctx, v))
                .collect::<Option<_>>()?,
        ),
        Value::Object(map) => {
            let mut out = Map::with_capacity(map.len());
            for (k, v) in map {
                if k.contains("{{") || k.contains("{%") || k.contains("{#") {
                    return None;
                }
                out.insert(k.clone(), json_template(ctx, v)?);
            }
            Value::Object(out)
        }
        other => other.clone(),
    })
}

fn language_type(language: Option<&str>) -> &'static str {
    match language {
        Some("json") => "application/json",
        Some("xml") => "application/xml",
        Some("html") => "text/html",
        Some("javascript") => "application/javascript",
        _ => "text/plain",
    }
}

/// `form:` unless a field name repeats or holds a variable, which a YAML map cannot express:
/// then the encoded text goes in a raw body, variables percent-encoded by `| urlencode`.
fn form_body(ctx: &mut Context, fields: &[&KeyValue], r: &mut RequestFile) {
    if fields.is_empty() {
        return;
    }
    let mut seen = HashSet::new();
    let fits = fields.iter().all(|f| {
        let key = f.name().unwrap_or_default();
        seen.insert(key.to_string()) && !key.contains("{{")
    });
    if fits {
        let form: Map<String, Value> = fields
            .iter()
            .map(|f| {
                let value = ctx.names.template(&f.text().unwrap_or_default());
                (
                    f.name().unwrap_or_default().to_string(),
                    Value::String(value),
                )
            })
            .collect();
        r.body = Some(("form".into(), Value::Object(form)));
        return;
    }
    let text = fields
        .iter()
        .map(|f| {
            let key = encoded(ctx, f.name().unwrap_or_default());
            format!("{key}={}", encoded(ctx, &f.text().unwrap_or_default()))
        })
        .collect::<Vec<_>>()
        .join("&");
    r.body = Some((
        "body".into(),
        json!({ "content_type": "application/x-www-form-urlencoded", "text": text }),
    ));
}

fn encoded(ctx: &mut Context, text: &str) -> String {
    ctx.names.template_with(
        text,
        |t| {
            serde_urlencoded::to_string([("", t)])
                .map_or_else(|_| t.to_string(), |s| s[1..].to_string())
        },
        " | urlencode",
    )
}

/// courier sends no multipart bodies. Text fields alone are sent urlencoded, which most servers
/// read the same way; with a file field nothing is sent (half a form would be a different
/// request) and the fields are kept as a comment.
fn form_data(ctx: &mut Context, body: &Body, r: &mut RequestFile) {
    let fields: Vec<&KeyValue> = body.formdata.iter().filter(|f| f.is_enabled()).collect();
    if fields.is_empty() {
        return;
    }
    let multipart_header =
        header(r, "content-type").is_some_and(|t| t.to_ascii_lowercase().starts_with("multipart/"));
    let files: Vec<&str> = fields
        .iter()
        .filter(|f| f.is_file())
        .map(|f| f.name().unwrap_or_default())
        .collect();
    if files.is_empty() {
        if multipart_header {
            remove_header(r, "content-type");
        }
        form_body(ctx, &fields, r);
        r.notes.push(
            "form-data body sent as application/x-www-form-urlencoded (courier has no multipart bodies)"
                .into(),
        );
        return;
    }
    r.body_comment.push(
        "postman form-data body (not converted: courier cannot send multipart/form-data or files):"
            .into(),
    );
    for f in &fields {
        let name = f.name().unwrap_or_default();
        r.body_comment.push(if f.is_file() {
            let src = f.src.as_ref().map(|s| s.to_string()).unwrap_or_default();
            format!("  {name}: <file {src}>")
        } else {
            format!("  {name}: {}", f.text().unwrap_or_default())
        });
    }
    for file in files {
        r.notes.push(format!(
            "form-data file field `{file}` not supported: body left out, fields kept as a comment"
        ));
    }
}

/// GraphQL goes over HTTP as a JSON body `{ query, variables }`.
fn graphql(ctx: &mut Context, body: &Body, r: &mut RequestFile) {
    let Some(gql) = &body.graphql else {
        return;
    };
    let query = gql.query.clone().unwrap_or_default();
    let variables = match &gql.variables {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) if s.trim().is_empty() => None,
        Some(Value::String(s)) => match serde_json::from_str::<Value>(s) {
            Ok(v) => Some(v),
            Err(_) => {
                // Variables such as `{ "id": {{id}} }` are not JSON until substituted.
                let text = format!(
                    "{{\"query\":{},\"variables\":{}}}",
                    ctx.names
                        .template(&serde_json::to_string(&query).unwrap_or_default()),
                    ctx.names.template(s)
                );
                r.body = Some((
                    "body".into(),
                    json!({ "content_type": "application/json", "text": text }),
                ));
                return;
            }
        },
        Some(other) => Some(other.clone()),
    };
    let mut doc = json!({ "query": query });
    if let Some(v) = variables {
        doc["variables"] = v;
    }
    match json_template(ctx, &doc) {
        Some(json) => r.body = Some(("json".into(), json)),
        None => r
            .notes
            .push("GraphQL variables with a variable as a key not converted".into()),
    }
}

// ---------------------------------------------------------------------------------------------
// Settings and scripts

fn behaviour<'a>(item: &'a Item, key: &str) -> Option<&'a Value> {
    item.protocol_profile_behavior.as_ref()?.get(key)
}

fn redirects(item: &Item, r: &mut RequestFile) {
    if behaviour(item, "followRedirects") == Some(&Value::Bool(false)) {
        r.redirects = Some(0);
    } else if let Some(n) = behaviour(item, "maxRedirects").and_then(Value::as_u64) {
        r.redirects = Some(n);
    }
    if behaviour(item, "strictSSL") == Some(&Value::Bool(false)) {
        r.notes.push(
            "TLS verification is off for this request in Postman: courier has `--insecure` for a whole run only"
                .into(),
        );
    }
}

fn events(ctx: &mut Context, name: &str, item: &Item, r: &mut RequestFile) {
    // The pre-request script runs first, whatever order the export lists the events in.
    let (pre, rest): (Vec<_>, Vec<_>) = item.event.iter().partition(|e| e.is("prerequest"));
    for event in pre.into_iter().chain(rest) {
        let Some(lines) = event.lines() else {
            continue;
        };
        if event.is("prerequest") {
            pre_request(ctx, name, &lines, r);
        } else if event.is("test") {
            let outcome = scripts::convert_test_script(
                &lines,
                &mut r.asserts,
                &mut r.captures,
                &mut ctx.names,
            );
            ctx.captured.extend(r.captures.keys().cloned());
            ctx.unset.extend(outcome.unset.iter().cloned());
            r.unset.extend(outcome.unset.iter().cloned());
            register_scoped_sets(ctx, &lines);
            if let Some(note) = outcome.note("test") {
                r.notes.push(note);
            }
            if let Some(comment) = outcome.comment {
                r.comments.push(comment);
            }
        }
    }
}

/// Remembers the scope of each name a script sets, for a later `clearEnvironmentVariables()`.
fn register_scoped_sets(ctx: &mut Context, lines: &[String]) {
    for (scope, name) in scripts::scoped_sets(&lines.join("\n")) {
        let courier = ctx.names.courier(&name);
        ctx.names.scoped.insert((scope, courier));
    }
}

/// A pre-request script that only sets variables to written values is carried over (see
/// `Importer::pre_request_sets`); any other is kept as a comment.
fn pre_request(ctx: &mut Context, name: &str, lines: &[String], r: &mut RequestFile) {
    register_scoped_sets(ctx, lines);
    let Some(sets) = scripts::pre_request_sets(&lines.join("\n")) else {
        // Checks on variables (`pm.expect(data.x).to.eql(…)`) read the values the request is
        // sent with, which is what courier's `vars:` checks read.
        let why = match scripts::pre_request_checks(lines, &mut r.asserts, &mut ctx.names) {
            Ok(outcome) => {
                r.notes.extend(outcome.note("pre-request"));
                r.comments.extend(outcome.comment);
                return;
            }
            Err(why) => why,
        };
        let mut comment = vec!["postman pre-request script (not converted):".to_string()];
        comment.extend(lines.iter().map(|l| format!("  {l}")));
        r.comments.push(comment);
        r.notes.push(why);
        let set = scripts::names_set(&lines.join("\n"));
        ctx.names.set_by_scripts.extend(set);
        return;
    };
    push_pre_sets(ctx, name, sets);
}

/// Keeps each written value a pre-request script of `owner` sets, for
/// `Importer::pre_request_sets`; returns their courier names.
pub(super) fn push_pre_sets(
    ctx: &mut Context,
    owner: &str,
    sets: Vec<(String, Value)>,
) -> Vec<String> {
    let mut names = Vec::with_capacity(sets.len());
    for (var, value) in sets {
        let var = ctx.names.courier(&var);
        let captured_earlier = ctx.captured.contains(&var);
        names.push(var.clone());
        ctx.pre_sets.push(PreSet {
            request: owner.to_string(),
            var,
            value,
            captured_earlier,
        });
    }
    names
}
