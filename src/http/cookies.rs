//! The cookie jar of one pass, as Newman, Hurl and Bruno keep one: every `Set-Cookie` of an
//! answer (of each redirect hop too) is kept, and sent on the later requests whose URL it
//! matches by domain, path, `Secure` and expiry (RFC 6265, by `cookie_store`), never to another
//! site.
//!
//! A cookie that looks like a credential (`HttpOnly`, or a name such as `session`, `sid` or
//! `token`) is a secret: the jar hands its value to the runner, which masks it everywhere.

use cookie_store::{CookieStore, RawCookie};
use url::Url;

#[derive(Default)]
pub struct Jar {
    store: CookieStore,
    /// Values of credential-like cookies received since [`Jar::take_secrets`] last ran.
    secrets: Vec<String>,
    /// Cookie names in the order they first arrived: the `Cookie` header lists them so
    /// (RFC 6265 §5.4: longer paths first, then earlier ones), the same every run.
    arrived: Vec<String>,
}

impl Jar {
    pub fn new() -> Jar {
        Jar::default()
    }

    /// The `Cookie` header for a request to `url`, if the jar has cookies for it.
    pub(super) fn header_for(&self, url: &Url) -> Option<String> {
        // Most runs never receive a cookie: nothing to match, every request.
        if self.arrived.is_empty() {
            return None;
        }
        let mut cookies = self.store.matches(url);
        if cookies.is_empty() {
            return None;
        }
        let arrival = |name: &str| self.arrived.iter().position(|n| n == name);
        cookies.sort_by_key(|c| {
            let path = c.path().map_or(0, str::len);
            (std::cmp::Reverse(path), arrival(c.name()))
        });
        let mut header = String::new();
        for (name, value) in cookies.iter().map(|c| c.name_value()) {
            if !header.is_empty() {
                header.push_str("; ");
            }
            header.push_str(name);
            header.push('=');
            header.push_str(value);
        }
        Some(header)
    }

    /// Keeps the cookies an answer from `url` sets.
    pub(super) fn store(&mut self, headers: &reqwest::header::HeaderMap, url: &Url) {
        if !headers.contains_key(reqwest::header::SET_COOKIE) {
            return;
        }
        let cookies: Vec<RawCookie<'static>> = headers
            .get_all(reqwest::header::SET_COOKIE)
            .iter()
            .filter_map(|value| value.to_str().ok())
            .filter_map(|text| RawCookie::parse(text.to_string()).ok())
            .collect();
        for cookie in &cookies {
            if !self.arrived.iter().any(|n| n == cookie.name()) {
                self.arrived.push(cookie.name().to_string());
            }
            if looks_secret(cookie) {
                self.secrets.push(cookie.value().to_string());
            }
        }
        self.store.store_response_cookies(cookies.into_iter(), url);
    }

    /// The values of credential-like cookies received since the last call.
    pub fn take_secrets(&mut self) -> Vec<String> {
        std::mem::take(&mut self.secrets)
    }
}

fn looks_secret(cookie: &RawCookie<'_>) -> bool {
    let name = cookie.name().to_ascii_lowercase();
    cookie.http_only() == Some(true)
        || crate::secrets::name_looks_secret(&name)
        || ["sess", "sid", "auth", "csrf", "xsrf"]
            .iter()
            .any(|word| name.contains(word))
}

/// `outgoing` with the jar's cookies for its URL added to its `Cookie` header (or as one).
pub(super) fn with_cookies(outgoing: &super::Outgoing, cookies: String) -> super::Outgoing {
    let mut sent = outgoing.clone();
    match sent
        .headers
        .iter_mut()
        .find(|(name, _)| name.eq_ignore_ascii_case("cookie"))
    {
        Some((_, value)) => {
            value.push_str("; ");
            value.push_str(&cookies);
        }
        None => sent.headers.push(("Cookie".into(), cookies)),
    }
    sent
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(set: &[&str]) -> reqwest::header::HeaderMap {
        let mut map = reqwest::header::HeaderMap::new();
        for value in set {
            map.append(reqwest::header::SET_COOKIE, value.parse().unwrap());
        }
        map
    }

    fn url(text: &str) -> Url {
        Url::parse(text).unwrap()
    }

    #[test]
    fn cookies_go_back_to_their_site_only() {
        let mut jar = Jar::new();
        jar.store(
            &headers(&["a=1; Path=/", "b=2; Path=/api", "gone=x; Max-Age=0"]),
            &url("http://a.example/login"),
        );
        assert_eq!(
            jar.header_for(&url("http://a.example/")).as_deref(),
            Some("a=1")
        );
        let api = jar.header_for(&url("http://a.example/api/users")).unwrap();
        assert!(api.contains("a=1") && api.contains("b=2"), "{api}");
        assert_eq!(jar.header_for(&url("http://b.example/")), None);
        assert_eq!(jar.header_for(&url("http://evil-a.example/")), None);
    }

    #[test]
    fn a_secure_cookie_is_not_sent_over_http() {
        let mut jar = Jar::new();
        jar.store(&headers(&["s=1; Secure"]), &url("https://a.example/"));
        assert_eq!(
            jar.header_for(&url("https://a.example/")).as_deref(),
            Some("s=1")
        );
        assert_eq!(jar.header_for(&url("http://a.example/")), None);
    }

    #[test]
    fn credential_like_cookies_are_told_as_secrets() {
        let mut jar = Jar::new();
        jar.store(
            &headers(&[
                "theme=dark",
                "sessionid=abcd1234",
                "x=opaque-value; HttpOnly",
            ]),
            &url("http://a.example/"),
        );
        assert_eq!(jar.take_secrets(), ["abcd1234", "opaque-value"]);
        assert!(jar.take_secrets().is_empty());
    }
}
