//! The journal's chain: every line carries the SHA-256 of the previous line's digest and its
//! own text, so that a line edited, added, removed, moved or cut changes every digest after it.
//! Restore checks the whole chain, and the end marker it leads to, before anything runs.
//!
//! A line is the entry's JSON object with one more member written last,
//! `"chain":"<64 hex digits>"`; the digested text is the line without that member.

use sha2::{Digest, Sha256};

/// The member every line ends with.
const MEMBER: &str = ",\"chain\":\"";

/// Where the chain starts: a constant, so that a journal cut before its first line is not a
/// valid chain of another one.
fn seed() -> [u8; 32] {
    Sha256::digest(b"postclone journal, format 3").into()
}

/// The digest of the last line written or read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Chain {
    last: [u8; 32],
}

impl Default for Chain {
    fn default() -> Self {
        Chain { last: seed() }
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
        let mut h = Sha256::new();
        h.update(self.last);
        h.update(text.as_bytes());
        h.finalize().into()
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

fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write as _;
    bytes.iter().fold(String::with_capacity(64), |mut s, b| {
        let _ = write!(s, "{b:02x}");
        s
    })
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
}
