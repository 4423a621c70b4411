//! What a journal reads as: the restore plan, one step per journaled change (last first),
//! with its rows known by their place in the file, and what cannot be restored.

use std::path::PathBuf;

use super::read::Pages;
use super::{Error, Identities, JournalAction, Status};
use crate::change::ChangeId;
use crate::state::observed::{position_in, ColumnInfo, TableInfo, TableRef};
use crate::state::Value;

/// Whether a restore step inserts rows back or writes old values back.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RestoreAction {
    /// Insert the rows that are missing.
    Reinsert,
    /// Write the journaled values back.
    Revert,
    /// Delete the rows the apply inserted, where they still hold what it inserted.
    Remove,
}

/// One journaled row.
#[derive(Debug, Clone, PartialEq)]
pub struct JournaledRow {
    /// Every column, as it was before the change.
    pub values: Vec<Value>,
    /// For an update: what it wrote into each of the step's `set` columns (empty when the
    /// journal does not say, format 1).
    pub after: Vec<Value>,
    /// The row's declared name.
    pub label: Option<String>,
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
    /// The columns the change wrote (updates; empty when the journal does not say).
    pub set: Vec<String>,
    /// Rows held in memory: a page read from the journal, the sample a triage shows, or rows
    /// given whole. A step read from a journal holds none: its rows are read again a page at a
    /// time from `span` ([`RestorePlan::pages`]).
    pub rows: Vec<JournaledRow>,
    /// How many rows the step has (all of them, wherever they are).
    pub count: u64,
    /// Whether every row says what the change wrote into each of `set` (format 2 and later).
    pub written_known: bool,
    /// Where the rows are in the journal file, when they are read from it.
    pub span: Option<RowSpan>,
}

/// Where a journaled change's rows are in the journal file: after its change entry, up to the
/// next entry of another change. Read again a page at a time, every line checked again against
/// the chain from where the first read left it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RowSpan {
    /// Byte offset of the first line after the change entry.
    pub(super) start: u64,
    /// Byte offset just after the change's last row line.
    pub(super) end: u64,
    /// 1-based line number at `start`.
    pub(super) line: usize,
    /// The chain as it stood before `start`.
    pub(super) chain: super::chain::Chain,
}

impl RestoreStep {
    /// The table as the catalog described it when the rows were journaled.
    #[must_use]
    pub fn table_info(&self) -> TableInfo {
        TableInfo {
            table: self.table.clone(),
            columns: self.columns.clone(),
            primary_key: self.primary_key.clone(),
        }
    }

    /// `+` for rows inserted back, `~` for values written back, `-` for inserted rows taken out.
    #[must_use]
    pub fn action_symbol(&self) -> char {
        match self.action {
            RestoreAction::Reinsert => '+',
            RestoreAction::Revert => '~',
            RestoreAction::Remove => '-',
        }
    }

    /// Positions of the primary key columns.
    #[must_use]
    pub fn key_positions(&self) -> Vec<usize> {
        self.positions(&self.primary_key)
    }

    /// Positions of the columns a revert writes: those the change set, when the journal says
    /// which and has their written values for every row; otherwise every column but the key.
    #[must_use]
    pub fn written_positions(&self) -> Vec<usize> {
        if self.knows_written_values() {
            return self.positions(&self.set);
        }
        let key = self.key_positions();
        (0..self.columns.len())
            .filter(|i| !key.contains(i) && !self.columns[*i].identity)
            .collect()
    }

    /// Whether the journal says which columns the change set and what it wrote into each, for
    /// every row.
    #[must_use]
    pub fn knows_written_values(&self) -> bool {
        !self.set.is_empty() && self.written_known
    }

    /// The same step holding `rows` in memory, as a page of it.
    #[must_use]
    pub fn with_rows(&self, rows: Vec<JournaledRow>) -> RestoreStep {
        RestoreStep {
            change: self.change.clone(),
            action: self.action,
            table: self.table.clone(),
            columns: self.columns.clone(),
            primary_key: self.primary_key.clone(),
            set: self.set.clone(),
            count: rows.len() as u64,
            rows,
            written_known: self.written_known,
            span: None,
        }
    }

    fn positions(&self, names: &[String]) -> Vec<usize> {
        names
            .iter()
            .filter_map(|k| position_in(&self.columns, k))
            .collect()
    }

