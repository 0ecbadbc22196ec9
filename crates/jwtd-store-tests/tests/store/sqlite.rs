//! SQLite: the store on a real file in a temporary directory, plus what only a file has
//! (reopening it, two pools on one file, raw columns, a read-only or full disk).

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use jwtd_store::django::DjangoNames;
use jwtd_store::{Blacklisting, KeyChange, KeyUpdate, Store, StoreError, StoredKeyState, UserId};
use jwtd_store_sqlite::{DjangoSqliteStore, SqliteStore};
use jwtd_store_tests::contract::{
    blacklist_tokens_of_a_deleted_user, concurrent_end_session, concurrent_key_rotations,
    concurrent_rotation, concurrent_rotation_in_a_session, count_attempt_is_not_shared,
    durable_check, durable_write, logout_all_racing_the_sessions, many_rotations_at_once,
    stored_key, two_stores_see_each_other,
};
use jwtd_store_tests::disk::{SmallDisk, fill, is_root};
use jwtd_store_tests::django::Django;
use jwtd_store_tests::{DAY, T0, Users, create, new_user, rotation, token};

/// A migrated store on a new file. The file sits in a directory that does not exist yet, so
/// every test also checks that `open` creates it.
pub async fn fresh() -> (tempfile::TempDir, SqliteStore) {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = SqliteStore::open(dir.path().join("data").join("jwtd.db")).expect("open");
    store.migrate().await.expect("migrate");
    (dir, store)
}

/// AUTOINCREMENT must hold across a reopen too (SQLite keeps it in `sqlite_sequence`).
#[tokio::test]
async fn deleted_ids_are_never_reused_after_reopen() {
    let (_dir, store) = fresh().await;
    let path = store.path().to_path_buf();
    create(&store, "a", T0).await;
    let b = create(&store, "b", T0).await;
    store.delete_user("b").await.unwrap();
    drop(store);
    let store = SqliteStore::open(&path).unwrap();
    store.migrate().await.unwrap();
    let c = create(&store, "c", T0).await;
    assert!(c.id > b.id, "new id {} reuses deleted id {}", c.id, b.id);
}

/// Owner column of an issued token, read straight from the file; `None` when the row is absent.
fn raw_owner(path: &Path, jti: &str) -> Option<Option<UserId>> {
    use rusqlite::OptionalExtension;
    let conn = rusqlite::Connection::open(path).unwrap();
    conn.query_row(
        "SELECT user_id FROM issued_tokens WHERE jti = ?1",
        [jti],
        |row| row.get(0),
    )
    .optional()
    .unwrap()
}

