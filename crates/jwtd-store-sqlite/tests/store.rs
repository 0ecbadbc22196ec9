//! The storage contract, checked against the SQLite store.
//!
//! Every check is an `async fn` over `&dyn Store` (or `Arc<dyn Store>` where tasks are spawned)
//! and knows nothing of SQLite, so the same functions can run against PostgreSQL later; only the
//! `#[tokio::test]` wrappers at the bottom open a fresh SQLite file in a temporary directory.
//! A few wrappers add SQLite-only checks (reopening a file, two stores on one file, the raw
//! `user_id` column, permissions).
//!
//! Times are explicit Unix seconds; nothing here sleeps or reads a clock.

use std::sync::Arc;

use jwtd_store::{Blacklisting, Flushed, NewUser, Store, StoreError, TokenRecord, User, UserId};
use jwtd_store_sqlite::SqliteStore;

/// An arbitrary "now" that every test counts from.
const T0: i64 = 1_700_000_000;

/// Refresh token lifetime used by the tests.
const DAY: i64 = 86_400;

fn new_user(username: &str, date_joined: i64) -> NewUser {
    NewUser {
        username: username.to_owned(),
        password_hash: format!("$argon2id$v=19$m=19456,t=2,p=1$salt${username}"),
        is_active: true,
        date_joined,
    }
}

fn token(jti: &str, user_id: Option<UserId>, issued_at: i64, expires_at: i64) -> TokenRecord {
    TokenRecord {
        jti: jti.to_owned(),
        user_id,
        issued_at,
        expires_at,
    }
}

async fn create(store: &dyn Store, username: &str, at: i64) -> User {
    store
        .create_user(new_user(username, at))
        .await
        .unwrap_or_else(|e| panic!("creating {username}: {e}"))
}

fn flushed(issued: u64, blacklisted: u64) -> Flushed {
    Flushed {
        issued,
        blacklisted,
    }
}

// ---------------------------------------------------------------------------------------------
// The contract, backend-agnostic.
// ---------------------------------------------------------------------------------------------

/// `migrate` on an already migrated store is a no-op that keeps the data.
async fn migrate_is_idempotent(store: &dyn Store) {
    store.migrate().await.expect("second migrate");
    let alice = create(store, "alice", T0).await;
    store.migrate().await.expect("third migrate");
    store.migrate().await.expect("fourth migrate");
    assert_eq!(
        store.user_by_username("alice").await.unwrap(),
        Some(alice),
        "migrating again must keep existing rows"
    );
    store.ping().await.expect("ping after re-migrating");
}

async fn ping_works(store: &dyn Store) {
    store.ping().await.expect("ping on an empty store");
    create(store, "alice", T0).await;
    store.ping().await.expect("ping with a user");
}

/// Creation returns the stored row with increasing ids; lookups find it or answer `Ok(None)`.
async fn create_and_look_up_users(store: &dyn Store) {
    let alice = create(store, "alice", T0).await;
    assert_eq!(alice.username, "alice");
    assert_eq!(alice.password_hash, new_user("alice", T0).password_hash);
    assert!(alice.is_active);
    assert_eq!(alice.date_joined, T0);
    assert_eq!(alice.last_login, None);

    let bob = store
        .create_user(NewUser {
            is_active: false,
            ..new_user("bob", T0 + 1)
        })
        .await
        .expect("create bob");
    assert!(!bob.is_active);
    let carol = create(store, "carol", T0 + 2).await;
    assert!(
        alice.id < bob.id,
        "ids increase: {} then {}",
        alice.id,
        bob.id
    );
    assert!(
        bob.id < carol.id,
        "ids increase: {} then {}",
        bob.id,
        carol.id
    );

    for user in [&alice, &bob, &carol] {
        assert_eq!(
            store
                .user_by_username(&user.username)
                .await
                .unwrap()
                .as_ref(),
            Some(user)
        );
        assert_eq!(
            store.user_by_id(user.id).await.unwrap().as_ref(),
            Some(user)
        );
    }

    assert_eq!(store.user_by_username("dave").await.unwrap(), None);
    assert_eq!(store.user_by_username("").await.unwrap(), None);
    assert_eq!(store.user_by_id(carol.id + 1000).await.unwrap(), None);
    assert_eq!(store.user_by_id(0).await.unwrap(), None);
    assert_eq!(store.user_by_id(-1).await.unwrap(), None);
}

