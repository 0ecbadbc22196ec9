//! Contract checks on sessions: starting one at login and what a refresh reads of it, rotations
//! and refreshes that move it on, listing, ending one session or all of a user's (logout-all, a
//! password change), the access-token deny-list, flushing, and the shared login-attempt counter.
//!
//! Every time is explicit; a session's refresh tokens and access tokens have the lifetimes of
//! [`DAY`] and [`ACCESS`] unless a check says otherwise.

use std::sync::Arc;

use jwtd_store::{
    AccessRecord, Flushed, NewSession, Rotation, Session, SessionStep, Store, StoreError,
    TokenRecord, TokenState, USER_AGENT_MAX, User, UserId,
};

use crate::{
    BLACKLISTED_AND_ROTATED, DAY, ROTATED_WITHOUT_BLACKLISTING, T0, Users, rotation, token,
};

/// Access token lifetime used by these checks.
pub const ACCESS: i64 = 300;

/// A session id as the server makes them: 32 hex digits.
pub fn session_id(n: u32) -> String {
    format!("{n:032x}")
}

/// An access token record.
pub fn access(jti: &str, expires_at: i64) -> AccessRecord {
    AccessRecord {
        jti: jti.to_owned(),
        expires_at,
    }
}

/// The `jti` of the access token handed out in session `id` at `at` (by [`login`] and
/// [`step`]).
pub fn access_jti(id: &str, at: i64) -> String {
    format!("access-{id}-{at}")
}

/// A login at `at` of `user` starting session `id`, which expires at `expires_at`, from a
/// browser at 192.0.2.1, with the access token [`access_jti`]`(id, at)`.
pub fn login(id: &str, user: UserId, at: i64, expires_at: i64) -> NewSession {
    NewSession {
        session: Session {
            id: id.to_owned(),
            user_id: user,
            created_at: at,
            last_used_at: at,
            expires_at,
            user_agent: Some("Mozilla/5.0 (X11; Linux x86_64) jwtd-tests".to_owned()),
            ip: Some("192.0.2.1".to_owned()),
            ended_at: None,
        },
        access: access(&access_jti(id, at), at + ACCESS),
        password_hash: None,
    }
}

/// A refresh in session `id` at `at` after which its newest refresh token expires at
/// `expires_at`, handing out the access token [`access_jti`]`(id, at)`.
pub fn step(id: &str, at: i64, expires_at: i64) -> SessionStep {
    SessionStep {
        session_id: id.to_owned(),
        at,
        expires_at,
        access: access(&access_jti(id, at), at + ACCESS),
    }
}

/// Starts `new` with `refresh`, panicking with the store's error when that fails.
async fn start(store: &dyn Store, new: &NewSession, refresh: &TokenRecord) {
    store
        .start_session(new, refresh)
        .await
        .unwrap_or_else(|e| panic!("starting session {}: {e}", new.session.id));
}

/// The session `jti` belongs to, as `token_state` reads it.
async fn session_of(store: &dyn Store, jti: &str) -> Session {
    store
        .token_state(jti)
        .await
        .unwrap()
        .session
        .unwrap_or_else(|| panic!("{jti} must belong to a session"))
}

/// When `jti` was blacklisted, read from an export; `None` when it is not.
async fn blacklisted_at(store: &dyn Store, jti: &str) -> Option<i64> {
    store
        .export()
        .await
        .unwrap()
        .blacklisted
        .into_iter()
        .find(|entry| entry.jti == jti)
        .map(|entry| entry.blacklisted_at)
}

/// Which of `jtis` are deny-listed, in order.
async fn denied(store: &dyn Store, jtis: &[String]) -> Vec<bool> {
    let mut answers = Vec::new();
    for jti in jtis {
        answers.push(store.is_access_denied(jti).await.unwrap());
    }
    answers
}

/// The user as the store reads them now, by id and by name (which must agree).
async fn reread(store: &dyn Store, user: &User) -> User {
    let by_id = store.user_by_id(user.id).await.unwrap().unwrap();
    assert_eq!(
        store.user_by_username(&user.username).await.unwrap(),
        Some(by_id.clone()),
        "user_by_username and user_by_id read the same row"
    );
    by_id
}

/// A [`Flushed`] count with sessions and deny-list rows.
fn flushed(issued: u64, blacklisted: u64, sessions: u64) -> Flushed {
    Flushed {
        issued,
        blacklisted,
        sessions,
    }
}

/// `start_session` records the refresh token in the new session: `token_state` shows the
/// session with every field as started, not blacklisted, not rotated. Tokens of no session
/// and unknown tokens have no session.
pub async fn start_session_records_the_token_in_its_session(store: &dyn Store, users: &Users) {
    let alice = users.create(store, "alice", T0).await;
    let id = session_id(1);
    let new = login(&id, alice.id, T0, T0 + DAY);
    let refresh = token("login-refresh", Some(alice.id), T0, T0 + DAY);
    start(store, &new, &refresh).await;

    assert_eq!(
        store.token_state("login-refresh").await.unwrap(),
        TokenState {
            blacklisted: false,
            rotated_at: None,
            session: Some(new.session.clone()),
        }
    );
    assert!(!store.is_blacklisted("login-refresh").await.unwrap());
    // The token is recorded like any other, and the login's access token kept with the session.
    assert_eq!(
        store
            .session_of_access(&new.access.jti, alice.id)
            .await
            .unwrap(),
        Some(id.clone())
    );
    assert_eq!(
        store
            .session_of_access("never-seen", alice.id)
            .await
            .unwrap(),
        None
    );
    assert_eq!(
        store.export().await.unwrap().issued,
        vec![refresh.clone()],
        "start_session records the refresh token"
    );

    // A token recorded outside any session (issued before sessions were kept, or a sliding
    // token) has none; neither has a token the store never saw.
    let plain = token("plain", Some(alice.id), T0, T0 + DAY);
    store.record_issued(&plain).await.unwrap();
    assert_eq!(
        store.token_state("plain").await.unwrap(),
        TokenState::default()
    );
    assert_eq!(
        store.token_state("never-seen").await.unwrap(),
        TokenState::default()
    );
    store
        .blacklist(&token("revoked", Some(alice.id), T0, T0 + DAY), T0 + 1)
        .await
        .unwrap();
    assert_eq!(
        store.token_state("revoked").await.unwrap(),
        TokenState {
            blacklisted: true,
            ..TokenState::default()
        }
    );

    // Starting a session changes nothing of the user.
    assert_eq!(reread(store, &alice).await, alice);
}

/// `sessions(user, now)` lists the user's live sessions, every field as stored, newest first
/// (by when they started, not by id or insertion order); not another user's, not one expired
/// at `now`, not one ended.
pub async fn sessions_are_listed_live_and_newest_first(store: &dyn Store, users: &Users) {
    let alice = users.create(store, "alice", T0).await;
    let bob = users.create(store, "bob", T0).await;
    // Ids in another order than their times, started in yet another.
    let (newest, middle, oldest) = (session_id(1), session_id(3), session_id(2));
    let middle_login = NewSession {
        session: Session {
            user_agent: Some("x".repeat(USER_AGENT_MAX)),
            ip: Some("2001:db8::1".to_owned()),
            ..login(&middle, alice.id, T0 + 5, T0 + 5 + DAY).session
        },
        ..login(&middle, alice.id, T0 + 5, T0 + 5 + DAY)
    };
    let oldest_login = NewSession {
        session: Session {
            user_agent: Some("Mozilla/5.0 (Ünïcødé; ☃) Gecko/20100101".to_owned()),
            expires_at: T0 + 100,
            ..login(&oldest, alice.id, T0, T0 + 100).session
        },
        ..login(&oldest, alice.id, T0, T0 + 100)
    };
    let newest_login = NewSession {
        session: Session {
            user_agent: None,
            ip: None,
            ..login(&newest, alice.id, T0 + 10, T0 + 10 + DAY).session
        },
        ..login(&newest, alice.id, T0 + 10, T0 + 10 + DAY)
    };
    let bobs = login(&session_id(4), bob.id, T0 + 7, T0 + 7 + DAY);
    let refresh = |jti: &str, new: &NewSession| {
        token(
            jti,
            Some(new.session.user_id),
            new.session.created_at,
            new.session.expires_at,
        )
    };
    start(store, &middle_login, &refresh("middle", &middle_login)).await;
    start(store, &oldest_login, &refresh("oldest", &oldest_login)).await;
    start(store, &bobs, &refresh("bobs", &bobs)).await;
    start(store, &newest_login, &refresh("newest", &newest_login)).await;

    assert_eq!(
        store.sessions(alice.id, T0 + 20).await.unwrap(),
        vec![
            newest_login.session.clone(),
            middle_login.session.clone(),
            oldest_login.session.clone(),
        ],
        "every field, newest first"
    );
    assert_eq!(
        store.sessions(bob.id, T0 + 20).await.unwrap(),
        vec![bobs.session.clone()]
    );
    assert_eq!(
        store.sessions(bob.id + alice.id + 1000, T0).await.unwrap(),
        Vec::new(),
        "a user that does not exist has none"
    );

    // The oldest expires at T0 + 100: live one second before, not at it.
    assert_eq!(store.sessions(alice.id, T0 + 99).await.unwrap().len(), 3);
    assert_eq!(
        store.sessions(alice.id, T0 + 100).await.unwrap(),
        vec![newest_login.session.clone(), middle_login.session.clone()],
        "a session expired at `now` is not listed"
    );

    // An ended session is not listed either.
    assert!(
        store
            .end_session(&newest, Some(alice.id), T0 + 30)
            .await
            .unwrap()
    );
    assert_eq!(
        store.sessions(alice.id, T0 + 30).await.unwrap(),
        vec![middle_login.session.clone(), oldest_login.session.clone()]
    );
    assert_eq!(
        store.sessions(bob.id, T0 + 30).await.unwrap(),
        vec![bobs.session.clone()]
    );
}

