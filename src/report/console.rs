//! The console report: one block per request (name, method, URL, status, time, each check with
//! expected and actual on failure), then a closing line with counts and total time. `-v` adds
//! the request and response, headers and bodies.

use std::fmt::Write as _;
use std::io::Write;
use std::time::Duration;

use anstyle::{AnsiColor, Style};

use crate::http::Exchange;
use crate::runner::{CheckResult, Reporter, RequestResult, RunStart, Summary};
use crate::secrets::Redactor;

/// How many requests not run are listed one by one; a long run that stopped early counts the
/// rest.
const NOT_RUN_LISTED: usize = 20;

/// How much of a failed request's response body is shown without `-v`.
const FAILURE_BODY_PREVIEW: usize = 300;

pub struct Console<W: Write> {
    out: W,
    color: bool,
    verbose: bool,
    /// Only failures and the closing line (`--quiet`).
    quiet: bool,
    /// Printing goes around the progress bar, if one is drawn.
    progress: Option<super::progress::Progress>,
}

impl<W: Write> Console<W> {
    pub fn new(out: W, color: bool, verbose: bool) -> Self {
        Console {
            out,
            color,
            verbose,
            quiet: false,
            progress: None,
        }
    }

    pub fn with_progress(mut self, progress: super::progress::Progress) -> Self {
        self.progress = Some(progress);
        self
    }

    pub fn quiet(mut self, quiet: bool) -> Self {
        self.quiet = quiet;
        self
    }

    fn paint(&self, style: Style, text: &str) -> String {
        if self.color {
            format!("{style}{text}{style:#}")
        } else {
            text.to_string()
        }
    }

    /// Output that cannot be written (a closed pipe, say) is dropped: the exit code still says
    /// how the run went.
    /// Not flushed here: on a terminal standard output is line-buffered already, and elsewhere
    /// the caller buffers it and [`Reporter::finish`] flushes.
    fn emit(&mut self, text: &str, redactor: &Redactor) {
        let text = redactor.redact(text);
        let out = &mut self.out;
        let mut write = || {
            let _ = out.write_all(text.as_bytes());
            // The bar is redrawn after this: what was written must be on screen first.
            if self.progress.is_some() {
                let _ = out.flush();
            }
        };
        match &self.progress {
            Some(progress) => progress.suspend(write),
            None => write(),
        }
    }

    fn mark(&self, passed: bool) -> String {
        if passed {
            self.paint(GREEN, "✓")
        } else {
            self.paint(RED, "✗")
        }
    }

    /// A `poll:` try that failed: its answer and its first failed check, one line (and its
    /// exchange with `-v`).
    fn try_lines(
        &self,
        out: &mut String,
        result: &RequestResult,
        number: usize,
        tried: &crate::runner::PollTry,
        show_secrets: bool,
    ) {
        let exchange = &tried.exchange;
        let why = tried.failed.first().map_or_else(String::new, |check| {
            let more = match tried.failed.len() {
                1 => String::new(),
                n => format!(" (and {} more)", n - 1),
            };
            format!(
                " · {}: expected {}, actual {}{more}",
                check.subject, check.outcome.expected, check.outcome.actual
            )
        });
        let _ = writeln!(
            out,
            "  {} try {number}: {} {} → {} {} · {}{why}",
            self.paint(DIM, "↻"),
            result.method,
            result.url,
            exchange.status,
            exchange.reason,
            millis(exchange.duration),
        );
        if self.verbose {
            verbose_exchange(out, exchange, show_secrets);
        }
    }

