//! What goes on the wire: one HTTP client per run, the request as sent and the response as
//! received.
//!
//! reqwest does the HTTP; this module follows redirects itself, so that each request can set its
//! own limit and so that credentials never follow a redirect to another origin. No reqwest type
//! leaves this module: callers build an [`Outgoing`] and get an [`Exchange`] or a
//! [`TransportError`] back.

mod cookies;
pub mod digest;
pub mod rules;

pub use cookies::Jar;

use std::borrow::Cow;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::Poll;
use std::time::{Duration, Instant};

use bytes::Bytes;
use url::Url;

/// A request ready to send: every template rendered, every header checked.
#[derive(Debug, Clone)]
pub struct Outgoing {
    pub method: String,
    pub url: Url,
    pub headers: Vec<(String, String)>,
    /// Shared, not copied, with every attempt and with the report of the exchange.
    pub body: Option<Bytes>,
    pub timeout: Duration,
    pub max_redirects: u32,
    /// `auth: { digest: … }`: answered when the server challenges (a 401 with `Digest`).
    pub digest: Option<Arc<digest::Credentials>>,
}

/// A request and the response it got.
#[derive(Debug, Clone)]
pub struct Exchange {
    /// The last request sent (after redirects, the one that got this response). Shared: a long
    /// run sends the same built request again and again.
    pub request: Arc<Outgoing>,
    pub status: u16,
    pub reason: &'static str,
    pub version: &'static str,
    pub headers: Headers,
    pub body: Vec<u8>,
    pub duration: Duration,
    /// Each redirect followed: its status and the URL it pointed to.
    pub redirects: Vec<(u16, Url)>,
}

/// Response headers as received: names in lower case, values as bytes, both shared rather than
/// copied (a long run receives the same few headers again and again).
#[derive(Debug, Clone, Default)]
pub struct Headers(Vec<(reqwest::header::HeaderName, reqwest::header::HeaderValue)>);

impl Headers {
    /// Headers written by hand, for tests; a name or value HTTP forbids is left out.
    #[cfg(test)]
    pub fn from_pairs<'a>(pairs: impl IntoIterator<Item = (&'a str, &'a str)>) -> Headers {
        Headers(
            pairs
                .into_iter()
                .filter_map(|(name, value)| Some((name.parse().ok()?, value.parse().ok()?)))
                .collect(),
        )
    }

    /// Each header in order received, its value read as UTF-8 (invalid bytes replaced).
    pub fn iter(&self) -> impl Iterator<Item = (&str, Cow<'_, str>)> {
        self.0
            .iter()
            .map(|(name, value)| (name.as_str(), String::from_utf8_lossy(value.as_bytes())))
    }
}

impl Exchange {
    /// The values of a response header (name compared without case), joined as HTTP allows.
    pub fn header(&self, name: &str) -> Option<String> {
        // Names first: most lookups (`retry-after`) find nothing, and reading a value as text
        // costs more than comparing a name.
        let mut values = self
            .headers
            .0
            .iter()
            .filter(|(n, _)| n.as_str().eq_ignore_ascii_case(name))
            .map(|(_, v)| String::from_utf8_lossy(v.as_bytes()));
        let mut joined = values.next()?.into_owned();
        for value in values {
            joined.push_str(", ");
            joined.push_str(&value);
        }
        Some(joined)
    }

    pub fn body_text(&self) -> std::borrow::Cow<'_, str> {
        String::from_utf8_lossy(&self.body)
    }
}

#[derive(Debug, Clone)]
pub enum TransportError {
    /// Nothing reached the server: refused, unreachable, DNS.
    Connect(String),
    Timeout(Duration),
    TooManyRedirects(u32),
    /// The answer's body is larger than the limit, in bytes.
    TooLarge(usize),
    /// Anything else: TLS, a connection reset mid-answer, a malformed response.
    Other(String),
}

