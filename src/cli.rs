//! The command line: the only module that knows clap. Flags are parsed here and resolved into
//! plain configuration types, so the rest of courier never sees a clap type.

use std::io::IsTerminal;
use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, CommandFactory, Parser, Subcommand, ValueEnum};

use crate::http::ClientOptions;
use crate::report::{Github, Output};
use crate::runner::passes::Shard;
use crate::runner::{RetryPolicy, Selection, Settings, SnapshotMode};
use crate::schema::FileKind;

const EXIT_CODES: &str = "\
Exit codes:
  0  every request was sent and every assertion passed
  1  an assertion failed (or a capture found nothing)
  2  invalid input: usage, YAML, template, JSONPath, regex, undefined variable
  3  transport failure: cannot connect, TLS, timeout
  4  credentials rejected: 401, or an OAuth error such as invalid_grant or invalid_client
  5  a new value of a persistent variable could not be saved (it was rescued to a side file)";

const TOKEN_EXIT_CODES: &str = "\
Exit codes (stdout is empty unless 0):
  0  the token is printed
  1  no kept token is fresh enough, and --no-refresh forbids fetching one; or the token
     endpoint's answer failed a check
  2  invalid input: usage, YAML, template, undefined variable, no token request
  3  transport failure: cannot connect, TLS, timeout
  4  credentials rejected: invalid_grant, invalid_client (authorize the app again)
  5  the rotated refresh token could not be saved (it was rescued to a side file)";

#[derive(Parser, Debug)]
#[command(name = "courier", version, about = "Run API request collections written in YAML", after_help = EXIT_CODES)]
struct Cli {
    /// When to colour the output: `auto` colours a terminal unless NO_COLOR is set
    #[arg(long, value_enum, default_value_t = ColorArg::Auto, global = true)]
    color: ColorArg,
    #[command(subcommand)]
    command: CommandArgs,
}

#[derive(Subcommand, Debug)]
enum CommandArgs {
    /// Send the requests of a collection in order and check their assertions
    #[command(after_help = EXIT_CODES)]
    Run(Box<RunArgs>),
    /// Load and validate a collection and environment without sending anything (exit 0 or 2)
    Check(TargetArgs),
    /// List each variable, its value (secrets masked) and where it came from
    Vars(VarsArgs),
    /// Print an equivalent curl command for requests of a collection (secrets masked)
    Curl(CurlArgs),
    /// Print a valid access token: the kept one while it is fresh, else a new one
    #[command(after_help = TOKEN_EXIT_CODES)]
    Token(TokenArgs),
    /// Print a shell completion script: `courier completions bash > /etc/bash_completion.d/courier`
    Completions {
        /// bash, zsh, fish, powershell or elvish
        shell: clap_complete::Shell,
    },
    /// Print the manual page (roff): `courier man > courier.1`
    Man,
    /// Print the JSON Schema (draft-07) of a file kind, for editor completion and validation,
    /// or write all three into a folder
    Schema {
        /// collection, request or environment
        #[arg(value_enum, required_unless_present = "out")]
        kind: Option<SchemaKind>,
        /// Write `collection.schema.json`, `request.schema.json` and `environment.schema.json` here
        #[arg(long, value_name = "DIR", conflicts_with = "kind")]
        out: Option<PathBuf>,
    },
    /// Serve a local emulator of a real API
    #[command(subcommand)]
    Mock(MockArgs),
    /// Convert another tool's collection into a courier collection
    #[command(subcommand)]
    Import(ImportArgs),
    /// Work with the reports of earlier runs
    #[command(subcommand)]
    Report(ReportArgs),
}

impl From<ImportArgs> for crate::import::ImportOptions {
    fn from(args: ImportArgs) -> Self {
        match args {
            ImportArgs::Postman {
                collection,
                environments,
                globals,
                out,
            } => crate::import::ImportOptions {
                format: crate::import::Format::Postman,
                collection,
                environments,
                globals,
                out,
                tags: Vec::new(),
                operations: Vec::new(),
            },
            ImportArgs::Openapi {
                description,
                out,
                tags,
                operations,
            } => crate::import::ImportOptions {
                format: crate::import::Format::OpenApi,
                collection: description,
                environments: Vec::new(),
                globals: Vec::new(),
                out,
                tags,
                operations,
            },
        }
    }
}

