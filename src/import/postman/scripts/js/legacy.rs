//! The older `tests["…"] = condition` style: comparisons, `&&`, `!`, `in`, truthiness and
//! the predicates of lodash, `Array.isArray` and regex literals.

use oxc_allocator::Allocator;
use oxc_ast::ast::{
    Argument, BinaryExpression, BinaryOperator, CallExpression, Expression, LogicalOperator,
    UnaryOperator,
};
use oxc_parser::Parser;
use oxc_span::SourceType;
use serde_json::Value;

use super::chai::whole_text;
use super::read::{dotted, literal, string};
use super::{Converted, Literal, Subject, Walker, added_or_contradicts};
use crate::import::postman::scripts::{child_path, lodash_path};

impl<'a> Walker<'_> {
    pub(super) fn condition(&mut self, e: &Expression<'a>) -> Converted {
        let e = e.without_parentheses();
        match e {
            Expression::BooleanLiteral(b) if b.value => {
                Err("`tests[…] = true` passes whatever the response: nothing to check".into())
            }
            Expression::LogicalExpression(l) if l.operator == LogicalOperator::And => {
                let left = self.condition(&l.left)?;
                let right = self.condition(&l.right)?;
                Ok(left || right)
            }
            Expression::BinaryExpression(b) => self.binary(b),
            Expression::UnaryExpression(u) if u.operator == UnaryOperator::LogicalNot => {
                self.negated(&u.argument)
            }
            Expression::CallExpression(c) => self.predicate_call(c),
            Expression::Identifier(id) if self.conditions.contains_key(id.name.as_str()) => {
                let text = self.conditions[id.name.as_str()].clone();
                self.written_condition(&text)
            }
            _ => match self.subject(e) {
                Some(subject) => self.truthy(subject, true),
                None => Err(self.unknown(e)),
            },
        }
    }

    /// A condition kept as source text (a variable that holds one), parsed again.
    pub(super) fn written_condition(&mut self, text: &str) -> Converted {
        let allocator = Allocator::default();
        let parsed = Parser::new(&allocator, text, SourceType::cjs()).parse_expression();
        match parsed {
            Ok(e) => self.condition(&e),
            Err(_) => Err("a condition courier could not read again".into()),
        }
    }

    /// `!x`: `x` is falsy; `!!x`: truthy.
    pub(super) fn negated(&mut self, e: &Expression<'a>) -> Converted {
        let e = e.without_parentheses();
        if let Expression::UnaryExpression(u) = e
            && u.operator == UnaryOperator::LogicalNot
        {
            return self.condition(&u.argument);
        }
        if let Expression::BinaryExpression(b) = e
            && b.operator == BinaryOperator::In
        {
            return self.has_key(b, false);
        }
        match self.subject(e) {
            Some(subject) => self.truthy(subject, false),
            None => Err(self.unknown(e)),
        }
    }

    pub(super) fn truthy(&mut self, subject: Subject, want: bool) -> Converted {
        let added = match subject {
            Subject::Json {
                path,
                length: false,
            } => self.asserts.add_json(&path, "truthy", want.into()),
            // An empty header is as falsy as a missing one; courier tells only the second.
            Subject::Header(name) | Subject::HasHeader(name) => {
                self.asserts.add_header(&name, "exists", want.into())
            }
            Subject::Body if want => self.asserts.add_body("matches", "(?s).".into()),
            Subject::Var(name) => return self.on_var(&name, "truthy", want.into()),
            Subject::HasVar(name) => return self.on_var(&name, "exists", want.into()),
            _ => return Err("a truth test courier cannot express".into()),
        };
        added_or_contradicts(added)
    }

