//! What the binary's tests share: a temporary working directory, the real `jwtd` binary run in
//! it, and a running `jwtd serve` whose standard error is kept in a file for log checks.

#![allow(dead_code)] // Each test file uses its own part of this module.

use std::io::Write;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
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

pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A running `jwtd serve`.
pub struct Server {
    pub child: Child,
    pub base: String,
    /// The server's standard error (its logs).
    pub log: PathBuf,
}

impl Server {
    /// Starts `jwtd serve` on `port` and waits for `/healthz`.
    pub fn start(work: &Workdir, port: u16) -> Server {
        Server::start_with(work, port, &[])
    }

    /// Starts with extra environment variables.
    pub fn start_with(work: &Workdir, port: u16, vars: &[(&str, &str)]) -> Server {
        let log = work.path().join(format!("jwtd-{port}.log"));
        let mut command = work.command(&["serve"]);
        command
            .env("JWTD_LISTEN", format!("127.0.0.1:{port}"))
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&log).unwrap());
        for (var, value) in vars {
            command.env(var, value);
        }
        let child = command.spawn().unwrap();
        let mut server = Server {
            child,
            base: format!("http://127.0.0.1:{port}"),
            log,
        };
        let deadline = Instant::now() + Duration::from_secs(20);
        while Instant::now() < deadline {
            if server.get("/healthz").0 == 200 {
                return server;
            }
            if let Ok(Some(status)) = server.child.try_wait() {
                panic!("jwtd serve exited with {status}: {}", server.logs());
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        panic!("jwtd serve did not answer /healthz: {}", server.logs());
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
        let deadline = Instant::now() + limit;
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status;
            }
            assert!(
                Instant::now() < deadline,
                "jwtd did not exit within {limit:?}: {}",
                self.logs()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
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
