//! Restore: the rows a journal holds, put back in one transaction, then read back and compared
//! with the journal, row by row, before anything is committed.
//!
//! Like `apply`, restore refuses any database but the one the journal was written for, holds
//! the apply lock, and changes nothing unless every statement runs and every row reads back as
//! journaled. A row changed since the apply (a timer that ran, a value someone edited, a
//! deleted row inserted again with other values) is left as it is and listed: restore never
//! overwrites what happened after the apply.

use std::collections::HashMap;

use crate::change::ChangeId;
use crate::engine::{self, Engine, Lock};
use crate::guard::GuardError;
use crate::journal::{
    Identities, JournaledRow, LeftAlone, Reason, RestoreAction, RestorePlan, RestoreStep, Triage,
};
use crate::state::observed::{TableInfo, TableRef, Target};
use crate::state::Value;
use crate::transaction::{BeginError, Committed, Transaction};

mod verify;

use verify::{shown_key, verify, Failure};

/// What a restore did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RestoreReport {
    /// Rows that read back as journaled.
    pub rows: u64,
    /// Tables they are in.
    pub tables: usize,
    /// Statements run.
    pub statements: usize,
    /// Per event queue: the events restore's own writes queued (the triggers of the tables it
    /// wrote into), deleted in the same transaction.
    pub unqueued: Vec<(TableRef, u64)>,
}

/// How a restored row differs from the journal.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Mismatch {
    /// The row is not in the table.
    Missing,
    /// A row the apply inserted is still in the table after restore deleted it.
    StillThere,
    /// The row is there with other values in these columns (it was changed after the apply).
    Differs(Vec<String>),
}

impl std::fmt::Display for Mismatch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Mismatch::Missing => f.write_str("is missing"),
            Mismatch::StillThere => f.write_str("is still there after it was deleted"),
            Mismatch::Differs(columns) => write!(
                f,
                "differs from the journal in {} (it was changed after the apply)",
                columns.join(", ")
            ),
        }
    }
}

