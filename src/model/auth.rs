//! `auth:` as written on a request or once on a collection, validated into [`Auth`]. An
//! `oauth2` auth also becomes a [`TokenSource`]: the token request courier sends for it, built
//! here from the settings so the runner sends, checks, saves and masks it like any request.

use std::sync::Arc;
use std::time::Duration;

use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::json;
use serde_saphyr::Spanned;

use super::Tmpl;
use super::request::{Body, Capture, CaptureSource, Checks, Request, is_identifier};
use super::yaml::{self, Text};
use crate::assert::{Query, StatusSpec};
use crate::diag::{Diagnostic, SourceFile, Spot};
use crate::error::Result;

/// How long before its expiry a cached access token is refreshed, unless `margin:` says.
pub const DEFAULT_MARGIN: Duration = Duration::from_secs(300);

#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(rename = "Auth", transform = crate::model::schema::exactly_one_auth)]
pub(crate) struct AuthDoc {
    /// HTTP Basic authentication: `{ username: "{{ ClientID }}", password: "{{ ClientSecret }}" }`.
    #[serde(default)]
    basic: Option<BasicDoc>,
    /// HTTP Digest authentication (RFC 7616: SHA-256 or MD5): the first request goes without
    /// credentials, and when the server answers 401 with a `Digest` challenge, courier sends it
    /// again once with the answer: `{ username: …, password: "{{ env('PASSWORD') }}" }`.
    #[serde(default)]
    digest: Option<BasicDoc>,
    /// A bearer token, sent as `Authorization: Bearer <token>`; a template:
    /// `"{{ access_token }}"`.
    #[serde(default)]
    #[schemars(with = "Option<Text>")]
    bearer: Option<Spanned<Text>>,
    /// OAuth 1.0a (RFC 5849): every request is signed with the consumer secret (and the token
    /// secret, if any), with a fresh nonce and timestamp each time it is sent.
    #[serde(default)]
    oauth1: Option<OAuth1Doc>,
    /// OAuth 2.0: courier gets the access token itself, keeps it in the state file until it
    /// nears expiry, saves a rotated refresh token, and sends `Authorization: Bearer <token>`.
    #[serde(default)]
    oauth2: Option<OAuth2Doc>,
    /// `true`: send no credentials, even when the collection's `auth:` says otherwise.
    #[serde(default)]
    #[schemars(with = "Option<bool>")]
    none: Option<Spanned<bool>>,
}

#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(rename = "BasicAuth")]
struct BasicDoc {
    /// The user name (for OAuth, the client ID); a template.
    #[schemars(with = "Text")]
    username: Spanned<Text>,
    /// The password (for OAuth, the client secret); a template. Keep real values out of the
    /// file: `"{{ env('CLIENT_SECRET') }}"`.
    #[schemars(with = "Text")]
    password: Spanned<Text>,
}

#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(rename = "OAuth1Auth")]
struct OAuth1Doc {
    /// The consumer key (client identifier); a template.
    #[schemars(with = "Text")]
    consumer_key: Spanned<Text>,
    /// The consumer secret; a template. Keep real values out of the file.
    #[schemars(with = "Text")]
    consumer_secret: Spanned<Text>,
    /// The access token, if the request acts for a user; a template. Default: none sent.
    #[serde(default)]
    #[schemars(with = "Option<Text>")]
    token: Option<Spanned<Text>>,
    /// The token secret that goes with `token`; a template.
    #[serde(default)]
    #[schemars(with = "Option<Text>")]
    token_secret: Option<Spanned<Text>>,
    /// `HMAC-SHA1` (the default, what most servers check), `HMAC-SHA256`, `HMAC-SHA512` or
    /// `PLAINTEXT` (the secrets themselves: only over HTTPS).
    #[serde(default)]
    #[schemars(schema_with = "crate::model::schema::signature_method")]
    signature_method: Option<Spanned<String>>,
    /// The `realm` of the `Authorization` header; a template. Default: none.
    #[serde(default)]
    #[schemars(with = "Option<Text>")]
    realm: Option<Spanned<Text>>,
    /// Where the `oauth_*` parameters go: `header` (`Authorization: OAuth …`, the default) or
    /// `query` (the URL's query string).
    #[serde(default, rename = "in")]
    #[schemars(schema_with = "crate::model::schema::oauth1_in")]
    placement: Option<Spanned<String>>,
    /// A fixed `oauth_timestamp` (seconds since 1970), a template. Default: the time of each
    /// send. Only for a server that checks a recorded request.
    #[serde(default)]
    #[schemars(with = "Option<Text>")]
    timestamp: Option<Spanned<Text>>,
    /// A fixed `oauth_nonce`, a template. Default: a fresh random one each send.
    #[serde(default)]
    #[schemars(with = "Option<Text>")]
    nonce: Option<Spanned<Text>>,
}

