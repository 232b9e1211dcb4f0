//! What every test module shares: running the real `courier` binary into a [`Transcript`], the
//! insta filters that make transcripts stable across runs, temporary collections, the Zoom
//! emulator seeded like `environments/emulator.yaml`, and [`Server`], a tiny loopback HTTP server
//! that counts and records what it is sent. Nothing here reaches beyond 127.0.0.1.

use std::fmt;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex, PoisonError};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use courier::mock::zoom::{Seed, ZoomMock};

/// The bundled collection and the environment that matches the emulator, relative to the crate.
pub const BUNDLED: &str = "collections/zoom-oauth";
pub const EMULATOR_ENV: &str = "environments/emulator.yaml";

/// The values of `environments/emulator.yaml`.
pub const CLIENT_ID: &str = "courier-demo-client";
pub const CLIENT_SECRET: &str = "courier-demo-secret";
pub const REFRESH_TOKEN: &str = "courier-demo-refresh-token";
/// `base64("courier-demo-client:courier-demo-secret")`, what a Basic header carries.
pub const BASIC_CREDENTIALS: &str = "Y291cmllci1kZW1vLWNsaWVudDpjb3VyaWVyLWRlbW8tc2VjcmV0";

/// The bundled request files, for temporary collections that build on them.
pub const REFRESH_REQUEST: &str =
    include_str!("../../collections/zoom-oauth/refresh-access-token.yaml");
const BUNDLED_TOKEN_SCHEMA: &str = include_str!("../../collections/zoom-oauth/schemas/token.json");
const BUNDLED_USER_SCHEMA: &str = include_str!("../../collections/zoom-oauth/schemas/user.json");
pub const REVOKE_REQUEST: &str =
    include_str!("../../collections/zoom-oauth/revoke-access-token.yaml");

/// Prefix of every temporary folder, so one filter can hide them all.
const TEMP_PREFIX: &str = "courier-it-";

// ---------------------------------------------------------------------------
// Running courier

/// The `courier` binary, started from the crate root (so relative paths in its output are
/// stable), with colour off and none of the caller's colour, CI or Zoom settings.
///
/// No test may reach the internet: every `https://` request to anything but loopback goes to a
/// proxy on a closed loopback port, so one that slips in (a default of `https://api.zoom.us`,
/// say) fails at once with "cannot connect" instead of leaving the machine.
pub fn courier() -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_courier"));
    let nowhere = format!("http://127.0.0.1:{}", closed_port());
    command
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .env("NO_COLOR", "1")
        .env("COLUMNS", "100")
        .env_remove("CLICOLOR_FORCE")
        .env_remove("GITHUB_ACTIONS")
        .env_remove("ALL_PROXY")
        .env_remove("all_proxy")
        .env("HTTPS_PROXY", &nowhere)
        .env("https_proxy", &nowhere)
        .env("NO_PROXY", "127.0.0.1,localhost,::1")
        .env("no_proxy", "127.0.0.1,localhost,::1");
    for (name, _) in std::env::vars_os() {
        if name.to_string_lossy().starts_with("ZOOM_") {
            command.env_remove(name);
        }
    }
    command
}

/// Runs `courier ARGS…`.
pub fn run<I, S>(args: I) -> Transcript
where
    I: IntoIterator<Item = S>,
    S: AsRef<std::ffi::OsStr>,
{
    transcript(courier().args(args))
}

/// `courier run COLLECTION --env ENV --var base_url=BASE_URL EXTRA…`
pub fn run_collection(collection: &str, env: &str, base_url: &str, extra: &[&str]) -> Transcript {
    transcript(&mut run_command(collection, env, base_url, extra))
}

