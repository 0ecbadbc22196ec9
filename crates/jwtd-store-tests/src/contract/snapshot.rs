//! Contract checks on copying a store: `export` then `import` keeps every row and behaviour, and
//! an import goes only into an empty store.

use jwtd_store::{BlacklistEntry, NewUser, Rotation, Snapshot, Store, StoreError, User};

use crate::{BLACKLISTED_AND_ROTATED, DAY, T0, Users, create, new_user, rotation, token};

/// `export` then `import` copies every row unchanged, and the copy behaves as the original:
/// the blacklist holds, rotation of a blacklisted token fails, users log in under their old ids,
/// no new user gets the id of a deleted one, and a logged-out user keeps `tokens_valid_after`.
/// A second import is refused. `source_users` writes the source's users (Django's, for
/// `jwtd import-django`); the target is jwtd's own.
pub async fn copy_preserves_everything(
    source: &dyn Store,
    source_users: &Users,
    target: &dyn Store,
) {
    let alice = source_users.create(source, "alice", T0).await;
    let bob = source_users
        .create_user(
            source,
            NewUser {
                is_active: false,
                ..new_user("bob", T0 + 1)
            },
        )
        .await;
    let carol = source_users.create(source, "carol", T0 + 2).await;
    if !source_users.is_django() {
        // Bob was logged out everywhere (he has no tokens): the copy keeps his
        // tokens_valid_after, or it would let his old access tokens back in.
        assert_eq!(source.end_all_sessions(bob.id, T0 + 5).await.unwrap(), 0);
    }
    let bob = source.user_by_id(bob.id).await.unwrap().unwrap();
    if !source_users.is_django() {
        assert_eq!(bob.tokens_valid_after, T0 + 5);
    }
    source.record_login(alice.id, T0 + 10).await.unwrap();
    let first = token("alice-1", Some(alice.id), T0 + 10, T0 + 10 + DAY);
    let second = token("alice-2", Some(alice.id), T0 + 20, T0 + 20 + DAY);
    source.record_issued(&first).await.unwrap();
    assert_eq!(
        source
            .rotate(rotation(&first, &second, true, T0 + 20))
            .await
            .unwrap(),
        BLACKLISTED_AND_ROTATED
    );
    let foreign = token("minted-elsewhere", None, T0 + 25, T0 + 25 + DAY);
    source.blacklist(&foreign, T0 + 30).await.unwrap();
    source
        .record_issued(&token("carol-1", Some(carol.id), T0 + 40, T0 + 40 + DAY))
        .await
        .unwrap();
    // Carol is the newest user: deleting her leaves her id as the high-water mark only.
    source_users.delete_user(source, "carol").await.unwrap();

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
        target
            .rotate(rotation(&first, &third, true, T0 + 50))
            .await
            .unwrap(),
        Rotation::AlreadyBlacklisted,
        "a token blacklisted before the copy stays spent"
    );
    assert_eq!(
        target
            .rotate(rotation(&second, &third, true, T0 + 50))
            .await
            .unwrap(),
        BLACKLISTED_AND_ROTATED
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
pub async fn import_refuses_a_store_with_data(store: &dyn Store, users: &Users) {
    assert!(
        !users.is_django(),
        "jwtd's schema only: Django's refuses every import"
    );
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
            id_claim: None,
            email: None,
            tokens_valid_after: 0,
            access_denied_until: 0,
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
