//! Passes: running a collection more than once — `--iterations`, rows of a `--data` file,
//! several `--env` files — and several at a time (`--jobs`), or a slice of them (`--shard`).
//!
//! A pass is one run of the selected requests, in order, with its own captures. Each
//! environment is a [`super::Plan`] with its own variables, state file and lock; its passes run
//! one after another when it has persistent variables (they spend a single-use token in turn),
//! and may be spread over several of its executors otherwise. All passes share one HTTP client and one reporter.

use std::cell::RefCell;
use std::sync::Arc;

use super::{DataRow, Reporter, RequestResult, RunStart, Summary};
use crate::secrets::Redactor;

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
    use indexmap::IndexMap;

    fn rows(n: usize) -> Vec<DataRow> {
        (1..=n)
            .map(|number| DataRow {
                number,
                values: Arc::new(IndexMap::from([(
                    "user".to_string(),
                    format!("u{number}").into(),
                )])),
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
}
