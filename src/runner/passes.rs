//! Passes: running a collection more than once — `--iterations`, rows of a `--data` file,
//! several `--env` files — and several at a time (`--jobs`), or a slice of them (`--shard`).
//!
//! A pass is one run of the selected requests, in order, with its own captures. Each
//! environment is a [`super::Plan`] with its own variables, state file and lock; its passes run
//! one after another when it has persistent variables (they spend a single-use token in turn),
//! and may be spread over several of its executors otherwise. All passes share one HTTP client and one reporter.

use std::cell::RefCell;
use std::path::Path;
use std::sync::Arc;

use indexmap::IndexMap;
use serde_json::Value;

use super::{Reporter, RequestResult, RunStart, Summary};
use crate::diag::{Diagnostic, SourceFile};
use crate::error::{Error, Result};
use crate::secrets::Redactor;

/// One row of a `--data` file: its values are variables between the environment and `--var`.
#[derive(Debug, Clone)]
pub struct DataRow {
    /// 1-based, the header row not counted.
    pub number: usize,
    pub values: Arc<IndexMap<String, String>>,
}

/// One pass over the selected requests.
#[derive(Debug, Clone)]
pub struct Pass {
    /// How reports tell this pass from the others (`production · iteration 2 · row 3`); `None`
    /// when the run has a single pass.
    pub label: Option<Arc<str>>,
    pub row: Option<DataRow>,
}

/// The passes of one run, made one at a time as the run reaches them: a run of 100,000
/// iterations holds no list of them. Each iteration goes over every data row (or happens once
/// without a data file); labels name only what varies in the whole run.
#[derive(Debug, Clone)]
pub struct Passes {
    iterations: usize,
    rows: Option<Arc<[DataRow]>>,
    environment: Option<String>,
    /// This run makes passes `start`, `start + step`, … below `end`, in the numbering of all
    /// the environment's passes (`--shard` narrows the range, `--jobs` deals it out).
    start: usize,
    end: usize,
    step: usize,
}

impl Passes {
    pub fn new(
        iterations: usize,
        rows: Option<Arc<[DataRow]>>,
        environment: Option<String>,
    ) -> Passes {
        let per_iteration = rows.as_ref().map_or(1, |rows| rows.len());
        Passes {
            iterations,
            rows,
            environment,
            start: 0,
            end: iterations * per_iteration,
            step: 1,
        }
    }

    /// How many passes the environment has before any slicing.
    pub fn total(&self) -> usize {
        self.iterations * self.rows.as_ref().map_or(1, |rows| rows.len())
    }

    pub fn len(&self) -> usize {
        self.end.saturating_sub(self.start).div_ceil(self.step)
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Keeps only the passes numbered in `range` (before any dealing).
    pub fn restrict(&mut self, range: std::ops::Range<usize>) {
        self.start = self.start.max(range.start);
        self.end = self.end.min(range.end).max(self.start);
    }

    /// Deals the passes out to `ways` runs, round-robin.
    pub fn deal(self, ways: usize) -> Vec<Passes> {
        (0..ways)
            .map(|k| Passes {
                start: self.start + k * self.step,
                step: self.step * ways,
                ..self.clone()
            })
            .collect()
    }

    pub fn iter(&self) -> impl Iterator<Item = Pass> + '_ {
        (self.start..self.end)
            .step_by(self.step)
            .map(|index| self.pass(index))
    }

    fn pass(&self, index: usize) -> Pass {
        let per_iteration = self.rows.as_ref().map_or(1, |rows| rows.len()).max(1);
        let iteration = index / per_iteration + 1;
        let row = self
            .rows
            .as_ref()
            .map(|rows| rows[index % per_iteration].clone());
        // Written piece by piece, numbers without the formatting machinery: a long run makes a
        // label per pass.
        let mut label = String::with_capacity(48);
        let mut part = |words: &str, number: Option<usize>| {
            if !label.is_empty() {
                label.push_str(" · ");
            }
            label.push_str(words);
            if let Some(number) = number {
                label.push_str(itoa::Buffer::new().format(number));
            }
        };
        if let Some(env) = &self.environment {
            part(env, None);
        }
        if self.iterations > 1 {
            part("iteration ", Some(iteration));
        }
        if let Some(row) = &row {
            part("row ", Some(row.number));
        }
        Pass {
            label: (!label.is_empty()).then(|| label.into()),
            row,
        }
    }
}

/// `--shard K/N`: the K-th of N contiguous, equal (±1) slices of the run's passes, so a CI
/// matrix can spread a large run over machines. Contiguous slices keep an environment's passes
/// together, on the machine that holds its state file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shard {
    /// 1-based.
    pub index: usize,
    pub count: usize,
}

