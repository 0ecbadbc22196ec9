//! PostgreSQL: the store on a fresh database of the real server named by
//! `JWTD_TEST_DATABASE_URL`, plus what only a network database has: several pools (instances)
//! on one database, migrations racing at start-up, and a server that is down, silent or cut off
//! and comes back.
//!
//! The outage checks that need no server (nothing listening, a listener that never answers) run
//! whether the variable is set or not.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use jwtd_store::django::DjangoNames;
use jwtd_store::{
    Blacklisting, KeyChange, KeyUpdate, Store, StoreError, StoredKeyState, User, UserId,
};
use jwtd_store_postgres::{DjangoPostgresStore, PostgresOptions, PostgresStore};
use jwtd_store_tests::contract::{
    blacklist_tokens_of_a_deleted_user, concurrent_count_attempts, concurrent_end_session,
    concurrent_key_rotations, concurrent_rotation, concurrent_rotation_in_a_session,
    count_attempt_counts_per_window, durable_check, durable_write, logout_all_racing_the_sessions,
    many_rotations_at_once, stored_key, two_stores_see_each_other,
};
use jwtd_store_tests::django::Django;
use jwtd_store_tests::postgres::TestDatabase;
use jwtd_store_tests::proxy::{ProxyState, TcpProxy, upstream, via};
use jwtd_store_tests::{DAY, T0, Users, create, new_user, rotation, token};

pub fn options() -> PostgresOptions {
    PostgresOptions {
        pool_size: 4,
        ..PostgresOptions::default()
    }
}

fn connect(url: &str, options: PostgresOptions) -> PostgresStore {
    PostgresStore::connect(url, options).expect("connect")
}

/// A migrated store on a fresh database, or `None` (with a notice) when PostgreSQL is not
/// configured and not required.
pub async fn fresh() -> Option<(TestDatabase, PostgresStore)> {
    let db = TestDatabase::create().await?;
    let store = connect(db.url(), options());
    store.migrate().await.expect("migrate");
    Some((db, store))
}

/// A fresh database holding Django's tables (loaded from `pg_dump` of a migrated Django
/// project), or `None` as [`fresh`].
pub async fn django_database() -> Option<TestDatabase> {
    let db = TestDatabase::create().await?;
    jwtd_store_tests::django::create_postgres_database(db.url()).await;
    Some(db)
}

/// A Django store on `url` with `names`.
pub async fn connect_django(url: &str, names: &DjangoNames) -> DjangoPostgresStore {
    DjangoPostgresStore::connect(url, options(), names)
        .await
        .expect("connect to the Django database")
}

/// A Django store (login by `login`) on a fresh Django database, and Django beside it, or
/// `None` as [`fresh`].
pub async fn fresh_django_login(login: &str) -> Option<(TestDatabase, DjangoPostgresStore, Users)> {
    let db = django_database().await?;
    if login != "username" {
        // Django requires USERNAME_FIELD to be unique, as a custom user model declares it
        // (`email = EmailField(unique=True)`); auth_user's own email is not.
        db.client()
            .await
            .batch_execute(&format!(
                "ALTER TABLE auth_user ADD CONSTRAINT auth_user_{login}_key UNIQUE ({login})"
            ))
            .await
            .expect("a unique login column");
    }
    let names = DjangoNames::new("auth_user", login, "id", None, "user_id").unwrap();
    let store = connect_django(db.url(), &names).await;
    store.migrate().await.expect("migrate is a no-op");
    let django = Django::postgres(db.url(), login).await;
    Some((db, store, Users::Django(Box::new(django))))
}

/// A Django store on a fresh default Django database, and Django beside it, or `None`.
pub async fn fresh_django() -> Option<(TestDatabase, DjangoPostgresStore, Users)> {
    fresh_django_login("username").await
}

/// Two instances (pools) on one fresh database, the first migrated, or `None` as [`fresh`].
async fn two_instances() -> Option<(TestDatabase, [Arc<dyn Store>; 2])> {
    let (db, first) = fresh().await?;
    let second = connect(db.url(), options());
    Some((db, [Arc::new(first), Arc::new(second)]))
}

/// A fresh store after [`durable_write`], and a plain connection to its database beside it, or
/// `None` as [`fresh`].
async fn written() -> Option<(TestDatabase, PostgresStore, tokio_postgres::Client)> {
    let (db, store) = fresh().await?;
    durable_write(&store, &Users::Store).await;
    let client = db.client().await;
    Some((db, store, client))
}

