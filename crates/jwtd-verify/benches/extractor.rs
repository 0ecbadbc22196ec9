//! What jwtd-verify adds to bare token verification. Goal: `verify` and `extractor` within
//! 1.05 × `bare`.
//!
//! Per algorithm (HS256, ES256; static keys), one group with:
//! - `bare`: `TokenEngine::decode` + `Decoded::check(Access)` at a fixed `now`.
//! - `verify`: `Verifier::verify` (clock read, key set load, the same decode and check, user id).
//! - `extractor`: the `Verified` axum extractor on an `http::request::Parts` holding
//!   `Authorization: Bearer <token>` (header lookup and split, then `verify`).
//!
//! The futures never wait on this path (static keys), so they are polled once with a no-op
//! waker: no runtime in the figures. A second group per algorithm runs whole requests through a
//! one-route router with `oneshot` on a current-thread runtime: `router` (no authentication),
//! `router+layer` (`VerifyLayer`) and `router+extractor` (a handler taking `Verified`); their
//! difference to `router` is what authentication costs a request.
//!
//! ```sh
//! cargo bench -p jwtd-verify --bench extractor -- --warm-up-time 1 --measurement-time 3
//! ```

// `criterion_group!` generates a public function that cannot carry a doc comment.
#![allow(missing_docs)]

use std::future::Future;
use std::hint::black_box;
use std::pin::pin;
use std::task::{Context, Poll, Waker};

use axum::Router;
use axum::body::Body;
use axum::extract::FromRequestParts;
use axum::http::{Request, header};
use axum::routing::get;
use criterion::{Criterion, criterion_group, criterion_main};
use jwtd_token::{
    Algorithm, KeyEntry, KeySet, KeyState, Keys, Policy, TokenEngine, TokenType, generate,
};
use jwtd_verify::{Verified, Verifier, VerifyLayer};
use tower::ServiceExt;

/// Polls a future that must not wait.
fn ready<F: Future>(future: F) -> F::Output {
    let mut future = pin!(future);
    match future
        .as_mut()
        .poll(&mut Context::from_waker(Waker::noop()))
    {
        Poll::Ready(output) => output,
        Poll::Pending => panic!("the static-key path never waits"),
    }
}

fn set(alg: Algorithm, material: &str) -> KeySet {
    let keys = Keys::new(alg, material.as_bytes(), None).unwrap();
    KeySet::new(vec![KeyEntry::new(keys, KeyState::Active)]).unwrap()
}

fn bench_alg(c: &mut Criterion, alg: Algorithm) {
    let material = generate(alg).unwrap();
    let engine = TokenEngine::new(set(alg, &material), Policy::default());
    let now = jwtd_verify::now();
    let token = engine.issue_pair(42, now).unwrap().access.token;
    let verifier = Verifier::builder()
        .key_set(set(alg, &material))
        .build_static()
        .unwrap();
    let (mut parts, ()) = Request::get("/r")
        .header(header::AUTHORIZATION, format!("Bearer {token}"))
        .body(())
        .unwrap()
        .into_parts();
    assert_eq!(
        ready(verifier.verify(&token)).unwrap().user_id(),
        "42",
        "the token verifies"
    );

    let mut group = c.benchmark_group(alg.as_str());
    group.bench_function("bare", |b| {
        b.iter(|| {
            let decoded = engine.decode(black_box(&token), now).unwrap();
            decoded.check(Some(TokenType::Access)).unwrap();
            decoded
        })
    });
    group.bench_function("verify", |b| {
        b.iter(|| ready(verifier.verify(black_box(&token))).unwrap())
    });
    group.bench_function("extractor", |b| {
        b.iter(|| {
            ready(Verified::from_request_parts(
                black_box(&mut parts),
                &verifier,
            ))
            .unwrap()
        })
    });
    group.finish();

    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    let plain: Router = Router::new().route("/r", get(|| async { "ok" }));
    let layered: Router = Router::new()
        .route("/r", get(|| async { "ok" }))
        .layer(VerifyLayer::new(verifier.clone()));
    let extracting: Router = Router::new()
        .route("/r", get(|_: Verified| async { "ok" }))
        .with_state(verifier.clone());
    let bearer = format!("Bearer {token}");
    let request = || {
        Request::get("/r")
            .header(header::AUTHORIZATION, &bearer)
            .body(Body::empty())
            .unwrap()
    };
    let mut group = c.benchmark_group(format!("{alg}/request"));
    for (name, app) in [
        ("router", &plain),
        ("router+layer", &layered),
        ("router+extractor", &extracting),
    ] {
        group.bench_function(name, |b| {
            b.iter(|| {
                let response = runtime.block_on(app.clone().oneshot(request())).unwrap();
                assert!(response.status().is_success());
                response
            })
        });
    }
    group.finish();
}

fn benches(c: &mut Criterion) {
    bench_alg(c, Algorithm::HS256);
    bench_alg(c, Algorithm::ES256);
}

criterion_group!(extractor, benches);
criterion_main!(extractor);
