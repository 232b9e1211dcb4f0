//! The durable state file: where the newest value of each *persistent* variable (a rotating
//! refresh token) outlives the run that received it.
//!
//! This module owns three things. **Durability**: a new value is on disk, through an atomic
//! replace and fsyncs, before [`StateFile::save`] returns, and when that fails the value is
//! rescued to a side file rather than lost, because a provider like Zoom kills the old token the
//! moment it issues the new one. **Exclusion**: one run at a time per state file, through a lock
//! held from before the first request to the end of the run, and a preflight that refuses to
//! start when a new value could not be saved. **Precedence**: [`resolve`], the rule that picks
//! between the value the user injected and the one the state saved.
//!
//! Its boundary: no HTTP, no templates, no printing. The runner decides which variables are
//! persistent, feeds values in and reports the errors returned here.

pub(crate) mod durable;
mod error;
mod format;
mod resolve;
#[cfg(test)]
mod tests;

pub use durable::write_atomic;
pub use error::{Kept, SaveError, StateError};
pub use format::{CachedToken, Entry, State};
pub use resolve::{Resolution, Winner, resolve};

use std::collections::HashMap;
use std::fs::File;
use std::io;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use crate::diag::SourceFile;
use durable::LockFailure;

/// Where the state of an environment file lives when `--state` is not given: beside it, named
/// after it (`environments/prod.yaml` → `environments/prod.state.yaml`).
pub fn default_state_path(env: &Path) -> PathBuf {
    match env.extension().and_then(|e| e.to_str()) {
        Some(ext) if ext.eq_ignore_ascii_case("yaml") || ext.eq_ignore_ascii_case("yml") => {
            env.with_extension(format!("state.{ext}"))
        }
        _ => {
            let mut name = env.as_os_str().to_owned();
            name.push(".state.yaml");
            PathBuf::from(name)
        }
    }
}

/// An open state file: its content, and the lock that makes this run its only writer. The lock
/// is released when the value is dropped (or the process dies, which the OS handles).
pub struct StateFile {
    path: PathBuf,
    /// Held for its lock, never read; `None` for a file only looked at ([`StateFile::peek`]),
    /// which never writes.
    lock: Option<File>,
    state: State,
    /// The value of each variable this run is using, so a save records what it replaced even
    /// when that was an injected value the state had never seen.
    in_use: HashMap<String, String>,
    /// The value of each variable supplied to this run as input, remembered by the next save
    /// so that it never wins over the chain again.
    supplied: HashMap<String, String>,
    /// What opening found and mended that the user should hear of.
    warnings: Vec<String>,
    /// Variables this run fell back for (see [`StateFile::fall_back`]): once each.
    fallen_back: Vec<String>,
    /// Second place a rescue file goes when the state's folder refuses it.
    rescue_dir: PathBuf,
}

impl StateFile {
    /// Locks, checks and loads the state file at `path`. Call it before the first request: every
    /// error here means nothing was sent.
    ///
    /// Waits up to `lock_timeout` for another run to finish. A missing file is an empty state; a
    /// file that does not parse is an error, never replaced.
    ///
    /// A symlinked state file (a link into a cache mount, say) is written through: the lock and
    /// every save go beside the link's target, so the target keeps the newest value.
    pub fn open(path: &Path, lock_timeout: Duration) -> Result<StateFile, StateError> {
        let path = &resolve_links(path);
        let folder = durable::folder(path).to_path_buf();
        let not_writable = |source: io::Error| StateError::NotWritable {
            state: path.to_path_buf(),
            folder: folder.clone(),
            source,
        };
        // The lock comes first so the probe and the clean-up below run with no other courier
        // in this folder for this file; creating the lock file is also the first write test.
        let lock_path = durable::lock_path(path);
        let lock = match durable::lock(&lock_path, lock_timeout) {
            Ok(lock) => lock,
            Err(LockFailure::Timeout) => {
                return Err(StateError::Locked {
                    state: path.to_path_buf(),
                    lock: lock_path,
                    waited: lock_timeout,
                });
            }
            // Only when the lock file is missing does a failure say something about the folder;
            // an existing one we cannot open is a problem with that file.
            Err(LockFailure::Io(e)) if cannot_create_in_folder(&e) && !lock_path.exists() => {
                return Err(not_writable(e));
            }
            Err(LockFailure::Io(source)) => {
                return Err(StateError::Unreadable {
                    path: lock_path,
                    action: "lock",
                    source,
                });
            }
        };
        // An existing lock file opens even in a read-only folder, so creating a file is tested
        // on its own: a save creates a temporary file.
        durable::probe(path).map_err(not_writable)?;
        durable::remove_strays(path);
        let state = load(path)?;
        let mut warnings = Vec::new();
        if let Some(mode) = durable::tighten(path) {
            warnings.push(format!(
                "the state file `{}` was readable by others (mode {mode:03o}); it holds live tokens, so it is now owner-only (0600)",
                path.display()
            ));
        }
        Ok(StateFile {
            warnings,
            fallen_back: Vec::new(),
            path: path.to_path_buf(),
            lock: Some(lock),
            state,
            in_use: HashMap::new(),
            supplied: HashMap::new(),
            rescue_dir: std::env::temp_dir(),
        })
    }

