//! Secrets by reference: wherever postclone reads a secret (a connection string or password,
//! the masking key, the plan key, the signing key, age identities), the value may instead name
//! where the secret is kept, and postclone reads it from there when it needs it:
//!
//! - `env:NAME`: the environment variable `NAME`;
//! - `file:PATH`: the file (relative to the spec's directory in a spec, else the working
//!   directory; links resolved, a regular file only, its last line end dropped);
//! - `exec:COMMAND ARGS...`: what the command prints, run without a shell (arguments split as
//!   a POSIX shell would, quotes included), with no input, for at most 30 seconds
//!   (`POSTCLONE_SECRET_TIMEOUT` seconds when set); its standard output, trimmed, is the
//!   secret. The credential-helper convention of git and kubectl: any vault with a command
//!   line (`az keyvault secret show`, `vault kv get -field`, `aws secretsmanager
//!   get-secret-value`, `op read`, `sops -d --extract`) works without postclone knowing it.
//!
//! A secret read this way is never printed, logged or written: [`Secret`] shows as `***`, and
//! what a failing command prints on its standard error is shown with the secret masked.

use std::io::Read as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// The variable that bounds how long an `exec:` reference may run, in seconds.
pub const TIMEOUT_VARIABLE: &str = "POSTCLONE_SECRET_TIMEOUT";

/// How long an `exec:` reference may run unless told otherwise.
const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);

/// The most a secret may be: a key, a password, a connection string, an identity file.
const MAX_SECRET: u64 = 64 * 1024;

/// The most of a command's standard error that is shown.
const MAX_STDERR: usize = 2 * 1024;

/// Where a secret is kept.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reference {
    /// An environment variable.
    Env(String),
    /// A file.
    File(PathBuf),
    /// What a command prints: the program, then its arguments.
    Exec(Vec<String>),
}

/// A secret's text; shown as `***`, wiped from memory when dropped.
#[derive(Clone)]
pub struct Secret(zeroize::Zeroizing<String>);

impl Secret {
    /// A secret given as it is (a value that is not a reference).
    #[must_use]
    pub fn literal(text: &str) -> Secret {
        Secret(zeroize::Zeroizing::new(text.to_string()))
    }

    /// The secret's text, for the one place that uses it.
    #[must_use]
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret(***)")
    }
}

/// Why a referenced secret cannot be read. None of them holds the secret.
#[derive(Debug, thiserror::Error)]
pub enum SecretError {
    /// `exec:` with nothing to run, or quotes that do not close.
    #[error("`{reference}` is not a command postclone can run: {why}")]
    Malformed {
        /// The reference as written (it names where the secret is, never the secret).
        reference: String,
        /// What is wrong.
        why: &'static str,
    },
    /// The variable is not set, or empty.
    #[error("the environment variable {name} is not set (or empty)")]
    Unset {
        /// The variable.
        name: String,
    },
    /// The file cannot be read.
    #[error("cannot read the secret in {}", path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// The command could not be started.
    #[error("cannot run `{command}` (from an exec: reference)")]
    Spawn {
        /// The command as written.
        command: String,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// The command ran longer than allowed; it was stopped.
    #[error("`{command}` (from an exec: reference) did not finish within {seconds} seconds and was stopped; set {TIMEOUT_VARIABLE} to allow longer")]
    Timeout {
        /// The command as written.
        command: String,
        /// The bound.
        seconds: u64,
    },
    /// The command exited, but a process it started kept its output open past the bound: what
    /// it printed is not known to be whole.
    #[error("`{command}` (from an exec: reference) exited, but a process it started kept its output open for {seconds} seconds; make the command close its output (or run what it starts with its output redirected)")]
    OutputHeldOpen {
        /// The command as written.
        command: String,
        /// The bound.
        seconds: u64,
    },
    /// The command failed.
    #[error("`{command}` (from an exec: reference) failed ({status}){}", shown_stderr(.stderr))]
    Failed {
        /// The command as written.
        command: String,
        /// Its exit status.
        status: String,
        /// What it printed on its standard error, the secret masked, bounded.
        stderr: String,
    },
    /// An `exec:` reference written in a file, where running commands was not allowed.
    #[error("`{reference}` in {file} would run a command, and a spec or fleet file runs none unless {EXEC_VARIABLE}=allow is set where postclone runs (the pipeline, not the file); nothing was run")]
    ExecNotAllowed {
        /// The reference, as written.
        reference: String,
        /// The file it is written in.
        file: String,
    },
    /// The reference gave nothing, or more than a secret can be.
    #[error("{source_of} gave {what}, not a secret")]
    Unusable {
        /// Where it was read from (the reference, never the secret).
        source_of: String,
        /// What came instead.
        what: &'static str,
    },
}

fn shown_stderr(stderr: &str) -> String {
    if stderr.is_empty() {
        String::new()
    } else {
        format!(": {stderr}")
    }
}

impl Reference {
    /// The reference `text` writes, when it writes one (`env:`, `file:` or `exec:` first);
    /// `None` for any other text, which is the secret itself.
    ///
    /// # Errors
    /// An `exec:` reference with nothing to run or an unclosed quote.
    pub fn parse(text: &str) -> Option<Result<Reference, SecretError>> {
        let text = text.trim();
        if let Some(name) = text.strip_prefix("env:") {
            return Some(Ok(Reference::Env(name.trim().to_string())));
        }
        if let Some(path) = text.strip_prefix("file:") {
            return Some(Ok(Reference::File(PathBuf::from(path.trim()))));
        }
        let command = text.strip_prefix("exec:")?;
        let malformed = |why| SecretError::Malformed {
            reference: text.to_string(),
            why,
        };
        Some(match shlex::split(command) {
            None => Err(malformed("a quote does not close")),
            Some(argv) if argv.is_empty() => Err(malformed("it names no command")),
            Some(argv) => Ok(Reference::Exec(argv)),
        })
    }

