//! Reading the exported files: text encodings, JSON, and telling a Postman collection or
//! environment from any other JSON.
//!
//! Postman and the tools around it write UTF-8 (with or without a byte-order mark), and Windows
//! tools (PowerShell's `Out-File`) write UTF-16; all are accepted. Everything else fails with an
//! error that names the file and says what was expected.

use std::path::Path;
use std::sync::Arc;

use serde::de::DeserializeOwned;
use serde_json::Value;

use super::format as postman;
use crate::diag::{Diagnostic, SourceFile, Spot};
use crate::error::{Error, Result};

const COLLECTION: &str = "Postman collection";
const ENVIRONMENT: &str = "Postman environment";

const EXPORT_HELP: &str = "in Postman, open the collection's `…` menu, choose Export, pick \
                           Collection v2.1 and Export; pass that `.json` file";

/// Reads and checks a collection export; a v1 export is converted to v2.1 first, with notes
/// on what that left out.
pub(super) fn read_collection(path: &Path) -> Result<(postman::Collection, Value, Vec<String>)> {
    let (file, json) = read_json(path, COLLECTION)?;
    if super::v1::is_v1(&json) {
        let (json, notes) = super::v1::to_v2(&json);
        let collection = serde_json::from_value(json.clone()).map_err(|e| {
            Diagnostic::new(format!("invalid {COLLECTION} (format v1): {e}"))
                .at(Spot::new(&file, 0..1))
                .label("in this export")
                .help(EXPORT_HELP)
        })?;
        return Ok((collection, json, notes));
    }
    check_collection_shape(&file, &json)?;
    let collection = typed(&file, COLLECTION)?;
    Ok((collection, json, Vec::new()))
}

/// Reads and checks an environment (or globals) export.
pub(super) fn read_environment(path: &Path) -> Result<(postman::Environment, Value)> {
    let (file, json) = read_json(path, ENVIRONMENT)?;
    // Newman also reads the older export that is the bare list of variables.
    if json.is_array() {
        let values = typed(&file, ENVIRONMENT)?;
        return Ok((postman::Environment { name: None, values }, json));
    }
    if !json.get("values").is_some_and(Value::is_array) {
        let is_collection = json.get("info").is_some() && json.get("item").is_some();
        let mut d = not_a(&file, ENVIRONMENT, "has no `values` list");
        d = if is_collection {
            d.note("this file is a Postman collection; pass it as the collection, not with `--environment`")
        } else {
            d.help("in Postman, use Export on the environment; the file has `name` and `values: [{ key, value, enabled }]`")
        };
        return Err(d.into());
    }
    let environment = typed(&file, ENVIRONMENT)?;
    Ok((environment, json))
}

fn read_json(path: &Path, what: &'static str) -> Result<(Arc<SourceFile>, Value)> {
    let bytes = std::fs::read(path).map_err(|source| Error::Read {
        path: path.to_path_buf(),
        source,
        what,
    })?;
    let Some(text) = decode(&bytes) else {
        return Err(Diagnostic::new(format!(
            "not a {what}: `{}` is not UTF-8 or UTF-16 text",
            path.display()
        ))
        .help("export the file from Postman again; it writes UTF-8 JSON")
        .into());
    };
    let file = SourceFile::new(path, text);
    let json = serde_json::from_str(&file.text).map_err(|e| {
        Diagnostic::new(format!(
            "not a {what}: `{}` is not JSON",
            file.path.display()
        ))
        .at(spot(&file, e.line(), e.column()))
        .label("not JSON")
        .note(format!("the JSON reader says: {}", json_reason(&e)))
        .help(if what == COLLECTION {
            EXPORT_HELP
        } else {
            "in Postman, use Export on the environment and pass that `.json` file"
        })
    })?;
    Ok((file, json))
}

