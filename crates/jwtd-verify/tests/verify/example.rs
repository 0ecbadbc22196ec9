//! The example resource server, run as a user would run it, against the test JWKS server.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::OnceLock;
use std::time::Duration;

use jwtd_token::{Algorithm, Policy};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

use crate::helpers::{Issuer, JwksServer, jwks_of};

/// The example's binary: `cargo test` builds examples next to the test binaries
/// (`target/<profile>/examples`); built here, once, when it is not there (`cargo test --test
/// verify` builds no examples).
fn example_binary() -> &'static Path {
    static BINARY: OnceLock<PathBuf> = OnceLock::new();
    BINARY.get_or_init(|| {
        let exe = std::env::current_exe().unwrap();
        // target/<profile>/deps/verify-<hash>
        let profile_dir = exe.parent().and_then(|deps| deps.parent()).unwrap();
        let binary = profile_dir
            .join("examples")
            .join(format!("resource_server{}", std::env::consts::EXE_SUFFIX));
        if !binary.exists() {
            let status = std::process::Command::new(env!("CARGO"))
                .args(["build", "--example", "resource_server", "-p", "jwtd-verify"])
                .status()
                .unwrap();
            assert!(
                status.success(),
                "cargo build --example resource_server failed"
            );
        }
        binary
    })
}

/// Starts the example with `env`, returning it and the address it listens on.
async fn start(env: &[(&str, String)]) -> (Child, String) {
    let mut child = Command::new(example_binary())
        .envs(env.iter().map(|(k, v)| (k, v)))
        .env("LISTEN", "127.0.0.1:0")
        .env("RUST_LOG", "warn")
        .stdout(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let line = tokio::time::timeout(Duration::from_secs(20), lines.next_line())
        .await
        .expect("the example did not start in time")
        .unwrap()
        .expect("the example exited before listening");
    let addr = line
        .strip_prefix("listening on ")
        .unwrap_or_else(|| panic!("unexpected first line {line:?}"))
        .to_owned();
    (child, addr)
}

async fn whoami(addr: &str, token: Option<&str>) -> (u16, String) {
    let mut request = reqwest::Client::new().get(format!("http://{addr}/whoami"));
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    (status, response.text().await.unwrap())
}

#[tokio::test]
async fn the_example_resource_server_answers_whoami() {
    let issuer = Issuer::new(Algorithm::ES256);
    let server = JwksServer::start(&jwks_of(&[&issuer])).await;
    let (_child, addr) = start(&[("JWKS_URL", server.url())]).await;

    assert_eq!(
        whoami(&addr, Some(&issuer.access(42))).await,
        (200, r#"{"user_id":"42"}"#.to_owned())
    );
    let (status, body) = whoami(&addr, None).await;
    assert_eq!(status, 401);
    assert_eq!(
        body,
        r#"{"detail":"Authentication credentials were not provided."}"#
    );
    let refresh = issuer.pair_at(42, crate::helpers::now()).refresh.token;
    assert_eq!(whoami(&addr, Some(&refresh)).await.0, 401);
}

#[tokio::test]
async fn the_example_checks_issuer_and_audience_when_set() {
    let issuer = Issuer::new(Algorithm::EdDSA);
    let server = JwksServer::start(&jwks_of(&[&issuer])).await;
    let (_child, addr) = start(&[
        ("JWKS_URL", server.url()),
        ("JWT_ISSUER", "https://auth.example.com".to_owned()),
        ("JWT_AUDIENCE", "orders".to_owned()),
    ])
    .await;
    let right = issuer.with_policy(Policy {
        issuer: Some("https://auth.example.com".to_owned()),
        audience: Some("orders".to_owned()),
        ..Policy::default()
    });
    assert_eq!(
        whoami(&addr, Some(&right.access(5))).await,
        (200, r#"{"user_id":"5"}"#.to_owned())
    );
    assert_eq!(whoami(&addr, Some(&issuer.access(5))).await.0, 401);
}
