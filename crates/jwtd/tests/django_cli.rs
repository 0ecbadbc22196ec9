//! The real `jwtd` binary on a Django project's SQLite database, created by Django's own DDL
//! (`testdata/django/`) with rows written as Django writes them: the commands of Django mode,
//! its start-up checks, jwtd's own schema refusing a Django database, and `jwtd import-django`.

mod support;

use std::path::{Path, PathBuf};

use rusqlite::Connection;
use serde_json::{Value, json};
use support::{PASSWORD, Server, Workdir, stderr};

const SECRET: &str = "django-cli-test-hs256-secret-0123456789abcdef";
const DJANGO_SQLITE_DDL: &str = include_str!("../../../testdata/django/schema-sqlite.sql");
const PASSWORD_HASHES: &str = include_str!("../../jwtd-password/tests/data/password-hashes.json");

/// Django's own `pbkdf2_sha256` hash of `PASSWORD` at 1,000,000 iterations (Django 5.2).
fn django_hash() -> String {
    let vectors: Value = serde_json::from_str(PASSWORD_HASHES).unwrap();
    vectors["vectors"]
        .as_array()
        .unwrap()
        .iter()
        .find(|v| {
            v["hasher"] == "pbkdf2_sha256"
                && v["password"] == PASSWORD
                && v["encoded"]
                    .as_str()
                    .unwrap()
                    .starts_with("pbkdf2_sha256$1000000$")
                && !v["encoded"].as_str().unwrap().contains("shortsalt")
        })
        .expect("a Django 5.2 pbkdf2 vector of the test password")["encoded"]
        .as_str()
        .unwrap()
        .to_owned()
}

/// A database as `manage.py migrate` leaves it (`.schema` prints `sqlite_sequence`, which SQLite
/// makes by itself and refuses to create).
fn django_database(path: &Path) -> Connection {
    let conn = Connection::open(path).unwrap();
    conn.execute_batch(&DJANGO_SQLITE_DDL.replace("CREATE TABLE sqlite_sequence(name,seq);", ""))
        .unwrap();
    conn
}

/// A user row as Django's `create_user` writes it on SQLite.
fn django_user(conn: &Connection, username: &str, hash: &str, active: bool) -> i64 {
    conn.execute(
        "INSERT INTO auth_user (password, last_login, is_superuser, username, last_name, email,
         is_staff, is_active, date_joined, first_name)
         VALUES (?1, NULL, 0, ?2, '', '', 0, ?3, '2025-06-01 10:20:30.123456', '')",
        rusqlite::params![hash, username, active],
    )
    .unwrap();
    conn.last_insert_rowid()
}

fn sqlite_url(path: &Path) -> String {
    format!("sqlite://{}", path.display())
}

/// A working directory in Django mode on `db`.
fn django_mode(db: &Path) -> Workdir {
    Workdir::new()
        .with("JWTD_DATABASE_SCHEMA", "django")
        .with("JWTD_DATABASE_URL", &sqlite_url(db))
        .with("JWTD_SIGNING_KEY", SECRET)
}

fn dir_of(work: &Workdir) -> PathBuf {
    work.path().to_owned()
}

