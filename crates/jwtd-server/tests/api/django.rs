//! Django mode (`shared/spec/django-database.md`) over HTTP: a real server on a Django
//! project's SQLite database made from Django 5.2's own DDL, users written as Django writes them
//! with Django's own password hashes, and Django's side of the sharing (deactivations, deletions,
//! password changes, blacklist rows) done behind the server's back with raw SQL.
//!
//! PBKDF2 at Django 5.2's 1,000,000 iterations costs about a second in a debug build, so most
//! tests use Django's 1,000-iteration vector with `pbkdf2_iterations = 1000` (no rehash), and
//! the real work factor only where it matters.

use std::time::{Duration, Instant};

use serde_json::json;

use crate::helpers::*;

/// `pbkdf2_iterations` matching [`LOW`]'s hash, so a login does not rehash it.
const LOW_ITERATIONS: (&str, &str) = ("JWTD_PBKDF2_ITERATIONS", "1000");
/// The prefix of Django's 1,000-iteration PBKDF2 hash of [`PASSWORD`].
const LOW: &str = "pbkdf2_sha256$1000$";
/// simplejwt's refusal of a token issued before the password changed.
const PASSWORD_CHANGED: &str =
    r#"{"detail":"The user's password has been changed.","code":"password_changed"}"#;
const UNAVAILABLE: &str = r#"{"detail":"Service temporarily unavailable."}"#;

fn blacklisted() -> String {
    token_error("Token is blacklisted")
}

/// A 19-character `YYYY-MM-DD HH:MM:SS`, optionally with `.ffffff`: Django's SQLite text.
#[track_caller]
fn assert_django_datetime(text: &str) {
    let bytes = text.as_bytes();
    let shape_ok = (text.len() == 19 || (text.len() == 26 && bytes[19] == b'.'))
        && bytes.iter().enumerate().all(|(i, b)| match i {
            4 | 7 => *b == b'-',
            10 => *b == b' ',
            13 | 16 => *b == b':',
            19 => *b == b'.',
            _ => b.is_ascii_digit(),
        });
    assert!(shape_ok, "Django datetime text: {text:?}");
}

#[test]
fn the_harness_md5_and_datetimes_are_pythons() {
    // hashlib.md5(s.encode()).hexdigest().upper()
    assert_eq!(md5_upper_hex(""), "D41D8CD98F00B204E9800998ECF8427E");
    assert_eq!(
        md5_upper_hex("The quick brown fox jumps over the lazy dog"),
        "9E107D9D372BB6826BD81D3542A419D6"
    );
    assert_eq!(
        md5_upper_hex("pbkdf2_sha256$1000000$salt$hash"),
        "A1C86D99A9B04CAA4782947A89B21B4F"
    );
    // str(datetime.fromtimestamp(t, UTC).replace(tzinfo=None))
    assert_eq!(django_datetime(0), "1970-01-01 00:00:00");
    assert_eq!(
        django_datetime(1_709_210_096_000_042),
        "2024-02-29 12:34:56.000042"
    );
    assert_eq!(django_datetime(951_782_400_000_000), "2000-02-29 00:00:00");
}

#[tokio::test]
async fn login_checks_djangos_pbkdf2_hash_at_its_work_factor() {
    // Django 5.2's defaults: pbkdf2_sha256 first, 1,000,000 iterations, as the vector.
    let app = Django::auth_user().start().await;
    let stored = django_hash("pbkdf2_sha256$1000000$XhpP");
    let id = app.insert_user("ada", Some(&stored));

    let started = Instant::now();
    let (refresh, access) = app.obtain("ada", PASSWORD).await;
    eprintln!(
        "login at 1,000,000 PBKDF2 iterations: {:?}",
        started.elapsed()
    );
    let r = assert_layout(&refresh, "HS256", "refresh", 86_400, id, &[]);
    let a = assert_layout(&access, "HS256", "access", 300, id, &[]);
    assert_eq!(r.claims["user_id"], json!(id.to_string()));
    assert_eq!(a.claims["user_id"], json!(id.to_string()));

    // simplejwt's OutstandingToken row: the token text, the owner, Django's datetime text.
    let row = app.outstanding(r.str("jti")).expect("an outstanding row");
    assert_eq!(row.token, refresh);
    assert_eq!(row.user_id, Some(id));
    assert_django_datetime(&row.created_at);
    assert_django_datetime(&row.expires_at);
    assert_eq!(row.created_unix, r.int("iat"));
    assert_eq!(row.expires_unix, r.int("exp"));
    assert_eq!(app.token_rows(), (1, 0), "one row per refresh token issued");
    // At the preferred work factor: no rehash.
    assert_eq!(app.password_column(id).as_deref(), Some(stored.as_str()));

    app.hello(&access)
        .await
        .expect_protected(200, &hello_body("ada"));
    app.refresh(&refresh).await.tokens(&["access"]);

    // Wrong password and unknown user: the same answer, nothing recorded.
    app.login("ada", "correct horse battery staplex")
        .await
        .expect_token(401, BAD_CREDENTIALS);
    app.login("nobody", PASSWORD)
        .await
        .expect_token(401, BAD_CREDENTIALS);
    assert_eq!(app.token_rows(), (1, 0));
}

