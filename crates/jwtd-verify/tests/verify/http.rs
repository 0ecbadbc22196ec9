//! The axum extractor and the tower layer: what a client sees, byte for byte.

use axum::body::Body;
use axum::extract::FromRef;
use axum::http::{Request, StatusCode, header};
use axum::routing::get;
use axum::{Extension, Json, Router};
use jwtd_token::Algorithm;
use jwtd_verify::{Claims, Verified, Verifier, VerifyLayer};
use serde_json::{Value, json};
use tower::ServiceExt;

use crate::helpers::{Issuer, JwksServer, jwks_of, now, tampered};

const NOT_PROVIDED: &str = r#"{"detail":"Authentication credentials were not provided."}"#;
const BAD_HEADER: &str = r#"{"detail":"Authorization header must contain two space-delimited values","code":"bad_authorization_header"}"#;

fn invalid(message: &str) -> String {
    format!(
        r#"{{"detail":"Given token not valid for any token type","code":"token_not_valid","messages":[{{"token_class":"AccessToken","token_type":"access","message":"{message}"}}]}}"#
    )
}

#[derive(Clone)]
struct AppState {
    verifier: Verifier,
}

impl FromRef<AppState> for Verifier {
    fn from_ref(state: &AppState) -> Verifier {
        state.verifier.clone()
    }
}

#[derive(serde::Deserialize)]
struct Caller {
    user_id: String,
    token_type: String,
}

async fn whoami(caller: Verified) -> Json<Value> {
    Json(json!({ "user_id": caller.user_id() }))
}

async fn typed(Claims(caller): Claims<Caller>) -> String {
    format!("{} {}", caller.user_id, caller.token_type)
}

async fn maybe(caller: Option<Verified>) -> String {
    caller.map_or_else(|| "anonymous".to_owned(), |c| c.user_id().to_owned())
}

async fn from_layer(Extension(caller): Extension<Verified>) -> String {
    caller.user_id().to_owned()
}

/// Status, headers of interest and body text.
async fn call(
    app: Router,
    authorization: Option<&str>,
) -> (StatusCode, Option<String>, Option<String>, String) {
    let mut request = Request::get("/r");
    if let Some(value) = authorization {
        request = request.header(header::AUTHORIZATION, value);
    }
    let response = app
        .oneshot(request.body(Body::empty()).unwrap())
        .await
        .unwrap();
    let text = |name| {
        response
            .headers()
            .get(name)
            .map(|v: &axum::http::HeaderValue| v.to_str().unwrap().to_owned())
    };
    let (status, challenge, content_type) = (
        response.status(),
        text(header::WWW_AUTHENTICATE),
        text(header::CONTENT_TYPE),
    );
    let body = axum::body::to_bytes(response.into_body(), 1 << 20)
        .await
        .unwrap();
    (
        status,
        challenge,
        content_type,
        String::from_utf8(body.to_vec()).unwrap(),
    )
}

/// Every refusal a protected route gives, as a client sees it.
async fn assert_refusals(app: &Router, issuer: &Issuer) {
    let expired = issuer.pair_at(1, now() - 1000).access.token;
    let refresh = issuer.pair_at(1, now()).refresh.token;
    let cases = [
        (None, NOT_PROVIDED.to_owned()),
        (
            Some("Basic dXNlcjpwdw==".to_owned()),
            NOT_PROVIDED.to_owned(),
        ),
        (Some("Bearer".to_owned()), BAD_HEADER.to_owned()),
        (Some("Bearer a b".to_owned()), BAD_HEADER.to_owned()),
        (
            Some("Bearer not-a-token".to_owned()),
            invalid("Token is invalid"),
        ),
        (
            Some(format!("Bearer {}", tampered(&issuer.access(1)))),
            invalid("Token is invalid"),
        ),
        (
            Some(format!("Bearer {expired}")),
            invalid("Token is expired"),
        ),
        (
            Some(format!("Bearer {refresh}")),
            invalid("Token has wrong type"),
        ),
    ];
    for (authorization, body) in cases {
        let (status, challenge, content_type, text) =
            call(app.clone(), authorization.as_deref()).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{authorization:?}");
        assert_eq!(challenge.as_deref(), Some("Bearer realm=\"api\""));
        assert_eq!(content_type.as_deref(), Some("application/json"));
        assert_eq!(text, body, "{authorization:?}");
    }
}

async fn jwks_verifier(issuer: &Issuer) -> (JwksServer, Verifier) {
    let server = JwksServer::start(&jwks_of(&[issuer])).await;
    let verifier = Verifier::builder()
        .jwks_url(server.url())
        .build()
        .await
        .unwrap();
    (server, verifier)
}

