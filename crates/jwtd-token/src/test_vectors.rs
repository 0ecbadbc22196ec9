//! The known-answer files under `testdata/vectors/` for the unit tests: reading them, and their
//! hex fields. (The integration tests in `tests/vectors.rs` read the same files for themselves.)
//!
//! The files live outside the crate; when they are missing these loaders panic, so no test that
//! needs them can pass vacuously.

use std::path::Path;

use serde_json::Value;

/// The JSON of `testdata/vectors/<relative>`.
pub(crate) fn load(relative: &str) -> Value {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../testdata/vectors");
    assert!(
        dir.is_dir(),
        "test vectors missing: {} does not exist (the shared/vectors directory next to the \
         workspace); these tests must not pass without them",
        dir.display()
    );
    let path = dir.join(relative);
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("test vectors missing: {}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// The bytes of a hex string, as Wycheproof writes messages, keys and signatures.
pub(crate) fn hex(text: &str) -> Vec<u8> {
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&text[i..i + 2], 16).unwrap())
        .collect()
}