/// [`run_collection`] as a command not yet started, for tests that set its environment or run
/// it in the background.
///
/// The bundled collection persists `refresh_token`, so a run with one of the shipped
/// environment files would write its state beside it, into the repository, where every test
/// would share it. Unless the test names its own `--state`, the state goes to a fresh folder.
pub fn run_command(collection: &str, env: &str, base_url: &str, extra: &[&str]) -> Command {
    let mut command = courier();
    command
        .args(["run", collection, "--env", env, "--var"])
        .arg(format!("base_url={base_url}"))
        .args(extra);
    if env.starts_with("environments/") && !extra.contains(&"--state") {
        command.arg("--state").arg(scratch_state());
    }
    command
}

/// A state file path in a new temporary folder that outlives the command (the OS cleans it).
pub fn scratch_state() -> PathBuf {
    let dir = tempfile::Builder::new()
        .prefix(TEMP_PREFIX)
        .tempdir()
        .expect("a temporary folder")
        .keep();
    dir.join("state.yaml")
}

/// The bundled collection with `environments/emulator.yaml`, against `base_url`.
pub fn run_bundled(base_url: &str, extra: &[&str]) -> Transcript {
    run_collection(BUNDLED, EMULATOR_ENV, base_url, extra)
}

/// Runs a prepared command to its end.
pub fn transcript(command: &mut Command) -> Transcript {
    Transcript::from(command.output().expect("the courier binary starts"))
}

/// Starts a prepared command in the background with its output captured; [`finish`] waits for
/// it.
pub fn spawn(command: &mut Command) -> Child {
    command
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the courier binary starts")
}

/// Waits for a command started with [`spawn`].
pub fn finish(child: Child) -> Transcript {
    Transcript::from(child.wait_with_output().expect("courier runs to its end"))
}

impl From<Output> for Transcript {
    fn from(output: Output) -> Transcript {
        Transcript {
            code: output.status.code().expect("courier exits with a code"),
            stdout: String::from_utf8(output.stdout).expect("stdout is UTF-8"),
            stderr: String::from_utf8(output.stderr).expect("stderr is UTF-8"),
        }
    }
}

/// What one run of courier showed: its exit code and both streams.
pub struct Transcript {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Transcript {
    /// Both streams, for checks that something appears (or never appears) anywhere.
    pub fn output(&self) -> String {
        format!("{}{}", self.stdout, self.stderr)
    }

    /// Checks that each of `texts` appears in stdout or stderr.
    #[track_caller]
    pub fn assert_shows(&self, texts: &[&str]) {
        let output = self.output();
        for text in texts {
            assert!(output.contains(text), "`{text}` is missing from:\n{self}");
        }
    }

    /// Checks that none of `texts` appears in stdout or stderr.
    #[track_caller]
    pub fn assert_hides(&self, texts: &[&str]) {
        let output = self.output();
        for text in texts {
            assert!(
                !output.contains(text),
                "`{text}` must not appear in:\n{self}"
            );
        }
    }
}

impl fmt::Display for Transcript {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "exit_code: {}\n----- stdout -----\n{}\n----- stderr -----\n{}",
            self.code, self.stdout, self.stderr
        )
    }
}

/// Snapshots a [`Transcript`] under the calling test's name, through [`settings`].
macro_rules! assert_transcript {
    ($transcript:expr, @$expected:literal) => {{
        let transcript = &$transcript;
        $crate::support::settings()
            .bind(|| insta::assert_snapshot!(transcript.to_string(), @$expected));
    }};
    ($transcript:expr) => {{
        let transcript = &$transcript;
        $crate::support::settings().bind(|| insta::assert_snapshot!(transcript.to_string()));
    }};
}
pub(crate) use assert_transcript;

