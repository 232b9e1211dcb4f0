//! Postman test scripts as courier `assert:` and `capture:` entries.
//!
//! courier runs no JavaScript. The assertions people write most (`pm.response.to.have.status(200)`,
//! `pm.expect(jsonData.id).to.eql(1)`, `pm.environment.set("token", jsonData.token)`, and the
//! older `tests["…"] = responseCode.code === 200`) are recognised statement by statement and
//! turned into checks courier evaluates itself. A statement is converted only when its meaning
//! is certain: inside an `if` or a loop it may not run at all, so it is left alone, as is
//! anything unrecognised. When any line is left, the whole script is kept as a comment so the
//! reader sees it in context.

use std::collections::HashMap;
use std::sync::LazyLock;

use indexmap::IndexMap;
use regex::Regex;
use serde_json::{Map, Value, json};

use super::names::Names;
use crate::assert::{
    Query, StatusSpec, parse_body_predicates, parse_header_predicates, parse_json_predicates,
};

/// The checks of one request, gathered from its test script.
#[derive(Debug, Default)]
pub(super) struct Asserts {
    status: Option<Value>,
    headers: IndexMap<String, Map<String, Value>>,
    json: IndexMap<String, Map<String, Value>>,
    body: Map<String, Value>,
    duration: Option<u64>,
}

impl Asserts {
    pub fn is_empty(&self) -> bool {
        self.status.is_none()
            && self.headers.is_empty()
            && self.json.is_empty()
            && self.body.is_empty()
            && self.duration.is_none()
    }

    /// The `assert:` map of a request file, in the README's key order.
    pub fn to_value(&self) -> Value {
        let mut out = Map::new();
        if let Some(status) = &self.status {
            out.insert("status".into(), status.clone());
        }
        if !self.headers.is_empty() {
            let headers = self
                .headers
                .iter()
                .map(|(name, preds)| (name.clone(), bare(preds, "equals")))
                .collect();
            out.insert("headers".into(), Value::Object(headers));
        }
        if !self.json.is_empty() {
            let json = self
                .json
                .iter()
                .map(|(path, preds)| (path.clone(), bare(preds, "equals")))
                .collect();
            out.insert("json".into(), Value::Object(json));
        }
        if !self.body.is_empty() {
            out.insert("body".into(), bare(&self.body, "contains"));
        }
        if let Some(ms) = self.duration {
            out.insert("duration".into(), ms.into());
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
}

/// Converts the recognised statements of a test script into `asserts` and `captures` (capture
/// name → source, as written under `capture:`).
pub(super) fn convert_test_script(
    lines: &[String],
    asserts: &mut Asserts,
    captures: &mut IndexMap<String, Value>,
    names: &mut Names,
) -> Outcome {
    let mut reader = Reader {
        asserts,
        captures,
        names,
        aliases: HashMap::new(),
        blocks: Vec::new(),
    };
    let mut kinds = Vec::with_capacity(lines.len());
    for line in lines {
        kinds.push(reader.line(line));
    }
    let converted = kinds.iter().filter(|k| **k == Line::Converted).count();
    let comment = kinds.contains(&Line::Other).then(|| {
        let mut out = vec!["postman test script (not converted):".to_string()];
        if converted > 0 {
            out.push(
                "(lines marked `converted:` became the assert and capture entries above)".into(),
            );
        }
        for (line, kind) in lines.iter().zip(&kinds) {
            out.push(match kind {
                Line::Converted => format!("  converted: {}", line.trim()),
                _ => format!("  {line}"),
            });
        }
        out
    });
    Outcome { converted, comment }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Line {
    /// Blank, a comment, `pm.test(…, function () {`, `});`, a `var json = pm.response.json()`.
    Frame,
    Converted,
    Other,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Block {
    /// The body of a `pm.test(…)` callback: it always runs.
    Test,
    /// `if`, `for`, a function: it may not run, or run differently.
    Other,
}

enum Statement {
    Frame,
    Converted,
    Other,
}

struct Reader<'a> {
    asserts: &'a mut Asserts,
    captures: &'a mut IndexMap<String, Value>,
    names: &'a mut Names,
    /// Variables holding the response's JSON or a part of it, as a JSONPath.
    aliases: HashMap<String, String>,
    blocks: Vec<Block>,
}

static TEST_OPENER: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r#"^pm\.test\(\s*(?:"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|`[^`$]*`)\s*,\s*(?:function\s*\(\s*\)|\(\s*\)\s*=>)\s*\{"#,
    )
    .expect("a valid regex")
});

