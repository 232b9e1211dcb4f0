//! Variables of a run and where each came from.
//!
//! Precedence, lowest first: collection `variables`, the environment file, `--var` on the command
//! line, values captured earlier in the run. A later layer replaces a name outright. Values from
//! files are templates rendered once when the run starts; `--var` values and captures are data
//! and are never rendered.

use std::fmt;

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
    Capture(String),
    /// Set by `--mock-zoom` to the emulator's address.
    Emulator,
    /// The newest value saved by an earlier run, from this state file.
    State(std::path::PathBuf),
    /// A row of the `--data` file (1-based, header excluded).
    Data(usize),
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
        }
    }
}

#[derive(Debug, Clone)]
pub struct Var {
    pub value: Value,
    pub origin: Origin,
}

#[derive(Debug, Clone, Default)]
pub struct Scope {
    vars: IndexMap<String, Var>,
}

impl Scope {
    pub fn set(&mut self, name: impl Into<String>, value: Value, origin: Origin) {
        self.vars.insert(name.into(), Var { value, origin });
    }

    pub fn remove(&mut self, name: &str) {
        self.vars.shift_remove(name);
    }

    pub fn get(&self, name: &str) -> Option<&Var> {
        self.vars.get(name)
    }

    pub fn contains(&self, name: &str) -> bool {
        self.vars.contains_key(name)
    }

    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.vars.keys().map(String::as_str)
    }

    pub fn iter(&self) -> impl Iterator<Item = (&str, &Var)> {
        self.vars.iter().map(|(k, v)| (k.as_str(), v))
    }

    /// The template context: every variable by name.
    pub fn context(&self) -> minijinja::Value {
        let map: IndexMap<&str, &Value> = self
            .vars
            .iter()
            .map(|(k, v)| (k.as_str(), &v.value))
            .collect();
        minijinja::Value::from(minijinja::value::Serde(&map))
    }

    /// The value as text, the way it is sent when used alone in a template.
    pub fn text(&self, name: &str) -> Option<String> {
        self.get(name).map(|v| value_text(&v.value))
    }
}

pub fn value_text(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}