/// insta settings whose filters replace what changes from run to run: ports, timings, temporary
/// folders, the emulator's random tokens and the date header.
pub fn settings() -> insta::Settings {
    let mut settings = insta::Settings::clone_current();
    let temp = std::env::temp_dir();
    let canonical = temp.canonicalize().unwrap_or_else(|_| temp.clone());
    for root in [canonical, temp] {
        let root = regex_escape(&root.join(TEMP_PREFIX).display().to_string());
        settings.add_filter(&format!("{root}[0-9A-Za-z]+"), "[TEMP]");
    }
    settings.add_filter(r"127\.0\.0\.1:\d+", "127.0.0.1:[PORT]");
    settings.add_filter(r"\b\d+ ms\b", "[TIME]");
    settings.add_filter(r"\bemurt\.[0-9a-f]+", "[TOKEN]");
    settings.add_filter(r"\bemu\.[0-9a-f]+", "[TOKEN]");
    settings.add_filter(r"(?m)^(\s*< date: ).*$", "$1[DATE]");
    settings
}

fn regex_escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if r"\.+*?()|[]{}^$#&-~".contains(c) {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

// ---------------------------------------------------------------------------
// Temporary collections

/// A temporary folder holding a collection (and any environment files a test needs).
pub struct Project {
    dir: tempfile::TempDir,
}

impl Project {
    /// Writes each `(relative path, text)` into a fresh temporary folder. A request file copied
    /// from the bundled collection names its schemas: they come along, unless `files` has its own.
    pub fn new(files: &[(&str, &str)]) -> Project {
        let dir = tempfile::Builder::new()
            .prefix(TEMP_PREFIX)
            .tempdir()
            .expect("a temporary folder");
        let bundled = [
            ("schemas/token.json", BUNDLED_TOKEN_SCHEMA),
            ("schemas/user.json", BUNDLED_USER_SCHEMA),
        ];
        let named = |schema: &str| files.iter().any(|(_, text)| text.contains(schema));
        let schemas = bundled.into_iter().filter(|(name, _)| named(name));
        for (name, text) in schemas.chain(files.iter().copied()) {
            let path = dir.path().join(name);
            if let Some(parent) = path.parent() {
                std::fs::create_dir_all(parent).expect("create a folder");
            }
            std::fs::write(&path, text).expect("write a file");
        }
        Project { dir }
    }

    /// A collection of `requests` (file name and text), run in the order given.
    pub fn collection(requests: &[(&str, &str)]) -> Project {
        let mut index = String::from("name: Test collection\nrequests:\n");
        for (name, _) in requests {
            index.push_str(&format!("  - {name}\n"));
        }
        let mut files = vec![("collection.yaml", index.as_str())];
        files.extend_from_slice(requests);
        Project::new(&files)
    }

    /// The folder, which is also the collection's path, as text for an argument.
    pub fn dir(&self) -> String {
        self.dir.path().display().to_string()
    }

    /// Writes one more file into the folder.
    pub fn with(self, name: &str, text: &str) -> Project {
        let path = self.dir.path().join(name);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).expect("create a folder");
        }
        std::fs::write(path, text).expect("write a file");
        self
    }

    /// The path of a file in the folder, as text for an argument.
    pub fn file(&self, name: &str) -> String {
        self.dir.path().join(name).display().to_string()
    }

    /// Runs this collection with `environments/emulator.yaml`, like [`run_collection`].
    pub fn run(&self, base_url: &str, extra: &[&str]) -> Transcript {
        run_collection(&self.dir(), EMULATOR_ENV, base_url, extra)
    }
}

// ---------------------------------------------------------------------------
// The Zoom emulator

/// The emulator's seed, matching `environments/emulator.yaml`.
pub fn seed() -> Seed {
    Seed {
        client_id: CLIENT_ID.into(),
        client_secret: CLIENT_SECRET.into(),
        refresh_token: REFRESH_TOKEN.into(),
        account_id: None,
        token_lifetime: None,
        scope: None,
    }
}

/// A Zoom emulator on its own thread, seeded like `environments/emulator.yaml`.
pub fn emulator() -> ZoomMock {
    ZoomMock::start_background(seed(), loopback()).expect("the emulator starts")
}

fn loopback() -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], 0))
}

/// A loopback port where nothing listens: bound, then let go.
pub fn closed_port() -> u16 {
    let listener = TcpListener::bind(loopback()).expect("bind a port");
    listener.local_addr().expect("a local address").port()
}

