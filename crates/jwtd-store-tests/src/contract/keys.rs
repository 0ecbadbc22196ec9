//! Contract checks on managed signing keys: rows read back exactly, in order, and batches that
//! are compare-and-sets on the active key, all or nothing, also between two instances.

use std::sync::Arc;

use jwtd_store::{KeyChange, KeyUpdate, Store, StoreError, StoredKey, StoredKeyState};

use crate::{T0, Users};

/// A key in `state` made at `created_at`, with material that is not text: a NUL, bytes that
/// are no UTF-8, and the kid, so that every key's bytes differ.
pub fn stored_key(kid: &str, state: StoredKeyState, created_at: i64) -> StoredKey {
    let mut material = vec![0x00, 0xff, 0xfe, 0x80, b'\n', 0x00];
    material.extend_from_slice(kid.as_bytes());
    StoredKey {
        kid: kid.to_owned(),
        algorithm: "ES256".to_owned(),
        state,
        material,
        encrypted: false,
        created_at,
        activated_at: (state == StoredKeyState::Active).then_some(created_at + 10),
        retired_at: None,
    }
}

fn set_state(
    kid: &str,
    state: StoredKeyState,
    activated_at: Option<i64>,
    retired_at: Option<i64>,
) -> KeyChange {
    KeyChange::SetState {
        kid: kid.to_owned(),
        state,
        activated_at,
        retired_at,
    }
}

fn delete(kid: &str) -> KeyChange {
    KeyChange::Delete {
        kid: kid.to_owned(),
    }
}

/// Inserts `keys` into an empty set (with the active one among them, if any, expected by none).
async fn seed(store: &dyn Store, keys: &[StoredKey]) {
    let changes = keys.iter().cloned().map(KeyChange::Insert).collect();
    assert_eq!(
        store.update_keys(None, changes).await.unwrap(),
        KeyUpdate::Applied,
        "seeding an empty key set"
    );
}

/// The set after a rotation from `active` (made at `base`) to `next`: `active` retired, `next`
/// active, and `fresh` the new next key.
fn rotation_batch(active: &StoredKey, next: &str, fresh: &StoredKey, at: i64) -> Vec<KeyChange> {
    // Promotion listed first: the store must still never hold two active rows at once.
    vec![
        set_state(next, StoredKeyState::Active, Some(at), None),
        set_state(
            &active.kid,
            StoredKeyState::Retired,
            active.activated_at,
            Some(at),
        ),
        KeyChange::Insert(fresh.clone()),
    ]
}

/// A fresh store holds no keys.
pub async fn keys_start_empty(store: &dyn Store, _users: &Users) {
    assert_eq!(store.keys().await.unwrap(), Vec::new());
}

/// Every field reads back as written: the material byte for byte (every byte value, NULs, a
/// PEM), `encrypted` both ways, and the optional times both NULL and set.
pub async fn insert_and_read_back_every_field(store: &dyn Store, _users: &Users) {
    let plain = StoredKey {
        kid: "next-1".to_owned(),
        algorithm: "HS512".to_owned(),
        state: StoredKeyState::Next,
        material: (0..=255u8).cycle().take(4096).collect(),
        encrypted: false,
        created_at: T0,
        activated_at: None,
        retired_at: None,
    };
    let sealed = StoredKey {
        kid: "active-1".to_owned(),
        algorithm: "ES256".to_owned(),
        state: StoredKeyState::Active,
        material: b"-----BEGIN PRIVATE KEY-----\nMIG...\n-----END PRIVATE KEY-----\n\0\xff"
            .to_vec(),
        encrypted: true,
        created_at: T0 + 1,
        activated_at: Some(T0 + 2),
        retired_at: None,
    };
    let retired = StoredKey {
        kid: "retired-1".to_owned(),
        algorithm: "RS256".to_owned(),
        state: StoredKeyState::Retired,
        material: vec![0x00],
        encrypted: true,
        created_at: T0 + 3,
        activated_at: Some(-5),
        retired_at: Some(i64::MAX),
    };
    seed(store, &[plain.clone(), sealed.clone(), retired.clone()]).await;
    assert_eq!(store.keys().await.unwrap(), vec![plain, sealed, retired]);
}

