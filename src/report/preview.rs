//! What a request would look like on the wire, without sending it: as HTTP text (`courier run
//! --dry-run`) or as an equivalent curl command (`courier curl`). Secrets are masked by the
//! caller's redactor; the `Authorization` header is masked whatever its value.

use std::fmt::Write as _;

use crate::http::Outgoing;
use crate::secrets::Redactor;

/// `POST https://… HTTP/1.1`, the headers, a blank line and the body.
pub fn as_http(name: &str, outgoing: &Outgoing, redactor: &Redactor) -> String {
    let mut out = format!(
        "### {name}\n{} {} HTTP/1.1\n",
        outgoing.method, outgoing.url
    );
    for (header, value) in &outgoing.headers {
        let _ = writeln!(out, "{header}: {}", shown_header(header, value, redactor));
    }
    if let Some(digest) = &outgoing.digest {
        let _ = writeln!(
            out,
            "# Digest auth as `{}`: the Authorization header answers the server's challenge",
            digest.username
        );
    }
    if let Some(body) = &outgoing.body {
        let _ = write!(out, "\n{}\n", String::from_utf8_lossy(body));
    }
    redactor.redact(&out).into_owned()
}

/// A curl command line that sends the same request, one option per line.
pub fn as_curl(outgoing: &Outgoing, redactor: &Redactor) -> String {
    let mut parts = vec![
        "curl".to_string(),
        format!("--request {}", outgoing.method),
        format!("--url {}", shell_quote(outgoing.url.as_str())),
    ];
    for (header, value) in &outgoing.headers {
        let line = format!("{header}: {}", shown_header(header, value, redactor));
        parts.push(format!("--header {}", shell_quote(&line)));
    }
    if let Some(digest) = &outgoing.digest {
        let user = format!("{}:{}", digest.username, digest.password);
        parts.push(format!("--digest --user {}", shell_quote(&user)));
    }
    if let Some(body) = &outgoing.body {
        parts.push(format!(
            "--data-raw {}",
            shell_quote(&String::from_utf8_lossy(body))
        ));
    }
    if outgoing.max_redirects > 0 {
        parts.push(format!(
            "--location --max-redirs {}",
            outgoing.max_redirects
        ));
    }
    parts.push(format!("--max-time {}", outgoing.timeout.as_secs_f64()));
    redactor
        .redact(&(parts.join(" \\\n  ") + "\n"))
        .into_owned()
}

/// `--show-secrets` (a disabled redactor) shows the `Authorization` value too, so a printed curl
/// command runs as it is.
fn shown_header(name: &str, value: &str, redactor: &Redactor) -> String {
    if name.eq_ignore_ascii_case("authorization") && !redactor.is_disabled() {
        super::mask_credentials(value)
    } else {
        value.to_string()
    }
}

/// Single quotes keep everything literal in a POSIX shell; a single quote itself is closed,
/// escaped and reopened.
fn shell_quote(text: &str) -> String {
    format!("'{}'", text.replace('\'', r"'\''"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn outgoing() -> Outgoing {
        Outgoing {
            method: "POST".into(),
            url: url::Url::parse("https://zoom.us/oauth/token").unwrap(),
            headers: vec![
                ("Authorization".into(), "Basic aWQ6c2VjcmV0".into()),
                (
                    "Content-Type".into(),
                    "application/x-www-form-urlencoded".into(),
                ),
            ],
            body: Some(bytes::Bytes::from_static(
                b"grant_type=refresh_token&refresh_token=it's-secret",
            )),
            timeout: Duration::from_secs(30),
            max_redirects: 10,
            digest: None,
        }
    }

    #[test]
    fn http_text_masks_credentials() {
        let mut redactor = Redactor::default();
        redactor.add("it's-secret");
        let text = as_http("Refresh", &outgoing(), &redactor);
        assert!(
            text.starts_with("### Refresh\nPOST https://zoom.us/oauth/token HTTP/1.1\n"),
            "{text}"
        );
        assert!(text.contains("Authorization: Basic ***\n"), "{text}");
        assert!(
            text.ends_with("\ngrant_type=refresh_token&refresh_token=***\n"),
            "{text}"
        );
    }

    #[test]
    fn digest_auth_is_told_and_curl_answers_the_challenge_itself() {
        let mut outgoing = outgoing();
        outgoing.headers.clear();
        outgoing.digest = Some(std::sync::Arc::new(crate::http::digest::Credentials {
            username: "postman".into(),
            password: "digest-secret".into(),
        }));
        let mut redactor = Redactor::default();
        redactor.add("digest-secret");
        let text = as_http("r", &outgoing, &redactor);
        assert!(text.contains("# Digest auth as `postman`"), "{text}");
        let curl = as_curl(&outgoing, &redactor);
        assert!(curl.contains("--digest --user 'postman:***'"), "{curl}");
        assert!(!curl.contains("digest-secret"), "{curl}");
    }

    #[test]
    fn curl_quotes_for_the_shell() {
        let text = as_curl(&outgoing(), &Redactor::default());
        assert!(
            text.contains("--url 'https://zoom.us/oauth/token'"),
            "{text}"
        );
        assert!(
            text.contains("--data-raw 'grant_type=refresh_token&refresh_token=it'\\''s-secret'"),
            "{text}"
        );
        assert!(
            text.contains("--header 'Authorization: Basic ***'"),
            "{text}"
        );
    }
}