// ---------------------------------------------------------------------------
// A tiny loopback server

/// One request as the server read it.
#[derive(Debug, Clone)]
pub struct Recorded {
    pub method: String,
    pub path: String,
    pub headers: Vec<(String, String)>,
    pub body: String,
}

impl Recorded {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// An answer; sent with `Connection: close`.
pub struct Reply {
    status: u16,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
    head_only: bool,
}

impl Reply {
    pub fn json(body: &str) -> Reply {
        Reply::new(200, "application/json", body)
    }

    pub fn redirect(status: u16, location: &str) -> Reply {
        let mut reply = Reply::new(status, "text/plain", "");
        reply.headers.push(("Location".into(), location.into()));
        reply
    }

    /// A JSON answer with another status than 200.
    pub fn json_status(status: u16, body: &str) -> Reply {
        Reply::new(status, "application/json", body)
    }

    /// Adds a header, for chaining: `Reply::json_status(503, "{}").header("Retry-After", "1")`.
    pub fn header(mut self, name: &str, value: &str) -> Reply {
        self.headers.push((name.into(), value.into()));
        self
    }

    /// The answer to a `HEAD`: its headers, with the length of the body it does not carry.
    pub fn without_body(mut self) -> Reply {
        self.head_only = true;
        self
    }

    /// Any answer: `body` may be bytes that are not text (a gzip stream).
    pub fn new(status: u16, content_type: &str, body: impl Into<Vec<u8>>) -> Reply {
        Reply {
            status,
            headers: vec![("Content-Type".into(), content_type.into())],
            body: body.into(),
            head_only: false,
        }
    }
}

type Handler = dyn Fn(&Recorded) -> Option<Reply> + Send + Sync;

/// A loopback HTTP/1.1 server on its own thread. Each request is counted and recorded, then
/// answered with what the handler returns; `None` holds the connection open without answering
/// until the server is dropped. A handler that panics fails the test when the server is
/// dropped, as xh's test server does: a handler thread's panic would otherwise vanish, and the
/// test would see only a dropped connection.
pub struct Server {
    addr: SocketAddr,
    shared: Arc<Served>,
    thread: Option<JoinHandle<()>>,
}

/// What the server's threads share with it.
#[derive(Default)]
struct Served {
    log: Mutex<Vec<Recorded>>,
    hits: AtomicUsize,
    stop: AtomicBool,
    /// What each handler that panicked said.
    panics: Mutex<Vec<String>>,
    /// Handler threads still running.
    active: AtomicUsize,
}

impl Server {
    pub fn start(handler: impl Fn(&Recorded) -> Option<Reply> + Send + Sync + 'static) -> Server {
        let listener = TcpListener::bind(loopback()).expect("bind a port");
        let addr = listener.local_addr().expect("a local address");
        let shared = Arc::new(Served::default());
        let handler: Arc<Handler> = Arc::new(handler);
        let thread = {
            let shared = shared.clone();
            std::thread::spawn(move || {
                for stream in listener.incoming() {
                    if shared.stop.load(Ordering::SeqCst) {
                        return;
                    }
                    let Ok(stream) = stream else { continue };
                    let (shared, handler) = (shared.clone(), handler.clone());
                    shared.active.fetch_add(1, Ordering::SeqCst);
                    std::thread::spawn(move || {
                        let served = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                            serve(stream, &*handler, &shared)
                        }));
                        if let Err(panic) = served {
                            let said = panic
                                .downcast_ref::<String>()
                                .cloned()
                                .or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string()))
                                .unwrap_or_else(|| "a panic".into());
                            shared
                                .panics
                                .lock()
                                .unwrap_or_else(PoisonError::into_inner)
                                .push(said);
                        }
                        shared.active.fetch_sub(1, Ordering::SeqCst);
                    });
                }
            })
        };
        Server {
            addr,
            shared,
            thread: Some(thread),
        }
    }

    /// A Zoom token endpoint for any number of tenants at once: it refreshes any refresh token
    /// `T` it is sent into `next-T` (a new access token with it), revokes any token, names
    /// itself as the `api_url` and answers Zoom's `GET /v2/users/me`.
    pub fn any_tenant_tokens() -> Server {
        Server::start(|request| {
            if request.path.starts_with("/oauth/revoke") {
                return Some(Reply::json(r#"{"status":"success"}"#));
            }
            if request.path.starts_with(USERS_ME) {
                return Some(user_answer());
            }
            let token = request.body.split("refresh_token=").nth(1).unwrap_or("x");
            let api_url = api_url(request);
            Some(Reply::json(&format!(
                r#"{{"access_token":"at-{token}","token_type":"bearer","refresh_token":"next-{token}","expires_in":3599,"scope":"user:read","api_url":"{api_url}"}}"#
            )))
        })
    }

    /// Answers every request with the same JSON, but Zoom's API with [`user_answer`].
    pub fn answering_json(body: &'static str) -> Server {
        Server::start(move |request| {
            Some(match request.path.starts_with(USERS_ME) {
                true => user_answer(),
                false => Reply::json(body),
            })
        })
    }

    /// Reads every request and never answers.
    pub fn silent() -> Server {
        Server::start(|_| None)
    }

    /// `http://127.0.0.1:PORT`
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// How many requests arrived.
    pub fn hits(&self) -> usize {
        self.shared.hits.load(Ordering::SeqCst)
    }

    /// Every request that arrived, in order.
    pub fn requests(&self) -> Vec<Recorded> {
        self.shared
            .log
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.shared.stop.store(true, Ordering::SeqCst);
        // Wakes the accept loop so that it sees the flag.
        let _ = TcpStream::connect(self.addr);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
        // Handlers see the stop flag within one poll; one that is still reading gives up at
        // its read timeout. Waiting for them is what lets a panic be reported.
        let deadline = Instant::now() + Duration::from_secs(6);
        while self.shared.active.load(Ordering::SeqCst) > 0 && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(5));
        }
        let panics = self
            .shared
            .panics
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        if !panics.is_empty() && !std::thread::panicking() {
            panic!(
                "a handler of the test server panicked: {}",
                panics.join("; ")
            );
        }
    }
}

