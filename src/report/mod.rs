//! Reports: pure functions of the run's results, written as the run goes.
//!
//! Every reporter builds its text first and passes it through the run's
//! [`Redactor`](crate::secrets::Redactor) before writing, so no secret reaches any output.

pub mod console;

pub use console::Console;