/// Keys are listed by `created_at`, then by `kid` in byte order, whatever order they were
/// inserted in.
pub async fn keys_are_listed_oldest_first(store: &dyn Store, _users: &Users) {
    let keys = [
        stored_key("b", StoredKeyState::Retired, T0 + 5),
        stored_key("z", StoredKeyState::Retired, T0),
        stored_key("a", StoredKeyState::Next, T0 + 5),
        stored_key("C", StoredKeyState::Retired, T0 + 5),
        stored_key("m", StoredKeyState::Active, T0 - 1),
    ];
    seed(store, &keys).await;
    let listed: Vec<String> = store
        .keys()
        .await
        .unwrap()
        .into_iter()
        .map(|key| key.kid)
        .collect();
    assert_eq!(listed, ["m", "z", "C", "a", "b"]);
}

/// A rotation applies with the active key's kid as expected, and is refused, writing nothing,
/// with a stale one, with none, or with an expected key when none is active.
pub async fn rotation_is_a_compare_and_set(store: &dyn Store, _users: &Users) {
    let fresh = |kid: &str| stored_key(kid, StoredKeyState::Next, T0);
    assert_eq!(
        store
            .update_keys(Some("k1"), vec![KeyChange::Insert(fresh("x"))])
            .await
            .unwrap(),
        KeyUpdate::Conflict,
        "no key is active yet"
    );
    // The next key is the older one (added before the active key was made), so it is listed,
    // and met by the store, before the key it replaces: the promotion must still not meet the
    // active row in the unique index.
    let k1 = stored_key("k1", StoredKeyState::Active, T0 + 1);
    let k2 = stored_key("k2", StoredKeyState::Next, T0);
    seed(store, &[k1.clone(), k2.clone()]).await;
    assert_eq!(
        store
            .update_keys(None, vec![KeyChange::Insert(fresh("x"))])
            .await
            .unwrap(),
        KeyUpdate::Conflict,
        "a key is active: None is stale"
    );

    let k3 = stored_key("k3", StoredKeyState::Next, T0 + 100);
    assert_eq!(
        store
            .update_keys(Some("k1"), rotation_batch(&k1, "k2", &k3, T0 + 100))
            .await
            .unwrap(),
        KeyUpdate::Applied
    );
    let after = vec![
        StoredKey {
            state: StoredKeyState::Active,
            activated_at: Some(T0 + 100),
            ..k2.clone()
        },
        StoredKey {
            state: StoredKeyState::Retired,
            retired_at: Some(T0 + 100),
            ..k1.clone()
        },
        k3.clone(),
    ];
    assert_eq!(store.keys().await.unwrap(), after);

    // The same rotation again, decided on the old set: refused, nothing written.
    let k4 = stored_key("k4", StoredKeyState::Next, T0 + 200);
    assert_eq!(
        store
            .update_keys(Some("k1"), rotation_batch(&k1, "k2", &k4, T0 + 200))
            .await
            .unwrap(),
        KeyUpdate::Conflict
    );
    assert_eq!(store.keys().await.unwrap(), after, "a stale batch wrote");
}

