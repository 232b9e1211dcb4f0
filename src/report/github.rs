//! The GitHub Actions report: workflow commands that annotate the files a failed check is
//! written in, and a Markdown summary for the job's page.
//!
//! Annotations are printed as each request finishes, so they sit next to the console report in
//! the log; the summary is appended to the `$GITHUB_STEP_SUMMARY` file at the end of the run,
//! pass or fail. Secrets captured during the run are handed to `::add-mask::` so that GitHub also
//! masks them in what other steps print. Everything else is redacted *before* it is escaped,
//! since escaping would hide a secret holding `%`, `,` or `|` from the redactor.

use std::fmt::Write as _;
use std::io::Write;
use std::path::PathBuf;
use std::time::Duration;

use super::{RunInfo, Sink, append_report, claim, millis, reason};
use crate::error::Error;
use crate::runner::{Reporter, RequestResult, RunStart, Summary};
use crate::secrets::Redactor;

pub struct GithubReport<W: Write> {
    summary_path: Option<PathBuf>,
    out: W,
    run: RunInfo,
    rows: Vec<Row>,
    error: Option<Error>,
}

/// A request as the summary shows it, kept as plain text until `finish` redacts and escapes it.
struct Row {
    name: String,
    status: Option<u16>,
    duration: Duration,
    /// Why it did not pass; `None` when it did.
    reason: Option<String>,
    /// Each problem: an error, a rejection, or a failed check with its diff.
    problems: Vec<Problem>,
}

struct Problem {
    /// One line: the claim of a failed check, or the first line of an error.
    text: String,
    /// `file:line:col` of a failed check.
    at: Option<String>,
    /// What does not fit on a line, shown as a code block: a diff, or a whole multi-line error
    /// (a rendered diagnostic, whose carets need a fixed-width font).
    block: Option<Block>,
}

struct Block {
    language: &'static str,
    text: String,
}

impl<W: Write> GithubReport<W> {
    /// `summary_path` is the value of `$GITHUB_STEP_SUMMARY`; `out` is where workflow commands
    /// go, stdout in production.
    pub fn new(summary_path: Option<PathBuf>, out: W) -> Self {
        GithubReport {
            summary_path,
            out,
            run: RunInfo::default(),
            rows: Vec::new(),
            error: None,
        }
    }

    /// Output that cannot be written is dropped, as by the console: the exit code still says how
    /// the run went.
    fn command(&mut self, line: &str) {
        let _ = writeln!(self.out, "{line}");
        let _ = self.out.flush();
    }

    fn markdown(&self, summary: &Summary, redactor: &Redactor) -> String {
        let text = |s: &str| markdown_text(&redactor.redact(s));
        let code = |s: &str| markdown_code(&redactor.redact(s));
        let mark = if summary.exit_code() == 0 {
            "✅"
        } else {
            "❌"
        };
        let mut md = format!("## {mark} {}\n\n", text(&self.run.collection));
        md.push_str("| Request | Status | Time | Result |\n| --- | ---: | ---: | --- |\n");
        for row in &self.rows {
            let status = row
                .status
                .map_or_else(|| "—".to_string(), |s| s.to_string());
            let result = match &row.reason {
                None => "✅ passed".to_string(),
                Some(reason) => format!("❌ {}", text(reason)),
            };
            let _ = writeln!(
                md,
                "| {} | {status} | {} ms | {result} |",
                text(&row.name),
                millis(row.duration)
            );
        }
        for not_run in &summary.not_run {
            let _ = writeln!(
                md,
                "| {} | — | — | ⏭ not run: {} |",
                text(&not_run.name),
                text(&not_run.reason)
            );
        }
        let passed = summary.requests - summary.requests_failed;
        let checks = summary.checks_passed + summary.checks_failed;
        let _ = write!(
            md,
            "\n{passed} of {} requests passed · {} of {checks} checks passed",
            summary.selected(),
            summary.checks_passed
        );
        if !summary.not_run.is_empty() {
            let _ = write!(md, " · {} not run", summary.not_run.len());
        }
        let _ = writeln!(md, " · {} ms", millis(summary.duration));
        let failed = self.rows.iter().filter(|r| !r.problems.is_empty());
        for (i, row) in failed.enumerate() {
            if i == 0 {
                md.push_str("\n### Failures\n\n");
            }
            for problem in &row.problems {
                let _ = write!(md, "- **{}**: {}", text(&row.name), text(&problem.text));
                if let Some(at) = &problem.at {
                    let _ = write!(md, " at {}", code(at));
                }
                md.push('\n');
                if let Some(block) = &problem.block {
                    md.push_str(&fenced(block.language, &redactor.redact(&block.text), "  "));
                }
            }
        }
        md.push('\n');
        md
    }
}

impl<W: Write> Reporter for GithubReport<W> {
    fn start(&mut self, run: &RunStart<'_>, _: &Redactor) {
        self.run = RunInfo::new(run);
    }

