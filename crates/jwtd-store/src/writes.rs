//! Blacklisting and refresh-token rotation, decided once for every store.
//!
//! Both are sequences of two primitive statements, [`TokenStatements`], which each store runs in
//! its own SQL dialect inside a transaction it opens. What the sequence is, when it stops, and
//! whether the store keeps what it wrote are decided here, so the stores only execute statements.

use std::future::Future;

use crate::{Blacklisting, SessionStep, TokenRecord};

/// A refresh-token rotation, as [`Store::rotate`](crate::Store::rotate) is asked to make it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RotationRequest {
    /// The refresh token presented, which the rotation spends (recorded first if it was minted
    /// elsewhere).
    pub old: TokenRecord,
    /// Its successor, to record.
    pub new: TokenRecord,
    /// Whether to blacklist `old` (`blacklist_after_rotation`). Only a rotation that blacklists
    /// can lose to another one.
    pub blacklist_old: bool,
    /// The time of `old`'s blacklist row.
    pub at: i64,
    /// The session `old` belongs to, which `new` joins: the store marks `old` rotated and moves
    /// the session on. `None` for a token of no session (issued before sessions were kept,
    /// or minted elsewhere).
    pub session: Option<SessionStep>,
}

/// What a rotation did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Rotation {
    /// The successor is recorded.
    Rotated {
        /// Whether this call put the old token on the blacklist: exactly when the request's
        /// `blacklist_old` asked for it. Without it the old token's state is left as it was.
        old_blacklisted: bool,
    },
    /// The old token was on the blacklist already: another request rotated it first, or it was
    /// replayed. Nothing is written, not even the successor. Only a request with
    /// `blacklist_old` gets this; of concurrent such rotations of one token, all but one do.
    AlreadyBlacklisted,
    /// The session ended (a logout, a reuse elsewhere) after the refresh read it: nothing is
    /// written, so no successor or access token joins an ended session unrevoked.
    SessionEnded,
}

impl Rotation {
    /// Whether the store keeps (commits) what the rotation's statements wrote: always, except
    /// for [`Rotation::AlreadyBlacklisted`], whose writes the store rolls back, so the loser of
    /// a race writes nothing.
    pub fn keeps_writes(self) -> bool {
        matches!(self, Rotation::Rotated { .. })
    }
}

/// The two statements that blacklisting and rotation are made of, in a store's dialect and on
/// the transaction the store runs them in.
pub trait TokenStatements {
    /// The driver's error, which the store maps onto [`StoreError`](crate::StoreError).
    type Error;

    /// Records `token` unless its `jti` is known; a known row is left as it is. The owner is
    /// kept only if that user exists (else it is cleared), so a token naming a deleted user can
    /// still be recorded and blacklisted.
    fn record_issued(&self, token: &TokenRecord) -> impl Future<Output = Result<(), Self::Error>>;

    /// Puts `jti` on the blacklist at `at` unless it is there; `Added` only when this statement
    /// wrote the row. Of concurrent calls for one `jti`, in any process, exactly one gets
    /// `Added`: that is what arbitrates rotation races.
    fn insert_blacklisted(
        &self,
        jti: &str,
        at: i64,
    ) -> impl Future<Output = Result<Blacklisting, Self::Error>>;

    /// Moves a session on after a rotation: marks `old` rotated at `step.at` (unless it was
    /// already: a retry within the reuse interval does not extend it), puts `new` in the
    /// session, stamps the session's last use and newest expiry, and keeps the access token.
    /// `false`, writing nothing, when the session has ended (checked under the write's lock).
    /// Stores that keep no sessions (Django's schema) do nothing and answer `true`.
    fn advance_session(
        &self,
        old: &str,
        new: &str,
        step: &SessionStep,
    ) -> impl Future<Output = Result<bool, Self::Error>> {
        let _ = (old, new, step);
        std::future::ready(Ok(true))
    }
}

/// Blacklists `token`: records it (it may have been minted elsewhere, as simplejwt's
/// `get_or_create` does), then puts it on the blacklist. The store keeps both writes whatever
/// the outcome: an already blacklisted token stays so.
pub async fn blacklist<S: TokenStatements>(
    statements: &S,
    token: &TokenRecord,
    at: i64,
) -> Result<Blacklisting, S::Error> {
    statements.record_issued(token).await?;
    statements.insert_blacklisted(&token.jti, at).await
}

impl RotationRequest {
    /// Runs the rotation's statements: with `blacklist_old`, [`blacklist`]s `old` and stops with
    /// [`Rotation::AlreadyBlacklisted`] when it was blacklisted already; then records `new`.
    /// The store then commits when [`Rotation::keeps_writes`] and rolls back otherwise.
    pub async fn run<S: TokenStatements>(&self, statements: &S) -> Result<Rotation, S::Error> {
        if self.blacklist_old
            && blacklist(statements, &self.old, self.at).await? == Blacklisting::AlreadyBlacklisted
        {
            return Ok(Rotation::AlreadyBlacklisted);
        }
        statements.record_issued(&self.new).await?;
        if let Some(step) = &self.session
            && !statements
                .advance_session(&self.old.jti, &self.new.jti, step)
                .await?
        {
            return Ok(Rotation::SessionEnded);
        }
        Ok(Rotation::Rotated {
            old_blacklisted: self.blacklist_old,
        })
    }
}

