//! The CLI harness: run the real `postclone` binary in a temporary directory, against a
//! `TestServer` or the embedded engine, and look at its exit code and output.

#![allow(dead_code)]

pub mod schema;
pub mod server;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

pub use server::TestServer;

/// A test-only age key pair: the recipient specs seal to, and the identity that opens.
pub const RECIPIENT: &str = "age1qqlckrjtjh5p3dcgjwuzwep7avyfep2npylyju2cpaaqlfwk8e2s7n0z6k";
/// The identity of [`RECIPIENT`].
pub const IDENTITY: &str =
    "AGE-SECRET-KEY-17M2G4USE24TPSM2WTA5MHRV8H654NUDKH6RKE0FD9CEYZMAELLHQH9N7WW";

/// The repository root.
pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// A fixture file under tests/fixtures.
pub fn fixture(path: &str) -> PathBuf {
    root().join("tests/fixtures").join(path)
}

/// The spec covering every resource kind, for the core tests (`tests/fixtures/core`).
pub fn core_spec() -> String {
    std::fs::read_to_string(fixture("core/postclone.yaml")).expect("core spec")
}

/// The demo spec (`examples/demo/postclone.yaml`) without its embedded connection, to run
/// against a `TestServer` loaded from the demo clone.
pub fn demo_spec() -> String {
    std::fs::read_to_string(root().join("examples/demo/postclone.yaml"))
        .expect("demo spec")
        .replace("connection: embedded:clone.sql\n", "")
}

/// What a run of the binary produced.
#[derive(Debug)]
pub struct Output {
    /// Exit code.
    pub code: i32,
    /// Standard output.
    pub stdout: String,
    /// Standard error.
    pub stderr: String,
}

impl Output {
    /// Asserts the exit code, showing both streams when it differs.
    #[track_caller]
    pub fn code(self, expected: i32) -> Output {
        assert_eq!(
            self.code, expected,
            "exit code\n--- stdout\n{}\n--- stderr\n{}",
            self.stdout, self.stderr
        );
        self
    }

    /// Asserts that standard output contains `text`, showing both streams when it does not.
    #[track_caller]
    pub fn stdout_has(&self, text: &str) -> &Output {
        assert!(
            self.stdout.contains(text),
            "no {text:?} on stdout\n--- stdout\n{}\n--- stderr\n{}",
            self.stdout,
            self.stderr
        );
        self
    }

    /// Asserts that standard error contains `text`, showing both streams when it does not.
    #[track_caller]
    pub fn stderr_has(&self, text: &str) -> &Output {
        assert!(
            self.stderr.contains(text),
            "no {text:?} on stderr\n--- stdout\n{}\n--- stderr\n{}",
            self.stdout,
            self.stderr
        );
        self
    }
}

/// A run of the binary being prepared.
#[must_use]
pub struct Test {
    dir: tempfile::TempDir,
    args: Vec<String>,
    env: Vec<(String, String)>,
    redact: Vec<(String, String)>,
}

impl Test {
    /// A run in a fresh temporary directory.
    pub fn new() -> Test {
        let dir = tempfile::tempdir().expect("temp dir");
        let redact = vec![(dir.path().display().to_string(), "[TMP]".to_string())];
        Test {
            dir,
            args: Vec::new(),
            env: Vec::new(),
            redact,
        }
    }

    /// Writes `postclone.yaml` (or another file) in the run's directory.
    pub fn file(self, name: &str, text: &str) -> Test {
        std::fs::write(self.dir.path().join(name), text).expect("write test file");
        self
    }

    /// Writes the spec as `postclone.yaml`.
    pub fn spec(self, text: &str) -> Test {
        self.file("postclone.yaml", text)
    }

    /// The run's directory.
    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// Adds arguments.
    pub fn args<I: IntoIterator<Item = S>, S: Into<String>>(mut self, args: I) -> Test {
        self.args.extend(args.into_iter().map(Into::into));
        self
    }

    /// Replaces the arguments: another command in the same directory and environment.
    pub fn set_args<I: IntoIterator<Item = S>, S: Into<String>>(&mut self, args: I) -> &mut Test {
        self.args = args.into_iter().map(Into::into).collect();
        self
    }

    /// Points the run at a test server (through `POSTCLONE_CONNECTION`).
    pub fn server(mut self, server: &TestServer, database: &str) -> Test {
        self.env
            .push(("POSTCLONE_CONNECTION".into(), server.connection(database)));
        self.redact.push((
            format!("127.0.0.1,{}", server.port()),
            "127.0.0.1,[PORT]".into(),
        ));
        self.redact.push((
            format!("127.0.0.1:{}", server.port()),
            "127.0.0.1:[PORT]".into(),
        ));
        self
    }