static IN_OPERATOR: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r#"^("[^"\\]*"|'[^'\\]*')\s+in\s+([\w$.\[\]'"]+)$"#).expect("a valid regex")
});

static CLOSER: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^[})\]\s]+$").expect("a valid regex"));

impl Reader<'_> {
    fn line(&mut self, line: &str) -> Line {
        let text = line.trim();
        if text.is_empty() || text.starts_with("//") {
            return Line::Frame;
        }
        let mut rest = text;
        if let Some(m) = TEST_OPENER.find(text) {
            self.blocks.push(Block::Test);
            rest = &text[m.end()..];
        }
        let mut kind = Line::Frame;
        for statement in split_statements(rest) {
            let statement = statement.trim();
            let outcome = if statement.is_empty() || CLOSER.is_match(statement) {
                self.close(statement);
                Statement::Frame
            } else if self.blocks.iter().all(|b| *b == Block::Test) {
                self.statement(statement)
            } else {
                Statement::Other
            };
            if matches!(outcome, Statement::Other) {
                self.track_braces(statement);
            }
            kind = match (outcome, kind) {
                (Statement::Other, _) | (_, Line::Other) => Line::Other,
                (Statement::Converted, _) => Line::Converted,
                (Statement::Frame, k) => k,
            };
        }
        kind
    }

    fn close(&mut self, closer: &str) {
        for _ in closer.chars().filter(|c| *c == '}') {
            self.blocks.pop();
        }
    }

    /// Keeps the block stack right across lines that were not understood: every `{` opens a
    /// block that may not run, every `}` closes one.
    fn track_braces(&mut self, text: &str) {
        for c in code_chars(text) {
            match c {
                '{' => self.blocks.push(Block::Other),
                '}' => {
                    self.blocks.pop();
                }
                _ => {}
            }
        }
    }

    fn statement(&mut self, text: &str) -> Statement {
        if let Some(done) = self.alias(text) {
            return done;
        }
        let converted = if let Some(rest) = text.strip_prefix("pm.expect(") {
            self.expect(rest)
        } else if let Some(chain) = text.strip_prefix("pm.response") {
            self.response_chain(chain)
        } else if text.starts_with("tests[") {
            self.legacy_test(text)
        } else {
            self.capture(text)
        };
        if converted {
            Statement::Converted
        } else {
            Statement::Other
        }
    }

    /// `var jsonData = pm.response.json();`, `const user = jsonData.user;`
    fn alias(&mut self, text: &str) -> Option<Statement> {
        static DECLARATION: LazyLock<Regex> = LazyLock::new(|| {
            Regex::new(r"^(?:var|let|const)\s+([A-Za-z_$][\w$]*)\s*=\s*(.+)$")
                .expect("a valid regex")
        });
        let caps = DECLARATION.captures(text)?;
        // `var user = json.user || {};` reads the same as `json.user` for every check courier
        // can express: a property of the empty default is as missing as a missing one.
        let value = caps[2].trim();
        let value = ["|| {}", "|| []"]
            .iter()
            .find_map(|d| value.strip_suffix(d))
            .unwrap_or(value);
        let path = self.json_path(value.trim())?;
        if path.length {
            return None;
        }
        self.aliases.insert(caps[1].to_string(), path.path);
        Some(Statement::Frame)
    }

    /// `pm.expect(SUBJECT).to.…`
    fn expect(&mut self, after_open: &str) -> bool {
        let Some(close) = matching_close(after_open, 0) else {
            return false;
        };
        let subject = after_open[..close].trim();
        let Some(chain) = Chain::parse(&after_open[close + 1..]) else {
            return false;
        };
        let Some((assertion, args)) = chain.terminal() else {
            return false;
        };
        let negated = chain.negated;
        if matches!(subject, "pm.response.code" | "responseCode.code") {
            return !negated && self.status_assertion(assertion, &args);
        }
        if matches!(subject, "pm.response.responseTime" | "responseTime") {
            return !negated && self.duration_assertion(assertion, &args);
        }
        if matches!(subject, "pm.response.text()" | "responseBody") {
            return !negated && self.body_assertion(assertion, &args);
        }
        if let Some(name) = header_subject(subject) {
            return self.header_assertion(&name, assertion, &args, negated);
        }
        if let Some(has) = subject
            .strip_prefix("pm.response.headers.has(")
            .and_then(|r| r.strip_suffix(')'))
            .and_then(js_string)
        {
            return match (assertion, negated) {
                ("true", false) => self.asserts.add_header(&has, "exists", true.into()),
                ("false", false) | ("true", true) => {
                    self.asserts.add_header(&has, "exists", false.into())
                }
                _ => false,
            };
        }
        match self.json_path(subject) {
            Some(path) => self.json_assertion(&path, assertion, &args, negated),
            None => false,
        }
    }

    fn status_assertion(&mut self, assertion: &str, args: &[&str]) -> bool {
        match (assertion, args) {
            ("eql" | "equal" | "equals" | "eq", [code]) => match js_literal(code) {
                Some(Literal::Value(v @ Value::Number(_))) => self.asserts.add_status(v),
                _ => false,
            },
            ("oneOf", [list]) => match js_literal(list) {
                Some(Literal::Value(v @ Value::Array(_))) => self.asserts.add_status(v),
                _ => false,
            },
            _ => false,
        }
    }

    fn duration_assertion(&mut self, assertion: &str, args: &[&str]) -> bool {
        let Some(ms) = args
            .first()
            .and_then(|a| js_number(a))
            .filter(|_| args.len() == 1)
        else {
            return false;
        };
        match assertion {
            // courier's `duration: N` means "under N ms".
            "below" | "lessThan" | "lt" => self.asserts.add_duration(ms),
            "most" | "lte" => self.asserts.add_duration(ms + 1),
            _ => false,
        }
    }

    fn body_assertion(&mut self, assertion: &str, args: &[&str]) -> bool {
        match (assertion, args) {
            ("include" | "includes" | "contain" | "contains", [text]) => match js_string(text) {
                Some(s) => self.asserts.add_body("contains", s.into()),
                None => false,
            },
            ("match", [re]) => match js_regex(re) {
                Some(re) => self.asserts.add_body("matches", re.into()),
                None => false,
            },
            _ => false,
        }
    }

    fn header_assertion(&mut self, name: &str, assertion: &str, args: &[&str], neg: bool) -> bool {
        let predicate = match (assertion, args, neg) {
            ("eql" | "equal" | "equals" | "eq", [v], false) => {
                js_string(v).map(|s| ("equals", Value::String(s)))
            }
            ("include" | "includes" | "contain" | "contains", [v], false) => {
                js_string(v).map(|s| ("contains", Value::String(s)))
            }
            ("match", [re], false) => js_regex(re).map(|r| ("matches", Value::String(r))),
            ("exist" | "exists" | "ok", [], false) | ("undefined", [], true) => {
                Some(("exists", true.into()))
            }
            ("exist" | "exists", [], true) | ("undefined", [], false) => {
                Some(("exists", false.into()))
            }
            _ => None,
        };
        match predicate {
            Some((p, v)) => self.asserts.add_header(name, p, v),
            None => false,
        }
    }

    fn json_assertion(
        &mut self,
        path: &JsonPath,
        assertion: &str,
        args: &[&str],
        neg: bool,
    ) -> bool {
        let literal = |i: usize| args.get(i).and_then(|a| js_literal(a));
        if path.length {
            // `pm.expect(json.items.length).to.eql(3)`
            return match (assertion, literal(0), neg) {
                ("eql" | "equal" | "equals" | "eq", Some(Literal::Value(n)), false)
                    if n.is_u64() =>
                {
                    self.asserts.add_json(&path.path, "length", n)
                }
                _ => false,
            };
        }
        let p = path.path.as_str();
        let (predicate, operand) = match (assertion, args.len(), neg) {
            ("eql" | "equal" | "equals" | "eq", 1, _) => match literal(0) {
                Some(Literal::Value(v)) => (if neg { "not_equals" } else { "equals" }, v),
                Some(Literal::Undefined) => ("exists", Value::Bool(neg)),
                None => return false,
            },
            ("true" | "false" | "null", 0, _) => {
                let v: Value = match assertion {
                    "true" => true.into(),
                    "false" => false.into(),
                    _ => Value::Null,
                };
                (if neg { "not_equals" } else { "equals" }, v)
            }
            ("undefined", 0, _) => ("exists", Value::Bool(neg)),
            ("exist" | "exists", 0, _) => ("exists", Value::Bool(!neg)),
            ("a" | "an", 1, false) => match args.first().and_then(|a| js_string(a)).as_deref() {
                Some("undefined") => ("exists", false.into()),
                Some(t @ ("string" | "number" | "boolean" | "array" | "object" | "null")) => {
                    ("type", t.into())
                }
                _ => return false,
            },
            ("property", 1 | 2, _) => {
                let Some(key) = args.first().and_then(|a| js_string(a)) else {
                    return false;
                };
                let child = child_path(p, &key);
                return match (literal(1), neg) {
                    (None, _) if args.len() == 1 => {
                        self.asserts.add_json(&child, "exists", Value::Bool(!neg))
                    }
                    (Some(Literal::Value(v)), false) => self.asserts.add_json(&child, "equals", v),
                    _ => false,
                };
            }
            ("lengthOf" | "length", 1, false) => match literal(0) {
                Some(Literal::Value(n)) if n.is_u64() => ("length", n),
                _ => return false,
            },
            ("include" | "includes" | "contain" | "contains", 1, false) => match literal(0) {
                Some(Literal::Value(v)) => ("contains", v),
                _ => return false,
            },
            ("match", 1, false) => match args.first().and_then(|a| js_regex(a)) {
                Some(re) => ("matches", re.into()),
                None => return false,
            },
            (
                op @ ("above" | "gt" | "greaterThan" | "below" | "lt" | "lessThan" | "least"
                | "gte" | "most" | "lte"),
                1,
                false,
            ) => match literal(0) {
                Some(Literal::Value(n @ Value::Number(_))) => (comparison(op), n),
                _ => return false,
            },
            _ => return false,
        };
        self.asserts.add_json(p, predicate, operand)
    }

    /// `pm.response.to.have.status(200)`, `pm.response.to.be.ok`, `.to.have.header("X")`,
    /// `.to.have.jsonBody("a.b", 1)`.
    fn response_chain(&mut self, chain: &str) -> bool {
        let Some(chain) = Chain::parse(chain) else {
            return false;
        };
        if chain.negated {
            return false;
        }
        let words = chain.significant();
        if let [("responseTime", None), (op, Some(args))] = words.as_slice() {
            return self.duration_assertion(op, &split_args(args));
        }
        let [(assertion, args)] = words.as_slice() else {
            return false;
        };
        let args = args.map(split_args).unwrap_or_default();
        if let Some(status) = named_status(assertion) {
            return args.is_empty() && self.asserts.add_status(status);
        }
        match (*assertion, args.as_slice()) {
            ("status" | "statusCode", [code]) => match js_number(code) {
                Some(n) => self.asserts.add_status(n.into()),
                None => false,
            },
            ("statusCodeClass", [class]) => match js_number(class) {
                Some(c @ 1..=5) => self.asserts.add_status(format!("{c}xx").into()),
                _ => false,
            },
            ("header", [name]) => match js_string(name) {
                Some(n) => self.asserts.add_header(&n, "exists", true.into()),
                None => false,
            },
            ("header", [name, value]) => match (js_string(name), js_string(value)) {
                (Some(n), Some(v)) => self.asserts.add_header(&n, "equals", v.into()),
                _ => false,
            },
            ("jsonBody", [path, rest @ ..]) if rest.len() <= 1 => {
                let Some(path) = js_string(path).and_then(|p| lodash_path(&p)) else {
                    return false;
                };
                match rest.first().map(|v| js_literal(v)) {
                    None => self.asserts.add_json(&path, "exists", true.into()),
                    Some(Some(Literal::Value(v))) => self.asserts.add_json(&path, "equals", v),
                    Some(_) => false,
                }
            }
            _ => false,
        }
    }

    /// The pre-`pm` style: `tests["…"] = responseCode.code === 200;`
    fn legacy_test(&mut self, text: &str) -> bool {
        let Some(close) = matching_close(text, "tests[".len()) else {
            return false;
        };
        let Some(expr) = text[close + 1..].trim_start().strip_prefix('=') else {
            return false;
        };
        let expr = strip_parens(expr.trim());
        if let Some((left, op, right)) = split_comparison(expr) {
            let (left, right) = (strip_parens(left), strip_parens(right));
            return match (left, op) {
                ("responseCode.code", "===" | "==") => match js_number(right) {
                    Some(n) => self.asserts.add_status(n.into()),
                    None => false,
                },
                ("responseTime", "<") => {
                    js_number(right).is_some_and(|n| self.asserts.add_duration(n))
                }
                ("responseTime", "<=") => {
                    js_number(right).is_some_and(|n| self.asserts.add_duration(n + 1))
                }
                (subject, "===" | "==") => match (self.json_path(subject), js_literal(right)) {
                    (Some(path), Some(Literal::Value(v))) if !path.length => {
                        self.asserts.add_json(&path.path, "equals", v)
                    }
                    _ => false,
                },
                _ => false,
            };
        }
        if let Some(done) = self.legacy_predicate(expr) {
            return done;
        }
        // `"access_token" in body`
        if let Some(caps) = IN_OPERATOR.captures(expr)
            && let Some(key) = js_string(&caps[1])
            && let Some(path) = self.json_path(&caps[2])
            && !path.length
        {
            return self
                .asserts
                .add_json(&child_path(&path.path, &key), "exists", true.into());
        }
        if let Some(arg) = call_arg(expr, "responseBody.has(") {
            return js_string(arg).is_some_and(|s| self.asserts.add_body("contains", s.into()));
        }
        if let Some(name) = header_subject(expr) {
            return self.asserts.add_header(&name, "exists", true.into());
        }
        if let Some(i) = expr.rfind(".hasOwnProperty(")
            && let Some(key) = call_arg(&expr[i..], ".hasOwnProperty(").and_then(js_string)
            && let Some(path) = self.json_path(&expr[..i])
            && !path.length
        {
            return self
                .asserts
                .add_json(&child_path(&path.path, &key), "exists", true.into());
        }
        false
    }

    /// `Array.isArray(x)`, `Number.isInteger(x)`, `/re/.test(x)` on a part of the JSON;
    /// `None` when the expression is none of these.
    fn legacy_predicate(&mut self, expr: &str) -> Option<bool> {
        static REGEX_TEST: LazyLock<Regex> =
            LazyLock::new(|| Regex::new(r"^(/.+/[a-z]*)\.test\(").expect("a valid regex"));
        let (predicate, operand, subject) = if let Some(arg) = call_arg(expr, "Array.isArray(") {
            ("type", Value::from("array"), arg)
        } else if let Some(arg) = call_arg(expr, "Number.isInteger(") {
            ("type", Value::from("integer"), arg)
        } else if let Some(m) = REGEX_TEST.captures(expr) {
            let pattern = js_regex(&m[1]);
            let arg = call_arg(&expr[m[1].len()..], ".test(")?;
            match pattern {
                Some(p) => ("matches", Value::from(p), arg),
                None => return Some(false),
            }
        } else {
            return None;
        };
        Some(match self.json_path(subject) {
            Some(path) if !path.length => self.asserts.add_json(&path.path, predicate, operand),
            _ => false,
        })
    }

    /// `pm.environment.set("token", pm.response.json().token)` and its older and scoped forms.
    fn capture(&mut self, text: &str) -> bool {
        static SETTER: LazyLock<Regex> = LazyLock::new(|| {
            Regex::new(
                r"^(?:pm\.(?:environment|collectionVariables|globals|variables)\.set|postman\.set(?:Environment|Global)Variable)\(",
            )
            .expect("a valid regex")
        });
        let Some(m) = SETTER.find(text) else {
            return false;
        };
        let Some(close) = matching_close(text, m.end()) else {
            return false;
        };
        if !text[close + 1..].trim().is_empty() {
            return false;
        }
        let args = split_args(&text[m.end()..close]);
        let [name, value] = args.as_slice() else {
            return false;
        };
        let Some(name) = js_string(name) else {
            return false;
        };
        let source = if let Some(header) = header_subject(value) {
            json!({ "header": header })
        } else {
            match self.json_path(value) {
                Some(path) if !path.length => Value::String(path.path),
                _ => return false,
            }
        };
        let name = self.names.courier(&name);
        // Postman's later `set` of a name wins; so does courier's later capture.
        self.captures.insert(name, source);
        true
    }

    /// The JSONPath of an expression reading the response's JSON: `pm.response.json().a[0]`,
    /// `JSON.parse(responseBody).a`, or an alias declared earlier (`jsonData.a`).
    fn json_path(&self, expr: &str) -> Option<JsonPath> {
        const ROOTS: [&str; 3] = [
            "pm.response.json()",
            "JSON.parse(responseBody)",
            "JSON.parse(pm.response.text())",
        ];
        let expr = expr.trim();
        let (base, rest) = ROOTS
            .iter()
            .find_map(|r| expr.strip_prefix(r).map(|rest| ("$".to_string(), rest)))
            .or_else(|| {
                let end = expr
                    .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == '$'))
                    .unwrap_or(expr.len());
                let alias = self.aliases.get(&expr[..end])?;
                Some((alias.clone(), &expr[end..]))
            })?;
        accessors(&base, rest)
    }
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