#[tokio::test]
async fn the_extractor_serves_valid_tokens_and_refuses_the_rest() {
    let issuer = Issuer::new(Algorithm::ES256);
    let (_server, verifier) = jwks_verifier(&issuer).await;
    let app = Router::new()
        .route("/r", get(whoami))
        .with_state(AppState { verifier });
    let token = issuer.access(42);
    let (status, _, _, body) = call(app.clone(), Some(&format!("Bearer {token}"))).await;
    assert_eq!(
        (status, body.as_str()),
        (StatusCode::OK, r#"{"user_id":"42"}"#)
    );
    assert_refusals(&app, &issuer).await;
}

#[tokio::test]
async fn typed_and_optional_extractors() {
    let issuer = Issuer::new(Algorithm::ES256);
    let (_server, verifier) = jwks_verifier(&issuer).await;
    let token = issuer.access(42);
    let bearer = format!("Bearer {token}");

    let typed_app = Router::new()
        .route("/r", get(typed))
        .with_state(verifier.clone());
    let (status, _, _, body) = call(typed_app.clone(), Some(&bearer)).await;
    assert_eq!((status, body.as_str()), (StatusCode::OK, "42 access"));
    // Claims that do not fit the handler's type: refused like an invalid token.
    let odd = issuer.access_with(vec![("user_id", json!(42))]);
    let (status, _, _, body) = call(typed_app, Some(&format!("Bearer {odd}"))).await;
    assert_eq!(
        (status, body),
        (StatusCode::UNAUTHORIZED, invalid("Token is invalid"))
    );

    let optional = Router::new().route("/r", get(maybe)).with_state(verifier);
    let (status, _, _, body) = call(optional.clone(), None).await;
    assert_eq!((status, body.as_str()), (StatusCode::OK, "anonymous"));
    let (status, _, _, body) = call(optional.clone(), Some(&bearer)).await;
    assert_eq!((status, body.as_str()), (StatusCode::OK, "42"));
    // A bad token is refused even where anonymous callers are welcome (DRF does the same).
    let (status, _, _, body) = call(optional, Some("Bearer x.y.z")).await;
    assert_eq!(
        (status, body),
        (StatusCode::UNAUTHORIZED, invalid("Token is invalid"))
    );
}

#[tokio::test]
async fn the_layer_guards_a_whole_router() {
    let issuer = Issuer::new(Algorithm::EdDSA);
    let (server, verifier) = jwks_verifier(&issuer).await;
    let app = Router::new()
        .route("/r", get(from_layer))
        .layer(VerifyLayer::new(verifier.clone()));
    let (status, _, _, body) =
        call(app.clone(), Some(&format!("Bearer {}", issuer.access(7)))).await;
    assert_eq!((status, body.as_str()), (StatusCode::OK, "7"));
    assert_refusals(&app, &issuer).await;

    // A rotated key goes through the layer's slow path: one refetch, then served.
    let new = Issuer::new(Algorithm::EdDSA);
    server.serve(&jwks_of(&[&issuer, &new]));
    let (status, _, _, body) = call(app.clone(), Some(&format!("Bearer {}", new.access(8)))).await;
    assert_eq!((status, body.as_str()), (StatusCode::OK, "8"));
    assert_eq!(verifier.fetch_count(), 2);

    // The layer and the extractor together verify once: the extractor takes the layer's result.
    let both = Router::new()
        .route("/r", get(whoami))
        .layer(VerifyLayer::new(verifier.clone()))
        .with_state(verifier);
    let (status, _, _, body) = call(both, Some(&format!("Bearer {}", new.access(9)))).await;
    assert_eq!(
        (status, body.as_str()),
        (StatusCode::OK, r#"{"user_id":"9"}"#)
    );
}

#[tokio::test]
async fn without_keys_the_answer_is_503_without_a_challenge() {
    let issuer = Issuer::new(Algorithm::ES256);
    let server = JwksServer::start(&jwks_of(&[&issuer])).await;
    server.set(|s| s.status = 500);
    let verifier = Verifier::builder()
        .jwks_url(server.url())
        .allow_start_without_keys(true)
        .build()
        .await
        .unwrap();
    let app = Router::new()
        .route("/r", get(from_layer))
        .layer(VerifyLayer::new(verifier));
    let (status, challenge, _, body) =
        call(app.clone(), Some(&format!("Bearer {}", issuer.access(1)))).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(challenge, None);
    assert_eq!(body, r#"{"detail":"Service temporarily unavailable."}"#);
    // Header problems are still the caller's, and answered first.
    let (status, _, _, body) = call(app, None).await;
    assert_eq!(
        (status, body.as_str()),
        (StatusCode::UNAUTHORIZED, NOT_PROVIDED)
    );
}
