//! jwtd's published keys read by clients no one here wrote: PyJWT's `PyJWKClient` and
//! djangorestframework-simplejwt's `SIMPLE_JWT["JWK_URL"]` verify the real `jwtd serve`'s access
//! tokens from `/.well-known/jwks.json` (and from OpenID discovery), before and after a key
//! rotation made by rewriting the configuration file and `SIGHUP`, and once the old key is gone.
//!
//! The clients are the scripts in `testdata/jwks-clients`, each reading JSON commands on its
//! standard input and answering one JSON line each. They run on the Python named by
//! `JWTD_DJANGO_PYTHON` (`.ci/django-env` makes that virtualenv, with PyJWT[crypto]); without the
//! variable the tests pass after a notice, and with `JWTD_REQUIRE_DJANGO=1` (CI) a missing one
//! fails them, as in `django_e2e.rs`.
//!
//! PyJWKClient keeps the JWK Set it downloaded (300 s by default, whatever `Cache-Control`
//! says) and downloads it again for an unknown `kid` only once its cooldown (30 s by default)
//! since the last download has passed. So a client that lives across a rotation is checked for
//! what it really does: with the defaults (which simplejwt uses) a token of a key it has not
//! seen is refused inside the cooldown, and with `cooldown_duration=0` it downloads the set
//! again and accepts it; a removed key's tokens are refused by new clients and by one that does
//! not cache the set, and still accepted by one whose cached set has the key.

mod support;

use std::fs::File;
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::Once;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc::{self, Receiver};
use std::time::Duration;

use jwtd_token::Algorithm;
use serde_json::{Value, json};
use support::{Server, Workdir, header_kid, jwks_kids, kid_of, login};

const PYTHON_VAR: &str = "JWTD_DJANGO_PYTHON";
const REQUIRE_VAR: &str = "JWTD_REQUIRE_DJANGO";

/// How long a script may take to answer one command (Django's start included).
const ANSWER_WITHIN: Duration = Duration::from_secs(30);

/// How long a `SIGHUP` may take to put the new key set in force.
const RELOAD_WITHIN: Duration = Duration::from_secs(10);

/// The Python of a virtualenv with PyJWT[crypto], Django and simplejwt, or `None` (after a
/// notice) when `JWTD_DJANGO_PYTHON` is unset and not required.
fn python() -> Option<PathBuf> {
    match std::env::var(PYTHON_VAR) {
        Ok(python) if !python.trim().is_empty() => Some(PathBuf::from(python.trim())),
        _ if std::env::var(REQUIRE_VAR).is_ok_and(|v| matches!(v.trim(), "1" | "true" | "yes")) => {
            panic!(
                "{REQUIRE_VAR}=1 but {PYTHON_VAR} is not set: the JWKS client tests need a \
                 Python with PyJWT[crypto] and simplejwt (export {PYTHON_VAR}=\"$(.ci/django-env)\")"
            )
        }
        _ => {
            // Past the test harness's capture, once: a skipped test should say so.
            static NOTICE: Once = Once::new();
            NOTICE.call_once(|| {
                let _ = writeln!(
                    std::io::stderr(),
                    "NOTICE: {PYTHON_VAR} is not set, so the JWKS client tests (PyJWT, simplejwt) \
                     pass without running. Run them with {PYTHON_VAR}=\"$(.ci/django-env)\" (and \
                     {REQUIRE_VAR}=1 to fail instead when it is missing)."
                );
            });
            None
        }
    }
}

fn scripts() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../testdata/jwks-clients")
}

/// One of the scripts, started once and reading commands on its standard input.
struct Script {
    name: &'static str,
    child: Child,
    stdin: ChildStdin,
    /// Its standard output, line by line, read by a thread so that an answer can be waited
    /// for with a deadline.
    answers: Receiver<String>,
    stderr: PathBuf,
}