#[tokio::test]
async fn blacklist_tokens_of_a_deleted_user_clears_the_owner() {
    let (_dir, store) = fresh().await;
    let jtis = blacklist_tokens_of_a_deleted_user(&store, &Users::Store).await;
    assert_eq!(jtis.len(), 5);
    for jti in &jtis {
        assert_eq!(
            raw_owner(store.path(), jti),
            Some(None),
            "{jti}: a deleted user's token must be kept with its owner cleared"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_rotation_one_store() {
    let (_dir, store) = fresh().await;
    concurrent_rotation(&[Arc::new(store)], &Users::Store).await;
}

/// The same race across two pools on one file, as between the server and the CLI (or two
/// processes): only SQLite's write lock can arbitrate it.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_rotation_two_stores() {
    let (_dir, first) = fresh().await;
    let second = SqliteStore::open(first.path()).unwrap();
    concurrent_rotation(&[Arc::new(first), Arc::new(second)], &Users::Store).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn many_rotations_at_once_one_store() {
    let (_dir, store) = fresh().await;
    many_rotations_at_once(&[Arc::new(store)], &Users::Store).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn many_rotations_at_once_two_stores() {
    let (_dir, first) = fresh().await;
    let second = SqliteStore::open(first.path()).unwrap();
    many_rotations_at_once(&[Arc::new(first), Arc::new(second)], &Users::Store).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_rotation_in_a_session_one_store() {
    let (_dir, store) = fresh().await;
    concurrent_rotation_in_a_session(&[Arc::new(store)], &Users::Store).await;
}

/// Rotations in one session racing from two pools on one file.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_rotation_in_a_session_two_stores() {
    let (_dir, first) = fresh().await;
    let second = SqliteStore::open(first.path()).unwrap();
    concurrent_rotation_in_a_session(&[Arc::new(first), Arc::new(second)], &Users::Store).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_end_session_one_store() {
    let (_dir, store) = fresh().await;
    concurrent_end_session(&[Arc::new(store)], &Users::Store).await;
}

/// Logouts of one session racing from two pools on one file.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_end_session_two_stores() {
    let (_dir, first) = fresh().await;
    let second = SqliteStore::open(first.path()).unwrap();
    concurrent_end_session(&[Arc::new(first), Arc::new(second)], &Users::Store).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn logout_all_racing_the_sessions_one_store() {
    let (_dir, store) = fresh().await;
    logout_all_racing_the_sessions(&[Arc::new(store)], &Users::Store).await;
}

/// A logout-all racing the user's sessions from two pools on one file.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn logout_all_racing_the_sessions_two_stores() {
    let (_dir, first) = fresh().await;
    let second = SqliteStore::open(first.path()).unwrap();
    logout_all_racing_the_sessions(&[Arc::new(first), Arc::new(second)], &Users::Store).await;
}

/// One SQLite file serves one instance, which keeps its throttles in memory: nothing shared.
#[tokio::test]
async fn count_attempt_is_not_shared_on_sqlite() {
    let (_dir, store) = fresh().await;
    count_attempt_is_not_shared(&store).await;
}

/// Key rotations racing from two pools on one file (the server and the CLI, or two processes):
/// only SQLite's write lock can arbitrate them.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_key_rotations_two_stores() {
    let (_dir, first) = fresh().await;
    let second = SqliteStore::open(first.path()).unwrap();
    concurrent_key_rotations(&[Arc::new(first), Arc::new(second)], &Users::Store).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_key_rotations_one_store() {
    let (_dir, store) = fresh().await;
    concurrent_key_rotations(&[Arc::new(store)], &Users::Store).await;
}

/// A key batch waits for another process's write transaction on the file and decides on what it
/// committed: a key made active meanwhile makes the batch that expected none a conflict, though
/// its own rows would not collide with it. Reads do not wait (WAL).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn key_batches_wait_for_another_writer_and_see_its_commit() {
    let (_dir, store) = fresh().await;
    let other = rusqlite::Connection::open(store.path()).unwrap();
    other
        .execute_batch(
            "BEGIN IMMEDIATE;
             INSERT INTO signing_keys (kid, algorithm, state, material, encrypted, created_at,
                                       activated_at)
             VALUES ('theirs', 'ES256', 'active', x'00ff', 0, 1, 2);",
        )
        .unwrap();
    let store = Arc::new(store);
    let batch = tokio::spawn({
        let store = Arc::clone(&store);
        async move {
            let ours = stored_key("ours", StoredKeyState::Next, T0);
            store.update_keys(None, vec![KeyChange::Insert(ours)]).await
        }
    });
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(
        !batch.is_finished(),
        "the batch must wait for the other writer"
    );
    assert_eq!(
        store.keys().await.unwrap(),
        Vec::new(),
        "nothing committed yet"
    );
    other.execute_batch("COMMIT").unwrap();
    assert_eq!(batch.await.unwrap().unwrap(), KeyUpdate::Conflict);
    let keys = store.keys().await.unwrap();
    assert_eq!(
        keys.iter().map(|k| k.kid.as_str()).collect::<Vec<_>>(),
        ["theirs"]
    );
    assert_eq!(keys[0].material, [0x00, 0xff]);
}

#[tokio::test]
async fn writes_survive_reopening() {
    let (_dir, store) = fresh().await;
    let path = store.path().to_path_buf();
    durable_write(&store, &Users::Store).await;
    drop(store);

    let reopened = SqliteStore::open(&path).expect("reopen");
    // A restarted server migrates on start: that must not disturb the data either.
    reopened.migrate().await.expect("migrate on reopen");
    durable_check(&reopened).await;
}

/// The writes are in the database file itself, not only in a connection's memory: a plain
/// connection that knows nothing of the store sees them while the store is still open.
#[tokio::test]
async fn writes_are_visible_to_a_plain_connection() {
    let (_dir, store) = fresh().await;
    durable_write(&store, &Users::Store).await;
    let conn = rusqlite::Connection::open(store.path()).unwrap();
    let blacklisted: i64 = conn
        .query_row(
            "SELECT count(*) FROM blacklisted_tokens WHERE jti = 'revoked'",
            [],
            |row| row.get(0),
        )
        .unwrap();
    assert_eq!(blacklisted, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_stores_on_one_file() {
    let (_dir, server) = fresh().await;
    let cli = SqliteStore::open(server.path()).expect("second open");
    // The CLI migrates too, while the server runs.
    cli.migrate().await.expect("migrate from the second store");
    two_stores_see_each_other(&server, &cli).await;
}

/// A database whose schema is newer than this build is refused, not half-used.
#[tokio::test]
async fn refuses_a_newer_schema() {
    let (_dir, store) = fresh().await;
    let conn = rusqlite::Connection::open(store.path()).unwrap();
    conn.pragma_update(None, "user_version", 999).unwrap();
    drop(conn);
    let result = store.migrate().await;
    assert!(
        matches!(result, Err(StoreError::Internal(_))),
        "expected Internal for a newer schema, got {result:?}"
    );
}

// ---------------------------------------------------------------------------------------------
// A read-only or full disk.
// ---------------------------------------------------------------------------------------------

/// Whether the file can still be opened for writing.
fn file_writable(path: &Path) -> bool {
    std::fs::OpenOptions::new().write(true).open(path).is_ok()
}

/// Whether a new file can be made in the directory.
fn dir_writable(dir: &Path) -> bool {
    let probe = dir.join(".write-probe");
    let made = std::fs::File::create(&probe).is_ok();
    let _ = std::fs::remove_file(&probe);
    made
}

fn run(command: &str, args: &[&str], path: &Path) -> bool {
    std::process::Command::new(command)
        .args(args)
        .arg(path)
        .status()
        .is_ok_and(|status| status.success())
}

/// Makes files (and optionally their directory) read-only for real, and undoes it on drop, even
/// when an assertion fails. An ordinary user gets `chmod`. Root ignores permissions, so for root
/// it sets the immutable attribute (`chattr +i`), which the kernel enforces for root too: writes
/// fail with EPERM, exactly as a read-only file does for anyone else, and SQLite takes the same
/// fall-back-to-read-only path when opening.
struct ReadOnly {
    paths: Vec<PathBuf>,
    immutable: bool,
}

impl ReadOnly {
    fn apply(files: &[PathBuf], dir: Option<&Path>) -> ReadOnly {
        use std::os::unix::fs::PermissionsExt;
        let mut guard = ReadOnly {
            paths: files
                .iter()
                .cloned()
                .chain(dir.map(Path::to_path_buf))
                .collect(),
            immutable: false,
        };
        for file in files {
            std::fs::set_permissions(file, std::fs::Permissions::from_mode(0o444)).unwrap();
        }
        if let Some(dir) = dir {
            std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o555)).unwrap();
        }
        let still_writable = |files: &[PathBuf]| {
            files.iter().any(|f| file_writable(f)) || dir.is_some_and(dir_writable)
        };
        if still_writable(files) {
            guard.immutable = true;
            for path in &guard.paths {
                assert!(
                    run("chattr", &["+i"], path),
                    "chattr +i {} failed: running as root, the read-only check needs the \
                     immutable attribute (e2fsprogs, and a file system that has it such as ext4, \
                     xfs or btrfs; point TMPDIR there)",
                    path.display()
                );
            }
            assert!(
                !still_writable(files),
                "still writable after chmod and chattr +i"
            );
        }
        guard
    }
}

impl Drop for ReadOnly {
    fn drop(&mut self) {
        use std::os::unix::fs::PermissionsExt;
        for path in &self.paths {
            if self.immutable {
                run("chattr", &["-i"], path);
            }
            let _ = std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755));
        }
    }
}

/// A migrated database with one user and one issued token, closed again; returns its path and
/// every file in its directory.
async fn database_to_lock(dir: &Path) -> (PathBuf, Vec<PathBuf>) {
    let data = dir.join("data");
    let path = data.join("jwtd.db");
    {
        let store = SqliteStore::open(&path).unwrap();
        store.migrate().await.unwrap();
        create(&store, "alice", T0).await;
        store
            .record_issued(&token("issued", None, T0, T0 + DAY))
            .await
            .unwrap();
    }
    let mut files: Vec<_> = std::fs::read_dir(&data)
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .collect();
    files.sort();
    (path, files)
}

fn assert_read_only(what: &str, result: Result<(), StoreError>) {
    match result {
        Err(StoreError::Unavailable(message)) => assert!(
            message.contains("read-only"),
            "{what}: the message must name the cause: {message}"
        ),
        other => panic!("{what} on a read-only database: expected Unavailable, got {other:?}"),
    }
}

/// Only the file is read-only; its directory stays writable. The store opens (reading works)
/// and every write answers `Unavailable` naming the cause, never a panic or `Internal`.
#[tokio::test]
async fn read_only_file() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (path, files) = database_to_lock(dir.path()).await;
    let _read_only = ReadOnly::apply(&files, None);

    let store = SqliteStore::open(&path).expect("a read-only file still opens for reading");
    assert_read_only(
        "create_user",
        store.create_user(new_user("bob", T0)).await.map(drop),
    );
    assert_read_only("set_password", store.set_password("alice", "$x").await);
    assert_read_only("set_active", store.set_active("alice", false).await);
    assert_read_only("delete_user", store.delete_user("alice").await);
    assert_read_only("record_login", store.record_login(1, T0).await);
    assert_read_only(
        "record_issued",
        store.record_issued(&token("new", None, T0, T0 + DAY)).await,
    );
    assert_read_only(
        "blacklist",
        store
            .blacklist(&token("issued", None, T0, T0 + DAY), T0)
            .await
            .map(drop),
    );
    assert_read_only(
        "rotate",
        store
            .rotate(rotation(
                &token("issued", None, T0, T0 + DAY),
                &token("next", None, T0, T0 + DAY),
                true,
                T0,
            ))
            .await
            .map(drop),
    );
    assert_read_only(
        "flush_expired",
        store.flush_expired(i64::MAX).await.map(drop),
    );
    assert_read_only("migrate", store.migrate().await);
    assert_read_only(
        "update_keys",
        store
            .update_keys(
                None,
                vec![KeyChange::Insert(stored_key(
                    "k1",
                    StoredKeyState::Active,
                    T0,
                ))],
            )
            .await
            .map(drop),
    );

    // Reads work, and nothing was half-written.
    let alice = store.user_by_username("alice").await.unwrap().unwrap();
    assert!(alice.is_active);
    assert_eq!(alice.password_hash, new_user("alice", T0).password_hash);
    assert_eq!(store.list_users().await.unwrap().len(), 1);
    assert!(!store.is_blacklisted("issued").await.unwrap());
    assert_eq!(store.keys().await.unwrap(), Vec::new());
    store.ping().await.expect("ping reads");
}

