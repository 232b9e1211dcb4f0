//! `--report-html` in a real browser: a run against the emulator with one failing assertion
//! writes a page that headless Chromium opens from disk, with no network, and whose DOM (after
//! its script ran) and screenshot are checked.
//!
//! Chromium is Debian's `chromium` package. Where it is missing the test says so and passes,
//! except under `CI`, which installs it: there a missing browser fails it.

use std::fs::File;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::support::{self, Project, REFRESH_REQUEST, REVOKE_REQUEST};

const CHROMIUM: &str = "/usr/bin/chromium";

/// The bundled refresh, made to fail: the emulator answers `bearer`, as Zoom does, and the
/// revoke that follows, which passes.
fn failing_collection() -> Project {
    let refresh = REFRESH_REQUEST.replace("$.token_type: bearer", "$.token_type: Bearer");
    assert_ne!(
        refresh, REFRESH_REQUEST,
        "the refresh request checks `$.token_type`"
    );
    Project::collection(&[("refresh.yaml", &refresh), ("revoke.yaml", REVOKE_REQUEST)])
}

#[test]
fn the_report_of_a_failing_run_renders_in_chromium() {
    let Some(browser) = Browser::find() else {
        return;
    };
    let zoom = support::emulator();
    let project = failing_collection();
    let page = project.file("r.html");

    let t = project.run(&zoom.base_url(), &["--report-html", &page]);

    assert_eq!(t.code, 1, "{t}");
    browser.check_report(Path::new(&page));
}

/// Headless Chromium with a throwaway profile, nothing running in the background and no
/// network.
struct Browser {
    /// Holds the profile, Chromium's output and the screenshot.
    dir: tempfile::TempDir,
}

impl Browser {
    /// The browser, or `None` (with a message) outside CI when it is not installed.
    fn find() -> Option<Browser> {
        if !Path::new(CHROMIUM).exists() {
            assert!(
                std::env::var_os("CI").is_none(),
                "{CHROMIUM} is missing: CI must install Debian's `chromium` package"
            );
            eprintln!("skipped: {CHROMIUM} is missing (apt-get install chromium)");
            return None;
        }
        let dir = tempfile::tempdir().expect("a temporary folder");
        Some(Browser { dir })
    }

    /// Opens the page, then checks what a reader would see: the summary and the failed
    /// assertion in the DOM, the script's filter shown, nothing the page's policy had to block
    /// (a fetch, or a style or script whose hash is wrong), and a screenshot that is not blank.
    fn check_report(&self, page: &Path) {
        let url = format!("file://{}", page.display());
        let (dom, log) = self.run(&["--enable-logging=stderr", "--v=0", "--dump-dom", &url]);
        for text in [
            "<h1>Test collection</h1>",
            "✗ 1 failed",
            "✓ 1 passed",
            "<dt>expected</dt><dd><code>\"Bearer\"</code></dd>",
            "<dt>actual</dt><dd><code>\"bearer\"</code></dd>",
            "refresh.yaml:",
        ] {
            assert!(dom.contains(text), "`{text}` is missing from:\n{dom}");
        }
        // The script ran (the page's policy let it) and showed the filter it adds.
        assert!(
            dom.contains("<div class=\"toolbar\"><label>"),
            "the filter is still hidden:\n{dom}"
        );
        assert!(!dom.contains(support::CLIENT_SECRET), "{dom}");
        assert!(!log.contains("Content Security Policy"), "{log}");

        let shot = self.dir.path().join("shot.png");
        self.run(&[
            &format!("--screenshot={}", shot.display()),
            "--window-size=1280,900",
            &url,
        ]);
        let size = std::fs::metadata(&shot).map(|m| m.len()).unwrap_or(0);
        assert!(size > 10_000, "the screenshot has {size} bytes");
    }

    /// `chromium --headless … ARGS`, killed if it takes more than a minute; its stdout and
    /// stderr. They go through files, which never fill up and block it the way a pipe nobody
    /// reads would.
    fn run(&self, args: &[&str]) -> (String, String) {
        let stdout = self.dir.path().join("stdout");
        let stderr = self.dir.path().join("stderr");
        let file = |path: &Path| Stdio::from(File::create(path).expect("an output file"));
        let mut child = Command::new(CHROMIUM)
            .args([
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--no-first-run",
            ])
            .arg(format!(
                "--user-data-dir={}",
                self.dir.path().join("profile").display()
            ))
            .args(args)
            .stdout(file(&stdout))
            .stderr(file(&stderr))
            .spawn()
            .expect("chromium starts");
        let deadline = Instant::now() + Duration::from_secs(60);
        let status = loop {
            if let Some(status) = child.try_wait().expect("chromium runs") {
                break status;
            }
            if Instant::now() > deadline {
                let _ = child.kill();
                let _ = child.wait();
                panic!("chromium {args:?} took more than a minute");
            }
            std::thread::sleep(Duration::from_millis(50));
        };
        let read =
            |path: &Path| String::from_utf8_lossy(&std::fs::read(path).unwrap()).into_owned();
        let (stdout, stderr) = (read(&stdout), read(&stderr));
        assert!(
            status.success(),
            "chromium {args:?} failed ({status}):\n{stderr}"
        );
        (stdout, stderr)
    }
}