#[derive(Subcommand, Debug)]
enum ReportArgs {
    /// Merge the JSON reports of several runs (the shards of a CI matrix, or one run per
    /// environment) into one summary, one JUnit file, one JSON report and one HTML page; exits
    /// with the worst exit code of the parts
    #[command(after_help = EXIT_CODES)]
    Merge {
        /// The JSON reports (`courier run --report-json FILE`); a quoted glob such as
        /// `'shard-*.json'` is expanded
        #[arg(required = true, value_name = "REPORT.json")]
        reports: Vec<String>,
        /// Write the merged JUnit XML report here
        #[arg(long, value_name = "FILE")]
        report_junit: Option<PathBuf>,
        /// Write the merged JSON report here
        #[arg(long, value_name = "FILE")]
        report_json: Option<PathBuf>,
        /// Write the merged HTML report here (without the wire: JSON reports do not keep it)
        #[arg(long, value_name = "FILE")]
        report_html: Option<PathBuf>,
    },
}

/// What to load: the collection and everything that fills its variables.
#[derive(Args, Debug)]
struct TargetArgs {
    /// The collection: a folder holding `collection.yaml`, or the path of that file
    collection: PathBuf,
    /// Environment file whose `variables:` fill the templates; `courier run` takes several
    /// (repeat it, or quote a glob such as `'environments/*.yaml'`) and runs once per file
    #[arg(short, long = "env", value_name = "FILE")]
    envs: Vec<String>,
    /// Set a variable, above the environment file in precedence (repeatable)
    #[arg(long = "var", value_name = "NAME=VALUE", value_parser = parse_var)]
    vars: Vec<(String, String)>,
    /// Read variables from a YAML mapping or a `.env` file, at the precedence of `--var`
    /// (repeatable; `--var` wins over it)
    #[arg(long = "var-file", value_name = "FILE")]
    var_files: Vec<PathBuf>,
    /// A dotenv file that `env("NAME")` reads after the OS environment; it does not change
    /// the process environment (repeatable)
    #[arg(long = "env-file", value_name = "FILE")]
    env_files: Vec<PathBuf>,
    /// The state file of persistent variables (`persist:`), instead of the one beside the
    /// environment file (`<env>.state.yaml`)
    #[arg(long, value_name = "PATH")]
    state: Option<PathBuf>,
    /// Let `env("NAME")` in the collection and request files read this OS variable
    /// (repeatable; `PREFIX*` grants a prefix). Environment files read any; collection files
    /// read only `COURIER_*` and what is granted here or under `allow_env:` in the environment
    #[arg(long = "allow-env", value_name = "NAME")]
    allow_env: Vec<String>,
}

#[derive(Args, Debug)]
struct VarsArgs {
    #[command(flatten)]
    target: TargetArgs,
    /// Print secret values instead of masking them
    #[arg(long)]
    show_secrets: bool,
}

#[derive(Args, Debug)]
struct TokenArgs {
    #[command(flatten)]
    target: TargetArgs,
    /// The request whose token to print: one with `auth: oauth2`, or one that asks for a token
    /// itself (`grant_type` in its form). Default: the collection's `oauth2` auth, else its
    /// first request with `grant_type` in its form
    #[arg(long = "request", value_name = "NAME")]
    request: Option<String>,
    /// What stdout carries: the bare token, an `Authorization` header line, JSON, or a dotenv
    /// line (`ACCESS_TOKEN=…`)
    #[arg(long, value_enum, default_value = "bare")]
    format: TokenFormatArg,
    /// The token must stay valid at least this long, or a new one is fetched (default: the
    /// auth's `margin`, 5m)
    #[arg(long, value_name = "DURATION", value_parser = parse_duration)]
    min_ttl: Option<Duration>,
    /// Fetch a new token even when the kept one is fresh
    #[arg(long, conflicts_with = "no_refresh")]
    force_refresh: bool,
    /// Never fetch: print the kept token if it is fresh, else fail (exit 1)
    #[arg(long)]
    no_refresh: bool,
    /// How long to wait for another courier holding the state file's lock
    #[arg(long, value_name = "DURATION", default_value = "30s", value_parser = parse_duration)]
    lock_timeout: Duration,
    /// Time allowed for the token request
    #[arg(long, value_name = "DURATION", default_value = "30s", value_parser = parse_duration)]
    timeout: Duration,
}

