//! What an expression reads: the response's JSON, its status, a header, a variable; and
//! the values written in the script.

use oxc_ast::ast::{Expression, UnaryOperator};
use oxc_span::GetSpan;
use serde_json::Value;

use super::{Literal, Subject, Walker};
use crate::import::postman::scripts::{child_path, rust_regex};

impl<'a> Walker<'_> {
    /// The JSONPath of an expression reading the response's JSON: `pm.response.json().a[0]`,
    /// `JSON.parse(responseBody).a`, or a variable that holds a part of it (`jsonData.a`).
    /// The flag is true when it ends in `.length`.
    pub(super) fn json_path(&self, e: &Expression<'a>) -> Option<(String, bool)> {
        let e = e.without_parentheses();
        if is_json_root(e) {
            return Some(("$".into(), false));
        }
        match e {
            Expression::Identifier(id) => self
                .aliases
                .get(id.name.as_str())
                .map(|p| (p.clone(), false)),
            Expression::StaticMemberExpression(m) => {
                let (base, length) = self.json_path(&m.object)?;
                match (length, m.property.name.as_str()) {
                    (true, _) => None,
                    (false, "length") => Some((base, true)),
                    (false, name) => Some((child_path(&base, name), false)),
                }
            }
            Expression::ComputedMemberExpression(m) => {
                let (base, length) = self.json_path(&m.object)?;
                if length {
                    return None;
                }
                match m.expression.without_parentheses() {
                    Expression::NumericLiteral(n) if n.value >= 0.0 && n.value.fract() == 0.0 => {
                        Some((format!("{base}[{}]", n.value as u64), false))
                    }
                    Expression::StringLiteral(s) => Some((child_path(&base, &s.value), false)),
                    _ => None,
                }
            }
            _ => None,
        }
    }

    pub(super) fn subject(&self, e: &Expression<'a>) -> Option<Subject> {
        let e = e.without_parentheses();
        match dotted(e).as_deref() {
            Some("pm.response.code" | "responseCode.code") => return Some(Subject::Status),
            Some("pm.response.responseTime" | "responseTime") => return Some(Subject::Duration),
            Some("pm.response.text()" | "responseBody") => return Some(Subject::Body),
            Some("pm.request.url.toString()" | "request.url") => return Some(Subject::SentUrl),
            _ => {}
        }
        if let Expression::CallExpression(call) = e
            && let [arg] = call.arguments.as_slice()
            && let Some(name) = arg.as_expression().and_then(string)
        {
            match dotted(&call.callee).as_deref() {
                Some("pm.response.headers.get" | "postman.getResponseHeader") => {
                    return Some(Subject::Header(name));
                }
                Some("pm.response.headers.has") => return Some(Subject::HasHeader(name)),
                Some("pm.request.headers.get") => return Some(Subject::SentHeader(name)),
                Some(
                    "pm.environment.get"
                    | "pm.globals.get"
                    | "pm.variables.get"
                    | "pm.collectionVariables.get"
                    | "pm.iterationData.get"
                    | "iterationData.get"
                    | "postman.getEnvironmentVariable"
                    | "postman.getGlobalVariable",
                ) => return Some(Subject::Var(name)),
                Some(
                    "pm.environment.has"
                    | "pm.globals.has"
                    | "pm.variables.has"
                    | "pm.collectionVariables.has"
                    | "pm.iterationData.has",
                ) => return Some(Subject::HasVar(name)),
                _ => {}
            }
        }

        if let Some(member) = e.as_member_expression()
            && member.object().is_specific_id("responseHeaders")
            && let Some(name) = member.static_property_name()
        {
            return Some(Subject::Header(name.to_string()));
        }
        if let Some((path, length)) = self.json_path(e) {
            return Some(Subject::Json { path, length });
        }
        // Postman's old globals, unless the script named a variable of its own so (`var data =
        // JSON.parse(responseBody)` is an alias, found above).
        if let Some(member) = e.as_member_expression()
            && ["environment", "globals", "data", "iterationData"]
                .iter()
                .any(|scope| member.object().is_specific_id(scope))
            && let Some(name) = member.static_property_name()
        {
            return Some(Subject::Var(name.to_string()));
        }
        None
    }