/// Both the file and its directory are read-only. SQLite cannot create the WAL side files, so
/// `open` fails at once (not after the pool's connection timeout) with `Unavailable` naming the
/// cause.
#[tokio::test]
async fn read_only_file_and_directory() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (path, files) = database_to_lock(dir.path()).await;
    let _read_only = ReadOnly::apply(&files, path.parent());

    let started = Instant::now();
    let result = SqliteStore::open(&path);
    let took = started.elapsed();
    match result {
        Err(StoreError::Unavailable(message)) => assert!(
            message.contains("read-only"),
            "the message must name the cause: {message}"
        ),
        other => panic!("opening in a read-only directory: expected Unavailable, got {other:?}"),
    }
    assert!(
        took < Duration::from_secs(1),
        "open must fail fast, took {took:?}"
    );
}

/// A new database in a read-only directory: `open` fails at once, naming the cause.
#[tokio::test]
async fn new_database_in_a_read_only_directory() {
    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path().join("data");
    std::fs::create_dir(&data).unwrap();
    let _read_only = ReadOnly::apply(&[], Some(&data));

    let started = Instant::now();
    let result = SqliteStore::open(data.join("jwtd.db"));
    let took = started.elapsed();
    match result {
        Err(StoreError::Unavailable(message)) => assert!(
            message.contains("read-only"),
            "the message must name the cause: {message}"
        ),
        other => panic!("creating in a read-only directory: expected Unavailable, got {other:?}"),
    }
    assert!(
        took < Duration::from_secs(1),
        "open must fail fast, took {took:?}"
    );
}

