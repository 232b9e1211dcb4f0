//! The HTML report: the whole run as one page for a person to read, a CI artifact or a file
//! opened from disk.
//!
//! The page is self-contained and works offline: its stylesheet and its few lines of script
//! (`html/report.css`, `html/report.js`) are inlined, it loads nothing, and its
//! Content-Security-Policy allows nothing but those two, by hash. It reads fully without
//! JavaScript: each request is a `<details>`, open when it failed; the script only adds the
//! "show only failures" filter.
//!
//! Like the other file reports it keeps the results until `finish`, then builds the page, then
//! writes it (redacted, atomically). Every text that came from the user or the wire is redacted
//! *before* it is escaped, because escaping `&` or `<` inside a secret would hide it from the
//! redactor; the finished page is redacted once more as it is written.

use std::fmt::{self, Write as _};
use std::path::PathBuf;
use std::time::{Duration, SystemTime};

use base64::Engine as _;
use sha2::{Digest as _, Sha256};

use super::{RunInfo, Sink, millis, write_report};
use crate::assert::Outcome;
use crate::error::{Error, exit};
use crate::http::{Exchange, Outgoing};
use crate::runner::{NotRun, Reporter, RequestResult, RunStart, Summary};
use crate::secrets::Redactor;

const STYLE: &str = include_str!("html/report.css");
const SCRIPT: &str = include_str!("html/report.js");

/// How much of each body the page shows, after pretty-printing.
const BODY_SHOWN: usize = 64 * 1024;
/// How much of each body is kept until `finish`. Far more than is shown, so that a secret the
/// redactor learns late is still whole (and masked) wherever the shown part ends.
const BODY_KEPT: usize = 1024 * 1024;

pub struct HtmlReport {
    path: PathBuf,
    run: RunInfo,
    /// How many times the run goes through the collection (iterations, data rows).
    passes: usize,
    requests: Vec<Entry>,
    error: Option<Error>,
    /// The results come from JSON reports (`courier report merge`), which keep no wire.
    without_wire: bool,
}

impl HtmlReport {
    /// For results read back from JSON reports: the run they were of, and no wire section
    /// (the reports do not keep one).
    pub(super) fn set_run(&mut self, run: RunInfo, passes: usize) {
        self.run = run;
        self.passes = passes;
        self.without_wire = true;
    }

    pub fn new(path: PathBuf) -> Self {
        HtmlReport {
            path,
            run: RunInfo::default(),
            passes: 1,
            requests: Vec::new(),
            error: None,
            without_wire: false,
        }
    }

    /// The finished page, each piece redacted before it was escaped.
    fn document(&self, summary: &Summary, redactor: &Redactor) -> String {
        let mut page = Page {
            out: String::new(),
            redactor,
        };
        page.write(self, summary)
            .expect("writing to a String cannot fail");
        page.out
    }
}

impl Reporter for HtmlReport {
    fn start(&mut self, run: &RunStart<'_>, _: &Redactor) {
        self.run = RunInfo::new(run);
        self.passes = run.passes;
    }

    /// Kept unredacted until `finish`, where the redactor knows every secret of the run.
    fn request(&mut self, result: &RequestResult, _: &Redactor) {
        let mut entry = Entry::from(result);
        if self.without_wire {
            entry.wire = None;
        }
        self.requests.push(entry);
    }

    fn finish(&mut self, summary: &Summary, redactor: &Redactor) {
        let text = self.document(summary, redactor);
        if let Err(e) = write_report(&self.path, "the HTML report", &text, redactor) {
            self.error.get_or_insert(e);
        }
    }
}

impl Sink for HtmlReport {
    fn error(&self) -> Option<&Error> {
        self.error.as_ref()
    }
}

/// A request as the page will show it, plain and unredacted.
struct Entry {
    name: String,
    /// Which pass of the run, when there are several: `production · iteration 2`.
    pass: Option<String>,
    file: String,
    method: String,
    url: String,
    /// The status code and reason, when an answer came.
    status: Option<(u16, String)>,
    duration: Duration,
    passed: bool,
    error: Option<String>,
    /// `file:line:col` of the template that broke, for a request that could not be built.
    error_at: Option<String>,
    rejected: Option<String>,
    retries: u32,
    /// With `poll:`, how many times the request was sent in all.
    tries: usize,
    checks: Vec<Check>,
    captured: Vec<String>,
    wire: Option<Wire>,
}

