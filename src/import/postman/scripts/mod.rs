//! Postman test scripts as courier `assert:` and `capture:` entries.
//!
//! courier runs no JavaScript. It parses a script with a real JavaScript parser (oxc) and
//! converts, from the syntax tree, the statements people write most:
//! `pm.response.to.have.status(200)`, `pm.expect(jsonData.id).to.eql(1)`,
//! `pm.environment.set("token", pm.response.json().token)` and the older
//! `tests["…"] = responseCode.code === 200` ([`js`]). A statement is converted only when its
//! meaning is certain: inside an `if` or a loop it may not run at all, so it is left alone, as is
//! anything unrecognised, each with its line and the reason. Code after a `return` never runs,
//! in Newman either, so it becomes nothing. When anything is left, the whole script is kept as
//! a comment so the reader sees it in context.

mod js;

use indexmap::IndexMap;
use serde_json::{Map, Value, json};

use super::names::Names;
use crate::assert::{
    Query, StatusSpec, parse_body_predicates, parse_header_predicates, parse_json_predicates,
};

/// The checks of one request, gathered from its test script.
#[derive(Debug, Default, Clone)]
pub(super) struct Asserts {
    status: Option<Value>,
    headers: IndexMap<String, Map<String, Value>>,
    json: IndexMap<String, Map<String, Value>>,
    body: Map<String, Value>,
    duration: Option<u64>,
    vars: IndexMap<String, Map<String, Value>>,
    /// `request:` — the URL and headers as sent.
    sent_url: Map<String, Value>,
    sent_headers: IndexMap<String, Map<String, Value>>,
}

impl Asserts {
    pub fn is_empty(&self) -> bool {
        self.status.is_none()
            && self.headers.is_empty()
            && self.json.is_empty()
            && self.body.is_empty()
            && self.duration.is_none()
            && self.vars.is_empty()
            && self.sent_url.is_empty()
            && self.sent_headers.is_empty()
    }

    /// The `assert:` map of a request file, in the README's key order.
    pub fn to_value(&self) -> Value {
        let mut out = Map::new();
        if let Some(status) = &self.status {
            out.insert("status".into(), status.clone());
        }
        // Each checked thing by name; a single `equals` is written bare.
        let by_name = |map: &IndexMap<String, Map<String, Value>>| {
            let checks = map
                .iter()
                .map(|(k, preds)| (k.clone(), bare(preds, "equals")));
            Value::Object(checks.collect())
        };
        if !self.headers.is_empty() {
            out.insert("headers".into(), by_name(&self.headers));
        }
        if !self.json.is_empty() {
            out.insert("json".into(), by_name(&self.json));
        }
        if !self.body.is_empty() {
            out.insert("body".into(), bare(&self.body, "contains"));
        }
        if let Some(ms) = self.duration {
            out.insert("duration".into(), ms.into());
        }
        if !self.vars.is_empty() {
            out.insert("vars".into(), by_name(&self.vars));
        }
        if !self.sent_url.is_empty() || !self.sent_headers.is_empty() {
            let mut sent = Map::new();
            if !self.sent_url.is_empty() {
                sent.insert("url".into(), bare(&self.sent_url, "equals"));
            }
            if !self.sent_headers.is_empty() {
                sent.insert("headers".into(), by_name(&self.sent_headers));
            }
            out.insert("request".into(), Value::Object(sent));
        }
        Value::Object(out)
    }

    /// Each `add_*` returns false when courier could not express the check or it contradicts
    /// one already taken; the statement then stays in the comment.
    fn add_status(&mut self, status: Value) -> bool {
        if StatusSpec::parse(&status).is_err() {
            return false;
        }
        match &self.status {
            Some(existing) => *existing == status,
            None => {
                self.status = Some(status);
                true
            }
        }
    }

    fn add_duration(&mut self, ms: u64) -> bool {
        match self.duration {
            Some(existing) => existing == ms,
            None => {
                self.duration = Some(ms);
                true
            }
        }
    }

