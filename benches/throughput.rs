//! The performance benchmark: figures and ratios, not pass/fail.
//!
//! It starts a loopback server that answers like Zoom's token endpoint (a fixed token JSON, no
//! rotation, so every iteration passes) in a process of its own, as nginx would be, then
//! measures in the same run, against the same server:
//!
//! 1. throughput: a bare reqwest loop sending the refresh request N times (the baseline), and
//!    `courier run -n N` sending the same request, with one job and with two; the ratio is
//!    courier's requests per second over the baseline's, measured back to back (in alternating
//!    order) in several rounds, of which the median is reported with the range. The CPU time
//!    each side spent per request is reported the same way: on a shared machine it moves less
//!    than wall time;
//! 2. a cold `courier run` of the bundled collection: mean wall time over many runs, and peak
//!    memory (`/usr/bin/time -f %M`);
//! 3. peak memory of a 100,000-iteration run against a 1,000-iteration run.
//!
//! Run it with `cargo bench --bench throughput` (`-- --quick` for a short pass). It needs
//! nothing but loopback; `/usr/bin/time` (Debian's `time` package) for the memory figures.
//! `-- --serve ADDR` runs only the server and `-- --baseline URL N JOBS` only the baseline, for
//! profiling by hand.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;

const USER: &str = r#"{"id":"benchUser","account_id":"benchAccount","email":"bench@example.com","type":1,"status":"active"}"#;
const TOKEN: &str = r#"{"access_token":"eyJ.bench.access","token_type":"bearer","refresh_token":"eyJ.bench.refresh","expires_in":3599,"scope":"user:read","api_url":"https://api.zoom.us"}"#;
const REVOKED: &str = r#"{"status":"success"}"#;

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if let Some(at) = args.iter().position(|a| a == "--serve") {
        // Only the server: the benchmark starts itself this way, and it serves for profiling by
        // hand with `-- --serve 127.0.0.1:18999`.
        let addr = args.get(at + 1).map_or("127.0.0.1:18999", String::as_str);
        println!("serving on http://{}", start_server_on(addr));
        let _ = std::io::Write::flush(&mut std::io::stdout());
        loop {
            std::thread::park();
        }
    }
    if let Some(at) = args.iter().position(|a| a == "--baseline") {
        // Only the baseline loop against a running server, for profiling it by hand:
        // `-- --baseline http://127.0.0.1:18999 20000 1`.
        let url = args
            .get(at + 1)
            .map_or("http://127.0.0.1:18999", String::as_str);
        let n = args
            .get(at + 2)
            .and_then(|n| n.parse().ok())
            .unwrap_or(20_000);
        let jobs = args.get(at + 3).and_then(|n| n.parse().ok()).unwrap_or(1);
        println!("{:.0} req/s", baseline_rps(url, n, jobs));
        return;
    }
    let quick = args.iter().any(|a| a == "--quick");
    // Long enough (about a second a side) that courier's start-up, a few milliseconds, weighs
    // little in a per-request figure, and that a short burst of other work on the machine is
    // averaged out.
    let n = if quick { 2_000 } else { 30_000 };
    let courier = env!("CARGO_BIN_EXE_courier");
    // The bundled collection declares `refresh_token` persistent, so a run saves the state
    // file (two fsyncs) after every refresh. The throughput and memory figures measure the
    // runner, as they always have: they run a copy without `persist:`, in a folder of their
    // own (nothing is written into the repository). The cold run is measured both ways.
    let shipped = bench_root(true);
    let unpersisted = bench_root(false);
    let root = unpersisted.as_path();
    // The server runs in a process of its own, as nginx would: in the benchmark's process it
    // would share an address space with the baseline but not with courier.
    let server = Server::spawn();
    let base_url = server.url.clone();
    println!(
        "courier benchmark · loopback server {base_url} · {} cores",
        std::thread::available_parallelism().map_or(1, |n| n.get())
    );
    println!();

    // Machine noise (another process, the CPU's clock) moves single measurements by 10–20%:
    // each round measures the baseline and courier back to back, which goes first alternating
    // from round to round, and the median ratio is the figure.
    let rounds = if quick { 3 } else { 7 };
    println!("throughput ({n} refresh requests per measurement, median of {rounds} rounds)");
    for jobs in [1, 2] {
        let mut rounds_seen = Vec::with_capacity(rounds);
        // CPU time per request of each side: steadier than wall time on a shared machine.
        let mut cpu_ratios = Vec::with_capacity(rounds);
        let mut all_passed = true;
        for round in 0..rounds {
            let mut courier_cpu = None;
            let mut courier_rps = || {
                let cpu_before = cpu_times();
                let started = Instant::now();
                all_passed &= courier_run(
                    courier,
                    root,
                    &base_url,
                    &[
                        "-n",
                        &n.to_string(),
                        "--jobs",
                        &jobs.to_string(),
                        "--request",
                        "Refresh access token",
                        "--quiet",
                    ],
                );
                let rps = n as f64 / started.elapsed().as_secs_f64();
                courier_cpu = cpu_before
                    .zip(cpu_times())
                    .map(|(b, a)| a.children - b.children);
                rps
            };
            let mut baseline_cpu = None;
            let mut baseline = || {
                let cpu_before = cpu_times();
                let rps = baseline_rps(&base_url, n, jobs);
                baseline_cpu = cpu_before.zip(cpu_times()).map(|(b, a)| a.own - b.own);
                rps
            };
            let (baseline, rps) = if round % 2 == 0 {
                let baseline = baseline();
                (baseline, courier_rps())
            } else {
                let rps = courier_rps();
                (baseline(), rps)
            };
            rounds_seen.push((rps / baseline, baseline, rps));
            if let (Some(ours), Some(theirs)) = (courier_cpu, baseline_cpu) {
                cpu_ratios.push((theirs / ours, theirs, ours));
            }
        }
        rounds_seen.sort_by(|a, b| a.0.total_cmp(&b.0));
        let (ratio, baseline, rps) = rounds_seen[rounds / 2];
        println!(
            "  --jobs {jobs}: baseline reqwest {baseline:>8.0} req/s · courier {rps:>8.0} req/s · ratio {ratio:.2} (rounds {:.2}–{:.2}){}",
            rounds_seen[0].0,
            rounds_seen[rounds - 1].0,
            if all_passed {
                ""
            } else {
                "  (courier exited non-zero)"
            }
        );
        if cpu_ratios.len() == rounds {
            cpu_ratios.sort_by(|a, b| a.0.total_cmp(&b.0));
            let (ratio, theirs, ours) = cpu_ratios[rounds / 2];
            let per_request = |seconds: f64| seconds * 1e6 / n as f64;
            println!(
                "            CPU per request: baseline {:.1} µs · courier {:.1} µs · ratio {ratio:.2} (rounds {:.2}–{:.2})",
                per_request(theirs),
                per_request(ours),
                cpu_ratios[0].0,
                cpu_ratios[rounds - 1].0,
            );
        }
    }
    println!();

    let runs = if quick { 10 } else { 40 };
    let mut times = Vec::with_capacity(runs);
    for _ in 0..runs {
        let started = Instant::now();
        courier_run(courier, root, &base_url, &[]);
        times.push(started.elapsed());
    }
    times.sort();
    let mean = times.iter().sum::<Duration>() / runs as u32;
    println!("cold run of the bundled collection without `persist:` ({runs} runs)");
    println!(
        "  wall: mean {:.1} ms · median {:.1} ms · min {:.1} ms",
        ms(mean),
        ms(times[runs / 2]),
        ms(times[0])
    );
    match peak_kib(courier, root, &base_url, &[]) {
        Some(kib) => println!("  peak memory: {:.1} MiB", kib as f64 / 1024.0),
        None => println!("  peak memory: /usr/bin/time not found (apt-get install time)"),
    }
    println!();

    let (small, large) = if quick {
        (1_000, 10_000)
    } else {
        (1_000, 100_000)
    };
    let mut saving = Vec::with_capacity(runs);
    for _ in 0..runs {
        let started = Instant::now();
        courier_run(courier, &shipped, &base_url, &[]);
        saving.push(started.elapsed());
    }
    saving.sort();
    println!(
        "cold run as shipped, saving the rotated token to its state file ({runs} runs): mean {:.1} ms · median {:.1} ms",
        ms(saving.iter().sum::<Duration>() / runs as u32),
        ms(saving[runs / 2])
    );
    println!();

    println!("memory against run length");
    let small_kib = peak_kib(
        courier,
        root,
        &base_url,
        &[
            "-n",
            &small.to_string(),
            "--request",
            "Refresh access token",
            "--quiet",
        ],
    );
    let large_kib = peak_kib(
        courier,
        root,
        &base_url,
        &[
            "-n",
            &large.to_string(),
            "--request",
            "Refresh access token",
            "--quiet",
        ],
    );
    if let (Some(a), Some(b)) = (small_kib, large_kib) {
        println!(
            "  {small} iterations: {:.1} MiB · {large} iterations: {:.1} MiB · difference {:+.1} MiB",
            a as f64 / 1024.0,
            b as f64 / 1024.0,
            (b as f64 - a as f64) / 1024.0
        );
    }
}