#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(rename = "OAuth2Auth")]
struct OAuth2Doc {
    /// How the token is obtained: `refresh_token` (exchange a refresh token, which the server
    /// may rotate), `client_credentials`, or `account_credentials` (Zoom's Server-to-Server
    /// OAuth, with `account_id`).
    #[schemars(schema_with = "crate::model::schema::grant")]
    grant: Spanned<String>,
    /// The token endpoint, a template: `"{{ base_url }}/oauth/token"`.
    #[schemars(with = "Text")]
    token_url: Spanned<Text>,
    /// The client ID; a template.
    #[schemars(with = "Text")]
    client_id: Spanned<Text>,
    /// The client secret; a template. Keep real values out of the file.
    #[schemars(with = "Text")]
    client_secret: Spanned<Text>,
    /// How the client authenticates to the token endpoint: `basic` (an `Authorization: Basic`
    /// header, Zoom's way) or `body` (`client_id` and `client_secret` in the form). Default:
    /// `basic`.
    #[serde(default)]
    #[schemars(schema_with = "crate::model::schema::client_auth")]
    client_auth: Option<Spanned<String>>,
    /// For `grant: refresh_token`: the variable that holds the refresh token, as
    /// `"{{ refresh_token }}"`. The token the server rotates in is saved to it, in the state file.
    #[serde(default)]
    #[schemars(with = "Option<Text>")]
    refresh_token: Option<Spanned<Text>>,
    /// For `grant: account_credentials`: the Zoom account ID; a template.
    #[serde(default)]
    #[schemars(with = "Option<Text>")]
    account_id: Option<Spanned<Text>>,
    /// The scope to ask for, space-separated; a template. Default: none sent (the server grants
    /// what the app has).
    #[serde(default)]
    #[schemars(with = "Option<Text>")]
    scope: Option<Spanned<Text>>,
    /// How long before its expiry a cached token is replaced: a duration (`5m`, `90s`) or
    /// seconds. Default: `5m`.
    #[serde(default)]
    #[schemars(schema_with = "crate::model::schema::timeout")]
    margin: Option<Spanned<Text>>,
}

/// How a request authenticates: one variant per kind, each rendered by `crate::auth`.
#[derive(Debug, Clone)]
pub enum Auth {
    Basic(BasicAuth),
    Digest(DigestAuth),
    OAuth1(Box<OAuth1Auth>),
    Bearer(BearerAuth),
    OAuth2(Box<OAuth2Auth>),
    /// `none: true`: no credentials, whatever the collection says.
    None,
}

/// `digest: { username, password }`.
#[derive(Debug, Clone)]
pub struct DigestAuth {
    pub username: Tmpl,
    pub password: Tmpl,
}

/// `oauth1: { consumer_key, consumer_secret, … }`.
#[derive(Debug, Clone)]
pub struct OAuth1Auth {
    pub consumer_key: Tmpl,
    pub consumer_secret: Tmpl,
    pub token: Option<Tmpl>,
    pub token_secret: Option<Tmpl>,
    pub method: SignatureMethod,
    pub realm: Option<Tmpl>,
    /// The parameters go in the URL's query instead of an `Authorization` header.
    pub in_query: bool,
    pub timestamp: Option<Tmpl>,
    pub nonce: Option<Tmpl>,
}

/// How an OAuth 1.0 request is signed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SignatureMethod {
    HmacSha1,
    HmacSha256,
    HmacSha512,
    Plaintext,
}

