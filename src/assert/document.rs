//! A JSON answer as checks and captures read it.
//!
//! Most answers are an object, and most queries name one of its members (`$.access_token`).
//! Building the whole tree for them costs a hashed, allocated entry per member, most of which
//! nothing reads. A [`Document`] instead validates the body once, keeps each top-level member as
//! the slice of text it was, and parses a member the first time it is read. Any other query, and
//! any answer that is not an object, reads the whole tree, parsed once on first use.

use std::borrow::Cow;
use std::cell::OnceCell;
use std::fmt;

use serde::de::{self, Deserialize, Deserializer, MapAccess, Visitor};
use serde_json::Value;
use serde_json::value::RawValue;

/// A body known to be JSON.
pub struct Document<'b> {
    text: &'b str,
    /// The members of a top-level object, in the order they came; `None` for any other value.
    members: Option<Vec<Member<'b>>>,
    /// The whole value: parsed at once when it is not an object, on first use otherwise.
    whole: OnceCell<Option<Value>>,
}

struct Member<'b> {
    name: Cow<'b, str>,
    raw: &'b RawValue,
    value: OnceCell<Option<Value>>,
}

impl<'b> Member<'b> {
    fn value(&self) -> Option<&Value> {
        self.value
            .get_or_init(|| {
                let raw = self.raw.get();
                // Most members are strings without escapes: their text between the quotes is
                // the value, already checked by the parse.
                match raw.strip_prefix('"').and_then(|r| r.strip_suffix('"')) {
                    Some(text) if !text.contains('\\') => Some(Value::String(text.to_owned())),
                    _ => serde_json::from_str(raw).ok(),
                }
            })
            .as_ref()
    }
}

impl<'b> Document<'b> {
    /// The body as a document, or `None` when it is not JSON.
    pub fn parse(body: &'b [u8]) -> Option<Document<'b>> {
        // JSON is UTF-8 throughout; checked once here, the parser need not check each string.
        let text = std::str::from_utf8(body).ok()?;
        if text.trim_start().starts_with('{') {
            let mut reader = serde_json::Deserializer::from_str(text);
            let Members(members) = Members::deserialize(&mut reader).ok()?;
            reader.end().ok()?;
            return Some(Document {
                text,
                members: Some(members),
                whole: OnceCell::new(),
            });
        }
        let whole = serde_json::from_str(text).ok()?;
        Some(Document {
            text,
            members: None,
            whole: OnceCell::from(Some(whole)),
        })
    }

    /// The whole value. `None` only for the rare text that is well-formed but has no value,
    /// such as a number too large for a double, which the full parse refuses.
    pub fn whole(&self) -> Option<&Value> {
        self.whole
            .get_or_init(|| serde_json::from_str(self.text).ok())
            .as_ref()
    }

    /// The top-level member `name`; like a parsed object, the last of duplicate names wins.
    pub fn member(&self, name: &str) -> Option<&Value> {
        match &self.members {
            Some(members) => members.iter().rev().find(|m| m.name == name)?.value(),
            None => self.whole()?.get(name),
        }
    }

    /// Every string anywhere in the document stored under a name for which `wanted` holds,
    /// reading only the members that can hold one.
    pub fn strings_named(&self, wanted: impl Fn(&str) -> bool) -> Vec<&str> {
        let mut found = Vec::new();
        match &self.members {
            Some(members) => {
                for member in members {
                    let (raw, name) = (member.raw.get(), &member.name);
                    let nested = raw.starts_with('{') || raw.starts_with('[');
                    if (raw.starts_with('"') && wanted(name)) || nested {
                        match member.value() {
                            Some(Value::String(s)) => found.push(s.as_str()),
                            Some(value) => strings_within(value, &wanted, &mut found),
                            None => {}
                        }
                    }
                }
            }
            None => {
                if let Some(value) = self.whole() {
                    strings_within(value, &wanted, &mut found);
                }
            }
        }
        found
    }
}

fn strings_within<'v>(value: &'v Value, wanted: &impl Fn(&str) -> bool, found: &mut Vec<&'v str>) {
    match value {
        Value::Object(map) => {
            for (key, value) in map {
                match value {
                    Value::String(s) if wanted(key) => found.push(s),
                    _ => strings_within(value, wanted, found),
                }
            }
        }
        Value::Array(items) => items.iter().for_each(|v| strings_within(v, wanted, found)),
        _ => {}
    }
}

/// The members of an object, each kept as its text.
struct Members<'b>(Vec<Member<'b>>);

