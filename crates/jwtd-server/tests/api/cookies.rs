//! The refresh token in an httpOnly cookie (`shared/spec/browser.md`, first section): login
//! sets the refresh and `csrftoken` cookies, refresh and blacklist read the cookie when the body
//! has none, a cookie-authenticated request passes Django's double-submit and origin checks or
//! gets DRF's 403, a body token keeps simplejwt's behaviour, and malformed cookie headers count
//! as no cookie. `Set-Cookie` headers are parsed here, attribute by attribute, independently of
//! the server's cookie library.

use std::collections::BTreeMap;

use jwtd_server::config;
use reqwest::Method;
use reqwest::header::HeaderValue;
use serde_json::json;

use crate::helpers::*;

const OBTAIN: &str = "/api/token/";
const REFRESH: &str = "/api/token/refresh/";
const BLACKLIST: &str = "/api/token/blacklist/";
const REQUIRED: &str = r#"{"refresh":["This field is required."]}"#;
const EVIL: &str = "https://evil.example";
const APP_ORIGIN: &str = "https://app.example.com";

/// Cookie mode with simplejwt's defaults otherwise.
const COOKIE: [(&str, &str); 1] = [("JWTD_REFRESH_COOKIE", "true")];

/// Cookie mode with rotation and blacklisting after rotation.
const ROTATE: [(&str, &str); 3] = [
    ("JWTD_REFRESH_COOKIE", "true"),
    ("JWTD_ROTATE_REFRESH_TOKENS", "true"),
    ("JWTD_BLACKLIST_AFTER_ROTATION", "true"),
];

/// DRF's 403 body for a failed CSRF check.
fn csrf_failed(reason: &str) -> String {
    format!(r#"{{"detail":"CSRF Failed: {reason}"}}"#)
}

fn origin_failed(origin: &str) -> String {
    csrf_failed(&format!(
        "Origin checking failed - {origin} does not match any trusted origins."
    ))
}

fn cookie_not_set() -> String {
    csrf_failed("CSRF cookie not set.")
}

fn token_missing() -> String {
    csrf_failed("CSRF token missing.")
}

fn token_incorrect() -> String {
    csrf_failed("CSRF token from the 'X-Csrftoken' HTTP header incorrect.")
}

/// One `Set-Cookie` header, parsed: `name=value` then `; `-separated attributes, whose names are
/// kept lower-cased (they are case-insensitive) and whose values are kept as sent.
#[derive(Debug)]
struct SetCookie {
    raw: String,
    name: String,
    value: String,
    attributes: Vec<(String, Option<String>)>,
}

impl SetCookie {
    #[track_caller]
    fn parse(raw: &str) -> SetCookie {
        let mut parts = raw.split(';');
        let pair = parts.next().expect("a name=value pair");
        let (name, value) = pair
            .split_once('=')
            .unwrap_or_else(|| panic!("name=value in {raw:?}"));
        let attributes = parts
            .map(|part| {
                let part = part.trim();
                match part.split_once('=') {
                    Some((name, value)) => {
                        (name.trim().to_ascii_lowercase(), Some(value.to_owned()))
                    }
                    None => (part.to_ascii_lowercase(), None),
                }
            })
            .collect();
        SetCookie {
            raw: raw.to_owned(),
            name: name.trim().to_owned(),
            value: value.trim().to_owned(),
            attributes,
        }
    }

    /// Asserts the attributes are exactly `expected` (any order, none repeated, none more).
    #[track_caller]
    fn assert_attributes(&self, expected: &[(&str, Option<&str>)]) {
        let found: BTreeMap<&str, Option<&str>> = self
            .attributes
            .iter()
            .map(|(name, value)| (name.as_str(), value.as_deref()))
            .collect();
        assert_eq!(
            found.len(),
            self.attributes.len(),
            "an attribute is repeated in {:?}",
            self.raw
        );
        let expected: BTreeMap<String, Option<&str>> = expected
            .iter()
            .map(|(name, value)| (name.to_ascii_lowercase(), *value))
            .collect();
        let expected: BTreeMap<&str, Option<&str>> =
            expected.iter().map(|(k, v)| (k.as_str(), *v)).collect();
        assert_eq!(found, expected, "attributes of {:?}", self.raw);
    }
}

/// Every `Set-Cookie` of `reply`, in order.
fn set_cookies(reply: &Reply) -> Vec<SetCookie> {
    reply
        .headers
        .get_all("set-cookie")
        .iter()
        .map(|value| SetCookie::parse(value.to_str().expect("ASCII Set-Cookie")))
        .collect()
}

/// The one `Set-Cookie` of `reply` setting `name`.
#[track_caller]
fn only_cookie(reply: &Reply, name: &str) -> SetCookie {
    let mut matching: Vec<SetCookie> = set_cookies(reply)
        .into_iter()
        .filter(|cookie| cookie.name == name)
        .collect();
    assert_eq!(
        matching.len(),
        1,
        "one Set-Cookie for {name}: {:?}",
        reply.headers
    );
    matching.remove(0)
}

#[track_caller]
fn assert_no_set_cookie(reply: &Reply) {
    let cookies = set_cookies(reply);
    assert!(cookies.is_empty(), "no Set-Cookie expected: {cookies:?}");
}

/// The attributes of a refresh cookie: `HttpOnly`, then as configured.
fn refresh_attributes<'a>(
    same_site: &'a str,
    secure: bool,
    path: &'a str,
    max_age: &'a str,
) -> Vec<(&'a str, Option<&'a str>)> {
    let mut attributes = vec![
        ("HttpOnly", None),
        ("SameSite", Some(same_site)),
        ("Path", Some(path)),
        ("Max-Age", Some(max_age)),
    ];
    if secure {
        attributes.push(("Secure", None));
    }
    attributes
}

