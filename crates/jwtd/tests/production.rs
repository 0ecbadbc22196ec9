//! The real binary as it runs in production: HTTPS with HTTP/1.1 and HTTP/2 by ALPN,
//! certificate reload on SIGHUP, graceful shutdown on SIGTERM with requests in flight, and logs
//! that never contain a password, a token or a key.

mod support;

use std::path::Path;
use std::time::Duration;

use rcgen::{BasicConstraints, CertificateParams, CertifiedIssuer, IsCa, KeyPair};
use serde_json::{Value, json};
use support::{PASSWORD, Server, Workdir, login};

/// A fresh CA and a `localhost` certificate it signed: (CA PEM, chain PEM, key PEM).
fn certificate_authority() -> (String, String, String) {
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    let ca = CertifiedIssuer::self_signed(ca_params, KeyPair::generate().unwrap()).unwrap();
    let leaf_key = KeyPair::generate().unwrap();
    let leaf = CertificateParams::new(vec!["localhost".to_owned()])
        .unwrap()
        .signed_by(&leaf_key, &ca)
        .unwrap();
    (ca.pem(), leaf.pem(), leaf_key.serialize_pem())
}

fn write_pair(dir: &Path, chain: &str, key: &str) {
    // Written next to each other and renamed into place, as certificate tools do.
    std::fs::write(dir.join("cert.pem.new"), chain).unwrap();
    std::fs::write(dir.join("key.pem.new"), key).unwrap();
    std::fs::rename(dir.join("cert.pem.new"), dir.join("cert.pem")).unwrap();
    std::fs::rename(dir.join("key.pem.new"), dir.join("key.pem")).unwrap();
}

/// A client that trusts only `ca_pem` and reaches `localhost` on 127.0.0.1.
fn tls_client(ca_pem: &str, port: u16, http1_only: bool) -> reqwest::blocking::Client {
    let mut builder = reqwest::blocking::Client::builder()
        .tls_certs_only([reqwest::Certificate::from_pem(ca_pem.as_bytes()).unwrap()])
        .resolve("localhost", ([127, 0, 0, 1], port).into())
        .timeout(Duration::from_secs(10));
    if http1_only {
        builder = builder.http1_only();
    }
    builder.build().unwrap()
}

#[test]
fn https_with_http1_and_http2_and_certificate_reload_on_sighup() {
    let work = Workdir::new();
    let (ca_a, chain_a, key_a) = certificate_authority();
    write_pair(work.path(), &chain_a, &key_a);
    let cert = work.path().join("cert.pem").display().to_string();
    let key = work.path().join("key.pem").display().to_string();
    let mut server = Server::spawn(
        &work,
        &[("JWTD_TLS_CERT_FILE", &cert), ("JWTD_TLS_KEY_FILE", &key)],
    );
    let port = server.address.port();
    server.base = format!("https://localhost:{port}");
    let url = format!("{}/healthz", server.base);
    let trusting_a = tls_client(&ca_a, port, false);
    let response = server.wait_until(Duration::from_secs(20), "an answer over HTTPS", |_| {
        trusting_a.get(&url).send().map_err(|e| e.to_string())
    });
    assert_eq!(response.status(), 200);
    assert_eq!(response.version(), reqwest::Version::HTTP_2, "ALPN h2");
    assert_eq!(
        response.headers()["strict-transport-security"],
        "max-age=31536000"
    );
    let h1 = tls_client(&ca_a, port, true).get(&url).send().unwrap();
    assert_eq!(h1.version(), reqwest::Version::HTTP_11);
    assert_eq!(h1.status(), 200);
    // Plain HTTP on the TLS port is refused, not served.
    assert!(
        reqwest::blocking::get(format!("http://127.0.0.1:{port}/healthz"))
            .map(|r| r.status() != 200)
            .unwrap_or(true)
    );

    // Keep an HTTP/2 connection open across the reload: it must survive.
    let kept = tls_client(&ca_a, port, false);
    assert_eq!(kept.get(&url).send().unwrap().status(), 200);

    let (ca_b, chain_b, key_b) = certificate_authority();
    write_pair(work.path(), &chain_b, &key_b);
    server.signal("HUP");
    server.wait_for_log("reloaded the TLS certificate");
    let trusting_b = tls_client(&ca_b, port, false);
    assert_eq!(trusting_b.get(&url).send().unwrap().status(), 200);
    assert!(
        tls_client(&ca_a, port, false).get(&url).send().is_err(),
        "new connections must get the new certificate"
    );
    assert_eq!(
        kept.get(&url).send().unwrap().status(),
        200,
        "open connections keep working"
    );

    // A broken file keeps the current certificate and says why.
    std::fs::write(work.path().join("cert.pem"), "not a certificate").unwrap();
    server.signal("HUP");
    server.wait_for_log("cannot reload the TLS certificate");
    assert_eq!(
        tls_client(&ca_b, port, false)
            .get(&url)
            .send()
            .unwrap()
            .status(),
        200
    );
}

