//! Postman's old collection format v1 (`requests`, `folders`, `order`), rewritten as the v2.1
//! JSON the rest of the importer reads, as Newman converts it before running it.
//!
//! v1 lists every request flat, by id; `order` and `folders_order` say which requests and
//! folders sit at the top, each folder's `order` and `folders_order` what is inside it. A
//! folder's sub-folders run before its own requests, as Newman runs them. Headers are one
//! `Name: value` line each (`//` disables one), bodies follow `dataMode`, and the scripts are
//! strings. What v1 has beyond that (its `helperAttributes` auth, saved responses) is left out
//! and listed.

use std::collections::HashMap;

use serde_json::{Map, Value, json};

/// Whether `json` is a v1 export: `requests` and `order` at the top, or a v1 schema.
pub(super) fn is_v1(json: &Value) -> bool {
    let schema = json
        .pointer("/info/schema")
        .and_then(Value::as_str)
        .unwrap_or("");
    schema.contains("/collection/v1")
        || (json.get("info").is_none()
            && json.get("requests").is_some_and(Value::is_array)
            && json.get("order").is_some())
}

/// The v2.1 form of a v1 export, and what was left out.
pub(super) fn to_v2(json: &Value) -> (Value, Vec<String>) {
    let requests: HashMap<&str, &Value> = json["requests"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|r| Some((r.get("id")?.as_str()?, r)))
        .collect();
    let folders: HashMap<&str, &Value> = json["folders"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|f| Some((f.get("id")?.as_str()?, f)))
        .collect();
    let mut notes = Vec::new();
    let mut converter = Converter {
        requests: &requests,
        folders: &folders,
        notes: &mut notes,
        depth: 0,
    };
    let item = converter.items(json);
    let mut info = Map::new();
    info.insert("name".into(), json["name"].clone());
    if let Some(description) = json.get("description").filter(|d| !is_blank(d)) {
        info.insert("description".into(), description.clone());
    }
    info.insert(
        "schema".into(),
        "https://schema.getpostman.com/json/collection/v2.1.0/collection.json".into(),
    );
    let mut out = json!({ "info": info, "item": item });
    if let Some(variables) = json.get("variables").and_then(Value::as_array) {
        out["variable"] = Value::Array(variables.clone());
    }
    notes.insert(
        0,
        "the collection is in Postman's old format v1: converted as Newman converts it".into(),
    );
    (out, notes)
}

struct Converter<'a> {
    requests: &'a HashMap<&'a str, &'a Value>,
    folders: &'a HashMap<&'a str, &'a Value>,
    notes: &'a mut Vec<String>,
    /// Folders nest at most as deep as there are folders: a cycle of ids stops there.
    depth: usize,
}

impl Converter<'_> {
    /// The sub-folders of `owner` (`folders_order`), then its requests (`order`).
    fn items(&mut self, owner: &Value) -> Vec<Value> {
        let mut items = Vec::new();
        if self.depth > self.folders.len() {
            return items;
        }
        for id in ids(owner, "folders_order") {
            if let Some(folder) = self.folders.get(id) {
                self.depth += 1;
                let children = self.items(folder);
                self.depth -= 1;
                let mut item = json!({ "name": folder["name"], "item": children });
                if let Some(description) = folder.get("description").filter(|d| !is_blank(d)) {
                    item["description"] = description.clone();
                }
                items.push(item);
            }
        }
        for id in ids(owner, "order") {
            if let Some(request) = self.requests.get(id) {
                items.push(self.request(request));
            }
        }
        items
    }

    fn request(&mut self, r: &Value) -> Value {
        let name = r["name"].as_str().unwrap_or("request");
        let mut request = json!({
            "method": r.get("method").and_then(Value::as_str).unwrap_or("GET"),
            "url": r.get("url").and_then(Value::as_str).unwrap_or(""),
            "header": headers(r.get("headers").and_then(Value::as_str).unwrap_or("")),
        });
        if let Some(body) = body(r) {
            request["body"] = body;
        }
        if r.get("currentHelper")
            .and_then(Value::as_str)
            .is_some_and(|h| !h.is_empty() && h != "normal")
        {
            self.notes.push(format!(
                "{name}: v1 auth helper `{}` not converted",
                r["currentHelper"].as_str().unwrap_or("")
            ));
        }
        let mut item = json!({ "name": name, "request": request });
        if let Some(description) = r.get("description").filter(|d| !is_blank(d)) {
            item["description"] = description.clone();
        }
        let events: Vec<Value> = [("prerequest", "preRequestScript"), ("test", "tests")]
            .into_iter()
            .filter_map(|(listen, key)| {
                let text = r.get(key)?.as_str().filter(|t| !t.trim().is_empty())?;
                let exec: Vec<&str> = text.split('\n').collect();
                Some(json!({ "listen": listen, "script": { "type": "text/javascript", "exec": exec } }))
            })
            .collect();
        if !events.is_empty() {
            item["event"] = Value::Array(events);
        }
        item
    }
}