    fn check_line(&self, out: &mut String, check: &CheckResult) {
        let outcome = &check.outcome;
        let claim = match outcome.predicate.as_str() {
            "equals" => format!("{} == {}", check.subject, outcome.expected),
            "status" => format!("status {}", outcome.expected),
            "capture" => format!("capture {}", check.subject.trim_start_matches("capture ")),
            "json" => format!("{} (JSON)", check.subject),
            _ => format!("{} {}", check.subject, outcome.expected),
        };
        let _ = writeln!(out, "  {} {claim}", self.mark(outcome.passed));
        if outcome.passed {
            return;
        }
        let _ = writeln!(out, "      expected  {}", outcome.expected);
        let _ = writeln!(out, "      actual    {}", outcome.actual);
        if let Some(diff) = &outcome.diff {
            for line in diff.lines() {
                let style = match line.chars().next() {
                    Some('+') => GREEN,
                    Some('-') => RED,
                    _ => Style::new(),
                };
                let _ = writeln!(out, "      {}", self.paint(style, line));
            }
        }
        let _ = writeln!(
            out,
            "      {}",
            self.paint(DIM, &format!("at {}", check.spot.position()))
        );
    }
}

const GREEN: Style = AnsiColor::Green.on_default();
const RED: Style = AnsiColor::Red.on_default();
const DIM: Style = Style::new().dimmed();
const BOLD: Style = Style::new().bold();

impl<W: Write> Console<W> {
    /// What went wrong with a request besides its checks, and the start of the answer's body.
    fn failure_lines(&self, out: &mut String, result: &RequestResult) {
        if let Some(rejected) = result.rejected() {
            let _ = writeln!(
                out,
                "  {} {}",
                self.paint(RED, "✗"),
                indent_rest(rejected, 4)
            );
        }
        if let Some(error) = result.error() {
            let _ = writeln!(
                out,
                "  {} {}",
                self.paint(RED, "error:"),
                indent_rest(&error, 4)
            );
        }
        if !result.passed()
            && !self.verbose
            && let Some(exchange) = &result.exchange
        {
            let body = exchange.body_text();
            let preview: String = body.chars().take(FAILURE_BODY_PREVIEW).collect();
            let more = if body.chars().count() > FAILURE_BODY_PREVIEW {
                "…"
            } else {
                ""
            };
            if !preview.trim().is_empty() {
                let _ = writeln!(out, "  response body: {}{more}", preview.trim_end());
            }
        }
    }
}

impl<W: Write> Reporter for Console<W> {
    fn start(&mut self, run: &RunStart<'_>, redactor: &Redactor) {
        if self.quiet {
            return;
        }
        let count = run.selected.len();
        let mut line = format!(
            "{} · {count} request{}",
            self.paint(BOLD, &run.collection.name),
            if count == 1 { "" } else { "s" }
        );
        if run.passes > 1 {
            let _ = write!(line, " × {} passes", run.passes);
        }
        if let Some(env) = run.environment {
            let _ = write!(line, " · {}", env.file.path.display());
        }
        line.push_str("\n\n");
        self.emit(&line, redactor);
    }

    fn request(&mut self, result: &RequestResult, redactor: &Redactor) {
        if self.quiet && result.passed() {
            return;
        }
        let mut out = String::new();
        let pass = result
            .pass
            .as_ref()
            .map(|p| format!(" {}", self.paint(DIM, &format!("· {p}"))))
            .unwrap_or_default();
        let _ = writeln!(
            out,
            "{} {}{pass}",
            self.mark(result.passed()),
            self.paint(BOLD, &result.name)
        );
        for (number, tried) in result.tries.iter().enumerate() {
            self.try_lines(&mut out, result, number + 1, tried, redactor.is_disabled());
        }
        let last_try = match result.tries.len() {
            0 => String::new(),
            n => format!(" · try {}", n + 1),
        };
        let answer = match &result.exchange {
            Some(ex) => format!(
                " → {} {} · {}{last_try}",
                ex.status,
                ex.reason,
                millis(result.duration)
            ),
            None => String::new(),
        };
        let _ = writeln!(out, "  {} {}{answer}", result.method, result.url);
        if self.verbose
            && let Some(exchange) = &result.exchange
        {
            verbose_exchange(&mut out, exchange, redactor.is_disabled());
        }
        // Quiet: the failed checks of a failed request, nothing else.
        for check in result
            .checks
            .iter()
            .filter(|c| !self.quiet || !c.outcome.passed)
        {
            self.check_line(&mut out, check);
        }
        if !result.captured.is_empty() {
            let names: Vec<&str> = result.captured.iter().map(|n| &**n).collect();
            let _ = writeln!(
                out,
                "  {} captured {}",
                self.paint(DIM, "→"),
                names.join(", ")
            );
        }
        self.failure_lines(&mut out, result);
        out.push('\n');
        self.emit(&out, redactor);
    }