/// A taken username is a `Conflict`, and the failed attempt changes nothing.
async fn duplicate_username_conflicts(store: &dyn Store) {
    let alice = create(store, "alice", T0).await;
    let again = store
        .create_user(NewUser {
            password_hash: "$argon2id$other".to_owned(),
            is_active: false,
            ..new_user("alice", T0 + 5)
        })
        .await;
    assert!(
        matches!(again, Err(StoreError::Conflict(_))),
        "duplicate username: expected Conflict, got {again:?}"
    );
    assert_eq!(
        store.user_by_username("alice").await.unwrap(),
        Some(alice.clone())
    );
    assert_eq!(store.list_users().await.unwrap(), vec![alice.clone()]);

    // The store still works after the conflict, and the next id is still fresh.
    let bob = create(store, "bob", T0 + 6).await;
    assert!(bob.id > alice.id);
}

/// `list_users` returns every user ordered by id, not by name or anything else.
async fn list_users_ordered_by_id(store: &dyn Store) {
    assert_eq!(store.list_users().await.unwrap(), Vec::<User>::new());
    let mut created = Vec::new();
    for (i, name) in ["zed", "amy", "mia", "bob"].into_iter().enumerate() {
        created.push(create(store, name, T0 - i as i64).await);
    }
    let listed = store.list_users().await.unwrap();
    assert_eq!(listed, created);
    assert!(listed.windows(2).all(|w| w[0].id < w[1].id));
}

/// `set_password`, `set_active` and `delete_user` change only the named row, and answer
/// `NotFound` for a user that does not exist.
async fn update_and_delete_users(store: &dyn Store) {
    let alice = create(store, "alice", T0).await;
    let bob = create(store, "bob", T0).await;

    store
        .set_password("alice", "$argon2id$new")
        .await
        .expect("set_password");
    let changed = store.user_by_username("alice").await.unwrap().unwrap();
    assert_eq!(changed.password_hash, "$argon2id$new");
    assert_eq!(
        User {
            password_hash: alice.password_hash.clone(),
            ..changed
        },
        alice,
        "set_password changes only the hash"
    );
    assert_eq!(
        store.user_by_username("bob").await.unwrap(),
        Some(bob.clone())
    );

    store.set_active("alice", false).await.expect("deactivate");
    assert!(!store.user_by_id(alice.id).await.unwrap().unwrap().is_active);
    store
        .set_active("alice", false)
        .await
        .expect("deactivate twice");
    assert!(!store.user_by_id(alice.id).await.unwrap().unwrap().is_active);
    store.set_active("alice", true).await.expect("reactivate");
    assert!(store.user_by_id(alice.id).await.unwrap().unwrap().is_active);
    assert!(store.user_by_id(bob.id).await.unwrap().unwrap().is_active);

    for result in [
        store.set_password("nobody", "$argon2id$x").await,
        store.set_active("nobody", false).await,
        store.delete_user("nobody").await,
    ] {
        assert!(
            matches!(result, Err(StoreError::NotFound)),
            "unknown user: expected NotFound, got {result:?}"
        );
    }

    store.delete_user("alice").await.expect("delete alice");
    assert_eq!(store.user_by_username("alice").await.unwrap(), None);
    assert_eq!(store.user_by_id(alice.id).await.unwrap(), None);
    assert_eq!(store.list_users().await.unwrap(), vec![bob.clone()]);
    for result in [
        store.delete_user("alice").await,
        store.set_password("alice", "$argon2id$x").await,
        store.set_active("alice", true).await,
    ] {
        assert!(
            matches!(result, Err(StoreError::NotFound)),
            "deleted user: expected NotFound, got {result:?}"
        );
    }
    // The name is free again, but the new alice is a new user.
    let alice2 = create(store, "alice", T0 + 10).await;
    assert_ne!(alice2.id, alice.id);
}

/// A deleted user's id is never handed to the next user, even when it was the highest id.
async fn deleted_ids_are_never_reused(store: &dyn Store) {
    let a = create(store, "a", T0).await;
    let b = create(store, "b", T0).await;
    let c = create(store, "c", T0).await;
    store.delete_user("c").await.unwrap();
    let d = create(store, "d", T0).await;
    assert!(d.id > c.id, "new id {} reuses deleted id {}", d.id, c.id);

    for name in ["a", "b", "d"] {
        store.delete_user(name).await.unwrap();
    }
    assert_eq!(store.list_users().await.unwrap(), Vec::<User>::new());
    let e = create(store, "e", T0).await;
    assert!(
        e.id > d.id,
        "new id {} reuses a deleted id (max was {})",
        e.id,
        d.id
    );
    assert!(![a.id, b.id, c.id, d.id].contains(&e.id));
}

