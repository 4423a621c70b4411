//! Reading a journal back: the plan that puts its rows back, last change first, optionally
//! narrowed to some changes and some named rows.

use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};

use super::chain::Broken;
use super::{Entry, Error, Identities, JournalAction, PersonalRows, Status};
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
    /// The rows, as they were.
    pub rows: Vec<JournaledRow>,
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

    /// `+` for rows inserted back, `~` for values written back.
    #[must_use]
    pub fn action_symbol(&self) -> char {
        match self.action {
            RestoreAction::Reinsert => '+',
            RestoreAction::Revert => '~',
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
        !self.set.is_empty() && self.rows.iter().all(|r| r.after.len() == self.set.len())
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
    pub not_restorable: Vec<(ChangeId, JournalAction)>,
    /// Personal-data changes whose rows cannot be read back, and why.
    pub personal: Vec<(ChangeId, String)>,
    /// Changes with sealed rows no identity opened (a subset of `personal`).
    pub sealed: Vec<ChangeId>,
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
                .retain(|(c, _)| resources.iter().any(|r| r == c.as_str()));
            self.personal
                .retain(|(c, _)| resources.iter().any(|r| r == c.as_str()));
            self.sealed
                .retain(|c| resources.iter().any(|r| r == c.as_str()));
        }
        if labels.is_empty() {
            return Ok(());
        }
        let wanted = |row: &JournaledRow| {
            row.label
                .as_deref()
                .is_some_and(|l| labels.iter().any(|w| w.eq_ignore_ascii_case(l)))
        };
        for label in labels {
            let found = self.steps.iter().flat_map(|s| &s.rows).any(|r| {
                r.label
                    .as_deref()
                    .is_some_and(|l| l.eq_ignore_ascii_case(label))
            });
            if !found {
                return Err(UnknownSelection::Label {
                    label: label.clone(),
                });
            }
        }
        for step in &mut self.steps {
            step.rows.retain(|r| wanted(r));
        }
        self.steps.retain(|s| !s.rows.is_empty());
        self.not_restorable.clear();
        Ok(())
    }
}

/// What a restore accepts of a journal that cannot be fully trusted. By default nothing: every
/// line must follow from the one before it, and the journal must end with its end marker.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ReadOptions {
    /// Accept a journal without its end marker (an apply interrupted after its commit): every
    /// whole line it holds is still checked; a cut last line is left out.
    pub incomplete: bool,
    /// Accept a journal written before lines were chained (format 2 and older).
    pub unverified: bool,
}

/// Reads a journal into the plan that puts its rows back, last change first. Personal rows
/// are read with `identities` (those of `journal.recipients`); without them, their changes are
/// listed as not restorable here.
///
/// # Guarantees
/// Every line is checked against the chain of digests before the plan is returned: a journal
/// altered after it was written, or without its end marker, gives an error (unless `options`
/// accept it), never a partial plan.
///
/// # Errors
/// The journal cannot be read, is not a journal, was altered, is incomplete, or holds sealed
/// rows the identities cannot open.
pub fn read(
    path: &Path,
    identities: Option<&Identities>,
    options: ReadOptions,
) -> Result<RestorePlan, Error> {
    let file = crate::files::open_regular(path).map_err(|source| Error::Read {
        path: path.to_path_buf(),
        source,
    })?;
    let mut reader = Reader {
        path,
        identities,
        plan: None,
        steps: Vec::new(),
    };
    let mut chain = super::chain::Chain::default();
    let mut verified = true;
    let mut lines = Lines(BufReader::new(file)).enumerate().peekable();
    while let Some((i, line)) = lines.next() {
        let line = line.map_err(|source| Error::Read {
            path: path.to_path_buf(),
            source,
        })?;
        let last = lines.peek().is_none();
        if line.trim().is_empty() {
            continue;
        }
        let json = match chain.check(&line) {
            Ok(json) => json,
            Err(Broken::Missing) if i == 0 => {
                verified = false;
                line
            }
            Err(_) if !verified => line,
            // An apply killed while writing leaves a partial last line.
            Err(_) if last && serde_json::from_str::<serde_json::Value>(&line).is_err() => {
                return incomplete(path, options, reader, true);
            }
            Err(_) => {
                return Err(Error::Altered {
                    path: path.to_path_buf(),
                    line: i + 1,
                })
            }
        };
        let entry: Entry = match serde_json::from_str(&json) {
            Ok(entry) => entry,
            Err(_) if !verified && last && reader.plan.is_some() => break,
            Err(e) => return Err(reader.invalid(i + 1, e.to_string())),
        };
        if i == 0 && !verified && !options.unverified {
            let format = match entry {
                Entry::Header { format, .. } => format,
                _ => 0,
            };
            return Err(Error::Unverified {
                path: path.to_path_buf(),
                format,
            });
        }
        if reader.plan.as_ref().is_some_and(|p| p.status.is_some()) {
            return Err(reader.invalid(i + 1, "an entry after the end marker".into()));
        }
        reader.entry(i + 1, entry)?;
    }
    if reader.plan.as_ref().is_some_and(|p| p.status.is_none()) {
        return incomplete(path, options, reader, false);
    }
    finish(path, reader)
}

