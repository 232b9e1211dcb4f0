//! Zoom OAuth emulator: a loopback HTTP server that answers `POST /oauth/token`
//! and `POST /oauth/revoke` the way `zoom.us` does, status codes and error
//! bodies included, and `GET /v2/users/me` the way Zoom's API does for the
//! access tokens it issued.
//!
//! It owns one OAuth client (id and secret) and the grants issued to it, all in
//! memory: the seeded refresh-token grant rotates on every refresh and dies on
//! revoke, exactly like the real service, so collections that chain token
//! requests can be exercised offline. Token answers name the emulator itself as
//! their `api_url`, and access tokens expire after the seed's lifetime (Zoom's
//! hour by default). There is no authorization page, so no code is ever valid.
//! Printing and the command line live in the CLI layer, which only calls
//! [`ZoomMock`] and [`banner`].

use std::convert::Infallible;
use std::io;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use bytes::Bytes;
use http_body_util::{BodyExt as _, Full, LengthLimitError, Limited};
use hyper::body::Incoming;
use hyper::header::{self, HeaderMap, HeaderValue};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use serde::Serialize;
use serde_json::{Value, json};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;

const TOKEN_PATH: &str = "/oauth/token";
const REVOKE_PATH: &str = "/oauth/revoke";
const USERS_ME_PATH: &str = "/v2/users/me";

const EXPIRES_IN_SECS: u64 = 3599;
const USER_SCOPE: &str = "user:read";
const ACCOUNT_SCOPE: &str = "user:read:admin";
const CHATBOT_SCOPE: &str = "imchat:bot";
/// The scopes any of which lets a token read `/v2/users/me`: classic and granular.
const USER_READ_SCOPES: [&str; 4] = [
    "user:read",
    "user:read:admin",
    "user:read:user",
    "user:read:user:admin",
];
/// How many Server-to-Server tokens stay alive when a new one is issued.
const S2S_LIVE_TOKENS: usize = 2;

/// Query parameters that would put a credential in a URL (and so in proxy and
/// server logs); Zoom has refused them since 2023.
const CREDENTIAL_QUERY_KEYS: [&str; 4] = ["refresh_token", "code", "token", "grant_type"];

/// Token requests are a few hundred bytes; the cap only stops a runaway client
/// from making the emulator buffer without bound.
const MAX_BODY_BYTES: usize = 64 * 1024;

const FORM_MEDIA_TYPE: &str = "application/x-www-form-urlencoded";
const JSON_CONTENT_TYPE: &str = "application/json;charset=UTF-8";
const HTML_CONTENT_TYPE: &str = "text/html;charset=utf-8";
const NOT_FOUND_PAGE: &str = "<!DOCTYPE html><html><head><title>Error - Zoom</title></head>\
<body><h1>404</h1><p>The page you requested was not found.</p></body></html>";

/// How long a keep-alive connection may take to finish its in-flight request
/// once shutdown is signalled; idle connections close at once.
const GRACEFUL_CLOSE: Duration = Duration::from_secs(1);
/// Pause after a failed `accept` (e.g. out of file descriptors) so the loop
/// does not spin on a condition that persists.
const ACCEPT_BACKOFF: Duration = Duration::from_millis(50);

/// The emulator's starting credentials.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Seed {
    pub client_id: String,
    pub client_secret: String,
    /// Refresh token of the one grant that is alive at start.
    pub refresh_token: String,
    /// When set, `account_credentials` requests must name this account.
    pub account_id: Option<String>,
    /// How long an access token works; `None` is Zoom's `expires_in` of 3599 seconds. Tests
    /// set a second to see a token expire.
    pub token_lifetime: Option<Duration>,
    /// What the seeded grant (the user app) is granted, space-separated; `None` is
    /// `user:read`. One without a `user:read` scope shows scope drift: the token is issued, and
    /// `/v2/users/me` refuses it.
    pub scope: Option<String>,
}

impl Seed {
    /// Fresh random credentials (client id, secret, first refresh token), for `courier mock zoom` with no options.
    pub fn random() -> Seed {
        let mut client_id = random_hex();
        // Zoom client ids are 22 characters; keeping the length makes pasted
        // emulator credentials look like the real thing in collections.
        client_id.truncate(22);
        Seed {
            client_id,
            client_secret: random_hex(),
            refresh_token: new_refresh_token(),
            account_id: None,
            token_lifetime: None,
            scope: None,
        }
    }
}

/// A running emulator bound to a loopback address.
pub struct ZoomMock {
    addr: SocketAddr,
    shared: Arc<Shared>,
    stop: watch::Sender<bool>,
    /// Present only for [`ZoomMock::start_background`], whose runtime lives on this thread.
    thread: Option<std::thread::JoinHandle<()>>,
}

impl ZoomMock {
    /// Binds `addr` (use 127.0.0.1:0 in tests) and serves on the current tokio runtime.
    ///
    /// The runtime needs its IO and time drivers (`enable_all`).
    pub async fn start(seed: Seed, addr: SocketAddr) -> io::Result<ZoomMock> {
        let listener = TcpListener::bind(addr).await?;
        let mock = ZoomMock::new(seed, &listener)?;
        tokio::spawn(serve(
            listener,
            Arc::clone(&mock.shared),
            mock.stop.subscribe(),
        ));
        Ok(mock)
    }

    /// Starts on its own thread with its own current-thread tokio runtime, for callers (tests that drive the courier binary as a subprocess) that have no runtime. Returns once the socket is bound.
    pub fn start_background(seed: Seed, addr: SocketAddr) -> io::Result<ZoomMock> {
        // Everything fallible happens here, on the caller's thread, so that
        // errors come back as `Err` instead of dying with the server thread.
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?;
        let std_listener = std::net::TcpListener::bind(addr)?;
        std_listener.set_nonblocking(true)?;
        let listener = {
            let _context = runtime.enter();
            TcpListener::from_std(std_listener)?
        };
        let mut mock = ZoomMock::new(seed, &listener)?;
        let serving = serve(listener, Arc::clone(&mock.shared), mock.stop.subscribe());
        let thread = std::thread::Builder::new()
            .name("zoom-mock".to_owned())
            .spawn(move || runtime.block_on(serving))?;
        mock.thread = Some(thread);
        Ok(mock)
    }

