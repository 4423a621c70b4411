//! Reading a journal back: the plan that puts its rows back, last change first, optionally
//! narrowed to some changes and some named rows.

use std::io::BufReader;
use std::path::Path;

use super::chain::Broken;
use super::lines::Lines;
use super::restore_plan::{
    JournaledRow, NotRestorable, RestoreAction, RestorePlan, RestoreStep, RowSpan,
};
use super::{Entry, Error, Identities, JournalAction, PersonalRows};
use crate::change::ChangeId;
use crate::state::Value;

/// The rows of one journaled change, read again from the journal a page at a time
/// ([`RestorePlan::pages`]): only one page (and one sealed message) is held.
pub struct Pages<'a> {
    plan: &'a RestorePlan,
    step: &'a RestoreStep,
    identities: Option<&'a Identities>,
    size: usize,
    /// Rows of `step.rows` already given, for a step that holds its rows.
    inline: usize,
    file: Option<SpanReader>,
    /// Rows of a sealed message not given yet.
    pending: std::collections::VecDeque<JournaledRow>,
    failed: bool,
}

/// Reading a span of the journal file again.
struct SpanReader {
    lines: Lines<BufReader<std::fs::File>>,
    chain: super::chain::Chain,
    end: u64,
    line: usize,
}

impl<'a> Pages<'a> {
    /// The rows of `step`, `size` at a time (see [`RestorePlan::pages`]).
    pub(super) fn new(
        plan: &'a RestorePlan,
        step: &'a RestoreStep,
        identities: Option<&'a Identities>,
        size: usize,
    ) -> Pages<'a> {
        Pages {
            plan,
            step,
            identities,
            size: size.max(1),
            inline: 0,
            file: None,
            pending: std::collections::VecDeque::new(),
            failed: false,
        }
    }

    fn wanted(&self, row: &JournaledRow) -> bool {
        self.plan.labels.is_empty()
            || row
                .label
                .as_deref()
                .is_some_and(|l| self.plan.labels.iter().any(|w| w.eq_ignore_ascii_case(l)))
    }

    fn invalid(&self, line: usize, message: String) -> Error {
        Error::Invalid {
            path: self.plan.path.clone(),
            line,
            message,
        }
    }

    /// A row line's values, checked against the step's columns.
    fn journaled_row(
        &self,
        at: usize,
        (values, after): (Vec<super::cell::Cell>, Vec<super::cell::Cell>),
        label: Option<String>,
    ) -> Result<JournaledRow, Error> {
        let row = JournaledRow {
            values: cells(values).map_err(|m| self.invalid(at, m))?,
            after: cells(after).map_err(|m| self.invalid(at, m))?,
            label,
        };
        if row.values.len() == self.step.columns.len() {
            Ok(row)
        } else {
            Err(self.invalid(at, "a row with the wrong number of values".into()))
        }
    }

    /// Opens a sealed message of the step's rows and queues those wanted.
    fn open_sealed(&mut self, data: &str) -> Result<(), Error> {
        let path = &self.plan.path;
        let Some(ids) = self.identities else {
            return Err(Error::Seal {
                path: path.clone(),
                source: super::SealError::Decrypt(
                    "sealed rows and no identity to open them".into(),
                ),
            });
        };
        let rows = ids.open(data).map_err(|source| Error::Seal {
            path: path.clone(),
            source,
        })?;
        let wanted: Vec<JournaledRow> = rows.into_iter().filter(|r| self.wanted(r)).collect();
        self.pending.extend(wanted);
        Ok(())
    }

    /// The next row of the span, or `None` at its end.
    fn next_row(&mut self) -> Result<Option<JournaledRow>, Error> {
        loop {
            if let Some(row) = self.pending.pop_front() {
                return Ok(Some(row));
            }
            let Some(span) = &self.step.span else {
                return Ok(None);
            };
            let path = &self.plan.path;
            let reader = match &mut self.file {
                Some(reader) => reader,
                None => {
                    use std::io::{Seek, SeekFrom};
                    let read = |source| Error::Read {
                        path: path.clone(),
                        source,
                    };
                    let mut file = crate::files::open_regular(path).map_err(read)?;
                    file.seek(SeekFrom::Start(span.start)).map_err(read)?;
                    self.file.insert(SpanReader {
                        lines: Lines {
                            reader: BufReader::new(file),
                            offset: span.start,
                        },
                        chain: span.chain.clone(),
                        end: span.end,
                        line: span.line,
                    })
                }
            };
            if reader.lines.offset >= reader.end {
                return Ok(None);
            }
            let at = reader.line;
            reader.line += 1;
            let text = match reader.lines.next() {
                Some(Ok(text)) => text,
                Some(Err(source)) => {
                    return Err(Error::Read {
                        path: path.clone(),
                        source,
                    })
                }
                None => {
                    return Err(self.invalid(
                        at,
                        "the journal is shorter than when it was first read".into(),
                    ))
                }
            };
            if text.trim().is_empty() {
                continue;
            }
            let json = if self.plan.verified {
                reader.chain.check(&text).map_err(|_| Error::Altered {
                    path: path.clone(),
                    line: at,
                })?
            } else {
                text
            };
            let entry: Entry = serde_json::from_str(&json)
                .map_err(|e| self.invalid(at, crate::files::json_problem(&e)))?;
            match entry {
                Entry::Row {
                    change,
                    values,
                    after,
                    label,
                } if change == self.step.change => {
                    let row = self.journaled_row(at, (values, after), label)?;
                    if self.wanted(&row) {
                        return Ok(Some(row));
                    }
                }
                Entry::Sealed { change, data, .. } if change == self.step.change => {
                    self.open_sealed(&data)?;
                }
                _ => {
                    return Err(self.invalid(
                        at,
                        format!(
                            "not a row of {} where one was read before",
                            self.step.change
                        ),
                    ))
                }
            }
        }
    }
}