async fn record_login_sets_last_login(store: &dyn Store) {
    let alice = create(store, "alice", T0).await;
    let bob = create(store, "bob", T0).await;

    store.record_login(alice.id, T0 + 100).await.unwrap();
    let seen = store.user_by_id(alice.id).await.unwrap().unwrap();
    assert_eq!(seen.last_login, Some(T0 + 100));
    assert_eq!(
        User {
            last_login: None,
            ..seen
        },
        alice,
        "record_login changes only last_login"
    );

    store.record_login(alice.id, T0 + 200).await.unwrap();
    assert_eq!(
        store
            .user_by_username("alice")
            .await
            .unwrap()
            .unwrap()
            .last_login,
        Some(T0 + 200)
    );
    assert_eq!(
        store.user_by_id(bob.id).await.unwrap().unwrap().last_login,
        None
    );
}

/// Recorded tokens are not blacklisted; blacklisting answers `Added` once, then
/// `AlreadyBlacklisted`.
async fn blacklist_a_recorded_token(store: &dyn Store) {
    let alice = create(store, "alice", T0).await;
    let refresh = token("jti-1", Some(alice.id), T0, T0 + DAY);
    let other = token("jti-2", Some(alice.id), T0, T0 + DAY);

    store.record_issued(&refresh).await.unwrap();
    store.record_issued(&other).await.unwrap();
    // Recording the same token twice is harmless.
    store.record_issued(&refresh).await.unwrap();
    assert!(!store.is_blacklisted("jti-1").await.unwrap());
    assert!(!store.is_blacklisted("never-seen").await.unwrap());

    assert_eq!(
        store.blacklist(&refresh, T0 + 10).await.unwrap(),
        Blacklisting::Added
    );
    assert!(store.is_blacklisted("jti-1").await.unwrap());
    assert!(
        !store.is_blacklisted("jti-2").await.unwrap(),
        "only the named jti"
    );

    assert_eq!(
        store.blacklist(&refresh, T0 + 20).await.unwrap(),
        Blacklisting::AlreadyBlacklisted
    );
    assert!(store.is_blacklisted("jti-1").await.unwrap());

    // Recording it again after blacklisting does not unblacklist it.
    store.record_issued(&refresh).await.unwrap();
    assert!(store.is_blacklisted("jti-1").await.unwrap());
}

/// A token the store never saw (minted by another instance, or before the store existed) can be
/// blacklisted; it is recorded on the way, so it is flushed when it expires.
async fn blacklist_an_unrecorded_token(store: &dyn Store) {
    let alice = create(store, "alice", T0).await;
    let foreign = token("minted-elsewhere", Some(alice.id), T0 - 50, T0 + 1000);

    assert!(!store.is_blacklisted("minted-elsewhere").await.unwrap());
    assert_eq!(
        store.blacklist(&foreign, T0).await.unwrap(),
        Blacklisting::Added
    );
    assert!(store.is_blacklisted("minted-elsewhere").await.unwrap());
    assert_eq!(
        store.blacklist(&foreign, T0 + 1).await.unwrap(),
        Blacklisting::AlreadyBlacklisted
    );

    // A token without a known owner too.
    let anonymous = token("no-owner", None, T0, T0 + 2000);
    assert_eq!(
        store.blacklist(&anonymous, T0).await.unwrap(),
        Blacklisting::Added
    );
    assert!(store.is_blacklisted("no-owner").await.unwrap());

    // Recorded with its own expiry: kept before it, flushed (with its blacklist row) at it.
    assert_eq!(store.flush_expired(T0 + 999).await.unwrap(), flushed(0, 0));
    assert_eq!(store.flush_expired(T0 + 1000).await.unwrap(), flushed(1, 1));
    assert!(!store.is_blacklisted("minted-elsewhere").await.unwrap());
    assert!(store.is_blacklisted("no-owner").await.unwrap());
}

