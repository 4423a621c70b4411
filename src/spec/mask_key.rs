//! The masking key: from `POSTCLONE_MASK_KEY` (the key, or a reference to where it is kept),
//! `masking.key_from` (a reference), or the file `masking.key_file` names; never from the
//! spec's text.

use std::path::PathBuf;

use crate::state::desired::Desired;
use crate::state::masking::{MaskKey, WeakKey};

pub use crate::state::masking::MASK_KEY_VARIABLE;

/// Why the masking key cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum MaskKeyError {
    /// `masking.key_file` cannot be read.
    #[error("cannot read the masking key file {}", path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// A reference to the key cannot be read.
    #[error("cannot read the masking key from {from}")]
    Reference {
        /// `POSTCLONE_MASK_KEY` or `masking.key_from`.
        from: String,
        /// Why.
        #[source]
        source: crate::secret::SecretError,
    },
    /// The key is too short.
    #[error("the masking key from {from} is too weak")]
    Weak {
        /// `POSTCLONE_MASK_KEY` or the file.
        from: String,
        /// How short.
        #[source]
        source: WeakKey,
    },
}

/// The masking key, when one is given.
///
/// # Errors
/// A key file that cannot be read, or a key shorter than 16 bytes.
pub fn mask_key(desired: &Desired) -> Result<Option<MaskKey>, MaskKeyError> {
    let given = |from: &str, secret: Result<Option<crate::secret::Secret>, _>| {
        let Some(secret) = secret.map_err(|source| MaskKeyError::Reference {
            from: from.into(),
            source,
        })?
        else {
            return Ok(None);
        };
        MaskKey::new(secret.expose())
            .map(Some)
            .map_err(|source| MaskKeyError::Weak {
                from: from.into(),
                source,
            })
    };
    if let Some(key) = given(
        MASK_KEY_VARIABLE,
        crate::secret::from_variable(MASK_KEY_VARIABLE),
    )? {
        return Ok(Some(key));
    }
    if let Some(reference) = &desired.masking.key_from {
        let read = crate::secret::resolve_written(reference, "masking.key_from", &desired.base_dir)
            .map(Some);
        return given("masking.key_from", read);
    }
    let Some(file) = &desired.masking.key_file else {
        return Ok(None);
    };
    let path = desired.base_dir.join(file);
    let text = crate::files::read_text(&path, crate::files::MAX_TEXT).map_err(|source| {
        MaskKeyError::Read {
            path: path.clone(),
            source,
        }
    })?;
    MaskKey::new(&text)
        .map(Some)
        .map_err(|source| MaskKeyError::Weak {
            from: path.display().to_string(),
            source,
        })
}
