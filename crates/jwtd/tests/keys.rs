//! The real binary rotating its keys on `SIGHUP`: the new key set in force without a restart,
//! tokens of the old key still accepted while it is retired and refused once removed, and a
//! broken configuration refused with the old key set still serving.

mod support;

use jwtd_token::Algorithm;
use serde_json::Value;
use support::{Server, Workdir, header_kid, jwks_kids, kid_of, login};

#[test]
fn sighup_rotates_the_key_set_and_refuses_a_broken_one() {
    let old = jwtd_token::generate(Algorithm::ES256).unwrap();
    let new = jwtd_token::generate(Algorithm::ES256).unwrap();
    let work = Workdir::new();
    std::fs::write(work.path().join("old.pem"), &old).unwrap();
    std::fs::write(work.path().join("new.pem"), &new).unwrap();
    let config = work.path().join("jwtd.toml");
    let write_config = |text: &str| std::fs::write(&config, text).unwrap();
    write_config("algorithm = \"ES256\"\nsigning_key_file = \"old.pem\"\n");
    let work = work.with("JWTD_CONFIG", config.to_str().unwrap());
    work.create_user("alice");
    let mut server = Server::start(&work);
    let (old_kid, new_kid) = (
        kid_of(Algorithm::ES256, &old),
        kid_of(Algorithm::ES256, &new),
    );
    let (_, old_access) = login(&server, "alice");
    assert_eq!(header_kid(&old_access), old_kid);

    // Rotate: the new key signs, the old one verifies.
    write_config(
        "algorithm = \"ES256\"\nsigning_key_file = \"new.pem\"\n\n\
         [[keys]]\nfile = \"old.pem\"\nstate = \"retired\"\n",
    );
    server.signal("HUP");
    server.wait_for_log("reloaded the key set");
    assert_eq!(jwks_kids(&server), [new_kid.clone(), old_kid.clone()]);
    let (_, new_access) = login(&server, "alice");
    assert_eq!(header_kid(&new_access), new_kid);
    assert_eq!(server.get_auth("/hello/", &old_access).0, 200);
    assert_eq!(server.get_auth("/hello/", &new_access).0, 200);

    // A broken set is refused, with one line, and the previous one keeps serving.
    write_config("algorithm = \"ES256\"\nsigning_key_file = \"missing.pem\"\n");
    server.signal("HUP");
    server.wait_for_log("the new key set is refused");
    assert!(server.logs().contains("missing.pem"), "{}", server.logs());
    assert_eq!(jwks_kids(&server), [new_kid.clone(), old_kid.clone()]);
    let (_, still_new) = login(&server, "alice");
    assert_eq!(header_kid(&still_new), new_kid);
    assert_eq!(server.get_auth("/hello/", &old_access).0, 200);

    // The old key removed: its tokens are refused.
    write_config("algorithm = \"ES256\"\nsigning_key_file = \"new.pem\"\n");
    server.signal("HUP");
    server.wait_until(
        std::time::Duration::from_secs(10),
        "the old key to be removed",
        |server| match jwks_kids(server).len() {
            1 => Ok(()),
            n => Err(format!("{n} keys published")),
        },
    );
    assert_eq!(jwks_kids(&server), [new_kid]);
    assert_eq!(server.get_auth("/hello/", &old_access).0, 401);
    assert_eq!(server.get_auth("/hello/", &new_access).0, 200);
    // No key material in the logs.
    let logs = server.logs();
    for secret_line in old
        .lines()
        .chain(new.lines())
        .filter(|l| !l.starts_with("-----"))
    {
        assert!(!logs.contains(secret_line), "key material logged");
    }
}

/// The kid of every managed key, by state, from `jwtd keys list --json`.
fn managed_list(work: &Workdir) -> Vec<Value> {
    let listed: Value = serde_json::from_str(&work.ok(&["keys", "list", "--json"])).unwrap();
    listed.as_array().unwrap().clone()
}