/// Tokens of a deleted user stay blacklistable. Returns the jtis of the rows that now exist and
/// name the deleted user, whose owner must be cleared (the contract has no getter for it, so the
/// backend's wrapper checks the column itself).
async fn blacklist_tokens_of_a_deleted_user(store: &dyn Store) -> Vec<String> {
    let alice = create(store, "alice", T0).await;
    let recorded = token("recorded-before-delete", Some(alice.id), T0, T0 + DAY);
    store.record_issued(&recorded).await.unwrap();
    let blacklisted_before = token("blacklisted-before-delete", Some(alice.id), T0, T0 + DAY);
    assert_eq!(
        store.blacklist(&blacklisted_before, T0).await.unwrap(),
        Blacklisting::Added
    );

    store.delete_user("alice").await.unwrap();

    // A token recorded while alice existed.
    assert_eq!(
        store.blacklist(&recorded, T0 + 1).await.unwrap(),
        Blacklisting::Added
    );
    assert!(
        store
            .is_blacklisted("recorded-before-delete")
            .await
            .unwrap()
    );
    // A token that names alice but that the store never saw.
    let unrecorded = token("unrecorded-after-delete", Some(alice.id), T0, T0 + DAY);
    assert_eq!(
        store.blacklist(&unrecorded, T0 + 2).await.unwrap(),
        Blacklisting::Added
    );
    assert!(
        store
            .is_blacklisted("unrecorded-after-delete")
            .await
            .unwrap()
    );
    // A blacklisting made before the deletion survives it.
    assert!(
        store
            .is_blacklisted("blacklisted-before-delete")
            .await
            .unwrap()
    );
    // Recording a token that names the deleted user, and rotating one, also work.
    let late = token("recorded-after-delete", Some(alice.id), T0, T0 + DAY);
    store.record_issued(&late).await.unwrap();
    let successor = token("rotated-after-delete", Some(alice.id), T0 + 3, T0 + DAY);
    assert_eq!(
        store.rotate(&late, &successor, true, T0 + 3).await.unwrap(),
        Blacklisting::Added
    );
    assert!(store.is_blacklisted("recorded-after-delete").await.unwrap());

    // The next user does not inherit anything.
    let bob = create(store, "bob", T0 + 4).await;
    assert_ne!(bob.id, alice.id);

    vec![
        "recorded-before-delete".to_owned(),
        "blacklisted-before-delete".to_owned(),
        "unrecorded-after-delete".to_owned(),
        "recorded-after-delete".to_owned(),
        "rotated-after-delete".to_owned(),
    ]
}

/// Rotation with `blacklist_old`: the first call wins and records the successor; a replay of the
/// same old token loses and writes nothing (its successor is not recorded).
async fn rotate_blacklisting_the_old_token(store: &dyn Store) {
    let alice = create(store, "alice", T0).await;
    // Distinct expiries so flush counts tell exactly which rows exist.
    let old = token("old", Some(alice.id), T0, T0 + 100);
    let winner = token("new-winner", Some(alice.id), T0 + 10, T0 + 200);
    let loser = token("new-loser", Some(alice.id), T0 + 11, T0 + 300);
    store.record_issued(&old).await.unwrap();

    assert_eq!(
        store.rotate(&old, &winner, true, T0 + 10).await.unwrap(),
        Blacklisting::Added
    );
    assert!(store.is_blacklisted("old").await.unwrap());
    assert!(!store.is_blacklisted("new-winner").await.unwrap());

    assert_eq!(
        store.rotate(&old, &loser, true, T0 + 11).await.unwrap(),
        Blacklisting::AlreadyBlacklisted
    );
    assert!(store.is_blacklisted("old").await.unwrap());
    assert!(!store.is_blacklisted("new-loser").await.unwrap());

    // The old token and the winner's successor exist; the loser's successor does not.
    assert_eq!(store.flush_expired(T0 + 100).await.unwrap(), flushed(1, 1));
    assert_eq!(store.flush_expired(T0 + 200).await.unwrap(), flushed(1, 0));
    assert_eq!(
        store.flush_expired(T0 + 300).await.unwrap(),
        flushed(0, 0),
        "the losing rotation recorded its successor"
    );
}

/// Rotation with `blacklist_old` of a token the store never saw: it is recorded and blacklisted,
/// and the successor can be rotated in turn.
async fn rotate_an_unrecorded_token(store: &dyn Store) {
    let alice = create(store, "alice", T0).await;
    let old = token("foreign-old", Some(alice.id), T0 - 10, T0 + 100);
    let first = token("first", Some(alice.id), T0, T0 + 200);
    let second = token("second", Some(alice.id), T0 + 1, T0 + 300);

    assert_eq!(
        store.rotate(&old, &first, true, T0).await.unwrap(),
        Blacklisting::Added
    );
    assert!(store.is_blacklisted("foreign-old").await.unwrap());
    assert_eq!(
        store.rotate(&first, &second, true, T0 + 1).await.unwrap(),
        Blacklisting::Added
    );
    assert!(store.is_blacklisted("first").await.unwrap());
    assert!(!store.is_blacklisted("second").await.unwrap());
    assert_eq!(
        store.rotate(&old, &second, true, T0 + 2).await.unwrap(),
        Blacklisting::AlreadyBlacklisted
    );

    assert_eq!(store.flush_expired(T0 + 300).await.unwrap(), flushed(3, 2));
}

