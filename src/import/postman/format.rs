//! The Postman collection (v2.0 and v2.1) and environment formats, as serde reads them.
//!
//! Exports in the wild are loose: fields are missing, `null`, a string where the schema says an
//! object (`"request": "https://…"`, `"url": "…"`, `"exec": "one line"`), `enabled: false` where
//! v2.1 writes `disabled: true`. Every field is optional here and the shapes that vary are enums
//! or plain JSON values read through small accessors, so any export Postman itself opens is read.

use indexmap::IndexMap;
use serde::{Deserialize, Deserializer};
use serde_json::Value;

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(super) struct Collection {
    pub info: Info,
    pub item: Vec<Item>,
    pub auth: Option<Auth>,
    #[serde(deserialize_with = "one_or_many")]
    pub event: Vec<Event>,
    pub variable: Vec<KeyValue>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(super) struct Info {
    pub name: Option<String>,
    pub description: Option<Description>,
    pub schema: Option<String>,
}

/// A folder (it has `item`) or a request.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(super) struct Item {
    pub name: Option<String>,
    pub description: Option<Description>,
    pub item: Option<Vec<Item>>,
    pub request: Option<RequestOrUrl>,
    #[serde(deserialize_with = "one_or_many")]
    pub event: Vec<Event>,
    /// A folder's auth, inherited by its requests.
    pub auth: Option<Auth>,
    #[serde(rename = "protocolProfileBehavior")]
    pub protocol_profile_behavior: Option<Value>,
}

#[derive(Debug, Deserialize)]
#[serde(untagged)]
pub(super) enum RequestOrUrl {
    Url(String),
    Request(Box<Request>),
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(super) struct Request {
    pub url: Option<Url>,
    pub method: Option<String>,
    pub header: Option<Headers>,
    pub body: Option<Body>,
    /// `None` when absent or `null`: the request inherits its parent's auth.
    pub auth: Option<Auth>,
    pub description: Option<Description>,
}

#[derive(Debug, Deserialize)]
#[serde(untagged)]
pub(super) enum Description {
    Text(String),
    Object {
        #[serde(default)]
        content: Option<String>,
    },
}

impl Description {
    pub fn text(&self) -> Option<&str> {
        let text = match self {
            Description::Text(t) => t.as_str(),
            Description::Object { content } => content.as_deref()?,
        };
        (!text.trim().is_empty()).then_some(text)
    }
}

/// v2.1 writes headers as a list; v2.0 also allows one string of `Name: value` lines.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
pub(super) enum Headers {
    List(Vec<KeyValue>),
    Text(String),
}

#[derive(Debug, Deserialize)]
#[serde(untagged)]
pub(super) enum Url {
    Text(String),
    Parts(Box<UrlParts>),
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(super) struct UrlParts {
    pub raw: Option<String>,
    pub protocol: Option<String>,
    /// A list of labels (`["api", "example", "com"]`) or one string.
    pub host: Option<Value>,
    pub port: Option<Value>,
    /// A list of segments (strings, or `{ value }` objects in some v2.0 exports) or one string.
    pub path: Option<Value>,
    pub query: Vec<KeyValue>,
    pub variable: Vec<KeyValue>,
}

/// A key and value as Postman writes them everywhere: headers, query, form fields, variables.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(super) struct KeyValue {
    pub key: Option<String>,
    /// v2.0 variables may name themselves with `id` instead of `key`.
    pub id: Option<String>,
    pub value: Option<Value>,
    #[serde(deserialize_with = "loose_bool")]
    pub disabled: Option<bool>,
    #[serde(deserialize_with = "loose_bool")]
    pub enabled: Option<bool>,
    #[serde(rename = "type")]
    pub kind: Option<String>,
    /// A form-data file field's file(s).
    pub src: Option<Value>,
}

impl KeyValue {
    pub fn name(&self) -> Option<&str> {
        self.key.as_deref().or(self.id.as_deref())
    }

    /// v2.1 writes `disabled: true`; v2.0 and environments may write `enabled: false`.
    pub fn is_enabled(&self) -> bool {
        self.disabled != Some(true) && self.enabled != Some(false)
    }

    /// The value as text; `None` for a missing or `null` value.
    pub fn text(&self) -> Option<String> {
        self.value.as_ref().and_then(value_text)
    }

