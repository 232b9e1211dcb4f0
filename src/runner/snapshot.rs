//! `snapshot:` checks: a JSON answer against a stored one, and `--update-snapshots`.
//!
//! What is stored and what is compared is the answer as the run may show it: every value the
//! redactor knows as a secret, and every string stored under a name that looks secret, is
//! `***`; what an `ignore:` JSONPath selects is `"<ignored>"`. So a snapshot never holds a
//! secret, a rotated token compares as present, and an id that changes every run compares as
//! present too. A stored snapshot that holds a value the run knows as a secret fails, naming no
//! value: someone pasted a credential into it.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde_json::Value;

use crate::assert::{Document, Outcome};
use crate::model::SnapshotCheck;
use crate::secrets::{MASK, Redactor, name_looks_secret};

/// What an ignored value is stored and compared as.
pub const IGNORED: &str = "<ignored>";

/// Whether snapshots are only compared, or written where missing or different.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum SnapshotMode {
    #[default]
    Compare,
    Update,
}

/// The snapshot files of a run, each read once.
#[derive(Default)]
pub struct Snapshots {
    read: HashMap<PathBuf, Stored>,
}

#[derive(Clone)]
enum Stored {
    Missing,
    /// The value, and the text it was read from: shared, since every request that names the
    /// snapshot reads it.
    Found(Arc<(Value, String)>),
    Unreadable(String),
}

impl Snapshots {
    /// Compares `doc` with the snapshot `check` names; with [`SnapshotMode::Update`], writes
    /// the answer where the snapshot is missing or differs, and passes.
    pub fn check(
        &mut self,
        check: &SnapshotCheck,
        doc: Option<&Document<'_>>,
        redactor: &Redactor,
        mode: SnapshotMode,
    ) -> Outcome {
        let expected = format!("equals the snapshot {}", check.shown);
        let outcome = |passed: bool, actual: String, diff: Option<String>| Outcome {
            passed,
            predicate: "snapshot".into(),
            expected: expected.clone(),
            actual,
            diff,
        };
        let Some(answer) = doc.and_then(Document::whole) else {
            return outcome(false, "the body is not JSON".into(), None);
        };
        let actual = shown_form(answer, check, redactor);
        let stored = self.stored(&check.path);
        let holds_secret = |text: &str| redactor.redact(text) != text;
        let mut diff = None;
        let why = match &stored {
            Stored::Found(found) if holds_secret(&found.1) => {
                "the snapshot holds a value this run knows as a secret: replace it with \"***\""
                    .to_owned()
            }
            Stored::Found(found) if found.0 == actual => {
                return outcome(true, "equal".into(), None);
            }
            Stored::Found(found) => {
                let shown = crate::assert::unified_diff(&found.0, &actual);
                let hint = diff_hint(&shown);
                diff = Some(shown);
                format!("differs from the snapshot{hint}")
            }
            Stored::Missing => format!(
                "no snapshot yet: `courier run --update-snapshots` writes {}",
                check.shown
            ),
            Stored::Unreadable(why) => why.clone(),
        };
        if mode == SnapshotMode::Update {
            return match write(&check.path, &actual) {
                Ok(text) => {
                    let written = if matches!(stored, Stored::Missing) {
                        "written"
                    } else {
                        "updated"
                    };
                    self.read
                        .insert(check.path.clone(), Stored::Found(Arc::new((actual, text))));
                    outcome(true, format!("{written} {}", check.shown), None)
                }
                Err(e) => outcome(false, format!("could not write {}: {e}", check.shown), None),
            };
        }
        outcome(false, why, diff)
    }

    fn stored(&mut self, path: &Path) -> Stored {
        self.read
            .entry(path.to_path_buf())
            .or_insert_with(|| match std::fs::read_to_string(path) {
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => Stored::Missing,
                Err(e) => Stored::Unreadable(format!("cannot read the snapshot: {e}")),
                Ok(text) => match serde_json::from_str(&text) {
                    Ok(value) => Stored::Found(Arc::new((value, text))),
                    Err(e) => Stored::Unreadable(format!(
                        "the snapshot is not JSON ({e}): fix it, or delete it and run with --update-snapshots"
                    )),
                },
            })
            .clone()
    }
}