impl Script {
    fn start(python: &Path, name: &'static str, dir: &Path, vars: &[(&str, &str)]) -> Script {
        static STARTED: AtomicUsize = AtomicUsize::new(0);
        let stderr = dir.join(format!(
            "{name}-{}.stderr",
            STARTED.fetch_add(1, Ordering::Relaxed)
        ));
        let mut command = Command::new(python);
        for (var, _) in std::env::vars() {
            if var.starts_with("DJANGO_") || var.starts_with("JWKS_TEST_") {
                command.env_remove(var); // only this test's settings
            }
        }
        command
            .arg(scripts().join(name))
            .current_dir(dir)
            // No __pycache__ left in testdata.
            .env("PYTHONDONTWRITEBYTECODE", "1")
            // urllib honours proxy variables: the server is on this machine.
            .env("NO_PROXY", "127.0.0.1,localhost")
            .env("no_proxy", "127.0.0.1,localhost")
            .envs(vars.iter().copied())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(File::create(&stderr).unwrap());
        let mut child = command
            .spawn()
            .unwrap_or_else(|e| panic!("running {}: {e}", python.display()));
        let stdout = child.stdout.take().unwrap();
        let (sender, answers) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if sender.send(line).is_err() {
                    break;
                }
            }
        });
        Script {
            name,
            stdin: child.stdin.take().unwrap(),
            child,
            answers,
            stderr,
        }
    }

    /// Sends one command and returns its answer.
    fn ask(&mut self, command: Value) -> Value {
        let name = self.name;
        if let Err(e) = writeln!(self.stdin, "{command}").and_then(|()| self.stdin.flush()) {
            panic!(
                "{name}: cannot send {command} ({e}); its stderr:\n{}",
                self.stderr()
            );
        }
        let line = self
            .answers
            .recv_timeout(ANSWER_WITHIN)
            .unwrap_or_else(|e| {
                panic!(
                    "{name} answered nothing to {command} within {ANSWER_WITHIN:?} ({e}); its \
                 stderr:\n{}",
                    self.stderr()
                )
            });
        let answer: Value = serde_json::from_str(&line)
            .unwrap_or_else(|_| panic!("{name} answered {line:?} to {command}"));
        if let Some(traceback) = answer["exception"].as_str() {
            panic!("{name} raised on {command}:\n{traceback}");
        }
        answer
    }

    fn stderr(&self) -> String {
        std::fs::read_to_string(&self.stderr).unwrap_or_default()
    }

    /// `tamper` (jwks_common.py): a copy of `token` changed `how`, its signature kept.
    fn tamper(&mut self, token: &str, how: &str, value: Option<&str>) -> String {
        self.ask(json!({"op": "tamper", "token": token, "how": how, "value": value}))["token"]
            .as_str()
            .unwrap()
            .to_owned()
    }
}

impl Drop for Script {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `pyjwt_client.py`: `jwt.PyJWKClient` and `jwt.decode`.
struct PyJwt(Script);

impl PyJwt {
    fn start(python: &Path, dir: &Path) -> PyJwt {
        PyJwt(Script::start(python, "pyjwt_client.py", dir, &[]))
    }

    /// Keeps a `PyJWKClient(url, **options)` named `name` for later verifications.
    fn client(&mut self, name: &str, url: &str, options: Value) {
        let answer = self
            .0
            .ask(json!({"op": "client", "name": name, "url": url, "options": options}));
        assert_eq!(answer["ok"], true, "{answer}");
    }

    /// Verifies `token` with the kept client `name`.
    fn verify(&mut self, name: &str, token: &str, algorithm: Algorithm) -> Value {
        self.0.ask(json!({
            "op": "verify", "client": name, "token": token, "algorithms": [algorithm.as_str()],
        }))
    }