impl SignatureMethod {
    /// The name the protocol sends as `oauth_signature_method`.
    pub fn name(self) -> &'static str {
        match self {
            SignatureMethod::HmacSha1 => "HMAC-SHA1",
            SignatureMethod::HmacSha256 => "HMAC-SHA256",
            SignatureMethod::HmacSha512 => "HMAC-SHA512",
            SignatureMethod::Plaintext => "PLAINTEXT",
        }
    }
}

/// `basic: { username, password }`.
#[derive(Debug, Clone)]
pub struct BasicAuth {
    pub username: Tmpl,
    pub password: Tmpl,
}

/// `bearer: TOKEN`.
#[derive(Debug, Clone)]
pub struct BearerAuth {
    pub token: Tmpl,
}

/// The grants courier can run itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Grant {
    RefreshToken,
    ClientCredentials,
    /// Zoom's Server-to-Server OAuth.
    AccountCredentials,
}

impl Grant {
    const ALL: [(&'static str, Grant); 3] = [
        ("refresh_token", Grant::RefreshToken),
        ("client_credentials", Grant::ClientCredentials),
        ("account_credentials", Grant::AccountCredentials),
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Grant::RefreshToken => "refresh_token",
            Grant::ClientCredentials => "client_credentials",
            Grant::AccountCredentials => "account_credentials",
        }
    }
}

/// How the client authenticates to the token endpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClientAuth {
    Basic,
    Body,
}

/// `oauth2: { … }`, validated.
#[derive(Debug, Clone)]
pub struct OAuth2Auth {
    pub grant: Grant,
    pub token_url: Tmpl,
    pub client_id: Tmpl,
    pub client_secret: Tmpl,
    pub client_auth: ClientAuth,
    /// The refresh token's template and the variable it names (`refresh_token` grant).
    pub refresh_token: Option<(Tmpl, String)>,
    pub account_id: Option<Tmpl>,
    pub scope: Option<Tmpl>,
    pub margin: Duration,
    /// Where `oauth2:` is written.
    pub spot: Spot,
    /// Which of the collection's [`TokenSource`]s gets the token (set by the collection).
    pub source: usize,
    /// The template the `Authorization` header is rendered from: it reads the variable the
    /// token source fills (set by the collection).
    pub token: Tmpl,
}

impl OAuth2Auth {
    /// True when `other` asks for the same token the same way, wherever it is written.
    fn same_settings(&self, other: &OAuth2Auth) -> bool {
        let text = |t: &Tmpl| t.text.clone();
        let texts = |a: &OAuth2Auth| {
            (
                a.grant,
                text(&a.token_url),
                text(&a.client_id),
                text(&a.client_secret),
                a.client_auth,
                a.refresh_token.as_ref().map(|(t, _)| text(t)),
                a.account_id.as_ref().map(text),
                a.scope.as_ref().map(text),
                a.margin,
            )
        };
        texts(self) == texts(other)
    }
}

/// The token request of one `oauth2` auth, and what it fills.
#[derive(Debug)]
pub struct TokenSource {
    /// A POST to the token endpoint, built from the settings: it captures the access token
    /// into `variable` and a rotated refresh token into the variable that held it.
    pub request: Request,
    /// The variable requests read the access token from.
    pub variable: String,
    pub auth: OAuth2Auth,
}

impl TokenSource {
    /// The variable the refresh token is read from and saved to, for the `refresh_token` grant.
    pub fn refresh_variable(&self) -> Option<&str> {
        self.auth
            .refresh_token
            .as_ref()
            .map(|(_, name)| name.as_str())
    }
}

/// The variable the `index`-th token source fills: a name no user would pick.
pub fn token_variable(index: usize) -> String {
    format!("courier_oauth2_token_{index}")
}