    /// Reads the secret; a relative `file:` path is taken from `base_dir`.
    ///
    /// # Errors
    /// A variable not set, a file that cannot be read, a command that cannot run, fails, runs
    /// too long or prints nothing.
    pub fn read(&self, base_dir: &Path) -> Result<Secret, SecretError> {
        let text = match self {
            Reference::Env(name) => std::env::var(name)
                .ok()
                .filter(|v| !v.trim().is_empty())
                .ok_or_else(|| SecretError::Unset { name: name.clone() })?,
            Reference::File(path) => {
                let path = base_dir.join(path);
                crate::files::read_text(&path, MAX_SECRET)
                    .map_err(|source| SecretError::Read { path, source })?
            }
            Reference::Exec(argv) => run(argv, timeout())?,
        };
        let text = zeroize::Zeroizing::new(text);
        let trimmed = text.trim();
        if trimmed.is_empty() {
            return Err(SecretError::Unusable {
                source_of: self.to_string(),
                what: "nothing",
            });
        }
        Ok(Secret::literal(trimmed))
    }
}

impl std::fmt::Display for Reference {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Reference::Env(name) => write!(f, "env:{name}"),
            Reference::File(path) => write!(f, "file:{}", path.display()),
            Reference::Exec(argv) => write!(
                f,
                "exec:{}",
                shlex::try_join(argv.iter().map(String::as_str)).unwrap_or_else(|_| argv.join(" "))
            ),
        }
    }
}

/// `text` as a secret: read from where it refers to, or the text itself when it is no
/// reference.
///
/// # Errors
/// As [`Reference::read`].
pub fn resolve(text: &str, base_dir: &Path) -> Result<Secret, SecretError> {
    match Reference::parse(text) {
        Some(reference) => reference?.read(base_dir),
        None => Ok(Secret::literal(text)),
    }
}

/// The variable that lets `exec:` references written in a spec or a fleet file run.
pub const EXEC_VARIABLE: &str = "POSTCLONE_EXEC";

/// Whether `exec:` references written in files may run (`POSTCLONE_EXEC=allow`).
#[must_use]
pub fn exec_allowed() -> bool {
    std::env::var(EXEC_VARIABLE).is_ok_and(|v| v.trim().eq_ignore_ascii_case("allow"))
}

/// Refuses `text` when it is an `exec:` reference written in `file` (named as the message
/// says it) and running commands from
/// files was not allowed: whoever can edit a spec (a pull request) must not choose what runs
/// where postclone runs.
///
/// # Errors
/// [`SecretError::ExecNotAllowed`].
pub fn check_written(text: &str, file: &str) -> Result<(), SecretError> {
    if matches!(Reference::parse(text), Some(Ok(Reference::Exec(_)))) && !exec_allowed() {
        return Err(SecretError::ExecNotAllowed {
            reference: text.trim().to_string(),
            file: file.to_string(),
        });
    }
    Ok(())
}

