//! Database engines: one trait, one implementation per database.
//!
//! An engine identifies its target, inspects it for a desired state, renders statements for a
//! change and executes them in one transaction. Engines say *how* to change, never *what*: that
//! is `diff`'s job.

pub mod any;
#[cfg(feature = "embedded")]
pub mod embedded;
pub mod ident;
pub(crate) mod inspect;

pub use inspect::Inspection;
pub mod oracle;
pub mod sql;
pub mod sqlserver;

use std::fmt;
use std::path::{Path, PathBuf};

use crate::change::Dialect;
use crate::change::{Change, ChangeId};
use crate::state::desired::{Desired, Origin, ResourceId};
use crate::state::observed::{Catalog, Target};
use crate::state::Value;

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

/// One statement parameter. A secret one is masked wherever a statement is shown.
#[derive(Debug, Clone, PartialEq)]
pub struct Param {
    /// The value, already converted for its column's type.
    pub value: Value,
    /// Mask it in any output.
    pub secret: bool,
    /// The type of the column the value is compared with or written into, when there is one:
    /// an engine that compares values by type (the embedded engine's joins) gets it typed so.
    pub column_type: Option<sql::ColumnType>,
}

impl Param {
    /// A value with no column to take a type from.
    #[must_use]
    pub fn new(value: Value, secret: bool) -> Param {
        Param {
            value,
            secret,
            column_type: None,
        }
    }

    /// A value compared with or written into `column`, typed as the column is.
    #[must_use]
    pub fn for_column(
        value: Value,
        column: &crate::state::observed::ColumnInfo,
        secret: bool,
    ) -> Param {
        Param {
            value,
            secret,
            column_type: sql::ColumnType::of(column),
        }
    }
}

/// Rendered SQL with its parameters and the change it comes from.
#[derive(Debug, Clone, PartialEq)]
pub struct Statement {
    /// SQL text; values only appear as parameter markers.
    pub sql: String,
    /// Parameters, in marker order.
    pub params: Vec<Param>,
    /// The change this statement implements.
    pub source: ChangeId,
}

impl Statement {
    /// The statement for display: SQL followed by its parameters, secrets masked.
    #[must_use]
    pub fn redacted(&self) -> String {
        let mut out = self.sql.clone();
        for (i, p) in self.params.iter().enumerate() {
            let shown = if p.secret {
                crate::state::value::MASK.to_string()
            } else {
                p.value.to_string()
            };
            out.push_str(&format!("\n  -- @P{} = {shown}", i + 1));
        }
        out
    }
}

/// A problem with one resource found while inspecting the catalog.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CatalogProblem {
    /// The resource.
    pub resource: ResourceId,
    /// Where the resource (or its table) is written.
    pub origin: Origin,
    /// What is wrong.
    pub message: String,
}

