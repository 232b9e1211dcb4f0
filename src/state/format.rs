//! The state file's YAML: what it holds, how it is read back with positions, and how it is written.
//!
//! Values are written with every string quoted and no block scalars, so any token (empty, `yes`,
//! `0755`, with newlines or a trailing space) reads back byte for byte. Fingerprints are hex
//! SHA-256, so the file can say which values are dead without keeping them.

use std::sync::Arc;
use std::time::SystemTime;

use indexmap::IndexMap;
use serde::{Deserialize, Serialize};
use serde_saphyr::{FlowSeq, Spanned};
use sha2::{Digest, Sha256};

use crate::diag::{Diagnostic, SourceFile};
use crate::model::yaml;

/// The only layout this courier reads and writes.
pub const VERSION: u32 = 1;

/// How many fingerprints of replaced values an entry keeps, newest first. The rule does not rest
/// on this bound: a value that was ever *supplied* is remembered in `inputs` for as long as it
/// keeps being supplied (the CI recipe injects the same original token every run, for months),
/// and a supplied value that wins and is refused falls back to the state's value (see
/// `StateFile::fall_back`). This list only keeps the file from growing with every rotation.
pub const MAX_SUPERSEDED: usize = 20;

/// How many fingerprints of supplied values an entry keeps, the most recently supplied first. A
/// value leaves only after this many *other* values were supplied since it last was: a user
/// re-authorizing 32 times, or a secret store pushed back to 32 times while this one was not
/// supplied once.
pub const MAX_INPUTS: usize = 32;

const HEADER: &str = "# Written by courier. Holds the newest values of persistent variables \
                      and the access tokens kept for oauth2 auths; do not edit during a run.\n";

/// What a state file holds: the newest value of each persistent variable, and the access
/// tokens `oauth2` auths got, until they expire.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct State {
    pub variables: IndexMap<String, Entry>,
    /// By [`CachedToken::key`].
    pub tokens: IndexMap<String, CachedToken>,
}

/// An access token an `oauth2` auth got, kept for the runs that follow until it nears expiry.
#[derive(Clone, PartialEq, Eq)]
pub struct CachedToken {
    pub access_token: String,
    pub token_type: Option<String>,
    /// When the token expires: the answer's time plus its `expires_in`. A token without one is
    /// never read back.
    pub expires_at: Option<SystemTime>,
    /// What the server granted (space-separated).
    pub scope: Option<String>,
    /// Where API calls go (Zoom's `api_url`).
    pub api_url: Option<String>,
    /// The token endpoint, for a reader of the file.
    pub token_url: String,
    /// The request that got it.
    pub by: Option<String>,
}

impl CachedToken {
    /// The key a token is kept under: a fingerprint of what identifies the credential (grant,
    /// token URL, client ID, account and scope asked for), so another app or account never
    /// reads it.
    pub fn key(parts: &[&str]) -> String {
        // Each part with its length first: no two lists of parts give the same text, whatever
        // characters they hold (a separator alone would let `["a,b", "c"]` meet `["a", "b,c"]`).
        let mut text = String::new();
        for part in parts {
            text.push_str(&part.len().to_string());
            text.push(':');
            text.push_str(part);
        }
        let mut print = fingerprint(&text);
        print.truncate(16);
        print
    }

    /// True when the token is still good for at least `margin`.
    pub fn fresh(&self, margin: std::time::Duration, now: SystemTime) -> bool {
        self.expires_at
            .is_some_and(|at| at.duration_since(now).is_ok_and(|left| left > margin))
    }
}

/// The token is a secret: `{:?}` prints its fingerprint.
impl std::fmt::Debug for CachedToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CachedToken")
            .field("access_token", &fingerprint(&self.access_token))
            .field("expires_at", &self.expires_at)
            .field("scope", &self.scope)
            .field("api_url", &self.api_url)
            .finish_non_exhaustive()
    }
}

/// The newest value of one persistent variable and what it replaced.
#[derive(Clone, PartialEq, Eq)]
pub struct Entry {
    pub value: String,
    /// The value this one replaced, kept so a user can roll back by hand.
    pub previous: Option<String>,
    pub updated: Option<SystemTime>,
    /// The request whose answer carried the value.
    pub by: Option<String>,
    /// Lowercase hex SHA-256 of each value this one replaced, newest first, at most
    /// [`MAX_SUPERSEDED`].
    pub superseded: Vec<String>,
    /// Lowercase hex SHA-256 of each value supplied to a run as input (environment file,
    /// `--var`, `env(...)`), the most recently supplied first, at most [`MAX_INPUTS`]. A supplied
    /// value other than the current one never wins over the chain it started or joined.
    pub inputs: Vec<String>,
}

