//! The harness every API test uses: a real server on port 0 over a fresh SQLite file, typed
//! request helpers, exact-response assertions, and an independent token minter.
//!
//! The minter signs with aws-lc-rs directly (HMAC, RSA PKCS#1, ECDSA) and base64url, never with
//! jwtd-token, so a test can craft the tokens PyJWT would (expired, without `jti`, `user_id` as
//! `true`, `alg: none`, ...) and a bug shared by signer and verifier cannot hide itself.
//! Time is passed in through the claims: no test sleeps until a token expires.

use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;
use std::sync::{Arc, Mutex, OnceLock};

use aws_lc_rs::encoding::AsDer;
use aws_lc_rs::rand::{SecureRandom, SystemRandom};
use aws_lc_rs::signature::{self, KeyPair};
use aws_lc_rs::{hmac, rsa};
use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use jwtd_server::{AppState, config};
use jwtd_store::{NewUser, Store, User};
use jwtd_store_sqlite::{DjangoSqliteStore, SqliteStore};
use reqwest::Method;
use reqwest::header::HeaderMap;
use serde_json::{Map, Value, json};
use tokio::sync::oneshot;

/// The HS256 secret the contract was recorded with.
pub const SECRET: &str = "contract-recording-hs256-secret-0123456789abcdef";
/// Every test user's password unless a test says otherwise.
pub const PASSWORD: &str = "correct horse battery staple";

pub const BAD_CREDENTIALS: &str =
    r#"{"detail":"No active account found with the given credentials"}"#;
pub const NO_ACTIVE_ACCOUNT: &str = r#"{"detail":"No active account found for the given token."}"#;
pub const NOT_PROVIDED: &str = r#"{"detail":"Authentication credentials were not provided."}"#;
pub const BAD_HEADER: &str = r#"{"detail":"Authorization header must contain two space-delimited values","code":"bad_authorization_header"}"#;
pub const NO_USER_ID: &str =
    r#"{"detail":"Token contained no recognizable user identification","code":"token_not_valid"}"#;
pub const USER_NOT_FOUND: &str = r#"{"detail":"User not found","code":"user_not_found"}"#;
pub const USER_INACTIVE: &str = r#"{"detail":"User is inactive","code":"user_inactive"}"#;
pub const EMPTY: &str = "{}";

/// A token endpoint's refusal: `{"detail":"<message>","code":"token_not_valid"}`.
pub fn token_error(message: &str) -> String {
    format!(r#"{{"detail":"{message}","code":"token_not_valid"}}"#)
}

/// A protected endpoint's refusal with the default `AUTH_TOKEN_CLASSES` (AccessToken only).
pub fn access_error(message: &str) -> String {
    format!(
        r#"{{"detail":"Given token not valid for any token type","code":"token_not_valid","messages":[{{"token_class":"AccessToken","token_type":"access","message":"{message}"}}]}}"#
    )
}

/// `GET /hello/`'s greeting.
pub fn hello_body(username: &str) -> String {
    format!(r#"{{"message":"Hello, {username}!"}}"#)
}

/// The current time in Unix seconds.
pub fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock after 1970")
        .as_secs() as i64
}

/// A running server and what a test needs to talk to it and to its store: jwtd's own schema
/// ([`SqliteStore`], [`spawn_app`]) or a Django project's tables (`DjangoSqliteStore`,
/// [`Django`]).
pub struct TestApp<S = SqliteStore> {
    /// `http://127.0.0.1:<port>`.
    pub address: String,
    /// A client that does not follow redirects.
    pub client: reqwest::Client,
    /// The server's store, for setting users up behind its back.
    pub store: Arc<S>,
    /// The SQLite database file.
    pub db: PathBuf,
    /// The server's state (for its password hasher).
    pub state: AppState,
    /// The configured signing key: the HMAC secret or the PEM private key.
    pub key: String,
    /// The configured algorithm.
    pub alg: String,
    shutdown: Option<oneshot::Sender<()>>,
    _dir: tempfile::TempDir,
}

impl<S> Drop for TestApp<S> {
    fn drop(&mut self) {
        if let Some(shutdown) = self.shutdown.take() {
            let _ = shutdown.send(());
        }
    }
}

/// Starts a server configured by `vars` (`JWTD_*` variables) over a fresh database.
///
/// `JWTD_SIGNING_KEY` defaults to [`SECRET`].
pub async fn spawn_app(vars: &[(&str, &str)]) -> TestApp {
    let dir = tempfile::tempdir().expect("temp dir");
    let db = dir.path().join("jwtd.db");
    let env = test_env(&dir, &db, vars);
    let (config, warnings) = config::load(None, &env).expect("configuration loads");
    assert!(
        warnings.is_empty(),
        "unexpected configuration warnings: {warnings:?}"
    );
    // A test may put the database elsewhere (on a small disk, say).
    let db = SqliteStore::path_from_url(&env["JWTD_DATABASE_URL"]).expect("an sqlite:// URL");
    let store = Arc::new(SqliteStore::open(&db).expect("store opens"));
    store.migrate().await.expect("migrations run");
    serve_app(&env, &config, store, db, dir).expect("state builds")
}

/// The environment of a test server: its database, data directory and [`SECRET`], login
/// throttling off, then `vars`.
fn test_env(
    dir: &tempfile::TempDir,
    db: &std::path::Path,
    vars: &[(&str, &str)],
) -> BTreeMap<String, String> {
    let mut env = BTreeMap::new();
    env.insert(
        "JWTD_DATABASE_URL".to_owned(),
        format!("sqlite://{}", db.display()),
    );
    env.insert("JWTD_DATA_DIR".to_owned(), dir.path().display().to_string());
    env.insert("JWTD_SIGNING_KEY".to_owned(), SECRET.to_owned());
    // Most suites log in far more often than a real client may; the throttling tests turn it on.
    env.insert("JWTD_LOGIN_RATE_PER_ADDRESS".to_owned(), "off".to_owned());
    env.insert("JWTD_LOGIN_RATE_PER_USERNAME".to_owned(), "off".to_owned());
    for (name, value) in vars {
        env.insert((*name).to_owned(), (*value).to_owned());
    }
    env
}

/// Builds the state over a ready `store` and serves it on port 0; the state's refusal (e.g. a
/// `token_claims` field the store lacks) is returned as it is.
fn serve_app<S: Store + 'static>(
    env: &BTreeMap<String, String>,
    config: &config::Config,
    store: Arc<S>,
    db: PathBuf,
    dir: tempfile::TempDir,
) -> Result<TestApp<S>, jwtd_server::StateError> {
    let key = env["JWTD_SIGNING_KEY"].clone();
    let alg = env
        .get("JWTD_ALGORITHM")
        .cloned()
        .unwrap_or_else(|| "HS256".to_owned());
    let keys = config.load_keys(|_| {}).expect("keys load");
    let dyn_store: Arc<dyn Store> = store.clone();
    let state = jwtd_server::app_state(config, dyn_store, keys)?;

    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind port 0");
    let address = format!("http://{}", listener.local_addr().expect("local address"));
    let (shutdown, stop) = oneshot::channel::<()>();
    tokio::spawn(jwtd_server::serve(
        jwtd_server::Listeners {
            api: listener,
            metrics: None,
        },
        state.clone(),
        config.server.limits,
        None,
        async move {
            let _ = stop.await;
        },
    ));
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client builds");
    Ok(TestApp {
        address,
        client,
        store,
        db,
        state,
        key,
        alg,
        shutdown: Some(shutdown),
        _dir: dir,
    })
}