/// Why a restore stopped. Nothing was committed in any case.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The journal was written for another database.
    #[error("refusing to restore; nothing was changed")]
    Refused(#[source] GuardError),
    /// Rendering, locking or reading failed.
    #[error(transparent)]
    Engine(#[from] engine::Error),
    /// The journal could not be read again, or changed since it was first read.
    #[error(transparent)]
    Journal(#[from] crate::journal::Error),
    /// Rows changed between the plan shown and the transaction.
    #[error("rows of the journal changed while the restore was waiting; nothing was changed; run restore again to see them")]
    ChangedWhileWaiting,
    /// A restore statement failed.
    #[error("restoring the rows of change {change} failed; {}", rolled_back_note(*.rolled_back))]
    Statement {
        /// The journaled change.
        change: ChangeId,
        /// Whether the rollback succeeded.
        rolled_back: bool,
        /// The database's message, secret values masked.
        #[source]
        cause: crate::sql::Masked,
    },
    /// A row read back does not match the journal.
    #[error("after restoring, the row of {table} with {key} {mismatch}; {}", rolled_back_note(*.rolled_back))]
    Mismatch {
        /// The journaled change.
        change: ChangeId,
        /// The table.
        table: TableRef,
        /// The row's key, as `COLUMN = value, ...` (or a note for a table without one).
        key: String,
        /// How it differs.
        mismatch: Mismatch,
        /// Whether the rollback succeeded.
        rolled_back: bool,
    },
}

fn rolled_back_note(rolled_back: bool) -> &'static str {
    if rolled_back {
        "the restore was rolled back: nothing was changed"
    } else {
        "the rollback could not be confirmed: run `postclone plan` to see the state"
    }
}

/// Checks that `target` is the server and database the journal was written for.
///
/// # Errors
/// [`Error::Refused`] for any other server or database.
pub fn check(plan: &RestorePlan, target: &Target) -> Result<(), Error> {
    if !target
        .server
        .trim()
        .eq_ignore_ascii_case(plan.server.trim())
    {
        return Err(Error::Refused(GuardError::WrongServer {
            expected: plan.server.clone(),
            actual: target.server.clone(),
        }));
    }
    if target.database.eq_ignore_ascii_case(&plan.database) {
        Ok(())
    } else {
        Err(Error::Refused(GuardError::WrongDatabase {
            expected: plan.database.clone(),
            actual: target.database.clone(),
        }))
    }
}

/// How many journaled rows are read from the journal at a time: only one page of rows (and the
/// rows of one sealed message) is held, whatever the journal's size.
const PAGE_ROWS: usize = 2_000;

/// Reads the journaled rows as they are now and sorts them: to put back, already back, or
/// changed since the apply (left alone). Rows of a table without a primary key cannot be found
/// again one by one: they are all put back where missing.
///
/// The journal is read a page at a time; what is kept is, per row, whether it goes back (one
/// byte), the rows left alone (listed to the user) and a sample of each change's rows to show.
///
/// # Errors
/// A failed read of the database or of the journal.
pub async fn triage<E: Engine>(
    engine: &mut E,
    plan: &RestorePlan,
    identities: Option<&Identities>,
) -> Result<Triage, Error> {
    let mut out = Triage {
        plan: plan.without_steps(),
        left_alone: Vec::new(),
        already_back: 0,
        triggers: Vec::new(),
        queues: Vec::new(),
        chosen: Vec::with_capacity(plan.steps.len()),
    };
    for step in &plan.steps {
        let sorted = sort_step(engine, plan, step, identities).await?;
        out.already_back += sorted.already_back;
        out.left_alone.extend(sorted.left_alone);
        if sorted.put > 0 {
            let mut shown = step.with_rows(sorted.sample);
            shown.count = sorted.put;
            out.plan.steps.push(shown);
        }
        out.chosen.push(sorted.chosen);
    }
    let mut tables: Vec<crate::state::TableRef> = Vec::new();
    for step in &out.plan.steps {
        if !tables.contains(&step.table) {
            tables.push(step.table.clone());
        }
    }
    out.triggers = crate::inspect::triggers(engine, &tables).await?;
    Ok(out)
}

/// One journaled change's rows, sorted.
struct SortedStep {
    /// Per row of the step, in journal order: whether it goes back.
    chosen: Vec<bool>,
    /// How many go back.
    put: u64,
    /// The first of them, to show.
    sample: Vec<JournaledRow>,
    left_alone: Vec<LeftAlone>,
    already_back: u64,
}

/// Sorts the rows of one journaled change (see [`triage`]), a page at a time.
async fn sort_step<E: Engine>(
    engine: &mut E,
    plan: &RestorePlan,
    step: &RestoreStep,
    identities: Option<&Identities>,
) -> Result<SortedStep, Error> {
    let mut out = SortedStep {
        chosen: Vec::with_capacity(usize::try_from(step.count).unwrap_or(0)),
        put: 0,
        sample: Vec::new(),
        left_alone: Vec::new(),
        already_back: 0,
    };
    let keyless = step.key_positions().is_empty();
    let missing = match step.action {
        // A row to insert, or one the apply inserted that is gone: nothing to do either way.
        RestoreAction::Reinsert | RestoreAction::Remove => Missing::Accept,
        RestoreAction::Revert => Missing::Confirm,
    };
    for page in plan.pages(step, identities, PAGE_ROWS) {
        let page = page?;
        if keyless {
            for row in &page.rows {
                out.put_back(row);
            }
            continue;
        }
        current_rows(
            engine,
            &page,
            missing,
            &mut |row, current| match sort(&page, row, current) {
                Sorted::PutBack => out.put_back(row),
                Sorted::AlreadyBack => {
                    out.chosen.push(false);
                    out.already_back += 1;
                }
                Sorted::LeftAlone(reason) => {
                    out.chosen.push(false);
                    out.left_alone.push(LeftAlone {
                        change: step.change.clone(),
                        table: step.table.clone(),
                        key: shown_key(step, &row.values),
                        label: row.label.clone(),
                        reason,
                    });
                }
            },
        )
        .await?;
    }
    Ok(out)
}

impl SortedStep {
    fn put_back(&mut self, row: &JournaledRow) {
        self.chosen.push(true);
        self.put += 1;
        if self.sample.len() < crate::engine::SAMPLE_ROWS {
            self.sample.push(row.clone());
        }
    }
}

/// Whether the journal's rows, sorted again now, are sorted as `shown`: a change at a time, so
/// that only one change's verdicts are held besides what was shown.
async fn sorted_as_shown<E: Engine>(
    engine: &mut E,
    journal: &RestorePlan,
    shown: &Triage,
    identities: Option<&Identities>,
) -> Result<bool, Error> {
    if shown.chosen.len() != journal.steps.len() {
        return Ok(false);
    }
    let mut left_alone = shown.left_alone.iter();
    let mut already_back = 0;
    for (step, chosen) in journal.steps.iter().zip(&shown.chosen) {
        let sorted = sort_step(engine, journal, step, identities).await?;
        already_back += sorted.already_back;
        let same_left = sorted
            .left_alone
            .iter()
            .all(|l| left_alone.next() == Some(l));
        if !same_left || sorted.chosen != *chosen {
            return Ok(false);
        }
    }
    Ok(left_alone.next().is_none() && already_back == shown.already_back)
}

enum Sorted {
    PutBack,
    AlreadyBack,
    LeftAlone(Reason),
}

/// Where one journaled row stands, given the row with its key in the table now.
fn sort(step: &RestoreStep, row: &JournaledRow, now: Option<&[Value]>) -> Sorted {
    let differing = |positions: &[usize], wanted: &dyn Fn(usize) -> Value| -> Vec<String> {
        positions
            .iter()
            .filter(|&&i| {
                !now.and_then(|r| r.get(i))
                    .is_some_and(|v| v.same_as(&wanted(i)))
            })
            .map(|&i| step.columns[i].name.clone())
            .collect()
    };
    match (step.action, now) {
        (RestoreAction::Reinsert, None) => Sorted::PutBack,
        (RestoreAction::Reinsert, Some(_)) => {
            let all: Vec<usize> = (0..step.columns.len()).collect();
            let changed = differing(&all, &|i| row.values[i].clone());
            if changed.is_empty() {
                Sorted::AlreadyBack
            } else {
                Sorted::LeftAlone(Reason::ChangedSince(changed))
            }
        }
        (RestoreAction::Remove, None) => Sorted::AlreadyBack,
        (RestoreAction::Remove, Some(_)) => {
            let all: Vec<usize> = (0..step.columns.len()).collect();
            let changed = differing(&all, &|i| row.values[i].clone());
            if changed.is_empty() {
                Sorted::PutBack
            } else {
                Sorted::LeftAlone(Reason::ChangedSince(changed))
            }
        }
        (RestoreAction::Revert, None) => Sorted::LeftAlone(Reason::Gone),
        (RestoreAction::Revert, Some(_)) => {
            let written = step.written_positions();
            if differing(&written, &|i| row.values[i].clone()).is_empty() {
                return Sorted::AlreadyBack;
            }
            if !step.knows_written_values() {
                // A journal that does not say what the apply wrote: the old values go back.
                return Sorted::PutBack;
            }
            let after: HashMap<usize, &Value> = written.iter().copied().zip(&row.after).collect();
            let changed = differing(&written, &|i| {
                after.get(&i).map_or(Value::Null, |v| (*v).clone())
            });
            if changed.is_empty() {
                Sorted::PutBack
            } else {
                Sorted::LeftAlone(Reason::ChangedSince(changed))
            }
        }
    }
}

/// Gives `each` every journaled row, in journal order, with the row of its key as it is now
/// (`None`: not in the table), read by key in batches: only one batch of current rows is held.
/// Which current row belongs to which journaled row is the server's own comparison of keys
/// (each row read back comes with the position of the key it matched), never a comparison of
/// values read back. With [`Missing::Confirm`], a row the batch did not return is looked for
/// again by its key alone before it is called missing.
async fn current_rows<E: Engine>(
    engine: &mut E,
    step: &RestoreStep,
    missing: Missing,
    each: &mut dyn FnMut(&JournaledRow, Option<&[Value]>),
) -> Result<(), engine::Error> {
    let context = format!(
        "reading the journaled rows of {} as they are now",
        step.table
    );
    let indices: Vec<usize> = (0..step.rows.len()).collect();
    for batch in indices.chunks(crate::sql::VERIFY_BATCH) {
        let mut now: Vec<Option<Vec<Value>>> = vec![None; batch.len()];
        let select = crate::sql::verify_query(step, batch, engine.flavor());
        engine
            .stream(&select, &context, &mut |mut row| {
                // The embedded engine sends a `VALUES` list's numbers as text.
                let position = match row.first() {
                    Some(Value::Int(n)) => usize::try_from(*n).ok(),
                    Some(Value::Text(t)) => t.parse().ok(),
                    _ => None,
                };
                let slot = position.and_then(|n| now.get_mut(n));
                let Some(slot) = slot.filter(|s| s.is_none()) else {
                    return Err(unexpected_row(&context));
                };
                row.remove(0);
                *slot = Some(row);
                Ok(())
            })
            .await?;
        for (&i, current) in batch.iter().zip(now.iter_mut()) {
            let row = &step.rows[i];
            if current.is_none() && missing == Missing::Confirm {
                *current = by_key_alone(engine, step, row).await?;
            }
            each(row, current.as_deref());
        }
    }
    Ok(())
}

/// Whether a journaled row a batch did not return is looked for again.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Missing {
    /// It is to be inserted: an insert of a row that is there fails on its key anyway.
    Accept,
    /// Calling it missing would be a verdict (gone since the apply, or not restored).
    Confirm,
}

