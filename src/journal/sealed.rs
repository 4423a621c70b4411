//! Personal data in the journal: the rows of a personal-data change are written as one age
//! message encrypted to the spec's recipients (`journal.recipients`), and read back only with
//! one of their identities (`restore --identity FILE`). Without recipients they are not
//! written at all.

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use base64::Engine as _;
use serde::{Deserialize, Serialize};

use super::{Cell, JournaledRow, RowImage};
use crate::state::desired::SealBinding;
use crate::state::Value;

/// The environment variable naming an identity file, when `--identity` is not given.
pub const IDENTITY_VARIABLE: &str = "POSTCLONE_IDENTITY";

/// The recipients personal rows are encrypted to.
pub struct Recipients(Vec<age::x25519::Recipient>);

/// The identities sealed rows are read with.
pub struct Identities(Vec<age::x25519::Identity>);

/// Why sealed rows cannot be written or read.
#[derive(Debug, thiserror::Error)]
pub enum SealError {
    /// A recipient is not an age public key.
    #[error("{0:?} is not an age public key (age1...)")]
    Recipient(String),
    /// The identity file cannot be read.
    #[error("cannot read the identity file {}", path.display())]
    IdentityFile {
        /// The file.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// A reference (`env:`, `file:`, `exec:`) to the identities cannot be read.
    #[error("cannot read the identities from {reference}")]
    IdentityReference {
        /// The reference, as written.
        reference: String,
        /// Why.
        #[source]
        source: crate::secret::SecretError,
    },
    /// The identity file holds no age identity.
    #[error("{} holds no age identity (AGE-SECRET-KEY-1...)", path.display())]
    NoIdentity {
        /// The file.
        path: PathBuf,
    },
    /// Encryption failed.
    #[error("cannot encrypt the personal rows: {0}")]
    Encrypt(String),
    /// The rows cannot be decrypted with the identities given.
    #[error("cannot decrypt the personal rows with the identities given: {0}")]
    Decrypt(String),
    /// The decrypted rows are not journal rows.
    #[error("the decrypted personal rows are not journal rows: {0}")]
    Invalid(String),
    /// A sealed captured value opened, but is not its row's: moved, swapped or made
    /// elsewhere.
    #[error("the sealed value of row {row} of resource {resource} is not that row's ({why}): it was moved, swapped or sealed elsewhere; nothing was done. Capture the environment again")]
    Unbound {
        /// The resource.
        resource: String,
        /// The row it is written in.
        row: String,
        /// What differs.
        why: &'static str,
    },
}

/// A sealed captured value's plaintext: what it is sealed for, and its values.
#[derive(Serialize, Deserialize)]
struct BoundValues {
    bound: SealBinding,
    values: BTreeMap<String, Cell>,
}

/// A journaled row, as written inside a sealed message.
#[derive(Serialize, Deserialize)]
struct SealedRow {
    values: Vec<Cell>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    after: Vec<Cell>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    label: Option<String>,
}

impl Recipients {
    /// The spec's recipients; none means personal rows are not journaled.
    ///
    /// # Errors
    /// A recipient that is not an age public key.
    pub fn parse(keys: &[String]) -> Result<Recipients, SealError> {
        keys.iter()
            .map(|k| {
                k.trim()
                    .parse::<age::x25519::Recipient>()
                    .map_err(|_| SealError::Recipient(k.clone()))
            })
            .collect::<Result<_, _>>()
            .map(Recipients)
    }

    /// Whether there is anyone to encrypt to.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The rows, encrypted to every recipient, as base64 text.
    ///
    /// # Errors
    /// Encryption failed.
    pub fn seal(&self, rows: &[RowImage]) -> Result<String, SealError> {
        let mut plain = Vec::new();
        for row in rows {
            let sealed = SealedRow {
                values: row.values.iter().cloned().map(Cell::from).collect(),
                after: row.after.iter().cloned().map(Cell::from).collect(),
                label: row.label.clone(),
            };
            serde_json::to_writer(&mut plain, &sealed)
                .map_err(|e| SealError::Encrypt(e.to_string()))?;
            plain.push(b'\n');
        }
        self.seal_bytes(&plain)
    }

    /// A captured row's values (column → value) with what they are sealed for (`bound`),
    /// encrypted to every recipient, as base64 text.
    ///
    /// # Errors
    /// Encryption failed.
    pub fn seal_values(
        &self,
        bound: &SealBinding,
        values: &BTreeMap<String, Value>,
    ) -> Result<String, SealError> {
        let plain = BoundValues {
            bound: bound.clone(),
            values: values
                .iter()
                .map(|(k, v)| (k.clone(), Cell::from(v.clone())))
                .collect(),
        };
        let plain = serde_json::to_vec(&plain).map_err(|e| SealError::Encrypt(e.to_string()))?;
        self.seal_bytes(&plain)
    }

    fn seal_bytes(&self, plain: &[u8]) -> Result<String, SealError> {
        if self.0.is_empty() {
            return Err(SealError::Encrypt("no recipient to encrypt to".into()));
        }
        let encryptor =
            age::Encryptor::with_recipients(self.0.iter().map(|r| r as &dyn age::Recipient))
                .map_err(|e| SealError::Encrypt(e.to_string()))?;
        let mut out = Vec::new();
        let mut writer = encryptor
            .wrap_output(&mut out)
            .map_err(|e| SealError::Encrypt(e.to_string()))?;
        writer
            .write_all(plain)
            .and_then(|()| writer.finish().map(drop))
            .map_err(|e| SealError::Encrypt(e.to_string()))?;
        Ok(base64::engine::general_purpose::STANDARD.encode(out))
    }
}

impl Identities {
    /// Every identity of an age identity file (`age-keygen -o FILE`).
    ///
    /// # Errors
    /// A file that cannot be read or holds no identity.
    pub fn from_file(path: &Path) -> Result<Identities, SealError> {
        let text = crate::files::read_text(path, crate::files::MAX_TEXT).map_err(|source| {
            SealError::IdentityFile {
                path: path.to_path_buf(),
                source,
            }
        })?;
        Self::from_text(&zeroize::Zeroizing::new(text), path)
    }

