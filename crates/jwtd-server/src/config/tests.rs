//! The configuration as an operator writes it: defaults, layering, errors naming the setting,
//! key loading and redaction.

use std::time::Duration;

use jwtd_token::{Algorithm, TokenType};

use super::*;

fn vars(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

fn write(dir: &Path, text: &str) -> PathBuf {
    let path = dir.join("jwtd.toml");
    std::fs::write(&path, text).unwrap();
    path
}

#[test]
fn defaults_are_simplejwt_defaults() {
    let (config, warnings) = load(None, &vars(&[])).unwrap();
    assert!(warnings.is_empty());
    assert_eq!(config.server.listen.to_string(), "127.0.0.1:8000");
    assert_eq!(
        config.store.database_url.expose(),
        "sqlite://jwtd-data/jwtd.db"
    );
    assert_eq!(config.server.limits.max_body_bytes, 65_536);
    assert_eq!(
        config.server.limits.header_read_timeout,
        Duration::from_secs(10)
    );
    assert_eq!(
        config.server.limits.request_timeout,
        Duration::from_secs(30)
    );
    assert_eq!(
        config.server.limits.shutdown_timeout,
        Duration::from_secs(30)
    );
    assert_eq!(config.server.limits.max_concurrent_requests, 1024);
    assert_eq!(
        config
            .throttling
            .login_rate_per_address
            .unwrap()
            .to_string(),
        "30/min"
    );
    assert_eq!(
        config
            .throttling
            .login_rate_per_username
            .unwrap()
            .to_string(),
        "10/min"
    );
    assert_eq!(config.server.tls, None);
    assert_eq!(config.server.metrics_listen, None);
    assert!(config.server.cors.allowed_origins.is_empty() && !config.server.cors.allow_credentials);
    assert_eq!(config.store.pool.pool_size, 16);
    assert_eq!(config.store.pool.connect_timeout, Duration::from_secs(5));
    assert_eq!(config.store.data_dir, PathBuf::from("jwtd-data"));
    assert_eq!(config.keys.algorithm, Algorithm::HS256);
    assert_eq!(config.tokens.policy.access_lifetime, 300);
    assert_eq!(config.tokens.policy.refresh_lifetime, 86_400);
    assert_eq!(config.tokens.policy.leeway, 0);
    assert!(
        !config.tokens.rotate_refresh_tokens
            && !config.tokens.blacklist_after_rotation
            && !config.tokens.update_last_login
    );
    assert!(config.auth.check_user_is_active);
    assert_eq!(config.auth.auth_header_types, vec!["Bearer".to_owned()]);
    assert_eq!(config.auth.auth_header_name.as_str(), "authorization");
    assert_eq!(config.auth.auth_token_types, vec![TokenType::Access]);
    assert!(
        matches!(config.keys.signing_key, KeySource::Generated(ref p) if p == Path::new("jwtd-data/signing-key"))
    );
}

#[test]
fn env_wins_over_file_and_file_over_defaults() {
    let dir = tempfile::tempdir().unwrap();
    let file = write(
        dir.path(),
        "access_token_lifetime = \"10m\"\nleeway = 5\nrotate_refresh_tokens = true\n",
    );
    let (config, _) = load(Some(&file), &vars(&[("JWTD_ACCESS_TOKEN_LIFETIME", "1h")])).unwrap();
    assert_eq!(config.tokens.policy.access_lifetime, 3600);
    assert_eq!(config.tokens.policy.leeway, 5);
    assert!(config.tokens.rotate_refresh_tokens);
}

#[test]
fn unknown_file_keys_are_errors_and_unknown_env_vars_warnings() {
    let dir = tempfile::tempdir().unwrap();
    let file = write(dir.path(), "acess_token_lifetime = 5\n");
    let err = load(Some(&file), &vars(&[])).unwrap_err().to_string();
    assert!(err.contains("acess_token_lifetime"), "{err}");
    let (_, warnings) = load(None, &vars(&[("JWTD_ACESS", "1"), ("JWTD_CONFIG", "x")])).unwrap();
    assert_eq!(
        warnings,
        vec!["ignoring unknown environment variable JWTD_ACESS".to_owned()]
    );
}

#[test]
fn bad_values_name_the_setting() {
    for (var, value, setting) in [
        ("JWTD_ACCESS_TOKEN_LIFETIME", "0", "access_token_lifetime"),
        (
            "JWTD_REFRESH_TOKEN_LIFETIME",
            "soon",
            "JWTD_REFRESH_TOKEN_LIFETIME",
        ),
        ("JWTD_ALGORITHM", "none", "algorithm"),
        ("JWTD_LISTEN", "everywhere", "listen"),
        (
            "JWTD_ROTATE_REFRESH_TOKENS",
            "maybe",
            "JWTD_ROTATE_REFRESH_TOKENS",
        ),
        ("JWTD_DATABASE_URL", "mysql://x", "database_url"),
        (
            "JWTD_AUTH_TOKEN_CLASSES",
            "RefreshToken",
            "auth_token_classes",
        ),
        // A scheme names the `WWW-Authenticate` challenge: an HTTP token, so ASCII.
        ("JWTD_AUTH_HEADER_TYPES", "Bearér", "auth_header_types"),
        ("JWTD_MAX_BODY_BYTES", "0", "max_body_bytes"),
        ("JWTD_REQUEST_TIMEOUT", "0", "request_timeout"),
        ("JWTD_HEADER_READ_TIMEOUT", "0", "header_read_timeout"),
        (
            "JWTD_MAX_CONCURRENT_REQUESTS",
            "0",
            "max_concurrent_requests",
        ),
        ("JWTD_DATABASE_POOL_SIZE", "0", "database_pool_size"),
        (
            "JWTD_LOGIN_RATE_PER_ADDRESS",
            "lots",
            "login_rate_per_address",
        ),
        (
            "JWTD_LOGIN_RATE_PER_USERNAME",
            "5/week",
            "login_rate_per_username",
        ),
        ("JWTD_TRUSTED_PROXIES", "10.0.0.0/40", "trusted_proxies"),
        ("JWTD_METRICS_LISTEN", "metrics", "metrics_listen"),
        ("JWTD_TLS_CERT_FILE", "cert.pem", "tls_key_file"),
        ("JWTD_TLS_KEY_FILE", "key.pem", "tls_cert_file"),
        (
            "JWTD_CORS_ALLOWED_ORIGINS",
            "app.example.com",
            "cors_allowed_origins",
        ),
        (
            "JWTD_CORS_ALLOWED_ORIGINS",
            "https://app.example.com/",
            "cors_allowed_origins",
        ),
    ] {
        let err = load(None, &vars(&[(var, value)])).unwrap_err().to_string();
        assert!(err.starts_with(setting), "{var}={value}: {err}");
    }
    let err = load(
        None,
        &vars(&[
            ("JWTD_CORS_ALLOWED_ORIGINS", "*"),
            ("JWTD_CORS_ALLOW_CREDENTIALS", "true"),
        ]),
    )
    .unwrap_err()
    .to_string();
    assert!(err.starts_with("cors_allow_credentials:"), "{err}");
    let err = load(None, &vars(&[("JWTD_ALGORITHM", "RS256")]))
        .unwrap_err()
        .to_string();
    assert!(err.starts_with("signing_key:"), "{err}");
}

#[test]
fn durations_accept_units() {
    assert_eq!(Seconds::parse("300"), Ok(Seconds(300)));
    assert_eq!(Seconds::parse("5m"), Ok(Seconds(300)));
    assert_eq!(Seconds::parse("1h30m"), Ok(Seconds(5400)));
    assert_eq!(Seconds::parse("1d"), Ok(Seconds(86_400)));
    assert!(Seconds::parse("5 minutes").is_err());
    assert!(Seconds::parse("-5").is_err());
    assert!(Seconds::parse("").is_err());
}

#[test]
fn weak_secrets_stop_start_up_and_debug_redacts() {
    let (config, _) = load(None, &vars(&[("JWTD_SIGNING_KEY", "short-secret")])).unwrap();
    assert!(!format!("{config:?}").contains("short-secret"));
    let err = config.load_keys(|_| {}).unwrap_err().to_string();
    assert!(
        err.starts_with("signing_key: the HS256 secret is 12 bytes"),
        "{err}"
    );
}

#[test]
fn a_pem_that_does_not_fit_the_algorithm_is_refused() {
    let pem = jwtd_token::generate(Algorithm::EdDSA).unwrap();
    let (config, _) = load(
        None,
        &vars(&[("JWTD_ALGORITHM", "ES256"), ("JWTD_SIGNING_KEY", &pem)]),
    )
    .unwrap();
    let err = config.load_keys(|_| {}).unwrap_err().to_string();
    assert!(err.starts_with("signing_key:"), "{err}");
}

/// A bad verifying key is reported under the setting that holds it, not the signing key's.
#[test]
fn a_bad_verifying_key_names_its_own_setting() {
    let dir = tempfile::tempdir().unwrap();
    let private = jwtd_token::generate(Algorithm::EdDSA).unwrap();
    let other = jwtd_token::generate(Algorithm::EdDSA).unwrap();
    let file = write(dir.path(), "not a key");
    let file_text = file.to_str().unwrap();
    let cases: [(&str, &str, &str); 3] = [
        ("JWTD_VERIFYING_KEY", "not a key", "verifying_key:"),
        ("JWTD_VERIFYING_KEY_FILE", file_text, "verifying_key_file:"),
        // A private key where the public one belongs.
        ("JWTD_VERIFYING_KEY", &other, "verifying_key:"),
    ];
    for (name, value, prefix) in cases {
        let (config, _) = load(
            None,
            &vars(&[
                ("JWTD_ALGORITHM", "EdDSA"),
                ("JWTD_SIGNING_KEY", &private),
                (name, value),
            ]),
        )
        .unwrap();
        let err = config.load_keys(|_| {}).unwrap_err().to_string();
        assert!(err.starts_with(prefix), "{name}: {err}");
    }
}

#[test]
fn the_generated_secret_is_private_and_reused() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let data_text = data.to_str().unwrap();
    let (config, _) = load(None, &vars(&[("JWTD_DATA_DIR", data_text)])).unwrap();
    let mut generated = None;
    config
        .load_keys(|path| generated = Some(path.to_owned()))
        .unwrap();
    let path = generated.expect("a secret was generated");
    let first = std::fs::read(&path).unwrap();
    assert_eq!(first.len(), 86);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(
            std::fs::metadata(&path).unwrap().permissions().mode() & 0o777,
            0o600
        );
    }
    let mut again = false;
    config.load_keys(|_| again = true).unwrap();
    assert!(!again, "the secret must be reused, not regenerated");
    assert_eq!(std::fs::read(&path).unwrap(), first);
}

