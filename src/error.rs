//! The errors that stop courier, one variant per thing that failed, and the exit code each
//! maps to; [`report_error`] prints one.
//!
//! A failed assertion is not here: it is a result the report shows (exit 1). An [`Error`] means
//! courier could not proceed: the user's input is invalid, or a file or port it was given cannot
//! be used (exit 2), or the network failed (exit 3). This module is a leaf: the modules that
//! meet a failure convert their own errors into it, so none of them depends on another through
//! here.

use std::fmt;
use std::io::Write as _;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use crate::diag::{Diagnostic, backticked};

/// Exit statuses, documented in the README and `courier --help`.
pub mod exit {
    pub const OK: i32 = 0;
    pub const ASSERTION_FAILED: i32 = 1;
    pub const INVALID_INPUT: i32 = 2;
    pub const TRANSPORT: i32 = 3;
    pub const CREDENTIALS_REJECTED: i32 = 4;
    /// A persistent value (a rotated refresh token) was received but could not be saved.
    /// Distinct from every other failure because the old token is spent: a script must not
    /// simply retry.
    pub const STATE_NOT_SAVED: i32 = 5;
}

#[derive(Debug)]
pub enum Error {
    /// Something in a user file (or a value rendered from it) is wrong: YAML, keys, types,
    /// templates, JSONPaths, regexes, undefined variables, methods, URLs.
    Invalid(Box<Diagnostic>),
    /// A file the user named could not be read.
    Read {
        path: PathBuf,
        source: std::io::Error,
        what: &'static str,
    },
    /// A file the user named (a report, `--export-vars`, an import's output) could not be
    /// written.
    Write {
        path: PathBuf,
        what: &'static str,
        source: std::io::Error,
    },
    /// The port the user chose cannot be listened on.
    Listen {
        addr: SocketAddr,
        what: &'static str,
        source: std::io::Error,
    },
    /// The machine refused something courier needs for itself (threads, a signal handler).
    System {
        what: &'static str,
        source: std::io::Error,
    },
    /// `--request NAME` names no request of the collection.
    NoSuchRequest {
        name: String,
        collection: String,
        /// A near name, or all of them when none is near.
        suggestion: Suggestion,
    },
    /// The selection, the data file or the shard leaves nothing to send.
    NothingToSend {
        why: String,
        suggestion: Option<String>,
    },
    /// `vars` and `curl` were given several `--env` files.
    OneEnvironmentOnly,
    /// Persistent variables but neither `--env` nor `--state`: a rotated token would be lost.
    NowhereToSave { names: Vec<String> },
    /// Two environments of one run would share a state file.
    SharedState {
        first: PathBuf,
        second: PathBuf,
        state: PathBuf,
    },
    /// `--mock-zoom` cannot seed the emulator: a variable it reads is not defined.
    MissingSeed { name: &'static str },
    /// Another run holds the state file's lock for the whole `--lock-timeout`.
    StateLocked {
        state: PathBuf,
        lock: PathBuf,
        waited: Duration,
    },
    /// The state file's folder takes no new files: a rotated value could not be saved there.
    StateFolderReadOnly {
        folder: PathBuf,
        source: std::io::Error,
    },
    /// The state file or its lock cannot be opened or read.
    StateUnreadable {
        path: PathBuf,
        /// What failed: "lock", "read the state file".
        action: &'static str,
        source: std::io::Error,
    },
    /// The CA certificates of `--cacert` cannot be used.
    CaCert { reason: String },
    /// `--proxy` is not a proxy URL.
    Proxy { proxy: String, reason: String },
    /// The HTTP client could not be made for a reason that is not the user's.
    Client { reason: String },
    /// The Postman export holds no request.
    ImportEmpty { source: String },
    /// The import's `--out` cannot take the collection without overwriting something.
    ImportTarget { out: PathBuf, problem: ImportTarget },
}

/// What `courier` suggests for a name it does not know.
#[derive(Debug)]
pub enum Suggestion {
    /// `did you mean …?`
    Near(String),
    /// The names there are.
    Known(Vec<String>),
}

/// Why an import's output folder is refused.
#[derive(Debug)]
pub enum ImportTarget {
    NotAFolder,
    HoldsCollection(&'static str),
    FileExists(PathBuf),
}

impl Error {
    pub fn code(&self) -> i32 {
        match self {
            Error::Client { .. } => exit::TRANSPORT,
            _ => exit::INVALID_INPUT,
        }
    }

