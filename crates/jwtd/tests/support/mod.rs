//! What the binary's tests share: a temporary working directory, the real `jwtd` binary run in
//! it, and a running `jwtd serve` whose standard error is kept in a file for log checks.

#![allow(dead_code)] // Each test file uses its own part of this module.

use std::io::Write;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use serde_json::Value;

pub const PASSWORD: &str = "correct horse battery staple";

/// A temporary working directory with its own database and generated key.
pub struct Workdir {
    dir: tempfile::TempDir,
    env: Vec<(String, String)>,
}

impl Workdir {
    pub fn new() -> Workdir {
        Workdir {
            dir: tempfile::tempdir().unwrap(),
            env: Vec::new(),
        }
    }

    pub fn with(mut self, var: &str, value: &str) -> Workdir {
        self.env.push((var.to_owned(), value.to_owned()));
        self
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    pub fn command(&self, args: &[&str]) -> Command {
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

    pub fn run(&self, args: &[&str]) -> Output {
        self.run_with_stdin(args, "")
    }

    pub fn run_with_stdin(&self, args: &[&str], stdin: &str) -> Output {
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

    pub fn ok(&self, args: &[&str]) -> String {
        let output = self.run(args);
        assert!(
            output.status.success(),
            "jwtd {args:?} failed: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        String::from_utf8(output.stdout).unwrap()
    }

    pub fn create_user(&self, name: &str) -> i64 {
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

pub fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// How often a wait checks its condition again.
const POLL_INTERVAL: Duration = Duration::from_millis(10);

/// How long a server may take to log its address, and then to answer.
const STARTUP: Duration = Duration::from_secs(20);

/// Checks `poll` every few milliseconds until it returns `Ok`, for up to `limit`. `Err` says
/// why the condition does not hold yet; the last one is returned when the time runs out.
fn poll_until<T>(
    limit: Duration,
    mut poll: impl FnMut() -> Result<T, String>,
) -> Result<T, String> {
    let deadline = Instant::now() + limit;
    loop {
        let why = match poll() {
            Ok(value) => return Ok(value),
            Err(why) => why,
        };
        if Instant::now() >= deadline {
            return Err(why);
        }
        std::thread::sleep(POLL_INTERVAL);
    }
}

/// Waits up to `limit` for `poll` to return `Ok` and returns its value. `Err` means "not yet"
/// and says why; when the time runs out the test fails with `waiting_for` and the last reason.
pub fn wait_until<T>(
    limit: Duration,
    waiting_for: &str,
    poll: impl FnMut() -> Result<T, String>,
) -> T {
    poll_until(limit, poll)
        .unwrap_or_else(|why| panic!("timed out after {limit:?} waiting for {waiting_for}: {why}"))
}

/// The address in the "jwtd listening" line of a log, in either log format:
/// `... INFO jwtd::commands: jwtd listening address=127.0.0.1:40123 tls=false ...` (`pretty`)
/// or `{..."fields":{"message":"jwtd listening","address":"127.0.0.1:40123",...},...}` (`json`).
fn listening_address(line: &str) -> Option<SocketAddr> {
    if let Ok(event) = serde_json::from_str::<Value>(line) {
        let fields = &event["fields"];
        if fields["message"] != "jwtd listening" {
            return None;
        }
        return fields["address"].as_str()?.parse().ok();
    }
    let (_, fields) = line.split_once(" jwtd listening ")?;
    fields
        .split(' ')
        .find_map(|field| field.strip_prefix("address="))?
        .parse()
        .ok()
}

/// A running `jwtd serve`.
pub struct Server {
    child: Child,
    /// The address it listens on, which the system chose.
    pub address: SocketAddr,
    /// `http://` and the address; a test serving HTTPS sets its own.
    pub base: String,
    /// The server's standard error (its logs).
    log: PathBuf,
}

impl Server {
    /// Starts `jwtd serve` and waits for `/healthz`.
    pub fn start(work: &Workdir) -> Server {
        Server::start_with(work, &[])
    }

    /// Starts with extra environment variables and waits for `/healthz`.
    pub fn start_with(work: &Workdir, vars: &[(&str, &str)]) -> Server {
        let mut server = Server::spawn(work, vars);
        server.wait_until_ok(STARTUP, "/healthz");
        server
    }

    /// Starts `jwtd serve` on a loopback port the system chooses, with extra environment
    /// variables, and returns once the server has logged that address; it may not answer yet.
    pub fn spawn(work: &Workdir, vars: &[(&str, &str)]) -> Server {
        static SPAWNED: AtomicUsize = AtomicUsize::new(0);
        let log = work.path().join(format!(
            "jwtd-{}.log",
            SPAWNED.fetch_add(1, Ordering::Relaxed)
        ));
        let mut command = work.command(&["serve"]);
        command
            .env("JWTD_LISTEN", "127.0.0.1:0")
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&log).unwrap());
        for (var, value) in vars {
            command.env(var, value);
        }
        let mut server = Server {
            child: command.spawn().unwrap(),
            address: SocketAddr::from(([127, 0, 0, 1], 0)),
            base: String::new(),
            log,
        };
        server.address = server.wait_until(STARTUP, "the address it listens on", |server| {
            let logs = server.logs();
            // Whole lines only: the last one may be half written.
            let (written, _) = logs.rsplit_once('\n').unwrap_or_default();
            written
                .lines()
                .find_map(listening_address)
                .ok_or_else(|| "no \"jwtd listening\" line in the logs yet".to_owned())
        });
        server.base = format!("http://{}", server.address);
        server
    }

    /// [`wait_until`] for something of this server; fails at once if the process exits first,
    /// and gives the server's logs when the wait fails.
    pub fn wait_until<T>(
        &mut self,
        limit: Duration,
        waiting_for: &str,
        mut poll: impl FnMut(&Server) -> Result<T, String>,
    ) -> T {
        let outcome = poll_until(limit, || {
            let why = match poll(self) {
                Ok(value) => return Ok(value),
                Err(why) => why,
            };
            if let Some(status) = self.child.try_wait().unwrap() {
                panic!(
                    "jwtd serve exited with {status} while waiting for {waiting_for} ({why}); \
                     its logs:\n{}",
                    self.logs()
                );
            }
            Err(why)
        });
        outcome.unwrap_or_else(|why| {
            panic!(
                "timed out after {limit:?} waiting for {waiting_for} ({why}); the server's logs:\n{}",
                self.logs()
            )
        })
    }

    /// Waits until `GET path` answers 200.
    pub fn wait_until_ok(&mut self, limit: Duration, path: &str) {
        self.wait_until(limit, &format!("200 from {path}"), |server| {
            match server.get(path) {
                (200, _) => Ok(()),
                (status, body) => Err(format!("GET {path}: {status} {body}")),
            }
        });
    }

    /// Waits until the logs contain `needle`.
    pub fn wait_for_log(&mut self, needle: &str) {
        self.wait_until(
            Duration::from_secs(10),
            &format!("{needle:?} in the logs"),
            |server| {
                if server.logs().contains(needle) {
                    Ok(())
                } else {
                    Err("not logged yet".to_owned())
                }
            },
        );
    }

    /// Everything the server has logged so far.
    pub fn logs(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    pub fn client() -> reqwest::blocking::Client {
        reqwest::blocking::Client::new()
    }

    pub fn get(&self, path: &str) -> (u16, String) {
        match Self::client().get(format!("{}{path}", self.base)).send() {
            Ok(response) => (
                response.status().as_u16(),
                response.text().unwrap_or_default(),
            ),
            Err(_) => (0, String::new()),
        }
    }

    pub fn get_auth(&self, path: &str, access: &str) -> (u16, String) {
        let response = Self::client()
            .get(format!("{}{path}", self.base))
            .bearer_auth(access)
            .send()
            .unwrap();
        (response.status().as_u16(), response.text().unwrap())
    }

    pub fn post(&self, path: &str, body: Value) -> (u16, Value) {
        let response = Self::client()
            .post(format!("{}{path}", self.base))
            .json(&body)
            .send()
            .unwrap();
        (response.status().as_u16(), response.json().unwrap())
    }

    /// Sends `signal` (e.g. `TERM`, `HUP`) with kill(1).
    pub fn signal(&self, signal: &str) {
        let status = Command::new("kill")
            .args([format!("-{signal}"), self.child.id().to_string()])
            .status()
            .unwrap();
        assert!(status.success(), "kill -{signal} failed");
    }

    /// Waits for the process to exit on its own, up to `limit`.
    pub fn wait_exit(&mut self, limit: Duration) -> std::process::ExitStatus {
        let exited = poll_until(limit, || {
            self.child
                .try_wait()
                .unwrap()
                .ok_or_else(|| "still running".to_owned())
        });
        exited.unwrap_or_else(|_| panic!("jwtd did not exit within {limit:?}: {}", self.logs()))
    }

    pub fn kill(mut self) {
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

pub fn login(server: &Server, username: &str) -> (String, String) {
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

/// The default `kid` of a PEM private key or secret (its RFC 7638 thumbprint, for a PEM key).
pub fn kid_of(algorithm: jwtd_token::Algorithm, pem: &str) -> String {
    jwtd_token::Keys::new(algorithm, pem.as_bytes(), None)
        .unwrap()
        .default_kid()
        .to_owned()
}

/// The `kid` in a token's header.
pub fn header_kid(token: &str) -> String {
    let (header, _) = jwtd_token::dangerous_decode_unverified(token).unwrap();
    header["kid"].as_str().unwrap().to_owned()
}

/// The kids `server` publishes in its JWKS, in order.
pub fn jwks_kids(server: &Server) -> Vec<String> {
    let (status, body) = server.get("/.well-known/jwks.json");
    assert_eq!(status, 200, "{body}");
    let jwks: Value = serde_json::from_str(&body).unwrap();
    jwks["keys"]
        .as_array()
        .unwrap()
        .iter()
        .map(|key| key["kid"].as_str().unwrap().to_owned())
        .collect()
}