    pub(super) fn binary(&mut self, b: &BinaryExpression<'a>) -> Converted {
        use BinaryOperator as Op;
        if b.operator == Op::In {
            return self.has_key(b, true);
        }
        let (side, written, op) = match (literal(&b.right), literal(&b.left)) {
            (Some(l), _) => (&b.left, l, b.operator),
            (None, Some(l)) => (&b.right, l, flip(b.operator)),
            (None, None) => {
                return Err("compares two values that are not written in the script".into());
            }
        };
        // `responseBody.indexOf("x") !== -1`, `json.name.indexOf("x") > -1`
        if let Expression::CallExpression(call) = side.without_parentheses()
            && let Some(member) = call.callee.as_member_expression()
            && member.static_property_name() == Some("indexOf")
            && let [arg] = call.arguments.as_slice()
            && let Some(Literal::Value(needle)) = arg.as_expression().and_then(literal)
        {
            let found = matches!(
                (op, &written),
                (Op::StrictInequality | Op::Inequality | Op::GreaterThan, Literal::Value(v))
                    if v.as_i64() == Some(-1)
            ) || matches!((op, &written), (Op::GreaterEqualThan, Literal::Value(v)) if v.as_i64() == Some(0));
            if !found {
                return Err("an `indexOf` test other than \"is found\"".into());
            }
            return self.contains(member.object(), needle);
        }
        let subject = self.subject(side).ok_or_else(|| self.unknown(side))?;
        self.compare(subject, op, written)
    }

    /// `'key' in json.part`, or with `want` false, `!('key' in json.part)`.
    fn has_key(&mut self, b: &BinaryExpression<'a>, want: bool) -> Converted {
        let key = string(&b.left).ok_or("`in` with a key that is not a string")?;
        match self.json_path(&b.right) {
            Some((path, false)) => added_or_contradicts(self.asserts.add_json(
                &child_path(&path, &key),
                "exists",
                want.into(),
            )),
            _ => Err(self.unknown(&b.right)),
        }
    }

    pub(super) fn compare(
        &mut self,
        subject: Subject,
        op: BinaryOperator,
        literal: Literal,
    ) -> Converted {
        use BinaryOperator as Op;
        let number = |l: &Literal| match l {
            Literal::Value(v @ Value::Number(_)) => Some(v.clone()),
            // `responseCode.code == "200"`: JavaScript's `==` reads the string as a number.
            Literal::Value(Value::String(s)) if op == Op::Equality => {
                s.trim().parse::<u64>().ok().map(Value::from)
            }
            _ => None,
        };
        let added = match (subject, op) {
            (Subject::Status, Op::StrictEquality | Op::Equality) => match number(&literal) {
                Some(code) => self.asserts.add_status(code),
                None => return Err("a status compared with something not a number".into()),
            },
            (Subject::Duration, Op::LessThan | Op::LessEqualThan) => {
                let Some(ms) = number(&literal).and_then(|v| v.as_u64()) else {
                    return Err("a response time compared with something not a number".into());
                };
                self.asserts
                    .add_duration(if op == Op::LessThan { ms } else { ms + 1 })
            }
            (Subject::Body, Op::StrictEquality | Op::Equality) => match literal {
                Literal::Value(Value::String(s)) => {
                    self.asserts.add_body("matches", whole_text(&s).into())
                }
                _ => return Err("the body compared with something not a string".into()),
            },
            (Subject::Header(name), Op::StrictEquality | Op::Equality) => match literal {
                Literal::Value(Value::String(s)) => {
                    self.asserts.add_header(&name, "equals", s.into())
                }
                Literal::Undefined | Literal::Value(Value::Null) => {
                    self.asserts.add_header(&name, "exists", false.into())
                }
                _ => return Err("a header compared with something not a string".into()),
            },
            (Subject::SentUrl, Op::StrictEquality | Op::Equality) => match literal {
                Literal::Value(Value::String(s)) => self.asserts.add_sent(None, "equals", s.into()),
                _ => return Err("the request URL compared with something not a string".into()),
            },
            (Subject::Header(name), Op::StrictInequality | Op::Inequality)
                if matches!(literal, Literal::Undefined | Literal::Value(Value::Null)) =>
            {
                self.asserts.add_header(&name, "exists", true.into())
            }
            (Subject::Json { path, length: true }, Op::StrictEquality | Op::Equality) => {
                match number(&literal) {
                    Some(n) if n.is_u64() => self.asserts.add_json(&path, "length", n),
                    _ => return Err("a length compared with something not a count".into()),
                }
            }
            (
                Subject::Json {
                    path,
                    length: false,
                },
                op,
            ) => {
                let (predicate, operand) = json_comparison(op, literal)?;
                self.asserts.add_json(&path, predicate, operand)
            }
            (Subject::Var(name), op) => {
                let (predicate, operand) = json_comparison(op, literal)?;
                return self.on_var(&name, predicate, operand);
            }
            _ => return Err("a comparison courier cannot express".into()),
        };
        added_or_contradicts(added)
    }

