//! Reading the files a user names (specs, includes, captured files, saved plans, journals,
//! identities): regular files only, of a bounded size, so that a named pipe, a device or a
//! runaway file is a clear error instead of a hang or an abort.

use std::fs::File;
use std::io::{self, Read};
use std::path::{Path, PathBuf};

/// The largest spec, include, captured file, saved plan or key postclone reads.
pub const MAX_TEXT: u64 = 64 * 1024 * 1024;

/// What `path` is: the file it names with every symbolic link resolved, judged as that file.
///
/// A link is followed to its target and the target is what counts: its name, its kind, its
/// place. Files of the system's pseudo file systems (`/proc`, `/sys`, `/dev`) are refused
/// whatever they are called: `/proc/self/environ` is a "regular file" holding the process's
/// environment, and nothing postclone reads lives there.
///
/// # Errors
/// The path does not resolve, or resolves into a pseudo file system.
pub fn resolve(path: &Path) -> io::Result<PathBuf> {
    let resolved = std::fs::canonicalize(path)?;
    if PSEUDO.iter().any(|root| resolved.starts_with(root)) {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!(
                "not a regular file: resolves to {}, a file of the system",
                resolved.display()
            ),
        ));
    }
    Ok(resolved)
}

/// File systems whose files are the system's state, not a user's documents.
const PSEUDO: [&str; 3] = ["/proc", "/sys", "/dev"];

/// Whether `path`, once resolved, is named as a spec is: `.yaml` or `.yml`.
#[must_use]
pub fn is_yaml_name(path: &Path) -> bool {
    path.extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| e.eq_ignore_ascii_case("yaml") || e.eq_ignore_ascii_case("yml"))
}

/// Opens `path` for reading if it resolves to a regular file (see [`resolve`]).
///
/// # Errors
/// The file cannot be opened, or is not a regular file (a directory, a named pipe, a device,
/// a file of the system).
pub fn open_regular(path: &Path) -> io::Result<File> {
    let not_regular = || {
        io::Error::new(
            io::ErrorKind::InvalidInput,
            "not a regular file (a directory, a named pipe or a device)",
        )
    };
    let resolved = resolve(path)?;
    // Before opening: opening a named pipe waits for a writer.
    if !std::fs::metadata(&resolved)?.is_file() {
        return Err(not_regular());
    }
    let file = File::open(&resolved)?;
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

/// What a JSON reader found wrong with a file, without a word of the file: serde_json quotes
/// the values it meets (`invalid type: string "..."`), and a file given by mistake (a link to
/// a credentials file) must not be printed through its error.
#[must_use]
pub fn json_problem(e: &serde_json::Error) -> String {
    use serde_json::error::Category;
    let what = match e.classify() {
        Category::Io => "unreadable",
        Category::Syntax => "not JSON",
        Category::Data => "not the fields and types expected",
        Category::Eof => "cut short",
    };
    format!("{what} at line {} column {}", e.line(), e.column())
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

    /// A link is judged as its target: one into /proc is refused, whatever its name, and the
    /// target's name is the one that counts. See: issue 33
    #[cfg(unix)]
    #[test]
    fn links_are_judged_by_their_target_issue_33() {
        let dir = tempfile::tempdir().unwrap();
        let env = dir.path().join("env.yaml");
        std::os::unix::fs::symlink("/proc/self/environ", &env).unwrap();
        let e = read_text(&env, MAX_TEXT).unwrap_err();
        assert!(e.to_string().contains("a file of the system"), "{e}");
        let key = dir.path().join("plan.key");
        std::fs::write(&key, "00").unwrap();
        let alias = dir.path().join("base.yaml");
        std::os::unix::fs::symlink(&key, &alias).unwrap();
        assert!(!is_yaml_name(&resolve(&alias).unwrap()));
        assert!(is_yaml_name(Path::new("specs/base.YML")));
    }

    /// A JSON problem names its place, never the value met there. See: issue 33
    #[test]
    fn json_problems_quote_nothing_issue_33() {
        let e = serde_json::from_str::<u32>("\"private-key-material\"").unwrap_err();
        let said = json_problem(&e);
        assert_eq!(
            said,
            "not the fields and types expected at line 1 column 22"
        );
        assert!(e.to_string().contains("private-key-material"));
    }
}
