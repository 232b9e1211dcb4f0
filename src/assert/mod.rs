//! The assertion layer: what a user may check about a response, and what happened when it was
//! checked.
//!
//! It owns three stages. *Specs* turn what the user wrote under `assert:` (already parsed from
//! YAML into [`serde_json::Value`]) into compiled checks: [`Predicate`]s, [`StatusSpec`] and
//! JSONPath [`Query`]s, failing with a [`SpecError`] that names the offending key and suggests a
//! fix. *Checks* apply one predicate to one actual value and always produce an [`Outcome`]: a
//! failed assertion is a result to report, never an `Err`. *Rendering helpers* ([`show`] and the
//! diffs inside outcomes) turn values into short human text.
//!
//! The boundary: everything here is pure. It knows nothing of HTTP types, files, terminals or
//! colour. The caller extracts the status code, header values, body text and parsed JSON from the
//! exchange, hands them in as plain values, and decides how to render outcomes and errors (with
//! source spans it looks up from [`SpecError::key`]). The only I/O is the compliance test, which
//! reads the RFC 9535 suite from disk.

mod check;
mod document;
mod predicate;
mod query;
mod schema;
mod status;

#[cfg(test)]
mod cts_tests;

use std::fmt;

use serde_json::Value;

pub use check::{Outcome, check, holds, unified_diff};
pub use document::Document;
pub use predicate::{
    BODY_PREDICATES, HEADER_PREDICATES, JSON_PREDICATES, JsonType, Predicate, PredicateDoc,
    parse_body_predicates, parse_header_predicates, parse_json_predicates,
};
pub use query::Query;
pub use schema::{JsonSchema, SharedSchemas};
pub use status::StatusSpec;

/// Why an assertion spec could not be compiled.
///
/// `message` follows the house style (lowercase, user values in backticks, no trailing period).
/// `key` is the map key the message is about, when there is one, so the caller can point at it
/// in the user's file; `help` is what would fix it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SpecError {
    pub message: String,
    pub key: Option<String>,
    pub help: Option<String>,
}

impl SpecError {
    fn new(message: impl Into<String>) -> Self {
        SpecError {
            message: message.into(),
            key: None,
            help: None,
        }
    }

    fn with_key(mut self, key: impl Into<String>) -> Self {
        self.key = Some(key.into());
        self
    }

    fn with_help(mut self, help: impl Into<String>) -> Self {
        self.help = Some(help.into());
        self
    }
}

impl fmt::Display for SpecError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for SpecError {}

/// Longest rendering [`show`] produces, in characters. Long enough for a token or a small object,
/// short enough that a failing check still fits on a terminal line or two.
const SHOW_LIMIT: usize = 120;

/// Renders a value as compact JSON for messages, cut to 120 characters with `…`.
///
/// A long string keeps its closing quote so it still reads as a string; structures are simply cut,
/// since their closing brackets would be a lie about what follows.
pub fn show(v: &Value) -> String {
    match v {
        Value::String(s) => show_str(s),
        Value::Array(_) | Value::Object(_) => {
            let text = v.to_string();
            if text.chars().count() <= SHOW_LIMIT {
                return text;
            }
            let head: String = text.chars().take(SHOW_LIMIT - 1).collect();
            format!("{head}…")
        }
        scalar => scalar.to_string(),
    }
}

/// A string as JSON text, cut to [`SHOW_LIMIT`] characters. Escapes are written one character at
/// a time and never split: a dangling `\` would read as an escape. Hot: every check shows its
/// values, and tokens are long.
fn show_str(s: &str) -> String {
    let budget = SHOW_LIMIT - 3;
    let mut inner = String::with_capacity(s.len().min(SHOW_LIMIT) + 2);
    let mut width = 0;
    let mut cut_at = None;
    for c in s.chars() {
        let before = inner.len();
        width += push_escaped(&mut inner, c);
        if cut_at.is_none() && width > budget {
            cut_at = Some(before);
        }
        if width + 2 > SHOW_LIMIT {
            inner.truncate(cut_at.unwrap_or(before));
            return format!("\"{inner}…\"");
        }
    }
    format!("\"{inner}\"")
}

/// Appends `c` escaped as serde_json escapes it inside a string; returns how many characters
/// that took.
fn push_escaped(out: &mut String, c: char) -> usize {
    let short = match c {
        '"' => Some('"'),
        '\\' => Some('\\'),
        '\n' => Some('n'),
        '\r' => Some('r'),
        '\t' => Some('t'),
        '\u{8}' => Some('b'),
        '\u{c}' => Some('f'),
        _ => None,
    };
    match short {
        Some(letter) => {
            out.push('\\');
            out.push(letter);
            2
        }
        None if (c as u32) < 0x20 => {
            use std::fmt::Write as _;
            let _ = write!(out, "\\u{:04x}", c as u32);
            6
        }
        None => {
            out.push(c);
            1
        }
    }
}