    /// Verifies `token` with a `PyJWKClient(url)` made for this verification alone.
    fn verify_fresh(&mut self, url: &str, token: &str, algorithm: Algorithm) -> Value {
        self.0.ask(json!({
            "op": "verify", "url": url, "token": token, "algorithms": [algorithm.as_str()],
        }))
    }
}

/// The user id a token's `user_id` claim names: text, as simplejwt writes it, or a number.
fn user_id_of(claim: &Value) -> Option<i64> {
    match claim {
        Value::String(text) => text.parse().ok(),
        other => other.as_i64(),
    }
}

/// PyJWT accepted the access token of `user`, with the published key `kid`.
#[track_caller]
fn assert_accepted(verdict: &Value, user: i64, kid: &str, what: &str) {
    assert_eq!(verdict["ok"], true, "{what}: {verdict}");
    assert_eq!(
        user_id_of(&verdict["user_id"]),
        Some(user),
        "{what}: {verdict}"
    );
    assert_eq!(verdict["token_type"], "access", "{what}: {verdict}");
    assert_eq!(verdict["kid"], kid, "{what}: {verdict}");
}

/// PyJWT refused a token with `error` (an exception class of `jwt`), saying `saying`.
#[track_caller]
fn assert_refused(verdict: &Value, error: &str, saying: &str, what: &str) {
    assert_eq!(verdict["ok"], false, "{what}: accepted: {verdict}");
    assert_eq!(verdict["error"], error, "{what}: {verdict}");
    let message = verdict["message"].as_str().unwrap_or_default();
    assert!(message.contains(saying), "{what}: {verdict}");
}

/// How many times a client downloaded the set during one verification.
fn fetched(verdict: &Value) -> u64 {
    verdict["fetched"].as_u64().unwrap()
}

/// Whether a kept client was still inside its unknown-kid cooldown when it was asked.
fn cooling_down(verdict: &Value) -> bool {
    let since = verdict["since_fetch"].as_f64().unwrap();
    since < verdict["cooldown"].as_f64().unwrap()
}

/// Whether a kept client's cached set was still fresh when it was asked.
fn cache_fresh(verdict: &Value) -> bool {
    let since = verdict["since_fetch"].as_f64().unwrap();
    verdict["lifespan"]
        .as_f64()
        .is_some_and(|lifespan| since < lifespan)
}

/// jwtd's configuration file: `active` signs, `retired` (if any) verifies.
fn write_config(path: &Path, algorithm: Algorithm, active: &str, retired: Option<&str>) {
    let mut text = format!(
        "algorithm = \"{}\"\nsigning_key_file = \"{active}\"\n",
        algorithm.as_str()
    );
    if let Some(retired) = retired {
        text.push_str(&format!(
            "\n[[keys]]\nfile = \"{retired}\"\nstate = \"retired\"\n"
        ));
    }
    std::fs::write(path, text).unwrap();
}

/// A `jwtd serve` whose configuration file is rewritten and reloaded with `SIGHUP`: `old.pem`
/// signs first, then `new.pem` with `old.pem` retired, then `new.pem` alone.
struct Rotating {
    server: Server,
    /// Dropped after the server: the directory holds its keys, database and logs.
    work: Workdir,
    config: PathBuf,
    algorithm: Algorithm,
    user: i64,
    old_kid: String,
    new_kid: String,
    reloads: usize,
}

impl Rotating {
    fn start(algorithm: Algorithm) -> Rotating {
        let old = jwtd_token::generate(algorithm).unwrap();
        let new = jwtd_token::generate(algorithm).unwrap();
        let work = Workdir::new();
        std::fs::write(work.path().join("old.pem"), &old).unwrap();
        std::fs::write(work.path().join("new.pem"), &new).unwrap();
        let config = work.path().join("jwtd.toml");
        let work = work.with("JWTD_CONFIG", config.to_str().unwrap());
        let (old_kid, new_kid) = (kid_of(algorithm, &old), kid_of(algorithm, &new));
        assert_ne!(old_kid, new_kid);
        write_config(&config, algorithm, "old.pem", None);
        let user = work.create_user("alice");
        let server = Server::start(&work);
        assert_eq!(jwks_kids(&server), [old_kid.as_str()]);
        Rotating {
            server,
            work,
            config,
            algorithm,
            user,
            old_kid,
            new_kid,
            reloads: 0,
        }
    }

