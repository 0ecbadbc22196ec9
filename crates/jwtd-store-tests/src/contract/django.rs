//! Contract checks of `database_schema = "django"`: jwtd and Django on one database. Each
//! takes the store and [`Users::Django`], whose [`Django`](crate::django::Django) writes and
//! reads the tables in raw SQL as Django and simplejwt do; they run on SQLite and PostgreSQL.

use jwtd_store::{
    BlacklistEntry, Blacklisting, ClaimValue, NewUser, Rotation, Snapshot, Store, StoreError,
    TokenRecord, User,
};

use crate::django::django_time;
use crate::{BLACKLISTED_AND_ROTATED, DAY, T0, Users, create, flushed, new_user, rotation, token};

/// A token record with its text, as jwtd hands it to a Django store.
fn with_text(record: TokenRecord, text: &str) -> TokenRecord {
    TokenRecord {
        token: text.to_owned(),
        ..record
    }
}

/// A Django-style password hash (the store never verifies it; the text must survive).
fn pbkdf2(tag: &str) -> String {
    format!("pbkdf2_sha256$1000000${tag}salt$aGFzaC1vZi17dGFnfQ==")
}

fn expect_refused<T: std::fmt::Debug>(what: &str, result: Result<T, StoreError>) -> String {
    match result {
        Err(StoreError::Refused(message)) => message,
        other => panic!("{what}: expected Refused, got {other:?}"),
    }
}

