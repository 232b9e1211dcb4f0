//! `courier import`: another tool's collection converted into a courier collection folder.
//!
//! Each importer lives in a folder of its own (`postman/`) and turns its input into a
//! [`Draft`]: the files of a courier collection as lists of YAML [`Entry`]s, and notes on
//! what could not be carried over. The one writer here renders a draft ([`yaml`]), refuses to
//! overwrite anything and writes it. A new importer is a new folder and one line in
//! [`import`]. Nothing here sends a request, and the command line is `cli.rs`'s business.

mod openapi;
mod postman;
mod yaml;

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use self::yaml::Entry;
use crate::error::{Error, ImportTarget, Result};

/// What to import and where to write it.
#[derive(Debug, Clone)]
pub struct ImportOptions {
    /// What the input is.
    pub format: Format,
    /// The exported collection (`*.postman_collection.json`).
    pub collection: PathBuf,
    /// Exported environments (`*.postman_environment.json`), each written to
    /// `environments/<name>.yaml` under `out`.
    pub environments: Vec<PathBuf>,
    /// Exported Postman globals: their variables join the collection's `variables:`, beneath
    /// the collection's own, as Postman ranks them.
    pub globals: Vec<PathBuf>,
    /// The collection folder to create.
    pub out: PathBuf,
    /// OpenAPI: only the operations with one of these tags (all when empty).
    pub tags: Vec<String>,
    /// OpenAPI: only the operations with one of these `operationId`s (all when empty).
    pub operations: Vec<String>,
}

/// The tools courier imports from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// A Postman collection export, format v2.0 or v2.1.
    Postman,
    /// An OpenAPI 3.0 or 3.1 description, JSON or YAML.
    OpenApi,
}

/// A courier collection as an importer made it, not yet written: every file's entries, in the
/// order they are written, and what could not be converted.
#[derive(Debug, Default)]
struct Draft {
    /// `collection.yaml`.
    collection: Vec<Entry>,
    /// Each request file, by its path under the collection folder, in run order.
    requests: Vec<(PathBuf, Vec<Entry>)>,
    /// Each environment file, by its path under the collection folder.
    environments: Vec<(PathBuf, Vec<Entry>)>,
    /// Folders that hold at least one request.
    folders: usize,
    /// One line each: "Get user: pre-request script kept as a comment".
    not_converted: Vec<String>,
    /// Other files, by their path under the collection folder: the schemas of an OpenAPI
    /// description.
    files: Vec<(PathBuf, String)>,
    /// Variables the collection uses and does not define, to give with `--var` or an
    /// environment file.
    needs: Vec<String>,
}

/// What an import wrote, and what it could not carry over.
#[derive(Debug, Clone, Default)]
pub struct ImportReport {
    /// Request files written.
    pub requests: usize,
    /// Folders written (folders of the source that hold at least one request).
    pub folders: usize,
    /// The environment files written.
    pub environments: Vec<PathBuf>,
    /// One line each: "Get user: pre-request script kept as a comment".
    pub not_converted: Vec<String>,
    /// Variables the collection uses and does not define.
    pub needs: Vec<String>,
    /// Every file written, collection file first.
    #[cfg_attr(not(test), allow(dead_code))]
    pub written: Vec<PathBuf>,
}

/// Converts the input into a courier collection under `options.out`. Refuses to overwrite
/// anything; writes nothing unless everything converted.
pub fn import(options: &ImportOptions) -> Result<ImportReport> {
    // Checked again with every file's path once they are known; refusing now spares converting
    // a large collection for nothing.
    refuse_overwrite(&options.out, &[])?;
    let draft = match options.format {
        Format::Postman => postman::convert(options)?,
        Format::OpenApi => openapi::convert(options)?,
    };
    write(draft, &options.out)
}

const COLLECTION_FILE: &str = "collection.yaml";
const ENVIRONMENTS_DIR: &str = "environments";