/// A journal that ends before its end marker: refused, or read as it is when accepted.
fn incomplete(
    path: &Path,
    options: ReadOptions,
    reader: Reader<'_>,
    cut: bool,
) -> Result<RestorePlan, Error> {
    if options.incomplete {
        finish(path, reader)
    } else {
        Err(Error::Incomplete {
            path: path.to_path_buf(),
            cut,
        })
    }
}

fn finish(path: &Path, reader: Reader<'_>) -> Result<RestorePlan, Error> {
    let mut plan = reader.plan.ok_or_else(|| Error::Invalid {
        path: path.to_path_buf(),
        line: 1,
        message: "the journal is empty".into(),
    })?;
    let mut steps = reader.steps;
    steps.retain(|s| !s.rows.is_empty());
    steps.reverse();
    plan.steps = steps;
    Ok(plan)
}

/// The longest journal line read: a page of sealed rows is one line. Anything longer is not a
/// journal postclone wrote (`/dev/zero` would be read forever).
const MAX_LINE: u64 = 512 * 1024 * 1024;

/// The lines of a journal, each at most [`MAX_LINE`] bytes.
struct Lines<R>(R);

impl<R: BufRead> Iterator for Lines<R> {
    type Item = std::io::Result<String>;

    fn next(&mut self) -> Option<Self::Item> {
        let mut bytes = Vec::new();
        match (&mut self.0)
            .take(MAX_LINE + 1)
            .read_until(b'\n', &mut bytes)
        {
            Ok(0) => None,
            Ok(_) if bytes.len() as u64 > MAX_LINE => Some(Err(std::io::Error::new(
                std::io::ErrorKind::InvalidData,
                "a line longer than 512 MiB: not a journal",
            ))),
            Ok(_) => {
                if bytes.last() == Some(&b'\n') {
                    bytes.pop();
                }
                Some(String::from_utf8(bytes).map_err(|e| {
                    std::io::Error::new(std::io::ErrorKind::InvalidData, e.to_string())
                }))
            }
            Err(e) => Some(Err(e)),
        }
    }
}

/// A journal being read, entry by entry.
struct Reader<'a> {
    path: &'a Path,
    identities: Option<&'a Identities>,
    /// From the header on.
    plan: Option<RestorePlan>,
    /// The restorable changes so far, in journal order.
    steps: Vec<RestoreStep>,
}