    fn new(seed: Seed, listener: &TcpListener) -> io::Result<ZoomMock> {
        let addr = listener.local_addr()?;
        Ok(ZoomMock {
            addr,
            shared: Arc::new(Shared::new(seed, format!("http://{addr}"))),
            stop: watch::Sender::new(false),
            thread: None,
        })
    }

    /// The bound address, with the real port when 0 was asked for.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://127.0.0.1:PORT`
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Number of HTTP requests received so far (all paths) — tests use it to prove that nothing was sent.
    pub fn hits(&self) -> usize {
        self.shared.hits.load(Ordering::SeqCst)
    }

    /// Requests to the token endpoint so far, answered or refused (tests use it to prove a kept
    /// token was used).
    pub fn token_requests(&self) -> usize {
        self.shared.token_requests.load(Ordering::SeqCst)
    }

    /// The refresh token that is live now, if the grant is alive (tests use it to check rotation).
    pub fn live_refresh_token(&self) -> Option<String> {
        // Handlers never panic while holding the lock, and this is a read, so
        // a poisoned state is still the best answer available.
        let state = self
            .shared
            .state
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        state.live_refresh_token()
    }

    /// Stops serving; also done on Drop.
    pub fn shutdown(self) {
        drop(self);
    }
}

impl Drop for ZoomMock {
    fn drop(&mut self) {
        // `send_replace` succeeds even when every receiver is gone (the
        // server already stopped), so this never fails or blocks.
        self.stop.send_replace(true);
        if let Some(thread) = self.thread.take() {
            // The serve loop exits on the signal and dropping the runtime
            // cancels leftover connection tasks, so the join is short. A
            // panic on that thread was already reported by the panic hook;
            // re-raising it from Drop could abort the process.
            let _ = thread.join();
        }
    }
}

/// The text `courier mock zoom` prints at start (no trailing newline).
pub fn banner(seed: &Seed, base_url: &str) -> String {
    let base = base_url.trim_end_matches('/');
    let mut lines = vec![
        format!("Zoom OAuth emulator listening on {base}"),
        format!("  client id      {}", seed.client_id),
        format!("  client secret  {}", seed.client_secret),
        format!("  refresh token  {}", seed.refresh_token),
    ];
    if let Some(account_id) = &seed.account_id {
        lines.push(format!("  account id     {account_id}"));
    }
    lines.push(format!("  token endpoint   POST {base}{TOKEN_PATH}"));
    lines.push(format!("  revoke endpoint  POST {base}{REVOKE_PATH}"));
    lines.push("Press Ctrl-C to stop.".to_owned());
    lines.join("\n")
}

// ---------------------------------------------------------------------------
// State

/// What every connection task shares.
struct Shared {
    client_id: String,
    client_secret: String,
    /// The emulator's own address: token answers send API calls back here.
    api_url: String,
    /// Outside the mutex so that counting works even if the state is poisoned.
    hits: AtomicUsize,
    /// Requests to the token endpoint, answered or refused.
    token_requests: AtomicUsize,
    state: Mutex<State>,
}

impl Shared {
    fn new(seed: Seed, api_url: String) -> Shared {
        let seeded = Grant {
            refresh_token: Some(seed.refresh_token),
            access_tokens: Vec::new(),
            scope: seed.scope.unwrap_or_else(|| USER_SCOPE.to_owned()),
            server_to_server: false,
        };
        Shared {
            client_id: seed.client_id,
            client_secret: seed.client_secret,
            api_url,
            hits: AtomicUsize::new(0),
            token_requests: AtomicUsize::new(0),
            state: Mutex::new(State {
                account_id: seed.account_id,
                lifetime: seed
                    .token_lifetime
                    .unwrap_or(Duration::from_secs(EXPIRES_IN_SECS)),
                grants: vec![seeded],
            }),
        }
    }

    fn state(&self) -> Result<MutexGuard<'_, State>, Reject> {
        self.state.lock().map_err(|_| Reject::internal())
    }

    fn authenticate(&self, headers: &HeaderMap) -> Result<(), Reject> {
        match basic_credentials(headers) {
            Some((id, secret)) if id == self.client_id && secret == self.client_secret => Ok(()),
            _ => Err(Reject::invalid_client()),
        }
    }
}

struct State {
    account_id: Option<String>,
    /// How long an access token works.
    lifetime: Duration,
    /// Live grants only: a revoked grant is removed, so its tokens become
    /// indistinguishable from never-issued ones, as on Zoom.
    grants: Vec<Grant>,
}

/// One authorization: the tokens that die together when any of them is revoked.
struct Grant {
    /// `None` for Server-to-Server and chatbot grants, which cannot be refreshed.
    refresh_token: Option<String>,
    /// Every access token issued under the grant, with when it expires;
    /// refreshing does not kill earlier ones (they merely expire), only
    /// revoking does.
    access_tokens: Vec<(String, Instant)>,
    /// What the grant's access tokens may do, space-separated.
    scope: String,
    /// An `account_credentials` token: a newer one kills the older ones.
    server_to_server: bool,
}

impl Grant {
    fn owns(&self, token: &str) -> bool {
        self.refresh_token.as_deref() == Some(token)
            || self.access_tokens.iter().any(|(t, _)| t == token)
    }

    /// Issues an access token of this grant, valid for `lifetime`.
    fn new_access_token(&mut self, lifetime: Duration) -> String {
        let token = new_access_token();
        let now = Instant::now();
        // Expired tokens are forgotten: a long test run must not grow the list.
        self.access_tokens.retain(|(_, expires)| *expires > now);
        self.access_tokens.push((token.clone(), now + lifetime));
        token
    }
}

