//! courier runs API request collections written in YAML: it loads a collection and an
//! environment, renders every request through minijinja templates, sends the requests in order
//! with reqwest, checks assertions on the answers and reports the results.
//!
//! The flow is one-way: [`model`] (what the user wrote) → [`template`] → [`http`] (what goes on
//! the wire) → [`assert`] → [`runner`] (what happened) → [`report`]. [`cli`] is the only module
//! that knows clap, and the commands it resolves to live in `commands`; [`secrets`] masks every
//! output; [`mock`] holds the embedded Zoom OAuth emulator.

pub(crate) mod assert;
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

use std::io::Write;

use crate::cli::{Colors, Command};
use crate::commands::{
    check, import_postman, list_vars, print_curl, run_collection, serve_zoom, write_schemas,
};
use crate::error::Error;

/// Runs courier with these arguments (the first is the program name) and returns the exit code.
pub fn main_with_args<I, T>(args: I) -> i32
where
    I: IntoIterator<Item = T>,
    T: Into<std::ffi::OsString> + Clone,
{
    let config = match cli::parse(args) {
        Ok(config) => config,
        Err(e) => {
            let _ = e.print();
            return e.exit_code();
        }
    };
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(source) => {
            return report_error(
                &Error::Io {
                    context: "cannot start the async runtime".into(),
                    source,
                },
                config.colors,
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
        Command::Print(bytes) => {
            // A closed pipe (`courier man | head`) is not an error worth reporting.
            let _ = std::io::stdout().lock().write_all(&bytes);
            Ok(error::exit::OK)
        }
        Command::WriteSchemas(dir) => write_schemas(&dir),
        Command::ImportPostman(options) => import_postman(&options),
        Command::MockZoom(mock) => runtime.block_on(serve_zoom(mock)),
    };
    match outcome {
        Ok(code) => code,
        Err(e) => report_error(&e, config.colors),
    }
}

pub(crate) fn report_error(e: &Error, colors: Colors) -> i32 {
    let mut stderr = std::io::stderr().lock();
    let _ = writeln!(stderr, "{}", e.render(colors.stderr));
    e.code()
}
