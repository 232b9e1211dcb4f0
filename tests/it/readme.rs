//! The README is a test: every command line and file it shows runs here as written, in a copy of
//! the shipped files, with only the server's address and throwaway credentials substituted.
//! Changing an example in the README so that it no longer works fails this module.

use std::path::Path;
use std::process::{Child, Command, Stdio};

use crate::support::{self, CLIENT_SECRET, Project, REFRESH_TOKEN, Transcript};
use crate::trust::{production_copy, shipped_copy, zoom_command};

/// A fenced block of the README: its info string (`sh`, `yaml`, or empty), the line its text
/// starts on, and the text.
struct Block {
    info: String,
    line: usize,
    text: String,
}

fn readme() -> String {
    std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("README.md")).unwrap()
}

fn blocks() -> Vec<Block> {
    let mut blocks = Vec::new();
    let mut open: Option<Block> = None;
    for (i, line) in readme().lines().enumerate() {
        let fence = line.trim_start().strip_prefix("```");
        match (&mut open, fence) {
            (None, Some(info)) => {
                open = Some(Block {
                    info: info.trim().to_string(),
                    line: i + 2,
                    text: String::new(),
                });
            }
            (Some(_), Some(_)) => {
                let mut block = open.take().unwrap();
                // A block inside a list item is indented with it.
                block.text = dedent(&block.text);
                blocks.push(block);
            }
            (Some(block), None) => {
                block.text.push_str(line);
                block.text.push('\n');
            }
            (None, None) => {}
        }
    }
    blocks
}

fn dedent(text: &str) -> String {
    let indent = text
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| l.len() - l.trim_start().len())
        .min()
        .unwrap_or(0);
    text.lines()
        .map(|l| l.get(indent..).unwrap_or("").to_string() + "\n")
        .collect()
}

/// The file a YAML block says it shows, from its first line `# path`.
fn shown_path(block: &Block) -> Option<&str> {
    let first = block.text.lines().next()?.strip_prefix("# ")?.trim();
    (first.contains('/') && !first.contains(' ')).then_some(first)
}

fn yaml(text: &str) -> serde_json::Value {
    serde_saphyr::from_str(text).unwrap_or_else(|e| panic!("{e}\n{text}"))
}

/// The commands of a shell block: continued lines joined, comments dropped, split into words.
/// Each is (words, runs in the background).
fn commands(block: &Block) -> Vec<(Vec<String>, bool)> {
    let joined = block.text.replace("\\\n", " ");
    joined
        .lines()
        .filter_map(|line| {
            let words =
                shlex::split(line).unwrap_or_else(|| panic!("README line {}: {line}", block.line));
            let mut words: Vec<String> = words
                .into_iter()
                .take_while(|w| !w.starts_with('#'))
                .collect();
            let background = words.last().is_some_and(|w| w == "&");
            if background {
                words.pop();
            }
            (!words.is_empty()).then_some((words, background))
        })
        .collect()
}

/// `courier`'s arguments in a README command, or `None` for a command that is not courier's
/// (`export`, `cargo test`).
fn courier_args(words: &[String]) -> Option<Vec<String>> {
    match words {
        [cargo, run, release, dashes, rest @ ..]
            if cargo == "cargo" && run == "run" && release == "--release" && dashes == "--" =>
        {
            Some(rest.to_vec())
        }
        [courier, rest @ ..] if courier == "courier" => Some(rest.to_vec()),
        _ => None,
    }
}

/// `courier ARGS…` in `project`'s folder, with throwaway credentials in the OS variables the
/// real-Zoom environment reads.
fn courier_in(project: &Project, args: &[String]) -> Command {
    zoom_command(project, REFRESH_TOKEN, args)
}

/// The files the README's commands name without showing: a data file, customers' environments,
/// a Postman export.
fn with_props(project: Project) -> Project {
    let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/postman");
    let example =
        std::fs::read_to_string(project.path().join("environments/example.yaml")).unwrap();
    project
        .with("users.csv", "user\nann\nbob\n")
        .with(
            "shop.yaml",
            &std::fs::read_to_string(
                Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/openapi/shop.yaml"),
            )
            .unwrap(),
        )
        .with("environments/customer-a.yaml", &example)
        .with("environments/customer-b.yaml", &example)
        .with(
            "My.postman_collection.json",
            &std::fs::read_to_string(
                fixtures.join("newman-disabled-and-duplicates.postman_collection.json"),
            )
            .unwrap(),
        )
        .with(
            "Prod.postman_environment.json",
            &std::fs::read_to_string(
                fixtures.join("newman-disabled-and-duplicates.postman_environment.json"),
            )
            .unwrap()
            .replace(
                "\"name\": \"disabled-and-duplicates\"",
                "\"name\": \"Prod\"",
            ),
        )
}

