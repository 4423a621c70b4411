//! The journal's chain: every line carries a digest of the previous line's digest and its own
//! text, so that a line edited, added, removed, moved or cut changes every digest after it.
//! Restore checks the whole chain, and the end marker it leads to, before anything runs.
//!
//! Since format 4 the digest is HMAC-SHA-256 under a [`ChainKey`], a secret the file does not
//! hold (derived from the plan key): whoever edits a journal cannot compute the digests again,
//! so an edit re-chained, a journal cut short and given an end marker, or lines added are all
//! refused. Format 3 used plain SHA-256, which anyone can recompute: it catches accidents only.
//!
//! A line is the entry's JSON object with one more member written last,
//! `"chain":"<64 hex digits>"`; the digested text is the line without that member.

use crate::state::value::hex;
use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};

/// The member every line ends with.
const MEMBER: &str = ",\"chain\":\"";

/// The secret a journal's chain is keyed with: never written to the journal, never shown.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct ChainKey([u8; 32]);

// Never the key itself.
impl std::fmt::Debug for ChainKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ChainKey(..)")
    }
}

impl ChainKey {
    /// The key from 32 secret bytes (a key derived for this use from the plan key).
    #[must_use]
    pub fn from_bytes(bytes: [u8; 32]) -> ChainKey {
        ChainKey(bytes)
    }
}

fn hmac(key: &[u8; 32], parts: &[&[u8]]) -> [u8; 32] {
    // HMAC takes a key of any length: this cannot fail.
    let Ok(mut mac) = <Hmac<Sha256> as Mac>::new_from_slice(key) else {
        return [0; 32];
    };
    for part in parts {
        mac.update(part);
    }
    mac.finalize().into_bytes().into()
}

/// The digest of the last line written or read, and the key the chain is made with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Chain {
    last: [u8; 32],
    key: Option<ChainKey>,
}

impl Default for Chain {
    /// The plain chain of format 3.
    fn default() -> Self {
        Chain {
            last: Sha256::digest(b"postclone journal, format 3").into(),
            key: None,
        }
    }
}

impl Chain {
    /// The keyed chain of format 4: it starts from a value only the key gives, so that a
    /// journal cut before its first line is not a valid chain of another one.
    pub(super) fn keyed(key: ChainKey) -> Chain {
        Chain {
            last: hmac(&key.0, &[b"postclone journal, format 4"]),
            key: Some(key),
        }
    }
}

/// A line whose digest is not the one its place in the chain gives.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Broken {
    /// The line has no `chain` member.
    Missing,
    /// The digest differs: the line, or one before it, is not what was written.
    Mismatch,
}

impl Chain {
    fn next(&self, text: &str) -> [u8; 32] {
        match &self.key {
            Some(key) => hmac(&key.0, &[&self.last, text.as_bytes()]),
            None => {
                let mut h = Sha256::new();
                h.update(self.last);
                h.update(text.as_bytes());
                h.finalize().into()
            }
        }
    }

    /// The digest of the last line written or read, in hex: what the end marker's signature
    /// covers.
    pub(super) fn last_hex(&self) -> String {
        hex(&self.last)
    }

    /// The line to write for the entry's JSON object `json` (`{...}`).
    pub(super) fn link(&mut self, json: &str) -> String {
        let digest = self.next(json);
        self.last = digest;
        let body = json.strip_suffix('}').unwrap_or(json);
        format!("{body}{MEMBER}{}\"}}", hex(&digest))
    }

    /// Checks a line read back; gives the entry's JSON as it was digested.
    pub(super) fn check(&mut self, line: &str) -> Result<String, Broken> {
        let at = line.rfind(MEMBER).ok_or(Broken::Missing)?;
        let written = line[at + MEMBER.len()..]
            .strip_suffix("\"}")
            .ok_or(Broken::Missing)?;
        let json = format!("{}}}", &line[..at]);
        let digest = self.next(&json);
        if hex(&digest) != written {
            return Err(Broken::Mismatch);
        }
        self.last = digest;
        Ok(json)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Lines read back in order check; an edit, a reorder or a removal breaks the chain there.
    #[test]
    fn every_alteration_breaks_the_chain() {
        let mut w = Chain::default();
        let lines: Vec<String> = [r#"{"a":1}"#, r#"{"b":"x,\"chain\":\"y"}"#, r#"{"c":3}"#]
            .iter()
            .map(|j| w.link(j))
            .collect();
        let mut r = Chain::default();
        for (line, json) in
            lines
                .iter()
                .zip([r#"{"a":1}"#, r#"{"b":"x,\"chain\":\"y"}"#, r#"{"c":3}"#])
        {
            assert_eq!(r.check(line).as_deref(), Ok(json));
        }
        let edited = lines[1].replace("x,", "z,");
        let mut r = Chain::default();
        r.check(&lines[0]).unwrap();
        assert_eq!(r.check(&edited), Err(Broken::Mismatch));
        let mut r = Chain::default();
        r.check(&lines[0]).unwrap();
        assert_eq!(r.check(&lines[2]), Err(Broken::Mismatch), "a line removed");
        let mut r = Chain::default();
        assert_eq!(
            r.check(&lines[1]),
            Err(Broken::Mismatch),
            "the first line removed"
        );
        assert_eq!(Chain::default().check(r#"{"a":1}"#), Err(Broken::Missing));
        let cut = &lines[2][..lines[2].len() - 5];
        let mut r = Chain::default();
        r.check(&lines[0]).unwrap();
        r.check(&lines[1]).unwrap();
        assert_eq!(r.check(cut), Err(Broken::Missing), "a line cut");
    }

    /// A keyed chain cannot be made again without its key: lines re-chained with plain
    /// SHA-256, or with another key, do not check. See: issue 34
    #[test]
    fn a_keyed_chain_needs_its_key_issue_34() {
        let key = ChainKey::from_bytes([7; 32]);
        let mut w = Chain::keyed(key);
        let lines: Vec<String> = [r#"{"a":1}"#, r#"{"b":2}"#]
            .iter()
            .map(|j| w.link(j))
            .collect();
        let mut r = Chain::keyed(key);
        assert!(lines.iter().all(|l| r.check(l).is_ok()));
        let mut plain = Chain::default();
        let forged: Vec<String> = [r#"{"a":1}"#, r#"{"b":3}"#]
            .iter()
            .map(|j| plain.link(j))
            .collect();
        assert_eq!(Chain::keyed(key).check(&forged[0]), Err(Broken::Mismatch));
        let mut other = Chain::keyed(ChainKey::from_bytes([8; 32]));
        assert_eq!(other.check(&lines[0]), Err(Broken::Mismatch));
    }
}
