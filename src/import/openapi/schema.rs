//! An OpenAPI description's schemas as JSON Schema 2020-12, and examples made from them.
//!
//! OpenAPI 3.1 schemas are JSON Schema 2020-12 already. OpenAPI 3.0 schemas are a dialect of
//! draft-04: `nullable: true` and boolean `exclusiveMinimum`/`exclusiveMaximum` are rewritten to
//! what 2020-12 says for them. A `$ref` into the description's `components` stays a `$ref`: the
//! schemas are written into one file, `schemas/openapi.json`, whose `components` keep the shape
//! the references expect. A `$ref` to another file is not followed: it becomes `{}`, which
//! accepts anything, and the import says so.

use serde_json::{Map, Value, json};

/// The keywords whose value is one schema.
const ONE: [&str; 9] = [
    "not",
    "items",
    "additionalProperties",
    "contains",
    "if",
    "then",
    "else",
    "propertyNames",
    "unevaluatedProperties",
];
/// The keywords whose value is a list of schemas.
const LIST: [&str; 4] = ["allOf", "anyOf", "oneOf", "prefixItems"];
/// The keywords whose value maps names to schemas.
const MAP: [&str; 5] = [
    "properties",
    "patternProperties",
    "$defs",
    "definitions",
    "dependentSchemas",
];

/// Rewrites `schema` in place into JSON Schema 2020-12; `v30` for an OpenAPI 3.0 dialect.
/// Returns how many external `$ref`s were replaced by `{}`.
pub(super) fn to_json_schema(schema: &mut Value, v30: bool) -> usize {
    let Value::Object(map) = schema else {
        return 0;
    };
    if let Some(Value::String(target)) = map.get("$ref")
        && !target.starts_with('#')
    {
        *schema = json!({});
        return 1;
    }
    if v30 {
        exclusive_bounds(map);
        if map.remove("nullable") == Some(Value::Bool(true)) {
            nullable(schema);
        }
    }
    let Value::Object(map) = schema else {
        return 0;
    };
    let mut external = 0;
    for key in ONE {
        if let Some(sub) = map.get_mut(key) {
            external += to_json_schema(sub, v30);
        }
    }
    for key in LIST {
        if let Some(Value::Array(items)) = map.get_mut(key) {
            external += items
                .iter_mut()
                .map(|s| to_json_schema(s, v30))
                .sum::<usize>();
        }
    }
    for key in MAP {
        if let Some(Value::Object(subs)) = map.get_mut(key) {
            external += subs
                .values_mut()
                .map(|s| to_json_schema(s, v30))
                .sum::<usize>();
        }
    }
    external
}

/// Draft-04's `exclusiveMinimum: true` beside `minimum: 1` is 2020-12's `exclusiveMinimum: 1`.
fn exclusive_bounds(map: &mut Map<String, Value>) {
    for (exclusive, bound) in [
        ("exclusiveMinimum", "minimum"),
        ("exclusiveMaximum", "maximum"),
    ] {
        match map.get(exclusive) {
            Some(Value::Bool(true)) => {
                match map.remove(bound) {
                    Some(limit) => map.insert(exclusive.into(), limit),
                    None => map.remove(exclusive),
                };
            }
            Some(Value::Bool(false)) => {
                map.remove(exclusive);
            }
            _ => {}
        }
    }
}

/// `nullable: true`: `null` is valid too.
fn nullable(schema: &mut Value) {
    let Value::Object(map) = schema else { return };
    if let Some(Value::Array(values)) = map.get_mut("enum")
        && !values.contains(&Value::Null)
    {
        values.push(Value::Null);
    }
    match map.get_mut("type") {
        Some(Value::String(one)) => {
            let one = std::mem::take(one);
            map.insert("type".into(), json!([one, "null"]));
        }
        Some(Value::Array(types)) => {
            if !types.contains(&json!("null")) {
                types.push(json!("null"));
            }
        }
        _ => {
            let inner = std::mem::take(schema);
            *schema = json!({ "anyOf": [inner, { "type": "null" }] });
        }
    }
}

