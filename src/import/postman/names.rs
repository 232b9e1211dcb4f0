//! Postman's `{{name}}` variables as courier templates, and names for files on disk.
//!
//! Postman allows any text between the braces (`{{my.var}}`, `{{api key}}`); a courier template
//! needs an identifier, and courier has no map to look names up by string. So [`Names`] renames
//! each such variable once (`my.var` → `my_var`), and the same mapping is used for the
//! collection's variables, every environment and every request, so the files agree. Text around
//! variables that minijinja would read as syntax (`{{`, `{%`, `{#`) is escaped, so an imported
//! request never becomes a broken template.

use std::collections::{HashMap, HashSet};
use std::sync::LazyLock;

use indexmap::IndexSet;
use regex::Regex;

/// `{{anything but braces}}`, as Postman's own substitution matches it.
static POSTMAN_VAR: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"\{\{([^{}]*)\}\}").expect("a valid regex"));

/// A name Postman users plausibly meant as a variable even when nothing defines it (a global):
/// a word character, then word characters, dots, dashes, spaces and slashes. Anything else undefined (`{{#each}}`) is
/// literal text that merely looks like a variable.
static PLAUSIBLE_NAME: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^\w[\w.\- /]*$").expect("a valid regex"));

/// Words minijinja reads as literals or operators, and the functions courier's templates define:
/// a variable with one of these names cannot be written `{{ name }}`.
const RESERVED: &[&str] = &[
    "true",
    "false",
    "none",
    "True",
    "False",
    "None",
    "and",
    "or",
    "not",
    "in",
    "is",
    "if",
    "else",
    "loop",
    "self",
    "super",
    "range",
    "dict",
    "namespace",
    "debug",
    "env",
    "uuid",
    "now",
    "timestamp",
    "timestamp_ms",
];

/// The piece of text Postman would substitute, or text it leaves alone.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum Piece<'a> {
    Text(&'a str),
    /// The name between the braces, trimmed.
    Var(&'a str),
}

/// Splits Postman text into literal text and variables.
pub(super) fn pieces(text: &str) -> Vec<Piece<'_>> {
    let mut out = Vec::new();
    let mut last = 0;
    for m in POSTMAN_VAR.captures_iter(text) {
        let whole = m.get(0).expect("group 0 always matches");
        let name = m[1].trim();
        if name.is_empty() {
            continue;
        }
        if whole.start() > last {
            out.push(Piece::Text(&text[last..whole.start()]));
        }
        out.push(Piece::Var(m.get(1).map_or("", |g| g.as_str()).trim()));
        last = whole.end();
    }
    if last < text.len() {
        out.push(Piece::Text(&text[last..]));
    }
    out
}

/// The names written between `{{ }}` in `text`.
pub(super) fn names_used(text: &str) -> impl Iterator<Item = &str> {
    POSTMAN_VAR
        .captures_iter(text)
        .filter_map(|c| c.get(1))
        .map(|g| g.as_str().trim())
        .filter(|n| !n.is_empty())
}