/// A full disk: writes fail with `Unavailable` naming the cause, each failed write leaves
/// nothing behind, reads and acknowledged writes are intact, and once space is freed the same
/// store writes again without being reopened.
///
/// The disk is a real one: a 2 MiB tmpfs mounted for the test and filled up, so SQLite meets
/// ENOSPC from the kernel. Mounting needs root (as in CI); an ordinary user cannot mount it and
/// the test says so and returns.
#[tokio::test]
async fn full_disk() {
    if !is_root() {
        eprintln!("SKIPPED: the full-disk check mounts a small tmpfs, which needs root");
        return;
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let disk = SmallDisk::mount(&dir.path().join("small"), "2m");
    let path = disk.path().join("jwtd.db");
    let store = SqliteStore::open(&path).unwrap();
    store.migrate().await.unwrap();
    let alice = create(&store, "alice", T0).await;

    let mut acknowledged = Vec::new();
    for i in 0..20 {
        let refresh = token(&format!("early-{i}"), Some(alice.id), T0, T0 + DAY);
        store.blacklist(&refresh, T0).await.unwrap();
        acknowledged.push(refresh);
    }

    let filler = disk.path().join("filler");
    fill(&filler);

    let mut failure = None;
    for i in 0..10_000 {
        let refresh = token(&format!("token-{i}"), Some(alice.id), T0, T0 + DAY);
        match store.blacklist(&refresh, T0).await {
            Ok(Blacklisting::Added) => acknowledged.push(refresh),
            Ok(other) => panic!("a fresh token was {other:?}"),
            Err(e) => {
                failure = Some((refresh, e));
                break;
            }
        }
    }
    let (refused, error) = failure.expect("writes kept succeeding on a full disk");
    match &error {
        StoreError::Unavailable(message) => assert!(
            message.contains("disk is full"),
            "the message must name the cause: {message}"
        ),
        other => panic!("expected Unavailable on a full disk, got {other:?}"),
    }

    // Other writes fail the same way, none panics.
    for (what, result) in [
        (
            "create_user",
            store.create_user(new_user("bob", T0)).await.map(drop),
        ),
        (
            "rotate",
            store
                .rotate(rotation(
                    &refused,
                    &token("successor", Some(alice.id), T0, T0 + DAY),
                    true,
                    T0,
                ))
                .await
                .map(drop),
        ),
        (
            "update_keys",
            store
                .update_keys(
                    None,
                    vec![KeyChange::Insert(stored_key(
                        "k1",
                        StoredKeyState::Active,
                        T0,
                    ))],
                )
                .await
                .map(drop),
        ),
    ] {
        assert!(
            matches!(&result, Err(StoreError::Unavailable(m)) if m.contains("disk is full")),
            "{what} on a full disk: {result:?}"
        );
    }

    // Nothing half-written: every acknowledged write is there, the refused ones are not.
    for refresh in &acknowledged {
        assert!(store.is_blacklisted(&refresh.jti).await.unwrap());
    }
    assert!(!store.is_blacklisted(&refused.jti).await.unwrap());
    assert_eq!(store.user_by_username("bob").await.unwrap(), None);
    assert_eq!(store.list_users().await.unwrap(), vec![alice.clone()]);
    assert_eq!(store.keys().await.unwrap(), Vec::new());

    // Space comes back: the same store writes again.
    std::fs::remove_file(&filler).unwrap();
    assert_eq!(
        store.blacklist(&refused, T0 + 1).await.unwrap(),
        Blacklisting::Added
    );
    let bob = create(&store, "bob", T0 + 1).await;
    assert!(bob.id > alice.id);
    drop(store);

    let conn = rusqlite::Connection::open(&path).unwrap();
    let check: String = conn
        .query_row("PRAGMA integrity_check", [], |row| row.get(0))
        .unwrap();
    assert_eq!(check, "ok");
    let blacklisted: i64 = conn
        .query_row("SELECT count(*) FROM blacklisted_tokens", [], |row| {
            row.get(0)
        })
        .unwrap();
    assert_eq!(blacklisted as usize, acknowledged.len() + 1);
}

// ---------------------------------------------------------------------------------------------
// Django's `db.sqlite3` (`database_schema = "django"`), made from Django's own DDL.
// ---------------------------------------------------------------------------------------------

/// A Django database file made from `ddl` (real `manage.py migrate` output) in a new directory,
/// in Django's default rollback-journal mode.
pub fn django_file(ddl: &str) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("db.sqlite3");
    jwtd_store_tests::django::create_sqlite_database(&path, ddl);
    (dir, path)
}