/// The rows jwtd writes are exactly simplejwt's: an outstanding row with the token's text,
/// `created_at`, `expires_at`, `user_id` and `jti`; a blacklisted row with `blacklisted_at`
/// and `token_id`; `last_login`. Timestamps are in Django's encoding (on SQLite UTC text without
/// `T` or zone, and they order and compare correctly as text against rows Django wrote with
/// microseconds, which is how Django and `flushexpiredtokens` compare them).
pub async fn django_rows_are_simplejwts(store: &dyn Store, users: &Users) {
    let django = users.django();
    let time_type = if django.is_sqlite() {
        "text"
    } else {
        "timestamp with time zone"
    };
    let alice = users.create(store, "alice", T0).await;
    let text = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJqdGkiOiJqd3QtYSJ9.c2lnbmF0dXJl";
    let issued = with_text(token("jwt-a", Some(alice.id), T0, T0 + DAY), text);
    store.record_issued(&issued).await.unwrap();
    let rows = django.outstanding().await;
    assert_eq!(rows.len(), 1, "{rows:?}");
    let row = rows[0].clone();
    assert_eq!(row.token, text, "the token column holds the token's text");
    assert_eq!(row.created_at.as_deref(), Some(django_time(T0, 0).as_str()));
    assert_eq!(row.expires_at, django_time(T0 + DAY, 0));
    assert_eq!(row.user_id, Some(alice.id));
    assert_eq!(row.jti, "jwt-a");
    assert_eq!(row.time_type, time_type);
    if django.is_sqlite() {
        let raw = django
            .rows("SELECT created_at, expires_at FROM token_blacklist_outstandingtoken")
            .await;
        for value in raw[0].iter().flatten() {
            assert!(
                !value.contains('T') && !value.contains('+') && !value.contains('Z'),
                "Django's SQLite datetime text has no T and no zone: {value}"
            );
            assert_eq!(value.len(), "YYYY-MM-DD HH:MM:SS".len(), "{value}");
        }
    }

    assert_eq!(
        store.blacklist(&issued, T0 + 10).await.unwrap(),
        Blacklisting::Added
    );
    let blacklisted = django.blacklisted().await;
    assert_eq!(blacklisted.len(), 1, "{blacklisted:?}");
    assert_eq!(blacklisted[0].blacklisted_at, django_time(T0 + 10, 0));
    assert_eq!(blacklisted[0].token_id, row.id);
    assert_eq!(blacklisted[0].jti, "jwt-a");
    assert_eq!(blacklisted[0].time_type, time_type);
    assert_eq!(
        django.outstanding().await,
        vec![row.clone()],
        "blacklisting does not touch the outstanding row"
    );

    // A rotation writes the successor's row (with its text) and the old token's blacklist row.
    let old = with_text(
        token("jwt-b", Some(alice.id), T0 + 20, T0 + 3 * DAY),
        "text-b",
    );
    let new = with_text(
        token("jwt-c", Some(alice.id), T0 + 30, T0 + 3 * DAY),
        "text-c",
    );
    store.record_issued(&old).await.unwrap();
    assert_eq!(
        store
            .rotate(rotation(&old, &new, true, T0 + 30))
            .await
            .unwrap(),
        BLACKLISTED_AND_ROTATED
    );
    let c = django
        .outstanding_row("jwt-c")
        .await
        .expect("successor row");
    assert_eq!(
        (c.token.as_str(), c.created_at.clone(), c.user_id),
        ("text-c", Some(django_time(T0 + 30, 0)), Some(alice.id))
    );
    assert!(django.is_blacklisted("jwt-b").await, "simplejwt sees it");

    // A token without an owner, and one naming a user that does not exist: user_id is NULL.
    store
        .record_issued(&with_text(token("anon", None, T0, T0 + 3 * DAY), "t"))
        .await
        .unwrap();
    store
        .record_issued(&with_text(
            token("ghost", Some(alice.id + 1000), T0, T0 + 3 * DAY),
            "t",
        ))
        .await
        .unwrap();
    for jti in ["anon", "ghost"] {
        assert_eq!(django.outstanding_row(jti).await.unwrap().user_id, None);
    }

    // last_login, as Django's `update_last_login`.
    store.record_login(alice.id, T0 + 40).await.unwrap();
    let table = &django.user_table;
    let last_login = django
        .rows(&format!(
            "SELECT {} FROM \"{table}\" WHERE id = {}",
            django.time_text("last_login"),
            alice.id
        ))
        .await;
    let last_login = last_login[0][0].clone().unwrap();
    assert_eq!(
        last_login.strip_suffix(".000000").unwrap_or(&last_login),
        django_time(T0 + 40, 0)
    );

    // Rows Django wrote with microseconds, around jwtd's whole-second T0 + DAY.
    for (jti, expires) in [
        ("dj-before", (T0 + DAY - 1, 999_999)),
        ("dj-after", (T0 + DAY, 1)),
        ("dj-later", (T0 + DAY, 500_000)),
    ] {
        django
            .insert_outstanding(jti, Some(alice.id), (T0, 123_456), expires, "dj")
            .await;
    }
    let ordered: Vec<String> = django
        .rows(
            "SELECT jti FROM token_blacklist_outstandingtoken \
             WHERE jti IN ('dj-before', 'jwt-a', 'dj-after', 'dj-later', 'jwt-c') \
             ORDER BY expires_at",
        )
        .await
        .into_iter()
        .map(|row| row[0].clone().unwrap())
        .collect();
    assert_eq!(
        ordered,
        ["dj-before", "jwt-a", "dj-after", "dj-later", "jwt-c"],
        "jwtd's timestamps order correctly against Django's"
    );
    let due: Vec<String> = django
        .rows(&format!(
            "SELECT jti FROM token_blacklist_outstandingtoken WHERE expires_at <= {} ORDER BY jti",
            django.time(T0 + DAY, 0)
        ))
        .await
        .into_iter()
        .map(|row| row[0].clone().unwrap())
        .collect();
    assert_eq!(
        due,
        ["dj-before", "jwt-a"],
        "Django's comparison of jwtd's rows"
    );
    assert_eq!(
        store.flush_expired(T0 + DAY).await.unwrap(),
        flushed(2, 1),
        "jwtd's comparison of Django's rows"
    );
    assert!(django.outstanding_row("dj-after").await.is_some());
    assert!(django.outstanding_row("dj-before").await.is_none());
}