/// The attributes of the `csrftoken` cookie: readable by scripts (no `HttpOnly`), on `/`.
fn csrf_attributes<'a>(
    same_site: &'a str,
    secure: bool,
    max_age: &'a str,
) -> Vec<(&'a str, Option<&'a str>)> {
    let mut attributes = vec![
        ("SameSite", Some(same_site)),
        ("Path", Some("/")),
        ("Max-Age", Some(max_age)),
    ];
    if secure {
        attributes.push(("Secure", None));
    }
    attributes
}

#[track_caller]
fn assert_csrf_secret(value: &str) {
    assert!(
        value.len() == 32 && value.bytes().all(|b| b.is_ascii_hexdigit()),
        "csrftoken is 32 hex characters: {value:?}"
    );
}

/// What a browser holds after a cookie-mode login.
struct Browser {
    access: String,
    refresh: String,
    csrf: String,
}

impl Browser {
    /// The `Cookie` header it sends to the token endpoints (default cookie name).
    fn jar(&self) -> String {
        jar(&self.refresh, &self.csrf)
    }
}

fn jar(refresh: &str, csrf: &str) -> String {
    format!("refresh={refresh}; csrftoken={csrf}")
}

/// Logs in in cookie mode with the default cookie settings, checking the body is exactly
/// `{"access": ...}` and the two cookies' attributes.
async fn browser_login(app: &TestApp, username: &str) -> Browser {
    let reply = app.login(username, PASSWORD).await;
    let access = reply.tokens(&["access"]).remove(0);
    assert_eq!(set_cookies(&reply).len(), 2, "{:?}", reply.headers);
    let refresh = only_cookie(&reply, "refresh");
    refresh.assert_attributes(&refresh_attributes("Strict", true, "/api/token/", "86400"));
    let csrf = only_cookie(&reply, "csrftoken");
    csrf.assert_attributes(&csrf_attributes("Strict", true, "86400"));
    assert_csrf_secret(&csrf.value);
    Browser {
        access,
        refresh: refresh.value,
        csrf: csrf.value,
    }
}

/// `POST path` without a body (no `Content-Type`), with `Cookie: cookie`, and when given
/// `X-CSRFToken` and `Origin`.
async fn post_cookie(
    app: &TestApp,
    path: &str,
    cookie: &str,
    csrf: Option<&str>,
    origin: Option<&str>,
) -> Reply {
    let mut headers = vec![("Cookie", cookie)];
    if let Some(csrf) = csrf {
        headers.push(("X-CSRFToken", csrf));
    }
    if let Some(origin) = origin {
        headers.push(("Origin", origin));
    }
    app.send(Method::POST, path, &headers, None).await
}

/// A same-origin page refreshing: the browser's cookies and the page's `X-CSRFToken`.
async fn refresh_as(app: &TestApp, browser: &Browser) -> Reply {
    post_cookie(app, REFRESH, &browser.jar(), Some(&browser.csrf), None).await
}

/// `POST path` with a raw `Cookie` header value (any bytes), `X-CSRFToken` when given, and no
/// body.
async fn post_raw_cookie(app: &TestApp, path: &str, cookie: &[u8], csrf: Option<&str>) -> Reply {
    let mut request = app.client.post(format!("{}{path}", app.address)).header(
        "Cookie",
        HeaderValue::from_bytes(cookie).expect("a header value"),
    );
    if let Some(csrf) = csrf {
        request = request.header("X-CSRFToken", csrf);
    }
    let response = request.send().await.expect("request sent");
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    let body = response.text().await.expect("response body");
    Reply {
        status,
        headers,
        body,
    }
}