    /// `responseBody.has("x")`, `_.isArray(x)`, `/re/.test(x)`, `x.startsWith("a")`, …
    pub(super) fn predicate_call(&mut self, call: &CallExpression<'a>) -> Converted {
        let args: Vec<&Expression<'a>> = call
            .arguments
            .iter()
            .filter_map(Argument::as_expression)
            .collect();
        if args.len() != call.arguments.len() {
            return Err("a call with a spread argument".into());
        }
        if let Some(name) = dotted(&call.callee)
            && let Some(converted) = self.function_predicate(&name, &args)
        {
            return converted;
        }
        self.method_predicate(call, &args)
    }

    /// `_.isArray(x)`, `Number.isInteger(x)`, `_.startsWith(x, "a")`, `_.includes(x, 1)`,
    /// `_.has(x, "a.b")`; `None` when the function is none of these.
    pub(super) fn function_predicate(
        &mut self,
        name: &str,
        args: &[&Expression<'a>],
    ) -> Option<Converted> {
        let type_of = match name {
            "Array.isArray" | "_.isArray" => Some("array"),
            "_.isString" => Some("string"),
            "_.isNumber" => Some("number"),
            "_.isBoolean" => Some("boolean"),
            "_.isNull" => Some("null"),
            "_.isInteger" | "Number.isInteger" => Some("integer"),
            "_.isPlainObject" => Some("object"),
            _ => None,
        };
        Some(match (name, args) {
            (_, [subject]) if type_of.is_some() => {
                self.on_json(subject, "type", type_of.unwrap_or_default().into())
            }
            ("_.startsWith", [subject, prefix]) => match string(prefix) {
                Some(prefix) => self.on_json(subject, "starts_with", prefix.into()),
                None => Err("`_.startsWith` of something not a string".into()),
            },
            ("_.includes", [subject, needle]) => match literal(needle) {
                Some(Literal::Value(v)) => self.contains(subject, v),
                _ => Err("`_.includes` of something not written in the script".into()),
            },
            ("_.has", [subject, path]) => {
                let base = self.json_path(subject).map(|(base, _)| base);
                let path = string(path).and_then(|p| lodash_path(&p));
                match (base, path) {
                    (Some(base), Some(path)) => {
                        let path = format!("{base}{}", &path[1..]);
                        added_or_contradicts(self.asserts.add_json(&path, "exists", true.into()))
                    }
                    (None, _) => Err(self.unknown(subject)),
                    (_, None) => Err("`_.has` with a path that is not a string".into()),
                }
            }
            _ => return None,
        })
    }

    /// `/re/.test(x)`, `x.startsWith("a")`, `x.includes(1)`, `responseBody.has("a")`,
    /// `x.hasOwnProperty("k")`.
    pub(super) fn method_predicate(
        &mut self,
        call: &CallExpression<'a>,
        args: &[&Expression<'a>],
    ) -> Converted {
        let Some(member) = call.callee.as_member_expression() else {
            return Err(format!(
                "`{}` is not a check courier knows",
                self.text(call.span)
            ));
        };
        let object = member.object().without_parentheses();
        match (member.static_property_name(), args) {
            (Some("test"), [subject]) => match object {
                Expression::RegExpLiteral(_) => match literal(object) {
                    Some(Literal::Regex(Some(pattern))) => self.matches(subject, pattern),
                    _ => Err("a regex Rust's regex engine cannot express".into()),
                },
                _ => Err(self.unknown(object)),
            },
            (Some("startsWith"), [prefix]) => {
                let prefix = string(prefix).ok_or("`startsWith` of something not a string")?;
                self.on_json(object, "starts_with", prefix.into())
            }
            (Some("includes"), [needle]) => match literal(needle) {
                Some(Literal::Value(v)) => self.contains(object, v),
                _ => Err("`includes` of something not written in the script".into()),
            },
            (Some("has"), [needle]) if matches!(self.subject(object), Some(Subject::Body)) => {
                let needle = string(needle).ok_or("`has` of something not a string")?;
                added_or_contradicts(self.asserts.add_body("contains", needle.into()))
            }
            (Some("hasOwnProperty"), [key]) => {
                let key = string(key).ok_or("`hasOwnProperty` of something not a string")?;
                match self.json_path(object) {
                    Some((path, false)) => added_or_contradicts(self.asserts.add_json(
                        &child_path(&path, &key),
                        "exists",
                        true.into(),
                    )),
                    _ => Err(self.unknown(object)),
                }
            }
            _ => Err(self.unreadable(&call.callee).unwrap_or_else(|| {
                format!("`{}` is not a check courier knows", self.text(call.span))
            })),
        }
    }

    pub(super) fn on_json(
        &mut self,
        subject: &Expression<'a>,
        predicate: &str,
        operand: Value,
    ) -> Converted {
        match self.json_path(subject) {
            Some((path, false)) => {
                added_or_contradicts(self.asserts.add_json(&path, predicate, operand))
            }
            _ => Err(self.unknown(subject)),
        }
    }

    /// A substring of the body, a header or a JSON string, or an element of a JSON array.
    pub(super) fn contains(&mut self, subject: &Expression<'a>, needle: Value) -> Converted {
        let added = match (self.subject(subject), &needle) {
            (Some(Subject::Body), Value::String(s)) => {
                self.asserts.add_body("contains", s.clone().into())
            }
            (Some(Subject::Header(name)), Value::String(s)) => {
                self.asserts.add_header(&name, "contains", s.clone().into())
            }
            (
                Some(Subject::Json {
                    path,
                    length: false,
                }),
                _,
            ) => self.asserts.add_json(&path, "contains", needle),
            _ => return Err(self.unknown(subject)),
        };
        added_or_contradicts(added)
    }

    pub(super) fn matches(&mut self, subject: &Expression<'a>, pattern: String) -> Converted {
        let added = match self.subject(subject) {
            Some(Subject::Body) => self.asserts.add_body("matches", pattern.into()),
            Some(Subject::Header(name)) => {
                self.asserts.add_header(&name, "matches", pattern.into())
            }
            Some(Subject::Json {
                path,
                length: false,
            }) => self.asserts.add_json(&path, "matches", pattern.into()),
            _ => return Err(self.unknown(subject)),
        };
        added_or_contradicts(added)
    }
}

/// The predicate and operand for `json OP literal`.
pub(super) fn json_comparison(
    op: BinaryOperator,
    literal: Literal,
) -> Result<(&'static str, Value), String> {
    use BinaryOperator as Op;
    Ok(match (op, literal) {
        (Op::StrictEquality, Literal::Value(v)) => ("equals", v),
        (Op::StrictEquality, Literal::Undefined) => ("exists", false.into()),
        (Op::StrictInequality, Literal::Value(v)) => ("not_equals", v),
        (Op::StrictInequality, Literal::Undefined) => ("exists", true.into()),
        // `==` is JavaScript's loose equality: `"1" == 1`, `undefined == null`.
        (Op::Equality, Literal::Value(v)) => ("loosely_equals", v),
        (Op::Equality, Literal::Undefined) => ("loosely_equals", Value::Null),
        (
            op @ (Op::LessThan | Op::LessEqualThan | Op::GreaterThan | Op::GreaterEqualThan),
            Literal::Value(n @ Value::Number(_)),
        ) => (
            match op {
                Op::LessThan => "lt",
                Op::LessEqualThan => "lte",
                Op::GreaterThan => "gt",
                _ => "gte",
            },
            n,
        ),
        (Op::Inequality, _) => return Err("`!=` (loose inequality) courier cannot express".into()),
        _ => return Err("a comparison courier cannot express".into()),
    })
}

/// `a < b` read from the other side: `b > a`.
pub(super) fn flip(op: BinaryOperator) -> BinaryOperator {
    use BinaryOperator as Op;
    match op {
        Op::LessThan => Op::GreaterThan,
        Op::LessEqualThan => Op::GreaterEqualThan,
        Op::GreaterThan => Op::LessThan,
        Op::GreaterEqualThan => Op::LessEqualThan,
        op => op,
    }
}
