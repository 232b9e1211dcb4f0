//! Environment files: the values of one target (the emulator, staging, production).

use std::path::Path;

use indexmap::IndexMap;
use schemars::JsonSchema;
use serde::Deserialize;
use serde_saphyr::Spanned;

use super::{Listed, VarDef, listed, names, var_defs, yaml};
use crate::diag::SourceFile;
use crate::error::{Error, Result};

#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct EnvironmentDoc {
    /// The environment's name, for readers and reports. Example: `Zoom staging`.
    #[serde(default)]
    name: Option<String>,
    /// Free text about the environment, for readers of the file.
    #[serde(default)]
    description: Option<String>,
    /// Values of variables for this target, name: value. They override the collection's
    /// `variables` and are overridden by `--var-file`, `--var` and captures. String values are
    /// templates rendered once when the run starts; read credentials from the OS environment
    /// with `"{{ env('ZOOM_CLIENT_SECRET') }}"` rather than writing them here.
    #[serde(default)]
    #[schemars(schema_with = "crate::model::schema::variables")]
    variables: IndexMap<Spanned<String>, Spanned<serde_json::Value>>,
    /// Names of variables whose values are never printed: reports, errors and `--verbose`
    /// show `***` instead. Example: `[ClientSecret, refresh_token, access_token]`.
    #[serde(default)]
    #[schemars(with = "Vec<String>")]
    secrets: Vec<Spanned<String>>,
    /// Names of variables whose captured values are saved to the state file beside this
    /// environment file (`example.yaml` → `example.state.yaml`) and read back on the next run,
    /// for tokens the server rotates. Example: `[refresh_token]`.
    #[serde(default)]
    #[schemars(with = "Vec<String>")]
    persist: Vec<Spanned<String>>,
    /// OS variables that `env("NAME")` in the collection and request files may read, besides
    /// `COURIER_*`; `PREFIX*` grants a prefix. This file's own templates read any. Example:
    /// `[ZOOM_API_BASE, ACME_*]`.
    #[serde(default)]
    allow_env: Vec<String>,
    /// Scopes the app needs. Every token answer (a JSON answer with an `access_token`) must
    /// grant each in its `scope`, or the request fails naming the missing ones: scope drift
    /// (Zoom's error 4711, a move to granular scopes) shows in the smoke check, not in
    /// production. Example: `[user:read]`.
    #[serde(default)]
    #[schemars(with = "Vec<String>")]
    required_scopes: Vec<Spanned<String>>,
}

#[derive(Debug, Clone)]
pub struct Environment {
    pub name: Option<String>,
    pub file: std::sync::Arc<SourceFile>,
    pub variables: Vec<VarDef>,
    /// Names whose values are never printed.
    pub secrets: Vec<String>,
    /// Variables whose captured values are saved to the state file.
    pub persist: Vec<String>,
    /// The same names with where the file lists them.
    pub persist_listed: Vec<Listed>,
    /// OS variables the collection's `env(...)` may read (`allow_env:`).
    pub allow_env: Vec<String>,
    /// Scopes every token answer must grant (`required_scopes:`), with where each is written.
    pub required_scopes: Vec<Listed>,
}

pub fn load_environment(path: &Path) -> Result<Environment> {
    let text = std::fs::read_to_string(path).map_err(|source| Error::Read {
        path: path.to_path_buf(),
        source,
        what: "environment file",
    })?;
    let file = SourceFile::credentials(path, text);
    let doc: EnvironmentDoc = yaml::parse(&file, "environment file")?;
    let _ = doc.description;
    Ok(Environment {
        name: doc.name,
        variables: var_defs(&file, doc.variables),
        secrets: names(doc.secrets),
        persist_listed: listed(&file, &doc.persist),
        persist: names(doc.persist),
        allow_env: doc.allow_env,
        required_scopes: listed(&file, &doc.required_scopes),
        file,
    })
}
