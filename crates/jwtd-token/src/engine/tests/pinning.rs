//! Algorithm pinning (RFC 8725 3.1): only the configured `alg` is ever accepted, whatever the
//! header names and whatever key an attacker guesses.

use super::*;

#[test]
fn alg_none_is_refused_in_any_spelling() {
    let engine = hs256();
    let claims = good().to_string();
    for none in ["none", "None", "NONE", "nOnE"] {
        let header = format!(r#"{{"alg":"{none}","typ":"JWT"}}"#);
        let unsigned = format!("{}.{}.", b64(&header), b64(&claims));
        assert_invalid(&engine, &unsigned);
        // Even with a signature that is valid under the engine's own key.
        let signed = mint(&engine, &header, &claims);
        assert_invalid(&engine, &signed);
        let signed = mint(Key::Hmac(hmac::HMAC_SHA256, SECRET), &header, &claims);
        assert_invalid(&engine, &signed);
    }
}

#[test]
fn another_hmac_size_is_refused() {
    let engine = hs256();
    let claims = good().to_string();
    for (name, alg) in [("HS512", hmac::HMAC_SHA512), ("HS384", hmac::HMAC_SHA384)] {
        let header = format!(r#"{{"alg":"{name}","typ":"JWT"}}"#);
        let token = mint(Key::Hmac(alg, SECRET), &header, &claims);
        assert_invalid(&engine, &token);
        // Claiming the other size but signing with the configured one.
        let token = mint(Key::Hmac(hmac::HMAC_SHA256, SECRET), &header, &claims);
        assert_invalid(&engine, &token);
    }
    // And the reverse: an HS256 token on an HS512 server with the same (long enough) secret.
    let secret = [b's'; 64];
    let hs512 = TokenEngine::new(
        Keys::new(Algorithm::HS512, &secret, None).unwrap(),
        Policy::default(),
    );
    let token = mint(
        Key::Hmac(hmac::HMAC_SHA256, &secret),
        r#"{"alg":"HS256","typ":"JWT"}"#,
        &claims,
    );
    assert_invalid(&hs512, &token);
    let token = mint(
        Key::Hmac(hmac::HMAC_SHA512, &secret),
        r#"{"alg":"HS512","typ":"JWT"}"#,
        &claims,
    );
    accepted(&hs512, &token, NOW);
}

#[test]
fn an_asymmetric_alg_header_on_an_hmac_server_is_refused() {
    let engine = hs256();
    let claims = good().to_string();
    for name in ["RS256", "PS256", "ES256", "ES384", "EdDSA", "RS512"] {
        let header = format!(r#"{{"alg":"{name}","typ":"JWT"}}"#);
        let token = mint(Key::Hmac(hmac::HMAC_SHA256, SECRET), &header, &claims);
        assert_invalid(&engine, &token);
        let token = mint(&engine, &header, &claims);
        assert_invalid(&engine, &token);
    }
}

#[test]
fn a_missing_or_malformed_alg_is_refused() {
    let engine = hs256();
    let claims = good().to_string();
    for header in [
        r#"{"typ":"JWT"}"#,
        r#"{}"#,
        r#"{"alg":256,"typ":"JWT"}"#,
        r#"{"alg":null,"typ":"JWT"}"#,
        r#"{"alg":true,"typ":"JWT"}"#,
        r#"{"alg":["HS256"],"typ":"JWT"}"#,
        r#"{"alg":{"name":"HS256"},"typ":"JWT"}"#,
        r#"{"alg":"hs256","typ":"JWT"}"#,
        r#"{"alg":"HS256 ","typ":"JWT"}"#,
        r#"{"alg":" HS256","typ":"JWT"}"#,
        r#"{"alg":"HS256\u0000","typ":"JWT"}"#,
        r#"{"alg":"","typ":"JWT"}"#,
        r#"{"ALG":"HS256","typ":"JWT"}"#,
    ] {
        let token = mint(&engine, header, &claims);
        assert_invalid(&engine, &token);
    }
    // The same header with a unicode escape that decodes to the configured name is fine: it is
    // the same JSON string.
    let token = mint(
        &engine,
        r#"{"alg":"HS\u0032\u0035\u0036","typ":"JWT"}"#,
        &claims,
    );
    accepted(&engine, &token, NOW);
}

#[test]
fn hmac_keyed_with_the_servers_public_key_is_refused() {
    let claims = good().to_string();
    for alg in [
        Algorithm::RS256,
        Algorithm::PS256,
        Algorithm::ES256,
        Algorithm::ES384,
        Algorithm::EdDSA,
    ] {
        let private = material(alg, false);
        let engine = engine_for(alg, &private);
        let public = public_pem(alg, &private);
        // It really is the server's public key.
        assert!(
            Keys::new(alg, private.as_bytes(), Some(public.as_bytes())).is_ok(),
            "{alg}"
        );
        let lf = public.replace("\r\n", "\n");
        let variants = [
            public.clone(),
            lf.clone(),
            public.trim_end().to_owned(),
            lf.trim_end().to_owned(),
        ];
        for key in &variants {
            for header_alg in ["HS256", alg.as_str()] {
                let header = format!(r#"{{"alg":"{header_alg}","typ":"JWT"}}"#);
                let token = mint(
                    Key::Hmac(hmac::HMAC_SHA256, key.as_bytes()),
                    &header,
                    &claims,
                );
                assert_invalid(&engine, &token);
            }
            // Control: the attack token is well formed; an HS256 server keyed with that text
            // would accept it.
            let token = mint(
                Key::Hmac(hmac::HMAC_SHA256, key.as_bytes()),
                r#"{"alg":"HS256","typ":"JWT"}"#,
                &claims,
            );
            let naive = TokenEngine::new(
                Keys::new(Algorithm::HS256, key.as_bytes(), None).unwrap(),
                Policy::default(),
            );
            accepted(&naive, &token, NOW);
        }
    }
}