    /// Why an expression courier cannot read is out of reach, when a reason is known.
    pub(super) fn unreadable(&self, e: &Expression<'a>) -> Option<String> {
        let mut root = e.without_parentheses();
        while let Some(inner) = match root {
            Expression::CallExpression(c) => Some(&c.callee),
            e => e.as_member_expression().map(|m| m.object()),
        } {
            root = inner.without_parentheses();
            if let Some(name) = dotted(root) {
                let reason = match name.as_str() {
                    "pm.environment"
                    | "pm.globals"
                    | "pm.variables"
                    | "pm.collectionVariables"
                    | "pm.iterationData"
                    | "environment"
                    | "globals"
                    | "data"
                    | "iterationData"
                    | "postman.getEnvironmentVariable"
                    | "postman.getGlobalVariable" => {
                        format!(
                            "reads a variable (`{name}`), not the response: courier checks responses"
                        )
                    }
                    "pm.request" | "request" => {
                        format!("reads the request (`{name}`), not the response")
                    }
                    "pm.cookies" | "responseCookies" => format!("reads cookies (`{name}`)"),
                    "_" | "CryptoJS" | "cheerio" | "xml2Json" | "tv4" | "atob" | "btoa"
                    | "require" => {
                        format!("uses a sandbox library (`{name}`)")
                    }
                    _ => continue,
                };
                return Some(reason);
            }
        }
        None
    }

    pub(super) fn unknown(&self, e: &Expression<'a>) -> String {
        self.unreadable(e).unwrap_or_else(|| {
            format!(
                "`{}` is not a part of the response courier can read",
                self.text(e.span())
            )
        })
    }
}

/// `pm.response.json()`, `JSON.parse(responseBody)`, `JSON.parse(pm.response.text())`.
pub(super) fn is_json_root(e: &Expression<'_>) -> bool {
    match dotted(e).as_deref() {
        Some("pm.response.json()") => true,
        _ => match e {
            Expression::CallExpression(call) => {
                dotted(&call.callee).as_deref() == Some("JSON.parse")
                    && matches!(
                        call.arguments.as_slice(),
                        [arg] if arg.as_expression().and_then(dotted).is_some_and(|d| d == "responseBody" || d == "pm.response.text()")
                    )
            }
            _ => false,
        },
    }
}

/// A name such as `pm.response.code` or `pm.response.json()` (calls without arguments only).
pub(super) fn dotted(e: &Expression<'_>) -> Option<String> {
    match e.without_parentheses() {
        Expression::Identifier(id) => Some(id.name.to_string()),
        Expression::StaticMemberExpression(m) => {
            Some(format!("{}.{}", dotted(&m.object)?, m.property.name))
        }
        Expression::CallExpression(call) if call.arguments.is_empty() => {
            Some(format!("{}()", dotted(&call.callee)?))
        }
        _ => None,
    }
}

pub(super) fn is_empty_literal(e: &Expression<'_>) -> bool {
    match e.without_parentheses() {
        Expression::ObjectExpression(o) => o.properties.is_empty(),
        Expression::ArrayExpression(a) => a.elements.is_empty(),
        _ => false,
    }
}

pub(super) fn string(e: &Expression<'_>) -> Option<String> {
    match literal(e)? {
        Literal::Value(Value::String(s)) => Some(s),
        _ => None,
    }
}

