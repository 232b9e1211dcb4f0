//! Checking an answer against a request's assertions, and taking its captures.

use std::cell::LazyCell;
use std::sync::{Arc, LazyLock};

use serde_json::Value;

use super::result::CheckResult;
use super::{Origin, Scope};
use crate::assert::{self, Document, Outcome};
use crate::diag::Spot;
use crate::http::Exchange;
use crate::model::{CaptureSource, Request};

/// How much of a body that is not JSON is quoted in a failure.
const BODY_PREVIEW: usize = 120;

/// The subjects of checks that have no name of their own, shared by every result.
static STATUS: LazyLock<Arc<str>> = LazyLock::new(|| "status".into());
static BODY: LazyLock<Arc<str>> = LazyLock::new(|| "body".into());
static DURATION: LazyLock<Arc<str>> = LazyLock::new(|| "duration".into());

/// What [`evaluate`] made of an answer.
pub struct Evaluation {
    /// The checks kept for the reports: every one with texts, only the failed ones without.
    pub checks: Vec<CheckResult>,
    /// Passed checks not kept, because no report would show them: counted only.
    pub passed_untold: usize,
    /// Each capture that found a value: its index in the request's captures, and the value.
    pub captured: Vec<(usize, Value)>,
}

/// Collects check results, keeping a passed check only when its texts are wanted.
struct Recorder {
    kept: Vec<CheckResult>,
    untold: usize,
    texts: bool,
}

impl Recorder {
    fn predicate(
        &mut self,
        subject: impl FnOnce() -> Arc<str>,
        spot: &Spot,
        predicate: &assert::Predicate,
        actual: Option<&Value>,
    ) {
        if !self.texts && assert::holds(predicate, actual) {
            self.untold += 1;
        } else {
            self.keep(subject(), spot, assert::check(predicate, actual));
        }
    }

    /// A check already decided; its texts are written only when kept.
    fn decided(
        &mut self,
        subject: &Arc<str>,
        spot: &Spot,
        passed: bool,
        outcome: impl FnOnce() -> Outcome,
    ) {
        if passed && !self.texts {
            self.untold += 1;
        } else {
            self.keep(Arc::clone(subject), spot, outcome());
        }
    }

    fn keep(&mut self, subject: Arc<str>, spot: &Spot, outcome: Outcome) {
        self.kept.push(CheckResult {
            subject,
            outcome,
            spot: spot.clone(),
        });
    }
}

pub(super) static SCOPE: LazyLock<Arc<str>> = LazyLock::new(|| "granted scope".into());

/// The environment's `required_scopes:` on a token answer (a successful JSON answer with an
/// `access_token` and a `scope`): one check, failed when any required scope is missing, naming
/// each. An answer without `scope` grants what was asked (RFC 6749 §5.1): nothing to check.
pub fn check_scopes(
    required: &[crate::model::Listed],
    exchange: &Exchange,
    parsed: Option<&Document<'_>>,
    texts: bool,
    evaluation: &mut Evaluation,
) {
    let (Some(first), Some(doc)) = (required.first(), parsed) else {
        return;
    };
    if !(200..300).contains(&exchange.status) || doc.member("access_token").is_none() {
        return;
    }
    let Some(granted) = doc.member("scope").and_then(Value::as_str) else {
        return;
    };
    let granted_list: Vec<&str> = granted.split_whitespace().collect();
    let missing: Vec<&str> = required
        .iter()
        .map(|r| r.name.as_str())
        .filter(|r| !granted_list.contains(r))
        .collect();
    let passed = missing.is_empty();
    let mut recorder = Recorder {
        kept: Vec::new(),
        untold: 0,
        texts,
    };
    let wanted: Vec<&str> = required.iter().map(|r| r.name.as_str()).collect();
    recorder.decided(&SCOPE, &first.spot, passed, || Outcome {
        passed,
        predicate: "contains".into(),
        expected: format!("includes {}", wanted.join(" ")),
        actual: match passed {
            true => format!("\"{granted}\""),
            false => format!(
                "\"{granted}\", which lacks {} (scope drift: add the scope to the app in the Zoom App Marketplace, then authorize the app again)",
                crate::diag::backticked(&missing)
            ),
        },
        diff: None,
    });
    evaluation.checks.extend(recorder.kept);
    evaluation.passed_untold += recorder.untold;
}

