//! The journal: before a change runs, the whole rows it will delete or modify are appended to a
//! JSON-lines file and flushed to disk; `postclone restore JOURNAL` puts them back.
//!
//! A journal holds production's secrets (it is a copy of the rows removed), so it is created
//! readable by its owner only and never printed.

use std::fs::{File, OpenOptions};
use std::io::{self, BufRead, BufReader, BufWriter, Write};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::change::{Change, ChangeId, ChangeKind};
use crate::state::observed::{ColumnInfo, TableRef, Target};
use crate::state::Value;

/// Where journals go when no path is given, relative to the working directory.
pub const DEFAULT_DIR: &str = ".postclone/journal";

/// The journal format version written in every header.
const FORMAT: u32 = 1;

/// One cell, tagged so that text and binary data read back exactly as written.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "t", content = "v", rename_all = "snake_case")]
pub enum Cell {
    /// SQL NULL.
    Null,
    /// A boolean (bit).
    Bool(bool),
    /// A whole number.
    Int(i64),
    /// A floating point number.
    Float(f64),
    /// Text (also decimals, dates and GUIDs in their canonical text form).
    Text(String),
    /// Binary data, hex-encoded.
    Bytes(String),
}

impl From<Value> for Cell {
    fn from(v: Value) -> Cell {
        match v {
            Value::Null => Cell::Null,
            Value::Bool(b) => Cell::Bool(b),
            Value::Int(i) => Cell::Int(i),
            Value::Float(x) => Cell::Float(x),
            Value::Text(t) => Cell::Text(t),
            Value::Bytes(b) => Cell::Bytes(b.iter().map(|x| format!("{x:02x}")).collect()),
        }
    }
}

/// A journaled cell that cannot be read back.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid hex bytes {hex:?}")]
pub struct InvalidCell {
    /// The text found.
    pub hex: String,
}

impl TryFrom<Cell> for Value {
    type Error = InvalidCell;

    fn try_from(c: Cell) -> Result<Value, InvalidCell> {
        Ok(match c {
            Cell::Null => Value::Null,
            Cell::Bool(b) => Value::Bool(b),
            Cell::Int(i) => Value::Int(i),
            Cell::Float(x) => Value::Float(x),
            Cell::Text(t) => Value::Text(t),
            Cell::Bytes(hex) => Value::Bytes(
                (0..hex.len())
                    .step_by(2)
                    .map(|i| {
                        hex.get(i..i + 2)
                            .and_then(|p| u8::from_str_radix(p, 16).ok())
                            .ok_or_else(|| InvalidCell { hex: hex.clone() })
                    })
                    .collect::<Result<_, _>>()?,
            ),
        })
    }
}

/// What a journaled change did to its rows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum JournalAction {
    /// Rows deleted: restored by inserting them again.
    Delete,
    /// Rows modified: restored by writing their old values back.
    Update,
    /// A custom fix: its effect is not captured.
    Fix,
    /// Database users dropped: not restorable from the journal.
    DropPrincipals,
    /// Privileges revoked: the change records which; grant them again by hand.
    RevokeGrants,
}

/// How an apply ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// Committed: the journaled rows are gone from the database.
    Committed,
    /// Rolled back: the database never lost the journaled rows.
    RolledBack,
}

/// One line of a journal.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "entry", rename_all = "snake_case")]
pub enum Entry {
    /// First line: which database, when, from which spec.
    Header {
        /// Format version.
        format: u32,
        /// The server the apply ran on.
        server: String,
        /// The database.
        database: String,
        /// The spec or plan file applied.
        source: Option<PathBuf>,
        /// Seconds since the Unix epoch.
        started: u64,
    },
    /// A change is about to run; its rows follow.
    Change {
        /// The change.
        change: ChangeId,
        /// What it does to its rows.
        action: JournalAction,
        /// Its table.
        table: Option<TableRef>,
        /// The columns of each row that follows, in order.
        columns: Vec<ColumnInfo>,
        /// Primary key columns.
        primary_key: Vec<String>,
    },
    /// A whole row of the last change, as it was before the change.
    Row {
        /// The change.
        change: ChangeId,
        /// Every column's value.
        values: Vec<Cell>,
    },
    /// Last line: how the apply ended.
    Status {
        /// Committed or rolled back.
        status: Status,
        /// Seconds since the Unix epoch.
        at: u64,
    },
}

