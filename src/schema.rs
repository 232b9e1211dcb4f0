//! JSON Schemas of courier's three kinds of file (collection, request, environment), for editors,
//! as committed under `schema/`. The model derives the files' shape (`crate::model::schema`);
//! the maps of assertion predicates come from `crate::assert`, the one list of the predicates
//! there are, so a predicate added there shows up here.

use serde_json::{Map, Value, json};

use crate::assert::{BODY_PREDICATES, HEADER_PREDICATES, JSON_PREDICATES, PredicateDoc};
pub use crate::model::schema::FileKind;
use crate::model::schema::{PREDICATES_MARKER, derived};

/// The draft-07 schema of one kind of file.
pub fn schema(kind: FileKind) -> Value {
    let mut schema = derived(kind);
    put_predicates(&mut schema);
    schema
}

/// Replaces each stand-in for a map of predicates with the predicates of its target.
fn put_predicates(value: &mut Value) {
    match value {
        Value::Object(map) => {
            if let Some(target) = map.get(PREDICATES_MARKER).and_then(Value::as_str) {
                let predicates: &[PredicateDoc] = match target {
                    "header" => &HEADER_PREDICATES,
                    "body" => &BODY_PREDICATES,
                    _ => &JSON_PREDICATES,
                };
                let description = map.get("description").and_then(Value::as_str).unwrap_or("");
                let node = target == "json-node";
                *value = predicate_map(predicates, description);
                if node {
                    // A node of the answer may also be checked against a JSON Schema.
                    value["properties"]["schema"] = crate::model::schema::schema_operand();
                }
                return;
            }
            map.values_mut().for_each(put_predicates);
        }
        Value::Array(items) => items.iter_mut().for_each(put_predicates),
        _ => {}
    }
}

/// Every schema with the name of its file under `schema/`.
pub fn all() -> Vec<(FileKind, &'static str, Value)> {
    FileKind::ALL
        .into_iter()
        .map(|kind| (kind, kind.file_name(), schema(kind)))
        .collect()
}

/// The text of a schema file as committed: pretty-printed JSON with a trailing newline.
pub fn to_file_text(schema: &Value) -> String {
    let mut text = serde_json::to_string_pretty(schema).expect("a JSON value always serializes");
    text.push('\n');
    text
}

