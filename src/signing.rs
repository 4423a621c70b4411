//! Signatures others can check: an OpenSSH ed25519 key signs (`ssh-keygen -t ed25519`), and
//! its public line (`ssh-ed25519 AAAA... name`, as in `~/.ssh/id_ed25519.pub`) verifies.
//!
//! The key format is read by `ssh-key` and the signature made and checked by `ed25519-dalek`,
//! so a signature is plain Ed25519 over the bytes given: any Ed25519 verifier (Python's
//! `cryptography`, Go's `crypto/ed25519`, `openssl pkeyutl`) checks it with the same public
//! key. Nothing here ever shows a key's secret part; errors name the file, not its text.

use std::path::{Path, PathBuf};

use ed25519_dalek::{Signer as _, Verifier as _};

/// The environment variable naming the signing key file, when `--signing-key` is not given.
pub const SIGNING_KEY_VARIABLE: &str = "POSTCLONE_SIGNING_KEY";

/// Why a key cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum SigningError {
    /// The key file cannot be read.
    #[error("cannot read the signing key {}", path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// A reference (`env:`, `file:`, `exec:`) to the key cannot be read.
    #[error("cannot read the signing key from {reference}")]
    Reference {
        /// The reference, as written.
        reference: String,
        /// Why.
        #[source]
        source: crate::secret::SecretError,
    },
    /// The file is not an unencrypted OpenSSH ed25519 private key.
    #[error("{} is not an unencrypted OpenSSH ed25519 private key ({why}); make one with `ssh-keygen -t ed25519 -N '' -f FILE`", path.display())]
    NotAKey {
        /// The file.
        path: PathBuf,
        /// What it is instead, in words that never quote it.
        why: &'static str,
    },
    /// A trusted key is not an OpenSSH ed25519 public key.
    #[error("trusted key {shown} is not an OpenSSH ed25519 public key (`ssh-ed25519 AAAA... name`, as ssh-keygen writes it in the .pub file)")]
    NotAPublicKey {
        /// The start of the text given.
        shown: String,
    },
}

/// A key that signs: the private half of an OpenSSH ed25519 key.
#[derive(Clone)]
pub struct SigningKey {
    key: ed25519_dalek::SigningKey,
    public: TrustedKey,
}

// Never the secret part.
impl std::fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "SigningKey({})", self.public.keyid())
    }
}

impl SigningKey {
    /// The key in `path` (an OpenSSH private key file, unencrypted).
    ///
    /// # Errors
    /// The file cannot be read or holds no such key.
    pub fn from_file(path: &Path) -> Result<SigningKey, SigningError> {
        let text =
            crate::files::read_text(path, 64 * 1024).map_err(|source| SigningError::Read {
                path: path.to_path_buf(),
                source,
            })?;
        Self::from_text(&zeroize::Zeroizing::new(text), path)
    }

    /// The key `text` holds (an OpenSSH private key, unencrypted), read from `path` (named in
    /// errors, never the text).
    fn from_text(text: &str, path: &Path) -> Result<SigningKey, SigningError> {
        let not = |why| SigningError::NotAKey {
            path: path.to_path_buf(),
            why,
        };
        let private = ssh_key::PrivateKey::from_openssh(text.trim())
            .map_err(|_| not("not an OpenSSH private key"))?;
        if private.is_encrypted() {
            return Err(not("it is encrypted with a passphrase"));
        }
        let pair = private
            .key_data()
            .ed25519()
            .ok_or(not("not an ed25519 key"))?;
        let key = ed25519_dalek::SigningKey::try_from(pair)
            .map_err(|_| not("its two halves do not match"))?;
        let public = TrustedKey {
            key: key.verifying_key(),
            name: Some(private.comment().to_string()).filter(|c| !c.is_empty()),
        };
        Ok(SigningKey { key, public })
    }

    /// The key named by `path`, else by `POSTCLONE_SIGNING_KEY`; `None` when neither is given.
    ///
    /// # Errors
    /// As [`SigningKey::from_file`].
    pub fn given(path: Option<&Path>) -> Result<Option<SigningKey>, SigningError> {
        use crate::secret::KeySource;
        let given = crate::secret::key_source(path, SIGNING_KEY_VARIABLE)
            .map_err(|(reference, source)| SigningError::Reference { reference, source })?;
        match given {
            None => Ok(None),
            Some(KeySource::File(path)) => SigningKey::from_file(&path).map(Some),
            Some(KeySource::Read { text, reference }) => {
                SigningKey::from_text(text.expose(), Path::new(&reference)).map(Some)
            }
        }
    }

