//! Compiling what the user wrote for one checked value into [`Predicate`]s.
//!
//! JSON values, headers and the body accept different sets of predicates; each set has its own
//! entry point so the errors can list exactly what is valid where.

use std::fmt;

use regex::Regex;
use serde_json::{Number, Value, json};

use super::{SpecError, closest, describe_backticked};

/// A compiled check on one value.
#[derive(Debug, Clone)]
pub enum Predicate {
    Equals(Value),
    NotEquals(Value),
    Exists(bool),
    Type(JsonType),
    Matches(Regex),
    Contains(Value),
    StartsWith(String),
    Gt(Number),
    Gte(Number),
    Lt(Number),
    Lte(Number),
    Length(u64),
    /// JavaScript's `==`, for checks imported from Postman scripts: `"1"` loosely equals `1`.
    LooselyEquals(Value),
    /// JavaScript's truthiness: not `false`, `0`, `""`, `null` or missing.
    Truthy(bool),
}

impl Predicate {
    /// The name the user writes for this predicate, as in `{ gt: 0 }`.
    pub fn name(&self) -> &'static str {
        match self {
            Predicate::Equals(_) => "equals",
            Predicate::NotEquals(_) => "not_equals",
            Predicate::Exists(_) => "exists",
            Predicate::Type(_) => "type",
            Predicate::Matches(_) => "matches",
            Predicate::Contains(_) => "contains",
            Predicate::StartsWith(_) => "starts_with",
            Predicate::Gt(_) => "gt",
            Predicate::Gte(_) => "gte",
            Predicate::Lt(_) => "lt",
            Predicate::Lte(_) => "lte",
            Predicate::Length(_) => "length",
            Predicate::LooselyEquals(_) => "loosely_equals",
            Predicate::Truthy(_) => "truthy",
        }
    }
}

/// The types a `type:` predicate can ask for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JsonType {
    String,
    Number,
    /// A number with no fractional part; `3.0` counts, since JSON does not tell them apart.
    Integer,
    Boolean,
    Array,
    Object,
    Null,
}

impl JsonType {
    const NAMES: [&'static str; 7] = [
        "string", "number", "integer", "boolean", "array", "object", "null",
    ];

    fn parse(name: &str) -> Option<JsonType> {
        Some(match name {
            "string" => JsonType::String,
            "number" => JsonType::Number,
            "integer" => JsonType::Integer,
            "boolean" => JsonType::Boolean,
            "array" => JsonType::Array,
            "object" => JsonType::Object,
            "null" => JsonType::Null,
            _ => return None,
        })
    }

    /// The JSON kind of a value. Never `Integer`: that is a refinement a check asks about, not a
    /// kind of its own.
    pub fn kind_of(v: &Value) -> JsonType {
        match v {
            Value::Null => JsonType::Null,
            Value::Bool(_) => JsonType::Boolean,
            Value::Number(_) => JsonType::Number,
            Value::String(_) => JsonType::String,
            Value::Array(_) => JsonType::Array,
            Value::Object(_) => JsonType::Object,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            JsonType::String => "string",
            JsonType::Number => "number",
            JsonType::Integer => "integer",
            JsonType::Boolean => "boolean",
            JsonType::Array => "array",
            JsonType::Object => "object",
            JsonType::Null => "null",
        }
    }
}

impl fmt::Display for JsonType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

// ---------------------------------------------------------------------------
// The predicates there are. Adding one: a line here, its variant and its case in `parse_one`,
// and its check in `check.rs`.

/// A predicate as the user writes it: its name, the JSON Schema of its operand, and what it
/// checks (the hover text editors show, from `crate::schema`).
pub struct PredicateDoc {
    pub name: &'static str,
    pub operand: fn() -> Value,
    pub description: &'static str,
}

/// Scalars compared as their text (header and body checks).
const SCALAR: [&str; 3] = ["string", "number", "boolean"];

fn any_value() -> Value {
    json!({})
}
fn string() -> Value {
    json!({ "type": "string" })
}
fn scalar() -> Value {
    json!({ "type": SCALAR })
}
fn boolean() -> Value {
    json!({ "type": "boolean" })
}
fn number() -> Value {
    json!({ "type": "number" })
}
fn length() -> Value {
    json!({ "type": "integer", "minimum": 0 })
}
fn type_name() -> Value {
    json!({ "enum": ["string", "number", "integer", "boolean", "array", "object", "null"] })
}