/// Two instances rotate at once from the same active key, each with its own new key, ten times
/// over, tasks spread over `stores` (opened on one database): exactly one batch applies each
/// time, and the set is the winner's, as every store sees it.
pub async fn concurrent_key_rotations(stores: &[Arc<dyn Store>], _users: &Users) {
    const TASKS: usize = 8;
    const ROUNDS: i64 = 10;
    let mut active = stored_key("r0-active", StoredKeyState::Active, T0);
    let mut next = stored_key("r0-next", StoredKeyState::Next, T0);
    seed(stores[0].as_ref(), &[active.clone(), next.clone()]).await;

    for round in 1..=ROUNDS {
        let at = T0 + round * 1000;
        let barrier = Arc::new(tokio::sync::Barrier::new(TASKS));
        let tasks: Vec<_> = (0..TASKS)
            .map(|i| {
                let store = Arc::clone(&stores[i % stores.len()]);
                let barrier = Arc::clone(&barrier);
                let fresh = stored_key(&format!("r{round}-{i}"), StoredKeyState::Next, at);
                let batch = rotation_batch(&active, &next.kid, &fresh, at);
                let expected = active.kid.clone();
                tokio::spawn(async move {
                    barrier.wait().await;
                    let outcome = store.update_keys(Some(&expected), batch).await;
                    (fresh, outcome)
                })
            })
            .collect();
        let mut winners = Vec::new();
        for task in tasks {
            match task.await.expect("rotation task panicked") {
                (fresh, Ok(KeyUpdate::Applied)) => winners.push(fresh),
                (_, Ok(KeyUpdate::Conflict)) => {}
                (_, Err(e)) => panic!("round {round}: update_keys failed: {e}"),
            }
        }
        assert_eq!(
            winners.len(),
            1,
            "round {round}: exactly one rotation must apply"
        );
        let winner = winners.remove(0);
        let retired = StoredKey {
            state: StoredKeyState::Retired,
            retired_at: Some(at),
            ..active.clone()
        };
        let promoted = StoredKey {
            state: StoredKeyState::Active,
            activated_at: Some(at),
            ..next.clone()
        };
        for store in stores {
            let keys = store.keys().await.unwrap();
            // Two keys per round so far (the seed's pair, then one new key a round).
            assert_eq!(keys.len() as i64, 2 + round, "round {round}: {keys:?}");
            let find = |kid: &str| keys.iter().find(|key| key.kid == kid).cloned();
            assert_eq!(find(&retired.kid), Some(retired.clone()));
            assert_eq!(find(&promoted.kid), Some(promoted.clone()));
            assert_eq!(find(&winner.kid), Some(winner.clone()));
            let actives: Vec<_> = keys
                .iter()
                .filter(|key| key.state == StoredKeyState::Active)
                .collect();
            assert_eq!(actives.len(), 1, "round {round}: one active key");
        }
        active = promoted;
        next = winner;
    }
}

/// Inserting a kid that exists answers `Conflict`, and the batch's other changes, before and
/// after it, are not written; the same holds for a kid inserted twice in one batch.
pub async fn duplicate_kid_conflicts_and_writes_nothing(store: &dyn Store, _users: &Users) {
    let k1 = stored_key("k1", StoredKeyState::Active, T0);
    let k2 = stored_key("k2", StoredKeyState::Next, T0);
    seed(store, &[k1.clone(), k2.clone()]).await;
    let before = store.keys().await.unwrap();

    let batch = vec![
        KeyChange::Insert(stored_key("new", StoredKeyState::Next, T0 + 1)),
        set_state("k2", StoredKeyState::Retired, None, Some(T0 + 1)),
        KeyChange::Insert(stored_key("k1", StoredKeyState::Retired, T0 + 1)),
        delete("k2"),
    ];
    assert_eq!(
        store.update_keys(Some("k1"), batch).await.unwrap(),
        KeyUpdate::Conflict
    );
    let twice = vec![
        KeyChange::Insert(stored_key("dup", StoredKeyState::Next, T0 + 2)),
        KeyChange::Insert(stored_key("dup", StoredKeyState::Retired, T0 + 2)),
    ];
    assert_eq!(
        store.update_keys(Some("k1"), twice).await.unwrap(),
        KeyUpdate::Conflict
    );
    assert_eq!(store.keys().await.unwrap(), before);
}