/// Rotation without `blacklist_old` records the successor and never blacklists the old token.
async fn rotate_without_blacklisting(store: &dyn Store) {
    let alice = create(store, "alice", T0).await;
    let old = token("old", Some(alice.id), T0, T0 + 100);
    let first = token("first", Some(alice.id), T0 + 1, T0 + 200);
    let second = token("second", Some(alice.id), T0 + 2, T0 + 300);
    store.record_issued(&old).await.unwrap();

    assert_eq!(
        store.rotate(&old, &first, false, T0 + 1).await.unwrap(),
        Blacklisting::Added
    );
    assert!(!store.is_blacklisted("old").await.unwrap());
    // Rotating the same token again is allowed and still blacklists nothing.
    assert_eq!(
        store.rotate(&old, &second, false, T0 + 2).await.unwrap(),
        Blacklisting::Added
    );
    assert!(!store.is_blacklisted("old").await.unwrap());
    assert!(!store.is_blacklisted("first").await.unwrap());
    assert!(!store.is_blacklisted("second").await.unwrap());

    // The old token was really never blacklisted: blacklisting it now is a fresh insert.
    assert_eq!(
        store.blacklist(&old, T0 + 3).await.unwrap(),
        Blacklisting::Added
    );

    // Both successors were recorded; the only blacklist row is the one just added.
    assert_eq!(store.flush_expired(T0 + 100).await.unwrap(), flushed(1, 1));
    assert_eq!(store.flush_expired(T0 + 300).await.unwrap(), flushed(2, 0));
}

/// 16 tasks rotate the same old token at once, each with its own successor: exactly one wins,
/// and only its successor is recorded. Tasks are spread over `stores` (one store, or several
/// opened on the same database), ten rounds.
async fn concurrent_rotation(stores: &[Arc<dyn Store>]) {
    const TASKS: usize = 16;
    const ROUNDS: i64 = 10;
    let alice = create(stores[0].as_ref(), "alice", T0).await;

    for round in 0..ROUNDS {
        // Each round's rows expire in their own window, so a flush counts just this round.
        let base = T0 + round * 1000;
        let old = token(&format!("old-{round}"), Some(alice.id), base, base + 1);
        if round % 2 == 0 {
            // Even rounds: a token this store issued; odd rounds: one minted elsewhere.
            stores[0].record_issued(&old).await.unwrap();
        }
        let barrier = Arc::new(tokio::sync::Barrier::new(TASKS));
        let tasks: Vec<_> = (0..TASKS)
            .map(|i| {
                let store = Arc::clone(&stores[i % stores.len()]);
                let barrier = Arc::clone(&barrier);
                let old = old.clone();
                let new = token(&format!("new-{round}-{i}"), Some(alice.id), base, base + 2);
                tokio::spawn(async move {
                    barrier.wait().await;
                    store.rotate(&old, &new, true, base).await
                })
            })
            .collect();

        let mut added = 0;
        let mut already = 0;
        for task in tasks {
            match task.await.expect("rotation task panicked") {
                Ok(Blacklisting::Added) => added += 1,
                Ok(Blacklisting::AlreadyBlacklisted) => already += 1,
                Err(e) => panic!("round {round}: rotation failed: {e}"),
            }
        }
        assert_eq!(
            (added, already),
            (1, TASKS - 1),
            "round {round}: exactly one rotation must win"
        );
        for store in stores {
            assert!(store.is_blacklisted(&old.jti).await.unwrap());
        }
        // The old token plus exactly one successor, one blacklist row.
        assert_eq!(
            stores[0].flush_expired(base + 2).await.unwrap(),
            flushed(2, 1),
            "round {round}: only the winner's successor may be recorded"
        );
    }
}

/// `flush_expired(now)` removes issued rows with `expires_at <= now` and their blacklist rows,
/// keeps the rest, and counts what it removed.
async fn flush_expired_removes_only_expired(store: &dyn Store) {
    let alice = create(store, "alice", T0).await;
    let t = |jti: &str, exp: i64| token(jti, Some(alice.id), T0, exp);

    store
        .record_issued(&t("e100-plain", T0 + 100))
        .await
        .unwrap();
    store
        .blacklist(&t("e100-black", T0 + 100), T0)
        .await
        .unwrap();
    store
        .record_issued(&t("e200-plain", T0 + 200))
        .await
        .unwrap();
    store
        .blacklist(&t("e300-black", T0 + 300), T0)
        .await
        .unwrap(); // at `now`: expired
    store
        .blacklist(&t("e301-black", T0 + 301), T0)
        .await
        .unwrap(); // one second after: kept
    store
        .record_issued(&t("e400-plain", T0 + 400))
        .await
        .unwrap();

    // Nothing has expired yet.
    assert_eq!(store.flush_expired(T0).await.unwrap(), flushed(0, 0));
    assert_eq!(store.flush_expired(T0 + 99).await.unwrap(), flushed(0, 0));

    assert_eq!(store.flush_expired(T0 + 300).await.unwrap(), flushed(4, 2));
    assert!(!store.is_blacklisted("e100-black").await.unwrap());
    assert!(!store.is_blacklisted("e300-black").await.unwrap());
    assert!(store.is_blacklisted("e301-black").await.unwrap());

    // A second flush at the same time finds nothing more.
    assert_eq!(store.flush_expired(T0 + 300).await.unwrap(), flushed(0, 0));

    // The survivors were kept intact: blacklisting them still answers correctly.
    assert_eq!(
        store
            .blacklist(&t("e301-black", T0 + 301), T0 + 1)
            .await
            .unwrap(),
        Blacklisting::AlreadyBlacklisted
    );
    assert_eq!(
        store
            .blacklist(&t("e400-plain", T0 + 400), T0 + 1)
            .await
            .unwrap(),
        Blacklisting::Added
    );

    // Users are never flushed.
    assert_eq!(store.list_users().await.unwrap(), vec![alice]);

    assert_eq!(store.flush_expired(i64::MAX).await.unwrap(), flushed(2, 2));
    assert_eq!(store.flush_expired(i64::MAX).await.unwrap(), flushed(0, 0));
}