const EQUALS: PredicateDoc = PredicateDoc {
    name: "equals",
    operand: any_value,
    description: "Equals this value; numbers compare by value (`1` equals `1.0`) and objects and arrays in full. `{ equals: { a: 1 } }` compares with an object.",
};
const NOT_EQUALS: PredicateDoc = PredicateDoc {
    name: "not_equals",
    operand: any_value,
    description: "Differs from this value: `{ not_equals: \"\" }`.",
};
const EXISTS: PredicateDoc = PredicateDoc {
    name: "exists",
    operand: boolean,
    description: "`true`: the path matches something; `false`: it matches nothing.",
};
const TYPE: PredicateDoc = PredicateDoc {
    name: "type",
    operand: type_name,
    description: "Is of this JSON type; `integer` is a number with no fractional part.",
};
const MATCHES: PredicateDoc = PredicateDoc {
    name: "matches",
    operand: string,
    description: "A string matching this regular expression (Rust `regex` syntax: no look-around or backreferences), anywhere unless anchored with `^…$`.",
};
const CONTAINS: PredicateDoc = PredicateDoc {
    name: "contains",
    operand: any_value,
    description: "A string containing this substring, an array with this element, or an object with this key.",
};
const STARTS_WITH: PredicateDoc = PredicateDoc {
    name: "starts_with",
    operand: string,
    description: "A string starting with this text.",
};
const GT: PredicateDoc = PredicateDoc {
    name: "gt",
    operand: number,
    description: "A number greater than this.",
};
const GTE: PredicateDoc = PredicateDoc {
    name: "gte",
    operand: number,
    description: "A number greater than or equal to this.",
};
const LT: PredicateDoc = PredicateDoc {
    name: "lt",
    operand: number,
    description: "A number less than this.",
};
const LTE: PredicateDoc = PredicateDoc {
    name: "lte",
    operand: number,
    description: "A number less than or equal to this.",
};
const LENGTH: PredicateDoc = PredicateDoc {
    name: "length",
    operand: length,
    description: "Has this length: characters of a string, items of an array, keys of an object.",
};

const LOOSELY_EQUALS: PredicateDoc = PredicateDoc {
    name: "loosely_equals",
    operand: any_value,
    description: "Equals this value as JavaScript's `==` compares (`\"1\"` loosely equals `1`, `null` loosely equals a missing value); what `courier import postman` writes for a script's `==`.",
};
const TRUTHY: PredicateDoc = PredicateDoc {
    name: "truthy",
    operand: boolean,
    description: "`true`: the value is truthy as JavaScript reads it (not `false`, `0`, `\"\"`, `null` or missing); `false`: it is falsy.",
};

/// The predicates of JSON values, in the order editors list them.
pub static JSON_PREDICATES: [PredicateDoc; 14] = [
    EQUALS,
    NOT_EQUALS,
    EXISTS,
    TYPE,
    MATCHES,
    CONTAINS,
    STARTS_WITH,
    GT,
    GTE,
    LT,
    LTE,
    LENGTH,
    LOOSELY_EQUALS,
    TRUTHY,
];

/// Headers are text: `equals` and `contains` take a scalar, compared as its text.
pub static HEADER_PREDICATES: [PredicateDoc; 4] = [
    PredicateDoc {
        name: "equals",
        operand: scalar,
        description: "The header's value is exactly this text.",
    },
    PredicateDoc {
        name: "contains",
        operand: scalar,
        description: "The header's value contains this text: `{ contains: application/json }`.",
    },
    PredicateDoc {
        name: "matches",
        operand: string,
        description: "The header's value matches this regular expression (Rust `regex` syntax).",
    },
    PredicateDoc {
        name: "exists",
        operand: boolean,
        description: "`true`: the response has this header; `false`: it has not.",
    },
];

/// The predicates of the body, as text.
pub static BODY_PREDICATES: [PredicateDoc; 2] = [
    PredicateDoc {
        name: "contains",
        operand: scalar,
        description: "The body contains this text.",
    },
    PredicateDoc {
        name: "matches",
        operand: string,
        description: "The body matches this regular expression (Rust `regex` syntax).",
    },
];

/// Which value the predicates will be checked against; decides the valid names and operands.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Target {
    Json,
    Header,
    Body,
}