/// Validates `auth:` as written in `file`.
pub(crate) fn auth(file: &Arc<SourceFile>, doc: &Spanned<AuthDoc>) -> Result<Auth> {
    let text = |s: &Spanned<Text>| Tmpl::new(s.value.0.clone(), yaml::spot_of(file, s));
    let written = &doc.value;
    let kinds = [
        written.basic.is_some(),
        written.digest.is_some(),
        written.oauth1.is_some(),
        written.bearer.is_some(),
        written.oauth2.is_some(),
        written.none.is_some(),
    ];
    if kinds.iter().filter(|k| **k).count() != 1 {
        return Err(Diagnostic::new(
            "`auth` needs exactly one of `basic`, `digest`, `oauth1`, `bearer`, `oauth2` or `none`",
        )
        .at(yaml::spot_of(file, doc))
        .help("write `auth: { basic: { username: …, password: … } }`, `auth: { bearer: … }`, `auth: { oauth2: { grant: …, … } }` or `auth: { none: true }`")
        .into());
    }
    if let Some(basic) = &written.basic {
        return Ok(Auth::Basic(BasicAuth {
            username: text(&basic.username),
            password: text(&basic.password),
        }));
    }
    if let Some(digest) = &written.digest {
        return Ok(Auth::Digest(DigestAuth {
            username: text(&digest.username),
            password: text(&digest.password),
        }));
    }
    if let Some(oauth1) = &written.oauth1 {
        return Ok(Auth::OAuth1(Box::new(oauth1_auth(file, oauth1)?)));
    }
    if let Some(token) = &written.bearer {
        return Ok(Auth::Bearer(BearerAuth { token: text(token) }));
    }
    if let Some(none) = &written.none {
        if !none.value {
            return Err(Diagnostic::new("`none: false` says nothing")
                .at(yaml::spot_of(file, none))
                .help("write `auth: { none: true }` to send no credentials, or remove `auth:` to use the collection's")
                .into());
        }
        return Ok(Auth::None);
    }
    let Some(oauth2) = &written.oauth2 else {
        unreachable!("exactly one kind is set");
    };
    Ok(Auth::OAuth2(Box::new(oauth2_auth(
        file,
        oauth2,
        yaml::spot_of(file, doc),
    )?)))
}

fn oauth2_auth(file: &Arc<SourceFile>, doc: &OAuth2Doc, spot: Spot) -> Result<OAuth2Auth> {
    let text = |s: &Spanned<Text>| Tmpl::new(s.value.0.clone(), yaml::spot_of(file, s));
    let grant = parse_grant(file, &doc.grant)?;
    let field = GrantField {
        file,
        grant,
        grant_spot: yaml::spot_of(file, &doc.grant),
    };
    let refresh_token = field.only_for(
        Grant::RefreshToken,
        ("refresh_token", "\"{{ refresh_token }}\""),
        doc.refresh_token.as_ref(),
        |written| refresh_variable(file, written),
    )?;
    let account_id = field.only_for(
        Grant::AccountCredentials,
        ("account_id", "\"{{ AccountID }}\""),
        doc.account_id.as_ref(),
        |written| Ok(text(written)),
    )?;
    let margin = match &doc.margin {
        Some(written) => {
            super::request::parse_duration(written, yaml::spot_of(file, written), "margin")?
        }
        None => DEFAULT_MARGIN,
    };
    Ok(OAuth2Auth {
        grant,
        token_url: text(&doc.token_url),
        client_id: text(&doc.client_id),
        client_secret: text(&doc.client_secret),
        client_auth: parse_client_auth(file, doc.client_auth.as_ref())?,
        refresh_token,
        account_id,
        scope: doc.scope.as_ref().map(text),
        margin,
        token: Tmpl::new(String::new(), spot.clone()),
        spot,
        source: 0,
    })
}

fn parse_grant(file: &Arc<SourceFile>, written: &Spanned<String>) -> Result<Grant> {
    let found = Grant::ALL.iter().find(|(name, _)| *name == written.value);
    if let Some((_, grant)) = found {
        return Ok(*grant);
    }
    let names: Vec<&str> = Grant::ALL.iter().map(|(name, _)| *name).collect();
    let d = Diagnostic::new(format!("unknown OAuth2 grant `{}`", written.value))
        .at(yaml::spot_of(file, written))
        .label("not a grant courier runs");
    Err(
        match crate::diag::did_you_mean(&written.value, names.iter().copied()) {
            Some(near) => d.help(format!("did you mean `{near}`?")),
            None => d.help(format!("write one of {}", crate::diag::backticked(&names))),
        }
        .into(),
    )
}