/// A rotation with `session: Some(step)` marks the old token rotated at `step.at` (and
/// blacklisted, when asked), puts the successor in the same session, and moves the session's
/// last use and expiry on, keeping its access token with the session. A rotation that loses
/// (the old token was blacklisted already) moves nothing and keeps nothing. A rotation that
/// does not blacklist still marks the old token rotated (once: a second rotation keeps the first
/// time), so presenting it again is reuse.
pub async fn rotation_in_a_session_moves_it_on(store: &dyn Store, users: &Users) {
    let alice = users.create(store, "alice", T0).await;
    let id = session_id(7);
    let new = login(&id, alice.id, T0, T0 + DAY);
    let first = token("first", Some(alice.id), T0, T0 + DAY);
    start(store, &new, &first).await;

    let second = token("second", Some(alice.id), T0 + 50, T0 + 50 + DAY);
    let mut request = rotation(&first, &second, true, T0 + 50);
    request.session = Some(step(&id, T0 + 50, T0 + 50 + DAY));
    assert_eq!(
        store.rotate(request).await.unwrap(),
        BLACKLISTED_AND_ROTATED
    );

    let moved_on = Session {
        last_used_at: T0 + 50,
        expires_at: T0 + 50 + DAY,
        ..new.session.clone()
    };
    assert_eq!(
        store.token_state("first").await.unwrap(),
        TokenState {
            blacklisted: true,
            rotated_at: Some(T0 + 50),
            session: Some(moved_on.clone()),
        },
        "the old token: blacklisted, rotated at the step's time, still in its session"
    );
    assert_eq!(
        store.token_state("second").await.unwrap(),
        TokenState {
            blacklisted: false,
            rotated_at: None,
            session: Some(moved_on.clone()),
        },
        "the successor joins the session"
    );
    assert_eq!(
        store.sessions(alice.id, T0 + 60).await.unwrap(),
        vec![moved_on.clone()]
    );
    // Live past the login token's expiry, on the successor's.
    assert_eq!(
        store.sessions(alice.id, T0 + DAY).await.unwrap(),
        vec![moved_on.clone()]
    );

    // A replay of the spent token loses, and moves nothing on: no successor, same session.
    let replayed = token("replayed", Some(alice.id), T0 + 70, T0 + 70 + DAY);
    let mut replay = rotation(&first, &replayed, true, T0 + 70);
    replay.session = Some(step(&id, T0 + 70, T0 + 70 + DAY));
    assert_eq!(
        store.rotate(replay).await.unwrap(),
        Rotation::AlreadyBlacklisted
    );
    assert_eq!(
        store.token_state("first").await.unwrap().rotated_at,
        Some(T0 + 50),
        "the losing rotation must not restamp the old token"
    );
    assert_eq!(
        store.token_state("replayed").await.unwrap(),
        TokenState::default(),
        "the losing rotation must not record its successor in the session"
    );
    assert_eq!(session_of(store, "second").await, moved_on);

    // A rotation that does not blacklist the old token moves the session on. (Whether it marks
    // the old token rotated is the store's affair: reuse detection needs blacklisting, and
    // `rotated_at` is only relied on for a token its rotation blacklisted.)
    let third = token("third", Some(alice.id), T0 + 80, T0 + 80 + DAY);
    let mut request = rotation(&second, &third, false, T0 + 80);
    request.session = Some(step(&id, T0 + 80, T0 + 80 + DAY));
    assert_eq!(
        store.rotate(request).await.unwrap(),
        ROTATED_WITHOUT_BLACKLISTING
    );
    let moved_again = Session {
        last_used_at: T0 + 80,
        expires_at: T0 + 80 + DAY,
        ..new.session.clone()
    };
    let second_state = store.token_state("second").await.unwrap();
    assert!(!second_state.blacklisted);
    assert_eq!(second_state.session, Some(moved_again.clone()));
    assert_eq!(session_of(store, "third").await, moved_again);

    // Rotated again (a retry, or a replay when nothing is blacklisted): it stays rotated at
    // the first rotation's time, which is when its successor was issued.
    let retry = token("third-retry", Some(alice.id), T0 + 85, T0 + 85 + DAY);
    let mut request = rotation(&second, &retry, false, T0 + 85);
    request.session = Some(step(&id, T0 + 85, T0 + 85 + DAY));
    assert_eq!(
        store.rotate(request).await.unwrap(),
        ROTATED_WITHOUT_BLACKLISTING
    );
    assert_eq!(
        store.token_state("second").await.unwrap().rotated_at,
        second_state.rotated_at,
        "a second rotation does not restamp the first"
    );
    assert_eq!(session_of(store, "third-retry").await.last_used_at, T0 + 85);

    // The session keeps the access token of the login and of every rotation that won, not
    // the losing replay's, which no one was given: ending it deny-lists those.
    let handed_out = [T0, T0 + 50, T0 + 80, T0 + 85].map(|at| access_jti(&id, at));
    let never_given = access_jti(&id, T0 + 70);
    for jti in &handed_out {
        assert_eq!(
            store.session_of_access(jti, alice.id).await.unwrap(),
            Some(id.clone()),
            "{jti}"
        );
    }
    assert_eq!(
        store
            .session_of_access(&never_given, alice.id)
            .await
            .unwrap(),
        None
    );
    assert!(
        store
            .end_session(&id, Some(alice.id), T0 + 90)
            .await
            .unwrap()
    );
    assert_eq!(denied(store, &handed_out).await, [true; 4]);
    assert!(!store.is_access_denied(&never_given).await.unwrap());
    for jti in ["first", "second", "third", "third-retry"] {
        assert!(store.is_blacklisted(jti).await.unwrap(), "{jti}");
    }

    // The server's retry within the reuse interval: the parent, blacklisted by its rotation at
    // T0 + 50, rotated again without blacklisting; it stays rotated at T0 + 50, so retries
    // never extend the interval.
    let retried = token("first-retry", Some(alice.id), T0 + 90, T0 + 90 + DAY);
    let mut request = rotation(
        &token("first", Some(alice.id), T0, T0 + DAY),
        &retried,
        false,
        T0 + 90,
    );
    request.session = Some(step(&id, T0 + 90, T0 + 90 + DAY));
    store.rotate(request).await.unwrap();
    assert_eq!(
        store.token_state("first").await.unwrap().rotated_at,
        Some(T0 + 50)
    );
}