fn serve(stream: TcpStream, handler: &Handler, shared: &Served) {
    let _ = stream.set_read_timeout(Some(Duration::from_secs(5)));
    let Some(request) = read_request(&stream) else {
        return;
    };
    shared.hits.fetch_add(1, Ordering::SeqCst);
    shared
        .log
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .push(request.clone());
    match handler(&request) {
        Some(reply) => write_reply(&stream, &reply),
        None => {
            while !shared.stop.load(Ordering::SeqCst) {
                std::thread::sleep(Duration::from_millis(20));
            }
        }
    }
}

fn read_request(stream: &TcpStream) -> Option<Recorded> {
    let mut reader = BufReader::new(stream);
    let mut line = String::new();
    reader.read_line(&mut line).ok()?;
    let mut words = line.split_whitespace();
    let (method, path) = (words.next()?.to_string(), words.next()?.to_string());
    let mut headers = Vec::new();
    loop {
        line.clear();
        reader.read_line(&mut line).ok()?;
        let Some((name, value)) = line.trim_end().split_once(':') else {
            break;
        };
        headers.push((name.trim().to_string(), value.trim().to_string()));
    }
    let chunked = headers.iter().any(|(n, v)| {
        n.eq_ignore_ascii_case("transfer-encoding") && v.eq_ignore_ascii_case("chunked")
    });
    let body = if chunked {
        read_chunks(&mut reader)?
    } else {
        let length = headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case("content-length"))
            .and_then(|(_, v)| v.parse().ok())
            .unwrap_or(0);
        let mut body = vec![0; length];
        reader.read_exact(&mut body).ok()?;
        body
    };
    Some(Recorded {
        method,
        path,
        headers,
        body: String::from_utf8_lossy(&body).into_owned(),
    })
}