/// Both ways at once: what Django blacklisted jwtd refuses, what jwtd blacklisted Django sees,
/// a token Django issued rotates through jwtd without a second row, and Django's
/// `flushexpiredtokens` removes the rows jwtd wrote.
pub async fn django_blacklist_both_ways(store: &dyn Store, users: &Users) {
    let django = users.django();
    let alice = users.create(store, "alice", T0).await;
    let exp = (T0 + DAY, 654_321);

    // Django issued and blacklisted a token (a logout through Django).
    django
        .insert_outstanding("dj-old", Some(alice.id), (T0, 123_456), exp, "dj-old-text")
        .await;
    django.insert_blacklisted("dj-old", (T0 + 5, 250_000)).await;
    assert!(store.is_blacklisted("dj-old").await.unwrap());
    let old = token("dj-old", Some(alice.id), T0, T0 + DAY);
    let successor = token("jw-new", Some(alice.id), T0 + 6, T0 + DAY);
    assert_eq!(
        store
            .rotate(rotation(&old, &successor, true, T0 + 6))
            .await
            .unwrap(),
        Rotation::AlreadyBlacklisted
    );
    assert!(
        django.outstanding_row("jw-new").await.is_none(),
        "a refused rotation records no successor"
    );
    assert_eq!(
        store.blacklist(&old, T0 + 7).await.unwrap(),
        Blacklisting::AlreadyBlacklisted
    );
    assert_eq!(django.blacklisted().await.len(), 1);

    // Django issued a token, jwtd rotates it: one outstanding row, Django's, left as it was.
    django
        .insert_outstanding("dj-live", Some(alice.id), (T0, 1), exp, "dj-live-text")
        .await;
    let before = django.outstanding_row("dj-live").await.unwrap();
    assert!(!store.is_blacklisted("dj-live").await.unwrap());
    assert_eq!(
        store
            .rotate(rotation(
                &token("dj-live", Some(alice.id), T0, T0 + DAY),
                &with_text(token("jw-next", Some(alice.id), T0 + 8, T0 + DAY), "jw"),
                true,
                T0 + 8,
            ))
            .await
            .unwrap(),
        BLACKLISTED_AND_ROTATED
    );
    assert!(django.is_blacklisted("dj-live").await, "Django sees it");
    assert_eq!(django.outstanding_row("dj-live").await.unwrap(), before);

    // jwtd blacklists its own token; Django sees it.
    let own = with_text(token("jw-own", Some(alice.id), T0 + 9, T0 + DAY), "jw");
    store.record_issued(&own).await.unwrap();
    assert!(!django.is_blacklisted("jw-own").await);
    assert_eq!(
        store.blacklist(&own, T0 + 10).await.unwrap(),
        Blacklisting::Added
    );
    assert!(django.is_blacklisted("jw-own").await);

    // Django's flushexpiredtokens at T0 + DAY (whole second): jwtd's rows expiring then go,
    // with their blacklist rows; Django's, at .654321 after, stay.
    assert_eq!(django.flush_expired_tokens((T0 + DAY, 0)).await, 2);
    assert!(!store.is_blacklisted("jw-own").await.unwrap());
    assert!(django.outstanding_row("jw-next").await.is_none());
    assert!(store.is_blacklisted("dj-old").await.unwrap());
    assert!(store.is_blacklisted("dj-live").await.unwrap());
    assert_eq!(django.blacklisted().await.len(), 2);
    assert_eq!(django.flush_expired_tokens((T0 + DAY, 700_000)).await, 2);
    assert!(django.outstanding().await.is_empty());
    assert!(django.blacklisted().await.is_empty());
    assert_eq!(
        store.flush_expired(T0 + 2 * DAY).await.unwrap(),
        flushed(0, 0)
    );
}