/// A map of predicates: courier refuses unknown names and an empty map.
fn predicate_map(predicates: &[PredicateDoc], description: &str) -> Value {
    let properties: Map<String, Value> = predicates
        .iter()
        .map(|p| {
            let mut operand = (p.operand)();
            operand["description"] = p.description.into();
            (p.name.to_string(), operand)
        })
        .collect();
    json!({
        "type": "object",
        "description": description,
        "properties": properties,
        "additionalProperties": false,
        "minProperties": 1
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::schema::DRAFT_07;

    fn names(predicates: &[PredicateDoc]) -> Vec<&'static str> {
        predicates.iter().map(|p| p.name).collect()
    }

    /// A valid operand for each predicate, to ask courier's own parser which names it accepts.
    fn sample_operand(name: &str) -> Value {
        match name {
            "exists" | "truthy" => json!(true),
            "type" => json!("string"),
            "gt" | "gte" | "lt" | "lte" | "length" => json!(1),
            _ => json!("a"),
        }
    }

    #[test]
    fn predicate_lists_match_what_courier_accepts() {
        use crate::assert::{
            parse_body_predicates, parse_header_predicates, parse_json_predicates,
        };
        type Parser = fn(&Value) -> Result<Vec<crate::assert::Predicate>, crate::assert::SpecError>;
        let targets: [(&str, &[PredicateDoc], Parser); 3] = [
            ("json", &JSON_PREDICATES, parse_json_predicates),
            ("header", &HEADER_PREDICATES, parse_header_predicates),
            ("body", &BODY_PREDICATES, parse_body_predicates),
        ];
        for (target, listed, parse) in targets {
            // Every JSON predicate name, plus one courier has never heard of.
            for name in names(&JSON_PREDICATES).into_iter().chain(["equal"]) {
                let accepted = parse(&json!({ name: sample_operand(name) })).is_ok();
                assert_eq!(
                    accepted,
                    names(listed).contains(&name),
                    "courier {} `{name}` on {target}, the schema disagrees",
                    if accepted { "accepts" } else { "refuses" }
                );
            }
        }
    }

    #[test]
    fn predicate_operands_that_courier_accepts_are_valid() {
        let schema = predicate_map(&JSON_PREDICATES, "");
        for p in &JSON_PREDICATES {
            let operand = sample_operand(p.name);
            crate::assert::parse_json_predicates(&json!({ p.name: operand })).unwrap();
            let validator = compile(&schema);
            assert!(
                validator.is_valid(&json!({ p.name: operand })),
                "`{}: {operand}`",
                p.name
            );
        }
    }

    #[test]
    fn every_schema_is_draft_07_with_a_title() {
        for (kind, file_name, schema) in all() {
            assert_eq!(schema["$schema"], DRAFT_07, "{file_name}");
            assert_eq!(schema["title"], kind.title());
            assert_eq!(schema["additionalProperties"], false, "{file_name}");
            // Draft-07 keeps shared parts under `definitions`; `$defs` is 2019-09 and later.
            assert!(schema.get("$defs").is_none(), "{file_name}");
            compile(&schema);
        }
    }

    #[test]
    fn methods_match_in_any_case() {
        let validator = compile(&schema(FileKind::Request));
        let request = |method: &str| json!({ "name": "a", "method": method, "url": "u" });
        for method in ["GET", "post", "Patch", "oPtIoNs"] {
            assert!(validator.is_valid(&request(method)), "{method}");
        }
        for method in ["PSOT", "GETS", "", "CONNECT"] {
            assert!(!validator.is_valid(&request(method)), "{method}");
        }
    }

    #[test]
    fn at_most_one_body() {
        let validator = compile(&schema(FileKind::Request));
        let mut request = json!({ "name": "a", "method": "POST", "url": "u", "form": { "a": 1 } });
        assert!(validator.is_valid(&request));
        request["json"] = json!({ "a": 1 });
        assert!(!validator.is_valid(&request));
    }

    #[test]
    fn statuses() {
        let validator = compile(&schema(FileKind::Request));
        let request = |status: Value| json!({ "name": "a", "method": "GET", "url": "u", "assert": { "status": status } });
        for good in [
            json!(200),
            json!("2xx"),
            json!("5XX"),
            json!("404"),
            json!([200, "3xx"]),
        ] {
            assert!(validator.is_valid(&request(good.clone())), "{good}");
            crate::assert::StatusSpec::parse(&good).unwrap();
        }
        for bad in [
            json!(99),
            json!("6xx"),
            json!("2x"),
            json!([]),
            json!(true),
            json!("099"),
        ] {
            assert!(!validator.is_valid(&request(bad.clone())), "{bad}");
            crate::assert::StatusSpec::parse(&bad).unwrap_err();
        }
    }

    /// A compiled schema, checked against the draft-07 meta-schema on the way.
    struct Validator {
        schemas: boon::Schemas,
        index: boon::SchemaIndex,
    }

    impl Validator {
        fn is_valid(&self, instance: &Value) -> bool {
            self.schemas.validate(instance, self.index).is_ok()
        }
    }

    fn compile(schema: &Value) -> Validator {
        let mut schemas = boon::Schemas::new();
        let mut compiler = boon::Compiler::new();
        let url = "urn:courier:test";
        compiler.add_resource(url, schema.clone()).unwrap();
        let index = compiler
            .compile(url, &mut schemas)
            .unwrap_or_else(|e| panic!("{e:#}"));
        Validator { schemas, index }
    }
}