impl Target {
    fn allowed(self) -> &'static [PredicateDoc] {
        match self {
            Target::Json => &JSON_PREDICATES,
            Target::Header => &HEADER_PREDICATES,
            Target::Body => &BODY_PREDICATES,
        }
    }

    /// The names of the predicates valid here.
    fn names(self) -> Vec<&'static str> {
        self.allowed().iter().map(|p| p.name).collect()
    }

    fn noun(self) -> &'static str {
        match self {
            Target::Json => "JSON",
            Target::Header => "header",
            Target::Body => "body",
        }
    }
}

/// Turns what the user wrote for one JSONPath into predicates.
///
/// A bare value that is not a map means `equals`, so that `$.token_type: bearer` reads naturally.
/// A map is one predicate per key, in the user's order, all of which must hold. That is why an
/// object can only be compared with an explicit `equals:` — a bare map is always predicates.
pub fn parse_json_predicates(v: &Value) -> Result<Vec<Predicate>, SpecError> {
    match v {
        Value::Object(_) => parse_map(v, Target::Json),
        _ => Ok(vec![Predicate::Equals(v.clone())]),
    }
}

/// Turns what the user wrote for one header into predicates.
///
/// A bare scalar means `equals`. Numbers and booleans are accepted and compared as their text,
/// because YAML reads `content-length: 42` as a number while the header's value is the string
/// `"42"`. Values compare case-sensitively; matching header *names* is the caller's business.
pub fn parse_header_predicates(v: &Value) -> Result<Vec<Predicate>, SpecError> {
    match v {
        Value::Object(_) => parse_map(v, Target::Header),
        _ => Ok(vec![Predicate::Equals(Value::String(text_operand(
            v,
            None,
            "a header value",
        )?))]),
    }
}

/// Turns what the user wrote for the body into predicates. A bare string means `contains`, the
/// only check on a whole body that makes sense without further words.
pub fn parse_body_predicates(v: &Value) -> Result<Vec<Predicate>, SpecError> {
    match v {
        Value::Object(_) => parse_map(v, Target::Body),
        _ => Ok(vec![Predicate::Contains(Value::String(text_operand(
            v, None, "the body",
        )?))]),
    }
}

fn parse_map(v: &Value, target: Target) -> Result<Vec<Predicate>, SpecError> {
    let Value::Object(map) = v else {
        unreachable!("callers dispatch on the value's kind")
    };
    if map.is_empty() {
        let help = match target {
            Target::Json => {
                "write at least one predicate, e.g. `{ exists: true }`; \
                 to compare with an empty object write `{ equals: {} }`"
            }
            Target::Header => "write at least one predicate, e.g. `{ exists: true }`",
            Target::Body => "write at least one predicate, e.g. `{ contains: \"ok\" }`",
        };
        return Err(SpecError::new("empty predicate map").with_help(help));
    }
    map.iter()
        .map(|(name, operand)| parse_one(name, operand, target))
        .collect()
}

fn parse_one(name: &str, operand: &Value, target: Target) -> Result<Predicate, SpecError> {
    if !target.allowed().iter().any(|p| p.name == name) {
        return Err(unknown_predicate(name, target));
    }
    let text_target = target != Target::Json;
    Ok(match name {
        "equals" if text_target => Predicate::Equals(Value::String(text_operand(
            operand,
            Some(name),
            "`equals`",
        )?)),
        "equals" => Predicate::Equals(operand.clone()),
        "not_equals" => Predicate::NotEquals(operand.clone()),
        "exists" => match operand {
            Value::Bool(b) => Predicate::Exists(*b),
            _ => return Err(bad_operand(name, "`true` or `false`", operand)),
        },
        "type" => Predicate::Type(type_operand(operand)?),
        "matches" => Predicate::Matches(regex_operand(operand)?),
        "contains" if text_target => Predicate::Contains(Value::String(text_operand(
            operand,
            Some(name),
            "`contains`",
        )?)),
        "contains" => Predicate::Contains(operand.clone()),
        "starts_with" => match operand {
            Value::String(s) => Predicate::StartsWith(s.clone()),
            _ => return Err(bad_operand(name, "a string", operand)),
        },
        "gt" => Predicate::Gt(number_operand(name, operand)?),
        "gte" => Predicate::Gte(number_operand(name, operand)?),
        "lt" => Predicate::Lt(number_operand(name, operand)?),
        "lte" => Predicate::Lte(number_operand(name, operand)?),
        "length" => Predicate::Length(length_operand(operand)?),
        "loosely_equals" => Predicate::LooselyEquals(operand.clone()),
        "truthy" => match operand {
            Value::Bool(b) => Predicate::Truthy(*b),
            _ => return Err(bad_operand(name, "`true` or `false`", operand)),
        },
        _ => unreachable!("`{name}` is in the allowed list but has no parser"),
    })
}