#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
enum TokenFormatArg {
    Bare,
    Header,
    Json,
    Env,
}

#[derive(Args, Debug)]
struct CurlArgs {
    #[command(flatten)]
    target: TargetArgs,
    /// The request to print (repeatable; all requests when not given)
    #[arg(long = "request", value_name = "NAME")]
    requests: Vec<String>,
    /// Print secret values instead of masking them (the command then runs as is)
    #[arg(long)]
    show_secrets: bool,
}

#[derive(Args, Debug)]
struct RunArgs {
    #[command(flatten)]
    target: TargetArgs,
    /// Time allowed for each request, redirects included (`30`, `30s`, `500ms`)
    #[arg(long, value_name = "DURATION", default_value = "30s", value_parser = parse_duration)]
    timeout: Duration,
    /// Time allowed to open a connection
    #[arg(long, value_name = "DURATION", value_parser = parse_duration)]
    connect_timeout: Option<Duration>,
    /// Redirects followed at most per request (0: never follow)
    #[arg(long, value_name = "N", default_value_t = 10)]
    max_redirects: u32,
    /// Run only requests with this tag (repeatable: any of them)
    #[arg(long = "tag", value_name = "TAG")]
    tags: Vec<String>,
    /// Leave out requests with this tag (repeatable)
    #[arg(long = "skip-tag", value_name = "TAG")]
    skip_tags: Vec<String>,
    /// Run only the request with this name (repeatable)
    #[arg(long = "request", value_name = "NAME")]
    requests: Vec<String>,
    /// Stop at the first request that fails (requests marked `always: true` still run)
    #[arg(long)]
    bail: bool,
    /// Keep no cookies: by default each pass sends back the cookies answers set, to their site
    #[arg(long)]
    no_cookies: bool,
    /// Retry a failed request up to N times when it is safe (see the README: a request that
    /// carries a rotating token is never sent twice blindly)
    #[arg(long, value_name = "N", default_value_t = 0)]
    retry: u32,
    /// The longest wait between retries, whatever `Retry-After` asks
    #[arg(long, value_name = "DURATION", default_value = "60s", value_parser = parse_duration)]
    retry_max_wait: Duration,
    /// Accept invalid TLS certificates (prints a warning; never against real credentials)
    #[arg(long)]
    insecure: bool,
    /// Trust the CA certificates in this PEM file, besides the system's
    #[arg(long, value_name = "PEM")]
    cacert: Option<PathBuf>,
    /// Send every request through this proxy (otherwise HTTPS_PROXY, HTTP_PROXY and NO_PROXY apply)
    #[arg(long, value_name = "URL")]
    proxy: Option<String>,
    /// How long to wait for another run holding the state file's lock
    #[arg(long, value_name = "DURATION", default_value = "30s", value_parser = parse_duration)]
    lock_timeout: Duration,
    /// After the run, write the persistent variables to this file for a later CI step
    /// (JSON if it ends in `.json`, dotenv otherwise; owner-only permissions)
    #[arg(long, value_name = "FILE")]
    export_vars: Option<PathBuf>,
    /// Write a JUnit XML report (GitLab, Jenkins, GitHub test reporters)
    #[arg(long, value_name = "FILE")]
    report_junit: Option<PathBuf>,
    /// Write a JSON report of the whole run (schema in the README)
    #[arg(long, value_name = "FILE")]
    report_json: Option<PathBuf>,
    /// Write a self-contained HTML report (works offline; no secrets)
    #[arg(long, value_name = "FILE")]
    report_html: Option<PathBuf>,
    /// Show each request and response, headers and bodies (secrets masked)
    #[arg(short, long)]
    verbose: bool,
    /// Render every selected request and print it as HTTP without sending anything (secrets
    /// masked; values earlier requests would capture show as `<name>`)
    #[arg(long)]
    dry_run: bool,
    /// Run the collection N times (each pass keeps its captures to itself)
    #[arg(short = 'n', long, value_name = "N", default_value_t = 1, value_parser = clap::value_parser!(u64).range(1..))]
    iterations: u64,
    /// Run once per row of this CSV (header row) or JSON (array of objects) file; a row's values
    /// are variables between the environment and `--var`
    #[arg(long, value_name = "FILE")]
    data: Option<PathBuf>,
    /// Passes (iterations, rows, environments) run at the same time; requests inside a pass
    /// stay in order, and an environment with persistent variables runs its passes one by one
    #[arg(short, long, value_name = "N", default_value_t = 1, value_parser = clap::value_parser!(u64).range(1..))]
    jobs: u64,
    /// Run only the K-th of N equal slices of the passes (CI matrices): `--shard 2/4`
    #[arg(long, value_name = "K/N", value_parser = Shard::parse)]
    shard: Option<Shard>,
    /// The largest response body kept (`8MiB`, `512KiB`, bytes); a larger body fails its request
    #[arg(long, value_name = "SIZE", default_value = "8MiB", value_parser = parse_size)]
    max_body: usize,
    /// Print only failures and the closing summary
    #[arg(short, long)]
    quiet: bool,
    /// Start the embedded Zoom OAuth emulator on loopback, seeded with the environment's
    /// `ClientID`, `ClientSecret` and `refresh_token` (or `AccountID`), and point `base_url` at it
    #[arg(long)]
    mock_zoom: bool,
    /// Exit 0 when the selection, the data file or the shard leaves nothing to send (by
    /// default such a run exits 2: a credential check that checked nothing is not green)
    #[arg(long)]
    allow_empty: bool,
    /// Print secret values instead of masking them (for debugging; never in CI)
    #[arg(long)]
    show_secrets: bool,
    /// Write each `snapshot:` file that is missing or differs from the answer, instead of
    /// failing (refused under `CI=true`, where a snapshot must be compared, not rewritten)
    #[arg(long, conflicts_with = "show_secrets")]
    update_snapshots: bool,
    /// `--update-snapshots`, even under `CI=true`
    #[arg(long, conflicts_with = "show_secrets")]
    force_update_snapshots: bool,
}