/// The value of a literal written in the script: strings, numbers, booleans, `null`,
/// `undefined`, regexes, and arrays and objects of those.
pub(super) fn literal(e: &Expression<'_>) -> Option<Literal> {
    Some(Literal::Value(match e.without_parentheses() {
        Expression::StringLiteral(s) => Value::String(s.value.to_string()),
        Expression::NumericLiteral(n) => number(n.value)?,
        Expression::BooleanLiteral(b) => Value::Bool(b.value),
        Expression::NullLiteral(_) => Value::Null,
        Expression::Identifier(id) if id.name == "undefined" => return Some(Literal::Undefined),
        Expression::UnaryExpression(u) if u.operator == UnaryOperator::UnaryNegation => {
            match &u.argument {
                Expression::NumericLiteral(n) => number(-n.value)?,
                _ => return None,
            }
        }
        Expression::TemplateLiteral(t) if t.expressions.is_empty() => {
            Value::String(t.quasis.first()?.value.cooked?.to_string())
        }
        Expression::RegExpLiteral(r) => {
            let raw = r.raw.as_ref()?.as_str();
            let end = raw.rfind('/')?;
            return Some(Literal::Regex(rust_regex(&raw[1..end], &raw[end + 1..])));
        }
        Expression::ArrayExpression(a) => {
            let mut items = Vec::new();
            for element in &a.elements {
                match literal(element.as_expression()?)? {
                    Literal::Value(v) => items.push(v),
                    _ => return None,
                }
            }
            Value::Array(items)
        }
        Expression::ObjectExpression(o) => {
            let mut map = serde_json::Map::new();
            for property in &o.properties {
                let property = property.as_property()?;
                if property.computed || property.method {
                    return None;
                }
                let key = property.key.static_name()?.to_string();
                match literal(&property.value)? {
                    Literal::Value(v) => map.insert(key, v),
                    _ => return None,
                };
            }
            Value::Object(map)
        }
        Expression::CallExpression(call) => Value::String(folded_hash(call)?),
        _ => return None,
    }))
}

/// A hash of a written string, worked out now: `CryptoJS.MD5("x").toString()` (also `SHA1`,
/// `SHA256`, `SHA512`), in hex or, with `CryptoJS.enc.Base64`, base64.
fn folded_hash(call: &oxc_ast::ast::CallExpression<'_>) -> Option<String> {
    use base64::Engine as _;
    use sha2::Digest as _;
    let member = call.callee.as_member_expression()?;
    if member.static_property_name() != Some("toString") {
        return None;
    }
    let base64 = match call.arguments.as_slice() {
        [] => false,
        [encoding] => match dotted(encoding.as_expression()?)?.as_str() {
            "CryptoJS.enc.Hex" => false,
            "CryptoJS.enc.Base64" => true,
            _ => return None,
        },
        _ => return None,
    };
    let Expression::CallExpression(hash) = member.object().without_parentheses() else {
        return None;
    };
    let [input] = hash.arguments.as_slice() else {
        return None;
    };
    let Expression::StringLiteral(input) = input.as_expression()?.without_parentheses() else {
        return None;
    };
    let bytes = input.value.as_bytes();
    let digest: Vec<u8> = match dotted(&hash.callee)?.as_str() {
        "CryptoJS.MD5" => md5::Md5::digest(bytes).to_vec(),
        "CryptoJS.SHA1" => sha1::Sha1::digest(bytes).to_vec(),
        "CryptoJS.SHA256" => sha2::Sha256::digest(bytes).to_vec(),
        "CryptoJS.SHA512" => sha2::Sha512::digest(bytes).to_vec(),
        _ => return None,
    };
    Some(if base64 {
        base64::engine::general_purpose::STANDARD.encode(digest)
    } else {
        digest.iter().map(|b| format!("{b:02x}")).collect()
    })
}

/// A JavaScript number as JSON: integral values as integers.
pub(super) fn number(n: f64) -> Option<Value> {
    if n.fract() == 0.0 && n.abs() < 9_007_199_254_740_992.0 {
        Some(Value::from(n as i64))
    } else {
        serde_json::Number::from_f64(n).map(Value::Number)
    }
}