/// Values are secrets: `{:?}` of a state must never print them (it ends up in panics and logs).
impl std::fmt::Debug for Entry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Entry")
            .field("value", &fingerprint(&self.value))
            .field("previous", &self.previous.as_deref().map(fingerprint))
            .field("updated", &self.updated)
            .field("by", &self.by)
            .field("superseded", &self.superseded)
            .field("inputs", &self.inputs)
            .finish()
    }
}

impl std::fmt::Debug for State {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_map()
            .entries(self.variables.iter())
            .entries(self.tokens.iter())
            .finish()
    }
}

impl Entry {
    /// True when `value` is one this entry's value replaced: its fingerprint is listed, or it
    /// is `previous` (which a hand-edited file may have kept without its fingerprint).
    /// A value supplied to an earlier run counts too: once the state holds a newer value, an
    /// input that was already used is stale, however many rotations ago that was.
    pub fn supersedes(&self, value: &str) -> bool {
        if value == self.value {
            return false;
        }
        if self.previous.as_deref() == Some(value) {
            return true;
        }
        let print = fingerprint(value);
        self.superseded.contains(&print) || self.inputs.contains(&print)
    }

    /// The entry that follows this one (or none) when a run that used `in_use` receives `value`.
    ///
    /// Every value the state or the run displaces goes into `superseded`: the one the run spent
    /// and, when the user injected a token the state had never seen, the state's own value too.
    /// Both are dead once the provider has issued `value`. `supplied` is the value the run was
    /// given as input, if any: it moves to the front of `inputs`.
    pub fn next(
        old: Option<&Entry>,
        in_use: Option<&str>,
        supplied: Option<&str>,
        value: &str,
        by: &str,
        now: SystemTime,
    ) -> Entry {
        let previous = in_use
            .or(old.map(|e| e.value.as_str()))
            .filter(|p| *p != value);
        let mut superseded: Vec<String> = Vec::new();
        let mut push = |print: String| {
            if !superseded.contains(&print) {
                superseded.push(print);
            }
        };
        if let Some(previous) = previous {
            push(fingerprint(previous));
        }
        if let Some(old) = old {
            if old.value != value {
                push(fingerprint(&old.value));
            }
            old.superseded.iter().cloned().for_each(&mut push);
        }
        // A value that comes back is current again, not dead.
        let current = fingerprint(value);
        superseded.retain(|s| *s != current);
        superseded.truncate(MAX_SUPERSEDED);
        let mut inputs: Vec<String> = supplied.map(fingerprint).into_iter().collect();
        for print in old.into_iter().flat_map(|e| e.inputs.iter()) {
            if !inputs.contains(print) {
                inputs.push(print.clone());
            }
        }
        inputs.truncate(MAX_INPUTS);
        Entry {
            value: value.to_string(),
            previous: previous
                .or_else(|| old.and_then(|e| e.previous.as_deref()))
                .map(str::to_string),
            updated: Some(now),
            by: Some(by.to_string()),
            superseded,
            inputs,
        }
    }
}