/// `pm.response.headers.get("X")`, `postman.getResponseHeader("X")`.
fn header_subject(expr: &str) -> Option<String> {
    ["pm.response.headers.get(", "postman.getResponseHeader("]
        .iter()
        .find_map(|prefix| call_arg(expr.trim(), prefix))
        .and_then(js_string)
}

/// The single argument of `prefix…)` when the call is the whole expression.
fn call_arg<'a>(expr: &'a str, prefix: &str) -> Option<&'a str> {
    let rest = expr.strip_prefix(prefix)?;
    let close = matching_close(rest, 0)?;
    rest[close + 1..]
        .trim()
        .is_empty()
        .then(|| rest[..close].trim())
}

#[derive(Debug)]
struct JsonPath {
    path: String,
    /// The expression ended in `.length`.
    length: bool,
}

/// Turns `.a.b[0]['c d']` after a root into a JSONPath.
fn accessors(base: &str, mut rest: &str) -> Option<JsonPath> {
    let mut path = base.to_string();
    let mut length = false;
    loop {
        rest = rest.trim_start();
        if rest.is_empty() {
            break;
        }
        if length {
            return None;
        }
        if let Some(after) = rest.strip_prefix('.') {
            let end = after
                .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == '$'))
                .unwrap_or(after.len());
            let name = &after[..end];
            if name.is_empty() || name.starts_with(|c: char| c.is_ascii_digit()) {
                return None;
            }
            if name == "length" {
                length = true;
            } else {
                path = child_path(&path, name);
            }
            rest = &after[end..];
        } else if let Some(after) = rest.strip_prefix('[') {
            let close = matching_close(after, 0)?;
            let inner = after[..close].trim();
            if let Ok(index) = inner.parse::<u64>() {
                path.push_str(&format!("[{index}]"));
            } else {
                path = child_path(&path, &js_string(inner)?);
            }
            rest = &after[close + 1..];
        } else {
            return None;
        }
    }
    Some(JsonPath { path, length })
}

