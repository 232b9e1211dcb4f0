//! `auth: { oauth1: { consumer_key, consumer_secret, … } }`: OAuth 1.0a request signing
//! (RFC 5849 §3). Each send gets a fresh nonce and timestamp; the signature covers the method,
//! the URL, its query and a form body, so it is made in [`sign`] once the request is built,
//! not with the other headers.

use std::time::{SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use hmac::{Hmac, KeyInit, Mac};
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
use url::Url;

use super::{Kind, Render};
use crate::diag::Diagnostic;
use crate::model::{OAuth1Auth, SignatureMethod, Tmpl};
use crate::secrets::Redactor;

impl Kind for OAuth1Auth {
    fn templates(&self) -> Vec<&Tmpl> {
        let optional = [
            &self.token,
            &self.token_secret,
            &self.realm,
            &self.timestamp,
            &self.nonce,
        ];
        let mut all = vec![&self.consumer_key, &self.consumer_secret];
        all.extend(optional.into_iter().flatten());
        all
    }

    /// No header yet ([`sign`] makes it): the secrets are taught to the redactor.
    fn headers(
        &self,
        render: &Render<'_>,
        redactor: &mut Redactor,
    ) -> Result<Vec<(String, String)>, Diagnostic> {
        redactor.add(&render(&self.consumer_secret)?);
        for secret in [&self.token, &self.token_secret].into_iter().flatten() {
            redactor.add(&render(secret)?);
        }
        Ok(Vec::new())
    }

    fn preflight(&self, render: &Render<'_>) -> Result<(), Diagnostic> {
        if let Some(timestamp) = &self.timestamp {
            let text = render(timestamp)?;
            if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
                return Err(Diagnostic::new(format!(
                    "the OAuth 1.0 timestamp `{text}` is not a number of seconds"
                ))
                .at(timestamp.spot.clone())
                .help("write seconds since 1970 (`1461319769`), or remove `timestamp:` to send the time of each request"));
            }
        }
        Ok(())
    }
}

/// RFC 3986's unreserved characters are the only ones left as they are (RFC 5849 §3.6).
const RESERVED: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

fn encode(text: &str) -> String {
    utf8_percent_encode(text, RESERVED).to_string()
}

/// What the signature covers besides the credentials.
pub struct Signed<'r> {
    pub method: &'r str,
    /// The URL with its query; with `in: query`, the `oauth_*` parameters are added to it.
    pub url: &'r mut Url,
    /// The fields of an `application/x-www-form-urlencoded` body.
    pub form: &'r [(&'r str, String)],
}

/// Signs the request: the `Authorization` header to send, or `None` when the parameters went
/// into the URL (`in: query`).
pub fn sign(
    auth: &OAuth1Auth,
    render: &Render<'_>,
    request: Signed<'_>,
    redactor: &mut Redactor,
) -> Result<Option<(String, String)>, Diagnostic> {
    let rendered = |t: &Option<Tmpl>| t.as_ref().map(render).transpose();
    let timestamp = match rendered(&auth.timestamp)? {
        Some(fixed) => fixed,
        None => SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_secs())
            .to_string(),
    };
    let nonce = match rendered(&auth.nonce)? {
        Some(fixed) => fixed,
        None => std::iter::repeat_with(fastrand::alphanumeric)
            .take(16)
            .collect(),
    };
    let mut oauth = vec![
        ("oauth_consumer_key", render(&auth.consumer_key)?),
        ("oauth_nonce", nonce),
        ("oauth_signature_method", auth.method.name().to_string()),
        ("oauth_timestamp", timestamp),
        ("oauth_version", "1.0".to_string()),
    ];
    if let Some(token) = rendered(&auth.token)?.filter(|t| !t.is_empty()) {
        oauth.push(("oauth_token", token));
    }
    let key = format!(
        "{}&{}",
        encode(&render(&auth.consumer_secret)?),
        encode(&rendered(&auth.token_secret)?.unwrap_or_default())
    );
    let base = base_string(&request, &oauth);
    let signature = signature(auth.method, &key, &base);
    if auth.method == SignatureMethod::Plaintext {
        // The signature is the secrets themselves, in each form it may be printed in.
        redactor.add(&signature);
        redactor.add(&encode(&signature));
        redactor
            .add(&url::form_urlencoded::byte_serialize(signature.as_bytes()).collect::<String>());
    }
    oauth.push(("oauth_signature", signature));
    if auth.in_query {
        let mut pairs = request.url.query_pairs_mut();
        for (name, value) in &oauth {
            pairs.append_pair(name, value);
        }
        return Ok(None);
    }
    let realm = rendered(&auth.realm)?
        .filter(|r| !r.is_empty())
        .map(|r| format!("realm=\"{}\", ", encode(&r)));
    let params: Vec<String> = oauth
        .iter()
        .map(|(name, value)| format!("{name}=\"{}\"", encode(value)))
        .collect();
    Ok(Some((
        "Authorization".into(),
        format!("OAuth {}{}", realm.unwrap_or_default(), params.join(", ")),
    )))
}

