//! The real `jwtd` binary, run in a temporary directory: user management, keys, tokens, and a
//! server that is killed with SIGKILL and restarted without losing its blacklist.

mod support;

use std::path::PathBuf;

use serde_json::Value;
use support::{PASSWORD, Server, Workdir, login, stderr};

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
    // The hasher's name, never the hash.
    assert_eq!(shown["password_hasher"], "argon2id");
    assert!(!shown.to_string().contains("$argon2id$"), "{shown}");
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

#[test]
fn a_blacklist_survives_kill_9_and_the_cli_works_beside_the_server() {
    let work = Workdir::new()
        .with("JWTD_ROTATE_REFRESH_TOKENS", "true")
        .with("JWTD_BLACKLIST_AFTER_ROTATION", "true");
    let server = Server::start(&work);

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

    // Deactivation by the CLI takes effect on the next request, and revokes: the access token
    // stays refused after the user is activated again; a new login works.
    work.ok(&["user", "deactivate", "alice"]);
    assert_eq!(server.get_auth("/hello/", &access).0, 401);
    work.ok(&["user", "activate", "alice"]);
    assert_eq!(server.get_auth("/hello/", &access).0, 401);
    let (_, access) = login(&server, "alice");

    server.kill();
    let server = Server::start(&work);

    for token in [&refresh, &successor] {
        let (status, body) =
            server.post("/api/token/refresh/", serde_json::json!({"refresh": token}));
        assert_eq!(status, 401);
        assert_eq!(
            body,
            serde_json::json!({"detail": "Token is blacklisted", "code": "token_not_valid"})
        );
    }
    // The restarted server reuses the generated secret: the access token issued before the
    // restart still works.
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

/// `jwtd copy-store` between two SQLite files (the PostgreSQL direction is in `scale_out.rs`):
/// the copy lists the same users with the same ids, a non-empty target is refused, and the
/// configured database itself is never a target.
#[test]
fn copy_store_copies_users_with_their_ids() {
    let work = Workdir::new();
    work.create_user("alice");
    work.create_user("bob");
    work.ok(&["user", "deactivate", "bob"]);
    let copy = |target: &str| {
        work.command(&["copy-store", "--to", target])
            .output()
            .unwrap()
    };

    let output = copy("sqlite://moved/jwtd.db");
    assert!(output.status.success(), "{}", stderr(&output));
    assert_eq!(
        String::from_utf8_lossy(&output.stdout).trim(),
        "copied 2 users, 0 issued tokens and 0 blacklist entries from \
         sqlite://jwtd-data/jwtd.db to sqlite://moved/jwtd.db"
    );
    let moved = Workdir::new().with(
        "JWTD_DATABASE_URL",
        &format!("sqlite://{}", work.path().join("moved/jwtd.db").display()),
    );
    assert_eq!(
        moved.ok(&["user", "list", "--json"]),
        work.ok(&["user", "list", "--json"]),
        "the same users, ids, states and dates"
    );

    let refused = copy("sqlite://moved/jwtd.db");
    assert!(!refused.status.success());
    assert!(
        stderr(&refused).contains("not empty"),
        "{}",
        stderr(&refused)
    );
    let itself = copy("sqlite://jwtd-data/jwtd.db");
    assert!(!itself.status.success());
    assert!(
        stderr(&itself).contains("the configured database itself"),
        "{}",
        stderr(&itself)
    );
}

#[test]
fn users_may_have_a_unique_email_and_log_in_by_it() {
    let work = Workdir::new().with("JWTD_USERNAME_FIELD", "email");
    let create = |name: &str, email: &str| {
        work.run_with_stdin(
            &["user", "create", name, "--password-stdin", "--email", email],
            PASSWORD,
        )
    };
    assert!(create("alice", "alice@example.com").status.success());
    let taken = create("bob", "alice@example.com");
    assert!(!taken.status.success());
    assert!(
        stderr(&taken).contains("a user with the email \"alice@example.com\" already exists"),
        "{}",
        stderr(&taken)
    );
    let bad = create("carol", "not an address");
    assert!(!bad.status.success());
    assert!(
        stderr(&bad).contains("is not an email address"),
        "{}",
        stderr(&bad)
    );
    let shown: Value =
        serde_json::from_str(&work.ok(&["user", "show", "alice", "--json"])).unwrap();
    assert_eq!(shown["email"], "alice@example.com");

    let server = Server::start(&work);
    let (status, body) = server.post(
        "/api/token/",
        serde_json::json!({"email": "alice@example.com", "password": PASSWORD}),
    );
    assert_eq!(status, 200, "{body}");
    let (status, body) = server.post(
        "/api/token/",
        serde_json::json!({"username": "alice", "password": PASSWORD}),
    );
    assert_eq!(status, 400, "{body}");
    assert_eq!(
        body,
        serde_json::json!({"email": ["This field is required."]})
    );
}

#[test]
fn sessions_are_listed_and_ended_from_the_cli_while_the_server_runs() {
    let work = Workdir::new();
    let server = Server::start(&work);
    work.create_user("alice");
    work.create_user("bob");
    let (phone_refresh, phone_access) = login(&server, "alice");
    let (laptop_refresh, laptop_access) = login(&server, "alice");
    let (bob_refresh, bob_access) = login(&server, "bob");

    let listed: Value = serde_json::from_str(&work.ok(&["session", "list", "alice", "--json"]))
        .expect("session list --json prints JSON");
    let sessions = listed.as_array().unwrap();
    assert_eq!(sessions.len(), 2, "{listed}");
    for session in sessions {
        assert_eq!(session["ip"], "127.0.0.1", "{session}");
        assert_eq!(session["id"].as_str().unwrap().len(), 32, "{session}");
    }
    let table = work.ok(&["session", "list", "alice"]);
    assert!(table.starts_with("ID "), "{table}");
    assert_eq!(
        table.lines().count(),
        3,
        "a header and two sessions: {table}"
    );

    // Ending one session kills its refresh and access tokens at once; the other session is
    // untouched. (Both logins may fall in one second, so which is listed first is not known.)
    let ended = sessions[0]["id"].as_str().unwrap();
    work.ok(&["session", "revoke", ended]);
    let refresh = |token: &str| {
        server
            .post(
                "/api/token/refresh/",
                serde_json::json!({ "refresh": token }),
            )
            .0
    };
    let logins = [
        (&phone_refresh, &phone_access),
        (&laptop_refresh, &laptop_access),
    ];
    let answers: Vec<(u16, u16)> = logins
        .iter()
        .map(|(refresh_token, access)| {
            (refresh(refresh_token), server.get_auth("/hello/", access).0)
        })
        .collect();
    assert!(
        answers == [(401, 401), (200, 200)] || answers == [(200, 200), (401, 401)],
        "one session ended with both its tokens, the other untouched: {answers:?}"
    );
    let (phone_refresh, phone_access) = if answers[0].0 == 200 {
        (phone_refresh, phone_access)
    } else {
        (laptop_refresh, laptop_access)
    };
    let again = work.run(&["session", "revoke", ended]);
    assert!(!again.status.success());
    assert!(
        stderr(&again).contains("no live session"),
        "{}",
        stderr(&again)
    );

    // Logout everywhere: alice's remaining session and access tokens die; bob is untouched.
    let out = work.ok(&["session", "revoke-all", "alice"]);
    assert!(out.starts_with("1 sessions ended"), "{out}");
    assert_eq!(refresh(&phone_refresh), 401);
    assert_eq!(server.get_auth("/hello/", &phone_access).0, 401);
    assert_eq!(refresh(&bob_refresh), 200);
    assert_eq!(server.get_auth("/hello/", &bob_access).0, 200);
    assert_eq!(
        work.ok(&["session", "list", "alice", "--json"]).trim(),
        "[]"
    );

    // A password set by the CLI revokes too.
    let output = work.run_with_stdin(
        &["user", "set-password", "bob", "--password-stdin"],
        "a new password for bob\n",
    );
    assert!(output.status.success(), "{}", stderr(&output));
    assert_eq!(refresh(&bob_refresh), 401);
    assert_eq!(server.get_auth("/hello/", &bob_access).0, 401);

    let unknown = work.run(&["session", "list", "nobody"]);
    assert!(!unknown.status.success());
    assert!(
        stderr(&unknown).contains("no user named"),
        "{}",
        stderr(&unknown)
    );
}