/// The row with `row`'s key, read by its key alone.
async fn by_key_alone<E: Engine>(
    engine: &mut E,
    step: &RestoreStep,
    row: &JournaledRow,
) -> Result<Option<Vec<Value>>, engine::Error> {
    let Some(select) = crate::sql::key_query(step, row, engine.flavor()) else {
        return Ok(None);
    };
    let context = format!(
        "looking for the row of {} with {} by its key",
        step.table,
        shown_key(step, &row.values)
    );
    let mut found = None;
    let mut count = 0;
    engine
        .stream(&select, &context, &mut |current| {
            count += 1;
            found = Some(current);
            Ok(())
        })
        .await?;
    if count > 1 {
        return Err(unexpected_row(&context));
    }
    Ok(found)
}

/// A row the server returned that matches no journaled key, or a second row for one key: the
/// journal's key is not the table's, and nothing can be sorted safely.
fn unexpected_row(context: &str) -> engine::Error {
    engine::Error::Query {
        context: context.to_string(),
        source: "the server returned a row that is not the one journaled key (or several rows for one key): the table's primary key is not the journal's; nothing was changed".into(),
    }
}

/// Puts the triaged rows back.
///
/// # Guarantees
/// Every statement runs in one transaction, after the rows are sorted again inside it: if any
/// row changed since `triage` was shown, nothing runs. Every restored row is then read back and
/// compared with the journal in the columns written. The transaction is committed only if every
/// row matches; otherwise it is rolled back and the first row that differs is named.
///
/// # Assumptions
/// Idempotent: rows already back as journaled are left as they are, so restoring twice changes
/// nothing the second time.
///
/// # Errors
/// Rows changed while waiting, a failed statement, a row that does not read back as journaled,
/// or an engine error.
pub async fn run<E: Engine>(
    engine: &mut E,
    journal: &RestorePlan,
    shown: &Triage,
    identities: Option<&Identities>,
    lock: &Lock,
    queues: &[TableInfo],
) -> Result<RestoreReport, Error> {
    let tables: Vec<_> = journal.steps.iter().map(RestoreStep::table_info).collect();
    let mut tx = Transaction::begin(engine, lock, &tables, None)
        .await
        .map_err(|e| match e {
            BeginError::Engine(e) => Error::Engine(e),
            // Restore keeps no journal: nothing to record.
            BeginError::Journal(e) => Error::Engine(engine::Error::Query {
                context: "beginning the restore".into(),
                source: Box::new(e),
            }),
        })?;
    let outcome = match put_back(tx.engine(), journal, shown, identities, queues).await {
        Ok(outcome) => outcome,
        Err(failure) => {
            let rolled_back = tx.abort(None).await;
            return Err(failure.into_error(rolled_back));
        }
    };
    match tx.commit(None).await {
        Ok(()) => Ok(outcome),
        Err(Committed::Failed(failed)) => Err(Error::Engine(failed.cause)),
        Err(Committed::NotRecorded(e)) => Err(Error::Engine(engine::Error::Query {
            context: "committing the restore".into(),
            source: Box::new(e),
        })),
    }
}