pub(crate) fn is_identifier(name: &str) -> bool {
    let mut chars = name.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

fn usable_as_is(name: &str) -> bool {
    is_identifier(name) && !RESERVED.contains(&name)
}

/// `my.var` → `my_var`, `api key` → `api_key`, `1st` → `_1st`, `true` → `true_`.
fn sanitize(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    for c in name.chars() {
        if c.is_ascii_alphanumeric() || c == '_' {
            out.push(c);
        } else if !out.ends_with('_') {
            out.push('_');
        }
    }
    if out.len() > 1 {
        out = out.trim_end_matches('_').to_string();
    }
    if out.is_empty() || out == "_" {
        return "var".into();
    }
    if out.starts_with(|c: char| c.is_ascii_digit()) {
        out.insert(0, '_');
    }
    if RESERVED.contains(&out.as_str()) {
        out.push('_');
    }
    out
}

/// How each Postman variable is called in courier.
#[derive(Debug, Default)]
pub(super) struct Names {
    map: HashMap<String, String>,
    taken: HashSet<String>,
    /// Names defined somewhere (collection, environment, path variable, script), as Postman
    /// spells them.
    defined: HashSet<String>,
    /// (Postman name, courier name) for every name that had to change, in the order met.
    pub renames: Vec<(String, String)>,
    /// Undefined `{{…}}` texts kept as literal text, in the order met.
    pub literal: IndexSet<String>,
    /// Dynamic variables (`$randomInt`) with no courier equivalent, in the order met.
    pub unknown_dynamic: IndexSet<String>,
    /// courier names written into templates, in the order met.
    pub used: IndexSet<String>,
    /// The names written since the caller last cleared it (one request's).
    pub current: IndexSet<String>,
    /// Postman names that a script courier does not convert sets, unsets or computes: a check
    /// on one of them cannot know the value Postman would see.
    pub set_by_scripts: IndexSet<String>,
    /// courier names by the Postman scope that holds them (`environment`, `globals`), from
    /// the files and from scripts so far: what `clearEnvironmentVariables()` unsets.
    pub scoped: IndexSet<(&'static str, String)>,
    /// courier names a collection or folder pre-request script sets before every request: an
    /// unset of one lasts only until the next request.
    pub set_before_each: HashSet<String>,
    /// courier names of the collection's own `variable` list: Postman shows them again once an
    /// environment or globals value of the same name is unset.
    pub collection_defined: HashSet<String>,
}

impl Names {
    /// Builds the mapping from every name defined in the inputs and every name used between
    /// braces, in the order met. Names that are already identifiers are taken first, so a
    /// rename never collides with a name that exists as written.
    pub fn new<'a>(
        defined: impl IntoIterator<Item = &'a str>,
        used: impl IntoIterator<Item = &'a str>,
    ) -> Names {
        let mut names = Names::default();
        let defined: IndexSet<&str> = defined.into_iter().collect();
        names.defined = defined.iter().map(|s| s.to_string()).collect();
        let all: IndexSet<&str> = defined
            .iter()
            .copied()
            .chain(used.into_iter().filter(|n| !n.starts_with('$')))
            .filter(|n| names.is_variable(n))
            .collect();
        for name in all.iter().filter(|n| usable_as_is(n)) {
            names.taken.insert(name.to_string());
            names.map.insert(name.to_string(), name.to_string());
        }
        for name in &all {
            names.courier(name);
        }
        names
    }

    /// Whether `{{name}}` is a variable rather than literal text.
    pub fn is_variable(&self, name: &str) -> bool {
        !name.starts_with('$') && (self.defined.contains(name) || PLAUSIBLE_NAME.is_match(name))
    }

    pub fn is_defined(&self, name: &str) -> bool {
        self.defined.contains(name)
    }

    /// The courier name of a Postman variable, assigned on first sight.
    pub fn courier(&mut self, name: &str) -> String {
        if let Some(known) = self.map.get(name) {
            return known.clone();
        }
        let base = sanitize(name);
        let mut candidate = base.clone();
        let mut n = 2;
        while self.taken.contains(&candidate) {
            candidate = format!("{base}_{n}");
            n += 1;
        }
        self.taken.insert(candidate.clone());
        self.map.insert(name.to_string(), candidate.clone());
        if candidate != name {
            self.renames.push((name.to_string(), candidate.clone()));
        }
        candidate
    }

    /// Postman text as a courier template: variables become `{{ name }}`, dynamic variables
    /// become courier functions, and anything else minijinja would read as syntax is escaped.
    pub fn template(&mut self, text: &str) -> String {
        self.template_with(text, |t| t.to_string(), "")
    }

    /// Like [`Names::template`], with the literal text transformed by `literal` (percent- or
    /// JSON-encoding, say) and `filter` appended to each variable (`| urlencode`).
    pub fn template_with(
        &mut self,
        text: &str,
        literal: impl Fn(&str) -> String,
        filter: &str,
    ) -> String {
        let mut out = String::with_capacity(text.len() + 8);
        let mut pending = String::new();
        for piece in pieces(text) {
            match piece {
                Piece::Text(t) => pending.push_str(t),
                Piece::Var(name) => match self.expression(name) {
                    Some(expr) => {
                        out.push_str(&escape(&literal(&pending), true));
                        pending.clear();
                        out.push_str("{{ ");
                        out.push_str(&expr);
                        out.push_str(filter);
                        out.push_str(" }}");
                    }
                    None => {
                        pending.push_str("{{");
                        pending.push_str(name);
                        pending.push_str("}}");
                    }
                },
            }
        }
        out.push_str(&escape(&literal(&pending), false));
        out
    }

    /// The minijinja expression for a Postman variable, or `None` to keep `{{name}}` as text.
    fn expression(&mut self, name: &str) -> Option<String> {
        if let Some(dynamic) = name.strip_prefix('$') {
            return match dynamic {
                "guid" | "randomUUID" => Some("uuid()".into()),
                "timestamp" => Some("timestamp()".into()),
                "isoTimestamp" => Some("now()".into()),
                "randomInt" => Some("random_int()".into()),
                _ => {
                    self.unknown_dynamic.insert(name.to_string());
                    None
                }
            };
        }
        if self.is_variable(name) {
            let courier = self.courier(name);
            self.used.insert(courier.clone());
            self.current.insert(courier.clone());
            Some(courier)
        } else {
            self.literal.insert(name.to_string());
            None
        }
    }
}

use crate::import::escape;

pub(super) use crate::import::slug;

/// `apiKey` → `API_KEY`, `client-secret` → `CLIENT_SECRET`: the OS variable a secret is read
/// from.
pub(super) fn upper_snake(name: &str) -> String {
    let mut out = String::new();
    let mut prev_lower = false;
    for c in name.chars() {
        if c.is_ascii_alphanumeric() {
            if c.is_ascii_uppercase() && prev_lower {
                out.push('_');
            }
            out.push(c.to_ascii_uppercase());
            prev_lower = c.is_ascii_lowercase() || c.is_ascii_digit();
        } else {
            if !out.is_empty() && !out.ends_with('_') {
                out.push('_');
            }
            prev_lower = false;
        }
    }
    let out = out.trim_end_matches('_');
    if out.is_empty() {
        "VALUE".into()
    } else {
        out.to_string()
    }
}

/// Hands out names unique within one folder: `get-user`, `get-user-2`, …
#[derive(Debug, Default)]
pub(super) struct Unique {
    taken: HashSet<String>,
}

impl Unique {
    pub fn reserve(&mut self, name: &str) {
        self.taken.insert(name.to_string());
    }

    pub fn claim(&mut self, base: &str, separator: &str) -> String {
        let mut candidate = base.to_string();
        let mut n = 2;
        while self.taken.contains(&candidate) {
            candidate = format!("{base}{separator}{n}");
            n += 1;
        }
        self.taken.insert(candidate.clone());
        candidate
    }
}