/// A Django store on `path` with `names`.
pub fn open_django(path: &Path, names: &DjangoNames) -> DjangoSqliteStore {
    DjangoSqliteStore::open(path, names).expect("open the Django database")
}

/// A Django store on a fresh default-model database, and Django beside it.
pub async fn fresh_django() -> (tempfile::TempDir, DjangoSqliteStore, Users) {
    let (dir, path) = django_file(jwtd_store_tests::django::SQLITE_SCHEMA);
    let store = open_django(&path, &DjangoNames::django_default());
    store.migrate().await.expect("migrate is a no-op");
    (dir, store, Users::Django(Box::new(Django::sqlite(&path))))
}

/// A Django store on a fresh database of the custom user model `accounts.User` (login by
/// `email`), and Django beside it.
pub async fn fresh_django_email_user() -> (tempfile::TempDir, DjangoSqliteStore, Users) {
    let (dir, path) = django_file(jwtd_store_tests::django::SQLITE_EMAIL_USER_SCHEMA);
    let names = DjangoNames::new("accounts_user", "email", "id", None, "user_id").unwrap();
    let store = open_django(&path, &names);
    (
        dir,
        store,
        Users::Django(Box::new(Django::sqlite_model(
            &path,
            "accounts_user",
            "email",
        ))),
    )
}