/// A user Django creates, deactivates, re-passwords or deletes is seen so at the next read,
/// by every lookup; the deleted user's tokens stay blacklistable (owner NULL, as Django's
/// `SET_NULL` leaves them).
pub async fn django_user_changes_are_seen_at_the_next_read(store: &dyn Store, users: &Users) {
    let django = users.django();
    store.ping().await.unwrap();
    assert_eq!(store.user_by_username("alice").await.unwrap(), None);
    let alice = users.create(store, "alice", T0).await;
    let claim = alice.id.to_string();
    let reads = async |expected: Option<&User>| {
        assert_eq!(store.user_by_id(alice.id).await.unwrap().as_ref(), expected);
        assert_eq!(
            store.user_by_username("alice").await.unwrap().as_ref(),
            expected
        );
        assert_eq!(
            store.user_by_claim(&claim).await.unwrap().as_ref(),
            expected
        );
        assert_eq!(
            store.list_users().await.unwrap(),
            expected.into_iter().cloned().collect::<Vec<_>>()
        );
    };
    reads(Some(&alice)).await;

    django.set_active("alice", false).await.unwrap();
    let inactive = User {
        is_active: false,
        ..alice.clone()
    };
    reads(Some(&inactive)).await;
    django.set_active("alice", true).await.unwrap();
    reads(Some(&alice)).await;

    let changed = User {
        password_hash: pbkdf2("changed-in-admin"),
        ..alice.clone()
    };
    django
        .set_password("alice", &changed.password_hash)
        .await
        .unwrap();
    reads(Some(&changed)).await;

    let issued = token("alice-1", Some(alice.id), T0, T0 + DAY);
    store.record_issued(&issued).await.unwrap();
    django.delete_user("alice").await.unwrap();
    reads(None).await;
    assert_eq!(
        django.outstanding_row("alice-1").await.unwrap().user_id,
        None,
        "Django's SET_NULL"
    );
    // The deleted user's tokens can still be blacklisted and rotated, and new rows naming the
    // deleted user have no owner.
    let next = token("alice-2", Some(alice.id), T0 + 1, T0 + DAY);
    assert_eq!(
        store
            .rotate(rotation(&issued, &next, true, T0 + 1))
            .await
            .unwrap(),
        BLACKLISTED_AND_ROTATED
    );
    assert_eq!(
        django.outstanding_row("alice-2").await.unwrap().user_id,
        None
    );
    assert!(django.is_blacklisted("alice-1").await);

    // The next user Django creates is a new user.
    let bob = users.create(store, "bob", T0 + 2).await;
    assert!(bob.id > alice.id);
    assert_eq!(store.user_by_claim(&claim).await.unwrap(), None);
}

/// `flush_expired(now)` removes exactly the outstanding rows with `expires_at <= now`, Django's
/// (with microseconds) as well as jwtd's, and their blacklist rows.
pub async fn django_flush_expired_removes_only_expired(store: &dyn Store, users: &Users) {
    let django = users.django();
    let alice = users.create(store, "alice", T0).await;
    let now = T0 + 100;
    for (jti, expires, blacklisted) in [
        ("dj-before", (now - 1, 999_999), true),
        ("dj-at", (now, 0), false),
        ("dj-just-after", (now, 1), false),
        ("dj-later", (now + 100, 0), true),
    ] {
        django
            .insert_outstanding(jti, Some(alice.id), (T0, 42), expires, "dj")
            .await;
        if blacklisted {
            django.insert_blacklisted(jti, (T0 + 1, 7)).await;
        }
    }
    store
        .blacklist(&token("jw-at", Some(alice.id), T0, now), T0 + 2)
        .await
        .unwrap();
    store
        .record_issued(&token("jw-after", Some(alice.id), T0, now + 1))
        .await
        .unwrap();

    assert_eq!(store.flush_expired(now - 1).await.unwrap(), flushed(0, 0));
    assert_eq!(store.flush_expired(now).await.unwrap(), flushed(3, 2));
    let left: Vec<String> = django
        .outstanding()
        .await
        .into_iter()
        .map(|row| row.jti)
        .collect();
    assert_eq!(left, ["dj-just-after", "dj-later", "jw-after"]);
    assert!(store.is_blacklisted("dj-later").await.unwrap());
    assert!(!store.is_blacklisted("dj-before").await.unwrap());
    assert_eq!(store.flush_expired(now).await.unwrap(), flushed(0, 0));
    assert_eq!(store.flush_expired(now + 1).await.unwrap(), flushed(2, 0));
    assert_eq!(store.flush_expired(now + 100).await.unwrap(), flushed(1, 1));
    assert_eq!(store.list_users().await.unwrap(), vec![alice]);
}

