//! A progress bar for long runs, on standard error, only on a terminal. The console report
//! prints through it ([`Progress::suspend`]) so the bar and the report never garble each other.

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use super::Sink;
use crate::runner::{Reporter, RequestResult, RunStart, Summary};
use crate::secrets::Redactor;

/// Runs shorter than this finish before a bar would be worth reading.
const MIN_REQUESTS: u64 = 10;

/// A handle on the bar, shared by the console (to print around it) and the reporter (to move
/// it). A hidden bar does nothing, so callers need not check.
#[derive(Clone)]
pub struct Progress {
    bar: ProgressBar,
    /// Even a hidden bar takes a lock and reads the clock on every move: a long run without a
    /// terminal skips it.
    shown: bool,
}

impl Progress {
    /// A bar for `total` requests, drawn only when standard error is a terminal and the run is
    /// long enough; hidden otherwise.
    pub fn new(total: u64, enabled: bool) -> Progress {
        let shown = enabled && total >= MIN_REQUESTS;
        let bar = if shown {
            let bar = ProgressBar::with_draw_target(Some(total), ProgressDrawTarget::stderr());
            if let Ok(style) = ProgressStyle::with_template(
                "{bar:40} {pos}/{len} requests · {per_sec} · eta {eta}",
            ) {
                bar.set_style(style);
            }
            bar
        } else {
            ProgressBar::hidden()
        };
        Progress { bar, shown }
    }

    /// Runs `print` with the bar cleared, then draws it again.
    pub fn suspend<R>(&self, print: impl FnOnce() -> R) -> R {
        if self.shown {
            self.bar.suspend(print)
        } else {
            print()
        }
    }
}

impl Reporter for Progress {
    fn start(&mut self, _: &RunStart<'_>, _: &Redactor) {}

    fn request(&mut self, _: &RequestResult, _: &Redactor) {
        if self.shown {
            self.bar.inc(1);
        }
    }

    fn finish(&mut self, _: &Summary, _: &Redactor) {
        self.bar.finish_and_clear();
    }
}

impl Sink for Progress {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_or_disabled_runs_get_a_hidden_bar() {
        assert!(Progress::new(5, true).bar.is_hidden());
        assert!(!Progress::new(5, true).shown && Progress::new(10, true).shown);
        assert!(Progress::new(1000, false).bar.is_hidden());
    }

    #[test]
    fn suspend_runs_the_printing() {
        assert_eq!(Progress::new(1000, false).suspend(|| 42), 42);
    }
}