#[test]
fn the_shipped_example_config_loads_with_the_defaults() {
    let example = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../jwtd.example.toml");
    let (from_file, _) = load(Some(&example), &vars(&[])).unwrap();
    let (defaults, _) = load(None, &vars(&[])).unwrap();
    assert_eq!(format!("{from_file:?}"), format!("{defaults:?}"));
}

#[test]
fn debug_redacts_secrets() {
    let secret = "debug-redaction-secret-0123456789abcdef0123456789";
    let file = format!(
        "signing_key = \"{secret}\"\ndatabase_url = \"postgres://jwtd:pg-password-42@db:5432/jwtd\"\n"
    );
    let dir = tempfile::tempdir().unwrap();
    let path = write(dir.path(), &file);
    let raw: RawConfig = toml::from_str(&file).unwrap();
    let (config, _) = load(Some(&path), &vars(&[])).unwrap();
    for shown in [
        format!("{raw:?}"),
        format!("{config:?}"),
        format!("{config:#?}"),
    ] {
        assert!(!shown.contains(secret), "{shown}");
        assert!(!shown.contains("pg-password-42"), "{shown}");
    }
    assert_eq!(
        config.store.database_url.to_string(),
        "postgres://jwtd:[redacted]@db:5432/jwtd"
    );
    assert_eq!(
        config.store.database_url.expose(),
        "postgres://jwtd:pg-password-42@db:5432/jwtd"
    );
    // An error about the URL does not print the password either.
    let err = load(
        None,
        &vars(&[("JWTD_DATABASE_URL", "mysql://root:hunter2@db/jwtd")]),
    )
    .unwrap_err()
    .to_string();
    assert!(!err.contains("hunter2"), "{err}");
}

