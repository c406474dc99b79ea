//! Signed launch links: a portal's backend signs `{item, expires, seat class}` with a secret
//! it shares with the gateway, so that an item can be launched only from the portal that
//! holds it (`public = false`) and only until the link expires.
//!
//! The signed message is the three fields joined by newlines (`ITEM\nEXPIRES\nSEAT`, the
//! seat class empty when there is none), the signature HMAC-SHA256 in lower-case hex: what
//! `openssl dgst -sha256 -hmac SECRET` and Python's `hmac` print, so a portal needs no
//! library of ours. Newlines cannot occur in item ids or seat classes, so two different
//! grants never sign the same bytes.

use hmac::{Hmac, Mac};
use sha2::Sha256;

use crate::model::SigningKey;

/// A launch grant as it arrives (query parameters of a link, or the `grant` of a create
/// request). Every field is untrusted until [`Grant::verify`] has passed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Grant {
    /// Unix seconds after which the link no longer launches.
    pub expires: u64,
    /// The portal's seat class, carried into the instance (`None`: the default class).
    pub seat: Option<String>,
    /// Which configured key signed it.
    pub key: String,
    /// Lower-case hex HMAC-SHA256.
    pub sig: String,
}

/// Why a grant was refused. The text is shown to the visitor, so it names what to do and
/// never which part of a forged signature was wrong.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum GrantError {
    /// `expires` has passed (a link replayed after its time).
    #[error(
        "This launch link has expired. Go back to the page you came from and open the title again."
    )]
    Expired,
    /// The signature does not match the fields (forged, tampered with, or for another item).
    #[error("This launch link is not valid for this title.")]
    BadSignature,
    /// No configured key has the link's key name.
    #[error("This launch link names a key this server does not know.")]
    UnknownKey,
    /// The item is not public and no grant came with the request.
    #[error("This title can only be opened from the portal that holds it.")]
    Required,
}

/// Longest seat class accepted (it only names a class).
const MAX_SEAT: usize = 64;

impl Grant {
    /// The bytes that are signed for `item`.
    fn message(&self, item: &str) -> Vec<u8> {
        format!(
            "{item}\n{}\n{}",
            self.expires,
            self.seat.as_deref().unwrap_or("")
        )
        .into_bytes()
    }

    /// Checks key, signature (in constant time) and expiry against `now` (Unix seconds).
    /// The signature is checked before the expiry so that a forged link learns nothing from
    /// the difference.
    pub fn verify(&self, item: &str, keys: &[SigningKey], now: u64) -> Result<(), GrantError> {
        let key = keys
            .iter()
            .find(|k| k.name == self.key)
            .ok_or(GrantError::UnknownKey)?;
        if self.seat.as_ref().is_some_and(|s| {
            s.len() > MAX_SEAT
                || !s
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c))
        }) {
            return Err(GrantError::BadSignature);
        }
        let sig = data_encoding::HEXLOWER_PERMISSIVE
            .decode(self.sig.as_bytes())
            .map_err(|_| GrantError::BadSignature)?;
        let mut mac =
            Hmac::<Sha256>::new_from_slice(&key.secret).map_err(|_| GrantError::BadSignature)?;
        mac.update(&self.message(item));
        // `verify_slice` compares in constant time.
        mac.verify_slice(&sig)
            .map_err(|_| GrantError::BadSignature)?;
        if now >= self.expires {
            return Err(GrantError::Expired);
        }
        Ok(())
    }

    /// The signature of this grant's fields for `item` under `secret` (what a portal does;
    /// used by tests and by `olive-gateway admin sign`).
    pub fn sign(item: &str, expires: u64, seat: Option<&str>, key: &SigningKey) -> Grant {
        let mut grant = Grant {
            expires,
            seat: seat.map(str::to_owned),
            key: key.name.clone(),
            sig: String::new(),
        };
        let mut mac =
            Hmac::<Sha256>::new_from_slice(&key.secret).expect("HMAC takes a key of any length");
        mac.update(&grant.message(item));
        grant.sig = data_encoding::HEXLOWER.encode(&mac.finalize().into_bytes());
        grant
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(name: &str) -> SigningKey {
        SigningKey {
            name: name.into(),
            secret: b"0123456789abcdef0123456789abcdef".to_vec(),
        }
    }

    #[test]
    fn a_signed_grant_verifies_until_it_expires() {
        let k = key("museum");
        let g = Grant::sign("doom", 1000, None, &k);
        let keys = [k];
        assert_eq!(g.verify("doom", &keys, 999), Ok(()));
        assert_eq!(g.verify("doom", &keys, 1000), Err(GrantError::Expired));
        assert_eq!(g.verify("xdesk", &keys, 999), Err(GrantError::BadSignature));
        assert_eq!(
            g.verify("doom", &[key("other")], 999),
            Err(GrantError::UnknownKey)
        );
    }

    #[test]
    fn the_signature_is_the_openssl_one() {
        // printf 'doom\n1767225600\n' | openssl dgst -sha256 -hmac 0123456789abcdef0123456789abcdef
        let g = Grant::sign("doom", 1_767_225_600, None, &key("k"));
        assert_eq!(
            g.sig,
            "d53071709ad01a40aabb54f5ca36336508edc420fa3d942f6926255717118286"
        );
    }

    #[test]
    fn tampered_fields_fail() {
        let k = key("museum");
        let keys = [k.clone()];
        let g = Grant::sign("doom", 1000, Some("school"), &k);
        assert_eq!(g.verify("doom", &keys, 1), Ok(()));
        let later = Grant {
            expires: 2000,
            ..g.clone()
        };
        assert_eq!(
            later.verify("doom", &keys, 1),
            Err(GrantError::BadSignature)
        );
        let other_seat = Grant {
            seat: None,
            ..g.clone()
        };
        assert_eq!(
            other_seat.verify("doom", &keys, 1),
            Err(GrantError::BadSignature)
        );
        let junk = Grant {
            sig: "zz".into(),
            ..g.clone()
        };
        assert_eq!(junk.verify("doom", &keys, 1), Err(GrantError::BadSignature));
        let upper = Grant {
            sig: g.sig.to_uppercase(),
            ..g
        };
        assert_eq!(upper.verify("doom", &keys, 1), Ok(()));
    }
}