    /// The primary key values of a row, for display.
    #[must_use]
    pub fn key(&self, row: &[Value]) -> Vec<(String, Value)> {
        self.key_positions()
            .into_iter()
            .filter_map(|i| Some((self.columns[i].name.clone(), row.get(i)?.clone())))
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
    pub not_restorable: Vec<NotRestorable>,
    /// Personal-data changes whose rows cannot be read back, and why.
    pub personal: Vec<(ChangeId, String)>,
    /// Changes with sealed rows no identity opened (a subset of `personal`).
    pub sealed: Vec<ChangeId>,
    /// The journal file the steps' rows are read again from.
    pub path: PathBuf,
    /// Whether its lines are chained (format 3): read again, each is checked again.
    pub verified: bool,
    /// Only rows with one of these names are counted and read (`restore --label`; all when
    /// empty).
    pub labels: Vec<String>,
    /// Those of `labels` some journaled row has.
    pub labels_found: Vec<String>,
    /// The end marker's signature and what it covers, when the apply signed it.
    pub end_signature: Option<(super::EndSignature, Vec<u8>)>,
}

/// A `restore --resource` or `--label` that names nothing in the journal.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UnknownSelection {
    /// No journaled change has this id.
    #[error("the journal holds no change {id}; it holds: {}", .known.join(", "))]
    Resource {
        /// As given.
        id: String,
        /// The changes it holds rows of.
        known: Vec<String>,
    },
    /// No journaled row of the selected changes has this name.
    #[error("no journaled row is named {label:?} (names come from the resources' `label:`)")]
    Label {
        /// As given.
        label: String,
    },
}

impl RestorePlan {
    /// The same plan without its steps (a triage fills its own).
    #[must_use]
    pub fn without_steps(&self) -> RestorePlan {
        RestorePlan {
            server: self.server.clone(),
            database: self.database.clone(),
            source: self.source.clone(),
            status: self.status,
            steps: Vec::new(),
            not_restorable: self.not_restorable.clone(),
            personal: self.personal.clone(),
            sealed: self.sealed.clone(),
            path: self.path.clone(),
            verified: self.verified,
            labels: self.labels.clone(),
            labels_found: self.labels_found.clone(),
            end_signature: self.end_signature.clone(),
        }
    }

    /// Who signed the journal's end marker, checked against `trusted`: `None` when nothing
    /// is trusted (no check asked).
    ///
    /// # Errors
    /// Keys are trusted and the end marker is unsigned, or no trusted key's signature
    /// verifies over the chain and the ending.
    pub fn signed_by(
        &self,
        trusted: &[crate::signing::TrustedKey],
    ) -> Result<Option<String>, Error> {
        use base64::Engine as _;
        if trusted.is_empty() {
            return Ok(None);
        }
        let Some((signature, signed)) = &self.end_signature else {
            return Err(Error::Unsigned {
                path: self.path.clone(),
            });
        };
        let sig = base64::engine::general_purpose::STANDARD
            .decode(signature.sig.as_bytes())
            .unwrap_or_default();
        trusted
            .iter()
            .find(|k| k.verifies(signed, &sig))
            .map(|k| Some(k.keyid()))
            .ok_or_else(|| Error::BadSignature {
                path: self.path.clone(),
                keyid: signature.keyid.clone(),
            })
    }

    /// The changes whose rows are sealed and were not opened: restoring without them leaves
    /// those rows as the apply left them.
    #[must_use]
    pub fn sealed_unopened(&self) -> &[ChangeId] {
        &self.sealed
    }

    /// Keeps only the rows of the given changes (all when `resources` is empty) whose name is
    /// one of `labels` (any name when empty; compared case-insensitively).
    ///
    /// # Errors
    /// A resource or a name the journal does not hold: nothing would be restored for it, which
    /// is never what was meant.
    pub fn select(
        &mut self,
        resources: &[String],
        labels: &[String],
    ) -> Result<(), UnknownSelection> {
        for id in resources {
            if !self.steps.iter().any(|s| s.change.as_str() == id) {
                return Err(UnknownSelection::Resource {
                    id: id.clone(),
                    known: self.steps.iter().map(|s| s.change.to_string()).collect(),
                });
            }
        }
        if !resources.is_empty() {
            self.steps
                .retain(|s| resources.iter().any(|r| r == s.change.as_str()));
            self.not_restorable
                .retain(|n| resources.iter().any(|r| r == n.change.as_str()));
            self.personal
                .retain(|(c, _)| resources.iter().any(|r| r == c.as_str()));
            self.sealed
                .retain(|c| resources.iter().any(|r| r == c.as_str()));
        }
        for label in labels {
            if !self
                .labels_found
                .iter()
                .any(|l| l.eq_ignore_ascii_case(label))
            {
                return Err(UnknownSelection::Label {
                    label: label.clone(),
                });
            }
        }
        if !labels.is_empty() {
            self.not_restorable.clear();
        }
        self.steps.retain(|s| s.count > 0);
        Ok(())
    }

    /// The rows of `step` (a step of this plan), in journal order, `size` at a time, each page
    /// as a step holding its rows. Sealed rows are opened with `identities`.
    #[must_use]
    pub fn pages<'a>(
        &'a self,
        step: &'a RestoreStep,
        identities: Option<&'a Identities>,
        size: usize,
    ) -> Pages<'a> {
        Pages::new(self, step, identities, size)
    }
}

/// A change the journal cannot undo, and what to do by hand.
#[derive(Debug, Clone, PartialEq)]
pub struct NotRestorable {
    /// The change.
    pub change: ChangeId,
    /// What it did.
    pub action: JournalAction,
    /// The privileges it revoked, to grant again by hand.
    pub revoked: Vec<crate::state::observed::Grant>,
}