    pub fn render(&self, color: bool) -> String {
        match self {
            Error::Invalid(diagnostic) => diagnostic.render(color),
            _ => self.diagnostic().render(color),
        }
    }

    /// The error as a message with its help, the shape every error is printed in.
    fn diagnostic(&self) -> Diagnostic {
        let message = match self {
            Error::Invalid(diagnostic) => Some((diagnostic.title.clone(), None)),
            _ => self
                .io_message()
                .or_else(|| self.state_message())
                .or_else(|| self.import_message())
                .or_else(|| self.usage_message()),
        };
        // Every variant has its words above; this only guards against a new variant forgotten
        // there, better than a panic (and than a debug form, which may hold a secret).
        let (title, help) = message.unwrap_or_else(|| {
            let title = "courier stopped on an error it has no words for".to_string();
            (title, Some("please report this as a bug".into()))
        });
        Diagnostic::new(title).maybe_help(help)
    }

    /// Files, ports and the machine.
    fn io_message(&self) -> Option<Message> {
        Some(match self {
            Error::Read { path, source, what } => (
                format!(
                    "cannot read {what} `{}`: {}",
                    path.display(),
                    io_reason(source)
                ),
                (source.kind() == std::io::ErrorKind::NotFound)
                    .then(|| format!("check the path of the {what}")),
            ),
            Error::Write { path, what, source } => (
                format!(
                    "cannot write {what} `{}`: {}",
                    path.display(),
                    io_reason(source)
                ),
                None,
            ),
            Error::Listen { addr, what, source } => (
                format!("{what} cannot listen on {addr}: {}", io_reason(source)),
                (source.kind() == std::io::ErrorKind::AddrInUse)
                    .then(|| "another program uses the port: pick another with `--port`".into()),
            ),
            Error::System { what, source } => {
                (format!("cannot {what}: {}", io_reason(source)), None)
            }
            _ => return None,
        })
    }

    /// The state file of persistent variables.
    fn state_message(&self) -> Option<Message> {
        Some(match self {
            Error::StateLocked {
                state,
                lock,
                waited,
            } => (
                format!(
                    "another courier run is using the state file `{}`",
                    state.display()
                ),
                Some(format!(
                    "waited {} for the lock on `{}`; let that run finish, or give this one its \
                     own state file with `--state`",
                    humantime::format_duration(*waited),
                    lock.display()
                )),
            ),
            Error::StateFolderReadOnly { folder, source } => (
                format!(
                    "cannot create files in `{}`, the folder of the state file: {}",
                    folder.display(),
                    io_reason(source)
                ),
                Some(
                    "courier saves rotated tokens there and checks it before sending anything; \
                     make the folder writable or choose another file with `--state`"
                        .into(),
                ),
            ),
            Error::StateUnreadable {
                path,
                action,
                source,
            } => (
                format!(
                    "cannot {action} `{}`: {}",
                    path.display(),
                    io_reason(source)
                ),
                None,
            ),
            _ => return None,
        })
    }

    /// `courier import`.
    fn import_message(&self) -> Option<Message> {
        let never = "choose another `--out` folder, or move the old collection away first: the import never overwrites files";
        Some(match self {
            Error::ImportEmpty { source } => (
                format!("the Postman collection `{source}` holds no requests to import"),
                Some("a courier collection needs at least one request".into()),
            ),
            Error::ImportTarget { out, problem } => match problem {
                ImportTarget::NotAFolder => (
                    format!("`{}` exists and is not a folder", out.display()),
                    Some("give `--out` a new folder for the collection".into()),
                ),
                ImportTarget::HoldsCollection(file) => (
                    format!(
                        "`{}` already holds a collection ({file}): nothing was written",
                        out.display()
                    ),
                    Some(never.into()),
                ),
                ImportTarget::FileExists(path) => (
                    format!("`{}` already exists: nothing was written", path.display()),
                    Some(never.into()),
                ),
            },
            _ => return None,
        })
    }

