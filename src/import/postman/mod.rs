//! `courier import postman`: a Postman collection export (format v2.0 or v2.1) and its
//! environment exports, converted into a courier [`Draft`] that `crate::import` writes.
//!
//! The flow: [`source`] reads and recognises the JSON files ([`self::format`] is their shape), a
//! first pass over them gathers every variable name so [`names::Names`] can rename the ones
//! courier cannot use consistently everywhere, [`request`] and [`scripts`] convert each request
//! and its test script, and [`variables`] the variable lists.
//!
//! Whatever cannot be carried over (scripts courier cannot run, multipart bodies, auth schemes
//! courier lacks) is kept as a `#` comment in the file where it applies and listed, one line
//! each, in [`Draft::not_converted`].

mod format;
mod names;
mod request;
mod scripts;
mod source;
mod v1;
mod variables;

#[cfg(test)]
mod tests;

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::sync::LazyLock;

use regex::Regex;
use serde_json::{Value, json};

use self::format::{self as postman, Auth, Item};
use self::names::{Names, Unique, names_used, slug};
use self::request::Context;
use self::variables::Variables;
use super::yaml::Entry;
use super::{COLLECTION_FILE, Draft, ENVIRONMENTS_DIR, ImportOptions};
use crate::error::{Error, Result};

/// Converts a Postman collection (and environments) into a courier [`Draft`].
pub(super) fn convert(options: &ImportOptions) -> Result<Draft> {
    let (collection, collection_json, v1_notes) = source::read_collection(&options.collection)?;
    let mut environments = Vec::with_capacity(options.environments.len());
    for path in &options.environments {
        let (env, json) = source::read_environment(path)?;
        environments.push((path, env, json));
    }
    let read = |path: &PathBuf| source::read_environment(path);
    let globals: Vec<_> = options.globals.iter().map(read).collect::<Result<_>>()?;
    let envs_json: Vec<&Value> = environments
        .iter()
        .map(|(_, _, j)| j)
        .chain(globals.iter().map(|(_, j)| j))
        .collect();
    let mut names = first_pass(&collection_json, &envs_json);
    // What `clearEnvironmentVariables()` and `pm.globals.clear()` unset: the files' names,
    // and the names scripts set in those scopes.
    let files = (environments.iter().map(|(_, env, _)| ("environment", env)))
        .chain(globals.iter().map(|(env, _)| ("globals", env)));
    for (scope, env) in files {
        for key in env
            .values
            .iter()
            .filter_map(|v| v.key.as_ref().or(v.id.as_ref()))
        {
            let courier = names.courier(key);
            names.scoped.insert((scope, courier));
        }
    }

    let mut importer = Importer {
        ctx: Context {
            names,
            ..Context::default()
        },
        ..Importer::default()
    };
    importer.notes.extend(v1_notes);
    let source = file_name(&options.collection);
    let (mut collection_vars, head) = importer.collection(&collection, &source)?;
    for ((env, _), path) in globals.iter().zip(&options.globals) {
        let from_globals = variables::convert(&mut importer.ctx.names, &env.values);
        let added = variables::beneath(&mut collection_vars, from_globals);
        importer.notes.push(format!(
            "{added} variable{} from the globals `{}` joined the collection's `variables:` (the collection's own win)",
            if added == 1 { "" } else { "s" },
            file_name(path)
        ));
    }
    let mut env_vars: Vec<Variables> = environments
        .iter()
        .map(|(_, env, _)| variables::convert(&mut importer.ctx.names, &env.values))
        .collect();
    importer
        .notes
        .extend(variables::settle_order(&mut collection_vars, &mut env_vars));

    importer.pre_request_sets(&mut collection_vars, &env_vars);
    importer.drop_unknowable_var_checks();
    // A name a request unsets and a later one uses is sent as `{{name}}` there, as Newman does.
    let unset_used = (importer.ctx.unset.iter()).any(|n| importer.ctx.names.used.contains(n));
    let undefined = !importer.undefined(&collection_vars, &env_vars).is_empty() || unset_used;
    let collection_file = importer.collection_file(head, &collection_vars, undefined);
    let mut env_slugs = Unique::default();
    let env_files = environments
        .iter()
        .zip(&env_vars)
        .map(|((path, env, _), vars)| importer.environment(path, env, vars, &mut env_slugs))
        .collect();
    importer.variable_notes(&collection_vars, &env_vars);
    Ok(Draft {
        collection: collection_file,
        requests: importer.files,
        environments: env_files,
        folders: importer.folders,
        not_converted: importer.notes,
        ..Draft::default()
    })
}