    /// Reads the state file at `path` without taking its lock, for commands that send nothing
    /// (`--dry-run`, `curl`, `vars`, a fresh `courier token`): they never wait on a run, and
    /// every save of what they open fails. A missing file is an empty state.
    pub fn peek(path: &Path) -> Result<StateFile, StateError> {
        let path = resolve_links(path);
        Ok(StateFile {
            state: load(&path)?,
            warnings: Vec::new(),
            fallen_back: Vec::new(),
            rescue_dir: std::env::temp_dir(),
            in_use: HashMap::new(),
            supplied: HashMap::new(),
            lock: None,
            path,
        })
    }

    /// The state file's path, symlinks resolved.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// What opening found and mended (a state file others could read).
    pub fn warnings(&self) -> &[String] {
        &self.warnings
    }

    pub fn get(&self, name: &str) -> Option<&Entry> {
        self.state.variables.get(name)
    }

    /// The access token kept under `key`, if any (see [`CachedToken::key`]).
    pub fn token(&self, key: &str) -> Option<&CachedToken> {
        self.state.tokens.get(key)
    }

    /// Keeps `token` under `key` for the runs that follow, durably. A failure loses nothing
    /// that cannot be fetched again: the rotated refresh token was saved before.
    pub fn save_token(&mut self, key: &str, token: CachedToken) -> io::Result<()> {
        self.state.tokens.insert(key.to_string(), token);
        self.write()
    }

    /// Drops the token kept under `key` (the server refused it), so no later run sends it.
    pub fn forget_token(&mut self, key: &str) -> io::Result<()> {
        match self.state.tokens.shift_remove(key) {
            Some(_) => self.write(),
            None => Ok(()),
        }
    }

    fn write(&self) -> io::Result<()> {
        if self.lock.is_none() {
            return Err(io::Error::other(
                "the state file was opened to be read, not written",
            ));
        }
        format::render(&self.state)
            .map_err(io::Error::other)
            .and_then(|text| durable::write_atomic(&self.path, text.as_bytes()))
    }

    /// Applies [`resolve`] to `name` and remembers the winner as the value this run spends, so
    /// the next [`save`](Self::save) of `name` records it as the value replaced. A run should
    /// call this for each persistent variable before using it.
    pub fn resolve(&mut self, name: &str, injected: Option<&str>) -> Resolution {
        let resolution = resolve(self.get(name), injected);
        match injected {
            Some(injected) => self.supplied.insert(name.to_string(), injected.to_string()),
            None => self.supplied.remove(name),
        };
        match &resolution.value {
            Some(value) => self.in_use.insert(name.to_string(), value.clone()),
            None => self.in_use.remove(name),
        };
        resolution
    }

    /// Records `value` as the newest value of `name`, received in the answer to `by_request`,
    /// and makes it durable before returning.
    ///
    /// The entry's `previous` is the value the run used (see [`resolve`](Self::resolve)), or the
    /// state's value when the run did not say. On failure the value is written to a rescue file
    /// (beside the state file, else in the system temp folder) and the error names it; the
    /// in-memory state keeps the new value either way, so a later successful save includes it.
    pub fn save(
        &mut self,
        name: &str,
        value: &str,
        by_request: &str,
    ) -> Result<(), Box<SaveError>> {
        let entry = Entry::next(
            self.state.variables.get(name),
            self.in_use.get(name).map(String::as_str),
            self.supplied.get(name).map(String::as_str),
            value,
            by_request,
            SystemTime::now(),
        );
        self.state.variables.insert(name.to_string(), entry);
        self.in_use.insert(name.to_string(), value.to_string());
        match self.write() {
            Ok(()) => Ok(()),
            Err(source) => Err(Box::new(SaveError {
                name: name.to_string(),
                state: self.path.clone(),
                by: by_request.to_string(),
                kept: self.rescue(value),
                source,
            })),
        }
    }

