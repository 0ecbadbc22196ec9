//! A tower layer that authenticates every request of a router: a valid token puts [`Verified`]
//! in the request's extensions and the request goes on; anything else is answered with
//! simplejwt's 401 and never reaches a handler.
//!
//! The future is a hand-rolled enum so the common cases (verified, refused) cost no allocation;
//! only a request that must wait for a JWKS refetch boxes its future.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use axum::extract::Request;
use axum::response::{IntoResponse, Response};
use pin_project_lite::pin_project;
use tower::{Layer, Service};

use crate::verifier::{Verifier, now};

/// Refuses requests without a valid token, for a whole router.
///
/// ```
/// use axum::{Extension, Router, routing::get};
/// use jwtd_token::Algorithm;
/// use jwtd_verify::{Verified, Verifier, VerifyLayer};
///
/// async fn whoami(Extension(caller): Extension<Verified>) -> String {
///     caller.user_id().to_owned()
/// }
///
/// let verifier = Verifier::builder()
///     .secret(Algorithm::HS256, b"an example secret of at least 32 bytes!")
///     .build_static()?;
/// let app: Router = Router::new()
///     .route("/whoami", get(whoami))
///     .layer(VerifyLayer::new(verifier));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Debug)]
pub struct VerifyLayer {
    verifier: Verifier,
}

impl VerifyLayer {
    /// A layer verifying with `verifier`.
    pub fn new(verifier: Verifier) -> VerifyLayer {
        VerifyLayer { verifier }
    }
}

impl<S> Layer<S> for VerifyLayer {
    type Service = VerifyService<S>;

    fn layer(&self, inner: S) -> Self::Service {
        VerifyService {
            inner,
            verifier: self.verifier.clone(),
        }
    }
}

/// The service [`VerifyLayer`] wraps around a router or handler.
#[derive(Clone, Debug)]
pub struct VerifyService<S> {
    inner: S,
    verifier: Verifier,
}

impl<S> Service<Request> for VerifyService<S>
where
    S: Service<Request, Response = Response> + Clone + Send + 'static,
    S::Future: Send + 'static,
{
    type Response = Response;
    type Error = S::Error;
    type Future = ResponseFuture<S::Future, S::Error>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut request: Request) -> Self::Future {
        let inner = self.verifier.inner();
        let now = now();
        let header = request
            .headers()
            .get(&inner.header_name)
            .map(|v| v.as_bytes());
        match inner.verify_header_cached(header, now) {
            Ok(verified) => {
                request.extensions_mut().insert(verified);
                ResponseFuture::inner(self.inner.call(request))
            }
            Err(miss) if inner.may_refetch(miss.kind) => {
                // The ready service goes with the request; a clone takes its place.
                let clone = self.inner.clone();
                let service = std::mem::replace(&mut self.inner, clone);
                let verifier = self.verifier.clone();
                ResponseFuture::waiting(Box::pin(after_refetch(
                    verifier,
                    service,
                    request,
                    miss.generation,
                    now,
                )))
            }
            Err(miss) => ResponseFuture::refused(inner.error(miss.kind)),
        }
    }
}

/// The slow path: wait for the JWKS refetch, verify again, then serve or refuse.
async fn after_refetch<S>(
    verifier: Verifier,
    mut service: S,
    mut request: Request,
    generation: u64,
    now: i64,
) -> Result<Response, S::Error>
where
    S: Service<Request, Response = Response>,
{
    let inner = verifier.inner();
    inner.refetch_for(generation).await;
    let header = request
        .headers()
        .get(&inner.header_name)
        .map(|v| v.as_bytes());
    match inner.verify_header_cached(header, now) {
        Ok(verified) => {
            request.extensions_mut().insert(verified);
            service.call(request).await
        }
        Err(miss) => Ok(inner.error(miss.kind).into_response()),
    }
}

type Waiting<E> = Pin<Box<dyn Future<Output = Result<Response, E>> + Send>>;

pin_project! {
    /// The response future of [`VerifyService`].
    pub struct ResponseFuture<F, E> {
        #[pin]
        state: State<F, E>,
    }
}

pin_project! {
    #[project = StateProj]
    enum State<F, E> {
        Inner { #[pin] future: F },
        Waiting { future: Waiting<E> },
        Refused { response: Option<Response> },
    }
}

impl<F, E> ResponseFuture<F, E> {
    fn inner(future: F) -> Self {
        ResponseFuture {
            state: State::Inner { future },
        }
    }

    fn waiting(future: Waiting<E>) -> Self {
        ResponseFuture {
            state: State::Waiting { future },
        }
    }

    fn refused(error: crate::VerifyError) -> Self {
        ResponseFuture {
            state: State::Refused {
                response: Some(error.into_response()),
            },
        }
    }
}

impl<F, E> Future for ResponseFuture<F, E>
where
    F: Future<Output = Result<Response, E>>,
{
    type Output = Result<Response, E>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        match self.project().state.project() {
            StateProj::Inner { future } => future.poll(cx),
            StateProj::Waiting { future } => future.as_mut().poll(cx),
            StateProj::Refused { response } => {
                // Polled again after `Ready` is a caller bug; answer the same way rather
                // than panic.
                let response = response.take().unwrap_or_else(|| {
                    axum::http::StatusCode::INTERNAL_SERVER_ERROR.into_response()
                });
                Poll::Ready(Ok(response))
            }
        }
    }
}
