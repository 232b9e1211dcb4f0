//! One redaction pass that every output goes through.
//!
//! The [`Redactor`] knows every secret value of the run (listed under `secrets:`, named like a
//! secret, or captured into such a name) and the forms those values take on the wire: URL-encoded
//! in a form or query, JSON-escaped in a body, base64 of `id:secret` in a Basic header. Reports
//! and error messages call [`Redactor::redact`] on everything they print.

use std::borrow::Cow;
use std::sync::OnceLock;

use aho_corasick::{AhoCorasick, MatchKind};
use base64::Engine as _;

/// What replaces a secret in output.
pub const MASK: &str = "***";

/// Values shorter than this are not masked: replacing every `1` or `ab` in the output would
/// garble it while protecting nothing an attacker could not guess.
const MIN_SECRET_LEN: usize = 4;

/// True for variable names that hold credentials by convention (`ClientSecret`, `refresh_token`,
/// `api_key`, `password`, `Authorization`).
pub fn name_looks_secret(name: &str) -> bool {
    // Names that describe a credential rather than hold one: `token_type` is `bearer`,
    // `token_expires_in` is a number of seconds.
    let describes = [
        "type",
        "url",
        "uri",
        "expires_in",
        "expires_at",
        "expiry",
        "_id",
        "length",
    ]
    .iter()
    .any(|suffix| ends_with_ignore_case(name, suffix));
    let words = [
        "secret",
        "token",
        "password",
        "passwd",
        "key",
        "authorization",
        "credential",
    ];
    !describes && words.iter().any(|word| contains_ignore_case(name, word))
}

// Without allocating: this runs on every key of every JSON answer.
fn contains_ignore_case(haystack: &str, needle: &str) -> bool {
    haystack
        .as_bytes()
        .windows(needle.len())
        .any(|w| w.eq_ignore_ascii_case(needle.as_bytes()))
}

fn ends_with_ignore_case(text: &str, suffix: &str) -> bool {
    text.len() >= suffix.len()
        && text.as_bytes()[text.len() - suffix.len()..].eq_ignore_ascii_case(suffix.as_bytes())
}

/// The forms of every secret, looked up by value: a long run learns a new token per pass, and
/// finding whether one is known must not cost a scan of all the others.
type Needles = std::collections::HashSet<String, foldhash::fast::RandomState>;

#[derive(Debug, Clone, Default)]
pub struct Redactor {
    /// Every secret value and the forms it takes on the wire (see [`Redactor::add`]).
    needles: Needles,
    /// The secret values as given, without derived forms, in the order learnt.
    values: Vec<String>,
    disabled: bool,
    /// Finds every needle in one pass over a text; built by the first `redact` after a change.
    /// `None` when the needles are too many for the automaton's limits.
    finder: OnceLock<Option<AhoCorasick>>,
}

impl Redactor {
    /// A redactor that masks nothing (`--show-secrets`).
    pub fn disabled() -> Redactor {
        Redactor {
            disabled: true,
            ..Redactor::default()
        }
    }

    pub fn is_disabled(&self) -> bool {
        self.disabled
    }

    /// Adds a secret value and the forms it takes when sent; true if the value was new.
    pub fn add(&mut self, value: &str) -> bool {
        if self.disabled || value.chars().count() < MIN_SECRET_LEN || self.needles.contains(value) {
            return false;
        }
        let url_encoded: String = url::form_urlencoded::byte_serialize(value.as_bytes()).collect();
        let json_escaped = serde_json::to_string(value).unwrap_or_default();
        let json_escaped = json_escaped.trim_matches('"').to_string();
        self.values.push(value.to_string());
        self.needles.insert(value.to_string());
        self.needles.insert(url_encoded);
        self.needles.insert(json_escaped);
        self.finder = OnceLock::new();
        true
    }

    /// Adds the credentials of a Basic header: the base64 of `user:password` is as secret as the
    /// password itself.
    pub fn add_basic(&mut self, user: &str, password: &str) {
        let encoded =
            base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"));
        self.add(&encoded);
    }

    /// Learns every secret `other` knows.
    pub fn merge(&mut self, other: &Redactor) {
        for value in &other.values {
            self.add(value);
        }
    }

