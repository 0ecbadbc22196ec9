//! Every check: the passing case, and each refusal with its `ErrorKind` and simplejwt's body.

use std::time::Duration;

use jwtd_token::{Algorithm, ClaimNames, KeySet, Keys, Policy, TokenType};
use jwtd_verify::{BuildError, ErrorKind, Verifier, VerifierBuilder, VerifyError};
use serde_json::{Value, json};

use crate::helpers::{Issuer, JwksServer, hs256, jwks_of, now, tampered, with_header};

/// A JWKS server for `issuer` and a verifier on it, configured by `configure`.
async fn setup(
    issuer: &Issuer,
    configure: impl FnOnce(VerifierBuilder) -> VerifierBuilder,
) -> (JwksServer, Verifier) {
    let server = JwksServer::start(&jwks_of(&[issuer])).await;
    let verifier = configure(Verifier::builder().jwks_url(server.url()))
        .build()
        .await
        .unwrap();
    (server, verifier)
}

fn invalid_body(message: &str) -> Value {
    json!({
        "detail": "Given token not valid for any token type",
        "code": "token_not_valid",
        "messages": [{"token_class": "AccessToken", "token_type": "access", "message": message}],
    })
}

#[track_caller]
fn assert_refused(
    result: Result<jwtd_verify::Verified, VerifyError>,
    kind: ErrorKind,
    body: Value,
) {
    let error = result.expect_err("the token should be refused");
    assert_eq!(error.kind(), kind, "{error}");
    assert_eq!(error.status(), 401);
    assert_eq!(error.body(), body);
    assert_eq!(error.challenge().unwrap(), "Bearer realm=\"api\"");
}

#[tokio::test]
async fn a_valid_access_token_passes_with_its_user_id_and_claims() {
    let issuer = Issuer::new(Algorithm::ES256);
    let (_server, verifier) = setup(&issuer, |b| b).await;
    let verified = verifier.verify(&issuer.access(42)).await.unwrap();
    assert_eq!(verified.user_id(), "42");
    assert_eq!(verified.claims_map()["token_type"], "access");
    assert_eq!(verified.jti().unwrap().len(), 32);
    assert!(verified.expires_at().unwrap() > now());

    #[derive(serde::Deserialize)]
    struct Mine {
        user_id: String,
        token_type: String,
        exp: i64,
    }
    let mine: Mine = verified.claims().unwrap();
    assert_eq!(mine.user_id, "42");
    assert_eq!(mine.token_type, "access");
    assert_eq!(Some(mine.exp), verified.expires_at());
    assert!(verified.claims::<Vec<String>>().is_err());
}

#[tokio::test]
async fn user_ids_may_be_integers_or_any_string_but_nothing_else() {
    let issuer = Issuer::new(Algorithm::EdDSA);
    let (_server, verifier) = setup(&issuer, |b| b).await;
    let integer = issuer.access_with(vec![("user_id", json!(42))]);
    assert_eq!(verifier.verify(&integer).await.unwrap().user_id(), "42");
    let uuid = issuer.access_with(vec![(
        "user_id",
        json!("b7f3c1e2-0000-4000-8000-000000000001"),
    )]);
    assert_eq!(
        verifier.verify(&uuid).await.unwrap().user_id(),
        "b7f3c1e2-0000-4000-8000-000000000001"
    );
    let no_user_body = json!({
        "detail": "Token contained no recognizable user identification",
        "code": "token_not_valid",
    });
    for bad in [json!(true), json!(1.5), json!(-3), json!(null), json!([1])] {
        let token = issuer.access_with(vec![("user_id", bad)]);
        assert_refused(
            verifier.verify(&token).await,
            ErrorKind::NoUserId,
            no_user_body.clone(),
        );
    }
}

#[tokio::test]
async fn a_token_without_a_user_id_is_refused() {
    let issuer = Issuer::new(Algorithm::ES256);
    let (_server, verifier) = setup(&issuer, |b| b).await;
    let names = ClaimNames {
        user_id: "sub".to_owned(),
        ..ClaimNames::default()
    };
    let other = issuer.with_policy(Policy {
        claims: names,
        ..Policy::default()
    });
    let token = other.access(5);
    assert_refused(
        verifier.verify(&token).await,
        ErrorKind::NoUserId,
        json!({
            "detail": "Token contained no recognizable user identification",
            "code": "token_not_valid",
        }),
    );
    // Configured to read `sub`, the same token passes.
    let (_server, sub) = setup(&issuer, |b| b.user_id_claim("sub")).await;
    assert_eq!(sub.verify(&token).await.unwrap().user_id(), "5");
}

