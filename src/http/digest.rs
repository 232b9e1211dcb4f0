//! HTTP Digest authentication (RFC 7616; RFC 2617's MD5 as most servers still offer it): the
//! `Authorization` answer to a `WWW-Authenticate: Digest …` challenge.
//!
//! Supported: `algorithm` SHA-256, MD5 and their `-sess` forms, `qop=auth` or no `qop` (RFC
//! 2069), `opaque` echoed. A challenge that only offers `qop=auth-int` (a hash of the body) or
//! another algorithm is not answered: the 401 stands, and says why itself.

use md5::Md5;
use reqwest::header::{HeaderMap, WWW_AUTHENTICATE};
use sha2::{Digest as _, Sha256};

/// The user name and password a request's `auth: { digest: … }` rendered to.
#[derive(Clone, PartialEq, Eq)]
pub struct Credentials {
    pub username: String,
    pub password: String,
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Credentials")
            .field("username", &self.username)
            .field("password", &"***")
            .finish()
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Algorithm {
    Md5,
    Sha256,
}

/// What the server asked for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Challenge {
    realm: String,
    nonce: String,
    opaque: Option<String>,
    algorithm: Algorithm,
    sess: bool,
    /// `qop=auth` offered; without it, the RFC 2069 form.
    qop_auth: bool,
}

/// The strongest Digest challenge among the response's `WWW-Authenticate` headers that
/// courier can answer.
pub(super) fn challenge(headers: &HeaderMap) -> Option<Challenge> {
    let mut best: Option<Challenge> = None;
    for value in headers.get_all(WWW_AUTHENTICATE) {
        let Some(c) = value.to_str().ok().and_then(parse) else {
            continue;
        };
        if best.as_ref().is_none_or(|b| b.algorithm == Algorithm::Md5) {
            best = Some(c);
        }
    }
    best
}

fn parse(value: &str) -> Option<Challenge> {
    let rest = value.trim_start();
    let (scheme, params) = rest.split_once(char::is_whitespace)?;
    if !scheme.eq_ignore_ascii_case("digest") {
        return None;
    }
    let params = parameters(params);
    let get = |name: &str| {
        params
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.clone())
    };
    let algorithm_name = get("algorithm").unwrap_or_else(|| "MD5".into());
    let (name, sess) = match algorithm_name.to_ascii_uppercase().strip_suffix("-SESS") {
        Some(name) => (name.to_string(), true),
        None => (algorithm_name.to_ascii_uppercase(), false),
    };
    let algorithm = match name.as_str() {
        "MD5" => Algorithm::Md5,
        "SHA-256" => Algorithm::Sha256,
        _ => return None,
    };
    let qop = get("qop");
    let qop_auth = qop
        .as_deref()
        .is_some_and(|q| q.split(',').any(|o| o.trim().eq_ignore_ascii_case("auth")));
    if qop.is_some() && !qop_auth {
        return None;
    }
    Some(Challenge {
        realm: get("realm")?,
        nonce: get("nonce")?,
        opaque: get("opaque"),
        algorithm,
        sess,
        qop_auth,
    })
}

/// `a="x, y", b=z` as pairs; quoted strings keep their commas, `\"` its quote.
fn parameters(text: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut chars = text.chars().peekable();
    loop {
        while chars.next_if(|c| c.is_whitespace() || *c == ',').is_some() {}
        let name: String =
            std::iter::from_fn(|| chars.next_if(|c| *c != '=' && *c != ',')).collect();
        if name.trim().is_empty() {
            return out;
        }
        if chars.next_if_eq(&'=').is_none() {
            continue;
        }
        while chars.next_if(|c| c.is_whitespace()).is_some() {}
        let mut value = String::new();
        if chars.next_if_eq(&'"').is_some() {
            while let Some(c) = chars.next() {
                match c {
                    '\\' => value.extend(chars.next()),
                    '"' => break,
                    c => value.push(c),
                }
            }
        } else {
            value = std::iter::from_fn(|| chars.next_if(|c| *c != ',')).collect();
            value = value.trim().to_string();
        }
        out.push((name.trim().to_string(), value));
    }
}