/// A lodash path (`data.items[0].id`), as `jsonBody` takes, as a JSONPath.
fn lodash_path(path: &str) -> Option<String> {
    let dotted = if path.starts_with('[') {
        path.to_string()
    } else {
        format!(".{path}")
    };
    accessors("$", &dotted)
        .filter(|p| !p.length)
        .map(|p| p.path)
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

/// A chai chain after the subject: `.to.have.property("a", 1)`.
struct Chain<'a> {
    words: Vec<(&'a str, Option<&'a str>)>,
    negated: bool,
}

/// chai's language chains: they read well and assert nothing.
const FILLER: &[&str] = &[
    "to", "be", "been", "is", "that", "which", "and", "has", "have", "with", "at", "of", "same",
    "but", "does", "still", "also", "deep",
];

impl<'a> Chain<'a> {
    fn parse(mut text: &'a str) -> Option<Chain<'a>> {
        let mut words = Vec::new();
        let mut negated = false;
        loop {
            text = text.trim_start();
            if text.is_empty() {
                break;
            }
            let after = text.strip_prefix('.')?;
            let end = after
                .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == '$'))
                .unwrap_or(after.len());
            let word = &after[..end];
            if word.is_empty() {
                return None;
            }
            text = &after[end..];
            let args = match text.strip_prefix('(') {
                Some(inner) => {
                    let close = matching_close(inner, 0)?;
                    text = &inner[close + 1..];
                    Some(&inner[..close])
                }
                None => None,
            };
            if word == "not" && args.is_none() {
                negated = !negated;
            } else {
                words.push((word, args));
            }
        }
        Some(Chain { words, negated })
    }

    /// The words that assert something; `a`/`an` without arguments are filler too.
    fn significant(&self) -> Vec<(&'a str, Option<&'a str>)> {
        self.words
            .iter()
            .filter(|(w, args)| {
                !(FILLER.contains(w) || (matches!(*w, "a" | "an") && args.is_none()))
            })
            .copied()
            .collect()
    }

    /// The one assertion of the chain with its arguments.
    fn terminal(&self) -> Option<(&'a str, Vec<&'a str>)> {
        match self.significant().as_slice() {
            [(word, args)] => Some((word, args.map(split_args).unwrap_or_default())),
            _ => None,
        }
    }
}

