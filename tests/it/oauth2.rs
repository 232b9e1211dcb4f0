//! `auth: { oauth2: … }` and `courier token`: a token fetched once and kept in the state file
//! until it nears expiry, the refresh token it rotates saved with no `capture:` or `persist:`
//! line, a refused kept token replaced once, `required_scopes:`, and the credential helper's
//! formats and exit codes. Against the emulator, or a server that does what it cannot.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use courier::mock::zoom::{Seed, ZoomMock};

use crate::support::{
    self, BUNDLED, CLIENT_ID, CLIENT_SECRET, Project, REFRESH_TOKEN, REFRESH_TOKEN_VAR, Recorded,
    Reply, Server, Transcript, USERS_ME, assert_transcript, saved_refresh_token,
};

/// A user's own collection: the auth written once, two API calls, no capture, no persist.
fn collection(oauth2_extra: &str) -> String {
    format!(
        "name: My Zoom app\n\
         auth:\n  oauth2:\n    grant: refresh_token\n    \
           token_url: \"{{{{ base_url }}}}/oauth/token\"\n    \
           client_id: \"{{{{ ClientID }}}}\"\n    \
           client_secret: \"{{{{ ClientSecret }}}}\"\n    \
           refresh_token: \"{{{{ refresh_token }}}}\"\n{oauth2_extra}\
         requests:\n  - me.yaml\n  - me-again.yaml\n"
    )
}

fn request(name: &str, method: &str) -> String {
    format!(
        "name: {name}\nmethod: {method}\nurl: \"{{{{ base_url }}}}{USERS_ME}\"\n\
         assert:\n  status: 200\n  json:\n    $.id: {{ type: string }}\n"
    )
}

/// The collection in a folder with `env.yaml` naming `base_url` and the client; the refresh
/// token comes from the OS variable [`REFRESH_TOKEN_VAR`], as CI injects it.
fn project(base_url: &str, oauth2_extra: &str, method: &str, env_extra: &str) -> Project {
    let env = format!(
        "name: mine\nvariables:\n  base_url: {base_url}\n  ClientID: {CLIENT_ID}\n  \
         ClientSecret: {CLIENT_SECRET}\n  refresh_token: \"{{{{ env('{REFRESH_TOKEN_VAR}') }}}}\"\n\
         {env_extra}"
    );
    Project::new(&[
        ("app/collection.yaml", &collection(oauth2_extra)),
        ("app/me.yaml", &request("Me", method)),
        ("app/me-again.yaml", &request("Me again", method)),
        ("env.yaml", &env),
    ])
}

impl Project {
    fn run_app(&self, extra: &[&str]) -> Transcript {
        let mut command = support::courier();
        command
            .args(["run", &self.file("app"), "--env", &self.file("env.yaml")])
            .args(extra)
            .env(REFRESH_TOKEN_VAR, REFRESH_TOKEN);
        support::transcript(&mut command)
    }

    /// `courier token COLLECTION` with this project's `env.yaml`, `base_url` and the refresh
    /// token in the OS environment.
    fn token_command(&self, collection: &str, base_url: &str) -> std::process::Command {
        let mut command = support::courier();
        command
            .args(["token", collection, "--env", &self.file("env.yaml")])
            .args(["--var", &format!("base_url={base_url}")])
            .env(REFRESH_TOKEN_VAR, REFRESH_TOKEN);
        command
    }

    fn token(&self, collection: &str, base_url: &str, extra: &[&str]) -> Transcript {
        support::transcript(self.token_command(collection, base_url).args(extra))
    }

    fn kept_access_token(&self) -> String {
        let text = std::fs::read_to_string(self.file("env.state.yaml")).expect("a state file");
        let state: serde_json::Value = serde_saphyr::from_str(&text).expect("YAML");
        let tokens = state["tokens"].as_object().expect("kept tokens");
        assert_eq!(tokens.len(), 1, "{text}");
        let token = tokens.values().next().unwrap();
        token["access_token"].as_str().unwrap().to_string()
    }