#[tokio::test]
async fn expiry_is_checked_with_the_leeway() {
    let issuer = Issuer::new(Algorithm::ES256);
    let (_server, verifier) = setup(&issuer, |b| b).await;
    // Access tokens live 300 s: this one expired 10 s ago.
    let token = issuer.pair_at(1, now() - 310).access.token;
    assert_refused(
        verifier.verify(&token).await,
        ErrorKind::Expired,
        invalid_body("Token is expired"),
    );
    let (_server, lenient) = setup(&issuer, |b| b.leeway(Duration::from_secs(60))).await;
    assert_eq!(lenient.verify(&token).await.unwrap().user_id(), "1");
    // Time passed in: the same token at its issuing time passes.
    assert!(verifier.verify_at(&token, now() - 300).await.is_ok());
}

#[tokio::test]
async fn a_token_not_yet_valid_is_refused() {
    let issuer = Issuer::new(Algorithm::ES256);
    let (_server, verifier) = setup(&issuer, |b| b).await;
    let nbf = issuer.access_with(vec![("nbf", json!(now() + 600))]);
    assert_refused(
        verifier.verify(&nbf).await,
        ErrorKind::NotYetValid,
        invalid_body("Token is invalid"),
    );
    let iat = issuer.pair_at(1, now() + 600).access.token;
    assert_refused(
        verifier.verify(&iat).await,
        ErrorKind::NotYetValid,
        invalid_body("Token is invalid"),
    );
    let (_server, lenient) = setup(&issuer, |b| b.leeway(Duration::from_secs(900))).await;
    assert!(lenient.verify(&nbf).await.is_ok());
}

#[tokio::test]
async fn the_issuer_is_checked_when_configured() {
    let issuer = Issuer::new(Algorithm::ES256);
    let (_server, verifier) = setup(&issuer, |b| b.issuer("https://auth.example.com")).await;
    let right = issuer.with_policy(Policy {
        issuer: Some("https://auth.example.com".to_owned()),
        ..Policy::default()
    });
    let wrong = issuer.with_policy(Policy {
        issuer: Some("https://evil.example.com".to_owned()),
        ..Policy::default()
    });
    assert!(verifier.verify(&right.access(1)).await.is_ok());
    for token in [wrong.access(1), issuer.access(1)] {
        assert_refused(
            verifier.verify(&token).await,
            ErrorKind::Issuer,
            invalid_body("Token is invalid"),
        );
    }
}

#[tokio::test]
async fn the_audience_is_checked() {
    let issuer = Issuer::new(Algorithm::ES256);
    let (_server, verifier) = setup(&issuer, |b| b.audience("orders")).await;
    let audience = |aud: &str| {
        issuer.with_policy(Policy {
            audience: Some(aud.to_owned()),
            ..Policy::default()
        })
    };
    assert!(verifier.verify(&audience("orders").access(1)).await.is_ok());
    let in_a_list = issuer.access_with(vec![("aud", json!(["billing", "orders"]))]);
    assert!(verifier.verify(&in_a_list).await.is_ok());
    for token in [audience("billing").access(1), issuer.access(1)] {
        assert_refused(
            verifier.verify(&token).await,
            ErrorKind::Audience,
            invalid_body("Token is invalid"),
        );
    }
    // No audience configured: a token meant for one is refused.
    let (_server, plain) = setup(&issuer, |b| b).await;
    assert_refused(
        plain.verify(&audience("orders").access(1)).await,
        ErrorKind::Audience,
        invalid_body("Token is invalid"),
    );
}