/// The `vars:` checks of `request` on the variables it was sent with (`scope`, before its
/// captures). A name nothing defines, or that `undefined: literal` stands in for, is missing.
pub fn check_vars(request: &Request, scope: &Scope, texts: bool, evaluation: &mut Evaluation) {
    if request.checks.vars.is_empty() {
        return;
    }
    let mut recorder = Recorder {
        kept: Vec::new(),
        untold: 0,
        texts,
    };
    for (name, predicates, spot) in &request.checks.vars {
        let actual = scope
            .get(name)
            .filter(|var| var.origin != Origin::Literal)
            .map(|var| &var.value);
        for predicate in predicates {
            let subject = || format!("variable {name}").into();
            recorder.predicate(subject, spot, predicate, actual);
        }
    }
    evaluation.checks.extend(recorder.kept);
    evaluation.passed_untold += recorder.untold;
}

/// Runs every assertion of `request` on `exchange` and takes its captures. A capture that finds
/// nothing is a failed check, not an error: the report says what was looked for.
///
/// `parsed` is the body as a JSON document, if it is JSON.
///
/// Without `texts`, a passed check is only counted: nothing would show it (`--quiet`, no JSON
/// or HTML report), and writing its texts would be most of a long run's work.
pub fn evaluate(
    request: &Request,
    exchange: &Exchange,
    parsed: Option<&Document<'_>>,
    texts: bool,
) -> Evaluation {
    let checks = &request.checks;
    let mut results = Recorder {
        kept: Vec::new(),
        untold: 0,
        texts,
    };
    // Only read by checks and captures on JSON: the reason a body is not JSON takes some
    // writing, wasted on answers nothing reads as JSON.
    let json = LazyCell::new(|| json_or_why(exchange, parsed));

    if let Some((spec, spot)) = &checks.status {
        let passed = spec.matches(exchange.status);
        results.decided(&STATUS, spot, passed, || Outcome {
            passed,
            predicate: "status".into(),
            expected: spec.to_string(),
            actual: exchange.status.to_string(),
            diff: None,
        });
    }
    for (name, predicates, spot) in &checks.headers {
        let actual = exchange.header(name).map(Value::String);
        for predicate in predicates {
            let subject = || format!("header {name}").into();
            results.predicate(subject, spot, predicate, actual.as_ref());
        }
    }
    check_sent(checks, exchange, &mut results);
    for check in &checks.json {
        match &*json {
            Ok(doc) => {
                let actual = check.query.select_in(doc);
                for predicate in &check.predicates {
                    let subject = || check.query.subject();
                    results.predicate(subject, &check.spot, predicate, actual.as_deref());
                }
            }
            Err(why) => results.keep(check.query.subject(), &check.spot, not_json(why)),
        }
    }
    for check in &checks.schemas {
        check_schema(check, &json, &mut results);
    }
    if !checks.body.is_empty() {
        let body = Value::String(exchange.body_text().into_owned());
        for (predicate, spot) in &checks.body {
            results.predicate(|| Arc::clone(&BODY), spot, predicate, Some(&body));
        }
    }
    if let Some((limit, spot)) = &checks.duration {
        let took = exchange.duration.as_millis();
        let passed = took < u128::from(*limit);
        results.decided(&DURATION, spot, passed, || Outcome {
            passed,
            predicate: "lt".into(),
            expected: format!("below {limit} ms"),
            actual: format!("{took} ms"),
            diff: None,
        });
    }

    let captured = take_captures(request, exchange, &json, &mut results);
    Evaluation {
        checks: results.kept,
        passed_untold: results.untold,
        captured,
    }
}

/// `schema:` on the whole answer or on what its JSONPath selects; a path that selects nothing
/// fails, as any other check of it would.
fn check_schema<'d, 'b, F>(
    check: &crate::model::SchemaCheck,
    json: &LazyCell<Result<&'d Document<'b>, String>, F>,
    results: &mut Recorder,
) where
    F: FnOnce() -> Result<&'d Document<'b>, String>,
{
    let subject = || match &check.query {
        Some(query) => query.subject(),
        None => Arc::clone(&BODY),
    };
    let doc = match LazyCell::force(json) {
        Ok(doc) => doc,
        Err(why) => return results.keep(subject(), &check.spot, not_json(why)),
    };
    let node = match &check.query {
        Some(query) => query.select_in(doc),
        None => doc.whole().map(std::borrow::Cow::Borrowed),
    };
    let Some(node) = node else {
        let outcome = Outcome {
            passed: false,
            predicate: "schema".into(),
            expected: format!("valid against {}", check.schema.name()),
            actual: "nothing matched".into(),
            diff: None,
        };
        return results.keep(subject(), &check.spot, outcome);
    };
    // Validated once: in full when its texts are shown, else only whether it holds.
    if results.texts {
        let outcome = check.schema.check(&node);
        return results.keep(subject(), &check.spot, outcome);
    }
    let passed = check.schema.holds(&node);
    results.decided(&subject(), &check.spot, passed, || {
        check.schema.check(&node)
    });
}