impl fmt::Display for CatalogProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}: resource {}: {}",
            self.origin, self.resource, self.message
        )
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
    /// Tables or columns named by the spec are not in the catalog, or values do not fit them.
    #[error("the database does not match what the spec names; nothing was changed\n{}", list(.problems))]
    Catalog {
        /// Every problem found.
        problems: Vec<CatalogProblem>,
    },
    /// A statement could not be written for a change.
    #[error("cannot write the SQL of change {change}")]
    Render {
        /// The change.
        change: ChangeId,
        /// Why.
        #[source]
        source: sql::Error,
    },
    /// The embedded engine could not be started or loaded.
    #[error("embedded engine: {message}")]
    Embedded {
        /// What went wrong.
        message: String,
    },
    /// The front-end list the spec names cannot be read: the guard needs it.
    #[error("the platform's front-end list cannot be read ({message}); the guard needs it to tell this database from production's")]
    FrontEnds {
        /// What is wrong.
        message: String,
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

fn list(problems: &[CatalogProblem]) -> String {
    problems
        .iter()
        .map(|p| format!("  {p}"))
        .collect::<Vec<_>>()
        .join("\n")
}

/// A database postclone can reconcile.
// The engines run on a current-thread runtime and are never shared across threads, so the
// futures need no `Send` bound.
#[allow(async_fn_in_trait)]
pub trait Engine {
    /// Engine facts `diff` needs.
    fn dialect(&self) -> Dialect;

    /// What the server says it is.
    async fn identify(&mut self) -> Result<Target, Error>;

    /// Resolves metamodel targets (`table: {tables_from: ...}`) into one resource per table,
    /// then reads the catalog and the drifted rows of every resource.
    ///
    /// # Guarantees
    /// Reads only. A constant number of round trips per resource, never one per row; each
    /// table's catalog is read once.
    async fn inspect(&mut self, desired: &Desired) -> Result<Inspection, Error>;

    /// The statements that carry out `change`, in order. Pure.
    ///
    /// # Errors
    /// A change that refers to a table or column missing from `catalog`.
    fn statements(&self, change: &Change, catalog: &Catalog) -> Result<Vec<Statement>, Error>;

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
    async fn begin(
        &mut self,
        lock: &Lock,
        tables: &[crate::state::observed::TableInfo],
    ) -> Result<(), Error>;

    /// Streams to `sink` the whole rows (every column, in the catalog's order) that `change` is
    /// about to delete or modify, with the values an update writes and the rows' names, read
    /// inside the transaction; returns how many. A change with no row image (a custom fix,
    /// principals) streams nothing. With `page`, only that page of the rows, in key order.
    async fn capture(
        &mut self,
        change: &Change,
        catalog: &Catalog,
        page: Option<sql::Page<'_>>,
        sink: &mut dyn FnMut(crate::journal::RowImage) -> std::io::Result<()>,
    ) -> Result<u64, Error>;

    /// Streams the rows of `select`, every value whole, to `each`; returns how many.
    async fn read(
        &mut self,
        select: &sql::Select,
        context: &str,
        each: &mut dyn FnMut(Vec<Value>) -> Result<(), Error>,
    ) -> Result<u64, Error>;

    /// The flavor of the SQL this engine runs.
    fn flavor(&self) -> sql::Flavor;

    /// Runs one statement inside the transaction.
    async fn run(&mut self, statement: &Statement) -> Result<(), Error>;

    /// Commits the transaction.
    async fn commit(&mut self) -> Result<(), Error>;

    /// Rolls the transaction back.
    async fn rollback(&mut self) -> Result<(), Error>;

    /// The statements that put journaled rows back, one per row, idempotent.
    ///
    /// # Errors
    /// A journal entry whose table cannot be written back (no primary key for an update).
    fn restore_statements(
        &self,
        step: &crate::journal::RestoreStep,
    ) -> Result<Vec<Statement>, Error>;
}

/// The capture query of `change` and the context its errors name; `None` for a change without
/// a row image.
pub(crate) fn capture_of(
    change: &Change,
    catalog: &Catalog,
    flavor: sql::Flavor,
    page: Option<sql::Page<'_>>,
) -> Result<Option<(sql::Capture, String)>, Error> {
    let capture =
        sql::capture_query(change, catalog, flavor, page).map_err(|source| Error::Render {
            change: change.id.clone(),
            source,
        })?;
    Ok(capture.map(|c| (c, format!("journaling the rows of change {}", change.id))))
}

/// A row callback for [`inspect::Reader::stream`] that hands each whole row to the journal's
/// `sink`, a write failure stopping the stream.
pub(crate) fn journaled<'a>(
    sink: &'a mut dyn FnMut(crate::journal::RowImage) -> std::io::Result<()>,
    capture: &'a sql::Capture,
    context: &'a str,
) -> impl FnMut(Vec<Value>) -> Result<(), Error> + 'a {
    move |values| {
        sink(capture.image(values)).map_err(|e| Error::Query {
            context: context.to_string(),
            source: Box::new(e),
        })
    }
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

    /// A secret parameter is masked in the redacted statement.
    #[test]
    fn redacted_statement_masks_secrets() {
        let s = Statement {
            sql: "UPDATE t SET [V] = @P1 WHERE [N] IN (@P2)".into(),
            params: vec![
                Param::new(Value::Text("hunter2".into()), true),
                Param::new(Value::Text("name".into()), false),
            ],
            source: ResourceId::try_from("x".to_string()).unwrap(),
        };
        let shown = s.redacted();
        assert!(!shown.contains("hunter2"));
        assert!(shown.contains("\"name\""));
    }
}

/// An error message with secret values masked out.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct Masked(String);

impl Masked {
    /// A message that holds no secret value.
    #[must_use]
    pub fn from_message(message: &str) -> Masked {
        Masked(message.to_string())
    }

    /// `error`'s message and its causes, for an error no statement's values reach.
    #[must_use]
    pub fn chain(error: &dyn std::error::Error) -> Masked {
        let mut text = error.to_string();
        let mut source = error.source();
        while let Some(cause) = source {
            text.push_str(&format!(": {cause}"));
            source = cause.source();
        }
        Masked(text)
    }

    /// `error`'s message (and its causes) with every secret parameter of `statement` masked.
    #[must_use]
    pub fn new(error: &dyn std::error::Error, statement: &Statement) -> Masked {
        let Masked(mut text) = Masked::chain(error);
        // Text long enough to be a credential is masked wherever it appears; masking shorter
        // values (a `2`) would garble the message and protect nothing.
        for p in statement.params.iter().filter(|p| p.secret) {
            if let crate::state::Value::Text(t) = &p.value {
                if t.chars().count() >= 4 {
                    text = text.replace(t.as_str(), crate::state::value::MASK);
                }
            }
        }
        Masked(text)
    }
}