/// The signature base string (RFC 5849 §3.4.1): the method, the URL without its query, and
/// every parameter (query, form body, `oauth_*`), encoded and sorted.
fn base_string(request: &Signed<'_>, oauth: &[(&str, String)]) -> String {
    let url = &*request.url;
    let mut params: Vec<(String, String)> = url
        .query_pairs()
        .map(|(k, v)| (encode(&k), encode(&v)))
        .chain(request.form.iter().map(|(k, v)| (encode(k), encode(v))))
        .chain(oauth.iter().map(|(k, v)| (encode(k), encode(v))))
        .collect();
    params.sort();
    let params: Vec<String> = params.iter().map(|(k, v)| format!("{k}={v}")).collect();
    let port = url.port().map(|p| format!(":{p}")).unwrap_or_default();
    let uri = format!(
        "{}://{}{port}{}",
        url.scheme(),
        url.host_str().unwrap_or_default(),
        url.path()
    );
    format!(
        "{}&{}&{}",
        request.method.to_ascii_uppercase(),
        encode(&uri),
        encode(&params.join("&"))
    )
}

fn signature(method: SignatureMethod, key: &str, base: &str) -> String {
    // Every HMAC takes a key of any length: `new_from_slice` cannot fail.
    macro_rules! hmac {
        ($digest:ty) => {{
            let mut mac = <Hmac<$digest> as KeyInit>::new_from_slice(key.as_bytes())
                .expect("HMAC takes a key of any length");
            mac.update(base.as_bytes());
            mac.finalize().into_bytes().to_vec()
        }};
    }
    let bytes = match method {
        SignatureMethod::HmacSha1 => hmac!(sha1::Sha1),
        SignatureMethod::HmacSha256 => hmac!(sha2::Sha256),
        SignatureMethod::HmacSha512 => hmac!(sha2::Sha512),
        SignatureMethod::Plaintext => return key.to_string(),
    };
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 5849 §1.2: the photo printing example, signed with HMAC-SHA1.
    #[test]
    fn the_rfc_example_signs_as_the_rfc_says() {
        let mut url =
            Url::parse("http://photos.example.net/photos?file=vacation.jpg&size=original").unwrap();
        let oauth = [
            ("oauth_consumer_key", "dpf43f3p2l4k3l03".to_string()),
            ("oauth_token", "nnch734d00sl2jdk".to_string()),
            ("oauth_signature_method", "HMAC-SHA1".to_string()),
            ("oauth_timestamp", "137131202".to_string()),
            ("oauth_nonce", "chapoH".to_string()),
        ];
        let request = Signed {
            method: "GET",
            url: &mut url,
            form: &[],
        };
        let base = base_string(&request, &oauth);
        assert_eq!(
            base,
            "GET&http%3A%2F%2Fphotos.example.net%2Fphotos&file%3Dvacation.jpg%26oauth_consumer_key%3Ddpf43f3p2l4k3l03%26oauth_nonce%3DchapoH%26oauth_signature_method%3DHMAC-SHA1%26oauth_timestamp%3D137131202%26oauth_token%3Dnnch734d00sl2jdk%26size%3Doriginal"
        );
        assert_eq!(
            signature(
                SignatureMethod::HmacSha1,
                "kd94hf93k423kf44&pfkkdhi9sl3r4s00",
                &base
            ),
            "MdpQcU8iPSUjWoN/UDMsK2sui9I="
        );
    }

    /// RFC 5849 §3.4.1.3.2: repeated, empty and encoded parameters, from the query and a form
    /// body, sort by their encoded name and value.
    #[test]
    fn parameters_are_encoded_then_sorted() {
        let mut url =
            Url::parse("http://example.com/request?b5=%3D%253D&a3=a&c%40=&a2=r%20b").unwrap();
        let oauth = [
            ("oauth_consumer_key", "9djdj82h48djs9d2".to_string()),
            ("oauth_token", "kkk9d7dh3k39sjv7".to_string()),
            ("oauth_signature_method", "HMAC-SHA1".to_string()),
            ("oauth_timestamp", "137131201".to_string()),
            ("oauth_nonce", "7d8f3e4a".to_string()),
        ];
        let form = [("c2", String::new()), ("a3", "2 q".to_string())];
        let request = Signed {
            method: "post",
            url: &mut url,
            form: &form,
        };
        assert_eq!(
            base_string(&request, &oauth),
            "POST&http%3A%2F%2Fexample.com%2Frequest&a2%3Dr%2520b%26a3%3D2%2520q%26a3%3Da%26b5%3D%253D%25253D%26c%2540%3D%26c2%3D%26oauth_consumer_key%3D9djdj82h48djs9d2%26oauth_nonce%3D7d8f3e4a%26oauth_signature_method%3DHMAC-SHA1%26oauth_timestamp%3D137131201%26oauth_token%3Dkkk9d7dh3k39sjv7"
        );
    }

    #[test]
    fn plaintext_is_the_encoded_secrets() {
        assert_eq!(
            signature(SignatureMethod::Plaintext, "a%20b&", "ignored"),
            "a%20b&"
        );
    }
}