/// First half of the durability check: writes to make before the store goes away.
async fn durable_write(store: &dyn Store) {
    let alice = create(store, "alice", T0).await;
    store.record_login(alice.id, T0 + 5).await.unwrap();
    assert_eq!(
        store
            .blacklist(&token("revoked", Some(alice.id), T0, T0 + DAY), T0 + 1)
            .await
            .unwrap(),
        Blacklisting::Added
    );
    store
        .record_issued(&token("live", Some(alice.id), T0, T0 + DAY))
        .await
        .unwrap();
}

/// Second half: what a store reopened on the same database must still see.
async fn durable_check(store: &dyn Store) {
    let alice = store
        .user_by_username("alice")
        .await
        .unwrap()
        .expect("user lost");
    assert_eq!(alice.last_login, Some(T0 + 5));
    assert!(
        store.is_blacklisted("revoked").await.unwrap(),
        "blacklist entry lost"
    );
    assert!(!store.is_blacklisted("live").await.unwrap());
    assert_eq!(
        store
            .blacklist(&token("revoked", Some(alice.id), T0, T0 + DAY), T0 + 2)
            .await
            .unwrap(),
        Blacklisting::AlreadyBlacklisted
    );
    assert_eq!(store.flush_expired(T0 + DAY).await.unwrap(), flushed(2, 1));
}

/// Two stores on one database (the server and the CLI) see each other's writes at once.
async fn two_stores_see_each_other(server: &dyn Store, cli: &dyn Store) {
    // Warm the server's connections first, so nothing it sees comes from a fresh open.
    server.ping().await.unwrap();
    assert_eq!(server.user_by_username("alice").await.unwrap(), None);

    let alice = create(cli, "alice", T0).await;
    assert_eq!(
        server.user_by_username("alice").await.unwrap(),
        Some(alice.clone())
    );
    assert_eq!(
        server.user_by_id(alice.id).await.unwrap(),
        Some(alice.clone())
    );

    cli.set_active("alice", false).await.unwrap();
    assert!(
        !server
            .user_by_id(alice.id)
            .await
            .unwrap()
            .unwrap()
            .is_active
    );
    cli.set_password("alice", "$argon2id$reset").await.unwrap();
    assert_eq!(
        server
            .user_by_id(alice.id)
            .await
            .unwrap()
            .unwrap()
            .password_hash,
        "$argon2id$reset"
    );

    let bob = create(server, "bob", T0 + 1).await;
    assert!(bob.id > alice.id);
    assert_eq!(cli.list_users().await.unwrap().len(), 2);
    assert!(matches!(
        cli.create_user(new_user("bob", T0 + 2)).await,
        Err(StoreError::Conflict(_))
    ));

    let refresh = token("shared", Some(bob.id), T0, T0 + DAY);
    server.record_issued(&refresh).await.unwrap();
    assert_eq!(
        cli.blacklist(&refresh, T0 + 3).await.unwrap(),
        Blacklisting::Added
    );
    assert!(server.is_blacklisted("shared").await.unwrap());
    assert_eq!(
        server.blacklist(&refresh, T0 + 4).await.unwrap(),
        Blacklisting::AlreadyBlacklisted
    );

    cli.delete_user("alice").await.unwrap();
    assert_eq!(server.user_by_id(alice.id).await.unwrap(), None);
}

// ---------------------------------------------------------------------------------------------
// SQLite wrappers.
// ---------------------------------------------------------------------------------------------

/// A migrated store on a new file. The file sits in a directory that does not exist yet, so
/// every test also checks that `open` creates it.
async fn fresh() -> (tempfile::TempDir, SqliteStore) {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = SqliteStore::open(dir.path().join("data").join("jwtd.db")).expect("open");
    store.migrate().await.expect("migrate");
    (dir, store)
}

