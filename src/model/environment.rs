//! Environment files: the values of one target (the emulator, staging, production).

use std::path::Path;

use indexmap::IndexMap;
use serde::Deserialize;
use serde_saphyr::Spanned;

use super::{VarDef, names, var_defs, yaml};
use crate::diag::SourceFile;
use crate::error::{Error, Result};

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct EnvironmentDoc {
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    description: Option<String>,
    #[serde(default)]
    variables: IndexMap<Spanned<String>, Spanned<serde_json::Value>>,
    #[serde(default)]
    secrets: Vec<Spanned<String>>,
    #[serde(default)]
    persist: Vec<Spanned<String>>,
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
}

pub fn load_environment(path: &Path) -> Result<Environment> {
    let text = std::fs::read_to_string(path).map_err(|source| Error::Read {
        path: path.to_path_buf(),
        source,
        what: "environment file",
    })?;
    let file = SourceFile::new(path, text);
    let doc: EnvironmentDoc = yaml::parse(&file, "environment file")?;
    let _ = doc.description;
    Ok(Environment {
        name: doc.name,
        variables: var_defs(&file, doc.variables),
        secrets: names(doc.secrets),
        persist: names(doc.persist),
        file,
    })
}
