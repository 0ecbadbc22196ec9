//! The real `jwtd` binary, run in a temporary directory: user management, keys, tokens, and a
//! server that is killed with SIGKILL and restarted without losing its blacklist.

use std::io::Write;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

const PASSWORD: &str = "correct horse battery staple";

/// A temporary working directory with its own database and generated key.
struct Workdir {
    dir: tempfile::TempDir,
    env: Vec<(String, String)>,
}

impl Workdir {
    fn new() -> Workdir {
        Workdir {
            dir: tempfile::tempdir().unwrap(),
            env: Vec::new(),
        }
    }

    fn with(mut self, var: &str, value: &str) -> Workdir {
        self.env.push((var.to_owned(), value.to_owned()));
        self
    }

    fn path(&self) -> &Path {
        self.dir.path()
    }

    fn command(&self, args: &[&str]) -> Command {
        let mut command = Command::new(env!("CARGO_BIN_EXE_jwtd"));
        command.args(args).current_dir(self.path());
        for (var, _) in std::env::vars() {
            if var.starts_with("JWTD_") {
                command.env_remove(var);
            }
        }
        for (var, value) in &self.env {
            command.env(var, value);
        }
        command
    }

    fn run(&self, args: &[&str]) -> Output {
        self.run_with_stdin(args, "")
    }