    /// Every identity `text` holds, read from `path` (named in errors).
    fn from_text(text: &str, path: &Path) -> Result<Identities, SealError> {
        let identities: Vec<age::x25519::Identity> = text
            .lines()
            .map(str::trim)
            .filter(|l| l.starts_with("AGE-SECRET-KEY-"))
            .filter_map(|l| l.parse().ok())
            .collect();
        if identities.is_empty() {
            return Err(SealError::NoIdentity {
                path: path.to_path_buf(),
            });
        }
        Ok(Identities(identities))
    }

    /// The identities of `POSTCLONE_IDENTITY` (an identity file's path), or of `path` when
    /// given (it wins); `None` when neither is.
    ///
    /// # Errors
    /// A file that cannot be read or holds no identity.
    pub fn given(path: Option<&Path>) -> Result<Option<Identities>, SealError> {
        use crate::secret::KeySource;
        let given = crate::secret::key_source(path, IDENTITY_VARIABLE)
            .map_err(|(reference, source)| SealError::IdentityReference { reference, source })?;
        match given {
            None => Ok(None),
            Some(KeySource::File(path)) => Identities::from_file(&path).map(Some),
            Some(KeySource::Read { text, reference }) => {
                Identities::from_text(text.expose(), Path::new(&reference)).map(Some)
            }
        }
    }

    /// A captured row's values, from its sealed text, if it was sealed for `expected` (the
    /// row it is written in).
    ///
    /// # Errors
    /// A message none of the identities can open, one that holds no values, or one sealed
    /// for another row, resource, table, columns or environment (or by a version that bound
    /// nothing).
    pub fn open_values(
        &self,
        data: &str,
        expected: &SealBinding,
    ) -> Result<BTreeMap<String, Value>, SealError> {
        let plain = self.open_text(data)?;
        let unbound = |why| SealError::Unbound {
            resource: expected.resource.to_string(),
            row: expected.row(),
            why,
        };
        let opened: BoundValues = serde_json::from_str(&plain)
            .map_err(|_| unbound("it says nothing of what it was sealed for"))?;
        if let Some(why) = opened.bound.differs_from(expected) {
            return Err(unbound(why));
        }
        opened
            .values
            .into_iter()
            .map(|(k, c)| {
                Value::try_from(c)
                    .map(|v| (k, v))
                    .map_err(|e| SealError::Invalid(e.to_string()))
            })
            .collect()
    }

    fn open_text(&self, data: &str) -> Result<String, SealError> {
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(data.trim())
            .map_err(|e| SealError::Invalid(e.to_string()))?;
        let decryptor =
            age::Decryptor::new(&bytes[..]).map_err(|e| SealError::Decrypt(e.to_string()))?;
        let mut reader = decryptor
            .decrypt(self.0.iter().map(|i| i as &dyn age::Identity))
            .map_err(|e| SealError::Decrypt(e.to_string()))?;
        let mut plain = String::new();
        reader
            .read_to_string(&mut plain)
            .map_err(|e| SealError::Decrypt(e.to_string()))?;
        Ok(plain)
    }

    /// The rows of a sealed message.
    ///
    /// # Errors
    /// A message none of the identities can open, or one that holds no journal rows.
    pub fn open(&self, data: &str) -> Result<Vec<JournaledRow>, SealError> {
        let plain = self.open_text(data)?;
        let cells = |cells: Vec<Cell>| {
            cells
                .into_iter()
                .map(Value::try_from)
                .collect::<Result<Vec<_>, _>>()
                .map_err(|e| SealError::Invalid(e.to_string()))
        };
        plain
            .lines()
            .filter(|l| !l.trim().is_empty())
            .map(|line| {
                let row: SealedRow = serde_json::from_str(line)
                    .map_err(|e| SealError::Invalid(crate::files::json_problem(&e)))?;
                Ok(JournaledRow {
                    values: cells(row.values)?,
                    after: cells(row.after)?,
                    label: row.label,
                })
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Sealed rows read back exactly with the recipient's identity, and not without it.
    #[test]
    fn seal_and_open() {
        let identity = age::x25519::Identity::generate();
        let other = age::x25519::Identity::generate();
        let recipients = Recipients::parse(&[identity.to_public().to_string()]).unwrap();
        let rows = vec![RowImage {
            values: vec![Value::Int(1), Value::Text("alice@customer.example".into())],
            after: vec![Value::Text("p0123456789ab@example.com".into())],
            label: None,
        }];
        let sealed = recipients.seal(&rows).unwrap();
        assert!(!sealed.contains("alice"));
        let back = Identities(vec![identity]).open(&sealed).unwrap();
        assert_eq!(back[0].values, rows[0].values);
        assert_eq!(back[0].after, rows[0].after);
        assert!(Identities(vec![other]).open(&sealed).is_err());
        assert!(Recipients::parse(&["nope".into()]).is_err());
    }
}