/// The first column of every row `sql` selects, read on a plain connection.
async fn first_column<T>(client: &tokio_postgres::Client, sql: &str) -> Vec<T>
where
    T: for<'a> tokio_postgres::types::FromSql<'a>,
{
    let rows = client.query(sql, &[]).await.unwrap();
    rows.iter().map(|row| row.get(0)).collect()
}

/// An identity column never goes back, even when the newest user is deleted and a new pool
/// (a restarted instance) creates the next one.
#[tokio::test]
async fn deleted_ids_are_never_reused_after_reconnecting() {
    let Some((db, store)) = fresh().await else {
        return;
    };
    create(&store, "a", T0).await;
    let b = create(&store, "b", T0).await;
    store.delete_user("b").await.unwrap();
    drop(store);
    let store = connect(db.url(), options());
    store.migrate().await.unwrap();
    let c = create(&store, "c", T0).await;
    assert!(c.id > b.id, "new id {} reuses deleted id {}", c.id, b.id);
}

#[tokio::test]
async fn blacklist_tokens_of_a_deleted_user_clears_the_owner() {
    let Some((db, store)) = fresh().await else {
        return;
    };
    let jtis = blacklist_tokens_of_a_deleted_user(&store, &Users::Store).await;
    assert_eq!(jtis.len(), 5);
    let client = db.client().await;
    for jti in &jtis {
        let owner: Option<UserId> = client
            .query_one("SELECT user_id FROM issued_tokens WHERE jti = $1", &[jti])
            .await
            .unwrap_or_else(|e| panic!("{jti}: row missing: {e}"))
            .get(0);
        assert_eq!(
            owner, None,
            "{jti}: a deleted user's token must be kept with its owner cleared"
        );
    }
}

/// Refresh tokens are never stored whole: the tables hold the `jti` and times, nothing longer
/// (and a token's session and rotation time, and for access tokens only their `jti` and `exp`).
#[tokio::test]
async fn tokens_are_not_stored_whole() {
    let Some((_db, _store, client)) = written().await else {
        return;
    };
    let columns: Vec<String> = first_column(
        &client,
        "SELECT table_name || '.' || column_name FROM information_schema.columns
         WHERE table_schema = current_schema()
           AND table_name IN ('issued_tokens', 'blacklisted_tokens', 'denied_access_tokens')
         ORDER BY 1",
    )
    .await;
    assert_eq!(
        columns,
        [
            "blacklisted_tokens.blacklisted_at",
            "blacklisted_tokens.jti",
            "denied_access_tokens.expires_at",
            "denied_access_tokens.jti",
            "issued_tokens.expires_at",
            "issued_tokens.issued_at",
            "issued_tokens.jti",
            "issued_tokens.rotated_at",
            "issued_tokens.session_id",
            "issued_tokens.user_id",
        ]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_rotation_one_store() {
    let Some((_db, store)) = fresh().await else {
        return;
    };
    concurrent_rotation(&[Arc::new(store)], &Users::Store).await;
}

/// Two pools on one database are two jwtd instances: the 16 racing rotations are spread over
/// both, and only PostgreSQL can arbitrate.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_rotation_two_instances() {
    let Some((_db, instances)) = two_instances().await else {
        return;
    };
    concurrent_rotation(&instances, &Users::Store).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn many_rotations_at_once_two_instances() {
    let Some((_db, instances)) = two_instances().await else {
        return;
    };
    many_rotations_at_once(&instances, &Users::Store).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_rotation_in_a_session_one_store() {
    let Some((_db, store)) = fresh().await else {
        return;
    };
    concurrent_rotation_in_a_session(&[Arc::new(store)], &Users::Store).await;
}

/// Rotations in one session racing from two instances: exactly one moves the session on.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_rotation_in_a_session_two_instances() {
    let Some((_db, instances)) = two_instances().await else {
        return;
    };
    concurrent_rotation_in_a_session(&instances, &Users::Store).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_end_session_one_store() {
    let Some((_db, store)) = fresh().await else {
        return;
    };
    concurrent_end_session(&[Arc::new(store)], &Users::Store).await;
}

/// Logouts of one session racing from two instances: exactly one ends it.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_end_session_two_instances() {
    let Some((_db, instances)) = two_instances().await else {
        return;
    };
    concurrent_end_session(&instances, &Users::Store).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn logout_all_racing_the_sessions_one_store() {
    let Some((_db, store)) = fresh().await else {
        return;
    };
    logout_all_racing_the_sessions(&[Arc::new(store)], &Users::Store).await;
}

/// A logout-all on one instance racing the user's rotations and logouts on another: the row
/// locks must be taken in one order, or PostgreSQL breaks a deadlock by failing one of them.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn logout_all_racing_the_sessions_two_instances() {
    let Some((_db, instances)) = two_instances().await else {
        return;
    };
    logout_all_racing_the_sessions(&instances, &Users::Store).await;
}

/// Several instances on one database share their login throttles through it.
#[tokio::test]
async fn count_attempt_counts_per_window_on_postgres() {
    let Some((_db, store)) = fresh().await else {
        return;
    };
    count_attempt_counts_per_window(&store).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_count_attempts_one_store() {
    let Some((_db, store)) = fresh().await else {
        return;
    };
    concurrent_count_attempts(&[Arc::new(store)]).await;
}

/// Attempts counted at once by two instances: none is lost.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_count_attempts_two_instances() {
    let Some((_db, instances)) = two_instances().await else {
        return;
    };
    concurrent_count_attempts(&instances).await;
}

/// Key rotations racing from two instances: exactly one applies each round.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_key_rotations_two_instances() {
    let Some((_db, instances)) = two_instances().await else {
        return;
    };
    concurrent_key_rotations(&instances, &Users::Store).await;
}

/// A key batch waits for whoever else is writing the key table (here a plain connection, as
/// another instance's batch would, with the same lock) and decides on what that one committed:
/// a key made active meanwhile makes the batch that expected none a conflict, even though its
/// own rows would not collide with it. Reads do not wait.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn key_batches_wait_for_another_writer_and_see_its_commit() {
    let Some((db, store)) = fresh().await else {
        return;
    };
    let other = db.client().await;
    other
        .batch_execute(
            "BEGIN;
             LOCK TABLE signing_keys IN SHARE ROW EXCLUSIVE MODE;
             INSERT INTO signing_keys (kid, algorithm, state, material, encrypted, created_at,
                                       activated_at)
             VALUES ('theirs', 'ES256', 'active', '\\x00ff', false, 1, 2);",
        )
        .await
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
    let read = tokio::time::timeout(Duration::from_secs(2), store.keys()).await;
    assert_eq!(
        read.expect("a read must not wait").unwrap(),
        Vec::new(),
        "nothing committed yet"
    );
    other.batch_execute("COMMIT").await.unwrap();
    assert_eq!(batch.await.unwrap().unwrap(), KeyUpdate::Conflict);
    let keys = store.keys().await.unwrap();
    assert_eq!(
        keys.iter().map(|k| k.kid.as_str()).collect::<Vec<_>>(),
        ["theirs"]
    );
    assert_eq!(keys[0].material, [0x00, 0xff]);
}

