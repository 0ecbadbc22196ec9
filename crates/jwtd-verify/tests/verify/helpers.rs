//! A real JWKS server on 127.0.0.1:0 whose answers a test changes and breaks, an issuer that
//! mints tokens with jwtd-token, and waiting on conditions with a deadline.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jwtd_token::{
    Algorithm, KeyEntry, KeySet, KeyState, Keys, Pair, Policy, Subject, TokenEngine, generate,
};
use serde_json::{Value, json};
use tokio::sync::oneshot;

/// What the JWKS server answers.
#[derive(Clone, Debug)]
pub struct Served {
    pub status: u16,
    pub body: String,
    pub cache_control: Option<String>,
    /// How long the server takes to answer.
    pub delay: Duration,
}

struct Shared {
    served: Mutex<Served>,
    requests: AtomicU64,
}

/// A JWKS endpoint at `url()`, answering what the test last set.
pub struct JwksServer {
    addr: SocketAddr,
    shared: Arc<Shared>,
    shutdown: Option<oneshot::Sender<()>>,
}

async fn serve_jwks(State(shared): State<Arc<Shared>>) -> Response {
    shared.requests.fetch_add(1, Ordering::SeqCst);
    let served = shared.served.lock().unwrap().clone();
    tokio::time::sleep(served.delay).await;
    let status = StatusCode::from_u16(served.status).unwrap();
    let mut response = (
        status,
        [(header::CONTENT_TYPE, "application/json")],
        served.body,
    )
        .into_response();
    if let Some(cache_control) = served.cache_control {
        response
            .headers_mut()
            .insert(header::CACHE_CONTROL, cache_control.parse().unwrap());
    }
    response
}

impl JwksServer {
    /// A server answering `jwks` with `Cache-Control: public, max-age=3600`.
    pub async fn start(jwks: &Value) -> JwksServer {
        let shared = Arc::new(Shared {
            served: Mutex::new(Served {
                status: 200,
                body: jwks.to_string(),
                cache_control: Some("public, max-age=3600".to_owned()),
                delay: Duration::ZERO,
            }),
            requests: AtomicU64::new(0),
        });
        let app = Router::new()
            .route("/.well-known/jwks.json", get(serve_jwks))
            .with_state(Arc::clone(&shared));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let (tx, rx) = oneshot::channel::<()>();
        tokio::spawn(async move {
            axum::serve(listener, app)
                .with_graceful_shutdown(async {
                    let _ = rx.await;
                })
                .await
                .unwrap();
        });
        JwksServer {
            addr,
            shared,
            shutdown: Some(tx),
        }
    }

    pub fn url(&self) -> String {
        format!("http://{}/.well-known/jwks.json", self.addr)
    }

    /// Requests served so far.
    pub fn requests(&self) -> u64 {
        self.shared.requests.load(Ordering::SeqCst)
    }

    pub fn set(&self, change: impl FnOnce(&mut Served)) {
        change(&mut self.shared.served.lock().unwrap());
    }

    /// Serves `jwks` with status 200.
    pub fn serve(&self, jwks: &Value) {
        self.set(|s| {
            s.status = 200;
            s.body = jwks.to_string();
        });
    }

    /// Stops listening: connections are refused from now on.
    pub fn shut_down(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
    }
}

/// Signs tokens with one key, under its own policy.
pub struct Issuer {
    pub alg: Algorithm,
    material: String,
    pub engine: TokenEngine,
}

impl Issuer {
    pub fn new(alg: Algorithm) -> Issuer {
        Issuer::with_material(alg, generate(alg).unwrap())
    }

    fn with_material(alg: Algorithm, material: String) -> Issuer {
        let engine = engine_of(alg, &material, Policy::default());
        Issuer {
            alg,
            material,
            engine,
        }
    }

    /// The same key under another policy (issuer, audience, claim names).
    pub fn with_policy(&self, policy: Policy) -> Issuer {
        Issuer {
            alg: self.alg,
            material: self.material.clone(),
            engine: engine_of(self.alg, &self.material, policy),
        }
    }