/// Journal errors.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The journal could not be created or written; nothing is executed without it.
    #[error("cannot write the journal {}", path.display())]
    Write {
        /// The file.
        path: PathBuf,
        /// The cause.
        #[source]
        source: io::Error,
    },
    /// The journal could not be read.
    #[error("cannot read the journal {}", path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// The cause.
        #[source]
        source: io::Error,
    },
    /// A line of the journal is not valid.
    #[error("{}:{line}: not a journal entry: {message}", path.display())]
    Invalid {
        /// The file.
        path: PathBuf,
        /// 1-based line.
        line: usize,
        /// Why.
        message: String,
    },
}

/// An open journal being written.
pub struct Journal {
    path: PathBuf,
    out: BufWriter<File>,
}

fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

impl Journal {
    /// A fresh file name in `dir` for an apply on `target`.
    #[must_use]
    pub fn default_path(dir: &Path, target: &Target) -> PathBuf {
        let database: String = target
            .database
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || c == '_' || c == '-' {
                    c
                } else {
                    '_'
                }
            })
            .collect();
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos());
        dir.join(format!(
            "{database}-{}-{:09}.jsonl",
            nanos / 1_000_000_000,
            nanos % 1_000_000_000
        ))
    }

    /// Creates the journal (never overwriting one), readable by its owner only, and writes its
    /// header.
    ///
    /// # Errors
    /// The file cannot be created or written.
    pub fn create(path: &Path, target: &Target, source: Option<&Path>) -> Result<Journal, Error> {
        let fail = |source: io::Error| Error::Write {
            path: path.to_path_buf(),
            source,
        };
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(fail)?;
        }
        let mut options = OpenOptions::new();
        options.write(true).create_new(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            options.mode(0o600);
        }
        let file = options.open(path).map_err(fail)?;
        let mut journal = Journal {
            path: path.to_path_buf(),
            out: BufWriter::new(file),
        };
        journal.write(&Entry::Header {
            format: FORMAT,
            server: target.server.clone(),
            database: target.database.clone(),
            source: source.map(Path::to_path_buf),
            started: now(),
        })?;
        journal.sync()?;
        Ok(journal)
    }

    /// The journal's path.
    #[must_use]
    pub fn path(&self) -> &Path {
        &self.path
    }

    fn write(&mut self, entry: &Entry) -> Result<(), Error> {
        let fail = |source: io::Error| Error::Write {
            path: self.path.clone(),
            source,
        };
        serde_json::to_writer(&mut self.out, entry).map_err(|e| fail(e.into()))?;
        self.out.write_all(b"\n").map_err(fail)
    }

    /// Records that `change` is about to run; its rows follow.
    ///
    /// # Errors
    /// The journal cannot be written.
    pub fn change(&mut self, change: &Change) -> Result<(), Error> {
        let action = match change.kind {
            ChangeKind::DeleteRows { .. } | ChangeKind::EmptyTable { .. } => JournalAction::Delete,
            ChangeKind::SetColumns { .. } => JournalAction::Update,
            ChangeKind::RunFix { .. } => JournalAction::Fix,
            ChangeKind::DropPrincipals { .. } => JournalAction::DropPrincipals,
            ChangeKind::RevokeGrants { .. } => JournalAction::RevokeGrants,
        };
        let table = change.table();
        self.write(&Entry::Change {
            change: change.id.clone(),
            action,
            table: table.map(|t| t.table.clone()),
            columns: table.map(|t| t.columns.clone()).unwrap_or_default(),
            primary_key: table.map(|t| t.primary_key.clone()).unwrap_or_default(),
        })
    }

    /// Appends one row of `change` as it is before the change.
    ///
    /// # Errors
    /// The journal cannot be written.
    pub fn row(&mut self, change: &ChangeId, values: Vec<Value>) -> Result<(), Error> {
        self.write(&Entry::Row {
            change: change.clone(),
            values: values.into_iter().map(Cell::from).collect(),
        })
    }

    /// Flushes everything written so far to disk. Called before each change's statements run.
    ///
    /// # Errors
    /// The journal cannot be flushed.
    pub fn sync(&mut self) -> Result<(), Error> {
        let fail = |source: io::Error| Error::Write {
            path: self.path.clone(),
            source,
        };
        self.out.flush().map_err(fail)?;
        self.out.get_ref().sync_data().map_err(fail)
    }

    /// Records how the apply ended, and flushes.
    ///
    /// # Errors
    /// The journal cannot be written.
    pub fn finish(&mut self, status: Status) -> Result<(), Error> {
        self.write(&Entry::Status { status, at: now() })?;
        self.sync()
    }
}