impl Shard {
    pub fn parse(text: &str) -> std::result::Result<Shard, String> {
        let (k, n) = text
            .split_once('/')
            .ok_or_else(|| format!("expected K/N such as `2/4`, not `{text}`"))?;
        let parse = |s: &str| {
            s.trim()
                .parse::<usize>()
                .map_err(|_| format!("`{s}` is not a whole number"))
        };
        let (index, count) = (parse(k)?, parse(n)?);
        if count == 0 || index == 0 || index > count {
            return Err(format!(
                "K must be between 1 and N, and N at least 1: `{text}`"
            ));
        }
        Ok(Shard { index, count })
    }

    /// The range of pass numbers (0-based, of `total`) this shard runs.
    pub fn range(&self, total: usize) -> std::ops::Range<usize> {
        let start = total * (self.index - 1) / self.count;
        let end = total * self.index / self.count;
        start..end
    }
}

/// Reads a `--data` file: CSV with a header row (a UTF-8 byte-order mark, quoted fields with
/// commas and newlines, and empty cells are fine), or a JSON array of objects (`.json`).
pub fn load_data(path: &Path) -> Result<Vec<DataRow>> {
    let bytes = std::fs::read(path).map_err(|source| Error::Read {
        path: path.to_path_buf(),
        source,
        what: "data file",
    })?;
    let rows = if path
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("json"))
    {
        json_rows(path, &bytes)?
    } else {
        csv_rows(path, &bytes)?
    };
    Ok(rows
        .into_iter()
        .enumerate()
        .map(|(i, values)| DataRow {
            number: i + 1,
            values: Arc::new(values),
        })
        .collect())
}

fn csv_rows(path: &Path, bytes: &[u8]) -> Result<Vec<IndexMap<String, String>>> {
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    // Flexible, as Newman reads data files: a short row's missing cells are empty. A long row
    // is refused below: its extra cells have no variable to go to.
    let mut reader = csv::ReaderBuilder::new().flexible(true).from_reader(bytes);
    let invalid = |e: csv::Error| {
        let position = e
            .position()
            .map(|p| format!(" (line {})", p.line()))
            .unwrap_or_default();
        Error::from(
            Diagnostic::new(format!(
                "invalid CSV in `{}`{position}: {e}",
                path.display()
            ))
            .help("the first row names the variables; a row has at most as many cells as it"),
        )
    };
    let headers: Vec<String> = reader
        .headers()
        .map_err(invalid)?
        .iter()
        .map(|h| h.trim().to_string())
        .collect();
    reader
        .records()
        .map(|record| {
            let record = record.map_err(invalid)?;
            if record.len() > headers.len() {
                let line = record.position().map_or(0, csv::Position::line);
                return Err(Diagnostic::new(format!(
                    "invalid CSV in `{}` (line {line}): {} cells, but the first row names {} variables",
                    path.display(),
                    record.len(),
                    headers.len()
                ))
                .help("name every column in the first row, or remove the extra cells")
                .into());
            }
            let cell = |i: usize| record.get(i).unwrap_or_default().to_string();
            Ok(headers
                .iter()
                .cloned()
                .enumerate()
                .map(|(i, name)| (name, cell(i)))
                .collect())
        })
        .collect()
}

fn json_rows(path: &Path, bytes: &[u8]) -> Result<Vec<IndexMap<String, String>>> {
    let text =
        String::from_utf8_lossy(bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes)).into_owned();
    let file = SourceFile::credentials(path, text);
    let not_rows = || {
        Error::from(
            Diagnostic::new(format!(
                "`{}` is not a JSON array of objects",
                path.display()
            ))
            .help("write the rows as `[{\"user\": \"a\"}, {\"user\": \"b\"}]`"),
        )
    };
    let value: Value = serde_json::from_str(&file.text).map_err(|e| {
        let offset = file
            .text
            .split_inclusive('\n')
            .take(e.line().saturating_sub(1))
            .map(str::len)
            .sum::<usize>()
            + e.column().saturating_sub(1);
        Error::from(
            Diagnostic::new(format!("invalid JSON in data file: {e}"))
                .at(crate::diag::Spot::new(&file, offset..offset + 1)),
        )
    })?;
    let Value::Array(items) = value else {
        return Err(not_rows());
    };
    items
        .into_iter()
        .map(|item| match item {
            Value::Object(map) => Ok(map
                .into_iter()
                .map(|(k, v)| (k, super::scope::value_text(&v)))
                .collect()),
            _ => Err(not_rows()),
        })
        .collect()
}

/// Several concurrent passes report through one reporter. Each call borrows it only for the
/// call, and nothing awaits inside a call, so the borrows never overlap.
pub struct Shared<'r> {
    inner: RefCell<&'r mut dyn Reporter>,
}