    /// What the command line asked for, and the HTTP client it configures.
    fn usage_message(&self) -> Option<Message> {
        Some(match self {
            Error::NoSuchRequest {
                name,
                collection,
                suggestion,
            } => (
                format!("no request named `{name}` in `{collection}`"),
                Some(match suggestion {
                    Suggestion::Near(near) => format!("did you mean `{near}`?"),
                    Suggestion::Known(names) => {
                        format!("the requests of `{collection}` are {}", backticked(names))
                    }
                }),
            ),
            Error::NothingToSend { why, suggestion } => (
                format!("nothing to send: {why}"),
                Some(suggestion.clone().unwrap_or_else(|| {
                    "a run that checks nothing is not a pass; fix the selection, or pass `--allow-empty` where an empty run is expected".into()
                })),
            ),
            Error::OneEnvironmentOnly => (
                "this command takes one `--env` file".into(),
                Some("`courier run` is the command that runs several environments".into()),
            ),
            Error::NowhereToSave { names } => (
                format!(
                    "{} must be saved after the run, but there is nowhere to save it",
                    backticked(names)
                ),
                Some("pass `--env FILE` (the state file goes beside it) or `--state PATH`; nothing was sent".into()),
            ),
            Error::SharedState {
                first,
                second,
                state,
            } => (
                format!(
                    "`{}` and `{}` would share the state file `{}`",
                    first.display(),
                    second.display(),
                    state.display()
                ),
                Some("each environment keeps its own rotated tokens: drop `--state` to keep each beside its environment file, or run them one at a time; nothing was sent".into()),
            ),
            Error::MissingSeed { name } => (
                format!("--mock-zoom seeds the emulator from `ClientID` and `ClientSecret` (and `refresh_token` or `AccountID`), but `{name}` is not defined"),
                Some("use `--env environments/emulator.yaml`, or define the three variables".into()),
            ),
            _ => return self.client_message(),
        })
    }

    /// The HTTP client the command line configures.
    fn client_message(&self) -> Option<Message> {
        Some(match self {
            Error::CaCert { reason } => (
                format!("the CA certificates of `--cacert` cannot be used: {reason}"),
                Some(
                    "give a PEM file of one or more valid `-----BEGIN CERTIFICATE-----` blocks"
                        .into(),
                ),
            ),
            Error::Proxy { proxy, reason } => (
                format!("invalid proxy `{}`: {reason}", without_password(proxy)),
                Some("write the proxy as a URL, e.g. `http://proxy.example:3128`".into()),
            ),
            Error::Client { reason } => (format!("cannot create the HTTP client: {reason}"), None),
            _ => return None,
        })
    }
}

/// An error's title and its help.
type Message = (String, Option<String>);

/// Prints `e` to stderr, coloured when `color`, and returns its exit code.
pub fn report_error(e: &Error, color: bool) -> i32 {
    let mut stderr = std::io::stderr().lock();
    let _ = writeln!(stderr, "{}", e.render(color));
    e.code()
}

/// A URL as printed in an error: a password in it (`http://user:secret@proxy`) is masked.
fn without_password(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_string();
    };
    let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    match rest[..authority_end].rfind('@') {
        Some(at) => {
            let user = rest[..at].split(':').next().unwrap_or_default();
            format!("{scheme}://{user}:***{}", &rest[at..])
        }
        None => url.to_string(),
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_proxy_password_never_shows() {
        let e = Error::Proxy {
            proxy: "http://ann:s3cret@proxy.example:3128/x".into(),
            reason: "invalid port".into(),
        };
        let text = e.render(false);
        assert!(!text.contains("s3cret"), "{text}");
        assert!(
            text.contains("`http://ann:***@proxy.example:3128/x`"),
            "{text}"
        );
        assert_eq!(without_password("http://proxy:3128"), "http://proxy:3128");
        assert_eq!(without_password("not a url"), "not a url");
    }
}
