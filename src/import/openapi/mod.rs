//! `courier import openapi`: an OpenAPI 3.0 or 3.1 description as a courier collection.
//!
//! One request per operation, in a folder per (first) tag. Path, query and header parameters
//! become variables, defined in the collection from the description's examples and defaults;
//! those without one are listed as needed. A request body comes from the description's example,
//! or is made from its schema. Security schemes map onto courier's auth kinds. Each request
//! checks the status its operation documents for success and, when that answer is JSON, the
//! answer's schema: every schema goes into `schemas/openapi.json` (see [`schema`]), which the
//! requests reference, so a schema shared by a thousand operations is written, read and
//! compiled once.

mod operation;
mod schema;
mod security;

use std::collections::{BTreeSet, HashSet};
use std::path::{Path, PathBuf};

use serde_json::{Map, Value, json};

use super::yaml::Entry;
use super::{Draft, ImportOptions, slug};
use crate::diag::{Diagnostic, SourceFile};
use crate::error::{Error, Result};

/// The file the schemas are written into, under the collection folder.
const SCHEMAS_FILE: &str = "schemas/openapi.json";

/// The HTTP methods an OpenAPI path item may hold, in the order requests are written.
const METHODS: [&str; 8] = [
    "get", "put", "post", "delete", "options", "head", "patch", "trace",
];

pub(super) fn convert(options: &ImportOptions) -> Result<Draft> {
    let spec = read(&options.collection)?;
    let v30 = version(&spec, &options.collection)?;
    let mut importer = Importer::new(&spec, v30);
    let paths = spec.get("paths").and_then(Value::as_object);
    for (path, item) in paths.into_iter().flatten() {
        let item = importer.resolve(item);
        for method in METHODS {
            let Some(op) = item.get(method) else { continue };
            if selected(op, options) {
                importer.operation(path, method, item, op);
            }
        }
    }
    if importer.draft.requests.is_empty() {
        return Err(Error::ImportEmpty {
            source: match options.tags.is_empty() && options.operations.is_empty() {
                true => format!("the OpenAPI description `{}`", options.collection.display()),
                false => format!(
                    "the operations of `{}` that --tag and --operation select",
                    options.collection.display()
                ),
            },
        });
    }
    importer.finish(&options.collection)
}

/// Whether `--tag` and `--operation` keep `op`.
fn selected(op: &Value, options: &ImportOptions) -> bool {
    let tags = op.get("tags").and_then(Value::as_array);
    let tagged = options.tags.is_empty()
        || tags
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
            .any(|t| options.tags.iter().any(|want| want.eq_ignore_ascii_case(t)));
    let id = op.get("operationId").and_then(Value::as_str);
    let named = options.operations.is_empty()
        || id.is_some_and(|id| options.operations.iter().any(|want| want == id));
    tagged && named
}

/// The description as a value, from JSON or YAML; a file that parses as neither names where.
fn read(path: &Path) -> Result<Value> {
    let text = std::fs::read_to_string(path).map_err(|source| Error::Read {
        path: path.to_path_buf(),
        source,
        what: "OpenAPI description",
    })?;
    let file = SourceFile::new(path, text);
    if file.text.trim_start().starts_with('{') {
        return serde_json::from_str(&file.text).map_err(|e| {
            crate::diag::json_error(&file, &e, "the OpenAPI description is not JSON").into()
        });
    }
    Ok(crate::model::yaml::parse::<Value>(
        &file,
        "OpenAPI description",
    )?)
}

/// True for OpenAPI 3.0, false for 3.1; anything else is refused, saying what it looks like.
fn version(spec: &Value, path: &Path) -> Result<bool> {
    let shown = path.display();
    let refuse = |title: String, help: &str| -> Error {
        Diagnostic::new(title).help(help.to_owned()).into()
    };
    let Value::Object(root) = spec else {
        return Err(refuse(
            format!("`{shown}` is not an OpenAPI description: it is not a mapping"),
            "name an OpenAPI 3.0 or 3.1 description (`openapi: 3.1.0` at its top)",
        ));
    };
    match root.get("openapi").map(|v| {
        v.as_str()
            .map(str::to_owned)
            .unwrap_or_else(|| v.to_string())
    }) {
        Some(v) if v.starts_with("3.0") => Ok(true),
        Some(v) if v.starts_with("3.1") => Ok(false),
        Some(v) => Err(refuse(
            format!("`{shown}` is OpenAPI {v}; courier imports OpenAPI 3.0 and 3.1"),
            "convert the description to OpenAPI 3.1",
        )),
        None if root.contains_key("swagger") => Err(refuse(
            format!("`{shown}` is a Swagger 2.0 description; courier imports OpenAPI 3.0 and 3.1"),
            "convert it to OpenAPI 3 first (for example with `npx swagger2openapi`), then import the result",
        )),
        None if root.contains_key("item") && root.contains_key("info") => Err(refuse(
            format!("`{shown}` is a Postman collection, not an OpenAPI description"),
            "import it with `courier import postman`",
        )),
        None => Err(refuse(
            format!("`{shown}` is not an OpenAPI description: it has no `openapi:` version"),
            "name an OpenAPI 3.0 or 3.1 description (`openapi: 3.1.0` at its top)",
        )),
    }
}

