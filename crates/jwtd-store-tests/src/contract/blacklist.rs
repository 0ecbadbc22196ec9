//! Contract checks on the blacklist: blacklisting recorded, unrecorded and orphaned tokens, and
//! flushing expired rows.

use jwtd_store::{Blacklisting, Store};

use crate::{BLACKLISTED_AND_ROTATED, DAY, T0, Users, flushed, rotation, token};

/// Recorded tokens are not blacklisted; blacklisting answers `Added` once, then
/// `AlreadyBlacklisted`.
pub async fn blacklist_a_recorded_token(store: &dyn Store, users: &Users) {
    let alice = users.create(store, "alice", T0).await;
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
pub async fn blacklist_an_unrecorded_token(store: &dyn Store, users: &Users) {
    let alice = users.create(store, "alice", T0).await;
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
pub async fn blacklist_tokens_of_a_deleted_user(store: &dyn Store, users: &Users) -> Vec<String> {
    let alice = users.create(store, "alice", T0).await;
    let recorded = token("recorded-before-delete", Some(alice.id), T0, T0 + DAY);
    store.record_issued(&recorded).await.unwrap();
    let blacklisted_before = token("blacklisted-before-delete", Some(alice.id), T0, T0 + DAY);
    assert_eq!(
        store.blacklist(&blacklisted_before, T0).await.unwrap(),
        Blacklisting::Added
    );

    users.delete_user(store, "alice").await.unwrap();

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
        store
            .rotate(rotation(&late, &successor, true, T0 + 3))
            .await
            .unwrap(),
        BLACKLISTED_AND_ROTATED
    );
    assert!(store.is_blacklisted("recorded-after-delete").await.unwrap());

    // The next user does not inherit anything.
    let bob = users.create(store, "bob", T0 + 4).await;
    assert_ne!(bob.id, alice.id);

    vec![
        "recorded-before-delete".to_owned(),
        "blacklisted-before-delete".to_owned(),
        "unrecorded-after-delete".to_owned(),
        "recorded-after-delete".to_owned(),
        "rotated-after-delete".to_owned(),
    ]
}

/// `flush_expired(now)` removes issued rows with `expires_at <= now` and their blacklist rows,
/// keeps the rest, and counts what it removed.
pub async fn flush_expired_removes_only_expired(store: &dyn Store, users: &Users) {
    let alice = users.create(store, "alice", T0).await;
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

    // A `now` past year 9999 still flushes on Django's tables, whose timestamps end there.
    assert_eq!(store.flush_expired(i64::MAX).await.unwrap(), flushed(2, 2));
    assert_eq!(store.flush_expired(i64::MAX).await.unwrap(), flushed(0, 0));
}
