//! Loading the JSON Schemas that `schema:` checks name, once per run.
//!
//! A schema is a file (JSON or YAML, relative to the request file that names it) or a mapping
//! written inline. boon compiles it, following `$ref`s into other files beside it, and checks it
//! against its draft's meta-schema on the way; a schema without `$schema` is draft 2020-12. Any
//! problem is invalid input, found when the collection loads, before anything is sent.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde_json::Value;
use url::Url;

use super::yaml;
use crate::assert::{JsonSchema, SharedSchemas};
use crate::diag::{Diagnostic, SourceFile, Spot};
use crate::error::Result;

/// The schemas of one load: a file named by many requests, or `$ref`d by many schemas, is read
/// and compiled once. [`SchemaLoader::finish`] makes them usable.
pub struct SchemaLoader {
    compiler: boon::Compiler,
    schemas: boon::Schemas,
    shared: SharedSchemas,
    by_path: HashMap<PathBuf, Arc<JsonSchema>>,
}

impl Default for SchemaLoader {
    fn default() -> Self {
        let mut compiler = boon::Compiler::new();
        compiler.set_default_draft(boon::Draft::V2020_12);
        compiler.use_loader(Box::new(FileLoader));
        SchemaLoader {
            compiler,
            schemas: boon::Schemas::new(),
            shared: SharedSchemas::default(),
            by_path: HashMap::new(),
        }
    }
}

impl SchemaLoader {
    /// Hands the compiled schemas to every [`JsonSchema`] loaded: call once the load is done.
    pub fn finish(self) {
        // Only this loader sets them, once.
        let _ = self.shared.set(self.schemas);
    }

    /// The schema `written` (under `schema:` at `spot` of `file`) names or is.
    pub fn load(
        &mut self,
        file: &Arc<SourceFile>,
        spot: Spot,
        written: &Value,
    ) -> Result<Arc<JsonSchema>> {
        match written {
            Value::String(path) => self.load_file(file, path, &spot),
            Value::Object(_) | Value::Bool(_) => {
                let (line, _) = spot.line_col();
                let dir = folder_of(&file.path);
                let stem = file.path.file_name().map_or_else(
                    || "request".to_owned(),
                    |n| n.to_string_lossy().into_owned(),
                );
                // A name of its own in the request's folder, so that a relative `$ref` reaches
                // the files beside the request.
                let url = file_url(&dir.join(format!("{stem}.schema-at-line-{line}.json")), &spot)?;
                let name = format!("the schema at {}", spot.position());
                self.compile(written.clone(), &url, name, &dir, &spot)
            }
            other => Err(Diagnostic::new("invalid `schema:`")
                .at(spot)
                .label(format!("a {}", crate::assert::JsonType::kind_of(other)))
                .help("write the path of a JSON or YAML schema file, relative to this file, or the schema itself as a mapping")
                .into()),
        }
    }

    /// Compiles `value` as the resource at `url`. `$ref`s to other files are read from disk, as
    /// JSON or YAML; messages name `url` as `name`, and other files relative to `base`.
    fn compile(
        &mut self,
        value: Value,
        url: &str,
        name: String,
        base: &Path,
        spot: &Spot,
    ) -> Result<Arc<JsonSchema>> {
        let mut short_urls = vec![(url.to_owned(), name.clone())];
        // Other files as paths relative to the request's folder: `schemas/user.json`, or
        // `../schemas/openapi.json` a few folders up.
        let base = base.canonicalize().unwrap_or_else(|_| base.to_path_buf());
        for (up, folder) in base.ancestors().take(4).enumerate() {
            if let Ok(folder_url) = file_url(folder, spot) {
                let folder_url = folder_url.trim_end_matches('/');
                short_urls.push((format!("{folder_url}/"), "../".repeat(up)));
            }
        }
        let refused = |e: boon::CompileError| -> crate::error::Error {
            let mut text = format!("{e:#}");
            for (long, short) in &short_urls {
                text = text.replace(long.as_str(), short);
            }
            let (first, rest) = text.split_once('\n').unwrap_or((&text, ""));
            let diagnostic = Diagnostic::new(format!("the JSON Schema {name} does not compile"))
                .at(spot.clone())
                .label(first.trim_end_matches(':').to_owned());
            match rest.trim() {
                "" => diagnostic,
                detail => diagnostic.note(detail.to_owned()),
            }
                .help("fix the schema: every `$ref` must reach a file or a pointer that exists, and every keyword must follow its draft (2020-12 unless `$schema` says draft-07)")
                .into()
        };
        self.compiler.add_resource(url, value).map_err(refused)?;
        let index = self
            .compiler
            .compile(url, &mut self.schemas)
            .map_err(refused)?;
        let shared = Arc::clone(&self.shared);
        Ok(Arc::new(JsonSchema::new(shared, index, name, short_urls)))
    }