/// Names people reach for from other tools, mapped to ours. Edit distance alone would send `ge`
/// to `gt`, the opposite of what was meant.
const PREDICATE_ALIASES: &[(&str, &str)] = &[
    ("eq", "equals"),
    ("ne", "not_equals"),
    ("neq", "not_equals"),
    ("ge", "gte"),
    ("le", "lte"),
    ("regex", "matches"),
    ("len", "length"),
    ("size", "length"),
    ("count", "length"),
];

fn unknown_predicate(name: &str, target: Target) -> SpecError {
    let allowed = target.names();
    if JSON_PREDICATES.iter().any(|p| p.name == name) {
        return SpecError::new(format!(
            "`{name}` cannot be used on {}",
            match target {
                Target::Header => "a header",
                Target::Body => "the body",
                Target::Json => unreachable!("every predicate applies to JSON"),
            }
        ))
        .with_key(name)
        .with_help(format!(
            "{} predicates: {}",
            target.noun(),
            allowed.join(", ")
        ));
    }
    let lowered = name.to_lowercase();
    let suggestion = PREDICATE_ALIASES
        .iter()
        .find(|(alias, _)| *alias == lowered)
        .map(|(_, real)| *real)
        .filter(|real| allowed.contains(real))
        .or_else(|| closest(name, &allowed));
    let help = match suggestion {
        Some(s) => format!("did you mean `{s}`?"),
        // A bare map is read as predicates, so an unknown key is often an object meant as a value.
        None if target == Target::Json => format!(
            "valid predicates: {}; to compare with an object, write `{{ equals: {{ ... }} }}`",
            allowed.join(", ")
        ),
        None => format!("valid predicates: {}", allowed.join(", ")),
    };
    SpecError::new(format!("unknown predicate `{name}`"))
        .with_key(name)
        .with_help(help)
}

fn bad_operand(name: &str, wanted: &str, got: &Value) -> SpecError {
    SpecError::new(format!(
        "`{name}` takes {wanted}, not {}",
        describe_backticked(got)
    ))
    .with_key(name)
}

/// Headers and bodies are text, so their operands must be text too. Numbers and booleans are
/// taken as their JSON spelling because YAML turns `42` and `true` into non-strings.
fn text_operand(v: &Value, key: Option<&str>, what: &str) -> Result<String, SpecError> {
    match v {
        Value::String(s) => Ok(s.clone()),
        Value::Number(n) => Ok(n.to_string()),
        Value::Bool(b) => Ok(b.to_string()),
        _ => {
            let mut err = SpecError::new(format!(
                "{what} takes a string, not {}",
                describe_backticked(v)
            ))
            .with_help("headers and bodies are text: write the expected text as a string");
            if let Some(key) = key {
                err = err.with_key(key);
            }
            Err(err)
        }
    }
}

/// Other spellings of type names, from the languages people come from.
const TYPE_ALIASES: &[(&str, &str)] = &[
    ("str", "string"),
    ("text", "string"),
    ("int", "integer"),
    ("float", "number"),
    ("double", "number"),
    ("bool", "boolean"),
    ("list", "array"),
    ("dict", "object"),
    ("map", "object"),
];

fn type_operand(v: &Value) -> Result<JsonType, SpecError> {
    let valid = format!("valid types: {}", JsonType::NAMES.join(", "));
    let Value::String(name) = v else {
        return Err(bad_operand("type", "a type name", v).with_help(valid));
    };
    if let Some(t) = JsonType::parse(name) {
        return Ok(t);
    }
    let lowered = name.to_lowercase();
    let suggestion = TYPE_ALIASES
        .iter()
        .find(|(alias, _)| *alias == lowered)
        .map(|(_, real)| *real)
        .or_else(|| closest(name, &JsonType::NAMES));
    let help = match suggestion {
        Some(s) => format!("did you mean `{s}`?"),
        None => valid,
    };
    Err(SpecError::new(format!("unknown type `{name}`"))
        .with_key("type")
        .with_help(help))
}