impl Iterator for Pages<'_> {
    type Item = Result<RestoreStep, Error>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.failed {
            return None;
        }
        if self.step.span.is_none() {
            let rows: Vec<JournaledRow> = self
                .step
                .rows
                .iter()
                .skip(self.inline)
                .take(self.size)
                .cloned()
                .collect();
            self.inline += rows.len();
            return (!rows.is_empty()).then(|| Ok(self.step.with_rows(rows)));
        }
        let mut rows = Vec::with_capacity(self.size.min(4_096));
        while rows.len() < self.size {
            match self.next_row() {
                Ok(Some(row)) => rows.push(row),
                Ok(None) => break,
                Err(e) => {
                    self.failed = true;
                    return Some(Err(e));
                }
            }
        }
        (!rows.is_empty()).then(|| Ok(self.step.with_rows(rows)))
    }
}

/// Journal cells as values; the message says which cell is not one.
fn cells(cells: Vec<super::Cell>) -> Result<Vec<Value>, String> {
    cells
        .into_iter()
        .map(Value::try_from)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| e.to_string())
}

/// The format a journal's first line says it was written in, read before its chain is
/// checked (to know which chain to check it with); `None` when it is no header.
fn header_format(line: &str) -> Option<u32> {
    let value: serde_json::Value = serde_json::from_str(line).ok()?;
    if value.get("entry")?.as_str()? != "header" {
        return None;
    }
    u32::try_from(value.get("format")?.as_u64()?).ok()
}

/// What a restore accepts of a journal that cannot be fully trusted. By default nothing: every
/// line must follow from the one before it, and the journal must end with its end marker.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ReadOptions {
    /// Accept a journal without its end marker (an apply interrupted after its commit): every
    /// whole line it holds is still checked; a cut last line is left out.
    pub incomplete: bool,
    /// Accept a journal whose lines cannot be checked: written before lines were chained
    /// (format 2 and older), or chained with plain SHA-256 (format 3).
    pub unverified: bool,
    /// The key the chain of a format 4 journal is made with (from the plan key).
    pub key: Option<super::ChainKey>,
}

