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
pub mod import;
pub mod inputs;
pub mod mock;
pub mod model;
pub mod report;
pub mod runner;
pub mod schema;
pub mod secrets;
pub mod state;
pub mod template;

use std::io::Write;
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::Arc;

use crate::cli::{Colors, Command, MockZoomConfig, RunConfig, Target};
use crate::error::{Error, Result};
use crate::mock::zoom::{Seed, ZoomMock};
use crate::model::{Collection, Environment};
use crate::runner::{Origin, RetryPolicy, Run, Selection, Settings};
use crate::template::EnvLookup;

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

fn report_error(e: &Error, colors: Colors) -> i32 {
    let mut stderr = std::io::stderr().lock();
    let _ = writeln!(stderr, "{}", e.render(colors.stderr));
    e.code()
}

/// Names the embedded emulator is seeded from.
const SEED_VARIABLES: [&str; 3] = ["ClientID", "ClientSecret", "refresh_token"];

/// A collection with everything that fills its variables, loaded and parsed.
struct Loaded {
    collection: Collection,
    /// In the order given on the command line.
    environments: Vec<Environment>,
    /// `--var-file` values, then `--var` values: later ones win.
    vars: Vec<(String, String, Origin)>,
    lookup: EnvLookup,
}

fn load(target: &Target) -> Result<Loaded> {
    let collection = model::load_collection(&target.collection)?;
    let environments = target
        .environments
        .iter()
        .map(|path| model::load_environment(path))
        .collect::<Result<Vec<_>>>()?;
    let mut vars = Vec::new();
    for file in &target.var_files {
        let origin = Origin::VarFile(file.clone());
        vars.extend(
            inputs::load_var_file(file)?
                .into_iter()
                .map(|(k, v)| (k, v, origin.clone())),
        );
    }
    vars.extend(
        target
            .vars
            .iter()
            .map(|(k, v)| (k.clone(), v.clone(), Origin::CommandLine)),
    );
    let lookup = inputs::lookup(inputs::load_env_files(&target.env_files)?);
    Ok(Loaded {
        collection,
        environments,
        vars,
        lookup,
    })
}

impl Loaded {
    /// The one environment of commands that take at most one (`vars`, `curl`).
    fn single_environment(&self) -> Result<Option<&Environment>> {
        match self.environments.as_slice() {
            [] => Ok(None),
            [one] => Ok(Some(one)),
            _ => Err(Error::Usage {
                message: "this command takes one `--env` file".into(),
                help: Some("`courier run` is the command that runs several environments".into()),
            }),
        }
    }
}