impl State {
    fn issue_token(&mut self, form: &Form) -> Result<TokenGrant, Reject> {
        match form.get("grant_type") {
            Some("refresh_token") => self.refresh(form.require("refresh_token")?),
            Some("account_credentials") => self.account_credentials(form.require("account_id")?),
            Some("client_credentials") => Ok(self.unrefreshable_grant(CHATBOT_SCOPE, false)),
            Some("authorization_code") => {
                let code = form.require("code")?;
                Err(Reject::invalid_grant(format!(
                    "Invalid authorization code {code}"
                )))
            }
            _ => Err(Reject::unsupported_grant_type()),
        }
    }

    fn refresh(&mut self, refresh_token: &str) -> Result<TokenGrant, Reject> {
        let grant = self
            .grants
            .iter_mut()
            .find(|grant| grant.refresh_token.as_deref() == Some(refresh_token))
            .ok_or_else(|| Reject::invalid_grant("Invalid Token!"))?;
        let access_token = grant.new_access_token(self.lifetime);
        let rotated = new_refresh_token();
        grant.refresh_token = Some(rotated.clone());
        Ok(TokenGrant {
            refresh_token: Some(rotated),
            ..TokenGrant::bearer(access_token, grant.scope.clone(), self.lifetime)
        })
    }

    fn account_credentials(&mut self, account_id: &str) -> Result<TokenGrant, Reject> {
        if self
            .account_id
            .as_deref()
            .is_some_and(|expected| expected != account_id)
        {
            return Err(Reject::invalid_grant("Invalid account_id"));
        }
        let issued = self.unrefreshable_grant(ACCOUNT_SCOPE, true);
        // Zoom's "index tolerance": a new Server-to-Server token invalidates the account's
        // older ones beyond the few newest (the exact number is not documented). A client that
        // fetches a token per call kills the tokens its other calls still hold.
        let mut kept = 0;
        for index in (0..self.grants.len()).rev() {
            if self.grants[index].server_to_server {
                kept += 1;
                if kept > S2S_LIVE_TOKENS {
                    self.grants.remove(index);
                }
            }
        }
        Ok(issued)
    }

    /// Server-to-Server and chatbot tokens are still recorded as grants so
    /// that `/oauth/revoke` can kill them.
    fn unrefreshable_grant(&mut self, scope: &str, server_to_server: bool) -> TokenGrant {
        let mut grant = Grant {
            refresh_token: None,
            access_tokens: Vec::new(),
            scope: scope.to_owned(),
            server_to_server,
        };
        let access_token = grant.new_access_token(self.lifetime);
        self.grants.push(grant);
        TokenGrant::bearer(access_token, scope.to_owned(), self.lifetime)
    }

    /// The scope of a live, unexpired access token; `None` for any other text.
    fn access_scope(&self, token: &str) -> Option<&str> {
        let now = Instant::now();
        self.grants.iter().find_map(|grant| {
            grant
                .access_tokens
                .iter()
                .any(|(t, expires)| t == token && *expires > now)
                .then_some(grant.scope.as_str())
        })
    }

    fn revoke(&mut self, token: &str) -> Result<(), Reject> {
        let index = self
            .grants
            .iter()
            .position(|grant| grant.owns(token))
            .ok_or_else(Reject::invalid_token)?;
        self.grants.swap_remove(index);
        Ok(())
    }

    fn live_refresh_token(&self) -> Option<String> {
        self.grants
            .iter()
            .find_map(|grant| grant.refresh_token.clone())
    }
}

/// The success body of `/oauth/token`; field order matches Zoom's.
#[derive(Serialize)]
struct TokenGrant {
    access_token: String,
    token_type: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    refresh_token: Option<String>,
    expires_in: u64,
    scope: String,
    /// Filled in with the emulator's address when the answer is sent.
    api_url: String,
}

impl TokenGrant {
    fn bearer(access_token: String, scope: String, lifetime: Duration) -> TokenGrant {
        TokenGrant {
            access_token,
            token_type: "bearer",
            refresh_token: None,
            expires_in: lifetime.as_secs(),
            scope,
            api_url: String::new(),
        }
    }
}

fn random_hex() -> String {
    uuid::Uuid::new_v4().simple().to_string()
}

// Distinct prefixes let a human tell the two apart in a log; the random part
// keeps them opaque, as Zoom's are to clients.
fn new_access_token() -> String {
    format!("emu.{}", random_hex())
}

fn new_refresh_token() -> String {
    format!("emurt.{}", random_hex())
}

// ---------------------------------------------------------------------------
// HTTP

async fn serve(listener: TcpListener, shared: Arc<Shared>, mut stop: watch::Receiver<bool>) {
    loop {
        // `changed` also fires when the sender is dropped, i.e. the ZoomMock is gone.
        let accepted = tokio::select! {
            _ = stop.changed() => return,
            accepted = listener.accept() => accepted,
        };
        match accepted {
            Ok((stream, _peer)) => {
                tokio::spawn(serve_connection(stream, Arc::clone(&shared), stop.clone()));
            }
            Err(_) => tokio::time::sleep(ACCEPT_BACKOFF).await,
        }
    }
}

async fn serve_connection(stream: TcpStream, shared: Arc<Shared>, mut stop: watch::Receiver<bool>) {
    let service = service_fn(move |request| {
        let shared = Arc::clone(&shared);
        async move { Ok::<_, Infallible>(handle(&shared, request).await) }
    });
    let connection = http1::Builder::new()
        .keep_alive(true)
        .serve_connection(TokioIo::new(stream), service);
    let mut connection = std::pin::pin!(connection);
    // Connection errors (resets, half-sent requests) are the client's
    // business; the emulator has no one to report them to.
    tokio::select! {
        _ = connection.as_mut() => {}
        _ = stop.changed() => {
            connection.as_mut().graceful_shutdown();
            let _ = tokio::time::timeout(GRACEFUL_CLOSE, connection).await;
        }
    }
}

#[derive(Clone, Copy)]
enum Endpoint {
    Token,
    Revoke,
}

