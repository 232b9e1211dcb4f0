//! Writing courier's YAML files by hand.
//!
//! serde-saphyr could serialize the values, but an imported file also carries `#` comments (the
//! scripts and settings courier cannot run) between its keys, and its keys must come in the order
//! the README shows. So a file is a list of [`Entry`]s, each a top-level key with a JSON value or
//! a comment block, and this module turns it into text.
//!
//! Strings are written plain only when no YAML reader can take them for anything else (`yes`,
//! `0755`, `a: b` and `#x` are all quoted); everything else is a JSON-style double-quoted string,
//! which is valid YAML, or a literal block (`|`) for readable multi-line text when the text
//! survives one exactly. The tests read every form back with courier's own loader.

use std::fmt::Write as _;

use serde_json::Value;

/// One top-level item of a file.
#[derive(Debug, Clone)]
pub(super) enum Entry {
    Field(String, Value),
    /// Lines written as `# line`.
    Comment(Vec<String>),
}

/// The text of a whole file.
pub(super) fn render(entries: &[Entry]) -> String {
    let mut out = String::new();
    for entry in entries {
        match entry {
            Entry::Field(key, value) => write_field(&mut out, 0, key, value),
            Entry::Comment(lines) => write_comment(&mut out, lines),
        }
    }
    out
}

fn write_comment(out: &mut String, lines: &[String]) {
    for line in lines.iter().flat_map(|l| l.split('\n')) {
        let line = comment_safe(line);
        if line.is_empty() {
            out.push_str("#\n");
        } else {
            let _ = writeln!(out, "# {line}");
        }
    }
}

/// A comment runs to the end of its line, so only characters a YAML reader could take for a line
/// break (or that are not printable) need replacing.
fn comment_safe(line: &str) -> String {
    line.trim_end()
        .chars()
        .map(|c| if needs_escape(c) && c != '\t' { ' ' } else { c })
        .collect()
}

fn write_field(out: &mut String, indent: usize, key: &str, value: &Value) {
    let pad = " ".repeat(indent);
    let key = scalar_key(key);
    match value {
        Value::Object(map) if !map.is_empty() => {
            let _ = writeln!(out, "{pad}{key}:");
            for (k, v) in map {
                write_field(out, indent + 2, k, v);
            }
        }
        Value::Array(items) if !items.is_empty() => {
            let _ = writeln!(out, "{pad}{key}:");
            for item in items {
                write_item(out, indent + 2, item);
            }
        }
        Value::String(s) if literal_block_fits(s) => {
            let _ = writeln!(out, "{pad}{key}: |{}", chomping(s));
            write_block_lines(out, indent + 2, s);
        }
        _ => {
            let _ = writeln!(out, "{pad}{key}: {}", inline(value));
        }
    }
}

/// A sequence item. Nested maps and lists are written at the item's indentation and the first
/// line's padding is replaced by `- `, which is how YAML writes a compact nested node.
fn write_item(out: &mut String, indent: usize, value: &Value) {
    let pad = " ".repeat(indent);
    match value {
        Value::Object(map) if !map.is_empty() => {
            let mut nested = String::new();
            for (k, v) in map {
                write_field(&mut nested, indent + 2, k, v);
            }
            push_as_item(out, &pad, &nested, indent + 2);
        }
        Value::Array(items) if !items.is_empty() => {
            let mut nested = String::new();
            for item in items {
                write_item(&mut nested, indent + 2, item);
            }
            push_as_item(out, &pad, &nested, indent + 2);
        }
        // A block scalar in a sequence would need an explicit indentation rule of its own; a
        // quoted string is just as exact.
        _ => {
            let _ = writeln!(out, "{pad}- {}", inline(value));
        }
    }
}

fn push_as_item(out: &mut String, pad: &str, nested: &str, nested_indent: usize) {
    out.push_str(pad);
    out.push_str("- ");
    out.push_str(&nested[nested_indent..]);
}

