//! courier runs API request collections written in YAML: it loads a collection and an
//! environment, renders every request through minijinja templates, sends the requests in order
//! with reqwest, checks assertions on the answers and reports the results.
//!
//! The flow is one-way: [`model`] (what the user wrote) → [`template`] → [`http`] (what goes on
//! the wire) → [`assert`] → [`runner`] (what happened) → [`report`]. [`cli`] is the only module
//! that knows clap; [`secrets`] masks every output; [`mock`] holds the embedded Zoom OAuth
//! emulator.

pub mod assert;
pub mod cli;
pub mod diag;
pub mod error;
pub mod http;
pub mod mock;
pub mod model;
pub mod report;
pub mod runner;
pub mod secrets;
pub mod template;

use std::io::Write;
use std::net::{Ipv4Addr, SocketAddr};

use crate::cli::{Colors, Command, MockZoomConfig, RunConfig};
use crate::error::{Error, Result};
use crate::mock::zoom::{Seed, ZoomMock};
use crate::runner::{Origin, Run, Settings};

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
        Command::Run(run) => runtime.block_on(run_collection(run, config.colors)),
        Command::MockZoom(mock) => runtime.block_on(serve_zoom(mock)),
    };
    match outcome {
        Ok(code) => code,
        Err(e) => report_error(&e, config.colors),
    }
}

fn report_error(e: &Error, colors: Colors) -> i32 {
    let mut stderr = std::io::stderr().lock();
    let _ = writeln!(stderr, "{}", e.render(colors.stderr));
    e.code()
}

/// Names the embedded emulator is seeded from.
const SEED_VARIABLES: [&str; 3] = ["ClientID", "ClientSecret", "refresh_token"];

async fn run_collection(config: RunConfig, colors: Colors) -> Result<i32> {
    let collection = model::load_collection(&config.collection)?;
    let environment = config
        .environment
        .as_deref()
        .map(model::load_environment)
        .transpose()?;
    let settings = Settings {
        timeout: config.timeout,
        max_redirects: config.max_redirects,
        bail: config.bail,
        show_secrets: config.show_secrets,
    };
    if config.show_secrets {
        eprintln!("warning: --show-secrets is on: secret values will be printed");
    }
    let mut run = Run::new(
        &collection,
        environment.as_ref(),
        &config.vars,
        settings,
        template::os_env(),
    )?;
    // Kept alive until the run ends; dropping it stops the emulator.
    let _emulator = if config.mock_zoom {
        let emulator = start_emulator(&run).await?;
        run.set(
            "base_url",
            serde_json::Value::String(emulator.base_url()),
            Origin::Emulator,
        );
        eprintln!(
            "using the embedded Zoom OAuth emulator at {}",
            emulator.base_url()
        );
        Some(emulator)
    } else {
        None
    };
    run.precheck()?;
    let mut console = report::Console::new(std::io::stdout().lock(), colors.stdout, config.verbose);
    let summary = run.execute(&mut console).await?;
    Ok(summary.exit_code())
}

async fn start_emulator(run: &Run<'_>) -> Result<ZoomMock> {
    let scope = run.scope();
    let value = |name: &str| {
        scope.text(name).ok_or_else(|| Error::Usage {
            message: format!(
                "--mock-zoom seeds the emulator from `ClientID`, `ClientSecret` and `refresh_token`, but `{name}` is not defined"
            ),
            help: Some("use `--env environments/emulator.yaml`, or define the three variables".into()),
        })
    };
    let [client_id, client_secret, refresh_token] = SEED_VARIABLES.map(value);
    let seed = Seed {
        client_id: client_id?,
        client_secret: client_secret?,
        refresh_token: refresh_token?,
        account_id: None,
    };
    ZoomMock::start(seed, SocketAddr::from((Ipv4Addr::LOCALHOST, 0)))
        .await
        .map_err(|source| Error::Io {
            context: "cannot start the Zoom emulator".into(),
            source,
        })
}

async fn serve_zoom(config: MockZoomConfig) -> Result<i32> {
    let random = Seed::random();
    let seed = Seed {
        client_id: config.client_id.unwrap_or(random.client_id),
        client_secret: config.client_secret.unwrap_or(random.client_secret),
        refresh_token: config.refresh_token.unwrap_or(random.refresh_token),
        account_id: config.account_id,
    };
    let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, config.port));
    let emulator = ZoomMock::start(seed.clone(), addr)
        .await
        .map_err(|source| Error::Io {
            context: format!("cannot listen on {addr}"),
            source,
        })?;
    println!("{}", mock::zoom::banner(&seed, &emulator.base_url()));
    let _ = std::io::stdout().flush();
    tokio::signal::ctrl_c().await.map_err(|source| Error::Io {
        context: "cannot wait for Ctrl-C".into(),
        source,
    })?;
    emulator.shutdown();
    Ok(error::exit::OK)
}