    /// Moves the kept token's `expires_at` into the past, as months of waiting would: a test
    /// that sleeps through a real lifetime depends on how fast the machine starts processes.
    fn expire_kept_token(&self) {
        let path = self.file("env.state.yaml");
        let text = std::fs::read_to_string(&path).expect("a state file");
        let lines: Vec<String> = text
            .lines()
            .map(|line| match line.split_once("expires_at:") {
                Some((indent, _)) => format!("{indent}expires_at: 2020-01-01T00:00:00Z"),
                None => line.to_string(),
            })
            .collect();
        assert_ne!(
            lines.join("\n"),
            text.trim_end(),
            "a kept token with a lifetime: {text}"
        );
        std::fs::write(&path, lines.join("\n") + "\n").expect("the state file is written");
    }
}

/// The refresh token the emulator's grant lives on is the one the project's state file keeps.
#[track_caller]
fn assert_rotation_kept(zoom: &ZoomMock, project: &Project) {
    let live = zoom.live_refresh_token().expect("the grant is alive");
    let saved = saved_refresh_token(project.file("env.state.yaml")).value;
    assert_eq!(
        saved, live,
        "the state keeps the refresh token the grant lives on"
    );
}

fn emulator_with(lifetime: Option<Duration>, scope: Option<&str>) -> ZoomMock {
    let seed = Seed {
        token_lifetime: lifetime,
        scope: scope.map(str::to_string),
        ..support::seed()
    };
    ZoomMock::start_background(seed, "127.0.0.1:0".parse().unwrap()).expect("the emulator starts")
}

#[test]
fn an_oauth2_auth_fetches_one_token_keeps_it_and_saves_the_rotation() {
    let zoom = support::emulator();
    let project = project(&zoom.base_url(), "", "GET", "");

    let t = project.run_app(&["-v"]);

    assert_eq!(t.code, 0, "{t}");
    assert_eq!(zoom.token_requests(), 1, "one token for both requests");
    assert_eq!(zoom.hits(), 3);
    let live = zoom.live_refresh_token().expect("the grant is alive");
    let state = project.file("env.state.yaml");
    assert_eq!(saved_refresh_token(&state).value, live);
    let access_token = project.kept_access_token();
    t.assert_hides(&[&access_token, &live, REFRESH_TOKEN, CLIENT_SECRET]);

    // The next run reads the kept token: no token request, and the grant is where it was.
    let t = project.run_app(&[]);

    assert_eq!(t.code, 0, "{t}");
    assert_eq!(zoom.token_requests(), 1);
    assert_eq!(zoom.live_refresh_token().as_ref(), Some(&live));
}

#[test]
fn a_token_near_expiry_is_replaced_and_the_new_rotation_saved() {
    let zoom = emulator_with(Some(Duration::from_secs(3)), None);
    let project = project(&zoom.base_url(), "    margin: 2s\n", "GET", "");

    assert_eq!(project.run_app(&[]).code, 0);
    std::thread::sleep(Duration::from_millis(1200));
    let t = project.run_app(&[]);

    assert_eq!(t.code, 0, "{t}");
    assert_eq!(zoom.token_requests(), 2, "less than the margin was left");
    assert_rotation_kept(&zoom, &project);
}

