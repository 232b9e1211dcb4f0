//! What an error may quote of a user's file: the source lines with every value that is, or may
//! be, a secret replaced by `***`.
//!
//! This runs on the file's text, not on what a parser made of it, because the errors that quote
//! a file most are the ones where the file did not parse (a duplicate key, an unclosed quote), so
//! its `secrets:` list may be unknown. The rules, by [`Secrecy`]:
//!
//! - **Credentials** files (environments, variable, dotenv, data and state files) show keys and
//!   structure only: every value, comment text and continuation line is masked, except the
//!   top-level settings that name no value (`name:`, `secrets:`, `persist:`, `version:`).
//! - **Definitions** (collections, requests, imports) show everything but the value after a
//!   key that looks secret (`password:`, `Authorization:`, `ClientSecret:`) or is listed under
//!   `secrets:` or `persist:` in the text, and the value of a `name=value` pair (a query
//!   parameter) whose name looks secret.
//!
//! Offsets into the file map to offsets into the masked text, so carets stay under the culprit
//! (a span inside a masked value covers its `***`).

use std::ops::Range;
use std::sync::{Arc, LazyLock};

use regex::Regex;

use super::{Secrecy, SourceFile};
use crate::secrets::{MASK, name_looks_secret};

/// A file's text as an error may show it.
pub struct Masked {
    text: String,
    /// Per line: where it starts in the file and in the masked text, and the ranges masked
    /// (relative to the line, in the file's offsets).
    lines: Vec<Line>,
    unchanged: bool,
}

struct Line {
    start: usize,
    masked_start: usize,
    masked: Vec<Range<usize>>,
}

/// The top-level keys of a credentials file whose values are names or settings, never secrets.
const PLAIN_KEYS: [&str; 3] = ["name", "description", "version"];

/// A flow list of variable names, as `secrets:` and `persist:` hold.
static NAME_LIST: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r#"^\[[\w\s,"'.-]*\]$"#).expect("a valid regex"));

/// A YAML key (plain or quoted) after the line's indentation, list dashes or a comment sign,
/// followed by `:` and a space or the end of the line; or a dotenv `NAME=`.
static LEADING_KEY: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r#"^(?P<prefix>\s*(?:-\s+)*(?:#+\s*)?(?:-\s+)*)(?:(?P<key>"[^"]*"|'[^']*'|[^\s:#'"{}\[\],=][^:#=]*?)\s*:(?:\s+|$)|(?:export\s+)?(?P<env>[A-Za-z_][A-Za-z0-9_.]*)\s*=\s*)"#,
    )
    .expect("a valid regex")
});

/// Any YAML or JSON key inside a line, block or flow style.
static ANY_KEY: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r#"(?:^|[\s{,\[])(?:-\s+)?(?:"(?P<dq>[^"]+)"|'(?P<sq>[^']+)'|(?P<plain>[A-Za-z_$][\w.$-]*))\s*:(?:\s+|$)"#)
        .expect("a valid regex")
});

/// A `name=value` pair, as in a query string or a form body.
static PAIR: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r#"(?:^|[?&;\s"'])(?P<name>[A-Za-z_][\w.-]*)=(?P<value>[^&\s"'#]+)"#)
        .expect("a valid regex")
});

/// A value that only reads variables (`"{{ access_token }}"`, `Bearer {{ token }}`,
/// `"{{ env('ZOOM_CLIENT_SECRET') }}"`): it holds no literal that could be a secret, and showing
/// it is what makes the error readable. A quoted literal anywhere else (a default of `env`)
/// does not match.
static PURE_TEMPLATE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r#"^["']?(?:Bearer|Basic|Token)?\s*(?:\{\{[^{}'"]*(?:env\(\s*(?:"[A-Za-z_]\w*"|'[A-Za-z_]\w*')\s*\)[^{}'"]*)?\}\}\s*)+["']?$"#,
    )
    .expect("a valid regex")
});

/// The names a file lists under `secrets:` or `persist:`, read from its text.
static LISTED_FLOW: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r#"(?m)^\s*(?:secrets|persist)\s*:\s*\[(?P<names>[^\]]*)\]"#).expect("a valid regex")
});