/// Waits until `courier mock zoom` in the background listens on `port`.
fn wait_for(port: u16, child: &mut Child) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            child.try_wait().unwrap().is_none(),
            "courier mock zoom exited"
        );
        assert!(
            std::time::Instant::now() < deadline,
            "courier mock zoom never listened"
        );
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
}

#[test]
fn every_shell_command_in_the_readme_runs() {
    let project = with_props(shipped_copy());
    let server = support::Server::any_tenant_tokens();
    let mut ran = 0;
    let mut background: Vec<Child> = Vec::new();
    let mut mock_url: Option<String> = None;
    for block in blocks().iter().filter(|b| b.info == "sh") {
        for (words, in_background) in commands(block) {
            let Some(mut args) = courier_args(&words) else {
                continue;
            };
            let at = format!("README line {}: {}", block.line, words.join(" "));
            if in_background {
                // `courier mock zoom …` on a free port instead of 8808 (the server's address).
                let port = support::closed_port();
                args.extend(["--port".into(), port.to_string()]);
                let mut child = courier_in(&project, &args)
                    .stdout(Stdio::null())
                    .stderr(Stdio::null())
                    .spawn()
                    .unwrap();
                wait_for(port, &mut child);
                mock_url = Some(format!("http://127.0.0.1:{port}"));
                background.push(child);
                continue;
            }
            let sends = args.first().is_some_and(|a| a == "run" || a == "token")
                && !args.iter().any(|a| a == "--mock-zoom");
            if sends {
                let url = mock_url.take().unwrap_or_else(|| server.url());
                args.extend(["--var".into(), format!("base_url={url}")]);
            }
            let t = support::transcript(&mut courier_in(&project, &args));
            assert_eq!(t.code, 0, "{at}\n{t}");
            match args.first().is_some_and(|a| a == "token") {
                // Printing the access token is its job; this server makes it of the refresh
                // token's text (`at-next-…`).
                true => {
                    assert!(!t.stdout.trim().is_empty(), "{at}\n{t}");
                    assert!(!t.stderr.contains(REFRESH_TOKEN), "{at}\n{t}");
                    t.assert_hides(&[CLIENT_SECRET]);
                }
                false => t.assert_hides(&[CLIENT_SECRET, REFRESH_TOKEN]),
            }
            ran += 1;
        }
    }
    for mut child in background {
        let _ = child.kill();
        let _ = child.wait();
    }
    assert!(ran >= 9, "only {ran} README commands ran");
    assert!(
        project
            .path()
            .join("collections/my-api/collection.yaml")
            .exists()
    );
    assert!(project.path().join("shard-2.xml").exists());
}

#[test]
fn the_files_the_readme_shows_are_the_shipped_files() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut compared = 0;
    for block in blocks().iter().filter(|b| b.info == "yaml") {
        let Some(path) = shown_path(block) else {
            continue;
        };
        let shipped = root.join(path);
        if !shipped.exists() {
            continue;
        }
        let shipped_text = std::fs::read_to_string(&shipped).unwrap();
        assert_eq!(
            yaml(&block.text),
            yaml(&shipped_text),
            "README line {} shows `{path}`, which differs from the shipped file",
            block.line
        );
        compared += 1;
    }
    assert_eq!(
        compared, 2,
        "the README shows the collection and the example environment"
    );
}

#[test]
fn the_readme_request_and_environment_snippets_pass_check() {
    let request = blocks()
        .into_iter()
        .find(|b| b.info == "yaml" && b.text.starts_with("name: Refresh access token"))
        .expect("the README shows a request file");
    let project = Project::collection(&[("request.yaml", &request.text)]);
    let t = support::run(["check", &project.dir(), "--env", support::EMULATOR_ENV]);
    assert_eq!(t.code, 0, "README line {}: {t}", request.line);

    let production = blocks()
        .into_iter()
        .find(|b| shown_path(b) == Some("environments/production.yaml"))
        .expect("the README shows environments/production.yaml");
    let project = shipped_copy().with("environments/production.yaml", &production.text);
    let t = support::transcript(&mut courier_in(
        &project,
        &[
            "check",
            "collections/zoom-oauth",
            "--env",
            "environments/production.yaml",
        ]
        .map(String::from),
    ));
    assert_eq!(t.code, 0, "README line {}: {t}", production.line);
}

