//! A loopback imitation of Postman's echo service (`postman-echo.com`), for the differential
//! test against Newman: the endpoints Newman's integration fixtures call, answering in the
//! shapes their scripts read (`args`, `headers`, `form`, `json`, `cookies`, …).
//!
//! Digest answers (MD5, `qop=auth`, as postman-echo offers them) and OAuth 1.0 signatures
//! (HMAC-SHA1, with postman-echo's published consumer secret) are verified, each recomputed
//! here from the request as received; the Hawk endpoint accepts any `Hawk` header (courier
//! sends none, so only Newman's would be checked).

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
        "/oauth1" => oauth1(request, path),
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
    b64_bytes(text.as_bytes())
}

fn b64_bytes(bytes: &[u8]) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.encode(bytes)
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

/// postman-echo's `/oauth1`: HMAC-SHA1 signed with the consumer secret `D+EdQ-gs$-%@2Nu7`
/// and no token secret. The signature base string is rebuilt from the request as received
/// (RFC 5849 §3.4.1), so a wrong signature, a parameter left out of it or a wrong URL fails.
fn oauth1(request: &Recorded, path: &str) -> Reply {
    use hmac::{KeyInit, Mac};
    let Some(header) = request
        .header("authorization")
        .and_then(|a| a.strip_prefix("OAuth "))
    else {
        return Reply::json_status(401, r#"{"status":"fail","message":"missing credentials"}"#);
    };
    // RFC 3986 percent-encoding: everything but ALPHA, DIGIT and `-._~`.
    let enc = |text: &str| {
        text.bytes()
            .map(|b| match b {
                b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                    (b as char).to_string()
                }
                _ => format!("%{b:02X}"),
            })
            .collect::<String>()
    };
    let decode = |text: &str| {
        percent_encoding::percent_decode_str(text)
            .decode_utf8_lossy()
            .into_owned()
    };
    let mut signature = String::new();
    let mut params: Vec<(String, String)> = Vec::new();
    for part in header.split(',') {
        let Some((name, value)) = part.trim().split_once('=') else {
            continue;
        };
        let value = decode(value.trim_matches('"'));
        match name {
            "oauth_signature" => signature = value,
            "realm" => {}
            _ => params.push((name.to_string(), value)),
        }
    }
    let query = request.path.split_once('?').map_or("", |(_, q)| q);
    params.extend(url::form_urlencoded::parse(query.as_bytes()).into_owned());
    if request
        .header("content-type")
        .is_some_and(|t| t.starts_with("application/x-www-form-urlencoded"))
    {
        params.extend(url::form_urlencoded::parse(request.body.as_bytes()).into_owned());
    }
    let mut encoded: Vec<(String, String)> = params.iter().map(|(k, v)| (enc(k), enc(v))).collect();
    encoded.sort();
    let joined: Vec<String> = encoded.iter().map(|(k, v)| format!("{k}={v}")).collect();
    let host = request.header("host").unwrap_or_default();
    let base = format!(
        "{}&{}&{}",
        request.method,
        enc(&format!("http://{host}{path}")),
        enc(&joined.join("&"))
    );
    let key = format!("{}&", enc("D+EdQ-gs$-%@2Nu7"));
    let mut mac = hmac::Hmac::<sha1::Sha1>::new_from_slice(key.as_bytes()).unwrap();
    mac.update(base.as_bytes());
    let expected = b64_bytes(&mac.finalize().into_bytes());
    if signature == expected {
        json_reply(
            r#"{"status":"pass","message":"OAuth-1.0a signature verification was successful"}"#,
        )
    } else {
        Reply::json_status(
            401,
            &json!({ "status": "fail", "message": "HMAC-SHA1 verification failed", "base_string": base })
                .to_string(),
        )
    }
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