/// "(2 lines)" — how much the diff below holds, for a one-line summary.
fn diff_hint(diff: &str) -> String {
    let changed = diff
        .lines()
        .filter(|l| {
            (l.starts_with('+') || l.starts_with('-'))
                && !l.starts_with("+++")
                && !l.starts_with("---")
        })
        .count();
    format!(" ({changed} lines differ, see the diff)")
}

/// The answer as stored: secrets masked, ignored values replaced.
fn shown_form(answer: &Value, check: &SnapshotCheck, redactor: &Redactor) -> Value {
    let mut value = answer.clone();
    for query in &check.ignore {
        for pointer in query.pointers(answer) {
            if let Some(node) = value.pointer_mut(&pointer) {
                *node = Value::String(IGNORED.into());
            }
        }
    }
    mask(&mut value, false, redactor);
    value
}

/// Masks every string that is, holds, or is stored under the name of, a secret.
fn mask(value: &mut Value, named_secret: bool, redactor: &Redactor) {
    match value {
        Value::String(text) if named_secret && text != IGNORED => *text = MASK.into(),
        Value::String(text) => {
            if let std::borrow::Cow::Owned(masked) = redactor.redact(text) {
                *text = masked;
            }
        }
        Value::Array(items) => items
            .iter_mut()
            .for_each(|v| mask(v, named_secret, redactor)),
        Value::Object(map) => {
            for (key, v) in map.iter_mut() {
                mask(v, name_looks_secret(key), redactor);
            }
        }
        _ => {}
    }
}

/// Writes `value` as pretty JSON, atomically (a run killed mid-write leaves the old snapshot or
/// the new one, never half of one). Returns the text.
fn write(path: &Path, value: &Value) -> std::io::Result<String> {
    let mut text = serde_json::to_string_pretty(value).map_err(std::io::Error::other)?;
    text.push('\n');
    if let Some(folder) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(folder)?;
    }
    crate::state::durable::write_atomic(path, text.as_bytes())?;
    Ok(text)
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;
    use serde_json::json;

    use super::*;

    fn check(ignore: &[&str]) -> SnapshotCheck {
        let file = crate::diag::SourceFile::new("r.yaml", "snapshot: s.json\n");
        SnapshotCheck {
            path: PathBuf::from("s.json"),
            shown: "s.json".into(),
            ignore: ignore
                .iter()
                .map(|q| crate::assert::Query::parse(q).unwrap())
                .collect(),
            spot: crate::diag::Spot::new(&file, 0..8),
        }
    }

    /// Any JSON, as deep as an answer gets.
    fn answer() -> impl Strategy<Value = Value> {
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::from),
            any::<i64>().prop_map(Value::from),
            "[ -~]{0,12}".prop_map(Value::from),
        ];
        leaf.prop_recursive(4, 32, 6, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..4).prop_map(Value::from),
                prop::collection::vec(("[a-z_]{1,8}", inner), 0..4)
                    .prop_map(|members| Value::Object(members.into_iter().collect())),
            ]
        })
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

        /// Wherever a known secret sits in an answer, alone or inside a longer string, the
        /// stored form does not hold it; and the stored form is stable (storing it again
        /// changes nothing), so a snapshot written once compares equal next time.
        #[test]
        fn a_stored_answer_never_holds_a_known_secret(
            answer in answer(),
            secret in "[A-Za-z0-9]{8,16}",
            at in "[a-z]{1,6}",
            prefix in "[ -~]{0,4}",
        ) {
            let mut redactor = Redactor::default();
            redactor.add(&secret);
            let mut answer = answer;
            let planted = Value::String(format!("{prefix}{secret}"));
            match &mut answer {
                Value::Object(map) => { map.insert(at, planted); }
                other => *other = json!([other.clone(), planted]),
            }
            let stored = shown_form(&answer, &check(&[]), &redactor);
            let text = serde_json::to_string(&stored).unwrap();
            prop_assert!(!text.contains(&secret), "{}", text);
            prop_assert_eq!(shown_form(&stored, &check(&[]), &redactor), stored);
        }
    }

    #[test]
    fn names_that_look_secret_are_masked_and_ignored_paths_replaced() {
        let answer = json!({"refresh_token": "abc", "id": 7, "items": [{"id": 1}, {"id": 2}]});
        let stored = shown_form(&answer, &check(&["$.items[*].id"]), &Redactor::default());
        assert_eq!(
            stored,
            json!({"refresh_token": "***", "id": 7, "items": [{"id": IGNORED}, {"id": IGNORED}]})
        );
    }
}
