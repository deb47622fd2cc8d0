//! LongPoll session tokens: an unforgeable reference to one session.
//!
//! `base64url(id ‖ HMAC-SHA256(key, "embercast lp" ‖ id)[..16])`. The id is
//! random, so a token of an ended session does not name a later one, even
//! across restarts with the same key. PROTOCOL.md §7.3 allows any format the
//! server can verify: only the server reads it.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use hmac::{Hmac, Mac};
use sha2::Sha256;

const MAC_LEN: usize = 16;
const DOMAIN: &[u8] = b"embercast lp";

/// Signs and verifies session tokens.
#[derive(Clone)]
pub(crate) struct TokenKey(Hmac<Sha256>);

impl std::fmt::Debug for TokenKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TokenKey(..)")
    }
}

impl TokenKey {
    /// A key from a configured secret, or a random one (tokens then die with the process,
    /// as the sessions they name do).
    pub(crate) fn new(secret: Option<&[u8]>) -> Self {
        let random;
        let secret = match secret {
            Some(s) => s,
            None => {
                let mut buf = [0u8; 32];
                getrandom::fill(&mut buf).expect("the OS random number generator");
                random = buf;
                &random
            }
        };
        TokenKey(Hmac::new_from_slice(secret).expect("HMAC takes keys of any length"))
    }

    fn mac(&self, id: u64) -> [u8; MAC_LEN] {
        let mut m = self.0.clone();
        m.update(DOMAIN);
        m.update(&id.to_be_bytes());
        let full = m.finalize().into_bytes();
        full[..MAC_LEN].try_into().expect("SHA-256 is longer than the MAC")
    }

    pub(crate) fn sign(&self, id: u64) -> String {
        let mut raw = [0u8; 8 + MAC_LEN];
        raw[..8].copy_from_slice(&id.to_be_bytes());
        raw[8..].copy_from_slice(&self.mac(id));
        URL_SAFE_NO_PAD.encode(raw)
    }

    /// The session id a token names, if the token is genuine.
    pub(crate) fn verify(&self, token: &str) -> Option<u64> {
        if token.len() > 64 {
            return None;
        }
        let raw = URL_SAFE_NO_PAD.decode(token).ok()?;
        if raw.len() != 8 + MAC_LEN {
            return None;
        }
        let (id, mac) = raw.split_at(8);
        let id = u64::from_be_bytes(id.try_into().ok()?);
        let mut m = self.0.clone();
        m.update(DOMAIN);
        m.update(&id.to_be_bytes());
        // Constant-time comparison of the truncated tag.
        m.verify_truncated_left(mac).ok()?;
        Some(id)
    }
}

/// A random session id.
pub(crate) fn random_id() -> u64 {
    let mut buf = [0u8; 8];
    getrandom::fill(&mut buf).expect("the OS random number generator");
    u64::from_ne_bytes(buf)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_signed_token_verifies_and_names_its_session() {
        let k = TokenKey::new(Some(b"secret"));
        let t = k.sign(42);
        assert_eq!(k.verify(&t), Some(42));
    }

    #[test]
    fn tampered_forged_and_foreign_tokens_are_refused() {
        let k = TokenKey::new(Some(b"secret"));
        let t = k.sign(42);
        let mut bytes = URL_SAFE_NO_PAD.decode(&t).unwrap();
        bytes[7] ^= 1; // another session id, same tag
        assert_eq!(k.verify(&URL_SAFE_NO_PAD.encode(&bytes)), None);
        let mut bytes = URL_SAFE_NO_PAD.decode(&t).unwrap();
        bytes[10] ^= 1; // a changed tag
        assert_eq!(k.verify(&URL_SAFE_NO_PAD.encode(&bytes)), None);
        assert_eq!(TokenKey::new(Some(b"other")).verify(&t), None, "another server's key");
        assert_eq!(TokenKey::new(None).verify(&t), None, "a random key");
        for junk in ["", "abc", "user-abc", "%%%", &"A".repeat(200), &t[..t.len() - 2]] {
            assert_eq!(k.verify(junk), None, "{junk}");
        }
    }
}