impl<'r> Shared<'r> {
    pub fn new(reporter: &'r mut dyn Reporter) -> Shared<'r> {
        Shared {
            inner: RefCell::new(reporter),
        }
    }

    /// A reporter to hand to one pass.
    pub fn handle(&self) -> Handle<'_, 'r> {
        Handle(self)
    }

    /// The reporter itself, for the run's start and finish; no pass may be under way.
    pub fn reporter(&self) -> std::cell::RefMut<'_, &'r mut dyn Reporter> {
        self.inner.borrow_mut()
    }
}

pub struct Handle<'s, 'r>(&'s Shared<'r>);

impl Reporter for Handle<'_, '_> {
    fn start(&mut self, run: &RunStart<'_>, redactor: &Redactor) {
        self.0.inner.borrow_mut().start(run, redactor);
    }
    fn request(&mut self, result: &RequestResult, redactor: &Redactor) {
        self.0.inner.borrow_mut().request(result, redactor);
    }
    fn finish(&mut self, summary: &Summary, redactor: &Redactor) {
        self.0.inner.borrow_mut().finish(summary, redactor);
    }
    fn secret_learned(&mut self, value: &str) {
        self.0.inner.borrow_mut().secret_learned(value);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rows(n: usize) -> Vec<DataRow> {
        (1..=n)
            .map(|number| DataRow {
                number,
                values: Arc::new(IndexMap::from([("user".to_string(), format!("u{number}"))])),
            })
            .collect()
    }

    #[test]
    fn every_iteration_goes_over_every_row() {
        let passes = Passes::new(2, Some(rows(2).into()), Some("prod".into()));
        let labels: Vec<_> = passes
            .iter()
            .map(|p| p.label.unwrap().to_string())
            .collect();
        assert_eq!(
            labels,
            [
                "prod · iteration 1 · row 1",
                "prod · iteration 1 · row 2",
                "prod · iteration 2 · row 1",
                "prod · iteration 2 · row 2"
            ]
        );
        assert!(
            Passes::new(1, None, None)
                .iter()
                .next()
                .unwrap()
                .label
                .is_none()
        );
    }

    #[test]
    fn restricting_and_dealing_cover_each_pass_once() {
        let mut passes = Passes::new(10, None, None);
        passes.restrict(3..8);
        assert_eq!(passes.len(), 5);
        let hands = passes.deal(2);
        let iterations = |p: &Passes| -> Vec<String> {
            p.iter().map(|p| p.label.unwrap().to_string()).collect()
        };
        assert_eq!(
            iterations(&hands[0]),
            ["iteration 4", "iteration 6", "iteration 8"]
        );
        assert_eq!(iterations(&hands[1]), ["iteration 5", "iteration 7"]);
        assert_eq!(hands[0].len() + hands[1].len(), 5);
    }

    #[test]
    fn shards_cover_every_pass_once() {
        for total in [0, 1, 5, 7, 100] {
            for count in 1..=6 {
                let mut covered = Vec::new();
                for index in 1..=count {
                    covered.extend(Shard { index, count }.range(total));
                }
                assert_eq!(
                    covered,
                    (0..total).collect::<Vec<_>>(),
                    "{total} over {count}"
                );
            }
        }
        assert_eq!(Shard::parse("2/4"), Ok(Shard { index: 2, count: 4 }));
        assert!(
            Shard::parse("5/4").is_err()
                && Shard::parse("0/4").is_err()
                && Shard::parse("x").is_err()
        );
    }

    #[test]
    fn csv_quirks() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("users.csv");
        std::fs::write(&path, "\u{feff}user,note,empty\na,\"x, y\nz\",\nb,plain,\n").unwrap();
        let rows = load_data(&path).unwrap();
        assert_eq!(rows.len(), 2);
        assert_eq!(rows[0].values["user"], "a");
        assert_eq!(rows[0].values["note"], "x, y\nz");
        assert_eq!(rows[0].values["empty"], "");
        assert_eq!(rows[1].number, 2);
    }

    #[test]
    fn json_rows_and_errors() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("users.json");
        std::fs::write(&path, r#"[{"user": "a", "n": 1}, {"user": "b", "n": 2}]"#).unwrap();
        let rows = load_data(&path).unwrap();
        assert_eq!(rows[1].values["n"], "2");
        std::fs::write(&path, r#"{"user": "a"}"#).unwrap();
        assert!(
            load_data(&path)
                .unwrap_err()
                .to_string()
                .contains("not a JSON array of objects")
        );
        std::fs::write(&path, "[{\"user\": }]").unwrap();
        assert!(
            load_data(&path)
                .unwrap_err()
                .to_string()
                .contains("invalid JSON")
        );
    }

    #[test]
    fn a_short_csv_row_is_padded_and_a_long_one_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("rows.csv");
        std::fs::write(&path, "a,b\n1,2\n3\n").unwrap();
        let rows = load_data(&path).unwrap();
        assert_eq!(rows[1].values["a"], "3");
        assert_eq!(rows[1].values["b"], "");
        std::fs::write(&path, "a,b\n1,2\n3,4,5\n").unwrap();
        let e = load_data(&path).unwrap_err().to_string();
        assert!(e.contains("invalid CSV") && e.contains("line 3"), "{e}");
    }
}