    /// Sets an environment variable.
    pub fn env(mut self, key: &str, value: &str) -> Test {
        self.env.push((key.into(), value.into()));
        self
    }

    /// Starts the binary without waiting for it.
    pub fn spawn(&self) -> std::process::Child {
        self.command()
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn postclone")
    }

    /// Waits for a spawned run.
    pub fn wait(child: std::process::Child) -> Output {
        let out = child.wait_with_output().expect("wait for postclone");
        Output {
            code: out.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    }

    fn command(&self) -> Command {
        let mut command = Command::new(env!("CARGO_BIN_EXE_postclone"));
        command
            .args(&self.args)
            .current_dir(self.dir.path())
            .env_remove("POSTCLONE_CONNECTION")
            // The plan key is kept in a configuration directory of the test run's own, shared
            // by its runs (a plan saved by one is applied by another), never the user's.
            .env_remove("POSTCLONE_PLAN_KEY")
            // A signing key in the developer's environment would sign journals and captures
            // the tests expect unsigned.
            .env_remove("POSTCLONE_SIGNING_KEY")
            .env("XDG_CONFIG_HOME", config_home())
            .env("NO_COLOR", "1")
            .stdin(Stdio::null());
        for (k, v) in &self.env {
            command.env(k, v);
        }
        command
    }

    /// Runs the binary with a closed standard input (as in a pipeline).
    pub fn run(&self) -> Output {
        let out = self.command().output().expect("run postclone");
        // Every JSON plan a test produces is checked against the published schema.
        let json_plan = self.args.first().is_some_and(|a| a == "plan")
            && self
                .args
                .windows(2)
                .any(|w| w[0] == "--format" && w[1] == "json");
        if json_plan && !out.stdout.is_empty() {
            schema::assert_valid_plan(&String::from_utf8_lossy(&out.stdout));
        }
        let clean = |bytes: &[u8]| {
            let mut text = String::from_utf8_lossy(bytes).into_owned();
            for (from, to) in &self.redact {
                text = text.replace(from, to);
            }
            text
        };
        Output {
            code: out.status.code().unwrap_or(-1),
            stdout: clean(&out.stdout),
            stderr: clean(&out.stderr),
        }
    }
}

/// The configuration directory of every run of this test process.
pub fn config_home() -> &'static Path {
    static DIR: std::sync::OnceLock<tempfile::TempDir> = std::sync::OnceLock::new();
    DIR.get_or_init(|| tempfile::tempdir().expect("configuration directory"))
        .path()
}

/// `postclone restore JOURNAL --auto-approve` against `database` on `server`, ready to run.
pub fn restore(server: &TestServer, database: &str, journal: &Path) -> Test {
    Test::new().server(server, database).args([
        "restore",
        journal.to_str().expect("utf-8 path"),
        "--auto-approve",
    ])
}

/// The one journal an apply run by `t` wrote.
pub fn journal_in(t: &Test) -> PathBuf {
    let dir = t.path().join(".postclone/journal");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .expect("journal dir")
        .map(|e| e.expect("entry").path())
        .collect();
    assert_eq!(files.len(), 1, "{files:?}");
    files.remove(0)
}

/// Every id of the built-in profile but `keep`, for an `exclude:` list: the fixture holds only
/// the configuration tables.
pub fn profile_but(keep: &[&str]) -> String {
    let text = std::fs::read_to_string(root().join("specs/outsystems-o11.yaml")).expect("profile");
    let profile: serde_yaml::Value = serde_yaml::from_str(&text).expect("yaml");
    let mut ids: Vec<String> = Vec::new();
    for key in ["resources", "manual"] {
        for item in profile[key].as_sequence().expect(key) {
            let id = item["id"].as_str().expect("id");
            if !keep.contains(&id) {
                ids.push(id.to_string());
            }
        }
    }
    ids.join(", ")
}

/// Every text file under `dir`, recursively (hidden folders included: journals, logs), but
/// those named `except`, as one text: what a run wrote, for looking for what must not be there.
pub fn files_text(dir: &Path, except: &[&str]) -> String {
    let mut out = String::new();
    for entry in std::fs::read_dir(dir).expect("dir").flatten() {
        let path = entry.path();
        if path
            .file_name()
            .is_some_and(|n| except.iter().any(|e| n == *e))
        {
            continue;
        }
        if path.is_dir() {
            out.push_str(&files_text(&path, except));
        } else if let Ok(text) = std::fs::read_to_string(&path) {
            out.push_str(&text);
        }
    }
    out
}
