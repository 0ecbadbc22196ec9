//! jwtd beside a real Django 5.2 + djangorestframework-simplejwt 5.5.1 on one database, SQLite
//! and PostgreSQL (`shared/spec/django-database.md`, "Both ways at once"). Django migrates it and
//! manages the users; `jwtd serve` with `database_schema = "django"` serves the token endpoints on
//! it; each check is made on both sides: what one issues, writes or blacklists, the other honours.
//!
//! Django is the project in `testdata/django/project`; `django_ops.py` there does things as
//! Django (the ORM, simplejwt's token classes, the project's views through Django's test client).
//! It runs on the Python named by `JWTD_DJANGO_PYTHON` (`.ci/django-env` makes that virtualenv and
//! prints its python). Without the variable the tests pass after a notice; with
//! `JWTD_REQUIRE_DJANGO=1` (CI) a missing one fails them. The PostgreSQL run also needs
//! `JWTD_TEST_DATABASE_URL` (and is required by `JWTD_REQUIRE_POSTGRES=1`), as the store suite.

mod support;

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};
use std::sync::Once;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use jwtd_store_tests::postgres::TestDatabase;
use serde_json::{Value, json};
use support::{PASSWORD, Server, Workdir};

const PYTHON_VAR: &str = "JWTD_DJANGO_PYTHON";
const REQUIRE_VAR: &str = "JWTD_REQUIRE_DJANGO";

/// `SIMPLE_JWT["SIGNING_KEY"]` and jwtd's `signing_key`: one secret for both.
const SIGNING_KEY: &str = "django-e2e-shared-hs256-secret-0123456789abcdef";

/// The Python of a virtualenv with Django and simplejwt, or `None` (after a notice) when
/// `JWTD_DJANGO_PYTHON` is unset and not required.
fn python() -> Option<PathBuf> {
    match std::env::var(PYTHON_VAR) {
        Ok(python) if !python.trim().is_empty() => Some(PathBuf::from(python.trim())),
        _ if std::env::var(REQUIRE_VAR).is_ok_and(|v| matches!(v.trim(), "1" | "true" | "yes")) => {
            panic!(
                "{REQUIRE_VAR}=1 but {PYTHON_VAR} is not set: the Django end-to-end test needs \
                 a Python with Django and simplejwt (export {PYTHON_VAR}=\"$(.ci/django-env)\")"
            )
        }
        _ => {
            // Past the test harness's capture, once: a skipped test should say so.
            static NOTICE: Once = Once::new();
            NOTICE.call_once(|| {
                let _ = writeln!(
                    std::io::stderr(),
                    "NOTICE: {PYTHON_VAR} is not set, so the Django end-to-end tests pass \
                     without running. Run them with {PYTHON_VAR}=\"$(.ci/django-env)\" (and \
                     {REQUIRE_VAR}=1 to fail instead when it is missing)."
                );
            });
            None
        }
    }
}

fn project() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../testdata/django/project")
}

/// The database, the Python, and jwtd's settings shared by every step.
struct Setup {
    python: PathBuf,
    database_url: String,
    sqlite: bool,
    work: Workdir,
    /// The PostgreSQL database, dropped last.
    _postgres: Option<TestDatabase>,
}

impl Setup {
    /// A fresh directory whose `db.sqlite3` Django's `manage.py migrate` creates.
    fn sqlite(python: PathBuf) -> Setup {
        let work = Workdir::new();
        let database_url = format!("sqlite://{}", work.path().join("db.sqlite3").display());
        Setup::migrated(python, database_url, work, None)
    }

    /// A fresh PostgreSQL database, migrated by Django.
    fn postgres(python: PathBuf, database: TestDatabase) -> Setup {
        let database_url = database.url().to_owned();
        Setup::migrated(python, database_url, Workdir::new(), Some(database))
    }