/// Acknowledged writes are committed: a new pool (a restarted instance) sees them, and so does
/// a plain connection while the store is still open.
#[tokio::test]
async fn writes_survive_reconnecting() {
    let Some((db, store, client)) = written().await else {
        return;
    };
    let blacklisted: i64 = client
        .query_one(
            "SELECT count(*) FROM blacklisted_tokens WHERE jti = 'revoked'",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(blacklisted, 1);
    drop(store);

    let reconnected = connect(db.url(), options());
    reconnected.migrate().await.expect("migrate on restart");
    durable_check(&reconnected).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_instances_on_one_database() {
    let Some((db, server)) = fresh().await else {
        return;
    };
    let cli = connect(db.url(), options());
    cli.migrate()
        .await
        .expect("migrate from the second instance");
    two_stores_see_each_other(&server, &cli).await;
}

/// Instances starting together all migrate: the advisory lock lets one apply the schema and the
/// others find it done. Nothing fails, and each migration is recorded once.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_migrations() {
    let Some(db) = TestDatabase::create().await else {
        return;
    };
    let stores: Vec<_> = (0..8)
        .map(|_| Arc::new(connect(db.url(), options())))
        .collect();
    let barrier = Arc::new(tokio::sync::Barrier::new(stores.len()));
    let tasks: Vec<_> = stores
        .iter()
        .map(|store| {
            let (store, barrier) = (Arc::clone(store), Arc::clone(&barrier));
            tokio::spawn(async move {
                barrier.wait().await;
                store.migrate().await
            })
        })
        .collect();
    for task in tasks {
        task.await.unwrap().expect("concurrent migrate");
    }
    let versions: Vec<i32> = first_column(
        &db.client().await,
        "SELECT version FROM jwtd_schema_migrations ORDER BY version",
    )
    .await;
    assert_eq!(versions, [1, 2, 3, 4]);
    let alice = create(stores[3].as_ref(), "alice", T0).await;
    assert_eq!(stores[5].user_by_id(alice.id).await.unwrap(), Some(alice));
}

/// A database whose schema is newer than this build is refused, not half-used.
#[tokio::test]
async fn refuses_a_newer_schema() {
    let Some((db, store)) = fresh().await else {
        return;
    };
    db.client()
        .await
        .execute(
            "INSERT INTO jwtd_schema_migrations (version) VALUES (999)",
            &[],
        )
        .await
        .unwrap();
    let result = store.migrate().await;
    assert!(
        matches!(result, Err(StoreError::Internal(_))),
        "expected Internal for a newer schema, got {result:?}"
    );
}

/// `sslmode=require` is refused up front instead of failing on every call.
#[test]
fn refuses_tls() {
    let result = PostgresStore::connect(
        "postgres://jwtd@127.0.0.1:5432/jwtd?sslmode=require",
        PostgresOptions::default(),
    );
    assert!(
        matches!(&result, Err(StoreError::Internal(m)) if m.contains("TLS")),
        "{result:?}"
    );
    assert!(matches!(
        PostgresStore::connect("not a url", PostgresOptions::default()),
        Err(StoreError::Internal(_))
    ));
}

// ---------------------------------------------------------------------------------------------
// Outages.
// ---------------------------------------------------------------------------------------------

/// Asserts the call failed with `Unavailable` within `limit`.
async fn unavailable_within<T: std::fmt::Debug>(
    what: &str,
    limit: Duration,
    call: impl Future<Output = Result<T, StoreError>>,
) {
    let started = Instant::now();
    let result = call.await;
    let took = started.elapsed();
    assert!(
        matches!(result, Err(StoreError::Unavailable(_))),
        "{what}: expected Unavailable, got {result:?}"
    );
    assert!(took <= limit, "{what}: took {took:?}, more than {limit:?}");
}

/// Every kind of call on a store that cannot reach its server.
async fn every_call_unavailable(store: &PostgresStore, limit: Duration) {
    let old = token("old", Some(1), T0, T0 + DAY);
    let new = token("new", Some(1), T0, T0 + DAY);
    unavailable_within("migrate", limit, store.migrate()).await;
    unavailable_within("ping", limit, store.ping()).await;
    unavailable_within(
        "create_user",
        limit,
        store.create_user(new_user("alice", T0)),
    )
    .await;
    unavailable_within("user_by_username", limit, store.user_by_username("alice")).await;
    unavailable_within("user_by_id", limit, store.user_by_id(1)).await;
    unavailable_within("is_blacklisted", limit, store.is_blacklisted("old")).await;
    unavailable_within("blacklist", limit, store.blacklist(&old, T0)).await;
    unavailable_within(
        "rotate",
        limit,
        store.rotate(rotation(&old, &new, true, T0)),
    )
    .await;
    unavailable_within("flush_expired", limit, store.flush_expired(T0)).await;
}

/// A store for a server at `addr` that is not there to answer.
fn unreachable(addr: SocketAddr, connect_timeout: Duration) -> PostgresStore {
    connect(
        &format!("postgres://postgres@{addr}/jwtd"),
        PostgresOptions {
            pool_size: 2,
            connect_timeout,
            ..PostgresOptions::default()
        },
    )
}

/// A migrated store on a fresh database, reached through a proxy the test can cut, and a user
/// in it; `None` when PostgreSQL is not configured and not required.
async fn behind_proxy(
    options: PostgresOptions,
) -> Option<(TestDatabase, TcpProxy, PostgresStore, User)> {
    let db = TestDatabase::create().await?;
    let proxy = TcpProxy::start(upstream(db.url())).await.unwrap();
    let store = connect(&via(db.url(), proxy.addr()), options);
    store.migrate().await.unwrap();
    let alice = create(&store, "alice", T0).await;
    Some((db, proxy, store, alice))
}

/// A free loopback port with nothing listening on it.
fn closed_port() -> SocketAddr {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap()
}

/// Nothing listens (the server is stopped): every call fails with `Unavailable` at once.
#[tokio::test]
async fn server_down_is_unavailable_at_once() {
    let store = unreachable(closed_port(), Duration::from_secs(2));
    every_call_unavailable(&store, Duration::from_secs(1)).await;
}

/// A server that accepts connections but never answers (a hung host, a black-holing firewall):
/// each call gives up with `Unavailable` within the connect timeout.
#[tokio::test]
async fn silent_server_times_out() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let held = tokio::spawn(async move {
        let mut open = Vec::new();
        while let Ok((socket, _)) = listener.accept().await {
            open.push(socket); // kept open, never answered
        }
    });
    let connect_timeout = Duration::from_millis(500);
    let store = unreachable(addr, connect_timeout);
    every_call_unavailable(&store, connect_timeout + Duration::from_millis(500)).await;
    held.abort();
}