impl fmt::Display for TransportError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TransportError::Connect(m) => write!(f, "cannot connect: {m}"),
            TransportError::Timeout(d) => {
                write!(f, "no answer within {}", humantime::format_duration(*d))
            }
            TransportError::TooManyRedirects(n) => write!(f, "more than {n} redirects"),
            TransportError::TooLarge(max) => {
                write!(f, "the response body is larger than {max} bytes")
            }
            TransportError::Other(m) => f.write_str(m),
        }
    }
}

/// How the run's one client connects, resolved from the command line.
#[derive(Debug, Clone, Default)]
pub struct ClientOptions {
    pub connect_timeout: Option<Duration>,
    /// Accept any certificate .
    pub insecure: bool,
    /// A PEM file of certificates trusted in addition to the system's.
    pub extra_roots: Option<std::path::PathBuf>,
    /// A proxy for every request ; `HTTPS_PROXY`, `HTTP_PROXY` and `NO_PROXY` apply
    /// when it is not given.
    pub proxy: Option<String>,
    /// The largest response body kept (`--max-body`); `None` keeps any size.
    pub max_body: Option<usize>,
}

pub struct Client {
    /// Sends every request, or only `http://` ones when TLS waits for its first use.
    inner: reqwest::Client,
    /// Sends `https://` requests, made at the first one: see [`Client::new`].
    tls_on_first_use: Option<LazyTls>,
    max_body: usize,
}

/// A client able to speak TLS, made when the run first needs one.
struct LazyTls {
    options: ClientOptions,
    client: std::sync::OnceLock<Result<reqwest::Client, String>>,
}

impl Client {
    /// Extra CA certificates or a proxy that cannot be used are the user's input; anything else
    /// that stops the client being built is the machine's (see [`ClientError`]).
    ///
    /// Loading the system's root certificates is most of a short run's start-up (some 150
    /// files read and decoded), and a run against the emulator or a loopback server never
    /// needs them. So when no option or proxy involves TLS, the run starts with a client that
    /// trusts no certificate at all, used only for `http://`, and makes the full client at
    /// its first `https://` request.
    pub fn new(options: &ClientOptions) -> Result<Client, ClientError> {
        let tls_involved = options.insecure
            || options.extra_roots.is_some()
            || options.proxy.is_some()
            || tls_proxy_for_http();
        let (inner, tls_on_first_use) = if tls_involved {
            (build(configured(options)?, options)?, None)
        } else {
            let plain = configured(options)?.tls_certs_only(Vec::new());
            let lazy = LazyTls {
                options: options.clone(),
                client: std::sync::OnceLock::new(),
            };
            (build(plain, options)?, Some(lazy))
        };
        Ok(Client {
            inner,
            tls_on_first_use,
            max_body: options.max_body.unwrap_or(usize::MAX),
        })
    }

    /// The client for `url`: the TLS client, made now if this is its first use, for `https://`.
    fn for_url(&self, url: &Url) -> Result<&reqwest::Client, TransportError> {
        match &self.tls_on_first_use {
            Some(lazy) if url.scheme() == "https" => lazy
                .client
                .get_or_init(|| {
                    configured(&lazy.options)
                        .and_then(|builder| build(builder, &lazy.options))
                        .map_err(|e| e.to_string())
                })
                .as_ref()
                .map_err(|e| TransportError::Other(e.clone())),
            _ => Ok(&self.inner),
        }
    }

    /// Sends the request, following redirects up to its limit, within its timeout, which
    /// `watchdog` keeps.
    ///
    /// With a `jar`, its cookies for each hop's URL are sent, and each hop's `Set-Cookie` kept.
    pub async fn exchange(
        &self,
        outgoing: Arc<Outgoing>,
        watchdog: &mut Watchdog,
        jar: Option<&mut Jar>,
    ) -> Result<Exchange, TransportError> {
        let timeout = outgoing.timeout;
        let deadline = tokio::time::Instant::now() + timeout;
        match watchdog.within(deadline, self.follow(outgoing, jar)).await {
            Some(result) => result,
            None => Err(TransportError::Timeout(timeout)),
        }
    }

