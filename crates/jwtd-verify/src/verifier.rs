//! The verifier: the key set in force, the policy, and the hot path every request takes.
//!
//! The key set sits in an `ArcSwap`: a request reads it without a lock or a reference count,
//! and a JWKS refresh replaces it whole. A request allocates nothing beyond what
//! `TokenEngine::decode` does; a refusal costs one reference count. Only an
//! unknown `kid` (or no key set yet) leaves the hot path, to refetch the JWKS (`remote`).

use std::sync::{Arc, OnceLock};
use std::time::{SystemTime, UNIX_EPOCH};

use arc_swap::ArcSwap;
use axum::http::HeaderName;
use jwtd_token::{Decoded, KeySet, Policy, TokenEngine, TokenError};
use serde::de::DeserializeOwned;
use serde_json::{Map, Value};
use tokio::task::AbortHandle;

use crate::builder::VerifierBuilder;
use crate::classify;
use crate::error::{Answer, ErrorKind, VerifyError};
use crate::header;
use crate::remote::Remote;

/// Verifies tokens against a key set (static, or a JWKS URL kept fresh in the background).
///
/// Cheap to clone: clones share the key set, the cache and the refresh task, which stops when
/// the last clone is dropped.
///
/// ```
/// use jwtd_token::{Algorithm, Keys, Policy, TokenEngine};
/// use jwtd_verify::{ErrorKind, Verifier};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let secret = b"an example secret of at least 32 bytes!";
/// let verifier = Verifier::builder()
///     .secret(Algorithm::HS256, secret)
///     .build_static()?;
///
/// // The issuer's side, for the example.
/// let issuer = TokenEngine::new(Keys::new(Algorithm::HS256, secret, None)?, Policy::default());
/// let pair = issuer.issue_pair(42, jwtd_verify::now())?;
///
/// let verified = verifier.verify(&pair.access.token).await?;
/// assert_eq!(verified.user_id(), "42");
/// let refused = verifier.verify(&pair.refresh.token).await.unwrap_err();
/// assert_eq!(refused.kind(), ErrorKind::TokenType);
/// # Ok(())
/// # }
/// ```
#[derive(Clone)]
pub struct Verifier {
    inner: Arc<Inner>,
}

/// A key set and the engine that verifies with it. `generation` counts replacements, so a
/// request that met an unknown `kid` can tell whether a refetch happened since.
pub(crate) struct Snapshot {
    pub(crate) engine: Option<Arc<TokenEngine>>,
    pub(crate) generation: u64,
}

pub(crate) struct Inner {
    pub(crate) keys: ArcSwap<Snapshot>,
    pub(crate) policy: Policy,
    pub(crate) answer: Arc<Answer>,
    pub(crate) header_name: HeaderName,
    pub(crate) schemes: Vec<String>,
    pub(crate) remote: Option<Remote>,
    pub(crate) refresher: OnceLock<AbortHandle>,
}

impl Drop for Inner {
    fn drop(&mut self) {
        if let Some(task) = self.refresher.get() {
            task.abort();
        }
    }
}

/// Why the cached key set did not verify a token, and which set that was.
pub(crate) struct Miss {
    pub(crate) kind: ErrorKind,
    pub(crate) generation: u64,
}

impl Inner {
    pub(crate) fn error(&self, kind: ErrorKind) -> VerifyError {
        VerifyError::new(kind, Arc::clone(&self.answer))
    }

    /// Verifies with the key set in force now, without waiting for anything.
    pub(crate) fn verify_cached(&self, token: &str, now: i64) -> Result<Verified, Miss> {
        let snapshot = self.keys.load();
        self.check(&snapshot, token, now).map_err(|kind| Miss {
            kind,
            generation: snapshot.generation,
        })
    }

    /// [`verify_cached`](Self::verify_cached) for a whole header value.
    pub(crate) fn verify_header_cached(
        &self,
        header: Option<&[u8]>,
        now: i64,
    ) -> Result<Verified, Miss> {
        match header::raw_token(header, &self.schemes) {
            Ok(token) => self.verify_cached(token, now),
            // Never cured by a refetch: the generation does not matter.
            Err(kind) => Err(Miss {
                kind,
                generation: 0,
            }),
        }
    }

    /// Runs `attempt` on the key set in force; if it met an unknown `kid` (or no keys), waits
    /// for a refetch and runs it once more. The common case never waits: one level of `async`
    /// around a synchronous check, so the extractor's future stays small.
    pub(crate) async fn verify_or_refetch(
        &self,
        attempt: impl Fn(&Inner) -> Result<Verified, Miss>,
    ) -> Result<Verified, VerifyError> {
        match attempt(self) {
            Ok(verified) => Ok(verified),
            Err(miss) if self.may_refetch(miss.kind) => {
                self.refetch_for(miss.generation).await;
                attempt(self).map_err(|miss| self.error(miss.kind))
            }
            Err(miss) => Err(self.error(miss.kind)),
        }
    }