/// Whether a restore step inserts rows back or writes old values back.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RestoreAction {
    /// Insert the rows that are missing.
    Reinsert,
    /// Write the journaled values back.
    Revert,
}

/// The rows of one journaled change, to put back.
#[derive(Debug, Clone, PartialEq)]
pub struct RestoreStep {
    /// The change that removed or modified them.
    pub change: ChangeId,
    /// Insert or write back.
    pub action: RestoreAction,
    /// The table.
    pub table: TableRef,
    /// Columns of each row.
    pub columns: Vec<ColumnInfo>,
    /// Primary key columns.
    pub primary_key: Vec<String>,
    /// The rows, as they were.
    pub rows: Vec<Vec<Value>>,
}

impl RestoreStep {
    /// The table as the catalog described it when the rows were journaled.
    #[must_use]
    pub fn table_info(&self) -> crate::state::observed::TableInfo {
        crate::state::observed::TableInfo {
            table: self.table.clone(),
            columns: self.columns.clone(),
            primary_key: self.primary_key.clone(),
        }
    }

    /// `+` for rows inserted back, `~` for values written back.
    #[must_use]
    pub fn action_symbol(&self) -> char {
        match self.action {
            RestoreAction::Reinsert => '+',
            RestoreAction::Revert => '~',
        }
    }

    /// The primary key values of a row, for display.
    #[must_use]
    pub fn key(&self, row: &[Value]) -> Vec<(String, Value)> {
        self.primary_key
            .iter()
            .filter_map(|k| {
                let i = self
                    .columns
                    .iter()
                    .position(|c| c.name.eq_ignore_ascii_case(k))?;
                Some((self.columns[i].name.clone(), row.get(i)?.clone()))
            })
            .collect()
    }
}

/// What `postclone restore` shows and executes.
#[derive(Debug, Clone, PartialEq)]
pub struct RestorePlan {
    /// The server the apply ran on.
    pub server: String,
    /// The database the apply ran on; restore refuses any other.
    pub database: String,
    /// The spec or plan file the apply ran from.
    pub source: Option<PathBuf>,
    /// How the apply ended, if the journal says.
    pub status: Option<Status>,
    /// Steps, last change first.
    pub steps: Vec<RestoreStep>,
    /// Changes the journal cannot undo.
    pub not_restorable: Vec<(ChangeId, JournalAction)>,
}

