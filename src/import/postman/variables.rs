//! Postman variable lists (collection `variable`, environment `values`) as courier `variables:`
//! and `secrets:`, and environment exports as courier environment files.
//!
//! A value Postman marks `secret` is never written: it becomes `{{ env('COURIER_POSTMAN_NAME') }}`, read
//! from the OS environment when courier runs, and its name is listed under `secrets:`. Names
//! that look like credentials (`api_key`, `token`, `password`) are listed under `secrets:` too,
//! so courier masks them; their values are written as exported, and the import says so.

use indexmap::IndexMap;
use serde_json::Value;

use super::format::KeyValue;
use super::names::{Names, names_used, upper_snake};
use crate::import::yaml::Entry;
use crate::secrets::name_looks_secret;

/// A converted variable list.
#[derive(Debug, Default)]
pub(super) struct Variables {
    /// courier name → value (string values are templates).
    pub values: IndexMap<String, Value>,
    pub secrets: Vec<String>,
    /// (courier name, OS variable) for values marked secret in Postman.
    pub from_os: Vec<(String, String)>,
    /// Names that look secret whose values were written as exported.
    pub written_secrets: Vec<String>,
    /// courier name → the variables its value uses.
    pub uses: IndexMap<String, Vec<String>>,
}

/// Puts `lower` (Postman globals) beneath `upper` (the collection's variables): its names that
/// `upper` defines are dropped, the others come first, so `upper`'s values may use them.
/// Returns how many were added.
pub(super) fn beneath(upper: &mut Variables, lower: Variables) -> usize {
    let Variables {
        values,
        secrets,
        from_os,
        written_secrets,
        uses,
    } = lower;
    let kept: IndexMap<String, Value> = values
        .into_iter()
        .filter(|(name, _)| !upper.values.contains_key(name))
        .collect();
    let added = kept.len();
    let keeps = |name: &String| kept.contains_key(name);
    for name in secrets.into_iter().filter(keeps) {
        push_once(&mut upper.secrets, &name);
    }
    upper
        .from_os
        .extend(from_os.into_iter().filter(|(name, _)| keeps(name)));
    for name in written_secrets.into_iter().filter(keeps) {
        push_once(&mut upper.written_secrets, &name);
    }
    for (name, used) in uses.into_iter().filter(|(name, _)| keeps(name)) {
        upper.uses.insert(name, used);
    }
    let mut values = kept;
    values.extend(std::mem::take(&mut upper.values));
    upper.values = values;
    added
}

/// Converts the enabled entries of a variable list; a name given twice takes the last value, as
/// in Postman.
pub(super) fn convert(names: &mut Names, list: &[KeyValue]) -> Variables {
    let mut out = Variables::default();
    for entry in list.iter().filter(|v| v.is_enabled()) {
        let Some(postman_name) = entry.name().filter(|n| !n.is_empty()) else {
            continue;
        };
        let name = names.courier(postman_name);
        let value = if entry.kind.as_deref() == Some("secret") {
            // `COURIER_*`: the prefix a collection may read without a grant (see `EnvGrants`).
            let os = format!("COURIER_POSTMAN_{}", upper_snake(postman_name));
            out.from_os.retain(|(n, _)| *n != name);
            out.from_os.push((name.clone(), os.clone()));
            push_once(&mut out.secrets, &name);
            out.uses.shift_remove(&name);
            Value::String(format!("{{{{ env('{os}') }}}}"))
        } else {
            if name_looks_secret(&name) {
                push_once(&mut out.secrets, &name);
                // A value that only refers to other variables puts no secret on disk.
                let literal = match &entry.value {
                    Some(Value::String(s)) => !s.is_empty() && !s.contains("{{"),
                    Some(Value::Null) | None => false,
                    Some(_) => true,
                };
                if literal {
                    push_once(&mut out.written_secrets, &name);
                }
            }
            match &entry.value {
                Some(Value::String(s)) => {
                    let used: Vec<&str> = names_used(s).filter(|n| names.is_variable(n)).collect();
                    let used = used.into_iter().map(|n| names.courier(n)).collect();
                    out.uses.insert(name.clone(), used);
                    Value::String(names.template(s))
                }
                Some(Value::Null) | None => Value::String(String::new()),
                Some(other) => other.clone(),
            }
        };
        // Postman takes the last value; courier keeps the position of the first.
        out.values.insert(name, value);
    }
    out
}