/// 16 tasks rotate the same token of one session at once, each with its own successor, time
/// and access token, spread over `stores`, five rounds: exactly one wins, the session moved on
/// exactly as the winner's step says, only the winner's successor joined it, and only the
/// winner's access token is kept with the session (and deny-listed when it ends).
pub async fn concurrent_rotation_in_a_session(stores: &[Arc<dyn Store>], users: &Users) {
    const TASKS: usize = 16;
    const ROUNDS: u32 = 5;
    let alice = users.create(stores[0].as_ref(), "alice", T0).await;

    for round in 0..ROUNDS {
        let base = T0 + i64::from(round) * 10_000;
        let id = session_id(100 + round);
        let new = login(&id, alice.id, base, base + DAY);
        let old = token(&format!("old-{round}"), Some(alice.id), base, base + DAY);
        start(stores[0].as_ref(), &new, &old).await;

        let barrier = Arc::new(tokio::sync::Barrier::new(TASKS));
        let tasks: Vec<_> = (0..TASKS)
            .map(|i| {
                let store = Arc::clone(&stores[i % stores.len()]);
                let barrier = Arc::clone(&barrier);
                let at = base + 10 + i as i64;
                let successor = token(&format!("new-{round}-{i}"), Some(alice.id), at, at + DAY);
                let mut request = rotation(&old, &successor, true, at);
                request.session = Some(step(&id, at, at + DAY));
                tokio::spawn(async move {
                    barrier.wait().await;
                    store.rotate(request).await
                })
            })
            .collect();

        let mut winners = Vec::new();
        for (i, task) in tasks.into_iter().enumerate() {
            match task.await.expect("rotation task panicked") {
                Ok(BLACKLISTED_AND_ROTATED) => winners.push(i),
                Ok(Rotation::AlreadyBlacklisted) => {}
                Ok(other) => panic!("round {round}: a blacklisting rotation answered {other:?}"),
                Err(e) => panic!("round {round}: rotation failed: {e}"),
            }
        }
        assert_eq!(
            winners.len(),
            1,
            "round {round}: exactly one rotation must win, won: {winners:?}"
        );
        let winner = winners[0];
        let at = base + 10 + winner as i64;
        let moved_on = Session {
            last_used_at: at,
            expires_at: at + DAY,
            ..new.session.clone()
        };
        for store in stores {
            let store = store.as_ref();
            assert_eq!(
                store.token_state(&old.jti).await.unwrap(),
                TokenState {
                    blacklisted: true,
                    rotated_at: Some(at),
                    session: Some(moved_on.clone()),
                },
                "round {round}: the old token, rotated by the winner ({winner})"
            );
            for i in 0..TASKS {
                let state = store
                    .token_state(&format!("new-{round}-{i}"))
                    .await
                    .unwrap();
                if i == winner {
                    assert_eq!(state.session.as_ref(), Some(&moved_on), "round {round}");
                    assert!(!state.blacklisted);
                } else {
                    assert_eq!(
                        state,
                        TokenState::default(),
                        "round {round}: loser {i} wrote its successor"
                    );
                }
            }
        }

        let accesses: Vec<_> = (0..TASKS)
            .map(|i| access_jti(&id, base + 10 + i as i64))
            .collect();
        for (i, jti) in accesses.iter().enumerate() {
            assert_eq!(
                stores[0].session_of_access(jti, alice.id).await.unwrap(),
                (i == winner).then(|| id.clone()),
                "round {round}: only the winner's access token is kept with the session"
            );
        }
        assert!(
            stores[0]
                .end_session(&id, Some(alice.id), base + 100)
                .await
                .unwrap()
        );
        assert!(stores[0].is_access_denied(&new.access.jti).await.unwrap());
        assert_eq!(
            denied(stores[0].as_ref(), &accesses).await,
            (0..TASKS).map(|i| i == winner).collect::<Vec<_>>(),
            "round {round}: the winner's access token is deny-listed, no loser's"
        );
    }
}

/// `touch_session` (a refresh that did not rotate) stamps the session's last use and keeps the
/// access token it handed out, and changes nothing of its refresh tokens.
pub async fn touch_session_stamps_the_last_use(store: &dyn Store, users: &Users) {
    let alice = users.create(store, "alice", T0).await;
    let id = session_id(9);
    let other = session_id(10);
    let new = login(&id, alice.id, T0, T0 + DAY);
    let untouched = login(&other, alice.id, T0 + 1, T0 + 1 + DAY);
    start(store, &new, &token("refresh", Some(alice.id), T0, T0 + DAY)).await;
    start(
        store,
        &untouched,
        &token("other-refresh", Some(alice.id), T0 + 1, T0 + 1 + DAY),
    )
    .await;

    assert!(
        store
            .touch_session(&step(&id, T0 + 30, T0 + DAY))
            .await
            .unwrap()
    );
    let touched = Session {
        last_used_at: T0 + 30,
        ..new.session.clone()
    };
    assert_eq!(
        store.token_state("refresh").await.unwrap(),
        TokenState {
            blacklisted: false,
            rotated_at: None,
            session: Some(touched.clone()),
        }
    );
    assert_eq!(
        store.sessions(alice.id, T0 + 30).await.unwrap(),
        vec![untouched.session.clone(), touched.clone()]
    );

    assert!(
        store
            .touch_session(&step(&id, T0 + 60, T0 + DAY))
            .await
            .unwrap()
    );
    assert_eq!(
        session_of(store, "refresh").await,
        Session {
            last_used_at: T0 + 60,
            ..touched.clone()
        }
    );
    assert_eq!(
        session_of(store, "other-refresh").await,
        untouched.session.clone()
    );

    // The session keeps the access tokens the touches handed out; ending it deny-lists them
    // with the login's, and nothing of the other session.
    let handed_out = [T0, T0 + 30, T0 + 60].map(|at| access_jti(&id, at));
    for jti in &handed_out {
        assert_eq!(
            store.session_of_access(jti, alice.id).await.unwrap(),
            Some(id.clone()),
            "{jti}"
        );
    }
    assert!(store.end_session(&id, None, T0 + 90).await.unwrap());
    assert_eq!(denied(store, &handed_out).await, [true; 3]);
    assert!(!store.is_access_denied(&untouched.access.jti).await.unwrap());
    // The user's row covers the latest of them, so requests with those tokens look them up.
    assert_eq!(
        reread(store, &alice).await.access_denied_until,
        T0 + 60 + ACCESS
    );

    // A refresh that read the session before it ended touches nothing and is told so: its
    // access token is not kept, and the refresh is refused.
    let late = step(&id, T0 + 91, T0 + DAY);
    assert!(!store.touch_session(&late).await.unwrap());
    assert_eq!(
        store
            .session_of_access(&late.access.jti, alice.id)
            .await
            .unwrap(),
        None
    );
    assert_eq!(session_of(store, "refresh").await.last_used_at, T0 + 60);
}

