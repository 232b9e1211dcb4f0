//! One OpenAPI operation as one request file.

use serde_json::{Map, Value, json};

use super::schema::{example_of, to_json_schema};
use super::{Importer, SCHEMAS_FILE, variable_name};
use crate::import::yaml::Entry;
use crate::import::{escape, slug};

/// Headers OpenAPI says a parameter may not set: the request's media types and auth do.
const RESERVED_HEADERS: [&str; 3] = ["accept", "content-type", "authorization"];

/// How long an imported description may be before only its first paragraph is kept.
const DESCRIPTION_LIMIT: usize = 300;

impl<'s> Importer<'s> {
    pub(super) fn operation(&mut self, path: &str, method: &str, item: &'s Value, op: &'s Value) {
        let id = op.get("operationId").and_then(Value::as_str);
        let summary = op.get("summary").and_then(Value::as_str).map(one_line);
        let shown = format!("{} {path}", method.to_ascii_uppercase());
        let name = self.unique_name(
            summary
                .filter(|s| !s.is_empty())
                .or(id.map(str::to_owned))
                .unwrap_or_else(|| shown.clone()),
        );
        let tags: Vec<&str> = op
            .get("tags")
            .and_then(Value::as_array)
            .map(|t| t.iter().filter_map(Value::as_str).collect())
            .unwrap_or_default();
        let stem = slug(id.unwrap_or(&format!("{method}-{path}")));
        let file = self.unique_file(tags.first().copied(), &stem);
        let mut entries = vec![Entry::Field("name".into(), name.clone().into())];
        if let Some(description) = op
            .get("description")
            .and_then(Value::as_str)
            .map(first_paragraph)
        {
            entries.push(Entry::Field("description".into(), description.into()));
        }
        if !tags.is_empty() {
            entries.push(Entry::Field("tags".into(), json!(tags)));
        }
        entries.push(Entry::Field(
            "method".into(),
            method.to_ascii_uppercase().into(),
        ));
        let parameters = self.parameters(item, op);
        entries.push(Entry::Field(
            "url".into(),
            self.url(path, &parameters).into(),
        ));
        let credentials = match op.get("security").and_then(Value::as_array) {
            Some(security) => self.credentials(security, &name),
            None => self.root.clone(),
        };
        let (mut headers, mut query) = self.header_and_query(&parameters, &name);
        headers.extend(credentials.headers.iter().cloned());
        query.extend(credentials.query.iter().cloned());
        if !headers.is_empty() {
            entries.push(Entry::Field("headers".into(), Value::Object(headers)));
        }
        if !query.is_empty() {
            entries.push(Entry::Field("query".into(), Value::Object(query)));
        }
        if credentials.auth != self.root.auth
            && let Some(auth) = credentials.auth
        {
            entries.push(Entry::Field("auth".into(), auth));
        }
        if let Some((kind, body)) = self.body(op, &name) {
            entries.push(Entry::Field(kind.into(), body));
        }
        let depth = file.components().count() - 1;
        if let Some(asserts) = self.asserts(op, &stem, depth) {
            entries.push(Entry::Field("assert".into(), asserts));
        }
        self.request_paths
            .push(file.to_string_lossy().replace('\\', "/").into());
        self.draft.requests.push((file, entries));
    }

    /// The path item's parameters, then the operation's, which replace those of the same name
    /// and place; `$ref`s resolved.
    fn parameters(&self, item: &'s Value, op: &'s Value) -> Vec<Value> {
        let mut out: Vec<Value> = Vec::new();
        let lists = [item.get("parameters"), op.get("parameters")];
        for parameter in lists
            .into_iter()
            .flatten()
            .filter_map(Value::as_array)
            .flatten()
        {
            let parameter = self.resolve(parameter).clone();
            let key = |p: &Value| (p.get("name").cloned(), p.get("in").cloned());
            out.retain(|p| key(p) != key(&parameter));
            out.push(parameter);
        }
        out
    }

