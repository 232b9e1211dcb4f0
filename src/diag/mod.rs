//! Diagnostics that point into the user's files.
//!
//! Every error about a collection, request or environment file is a [`Diagnostic`]: a title, the
//! place in the file ([`Spot`]), a label under the offending text, and notes or a help line that
//! says how to fix it. Rendering follows rustc's layout (via `annotate-snippets`) so the file,
//! line and column come first and the source line is shown with carets under the culprit.

use std::fmt::Write as _;
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use annotate_snippets::renderer::DecorStyle;
use annotate_snippets::{AnnotationKind, Group, Level, Renderer, Snippet};

pub mod mask;

/// A user file as it was read, kept so errors found later can quote it.
#[derive(Debug)]
pub struct SourceFile {
    /// The path as the user would recognise it (relative to where courier was started if possible).
    pub path: PathBuf,
    pub text: String,
    /// Which of its values a quoted line may show (see [`crate::diag::mask`]).
    pub secrecy: Secrecy,
}

/// How much of a file's text an error may quote.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Secrecy {
    /// Collections, requests, imports: values are templates and settings, shown unless their
    /// key is secret (`password:`, `ClientSecret:`) or listed under `secrets:` / `persist:`.
    Definitions,
    /// Environment, variable, dotenv, data and state files: any value may be a credential, and
    /// a file that does not parse cannot say which, so no value is shown, only keys.
    Credentials,
}

impl SourceFile {
    pub fn new(path: impl Into<PathBuf>, text: impl Into<String>) -> Arc<SourceFile> {
        Arc::new(SourceFile {
            path: path.into(),
            text: text.into(),
            secrecy: Secrecy::Definitions,
        })
    }

    /// A file whose every value may be a secret (see [`Secrecy::Credentials`]).
    pub fn credentials(path: impl Into<PathBuf>, text: impl Into<String>) -> Arc<SourceFile> {
        Arc::new(SourceFile {
            path: path.into(),
            text: text.into(),
            secrecy: Secrecy::Credentials,
        })
    }

    /// One-based line and column (in characters) of a byte offset.
    pub fn line_col(&self, offset: usize) -> (usize, usize) {
        let offset = floor_char_boundary(&self.text, offset.min(self.text.len()));
        let before = &self.text[..offset];
        let line = before.matches('\n').count() + 1;
        let line_start = before.rfind('\n').map_or(0, |i| i + 1);
        (line, before[line_start..].chars().count() + 1)
    }
}

/// A JSON parse error in `file`: `title`, what serde_json said (without its own position), and a
/// pointer at where it stopped.
pub fn json_error(file: &Arc<SourceFile>, e: &serde_json::Error, title: &str) -> Diagnostic {
    let text = &file.text;
    let start: usize = text
        .split_inclusive('\n')
        .take(e.line().saturating_sub(1))
        .map(str::len)
        .sum();
    let rest = &text[start.min(text.len())..];
    // serde_json's columns are one-based characters; 0 is the line's start.
    let within = rest
        .char_indices()
        .nth(e.column().saturating_sub(1))
        .map_or(rest.len(), |(i, _)| i);
    let offset = start + within;
    let said = e.to_string();
    let said = said.split(" at line ").next().unwrap_or(&said);
    Diagnostic::new(format!("{title}: {said}"))
        .at(Spot::new(file, offset..offset))
        .label("here")
}

fn floor_char_boundary(text: &str, mut offset: usize) -> usize {
    while !text.is_char_boundary(offset) {
        offset -= 1;
    }
    offset
}

/// A byte range in a user file.
#[derive(Debug, Clone)]
pub struct Spot {
    pub file: Arc<SourceFile>,
    pub span: Range<usize>,
}

impl Spot {
    pub fn new(file: &Arc<SourceFile>, span: Range<usize>) -> Spot {
        let len = file.text.len();
        let start = floor_char_boundary(&file.text, span.start.min(len));
        let end = floor_char_boundary(&file.text, span.end.clamp(start, len));
        Spot {
            file: Arc::clone(file),
            span: start..end,
        }
    }

    pub fn path(&self) -> &Path {
        &self.file.path
    }

    pub fn line_col(&self) -> (usize, usize) {
        self.file.line_col(self.span.start)
    }

    /// The text under the spot.
    pub fn text(&self) -> &str {
        &self.file.text[self.span.clone()]
    }

    /// `path:line:col`, the form editors and CI annotations understand.
    pub fn position(&self) -> String {
        let (line, col) = self.line_col();
        format!("{}:{line}:{col}", self.path().display())
    }

    /// Narrows the spot to the first occurrence of `needle` inside it, so an error can point at
    /// one variable inside a longer template. YAML gives a mapping or list only the span of its
    /// first token, so a needle not found inside is looked for in the text that follows. Keeps
    /// the whole spot when the needle is not found verbatim (an escaped string, say).
    pub fn narrow_to(&self, needle: &str) -> Spot {
        if needle.is_empty() {
            return self.clone();
        }
        let rest = &self.file.text[self.span.start..];
        let found = self.text().find(needle).or_else(|| rest.find(needle));
        match found {
            Some(i) => {
                let start = self.span.start + i;
                Spot::new(&self.file, start..start + needle.len())
            }
            None => self.clone(),
        }
    }
}

/// An error or warning about a user's file, ready to render.
#[derive(Debug, Clone)]
pub struct Diagnostic {
    pub title: String,
    pub spot: Option<Spot>,
    /// Printed under the carets.
    pub label: Option<String>,
    pub notes: Vec<String>,
    pub help: Option<String>,
}

