//! The errors that stop courier, and the exit code each one maps to.
//!
//! A failed assertion is not here: it is a result the report shows (exit 1). An [`Error`] means
//! the run could not proceed: the user's input is invalid (exit 2) or the network failed (exit 3).

use std::fmt;
use std::path::PathBuf;

use crate::diag::Diagnostic;

/// Exit statuses, documented in the README and `courier --help`.
pub mod exit {
    pub const OK: i32 = 0;
    pub const ASSERTION_FAILED: i32 = 1;
    pub const INVALID_INPUT: i32 = 2;
    pub const TRANSPORT: i32 = 3;
    pub const CREDENTIALS_REJECTED: i32 = 4;
    /// A persistent value (a rotated refresh token) was received but could not be saved.
    pub const STATE_NOT_SAVED: i32 = crate::state::EXIT_NOT_SAVED;
}

#[derive(Debug)]
pub enum Error {
    /// Something in a user file (or a value rendered from it) is wrong: YAML, keys, types,
    /// templates, JSONPaths, regexes, undefined variables, methods, URLs.
    Invalid(Box<Diagnostic>),
    /// A file could not be read.
    Read {
        path: PathBuf,
        source: std::io::Error,
        what: &'static str,
    },
    /// A command-line value is wrong in a way clap cannot see.
    Usage {
        message: String,
        help: Option<String>,
    },
    /// The request could not be exchanged: connect, TLS, timeout.
    Transport { message: String },
    /// Something on this machine failed that is not the user's input (binding a port, say).
    Io {
        context: String,
        source: std::io::Error,
    },
}

impl Error {
    pub fn code(&self) -> i32 {
        match self {
            Error::Invalid(_) | Error::Read { .. } | Error::Usage { .. } => exit::INVALID_INPUT,
            Error::Transport { .. } => exit::TRANSPORT,
            Error::Io { .. } => exit::INVALID_INPUT,
        }
    }

    pub fn render(&self, color: bool) -> String {
        match self {
            Error::Invalid(diagnostic) => diagnostic.render(color),
            Error::Read { path, source, what } => {
                let help = match source.kind() {
                    std::io::ErrorKind::NotFound => Some(format!("check the path of the {what}")),
                    _ => None,
                };
                Diagnostic::new(format!(
                    "cannot read {what} `{}`: {}",
                    path.display(),
                    io_reason(source)
                ))
                .maybe_help(help)
                .render(color)
            }
            Error::Usage { message, help } => Diagnostic::new(message.clone())
                .maybe_help(help.clone())
                .render(color),
            Error::Transport { message } => Diagnostic::new(message.clone()).render(color),
            Error::Io { context, source } => {
                Diagnostic::new(format!("{context}: {}", io_reason(source))).render(color)
            }
        }
    }
}

/// The OS message without Rust's "(os error N)" suffix, lowercase like the rest of ours.
pub fn io_reason(e: &std::io::Error) -> String {
    let text = e.to_string();
    let text = match text.find(" (os error") {
        Some(i) => text[..i].to_string(),
        None => text,
    };
    let mut chars = text.chars();
    match chars.next() {
        Some(first) => first.to_lowercase().chain(chars).collect(),
        None => text,
    }
}

impl From<Diagnostic> for Error {
    fn from(d: Diagnostic) -> Self {
        Error::Invalid(Box::new(d))
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.render(false))
    }
}

impl std::error::Error for Error {}

pub type Result<T, E = Error> = std::result::Result<T, E>;