    fn add_json(&mut self, path: &str, predicate: &str, operand: Value) -> bool {
        if Query::parse(path).is_err()
            || parse_json_predicates(&json!({ predicate: operand.clone() })).is_err()
        {
            return false;
        }
        add_predicate(
            self.json.entry(path.to_string()).or_default(),
            predicate,
            operand,
        )
    }

    fn add_header(&mut self, name: &str, predicate: &str, operand: Value) -> bool {
        if parse_header_predicates(&json!({ predicate: operand.clone() })).is_err() {
            return false;
        }
        let key = self
            .headers
            .keys()
            .find(|k| k.eq_ignore_ascii_case(name))
            .cloned()
            .unwrap_or_else(|| name.to_string());
        add_predicate(self.headers.entry(key).or_default(), predicate, operand)
    }

    /// A check on the request as sent: its URL (`name` is `None`) or a header.
    fn add_sent(&mut self, name: Option<&str>, predicate: &str, operand: Value) -> bool {
        if parse_header_predicates(&json!({ predicate: operand.clone() })).is_err() {
            return false;
        }
        let checks = match name {
            None => &mut self.sent_url,
            Some(name) => {
                let key = self
                    .sent_headers
                    .keys()
                    .find(|k| k.eq_ignore_ascii_case(name))
                    .cloned()
                    .unwrap_or_else(|| name.to_string());
                self.sent_headers.entry(key).or_default()
            }
        };
        add_predicate(checks, predicate, operand)
    }

    fn add_var(&mut self, name: &str, predicate: &str, operand: Value) -> bool {
        if parse_json_predicates(&json!({ predicate: operand.clone() })).is_err() {
            return false;
        }
        add_predicate(
            self.vars.entry(name.to_string()).or_default(),
            predicate,
            operand,
        )
    }

    fn add_body(&mut self, predicate: &str, operand: Value) -> bool {
        if parse_body_predicates(&json!({ predicate: operand.clone() })).is_err() {
            return false;
        }
        add_predicate(&mut self.body, predicate, operand)
    }
}

fn add_predicate(preds: &mut Map<String, Value>, predicate: &str, operand: Value) -> bool {
    match preds.get(predicate) {
        Some(existing) => *existing == operand,
        None => {
            preds.insert(predicate.to_string(), operand);
            true
        }
    }
}

/// A single predicate is written bare when courier reads the bare form the same way: `equals`
/// for JSON and headers (not for an object, which would read as predicates), `contains` for the
/// body.
fn bare(preds: &Map<String, Value>, default: &str) -> Value {
    match preds.iter().next() {
        Some((name, operand)) if preds.len() == 1 && name == default && !operand.is_object() => {
            operand.clone()
        }
        _ => Value::Object(preds.clone()),
    }
}

/// What a test script became.
#[derive(Debug, Default)]
pub(super) struct Outcome {
    /// Statements turned into checks or captures.
    pub converted: usize,
    /// The script as comment lines when anything in it was not converted.
    pub comment: Option<Vec<String>>,
    /// What was not converted and why, with its line (1-based, in the script).
    pub left: Vec<(usize, String)>,
    /// Lines after a `return`: they never run.
    pub dead: usize,
    /// courier names the script unsets, after its captures (`unset:`).
    pub unset: Vec<String>,
}

impl Outcome {
    /// The import summary's words for this script: what became of it, and for each statement
    /// left, its line and why.
    pub fn note(&self, kind: &str) -> Option<String> {
        self.comment.as_ref()?;
        let mut note = if self.converted > 0 {
            format!(
                "{kind} script partly converted ({} statement{} to assert/capture), the rest kept as a comment",
                self.converted,
                if self.converted == 1 { "" } else { "s" }
            )
        } else {
            format!("{kind} script kept as a comment")
        };
        let mut reasons: Vec<String> = self
            .left
            .iter()
            .take(3)
            .map(|(line, why)| format!("line {line}: {why}"))
            .collect();
        if self.left.len() > 3 {
            reasons.push(format!("{} more", self.left.len() - 3));
        }
        if self.dead > 0 {
            reasons.push(format!(
                "{} line{} after `return` never run{}",
                self.dead,
                if self.dead == 1 { "" } else { "s" },
                if self.dead == 1 { "s" } else { "" },
            ));
        }
        if !reasons.is_empty() {
            note.push_str(&format!(" ({})", reasons.join("; ")));
        }
        Some(note)
    }
}