fn env(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

// 1. Default: simplejwt unchanged.

#[tokio::test]
async fn without_refresh_cookie_login_and_refresh_are_simplejwts() {
    let app = spawn_app(&[]).await;
    let id = app.create_user("alice", PASSWORD, true).await;
    let login = app.login("alice", PASSWORD).await;
    let tokens = login.tokens(&["refresh", "access"]);
    assert_no_set_cookie(&login);
    assert_layout(&tokens[0], "HS256", "refresh", 86_400, id, &[]);

    // A refresh cookie (with a matching CSRF pair) is not read: the field is required.
    let cookie = jar(&tokens[0], "0123456789abcdef0123456789abcdef");
    let reply = post_cookie(
        &app,
        REFRESH,
        &cookie,
        Some("0123456789abcdef0123456789abcdef"),
        None,
    )
    .await;
    reply.expect_token(400, REQUIRED);
    assert_no_set_cookie(&reply);
    post_cookie(
        &app,
        BLACKLIST,
        &cookie,
        Some("0123456789abcdef0123456789abcdef"),
        None,
    )
    .await
    .expect_token(400, REQUIRED);
    // The token was neither refreshed nor blacklisted.
    app.refresh(&tokens[0]).await.tokens(&["access"]);
}

// 2. Cookie-mode login and its settings.

#[tokio::test]
async fn cookie_mode_login_answers_access_only_and_sets_both_cookies() {
    let app = spawn_app(&COOKIE).await;
    let id = app.create_user("alice", PASSWORD, true).await;
    let browser = browser_login(&app, "alice").await;
    assert_layout(&browser.refresh, "HS256", "refresh", 86_400, id, &[]);
    assert_layout(&browser.access, "HS256", "access", 300, id, &[]);
    app.hello(&browser.access)
        .await
        .expect_protected(200, &hello_body("alice"));

    // Each login has its own CSRF secret.
    let again = browser_login(&app, "alice").await;
    assert_ne!(again.csrf, browser.csrf, "a fresh CSRF secret per login");
    assert_ne!(again.refresh, browser.refresh);

    // A refused login sets nothing.
    let refused = app.login("alice", "wrong password").await;
    refused.expect_token(401, BAD_CREDENTIALS);
    assert_no_set_cookie(&refused);
}

#[tokio::test]
async fn cookie_settings_samesite_secure_name_path_and_lifetime_are_honoured() {
    let app = spawn_app(&[
        ("JWTD_REFRESH_COOKIE", "true"),
        ("JWTD_REFRESH_COOKIE_SAMESITE", "Lax"),
        ("JWTD_REFRESH_COOKIE_SECURE", "false"),
        ("JWTD_REFRESH_COOKIE_NAME", "jwtd_rt"),
        ("JWTD_REFRESH_COOKIE_PATH", "/auth/"),
        ("JWTD_REFRESH_TOKEN_LIFETIME", "1h"),
    ])
    .await;
    let id = app.create_user("alice", PASSWORD, true).await;
    let login = app.login("alice", PASSWORD).await;
    login.tokens(&["access"]);
    assert_eq!(set_cookies(&login).len(), 2, "{:?}", login.headers);
    let refresh = only_cookie(&login, "jwtd_rt");
    refresh.assert_attributes(&refresh_attributes("Lax", false, "/auth/", "3600"));
    assert_layout(&refresh.value, "HS256", "refresh", 3600, id, &[]);
    let csrf = only_cookie(&login, "csrftoken");
    csrf.assert_attributes(&csrf_attributes("Lax", false, "3600"));
    assert_csrf_secret(&csrf.value);

    // The configured name is read...
    let cookie = format!("jwtd_rt={}; csrftoken={}", refresh.value, csrf.value);
    post_cookie(&app, REFRESH, &cookie, Some(&csrf.value), None)
        .await
        .tokens(&["access"]);
    // ...and the default one is not.
    let default_name = jar(&refresh.value, &csrf.value);
    post_cookie(&app, REFRESH, &default_name, Some(&csrf.value), None)
        .await
        .expect_token(400, REQUIRED);
}

#[test]
fn invalid_cookie_settings_refuse_to_start_naming_the_setting() {
    for (var, value, prefix) in [
        (
            "JWTD_REFRESH_COOKIE_SAMESITE",
            "None",
            "refresh_cookie_samesite: ",
        ),
        (
            "JWTD_REFRESH_COOKIE_SAMESITE",
            "Sometimes",
            "refresh_cookie_samesite: ",
        ),
        (
            "JWTD_REFRESH_COOKIE_NAME",
            "ref;resh",
            "refresh_cookie_name: ",
        ),
        (
            "JWTD_REFRESH_COOKIE_NAME",
            "ref resh",
            "refresh_cookie_name: ",
        ),
        ("JWTD_REFRESH_COOKIE_NAME", "a=b", "refresh_cookie_name: "),
        (
            "JWTD_REFRESH_COOKIE_NAME",
            "csrftoken",
            "refresh_cookie_name: ",
        ),
        (
            "JWTD_REFRESH_COOKIE_PATH",
            "api/token/",
            "refresh_cookie_path: ",
        ),
        (
            "JWTD_REFRESH_COOKIE_PATH",
            "/api/;x",
            "refresh_cookie_path: ",
        ),
        (
            "JWTD_REFRESH_COOKIE_SECURE",
            "maybe",
            "JWTD_REFRESH_COOKIE_SECURE: ",
        ),
        ("JWTD_REFRESH_COOKIE", "yes please", "JWTD_REFRESH_COOKIE: "),
    ] {
        let vars = env(&[("JWTD_REFRESH_COOKIE", "true"), (var, value)]);
        match config::load(None, &vars) {
            Ok(_) => panic!("{var}={value:?} loaded"),
            Err(error) => {
                let message = error.to_string();
                assert!(
                    message.starts_with(prefix),
                    "{var}={value:?}: {message:?} starts with {prefix:?}"
                );
            }
        }
    }

    // The valid values load; plain HTTP cookies are warned about at start-up.
    let (config, _) = config::load(None, &env(&[])).expect("defaults load");
    assert_eq!(config.browser.refresh_cookie, None, "off by default");
    let (config, warnings) = config::load(
        None,
        &env(&[
            ("JWTD_REFRESH_COOKIE", "true"),
            ("JWTD_REFRESH_COOKIE_SAMESITE", "Lax"),
            ("JWTD_REFRESH_COOKIE_SECURE", "false"),
        ]),
    )
    .expect("Lax and insecure load");
    assert!(warnings.is_empty(), "{warnings:?}");
    let cookie = config.browser.refresh_cookie.clone().expect("cookie mode");
    assert_eq!(
        (cookie.name.as_str(), cookie.path.as_str(), cookie.secure),
        ("refresh", "/api/token/", false)
    );
    assert_eq!(cookie.same_site, config::browser::SameSite::Lax);
    let start_up = config.exposed_key_files();
    assert!(
        start_up
            .iter()
            .any(|w| w.starts_with("refresh_cookie_secure = false")),
        "{start_up:?}"
    );
    let (secure, _) =
        config::load(None, &env(&COOKIE)).expect("cookie mode with the defaults loads");
    assert!(
        secure.exposed_key_files().is_empty(),
        "{:?}",
        secure.exposed_key_files()
    );
}

// 3. Refresh from the cookie.

#[tokio::test]
async fn refresh_reads_the_cookie_when_the_body_has_none() {
    let app = spawn_app(&COOKIE).await;
    let id = app.create_user("alice", PASSWORD, true).await;
    let browser = browser_login(&app, "alice").await;

    let reply = refresh_as(&app, &browser).await;
    let access = reply.tokens(&["access"]).remove(0);
    assert_no_set_cookie(&reply);
    assert_layout(&access, "HS256", "access", 300, id, &[]);
    app.hello(&access)
        .await
        .expect_protected(200, &hello_body("alice"));

    // An empty JSON object is a body without `refresh` too; so is an empty JSON body.
    for body in ["{}", ""] {
        let reply = app
            .send(
                Method::POST,
                REFRESH,
                &[
                    ("Content-Type", "application/json"),
                    ("Cookie", &browser.jar()),
                    ("X-CSRFToken", &browser.csrf),
                ],
                Some(body.as_bytes().to_vec()),
            )
            .await;
        reply.tokens(&["access"]);
        assert_no_set_cookie(&reply);
    }
    // Without rotation the cookie keeps working.
    refresh_as(&app, &browser).await.tokens(&["access"]);
    // An access token in the refresh cookie is refused as simplejwt refuses it in the body.
    let wrong = Browser {
        access: String::new(),
        refresh: browser.access.clone(),
        csrf: browser.csrf.clone(),
    };
    refresh_as(&app, &wrong)
        .await
        .expect_token(401, &token_error("Token has wrong type"));
}

#[tokio::test]
async fn rotation_replaces_the_cookie_and_blacklists_the_old_value() {
    let app = spawn_app(&ROTATE).await;
    let id = app.create_user("alice", PASSWORD, true).await;
    let browser = browser_login(&app, "alice").await;

    let reply = refresh_as(&app, &browser).await;
    let access = reply.tokens(&["access"]).remove(0);
    assert_layout(&access, "HS256", "access", 300, id, &[]);
    let rotated = only_cookie(&reply, "refresh");
    rotated.assert_attributes(&refresh_attributes("Strict", true, "/api/token/", "86400"));
    assert_layout(&rotated.value, "HS256", "refresh", 86_400, id, &[]);
    assert_ne!(
        decode(&rotated.value).str("jti"),
        decode(&browser.refresh).str("jti"),
        "the successor has a new jti"
    );

    // The old cookie value is refused...
    let blacklisted = token_error("Token is blacklisted");
    let reply = refresh_as(&app, &browser).await;
    reply.expect_token(401, &blacklisted);
    assert_no_set_cookie(&reply);
    // ...and so is it in a body.
    app.refresh(&browser.refresh)
        .await
        .expect_token(401, &blacklisted);

    // The successor works from the cookie, once.
    let next = Browser {
        access,
        refresh: rotated.value,
        csrf: browser.csrf.clone(),
    };
    let reply = refresh_as(&app, &next).await;
    reply.tokens(&["access"]);
    let third = only_cookie(&reply, "refresh").value;
    assert_ne!(third, next.refresh);
    refresh_as(&app, &next)
        .await
        .expect_token(401, &blacklisted);
}

// 4. CSRF.

/// A refused cookie request: what it is, its `Cookie`, `X-CSRFToken` and `Origin`, the body.
type CsrfCase<'a> = (&'a str, String, Option<&'a str>, Option<&'a str>, String);

