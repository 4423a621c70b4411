//! Reading the files a user names (specs, includes, captured files, saved plans, journals,
//! identities): regular files only, of a bounded size, so that a named pipe, a device or a
//! runaway file is a clear error instead of a hang or an abort.

use std::fs::File;
use std::io::{self, Read};
use std::path::Path;

/// The largest spec, include, captured file, saved plan or key postclone reads.
pub const MAX_TEXT: u64 = 64 * 1024 * 1024;

/// Opens `path` for reading if it is a regular file.
///
/// # Errors
/// The file cannot be opened, or is not a regular file (a directory, a named pipe, a device).
pub fn open_regular(path: &Path) -> io::Result<File> {
    let not_regular = || {
        io::Error::new(
            io::ErrorKind::InvalidInput,
            "not a regular file (a directory, a named pipe or a device)",
        )
    };
    // Before opening: opening a named pipe waits for a writer.
    if !std::fs::metadata(path)?.is_file() {
        return Err(not_regular());
    }
    let file = File::open(path)?;
    if !file.metadata()?.is_file() {
        return Err(not_regular());
    }
    Ok(file)
}

/// The text of `path`, a regular file of at most `max` bytes, in UTF-8 (a byte-order mark is
/// left out).
///
/// # Errors
/// Not a regular file, larger than `max`, not UTF-8, or unreadable.
pub fn read_text(path: &Path, max: u64) -> io::Result<String> {
    let file = open_regular(path)?;
    let mut bytes = Vec::new();
    file.take(max + 1).read_to_end(&mut bytes)?;
    if bytes.len() as u64 > max {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            format!("larger than {} MiB", max / (1024 * 1024)),
        ));
    }
    let text = String::from_utf8(bytes)
        .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, format!("not UTF-8 text: {e}")))?;
    Ok(match text.strip_prefix('\u{feff}') {
        Some(rest) => rest.to_string(),
        None => text,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Directories and oversized files are refused; a byte-order mark is left out.
    #[test]
    fn only_bounded_regular_files() {
        let dir = tempfile::tempdir().unwrap();
        assert!(read_text(dir.path(), MAX_TEXT).is_err());
        let path = dir.path().join("spec.yaml");
        std::fs::write(&path, "\u{feff}engine: sqlserver\n").unwrap();
        assert_eq!(read_text(&path, MAX_TEXT).unwrap(), "engine: sqlserver\n");
        assert!(read_text(&path, 4).is_err());
        #[cfg(unix)]
        assert!(read_text(Path::new("/dev/zero"), MAX_TEXT).is_err());
    }
}
