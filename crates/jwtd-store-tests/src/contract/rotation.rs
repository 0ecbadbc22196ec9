//! Contract checks on refresh-token rotation: with and without blacklisting the old token, of
//! tokens the store never saw, and rotations racing on one or several stores.

use std::sync::Arc;

use jwtd_store::{Blacklisting, Rotation, Store};

use crate::{
    BLACKLISTED_AND_ROTATED, ROTATED_WITHOUT_BLACKLISTING, T0, Users, flushed, rotation, token,
};

/// Rotation with `blacklist_old`: the first call wins and records the successor; a replay of the
/// same old token loses and writes nothing (its successor is not recorded).
pub async fn rotate_blacklisting_the_old_token(store: &dyn Store, users: &Users) {
    let alice = users.create(store, "alice", T0).await;
    // Distinct expiries so flush counts tell exactly which rows exist.
    let old = token("old", Some(alice.id), T0, T0 + 100);
    let winner = token("new-winner", Some(alice.id), T0 + 10, T0 + 200);
    let loser = token("new-loser", Some(alice.id), T0 + 11, T0 + 300);
    store.record_issued(&old).await.unwrap();

    assert_eq!(
        store
            .rotate(rotation(&old, &winner, true, T0 + 10))
            .await
            .unwrap(),
        BLACKLISTED_AND_ROTATED
    );
    assert!(store.is_blacklisted("old").await.unwrap());
    assert!(!store.is_blacklisted("new-winner").await.unwrap());

    assert_eq!(
        store
            .rotate(rotation(&old, &loser, true, T0 + 11))
            .await
            .unwrap(),
        Rotation::AlreadyBlacklisted
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
pub async fn rotate_an_unrecorded_token(store: &dyn Store, users: &Users) {
    let alice = users.create(store, "alice", T0).await;
    let old = token("foreign-old", Some(alice.id), T0 - 10, T0 + 100);
    let first = token("first", Some(alice.id), T0, T0 + 200);
    let second = token("second", Some(alice.id), T0 + 1, T0 + 300);

    assert_eq!(
        store
            .rotate(rotation(&old, &first, true, T0))
            .await
            .unwrap(),
        BLACKLISTED_AND_ROTATED
    );
    assert!(store.is_blacklisted("foreign-old").await.unwrap());
    assert_eq!(
        store
            .rotate(rotation(&first, &second, true, T0 + 1))
            .await
            .unwrap(),
        BLACKLISTED_AND_ROTATED
    );
    assert!(store.is_blacklisted("first").await.unwrap());
    assert!(!store.is_blacklisted("second").await.unwrap());
    assert_eq!(
        store
            .rotate(rotation(&old, &second, true, T0 + 2))
            .await
            .unwrap(),
        Rotation::AlreadyBlacklisted
    );

    assert_eq!(store.flush_expired(T0 + 300).await.unwrap(), flushed(3, 2));
}

/// Rotation without `blacklist_old` records the successor and never blacklists the old token.
pub async fn rotate_without_blacklisting(store: &dyn Store, users: &Users) {
    let alice = users.create(store, "alice", T0).await;
    let old = token("old", Some(alice.id), T0, T0 + 100);
    let first = token("first", Some(alice.id), T0 + 1, T0 + 200);
    let second = token("second", Some(alice.id), T0 + 2, T0 + 300);
    store.record_issued(&old).await.unwrap();

    assert_eq!(
        store
            .rotate(rotation(&old, &first, false, T0 + 1))
            .await
            .unwrap(),
        ROTATED_WITHOUT_BLACKLISTING
    );
    assert!(!store.is_blacklisted("old").await.unwrap());
    // Rotating the same token again is allowed and still blacklists nothing.
    assert_eq!(
        store
            .rotate(rotation(&old, &second, false, T0 + 2))
            .await
            .unwrap(),
        ROTATED_WITHOUT_BLACKLISTING
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

/// Rotation without `blacklist_old` of a token that is blacklisted already: it does not consult
/// the blacklist, so it records the successor and answers that it blacklisted nothing; the old
/// token's blacklist row stays as it was.
pub async fn rotate_a_blacklisted_token_without_blacklisting(store: &dyn Store, users: &Users) {
    let alice = users.create(store, "alice", T0).await;
    let old = token("old", Some(alice.id), T0, T0 + 100);
    let next = token("next", Some(alice.id), T0 + 2, T0 + 200);
    assert_eq!(
        store.blacklist(&old, T0 + 1).await.unwrap(),
        Blacklisting::Added
    );

    let outcome = store
        .rotate(rotation(&old, &next, false, T0 + 2))
        .await
        .unwrap();
    assert_eq!(outcome, ROTATED_WITHOUT_BLACKLISTING);
    assert_eq!(
        outcome,
        Rotation::Rotated {
            old_blacklisted: false
        },
        "nothing was blacklisted by this call"
    );
    assert!(store.is_blacklisted("old").await.unwrap());
    assert!(!store.is_blacklisted("next").await.unwrap());

    // The old token's row and its blacklist row are unchanged; the successor was recorded.
    assert_eq!(store.flush_expired(T0 + 100).await.unwrap(), flushed(1, 1));
    assert_eq!(store.flush_expired(T0 + 200).await.unwrap(), flushed(1, 0));
}

/// 16 tasks rotate the same old token at once, each with its own successor: exactly one wins,
/// and only its successor is recorded. Tasks are spread over `stores` (one store, or several
/// opened on the same database), ten rounds.
pub async fn concurrent_rotation(stores: &[Arc<dyn Store>], users: &Users) {
    const TASKS: usize = 16;
    const ROUNDS: i64 = 10;
    let alice = users.create(stores[0].as_ref(), "alice", T0).await;

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
                let new = token(&format!("new-{round}-{i}"), Some(alice.id), base, base + 2);
                let request = rotation(&old, &new, true, base);
                tokio::spawn(async move {
                    barrier.wait().await;
                    store.rotate(request).await
                })
            })
            .collect();

        let mut added = 0;
        let mut already = 0;
        for task in tasks {
            match task.await.expect("rotation task panicked") {
                Ok(BLACKLISTED_AND_ROTATED) => added += 1,
                Ok(Rotation::AlreadyBlacklisted) => already += 1,
                Ok(other) => panic!("round {round}: a blacklisting rotation answered {other:?}"),
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
pub async fn many_rotations_at_once(stores: &[Arc<dyn Store>], users: &Users) {
    const CHAINS: usize = 24;
    let alice = users.create(stores[0].as_ref(), "alice", T0).await;
    let t = |jti: String| token(&jti, Some(alice.id), T0, T0 + 1);
    for i in 0..CHAINS {
        let outcome = stores[0]
            .rotate(rotation(
                &t(format!("spent-{i}")),
                &t(format!("spent-next-{i}")),
                true,
                T0,
            ))
            .await
            .unwrap();
        assert_eq!(outcome, BLACKLISTED_AND_ROTATED);
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
            let request = rotation(&old, &new, true, T0);
            tokio::spawn(async move {
                barrier.wait().await;
                (replay, store.rotate(request).await)
            })
        })
        .collect();
    for task in tasks {
        match task.await.expect("rotation task panicked") {
            (false, Ok(outcome)) => assert_eq!(outcome, BLACKLISTED_AND_ROTATED, "a fresh token"),
            (true, Ok(outcome)) => {
                assert_eq!(outcome, Rotation::AlreadyBlacklisted, "a replay")
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
