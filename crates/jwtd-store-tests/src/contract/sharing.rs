//! Contract checks that span stores: writes that survive reopening the database, and two stores
//! on one database seeing each other's writes.

use jwtd_store::{Blacklisting, Store, StoreError};

use crate::{DAY, T0, Users, create, flushed, new_user, token};

/// First half of the durability check: writes to make before the store goes away.
pub async fn durable_write(store: &dyn Store, users: &Users) {
    let alice = users.create(store, "alice", T0).await;
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