    /// Runs Django's `manage.py migrate` on `database_url`: Django's tables, never jwtd's.
    fn migrated(
        python: PathBuf,
        database_url: String,
        work: Workdir,
        postgres: Option<TestDatabase>,
    ) -> Setup {
        let work = work
            .with("JWTD_DATABASE_SCHEMA", "django")
            .with("JWTD_DATABASE_URL", &database_url)
            .with("JWTD_SIGNING_KEY", SIGNING_KEY)
            .with("JWTD_LOGIN_RATE_PER_ADDRESS", "off")
            .with("JWTD_LOGIN_RATE_PER_USERNAME", "off");
        let setup = Setup {
            python,
            sqlite: postgres.is_none(),
            database_url,
            work,
            _postgres: postgres,
        };
        let output = setup
            .python_command(&[])
            .arg(project().join("manage.py"))
            .args(["migrate", "--verbosity", "0"])
            .output()
            .unwrap_or_else(|e| panic!("running {}: {e}", setup.python.display()));
        assert!(
            output.status.success(),
            "manage.py migrate failed: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        setup
    }

    fn python_command(&self, settings: &[(&str, &str)]) -> Command {
        let mut command = Command::new(&self.python);
        for (var, _) in std::env::vars() {
            if var.starts_with("DJANGO_") {
                command.env_remove(var); // only this test's settings
            }
        }
        command
            .current_dir(self.work.path())
            .env("DJANGO_DATABASE_URL", &self.database_url)
            .env("DJANGO_SIGNING_KEY", SIGNING_KEY)
            // No __pycache__ left in testdata.
            .env("PYTHONDONTWRITEBYTECODE", "1")
            .envs(settings.iter().copied());
        command
    }

    /// A Django process with these `DJANGO_*` settings (jwtdsite/settings.py).
    fn django(&self, settings: &[(&str, &str)]) -> Django {
        let mut child = self
            .python_command(settings)
            .arg(project().join("django_ops.py"))
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("running {}: {e}", self.python.display()));
        Django {
            stdin: child.stdin.take(),
            stdout: BufReader::new(child.stdout.take().unwrap()),
            child,
        }
    }

    /// `jwtd serve` on the same database with these extra `JWTD_*` settings.
    fn jwtd(&self, settings: &[(&str, &str)]) -> Jwtd {
        Jwtd(Server::start_with(&self.work, settings))
    }
}

/// `django_ops.py` reading commands on its standard input: Django starts once per settings.
struct Django {
    child: Child,
    stdin: Option<ChildStdin>,
    stdout: BufReader<ChildStdout>,
}

impl Django {
    /// Runs one command of `django_ops.py` and returns its answer.
    fn call(&mut self, command: &[&str]) -> Value {
        let stdin = self.stdin.as_mut().unwrap();
        writeln!(stdin, "{}", json!(command)).unwrap();
        stdin.flush().unwrap();
        let mut line = String::new();
        self.stdout.read_line(&mut line).unwrap();
        let answer: Value = serde_json::from_str(&line)
            .unwrap_or_else(|_| panic!("django_ops.py {command:?} answered {line:?}"));
        if let Some(traceback) = answer["exception"].as_str() {
            panic!("django_ops.py {command:?} raised:\n{traceback}");
        }
        answer
    }

    /// A request through the Django project's own views: status and JSON body.
    fn request(&mut self, method: &str, path: &str, body: Value, bearer: &str) -> (u16, Value) {
        let answer = self.call(&["request", method, path, &body.to_string(), bearer]);
        (
            answer["status"].as_u64().unwrap() as u16,
            answer["body"].clone(),
        )
    }

    fn post(&mut self, path: &str, body: Value) -> (u16, Value) {
        self.request("POST", path, body, "")
    }

    fn me(&mut self, access: &str) -> (u16, Value) {
        self.request("GET", "/api/me/", json!({}), access)
    }

    fn create_user(&mut self, username: &str) -> i64 {
        self.call(&["create-user", username, PASSWORD])["id"]
            .as_i64()
            .unwrap()
    }

    /// A token's claims, decoded by simplejwt without any check.
    fn claims(&mut self, token: &str) -> Value {
        self.call(&["claims", token])
    }

    /// simplejwt's verdict on a refresh token: `Ok` or the `TokenError` message.
    fn check_refresh(&mut self, refresh: &str) -> Result<(), String> {
        let answer = self.call(&["check-refresh", refresh]);
        match answer["ok"].as_bool().unwrap() {
            true => Ok(()),
            false => Err(answer["error"].as_str().unwrap().to_owned()),
        }
    }
}

impl Drop for Django {
    fn drop(&mut self) {
        drop(self.stdin.take()); // end of input: django_ops.py exits
        let _ = self.child.wait();
    }
}

/// A running `jwtd serve` on Django's database.
struct Jwtd(Server);

impl Jwtd {
    fn post(&self, path: &str, body: Value) -> (u16, Value) {
        self.0.post(path, body)
    }

    fn me(&self, access: &str) -> (u16, Value) {
        let (status, body) = self.0.get_auth("/api/me/", access);
        (status, serde_json::from_str(&body).unwrap())
    }