/// Reads a journal into the plan that puts its rows back, last change first: each change with
/// where its rows are and how many (those named one of `labels`, or all), never the rows
/// themselves, which [`RestorePlan::pages`] reads again a page at a time. Personal rows are
/// opened with `identities` (those of `journal.recipients`) to be checked and counted; without
/// them, their changes are listed as not restorable here.
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
    labels: &[String],
) -> Result<RestorePlan, Error> {
    let file = crate::files::open_regular(path).map_err(|source| Error::Read {
        path: path.to_path_buf(),
        source,
    })?;
    let mut reader = Reader {
        path,
        identities,
        labels,
        plan: None,
        steps: Vec::new(),
        chain_before: String::new(),
    };
    let mut chain = super::chain::Chain::default();
    let mut verified = true;
    let mut lines = Lines {
        reader: BufReader::new(file),
        offset: 0,
    }
    .enumerate()
    .peekable();
    while let Some((i, line)) = lines.next() {
        let line = line.map_err(|source| Error::Read {
            path: path.to_path_buf(),
            source,
        })?;
        let end = line.1;
        let line = line.0;
        let last = lines.peek().is_none();
        if line.trim().is_empty() {
            continue;
        }
        // The header says which chain its lines are made with; a keyed one needs its key.
        if i == 0 && header_format(&line) >= Some(super::KEYED_FORMAT) {
            let key = options.key.ok_or_else(|| Error::NoChainKey {
                path: path.to_path_buf(),
            })?;
            chain = super::chain::Chain::keyed(key);
        }
        reader.chain_before = chain.last_hex();
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
            Err(e) => return Err(reader.invalid(i + 1, crate::files::json_problem(&e))),
        };
        let format = match entry {
            Entry::Header { format, .. } if i == 0 => format,
            _ => 0,
        };
        // A plain chain anyone can recompute: checked, but no proof against an edit.
        if i == 0 && verified && format < super::KEYED_FORMAT && !options.unverified {
            return Err(Error::Unverified {
                path: path.to_path_buf(),
                format,
            });
        }
        if i == 0 && !verified {
            // A format that chains its lines, without digests: they were taken out, and
            // nothing can make such a journal trustworthy again.
            if format >= super::CHAINED_FORMAT {
                return Err(Error::DigestsRemoved {
                    path: path.to_path_buf(),
                    format,
                });
            }
            if !options.unverified {
                return Err(Error::Unverified {
                    path: path.to_path_buf(),
                    format,
                });
            }
        }
        if reader.plan.as_ref().is_some_and(|p| p.status.is_some()) {
            return Err(reader.invalid(i + 1, "an entry after the end marker".into()));
        }
        reader.entry(i + 1, entry, end, &chain)?;
        if let Some(plan) = reader.plan.as_mut() {
            plan.verified = verified;
        }
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
    steps.retain(|s| s.count > 0);
    steps.reverse();
    plan.steps = steps;
    Ok(plan)
}

/// A journal being read, entry by entry.
struct Reader<'a> {
    path: &'a Path,
    identities: Option<&'a Identities>,
    /// Only rows with one of these names are counted (all when empty).
    labels: &'a [String],
    /// From the header on.
    plan: Option<RestorePlan>,
    /// The restorable changes so far, in journal order.
    steps: Vec<RestoreStep>,
    /// The chain's digest before the line being read (what an end marker's signature covers).
    chain_before: String,
}