/// The `Authorization` value answering `challenge` for `method` on `uri` (the request target:
/// path and query), with the client nonce `cnonce`.
pub(super) fn authorization(
    challenge: &Challenge,
    credentials: &Credentials,
    method: &str,
    uri: &str,
    cnonce: &str,
) -> String {
    let h = |text: &str| hash(challenge.algorithm, text);
    let Credentials { username, password } = credentials;
    let (realm, nonce) = (&challenge.realm, &challenge.nonce);
    let mut ha1 = h(&format!("{username}:{realm}:{password}"));
    if challenge.sess {
        ha1 = h(&format!("{ha1}:{nonce}:{cnonce}"));
    }
    let ha2 = h(&format!("{method}:{uri}"));
    let nc = "00000001";
    let response = if challenge.qop_auth {
        h(&format!("{ha1}:{nonce}:{nc}:{cnonce}:auth:{ha2}"))
    } else {
        h(&format!("{ha1}:{nonce}:{ha2}"))
    };
    let algorithm = match (challenge.algorithm, challenge.sess) {
        (Algorithm::Md5, false) => "MD5",
        (Algorithm::Md5, true) => "MD5-sess",
        (Algorithm::Sha256, false) => "SHA-256",
        (Algorithm::Sha256, true) => "SHA-256-sess",
    };
    let mut out = format!(
        "Digest username=\"{}\", realm=\"{}\", nonce=\"{}\", uri=\"{}\", algorithm={algorithm}, response=\"{response}\"",
        quoted(username),
        quoted(realm),
        quoted(nonce),
        quoted(uri)
    );
    if challenge.qop_auth {
        out.push_str(&format!(", qop=auth, nc={nc}, cnonce=\"{cnonce}\""));
    }
    if let Some(opaque) = &challenge.opaque {
        out.push_str(&format!(", opaque=\"{}\"", quoted(opaque)));
    }
    out
}

/// A fresh client nonce: 16 random bytes as hex.
pub(super) fn cnonce() -> String {
    (0..16)
        .map(|_| format!("{:02x}", fastrand::u8(..)))
        .collect()
}

fn quoted(text: &str) -> String {
    text.replace('\\', "\\\\").replace('"', "\\\"")
}

fn hash(algorithm: Algorithm, text: &str) -> String {
    let bytes: Vec<u8> = match algorithm {
        Algorithm::Md5 => Md5::digest(text.as_bytes()).to_vec(),
        Algorithm::Sha256 => Sha256::digest(text.as_bytes()).to_vec(),
    };
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(values: &[&str]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for v in values {
            map.append(WWW_AUTHENTICATE, v.parse().unwrap());
        }
        map
    }

    /// RFC 2617 §3.5's example, MD5 with `qop=auth`.
    #[test]
    fn rfc_2617_example() {
        let c = challenge(&headers(&[
            r#"Digest realm="testrealm@host.com", qop="auth,auth-int", nonce="dcd98b7102dd2f0e8b11d0f600bfb0c093", opaque="5ccc069c403ebaf9f0171e9517f40e41""#,
        ]))
        .expect("a challenge");
        let credentials = Credentials {
            username: "Mufasa".into(),
            password: "Circle Of Life".into(),
        };
        let value = authorization(&c, &credentials, "GET", "/dir/index.html", "0a4f113b");
        assert!(
            value.contains(r#"response="6629fae49393a05397450978507c4ef1""#),
            "{value}"
        );
        assert!(value.contains(r#"opaque="5ccc069c403ebaf9f0171e9517f40e41""#));
        assert!(value.contains("qop=auth, nc=00000001"));
    }

    /// RFC 7616 §3.9.1's example: SHA-256 preferred over the MD5 challenge beside it.
    #[test]
    fn rfc_7616_example_prefers_sha_256() {
        let c = challenge(&headers(&[
            r#"Digest realm="http-auth@example.org", qop="auth, auth-int", algorithm=MD5, nonce="7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v", opaque="FQhe/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS""#,
            r#"Digest realm="http-auth@example.org", qop="auth, auth-int", algorithm=SHA-256, nonce="7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v", opaque="FQhe/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS""#,
        ]))
        .expect("a challenge");
        let credentials = Credentials {
            username: "Mufasa".into(),
            password: "Circle of Life".into(),
        };
        let cnonce = "f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ";
        let value = authorization(&c, &credentials, "GET", "/dir/index.html", cnonce);
        assert!(
            value.contains(
                r#"response="753927fa0e85d155564e2e272a28d1802ca10daf4496794697cf8db5856cb6c1""#
            ),
            "{value}"
        );
        assert!(value.contains("algorithm=SHA-256,"), "{value}");
    }

    #[test]
    fn challenges_courier_cannot_answer_are_none() {
        for v in [
            r#"Basic realm="x""#,
            r#"Digest realm="x", nonce="n", qop="auth-int""#,
            r#"Digest realm="x", nonce="n", algorithm=SHA-512-256"#,
            r#"Digest nonce="n""#,
        ] {
            assert_eq!(challenge(&headers(&[v])), None, "{v}");
        }
        // No qop: RFC 2069's form.
        let c = challenge(&headers(&[r#"Digest realm="r", nonce="n""#])).unwrap();
        assert!(!c.qop_auth);
    }

    #[test]
    fn quoted_values_keep_commas_and_escapes() {
        let p = parameters(r#"realm="a, b", nonce="x\"y", stale=FALSE"#);
        assert_eq!(
            p,
            [
                ("realm".to_string(), "a, b".to_string()),
                ("nonce".to_string(), "x\"y".to_string()),
                ("stale".to_string(), "FALSE".to_string()),
            ]
        );
    }
}