    fn login(&self, username: &str, password: &str) -> (u16, Value) {
        self.post(
            "/api/token/",
            json!({"username": username, "password": password}),
        )
    }

    /// Logs in with [`PASSWORD`]; returns (refresh, access).
    fn tokens(&self, username: &str) -> (String, String) {
        let (status, body) = self.login(username, PASSWORD);
        assert_eq!(status, 200, "jwtd login of {username}: {body}");
        pair(&body)
    }

    fn refresh(&self, refresh: &str) -> (u16, Value) {
        self.post("/api/token/refresh/", json!({ "refresh": refresh }))
    }
}

/// `(refresh, access)` of a token endpoint's or `django_ops.py issue`'s answer.
fn pair(body: &Value) -> (String, String) {
    let text = |key: &str| {
        body[key]
            .as_str()
            .unwrap_or_else(|| panic!("no {key:?} in {body}"))
            .to_owned()
    };
    (text("refresh"), text("access"))
}

fn blacklisted() -> (u16, Value) {
    (
        401,
        json!({"detail": "Token is blacklisted", "code": "token_not_valid"}),
    )
}

/// Django's encoding of a timestamp on SQLite: UTC `YYYY-MM-DD HH:MM:SS`, `.ffffff` only when the
/// microseconds are not zero; no `T`, no zone.
fn is_django_sqlite_datetime(text: &str) -> bool {
    let pattern = "dddd-dd-dd dd:dd:dd";
    let Some((seconds, fraction)) = text.split_at_checked(text.len().min(pattern.len())) else {
        return false;
    };
    let matches = |text: &str, pattern: &str| {
        text.len() == pattern.len()
            && text.chars().zip(pattern.chars()).all(|(c, p)| match p {
                'd' => c.is_ascii_digit(),
                _ => c == p,
            })
    };
    matches(seconds, pattern)
        && (fraction.is_empty() || (matches(fraction, ".dddddd") && fraction != ".000000"))
}

fn unix_now() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs_f64()
}

#[test]
fn jwtd_and_django_share_one_sqlite_database() {
    let Some(python) = python() else {
        return;
    };
    scenario(&Setup::sqlite(python));
}

#[test]
fn jwtd_and_django_share_one_postgres_database() {
    let Some(python) = python() else {
        return;
    };
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let Some(database) = runtime.block_on(TestDatabase::create()) else {
        return;
    };
    scenario(&Setup::postgres(python, database));
}

fn scenario(setup: &Setup) {
    let started = Instant::now();
    tokens_cross_verify_and_blacklists_are_shared(setup);
    user_changes_in_django_reach_jwtd(setup);
    revocation_claims_cross_verify(setup);
    hash_upgraded_by_jwtd_still_logs_in_through_django(setup);
    flushexpiredtokens_works_on_the_rows_jwtd_wrote(setup);
    let backend = if setup.sqlite { "SQLite" } else { "PostgreSQL" };
    eprintln!("django_e2e on {backend}: {:?}", started.elapsed());
}

