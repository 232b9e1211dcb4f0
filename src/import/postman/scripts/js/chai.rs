//! chai: `pm.expect(x).to…` and `pm.response.to…` chains.

use oxc_ast::ast::{Argument, Expression};
use serde_json::Value;

use super::read::{literal, string};
use super::{Converted, Literal, Subject, Target, Walker, added_or_contradicts};
use crate::import::postman::scripts::{child_path, comparison, lodash_path, named_status};

impl<'a> Walker<'_> {
    pub(super) fn expect(&mut self, args: &[Argument<'a>], words: &[Word<'_, 'a>]) -> Converted {
        let subject_expr = args
            .first()
            .and_then(Argument::as_expression)
            .ok_or("`pm.expect` of nothing")?;
        let subject = self
            .subject(subject_expr)
            .ok_or_else(|| self.unknown(subject_expr))?;
        let chain = Chain::new(words);
        let (assertion, args) = chain
            .terminal()
            .ok_or("a chai chain of more than one assertion")?;
        let first = args
            .first()
            .and_then(|a| a.as_expression())
            .and_then(literal);
        let neg = chain.negated;
        match subject {
            Subject::Json { path, length } => {
                let target = Target::Json(path);
                self.json_assertion(&target, length, assertion, &args, neg)
            }
            Subject::Var(name) => {
                let name = self.readable_var(&name)?;
                self.json_assertion(&Target::Var(name), false, assertion, &args, neg)
            }
            Subject::HasVar(name) => {
                let exists = chai_has(assertion, neg)?;
                self.on_var(&name, "exists", exists.into())
            }
            Subject::HasHeader(name) => {
                let exists = chai_has(assertion, neg)?;
                added_or_contradicts(self.asserts.add_header(&name, "exists", exists.into()))
            }
            Subject::Header(name) => {
                let (predicate, operand) = chai_header(assertion, first, neg)?;
                added_or_contradicts(self.asserts.add_header(&name, predicate, operand))
            }
            Subject::SentUrl => {
                let (predicate, operand) = chai_header(assertion, first, neg)?;
                added_or_contradicts(self.asserts.add_sent(None, predicate, operand))
            }
            Subject::SentHeader(name) => {
                let (predicate, operand) = chai_header(assertion, first, neg)?;
                added_or_contradicts(self.asserts.add_sent(Some(&name), predicate, operand))
            }
            _ if neg => Err(format!("`not.{assertion}` courier cannot express")),
            other => self.status_time_body(other, assertion, first, args.len()),
        }
    }

    /// `pm.expect(pm.response.code).to.eql(200)`, `…responseTime).to.be.below(500)`,
    /// `…text()).to.include("x")`.
    pub(super) fn status_time_body(
        &mut self,
        subject: Subject,
        assertion: &str,
        first: Option<Literal>,
        count: usize,
    ) -> Converted {
        let added = match (subject, assertion, first) {
            (Subject::Status, EQUAL!(), Some(Literal::Value(v @ Value::Number(_))))
            | (Subject::Status, "oneOf", Some(Literal::Value(v @ Value::Array(_)))) => {
                self.asserts.add_status(v)
            }
            (Subject::Duration, _, Some(Literal::Value(v))) if v.is_u64() && count == 1 => {
                let ms = v.as_u64().unwrap_or_default();
                match assertion {
                    // courier's `duration: N` means "under N ms".
                    "below" | "lessThan" | "lt" => self.asserts.add_duration(ms),
                    "most" | "lte" => self.asserts.add_duration(ms + 1),
                    _ => return Err(format!("`{assertion}` on the response time")),
                }
            }
            (Subject::Body, INCLUDE!(), Some(Literal::Value(Value::String(s)))) => {
                self.asserts.add_body("contains", s.into())
            }
            (Subject::Body, "match", Some(Literal::Regex(Some(re)))) => {
                self.asserts.add_body("matches", re.into())
            }
            (Subject::Body, EQUAL!(), Some(Literal::Value(Value::String(s)))) => {
                self.asserts.add_body("matches", whole_text(&s).into())
            }
            (subject, _, _) => {
                let what = match subject {
                    Subject::Status => "the status",
                    Subject::Duration => "the response time",
                    _ => "the body",
                };
                return Err(format!("`{assertion}` on {what} courier cannot express"));
            }
        };
        added_or_contradicts(added)
    }

    /// Adds a check on a part of the JSON or on a variable.
    pub(super) fn add(&mut self, target: &Target, predicate: &str, operand: Value) -> bool {
        match target {
            Target::Json(path) => self.asserts.add_json(path, predicate, operand),
            Target::Var(name) => self.asserts.add_var(name, predicate, operand),
        }
    }

    /// The courier name of a variable a check reads, unless this script has set it already:
    /// courier checks variables as the request was sent.
    pub(super) fn readable_var(&mut self, name: &str) -> Result<String, String> {
        let courier = self.names.courier(name);
        if self.captures.contains_key(&courier) {
            return Err(format!(
                "reads `{name}` after this script sets it: courier checks variables as the request was sent"
            ));
        }
        Ok(courier)
    }

    pub(super) fn on_var(&mut self, name: &str, predicate: &str, operand: Value) -> Converted {
        let name = self.readable_var(name)?;
        added_or_contradicts(self.asserts.add_var(&name, predicate, operand))
    }

    pub(super) fn json_assertion(
        &mut self,
        target: &Target,
        length: bool,
        assertion: &str,
        args: &[&Argument<'a>],
        neg: bool,
    ) -> Converted {
        let literal = |i: usize| {
            args.get(i)
                .and_then(|a| a.as_expression())
                .and_then(literal)
        };
        if length {
            // `pm.expect(json.items.length).to.eql(3)`
            return match (assertion, literal(0), neg) {
                (EQUAL!(), Some(Literal::Value(n)), false) if n.is_u64() => {
                    added_or_contradicts(self.add(target, "length", n))
                }
                _ => Err(format!("`{assertion}` on a length")),
            };
        }
        if assertion == "property" && matches!(args.len(), 1 | 2) {
            let Target::Json(path) = target else {
                return Err("`property` of a variable".into());
            };
            let key = match literal(0) {
                Some(Literal::Value(Value::String(k))) => k,
                _ => return Err("`property` with a name that is not a string".into()),
            };
            let child = child_path(path, &key);
            let added = match (literal(1), args.len(), neg) {
                (_, 1, _) => self.asserts.add_json(&child, "exists", Value::Bool(!neg)),
                (Some(Literal::Value(v)), 2, false) => self.asserts.add_json(&child, "equals", v),
                _ => return Err("`property` with a value not written in the script".into()),
            };
            return added_or_contradicts(added);
        }
        let (predicate, operand) = chai_value(assertion, literal(0), args.len(), neg)?;
        added_or_contradicts(self.add(target, predicate, operand))
    }

    /// `pm.response.to.have.status(200)`, `pm.response.to.be.ok`, `.to.have.header("X")`,
    /// `.to.have.jsonBody("a.b", 1)`, `.to.be.json`.
    pub(super) fn response_chain(&mut self, words: &[Word<'_, 'a>]) -> Converted {
        let chain = Chain::new(words);
        let significant = chain.significant();
        if let [("responseTime", None), (op, Some(args))] = significant.as_slice() {
            let ms = match args
                .first()
                .and_then(Argument::as_expression)
                .and_then(literal)
            {
                Some(Literal::Value(v)) if v.is_u64() => v.as_u64().unwrap_or_default(),
                _ => return Err("a response time compared with something not a number".into()),
            };
            let added = match *op {
                "below" | "lessThan" | "lt" if !chain.negated => self.asserts.add_duration(ms),
                "most" | "lte" if !chain.negated => self.asserts.add_duration(ms + 1),
                _ => return Err(format!("`{op}` on the response time")),
            };
            return added_or_contradicts(added);
        }
        let [(assertion, args)] = significant.as_slice() else {
            return Err("a `pm.response` chain courier does not know".into());
        };
        let args: Vec<&Expression<'a>> = args
            .map(|a| a.iter().filter_map(Argument::as_expression).collect())
            .unwrap_or_default();
        let string_at = |i: usize| args.get(i).and_then(|a| string(a));
        if chain.negated {
            return match (*assertion, args.as_slice()) {
                ("header", [_]) => {
                    let name = string_at(0).ok_or("a header name that is not a string")?;
                    added_or_contradicts(self.asserts.add_header(&name, "exists", false.into()))
                }
                _ => Err(format!(
                    "`pm.response.to.not.{assertion}` courier cannot express"
                )),
            };
        }
        if let Some(status) = named_status(assertion) {
            if !args.is_empty() {
                return Err(format!("`{assertion}` with arguments"));
            }
            return added_or_contradicts(self.asserts.add_status(status));
        }
        self.response_assertion(assertion, &args)
    }

    /// `pm.request.to.have.header("X")`, `….header("X", "value")`, `pm.request.to.not.have.header("X")`:
    /// checks of the request as sent.
    pub(super) fn request_chain(&mut self, words: &[Word<'_, 'a>]) -> Converted {
        let chain = Chain::new(words);
        let significant = chain.significant();
        let [("header", Some(args))] = significant.as_slice() else {
            return Err("a `pm.request` chain courier does not know".into());
        };
        let args: Vec<&Expression<'a>> = args.iter().filter_map(Argument::as_expression).collect();
        let name = args
            .first()
            .and_then(|a| string(a))
            .ok_or("a header name that is not a string")?;
        let (predicate, operand) = match (args.get(1).map(|a| string(a)), chain.negated) {
            (None, negated) => ("exists", Value::Bool(!negated)),
            (Some(Some(value)), false) => ("equals", value.into()),
            _ => return Err("a request header compared with something not a string".into()),
        };
        added_or_contradicts(self.asserts.add_sent(Some(&name), predicate, operand))
    }

    /// `pm.response.to.have.<assertion>(args)`: status, header, body, json, jsonBody.
    pub(super) fn response_assertion(
        &mut self,
        assertion: &str,
        args: &[&Expression<'a>],
    ) -> Converted {
        let string_at = |i: usize| args.get(i).and_then(|a| string(a));
        let added = match (assertion, args) {
            ("status" | "statusCode", [code]) => match literal(code) {
                Some(Literal::Value(n)) if n.is_u64() => self.asserts.add_status(n),
                _ => return Err("`status` of something not a code (a reason phrase?)".into()),
            },
            ("statusCodeClass", [class]) => match literal(class) {
                Some(Literal::Value(n)) if (1..=5).contains(&n.as_u64().unwrap_or(0)) => {
                    self.asserts.add_status(format!("{n}xx").into())
                }
                _ => return Err("`statusCodeClass` of something not 1 to 5".into()),
            },
            ("header", [_]) => {
                let name = string_at(0).ok_or("a header name that is not a string")?;
                self.asserts.add_header(&name, "exists", true.into())
            }
            ("header", [_, _]) => match (string_at(0), string_at(1)) {
                (Some(n), Some(v)) => self.asserts.add_header(&n, "equals", v.into()),
                _ => return Err("a header name or value that is not a string".into()),
            },
            ("body", [_]) => match string_at(0) {
                Some(text) => self.asserts.add_body("matches", whole_text(&text).into()),
                None => return Err("`body` of something not a string".into()),
            },
            ("json" | "jsonBody", []) => self.asserts.add_json("$", "exists", true.into()),
            ("jsonBody", [path, _rest @ ..]) if string(path).is_none() => {
                // chai-postman reads only a string path: given an object, it asserts nothing.
                return Err(
                    "`jsonBody` with a value that is not a path checks nothing in Postman: nothing to check"
                        .into(),
                );
            }
            ("jsonBody", [path, rest @ ..]) if rest.len() <= 1 => {
                let path = string(path).and_then(|p| lodash_path(&p));
                let path = path.ok_or("`jsonBody` with a path that is not a string")?;
                match rest.first().map(|v| literal(v)) {
                    None => self.asserts.add_json(&path, "exists", true.into()),
                    Some(Some(Literal::Value(v))) => self.asserts.add_json(&path, "equals", v),
                    Some(_) => {
                        return Err("`jsonBody` with a value not written in the script".into());
                    }
                }
            }
            _ => {
                return Err(format!(
                    "`pm.response.to.{assertion}` courier cannot express"
                ));
            }
        };
        added_or_contradicts(added)
    }
}

/// `pm.expect(x.has("y")).to.be.true`: whether `y` must exist.
pub(super) fn chai_has(assertion: &str, neg: bool) -> Result<bool, String> {
    match (assertion, neg) {
        ("true" | "ok", false) | ("false", true) => Ok(true),
        ("false", false) | ("true" | "ok", true) => Ok(false),
        _ => Err(format!("`{assertion}` on `has`")),
    }
}

/// A chai assertion on a header's value as a header predicate.
pub(super) fn chai_header(
    assertion: &str,
    first: Option<Literal>,
    neg: bool,
) -> Result<(&'static str, Value), String> {
    Ok(match (assertion, first, neg) {
        (EQUAL!(), Some(Literal::Value(Value::String(s))), false) => ("equals", s.into()),
        (INCLUDE!(), Some(Literal::Value(Value::String(s))), false) => ("contains", s.into()),
        ("match", Some(Literal::Regex(Some(re))), false) => ("matches", re.into()),
        ("exist" | "exists" | "ok", None, false) | ("undefined", None, true) => {
            ("exists", true.into())
        }
        ("exist" | "exists", None, true) | ("undefined", None, false) => ("exists", false.into()),
        _ => return Err(format!("`{assertion}` on a header")),
    })
}

/// A chai assertion on a JSON value (or a variable) as a JSON predicate: `eql(1)`, `be.true`,
/// `a("string")`, `lengthOf(2)`, `include(3)`, `match(/x/)`, `above(0)`, with `not`.
pub(super) fn chai_value(
    assertion: &str,
    first: Option<Literal>,
    count: usize,
    neg: bool,
) -> Result<(&'static str, Value), String> {
    Ok(match (assertion, count, neg) {
        (EQUAL!(), 1, _) => match first {
            Some(Literal::Value(v)) => (if neg { "not_equals" } else { "equals" }, v),
            Some(Literal::Undefined) => ("exists", Value::Bool(neg)),
            _ => return Err("compared with a value not written in the script".into()),
        },
        ("true" | "false" | "null", 0, _) => {
            let v: Value = match assertion {
                "true" => true.into(),
                "false" => false.into(),
                _ => Value::Null,
            };
            (if neg { "not_equals" } else { "equals" }, v)
        }
        ("ok", 0, _) => ("truthy", Value::Bool(!neg)),
        ("undefined", 0, _) => ("exists", Value::Bool(neg)),
        ("exist" | "exists", 0, _) => ("exists", Value::Bool(!neg)),
        ("empty", 0, false) => ("length", 0.into()),
        ("a" | "an", 1, false) => match first {
            Some(Literal::Value(Value::String(t))) => match t.as_str() {
                "undefined" => ("exists", false.into()),
                "string" | "number" | "boolean" | "array" | "object" | "null" => ("type", t.into()),
                _ => return Err(format!("`a(\"{t}\")`")),
            },
            _ => return Err("`a` of something not a type name".into()),
        },
        ("lengthOf" | "length", 1, false) => match first {
            Some(Literal::Value(n)) if n.is_u64() => ("length", n),
            _ => return Err("a length that is not a count".into()),
        },
        (INCLUDE!(), 1, false) => match first {
            Some(Literal::Value(v)) => ("contains", v),
            _ => return Err("`include` of a value not written in the script".into()),
        },
        ("match", 1, false) => match first {
            Some(Literal::Regex(Some(re))) => ("matches", re.into()),
            _ => return Err("`match` of something Rust's regex cannot express".into()),
        },
        (
            op @ ("above" | "gt" | "greaterThan" | "below" | "lt" | "lessThan" | "least" | "gte"
            | "most" | "lte"),
            1,
            false,
        ) => match first {
            Some(Literal::Value(n @ Value::Number(_))) => (comparison(op), n),
            _ => return Err(format!("`{op}` of something not a number")),
        },
        _ => {
            return Err(format!(
                "`{}{assertion}` courier cannot express",
                if neg { "not." } else { "" }
            ));
        }
    })
}

/// A regex that matches exactly `text`, for `body` equality.
pub(super) fn whole_text(text: &str) -> String {
    format!("(?s)\\A{}\\z", regex::escape(text))
}

macro_rules! equal_words {
    () => {
        "eql" | "equal" | "equals" | "eq"
    };
}
use equal_words as EQUAL;

macro_rules! include_words {
    () => {
        "include" | "includes" | "contain" | "contains"
    };
}
use include_words as INCLUDE;

/// One link of a member chain: `to`, `property("a", 1)`.
pub(super) type Word<'e, 'a> = (&'a str, Option<&'e [Argument<'a>]>);

/// A chain such as `pm.expect(x).to.have.property("a")` as its root (`pm`) and its words,
/// from the root out: `expect(x)`, `to`, `have`, `property("a")`.
pub(super) fn chain<'e, 'a>(mut e: &'e Expression<'a>) -> (&'e Expression<'a>, Vec<Word<'e, 'a>>) {
    let mut words = Vec::new();
    loop {
        match e.without_parentheses() {
            Expression::CallExpression(call) => match &call.callee {
                Expression::StaticMemberExpression(m) => {
                    words.push((m.property.name.as_str(), Some(call.arguments.as_slice())));
                    e = &m.object;
                }
                _ => break,
            },
            Expression::StaticMemberExpression(m) => {
                words.push((m.property.name.as_str(), None));
                e = &m.object;
            }
            _ => break,
        }
    }
    words.reverse();
    (e.without_parentheses(), words)
}

/// chai's language chains: they read well and assert nothing.
pub(super) const FILLER: &[&str] = &[
    "to", "be", "been", "is", "that", "which", "and", "has", "have", "with", "at", "of", "same",
    "but", "does", "still", "also", "deep",
];

/// A chai chain after its subject, with `not` taken out.
pub(super) struct Chain<'w, 'e, 'a> {
    words: Vec<&'w Word<'e, 'a>>,
    negated: bool,
}

impl<'w, 'e, 'a> Chain<'w, 'e, 'a> {
    pub(super) fn new(words: &'w [Word<'e, 'a>]) -> Self {
        let mut negated = false;
        let mut kept = Vec::new();
        for word in words {
            if word.0 == "not" && word.1.is_none() {
                negated = !negated;
            } else {
                kept.push(word);
            }
        }
        Chain {
            words: kept,
            negated,
        }
    }

    /// The words that assert something; `a`/`an` without arguments are filler too.
    pub(super) fn significant(&self) -> Vec<Word<'e, 'a>> {
        self.words
            .iter()
            .filter(|(w, args)| {
                !(FILLER.contains(w) || (matches!(*w, "a" | "an") && args.is_none()))
            })
            .map(|w| **w)
            .collect()
    }

    /// The one assertion of the chain with its arguments.
    pub(super) fn terminal(&self) -> Option<(&'a str, Vec<&'e Argument<'a>>)> {
        match self.significant().as_slice() {
            [(word, args)] => Some((word, args.map(|a| a.iter().collect()).unwrap_or_default())),
            _ => None,
        }
    }
}