/// A database made by an older jwtd (schema version 1, before users had an email) is migrated
/// in place: its users are kept, without an email, and emails work from then on.
#[tokio::test]
async fn a_version_1_database_gains_emails_and_keeps_its_users() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("jwtd.db");
    {
        let conn = rusqlite::Connection::open(&path).unwrap();
        conn.execute_batch(include_str!(
            "../../../jwtd-store-sqlite/migrations/0001_initial.sql"
        ))
        .unwrap();
        conn.execute(
            "INSERT INTO users (username, password_hash, is_active, date_joined)
             VALUES ('alice', 'hash', 1, 1)",
            [],
        )
        .unwrap();
        conn.pragma_update(None, "user_version", 1).unwrap();
    }
    let store = SqliteStore::open(&path).unwrap();
    store.migrate().await.unwrap();
    let alice = store.user_by_username("alice").await.unwrap().unwrap();
    assert_eq!((alice.id, alice.email), (1, None));
    let bob = store
        .create_user(jwtd_store::NewUser {
            email: Some("bob@example.com".to_owned()),
            ..new_user("bob", T0)
        })
        .await
        .unwrap();
    assert_eq!(
        store.user_by_email("bob@example.com").await.unwrap(),
        Some(bob)
    );
    // And the later migrations too: the key table is there, empty.
    assert_eq!(store.keys().await.unwrap(), Vec::new());
}