/// Renders a value with its JSON type in front (`string "abc"`, `number 3`), for the messages where
/// the type is the point: a type check, or a predicate that met a value of the wrong kind.
fn describe(v: &Value) -> String {
    match v {
        Value::Null => "null".to_owned(),
        _ => format!("{} {}", JsonType::kind_of(v), show(v)),
    }
}

/// The user's value inside backticks, with its type outside them where that helps: `string
/// `"abc"`` tells the user why `"5"` was refused, where a bare `` `"5"` `` would not.
pub(super) fn describe_backticked(v: &Value) -> String {
    match v {
        Value::Null => "`null`".to_owned(),
        _ => {
            let described = describe(v);
            let (kind, rest) = described.split_once(' ').unwrap_or((&described, ""));
            format!("{kind} `{rest}`")
        }
    }
}

/// The closest of `candidates` to what the user typed, if it is close enough to be a plausible typo.
///
/// Case is ignored because `Equals` or `GT` are typos too. Short words get a tighter budget so that
/// `x` does not suggest `gt`. Damerau–Levenshtein so that a swap (`lenght`) counts as one edit.
fn closest<'a>(typed: &str, candidates: &[&'a str]) -> Option<&'a str> {
    let typed = typed.to_lowercase();
    let budget = if typed.chars().count() <= 3 { 1 } else { 2 };
    candidates
        .iter()
        .map(|c| (strsim::damerau_levenshtein(&typed, c), *c))
        .filter(|(d, _)| *d <= budget)
        .min_by_key(|(d, _)| *d)
        .map(|(_, c)| c)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn show_is_compact_json() {
        assert_eq!(show(&json!("bearer")), r#""bearer""#);
        assert_eq!(show(&json!({"a": [1, 2]})), r#"{"a":[1,2]}"#);
        assert_eq!(show(&json!(null)), "null");
    }

    #[test]
    fn show_truncates_long_strings_keeping_the_quote() {
        let long = "x".repeat(500);
        let shown = show(&json!(long));
        assert_eq!(shown.chars().count(), SHOW_LIMIT);
        assert!(shown.starts_with("\"xxx"));
        assert!(shown.ends_with("…\""));
    }

    #[test]
    fn show_truncates_long_multibyte_strings_on_char_boundaries() {
        let long = "é".repeat(500);
        let shown = show(&json!(long));
        assert_eq!(shown.chars().count(), SHOW_LIMIT);
    }

    #[test]
    fn show_truncates_escape_heavy_strings_to_the_limit() {
        let long = "\n".repeat(500);
        let shown = show(&json!(long));
        assert_eq!(shown.chars().count(), SHOW_LIMIT - 1);
        assert!(shown.ends_with("\\n…\""), "{shown}");
    }

    #[test]
    fn show_truncates_long_structures() {
        let big: Vec<u32> = (0..200).collect();
        let shown = show(&json!(big));
        assert_eq!(shown.chars().count(), SHOW_LIMIT);
        assert!(shown.starts_with("[0,1,2"));
        assert!(shown.ends_with('…'));
    }

    #[test]
    fn show_escapes_strings_exactly_as_serde_json() {
        let tricky = "quote \" back \\ nl \n cr \r tab \t bell \u{7} bs \u{8} ff \u{c} é ✓ 🙂";
        for len in [0, 1, 10, 40, tricky.chars().count()] {
            let s: String = tricky.chars().take(len).collect();
            assert_eq!(show(&json!(s)), serde_json::to_string(&s).unwrap(), "{s:?}");
        }
        let long = format!("{}\n{}", "a".repeat(200), "b".repeat(200));
        let shown = show(&json!(long));
        assert_eq!(shown.chars().count(), SHOW_LIMIT);
        assert!(shown.ends_with("…\""), "{shown}");
    }

    #[test]
    fn describe_names_the_type() {
        assert_eq!(describe(&json!("abc")), r#"string "abc""#);
        assert_eq!(describe(&json!(3599)), "number 3599");
        assert_eq!(describe(&json!(true)), "boolean true");
        assert_eq!(describe(&json!([1])), "array [1]");
        assert_eq!(describe(&json!({})), "object {}");
        assert_eq!(describe(&json!(null)), "null");
    }

    #[test]
    fn describe_backticked_keeps_the_type_outside() {
        assert_eq!(describe_backticked(&json!("5")), r#"string `"5"`"#);
        assert_eq!(describe_backticked(&json!(null)), "`null`");
    }

    #[test]
    fn closest_finds_typos_only() {
        let names = ["gt", "gte", "length", "equals"];
        assert_eq!(closest("gtt", &names), Some("gt"));
        assert_eq!(closest("lenght", &names), Some("length"));
        assert_eq!(closest("Equals", &names), Some("equals"));
        assert_eq!(closest("x", &names), None);
        assert_eq!(closest("banana", &names), None);
    }
}
