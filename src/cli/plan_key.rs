//! Where the plan key is kept: `POSTCLONE_PLAN_KEY` (a pipeline's secret, the same in the job
//! that plans and the one that applies), or `postclone/plan.key` in the user's configuration
//! directory, created readable by its owner only the first time a plan is saved.

use std::io::Write as _;
use std::path::{Path, PathBuf};

use crate::plan::PlanKey;

/// The variable that holds the plan key.
pub const VARIABLE: &str = "POSTCLONE_PLAN_KEY";

/// Why the plan key cannot be had.
#[derive(Debug, thiserror::Error)]
pub enum PlanKeyError {
    /// The variable holds no usable key.
    #[error("{VARIABLE} is not a usable plan key: {0}")]
    Variable(#[source] crate::plan::ShortKey),
    /// The variable is a reference (`env:`, `file:`, `exec:`) that cannot be read.
    #[error("{VARIABLE} cannot be read")]
    Reference(#[source] crate::secret::SecretError),
    /// The file cannot be read, written, or holds no key.
    #[error("plan key {}: {message}", path.display())]
    File {
        /// The file.
        path: PathBuf,
        /// What went wrong.
        message: String,
    },
    /// No place to keep a key.
    #[error("no plan key: set {VARIABLE} (64 hex digits, or a passphrase of 32 characters or more), or HOME or XDG_CONFIG_HOME for postclone to keep one")]
    Nowhere,
    /// A saved plan is applied where no key was ever made.
    #[error("no plan key here ({}): apply a saved plan where it was planned, or set {VARIABLE} to the key it was made with", path.display())]
    Missing {
        /// Where it was looked for.
        path: PathBuf,
    },
}

/// The file the key is kept in.
fn path() -> Option<PathBuf> {
    let config = std::env::var_os("XDG_CONFIG_HOME")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .or_else(|| {
            std::env::var_os("HOME")
                .filter(|v| !v.is_empty())
                .map(|h| PathBuf::from(h).join(".config"))
        })?;
    Some(config.join("postclone").join("plan.key"))
}

/// The key `POSTCLONE_PLAN_KEY` gives (itself, or where it is kept: env:, file:, exec:).
fn from_variable() -> Option<Result<PlanKey, PlanKeyError>> {
    match crate::secret::from_variable(VARIABLE) {
        Ok(None) => None,
        Ok(Some(text)) => Some(PlanKey::from_text(text.expose()).map_err(PlanKeyError::Variable)),
        Err(e) => Some(Err(PlanKeyError::Reference(e))),
    }
}

fn read(path: &Path) -> Result<PlanKey, PlanKeyError> {
    let text =
        crate::files::read_text(path, crate::files::MAX_TEXT).map_err(|e| PlanKeyError::File {
            path: path.to_path_buf(),
            message: e.to_string(),
        })?;
    PlanKey::from_text(&text).map_err(|e| PlanKeyError::File {
        path: path.to_path_buf(),
        message: e.to_string(),
    })
}

/// The key to seal a plan being saved: the variable's, the file's, or a new one kept in the
/// file.
///
/// # Errors
/// An unusable variable or file, or nowhere to keep a new key.
pub fn for_saving() -> Result<PlanKey, PlanKeyError> {
    if let Some(key) = from_variable() {
        return key;
    }
    let path = path().ok_or(PlanKeyError::Nowhere)?;
    if path.exists() {
        return read(&path);
    }
    let mut bytes = [0u8; 32];
    getrandom::getrandom(&mut bytes).map_err(|e| PlanKeyError::File {
        path: path.clone(),
        message: format!("no randomness for a new key: {e}"),
    })?;
    let key = PlanKey::from_bytes(bytes);
    let fail = |e: std::io::Error| PlanKeyError::File {
        path: path.clone(),
        message: e.to_string(),
    };
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(fail)?;
    }
    publish(&path, &key).map_err(fail)
}

/// Keeps `key` at `path` unless another run kept one there first, and returns the key that is
/// there. Written whole to a file of this run's own, then linked into place: a run that
/// reads `path` (several applies of a fleet start at once) never finds it half written, and of
/// two runs making a key at once, both end with the one that was linked first.
fn publish(path: &Path, key: &PlanKey) -> std::io::Result<PlanKey> {
    let mut suffix = [0u8; 8];
    let _ = getrandom::getrandom(&mut suffix);
    let own = path.with_extension(format!("key.{}", crate::state::value::hex(&suffix)));
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let written = options.open(&own).and_then(|mut file| {
        writeln!(file, "{}", key.to_text())?;
        file.sync_all()
    });
    let linked = written.and_then(|()| std::fs::hard_link(&own, path));
    let _ = std::fs::remove_file(&own);
    match linked {
        Ok(()) => Ok(key.clone()),
        // Another run kept one meanwhile, whole: that one is the key.
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
            read(path).map_err(|e| std::io::Error::other(e.to_string()))
        }
        Err(e) => Err(e),
    }
}

/// The key to check a saved plan with: the variable's, or the file's.
///
/// # Errors
/// An unusable variable or file, or no key at all.
pub fn for_applying() -> Result<PlanKey, PlanKeyError> {
    if let Some(key) = from_variable() {
        return key;
    }
    let path = path().ok_or(PlanKeyError::Nowhere)?;
    if !path.exists() {
        return Err(PlanKeyError::Missing { path });
    }
    read(&path)
}

/// The plan key restore checks a journal's chain with (the chain key derived from it): `None`
/// when no plan key is set here (a journal of an older format needs none; a keyed one is then
/// refused by name).
///
/// # Errors
/// An unusable variable or file.
pub fn for_reading() -> Result<Option<PlanKey>, PlanKeyError> {
    match for_applying() {
        Ok(k) => Ok(Some(k)),
        Err(PlanKeyError::Missing { .. } | PlanKeyError::Nowhere) => Ok(None),
        Err(e) => Err(e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Runs that make a key at once (a fleet's applies starting together) all end with the one
    /// key that was kept, and none reads it half written.
    #[test]
    fn keys_made_at_once_end_as_one() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("plan.key");
        let kept: Vec<PlanKey> = std::thread::scope(|scope| {
            let runs: Vec<_> = (0u8..16)
                .map(|i| {
                    let path = &path;
                    scope.spawn(move || publish(path, &PlanKey::from_bytes([i; 32])).unwrap())
                })
                .collect();
            runs.into_iter().map(|r| r.join().unwrap()).collect()
        });
        let on_disk = read(&path).unwrap();
        assert!(kept.iter().all(|k| *k == on_disk), "{kept:?}");
        let left: Vec<_> = std::fs::read_dir(dir.path()).unwrap().collect();
        assert_eq!(left.len(), 1, "only the key file is left");
    }
}
