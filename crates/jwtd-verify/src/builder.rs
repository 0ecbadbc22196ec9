//! Building a [`Verifier`]: one key source, the checks, and the JWKS cache settings.
//!
//! Options are collected without failing and checked together in `build`, so the order of
//! calls never matters (an allow-list given after a JWKS document still filters it).

use std::sync::{Arc, OnceLock};
use std::time::Duration;

use arc_swap::ArcSwap;
use axum::http::{HeaderName, HeaderValue, header};
use jwtd_token::{
    Algorithm, ClaimNames, Family, KeyEntry, KeyError, KeySet, KeyState, Keys, Policy, TokenEngine,
    TokenType,
};
use serde_json::Value;

use crate::error::Answer;
use crate::jwks::{self, Algorithms, JwksError};
use crate::remote::{FetchError, Remote, RemoteSettings};
use crate::verifier::{Inner, Snapshot, Verifier};

/// Why a verifier could not be built.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum BuildError {
    /// No keys, JWKS document or JWKS URL was given.
    #[error("no key source: give keys, a JWKS document or a JWKS URL")]
    NoKeySource,
    /// A JWKS URL or a whole `KeySet` was combined with another source.
    #[error("a JWKS URL or a key set cannot be combined with other keys")]
    TwoKeySources,
    /// A static key is unusable.
    #[error("unusable key: {0}")]
    Key(#[from] KeyError),
    /// A static JWKS document gave no usable key.
    #[error("unusable JWKS: {0}")]
    Jwks(#[from] JwksError),
    /// A static key's algorithm is outside the configured allow-list.
    #[error("the key {kid:?} is {algorithm}, which is not an allowed algorithm")]
    AlgorithmNotAllowed {
        /// The key's id.
        kid: String,
        /// Its algorithm.
        algorithm: Algorithm,
    },
    /// The JWKS URL does not parse.
    #[error("bad JWKS URL: {0}")]
    Url(String),
    /// The first JWKS fetch failed (see `allow_start_without_keys`).
    #[error("the first JWKS fetch failed: {0}")]
    Fetch(#[from] FetchError),
    /// `build_static` was called with a JWKS URL, which needs `build().await`.
    #[error("a JWKS URL is fetched: use `build().await`")]
    NeedsFetch,
    /// An option is out of range.
    #[error("invalid option: {0}")]
    Option(String),
    /// The HTTP client could not be built.
    #[error("HTTP client: {0}")]
    Client(#[source] reqwest::Error),
}

enum Source {
    None,
    /// Keys given one by one and JWKS documents (parsed at build, under the allow-list).
    Static(Vec<Piece>),
    Set(KeySet),
    Url(String),
}

enum Piece {
    Entry(Box<KeyEntry>),
    Document(Value),
}

/// Configures a [`Verifier`]. Start from [`Verifier::builder`].
pub struct VerifierBuilder {
    source: Source,
    error: Option<BuildError>,
    algorithms: Option<Algorithms>,
    policy: Policy,
    token_types: Vec<TokenType>,
    header_name: HeaderName,
    schemes: Vec<String>,
    remote: RemoteSettings,
    allow_start_without_keys: bool,
    client: Option<reqwest::Client>,
}

impl VerifierBuilder {
    pub(crate) fn new() -> VerifierBuilder {
        VerifierBuilder {
            source: Source::None,
            error: None,
            algorithms: None,
            policy: Policy::default(),
            token_types: vec![TokenType::Access],
            header_name: header::AUTHORIZATION,
            schemes: vec!["Bearer".to_owned()],
            remote: RemoteSettings::default(),
            allow_start_without_keys: false,
            client: None,
        }
    }

    fn fail(mut self, error: BuildError) -> Self {
        self.error.get_or_insert(error);
        self
    }

    fn piece(mut self, piece: Piece) -> Self {
        match &mut self.source {
            Source::None => self.source = Source::Static(vec![piece]),
            Source::Static(pieces) => pieces.push(piece),
            Source::Set(_) | Source::Url(_) => return self.fail(BuildError::TwoKeySources),
        }
        self
    }

    fn keys(self, keys: Result<Keys, KeyError>, kid: Option<&str>) -> Self {
        match keys {
            Ok(keys) => {
                let entry = KeyEntry::new(keys, KeyState::Next);
                let entry = match kid {
                    Some(kid) => entry.with_kid(kid),
                    None => entry,
                };
                self.piece(Piece::Entry(Box::new(entry)))
            }
            Err(e) => self.fail(e.into()),
        }
    }

    /// Verifies with an HMAC secret shared with the issuer (`HS256` and friends).
    pub fn secret(self, algorithm: Algorithm, secret: &[u8]) -> Self {
        if algorithm.min_hmac_key_len().is_none() {
            let reason = format!("{algorithm} is not an HMAC algorithm");
            return self.fail(BuildError::Option(reason));
        }
        self.keys(Keys::new(algorithm, secret, None), None)
    }

    /// Verifies with a PEM public key (SPKI, or PKCS#1 for RSA).
    pub fn public_pem(self, algorithm: Algorithm, pem: &[u8]) -> Self {
        self.keys(Keys::from_public_pem(algorithm, pem), None)
    }

    /// Verifies with one JWK (public, or `oct` for a secret given this way on purpose), under
    /// its `kid` when it has one.
    pub fn jwk(self, jwk: &Value) -> Self {
        let kid = jwk.get("kid").and_then(Value::as_str);
        self.keys(Keys::from_jwk(jwk, None), kid)
    }

    /// Verifies with the keys of a JWKS document, as a JWKS URL would serve it: keys that are
    /// unusable, symmetric or outside the allow-list are skipped with a warning.
    pub fn jwks(self, document: &Value) -> Self {
        self.piece(Piece::Document(document.clone()))
    }

    /// Verifies with a key set built by the caller (`Keys` convert into one).
    pub fn key_set(mut self, keys: impl Into<KeySet>) -> Self {
        match self.source {
            Source::None => self.source = Source::Set(keys.into()),
            _ => return self.fail(BuildError::TwoKeySources),
        }
        self
    }

    /// Fetches keys from a JWKS URL, caches them and keeps them fresh (see the crate docs).
    pub fn jwks_url(mut self, url: impl Into<String>) -> Self {
        match self.source {
            Source::None => self.source = Source::Url(url.into()),
            _ => return self.fail(BuildError::TwoKeySources),
        }
        self
    }

    /// Accepts only these algorithms. Default: every asymmetric algorithm, plus the algorithm of
    /// each static key given. HMAC keys from a JWKS are refused whatever this says.
    pub fn algorithms(mut self, algorithms: impl IntoIterator<Item = Algorithm>) -> Self {
        self.algorithms = Some(algorithms.into_iter().collect());
        self
    }

    /// Clock skew tolerated on `exp`, `nbf` and `iat`, in whole seconds (simplejwt's `LEEWAY`).
    pub fn leeway(mut self, leeway: Duration) -> Self {
        self.policy.leeway = i64::try_from(leeway.as_secs()).unwrap_or(i64::MAX);
        self
    }

    /// Requires `iss` to be `issuer` (simplejwt's `ISSUER`).
    pub fn issuer(mut self, issuer: impl Into<String>) -> Self {
        self.policy.issuer = Some(issuer.into());
        self
    }

    /// Requires `aud` to hold `audience` (simplejwt's `AUDIENCE`). Without it, a token that
    /// carries an `aud` is refused (it was meant for a service that checks it).
    pub fn audience(mut self, audience: impl Into<String>) -> Self {
        self.policy.audience = Some(audience.into());
        self
    }

    /// Every check's settings at once: leeway, issuer, audience and claim names, as an issuer
    /// running jwtd-token configures its own engine (lifetimes are not used for verifying).
    pub fn policy(mut self, policy: Policy) -> Self {
        self.policy = policy;
        self
    }

    /// The token types accepted, tried in order (simplejwt's `AUTH_TOKEN_CLASSES`).
    /// Default: access tokens only.
    pub fn token_types(mut self, types: impl IntoIterator<Item = TokenType>) -> Self {
        self.token_types = types.into_iter().collect();
        self
    }

    /// The claim naming the user (simplejwt's `USER_ID_CLAIM`). Default `user_id`.
    pub fn user_id_claim(mut self, name: impl Into<String>) -> Self {
        self.policy.claims.user_id = name.into();
        self
    }

    /// Every claim name at once (`TOKEN_TYPE_CLAIM`, `JTI_CLAIM`, `USER_ID_CLAIM`, ...).
    pub fn claim_names(mut self, names: ClaimNames) -> Self {
        self.policy.claims = names;
        self
    }

    /// The header carrying the token (simplejwt's `AUTH_HEADER_NAME`). Default `Authorization`.
    pub fn header_name(mut self, name: HeaderName) -> Self {
        self.header_name = name;
        self
    }

    /// The accepted schemes, compared case-insensitively; the first one names the
    /// `WWW-Authenticate` challenge (simplejwt's `AUTH_HEADER_TYPES`). Default `Bearer`.
    pub fn header_types<S: Into<String>>(mut self, schemes: impl IntoIterator<Item = S>) -> Self {
        self.schemes = schemes.into_iter().map(Into::into).collect();
        self
    }

    /// The shortest JWKS cache lifetime, whatever `max-age` says. Default 30 s.
    pub fn min_refresh(mut self, interval: Duration) -> Self {
        self.remote.min_refresh = interval;
        self
    }

    /// The longest JWKS cache lifetime, and the longest retry back-off. Default 1 h.
    pub fn max_refresh(mut self, interval: Duration) -> Self {
        self.remote.max_refresh = interval;
        self
    }

    /// The least time between two fetches caused by unknown `kid`s. Default 5 s.
    pub fn unknown_kid_interval(mut self, interval: Duration) -> Self {
        self.remote.unknown_kid_interval = interval;
        self
    }

    /// The whole JWKS request's time limit. Default 5 s.
    pub fn fetch_timeout(mut self, timeout: Duration) -> Self {
        self.remote.timeout = timeout;
        self
    }

    /// The largest JWKS response accepted, in bytes. Default 1 MiB.
    pub fn max_jwks_size(mut self, bytes: usize) -> Self {
        self.remote.max_size = bytes;
        self
    }

    /// Starts even when the first JWKS fetch fails: requests are answered 503 until a fetch
    /// succeeds (retried with back-off, and on requests). Default: `build` fails.
    pub fn allow_start_without_keys(mut self, allow: bool) -> Self {
        self.allow_start_without_keys = allow;
        self
    }

    /// The HTTP client for JWKS requests (proxies, extra root certificates). Default: a
    /// rustls client with the platform's roots.
    pub fn http_client(mut self, client: reqwest::Client) -> Self {
        self.client = Some(client);
        self
    }

    /// Builds a verifier from static keys, without a runtime. A JWKS URL needs
    /// [`build`](Self::build).
    pub fn build_static(mut self) -> Result<Verifier, BuildError> {
        let source = std::mem::replace(&mut self.source, Source::None);
        let (parts, allowed) = self.parts()?;
        let set = match source {
            Source::None => return Err(BuildError::NoKeySource),
            Source::Url(_) => return Err(BuildError::NeedsFetch),
            Source::Set(set) => {
                check_allowed(&set, allowed)?;
                set
            }
            Source::Static(pieces) => static_set(pieces, allowed)?,
        };
        let engine = Arc::new(TokenEngine::new(set, parts.policy.clone()));
        Ok(Verifier::from_inner(Arc::new(
            parts.into_inner(Some(engine), None),
        )))
    }

    /// Builds the verifier; with a JWKS URL, fetches it first and fails if that fails (unless
    /// `allow_start_without_keys`), then keeps it fresh in a background task.
    pub async fn build(mut self) -> Result<Verifier, BuildError> {
        if let Some(error) = self.error.take() {
            return Err(error);
        }
        let Source::Url(url) = &self.source else {
            return self.build_static();
        };
        let url = reqwest::Url::parse(url).map_err(|e| BuildError::Url(e.to_string()))?;
        if !matches!(url.scheme(), "https" | "http") {
            return Err(BuildError::Url(format!("{url}: not http or https")));
        }
        let client = match self.client.take() {
            Some(client) => client,
            None => reqwest::Client::builder()
                .user_agent(concat!("jwtd-verify/", env!("CARGO_PKG_VERSION")))
                .build()
                .map_err(BuildError::Client)?,
        };
        let settings = self.remote.clone();
        if settings.min_refresh > settings.max_refresh {
            return Err(BuildError::Option(
                "min_refresh is longer than max_refresh".to_owned(),
            ));
        }
        let allow_start_without_keys = self.allow_start_without_keys;
        let (parts, allowed) = self.parts()?;
        // A JWKS never verifies HMAC, even when the allow-list names it.
        let allowed = allowed.unwrap_or_else(Algorithms::asymmetric);
        let allowed = Algorithm::ALL
            .into_iter()
            .filter(|alg| allowed.contains(*alg) && alg.family() != Family::Hmac)
            .collect();
        let remote = Remote::new(url, client, settings, allowed);
        let inner = Arc::new(parts.into_inner(None, Some(remote)));
        if let Err(e) = inner.first_fetch().await
            && !allow_start_without_keys
        {
            return Err(e.into());
        }
        inner.spawn_refresher();
        Ok(Verifier::from_inner(inner))
    }

    /// Everything but the key source, checked; and the allow-list in force.
    fn parts(self) -> Result<(Parts, Option<Algorithms>), BuildError> {
        if let Some(error) = self.error {
            return Err(error);
        }
        if self.token_types.is_empty() {
            return Err(BuildError::Option("no accepted token type".to_owned()));
        }
        let scheme = self
            .schemes
            .first()
            .ok_or_else(|| BuildError::Option("no header type".to_owned()))?;
        let challenge = HeaderValue::from_str(&format!("{scheme} realm=\"api\""))
            .map_err(|_| BuildError::Option(format!("header type {scheme:?}")))?;
        if self.policy.leeway < 0 {
            return Err(BuildError::Option("negative leeway".to_owned()));
        }
        let parts = Parts {
            policy: self.policy,
            answer: Arc::new(Answer {
                token_types: self.token_types,
                challenge,
            }),
            header_name: self.header_name,
            schemes: self.schemes,
        };
        Ok((parts, self.algorithms))
    }
}

struct Parts {
    policy: Policy,
    answer: Arc<Answer>,
    header_name: HeaderName,
    schemes: Vec<String>,
}

impl Parts {
    fn into_inner(self, engine: Option<Arc<TokenEngine>>, remote: Option<Remote>) -> Inner {
        Inner {
            keys: ArcSwap::from_pointee(Snapshot {
                engine,
                generation: 0,
            }),
            policy: self.policy,
            answer: self.answer,
            header_name: self.header_name,
            schemes: self.schemes,
            remote,
            refresher: OnceLock::new(),
        }
    }
}

/// The set of static pieces: given keys checked against an explicit allow-list (with none,
/// a key given is a key allowed), documents filtered by it (default: asymmetric only).
fn static_set(pieces: Vec<Piece>, allowed: Option<Algorithms>) -> Result<KeySet, BuildError> {
    let documents_allowed = allowed.unwrap_or_else(Algorithms::asymmetric);
    let mut entries = Vec::new();
    for piece in pieces {
        match piece {
            Piece::Entry(entry) => {
                let algorithm = entry.keys().algorithm();
                if allowed.is_some_and(|a| !a.contains(algorithm)) {
                    let kid = entry.kid().to_owned();
                    return Err(BuildError::AlgorithmNotAllowed { kid, algorithm });
                }
                entries.push(*entry);
            }
            Piece::Document(document) => {
                let keys = jwks::entries(&document, documents_allowed, "the configured JWKS")?;
                entries.extend(keys);
            }
        }
    }
    Ok(KeySet::verifying(entries)?)
}

fn check_allowed(set: &KeySet, allowed: Option<Algorithms>) -> Result<(), BuildError> {
    let Some(allowed) = allowed else {
        return Ok(());
    };
    match set
        .entries()
        .iter()
        .find(|e| !allowed.contains(e.keys().algorithm()))
    {
        Some(e) => Err(BuildError::AlgorithmNotAllowed {
            kid: e.kid().to_owned(),
            algorithm: e.keys().algorithm(),
        }),
        None => Ok(()),
    }
}
