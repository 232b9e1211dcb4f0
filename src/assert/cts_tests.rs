//! The JSONPath compliance test suite of RFC 9535, run through [`Query`] rather than the library
//! directly, so it also covers what this module adds on top (parsing, node lists).

use std::path::Path;

use serde_json::Value;

use super::Query;

#[test]
fn rfc9535_compliance_suite() {
    let file = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/jsonpath-cts/cts.json");
    let Ok(text) = std::fs::read_to_string(&file) else {
        // The suite lives outside the crate; a checkout without it cannot run this test, but
        // every other test still should.
        println!("skipping: no compliance suite at {}", file.display());
        return;
    };
    let suite: Value = serde_json::from_str(&text).expect("cts.json is JSON");
    let cases = suite["tests"]
        .as_array()
        .expect("cts.json has a `tests` array");

    let mut failures = Vec::new();
    for case in cases {
        let name = case["name"].as_str().expect("every case has a name");
        let selector = case["selector"]
            .as_str()
            .expect("every case has a selector");
        if let Some(problem) = run_case(case, selector) {
            failures.push(format!("{name}: {selector:?}: {problem}"));
        }
    }

    let passed = cases.len() - failures.len();
    println!(
        "RFC 9535 compliance: {passed} of {} cases passed",
        cases.len()
    );
    for failure in &failures {
        println!("  FAIL {failure}");
    }
    assert!(!cases.is_empty(), "the compliance suite has no cases");
    assert!(
        failures.is_empty(),
        "{} of {} compliance cases failed:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );
}

/// Runs one case; `Some(reason)` when it fails.
fn run_case(case: &Value, selector: &str) -> Option<String> {
    let parsed = Query::parse(selector);
    if case["invalid_selector"] == Value::Bool(true) {
        return parsed
            .is_ok()
            .then(|| "invalid selector was accepted".to_owned());
    }
    let query = match parsed {
        Ok(q) => q,
        Err(e) => return Some(format!("valid selector was rejected: {}", e.message)),
    };
    let got = Value::Array(
        query
            .nodes(&case["document"])
            .into_iter()
            .cloned()
            .collect(),
    );
    // `results` lists every acceptable order, for selectors over objects whose member order
    // RFC 9535 leaves open.
    let acceptable: Vec<&Value> = match (case.get("result"), case.get("results")) {
        (Some(one), _) => vec![one],
        (None, Some(Value::Array(several))) => several.iter().collect(),
        _ => return Some("case has neither `result` nor `results`".to_owned()),
    };
    // Exact `==`, not the numeric equality of checks: the suite pins down the nodes themselves.
    if acceptable.contains(&&got) {
        None
    } else {
        let wanted: Vec<String> = acceptable.iter().map(|v| v.to_string()).collect();
        Some(format!("got {got}, expected {}", wanted.join(" or ")))
    }
}
