//! The walk over a test script's syntax tree.
//!
//! oxc parses the script as Postman's sandbox runs it (a script body, where a top-level `return`
//! is allowed). Each statement is then converted whole or not at all: its checks are added to
//! the request's [`Asserts`] only when every part of it is understood, and otherwise the
//! statement is left, with its line and the reason. Control flow is followed, not guessed:
//! a `pm.test` callback always runs; an `if` may not, so what is under it is left (except the
//! `if (c) { tests[k] = true } else { tests[k] = false }` idiom, which is `tests[k] = c`); code
//! after a `return` never runs.

use std::collections::HashMap;

use indexmap::IndexMap;
use oxc_allocator::Allocator;
use oxc_ast::ast::{
    Argument, ArrowFunctionBody, AssignmentOperator, AssignmentTarget, BinaryExpression,
    BinaryOperator, CallExpression, Expression, IfStatement, LogicalOperator, Statement,
    TryStatement, UnaryOperator, VariableDeclaration,
};
use oxc_parser::{ParseOptions, Parser};
use oxc_span::{GetSpan, SourceType, Span};
use serde_json::{Value, json};

use super::super::names::Names;
use super::{Asserts, child_path, comparison, lodash_path, named_status, names_set, rust_regex};

/// What became of one line of the script.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Line {
    /// Blank, a comment, `pm.test(…, function () {`, `});`, `var json = pm.response.json();`.
    Frame,
    Converted,
    /// Left as it is: not understood, or under a condition.
    Other,
    /// After a `return`: it never runs.
    Dead,
}

impl Line {
    fn weight(self) -> u8 {
        match self {
            Line::Frame => 0,
            Line::Dead => 1,
            Line::Converted => 2,
            Line::Other => 3,
        }
    }
}

/// What the walk found, by byte span of the script.
pub(super) struct Marks {
    spans: Vec<(Span, Line)>,
    line_starts: Vec<usize>,
    pub converted: usize,
    /// Each statement left, with its line (1-based) and why.
    pub left: Vec<(usize, String)>,
}

impl Marks {
    fn new(source: &str) -> Marks {
        let line_starts = std::iter::once(0)
            .chain(source.match_indices('\n').map(|(i, _)| i + 1))
            .collect();
        Marks {
            spans: Vec::new(),
            line_starts,
            converted: 0,
            left: Vec::new(),
        }
    }

    fn line_of(&self, offset: u32) -> usize {
        self.line_starts
            .partition_point(|start| *start <= offset as usize)
            .saturating_sub(1)
    }

    /// The strongest mark of each line: a line with anything left is left.
    pub fn per_line(&self, count: usize) -> Vec<Line> {
        let mut kinds = vec![Line::Frame; count];
        for (span, kind) in &self.spans {
            let first = self.line_of(span.start);
            let last = self.line_of(span.end.saturating_sub(1).max(span.start));
            for line in kinds.iter_mut().take(last + 1).skip(first) {
                if kind.weight() > line.weight() {
                    *line = *kind;
                }
            }
        }
        kinds
    }
}

/// Parses `source` and converts what it can into `asserts` and `captures`.
pub(super) fn convert(
    source: &str,
    asserts: &mut Asserts,
    captures: &mut IndexMap<String, Value>,
    names: &mut Names,
) -> Marks {
    let allocator = Allocator::default();
    let options = ParseOptions {
        allow_return_outside_function: true,
        ..ParseOptions::default()
    };
    let parsed = Parser::new(&allocator, source, SourceType::cjs())
        .with_options(options)
        .parse();
    let mut marks = Marks::new(source);
    if let Some(error) = parsed.diagnostics.first() {
        let offset = error.labels.first().map_or(0, |label| label.offset());
        let line = marks.line_of(offset) + 1;
        marks
            .spans
            .push((Span::new(0, source.len() as u32), Line::Other));
        marks.left.push((
            line,
            format!("not JavaScript the parser reads ({})", error.message),
        ));
        return marks;
    }
    let mut walker = Walker {
        source,
        asserts,
        captures,
        names,
        aliases: HashMap::new(),
        conditions: HashMap::new(),
        guarded: false,
        marks: &mut marks,
    };
    walker.block(&parsed.program.body);
    marks
}