#[tokio::test]
async fn sqlite_migrate_is_idempotent() {
    let (_dir, store) = fresh().await;
    migrate_is_idempotent(&store).await;
}

#[tokio::test]
async fn sqlite_ping_works() {
    let (_dir, store) = fresh().await;
    ping_works(&store).await;
}

#[tokio::test]
async fn sqlite_create_and_look_up_users() {
    let (_dir, store) = fresh().await;
    create_and_look_up_users(&store).await;
}

#[tokio::test]
async fn sqlite_duplicate_username_conflicts() {
    let (_dir, store) = fresh().await;
    duplicate_username_conflicts(&store).await;
}

#[tokio::test]
async fn sqlite_list_users_ordered_by_id() {
    let (_dir, store) = fresh().await;
    list_users_ordered_by_id(&store).await;
}

#[tokio::test]
async fn sqlite_update_and_delete_users() {
    let (_dir, store) = fresh().await;
    update_and_delete_users(&store).await;
}

#[tokio::test]
async fn sqlite_deleted_ids_are_never_reused() {
    let (_dir, store) = fresh().await;
    deleted_ids_are_never_reused(&store).await;
}

/// AUTOINCREMENT must hold across a reopen too (SQLite keeps it in `sqlite_sequence`).
#[tokio::test]
async fn sqlite_deleted_ids_are_never_reused_after_reopen() {
    let (dir, store) = fresh().await;
    let path = store.path().to_path_buf();
    create(&store, "a", T0).await;
    let b = create(&store, "b", T0).await;
    store.delete_user("b").await.unwrap();
    drop(store);
    let store = SqliteStore::open(&path).unwrap();
    store.migrate().await.unwrap();
    let c = create(&store, "c", T0).await;
    assert!(c.id > b.id, "new id {} reuses deleted id {}", c.id, b.id);
    drop(dir);
}

#[tokio::test]
async fn sqlite_record_login_sets_last_login() {
    let (_dir, store) = fresh().await;
    record_login_sets_last_login(&store).await;
}

#[tokio::test]
async fn sqlite_blacklist_a_recorded_token() {
    let (_dir, store) = fresh().await;
    blacklist_a_recorded_token(&store).await;
}

#[tokio::test]
async fn sqlite_blacklist_an_unrecorded_token() {
    let (_dir, store) = fresh().await;
    blacklist_an_unrecorded_token(&store).await;
}

