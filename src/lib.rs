//! courier runs API request collections written in YAML: it loads a collection and an
//! environment, renders every request through minijinja templates, sends the requests in order
//! with reqwest, checks assertions on the answers and reports the results.
//!
//! The flow is one-way: [`model`] (what the user wrote) → [`template`] → [`http`] (what goes on
//! the wire) → [`assert`] → [`runner`] (what happened) → [`report`]. [`cli`] is the only module
//! that knows clap, and the commands it resolves to live in `commands`; [`secrets`] masks every
//! output; [`mock`] holds the embedded Zoom OAuth emulator.

pub(crate) mod assert;
pub(crate) mod auth;
pub(crate) mod cli;
mod commands;
pub(crate) mod diag;
pub(crate) mod error;
pub mod http;
pub(crate) mod import;
pub(crate) mod inputs;
pub mod mock;
pub mod model;
pub(crate) mod report;
pub(crate) mod runner;
pub mod schema;
pub(crate) mod secrets;
pub(crate) mod state;
pub(crate) mod template;

use crate::cli::Command;
use crate::commands::{
    check, import_collection, list_vars, merge_reports, print_curl, print_schema, print_text,
    run_collection, serve_zoom, write_schemas,
};
use crate::error::{Error, report_error};

/// Runs courier with these arguments (the first is the program name) and returns the exit code.
pub fn main_with_args<I, T>(args: I) -> i32
where
    I: IntoIterator<Item = T>,
    T: Into<std::ffi::OsString> + Clone,
{
    let config = match cli::parse(args) {
        Ok(config) => config,
        Err(early) => {
            early.print();
            return early.code();
        }
    };
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(source) => {
            return report_error(
                &Error::System {
                    what: "start the async runtime",
                    source,
                },
                config.colors.stderr,
            );
        }
    };
    let outcome = match config.command {
        Command::Run(run) => runtime.block_on(run_collection(*run, config.colors)),
        Command::Check(target) => check(&target),
        Command::Vars {
            target,
            show_secrets,
        } => list_vars(&target, show_secrets),
        Command::Curl {
            target,
            requests,
            show_secrets,
        } => print_curl(&target, requests, show_secrets),
        Command::Completions(shell) => print_text(&cli::completions(shell)),
        Command::Man => cli::man_page()
            .map_err(|source| Error::System {
                what: "render the manual page",
                source,
            })
            .and_then(|page| print_text(&page)),
        Command::Schema(kind) => print_schema(kind),
        Command::WriteSchemas(dir) => write_schemas(&dir),
        Command::Import(options) => import_collection(&options),
        Command::MergeReports { reports, outputs } => merge_reports(&reports, &outputs),
        Command::MockZoom(mock) => runtime.block_on(serve_zoom(mock)),
        Command::Token(token) => runtime.block_on(commands::print_token(*token)),
    };
    match outcome {
        Ok(code) => code,
        Err(e) => report_error(&e, config.colors.stderr),
    }
}