/// The variables a pre-request script sets to values written in it, when that is all it does
/// (besides logging): `pm.environment.set("var", "replaced")`. `None` for anything else.
pub(in crate::import::postman) fn pre_request_sets(source: &str) -> Option<Vec<(String, Value)>> {
    let allocator = Allocator::default();
    let options = ParseOptions {
        allow_return_outside_function: true,
        ..ParseOptions::default()
    };
    let parsed = Parser::new(&allocator, source, SourceType::cjs())
        .with_options(options)
        .parse();
    if !parsed.diagnostics.is_empty() {
        return None;
    }
    let mut sets = Vec::new();
    for statement in &parsed.program.body {
        let Statement::ExpressionStatement(s) = statement else {
            return None;
        };
        let Expression::CallExpression(call) = s.expression.without_parentheses() else {
            return None;
        };
        let callee = dotted(&call.callee)?;
        if callee.starts_with("console.") {
            continue;
        }
        if !SETTERS.contains(&callee.as_str()) {
            return None;
        }
        let [name, value] = call.arguments.as_slice() else {
            return None;
        };
        let name = string(name.as_expression()?)?;
        let Literal::Value(value) = literal(value.as_expression()?)? else {
            return None;
        };
        // Postman reads a name from the narrowest scope that has it: a local variable, then
        // the environment, the collection, the globals. Within one scope the later set wins.
        let rank = match callee.as_str() {
            "pm.variables.set" => 3,
            "pm.environment.set" | "postman.setEnvironmentVariable" => 2,
            "pm.collectionVariables.set" => 1,
            _ => 0,
        };
        match sets.iter_mut().find(|(n, _, _)| *n == name) {
            Some(set) if set.1 <= rank => *set = (name, rank, value),
            Some(_) => {}
            None => sets.push((name, rank, value)),
        }
    }
    (!sets.is_empty()).then(|| sets.into_iter().map(|(n, _, v)| (n, v)).collect())
}

/// The calls that set a variable, in every scope and both styles.
const SETTERS: [&str; 6] = [
    "pm.environment.set",
    "pm.collectionVariables.set",
    "pm.globals.set",
    "pm.variables.set",
    "postman.setEnvironmentVariable",
    "postman.setGlobalVariable",
];

/// A JavaScript value written in the script.
#[derive(Debug, Clone, PartialEq)]
enum Literal {
    Value(Value),
    Undefined,
    /// A regex literal, as a Rust pattern (`None` when Rust's regex cannot express it).
    Regex(Option<String>),
}

/// What an expression reads from the response.
#[derive(Debug, Clone, PartialEq)]
enum Subject {
    Status,
    Duration,
    Body,
    Header(String),
    /// `pm.response.headers.has("X")`
    HasHeader(String),
    /// A JSONPath; `length` when the expression ends in `.length`.
    Json {
        path: String,
        length: bool,
    },
    /// A variable, by its Postman name: `pm.environment.get("x")`, `data.x`.
    Var(String),
    /// `pm.environment.has("x")`
    HasVar(String),
}

/// What a value check is on.
enum Target {
    Json(String),
    /// A variable, by its courier name.
    Var(String),
}

/// Why a statement was left; `Ok(true)` when it added checks, `Ok(false)` when it needs none
/// (`tests["x"] = true`).
type Converted = Result<bool, String>;

struct Walker<'w> {
    source: &'w str,
    asserts: &'w mut Asserts,
    captures: &'w mut IndexMap<String, Value>,
    names: &'w mut Names,
    /// Variables holding the response's JSON or a part of it, as a JSONPath.
    aliases: HashMap<String, String>,
    /// Variables holding a condition courier can check (`var ok = responseCode.code === 200`),
    /// as its source text.
    conditions: HashMap<String, String>,
    /// Inside an `if` whose condition the request checks already: checks convert, captures
    /// do not (courier would capture when the condition fails, where Postman sets nothing).
    guarded: bool,
    marks: &'w mut Marks,
}