fn write_block_lines(out: &mut String, indent: usize, s: &str) {
    let pad = " ".repeat(indent);
    let body = s.trim_end_matches('\n');
    for line in body.split('\n') {
        if line.is_empty() {
            out.push('\n');
        } else {
            let _ = writeln!(out, "{pad}{line}");
        }
    }
    // `|+` keeps the final line breaks as empty lines.
    for _ in 1..trailing_newlines(s) {
        out.push('\n');
    }
}

fn trailing_newlines(s: &str) -> usize {
    s.len() - s.trim_end_matches('\n').len()
}

fn chomping(s: &str) -> &'static str {
    match trailing_newlines(s) {
        0 => "-",
        1 => "",
        _ => "+",
    }
}

/// Whether a literal block gives back exactly `s`. Conservative: anything a reader could fold,
/// strip or re-indent falls back to a quoted string.
fn literal_block_fits(s: &str) -> bool {
    let body = s.trim_end_matches('\n');
    s.contains('\n')
        && !body.is_empty()
        && !body.starts_with([' ', '\t', '\n'])
        && !s.chars().any(|c| c != '\n' && c != '\t' && needs_escape(c))
        // Whitespace-only lines may be taken for indentation; trailing spaces are kept, but
        // editors strip them, so such text is safer quoted.
        && body
            .split('\n')
            .all(|line| line.is_empty() || !line.ends_with([' ', '\t']))
}

/// A scalar on one line: `null`, `true`, a number, a plain string or a quoted one. Empty maps
/// and lists are `{}` and `[]`.
pub(super) fn inline(value: &Value) -> String {
    match value {
        Value::Null => "null".into(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => n.to_string(),
        Value::String(s) => scalar(s),
        Value::Array(items) if items.is_empty() => "[]".into(),
        Value::Object(map) if map.is_empty() => "{}".into(),
        // Only reached for non-empty nested values in a sequence; flow style in JSON form is
        // valid YAML.
        Value::Array(items) => format!(
            "[{}]",
            items.iter().map(inline).collect::<Vec<_>>().join(", ")
        ),
        Value::Object(map) => format!(
            "{{{}}}",
            map.iter()
                .map(|(k, v)| format!("{}: {}", quote(k), inline(v)))
                .collect::<Vec<_>>()
                .join(", ")
        ),
    }
}

/// A string value: plain when unambiguous, otherwise double-quoted.
pub(super) fn scalar(s: &str) -> String {
    if is_plain_safe(s, false) {
        s.to_string()
    } else {
        quote(s)
    }
}

fn scalar_key(s: &str) -> String {
    if is_plain_safe(s, true) {
        s.to_string()
    } else {
        quote(s)
    }
}

/// Words YAML 1.1 readers take for booleans or null; courier reads YAML 1.2, but a file that
/// means the same to every reader is worth two quotes.
const AMBIGUOUS_WORDS: &[&str] = &[
    "y", "n", "yes", "no", "on", "off", "true", "false", "null", "none", "~",
];

/// Plain (unquoted) only for text starting with a letter or `_` (a key may also start with `$`,
/// for JSONPaths such as `$.token_type`), made of letters, digits and `_./-`, with single inner
/// spaces, and no word YAML gives another meaning.
fn is_plain_safe(s: &str, key: bool) -> bool {
    let mut chars = s.chars();
    let first_ok = match chars.next() {
        Some(c) => c.is_ascii_alphabetic() || c == '_' || (key && c == '$'),
        None => false,
    };
    let body_ok = s
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '/' | '-' | ' ' | '$'))
        && (!s.contains('$') || key);
    first_ok
        && body_ok
        && !s.ends_with(' ')
        && !s.contains("  ")
        && !AMBIGUOUS_WORDS.contains(&s.to_ascii_lowercase().as_str())
}

/// A JSON-style double-quoted string, escaping everything YAML might not read back as itself.
pub(super) fn quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            c if needs_escape(c) => {
                let _ = write!(out, "\\u{:04X}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// Control characters, and characters some YAML readers take as line breaks or a byte-order mark.
fn needs_escape(c: char) -> bool {
    c.is_control() || matches!(c, '\u{2028}' | '\u{2029}' | '\u{FEFF}')
}