/// Lowercase hex SHA-256 of a value.
pub fn fingerprint(value: &str) -> String {
    Sha256::digest(value.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

// ---- reading ----

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct StateDoc {
    version: Spanned<u32>,
    #[serde(default)]
    variables: IndexMap<String, EntryDoc>,
    #[serde(default)]
    tokens: IndexMap<String, TokenDoc>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct TokenDoc {
    access_token: String,
    #[serde(default)]
    token_type: Option<String>,
    #[serde(default)]
    expires_at: Option<Spanned<String>>,
    #[serde(default)]
    scope: Option<String>,
    #[serde(default)]
    api_url: Option<String>,
    token_url: String,
    #[serde(default)]
    by: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct EntryDoc {
    value: String,
    #[serde(default)]
    previous: Option<String>,
    #[serde(default)]
    updated: Option<Spanned<String>>,
    #[serde(default)]
    by: Option<String>,
    #[serde(default)]
    superseded: Vec<Spanned<String>>,
    #[serde(default)]
    inputs: Vec<Spanned<String>>,
}

/// Reads a state file's text. `file.path` is used in messages.
pub fn parse(file: &Arc<SourceFile>) -> Result<State, Diagnostic> {
    if file.text.trim().is_empty() {
        // courier never writes an empty state file (it renames complete files into place), so
        // this one was truncated by something else: saying so beats "missing key `version`".
        return Err(
            Diagnostic::new(format!("the state file `{}` is empty", file.path.display()))
                .note("courier never writes an empty state file; something else truncated it")
                .help(
                    "restore it from a backup, or delete it to start from the environment's values \
             (a rotated token it held is then lost)",
                ),
        );
    }
    let doc: StateDoc = yaml::parse(file, "state file")?;
    if doc.version.value != VERSION {
        return Err(Diagnostic::new(format!(
            "unsupported state file version `{}`",
            doc.version.value
        ))
        .at(yaml::spot_of(file, &doc.version))
        .label(format!("this courier reads version {VERSION}"))
        .help("the file was written by another courier release: use that release"));
    }
    let mut state = State::default();
    let time = |text: Option<Spanned<String>>| match text {
        Some(text) => humantime::parse_rfc3339_weak(&text.value)
            .map(Some)
            .map_err(|e| {
                Diagnostic::new(format!("invalid time in state file: {e}"))
                    .at(yaml::spot_of(file, &text))
                    .label("expected a time like `2026-11-28T13:00:00Z`")
            }),
        None => Ok(None),
    };
    for (key, token) in doc.tokens {
        let cached = CachedToken {
            access_token: token.access_token,
            token_type: token.token_type,
            expires_at: time(token.expires_at)?,
            scope: token.scope,
            api_url: token.api_url,
            token_url: token.token_url,
            by: token.by,
        };
        state.tokens.insert(key, cached);
    }
    for (name, entry) in doc.variables {
        let updated = time(entry.updated)?;
        let superseded = fingerprints(file, entry.superseded)?;
        let inputs = fingerprints(file, entry.inputs)?;
        state.variables.insert(
            name,
            Entry {
                value: entry.value,
                previous: entry.previous,
                updated,
                by: entry.by,
                superseded,
                inputs,
            },
        );
    }
    Ok(state)
}

fn fingerprints(
    file: &Arc<SourceFile>,
    prints: Vec<Spanned<String>>,
) -> Result<Vec<String>, Diagnostic> {
    prints
        .into_iter()
        .map(|print| {
            let hex = print.value.to_ascii_lowercase();
            if hex.len() != 64 || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
                return Err(
                    Diagnostic::new("invalid fingerprint in state file".to_string())
                        .at(yaml::spot_of(file, &print))
                        .label("expected 64 hex digits (a SHA-256)"),
                );
            }
            Ok(hex)
        })
        .collect()
}

// ---- writing ----

#[derive(Serialize)]
struct StateOut<'a> {
    version: u32,
    variables: IndexMap<&'a str, EntryOut<'a>>,
    #[serde(skip_serializing_if = "IndexMap::is_empty")]
    tokens: IndexMap<&'a str, TokenOut<'a>>,
}

#[derive(Serialize)]
struct TokenOut<'a> {
    access_token: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    token_type: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    expires_at: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    scope: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    api_url: Option<&'a str>,
    token_url: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    by: Option<&'a str>,
}

#[derive(Serialize)]
struct EntryOut<'a> {
    value: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    previous: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    updated: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    by: Option<&'a str>,
    superseded: FlowSeq<&'a [String]>,
    #[serde(skip_serializing_if = "is_empty")]
    inputs: FlowSeq<&'a [String]>,
}

fn is_empty(list: &FlowSeq<&[String]>) -> bool {
    list.0.is_empty()
}