#[cfg(unix)]
#[test]
fn world_readable_key_file_warns() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let key = dir.path().join("signing.pem");
    std::fs::write(&key, jwtd_token::generate(Algorithm::ES256).unwrap()).unwrap();
    let key_text = key.to_str().unwrap();
    let settings = [
        ("JWTD_ALGORITHM", "ES256"),
        ("JWTD_SIGNING_KEY_FILE", key_text),
    ];
    for (mode, warned) in [(0o600, false), (0o640, false), (0o644, true), (0o604, true)] {
        std::fs::set_permissions(&key, std::fs::Permissions::from_mode(mode)).unwrap();
        let (config, _) = load(None, &vars(&settings)).unwrap();
        let warnings = config.exposed_key_files();
        assert_eq!(!warnings.is_empty(), warned, "mode {mode:o}: {warnings:?}");
        if warned {
            assert!(warnings[0].starts_with("signing_key_file:"), "{warnings:?}");
        }
        config.load_keys(|_| {}).unwrap();
    }
}

#[test]
fn users_default_to_jwtds_schema_and_hashers() {
    let (config, _) = load(None, &vars(&[])).unwrap();
    assert_eq!(config.users.schema, DatabaseSchema::Jwtd);
    assert_eq!(config.users.username_field, "username");
    assert_eq!(config.users.hashers.preferred().name(), "argon2id");
    assert_eq!(config.users.hashers.pbkdf2_iterations(), 1_000_000);
    assert!(config.users.token_claims.is_empty());
    assert_eq!(config.users.revoke_token_claim, None);
}