/// Inside the transaction: checks that the rows are still sorted as shown, runs every step's
/// statements a page of rows at a time, and reads every restored row back.
async fn put_back<E: Engine>(
    engine: &mut E,
    journal: &RestorePlan,
    shown: &Triage,
    identities: Option<&Identities>,
    queues: &[TableInfo],
) -> Result<RestoreReport, RunFailure> {
    if !sorted_as_shown(engine, journal, shown, identities).await? {
        return Err(RunFailure::ChangedWhileWaiting);
    }
    let mut count = 0;
    let mut rows = 0;
    let mut tables = 0;
    let chosen_steps = || {
        journal
            .steps
            .iter()
            .zip(&shown.chosen)
            .filter(|(_, chosen)| chosen.contains(&true))
    };
    let mut unqueued: Vec<(TableRef, u64)> = queues.iter().map(|q| (q.table.clone(), 0)).collect();
    // A page's statements are made just before they run: only one page's SQL is held.
    for (step, chosen) in chosen_steps() {
        tables += 1;
        // Writing into a table with triggers may queue events: what the queues hold before is
        // read, and what the step's writes added is deleted once they ran.
        let triggered = shown.triggers.iter().any(|(t, _)| *t == step.table);
        let before = if triggered && !queues.is_empty() {
            Some(
                crate::queues::snapshot(engine, queues)
                    .await
                    .map_err(|e| queue_failure(e, &step.change))?,
            )
        } else {
            None
        };
        for part in chosen_pages(journal, step, chosen, identities) {
            let part = part.map_err(RunFailure::Journal)?;
            let statements =
                crate::sql::restore_statements(&part, engine.flavor()).map_err(|source| {
                    RunFailure::Engine(engine::Error::Render {
                        change: step.change.clone(),
                        source,
                    })
                })?;
            for statement in &statements {
                engine
                    .run(statement)
                    .await
                    .map_err(|e| RunFailure::Statement {
                        change: step.change.clone(),
                        // Restore writes production's values back: all of them are sensitive.
                        cause: crate::sql::Masked::new(&e, statement, true),
                    })?;
                count += 1;
            }
        }
        if let Some(before) = before {
            let (deleted, statements) =
                crate::queues::delete_added(engine, queues, &before, &step.change)
                    .await
                    .map_err(|e| queue_failure(e, &step.change))?;
            count += statements;
            for (n, total) in deleted.iter().zip(&mut unqueued) {
                total.1 += n;
            }
        }
    }
    for (step, chosen) in chosen_steps() {
        rows += verify(engine, journal, step, chosen, identities)
            .await
            .map_err(|failure| match failure {
                Failure::Engine(e) => RunFailure::Engine(e),
                Failure::Journal(e) => RunFailure::Journal(e),
                Failure::Row { key, mismatch } => RunFailure::Mismatch {
                    change: step.change.clone(),
                    table: step.table.clone(),
                    key,
                    mismatch,
                },
            })?;
    }
    Ok(RestoreReport {
        rows,
        tables,
        statements: count,
        unqueued,
    })
}