impl Reader<'_> {
    fn invalid(&self, line: usize, message: String) -> Error {
        Error::Invalid {
            path: self.path.to_path_buf(),
            line,
            message,
        }
    }

    /// Whether a row is one the restore is asked for; a name asked for is recorded as found.
    fn wanted(&mut self, row: &JournaledRow) -> bool {
        if self.labels.is_empty() {
            return true;
        }
        let Some(label) = row.label.as_deref() else {
            return false;
        };
        let Some(asked) = self.labels.iter().find(|w| w.eq_ignore_ascii_case(label)) else {
            return false;
        };
        if let Some(plan) = self.plan.as_mut() {
            if !plan.labels_found.contains(asked) {
                plan.labels_found.push(asked.clone());
            }
        }
        true
    }

    /// Takes in the entry at `line`, which ends at byte `end`; `chain` stands after it.
    /// The first line: the journal's header, the plan's start.
    fn header(&mut self, line: usize, entry: Entry) -> Result<(), Error> {
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
            path: self.path.to_path_buf(),
            verified: true,
            labels: self.labels.to_vec(),
            labels_found: Vec::new(),
            end_signature: None,
        });
        Ok(())
    }

    fn entry(
        &mut self,
        line: usize,
        entry: Entry,
        end: u64,
        chain: &super::chain::Chain,
    ) -> Result<(), Error> {
        let Some(plan) = self.plan.as_mut() else {
            return self.header(line, entry);
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
                revoked,
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
                (
                    JournalAction::Delete | JournalAction::Update | JournalAction::Insert,
                    Some(table),
                ) => {
                    self.steps.push(RestoreStep {
                        change,
                        action: match action {
                            JournalAction::Delete => RestoreAction::Reinsert,
                            JournalAction::Insert => RestoreAction::Remove,
                            _ => RestoreAction::Revert,
                        },
                        table,
                        columns,
                        primary_key,
                        set,
                        rows: Vec::new(),
                        count: 0,
                        written_known: true,
                        span: Some(RowSpan {
                            start: end,
                            end,
                            line: line + 1,
                            chain: chain.clone(),
                        }),
                    });
                }
                (action, _) => plan.not_restorable.push(NotRestorable {
                    change,
                    action,
                    revoked,
                }),
            },
            Entry::Row {
                change,
                values,
                after,
                label,
            } => self.row(line, &change, values, after, label, end)?,
            Entry::Sealed { change, data, .. } => self.sealed(line, change, &data, end)?,
            Entry::Status {
                status,
                at,
                signature,
            } => {
                plan.status = Some(status);
                plan.end_signature = signature.map(|s| {
                    let signed = super::end_signed(&self.chain_before, status, at);
                    (s, signed)
                });
            }
        }
        Ok(())
    }

    /// A whole row of the last change: checked and counted, not kept.
    fn row(
        &mut self,
        line: usize,
        change: &ChangeId,
        values: Vec<super::Cell>,
        after: Vec<super::Cell>,
        label: Option<String>,
        end: u64,
    ) -> Result<(), Error> {
        let values = cells(values).map_err(|m| self.invalid(line, m))?;
        let after = cells(after).map_err(|m| self.invalid(line, m))?;
        let row = JournaledRow {
            values,
            after,
            label,
        };
        let wanted = self.wanted(&row);
        let Some(step) = self.steps.last_mut().filter(|s| s.change == *change) else {
            return Err(self.invalid(line, format!("a row of {change} outside its change")));
        };
        if row.values.len() != step.columns.len() {
            return Err(self.invalid(line, "a row with the wrong number of values".into()));
        }
        if !row.after.is_empty() && row.after.len() != step.set.len() {
            return Err(self.invalid(line, "a row with the wrong number of written values".into()));
        }
        take_row(step, &row, wanted, end);
        Ok(())
    }

    /// Sealed rows of a personal-data change: opened with the identities (checked and
    /// counted, not kept), or the change listed as not restorable here. A change written a page
    /// at a time has one message per page.
    fn sealed(&mut self, line: usize, change: ChangeId, data: &str, end: u64) -> Result<(), Error> {
        let Some(at) = self.steps.iter().rposition(|s| s.change == change) else {
            return Err(self.invalid(line, format!("sealed rows of {change} outside its change")));
        };
        if at + 1 != self.steps.len() {
            return Err(self.invalid(
                line,
                format!("sealed rows of {change} after another change"),
            ));
        }
        match self.identities {
            Some(ids) => {
                let rows = ids.open(data).map_err(|source| Error::Seal {
                    path: self.path.to_path_buf(),
                    source,
                })?;
                for row in rows {
                    let wanted = self.wanted(&row);
                    let step = &mut self.steps[at];
                    if row.values.len() != step.columns.len() {
                        return Err(self
                            .invalid(line, "a sealed row with the wrong number of values".into()));
                    }
                    take_row(step, &row, wanted, end);
                }
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

/// Counts a row read into its step and moves the step's span past it.
fn take_row(step: &mut RestoreStep, row: &JournaledRow, wanted: bool, end: u64) {
    if let Some(span) = step.span.as_mut() {
        span.end = end;
    }
    if wanted {
        step.count += 1;
        step.written_known &= row.after.len() == step.set.len();
    }
}
