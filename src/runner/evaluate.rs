//! Checking an answer against a request's assertions, and taking its captures.

use std::sync::{Arc, LazyLock};

use serde_json::Value;

use super::result::CheckResult;
use crate::assert::{self, Outcome};
use crate::http::Exchange;
use crate::model::{CaptureSource, Request};

/// How much of a body that is not JSON is quoted in a failure.
const BODY_PREVIEW: usize = 120;

/// The subjects of checks that have no name of their own, shared by every result.
static STATUS: LazyLock<Arc<str>> = LazyLock::new(|| "status".into());
static BODY: LazyLock<Arc<str>> = LazyLock::new(|| "body".into());
static DURATION: LazyLock<Arc<str>> = LazyLock::new(|| "duration".into());

/// Runs every assertion of `request` on `exchange` and takes its captures. A capture that finds
/// nothing is a failed check, not an error: the report says what was looked for.
///
/// `parsed` is the body parsed as JSON by the caller, if it is JSON.
///
/// Without `texts`, a passing check carries no expected or actual text: nothing would show it
/// (`--quiet`, no JSON or HTML report), and writing those texts is most of a long run's work.
pub fn evaluate(
    request: &Request,
    exchange: &Exchange,
    parsed: Option<&Value>,
    texts: bool,
) -> (Vec<CheckResult>, Vec<(String, Value)>) {
    let checks = &request.checks;
    let mut results = Vec::with_capacity(checks.json.len() + checks.headers.len() + 2);
    let judge = |predicate: &assert::Predicate, actual: Option<&Value>| {
        if !texts && assert::holds(predicate, actual) {
            Outcome::untold_pass()
        } else {
            assert::check(predicate, actual)
        }
    };
    let json = json_or_why(request, exchange, parsed);

    if let Some((spec, spot)) = &checks.status {
        let passed = spec.matches(exchange.status);
        results.push(CheckResult {
            subject: Arc::clone(&STATUS),
            outcome: if passed && !texts {
                Outcome::untold_pass()
            } else {
                Outcome {
                    passed,
                    predicate: "status".into(),
                    expected: spec.to_string(),
                    actual: exchange.status.to_string(),
                    diff: None,
                }
            },
            spot: spot.clone(),
        });
    }
    for (name, predicates, spot) in &checks.headers {
        let actual = exchange.header(name).map(Value::String);
        let subject: Arc<str> = format!("header {name}").into();
        for predicate in predicates {
            results.push(CheckResult {
                subject: Arc::clone(&subject),
                outcome: judge(predicate, actual.as_ref()),
                spot: spot.clone(),
            });
        }
    }
    for check in &checks.json {
        let subject = check.query.subject();
        match &json {
            Ok(doc) => {
                let actual = check.query.select(doc);
                for predicate in &check.predicates {
                    results.push(CheckResult {
                        subject: subject.clone(),
                        outcome: judge(predicate, actual.as_deref()),
                        spot: check.spot.clone(),
                    });
                }
            }
            Err(why) => results.push(CheckResult {
                subject,
                outcome: not_json(why),
                spot: check.spot.clone(),
            }),
        }
    }
    if !checks.body.is_empty() {
        let body = Value::String(exchange.body_text().into_owned());
        for (predicate, spot) in &checks.body {
            results.push(CheckResult {
                subject: Arc::clone(&BODY),
                outcome: judge(predicate, Some(&body)),
                spot: spot.clone(),
            });
        }
    }
    if let Some((limit, spot)) = &checks.duration {
        let took = exchange.duration.as_millis();
        let passed = took < u128::from(*limit);
        results.push(CheckResult {
            subject: Arc::clone(&DURATION),
            outcome: if passed && !texts {
                Outcome::untold_pass()
            } else {
                Outcome {
                    passed,
                    predicate: "lt".into(),
                    expected: format!("below {limit} ms"),
                    actual: format!("{took} ms"),
                    diff: None,
                }
            },
            spot: spot.clone(),
        });
    }

    let mut captured = Vec::new();
    for capture in &request.captures {
        let found = match &capture.source {
            CaptureSource::Json(query) => json
                .as_ref()
                .ok()
                .and_then(|doc| query.select(doc))
                .map(std::borrow::Cow::into_owned),
            CaptureSource::Header(name) => exchange.header(name).map(Value::String),
        };
        match found {
            Some(value) => captured.push((capture.name.clone(), value)),
            None => {
                let actual = match (&capture.source, &json) {
                    (CaptureSource::Json(_), Err(why)) => why.clone(),
                    _ => "nothing matched".to_string(),
                };
                let looked_for = match &capture.source {
                    CaptureSource::Json(query) => format!("JSONPath `{}`", query.as_str()),
                    CaptureSource::Header(name) => format!("header `{name}`"),
                };
                results.push(CheckResult {
                    subject: format!("capture {}", capture.name).into(),
                    outcome: Outcome {
                        passed: false,
                        predicate: "capture".into(),
                        expected: format!("a value at {looked_for}"),
                        actual,
                        diff: None,
                    },
                    spot: capture.spot.clone(),
                });
            }
        }
    }
    (results, captured)
}

/// The body as JSON, when some check or capture needs it; otherwise why it is not JSON,
/// with the content type and the start of the body.
fn json_or_why<'v>(
    request: &Request,
    exchange: &Exchange,
    parsed: Option<&'v Value>,
) -> Result<&'v Value, String> {
    const NULL: &Value = &Value::Null;
    let needed = !request.checks.json.is_empty()
        || request
            .captures
            .iter()
            .any(|c| matches!(c.source, CaptureSource::Json(_)));
    if !needed {
        return Ok(NULL);
    }
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
        if text.trim().is_empty() {
            format!("the body is empty (content-type {content_type}), not JSON")
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