impl Reader<'_> {
    fn invalid(&self, line: usize, message: String) -> Error {
        Error::Invalid {
            path: self.path.to_path_buf(),
            line,
            message,
        }
    }

    /// Takes in the entry at `line`.
    fn entry(&mut self, line: usize, entry: Entry) -> Result<(), Error> {
        let Some(plan) = self.plan.as_mut() else {
            let Entry::Header {
                server,
                database,
                source,
                ..
            } = entry
            else {
                return Err(self.invalid(line, "the first line is not a journal header".into()));
            };
            self.plan = Some(RestorePlan {
                server,
                database,
                source,
                status: None,
                steps: Vec::new(),
                not_restorable: Vec::new(),
                personal: Vec::new(),
                sealed: Vec::new(),
            });
            return Ok(());
        };
        match entry {
            Entry::Header { .. } => return Err(self.invalid(line, "a second header".into())),
            Entry::Change {
                change,
                action,
                table,
                columns,
                primary_key,
                set,
                personal,
            } => match (action, table) {
                _ if personal == Some(PersonalRows::NotJournaled) => {
                    let columns = if set.is_empty() {
                        "its deleted rows".to_string()
                    } else {
                        set.join(", ")
                    };
                    plan.personal.push((
                        change,
                        format!("{columns}: personal data, not journaled (the spec declares no journal.recipients)"),
                    ));
                }
                (JournalAction::Delete | JournalAction::Update, Some(table)) => {
                    self.steps.push(RestoreStep {
                        change,
                        action: if action == JournalAction::Delete {
                            RestoreAction::Reinsert
                        } else {
                            RestoreAction::Revert
                        },
                        table,
                        // How long the longest value was when the apply read the catalog says
                        // nothing of the rows now: the apply (and anything after it) wrote
                        // others. Restore reads every value whole.
                        columns: columns
                            .into_iter()
                            .map(|c| ColumnInfo { widest: None, ..c })
                            .collect(),
                        primary_key,
                        set,
                        rows: Vec::new(),
                    });
                }
                (action, _) => plan.not_restorable.push((change, action)),
            },
            Entry::Row {
                change,
                values,
                after,
                label,
            } => self.row(line, &change, values, after, label)?,
            Entry::Sealed { change, data, .. } => self.sealed(line, change, &data)?,
            Entry::Status { status, .. } => plan.status = Some(status),
        }
        Ok(())
    }

    /// A whole row of the last change.
    fn row(
        &mut self,
        line: usize,
        change: &ChangeId,
        values: Vec<super::Cell>,
        after: Vec<super::Cell>,
        label: Option<String>,
    ) -> Result<(), Error> {
        let cells = |cells: Vec<super::Cell>| {
            cells
                .into_iter()
                .map(Value::try_from)
                .collect::<Result<Vec<_>, _>>()
                .map_err(|e| self.invalid(line, e.to_string()))
        };
        let values = cells(values)?;
        let after = cells(after)?;
        let Some(step) = self.steps.last_mut().filter(|s| s.change == *change) else {
            return Err(self.invalid(line, format!("a row of {change} outside its change")));
        };
        if values.len() != step.columns.len() {
            return Err(self.invalid(line, "a row with the wrong number of values".into()));
        }
        if !after.is_empty() && after.len() != step.set.len() {
            return Err(self.invalid(line, "a row with the wrong number of written values".into()));
        }
        step.rows.push(JournaledRow {
            values,
            after,
            label,
        });
        Ok(())
    }

    /// Sealed rows of a personal-data change: opened with the identities, or the change listed
    /// as not restorable here. A change written a page at a time has one message per page.
    fn sealed(&mut self, line: usize, change: ChangeId, data: &str) -> Result<(), Error> {
        let Some(at) = self.steps.iter().rposition(|s| s.change == change) else {
            return Err(self.invalid(line, format!("sealed rows of {change} outside its change")));
        };
        match self.identities {
            Some(ids) => {
                let rows = ids.open(data).map_err(|source| Error::Seal {
                    path: self.path.to_path_buf(),
                    source,
                })?;
                self.steps[at].rows.extend(rows);
            }
            None => {
                let Some(plan) = self.plan.as_mut() else {
                    return Ok(());
                };
                if !plan.personal.iter().any(|(c, _)| *c == change) {
                    plan.sealed.push(change.clone());
                    plan.personal.push((
                        change,
                        "personal data, journaled encrypted: pass --identity FILE (an identity of journal.recipients)".into(),
                    ));
                }
            }
        }
        Ok(())
    }
}