/// `end_session` blacklists every unexpired token of the session and deny-lists every access
/// token handed out in it, and answers `true` once; a second call, a call naming another user, and a
/// call for an unknown session answer `false` and revoke nothing. Other sessions, tokens of no
/// session and other users are left alone, and the user's `tokens_valid_after` too.
pub async fn end_session_revokes_the_session(store: &dyn Store, users: &Users) {
    let alice = users.create(store, "alice", T0).await;
    let bob = users.create(store, "bob", T0).await;
    let (ended, kept, bobs) = (session_id(11), session_id(12), session_id(13));

    // The session to end: its login token rotated (blacklisted), the successor rotated
    // without blacklisting, and the newest token.
    start(
        store,
        &login(&ended, alice.id, T0, T0 + DAY),
        &token("e-0", Some(alice.id), T0, T0 + DAY),
    )
    .await;
    let mut request = rotation(
        &token("e-0", Some(alice.id), T0, T0 + DAY),
        &token("e-1", Some(alice.id), T0 + 10, T0 + 10 + DAY),
        true,
        T0 + 10,
    );
    request.session = Some(step(&ended, T0 + 10, T0 + 10 + DAY));
    assert_eq!(
        store.rotate(request).await.unwrap(),
        BLACKLISTED_AND_ROTATED
    );
    let mut request = rotation(
        &token("e-1", Some(alice.id), T0 + 10, T0 + 10 + DAY),
        &token("e-2", Some(alice.id), T0 + 20, T0 + 20 + DAY),
        false,
        T0 + 20,
    );
    request.session = Some(step(&ended, T0 + 20, T0 + 20 + DAY));
    assert_eq!(
        store.rotate(request).await.unwrap(),
        ROTATED_WITHOUT_BLACKLISTING
    );
    // Every access token handed out in it: the login's and each rotation's.
    let handed_out = [T0, T0 + 10, T0 + 20].map(|at| access_jti(&ended, at));

    let kept_login = login(&kept, alice.id, T0 + 1, T0 + 1 + DAY);
    start(
        store,
        &kept_login,
        &token("k-0", Some(alice.id), T0 + 1, T0 + 1 + DAY),
    )
    .await;
    store
        .record_issued(&token("alice-sliding", Some(alice.id), T0, T0 + DAY))
        .await
        .unwrap();
    let bobs_login = login(&bobs, bob.id, T0 + 2, T0 + 2 + DAY);
    start(
        store,
        &bobs_login,
        &token("b-0", Some(bob.id), T0 + 2, T0 + 2 + DAY),
    )
    .await;
    let before = store.sessions(alice.id, T0 + 30).await.unwrap();
    assert_eq!(before.len(), 2);

    // Naming another user: not theirs, nothing happens.
    assert!(
        !store
            .end_session(&ended, Some(bob.id), T0 + 30)
            .await
            .unwrap(),
        "bob cannot end alice's session"
    );
    assert_eq!(store.sessions(alice.id, T0 + 30).await.unwrap(), before);
    assert!(!store.is_blacklisted("e-1").await.unwrap());
    assert!(!store.is_blacklisted("e-2").await.unwrap());
    assert_eq!(denied(store, &handed_out).await, [false; 3]);

    assert!(
        store
            .end_session(&ended, Some(alice.id), T0 + 30)
            .await
            .unwrap()
    );
    let session = session_of(store, "e-2").await;
    assert_eq!(
        session.ended_at,
        Some(T0 + 30),
        "token_state shows it ended"
    );
    assert!(!session.is_live(T0 + 30));
    assert_eq!(blacklisted_at(store, "e-0").await, Some(T0 + 10));
    assert_eq!(blacklisted_at(store, "e-1").await, Some(T0 + 30));
    assert_eq!(blacklisted_at(store, "e-2").await, Some(T0 + 30));
    assert!(store.token_state("e-2").await.unwrap().blacklisted);
    assert_eq!(denied(store, &handed_out).await, [true; 3]);
    assert_eq!(
        store.sessions(alice.id, T0 + 30).await.unwrap(),
        vec![kept_login.session.clone()]
    );

    // Everything else is untouched.
    for jti in ["k-0", "alice-sliding", "b-0"] {
        assert!(!store.is_blacklisted(jti).await.unwrap(), "{jti}");
    }
    for (id, at) in [(&kept, T0 + 1), (&bobs, T0 + 2)] {
        assert!(!store.is_access_denied(&access_jti(id, at)).await.unwrap());
    }
    assert_eq!(
        store.sessions(bob.id, T0 + 30).await.unwrap(),
        vec![bobs_login.session.clone()]
    );
    assert_eq!(reread(store, &alice).await.tokens_valid_after, 0);

    // Once only.
    assert!(
        !store
            .end_session(&ended, Some(alice.id), T0 + 40)
            .await
            .unwrap()
    );
    assert!(!store.end_session(&ended, None, T0 + 40).await.unwrap());
    assert_eq!(
        session_of(store, "e-2").await.ended_at,
        Some(T0 + 30),
        "a second call does not restamp the end"
    );
    assert!(
        !store
            .end_session(&session_id(999), None, T0 + 40)
            .await
            .unwrap(),
        "no such session"
    );

    // Without a user (an administrator's revoke).
    assert!(store.end_session(&kept, None, T0 + 50).await.unwrap());
    assert!(store.is_blacklisted("k-0").await.unwrap());
    assert!(
        store
            .is_access_denied(&access_jti(&kept, T0 + 1))
            .await
            .unwrap()
    );
    assert_eq!(store.sessions(alice.id, T0 + 50).await.unwrap(), Vec::new());
    assert!(!store.is_blacklisted("alice-sliding").await.unwrap());
    assert!(!store.is_blacklisted("b-0").await.unwrap());
}

/// A session past its expiry is no live session: `end_session` answers `false` for it, as the
/// trait says.
pub async fn end_session_of_an_expired_session_is_false(store: &dyn Store, users: &Users) {
    let alice = users.create(store, "alice", T0).await;
    let id = session_id(14);
    start(
        store,
        &login(&id, alice.id, T0, T0 + 50),
        &token("short", Some(alice.id), T0, T0 + 50),
    )
    .await;
    assert_eq!(store.sessions(alice.id, T0 + 50).await.unwrap(), Vec::new());
    assert!(
        !store
            .end_session(&id, Some(alice.id), T0 + 50)
            .await
            .unwrap(),
        "end_session of a session that expired at `at` must answer false (no live session)"
    );
}

/// 16 tasks end the same session at once, spread over `stores`, five rounds: exactly one gets
/// `true`, and the session is revoked.
pub async fn concurrent_end_session(stores: &[Arc<dyn Store>], users: &Users) {
    const TASKS: usize = 16;
    const ROUNDS: u32 = 5;
    let alice = users.create(stores[0].as_ref(), "alice", T0).await;

    for round in 0..ROUNDS {
        let base = T0 + i64::from(round) * 10_000;
        let id = session_id(200 + round);
        let first = token(&format!("first-{round}"), Some(alice.id), base, base + DAY);
        start(
            stores[0].as_ref(),
            &login(&id, alice.id, base, base + DAY),
            &first,
        )
        .await;
        let mut request = rotation(
            &first,
            &token(
                &format!("second-{round}"),
                Some(alice.id),
                base + 1,
                base + 1 + DAY,
            ),
            true,
            base + 1,
        );
        request.session = Some(step(&id, base + 1, base + 1 + DAY));
        stores[0].rotate(request).await.unwrap();

        let barrier = Arc::new(tokio::sync::Barrier::new(TASKS));
        let tasks: Vec<_> = (0..TASKS)
            .map(|i| {
                let store = Arc::clone(&stores[i % stores.len()]);
                let barrier = Arc::clone(&barrier);
                let id = id.clone();
                let user = (i % 2 == 0).then_some(alice.id);
                tokio::spawn(async move {
                    barrier.wait().await;
                    store.end_session(&id, user, base + 10 + i as i64).await
                })
            })
            .collect();
        let mut ended = 0;
        for task in tasks {
            match task.await.expect("end_session task panicked") {
                Ok(true) => ended += 1,
                Ok(false) => {}
                Err(e) => panic!("round {round}: end_session failed: {e}"),
            }
        }
        assert_eq!(
            ended, 1,
            "round {round}: exactly one end_session must end it"
        );
        for store in stores {
            let store = store.as_ref();
            assert!(
                store
                    .is_blacklisted(&format!("second-{round}"))
                    .await
                    .unwrap()
            );
            assert_eq!(
                denied(store, &[access_jti(&id, base), access_jti(&id, base + 1)]).await,
                [true; 2]
            );
            assert_eq!(store.sessions(alice.id, base + 100).await.unwrap(), vec![]);
        }
    }
}