/// The `run:` lines of a GitHub Actions snippet that call courier, with `${{ … }}` replaced.
fn workflow_commands(block: &Block, matrix: &str) -> Vec<Vec<String>> {
    let doc = yaml(&block.text);
    let steps = doc["jobs"]["check"]["steps"]
        .as_array()
        .or_else(|| doc["steps"].as_array())
        .cloned()
        .unwrap_or_default();
    steps
        .iter()
        .filter_map(|step| step["run"].as_str())
        .filter(|run| run.trim_start().starts_with("courier "))
        .map(|run| {
            let run = run.replace("${{ matrix.shard }}", matrix);
            shlex::split(&run.replace('\n', " ")).unwrap()
        })
        .collect()
}

#[test]
fn the_readme_ci_recipe_keeps_the_token_run_after_run() {
    let recipe = blocks()
        .into_iter()
        .find(|b| shown_path(b) == Some(".github/workflows/zoom-credentials.yml"))
        .expect("the README shows the GitHub Actions recipe");
    let commands = workflow_commands(&recipe, "");
    assert_eq!(commands.len(), 1, "the recipe's courier step");
    let zoom = support::emulator();
    let project = production_copy();
    let mut args = courier_args(&commands[0]).unwrap();
    args.extend(["--var".into(), format!("base_url={}", zoom.base_url())]);
    for run in 1..=3 {
        let t = support::transcript(&mut courier_in(&project, &args));
        assert_eq!(t.code, 0, "run {run}: {t}");
        assert!(project.path().join("zoom.xml").exists());
        let exported = std::fs::read_to_string(project.path().join("zoom.env")).unwrap();
        assert_eq!(
            exported,
            format!("refresh_token=\"{}\"\n", zoom.live_refresh_token().unwrap())
        );
    }
    // The lint the README suggests for pull requests, without any secret.
    let lint = [
        "check",
        "collections/zoom-oauth",
        "--env",
        "environments/production.yaml",
    ]
    .map(String::from);
    let t = support::transcript(
        courier_in(&project, &lint)
            .env_remove("ZOOM_CLIENT_SECRET")
            .env_remove("ZOOM_CLIENT_ID")
            .env_remove("ZOOM_REFRESH_TOKEN"),
    );
    assert_eq!(t.code, 0, "{t}");
    assert!(t.stdout.contains("needs ZOOM_CLIENT_SECRET"), "{t}");
}

#[test]
fn the_readme_shard_matrix_runs_every_shard() {
    let matrix = blocks()
        .into_iter()
        .find(|b| b.info == "yaml" && b.text.contains("matrix: { shard:"))
        .expect("the README shows a shard matrix");
    let server = support::Server::any_tenant_tokens();
    let project = with_props(shipped_copy());
    for shard in 1..=4 {
        let commands = workflow_commands(&matrix, &shard.to_string());
        assert_eq!(commands.len(), 1);
        let mut args = courier_args(&commands[0]).unwrap();
        args.extend(["--var".into(), format!("base_url={}", server.url())]);
        let t = support::transcript(&mut courier_in(&project, &args));
        assert_eq!(t.code, 0, "shard {shard}: {t}");
        assert!(
            project.path().join(format!("junit-{shard}.xml")).exists()
                || t.stderr.contains("nothing to send")
        );
    }
    // The merge job after the matrix.
    let merge = blocks()
        .into_iter()
        .find(|b| b.info == "yaml" && b.text.contains("courier report merge"))
        .expect("the README shows the merge job");
    let doc = yaml(&merge.text);
    let run = doc["merge"]["steps"]
        .as_array()
        .and_then(|steps| steps.iter().find_map(|s| s["run"].as_str()))
        .expect("a run step");
    let args = courier_args(&shlex::split(run).unwrap()).unwrap();
    let t = support::transcript(&mut courier_in(&project, &args));
    assert_eq!(t.code, 0, "README line {}: {t}", merge.line);
    assert!(t.stdout.starts_with("merged "), "{t}");
    assert!(project.path().join("junit.xml").exists());
    assert!(project.path().join("report.html").exists());
}

/// The request the "Contracts" section shows, after the bundled refresh, against the emulator:
/// its snapshot written once with `--update-snapshots`, then compared.
#[test]
fn the_readme_contract_request_runs() {
    let shown = blocks()
        .into_iter()
        .find(|b| b.info == "yaml" && b.text.starts_with("name: Current user, checked whole"))
        .expect("the README shows a request with contract checks");
    let collection = "name: Contracts\npersist: [refresh_token]\nrequests:\n  - refresh-access-token.yaml\n  - contract.yaml\n";
    let project = shipped_copy()
        .with("collections/zoom-oauth/contract.yaml", &shown.text)
        .with("collections/zoom-oauth/contracts.yaml", collection);
    let zoom = support::emulator();
    let args = |extra: &[&str]| {
        let mut args: Vec<String> = [
            "run",
            "collections/zoom-oauth/contracts.yaml",
            "--env",
            "environments/emulator.yaml",
            "--var",
        ]
        .map(String::from)
        .to_vec();
        args.push(format!("base_url={}", zoom.base_url()));
        args.extend(extra.iter().map(|a| a.to_string()));
        args
    };
    let written =
        support::transcript(courier_in(&project, &args(&["--update-snapshots"])).env_remove("CI"));
    assert_eq!(written.code, 0, "README line {}: {written}", shown.line);
    let stored = project
        .path()
        .join("collections/zoom-oauth/snapshots/users-me.json");
    assert!(stored.exists(), "{written}");
    let compared = support::transcript(courier_in(&project, &args(&[])).env_remove("CI"));
    assert_eq!(compared.code, 0, "README line {}: {compared}", shown.line);
    compared.assert_shows(&[
        "✓ body equals the snapshot snapshots/users-me.json",
        "✓ body valid against schemas/user.json",
    ]);
}