    /// The URL: `{{ base_url }}` and the path, each `{name}` a variable.
    fn url(&mut self, path: &str, parameters: &[Value]) -> String {
        let mut url = String::from("{{ base_url }}");
        let mut rest = path;
        while let Some(open) = rest.find('{') {
            let Some(close) = rest[open..].find('}').map(|c| open + c) else {
                break;
            };
            url.push_str(&escape(&rest[..open], true));
            let name = &rest[open + 1..close];
            let parameter = parameters.iter().find(|p| {
                p.get("in") == Some(&json!("path")) && p.get("name") == Some(&json!(name))
            });
            let var = self.parameter_variable(name, parameter);
            url.push_str(&format!("{{{{ {var} }}}}"));
            rest = &rest[close + 1..];
        }
        url.push_str(&escape(rest, false));
        url
    }

    /// The variable a parameter is sent from, defined from the description's example or
    /// default when it has one, needed otherwise.
    fn parameter_variable(&mut self, name: &str, parameter: Option<&Value>) -> String {
        let var = variable_name(name);
        if let Some(value) = parameter.and_then(|p| self.parameter_example(p)) {
            let value = match value {
                Value::String(_) | Value::Number(_) | Value::Bool(_) => value,
                other => other.to_string().into(),
            };
            if !self.variables.contains_key(&var) {
                self.variables.insert(var.clone(), value);
            }
            self.needs.remove(&var);
        } else {
            self.variable(&var);
        }
        var
    }

    fn parameter_example(&self, parameter: &'s Value) -> Option<Value> {
        if let Some(example) = parameter.get("example") {
            return Some(example.clone());
        }
        if let Some(Value::Object(examples)) = parameter.get("examples")
            && let Some(first) = examples.values().next()
        {
            return self.resolve(first).get("value").cloned();
        }
        let schema = self.resolve(parameter.get("schema")?);
        ["example", "default"]
            .iter()
            .find_map(|k| schema.get(*k).cloned())
            .or_else(|| schema.pointer("/enum/0").cloned())
    }

    /// Header and query parameters: a required one from a variable, an optional one with an
    /// example or default as that value, the others left out.
    fn header_and_query(
        &mut self,
        parameters: &[Value],
        request: &str,
    ) -> (Map<String, Value>, Map<String, Value>) {
        let (mut headers, mut query) = (Map::new(), Map::new());
        for parameter in parameters {
            let Some(name) = parameter.get("name").and_then(Value::as_str) else {
                continue;
            };
            let place = parameter.get("in").and_then(Value::as_str).unwrap_or("");
            let required = parameter.get("required") == Some(&Value::Bool(true));
            let target = match place {
                "query" => &mut query,
                "header" if !RESERVED_HEADERS.contains(&name.to_ascii_lowercase().as_str()) => {
                    &mut headers
                }
                "cookie" if required => {
                    self.note(format!(
                        "{request}: the cookie parameter `{name}` is not set; add a `Cookie` header"
                    ));
                    continue;
                }
                _ => continue,
            };
            let value = match required {
                true => format!(
                    "{{{{ {} }}}}",
                    self.parameter_variable(name, Some(parameter))
                )
                .into(),
                false => match self.parameter_example(parameter) {
                    Some(Value::String(s)) => escape(&s, false).into(),
                    Some(v @ (Value::Number(_) | Value::Bool(_))) => v.to_string().into(),
                    _ => continue,
                },
            };
            target.insert(name.to_owned(), value);
        }
        (headers, query)
    }