#[derive(Subcommand, Debug)]
enum ImportArgs {
    /// A Postman collection export (format v2.0 or v2.1) and its environments
    Postman {
        /// The exported collection (`*.postman_collection.json`)
        collection: PathBuf,
        /// An exported environment (repeatable); each becomes `environments/<name>.yaml`
        #[arg(long = "environment", value_name = "ENV.json")]
        environments: Vec<PathBuf>,
        /// Exported Postman globals (repeatable): their variables join the collection's, which win
        #[arg(long = "globals", value_name = "GLOBALS.json")]
        globals: Vec<PathBuf>,
        /// The folder to write the courier collection into (must not hold one already)
        #[arg(long, value_name = "DIR")]
        out: PathBuf,
    },
    /// An OpenAPI 3.0 or 3.1 description (JSON or YAML): one request per operation, in a
    /// folder per tag, each checking its documented status and response schema
    Openapi {
        /// The description (`openapi.yaml`, `openapi.json`)
        description: PathBuf,
        /// The folder to write the courier collection into (must not hold one already)
        #[arg(long, value_name = "DIR")]
        out: PathBuf,
        /// Only the operations with this tag (repeatable: any of them)
        #[arg(long = "tag", value_name = "TAG")]
        tags: Vec<String>,
        /// Only the operation with this `operationId` (repeatable)
        #[arg(long = "operation", value_name = "ID")]
        operations: Vec<String>,
    },
}

#[derive(Subcommand, Debug)]
enum MockArgs {
    /// Zoom's OAuth token and revoke endpoints, with single-use rotating refresh tokens
    Zoom(MockZoomArgs),
}

#[derive(Args, Debug)]
struct MockZoomArgs {
    /// Port to listen on (0 picks a free one)
    #[arg(long, default_value_t = 8808)]
    port: u16,
    /// Client id the emulator accepts (random if not given)
    #[arg(long, value_name = "ID")]
    client_id: Option<String>,
    /// Client secret the emulator accepts (random if not given)
    #[arg(long, value_name = "SECRET")]
    client_secret: Option<String>,
    /// The first live refresh token (random if not given)
    #[arg(long, value_name = "TOKEN")]
    refresh_token: Option<String>,
    /// Account id accepted by the `account_credentials` grant (any if not given)
    #[arg(long, value_name = "ID")]
    account_id: Option<String>,
    /// How long an access token works (`expires_in`); Zoom's 3599 s if not given. A short one
    /// (`5s`) shows what a client does with an expired token
    #[arg(long, value_name = "DURATION", value_parser = parse_duration)]
    token_lifetime: Option<Duration>,
    /// What the refresh token's grant is granted, space-separated (`user:read` if not given);
    /// one without `user:read` shows scope drift
    #[arg(long, value_name = "SCOPES")]
    scope: Option<String>,
}