async fn handle(shared: &Shared, request: Request<Incoming>) -> Response<Full<Bytes>> {
    shared.hits.fetch_add(1, Ordering::SeqCst);
    let endpoint = match request.uri().path() {
        TOKEN_PATH => Endpoint::Token,
        REVOKE_PATH => Endpoint::Revoke,
        USERS_ME_PATH => return users_me(shared, &request),
        _ => return not_found_page(),
    };
    if let Endpoint::Token = endpoint {
        shared.token_requests.fetch_add(1, Ordering::SeqCst);
    }
    match answer(shared, endpoint, request).await {
        Ok(body) => json_response(StatusCode::OK, &body),
        Err(reject) => reject.into_response(),
    }
}

/// The checks run in the order that gives the most useful error first: a
/// credential leaked into the URL is reported even if the rest is also wrong.
async fn answer(
    shared: &Shared,
    endpoint: Endpoint,
    request: Request<Incoming>,
) -> Result<Value, Reject> {
    if request.method() != Method::POST {
        return Err(Reject::method_not_allowed());
    }
    refuse_credentials_in_query(request.uri().query())?;
    shared.authenticate(request.headers())?;
    require_form_content_type(request.headers())?;
    let form = Form::parse(&read_body(request.into_body()).await?)?;

    let mut state = shared.state()?;
    match endpoint {
        Endpoint::Token => {
            let mut grant = state.issue_token(&form)?;
            grant.api_url.clone_from(&shared.api_url);
            serde_json::to_value(grant).map_err(|_| Reject::internal())
        }
        Endpoint::Revoke => {
            state.revoke(form.require("token")?)?;
            Ok(json!({ "status": "success" }))
        }
    }
}

/// `GET /v2/users/me`: the token's user, for a live access token that may read users; Zoom's
/// API error bodies (`{"code", "message"}`) otherwise.
fn users_me(shared: &Shared, request: &Request<Incoming>) -> Response<Full<Bytes>> {
    let api_error = |status: StatusCode, code: u32, message: &str| {
        json_response(status, &json!({ "code": code, "message": message }))
    };
    if request.method() != Method::GET {
        return api_error(StatusCode::METHOD_NOT_ALLOWED, 405, "Method not allowed.");
    }
    let Ok(state) = shared.state() else {
        return api_error(StatusCode::INTERNAL_SERVER_ERROR, 500, "Internal error.");
    };
    let scope = bearer_token(request.headers()).and_then(|token| state.access_scope(&token));
    match scope {
        None => api_error(StatusCode::UNAUTHORIZED, 124, "Invalid access token."),
        Some(scope)
            if !scope
                .split_whitespace()
                .any(|s| USER_READ_SCOPES.contains(&s)) =>
        {
            api_error(
                StatusCode::BAD_REQUEST,
                4711,
                "Invalid access token, does not contain scopes:[user:read, user:read:admin].",
            )
        }
        Some(_) => json_response(
            StatusCode::OK,
            &json!({
                "id": EMULATED_USER_ID,
                "first_name": "Emulated",
                "last_name": "User",
                "display_name": "Emulated User",
                "email": "emulated.user@example.com",
                "type": 1,
                "role_name": "Owner",
                "account_id": state.account_id.as_deref().unwrap_or(EMULATED_ACCOUNT_ID),
                "status": "active"
            }),
        ),
    }
}

/// The id of the one user behind every token, and of its account when the seed names none.
const EMULATED_USER_ID: &str = "emuUser0000000000000001";
const EMULATED_ACCOUNT_ID: &str = "emuAccount000000000001";

/// `Authorization: Bearer TOKEN`.
fn bearer_token(headers: &HeaderMap) -> Option<String> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.trim().split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then(|| token.trim().to_owned())
}

fn refuse_credentials_in_query(query: Option<&str>) -> Result<(), Reject> {
    let Some(query) = query else {
        return Ok(());
    };
    let pairs: Vec<(String, String)> = serde_urlencoded::from_str(query)
        .map_err(|_| Reject::invalid_request("Malformed query string"))?;
    if pairs
        .iter()
        .any(|(key, _)| CREDENTIAL_QUERY_KEYS.contains(&key.as_str()))
    {
        return Err(Reject::invalid_request(
            "Tokens must be sent in the request body, not the URL query",
        ));
    }
    Ok(())
}

/// `Authorization: Basic base64(id:secret)`. The secret may itself contain
/// ':', hence the split at the first one only.
fn basic_credentials(headers: &HeaderMap) -> Option<(String, String)> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, encoded) = value.trim().split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let decoded = String::from_utf8(BASE64.decode(encoded.trim()).ok()?).ok()?;
    let (id, secret) = decoded.split_once(':')?;
    Some((id.to_owned(), secret.to_owned()))
}

fn require_form_content_type(headers: &HeaderMap) -> Result<(), Reject> {
    let media_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.split(';').next())
        .map(str::trim);
    match media_type {
        Some(media_type) if media_type.eq_ignore_ascii_case(FORM_MEDIA_TYPE) => Ok(()),
        _ => Err(Reject::invalid_request(
            "Request body must be application/x-www-form-urlencoded",
        )),
    }
}

async fn read_body(body: Incoming) -> Result<Bytes, Reject> {
    match Limited::new(body, MAX_BODY_BYTES).collect().await {
        Ok(collected) => Ok(collected.to_bytes()),
        Err(error) if error.is::<LengthLimitError>() => Err(Reject::too_large()),
        Err(_) => Err(Reject::invalid_request("Could not read the request body")),
    }
}

/// A parsed form body. Repeated keys keep their first value.
struct Form(Vec<(String, String)>);

impl Form {
    fn parse(body: &[u8]) -> Result<Form, Reject> {
        serde_urlencoded::from_bytes(body)
            .map(Form)
            .map_err(|_| Reject::invalid_request("Malformed form body"))
    }

    /// An empty value counts as absent: `refresh_token=` is what a template
    /// with an unset variable produces, and it should read as "missing".
    fn get(&self, key: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, value)| value.as_str())
            .filter(|value| !value.is_empty())
    }

    fn require(&self, key: &str) -> Result<&str, Reject> {
        self.get(key)
            .ok_or_else(|| Reject::invalid_request(format!("Missing {key}")))
    }
}