#[tokio::test]
async fn cookie_requests_without_a_matching_csrf_pair_or_from_a_foreign_origin_are_refused() {
    let app = spawn_app(&[
        ("JWTD_REFRESH_COOKIE", "true"),
        ("JWTD_ROTATE_REFRESH_TOKENS", "true"),
        ("JWTD_BLACKLIST_AFTER_ROTATION", "true"),
        ("JWTD_CORS_ALLOWED_ORIGINS", APP_ORIGIN),
    ])
    .await;
    app.create_user("alice", PASSWORD, true).await;
    let stale = browser_login(&app, "alice").await;
    let browser = browser_login(&app, "alice").await;
    assert_ne!(stale.csrf, browser.csrf);
    let only_refresh = format!("refresh={}", browser.refresh);
    let own = app.address.clone();
    let wrong_scheme = own.replacen("http://", "https://", 1);
    let mut changed = browser.csrf.clone();
    let last = changed.pop();
    changed.push(if last == Some('0') { '1' } else { '0' });
    let cases: Vec<CsrfCase> = vec![
        (
            "no csrftoken cookie",
            only_refresh.clone(),
            Some(&browser.csrf),
            None,
            cookie_not_set(),
        ),
        (
            "no X-CSRFToken header",
            browser.jar(),
            None,
            None,
            token_missing(),
        ),
        (
            "a stale CSRF token from an earlier login",
            browser.jar(),
            Some(&stale.csrf),
            None,
            token_incorrect(),
        ),
        (
            "the cookie's value with its last character changed",
            browser.jar(),
            Some(&changed),
            None,
            token_incorrect(),
        ),
        (
            "a foreign origin",
            browser.jar(),
            Some(&browser.csrf),
            Some(EVIL),
            origin_failed(EVIL),
        ),
        (
            "Origin: null",
            browser.jar(),
            Some(&browser.csrf),
            Some("null"),
            origin_failed("null"),
        ),
        (
            "the own host over the other scheme",
            browser.jar(),
            Some(&browser.csrf),
            Some(&wrong_scheme),
            origin_failed(&wrong_scheme),
        ),
        (
            "a foreign origin and no header: the origin is checked first",
            browser.jar(),
            None,
            Some(EVIL),
            origin_failed(EVIL),
        ),
    ];
    let mut failures = Failures::default();
    let mut cookies_set = Vec::new();
    for path in [REFRESH, BLACKLIST] {
        for (case, cookie, csrf, origin, body) in &cases {
            let reply = post_cookie(&app, path, cookie, *csrf, *origin).await;
            failures.check(&format!("{path} {case}"), &reply, 403, body, View::Token);
            if !set_cookies(&reply).is_empty() {
                cookies_set.push(format!("{path} {case}: {:?}", reply.headers));
            }
        }
    }
    failures.assert_none();
    assert!(
        cookies_set.is_empty(),
        "a refusal set cookies: {cookies_set:?}"
    );

    // Nothing was refreshed or blacklisted: the cookie works, once, from the server's own origin.
    let reply = post_cookie(
        &app,
        REFRESH,
        &browser.jar(),
        Some(&browser.csrf),
        Some(&own),
    )
    .await;
    reply.tokens(&["access"]);
    let rotated = only_cookie(&reply, "refresh").value;
    post_cookie(
        &app,
        REFRESH,
        &browser.jar(),
        Some(&browser.csrf),
        Some(&own),
    )
    .await
    .expect_token(401, &token_error("Token is blacklisted"));

    // An origin listed in cors_allowed_origins passes too.
    let reply = post_cookie(
        &app,
        REFRESH,
        &jar(&rotated, &browser.csrf),
        Some(&browser.csrf),
        Some(APP_ORIGIN),
    )
    .await;
    reply.tokens(&["access"]);
    only_cookie(&reply, "refresh");
    // The stale login's own pair still works: each browser's pair is its own.
    refresh_as(&app, &stale).await.tokens(&["access"]);
}