/// The pages of `step` holding only the rows `chosen` marks, pages without any left out.
fn chosen_pages<'a>(
    journal: &'a RestorePlan,
    step: &'a RestoreStep,
    chosen: &'a [bool],
    identities: Option<&'a Identities>,
) -> impl Iterator<Item = Result<RestoreStep, crate::journal::Error>> + 'a {
    let mut at = 0;
    journal
        .pages(step, identities, PAGE_ROWS)
        .filter_map(move |page| {
            let page = match page {
                Ok(page) => page,
                Err(e) => return Some(Err(e)),
            };
            let rows: Vec<JournaledRow> = page
                .rows
                .into_iter()
                .filter(|_| {
                    let keep = chosen.get(at).copied().unwrap_or(false);
                    at += 1;
                    keep
                })
                .collect();
            (!rows.is_empty()).then(|| Ok(step.with_rows(rows)))
        })
}

/// A failure to delete the events a step's writes queued, as the step's.
fn queue_failure(e: crate::queues::QueueError, change: &ChangeId) -> RunFailure {
    match e {
        crate::queues::QueueError::Read(e) => RunFailure::Engine(e),
        crate::queues::QueueError::Statement { cause, .. } => RunFailure::Statement {
            change: change.clone(),
            cause,
        },
    }
}

/// How putting rows back failed, before the rollback.
enum RunFailure {
    Engine(engine::Error),
    Journal(crate::journal::Error),
    ChangedWhileWaiting,
    Statement {
        change: ChangeId,
        cause: crate::sql::Masked,
    },
    Mismatch {
        change: ChangeId,
        table: TableRef,
        key: String,
        mismatch: Mismatch,
    },
}

impl From<Error> for RunFailure {
    fn from(e: Error) -> RunFailure {
        match e {
            Error::Engine(e) => RunFailure::Engine(e),
            Error::Journal(e) => RunFailure::Journal(e),
            Error::ChangedWhileWaiting => RunFailure::ChangedWhileWaiting,
            // Sorting the rows only reads: no other error comes out of it.
            other => RunFailure::Engine(engine::Error::Query {
                context: "sorting the journaled rows".into(),
                source: other.to_string().into(),
            }),
        }
    }
}

impl RunFailure {
    /// The restore's error, once the transaction was rolled back (or not).
    fn into_error(self, rolled_back: bool) -> Error {
        match self {
            RunFailure::Engine(e) => Error::Engine(e),
            RunFailure::Journal(e) => Error::Journal(e),
            RunFailure::ChangedWhileWaiting => Error::ChangedWhileWaiting,
            RunFailure::Statement { change, cause } => Error::Statement {
                change,
                rolled_back,
                cause,
            },
            RunFailure::Mismatch {
                change,
                table,
                key,
                mismatch,
            } => Error::Mismatch {
                change,
                table,
                key,
                mismatch,
                rolled_back,
            },
        }
    }
}

#[cfg(test)]
mod tests;