#[tokio::test]
async fn a_refresh_token_is_not_an_access_token() {
    let issuer = Issuer::new(Algorithm::ES256);
    let (_server, verifier) = setup(&issuer, |b| b).await;
    let refresh = issuer.pair_at(3, now()).refresh.token;
    assert_refused(
        verifier.verify(&refresh).await,
        ErrorKind::TokenType,
        invalid_body("Token has wrong type"),
    );
    let untyped = issuer.access_with(vec![("token_type", json!(7))]);
    assert_refused(
        verifier.verify(&untyped).await,
        ErrorKind::TokenType,
        invalid_body("Token has wrong type"),
    );
    // Accepting both types: refresh passes; a failure lists both, as simplejwt does.
    let (_server, both) = setup(&issuer, |b| {
        b.token_types([TokenType::Access, TokenType::Sliding])
    })
    .await;
    let error = both.verify(&refresh).await.unwrap_err();
    assert_eq!(
        error.body()["messages"],
        json!([
            {"token_class": "AccessToken", "token_type": "access", "message": "Token has wrong type"},
            {"token_class": "SlidingToken", "token_type": "sliding", "message": "Token has wrong type"},
        ])
    );
    let (_server, refresh_ok) = setup(&issuer, |b| b.token_types([TokenType::Refresh])).await;
    assert_eq!(refresh_ok.verify(&refresh).await.unwrap().user_id(), "3");
}

#[tokio::test]
async fn the_claims_simplejwt_requires_must_be_there() {
    let secret = b"an example secret of at least 32 bytes!";
    let verifier = Verifier::builder()
        .secret(Algorithm::HS256, secret)
        .build_static()
        .unwrap();
    let header = json!({"alg": "HS256", "typ": "JWT"});
    let full = json!({
        "token_type": "access", "exp": now() + 60, "iat": now(), "jti": "0f", "user_id": "1",
    });
    assert_eq!(
        verifier
            .verify(&hs256(&header, &full, secret))
            .await
            .unwrap()
            .user_id(),
        "1"
    );
    // `exp` as a float is accepted (contract 1.3.5).
    let mut float = full.clone();
    float["exp"] = json!(now() as f64 + 60.5);
    assert!(
        verifier
            .verify(&hs256(&header, &float, secret))
            .await
            .is_ok()
    );
    for (claim, kind, message) in [
        ("exp", ErrorKind::NoExpiry, "Token has no 'exp' claim"),
        ("jti", ErrorKind::NoTokenId, "Token has no id"),
        ("token_type", ErrorKind::NoTokenType, "Token has no type"),
    ] {
        let mut claims = full.clone();
        claims.as_object_mut().unwrap().remove(claim);
        assert_refused(
            verifier.verify(&hs256(&header, &claims, secret)).await,
            kind,
            invalid_body(message),
        );
    }
    for (claim, bad) in [
        ("exp", json!("soon")),
        ("iat", json!(true)),
        ("jti", json!(5)),
    ] {
        let mut claims = full.clone();
        claims[claim] = bad;
        assert_refused(
            verifier.verify(&hs256(&header, &claims, secret)).await,
            ErrorKind::Malformed,
            invalid_body("Token is invalid"),
        );
    }
    // Another secret: the signature.
    let other = b"another secret, also at least 32 bytes";
    assert_refused(
        verifier.verify(&hs256(&header, &full, other)).await,
        ErrorKind::Signature,
        invalid_body("Token is invalid"),
    );
}

#[tokio::test]
async fn alg_none_and_other_algorithms_are_refused() {
    let issuer = Issuer::new(Algorithm::ES256);
    let (_server, verifier) = setup(&issuer, |b| b).await;
    let token = issuer.access(1);
    let (_, payload_and_signature) = token.split_once('.').unwrap();
    let payload = payload_and_signature.split('.').next().unwrap();
    for header in [
        json!({"alg": "none", "typ": "JWT"}),
        json!({"alg": "none", "kid": issuer.kid()}),
        json!({"alg": "ES384", "kid": issuer.kid()}),
        json!({"alg": "HS256", "kid": issuer.kid()}),
    ] {
        let forged = with_header(&token, &header);
        let unsigned = format!("{}.{payload}.", forged.split('.').next().unwrap());
        for candidate in [forged, unsigned] {
            assert_refused(
                verifier.verify(&candidate).await,
                ErrorKind::Algorithm,
                invalid_body("Token is invalid"),
            );
        }
    }
}

#[tokio::test]
async fn a_tampered_token_is_refused() {
    let issuer = Issuer::new(Algorithm::ES256);
    let (_server, verifier) = setup(&issuer, |b| b).await;
    let token = issuer.access(1);
    assert_refused(
        verifier.verify(&tampered(&token)).await,
        ErrorKind::Signature,
        invalid_body("Token is invalid"),
    );
    // Another user's claims under this token's signature.
    let other = issuer.access(2);
    let mut parts: Vec<&str> = token.split('.').collect();
    parts[1] = other.split('.').nth(1).unwrap();
    assert_refused(
        verifier.verify(&parts.join(".")).await,
        ErrorKind::Signature,
        invalid_body("Token is invalid"),
    );
}

