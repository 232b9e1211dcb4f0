//! A loopback imitation of Postman's echo service (`postman-echo.com`), for the differential
//! test against Newman: the endpoints Newman's integration fixtures call, answering in the
//! shapes their scripts read (`args`, `headers`, `form`, `json`, `cookies`, …).
//!
//! Digest answers are verified (MD5, `qop=auth`, as postman-echo offers them); the OAuth 1.0
//! and Hawk endpoints accept any `Authorization` header of their scheme (courier sends
//! neither, so only Newman's would be checked).

use std::time::Duration;

use serde_json::{Map, Value, json};

use crate::support::{Recorded, Reply, Server};

/// Starts the imitation on a port of its own; `host` is what it says it is (`127.0.0.1:PORT`).
pub fn start() -> Server {
    Server::start(|request| Some(answer(request)))
}

/// What postman-echo says its JSON is.
const JSON: &str = "application/json; charset=utf-8";

fn json_reply(body: &str) -> Reply {
    Reply::new(200, JSON, body)
}

fn answer(request: &Recorded) -> Reply {
    let reply = route(request);
    if request.method == "HEAD" {
        return reply.without_body();
    }
    reply
}

fn route(request: &Recorded) -> Reply {
    let (path, query) = request
        .path
        .split_once('?')
        .unwrap_or((request.path.as_str(), ""));
    let args = query_args(query);
    let endpoint = path.trim_end_matches('/');
    match endpoint {
        "/get" | "/post" | "/put" | "/patch" | "/delete" | "" => echo(request, args),
        "/headers" => json_reply(&json!({ "headers": headers(request) }).to_string()),
        "/cookies" => json_reply(&json!({ "cookies": cookies(request) }).to_string()),
        "/cookies/set" => set_cookies(&args, false),
        "/cookies/delete" => set_cookies(&args, true),
        "/response-headers" => response_headers(&args),
        "/basic-auth" => basic_auth(request),
        "/digest-auth" => digest_auth(request),
        "/oauth1" => scheme_auth(
            request,
            "OAuth ",
            json!({"status": "pass", "message": "OAuth-1.0a signature verification was successful"}),
        ),
        "/auth/hawk" => scheme_auth(
            request,
            "Hawk ",
            json!({"message": "Hawk Authentication Successful"}),
        ),
        "/gzip" => compressed(request, "gzipped"),
        "/deflate" => compressed(request, "deflated"),
        "/redirect-to" => match args.get("url").and_then(Value::as_str) {
            Some(url) => Reply::redirect(302, url),
            None => Reply::json_status(400, r#"{"error":"url is required"}"#),
        },
        "/type/xml" => Reply::new(
            200,
            "application/xml; charset=utf-8",
            "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<food><name>Homestyle Breakfast</name><price>$6.95</price></food>",
        ),
        "/type/html" => Reply::new(
            200,
            "text/html; charset=utf-8",
            "<!DOCTYPE html><html><head><title>postman-echo</title></head><body><p>Hi</p></body></html>",
        ),
        "/encoding/utf8" => Reply::new(
            200,
            "text/html; charset=utf-8",
            "<!DOCTYPE html><html><body><p>∮ E⋅da = Q,  n → ∞, ∑ f(i) = ∏ g(i)</p></body></html>",
        ),
        _ => numbered(endpoint, request, args),
    }
}

/// `/status/N`, `/delay/N`, `/stream/N`; anything else is 404.
fn numbered(endpoint: &str, request: &Recorded, args: Map<String, Value>) -> Reply {
    let (name, number) = endpoint.rsplit_once('/').unwrap_or((endpoint, ""));
    let Ok(n) = number.parse::<u64>() else {
        return Reply::json_status(404, r#"{"error":"not found"}"#);
    };
    match name {
        "/status" if (100..600).contains(&n) => {
            Reply::json_status(n as u16, &json!({ "status": n }).to_string())
        }
        "/delay" if n <= 10 => {
            std::thread::sleep(Duration::from_secs(n));
            json_reply(&json!({ "delay": number }).to_string())
        }
        "/stream" if n <= 100 => {
            let line = json!({ "args": args, "headers": headers(request), "url": url(request) });
            let body: String = (0..n).map(|_| format!("{line}\n")).collect();
            json_reply(&body)
        }
        _ => Reply::json_status(404, r#"{"error":"not found"}"#),
    }
}

/// `/get`, `/post` and friends: what was sent, as postman-echo reports it.
fn echo(request: &Recorded, args: Map<String, Value>) -> Reply {
    let mut out = Map::new();
    out.insert("args".into(), Value::Object(args));
    if request.method != "GET" && request.method != "HEAD" {
        let (data, form, files, parsed) = body_parts(request);
        out.insert("data".into(), data);
        out.insert("files".into(), Value::Object(files));
        out.insert("form".into(), Value::Object(form));
        out.insert("headers".into(), Value::Object(headers(request)));
        out.insert("json".into(), parsed);
    } else {
        out.insert("headers".into(), Value::Object(headers(request)));
    }
    out.insert("url".into(), url(request).into());
    json_reply(&Value::Object(out).to_string())
}

/// The body as `data`, `form`, `files` and `json`, by its content type.
fn body_parts(request: &Recorded) -> (Value, Map<String, Value>, Map<String, Value>, Value) {
    let kind = request.header("content-type").unwrap_or("").to_lowercase();
    let body = request.body.as_str();
    if kind.starts_with("application/x-www-form-urlencoded") {
        let form = query_args(body);
        return (
            "".into(),
            form.clone(),
            Map::new(),
            Value::Object(form.clone()),
        );
    }
    if kind.starts_with("multipart/form-data") {
        let (form, files) = multipart(&kind, body);
        return ("".into(), form.clone(), files, Value::Object(form));
    }
    match serde_json::from_str::<Value>(body) {
        Ok(parsed) if kind.contains("json") => (parsed.clone(), Map::new(), Map::new(), parsed),
        _ => (body.into(), Map::new(), Map::new(), Value::Null),
    }
}

/// The fields and files of a `multipart/form-data` body; a file is named by its file name.
fn multipart(kind: &str, body: &str) -> (Map<String, Value>, Map<String, Value>) {
    let (mut form, mut files) = (Map::new(), Map::new());
    let Some(boundary) = kind.split("boundary=").nth(1) else {
        return (form, files);
    };
    let boundary = format!("--{}", boundary.trim_matches('"'));
    for part in body.split(boundary.as_str()).skip(1) {
        let Some((head, content)) = part.split_once("\r\n\r\n") else {
            continue;
        };
        let content = content.strip_suffix("\r\n").unwrap_or(content);
        let field = |key: &str| {
            head.split(';')
                .find_map(|p| p.trim().strip_prefix(key))
                .map(|v| v.trim_matches('"').to_string())
        };
        match (field("filename="), field("name=")) {
            (Some(file), _) => {
                let data = format!("data:application/octet-stream;base64,{}", b64(content));
                files.insert(file, data.into());
            }
            (None, Some(name)) => insert_repeated(&mut form, name, content.to_string()),
            (None, None) => {}
        }
    }
    (form, files)
}

fn b64(text: &str) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.encode(text)
}

/// Query or form pairs; a repeated key becomes an array, as postman-echo shows it.
fn query_args(query: &str) -> Map<String, Value> {
    let mut out = Map::new();
    for (key, value) in url::form_urlencoded::parse(query.as_bytes()) {
        insert_repeated(&mut out, key.into_owned(), value.into_owned());
    }
    out
}

fn insert_repeated(map: &mut Map<String, Value>, key: String, value: String) {
    match map.get_mut(&key) {
        Some(Value::Array(items)) => items.push(value.into()),
        Some(first) => *first = json!([first.take(), value]),
        None => {
            map.insert(key, value.into());
        }
    }
}

/// The request's headers with lower-case names.
fn headers(request: &Recorded) -> Map<String, Value> {
    let mut out = Map::new();
    for (name, value) in &request.headers {
        out.insert(name.to_lowercase(), value.clone().into());
    }
    out
}

fn url(request: &Recorded) -> String {
    let host = request.header("host").unwrap_or("localhost");
    format!("http://{host}{}", request.path)
}

fn cookies(request: &Recorded) -> Map<String, Value> {
    let mut out = Map::new();
    let header = request.header("cookie").unwrap_or("");
    for pair in header.split(';').filter(|p| !p.trim().is_empty()) {
        let (name, value) = pair.trim().split_once('=').unwrap_or((pair.trim(), ""));
        out.insert(name.to_string(), value.into());
    }
    out
}

/// `/cookies/set?a=1` sets `a`, `/cookies/delete?a` expires it; both redirect to `/cookies`.
fn set_cookies(args: &Map<String, Value>, delete: bool) -> Reply {
    let mut reply = Reply::redirect(302, "/cookies");
    for (name, value) in args {
        let cookie = if delete {
            format!("{name}=; Path=/; Expires=Thu, 01 Jan 1970 00:00:00 GMT")
        } else {
            format!("{name}={}; Path=/", value.as_str().unwrap_or(""))
        };
        reply = reply.header("Set-Cookie", &cookie);
    }
    reply
}

/// `/response-headers?X=1`: answers with the headers asked for, and lists them in the body.
fn response_headers(args: &Map<String, Value>) -> Reply {
    let mut reply = json_reply(&Value::Object(args.clone()).to_string());
    for (name, value) in args {
        let values = match value {
            Value::Array(items) => items.iter().filter_map(Value::as_str).collect(),
            other => vec![other.as_str().unwrap_or("")],
        };
        for value in values {
            reply = reply.header(name, value);
        }
    }
    reply
}

fn basic_auth(request: &Recorded) -> Reply {
    let expected = format!("Basic {}", b64("postman:password"));
    if request.header("authorization") == Some(expected.as_str()) {
        json_reply(r#"{"authenticated":true}"#)
    } else {
        Reply::new(401, "text/plain", "Unauthorized")
    }
}

/// postman-echo's `/digest-auth`: user `postman`, password `password`, realm `Users`. The
/// answer is checked as RFC 2617 says (MD5, with `qop=auth` or without): a wrong hash is
/// refused.
fn digest_auth(request: &Recorded) -> Reply {
    const NONCE: &str = "ni1LiL0O37PRRhofWdCLmwFsnEtH1lew";
    let authorization = request.header("authorization").unwrap_or("");
    if let Some(params) = authorization.strip_prefix("Digest ") {
        let param = |name: &str| {
            params.split(", ").find_map(|p| {
                let (k, v) = p.split_once('=')?;
                (k.trim() == name).then(|| v.trim_matches('"').to_string())
            })
        };
        let md5 = |text: String| {
            use md5::Digest as _;
            md5::Md5::digest(text.as_bytes())
                .iter()
                .map(|b| format!("{b:02x}"))
                .collect::<String>()
        };
        let ha1 = md5("postman:Users:password".into());
        let uri = param("uri").unwrap_or_default();
        let ha2 = md5(format!("{}:{uri}", request.method));
        let (nc, cnonce) = (
            param("nc").unwrap_or_default(),
            param("cnonce").unwrap_or_default(),
        );
        // With `qop`, RFC 2617's answer; without, RFC 2069's (Postman's stored nonce).
        let expected = match param("qop") {
            Some(_) => md5(format!("{ha1}:{NONCE}:{nc}:{cnonce}:auth:{ha2}")),
            None => md5(format!("{ha1}:{NONCE}:{ha2}")),
        };
        let path = request.path.as_str();
        if param("username").as_deref() == Some("postman")
            && param("response").as_deref() == Some(expected.as_str())
            && uri == path
        {
            return json_reply(r#"{"authenticated":true}"#);
        }
    }
    Reply::new(401, "text/plain", "Unauthorized").header(
        "WWW-Authenticate",
        &format!(r#"Digest realm="Users", nonce="{NONCE}", qop="auth""#),
    )
}

fn scheme_auth(request: &Recorded, scheme: &str, pass: Value) -> Reply {
    if request
        .header("authorization")
        .is_some_and(|a| a.starts_with(scheme))
    {
        json_reply(&pass.to_string())
    } else {
        Reply::json_status(401, r#"{"status":"fail","message":"missing credentials"}"#)
    }
}

/// `/gzip` and `/deflate`: compressed when the client accepts it (a stored, uncompressed
/// deflate block: valid, and all a client has to decode), else plain.
fn compressed(request: &Recorded, flag: &str) -> Reply {
    let body = json!({ flag: true, "headers": headers(request), "method": request.method });
    let body = body.to_string().into_bytes();
    let accepts = request.header("accept-encoding").unwrap_or("");
    let encoding = if flag == "gzipped" { "gzip" } else { "deflate" };
    if !accepts.contains(encoding) {
        return Reply::new(200, JSON, body);
    }
    let stored = stored_deflate(&body);
    let wrapped = if encoding == "gzip" {
        let mut out = vec![0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0xff];
        out.extend(stored);
        out.extend(crc32(&body).to_le_bytes());
        out.extend((body.len() as u32).to_le_bytes());
        out
    } else {
        let mut out = vec![0x78, 0x01];
        out.extend(stored);
        out.extend(adler32(&body).to_be_bytes());
        out
    };
    Reply::new(200, JSON, wrapped).header("Content-Encoding", encoding)
}

fn stored_deflate(data: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(data.len() + 5 * (data.len() / 65535 + 1));
    let mut chunks = data.chunks(65535).peekable();
    if chunks.peek().is_none() {
        out.extend([1, 0, 0, 0xff, 0xff]);
    }
    while let Some(chunk) = chunks.next() {
        out.push(u8::from(chunks.peek().is_none()));
        let len = chunk.len() as u16;
        out.extend(len.to_le_bytes());
        out.extend((!len).to_le_bytes());
        out.extend(chunk);
    }
    out
}

fn crc32(data: &[u8]) -> u32 {
    let mut crc = !0u32;
    for byte in data {
        crc ^= u32::from(*byte);
        for _ in 0..8 {
            crc = if crc & 1 == 1 {
                (crc >> 1) ^ 0xedb8_8320
            } else {
                crc >> 1
            };
        }
    }
    !crc
}

fn adler32(data: &[u8]) -> u32 {
    let (mut a, mut b) = (1u32, 0u32);
    for byte in data {
        a = (a + u32::from(*byte)) % 65521;
        b = (b + a) % 65521;
    }
    (b << 16) | a
}
