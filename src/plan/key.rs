//! The key a saved plan is sealed with. A saved plan holds the fingerprints of the rows it was
//! made from, and everything apply will do; both are keyed with a secret that is not in the
//! file: an edited plan no longer matches its digest, and a fingerprint cannot confirm a
//! guessed value to someone who reads the file.

use crate::state::value::hex;
use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};

/// What a journal's chain key is derived for: another use of the plan key than sealing plans.
const JOURNAL_CHAIN: &[u8] = b"postclone journal chain, format 4";

/// A secret of 32 bytes; where it is kept is the caller's concern.
#[derive(Clone, PartialEq, Eq)]
pub struct PlanKey([u8; 32]);

// Never the key itself.
impl std::fmt::Debug for PlanKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "PlanKey({})", self.id())
    }
}

impl PlanKey {
    /// The key from its text: 64 hex digits as they are, any other text of 32 characters or
    /// more through SHA-256 (a passphrase a pipeline keeps as a secret).
    ///
    /// # Errors
    /// Text shorter than 32 characters: too easy to guess.
    pub fn from_text(text: &str) -> Result<PlanKey, ShortKey> {
        let text = text.trim();
        if let Some(key) =
            crate::state::value::unhex(text).and_then(|bytes| <[u8; 32]>::try_from(bytes).ok())
        {
            return Ok(PlanKey(key));
        }
        if text.chars().count() < 32 {
            return Err(ShortKey);
        }
        Ok(PlanKey(Sha256::digest(text.as_bytes()).into()))
    }

    /// A key from 32 random bytes.
    #[must_use]
    pub fn from_bytes(bytes: [u8; 32]) -> PlanKey {
        PlanKey(bytes)
    }

    /// The key as 64 hex digits, to store it.
    #[must_use]
    pub fn to_text(&self) -> String {
        hex(&self.0)
    }

    /// A name for the key that does not reveal it: which key a plan was sealed with.
    #[must_use]
    pub fn id(&self) -> String {
        let mut h = Sha256::new();
        h.update(b"postclone plan key id");
        h.update(self.0);
        hex(&h.finalize()[..8])
    }

    /// A key of its own for another use (`purpose` names it), so that what one use reveals
    /// says nothing of the other: HMAC-SHA-256 of `purpose` under this key.
    #[must_use]
    pub fn derive(&self, purpose: &[u8]) -> [u8; 32] {
        let Ok(mut mac) = <Hmac<Sha256> as Mac>::new_from_slice(&self.0) else {
            return [0; 32];
        };
        mac.update(purpose);
        mac.finalize().into_bytes().into()
    }

    /// The key a journal's chain is keyed with: derived from the plan key, so that the job that
    /// plans and the one that applies or restores share one secret, and what the chain reveals
    /// says nothing of the plans' seals.
    #[must_use]
    pub fn journal_chain(&self) -> crate::journal::ChainKey {
        crate::journal::ChainKey::from_bytes(self.derive(JOURNAL_CHAIN))
    }

    /// HMAC-SHA-256 of `data`, in hex.
    #[must_use]
    pub fn mac(&self, data: &[u8]) -> String {
        // HMAC takes a key of any length: this cannot fail.
        let Ok(mut mac) = <Hmac<Sha256> as Mac>::new_from_slice(&self.0) else {
            return String::new();
        };
        mac.update(data);
        hex(&mac.finalize().into_bytes())
    }
}

/// A plan key text too short to be a secret.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("a plan key is 64 hex digits, or a passphrase of 32 characters or more")]
pub struct ShortKey;

#[cfg(test)]
mod tests {
    use super::*;

    /// Hex keys read back as they are; passphrases are hashed; short ones are refused; the id
    /// and the MAC depend on the key.
    #[test]
    fn keys_from_text() {
        let key = PlanKey::from_bytes([7; 32]);
        assert_eq!(PlanKey::from_text(&key.to_text()), Ok(key.clone()));
        assert!(PlanKey::from_text("too short").is_err());
        let phrase = PlanKey::from_text("a pipeline secret of enough characters").unwrap();
        assert_ne!(phrase, key);
        assert_ne!(phrase.id(), key.id());
        assert_ne!(phrase.mac(b"x"), key.mac(b"x"));
        assert_eq!(key.mac(b"x"), key.mac(b"x"));
        assert!(!format!("{key:?}").contains(&key.to_text()));
    }
}
