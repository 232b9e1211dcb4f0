//! Variables of a run and where each came from.
//!
//! Precedence, lowest first: collection `variables`, the environment file, `--var` on the command
//! line, values captured earlier in the run. A later layer replaces a name outright. Values from
//! files are templates rendered once when the run starts; `--var` values and captures are data
//! and are never rendered.

use std::fmt;
use std::sync::Arc;

use indexmap::IndexMap;
use serde_json::Value;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Origin {
    Collection,
    Environment,
    CommandLine,
    /// A `--var-file`.
    VarFile(std::path::PathBuf),
    /// Captured from the answer to the named request.
    Capture(Arc<str>),
    /// Set by `--mock-zoom` to the emulator's address.
    Emulator,
    /// The newest value saved by an earlier run, from this state file.
    State(std::path::PathBuf),
    /// A row of the `--data` file (1-based, header excluded).
    Data(usize),
    /// The access token of an `oauth2` auth.
    Token,
    /// Defined nowhere, sent as the text `{{name}}` (`undefined: literal`).
    Literal,
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Origin::Collection => f.write_str("collection"),
            Origin::Environment => f.write_str("environment"),
            Origin::CommandLine => f.write_str("--var"),
            Origin::VarFile(path) => write!(f, "--var-file ({})", path.display()),
            Origin::Capture(request) => write!(f, "captured by `{request}`"),
            Origin::Emulator => f.write_str("--mock-zoom"),
            Origin::State(path) => write!(f, "state ({})", path.display()),
            Origin::Data(row) => write!(f, "data row {row}"),
            Origin::Token => f.write_str("oauth2"),
            Origin::Literal => f.write_str("defined nowhere: sent as text (undefined: literal)"),
        }
    }
}

#[derive(Debug, Clone)]
pub struct Var {
    pub value: Value,
    pub origin: Origin,
}

/// The variables in scope. What a pass starts from is shared by every pass ([`Scope::frozen`]);
/// what a pass sets (captures, a data row) lies on top of it, so that starting a pass copies
/// nothing.
#[derive(Debug, Clone, Default)]
pub struct Scope {
    shared: Arc<Vars>,
    /// Set on top of `shared`; a name in both takes this value.
    own: Vars,
}

/// Variables by name. Looked up several times per request, by names from the user's own files:
/// a fast hash, not one hardened against crafted keys.
type Vars = IndexMap<Arc<str>, Var, foldhash::fast::RandomState>;

impl Scope {
    /// Sets `name`; a name shared with the run (a capture's) is not copied.
    pub fn set(&mut self, name: impl Into<Arc<str>>, value: Value, origin: Origin) {
        self.own.insert(name.into(), Var { value, origin });
    }

    pub fn get(&self, name: &str) -> Option<&Var> {
        self.own.get(name).or_else(|| self.shared.get(name))
    }

    pub fn contains(&self, name: &str) -> bool {
        self.get(name).is_some()
    }

    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.iter().map(|(name, _)| name)
    }

    /// Every variable, in the order first set.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &Var)> {
        let shared = self
            .shared
            .iter()
            .map(|(k, v)| (&**k, self.own.get(k).unwrap_or(v)));
        let added = self
            .own
            .iter()
            .filter(|(k, _)| !self.shared.contains_key(*k))
            .map(|(k, v)| (&**k, v));
        shared.chain(added)
    }

    /// Makes this scope hold `base`'s variables again, keeping the storage of its own map: a
    /// long run starts a pass, and sets its captures, thousands of times.
    pub fn restart_from(&mut self, base: &Scope) {
        self.shared = Arc::clone(&base.shared);
        self.own.clear();
        self.own
            .extend(base.own.iter().map(|(k, v)| (k.clone(), v.clone())));
    }

    /// The same variables, all shared: clones of the result copy nothing.
    pub fn frozen(mut self) -> Scope {
        if !self.own.is_empty() {
            let shared = Arc::make_mut(&mut self.shared);
            // Taken, not drained: an emptied map keeps its capacity, and its clones copy it.
            for (name, var) in std::mem::take(&mut self.own) {
                shared.insert(name, var);
            }
        }
        self
    }

    /// The template context: every variable by name.
    pub fn context(&self) -> minijinja::Value {
        let map: IndexMap<&str, &Value> = self.iter().map(|(k, v)| (k, &v.value)).collect();
        minijinja::Value::from(minijinja::value::Serde(&map))
    }

    /// The value as text, the way it is sent when used alone in a template.
    pub fn text(&self, name: &str) -> Option<String> {
        self.get(name).map(|v| value_text(&v.value))
    }
}

pub fn value_text(value: &Value) -> String {
    value_str(value).into_owned()
}

/// [`value_text`], borrowed when the value is a string.
pub fn value_str(value: &Value) -> std::borrow::Cow<'_, str> {
    match value {
        Value::String(s) => s.into(),
        other => other.to_string().into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(value: &str) -> Value {
        Value::String(value.into())
    }

    #[test]
    fn what_a_pass_sets_lies_on_top_and_keeps_the_order() {
        let mut start = Scope::default();
        start.set("a", text("1"), Origin::Environment);
        start.set("b", text("2"), Origin::Environment);
        let start = start.frozen();
        let mut pass = start.clone();
        pass.set("c", text("3"), Origin::Capture("A".into()));
        pass.set("a", text("9"), Origin::Capture("A".into()));
        let seen: Vec<(&str, &Value)> = pass.iter().map(|(k, v)| (k, &v.value)).collect();
        assert_eq!(
            seen,
            [("a", &text("9")), ("b", &text("2")), ("c", &text("3"))]
        );
        // The scope the pass started from is untouched.
        assert_eq!(start.get("a").map(|v| &v.value), Some(&text("1")));
        assert!(!start.contains("c"));
        let frozen = pass.frozen();
        assert_eq!(frozen.names().collect::<Vec<_>>(), ["a", "b", "c"]);
    }

    #[test]
    fn a_restarted_scope_forgets_what_the_last_pass_set() {
        let mut start = Scope::default();
        start.set("a", text("1"), Origin::Environment);
        let start = start.frozen();
        let mut unfrozen = start.clone();
        unfrozen.set("d", text("4"), Origin::CommandLine);
        let mut pass = start.clone();
        pass.set("c", text("3"), Origin::Capture("A".into()));
        pass.set("a", text("9"), Origin::Capture("A".into()));
        pass.restart_from(&start);
        assert_eq!(pass.get("a").map(|v| &v.value), Some(&text("1")));
        assert!(!pass.contains("c"));
        pass.restart_from(&unfrozen);
        assert_eq!(pass.names().collect::<Vec<_>>(), ["a", "d"]);
    }
}
