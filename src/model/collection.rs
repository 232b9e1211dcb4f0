//! Collections: a folder with `collection.yaml` and one YAML file per request.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use indexmap::IndexMap;
use schemars::JsonSchema;
use serde::Deserialize;
use serde_saphyr::Spanned;

use super::contract::SchemaLoader;
use super::request::{Request, load_request_with};
use super::{Listed, VarDef, listed, names, var_defs, yaml};
use crate::diag::{Diagnostic, SourceFile, did_you_mean};
use crate::error::{Error, Result};

pub const COLLECTION_FILE: &str = "collection.yaml";

#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct CollectionDoc {
    /// The collection's name, shown by reports and `courier check`.
    name: String,
    /// Free text about the collection, for readers of the file.
    #[serde(default)]
    description: Option<String>,
    /// Default values of variables, name: value; the lowest precedence (an environment file,
    /// `--var-file`, `--var` and captures override them). String values, also inside lists and
    /// maps, are templates rendered once when the run starts. Example: `base_url: https://zoom.us`.
    #[serde(default)]
    #[schemars(schema_with = "crate::model::schema::variables")]
    variables: IndexMap<Spanned<String>, Spanned<serde_json::Value>>,
    /// Names of variables whose values are never printed: reports, errors and `--verbose`
    /// show `***` instead. Example: `[access_token]`.
    #[serde(default)]
    #[schemars(with = "Vec<String>")]
    secrets: Vec<Spanned<String>>,
    /// Names of variables whose captured values are saved to the state file (beside the
    /// environment file, or `--state PATH`) and read back on the next run, for tokens the server
    /// rotates. Example: `[refresh_token]`.
    #[serde(default)]
    #[schemars(with = "Vec<String>")]
    persist: Vec<Spanned<String>>,
    /// Authentication for every request that writes no `auth:` of its own (one that writes
    /// `auth: { none: true }` sends none): `basic`, `bearer` or `oauth2`.
    #[serde(default)]
    #[schemars(with = "Option<super::auth::AuthDoc>")]
    auth: Option<Spanned<super::auth::AuthDoc>>,
    /// What a variable that nothing defines or captures becomes: `error` (the default: the run
    /// is refused before anything is sent) or `literal`, for collections imported from Postman:
    /// it is sent as the text `{{name}}`, as Newman does. Never in a request that sends a
    /// persistent variable.
    #[serde(default)]
    #[schemars(schema_with = "crate::model::schema::undefined")]
    undefined: Option<Spanned<String>>,
    /// `false`: no cookie jar. By default each pass keeps the cookies answers set and sends
    /// them back to their site, as Newman does (`--no-cookies` turns it off for one run).
    #[serde(default)]
    #[schemars(with = "Option<bool>")]
    cookies: Option<bool>,
    /// The request files, in run order, as paths relative to this folder. Example:
    /// `- refresh-access-token.yaml`.
    #[schemars(with = "Vec<String>", length(min = 1))]
    requests: Vec<Spanned<String>>,
}

#[derive(Debug)]
pub struct Collection {
    pub name: String,
    pub description: Option<String>,
    /// The folder the collection was loaded from.
    pub dir: PathBuf,
    pub file: Arc<SourceFile>,
    pub variables: Vec<VarDef>,
    pub secrets: Vec<String>,
    /// Variables whose captured values are saved to the state file (`refresh_token`).
    pub persist: Vec<String>,
    /// The same names with where the file lists them.
    pub persist_listed: Vec<Listed>,
    /// In run order.
    pub requests: Vec<Request>,
    /// The token request of each `oauth2` auth, in the order the auths are written (the
    /// collection's first).
    pub tokens: Vec<super::TokenSource>,
    /// Whether passes keep a cookie jar (`cookies:`, default true).
    pub cookies: bool,
    /// `undefined: literal`: a variable nothing defines is sent as the text `{{name}}`.
    pub undefined_as_literal: bool,
}

impl Collection {
    /// The requests the files list, then the token requests of `oauth2` auths.
    pub fn all_requests(&self) -> impl Iterator<Item = &Request> {
        self.requests
            .iter()
            .chain(self.tokens.iter().map(|t| &t.request))
    }
}

