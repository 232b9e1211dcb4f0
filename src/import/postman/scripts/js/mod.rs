//! The walk over a test script's syntax tree (this file: the statements; [`read`]: what an
//! expression reads; [`legacy`]: `tests["…"] = …`; [`chai`]: `pm.expect` and `pm.response.to`).
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
    Argument, ArrowFunctionBody, AssignmentOperator, AssignmentTarget, CallExpression, Expression,
    IfStatement, LogicalOperator, Statement, TryStatement, VariableDeclaration,
};
use oxc_parser::{ParseOptions, Parser, ParserReturn};
use oxc_span::{GetSpan, SourceType, Span};
use serde_json::{Value, json};

mod chai;
mod legacy;
mod read;

use self::chai::chain;
use self::read::{dotted, is_empty_literal, literal, string};
use super::super::names::Names;
use super::{Asserts, names_set};

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
    /// courier names the script unsets, in order.
    pub unset: Vec<String>,
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
            unset: Vec::new(),
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

/// Parses a script as Postman's sandbox runs it: a script body, where `return` may stand at
/// the top.
fn parse<'a>(allocator: &'a Allocator, source: &'a str) -> ParserReturn<'a> {
    let options = ParseOptions {
        allow_return_outside_function: true,
        ..ParseOptions::default()
    };
    Parser::new(allocator, source, SourceType::cjs())
        .with_options(options)
        .parse()
}

/// Parses `source` and converts what it can into `asserts` and `captures`.
pub(super) fn convert(
    source: &str,
    asserts: &mut Asserts,
    captures: &mut IndexMap<String, Value>,
    names: &mut Names,
) -> Marks {
    let allocator = Allocator::default();
    let parsed = parse(&allocator, source);
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
    let parsed = parse(&allocator, source);
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
    /// `pm.request.url.toString()`: the URL as sent.
    SentUrl,
    /// `pm.request.headers.get("X")`: a header as sent.
    SentHeader(String),
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
                    (Some("pm"), Some(("request", None))) => self.request_chain(&words[1..]),
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
            "pm.environment.unset"
            | "pm.globals.unset"
            | "pm.collectionVariables.unset"
            | "pm.variables.unset"
            | "postman.clearEnvironmentVariable"
            | "postman.clearGlobalVariable" => return self.unset_one(call, &callee),
            "pm.environment.clear"
            | "postman.clearEnvironmentVariables"
            | "pm.globals.clear"
            | "postman.clearGlobalVariables"
                if call.arguments.is_empty() =>
            {
                let scope = scope_of(&callee);
                let names: Vec<String> = (self.names.scoped.iter())
                    .filter(|(s, _)| Some(*s) == scope)
                    .map(|(_, n)| n.clone())
                    .collect();
                return self.unset_names(names, &callee);
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
        let callee = dotted(&call.callee).unwrap_or_default();
        let name = self.names.courier(&name);
        if let Some(scope) = scope_of(&callee) {
            self.names.scoped.insert((scope, name.clone()));
        }
        // Unset, then set: set. courier unsets after its captures, so the unset goes.
        self.marks.unset.retain(|n| *n != name);
        // Postman's later `set` of a name wins; so does courier's later capture.
        self.captures.insert(name, source);
        Ok(true)
    }
}

impl<'a> Walker<'_> {
    /// `pm.environment.unset("x")`, `postman.clearGlobalVariable("x")`: `x` is unset after the
    /// request's captures.
    fn unset_one(&mut self, call: &CallExpression<'a>, callee: &str) -> Converted {
        let [name] = call.arguments.as_slice() else {
            return Err(format!("`{callee}` without one name"));
        };
        let name = name
            .as_expression()
            .and_then(string)
            .ok_or("an unset of a name that is not a string")?;
        let name = self.names.courier(&name);
        self.unset_names(vec![name], callee)
    }

    /// Unsets `names` after the captures, but those a collection or folder script sets again
    /// before every request.
    fn unset_names(&mut self, names: Vec<String>, callee: &str) -> Converted {
        if self.guarded {
            return Err(format!(
                "`{callee}` under an `if`: courier would unset even when the condition fails"
            ));
        }
        if let Some(shared) = names
            .iter()
            .find(|n| scope_of(callee).is_some() && self.names.collection_defined.contains(*n))
        {
            return Err(format!(
                "`{callee}` unsets `{shared}`, which the collection also defines: Postman shows the collection's value then, courier would have none"
            ));
        }
        for name in names {
            if !self.names.set_before_each.contains(&name) && !self.marks.unset.contains(&name) {
                self.marks.unset.push(name);
            }
        }
        Ok(true)
    }
}

/// The Postman scope a setter or unsetter writes: `environment` or `globals` (`None` for the
/// collection's and local variables).
fn scope_of(callee: &str) -> Option<&'static str> {
    if callee.contains("nvironment") {
        Some("environment")
    } else if callee.contains("lobal") {
        Some("globals")
    } else {
        None
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
