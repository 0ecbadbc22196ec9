//! The storage contract: every check is an `async fn` over `&dyn Store` (or `Arc<dyn Store>`
//! where tasks are spawned) and knows nothing of the backend. The test binary runs each one on a
//! fresh SQLite file and, when configured, on a fresh PostgreSQL database.
//!
//! Times are explicit Unix seconds; nothing here sleeps or reads a clock.

use std::sync::Arc;

use jwtd_store::{BlacklistEntry, Blacklisting, NewUser, Snapshot, Store, StoreError, User};

use crate::{DAY, T0, create, flushed, new_user, token};

/// `migrate` on an already migrated store is a no-op that keeps the data.
pub async fn migrate_is_idempotent(store: &dyn Store) {
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

/// `ping` answers on an empty store and on one with data.
pub async fn ping_works(store: &dyn Store) {
    store.ping().await.expect("ping on an empty store");
    create(store, "alice", T0).await;
    store.ping().await.expect("ping with a user");
}

/// Creation returns the stored row with increasing ids; lookups find it or answer `Ok(None)`.
pub async fn create_and_look_up_users(store: &dyn Store) {
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
pub async fn duplicate_username_conflicts(store: &dyn Store) {
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
pub async fn list_users_ordered_by_id(store: &dyn Store) {
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
pub async fn update_and_delete_users(store: &dyn Store) {
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
pub async fn deleted_ids_are_never_reused(store: &dyn Store) {
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

/// `record_login` sets `last_login` on the named user only.
pub async fn record_login_sets_last_login(store: &dyn Store) {
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
pub async fn blacklist_a_recorded_token(store: &dyn Store) {
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
pub async fn blacklist_an_unrecorded_token(store: &dyn Store) {
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
pub async fn blacklist_tokens_of_a_deleted_user(store: &dyn Store) -> Vec<String> {
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
pub async fn rotate_blacklisting_the_old_token(store: &dyn Store) {
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
pub async fn rotate_an_unrecorded_token(store: &dyn Store) {
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
pub async fn rotate_without_blacklisting(store: &dyn Store) {
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
pub async fn concurrent_rotation(stores: &[Arc<dyn Store>]) {
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

/// Many rotations at once: for each of 24 chains, a fresh token's rotation and a replay of a
/// token rotated before, spread over `stores`. Every fresh rotation wins and records its
/// successor; every replay loses and records nothing, even when it shares a transaction with
/// winners (SQLite's group commit).
pub async fn many_rotations_at_once(stores: &[Arc<dyn Store>]) {
    const CHAINS: usize = 24;
    let alice = create(stores[0].as_ref(), "alice", T0).await;
    let t = |jti: String| token(&jti, Some(alice.id), T0, T0 + 1);
    for i in 0..CHAINS {
        let outcome = stores[0]
            .rotate(
                &t(format!("spent-{i}")),
                &t(format!("spent-next-{i}")),
                true,
                T0,
            )
            .await
            .unwrap();
        assert_eq!(outcome, Blacklisting::Added);
    }

    let barrier = Arc::new(tokio::sync::Barrier::new(2 * CHAINS));
    let tasks: Vec<_> = (0..2 * CHAINS)
        .map(|n| {
            let (i, replay) = (n / 2, n % 2 == 1);
            let store = Arc::clone(&stores[n % stores.len()]);
            let barrier = Arc::clone(&barrier);
            let (old, new) = if replay {
                (t(format!("spent-{i}")), t(format!("replay-next-{i}")))
            } else {
                (t(format!("fresh-{i}")), t(format!("fresh-next-{i}")))
            };
            tokio::spawn(async move {
                barrier.wait().await;
                (replay, store.rotate(&old, &new, true, T0).await)
            })
        })
        .collect();
    for task in tasks {
        match task.await.expect("rotation task panicked") {
            (false, Ok(outcome)) => assert_eq!(outcome, Blacklisting::Added, "a fresh token"),
            (true, Ok(outcome)) => {
                assert_eq!(outcome, Blacklisting::AlreadyBlacklisted, "a replay")
            }
            (replay, Err(e)) => panic!("rotation failed (replay: {replay}): {e}"),
        }
    }
    for store in stores {
        for i in 0..CHAINS {
            assert!(store.is_blacklisted(&format!("fresh-{i}")).await.unwrap());
            assert!(
                !store
                    .is_blacklisted(&format!("fresh-next-{i}"))
                    .await
                    .unwrap()
            );
        }
    }
    // Issued: spent, spent-next, fresh, fresh-next per chain, and no replay's successor.
    // Blacklisted: spent and fresh per chain.
    assert_eq!(
        stores[0].flush_expired(T0 + 1).await.unwrap(),
        flushed(4 * CHAINS as u64, 2 * CHAINS as u64)
    );
}

/// `flush_expired(now)` removes issued rows with `expires_at <= now` and their blacklist rows,
/// keeps the rest, and counts what it removed.
pub async fn flush_expired_removes_only_expired(store: &dyn Store) {
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
pub async fn durable_write(store: &dyn Store) {
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
pub async fn durable_check(store: &dyn Store) {
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
pub async fn two_stores_see_each_other(server: &dyn Store, cli: &dyn Store) {
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

/// `export` then `import` copies every row unchanged, and the copy behaves as the original:
/// the blacklist holds, rotation of a blacklisted token fails, users log in under their old ids,
/// and no new user gets the id of a deleted one. A second import is refused.
pub async fn copy_preserves_everything(source: &dyn Store, target: &dyn Store) {
    let alice = create(source, "alice", T0).await;
    let bob = source
        .create_user(NewUser {
            is_active: false,
            ..new_user("bob", T0 + 1)
        })
        .await
        .expect("create bob");
    let carol = create(source, "carol", T0 + 2).await;
    source.record_login(alice.id, T0 + 10).await.unwrap();
    let first = token("alice-1", Some(alice.id), T0 + 10, T0 + 10 + DAY);
    let second = token("alice-2", Some(alice.id), T0 + 20, T0 + 20 + DAY);
    source.record_issued(&first).await.unwrap();
    assert_eq!(
        source.rotate(&first, &second, true, T0 + 20).await.unwrap(),
        Blacklisting::Added
    );
    let foreign = token("minted-elsewhere", None, T0 + 25, T0 + 25 + DAY);
    source.blacklist(&foreign, T0 + 30).await.unwrap();
    source
        .record_issued(&token("carol-1", Some(carol.id), T0 + 40, T0 + 40 + DAY))
        .await
        .unwrap();
    // Carol is the newest user: deleting her leaves her id as the high-water mark only.
    source.delete_user("carol").await.unwrap();

    let snapshot = source.export().await.expect("export");
    let alice = source.user_by_id(alice.id).await.unwrap().unwrap();
    assert_eq!(alice.last_login, Some(T0 + 10));
    assert_eq!(snapshot.users, vec![alice.clone(), bob.clone()]);
    assert_eq!(
        snapshot.last_user_id, carol.id,
        "the deleted newest id is remembered"
    );
    assert_eq!(
        snapshot.issued,
        vec![
            first.clone(),
            second.clone(),
            token("carol-1", None, T0 + 40, T0 + 40 + DAY),
            foreign.clone(),
        ],
        "every issued row, by jti, with a deleted owner cleared"
    );
    assert_eq!(
        snapshot.blacklisted,
        vec![
            BlacklistEntry {
                jti: "alice-1".to_owned(),
                blacklisted_at: T0 + 20
            },
            BlacklistEntry {
                jti: "minted-elsewhere".to_owned(),
                blacklisted_at: T0 + 30
            },
        ]
    );

    target.import(&snapshot).await.expect("import");
    assert_eq!(target.export().await.expect("export the copy"), snapshot);
    assert_eq!(
        target.user_by_username("alice").await.unwrap(),
        Some(alice.clone())
    );
    assert_eq!(target.user_by_id(bob.id).await.unwrap(), Some(bob));
    assert!(target.is_blacklisted("alice-1").await.unwrap());
    assert!(target.is_blacklisted("minted-elsewhere").await.unwrap());
    assert!(!target.is_blacklisted("alice-2").await.unwrap());
    let third = token("alice-3", Some(alice.id), T0 + 50, T0 + 50 + DAY);
    assert_eq!(
        target.rotate(&first, &third, true, T0 + 50).await.unwrap(),
        Blacklisting::AlreadyBlacklisted,
        "a token blacklisted before the copy stays spent"
    );
    assert_eq!(
        target.rotate(&second, &third, true, T0 + 50).await.unwrap(),
        Blacklisting::Added
    );
    let dave = create(target, "dave", T0 + 60).await;
    assert!(
        dave.id > carol.id,
        "new id {} reuses the deleted id {}",
        dave.id,
        carol.id
    );

    match target.import(&snapshot).await {
        Err(StoreError::Conflict(message)) => assert!(message.contains("not empty"), "{message}"),
        other => panic!("a second import must be refused, got {other:?}"),
    }
    assert_eq!(
        source.export().await.expect("export again"),
        snapshot,
        "exporting changes nothing"
    );
}

/// An import into a store that holds users or tokens is refused and writes nothing; an empty
/// snapshot into an empty store is fine.
pub async fn import_refuses_a_store_with_data(store: &dyn Store) {
    store
        .import(&Snapshot::default())
        .await
        .expect("empty into empty");
    let incoming = Snapshot {
        users: vec![User {
            id: 42,
            username: "zed".to_owned(),
            password_hash: new_user("zed", T0).password_hash,
            is_active: true,
            date_joined: T0,
            last_login: None,
        }],
        last_user_id: 42,
        issued: vec![token("zed-1", Some(42), T0, T0 + DAY)],
        blacklisted: vec![],
    };

    store
        .record_issued(&token("lonely", None, T0, T0 + DAY))
        .await
        .unwrap();
    assert!(
        matches!(store.import(&incoming).await, Err(StoreError::Conflict(_))),
        "tokens alone make a store non-empty"
    );
    create(store, "alice", T0).await;
    assert!(matches!(
        store.import(&incoming).await,
        Err(StoreError::Conflict(_))
    ));
    let now = store.export().await.unwrap();
    assert_eq!(
        now.users.len(),
        1,
        "nothing of the refused import was written"
    );
    assert_eq!(now.users[0].username, "alice");
    assert_eq!(now.issued, vec![token("lonely", None, T0, T0 + DAY)]);
}