fn oauth1_auth(file: &Arc<SourceFile>, doc: &OAuth1Doc) -> Result<OAuth1Auth> {
    let text = |s: &Spanned<Text>| Tmpl::new(s.value.0.clone(), yaml::spot_of(file, s));
    let method = match doc.signature_method.as_ref().map(|m| (m.value.as_str(), m)) {
        None | Some(("HMAC-SHA1", _)) => SignatureMethod::HmacSha1,
        Some(("HMAC-SHA256", _)) => SignatureMethod::HmacSha256,
        Some(("HMAC-SHA512", _)) => SignatureMethod::HmacSha512,
        Some(("PLAINTEXT", _)) => SignatureMethod::Plaintext,
        Some((other, m)) => {
            return Err(Diagnostic::new(format!("unknown signature_method `{other}`"))
                .at(yaml::spot_of(file, m))
                .help("write `HMAC-SHA1` (the default), `HMAC-SHA256`, `HMAC-SHA512` or `PLAINTEXT`; courier does not sign with RSA keys")
                .into());
        }
    };
    let in_query = match doc.placement.as_ref().map(|p| (p.value.as_str(), p)) {
        None | Some(("header", _)) => false,
        Some(("query", _)) => true,
        Some((other, p)) => {
            return Err(Diagnostic::new(format!("unknown `in: {other}`"))
                .at(yaml::spot_of(file, p))
                .help("write `header` (an `Authorization: OAuth …` header, the default) or `query`")
                .into());
        }
    };
    if let (None, Some(secret)) = (&doc.token, &doc.token_secret) {
        return Err(Diagnostic::new("`token_secret` without `token`")
            .at(yaml::spot_of(file, secret))
            .help("add the `token` the secret belongs to, or remove `token_secret`")
            .into());
    }
    Ok(OAuth1Auth {
        consumer_key: text(&doc.consumer_key),
        consumer_secret: text(&doc.consumer_secret),
        token: doc.token.as_ref().map(text),
        token_secret: doc.token_secret.as_ref().map(text),
        method,
        realm: doc.realm.as_ref().map(text),
        in_query,
        timestamp: doc.timestamp.as_ref().map(text),
        nonce: doc.nonce.as_ref().map(text),
    })
}

fn parse_client_auth(
    file: &Arc<SourceFile>,
    written: Option<&Spanned<String>>,
) -> Result<ClientAuth> {
    match written.map(|c| (c.value.as_str(), c)) {
        None | Some(("basic", _)) => Ok(ClientAuth::Basic),
        Some(("body", _)) => Ok(ClientAuth::Body),
        Some((other, c)) => Err(Diagnostic::new(format!("unknown client_auth `{other}`"))
            .at(yaml::spot_of(file, c))
            .help("write `basic` (an Authorization: Basic header, Zoom's way) or `body` (client_id and client_secret in the form)")
            .into()),
    }
}

/// The fields that belong to one grant: required there, refused elsewhere.
struct GrantField<'f> {
    file: &'f Arc<SourceFile>,
    grant: Grant,
    grant_spot: Spot,
}

impl GrantField<'_> {
    fn only_for<T>(
        &self,
        owner: Grant,
        (name, example): (&str, &str),
        written: Option<&Spanned<Text>>,
        convert: impl FnOnce(&Spanned<Text>) -> Result<T>,
    ) -> Result<Option<T>> {
        let grant = self.grant.as_str();
        match (written, self.grant == owner) {
            (Some(written), true) => convert(written).map(Some),
            (None, false) => Ok(None),
            (None, true) => Err(Diagnostic::new(format!("grant `{grant}` needs `{name}`"))
                .at(self.grant_spot.clone())
                .help(format!("add `{name}: {example}` to `oauth2:`"))
                .into()),
            (Some(written), false) => Err(Diagnostic::new(format!(
                "`{name}` does not belong to grant `{grant}`"
            ))
            .at(yaml::spot_of(self.file, written))
            .help(format!(
                "`{name}` is for `grant: {}`; remove it",
                owner.as_str()
            ))
            .into()),
        }
    }
}