    pub fn is_file(&self) -> bool {
        self.kind.as_deref() == Some("file")
    }
}

/// A scalar as the text Postman would substitute.
pub(super) fn value_text(value: &Value) -> Option<String> {
    match value {
        Value::Null => None,
        Value::String(s) => Some(s.clone()),
        Value::Bool(_) | Value::Number(_) => Some(value.to_string()),
        other => Some(other.to_string()),
    }
}

fn loose_bool<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<bool>, D::Error> {
    Ok(match Value::deserialize(deserializer)? {
        Value::Bool(b) => Some(b),
        Value::String(s) => match s.as_str() {
            "true" => Some(true),
            "false" => Some(false),
            _ => None,
        },
        _ => None,
    })
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(super) struct Body {
    pub mode: Option<String>,
    pub raw: Option<String>,
    pub urlencoded: Vec<KeyValue>,
    pub formdata: Vec<KeyValue>,
    pub file: Option<Value>,
    pub graphql: Option<GraphQl>,
    pub options: Option<Value>,
    #[serde(deserialize_with = "loose_bool")]
    pub disabled: Option<bool>,
}

impl Body {
    /// `options.raw.language`: `json`, `text`, `xml`, `html`, `javascript`.
    pub fn raw_language(&self) -> Option<&str> {
        self.options.as_ref()?.get("raw")?.get("language")?.as_str()
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(super) struct GraphQl {
    pub query: Option<String>,
    /// JSON text in v2.1 exports; some tools write an object.
    pub variables: Option<Value>,
}

/// `{ "type": "bearer", "bearer": [ { "key": "token", "value": "…" } ] }`; v2.0 writes the
/// attributes as an object (`"bearer": { "token": "…" }`).
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(super) struct Auth {
    #[serde(rename = "type")]
    pub kind: Option<String>,
    #[serde(flatten)]
    pub attributes: IndexMap<String, Value>,
}

impl Auth {
    pub fn kind(&self) -> &str {
        self.kind.as_deref().unwrap_or("noauth")
    }

    /// One attribute of this auth's type, as text.
    pub fn attribute(&self, name: &str) -> Option<String> {
        match self.attributes.get(self.kind())? {
            Value::Array(list) => list
                .iter()
                .find(|kv| kv.get("key").and_then(Value::as_str) == Some(name))
                .and_then(|kv| kv.get("value"))
                .and_then(value_text),
            Value::Object(map) => map.get(name).and_then(value_text),
            _ => None,
        }
    }

    /// A request whose `auth` is missing, `null`, `{}` or `inherit` takes its parent's.
    pub fn inherits(&self) -> bool {
        matches!(self.kind.as_deref(), None | Some("inherit"))
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(super) struct Event {
    pub listen: Option<String>,
    pub script: Option<Script>,
    #[serde(deserialize_with = "loose_bool")]
    pub disabled: Option<bool>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(super) struct Script {
    pub exec: Option<Exec>,
}

#[derive(Debug, Deserialize)]
#[serde(untagged)]
pub(super) enum Exec {
    Lines(Vec<String>),
    Text(String),
}

impl Event {
    /// The script's lines, or `None` for a disabled or empty script.
    pub fn lines(&self) -> Option<Vec<String>> {
        if self.disabled == Some(true) {
            return None;
        }
        let lines: Vec<String> = match self.script.as_ref()?.exec.as_ref()? {
            // `split`, not `lines`: an empty line of the script stays a line.
            Exec::Lines(lines) => lines.iter().flat_map(|l| split_lines(l)).collect(),
            Exec::Text(text) => split_lines(text),
        };
        lines.iter().any(|l| !l.trim().is_empty()).then_some(lines)
    }

    pub fn is(&self, listen: &str) -> bool {
        self.listen.as_deref() == Some(listen)
    }
}

fn split_lines(text: &str) -> Vec<String> {
    text.split('\n')
        .map(|l| l.strip_suffix('\r').unwrap_or(l).to_string())
        .collect()
}

/// A Postman environment (or globals) export.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(super) struct Environment {
    pub name: Option<String>,
    pub values: Vec<KeyValue>,
}

/// A list, or one item where the list would be (`"event": { "listen": "test", … }`), which
/// Newman runs.
fn one_or_many<'de, D, T>(deserializer: D) -> Result<Vec<T>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum OneOrMany<T> {
        Many(Vec<T>),
        One(T),
        Nothing(()),
    }
    Ok(match OneOrMany::deserialize(deserializer)? {
        OneOrMany::Many(items) => items,
        OneOrMany::One(item) => vec![item],
        OneOrMany::Nothing(()) => Vec::new(),
    })
}
