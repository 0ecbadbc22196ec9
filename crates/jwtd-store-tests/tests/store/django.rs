//! `database_schema = "django"`: the stores on Django's tables, made from Django's own DDL
//! (`testdata/django/`), on a real SQLite file and on the real PostgreSQL. Users are written by
//! "Django" in raw SQL ([`Users::Django`]); the contract checks that apply run as
//! `django_<check>::sqlite` / `django_<check>::postgres`, with the Django-specific ones.

use std::sync::Arc;
use std::time::{Duration, Instant};

use jwtd_store::django::DjangoNames;
use jwtd_store::{ClaimValue, Store, StoreError};
use jwtd_store_postgres::{DjangoPostgresStore, PostgresOptions, PostgresStore};
use jwtd_store_sqlite::{DjangoSqliteStore, SqliteStore};
use jwtd_store_tests::contract::{
    blacklist_tokens_of_a_deleted_user, concurrent_rotation, copy_preserves_everything,
    django_custom_user_model, django_export_for_import, durable_check, durable_write,
    many_rotations_at_once,
};
use jwtd_store_tests::django::{Django, SQLITE_SCHEMA, sqlite_sequence};
use jwtd_store_tests::{DAY, T0, Users, new_user, rotation, token};

use crate::{postgres, sqlite};

/// One module per check, with a test per backend, the check run with Django managing users.
macro_rules! django_tests {
    ($($module:ident => $check:ident),* $(,)?) => {$(
        mod $module {
            #[tokio::test]
            async fn sqlite() {
                let (_dir, store, users) = crate::sqlite::fresh_django().await;
                jwtd_store_tests::contract::$check(&store, &users).await;
            }

            #[tokio::test]
            async fn postgres() {
                let Some((_db, store, users)) = crate::postgres::fresh_django().await else {
                    return;
                };
                jwtd_store_tests::contract::$check(&store, &users).await;
            }
        }
    )*};
}

django_tests!(
    // The contract checks of jwtd's stores that apply to Django's tables.
    django_migrate_is_idempotent => migrate_is_idempotent,
    django_ping_works => ping_works,
    django_create_and_look_up_users => create_and_look_up_users,
    django_list_users_ordered_by_id => list_users_ordered_by_id,
    django_update_and_delete_users => update_and_delete_users,
    django_deleted_ids_are_never_reused => deleted_ids_are_never_reused,
    django_record_login_sets_last_login => record_login_sets_last_login,
    django_upgrade_password_only_replaces_the_hash_it_read =>
        upgrade_password_only_replaces_the_hash_it_read,
    django_blacklist_a_recorded_token => blacklist_a_recorded_token,
    django_blacklist_an_unrecorded_token => blacklist_an_unrecorded_token,
    django_rotate_blacklisting_the_old_token => rotate_blacklisting_the_old_token,
    django_rotate_an_unrecorded_token => rotate_an_unrecorded_token,
    django_rotate_without_blacklisting => rotate_without_blacklisting,
    django_rotate_a_blacklisted_token_without_blacklisting =>
        rotate_a_blacklisted_token_without_blacklisting,
    // Its last step, flush_expired(i64::MAX), needs the Unix seconds clamped into Django's
    // datetime range (Dialect::timestamp): beyond it SQLite gives NULL and PostgreSQL errors.
    django_flush_expired_removes_only_expired => flush_expired_removes_only_expired,
    // Django's counterpart of duplicate_username_conflicts and import_refuses_a_store_with_data
    // (users and imports are refused outright), and of migrate (which creates nothing).
    django_user_writes_and_import_are_refused => django_user_writes_and_import_are_refused,
    // Django-specific.
    django_rows_are_simplejwts => django_rows_are_simplejwts,
    django_blacklist_both_ways => django_blacklist_both_ways,
    django_user_changes_are_seen_at_the_next_read =>
        django_user_changes_are_seen_at_the_next_read,
    django_flush_expired_with_djangos_rows => django_flush_expired_removes_only_expired,
    django_upgrade_password_is_compare_and_set => django_upgrade_password_is_compare_and_set,
    django_odd_claims_and_passwords => django_odd_claims_and_passwords,
    django_keys_are_refused => django_keys_are_refused,
    django_sessions_are_not_kept => django_sessions_are_not_kept,
    django_logout_all_blacklists_the_users_tokens =>
        django_logout_all_blacklists_the_users_tokens,
);