fn metric(text: &str, name: &str) -> f64 {
    text.lines()
        .find_map(|line| {
            line.strip_prefix(name)?
                .strip_prefix(' ')?
                .trim()
                .parse()
                .ok()
        })
        .unwrap_or(0.0)
}

#[test]
fn sigterm_lets_requests_in_flight_finish_then_exits_zero() {
    let work = Workdir::new();
    work.create_user("alice");
    let mut server = Server::start_with(
        &work,
        &[
            ("JWTD_PASSWORD_HASH_CONCURRENCY", "1"),
            ("JWTD_LOGIN_RATE_PER_ADDRESS", "off"),
            ("JWTD_LOGIN_RATE_PER_USERNAME", "off"),
        ],
    );
    let base = server.base.clone();
    let logins: Vec<_> = (0..8)
        .map(|_| {
            let base = base.clone();
            std::thread::spawn(move || {
                let response = reqwest::blocking::Client::new()
                    .post(format!("{base}/api/token/"))
                    .json(&json!({ "username": "alice", "password": PASSWORD }))
                    .send()
                    .expect("an answer, not a dropped connection");
                let status = response.status().as_u16();
                let body: Value = response.json().unwrap();
                (status, body)
            })
        })
        .collect();
    // Wait until every login has reached the hashing pool (waiting in its queue, or taken off
    // it) and some are still queued behind the single hashing thread. A connection the server
    // has not accepted yet when SIGTERM arrives is refused, as with any server that stops
    // listening, so the test must not signal before all eight are in.
    server.wait_until(
        Duration::from_secs(20),
        "the logins to queue up",
        |server| {
            let (_, metrics) = server.get("/metrics");
            let queued = metric(&metrics, "jwtd_password_hash_queue_length");
            let taken = metric(&metrics, "jwtd_password_hash_wait_seconds_count");
            if queued + taken >= logins.len() as f64 && queued >= 1.0 {
                Ok(())
            } else {
                Err(format!("{queued} queued, {taken} taken"))
            }
        },
    );
    server.signal("TERM");
    for login in logins {
        let (status, body) = login.join().unwrap();
        assert_eq!(status, 200, "{body}");
        assert!(body["access"].is_string());
    }
    let status = server.wait_exit(Duration::from_secs(20));
    assert!(status.success(), "exit status {status}");
    let logs = server.logs();
    assert!(logs.contains("shutting down"), "{logs}");
    assert!(logs.contains("jwtd stopped"), "{logs}");
    assert!(
        !logs.contains('\u{1b}'),
        "colour codes in logs written to a file: {logs}"
    );
    // Once it has exited, nothing listens on its address.
    assert!(std::net::TcpStream::connect(server.address).is_err());
}