/// `text`, written in `file`, as a secret (see [`resolve`]); an `exec:` reference runs only
/// when allowed (see [`check_written`]).
///
/// # Errors
/// As [`resolve`] and [`check_written`].
pub fn resolve_written(text: &str, file: &str, base_dir: &Path) -> Result<Secret, SecretError> {
    check_written(text, file)?;
    resolve(text, base_dir)
}

/// The secret the environment variable `name` gives (a reference in it is read from the
/// working directory); `None` when it is not set or empty.
///
/// # Errors
/// As [`Reference::read`].
pub fn from_variable(name: &str) -> Result<Option<Secret>, SecretError> {
    let Some(text) = std::env::var(name).ok().filter(|v| !v.trim().is_empty()) else {
        return Ok(None);
    };
    resolve(&text, Path::new(".")).map(Some)
}

/// Where a key is, as a flag or a variable that names a key file gives it.
#[derive(Debug)]
pub enum KeySource {
    /// The key file's path.
    File(PathBuf),
    /// The key's text, read through a reference.
    Read {
        /// The text.
        text: Secret,
        /// The reference, as written (it names where the key is, never the key).
        reference: String,
    },
}

/// The key `flag` names, else the one the environment variable `variable` names: a key file's
/// path, or a reference (`env:`, `file:`, `exec:`) read now; `None` when neither is given.
///
/// # Errors
/// A reference that cannot be read, with the reference as written.
pub fn key_source(
    flag: Option<&Path>,
    variable: &str,
) -> Result<Option<KeySource>, (String, SecretError)> {
    let from_env = std::env::var_os(variable)
        .filter(|v| !v.is_empty())
        .map(PathBuf::from);
    let Some(given) = flag.map(Path::to_path_buf).or(from_env) else {
        return Ok(None);
    };
    let reference = given.to_string_lossy().to_string();
    match Reference::parse(&reference) {
        None => Ok(Some(KeySource::File(given))),
        Some(parsed) => match parsed.and_then(|r| r.read(Path::new("."))) {
            Ok(text) => Ok(Some(KeySource::Read { text, reference })),
            Err(e) => Err((reference, e)),
        },
    }
}

/// The variable that sets the policy for secrets written in a spec or a fleet file:
/// `references` refuses a connection whose password is written in clear.
pub const POLICY_VARIABLE: &str = "POSTCLONE_SECRETS";

/// Whether `POSTCLONE_SECRETS=references` is set.
#[must_use]
pub fn references_only() -> bool {
    std::env::var(POLICY_VARIABLE).is_ok_and(|v| v.trim().eq_ignore_ascii_case("references"))
}

/// Whether a connection written in a spec or a fleet file holds a password in clear: an ADO.NET `Password=` or
/// `Pwd=` whose value is not `${env:...}`, or an `oracle://user/password@` URL.
#[must_use]
pub fn writes_password_in_clear(text: &str) -> bool {
    let ado = text.split(';').any(|pair| {
        let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
        let key = key.trim().to_ascii_lowercase();
        (key == "password" || key == "pwd") && !value.trim().is_empty() && !value.contains("${env:")
    });
    let oracle = text
        .strip_prefix("oracle://")
        .and_then(|rest| rest.split_once('@'))
        .is_some_and(|(user, _)| {
            user.split_once('/')
                .is_some_and(|(_, p)| !p.is_empty() && !p.contains("${env:"))
        });
    ado || oracle
}

fn timeout() -> Duration {
    std::env::var(TIMEOUT_VARIABLE)
        .ok()
        .and_then(|s| s.trim().parse::<u64>().ok())
        .filter(|s| *s > 0)
        .map_or(DEFAULT_TIMEOUT, Duration::from_secs)
}