#[derive(ValueEnum, Clone, Copy, Debug)]
enum SchemaKind {
    Collection,
    Request,
    Environment,
}

#[derive(ValueEnum, Clone, Copy, Debug)]
enum ColorArg {
    Auto,
    Always,
    Never,
}

/// What to do, resolved from the command line.
#[derive(Debug)]
pub enum Command {
    Run(Box<RunConfig>),
    Check(Target),
    Vars {
        target: Target,
        show_secrets: bool,
    },
    Curl {
        target: Target,
        requests: Vec<String>,
        show_secrets: bool,
    },
    Token(Box<TokenConfig>),
    MockZoom(MockZoomConfig),
    Completions(Shell),
    Man,
    /// Print the JSON Schema of one file kind.
    Schema(FileKind),
    /// Write the JSON Schemas into this folder.
    WriteSchemas(PathBuf),
    Import(crate::import::ImportOptions),
    /// `courier report merge`: the reports as written (globs not yet expanded), and the outputs.
    MergeReports {
        reports: Vec<String>,
        outputs: crate::report::merge::MergeOutputs,
    },
}

/// The collection and everything that fills its variables.
#[derive(Debug, Clone)]
pub struct Target {
    pub collection: PathBuf,
    /// In the order given, globs expanded.
    pub environments: Vec<PathBuf>,
    pub vars: Vec<(String, String)>,
    pub var_files: Vec<PathBuf>,
    pub env_files: Vec<PathBuf>,
    pub state: Option<PathBuf>,
    /// `--allow-env`: OS variables the collection's `env(...)` may read.
    pub allow_env: Vec<String>,
}

/// `courier token`, resolved.
#[derive(Debug)]
pub struct TokenConfig {
    pub target: Target,
    pub request: Option<String>,
    pub format: TokenFormat,
    pub min_ttl: Option<Duration>,
    pub refresh: Refresh,
    pub lock_timeout: Duration,
    pub timeout: Duration,
    /// Under GitHub Actions: mask the token in the log before printing it.
    pub github: bool,
}

/// What `courier token` prints.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenFormat {
    Bare,
    Header,
    Json,
    Env,
}

/// When `courier token` fetches a new token.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refresh {
    /// When the kept one is missing or too close to expiry.
    WhenDue,
    /// Always (`--force-refresh`).
    Always,
    /// Never (`--no-refresh`).
    Never,
}

/// `courier run`, resolved: each part is ready for the stage that uses it.
#[derive(Debug)]
pub struct RunConfig {
    pub target: Target,
    /// How requests are chosen, sent and checked.
    pub settings: Settings,
    /// What is printed and written.
    pub output: Output,
    /// How many times the requests run, and how many at once.
    pub passes: PassOptions,
    /// How long to wait for another run holding the state file's lock.
    pub lock_timeout: Duration,
    /// Where the persistent values go after the run, for a later CI step.
    pub export_vars: Option<PathBuf>,
    pub dry_run: bool,
    pub mock_zoom: bool,
    pub allow_empty: bool,
    /// `--update-snapshots` under `CI=true` without `--force-update-snapshots`: refused.
    pub snapshot_update_in_ci: bool,
}

/// Iterations, data rows, `--jobs` and `--shard`.
#[derive(Debug)]
pub struct PassOptions {
    pub iterations: usize,
    pub data: Option<PathBuf>,
    pub jobs: usize,
    pub shard: Option<Shard>,
}

#[derive(Debug)]
pub struct MockZoomConfig {
    pub port: u16,
    pub client_id: Option<String>,
    pub client_secret: Option<String>,
    pub refresh_token: Option<String>,
    pub account_id: Option<String>,
    pub token_lifetime: Option<Duration>,
    pub scope: Option<String>,
}

/// A shell `courier completions` writes a script for.
#[derive(Debug, Clone, Copy)]
pub struct Shell(clap_complete::Shell);