impl Diagnostic {
    pub fn new(title: impl Into<String>) -> Diagnostic {
        Diagnostic {
            title: title.into(),
            spot: None,
            label: None,
            notes: Vec::new(),
            help: None,
        }
    }

    pub fn at(mut self, spot: Spot) -> Self {
        self.spot = Some(spot);
        self
    }

    pub fn at_opt(mut self, spot: Option<Spot>) -> Self {
        self.spot = spot;
        self
    }

    pub fn label(mut self, label: impl Into<String>) -> Self {
        self.label = Some(label.into());
        self
    }

    pub fn note(mut self, note: impl Into<String>) -> Self {
        self.notes.push(note.into());
        self
    }

    pub fn help(mut self, help: impl Into<String>) -> Self {
        self.help = Some(help.into());
        self
    }

    pub fn maybe_help(mut self, help: Option<String>) -> Self {
        if help.is_some() {
            self.help = help;
        }
        self
    }

    /// Renders like rustc: `error: title`, `--> file:line:col`, the source line with carets,
    /// then notes and help.
    ///
    /// The quoted source goes through [`mask::Masked`]: a value that is or may be a secret
    /// shows as `***`, while the position is the original one.
    pub fn render(&self, color: bool) -> String {
        let Some(spot) = &self.spot else {
            return self.render_without_source(color);
        };
        let path = spot.path().display().to_string();
        let masked = mask::Masked::new(&spot.file);
        let span = masked.span(spot.span.clone());
        let mut annotation = AnnotationKind::Primary.span(span.clone());
        if let Some(label) = &self.label {
            annotation = annotation.label(label.as_str());
        }
        let mut group: Group<'_> = Level::ERROR.primary_title(self.title.as_str()).element(
            Snippet::source(masked.text())
                .path(path.as_str())
                .annotation(annotation),
        );
        for note in &self.notes {
            group = group.element(Level::NOTE.message(note.as_str()));
        }
        if let Some(help) = &self.help {
            group = group.element(Level::HELP.message(help.as_str()));
        }
        let rendered = renderer(color).render(&[group]);
        if masked.is_unchanged() {
            return rendered;
        }
        // The renderer counted columns in the masked text; the reader's editor counts them in
        // the file.
        let (line, col) = masked.line_col(span.start);
        let shown = format!("{path}:{line}:{col}");
        rendered.replacen(&shown, &spot.position(), 1)
    }

    /// rustc's layout without a snippet: `error: title`, then `= note:` and `= help:` lines.
    fn render_without_source(&self, color: bool) -> String {
        let paint = |style: anstyle::Style, text: &str| {
            if color {
                format!("{style}{text}{style:#}")
            } else {
                text.to_string()
            }
        };
        let bold = anstyle::Style::new().bold();
        let mut out = format!(
            "{}{}",
            paint(anstyle::AnsiColor::Red.on_default().bold(), "error"),
            paint(bold, &format!(": {}", self.title))
        );
        if let Some(label) = &self.label {
            let _ = write!(out, "\n  {label}");
        }
        for note in &self.notes {
            let _ = write!(out, "\n  = {}: {note}", paint(bold, "note"));
        }
        if let Some(help) = &self.help {
            let _ = write!(out, "\n  = {}: {help}", paint(bold, "help"));
        }
        out
    }
}

fn renderer(color: bool) -> Renderer {
    let renderer = if color {
        Renderer::styled()
    } else {
        Renderer::plain()
    };
    renderer.decor_style(DecorStyle::Ascii)
}

/// The closest of `candidates` to `word`, if it is close enough to be a likely typo.
pub fn did_you_mean<'a>(
    word: &str,
    candidates: impl IntoIterator<Item = &'a str>,
) -> Option<&'a str> {
    candidates
        .into_iter()
        .map(|c| {
            (
                c,
                strsim::jaro_winkler(&word.to_lowercase(), &c.to_lowercase()),
            )
        })
        .filter(|(_, score)| *score >= 0.8)
        .max_by(|a, b| a.1.total_cmp(&b.1))
        .map(|(c, _)| c)
}

/// Names in backticks, joined with commas: `` `a`, `b` ``.
pub fn backticked(names: &[impl AsRef<str>]) -> String {
    names
        .iter()
        .map(|n| format!("`{}`", n.as_ref()))
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_col_counts_characters_not_bytes() {
        let file = SourceFile::new("f.yaml", "a: 1\nné: x\n");
        let at = file.text.find('x').unwrap();
        assert_eq!(file.line_col(at), (2, 5));
    }

    #[test]
    fn narrow_to_finds_the_needle_or_keeps_the_spot() {
        let file = SourceFile::new("f.yaml", "url: \"{{ base }}/x\"\n");
        let spot = Spot::new(&file, 5..19);
        assert_eq!(spot.narrow_to("base").text(), "base");
        assert_eq!(spot.narrow_to("nope").text(), spot.text());
    }

    #[test]
    fn render_shows_position_source_and_help() {
        let file = SourceFile::new("req.yaml", "name: a\nheders: {}\n");
        let text = Diagnostic::new("unknown key `heders`")
            .at(Spot::new(&file, 8..14))
            .label("not a request field")
            .help("did you mean `headers`?")
            .render(false);
        assert!(text.contains("req.yaml:2:1"), "{text}");
        assert!(text.contains("heders: {}"), "{text}");
        assert!(text.contains("did you mean `headers`?"), "{text}");
    }

    #[test]
    fn did_you_mean_needs_a_close_word() {
        assert_eq!(
            did_you_mean("heders", ["headers", "query"]),
            Some("headers")
        );
        assert_eq!(did_you_mean("zzz", ["headers", "query"]), None);
    }
}