/// Rotation with blacklisting on both sides (the setting most teams run).
fn tokens_cross_verify_and_blacklists_are_shared(setup: &Setup) {
    let rotation = [
        ("DJANGO_ROTATE_REFRESH_TOKENS", "1"),
        ("DJANGO_BLACKLIST_AFTER_ROTATION", "1"),
    ];
    let mut django = setup.django(&rotation);
    let jwtd = setup.jwtd(&[
        ("JWTD_ROTATE_REFRESH_TOKENS", "true"),
        ("JWTD_BLACKLIST_AFTER_ROTATION", "true"),
    ]);

    // A user created by Django (User.objects.create_user, Django's PBKDF2 hash) logs in.
    let alice = django.create_user("alice");
    let (refresh, access) = jwtd.tokens("alice");

    // jwtd's access token passes simplejwt's AccessToken and JWTAuthentication (with the user
    // looked up in the database), and both sides answer the protected view alike.
    let checked = django.call(&["check-access", &access]);
    assert_eq!(
        checked["ok"], true,
        "AccessToken refused jwtd's token: {checked}"
    );
    assert_eq!(checked["payload"]["user_id"], alice.to_string());
    let me = (200, json!({"id": alice, "username": "alice"}));
    assert_eq!(django.me(&access), me);
    assert_eq!(jwtd.me(&access), me);

    // The outstanding row jwtd wrote is an OutstandingToken as simplejwt writes them.
    assert_eq!(django.check_refresh(&refresh), Ok(()));
    let claims = django.claims(&refresh);
    let row = django.call(&["outstanding", claims["jti"].as_str().unwrap()]);
    assert_eq!(
        row["found"], true,
        "no OutstandingToken for jwtd's refresh token"
    );
    assert_eq!(row["jti"], claims["jti"]);
    assert_eq!(row["token"], refresh.as_str());
    assert_eq!(row["user_id"], alice);
    assert_eq!(row["expires_at"].as_f64(), claims["exp"].as_f64());
    let created_at = row["created_at"].as_f64().unwrap();
    let iat = claims["iat"].as_f64().unwrap();
    assert!(
        (iat..iat + 1.0).contains(&created_at),
        "created_at {created_at} is not the token's iat {iat}: {row}"
    );
    assert_eq!(row["blacklisted"], false);
    // On PostgreSQL these are timestamptz values; on SQLite, text that Django compares as text.
    for stored in [&row["stored_created_at"], &row["stored_expires_at"]] {
        if !setup.sqlite {
            break;
        }
        let stored = stored.as_str().unwrap();
        assert!(
            is_django_sqlite_datetime(stored),
            "{stored:?} is not Django's SQLite encoding: {row}"
        );
    }

    // A token pair Django issued (RefreshToken.for_user) is accepted by jwtd ...
    let (django_refresh, django_access) = pair(&django.call(&["issue", "alice"]));
    assert_eq!(jwtd.me(&django_access), me);
    let (status, rotated) = jwtd.refresh(&django_refresh);
    assert_eq!(status, 200, "jwtd refresh of Django's token: {rotated}");
    let (rotated_refresh, rotated_access) = pair(&rotated);
    assert_eq!(django.me(&rotated_access), me);
    // ... and rotating it blacklisted Django's row, in Django's eyes too.
    assert_eq!(
        django.check_refresh(&django_refresh),
        Err("Token is blacklisted".to_owned())
    );
    assert_eq!(
        django.post("/api/token/refresh/", json!({ "refresh": django_refresh })),
        blacklisted()
    );
    // Django rotates the token jwtd rotated to; jwtd then refuses it and takes Django's.
    let (status, by_django) =
        django.post("/api/token/refresh/", json!({ "refresh": rotated_refresh }));
    assert_eq!(status, 200, "Django refresh of jwtd's token: {by_django}");
    assert_eq!(jwtd.refresh(&rotated_refresh), blacklisted());
    let (status, body) = jwtd.refresh(by_django["refresh"].as_str().unwrap());
    assert_eq!(
        status, 200,
        "jwtd refresh of Django's rotated token: {body}"
    );

    // Blacklisted through Django (RefreshToken(token).blacklist()): refused by jwtd everywhere.
    assert_eq!(django.call(&["blacklist", &refresh])["ok"], true);
    assert_eq!(jwtd.refresh(&refresh), blacklisted());
    assert_eq!(
        jwtd.post("/api/token/verify/", json!({ "token": refresh })),
        blacklisted()
    );
    assert_eq!(
        jwtd.post("/api/token/blacklist/", json!({ "refresh": refresh })),
        blacklisted()
    );

    // Blacklisted through jwtd's /api/token/blacklist/: refused by Django, for a token jwtd
    // issued and for one Django issued.
    let (jwtd_refresh, _) = jwtd.tokens("alice");
    let (django_refresh, _) = pair(&django.call(&["issue", "alice"]));
    for token in [&jwtd_refresh, &django_refresh] {
        assert_eq!(
            jwtd.post("/api/token/blacklist/", json!({ "refresh": token })),
            (200, json!({}))
        );
        assert_eq!(
            django.check_refresh(token),
            Err("Token is blacklisted".to_owned())
        );
        assert_eq!(
            django.post("/api/token/refresh/", json!({ "refresh": token })),
            blacklisted()
        );
        let jti = django.claims(token)["jti"].as_str().unwrap().to_owned();
        let row = django.call(&["outstanding", &jti]);
        assert_eq!(
            (&row["blacklisted"], &row["user_id"]),
            (&json!(true), &json!(alice))
        );
    }
}