fn regex_operand(v: &Value) -> Result<Regex, SpecError> {
    let Value::String(pattern) = v else {
        return Err(bad_operand("matches", "a regular expression string", v));
    };
    Regex::new(pattern).map_err(|e| {
        SpecError::new(format!(
            "invalid regex `{pattern}`: {}",
            regex_error_summary(&e)
        ))
        .with_key("matches")
        .with_help(
            "the pattern uses Rust `regex` syntax, which has no look-around or backreferences",
        )
    })
}

/// The `regex` crate renders syntax errors over several lines (the pattern, a caret, then
/// `error: ...`); a one-line message wants only that last part.
fn regex_error_summary(e: &regex::Error) -> String {
    let full = e.to_string();
    let summary = match full.rfind("error: ") {
        Some(at) => full[at + "error: ".len()..].trim(),
        None => full.trim(),
    };
    summary.trim_end_matches('.').to_owned()
}

fn number_operand(name: &str, v: &Value) -> Result<Number, SpecError> {
    match v {
        Value::Number(n) => Ok(n.clone()),
        Value::String(s) if s.trim().parse::<f64>().is_ok() => {
            Err(bad_operand(name, "a number", v).with_help("write the number without quotes"))
        }
        _ => Err(bad_operand(name, "a number", v)),
    }
}