#[test]
fn the_main_job_prints_what_the_readme_says() {
    let shown = blocks()
        .into_iter()
        .find(|b| b.info.is_empty() && b.text.starts_with("Zoom OAuth · 3 requests"))
        .expect("the README shows the main job's output");
    let main = blocks()
        .into_iter()
        .find(|b| b.info == "sh")
        .and_then(|b| commands(&b).into_iter().next())
        .and_then(|(words, _)| courier_args(&words))
        .expect("the README's first command is the main job");
    let t: Transcript = support::run(&main);
    assert_eq!(t.code, 0, "{t}");
    let normal = |text: &str| {
        let text = regex_lite_replace(text, "127.0.0.1:", |rest| {
            rest.trim_start_matches(|c: char| c.is_ascii_digit())
                .to_string()
        });
        text.lines()
            .map(|l| {
                let mut words: Vec<String> = l.split(' ').map(String::from).collect();
                for w in 0..words.len() {
                    if words.get(w + 1).is_some_and(|n| n.starts_with("ms"))
                        && words[w].chars().all(|c| c.is_ascii_digit())
                    {
                        words[w] = "N".into();
                    }
                }
                words.join(" ")
            })
            .collect::<Vec<_>>()
    };
    let printed = normal(&t.stdout);
    let mut from = 0;
    for line in normal(&shown.text)
        .iter()
        .filter(|l| l.trim() != "..." && !l.trim().is_empty())
    {
        let found = printed[from..].iter().position(|p| p == line);
        assert!(
            found.is_some(),
            "README line `{line}` is not in the output, in order:\n{}",
            t.stdout
        );
        from += found.unwrap() + 1;
    }
}

/// Replaces what follows each `marker` by what `rest` makes of it.
fn regex_lite_replace(text: &str, marker: &str, rest: impl Fn(&str) -> String) -> String {
    let mut out = String::new();
    let mut parts = text.split(marker);
    out.push_str(parts.next().unwrap_or(""));
    for part in parts {
        out.push_str(marker);
        out.push_str(&rest(part));
    }
    out
}

/// The error messages the README shows, reproduced from the files they name.
#[test]
fn the_errors_the_readme_shows_are_what_courier_prints() {
    let shown: Vec<Block> = blocks()
        .into_iter()
        .filter(|b| b.info.is_empty() && b.text.starts_with("error: "))
        .collect();
    assert_eq!(shown.len(), 2, "the README shows two errors");
    for block in shown {
        let project = shipped_copy();
        let args: Vec<String> = if block.text.contains("collections/demo/get.yaml") {
            let demo = "name: Get\nmethod: GET\nurl: https://example.com/\nheders:\n  Accept: application/json\n";
            let project_dir = project.path().join("collections/demo");
            std::fs::create_dir_all(&project_dir).unwrap();
            std::fs::write(
                project_dir.join("collection.yaml"),
                "name: Demo\nrequests: [get.yaml]\n",
            )
            .unwrap();
            std::fs::write(project_dir.join("get.yaml"), demo).unwrap();
            ["check", "collections/demo"].map(String::from).to_vec()
        } else {
            let revoke = project
                .path()
                .join("collections/zoom-oauth/revoke-access-token.yaml");
            let text = std::fs::read_to_string(&revoke).unwrap();
            std::fs::write(
                &revoke,
                text.replace("{{ access_token }}", "{{ acess_token }}"),
            )
            .unwrap();
            [
                "check",
                "collections/zoom-oauth",
                "--env",
                "environments/emulator.yaml",
            ]
            .map(String::from)
            .to_vec()
        };
        let t = support::transcript(&mut courier_in(&project, &args));
        assert_eq!(t.code, 2, "{t}");
        assert_eq!(
            t.stderr.trim_end(),
            block.text.trim_end(),
            "README line {} shows an error courier does not print",
            block.line
        );
    }
}