#[tokio::test]
async fn a_wildcard_cors_origin_is_not_trusted_for_cookie_requests() {
    let app = spawn_app(&[
        ("JWTD_REFRESH_COOKIE", "true"),
        ("JWTD_CORS_ALLOWED_ORIGINS", "*"),
    ])
    .await;
    app.create_user("alice", PASSWORD, true).await;
    let browser = browser_login(&app, "alice").await;
    post_cookie(
        &app,
        REFRESH,
        &browser.jar(),
        Some(&browser.csrf),
        Some(EVIL),
    )
    .await
    .expect_token(403, &origin_failed(EVIL));
    // And credentials cannot be allowed for every origin.
    let error = config::load(
        None,
        &env(&[
            ("JWTD_CORS_ALLOWED_ORIGINS", "*"),
            ("JWTD_CORS_ALLOW_CREDENTIALS", "true"),
        ]),
    )
    .map(|_| ())
    .expect_err("credentials for * refused")
    .to_string();
    assert!(error.starts_with("cors_allow_credentials: "), "{error}");
}

// 5. The body wins.

#[tokio::test]
async fn a_body_token_is_used_over_the_cookie_without_csrf() {
    let app = spawn_app(&ROTATE).await;
    let id = app.create_user("alice", PASSWORD, true).await;
    let cookie_holder = browser_login(&app, "alice").await;
    let body_holder = browser_login(&app, "alice").await;
    let blacklisted = token_error("Token is blacklisted");

    // The body's token, with another token's cookie, no CSRF header and a foreign origin: as
    // simplejwt answers, refresh in the body, no Set-Cookie.
    let reply = app
        .send(
            Method::POST,
            REFRESH,
            &[
                ("Content-Type", "application/json"),
                ("Cookie", &cookie_holder.jar()),
                ("Origin", EVIL),
            ],
            Some(
                serde_json::to_vec(&json!({ "refresh": body_holder.refresh })).expect("JSON body"),
            ),
        )
        .await;
    let tokens = reply.tokens(&["access", "refresh"]);
    assert_no_set_cookie(&reply);
    assert_layout(&tokens[1], "HS256", "refresh", 86_400, id, &[]);
    // The body's token was the one rotated...
    app.refresh(&body_holder.refresh)
        .await
        .expect_token(401, &blacklisted);
    app.refresh(&tokens[1]).await.tokens(&["access", "refresh"]);

    // ...so an invalid body token is refused even with a valid cookie and CSRF pair.
    let reply = app
        .send(
            Method::POST,
            REFRESH,
            &[
                ("Content-Type", "application/json"),
                ("Cookie", &cookie_holder.jar()),
                ("X-CSRFToken", &cookie_holder.csrf),
            ],
            Some(br#"{"refresh":"not-a-token"}"#.to_vec()),
        )
        .await;
    reply.expect_token(401, &token_error("Token is invalid"));
    assert_no_set_cookie(&reply);

    // A form body wins the same way.
    let form_holder = browser_login(&app, "alice").await;
    let reply = app
        .send(
            Method::POST,
            REFRESH,
            &[
                ("Content-Type", "application/x-www-form-urlencoded"),
                ("Cookie", &cookie_holder.jar()),
            ],
            Some(format!("refresh={}", form_holder.refresh).into_bytes()),
        )
        .await;
    reply.tokens(&["access", "refresh"]);
    assert_no_set_cookie(&reply);

    // The cookie's token was untouched all along: it works once.
    let reply = refresh_as(&app, &cookie_holder).await;
    reply.tokens(&["access"]);
    only_cookie(&reply, "refresh");
    refresh_as(&app, &cookie_holder)
        .await
        .expect_token(401, &blacklisted);
}

// 6. Logout from the cookie.

#[tokio::test]
async fn blacklist_from_the_cookie_clears_it() {
    let app = spawn_app(&COOKIE).await;
    app.create_user("alice", PASSWORD, true).await;
    let browser = browser_login(&app, "alice").await;
    let other = browser_login(&app, "alice").await;
    let blacklisted = token_error("Token is blacklisted");

    let reply = post_cookie(&app, BLACKLIST, &browser.jar(), Some(&browser.csrf), None).await;
    reply.expect_token(200, EMPTY);
    let cleared = only_cookie(&reply, "refresh");
    assert_eq!(
        cleared.value, "",
        "the cleared cookie is empty: {:?}",
        cleared.raw
    );
    cleared.assert_attributes(&refresh_attributes("Strict", true, "/api/token/", "0"));
    assert_eq!(set_cookies(&reply).len(), 1, "{:?}", reply.headers);

    // The token is dead from the cookie and from a body.
    refresh_as(&app, &browser)
        .await
        .expect_token(401, &blacklisted);
    app.refresh(&browser.refresh)
        .await
        .expect_token(401, &blacklisted);
    post_cookie(&app, BLACKLIST, &browser.jar(), Some(&browser.csrf), None)
        .await
        .expect_token(401, &blacklisted);
    // The other login's cookie lives.
    refresh_as(&app, &other).await.tokens(&["access"]);

    // A body token is blacklisted as simplejwt does it: no Set-Cookie, the cookie untouched.
    let third = browser_login(&app, "alice").await;
    let reply = app
        .send(
            Method::POST,
            BLACKLIST,
            &[
                ("Content-Type", "application/json"),
                ("Cookie", &other.jar()),
            ],
            Some(serde_json::to_vec(&json!({ "refresh": third.refresh })).expect("JSON body")),
        )
        .await;
    reply.expect_token(200, EMPTY);
    assert_no_set_cookie(&reply);
    refresh_as(&app, &third)
        .await
        .expect_token(401, &blacklisted);
    refresh_as(&app, &other).await.tokens(&["access"]);
}

// 7. Malformed cookie headers.

#[tokio::test]
async fn malformed_or_oversized_cookies_count_as_no_cookie() {
    let app = spawn_app(&COOKIE).await;
    app.create_user("alice", PASSWORD, true).await;
    let browser = browser_login(&app, "alice").await;
    let huge = "a".repeat(20 * 1024);
    let csrf = browser.csrf.clone();
    let mut failures = Failures::default();
    let cases: Vec<(&str, Vec<u8>)> = vec![
        (
            "a 20 KB value",
            format!("refresh={huge}; csrftoken={csrf}").into_bytes(),
        ),
        (
            "a 20 KB value after a valid-looking prefix",
            format!("refresh={}{huge}; csrftoken={csrf}", browser.refresh).into_bytes(),
        ),
        ("a name without a value", b"refresh".to_vec()),
        (
            "a name and a separator",
            format!("refresh; csrftoken={csrf}").into_bytes(),
        ),
        (
            "an empty value",
            format!("refresh=; csrftoken={csrf}").into_bytes(),
        ),
        ("separators only", b";;;=".to_vec()),
        ("an empty name", b"=refresh".to_vec()),
        (
            "only other cookies",
            format!("sessionid=x; csrftoken={csrf}").into_bytes(),
        ),
        (
            "non-UTF-8 bytes",
            b"refresh=\xff\xfe\xfd; csrftoken=\xc3\x28".to_vec(),
        ),
        (
            "a valid token with a Latin-1 byte appended",
            [
                format!("refresh={}", browser.refresh).as_bytes(),
                b"\xe9",
                format!("; csrftoken={csrf}").as_bytes(),
            ]
            .concat(),
        ),
    ];
    for path in [REFRESH, BLACKLIST] {
        for (case, cookie) in &cases {
            let reply = post_raw_cookie(&app, path, cookie, None).await;
            failures.check(
                &format!("{path} {case}"),
                &reply,
                400,
                REQUIRED,
                View::Token,
            );
        }
    }
    failures.assert_none();

    // Of two refresh cookies the first counts.
    let first_valid = format!(
        "refresh={}; refresh=not-a-token; csrftoken={csrf}",
        browser.refresh
    );
    post_cookie(&app, REFRESH, &first_valid, Some(&csrf), None)
        .await
        .tokens(&["access"]);
    let first_invalid = format!(
        "refresh=not-a-token; refresh={}; csrftoken={csrf}",
        browser.refresh
    );
    post_cookie(&app, REFRESH, &first_invalid, Some(&csrf), None)
        .await
        .expect_token(401, &token_error("Token is invalid"));
    // The token still works after all of it.
    refresh_as(&app, &browser).await.tokens(&["access"]);
}

// 8. A cross-site form post.

#[tokio::test]
async fn a_cross_site_form_post_with_the_cookie_is_refused() {
    let app = spawn_app(&ROTATE).await;
    app.create_user("alice", PASSWORD, true).await;
    let browser = browser_login(&app, "alice").await;
    for path in [REFRESH, BLACKLIST] {
        for origin in [Some(EVIL), None] {
            let jar = browser.jar();
            let mut headers = vec![
                ("Content-Type", "application/x-www-form-urlencoded"),
                ("Cookie", jar.as_str()),
            ];
            if let Some(origin) = origin {
                headers.push(("Origin", origin));
            }
            let reply = app
                .send(Method::POST, path, &headers, Some(Vec::new()))
                .await;
            let expected = match origin {
                Some(origin) => origin_failed(origin),
                None => token_missing(),
            };
            reply.expect_token(403, &expected);
            assert_no_set_cookie(&reply);
        }
    }
    // Neither refreshed nor blacklisted.
    let reply = refresh_as(&app, &browser).await;
    reply.tokens(&["access"]);
    only_cookie(&reply, "refresh");
}

// 9. CORS with credentials.

#[tokio::test]
async fn cors_allows_credentials_and_the_csrf_header_for_listed_origins_only() {
    let app = spawn_app(&[
        ("JWTD_REFRESH_COOKIE", "true"),
        ("JWTD_CORS_ALLOWED_ORIGINS", APP_ORIGIN),
        ("JWTD_CORS_ALLOW_CREDENTIALS", "true"),
    ])
    .await;
    app.create_user("alice", PASSWORD, true).await;
    let preflight = async |origin: &str, path: &str| {
        app.send(
            Method::OPTIONS,
            path,
            &[
                ("Origin", origin),
                ("Access-Control-Request-Method", "POST"),
                (
                    "Access-Control-Request-Headers",
                    "content-type, x-csrftoken",
                ),
            ],
            None,
        )
        .await
    };
    for path in [OBTAIN, REFRESH, BLACKLIST] {
        let allowed = preflight(APP_ORIGIN, path).await;
        assert_eq!(allowed.status, 200, "{path}: {allowed:?}");
        assert_eq!(
            allowed.header("access-control-allow-origin"),
            Some(APP_ORIGIN),
            "{path}: the origin itself, never *"
        );
        assert_eq!(
            allowed.header("access-control-allow-credentials"),
            Some("true"),
            "{path}"
        );
        let headers = allowed
            .header("access-control-allow-headers")
            .expect("allowed headers")
            .to_ascii_lowercase();
        let headers: Vec<&str> = headers.split(',').map(str::trim).collect();
        assert!(
            headers.contains(&"x-csrftoken") && headers.contains(&"content-type"),
            "{path}: {headers:?}"
        );
        let methods = allowed
            .header("access-control-allow-methods")
            .expect("allowed methods");
        assert!(methods.contains("POST"), "{path}: {methods}");

        let denied = preflight(EVIL, path).await;
        assert_eq!(
            denied.header("access-control-allow-origin"),
            None,
            "{path}: {denied:?}"
        );
    }

    // The actual cross-origin calls of the listed page: login, then refresh with the cookie.
    let login = app
        .send(
            Method::POST,
            OBTAIN,
            &[("Content-Type", "application/json"), ("Origin", APP_ORIGIN)],
            Some(
                serde_json::to_vec(&json!({ "username": "alice", "password": PASSWORD }))
                    .expect("JSON body"),
            ),
        )
        .await;
    login.tokens(&["access"]);
    assert_eq!(
        login.header("access-control-allow-origin"),
        Some(APP_ORIGIN)
    );
    assert_eq!(
        login.header("access-control-allow-credentials"),
        Some("true")
    );
    let refresh = only_cookie(&login, "refresh").value;
    let csrf = only_cookie(&login, "csrftoken").value;
    let reply = post_cookie(
        &app,
        REFRESH,
        &jar(&refresh, &csrf),
        Some(&csrf),
        Some(APP_ORIGIN),
    )
    .await;
    reply.tokens(&["access"]);
    assert_eq!(
        reply.header("access-control-allow-origin"),
        Some(APP_ORIGIN)
    );
    assert_eq!(
        reply.header("access-control-allow-credentials"),
        Some("true")
    );
    // From elsewhere: refused, and no CORS grant for the browser to read it with.
    let reply = post_cookie(
        &app,
        REFRESH,
        &jar(&refresh, &csrf),
        Some(&csrf),
        Some(EVIL),
    )
    .await;
    reply.expect_token(403, &origin_failed(EVIL));
    assert_eq!(reply.header("access-control-allow-origin"), None);
}

// Edge cases where jwtd could differ from Django, each in its own test.

#[tokio::test]
async fn a_badly_formed_csrf_header_is_worded_as_django_words_it() {
    // Django checks the header's format before comparing it: 32 (secret) or 64 (masked)
    // characters, ASCII letters and digits only (`_check_token_format`).
    let app = spawn_app(&COOKIE).await;
    app.create_user("alice", PASSWORD, true).await;
    let browser = browser_login(&app, "alice").await;
    let length = csrf_failed("CSRF token from the 'X-Csrftoken' HTTP header has incorrect length.");
    let characters =
        csrf_failed("CSRF token from the 'X-Csrftoken' HTTP header has invalid characters.");
    let dashed = format!("{}-", &browser.csrf[..31]);
    let mut failures = Failures::default();
    for (case, header, body) in [
        ("an empty header", "", &length),
        (
            "the cookie's first 31 characters",
            &browser.csrf[..31],
            &length,
        ),
        ("32 characters with a dash", dashed.as_str(), &characters),
    ] {
        let reply = post_cookie(&app, REFRESH, &browser.jar(), Some(header), None).await;
        failures.check(case, &reply, 403, body, View::Token);
    }
    failures.assert_none();
}

#[tokio::test]
async fn another_cookie_with_non_ascii_bytes_does_not_hide_the_refresh_cookie() {
    // Browsers send other applications' cookies on the same host as they were set, UTF-8 or
    // Latin-1 included; Django reads the header as Latin-1 and finds `refresh` and `csrftoken`
    // beside them (and the implementation documents that malformed pairs are skipped).
    let app = spawn_app(&COOKIE).await;
    app.create_user("alice", PASSWORD, true).await;
    let browser = browser_login(&app, "alice").await;
    let jar = browser.jar();
    let mut failures = Failures::default();
    for (case, other) in [
        ("UTF-8", "lang=\u{e9}".as_bytes().to_vec()),
        ("Latin-1", b"lang=\xe9".to_vec()),
    ] {
        let cookie = [other.as_slice(), b"; ", jar.as_bytes()].concat();
        let reply = post_raw_cookie(&app, REFRESH, &cookie, Some(&browser.csrf)).await;
        let access = serde_json::from_str::<serde_json::Value>(&reply.body)
            .ok()
            .and_then(|body| body["access"].as_str().map(str::to_owned))
            .unwrap_or_default();
        let expected = format!(r#"{{"access":"{access}"}}"#);
        failures.check(case, &reply, 200, &expected, View::Token);
    }
    failures.assert_none();
}

// Review findings.

/// A rotation renews the CSRF cookie (the same secret) with the refresh cookie, so that it
/// never expires first and leaves the page unable to refresh.
#[tokio::test]
async fn a_rotation_renews_the_csrf_cookie_with_the_refresh_cookie() {
    let app = spawn_app(&ROTATE).await;
    app.create_user("alice", PASSWORD, true).await;
    let browser = browser_login(&app, "alice").await;
    let reply = refresh_as(&app, &browser).await;
    reply.tokens(&["access"]);
    let csrf = only_cookie(&reply, "csrftoken");
    csrf.assert_attributes(&csrf_attributes("Strict", true, "86400"));
    assert_eq!(csrf.value, browser.csrf, "the same secret, renewed");
}

/// Login CSRF: in cookie mode another site cannot log the browser in (as the attacker) by
/// posting a form; the server's own origin and a listed one can.
#[tokio::test]
async fn a_login_from_a_foreign_origin_is_refused_in_cookie_mode() {
    let mut vars = COOKIE.to_vec();
    vars.push(("JWTD_CORS_ALLOWED_ORIGINS", APP_ORIGIN));
    let app = spawn_app(&vars).await;
    app.create_user("alice", PASSWORD, true).await;
    let form = b"username=alice&password="
        .iter()
        .chain(PASSWORD.as_bytes())
        .copied()
        .collect::<Vec<u8>>();
    let post = |origin: &'static str| {
        let form = form.clone();
        let app = &app;
        async move {
            app.send(
                Method::POST,
                OBTAIN,
                &[
                    ("Content-Type", "application/x-www-form-urlencoded"),
                    ("Origin", origin),
                ],
                Some(form),
            )
            .await
        }
    };
    let refused = post(EVIL).await;
    refused.expect(403, &origin_failed(EVIL));
    assert_no_set_cookie(&refused);
    let listed = post(APP_ORIGIN).await;
    assert_eq!(listed.status, 200, "{}", listed.body);
    assert_eq!(set_cookies(&listed).len(), 2);
}

/// In cookie mode a password change answers `{"access"}` and puts the new refresh token in the
/// cookie, never in script's reach.
#[tokio::test]
async fn a_password_change_in_cookie_mode_keeps_the_refresh_token_in_the_cookie() {
    let app = spawn_app(&COOKIE).await;
    app.create_user("alice", PASSWORD, true).await;
    let browser = browser_login(&app, "alice").await;
    let body = serde_json::to_vec(&serde_json::json!({
        "old_password": PASSWORD,
        "new_password": "a brand new password",
    }))
    .unwrap();
    let reply = app
        .send(
            Method::POST,
            "/api/password/change/",
            &[
                ("Authorization", &format!("Bearer {}", browser.access)),
                ("Content-Type", "application/json"),
            ],
            Some(body),
        )
        .await;
    reply.tokens(&["access"]);
    let refresh = only_cookie(&reply, "refresh");
    refresh.assert_attributes(&refresh_attributes("Strict", true, "/api/token/", "86400"));
    let csrf = only_cookie(&reply, "csrftoken");
    let fresh = Browser {
        access: String::new(),
        refresh: refresh.value,
        csrf: csrf.value,
    };
    refresh_as(&app, &fresh).await.tokens(&["access"]);
}

/// Over HTTP/2 there is no `Host` header (the host is the `:authority` of the request): a
/// same-origin cookie refresh is still recognised as the server's own.
#[tokio::test]
async fn over_http2_the_own_origin_is_the_requests_authority() {
    let app = spawn_app(&COOKIE).await;
    app.create_user("alice", PASSWORD, true).await;
    let browser = browser_login(&app, "alice").await;
    let h2 = reqwest::Client::builder()
        .http2_prior_knowledge()
        .build()
        .unwrap();
    let own = app.address.clone();
    for (origin, status) in [(own.as_str(), 200), (EVIL, 403)] {
        let response = h2
            .post(format!("{}{REFRESH}", app.address))
            .header("Cookie", browser.jar())
            .header("X-CSRFToken", &browser.csrf)
            .header("Origin", origin)
            .send()
            .await
            .unwrap();
        assert_eq!(response.version(), reqwest::Version::HTTP_2);
        assert_eq!(response.status(), status, "Origin: {origin}");
    }
}