impl<'de> Deserialize<'de> for Members<'de> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Each;
        impl<'de> Visitor<'de> for Each {
            type Value = Members<'de>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a JSON object")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
                let mut members = Vec::with_capacity(8);
                while let Some(Name(name)) = map.next_key()? {
                    members.push(Member {
                        name,
                        raw: map.next_value()?,
                        value: OnceCell::new(),
                    });
                }
                Ok(Members(members))
            }
        }
        deserializer.deserialize_map(Each)
    }
}

/// A member name, borrowed from the body unless it holds an escape.
struct Name<'b>(Cow<'b, str>);

impl<'de> Deserialize<'de> for Name<'de> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Text;
        impl<'de> Visitor<'de> for Text {
            type Value = Name<'de>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a member name")
            }
            fn visit_borrowed_str<E: de::Error>(self, s: &'de str) -> Result<Self::Value, E> {
                Ok(Name(Cow::Borrowed(s)))
            }
            fn visit_str<E: de::Error>(self, s: &str) -> Result<Self::Value, E> {
                Ok(Name(Cow::Owned(s.to_owned())))
            }
            fn visit_string<E: de::Error>(self, s: String) -> Result<Self::Value, E> {
                Ok(Name(Cow::Owned(s)))
            }
        }
        deserializer.deserialize_str(Text)
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn doc(text: &str) -> Document<'_> {
        Document::parse(text.as_bytes()).expect("JSON")
    }

    #[test]
    fn is_json_exactly_when_a_full_parse_is() {
        for text in [
            r#"{"a": 1}"#,
            " \n{\"a\": {\"b\": [1, 2]}} \n",
            "{}",
            "[1, 2]",
            "\"text\"",
            "3",
            "null",
        ] {
            assert!(Document::parse(text.as_bytes()).is_some(), "{text}");
        }
        for text in [
            "",
            "   ",
            "{",
            r#"{"a": }"#,
            r#"{"a": 1,}"#,
            r#"{"a": 1} x"#,
            r#"{"a": 1}{"b": 2}"#,
            r#"{"a": "\q"}"#,
            "{\"a\": \"\u{1}\"}",
            r#"{a: 1}"#,
            "<html>",
        ] {
            assert!(Document::parse(text.as_bytes()).is_none(), "{text:?}");
        }
        assert!(Document::parse(b"{\"a\": \"\xff\"}").is_none(), "bad UTF-8");
    }

    #[test]
    fn members_read_as_the_parsed_object_reads_them() {
        let text = r#"{"a": 1, "b": {"c": [true, null]}, "a": "last", "e\u0073c": 2}"#;
        let d = doc(text);
        let full: Value = serde_json::from_str(text).unwrap();
        for name in ["a", "b", "esc", "missing"] {
            assert_eq!(d.member(name), full.get(name), "{name}");
        }
        assert_eq!(d.whole(), Some(&full));
        assert_eq!(doc("[1]").member("a"), None);
        assert_eq!(doc(r#""a""#).whole(), Some(&json!("a")));
    }

    #[test]
    fn string_members_read_with_and_without_escapes() {
        let text = r#"{"plain": "a b/c", "escaped": "a\"b\\c\u00e9\n", "empty": "", "q": "\""}"#;
        let d = doc(text);
        let full: Value = serde_json::from_str(text).unwrap();
        for name in ["plain", "escaped", "empty", "q"] {
            assert_eq!(d.member(name), full.get(name), "{name}");
        }
        assert_eq!(d.member("escaped"), Some(&json!("a\"b\\cé\n")));
    }

    #[test]
    fn a_member_is_parsed_once() {
        let d = doc(r#"{"a": {"b": 1}}"#);
        let first: *const Value = d.member("a").unwrap();
        let second: *const Value = d.member("a").unwrap();
        assert_eq!(first, second);
    }

    #[test]
    fn finds_strings_under_wanted_names_at_any_depth() {
        let wanted = |name: &str| name.ends_with("token");
        let text = r#"{"access_token": "t1", "n_token": 5, "x": "no",
                       "nested": {"refresh_token": "t2", "list": [{"id_token": "t3"}]}}"#;
        let d = doc(text);
        let mut found = d.strings_named(wanted);
        found.sort();
        assert_eq!(found, ["t1", "t2", "t3"]);
        assert_eq!(doc(r#"[{"a_token": "t4"}]"#).strings_named(wanted), ["t4"]);
    }
}