    /// The body from the operation's request body: `json:` for a JSON media type, `form:` for
    /// a urlencoded one, `body:` for text; its example, or one made from its schema.
    fn body(&mut self, op: &'s Value, request: &str) -> Option<(&'static str, Value)> {
        let body = self.resolve(op.get("requestBody")?);
        let content = body.get("content")?.as_object()?;
        let (media, spec) = content
            .iter()
            .find(|(m, _)| is_json(m))
            .or_else(|| {
                content
                    .iter()
                    .find(|(m, _)| m.starts_with("application/x-www-form-urlencoded"))
            })
            .or_else(|| content.iter().next())?;
        let example = self.media_example(spec).map(literal);
        if is_json(media) {
            return Some(("json", example.unwrap_or_else(|| json!({}))));
        }
        if media.starts_with("application/x-www-form-urlencoded") {
            let Some(Value::Object(fields)) = example else {
                return Some(("form", json!({})));
            };
            let form = fields
                .into_iter()
                .map(|(k, v)| {
                    (
                        k,
                        v.as_str()
                            .map_or_else(|| v.to_string(), str::to_owned)
                            .into(),
                    )
                })
                .collect();
            return Some(("form", Value::Object(form)));
        }
        if let Some(Value::String(text)) = example
            && (media.starts_with("text/") || media.ends_with("xml"))
        {
            return Some(("body", json!({ "content_type": media, "text": text })));
        }
        self.note(format!(
            "{request}: the `{media}` request body is not converted; write its `body:`"
        ));
        None
    }

    /// A media type's example: its own, its first named one, or one made from its schema.
    fn media_example(&self, media: &'s Value) -> Option<Value> {
        if let Some(example) = media.get("example") {
            return Some(example.clone());
        }
        if let Some(Value::Object(examples)) = media.get("examples")
            && let Some(first) = examples.values().next()
            && let Some(value) = self.resolve(first).get("value")
        {
            return Some(value.clone());
        }
        let schema = media.get("schema")?;
        let resolve = |target: &str| self.pointer(target).cloned();
        Some(example_of(schema, &resolve, 0)).filter(|v| !v.is_null())
    }

    /// `status:` from the first documented success, and `schema:` when that answer is JSON.
    fn asserts(&mut self, op: &'s Value, key: &str, depth: usize) -> Option<Value> {
        let responses = op.get("responses")?.as_object()?;
        let (code, response) = responses.iter().find(|(code, _)| code.starts_with('2'))?;
        let mut asserts = Map::new();
        let status: Value = match code.parse::<u16>() {
            Ok(n) => n.into(),
            Err(_) => "2xx".into(),
        };
        asserts.insert("status".into(), status);
        let response = self.resolve(response);
        let content = response.get("content").and_then(Value::as_object);
        let json_schema = content
            .into_iter()
            .flatten()
            .find(|(media, _)| is_json(media))
            .and_then(|(_, media)| media.get("schema"));
        if let Some(schema) = json_schema {
            let mut schema = schema.clone();
            self.external_refs += to_json_schema(&mut schema, self.v30);
            let key = self.unique_operation_key(key);
            self.operations.insert(key.clone(), schema);
            let up = "../".repeat(depth);
            asserts.insert(
                "schema".into(),
                json!({ "$ref": format!("{up}{SCHEMAS_FILE}#/operations/{key}") }),
            );
        }
        Some(Value::Object(asserts))
    }

    fn unique_operation_key(&self, key: &str) -> String {
        let mut candidate = key.to_owned();
        let mut n = 2;
        while self.operations.contains_key(&candidate) {
            candidate = format!("{key}-{n}");
            n += 1;
        }
        candidate
    }
}

/// A value written into a request as it stands: each string escaped from minijinja.
fn literal(value: Value) -> Value {
    match value {
        Value::String(s) => escape(&s, false).into(),
        Value::Array(items) => items.into_iter().map(literal).collect(),
        Value::Object(map) => map.into_iter().map(|(k, v)| (k, literal(v))).collect(),
        other => other,
    }
}

/// `application/json`, `application/problem+json`, `application/json; charset=utf-8`.
fn is_json(media: &str) -> bool {
    let essence = media.split(';').next().unwrap_or("").trim();
    essence == "application/json" || essence.ends_with("+json") || essence == "*/*"
}

fn one_line(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// The first paragraph, on one line, cut to [`DESCRIPTION_LIMIT`] characters.
fn first_paragraph(text: &str) -> String {
    let paragraph = one_line(text.trim().split("\n\n").next().unwrap_or(""));
    match paragraph.char_indices().nth(DESCRIPTION_LIMIT) {
        Some((at, _)) => format!("{}…", &paragraph[..at]),
        None => paragraph,
    }
}
