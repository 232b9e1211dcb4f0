//! The state file of a run, as the runner holds it: where it is, the value each persistent
//! variable starts from, and saving a rotated value the moment it arrives. Deciding which value
//! wins is `crate::state`'s; this module only connects it to the run's variables.

use std::path::{Path, PathBuf};
use std::time::Duration;

use super::Origin;
use crate::error::{Error, Result};
use crate::state::{self, StateFile};

/// Which state file a plan uses.
#[derive(Debug, Clone)]
pub enum StateChoice {
    /// None: the command reads no state (`courier check`).
    Ignore,
    /// The state file, locked for the whole run: `explicit` (`--state`), else the one beside
    /// the environment file. A run on the embedded emulator keeps none unless `--state` says
    /// so: the emulator is new each run, and its tokens die with it.
    Lock {
        explicit: Option<PathBuf>,
        lock_timeout: Duration,
        emulator: bool,
    },
    /// For commands that send nothing (`--dry-run`, `curl`, `vars`): the newest persistent
    /// values of an existing state file, so what they print is what a run would send.
    Peek { explicit: Option<PathBuf> },
}

/// What a plan did with its state file, for the command to tell the user.
#[derive(Debug, Default)]
pub struct StateReport {
    /// The state file, when the plan has one.
    pub path: Option<PathBuf>,
    /// For each persistent variable, which value won and why.
    pub explained: Vec<String>,
    /// What the state file holds that the user should hear of.
    pub warnings: Vec<String>,
}

impl StateChoice {
    /// Opens the state file this choice names for `persistent` variables of the environment
    /// at `environment`, if it has any.
    ///
    /// `caches`: the run keeps access tokens (an `oauth2` auth), so it wants the state file
    /// beside the environment even with nothing persistent; without an environment it keeps
    /// them in memory only.
    pub(super) fn open(
        &self,
        persistent: &[&str],
        caches: bool,
        environment: Option<&Path>,
    ) -> Result<Option<StateFile>> {
        let path = |explicit: Option<&Path>, emulator: bool| {
            if persistent.is_empty() && caches && explicit.is_none() && !emulator {
                return Ok(environment.map(state::default_state_path));
            }
            state_path(explicit, persistent, environment, emulator)
        };
        match self {
            StateChoice::Ignore => Ok(None),
            StateChoice::Lock {
                explicit,
                lock_timeout,
                emulator,
            } => match path(explicit.as_deref(), *emulator)? {
                Some(path) => Ok(Some(StateFile::open(&path, *lock_timeout)?)),
                None => Ok(None),
            },
            StateChoice::Peek { explicit } => match path(explicit.as_deref(), false) {
                Ok(Some(path)) if path.exists() => Ok(Some(StateFile::peek(&path)?)),
                _ => Ok(None),
            },
        }
    }
}

/// Where persistent variables are saved: `explicit`, else beside the environment file; none
/// when nothing is persistent or on the emulator.
fn state_path(
    explicit: Option<&Path>,
    persistent: &[&str],
    environment: Option<&Path>,
    emulator: bool,
) -> Result<Option<PathBuf>> {
    if let Some(path) = explicit {
        return Ok(Some(path.to_path_buf()));
    }
    if persistent.is_empty() || emulator {
        return Ok(None);
    }
    match environment {
        Some(env) => Ok(Some(state::default_state_path(env))),
        None => Err(Error::NowhereToSave {
            names: persistent.iter().map(|n| n.to_string()).collect(),
        }),
    }
}

/// A run's hold on its state file: it saves each rotated value and remembers what went wrong.
pub(super) struct StateBinding {
    file: StateFile,
    /// Set when saving a persistent value failed: the run stops.
    error: Option<String>,
    /// What the run did about its state that the user should hear of (a fall-back from a
    /// refused value to the other candidate).
    notices: Vec<String>,
}

impl StateBinding {
    pub(super) fn new(file: StateFile) -> StateBinding {
        StateBinding {
            file,
            error: None,
            notices: Vec::new(),
        }
    }

    pub(super) fn path(&self) -> &Path {
        self.file.path()
    }

    /// Where a value read from or saved to the state file comes from.
    pub(super) fn origin(&self) -> Origin {
        Origin::State(self.file.path().to_path_buf())
    }

    /// Saves a new value of `name` that `by`'s answer carried, durably, before anything else
    /// happens. On failure, the message (which names the rescue file, never the value) is kept
    /// and returned: the run stops.
    pub(super) fn save(&mut self, name: &str, value: &str, by: &str) -> Result<(), String> {
        self.file.save(name, value, by).map_err(|e| {
            let message = e.render(false);
            self.error = Some(message.clone());
            message
        })
    }

    /// After `invalid_grant`, the other candidate value of `name`, if the state has one: the
    /// refusal rotated nothing (see [`StateFile::fall_back`]).
    pub(super) fn fall_back(&mut self, name: &str) -> Option<String> {
        let (value, way) = self.file.fall_back(name)?;
        self.notices.push(format!("{name}: {}", way.explain()));
        Some(value)
    }

    /// The access token kept under `key`.
    pub(super) fn token(&self, key: &str) -> Option<&state::CachedToken> {
        self.file.token(key)
    }

    /// Keeps an access token for later runs. A failure is a notice, not an error: the token
    /// can be fetched again, and the rotation it came with is already saved.
    pub(super) fn save_token(&mut self, key: &str, token: state::CachedToken) {
        if let Err(e) = self.file.save_token(key, token) {
            self.notices.push(format!(
                "the access token could not be kept in `{}` ({e}); the next run gets a new one",
                self.file.path().display()
            ));
        }
    }

    /// Forgets a kept access token the server refused.
    pub(super) fn forget_token(&mut self, key: &str) {
        if let Err(e) = self.file.forget_token(key) {
            self.notices.push(format!(
                "a refused access token could not be dropped from `{}` ({e})",
                self.file.path().display()
            ));
        }
    }

    pub(super) fn error(&self) -> Option<&str> {
        self.error.as_deref()
    }

    pub(super) fn notices(&self) -> &[String] {
        &self.notices
    }
}