/// Reads a journal into the plan that puts its rows back, last change first.
///
/// # Errors
/// The journal cannot be read or is not a journal.
pub fn restore(path: &Path) -> Result<RestorePlan, Error> {
    let file = File::open(path).map_err(|source| Error::Read {
        path: path.to_path_buf(),
        source,
    })?;
    let invalid = |line: usize, message: String| Error::Invalid {
        path: path.to_path_buf(),
        line,
        message,
    };
    let mut plan: Option<RestorePlan> = None;
    let mut steps: Vec<RestoreStep> = Vec::new();
    for (i, line) in BufReader::new(file).lines().enumerate() {
        let line = line.map_err(|source| Error::Read {
            path: path.to_path_buf(),
            source,
        })?;
        if line.trim().is_empty() {
            continue;
        }
        let entry: Entry = match serde_json::from_str(&line) {
            Ok(entry) => entry,
            // An apply killed while writing leaves a partial last line; what came before holds.
            Err(_) if plan.is_some() => break,
            Err(e) => return Err(invalid(i + 1, e.to_string())),
        };
        let plan = match (&mut plan, entry) {
            (
                None,
                Entry::Header {
                    server,
                    database,
                    source,
                    ..
                },
            ) => {
                plan = Some(RestorePlan {
                    server,
                    database,
                    source,
                    status: None,
                    steps: Vec::new(),
                    not_restorable: Vec::new(),
                });
                continue;
            }
            (None, _) => {
                return Err(invalid(
                    i + 1,
                    "the first line is not a journal header".into(),
                ))
            }
            (Some(plan), entry) => (plan, entry),
        };
        match plan {
            (_, Entry::Header { .. }) => return Err(invalid(i + 1, "a second header".into())),
            (
                plan,
                Entry::Change {
                    change,
                    action,
                    table,
                    columns,
                    primary_key,
                },
            ) => match (action, table) {
                (JournalAction::Delete | JournalAction::Update, Some(table)) => {
                    steps.push(RestoreStep {
                        change,
                        action: if action == JournalAction::Delete {
                            RestoreAction::Reinsert
                        } else {
                            RestoreAction::Revert
                        },
                        table,
                        columns,
                        primary_key,
                        rows: Vec::new(),
                    })
                }
                (action, _) => plan.not_restorable.push((change, action)),
            },
            (_, Entry::Row { change, values }) => {
                let step = steps
                    .last_mut()
                    .filter(|s| s.change == change)
                    .ok_or_else(|| {
                        invalid(i + 1, format!("a row of {change} outside its change"))
                    })?;
                let values = values
                    .into_iter()
                    .map(Value::try_from)
                    .collect::<Result<Vec<_>, _>>()
                    .map_err(|e| invalid(i + 1, e.to_string()))?;
                if values.len() != step.columns.len() {
                    return Err(invalid(
                        i + 1,
                        "a row with the wrong number of values".into(),
                    ));
                }
                step.rows.push(values);
            }
            (plan, Entry::Status { status, .. }) => plan.status = Some(status),
        }
    }
    let mut plan = plan.ok_or_else(|| invalid(1, "the journal is empty".into()))?;
    steps.retain(|s| !s.rows.is_empty());
    steps.reverse();
    plan.steps = steps;
    Ok(plan)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::state::observed::{Drift, TableInfo};
    use crate::test_support::id;

    fn change() -> Change {
        Change {
            id: id("servers"),
            kind: ChangeKind::EmptyTable {
                table: TableInfo {
                    table: TableRef {
                        schema: "dbo".into(),
                        name: "OSSYS_SERVER".into(),
                    },
                    columns: vec![
                        ColumnInfo {
                            name: "ID".into(),
                            data_type: "int".into(),
                            nullable: false,
                            identity: true,
                            ..ColumnInfo::default()
                        },
                        ColumnInfo {
                            name: "CERT".into(),
                            data_type: "varbinary".into(),
                            nullable: true,
                            identity: false,
                            ..ColumnInfo::default()
                        },
                    ],
                    primary_key: vec!["ID".into()],
                },
                method: crate::change::EmptyMethod::Truncate,
            },
            rows: Drift::default(),
            secret: false,
            description: None,
            labels: vec![],
        }
    }

    /// Rows written are read back exactly, binary and NULL included, and the file is private.
    #[test]
    fn round_trip() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("j/x.jsonl");
        let target = Target {
            server: "s".into(),
            database: "OS_PREPROD".into(),
            front_ends: vec![],
            front_end_list: None,
        };
        let mut j = Journal::create(&path, &target, None).unwrap();
        let c = change();
        j.change(&c).unwrap();
        j.row(&c.id, vec![Value::Int(1), Value::Bytes(vec![0, 255, 10])])
            .unwrap();
        j.row(&c.id, vec![Value::Int(2), Value::Null]).unwrap();
        j.finish(Status::Committed).unwrap();
        drop(j);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        let plan = restore(&path).unwrap();
        assert_eq!(plan.database, "OS_PREPROD");
        assert_eq!(plan.status, Some(Status::Committed));
        assert_eq!(plan.steps.len(), 1);
        assert_eq!(plan.steps[0].action, RestoreAction::Reinsert);
        assert_eq!(
            plan.steps[0].rows,
            vec![
                vec![Value::Int(1), Value::Bytes(vec![0, 255, 10])],
                vec![Value::Int(2), Value::Null]
            ]
        );
        assert!(
            Journal::create(&path, &target, None).is_err(),
            "never overwrites"
        );
    }

    /// A journal cut short by a killed process restores what it holds.
    #[test]
    fn truncated_journal_still_reads() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("x.jsonl");
        let target = Target {
            server: "s".into(),
            database: "d".into(),
            front_ends: vec![],
            front_end_list: None,
        };
        let mut j = Journal::create(&path, &target, None).unwrap();
        let c = change();
        j.change(&c).unwrap();
        j.row(&c.id, vec![Value::Int(1), Value::Null]).unwrap();
        j.sync().unwrap();
        drop(j);
        let mut text = std::fs::read_to_string(&path).unwrap();
        text.push_str("{\"entry\":\"row\",\"change\":\"servers\",\"val");
        std::fs::write(&path, text).unwrap();
        let plan = restore(&path).unwrap();
        assert_eq!(plan.status, None);
        assert_eq!(plan.steps[0].rows.len(), 1);
    }
}