/// The text of a file: UTF-8, or UTF-16 with a byte-order mark (or without one, recognised by
/// the NUL byte beside the opening `{`). A UTF-8 byte-order mark is dropped.
pub(super) fn decode(bytes: &[u8]) -> Option<String> {
    let utf16 = |bytes: &[u8], le: bool| {
        if !bytes.len().is_multiple_of(2) {
            return None;
        }
        let units: Vec<u16> = bytes
            .chunks_exact(2)
            .map(|p| {
                if le {
                    u16::from_le_bytes([p[0], p[1]])
                } else {
                    u16::from_be_bytes([p[0], p[1]])
                }
            })
            .collect();
        String::from_utf16(&units).ok()
    };
    match bytes {
        [0xEF, 0xBB, 0xBF, rest @ ..] => String::from_utf8(rest.to_vec()).ok(),
        [0xFF, 0xFE, rest @ ..] => utf16(rest, true),
        [0xFE, 0xFF, rest @ ..] => utf16(rest, false),
        [first, 0, ..] if first.is_ascii() && *first != 0 => utf16(bytes, true),
        [0, second, ..] if second.is_ascii() && *second != 0 => utf16(bytes, false),
        _ => String::from_utf8(bytes.to_vec()).ok(),
    }
}

/// A collection has `info` and `item`; v2.0 and v2.1 name their schema in `info.schema`. A v1
/// export (`requests` and `order` at the top) is refused with the way to get a v2.1 one.
fn check_collection_shape(file: &Arc<SourceFile>, json: &Value) -> Result<()> {
    let info = json.get("info").filter(|i| i.is_object());
    let schema = info.and_then(|i| i.get("schema")).and_then(Value::as_str);
    match schema {
        Some(s) if s.contains("/collection/v2") => Ok(()),
        Some(s) if s.contains("/collection/v1") => Err(not_a(
            file,
            COLLECTION,
            &format!("is in the old format v1 (schema `{s}`)"),
        )
        .help(EXPORT_HELP)
        .into()),
        Some(s) => Err(
            not_a(file, COLLECTION, &format!("has `info.schema` `{s}`"))
                .note("courier imports the collection formats v2.0 and v2.1 (`…/collection/v2.1.0/collection.json`)")
                .help(EXPORT_HELP)
                .into(),
        ),
        // Hand-written and generated collections often leave the schema out, or `info` whole
        // (Newman runs them).
        None if json.get("item").is_some_and(Value::is_array) => Ok(()),
        None if json.get("requests").is_some() && json.get("order").is_some() => Err(not_a(
            file,
            COLLECTION,
            "is in the old format v1 (`requests` and `order`)",
        )
        .help(EXPORT_HELP)
        .into()),
        None if json.get("values").is_some_and(Value::is_array) => Err(not_a(
            file,
            COLLECTION,
            "has no `info.schema` and no `item` list",
        )
        .note("this file is a Postman environment (or globals) export: pass it with `--environment`, and the collection as the first argument")
        .help(EXPORT_HELP)
        .into()),
        None => Err(not_a(
            file,
            COLLECTION,
            "has no `info.schema` and no `item` list",
        )
        .help(EXPORT_HELP)
        .into()),
    }
}

/// `why` goes on from the file's name: "has no `values` list".
fn not_a(file: &Arc<SourceFile>, what: &str, why: &str) -> Diagnostic {
    Diagnostic::new(format!("not a {what}: `{}` {why}", file.path.display()))
        .at(Spot::new(file, 0..1))
        .label(format!("expected a {what} export"))
}

/// The typed reading of a file already known to be JSON of the right kind; a field of the
/// wrong type is pointed at.
fn typed<T: DeserializeOwned>(file: &Arc<SourceFile>, what: &str) -> Result<T> {
    serde_json::from_str(&file.text).map_err(|e| {
        Diagnostic::new(format!("invalid {what}: {}", json_reason(&e)))
            .at(spot(file, e.line(), e.column()))
            .label("unexpected here")
            .help(EXPORT_HELP)
            .into()
    })
}

/// serde_json's message without its " at line L column C", which the snippet shows.
fn json_reason(e: &serde_json::Error) -> String {
    let text = e.to_string();
    match text.rfind(" at line ") {
        Some(i) => text[..i].to_string(),
        None => text,
    }
}

fn spot(file: &Arc<SourceFile>, line: usize, column: usize) -> Spot {
    let line_start: usize = file
        .text
        .split_inclusive('\n')
        .take(line.saturating_sub(1))
        .map(str::len)
        .sum();
    let start = line_start + column.saturating_sub(1);
    Spot::new(file, start..start + 1)
}