    async fn follow(
        &self,
        mut outgoing: Arc<Outgoing>,
        mut jar: Option<&mut Jar>,
    ) -> Result<Exchange, TransportError> {
        let started = Instant::now();
        // Worked out at the first redirect: most requests have none.
        let mut origin = None;
        let mut redirects = Vec::new();
        let mut challenged = false;
        loop {
            // What goes out: the request with the jar's cookies for this hop's URL. A redirect
            // starts again from the request without them.
            let sent = match jar.as_deref().and_then(|j| j.header_for(&outgoing.url)) {
                Some(cookies) => Arc::new(cookies::with_cookies(&outgoing, cookies)),
                None => Arc::clone(&outgoing),
            };
            let response = self.send_once(&sent).await?;
            if let Some(jar) = jar.as_deref_mut() {
                jar.store(response.headers(), &sent.url);
            }
            let status = response.status().as_u16();
            // A Digest challenge is answered once, on the same URL: a second 401 is the answer.
            if status == 401
                && !challenged
                && let Some(credentials) = &outgoing.digest
                && let Some(challenge) = digest::challenge(response.headers())
            {
                challenged = true;
                let uri = match outgoing.url.query() {
                    Some(query) => format!("{}?{query}", outgoing.url.path()),
                    None => outgoing.url.path().to_string(),
                };
                let answer = digest::authorization(
                    &challenge,
                    credentials,
                    &outgoing.method,
                    &uri,
                    &digest::cnonce(),
                );
                let mut next = Arc::unwrap_or_clone(outgoing);
                next.headers
                    .retain(|(n, _)| !n.eq_ignore_ascii_case("authorization"));
                next.headers.push(("Authorization".into(), answer));
                outgoing = Arc::new(next);
                continue;
            }
            let location = response
                .headers()
                .get(reqwest::header::LOCATION)
                .and_then(|l| l.to_str().ok())
                .and_then(|l| outgoing.url.join(l).ok());
            match location {
                Some(next) if response.status().is_redirection() && status != 304 => {
                    if redirects.len() as u32 >= outgoing.max_redirects {
                        if outgoing.max_redirects == 0 {
                            return finish(sent, response, started, redirects, self.max_body).await;
                        }
                        return Err(TransportError::TooManyRedirects(outgoing.max_redirects));
                    }
                    redirects.push((status, next.clone()));
                    let origin = origin.get_or_insert_with(|| outgoing.url.origin());
                    outgoing = Arc::new(redirected(
                        Arc::unwrap_or_clone(outgoing),
                        status,
                        next,
                        origin,
                    ));
                }
                _ => return finish(sent, response, started, redirects, self.max_body).await,
            }
        }
    }

    async fn send_once(&self, outgoing: &Outgoing) -> Result<reqwest::Response, TransportError> {
        let method = reqwest::Method::from_bytes(outgoing.method.as_bytes())
            .map_err(|_| TransportError::Other(format!("invalid method `{}`", outgoing.method)))?;
        // Built directly rather than through a `RequestBuilder`, which is moved whole at every
        // header: this runs for every request of a long run.
        let mut request = reqwest::Request::new(method, outgoing.url.clone());
        let headers = request.headers_mut();
        for (name, value) in &outgoing.headers {
            // `build` has checked every header; this cannot fail for a built request.
            let name = reqwest::header::HeaderName::from_bytes(name.as_bytes())
                .map_err(|_| TransportError::Other(format!("invalid header name `{name}`")))?;
            let value = reqwest::header::HeaderValue::from_str(value)
                .map_err(|_| TransportError::Other(format!("invalid value of header `{name}`")))?;
            headers.append(name, value);
        }
        *request.body_mut() = outgoing.body.clone().map(reqwest::Body::from);
        self.for_url(&outgoing.url)?
            .execute(request)
            .await
            .map_err(|e| {
                if e.is_connect() {
                    TransportError::Connect(error_chain(&e))
                } else {
                    TransportError::Other(error_chain(&e))
                }
            })
    }
}