#[test]
fn django_mode_reads_djangos_users_and_refuses_to_write_them() {
    let work = Workdir::new();
    let db = dir_of(&work).join("db.sqlite3");
    let conn = django_database(&db);
    django_user(&conn, "alice", &django_hash(), true);
    django_user(&conn, "bob", "!unusablepassword", false);
    let django = django_mode(&db);

    let listed: Value = serde_json::from_str(&django.ok(&["user", "list", "--json"])).unwrap();
    let names: Vec<&str> = listed
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["username"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["alice", "bob"]);
    let alice: Value =
        serde_json::from_str(&django.ok(&["user", "show", "alice", "--json"])).unwrap();
    assert_eq!(alice["password_hasher"], "pbkdf2_sha256");
    assert_eq!(alice["date_joined"], "2025-06-01T10:20:30Z");
    let bob: Value = serde_json::from_str(&django.ok(&["user", "show", "bob", "--json"])).unwrap();
    assert_eq!(bob["password_hasher"], "unusable");
    assert_eq!(bob["is_active"], false);

    for args in [
        &["user", "create", "carol", "--password-stdin"][..],
        &["user", "set-password", "alice", "--password-stdin"],
        &["user", "deactivate", "alice"],
        &["user", "delete", "alice"],
    ] {
        let refused = django.run_with_stdin(args, PASSWORD);
        assert!(!refused.status.success(), "{args:?}");
        let message = stderr(&refused);
        assert_eq!(message.lines().count(), 1, "{message}");
        assert!(
            message.contains("users are Django's to manage"),
            "{message}"
        );
        assert!(message.contains("manage.py"), "{message}");
    }
    let count: i64 = conn
        .query_row("SELECT count(*) FROM auth_user", [], |r| r.get(0))
        .unwrap();
    assert_eq!(count, 2, "nothing was written");

    let migrated = django.ok(&["migrate"]);
    assert!(migrated.contains("jwtd never migrates them"), "{migrated}");

    // `token issue` writes the outstanding row simplejwt would, and the token verifies.
    let pair: Value = serde_json::from_str(&django.ok(&["token", "issue", "alice"])).unwrap();
    let refresh = pair["refresh"].as_str().unwrap();
    let (token, user_id, created, expires): (String, i64, String, String) = conn
        .query_row(
            "SELECT token, user_id, created_at, expires_at FROM token_blacklist_outstandingtoken",
            [],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
        )
        .unwrap();
    assert_eq!(token, refresh);
    assert_eq!(user_id, 1);
    for stamp in [&created, &expires] {
        assert_eq!(stamp.len(), 19, "Django's text form: {stamp}");
        assert!(!stamp.contains('T') && !stamp.contains('+'), "{stamp}");
    }
    let verified = django.run(&["token", "verify", refresh]);
    assert!(verified.status.success(), "{}", stderr(&verified));
    assert!(django.ok(&["flush-expired"]).contains("removed 0"));
}