/// The connection to the real server is cut in the middle of use: calls fail with
/// `Unavailable` within the connect timeout, nothing acknowledged is lost, nothing refused is
/// half-written, and when the network comes back the same store works again by itself.
#[tokio::test]
async fn recovers_after_the_network_is_cut() {
    let connect_timeout = Duration::from_secs(1);
    let Some((_db, proxy, store, alice)) = behind_proxy(PostgresOptions {
        pool_size: 4,
        connect_timeout,
        query_timeout: Duration::from_secs(2),
    })
    .await
    else {
        return;
    };
    let before = token("before", Some(alice.id), T0, T0 + DAY);
    assert_eq!(
        store.blacklist(&before, T0).await.unwrap(),
        Blacklisting::Added
    );

    proxy.set(ProxyState::Cut);
    let during = token("during", Some(alice.id), T0, T0 + DAY);
    let limit = connect_timeout + Duration::from_millis(500);
    unavailable_within("blacklist", limit, store.blacklist(&during, T0)).await;
    every_call_unavailable(&store, limit).await;

    proxy.set(ProxyState::Open);
    store.ping().await.expect("the store reconnects by itself");
    assert!(
        store.is_blacklisted("before").await.unwrap(),
        "acknowledged write lost"
    );
    assert!(
        !store.is_blacklisted("during").await.unwrap(),
        "refused write half-done"
    );
    assert_eq!(store.list_users().await.unwrap(), vec![alice.clone()]);
    assert_eq!(
        store.blacklist(&during, T0).await.unwrap(),
        Blacklisting::Added
    );
}

