//! `courier run`: environments, passes, state files, the emulator, reporters, and the run.

use std::net::{Ipv4Addr, SocketAddr};

use crate::error::report_error;
use crate::mock::zoom::{Seed, ZoomMock};
use std::io::Write;
use std::path::PathBuf;
use std::sync::Arc;

use super::{Base, load, load_base};
use crate::cli::{Colors, RunConfig};
use crate::error::{self, Error, Result};
use crate::model::Environment;
use crate::runner::{self, Origin, Plan, Resolved, Settings, Setup, StateChoice};
use crate::{http, report, state};

/// Names the embedded emulator is seeded from: the client, always; the refresh token and the
/// account of a Server-to-Server app when the environment has them.
const SEED_VARIABLES: [&str; 2] = ["ClientID", "ClientSecret"];

pub(crate) async fn run_collection(config: RunConfig, colors: Colors) -> Result<i32> {
    if config.snapshot_update_in_ci {
        return Err(crate::diag::Diagnostic::new(
            "--update-snapshots is refused under CI=true: CI compares snapshots, it does not rewrite them",
        )
        .help("update the snapshots on your machine and commit them; or, to rewrite them in CI on purpose, pass --force-update-snapshots")
        .into());
    }
    if config.dry_run {
        return dry_run(&config);
    }
    let base = load_base(&config.target)?;
    let rows = load_rows(&config)?;
    warn_of_risky_flags(&config.settings);
    let paths = environment_paths(&config);
    refuse_shared_state(&config, &paths)?;
    let selected = config.settings.selection.apply(&base.collection)?;
    let tenants = plan_passes(&paths, &config, rows.as_deref());
    if tenants.is_empty() || selected.is_empty() {
        return nothing_to_send(&config, &base.collection, rows.as_deref());
    }
    // Kept alive until the run ends; dropping it stops the emulator.
    let emulator = match config.mock_zoom {
        true => Some(start_emulator(&base, &tenants[0], &config.settings).await?),
        false => None,
    };
    if let Some(emulator) = &emulator {
        eprintln!(
            "using the embedded Zoom OAuth emulator at {}",
            emulator.base_url()
        );
    }
    let client = http::Client::new(&config.settings.client)?;
    let total_passes: usize = tenants.iter().map(|t| t.passes.len()).sum();
    let mut reporters = config.output.reporters(selected.len() * total_passes);
    let context = Context {
        base: &base,
        config: &config,
        settings: &config.settings,
        samples: rows
            .as_deref()
            .map(runner::data::samples)
            .unwrap_or_default(),
        emulator_url: emulator
            .as_ref()
            .map(|e| serde_json::Value::String(e.base_url())),
        client: &client,
        total_passes,
        single: paths.len() == 1,
        started: std::cell::Cell::new(false),
        permits: tokio::sync::Semaphore::new(config.passes.jobs.max(1)),
        stderr_color: colors.stderr,
    };
    let (summary, exported) = run_tenants(&context, tenants, &selected, &mut reporters).await?;
    let mut code = summary.exit_code();
    for e in reporters.errors() {
        report_error(e, colors.stderr);
        code = code.max(error::exit::INVALID_INPUT);
    }
    if let Some(path) = &config.export_vars
        && let Err(e) = export_vars(path, &exported)
    {
        report_error(&e, colors.stderr);
        code = code.max(error::exit::INVALID_INPUT);
    }
    drop(emulator);
    Ok(code)
}

