//! `courier run`: environments, passes, state files, the emulator, reporters, and the run.

use std::net::{Ipv4Addr, SocketAddr};

use crate::mock::zoom::{Seed, ZoomMock};
use crate::report_error;
use std::io::Write;
use std::sync::Arc;

use super::{attach_existing_state, load, state_path};
use crate::cli::{Colors, RunConfig};
use crate::error::{self, Error, Result};
use crate::model::Environment;
use crate::runner::{self, Origin, RetryPolicy, Run, Selection, Settings};
use crate::{http, report, state};

/// Names the embedded emulator is seeded from.
const SEED_VARIABLES: [&str; 3] = ["ClientID", "ClientSecret", "refresh_token"];

pub(crate) async fn run_collection(config: RunConfig, colors: Colors) -> Result<i32> {
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
            &loaded.allow_env,
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
    let mut paths = Vec::with_capacity(planned.len());
    for ((run, _), environment) in planned.iter().zip(&environments) {
        let env_path = environment.map(|e| e.file.path.as_path());
        paths.push(state_path(
            run,
            config.target.state.as_deref(),
            env_path,
            config.mock_zoom,
        )?);
    }
    refuse_shared_state(&paths, &environments)?;
    for ((run, _), path) in planned.iter_mut().zip(paths) {
        if let Some(path) = path {
            let state = state::StateFile::open(&path, config.lock_timeout)?;
            for warning in state.warnings() {
                eprintln!("warning: {warning}");
            }
            for line in run.attach_state(state) {
                if config.verbose || line.contains("restart") {
                    eprintln!("state {}: {line}", path.display());
                }
            }
        }
    }
    planned.retain(|(_, passes)| !passes.is_empty());
    if planned.iter().all(|(run, _)| run.selected_count() == 0) {
        return nothing_to_send(&config, &loaded.collection, rows.as_deref());
    }
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
    let client = http::Client::new(&settings.client)?;
    let summary = runner::passes::run_all(&mut planned, &client, config.jobs, &mut reporters).await;
    let mut code = summary.exit_code();
    // A token that could not be saved needs someone to act: say so where CI logs errors too.
    for (run, _) in &planned {
        for notice in run.state_notices() {
            eprintln!("state: {notice}");
        }
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

/// Two environments of one run cannot share a state file: each holds the lock for its whole
/// run, so the second would wait on the first, which is this same process, for the whole
/// `--lock-timeout`; and their tokens would overwrite each other. Refused before any lock.
fn refuse_shared_state(
    paths: &[Option<std::path::PathBuf>],
    environments: &[Option<&Environment>],
) -> Result<()> {
    let key = |path: &std::path::Path| {
        let path = state::resolve_links(path);
        let folder = path
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .and_then(|p| p.canonicalize().ok());
        match (folder, path.file_name()) {
            (Some(folder), Some(name)) => folder.join(name),
            _ => path,
        }
    };
    let keys: Vec<Option<std::path::PathBuf>> =
        paths.iter().map(|p| p.as_deref().map(key)).collect();
    for (i, this) in keys.iter().enumerate() {
        let Some(this) = this else { continue };
        if let Some(j) = keys[..i].iter().position(|k| k.as_ref() == Some(this)) {
            let name = |k: usize| {
                environments[k].map_or_else(
                    || "the run".to_string(),
                    |e| format!("`{}`", e.file.path.display()),
                )
            };
            return Err(Error::Usage {
                message: format!(
                    "{} and {} would share the state file `{}`",
                    name(j),
                    name(i),
                    paths[i].as_deref().unwrap_or(this).display()
                ),
                help: Some(
                    "each environment keeps its own rotated tokens: drop `--state` to keep each beside its environment file, or run them one at a time; nothing was sent".into(),
                ),
            });
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
    } else if config.shard.is_some() {
        "this shard holds no pass (more shards than passes?)".to_string()
    } else {
        help = config
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
        filters.extend(config.tags.iter().map(|t| format!("--tag {t}")));
        filters.extend(config.skip_tags.iter().map(|t| format!("--skip-tag {t}")));
        filters.extend(config.requests.iter().map(|r| format!("--request {r}")));
        format!("no request matches `{}`", filters.join(" "))
    };
    if config.allow_empty {
        eprintln!("nothing to send: {why} (--allow-empty)");
        return Ok(error::exit::OK);
    }
    Err(Error::Usage {
        message: format!("nothing to send: {why}"),
        help: Some(help.unwrap_or_else(|| {
            "a run that checks nothing is not a pass; fix the selection, or pass `--allow-empty` where an empty run is expected".into()
        })),
    })
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