struct Check {
    subject: String,
    outcome: Outcome,
    /// `file:line:col`
    at: String,
}

/// The request as it was last sent and the response it got.
struct Wire {
    request: Message,
    /// Each redirect followed: `302 → http://…`.
    redirects: Vec<String>,
    response: Message,
}

/// One side of an exchange.
struct Message {
    /// `POST http://…` or `HTTP/1.1 200 OK`, shown as the summary of its `<details>`.
    start: String,
    headers: Vec<(String, String)>,
    /// The first [`BODY_KEPT`] bytes of the body.
    body: Vec<u8>,
    /// The length of the whole body, in bytes.
    len: usize,
}

impl From<&RequestResult> for Entry {
    fn from(result: &RequestResult) -> Self {
        Entry {
            name: result.name.to_string(),
            pass: result.pass.as_deref().map(str::to_owned),
            file: result.file.display().to_string(),
            method: result.method.to_string(),
            url: result.url.to_string(),
            status: result
                .exchange
                .as_ref()
                .map(|e| (e.status, e.reason.to_string())),
            duration: result.duration,
            passed: result.passed(),
            error: result.error(),
            error_at: result
                .failure
                .as_ref()
                .and_then(|f| f.spot())
                .map(|s| s.position()),
            rejected: result.rejected().map(str::to_owned),
            retries: result.retries,
            tries: result.tries.len() + 1,
            checks: result
                .checks
                .iter()
                .map(|c| Check {
                    subject: c.subject.to_string(),
                    outcome: c.outcome.clone(),
                    at: c.spot.position(),
                })
                .collect(),
            captured: result.captured.iter().map(|n| n.to_string()).collect(),
            wire: result.exchange.as_ref().map(Wire::from),
        }
    }
}

impl From<&Exchange> for Wire {
    fn from(exchange: &Exchange) -> Self {
        Wire {
            request: Message::sent(&exchange.request),
            redirects: exchange
                .redirects
                .iter()
                .map(|(status, url)| format!("{status} → {url}"))
                .collect(),
            response: Message::new(
                format!(
                    "{} {} {}",
                    exchange.version, exchange.status, exchange.reason
                ),
                exchange
                    .headers
                    .iter()
                    .map(|(name, value)| (name.to_string(), value.into_owned()))
                    .collect(),
                &exchange.body,
            ),
        }
    }
}

impl Message {
    fn new(start: String, headers: Vec<(String, String)>, body: &[u8]) -> Message {
        Message {
            start,
            headers,
            body: body[..body.len().min(BODY_KEPT)].to_vec(),
            len: body.len(),
        }
    }

    /// The request as sent. The Authorization header is masked whatever its value: it carries
    /// credentials by definition.
    fn sent(request: &Outgoing) -> Message {
        let headers = request
            .headers
            .iter()
            .map(|(name, value)| {
                let value = if name.eq_ignore_ascii_case("authorization") {
                    super::mask_credentials(value)
                } else {
                    value.clone()
                };
                (name.clone(), value)
            })
            .collect();
        let body = request.body.as_deref().unwrap_or_default();
        Message::new(format!("{} {}", request.method, request.url), headers, body)
    }

    fn content_type(&self) -> Option<&str> {
        self.headers
            .iter()
            .find(|(name, _)| name.eq_ignore_ascii_case("content-type"))
            .map(|(_, value)| value.as_str())
    }
}

/// The page being written, and the redactor every piece of text goes through.
struct Page<'a> {
    out: String,
    redactor: &'a Redactor,
}

