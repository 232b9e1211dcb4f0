//! Rendering a request's templates into what goes on the wire, with the checks that must pass
//! before anything is sent: a URL that parses and fits the HTTP layer's limit, no CR or LF in a
//! header or URL, no control character in a header value. They are the HTTP layer's own rules,
//! checked here so that the preflight refuses what the wire would refuse after a token was spent.

use minijinja::Value as Context;
use url::Url;

use super::Settings;
use crate::auth;
use crate::auth::oauth1::Signed;
use crate::diag::Diagnostic;
use crate::http::Outgoing;
use crate::http::digest::Credentials;
use crate::http::rules::{check_header_value, reject_line_breaks};
use crate::model::{Auth, Body, JsonTemplate, Request, Tmpl};
use crate::secrets::Redactor;
use crate::template::Engine;

/// Renders every template of `request` and assembles the request to send. Credentials met on the
/// way are added to `redactor`.
pub fn build(
    engine: &Engine,
    request: &Request,
    context: &Context,
    settings: &Settings,
    redactor: &mut Redactor,
) -> Result<Outgoing, Diagnostic> {
    let render = |t: &Tmpl| engine.render(t, context);
    let mut url = parse_url(&request.url, &render(&request.url)?)?;
    if !request.query.is_empty() {
        {
            let mut pairs = url.query_pairs_mut();
            for (name, value) in &request.query {
                pairs.append_pair(name, &render(value)?);
            }
        }
        check_url_length(&request.url, &url)?;
    }
    let mut headers = Vec::with_capacity(request.headers.len() + 2);
    for (name, value) in &request.headers {
        let rendered = render(value)?;
        check_header_value(&value.spot, &rendered, &format!("header `{name}`"))?;
        headers.push((name.clone(), rendered));
    }
    if let Some(auth) = &request.auth {
        headers.extend(auth::kind(auth).headers(&render, redactor)?);
    }
    let mut form = Vec::new();
    let (content_type, body) = body(engine, request, context, &mut form)?;
    if let Some(content_type) = content_type
        && !headers
            .iter()
            .any(|(n, _)| n.eq_ignore_ascii_case("content-type"))
    {
        headers.push(("Content-Type".into(), content_type.to_string()));
    }
    if let Some(Auth::OAuth1(oauth1)) = &request.auth {
        let signed = Signed {
            method: request.method.as_str(),
            url: &mut url,
            form: &form,
        };
        headers.extend(auth::oauth1::sign(oauth1, &render, signed, redactor)?);
        check_url_length(&request.url, &url)?;
    }
    let digest = match &request.auth {
        Some(Auth::Digest(d)) => Some(std::sync::Arc::new(Credentials {
            username: render(&d.username)?,
            password: render(&d.password)?,
        })),
        _ => None,
    };
    Ok(Outgoing {
        digest,
        method: request.method.clone(),
        url,
        headers,
        body: body.map(bytes::Bytes::from),
        timeout: request.timeout.unwrap_or(settings.timeout),
        max_redirects: request.redirects.unwrap_or(settings.max_redirects),
    })
}

/// The body and its content type; a form body's fields go into `form` too (an OAuth 1.0
/// signature covers them).
fn body<'r>(
    engine: &Engine,
    request: &'r Request,
    context: &Context,
    form: &mut Vec<(&'r str, String)>,
) -> Result<(Option<&'r str>, Option<Vec<u8>>), Diagnostic> {
    let render = |t: &Tmpl| engine.render(t, context);
    Ok(match &request.body {
        None => (None, None),
        Some(Body::Form(fields)) => {
            for (name, value) in fields {
                form.push((name.as_str(), render(value)?));
            }
            let encoded = serde_urlencoded::to_string(&*form).unwrap_or_default();
            (
                Some("application/x-www-form-urlencoded"),
                Some(encoded.into_bytes()),
            )
        }
        Some(Body::Json(template)) => {
            let value = render_json(engine, template, context)?;
            (
                Some("application/json"),
                Some(serde_json::to_vec(&value).unwrap_or_default()),
            )
        }
        Some(Body::Raw { content_type, text }) => (
            Some(content_type.as_str()),
            Some(render(text)?.into_bytes()),
        ),
    })
}

thread_local! {
    /// The last URL parsed and its text: a long run sends the same URL again and again, and
    /// parsing one (IDNA processing of the host included) costs more than the rest of building.
    static LAST_URL: std::cell::RefCell<Option<(String, Url)>> = const { std::cell::RefCell::new(None) };
}