impl<'a> Walker<'_> {
    /// Walks statements in order; true when one of them returned, so the rest never run.
    fn block(&mut self, statements: &[Statement<'a>]) -> bool {
        let mut returned = false;
        for statement in statements {
            if returned {
                self.marks.spans.push((statement.span(), Line::Dead));
                continue;
            }
            match statement {
                Statement::ReturnStatement(_) => returned = true,
                Statement::EmptyStatement(_) => {}
                Statement::BlockStatement(b) => returned = self.block(&b.body),
                Statement::ExpressionStatement(s) => self.expression_statement(&s.expression),
                Statement::VariableDeclaration(d) => self.declaration(d),
                Statement::IfStatement(i) => returned = self.if_statement(i),
                Statement::TryStatement(t) => self.try_statement(t),
                other => self.leave(other.span(), statement_kind(other)),
            }
        }
        returned
    }

    fn leave(&mut self, span: Span, why: impl Into<String>) {
        self.marks.spans.push((span, Line::Other));
        let line = self.marks.line_of(span.start) + 1;
        self.marks.left.push((line, why.into()));
    }

    /// Converts one statement whole or not at all.
    fn atomic(&mut self, span: Span, convert: impl FnOnce(&mut Self) -> Converted) {
        let (asserts, captures) = (self.asserts.clone(), self.captures.clone());
        match convert(self) {
            Ok(true) => {
                self.marks.spans.push((span, Line::Converted));
                self.marks.converted += 1;
            }
            Ok(false) => {}
            Err(why) => {
                *self.asserts = asserts;
                *self.captures = captures;
                self.leave(span, why);
            }
        }
    }

    fn text(&self, span: Span) -> &str {
        &self.source[span.start as usize..span.end as usize]
    }

    fn expression_statement(&mut self, e: &Expression<'a>) {
        let e = e.without_parentheses();
        if let Expression::CallExpression(call) = e {
            let callee = dotted(&call.callee);
            match callee.as_deref() {
                Some("pm.test") => return self.test_callback(call),
                Some("pm.test.skip") => {
                    self.marks.spans.push((call.span, Line::Dead));
                    return;
                }
                Some(name) if name.starts_with("console.") => return,
                _ => {}
            }
        }
        self.atomic(e.span(), |w| w.effect(e));
    }

    /// `pm.test("name", function () { … })`: the callback always runs.
    fn test_callback(&mut self, call: &CallExpression<'a>) {
        let callback = call.arguments.get(1).and_then(Argument::as_expression);
        match callback.map(Expression::without_parentheses) {
            Some(Expression::FunctionExpression(f)) if f.params.items.is_empty() => {
                if let Some(body) = &f.body {
                    self.block(&body.statements);
                }
            }
            Some(Expression::ArrowFunctionExpression(f)) if f.params.items.is_empty() => {
                match &f.body {
                    ArrowFunctionBody::FunctionBody(body) => {
                        self.block(&body.statements);
                    }
                    body => {
                        if let Some(e) = body.as_expression() {
                            self.expression_statement(e);
                        }
                    }
                }
            }
            _ => self.leave(
                call.span,
                "a `pm.test` whose callback is not a function of no arguments",
            ),
        }
    }

    /// A statement's effect: an assertion, a legacy `tests[…] =`, a capture.
    fn effect(&mut self, e: &Expression<'a>) -> Converted {
        match e {
            Expression::AssignmentExpression(a) if a.operator == AssignmentOperator::Assign => {
                if let Some(member) = a.left.as_member_expression()
                    && member.object().is_specific_id("tests")
                {
                    return self.condition(&a.right);
                }
                if let AssignmentTarget::AssignmentTargetIdentifier(id) = &a.left
                    && let Some(path) = self.json_path(&a.right)
                    && !path.1
                {
                    self.aliases.insert(id.name.to_string(), path.0);
                    return Ok(false);
                }
                Err("an assignment courier cannot follow".into())
            }
            _ => {
                let (root, words) = chain(e);
                match (dotted(root).as_deref(), words.first()) {
                    (Some("pm"), Some(("expect", Some(args)))) => self.expect(args, &words[1..]),
                    (Some("pm"), Some(("response", None))) => self.response_chain(&words[1..]),
                    _ => match e {
                        Expression::CallExpression(call) => self.call_statement(call),
                        _ => Err(format!("`{}` is not a check", self.text(e.span()))),
                    },
                }
            }
        }
    }

    /// Calls that set or unset variables, or change the run.
    fn call_statement(&mut self, call: &CallExpression<'a>) -> Converted {
        let callee = dotted(&call.callee).unwrap_or_default();
        if SETTERS.contains(&callee.as_str()) {
            return self.capture(call);
        }
        Err(match callee.as_str() {
            "postman.setNextRequest" | "pm.execution.setNextRequest" => {
                "`setNextRequest` changes the order of requests; courier runs them in order".into()
            }
            "pm.sendRequest" => {
                "`pm.sendRequest` sends a request from a script; write it as a request".into()
            }
            c if c.ends_with(".unset")
                || c.ends_with(".clear")
                || c.starts_with("postman.clear") =>
            {
                let names = names_set(self.text(call.span));
                if names.is_empty() {
                    // `clearEnvironmentVariables()`: every name.
                    self.names.set_by_scripts.insert("*".into());
                }
                self.names.set_by_scripts.extend(names);
                format!("`{c}` removes variables; courier's variables last the whole pass")
            }
            "" => "a call courier does not know".into(),
            c => format!("`{c}` is not a check courier knows"),
        })
    }

    fn declaration(&mut self, d: &VariableDeclaration<'a>) {
        for declarator in &d.declarations {
            let Some(name) = declarator.id.get_identifier_name() else {
                self.leave(declarator.span, "a destructuring declaration");
                continue;
            };
            let Some(init) = &declarator.init else {
                continue;
            };
            // `var user = json.user || {};` reads as `json.user` for every check courier can
            // express: a property of the empty default is as missing as a missing one.
            let init = match init.without_parentheses() {
                Expression::LogicalExpression(l)
                    if l.operator == LogicalOperator::Or && is_empty_literal(&l.right) =>
                {
                    &l.left
                }
                other => other,
            };
            self.conditions.remove(name.as_str());
            match self.json_path(init) {
                Some((path, false)) => {
                    self.aliases.insert(name.to_string(), path);
                }
                _ if self.implied(init).is_some() => {
                    self.aliases.remove(name.as_str());
                    let text = self.text(init.span()).to_string();
                    self.conditions.insert(name.to_string(), text);
                }
                _ => {
                    self.aliases.remove(name.as_str());
                    let why = self.unreadable(init).unwrap_or_else(|| {
                        format!("`{name}` is not a part of the response courier can read")
                    });
                    self.leave(declarator.span, why);
                }
            }
        }
    }

    /// Whether `condition` converts, and if so whether its checks are all taken already; the
    /// request's checks are left as they were either way.
    fn implied(&mut self, condition: &Expression<'a>) -> Option<bool> {
        let (asserts, captures) = (self.asserts.clone(), self.captures.clone());
        let before = asserts.to_value();
        let converted = self.condition(condition).is_ok();
        let implied = self.asserts.to_value() == before;
        *self.asserts = asserts;
        *self.captures = captures;
        converted.then_some(implied)
    }

    /// The `if (c) { tests[k] = true } else { tests[k] = false }` idiom is `tests[k] = c`. An
    /// `if (c) { … }` whose condition the request checks already (`if (is200Response)` after
    /// `tests["ok"] = is200Response`) guards nothing courier needs guarding: when `c` fails
    /// the request fails anyway, so what is under it converts as if unconditional. Anything
    /// else under an `if` may not run, so it is left.
    ///
    /// True when the guarded statements `return`: what follows runs only when the condition
    /// fails, and then the request has failed already.
    fn if_statement(&mut self, i: &IfStatement<'a>) -> bool {
        if i.alternate.is_none() && self.implied(&i.test) == Some(true) {
            let outer = std::mem::replace(&mut self.guarded, true);
            let returned = self.block(std::slice::from_ref(&i.consequent));
            self.guarded = outer;
            return returned;
        }
        let assigned = |s: Option<&Statement<'a>>| -> Option<(String, bool)> {
            let s = match s? {
                Statement::BlockStatement(b) if b.body.len() == 1 => &b.body[0],
                s => s,
            };
            let Statement::ExpressionStatement(e) = s else {
                return None;
            };
            let Expression::AssignmentExpression(a) = e.expression.without_parentheses() else {
                return None;
            };
            let member = a.left.as_member_expression()?;
            if !member.object().is_specific_id("tests") {
                return None;
            }
            match a.right.without_parentheses() {
                Expression::BooleanLiteral(b) => Some((format!("{:?}", member.span()), b.value)),
                _ => None,
            }
        };
        let idiom = match (
            assigned(Some(&i.consequent)),
            assigned(i.alternate.as_ref()),
        ) {
            (Some((_, true)), Some((_, false))) => Some(false),
            (Some((_, false)), Some((_, true))) => Some(true),
            _ => None,
        };
        match idiom {
            Some(negated) => self.atomic(i.span, |w| {
                if negated {
                    w.negated(&i.test)
                } else {
                    w.condition(&i.test)
                }
            }),
            None => self.leave(
                i.span,
                "an `if`: courier checks every response, so checks under a condition are not converted",
            ),
        }
        false
    }