async fn run_collection(config: RunConfig, colors: Colors) -> Result<i32> {
    let loaded = load(&config.target)?;
    let rows = config
        .data
        .as_deref()
        .map(runner::passes::load_data)
        .transpose()?;
    let settings = run_settings(&config)?;
    if config.show_secrets {
        eprintln!("warning: --show-secrets is on: secret values will be printed");
    }
    if config.insecure {
        eprintln!("warning: --insecure is on: TLS certificates are not checked");
    }
    let environments: Vec<Option<&Environment>> = if loaded.environments.is_empty() {
        vec![None]
    } else {
        loaded.environments.iter().map(Some).collect()
    };
    let mut runs = Vec::with_capacity(environments.len());
    for environment in &environments {
        let run = Run::new(
            &loaded.collection,
            *environment,
            &loaded.vars,
            settings.clone(),
            Arc::clone(&loaded.lookup),
        )?;
        runs.push(run);
    }
    let sample = rows.as_ref().and_then(|rows| rows.first());
    if config.dry_run {
        let mut out = std::io::stdout().lock();
        for run in &mut runs {
            attach_existing_state(run, config.target.state.as_deref())?;
            run.precheck(sample)?;
            for (request, outgoing) in run.render_offline()? {
                let text = report::preview::as_http(&request.name, &outgoing, run.redactor());
                let _ = writeln!(out, "{text}");
            }
        }
        return Ok(error::exit::OK);
    }
    let mut planned = plan_passes(runs, &environments, &config, rows.as_deref());
    for (run, environment) in planned.iter_mut().map(|(run, _)| run).zip(&environments) {
        let env_path = environment.map(|e| e.file.path.as_path());
        if let Some(path) = state_path(
            run,
            config.target.state.as_deref(),
            env_path,
            config.mock_zoom,
        )? {
            let state = state::StateFile::open(&path, config.lock_timeout)?;
            for line in run.attach_state(state) {
                if config.verbose || line.contains("restart") {
                    eprintln!("state {}: {line}", path.display());
                }
            }
        }
    }
    planned.retain(|(_, passes)| !passes.is_empty());
    // Kept alive until the run ends; dropping it stops the emulator.
    let _emulator = match (config.mock_zoom, planned.first()) {
        (true, Some((first, _))) => {
            let emulator = start_emulator(first).await?;
            let url = serde_json::Value::String(emulator.base_url());
            for (run, _) in &mut planned {
                run.set("base_url", url.clone(), Origin::Emulator);
            }
            eprintln!(
                "using the embedded Zoom OAuth emulator at {}",
                emulator.base_url()
            );
            Some(emulator)
        }
        _ => None,
    };
    // Every environment is checked before any request is sent.
    for (run, _) in &planned {
        run.precheck(sample)?;
    }
    let mut planned = spread(planned, config.jobs);

    let stdout = std::io::stdout();
    let mut reporters = report::Fanout::new();
    if std::env::var("GITHUB_ACTIONS").is_ok_and(|v| v == "true") {
        let summary = std::env::var_os("GITHUB_STEP_SUMMARY").map(std::path::PathBuf::from);
        reporters.push(report::github::GithubReport::new(
            summary,
            std::io::stdout(),
        ));
    }
    let console_out: Box<dyn Write> = if std::io::IsTerminal::is_terminal(&stdout) {
        Box::new(stdout.lock())
    } else {
        // Not a terminal: nobody watches line by line, and a large run prints a lot.
        Box::new(std::io::BufWriter::with_capacity(64 * 1024, stdout.lock()))
    };
    let total: usize = planned
        .iter()
        .map(|(run, passes)| run.selected_count() * passes.len())
        .sum();
    let on_terminal = std::io::IsTerminal::is_terminal(&std::io::stderr());
    let progress = report::progress::Progress::new(total as u64, on_terminal && !config.quiet);
    reporters.push(
        report::Console::new(console_out, colors.stdout, config.verbose)
            .quiet(config.quiet)
            .with_progress(progress.clone()),
    );
    reporters.push(progress);
    if let Some(path) = &config.report_junit {
        reporters.push(report::junit::JunitReport::new(path.clone()));
    }
    if let Some(path) = &config.report_json {
        reporters.push(report::json::JsonReport::new(path.clone()));
    }
    if let Some(path) = &config.report_html {
        reporters.push(report::html::HtmlReport::new(path.clone()));
    }
    let client = http::Client::new(&settings.client).map_err(|message| Error::Transport {
        message: format!("cannot create the HTTP client: {message}"),
    })?;
    let summary = runner::passes::run_all(&mut planned, &client, config.jobs, &mut reporters).await;
    let mut code = summary.exit_code();
    // A token that could not be saved needs someone to act: say so where CI logs errors too.
    for (run, _) in &planned {
        if let Some(message) = run.state_error() {
            eprintln!("{message}");
        }
    }
    for e in reporters.errors() {
        report_error(e, colors);
        code = code.max(error::exit::INVALID_INPUT);
    }
    if let Some(path) = &config.export_vars {
        let values: Vec<(String, String)> = planned
            .iter()
            .flat_map(|(run, _)| run.persistent_values())
            .collect();
        if let Err(e) = export_vars(path, &values) {
            report_error(&e, colors);
            code = code.max(error::exit::INVALID_INPUT);
        }
    }
    Ok(code)
}