    /// The secret values known so far, as given (their derived forms are masked too, but are
    /// not secrets of their own).
    pub fn values(&self) -> &[String] {
        &self.values
    }

    /// `text` with every occurrence of a secret masked. Where occurrences overlap, the stretch
    /// they cover together is masked once: no byte of any secret is left showing.
    pub fn redact<'a>(&self, text: &'a str) -> Cow<'a, str> {
        if self.needles.is_empty() {
            return Cow::Borrowed(text);
        }
        let finder = self.finder.get_or_init(|| {
            AhoCorasick::builder()
                .match_kind(MatchKind::Standard)
                .build(&self.needles)
                .ok()
        });
        let mut spans: Vec<(usize, usize)> = match finder {
            Some(finder) => finder
                .find_overlapping_iter(text)
                .map(|m| (m.start(), m.end()))
                .collect(),
            None => self
                .needles
                .iter()
                .flat_map(|n| text.match_indices(n.as_str()))
                .map(|(at, n)| (at, at + n.len()))
                .collect(),
        };
        if spans.is_empty() {
            return Cow::Borrowed(text);
        }
        spans.sort_unstable();
        let mut out = String::with_capacity(text.len());
        let (mut shown, mut masked) = (0, spans[0]);
        for (start, end) in spans.into_iter().skip(1) {
            if start < masked.1 {
                masked.1 = masked.1.max(end);
            } else {
                out.push_str(&text[shown..masked.0]);
                out.push_str(MASK);
                (shown, masked) = (masked.1, (start, end));
            }
        }
        out.push_str(&text[shown..masked.0]);
        out.push_str(MASK);
        out.push_str(&text[masked.1..]);
        Cow::Owned(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masks_the_value_and_its_encoded_forms() {
        let mut r = Redactor::default();
        r.add("s3cr et/+\"x");
        assert_eq!(r.redact("raw s3cr et/+\"x"), "raw ***");
        assert_eq!(r.redact("form s3cr+et%2F%2B%22x"), "form ***");
        assert_eq!(r.redact(r#"json "s3cr et/+\"x""#), r#"json "***""#);
    }

    #[test]
    fn overlapping_and_repeated_secrets_leave_nothing_showing() {
        let mut r = Redactor::default();
        r.add("abcdef");
        r.add("defghi");
        assert_eq!(r.redact("x abcdefghi y"), "x *** y");
        assert_eq!(r.redact("abcdef abcdef"), "*** ***");
        assert_eq!(r.redact("abcdefdefghi"), "******");
        assert_eq!(r.redact("nothing here"), "nothing here");
        // A secret inside a longer one is masked with it.
        r.add("bcde");
        assert_eq!(r.redact("[abcdef] [bcde]"), "[***] [***]");
    }

    #[test]
    fn learns_each_value_once_and_masks_what_it_learns_later() {
        let mut r = Redactor::default();
        assert!(r.add("first-token"));
        assert!(!r.add("first-token"));
        assert_eq!(r.redact("first-token second-token"), "*** second-token");
        assert!(r.add("second-token"));
        assert_eq!(r.redact("first-token second-token"), "*** ***");
        assert_eq!(r.values(), ["first-token", "second-token"]);
    }

    #[test]
    fn masks_basic_credentials() {
        let mut r = Redactor::default();
        r.add_basic("id", "secret");
        assert_eq!(r.redact("Basic aWQ6c2VjcmV0"), "Basic ***");
    }

    #[test]
    fn short_values_and_disabled_redactor_mask_nothing() {
        let mut r = Redactor::default();
        r.add("abc");
        assert_eq!(r.redact("abc"), "abc");
        let mut off = Redactor::disabled();
        off.add("long secret");
        assert_eq!(off.redact("long secret"), "long secret");
    }

    #[test]
    fn secret_names() {
        for name in [
            "ClientSecret",
            "refresh_token",
            "API_KEY",
            "password",
            "Authorization",
            "db_passwd",
            "GoogleCredential",
            "sessionToken",
            "clé_secret",
        ] {
            assert!(name_looks_secret(name), "{name}");
        }
        for name in [
            "ClientID",
            "base_url",
            "account_id",
            "token_type",
            "token_url",
            "api_key_id",
            "",
            "clé",
        ] {
            assert!(!name_looks_secret(name), "{name}");
        }
    }
}