    fn finish(&mut self, summary: &Summary, redactor: &Redactor) {
        let mut line = String::new();
        for not_run in summary.not_run.iter().take(NOT_RUN_LISTED) {
            let pass = not_run
                .pass
                .as_ref()
                .map(|p| format!(" · {p}"))
                .unwrap_or_default();
            let _ = writeln!(
                line,
                "{} {}{pass}\n  not run: {}\n",
                self.paint(DIM, "–"),
                self.paint(BOLD, &not_run.name),
                not_run.reason
            );
        }
        if let Some(more) = summary
            .not_run
            .len()
            .checked_sub(NOT_RUN_LISTED)
            .filter(|n| *n > 0)
        {
            let _ = writeln!(line, "… and {more} more not run\n");
        }
        // Counted like the header: every selected request, sent or not.
        let passed = summary.requests - summary.requests_failed;
        let _ = write!(
            line,
            "{} request{}: {passed} passed",
            summary.selected(),
            plural(summary.selected())
        );
        if summary.requests_failed > 0 {
            let _ = write!(
                line,
                ", {}",
                self.paint(RED, &format!("{} failed", summary.requests_failed))
            );
        }
        if !summary.not_run.is_empty() {
            let _ = write!(line, ", {} not run", summary.not_run.len());
        }
        let checks = summary.checks_passed + summary.checks_failed;
        let _ = write!(
            line,
            " · {checks} check{}: {} passed",
            plural(checks),
            summary.checks_passed
        );
        if summary.checks_failed > 0 {
            let _ = write!(
                line,
                ", {}",
                self.paint(RED, &format!("{} failed", summary.checks_failed))
            );
        }
        let _ = writeln!(line, " · {}", millis(summary.duration));
        self.emit(&line, redactor);
        let _ = self.out.flush();
    }
}

fn plural(n: usize) -> &'static str {
    if n == 1 { "" } else { "s" }
}

fn millis(d: Duration) -> String {
    format!("{} ms", d.as_millis())
}

fn indent_rest(text: &str, width: usize) -> String {
    let pad = " ".repeat(width);
    text.trim_end()
        .lines()
        .collect::<Vec<_>>()
        .join(&format!("\n{pad}"))
}

/// The request and response as they crossed the wire. The Authorization header is masked
/// whatever its value, since it carries credentials by definition, unless `--show-secrets`.
fn verbose_exchange(out: &mut String, exchange: &Exchange, show_secrets: bool) {
    let request = &exchange.request;
    let _ = writeln!(out, "  > {} {}", request.method, request.url);
    for (name, value) in &request.headers {
        let value = if name.eq_ignore_ascii_case("authorization") && !show_secrets {
            super::mask_credentials(value)
        } else {
            value.clone()
        };
        let _ = writeln!(out, "  > {name}: {value}");
    }
    if let Some(body) = &request.body {
        let _ = writeln!(out, "  >");
        for line in String::from_utf8_lossy(body).lines() {
            let _ = writeln!(out, "  > {line}");
        }
    }
    for (status, url) in &exchange.redirects {
        let _ = writeln!(out, "  ↪ {status} → {url}");
    }
    let _ = writeln!(
        out,
        "  < {} {} {}",
        exchange.version, exchange.status, exchange.reason
    );
    for (name, value) in exchange.headers.iter() {
        let _ = writeln!(out, "  < {name}: {value}");
    }
    let body = exchange.body_text();
    if !body.is_empty() {
        let _ = writeln!(out, "  <");
        for line in body.lines() {
            let _ = writeln!(out, "  < {line}");
        }
    }
}
