//! Any bytes as a token, to engines of four families: `decode` must answer, never panic, and
//! anything it accepts must satisfy the rules a verified token always satisfies.

#![no_main]

use std::sync::OnceLock;

use jwtd_token::{Algorithm, Keys, Policy, TokenEngine, dangerous_decode_unverified};
use libfuzzer_sys::fuzz_target;

const NOW: i64 = 1_800_000_000;

fn engines() -> &'static [TokenEngine] {
    static ENGINES: OnceLock<Vec<TokenEngine>> = OnceLock::new();
    ENGINES.get_or_init(|| {
        let mut engines = vec![TokenEngine::new(
            Keys::new(Algorithm::HS256, jwtd_fuzz_secret(), None).unwrap(),
            Policy::default(),
        )];
        for alg in [Algorithm::ES256, Algorithm::EdDSA, Algorithm::RS256] {
            let material = jwtd_token::generate(alg).unwrap();
            engines.push(TokenEngine::new(
                Keys::new(alg, material.as_bytes(), None).unwrap(),
                Policy::default(),
            ));
        }
        engines
    })
}

/// The HS256 secret the seed tokens are signed with (see `token_signed`).
fn jwtd_fuzz_secret() -> &'static [u8] {
    b"jwtd fuzzing secret: 0123456789abcdef0123456789"
}

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let _ = dangerous_decode_unverified(&text);
    for engine in engines() {
        if let Ok(decoded) = engine.decode(&text, NOW) {
            assert_eq!(
                decoded.header().get("alg").and_then(|a| a.as_str()),
                Some(engine.algorithm().as_str())
            );
            assert!(!decoded.header().contains_key("crit"));
            assert!(!decoded.header().contains_key("zip"));
            assert!(decoded.expires_at().is_none_or(|exp| exp >= NOW));
            assert!(!decoded.claims().contains_key("aud"));
        }
    }
});
