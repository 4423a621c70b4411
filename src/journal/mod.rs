//! The journal: before a change runs, the whole rows it will delete or modify are appended to a
//! JSON-lines file and flushed to disk; `postclone restore JOURNAL` puts them back.
//!
//! A journal holds production's secrets (it is a copy of the rows removed), so it is created
//! readable by its owner only and never printed.
//!
//! For an update, each row also records the values the change writes and the row's declared
//! name: restore gives old values back only where a row still holds what the apply wrote, and
//! `restore --label` picks rows by name.

mod cell;
mod chain;
mod lines;
mod read;
mod restore_plan;
mod sealed;
mod triage;

use std::fs::{File, OpenOptions};
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

pub use cell::{Cell, InvalidCell};
pub use chain::ChainKey;
pub use read::{read, Pages, ReadOptions};
pub use restore_plan::{
    JournaledRow, NotRestorable, RestoreAction, RestorePlan, RestoreStep, RowSpan, UnknownSelection,
};
pub use sealed::{Identities, Recipients, SealError, IDENTITY_VARIABLE};
pub use triage::{LeftAlone, Reason, Triage};

use crate::change::{Change, ChangeId, ChangeKind};
use crate::state::observed::{ColumnInfo, TableRef, Target};
use crate::state::Value;

/// Where journals go when no path is given, relative to the working directory.
pub const DEFAULT_DIR: &str = ".postclone/journal";

/// The journal format version written in every header.
/// 2 added the written values and names of updated rows; 3 chains every line's digest (see
/// `chain`); 4 keys the chain with a secret the file does not hold. Older journals are read
/// only when the user accepts that they cannot be checked.
const FORMAT: u32 = 4;

/// The first format whose chain is keyed: format 3's plain SHA-256 chain can be recomputed by
/// whoever edits the file.
const KEYED_FORMAT: u32 = 4;

/// The first format whose every line carries a digest chained to the line before it: a
/// journal of this format or later without digests was altered, never written so.
const CHAINED_FORMAT: u32 = 3;

/// What a journaled change did to its rows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum JournalAction {
    /// Rows deleted: restored by inserting them again.
    Delete,
    /// Rows modified: restored by writing their old values back.
    Update,
    /// Rows inserted (a carry's missing rows), journaled as read back after the insert:
    /// restored by deleting them.
    Insert,
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
        /// The columns an update writes (empty for other changes, and in format 1).
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        set: Vec<String>,
        /// Personal data: how its rows are kept.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        personal: Option<PersonalRows>,
        /// Privileges the change revokes (its only record: no row holds them).
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        revoked: Vec<crate::state::observed::Grant>,
    },
    /// The rows of a personal-data change, encrypted to the spec's recipients.
    Sealed {
        /// The change.
        change: ChangeId,
        /// How many rows.
        rows: u64,
        /// The age message, base64: JSON lines of the rows.
        data: String,
    },
    /// A whole row of the last change, as it was before the change.
    Row {
        /// The change.
        change: ChangeId,
        /// Every column's value.
        values: Vec<Cell>,
        /// For an update: the values it writes into the `set` columns, in order.
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        after: Vec<Cell>,
        /// The row's name, when its resource declares `label:`.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        label: Option<String>,
    },
    /// Last line: how the apply ended.
    Status {
        /// Committed or rolled back.
        status: Status,
        /// Seconds since the Unix epoch.
        at: u64,
        /// With a signing key: who vouches for the journal (see [`end_signed`]).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        signature: Option<EndSignature>,
    },
}

/// The end marker's signature.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EndSignature {
    /// The signer's key fingerprint (`SHA256:...`).
    pub keyid: String,
    /// The Ed25519 signature, base64.
    pub sig: String,
}

/// What the end marker's signature covers: the chain's digest of every line before it (so
/// every line, through the chain) and how the apply ended.
#[must_use]
pub fn end_signed(chain_before: &str, status: Status, at: u64) -> Vec<u8> {
    format!(
        "postclone journal end\nchain {chain_before}\nstatus {}\nat {at}\n",
        match status {
            Status::Committed => "committed",
            Status::RolledBack => "rolled back",
        }
    )
    .into_bytes()
}

/// How a personal-data change's rows are kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PersonalRows {
    /// In a [`Entry::Sealed`] message, encrypted to the spec's recipients.
    Sealed,
    /// Not at all: the spec declares no recipients.
    NotJournaled,
}