#[tokio::test]
async fn unusable_and_broken_password_columns_are_bad_credentials() {
    let app = Django::auth_user()
        .var(LOW_ITERATIONS.0, LOW_ITERATIONS.1)
        .start()
        .await;
    let low = django_hash(LOW);
    let cases: Vec<(&str, String)> = vec![
        ("unusable (make_password(None))", django_hash("!")),
        ("unusable, bare !", "!".to_owned()),
        ("unusable, ! before a valid hash", format!("!{low}")),
        ("empty", String::new()),
        ("the password in clear", PASSWORD.to_owned()),
        (
            "pbkdf2 without its hash",
            low.rsplit_once('$').expect("four fields").0.to_owned(),
        ),
        (
            "pbkdf2 with text iterations",
            "pbkdf2_sha256$many$salt$aGFzaA==".to_owned(),
        ),
        (
            "pbkdf2 with zero iterations",
            "pbkdf2_sha256$0$salt$aGFzaA==".to_owned(),
        ),
        (
            "pbkdf2 beyond the iteration limit",
            "pbkdf2_sha256$99999999999$salt$aGFzaA==".to_owned(),
        ),
        ("pbkdf2 with a non-base64 hash", format!("{low}!!")),
        ("pbkdf2 with an extra field", format!("{low}$extra")),
        ("argon2 garbage", "argon2$argon2id$garbage".to_owned()),
        (
            "argon2 with bad parameters",
            "argon2$argon2id$v=19$m=abc,t=2,p=8$c2FsdA$aGFzaA".to_owned(),
        ),
        (
            "bcrypt_sha256 truncated",
            "bcrypt_sha256$$2b$12$short".to_owned(),
        ),
        (
            "scrypt without its hash",
            "scrypt$16384$salt$8$5$".to_owned(),
        ),
        ("unknown algorithm", "sha512$salt$abcdef".to_owned()),
        (
            "algorithm in upper case",
            low.replacen("pbkdf2_sha256", "PBKDF2_SHA256", 1),
        ),
        ("only separators", "$$$".to_owned()),
        // Django's default PASSWORD_HASHERS list neither md5 nor plain bcrypt.
        ("md5, not listed", django_hash("md5$")),
        ("plain bcrypt, not listed", django_hash("bcrypt$$")),
    ];
    let mut failures = Failures::default();
    for (n, (case, column)) in cases.iter().enumerate() {
        let login = format!("user{n}");
        app.insert_user(&login, Some(column));
        let reply = app.login(&login, PASSWORD).await;
        failures.check(case, &reply, 401, BAD_CREDENTIALS, View::Token);
    }
    // The harness is right: the same table with a good hash logs in.
    app.insert_user("good", Some(&low));
    app.obtain("good", PASSWORD).await;
    assert_eq!(app.token_rows(), (1, 0), "no token for a failed login");
    failures.assert_none();

    // A NULL password column (Django's DDL forbids it; another program may not).
    let app = Django::auth_user()
        .nullable_password()
        .var(LOW_ITERATIONS.0, LOW_ITERATIONS.1)
        .start()
        .await;
    app.insert_user("null", None);
    app.login("null", PASSWORD)
        .await
        .expect_token(401, BAD_CREDENTIALS);
    app.login("null", "")
        .await
        .expect_token(400, r#"{"password":["This field may not be blank."]}"#);
    assert_eq!(app.token_rows(), (0, 0));
}

#[tokio::test]
async fn a_custom_user_model_logs_in_by_email() {
    let app = Django::email_user()
        .var(LOW_ITERATIONS.0, LOW_ITERATIONS.1)
        .var("JWTD_UPDATE_LAST_LOGIN", "true")
        .start()
        .await;
    let id = app.insert_user("ada@example.com", Some(&django_hash(LOW)));

    let reply = app
        .login_with(&json!({ "email": "ada@example.com", "password": PASSWORD }))
        .await;
    let tokens = reply.tokens(&["refresh", "access"]);
    let r = assert_layout(&tokens[0], "HS256", "refresh", 86_400, id, &[]);
    assert_eq!(
        app.outstanding(r.str("jti")).expect("outstanding").user_id,
        Some(id)
    );
    app.hello(&tokens[1])
        .await
        .expect_protected(200, &hello_body("ada@example.com"));

    // update_last_login: Django's datetime text, now.
    let last_login: String = app
        .sql()
        .query_row(
            "SELECT last_login FROM accounts_user WHERE id = ?1",
            [id],
            |row| row.get(0),
        )
        .expect("last_login set");
    assert_django_datetime(&last_login);
    let at = app.query_i64(
        "SELECT CAST(strftime('%s', last_login) AS INTEGER) FROM accounts_user WHERE id = ?1",
        [id],
    );
    assert!((at - now()).abs() <= 5, "last_login {last_login} is now");

    // The body's login field is USERNAME_FIELD's name, as simplejwt's serializer has it.
    app.login_with(&json!({ "username": "ada@example.com", "password": PASSWORD }))
        .await
        .expect_token(400, r#"{"email":["This field is required."]}"#);
    app.login_with(&json!({ "email": "ada@example.com", "password": "nope" }))
        .await
        .expect_token(401, BAD_CREDENTIALS);
    app.login_with(&json!({ "email": "bob@example.com", "password": PASSWORD }))
        .await
        .expect_token(401, BAD_CREDENTIALS);
}

#[tokio::test]
async fn the_user_id_claim_holds_user_id_field() {
    // user_id_field = email on the custom user model.
    let app = Django::email_user()
        .var(LOW_ITERATIONS.0, LOW_ITERATIONS.1)
        .var("JWTD_USER_ID_FIELD", "email")
        .start()
        .await;
    app.insert_user("ada@example.com", Some(&django_hash(LOW)));
    let reply = app
        .login_with(&json!({ "email": "ada@example.com", "password": PASSWORD }))
        .await;
    let tokens = reply.tokens(&["refresh", "access"]);
    for token in &tokens {
        let jwt = decode(token);
        assert_eq!(
            jwt.keys(),
            ["token_type", "exp", "iat", "jti", "user_id"],
            "{}",
            jwt.claims_json
        );
        assert_eq!(jwt.claims["user_id"], json!("ada@example.com"));
    }
    app.hello(&tokens[1])
        .await
        .expect_protected(200, &hello_body("ada@example.com"));
    app.refresh(&tokens[0]).await.tokens(&["access"]);

    // A claim naming nobody: user_not_found on a protected view, no_active_account on refresh.
    let access = app.mint_claims(&claims("access", "bob@example.com"));
    app.hello(&access)
        .await
        .expect_protected(401, USER_NOT_FOUND);
    let refresh = app.mint_claims(&claims("refresh", "bob@example.com"));
    app.refresh(&refresh)
        .await
        .expect_token(401, NO_ACTIVE_ACCOUNT);
    // The primary key is not the claim any more.
    let by_id = app.mint_claims(&claims("access", "1"));
    app.hello(&by_id)
        .await
        .expect_protected(401, USER_NOT_FOUND);

    // user_id_field = username on auth_user.
    let app = Django::auth_user()
        .var(LOW_ITERATIONS.0, LOW_ITERATIONS.1)
        .var("JWTD_USER_ID_FIELD", "username")
        .start()
        .await;
    app.insert_user("ada", Some(&django_hash(LOW)));
    let (refresh, access) = app.obtain("ada", PASSWORD).await;
    assert_eq!(decode(&refresh).claims["user_id"], json!("ada"));
    assert_eq!(decode(&access).claims["user_id"], json!("ada"));
    app.hello(&access)
        .await
        .expect_protected(200, &hello_body("ada"));
    let ghost = app.mint_claims(&claims("access", "ghost"));
    app.hello(&ghost)
        .await
        .expect_protected(401, USER_NOT_FOUND);

    // user_id_field = id: a claim that is no integer is no user identification.
    let app = Django::auth_user()
        .var(LOW_ITERATIONS.0, LOW_ITERATIONS.1)
        .start()
        .await;
    let id = app.insert_user("ada", Some(&django_hash(LOW)));
    let (refresh, _) = app.obtain("ada", PASSWORD).await;
    assert_eq!(decode(&refresh).claims["user_id"], json!(id.to_string()));
    let abc = app.mint_claims(&claims("access", "abc"));
    app.hello(&abc).await.expect_protected(401, NO_USER_ID);
    let abc = app.mint_claims(&claims("refresh", "abc"));
    app.refresh(&abc).await.expect_token(401, NO_USER_ID);
    let missing = app.mint_claims(&claims("access", (id + 1).to_string()));
    app.hello(&missing)
        .await
        .expect_protected(401, USER_NOT_FOUND);
}

#[tokio::test]
async fn token_claims_copy_user_columns_and_groups() {
    let app = Django::auth_user()
        .var(LOW_ITERATIONS.0, LOW_ITERATIONS.1)
        .var("JWTD_TOKEN_CLAIMS", "email,is_staff,groups")
        .start()
        .await;
    let ada = app.insert_user("ada", Some(&django_hash(LOW)));
    let bob = app.insert_user("bob", Some(&django_hash(LOW)));
    app.exec("UPDATE auth_user SET is_staff = 1 WHERE id = ?1", [ada]);
    for group in ["admins", "editors", "readers"] {
        app.exec("INSERT INTO auth_group (name) VALUES (?1)", [group]);
    }
    for group in ["admins", "editors"] {
        app.exec(
            "INSERT INTO auth_user_groups (user_id, group_id) \
             SELECT ?1, id FROM auth_group WHERE name = ?2",
            rusqlite::params![ada, group],
        );
    }

    let extra = ["email", "is_staff", "groups"];
    let (refresh, access) = app.obtain("ada", PASSWORD).await;
    let r = assert_layout(&refresh, "HS256", "refresh", 86_400, ada, &extra);
    let a = assert_layout(&access, "HS256", "access", 300, ada, &extra);
    for jwt in [&r, &a] {
        assert_eq!(jwt.claims["email"], json!("ada@example.com"));
        assert_eq!(jwt.claims["is_staff"], json!(true));
        assert_eq!(jwt.claims["groups"], json!(["admins", "editors"]));
    }
    // The refreshed access token keeps the refresh token's claims, as simplejwt copies them.
    let refreshed = app.refresh(&refresh).await.tokens(&["access"]);
    let fresh = assert_layout(&refreshed[0], "HS256", "access", 300, ada, &extra);
    assert_eq!(fresh.claims["groups"], json!(["admins", "editors"]));
    assert_eq!(fresh.claims["is_staff"], json!(true));

    let (refresh, _) = app.obtain("bob", PASSWORD).await;
    let r = assert_layout(&refresh, "HS256", "refresh", 86_400, bob, &extra);
    assert_eq!(r.claims["email"], json!("bob@example.com"));
    assert_eq!(r.claims["is_staff"], json!(false));
    assert_eq!(r.claims["groups"], json!([]));

    // A custom user model's groups come from its own join table.
    let app = Django::email_user()
        .var(LOW_ITERATIONS.0, LOW_ITERATIONS.1)
        .var("JWTD_TOKEN_CLAIMS", "groups,is_staff")
        .start()
        .await;
    let id = app.insert_user("ada@example.com", Some(&django_hash(LOW)));
    app.exec("INSERT INTO auth_group (name) VALUES ('staff')", []);
    app.exec(
        "INSERT INTO accounts_user_groups (user_id, group_id) SELECT ?1, id FROM auth_group",
        [id],
    );
    let reply = app
        .login_with(&json!({ "email": "ada@example.com", "password": PASSWORD }))
        .await;
    let tokens = reply.tokens(&["refresh", "access"]);
    let r = assert_layout(
        &tokens[0],
        "HS256",
        "refresh",
        86_400,
        id,
        &["groups", "is_staff"],
    );
    assert_eq!(r.claims["groups"], json!(["staff"]));
    assert_eq!(r.claims["is_staff"], json!(false));
}

#[tokio::test]
async fn token_claims_must_name_user_columns_and_no_reserved_claim() {
    let refusal = |vars: Vec<(&'static str, &'static str)>| async move {
        let mut django = Django::auth_user();
        for (name, value) in vars {
            django = django.var(name, value);
        }
        django.try_start().await.err()
    };
    for (claims, named) in [
        ("email,nickname", "nickname"),
        ("exp", "exp"),
        ("jti", "jti"),
        ("user_id", "user_id"),
        ("token_type", "token_type"),
        ("iat", "iat"),
        ("password", "password"),
    ] {
        let error = refusal(vec![("JWTD_TOKEN_CLAIMS", claims)])
            .await
            .unwrap_or_else(|| panic!("token_claims = {claims:?} is refused"));
        assert!(
            error.contains("token_claims") && error.contains(named),
            "token_claims = {claims:?}: the refusal names it: {error}"
        );
    }
    let error = refusal(vec![
        ("JWTD_CHECK_REVOKE_TOKEN", "true"),
        ("JWTD_TOKEN_CLAIMS", "hash_password"),
    ])
    .await
    .expect("the revocation claim is jwtd's");
    assert!(error.contains("hash_password"), "{error}");
    // The harness is right: real columns start.
    assert_eq!(
        refusal(vec![(
            "JWTD_TOKEN_CLAIMS",
            "username,email,is_staff,groups"
        )])
        .await,
        None
    );
}

#[tokio::test]
async fn a_password_changed_in_django_revokes_earlier_tokens() {
    let app = Django::auth_user()
        .var(LOW_ITERATIONS.0, LOW_ITERATIONS.1)
        .var("JWTD_CHECK_REVOKE_TOKEN", "true")
        .start()
        .await;
    let stored = django_hash(LOW);
    let id = app.insert_user("ada", Some(&stored));
    let (refresh, access) = app.obtain("ada", PASSWORD).await;
    let r = assert_layout(&refresh, "HS256", "refresh", 86_400, id, &["hash_password"]);
    let a = assert_layout(&access, "HS256", "access", 300, id, &["hash_password"]);
    assert_eq!(r.claims["hash_password"], json!(md5_upper_hex(&stored)));
    assert_eq!(a.claims["hash_password"], json!(md5_upper_hex(&stored)));
    app.hello(&access)
        .await
        .expect_protected(200, &hello_body("ada"));
    let refreshed = app.refresh(&refresh).await.tokens(&["access"]);
    assert_eq!(
        decode(&refreshed[0]).claims["hash_password"],
        json!(md5_upper_hex(&stored))
    );

    // Django's set_password + save().
    let other = django_hash_of("pässwörd", LOW);
    app.exec(
        "UPDATE auth_user SET password = ?1 WHERE id = ?2",
        rusqlite::params![other, id],
    );
    app.hello(&access)
        .await
        .expect_protected(401, PASSWORD_CHANGED);
    // The exact refresh body: a_refresh_refused_for_a_changed_password_has_simplejwts_body.
    let reply = app.refresh(&refresh).await;
    assert_eq!(reply.status, 401, "{}", reply.body);
    assert!(
        reply
            .body
            .contains(r#""detail":"The user's password has been changed.""#),
        "{}",
        reply.body
    );
    // simplejwt blacklists the refused refresh token.
    let at = app
        .blacklisted_at(r.str("jti"))
        .expect("the refused refresh token is blacklisted");
    assert_django_datetime(&at);
    app.refresh(&refresh)
        .await
        .expect_token(401, &blacklisted());

    // Changed back: the access token matches again, the refresh token stays blacklisted.
    app.exec(
        "UPDATE auth_user SET password = ?1 WHERE id = ?2",
        rusqlite::params![stored, id],
    );
    app.hello(&access)
        .await
        .expect_protected(200, &hello_body("ada"));
    app.refresh(&refresh)
        .await
        .expect_token(401, &blacklisted());
    // A token without the claim at all is refused too.
    let bare = app.mint_claims(&claims("access", id.to_string()));
    app.hello(&bare)
        .await
        .expect_protected(401, PASSWORD_CHANGED);
    // A new login carries the current column's MD5.
    let (_, access) = app.obtain("ada", PASSWORD).await;
    assert_eq!(
        decode(&access).claims["hash_password"],
        json!(md5_upper_hex(&stored))
    );
}

#[tokio::test]
async fn a_refresh_refused_for_a_changed_password_has_simplejwts_body() {
    let app = Django::auth_user()
        .var(LOW_ITERATIONS.0, LOW_ITERATIONS.1)
        .var("JWTD_CHECK_REVOKE_TOKEN", "true")
        .start()
        .await;
    let id = app.insert_user("ada", Some(&django_hash(LOW)));
    let (refresh, _) = app.obtain("ada", PASSWORD).await;
    app.exec(
        "UPDATE auth_user SET password = ?1 WHERE id = ?2",
        rusqlite::params![django_hash_of("pässwörd", LOW), id],
    );
    let reply = app.refresh(&refresh).await;
    assert!(
        app.blacklisted_at(decode(&refresh).str("jti")).is_some(),
        "blacklisted"
    );
    // simplejwt's TokenRefreshSerializer (#928) raises DRF's own `AuthenticationFailed`, which
    // DRF answers as `{"detail": message}` alone, like its no_active_account refusal; only
    // JWTAuthentication (protected views) raises simplejwt's, whose body carries the code.
    reply.expect_token(401, r#"{"detail":"The user's password has been changed."}"#);
}

#[tokio::test]
async fn a_rehash_at_login_puts_the_new_hashs_md5_in_the_tokens() {
    // Django 4.2's 870,000 iterations under Django 5.2's 1,000,000: must_update.
    let app = Django::auth_user()
        .var("JWTD_CHECK_REVOKE_TOKEN", "true")
        .start()
        .await;
    let old = django_hash("pbkdf2_sha256$870000$");
    let id = app.insert_user("ada", Some(&old));
    let (refresh, access) = app.obtain("ada", PASSWORD).await;
    let new = app.password_column(id).expect("a password");
    assert!(
        new.starts_with("pbkdf2_sha256$1000000$") && new != old,
        "rehashed at 1,000,000 iterations: {new}"
    );
    for token in [&refresh, &access] {
        assert_eq!(
            decode(token).claims["hash_password"],
            json!(md5_upper_hex(&new)),
            "the new hash's MD5"
        );
    }
    app.hello(&access)
        .await
        .expect_protected(200, &hello_body("ada"));
    app.refresh(&refresh).await.tokens(&["access"]);
    // A token carrying the old hash's MD5 is refused, as in simplejwt.
    let stale = with(
        &claims("access", id.to_string()),
        "hash_password",
        json!(md5_upper_hex(&old)),
    );
    app.hello(&app.mint_claims(&stale))
        .await
        .expect_protected(401, PASSWORD_CHANGED);
}

#[tokio::test]
async fn deactivations_and_deletions_in_django_are_seen_at_the_next_request() {
    let app = Django::auth_user()
        .var(LOW_ITERATIONS.0, LOW_ITERATIONS.1)
        .start()
        .await;
    let id = app.insert_user("ada", Some(&django_hash(LOW)));
    let (refresh, access) = app.obtain("ada", PASSWORD).await;

    app.exec("UPDATE auth_user SET is_active = 0 WHERE id = ?1", [id]);
    app.refresh(&refresh)
        .await
        .expect_token(401, NO_ACTIVE_ACCOUNT);
    app.hello(&access)
        .await
        .expect_protected(401, USER_INACTIVE);
    app.login("ada", PASSWORD)
        .await
        .expect_token(401, BAD_CREDENTIALS);

    app.exec("UPDATE auth_user SET is_active = 1 WHERE id = ?1", [id]);
    app.refresh(&refresh).await.tokens(&["access"]);
    app.hello(&access)
        .await
        .expect_protected(200, &hello_body("ada"));

    // Django's user.delete(): OutstandingToken.user is SET_NULL, then the row goes.
    app.exec(
        "UPDATE token_blacklist_outstandingtoken SET user_id = NULL WHERE user_id = ?1",
        [id],
    );
    app.exec("DELETE FROM auth_user WHERE id = ?1", [id]);
    app.hello(&access)
        .await
        .expect_protected(401, USER_NOT_FOUND);
    app.refresh(&refresh)
        .await
        .expect_token(401, NO_ACTIVE_ACCOUNT);
    app.login("ada", PASSWORD)
        .await
        .expect_token(401, BAD_CREDENTIALS);
}

#[tokio::test]
async fn blacklist_rows_are_shared_with_django() {
    let app = Django::auth_user()
        .var(LOW_ITERATIONS.0, LOW_ITERATIONS.1)
        .start()
        .await;
    let id = app.insert_user("ada", Some(&django_hash(LOW)));
    let (refresh, access) = app.obtain("ada", PASSWORD).await;
    let jti = decode(&refresh).str("jti").to_owned();

    // Django's admin: BlacklistedToken.objects.create(token=outstanding).
    let rows = app.exec(
        "INSERT INTO token_blacklist_blacklistedtoken (blacklisted_at, token_id) \
         SELECT ?1, id FROM token_blacklist_outstandingtoken WHERE jti = ?2",
        rusqlite::params![django_now(), jti],
    );
    assert_eq!(rows, 1, "Django finds jwtd's outstanding row");
    app.refresh(&refresh)
        .await
        .expect_token(401, &blacklisted());
    app.verify(&refresh).await.expect_token(401, &blacklisted());
    app.blacklist(&refresh)
        .await
        .expect_token(401, &blacklisted());
    // Access tokens are not checked against the blacklist (simplejwt's JWTAuthentication).
    app.hello(&access)
        .await
        .expect_protected(200, &hello_body("ada"));

    // The other way round: jwtd's blacklist row is one Django reads.
    let (refresh, _) = app.obtain("ada", PASSWORD).await;
    let jti = decode(&refresh).str("jti").to_owned();
    app.blacklist(&refresh).await.expect_token(200, EMPTY);
    let at = app.blacklisted_at(&jti).expect("a blacklist row");
    assert_django_datetime(&at);
    let row = app.outstanding(&jti).expect("outstanding");
    assert_eq!(row.user_id, Some(id));
    assert_eq!(app.token_rows(), (2, 2));
}

#[tokio::test]
async fn a_long_django_transaction_answers_503_and_leaves_nothing_half_written() {
    let app = Django::auth_user()
        .var(LOW_ITERATIONS.0, LOW_ITERATIONS.1)
        .var("JWTD_ROTATE_REFRESH_TOKENS", "true")
        .var("JWTD_BLACKLIST_AFTER_ROTATION", "true")
        .start()
        .await;
    let id = app.insert_user("ada", Some(&django_hash(LOW)));
    let (refresh, _) = app.obtain("ada", PASSWORD).await;
    assert_eq!(app.token_rows(), (1, 0));

    // Django holds the write lock (a long `transaction.atomic()` that has written).
    let django = app.sql();
    django
        .execute_batch("BEGIN IMMEDIATE")
        .expect("Django takes the write lock");
    django
        .execute(
            "UPDATE auth_user SET first_name = 'Ada' WHERE id = ?1",
            [id],
        )
        .expect("Django writes");
    let started = Instant::now();
    let (login, refreshed) = tokio::join!(app.login("ada", PASSWORD), app.refresh(&refresh));
    let waited = started.elapsed();
    login.expect(503, UNAVAILABLE);
    refreshed.expect(503, UNAVAILABLE);
    assert!(
        waited >= Duration::from_secs(4),
        "jwtd waited for the busy timeout (5 s), not {waited:?}"
    );
    django.execute_batch("COMMIT").expect("Django commits");
    drop(django);

    // Nothing of the failed login or rotation was written.
    assert_eq!(app.token_rows(), (1, 0), "no row of the failed requests");
    let first_name: String = app
        .sql()
        .query_row(
            "SELECT first_name FROM auth_user WHERE id = ?1",
            [id],
            |row| row.get(0),
        )
        .expect("read");
    assert_eq!(first_name, "Ada", "Django's transaction committed");

    // The refresh token still rotates, exactly once.
    let rotated = app.refresh(&refresh).await.tokens(&["access", "refresh"]);
    app.refresh(&refresh)
        .await
        .expect_token(401, &blacklisted());
    app.refresh(&rotated[1])
        .await
        .tokens(&["access", "refresh"]);
    assert_eq!(app.token_rows(), (3, 2));
    app.obtain("ada", PASSWORD).await;
}

#[tokio::test]
async fn a_django_hash_is_upgraded_to_argon2_at_login() {
    let app = Django::auth_user()
        .var(LOW_ITERATIONS.0, LOW_ITERATIONS.1)
        .var("JWTD_PASSWORD_HASHERS", "argon2,pbkdf2_sha256")
        .start()
        .await;
    let old = django_hash(LOW);
    let id = app.insert_user("ada", Some(&old));
    app.login("ada", "wrong")
        .await
        .expect_token(401, BAD_CREDENTIALS);
    assert_eq!(
        app.password_column(id).as_deref(),
        Some(old.as_str()),
        "a failed login rehashes nothing"
    );

    app.obtain("ada", PASSWORD).await;
    let upgraded = app.password_column(id).expect("a password");
    assert!(
        upgraded.starts_with("argon2$argon2id$v=19$m=102400,t=2,p=8$"),
        "Django 5.2's argon2 encoding and parameters (no rehash by Django): {upgraded}"
    );
    let (refresh, access) = app.obtain("ada", PASSWORD).await;
    assert_eq!(
        app.password_column(id).as_deref(),
        Some(upgraded.as_str()),
        "at the preferred hasher: no second rehash"
    );
    app.hello(&access)
        .await
        .expect_protected(200, &hello_body("ada"));
    app.refresh(&refresh).await.tokens(&["access"]);
    app.login("ada", "wrong")
        .await
        .expect_token(401, BAD_CREDENTIALS);
    assert_eq!(
        upgraded.split('$').count(),
        6,
        "argon2$argon2id$v=19$m=..,t=..,p=..$salt$hash"
    );
}

#[tokio::test]
async fn a_user_without_a_user_id_field_value_never_gets_somebody_elses_tokens() {
    // A project column that some users lack: the attacker's is NULL, and their primary key (2)
    // is the boss's employee number. Falling back to the key would make them the boss.
    let app = Django::auth_user()
        .extra_ddl(
            "ALTER TABLE auth_user ADD COLUMN employee_number integer NULL;
             CREATE UNIQUE INDEX auth_user_employee_number ON auth_user (employee_number);",
        )
        .var(LOW_ITERATIONS.0, LOW_ITERATIONS.1)
        .var("JWTD_USER_ID_FIELD", "employee_number")
        .start()
        .await;
    let boss = app.insert_user("boss", Some(&django_hash(LOW)));
    let attacker = app.insert_user("attacker", Some(&django_hash(LOW)));
    assert_eq!((boss, attacker), (1, 2));
    app.exec(
        "UPDATE auth_user SET employee_number = 2 WHERE id = ?1",
        [boss],
    );
    app.login("attacker", PASSWORD)
        .await
        .expect(401, BAD_CREDENTIALS);
    let (_, access) = app.obtain("boss", PASSWORD).await;
    assert_eq!(decode(&access).claims["user_id"], json!("2"));
    app.hello(&access)
        .await
        .expect_protected(200, &hello_body("boss"));
}

#[tokio::test]
async fn forward_auth_names_the_user_by_the_user_id_field_in_utf_8() {
    // Django usernames may hold any Unicode letter; the claim and the headers carry it as is.
    let app = Django::auth_user()
        .var(LOW_ITERATIONS.0, LOW_ITERATIONS.1)
        .var("JWTD_USER_ID_FIELD", "username")
        .start()
        .await;
    app.insert_user("zoë", Some(&django_hash(LOW)));
    let (_, access) = app.obtain("zoë", PASSWORD).await;
    assert_eq!(decode(&access).claims["user_id"], json!("zoë"));
    let reply = app
        .get_with_auth("/api/auth/check", &format!("Bearer {access}"))
        .await;
    assert_eq!(reply.status, 200);
    for name in ["x-auth-user-id", "x-auth-username"] {
        assert_eq!(
            reply.headers.get(name).map(|v| v.as_bytes()),
            Some("zoë".as_bytes()),
            "{name}"
        );
    }
}

/// Django mode keeps no sessions (sessions.md): logins are simplejwt's outstanding rows, the
/// session list is empty, logout-all blacklists the user's outstanding refresh tokens in
/// Django's tables, revocation of an access token answers as always, and the password is
/// Django's to change.
#[tokio::test]
async fn django_mode_logs_out_everywhere_through_simplejwts_tables() {
    let app = Django::auth_user()
        .var(LOW_ITERATIONS.0, LOW_ITERATIONS.1)
        .start()
        .await;
    app.insert_user("ada", Some(&django_hash(LOW)));
    app.insert_user("bob", Some(&django_hash(LOW)));
    let (phone, _) = app.obtain("ada", PASSWORD).await;
    let (laptop, access) = app.obtain("ada", PASSWORD).await;
    let (bobs, _) = app.obtain("bob", PASSWORD).await;
    let auth = format!("Bearer {access}");
    let headers = [("Authorization", auth.as_str())];

    app.get_with_auth("/api/sessions/", &auth)
        .await
        .expect(200, "[]");
    app.send(
        axum::http::Method::DELETE,
        "/api/sessions/0123456789abcdef0123456789abcdef/",
        &headers,
        None,
    )
    .await
    .expect(404, r#"{"detail":"Not found."}"#);
    app.send(
        axum::http::Method::POST,
        "/api/password/change/",
        &[
            ("Authorization", auth.as_str()),
            ("Content-Type", "application/json"),
        ],
        Some(br#"{"old_password":"x","new_password":"a long new password"}"#.to_vec()),
    )
    .await
    .expect(404, r#"{"detail":"Not found."}"#);
    app.post_json("/api/token/revoke/", &json!({ "token": access }))
        .await
        .expect(200, EMPTY);

    let logout = app
        .send(
            axum::http::Method::POST,
            "/api/sessions/logout-all/",
            &headers,
            None,
        )
        .await;
    assert_eq!((logout.status, logout.body.as_str()), (204, ""));
    for refresh in [&phone, &laptop] {
        app.refresh(refresh).await.expect_token(401, &blacklisted());
        let jti = decode(refresh).str("jti").to_owned();
        assert!(app.blacklisted_at(&jti).is_some(), "a row Django reads");
    }
    app.refresh(&bobs).await.tokens(&["access"]);
}
