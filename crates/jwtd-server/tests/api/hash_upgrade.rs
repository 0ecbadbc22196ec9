//! Users whose hashes Django made (imported with their hashes, or set behind the server's
//! back) log in through jwtd and are moved to argon2id at their first successful login, as
//! Django's `check_password` rehashes on `must_update`. The hashes are Django 5.2's own output.

use jwtd_store::Store as _;
use serde_json::Value;

use crate::helpers::*;

/// Django 5.2's `make_password` output (copied from the shared Django vectors).
fn django_vector(hasher: &str, note_contains: &str) -> (String, String) {
    let file: Value = serde_json::from_str(include_str!(
        "../../../jwtd-password/tests/data/password-hashes.json"
    ))
    .expect("vectors parse");
    let vector = file["vectors"]
        .as_array()
        .unwrap()
        .iter()
        .find(|v| {
            v["hasher"] == hasher
                && v["note"].as_str().unwrap_or("").contains(note_contains)
                && v["password"]
                    .as_str()
                    .is_some_and(|p| !p.is_empty() && p.is_ascii())
        })
        .unwrap_or_else(|| panic!("a {hasher} vector ({note_contains})"));
    (
        vector["password"].as_str().unwrap().to_owned(),
        vector["encoded"].as_str().unwrap().to_owned(),
    )
}

const JWTD_ARGON2ID: &str = "$argon2id$v=19$m=19456,t=2,p=1$";

#[tokio::test]
async fn a_django_hash_logs_in_and_becomes_argon2id_at_the_first_login() {
    let app = spawn_app(&[]).await;
    for (hasher, note) in [("pbkdf2_sha256", "1000000"), ("bcrypt_sha256", "")] {
        let (password, encoded) = django_vector(hasher, note);
        let username = format!("imported-{hasher}");
        app.create_user(&username, "placeholder", true).await;
        app.store.set_password(&username, &encoded).await.unwrap();

        // A wrong password is refused and rehashes nothing.
        let reply = app.login(&username, &format!("{password}x")).await;
        assert_eq!(
            (reply.status, reply.body.as_str()),
            (401, BAD_CREDENTIALS),
            "{hasher}"
        );
        assert_eq!(app.user(&username).await.password_hash, encoded, "{hasher}");

        let reply = app.login(&username, &password).await;
        assert_eq!(reply.status, 200, "{hasher}: {}", reply.body);
        let upgraded = app.user(&username).await.password_hash;
        assert!(upgraded.starts_with(JWTD_ARGON2ID), "{hasher}: {upgraded}");

        // The new hash logs in, and is not rehashed again.
        let reply = app.login(&username, &password).await;
        assert_eq!(reply.status, 200, "{hasher} again: {}", reply.body);
        assert_eq!(
            app.user(&username).await.password_hash,
            upgraded,
            "{hasher}"
        );
        let reply = app.login(&username, "wrong").await;
        assert_eq!(
            (reply.status, reply.body.as_str()),
            (401, BAD_CREDENTIALS),
            "{hasher}"
        );
    }
}

#[tokio::test]
async fn unusable_unknown_and_unlisted_hashes_fail_like_a_wrong_password() {
    let app = spawn_app(&[]).await;
    let (md5_password, md5) = django_vector("md5", "");
    let (pbkdf2_password, pbkdf2) = django_vector("pbkdf2_sha256", "1000000");
    let truncated = pbkdf2[..pbkdf2.len() - 10].to_owned();
    for (case, stored, password) in [
        // Django's make_password(None): "!" and 40 random characters.
        (
            "unusable",
            "!kYmVJ3q0nRkN2c8mZ1xW9bE4tLpQ7sA5dF6gH0jK".to_owned(),
            "x".to_owned(),
        ),
        // md5 is not in jwtd's hasher list (nor in Django's default one).
        ("md5 not listed", md5, md5_password),
        (
            "unknown format",
            "sha999$1$salt$hash".to_owned(),
            "x".to_owned(),
        ),
        ("truncated pbkdf2", truncated, pbkdf2_password.clone()),
        ("empty", String::new(), "x".to_owned()),
        (
            "bad iterations",
            pbkdf2.replacen("$1000000$", "$-5$", 1),
            pbkdf2_password,
        ),
    ] {
        let username = format!("user-{}", case.replace(' ', "-"));
        app.create_user(&username, "placeholder", true).await;
        app.store.set_password(&username, &stored).await.unwrap();
        let reply = app.login(&username, &password).await;
        assert_eq!(reply.status, 401, "{case}: {}", reply.body);
        assert_eq!(reply.body, BAD_CREDENTIALS, "{case}");
        assert_eq!(app.user(&username).await.password_hash, stored, "{case}");
    }
}