/// The network stops carrying bytes while the sockets stay open (no reset, no close): a call on
/// an established connection gives up within the query timeout, the stuck connection is thrown
/// away, and the store works again once the network does.
#[tokio::test]
async fn recovers_after_the_network_freezes() {
    let query_timeout = Duration::from_secs(1);
    let Some((db, proxy, store, alice)) = behind_proxy(PostgresOptions {
        pool_size: 1,
        connect_timeout: Duration::from_secs(1),
        query_timeout,
    })
    .await
    else {
        return;
    };

    proxy.set(ProxyState::Frozen);
    let limit = query_timeout + Duration::from_millis(500);
    unavailable_within(
        "rotate on a frozen connection",
        limit,
        store.rotate(rotation(
            &token("old", Some(alice.id), T0, T0 + DAY),
            &token("new", Some(alice.id), T0, T0 + DAY),
            true,
            T0,
        )),
    )
    .await;
    // With the stuck connection gone, a new one cannot be opened either.
    unavailable_within("ping", limit, store.ping()).await;

    proxy.set(ProxyState::Open);
    store.ping().await.expect("the store reconnects by itself");
    assert_eq!(
        store.user_by_username("alice").await.unwrap(),
        Some(alice.clone())
    );
    // The rotation that timed out may or may not have committed before the freeze reached it,
    // but it was all or nothing: the old token is blacklisted exactly when its successor exists.
    let client = db.client().await;
    let rows: i64 = client
        .query_one(
            "SELECT (SELECT count(*) FROM blacklisted_tokens WHERE jti = 'old')
                  + (SELECT count(*) FROM issued_tokens WHERE jti IN ('old', 'new'))",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert!(rows == 0 || rows == 3, "half-done rotation: {rows} rows");
}

/// A database made by an older jwtd (schema version 1, before users had an email) is migrated
/// in place: its users are kept, without an email, and emails work from then on.
#[tokio::test]
async fn a_version_1_database_gains_emails_and_keeps_its_users() {
    let Some(db) = TestDatabase::create().await else {
        return;
    };
    db.client()
        .await
        .batch_execute(&format!(
            "{}
             CREATE TABLE jwtd_schema_migrations (
                 version INTEGER PRIMARY KEY, applied_at TIMESTAMPTZ NOT NULL DEFAULT now());
             INSERT INTO jwtd_schema_migrations (version) VALUES (1);
             INSERT INTO users (username, password_hash, is_active, date_joined)
             VALUES ('alice', 'hash', true, 1);",
            include_str!("../../../jwtd-store-postgres/migrations/0001_initial.sql")
        ))
        .await
        .unwrap();
    let store = connect(db.url(), options());
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