/// A deleted user's tokens stay blacklistable, and every row naming them has no owner (Django's
/// `SET_NULL` for rows that existed, the store's existence check for new ones).
mod django_blacklist_tokens_of_a_deleted_user {
    use super::*;

    async fn owners_cleared(store: &dyn Store, users: &Users) {
        let jtis = blacklist_tokens_of_a_deleted_user(store, users).await;
        assert_eq!(jtis.len(), 5);
        for jti in &jtis {
            let row = users.django().outstanding_row(jti).await;
            assert_eq!(
                row.map(|row| row.user_id),
                Some(None),
                "{jti}: kept, owner cleared"
            );
        }
    }

    #[tokio::test]
    async fn sqlite() {
        let (_dir, store, users) = sqlite::fresh_django().await;
        owners_cleared(&store, &users).await;
    }

    #[tokio::test]
    async fn postgres() {
        let Some((_db, store, users)) = postgres::fresh_django().await else {
            return;
        };
        owners_cleared(&store, &users).await;
    }
}

/// 16 rotations of one token at once, exactly one wins: on one store, and on two (two jwtd
/// processes on one `db.sqlite3`, two instances on one PostgreSQL database).
mod django_concurrent_rotation {
    use super::*;

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn sqlite() {
        let (_dir, store, users) = sqlite::fresh_django().await;
        concurrent_rotation(&[Arc::new(store)], &users).await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn sqlite_two_stores() {
        let (dir, first, users) = sqlite::fresh_django().await;
        let second = sqlite::open_django(
            &dir.path().join("db.sqlite3"),
            &DjangoNames::django_default(),
        );
        concurrent_rotation(&[Arc::new(first), Arc::new(second)], &users).await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn postgres() {
        let Some((_db, store, users)) = postgres::fresh_django().await else {
            return;
        };
        concurrent_rotation(&[Arc::new(store)], &users).await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn postgres_two_instances() {
        let Some((db, first, users)) = postgres::fresh_django().await else {
            return;
        };
        let second = postgres::connect_django(db.url(), &DjangoNames::django_default()).await;
        concurrent_rotation(&[Arc::new(first), Arc::new(second)], &users).await;
    }
}

/// Fresh rotations and replays all at once: every fresh one wins, every replay loses.
mod django_many_rotations_at_once {
    use super::*;

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn sqlite() {
        let (_dir, store, users) = sqlite::fresh_django().await;
        many_rotations_at_once(&[Arc::new(store)], &users).await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn sqlite_two_stores() {
        let (dir, first, users) = sqlite::fresh_django().await;
        let second = sqlite::open_django(
            &dir.path().join("db.sqlite3"),
            &DjangoNames::django_default(),
        );
        many_rotations_at_once(&[Arc::new(first), Arc::new(second)], &users).await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn postgres() {
        let Some((db, first, users)) = postgres::fresh_django().await else {
            return;
        };
        let second = postgres::connect_django(db.url(), &DjangoNames::django_default()).await;
        many_rotations_at_once(&[Arc::new(first), Arc::new(second)], &users).await;
    }
}

/// Writes survive the store going away and a new one attaching (a restarted jwtd).
mod django_writes_survive_reopening {
    use super::*;

    #[tokio::test]
    async fn sqlite() {
        let (dir, store, users) = sqlite::fresh_django().await;
        durable_write(&store, &users).await;
        drop(store);
        let reopened = sqlite::open_django(
            &dir.path().join("db.sqlite3"),
            &DjangoNames::django_default(),
        );
        durable_check(&reopened).await;
    }

    #[tokio::test]
    async fn postgres() {
        let Some((db, store, users)) = postgres::fresh_django().await else {
            return;
        };
        durable_write(&store, &users).await;
        drop(store);
        let reconnected = postgres::connect_django(db.url(), &DjangoNames::django_default()).await;
        durable_check(&reconnected).await;
    }
}

/// `export` then `import` from Django's tables into jwtd's own: the contract's copy check with
/// Django managing the source's users.
mod django_copy_preserves_everything {
    use super::*;

    #[tokio::test]
    async fn sqlite_to_sqlite() {
        let (_dir, source, users) = sqlite::fresh_django().await;
        let (_target_dir, target) = sqlite::fresh().await;
        copy_preserves_everything(&source, &users, &target).await;
    }

    #[tokio::test]
    async fn postgres_to_postgres() {
        let Some((_db, source, users)) = postgres::fresh_django().await else {
            return;
        };
        let Some((_target_db, target)) = postgres::fresh().await else {
            return;
        };
        copy_preserves_everything(&source, &users, &target).await;
    }
}

/// `export` of a Django store as `jwtd import-django` uses it, and the import into a fresh jwtd
/// store of the same backend.
mod django_export_for_import {
    use super::*;

    #[tokio::test]
    async fn sqlite() {
        let (dir, source, users) = sqlite::fresh_django().await;
        let (_target_dir, target) = sqlite::fresh().await;
        django_export_for_import(&source, &users, &target).await;
        // The high-water mark came from Django's own AUTOINCREMENT record.
        let conn = rusqlite::Connection::open(dir.path().join("db.sqlite3")).unwrap();
        assert_eq!(
            sqlite_sequence(&conn, "auth_user"),
            Some(source.export().await.unwrap().last_user_id)
        );
    }

    #[tokio::test]
    async fn postgres() {
        let Some((db, source, users)) = postgres::fresh_django().await else {
            return;
        };
        let Some((_target_db, target)) = postgres::fresh().await else {
            return;
        };
        django_export_for_import(&source, &users, &target).await;
        let last: i64 = db
            .client()
            .await
            .query_one("SELECT last_value FROM public.auth_user_id_seq", &[])
            .await
            .unwrap()
            .get(0);
        assert_eq!(last, source.export().await.unwrap().last_user_id);
    }
}

/// The custom user model (login by `email`, groups through its own join table). On SQLite it is
/// Django's `accounts.User` DDL (`schema-email-user-sqlite.sql`); testdata holds no PostgreSQL
/// DDL of that model, so on PostgreSQL the same check runs on Django's `auth_user` with
/// `username_field = email` and `auth_user_groups`.
mod django_custom_user_model {
    use super::*;

    #[tokio::test]
    async fn sqlite() {
        let (_dir, store, users) = sqlite::fresh_django_email_user().await;
        django_custom_user_model(&store, &users).await;
    }

    #[tokio::test]
    async fn postgres() {
        let Some((_db, store, users)) = postgres::fresh_django_login("email").await else {
            return;
        };
        django_custom_user_model(&store, &users).await;
    }
}

fn refusal<T: std::fmt::Debug>(result: Result<T, StoreError>) -> String {
    match result {
        Err(StoreError::Refused(message)) => message,
        other => panic!("expected a refusal, got {other:?}"),
    }
}

const MISSING_BLACKLIST: &str = "database_schema = \"django\": table \
    token_blacklist_outstandingtoken not found; add \
    \"rest_framework_simplejwt.token_blacklist\" to INSTALLED_APPS and run manage.py migrate";

fn assert_names_the_django_tables(message: &str) {
    assert!(
        message.contains("auth_user")
            && message.contains("django_migrations")
            && message.contains("database_schema = \"django\""),
        "{message}"
    );
    assert!(!message.contains('\n'), "one line: {message}");
}

/// Start-up refusals, each one line that says what to do: simplejwt's tables missing, the
/// username column missing, and jwtd's own schema on a Django database.
mod django_startup_refusals {
    use super::*;

    #[tokio::test]
    async fn sqlite() {
        let names = DjangoNames::django_default();
        // A Django project without simplejwt's blacklist app.
        let (_dir, path) = sqlite::django_file(SQLITE_SCHEMA);
        let conn = rusqlite::Connection::open(&path).unwrap();
        conn.execute_batch(
            "DROP TABLE token_blacklist_blacklistedtoken; DROP TABLE token_blacklist_outstandingtoken;",
        )
        .unwrap();
        assert_eq!(
            refusal(DjangoSqliteStore::open(&path, &names)),
            MISSING_BLACKLIST
        );

        // A user table without the configured username column.
        let (_dir, path) = sqlite::django_file(SQLITE_SCHEMA);
        let conn = rusqlite::Connection::open(&path).unwrap();
        conn.execute_batch("ALTER TABLE auth_user RENAME COLUMN username TO login")
            .unwrap();
        let message = refusal(DjangoSqliteStore::open(&path, &names));
        assert!(
            message.contains("column auth_user.username not found"),
            "{message}"
        );
        assert!(message.contains("username_field"), "{message}");
        let email_address =
            DjangoNames::new("auth_user", "email_address", "id", None, "user_id").unwrap();
        let message = refusal(DjangoSqliteStore::open(&path, &email_address));
        assert!(message.contains("auth_user.email_address"), "{message}");
        // A user table that is not there (a custom model not configured).
        let (_dir, path) = sqlite::django_file(jwtd_store_tests::django::SQLITE_EMAIL_USER_SCHEMA);
        let message = refusal(DjangoSqliteStore::open(&path, &names));
        assert!(message.contains("table auth_user not found"), "{message}");
        assert!(message.contains("django_user_table"), "{message}");

        // jwtd's own schema refuses Django's database, and writes nothing to it.
        let (_dir, path) = sqlite::django_file(SQLITE_SCHEMA);
        let before = Django::sqlite(&path).tables().await;
        let store = SqliteStore::open(&path).unwrap();
        assert_names_the_django_tables(&refusal(store.migrate().await));
        drop(store);
        assert_eq!(Django::sqlite(&path).tables().await, before);

        // A Django database file that does not exist is never created.
        let missing = path.with_file_name("missing.sqlite3");
        assert!(matches!(
            DjangoSqliteStore::open(&missing, &names),
            Err(StoreError::Unavailable(_))
        ));
        assert!(!missing.exists());
    }

    #[tokio::test]
    async fn postgres() {
        let names = DjangoNames::django_default();
        let Some(db) = postgres::django_database().await else {
            return;
        };
        let client = db.client().await;
        client
            .batch_execute(
                "DROP TABLE token_blacklist_blacklistedtoken; DROP TABLE token_blacklist_outstandingtoken;",
            )
            .await
            .unwrap();
        assert_eq!(
            refusal(DjangoPostgresStore::connect(db.url(), postgres::options(), &names).await),
            MISSING_BLACKLIST
        );

        let Some(db) = postgres::django_database().await else {
            return;
        };
        let client = db.client().await;
        client
            .batch_execute("ALTER TABLE auth_user DROP COLUMN username")
            .await
            .unwrap();
        let message =
            refusal(DjangoPostgresStore::connect(db.url(), postgres::options(), &names).await);
        assert!(
            message.contains("column auth_user.username not found"),
            "{message}"
        );

        let Some(db) = postgres::django_database().await else {
            return;
        };
        let before = Django::postgres(db.url(), "username").await.tables().await;
        let store = PostgresStore::connect(db.url(), postgres::options()).unwrap();
        assert_names_the_django_tables(&refusal(store.migrate().await));
        assert_eq!(
            Django::postgres(db.url(), "username").await.tables().await,
            before,
            "jwtd's schema wrote nothing"
        );
    }
}

/// Values Django never writes but SQLite's dynamic typing lets another program store (the
/// `NOT NULL` constraints of Django's DDL still hold, so a NULL password cannot be stored): every
/// read answers, none panics or fails; odd values never make a user active or a login match.
mod django_bad_data {
    use super::*;

    #[tokio::test]
    async fn sqlite() {
        let (dir, store, users) = sqlite::fresh_django().await;
        let django = users.django();
        let alice = users.create(&store, "alice", T0).await;
        let conn = django.sqlite_connection();
        let insert = |username: &str, password: &str, is_active: &str, joined: &str| {
            conn.query_row(
                &format!(
                    "INSERT INTO auth_user (password, last_login, is_superuser, username, first_name, \
                     last_name, email, is_staff, is_active, date_joined) \
                     VALUES ({password}, 'garbage', 0, {username}, '', '', '', 'yes', {is_active}, {joined}) \
                     RETURNING id"
                ),
                [],
                |row| row.get::<_, i64>(0),
            )
            .unwrap()
        };
        // An integer in the username and password (text) columns, a non-integer is_active.
        let number = insert("42", "12345", "'yes'", "'not a date'");
        let blob = insert("'blob'", "X'00ff'", "2", "1700000000");
        let empty = insert("'empty'", "''", "'true'", "'2023-11-14T22:13:20Z'");
        let real = insert("'real'", "'!'", "1.5", "'2023-11-14 22:13:20'");

        let user = store
            .user_by_username("42")
            .await
            .unwrap()
            .expect("an integer username");
        assert_eq!((user.id, user.username.as_str()), (number, "42"));
        assert_eq!(user.password_hash, "12345");
        assert!(!user.is_active, "a non-integer is_active is not active");
        assert_eq!(user.date_joined, 0);
        assert_eq!(user.last_login, None);

        let user = store.user_by_id(blob).await.unwrap().unwrap();
        assert_eq!(user.password_hash, "", "a blob password matches nothing");
        assert!(user.is_active, "2 is true, as Python's bool(2)");
        let user = store.user_by_id(empty).await.unwrap().unwrap();
        assert_eq!(user.password_hash, "");
        assert!(!user.is_active, "the text 'true' is not SQLite's 1");
        let user = store.user_by_id(real).await.unwrap().unwrap();
        assert!(!user.is_active, "a real is not an integer");
        assert_eq!(user.date_joined, T0);

        assert_eq!(store.list_users().await.unwrap().len(), 5);
        assert!(
            store
                .user_by_claim(&number.to_string())
                .await
                .unwrap()
                .is_some()
        );
        let fields: Vec<String> = ["is_staff", "date_joined", "last_login", "username"]
            .map(str::to_owned)
            .to_vec();
        let user = store.user_by_id(number).await.unwrap().unwrap();
        let claims = store
            .user_claims(&user, &fields)
            .await
            .expect("claims of odd values");
        assert_eq!(claims[3], ClaimValue::Text("42".to_owned()));
        assert_eq!(claims[1], ClaimValue::Null, "an unreadable date is null");
        assert!(
            store
                .upgrade_password(blob, "", "pbkdf2_sha256$x")
                .await
                .is_ok()
        );

        // An outstanding row with an unreadable expiry (another program's) is neither flushed
        // too early nor a failure of flush or export.
        conn.execute_batch(
            "INSERT INTO token_blacklist_outstandingtoken (token, created_at, expires_at, user_id, jti) \
             VALUES ('t', NULL, 'soon', NULL, 'odd'), (42, 7, 1700000000, NULL, 99)",
        )
        .unwrap();
        store.flush_expired(T0 + DAY).await.expect("flush");
        assert!(!store.is_blacklisted("odd").await.unwrap());
        assert!(!store.is_blacklisted("99").await.unwrap());
        let snapshot = store.export().await.expect("export of odd rows");
        assert!(snapshot.users.iter().any(|user| user.id == alice.id));
        drop(dir);
    }

    #[tokio::test]
    async fn postgres() {
        let Some((_db, store, users)) = postgres::fresh_django().await else {
            return;
        };
        let django = users.django();
        let alice = users.create(&store, "alice", T0).await;
        // PostgreSQL's types hold; what is left is odd text and extreme (finite) dates.
        let long = "x".repeat(150);
        django
            .exec(&format!(
                "UPDATE auth_user SET password = '', username = '{long}', \
                 last_login = '9999-12-31 23:59:59.999999+00', \
                 date_joined = '0001-01-01 00:00:00+00' WHERE id = {}",
                alice.id
            ))
            .await;
        let user = store
            .user_by_username(&long)
            .await
            .expect("extreme dates")
            .expect("the 150-character username");
        assert_eq!(user.password_hash, "");
        assert_eq!(user.last_login, Some(253_402_300_799));
        assert_eq!(user.date_joined, -62_135_596_800);
        store.list_users().await.expect("list with extreme dates");
        let fields = ["date_joined".to_owned(), "last_login".to_owned()];
        assert_eq!(
            store.user_claims(&user, &fields).await.unwrap(),
            vec![
                ClaimValue::Integer(-62_135_596_800),
                ClaimValue::Integer(253_402_300_799)
            ]
        );
        store.export().await.expect("export with extreme dates");
    }
}

/// PostgreSQL's `timestamptz` holds `infinity`, which no Unix second is (Django's ORM cannot
/// write it; another program, or a DBA marking "never expires", can). A read must still answer.
mod django_infinite_timestamps {
    use super::*;

    // Dialect::epoch reads an infinite timestamp as NULL: the user, without that date.
    #[tokio::test]
    async fn postgres() {
        let Some((_db, store, users)) = postgres::fresh_django().await else {
            return;
        };
        let django = users.django();
        let alice = users.create(&store, "alice", T0).await;
        django
            .exec(&format!(
                "UPDATE auth_user SET last_login = 'infinity', date_joined = '-infinity' \
                 WHERE id = {}",
                alice.id
            ))
            .await;
        let user = store
            .user_by_id(alice.id)
            .await
            .expect("an infinite date_joined");
        assert_eq!(user.map(|user| user.id), Some(alice.id));
        store
            .list_users()
            .await
            .expect("list with an infinite date");
        django
            .exec(
                "INSERT INTO token_blacklist_outstandingtoken (token, created_at, expires_at, user_id, jti) \
                 VALUES ('t', NULL, 'infinity', NULL, 'forever')",
            )
            .await;
        store.flush_expired(T0).await.expect("flush");
        let kept = django
            .rows("SELECT jti FROM token_blacklist_outstandingtoken WHERE jti = 'forever'")
            .await;
        assert_eq!(kept.len(), 1, "a token that never expires is never flushed");
        store
            .export()
            .await
            .expect("export with an infinite expiry");
    }
}

/// A long Django transaction holds the write lock: jwtd's writes wait (SQLite's busy timeout,
/// 5 s; PostgreSQL's query timeout), then answer `Unavailable`, and nothing is half-written.
mod django_locked_database {
    use super::*;

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn sqlite() {
        let (_dir, store, users) = sqlite::fresh_django().await;
        let alice = users.create(&store, "alice", T0).await;
        let old = token("old", Some(alice.id), T0, T0 + DAY);
        store.record_issued(&old).await.unwrap();

        let django = users.django().sqlite_connection();
        django.execute_batch("BEGIN IMMEDIATE").unwrap();
        let started = Instant::now();
        let store = Arc::new(store);
        let during = token("during", Some(alice.id), T0, T0 + DAY);
        let (issued, rotated) = tokio::join!(
            store.record_issued(&during),
            store.rotate(rotation(
                &old,
                &token("successor", Some(alice.id), T0, T0 + DAY),
                true,
                T0
            )),
        );
        let took = started.elapsed();
        for (what, result) in [
            ("record_issued", issued.map(drop)),
            ("rotate", rotated.map(drop)),
        ] {
            match result {
                Err(StoreError::Unavailable(message)) => {
                    assert!(message.contains("busy"), "{what}: {message}")
                }
                other => {
                    panic!("{what} under Django's write lock: expected Unavailable, got {other:?}")
                }
            }
        }
        assert!(
            took >= Duration::from_millis(4500),
            "the writes must wait the busy timeout, gave up after {took:?}"
        );
        assert!(took < Duration::from_secs(15), "took {took:?}");
        // Reads still answer while Django holds the lock (rollback journal, RESERVED lock).
        assert!(store.user_by_id(alice.id).await.unwrap().is_some());
        django.execute_batch("COMMIT").unwrap();

        let rows = users.django().outstanding().await;
        let jtis: Vec<&str> = rows.iter().map(|row| row.jti.as_str()).collect();
        assert_eq!(jtis, ["old"], "nothing half-written");
        assert!(users.django().blacklisted().await.is_empty());
        // And once Django commits, the same store writes again.
        assert_eq!(
            store
                .rotate(rotation(
                    &old,
                    &token("successor", Some(alice.id), T0, T0 + DAY),
                    true,
                    T0
                ))
                .await
                .unwrap(),
            jwtd_store_tests::BLACKLISTED_AND_ROTATED
        );
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn postgres() {
        let Some(db) = postgres::django_database().await else {
            return;
        };
        let query_timeout = Duration::from_secs(2);
        let store = DjangoPostgresStore::connect(
            db.url(),
            PostgresOptions {
                pool_size: 4,
                query_timeout,
                ..PostgresOptions::default()
            },
            &DjangoNames::django_default(),
        )
        .await
        .unwrap();
        let django = Django::postgres(db.url(), "username").await;
        let alice_id = django.create_user(&new_user("alice", T0)).await;
        let old = token("old", Some(alice_id), T0, T0 + DAY);
        store.record_issued(&old).await.unwrap();

        let holder = db.client().await;
        holder
            .batch_execute(
                "BEGIN; LOCK TABLE token_blacklist_outstandingtoken, \
                 token_blacklist_blacklistedtoken IN EXCLUSIVE MODE",
            )
            .await
            .unwrap();
        let started = Instant::now();
        let during = token("during", Some(alice_id), T0, T0 + DAY);
        let (issued, rotated) = tokio::join!(
            store.record_issued(&during),
            store.rotate(rotation(
                &old,
                &token("successor", Some(alice_id), T0, T0 + DAY),
                true,
                T0
            )),
        );
        let took = started.elapsed();
        for (what, result) in [
            ("record_issued", issued.map(drop)),
            ("rotate", rotated.map(drop)),
        ] {
            assert!(
                matches!(result, Err(StoreError::Unavailable(_))),
                "{what} under Django's lock: expected Unavailable, got {result:?}"
            );
        }
        assert!(
            took >= query_timeout - Duration::from_millis(100),
            "{took:?}"
        );
        assert!(took < query_timeout * 3, "{took:?}");
        holder.batch_execute("COMMIT").await.unwrap();

        let jtis: Vec<String> = django
            .outstanding()
            .await
            .into_iter()
            .map(|row| row.jti)
            .collect();
        assert_eq!(jtis, ["old"], "nothing half-written");
        assert!(django.blacklisted().await.is_empty());
        assert!(!store.is_blacklisted("old").await.unwrap());
    }
}

/// A `user_id_field` column that is NULL for a user names nobody: that user's claim is empty,
/// never the primary key, which could be the claim value of somebody else (here the boss's
/// employee number 2 is the attacker's id).
mod django_null_claim_column_names_nobody {
    use super::*;

    async fn check(store: &dyn Store, users: &Users) {
        let boss = users.create(store, "boss", T0).await;
        let attacker = users.create(store, "attacker", T0).await;
        assert_eq!((boss.id, attacker.id), (1, 2));
        users
            .django()
            .exec("UPDATE auth_user SET employee_number = 2 WHERE username = 'boss'")
            .await;
        let attacker = store.user_by_username("attacker").await.unwrap().unwrap();
        assert_eq!(attacker.id_claim(), "", "an empty claim, not the id");
        let boss = store.user_by_username("boss").await.unwrap().unwrap();
        assert_eq!(boss.id_claim(), "2");
        assert_eq!(
            store.user_by_claim("2").await.unwrap().map(|u| u.username),
            Some("boss".to_owned())
        );
        assert_eq!(store.user_by_claim("").await.unwrap(), None);
    }

    fn names() -> DjangoNames {
        DjangoNames::new("auth_user", "username", "employee_number", None, "user_id").unwrap()
    }

    #[tokio::test]
    async fn sqlite() {
        let (_dir, path) = sqlite::django_file(SQLITE_SCHEMA);
        rusqlite::Connection::open(&path)
            .unwrap()
            .execute_batch(
                "ALTER TABLE auth_user ADD COLUMN employee_number integer NULL;
                 CREATE UNIQUE INDEX auth_user_employee_number ON auth_user (employee_number);",
            )
            .unwrap();
        let store = sqlite::open_django(&path, &names());
        check(&store, &Users::Django(Box::new(Django::sqlite(&path)))).await;
    }

    #[tokio::test]
    async fn postgres() {
        let Some(db) = postgres::django_database().await else {
            return;
        };
        db.client()
            .await
            .batch_execute("ALTER TABLE auth_user ADD employee_number integer NULL UNIQUE")
            .await
            .unwrap();
        let store = postgres::connect_django(db.url(), &names()).await;
        let users = Users::Django(Box::new(Django::postgres(db.url(), "username").await));
        check(&store, &users).await;
    }
}

/// A login or user id column that two users can share is refused at start-up, on both backends.
mod django_shared_columns_are_refused {
    use super::*;

    fn refusal(result: Result<impl Sized, StoreError>) -> String {
        match result {
            Err(StoreError::Refused(message)) => message,
            Err(other) => panic!("expected a refusal, got {other:?}"),
            Ok(_) => panic!("expected a refusal, got a store"),
        }
    }

    #[tokio::test]
    async fn sqlite() {
        let (_dir, path) = sqlite::django_file(SQLITE_SCHEMA);
        for names in [
            DjangoNames::new("auth_user", "email", "id", None, "user_id").unwrap(),
            DjangoNames::new("auth_user", "username", "email", None, "user_id").unwrap(),
        ] {
            let message = refusal(DjangoSqliteStore::open(&path, &names));
            assert!(
                message.contains("column auth_user.email is not unique"),
                "{message}"
            );
        }
    }

    #[tokio::test]
    async fn postgres() {
        let Some(db) = postgres::django_database().await else {
            return;
        };
        let names = DjangoNames::new("auth_user", "username", "email", None, "user_id").unwrap();
        let options = PostgresOptions::default();
        let message = refusal(DjangoPostgresStore::connect(db.url(), options, &names).await);
        assert!(
            message.contains("column auth_user.email is not unique"),
            "{message}"
        );
    }
}

/// Text that is not UTF-8 (SQLite stores any bytes as TEXT) is read with replacement
/// characters: the user is listed and their claims read, never a failed read for everyone.
mod django_non_utf8_text {
    use super::*;

    #[tokio::test]
    async fn sqlite() {
        let (_dir, store, users) = sqlite::fresh_django().await;
        let alice = users.create(&store, "alice", T0).await;
        users
            .django()
            .sqlite_connection()
            .execute(
                "UPDATE auth_user SET first_name = CAST(X'41ff42' AS TEXT),
                 last_name = CAST(X'ff' AS TEXT) WHERE id = ?1",
                [alice.id],
            )
            .unwrap();
        let fields = vec!["first_name".to_owned(), "last_name".to_owned()];
        store.check_claim_fields(&fields).unwrap();
        assert_eq!(
            store.user_claims(&alice, &fields).await.unwrap(),
            vec![
                ClaimValue::Text("A\u{fffd}B".to_owned()),
                ClaimValue::Text("\u{fffd}".to_owned())
            ]
        );
        users
            .django()
            .sqlite_connection()
            .execute(
                "UPDATE auth_user SET username = CAST(X'ff61' AS TEXT) WHERE id = ?1",
                [alice.id],
            )
            .unwrap();
        let listed = store.list_users().await.unwrap();
        assert_eq!(listed[0].username, "\u{fffd}a");
    }
}