/// CPU time (user and system, seconds) of this process and of its children waited for.
struct CpuTimes {
    own: f64,
    children: f64,
}

/// From `/proc/self/stat` (Linux; `None` elsewhere), in clock ticks of 10 ms: a measurement
/// of about a second of CPU is good to a percent or two.
fn cpu_times() -> Option<CpuTimes> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    // The fields after the command name, which is in parentheses and may hold spaces: utime,
    // stime, cutime and cstime are fields 14 to 17 of the whole line.
    let fields: Vec<f64> = stat
        .rsplit_once(") ")?
        .1
        .split(' ')
        .skip(11)
        .take(4)
        .map(|f| f.parse().ok())
        .collect::<Option<_>>()?;
    let tick = 100.0;
    Some(CpuTimes {
        own: (fields[0] + fields[1]) / tick,
        children: (fields[2] + fields[3]) / tick,
    })
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

/// A temporary folder with the bundled collection and the emulator environment, as shipped or
/// without the collection's `persist:` line.
fn bench_root(persist: bool) -> std::path::PathBuf {
    let repo = Path::new(env!("CARGO_MANIFEST_DIR"));
    let root = std::env::temp_dir().join(format!(
        "courier-bench-{}-{}",
        std::process::id(),
        if persist { "shipped" } else { "runner" }
    ));
    let collection = root.join("collections/zoom-oauth");
    std::fs::create_dir_all(&collection).expect("a temporary folder");
    std::fs::create_dir_all(root.join("environments")).expect("a temporary folder");
    for entry in std::fs::read_dir(repo.join("collections/zoom-oauth")).expect("the collection") {
        let path = entry.expect("a file").path();
        let mut text = std::fs::read_to_string(&path).expect("a collection file");
        if !persist {
            text = text.replace("persist: [refresh_token]\n", "");
        }
        std::fs::write(collection.join(path.file_name().expect("a name")), text).expect("a copy");
    }
    std::fs::copy(
        repo.join("environments/emulator.yaml"),
        root.join("environments/emulator.yaml"),
    )
    .expect("a copy");
    let _ = std::fs::remove_file(root.join("environments/emulator.state.yaml"));
    root
}

