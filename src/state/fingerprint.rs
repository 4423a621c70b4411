//! `Fingerprint`: a digest of the rows a change touches, whole, so that a saved plan is applied
//! only to the rows it was made from.
//!
//! Each row is hashed (SHA-256) and the row digests are added up, lane by lane: the result does
//! not depend on the order rows arrive in (a table without a key has none), memory stays
//! constant however many rows there are, and any changed, added or removed row changes it.

use sha2::{Digest, Sha256};

use super::value::Value;

/// Accumulates rows into a digest.
#[derive(Default)]
pub struct Fingerprint {
    rows: u64,
    sum: [u64; 4],
}

/// The digest of one row: each value written with its kind and length, so that no two
/// different rows give the same bytes to hash.
#[must_use]
pub fn row_digest(values: &[Value]) -> [u8; 32] {
    let mut h = Sha256::new();
    h.update((values.len() as u64).to_le_bytes());
    for v in values {
        let (tag, bytes): (u8, std::borrow::Cow<'_, [u8]>) = match v {
            Value::Null => (0, (&[][..]).into()),
            Value::Bool(b) => (1, vec![u8::from(*b)].into()),
            Value::Int(i) => (2, i.to_le_bytes().to_vec().into()),
            Value::Float(x) => (3, x.to_bits().to_le_bytes().to_vec().into()),
            Value::Text(t) => (4, t.as_bytes().into()),
            Value::Bytes(b) => (5, b.as_slice().into()),
        };
        h.update([tag]);
        h.update((bytes.len() as u64).to_le_bytes());
        h.update(&bytes);
    }
    h.finalize().into()
}

impl Fingerprint {
    /// Adds one row.
    pub fn row(&mut self, values: &[Value]) {
        let digest = row_digest(values);
        for (lane, chunk) in self.sum.iter_mut().zip(digest.chunks_exact(8)) {
            let mut word = [0u8; 8];
            word.copy_from_slice(chunk);
            *lane = lane.wrapping_add(u64::from_le_bytes(word));
        }
        self.rows += 1;
    }

    /// The hex digest of the row count and the summed row digests.
    #[must_use]
    pub fn finish(self) -> String {
        let mut h = Sha256::new();
        h.update(self.rows.to_le_bytes());
        for lane in self.sum {
            h.update(lane.to_le_bytes());
        }
        super::value::hex(&h.finalize())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn digest(rows: &[Vec<Value>]) -> String {
        let mut f = Fingerprint::default();
        for r in rows {
            f.row(r);
        }
        f.finish()
    }

    /// Any change of value, kind, row boundary or row count changes the digest; row order
    /// does not.
    #[test]
    fn digests() {
        let base = digest(&[vec![Value::Int(1), Value::Text("a".into())]]);
        assert_eq!(
            base,
            digest(&[vec![Value::Int(1), Value::Text("a".into())]])
        );
        assert_ne!(
            base,
            digest(&[vec![Value::Int(1), Value::Text("b".into())]])
        );
        assert_ne!(
            base,
            digest(&[vec![Value::Text("1".into()), Value::Text("a".into())]])
        );
        assert_ne!(
            digest(&[vec![Value::Text("ab".into())]]),
            digest(&[vec![Value::Text("a".into()), Value::Text("b".into())]])
        );
        assert_eq!(
            digest(&[vec![Value::Int(1)], vec![Value::Int(2)]]),
            digest(&[vec![Value::Int(2)], vec![Value::Int(1)]])
        );
        assert_ne!(
            digest(&[vec![Value::Int(1)]]),
            digest(&[vec![Value::Int(1)], vec![Value::Int(1)]])
        );
        assert_ne!(digest(&[]), digest(&[vec![]]));
    }
}