/// A user deactivated, deleted or given a new password in Django is refused by jwtd at the next
/// refresh and the next protected request, with simplejwt's answers.
fn user_changes_in_django_reach_jwtd(setup: &Setup) {
    let mut django = setup.django(&[]);
    let jwtd = setup.jwtd(&[]);
    let no_account = (
        401,
        json!({"detail": "No active account found with the given credentials"}),
    );
    let no_account_for_token = (
        401,
        json!({"detail": "No active account found for the given token."}),
    );

    // Deactivated.
    django.create_user("bob");
    let (refresh, access) = jwtd.tokens("bob");
    django.call(&["deactivate", "bob"]);
    assert_eq!(jwtd.refresh(&refresh), no_account_for_token);
    assert_eq!(
        django.post("/api/token/refresh/", json!({ "refresh": refresh })),
        no_account_for_token
    );
    let inactive = (
        401,
        json!({"detail": "User is inactive", "code": "user_inactive"}),
    );
    assert_eq!(jwtd.me(&access), inactive);
    assert_eq!(django.me(&access), inactive);
    assert_eq!(jwtd.login("bob", PASSWORD), no_account);
    assert_eq!(
        django.post(
            "/api/token/",
            json!({"username": "bob", "password": PASSWORD})
        ),
        no_account
    );

    // Deleted (simplejwt itself answers this refresh with a 500; jwtd with a 401).
    django.create_user("carol");
    let (refresh, access) = jwtd.tokens("carol");
    django.call(&["delete", "carol"]);
    assert_eq!(jwtd.refresh(&refresh), no_account_for_token);
    let not_found = (
        401,
        json!({"detail": "User not found", "code": "user_not_found"}),
    );
    assert_eq!(jwtd.me(&access), not_found);
    assert_eq!(django.me(&access), not_found);
    assert_eq!(jwtd.login("carol", PASSWORD), no_account);

    // A new password (set_password + save): the old one no longer logs in, the new one does.
    // Without check_revoke_token simplejwt keeps earlier tokens valid; see
    // revocation_claims_cross_verify for the refusal of those.
    django.create_user("dave");
    let (refresh, _) = jwtd.tokens("dave");
    django.call(&["set-password", "dave", "a brand new password"]);
    assert_eq!(jwtd.login("dave", PASSWORD), no_account);
    let (status, body) = jwtd.login("dave", "a brand new password");
    assert_eq!(status, 200, "login with the password set in Django: {body}");
    let (status, body) = jwtd.refresh(&refresh);
    assert_eq!(
        status, 200,
        "without check_revoke_token, simplejwt still refreshes: {body}"
    );
}

/// `check_revoke_token` on both sides: the `hash_password` claims match, so tokens cross-verify,
/// and a password change in Django revokes the earlier tokens in jwtd as in Django.
fn revocation_claims_cross_verify(setup: &Setup) {
    let mut django = setup.django(&[("DJANGO_CHECK_REVOKE_TOKEN", "1")]);
    let jwtd = setup.jwtd(&[("JWTD_CHECK_REVOKE_TOKEN", "true")]);

    let erin = django.create_user("erin");
    let me = (200, json!({"id": erin, "username": "erin"}));
    let (refresh, access) = jwtd.tokens("erin");
    let (django_refresh, django_access) = pair(&django.call(&["issue", "erin"]));
    let claim = django.claims(&access)["hash_password"].clone();
    assert!(claim.is_string(), "no hash_password claim in jwtd's token");
    assert_eq!(claim, django.claims(&django_access)["hash_password"]);
    assert_eq!(claim, django.claims(&refresh)["hash_password"]);
    assert_eq!(django.me(&access), me);
    assert_eq!(jwtd.me(&django_access), me);
    let (status, body) = jwtd.refresh(&django_refresh);
    assert_eq!(status, 200, "jwtd refresh of Django's token: {body}");
    assert_eq!(django.me(body["access"].as_str().unwrap()), me);

    django.call(&["set-password", "erin", "a brand new password"]);
    // simplejwt 5.5.1's own refresh view does not compare the claim (only JWTAuthentication
    // does), so Django still refreshes; jwtd refuses, as the spec asks ("refused by jwtd at the
    // next refresh"), and blacklists the token.
    let (status, body) = django.post("/api/token/refresh/", json!({ "refresh": refresh }));
    assert_eq!(status, 200, "{body}");
    let changed = (
        401,
        json!({"detail": "The user's password has been changed.", "code": "password_changed"}),
    );
    assert_eq!(django.me(&access), changed);
    assert_eq!(jwtd.me(&access), changed);
    assert_eq!(jwtd.me(&django_access), changed);
    // As simplejwt's refresh serializer refuses it since #928 (DRF's AuthenticationFailed: no
    // code), and blacklists it.
    assert_eq!(
        jwtd.refresh(&refresh),
        (
            401,
            json!({"detail": "The user's password has been changed."})
        )
    );
    let (status, body) = jwtd.login("erin", "a brand new password");
    assert_eq!(status, 200, "{body}");
    let (_, access) = pair(&body);
    assert_eq!(django.me(&access), me);
}