/// A token endpoint that counts what it issues (`tok-N`, `rt-N`), and a `/v2/users/me` that
/// takes only tokens numbered `valid_from` and up: the test kills the tokens it has issued.
fn counting_server(valid_from: Arc<AtomicUsize>) -> (Server, Arc<AtomicUsize>) {
    let issued = Arc::new(AtomicUsize::new(0));
    let counter = Arc::clone(&issued);
    let server = Server::start(move |request: &Recorded| {
        if request.path.starts_with(USERS_ME) {
            let number = request
                .header("authorization")
                .and_then(|h| h.strip_prefix("Bearer tok-"))
                .and_then(|n| n.parse::<usize>().ok());
            return Some(match number {
                Some(n) if n >= valid_from.load(Ordering::SeqCst) => support::user_answer(),
                _ => Reply::json_status(401, r#"{"code":124,"message":"Invalid access token."}"#),
            });
        }
        let n = counter.fetch_add(1, Ordering::SeqCst) + 1;
        Some(Reply::json(&format!(
            r#"{{"access_token":"tok-{n}","token_type":"bearer","refresh_token":"rt-{n}","expires_in":3599,"scope":"user:read"}}"#
        )))
    });
    (server, issued)
}

#[test]
fn a_refused_kept_token_is_replaced_once_and_only_an_idempotent_request_is_sent_again() {
    let valid_from = Arc::new(AtomicUsize::new(0));
    let (server, issued) = counting_server(Arc::clone(&valid_from));
    let project = project(&server.url(), "", "GET", "");
    assert_eq!(project.run_app(&[]).code, 0);
    assert_eq!(issued.load(Ordering::SeqCst), 1);

    // The kept token dies: the first GET gets 401, one new token, and is sent again.
    valid_from.store(2, Ordering::SeqCst);
    let t = project.run_app(&[]);
    assert_eq!(t.code, 0, "{t}");
    assert_eq!(issued.load(Ordering::SeqCst), 2);
    assert_eq!(
        saved_refresh_token(project.file("env.state.yaml")).value,
        "rt-2"
    );

    // A token fetched just now that is refused is the answer: no second refresh.
    valid_from.store(100, Ordering::SeqCst);
    let t = project.run_app(&[]);
    assert_eq!(t.code, 4, "{t}");
    assert_eq!(
        issued.load(Ordering::SeqCst),
        3,
        "one refresh, not one per request"
    );
    t.assert_shows(&["Invalid access token."]);
}

#[test]
fn a_refused_kept_token_is_dropped_but_a_post_is_not_sent_again() {
    let valid_from = Arc::new(AtomicUsize::new(0));
    let (server, issued) = counting_server(Arc::clone(&valid_from));
    let project = project(&server.url(), "", "POST", "");
    assert_eq!(project.run_app(&["--request", "Me"]).code, 0);

    valid_from.store(2, Ordering::SeqCst);
    let t = project.run_app(&["--request", "Me"]);

    assert_eq!(t.code, 4, "{t}");
    assert_eq!(
        issued.load(Ordering::SeqCst),
        1,
        "a POST is never sent twice"
    );
    let posts = server
        .requests()
        .iter()
        .filter(|r| r.method == "POST" && r.path.starts_with(USERS_ME))
        .count();
    assert_eq!(posts, 2, "one per run");
    // The refused token is forgotten: the next run gets a new one.
    assert_eq!(project.run_app(&["--request", "Me"]).code, 0);
    assert_eq!(issued.load(Ordering::SeqCst), 2);
}

#[test]
fn client_credentials_in_the_body_send_no_authorization_header() {
    let server = Server::start(|request| {
        Some(match request.path.starts_with(USERS_ME) {
            true => support::user_answer(),
            false => Reply::json(
                r#"{"access_token":"cc-token","token_type":"bearer","expires_in":3599,"scope":"a b"}"#,
            ),
        })
    });
    let collection = format!(
        "name: Client credentials\n\
         auth:\n  oauth2:\n    grant: client_credentials\n    \
           token_url: \"{}/token\"\n    client_id: my-client\n    \
           client_secret: \"{{{{ secret }}}}\"\n    client_auth: body\n    scope: a b\n\
         requests: [me.yaml]\n",
        server.url()
    );
    let me = format!(
        "name: Me\nmethod: GET\nurl: \"{}{USERS_ME}\"\n",
        server.url()
    );
    let project = Project::new(&[
        ("app/collection.yaml", &collection),
        ("app/me.yaml", &me),
        ("env.yaml", "variables:\n  secret: s3cr3t-value\n"),
    ]);

    let t = project.run_app(&["-v"]);

    assert_eq!(t.code, 0, "{t}");
    let requests = server.requests();
    assert_eq!(requests.len(), 2);
    assert_eq!(requests[0].header("authorization"), None);
    assert_eq!(
        requests[0].body,
        "grant_type=client_credentials&scope=a+b&client_id=my-client&client_secret=s3cr3t-value"
    );
    assert_eq!(requests[1].header("authorization"), Some("Bearer cc-token"));
    t.assert_hides(&["s3cr3t-value", "cc-token"]);
}

#[test]
fn a_request_can_opt_out_of_the_collections_auth() {
    let server = Server::start(|_| Some(Reply::json("{}")));
    let project = project(&server.url(), "", "GET", "").with(
        "app/me-again.yaml",
        &format!(
            "name: Me again\nmethod: GET\nurl: \"{}/public\"\nauth: {{ none: true }}\n",
            server.url()
        ),
    );

    let t = project.run_app(&["--request", "Me again"]);

    assert_eq!(t.code, 0, "{t}");
    let requests = server.requests();
    assert_eq!(
        requests.len(),
        1,
        "no token is fetched for a request without auth"
    );
    assert_eq!(requests[0].header("authorization"), None);
}

#[test]
fn required_scopes_fail_a_token_answer_that_lacks_one_naming_it() {
    let zoom = support::emulator();
    let project = project(
        &zoom.base_url(),
        "",
        "GET",
        "required_scopes: [user:read, meeting:read]\n",
    );

    let t = project.run_app(&["--request", "Me"]);

    // The token is used all the same: the drift is told with the request that used it.
    assert_transcript!(t, @r#"
        exit_code: 1
        ----- stdout -----
        My Zoom app · 1 request · [TEMP]/env.yaml

        ✗ Me
          GET http://127.0.0.1:[PORT]/v2/users/me → 200 OK · [TIME]
          ✗ granted scope includes user:read meeting:read
              expected  includes user:read meeting:read
              actual    "user:read", which lacks `meeting:read` (scope drift: add the scope to the app in the Zoom App Marketplace, then authorize the app again)
              at [TEMP]/env.yaml:7:19
          ✓ status 200
          ✓ $.id type string
          response body: {"id":"emuUser0000000000000001","first_name":"Emulated","last_name":"User","display_name":"Emulated User","email":"emulated.user@example.com","type":1,"role_name":"Owner","account_id":"emuAccount000000000001","status":"active"}

        1 request: 0 passed, 1 failed · 3 checks: 2 passed, 1 failed · [TIME]

        ----- stderr -----
        "#);
    // The rotation it came with is saved all the same.
    assert_rotation_kept(&zoom, &project);

    let zoom = emulator_with(None, Some("user:read meeting:read"));
    let project = project_for_bundled("required_scopes: [user:read, meeting:read]\n");
    let t = project.token(BUNDLED, &zoom.base_url(), &[]);
    assert_eq!(t.code, 0, "{t}");
}

/// `env.yaml` for the bundled collection, refresh token from the OS, persisted.
fn project_for_bundled(extra: &str) -> Project {
    Project::new(&[(
        "env.yaml",
        &format!("{}{extra}", support::persisting_env_text()),
    )])
}

#[test]
fn courier_token_twice_sends_one_token_request_and_after_expiry_keeps_the_rotation() {
    let zoom = support::emulator();
    let project = project_for_bundled("");

    let first = project.token(BUNDLED, &zoom.base_url(), &[]);
    let second = project.token(BUNDLED, &zoom.base_url(), &[]);

    assert_eq!((first.code, second.code), (0, 0), "{first}\n{second}");
    assert_eq!(zoom.token_requests(), 1);
    assert_eq!(first.stdout, second.stdout);
    assert_eq!(first.stdout.lines().count(), 1);
    assert!(first.stdout.starts_with("emu."), "{first}");
    assert_eq!(first.stderr, "");

    project.expire_kept_token();
    let third = project.token(BUNDLED, &zoom.base_url(), &[]);

    assert_eq!(third.code, 0, "{third}");
    assert_eq!(zoom.token_requests(), 2);
    assert_ne!(third.stdout, first.stdout);
    assert_rotation_kept(&zoom, &project);
}

#[test]
fn courier_token_prints_each_format_and_masks_under_github_actions() {
    let zoom = support::emulator();
    let project = project_for_bundled("");
    let bare = project.token(BUNDLED, &zoom.base_url(), &[]);
    let token = bare.stdout.trim_end().to_string();

    let header = project.token(BUNDLED, &zoom.base_url(), &["--format", "header"]);
    assert_eq!(header.stdout, format!("Authorization: Bearer {token}\n"));
    let env = project.token(BUNDLED, &zoom.base_url(), &["--format", "env"]);
    assert_eq!(env.stdout, format!("ACCESS_TOKEN=\"{token}\"\n"));
    let json = project.token(BUNDLED, &zoom.base_url(), &["--format", "json"]);
    let json: serde_json::Value = serde_json::from_str(&json.stdout).expect("JSON");
    assert_eq!(json["access_token"], token.as_str());
    assert_eq!(json["token_type"], "bearer");
    assert_eq!(json["scope"], "user:read");
    assert_eq!(json["api_url"], zoom.base_url().as_str());
    assert!(
        json["expires_in"].as_u64().is_some_and(|s| s > 3500),
        "{json}"
    );
    assert!(
        json["expires_at"]
            .as_str()
            .is_some_and(|t| t.ends_with('Z')),
        "{json}"
    );
    assert_eq!(zoom.token_requests(), 1);

    let mut command = project.token_command(BUNDLED, &zoom.base_url());
    let github = support::transcript(command.env("GITHUB_ACTIONS", "true"));
    assert_eq!(
        github.stdout,
        format!("{token}\n"),
        "stdout is the token alone"
    );
    assert_eq!(github.stderr, format!("::add-mask::{token}\n"));
}

#[test]
fn courier_token_with_a_dead_refresh_token_exits_4_and_prints_no_token() {
    let zoom = support::emulator();
    let project = project_for_bundled("");
    let mut command = project.token_command(BUNDLED, &zoom.base_url());
    command.env(REFRESH_TOKEN_VAR, "a-spent-refresh-token");

    let t = support::transcript(&mut command);

    assert_eq!(t.stdout, "");
    assert_transcript!(t, @r#"
        exit_code: 4
        ----- stdout -----

        ----- stderr -----
        error: no access token: `Refresh access token` (POST http://127.0.0.1:[PORT]/oauth/token → 400) failed
          credentials rejected (invalid_grant): the refresh token was already used, revoked or has expired. Zoom gives no second chance: authorize the app again through its install URL and store the new refresh token (the server said: Invalid Token!)
        "#);
    t.assert_hides(&["a-spent-refresh-token", CLIENT_SECRET]);
}

#[test]
fn courier_token_no_refresh_fails_without_a_fresh_kept_token() {
    let zoom = support::emulator();
    let project = project_for_bundled("");

    let t = project.token(BUNDLED, &zoom.base_url(), &["--no-refresh"]);

    assert_eq!(t.code, 1, "{t}");
    assert_eq!(t.stdout, "");
    assert_eq!(zoom.hits(), 0);
    assert_eq!(project.token(BUNDLED, &zoom.base_url(), &[]).code, 0);
    let t = project.token(BUNDLED, &zoom.base_url(), &["--no-refresh"]);
    assert_eq!(t.code, 0, "{t}");
    // --force-refresh spends the refresh token even so, and saves the rotation.
    let forced = project.token(BUNDLED, &zoom.base_url(), &["--force-refresh"]);
    assert_eq!(forced.code, 0, "{forced}");
    assert_ne!(forced.stdout, t.stdout);
    assert_eq!(zoom.token_requests(), 2);
    assert_rotation_kept(&zoom, &project);
}

#[test]
fn courier_token_whose_rotation_cannot_be_saved_prints_no_token_and_exits_5() {
    let gate = support::Gate::new();
    let server = support::gated_token_server(&gate);
    let project = support::persisting_env();
    let folder = project.path().join("state");
    std::fs::create_dir(&folder).unwrap();
    let state = folder.join("env.state.yaml").display().to_string();
    let mut command = project.token_command(BUNDLED, &server.url());
    command
        .args(["--state", &state])
        .env("TMPDIR", project.path());
    let run = support::spawn(&mut command);
    support::wait_until("the token request went out", || server.hits() == 1);
    std::fs::remove_dir_all(&folder).unwrap();
    std::fs::write(&folder, "").unwrap();
    gate.open();

    let t = support::finish(run);

    assert_eq!(t.code, 5, "{t}");
    assert_eq!(
        t.stdout, "",
        "a token whose rotation is lost is not handed out"
    );
    t.assert_shows(&["the new value of `refresh_token` was not saved"]);
    t.assert_hides(&[support::FAKE_REFRESH_TOKEN, support::FAKE_ACCESS_TOKEN]);
}

#[test]
fn courier_token_for_server_to_server_sends_one_token_request() {
    let seed = Seed {
        client_id: "courier-demo-s2s-client".into(),
        client_secret: "courier-demo-s2s-secret".into(),
        ..support::seed()
    };
    let zoom = ZoomMock::start_background(seed, "127.0.0.1:0".parse().unwrap()).unwrap();
    let token = |state: &std::path::Path| {
        let mut command = support::courier();
        command
            .args(["token", "collections/zoom-s2s"])
            .args(["--env", "environments/s2s/emulator.yaml"])
            .args(["--var", &format!("base_url={}", zoom.base_url())])
            .arg("--state")
            .arg(state);
        support::transcript(&mut command)
    };
    let state = support::scratch_state();
    let first = token(&state);
    let second = token(&state);

    assert_eq!((first.code, second.code), (0, 0), "{first}\n{second}");
    assert_eq!(first.stdout, second.stdout);
    assert_eq!(zoom.token_requests(), 1);
    // Without the kept token, each call gets its own, and Zoom keeps only the newest few.
    for _ in 0..3 {
        assert_eq!(token(&support::scratch_state()).code, 0);
    }
    assert_eq!(zoom.token_requests(), 4);
}

#[test]
fn a_dry_run_shows_the_token_request_and_spends_nothing() {
    let zoom = support::emulator();
    let project = project(&zoom.base_url(), "", "GET", "");

    let t = project.run_app(&["--dry-run", "--request", "Me"]);

    assert_eq!(zoom.hits(), 0);
    assert_transcript!(t, @r#"
        exit_code: 0
        ----- stdout -----
        # oauth2 `OAuth2 token`: grant refresh_token from POST http://127.0.0.1:[PORT]/oauth/token; the rotated refresh token is saved to `refresh_token`; sent when no kept token has more than 5m left (the state file beside the environment keeps it)
        ### OAuth2 token
        POST http://127.0.0.1:[PORT]/oauth/token HTTP/1.1
        Accept: application/json
        Authorization: Basic ***
        Content-Type: application/x-www-form-urlencoded

        grant_type=refresh_token&refresh_token=***

        ### Me
        GET http://127.0.0.1:[PORT]/v2/users/me HTTP/1.1
        Authorization: Bearer ***


        ----- stderr -----
        "#);
}

#[test]
fn oauth2_settings_that_cannot_work_are_refused_with_where_and_how() {
    let zoom = support::emulator();
    let base = project(&zoom.base_url(), "", "GET", "");
    let text = collection("").replace(
        "refresh_token: \"{{ refresh_token }}\"",
        "refresh_token: \"{{ env('ZOOM_REFRESH_TOKEN') }}\"",
    );
    let project = base.with("app/collection.yaml", &text);

    let t = project.run_app(&[]);

    assert_eq!(zoom.hits(), 0);
    assert_transcript!(t, @r#"
        exit_code: 2
        ----- stdout -----

        ----- stderr -----
        error: `refresh_token` must name a variable
         --> [TEMP]/app/collection.yaml:8:20
          |
        8 |     refresh_token: "{{ env('ZOOM_REFRESH_TOKEN') }}"
          |                    ^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^ courier saves the rotated token to the variable written here
          |
          = note: the server kills the old refresh token when it issues a new one; the new one is saved to this variable's entry in the state file
          = help: write `refresh_token: "{{ refresh_token }}"` and define `refresh_token` in the environment (`"{{ env('ZOOM_REFRESH_TOKEN') }}"`)
        "#);

    let text = collection("").replace("grant: refresh_token", "grant: refresh");
    let project = project.with("app/collection.yaml", &text);
    let t = project.run_app(&[]);
    assert_eq!(t.code, 2, "{t}");
    t.assert_shows(&[
        "unknown OAuth2 grant `refresh`",
        "did you mean `refresh_token`?",
    ]);
}

#[test]
fn a_dead_refresh_token_is_sent_once_and_the_requests_needing_it_are_not_run() {
    let zoom = support::emulator();
    let project = project(&zoom.base_url(), "", "GET", "");
    let mut command = support::courier();
    command
        .args([
            "run",
            &project.file("app"),
            "--env",
            &project.file("env.yaml"),
        ])
        .env(REFRESH_TOKEN_VAR, "a-spent-refresh-token");

    let t = support::transcript(&mut command);

    assert_eq!(t.code, 4, "{t}");
    assert_eq!(zoom.token_requests(), 1);
    assert_eq!(zoom.hits(), 1, "no API call without a token");
    t.assert_shows(&[
        "getting the OAuth2 access token: credentials rejected (invalid_grant)",
        "needs the OAuth2 access token, which `OAuth2 token` did not get",
    ]);
    t.assert_hides(&["a-spent-refresh-token"]);
}

#[test]
fn the_readme_oauth2_collection_runs_as_written() {
    let readme =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md")).unwrap();
    let block = |starts: &str| {
        let start = readme
            .find(&format!("```yaml\n{starts}"))
            .expect("the README shows it")
            + 8;
        let end = start + readme[start..].find("```").unwrap();
        readme[start..end].to_string()
    };
    let zoom = support::emulator();
    let project = project(&zoom.base_url(), "", "GET", "")
        .with("app/collection.yaml", &block("name: My Zoom app"))
        .with("app/me.yaml", &block("name: Me\n"));

    let t = project.run_app(&["--var", &format!("api_base={}", zoom.base_url())]);

    assert_eq!(t.code, 0, "{t}");
    assert_eq!(zoom.token_requests(), 1);
    assert_rotation_kept(&zoom, &project);
}

#[test]
fn concurrent_courier_tokens_share_one_refresh() {
    let zoom = support::emulator();
    let project = project_for_bundled("");
    let children: Vec<_> = (0..8)
        .map(|_| support::spawn(&mut project.token_command(BUNDLED, &zoom.base_url())))
        .collect();

    let outputs: Vec<Transcript> = children.into_iter().map(support::finish).collect();

    for t in &outputs {
        assert_eq!(t.code, 0, "{t}");
        assert_eq!(t.stdout, outputs[0].stdout, "one token for all");
    }
    // Each waited for the lock, read the state again, and found the first one's token.
    assert_eq!(zoom.token_requests(), 1);
    assert_rotation_kept(&zoom, &project);
}

#[test]
fn a_fresh_kept_token_is_printed_while_a_run_holds_the_lock() {
    let gate = support::Gate::new();
    let held = gate.clone();
    let answered = Arc::new(AtomicUsize::new(0));
    let count = Arc::clone(&answered);
    // The first token request is answered at once; the later ones wait for the gate.
    let server = Server::start(move |request| {
        if !request.path.starts_with(USERS_ME) && count.fetch_add(1, Ordering::SeqCst) > 0 {
            held.wait();
        }
        Some(support::token_answer(request))
    });
    let project = project_for_bundled("");
    assert_eq!(project.token(BUNDLED, &server.url(), &[]).code, 0);
    let mut run = support::courier();
    run.args([
        "run",
        BUNDLED,
        "--env",
        &project.file("env.yaml"),
        "--tag",
        "smoke",
    ])
    .args(["--var", &format!("base_url={}", server.url())])
    .env(REFRESH_TOKEN_VAR, REFRESH_TOKEN);
    let run = support::spawn(&mut run);
    support::wait_until("the run sent its refresh", || server.hits() == 2);

    let t = project.token(BUNDLED, &server.url(), &["--lock-timeout", "1s"]);

    assert_eq!(t.code, 0, "{t}");
    assert_eq!(t.stdout, format!("{}\n", support::FAKE_ACCESS_TOKEN));
    gate.open();
    assert_eq!(support::finish(run).code, 0);
}

#[test]
fn a_hundred_runs_that_each_refresh_keep_the_rotation_while_ci_injects_the_first_token() {
    let zoom = support::emulator();
    // A margin longer than the token's life: every run refreshes.
    let project = project(&zoom.base_url(), "    margin: 2h\n", "GET", "");

    for run in 1..=100 {
        let t = project.run_app(&["--request", "Me", "-q"]);
        assert_eq!(t.code, 0, "run {run}: {t}");
    }

    assert_eq!(zoom.token_requests(), 100);
    assert_rotation_kept(&zoom, &project);
}

#[test]
fn a_token_without_a_lifetime_serves_its_run_but_is_not_read_back() {
    let server = Server::start(|request| {
        Some(match request.path.starts_with(USERS_ME) {
            true => support::user_answer(),
            false => Reply::json(
                r#"{"access_token":"no-expiry-token","token_type":"bearer","refresh_token":"rt-x"}"#,
            ),
        })
    });
    let project = project(&server.url(), "", "GET", "");
    let token_requests = || {
        server
            .requests()
            .iter()
            .filter(|r| r.path == "/oauth/token")
            .count()
    };

    assert_eq!(project.run_app(&[]).code, 0);
    assert_eq!(token_requests(), 1, "one token for both requests");
    assert_eq!(project.run_app(&[]).code, 0);
    assert_eq!(
        token_requests(),
        2,
        "a token of unknown life is not trusted later"
    );
}

#[test]
fn check_and_vars_say_what_the_oauth2_auth_will_do() {
    let zoom = support::emulator();
    let project = project(&zoom.base_url(), "", "GET", "");
    let args = |command: &str| {
        let mut c = support::courier();
        c.args([
            command,
            &project.file("app"),
            "--env",
            &project.file("env.yaml"),
        ])
        .env(REFRESH_TOKEN_VAR, REFRESH_TOKEN);
        support::transcript(&mut c)
    };

    let check = args("check");
    assert_transcript!(check, @r#"
        exit_code: 0
        ----- stdout -----
        ok: My Zoom app (2 requests, collection [TEMP]/app), environment [TEMP]/env.yaml
        oauth2 `OAuth2 token`: grant refresh_token, POST {{ base_url }}/oauth/token, client authentication basic

        ----- stderr -----
        "#);

    assert_eq!(project.run_app(&[]).code, 0);
    let mut vars = args("vars");
    // The kept token's expiry is an hour from now.
    let at = vars
        .stdout
        .find("keeps a token until ")
        .expect("the kept token is told")
        + 20;
    vars.stdout.replace_range(at..at + 20, "[EXPIRES]");
    assert_transcript!(vars, @r#"
        exit_code: 0
        ----- stdout -----
        NAME           VALUE                   SOURCE
        base_url       http://127.0.0.1:[PORT]  environment
        ClientID       courier-demo-client     environment
        ClientSecret   ***                     environment
        refresh_token  ***                     state ([TEMP]/env.state.yaml)

        refresh_token: saved value used: the injected value was already replaced by a rotation

        oauth2 `OAuth2 token`: grant refresh_token from POST http://127.0.0.1:[PORT]/oauth/token; the rotated refresh token is saved to `refresh_token`; not sent now: the state file keeps a token until [EXPIRES] (scope user:read), used until 5m before

        ----- stderr -----
        "#);
    vars.assert_hides(&[&project.kept_access_token()]);
    assert_eq!(zoom.token_requests(), 1, "neither sends anything");
}

#[test]
fn courier_token_on_an_oauth2_collection_keeps_the_token_the_run_then_uses() {
    let zoom = support::emulator();
    let project = project(&zoom.base_url(), "", "GET", "");

    let t = project.token(&project.file("app"), &zoom.base_url(), &[]);

    assert_eq!(t.code, 0, "{t}");
    assert_eq!(t.stdout.trim_end(), project.kept_access_token());
    assert_eq!(project.run_app(&[]).code, 0);
    assert_eq!(
        zoom.token_requests(),
        1,
        "the run used the token courier token kept"
    );
    // `--request` names a request whose auth is oauth2 as well.
    let named = project.token(
        &project.file("app"),
        &zoom.base_url(),
        &["--request", "Me again"],
    );
    assert_eq!(named.stdout, t.stdout);
    let wrong = project.token(
        &project.file("app"),
        &zoom.base_url(),
        &["--request", "Nope"],
    );
    assert_eq!(wrong.code, 2, "{wrong}");
}