/// Colour decisions for standard output and standard error.
#[derive(Debug, Clone, Copy)]
pub struct Colors {
    pub stdout: bool,
    pub stderr: bool,
}

#[derive(Debug)]
pub struct Config {
    pub command: Command,
    pub colors: Colors,
}

/// `--help`, `--version` or a usage error: the text to print and the exit code (0 or 2).
#[derive(Debug)]
pub struct EarlyExit(clap::Error);

impl EarlyExit {
    /// Prints the help, version or error where clap would (stdout or stderr).
    pub fn print(&self) {
        let _ = self.0.print();
    }

    pub fn code(&self) -> i32 {
        self.0.exit_code()
    }
}

/// The completion script for `shell`.
pub fn completions(shell: Shell) -> Vec<u8> {
    let mut script = Vec::new();
    clap_complete::generate(shell.0, &mut Cli::command(), "courier", &mut script);
    script
}

/// The manual page, in roff.
pub fn man_page() -> std::io::Result<Vec<u8>> {
    let mut page = Vec::new();
    clap_mangen::Man::new(Cli::command()).render(&mut page)?;
    Ok(page)
}

/// Parses the arguments and resolves them; on `--help`, `--version` or a usage error returns
/// what to print and the exit code.
pub fn parse<I, T>(args: I) -> Result<Config, EarlyExit>
where
    I: IntoIterator<Item = T>,
    T: Into<std::ffi::OsString> + Clone,
{
    let cli = Cli::try_parse_from(args)
        .map_err(without_var_value)
        .map_err(EarlyExit)?;
    let colors = Colors {
        stdout: wants_color(cli.color, std::io::stdout().is_terminal()),
        stderr: wants_color(cli.color, std::io::stderr().is_terminal()),
    };
    let command = match cli.command {
        CommandArgs::Run(run) => Command::Run(Box::new(run.resolve(colors))),
        CommandArgs::Check(target) => Command::Check(target.into()),
        CommandArgs::Vars(vars) => Command::Vars {
            target: vars.target.into(),
            show_secrets: vars.show_secrets,
        },
        CommandArgs::Curl(curl) => Command::Curl {
            target: curl.target.into(),
            requests: curl.requests,
            show_secrets: curl.show_secrets,
        },
        CommandArgs::Token(token) => Command::Token(Box::new(token.resolve())),
        CommandArgs::Completions { shell } => Command::Completions(Shell(shell)),
        CommandArgs::Import(import) => Command::Import(import.into()),
        CommandArgs::Report(ReportArgs::Merge {
            reports,
            report_junit,
            report_json,
            report_html,
        }) => Command::MergeReports {
            reports,
            outputs: crate::report::merge::MergeOutputs {
                junit: report_junit,
                json: report_json,
                html: report_html,
            },
        },
        CommandArgs::Schema { kind, out } => match (kind, out) {
            (_, Some(dir)) => Command::WriteSchemas(dir),
            (Some(kind), None) => Command::Schema(match kind {
                SchemaKind::Collection => FileKind::Collection,
                SchemaKind::Request => FileKind::Request,
                SchemaKind::Environment => FileKind::Environment,
            }),
            (None, None) => {
                return Err(EarlyExit(clap::Error::raw(
                    clap::error::ErrorKind::MissingRequiredArgument,
                    "name a file kind (collection, request, environment) or pass --out DIR\n",
                )));
            }
        },
        CommandArgs::Man => Command::Man,
        CommandArgs::Mock(MockArgs::Zoom(zoom)) => Command::MockZoom(MockZoomConfig {
            port: zoom.port,
            client_id: zoom.client_id,
            client_secret: zoom.client_secret,
            refresh_token: zoom.refresh_token,
            account_id: zoom.account_id,
            token_lifetime: zoom.token_lifetime,
            scope: zoom.scope,
        }),
    };
    Ok(Config { command, colors })
}

impl TokenArgs {
    /// The flags of `courier token`, as the command reads them.
    fn resolve(self) -> TokenConfig {
        TokenConfig {
            target: self.target.into(),
            request: self.request,
            format: match self.format {
                TokenFormatArg::Bare => TokenFormat::Bare,
                TokenFormatArg::Header => TokenFormat::Header,
                TokenFormatArg::Json => TokenFormat::Json,
                TokenFormatArg::Env => TokenFormat::Env,
            },
            min_ttl: self.min_ttl,
            refresh: match (self.force_refresh, self.no_refresh) {
                (true, _) => Refresh::Always,
                (_, true) => Refresh::Never,
                _ => Refresh::WhenDue,
            },
            lock_timeout: self.lock_timeout,
            timeout: self.timeout,
            github: std::env::var("GITHUB_ACTIONS").is_ok_and(|v| v == "true"),
        }
    }
}