/// `password_hashers = argon2,pbkdf2_sha256` on both sides: jwtd rehashes a PBKDF2 user to
/// Django's argon2 at login, and Django still accepts the password (and would not rehash it).
/// With `check_revoke_token`, that upgrade revokes earlier tokens, as Django's own would.
fn hash_upgraded_by_jwtd_still_logs_in_through_django(setup: &Setup) {
    let mut django = setup.django(&[
        ("DJANGO_PASSWORD_HASHERS", "argon2,pbkdf2_sha256"),
        ("DJANGO_CHECK_REVOKE_TOKEN", "1"),
    ]);
    let jwtd = setup.jwtd(&[
        ("JWTD_PASSWORD_HASHERS", "argon2,pbkdf2_sha256"),
        ("JWTD_CHECK_REVOKE_TOKEN", "true"),
    ]);

    let created = django.call(&["create-user", "frank", PASSWORD, "pbkdf2_sha256"]);
    assert_eq!(created["algorithm"], "pbkdf2_sha256");
    let before = django.call(&["password", "frank", PASSWORD]);
    assert_eq!(
        (&before["ok"], &before["must_update"]),
        (&json!(true), &json!(true))
    );
    let (_, old_access) = pair(&django.call(&["issue", "frank"]));

    let (_, access) = jwtd.tokens("frank");
    let after = django.call(&["password", "frank", PASSWORD]);
    assert_eq!(
        after,
        json!({"ok": true, "algorithm": "argon2", "must_update": false}),
        "the hash jwtd upgraded, checked by Django"
    );
    assert_eq!(
        django.call(&["password", "frank", "not the password"])["ok"],
        false
    );
    // Django's own login view, and tokens made after the upgrade on both sides.
    let (status, body) = django.post(
        "/api/token/",
        json!({"username": "frank", "password": PASSWORD}),
    );
    assert_eq!(status, 200, "Django login after jwtd's upgrade: {body}");
    let me = (200, json!({"id": created["id"], "username": "frank"}));
    assert_eq!(django.me(&access), me);
    assert_eq!(jwtd.me(body["access"].as_str().unwrap()), me);
    // The token issued before the upgrade carries the old hash's claim.
    let changed = (
        401,
        json!({"detail": "The user's password has been changed.", "code": "password_changed"}),
    );
    assert_eq!(django.me(&old_access), changed);
    assert_eq!(jwtd.me(&old_access), changed);
}

/// Django's `flushexpiredtokens` deletes the expired rows jwtd wrote and keeps the others, which
/// needs jwtd's timestamps in Django's encoding (they are compared as text on SQLite).
fn flushexpiredtokens_works_on_the_rows_jwtd_wrote(setup: &Setup) {
    let mut django = setup.django(&[]);
    django.create_user("grace");
    let lasting = setup.jwtd(&[]);
    let (lasting_refresh, _) = lasting.tokens("grace");
    let short = setup.jwtd(&[("JWTD_REFRESH_TOKEN_LIFETIME", "1")]);
    let (short_refresh, _) = short.tokens("grace");

    let jti =
        |django: &mut Django, token: &str| django.claims(token)["jti"].as_str().unwrap().to_owned();
    let lasting_jti = jti(&mut django, &lasting_refresh);
    let short_jti = jti(&mut django, &short_refresh);
    let exp = django.claims(&short_refresh)["exp"].as_f64().unwrap();
    let wait = exp + 0.1 - unix_now();
    if wait > 0.0 {
        std::thread::sleep(Duration::from_secs_f64(wait));
    }

    let flushed = django.call(&["flush"]);
    let before = flushed["before"].as_array().unwrap();
    let after = flushed["after"].as_array().unwrap();
    assert!(before.contains(&json!(short_jti)), "{flushed}");
    assert!(
        !after.contains(&json!(short_jti)),
        "flushexpiredtokens kept jwtd's expired row: {flushed}"
    );
    assert!(
        after.contains(&json!(lasting_jti)),
        "flushexpiredtokens deleted jwtd's unexpired row: {flushed}"
    );
    assert_eq!(
        before.len() - 1,
        after.len(),
        "only the one expired row goes: {flushed}"
    );
    // jwtd still refreshes the one left.
    let (status, body) = lasting.refresh(&lasting_refresh);
    assert_eq!(status, 200, "{body}");
}