/// Why the client could not be made. Each option names what the user gave, in the words of
/// this module; the command line's flag names are added where the error is printed.
#[derive(Debug)]
pub enum ClientError {
    /// The file of extra CA certificates cannot be read (the user's input).
    Unreadable {
        path: std::path::PathBuf,
        source: std::io::Error,
    },
    /// The extra CA certificates cannot be used (the user's input).
    CaCert { reason: String },
    /// The proxy is not a proxy URL (the user's input).
    Proxy { proxy: String, reason: String },
    /// Anything else: the machine's.
    Build { reason: String },
}

impl From<ClientError> for crate::error::Error {
    fn from(e: ClientError) -> Self {
        use crate::error::Error;
        match e {
            ClientError::Unreadable { path, source } => Error::Read {
                path,
                source,
                what: "CA certificate file",
            },
            ClientError::CaCert { reason } => Error::CaCert { reason },
            ClientError::Proxy { proxy, reason } => Error::Proxy { proxy, reason },
            ClientError::Build { reason } => Error::Client { reason },
        }
    }
}

impl std::fmt::Display for ClientError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ClientError::Unreadable { path, source } => {
                write!(f, "cannot read `{}`: {source}", path.display())
            }
            ClientError::CaCert { reason } => write!(f, "the extra CA certificates: {reason}"),
            ClientError::Proxy { proxy, reason } => write!(f, "invalid proxy `{proxy}`: {reason}"),
            ClientError::Build { reason } => write!(f, "cannot create the HTTP client: {reason}"),
        }
    }
}

/// The client as `options` ask for it, not yet built.
fn configured(options: &ClientOptions) -> Result<reqwest::ClientBuilder, ClientError> {
    // reqwest is built without a default TLS provider to avoid aws-lc's C build; ring is
    // installed once per process. A second install (tests, several runs) is harmless.
    let _ = rustls::crypto::ring::default_provider().install_default();
    let mut builder = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        // courier retries by its own policy (see `runner::retry`). reqwest's own layer only
        // replays HTTP/2 and HTTP/3 refusals, which this build does not speak, yet copies
        // every request in case it must: told to replay nothing, it copies nothing.
        .retry(reqwest::retry::never().max_retries_per_request(0))
        .user_agent(concat!("courier/", env!("CARGO_PKG_VERSION")));
    if let Some(timeout) = options.connect_timeout {
        builder = builder.connect_timeout(timeout);
    }
    if options.insecure {
        builder = builder.tls_danger_accept_invalid_certs(true);
    }
    if let Some(path) = &options.extra_roots {
        let pem = std::fs::read(path).map_err(|source| ClientError::Unreadable {
            path: path.clone(),
            source,
        })?;
        let certs =
            reqwest::Certificate::from_pem_bundle(&pem).map_err(|e| ClientError::CaCert {
                reason: error_chain(&e),
            })?;
        // A file with no certificate block parses as an empty bundle: refuse it now rather
        // than at the first `https://` request, or never.
        if certs.is_empty() {
            return Err(ClientError::CaCert {
                reason: "the file holds no certificate".into(),
            });
        }
        builder = builder.tls_certs_merge(certs);
    }
    if let Some(proxy) = &options.proxy {
        let proxy = reqwest::Proxy::all(proxy.as_str())
            .map_err(|e| ClientError::Proxy {
                proxy: proxy.clone(),
                reason: error_chain(&e),
            })?
            .no_proxy(reqwest::NoProxy::from_env());
        builder = builder.proxy(proxy);
    } else if !proxy_in_environment() {
        // reqwest reads the proxy variables once, here; with none set it would still ask,
        // for every request, whether a proxy applies.
        builder = builder.no_proxy();
    }
    Ok(builder)
}