/// Runs `argv` without a shell and returns what it printed, bounded in time and size.
fn run(argv: &[String], timeout: Duration) -> Result<String, SecretError> {
    let command =
        shlex::try_join(argv.iter().map(String::as_str)).unwrap_or_else(|_| argv.join(" "));
    let Some((program, args)) = argv.split_first() else {
        return Err(SecretError::Malformed {
            reference: format!("exec:{command}"),
            why: "it names no command",
        });
    };
    let mut child = Command::new(program)
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|source| SecretError::Spawn {
            command: command.clone(),
            source,
        })?;
    // One byte more than allowed tells a secret that is too long.
    let out = child
        .stdout
        .take()
        .map(|pipe| drained(pipe, MAX_SECRET + 1));
    let err = child
        .stderr
        .take()
        .map(|pipe| drained(pipe, MAX_STDERR as u64));
    let started = Instant::now();
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break status,
            Ok(None) if started.elapsed() >= timeout => {
                let _ = child.kill();
                let _ = child.wait();
                // The readers are left to end with the pipes: a child's own children may hold
                // them open, and waiting for them would be waiting past the bound.
                return Err(SecretError::Timeout {
                    command,
                    seconds: timeout.as_secs(),
                });
            }
            Ok(None) => std::thread::sleep(Duration::from_millis(10)),
            Err(source) => return Err(SecretError::Spawn { command, source }),
        }
    };
    // The pipes close when the command exits, unless a process it started keeps them open:
    // what was printed is waited for only until the bound.
    let deadline = started + timeout;
    let stdout = match out {
        Some(r) => match r.recv_timeout(deadline.saturating_duration_since(Instant::now())) {
            Ok(bytes) => bytes,
            // Read as empty, it would be reported as a command that printed nothing.
            Err(_) => {
                return Err(SecretError::OutputHeldOpen {
                    command,
                    seconds: timeout.as_secs(),
                })
            }
        },
        None => zeroize::Zeroizing::new(Vec::new()),
    };
    let stderr = err
        .and_then(|r| {
            r.recv_timeout(deadline.saturating_duration_since(Instant::now()))
                .ok()
        })
        .unwrap_or_default();
    let printed = zeroize::Zeroizing::new(String::from_utf8_lossy(&stdout).into_owned());
    if !status.success() {
        return Err(SecretError::Failed {
            command,
            status: status.to_string(),
            stderr: masked(&String::from_utf8_lossy(&stderr), printed.trim()),
        });
    }
    if stdout.len() as u64 > MAX_SECRET {
        return Err(SecretError::Unusable {
            source_of: format!("exec:{command}"),
            what: "more than 64 KiB",
        });
    }
    Ok(printed.to_string())
}

/// The first `keep` bytes `pipe` gives, read on a thread of its own; the rest is read and
/// dropped, so that a command printing more than is kept is never blocked on a full pipe (it
/// would then run until the bound and fail as if it hung).
fn drained(
    mut pipe: impl std::io::Read + Send + 'static,
    keep: u64,
) -> std::sync::mpsc::Receiver<zeroize::Zeroizing<Vec<u8>>> {
    let (send, receive) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut bytes = zeroize::Zeroizing::new(Vec::new());
        let _ = (&mut pipe).take(keep).read_to_end(&mut bytes);
        let _ = std::io::copy(&mut pipe, &mut std::io::sink());
        let _ = send.send(bytes);
    });
    receive
}

