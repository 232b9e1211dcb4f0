//! What the user wrote: collections, requests and environments, each item with its place in the
//! file.
//!
//! Loading happens in two steps per file: serde-saphyr reads the YAML into `*Doc` structs that
//! mirror the file, then a validation step turns them into the types here, checking what serde
//! cannot (one body kind, known methods, valid JSONPaths and regexes) and keeping a [`Spot`] on
//! everything a later error or failed assertion may need to point at. Nothing in this module
//! renders templates or touches the network.

mod auth;
mod collection;
mod contract;
mod environment;
mod request;
pub mod schema;
pub mod yaml;

pub use collection::{Collection, load_collection};
pub use environment::{Environment, load_environment};

pub use auth::{
    Auth, BasicAuth, BearerAuth, ClientAuth, DEFAULT_MARGIN, DigestAuth, Grant, OAuth1Auth,
    OAuth2Auth, SignatureMethod, TokenSource,
};
#[cfg(test)]
pub(crate) use request::load_request;
pub use request::{
    Body, Capture, CaptureSource, Checks, JsonCheck, JsonTemplate, Poll, Request, SchemaCheck,
    SnapshotCheck,
};
// The file types as serde reads them, for `crate::schema` to describe.
pub(crate) use {collection::CollectionDoc, environment::EnvironmentDoc, request::RequestDoc};

use std::sync::Arc;

use indexmap::IndexMap;
use serde_saphyr::Spanned;

use crate::diag::{SourceFile, Spot};

/// A string the user wrote that may hold minijinja syntax, with where it was written.
#[derive(Debug, Clone)]
pub struct Tmpl {
    pub text: String,
    pub spot: Spot,
}

impl Tmpl {
    pub fn new(text: impl Into<String>, spot: Spot) -> Tmpl {
        Tmpl {
            text: text.into(),
            spot,
        }
    }

    /// True when the text has no template syntax and is used as it stands.
    pub fn is_literal(&self) -> bool {
        !(self.text.contains("{{") || self.text.contains("{%") || self.text.contains("{#"))
    }
}

/// A variable defined in a collection or environment file. String values (also inside lists and
/// maps) are templates, rendered once when the run starts.
#[derive(Debug, Clone)]
pub struct VarDef {
    pub name: String,
    pub value: serde_json::Value,
    /// Where the value was written.
    pub spot: Spot,
}

pub(crate) fn var_defs(
    file: &Arc<SourceFile>,
    variables: IndexMap<Spanned<String>, Spanned<serde_json::Value>>,
) -> Vec<VarDef> {
    variables
        .into_iter()
        .map(|(name, value)| VarDef {
            spot: yaml::spot_of(file, &value),
            name: name.value,
            value: value.value,
        })
        .collect()
}

/// The names of a `secrets:` or `persist:` list.
pub(crate) fn names(secrets: Vec<Spanned<String>>) -> Vec<String> {
    secrets.into_iter().map(|s| s.value).collect()
}

/// A name of a `persist:` list with where it was written, so a name nothing defines can be
/// pointed at.
#[derive(Debug, Clone)]
pub struct Listed {
    pub name: String,
    pub spot: Spot,
}

pub(crate) fn listed(file: &Arc<SourceFile>, names: &[Spanned<String>]) -> Vec<Listed> {
    names
        .iter()
        .map(|n| Listed {
            name: n.value.clone(),
            spot: yaml::spot_of(file, n),
        })
        .collect()
}
