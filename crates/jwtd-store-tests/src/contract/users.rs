//! Contract checks on users: migrating, creating, looking up, listing, updating and deleting
//! them, their ids, and stamping a login.

use jwtd_store::{NewUser, Store, StoreError, User};

use crate::{T0, Users, create, new_user};

/// `migrate` on an already migrated store is a no-op that keeps the data.
pub async fn migrate_is_idempotent(store: &dyn Store, users: &Users) {
    store.migrate().await.expect("second migrate");
    let alice = users.create(store, "alice", T0).await;
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
pub async fn ping_works(store: &dyn Store, users: &Users) {
    store.ping().await.expect("ping on an empty store");
    users.create(store, "alice", T0).await;
    store.ping().await.expect("ping with a user");
}

/// Creation returns the stored row with increasing ids; lookups find it or answer `Ok(None)`.
pub async fn create_and_look_up_users(store: &dyn Store, users: &Users) {
    let alice = users.create(store, "alice", T0).await;
    assert_eq!(alice.username, "alice");
    assert_eq!(alice.password_hash, new_user("alice", T0).password_hash);
    assert!(alice.is_active);
    assert_eq!(alice.date_joined, T0);
    assert_eq!(alice.last_login, None);

    let bob = users
        .create_user(
            store,
            NewUser {
                is_active: false,
                ..new_user("bob", T0 + 1)
            },
        )
        .await;
    assert!(!bob.is_active);
    let carol = users.create(store, "carol", T0 + 2).await;
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
pub async fn duplicate_username_conflicts(store: &dyn Store, users: &Users) {
    assert!(
        !users.is_django(),
        "jwtd's schema only: Django refuses every user write"
    );
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
pub async fn list_users_ordered_by_id(store: &dyn Store, users: &Users) {
    assert_eq!(store.list_users().await.unwrap(), Vec::<User>::new());
    let mut created = Vec::new();
    for (i, name) in ["zed", "amy", "mia", "bob"].into_iter().enumerate() {
        created.push(users.create(store, name, T0 - i as i64).await);
    }
    let listed = store.list_users().await.unwrap();
    assert_eq!(listed, created);
    assert!(listed.windows(2).all(|w| w[0].id < w[1].id));
}

/// `set_password`, `set_active` and `delete_user` change only the named row, and answer
/// `NotFound` for a user that does not exist.
pub async fn update_and_delete_users(store: &dyn Store, users: &Users) {
    let alice = users.create(store, "alice", T0).await;
    let bob = users.create(store, "bob", T0).await;

    users
        .set_password(store, "alice", "$argon2id$new")
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

    users
        .set_active(store, "alice", false)
        .await
        .expect("deactivate");
    assert!(!store.user_by_id(alice.id).await.unwrap().unwrap().is_active);
    users
        .set_active(store, "alice", false)
        .await
        .expect("deactivate twice");
    assert!(!store.user_by_id(alice.id).await.unwrap().unwrap().is_active);
    users
        .set_active(store, "alice", true)
        .await
        .expect("reactivate");
    assert!(store.user_by_id(alice.id).await.unwrap().unwrap().is_active);
    assert!(store.user_by_id(bob.id).await.unwrap().unwrap().is_active);

    for result in [
        users.set_password(store, "nobody", "$argon2id$x").await,
        users.set_active(store, "nobody", false).await,
        users.delete_user(store, "nobody").await,
    ] {
        assert!(
            matches!(result, Err(StoreError::NotFound)),
            "unknown user: expected NotFound, got {result:?}"
        );
    }

    users
        .delete_user(store, "alice")
        .await
        .expect("delete alice");
    assert_eq!(store.user_by_username("alice").await.unwrap(), None);
    assert_eq!(store.user_by_id(alice.id).await.unwrap(), None);
    assert_eq!(store.list_users().await.unwrap(), vec![bob.clone()]);
    for result in [
        users.delete_user(store, "alice").await,
        users.set_password(store, "alice", "$argon2id$x").await,
        users.set_active(store, "alice", true).await,
    ] {
        assert!(
            matches!(result, Err(StoreError::NotFound)),
            "deleted user: expected NotFound, got {result:?}"
        );
    }
    // The name is free again, but the new alice is a new user.
    let alice2 = users.create(store, "alice", T0 + 10).await;
    assert_ne!(alice2.id, alice.id);
}

/// A deleted user's id is never handed to the next user, even when it was the highest id.
pub async fn deleted_ids_are_never_reused(store: &dyn Store, users: &Users) {
    let a = users.create(store, "a", T0).await;
    let b = users.create(store, "b", T0).await;
    let c = users.create(store, "c", T0).await;
    users.delete_user(store, "c").await.unwrap();
    let d = users.create(store, "d", T0).await;
    assert!(d.id > c.id, "new id {} reuses deleted id {}", d.id, c.id);

    for name in ["a", "b", "d"] {
        users.delete_user(store, name).await.unwrap();
    }
    assert_eq!(store.list_users().await.unwrap(), Vec::<User>::new());
    let e = users.create(store, "e", T0).await;
    assert!(
        e.id > d.id,
        "new id {} reuses a deleted id (max was {})",
        e.id,
        d.id
    );
    assert!(![a.id, b.id, c.id, d.id].contains(&e.id));
}

/// `record_login` sets `last_login` on the named user only.
pub async fn record_login_sets_last_login(store: &dyn Store, users: &Users) {
    let alice = users.create(store, "alice", T0).await;
    let bob = users.create(store, "bob", T0).await;

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

/// A hash upgrade at login replaces the hash only if nobody changed it meanwhile.
pub async fn upgrade_password_only_replaces_the_hash_it_read(store: &dyn Store, users: &Users) {
    let alice = users.create(store, "alice", T0).await;
    let upgraded = "$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$bmV3";
    assert!(
        store
            .upgrade_password(alice.id, &alice.password_hash, upgraded)
            .await
            .unwrap(),
        "the hash read at login is replaced"
    );
    assert_eq!(stored_hash(store, alice.id).await, upgraded);
    // A second upgrade from the old hash (a password changed meanwhile) writes nothing.
    assert!(
        !store
            .upgrade_password(alice.id, &alice.password_hash, "pbkdf2_sha256$stale")
            .await
            .unwrap()
    );
    assert_eq!(stored_hash(store, alice.id).await, upgraded);
    assert!(
        !store
            .upgrade_password(alice.id + 1000, upgraded, "x")
            .await
            .unwrap(),
        "an unknown user is not upgraded"
    );
}

async fn stored_hash(store: &dyn Store, id: jwtd_store::UserId) -> String {
    store.user_by_id(id).await.unwrap().unwrap().password_hash
}

/// jwtd's own users may have an email, unique when set (`username_field = "email"` logs in by
/// it): found by it, refused twice with a message naming it, any number of users without one,
/// kept by a copy.
pub async fn emails_are_unique_and_found(store: &dyn Store, _users: &Users) {
    let with_email = |name: &str, email: Option<&str>| NewUser {
        email: email.map(str::to_owned),
        ..new_user(name, T0)
    };
    let alice = store
        .create_user(with_email("alice", Some("alice@example.com")))
        .await
        .expect("alice");
    assert_eq!(alice.email.as_deref(), Some("alice@example.com"));
    for name in ["bob", "carol"] {
        let user = store.create_user(with_email(name, None)).await.expect(name);
        assert_eq!(user.email, None);
    }
    match store
        .create_user(with_email("dave", Some("alice@example.com")))
        .await
    {
        Err(StoreError::Conflict(message)) => assert_eq!(
            message,
            "a user with the email \"alice@example.com\" already exists"
        ),
        other => panic!("expected a conflict on the email, got {other:?}"),
    }
    assert_eq!(
        store.user_by_email("alice@example.com").await.unwrap(),
        Some(alice.clone())
    );
    assert_eq!(
        store.user_by_username("alice").await.unwrap(),
        Some(alice.clone())
    );
    assert_eq!(
        store.user_by_email("ALICE@example.com").await.unwrap(),
        None
    );
    assert_eq!(
        store.user_by_email("nobody@example.com").await.unwrap(),
        None
    );
    let snapshot = store.export().await.unwrap();
    assert_eq!(snapshot.users[0], alice, "an export carries the email");
}