/// A `Transfer-Encoding: chunked` body (Newman streams file uploads that way).
fn read_chunks(reader: &mut impl BufRead) -> Option<Vec<u8>> {
    let mut body = Vec::new();
    let mut line = String::new();
    loop {
        line.clear();
        reader.read_line(&mut line).ok()?;
        let size = line.trim().split(';').next()?;
        let size = usize::from_str_radix(size, 16).ok()?;
        let mut chunk = vec![0; size + 2];
        reader.read_exact(&mut chunk).ok()?;
        if size == 0 {
            return Some(body);
        }
        body.extend_from_slice(&chunk[..size]);
    }
}

fn write_reply(mut stream: &TcpStream, reply: &Reply) {
    let reason = match reply.status {
        200 => "OK",
        201 => "Created",
        204 => "No Content",
        302 => "Found",
        400 => "Bad Request",
        401 => "Unauthorized",
        404 => "Not Found",
        500 => "Internal Server Error",
        _ => "Status",
    };
    let mut head = format!("HTTP/1.1 {} {reason}\r\n", reply.status);
    for (name, value) in &reply.headers {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    head.push_str(&format!(
        "Content-Length: {}\r\nConnection: close\r\n\r\n",
        reply.body.len()
    ));
    let _ = stream.write_all(head.as_bytes());
    if !reply.head_only {
        let _ = stream.write_all(&reply.body);
    }
    let _ = stream.flush();
    let _ = stream.shutdown(std::net::Shutdown::Both);
}

// ---------------------------------------------------------------------------
// A loopback HTTPS server

/// The CA that signed [`TlsServer`]'s certificate (see `tests/fixtures/tls/README.md`).
pub const TEST_CA: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/tls/ca.pem");

/// A loopback HTTPS server on its own thread, with a certificate for 127.0.0.1 signed by
/// [`TEST_CA`], answering every request with the same JSON. Its threads end with the tests.
pub struct TlsServer {
    addr: SocketAddr,
    hits: Arc<AtomicUsize>,
}

impl TlsServer {
    pub fn answering_json(body: &'static str) -> TlsServer {
        use rustls::pki_types::pem::PemObject;
        use rustls::pki_types::{CertificateDer, PrivateKeyDer};
        let fixture = |name: &str| {
            std::fs::read(
                Path::new(env!("CARGO_MANIFEST_DIR"))
                    .join("tests/fixtures/tls")
                    .join(name),
            )
            .expect("a TLS fixture")
        };
        let certs = CertificateDer::pem_slice_iter(&fixture("server.pem"))
            .collect::<Result<Vec<_>, _>>()
            .expect("the server's certificate");
        let key = PrivateKeyDer::from_pem_slice(&fixture("server.key")).expect("the server's key");
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let config = rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .expect("TLS versions")
            .with_no_client_auth()
            .with_single_cert(certs, key)
            .expect("a server configuration");
        let config = Arc::new(config);
        let listener = TcpListener::bind(loopback()).expect("bind a port");
        let addr = listener.local_addr().expect("a local address");
        let hits = Arc::new(AtomicUsize::new(0));
        let counted = hits.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(stream) = stream else { continue };
                let (config, counted) = (config.clone(), counted.clone());
                std::thread::spawn(move || serve_tls(stream, config, body, &counted));
            }
        });
        TlsServer { addr, hits }
    }

    /// `https://127.0.0.1:PORT`
    pub fn url(&self) -> String {
        format!("https://{}", self.addr)
    }

    /// How many requests arrived over a completed handshake.
    pub fn hits(&self) -> usize {
        self.hits.load(Ordering::SeqCst)
    }
}

