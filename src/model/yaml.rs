//! Reading YAML into the file types, with errors that point into the file.
//!
//! serde-saphyr does the parsing; this module fixes the options every courier file is read with
//! (YAML 1.2 booleans only, `0755` stays a string, duplicate keys rejected) and turns its errors
//! into [`Diagnostic`]s with a fix: a misspelt key gets the nearest valid one.

use std::fmt;
use std::sync::Arc;

use serde::Deserialize;
use serde::de::{self, DeserializeOwned, Deserializer, Visitor};
use serde_saphyr::{Location, Spanned};

use crate::diag::{Diagnostic, SourceFile, Spot, backticked, did_you_mean};

fn options() -> serde_saphyr::Options {
    serde_saphyr::options! {
        // `yes`, `on`, `no` and `off` are strings, as in YAML 1.2: a form value `on` must not
        // turn into `true`.
        strict_booleans: true,
        // `0755` is a string, not the octal number 493 or the decimal 755.
        leading_zero_numbers_as_strings: true,
        legacy_octal_numbers: false,
        with_snippet: false,
    }
}

/// Parses a whole file. `what` names the kind of file for messages ("request file").
pub fn parse<T: DeserializeOwned>(file: &Arc<SourceFile>, what: &str) -> Result<T, Diagnostic> {
    serde_saphyr::from_str_with_options(&file.text, options())
        .map_err(|e| to_diagnostic(file, what, &e))
}

fn to_diagnostic(file: &Arc<SourceFile>, what: &str, e: &serde_saphyr::Error) -> Diagnostic {
    let raw = e.to_string();
    let message = strip_position(&raw);
    let spot = e.location().map(|loc| spot(file, &loc));
    let (title, label, help) = explain(message, what);
    Diagnostic::new(title)
        .at_opt(spot)
        .label(label)
        .maybe_help(help)
}

/// serde-saphyr appends " at line N, column M"; the rendered snippet already says where.
fn strip_position(message: &str) -> &str {
    match message.rfind(" at line ") {
        Some(i) if message[i..].contains(", column ") => &message[..i],
        _ => message,
    }
}

/// Rewrites serde's wording into ours, with a fix where one can be given.
fn explain(message: &str, what: &str) -> (String, String, Option<String>) {
    if let Some(rest) = message.strip_prefix("unknown field `") {
        let (key, expected) = rest.split_once('`').unwrap_or((rest, ""));
        let valid = expected_names(expected);
        let help = match did_you_mean(key, valid.iter().map(String::as_str)) {
            Some(near) => format!("did you mean `{near}`?"),
            None => format!("valid keys here: {}", backticked(&valid)),
        };
        return (
            format!("unknown key `{key}` in {what}"),
            "unknown key".into(),
            Some(help),
        );
    }
    if let Some(rest) = message.strip_prefix("unknown variant `") {
        let (word, expected) = rest.split_once('`').unwrap_or((rest, ""));
        let valid = expected_names(expected);
        let help = match did_you_mean(word, valid.iter().map(String::as_str)) {
            Some(near) => format!("did you mean `{near}`?"),
            None => format!("expected one of {}", backticked(&valid)),
        };
        return (
            format!("unknown value `{word}`"),
            "not allowed here".into(),
            Some(help),
        );
    }
    if let Some(rest) = message.strip_prefix("duplicate mapping key: ") {
        let key = rest
            .split(", set DuplicateKeyPolicy")
            .next()
            .unwrap_or(rest);
        return (
            format!("duplicate key `{key}`"),
            "this key appears earlier in the same mapping".into(),
            Some("each key may appear once: remove or rename one of them".into()),
        );
    }
    if let Some(rest) = message.strip_prefix("missing field `") {
        let key = rest.trim_end_matches('`');
        return (
            format!("missing key `{key}` in {what}"),
            "in this mapping".into(),
            Some(format!("add `{key}:` to the {what}")),
        );
    }
    if let Some(kind) = message.strip_prefix("invalid ")
        && let Some(expected) = expected_kind(kind)
    {
        return (
            format!("wrong type in {what}: expected {expected}"),
            format!("not {expected}"),
            Some(format!("write {expected} here")),
        );
    }
    if let Some(rest) = message.strip_prefix("invalid type: ") {
        return (format!("wrong type in {what}: {rest}"), "here".into(), None);
    }
    (format!("invalid {what}: {message}"), "here".into(), None)
}

/// serde-saphyr names the Rust type it wanted (`invalid u32`); users think in YAML terms.
fn expected_kind(rust_type: &str) -> Option<&'static str> {
    Some(match rust_type {
        "u8" | "u16" | "u32" | "u64" | "usize" => "a whole number such as `5`",
        "i8" | "i16" | "i32" | "i64" | "isize" => "a whole number",
        "f32" | "f64" => "a number",
        "bool" => "`true` or `false`",
        "string" | "str" => "a string",
        _ => return None,
    })
}