/// `end_all_sessions` logs a user out everywhere: `tokens_valid_after = at` (never lowered),
/// every live session ended (and counted), every unexpired token of the user blacklisted,
/// sliding tokens of no session included, every access token of the sessions deny-listed.
/// Another user's sessions and tokens are left alone; an unknown user is `NotFound`. Logging in
/// again afterwards works.
pub async fn end_all_sessions_logs_the_user_out_everywhere(store: &dyn Store, users: &Users) {
    let alice = users.create(store, "alice", T0).await;
    let bob = users.create(store, "bob", T0).await;
    let carol = users.create(store, "carol", T0).await;
    let (first, second, ended_before, bobs) = (
        session_id(21),
        session_id(22),
        session_id(23),
        session_id(24),
    );
    start(
        store,
        &login(&first, alice.id, T0, T0 + DAY),
        &token("a-1", Some(alice.id), T0, T0 + DAY),
    )
    .await;
    start(
        store,
        &login(&second, alice.id, T0 + 1, T0 + 1 + DAY),
        &token("a-2", Some(alice.id), T0 + 1, T0 + 1 + DAY),
    )
    .await;
    store
        .touch_session(&step(&second, T0 + 20, T0 + 1 + DAY))
        .await
        .unwrap();
    start(
        store,
        &login(&ended_before, alice.id, T0 + 2, T0 + 2 + DAY),
        &token("a-3", Some(alice.id), T0 + 2, T0 + 2 + DAY),
    )
    .await;
    assert!(
        store
            .end_session(&ended_before, Some(alice.id), T0 + 30)
            .await
            .unwrap()
    );
    // A sliding token (no session), and a refresh token of no session.
    store
        .record_issued(&token("a-sliding", Some(alice.id), T0 + 3, T0 + 3 + DAY))
        .await
        .unwrap();
    store
        .record_issued(&token("a-legacy", Some(alice.id), T0 - 10, T0 + DAY))
        .await
        .unwrap();
    let bobs_login = login(&bobs, bob.id, T0 + 4, T0 + 4 + DAY);
    start(
        store,
        &bobs_login,
        &token("b-1", Some(bob.id), T0 + 4, T0 + 4 + DAY),
    )
    .await;
    store
        .record_issued(&token("b-sliding", Some(bob.id), T0 + 5, T0 + 5 + DAY))
        .await
        .unwrap();

    assert_eq!(
        store.end_all_sessions(alice.id, T0 + 100).await.unwrap(),
        2,
        "two live sessions ended (the third was ended before)"
    );
    let after = reread(store, &alice).await;
    assert_eq!(after.tokens_valid_after, T0 + 100);
    // The latest exp among the access tokens of the sessions it ended.
    assert!(after.access_denied_until > T0 + 100, "{after:?}");
    assert_eq!(
        User {
            tokens_valid_after: alice.tokens_valid_after,
            access_denied_until: alice.access_denied_until,
            ..after
        },
        alice,
        "only tokens_valid_after and access_denied_until change"
    );
    assert_eq!(
        store.sessions(alice.id, T0 + 100).await.unwrap(),
        Vec::new()
    );
    assert_eq!(session_of(store, "a-1").await.ended_at, Some(T0 + 100));
    assert_eq!(session_of(store, "a-2").await.ended_at, Some(T0 + 100));
    assert_eq!(
        session_of(store, "a-3").await.ended_at,
        Some(T0 + 30),
        "a session ended before keeps its end"
    );
    for jti in ["a-1", "a-2", "a-sliding", "a-legacy"] {
        assert_eq!(
            blacklisted_at(store, jti).await,
            Some(T0 + 100),
            "{jti} must be blacklisted by the logout-all"
        );
    }
    assert_eq!(blacklisted_at(store, "a-3").await, Some(T0 + 30));
    let handed_out = [
        access_jti(&first, T0),
        access_jti(&second, T0 + 1),
        access_jti(&second, T0 + 20),
        access_jti(&ended_before, T0 + 2),
    ];
    assert_eq!(
        denied(store, &handed_out).await,
        [true; 4],
        "every access token of alice's sessions is deny-listed"
    );

    // Bob is untouched.
    assert_eq!(reread(store, &bob).await, bob);
    assert_eq!(
        store.sessions(bob.id, T0 + 100).await.unwrap(),
        vec![bobs_login.session.clone()]
    );
    for jti in ["b-1", "b-sliding"] {
        assert!(!store.is_blacklisted(jti).await.unwrap(), "{jti}");
    }
    assert!(
        !store
            .is_access_denied(&access_jti(&bobs, T0 + 4))
            .await
            .unwrap()
    );

    // A user with no sessions: nothing ended, the time still set.
    assert_eq!(store.end_all_sessions(carol.id, T0 + 100).await.unwrap(), 0);
    assert_eq!(reread(store, &carol).await.tokens_valid_after, T0 + 100);

    // Again later: moves on; earlier: never goes back.
    assert_eq!(store.end_all_sessions(alice.id, T0 + 200).await.unwrap(), 0);
    assert_eq!(reread(store, &alice).await.tokens_valid_after, T0 + 200);
    assert_eq!(store.end_all_sessions(alice.id, T0 + 150).await.unwrap(), 0);
    assert_eq!(
        reread(store, &alice).await.tokens_valid_after,
        T0 + 200,
        "end_all_sessions must never lower tokens_valid_after"
    );

    let unknown = alice.id + bob.id + carol.id + 1000;
    assert!(
        matches!(
            store.end_all_sessions(unknown, T0 + 100).await,
            Err(StoreError::NotFound)
        ),
        "an unknown user is NotFound"
    );

    // A new login afterwards is a live session.
    let again = login(&session_id(25), alice.id, T0 + 300, T0 + 300 + DAY);
    start(
        store,
        &again,
        &token("a-again", Some(alice.id), T0 + 300, T0 + 300 + DAY),
    )
    .await;
    assert_eq!(
        store.sessions(alice.id, T0 + 300).await.unwrap(),
        vec![again.session.clone()]
    );
    assert!(!store.is_blacklisted("a-again").await.unwrap());
}

/// What one task of [`logout_all_racing_the_sessions`] does.
enum Race {
    Rotate(jwtd_store::RotationRequest),
    Touch(SessionStep),
    End(String),
    EndAll,
}

/// What it answered.
enum Answer {
    /// With the access token the rotation handed out.
    Rotated(Rotation, String),
    /// With the access token it kept, when the session was still live.
    Touched(Option<String>),
    Ended(bool),
    EndedAll(u64),
}

/// A logout-all of alice (twice, at the same time) races rotations, refreshes and logouts in
/// every one of her sessions and rotations in bob's, spread over `stores`, five rounds. Nothing
/// fails (no deadlock between them), each of her sessions is ended exactly once whichever call
/// ended it, and afterwards nothing of hers is live: no session, no unexpired token off the
/// blacklist (a rotation that won before the logout-all had its successor blacklisted by it; one
/// after it lost), the access tokens of her logins and winning rotations deny-listed. Bob's are
/// untouched.
pub async fn logout_all_racing_the_sessions(stores: &[Arc<dyn Store>], users: &Users) {
    const SESSIONS: u32 = 8;
    const ROUNDS: i64 = 5;
    let store0 = stores[0].as_ref();
    for round in 0..ROUNDS {
        let alice = users.create(store0, &format!("alice-{round}"), T0).await;
        let bob = users.create(store0, &format!("bob-{round}"), T0).await;
        let base = T0 + round * 10_000;
        let at = base + 100;
        let mut work = Vec::new();
        let mut bobs = Vec::new();
        for n in 0..SESSIONS + 2 {
            let user = if n < SESSIONS { &alice } else { &bob };
            let id = session_id(1000 * round as u32 + n);
            let jti = |k: u32| format!("r{round}-s{n}-{k}");
            let first = token(&jti(0), Some(user.id), base, base + DAY);
            start(store0, &login(&id, user.id, base, base + DAY), &first).await;
            let then = base + 10 + i64::from(n);
            let mut request = rotation(
                &first,
                &token(&jti(1), Some(user.id), then, then + DAY),
                true,
                then,
            );
            request.session = Some(step(&id, then, then + DAY));
            work.push(Race::Rotate(request));
            if n >= SESSIONS {
                bobs.push((id, jti(1)));
                continue;
            }
            match n % 3 {
                0 => work.push(Race::End(id.clone())),
                1 => work.push(Race::Touch(step(&id, then + 1, base + DAY))),
                _ => {}
            }
        }
        work.insert(work.len() / 2, Race::EndAll);
        work.push(Race::EndAll);

        let barrier = Arc::new(tokio::sync::Barrier::new(work.len()));
        let tasks: Vec<_> = work
            .into_iter()
            .enumerate()
            .map(|(i, race)| {
                let store = Arc::clone(&stores[i % stores.len()]);
                let barrier = Arc::clone(&barrier);
                let alice = alice.id;
                tokio::spawn(async move {
                    barrier.wait().await;
                    match race {
                        Race::Rotate(request) => {
                            let access = request.session.as_ref().map(|s| s.access.jti.clone());
                            let outcome = store.rotate(request).await;
                            outcome
                                .map(|outcome| Answer::Rotated(outcome, access.unwrap_or_default()))
                        }
                        Race::Touch(step) => {
                            let access = step.access.jti.clone();
                            store
                                .touch_session(&step)
                                .await
                                .map(|live| Answer::Touched(live.then_some(access)))
                        }
                        Race::End(id) => store
                            .end_session(&id, Some(alice), at)
                            .await
                            .map(Answer::Ended),
                        Race::EndAll => store
                            .end_all_sessions(alice, at)
                            .await
                            .map(Answer::EndedAll),
                    }
                })
            })
            .collect();
        let mut ended = 0;
        // Alice's login access tokens, and those of her rotations that won: each was kept with
        // its session before the session ended (a rotation after the end loses).
        let mut handed_out: Vec<_> = (0..SESSIONS)
            .map(|n| access_jti(&session_id(1000 * round as u32 + n), base))
            .collect();
        let mut rotated = 0;
        for task in tasks {
            match task.await.expect("racing task panicked") {
                Ok(Answer::Ended(true)) => ended += 1,
                Ok(Answer::EndedAll(count)) => ended += count,
                Ok(Answer::Rotated(BLACKLISTED_AND_ROTATED, access)) => {
                    rotated += 1;
                    handed_out.push(access);
                }
                Ok(Answer::Rotated(Rotation::AlreadyBlacklisted, _)) => {}
                Ok(Answer::Rotated(other, _)) => {
                    panic!("round {round}: a blacklisting rotation answered {other:?}")
                }
                // A refresh that touched a live session handed out an access token, which the
                // logout-all must catch; one that found it ended is refused and hands out none.
                Ok(Answer::Touched(Some(access))) => handed_out.push(access),
                Ok(Answer::Ended(false) | Answer::Touched(None)) => {}
                Err(e) => panic!("round {round}: a call failed while racing a logout-all: {e}"),
            }
        }
        assert_eq!(
            ended,
            u64::from(SESSIONS),
            "round {round}: each of alice's sessions is ended exactly once"
        );
        assert!(rotated >= 2, "round {round}: bob's two rotations win");

        for store in stores {
            let store = store.as_ref();
            assert_eq!(store.sessions(alice.id, at).await.unwrap(), Vec::new());
            assert_eq!(reread(store, &alice).await.tokens_valid_after, at);
            let snapshot = store.export().await.unwrap();
            for issued in snapshot
                .issued
                .iter()
                .filter(|t| t.user_id == Some(alice.id))
            {
                assert!(
                    store.is_blacklisted(&issued.jti).await.unwrap(),
                    "round {round}: alice's {} is live after her logout-all",
                    issued.jti
                );
                let session = session_of(store, &issued.jti).await;
                assert!(session.ended_at.is_some(), "round {round}: {}", issued.jti);
            }
            for jti in handed_out.iter().filter(|jti| !jti.is_empty()) {
                if bobs
                    .iter()
                    .any(|(id, _)| jti.starts_with(&format!("access-{id}-")))
                {
                    assert!(
                        !store.is_access_denied(jti).await.unwrap(),
                        "round {round}: {jti}"
                    );
                } else {
                    assert!(
                        store.is_access_denied(jti).await.unwrap(),
                        "round {round}: alice's access token {jti} is not deny-listed"
                    );
                }
            }
            let live: Vec<_> = store
                .sessions(bob.id, at)
                .await
                .unwrap()
                .into_iter()
                .map(|session| session.id)
                .collect();
            assert_eq!(live.len(), 2, "round {round}: bob's sessions are untouched");
            for (id, successor) in &bobs {
                assert!(live.contains(id));
                assert!(!store.is_blacklisted(successor).await.unwrap());
                assert_eq!(&session_of(store, successor).await.id, id);
            }
        }
    }
}