/// A JavaScript literal the checks can use.
#[derive(Debug, PartialEq)]
enum Literal {
    Value(Value),
    Undefined,
}

fn js_literal(text: &str) -> Option<Literal> {
    let text = text.trim();
    if text == "undefined" {
        return Some(Literal::Undefined);
    }
    if let Some(s) = js_string(text) {
        return Some(Literal::Value(Value::String(s)));
    }
    // Numbers, booleans, null, and arrays or objects written as JSON.
    serde_json::from_str::<Value>(text).ok().map(Literal::Value)
}

fn js_number(text: &str) -> Option<u64> {
    text.trim().parse().ok()
}

/// A quoted JavaScript string with simple escapes; template literals only without `${`.
fn js_string(text: &str) -> Option<String> {
    let text = text.trim();
    let quote = text
        .chars()
        .next()
        .filter(|c| matches!(c, '\'' | '"' | '`'))?;
    let inner = text.strip_prefix(quote)?.strip_suffix(quote)?;
    if quote == '`' && inner.contains("${") {
        return None;
    }
    let mut out = String::with_capacity(inner.len());
    let mut chars = inner.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => out.push(match chars.next()? {
                'n' => '\n',
                't' => '\t',
                'r' => '\r',
                c @ ('\\' | '\'' | '"' | '`' | '/') => c,
                _ => return None,
            }),
            c if c == quote => return None,
            c => out.push(c),
        }
    }
    Some(out)
}