    fn jwks_url(&self) -> String {
        format!("{}/.well-known/jwks.json", self.server.base)
    }

    /// Logs alice in; the access token, signed by the key `kid`.
    fn access(&self, kid: &str) -> String {
        let (_, access) = login(&self.server, "alice");
        assert_eq!(header_kid(&access), kid);
        access
    }

    /// `SIGHUP`, and waits until the server has put the new key set in force.
    fn reload(&mut self) {
        self.server.signal("HUP");
        self.reloads += 1;
        let reloads = self.reloads;
        self.server
            .wait_until(RELOAD_WITHIN, "the key set reloaded", |server| {
                let logs = server.logs();
                if logs.contains("the new key set is refused") {
                    panic!("the new key set was refused:\n{logs}");
                }
                match logs.matches("SIGHUP: reloaded the key set").count() {
                    n if n >= reloads => Ok(()),
                    n => Err(format!("{n} reloads logged, {reloads} sent")),
                }
            });
    }

    /// The new key signs; the old one is retired and still published.
    fn rotate(&mut self) {
        write_config(&self.config, self.algorithm, "new.pem", Some("old.pem"));
        self.reload();
        assert_eq!(
            jwks_kids(&self.server),
            [self.new_kid.as_str(), self.old_kid.as_str()]
        );
    }