    fn run_with_stdin(&self, args: &[&str], stdin: &str) -> Output {
        let mut child = self
            .command(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        child
            .stdin
            .take()
            .unwrap()
            .write_all(stdin.as_bytes())
            .unwrap();
        child.wait_with_output().unwrap()
    }

    fn ok(&self, args: &[&str]) -> String {
        let output = self.run(args);
        assert!(
            output.status.success(),
            "jwtd {args:?} failed: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        String::from_utf8(output.stdout).unwrap()
    }

    fn create_user(&self, name: &str) -> i64 {
        let output = self.run_with_stdin(
            &["user", "create", name, "--password-stdin"],
            &format!("{PASSWORD}\n"),
        );
        assert!(
            output.status.success(),
            "{}",
            String::from_utf8_lossy(&output.stderr)
        );
        String::from_utf8(output.stdout)
            .unwrap()
            .trim()
            .parse()
            .expect("the id alone on stdout")
    }
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

#[test]
fn user_management() {
    let work = Workdir::new();
    assert_eq!(work.create_user("alice"), 1);
    assert_eq!(work.create_user("bob"), 2);

    let duplicate = work.run_with_stdin(&["user", "create", "alice", "--password-stdin"], PASSWORD);
    assert!(!duplicate.status.success());
    assert_eq!(
        stderr(&duplicate).lines().count(),
        1,
        "{}",
        stderr(&duplicate)
    );
    assert!(stderr(&duplicate).contains("already exists"));

    let bad_name = work.run_with_stdin(
        &["user", "create", "no spaces", "--password-stdin"],
        PASSWORD,
    );
    assert!(!bad_name.status.success());
    let empty = work.run_with_stdin(&["user", "create", "carol", "--password-stdin"], "\n");
    assert!(!empty.status.success());
    assert!(stderr(&empty).contains("empty"));

    let shown: Value =
        serde_json::from_str(&work.ok(&["user", "show", "alice", "--json"])).unwrap();
    assert_eq!(shown["id"], 1);
    assert_eq!(shown["username"], "alice");
    assert_eq!(shown["is_active"], true);
    assert!(shown["date_joined"].as_str().unwrap().ends_with('Z'));
    assert!(shown["last_login"].is_null());

    work.ok(&["user", "deactivate", "bob"]);
    let listed: Value = serde_json::from_str(&work.ok(&["user", "list", "--json"])).unwrap();
    let listed = listed.as_array().unwrap();
    assert_eq!(listed.len(), 2);
    assert_eq!(listed[1]["is_active"], false);
    work.ok(&["user", "activate", "bob"]);
    work.ok(&["user", "delete", "bob"]);
    assert!(work.ok(&["user", "list"]).contains("alice"));
    assert!(!work.ok(&["user", "list"]).contains("bob"));

    let missing = work.run(&["user", "delete", "bob"]);
    assert!(!missing.status.success());
    assert_eq!(stderr(&missing).trim(), "error: no user named \"bob\"");

    let inactive = work.run_with_stdin(
        &["user", "create", "dora", "--password-stdin", "--inactive"],
        PASSWORD,
    );
    assert!(inactive.status.success());
    let dora: Value = serde_json::from_str(&work.ok(&["user", "show", "dora", "--json"])).unwrap();
    assert_eq!(dora["is_active"], false);
}

#[test]
fn keys_and_tokens_for_every_algorithm_family() {
    for algorithm in ["HS512", "RS256", "PS384", "ES256", "ES384", "EdDSA"] {
        let work = Workdir::new();
        let key = work.path().join("signing.pem");
        let generated = work.run(&[
            "keys",
            "generate",
            "--algorithm",
            algorithm,
            "--out",
            key.to_str().unwrap(),
        ]);
        assert!(
            generated.status.success(),
            "{algorithm}: {}",
            stderr(&generated)
        );
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            assert_eq!(
                std::fs::metadata(&key).unwrap().permissions().mode() & 0o777,
                0o600
            );
        }
        // Never overwrites.
        assert!(
            !work
                .run(&[
                    "keys",
                    "generate",
                    "--algorithm",
                    algorithm,
                    "--out",
                    key.to_str().unwrap()
                ])
                .status
                .success()
        );

        let work = work
            .with("JWTD_ALGORITHM", algorithm)
            .with("JWTD_SIGNING_KEY_FILE", key.to_str().unwrap());
        work.create_user("alice");
        let pair: Value = serde_json::from_str(&work.ok(&["token", "issue", "alice"])).unwrap();
        let access = pair["access"].as_str().unwrap();
        assert!(
            work.ok(&["token", "verify", access]).contains("valid"),
            "{algorithm}"
        );

        let decoded: Value = serde_json::from_str(&work.ok(&["token", "decode", access])).unwrap();
        assert_eq!(decoded["verified"], false);
        assert_eq!(decoded["header"]["alg"], algorithm);
        assert_eq!(decoded["claims"]["user_id"], "1");
        assert!(decoded["times"]["exp"].as_str().unwrap().ends_with('Z'));

        let mut tampered = access.to_owned();
        tampered.truncate(tampered.len() - 4);
        tampered.push_str("AAAA");
        let refused = work.run(&["token", "verify", &tampered]);
        assert_eq!(refused.status.code(), Some(1), "{algorithm}");
        assert_eq!(stderr(&refused).trim(), "invalid: Token is invalid");
    }
}

#[test]
fn bad_configuration_is_one_clear_line() {
    let work = Workdir::new().with("JWTD_SIGNING_KEY", "too-short");
    work.create_user("alice");
    let output = work.run(&["token", "issue", "alice"]);
    assert!(!output.status.success());
    assert_eq!(
        stderr(&output).trim(),
        "error: signing_key: the HS256 secret is 9 bytes; at least 32 bytes are required"
    );

    let work = Workdir::new().with("JWTD_ACCESS_TOKEN_LIFETIME", "0");
    let output = work.run(&["migrate"]);
    assert!(!output.status.success());
    assert_eq!(
        stderr(&output).trim(),
        "error: access_token_lifetime: must be longer than zero"
    );

    let work = Workdir::new();
    std::fs::write(work.path().join("jwtd.toml"), "algoritm = \"HS256\"\n").unwrap();
    let output = work.run(&["--config", "jwtd.toml", "migrate"]);
    assert!(!output.status.success());
    assert_eq!(stderr(&output).lines().count(), 1, "{}", stderr(&output));
    assert!(stderr(&output).contains("algoritm"));
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A running `jwtd serve`.
struct Server {
    child: Child,
    base: String,
}

impl Server {
    fn start(work: &Workdir, port: u16) -> Server {
        let child = work
            .command(&["serve"])
            .env("JWTD_LISTEN", format!("127.0.0.1:{port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let server = Server {
            child,
            base: format!("http://127.0.0.1:{port}"),
        };
        let deadline = Instant::now() + Duration::from_secs(20);
        while Instant::now() < deadline {
            if server.get("/healthz").0 == 200 {
                return server;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        panic!("jwtd serve did not answer /healthz");
    }

    fn client() -> reqwest::blocking::Client {
        reqwest::blocking::Client::new()
    }

    fn get(&self, path: &str) -> (u16, String) {
        match Self::client().get(format!("{}{path}", self.base)).send() {
            Ok(response) => (
                response.status().as_u16(),
                response.text().unwrap_or_default(),
            ),
            Err(_) => (0, String::new()),
        }
    }

    fn get_auth(&self, path: &str, access: &str) -> (u16, String) {
        let response = Self::client()
            .get(format!("{}{path}", self.base))
            .bearer_auth(access)
            .send()
            .unwrap();
        (response.status().as_u16(), response.text().unwrap())
    }

    fn post(&self, path: &str, body: Value) -> (u16, Value) {
        let response = Self::client()
            .post(format!("{}{path}", self.base))
            .json(&body)
            .send()
            .unwrap();
        (response.status().as_u16(), response.json().unwrap())
    }

    fn kill(mut self) {
        // SIGKILL: no chance to flush anything; what was acknowledged must already be on disk.
        self.child.kill().unwrap();
        self.child.wait().unwrap();
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn login(server: &Server, username: &str) -> (String, String) {
    let (status, body) = server.post(
        "/api/token/",
        serde_json::json!({"username": username, "password": PASSWORD}),
    );
    assert_eq!(status, 200, "{body}");
    (
        body["refresh"].as_str().unwrap().to_owned(),
        body["access"].as_str().unwrap().to_owned(),
    )
}

#[test]
fn a_blacklist_survives_kill_9_and_the_cli_works_beside_the_server() {
    let work = Workdir::new()
        .with("JWTD_ROTATE_REFRESH_TOKENS", "true")
        .with("JWTD_BLACKLIST_AFTER_ROTATION", "true");
    let port = free_port();
    let server = Server::start(&work, port);

    // A user created by the CLI while the server runs can log in at once.
    work.create_user("alice");
    let (refresh, access) = login(&server, "alice");
    assert_eq!(
        server.get_auth("/hello/", &access),
        (200, r#"{"message":"Hello, alice!"}"#.to_owned())
    );

    let (rotated_status, rotated) = server.post(
        "/api/token/refresh/",
        serde_json::json!({"refresh": refresh}),
    );
    assert_eq!(rotated_status, 200);
    let successor = rotated["refresh"].as_str().unwrap().to_owned();
    let (status, _) = server.post(
        "/api/token/blacklist/",
        serde_json::json!({"refresh": successor}),
    );
    assert_eq!(status, 200);

    // Deactivation by the CLI takes effect on the next request.
    work.ok(&["user", "deactivate", "alice"]);
    assert_eq!(server.get_auth("/hello/", &access).0, 401);
    work.ok(&["user", "activate", "alice"]);

    server.kill();
    let server = Server::start(&work, port);

    for token in [&refresh, &successor] {
        let (status, body) =
            server.post("/api/token/refresh/", serde_json::json!({"refresh": token}));
        assert_eq!(status, 401);
        assert_eq!(
            body,
            serde_json::json!({"detail": "Token is blacklisted", "code": "token_not_valid"})
        );
    }
    // The generated secret was reused: the access token issued before the restart still works.
    assert_eq!(server.get_auth("/hello/", &access).0, 200);

    let flushed = work.ok(&["flush-expired"]);
    assert!(
        flushed.starts_with("removed 0 expired issued tokens"),
        "{flushed}"
    );
    drop(server);
    assert!(data_dir(&work).join("signing-key").exists());
}

fn data_dir(work: &Workdir) -> PathBuf {
    work.path().join("jwtd-data")
}
