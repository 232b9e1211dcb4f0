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

/// The forms a secret takes in what courier prints: as given; form-encoded (`+` for a space) and
/// percent-encoded (`%20`, with `/` kept or encoded), as in a form body, a URL or a path; JSON-escaped once (a string in a JSON
/// answer) and twice (a JSON document carried in a JSON string, as an echo server returns a
/// request body). Each form is exactly the secret's bytes in that context, never a delimiter
/// around them, so a mask replaces the secret and nothing else.
fn wire_forms(value: &str) -> Vec<String> {
    let form: String = url::form_urlencoded::byte_serialize(value.as_bytes()).collect();
    let percent = form.replace('+', "%20");
    // The template filter `urlencode` leaves `/` as it is, for paths.
    let path = percent.replace("%2F", "/");
    let once = json_inner(value);
    let twice = json_inner(&once);
    let mut forms = vec![value.to_string(), form, percent, path, once, twice];
    forms.sort();
    forms.dedup();
    forms
}

/// `value` as it stands between the quotes of a JSON string.
fn json_inner(value: &str) -> String {
    let quoted = serde_json::to_string(value).unwrap_or_default();
    // Exactly the two quotes serde_json added: a value ending in `"` ends in `\"` inside.
    quoted
        .strip_prefix('"')
        .and_then(|q| q.strip_suffix('"'))
        .unwrap_or(&quoted)
        .to_string()
}

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
        self.values.push(value.to_string());
        for form in wire_forms(value) {
            self.needles.insert(form);
        }
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
    fn a_mask_replaces_the_secret_and_not_its_delimiters() {
        // An echoed Digest header: the secret ends in a quote, which JSON escapes.
        let mut r = Redactor::default();
        let header = r#"Digest username="u", response="6629fae4""#;
        r.add(header);
        let echoed = serde_json::json!({ "authorization": header }).to_string();
        assert_eq!(r.redact(&echoed), r#"{"authorization":"***"}"#);
        // A JSON body echoed inside a JSON string: escaped twice.
        let body = serde_json::json!({ "password": header }).to_string();
        let echo = serde_json::json!({ "data": body }).to_string();
        assert_eq!(r.redact(&echo), r#"{"data":"{\"password\":\"***\"}"}"#);
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

#[cfg(test)]
mod props {
    use super::*;
    use crate::diag::{Diagnostic, SourceFile, Spot};
    use proptest::prelude::*;

    /// Secrets with the characters that break naive masking: quotes, backslashes, `%`, `+`,
    /// `/`, `&`, `=`, `#`, spaces and non-ASCII text.
    fn secret() -> impl Strategy<Value = String> {
        proptest::string::string_regex(r#"[a-zA-Z0-9"'\\%+/&=# :{}éü✓-]{4,24}"#).unwrap()
    }

    /// Every context an output may show a secret in, as (what is printed, the form of the
    /// secret it carries).
    fn contexts(secret: &str) -> Vec<(String, String)> {
        let json1 = serde_json::json!({ "access_token": secret }).to_string();
        let json2 = serde_json::json!({ "data": json1 }).to_string();
        let form = serde_urlencoded::to_string([("refresh_token", secret)]).unwrap();
        let env = minijinja::Environment::new();
        let filtered = env
            .render_str("{{ s | urlencode }}", minijinja::context! { s => secret })
            .unwrap();
        let basic = base64::engine::general_purpose::STANDARD.encode(format!("client:{secret}"));
        vec![
            (format!("token: {secret}."), secret.to_string()),
            (json1.clone(), json_inner(secret)),
            (json2.clone(), json_inner(&json_inner(secret))),
            (format!("POST /oauth/token\n\n{form}"), form.clone()),
            (format!("GET /x?t={filtered}"), filtered.clone()),
            (format!("authorization: Basic {basic}"), basic.clone()),
        ]
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

        #[test]
        fn no_form_of_a_secret_survives_in_any_context(secret in secret()) {
            let mut r = Redactor::default();
            r.add(&secret);
            r.add_basic("client", &secret);
            for (text, form) in contexts(&secret) {
                let shown = r.redact(&text);
                prop_assert!(!shown.contains(&secret), "{:?} shows the secret: {}", text, shown);
                prop_assert!(!shown.contains(&form), "{:?} shows {:?}: {}", text, form, shown);
            }
        }

        /// The mask replaces exactly the secret's bytes: what was around it is still there.
        #[test]
        fn a_mask_keeps_the_delimiters(secret in secret()) {
            let mut r = Redactor::default();
            r.add(&secret);
            let json = serde_json::json!({ "k": secret }).to_string();
            prop_assert_eq!(r.redact(&json), r#"{"k":"***"}"#);
            let angled = format!("<{secret}>");
            prop_assert_eq!(r.redact(&angled), "<***>");
        }

        /// An error quoting a broken environment file shows no byte of the value, whatever the
        /// value holds and wherever the error points in it.
        #[test]
        fn a_broken_environment_snippet_shows_no_secret(secret in secret(), at in 0usize..24) {
            let text = format!("variables:\n  ClientSecret: \"{secret}\n  other: x\n");
            let file = SourceFile::credentials("env.yaml", text.clone());
            let start = text.find(&secret).unwrap() + at.min(secret.len());
            let d = Diagnostic::new("invalid environment file: unclosed quote")
                .at(Spot::new(&file, start..start + 1))
                .label("here");
            let shown = d.render(false);
            prop_assert!(!shown.contains(&secret), "{}", shown);
            prop_assert!(shown.contains("env.yaml:2:"), "{}", shown);
        }
    }
}