/// True when `CI` says the run is in CI, as insta reads it: set, and not `false` or `0`.
fn is_ci(value: Option<&str>) -> bool {
    value.is_some_and(|v| !matches!(v.trim(), "" | "0" | "false" | "FALSE" | "False"))
}

impl RunArgs {
    /// The one step from flags to the settings each stage of the run reads. Nothing after it
    /// looks at a flag, a terminal or `GITHUB_ACTIONS`.
    fn resolve(self, colors: Colors) -> RunConfig {
        let output = Output {
            color: colors.stdout,
            stdout_is_terminal: std::io::stdout().is_terminal(),
            stderr_is_terminal: std::io::stderr().is_terminal(),
            verbose: self.verbose,
            quiet: self.quiet,
            github: std::env::var("GITHUB_ACTIONS")
                .is_ok_and(|v| v == "true")
                .then(|| Github {
                    step_summary: std::env::var_os("GITHUB_STEP_SUMMARY").map(PathBuf::from),
                }),
            junit: self.report_junit,
            json: self.report_json,
            html: self.report_html,
        };
        let settings = Settings {
            timeout: self.timeout,
            max_redirects: self.max_redirects,
            bail: self.bail,
            cookies: !self.no_cookies,
            show_secrets: self.show_secrets,
            retry: RetryPolicy {
                retries: self.retry,
                max_wait: self.retry_max_wait,
            },
            client: ClientOptions {
                connect_timeout: self.connect_timeout,
                insecure: self.insecure,
                extra_roots: self.cacert,
                proxy: self.proxy,
                max_body: Some(self.max_body),
            },
            selection: Selection {
                tags: self.tags,
                skip_tags: self.skip_tags,
                requests: self.requests,
            },
            check_texts: output.shows_passed_checks(),
            snapshots: match self.update_snapshots || self.force_update_snapshots {
                true => SnapshotMode::Update,
                false => SnapshotMode::Compare,
            },
        };
        RunConfig {
            target: self.target.into(),
            settings,
            output,
            passes: PassOptions {
                iterations: usize::try_from(self.iterations).unwrap_or(usize::MAX),
                data: self.data,
                jobs: usize::try_from(self.jobs).unwrap_or(usize::MAX),
                shard: self.shard,
            },
            lock_timeout: self.lock_timeout,
            export_vars: self.export_vars,
            dry_run: self.dry_run,
            mock_zoom: self.mock_zoom,
            allow_empty: self.allow_empty,
            snapshot_update_in_ci: self.update_snapshots
                && !self.force_update_snapshots
                && is_ci(std::env::var("CI").ok().as_deref()),
        }
    }
}

impl From<TargetArgs> for Target {
    fn from(args: TargetArgs) -> Self {
        Target {
            collection: args.collection,
            environments: args.envs.iter().flat_map(|e| expand_glob(e)).collect(),
            vars: args.vars,
            var_files: args.var_files,
            env_files: args.env_files,
            state: args.state,
            allow_env: args.allow_env,
        }
    }
}

/// `NO_COLOR` (any non-empty value) turns colour off, `CLICOLOR_FORCE` turns it on even when
/// piped; an explicit `--color` beats both.
fn wants_color(choice: ColorArg, is_terminal: bool) -> bool {
    let set = |name| std::env::var_os(name).is_some_and(|v| !v.is_empty());
    match choice {
        ColorArg::Always => true,
        ColorArg::Never => false,
        ColorArg::Auto if set("NO_COLOR") => false,
        ColorArg::Auto if set("CLICOLOR_FORCE") => true,
        ColorArg::Auto => is_terminal,
    }
}

