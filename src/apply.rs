//! Apply: guard → statements → journal → one transaction → re-inspect → report.
//!
//! `apply` executes exactly the plan it is given, in its order, then inspects again: the
//! database has converged when a fresh plan is empty.

use std::path::{Path, PathBuf};

mod committing;
mod error;
mod insert;
mod step;

use step::{run_in_transaction, Done, StepFailure};

pub use committing::CommittedFailure;
use error::pending_note;
pub use error::{Error, Failure};

use crate::change::{ChangeId, ChangeKind};
use crate::engine::{Engine, Lock};
use crate::executor::Executor;
use crate::guard;
use crate::inspect::Given;
use crate::journal::{self, Journal};
use crate::plan::{self, Plan};
use crate::run::Run;
use crate::sql::{Masked, Statement};
use crate::state::desired::{CarriedRows, Desired, Inspected, Stage};
use crate::state::observed::TableInfo;
use crate::state::Resolved;
use crate::transaction::{BeginError, Committed, Transaction};

/// What an apply did.
#[derive(Debug, Clone)]
pub struct ApplyReport {
    /// Changes executed and committed, in order.
    pub applied: Vec<ChangeId>,
    /// Statements executed.
    pub statements: usize,
    /// Rows written to the journal.
    pub journaled: u64,
    /// The journal.
    pub journal: PathBuf,
    /// Per event queue: the events the apply's own writes queued (the triggers of the tables
    /// it wrote), deleted right after those writes, in the same transaction: they were never
    /// in the clone, so they are not journaled and restore does not put them back.
    pub unqueued: Vec<(crate::state::TableRef, u64)>,
    /// The plan made right after the apply; empty when the database converged.
    pub after: Plan,
}

impl ApplyReport {
    /// The database now matches the spec.
    #[must_use]
    pub fn converged(&self) -> bool {
        self.after.is_empty()
    }
}

/// What is checked before anything is asked or written: the guard, and the masking key of
/// every change that masks.
///
/// # Errors
/// [`Error::Refused`] or [`Error::NoMaskKey`].
pub fn preflight<S: Stage>(
    desired: &Desired<S>,
    plan: &Plan,
    connected_host: Option<&str>,
) -> Result<(), Error> {
    guard::check(
        &desired.guard,
        &desired.production,
        &plan.target,
        connected_host,
    )?;
    if let Some(step) = plan
        .steps
        .iter()
        .find(|s| s.masks() && s.mask_key.is_none())
    {
        return Err(Error::NoMaskKey {
            change: step.id.clone(),
        });
    }
    for step in &plan.steps {
        let unopened = step.captured_rows().map_or(0, CarriedRows::unopened);
        if unopened > 0 {
            return Err(Error::NoIdentity {
                change: step.id.clone(),
                rows: unopened,
            });
        }
    }
    Ok(())
}

/// Which changes check their rows in the pass that journals them (the first change of each
/// table, before any custom fix), and which are inspected again before anything runs (the
/// rows of the others may be changed by an earlier change of the same apply).
fn verification(plan: &Plan) -> (Vec<ChangeId>, Vec<ChangeId>) {
    let mut at_capture = Vec::new();
    let mut elsewhere = Vec::new();
    let mut touched: Vec<&crate::state::observed::TableRef> = Vec::new();
    let mut after_fix = false;
    // Changes the database commits by itself have run (and were checked against the plan by
    // nothing but their own statements) before the transaction: there is nothing to compare.
    for step in plan.steps.iter().filter(|s| !s.commits_by_itself()) {
        match step.table() {
            Some(t) if !after_fix && !touched.contains(&&t.table) => {
                touched.push(&t.table);
                at_capture.push(step.id.clone());
            }
            Some(t) => {
                touched.push(&t.table);
                elsewhere.push(step.id.clone());
            }
            None => {
                after_fix |= matches!(step.kind, ChangeKind::RunFix { .. });
                elsewhere.push(step.id.clone());
            }
        }
    }
    (at_capture, elsewhere)
}

/// What apply is doing, for a progress display.
#[derive(Debug, Clone, Copy)]
pub enum Progress<'a> {
    /// A change starts: its rows are journaled, then its statements run.
    Started {
        /// The change.
        id: &'a ChangeId,
        /// Its position, from 1.
        position: usize,
        /// Changes in the plan.
        total: usize,
        /// Rows the plan counted.
        rows: u64,
    },
    /// A statement is sent to the database (as `plan -v` shows it: values as parameters).
    Sent {
        /// The change.
        id: &'a ChangeId,
        /// The statement.
        statement: &'a Statement,
    },
    /// The change's statements ran.
    Finished {
        /// The change.
        id: &'a ChangeId,
        /// Rows saved to the journal first.
        journaled: u64,
    },
}