/// The full text of a state file.
pub fn render(state: &State) -> Result<String, serde_saphyr::SerializeError> {
    let out = StateOut {
        version: VERSION,
        variables: state
            .variables
            .iter()
            .map(|(name, e)| {
                let entry = EntryOut {
                    value: &e.value,
                    previous: e.previous.as_deref(),
                    updated: e
                        .updated
                        .map(|t| humantime::format_rfc3339_seconds(t).to_string()),
                    by: e.by.as_deref(),
                    superseded: FlowSeq(&e.superseded),
                    inputs: FlowSeq(&e.inputs),
                };
                (name.as_str(), entry)
            })
            .collect(),
        tokens: state
            .tokens
            .iter()
            .map(|(key, t)| {
                let token = TokenOut {
                    access_token: &t.access_token,
                    token_type: t.token_type.as_deref(),
                    expires_at: t
                        .expires_at
                        .map(|at| humantime::format_rfc3339_seconds(at).to_string()),
                    scope: t.scope.as_deref(),
                    api_url: t.api_url.as_deref(),
                    token_url: &t.token_url,
                    by: t.by.as_deref(),
                };
                (key.as_str(), token)
            })
            .collect(),
    };
    let options = serde_saphyr::ser_options! {
        // Quoting every string is what makes any token read back unchanged; a plain scalar
        // would turn `0755`, `~` or `2026-01-01` into something else for some readers.
        quote_all: true,
        // Folded `>` scalars would rewrap long values; keep each value on one line.
        prefer_block_scalars: false,
    };
    let body = serde_saphyr::to_string_with_options(&out, options)?;
    Ok(format!("{HEADER}{body}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn file(text: &str) -> Arc<SourceFile> {
        SourceFile::new("prod.state.yaml", text)
    }

    fn at(secs: u64) -> SystemTime {
        SystemTime::UNIX_EPOCH + Duration::from_secs(secs)
    }

    #[test]
    fn fingerprint_is_hex_sha256() {
        assert_eq!(
            fingerprint("abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }

    #[test]
    fn written_text_matches_the_documented_layout() {
        let mut state = State::default();
        state.variables.insert(
            "refresh_token".into(),
            Entry {
                value: "new".into(),
                previous: Some("old".into()),
                updated: Some(at(1_795_870_800)),
                by: Some("Refresh access token".into()),
                superseded: vec![fingerprint("old")],
                inputs: Vec::new(),
            },
        );
        let text = render(&state).unwrap();
        let expected = format!(
            "{HEADER}version: 1\nvariables:\n  refresh_token:\n    value: 'new'\n    \
             previous: 'old'\n    updated: '2026-11-28T13:00:00Z'\n    \
             by: 'Refresh access token'\n    superseded: ['{}']\n",
            fingerprint("old")
        );
        assert_eq!(text, expected);
        assert_eq!(parse(&file(&text)).unwrap(), state);
    }

    proptest::proptest! {
        /// Two credentials told apart by any part never share a kept token.
        #[test]
        fn token_keys_differ_when_any_part_does(
            a in proptest::collection::vec(".{0,12}", 1..6),
            b in proptest::collection::vec(".{0,12}", 1..6),
        ) {
            let (a, b): (Vec<&str>, Vec<&str>) =
                (a.iter().map(String::as_str).collect(), b.iter().map(String::as_str).collect());
            proptest::prop_assert_eq!(CachedToken::key(&a) == CachedToken::key(&b), a == b);
        }
    }

    #[test]
    fn token_keys_do_not_meet_across_a_separator() {
        assert_ne!(
            CachedToken::key(&["a\u{0}b", "c"]),
            CachedToken::key(&["a", "b\u{0}c"])
        );
    }

    #[test]
    fn kept_tokens_read_back_unchanged() {
        let mut state = State::default();
        for (i, value) in ["eyJ.a.b", "", "yes", "line\nbreak", "'q' \"d\""]
            .iter()
            .enumerate()
        {
            state.tokens.insert(
                CachedToken::key(&["refresh_token", &i.to_string()]),
                CachedToken {
                    access_token: value.to_string(),
                    token_type: Some("bearer".into()),
                    expires_at: Some(at(1_795_870_800 + i as u64)),
                    scope: (i % 2 == 0).then(|| "user:read meeting:read".into()),
                    api_url: Some("https://api-eu.zoom.us".into()),
                    token_url: "https://zoom.us/oauth/token".into(),
                    by: None,
                },
            );
        }
        let text = render(&state).unwrap();
        assert_eq!(parse(&file(&text)).unwrap(), state, "{text}");
        // A token is good while more than the margin is left, never when it is not known.
        let token = &state.tokens[0];
        let margin = Duration::from_secs(300);
        assert!(token.fresh(margin, at(1_795_870_800 - 301)));
        assert!(!token.fresh(margin, at(1_795_870_800 - 300)));
        assert!(!token.fresh(margin, at(1_795_870_900)));
        let unknown = CachedToken {
            expires_at: None,
            ..token.clone()
        };
        assert!(!unknown.fresh(margin, at(0)));
    }

    #[test]
    fn awkward_values_read_back_unchanged() {
        let values = [
            "",
            "yes",
            "on",
            "0755",
            "~",
            "null",
            "2026-01-01",
            "1e3",
            " leading and trailing ",
            "a: b # c",
            "'quoted' \"double\"",
            "line one\nline two\n",
            "tab\there\r\n",
            "back\\slash",
            "- dash",
            "[flow]",
            "{map: 1}",
            "&anchor *alias !tag %dir @at `tick`",
            "ünïcödé ✓",
            &"eyJhbGciOiJIUzUxMiJ9.".repeat(20),
        ];
        let mut state = State::default();
        for (i, value) in values.iter().enumerate() {
            state.variables.insert(
                format!("v{i}"),
                Entry {
                    value: value.to_string(),
                    previous: Some(value.to_string()),
                    updated: None,
                    by: Some(value.to_string()),
                    superseded: Vec::new(),
                    inputs: Vec::new(),
                },
            );
        }
        let text = render(&state).unwrap();
        let back = parse(&file(&text)).unwrap();
        for (i, value) in values.iter().enumerate() {
            let entry = &back.variables[&format!("v{i}")];
            assert_eq!(entry.value, *value, "{text}");
            assert_eq!(entry.by.as_deref(), Some(*value));
        }
    }

    #[test]
    fn a_minimal_hand_written_entry_is_accepted() {
        let state = parse(&file("version: 1\nvariables:\n  t:\n    value: abc\n")).unwrap();
        let entry = &state.variables["t"];
        assert_eq!(entry.value, "abc");
        assert_eq!((entry.previous.as_ref(), entry.updated), (None, None));

        let text =
            "version: 1\nvariables:\n  t:\n    value: abc\n    updated: 2026-11-28T13:00:00Z\n";
        let state = parse(&file(text)).unwrap();
        assert_eq!(state.variables["t"].updated, Some(at(1_795_870_800)));
    }

    #[test]
    fn invalid_yaml_points_at_line_and_column() {
        let d = parse(&file("version: 1\nvariables:\n  t:\n    valeu: x\n")).unwrap_err();
        assert_eq!(d.title, "unknown key `valeu` in state file");
        assert_eq!(d.spot.as_ref().unwrap().position(), "prod.state.yaml:4:5");
        let rendered = d.render(false);
        assert!(rendered.contains("--> prod.state.yaml:4:5"), "{rendered}");
    }

    #[test]
    fn bad_version_time_and_fingerprint_are_pointed_at() {
        let d = parse(&file("version: 2\n")).unwrap_err();
        assert_eq!(d.title, "unsupported state file version `2`");
        assert_eq!(d.spot.unwrap().position(), "prod.state.yaml:1:10");

        let d = parse(&file(
            "version: 1\nvariables:\n  t:\n    value: x\n    updated: yesterday\n",
        ))
        .unwrap_err();
        assert!(d.title.starts_with("invalid time"), "{}", d.title);
        assert_eq!(d.spot.unwrap().position(), "prod.state.yaml:5:14");

        let d = parse(&file(
            "version: 1\nvariables:\n  t:\n    value: x\n    superseded: [abc]\n",
        ))
        .unwrap_err();
        assert_eq!(d.title, "invalid fingerprint in state file");
        assert_eq!(d.spot.unwrap().position(), "prod.state.yaml:5:18");
    }

    #[test]
    fn an_empty_file_is_an_error_not_an_empty_state() {
        let d = parse(&file("\n")).unwrap_err();
        assert!(d.title.contains("is empty"), "{}", d.title);
    }

    #[test]
    fn next_entry_chains_the_replaced_values() {
        let first = Entry::next(None, Some("t0"), None, "t1", "refresh", at(1));
        assert_eq!(first.previous.as_deref(), Some("t0"));
        assert_eq!(first.superseded, [fingerprint("t0")]);

        let second = Entry::next(Some(&first), Some("t1"), None, "t2", "refresh", at(2));
        assert_eq!(second.previous.as_deref(), Some("t1"));
        assert_eq!(second.superseded, [fingerprint("t1"), fingerprint("t0")]);

        // The user injected `u0`, unknown to the state: the chain restarts from it, and the
        // state's own `t2` is dead too.
        let third = Entry::next(Some(&second), Some("u0"), None, "u1", "refresh", at(3));
        assert_eq!(third.previous.as_deref(), Some("u0"));
        assert_eq!(
            third.superseded,
            [
                fingerprint("u0"),
                fingerprint("t2"),
                fingerprint("t1"),
                fingerprint("t0")
            ]
        );
    }

    #[test]
    fn next_entry_keeps_at_most_twenty_and_never_lists_the_current_value() {
        let mut entry = Entry::next(None, None, None, "v0", "r", at(0));
        for i in 1..30 {
            entry = Entry::next(Some(&entry), None, None, &format!("v{i}"), "r", at(i));
        }
        assert_eq!(entry.superseded.len(), MAX_SUPERSEDED);
        assert_eq!(entry.superseded[0], fingerprint("v28"));

        // An unchanged value (a provider that does not rotate) keeps the chain as it was.
        let same = Entry::next(Some(&entry), None, None, "v29", "r", at(99));
        assert_eq!(same.superseded, entry.superseded);
        assert_eq!(same.previous.as_deref(), Some("v28"));

        // A value that comes back is current, not superseded.
        let back = Entry::next(Some(&entry), None, None, "v28", "r", at(100));
        assert!(!back.supersedes("v28"));
        assert!(back.supersedes("v29"));
    }
}
