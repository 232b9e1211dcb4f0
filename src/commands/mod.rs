//! The commands behind the command line: each loads what it needs, does its one job and
//! returns an exit code. `lib.rs` dispatches to them; the engine they drive lives in the other
//! modules.

mod inspect;
mod run;
mod tools;

pub(crate) use inspect::{check, list_vars, print_curl};
pub(crate) use run::run_collection;
pub(crate) use tools::{import_collection, print_schema, print_text, serve_zoom, write_schemas};

use crate::cli::Target;
use crate::error::{Error, Result};
use crate::model::{self, Collection, Environment};
use crate::runner::{Origin, Run};
use crate::template::EnvLookup;
use crate::{inputs, state};

/// A collection with everything that fills its variables, loaded and parsed.
pub(crate) struct Loaded {
    collection: Collection,
    /// In the order given on the command line.
    environments: Vec<Environment>,
    /// `--var-file` values, then `--var` values: later ones win.
    vars: Vec<(String, String, Origin)>,
    lookup: EnvLookup,
    /// `--allow-env`: OS variables the collection's `env(...)` may read.
    allow_env: Vec<String>,
}

/// What every environment of a run shares, loaded once; `courier run` loads each environment
/// file only when its turn comes.
pub(crate) struct Base {
    collection: Collection,
    /// `--var-file` values, then `--var` values: later ones win.
    vars: Vec<(String, String, Origin)>,
    lookup: EnvLookup,
    /// `--allow-env`: OS variables the collection's `env(...)` may read.
    allow_env: Vec<String>,
}

pub(crate) fn load_base(target: &Target) -> Result<Base> {
    let collection = model::load_collection(&target.collection)?;
    let mut vars = Vec::new();
    for file in &target.var_files {
        let origin = Origin::VarFile(file.clone());
        vars.extend(
            inputs::load_var_file(file)?
                .into_iter()
                .map(|(k, v)| (k, v, origin.clone())),
        );
    }
    vars.extend(
        target
            .vars
            .iter()
            .map(|(k, v)| (k.clone(), v.clone(), Origin::CommandLine)),
    );
    let lookup = inputs::lookup(inputs::load_env_files(&target.env_files)?);
    Ok(Base {
        collection,
        vars,
        lookup,
        allow_env: target.allow_env.clone(),
    })
}

pub(crate) fn load(target: &Target) -> Result<Loaded> {
    let Base {
        collection,
        vars,
        lookup,
        allow_env,
    } = load_base(target)?;
    let environments = target
        .environments
        .iter()
        .map(|path| model::load_environment(path))
        .collect::<Result<Vec<_>>>()?;
    Ok(Loaded {
        collection,
        environments,
        vars,
        lookup,
        allow_env,
    })
}

impl Loaded {
    /// The one environment of commands that take at most one (`vars`, `curl`).
    fn single_environment(&self) -> Result<Option<&Environment>> {
        match self.environments.as_slice() {
            [] => Ok(None),
            [one] => Ok(Some(one)),
            _ => Err(Error::OneEnvironmentOnly),
        }
    }
}

/// Where persistent variables are saved: `--state`, else beside the environment file. A run on
/// the embedded emulator keeps none unless `--state` says so: the emulator is new each run, and
/// its tokens die with it.
pub(crate) fn state_path(
    run: &Run<'_>,
    explicit: Option<&std::path::Path>,
    environment: Option<&std::path::Path>,
    mock_zoom: bool,
) -> Result<Option<std::path::PathBuf>> {
    if let Some(path) = explicit {
        return Ok(Some(path.to_path_buf()));
    }
    let persistent = run.persistent_names();
    if persistent.is_empty() || mock_zoom {
        return Ok(None);
    }
    match environment {
        Some(env) => Ok(Some(state::default_state_path(env))),
        None => Err(Error::NowhereToSave {
            names: persistent.iter().cloned().collect(),
        }),
    }
}

/// For commands that send nothing (`--dry-run`, `curl`): the newest persistent values, read
/// from an existing state file, so what they print is what a run would send.
/// Returns, per persistent variable, which value won and why.
pub(crate) fn attach_existing_state(
    run: &mut Run<'_>,
    explicit: Option<&std::path::Path>,
) -> Result<Vec<String>> {
    let env_path = run.environment().map(|e| e.file.path.clone());
    match state_path(run, explicit, env_path.as_deref(), false)
        .ok()
        .flatten()
    {
        Some(path) if path.exists() => {
            let state = state::StateFile::open(&path, std::time::Duration::from_secs(5))?;
            Ok(run.attach_state(state))
        }
        _ => Ok(Vec::new()),
    }
}