/// `assert: request:` — the URL and headers the request that got the answer was sent with.
fn check_sent(checks: &crate::model::Checks, exchange: &Exchange, results: &mut Recorder) {
    if !checks.sent_url.is_empty() {
        let url = Value::String(exchange.request.url.to_string());
        for (predicate, spot) in &checks.sent_url {
            results.predicate(|| "request URL".into(), spot, predicate, Some(&url));
        }
    }
    for (name, predicates, spot) in &checks.sent_headers {
        let sent = &exchange.request;
        let written = sent
            .headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name));
        // `Host` is added by the HTTP layer, from the URL.
        let actual = match written {
            Some((_, value)) => Some(Value::String(value.clone())),
            None if name.eq_ignore_ascii_case("host") => sent.url.host_str().map(|host| {
                let port = sent.url.port().map(|p| format!(":{p}")).unwrap_or_default();
                Value::String(format!("{host}{port}"))
            }),
            None => None,
        };
        for predicate in predicates {
            let subject = || format!("request header {name}").into();
            results.predicate(subject, spot, predicate, actual.as_ref());
        }
    }
}

/// The values of `request`'s captures, by index; a capture that finds nothing is a failed
/// check in `results`.
fn take_captures<'d, 'b, F>(
    request: &Request,
    exchange: &Exchange,
    json: &LazyCell<Result<&'d Document<'b>, String>, F>,
    results: &mut Recorder,
) -> Vec<(usize, Value)>
where
    F: FnOnce() -> Result<&'d Document<'b>, String>,
{
    let mut captured = Vec::new();
    for (index, capture) in request.captures.iter().enumerate() {
        let found = match &capture.source {
            CaptureSource::Json(query) => LazyCell::force(json)
                .as_ref()
                .ok()
                .and_then(|doc| query.select_in(doc))
                .map(std::borrow::Cow::into_owned),
            CaptureSource::Header(name) => exchange.header(name).map(Value::String),
            CaptureSource::Value(value) => Some(value.clone()),
        };
        match found.or_else(|| capture.default.clone()) {
            Some(value) => captured.push((index, value)),
            None if capture.optional => {}
            None => {
                let actual = match (&capture.source, LazyCell::force(json)) {
                    (CaptureSource::Json(_), Err(why)) => why.clone(),
                    _ => "nothing matched".to_string(),
                };
                let looked_for = match &capture.source {
                    CaptureSource::Json(query) => format!("JSONPath `{}`", query.as_str()),
                    CaptureSource::Header(name) => format!("header `{name}`"),
                    CaptureSource::Value(_) => "the value written".to_string(),
                };
                results.keep(
                    format!("capture {}", capture.name).into(),
                    &capture.spot,
                    Outcome {
                        passed: false,
                        predicate: "capture".into(),
                        expected: format!("a value at {looked_for}"),
                        actual,
                        diff: None,
                    },
                );
            }
        }
    }
    captured
}

/// The body as JSON, or why it is not JSON, with the content type and the start of the body.
fn json_or_why<'d, 'b>(
    exchange: &Exchange,
    parsed: Option<&'d Document<'b>>,
) -> Result<&'d Document<'b>, String> {
    parsed.ok_or_else(|| {
        let content_type = exchange
            .header("content-type")
            .unwrap_or_else(|| "none".into());
        let text = exchange.body_text();
        let preview: String = text.chars().take(BODY_PREVIEW).collect();
        let more = if text.chars().count() > BODY_PREVIEW {
            "…"
        } else {
            ""
        };
        // Valid JSON nested past the parser's recursion limit is JSON all the same: say so.
        let too_deep = serde_json::from_str::<serde_json::Value>(&text)
            .is_err_and(|e| e.to_string().starts_with("recursion limit exceeded"));
        if text.trim().is_empty() {
            format!("the body is empty (content-type {content_type}), not JSON")
        } else if too_deep {
            format!(
                "the body is JSON nested more than 128 levels deep, deeper than courier reads (content-type {content_type})"
            )
        } else {
            format!("the body is not JSON (content-type {content_type}): {preview}{more}")
        }
    })
}

fn not_json(why: &str) -> Outcome {
    Outcome {
        passed: false,
        predicate: "json".into(),
        expected: "a JSON body".into(),
        actual: why.to_string(),
        diff: None,
    }
}