/// A JavaScript regex literal as a pattern for courier's `matches` (Rust regex syntax; a
/// pattern that does not compile there is not converted).
fn js_regex(text: &str) -> Option<String> {
    let text = text.trim();
    let body = text.strip_prefix('/')?;
    let end = body.rfind('/')?;
    let (pattern, flags) = (&body[..end], &body[end + 1..]);
    if pattern.is_empty() || !flags.chars().all(|f| matches!(f, 'g' | 'i' | 'm' | 's')) {
        return None;
    }
    let inline: String = flags.chars().filter(|f| *f != 'g').collect();
    let pattern = if inline.is_empty() {
        pattern.to_string()
    } else {
        format!("(?{inline}){pattern}")
    };
    Regex::new(&pattern).ok().map(|_| pattern)
}

fn strip_parens(mut text: &str) -> &str {
    while let Some(inner) = text.strip_prefix('(')
        && matching_close(inner, 0) == Some(inner.len() - 1)
    {
        text = inner[..inner.len() - 1].trim();
    }
    text
}

/// `a === b` split at its top-level comparison operator.
fn split_comparison(expr: &str) -> Option<(&str, &str, &str)> {
    const OPERATORS: [&str; 6] = ["===", "==", "<=", ">=", "<", ">"];
    let mut depth = 0i32;
    for (i, c) in code_char_indices(expr) {
        match c {
            '(' | '[' | '{' => depth += 1,
            ')' | ']' | '}' => depth -= 1,
            _ if depth == 0 => {
                if let Some(op) = OPERATORS.iter().find(|op| expr[i..].starts_with(**op)) {
                    let (left, right) = (&expr[..i], &expr[i + op.len()..]);
                    if left.ends_with(['!', '=', '<', '>']) || right.starts_with('=') {
                        return None;
                    }
                    return Some((left.trim(), op, right.trim()));
                }
            }
            _ => {}
        }
    }
    None
}