/// Runs every environment's share, reporting as it goes, and closes the reports. Returns the
/// run's summary and the persistent values for `--export-vars`. An error means the single
/// environment's preflight failed: nothing was sent.
async fn run_tenants(
    context: &Context<'_>,
    tenants: Vec<Tenant>,
    selected: &[&crate::model::Request],
    reporters: &mut report::Fanout<'static>,
) -> Result<(runner::Summary, Vec<(String, String)>)> {
    use futures_util::StreamExt as _;
    let started_at = std::time::Instant::now();
    let shared = runner::passes::Shared::new(reporters);
    let mut summary = runner::Summary::default();
    let mut merged = crate::secrets::Redactor::default();
    let mut exported = Vec::new();
    // At most `--jobs` environments are open at once (loaded, locked, prechecked): a
    // thousand tenants under `ulimit -n 1024` hold a handful of locks, and memory holds
    // only what the reports need of the ones done.
    let mut outcomes = futures_util::stream::iter(tenants)
        .map(|tenant| {
            let shared = &shared;
            async move {
                let label = tenant.path.clone();
                (label, run_tenant(context, tenant, shared).await)
            }
        })
        .buffer_unordered(context.config.passes.jobs.max(1));
    while let Some((path, outcome)) = outcomes.next().await {
        match outcome {
            Ok(outcome) => {
                summary.merge(outcome.summary);
                merged.merge(&outcome.redactor);
                exported.extend(outcome.exported);
            }
            // With one environment, nothing was sent: the error is the run's.
            Err(e) if context.single => return Err(e),
            // With several, that environment sends nothing and the others go on.
            Err(e) => {
                report_error(&e, context.stderr_color);
                preflight_failed(&mut summary, path.as_deref(), selected);
            }
        }
    }
    drop(outcomes);
    summary.duration = started_at.elapsed();
    let mut reporter = shared.reporter();
    if !context.started.get() {
        reporter.start(&context.start_without_run(selected), &merged);
    }
    reporter.finish(&summary, &merged);
    Ok((summary, exported))
}

/// Counts the selected requests of an environment whose preflight failed as not run.
fn preflight_failed(
    summary: &mut runner::Summary,
    path: Option<&std::path::Path>,
    selected: &[&crate::model::Request],
) {
    summary.invalid = true;
    let shown = path.map_or_else(String::new, |p| p.display().to_string());
    for request in selected {
        summary.not_run(
            request,
            format!(
                "the preflight of `{shown}` failed (see the error above); nothing was sent for it"
            ),
            path.map(env_label),
        );
    }
}

/// The `--data` file's rows, if one is given.
fn load_rows(config: &RunConfig) -> Result<Option<Vec<runner::DataRow>>> {
    config
        .passes
        .data
        .as_deref()
        .map(runner::data::load_data)
        .transpose()
}

/// Flags that weaken the run's guarantees say so on every run.
fn warn_of_risky_flags(settings: &Settings) {
    if settings.show_secrets {
        eprintln!("warning: --show-secrets is on: secret values will be printed");
    }
    if settings.client.insecure {
        eprintln!("warning: --insecure is on: TLS certificates are not checked");
    }
}

/// Each `--env` file, or none.
fn environment_paths(config: &RunConfig) -> Vec<Option<PathBuf>> {
    if config.target.environments.is_empty() {
        return vec![None];
    }
    config
        .target
        .environments
        .iter()
        .cloned()
        .map(Some)
        .collect()
}

/// `--dry-run`: every environment loaded, checked and rendered, nothing sent.
fn dry_run(config: &RunConfig) -> Result<i32> {
    let loaded = load(&config.target)?;
    let rows = load_rows(config)?;
    let samples = rows
        .as_deref()
        .map(runner::data::samples)
        .unwrap_or_default();
    let environments: Vec<Option<&Environment>> = if loaded.environments.is_empty() {
        vec![None]
    } else {
        loaded.environments.iter().map(Some).collect()
    };
    let mut out = std::io::stdout().lock();
    for environment in environments {
        let inputs = loaded.inputs(
            environment,
            config.settings.clone(),
            Arc::clone(&loaded.lookup),
        );
        let setup = Setup {
            overrides: Vec::new(),
            state: StateChoice::Peek {
                explicit: config.target.state.clone(),
            },
            samples: samples.clone(),
        };
        let plan = Plan::new(inputs, setup)?;
        let (rendered, redactor) = plan.render_offline()?;
        for (request, outgoing) in rendered {
            if let Some(index) = plan.vars().token_source(request) {
                let _ = writeln!(out, "# oauth2 {}", plan.vars().token_plan(index));
            }
            let text = report::preview::as_http(&request.name, &outgoing, &redactor);
            let _ = writeln!(out, "{text}");
        }
    }
    Ok(error::exit::OK)
}