/// `change_password` replaces the hash and logs the user out everywhere in one call; an
/// unknown user is `NotFound`, and changes nothing.
pub async fn change_password_revokes_everything(store: &dyn Store, users: &Users) {
    let alice = users.create(store, "alice", T0).await;
    let bob = users.create(store, "bob", T0).await;
    let (first, second, bobs) = (session_id(31), session_id(32), session_id(33));
    start(
        store,
        &login(&first, alice.id, T0, T0 + DAY),
        &token("a-1", Some(alice.id), T0, T0 + DAY),
    )
    .await;
    start(
        store,
        &login(&second, alice.id, T0 + 1, T0 + 1 + DAY),
        &token("a-2", Some(alice.id), T0 + 1, T0 + 1 + DAY),
    )
    .await;
    store
        .record_issued(&token("a-sliding", Some(alice.id), T0 + 2, T0 + 2 + DAY))
        .await
        .unwrap();
    let bobs_login = login(&bobs, bob.id, T0 + 3, T0 + 3 + DAY);
    start(
        store,
        &bobs_login,
        &token("b-1", Some(bob.id), T0 + 3, T0 + 3 + DAY),
    )
    .await;

    assert_eq!(
        store
            .change_password(alice.id, "$argon2id$changed", T0 + 100)
            .await
            .unwrap(),
        2
    );
    let after = reread(store, &alice).await;
    assert_eq!(after.password_hash, "$argon2id$changed");
    assert_eq!(after.tokens_valid_after, T0 + 100);
    assert_eq!(
        User {
            password_hash: alice.password_hash.clone(),
            tokens_valid_after: alice.tokens_valid_after,
            access_denied_until: alice.access_denied_until,
            ..after.clone()
        },
        alice,
        "only the hash, tokens_valid_after and access_denied_until change"
    );
    assert_eq!(
        store.sessions(alice.id, T0 + 100).await.unwrap(),
        Vec::new()
    );
    for jti in ["a-1", "a-2", "a-sliding"] {
        assert_eq!(blacklisted_at(store, jti).await, Some(T0 + 100), "{jti}");
    }
    for jti in [access_jti(&first, T0), access_jti(&second, T0 + 1)] {
        assert!(store.is_access_denied(&jti).await.unwrap(), "{jti}");
    }
    // A hash upgrade that read the old hash no longer applies.
    assert!(
        !store
            .upgrade_password(alice.id, &alice.password_hash, "$argon2id$upgraded")
            .await
            .unwrap()
    );

    // Bob is untouched.
    assert_eq!(reread(store, &bob).await, bob);
    assert_eq!(
        store.sessions(bob.id, T0 + 100).await.unwrap(),
        vec![bobs_login.session.clone()]
    );
    assert!(!store.is_blacklisted("b-1").await.unwrap());

    let unknown = alice.id + bob.id + 1000;
    assert!(
        matches!(
            store
                .change_password(unknown, "$argon2id$nobody", T0 + 200)
                .await,
            Err(StoreError::NotFound)
        ),
        "an unknown user is NotFound"
    );
    assert_eq!(reread(store, &bob).await, bob);
    assert_eq!(reread(store, &alice).await, after);
    assert_eq!(store.list_users().await.unwrap().len(), 2);
}

/// `deny_access` deny-lists one access token (idempotently), `is_access_denied` answers for
/// exactly that `jti`, and neither touches sessions or refresh tokens.
pub async fn deny_access_and_is_access_denied(store: &dyn Store, users: &Users) {
    let alice = users.create(store, "alice", T0).await;
    let id = session_id(41);
    let new = login(&id, alice.id, T0, T0 + DAY);
    start(store, &new, &token("refresh", Some(alice.id), T0, T0 + DAY)).await;

    assert!(!store.is_access_denied("access-1").await.unwrap());
    assert_eq!(reread(store, &alice).await.access_denied_until, 0);
    store
        .deny_access(&access("access-1", T0 + ACCESS), alice.id)
        .await
        .unwrap();
    assert!(store.is_access_denied("access-1").await.unwrap());
    // The user's row says a deny-listed token may exist up to its exp.
    assert_eq!(reread(store, &alice).await.access_denied_until, T0 + ACCESS);
    assert!(!store.is_access_denied("access-2").await.unwrap());
    assert!(!store.is_access_denied("ACCESS-1").await.unwrap());
    // Twice is harmless, whatever the second exp.
    store
        .deny_access(&access("access-1", T0 + 2 * ACCESS), alice.id)
        .await
        .unwrap();
    assert!(store.is_access_denied("access-1").await.unwrap());
    assert_eq!(
        reread(store, &alice).await.access_denied_until,
        T0 + 2 * ACCESS,
        "never lowered, raised to the latest exp"
    );

    // Revoking the session's own access token does not end the session.
    store.deny_access(&new.access, alice.id).await.unwrap();
    assert!(store.is_access_denied(&new.access.jti).await.unwrap());
    assert_eq!(
        store.sessions(alice.id, T0 + 1).await.unwrap(),
        vec![new.session.clone()]
    );
    assert!(!store.is_blacklisted("refresh").await.unwrap());
    // Not a refresh token's blacklist, nor the other way round.
    assert!(!store.is_blacklisted("access-1").await.unwrap());
    assert!(!store.is_access_denied("refresh").await.unwrap());
}