/// A row as a change is about to touch it, read inside the apply's transaction.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RowImage {
    /// Every column, in the catalog's order, before the change.
    pub values: Vec<Value>,
    /// For an update: the value it writes into each column it sets, in order.
    pub after: Vec<Value>,
    /// The row's name, when its resource declares `label:`.
    pub label: Option<String>,
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
    /// Personal rows could not be sealed.
    #[error("cannot seal personal rows into the journal {}", path.display())]
    Seal {
        /// The file.
        path: PathBuf,
        /// Why.
        #[source]
        source: SealError,
    },
    /// A line is not what postclone wrote there.
    #[error("{}:{line}: the journal was altered after it was written (the line's digest does not follow from the lines before it: edited, added, removed or moved); nothing was restored", path.display())]
    Altered {
        /// The file.
        path: PathBuf,
        /// 1-based line.
        line: usize,
    },
    /// The journal has no end marker.
    #[error("{} ends before its apply did (no end marker{}): the apply was interrupted, or the file was cut; nothing was restored. If the apply committed before it was interrupted, restore what the journal holds with --incomplete", path.display(), if *cut { "; its last line is cut" } else { "" })]
    Incomplete {
        /// The file.
        path: PathBuf,
        /// The last line is cut.
        cut: bool,
    },
    /// The journal predates keyed line digests.
    #[error("{} was written by an older postclone (format {format}): {}; nothing was restored. Restore it anyway with --unverified", path.display(), if *format >= CHAINED_FORMAT { "its lines are chained with plain SHA-256, which whoever edits it can recompute, so an edit cannot be told apart" } else { "its lines carry no digest, so whether it was altered cannot be checked" })]
    Unverified {
        /// The file.
        path: PathBuf,
        /// Its format.
        format: u32,
    },
    /// A journal whose header names a format with chained lines, and whose lines carry no
    /// digest.
    #[error("{} says it was written in format {format}, whose every line carries a digest, but its lines carry none: the digests were taken out, so the journal was altered; nothing was restored (--unverified is only for journals of format 2 and older, written before lines were chained)", path.display())]
    DigestsRemoved {
        /// The file.
        path: PathBuf,
        /// The format its header names.
        format: u32,
    },
    /// A journal with a keyed chain, read without the key.
    #[error("{} is chained with a key derived from the plan key of the apply that wrote it, and no plan key is set here; nothing was restored. Set POSTCLONE_PLAN_KEY (or the plan key file) as the applying job had it", path.display())]
    NoChainKey {
        /// The file.
        path: PathBuf,
    },
    /// Signers are trusted, and the journal's end marker is not signed.
    #[error("{} is not signed, and this restore trusts only journals its signers signed (--signer, or the spec's trust.signers); nothing was restored", path.display())]
    Unsigned {
        /// The file.
        path: PathBuf,
    },
    /// The end marker's signature does not verify with a trusted key.
    #[error("{}'s end marker is signed by {keyid}, and no trusted key's signature verifies over its lines: altered since it was signed, or signed by a key this restore does not trust; nothing was restored", path.display())]
    BadSignature {
        /// The file.
        path: PathBuf,
        /// The key id the signature names.
        keyid: String,
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
    recipients: Recipients,
    /// The rows of the personal-data change being journaled, sealed when it ends.
    personal: Option<(ChangeId, Vec<RowImage>)>,
    /// The digest of the last line written.
    chain: chain::Chain,
    /// The key the end marker is signed with, if any.
    signer: Option<crate::signing::SigningKey>,
}

fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// `2026-12-02T181733.188775952Z`: ISO 8601 in UTC without colons (which some file systems
/// refuse), to the nanosecond so that two applies never pick the same name.
fn file_time(at: std::time::SystemTime) -> String {
    let since = at.duration_since(std::time::UNIX_EPOCH).unwrap_or_default();
    i64::try_from(since.as_secs())
        .ok()
        .and_then(|s| chrono::DateTime::<chrono::Utc>::from_timestamp(s, since.subsec_nanos()))
        .map_or_else(
            || format!("{}", since.as_nanos()),
            |t| t.format("%Y-%m-%dT%H%M%S%.9fZ").to_string(),
        )
}