/// `'environments/*.yaml'` quoted past the shell. A pattern that matches nothing stays as it is,
/// so loading it reports the missing file by name.
fn expand_glob(pattern: &str) -> Vec<PathBuf> {
    if !pattern.contains(['*', '?', '[']) {
        return vec![PathBuf::from(pattern)];
    }
    let mut matches: Vec<PathBuf> = glob::glob(pattern)
        .map(|paths| {
            paths
                .flatten()
                .filter(|p| !p.to_string_lossy().ends_with(".state.yaml"))
                .collect()
        })
        .unwrap_or_default();
    matches.sort();
    if matches.is_empty() {
        matches.push(PathBuf::from(pattern));
    }
    matches
}

/// `8MiB`, `512KiB`, `1MB` or a number of bytes.
fn parse_size(text: &str) -> Result<usize, String> {
    let text = text.trim();
    let split = text
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(text.len());
    let (digits, unit) = text.split_at(split);
    let number: usize = digits
        .parse()
        .map_err(|_| format!("`{text}` is not a size; write `8MiB`, `512KiB` or bytes"))?;
    let factor = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1,
        "k" | "kb" => 1_000,
        "kib" => 1 << 10,
        "m" | "mb" => 1_000_000,
        "mib" => 1 << 20,
        "g" | "gb" => 1_000_000_000,
        "gib" => 1 << 30,
        other => return Err(format!("unknown size unit `{other}`; use KiB, MiB or GiB")),
    };
    number
        .checked_mul(factor)
        .ok_or_else(|| format!("`{text}` is too large"))
}

/// clap quotes a value it refused (`invalid value 'ClientSecret$SECRET' for '--var …'`); for
/// `--var` that value may be a secret, so the error is said again without it.
fn without_var_value(e: clap::Error) -> clap::Error {
    use clap::error::{ContextKind, ContextValue, ErrorKind};
    let is_var = matches!(
        e.get(ContextKind::InvalidArg),
        Some(ContextValue::String(arg)) if arg.starts_with("--var ")
    );
    if e.kind() != ErrorKind::ValueValidation || !is_var {
        return e;
    }
    let reason = std::error::Error::source(&e)
        .map(ToString::to_string)
        .unwrap_or_else(|| "expected NAME=VALUE".into());
    clap::Error::raw(
        ErrorKind::ValueValidation,
        format!("invalid value for '--var <NAME=VALUE>': {reason}"),
    )
    .format(&mut <Cli as clap::CommandFactory>::command())
}

fn parse_var(text: &str) -> Result<(String, String), String> {
    match text.split_once('=') {
        Some((name, value)) if !name.trim().is_empty() => {
            Ok((name.trim().to_string(), value.to_string()))
        }
        Some(_) => Err("the variable name before `=` is empty".into()),
        // The argument is not echoed: without `=`, nobody can tell the name from the value, and
        // `--var ClientSecret$SECRET` would print the secret into the CI log.
        None => Err(format!(
            "expected NAME=VALUE, e.g. `--var base_url=http://127.0.0.1:8808`; the value given ({} characters, not shown) has no `=`",
            text.chars().count()
        )),
    }
}

fn parse_duration(text: &str) -> Result<Duration, String> {
    match text.trim().parse::<f64>() {
        Ok(secs) if secs.is_finite() && secs > 0.0 => Ok(Duration::from_secs_f64(secs)),
        Ok(_) => Err("a duration must be positive".into()),
        Err(_) => humantime::parse_duration(text.trim())
            .map_err(|e| format!("{e}; write `30`, `30s` or `500ms`")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn var_needs_an_equals_sign() {
        assert_eq!(parse_var("a=b=c"), Ok(("a".into(), "b=c".into())));
        assert!(parse_var("abc").unwrap_err().contains("has no `=`"));
        assert!(parse_var("=x").is_err());
    }

    #[test]
    fn sizes() {
        assert_eq!(parse_size("8MiB"), Ok(8 << 20));
        assert_eq!(parse_size("512 KiB"), Ok(512 << 10));
        assert_eq!(parse_size("100"), Ok(100));
        assert!(parse_size("lots").is_err() && parse_size("3 parsecs").is_err());
    }

    #[test]
    fn durations() {
        assert_eq!(parse_duration("2"), Ok(Duration::from_secs(2)));
        assert_eq!(parse_duration("250ms"), Ok(Duration::from_millis(250)));
        assert!(parse_duration("0").is_err());
        assert!(parse_duration("soon").is_err());
    }

    #[test]
    fn the_cli_is_well_formed() {
        Cli::command().debug_assert();
    }
}