/// Converts the statements of a test script courier understands into `asserts` and `captures`
/// (capture name → source, as written under `capture:`).
pub(super) fn convert_test_script(
    lines: &[String],
    asserts: &mut Asserts,
    captures: &mut IndexMap<String, Value>,
    names: &mut Names,
) -> Outcome {
    let source = lines.join("\n");
    let marks = js::convert(&source, asserts, captures, names);
    let kinds = marks.per_line(lines.len());
    let converted = marks.converted;
    let left: Vec<(usize, String)> = marks.left.clone();
    let dead = kinds.iter().filter(|k| **k == js::Line::Dead).count();
    let comment = kinds
        .iter()
        .any(|k| matches!(k, js::Line::Other | js::Line::Dead))
        .then(|| {
            let mut out = vec!["postman test script (not converted):".to_string()];
            if converted > 0 {
                out.push(
                    "(lines marked `converted:` became the assert and capture entries above)"
                        .into(),
                );
            }
            for (line, kind) in lines.iter().zip(&kinds) {
                out.push(match kind {
                    js::Line::Converted => format!("  converted: {}", line.trim()),
                    js::Line::Dead => format!("  never runs: {}", line.trim()),
                    _ => format!("  {line}"),
                });
            }
            out
        });
    Outcome {
        converted,
        comment,
        left,
        dead,
        unset: marks.unset,
    }
}

pub(super) use self::js::pre_request_sets;

/// Every name a script sets or unsets, read from its text (`pm.environment.set("x", …)`,
/// `postman.setGlobalVariable('x', …)`, `pm.variables.unset("x")`), for scripts courier
/// keeps as comments.
/// The Postman scope (`environment`, `globals`) and name of each set in a script's text, as
/// [`names_set`] finds them.
pub(super) fn scoped_sets(text: &str) -> Vec<(&'static str, String)> {
    static SETTER: std::sync::LazyLock<regex::Regex> = std::sync::LazyLock::new(|| {
        regex::Regex::new(
            r#"(?:pm\.(environment|globals)\.set|set(Environment|Global)Variable)\(\s*(?:"([^"]*)"|'([^']*)')"#,
        )
        .expect("a valid regex")
    });
    SETTER
        .captures_iter(text)
        .filter_map(|c| {
            let scope = match c.get(1).or(c.get(2))?.as_str() {
                "environment" | "Environment" => "environment",
                _ => "globals",
            };
            Some((scope, c.get(3).or(c.get(4))?.as_str().to_string()))
        })
        .collect()
}

pub(super) fn names_set(text: &str) -> Vec<String> {
    static SETTER: std::sync::LazyLock<regex::Regex> = std::sync::LazyLock::new(|| {
        regex::Regex::new(
            r#"(?:\.(?:set|unset)|\b(?:set|clear)(?:Environment|Global)Variable)\(\s*(?:"([^"]*)"|'([^']*)'|`([^`$]*)`)"#,
        )
        .expect("a valid regex")
    });
    SETTER
        .captures_iter(text)
        .filter_map(|c| c.get(1).or(c.get(2)).or(c.get(3)))
        .map(|m| m.as_str().to_string())
        .collect()
}

