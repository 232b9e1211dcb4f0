//! The commands behind the command line: each loads what it needs, does its one job and
//! returns an exit code. `lib.rs` dispatches to them; the engine they drive lives in the other
//! modules.

mod inspect;
mod run;
mod token;
mod tools;

pub(crate) use inspect::{check, list_vars, print_curl};
pub(crate) use run::run_collection;
pub(crate) use token::print_token;
pub(crate) use tools::{
    import_collection, merge_reports, print_schema, print_text, serve_zoom, write_schemas,
};

use crate::cli::Target;
use crate::error::{Error, Result};
use crate::inputs;
use crate::model::{self, Collection, Environment};
use crate::runner::{Inputs, Origin, Settings};
use crate::template::EnvLookup;

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

impl Base {
    /// What a run of `environment` is made from.
    fn inputs<'a>(
        &'a self,
        environment: Option<&'a Environment>,
        settings: Settings,
    ) -> Inputs<'a> {
        Inputs {
            collection: &self.collection,
            environment,
            vars: &self.vars,
            lookup: std::sync::Arc::clone(&self.lookup),
            grants: &self.allow_env,
            settings,
        }
    }
}

impl Loaded {
    /// What a run of `environment` is made from, reading the OS environment through `lookup`.
    fn inputs<'a>(
        &'a self,
        environment: Option<&'a Environment>,
        settings: Settings,
        lookup: EnvLookup,
    ) -> Inputs<'a> {
        Inputs {
            collection: &self.collection,
            environment,
            vars: &self.vars,
            lookup,
            grants: &self.allow_env,
            settings,
        }
    }

    /// The one environment of commands that take at most one (`vars`, `curl`).
    fn single_environment(&self) -> Result<Option<&Environment>> {
        match self.environments.as_slice() {
            [] => Ok(None),
            [one] => Ok(Some(one)),
            _ => Err(Error::OneEnvironmentOnly),
        }
    }
}