/// A value `schema` accepts, for a request body or a parameter without an example: the
/// schema's own `example`, `default`, `const` or first `enum` value where it has one, else the
/// required properties of an object, each made the same way, and an empty value of each type.
/// `resolve` follows a `$ref`; `depth` stops a recursive schema.
pub(super) fn example_of(
    schema: &Value,
    resolve: &dyn Fn(&str) -> Option<Value>,
    depth: usize,
) -> Value {
    if depth > 8 {
        return Value::Null;
    }
    if let Some(Value::String(target)) = schema.get("$ref") {
        return resolve(target).map_or(Value::Null, |s| example_of(&s, resolve, depth + 1));
    }
    for key in ["example", "default", "const"] {
        if let Some(value) = schema.get(key) {
            return value.clone();
        }
    }
    if let Some(Value::Array(values)) = schema.get("enum")
        && let Some(first) = values.first()
    {
        return first.clone();
    }
    if let Some(Value::Array(options)) = schema.get("allOf") {
        let mut merged = Map::new();
        for part in options {
            if let Value::Object(fields) = example_of(part, resolve, depth + 1) {
                merged.extend(fields);
            }
        }
        return Value::Object(merged);
    }
    for key in ["oneOf", "anyOf"] {
        if let Some(Value::Array(options)) = schema.get(key)
            && let Some(first) = options.first()
        {
            return example_of(first, resolve, depth + 1);
        }
    }
    let kind = match schema.get("type") {
        Some(Value::Array(types)) => types.iter().find(|t| *t != "null").cloned(),
        other => other.cloned(),
    };
    match kind.as_ref().and_then(Value::as_str) {
        Some("string") => json!(""),
        Some("integer" | "number") => json!(0),
        Some("boolean") => json!(false),
        Some("array") => json!([]),
        Some("object") | None if schema.get("properties").is_some() => {
            object_example(schema, resolve, depth)
        }
        Some("object") => json!({}),
        _ => Value::Null,
    }
}

fn object_example(schema: &Value, resolve: &dyn Fn(&str) -> Option<Value>, depth: usize) -> Value {
    let required: Vec<&str> = schema
        .get("required")
        .and_then(Value::as_array)
        .map(|r| r.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    let mut out = Map::new();
    if let Some(Value::Object(properties)) = schema.get("properties") {
        for (name, property) in properties {
            if required.contains(&name.as_str()) {
                out.insert(name.clone(), example_of(property, resolve, depth + 1));
            }
        }
    }
    Value::Object(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn converted(mut schema: Value) -> Value {
        to_json_schema(&mut schema, true);
        schema
    }

    #[test]
    fn nullable_and_boolean_bounds_become_2020_12() {
        assert_eq!(
            converted(json!({"type": "string", "nullable": true})),
            json!({"type": ["string", "null"]})
        );
        assert_eq!(
            converted(json!({"enum": ["a"], "nullable": true})),
            json!({"anyOf": [{"enum": ["a", null]}, {"type": "null"}]})
        );
        assert_eq!(
            converted(
                json!({"type": "integer", "minimum": 1, "exclusiveMinimum": true, "maximum": 9, "exclusiveMaximum": false})
            ),
            json!({"type": "integer", "exclusiveMinimum": 1, "maximum": 9})
        );
        assert_eq!(
            converted(
                json!({"properties": {"a": {"type": "integer", "nullable": true}}, "items": {"nullable": false}})
            ),
            json!({"properties": {"a": {"type": ["integer", "null"]}}, "items": {}})
        );
    }

    #[test]
    fn an_external_ref_accepts_anything_and_is_counted() {
        let mut schema = json!({"properties": {"a": {"$ref": "other.yaml#/A"}, "b": {"$ref": "#/components/schemas/B"}}});
        assert_eq!(to_json_schema(&mut schema, false), 1);
        assert_eq!(
            schema,
            json!({"properties": {"a": {}, "b": {"$ref": "#/components/schemas/B"}}})
        );
    }

    #[test]
    fn examples_come_from_the_schema() {
        let user = json!({"type": "object", "required": ["id"], "properties": {"id": {"type": "integer"}, "name": {"type": "string"}}});
        let resolve = |target: &str| (target == "#/U").then(|| user.clone());
        let body = json!({"type": "object", "required": ["user", "mode", "tags"], "properties": {
            "user": {"$ref": "#/U"}, "mode": {"enum": ["fast", "slow"]}, "tags": {"type": "array"}, "skip": {"type": "string"}
        }});
        assert_eq!(
            example_of(&body, &resolve, 0),
            json!({"user": {"id": 0}, "mode": "fast", "tags": []})
        );
        let looping = |_: &str| Some(json!({"$ref": "#/self"}));
        assert_eq!(
            example_of(&json!({"$ref": "#/self"}), &looping, 0),
            Value::Null
        );
    }
}