fn file_name(path: &Path) -> String {
    path.file_name().map_or_else(
        || path.display().to_string(),
        |n| n.to_string_lossy().into_owned(),
    )
}

/// Gathers every variable name the inputs define or use, so renames are decided once for all
/// files. Saved responses (`response`) are skipped: they are examples, not requests.
fn first_pass(collection: &Value, environments: &[&Value]) -> Names {
    let mut defined = Vec::new();
    let mut used = Vec::new();
    walk(collection, None, &mut defined, &mut used);
    for env in environments {
        if let Some(values) = env.get("values") {
            defined_in_list(values, &mut defined);
        }
        walk(env, None, &mut Vec::new(), &mut used);
    }
    Names::new(
        defined.iter().map(String::as_str),
        used.iter().map(String::as_str),
    )
}

fn walk(value: &Value, key: Option<&str>, defined: &mut Vec<String>, used: &mut Vec<String>) {
    static SETTER: LazyLock<Regex> = LazyLock::new(|| {
        Regex::new(r#"(?:\.set|set(?:Environment|Global)Variable)\(\s*['"]([^'"]+)['"]"#)
            .expect("a valid regex")
    });
    match value {
        Value::String(s) => {
            used.extend(names_used(s).map(String::from));
            if key == Some("exec") {
                defined.extend(SETTER.captures_iter(s).map(|c| c[1].to_string()));
            }
        }
        Value::Array(items) => {
            if key == Some("variable") {
                defined_in_list(value, defined);
            }
            for item in items {
                walk(item, key, defined, used);
            }
        }
        Value::Object(map) => {
            for (k, v) in map.iter().filter(|(k, _)| *k != "response") {
                walk(v, Some(k), defined, used);
            }
        }
        _ => {}
    }
}

/// The enabled names of a `[{ key, value, disabled }]` list.
fn defined_in_list(list: &Value, defined: &mut Vec<String>) {
    let Value::Array(items) = list else {
        return;
    };
    for item in items {
        let enabled = item.get("disabled") != Some(&Value::Bool(true))
            && item.get("enabled") != Some(&Value::Bool(false));
        let name = item
            .get("key")
            .or_else(|| item.get("id"))
            .and_then(Value::as_str);
        if let Some(name) = name.filter(|n| enabled && !n.is_empty()) {
            defined.push(name.to_string());
        }
    }
}

#[derive(Default)]
struct Importer {
    ctx: Context,
    /// Request files: path relative to the collection folder, entries.
    files: Vec<(PathBuf, Vec<Entry>)>,
    /// The `requests:` list of collection.yaml.
    request_paths: Vec<String>,
    request_names: HashSet<String>,
    requests: usize,
    folders: usize,
    /// Comments for collection.yaml: scripts of the collection and its folders.
    collection_comments: Vec<Vec<String>>,
    notes: Vec<String>,
}

/// What collection.yaml says besides its variables and requests.
struct CollectionHead {
    source: String,
    name: String,
    description: Option<String>,
}

impl Importer {
    /// Converts the collection's variables, scripts and every request. The variables are returned
    /// with the path variables the requests added.
    fn collection(
        &mut self,
        c: &postman::Collection,
        source: &str,
    ) -> Result<(Variables, CollectionHead)> {
        let mut vars = variables::convert(&mut self.ctx.names, &c.variable);
        self.notes
            .extend(variables::notes("collection", COLLECTION_FILE, &vars));
        self.ctx.collection_vars = std::mem::take(&mut vars.values);
        self.ctx.names.collection_defined = self.ctx.collection_vars.keys().cloned().collect();
        self.scripts_of("collection", &c.event);

        let mut root = Unique::default();
        root.reserve(ENVIRONMENTS_DIR);
        let mut files = Unique::default();
        files.reserve("collection");
        self.items(
            &c.item,
            Path::new(""),
            &mut root,
            &mut files,
            c.auth.as_ref(),
        );
        if self.request_paths.is_empty() {
            return Err(Error::ImportEmpty {
                source: source.to_string(),
            });
        }
        vars.values = std::mem::take(&mut self.ctx.collection_vars);
        let head = CollectionHead {
            source: source.to_string(),
            name: c
                .info
                .name
                .clone()
                .unwrap_or_else(|| "Imported from Postman".into()),
            description: c
                .info
                .description
                .as_ref()
                .and_then(|d| d.text())
                .map(String::from),
        };
        Ok((vars, head))
    }

    fn collection_file(
        &mut self,
        head: CollectionHead,
        vars: &Variables,
        undefined: bool,
    ) -> Vec<Entry> {
        let mut entries = vec![
            Entry::Comment(vec![format!(
                "imported from the Postman collection `{}` by `courier import postman`",
                head.source
            )]),
            Entry::Field("name".into(), head.name.into()),
        ];
        if let Some(d) = head.description {
            entries.push(Entry::Field("description".into(), d.into()));
        }
        if !vars.values.is_empty() {
            let values = vars.values.clone().into_iter().collect();
            entries.push(Entry::Field("variables".into(), Value::Object(values)));
        }
        let secrets: Vec<&String> = vars
            .secrets
            .iter()
            .filter(|s| vars.values.contains_key(*s))
            .collect();
        if !secrets.is_empty() {
            entries.push(Entry::Field("secrets".into(), json!(secrets)));
        }
        if undefined {
            entries.push(Entry::Comment(vec![
                "Postman sends a variable nothing defines as the text `{{name}}`; so does this collection.".into(),
                "`undefined: error` makes courier refuse such a run before sending anything.".into(),
            ]));
            entries.push(Entry::Field("undefined".into(), json!("literal")));
        }
        entries.push(Entry::Field(
            "requests".into(),
            std::mem::take(&mut self.request_paths).into(),
        ));
        entries.extend(self.collection_comments.drain(..).map(Entry::Comment));
        entries
    }

    /// Walks folders depth-first, in order; each folder is a directory. `dirs` and `files` keep
    /// names unique within the current directory.
    fn items(
        &mut self,
        items: &[Item],
        dir: &Path,
        dirs: &mut Unique,
        files: &mut Unique,
        auth: Option<&Auth>,
    ) {
        for item in items {
            let label = item.name.as_deref().unwrap_or("").trim();
            if let Some(children) = &item.item {
                let folder_name = if label.is_empty() { "folder" } else { label };
                let sub = dir.join(dirs.claim(&slug(folder_name), "-"));
                let auth = match &item.auth {
                    Some(own) if !own.inherits() => Some(own),
                    _ => auth,
                };
                self.scripts_of(&format!("folder `{folder_name}`"), &item.event);
                let before = self.requests;
                self.items(
                    children,
                    &sub,
                    &mut Unique::default(),
                    &mut Unique::default(),
                    auth,
                );
                if self.requests > before {
                    self.folders += 1;
                }
            } else if let Some(request) = &item.request {
                self.request(item, request, label, dir, files, auth);
            }
        }
    }

    fn request(
        &mut self,
        item: &Item,
        request: &postman::RequestOrUrl,
        label: &str,
        dir: &Path,
        files: &mut Unique,
        auth: Option<&Auth>,
    ) {
        let base = if label.is_empty() {
            "Untitled request"
        } else {
            label
        };
        let name = self.unique_request_name(base);
        match request::convert(&mut self.ctx, &name, item, request, auth) {
            Ok(converted) => {
                let file = format!("{}.yaml", files.claim(&slug(&name), "-"));
                let path = dir.join(file);
                self.request_paths.push(slash_path(&path));
                self.files.push((path, converted.entries));
                self.requests += 1;
                self.notes
                    .extend(converted.notes.into_iter().map(|n| format!("{name}: {n}")));
            }
            Err(reason) => self.notes.push(format!("{name}: {reason}")),
        }
    }

    /// courier selects requests by name, so two may not share one; Postman allows it.
    fn unique_request_name(&mut self, base: &str) -> String {
        let mut name = base.to_string();
        let mut n = 2;
        while self.request_names.contains(&name) {
            name = format!("{base} ({n})");
            n += 1;
        }
        if name != base {
            self.notes.push(format!(
                "{name}: renamed from `{base}`, which an earlier request has (courier needs unique names)"
            ));
        }
        self.request_names.insert(name.clone());
        name
    }

    /// Collection and folder scripts run around every request in Postman; courier has no such
    /// scripts, so they are kept as comments in collection.yaml. A pre-request script that only
    /// sets written values sets them before every request: they become collection variables,
    /// as a request's own would (see [`Importer::pre_request_sets`]).
    fn scripts_of(&mut self, owner: &str, events: &[postman::Event]) {
        for event in events {
            let Some(lines) = event.lines() else {
                continue;
            };
            if event.is("prerequest")
                && let Some(sets) = scripts::pre_request_sets(&lines.join("\n"))
            {
                let names = request::push_pre_sets(&mut self.ctx, owner, sets);
                self.ctx.names.set_before_each.extend(names);
                continue;
            }
            let kind = if event.is("prerequest") {
                "pre-request"
            } else if event.is("test") {
                "test"
            } else {
                continue;
            };
            let mut comment = vec![format!(
                "postman {kind} script of the {owner} (not converted: courier has no collection or folder scripts):"
            )];
            comment.extend(lines.iter().map(|l| format!("  {l}")));
            self.collection_comments.push(comment);
            let set = scripts::names_set(&lines.join("\n"));
            self.ctx.names.set_by_scripts.extend(set);
            self.notes.push(format!(
                "{owner}: {kind} script kept as a comment in {COLLECTION_FILE}"
            ));
        }
    }

    fn environment(
        &mut self,
        path: &Path,
        env: &postman::Environment,
        vars: &Variables,
        slugs: &mut Unique,
    ) -> (PathBuf, Vec<Entry>) {
        let stem = file_name(path);
        let stem = stem
            .trim_end_matches(".json")
            .trim_end_matches(".postman_environment")
            .to_string();
        let name = env
            .name
            .clone()
            .filter(|n| !n.trim().is_empty())
            .unwrap_or(stem);
        let relative =
            Path::new(ENVIRONMENTS_DIR).join(format!("{}.yaml", slugs.claim(&slug(&name), "-")));
        let entries = variables::environment_file(&name, &file_name(path), vars);
        self.notes.extend(variables::notes(
            &format!("environment `{name}`"),
            &slash_path(&relative),
            vars,
        ));
        (relative, entries)
    }

    /// A `vars:` check on a name that a script courier keeps as a comment sets or unsets
    /// cannot know the value Postman would see: it is left out, and listed.
    fn drop_unknowable_var_checks(&mut self) {
        let unknowable: HashSet<String> = {
            let names = &mut self.ctx.names;
            let set: Vec<String> = names.set_by_scripts.iter().cloned().collect();
            set.iter()
                .map(|n| {
                    if n == "*" {
                        n.clone()
                    } else {
                        names.courier(n)
                    }
                })
                .collect()
        };
        if unknowable.is_empty() {
            return;
        }
        for (_, entries) in &mut self.files {
            let name = entries.iter().find_map(|e| match e {
                Entry::Field(key, Value::String(name)) if key == "name" => Some(name.clone()),
                _ => None,
            });
            for entry in entries.iter_mut() {
                let Entry::Field(key, Value::Object(asserts)) = entry else {
                    continue;
                };
                if key != "assert" {
                    continue;
                }
                let Some(Value::Object(vars)) = asserts.get_mut("vars") else {
                    continue;
                };
                let all = unknowable.contains("*");
                let dropped: Vec<String> = vars
                    .keys()
                    .filter(|v| all || unknowable.contains(*v))
                    .cloned()
                    .collect();
                for var in &dropped {
                    vars.remove(var);
                    self.notes.push(format!(
                        "{}: check on variable `{var}` left out: a script courier does not convert sets it",
                        name.as_deref().unwrap_or("a request")
                    ));
                }
                if vars.is_empty() {
                    asserts.remove("vars");
                }
            }
        }
    }

    /// A pre-request script's `pm.environment.set("var", "value")` sets the variable before
    /// the request is sent, for it and every later one. When nothing else defines or captures
    /// the name, a collection variable does the same (the one difference: a request before it
    /// would see the value too, where Postman sends `{{var}}`).
    fn pre_request_sets(&mut self, collection: &mut Variables, environments: &[Variables]) {
        for set in std::mem::take(&mut self.ctx.pre_sets) {
            let (request, name) = (&set.request, &set.var);
            let defined = collection.values.contains_key(name)
                || environments.iter().any(|e| e.values.contains_key(name))
                || set.captured_earlier;
            if defined {
                self.notes.push(format!(
                    "{request}: pre-request script sets `{name}`, which the collection, an environment or an earlier capture also defines: not converted (kept out of the request file)"
                ));
            } else {
                self.notes.push(format!(
                    "{request}: pre-request script sets `{name}` to a written value: it is a collection variable"
                ));
                collection.values.insert(set.var, set.value);
            }
        }
    }

    /// Renames, literal `{{…}}` text, dynamic variables courier lacks, and variables that
    /// nothing defines.
    /// The names requests use that nothing imported defines, or that a request uses before any
    /// request captures them.
    fn undefined(&self, collection: &Variables, environments: &[Variables]) -> Vec<String> {
        self.ctx
            .names
            .used
            .iter()
            .filter(|n| {
                let defined = collection.values.contains_key(*n)
                    || environments.iter().any(|e| e.values.contains_key(*n));
                // A capture defines it only for the requests after the one that captures it.
                let captured_first =
                    self.ctx.captured.contains(*n) && !self.ctx.used_before_capture.contains(*n);
                !defined && !captured_first
            })
            .cloned()
            .collect()
    }

    fn variable_notes(&mut self, collection: &Variables, environments: &[Variables]) {
        let names = &self.ctx.names;
        for (from, to) in &names.renames {
            self.notes.push(format!(
                "variable `{from}` renamed to `{to}` everywhere (courier variable names are letters, digits and `_`)"
            ));
        }
        for text in &names.literal {
            self.notes.push(format!(
                "`{{{{{text}}}}}` is not a variable name and nothing defines it: kept as literal text"
            ));
        }
        for dynamic in &names.unknown_dynamic {
            let why = if dynamic.starts_with("$random") {
                "courier's templates have no random values"
            } else {
                "courier has no equivalent"
            };
            self.notes.push(format!(
                "dynamic variable `{{{{{dynamic}}}}}` kept as literal text: {why}"
            ));
        }
        let undefined = self.undefined(collection, environments);
        if !undefined.is_empty() {
            let scope = if environments.is_empty() {
                "the collection"
            } else {
                "the collection or its environments"
            };
            self.notes.push(format!(
                "variables used but defined nowhere in {scope} (Postman globals, or set by scripts): {}; sent as the text `{{{{name}}}}`, as Newman does (`undefined: literal` in collection.yaml), unless --var NAME=VALUE or an environment file defines them",
                variables::backticked(&undefined)
            ));
        }
    }
}

/// A relative path with `/`, as collection.yaml lists it on every OS.
fn slash_path(path: &Path) -> String {
    path.components()
        .map(|c| c.as_os_str().to_string_lossy())
        .collect::<Vec<_>>()
        .join("/")
}