#[test]
fn django_mode_takes_djangos_names_and_default_hashers() {
    let (config, _) = load(
        None,
        &vars(&[
            ("JWTD_DATABASE_SCHEMA", "django"),
            ("JWTD_DJANGO_USER_TABLE", "accounts_user"),
            ("JWTD_USERNAME_FIELD", "email"),
            ("JWTD_USER_ID_FIELD", "uuid"),
            ("JWTD_TOKEN_CLAIMS", "email, is_staff,groups"),
            ("JWTD_CHECK_REVOKE_TOKEN", "true"),
            ("JWTD_PBKDF2_ITERATIONS", "870000"),
        ]),
    )
    .unwrap();
    let DatabaseSchema::Django(names) = &config.users.schema else {
        panic!("expected Django mode, got {:?}", config.users.schema);
    };
    assert_eq!(names.user_table, "accounts_user");
    assert_eq!(names.username_field, "email");
    assert_eq!(names.user_id_field, "uuid");
    assert_eq!(names.groups_table, "accounts_user_groups");
    assert_eq!(names.groups_column, "user_id");
    assert_eq!(config.users.username_field, "email");
    let listed: Vec<&str> = config
        .users
        .hashers
        .algorithms()
        .iter()
        .map(|a| a.name())
        .collect();
    assert_eq!(
        listed,
        [
            "pbkdf2_sha256",
            "pbkdf2_sha1",
            "argon2",
            "bcrypt_sha256",
            "scrypt"
        ]
    );
    assert_eq!(config.users.hashers.pbkdf2_iterations(), 870_000);
    assert_eq!(config.users.token_claims, ["email", "is_staff", "groups"]);
    assert_eq!(
        config.users.revoke_token_claim.as_deref(),
        Some("hash_password")
    );
}

