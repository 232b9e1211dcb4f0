//! `schema:` checks: a JSON value against a compiled JSON Schema.
//!
//! Compiling (reading the schema's files, resolving `$ref`s) is the model's business; this module
//! holds the result and turns a validation into an [`Outcome`] that names, for each failure, where
//! in the answer it is, which keyword of the schema refused it and where that keyword is.

use std::fmt::Write as _;
use std::sync::{Arc, OnceLock};

use serde_json::Value;

use super::Outcome;

/// How many failures one outcome lists; a wrong answer can break hundreds of rules at once.
const LISTED: usize = 5;

/// The schemas of one load, compiled together (a document many of them `$ref` is read and
/// compiled once) and set once the load is done.
pub type SharedSchemas = Arc<OnceLock<boon::Schemas>>;

/// A compiled JSON Schema and the name it is shown by.
pub struct JsonSchema {
    shared: SharedSchemas,
    index: boon::SchemaIndex,
    /// How the user wrote it: `schemas/token.json`, or `the inline schema at r.yaml:12`.
    name: String,
    /// Absolute URL prefixes and the short text each stands for in messages, longest first, so
    /// `file:///home/ci/collections/zoom/schemas/token.json#/type` reads `schemas/token.json#/type`.
    short_urls: Vec<(String, String)>,
}

impl std::fmt::Debug for JsonSchema {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("JsonSchema")
            .field("name", &self.name)
            .finish_non_exhaustive()
    }
}

impl JsonSchema {
    /// `index` must be compiled into the schemas `shared` is set to.
    pub fn new(
        shared: SharedSchemas,
        index: boon::SchemaIndex,
        name: String,
        mut short_urls: Vec<(String, String)>,
    ) -> JsonSchema {
        short_urls.sort_by_key(|(long, _)| std::cmp::Reverse(long.len()));
        JsonSchema {
            shared,
            index,
            name,
            short_urls,
        }
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    fn schemas(&self) -> &boon::Schemas {
        let schemas = self
            .shared
            .get()
            .expect("a schema is checked only once its load is done");
        assert!(schemas.contains(self.index), "compiled with its load");
        schemas
    }

    /// True when `instance` is valid; cheaper than [`JsonSchema::check`] when nothing is shown.
    pub fn holds(&self, instance: &Value) -> bool {
        self.schemas().validate(instance, self.index).is_ok()
    }

    /// Validates `instance`; a failed outcome lists the first failures, deepest first.
    pub fn check(&self, instance: &Value) -> Outcome {
        let expected = format!("valid against {}", self.name);
        let actual = match self.schemas().validate(instance, self.index) {
            Ok(()) => "valid".to_owned(),
            Err(error) => self.describe(&error),
        };
        Outcome {
            passed: actual == "valid",
            predicate: "schema".into(),
            expected,
            actual,
            diff: None,
        }
    }

    fn describe(&self, error: &boon::ValidationError<'_, '_>) -> String {
        let mut leaves = Vec::new();
        collect_leaves(error, &mut leaves);
        let mut text = String::new();
        for (i, leaf) in leaves.iter().take(LISTED).enumerate() {
            if i > 0 {
                text.push_str("; ");
            }
            let at = leaf.instance_location.to_string();
            let at = if at.is_empty() { "the root" } else { &at };
            let (keyword, location) = match leaf.kind.keyword_path() {
                Some(path) => (path.keyword, format!("{}/{path}", leaf.schema_url)),
                None => ("schema", leaf.schema_url.to_owned()),
            };
            let _ = write!(
                text,
                "at `{at}`: {} (`{keyword}` at {})",
                leaf.kind,
                self.short(&location),
            );
        }
        if leaves.len() > LISTED {
            let _ = write!(text, "; and {} more", leaves.len() - LISTED);
        }
        text
    }

    fn short(&self, url: &str) -> String {
        for (long, short) in &self.short_urls {
            if let Some(rest) = url.strip_prefix(long.as_str()) {
                return format!("{short}{rest}");
            }
        }
        url.to_owned()
    }
}

/// The errors that say what is wrong, rather than that something below them is.
fn collect_leaves<'e, 's, 'v>(
    error: &'e boon::ValidationError<'s, 'v>,
    out: &mut Vec<&'e boon::ValidationError<'s, 'v>>,
) {
    if error.causes.is_empty() {
        out.push(error);
    } else {
        for cause in &error.causes {
            collect_leaves(cause, out);
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn compile(schema: Value) -> JsonSchema {
        let mut schemas = boon::Schemas::new();
        let mut compiler = boon::Compiler::new();
        let url = "file:///c/schemas/t.json";
        compiler.add_resource(url, schema).unwrap();
        let index = compiler.compile(url, &mut schemas).unwrap();
        let short = vec![("file:///c/".to_owned(), String::new())];
        let shared = SharedSchemas::default();
        assert!(shared.set(schemas).is_ok());
        JsonSchema::new(shared, index, "schemas/t.json".into(), short)
    }

    #[test]
    fn a_failure_names_the_instance_path_keyword_and_location() {
        let schema = compile(json!({
            "type": "object",
            "required": ["access_token"],
            "properties": { "expires_in": { "type": "integer" } }
        }));
        let outcome = schema.check(&json!({"expires_in": "3599"}));
        assert!(!outcome.passed);
        assert_eq!(outcome.expected, "valid against schemas/t.json");
        assert!(
            outcome.actual.contains(
                "at `/expires_in`: want integer, but got string (`type` at schemas/t.json#/properties/expires_in/type)"
            ),
            "{}",
            outcome.actual
        );
        assert!(
            outcome
                .actual
                .contains("at `the root`: missing properties 'access_token' (`required`"),
            "{}",
            outcome.actual
        );
        assert!(
            schema
                .check(&json!({"access_token": "a", "expires_in": 1}))
                .passed
        );
        assert!(!schema.holds(&json!([])));
    }

    #[test]
    fn many_failures_are_counted_past_the_first_five() {
        let schema = compile(json!({ "type": "array", "items": { "type": "string" } }));
        let outcome = schema.check(&json!([1, 2, 3, 4, 5, 6, 7]));
        assert!(
            outcome.actual.ends_with("; and 2 more"),
            "{}",
            outcome.actual
        );
        assert_eq!(outcome.actual.matches("want string").count(), 5);
    }
}