/// Statements of a line, split at `;` outside strings and parentheses.
fn split_statements(text: &str) -> Vec<&str> {
    split_top(text, ';', false)
}

/// Call arguments, split at `,` outside strings and brackets.
fn split_args(text: &str) -> Vec<&str> {
    let parts = split_top(text, ',', true);
    if parts.len() == 1 && parts[0].trim().is_empty() {
        return Vec::new();
    }
    parts.into_iter().map(str::trim).collect()
}

fn split_top(text: &str, separator: char, braces_nest: bool) -> Vec<&str> {
    let mut parts = Vec::new();
    let mut depth = 0i32;
    let mut start = 0;
    for (i, c) in code_char_indices(text) {
        match c {
            '(' | '[' => depth += 1,
            '{' if braces_nest => depth += 1,
            ')' | ']' => depth = (depth - 1).max(0),
            '}' if braces_nest => depth = (depth - 1).max(0),
            c if c == separator && depth == 0 => {
                parts.push(&text[start..i]);
                start = i + c.len_utf8();
            }
            _ => {}
        }
    }
    parts.push(&text[start..]);
    parts
}

/// The index of the bracket closing the one opened just before `text[from..]`.
fn matching_close(text: &str, from: usize) -> Option<usize> {
    let mut depth = 0i32;
    for (i, c) in code_char_indices(&text[from..]) {
        match c {
            '(' | '[' | '{' => depth += 1,
            ')' | ']' | '}' => {
                if depth == 0 {
                    return Some(from + i);
                }
                depth -= 1;
            }
            _ => {}
        }
    }
    None
}

/// The characters of JavaScript source that are code, with their byte offsets: string contents
/// are skipped (their quotes are kept, so a split never lands inside a string).
fn code_char_indices(text: &str) -> impl Iterator<Item = (usize, char)> + '_ {
    let mut quote: Option<char> = None;
    let mut escaped = false;
    text.char_indices().filter(move |&(_, c)| {
        if let Some(q) = quote {
            if escaped {
                escaped = false;
            } else if c == '\\' {
                escaped = true;
            } else if c == q {
                quote = None;
                return true;
            }
            return false;
        }
        if matches!(c, '\'' | '"' | '`') {
            quote = Some(c);
        }
        true
    })
}

fn code_chars(text: &str) -> impl Iterator<Item = char> + '_ {
    code_char_indices(text).map(|(_, c)| c)
}
