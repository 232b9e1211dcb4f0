//! courier's integration tests: one binary that drives the real `courier` executable against
//! servers on loopback (the embedded Zoom emulator, or the tiny servers in [`support`]) and
//! compares whole transcripts (exit code, stdout, stderr) with snapshots: inline, beside the
//! command, as `assert_transcript!(t, @"…")`, or in `snapshots/` for the few that run long.

mod support;

mod echo;

mod bad_input;
mod cli;
mod contracts;
mod html;
mod import;
mod inputs;
mod months;
mod newman;
mod oauth2;
mod passes;
mod preview;
mod readme;
mod reports;
mod retry;
mod run;
mod schema;
mod secrets;
mod select;
mod shell;
mod state;
mod transport;
mod trust;
