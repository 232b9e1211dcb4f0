//! What can go wrong with a state file, before a run ([`StateError`]) and after a token was
//! spent ([`SaveError`]).

use std::fmt;
use std::io;
use std::path::PathBuf;
use std::time::Duration;

use crate::diag::Diagnostic;
use crate::error::{Error, io_reason};

/// The state file cannot be used; nothing has been sent. Printed as the [`Error`] it converts
/// into.
#[derive(Debug)]
pub enum StateError {
    /// Another process held the lock for the whole wait.
    Locked {
        state: PathBuf,
        lock: PathBuf,
        waited: Duration,
    },
    /// The folder does not take new files, so a rotated value could not be saved.
    NotWritable {
        state: PathBuf,
        folder: PathBuf,
        source: io::Error,
    },
    /// Reading the state file or opening its lock failed for another reason.
    Unreadable {
        path: PathBuf,
        /// What failed: "lock", "read the state file".
        action: &'static str,
        source: io::Error,
    },
    /// The state file is not a valid state file.
    Invalid(Box<Diagnostic>),
}

impl From<StateError> for Error {
    fn from(e: StateError) -> Error {
        match e {
            StateError::Locked {
                state,
                lock,
                waited,
            } => Error::StateLocked {
                state,
                lock,
                waited,
            },
            StateError::NotWritable { folder, source, .. } => {
                Error::StateFolderReadOnly { folder, source }
            }
            StateError::Unreadable {
                path,
                action,
                source,
            } => Error::StateUnreadable {
                path,
                action,
                source,
            },
            StateError::Invalid(d) => Error::Invalid(d),
        }
    }
}

/// Where the new value went when the state file could not take it.
pub enum Kept {
    /// Written to this 0600 file, the value alone with no newline.
    Rescued { path: PathBuf },
    /// Every write failed: the value exists only here, in memory. The caller decides whether to
    /// print it; [`SaveError::render`] never does.
    Nowhere {
        // Read by the tests: courier itself never prints it.
        #[cfg_attr(not(test), allow(dead_code))]
        value: String,
        /// Each rescue file tried and why it failed.
        attempts: Vec<(PathBuf, io::Error)>,
    },
}

/// A new value arrived (the old one is spent) but the state file could not record it.
pub struct SaveError {
    /// The persistent variable.
    pub name: String,
    pub state: PathBuf,
    /// The request whose answer carried the value.
    pub by: String,
    /// Why the state file could not be written.
    pub source: io::Error,
    pub kept: Kept,
}

impl SaveError {
    /// The message for stderr. Names the rescue file, never the value.
    pub fn render(&self, color: bool) -> String {
        let title = format!(
            "the new value of `{}` was not saved to `{}`: {}",
            self.name,
            self.state.display(),
            io_reason(&self.source)
        );
        let spent = format!(
            "`{}` received it and the value it replaced no longer works: this is the only copy",
            self.by
        );
        let d = match &self.kept {
            Kept::Rescued { path } => Diagnostic::new(title)
                .note(spent)
                .note(format!("the value was written to `{}`", path.display()))
                .help(format!(
                    "give it to the next run with `--var {}=\"$(cat {})\"` (the state file has \
                     never seen it, so it wins), then delete the rescue file",
                    self.name,
                    path.display()
                )),
            Kept::Nowhere { attempts, .. } => {
                let mut d = Diagnostic::new(title).note(spent);
                for (path, e) in attempts {
                    d = d.note(format!(
                        "could not write a rescue file in `{}`: {}",
                        path.display(),
                        io_reason(e)
                    ));
                }
                d.help("the value is only in this process's memory")
            }
        };
        d.render(color)
    }

    /// The value, when no file holds it.
    #[cfg(test)]
    pub fn unsaved_value(&self) -> Option<&str> {
        match &self.kept {
            Kept::Nowhere { value, .. } => Some(value),
            Kept::Rescued { .. } => None,
        }
    }
}

/// Written by hand so a panic or log line never carries the value.
impl fmt::Debug for SaveError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let kept = match &self.kept {
            Kept::Rescued { path } => format!("Rescued({})", path.display()),
            Kept::Nowhere { attempts, .. } => format!("Nowhere({} attempts)", attempts.len()),
        };
        f.debug_struct("SaveError")
            .field("name", &self.name)
            .field("state", &self.state)
            .field("by", &self.by)
            .field("source", &self.source)
            .field("kept", &format_args!("{kept}"))
            .finish()
    }
}

impl fmt::Display for SaveError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.render(false))
    }
}

impl std::error::Error for SaveError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&self.source)
    }
}