/// Which view answered, for the headers it must send.
#[derive(Clone, Copy, Debug)]
pub enum View {
    /// No view-specific headers (unknown paths).
    Any,
    /// A token view: `Allow: POST, OPTIONS`, `Cache-Control: no-store`.
    Token,
    /// A protected view: `Allow: GET, HEAD, OPTIONS`.
    Protected,
}

/// Collects the mismatches of a table of cases, so one run reports every deviation at once.
#[derive(Default)]
pub struct Failures(Vec<String>);

impl Failures {
    /// Records `reply`'s problems against the expectation, under `case`.
    pub fn check(&mut self, case: &str, reply: &Reply, status: u16, body: &str, view: View) {
        for problem in reply.problems(status, body, view) {
            self.0.push(format!("{case}: {problem}"));
        }
    }

    /// Fails the test listing every recorded mismatch.
    #[track_caller]
    pub fn assert_none(self) {
        assert!(
            self.0.is_empty(),
            "{} mismatch(es):\n{}",
            self.0.len(),
            self.0.join("\n")
        );
    }
}

/// An HTTP answer, read whole.
#[derive(Debug)]
pub struct Reply {
    pub status: u16,
    pub headers: HeaderMap,
    pub body: String,
}

impl Reply {
    async fn read(response: reqwest::Response) -> Reply {
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let body = response.text().await.expect("response body");
        Reply {
            status,
            headers,
            body,
        }
    }