    fn request(&mut self, result: &RequestResult, redactor: &Redactor) {
        let name = match &result.pass {
            Some(pass) => format!("{} · {pass}", result.name),
            None => result.name.to_string(),
        };
        let title = escape_property(&redactor.redact(&name));
        let mut problems = Vec::new();
        if let Some(failure) = &result.failure {
            let said = failure.message();
            let said = said.trim_end();
            let message = escape_data(&redactor.redact(said));
            // An invalid request points at the template that broke, like a failed check.
            let at = failure.spot().map(|spot| {
                let (line, col) = spot.line_col();
                let file = escape_property(&redactor.redact(&spot.path().display().to_string()));
                (
                    format!("file={file},line={line},col={col},"),
                    spot.position(),
                )
            });
            let place = at.as_ref().map_or("", |(place, _)| place.as_str());
            self.command(&format!("::error {place}title={title}::{message}"));
            let first = said.lines().next().unwrap_or_default();
            problems.push(Problem {
                text: first.to_string(),
                at: at.map(|(_, position)| position),
                block: (first != said).then(|| Block {
                    language: "",
                    text: said.to_string(),
                }),
            });
        }
        for check in result.failed_checks() {
            let (line, col) = check.spot.line_col();
            let file = escape_property(&redactor.redact(&check.spot.path().display().to_string()));
            let said = claim(check);
            let diff = check.outcome.diff.as_ref();
            let message = match diff {
                Some(diff) => format!("{said}\n{diff}"),
                None => said.clone(),
            };
            let message = escape_data(&redactor.redact(&message));
            self.command(&format!(
                "::error file={file},line={line},col={col},title={title}::{message}"
            ));
            problems.push(Problem {
                text: said,
                at: Some(check.spot.position()),
                block: diff.map(|diff| Block {
                    language: "diff",
                    text: diff.clone(),
                }),
            });
        }
        self.rows.push(Row {
            name: result.name.to_string(),
            status: result.exchange.as_ref().map(|e| e.status),
            duration: result.duration,
            reason: reason(result),
            problems,
        });
    }

    fn finish(&mut self, summary: &Summary, redactor: &Redactor) {
        let Some(path) = &self.summary_path else {
            return;
        };
        let markdown = self.markdown(summary, redactor);
        if let Err(e) = append_report(path, "the GitHub step summary", &markdown, redactor) {
            self.error.get_or_insert(e);
        }
    }

    /// Each line on its own: GitHub matches a mask within a line, so a multi-line value masked
    /// whole would still show line by line.
    fn secret_learned(&mut self, value: &str) {
        for line in value.lines().filter(|l| !l.trim().is_empty()) {
            self.command(&format!("::add-mask::{}", escape_data(line)));
        }
    }
}

impl<W: Write> Sink for GithubReport<W> {
    fn error(&self) -> Option<&Error> {
        self.error.as_ref()
    }
}

/// Escapes the message of a workflow command (after the `::`), as the Actions runner unescapes it.
fn escape_data(text: &str) -> String {
    text.replace('%', "%25")
        .replace('\r', "%0D")
        .replace('\n', "%0A")
}

/// Escapes a property of a workflow command (`file=`, `title=`), where `:` and `,` also delimit.
fn escape_property(text: &str) -> String {
    escape_data(text).replace(':', "%3A").replace(',', "%2C")
}

/// Plain text in a table cell or list item: Markdown punctuation is backslash-escaped (GitHub
/// would otherwise read `|` as a cell border and `<` as HTML) and line breaks become `<br>`.
fn markdown_text(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.trim_end().chars() {
        match c {
            '\\' | '`' | '*' | '_' | '[' | ']' | '<' | '>' | '|' | '~' | '#' => {
                out.push('\\');
                out.push(c);
            }
            '\n' => out.push_str("<br>"),
            '\r' => {}
            _ => out.push(c),
        }
    }
    out
}

/// A code span that holds any text: the fence is longer than any run of backticks inside.
fn markdown_code(text: &str) -> String {
    let text = text.replace(['\r', '\n'], " ");
    let fence = "`".repeat(longest_backtick_run(&text) + 1);
    let pad = if text.starts_with('`') || text.ends_with('`') {
        " "
    } else {
        ""
    };
    format!("{fence}{pad}{text}{pad}{fence}")
}

/// A fenced code block, indented to sit under a list item.
fn fenced(language: &str, text: &str, indent: &str) -> String {
    let fence = "`".repeat(longest_backtick_run(text).max(2) + 1);
    let mut out = format!("{indent}{fence}{language}\n");
    for line in text.lines() {
        let _ = writeln!(out, "{indent}{line}");
    }
    let _ = writeln!(out, "{indent}{fence}");
    out
}