/// An error answer in Zoom's shape: `{"reason": ..., "error": ...}`.
#[derive(Debug)]
struct Reject {
    status: StatusCode,
    error: &'static str,
    reason: String,
}

impl Reject {
    fn new(status: StatusCode, error: &'static str, reason: impl Into<String>) -> Reject {
        Reject {
            status,
            error,
            reason: reason.into(),
        }
    }

    fn invalid_request(reason: impl Into<String>) -> Reject {
        Reject::new(StatusCode::BAD_REQUEST, "invalid_request", reason)
    }

    fn invalid_client() -> Reject {
        Reject::new(
            StatusCode::BAD_REQUEST,
            "invalid_client",
            "Invalid client_id or client_secret",
        )
    }

    fn invalid_grant(reason: impl Into<String>) -> Reject {
        Reject::new(StatusCode::BAD_REQUEST, "invalid_grant", reason)
    }

    fn invalid_token() -> Reject {
        Reject::new(StatusCode::BAD_REQUEST, "invalid_token", "Invalid Token!")
    }

    fn unsupported_grant_type() -> Reject {
        Reject::new(
            StatusCode::BAD_REQUEST,
            "unsupported_grant_type",
            "unsupported grant type",
        )
    }

    fn method_not_allowed() -> Reject {
        Reject::new(
            StatusCode::METHOD_NOT_ALLOWED,
            "invalid_request",
            "Method not allowed",
        )
    }

    fn too_large() -> Reject {
        Reject::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "invalid_request",
            "Request body too large",
        )
    }

    fn internal() -> Reject {
        Reject::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "server_error",
            "Internal server error",
        )
    }

    fn into_response(self) -> Response<Full<Bytes>> {
        let body = json!({ "reason": self.reason, "error": self.error });
        let mut response = json_response(self.status, &body);
        if self.status == StatusCode::METHOD_NOT_ALLOWED {
            // Required on a 405 by RFC 9110; clients use it to self-correct.
            response
                .headers_mut()
                .insert(header::ALLOW, HeaderValue::from_static("POST"));
        }
        response
    }
}

fn json_response(status: StatusCode, body: &Value) -> Response<Full<Bytes>> {
    let mut response = text_response(status, body.to_string(), JSON_CONTENT_TYPE);
    // Token answers carry credentials; RFC 6749 forbids caching them.
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

fn not_found_page() -> Response<Full<Bytes>> {
    text_response(
        StatusCode::NOT_FOUND,
        NOT_FOUND_PAGE.to_owned(),
        HTML_CONTENT_TYPE,
    )
}

/// Built field by field rather than with `Response::builder`, whose `Result`
/// would need an unwrap: every header here is a valid static value.
fn text_response(
    status: StatusCode,
    body: String,
    content_type: &'static str,
) -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(Bytes::from(body)));
    *response.status_mut() = status;
    response
        .headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    response
}

#[cfg(test)]
mod tests {
    use std::io::{Read as _, Write as _};

    use super::*;

    const CLIENT_ID: &str = "test-client";
    const CLIENT_SECRET: &str = "test:secret"; // a ':' inside the secret must survive Basic auth
    const SEED_REFRESH: &str = "seed-refresh-token";
    const ACCOUNT_ID: &str = "acct-1";
    const CLIENT: Option<(&str, &str)> = Some((CLIENT_ID, CLIENT_SECRET));

    fn seed() -> Seed {
        Seed {
            client_id: CLIENT_ID.to_owned(),
            client_secret: CLIENT_SECRET.to_owned(),
            refresh_token: SEED_REFRESH.to_owned(),
            account_id: Some(ACCOUNT_ID.to_owned()),
            token_lifetime: None,
            scope: None,
        }
    }

    fn loopback() -> SocketAddr {
        SocketAddr::from(([127, 0, 0, 1], 0))
    }

    async fn start() -> ZoomMock {
        ZoomMock::start(seed(), loopback())
            .await
            .expect("bind loopback")
    }

    fn http() -> reqwest::Client {
        // reqwest's `rustls-no-provider` panics at client build time without a
        // process-wide provider, even for plain http://. Another test may have
        // installed it already, hence the ignored result.
        let _ = rustls::crypto::ring::default_provider().install_default();
        reqwest::Client::new()
    }

    struct Reply {
        status: u16,
        content_type: String,
        body: String,
    }