/// The run's settings, resolved from the command line.
fn run_settings(config: &RunConfig) -> Result<Settings> {
    let extra_roots_pem = match &config.cacert {
        Some(path) => Some(std::fs::read(path).map_err(|source| Error::Read {
            path: path.clone(),
            source,
            what: "CA certificate file",
        })?),
        None => None,
    };
    Ok(Settings {
        timeout: config.timeout,
        max_redirects: config.max_redirects,
        bail: config.bail,
        show_secrets: config.show_secrets,
        retry: RetryPolicy {
            retries: config.retry,
            max_wait: config.retry_max_wait,
        },
        client: http::ClientOptions {
            connect_timeout: config.connect_timeout,
            insecure: config.insecure,
            extra_roots_pem,
            proxy: config.proxy.clone(),
            max_body: Some(config.max_body),
        },
        selection: Selection {
            tags: config.tags.clone(),
            skip_tags: config.skip_tags.clone(),
            requests: config.requests.clone(),
        },
        check_texts: !config.quiet || config.report_json.is_some() || config.report_html.is_some(),
    })
}

/// Each environment's passes (iterations × data rows), then `--shard`'s slice of them all,
/// numbered across environments in order. An environment wholly outside the slice keeps none.
fn plan_passes<'a>(
    runs: Vec<Run<'a>>,
    environments: &[Option<&Environment>],
    config: &RunConfig,
    rows: Option<&[runner::DataRow]>,
) -> Vec<(Run<'a>, runner::Passes)> {
    let several = environments.len() > 1;
    let rows: Option<Arc<[runner::DataRow]>> = rows.map(Arc::from);
    let mut planned: Vec<(Run<'a>, runner::Passes)> = runs
        .into_iter()
        .zip(environments)
        .map(|(run, environment)| {
            let label = environment.filter(|_| several).map(|e| {
                e.file
                    .path
                    .file_stem()
                    .map_or_else(String::new, |s| s.to_string_lossy().into_owned())
            });
            (
                run,
                runner::Passes::new(config.iterations, rows.clone(), label),
            )
        })
        .collect();
    if let Some(shard) = config.shard {
        let total: usize = planned.iter().map(|(_, p)| p.total()).sum();
        let keep = shard.range(total);
        let mut offset = 0;
        for (_, passes) in &mut planned {
            let own = passes.total();
            let start = keep.start.saturating_sub(offset).min(own);
            let end = keep.end.saturating_sub(offset).min(own);
            passes.restrict(start..end);
            offset += own;
        }
    }
    planned
}

/// With `--jobs` above 1, an environment without persistent variables has its passes dealt out
/// to forks of its run so they can go at the same time; one with persistent variables keeps
/// them in order, since each pass spends the token the previous one saved.
fn spread(planned: Vec<(Run<'_>, runner::Passes)>, jobs: usize) -> Vec<(Run<'_>, runner::Passes)> {
    let mut spread = Vec::new();
    for (run, passes) in planned {
        let ways = jobs.min(passes.len());
        if ways <= 1 || !run.persistent_names().is_empty() {
            spread.push((run, passes));
            continue;
        }
        let mut hands = passes.deal(ways).into_iter();
        let forks: Vec<Run<'_>> = (1..ways).map(|_| run.fork()).collect();
        if let Some(first) = hands.next() {
            spread.push((run, first));
        }
        spread.extend(forks.into_iter().zip(hands));
    }
    spread
}

/// Where persistent variables are saved: `--state`, else beside the environment file. A run on
/// the embedded emulator keeps none unless `--state` says so: the emulator is new each run, and
/// its tokens die with it.
fn state_path(
    run: &Run<'_>,
    explicit: Option<&std::path::Path>,
    environment: Option<&std::path::Path>,
    mock_zoom: bool,
) -> Result<Option<std::path::PathBuf>> {
    if let Some(path) = explicit {
        return Ok(Some(path.to_path_buf()));
    }
    let persistent = run.persistent_names();
    if persistent.is_empty() || mock_zoom {
        return Ok(None);
    }
    match environment {
        Some(env) => Ok(Some(state::default_state_path(env))),
        None => Err(Error::Usage {
            message: format!(
                "{} must be saved after the run, but there is nowhere to save it",
                persistent.iter().map(|n| format!("`{n}`")).collect::<Vec<_>>().join(", ")
            ),
            help: Some(
                "pass `--env FILE` (the state file goes beside it) or `--state PATH`; nothing was sent".into(),
            ),
        }),
    }
}

/// `--export-vars`: the persistent values after the run, for a later CI step. JSON for a
/// `.json` path, dotenv otherwise; written atomically with owner-only permissions.
fn export_vars(path: &std::path::Path, values: &[(String, String)]) -> Result<()> {
    let text = if path.extension().is_some_and(|e| e == "json") {
        let map: serde_json::Map<String, serde_json::Value> = values
            .iter()
            .map(|(k, v)| (k.clone(), serde_json::Value::String(v.clone())))
            .collect();
        serde_json::to_string_pretty(&map).unwrap_or_default() + "\n"
    } else {
        values
            .iter()
            .map(|(k, v)| format!("{k}={}\n", dotenv_quote(v)))
            .collect()
    };
    state::write_atomic(path, text.as_bytes()).map_err(|source| Error::Io {
        context: format!(
            "cannot write the exported variables to `{}`",
            path.display()
        ),
        source,
    })
}

/// A dotenv value in double quotes, with the escapes dotenv readers understand.
fn dotenv_quote(value: &str) -> String {
    let escaped = value
        .replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
        .replace('$', "\\$");
    format!("\"{escaped}\"")
}

/// `courier check`: everything `run` verifies before sending, and nothing sent. OS variables
/// that `env(...)` cannot find are listed as needs, not errors, so CI can lint without secrets.
fn check(target: &Target) -> Result<i32> {
    let loaded = load(target)?;
    let (lookup, needs) = inputs::Needs::wrap(Arc::clone(&loaded.lookup));
    let environments: Vec<Option<&Environment>> = if loaded.environments.is_empty() {
        vec![None]
    } else {
        loaded.environments.iter().map(Some).collect()
    };
    for environment in &environments {
        let run = Run::new(
            &loaded.collection,
            *environment,
            &loaded.vars,
            Settings::default(),
            Arc::clone(&lookup),
        )?;
        run.precheck(None)?;
    }
    let count = loaded.collection.requests.len();
    let mut out = std::io::stdout().lock();
    let mut line = format!(
        "ok: {} ({count} request{}, collection {})",
        loaded.collection.name,
        if count == 1 { "" } else { "s" },
        target.collection.display()
    );
    for env in &target.environments {
        line.push_str(&format!(", environment {}", env.display()));
    }
    let _ = writeln!(out, "{line}");
    for name in needs.names() {
        let _ = writeln!(
            out,
            "needs {name} (an OS environment variable not set here)"
        );
    }
    Ok(error::exit::OK)
}

/// `courier import postman`: writes the collection, then says what it made and, line by line,
/// what it could not convert.
fn import_postman(options: &import::ImportOptions) -> Result<i32> {
    let report = import::import_postman(options)?;
    let mut out = std::io::stdout().lock();
    let _ = writeln!(
        out,
        "imported {} request{} in {} folder{} into {}",
        report.requests,
        if report.requests == 1 { "" } else { "s" },
        report.folders,
        if report.folders == 1 { "" } else { "s" },
        options.out.display()
    );
    for env in &report.environments {
        let _ = writeln!(out, "environment {}", env.display());
    }
    if !report.not_converted.is_empty() {
        let _ = writeln!(out, "\nnot converted ({}):", report.not_converted.len());
        for line in &report.not_converted {
            let _ = writeln!(out, "  - {line}");
        }
    }
    let _ = writeln!(
        out,
        "\ncheck it with: courier check {}",
        options.out.display()
    );
    Ok(error::exit::OK)
}

/// For commands that send nothing (`--dry-run`, `curl`): the newest persistent values, read
/// from an existing state file, so what they print is what a run would send.
/// Returns, per persistent variable, which value won and why.
fn attach_existing_state(
    run: &mut Run<'_>,
    explicit: Option<&std::path::Path>,
) -> Result<Vec<String>> {
    let env_path = run.environment().map(|e| e.file.path.clone());
    match state_path(run, explicit, env_path.as_deref(), false)
        .ok()
        .flatten()
    {
        Some(path) if path.exists() => {
            let state = state::StateFile::open(&path, std::time::Duration::from_secs(5))?;
            Ok(run.attach_state(state))
        }
        _ => Ok(Vec::new()),
    }
}

/// `courier schema --out DIR`: the three JSON Schemas, as committed under `schema/`.
fn write_schemas(dir: &std::path::Path) -> Result<i32> {
    let io = |source| Error::Io {
        context: format!("cannot write the schemas into `{}`", dir.display()),
        source,
    };
    std::fs::create_dir_all(dir).map_err(io)?;
    for (_, name, schema) in schema::all() {
        std::fs::write(dir.join(name), schema::to_file_text(&schema)).map_err(io)?;
        println!("wrote {}", dir.join(name).display());
    }
    Ok(error::exit::OK)
}

/// `courier curl`: each selected request as a curl command, nothing sent.
fn print_curl(target: &Target, requests: Vec<String>, show_secrets: bool) -> Result<i32> {
    let loaded = load(target)?;
    let settings = Settings {
        show_secrets,
        selection: Selection {
            requests,
            ..Selection::default()
        },
        ..Settings::default()
    };
    let mut run = Run::new(
        &loaded.collection,
        loaded.single_environment()?,
        &loaded.vars,
        settings,
        Arc::clone(&loaded.lookup),
    )?;
    attach_existing_state(&mut run, target.state.as_deref())?;
    run.precheck(None)?;
    if show_secrets {
        eprintln!("warning: --show-secrets is on: the commands carry the credentials");
    }
    let mut out = std::io::stdout().lock();
    for (request, outgoing) in run.render_offline()? {
        if run.carries_persistent(request) {
            eprintln!(
                "warning: `{}` spends a persistent token: running its command rotates the token without courier saving the new one",
                request.name
            );
        }
        let command = report::preview::as_curl(&outgoing, run.redactor());
        let _ = writeln!(out, "# {}\n{command}", request.name);
    }
    Ok(error::exit::OK)
}

/// `courier vars`: each variable, its value (masked if secret) and where it came from.
fn list_vars(target: &Target, show_secrets: bool) -> Result<i32> {
    let loaded = load(target)?;
    let (lookup, _needs) = inputs::Needs::wrap(Arc::clone(&loaded.lookup));
    let settings = Settings {
        show_secrets,
        ..Settings::default()
    };
    let environment = loaded.single_environment()?;
    let mut run = Run::new(
        &loaded.collection,
        environment,
        &loaded.vars,
        settings,
        lookup,
    )?;
    let explained = attach_existing_state(&mut run, target.state.as_deref())?;
    let rows: Vec<[String; 3]> = run
        .scope()
        .iter()
        .map(|(name, var)| {
            let value = runner::scope::value_text(&var.value);
            let value = run.redactor().redact(&value).into_owned();
            let mut source = var.origin.to_string();
            let read = os_variables_read(&loaded, name, &var.origin);
            if !read.is_empty() {
                source.push_str(&format!(" (OS environment: {})", read.join(", ")));
            }
            [name.to_string(), value, source]
        })
        .collect();
    let width = |i: usize| {
        rows.iter()
            .map(|r| r[i].chars().count())
            .max()
            .unwrap_or(0)
            .max(5)
    };
    let (w0, w1) = (width(0), width(1));
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "{:w0$}  {:w1$}  SOURCE", "NAME", "VALUE");
    for [name, value, source] in rows {
        let _ = writeln!(out, "{name:w0$}  {value:w1$}  {source}");
    }
    for line in explained {
        let _ = writeln!(out, "\n{line}");
    }
    Ok(error::exit::OK)
}

/// The OS variables a file's definition of `name` reads through `env("...")`.
fn os_variables_read(loaded: &Loaded, name: &str, origin: &Origin) -> Vec<String> {
    let defs = match origin {
        Origin::Collection => &loaded.collection.variables,
        Origin::Environment => match loaded.environments.first() {
            Some(env) => &env.variables,
            None => return Vec::new(),
        },
        _ => return Vec::new(),
    };
    let Some(def) = defs.iter().find(|d| d.name == name) else {
        return Vec::new();
    };
    let pattern = regex::Regex::new(r#"env\(\s*["']([^"']+)["']"#).expect("a valid regex");
    let raw = def.value.to_string();
    pattern
        .captures_iter(&raw)
        .map(|c| c[1].to_string())
        .collect()
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