/// Deleting a key removes it and only it; deleting it again, or a kid never stored, conflicts.
pub async fn delete_a_key(store: &dyn Store, _users: &Users) {
    let k1 = stored_key("k1", StoredKeyState::Active, T0);
    let old = stored_key("old", StoredKeyState::Retired, T0 - 100);
    let k2 = stored_key("k2", StoredKeyState::Next, T0 + 1);
    seed(store, &[k1.clone(), old.clone(), k2.clone()]).await;
    assert_eq!(
        store
            .update_keys(Some("k1"), vec![delete("old")])
            .await
            .unwrap(),
        KeyUpdate::Applied
    );
    assert_eq!(store.keys().await.unwrap(), vec![k1.clone(), k2.clone()]);
    for kid in ["old", "never"] {
        assert_eq!(
            store
                .update_keys(Some("k1"), vec![delete(kid)])
                .await
                .unwrap(),
            KeyUpdate::Conflict,
            "deleting {kid}"
        );
    }
    // The active key itself may go, and then no key is active.
    assert_eq!(
        store
            .update_keys(Some("k1"), vec![delete("k1")])
            .await
            .unwrap(),
        KeyUpdate::Applied
    );
    assert_eq!(store.keys().await.unwrap(), vec![k2]);
    assert_eq!(
        store.update_keys(None, vec![]).await.unwrap(),
        KeyUpdate::Applied,
        "no key is active now"
    );
}

/// `SetState` of a kid that is not stored conflicts, and writes nothing of its batch.
pub async fn set_state_of_an_unknown_kid_conflicts(store: &dyn Store, _users: &Users) {
    let k1 = stored_key("k1", StoredKeyState::Active, T0);
    seed(store, std::slice::from_ref(&k1)).await;
    let batch = vec![
        KeyChange::Insert(stored_key("k2", StoredKeyState::Next, T0 + 1)),
        set_state("ghost", StoredKeyState::Retired, None, Some(T0 + 1)),
    ];
    assert_eq!(
        store.update_keys(Some("k1"), batch).await.unwrap(),
        KeyUpdate::Conflict
    );
    assert_eq!(store.keys().await.unwrap(), vec![k1]);
}

/// A batch that would leave two active keys conflicts, whether it inserts or promotes the
/// second, and writes nothing.
pub async fn two_active_keys_conflict(store: &dyn Store, _users: &Users) {
    let k1 = stored_key("k1", StoredKeyState::Active, T0);
    let k2 = stored_key("k2", StoredKeyState::Next, T0 + 1);
    seed(store, &[k1.clone(), k2.clone()]).await;
    let promote = vec![set_state("k2", StoredKeyState::Active, Some(T0 + 2), None)];
    assert_eq!(
        store.update_keys(Some("k1"), promote).await.unwrap(),
        KeyUpdate::Conflict
    );
    let insert = vec![KeyChange::Insert(stored_key(
        "k3",
        StoredKeyState::Active,
        T0 + 2,
    ))];
    assert_eq!(
        store.update_keys(Some("k1"), insert).await.unwrap(),
        KeyUpdate::Conflict
    );
    assert_eq!(
        store.update_keys(None, vec![]).await.unwrap(),
        KeyUpdate::Conflict,
        "k1 is still the active key"
    );
    assert_eq!(store.keys().await.unwrap(), vec![k1.clone(), k2.clone()]);
    let demote_and_insert_two = vec![
        set_state("k1", StoredKeyState::Retired, k1.activated_at, Some(T0 + 2)),
        KeyChange::Insert(stored_key("a", StoredKeyState::Active, T0 + 2)),
        KeyChange::Insert(stored_key("b", StoredKeyState::Active, T0 + 2)),
    ];
    assert_eq!(
        store
            .update_keys(Some("k1"), demote_and_insert_two)
            .await
            .unwrap(),
        KeyUpdate::Conflict
    );
    assert_eq!(store.keys().await.unwrap(), vec![k1, k2]);
}

/// A store on Django's schema refuses both key methods, saying which schema they need.
pub async fn django_keys_are_refused(store: &dyn Store, _users: &Users) {
    for (what, result) in [
        ("keys", store.keys().await.map(drop)),
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
        match result {
            Err(StoreError::Refused(message)) => assert!(
                message.contains("database_schema = \"jwtd\""),
                "{what}: {message}"
            ),
            other => panic!("{what} on a Django store: expected Refused, got {other:?}"),
        }
    }
}
