//! Applying one [`Predicate`] to one actual value.
//!
//! Every check yields an [`Outcome`], including when the value has the wrong type for the
//! predicate: that is the user's check failing, which the report shows, not a reason to stop.

use std::cmp::Ordering;

use serde_json::{Map, Number, Value};
use similar::TextDiff;

use super::predicate::{JsonType, Predicate};
use super::{describe, show};

/// What one predicate made of one actual value, as text ready for a report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outcome {
    pub passed: bool,
    /// The predicate's name as the user writes it, e.g. `equals`, `gt`.
    pub predicate: String,
    /// What was wanted, e.g. `"bearer"`, `> 0`, `type string`.
    pub expected: String,
    /// What was found, e.g. `"Bearer"`, `nothing matched`, `number 3599`.
    pub actual: String,
    /// A unified diff (`--- expected` / `+++ actual`) of the pretty-printed values, when an
    /// equality between two objects or arrays failed and a one-line rendering would hide where.
    pub diff: Option<String>,
}

const NOTHING: &str = "nothing matched";

/// Checks `actual` against `p`. `None` means the query matched nothing: then only
/// `exists: false` passes, and every other predicate fails with actual `nothing matched`.
///
/// A `null` that *was* matched exists; `exists` asks about the node, not its value.
pub fn check(p: &Predicate, actual: Option<&Value>) -> Outcome {
    let expected = expected_text(p);
    let outcome = |passed: bool, actual: String| Outcome {
        passed,
        predicate: p.name().to_owned(),
        expected: expected.clone(),
        actual,
        diff: None,
    };
    let Some(v) = actual else {
        return outcome(holds(p, None), NOTHING.to_owned());
    };
    match p {
        Predicate::LooselyEquals(want) => outcome(loosely_equal(v, want), show(v)),
        Predicate::Truthy(want) => outcome(truthy(v) == *want, show(v)),
        Predicate::Equals(want) => {
            let passed = json_eq(v, want);
            let diff = if !passed && is_structured(v) && is_structured(want) {
                Some(unified_diff(want, v))
            } else {
                None
            };
            Outcome {
                diff,
                ..outcome(passed, show(v))
            }
        }
        Predicate::NotEquals(unwanted) => outcome(!json_eq(v, unwanted), show(v)),
        Predicate::Exists(want) => outcome(*want, describe(v)),
        Predicate::Type(t) => outcome(has_type(v, *t), describe(v)),
        Predicate::Matches(re) => match v {
            Value::String(s) => outcome(re.is_match(s), show(v)),
            _ => outcome(false, describe(v)),
        },
        Predicate::Contains(needle) => match (v, needle) {
            (Value::String(s), Value::String(sub)) => outcome(s.contains(sub.as_str()), show(v)),
            (Value::Array(items), _) => {
                outcome(items.iter().any(|item| json_eq(item, needle)), show(v))
            }
            (Value::Object(map), Value::String(key)) => outcome(map.contains_key(key), show(v)),
            _ => outcome(false, describe(v)),
        },
        Predicate::StartsWith(prefix) => match v {
            Value::String(s) => outcome(s.starts_with(prefix.as_str()), show(v)),
            _ => outcome(false, describe(v)),
        },
        Predicate::Gt(n) => compare(v, n, Ordering::is_gt, &outcome),
        Predicate::Gte(n) => compare(v, n, Ordering::is_ge, &outcome),
        Predicate::Lt(n) => compare(v, n, Ordering::is_lt, &outcome),
        Predicate::Lte(n) => compare(v, n, Ordering::is_le, &outcome),
        Predicate::Length(want) => {
            let len = match v {
                Value::String(s) => s.chars().count(),
                Value::Array(items) => items.len(),
                Value::Object(map) => map.len(),
                _ => return outcome(false, describe(v)),
            };
            outcome(len as u64 == *want, format!("length {len}"))
        }
    }
}