/// A pre-request script whose checks are all on variables: they join `asserts` as `vars:`
/// checks, and the outcome is returned. Otherwise (it checks the response, which does not exist
/// yet, or sets anything) `asserts` is untouched and the error is why the script is kept as a
/// comment: what the walk over it could not read, statement by statement.
pub(super) fn pre_request_checks(
    lines: &[String],
    asserts: &mut Asserts,
    names: &mut Names,
) -> Result<Outcome, String> {
    let mut found = Asserts::default();
    let mut captures = IndexMap::new();
    let mut outcome = convert_test_script(lines, &mut found, &mut captures, names);
    let vars = std::mem::take(&mut found.vars);
    if !captures.is_empty() || !found.is_empty() || vars.is_empty() {
        outcome.converted = 0;
        outcome.comment.get_or_insert_with(Vec::new);
        return Err(outcome
            .note("pre-request")
            .unwrap_or_else(|| "pre-request script kept as a comment".into()));
    }
    for (name, predicates) in vars {
        let taken = asserts.vars.entry(name).or_default();
        for (predicate, operand) in predicates {
            taken.insert(predicate, operand);
        }
    }
    Ok(outcome)
}

fn comparison(op: &str) -> &'static str {
    match op {
        "above" | "gt" | "greaterThan" => "gt",
        "below" | "lt" | "lessThan" => "lt",
        "least" | "gte" => "gte",
        _ => "lte",
    }
}

/// chai-postman's named statuses (`pm.response.to.be.ok`).
fn named_status(name: &str) -> Option<Value> {
    Some(match name {
        "ok" => 200.into(),
        "accepted" => 202.into(),
        "withoutContent" => 204.into(),
        "badRequest" => 400.into(),
        "unauthorized" | "unauthorised" => 401.into(),
        "forbidden" => 403.into(),
        "notFound" => 404.into(),
        "notAcceptable" => 406.into(),
        "rateLimited" => 429.into(),
        "info" => "1xx".into(),
        "success" => "2xx".into(),
        "redirection" => "3xx".into(),
        "clientError" => "4xx".into(),
        "serverError" => "5xx".into(),
        "error" => json!(["4xx", "5xx"]),
        _ => return None,
    })
}

/// A lodash path (`data.items[0].id`, `['a b'].c`), as `jsonBody` and `_.has` take, as a
/// JSONPath.
fn lodash_path(path: &str) -> Option<String> {
    let mut out = "$".to_string();
    let mut rest = path;
    while !rest.is_empty() {
        if let Some(after) = rest.strip_prefix('[') {
            let close = after.find(']')?;
            let inner = &after[..close];
            out = match inner.parse::<u64>() {
                Ok(index) => format!("{out}[{index}]"),
                Err(_) => {
                    let key = inner
                        .strip_prefix(['\'', '"'])
                        .and_then(|k| k.strip_suffix(['\'', '"']))?;
                    child_path(&out, key)
                }
            };
            rest = after[close + 1..]
                .strip_prefix('.')
                .unwrap_or(&after[close + 1..]);
        } else {
            let end = rest.find(['.', '[']).unwrap_or(rest.len());
            let key = &rest[..end];
            if key.is_empty() {
                return None;
            }
            out = match key.parse::<u64>() {
                Ok(index) => format!("{out}[{index}]"),
                Err(_) => child_path(&out, key),
            };
            rest = rest[end..].strip_prefix('.').unwrap_or(&rest[end..]);
        }
    }
    (out != "$").then_some(out)
}

/// `$.a` + `b` → `$.a.b`; names that are not plain identifiers use `['…']`.
fn child_path(path: &str, key: &str) -> String {
    let plain = key.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_')
        && key.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
    if plain {
        format!("{path}.{key}")
    } else {
        let escaped = key.replace('\\', "\\\\").replace('\'', "\\'");
        format!("{path}['{escaped}']")
    }
}

/// A JavaScript regex (pattern and flags) as a pattern for courier's `matches` (Rust regex
/// syntax; a pattern that does not compile there is not converted).
fn rust_regex(pattern: &str, flags: &str) -> Option<String> {
    if pattern.is_empty() || !flags.chars().all(|f| matches!(f, 'g' | 'i' | 'm' | 's')) {
        return None;
    }
    let inline: String = flags.chars().filter(|f| *f != 'g').collect();
    let pattern = if inline.is_empty() {
        pattern.to_string()
    } else {
        format!("(?{inline}){pattern}")
    };
    regex::Regex::new(&pattern).ok().map(|_| pattern)
}