    impl Reply {
        fn json(&self) -> Value {
            serde_json::from_str(&self.body)
                .unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.body))
        }

        fn assert_error(&self, status: u16, error: &str, reason: &str) {
            assert_eq!(self.status, status, "body: {}", self.body);
            assert_eq!(self.content_type, JSON_CONTENT_TYPE);
            assert_eq!(self.json(), json!({ "reason": reason, "error": error }));
        }
    }

    async fn send(request: reqwest::RequestBuilder) -> Reply {
        let response = request.send().await.expect("request reaches the emulator");
        let content_type = response
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned();
        Reply {
            status: response.status().as_u16(),
            content_type,
            body: response.text().await.expect("body"),
        }
    }

    async fn post(
        mock: &ZoomMock,
        path: &str,
        auth: Option<(&str, &str)>,
        form: &[(&str, &str)],
    ) -> Reply {
        let mut request = http()
            .post(format!("{}{path}", mock.base_url()))
            .header(header::CONTENT_TYPE, FORM_MEDIA_TYPE)
            .body(serde_urlencoded::to_string(form).expect("encode form"));
        if let Some((id, secret)) = auth {
            request = request.basic_auth(id, Some(secret));
        }
        send(request).await
    }

    async fn refresh(mock: &ZoomMock, refresh_token: &str) -> Reply {
        let form = [
            ("grant_type", "refresh_token"),
            ("refresh_token", refresh_token),
        ];
        post(mock, TOKEN_PATH, CLIENT, &form).await
    }

    async fn revoke(mock: &ZoomMock, token: &str) -> Reply {
        post(mock, REVOKE_PATH, CLIENT, &[("token", token)]).await
    }

    async fn users_me(mock: &ZoomMock, token: Option<&str>) -> Reply {
        let mut request = http().get(format!("{}{USERS_ME_PATH}", mock.base_url()));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        send(request).await
    }

    fn assert_api_error(reply: &Reply, status: u16, code: u32, message: &str) {
        assert_eq!(reply.status, status, "body: {}", reply.body);
        assert_eq!(reply.json(), json!({ "code": code, "message": message }));
    }

    #[tokio::test]
    async fn users_me_answers_a_live_access_token_and_refuses_any_other() {
        let mock = start().await;
        let body = refresh(&mock, SEED_REFRESH).await.json();
        let access = string_field(&body, "access_token");

        let me = users_me(&mock, Some(&access)).await;
        assert_eq!(me.status, 200, "body: {}", me.body);
        assert_eq!(me.json()["id"], EMULATED_USER_ID);
        assert_eq!(me.json()["account_id"], ACCOUNT_ID);

        let invalid = "Invalid access token.";
        assert_api_error(&users_me(&mock, None).await, 401, 124, invalid);
        assert_api_error(
            &users_me(&mock, Some("emu.forged")).await,
            401,
            124,
            invalid,
        );
        // The refresh token is no access token.
        let rotated = string_field(&body, "refresh_token");
        assert_api_error(&users_me(&mock, Some(&rotated)).await, 401, 124, invalid);
        // Revoking kills the grant's access tokens too.
        assert_eq!(revoke(&mock, &access).await.status, 200);
        assert_api_error(&users_me(&mock, Some(&access)).await, 401, 124, invalid);
    }

    #[tokio::test]
    async fn an_access_token_expires_after_the_seeds_lifetime() {
        let seed = Seed {
            token_lifetime: Some(Duration::from_millis(1500)),
            scope: None,
            ..seed()
        };
        let mock = ZoomMock::start(seed, loopback()).await.expect("bind");
        let body = refresh(&mock, SEED_REFRESH).await.json();
        assert_eq!(body["expires_in"], 1);
        let access = string_field(&body, "access_token");
        assert_eq!(users_me(&mock, Some(&access)).await.status, 200);
        tokio::time::sleep(Duration::from_millis(1600)).await;
        let expired = users_me(&mock, Some(&access)).await;
        assert_api_error(&expired, 401, 124, "Invalid access token.");
    }

    #[tokio::test]
    async fn a_chatbot_token_may_not_read_users() {
        let mock = start().await;
        let form = [("grant_type", "client_credentials")];
        let body = post(&mock, TOKEN_PATH, CLIENT, &form).await.json();
        let access = string_field(&body, "access_token");
        let reply = users_me(&mock, Some(&access)).await;
        assert_eq!(reply.status, 400, "body: {}", reply.body);
        assert_eq!(reply.json()["code"], 4711);
    }

    fn string_field(body: &Value, field: &str) -> String {
        body[field]
            .as_str()
            .unwrap_or_else(|| panic!("{field} is not a string in {body}"))
            .to_owned()
    }

    #[tokio::test]
    async fn refresh_returns_zoom_token_shape_with_a_new_refresh_token() {
        let mock = start().await;
        let reply = refresh(&mock, SEED_REFRESH).await;
        assert_eq!(reply.status, 200, "body: {}", reply.body);
        assert_eq!(reply.content_type, JSON_CONTENT_TYPE);
        let body = reply.json();
        let keys: Vec<&str> = body
            .as_object()
            .expect("object")
            .keys()
            .map(String::as_str)
            .collect();
        assert_eq!(
            keys,
            [
                "access_token",
                "token_type",
                "refresh_token",
                "expires_in",
                "scope",
                "api_url"
            ]
        );
        assert_eq!(body["token_type"], "bearer");
        assert_eq!(body["expires_in"], 3599);
        assert_eq!(body["scope"], "user:read");
        assert_eq!(body["api_url"], mock.base_url(), "API calls come back here");
        let access = string_field(&body, "access_token");
        let rotated = string_field(&body, "refresh_token");
        assert!(!access.is_empty());
        assert_ne!(rotated, SEED_REFRESH);
        assert_ne!(rotated, access);
    }

    #[tokio::test]
    async fn refresh_rotates_and_the_old_token_dies_at_once() {
        let mock = start().await;
        let first = refresh(&mock, SEED_REFRESH).await.json();
        let rotated = string_field(&first, "refresh_token");
        assert_eq!(mock.live_refresh_token(), Some(rotated.clone()));

        let reused = refresh(&mock, SEED_REFRESH).await;
        assert_eq!(reused.status, 400);
        assert_eq!(
            reused.body,
            r#"{"reason":"Invalid Token!","error":"invalid_grant"}"#
        );

        let second = refresh(&mock, &rotated).await;
        assert_eq!(second.status, 200, "body: {}", second.body);
        assert_eq!(
            mock.live_refresh_token(),
            Some(string_field(&second.json(), "refresh_token"))
        );
    }

    #[tokio::test]
    async fn wrong_or_malformed_client_credentials_are_invalid_client() {
        let mock = start().await;
        let form = [
            ("grant_type", "refresh_token"),
            ("refresh_token", SEED_REFRESH),
        ];
        let wrong_secret = post(&mock, TOKEN_PATH, Some((CLIENT_ID, "nope")), &form).await;
        wrong_secret.assert_error(400, "invalid_client", "Invalid client_id or client_secret");

        let missing = post(&mock, TOKEN_PATH, None, &form).await;
        missing.assert_error(400, "invalid_client", "Invalid client_id or client_secret");

        let no_colon = http()
            .post(format!("{}{TOKEN_PATH}", mock.base_url()))
            .header(header::CONTENT_TYPE, FORM_MEDIA_TYPE)
            .header(
                header::AUTHORIZATION,
                format!("Basic {}", BASE64.encode(CLIENT_ID)),
            )
            .body("grant_type=refresh_token&refresh_token=x");
        send(no_colon).await.assert_error(
            400,
            "invalid_client",
            "Invalid client_id or client_secret",
        );

        // None of these may have consumed the seeded grant.
        assert_eq!(mock.live_refresh_token().as_deref(), Some(SEED_REFRESH));
    }

    #[tokio::test]
    async fn basic_scheme_is_case_insensitive() {
        let mock = start().await;
        let encoded = BASE64.encode(format!("{CLIENT_ID}:{CLIENT_SECRET}"));
        let request = http()
            .post(format!("{}{TOKEN_PATH}", mock.base_url()))
            .header(header::CONTENT_TYPE, FORM_MEDIA_TYPE)
            .header(header::AUTHORIZATION, format!("bAsIc {encoded}"))
            .body(format!(
                "grant_type=refresh_token&refresh_token={SEED_REFRESH}"
            ));
        assert_eq!(send(request).await.status, 200);
    }

    #[tokio::test]
    async fn unknown_or_missing_grant_type_is_unsupported() {
        let mock = start().await;
        let password = post(&mock, TOKEN_PATH, CLIENT, &[("grant_type", "password")]).await;
        password.assert_error(400, "unsupported_grant_type", "unsupported grant type");
        let missing = post(&mock, TOKEN_PATH, CLIENT, &[]).await;
        missing.assert_error(400, "unsupported_grant_type", "unsupported grant type");
    }

    #[tokio::test]
    async fn credentials_in_the_query_string_are_refused() {
        let mock = start().await;
        let reason = "Tokens must be sent in the request body, not the URL query";
        for (path, query) in [
            (
                TOKEN_PATH,
                format!("grant_type=refresh_token&refresh_token={SEED_REFRESH}"),
            ),
            (TOKEN_PATH, "code=abc".to_owned()),
            (REVOKE_PATH, "token=abc".to_owned()),
        ] {
            let request = http()
                .post(format!("{}{path}?{query}", mock.base_url()))
                .basic_auth(CLIENT_ID, Some(CLIENT_SECRET))
                .header(header::CONTENT_TYPE, FORM_MEDIA_TYPE)
                .body(format!(
                    "grant_type=refresh_token&refresh_token={SEED_REFRESH}"
                ));
            send(request)
                .await
                .assert_error(400, "invalid_request", reason);
        }
        // The valid body next to the leaked query must not have been honoured.
        assert_eq!(mock.live_refresh_token().as_deref(), Some(SEED_REFRESH));
    }

    #[tokio::test]
    async fn unrelated_query_parameters_are_allowed() {
        let mock = start().await;
        let request = http()
            .post(format!("{}{TOKEN_PATH}?trace=1", mock.base_url()))
            .basic_auth(CLIENT_ID, Some(CLIENT_SECRET))
            .header(header::CONTENT_TYPE, FORM_MEDIA_TYPE)
            .body(format!(
                "grant_type=refresh_token&refresh_token={SEED_REFRESH}"
            ));
        assert_eq!(send(request).await.status, 200);
    }

    #[tokio::test]
    async fn a_body_that_is_not_a_form_is_refused() {
        let mock = start().await;
        let request = http()
            .post(format!("{}{TOKEN_PATH}", mock.base_url()))
            .basic_auth(CLIENT_ID, Some(CLIENT_SECRET))
            .header(header::CONTENT_TYPE, "application/json")
            .body(
                json!({ "grant_type": "refresh_token", "refresh_token": SEED_REFRESH }).to_string(),
            );
        send(request).await.assert_error(
            400,
            "invalid_request",
            "Request body must be application/x-www-form-urlencoded",
        );
        assert_eq!(mock.live_refresh_token().as_deref(), Some(SEED_REFRESH));
    }

    #[tokio::test]
    async fn oversized_body_is_413() {
        let mock = start().await;
        let padding = "a".repeat(MAX_BODY_BYTES + 1);
        let reply = post(&mock, TOKEN_PATH, CLIENT, &[("padding", &padding)]).await;
        reply.assert_error(413, "invalid_request", "Request body too large");
    }

    #[tokio::test]
    async fn account_credentials_issue_a_token_without_refresh_token() {
        let mock = start().await;
        let form = [
            ("grant_type", "account_credentials"),
            ("account_id", ACCOUNT_ID),
        ];
        let reply = post(&mock, TOKEN_PATH, CLIENT, &form).await;
        assert_eq!(reply.status, 200, "body: {}", reply.body);
        let body = reply.json();
        assert!(body.get("refresh_token").is_none(), "{body}");
        assert_eq!(body["token_type"], "bearer");
        assert_eq!(body["expires_in"], 3599);
        assert_eq!(body["api_url"], mock.base_url());
        assert!(body["scope"].is_string());
        assert!(!string_field(&body, "access_token").is_empty());
    }

    #[tokio::test]
    async fn account_credentials_check_the_account() {
        let mock = start().await;
        let other = [
            ("grant_type", "account_credentials"),
            ("account_id", "other"),
        ];
        post(&mock, TOKEN_PATH, CLIENT, &other).await.assert_error(
            400,
            "invalid_grant",
            "Invalid account_id",
        );
        let missing = [("grant_type", "account_credentials")];
        post(&mock, TOKEN_PATH, CLIENT, &missing)
            .await
            .assert_error(400, "invalid_request", "Missing account_id");
    }

    #[tokio::test]
    async fn client_credentials_issue_a_chatbot_token() {
        let mock = start().await;
        let reply = post(
            &mock,
            TOKEN_PATH,
            CLIENT,
            &[("grant_type", "client_credentials")],
        )
        .await;
        assert_eq!(reply.status, 200, "body: {}", reply.body);
        let body = reply.json();
        assert_eq!(body["scope"], "imchat:bot");
        assert_eq!(body["token_type"], "bearer");
        assert_eq!(body["expires_in"], 3599);
        assert!(body.get("refresh_token").is_none(), "{body}");
    }

    #[tokio::test]
    async fn authorization_codes_are_never_valid() {
        let mock = start().await;
        let form = [("grant_type", "authorization_code"), ("code", "abc123")];
        post(&mock, TOKEN_PATH, CLIENT, &form).await.assert_error(
            400,
            "invalid_grant",
            "Invalid authorization code abc123",
        );
    }

    #[tokio::test]
    async fn revoking_an_access_token_kills_the_whole_grant() {
        let mock = start().await;
        let issued = refresh(&mock, SEED_REFRESH).await.json();
        let access = string_field(&issued, "access_token");
        let current = string_field(&issued, "refresh_token");

        let reply = revoke(&mock, &access).await;
        assert_eq!(reply.status, 200, "body: {}", reply.body);
        assert_eq!(reply.content_type, JSON_CONTENT_TYPE);
        assert_eq!(reply.json(), json!({ "status": "success" }));
        assert_eq!(mock.live_refresh_token(), None);

        refresh(&mock, &current)
            .await
            .assert_error(400, "invalid_grant", "Invalid Token!");
        revoke(&mock, &access)
            .await
            .assert_error(400, "invalid_token", "Invalid Token!");
    }

    #[tokio::test]
    async fn revoking_the_refresh_token_kills_the_grant() {
        let mock = start().await;
        assert_eq!(revoke(&mock, SEED_REFRESH).await.status, 200);
        refresh(&mock, SEED_REFRESH)
            .await
            .assert_error(400, "invalid_grant", "Invalid Token!");
    }

    #[tokio::test]
    async fn revoking_an_unknown_token_is_invalid_token() {
        let mock = start().await;
        revoke(&mock, "never-issued")
            .await
            .assert_error(400, "invalid_token", "Invalid Token!");
        let wrong_client = post(
            &mock,
            REVOKE_PATH,
            Some(("x", "y")),
            &[("token", SEED_REFRESH)],
        )
        .await;
        wrong_client.assert_error(400, "invalid_client", "Invalid client_id or client_secret");
        assert_eq!(mock.live_refresh_token().as_deref(), Some(SEED_REFRESH));
    }

    #[tokio::test]
    async fn other_methods_are_405() {
        let mock = start().await;
        for path in [TOKEN_PATH, REVOKE_PATH] {
            let request = http()
                .get(format!("{}{path}", mock.base_url()))
                .basic_auth(CLIENT_ID, Some(CLIENT_SECRET));
            send(request)
                .await
                .assert_error(405, "invalid_request", "Method not allowed");
        }
    }

    #[tokio::test]
    async fn unknown_paths_are_an_html_404() {
        let mock = start().await;
        for path in ["/", "/v2/users", "/oauth/token/extra"] {
            let reply = send(http().get(format!("{}{path}", mock.base_url()))).await;
            assert_eq!(reply.status, 404, "{path}");
            assert_eq!(reply.content_type, "text/html;charset=utf-8");
            assert_eq!(reply.body, NOT_FOUND_PAGE);
            assert!(serde_json::from_str::<Value>(&reply.body).is_err());
        }
    }

    #[tokio::test]
    async fn hits_count_every_request_on_every_path() {
        let mock = start().await;
        assert_eq!(mock.hits(), 0);
        refresh(&mock, SEED_REFRESH).await;
        send(http().get(format!("{}/elsewhere", mock.base_url()))).await;
        post(&mock, TOKEN_PATH, None, &[]).await;
        assert_eq!(mock.hits(), 3);
    }

    #[tokio::test]
    async fn shutdown_stops_accepting_connections() {
        let mock = start().await;
        let addr = mock.addr();
        assert_eq!(
            send(http().get(format!("{}/", mock.base_url())))
                .await
                .status,
            404
        );
        mock.shutdown();
        // The accept loop runs on this same runtime; give it turns to see the signal.
        let mut refused = false;
        for _ in 0..100 {
            if TcpStream::connect(addr).await.is_err() {
                refused = true;
                break;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        assert!(refused, "still accepting on {addr} after shutdown");
    }

    /// One raw HTTP/1.1 exchange, for tests that run without any async runtime.
    fn blocking_get(addr: SocketAddr, path: &str) -> String {
        let mut stream = std::net::TcpStream::connect(addr).expect("connect");
        stream
            .set_read_timeout(Some(Duration::from_secs(5)))
            .expect("timeout");
        write!(
            stream,
            "GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"
        )
        .expect("write request");
        let mut response = String::new();
        stream.read_to_string(&mut response).expect("read response");
        response
    }

    #[test]
    fn start_background_serves_without_a_runtime_and_drop_stops_it() {
        let mock = ZoomMock::start_background(seed(), loopback()).expect("bind loopback");
        let addr = mock.addr();
        assert_eq!(mock.base_url(), format!("http://127.0.0.1:{}", addr.port()));

        let response = blocking_get(addr, "/nowhere");
        assert!(response.starts_with("HTTP/1.1 404"), "{response}");
        assert!(response.ends_with(NOT_FOUND_PAGE), "{response}");
        assert_eq!(mock.hits(), 1);
        assert_eq!(mock.live_refresh_token().as_deref(), Some(SEED_REFRESH));

        drop(mock);
        // Drop joined the server thread, so the listener is already closed.
        assert!(std::net::TcpStream::connect(addr).is_err());
    }

    #[test]
    fn zoom_mock_is_send_and_sync() {
        fn assert_send_sync<T: Send + Sync>() {}
        assert_send_sync::<ZoomMock>();
    }

    #[test]
    fn random_seeds_differ_and_look_like_zoom_credentials() {
        let (a, b) = (Seed::random(), Seed::random());
        assert_ne!(a, b);
        assert_eq!(a.client_id.len(), 22);
        assert!(a.account_id.is_none());
        assert!(!a.refresh_token.is_empty() && !a.client_secret.is_empty());
    }

    #[test]
    fn banner_lists_credentials_and_endpoints() {
        let text = banner(&seed(), "http://127.0.0.1:8080/");
        let expected = "\
Zoom OAuth emulator listening on http://127.0.0.1:8080
  client id      test-client
  client secret  test:secret
  refresh token  seed-refresh-token
  account id     acct-1
  token endpoint   POST http://127.0.0.1:8080/oauth/token
  revoke endpoint  POST http://127.0.0.1:8080/oauth/revoke
Press Ctrl-C to stop.";
        assert_eq!(text, expected);
    }
}
