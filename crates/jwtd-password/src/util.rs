//! Salts, decimal fields, hex and constant-time comparison, shared by the hashers.

use crate::HashError;

/// Django's `RANDOM_STRING_CHARS` (`django/utils/crypto.py`).
const RANDOM_STRING_CHARS: &[u8; 62] =
    b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";

/// Bits of entropy Django wants in a salt (`BasePasswordHasher.salt_entropy`).
const SALT_ENTROPY: f64 = 128.0;

/// Characters in a Django salt: `ceil(128 / log2(62))`, 22 (`BasePasswordHasher.salt()`).
pub(crate) const SALT_CHARS: usize = 22;

/// Django's `must_update_salt`: whether a salt of `chars` characters carries fewer than 128 bits,
/// counting `log2(62)` bits a character.
pub(crate) fn must_update_salt(chars: usize) -> bool {
    (chars as f64) * (RANDOM_STRING_CHARS.len() as f64).log2() < SALT_ENTROPY
}

/// Django's `get_random_string(len)`: characters drawn uniformly from `RANDOM_STRING_CHARS`
/// with the OS random source (bytes of 248 and above are dropped, so `% 62` has no bias).
pub(crate) fn random_string(len: usize) -> Result<String, HashError> {
    let mut out = String::with_capacity(len);
    let mut buf = [0u8; 64];
    while out.len() < len {
        fill_random(&mut buf)?;
        for &byte in &buf {
            if out.len() == len {
                break;
            }
            if usize::from(byte) < 248 {
                out.push(char::from(RANDOM_STRING_CHARS[usize::from(byte) % 62]));
            }
        }
    }
    Ok(out)
}

/// Bytes from the OS random source (through aws-lc-rs).
pub(crate) fn fill_random(buf: &mut [u8]) -> Result<(), HashError> {
    aws_lc_rs::rand::fill(buf).map_err(|_| HashError::new("the OS random source failed"))
}

/// Equality in constant time in the contents (not the lengths), with aws-lc-rs's helper.
pub(crate) fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    aws_lc_rs::constant_time::verify_slices_are_equal(a, b).is_ok()
}

/// Lowercase hex, as Python's `hexdigest()`.
pub(crate) fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(bytes.len() * 2);
    for &byte in bytes {
        out.push(char::from(DIGITS[usize::from(byte >> 4)]));
        out.push(char::from(DIGITS[usize::from(byte & 0xf)]));
    }
    out
}

/// A decimal field as Django writes it (`%d`): ASCII digits, no sign, no leading zero. Django
/// reads with `int()`, which takes more (`+5`, ` 5`, `0_5`), but then compares the whole
/// re-encoded string, so only this form can ever match.
pub(crate) fn decimal(field: &str) -> Option<u32> {
    let canonical = !field.is_empty()
        && field.bytes().all(|b| b.is_ascii_digit())
        && (field == "0" || !field.starts_with('0'));
    if canonical { field.parse().ok() } else { None }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn salts_are_django_salts() {
        let salt = random_string(SALT_CHARS).unwrap();
        assert_eq!(salt.len(), 22);
        assert!(salt.bytes().all(|b| b.is_ascii_alphanumeric()), "{salt}");
        assert_ne!(salt, random_string(SALT_CHARS).unwrap());
        assert!(!must_update_salt(SALT_CHARS));
        assert!(must_update_salt(21));
        assert!(must_update_salt(16));
    }

    #[test]
    fn decimals_are_canonical() {
        assert_eq!(decimal("1000000"), Some(1_000_000));
        assert_eq!(decimal("0"), Some(0));
        for bad in [
            "",
            "01",
            "+1",
            "-1",
            " 1",
            "1 ",
            "1_000",
            "1e6",
            "4294967296",
            "١",
        ] {
            assert_eq!(decimal(bad), None, "{bad}");
        }
    }

    #[test]
    fn hex_is_lowercase() {
        assert_eq!(hex(&[0x00, 0xab, 0x7f]), "00ab7f");
    }
}