/// Whether `p` holds for `actual`: the verdict of [`check`] without its texts, for runs where no
/// output shows a passing check (`--quiet`, no JSON or HTML report). It allocates nothing.
pub fn holds(p: &Predicate, actual: Option<&Value>) -> bool {
    let Some(v) = actual else {
        // A missing value is JavaScript's `undefined`: falsy, and `== null`.
        return matches!(
            p,
            Predicate::Exists(false)
                | Predicate::Truthy(false)
                | Predicate::LooselyEquals(Value::Null)
        );
    };
    let number = |bound: &Number, accept: fn(Ordering) -> bool| match v {
        Value::Number(n) => cmp_numbers(n, bound).is_some_and(accept),
        _ => false,
    };
    match p {
        Predicate::Equals(want) => json_eq(v, want),
        Predicate::NotEquals(unwanted) => !json_eq(v, unwanted),
        Predicate::Exists(want) => *want,
        Predicate::Type(t) => has_type(v, *t),
        Predicate::Matches(re) => v.as_str().is_some_and(|s| re.is_match(s)),
        Predicate::Contains(needle) => match (v, needle) {
            (Value::String(s), Value::String(sub)) => s.contains(sub.as_str()),
            (Value::Array(items), _) => items.iter().any(|item| json_eq(item, needle)),
            (Value::Object(map), Value::String(key)) => map.contains_key(key),
            _ => false,
        },
        Predicate::StartsWith(prefix) => v.as_str().is_some_and(|s| s.starts_with(prefix.as_str())),
        Predicate::Gt(n) => number(n, Ordering::is_gt),
        Predicate::Gte(n) => number(n, Ordering::is_ge),
        Predicate::Lt(n) => number(n, Ordering::is_lt),
        Predicate::Lte(n) => number(n, Ordering::is_le),
        Predicate::LooselyEquals(want) => loosely_equal(v, want),
        Predicate::Truthy(want) => truthy(v) == *want,
        Predicate::Length(want) => match v {
            Value::String(s) => s.chars().count() as u64 == *want,
            Value::Array(items) => items.len() as u64 == *want,
            Value::Object(map) => map.len() as u64 == *want,
            _ => false,
        },
    }
}

fn compare(
    v: &Value,
    bound: &Number,
    accept: fn(Ordering) -> bool,
    outcome: &dyn Fn(bool, String) -> Outcome,
) -> Outcome {
    match v {
        Value::Number(n) => {
            let passed = cmp_numbers(n, bound).is_some_and(accept);
            outcome(passed, show(v))
        }
        _ => outcome(false, describe(v)),
    }
}

fn expected_text(p: &Predicate) -> String {
    match p {
        Predicate::Equals(v) => show(v),
        Predicate::NotEquals(v) => format!("not {}", show(v)),
        Predicate::Exists(true) => "exists".to_owned(),
        Predicate::Exists(false) => "does not exist".to_owned(),
        Predicate::Type(t) => format!("type {t}"),
        Predicate::Matches(re) => format!("matches /{}/", re.as_str()),
        Predicate::Contains(v) => format!("contains {}", show(v)),
        Predicate::StartsWith(s) => format!("starts with {}", show(&Value::String(s.clone()))),
        Predicate::Gt(n) => format!("> {n}"),
        Predicate::Gte(n) => format!(">= {n}"),
        Predicate::Lt(n) => format!("< {n}"),
        Predicate::Lte(n) => format!("<= {n}"),
        Predicate::Length(n) => format!("length {n}"),
        Predicate::LooselyEquals(v) => format!("== {}", show(v)),
        Predicate::Truthy(true) => "truthy".to_owned(),
        Predicate::Truthy(false) => "falsy".to_owned(),
    }
}

fn has_type(v: &Value, t: JsonType) -> bool {
    match (t, v) {
        (JsonType::Integer, Value::Number(n)) => {
            n.is_i64() || n.is_u64() || n.as_f64().is_some_and(|f| f.fract() == 0.0)
        }
        _ => JsonType::kind_of(v) == t,
    }
}