    /// The Ed25519 signature of `message`.
    #[must_use]
    pub fn sign(&self, message: &[u8]) -> [u8; 64] {
        self.key.sign(message).to_bytes()
    }

    /// Its public half.
    #[must_use]
    pub fn public(&self) -> &TrustedKey {
        &self.public
    }
}

/// A public key whose signatures are trusted: `trust.signers` in a spec, `--signer` on the
/// command line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrustedKey {
    key: ed25519_dalek::VerifyingKey,
    name: Option<String>,
}

impl TrustedKey {
    /// A key from its OpenSSH public line (`ssh-ed25519 AAAA... name`).
    ///
    /// # Errors
    /// Anything else (another key type, a private key, a broken line).
    pub fn parse(line: &str) -> Result<TrustedKey, SigningError> {
        let line = line.trim();
        let refuse = || SigningError::NotAPublicKey {
            shown: shown_start(line),
        };
        let public = ssh_key::PublicKey::from_openssh(line).map_err(|_| refuse())?;
        let ed = public.key_data().ed25519().ok_or_else(refuse)?;
        let key = ed25519_dalek::VerifyingKey::try_from(ed).map_err(|_| refuse())?;
        Ok(TrustedKey {
            key,
            name: Some(public.comment().to_string()).filter(|c| !c.is_empty()),
        })
    }

    /// Whether `signature` is this key's Ed25519 signature of `message`.
    #[must_use]
    pub fn verifies(&self, message: &[u8], signature: &[u8]) -> bool {
        ed25519_dalek::Signature::from_slice(signature)
            .is_ok_and(|s| self.key.verify(message, &s).is_ok())
    }

    /// The key's fingerprint as `ssh-keygen -l` prints it: `SHA256:` and the unpadded base64 of
    /// the SHA-256 of its OpenSSH encoding.
    #[must_use]
    pub fn keyid(&self) -> String {
        let data = ssh_key::public::KeyData::Ed25519(ssh_key::public::Ed25519PublicKey(
            self.key.to_bytes(),
        ));
        data.fingerprint(ssh_key::HashAlg::Sha256).to_string()
    }

    /// The name the key's line gives (its comment), if any.
    #[must_use]
    pub fn name(&self) -> Option<&str> {
        self.name.as_deref()
    }

    /// The public line, to write in `trust.signers`.
    #[must_use]
    pub fn to_openssh(&self) -> String {
        let data = ssh_key::public::KeyData::Ed25519(ssh_key::public::Ed25519PublicKey(
            self.key.to_bytes(),
        ));
        let public = ssh_key::PublicKey::new(data, self.name.clone().unwrap_or_default());
        public.to_openssh().unwrap_or_default()
    }
}

/// The first characters of a text a message quotes to say which one it means (at most 24,
/// then `…`): enough to tell entries apart, never a whole key or value.
fn shown_start(text: &str) -> String {
    let start: String = text.chars().take(24).collect();
    if start.len() < text.len() {
        format!("{start:?}…")
    } else {
        format!("{start:?}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const PRIVATE: &str = include_str!("../tests/fixtures/keys/signer_ed25519");
    const PUBLIC: &str = include_str!("../tests/fixtures/keys/signer_ed25519.pub");

    /// A key ssh-keygen made signs; its public line verifies, another message or a flipped
    /// byte does not; the fingerprint is ssh-keygen's. See: issue 34
    #[test]
    fn openssh_keys_sign_and_verify_issue_34() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("key");
        std::fs::write(&path, PRIVATE).unwrap();
        let key = SigningKey::from_file(&path).unwrap();
        let trusted = TrustedKey::parse(PUBLIC).unwrap();
        assert_eq!(key.public(), &trusted);
        let signature = key.sign(b"message");
        assert!(trusted.verifies(b"message", &signature));
        assert!(!trusted.verifies(b"massage", &signature));
        let mut flipped = signature;
        flipped[10] ^= 1;
        assert!(!trusted.verifies(b"message", &flipped));
        assert!(trusted.keyid().starts_with("SHA256:"));
        assert!(!format!("{key:?}").contains(PRIVATE.lines().nth(1).unwrap()));
        assert!(TrustedKey::parse("ssh-rsa AAAAB3NzaC1yc2E").is_err());
        let e = TrustedKey::parse(PRIVATE).unwrap_err().to_string();
        assert!(!e.contains(PRIVATE.lines().nth(1).unwrap()), "{e}");
        std::fs::write(&path, PUBLIC).unwrap();
        assert!(SigningKey::from_file(&path).is_err());
    }
}