impl Page<'_> {
    /// `text` made safe for the page: redacted first, then escaped.
    fn safe(&self, text: &str) -> String {
        escape_html(&self.redactor.redact(text))
    }

    fn write(&mut self, report: &HtmlReport, summary: &Summary) -> fmt::Result {
        let (run, requests) = (&report.run, &report.requests);
        let passed = summary.exit_code() == exit::OK;
        write!(
            self.out,
            "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
             <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
             <meta http-equiv=\"Content-Security-Policy\" content=\"{csp}\">\n\
             <meta name=\"generator\" content=\"courier {version}\">\n\
             <title>{mark} {collection} · courier report</title>\n\
             <style>{STYLE}</style>\n</head>\n<body>\n<main>\n",
            csp = content_security_policy(),
            version = env!("CARGO_PKG_VERSION"),
            mark = if passed { "✓" } else { "✗" },
            collection = self.safe(&run.collection),
        )?;
        self.summary(report, summary)?;
        if requests.iter().any(|r| r.passed) && requests.iter().any(|r| !r.passed) {
            // Hidden until the script runs: without it, the control would do nothing.
            self.out.push_str(
                "<div class=\"toolbar\" hidden><label><input type=\"checkbox\" \
                 id=\"only-failures\"> Show only failures</label></div>\n",
            );
        }
        if !requests.is_empty() {
            self.out.push_str("<section>\n<h2>Requests</h2>\n");
            for (i, entry) in requests.iter().enumerate() {
                self.request(i + 1, entry)?;
            }
            self.out.push_str("</section>\n");
        }
        if !summary.not_run.is_empty() {
            self.not_run(&summary.not_run)?;
        }
        write!(
            self.out,
            "<footer>Written by courier {}</footer>\n</main>\n<script>{SCRIPT}</script>\n\
             </body>\n</html>\n",
            env!("CARGO_PKG_VERSION")
        )
    }

    fn summary(&mut self, report: &HtmlReport, summary: &Summary) -> fmt::Result {
        let (run, passes, requests) = (&report.run, report.passes, &report.requests);
        let code = summary.exit_code();
        let (class, verdict) = if code == exit::OK {
            ("pass", "✓ Passed")
        } else {
            ("fail", "✗ Failed")
        };
        let environment = match &run.environment {
            Some(path) => self.safe(&path.display().to_string()),
            None => "none".into(),
        };
        write!(
            self.out,
            "<header class=\"summary {class}\">\n<p class=\"verdict\">{verdict}</p>\n\
             <h1>{}</h1>\n<dl class=\"meta\">\n\
             <div><dt>Environment</dt><dd>{environment}</dd></div>\n\
             <div><dt>Started</dt><dd>{}</dd></div>\n\
             <div><dt>Duration</dt><dd>{}</dd></div>\n",
            self.safe(&run.collection),
            started(run.started_at),
            elapsed(summary.duration),
        )?;
        if passes > 1 {
            writeln!(self.out, "<div><dt>Passes</dt><dd>{passes}</dd></div>")?;
        }
        self.out.push_str("</dl>\n<div class=\"stats\">\n");
        write!(
            self.out,
            "<section class=\"stat\"><h2>Requests</h2><p class=\"tally\">{}{}{}</p></section>\n\
             <section class=\"stat\"><h2>Checks</h2><p class=\"tally\">{}{}</p></section>\n\
             <section class=\"stat exit\"><h2>Exit code</h2><p class=\"tally\">\
             <span class=\"{}\">{code}</span> <span class=\"meaning\">{}</span></p></section>\n\
             </div>\n",
            tally(summary.requests - summary.requests_failed, "passed"),
            tally(summary.requests_failed, "failed"),
            tally(summary.not_run.len(), "not run"),
            tally(summary.checks_passed, "passed"),
            tally(summary.checks_failed, "failed"),
            if code == exit::OK { "ok" } else { "bad" },
            exit_meaning(code),
        )?;
        let failed: Vec<String> = requests
            .iter()
            .enumerate()
            .filter(|(_, r)| !r.passed)
            .map(|(i, r)| {
                let name = match &r.pass {
                    Some(pass) => format!("{} ({pass})", r.name),
                    None => r.name.clone(),
                };
                format!("<a href=\"#request-{}\">{}</a>", i + 1, self.safe(&name))
            })
            .collect();
        if !failed.is_empty() {
            writeln!(
                self.out,
                "<p class=\"failed-list\">Failed: {}</p>",
                failed.join(", ")
            )?;
        }
        self.out.push_str("</header>\n");
        Ok(())
    }

    fn request(&mut self, number: usize, entry: &Entry) -> fmt::Result {
        let (class, open) = if entry.passed {
            ("pass", "")
        } else {
            ("fail", " open")
        };
        let status = match &entry.status {
            Some((code, reason)) => format!(
                "<span class=\"status {}\">{code} {}</span>",
                if *code < 400 { "good" } else { "poor" },
                self.safe(reason)
            ),
            None => "<span class=\"status none\">no answer</span>".into(),
        };
        let retries = match entry.retries {
            0 => String::new(),
            1 => "<span class=\"badge\">1 retry</span>".into(),
            n => format!("<span class=\"badge\">{n} retries</span>"),
        };
        let retries = match entry.tries {
            1 => retries,
            n => format!("{retries}<span class=\"badge\">polled: {n} tries</span>"),
        };
        write!(
            self.out,
            "<details class=\"request {class}\" id=\"request-{number}\"{open}>\n<summary>{}\
             <span class=\"head\"><span class=\"name\">{}{}</span>\
             <span class=\"facts\">{retries}{status}<span>{}</span></span>\
             <span class=\"target\"><span class=\"method\">{}</span> \
             <span class=\"mono\">{}</span></span></span></summary>\n<div class=\"detail\">\n",
            mark(entry.passed),
            self.safe(&entry.name),
            self.pass_label(entry.pass.as_deref()),
            elapsed(entry.duration),
            self.safe(&entry.method),
            self.safe(&entry.url),
        )?;
        write!(
            self.out,
            "<p class=\"where\">Written in <code>{}</code>",
            self.safe(&entry.file)
        )?;
        if !entry.captured.is_empty() {
            let names: Vec<String> = entry
                .captured
                .iter()
                .map(|n| format!("<code>{}</code>", self.safe(n)))
                .collect();
            write!(self.out, " · captured {}", names.join(", "))?;
        }
        self.out.push_str("</p>\n");
        if let Some(error) = &entry.error {
            let title = match &entry.error_at {
                Some(at) => format!("Error at {}", self.safe(at)),
                None => "Error".to_string(),
            };
            self.problem(&title, error)?;
        }
        if let Some(rejected) = &entry.rejected {
            self.problem("Credentials rejected", rejected)?;
        }
        if !entry.checks.is_empty() {
            self.out.push_str("<ul class=\"checks\">\n");
            for check in &entry.checks {
                self.check(check)?;
            }
            self.out.push_str("</ul>\n");
        }
        if let Some(wire) = &entry.wire {
            self.message("Request", &wire.request, &wire.redirects)?;
            self.message("Response", &wire.response, &[])?;
        }
        self.out.push_str("</div>\n</details>\n");
        Ok(())
    }

    /// Which pass a request belonged to, beside its name, when the run has several.
    fn pass_label(&self, pass: Option<&str>) -> String {
        match pass {
            Some(pass) => format!(" <span class=\"pass-label\">{}</span>", self.safe(pass)),
            None => String::new(),
        }
    }

    fn problem(&mut self, title: &str, text: &str) -> fmt::Result {
        writeln!(
            self.out,
            "<div class=\"problem\"><h3>✗ {title}</h3><pre>{}</pre></div>",
            self.safe(text.trim_end())
        )
    }

    fn check(&mut self, check: &Check) -> fmt::Result {
        let outcome = &check.outcome;
        let predicate = if outcome.predicate == "equals" {
            "<span class=\"predicate\">equals</span>"
        } else {
            ""
        };
        write!(
            self.out,
            "<li class=\"check {}\">{}<div><div class=\"claim\"><code>{}</code>{predicate}\
             <code>{}</code>",
            if outcome.passed { "pass" } else { "fail" },
            mark(outcome.passed),
            self.safe(&check.subject),
            self.safe(&outcome.expected),
        )?;
        if outcome.passed {
            write!(
                self.out,
                "<span class=\"predicate\">got <code>{}</code></span>",
                self.safe(&outcome.actual)
            )?;
        }
        write!(
            self.out,
            "<span class=\"at\">{}</span></div>",
            self.safe(&check.at)
        )?;
        if !outcome.passed {
            write!(
                self.out,
                "<dl class=\"values\"><dt>expected</dt><dd><code>{}</code></dd>\
                 <dt>actual</dt><dd><code>{}</code></dd></dl>",
                self.safe(&outcome.expected),
                self.safe(&outcome.actual)
            )?;
            if let Some(diff) = &outcome.diff {
                self.diff(diff)?;
            }
        }
        self.out.push_str("</div></li>\n");
        Ok(())
    }

    /// A unified diff, a line per `<span>`, classed by what the line is; the `+`/`-` stay in
    /// the text, so the colours are never the only sign.
    fn diff(&mut self, diff: &str) -> fmt::Result {
        self.out.push_str("<pre class=\"diff\">");
        for line in diff.lines() {
            let class = if line.starts_with("+++") || line.starts_with("---") {
                "head"
            } else if line.starts_with("@@") {
                "hunk"
            } else if line.starts_with('+') {
                "add"
            } else if line.starts_with('-') {
                "del"
            } else {
                "same"
            };
            let line = self.safe(line);
            write!(self.out, "<span class=\"{class}\">{line}</span>")?;
        }
        self.out.push_str("</pre>");
        Ok(())
    }

    fn message(&mut self, title: &str, message: &Message, redirects: &[String]) -> fmt::Result {
        writeln!(
            self.out,
            "<details class=\"wire\"><summary>{title} <span class=\"mono\">{}</span></summary>\
             <div class=\"http\">",
            self.safe(&message.start),
        )?;
        if !message.headers.is_empty() {
            self.out.push_str("<dl class=\"headers mono\">");
            for (name, value) in &message.headers {
                write!(
                    self.out,
                    "<dt>{}</dt><dd>{}</dd>",
                    self.safe(name),
                    self.safe(value)
                )?;
            }
            self.out.push_str("</dl>\n");
        }
        for redirect in redirects {
            writeln!(
                self.out,
                "<p class=\"note\">redirected: {}</p>",
                self.safe(redirect)
            )?;
        }
        if message.len == 0 {
            self.out.push_str("<p class=\"note\">no body</p>\n");
        } else {
            self.body(message)?;
        }
        self.out.push_str("</div></details>\n");
        Ok(())
    }

    /// A body, pretty-printed when it is JSON, redacted, then cut to [`BODY_SHOWN`]: cut after
    /// redaction, so that no cut can leave half a secret the redactor would not recognise.
    fn body(&mut self, message: &Message) -> fmt::Result {
        let text = String::from_utf8_lossy(&message.body);
        let json = message.content_type().is_some_and(|t| t.contains("json"))
            || text.trim_start().starts_with(['{', '[']);
        let text = if json && serde_json::from_str::<serde::de::IgnoredAny>(&text).is_ok() {
            reindent(&text)
        } else {
            text.into_owned()
        };
        let text = self.redactor.redact(&text);
        let shown = &text[..text.floor_char_boundary(BODY_SHOWN)];
        writeln!(self.out, "<pre class=\"body\">{}</pre>", escape_html(shown))?;
        if shown.len() < text.len() || message.body.len() < message.len {
            writeln!(
                self.out,
                "<p class=\"note\">Showing the first {} KiB of {}.</p>",
                BODY_SHOWN / 1024,
                size(message.len)
            )?;
        }
        Ok(())
    }

    fn not_run(&mut self, not_run: &[NotRun]) -> fmt::Result {
        write!(
            self.out,
            "<section>\n<h2>Not run ({})</h2>\n<ul class=\"not-run\">\n",
            not_run.len()
        )?;
        for request in not_run {
            writeln!(
                self.out,
                "<li><span class=\"mark\" role=\"img\" aria-label=\"not run\">○</span>\
                 <span class=\"name\">{}{}</span><span class=\"reason\">{}</span></li>",
                self.safe(&request.name),
                self.pass_label(request.pass.as_deref()),
                backticks_as_code(&self.safe(&request.reason))
            )?;
        }
        self.out.push_str("</ul>\n</section>\n");
        Ok(())
    }
}