/// `flush_expired(now)` also removes sessions and deny-list rows expired at `now`, counts them
/// in `Flushed::sessions`, and keeps the live ones whole. (Each session's access token expires
/// with it here, so it goes with its session; see
/// [`flush_expired_forgets_expired_access_tokens_of_live_sessions`] for one that expires first.)
pub async fn flush_expired_removes_expired_sessions_and_denials(store: &dyn Store, users: &Users) {
    let alice = users.create(store, "alice", T0).await;
    let (short, long) = (session_id(51), session_id(52));
    let long_login = login(&long, alice.id, T0, T0 + 300);
    let short_login = NewSession {
        access: access(&access_jti(&short, T0), T0 + 100),
        ..login(&short, alice.id, T0, T0 + 100)
    };
    start(
        store,
        &short_login,
        &token("short-refresh", Some(alice.id), T0, T0 + 100),
    )
    .await;
    start(
        store,
        &long_login,
        &token("long-refresh", Some(alice.id), T0, T0 + 300),
    )
    .await;
    store
        .deny_access(&access("denied-100", T0 + 100), alice.id)
        .await
        .unwrap();
    store
        .deny_access(&access("denied-200", T0 + 200), alice.id)
        .await
        .unwrap();

    assert_eq!(store.flush_expired(T0).await.unwrap(), flushed(0, 0, 0));
    assert_eq!(
        store.flush_expired(T0 + 99).await.unwrap(),
        flushed(0, 0, 0)
    );

    // At T0 + 100: the short session and its token, and one deny-list row.
    assert_eq!(
        store.flush_expired(T0 + 100).await.unwrap(),
        flushed(1, 0, 2)
    );
    assert!(!store.is_access_denied("denied-100").await.unwrap());
    assert!(store.is_access_denied("denied-200").await.unwrap());
    assert_eq!(
        store
            .session_of_access(&short_login.access.jti, alice.id)
            .await
            .unwrap(),
        None
    );
    assert_eq!(
        store
            .session_of_access(&long_login.access.jti, alice.id)
            .await
            .unwrap(),
        Some(long.clone())
    );
    assert_eq!(
        store.sessions(alice.id, T0).await.unwrap(),
        vec![long_login.session.clone()],
        "the flushed session is gone, even from a listing as of before its expiry"
    );
    assert_eq!(
        store.token_state("short-refresh").await.unwrap(),
        TokenState::default()
    );
    assert_eq!(
        store.token_state("long-refresh").await.unwrap(),
        TokenState {
            blacklisted: false,
            rotated_at: None,
            session: Some(long_login.session.clone()),
        }
    );
    assert_eq!(
        store.flush_expired(T0 + 100).await.unwrap(),
        flushed(0, 0, 0)
    );

    assert_eq!(
        store.flush_expired(T0 + 200).await.unwrap(),
        flushed(0, 0, 1)
    );
    assert!(!store.is_access_denied("denied-200").await.unwrap());
    // The long session ended: its access token (exp T0 + 300) is deny-listed until then.
    assert!(store.end_session(&long, None, T0 + 250).await.unwrap());
    assert!(
        store
            .is_access_denied(&long_login.access.jti)
            .await
            .unwrap()
    );
    assert_eq!(
        store.flush_expired(T0 + 299).await.unwrap(),
        flushed(0, 0, 0)
    );
    // At T0 + 300: the long session, its token with its blacklist row, and the deny-list row.
    assert_eq!(
        store.flush_expired(T0 + 300).await.unwrap(),
        flushed(1, 1, 2)
    );
    assert!(
        !store
            .is_access_denied(&long_login.access.jti)
            .await
            .unwrap()
    );
    assert_eq!(
        store.flush_expired(i64::MAX).await.unwrap(),
        flushed(0, 0, 0)
    );
    assert_eq!(
        store
            .session_of_access(&long_login.access.jti, alice.id)
            .await
            .unwrap(),
        None
    );
    // Users are never flushed (their `access_denied_until` stays: it only says where to look).
    let users: Vec<User> = store
        .list_users()
        .await
        .unwrap()
        .into_iter()
        .map(|user| User {
            access_denied_until: 0,
            ..user
        })
        .collect();
    assert_eq!(users, vec![alice]);
}

/// An access token kept with a live session is forgotten once it expires: after the flush at
/// its `exp`, `session_of_access` no longer finds it, while the session and the access tokens
/// that are still valid stay. It is neither a session nor a deny-list row, so
/// `Flushed::sessions` does not count it (as `Flushed` documents it).
pub async fn flush_expired_forgets_expired_access_tokens_of_live_sessions(
    store: &dyn Store,
    users: &Users,
) {
    let alice = users.create(store, "alice", T0).await;
    let id = session_id(53);
    let new = login(&id, alice.id, T0, T0 + DAY);
    start(store, &new, &token("refresh", Some(alice.id), T0, T0 + DAY)).await;
    let touch = step(&id, T0 + 200, T0 + DAY);
    store.touch_session(&touch).await.unwrap();
    assert_eq!(
        store
            .session_of_access(&new.access.jti, alice.id)
            .await
            .unwrap(),
        Some(id.clone())
    );

    // At T0 + ACCESS the login's access token has expired; the touch's has not.
    let flushed_at_exp = store.flush_expired(T0 + ACCESS).await.unwrap();
    assert_eq!(
        store
            .session_of_access(&new.access.jti, alice.id)
            .await
            .unwrap(),
        None,
        "an expired access token is forgotten by the flush"
    );
    assert_eq!(
        store
            .session_of_access(&touch.access.jti, alice.id)
            .await
            .unwrap(),
        Some(id.clone())
    );
    assert_eq!(
        store.sessions(alice.id, T0 + ACCESS).await.unwrap(),
        vec![Session {
            last_used_at: T0 + 200,
            ..new.session.clone()
        }]
    );
    assert!(store.end_session(&id, None, T0 + ACCESS + 1).await.unwrap());
    assert!(store.is_access_denied(&touch.access.jti).await.unwrap());
    assert_eq!(
        flushed_at_exp,
        flushed(0, 0, 0),
        "Flushed::sessions counts sessions and deny-list rows, and no session or deny-list row \
         had expired"
    );
}

/// A store that does not share throttles (SQLite) answers `None`, always.
pub async fn count_attempt_is_not_shared(store: &dyn Store) {
    for window in [T0, T0, T0 + 60] {
        assert_eq!(
            store.count_attempt("login:alice", window).await.unwrap(),
            None
        );
    }
}

/// A store that shares throttles counts each key's attempts in its window: 1, 2, … within a
/// window, from 1 again in a new one, each key on its own.
pub async fn count_attempt_counts_per_window(store: &dyn Store) {
    assert_eq!(
        store.count_attempt("login:alice", T0).await.unwrap(),
        Some(1)
    );
    assert_eq!(
        store.count_attempt("login:alice", T0).await.unwrap(),
        Some(2)
    );
    assert_eq!(
        store.count_attempt("ip:192.0.2.1", T0).await.unwrap(),
        Some(1),
        "another key counts on its own"
    );
    assert_eq!(
        store.count_attempt("login:alice", T0).await.unwrap(),
        Some(3)
    );
    assert_eq!(
        store.count_attempt("login:alice", T0 + 60).await.unwrap(),
        Some(1),
        "a new window starts from 1"
    );
    assert_eq!(
        store.count_attempt("login:alice", T0 + 60).await.unwrap(),
        Some(2)
    );
    assert_eq!(
        store.count_attempt("ip:192.0.2.1", T0 + 60).await.unwrap(),
        Some(1)
    );
}

/// 32 tasks count one key in one window at once, spread over `stores` (several instances):
/// every count is seen exactly once, 1 to 32, and the next is 33.
pub async fn concurrent_count_attempts(stores: &[Arc<dyn Store>]) {
    const TASKS: u64 = 32;
    let barrier = Arc::new(tokio::sync::Barrier::new(TASKS as usize));
    let tasks: Vec<_> = (0..TASKS as usize)
        .map(|i| {
            let store = Arc::clone(&stores[i % stores.len()]);
            let barrier = Arc::clone(&barrier);
            tokio::spawn(async move {
                barrier.wait().await;
                store.count_attempt("login:alice", T0).await
            })
        })
        .collect();
    let mut counts = Vec::new();
    for task in tasks {
        match task.await.expect("count task panicked") {
            Ok(Some(count)) => counts.push(count),
            Ok(None) => panic!("a sharing store answered None"),
            Err(e) => panic!("count_attempt failed: {e}"),
        }
    }
    counts.sort_unstable();
    assert_eq!(
        counts,
        (1..=TASKS).collect::<Vec<_>>(),
        "concurrent counts must each be counted once"
    );
    // Every instance counts on the same row.
    for (n, store) in (1..).zip(stores) {
        assert_eq!(store.count_attempt("login:bob", T0).await.unwrap(), Some(n));
    }
    assert_eq!(
        stores[0].count_attempt("login:alice", T0).await.unwrap(),
        Some(TASKS + 1)
    );
}