#[tokio::test]
async fn malformed_tokens_are_refused() {
    let issuer = Issuer::new(Algorithm::ES256);
    let (_server, verifier) = setup(&issuer, |b| b).await;
    let token = issuer.access(1);
    let crit = with_header(
        &token,
        &json!({"alg": "ES256", "kid": issuer.kid(), "crit": ["x"]}),
    );
    for bad in [
        "",
        "abc",
        "a.b",
        "a.b.c.d",
        "!!.??.**",
        &format!("{token}="),
        &format!(" {token}"),
        &crit,
    ] {
        assert_refused(
            verifier.verify(bad).await,
            ErrorKind::Malformed,
            invalid_body("Token is invalid"),
        );
    }
}

#[tokio::test]
async fn headers_are_read_as_drf_reads_them() {
    let issuer = Issuer::new(Algorithm::ES256);
    let (_server, verifier) = setup(&issuer, |b| b).await;
    let token = issuer.access(9);
    let not_provided = json!({"detail": "Authentication credentials were not provided."});
    let bad_header = json!({
        "detail": "Authorization header must contain two space-delimited values",
        "code": "bad_authorization_header",
    });
    let with = |h: String| h.into_bytes();
    for header in [
        None,
        Some(with(String::new())),
        Some(with(format!("Token {token}"))),
    ] {
        assert_refused(
            verifier.verify_header(header.as_deref()).await,
            ErrorKind::NotProvided,
            not_provided.clone(),
        );
    }
    for header in ["Bearer".to_owned(), format!("Bearer {token} x")] {
        assert_refused(
            verifier.verify_header(Some(header.as_bytes())).await,
            ErrorKind::BadHeader,
            bad_header.clone(),
        );
    }
    for header in [format!("Bearer {token}"), format!("bearer  {token}")] {
        let verified = verifier
            .verify_header(Some(header.as_bytes()))
            .await
            .unwrap();
        assert_eq!(verified.user_id(), "9");
    }
    let (_server, jwt) = setup(&issuer, |b| b.header_types(["JWT", "Bearer"])).await;
    let error = jwt.verify_header(None).await.unwrap_err();
    assert_eq!(error.challenge().unwrap(), "JWT realm=\"api\"");
    assert!(
        jwt.verify_header(Some(format!("JWT {token}").as_bytes()))
            .await
            .is_ok()
    );
}

#[tokio::test]
async fn static_sources_verify_without_a_server() {
    let secret = b"an example secret of at least 32 bytes!";
    let hmac = Keys::new(Algorithm::HS256, secret, None).unwrap();
    let hmac_issuer = jwtd_token::TokenEngine::new(hmac, Policy::default());
    let token = hmac_issuer.issue_pair(11, now()).unwrap().access.token;
    let by_secret = Verifier::builder()
        .secret(Algorithm::HS256, secret)
        .build_static()
        .unwrap();
    assert_eq!(by_secret.verify(&token).await.unwrap().user_id(), "11");
    let set = KeySet::from(Keys::new(Algorithm::HS256, secret, None).unwrap());
    let by_set = Verifier::builder().key_set(set).build().await.unwrap();
    assert_eq!(by_set.verify(&token).await.unwrap().user_id(), "11");
    assert_eq!(by_set.fetch_count(), 0);

    let es = Issuer::new(Algorithm::ES256);
    let rsa = Issuer::new(Algorithm::RS256);
    let es_token = es.access(12);
    let rsa_token = rsa.access(13);
    let by_jwk = Verifier::builder().jwk(&es.jwk()).build_static().unwrap();
    assert_eq!(by_jwk.verify(&es_token).await.unwrap().user_id(), "12");
    assert_eq!(by_jwk.key_ids(), vec![es.kid()]);
    let by_document = Verifier::builder()
        .jwks(&jwks_of(&[&es, &rsa]))
        .build_static()
        .unwrap();
    assert!(by_document.verify(&es_token).await.is_ok());
    assert!(by_document.verify(&rsa_token).await.is_ok());
    let public_pem = public_pem_of(rsa.material());
    let by_pem = Verifier::builder()
        .public_pem(Algorithm::RS256, public_pem.as_bytes())
        .build_static()
        .unwrap();
    assert_eq!(by_pem.verify(&rsa_token).await.unwrap().user_id(), "13");
    // Keys given one by one combine; the secret's kid does not matter for a lone-kid token.
    let mixed = Verifier::builder()
        .secret(Algorithm::HS256, secret)
        .jwk(&es.jwk())
        .build_static()
        .unwrap();
    assert!(mixed.verify(&token).await.is_ok());
    assert!(mixed.verify(&es_token).await.is_ok());
}