/// Text made safe inside an element or a quoted attribute.
fn escape_html(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// The policy that keeps the page from loading anything: only its own style and script run,
/// recognised by their hashes, so even markup that escaped escaping could not run a script.
fn content_security_policy() -> String {
    let hash = |text: &str| {
        base64::engine::general_purpose::STANDARD.encode(Sha256::digest(text.as_bytes()))
    };
    format!(
        "default-src 'none'; style-src 'sha256-{}'; script-src 'sha256-{}'",
        hash(STYLE),
        hash(SCRIPT)
    )
}

/// What an exit code means, as the README lists them.
fn exit_meaning(code: i32) -> &'static str {
    match code {
        exit::OK => "every request passed",
        exit::ASSERTION_FAILED => "an assertion failed",
        exit::INVALID_INPUT => "invalid input",
        exit::TRANSPORT => "transport failure",
        exit::CREDENTIALS_REJECTED => "credentials rejected",
        exit::STATE_NOT_SAVED => "state not saved",
        _ => "unknown",
    }
}

/// A pass or fail mark that says what it means to a screen reader too.
fn mark(passed: bool) -> &'static str {
    if passed {
        "<span class=\"mark\" role=\"img\" aria-label=\"passed\">✓</span>"
    } else {
        "<span class=\"mark\" role=\"img\" aria-label=\"failed\">✗</span>"
    }
}