    /// Puts `keys` in force, one generation on; the new generation.
    pub(crate) fn replace_keys(&self, keys: KeySet) -> u64 {
        let engine = Arc::new(TokenEngine::new(keys, self.policy.clone()));
        let previous = self.keys.rcu(|snapshot| Snapshot {
            engine: Some(Arc::clone(&engine)),
            generation: snapshot.generation + 1,
        });
        previous.generation + 1
    }

    /// Whether a refusal of this kind may be cured by fetching the JWKS again.
    pub(crate) fn may_refetch(&self, kind: ErrorKind) -> bool {
        self.remote.is_some() && matches!(kind, ErrorKind::UnknownKey | ErrorKind::NoKeys)
    }

    // One copy of the decode path for every entry point (verify, header, extractor, layer):
    // inlined into each, the copies ran up to 5 % apart on code placement alone.
    #[inline(never)]
    fn check(&self, snapshot: &Snapshot, token: &str, now: i64) -> Result<Verified, ErrorKind> {
        let engine = snapshot.engine.as_ref().ok_or(ErrorKind::NoKeys)?;
        let decoded = engine.decode(token, now).map_err(|e| match e {
            TokenError::Invalid => classify::invalid(engine, token, now),
            other => kind_of(other),
        })?;
        // simplejwt's `AUTH_TOKEN_CLASSES`: the first accepted type wins. The checks before
        // the type (exp, jti) fail alike for every type, so the last failure names them all.
        let mut checked = Err(TokenError::NoType);
        for token_type in &self.answer.token_types {
            checked = decoded.check(Some(*token_type));
            if checked.is_ok() {
                break;
            }
        }
        checked.map_err(kind_of)?;
        let user_id = UserId::find(decoded.claims(), &self.policy.claims.user_id)
            .ok_or(ErrorKind::NoUserId)?;
        Ok(Verified { decoded, user_id })
    }
}

/// The kinds the engine names itself (everything but `Invalid`).
fn kind_of(e: TokenError) -> ErrorKind {
    match e {
        TokenError::UnknownKey => ErrorKind::UnknownKey,
        TokenError::Expired => ErrorKind::Expired,
        TokenError::NoExp => ErrorKind::NoExpiry,
        TokenError::NoId => ErrorKind::NoTokenId,
        TokenError::NoType => ErrorKind::NoTokenType,
        TokenError::WrongType => ErrorKind::TokenType,
        // Not produced by `decode` or `check` (blacklist, sliding, signing).
        _ => ErrorKind::Malformed,
    }
}

impl Verifier {
    /// A builder: key source, checks, and JWKS cache settings.
    pub fn builder() -> VerifierBuilder {
        VerifierBuilder::new()
    }

    pub(crate) fn from_inner(inner: Arc<Inner>) -> Verifier {
        Verifier { inner }
    }

    pub(crate) fn inner(&self) -> &Inner {
        &self.inner
    }

    /// Verifies `token` (the compact JWS, without scheme) now.
    pub async fn verify(&self, token: &str) -> Result<Verified, VerifyError> {
        self.verify_at(token, now()).await
    }

    /// Verifies `token` at `now` (Unix seconds), for a caller that reads the clock once per
    /// request. An unknown `kid` refetches the JWKS once (shared with concurrent requests,
    /// at most once per `unknown_kid_interval`) and verifies again with the new set.
    pub async fn verify_at(&self, token: &str, now: i64) -> Result<Verified, VerifyError> {
        self.inner
            .verify_or_refetch(|inner| inner.verify_cached(token, now))
            .await
    }

    /// Verifies an `Authorization` header value (`None`: no header) now, split as DRF does.
    pub async fn verify_header(&self, header: Option<&[u8]>) -> Result<Verified, VerifyError> {
        self.verify_header_at(header, now()).await
    }

    /// [`verify_header`](Self::verify_header) at `now` (Unix seconds).
    pub async fn verify_header_at(
        &self,
        header: Option<&[u8]>,
        now: i64,
    ) -> Result<Verified, VerifyError> {
        self.inner
            .verify_or_refetch(|inner| inner.verify_header_cached(header, now))
            .await
    }

    /// The engine in force: the key set and policy every check uses (`None` while a JWKS
    /// verifier has no key set yet). An issuer that also verifies, as jwtd's server does,
    /// signs with the engine it verifies with, so the two never disagree about keys.
    pub fn engine(&self) -> Option<Arc<TokenEngine>> {
        self.inner.keys.load().engine.clone()
    }

    /// Puts `keys` in force for the next request, under the verifier's policy (a reloaded
    /// key file, keys rotated elsewhere). Requests in flight finish with the set they hold.
    /// A JWKS verifier's next fetch replaces the set again.
    pub fn replace_keys(&self, keys: KeySet) {
        self.inner.replace_keys(keys);
    }

    /// The header tokens are read from (`Authorization` unless configured).
    pub fn header_name(&self) -> &HeaderName {
        &self.inner.header_name
    }