fn ids<'v>(owner: &'v Value, key: &str) -> impl Iterator<Item = &'v str> {
    owner[key]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
}

fn is_blank(v: &Value) -> bool {
    v.is_null() || v.as_str().is_some_and(|s| s.trim().is_empty())
}

/// `Accept: text/html\n// X-Off: 1\n` as v2 headers; `//` marks a disabled one.
fn headers(text: &str) -> Vec<Value> {
    text.lines()
        .filter(|l| !l.trim().is_empty())
        .filter_map(|line| {
            let (disabled, line) = match line.trim_start().strip_prefix("//") {
                Some(rest) => (true, rest),
                None => (false, line),
            };
            let (key, value) = line.split_once(':')?;
            Some(json!({ "key": key.trim(), "value": value.trim(), "disabled": disabled }))
        })
        .collect()
}

/// The body by `dataMode`: `raw`, `urlencoded`, `params` (form-data); `binary` has no file to
/// read in an export.
fn body(r: &Value) -> Option<Value> {
    let mode = r.get("dataMode").and_then(Value::as_str)?;
    let fields = || {
        r["data"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|f| {
                json!({
                    "key": f["key"],
                    "value": f["value"],
                    "type": f.get("type").cloned().unwrap_or_else(|| "text".into()),
                    "disabled": f.get("enabled").is_some_and(|e| e == false),
                })
            })
            .collect::<Vec<_>>()
    };
    Some(match mode {
        "raw" => json!({ "mode": "raw", "raw": r.get("rawModeData").cloned().unwrap_or_default() }),
        "urlencoded" => json!({ "mode": "urlencoded", "urlencoded": fields() }),
        "params" => json!({ "mode": "formdata", "formdata": fields() }),
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn folders_nest_before_their_requests_and_scripts_become_events() {
        let v1 = json!({
            "id": "c", "name": "Old", "order": ["r0"], "folders_order": ["f1"],
            "folders": [
                { "id": "f1", "name": "F1", "order": ["r1"], "folders_order": ["f2"] },
                { "id": "f2", "name": "F2", "order": ["r2"], "folders_order": [] }
            ],
            "requests": [
                { "id": "r0", "name": "R0", "method": "POST", "url": "https://x/post",
                  "headers": "Accept: text/html\n// X-Off: 1\n", "dataMode": "urlencoded",
                  "data": [{ "key": "a", "value": "1", "type": "text" }],
                  "tests": "tests['ok'] = responseCode.code === 200;\nvar a = 1;" },
                { "id": "r1", "name": "R1", "url": "https://x/1", "preRequestScript": "" },
                { "id": "r2", "name": "R2", "url": "https://x/2", "currentHelper": "digestAuth" }
            ]
        });
        assert!(is_v1(&v1));
        let (v2, notes) = to_v2(&v1);
        let names: Vec<&str> = v2["item"]
            .as_array()
            .unwrap()
            .iter()
            .map(|i| i["name"].as_str().unwrap())
            .collect();
        assert_eq!(names, ["F1", "R0"]);
        assert_eq!(v2["item"][0]["item"][0]["name"], "F2");
        assert_eq!(v2["item"][0]["item"][0]["item"][0]["name"], "R2");
        assert_eq!(v2["item"][0]["item"][1]["name"], "R1");
        let r0 = &v2["item"][1];
        assert_eq!(r0["request"]["header"][1]["disabled"], true);
        assert_eq!(r0["request"]["body"]["urlencoded"][0]["key"], "a");
        assert_eq!(r0["event"][0]["listen"], "test");
        assert_eq!(r0["event"][0]["script"]["exec"][1], "var a = 1;");
        assert!(v2["item"][0]["item"][1].get("event").is_none());
        assert!(
            notes
                .iter()
                .any(|n| n.contains("`digestAuth` not converted"))
        );
    }

    #[test]
    fn a_folder_cycle_stops() {
        let v1 = json!({
            "name": "Loop", "order": [], "folders_order": ["a"], "requests": [],
            "folders": [{ "id": "a", "name": "A", "folders_order": ["a"], "order": [] }]
        });
        let (v2, _) = to_v2(&v1);
        assert_eq!(v2["item"][0]["name"], "A");
    }
}