/// JSON equality as a user means it: numbers compare by value (`1` equals `1.0`), at any depth,
/// and objects compare regardless of key order.
/// JavaScript's truthiness of a JSON value.
fn truthy(v: &Value) -> bool {
    match v {
        Value::Null => false,
        Value::Bool(b) => *b,
        Value::Number(n) => n.as_f64().is_some_and(|f| f != 0.0),
        Value::String(s) => !s.is_empty(),
        Value::Array(_) | Value::Object(_) => true,
    }
}

/// JavaScript's `==` (the Abstract Equality Comparison) on JSON values. Objects and arrays are
/// equal only to themselves in JavaScript, so never to a value written in a file; against a
/// primitive they compare as their string form (`[1,2]` as `"1,2"`).
fn loosely_equal(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Null, Value::Null) => true,
        (Value::Null, _) | (_, Value::Null) => false,
        (Value::String(x), Value::String(y)) => x == y,
        (Value::Number(_), Value::Number(_)) => json_eq(a, b),
        (Value::Bool(x), _) => loosely_equal(&Value::from(u8::from(*x)), b),
        (_, Value::Bool(y)) => loosely_equal(a, &Value::from(u8::from(*y))),
        (Value::Number(n), Value::String(s)) | (Value::String(s), Value::Number(n)) => {
            js_number(s).is_some_and(|x| n.as_f64() == Some(x))
        }
        (Value::Array(_) | Value::Object(_), Value::Array(_) | Value::Object(_)) => false,
        (Value::Array(_) | Value::Object(_), primitive)
        | (primitive, Value::Array(_) | Value::Object(_)) => {
            let text = if a.is_array() || a.is_object() { a } else { b };
            loosely_equal(&Value::String(js_string_form(text)), primitive)
        }
    }
}

/// JavaScript's `String(v)` of an array or object.
fn js_string_form(v: &Value) -> String {
    match v {
        Value::Null => String::new(),
        Value::String(s) => s.clone(),
        Value::Array(items) => items
            .iter()
            .map(js_string_form)
            .collect::<Vec<_>>()
            .join(","),
        Value::Object(_) => "[object Object]".into(),
        other => other.to_string(),
    }
}

/// JavaScript's `Number(s)`: blank is 0, decimal, `0x`/`0o`/`0b`, `Infinity`; else NaN (`None`).
fn js_number(s: &str) -> Option<f64> {
    let t = s.trim();
    if t.is_empty() {
        return Some(0.0);
    }
    for (prefix, radix) in [
        ("0x", 16),
        ("0X", 16),
        ("0o", 8),
        ("0O", 8),
        ("0b", 2),
        ("0B", 2),
    ] {
        if let Some(digits) = t.strip_prefix(prefix) {
            return u64::from_str_radix(digits, radix).ok().map(|n| n as f64);
        }
    }
    let unsigned = t.trim_start_matches(['+', '-']);
    if unsigned == "Infinity" {
        return Some(if t.starts_with('-') {
            f64::NEG_INFINITY
        } else {
            f64::INFINITY
        });
    }
    // Rust also reads `inf`, `nan` and `1_0`-free forms JavaScript rejects; only digits, one
    // dot and an exponent pass.
    let valid = unsigned
        .chars()
        .all(|c| c.is_ascii_digit() || matches!(c, '.' | 'e' | 'E' | '+' | '-'))
        && unsigned.starts_with(|c: char| c.is_ascii_digit() || c == '.');
    if !valid {
        return None;
    }
    t.parse().ok()
}

