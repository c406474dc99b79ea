//! The SPICE ticket: the password, RSA-OAEP encrypted with the server's per-link key.
//!
//! A ticket must be sent even when the server has ticketing disabled: spice-server fails
//! the link with PERMISSION_DENIED if decryption fails, before it looks at whether a
//! password is required. Encrypting the empty password is therefore the normal case.

use rand_core::CryptoRngCore;
use rsa::pkcs8::DecodePublicKey;
use rsa::traits::PublicKeyParts;
use rsa::{Oaep, RsaPublicKey};
use sha1::Sha1;

use crate::error::{ProtoError, Result};

/// Size of the encrypted ticket: the modulus size of the server's RSA-1024 key.
pub const TICKET_SIZE: usize = 128;
/// spice-server's limit on password length (its buffer is 60 bytes + NUL).
pub const MAX_PASSWORD_LEN: usize = 60;

/// Encrypts `password` (plus the trailing NUL the server's C code expects) with the DER
/// SubjectPublicKeyInfo from the link reply, using OAEP with SHA-1 and MGF1-SHA-1.
///
/// The RNG is a parameter so the crate stays sans-IO; browsers pass a
/// `crypto.getRandomValues`-backed RNG, native code `OsRng`.
pub fn encrypt_ticket(
    pub_key_der: &[u8],
    password: &str,
    rng: &mut impl CryptoRngCore,
) -> Result<[u8; TICKET_SIZE]> {
    if password.len() > MAX_PASSWORD_LEN {
        return Err(ProtoError::PasswordTooLong {
            len: password.len(),
            max: MAX_PASSWORD_LEN,
        });
    }
    let key = RsaPublicKey::from_public_key_der(pub_key_der)
        .map_err(|e| ProtoError::Crypto(format!("server public key: {e}")))?;
    if key.size() != TICKET_SIZE {
        return Err(ProtoError::Crypto(format!(
            "server key is {} bytes, expected a {}-bit RSA key",
            key.size(),
            TICKET_SIZE * 8
        )));
    }
    let mut msg = Vec::with_capacity(password.len() + 1);
    msg.extend_from_slice(password.as_bytes());
    msg.push(0);
    let ct = key
        .encrypt(rng, Oaep::new::<Sha1>(), &msg)
        .map_err(|e| ProtoError::Crypto(format!("RSA-OAEP encryption: {e}")))?;
    <[u8; TICKET_SIZE]>::try_from(ct.as_slice())
        .map_err(|_| ProtoError::Crypto(format!("ciphertext is {} bytes", ct.len())))
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand_core::OsRng;
    use rsa::pkcs8::EncodePublicKey;
    use rsa::RsaPrivateKey;

    fn key() -> (RsaPrivateKey, Vec<u8>) {
        let private = RsaPrivateKey::new(&mut OsRng, 1024).unwrap();
        let der = private
            .to_public_key()
            .to_public_key_der()
            .unwrap()
            .as_bytes()
            .to_vec();
        (private, der)
    }

    #[test]
    fn ticket_decrypts_to_password_plus_nul() {
        let (private, der) = key();
        assert_eq!(der.len(), crate::link::PUB_KEY_SIZE);
        for pw in ["", "secret", &"x".repeat(MAX_PASSWORD_LEN)] {
            let t = encrypt_ticket(&der, pw, &mut OsRng).unwrap();
            let plain = private.decrypt(Oaep::new::<Sha1>(), &t).unwrap();
            let mut want = pw.as_bytes().to_vec();
            want.push(0);
            assert_eq!(plain, want);
        }
    }

    #[test]
    fn rejects_long_password_and_bad_key() {
        let (_, der) = key();
        let long = "x".repeat(MAX_PASSWORD_LEN + 1);
        assert!(matches!(
            encrypt_ticket(&der, &long, &mut OsRng),
            Err(ProtoError::PasswordTooLong { len: 61, max: 60 })
        ));
        assert!(matches!(
            encrypt_ticket(&der[..100], "", &mut OsRng),
            Err(ProtoError::Crypto(_))
        ));
        assert!(matches!(
            encrypt_ticket(&[0u8; 162], "", &mut OsRng),
            Err(ProtoError::Crypto(_))
        ));
    }
}