/// A hash upgrade at login is a compare-and-set on Django's `password` column: a password
/// changed in Django's admin meanwhile is never overwritten, and of concurrent upgrades from
/// one hash exactly one wins.
pub async fn django_upgrade_password_is_compare_and_set(store: &dyn Store, users: &Users) {
    let django = users.django();
    let alice = users
        .create_user(
            store,
            NewUser {
                password_hash: "pbkdf2_sha256$870000$oldsalt$b2xk".to_owned(),
                ..new_user("alice", T0)
            },
        )
        .await;
    let read_at_login = store.user_by_id(alice.id).await.unwrap().unwrap();
    assert_eq!(read_at_login.password_hash, alice.password_hash);

    // The admin changes the password while the login verifies the old one.
    let admin = pbkdf2("admin");
    django.set_password("alice", &admin).await.unwrap();
    assert!(
        !store
            .upgrade_password(alice.id, &read_at_login.password_hash, &pbkdf2("upgrade"))
            .await
            .unwrap()
    );
    assert_eq!(
        django.password("alice").await.as_deref(),
        Some(admin.as_str())
    );

    let upgrades = ["a", "b", "c", "d"].map(|tag| pbkdf2(&format!("upgrade-{tag}")));
    let (a, b, c, d) = tokio::join!(
        store.upgrade_password(alice.id, &admin, &upgrades[0]),
        store.upgrade_password(alice.id, &admin, &upgrades[1]),
        store.upgrade_password(alice.id, &admin, &upgrades[2]),
        store.upgrade_password(alice.id, &admin, &upgrades[3]),
    );
    let won: Vec<bool> = [a, b, c, d].into_iter().map(Result::unwrap).collect();
    assert_eq!(
        won.iter().filter(|w| **w).count(),
        1,
        "exactly one upgrade wins: {won:?}"
    );
    let winner = &upgrades[won.iter().position(|w| *w).unwrap()];
    assert_eq!(django.password("alice").await.as_ref(), Some(winner));
    assert_eq!(
        store
            .user_by_username("alice")
            .await
            .unwrap()
            .unwrap()
            .password_hash,
        *winner
    );
    assert!(
        !store
            .upgrade_password(alice.id + 1000, winner, "x")
            .await
            .unwrap()
    );
}

/// In Django mode the store refuses user writes (pointing to manage.py) and imports, writes
/// nothing when it does, and `migrate` creates no table of jwtd's.
pub async fn django_user_writes_and_import_are_refused(store: &dyn Store, users: &Users) {
    let django = users.django();
    let tables = django.tables().await;
    store.migrate().await.expect("migrate is a no-op");
    assert_eq!(
        django.tables().await,
        tables,
        "migrate created or dropped tables"
    );
    let alice = users.create(store, "alice", T0).await;

    let message = expect_refused("create_user", store.create_user(new_user("bob", T0)).await);
    assert!(message.contains("manage.py"), "{message}");
    expect_refused("set_password", store.set_password("alice", "x").await);
    expect_refused("set_active", store.set_active("alice", false).await);
    expect_refused("delete_user", store.delete_user("alice").await);
    expect_refused("delete_user", store.delete_user("nobody").await);
    let snapshot = Snapshot {
        users: vec![User {
            id: 42,
            ..alice.clone()
        }],
        last_user_id: 42,
        issued: vec![token("zed-1", Some(42), T0, T0 + DAY)],
        blacklisted: vec![BlacklistEntry {
            jti: "zed-1".to_owned(),
            blacklisted_at: T0,
        }],
    };
    expect_refused("import", store.import(&snapshot).await);
    expect_refused("import", store.import(&Snapshot::default()).await);
    assert_eq!(store.list_users().await.unwrap(), vec![alice]);
    assert!(django.outstanding().await.is_empty());
    assert_eq!(django.tables().await, tables);
}

/// A user id claim that cannot be an id finds nobody (and never reaches the database as a
/// failing cast); a password column Django left empty or unusable is read as it is.
pub async fn django_odd_claims_and_passwords(store: &dyn Store, users: &Users) {
    let django = users.django();
    let alice = users.create(store, "alice", T0).await;
    for claim in [
        "",
        "abc",
        "1.0",
        " 1",
        "+1",
        "-1",
        "0x1",
        "true",
        "99999999999999999999",
        "9223372036854775808",
        "1; DROP TABLE auth_user",
    ] {
        assert_eq!(store.user_by_claim(claim).await.unwrap(), None, "{claim:?}");
    }
    assert_eq!(
        store.user_by_claim(&alice.id.to_string()).await.unwrap(),
        Some(alice.clone())
    );
    for password in ["", "!unusable0123456789abcdefghijklmnopqrstuvw"] {
        django.set_password("alice", password).await.unwrap();
        assert_eq!(
            store
                .user_by_id(alice.id)
                .await
                .unwrap()
                .unwrap()
                .password_hash,
            password
        );
    }
    assert!(
        !store
            .upgrade_password(alice.id, "", "pbkdf2_sha256$x")
            .await
            .unwrap(),
        "the stored hash is no longer empty"
    );
}