/// Loads a collection from its folder (or from the path of its `collection.yaml`) and every
/// request file it lists. The first problem found is returned, pointing into its file.
pub fn load_collection(path: &Path) -> Result<Collection> {
    let (dir, index) = if path.is_dir() {
        (path.to_path_buf(), path.join(COLLECTION_FILE))
    } else {
        let dir = path
            .parent()
            .map_or_else(|| PathBuf::from("."), Path::to_path_buf);
        (dir, path.to_path_buf())
    };
    let text = std::fs::read_to_string(&index).map_err(|source| Error::Read {
        path: index.clone(),
        source,
        what: "collection file",
    })?;
    let file = SourceFile::new(&index, text);
    let doc: CollectionDoc = yaml::parse(&file, "collection file")?;
    if doc.requests.is_empty() {
        return Err(Diagnostic::new("the collection lists no requests")
            .at(yaml::spot(&file, &serde_saphyr::Location::UNKNOWN))
            .help("list request files under `requests:`, e.g. `- refresh-access-token.yaml`")
            .into());
    }
    let mut requests = Vec::with_capacity(doc.requests.len());
    let root = dir.canonicalize().map_err(|source| Error::Read {
        path: dir.clone(),
        source,
        what: "collection folder",
    })?;
    let mut schemas = SchemaLoader::default();
    for entry in &doc.requests {
        let request_path = dir.join(&entry.value);
        check_inside(&file, &root, &request_path, entry)?;
        let text = match std::fs::read_to_string(&request_path) {
            Ok(text) => text,
            Err(e) => return Err(missing_request(&file, &dir, entry, &e).into()),
        };
        let request_file = SourceFile::new(&request_path, text);
        requests.push(load_request_with(&request_file, &mut schemas)?);
    }
    schemas.finish();
    check_unique_names(&requests)?;
    let auth = doc
        .auth
        .as_ref()
        .map(|written| super::auth::auth(&file, written))
        .transpose()?;
    let tokens = super::auth::bind_token_sources(auth.as_ref(), &mut requests);
    let undefined_as_literal = match &doc.undefined {
        None => false,
        Some(word) if word.value == "error" => false,
        Some(word) if word.value == "literal" => true,
        Some(word) => {
            return Err(Diagnostic::new(format!("unknown `undefined: {}`", word.value))
                .at(yaml::spot_of(&file, word))
                .help("write `undefined: error` (the default) or `undefined: literal` (send `{{name}}` as text, as Postman does)")
                .into());
        }
    };
    Ok(Collection {
        tokens,
        cookies: doc.cookies.unwrap_or(true),
        undefined_as_literal,
        name: doc.name,
        description: doc.description,
        dir,
        variables: var_defs(&file, doc.variables),
        secrets: names(doc.secrets),
        persist_listed: listed(&file, &doc.persist),
        persist: names(doc.persist),
        file,
        requests,
    })
}

/// A request file must be inside the collection's folder once symlinks are followed: a
/// collection is shared and imported, and one that lists `/proc/self/environ` or
/// `../../.aws/credentials` must not get courier to read it, let alone quote it in an error.
fn check_inside(
    file: &Arc<SourceFile>,
    root: &Path,
    request_path: &Path,
    entry: &Spanned<String>,
) -> Result<()> {
    let resolved = match request_path.canonicalize() {
        Ok(resolved) => resolved,
        // A missing file is reported by the read, which names no content; a path that leaves
        // the folder in its words is refused even when nothing is there.
        Err(_) if !escapes_lexically(&entry.value) => return Ok(()),
        Err(_) => request_path.to_path_buf(),
    };
    if resolved.starts_with(root) {
        return Ok(());
    }
    Err(Diagnostic::new(format!(
        "request file `{}` is outside the collection folder",
        entry.value
    ))
    .at(yaml::spot_of(file, entry))
    .label("not inside this collection's folder")
    .note(format!(
        "request files are read from `{}` and its sub-folders only (symlinks followed); nothing was read",
        root.display()
    ))
    .help("move the file into the collection folder and list it by its relative path")
    .into())
}

/// An absolute path, or one whose `..` steps climb above where it starts.
fn escapes_lexically(path: &str) -> bool {
    let path = Path::new(path);
    let mut depth: isize = 0;
    for component in path.components() {
        match component {
            std::path::Component::ParentDir => depth -= 1,
            std::path::Component::Normal(_) => depth += 1,
            std::path::Component::CurDir => {}
            _ => return true,
        }
        if depth < 0 {
            return true;
        }
    }
    false
}

fn missing_request(
    file: &Arc<SourceFile>,
    dir: &Path,
    entry: &Spanned<String>,
    e: &std::io::Error,
) -> Diagnostic {
    let present: Vec<String> = std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|f| f.file_name().into_string().ok())
        .filter(|n| (n.ends_with(".yaml") || n.ends_with(".yml")) && n != COLLECTION_FILE)
        .collect();
    let help = match did_you_mean(&entry.value, present.iter().map(String::as_str)) {
        Some(near) => format!("did you mean `{near}`?"),
        None => format!(
            "paths are relative to `{}`; create the file or remove the entry",
            dir.display()
        ),
    };
    Diagnostic::new(format!(
        "cannot read request file `{}`: {}",
        entry.value,
        crate::error::io_reason(e)
    ))
    .at(yaml::spot_of(file, entry))
    .label("listed here")
    .help(help)
}

/// `--request NAME` and reports identify requests by name, so two may not share one.
fn check_unique_names(requests: &[Request]) -> Result<()> {
    for (i, request) in requests.iter().enumerate() {
        if let Some(earlier) = requests[..i].iter().find(|r| r.name == request.name) {
            return Err(
                Diagnostic::new(format!("two requests are named `{}`", request.name))
                    .at(request.name_spot.clone())
                    .label("second use of the name")
                    .note(format!("first used at {}", earlier.name_spot.position()))
                    .help("give each request of a collection its own name")
                    .into(),
            );
        }
    }
    Ok(())
}
