//! Commands around runs: `import`, `schema --out`, `mock zoom`.

use std::net::{Ipv4Addr, SocketAddr};

use crate::mock::zoom::{Seed, ZoomMock};
use std::io::Write;

use crate::cli::MockZoomConfig;
use crate::error::{self, Error, Result};
use crate::schema;
use crate::{import, mock};

/// `courier import`: writes the collection, then says what it made and, line by line,
/// what it could not convert.
/// `courier report merge`: reads the reports (expanding globs the shell left quoted), writes the
/// merged ones, prints the merged counts, exits with the worst exit code of the parts.
pub(crate) fn merge_reports(
    reports: &[String],
    outputs: &crate::report::merge::MergeOutputs,
) -> Result<i32> {
    let mut paths = Vec::new();
    for written in reports {
        let literal = std::path::Path::new(written);
        let pattern = ['*', '?', '['].iter().any(|c| written.contains(*c));
        if literal.exists() || !pattern {
            paths.push(literal.to_path_buf());
            continue;
        }
        let matched: Vec<_> = glob::glob(written)
            .map_err(|e| {
                crate::diag::Diagnostic::new(format!("invalid pattern `{written}`: {e}"))
                    .help("quote a glob such as 'shard-*.json', or name the files")
            })?
            .filter_map(std::result::Result::ok)
            .collect();
        if matched.is_empty() {
            return Err(
                crate::diag::Diagnostic::new(format!("no report matches `{written}`"))
                    .help("name the files `courier run --report-json FILE` wrote")
                    .into(),
            );
        }
        paths.extend(matched);
    }
    let merged = crate::report::merge::merge(&paths, outputs)?;
    let summary = &merged.summary;
    let mut out = std::io::stdout().lock();
    let _ = writeln!(
        out,
        "merged {} reports: {} requests: {} passed, {} failed, {} not run · {} checks: {} passed, {} failed · exit {}",
        merged.parts,
        summary.requests,
        summary.requests - summary.requests_failed,
        summary.requests_failed,
        summary.not_run.len(),
        summary.checks_passed + summary.checks_failed,
        summary.checks_passed,
        summary.checks_failed,
        merged.exit_code,
    );
    for (what, path) in [
        ("JUnit", &outputs.junit),
        ("JSON", &outputs.json),
        ("HTML", &outputs.html),
    ] {
        if let Some(path) = path {
            let _ = writeln!(out, "{what} report {}", path.display());
        }
    }
    Ok(merged.exit_code)
}

pub(crate) fn import_collection(options: &import::ImportOptions) -> Result<i32> {
    let report = import::import(options)?;
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
    if report.needs.is_empty() {
        let _ = writeln!(
            out,
            "\ncheck it with: courier check {}",
            options.out.display()
        );
    } else {
        let _ = writeln!(
            out,
            "\nvariables to define (with --var or an environment file): {}",
            report.needs.join(", ")
        );
        let vars: Vec<String> = report
            .needs
            .iter()
            .map(|n| format!(" --var {n}=…"))
            .collect();
        let _ = writeln!(
            out,
            "check it with: courier check {}{}",
            options.out.display(),
            vars.concat()
        );
    }
    Ok(error::exit::OK)
}

/// Text made by the command line (a completion script, the manual page), printed as is.
pub(crate) fn print_text(bytes: &[u8]) -> Result<i32> {
    // A closed pipe (`courier man | head`) is not an error worth reporting.
    let _ = std::io::stdout().lock().write_all(bytes);
    Ok(error::exit::OK)
}

/// `courier schema KIND`: one file kind's JSON Schema.
pub(crate) fn print_schema(kind: schema::FileKind) -> Result<i32> {
    print_text(schema::to_file_text(&schema::schema(kind)).as_bytes())
}

/// `courier schema --out DIR`: the three JSON Schemas, as committed under `schema/`.
pub(crate) fn write_schemas(dir: &std::path::Path) -> Result<i32> {
    let io = |path: &std::path::Path| {
        let path = path.to_path_buf();
        move |source| Error::Write {
            path,
            what: "the schema",
            source,
        }
    };
    std::fs::create_dir_all(dir).map_err(io(dir))?;
    for (_, name, schema) in schema::all() {
        let path = dir.join(name);
        std::fs::write(&path, schema::to_file_text(&schema)).map_err(io(&path))?;
        println!("wrote {}", dir.join(name).display());
    }
    Ok(error::exit::OK)
}

pub(crate) async fn serve_zoom(config: MockZoomConfig) -> Result<i32> {
    let random = Seed::random();
    let seed = Seed {
        client_id: config.client_id.unwrap_or(random.client_id),
        client_secret: config.client_secret.unwrap_or(random.client_secret),
        refresh_token: config.refresh_token.unwrap_or(random.refresh_token),
        account_id: config.account_id,
        token_lifetime: config.token_lifetime,
        scope: config.scope,
    };
    let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, config.port));
    let emulator = ZoomMock::start(seed.clone(), addr)
        .await
        .map_err(|source| Error::Listen {
            addr,
            what: "the Zoom emulator",
            source,
        })?;
    println!("{}", mock::zoom::banner(&seed, &emulator.base_url()));
    let _ = std::io::stdout().flush();
    tokio::signal::ctrl_c()
        .await
        .map_err(|source| Error::System {
            what: "wait for Ctrl-C",
            source,
        })?;
    emulator.shutdown();
    Ok(error::exit::OK)
}