/// Builds the client; a failure is the machine's unless the extra CA certificates caused it.
fn build(
    builder: reqwest::ClientBuilder,
    options: &ClientOptions,
) -> Result<reqwest::Client, ClientError> {
    builder.build().map_err(|e| {
        let reason = error_chain(&e);
        if options.extra_roots.is_some() && reason.contains("certificate") {
            ClientError::CaCert { reason }
        } else {
            ClientError::Build { reason }
        }
    })
}

/// The environment variables that name a proxy, which reqwest honours as curl does.
pub const PROXY_VARIABLES: [&str; 6] = [
    "ALL_PROXY",
    "all_proxy",
    "HTTPS_PROXY",
    "https_proxy",
    "HTTP_PROXY",
    "http_proxy",
];

/// Whether a proxy variable that applies to `http://` requests names an `https://` proxy: only
/// then does a run without `https://` requests need TLS. `HTTPS_PROXY` serves `https://`
/// requests alone, which the TLS client made at the first of them sends.
fn tls_proxy_for_http() -> bool {
    ["ALL_PROXY", "all_proxy", "HTTP_PROXY", "http_proxy"]
        .iter()
        .filter_map(std::env::var_os)
        .any(|v| {
            v.to_string_lossy()
                .trim()
                .get(..8)
                .is_some_and(|scheme| scheme.eq_ignore_ascii_case("https://"))
        })
}

/// Whether one of [`PROXY_VARIABLES`] is set.
fn proxy_in_environment() -> bool {
    PROXY_VARIABLES
        .iter()
        .any(|name| std::env::var_os(name).is_some_and(|v| !v.is_empty()))
}

/// The timeouts of one sequence of requests (a pass), kept by one timer.
///
/// Arming a timer for every request and cancelling it when the answer comes is a lock, an
/// insertion and a removal in the runtime's timer wheel each time. Requests of a pass each end
/// before the next starts, and their deadlines mostly come later and later, so one timer armed at
/// an earlier deadline can stand for them: when it goes off, the request still under way either
/// has passed its own deadline or gets the timer re-armed at it.
#[derive(Default)]
pub struct Watchdog {
    /// Armed at or before the deadline of the request under way; made at the first request,
    /// inside the runtime.
    timer: Option<Pin<Box<tokio::time::Sleep>>>,
}

impl Watchdog {
    /// `work`'s output, or `None` once `deadline` has passed without it.
    pub async fn within<F: Future>(
        &mut self,
        deadline: tokio::time::Instant,
        work: F,
    ) -> Option<F::Output> {
        let timer = match &mut self.timer {
            Some(timer) => {
                if timer.deadline() > deadline {
                    timer.as_mut().reset(deadline);
                }
                timer
            }
            empty => empty.insert(Box::pin(tokio::time::sleep_until(deadline))),
        };
        let mut work = std::pin::pin!(work);
        std::future::poll_fn(|cx| {
            if let Poll::Ready(output) = work.as_mut().poll(cx) {
                return Poll::Ready(Some(output));
            }
            while timer.as_mut().poll(cx).is_ready() {
                if timer.deadline() >= deadline {
                    return Poll::Ready(None);
                }
                timer.as_mut().reset(deadline);
            }
            Poll::Pending
        })
        .await
    }
}

async fn finish(
    request: Arc<Outgoing>,
    response: reqwest::Response,
    started: Instant,
    redirects: Vec<(u16, Url)>,
    max_body: usize,
) -> Result<Exchange, TransportError> {
    let status = response.status();
    let version = match response.version() {
        reqwest::Version::HTTP_09 => "HTTP/0.9",
        reqwest::Version::HTTP_10 => "HTTP/1.0",
        reqwest::Version::HTTP_2 => "HTTP/2.0",
        reqwest::Version::HTTP_3 => "HTTP/3.0",
        _ => "HTTP/1.1",
    };
    let headers = Headers(
        response
            .headers()
            .iter()
            .map(|(n, v)| (n.clone(), v.clone()))
            .collect(),
    );
    let body = read_body(response, max_body).await?;
    Ok(Exchange {
        request,
        status: status.as_u16(),
        reason: status.canonical_reason().unwrap_or(""),
        version,
        headers,
        body,
        duration: started.elapsed(),
        redirects,
    })
}