/// One count of the summary, muted when it is zero.
fn tally(count: usize, what: &str) -> String {
    let (class, mark) = match what {
        _ if count == 0 => ("muted", ""),
        "passed" => ("ok", "✓ "),
        "failed" => ("bad", "✗ "),
        _ => ("skipped", "○ "),
    };
    format!("<span class=\"{class}\">{mark}{count} {what}</span>")
}

/// `2025-01-31 09:30:00 UTC`, in a `<time>` element machines can read.
fn started(at: SystemTime) -> String {
    let rfc3339 = humantime::format_rfc3339_seconds(at).to_string();
    let shown = rfc3339.replace('T', " ").replace('Z', " UTC");
    format!("<time datetime=\"{rfc3339}\">{shown}</time>")
}

/// `42 ms` below a second, `1.23 s` above.
fn elapsed(d: Duration) -> String {
    match millis(d) {
        ms @ 0..1000 => format!("{ms} ms"),
        _ => format!("{:.2} s", d.as_secs_f64()),
    }
}

fn size(bytes: usize) -> String {
    if bytes < 1024 {
        format!("{bytes} bytes")
    } else {
        format!("{} KiB", bytes.div_ceil(1024))
    }
}

/// Escaped text with each `` `name` `` set as code, as the runner's messages quote names.
fn backticks_as_code(escaped: &str) -> String {
    let mut out = String::with_capacity(escaped.len());
    let mut parts = escaped.split('`');
    out.push_str(parts.next().unwrap_or_default());
    let mut inside = true;
    for part in parts {
        out.push_str(if inside { "<code>" } else { "</code>" });
        out.push_str(part);
        inside = !inside;
    }
    if !inside {
        out.push_str("</code>");
    }
    out
}

