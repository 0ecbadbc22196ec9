//! Every algorithm issues tokens that it decodes and that no other key verifies, and a
//! verifying key given apart from the private key is the one used.

use super::*;

#[test]
fn every_algorithm_issues_and_decodes() {
    for alg in Algorithm::ALL {
        let engine = engine_for(alg, &material(alg, false));
        let pair = engine.issue_pair(42, NOW).unwrap();
        for (issued, ty) in [
            (&pair.access, TokenType::Access),
            (&pair.refresh, TokenType::Refresh),
        ] {
            let header = URL_SAFE_NO_PAD.decode(segments(&issued.token)[0]).unwrap();
            assert_eq!(header, header_of(&engine).as_bytes(), "{alg}");
            let decoded = accepted(&engine, &issued.token, NOW);
            decoded.check(Some(ty)).unwrap();
            assert_eq!(decoded.jti(), Some(issued.jti.as_str()), "{alg}");
            assert_eq!(decoded.user_id(), UserIdClaim::Id(42), "{alg}");
            assert_eq!(decoded.expires_at(), Some(issued.expires_at), "{alg}");
            assert_eq!(decoded.header().get("alg"), Some(&json!(alg.as_str())));
        }
        assert_eq!(
            accepted(&engine, &pair.access.token, NOW).check(Some(TokenType::Refresh)),
            Err(TokenError::WrongType),
            "{alg}"
        );

        // A forged payload under the original signature.
        let parts = segments(&pair.access.token);
        let mut claims = payload_map(&pair.access.token);
        claims.insert("user_id".to_owned(), json!("1"));
        let forged = format!(
            "{}.{}.{}",
            parts[0],
            b64(Value::Object(claims).to_string()),
            parts[2]
        );
        assert_invalid(&engine, &forged);

        // The same algorithm with another key.
        let other = engine_for(alg, &material(alg, true));
        let foreign = other.issue_pair(42, NOW).unwrap();
        assert_invalid(&engine, &foreign.access.token);
        assert_invalid(&other, &pair.access.token);
    }
}

#[test]
fn a_verifying_key_given_separately_is_used() {
    for alg in [Algorithm::RS256, Algorithm::ES384, Algorithm::EdDSA] {
        let private = material(alg, false);
        let public = public_pem(alg, &private);
        let keys = Keys::new(alg, private.as_bytes(), Some(public.as_bytes())).unwrap();
        let engine = TokenEngine::new(keys, Policy::default());
        let pair = engine.issue_pair(3, NOW).unwrap();
        accepted(&engine, &pair.access.token, NOW)
            .check(Some(TokenType::Access))
            .unwrap();
        // The engine built from the private key alone accepts it too.
        accepted(&engine_for(alg, &private), &pair.access.token, NOW);
    }
}

/// The header jwtd itself issues for this engine.
fn header_of(engine: &TokenEngine) -> String {
    match engine.jwks(0)["keys"][0]["kid"].as_str() {
        Some(kid) => format!(
            r#"{{"alg":"{}","kid":"{kid}","typ":"JWT"}}"#,
            engine.algorithm()
        ),
        None => format!(r#"{{"alg":"{}","typ":"JWT"}}"#, engine.algorithm()),
    }
}