/// Reads the body chunk by chunk, so that a body over `max` fails without being held whole.
async fn read_body(mut response: reqwest::Response, max: usize) -> Result<Vec<u8>, TransportError> {
    let mut body = Vec::with_capacity(
        response
            .content_length()
            .map_or(0, |n| (n as usize).min(max)),
    );
    loop {
        match response.chunk().await {
            Ok(Some(chunk)) => {
                if body.len() + chunk.len() > max {
                    return Err(TransportError::TooLarge(max));
                }
                body.extend_from_slice(&chunk);
            }
            Ok(None) => return Ok(body),
            Err(e) => {
                return Err(TransportError::Other(format!(
                    "reading the response: {}",
                    error_chain(&e)
                )));
            }
        }
    }
}

/// The request to send after a redirect. 301, 302 and 303 turn a POST into a bodiless GET, as
/// browsers and curl do; 307 and 308 repeat it. Credentials stay behind when the redirect leaves
/// the origin the user addressed.
fn redirected(mut outgoing: Outgoing, status: u16, next: Url, origin: &url::Origin) -> Outgoing {
    let becomes_get = status == 303 && outgoing.method != "HEAD"
        || matches!(status, 301 | 302) && outgoing.method == "POST";
    if becomes_get {
        outgoing.method = "GET".into();
        outgoing.body = None;
        outgoing.headers.retain(|(n, _)| {
            !n.eq_ignore_ascii_case("content-type") && !n.eq_ignore_ascii_case("content-length")
        });
    }
    if &next.origin() != origin {
        outgoing.digest = None;
        outgoing.headers.retain(|(n, _)| {
            !["authorization", "cookie", "proxy-authorization"]
                .iter()
                .any(|s| n.eq_ignore_ascii_case(s))
        });
    }
    outgoing.url = next;
    outgoing
}