fn longest_backtick_run(text: &str) -> usize {
    text.split(|c| c != '`').map(str::len).max().unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::fixtures::*;

    /// Plays a run; returns the workflow commands and what was appended to the step summary.
    fn report(results: &[RequestResult], skipped: usize, redactor: &Redactor) -> (String, String) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("step-summary.md");
        std::fs::write(&path, "earlier step\n").unwrap();
        let mut out = Vec::new();
        let mut report = GithubReport::new(Some(path.clone()), &mut out);
        play(&mut report, results, skipped, redactor);
        assert!(report.error().is_none(), "{:?}", report.error());
        let summary = std::fs::read_to_string(path).unwrap();
        let summary = summary
            .strip_prefix("earlier step\n")
            .expect("the summary is appended")
            .to_string();
        (String::from_utf8(out).unwrap(), summary)
    }

    #[test]
    fn escapes_follow_the_actions_runner() {
        assert_eq!(escape_data("100% done\r\nnext"), "100%25 done%0D%0Anext");
        assert_eq!(escape_property("a:b,c%\nd"), "a%3Ab%2Cc%25%0Ad");
    }

    #[test]
    fn failed_checks_annotate_their_file_and_errors_their_request() {
        let results = [
            answered(
                "Refresh: token, please",
                200,
                vec![status_ok(), token_type("\"50%\"")],
            ),
            unanswered("Revoke", transport("cannot connect\nrefused")),
        ];
        let (commands, _) = report(&results, 0, &Redactor::default());
        assert_eq!(
            commands,
            "::error file=collections/zoom-oauth/refresh-access-token.yaml,line=4,col=5,\
             title=Refresh%3A token%2C please::$.token_type: expected \"bearer\", got \"50%25\"\n\
             ::error title=Revoke::transport failure: cannot connect%0Arefused\n"
        );
    }

    #[test]
    fn the_step_summary_has_a_table_and_the_failures() {
        let results = [
            answered("Refresh | rotate", 200, vec![status_ok()]),
            answered("Scopes", 200, vec![scopes_differ()]),
            unanswered("Revoke", transport("refused")),
        ];
        let (_, summary) = report(&results, 1, &Redactor::default());
        assert_eq!(
            summary,
            "## ❌ Zoom OAuth\n\
             \n\
             | Request | Status | Time | Result |\n\
             | --- | ---: | ---: | --- |\n\
             | Refresh \\| rotate | 200 | 42 ms | ✅ passed |\n\
             | Scopes | 200 | 42 ms | ❌ 1 of 1 check failed |\n\
             | Revoke | — | 7 ms | ❌ transport failure: refused |\n\
             | Not run 1 | — | — | ⏭ not run: the run stopped when \\`Revoke\\` got no answer |\n\
             \n\
             1 of 4 requests passed · 1 of 2 checks passed · 1 not run · 1234 ms\n\
             \n\
             ### Failures\n\
             \n\
             - **Scopes**: $.scopes: expected \\[\"a\"\\], got \\[\"b\"\\] at `collections/zoom-oauth/refresh-access-token.yaml:4:5`\n  \
             ```diff\n  \
             --- expected\n  \
             +++ actual\n  \
             -  \"a\"\n  \
             +  \"b\"\n  \
             ```\n\
             - **Revoke**: transport failure: refused\n\
             \n"
        );
    }

    #[test]
    fn a_multi_line_error_is_listed_as_a_code_block_and_annotated_where_it_broke() {
        let failure = invalid("undefined variable `x`", "token_type");
        let (commands, summary) = report(&[unanswered("Build", failure)], 0, &Redactor::default());
        assert!(
            commands.starts_with(&format!("::error file={FILE},line=4,col=7,title=Build::")),
            "{commands}"
        );
        assert!(
            summary.contains(
                "| Build | — | 7 ms | ❌ invalid request: error: undefined variable \\`x\\` |"
            ),
            "{summary}"
        );
        assert!(
            summary.contains(&format!(
                "- **Build**: invalid request: error: undefined variable \\`x\\` at `{FILE}:4:7`\n  \
                 ```\n  invalid request: error: undefined variable `x`\n   --> {FILE}:4:7\n"
            )),
            "{summary}"
        );
    }

    #[test]
    fn a_passing_run_gets_a_check_mark_and_no_failures() {
        let (commands, summary) = report(
            &[answered("Refresh", 200, vec![status_ok()])],
            0,
            &Redactor::default(),
        );
        assert_eq!(commands, "");
        assert!(summary.starts_with("## ✅ Zoom OAuth\n"), "{summary}");
        assert!(!summary.contains("Failures"), "{summary}");
    }

    #[test]
    fn secrets_are_masked_in_commands_and_summary() {
        let secret = "s3cr,et%";
        let results = [answered("Refresh", 200, vec![token_type(secret)])];
        let (commands, summary) = report(&results, 0, &redacting(secret));
        assert!(commands.contains("got ***"), "{commands}");
        assert!(!commands.contains("s3cr"), "{commands}");
        assert!(summary.contains("got \\*\\*\\*"), "{summary}");
        assert!(!summary.contains("s3cr"), "{summary}");
    }

    #[test]
    fn learned_secrets_are_handed_to_add_mask_line_by_line() {
        let mut out = Vec::new();
        GithubReport::new(None, &mut out).secret_learned("rotated-token\nsecond line\n");
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "::add-mask::rotated-token\n::add-mask::second line\n"
        );
    }

    #[test]
    fn code_spans_and_fences_outlast_backticks_inside() {
        assert_eq!(markdown_code("a`b"), "``a`b``");
        assert_eq!(markdown_code("`x"), "`` `x ``");
        assert!(fenced("", "```\n", "").starts_with("````\n"));
    }
}