/// `export` of a Django store, what `jwtd import-django` copies: users with their hashes, ids,
/// `is_active`, `date_joined` and `last_login`; the highest id Django ever gave (its
/// `sqlite_sequence` row or identity sequence), a deleted newest user's id included; outstanding
/// tokens with their text and owner; blacklisted tokens. Then the import into jwtd's own empty
/// store `target` keeps all of it and the retired id stays retired.
pub async fn django_export_for_import(source: &dyn Store, users: &Users, target: &dyn Store) {
    let django = users.django();
    let alice = users.create(source, "alice", T0).await;
    let bob_id = django
        .create_user_at(
            &NewUser {
                is_active: false,
                password_hash: pbkdf2("bob"),
                ..new_user("bob", T0 + 1)
            },
            987_654,
        )
        .await;
    let carol = users.create(source, "carol", T0 + 2).await;
    // Django's update_last_login, with microseconds.
    django
        .exec(&format!(
            "UPDATE \"{}\" SET last_login = {} WHERE id = {}",
            django.user_table,
            django.time(T0 + 10, 500_000),
            alice.id
        ))
        .await;
    django
        .insert_outstanding(
            "dj-1",
            Some(alice.id),
            (T0 + 10, 5),
            (T0 + 10 + DAY, 5),
            "dj-1-text",
        )
        .await;
    django.insert_blacklisted("dj-1", (T0 + 20, 999_999)).await;
    let jw = with_text(
        token("jw-1", Some(alice.id), T0 + 20, T0 + 20 + DAY),
        "jw-1-text",
    );
    source
        .rotate(rotation(
            &token("dj-1", Some(alice.id), T0 + 10, T0 + 10 + DAY),
            &jw,
            false,
            T0 + 20,
        ))
        .await
        .unwrap();
    source
        .record_issued(&with_text(
            token("carol-1", Some(carol.id), T0 + 40, T0 + 40 + DAY),
            "carol-1-text",
        ))
        .await
        .unwrap();
    source
        .blacklist(
            &with_text(token("foreign", None, T0 + 25, T0 + 25 + DAY), "f"),
            T0 + 30,
        )
        .await
        .unwrap();
    // The newest user is deleted in Django: her id stays retired.
    django.delete_user("carol").await.unwrap();

    let snapshot = source.export().await.expect("export");
    let alice = User {
        last_login: Some(T0 + 10),
        ..alice
    };
    let bob = User {
        id: bob_id,
        username: "bob".to_owned(),
        password_hash: pbkdf2("bob"),
        is_active: false,
        date_joined: T0 + 1,
        last_login: None,
        id_claim: None,
        email: None,
        tokens_valid_after: 0,
        access_denied_until: 0,
    };
    assert_eq!(snapshot.users, vec![alice.clone(), bob.clone()]);
    assert_eq!(
        snapshot.last_user_id, carol.id,
        "the deleted newest id is Django's high-water mark"
    );
    assert_eq!(
        snapshot.issued,
        vec![
            with_text(
                token("carol-1", None, T0 + 40, T0 + 40 + DAY),
                "carol-1-text"
            ),
            with_text(
                token("dj-1", Some(alice.id), T0 + 10, T0 + 10 + DAY),
                "dj-1-text"
            ),
            with_text(token("foreign", None, T0 + 25, T0 + 25 + DAY), "f"),
            jw.clone(),
        ]
    );
    assert_eq!(
        snapshot.blacklisted,
        vec![
            BlacklistEntry {
                jti: "dj-1".to_owned(),
                blacklisted_at: T0 + 20
            },
            BlacklistEntry {
                jti: "foreign".to_owned(),
                blacklisted_at: T0 + 30
            },
        ]
    );

    target
        .import(&snapshot)
        .await
        .expect("import into jwtd's own store");
    let copy = target.export().await.unwrap();
    assert_eq!(copy.users, snapshot.users);
    assert_eq!(copy.last_user_id, snapshot.last_user_id);
    assert_eq!(copy.blacklisted, snapshot.blacklisted);
    assert_eq!(
        copy.issued,
        snapshot
            .issued
            .iter()
            .map(|record| with_text(record.clone(), ""))
            .collect::<Vec<_>>(),
        "jwtd's own schema keeps everything but the token text"
    );
    assert_eq!(
        target.user_by_username("alice").await.unwrap(),
        Some(alice.clone())
    );
    assert!(target.is_blacklisted("dj-1").await.unwrap());
    assert_eq!(
        target
            .rotate(rotation(
                &token("dj-1", Some(alice.id), T0 + 10, T0 + 10 + DAY),
                &token("after", Some(alice.id), T0 + 50, T0 + 50 + DAY),
                true,
                T0 + 50,
            ))
            .await
            .unwrap(),
        Rotation::AlreadyBlacklisted
    );
    let dave = create(target, "dave", T0 + 60).await;
    assert!(
        dave.id > carol.id,
        "{} reuses retired {}",
        dave.id,
        carol.id
    );
    assert_eq!(
        source.export().await.unwrap(),
        snapshot,
        "exporting changes nothing"
    );
}