fn parse_url(template: &Tmpl, rendered: &str) -> Result<Url, Diagnostic> {
    // Checked before parsing: the URL parser silently drops line breaks, which would hide an
    // injection attempt rather than refuse it.
    reject_line_breaks(&template.spot, rendered, "the URL")?;
    if let Some(url) = LAST_URL.with_borrow(|last| {
        last.as_ref()
            .filter(|(text, _)| text == rendered)
            .map(|(_, url)| url.clone())
    }) {
        return Ok(url);
    }
    let url = Url::parse(rendered.trim()).map_err(|e| {
        Diagnostic::new(format!("invalid URL `{rendered}`: {e}"))
            .at(template.spot.clone())
            .label("after rendering, this is not an absolute URL")
            .help("a URL needs a scheme and a host, e.g. `https://zoom.us/oauth/token`; check the variables it uses")
    })?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(Diagnostic::new(format!(
            "unsupported URL scheme `{}` in `{rendered}`",
            url.scheme()
        ))
        .at(template.spot.clone())
        .help("courier sends `http` and `https` requests"));
    }
    check_url_length(template, &url)?;
    LAST_URL.set(Some((rendered.to_string(), url.clone())));
    Ok(url)
}

/// The longest URL the HTTP layer sends: `http::Uri` refuses anything longer.
const MAX_URL_LEN: usize = u16::MAX as usize - 1;

fn check_url_length(template: &Tmpl, url: &Url) -> Result<(), Diagnostic> {
    let len = url.as_str().len();
    if len <= MAX_URL_LEN {
        return Ok(());
    }
    Err(
        Diagnostic::new(format!("the URL is {len} bytes long after rendering"))
            .at(template.spot.clone())
            .label(format!("renders to more than {MAX_URL_LEN} bytes"))
            .note(
                "the HTTP layer refuses URLs this long: courier refuses it before sending anything",
            )
            .help("send large values in the body (`form:` or `json:`) instead of the URL"),
    )
}

/// Renders and checks the parts of `request` that `is_static` says use no capture, so that a
/// request sent after others is refused before the first is sent. A part that uses a capture
/// is rendered with every capture empty (`partial`): what already breaks a rule then (a control
/// character, a URL over the limit) breaks it whatever the capture holds.
pub fn check_static_parts(
    engine: &Engine,
    request: &Request,
    context: &Context,
    partial: &Context,
    is_static: impl Fn(&Tmpl) -> bool,
) -> Result<(), Diagnostic> {
    let render = |t: &Tmpl| {
        if is_static(t) {
            engine.render(t, context)
        } else {
            engine.render(t, partial)
        }
    };
    let url = render(&request.url)?;
    if is_static(&request.url) {
        parse_url(&request.url, &url)?;
    } else if url.len() > MAX_URL_LEN {
        reject_line_breaks(&request.url.spot, &url, "the URL")?;
        return Err(Diagnostic::new(format!(
            "the URL is at least {} bytes long after rendering",
            url.len()
        ))
        .at(request.url.spot.clone())
        .label(format!("renders to more than {MAX_URL_LEN} bytes"))
        .note("the HTTP layer refuses URLs this long: courier refuses it before sending anything")
        .help("send large values in the body (`form:` or `json:`) instead of the URL"));
    }
    for (name, value) in &request.headers {
        check_header_value(&value.spot, &render(value)?, &format!("header `{name}`"))?;
    }
    if let Some(auth) = &request.auth {
        auth::kind(auth).preflight(&render)?;
    }
    for template in templates(request) {
        render(template)?;
    }
    Ok(())
}

fn render_json(
    engine: &Engine,
    template: &JsonTemplate,
    context: &Context,
) -> Result<serde_json::Value, Diagnostic> {
    Ok(match template {
        JsonTemplate::Literal(value) => value.clone(),
        JsonTemplate::String(t) => serde_json::Value::String(engine.render(t, context)?),
        JsonTemplate::Array(items) => serde_json::Value::Array(
            items
                .iter()
                .map(|item| render_json(engine, item, context))
                .collect::<Result<_, _>>()?,
        ),
        JsonTemplate::Object(fields) => serde_json::Value::Object(
            fields
                .iter()
                .map(|(k, v)| Ok((k.clone(), render_json(engine, v, context)?)))
                .collect::<Result<_, Diagnostic>>()?,
        ),
    })
}

/// Every template of a request, for compiling and for the undefined-variable check.
pub fn templates(request: &Request) -> Vec<&Tmpl> {
    let mut all = vec![&request.url];
    all.extend(request.query.iter().map(|(_, t)| t));
    all.extend(request.headers.iter().map(|(_, t)| t));
    if let Some(auth) = &request.auth {
        all.extend(auth::kind(auth).templates());
    }
    match &request.body {
        Some(Body::Form(fields)) => all.extend(fields.iter().map(|(_, t)| t)),
        Some(Body::Json(json)) => json_templates(json, &mut all),
        Some(Body::Raw { text, .. }) => all.push(text),
        None => {}
    }
    all
}

fn json_templates<'a>(json: &'a JsonTemplate, out: &mut Vec<&'a Tmpl>) {
    match json {
        JsonTemplate::Literal(_) => {}
        JsonTemplate::String(t) => out.push(t),
        JsonTemplate::Array(items) => items.iter().for_each(|i| json_templates(i, out)),
        JsonTemplate::Object(fields) => fields.iter().for_each(|(_, v)| json_templates(v, out)),
    }
}