/// reqwest's top-level message says little ("error sending request"); the causes say why.
fn error_chain(e: &dyn std::error::Error) -> String {
    let mut parts = vec![e.to_string()];
    let mut source = e.source();
    while let Some(cause) = source {
        let text = cause.to_string();
        if !parts.iter().any(|p| p.contains(&text)) {
            parts.push(text);
        }
        source = cause.source();
    }
    parts.join(": ")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn outgoing(method: &str, url: &str) -> Outgoing {
        Outgoing {
            method: method.into(),
            url: Url::parse(url).unwrap(),
            headers: vec![
                ("Authorization".into(), "Basic x".into()),
                (
                    "Content-Type".into(),
                    "application/x-www-form-urlencoded".into(),
                ),
            ],
            body: Some(Bytes::from_static(b"a=b")),
            timeout: Duration::from_secs(1),
            max_redirects: 10,
            digest: None,
        }
    }

    /// Runs `check` on a fresh current-thread runtime.
    fn on_runtime(check: impl Future<Output = ()>) {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap()
            .block_on(check);
    }

    fn after(ms: u64) -> tokio::time::Instant {
        tokio::time::Instant::now() + Duration::from_millis(ms)
    }

    #[test]
    fn tls_is_set_up_at_the_first_https_request_when_nothing_needs_it_sooner() {
        let eager = Client::new(&ClientOptions {
            insecure: true,
            ..ClientOptions::default()
        })
        .unwrap();
        assert!(eager.tls_on_first_use.is_none());
        if proxy_in_environment() {
            // A proxy may be reached over TLS: the client is made whole at once.
            return;
        }
        let client = Client::new(&ClientOptions::default()).unwrap();
        let lazy = client.tls_on_first_use.as_ref().expect("TLS waits");
        let plain = client.for_url(&Url::parse("http://127.0.0.1/").unwrap());
        assert!(std::ptr::eq(plain.unwrap(), &client.inner));
        assert!(lazy.client.get().is_none(), "no TLS for http://");
        // A machine without root certificates fails here, as it would have at start-up.
        if let Ok(tls) = client.for_url(&Url::parse("https://127.0.0.1/").unwrap()) {
            assert!(!std::ptr::eq(tls, &client.inner));
        }
        assert!(lazy.client.get().is_some(), "made at the first https://");
    }

    #[test]
    fn a_watchdog_stops_work_at_its_deadline_and_not_before() {
        on_runtime(async {
            let mut watchdog = Watchdog::default();
            let never = std::future::pending::<()>();
            let started = Instant::now();
            assert_eq!(watchdog.within(after(50), never).await, None);
            assert!(started.elapsed() >= Duration::from_millis(50));
            // A later deadline: the timer, armed at the first, goes off first and is moved on.
            let slow = tokio::time::sleep(Duration::from_millis(80));
            assert_eq!(watchdog.within(after(300), slow).await, Some(()));
            let started = Instant::now();
            let never = std::future::pending::<()>();
            assert_eq!(watchdog.within(after(60), never).await, None);
            assert!(started.elapsed() >= Duration::from_millis(60));
        });
    }

    #[test]
    fn a_shorter_deadline_after_a_longer_one_is_kept() {
        on_runtime(async {
            let mut watchdog = Watchdog::default();
            assert_eq!(watchdog.within(after(10_000), async { 1 }).await, Some(1));
            let started = Instant::now();
            let never = std::future::pending::<()>();
            assert_eq!(watchdog.within(after(40), never).await, None);
            assert!(started.elapsed() < Duration::from_secs(5));
        });
    }

    #[test]
    fn header_values_are_found_without_case_and_joined() {
        let exchange = Exchange {
            request: Arc::new(outgoing("GET", "http://a.test/")),
            status: 200,
            reason: "OK",
            version: "HTTP/1.1",
            headers: Headers::from_pairs([
                ("vary", "accept"),
                ("content-type", "text/plain"),
                ("Vary", "origin"),
            ]),
            body: Vec::new(),
            duration: Duration::ZERO,
            redirects: vec![],
        };
        assert_eq!(exchange.header("VARY").as_deref(), Some("accept, origin"));
        assert_eq!(
            exchange.header("Content-Type").as_deref(),
            Some("text/plain")
        );
        assert_eq!(exchange.header("location"), None);
    }

    #[test]
    fn cross_origin_redirect_drops_credentials() {
        let o = outgoing("GET", "http://a.test/x");
        let origin = o.url.origin();
        let next = redirected(o, 302, Url::parse("http://b.test/y").unwrap(), &origin);
        assert!(next.headers.iter().all(|(n, _)| n != "Authorization"));
    }

    #[test]
    fn same_origin_redirect_keeps_credentials() {
        let o = outgoing("GET", "http://a.test/x");
        let origin = o.url.origin();
        let next = redirected(o, 307, Url::parse("http://a.test/y").unwrap(), &origin);
        assert!(next.headers.iter().any(|(n, _)| n == "Authorization"));
        assert_eq!(next.body.as_deref(), Some(&b"a=b"[..]));
    }

    #[test]
    fn see_other_turns_post_into_get() {
        let o = outgoing("POST", "http://a.test/x");
        let origin = o.url.origin();
        let next = redirected(o, 303, Url::parse("http://a.test/y").unwrap(), &origin);
        assert_eq!(next.method, "GET");
        assert!(next.body.is_none());
        assert!(next.headers.iter().all(|(n, _)| n != "Content-Type"));
    }
}