    /// `try { json = JSON.parse(responseBody) } catch (e) { console.log(e) }`: the block is
    /// walked; a handler that only logs needs nothing.
    fn try_statement(&mut self, t: &TryStatement<'a>) {
        self.block(&t.block.body);
        if let Some(handler) = &t.handler {
            let logs_only = handler.body.body.iter().all(|s| match s {
                Statement::ExpressionStatement(e) => match e.expression.without_parentheses() {
                    Expression::CallExpression(c) => {
                        dotted(&c.callee).is_some_and(|d| d.starts_with("console."))
                    }
                    _ => false,
                },
                _ => false,
            });
            if !logs_only {
                self.leave(handler.span, "a `catch` block that does more than log");
            }
        }
        if let Some(finalizer) = &t.finalizer {
            self.leave(finalizer.span, "a `finally` block");
        }
    }

    // -----------------------------------------------------------------------------------------
    // What an expression reads

    /// The JSONPath of an expression reading the response's JSON: `pm.response.json().a[0]`,
    /// `JSON.parse(responseBody).a`, or a variable that holds a part of it (`jsonData.a`).
    /// The flag is true when it ends in `.length`.
    fn json_path(&self, e: &Expression<'a>) -> Option<(String, bool)> {
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

    fn subject(&self, e: &Expression<'a>) -> Option<Subject> {
        let e = e.without_parentheses();
        match dotted(e).as_deref() {
            Some("pm.response.code" | "responseCode.code") => return Some(Subject::Status),
            Some("pm.response.responseTime" | "responseTime") => return Some(Subject::Duration),
            Some("pm.response.text()" | "responseBody") => return Some(Subject::Body),
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
    fn unreadable(&self, e: &Expression<'a>) -> Option<String> {
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

    fn unknown(&self, e: &Expression<'a>) -> String {
        self.unreadable(e).unwrap_or_else(|| {
            format!(
                "`{}` is not a part of the response courier can read",
                self.text(e.span())
            )
        })
    }

    // -----------------------------------------------------------------------------------------
    // The legacy `tests["…"] = condition` style

    fn condition(&mut self, e: &Expression<'a>) -> Converted {
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
    fn written_condition(&mut self, text: &str) -> Converted {
        let allocator = Allocator::default();
        let parsed = Parser::new(&allocator, text, SourceType::cjs()).parse_expression();
        match parsed {
            Ok(e) => self.condition(&e),
            Err(_) => Err("a condition courier could not read again".into()),
        }
    }

    /// `!x`: `x` is falsy; `!!x`: truthy.
    fn negated(&mut self, e: &Expression<'a>) -> Converted {
        let e = e.without_parentheses();
        if let Expression::UnaryExpression(u) = e
            && u.operator == UnaryOperator::LogicalNot
        {
            return self.condition(&u.argument);
        }
        match self.subject(e) {
            Some(subject) => self.truthy(subject, false),
            None => Err(self.unknown(e)),
        }
    }

    fn truthy(&mut self, subject: Subject, want: bool) -> Converted {
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

    fn binary(&mut self, b: &BinaryExpression<'a>) -> Converted {
        use BinaryOperator as Op;
        if b.operator == Op::In {
            let key = string(&b.left).ok_or("`in` with a key that is not a string")?;
            return match self.json_path(&b.right) {
                Some((path, false)) => added_or_contradicts(self.asserts.add_json(
                    &child_path(&path, &key),
                    "exists",
                    true.into(),
                )),
                _ => Err(self.unknown(&b.right)),
            };
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

    fn compare(&mut self, subject: Subject, op: BinaryOperator, literal: Literal) -> Converted {
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
                Literal::Value(Value::String(s)) => self
                    .asserts
                    .add_body("matches", format!("(?s)\\A{}\\z", regex::escape(&s)).into()),
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
    fn predicate_call(&mut self, call: &CallExpression<'a>) -> Converted {
        let args: Vec<&Expression<'a>> = call
            .arguments
            .iter()
            .filter_map(Argument::as_expression)
            .collect();
        if args.len() != call.arguments.len() {
            return Err("a call with a spread argument".into());
        }
        let callee = dotted(&call.callee);
        let type_of = |name: &str| {
            Some(match name {
                "Array.isArray" | "_.isArray" => "array",
                "_.isString" => "string",
                "_.isNumber" => "number",
                "_.isBoolean" => "boolean",
                "_.isNull" => "null",
                "_.isInteger" | "Number.isInteger" => "integer",
                "_.isPlainObject" => "object",
                _ => return None,
            })
        };
        match (callee.as_deref(), args.as_slice()) {
            (Some("responseBody.has"), [needle]) => {
                let needle =
                    string(needle).ok_or("`responseBody.has` of something not a string")?;
                return added_or_contradicts(self.asserts.add_body("contains", needle.into()));
            }
            (Some(name), [subject]) if type_of(name).is_some() => {
                let kind = type_of(name).unwrap_or_default();
                return self.on_json(subject, "type", kind.into());
            }
            (Some("_.startsWith"), [subject, prefix]) => {
                let prefix = string(prefix).ok_or("`_.startsWith` of something not a string")?;
                return self.on_json(subject, "starts_with", prefix.into());
            }
            (Some("_.includes"), [subject, needle]) => match literal(needle) {
                Some(Literal::Value(v)) => return self.contains(subject, v),
                _ => return Err("`_.includes` of something not written in the script".into()),
            },
            (Some("_.has"), [subject, path]) => {
                let (base, _) = self
                    .json_path(subject)
                    .ok_or_else(|| self.unknown(subject))?;
                let path = string(path).and_then(|p| lodash_path(&p));
                let path = path.ok_or("`_.has` with a path that is not a string")?;
                let path = format!("{base}{}", &path[1..]);
                return added_or_contradicts(self.asserts.add_json(&path, "exists", true.into()));
            }
            _ => {}
        }
        let Some(member) = call.callee.as_member_expression() else {
            return Err(format!(
                "`{}` is not a check courier knows",
                self.text(call.span)
            ));
        };
        let object = member.object().without_parentheses();
        match (member.static_property_name(), args.as_slice()) {
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

    fn on_json(&mut self, subject: &Expression<'a>, predicate: &str, operand: Value) -> Converted {
        match self.json_path(subject) {
            Some((path, false)) => {
                added_or_contradicts(self.asserts.add_json(&path, predicate, operand))
            }
            _ => Err(self.unknown(subject)),
        }
    }

    /// A substring of the body, a header or a JSON string, or an element of a JSON array.
    fn contains(&mut self, subject: &Expression<'a>, needle: Value) -> Converted {
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

    fn matches(&mut self, subject: &Expression<'a>, pattern: String) -> Converted {
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

    // -----------------------------------------------------------------------------------------
    // chai: `pm.expect(x).to…` and `pm.response.to…`

    fn expect(&mut self, args: &[Argument<'a>], words: &[Word<'_, 'a>]) -> Converted {
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
        let literal = |i: usize| {
            args.get(i)
                .and_then(|a| a.as_expression())
                .and_then(literal)
        };
        let neg = chain.negated;
        let added = match subject {
            Subject::Status if !neg => match (assertion, literal(0)) {
                (EQUAL!(), Some(Literal::Value(v @ Value::Number(_)))) => {
                    self.asserts.add_status(v)
                }
                ("oneOf", Some(Literal::Value(v @ Value::Array(_)))) => self.asserts.add_status(v),
                _ => return Err(format!("`{assertion}` on the status")),
            },
            Subject::Duration if !neg => match literal(0) {
                Some(Literal::Value(v)) if v.is_u64() && args.len() == 1 => {
                    let ms = v.as_u64().unwrap_or_default();
                    match assertion {
                        // courier's `duration: N` means "under N ms".
                        "below" | "lessThan" | "lt" => self.asserts.add_duration(ms),
                        "most" | "lte" => self.asserts.add_duration(ms + 1),
                        _ => return Err(format!("`{assertion}` on the response time")),
                    }
                }
                _ => return Err("a response time compared with something not a number".into()),
            },
            Subject::Body if !neg => match (assertion, literal(0)) {
                (INCLUDE!(), Some(Literal::Value(Value::String(s)))) => {
                    self.asserts.add_body("contains", s.into())
                }
                ("match", Some(Literal::Regex(Some(re)))) => {
                    self.asserts.add_body("matches", re.into())
                }
                (EQUAL!(), Some(Literal::Value(Value::String(s)))) => self
                    .asserts
                    .add_body("matches", format!("(?s)\\A{}\\z", regex::escape(&s)).into()),
                _ => return Err(format!("`{assertion}` on the body")),
            },
            Subject::Header(name) => {
                let (predicate, operand) = match (assertion, literal(0), neg) {
                    (EQUAL!(), Some(Literal::Value(Value::String(s))), false) => {
                        ("equals", s.into())
                    }
                    (INCLUDE!(), Some(Literal::Value(Value::String(s))), false) => {
                        ("contains", s.into())
                    }
                    ("match", Some(Literal::Regex(Some(re))), false) => ("matches", re.into()),
                    ("exist" | "exists" | "ok", None, false) | ("undefined", None, true) => {
                        ("exists", true.into())
                    }
                    ("exist" | "exists", None, true) | ("undefined", None, false) => {
                        ("exists", false.into())
                    }
                    _ => return Err(format!("`{assertion}` on a header")),
                };
                self.asserts.add_header(&name, predicate, operand)
            }
            Subject::HasHeader(name) => match (assertion, neg) {
                ("true" | "ok", false) => self.asserts.add_header(&name, "exists", true.into()),
                ("false", false) | ("true" | "ok", true) => {
                    self.asserts.add_header(&name, "exists", false.into())
                }
                _ => return Err(format!("`{assertion}` on `headers.has`")),
            },
            Subject::Json { path, length } => {
                let target = Target::Json(path);
                return self.json_assertion(&target, length, assertion, &args, neg);
            }
            Subject::Var(name) => {
                let name = self.readable_var(&name)?;
                return self.json_assertion(&Target::Var(name), false, assertion, &args, neg);
            }
            Subject::HasVar(name) => match (assertion, neg) {
                ("true" | "ok", false) | ("false", true) => {
                    return self.on_var(&name, "exists", true.into());
                }
                ("false", false) | ("true" | "ok", true) => {
                    return self.on_var(&name, "exists", false.into());
                }
                _ => return Err(format!("`{assertion}` on `has`")),
            },
            _ => return Err(format!("`not.{assertion}` courier cannot express")),
        };
        added_or_contradicts(added)
    }

    /// Adds a check on a part of the JSON or on a variable.
    fn add(&mut self, target: &Target, predicate: &str, operand: Value) -> bool {
        match target {
            Target::Json(path) => self.asserts.add_json(path, predicate, operand),
            Target::Var(name) => self.asserts.add_var(name, predicate, operand),
        }
    }

    /// The courier name of a variable a check reads, unless this script has set it already:
    /// courier checks variables as the request was sent.
    fn readable_var(&mut self, name: &str) -> Result<String, String> {
        let courier = self.names.courier(name);
        if self.captures.contains_key(&courier) {
            return Err(format!(
                "reads `{name}` after this script sets it: courier checks variables as the request was sent"
            ));
        }
        Ok(courier)
    }

    fn on_var(&mut self, name: &str, predicate: &str, operand: Value) -> Converted {
        let name = self.readable_var(name)?;
        added_or_contradicts(self.asserts.add_var(&name, predicate, operand))
    }

    fn json_assertion(
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
        let (predicate, operand): (&str, Value) = match (assertion, args.len(), neg) {
            (EQUAL!(), 1, _) => match literal(0) {
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
            ("a" | "an", 1, false) => match literal(0) {
                Some(Literal::Value(Value::String(t))) => match t.as_str() {
                    "undefined" => ("exists", false.into()),
                    "string" | "number" | "boolean" | "array" | "object" | "null" => {
                        ("type", t.into())
                    }
                    _ => return Err(format!("`a(\"{t}\")`")),
                },
                _ => return Err("`a` of something not a type name".into()),
            },
            ("property", 1 | 2, _) => {
                let key = match literal(0) {
                    Some(Literal::Value(Value::String(k))) => k,
                    _ => return Err("`property` with a name that is not a string".into()),
                };
                let Target::Json(path) = target else {
                    return Err("`property` of a variable".into());
                };
                let child = child_path(path, &key);
                let added = match (literal(1), args.len(), neg) {
                    (_, 1, _) => self.asserts.add_json(&child, "exists", Value::Bool(!neg)),
                    (Some(Literal::Value(v)), 2, false) => {
                        self.asserts.add_json(&child, "equals", v)
                    }
                    _ => return Err("`property` with a value not written in the script".into()),
                };
                return added_or_contradicts(added);
            }
            ("lengthOf" | "length", 1, false) => match literal(0) {
                Some(Literal::Value(n)) if n.is_u64() => ("length", n),
                _ => return Err("a length that is not a count".into()),
            },
            (INCLUDE!(), 1, false) => match literal(0) {
                Some(Literal::Value(v)) => ("contains", v),
                _ => return Err("`include` of a value not written in the script".into()),
            },
            ("match", 1, false) => match literal(0) {
                Some(Literal::Regex(Some(re))) => ("matches", re.into()),
                _ => return Err("`match` of something Rust's regex cannot express".into()),
            },
            (
                op @ ("above" | "gt" | "greaterThan" | "below" | "lt" | "lessThan" | "least"
                | "gte" | "most" | "lte"),
                1,
                false,
            ) => match literal(0) {
                Some(Literal::Value(n @ Value::Number(_))) => (comparison(op), n),
                _ => return Err(format!("`{op}` of something not a number")),
            },
            ("oneOf", 1, false) => return Err("`oneOf` on a JSON value".into()),
            _ => {
                return Err(format!(
                    "`{}{assertion}` courier cannot express",
                    if neg { "not." } else { "" }
                ));
            }
        };
        added_or_contradicts(self.add(target, predicate, operand))
    }

    /// `pm.response.to.have.status(200)`, `pm.response.to.be.ok`, `.to.have.header("X")`,
    /// `.to.have.jsonBody("a.b", 1)`, `.to.be.json`.
    fn response_chain(&mut self, words: &[Word<'_, 'a>]) -> Converted {
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
        let added = match (*assertion, args.as_slice()) {
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
                Some(text) => self.asserts.add_body(
                    "matches",
                    format!("(?s)\\A{}\\z", regex::escape(&text)).into(),
                ),
                None => return Err("`body` of something not a string".into()),
            },
            ("json", []) => self.asserts.add_json("$", "exists", true.into()),
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

    /// `pm.environment.set("token", pm.response.json().token)` and its older and scoped forms.
    fn capture(&mut self, call: &CallExpression<'a>) -> Converted {
        let args: Vec<&Expression<'a>> = call
            .arguments
            .iter()
            .filter_map(Argument::as_expression)
            .collect();
        let [name, value] = args.as_slice() else {
            return Err("a `set` without a name and a value".into());
        };
        let name = string(name).ok_or("a `set` of a name that is not a string")?;
        // Until it is converted, the value Postman would see is unknown; `atomic` drops this
        // mark again when the statement converts.
        let fresh = self.names.set_by_scripts.insert(name.clone());
        if self.guarded {
            return Err(format!(
                "sets `{name}` under an `if`: courier would capture it even when the condition fails"
            ));
        }
        let source = match self.subject(value) {
            Some(Subject::Header(header)) => json!({ "header": header }),
            Some(Subject::Json {
                path,
                length: false,
            }) => Value::String(path),
            _ => match literal(value) {
                Some(Literal::Value(v)) => json!({ "value": v }),
                Some(_) => return Err(format!("sets `{name}` to `undefined` or a regex")),
                None => return Err(self.unknown(value)),
            },
        };
        if fresh {
            self.names.set_by_scripts.shift_remove(&name);
        }
        let name = self.names.courier(&name);
        // Postman's later `set` of a name wins; so does courier's later capture.
        self.captures.insert(name, source);
        Ok(true)
    }
}

/// An `add_*` that returned false contradicts a check already taken (or courier cannot
/// express the operand).
fn added_or_contradicts(added: bool) -> Converted {
    if added {
        Ok(true)
    } else {
        Err("a check courier cannot express, or one that contradicts an earlier check".into())
    }
}

/// The predicate and operand for `json OP literal`.
fn json_comparison(op: BinaryOperator, literal: Literal) -> Result<(&'static str, Value), String> {
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
fn flip(op: BinaryOperator) -> BinaryOperator {
    use BinaryOperator as Op;
    match op {
        Op::LessThan => Op::GreaterThan,
        Op::LessEqualThan => Op::GreaterEqualThan,
        Op::GreaterThan => Op::LessThan,
        Op::GreaterEqualThan => Op::LessEqualThan,
        op => op,
    }
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
type Word<'e, 'a> = (&'a str, Option<&'e [Argument<'a>]>);

/// A chain such as `pm.expect(x).to.have.property("a")` as its root (`pm`) and its words,
/// from the root out: `expect(x)`, `to`, `have`, `property("a")`.
fn chain<'e, 'a>(mut e: &'e Expression<'a>) -> (&'e Expression<'a>, Vec<Word<'e, 'a>>) {
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
const FILLER: &[&str] = &[
    "to", "be", "been", "is", "that", "which", "and", "has", "have", "with", "at", "of", "same",
    "but", "does", "still", "also", "deep",
];

/// A chai chain after its subject, with `not` taken out.
struct Chain<'w, 'e, 'a> {
    words: Vec<&'w Word<'e, 'a>>,
    negated: bool,
}

impl<'w, 'e, 'a> Chain<'w, 'e, 'a> {
    fn new(words: &'w [Word<'e, 'a>]) -> Self {
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
    fn significant(&self) -> Vec<Word<'e, 'a>> {
        self.words
            .iter()
            .filter(|(w, args)| {
                !(FILLER.contains(w) || (matches!(*w, "a" | "an") && args.is_none()))
            })
            .map(|w| **w)
            .collect()
    }

    /// The one assertion of the chain with its arguments.
    fn terminal(&self) -> Option<(&'a str, Vec<&'e Argument<'a>>)> {
        match self.significant().as_slice() {
            [(word, args)] => Some((word, args.map(|a| a.iter().collect()).unwrap_or_default())),
            _ => None,
        }
    }
}

/// `pm.response.json()`, `JSON.parse(responseBody)`, `JSON.parse(pm.response.text())`.
fn is_json_root(e: &Expression<'_>) -> bool {
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
fn dotted(e: &Expression<'_>) -> Option<String> {
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

fn is_empty_literal(e: &Expression<'_>) -> bool {
    match e.without_parentheses() {
        Expression::ObjectExpression(o) => o.properties.is_empty(),
        Expression::ArrayExpression(a) => a.elements.is_empty(),
        _ => false,
    }
}

fn string(e: &Expression<'_>) -> Option<String> {
    match literal(e)? {
        Literal::Value(Value::String(s)) => Some(s),
        _ => None,
    }
}

/// The value of a literal written in the script: strings, numbers, booleans, `null`,
/// `undefined`, regexes, and arrays and objects of those.
fn literal(e: &Expression<'_>) -> Option<Literal> {
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
        _ => return None,
    }))
}

/// A JavaScript number as JSON: integral values as integers.
fn number(n: f64) -> Option<Value> {
    if n.fract() == 0.0 && n.abs() < 9_007_199_254_740_992.0 {
        Some(Value::from(n as i64))
    } else {
        serde_json::Number::from_f64(n).map(Value::Number)
    }
}

/// What kind of statement courier leaves without looking inside.
fn statement_kind(s: &Statement<'_>) -> &'static str {
    match s {
        Statement::ForStatement(_)
        | Statement::ForInStatement(_)
        | Statement::ForOfStatement(_)
        | Statement::WhileStatement(_)
        | Statement::DoWhileStatement(_) => "a loop: courier checks are not repeated",
        Statement::FunctionDeclaration(_) => "a function declaration",
        Statement::SwitchStatement(_) => "a `switch`: its cases may not run",
        Statement::ThrowStatement(_) => "a `throw`",
        _ => "a statement courier does not convert",
    }
}