impl Masked {
    pub fn new(file: &Arc<SourceFile>) -> Masked {
        let listed = match file.secrecy {
            Secrecy::Definitions => listed_names(&file.text),
            Secrecy::Credentials => Vec::new(),
        };
        let mut text = String::with_capacity(file.text.len());
        let mut lines = Vec::new();
        let mut start = 0;
        for raw in file.text.split_inclusive('\n') {
            let content = raw.trim_end_matches(['\n', '\r']);
            let masked = match file.secrecy {
                Secrecy::Credentials => credential_ranges(content),
                Secrecy::Definitions => definition_ranges(content, &listed),
            };
            lines.push(Line {
                start,
                masked_start: text.len(),
                masked: masked.clone(),
            });
            let mut shown = 0;
            for range in &masked {
                text.push_str(&raw[shown..range.start]);
                text.push_str(MASK);
                shown = range.end;
            }
            text.push_str(&raw[shown..]);
            start += raw.len();
        }
        let unchanged = lines.iter().all(|l| l.masked.is_empty());
        Masked {
            text,
            lines,
            unchanged,
        }
    }

    pub fn text(&self) -> &str {
        &self.text
    }

    /// True when nothing was masked.
    pub fn is_unchanged(&self) -> bool {
        self.unchanged
    }

    /// The span of the masked text that shows what `span` of the file covers.
    pub fn span(&self, span: Range<usize>) -> Range<usize> {
        if self.unchanged {
            return span;
        }
        let empty = span.is_empty();
        let start = self.offset(span.start, false);
        let end = if empty {
            start
        } else {
            self.offset(span.end, true).max(start)
        };
        start..end
    }

    /// One-based line and column (in characters) of an offset into the masked text.
    pub fn line_col(&self, offset: usize) -> (usize, usize) {
        let offset = offset.min(self.text.len());
        let before = &self.text[..offset];
        let line = before.matches('\n').count() + 1;
        let line_start = before.rfind('\n').map_or(0, |i| i + 1);
        (line, before[line_start..].chars().count() + 1)
    }

    /// Where offset `at` of the file is in the masked text. Inside a masked range, a start maps
    /// to the mask's start and an end to its end.
    fn offset(&self, at: usize, is_end: bool) -> usize {
        let index = self
            .lines
            .partition_point(|l| l.start <= at)
            .saturating_sub(1);
        let Some(line) = self.lines.get(index) else {
            return at;
        };
        let relative = at - line.start;
        let mut shift: isize = 0;
        for range in &line.masked {
            if relative <= range.start {
                break;
            }
            if relative < range.end || (is_end && relative == range.end) {
                let mask_start = (range.start as isize + shift) as usize;
                return line.masked_start
                    + if is_end {
                        mask_start + MASK.len()
                    } else {
                        mask_start
                    };
            }
            shift += MASK.len() as isize - range.len() as isize;
        }
        line.masked_start + (relative as isize + shift) as usize
    }
}

/// In a credentials file, everything after the key (or the whole content when there is none).
fn credential_ranges(line: &str) -> Vec<Range<usize>> {
    let end = line.trim_end().len();
    let indent = line.len() - line.trim_start().len();
    if end == indent {
        return Vec::new();
    }
    let (value_start, key) = match LEADING_KEY.captures(line) {
        Some(caps) => {
            let key = caps.name("key").or(caps.name("env")).map(|m| m.as_str());
            (caps.get(0).map_or(indent, |m| m.end()), key)
        }
        None => {
            let prefix = line[indent..]
                .find(|c: char| c != '-' && c != '#' && !c.is_whitespace())
                .map_or(end, |i| indent + i);
            (prefix, None)
        }
    };
    let comment = line[indent..].starts_with('#');
    let value = &line[value_start.min(end)..end];
    let plain = !comment
        && indent == 0
        && key.is_some_and(|k| match k.trim_matches(['"', '\'']) {
            // Lists of names; anything else under them is not what they hold.
            "secrets" | "persist" => NAME_LIST.is_match(value),
            k => PLAIN_KEYS.contains(&k),
        });
    if plain || value_start >= end || PURE_TEMPLATE.is_match(&line[value_start..end]) {
        return Vec::new();
    }
    std::iter::once(value_start..end).collect()
}

/// In a definitions file, the value after a secret key, and secret `name=value` pairs.
fn definition_ranges(line: &str, listed: &[String]) -> Vec<Range<usize>> {
    let end = line.trim_end().len();
    // `secrets:` and `persist:` list names, not values.
    let secret = |name: &str| {
        !matches!(name, "secrets" | "persist")
            && (name_looks_secret(name) || listed.iter().any(|l| l == name))
    };
    let after_key = ANY_KEY.captures_iter(line).find_map(|caps| {
        let name = caps.name("dq").or(caps.name("sq")).or(caps.name("plain"))?;
        let value_start = caps.get(0)?.end();
        let pure = PURE_TEMPLATE.is_match(line[value_start..end].trim());
        (secret(name.as_str()) && value_start < end && !pure).then_some(value_start)
    });
    let mut ranges: Vec<Range<usize>> = PAIR
        .captures_iter(line)
        .filter(|caps| caps.name("name").is_some_and(|n| secret(n.as_str())))
        .filter_map(|caps| caps.name("value").map(|v| v.range()))
        .filter(|v| after_key.is_none_or(|start| v.end <= start))
        .collect();
    if let Some(start) = after_key {
        ranges.push(start..end);
    }
    ranges
}