    /// How many times the JWKS was requested (successfully or not) since start.
    pub fn fetch_count(&self) -> u64 {
        self.inner.remote.as_ref().map_or(0, Remote::fetch_count)
    }

    /// The key ids of the set in force, in set order.
    pub fn key_ids(&self) -> Vec<String> {
        let snapshot = self.inner.keys.load();
        snapshot.engine.as_ref().map_or_else(Vec::new, |engine| {
            engine
                .keys()
                .entries()
                .iter()
                .map(|e| e.kid().to_owned())
                .collect()
        })
    }
}

impl std::fmt::Debug for Verifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Verifier")
            .field("keys", &self.key_ids())
            .field("remote", &self.inner.remote.is_some())
            .finish_non_exhaustive()
    }
}

/// A token that passed every check: who it is for, and its claims.
#[derive(Clone, Debug)]
pub struct Verified {
    decoded: Decoded,
    user_id: UserId,
}

/// Where the user id is, found once without copying it: a string claim by its position in
/// the claims (which never change), an integer as its decimal digits.
#[derive(Clone, Copy, Debug)]
enum UserId {
    Text(usize),
    Integer { digits: [u8; 20], len: u8 },
}

impl UserId {
    /// jwtd-token's `user_id_text` rule: a string as it is, a non-negative integer in decimal,
    /// nothing else.
    fn find(claims: &Map<String, Value>, name: &str) -> Option<UserId> {
        let (index, value) = claims
            .iter()
            .enumerate()
            .find_map(|(i, (k, v))| (k == name).then_some((i, v)))?;
        match value {
            Value::String(_) => Some(UserId::Text(index)),
            Value::Number(n) => n.as_u64().map(UserId::integer),
            _ => None,
        }
    }

    fn integer(mut n: u64) -> UserId {
        let mut digits = [0u8; 20];
        let mut len = 0;
        loop {
            digits[len] = b'0' + (n % 10) as u8;
            len += 1;
            n /= 10;
            if n == 0 {
                break;
            }
        }
        digits[..len].reverse();
        UserId::Integer {
            digits,
            len: len as u8,
        }
    }
}

impl Verified {
    /// The user id claim as text: a string as it is, an integer in decimal (simplejwt writes
    /// either, depending on version and `USER_ID_FIELD`).
    pub fn user_id(&self) -> &str {
        match self.user_id {
            UserId::Text(index) => match self.decoded.claims().iter().nth(index) {
                Some((_, Value::String(text))) => text,
                // `find` chose a string claim at this index, and the claims never change.
                _ => "",
            },
            UserId::Integer { ref digits, len } => {
                // ASCII digits, always UTF-8.
                std::str::from_utf8(&digits[..usize::from(len)]).unwrap_or_default()
            }
        }
    }

    /// Every claim, in token order.
    pub fn claims_map(&self) -> &Map<String, Value> {
        self.decoded.claims()
    }

    /// The claims as `T` (a struct of the claims a handler needs).
    pub fn claims<T: DeserializeOwned>(&self) -> Result<T, serde_json::Error> {
        T::deserialize(self.decoded.claims())
    }

    /// The token's `jti`.
    pub fn jti(&self) -> Option<&str> {
        self.decoded.jti()
    }

    /// The token's `exp` in Unix seconds.
    pub fn expires_at(&self) -> Option<i64> {
        self.decoded.expires_at()
    }

    /// The token as jwtd-token decoded it (header, numeric user id).
    pub fn decoded(&self) -> &Decoded {
        &self.decoded
    }
}

/// The current time in Unix seconds: the one clock read per verification.
pub fn now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn user_id(claims: Value) -> Option<String> {
        let Value::Object(claims) = claims else {
            unreachable!()
        };
        let found = UserId::find(&claims, "user_id")?;
        let verified_text = match found {
            UserId::Text(index) => claims
                .iter()
                .nth(index)
                .unwrap()
                .1
                .as_str()
                .unwrap()
                .to_owned(),
            UserId::Integer { digits, len } => {
                String::from_utf8(digits[..usize::from(len)].to_vec()).unwrap()
            }
        };
        Some(verified_text)
    }

    #[test]
    fn user_ids_are_found_as_jwtd_token_reads_them() {
        assert_eq!(
            user_id(json!({"a": 1, "user_id": "abc"})).as_deref(),
            Some("abc")
        );
        assert_eq!(user_id(json!({"user_id": 0})).as_deref(), Some("0"));
        assert_eq!(user_id(json!({"user_id": 42})).as_deref(), Some("42"));
        assert_eq!(
            user_id(json!({"user_id": u64::MAX})).as_deref(),
            Some("18446744073709551615")
        );
        for bad in [json!(-1), json!(1.5), json!(true), json!(null), json!({})] {
            assert_eq!(user_id(json!({ "user_id": bad })), None);
        }
        assert_eq!(user_id(json!({"sub": "1"})), None);
    }
}