/// How an apply runs.
#[derive(Debug, Clone, Copy)]
pub struct Options<'a> {
    /// The lock taken before planning.
    pub lock: Lock,
    /// The journal file to create.
    pub journal: &'a Path,
    /// The spec or plan file applied, recorded in the journal.
    pub source: Option<&'a Path>,
    /// The host connected to, for the guard.
    pub connected_host: Option<&'a str>,
}

/// Executes `plan` against the engine it was made with, then re-inspects.
///
/// # Guarantees
/// The guard is checked and every statement rendered before anything is executed. Before each
/// change runs, the rows it deletes or modifies are appended to the journal and flushed to
/// disk. All statements run in one transaction: on any error it is rolled back, the journal
/// says so, and the error names the change that failed.
///
/// # Assumptions
/// Idempotent: every statement is limited to rows that still differ from the spec, so applying
/// the same spec again changes nothing, and a run interrupted before commit leaves the database
/// as it was.
///
/// # Errors
/// A guard refusal, a journal that cannot be written, a failed statement, or a failed
/// re-inspection.
pub async fn run<E: Engine>(
    run: &mut Run<E>,
    resolved: &Resolved,
    plan: &Plan,
    options: Options<'_>,
    progress: &mut dyn FnMut(Progress<'_>),
) -> Result<ApplyReport, Error> {
    let desired = resolved.desired();
    preflight(desired, plan, options.connected_host)?;
    let statements = plan
        .steps
        .iter()
        .map(|step| plan.statements(step, run.engine.flavor()))
        .collect::<Result<Vec<_>, _>>()?;
    let mut journal = open_journal(desired, plan, &options, &run.keys)?;
    let first = plan
        .steps
        .iter()
        .take_while(|s| s.commits_by_itself())
        .count();
    let committed = committing::run(
        &mut run.engine,
        &mut journal,
        plan,
        (&plan.steps[..first], &statements[..first]),
        options.journal,
        progress,
    )
    .await?;
    let mut tx = Transaction::begin(&mut run.engine, &options.lock, &tables(plan), &mut journal)
        .await
        .map_err(|e| match e {
            BeginError::Engine(e) => Error::Engine(e),
            BeginError::Journal(e) => Error::Journal(e),
        })?;
    let given = crate::run::given(&run.keys, &run.opened, run.originals.as_ref());
    let at_capture = match unchanged_since_planned(
        &mut tx,
        (&mut run.catalog, given),
        resolved,
        plan,
        options.lock,
    )
    .await
    {
        Ok(at_capture) => at_capture,
        Err(e) => {
            tx.abort().await;
            return Err(e);
        }
    };
    let mut done = committed;
    let queues = event_queues(desired, plan);
    let mut executor = Executor::new(&queues);
    for (position, (step, step_statements)) in
        plan.steps.iter().zip(&statements).enumerate().skip(first)
    {
        progress(Progress::Started {
            id: &step.id,
            position: position + 1,
            total: plan.steps.len(),
            rows: step.rows.count,
        });
        let check = options.lock == Lock::Tables && at_capture.contains(&step.id);
        let ran = run_in_transaction(
            &mut tx,
            plan,
            (step, step_statements),
            (check, &mut *progress),
            &mut executor,
        )
        .await;
        let journaled = match ran {
            Ok(ran) => done.add(&ran),
            Err(e) => {
                let rolled_back = tx.abort().await;
                return Err(e.into_error(plan, (first, position), rolled_back, options.journal));
            }
        };
        progress(Progress::Finished {
            id: &step.id,
            journaled,
        });
    }
    commit(tx, (plan, first), options.journal).await?;
    let after = inspect_after(run, resolved, plan).await?;
    Ok(ApplyReport {
        applied: plan.steps.iter().map(|s| s.id.clone()).collect(),
        statements: done.statements,
        journaled: done.journaled,
        journal: options.journal.to_path_buf(),
        unqueued: executor.unqueued(),
        after,
    })
}

/// The event queues the spec empties that the plan's catalog holds with a primary key (their
/// rows are told apart by it).
fn event_queues(desired: &Desired<Inspected>, plan: &Plan) -> Vec<TableInfo> {
    desired
        .event_queues
        .iter()
        .filter_map(|q| plan.catalog.get(q))
        .filter(|q| !q.primary_key.is_empty())
        .cloned()
        .collect()
}

/// The journal an apply writes, sealed to the spec's recipients.
/// Chained with the run's plan key and signed with its signing key, if any.
fn open_journal(
    desired: &Desired<Inspected>,
    plan: &Plan,
    options: &Options<'_>,
    keys: &crate::run::Keys,
) -> Result<Journal, Error> {
    let chain = keys
        .plan
        .as_ref()
        .map(plan::PlanKey::journal_chain)
        .ok_or(Error::NoPlanKey)?;
    let recipients = journal::Recipients::parse(&desired.journal.recipients).map_err(|source| {
        journal::Error::Seal {
            path: options.journal.to_path_buf(),
            source,
        }
    })?;
    let mut journal = Journal::create(
        options.journal,
        &plan.target,
        options.source,
        recipients,
        chain,
    )?;
    if let Some(key) = &keys.signing {
        journal.sign_with(key.clone());
    }
    Ok(journal)
}

/// The tables the plan changes, once each.
fn tables(plan: &Plan) -> Vec<TableInfo> {
    let mut tables: Vec<TableInfo> = Vec::new();
    for t in plan.steps.iter().filter_map(|s| s.table()) {
        if !tables.iter().any(|x| x.table == t.table) {
            tables.push(t.clone());
        }
    }
    tables
}

/// With table locks nothing held other applies off between planning and now (and one may just
/// have been waited for): every change must still touch the rows it was planned for. The first
/// change of a table checks its rows in the pass that journals them; the others (a later
/// change of a table an earlier one changes, anything after a custom fix, principals, grants)
/// are inspected again here, before anything runs. The application lock is taken before
/// planning: nothing to check then. Returns the changes that check their rows as they journal
/// them.
async fn unchanged_since_planned<E: Engine>(
    tx: &mut Transaction<'_, E, &mut Journal>,
    run: (&mut crate::inspect::CatalogCache, Given<'_>),
    resolved: &Resolved,
    plan: &Plan,
    lock: Lock,
) -> Result<Vec<ChangeId>, Error> {
    let (at_capture, elsewhere) = verification(plan);
    if lock != Lock::Tables || elsewhere.is_empty() {
        return Ok(at_capture);
    }
    let subset = resolved.only(&elsewhere);
    let engine = tx.engine();
    let found = crate::inspect::inspect_again(engine, run.0, &subset, run.1).await?;
    let fresh = plan::build(
        &subset,
        &found.observed,
        &engine.flavor().dialect(),
        run.1.mask_key,
    )?;
    let planned: Vec<_> = plan
        .planned_changes()
        .into_iter()
        .filter(|c| elsewhere.contains(&c.id))
        .collect();
    if plan::staleness(&planned, &fresh).is_empty() {
        Ok(at_capture)
    } else {
        Err(Error::ChangedWhileWaiting)
    }
}

/// Commits the apply's transaction.
async fn commit<E: Engine>(
    tx: Transaction<'_, E, &mut Journal>,
    (plan, first): (&Plan, usize),
    path: &Path,
) -> Result<(), Error> {
    match tx.commit().await {
        Ok(()) => Ok(()),
        Err(Committed::NotRecorded(e)) => Err(Error::Journal(e)),
        Err(Committed::Failed(failed)) => {
            // A plan without steps changed nothing: the commit's own error says all there is.
            let Some(last) = plan.steps.last() else {
                return Err(Error::from(failed.cause));
            };
            Err(Error::Failed(Box::new(Failure {
                change: last.id.clone(),
                statement: "COMMIT TRANSACTION".into(),
                committed_before: plan.steps[..first].iter().map(|s| s.id.clone()).collect(),
                rolled_back_changes: plan.steps[first..].iter().map(|s| s.id.clone()).collect(),
                pending: vec![],
                rolled_back: failed.rolled_back,
                journal: path.to_path_buf(),
                cause: Masked::from_message(&failed.cause.to_string()),
            })))
        }
    }
}

/// The plan after the apply. What could differ now: the resources that changed, and the
/// read-only checks (values that name production). The others were found converged by the
/// plan and nothing changed them.
async fn inspect_after<E: Engine>(
    run: &mut Run<E>,
    resolved: &Resolved,
    plan: &Plan,
) -> Result<Plan, Error> {
    let mut check: Vec<ChangeId> = plan.steps.iter().map(|s| s.id.clone()).collect();
    check.extend(
        resolved
            .resources()
            .iter()
            // Masking rules too: the copies scan after apply looks for the originals of each.
            .filter(|r| {
                r.kind.is_read_only()
                    || matches!(r.kind, crate::state::desired::ResourceKind::Masked(_))
            })
            .map(|r| r.id.clone()),
    );
    let check = resolved.only(&check);
    let found = run.inspect_again(&check).await?;
    Ok(plan::build(
        &check,
        &found.observed,
        &run.engine.flavor().dialect(),
        run.keys.mask.as_ref(),
    )?)
}

#[cfg(test)]
mod tests;