/// Names under `secrets:` and `persist:`, in flow (`[a, b]`) or block (`- a`) style.
fn listed_names(text: &str) -> Vec<String> {
    let clean = |s: &str| s.trim().trim_matches(['"', '\'']).to_string();
    let mut names: Vec<String> = LISTED_FLOW
        .captures_iter(text)
        .filter_map(|caps| caps.name("names"))
        .flat_map(|m| m.as_str().split(',').map(clean).collect::<Vec<_>>())
        .filter(|n| !n.is_empty())
        .collect();
    let mut in_list = false;
    for line in text.lines() {
        let trimmed = line.trim();
        if trimmed == "secrets:" || trimmed == "persist:" {
            in_list = true;
        } else if in_list && let Some(name) = trimmed.strip_prefix("- ") {
            names.push(clean(name));
        } else if !trimmed.is_empty() {
            in_list = false;
        }
    }
    names
}

#[cfg(test)]
mod tests {
    use super::*;

    fn masked(secrecy: Secrecy, text: &str) -> String {
        let file = match secrecy {
            Secrecy::Credentials => SourceFile::credentials("f", text),
            Secrecy::Definitions => SourceFile::new("f", text),
        };
        Masked::new(&file).text().to_string()
    }

    #[test]
    fn credentials_files_show_keys_only() {
        let text = "name: prod\nvariables:\n  A: \"{{ env('ZOOM_A') }}\"\n  B: \"{{ env('ZOOM_B', 'dflt') }}\"\n  ClientID: abc\n  ClientSecret: \"s3cr\n  more\"\n# old: x1\n- item\nsecrets: [ClientSecret]\nTOKEN=abc\nexport K = v\n";
        assert_eq!(
            masked(Secrecy::Credentials, text),
            "name: prod\nvariables:\n  A: \"{{ env('ZOOM_A') }}\"\n  B: ***\n  ClientID: ***\n  ClientSecret: ***\n  ***\n# old: ***\n- ***\nsecrets: [ClientSecret]\nTOKEN=***\nexport K = ***\n"
        );
        // A flow mapping of variables is values too.
        assert_eq!(
            masked(Secrecy::Credentials, "variables: { a: b }\n"),
            "variables: ***\n"
        );
    }

    #[test]
    fn definitions_mask_secret_keys_listed_names_and_pairs() {
        let text = "secrets: [api_secret_thing, Custom]\nurl: https://x/?api_key=abc&page=2\nheaders:\n  Authorization: Bearer abc\n  Custom: hidden\nauth:\n  basic: { username: u, password: \"p{{ x\" }\nform:\n  token_type: bearer\n  refresh_token: \"{{ refresh_token }}\"\n  client_secret: \"{{ 'lit' }}\"\n";
        assert_eq!(
            masked(Secrecy::Definitions, text),
            "secrets: [api_secret_thing, Custom]\nurl: https://x/?api_key=***&page=2\nheaders:\n  Authorization: ***\n  Custom: ***\nauth:\n  basic: { username: u, password: ***\nform:\n  token_type: bearer\n  refresh_token: \"{{ refresh_token }}\"\n  client_secret: ***\n"
        );
    }

    #[test]
    fn spans_map_into_the_masked_text() {
        let text = "a: 1\nClientSecret: hunter22 # x\nb: 2\n";
        let file = SourceFile::credentials("f", text);
        let m = Masked::new(&file);
        assert_eq!(m.text(), "a: ***\nClientSecret: ***\nb: ***\n");
        // The key keeps its place; a span inside the value covers the mask.
        let key = text.find("ClientSecret").unwrap();
        assert_eq!(m.span(key..key + 12), 7..19);
        let inside = text.find("ter").unwrap();
        let shown = m.span(inside..inside + 3);
        assert_eq!(&m.text()[shown], "***");
        let b = text.find("b:").unwrap();
        assert_eq!(&m.text()[m.span(b..b + 1)], "b");
        assert_eq!(m.line_col(m.span(b..b + 1).start), (3, 1));
    }
}