/// A user model looked up by `email` (Django's `USERNAME_FIELD`), and `token_claims` of the
/// model's fields: `groups` through the model's join table, booleans, a timestamp as Unix
/// seconds, NULL.
pub async fn django_custom_user_model(store: &dyn Store, users: &Users) {
    let django = users.django();
    assert_eq!(django.login, "email");
    let email = "alice@example.com";
    let alice_id = django.create_user_at(&new_user(email, T0), 999_999).await;
    let bob_id = django
        .create_user(&new_user("bob@example.com", T0 + 1))
        .await;
    let alice = store
        .user_by_username(email)
        .await
        .unwrap()
        .expect("lookup by email");
    assert_eq!(alice.id, alice_id);
    assert_eq!(alice.username, email);
    assert_eq!(
        alice.date_joined, T0,
        "microseconds are dropped, not rounded"
    );
    assert_eq!(store.user_by_username("alice").await.unwrap(), None);
    assert_eq!(
        store.user_by_claim(&alice_id.to_string()).await.unwrap(),
        Some(alice.clone())
    );

    django
        .exec(&format!(
            "UPDATE \"{}\" SET is_staff = TRUE WHERE id = {alice_id}",
            django.user_table
        ))
        .await;
    let editors = django.create_group("editors").await;
    let admins = django.create_group("admins").await;
    django.create_group("unrelated").await;
    django.add_to_group(alice_id, editors).await;
    django.add_to_group(alice_id, admins).await;
    let fields: Vec<String> = [
        "email",
        "groups",
        "is_staff",
        "date_joined",
        "is_active",
        "last_login",
        "id",
    ]
    .map(str::to_owned)
    .to_vec();
    store
        .check_claim_fields(&fields)
        .expect("every field exists");
    assert_eq!(
        store.user_claims(&alice, &fields).await.unwrap(),
        vec![
            ClaimValue::Text(email.to_owned()),
            ClaimValue::List(vec!["admins".to_owned(), "editors".to_owned()]),
            ClaimValue::Bool(true),
            ClaimValue::Integer(T0),
            ClaimValue::Bool(true),
            ClaimValue::Null,
            ClaimValue::Integer(alice_id),
        ]
    );
    store.record_login(alice_id, T0 + 5).await.unwrap();
    let bob = store.user_by_id(bob_id).await.unwrap().unwrap();
    assert_eq!(
        store.user_claims(&bob, &fields).await.unwrap(),
        vec![
            ClaimValue::Text("bob@example.com".to_owned()),
            ClaimValue::List(vec![]),
            ClaimValue::Bool(false),
            ClaimValue::Integer(T0 + 1),
            ClaimValue::Bool(true),
            ClaimValue::Null,
            ClaimValue::Integer(bob_id),
        ]
    );
    assert_eq!(
        store
            .user_claims(&alice, &["last_login".to_owned()])
            .await
            .unwrap(),
        vec![ClaimValue::Integer(T0 + 5)]
    );
    for field in ["password", "nope"] {
        let message = expect_refused(field, store.check_claim_fields(&[field.to_owned()]));
        assert!(message.contains(field), "{message}");
    }
    if django.user_table != "auth_user" {
        let message = expect_refused(
            "username",
            store.check_claim_fields(&["username".to_owned()]),
        );
        assert!(message.contains("username"), "{message}");
    }
}