/// Reads one request's head (the tests' requests have no body) and answers `body`.
fn serve_tls(stream: TcpStream, config: Arc<rustls::ServerConfig>, body: &str, hits: &AtomicUsize) {
    let _ = stream.set_read_timeout(Some(Duration::from_secs(5)));
    let Ok(connection) = rustls::ServerConnection::new(config) else {
        return;
    };
    let mut tls = rustls::StreamOwned::new(connection, stream);
    let (mut head, mut chunk) = (Vec::new(), [0; 1024]);
    while !head.windows(4).any(|w| w == b"\r\n\r\n") {
        match tls.read(&mut chunk) {
            Ok(0) | Err(_) => return,
            Ok(n) => head.extend_from_slice(&chunk[..n]),
        }
    }
    hits.fetch_add(1, Ordering::SeqCst);
    let reply = format!(
        "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    let _ = tls.write_all(reply.as_bytes());
    tls.conn.send_close_notify();
    let _ = tls.flush();
}

// ---------------------------------------------------------------------------
// Holding an answer back

/// How long a test waits for something a background run should do, before it fails.
const PATIENCE: Duration = Duration::from_secs(10);

/// A door that server handlers wait at until the test opens it, so that the test can act while
/// a request is in flight (take a lock, remove a folder) without guessing with sleeps. Handlers
/// stop waiting after [`PATIENCE`] anyway, so a failed test never hangs.
#[derive(Clone, Default)]
pub struct Gate(Arc<(Mutex<bool>, Condvar)>);

impl Gate {
    pub fn new() -> Gate {
        Gate::default()
    }

    /// Blocks until [`open`](Self::open) (or [`PATIENCE`] has passed).
    pub fn wait(&self) {
        let (open, opened) = &*self.0;
        let guard = open.lock().unwrap_or_else(PoisonError::into_inner);
        let _ = opened.wait_timeout_while(guard, PATIENCE, |open| !*open);
    }

    pub fn open(&self) {
        let (open, opened) = &*self.0;
        *open.lock().unwrap_or_else(PoisonError::into_inner) = true;
        opened.notify_all();
    }
}

/// Polls `done` until it holds; fails the test after [`PATIENCE`].
#[track_caller]
pub fn wait_until(what: &str, done: impl Fn() -> bool) {
    let start = Instant::now();
    while !done() {
        assert!(start.elapsed() < PATIENCE, "gave up waiting until {what}");
        std::thread::sleep(Duration::from_millis(10));
    }
}

// ---------------------------------------------------------------------------
// A fake token endpoint and persistent state

/// The tokens [`token_answer`] issues.
pub const FAKE_ACCESS_TOKEN: &str = "fake-access-token-0001";
pub const FAKE_REFRESH_TOKEN: &str = "fake-refresh-token-0002";

/// A successful Zoom token answer carrying [`FAKE_ACCESS_TOKEN`] and [`FAKE_REFRESH_TOKEN`],
/// for servers that must do what the emulator cannot (wait, fail once); to `/v2/users/me`, the
/// user. Its `api_url` is the server that was asked.
pub fn token_answer(request: &Recorded) -> Reply {
    if request.path.starts_with(USERS_ME) {
        return user_answer();
    }
    let api_url = api_url(request);
    Reply::json(&format!(
        r#"{{"access_token":"{FAKE_ACCESS_TOKEN}","token_type":"bearer","refresh_token":"{FAKE_REFRESH_TOKEN}","expires_in":3599,"scope":"user:read","api_url":"{api_url}"}}"#
    ))
}

/// The path of the smoke check's API call.
pub const USERS_ME: &str = "/v2/users/me";

/// Zoom's answer to `GET /v2/users/me`.
pub fn user_answer() -> Reply {
    Reply::json(
        r#"{"id":"testUser0001","account_id":"testAccount0001","email":"user@example.com","type":1,"status":"active"}"#,
    )
}

/// The server a request was sent to, as a token answer's `api_url`: API calls come back to it.
pub fn api_url(request: &Recorded) -> String {
    format!("http://{}", request.header("host").unwrap_or("127.0.0.1"))
}

/// A Zoom token endpoint that answers [`token_answer`] once `gate` opens.
pub fn gated_token_server(gate: &Gate) -> Server {
    let gate = gate.clone();
    Server::start(move |request| {
        gate.wait();
        Some(token_answer(request))
    })
}

/// The OS variable [`persisting_env`] reads its refresh token from.
pub const REFRESH_TOKEN_VAR: &str = "ZOOM_REFRESH_TOKEN";

/// `environments/emulator.yaml` with `persist: [refresh_token]`, the refresh token read from
/// the OS variable [`REFRESH_TOKEN_VAR`] (as a CI job injects it), as `env.yaml` in a temporary
/// folder; its state file is `env.state.yaml` beside it.
pub fn persisting_env() -> Project {
    Project::new(&[("env.yaml", &persisting_env_text())])
}

/// The text of [`persisting_env`]'s `env.yaml`.
pub fn persisting_env_text() -> String {
    format!(
        "name: Zoom OAuth emulator, persisted\n\
         variables:\n  \
           ClientID: {CLIENT_ID}\n  \
           ClientSecret: {CLIENT_SECRET}\n  \
           refresh_token: \"{{{{ env('{REFRESH_TOKEN_VAR}') }}}}\"\n\
         secrets: [ClientSecret, refresh_token, access_token]\n\
         persist: [refresh_token]\n"
    )
}

impl Project {
    /// The bundled collection's refresh request alone (`--tag smoke`) with this project's
    /// `env.yaml` (see [`persisting_env`]), the OS environment giving it `refresh_token`.
    pub fn refresh_command(&self, base_url: &str, refresh_token: &str, extra: &[&str]) -> Command {
        let mut command = self.persisting_command(BUNDLED, base_url, refresh_token);
        command.args(["--tag", "smoke"]).args(extra);
        command
    }

    /// `courier run COLLECTION` with this project's `env.yaml` (see [`persisting_env`]), the OS
    /// environment giving it `refresh_token`.
    pub fn persisting_command(
        &self,
        collection: &str,
        base_url: &str,
        refresh_token: &str,
    ) -> Command {
        let mut command = run_command(collection, &self.file("env.yaml"), base_url, &[]);
        command.env(REFRESH_TOKEN_VAR, refresh_token);
        command
    }

    /// Runs [`refresh_command`](Self::refresh_command) to its end.
    pub fn refresh(&self, base_url: &str, refresh_token: &str, extra: &[&str]) -> Transcript {
        transcript(&mut self.refresh_command(base_url, refresh_token, extra))
    }

    /// The folder as a path.
    pub fn path(&self) -> &Path {
        self.dir.path()
    }
}

/// One variable of a state file, as courier saved it.
#[derive(Debug, serde::Deserialize)]
pub struct Saved {
    pub value: String,
    pub previous: Option<String>,
}

/// Reads `refresh_token` from the state file at `path`, which must be private.
#[track_caller]
pub fn saved_refresh_token(path: impl AsRef<Path>) -> Saved {
    #[derive(serde::Deserialize)]
    struct StateFile {
        version: u32,
        variables: std::collections::BTreeMap<String, Saved>,
    }
    let path = path.as_ref();
    assert_private(path);
    let text = std::fs::read_to_string(path).expect("the state file is readable");
    let state: StateFile = serde_saphyr::from_str(&text).expect("the state file is YAML");
    assert_eq!(state.version, 1, "{text}");
    let mut variables = state.variables;
    variables
        .remove("refresh_token")
        .unwrap_or_else(|| panic!("no refresh_token in {text}"))
}

/// Checks that `path` is a file only its owner can read or write (mode 0600).
#[track_caller]
pub fn assert_private(path: impl AsRef<Path>) {
    use std::os::unix::fs::PermissionsExt;
    let path = path.as_ref();
    let meta = std::fs::metadata(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    assert!(meta.is_file(), "{} is not a file", path.display());
    assert_eq!(
        meta.permissions().mode() & 0o777,
        0o600,
        "{} must be owner-only",
        path.display()
    );
}
