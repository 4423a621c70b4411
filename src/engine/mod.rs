//! Database engines: the IO a database needs, one implementation per database.
//!
//! An engine connects, says what it is, reads (catalog queries, rows streamed whole, custom
//! checks: [`Reader`]), takes the apply lock, and runs statements in one transaction. What to
//! read and write is decided above it (`inspect`, `sql`, `diff`); engines differ only in their
//! IO and the flavor of SQL they run.

pub mod any;
pub mod embedded;
pub mod oracle;
mod reader;
pub mod sqlserver;

pub use reader::{CheckSink, Reader, RowSink};

use std::fmt;
use std::path::{Path, PathBuf};

use crate::sql::{self, Statement};
use crate::state::observed::{TableInfo, Target};

/// How many drifted rows an inspection keeps per resource for display; the rest are counted.
pub const SAMPLE_ROWS: usize = 10;

/// Where to connect, parsed before any IO. Its `Display` never shows a password.
#[derive(Clone, PartialEq, Eq)]
pub enum Connection {
    /// An ADO.NET connection string for SQL Server.
    SqlServer(String),
    /// The embedded engine, loaded from a SQL file.
    Embedded(PathBuf),
    /// `oracle://user@host:port/service`.
    Oracle(String),
}

impl Connection {
    /// Parses a connection setting; relative `embedded:` paths are resolved from `base_dir`.
    #[must_use]
    pub fn parse(text: &str, base_dir: &Path) -> Connection {
        let text = text.trim();
        if let Some(path) = text.strip_prefix("embedded:") {
            Connection::Embedded(base_dir.join(path.trim()))
        } else if text.starts_with("oracle://") {
            Connection::Oracle(text.to_string())
        } else {
            Connection::SqlServer(text.to_string())
        }
    }
}

impl fmt::Display for Connection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Connection::SqlServer(ado) => f.write_str(&sqlserver::connect::describe(ado)),
            Connection::Embedded(path) => {
                write!(f, "embedded engine loaded from {}", path.display())
            }
            Connection::Oracle(url) => match url.split_once('@') {
                Some((_, rest)) => write!(f, "oracle://{rest}"),
                None => f.write_str(url),
            },
        }
    }
}

impl fmt::Debug for Connection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

/// Engine errors. None of them ever holds a password or a secret value.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The connection setting cannot be used.
    #[error("invalid connection: {message}")]
    InvalidConnection {
        /// What is wrong (never the connection string itself).
        message: String,
    },
    /// No connection could be made.
    #[error("cannot connect to {target}")]
    Connect {
        /// Host and port (no credentials).
        target: String,
        /// The cause.
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    /// A query failed.
    #[error("{context} failed")]
    Query {
        /// What was being done.
        context: String,
        /// The database error.
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    /// The embedded engine could not be started or loaded.
    #[error("embedded engine: {message}")]
    Embedded {
        /// What went wrong.
        message: String,
    },
    /// The caller reading the rows stopped the stream (its own reason is its to report).
    #[error("{context}: the reader stopped")]
    Stopped {
        /// What was being read.
        context: String,
    },
    /// Another apply holds the lock.
    #[error("another postclone apply is running on this database{}; try again when it has finished", holder.as_ref().map(|h| format!(" ({h})")).unwrap_or_default())]
    Locked {
        /// Who holds it, where the server says.
        holder: Option<String>,
    },
    /// This build or engine does not support what was asked.
    #[error("{what} is not supported by this build")]
    Unsupported {
        /// What.
        what: String,
    },
}

/// A database postclone can reconcile: its IO.
// The engines run on a current-thread runtime and are never shared across threads, so the
// futures need no `Send` bound.
#[allow(async_fn_in_trait)]
pub trait Engine: Reader {
    /// The flavor of the SQL this engine runs.
    fn flavor(&self) -> sql::Flavor;

    /// The schema the platform's tables are in, when catalog queries must name it (Oracle).
    fn owner(&self) -> Option<&str> {
        None
    }

    /// What the server says it is.
    async fn identify(&mut self) -> Result<Target, Error>;

    /// Takes the apply lock on the database, waiting at most `timeout`. It is held until the
    /// connection closes.
    ///
    /// # Errors
    /// [`Error::Locked`] when another apply holds it.
    async fn lock(&mut self, timeout: std::time::Duration) -> Result<Lock, Error>;

    /// Starts the apply transaction. With [`Lock::Tables`], first write-locks every table in
    /// `tables`, so that a concurrent apply waits (or times out) before changing anything; the
    /// caller plans again inside the transaction, since another apply may have changed rows
    /// meanwhile.
    async fn begin(&mut self, lock: &Lock, tables: &[TableInfo]) -> Result<(), Error>;

    /// Runs one statement inside the transaction.
    async fn run(&mut self, statement: &Statement) -> Result<(), Error>;

    /// Commits the transaction.
    async fn commit(&mut self) -> Result<(), Error>;

    /// Rolls the transaction back.
    async fn rollback(&mut self) -> Result<(), Error>;
}

/// How the apply lock is held.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lock {
    /// An application lock owned by the session (`sp_getapplock` on SQL Server).
    Application,
    /// The engine has no application locks: the apply transaction write-locks every table it
    /// changes before changing any (the embedded engine).
    Tables,
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A connection never displays its password.
    #[test]
    fn connection_display_hides_password() {
        let c = Connection::parse(
            "server=tcp:db1,1433;database=OS;user=sa;password=S3cret!;encrypt=true",
            Path::new("."),
        );
        let shown = c.to_string();
        assert!(!shown.contains("S3cret"), "{shown}");
        assert!(shown.contains("db1"), "{shown}");
        let o = Connection::parse("oracle://osadmin:pw@db2:1521/ORCL", Path::new("."));
        assert_eq!(o.to_string(), "oracle://db2:1521/ORCL");
    }

    /// `embedded:` paths are resolved from the spec's directory.
    #[test]
    fn embedded_paths_are_relative_to_the_spec() {
        let c = Connection::parse("embedded:clone.sql", Path::new("examples/demo"));
        assert_eq!(
            c,
            Connection::Embedded(PathBuf::from("examples/demo/clone.sql"))
        );
    }
}