    /// The old key taken out of the file: no longer published, its tokens no longer valid.
    fn remove_old(&mut self) {
        write_config(&self.config, self.algorithm, "new.pem", None);
        self.reload();
        assert_eq!(jwks_kids(&self.server), [self.new_kid.as_str()]);
    }
}

/// PyJWT's PyJWKClient across a rotation: new clients, and kept ones of three kinds.
#[test]
fn pyjwt_jwks_client_follows_a_rotation() {
    let Some(python) = python() else {
        return;
    };
    let es256 = Algorithm::ES256;
    let mut jwtd = Rotating::start(es256);
    let (user, old_kid, new_kid) = (jwtd.user, jwtd.old_kid.clone(), jwtd.new_kid.clone());
    let url = jwtd.jwks_url();
    let mut py = PyJwt::start(&python, jwtd.work.path());
    let versions = py.0.ask(json!({"op": "versions"}));
    eprintln!("jwks_clients: PyJWT {versions}");

    // Kept for the whole test: PyJWKClient's defaults (what simplejwt makes), one that downloads
    // the set again at once for an unknown kid, and one that keeps no set at all.
    py.client("default", &url, json!({}));
    py.client("eager", &url, json!({"cooldown_duration": 0}));
    py.client("uncached", &url, json!({"cache_jwk_set": false}));

    let old_access = jwtd.access(&old_kid);
    let verdict = py.verify_fresh(&url, &old_access, es256);
    assert_accepted(
        &verdict,
        user,
        &old_kid,
        "a new client, before the rotation",
    );
    assert_eq!(fetched(&verdict), 1, "{verdict}");
    for name in ["default", "eager", "uncached"] {
        let verdict = py.verify(name, &old_access, es256);
        assert_accepted(&verdict, user, &old_kid, name);
        assert_eq!(fetched(&verdict), 1, "{name}: {verdict}");
    }
    // Kept clients with a set do not download it again for a kid they know.
    for name in ["default", "eager"] {
        let verdict = py.verify(name, &old_access, es256);
        assert_accepted(&verdict, user, &old_kid, name);
        assert_eq!(fetched(&verdict), 0, "{name}, again: {verdict}");
    }

    // Tampered tokens are refused.
    for (how, value, error, saying) in [
        (
            "payload",
            None,
            "InvalidSignatureError",
            "Signature verification failed",
        ),
        (
            "signature",
            None,
            "InvalidSignatureError",
            "Signature verification failed",
        ),
        (
            "alg",
            Some("HS256"),
            "InvalidAlgorithmError",
            "alg value is not allowed",
        ),
        (
            "kid",
            Some("no-such-key"),
            "PyJWKClientError",
            "Unable to find a signing key",
        ),
    ] {
        let forged = py.0.tamper(&old_access, how, value);
        let verdict = py.verify_fresh(&url, &forged, es256);
        assert_refused(&verdict, error, saying, &format!("tampered {how}"));
    }

    // Rotation: the new key signs, the old one verifies.
    jwtd.rotate();
    let new_access = jwtd.access(&new_kid);
    for (token, kid) in [(&old_access, &old_kid), (&new_access, &new_kid)] {
        let verdict = py.verify_fresh(&url, token, es256);
        assert_accepted(&verdict, user, kid, "a new client, after the rotation");
    }
    // The old token's signature under the new key (its header says so) is not valid.
    let swapped = py.0.tamper(&old_access, "kid", Some(&new_kid));
    let verdict = py.verify_fresh(&url, &swapped, es256);
    assert_refused(
        &verdict,
        "InvalidSignatureError",
        "Signature verification failed",
        "the old token claiming the new key",
    );

    // The defaults: a kid it has not seen is looked for again only after the cooldown.
    let verdict = py.verify("default", &new_access, es256);
    let default_refetched = if cooling_down(&verdict) {
        assert_refused(
            &verdict,
            "PyJWKClientError",
            "Unable to find a signing key",
            "default, the new kid inside the cooldown",
        );
        assert_eq!(fetched(&verdict), 0, "{verdict}");
        false
    } else {
        assert_accepted(
            &verdict,
            user,
            &new_kid,
            "default, the new kid after the cooldown",
        );
        assert_eq!(fetched(&verdict), 1, "{verdict}");
        true
    };
    let default_cooldown = verdict["cooldown"].clone();
    // Without a cooldown the same client downloads the set again for the new kid.
    let verdict = py.verify("eager", &new_access, es256);
    assert_accepted(&verdict, user, &new_kid, "eager, the new kid");
    assert_eq!(
        fetched(&verdict),
        1,
        "eager downloads the set again: {verdict}"
    );
    let verdict = py.verify("eager", &old_access, es256);
    assert_accepted(&verdict, user, &old_kid, "eager, the old kid");
    assert_eq!(fetched(&verdict), 0, "{verdict}");
    for token in [&new_access, &old_access] {
        let verdict = py.verify("uncached", token, es256);
        assert_eq!(verdict["ok"], true, "uncached: {verdict}");
        assert_eq!(
            fetched(&verdict),
            1,
            "uncached downloads every time: {verdict}"
        );
    }

    // The old key removed: clients that download the set now refuse its tokens.
    jwtd.remove_old();
    let verdict = py.verify_fresh(&url, &old_access, es256);
    assert_refused(
        &verdict,
        "PyJWKClientError",
        "Unable to find a signing key",
        "a new client, the removed key",
    );
    let verdict = py.verify_fresh(&url, &new_access, es256);
    assert_accepted(&verdict, user, &new_kid, "a new client, after the removal");
    let verdict = py.verify("uncached", &old_access, es256);
    assert_refused(
        &verdict,
        "PyJWKClientError",
        "Unable to find a signing key",
        "uncached, the removed key",
    );
    let uncached_lookups = fetched(&verdict);
    assert!(uncached_lookups >= 1, "{verdict}");
    let verdict = py.verify("uncached", &new_access, es256);
    assert_accepted(&verdict, user, &new_kid, "uncached, after the removal");
    // A kept set that still has the removed key goes on accepting its tokens until it expires.
    for name in ["eager", "default"] {
        let verdict = py.verify(name, &old_access, es256);
        assert!(cache_fresh(&verdict), "{name}: {verdict}");
        assert_accepted(
            &verdict,
            user,
            &old_kid,
            &format!("{name}, the removed key, cached"),
        );
        assert_eq!(fetched(&verdict), 0, "{verdict}");
    }
    let verdict = py.verify("eager", &new_access, es256);
    assert_accepted(&verdict, user, &new_kid, "eager, after the removal");
    eprintln!(
        "jwks_clients: PyJWKClient defaults (cooldown {default_cooldown} s): the new kid was \
         {} right after the rotation; a removed key stayed valid in kept clients' cached sets; \
         an uncached client looked {uncached_lookups} time(s) for the removed kid",
        if default_refetched {
            "fetched"
        } else {
            "refused"
        },
    );
}

/// Every asymmetric algorithm jwtd signs with, verified by PyJWKClient from its JWK.
#[test]
fn pyjwt_jwks_client_verifies_every_asymmetric_algorithm() {
    let Some(python) = python() else {
        return;
    };
    let algorithms = [
        Algorithm::RS256,
        Algorithm::PS256,
        Algorithm::ES384,
        Algorithm::ES512,
        Algorithm::ES256K,
        Algorithm::EdDSA,
    ];
    // Each server in its own directory, all running at once.
    let servers: Vec<(Algorithm, Workdir, Server, i64, String)> = algorithms
        .iter()
        .map(|&algorithm| {
            let pem = jwtd_token::generate(algorithm).unwrap();
            let work = Workdir::new();
            std::fs::write(work.path().join("key.pem"), &pem).unwrap();
            let config = work.path().join("jwtd.toml");
            std::fs::write(
                &config,
                format!(
                    "algorithm = \"{}\"\nsigning_key_file = \"key.pem\"\n",
                    algorithm.as_str()
                ),
            )
            .unwrap();
            let work = work.with("JWTD_CONFIG", config.to_str().unwrap());
            let user = work.create_user("alice");
            let server = Server::start(&work);
            let kid = kid_of(algorithm, &pem);
            assert_eq!(jwks_kids(&server), [kid.as_str()], "{algorithm}");
            (algorithm, work, server, user, kid)
        })
        .collect();
    let mut py = PyJwt::start(&python, servers[0].1.path());
    for (algorithm, _, server, user, kid) in &servers {
        let url = format!("{}/.well-known/jwks.json", server.base);
        let (_, access) = login(server, "alice");
        assert_eq!(header_kid(&access), *kid, "{algorithm}");
        let verdict = py.verify_fresh(&url, &access, *algorithm);
        assert_accepted(&verdict, *user, kid, algorithm.as_str());
        assert_eq!(verdict["key_algorithm"], algorithm.as_str(), "{verdict}");
        let forged = py.0.tamper(&access, "payload", None);
        let verdict = py.verify_fresh(&url, &forged, *algorithm);
        assert_refused(
            &verdict,
            "InvalidSignatureError",
            "Signature verification failed",
            &format!("{algorithm}, a tampered payload"),
        );
    }
}

/// `simplejwt_client.py`: a Django process whose simplejwt verifies through `JWK_URL`.
struct SimpleJwt(Script);

impl SimpleJwt {
    fn start(python: &Path, jwtd: &Rotating) -> SimpleJwt {
        let url = jwtd.jwks_url();
        SimpleJwt(Script::start(
            python,
            "simplejwt_client.py",
            jwtd.work.path(),
            &[
                ("JWKS_TEST_URL", &url),
                ("JWKS_TEST_ALGORITHM", jwtd.algorithm.as_str()),
            ],
        ))
    }

