//! JSONPath queries (RFC 9535), compiled once when the collection is loaded and run against each
//! response. `serde_json_path` does the work; this wrapper keeps the user's spelling for messages
//! and decides what a query "selects" when an assertion needs a single value.

use std::borrow::Cow;
use std::fmt;
use std::sync::Arc;

use serde_json::Value;
use serde_json_path::JsonPath;

use super::{Document, SpecError};

/// A compiled JSONPath query, with the text the user wrote.
#[derive(Debug, Clone)]
pub struct Query {
    /// Shared with every result that names the query.
    source: Arc<str>,
    path: JsonPath,
    /// For the commonest form, `$.a.b.c`, the member names: looking them up directly gives the
    /// same node as the general evaluation, without its allocations.
    members: Option<Vec<String>>,
}

impl Query {
    pub fn parse(path: &str) -> Result<Query, SpecError> {
        match JsonPath::parse(path) {
            Ok(compiled) => Ok(Query {
                source: path.into(),
                path: compiled,
                members: member_chain(path),
            }),
            Err(e) => Err(SpecError::new(format!(
                "invalid JSONPath `{path}`: {}",
                describe_parse_error(path, &e)
            ))
            .with_key(path)
            .with_help(help_for(path))),
        }
    }

    pub fn as_str(&self) -> &str {
        &self.source
    }

    /// The query as the subject of a check result; copying it allocates nothing.
    pub fn subject(&self) -> Arc<str> {
        Arc::clone(&self.source)
    }

    /// The value an assertion checks: nothing for no node, the node itself for one, and the nodes
    /// as an array for several, so `$.items[*].id: { contains: 7 }` works without extra syntax.
    /// A single node is borrowed from the document.
    pub fn select<'a>(&self, doc: &'a Value) -> Option<Cow<'a, Value>> {
        if let Some(names) = &self.members {
            return lookup(doc, names).map(Cow::Borrowed);
        }
        let nodes = self.nodes(doc);
        match nodes.as_slice() {
            [] => None,
            [one] => Some(Cow::Borrowed(*one)),
            _ => Some(Cow::Owned(Value::Array(
                nodes.into_iter().cloned().collect(),
            ))),
        }
    }

    /// [`Query::select`] on an answer's [`Document`]: a `$.a.b` query parses only member `a`.
    pub fn select_in<'a>(&self, doc: &'a Document<'_>) -> Option<Cow<'a, Value>> {
        match self.members.as_deref() {
            Some([first, rest @ ..]) => lookup(doc.member(first)?, rest).map(Cow::Borrowed),
            _ => self.select(doc.whole()?),
        }
    }

    /// The JSON Pointer (RFC 6901) of every node the query selects, in RFC 9535 order.
    pub fn pointers(&self, doc: &Value) -> Vec<String> {
        self.path
            .query_located(doc)
            .locations()
            .map(|location| location.to_json_pointer())
            .collect()
    }

    /// Every node the query selects, in RFC 9535 order.
    pub fn nodes<'a>(&self, doc: &'a Value) -> Vec<&'a Value> {
        match &self.members {
            Some(names) => lookup(doc, names).into_iter().collect(),
            None => self.path.query(doc).all(),
        }
    }
}

impl fmt::Display for Query {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.source)
    }
}

/// The member names of a query written `$.name.name…` with ASCII names (RFC 9535's
/// member-name-shorthand), or `None` for any other query.
fn member_chain(path: &str) -> Option<Vec<String>> {
    let rest = path.strip_prefix('$')?;
    if rest.is_empty() {
        return None;
    }
    rest.strip_prefix('.')?
        .split('.')
        .map(|name| {
            let mut chars = name.chars();
            let first = chars.next()?;
            let valid = (first.is_ascii_alphabetic() || first == '_')
                && chars.all(|c| c.is_ascii_alphanumeric() || c == '_');
            valid.then(|| name.to_owned())
        })
        .collect()
}

/// The node at `names`, member by member: nothing when a step is not an object or lacks the
/// member.
fn lookup<'a>(doc: &'a Value, names: &[String]) -> Option<&'a Value> {
    names
        .iter()
        .try_fold(doc, |node, name| node.as_object()?.get(name))
}

/// The library reports a 0-based byte offset; users count characters from 1, and a query may
/// hold non-ASCII keys, so the offset is turned into that.
fn describe_parse_error(path: &str, e: &serde_json_path::ParseError) -> String {
    let offset = e.position();
    let column = path
        .get(..offset)
        .map_or(offset, |head| head.chars().count())
        + 1;
    format!("{} at character {column}", e.message())
}