/// Postman resolves a variable when a request uses it, so a collection variable may use one that
/// only the environment defines (`api_url: "{{base_url}}/v1"`). courier renders the collection's
/// variables first, each seeing only those above it; such a variable is moved to the end of
/// every environment file, where everything it uses is defined. Returns the report's lines.
pub(super) fn settle_order(
    collection: &mut Variables,
    environments: &mut [Variables],
) -> Vec<String> {
    let mut notes = Vec::new();
    let mut above: Vec<String> = Vec::new();
    let mut moved: Vec<String> = Vec::new();
    for name in collection.values.keys() {
        let uses = collection
            .uses
            .get(name)
            .map(Vec::as_slice)
            .unwrap_or_default();
        let missing: Vec<String> = uses
            .iter()
            .filter(|u| !above.contains(u))
            .cloned()
            .collect();
        if missing.is_empty() {
            above.push(name.clone());
            continue;
        }
        let every_environment_defines = !environments.is_empty()
            && environments.iter().all(|env| {
                missing
                    .iter()
                    .all(|m| env.values.contains_key(m) || moved.contains(m))
            });
        if every_environment_defines {
            notes.push(format!(
                "collection: `{name}` uses {}, which the environments define: moved to the end of each environment file (courier renders the collection's variables before the environment's)",
                backticked(&missing)
            ));
            moved.push(name.clone());
        } else {
            notes.push(format!(
                "collection: `{name}` uses {}, not defined above it; courier renders variables once when the run starts, collection first, each in order, so define {} above it or in an environment",
                backticked(&missing),
                if missing.len() == 1 { "that variable" } else { "those variables" },
            ));
            above.push(name.clone());
        }
    }
    for name in &moved {
        let Some(value) = collection.values.shift_remove(name) else {
            continue;
        };
        for env in environments.iter_mut() {
            if !env.values.contains_key(name) {
                env.values.insert(name.clone(), value.clone());
            }
            if collection.secrets.contains(name) {
                push_once(&mut env.secrets, name);
            }
        }
    }
    for env in environments.iter() {
        notes.extend(forward_references(env));
    }
    notes
}

/// Environment variables that use one defined below them.
fn forward_references(env: &Variables) -> Vec<String> {
    let mut above: Vec<&String> = Vec::new();
    let mut notes = Vec::new();
    for name in env.values.keys() {
        let missing: Vec<String> = env
            .uses
            .get(name)
            .into_iter()
            .flatten()
            .filter(|u| env.values.contains_key(*u) && !above.contains(u))
            .cloned()
            .collect();
        if !missing.is_empty() {
            notes.push(format!(
                "environment variable `{name}` uses {}, defined below it: courier renders variables in order, so move {} above it",
                backticked(&missing),
                if missing.len() == 1 { "that definition" } else { "those definitions" },
            ));
        }
        above.push(name);
    }
    notes
}

fn push_once(list: &mut Vec<String>, name: &str) {
    if !list.iter().any(|n| n == name) {
        list.push(name.to_string());
    }
}

/// The entries of an environment file.
pub(super) fn environment_file(name: &str, source: &str, vars: &Variables) -> Vec<Entry> {
    let mut entries = vec![
        Entry::Comment(vec![format!(
            "imported from the Postman environment `{source}` by `courier import postman`"
        )]),
        Entry::Field("name".into(), name.into()),
    ];
    if !vars.values.is_empty() {
        entries.push(Entry::Field(
            "variables".into(),
            Value::Object(vars.values.clone().into_iter().collect()),
        ));
    }
    if !vars.secrets.is_empty() {
        entries.push(Entry::Field("secrets".into(), vars.secrets.clone().into()));
    }
    entries
}

/// Lines for the report about one variable list (`owner`: "environment `Prod`").
pub(super) fn notes(owner: &str, file: &str, vars: &Variables) -> Vec<String> {
    let mut notes = Vec::new();
    if !vars.from_os.is_empty() {
        let list: Vec<String> = vars
            .from_os
            .iter()
            .map(|(name, os)| format!("`{name}` from {os}"))
            .collect();
        notes.push(format!(
            "{owner}: secret values not written; they are read from the OS environment: {}",
            list.join(", ")
        ));
    }
    if !vars.written_secrets.is_empty() {
        notes.push(format!(
            "{owner}: {} look{} secret and {} listed under `secrets:` (masked in output), but the exported value{} written to {file}; replace with \"{{{{ env('NAME') }}}}\" to keep {} off disk",
            backticked(&vars.written_secrets),
            if vars.written_secrets.len() == 1 { "s" } else { "" },
            if vars.written_secrets.len() == 1 { "is" } else { "are" },
            if vars.written_secrets.len() == 1 { " is" } else { "s are" },
            if vars.written_secrets.len() == 1 { "it" } else { "them" },
        ));
    }
    notes
}

pub(super) fn backticked(names: &[String]) -> String {
    names
        .iter()
        .map(|n| format!("`{n}`"))
        .collect::<Vec<_>>()
        .join(", ")
}