    /// A header's value as text.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .get(name)
            .map(|v| v.to_str().expect("ASCII header"))
    }

    /// Everything about this reply that differs from `status`, exact `body`,
    /// `Content-Type: application/json`, a matching `Content-Length`,
    /// `WWW-Authenticate: Bearer realm="api"` on a 401 and only there, and the `view`'s headers.
    pub fn problems(&self, status: u16, body: &str, view: View) -> Vec<String> {
        let mut problems = Vec::new();
        let mut check = |what: &str, found: Option<&str>, expected: Option<&str>| {
            if found != expected {
                problems.push(format!("{what}: expected {expected:?}, got {found:?}"));
            }
        };
        check(
            "status",
            Some(&self.status.to_string()),
            Some(&status.to_string()),
        );
        check("body", Some(&self.body), Some(body));
        check(
            "Content-Type",
            self.header("content-type"),
            Some("application/json"),
        );
        if let Some(length) = self.header("content-length") {
            check(
                "Content-Length",
                Some(length),
                Some(&self.body.len().to_string()),
            );
        }
        let www = (status == 401).then_some(r#"Bearer realm="api""#);
        check("WWW-Authenticate", self.header("www-authenticate"), www);
        match view {
            View::Any => {}
            View::Token => {
                check("Allow", self.header("allow"), Some("POST, OPTIONS"));
                check(
                    "Cache-Control",
                    self.header("cache-control"),
                    Some("no-store"),
                );
            }
            View::Protected => check("Allow", self.header("allow"), Some("GET, HEAD, OPTIONS")),
        }
        problems
    }

    #[track_caller]
    fn assert(&self, status: u16, body: &str, view: View) -> &Reply {
        let problems = self.problems(status, body, view);
        assert!(problems.is_empty(), "{}", problems.join("\n"));
        self
    }

    /// Status and exact body, JSON content type and length, `WWW-Authenticate` exactly on a 401.
    #[track_caller]
    pub fn expect(&self, status: u16, body: &str) -> &Reply {
        self.assert(status, body, View::Any)
    }

    /// [`Reply::expect`] plus a token view's `Allow: POST, OPTIONS` and `Cache-Control: no-store`.
    #[track_caller]
    pub fn expect_token(&self, status: u16, body: &str) -> &Reply {
        self.assert(status, body, View::Token)
    }

    /// [`Reply::expect`] plus a protected view's `Allow: GET, HEAD, OPTIONS`.
    #[track_caller]
    pub fn expect_protected(&self, status: u16, body: &str) -> &Reply {
        self.assert(status, body, View::Protected)
    }

    /// A token view's 200 whose body is exactly `{"<k1>":"<jwt>",...}` with `keys` in this
    /// order; returns the tokens.
    #[track_caller]
    pub fn tokens(&self, keys: &[&str]) -> Vec<String> {
        assert_eq!(
            self.status, 200,
            "expected 200, got {}: {}",
            self.status, self.body
        );
        let map: Map<String, Value> = serde_json::from_str(&self.body).expect("JSON object body");
        let found: Vec<&str> = map.keys().map(String::as_str).collect();
        assert_eq!(found, keys, "body keys in order: {}", self.body);
        let tokens: Vec<String> = map
            .values()
            .map(|v| v.as_str().expect("token is a string").to_owned())
            .collect();
        let rebuilt = keys
            .iter()
            .zip(&tokens)
            .map(|(k, t)| format!(r#""{k}":"{t}""#))
            .collect::<Vec<_>>()
            .join(",");
        self.expect_token(200, &format!("{{{rebuilt}}}"));
        tokens
    }
}

impl<S> TestApp<S> {
    /// Sends `method path` with optional headers and body.
    pub async fn send(
        &self,
        method: Method,
        path: &str,
        headers: &[(&str, &str)],
        body: Option<Vec<u8>>,
    ) -> Reply {
        let mut request = self
            .client
            .request(method, format!("{}{path}", self.address));
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        if let Some(body) = body {
            request = request.body(body);
        }
        Reply::read(request.send().await.expect("request sent")).await
    }

    /// `POST path` with a JSON body.
    pub async fn post_json(&self, path: &str, body: &Value) -> Reply {
        let bytes = serde_json::to_vec(body).expect("JSON body");
        self.post_raw(path, Some("application/json"), bytes).await
    }

    /// `POST path` with `body` as is, under `content_type` (none when `None`).
    pub async fn post_raw(
        &self,
        path: &str,
        content_type: Option<&str>,
        body: impl Into<Vec<u8>>,
    ) -> Reply {
        let headers: Vec<(&str, &str)> = content_type
            .map(|ct| ("Content-Type", ct))
            .into_iter()
            .collect();
        self.send(Method::POST, path, &headers, Some(body.into()))
            .await
    }

    /// `GET path` without credentials.
    pub async fn get(&self, path: &str) -> Reply {
        self.send(Method::GET, path, &[], None).await
    }

    /// `GET path` with `Authorization: <header>` as is.
    pub async fn get_with_auth(&self, path: &str, header: &str) -> Reply {
        self.send(Method::GET, path, &[("Authorization", header)], None)
            .await
    }

    /// `GET /hello/` with `Authorization: Bearer <token>`.
    pub async fn hello(&self, token: &str) -> Reply {
        self.get_with_auth("/hello/", &format!("Bearer {token}"))
            .await
    }

    /// `POST /api/token/refresh/` with `{"refresh": token}`.
    pub async fn refresh(&self, token: &str) -> Reply {
        self.post_json("/api/token/refresh/", &json!({ "refresh": token }))
            .await
    }

    /// `POST /api/token/verify/` with `{"token": token}`.
    pub async fn verify(&self, token: &str) -> Reply {
        self.post_json("/api/token/verify/", &json!({ "token": token }))
            .await
    }

    /// `POST /api/token/blacklist/` with `{"refresh": token}`.
    pub async fn blacklist(&self, token: &str) -> Reply {
        self.post_json("/api/token/blacklist/", &json!({ "refresh": token }))
            .await
    }

    /// `POST /api/token/sliding/refresh/` with `{"token": token}`.
    pub async fn renew_sliding(&self, token: &str) -> Reply {
        self.post_json("/api/token/sliding/refresh/", &json!({ "token": token }))
            .await
    }

    /// `POST /api/token/` with credentials.
    pub async fn login(&self, username: &str, password: &str) -> Reply {
        self.post_json(
            "/api/token/",
            &json!({ "username": username, "password": password }),
        )
        .await
    }

    /// Logs in, expecting success; returns `(refresh, access)`.
    pub async fn obtain(&self, username: &str, password: &str) -> (String, String) {
        let reply = self.login(username, password).await;
        let tokens = reply.tokens(&["refresh", "access"]);
        (tokens[0].clone(), tokens[1].clone())
    }

    /// Signs `claims` under `header` with the server's key, as another service sharing it would.
    /// The signing routine follows the header's `alg` (`none` gives an empty signature).
    pub fn mint(&self, claims: &Value, header: &Value) -> String {
        let header_json = serde_json::to_string(header).expect("header JSON");
        let claims_json = serde_json::to_string(claims).expect("claims JSON");
        self.mint_raw(&header_json, &claims_json)
    }

    /// [`TestApp::mint`] under the configured algorithm's plain header (PyJWT's
    /// `{"alg":"HS256","typ":"JWT"}`).
    pub fn mint_claims(&self, claims: &Value) -> String {
        self.mint(claims, &json!({ "alg": self.alg, "typ": "JWT" }))
    }

    /// Signs raw header and payload JSON text (for claims serde_json cannot write, like 2**64).
    pub fn mint_raw(&self, header_json: &str, claims_json: &str) -> String {
        let header: Value = serde_json::from_str(header_json).expect("header is JSON");
        let alg = header["alg"].as_str().expect("header names an alg");
        sign(alg, self.key.as_bytes(), header_json, claims_json)
    }
}

impl TestApp {
    /// Creates a user directly in the store; returns its id.
    pub async fn create_user(&self, username: &str, password: &str, active: bool) -> i64 {
        let password_hash = self.password_hash(password).await;
        let user = NewUser {
            username: username.to_owned(),
            password_hash,
            is_active: active,
            date_joined: now(),
            email: None,
        };
        self.store.create_user(user).await.expect("user created").id
    }

    /// argon2 is slow on purpose; one hash per password serves every test.
    async fn password_hash(&self, password: &str) -> String {
        static HASHES: OnceLock<Mutex<HashMap<String, String>>> = OnceLock::new();
        let hashes = HASHES.get_or_init(Default::default);
        if let Some(hash) = hashes.lock().expect("hash cache").get(password) {
            return hash.clone();
        }
        let hash = self
            .state
            .passwords()
            .hash(password.to_owned())
            .await
            .expect("password hashes");
        hashes
            .lock()
            .expect("hash cache")
            .insert(password.to_owned(), hash.clone());
        hash
    }

    /// Deactivates a user behind the server's back.
    pub async fn deactivate(&self, username: &str) {
        self.store
            .set_active(username, false)
            .await
            .expect("user deactivated");
    }

    /// Deletes a user behind the server's back.
    pub async fn delete(&self, username: &str) {
        self.store
            .delete_user(username)
            .await
            .expect("user deleted");
    }

    /// Overwrites a user's `last_login` behind the server's back.
    pub async fn set_last_login(&self, id: i64, at: i64) {
        self.store
            .record_login(id, at)
            .await
            .expect("last_login written");
    }

    /// The stored user.
    pub async fn user(&self, username: &str) -> User {
        self.store
            .user_by_username(username)
            .await
            .expect("store answers")
            .expect("user exists")
    }
}

/// Signs a compact JWS: HS256/384/512 with `key` as the secret, RS256 and ES256 with `key` as a
/// PKCS#8 PEM private key, `none` with an empty signature.
pub fn sign(alg: &str, key: &[u8], header_json: &str, claims_json: &str) -> String {
    let signing_input = format!(
        "{}.{}",
        URL_SAFE_NO_PAD.encode(header_json),
        URL_SAFE_NO_PAD.encode(claims_json)
    );
    let signature: Vec<u8> = match alg {
        "HS256" | "HS384" | "HS512" => {
            let algorithm = match alg {
                "HS256" => hmac::HMAC_SHA256,
                "HS384" => hmac::HMAC_SHA384,
                _ => hmac::HMAC_SHA512,
            };
            hmac::sign(&hmac::Key::new(algorithm, key), signing_input.as_bytes())
                .as_ref()
                .to_vec()
        }
        "RS256" => {
            let pair = rsa::KeyPair::from_pkcs8(&pem_der(key)).expect("RSA PKCS#8 key");
            let mut signature = vec![0; pair.public_modulus_len()];
            pair.sign(
                &signature::RSA_PKCS1_SHA256,
                &SystemRandom::new(),
                signing_input.as_bytes(),
                &mut signature,
            )
            .expect("RSA signs");
            signature
        }
        "ES256" => {
            let pair = signature::EcdsaKeyPair::from_pkcs8(
                &signature::ECDSA_P256_SHA256_FIXED_SIGNING,
                &pem_der(key),
            )
            .expect("P-256 PKCS#8 key");
            pair.sign(&SystemRandom::new(), signing_input.as_bytes())
                .expect("ECDSA signs")
                .as_ref()
                .to_vec()
        }
        "none" => Vec::new(),
        other => panic!("the test minter does not sign {other}"),
    };
    format!("{signing_input}.{}", URL_SAFE_NO_PAD.encode(signature))
}

/// The DER inside a PEM text.
fn pem_der(pem: &[u8]) -> Vec<u8> {
    let text = std::str::from_utf8(pem).expect("PEM is text");
    let base64: String = text.lines().filter(|l| !l.starts_with("-----")).collect();
    STANDARD.decode(base64.trim()).expect("PEM base64")
}

/// The SubjectPublicKeyInfo PEM of an RS256 or ES256 private key: what an attacker who only
/// has the public key would try as an HMAC secret.
pub fn public_key_pem(alg: &str, private_pem: &str) -> String {
    let der = pem_der(private_pem.as_bytes());
    let spki: Vec<u8> = match alg {
        "RS256" => {
            let pair = rsa::KeyPair::from_pkcs8(&der).expect("RSA PKCS#8 key");
            pair.public_key().as_der().expect("SPKI").as_ref().to_vec()
        }
        _ => {
            let pair = signature::EcdsaKeyPair::from_pkcs8(
                &signature::ECDSA_P256_SHA256_FIXED_SIGNING,
                &der,
            )
            .expect("P-256 PKCS#8 key");
            pair.public_key().as_der().expect("SPKI").as_ref().to_vec()
        }
    };
    let body = STANDARD.encode(spki);
    let lines: Vec<&str> = body
        .as_bytes()
        .chunks(64)
        .map(|c| std::str::from_utf8(c).expect("base64"))
        .collect();
    format!(
        "-----BEGIN PUBLIC KEY-----\n{}\n-----END PUBLIC KEY-----\n",
        lines.join("\n")
    )
}

/// Checks an RS256 or ES256 token's signature with the public half of `private_pem`, outside
/// jwtd (the contract's "PyJWT cross-check").
pub fn signature_verifies(alg: &str, private_pem: &str, token: &str) -> bool {
    let (signing_input, signature_b64) = token.rsplit_once('.').expect("three parts");
    let signature = URL_SAFE_NO_PAD
        .decode(signature_b64)
        .expect("base64url signature");
    let der = pem_der(private_pem.as_bytes());
    let (algorithm, public): (&'static dyn signature::VerificationAlgorithm, Vec<u8>) = match alg {
        "RS256" => {
            let pair = rsa::KeyPair::from_pkcs8(&der).expect("RSA PKCS#8 key");
            (
                &signature::RSA_PKCS1_2048_8192_SHA256,
                pair.public_key().as_ref().to_vec(),
            )
        }
        _ => {
            let pair = signature::EcdsaKeyPair::from_pkcs8(
                &signature::ECDSA_P256_SHA256_FIXED_SIGNING,
                &der,
            )
            .expect("P-256 PKCS#8 key");
            (
                &signature::ECDSA_P256_SHA256_FIXED,
                pair.public_key().as_ref().to_vec(),
            )
        }
    };
    signature::UnparsedPublicKey::new(algorithm, public)
        .verify(signing_input.as_bytes(), &signature)
        .is_ok()
}

/// A fresh `jti`: 32 lowercase hex characters, like `uuid4().hex`.
pub fn new_jti() -> String {
    let mut bytes = [0u8; 16];
    SystemRandom::new().fill(&mut bytes).expect("random bytes");
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Claims in simplejwt's layout, issued now with simplejwt's default lifetimes:
/// `token_type, exp, iat, jti, [refresh_exp,] user_id`.
pub fn claims(token_type: &str, user_id: impl Into<Value>) -> Value {
    let now = now();
    let lifetime = if token_type == "refresh" { 86_400 } else { 300 };
    let mut claims = json!({
        "token_type": token_type,
        "exp": now + lifetime,
        "iat": now,
        "jti": new_jti(),
    });
    let map = claims.as_object_mut().expect("object");
    if token_type == "sliding" {
        map.insert("refresh_exp".to_owned(), json!(now + 86_400));
    }
    map.insert("user_id".to_owned(), user_id.into());
    claims
}

/// `claims` with `name` set to `value` (replaced in place, else appended).
pub fn with(claims: &Value, name: &str, value: Value) -> Value {
    let mut claims = claims.clone();
    claims
        .as_object_mut()
        .expect("object")
        .insert(name.to_owned(), value);
    claims
}

/// `claims` without `name`, order kept.
pub fn without(claims: &Value, name: &str) -> Value {
    let mut claims = claims.clone();
    claims.as_object_mut().expect("object").shift_remove(name);
    claims
}

/// A decoded token, with the raw JSON of its parts.
#[derive(Debug)]
pub struct Jwt {
    pub header_json: String,
    pub claims_json: String,
    pub claims: Map<String, Value>,
}

impl Jwt {
    /// Claim names in token order.
    pub fn keys(&self) -> Vec<&str> {
        self.claims.keys().map(String::as_str).collect()
    }

    /// An integer claim.
    #[track_caller]
    pub fn int(&self, name: &str) -> i64 {
        self.claims[name]
            .as_i64()
            .unwrap_or_else(|| panic!("{name} is an integer in {}", self.claims_json))
    }

    /// A string claim.
    #[track_caller]
    pub fn str(&self, name: &str) -> &str {
        self.claims[name]
            .as_str()
            .unwrap_or_else(|| panic!("{name} is a string in {}", self.claims_json))
    }
}

/// Splits and decodes a compact JWS without checking it.
#[track_caller]
pub fn decode(token: &str) -> Jwt {
    let parts: Vec<&str> = token.split('.').collect();
    assert_eq!(parts.len(), 3, "three parts: {token}");
    let text = |part: &str| {
        String::from_utf8(URL_SAFE_NO_PAD.decode(part).expect("base64url")).expect("UTF-8")
    };
    let header_json = text(parts[0]);
    let claims_json = text(parts[1]);
    let claims = serde_json::from_str(&claims_json).expect("claims object");
    Jwt {
        header_json,
        claims_json,
        claims,
    }
}

/// Asserts a token issued by jwtd has simplejwt's exact layout (contract 1.2): header bytes
/// `{"alg":"<alg>","typ":"JWT"}` (with a 43-character `kid` between them for the asymmetric
/// algorithms, whose key jwtd publishes; decisions, Tokens), claims `token_type, exp, iat, jti, [refresh_exp,] user_id,
/// <extra...>` in that order, compact JSON, integer times issued about now, `exp - iat` exactly
/// `lifetime`, a 32-hex `jti` and a string `user_id`.
#[track_caller]
pub fn assert_layout(
    token: &str,
    alg: &str,
    token_type: &str,
    lifetime: i64,
    user_id: i64,
    extra: &[&str],
) -> Jwt {
    let jwt = decode(token);
    if alg.starts_with("HS") {
        assert_eq!(
            jwt.header_json,
            format!(r#"{{"alg":"{alg}","typ":"JWT"}}"#),
            "JOSE header"
        );
    } else {
        let kid = jwt
            .header_json
            .strip_prefix(&format!(r#"{{"alg":"{alg}","kid":""#))
            .and_then(|rest| rest.strip_suffix(r#"","typ":"JWT"}"#))
            .unwrap_or_else(|| panic!("JOSE header {}", jwt.header_json));
        assert!(
            kid.len() == 43
                && kid
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'),
            "kid {kid}"
        );
    }
    let mut keys = vec!["token_type", "exp", "iat", "jti"];
    if token_type == "sliding" {
        keys.push("refresh_exp");
    }
    keys.push("user_id");
    keys.extend_from_slice(extra);
    assert_eq!(jwt.keys(), keys, "claim order in {}", jwt.claims_json);
    assert_eq!(
        serde_json::to_string(&jwt.claims).expect("JSON"),
        jwt.claims_json,
        "compact JSON"
    );
    assert_eq!(jwt.str("token_type"), token_type);
    let (exp, iat) = (jwt.int("exp"), jwt.int("iat"));
    assert!((iat - now()).abs() <= 5, "iat {iat} is now");
    assert_eq!(exp - iat, lifetime, "exp - iat");
    let jti = jwt.str("jti");
    assert!(
        jti.len() == 32
            && jti
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)),
        "jti {jti}"
    );
    assert_eq!(
        jwt.claims["user_id"],
        json!(user_id.to_string()),
        "user_id is a string"
    );
    jwt
}

/// `token` with its signature changed in the middle (a flip of the last character could only
/// touch padding bits).
pub fn tamper_signature(token: &str) -> String {
    let (rest, signature) = token.rsplit_once('.').expect("three parts");
    let mut chars: Vec<char> = signature.chars().collect();
    chars[5] = if chars[5] == 'A' { 'B' } else { 'A' };
    format!("{rest}.{}", chars.into_iter().collect::<String>())
}

/// PyJWT's header for `alg`.
pub fn header(alg: &str) -> String {
    format!(r#"{{"alg":"{alg}","typ":"JWT"}}"#)
}

/// Claims text with `exp` written verbatim (serde_json cannot write 2**64 as an integer).
pub fn raw_claims(token_type: &str, exp: &str, user_id: i64) -> String {
    format!(
        r#"{{"token_type":"{token_type}","exp":{exp},"iat":{},"jti":"{}","user_id":"{user_id}"}}"#,
        now(),
        new_jti()
    )
}

// Django mode (`shared/spec/django-database.md`): a server over a Django project's SQLite
// database made from Django's own DDL, with users written the way Django writes them.

/// Django 5.2's password hashes of `shared/vectors/django/password-hashes.json`.
const DJANGO_HASHES: &str = include_str!("../../../jwtd-password/tests/data/password-hashes.json");

/// The DDL Django 5.2's migrations create on SQLite (`auth_user`).
const DJANGO_SCHEMA: &str = include_str!("../../../../testdata/django/schema-sqlite.sql");

/// The same with a custom user model (`accounts_user`, `USERNAME_FIELD = "email"`).
const DJANGO_EMAIL_USER_SCHEMA: &str =
    include_str!("../../../../testdata/django/schema-email-user-sqlite.sql");

/// The first Django encoding of `password` whose text starts with `prefix` (say
/// `pbkdf2_sha256$1000$`), as Django's `make_password` wrote it.
#[track_caller]
pub fn django_hash_of(password: &str, prefix: &str) -> String {
    let file: Value = serde_json::from_str(DJANGO_HASHES).expect("vectors are JSON");
    file["vectors"]
        .as_array()
        .expect("a vector list")
        .iter()
        .filter(|v| v["password"] == password)
        .filter_map(|v| v["encoded"].as_str())
        .find(|encoded| encoded.starts_with(prefix))
        .unwrap_or_else(|| panic!("no Django hash of {password:?} starting {prefix:?}"))
        .to_owned()
}

/// [`django_hash_of`] [`PASSWORD`].
#[track_caller]
pub fn django_hash(prefix: &str) -> String {
    django_hash_of(PASSWORD, prefix)
}

/// A time as Django's SQLite backend writes a `DateTimeField` (UTC, `USE_TZ = True`):
/// `YYYY-MM-DD HH:MM:SS`, with `.ffffff` when the microseconds are not zero.
pub fn django_datetime(unix_micros: i64) -> String {
    let (secs, micros) = (
        unix_micros.div_euclid(1_000_000),
        unix_micros.rem_euclid(1_000_000),
    );
    let (days, day_secs) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    // Howard Hinnant's civil_from_days.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    let time = format!(
        "{year:04}-{month:02}-{day:02} {:02}:{:02}:{:02}",
        day_secs / 3600,
        day_secs % 3600 / 60,
        day_secs % 60
    );
    if micros == 0 {
        time
    } else {
        format!("{time}.{micros:06}")
    }
}

/// `timezone.now()` as Django writes it.
pub fn django_now() -> String {
    let micros = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock after 1970")
        .as_micros();
    django_datetime(i64::try_from(micros).expect("micros fit"))
}

/// The upper-case hex MD5 of `text`: simplejwt's `get_md5_hash_password`, computed here from
/// RFC 1321 rather than by jwtd-password.
pub fn md5_upper_hex(text: &str) -> String {
    const SHIFTS: [u32; 16] = [7, 12, 17, 22, 5, 9, 14, 20, 4, 11, 16, 23, 6, 10, 15, 21];
    let k: Vec<u32> = (0..64)
        .map(|i| ((i as f64 + 1.0).sin().abs() * 4_294_967_296.0) as u32)
        .collect();
    let mut message = text.as_bytes().to_vec();
    let bit_len = (message.len() as u64).wrapping_mul(8);
    message.push(0x80);
    while message.len() % 64 != 56 {
        message.push(0);
    }
    message.extend_from_slice(&bit_len.to_le_bytes());
    let mut state: [u32; 4] = [0x6745_2301, 0xefcd_ab89, 0x98ba_dcfe, 0x1032_5476];
    for block in message.chunks(64) {
        let m: Vec<u32> = block
            .chunks(4)
            .map(|w| u32::from_le_bytes([w[0], w[1], w[2], w[3]]))
            .collect();
        let [mut a, mut b, mut c, mut d] = state;
        for i in 0..64 {
            let (f, g) = match i / 16 {
                0 => ((b & c) | (!b & d), i),
                1 => ((d & b) | (!d & c), (5 * i + 1) % 16),
                2 => (b ^ c ^ d, (3 * i + 5) % 16),
                _ => (c ^ (b | !d), (7 * i) % 16),
            };
            let rotated = a
                .wrapping_add(f)
                .wrapping_add(k[i])
                .wrapping_add(m[g])
                .rotate_left(SHIFTS[(i / 16) * 4 + i % 4]);
            (a, b, c, d) = (d, b.wrapping_add(rotated), b, c);
        }
        for (word, add) in state.iter_mut().zip([a, b, c, d]) {
            *word = word.wrapping_add(add);
        }
    }
    state
        .iter()
        .flat_map(|w| w.to_le_bytes())
        .map(|b| format!("{b:02X}"))
        .collect()
}

/// Which Django DDL a [`Django`] server starts over.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DjangoSchema {
    /// `django.contrib.auth`'s `auth_user`.
    AuthUser,
    /// A custom user model `accounts.User` (`accounts_user`), logging in by `email`.
    EmailUser,
}

/// Builds a server in Django mode over a fresh Django SQLite database.
pub struct Django {
    schema: DjangoSchema,
    vars: Vec<(String, String)>,
    nullable_password: bool,
    extra_ddl: String,
}

impl Django {
    /// Over `auth_user`.
    pub fn auth_user() -> Django {
        Django {
            schema: DjangoSchema::AuthUser,
            vars: Vec::new(),
            nullable_password: false,
            extra_ddl: String::new(),
        }
    }

    /// Over a custom user model's `accounts_user`, with `django_user_table = "accounts_user"`
    /// and `username_field = "email"` (the table has no `username`).
    pub fn email_user() -> Django {
        Django {
            schema: DjangoSchema::EmailUser,
            vars: Vec::new(),
            nullable_password: false,
            extra_ddl: String::new(),
        }
        .var("JWTD_DJANGO_USER_TABLE", "accounts_user")
        .var("JWTD_USERNAME_FIELD", "email")
    }

    /// Sets a `JWTD_*` variable (later ones win).
    pub fn var(mut self, name: &str, value: &str) -> Django {
        self.vars.push((name.to_owned(), value.to_owned()));
        self
    }

    /// The user table's `password` column without `NOT NULL`: what another program sharing
    /// the database could leave (Django's own DDL forbids NULL there).
    pub fn nullable_password(mut self) -> Django {
        self.nullable_password = true;
        self
    }

    /// Runs `sql` after Django's DDL (a project's own migration adding a column, say).
    pub fn extra_ddl(mut self, sql: &str) -> Django {
        self.extra_ddl.push_str(sql);
        self
    }

    /// Starts the server, or answers why its state refused to build.
    pub async fn try_start(self) -> Result<TestApp<DjangoSqliteStore>, String> {
        let dir = tempfile::tempdir().expect("temp dir");
        let db = dir.path().join("db.sqlite3");
        let ddl = match self.schema {
            DjangoSchema::AuthUser => DJANGO_SCHEMA,
            DjangoSchema::EmailUser => DJANGO_EMAIL_USER_SCHEMA,
        };
        // SQLite makes sqlite_sequence itself and refuses to have it created.
        let mut ddl = ddl.replace("CREATE TABLE sqlite_sequence(name,seq);", "");
        if self.nullable_password {
            let strict = r#""password" varchar(128) NOT NULL"#;
            assert!(ddl.contains(strict), "the DDL has a NOT NULL password");
            ddl = ddl.replace(strict, r#""password" varchar(128) NULL"#);
        }
        ddl.push_str(&self.extra_ddl);
        rusqlite::Connection::open(&db)
            .and_then(|conn| conn.execute_batch(&ddl))
            .expect("Django's DDL runs");

        let mut vars: Vec<(&str, &str)> = vec![("JWTD_DATABASE_SCHEMA", "django")];
        vars.extend(self.vars.iter().map(|(n, v)| (n.as_str(), v.as_str())));
        let env = test_env(&dir, &db, &vars);
        let (config, warnings) = config::load(None, &env).expect("configuration loads");
        assert!(
            warnings.is_empty(),
            "unexpected configuration warnings: {warnings:?}"
        );
        let config::users::DatabaseSchema::Django(names) = &config.users.schema else {
            panic!("database_schema = \"django\"");
        };
        let store = Arc::new(DjangoSqliteStore::open(&db, names).expect("Django store opens"));
        store.migrate().await.expect("migrate is a no-op");
        serve_app(&env, &config, store, db, dir).map_err(|e| e.to_string())
    }

    /// Starts the server.
    pub async fn start(self) -> TestApp<DjangoSqliteStore> {
        self.try_start().await.expect("state builds")
    }
}

/// An outstanding token row as simplejwt's `OutstandingToken` holds it.
#[derive(Debug)]
pub struct Outstanding {
    pub token: String,
    pub user_id: Option<i64>,
    /// `created_at` as stored (text).
    pub created_at: String,
    /// `expires_at` as stored (text).
    pub expires_at: String,
    /// `created_at` in Unix seconds, as SQLite reads the text.
    pub created_unix: i64,
    /// `expires_at` in Unix seconds, as SQLite reads the text.
    pub expires_unix: i64,
}

impl TestApp<DjangoSqliteStore> {
    /// Another connection to the Django database, as Django's own: busy timeout 5 s.
    pub fn sql(&self) -> rusqlite::Connection {
        let conn = rusqlite::Connection::open(&self.db).expect("Django database opens");
        conn.busy_timeout(std::time::Duration::from_secs(5))
            .expect("busy timeout");
        conn
    }

    /// Runs one statement on the Django database; returns the rows changed.
    #[track_caller]
    pub fn exec(&self, statement: &str, params: impl rusqlite::Params) -> usize {
        self.sql()
            .execute(statement, params)
            .unwrap_or_else(|e| panic!("{statement}: {e}"))
    }

    /// An integer query's answer.
    #[track_caller]
    pub fn query_i64(&self, statement: &str, params: impl rusqlite::Params) -> i64 {
        self.sql()
            .query_row(statement, params, |row| row.get(0))
            .unwrap_or_else(|e| panic!("{statement}: {e}"))
    }

    /// The configured user table.
    pub fn user_table(&self) -> String {
        match &self.state.config().users.schema {
            config::users::DatabaseSchema::Django(names) => names.user_table.clone(),
            config::users::DatabaseSchema::Jwtd => panic!("a Django-mode server"),
        }
    }

    /// Inserts an active, non-staff user as Django's `create_user` writes it (booleans 0/1,
    /// `date_joined` in Django's text, `last_login` NULL); `login` is the username on
    /// `auth_user` and the email on `accounts_user`; `password` is the column's value (`None`:
    /// NULL). Returns the id.
    #[track_caller]
    pub fn insert_user(&self, login: &str, password: Option<&str>) -> i64 {
        let conn = self.sql();
        let joined = django_now();
        match self.user_table().as_str() {
            "auth_user" => conn.execute(
                r#"INSERT INTO "auth_user" ("password", "last_login", "is_superuser", "username",
                   "last_name", "email", "is_staff", "is_active", "date_joined", "first_name")
                   VALUES (?1, NULL, 0, ?2, '', ?3, 0, 1, ?4, '')"#,
                rusqlite::params![password, login, format!("{login}@example.com"), joined],
            ),
            "accounts_user" => conn.execute(
                r#"INSERT INTO "accounts_user" ("password", "last_login", "is_superuser",
                   "email", "is_active", "is_staff", "date_joined")
                   VALUES (?1, NULL, 0, ?2, 1, 0, ?3)"#,
                rusqlite::params![password, login, joined],
            ),
            other => panic!("no insert for {other}"),
        }
        .expect("user inserted");
        conn.last_insert_rowid()
    }

    /// The user's `password` column (`None`: NULL or no such user).
    pub fn password_column(&self, id: i64) -> Option<String> {
        let table = self.user_table();
        self.sql()
            .query_row(
                &format!(r#"SELECT "password" FROM "{table}" WHERE "id" = ?1"#),
                [id],
                |row| row.get(0),
            )
            .expect("password read")
    }

    /// The outstanding row of `jti`, if any.
    pub fn outstanding(&self, jti: &str) -> Option<Outstanding> {
        use rusqlite::OptionalExtension;
        self.sql()
            .query_row(
                "SELECT token, user_id, created_at, expires_at, \
                 CAST(strftime('%s', created_at) AS INTEGER), \
                 CAST(strftime('%s', expires_at) AS INTEGER) \
                 FROM token_blacklist_outstandingtoken WHERE jti = ?1",
                [jti],
                |row| {
                    Ok(Outstanding {
                        token: row.get(0)?,
                        user_id: row.get(1)?,
                        created_at: row.get(2)?,
                        expires_at: row.get(3)?,
                        created_unix: row.get(4)?,
                        expires_unix: row.get(5)?,
                    })
                },
            )
            .optional()
            .expect("outstanding read")
    }

    /// `blacklisted_at` of `jti`'s blacklist row, if any.
    pub fn blacklisted_at(&self, jti: &str) -> Option<String> {
        use rusqlite::OptionalExtension;
        self.sql()
            .query_row(
                "SELECT b.blacklisted_at FROM token_blacklist_blacklistedtoken b \
                 JOIN token_blacklist_outstandingtoken o ON o.id = b.token_id WHERE o.jti = ?1",
                [jti],
                |row| row.get(0),
            )
            .optional()
            .expect("blacklist read")
    }

    /// The number of outstanding and of blacklisted rows.
    pub fn token_rows(&self) -> (i64, i64) {
        (
            self.query_i64("SELECT COUNT(*) FROM token_blacklist_outstandingtoken", []),
            self.query_i64("SELECT COUNT(*) FROM token_blacklist_blacklistedtoken", []),
        )
    }

    /// `POST /api/token/` with `body` as the login fields.
    pub async fn login_with(&self, body: &Value) -> Reply {
        self.post_json("/api/token/", body).await
    }
}