fn help_for(path: &str) -> String {
    let trimmed = path.trim();
    if !trimmed.starts_with('$') {
        // The common slip is writing a bare key or `.key`; offer the query they probably meant.
        let guess = if trimmed.starts_with('.') || trimmed.starts_with('[') {
            format!("${trimmed}")
        } else {
            format!("$.{trimmed}")
        };
        if JsonPath::parse(&guess).is_ok() {
            return format!("a JSONPath query starts with `$`: did you mean `{guess}`?");
        }
        return "a JSONPath query starts with `$`, e.g. `$.items[0].id`".to_owned();
    }
    if trimmed != path {
        return "remove the spaces around the query".to_owned();
    }
    "see RFC 9535; e.g. `$.items[0].id`, `$['content-type']`, `$.items[?@.price > 10]`".to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn q(path: &str) -> Query {
        Query::parse(path).expect("valid JSONPath")
    }

    #[test]
    fn keeps_the_users_spelling() {
        assert_eq!(q("$.a['b']").as_str(), "$.a['b']");
        assert_eq!(q("$.a['b']").to_string(), "$.a['b']");
    }

    #[test]
    fn only_plain_member_chains_take_the_direct_lookup() {
        assert_eq!(
            member_chain("$.a._b.c9"),
            Some(vec!["a".into(), "_b".into(), "c9".into()])
        );
        for other in [
            "$", "$..a", "$.a[0]", "$['a']", "$.*", "$.a.", "$.9a", "$.é",
        ] {
            assert_eq!(member_chain(other), None, "{other}");
        }
        // Not an object on the way: nothing, as in the general evaluation.
        let doc = serde_json::json!({ "a": [1], "b": { "c": null } });
        assert_eq!(q("$.a.x").select(&doc), None);
        assert_eq!(q("$.b.c").select(&doc).as_deref(), Some(&Value::Null));
    }

    #[test]
    fn select_nothing_one_or_many() {
        let doc = json!({"items": [{"id": 1}, {"id": 2}], "one": [{"id": 9}]});
        assert_eq!(q("$.missing").select(&doc), None);
        assert_eq!(
            q("$.items[0].id").select(&doc).map(Cow::into_owned),
            Some(json!(1))
        );
        assert_eq!(
            q("$.items[*].id").select(&doc).map(Cow::into_owned),
            Some(json!([1, 2]))
        );
        // A wildcard matching one node still gives that node, not a one-element array.
        assert_eq!(
            q("$.one[*].id").select(&doc).map(Cow::into_owned),
            Some(json!(9))
        );
    }

    #[test]
    fn select_distinguishes_null_from_nothing() {
        let doc = json!({"a": null});
        assert_eq!(
            q("$.a").select(&doc).map(Cow::into_owned),
            Some(Value::Null)
        );
        assert_eq!(q("$.b").select(&doc), None);
    }

    #[test]
    fn select_in_a_document_agrees_with_select_on_the_tree() {
        let texts = [
            r#"{"a": {"b": [1, {"c": 2}]}, "d": null, "a2": "x", "d": 3}"#,
            r#"[{"a": 1}, {"a": 2}]"#,
            "7",
        ];
        let queries = [
            "$",
            "$.a",
            "$.a.b",
            "$.a.b.c",
            "$.d",
            "$.missing",
            "$.a2.x",
            "$..c",
            "$[0].a",
            "$.*",
        ];
        for text in texts {
            let tree: Value = serde_json::from_str(text).unwrap();
            let doc = Document::parse(text.as_bytes()).unwrap();
            for query in queries {
                assert_eq!(
                    q(query).select_in(&doc),
                    q(query).select(&tree),
                    "{query} on {text}"
                );
            }
        }
    }

    #[test]
    fn nodes_keeps_duplicates_and_order() {
        let doc = json!([10, 20]);
        let nodes = q("$[1, 0, 1]").nodes(&doc);
        assert_eq!(nodes, [&json!(20), &json!(10), &json!(20)]);
    }

    #[test]
    fn filters_work() {
        let doc = json!({"items": [{"p": 5}, {"p": 15}]});
        assert_eq!(
            q("$.items[?@.p > 10].p").select(&doc).map(Cow::into_owned),
            Some(json!(15))
        );
    }

    #[test]
    fn parse_error_has_message_key_and_help() {
        let e = Query::parse("$.items[").unwrap_err();
        assert!(
            e.message.starts_with("invalid JSONPath `$.items[`: "),
            "{e:?}"
        );
        assert!(e.message.ends_with(" at character 8"), "{e:?}");
        assert_eq!(e.key.as_deref(), Some("$.items["));
        assert!(e.help.is_some());
    }

    #[test]
    fn error_position_counts_characters_from_one() {
        // The missing `]` is just past the five characters; `é` is two bytes but one character.
        let e = Query::parse("$['é'").unwrap_err();
        assert!(e.message.ends_with(" at character 6"), "{e:?}");
        let e = Query::parse("x").unwrap_err();
        assert!(e.message.ends_with(" at character 1"), "{e:?}");
    }

    #[test]
    fn missing_dollar_suggests_the_query() {
        let e = Query::parse("token_type").unwrap_err();
        assert_eq!(
            e.help.as_deref(),
            Some("a JSONPath query starts with `$`: did you mean `$.token_type`?")
        );
        let e = Query::parse(".items[0]").unwrap_err();
        assert_eq!(
            e.help.as_deref(),
            Some("a JSONPath query starts with `$`: did you mean `$.items[0]`?")
        );
    }

    #[test]
    fn surrounding_spaces_are_called_out() {
        let e = Query::parse(" $.a").unwrap_err();
        assert_eq!(
            e.help.as_deref(),
            Some("remove the spaces around the query")
        );
    }
}