fn json_eq(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => cmp_numbers(x, y) == Some(Ordering::Equal),
        (Value::Array(xs), Value::Array(ys)) => {
            xs.len() == ys.len() && xs.iter().zip(ys).all(|(x, y)| json_eq(x, y))
        }
        (Value::Object(xs), Value::Object(ys)) => {
            xs.len() == ys.len()
                && xs
                    .iter()
                    .all(|(k, x)| ys.get(k).is_some_and(|y| json_eq(x, y)))
        }
        _ => a == b,
    }
}

/// Orders two JSON numbers exactly, whichever of i64, u64 or f64 each is stored as.
///
/// Converting everything to f64 would call 2^53 + 1 equal to 2^53, and converting to i64 would
/// lose fractions, so integers compare as i128 and an integer meets a float through the float's
/// integer part and the sign of its fraction.
fn cmp_numbers(a: &Number, b: &Number) -> Option<Ordering> {
    match (as_int(a), as_int(b)) {
        (Some(x), Some(y)) => Some(x.cmp(&y)),
        (Some(x), None) => cmp_int_float(x, b.as_f64()?),
        (None, Some(y)) => cmp_int_float(y, a.as_f64()?).map(Ordering::reverse),
        (None, None) => a.as_f64()?.partial_cmp(&b.as_f64()?),
    }
}

fn as_int(n: &Number) -> Option<i128> {
    n.as_i64()
        .map(i128::from)
        .or_else(|| n.as_u64().map(i128::from))
}

fn cmp_int_float(i: i128, f: f64) -> Option<Ordering> {
    const LIMIT: f64 = 170_141_183_460_469_231_731_687_303_715_884_105_728.0; // 2^127
    if f.is_nan() {
        return None;
    }
    if f >= LIMIT {
        return Some(Ordering::Less);
    }
    if f < -LIMIT {
        return Some(Ordering::Greater);
    }
    // Within ±2^127 the truncated float is an integer i128 holds exactly.
    let whole = f.trunc();
    Some(i.cmp(&(whole as i128)).then_with(|| {
        if f > whole {
            Ordering::Less
        } else if f < whole {
            Ordering::Greater
        } else {
            Ordering::Equal
        }
    }))
}

fn is_structured(v: &Value) -> bool {
    matches!(v, Value::Array(_) | Value::Object(_))
}

pub fn unified_diff(expected: &Value, actual: &Value) -> String {
    let aligned = align(actual, expected);
    let render = |v: &Value| {
        let mut text = serde_json::to_string_pretty(v).expect("a Value always serializes");
        text.push('\n');
        text
    };
    let (old, new) = (render(expected), render(&aligned));
    TextDiff::from_lines(&old, &new)
        .unified_diff()
        .header("expected", "actual")
        .to_string()
}