/// On Django's schema, which has no place for sessions, the trait's defaults hold: starting a
/// session only records the token, a rotation in a session only rotates, there are no sessions
/// to list or end, no deny-list, and no password change (Django's users are Django's).
pub async fn django_sessions_are_not_kept(store: &dyn Store, users: &Users) {
    let alice = users.create(store, "alice", T0).await;
    assert_eq!(alice.tokens_valid_after, 0);
    let id = session_id(61);
    let first = token("first", Some(alice.id), T0, T0 + DAY);
    start(store, &login(&id, alice.id, T0, T0 + DAY), &first).await;
    assert!(
        users.django().outstanding_row("first").await.is_some(),
        "start_session records the token in Django's outstanding tokens"
    );
    assert_eq!(
        store.token_state("first").await.unwrap(),
        TokenState::default()
    );
    assert_eq!(store.sessions(alice.id, T0).await.unwrap(), Vec::new());
    store
        .touch_session(&step(&id, T0 + 5, T0 + DAY))
        .await
        .unwrap();

    let second = token("second", Some(alice.id), T0 + 10, T0 + 10 + DAY);
    let mut request = rotation(&first, &second, true, T0 + 10);
    request.session = Some(step(&id, T0 + 10, T0 + 10 + DAY));
    assert_eq!(
        store.rotate(request).await.unwrap(),
        BLACKLISTED_AND_ROTATED
    );
    assert_eq!(
        store.token_state("first").await.unwrap(),
        TokenState {
            blacklisted: true,
            ..TokenState::default()
        }
    );
    assert!(users.django().outstanding_row("second").await.is_some());

    assert!(
        !store
            .end_session(&id, Some(alice.id), T0 + 20)
            .await
            .unwrap()
    );
    assert!(!store.end_session(&id, None, T0 + 20).await.unwrap());
    assert!(!store.is_blacklisted("second").await.unwrap());
    assert!(
        !store
            .is_access_denied(&access_jti(&id, T0 + 10))
            .await
            .unwrap()
    );
    assert_eq!(
        store
            .session_of_access(&access_jti(&id, T0), alice.id)
            .await
            .unwrap(),
        None
    );

    assert!(matches!(
        store
            .change_password(alice.id, "$argon2id$changed", T0 + 30)
            .await,
        Err(StoreError::Refused(_))
    ));
    assert!(matches!(
        store
            .deny_access(&access("access", T0 + ACCESS), alice.id)
            .await,
        Err(StoreError::Refused(_))
    ));
    assert_eq!(
        reread(store, &alice).await,
        alice,
        "nothing of the user changed"
    );
    assert!(!store.is_blacklisted("second").await.unwrap());
}

/// On Django's schema a logout-all is all a store without sessions can do: it blacklists every
/// unexpired outstanding token of the user, in simplejwt's tables, and nothing of anyone else.
/// Django's users have no `tokens_valid_after`, which stays 0. (What it answers is not checked:
/// there are no sessions to count.)
pub async fn django_logout_all_blacklists_the_users_tokens(store: &dyn Store, users: &Users) {
    let alice = users.create(store, "alice", T0).await;
    let bob = users.create(store, "bob", T0).await;
    let first = token("first", Some(alice.id), T0, T0 + DAY);
    start(
        store,
        &login(&session_id(62), alice.id, T0, T0 + DAY),
        &first,
    )
    .await;
    store
        .record_issued(&token("sliding", Some(alice.id), T0 + 1, T0 + 1 + DAY))
        .await
        .unwrap();
    store
        .blacklist(&token("spent", Some(alice.id), T0, T0 + DAY), T0 + 2)
        .await
        .unwrap();
    store
        .record_issued(&token("bobs", Some(bob.id), T0, T0 + DAY))
        .await
        .unwrap();

    store
        .end_all_sessions(alice.id, T0 + 30)
        .await
        .expect("a logout-all on Django's schema blacklists the user's tokens");
    for jti in ["first", "sliding", "spent"] {
        assert!(store.is_blacklisted(jti).await.unwrap(), "{jti}");
        assert!(
            users.django().is_blacklisted(jti).await,
            "{jti} in Django's table"
        );
    }
    assert!(!store.is_blacklisted("bobs").await.unwrap());
    assert_eq!(reread(store, &alice).await, alice, "no user column changes");
    assert_eq!(reread(store, &bob).await, bob);
    // Again: nothing left to blacklist, and no error.
    store.end_all_sessions(alice.id, T0 + 40).await.unwrap();
    assert!(!store.is_blacklisted("bobs").await.unwrap());
}

/// A rotation that read its session before the session ended writes nothing once it has
/// ([`Rotation::SessionEnded`]), with or without blacklisting (a retry within the reuse
/// interval does not blacklist): no successor and no access token joins an ended session, where
/// nothing would revoke them.
pub async fn rotation_into_an_ended_session_writes_nothing(store: &dyn Store, users: &Users) {
    let alice = users.create(store, "alice", T0).await;
    let id = session_id(77);
    start(
        store,
        &login(&id, alice.id, T0, T0 + DAY),
        &token("ended-0", Some(alice.id), T0, T0 + DAY),
    )
    .await;
    assert!(store.end_session(&id, None, T0 + 5).await.unwrap());
    for (blacklist_old, successor) in [(true, "late-1"), (false, "late-2")] {
        let mut request = rotation(
            &token("ended-0", Some(alice.id), T0, T0 + DAY),
            &token(successor, Some(alice.id), T0 + 10, T0 + 10 + DAY),
            blacklist_old,
            T0 + 10,
        );
        request.session = Some(step(&id, T0 + 10, T0 + 10 + DAY));
        let outcome = store.rotate(request).await.unwrap();
        // With blacklisting the parent was blacklisted by the end already.
        assert!(
            matches!(
                outcome,
                Rotation::SessionEnded | Rotation::AlreadyBlacklisted
            ),
            "blacklist_old = {blacklist_old}: {outcome:?}"
        );
        assert_eq!(
            store.token_state(successor).await.unwrap(),
            TokenState::default(),
            "no successor was recorded"
        );
        let late_access = access_jti(&id, T0 + 10);
        assert_eq!(
            store
                .session_of_access(&late_access, alice.id)
                .await
                .unwrap(),
            None
        );
    }
}

/// A login whose password was changed while it ran starts no session: `Conflict`, and nothing
/// is written.
pub async fn a_session_starts_only_with_the_password_it_verified(store: &dyn Store, users: &Users) {
    let alice = users.create(store, "alice", T0).await;
    let verified = alice.password_hash.clone();
    store
        .change_password(alice.id, "$argon2id$changed-meanwhile", T0 + 1)
        .await
        .unwrap();
    let stale = NewSession {
        password_hash: Some(verified),
        ..login(&session_id(78), alice.id, T0 + 2, T0 + 2 + DAY)
    };
    assert!(matches!(
        store
            .start_session(
                &stale,
                &token("stale", Some(alice.id), T0 + 2, T0 + 2 + DAY)
            )
            .await,
        Err(StoreError::Conflict(_))
    ));
    assert_eq!(store.sessions(alice.id, T0 + 3).await.unwrap(), Vec::new());
    assert_eq!(
        store.token_state("stale").await.unwrap(),
        TokenState::default()
    );
    let current = NewSession {
        password_hash: Some("$argon2id$changed-meanwhile".to_owned()),
        ..login(&session_id(79), alice.id, T0 + 2, T0 + 2 + DAY)
    };
    start(
        store,
        &current,
        &token("fresh", Some(alice.id), T0 + 2, T0 + 2 + DAY),
    )
    .await;
    assert_eq!(store.sessions(alice.id, T0 + 3).await.unwrap().len(), 1);
}