#[test]
fn password_hashers_take_names_or_django_class_paths() {
    let (config, _) = load(
        None,
        &vars(&[(
            "JWTD_PASSWORD_HASHERS",
            "django.contrib.auth.hashers.Argon2PasswordHasher,pbkdf2_sha256,BCryptPasswordHasher",
        )]),
    )
    .unwrap();
    let listed: Vec<&str> = config
        .users
        .hashers
        .algorithms()
        .iter()
        .map(|a| a.name())
        .collect();
    assert_eq!(listed, ["argon2", "pbkdf2_sha256", "bcrypt"]);
}

#[test]
fn bad_user_settings_name_the_setting() {
    for (pairs, setting) in [
        (vec![("JWTD_DATABASE_SCHEMA", "mysql")], "database_schema"),
        (vec![("JWTD_USERNAME_FIELD", "mail")], "username_field"),
        (vec![("JWTD_USER_ID_FIELD", "uuid")], "user_id_field"),
        (
            vec![("JWTD_DJANGO_USER_TABLE", "accounts_user")],
            "django_user_table",
        ),
        (vec![("JWTD_PASSWORD_HASHERS", "sha1")], "password_hashers"),
        (
            vec![("JWTD_PASSWORD_HASHERS", "argon2,argon2")],
            "password_hashers",
        ),
        (vec![("JWTD_PBKDF2_ITERATIONS", "0")], "pbkdf2_iterations"),
        (
            vec![("JWTD_PBKDF2_ITERATIONS", "99999999999")],
            "pbkdf2_iterations",
        ),
        (vec![("JWTD_TOKEN_CLAIMS", "email,email")], "token_claims"),
        (
            vec![
                ("JWTD_DATABASE_SCHEMA", "django"),
                ("JWTD_DJANGO_USER_TABLE", "auth_user; DROP TABLE x"),
            ],
            "database_schema",
        ),
    ] {
        let err = load(None, &vars(&pairs)).unwrap_err();
        assert!(
            matches!(&err, ConfigError::Invalid { setting: s, .. } if *s == setting),
            "{pairs:?}: {err}"
        );
    }
}

#[test]
fn database_urls_hide_a_password_given_as_a_query_parameter() {
    for (url, shown) in [
        (
            "postgres://app@db/app?password=pg-secret-1&sslmode=disable",
            "postgres://app@db/app?password=[redacted]&sslmode=disable",
        ),
        (
            "postgres://app:pg-secret-2@db/app?PASSWORD=pg-secret-3",
            "postgres://app:[redacted]@db/app?PASSWORD=[redacted]",
        ),
        (
            "sqlite:///srv/app/db.sqlite3",
            "sqlite:///srv/app/db.sqlite3",
        ),
    ] {
        let url = DatabaseUrl::new(url);
        assert_eq!(url.to_string(), shown);
        assert_eq!(format!("{url:?}"), format!("\"{shown}\""));
    }
}

#[test]
fn session_settings_default_to_simplejwts_behaviour() {
    let (config, _) = load(None, &vars(&[])).unwrap();
    let sessions = &config.sessions;
    assert!(!sessions.reuse_detection);
    assert_eq!(sessions.reuse_interval, 0);
    assert_eq!((sessions.lifetime, sessions.idle_timeout), (None, None));
    assert!(sessions.introspection_token.is_none());
    assert_eq!(sessions.password_min_length, 8);
}