/// Renders `draft` and writes it under `out`.
fn write(draft: Draft, out: &Path) -> Result<ImportReport> {
    let mut files = Vec::with_capacity(1 + draft.requests.len() + draft.environments.len());
    files.push((
        PathBuf::from(COLLECTION_FILE),
        yaml::render(&draft.collection),
    ));
    let requests = draft.requests.len();
    files.extend(
        draft
            .requests
            .iter()
            .map(|(path, entries)| (path.clone(), yaml::render(entries))),
    );
    let environments = draft
        .environments
        .iter()
        .map(|(p, _)| out.join(p))
        .collect();
    files.extend(
        draft
            .environments
            .iter()
            .map(|(path, entries)| (path.clone(), yaml::render(entries))),
    );
    files.extend(draft.files);
    refuse_overwrite(out, &files)?;
    let written = write_all(out, &files)?;
    Ok(ImportReport {
        requests,
        folders: draft.folders,
        environments,
        not_converted: draft.not_converted,
        needs: draft.needs,
        written,
    })
}

/// The import writes into a new or empty folder, or next to files it would not touch; it never
/// replaces a file.
fn refuse_overwrite(out: &Path, files: &[(PathBuf, String)]) -> Result<()> {
    let refuse = |problem| {
        Err(Error::ImportTarget {
            out: out.to_path_buf(),
            problem,
        })
    };
    if out.exists() && !out.is_dir() {
        return refuse(ImportTarget::NotAFolder);
    }
    if out.join(COLLECTION_FILE).exists() {
        return refuse(ImportTarget::HoldsCollection(COLLECTION_FILE));
    }
    if let Some((path, _)) = files.iter().find(|(p, _)| out.join(p).exists()) {
        return refuse(ImportTarget::FileExists(out.join(path)));
    }
    Ok(())
}

fn write_all(out: &Path, files: &[(PathBuf, String)]) -> Result<Vec<PathBuf>> {
    let mut written = Vec::with_capacity(files.len());
    let mut made = HashSet::new();
    for (relative, text) in files {
        let path = out.join(relative);
        if let Some(dir) = path.parent()
            && made.insert(dir.to_path_buf())
        {
            std::fs::create_dir_all(dir).map_err(|source| Error::Write {
                path: dir.to_path_buf(),
                what: "the folder",
                source,
            })?;
        }
        std::fs::write(&path, text).map_err(|source| Error::Write {
            path: path.clone(),
            what: "the file",
            source,
        })?;
        written.push(path);
    }
    Ok(written)
}

/// A file or folder name from a name in the source: lowercase letters and digits joined by `-`.
pub(crate) fn slug(name: &str) -> String {
    let mut out = String::new();
    for c in name.chars().flat_map(char::to_lowercase) {
        if c.is_alphanumeric() {
            out.push(c);
        } else if !out.is_empty() && !out.ends_with('-') {
            out.push('-');
        }
        // Long names make unwieldy paths; 60 characters keep the meaning.
        if out.chars().count() >= 60 {
            break;
        }
    }
    let out = out.trim_end_matches('-');
    if out.is_empty() {
        "request".into()
    } else {
        out.to_string()
    }
}

/// Escapes literal text so minijinja renders it as itself: each `{{`, `{%` and `{#` becomes an
/// expression printing those two characters (`{{ "{{" }}`), and a final `{` before a variable
/// becomes `{{ "{" }}` (it would otherwise join the variable's `{{`).
pub(crate) fn escape(text: &str, variable_follows: bool) -> String {
    if !text.contains('{') {
        return text.to_string();
    }
    let mut out = String::with_capacity(text.len() + 16);
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        if c != '{' {
            out.push(c);
            continue;
        }
        match chars.peek().copied() {
            Some(next @ ('{' | '%' | '#')) => {
                chars.next();
                out.push_str("{{ \"{");
                out.push(next);
                out.push_str("\" }}");
            }
            None if variable_follows => out.push_str("{{ \"{\" }}"),
            _ => out.push('{'),
        }
    }
    out
}