/// Owner column of an issued token, read straight from the file; `None` when the row is absent.
fn raw_owner(path: &std::path::Path, jti: &str) -> Option<Option<UserId>> {
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
async fn sqlite_blacklist_tokens_of_a_deleted_user() {
    let (_dir, store) = fresh().await;
    let jtis = blacklist_tokens_of_a_deleted_user(&store).await;
    assert_eq!(jtis.len(), 5);
    for jti in &jtis {
        assert_eq!(
            raw_owner(store.path(), jti),
            Some(None),
            "{jti}: a deleted user's token must be kept with its owner cleared"
        );
    }
}

#[tokio::test]
async fn sqlite_rotate_blacklisting_the_old_token() {
    let (_dir, store) = fresh().await;
    rotate_blacklisting_the_old_token(&store).await;
}

#[tokio::test]
async fn sqlite_rotate_an_unrecorded_token() {
    let (_dir, store) = fresh().await;
    rotate_an_unrecorded_token(&store).await;
}

#[tokio::test]
async fn sqlite_rotate_without_blacklisting() {
    let (_dir, store) = fresh().await;
    rotate_without_blacklisting(&store).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sqlite_concurrent_rotation_one_store() {
    let (_dir, store) = fresh().await;
    concurrent_rotation(&[Arc::new(store)]).await;
}

/// The same race across two pools on one file, as between the server and the CLI (or two
/// processes): only SQLite's write lock can arbitrate it.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sqlite_concurrent_rotation_two_stores() {
    let (_dir, first) = fresh().await;
    let second = SqliteStore::open(first.path()).unwrap();
    concurrent_rotation(&[Arc::new(first), Arc::new(second)]).await;
}

#[tokio::test]
async fn sqlite_flush_expired_removes_only_expired() {
    let (_dir, store) = fresh().await;
    flush_expired_removes_only_expired(&store).await;
}

#[tokio::test]
async fn sqlite_writes_survive_reopening() {
    let (_dir, store) = fresh().await;
    let path = store.path().to_path_buf();
    durable_write(&store).await;
    drop(store);

    let reopened = SqliteStore::open(&path).expect("reopen");
    // A restarted server migrates on start: that must not disturb the data either.
    reopened.migrate().await.expect("migrate on reopen");
    durable_check(&reopened).await;
}

/// The writes are in the database file itself, not only in a connection's memory: a plain
/// connection that knows nothing of the store sees them while the store is still open.
#[tokio::test]
async fn sqlite_writes_are_visible_to_a_plain_connection() {
    let (_dir, store) = fresh().await;
    durable_write(&store).await;
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
async fn sqlite_two_stores_on_one_file() {
    let (_dir, server) = fresh().await;
    let cli = SqliteStore::open(server.path()).expect("second open");
    // The CLI migrates too, while the server runs.
    cli.migrate().await.expect("migrate from the second store");
    two_stores_see_each_other(&server, &cli).await;
}

/// A database whose schema is newer than this build is refused, not half-used.
#[tokio::test]
async fn sqlite_refuses_a_newer_schema() {
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

/// Restores write permission on drop so the temporary directory can be removed, even when an
/// assertion fails.
struct RestorePermissions(Vec<std::path::PathBuf>);

impl Drop for RestorePermissions {
    fn drop(&mut self) {
        use std::os::unix::fs::PermissionsExt;
        for path in &self.0 {
            let _ = std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755));
        }
    }
}

/// Whether the file can still be opened for writing despite its mode (true for root, or with
/// CAP_DAC_OVERRIDE), in which case a permission-based read-only check would prove nothing.
fn still_writable(path: &std::path::Path) -> bool {
    std::fs::OpenOptions::new().write(true).open(path).is_ok()
}

/// A database the process may not write answers writes with `Unavailable`, never a panic or
/// `Internal`.
///
/// Read-only is made with file permissions. Root ignores them, and the store offers no
/// read-only mode to open with instead, so when the file is still writable after `chmod` the
/// check cannot be made honestly and the test says so and returns early; run the suite as an
/// unprivileged user for this check to count.
#[cfg(unix)]
async fn read_only_database(dir_mode: u32) {
    use std::os::unix::fs::PermissionsExt;

    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path().join("data");
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
    let _restore = RestorePermissions(files.iter().cloned().chain([data.clone()]).collect());
    for file in &files {
        std::fs::set_permissions(file, std::fs::Permissions::from_mode(0o444)).unwrap();
    }
    std::fs::set_permissions(&data, std::fs::Permissions::from_mode(dir_mode)).unwrap();

    if still_writable(&path) {
        eprintln!(
            "SKIPPED: {} is still writable after chmod 0444 (running as root?); \
             the read-only check needs an unprivileged user",
            path.display()
        );
        return;
    }

    let store = match SqliteStore::open(&path) {
        Ok(store) => store,
        Err(StoreError::Unavailable(_)) => return, // refused up front: also acceptable
        Err(other) => panic!("opening a read-only database: expected Unavailable, got {other:?}"),
    };
    let unavailable = |what: &str, result: Result<(), StoreError>| {
        assert!(
            matches!(result, Err(StoreError::Unavailable(_))),
            "{what} on a read-only database: expected Unavailable, got {result:?}"
        );
    };
    unavailable(
        "create_user",
        store.create_user(new_user("bob", T0)).await.map(drop),
    );
    unavailable("set_password", store.set_password("alice", "$x").await);
    unavailable("set_active", store.set_active("alice", false).await);
    unavailable("delete_user", store.delete_user("alice").await);
    unavailable(
        "record_issued",
        store.record_issued(&token("new", None, T0, T0 + DAY)).await,
    );
    unavailable(
        "blacklist",
        store
            .blacklist(&token("issued", None, T0, T0 + DAY), T0)
            .await
            .map(drop),
    );
    unavailable(
        "rotate",
        store
            .rotate(
                &token("issued", None, T0, T0 + DAY),
                &token("next", None, T0, T0 + DAY),
                true,
                T0,
            )
            .await
            .map(drop),
    );
    unavailable(
        "flush_expired",
        store.flush_expired(i64::MAX).await.map(drop),
    );
    // Reads either work or are unavailable too; they never report a bug.
    match store.user_by_username("alice").await {
        Ok(user) => assert!(user.is_some(), "read-only reads must see existing users"),
        Err(e) => assert!(matches!(e, StoreError::Unavailable(_)), "read: {e:?}"),
    }
}

/// Only the file is read-only; its directory stays writable (SQLite can make its WAL side files).
#[cfg(unix)]
#[tokio::test]
async fn sqlite_read_only_file() {
    read_only_database(0o755).await;
}

/// Both the file and its directory are read-only. SQLite then cannot create the WAL side files,
/// so in practice `open` itself fails with `Unavailable` (after the pool's 5 s connection
/// timeout) and the write checks are not reached.
#[cfg(unix)]
#[tokio::test]
async fn sqlite_read_only_file_and_directory() {
    read_only_database(0o555).await;
}