#[test]
fn session_settings_are_read_and_checked() {
    let (config, _) = load(
        None,
        &vars(&[
            ("JWTD_ROTATE_REFRESH_TOKENS", "true"),
            ("JWTD_BLACKLIST_AFTER_ROTATION", "true"),
            ("JWTD_REFRESH_TOKEN_REUSE_DETECTION", "true"),
            ("JWTD_REFRESH_TOKEN_REUSE_INTERVAL", "30s"),
            ("JWTD_SESSION_LIFETIME", "30d"),
            ("JWTD_SESSION_IDLE_TIMEOUT", "7d"),
        ]),
    )
    .unwrap();
    let sessions = &config.sessions;
    assert!(sessions.reuse_detection);
    assert_eq!(sessions.reuse_interval, 30);
    assert_eq!(sessions.lifetime, Some(30 * 86_400));
    assert_eq!(sessions.idle_timeout, Some(7 * 86_400));

    // Reuse is recognised by the blacklist row a rotation leaves: both must be on.
    for missing in [
        "JWTD_ROTATE_REFRESH_TOKENS",
        "JWTD_BLACKLIST_AFTER_ROTATION",
    ] {
        let mut settings = vec![
            ("JWTD_ROTATE_REFRESH_TOKENS", "true"),
            ("JWTD_BLACKLIST_AFTER_ROTATION", "true"),
            ("JWTD_REFRESH_TOKEN_REUSE_DETECTION", "true"),
        ];
        settings.retain(|(name, _)| *name != missing);
        let err = load(None, &vars(&settings)).unwrap_err().to_string();
        assert!(
            err.starts_with("refresh_token_reuse_detection: needs rotate_refresh_tokens"),
            "{err}"
        );
    }
    for (var, value, expected) in [
        (
            "JWTD_SESSION_LIFETIME",
            "0",
            "session_lifetime: must be longer than 0 s",
        ),
        (
            "JWTD_SESSION_IDLE_TIMEOUT",
            "0s",
            "session_idle_timeout: must be longer than 0 s",
        ),
        (
            "JWTD_INTROSPECTION_TOKEN",
            "short",
            "introspection_token: is shorter than 32 bytes",
        ),
        (
            "JWTD_PASSWORD_MIN_LENGTH",
            "0",
            "password_min_length: must be at least 1",
        ),
    ] {
        let err = load(None, &vars(&[(var, value)])).unwrap_err().to_string();
        assert!(err.starts_with(expected), "{var}={value}: {err}");
    }
}

#[test]
fn the_refresh_cookie_is_off_by_default_and_its_settings_are_checked() {
    let (config, _) = load(None, &vars(&[])).unwrap();
    assert_eq!(config.browser.refresh_cookie, None);
    let (config, warnings) = load(
        None,
        &vars(&[
            ("JWTD_REFRESH_COOKIE", "true"),
            ("JWTD_REFRESH_COOKIE_SAMESITE", "Lax"),
            ("JWTD_REFRESH_COOKIE_SECURE", "false"),
        ]),
    )
    .unwrap();
    assert!(warnings.is_empty(), "{warnings:?}");
    let cookie = config.browser.refresh_cookie.clone().unwrap();
    assert_eq!(
        (cookie.name.as_str(), cookie.path.as_str(), cookie.secure),
        ("refresh", "/api/token/", false)
    );
    assert_eq!(cookie.same_site, super::browser::SameSite::Lax);
    assert!(
        config
            .exposed_key_files()
            .iter()
            .any(|w| w.starts_with("refresh_cookie_secure = false")),
        "an insecure cookie is warned about"
    );
    for (var, value, expected) in [
        (
            "JWTD_REFRESH_COOKIE_SAMESITE",
            "None",
            "refresh_cookie_samesite: \"None\"",
        ),
        (
            "JWTD_REFRESH_COOKIE_NAME",
            "re;fresh",
            "refresh_cookie_name:",
        ),
        (
            "JWTD_REFRESH_COOKIE_NAME",
            "csrftoken",
            "refresh_cookie_name:",
        ),
        ("JWTD_REFRESH_COOKIE_PATH", "api", "refresh_cookie_path:"),
    ] {
        let err = load(
            None,
            &vars(&[("JWTD_REFRESH_COOKIE", "true"), (var, value)]),
        )
        .unwrap_err()
        .to_string();
        assert!(err.starts_with(expected), "{var}={value}: {err}");
    }
}