/// `stderr` with every occurrence of `secret` (whatever its length) and of each of its lines
/// (of 4 characters or more: shorter ones would mask words) replaced by `***`, on one line.
fn masked(stderr: &str, secret: &str) -> String {
    let mut text = stderr.trim().to_string();
    let whole = Some(secret).filter(|s| !s.is_empty());
    let lines = secret.lines().map(str::trim).filter(|p| p.len() >= 4);
    for part in whole.into_iter().chain(lines) {
        text = text.replace(part, "***");
    }
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn exec(command: &str) -> Reference {
        Reference::parse(&format!("exec:{command}"))
            .unwrap()
            .unwrap()
    }

    #[test]
    fn references_are_told_from_secrets() {
        assert_eq!(
            Reference::parse("env:PGPASS").unwrap().unwrap(),
            Reference::Env("PGPASS".into())
        );
        assert_eq!(
            Reference::parse("file: keys/mask.key").unwrap().unwrap(),
            Reference::File("keys/mask.key".into())
        );
        assert_eq!(
            exec("op read 'op://Ops Vault/sql/password'"),
            Reference::Exec(vec![
                "op".into(),
                "read".into(),
                "op://Ops Vault/sql/password".into()
            ])
        );
        assert!(Reference::parse("server=tcp:db;user=sa;password=x").is_none());
        assert!(Reference::parse("embedded:clone.sql").is_none());
        assert!(matches!(
            Reference::parse("exec:op read 'unclosed"),
            Some(Err(SecretError::Malformed { .. }))
        ));
        assert!(matches!(
            Reference::parse("exec:  "),
            Some(Err(SecretError::Malformed { .. }))
        ));
    }

    #[test]
    fn a_command_gives_what_it_prints_trimmed() {
        let secret = exec("printf ' s3cret-value\\n'")
            .read(Path::new("."))
            .unwrap();
        assert_eq!(secret.expose(), "s3cret-value");
        assert_eq!(format!("{secret:?}"), "Secret(***)");
    }

    #[test]
    fn a_failing_command_is_shown_without_the_secret() {
        // Prints the secret, then fails saying it on its standard error (the secret is put
        // together by the command, so that the command line shown does not hold it).
        let e = run(
            &[
                "sh".into(),
                "-c".into(),
                "x=hunter; echo ${x}2-secret; echo \"denied for ${x}2-secret\" >&2; exit 3".into(),
            ],
            Duration::from_secs(10),
        )
        .unwrap_err();
        let text = e.to_string();
        assert!(matches!(e, SecretError::Failed { .. }), "{e:?}");
        assert!(!text.contains("hunter2"), "{text}");
        assert!(text.contains("denied for ***"), "{text}");
    }

    #[test]
    fn a_short_secret_is_masked_too() {
        assert_eq!(masked("bad password: pw1\n", "pw1"), "bad password: ***");
        // Each line of a secret of several lines; a one-letter line is left alone.
        assert_eq!(
            masked("said line-one-secret, then x", "line-one-secret\nx"),
            "said ***, then x"
        );
    }

    #[test]
    fn a_command_that_runs_too_long_is_stopped() {
        let started = Instant::now();
        let e = run(&["sleep".into(), "20".into()], Duration::from_secs(1)).unwrap_err();
        assert!(
            matches!(e, SecretError::Timeout { seconds: 1, .. }),
            "{e:?}"
        );
        assert!(started.elapsed() < Duration::from_secs(10));
    }

    /// A command whose output a process it started keeps open is stopped waiting at the
    /// bound, and said to be so, not taken for one that printed nothing.
    #[test]
    fn output_held_open_by_a_leftover_process_is_named() {
        let started = Instant::now();
        let e = run(
            &[
                "sh".into(),
                "-c".into(),
                "printf %s abc; printf %s def; sleep 30 &".into(),
            ],
            Duration::from_secs(2),
        )
        .unwrap_err();
        assert!(
            matches!(e, SecretError::OutputHeldOpen { .. }),
            "{e:?} after {:?}",
            started.elapsed()
        );
        assert!(started.elapsed() < Duration::from_secs(10));
        // What it printed (`abcdef`) is never shown.
        assert!(!e.to_string().contains("abcdef"), "{e}");
    }

    /// A command that prints more than is kept is read to its end, not left blocked on a full
    /// pipe: it fails for what it printed, at once, never as a command that hung.
    #[test]
    fn a_command_that_prints_too_much_is_not_left_blocked() {
        let started = Instant::now();
        let e = run(
            &[
                "sh".into(),
                "-c".into(),
                "head -c 300000 /dev/zero | tr '\\0' x; head -c 300000 /dev/zero >&2".into(),
            ],
            Duration::from_secs(20),
        )
        .unwrap_err();
        assert!(
            matches!(e, SecretError::Unusable { .. }),
            "{e:?} after {:?}",
            started.elapsed()
        );
        assert!(started.elapsed() < Duration::from_secs(10));
    }

    #[test]
    fn nothing_printed_is_no_secret() {
        let e = exec("true").read(Path::new(".")).unwrap_err();
        assert!(matches!(e, SecretError::Unusable { .. }), "{e:?}");
        let e = exec("postclone-no-such-program")
            .read(Path::new("."))
            .unwrap_err();
        assert!(matches!(e, SecretError::Spawn { .. }), "{e:?}");
        let e = Reference::Env("POSTCLONE_TEST_NEVER_SET".into())
            .read(Path::new("."))
            .unwrap_err();
        assert!(matches!(e, SecretError::Unset { .. }), "{e:?}");
    }

    #[test]
    fn a_file_is_read_from_the_base_directory() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("mask.key"), "0123456789abcdef-key\n").unwrap();
        let secret = resolve("file:mask.key", dir.path()).unwrap();
        assert_eq!(secret.expose(), "0123456789abcdef-key");
        assert_eq!(resolve("plain", dir.path()).unwrap().expose(), "plain");
    }
}