#[test]
fn django_mode_stops_at_start_up_with_one_line_fixes() {
    let work = Workdir::new();
    let db = dir_of(&work).join("db.sqlite3");
    let conn = django_database(&db);
    conn.execute_batch(
        "DROP TABLE token_blacklist_blacklistedtoken; DROP TABLE token_blacklist_outstandingtoken;",
    )
    .unwrap();
    let django = django_mode(&db);
    let refused = django.run(&["serve"]);
    assert!(!refused.status.success());
    let message = stderr(&refused);
    let last = message.lines().last().unwrap_or_default();
    assert!(
        last.contains("table token_blacklist_outstandingtoken not found")
            && last.contains(
                "add \"rest_framework_simplejwt.token_blacklist\" to INSTALLED_APPS and run \
                 manage.py migrate"
            ),
        "{message}"
    );

    let missing = django_mode(&dir_of(&work).join("nothing-here.sqlite3"));
    let refused = missing.run(&["user", "list"]);
    assert!(!refused.status.success());
    assert!(
        stderr(&refused).contains("no such database file"),
        "{}",
        stderr(&refused)
    );
    assert!(
        !dir_of(&work).join("nothing-here.sqlite3").exists(),
        "jwtd never creates a Django database"
    );

    // jwtd's own schema is never added to a Django database.
    let db = dir_of(&work).join("other.sqlite3");
    drop(django_database(&db));
    let own = Workdir::new()
        .with("JWTD_DATABASE_URL", &sqlite_url(&db))
        .with("JWTD_SIGNING_KEY", SECRET);
    let refused = own.run(&["migrate"]);
    assert!(!refused.status.success());
    let message = stderr(&refused);
    assert!(
        message.contains("this database holds Django's tables (auth_user, django_migrations)")
            && message.contains("database_schema = \"django\""),
        "{message}"
    );
    let tables: i64 = Connection::open(&db)
        .unwrap()
        .query_row(
            "SELECT count(*) FROM sqlite_master WHERE name IN ('users', 'issued_tokens')",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(tables, 0, "no jwtd table was created");
}

#[test]
fn import_django_keeps_ids_hashes_and_tokens_and_upgrades_at_first_login() {
    let source = Workdir::new();
    let db = dir_of(&source).join("db.sqlite3");
    let conn = django_database(&db);
    assert_eq!(django_user(&conn, "alice", &django_hash(), true), 1);
    assert_eq!(django_user(&conn, "bob", &django_hash(), false), 2);
    assert_eq!(django_user(&conn, "carol", &django_hash(), true), 3);
    // Deleted in Django's admin: id 3 must stay retired.
    conn.execute("DELETE FROM auth_user WHERE username = 'carol'", [])
        .unwrap();
    let django = django_mode(&db);
    let issue = || -> String {
        let pair: Value = serde_json::from_str(&django.ok(&["token", "issue", "alice"])).unwrap();
        pair["refresh"].as_str().unwrap().to_owned()
    };
    let (live, revoked) = (issue(), issue());
    // Blacklisted as Django's admin (or simplejwt's blacklist view) writes it.
    conn.execute(
        "INSERT INTO token_blacklist_blacklistedtoken (blacklisted_at, token_id)
         SELECT '2025-06-02 08:00:00.5', id FROM token_blacklist_outstandingtoken
         WHERE token = ?1",
        [&revoked],
    )
    .unwrap();

    let target = Workdir::new().with("JWTD_SIGNING_KEY", SECRET);
    let output = target
        .command(&["import-django", "--from", &sqlite_url(&db)])
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", stderr(&output));
    assert_eq!(
        String::from_utf8_lossy(&output.stdout).trim(),
        format!(
            "imported 2 users, 2 outstanding tokens, 1 blacklisted tokens from {}",
            sqlite_url(&db)
        )
    );
    let again = target
        .command(&["import-django", "--from", &sqlite_url(&db)])
        .output()
        .unwrap();
    assert!(!again.status.success());
    assert!(stderr(&again).contains("not empty"), "{}", stderr(&again));

    let users: Value = serde_json::from_str(&target.ok(&["user", "list", "--json"])).unwrap();
    let users = users.as_array().unwrap();
    assert_eq!(users.len(), 2);
    assert_eq!(
        (users[0]["id"].clone(), users[0]["username"].clone()),
        (json!(1), json!("alice"))
    );
    assert_eq!(users[1]["is_active"], false);
    assert_eq!(users[0]["password_hasher"], "pbkdf2_sha256");
    assert_eq!(users[0]["date_joined"], "2025-06-01T10:20:30Z");

    let server = Server::start(&target);
    let (status, body) = server.post("/api/token/refresh/", json!({ "refresh": live }));
    assert_eq!(
        status, 200,
        "a refresh token Django issued keeps working: {body}"
    );
    let (status, body) = server.post("/api/token/refresh/", json!({ "refresh": revoked }));
    assert_eq!(status, 401, "{body}");
    assert_eq!(body["detail"], "Token is blacklisted");

    let (status, body) = server.post(
        "/api/token/",
        json!({ "username": "alice", "password": PASSWORD }),
    );
    assert_eq!(status, 200, "{body}");
    let alice: Value =
        serde_json::from_str(&target.ok(&["user", "show", "alice", "--json"])).unwrap();
    assert_eq!(
        alice["password_hasher"], "argon2id",
        "moved at the first login"
    );
    let (status, _) = server.post(
        "/api/token/",
        json!({ "username": "alice", "password": PASSWORD }),
    );
    assert_eq!(status, 200, "and logs in with argon2id");
    drop(server);
    assert_eq!(
        target.create_user("dave"),
        4,
        "Django's deleted id 3 stays retired"
    );
}

#[test]
fn import_django_of_an_email_user_model_keeps_its_logins_by_email() {
    const EMAIL_USER_DDL: &str =
        include_str!("../../../testdata/django/schema-email-user-sqlite.sql");
    let source = Workdir::new();
    let db = dir_of(&source).join("db.sqlite3");
    let conn = Connection::open(&db).unwrap();
    conn.execute_batch(&EMAIL_USER_DDL.replace("CREATE TABLE sqlite_sequence(name,seq);", ""))
        .unwrap();
    // As accounts.User's manager writes it: email is the USERNAME_FIELD, unique.
    conn.execute(
        "INSERT INTO accounts_user (password, last_login, is_superuser, email, is_active,
         is_staff, date_joined) VALUES (?1, NULL, 0, 'ada@example.com', 1, 0,
         '2025-06-01 10:20:30')",
        [django_hash()],
    )
    .unwrap();

    let target = Workdir::new()
        .with("JWTD_SIGNING_KEY", SECRET)
        .with("JWTD_USERNAME_FIELD", "email");
    let output = target
        .command(&[
            "import-django",
            "--from",
            &sqlite_url(&db),
            "--user-table",
            "accounts_user",
            "--username-field",
            "email",
        ])
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", stderr(&output));
    let users: Value = serde_json::from_str(&target.ok(&["user", "list", "--json"])).unwrap();
    assert_eq!(users[0]["username"], "ada@example.com");
    assert_eq!(users[0]["email"], "ada@example.com");

    let server = Server::start(&target);
    let (status, body) = server.post(
        "/api/token/",
        json!({ "email": "ada@example.com", "password": PASSWORD }),
    );
    assert_eq!(
        status, 200,
        "the same login body as before the move: {body}"
    );
}