/// An issuer that verifies its own tokens (jwtd's server) signs with the verifier's engine and
/// swaps its keys there: old tokens fail once their key leaves, new ones pass at once.
#[tokio::test]
async fn replaced_keys_are_in_force_for_the_next_request() {
    let policy = Policy {
        issuer: Some("https://auth.example".to_owned()),
        ..Policy::default()
    };
    let first = Issuer::new(Algorithm::ES256);
    let second = Issuer::new(Algorithm::ES256);
    let verifier = Verifier::builder()
        .policy(policy.clone())
        .key_set(first.key_set())
        .build_static()
        .unwrap();
    let engine = verifier.engine().unwrap();
    assert_eq!(issuer_of(&engine), Some("https://auth.example"));
    let old = engine.issue_pair(5, now()).unwrap().access.token;
    assert_eq!(verifier.verify(&old).await.unwrap().user_id(), "5");

    verifier.replace_keys(second.key_set());
    assert_eq!(verifier.key_ids(), vec![second.kid()]);
    let refused = verifier.verify(&old).await.unwrap_err();
    assert_eq!(refused.kind(), ErrorKind::UnknownKey);
    let engine = verifier.engine().unwrap();
    assert_eq!(issuer_of(&engine), Some("https://auth.example"));
    let new = engine.issue_pair(6, now()).unwrap().access.token;
    assert_eq!(verifier.verify(&new).await.unwrap().user_id(), "6");
    // The engine a request took before the swap still verifies what it verified.
    let held = first.key_set();
    let held = jwtd_token::TokenEngine::new(held, policy);
    assert!(held.decode(&old, now()).is_ok());
}

fn issuer_of(engine: &jwtd_token::TokenEngine) -> Option<&str> {
    engine.policy().issuer.as_deref()
}

/// The SPKI PEM of an RSA private key's public half.
fn public_pem_of(private_pem: &str) -> String {
    use aws_lc_rs::encoding::{AsDer, PublicKeyX509Der};
    use aws_lc_rs::signature::{KeyPair, RsaKeyPair};
    let der = pem::parse(private_pem).unwrap();
    let pair = RsaKeyPair::from_pkcs8(der.contents()).unwrap();
    let spki: PublicKeyX509Der = pair.public_key().as_der().unwrap();
    pem::encode(&pem::Pem::new("PUBLIC KEY", spki.as_ref().to_vec()))
}

#[tokio::test]
async fn builder_mistakes_are_refused() {
    let secret = b"an example secret of at least 32 bytes!";
    let es = Issuer::new(Algorithm::ES256);
    let err = |b: VerifierBuilder| b.build_static().unwrap_err();
    assert!(matches!(err(Verifier::builder()), BuildError::NoKeySource));
    assert!(matches!(
        err(Verifier::builder()
            .jwks_url("http://127.0.0.1:1/")
            .secret(Algorithm::HS256, secret)),
        BuildError::TwoKeySources
    ));
    assert!(matches!(
        err(Verifier::builder().jwks_url("http://127.0.0.1:1/")),
        BuildError::NeedsFetch
    ));
    assert!(matches!(
        err(Verifier::builder().secret(Algorithm::HS256, b"short")),
        BuildError::Key(_)
    ));
    assert!(matches!(
        err(Verifier::builder()
            .secret(Algorithm::HS256, secret)
            .algorithms([Algorithm::ES256])),
        BuildError::AlgorithmNotAllowed {
            algorithm: Algorithm::HS256,
            ..
        }
    ));
    // A document's keys outside the allow-list are skipped; none left is an error.
    assert!(matches!(
        err(Verifier::builder()
            .jwks(&jwks_of(&[&es]))
            .algorithms([Algorithm::EdDSA])),
        BuildError::Jwks(_)
    ));
    assert!(matches!(
        err(Verifier::builder().jwk(&es.jwk()).token_types([])),
        BuildError::Option(_)
    ));
    let url_err = Verifier::builder()
        .jwks_url("not a url")
        .build()
        .await
        .unwrap_err();
    assert!(matches!(url_err, BuildError::Url(_)), "{url_err}");
}