/// `courier run` of the bundled collection with the emulator environment, pointed at the
/// bench server; true when it exited 0.
fn courier_run(courier: &str, root: &Path, base_url: &str, extra: &[&str]) -> bool {
    courier_command(courier, root, base_url, extra)
        .stdout(std::process::Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

fn courier_command(courier: &str, root: &Path, base_url: &str, extra: &[&str]) -> Command {
    let mut command = Command::new(courier);
    command
        .current_dir(root)
        .args([
            "run",
            "collections/zoom-oauth",
            "--env",
            "environments/emulator.yaml",
        ])
        .args(["--var", &format!("base_url={base_url}")])
        .args(extra)
        .env("NO_COLOR", "1");
    command
}

/// Peak resident memory of one courier run, in KiB, from `/usr/bin/time -f %M`.
fn peak_kib(courier: &str, root: &Path, base_url: &str, extra: &[&str]) -> Option<u64> {
    let inner = courier_command(courier, root, base_url, extra);
    let mut command = Command::new("/usr/bin/time");
    command
        .current_dir(root)
        .arg("-f")
        .arg("%M")
        .arg(inner.get_program())
        .args(inner.get_args())
        .env("NO_COLOR", "1");
    let output = command.stdout(std::process::Stdio::null()).output().ok()?;
    let text = String::from_utf8_lossy(&output.stderr);
    text.lines().last()?.trim().parse().ok()
}

/// The baseline: the same refresh request (Basic auth, form body) sent `n` times with one
/// reqwest client, from `jobs` concurrent loops, reading each body.
fn baseline_rps(base_url: &str, n: usize, jobs: usize) -> f64 {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a runtime");
    runtime.block_on(async {
        let client = reqwest::Client::new();
        let url = format!("{base_url}/oauth/token");
        let started = Instant::now();
        let loops = (0..jobs).map(|j| {
            let (client, url) = (client.clone(), url.clone());
            let count = n / jobs + usize::from(j < n % jobs);
            async move {
                for _ in 0..count {
                    let response = client
                        .post(&url)
                        .header(
                            "Authorization",
                            "Basic Y291cmllci1kZW1vLWNsaWVudDpjb3VyaWVyLWRlbW8tc2VjcmV0",
                        )
                        .header("Content-Type", "application/x-www-form-urlencoded")
                        .body("grant_type=refresh_token&refresh_token=courier-demo-refresh-token")
                        .send()
                        .await
                        .expect("the bench server answers");
                    let _ = response.bytes().await;
                }
            }
        });
        futures_util::future::join_all(loops).await;
        n as f64 / started.elapsed().as_secs_f64()
    })
}

/// The benchmark's server: this same program with `--serve`, killed when dropped.
struct Server {
    child: std::process::Child,
    url: String,
}

impl Server {
    fn spawn() -> Server {
        let mut child = Command::new(std::env::current_exe().expect("the benchmark's path"))
            .args(["--serve", "127.0.0.1:0"])
            .stdout(std::process::Stdio::piped())
            .spawn()
            .expect("the server starts");
        let mut line = String::new();
        let stdout = child.stdout.take().expect("the server's output");
        std::io::BufRead::read_line(&mut std::io::BufReader::new(stdout), &mut line)
            .expect("the server says where it listens");
        let url = line
            .trim()
            .strip_prefix("serving on ")
            .expect("the server's address")
            .to_string();
        Server { child, url }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A loopback server on its own thread answering the token and revoke endpoints.
fn start_server_on(bind: &str) -> SocketAddr {
    let bind = bind.to_owned();
    let (sender, receiver) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("a runtime");
        runtime.block_on(async move {
            let listener = tokio::net::TcpListener::bind(bind.as_str())
                .await
                .expect("a loopback port");
            let addr = listener.local_addr().expect("an address");
            let _ = sender.send(addr);
            // API calls come back here, as the emulator sends them to itself: nothing the
            // benchmark runs reaches the internet.
            let token: &'static str = Box::leak(
                TOKEN
                    .replace("https://api.zoom.us", &format!("http://{addr}"))
                    .into_boxed_str(),
            );
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    continue;
                };
                tokio::spawn(async move {
                    let service = hyper::service::service_fn(move |r| answer(r, token));
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), service)
                        .await;
                });
            }
        });
    });
    receiver.recv().expect("the server starts")
}

async fn answer(
    request: Request<Incoming>,
    token: &'static str,
) -> Result<Response<Full<Bytes>>, Infallible> {
    let body = match request.uri().path() {
        "/oauth/revoke" => REVOKED,
        "/v2/users/me" => USER,
        _ => token,
    };
    let _ = request.into_body().collect().await;
    Ok(Response::builder()
        .header("content-type", "application/json;charset=UTF-8")
        .body(Full::new(Bytes::from_static(body.as_bytes())))
        .unwrap_or_default())
}