fn length_operand(v: &Value) -> Result<u64, SpecError> {
    let as_u64 = match v {
        Value::Number(n) => n.as_u64().or_else(|| {
            // YAML may hand over `3.0`; it still names a length. 2^53 bounds exact f64 integers.
            n.as_f64()
                .filter(|f| f.fract() == 0.0 && *f >= 0.0 && *f <= 9_007_199_254_740_992.0)
                .map(|f| f as u64)
        }),
        _ => None,
    };
    as_u64.ok_or_else(|| bad_operand("length", "a non-negative integer", v))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn names(ps: &[Predicate]) -> Vec<&'static str> {
        ps.iter().map(Predicate::name).collect()
    }

    fn json_err(v: Value) -> SpecError {
        parse_json_predicates(&v).expect_err("spec should be rejected")
    }

    #[test]
    fn bare_scalar_means_equals() {
        let ps = parse_json_predicates(&json!("bearer")).unwrap();
        assert!(matches!(&ps[..], [Predicate::Equals(v)] if v == &json!("bearer")));
        let ps = parse_json_predicates(&json!([1, 2])).unwrap();
        assert!(matches!(&ps[..], [Predicate::Equals(v)] if v == &json!([1, 2])));
        let ps = parse_json_predicates(&json!(null)).unwrap();
        assert!(matches!(&ps[..], [Predicate::Equals(Value::Null)]));
    }

    #[test]
    fn map_gives_one_predicate_per_key_in_order() {
        let ps = parse_json_predicates(&json!({
            "matches": "^user:", "starts_with": "user", "length": 9, "exists": true,
            "type": "string", "not_equals": "x", "contains": "u", "gt": 0, "gte": 0,
            "lt": 1, "lte": 1.5, "equals": {"a": 1}
        }))
        .unwrap();
        assert_eq!(
            names(&ps),
            [
                "matches",
                "starts_with",
                "length",
                "exists",
                "type",
                "not_equals",
                "contains",
                "gt",
                "gte",
                "lt",
                "lte",
                "equals"
            ]
        );
        assert!(matches!(&ps[2], Predicate::Length(9)));
        assert!(matches!(&ps[4], Predicate::Type(JsonType::String)));
        assert!(matches!(&ps[10], Predicate::Lte(n) if n.as_f64() == Some(1.5)));
        assert!(matches!(&ps[11], Predicate::Equals(v) if v == &json!({"a": 1})));
    }

    #[test]
    fn every_type_name_parses() {
        for name in JsonType::NAMES {
            let ps = parse_json_predicates(&json!({ "type": name })).unwrap();
            assert!(matches!(&ps[..], [Predicate::Type(t)] if t.name() == name));
        }
    }

    #[test]
    fn length_accepts_integral_float() {
        let ps = parse_json_predicates(&json!({ "length": 3.0 })).unwrap();
        assert!(matches!(&ps[..], [Predicate::Length(3)]));
    }

    #[test]
    fn unknown_predicate_suggests_the_nearest() {
        let e = json_err(json!({ "gtt": 0 }));
        assert_eq!(e.message, "unknown predicate `gtt`");
        assert_eq!(e.key.as_deref(), Some("gtt"));
        assert_eq!(e.help.as_deref(), Some("did you mean `gt`?"));

        let e = json_err(json!({ "lenght": 3 }));
        assert_eq!(e.help.as_deref(), Some("did you mean `length`?"));
    }

    #[test]
    fn unknown_predicate_uses_aliases_from_other_tools() {
        let e = json_err(json!({ "ge": 0 }));
        assert_eq!(e.help.as_deref(), Some("did you mean `gte`?"));
        let e = json_err(json!({ "regex": "x" }));
        assert_eq!(e.help.as_deref(), Some("did you mean `matches`?"));
    }

    #[test]
    fn unknown_predicate_far_from_any_lists_them_all() {
        let e = json_err(json!({ "banana": 1 }));
        assert_eq!(e.message, "unknown predicate `banana`");
        assert_eq!(
            e.help.as_deref(),
            Some(
                "valid predicates: equals, not_equals, exists, type, matches, contains, \
                 starts_with, gt, gte, lt, lte, length, loosely_equals, truthy; \
                 to compare with an object, write `{ equals: { ... } }`"
            )
        );
    }

    #[test]
    fn bad_regex_carries_the_regex_error() {
        let e = json_err(json!({ "matches": "(abc" }));
        assert_eq!(e.message, "invalid regex `(abc`: unclosed group");
        assert_eq!(e.key.as_deref(), Some("matches"));
        assert!(e.help.is_some());
    }

    #[test]
    fn look_around_is_explained() {
        let e = json_err(json!({ "matches": "a(?=b)" }));
        assert!(e.message.starts_with("invalid regex `a(?=b)`: "), "{e:?}");
        assert!(e.message.contains("look-around"), "{e:?}");
        assert!(!e.message.contains('\n'));
    }

    #[test]
    fn non_number_comparison_is_rejected() {
        let e = json_err(json!({ "gt": "abc" }));
        assert_eq!(e.message, r#"`gt` takes a number, not string `"abc"`"#);
        assert_eq!(e.key.as_deref(), Some("gt"));
        assert_eq!(e.help, None);

        let e = json_err(json!({ "lte": "5" }));
        assert_eq!(e.help.as_deref(), Some("write the number without quotes"));
    }

    #[test]
    fn negative_or_fractional_length_is_rejected() {
        let e = json_err(json!({ "length": -1 }));
        assert_eq!(
            e.message,
            "`length` takes a non-negative integer, not number `-1`"
        );
        assert_eq!(e.key.as_deref(), Some("length"));
        let e = json_err(json!({ "length": 2.5 }));
        assert_eq!(e.key.as_deref(), Some("length"));
        let e = json_err(json!({ "length": "3" }));
        assert_eq!(e.key.as_deref(), Some("length"));
    }

    #[test]
    fn misspelt_type_suggests_the_nearest() {
        let e = json_err(json!({ "type": "strng" }));
        assert_eq!(e.message, "unknown type `strng`");
        assert_eq!(e.key.as_deref(), Some("type"));
        assert_eq!(e.help.as_deref(), Some("did you mean `string`?"));

        let e = json_err(json!({ "type": "int" }));
        assert_eq!(e.help.as_deref(), Some("did you mean `integer`?"));

        let e = json_err(json!({ "type": "date" }));
        assert_eq!(
            e.help.as_deref(),
            Some("valid types: string, number, integer, boolean, array, object, null")
        );
    }

    #[test]
    fn non_string_type_is_rejected() {
        let e = json_err(json!({ "type": 3 }));
        assert_eq!(e.message, "`type` takes a type name, not number `3`");
        assert_eq!(e.key.as_deref(), Some("type"));
    }

    #[test]
    fn exists_needs_a_boolean() {
        let e = json_err(json!({ "exists": "yes" }));
        assert_eq!(
            e.message,
            r#"`exists` takes `true` or `false`, not string `"yes"`"#
        );
        assert_eq!(e.key.as_deref(), Some("exists"));
    }

    #[test]
    fn starts_with_needs_a_string() {
        let e = json_err(json!({ "starts_with": 5 }));
        assert_eq!(e.message, "`starts_with` takes a string, not number `5`");
    }

    #[test]
    fn matches_needs_a_string() {
        let e = json_err(json!({ "matches": null }));
        assert_eq!(
            e.message,
            "`matches` takes a regular expression string, not `null`"
        );
    }

    #[test]
    fn empty_map_is_rejected() {
        let e = json_err(json!({}));
        assert_eq!(e.message, "empty predicate map");
        assert_eq!(e.key, None);
        assert!(e.help.unwrap().contains("`{ equals: {} }`"));
    }

    #[test]
    fn header_bare_values_mean_equals_on_text() {
        let ps = parse_header_predicates(&json!("application/json")).unwrap();
        assert!(matches!(&ps[..], [Predicate::Equals(v)] if v == &json!("application/json")));
        let ps = parse_header_predicates(&json!(42)).unwrap();
        assert!(matches!(&ps[..], [Predicate::Equals(v)] if v == &json!("42")));
    }

    #[test]
    fn header_map_allows_its_four_predicates() {
        let ps = parse_header_predicates(
            &json!({ "equals": "a", "contains": "json", "matches": "^a", "exists": true }),
        )
        .unwrap();
        assert_eq!(names(&ps), ["equals", "contains", "matches", "exists"]);
        assert!(matches!(&ps[1], Predicate::Contains(v) if v == &json!("json")));
    }

    #[test]
    fn header_rejects_json_only_predicates_by_name() {
        let e = parse_header_predicates(&json!({ "gt": 1 })).unwrap_err();
        assert_eq!(e.message, "`gt` cannot be used on a header");
        assert_eq!(e.key.as_deref(), Some("gt"));
        assert_eq!(
            e.help.as_deref(),
            Some("header predicates: equals, contains, matches, exists")
        );
    }

    #[test]
    fn header_unknown_predicate_lists_header_predicates() {
        let e = parse_header_predicates(&json!({ "banana": "x" })).unwrap_err();
        assert_eq!(
            e.help.as_deref(),
            Some("valid predicates: equals, contains, matches, exists")
        );
    }

    #[test]
    fn header_typo_suggests_within_header_predicates() {
        let e = parse_header_predicates(&json!({ "contain": "x" })).unwrap_err();
        assert_eq!(e.help.as_deref(), Some("did you mean `contains`?"));
    }

    #[test]
    fn header_rejects_structured_values() {
        let e = parse_header_predicates(&json!([1])).unwrap_err();
        assert_eq!(e.message, "a header value takes a string, not array `[1]`");
        assert_eq!(e.key, None);
        let e = parse_header_predicates(&json!({ "equals": {"a": 1} })).unwrap_err();
        assert_eq!(e.key.as_deref(), Some("equals"));
    }

    #[test]
    fn header_empty_map_is_rejected() {
        let e = parse_header_predicates(&json!({})).unwrap_err();
        assert_eq!(e.message, "empty predicate map");
    }

    #[test]
    fn body_bare_string_means_contains() {
        let ps = parse_body_predicates(&json!("success")).unwrap();
        assert!(matches!(&ps[..], [Predicate::Contains(v)] if v == &json!("success")));
    }

    #[test]
    fn body_map_allows_contains_and_matches_only() {
        let ps = parse_body_predicates(&json!({ "contains": "ok", "matches": "^\\{" })).unwrap();
        assert_eq!(names(&ps), ["contains", "matches"]);
        let e = parse_body_predicates(&json!({ "equals": "ok" })).unwrap_err();
        assert_eq!(e.message, "`equals` cannot be used on the body");
        assert_eq!(
            e.help.as_deref(),
            Some("body predicates: contains, matches")
        );
        let e = parse_body_predicates(&json!({ "regex": "ok" })).unwrap_err();
        assert_eq!(e.help.as_deref(), Some("did you mean `matches`?"));
    }

    #[test]
    fn body_bad_regex_is_rejected() {
        let e = parse_body_predicates(&json!({ "matches": "[" })).unwrap_err();
        assert!(e.message.starts_with("invalid regex `[`: "), "{e:?}");
    }
}