/// Valid JSON laid out two spaces an indent, its tokens kept exactly as they came (numbers are
/// not rounded, escapes not rewritten), so the page shows what was on the wire.
fn reindent(json: &str) -> String {
    let mut out = String::with_capacity(json.len() * 2);
    let mut depth = 0usize;
    let mut in_string = false;
    let mut escaped = false;
    let mut chars = json.chars().peekable();
    let newline = |out: &mut String, depth: usize| {
        out.push('\n');
        out.extend(std::iter::repeat_n("  ", depth));
    };
    while let Some(c) = chars.next() {
        if in_string {
            out.push(c);
            match c {
                _ if escaped => escaped = false,
                '\\' => escaped = true,
                '"' => in_string = false,
                _ => {}
            }
            continue;
        }
        match c {
            '"' => {
                in_string = true;
                out.push(c);
            }
            '{' | '[' => {
                out.push(c);
                while chars.next_if(|c| c.is_ascii_whitespace()).is_some() {}
                match chars.next_if(|c| matches!(c, '}' | ']')) {
                    Some(close) => out.push(close),
                    None => {
                        depth += 1;
                        newline(&mut out, depth);
                    }
                }
            }
            '}' | ']' => {
                depth = depth.saturating_sub(1);
                newline(&mut out, depth);
                out.push(c);
            }
            ',' => {
                out.push(c);
                newline(&mut out, depth);
            }
            ':' => out.push_str(": "),
            c if c.is_ascii_whitespace() => {}
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::fixtures::*;

    fn report(results: &[RequestResult], skipped: usize, redactor: &Redactor) -> String {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("report.html");
        let mut report = HtmlReport::new(path.clone());
        play(&mut report, results, skipped, redactor);
        assert!(report.error().is_none(), "{:?}", report.error());
        assert!(!dir.path().join("report.html.tmp").exists());
        std::fs::read_to_string(path).unwrap()
    }

    /// A passing request, one failing with a diff, one with no answer, and one not run.
    fn mixed_run(redactor: &Redactor) -> String {
        let results = [
            answered("Refresh access token", 200, vec![status_ok()]),
            answered(
                "Fetch scopes",
                200,
                vec![status_ok(), token_type("\"Bearer\""), scopes_differ()],
            ),
            unanswered("Revoke", transport("cannot connect")),
        ];
        report(&results, 1, redactor)
    }

    #[track_caller]
    fn assert_has(html: &str, texts: &[&str]) {
        for text in texts {
            assert!(html.contains(text), "`{text}` is missing from:\n{html}");
        }
    }

    #[test]
    fn the_page_has_the_summary_every_request_and_what_failed() {
        let html = mixed_run(&Redactor::default());

        assert!(
            html.starts_with("<!DOCTYPE html>\n<html lang=\"en\">"),
            "{html}"
        );
        assert_has(
            &html,
            &[
                "<meta charset=\"utf-8\">",
                "name=\"viewport\"",
                "<h1>Zoom OAuth</h1>",
                "✗ Failed",
                "<h2>Requests</h2><p class=\"tally\"><span class=\"ok\">✓ 1 passed</span>\
                 <span class=\"bad\">✗ 2 failed</span><span class=\"skipped\">○ 1 not run</span>",
                "<h2>Checks</h2><p class=\"tally\"><span class=\"ok\">✓ 2 passed</span>\
                 <span class=\"bad\">✗ 2 failed</span>",
                "3</span> <span class=\"meaning\">transport failure</span>",
                "1.23 s",
            ],
        );
        // The failing request is open, the passing one closed.
        assert_has(
            &html,
            &[
                "<details class=\"request pass\" id=\"request-1\">",
                "<details class=\"request fail\" id=\"request-2\" open>",
                "<a href=\"#request-2\">Fetch scopes</a>",
            ],
        );
        // The failed check: expected, actual, where it is written, and its diff line by line.
        assert_has(
            &html,
            &[
                "<dt>expected</dt><dd><code>&quot;bearer&quot;</code>",
                "<dt>actual</dt><dd><code>&quot;Bearer&quot;</code>",
                &format!("{FILE}:4:5"),
                "<span class=\"head\">--- expected</span>",
                "<span class=\"del\">-  &quot;a&quot;</span>",
                "<span class=\"add\">+  &quot;b&quot;</span>",
            ],
        );
        assert_has(
            &html,
            &[
                "<h3>✗ Error</h3><pre>transport failure: cannot connect</pre>",
                "no answer",
                "Not run 1",
                "the run stopped when <code>Revoke</code> got no answer",
                "<details class=\"wire\"><summary>Response",
            ],
        );
    }

    #[test]
    fn the_page_loads_nothing() {
        let html = mixed_run(&Redactor::default()).to_ascii_lowercase();

        for fetch in [
            "<script src",
            "<link",
            "<img",
            "<iframe",
            "url(",
            "@import",
            "src=",
        ] {
            assert!(!html.contains(fetch), "`{fetch}` in:\n{html}");
        }
        for scheme in ["http://", "https://"] {
            for found in html.match_indices(scheme).map(|(i, _)| &html[..i]) {
                // Every URL on the page is text the run sent to, never an attribute.
                assert!(!found.ends_with('"') && !found.ends_with('='), "{html}");
            }
        }
        assert_has(&html, &["default-src 'none'"]);
    }

    #[test]
    fn user_text_is_escaped() {
        let mut result = answered(
            "<script>alert('x')</script>",
            200,
            vec![token_type("\"<b>&amp;\"")],
        );
        result.url = "http://127.0.0.1:9/?a=1&b=\"2\"".into();
        let html = report(&[result], 0, &Redactor::default());

        assert!(!html.contains("<script>alert"), "{html}");
        assert!(!html.contains("<b>"), "{html}");
        assert_has(
            &html,
            &[
                "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;",
                "&quot;&lt;b&gt;&amp;amp;&quot;",
                "?a=1&amp;b=&quot;2&quot;",
            ],
        );
        assert_eq!(html.matches("<script>").count(), 1, "only the page's own");
    }

    #[test]
    fn secrets_are_masked_before_and_after_escaping() {
        let secret = "s3cr&t<tok>\"en";
        let mut result = answered("Refresh", 200, vec![token_type(secret)]);
        result.url = format!("http://127.0.0.1:9/?t={secret}").into();
        let exchange = result.exchange.as_mut().unwrap();
        std::sync::Arc::make_mut(&mut exchange.request).headers =
            vec![("Authorization".into(), "Basic aWQ6c2VjcmV0".into())];
        exchange.headers = crate::http::Headers::from_pairs([("Content-Type", "application/json")]);
        exchange.body = serde_json::to_vec(&serde_json::json!({ "access_token": secret })).unwrap();
        let html = report(&[result], 0, &redacting(secret));

        let escaped = escape_html(secret);
        let json_escaped = serde_json::to_string(secret).unwrap();
        for form in [
            secret,
            &escaped,
            &escape_html(json_escaped.trim_matches('"')),
        ] {
            assert!(!html.contains(form), "`{form}` in:\n{html}");
        }
        assert!(!html.contains("aWQ6c2VjcmV0"), "{html}");
        assert_has(
            &html,
            &[
                "<dt>actual</dt><dd><code>***</code>",
                "?t=***",
                "<dt>Authorization</dt><dd>Basic ***</dd>",
                "&quot;access_token&quot;: &quot;***&quot;",
            ],
        );
    }

    #[test]
    fn bodies_are_pretty_printed_and_capped() {
        let mut result = answered("Big", 200, vec![]);
        let exchange = result.exchange.as_mut().unwrap();
        std::sync::Arc::make_mut(&mut exchange.request).body =
            Some(bytes::Bytes::from_static(b"grant_type=refresh_token"));
        exchange.body = format!("[{}1]", "1,".repeat(BODY_SHOWN)).into_bytes();
        let html = report(&[result], 0, &Redactor::default());

        assert_has(
            &html,
            &[
                "<pre class=\"body\">grant_type=refresh_token</pre>",
                "<pre class=\"body\">[\n  1,\n  1,",
                "Showing the first 64 KiB of 129 KiB.",
            ],
        );
        assert!(html.len() < 3 * BODY_SHOWN, "{}", html.len());
    }

    #[test]
    fn a_passing_run_is_green_and_has_no_filter() {
        let html = report(
            &[answered("Refresh", 200, vec![status_ok()])],
            0,
            &Redactor::default(),
        );
        assert_has(
            &html,
            &[
                "<header class=\"summary pass\">",
                "✓ Passed",
                "every request passed",
            ],
        );
        assert!(!html.contains("id=\"only-failures\""), "{html}");
        assert!(!html.contains(" open>"), "{html}");
    }

    #[test]
    fn each_request_says_which_pass_it_belongs_to() {
        let mut result = answered("Refresh", 200, vec![token_type("\"Bearer\"")]);
        result.pass = Some("production · iteration 2".into());
        let html = report(&[result], 0, &Redactor::default());
        assert_has(
            &html,
            &[
                "<span class=\"name\">Refresh <span class=\"pass-label\">production · iteration 2\
                 </span></span>",
                "<a href=\"#request-1\">Refresh (production · iteration 2)</a>",
            ],
        );
    }

    #[test]
    fn a_report_that_cannot_be_written_keeps_its_error() {
        let dir = tempfile::tempdir().unwrap();
        let mut report = HtmlReport::new(dir.path().join("missing/report.html"));
        play(&mut report, &[], 0, &Redactor::default());
        let error = report.error().expect("an error").to_string();
        assert!(error.contains("cannot write the HTML report"), "{error}");
    }

    #[test]
    fn json_is_reindented_token_for_token() {
        assert_eq!(
            reindent(r#"{"a":[1,2.50,{}],"b":"x,\"y\":[z]","c":[],"n":123456789012345678901234}"#),
            "{\n  \"a\": [\n    1,\n    2.50,\n    {}\n  ],\n  \"b\": \"x,\\\"y\\\":[z]\",\n  \
             \"c\": [],\n  \"n\": 123456789012345678901234\n}"
        );
    }
}