#[cfg(test)]
mod tests {
    use std::cell::RefCell;
    use std::collections::BTreeSet;
    use std::pin::pin;
    use std::task::{Context, Poll, Waker};

    use super::*;

    /// Statements on two in-memory sets, with a log of what ran.
    #[derive(Default)]
    struct Memory {
        issued: RefCell<BTreeSet<String>>,
        blacklisted: RefCell<BTreeSet<String>>,
        log: RefCell<Vec<String>>,
    }

    impl TokenStatements for Memory {
        type Error = ();

        async fn record_issued(&self, token: &TokenRecord) -> Result<(), ()> {
            self.log.borrow_mut().push(format!("record {}", token.jti));
            self.issued.borrow_mut().insert(token.jti.clone());
            Ok(())
        }

        async fn insert_blacklisted(&self, jti: &str, _at: i64) -> Result<Blacklisting, ()> {
            self.log.borrow_mut().push(format!("blacklist {jti}"));
            Ok(Blacklisting::from_rows_inserted(u64::from(
                self.blacklisted.borrow_mut().insert(jti.to_owned()),
            )))
        }

        async fn advance_session(
            &self,
            old: &str,
            new: &str,
            step: &SessionStep,
        ) -> Result<bool, ()> {
            self.log
                .borrow_mut()
                .push(format!("advance {} {old} -> {new}", step.session_id));
            Ok(step.session_id != "ended")
        }
    }

    fn ready<T>(work: impl Future<Output = T>) -> T {
        match pin!(work).poll(&mut Context::from_waker(Waker::noop())) {
            Poll::Ready(value) => value,
            Poll::Pending => panic!("the in-memory statements never wait"),
        }
    }

    fn request(old: &str, new: &str, blacklist_old: bool) -> RotationRequest {
        let token = |jti: &str| TokenRecord {
            jti: jti.to_owned(),
            user_id: Some(1),
            issued_at: 0,
            expires_at: 100,
            token: String::new(),
        };
        RotationRequest {
            old: token(old),
            new: token(new),
            blacklist_old,
            at: 10,
            session: None,
        }
    }

    #[test]
    fn a_blacklisting_rotation_records_and_blacklists_old_then_records_new() {
        let memory = Memory::default();
        let outcome = ready(request("a", "b", true).run(&memory)).unwrap();
        assert_eq!(
            outcome,
            Rotation::Rotated {
                old_blacklisted: true
            }
        );
        assert!(outcome.keeps_writes());
        assert_eq!(
            *memory.log.borrow(),
            ["record a", "blacklist a", "record b"]
        );
    }

    #[test]
    fn the_loser_stops_before_recording_its_successor_and_keeps_nothing() {
        let memory = Memory::default();
        ready(request("a", "b", true).run(&memory)).unwrap();
        memory.log.borrow_mut().clear();
        let outcome = ready(request("a", "c", true).run(&memory)).unwrap();
        assert_eq!(outcome, Rotation::AlreadyBlacklisted);
        assert!(!outcome.keeps_writes());
        assert_eq!(*memory.log.borrow(), ["record a", "blacklist a"]);
    }

    #[test]
    fn a_rotation_in_a_session_moves_the_session_on_after_recording_new() {
        let memory = Memory::default();
        let mut rotation = request("a", "b", true);
        rotation.session = Some(SessionStep {
            session_id: "s".to_owned(),
            at: 10,
            expires_at: 200,
            access: crate::AccessRecord {
                jti: "x".to_owned(),
                expires_at: 20,
            },
        });
        ready(rotation.run(&memory)).unwrap();
        assert_eq!(
            *memory.log.borrow(),
            ["record a", "blacklist a", "record b", "advance s a -> b"]
        );
        memory.log.borrow_mut().clear();
        // The loser of a race moves nothing on.
        assert_eq!(
            ready(rotation.run(&memory)).unwrap(),
            Rotation::AlreadyBlacklisted
        );
        assert_eq!(*memory.log.borrow(), ["record a", "blacklist a"]);

        // A session that ended meanwhile: the rotation stops and keeps nothing.
        let mut rotation = request("c", "d", true);
        rotation.session = Some(SessionStep {
            session_id: "ended".to_owned(),
            at: 10,
            expires_at: 200,
            access: crate::AccessRecord {
                jti: "y".to_owned(),
                expires_at: 20,
            },
        });
        let outcome = ready(rotation.run(&memory)).unwrap();
        assert_eq!(outcome, Rotation::SessionEnded);
        assert!(!outcome.keeps_writes());
    }

    #[test]
    fn a_rotation_without_blacklisting_only_records_new() {
        let memory = Memory::default();
        let outcome = ready(request("a", "b", false).run(&memory)).unwrap();
        assert_eq!(
            outcome,
            Rotation::Rotated {
                old_blacklisted: false
            }
        );
        assert!(outcome.keeps_writes());
        assert_eq!(*memory.log.borrow(), ["record b"]);
        assert!(memory.blacklisted.borrow().is_empty());
    }
}