impl Journal {
    /// A fresh file name in `dir` for an apply on `target`: the database and the UTC time, which
    /// sort in the order the applies ran (`OS_PREPROD-2026-12-02T181733.188775952Z.jsonl`).
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
        dir.join(format!(
            "{database}-{}.jsonl",
            file_time(std::time::SystemTime::now())
        ))
    }

    /// Creates the journal (never overwriting one), readable by its owner only, and writes its
    /// header.
    ///
    /// # Errors
    /// The file cannot be created or written.
    pub fn create(
        path: &Path,
        target: &Target,
        source: Option<&Path>,
        recipients: Recipients,
        key: ChainKey,
    ) -> Result<Journal, Error> {
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
            recipients,
            personal: None,
            chain: chain::Chain::keyed(key),
            signer: None,
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
        let json = serde_json::to_string(entry).map_err(|e| fail(e.into()))?;
        let line = self.chain.link(&json);
        self.out.write_all(line.as_bytes()).map_err(fail)?;
        self.out.write_all(b"\n").map_err(fail)
    }

    /// Records that `change` is about to run; its rows follow. The rows of a personal-data
    /// change are kept back and sealed by [`Journal::end_change`] (or, with no recipients, not
    /// journaled at all).
    ///
    /// # Errors
    /// The journal cannot be written.
    pub fn change(&mut self, change: &Change) -> Result<(), Error> {
        // Personal rows are sealed or not journaled at all; rows that may hold secrets are
        // sealed when there is a recipient to seal them to.
        let sealed = change.personal || (change.sealed && !self.recipients.is_empty());
        self.personal = sealed.then(|| (change.id.clone(), Vec::new()));
        let action = match change.kind {
            ChangeKind::DeleteRows { .. } | ChangeKind::EmptyTable { .. } => JournalAction::Delete,
            ChangeKind::SetColumns { .. } => JournalAction::Update,
            ChangeKind::InsertRows { .. } => JournalAction::Insert,
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
            set: match &change.kind {
                ChangeKind::SetColumns { assignments, .. } => {
                    assignments.iter().map(|a| a.column.clone()).collect()
                }
                _ => Vec::new(),
            },
            personal: sealed.then_some(if self.recipients.is_empty() {
                PersonalRows::NotJournaled
            } else {
                PersonalRows::Sealed
            }),
            revoked: match &change.kind {
                ChangeKind::RevokeGrants { grants } => grants.clone(),
                _ => Vec::new(),
            },
        })
    }

    /// Ends a change's rows: a personal-data change's rows not yet sealed are written now, as
    /// one message encrypted to the recipients.
    ///
    /// # Errors
    /// The rows cannot be encrypted, or the journal cannot be written.
    pub fn end_change(&mut self) -> Result<(), Error> {
        self.seal_held()?;
        self.personal = None;
        Ok(())
    }

    /// Writes the personal-data rows held so far as one message encrypted to the recipients,
    /// and holds none: a change written a page at a time seals each page, so that its rows are
    /// never all in memory. A change may so have several sealed messages; restore reads them
    /// all.
    ///
    /// # Errors
    /// The rows cannot be encrypted, or the journal cannot be written.
    pub fn seal_held(&mut self) -> Result<(), Error> {
        let Some((change, rows)) = self.personal.as_mut() else {
            return Ok(());
        };
        if self.recipients.is_empty() || rows.is_empty() {
            return Ok(());
        }
        let rows = std::mem::take(rows);
        let change = change.clone();
        let data = self.recipients.seal(&rows).map_err(|source| Error::Seal {
            path: self.path.clone(),
            source,
        })?;
        self.write(&Entry::Sealed {
            change,
            rows: rows.len() as u64,
            data,
        })
    }

    /// Appends one row of `change` as it is before the change.
    ///
    /// # Errors
    /// The journal cannot be written.
    pub fn row(&mut self, change: &ChangeId, row: RowImage) -> Result<(), Error> {
        if let Some((_, rows)) = &mut self.personal {
            if !self.recipients.is_empty() {
                rows.push(row);
            }
            return Ok(());
        }
        self.write(&Entry::Row {
            change: change.clone(),
            values: row.values.into_iter().map(Cell::from).collect(),
            after: row.after.into_iter().map(Cell::from).collect(),
            label: row.label,
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
        use base64::Engine as _;
        let at = now();
        let signature = self.signer.as_ref().map(|key| EndSignature {
            keyid: key.public().keyid(),
            sig: base64::engine::general_purpose::STANDARD.encode(key.sign(&end_signed(
                &self.chain.last_hex(),
                status,
                at,
            ))),
        });
        self.write(&Entry::Status {
            status,
            at,
            signature,
        })?;
        self.sync()
    }

    /// Signs the end marker with `key` when the apply ends.
    pub fn sign_with(&mut self, key: crate::signing::SigningKey) {
        self.signer = Some(key);
    }
}

#[cfg(test)]
mod tests;
