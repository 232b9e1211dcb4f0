//! Recognising an answer that rejects the credentials (exit code 4), and saying what it means
//! for a Zoom app.
//!
//! Zoom answers a bad refresh token or bad client credentials with 400 and an OAuth error code
//! (`{"reason": "...", "error": "invalid_grant"}`), older deployments with 401. Integrators treat
//! these as terminal: retrying cannot help, someone has to act.

use serde_json::Value;

use crate::assert::Document;
use crate::http::Exchange;

/// The OAuth error codes that mean "these credentials will not work".
const REJECTIONS: [&str; 4] = [
    "invalid_client",
    "invalid_grant",
    "unauthorized_client",
    "invalid_token",
];

/// Why the credentials were rejected, in words a user can act on; `None` for any other answer.
///
/// `body` is the answer's body as a JSON document, if it is JSON.
pub fn rejection(exchange: &Exchange, body: Option<&Document<'_>>) -> Option<String> {
    // Every rejection below is an error status; most answers are not, and need no look inside.
    if exchange.status < 400 {
        return None;
    }
    let code = body.and_then(|b| b.member("error")).and_then(Value::as_str);
    // The token endpoint says `reason`; Zoom's API says `message` (`Invalid access token.`).
    let reason = body
        .and_then(|b| b.member("reason").or_else(|| b.member("message")))
        .and_then(Value::as_str);
    let said = reason
        .map(|r| format!(" (the server said: {r})"))
        .unwrap_or_default();
    match code {
        Some(code) if REJECTIONS.contains(&code) && exchange.status >= 400 => {
            Some(format!("{}{said}", meaning(code)))
        }
        _ if exchange.status == 401 => Some(format!(
            "the server refused the credentials (401 Unauthorized){said}"
        )),
        _ => None,
    }
}

/// True when the answer says the grant (a refresh token) is dead: `invalid_grant`. Nothing
/// rotated, so another candidate value of the token may still be sent.
pub fn is_invalid_grant(exchange: &Exchange) -> bool {
    #[derive(serde::Deserialize)]
    struct OAuthError<'a> {
        #[serde(borrow)]
        error: Option<std::borrow::Cow<'a, str>>,
    }
    exchange.status >= 400
        && serde_json::from_slice::<OAuthError<'_>>(&exchange.body)
            .is_ok_and(|e| e.error.as_deref() == Some("invalid_grant"))
}

fn meaning(code: &str) -> String {
    let text = match code {
        "invalid_grant" => {
            "credentials rejected (invalid_grant): the refresh token was already used, revoked or has expired. \
             Zoom gives no second chance: authorize the app again through its install URL and store the new refresh token"
        }
        "invalid_client" => {
            "credentials rejected (invalid_client): the client id or client secret is wrong. \
             Check `ClientID` and `ClientSecret` against the app's credentials in the Zoom App Marketplace"
        }
        "unauthorized_client" => {
            "credentials rejected (unauthorized_client): this app may not use this grant type. \
             Check the app type and its enabled grants in the Zoom App Marketplace"
        }
        _ => {
            "credentials rejected (invalid_token): the access token is invalid, expired or revoked"
        }
    };
    text.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::http::Outgoing;
    use std::time::Duration;

    fn answer(status: u16, body: &str) -> Exchange {
        Exchange {
            request: std::sync::Arc::new(Outgoing {
                method: "POST".into(),
                url: url::Url::parse("http://127.0.0.1/").unwrap(),
                headers: vec![],
                body: None,
                timeout: Duration::from_secs(1),
                max_redirects: 0,
                digest: None,
            }),
            status,
            reason: "",
            version: "HTTP/1.1",
            headers: crate::http::Headers::default(),
            body: body.as_bytes().to_vec(),
            duration: Duration::ZERO,
            redirects: vec![],
        }
    }

    fn rejection_of(exchange: &Exchange) -> Option<String> {
        rejection(exchange, Document::parse(&exchange.body).as_ref())
    }

    #[test]
    fn zoom_rejections_are_explained() {
        let why = rejection_of(&answer(
            400,
            r#"{"reason":"Invalid Token!","error":"invalid_grant"}"#,
        ))
        .unwrap();
        assert!(
            why.contains("already used") && why.contains("Invalid Token!"),
            "{why}"
        );
        assert!(
            rejection_of(&answer(400, r#"{"error":"invalid_client"}"#))
                .unwrap()
                .contains("client secret")
        );
        assert!(rejection_of(&answer(401, "nope")).unwrap().contains("401"));
    }

    #[test]
    fn other_answers_are_not_rejections() {
        assert!(rejection_of(&answer(200, r#"{"error":"invalid_grant"}"#)).is_none());
        assert!(rejection_of(&answer(400, r#"{"error":"unsupported_grant_type"}"#)).is_none());
        assert!(rejection_of(&answer(500, "oops")).is_none());
    }
}