    fn load_file(
        &mut self,
        file: &Arc<SourceFile>,
        written: &str,
        spot: &Spot,
    ) -> Result<Arc<JsonSchema>> {
        let dir = folder_of(&file.path);
        let path = dir.join(written);
        let key = path.canonicalize().map_err(|e| {
            Diagnostic::new(format!("cannot read the schema `{written}`: {e}"))
                .at(spot.clone())
                .label("no such file")
                .help(format!(
                    "the path is relative to the request file's folder, `{}`",
                    shown(&dir)
                ))
        })?;
        if let Some(schema) = self.by_path.get(&key) {
            return Ok(Arc::clone(schema));
        }
        let value = read_schema(&path, written, spot)?;
        let url = file_url(&key, spot)?;
        let schema = self.compile(value, &url, written.to_owned(), &dir, spot)?;
        self.by_path.insert(key, Arc::clone(&schema));
        Ok(schema)
    }
}

fn folder_of(path: &Path) -> PathBuf {
    match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir.to_path_buf(),
        _ => PathBuf::from("."),
    }
}

fn shown(path: &Path) -> String {
    path.display().to_string()
}

/// The `file://` URL of `path`, made absolute.
fn file_url(path: &Path, spot: &Spot) -> Result<String> {
    let absolute = std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf());
    Url::from_file_path(&absolute)
        .map(String::from)
        .map_err(|()| {
            Diagnostic::new(format!("the schema path `{}` cannot be a URL", shown(path)))
                .at(spot.clone())
                .help("name the schema with a plain relative path")
                .into()
        })
}

/// A schema file's value, read as JSON or (`.yaml`, `.yml`) YAML; a parse error points into it.
fn read_schema(path: &Path, written: &str, spot: &Spot) -> Result<Value> {
    let text = std::fs::read_to_string(path).map_err(|e| {
        Diagnostic::new(format!("cannot read the schema `{written}`: {e}")).at(spot.clone())
    })?;
    let source = SourceFile::new(path, text);
    parse_schema_text(&source).map_err(|d| d.note(format!("named at {}", spot.position())).into())
}

/// The value of a schema file's text, or an error pointing at where it stopped parsing.
fn parse_schema_text(source: &Arc<SourceFile>) -> std::result::Result<Value, Diagnostic> {
    let yaml = matches!(
        source.path.extension().and_then(|e| e.to_str()),
        Some("yaml" | "yml")
    );
    if yaml {
        return yaml::parse::<Value>(source, "schema file");
    }
    serde_json::from_str(&source.text).map_err(|e| {
        crate::diag::json_error(source, &e, "the schema file is not JSON")
            .help("a schema file ending in `.json` holds JSON; name it `.yaml` to write YAML")
    })
}

/// Reads `file://` resources for `$ref`s, as JSON or YAML by their extension.
struct FileLoader;

impl boon::UrlLoader for FileLoader {
    fn load(&self, url: &str) -> std::result::Result<Value, Box<dyn std::error::Error>> {
        let url = Url::parse(url)?;
        let path = url.to_file_path().map_err(|()| {
            format!("`{url}` is not a file: courier reads schemas from files only")
        })?;
        let text = std::fs::read_to_string(&path)?;
        let source = SourceFile::new(&path, text);
        parse_schema_text(&source).map_err(|d| d.title.into())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_file_named_twice_is_compiled_once() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("s.yaml"), "type: object\n").unwrap();
        let request = SourceFile::new(dir.path().join("r.yaml"), "schema: s.yaml\n");
        let spot = Spot::new(&request, 8..14);
        let mut loader = SchemaLoader::default();
        let first = loader
            .load(&request, spot.clone(), &Value::from("s.yaml"))
            .unwrap();
        let again = loader
            .load(&request, spot.clone(), &Value::from("./s.yaml"))
            .unwrap();
        assert!(Arc::ptr_eq(&first, &again));
        loader.finish();
        assert!(first.holds(&serde_json::json!({})));
        assert!(!first.holds(&serde_json::json!([])));
    }
}
