//! axum extractors: a handler that takes [`Verified`] or [`Claims`] runs only for a caller with a
//! valid token; anyone else gets simplejwt's 401.

use axum::Json;
use axum::extract::{FromRef, FromRequestParts, OptionalFromRequestParts};
use axum::http::request::Parts;
use axum::http::{HeaderMap, header};
use axum::response::{IntoResponse, Response};
use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::error::{ErrorKind, VerifyError};
use crate::verifier::{Verified, Verifier, now};

impl IntoResponse for VerifyError {
    /// simplejwt's answer: the status, the JSON body, and `WWW-Authenticate` on a 401.
    fn into_response(self) -> Response {
        tracing::debug!(kind = %self.kind(), "request refused");
        let mut response = (self.status(), Json(self.body())).into_response();
        if let Some(challenge) = self.challenge() {
            response
                .headers_mut()
                .insert(header::WWW_AUTHENTICATE, challenge.clone());
        }
        response
    }
}

impl Verifier {
    /// Verifies the token in a request's headers now (the configured header and schemes).
    pub async fn verify_headers(&self, headers: &HeaderMap) -> Result<Verified, VerifyError> {
        let header = headers.get(self.header_name()).map(|v| v.as_bytes());
        let now = now();
        self.inner()
            .verify_or_refetch(|inner| inner.verify_header_cached(header, now))
            .await
    }
}

/// The verified caller, for handlers whose state holds a [`Verifier`] (`Verifier: FromRef<S>`).
/// Behind a [`VerifyLayer`](crate::VerifyLayer) it takes the layer's result instead of
/// verifying again; a router with the layer and no verifier in its state reads it with
/// `Extension<Verified>`.
///
/// ```
/// use axum::{Json, Router, extract::FromRef, routing::get};
/// use jwtd_token::Algorithm;
/// use jwtd_verify::{Verified, Verifier};
///
/// #[derive(Clone)]
/// struct AppState {
///     verifier: Verifier,
/// }
///
/// impl FromRef<AppState> for Verifier {
///     fn from_ref(state: &AppState) -> Verifier {
///         state.verifier.clone()
///     }
/// }
///
/// async fn whoami(caller: Verified) -> Json<serde_json::Value> {
///     Json(serde_json::json!({ "user_id": caller.user_id() }))
/// }
///
/// let verifier = Verifier::builder()
///     .secret(Algorithm::HS256, b"an example secret of at least 32 bytes!")
///     .build_static()?;
/// let app: Router = Router::new()
///     .route("/whoami", get(whoami))
///     .with_state(AppState { verifier });
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
impl<S> FromRequestParts<S> for Verified
where
    Verifier: FromRef<S>,
    S: Send + Sync,
{
    type Rejection = VerifyError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        if let Some(verified) = parts.extensions.get::<Verified>() {
            return Ok(verified.clone());
        }
        Verifier::from_ref(state)
            .verify_headers(&parts.headers)
            .await
    }
}

/// `Option<Verified>`: `None` without credentials, as DRF leaves such a caller anonymous; a
/// token that is there but bad is still refused with 401.
impl<S> OptionalFromRequestParts<S> for Verified
where
    Verifier: FromRef<S>,
    S: Send + Sync,
{
    type Rejection = VerifyError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &S,
    ) -> Result<Option<Self>, Self::Rejection> {
        match <Verified as FromRequestParts<S>>::from_request_parts(parts, state).await {
            Ok(verified) => Ok(Some(verified)),
            Err(e) if e.kind() == ErrorKind::NotProvided => Ok(None),
            Err(e) => Err(e),
        }
    }
}

/// The verified caller's claims as `T` (default: the JSON object). Claims that do not fit `T`
/// are refused like an invalid token.
///
/// ```
/// use axum::{Router, routing::get};
/// use jwtd_token::Algorithm;
/// use jwtd_verify::{Claims, Verifier};
///
/// #[derive(serde::Deserialize)]
/// struct Caller {
///     user_id: String,
///     exp: i64,
/// }
///
/// async fn hello(Claims(caller): Claims<Caller>) -> String {
///     format!("hello {}, until {}", caller.user_id, caller.exp)
/// }
///
/// # let verifier = Verifier::builder()
/// #     .secret(Algorithm::HS256, b"an example secret of at least 32 bytes!")
/// #     .build_static()?;
/// let app: Router = Router::new().route("/hello", get(hello)).with_state(verifier);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Debug)]
pub struct Claims<T = Value>(pub T);

impl<S, T> FromRequestParts<S> for Claims<T>
where
    T: DeserializeOwned,
    Verifier: FromRef<S>,
    S: Send + Sync,
{
    type Rejection = VerifyError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let verifier = Verifier::from_ref(state);
        let claims = match parts.extensions.get::<Verified>() {
            Some(verified) => verified.claims::<T>(),
            None => verifier.verify_headers(&parts.headers).await?.claims::<T>(),
        };
        claims
            .map(Claims)
            .map_err(|_| verifier.inner().error(ErrorKind::Claims))
    }
}