/// The collection being made.
struct Importer<'s> {
    spec: &'s Value,
    v30: bool,
    draft: Draft,
    /// Collection variables and their values, in the order first met.
    variables: Map<String, Value>,
    /// Variables used but given no value.
    needs: BTreeSet<String>,
    /// Variables holding credentials, listed under `secrets:`.
    secrets: BTreeSet<String>,
    /// Persistent variables (a refresh token an OAuth2 server may rotate).
    persist: BTreeSet<String>,
    /// What the description's top-level `security` asks of every operation that names none.
    root: security::Credentials,
    /// The response schemas of the operations, by key, for `schemas/openapi.json`.
    operations: Map<String, Value>,
    names: HashSet<String>,
    files: HashSet<PathBuf>,
    folders: HashSet<String>,
    request_paths: Vec<Value>,
    external_refs: usize,
}

impl<'s> Importer<'s> {
    fn new(spec: &'s Value, v30: bool) -> Importer<'s> {
        let mut importer = Importer {
            spec,
            v30,
            draft: Draft::default(),
            variables: Map::new(),
            needs: BTreeSet::new(),
            secrets: BTreeSet::new(),
            persist: BTreeSet::new(),
            root: security::Credentials::default(),
            operations: Map::new(),
            names: HashSet::new(),
            files: HashSet::new(),
            folders: HashSet::new(),
            request_paths: Vec::new(),
            external_refs: 0,
        };
        let base = importer.base_url();
        importer.variables.insert("base_url".into(), base.into());
        if let Some(Value::Array(security)) = spec.get("security") {
            importer.root = importer.credentials(security, "the description");
        }
        importer
    }

    /// The first server's URL, its variables filled with their defaults.
    fn base_url(&mut self) -> String {
        let server = self.spec.pointer("/servers/0");
        let Some(url) = server.and_then(|s| s.get("url")).and_then(Value::as_str) else {
            self.note(
                "no `servers`: `base_url` is http://localhost; set it with --var or an environment"
                    .into(),
            );
            return "http://localhost".into();
        };
        let mut url = url.trim_end_matches('/').to_owned();
        if let Some(Value::Object(vars)) = server.and_then(|s| s.get("variables")) {
            for (name, var) in vars {
                if let Some(default) = var.get("default").and_then(Value::as_str) {
                    url = url.replace(&format!("{{{name}}}"), default);
                }
            }
        }
        if url.starts_with('/') || url.is_empty() {
            self.note(format!(
                "the server URL `{url}` is relative: `base_url` is http://localhost{url}"
            ));
            url = format!("http://localhost{url}");
        }
        url
    }

    fn note(&mut self, line: String) {
        self.draft.not_converted.push(line);
    }

    /// What `$ref` points at, followed through further `$ref`s; the value itself otherwise,
    /// and `null` for a reference that reaches nothing.
    fn resolve(&self, value: &'s Value) -> &'s Value {
        static NOTHING: Value = Value::Null;
        let mut current = value;
        for _ in 0..16 {
            match current.get("$ref").and_then(Value::as_str) {
                Some(target) => match self.pointer(target) {
                    Some(next) => current = next,
                    None => return &NOTHING,
                },
                None => return current,
            }
        }
        &NOTHING
    }

    fn pointer(&self, target: &str) -> Option<&'s Value> {
        self.spec.pointer(target.strip_prefix('#')?)
    }

    /// A unique request name: the summary, else the operation id, else `METHOD path`.
    fn unique_name(&mut self, wanted: String) -> String {
        let mut name = wanted.clone();
        let mut n = 2;
        while !self.names.insert(name.clone()) {
            name = format!("{wanted} ({n})");
            n += 1;
        }
        name
    }

    /// A unique file for a request, in the folder of its first tag.
    fn unique_file(&mut self, folder: Option<&str>, stem: &str) -> PathBuf {
        let dir = folder.map(slug);
        if let Some(dir) = &dir {
            self.folders.insert(dir.clone());
        }
        let mut n = 1;
        loop {
            let file = match n {
                1 => format!("{stem}.yaml"),
                _ => format!("{stem}-{n}.yaml"),
            };
            let path = match &dir {
                Some(dir) => Path::new(dir).join(file),
                None => PathBuf::from(file),
            };
            if self.files.insert(path.clone()) {
                return path;
            }
            n += 1;
        }
    }

    /// The collection file, the schemas file and the notes.
    fn finish(mut self, source: &Path) -> Result<Draft> {
        let name = self
            .spec
            .pointer("/info/title")
            .and_then(Value::as_str)
            .unwrap_or("OpenAPI")
            .to_owned();
        let mut collection = vec![
            Entry::Comment(vec![format!(
                "imported from the OpenAPI description `{}` by `courier import openapi`",
                source.file_name().map_or_else(
                    || source.display().to_string(),
                    |n| n.to_string_lossy().into_owned()
                )
            )]),
            Entry::Field("name".into(), name.into()),
        ];
        if let Some(version) = self.spec.pointer("/info/version").and_then(Value::as_str) {
            collection.push(Entry::Field(
                "description".into(),
                format!("API version {version}").into(),
            ));
        }
        collection.push(Entry::Field(
            "variables".into(),
            Value::Object(std::mem::take(&mut self.variables)),
        ));
        if !self.secrets.is_empty() {
            collection.push(Entry::Field("secrets".into(), json!(self.secrets)));
        }
        if !self.persist.is_empty() {
            collection.push(Entry::Field("persist".into(), json!(self.persist)));
        }
        if let Some(auth) = self.root.auth.take() {
            collection.push(Entry::Field("auth".into(), auth));
        }
        collection.push(Entry::Field(
            "requests".into(),
            std::mem::take(&mut self.request_paths).into(),
        ));
        if self.external_refs > 0 {
            self.note(format!(
                "{} `$ref`s to other files are not followed: those parts of the schemas accept anything",
                self.external_refs
            ));
        }
        self.draft.collection = collection;
        self.draft.folders = self.folders.len();
        if !self.operations.is_empty() {
            let schemas = self.schemas_file(source)?;
            self.draft
                .files
                .push((PathBuf::from(SCHEMAS_FILE), schemas));
        }
        self.draft.needs = self.needs.into_iter().collect();
        Ok(self.draft)
    }

    /// `schemas/openapi.json`: the description's component schemas, converted, beside each
    /// operation's response schema.
    fn schemas_file(&mut self, source: &Path) -> Result<String> {
        let mut components = self
            .spec
            .pointer("/components/schemas")
            .cloned()
            .unwrap_or_else(|| json!({}));
        if let Value::Object(map) = &mut components {
            for schema in map.values_mut() {
                self.external_refs += schema::to_json_schema(schema, self.v30);
            }
        }
        let file = json!({
            "$comment": "The response schemas of the operations (under `operations`) and the schemas they reference (under `components`), from the OpenAPI description, as JSON Schema 2020-12. Written by `courier import openapi`.",
            "operations": std::mem::take(&mut self.operations),
            "components": { "schemas": components },
        });
        if let Some((target, at)) = dangling_ref(&file, &file, &mut String::new()) {
            return Err(Diagnostic::new(format!(
                "the `$ref` `{target}` of `{}` reaches nothing",
                source.display()
            ))
            .note(format!("it is at `{at}` of the schemas courier would write"))
            .help("fix the description: a schema `$ref` must name a schema under `components/schemas`")
            .into());
        }
        let mut text = serde_json::to_string_pretty(&file).expect("a value always serializes");
        text.push('\n');
        Ok(text)
    }
}

/// The first `$ref` inside `value` that points nowhere in `root`, and where it is (a JSON
/// Pointer built in `at`).
fn dangling_ref(root: &Value, value: &Value, at: &mut String) -> Option<(String, String)> {
    match value {
        Value::Object(map) => {
            if let Some(Value::String(target)) = map.get("$ref")
                && let Some(pointer) = target.strip_prefix('#')
                && root.pointer(pointer).is_none()
            {
                return Some((target.clone(), at.clone()));
            }
            for (key, sub) in map {
                let len = at.len();
                at.push('/');
                at.push_str(&key.replace('~', "~0").replace('/', "~1"));
                let found = dangling_ref(root, sub, at);
                at.truncate(len);
                if found.is_some() {
                    return found;
                }
            }
            None
        }
        Value::Array(items) => items.iter().enumerate().find_map(|(i, sub)| {
            let len = at.len();
            at.push_str(&format!("/{i}"));
            let found = dangling_ref(root, sub, at);
            at.truncate(len);
            found
        }),
        _ => None,
    }
}

/// A courier variable name for an OpenAPI name: letters, digits and `_`, not starting with a
/// digit (`user-id` → `user_id`).
fn variable_name(name: &str) -> String {
    let mut out: String = name
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
        .collect();
    if out.is_empty() || out.starts_with(|c: char| c.is_ascii_digit()) {
        out.insert(0, '_');
    }
    out
}