/// `refresh_token: "{{ name }}"`: the variable the rotated token is saved to. Anything else
/// would leave nowhere to save it.
fn refresh_variable(file: &Arc<SourceFile>, written: &Spanned<Text>) -> Result<(Tmpl, String)> {
    let spot = yaml::spot_of(file, written);
    let inner = written
        .value
        .0
        .trim()
        .strip_prefix("{{")
        .and_then(|rest| rest.strip_suffix("}}"))
        .map(str::trim)
        .filter(|name| is_identifier(name));
    match inner {
        Some(name) => Ok((Tmpl::new(written.value.0.clone(), spot), name.to_string())),
        None => Err(Diagnostic::new("`refresh_token` must name a variable")
            .at(spot)
            .label("courier saves the rotated token to the variable written here")
            .note("the server kills the old refresh token when it issues a new one; the new one is saved to this variable's entry in the state file")
            .help("write `refresh_token: \"{{ refresh_token }}\"` and define `refresh_token` in the environment (`\"{{ env('ZOOM_REFRESH_TOKEN') }}\"`)")
            .into()),
    }
}

/// Gives each `oauth2` auth of the collection its token source: the collection's own auth
/// (inherited by every request that writes none) has one, and each request that writes its
/// own has one.
pub(crate) fn bind_token_sources(
    collection_auth: Option<&Auth>,
    requests: &mut [Request],
) -> Vec<TokenSource> {
    let mut sources = Vec::new();
    let mut shared: Option<Auth> = collection_auth.cloned();
    if let Some(Auth::OAuth2(oauth2)) = &mut shared {
        bind(oauth2, &mut sources, "OAuth2 token".into());
    }
    for request in requests.iter_mut() {
        match &mut request.auth {
            None => request.auth = shared.clone(),
            Some(Auth::OAuth2(oauth2)) => {
                bind(
                    oauth2,
                    &mut sources,
                    format!("OAuth2 token for {}", request.name),
                );
            }
            Some(_) => {}
        }
    }
    sources
}

fn bind(oauth2: &mut OAuth2Auth, sources: &mut Vec<TokenSource>, name: String) {
    // The same settings written on several requests (an import writes each request's own) get
    // one token, not one each.
    if let Some(same) = sources.iter().find(|s| s.auth.same_settings(oauth2)) {
        oauth2.source = same.auth.source;
        oauth2.token = same.auth.token.clone();
        return;
    }
    let index = sources.len();
    let variable = token_variable(index);
    oauth2.source = index;
    oauth2.token = Tmpl::new(format!("{{{{ {variable} }}}}"), oauth2.spot.clone());
    sources.push(TokenSource {
        request: token_request(oauth2, name, &variable),
        variable,
        auth: oauth2.clone(),
    });
}