    /// A GET through a DRF view that JWTStatelessUserAuthentication and IsAuthenticated guard.
    fn request(&mut self, token: &str) -> Value {
        self.0.ask(json!({"op": "request", "token": token}))
    }

    /// `AccessToken(token)`: its verdict, and for a refusal the chain of causes.
    fn access_token(&mut self, token: &str) -> Value {
        self.0.ask(json!({"op": "access_token", "token": token}))
    }
}

/// The view answered 200 for `user`'s access token.
#[track_caller]
fn assert_allowed(answer: &Value, user: i64, what: &str) {
    assert_eq!(answer["status"], 200, "{what}: {answer}");
    assert_eq!(
        user_id_of(&answer["body"]["user_id"]),
        Some(user),
        "{what}: {answer}"
    );
    assert_eq!(answer["body"]["token_type"], "access", "{what}: {answer}");
}

/// The view answered 401 `token_not_valid` with simplejwt's `message`.
#[track_caller]
fn assert_denied(answer: &Value, message: &str, what: &str) {
    assert_eq!(answer["status"], 401, "{what}: {answer}");
    assert_eq!(
        answer["body"]["code"], "token_not_valid",
        "{what}: {answer}"
    );
    assert_eq!(
        answer["body"]["messages"][0]["message"], message,
        "{what}: {answer}"
    );
}

/// `AccessToken` refused the token because of `error` (PyJWT's), saying `saying`.
#[track_caller]
fn assert_caused_by(answer: &Value, error: &str, saying: &str, what: &str) {
    assert_eq!(answer["ok"], false, "{what}: {answer}");
    let causes = answer["causes"].as_array().unwrap();
    let cause = causes.last().unwrap_or_else(|| panic!("{what}: {answer}"));
    assert_eq!(cause["error"], error, "{what}: {answer}");
    assert!(
        cause["message"].as_str().unwrap().contains(saying),
        "{what}: {answer}"
    );
}

/// simplejwt 5.5.1 with `JWK_URL` (and no key of its own): jwtd's access tokens accepted before
/// and after a rotation, the removed key's and tampered tokens refused.
#[test]
fn simplejwt_jwk_url_follows_a_rotation() {
    let Some(python) = python() else {
        return;
    };
    let mut jwtd = Rotating::start(Algorithm::RS256);
    let (user, old_kid, new_kid) = (jwtd.user, jwtd.old_kid.clone(), jwtd.new_kid.clone());
    let (refresh, old_access) = login(&jwtd.server, "alice");
    assert_eq!(header_kid(&old_access), old_kid);

    // One Django kept for the whole test (its PyJWKClient lives as long), and a new one in
    // each phase, as after a restart.
    let mut kept = SimpleJwt::start(&python, &jwtd);
    let answer = kept.request(&old_access);
    assert_allowed(&answer, user, "kept, before the rotation");
    assert_eq!(fetched(&answer), 1, "{answer}");
    {
        let mut fresh = SimpleJwt::start(&python, &jwtd);
        assert_allowed(
            &fresh.request(&old_access),
            user,
            "new, before the rotation",
        );
        // A refresh token is not an access token.
        assert_denied(
            &fresh.request(&refresh),
            "Token has wrong type",
            "refresh as access",
        );
        for how in ["payload", "signature"] {
            let forged = fresh.0.tamper(&old_access, how, None);
            assert_denied(&fresh.request(&forged), "Token is invalid", how);
            let answer = fresh.access_token(&forged);
            assert_caused_by(&answer, "InvalidSignatureError", "Signature", how);
        }
    }

    jwtd.rotate();
    let new_access = jwtd.access(&new_kid);
    {
        let mut fresh = SimpleJwt::start(&python, &jwtd);
        assert_allowed(&fresh.request(&old_access), user, "new, the retired key");
        assert_allowed(&fresh.request(&new_access), user, "new, the new key");
        let swapped = fresh.0.tamper(&old_access, "kid", Some(&new_kid));
        assert_denied(&fresh.request(&swapped), "Token is invalid", "kid swapped");
        let answer = fresh.access_token(&swapped);
        assert_caused_by(&answer, "InvalidSignatureError", "Signature", "kid swapped");
    }
    assert_allowed(&kept.request(&old_access), user, "kept, the retired key");
    // simplejwt's PyJWKClient has PyJWT's defaults: inside the cooldown the new kid is unknown.
    let answer = kept.request(&new_access);
    if cooling_down(&answer) {
        assert_denied(
            &answer,
            "Token is invalid",
            "kept, the new key inside the cooldown",
        );
        let answer = kept.access_token(&new_access);
        assert_caused_by(
            &answer,
            "PyJWKClientError",
            "Unable to find a signing key",
            "kept, the new key inside the cooldown",
        );
    } else {
        assert_allowed(&answer, user, "kept, the new key after the cooldown");
    }

    jwtd.remove_old();
    {
        let mut fresh = SimpleJwt::start(&python, &jwtd);
        let answer = fresh.request(&old_access);
        assert_denied(&answer, "Token is invalid", "new, the removed key");
        let answer = fresh.access_token(&old_access);
        assert_caused_by(
            &answer,
            "PyJWKClientError",
            "Unable to find a signing key",
            "new, the removed key",
        );
        assert_allowed(&fresh.request(&new_access), user, "new, after the removal");
    }
    // The kept Django still has the removed key in its cached set: accepted until it expires.
    let answer = kept.request(&old_access);
    assert!(cache_fresh(&answer), "{answer}");
    assert_allowed(&answer, user, "kept, the removed key, cached");
    assert_eq!(fetched(&answer), 0, "{answer}");
}

/// OpenID discovery: a client reads `/.well-known/openid-configuration`, follows `jwks_uri`
/// with PyJWKClient and verifies with the document's algorithms and issuer.
#[test]
fn openid_discovery_leads_pyjwt_to_the_keys() {
    let Some(python) = python() else {
        return;
    };
    // The document's URLs are built from `public_url`, read at start: the server's own address
    // must be known before it starts. The system picks a free port; the server takes it over.
    let address = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let base = format!("http://{address}");
    let algorithm = Algorithm::EdDSA;
    let pem = jwtd_token::generate(algorithm).unwrap();
    let work = Workdir::new();
    std::fs::write(work.path().join("key.pem"), &pem).unwrap();
    let config = work.path().join("jwtd.toml");
    std::fs::write(
        &config,
        format!(
            "algorithm = \"EdDSA\"\nsigning_key_file = \"key.pem\"\nissuer = \"{base}\"\n\
             public_url = \"{base}\"\njwks_max_age = 120\n"
        ),
    )
    .unwrap();
    let work = work.with("JWTD_CONFIG", config.to_str().unwrap());
    let user = work.create_user("alice");
    let server = Server::start_with(&work, &[("JWTD_LISTEN", &address.to_string())]);
    assert_eq!(server.base, base);
    let (_, access) = login(&server, "alice");
    let kid = kid_of(algorithm, &pem);

    let mut py = PyJwt::start(&python, work.path());
    let answer = py.0.ask(json!({
        "op": "discover",
        "url": format!("{base}/.well-known/openid-configuration"),
        "token": access,
    }));
    assert_accepted(&answer, user, &kid, "discovered keys");
    let document = &answer["document"];
    assert_eq!(document["issuer"], base, "{answer}");
    assert_eq!(
        document["jwks_uri"],
        format!("{base}/.well-known/jwks.json"),
        "{answer}"
    );
    assert_eq!(
        document["id_token_signing_alg_values_supported"],
        json!(["EdDSA"]),
        "{answer}"
    );
    assert_eq!(answer["cache_control"], "public, max-age=120", "{answer}");
    // A tampered token is refused by the same discovery.
    let forged = py.0.tamper(&access, "payload", None);
    let answer = py.0.ask(json!({
        "op": "discover",
        "url": format!("{base}/.well-known/openid-configuration"),
        "token": forged,
    }));
    assert_refused(
        &answer,
        "InvalidSignatureError",
        "Signature verification failed",
        "discovered keys, a tampered token",
    );
}