fn kid_in_state(list: &[Value], state: &str) -> String {
    list.iter()
        .find(|k| k["state"] == state)
        .unwrap_or_else(|| panic!("no {state} key in {list:?}"))["kid"]
        .as_str()
        .unwrap()
        .to_owned()
}

fn managed_work(db: &str) -> Workdir {
    Workdir::new()
        .with("JWTD_DATABASE_URL", db)
        .with("JWTD_ALGORITHM", "ES256")
        .with("JWTD_KEY_MANAGEMENT", "managed")
        .with(
            "JWTD_KEY_ENCRYPTION_KEY",
            "a managed-keys test encryption key of 32+ bytes",
        )
        // Long enough that only an unknown kid makes an instance re-read the set.
        .with("JWTD_KEY_REFRESH_INTERVAL", "1h")
        .with("JWTD_LOGIN_RATE_PER_ADDRESS", "off")
        .with("JWTD_LOGIN_RATE_PER_USERNAME", "off")
}

/// Managed keys on one database: the CLI rotates while two servers run; a token of a key the
/// other server has not seen yet makes it re-read the set (its first answer is 401, then it
/// verifies); retired keys verify, removal inside the window is refused without --force.
fn managed_rotation_across_instances(db: &str) {
    let work = managed_work(db);
    work.ok(&["migrate"]);
    let before = managed_list(&work);
    assert_eq!(before.len(), 2, "an active and a next key: {before:?}");
    let first = kid_in_state(&before, "active");
    let published_next = kid_in_state(&before, "next");
    assert!(before.iter().all(|k| k["encrypted"] == true));
    work.create_user("alice");
    let a = Server::start(&work);
    let mut b = Server::start(&work);
    let (_, token_first) = login(&a, "alice");
    assert_eq!(header_kid(&token_first), first);
    assert_eq!(jwks_kids(&b), [first.clone(), published_next.clone()]);

    // Rotate twice while both run; A is told (an unknown kid on A as well), B learns on its own.
    // The next key was published seconds ago, under jwks_max_age: refused without --force.
    let early = work.run(&["keys", "rotate"]);
    assert!(!early.status.success());
    assert!(
        support::stderr(&early).contains("jwks_max_age"),
        "{}",
        support::stderr(&early)
    );
    assert!(
        work.ok(&["keys", "rotate", "--force"])
            .contains(&published_next)
    );
    work.ok(&["keys", "rotate", "--force"]);
    let third = kid_in_state(&managed_list(&work), "active");
    let (status, _) = a.get_auth("/hello/", &token_first);
    assert_eq!(status, 200, "a retired key verifies");
    // A signs with its old active key until it re-reads: make it meet the new kid.
    let mut token_third = String::new();
    let a_base = a.base.clone();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while std::time::Instant::now() < deadline {
        let (_, access) = login(&a, "alice");
        if header_kid(&access) == third {
            token_third = access;
            break;
        }
        // Any token naming the new kid is a hint; the server re-reads within seconds.
        let forged = format!(
            "{}.e30.AAAA",
            base64_url(&format!(r#"{{"alg":"ES256","kid":"{third}","typ":"JWT"}}"#))
        );
        let _ = Server::client()
            .get(format!("{a_base}/hello/"))
            .bearer_auth(forged)
            .send();
        std::thread::sleep(std::time::Duration::from_millis(200));
    }
    assert_eq!(
        header_kid(&token_third),
        third,
        "A never took the rotated key"
    );
    // B has never seen the third key: the first request is refused and makes it re-read.
    b.wait_until(
        std::time::Duration::from_secs(20),
        "B to accept a token of the rotated key",
        |server| match server.get_auth("/hello/", &token_third) {
            (200, _) => Ok(()),
            (status, body) => Err(format!("{status} {body}")),
        },
    );
    assert_eq!(b.get_auth("/hello/", &token_first).0, 200);

    // The first key is retired and inside its window: removal needs --force.
    let refused = work.run(&["keys", "remove", &first]);
    assert!(!refused.status.success());
    assert!(
        support::stderr(&refused).contains("--force"),
        "{}",
        support::stderr(&refused)
    );
    work.ok(&["keys", "remove", &first, "--force"]);
    assert!(
        managed_list(&work)
            .iter()
            .all(|k| k["kid"] != first.as_str())
    );
    // The active key cannot be removed at all.
    let refused = work.run(&["keys", "remove", &third, "--force"]);
    assert!(
        support::stderr(&refused).contains("active key"),
        "{}",
        support::stderr(&refused)
    );
}

fn base64_url(text: &str) -> String {
    use base64::Engine;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(text)
}

#[test]
fn managed_keys_rotate_across_instances_on_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    let db = format!("sqlite://{}", dir.path().join("shared.db").display());
    managed_rotation_across_instances(&db);
    // The private keys are sealed: no PEM text in the database file.
    let bytes = std::fs::read(dir.path().join("shared.db")).unwrap();
    assert!(!bytes.windows(11).any(|w| w == b"PRIVATE KEY"));
}

#[test]
fn managed_keys_rotate_across_instances_on_postgresql() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let Some(db) = runtime.block_on(jwtd_store_tests::postgres::TestDatabase::create()) else {
        return;
    };
    managed_rotation_across_instances(db.url());
}