/// A copy of `actual` laid out like `expected`, so the diff shows only real differences: keys
/// follow the expected order (extra keys last), and numbers equal by value take the expected
/// spelling (`1` rather than `1.0`).
fn align(actual: &Value, expected: &Value) -> Value {
    match (actual, expected) {
        (Value::Number(_), Value::Number(_)) if json_eq(actual, expected) => expected.clone(),
        (Value::Array(xs), Value::Array(ys)) => Value::Array(
            xs.iter()
                .enumerate()
                .map(|(i, x)| match ys.get(i) {
                    Some(y) => align(x, y),
                    None => x.clone(),
                })
                .collect(),
        ),
        (Value::Object(xs), Value::Object(ys)) => {
            let mut out = Map::with_capacity(xs.len());
            for (k, y) in ys {
                if let Some(x) = xs.get(k) {
                    out.insert(k.clone(), align(x, y));
                }
            }
            for (k, x) in xs {
                if !ys.contains_key(k) {
                    out.insert(k.clone(), x.clone());
                }
            }
            Value::Object(out)
        }
        _ => actual.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::assert::parse_json_predicates;
    use serde_json::json;

    /// Compiles one predicate the way a user writes it, so tests read like the YAML.
    fn pred(spec: Value) -> Predicate {
        let mut ps = parse_json_predicates(&spec).expect("valid spec");
        assert_eq!(ps.len(), 1, "one predicate per test spec");
        ps.remove(0)
    }

    /// `holds` must give `check`'s verdict for every predicate and every kind of value.
    #[test]
    fn holds_agrees_with_check() {
        let specs = [
            json!("bearer"),
            json!({"equals": {"a": [1, 2.0]}}),
            json!({"not_equals": 3}),
            json!({"exists": true}),
            json!({"exists": false}),
            json!({"type": "string"}),
            json!({"type": "integer"}),
            json!({"type": "number"}),
            json!({"type": "object"}),
            json!({"type": "null"}),
            json!({"matches": "^b.a"}),
            json!({"contains": "ear"}),
            json!({"contains": 2}),
            json!({"contains": "a"}),
            json!({"starts_with": "be"}),
            json!({"gt": 0}),
            json!({"gte": 3599}),
            json!({"lt": 1.5}),
            json!({"lte": -1}),
            json!({"length": 2}),
            json!({"length": 6}),
        ];
        let values = [
            json!("bearer"),
            json!("Bearer"),
            json!(""),
            json!(3599),
            json!(3599.0),
            json!(-1),
            json!(1.25),
            json!(true),
            json!(null),
            json!([1, 2]),
            json!({"a": [1, 2]}),
            json!({"a": 1, "b": 2}),
        ];
        for spec in &specs {
            let p = pred(spec.clone());
            assert_eq!(holds(&p, None), check(&p, None).passed, "{spec} on nothing");
            for value in &values {
                assert_eq!(
                    holds(&p, Some(value)),
                    check(&p, Some(value)).passed,
                    "{spec} on {value}"
                );
            }
        }
    }

    fn run(spec: Value, actual: Value) -> Outcome {
        check(&pred(spec), Some(&actual))
    }

    fn passes(spec: Value, actual: Value) -> bool {
        run(spec, actual).passed
    }

    #[test]
    fn equals_passes_and_fails() {
        let o = run(json!("bearer"), json!("bearer"));
        assert!(o.passed);
        assert_eq!(o.predicate, "equals");
        let o = run(json!("bearer"), json!("Bearer"));
        assert!(!o.passed);
        assert_eq!(o.expected, r#""bearer""#);
        assert_eq!(o.actual, r#""Bearer""#);
        assert_eq!(o.diff, None);
    }

    #[test]
    fn equality_is_numeric() {
        assert!(passes(json!(1), json!(1.0)));
        assert!(passes(
            json!({"equals": {"a": [1, 2.0]}}),
            json!({"a": [1.0, 2]})
        ));
        assert!(passes(json!(-3), json!(-3.0)));
        assert!(!passes(json!(1), json!(1.5)));
        assert!(!passes(json!(1), json!("1")));
    }

    #[test]
    fn equality_ignores_key_order_but_not_extra_keys() {
        assert!(passes(
            json!({"equals": {"a": 1, "b": 2}}),
            json!({"b": 2, "a": 1})
        ));
        assert!(!passes(
            json!({"equals": {"a": 1}}),
            json!({"a": 1, "b": 2})
        ));
    }

    #[test]
    fn large_integers_compare_exactly() {
        // 2^53 and 2^53 + 1 are the same f64; a float-only comparison would call them equal.
        assert!(!passes(
            json!(9_007_199_254_740_993u64),
            json!(9_007_199_254_740_992u64)
        ));
        assert!(!passes(
            json!(9_007_199_254_740_993u64),
            json!(9_007_199_254_740_992.0)
        ));
        assert!(passes(
            json!({"gt": 9_007_199_254_740_992.0}),
            json!(9_007_199_254_740_993u64)
        ));
        assert!(passes(json!({"gt": -1}), json!(u64::MAX)));
        assert!(passes(json!({"lt": 0}), json!(i64::MIN)));
        assert!(passes(json!({"lt": 1e300}), json!(u64::MAX)));
    }

    #[test]
    fn diff_is_present_for_object_mismatch() {
        let o = run(
            json!({"equals": {"id": 7, "name": "ada", "roles": ["admin"]}}),
            json!({"roles": ["user"], "id": 7.0, "name": "ada"}),
        );
        assert!(!o.passed);
        let diff = o.diff.expect("object mismatch has a diff");
        assert!(diff.starts_with("--- expected\n+++ actual\n"), "{diff}");
        assert!(diff.contains("-    \"admin\"\n"), "{diff}");
        assert!(diff.contains("+    \"user\"\n"), "{diff}");
        // Aligned: key order and 7 vs 7.0 are not differences, so they do not show as changes.
        assert!(!diff.contains("-  \"id\""), "{diff}");
        assert!(!diff.contains("+  \"id\""), "{diff}");
    }

    #[test]
    fn diff_is_present_for_array_mismatch_only() {
        let o = run(json!([1, 2, 3]), json!([1, 2]));
        assert!(o.diff.is_some());
        // One side structured, the other not: a diff of a scalar says nothing the line does not.
        let o = run(json!([1, 2, 3]), json!("x"));
        assert_eq!(o.diff, None);
        let o = run(json!([1, 2]), json!([1, 2]));
        assert_eq!(o.diff, None);
    }

    #[test]
    fn not_equals_passes_and_fails() {
        assert!(passes(json!({"not_equals": "a"}), json!("b")));
        let o = run(json!({"not_equals": 1}), json!(1.0));
        assert!(!o.passed);
        assert_eq!(o.expected, "not 1");
    }

    #[test]
    fn exists_passes_and_fails() {
        assert!(passes(json!({"exists": true}), json!(null)));
        let o = run(json!({"exists": false}), json!("x"));
        assert!(!o.passed);
        assert_eq!(o.expected, "does not exist");
        assert_eq!(o.actual, r#"string "x""#);
    }

    #[test]
    fn nothing_matched_only_passes_exists_false() {
        let o = check(&pred(json!({"exists": false})), None);
        assert!(o.passed);
        assert_eq!(o.actual, "nothing matched");
        for spec in [
            json!({"exists": true}),
            json!({"equals": null}),
            json!({"not_equals": 1}),
            json!({"type": "null"}),
            json!({"matches": ""}),
            json!({"contains": ""}),
            json!({"starts_with": ""}),
            json!({"gt": 0}),
            json!({"gte": 0}),
            json!({"lt": 0}),
            json!({"lte": 0}),
            json!({"length": 0}),
        ] {
            let o = check(&pred(spec.clone()), None);
            assert!(!o.passed, "{spec} should fail on nothing");
            assert_eq!(o.actual, "nothing matched");
        }
    }

    #[test]
    fn type_passes_and_fails() {
        let o = run(json!({"type": "string"}), json!(3599));
        assert!(!o.passed);
        assert_eq!(o.expected, "type string");
        assert_eq!(o.actual, "number 3599");
        assert!(passes(json!({"type": "string"}), json!("s")));
        assert!(passes(json!({"type": "number"}), json!(1.5)));
        assert!(passes(json!({"type": "boolean"}), json!(false)));
        assert!(passes(json!({"type": "array"}), json!([])));
        assert!(passes(json!({"type": "object"}), json!({})));
        assert!(passes(json!({"type": "null"}), json!(null)));
        assert!(!passes(json!({"type": "null"}), json!(0)));
        assert!(!passes(json!({"type": "object"}), json!([])));
    }

    #[test]
    fn integer_type_means_no_fractional_part() {
        assert!(passes(json!({"type": "integer"}), json!(3)));
        assert!(passes(json!({"type": "integer"}), json!(-3)));
        assert!(passes(json!({"type": "integer"}), json!(u64::MAX)));
        assert!(passes(json!({"type": "integer"}), json!(3.0)));
        assert!(!passes(json!({"type": "integer"}), json!(3.5)));
        assert!(!passes(json!({"type": "integer"}), json!("3")));
        assert!(passes(json!({"type": "number"}), json!(3)));
    }

    #[test]
    fn matches_passes_and_fails() {
        assert!(passes(json!({"matches": "^user:"}), json!("user:read")));
        let o = run(json!({"matches": "^user:"}), json!("admin:user:"));
        assert!(!o.passed);
        assert_eq!(o.expected, "matches /^user:/");
        let o = run(json!({"matches": "3"}), json!(3));
        assert!(!o.passed);
        assert_eq!(o.actual, "number 3");
    }

    #[test]
    fn contains_on_strings() {
        assert!(passes(
            json!({"contains": "json"}),
            json!("application/json")
        ));
        assert!(!passes(
            json!({"contains": "xml"}),
            json!("application/json")
        ));
        let o = run(json!({"contains": 1}), json!("1"));
        assert!(!o.passed, "a number is not a substring");
        assert_eq!(o.actual, r#"string "1""#);
    }

    #[test]
    fn contains_on_arrays_uses_json_equality() {
        assert!(passes(json!({"contains": "b"}), json!(["a", "b"])));
        assert!(passes(json!({"contains": 2}), json!([1, 2.0])));
        assert!(passes(json!({"contains": {"id": 1}}), json!([{"id": 1.0}])));
        assert!(!passes(json!({"contains": "c"}), json!(["a", "b"])));
        assert!(!passes(json!({"contains": "a"}), json!(["abc"])));
    }

    #[test]
    fn contains_on_objects_looks_at_keys() {
        assert!(passes(json!({"contains": "a"}), json!({"a": 1})));
        assert!(!passes(json!({"contains": 1}), json!({"a": 1})));
        assert!(!passes(json!({"contains": "b"}), json!({"a": "b"})));
    }

    #[test]
    fn contains_on_other_types_fails() {
        let o = run(json!({"contains": "1"}), json!(1));
        assert!(!o.passed);
        assert_eq!(o.actual, "number 1");
    }

    #[test]
    fn starts_with_passes_and_fails() {
        assert!(passes(json!({"starts_with": "user"}), json!("user:read")));
        let o = run(json!({"starts_with": "user"}), json!("admin"));
        assert!(!o.passed);
        assert_eq!(o.expected, r#"starts with "user""#);
        let o = run(json!({"starts_with": "1"}), json!(12));
        assert!(!o.passed);
        assert_eq!(o.actual, "number 12");
    }

    #[test]
    fn comparisons_pass_and_fail() {
        let o = run(json!({"gt": 0}), json!(3599));
        assert!(o.passed);
        assert_eq!(o.expected, "> 0");
        assert_eq!(o.actual, "3599");
        assert!(!passes(json!({"gt": 0}), json!(0)));
        assert!(passes(json!({"gte": 0}), json!(0)));
        assert!(!passes(json!({"gte": 0}), json!(-0.5)));
        assert!(passes(json!({"lt": 1}), json!(0.999)));
        assert!(!passes(json!({"lt": 1}), json!(1.0)));
        assert!(passes(json!({"lte": 1.5}), json!(1.5)));
        assert!(!passes(json!({"lte": 1.5}), json!(2)));
        assert!(passes(json!({"gt": 1.5}), json!(2)));
        assert!(passes(json!({"lt": -1}), json!(-1.5)));
    }

    #[test]
    fn comparison_on_a_string_fails_naming_the_type() {
        let o = run(json!({"gt": 0}), json!("abc"));
        assert!(!o.passed);
        assert_eq!(o.actual, r#"string "abc""#);
        assert!(!passes(json!({"lte": 10}), json!("5")));
    }

    #[test]
    fn length_counts_chars_items_and_keys() {
        let o = run(json!({"length": 5}), json!("héllo"));
        assert!(o.passed, "chars, not bytes: {o:?}");
        assert!(!passes(json!({"length": 6}), json!("héllo")));
        assert!(passes(json!({"length": 2}), json!("日本")));
        assert!(passes(json!({"length": 3}), json!([1, 2, 3])));
        let o = run(json!({"length": 3}), json!([1, 2]));
        assert!(!o.passed);
        assert_eq!(
            (o.expected.as_str(), o.actual.as_str()),
            ("length 3", "length 2")
        );
        assert!(passes(json!({"length": 1}), json!({"a": 1})));
        assert!(passes(json!({"length": 0}), json!({})));
    }

    #[test]
    fn length_on_a_number_fails_naming_the_type() {
        let o = run(json!({"length": 1}), json!(7));
        assert!(!o.passed);
        assert_eq!(o.actual, "number 7");
    }

    #[test]
    fn cmp_int_float_handles_the_edges() {
        assert_eq!(cmp_int_float(3, 3.0), Some(Ordering::Equal));
        assert_eq!(cmp_int_float(3, 3.5), Some(Ordering::Less));
        assert_eq!(cmp_int_float(-3, -3.5), Some(Ordering::Greater));
        assert_eq!(cmp_int_float(0, -0.0), Some(Ordering::Equal));
        assert_eq!(
            cmp_int_float(i128::MAX, f64::INFINITY),
            Some(Ordering::Less)
        );
        assert_eq!(cmp_int_float(0, f64::NAN), None);
    }
}

#[cfg(test)]
mod javascript_tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn loose_equality_follows_javascript() {
        let cases = [
            (json!("1"), json!(1), true),
            (json!(1), json!("1.0"), true),
            (json!(" 2 "), json!(2), true),
            (json!(""), json!(0), true),
            (json!("0x10"), json!(16), true),
            (json!("abc"), json!(0), false),
            (json!("inf"), json!(f64::MAX), false),
            (json!(true), json!(1), true),
            (json!(true), json!("1"), true),
            (json!(false), json!(""), true),
            (json!(null), json!(0), false),
            (json!(null), json!(null), true),
            (json!([1, 2]), json!("1,2"), true),
            (json!([]), json!(false), true),
            (json!({"a": 1}), json!("[object Object]"), true),
            (json!([1]), json!([1]), false),
            (json!("a"), json!("a"), true),
            (json!("a"), json!("A"), false),
        ];
        for (actual, operand, want) in cases {
            let p = Predicate::LooselyEquals(operand.clone());
            assert_eq!(holds(&p, Some(&actual)), want, "{actual} == {operand}");
            assert_eq!(
                check(&p, Some(&actual)).passed,
                want,
                "{actual} == {operand}"
            );
        }
        // A missing value is `undefined`, which is `== null` and nothing else.
        assert!(holds(&Predicate::LooselyEquals(json!(null)), None));
        assert!(!holds(&Predicate::LooselyEquals(json!(0)), None));
        assert!(check(&Predicate::LooselyEquals(json!(null)), None).passed);
    }

    #[test]
    fn truthiness_follows_javascript() {
        let falsy = [json!(false), json!(0), json!(0.0), json!(""), json!(null)];
        let truthy = [
            json!(true),
            json!(1),
            json!("0"),
            json!(" "),
            json!([]),
            json!({}),
        ];
        for v in falsy {
            assert!(holds(&Predicate::Truthy(false), Some(&v)), "{v}");
            assert!(!check(&Predicate::Truthy(true), Some(&v)).passed, "{v}");
        }
        for v in truthy {
            assert!(holds(&Predicate::Truthy(true), Some(&v)), "{v}");
            assert!(!check(&Predicate::Truthy(false), Some(&v)).passed, "{v}");
        }
        assert!(holds(&Predicate::Truthy(false), None));
        assert!(!holds(&Predicate::Truthy(true), None));
    }
}