/// The token request an `oauth2` auth sends: RFC 6749 §4.4 / §6, with Zoom's
/// `account_credentials` beside them.
fn token_request(oauth2: &OAuth2Auth, name: String, variable: &str) -> Request {
    let spot = oauth2.spot.clone();
    let literal = |text: &str| Tmpl::new(text, spot.clone());
    let mut form = vec![("grant_type".to_string(), literal(oauth2.grant.as_str()))];
    if let Some((template, _)) = &oauth2.refresh_token {
        form.push(("refresh_token".into(), template.clone()));
    }
    if let Some(account) = &oauth2.account_id {
        form.push(("account_id".into(), account.clone()));
    }
    if let Some(scope) = &oauth2.scope {
        form.push(("scope".into(), scope.clone()));
    }
    let auth = match oauth2.client_auth {
        ClientAuth::Basic => Some(Auth::Basic(BasicAuth {
            username: oauth2.client_id.clone(),
            password: oauth2.client_secret.clone(),
        })),
        ClientAuth::Body => {
            form.push(("client_id".into(), oauth2.client_id.clone()));
            form.push(("client_secret".into(), oauth2.client_secret.clone()));
            Some(Auth::None)
        }
    };
    let capture = |name: &str, path: &str, optional: bool| Capture {
        name: name.to_string(),
        source: CaptureSource::Json(Query::parse(path).expect("a fixed JSONPath parses")),
        default: None,
        optional,
        spot: spot.clone(),
    };
    let mut captures = vec![capture(variable, "$.access_token", false)];
    if let Some((_, refresh)) = &oauth2.refresh_token {
        // A server that does not rotate answers without one: the old token stays.
        captures.push(capture(refresh, "$.refresh_token", true));
    }
    let status = StatusSpec::parse(&json!(200)).expect("200 is a status");
    Request {
        name,
        description: None,
        file: Arc::clone(&spot.file),
        name_spot: spot.clone(),
        tags: Vec::new(),
        always: false,
        method: "POST".into(),
        url: oauth2.token_url.clone(),
        headers: vec![("Accept".into(), literal("application/json"))],
        query: Vec::new(),
        auth,
        body: Some(Body::Form(form)),
        checks: Checks {
            status: Some((status, spot.clone())),
            ..Checks::default()
        },
        captures,
        unset: Vec::new(),
        timeout: None,
        redirects: Some(0),
        poll: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::request::load_request;

    fn load(auth: &str) -> Result<Request> {
        let text = format!("name: R\nmethod: GET\nurl: https://example.com\nauth:\n{auth}");
        load_request(&SourceFile::new("r.yaml", text))
    }

    fn error(auth: &str) -> Diagnostic {
        match load(auth) {
            Err(crate::error::Error::Invalid(d)) => *d,
            Err(other) => panic!("expected a diagnostic, got {other}"),
            Ok(_) => panic!("expected a diagnostic"),
        }
    }

    const S2S: &str = "  oauth2:\n    grant: account_credentials\n    token_url: https://zoom.us/oauth/token\n    \
                       client_id: id\n    client_secret: s\n";

    #[test]
    fn each_grant_takes_its_own_fields_and_no_other() {
        let request = load(&format!("{S2S}    account_id: acc\n    margin: 90s\n")).unwrap();
        let Some(Auth::OAuth2(oauth2)) = &request.auth else {
            panic!("an oauth2 auth");
        };
        assert_eq!(oauth2.grant, Grant::AccountCredentials);
        assert_eq!(oauth2.margin, Duration::from_secs(90));
        assert_eq!(oauth2.client_auth, ClientAuth::Basic);

        let d = error(S2S);
        assert_eq!(d.title, "grant `account_credentials` needs `account_id`");
        assert_eq!(d.spot.unwrap().position(), "r.yaml:6:12");

        let d = error(&format!(
            "{S2S}    account_id: a\n    refresh_token: \"{{{{ rt }}}}\"\n"
        ));
        assert_eq!(
            d.title,
            "`refresh_token` does not belong to grant `account_credentials`"
        );

        let d = error(&format!(
            "{S2S}    account_id: a\n    client_auth: header\n"
        ));
        assert_eq!(d.title, "unknown client_auth `header`");
    }

    #[test]
    fn auth_takes_exactly_one_kind() {
        let d = error("  bearer: x\n  none: true\n");
        assert!(
            d.title.starts_with("`auth` needs exactly one of"),
            "{}",
            d.title
        );
        let d = error("  none: false\n");
        assert_eq!(d.title, "`none: false` says nothing");
        assert!(matches!(
            load("  none: true\n").unwrap().auth,
            Some(Auth::None)
        ));
    }

    #[test]
    fn the_token_request_is_what_the_settings_say() {
        let mut requests = vec![
            load("  oauth2:\n    grant: refresh_token\n    token_url: \"{{ base }}/t\"\n    client_id: \"{{ id }}\"\n    client_secret: \"{{ secret }}\"\n    refresh_token: \"{{ rt }}\"\n    scope: a b\n").unwrap(),
        ];
        let sources = bind_token_sources(None, &mut requests);
        assert_eq!(sources.len(), 1);
        let token = &sources[0].request;
        assert_eq!(token.method, "POST");
        assert_eq!(token.url.text, "{{ base }}/t");
        assert!(matches!(&token.auth, Some(Auth::Basic(b)) if b.username.text == "{{ id }}"));
        let Some(Body::Form(form)) = &token.body else {
            panic!("a form");
        };
        let form: Vec<(&str, &str)> = form
            .iter()
            .map(|(k, v)| (k.as_str(), v.text.as_str()))
            .collect();
        assert_eq!(
            form,
            [
                ("grant_type", "refresh_token"),
                ("refresh_token", "{{ rt }}"),
                ("scope", "a b")
            ]
        );
        assert_eq!(sources[0].refresh_variable(), Some("rt"));
        let Some(Auth::OAuth2(used)) = &requests[0].auth else {
            panic!("an oauth2 auth");
        };
        assert_eq!(used.token.text, "{{ courier_oauth2_token_0 }}");
    }
}
