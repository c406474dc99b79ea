//! Instance ids, secrets and tokens, in VMNetX's shape: a token is `ID/SECRET` with ID the
//! base32 of 80 random bits and SECRET the base64url of 144 bits from the OS RNG. The SPICE
//! password is a separate random value (VMNetX reused the token).

use data_encoding::{BASE32_NOPAD, BASE64URL_NOPAD};
use subtle::ConstantTimeEq;

fn random_bytes<const N: usize>() -> [u8; N] {
    let mut b = [0u8; N];
    // The OS RNG failing is not recoverable in any meaningful way, and handing out
    // predictable tokens would be worse than refusing to run.
    getrandom::getrandom(&mut b).expect("OS random number generator unavailable");
    b
}

/// A new instance id (16 characters of A–Z 2–7).
pub fn new_id() -> String {
    BASE32_NOPAD.encode(&random_bytes::<10>())
}

/// A new secret (24 URL-safe characters), for tokens and SPICE passwords.
pub fn new_secret() -> String {
    BASE64URL_NOPAD.encode(&random_bytes::<18>())
}

/// A new 128-bit random value (22 URL-safe characters), for queue tickets and visitor
/// cookies: unguessable, so nobody takes another's place in line or their machine.
pub fn new_random128() -> String {
    BASE64URL_NOPAD.encode(&random_bytes::<16>())
}

/// Whether `s` has the shape of [`new_random128`]'s output (checked before an untrusted
/// cookie or ticket is used as a key).
pub fn is_random128(s: &str) -> bool {
    s.len() == 22
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// The token of instance `id` with `secret`.
pub fn token(id: &str, secret: &str) -> String {
    format!("{id}/{secret}")
}

/// Splits a token into its id and secret.
pub fn split_token(token: &str) -> Option<(&str, &str)> {
    token.split_once('/')
}

/// Whether `given` is `secret`, compared in constant time.
pub fn secret_matches(secret: &str, given: &str) -> bool {
    secret.as_bytes().ct_eq(given.as_bytes()).into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shapes() {
        assert_eq!(BASE32_NOPAD.encode(b"foobar"), "MZXW6YTBOI");
        assert_eq!(BASE64URL_NOPAD.encode(&[0xfb, 0xff]), "-_8");
        let id = new_id();
        assert_eq!(id.len(), 16);
        assert!(id
            .bytes()
            .all(|b| b.is_ascii_uppercase() || (b'2'..=b'7').contains(&b)));
        assert_eq!(new_secret().len(), 24);
        assert_ne!(new_secret(), new_secret());
        let t = token(&id, "s3cret");
        assert_eq!(split_token(&t), Some((id.as_str(), "s3cret")));
        assert!(secret_matches("s3cret", "s3cret") && !secret_matches("s3cret", "s3cre"));
    }
}
