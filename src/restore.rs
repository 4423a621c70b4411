//! Restore: the rows a journal holds, put back in one transaction, then read back and compared
//! with the journal, row by row, before anything is committed.
//!
//! Like `apply`, restore refuses any database but the one the journal was written for, holds
//! the apply lock, and changes nothing unless every statement runs and every row reads back as
//! journaled. A row changed since the apply (a timer that ran, a value someone edited, a
//! deleted row inserted again with other values) is left as it is and listed: restore never
//! overwrites what happened after the apply.

use std::borrow::Cow;

use crate::change::ChangeId;
use crate::engine::{self, Engine, Lock};
use crate::executor::{self, Executor};
use crate::guard::GuardError;
use crate::journal::{Identities, JournaledRow, RestorePlan, RestoreStep, Triage};
use crate::run::Run;
use crate::state::desired::TableName;
use crate::state::observed::{TableInfo, TableRef, Target};
use crate::transaction::{BeginError, Committed, Transaction};

mod triage;
mod verify;

pub use triage::triage;
use triage::{sorted_as_shown, PAGE_ROWS};
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
    /// The catalog of the event queues could not be read.
    #[error(transparent)]
    Inspect(#[from] crate::inspect::Error),
    /// The journal could not be read again, or changed since it was first read.
    #[error(transparent)]
    Journal(#[from] crate::journal::Error),
    /// A row the server returned for a journaled key is not that key's row (or several came
    /// back for one key): the journal's key is not the table's.
    #[error("{context}: the server returned a row that is not the one journaled key (or several rows for one key): the table's primary key is not the journal's; nothing was changed")]
    KeyNotJournaled {
        /// What was being read.
        context: String,
    },
    /// A restore statement could not be written.
    #[error("cannot write the SQL that restores change {change}")]
    Render {
        /// The journaled change.
        change: ChangeId,
        /// Why.
        #[source]
        source: crate::sql::Error,
    },
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

/// What restore shows before it asks, and holds until it runs.
#[derive(Debug)]
pub struct Prepared {
    /// The apply lock, held until the restore ends.
    pub lock: Lock,
    /// The journal's rows, sorted.
    pub triage: Triage,
    /// The event queues the tables written back may feed (their triggers), with a primary key.
    pub queues: Vec<TableInfo>,
}

/// Takes the apply lock (waiting at most `timeout`), checks that the connection reaches the
/// journal's database and names it as the server does, sorts the journal's rows, and finds
/// the event queues among `queue_names` that restore's writes may feed.
///
/// # Errors
/// Another database ([`Error::Refused`]), a lock not taken, a failed read.
pub async fn prepare<E: Engine>(
    run: &mut Run<E>,
    journal: &mut RestorePlan,
    queue_names: &[TableName],
    timeout: std::time::Duration,
) -> Result<Prepared, Error> {
    let lock = run.engine.lock(timeout).await?;
    let server = run.engine.identify().await?;
    check(journal, &server)?;
    // What is shown is what this connection reaches (the check found it the same).
    journal.server.clone_from(&server.server);
    journal.database.clone_from(&server.database);
    let mut triage = triage(run, journal).await?;
    let queues: Vec<TableInfo> = if triage.triggers.is_empty() || queue_names.is_empty() {
        Vec::new()
    } else {
        run.tables(queue_names)
            .await?
            .into_iter()
            .filter(|q| !q.primary_key.is_empty())
            .collect()
    };
    triage.queues = queues.iter().map(|q| q.table.clone()).collect();
    Ok(Prepared {
        lock,
        triage,
        queues,
    })
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
    run: &mut Run<E>,
    journal: &RestorePlan,
    shown: &Triage,
    lock: &Lock,
    queues: &[TableInfo],
) -> Result<RestoreReport, Error> {
    let (engine, identities) = (&mut run.engine, run.keys.identities.as_ref());
    let tables: Vec<_> = journal.steps.iter().map(RestoreStep::table_info).collect();
    let mut tx = Transaction::begin(engine, lock, &tables, ())
        .await
        .map_err(|e| match e {
            BeginError::Engine(e) => Error::Engine(e),
            // Restore gives the transaction no journal: nothing can come of recording it.
            BeginError::Journal(e) => Error::Journal(e),
        })?;
    let outcome = match put_back(tx.engine(), journal, shown, identities, queues).await {
        Ok(outcome) => outcome,
        Err(failure) => {
            let rolled_back = tx.abort().await;
            return Err(failure.into_error(rolled_back));
        }
    };
    match tx.commit().await {
        Ok(()) => Ok(outcome),
        Err(Committed::Failed(failed)) => Err(Error::Engine(failed.cause)),
        Err(Committed::NotRecorded(e)) => Err(Error::Journal(e)),
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
    let mut rows = 0;
    let mut tables = 0;
    let chosen_steps = || {
        journal
            .steps
            .iter()
            .zip(&shown.chosen)
            .filter(|(_, chosen)| chosen.contains(&true))
    };
    let mut executor = Executor::new(queues);
    for (step, chosen) in chosen_steps() {
        tables += 1;
        let writes = executor::Writes {
            change: &step.change,
            // Writing into a table with triggers may queue events: the executor deletes them.
            triggered: shown.triggers.iter().any(|(t, _)| *t == step.table),
            // Restore writes production's values back: all of them are sensitive.
            sensitive: true,
        };
        let mut pages = Pages {
            step,
            pages: Box::new(chosen_pages(journal, step, chosen, identities)),
            statements: Vec::new(),
        };
        executor
            .run(engine, (writes, &mut pages), &mut |_| {})
            .await
            .map_err(|e| match e {
                executor::Failure::Step(e) => e,
                executor::Failure::Queues(e) => RunFailure::Engine(e),
                executor::Failure::Statement { cause, .. } => RunFailure::Statement {
                    change: step.change.clone(),
                    cause,
                },
            })?;
    }
    for (step, chosen) in chosen_steps() {
        rows += verify(engine, journal, step, chosen, identities)
            .await
            .map_err(|failure| match failure {
                Failure::Read(e) => RunFailure::Other(e),
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
        statements: executor.statements(),
        unqueued: executor.unqueued(),
    })
}

/// The statements that put one step's chosen rows back, a page of rows at a time: a page's
/// statements are made just before they run, so that only one page's SQL is held.
struct Pages<'a> {
    step: &'a RestoreStep,
    pages: Box<dyn Iterator<Item = Result<RestoreStep, crate::journal::Error>> + 'a>,
    /// The page being run.
    statements: Vec<crate::sql::Statement>,
}

impl<E: Engine> executor::Step<E> for Pages<'_> {
    type Error = RunFailure;

    async fn next_page(
        &mut self,
        engine: &mut E,
    ) -> Result<Option<Cow<'_, [crate::sql::Statement]>>, RunFailure> {
        let Some(page) = self.pages.next() else {
            return Ok(None);
        };
        let page = page.map_err(RunFailure::Journal)?;
        self.statements =
            crate::sql::restore_statements(&page, engine.flavor()).map_err(|source| {
                RunFailure::Other(Error::Render {
                    change: self.step.change.clone(),
                    source,
                })
            })?;
        Ok(Some(Cow::Borrowed(&self.statements)))
    }
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

/// How putting rows back failed, before the rollback.
enum RunFailure {
    Engine(engine::Error),
    /// Anything else that stopped it, reported as it is.
    Other(Error),
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
            other => RunFailure::Other(other),
        }
    }
}

impl RunFailure {
    /// The restore's error, once the transaction was rolled back (or not).
    fn into_error(self, rolled_back: bool) -> Error {
        match self {
            RunFailure::Engine(e) => Error::Engine(e),
            RunFailure::Other(e) => e,
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