#[test]
fn static_keys_refuse_the_managed_commands() {
    let work = Workdir::new();
    let listed = work.ok(&["keys", "list"]);
    assert!(
        listed.contains("HS256") && listed.contains("active"),
        "{listed}"
    );
    let refused = work.run(&["keys", "rotate"]);
    assert!(!refused.status.success());
    assert!(
        support::stderr(&refused).contains("SIGHUP"),
        "{}",
        support::stderr(&refused)
    );
}

#[test]
fn managed_keys_without_an_encryption_key_are_stored_in_clear_with_a_warning() {
    let dir = tempfile::tempdir().unwrap();
    let db = format!("sqlite://{}", dir.path().join("clear.db").display());
    let work = Workdir::new()
        .with("JWTD_DATABASE_URL", &db)
        .with("JWTD_KEY_MANAGEMENT", "managed");
    let server = Server::start(&work);
    assert!(
        server.logs().contains("without key_encryption_key"),
        "{}",
        server.logs()
    );
    let list = managed_list(&work);
    assert!(list.iter().all(|k| k["encrypted"] == false), "{list:?}");
    // A wrong encryption key later cannot open nothing-encrypted keys wrongly; a set sealed
    // with one key refuses another.
    let sealed_db = format!("sqlite://{}", dir.path().join("sealed.db").display());
    let sealed = Workdir::new()
        .with("JWTD_DATABASE_URL", &sealed_db)
        .with("JWTD_KEY_MANAGEMENT", "managed")
        .with(
            "JWTD_KEY_ENCRYPTION_KEY",
            "the first encryption key, 32 bytes long",
        );
    sealed.ok(&["keys", "list"]);
    let wrong = Workdir::new()
        .with("JWTD_DATABASE_URL", &sealed_db)
        .with("JWTD_KEY_MANAGEMENT", "managed")
        .with(
            "JWTD_KEY_ENCRYPTION_KEY",
            "another encryption key, also 32 bytes",
        );
    let refused = wrong.run(&["keys", "list"]);
    assert!(!refused.status.success());
    assert!(
        support::stderr(&refused).contains("cannot be decrypted"),
        "{}",
        support::stderr(&refused)
    );
}

/// A thumbprint may start with `-`: the CLI takes it as a kid, not an option.
#[test]
fn a_kid_starting_with_a_dash_is_a_kid() {
    let dir = tempfile::tempdir().unwrap();
    let db = format!("sqlite://{}", dir.path().join("dash.db").display());
    let work = Workdir::new()
        .with("JWTD_DATABASE_URL", &db)
        .with("JWTD_KEY_MANAGEMENT", "managed");
    let refused = work.run(&["keys", "remove", "-Zno-such-kid"]);
    assert!(!refused.status.success());
    assert!(
        support::stderr(&refused).contains("no key \"-Zno-such-kid\""),
        "{}",
        support::stderr(&refused)
    );
}