#[test]
fn logs_carry_request_ids_and_never_secrets() {
    const SIGNING_KEY: &str = "log-redaction-test-signing-key-0123456789abcdefghijklmnopqrstuv";
    const WRONG_PASSWORD: &str = "wrong-password-that-must-not-be-logged";
    let work = Workdir::new()
        .with("JWTD_SIGNING_KEY", SIGNING_KEY)
        .with("JWTD_ROTATE_REFRESH_TOKENS", "true")
        .with("JWTD_BLACKLIST_AFTER_ROTATION", "true");
    work.create_user("alice");
    let mut server = Server::start_with(
        &work,
        &[
            ("JWTD_LOG_FORMAT", "json"),
            // Everything every crate logs, hyper's and rustls's internals included.
            ("JWTD_LOG_LEVEL", "trace"),
        ],
    );
    let client = reqwest::blocking::Client::new();
    let (refresh, access) = login(&server, "alice");
    let mut secrets = vec![
        PASSWORD.to_owned(),
        WRONG_PASSWORD.to_owned(),
        SIGNING_KEY.to_owned(),
        refresh.clone(),
        access.clone(),
    ];
    let (status, _) = server.post(
        "/api/token/",
        json!({ "username": "alice", "password": WRONG_PASSWORD }),
    );
    assert_eq!(status, 401);
    let (status, rotated) = server.post("/api/token/refresh/", json!({ "refresh": refresh }));
    assert_eq!(status, 200);
    for name in ["access", "refresh"] {
        secrets.push(rotated[name].as_str().unwrap().to_owned());
    }
    assert_eq!(
        server
            .post("/api/token/verify/", json!({ "token": access }))
            .0,
        200
    );
    assert_eq!(server.get_auth("/hello/", &access).0, 200);
    assert_eq!(server.get_auth("/api/auth/check", &access).0, 200);
    let (status, _) = server.post(
        "/api/token/blacklist/",
        json!({ "refresh": rotated["refresh"] }),
    );
    assert_eq!(status, 200);
    // A form body and a token in the query string are not logged either.
    let form = client
        .post(format!("{}/api/token/", server.base))
        .form(&[("username", "alice"), ("password", PASSWORD)])
        .send()
        .unwrap();
    assert_eq!(form.status(), 200);
    let tagged = client
        .get(format!("{}/hello/?token={access}", server.base))
        .header("X-Request-Id", "trace-me-42")
        .bearer_auth(&access)
        .send()
        .unwrap();
    assert_eq!(tagged.headers()["x-request-id"], "trace-me-42");

    server.signal("TERM");
    assert!(server.wait_exit(Duration::from_secs(20)).success());
    let logs = server.logs();
    assert!(!logs.is_empty());
    for secret in &secrets {
        assert!(
            !logs.contains(secret.as_str()),
            "a secret leaked into the logs"
        );
        // Token signatures alone are secrets too (they authenticate the token).
        if let Some(signature) = secret.rsplit('.').next().filter(|_| secret.contains('.')) {
            assert!(!logs.contains(signature), "a token signature leaked");
        }
    }
    // Every line is JSON; every request has one access line with its id, status and client.
    let lines: Vec<Value> = logs
        .lines()
        .map(|line| serde_json::from_str(line).unwrap_or_else(|e| panic!("{e}: {line}")))
        .collect();
    let access_lines: Vec<&Value> = lines
        .iter()
        .filter(|line| line["target"] == "jwtd::access")
        .collect();
    assert!(
        access_lines.len() >= 10,
        "{} access lines",
        access_lines.len()
    );
    let tagged_line = access_lines
        .iter()
        .find(|line| line["span"]["request_id"] == "trace-me-42")
        .expect("the access line of the tagged request");
    assert_eq!(tagged_line["fields"]["status"], 200);
    assert_eq!(tagged_line["span"]["client"], "127.0.0.1");
    assert_eq!(tagged_line["span"]["path"], "/hello/");
    assert!(tagged_line["fields"]["latency_ms"].is_number());
    for line in &access_lines {
        assert!(
            line["span"]["request_id"]
                .as_str()
                .is_some_and(|id| !id.is_empty())
        );
    }
}