/// Parses serde's "expected one of `a`, `b`" or serde-saphyr's "expected one of a, b".
fn expected_names(expected: &str) -> Vec<String> {
    let list = expected
        .trim_start_matches(',')
        .trim()
        .trim_start_matches("expected one of")
        .trim_start_matches("expected")
        .trim();
    list.split(',')
        .map(|s| s.trim().trim_matches('`').to_string())
        .filter(|s| !s.is_empty() && !s.contains(' '))
        .collect()
}

/// The spot of a serde-saphyr location.
pub fn spot(file: &Arc<SourceFile>, loc: &Location) -> Spot {
    let span = loc.span();
    match (span.byte_offset(), span.byte_len()) {
        (Some(start), Some(len)) => Spot::new(file, start as usize..(start + len.max(1)) as usize),
        _ => {
            // Fall back to line and column, which are always known.
            let offset = offset_of_line_col(&file.text, loc.line() as usize, loc.column() as usize);
            Spot::new(file, offset..offset + 1)
        }
    }
}

fn offset_of_line_col(text: &str, line: usize, col: usize) -> usize {
    let line_start = text
        .split_inclusive('\n')
        .take(line.saturating_sub(1))
        .map(str::len)
        .sum::<usize>();
    let rest = &text[line_start..];
    line_start
        + rest
            .char_indices()
            .nth(col.saturating_sub(1))
            .map_or(rest.len(), |(i, _)| i)
}

/// The spot of a spanned value.
pub fn spot_of<T>(file: &Arc<SourceFile>, value: &Spanned<T>) -> Spot {
    spot(file, &value.referenced)
}

/// A scalar read as text whatever YAML typed it as: `port: 8080` and `port: "8080"` are the same
/// header, query or form value.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Text(pub String);

impl<'de> Deserialize<'de> for Text {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct TextVisitor;
        impl Visitor<'_> for TextVisitor {
            type Value = Text;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a string, number or boolean")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Text, E> {
                Ok(Text(v.to_string()))
            }
            fn visit_string<E: de::Error>(self, v: String) -> Result<Text, E> {
                Ok(Text(v))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Text, E> {
                Ok(Text(v.to_string()))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Text, E> {
                Ok(Text(v.to_string()))
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<Text, E> {
                Ok(Text(v.to_string()))
            }
            fn visit_bool<E: de::Error>(self, v: bool) -> Result<Text, E> {
                Ok(Text(v.to_string()))
            }
        }
        deserializer.deserialize_any(TextVisitor)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use indexmap::IndexMap;

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Doc {
        name: String,
        #[serde(default)]
        headers: IndexMap<String, Text>,
        #[serde(default)]
        value: Option<serde_json::Value>,
    }

    fn load(text: &str) -> Result<Doc, Diagnostic> {
        parse(&SourceFile::new("t.yaml", text), "request file")
    }

    #[test]
    fn misspelt_key_suggests_the_nearest() {
        let d = load("name: a\nheders: {}\n").unwrap_err();
        assert_eq!(d.title, "unknown key `heders` in request file");
        assert_eq!(d.help.as_deref(), Some("did you mean `headers`?"));
        assert_eq!(d.spot.unwrap().position(), "t.yaml:2:1");
    }

    #[test]
    fn duplicate_key_is_refused() {
        let d = load("name: a\nname: b\n").unwrap_err();
        assert_eq!(d.title, "duplicate key `name`");
    }

    #[test]
    fn yes_and_octal_looking_values_stay_strings() {
        let doc = load("name: a\nvalue: {a: yes, b: 0755, c: on, d: true}\n").unwrap();
        assert_eq!(
            doc.value.unwrap(),
            serde_json::json!({"a": "yes", "b": "0755", "c": "on", "d": true})
        );
    }

    #[test]
    fn scalars_become_text() {
        let doc = load("name: a\nheaders: {x: 5, y: true, z: s}\n").unwrap();
        assert_eq!(doc.headers["x"], Text("5".into()));
        assert_eq!(doc.headers["y"], Text("true".into()));
    }

    #[test]
    fn wrong_scalar_type_says_what_it_takes() {
        #[derive(Debug, Deserialize)]
        #[allow(dead_code)]
        struct Counted {
            redirects: u32,
        }
        let e = parse::<Counted>(
            &SourceFile::new("t.yaml", "redirects: many\n"),
            "request file",
        )
        .unwrap_err();
        assert_eq!(
            e.title,
            "wrong type in request file: expected a whole number such as `5`"
        );
        assert_eq!(e.spot.unwrap().position(), "t.yaml:1:12");
    }

    #[test]
    fn missing_key_names_it() {
        let d = load("headers: {}\n").unwrap_err();
        assert_eq!(d.title, "missing key `name` in request file");
    }
}