    pub fn kid(&self) -> String {
        self.engine.keys().entries()[0].kid().to_owned()
    }

    /// The issuer's key set, private key included.
    pub fn key_set(&self) -> KeySet {
        key_set_of(self.alg, &self.material)
    }

    /// The key's material (an HMAC secret, a PEM private key).
    pub fn material(&self) -> &str {
        &self.material
    }

    /// The public JWK, as the issuer's JWKS lists it.
    pub fn jwk(&self) -> Value {
        self.engine.jwks(now())["keys"][0].clone()
    }

    pub fn pair_at(&self, user_id: i64, at: i64) -> Pair {
        self.engine.issue_pair(user_id, at).unwrap()
    }

    /// An access token for `user_id`, issued now.
    pub fn access(&self, user_id: i64) -> String {
        self.pair_at(user_id, now()).access.token
    }

    /// An access token with extra claims (which replace a registered one of the same name).
    pub fn access_with(&self, claims: Vec<(&str, Value)>) -> String {
        let subject = Subject {
            user_id: "7".to_owned(),
            claims: claims.into_iter().map(|(k, v)| (k.to_owned(), v)).collect(),
        };
        self.engine
            .issue_pair_for(&subject, now())
            .unwrap()
            .access
            .token
    }
}

fn key_set_of(alg: Algorithm, material: &str) -> KeySet {
    let keys = Keys::new(alg, material.as_bytes(), None).unwrap();
    KeySet::new(vec![KeyEntry::new(keys, KeyState::Active)]).unwrap()
}

fn engine_of(alg: Algorithm, material: &str, policy: Policy) -> TokenEngine {
    TokenEngine::new(key_set_of(alg, material), policy)
}

/// A JWKS of every issuer's public key.
pub fn jwks_of(issuers: &[&Issuer]) -> Value {
    json!({ "keys": issuers.iter().map(|i| i.jwk()).collect::<Vec<_>>() })
}

pub fn now() -> i64 {
    jwtd_verify::now()
}

/// `token` with its header replaced by `header` (the signature no longer matches).
pub fn with_header(token: &str, header: &Value) -> String {
    let (_, rest) = token.split_once('.').unwrap();
    format!("{}.{rest}", URL_SAFE_NO_PAD.encode(header.to_string()))
}

/// `token` with one signature character changed (still canonical base64url).
pub fn tampered(token: &str) -> String {
    let dot = token.rfind('.').unwrap();
    let at = dot + 1 + (token.len() - dot) / 2;
    let mut bytes = token.as_bytes().to_vec();
    bytes[at] = if bytes[at] == b'A' { b'B' } else { b'A' };
    String::from_utf8(bytes).unwrap()
}

/// Waits until `condition` holds, failing the test after `within`.
pub async fn wait_until<F, Fut>(within: Duration, what: &str, mut condition: F)
where
    F: FnMut() -> Fut,
    Fut: Future<Output = bool>,
{
    let deadline = tokio::time::Instant::now() + within;
    loop {
        if condition().await {
            return;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "timed out waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

pub fn base64_url(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

/// A token of `header` and `claims` MACed with HMAC-SHA-256 under `secret`.
pub fn hs256(header: &Value, claims: &Value, secret: &[u8]) -> String {
    use aws_lc_rs::hmac;
    let signing_input = format!(
        "{}.{}",
        base64_url(header.to_string().as_bytes()),
        base64_url(claims.to_string().as_bytes())
    );
    let key = hmac::Key::new(hmac::HMAC_SHA256, secret);
    let tag = hmac::sign(&key, signing_input.as_bytes());
    format!("{signing_input}.{}", base64_url(tag.as_ref()))
}

/// `token`'s claims under a header `{"alg": alg, "kid": kid}`, MACed with `secret`.
pub fn with_kid(token: &str, alg: &str, kid: &str, secret: &[u8]) -> String {
    let payload = token.split('.').nth(1).unwrap();
    let claims: Value = serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).unwrap()).unwrap();
    hs256(
        &json!({"alg": alg, "kid": kid, "typ": "JWT"}),
        &claims,
        secret,
    )
}