    /// When the value of `name` that was sent is refused (`invalid_grant`), nothing rotated,
    /// so the other candidate is safe to send once instead: the state's value when the supplied
    /// one won, or the supplied value when the state's won (a state file from another grant or
    /// server, say: an emulator started afresh). Returns the value and which way it fell back,
    /// and makes it the value in use; `None` when there is no other candidate, or this run
    /// already fell back for `name`.
    pub fn fall_back(&mut self, name: &str) -> Option<(String, FellBack)> {
        if self.fallen_back.iter().any(|n| n == name) {
            return None;
        }
        let in_use = self.in_use.get(name)?;
        let saved = self.state.variables.get(name).map(|e| &e.value);
        let supplied = self.supplied.get(name);
        let (value, way) = if supplied == Some(in_use) {
            (saved.filter(|s| *s != in_use)?, FellBack::ToState)
        } else if saved == Some(in_use) {
            (supplied.filter(|s| *s != in_use)?, FellBack::ToSupplied)
        } else {
            return None;
        };
        let value = value.clone();
        self.fallen_back.push(name.to_string());
        self.in_use.insert(name.to_string(), value.clone());
        Some((value, way))
    }

    fn rescue(&self, value: &str) -> Kept {
        let beside = durable::folder(&self.path).to_path_buf();
        let mut attempts = Vec::new();
        for dir in [beside, self.rescue_dir.clone()] {
            if attempts.iter().any(|(d, _)| *d == dir) {
                continue;
            }
            match durable::write_rescue(&dir, &self.path, value) {
                Ok(path) => return Kept::Rescued { path },
                Err(e) => attempts.push((dir, e)),
            }
        }
        Kept::Nowhere {
            value: value.to_string(),
            attempts,
        }
    }

    #[cfg(test)]
    fn set_rescue_dir(&mut self, dir: &Path) {
        self.rescue_dir = dir.to_path_buf();
    }
}

impl std::fmt::Debug for StateFile {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StateFile")
            .field("path", &self.path)
            .field("state", &self.state)
            .finish_non_exhaustive()
    }
}

/// Which way [`StateFile::fall_back`] went.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FellBack {
    /// The supplied value was refused; the state's is sent.
    ToState,
    /// The state's value was refused; the supplied one is sent.
    ToSupplied,
}

impl FellBack {
    pub fn explain(self) -> &'static str {
        match self {
            FellBack::ToState => {
                "the supplied value was refused (invalid_grant) and nothing rotated; sent the state file's value instead"
            }
            FellBack::ToSupplied => {
                "the state file's value was refused (invalid_grant) and nothing rotated; sent the supplied value instead"
            }
        }
    }
}

/// Follows a chain of symlinks to the path it ends at, which need not exist yet (a dangling
/// link to a cache mount names where the file will be written). Stops after 40 links, like the
/// OS.
pub fn resolve_links(path: &Path) -> PathBuf {
    let mut path = path.to_path_buf();
    for _ in 0..40 {
        match std::fs::symlink_metadata(&path) {
            Ok(meta) if meta.file_type().is_symlink() => match std::fs::read_link(&path) {
                Ok(target) if target.is_absolute() => path = target,
                Ok(target) => path = durable::folder(&path).join(target),
                Err(_) => break,
            },
            _ => break,
        }
    }
    path
}

/// True for errors that mean "this folder will not take a new file".
fn cannot_create_in_folder(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::PermissionDenied
            | io::ErrorKind::ReadOnlyFilesystem
            | io::ErrorKind::NotFound
            | io::ErrorKind::NotADirectory
            | io::ErrorKind::StorageFull
            | io::ErrorKind::QuotaExceeded
    )
}

/// Reads the state file; a missing one is an empty state.
fn load(path: &Path) -> Result<State, StateError> {
    let text = match std::fs::read_to_string(path) {
        Ok(text) => text,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(State::default()),
        Err(source) => {
            return Err(StateError::Unreadable {
                path: path.to_path_buf(),
                action: "read the state file",
                source,
            });
        }
    };
    let file = SourceFile::credentials(path, text);
    format::parse(&file).map_err(|d| StateError::Invalid(Box::new(d)))
}