/// What every environment's part of the run shares.
struct Context<'c> {
    base: &'c Base,
    config: &'c RunConfig,
    settings: &'c Settings,
    samples: Vec<&'c runner::DataRow>,
    emulator_url: Option<serde_json::Value>,
    client: &'c http::Client,
    total_passes: usize,
    /// One environment (or none): its preflight error is the run's.
    single: bool,
    /// Whether reporters were told the run started: by the first environment ready to send.
    started: std::cell::Cell<bool>,
    /// At most `--jobs` passes at a time, across environments.
    permits: tokio::sync::Semaphore,
    /// Colour for errors printed while the run goes on.
    stderr_color: bool,
}

impl<'c> Context<'c> {
    /// What reporters learn when no environment got as far as sending.
    fn start_without_run(&self, selected: &[&'c crate::model::Request]) -> runner::RunStart<'c> {
        runner::RunStart {
            collection: &self.base.collection,
            environment: None,
            selected: selected.iter().map(|r| r.name.as_str()).collect(),
            passes: self.total_passes,
            started_at: std::time::SystemTime::now(),
        }
    }
}

/// One environment's share of the run, planned before anything is loaded.
struct Tenant {
    path: Option<PathBuf>,
    passes: runner::Passes,
}

/// What an environment's part of the run leaves for the end of the run.
struct Outcome {
    summary: runner::Summary,
    redactor: crate::secrets::Redactor,
    /// Its persistent values, for `--export-vars`.
    exported: Vec<(String, String)>,
}

/// Loads one environment, takes its state file's lock, prechecks it, runs its passes and lets
/// go of everything but what the reports need. An error means nothing was sent for it.
async fn run_tenant(
    context: &Context<'_>,
    tenant: Tenant,
    shared: &runner::passes::Shared<'_>,
) -> Result<Outcome> {
    let config = context.config;
    let environment = tenant
        .path
        .as_deref()
        .map(crate::model::load_environment)
        .transpose()?;
    let setup = Setup {
        overrides: context
            .emulator_url
            .iter()
            .map(|url| ("base_url", url.clone(), Origin::Emulator))
            .collect(),
        state: StateChoice::Lock {
            explicit: config.target.state.clone(),
            lock_timeout: config.lock_timeout,
            emulator: config.mock_zoom,
        },
        samples: context.samples.clone(),
    };
    let inputs = context
        .base
        .inputs(environment.as_ref(), context.settings.clone());
    let mut plan = Plan::new(inputs, setup)?;
    tell_state(&plan, config.output.verbose);
    announce(context, &plan, shared);
    Ok(run_executors(context, &mut plan, tenant.passes, shared).await)
}

/// Tells the reporters the secrets the plan knows and, if this environment is the first ready
/// to send, that the run starts.
fn announce(context: &Context<'_>, plan: &Plan<'_>, shared: &runner::passes::Shared<'_>) {
    let mut reporter = shared.handle();
    plan.announce_secrets(&mut reporter);
    if !context.started.replace(true) {
        let mut start = plan.start_info(std::time::SystemTime::now());
        if !context.single {
            start.environment = None;
        }
        start.passes = context.total_passes;
        runner::Reporter::start(&mut reporter, &start, plan.redactor());
    }
}

/// Sends `passes` of `plan`, dealt out to as many executors as may go at once, and gathers what
/// the end of the run needs of them.
async fn run_executors(
    context: &Context<'_>,
    plan: &mut Plan<'_>,
    passes: runner::Passes,
    shared: &runner::passes::Shared<'_>,
) -> Outcome {
    let executors = plan.executors(context.config.passes.jobs.min(passes.len()));
    let dealt = match executors.len() {
        1 => vec![passes],
        ways => passes.deal(ways),
    };
    let parts = executors
        .into_iter()
        .zip(dealt)
        .map(|(mut executor, passes)| async move {
            let mut summary = runner::Summary::default();
            for pass in passes.iter() {
                let Ok(_permit) = context.permits.acquire().await else {
                    break;
                };
                executor
                    .run_pass(context.client, &pass, &mut shared.handle(), &mut summary)
                    .await;
            }
            // A token that could not be saved needs someone to act: say so where CI logs
            // errors too.
            for notice in executor.state_notices() {
                eprintln!("state: {notice}");
            }
            if let Some(message) = executor.state_error() {
                eprintln!("{message}");
            }
            let exported = executor.persistent_values();
            (summary, executor.redactor().clone(), exported)
        });
    let mut outcome = Outcome {
        summary: runner::Summary::default(),
        redactor: crate::secrets::Redactor::default(),
        exported: Vec::new(),
    };
    for (summary, redactor, exported) in futures_util::future::join_all(parts).await {
        outcome.summary.merge(summary);
        outcome.redactor.merge(&redactor);
        outcome.exported.extend(exported);
    }
    outcome
}

/// Two environments of one run cannot share a state file: each holds the lock for its whole
/// run, so the second would wait on the first, which is this same process, for the whole
/// `--lock-timeout`; and their tokens would overwrite each other. Refused before any lock:
/// `--state` with several environments, or one environment file given twice.
fn refuse_shared_state(config: &RunConfig, paths: &[Option<PathBuf>]) -> Result<()> {
    let refuse = |first: &std::path::Path, second: &std::path::Path, state: &std::path::Path| {
        Err(Error::SharedState {
            first: first.to_path_buf(),
            second: second.to_path_buf(),
            state: state.to_path_buf(),
        })
    };
    let envs: Vec<&PathBuf> = paths.iter().flatten().collect();
    if let (Some(state), [first, second, ..]) = (&config.target.state, envs.as_slice()) {
        return refuse(first, second, state);
    }
    let key = |path: &std::path::Path| path.canonicalize().unwrap_or_else(|_| path.to_path_buf());
    let keys: Vec<PathBuf> = envs.iter().map(|p| key(p)).collect();
    for (i, this) in keys.iter().enumerate() {
        if let Some(j) = keys[..i].iter().position(|k| k == this) {
            return refuse(envs[j], envs[i], &state::default_state_path(envs[i]));
        }
    }
    Ok(())
}

/// A run that would send nothing: exit 2 with the reason, unless `--allow-empty`. A smoke check
/// whose tag, data file or shard went empty would otherwise stay green while checking nothing.
fn nothing_to_send(
    config: &RunConfig,
    collection: &crate::model::Collection,
    rows: Option<&[runner::DataRow]>,
) -> Result<i32> {
    let tags: std::collections::BTreeSet<&str> = collection
        .requests
        .iter()
        .flat_map(|r| r.tags.iter().map(String::as_str))
        .collect();
    let mut help = None;
    let why = if rows.is_some_and(<[_]>::is_empty) {
        "the data file has no rows".to_string()
    } else if config.passes.shard.is_some() {
        "this shard holds no pass (more shards than passes?)".to_string()
    } else {
        let selection = &config.settings.selection;
        help = selection
            .tags
            .iter()
            .filter(|t| !tags.contains(t.as_str()))
            .find_map(|t| crate::diag::did_you_mean(t, tags.iter().copied()))
            .map(|near| {
                format!(
                    "did you mean `--tag {near}`? (`--allow-empty` makes a run that sends nothing exit 0)"
                )
            });
        let mut filters = Vec::new();
        filters.extend(selection.tags.iter().map(|t| format!("--tag {t}")));
        filters.extend(
            selection
                .skip_tags
                .iter()
                .map(|t| format!("--skip-tag {t}")),
        );
        filters.extend(selection.requests.iter().map(|r| format!("--request {r}")));
        format!("no request matches `{}`", filters.join(" "))
    };
    if config.allow_empty {
        eprintln!("nothing to send: {why} (--allow-empty)");
        return Ok(error::exit::OK);
    }
    Err(Error::NothingToSend {
        why,
        suggestion: help,
    })
}

/// Each environment's passes (iterations × data rows), then `--shard`'s slice of them all,
/// numbered across environments in order. An environment wholly outside the slice is left
/// out. Nothing is loaded: every environment has the same number of passes.
fn plan_passes(
    paths: &[Option<PathBuf>],
    config: &RunConfig,
    rows: Option<&[runner::DataRow]>,
) -> Vec<Tenant> {
    let several = paths.len() > 1;
    let rows: Option<Arc<[runner::DataRow]>> = rows.map(Arc::from);
    let mut tenants: Vec<Tenant> = paths
        .iter()
        .map(|path| {
            let label = path.as_deref().filter(|_| several).map(env_label);
            Tenant {
                path: path.clone(),
                passes: runner::Passes::new(
                    config.passes.iterations,
                    rows.clone(),
                    label.map(|l| l.to_string()),
                ),
            }
        })
        .collect();
    if let Some(shard) = config.passes.shard {
        let total: usize = tenants.iter().map(|t| t.passes.total()).sum();
        let keep = shard.range(total);
        let mut offset = 0;
        for tenant in &mut tenants {
            let own = tenant.passes.total();
            let start = keep.start.saturating_sub(offset).min(own);
            let end = keep.end.saturating_sub(offset).min(own);
            tenant.passes.restrict(start..end);
            offset += own;
        }
    }
    tenants.retain(|t| !t.passes.is_empty());
    tenants
}

/// How reports name an environment's passes: its file name without the extension.
fn env_label(path: &std::path::Path) -> Arc<str> {
    path.file_stem()
        .map_or_else(String::new, |s| s.to_string_lossy().into_owned())
        .into()
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
    state::write_atomic(path, text.as_bytes()).map_err(|source| Error::Write {
        path: path.to_path_buf(),
        what: "the exported variables",
        source,
    })
}

/// A dotenv value in double quotes, with the escapes dotenv readers understand.
pub(super) fn dotenv_quote(value: &str) -> String {
    let escaped = value
        .replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
        .replace('$', "\\$");
    format!("\"{escaped}\"")
}

/// Starts the emulator seeded from the first environment's `ClientID`, `ClientSecret`, and
/// `refresh_token` or `AccountID` when it has them.
async fn start_emulator(base: &Base, first: &Tenant, settings: &Settings) -> Result<ZoomMock> {
    let environment = first
        .path
        .as_deref()
        .map(crate::model::load_environment)
        .transpose()?;
    let vars = Resolved::new(base.inputs(environment.as_ref(), settings.clone()))?;
    let scope = vars.scope();
    let value = |name: &'static str| scope.text(name).ok_or(Error::MissingSeed { name });
    let [client_id, client_secret] = SEED_VARIABLES.map(value);
    let seed = Seed {
        client_id: client_id?,
        client_secret: client_secret?,
        // A Server-to-Server environment has none: the emulator's own is never sent.
        refresh_token: scope
            .text("refresh_token")
            .unwrap_or_else(|| Seed::random().refresh_token),
        account_id: scope.text("AccountID"),
        token_lifetime: None,
        scope: None,
    };
    let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, 0));
    ZoomMock::start(seed, addr)
        .await
        .map_err(|source| Error::Listen {
            addr,
            what: "the Zoom emulator",
            source,
        })
}

/// Says what the state file holds that the user should hear of, and, with `--verbose` or when
/// a value restarts the chain, which value of each persistent variable won.
fn tell_state(plan: &Plan<'_>, verbose: bool) {
    let report = plan.state_report();
    for warning in &report.warnings {
        eprintln!("warning: {warning}");
    }
    let Some(path) = &report.path else {
        return;
    };
    for line in &report.explained {
        if verbose || line.contains("restart") {
            eprintln!("state {}: {line}", path.display());
        }
    }
}
