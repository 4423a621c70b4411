//! Apply: guard → statements → journal → one transaction → re-inspect → report.
//!
//! `apply` executes exactly the plan it is given, in its order, then inspects again: the
//! database has converged when a fresh plan is empty.

use std::path::{Path, PathBuf};

mod committing;
mod insert;

pub use committing::CommittedFailure;

use crate::change::{Change, ChangeId, ChangeKind};
use crate::engine::{self, Engine, Lock};
use crate::guard::{self, GuardError};
use crate::journal::{self, Journal, RowImage};
use crate::plan::{self, Plan};
use crate::sql::{self, Masked, Statement};
use crate::state::desired::{CarriedRows, Desired};
use crate::state::fingerprint::Fingerprint;
use crate::state::observed::TableInfo;
use crate::state::value::Value;
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

/// Why an apply stopped.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The target is not the one the spec is for; nothing was executed.
    #[error("refusing to apply; nothing was changed")]
    Refused(#[source] GuardError),
    /// The journal could not be written: nothing is executed without it.
    #[error("the journal could not be written; nothing was changed")]
    Journal(#[source] journal::Error),
    /// Rendering, locking, or inspecting after the apply, failed.
    #[error(transparent)]
    Engine(#[from] engine::Error),
    /// The plan after the apply could not be built.
    #[error(transparent)]
    Plan(#[from] plan::Error),
    /// A saved plan no longer matches the database.
    #[error(transparent)]
    Stale(#[from] plan::StalePlan),
    /// Another apply changed the planned rows while this one waited for it.
    #[error("another apply changed these rows while this one waited for its lock; nothing was changed; plan again")]
    ChangedWhileWaiting,
    /// A statement failed; the transaction was rolled back.
    #[error(transparent)]
    Failed(Box<Failure>),
    /// A change the database commits by itself failed, before the transaction began.
    #[error(transparent)]
    CommittedFailed(Box<CommittedFailure>),
    /// A change carries sealed values and no identity opened them.
    #[error("change {change} carries {rows} sealed values and needs the identity that opens them: pass --identity FILE or set POSTCLONE_IDENTITY (an identity of journal.recipients); nothing was changed")]
    NoIdentity {
        /// The change.
        change: ChangeId,
        /// The sealed rows not opened.
        rows: usize,
    },
    /// A change masks personal data and no masking key was given.
    #[error("change {change} masks personal data and needs the masking key: set {} or `masking.key_file`; nothing was changed", crate::state::masking::MASK_KEY_VARIABLE)]
    NoMaskKey {
        /// The change.
        change: ChangeId,
    },
}

/// What is checked before anything is asked or written: the guard, and the masking key of
/// every change that masks.
///
/// # Errors
/// [`Error::Refused`] or [`Error::NoMaskKey`].
pub fn preflight(
    desired: &Desired,
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

impl From<GuardError> for Error {
    fn from(e: GuardError) -> Error {
        Error::Refused(e)
    }
}

impl From<journal::Error> for Error {
    fn from(e: journal::Error) -> Error {
        Error::Journal(e)
    }
}

/// A change that failed inside the apply transaction, and what became of the others.
#[derive(Debug, thiserror::Error)]
#[error("change {change} failed{}{}; {}\n  statement: {statement}\n  journal: {}", rolled_back_note(*.rolled_back), committed_note(.committed_before), pending_note(.pending), .journal.display())]
pub struct Failure {
    /// The change whose statement failed.
    pub change: ChangeId,
    /// The statement, secrets masked.
    pub statement: String,
    /// Changes the database committed by themselves before the transaction began: no
    /// rollback undoes them.
    pub committed_before: Vec<ChangeId>,
    /// Changes whose statements had run before, now rolled back.
    pub rolled_back_changes: Vec<ChangeId>,
    /// Changes that never ran.
    pub pending: Vec<ChangeId>,
    /// Whether the rollback succeeded.
    pub rolled_back: bool,
    /// The journal, which keeps the rows that were about to change.
    pub journal: PathBuf,
    /// The database's message, secret values masked.
    #[source]
    pub cause: Masked,
}

fn rolled_back_note(rolled_back: bool) -> &'static str {
    if rolled_back {
        " and the transaction was rolled back: the database is as it was before apply"
    } else {
        " and the rollback could not be confirmed: run `postclone plan` to see the state"
    }
}

fn committed_note(committed: &[ChangeId]) -> String {
    if committed.is_empty() {
        String::new()
    } else {
        let ids: Vec<&str> = committed.iter().map(ChangeId::as_str).collect();
        format!(
            ", except for what the database committed by itself before the transaction began, which stays: {}",
            ids.join(", ")
        )
    }
}

fn pending_note(pending: &[ChangeId]) -> String {
    if pending.is_empty() {
        "no change was pending".into()
    } else {
        let ids: Vec<&str> = pending.iter().map(ChangeId::as_str).collect();
        format!("not run: {}", ids.join(", "))
    }
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

/// Rows in one page of a row-computed change: read, journaled and written together, so that
/// only these are held (as images, then as SQL text and parameters) at a time.
const REWRITE_ROWS: usize = 2_000;

/// Positions among its table's columns of a change's primary key (in the key's order) and of
/// the columns it sets; none for a change that sets no column.
fn key_and_written(step: &Change) -> (Vec<usize>, Vec<usize>) {
    let ChangeKind::SetColumns {
        table, assignments, ..
    } = &step.kind
    else {
        return (Vec::new(), Vec::new());
    };
    (
        table
            .primary_key
            .iter()
            .filter_map(|k| table.position(k))
            .collect(),
        assignments
            .iter()
            .filter_map(|a| table.position(&a.column))
            .collect(),
    )
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
    /// The secret the journal's chain is keyed with.
    pub chain_key: journal::ChainKey,
    /// The key the journal's end marker is signed with, if any.
    pub signer: Option<&'a crate::signing::SigningKey>,
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
    engine: &mut E,
    desired: &Desired,
    plan: &Plan,
    options: Options<'_>,
    progress: &mut dyn FnMut(Progress<'_>),
) -> Result<ApplyReport, Error> {
    preflight(desired, plan, options.connected_host)?;
    let statements = plan
        .steps
        .iter()
        .map(|step| plan.statements(step, engine.flavor()))
        .collect::<Result<Vec<_>, _>>()?;
    let mut journal = open_journal(desired, plan, &options)?;
    let first = plan
        .steps
        .iter()
        .take_while(|s| s.commits_by_itself())
        .count();
    let committed = committing::run(
        engine,
        &mut journal,
        plan,
        (&plan.steps[..first], &statements[..first]),
        options.journal,
        progress,
    )
    .await?;
    let mut tx = Transaction::begin(engine, &options.lock, &tables(plan), Some(&mut journal))
        .await
        .map_err(|e| match e {
            BeginError::Engine(e) => Error::Engine(e),
            BeginError::Journal(e) => Error::Journal(e),
        })?;
    let at_capture = match unchanged_since_planned(&mut tx, desired, plan, options.lock).await {
        Ok(at_capture) => at_capture,
        Err(e) => {
            tx.abort(Some(&mut journal)).await;
            return Err(e);
        }
    };
    let mut done = committed;
    let mut written: Vec<crate::state::TableRef> = Vec::new();
    let queues: Vec<TableInfo> = desired
        .event_queues
        .iter()
        .filter_map(|q| plan.catalog.get(q))
        .filter(|q| !q.primary_key.is_empty())
        .cloned()
        .collect();
    let mut unqueued: Vec<(crate::state::TableRef, u64)> =
        queues.iter().map(|q| (q.table.clone(), 0)).collect();
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
        // An earlier change may have written longer values into this table than the catalog
        // saw when planning: what the engine needs to know of them is measured again.
        let remeasured;
        let step = match step.table().filter(|t| written.contains(&t.table)) {
            None => step,
            Some(_) => match remeasure(tx.engine(), step).await {
                Ok(step) => {
                    remeasured = step;
                    &remeasured
                }
                Err(e) => {
                    let rolled_back = tx.abort(Some(&mut journal)).await;
                    let failure = StepFailure::Statement {
                        statement: String::new(),
                        cause: Masked::chain(&e),
                    };
                    return Err(failure.into_error(
                        plan,
                        (first, position),
                        rolled_back,
                        options.journal,
                    ));
                }
            },
        };
        if let Some(t) = step.table() {
            written.push(t.table.clone());
        }
        let triggered = step.table().is_some_and(|t| {
            plan.catalog
                .triggers
                .iter()
                .any(|(table, _)| *table == t.table)
        });
        let run = if triggered && !queues.is_empty() {
            run_step_then_unqueue(
                &mut tx,
                &mut journal,
                plan,
                (step, step_statements),
                (check, &mut *progress),
                &queues,
            )
            .await
            .map(|(ran, deleted)| {
                for (n, total) in deleted.iter().zip(&mut unqueued) {
                    total.1 += n;
                }
                ran
            })
        } else {
            run_step(
                &mut tx,
                &mut journal,
                plan,
                (step, step_statements),
                (check, &mut *progress),
            )
            .await
        };
        let journaled = match run {
            Ok(ran) => done.add(&ran),
            Err(e) => {
                let rolled_back = tx.abort(Some(&mut journal)).await;
                return Err(e.into_error(plan, (first, position), rolled_back, options.journal));
            }
        };
        progress(Progress::Finished {
            id: &step.id,
            journaled,
        });
    }
    commit(tx, &mut journal, (plan, first), options.journal).await?;
    let after = inspect_after(engine, desired, plan).await?;
    Ok(ApplyReport {
        applied: plan.steps.iter().map(|s| s.id.clone()).collect(),
        statements: done.statements,
        journaled: done.journaled,
        journal: options.journal.to_path_buf(),
        unqueued,
        after,
    })
}

/// `step` with what the engine needs to know of its table's long values measured now.
async fn remeasure<E: Engine>(engine: &mut E, step: &Change) -> Result<Change, engine::Error> {
    let mut step = step.clone();
    if let Some(table) = step.table_mut() {
        *table = measured(engine, table).await?;
    }
    Ok(step)
}

/// `table` with what the engine needs to know of its long values measured now (the rows this
/// apply wrote included).
async fn measured<E: Engine>(
    engine: &mut E,
    table: &TableInfo,
) -> Result<TableInfo, engine::Error> {
    let mut catalog = crate::state::observed::Catalog::default();
    catalog.tables.push(crate::state::observed::ResolvedTable {
        requested: crate::state::desired::TableName {
            schema: Some(table.table.schema.clone()),
            name: table.table.name.clone(),
        },
        info: table.clone(),
    });
    engine.measure(&mut catalog).await?;
    Ok(catalog
        .tables
        .pop()
        .map_or_else(|| table.clone(), |measured| measured.info))
}

/// The journal an apply writes, sealed to the spec's recipients.
fn open_journal(desired: &Desired, plan: &Plan, options: &Options<'_>) -> Result<Journal, Error> {
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
        options.chain_key,
    )?;
    if let Some(key) = options.signer {
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
    tx: &mut Transaction<'_, E>,
    desired: &Desired,
    plan: &Plan,
    lock: Lock,
) -> Result<Vec<ChangeId>, Error> {
    let (at_capture, elsewhere) = verification(plan);
    if lock != Lock::Tables || elsewhere.is_empty() {
        return Ok(at_capture);
    }
    let subset = desired.only(&elsewhere);
    let engine = tx.engine();
    let found = crate::inspect::inspect(engine, &subset).await?;
    let fresh = plan::build(&subset, &found.observed, &engine.flavor().dialect())?;
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

/// What the steps run so far did.
#[derive(Debug, Default)]
struct Done {
    statements: usize,
    journaled: u64,
}

impl Done {
    /// Counts a step; returns the rows it journaled.
    fn add(&mut self, step: &Done) -> u64 {
        self.statements += step.statements;
        self.journaled += step.journaled;
        step.journaled
    }
}

/// How a step failed inside the transaction, before the rollback.
enum StepFailure {
    /// A statement (or the journaling of its rows) failed.
    Statement { statement: String, cause: Masked },
    /// The journal could not be written.
    Journal(journal::Error),
    /// The rows are no longer those planned.
    ChangedWhileWaiting,
}

impl StepFailure {
    /// The apply's error, once the transaction was rolled back (or not) after step `position`
    /// (the steps before `first` ran before the transaction).
    fn into_error(
        self,
        plan: &Plan,
        (first, position): (usize, usize),
        rolled_back: bool,
        journal: &Path,
    ) -> Error {
        let (statement, cause) = match self {
            StepFailure::Statement { statement, cause } => (statement, cause),
            StepFailure::Journal(e) => return Error::Journal(e),
            StepFailure::ChangedWhileWaiting => return Error::ChangedWhileWaiting,
        };
        let ids = |steps: &[Change]| steps.iter().map(|s| s.id.clone()).collect();
        Error::Failed(Box::new(Failure {
            change: plan.steps[position].id.clone(),
            statement,
            committed_before: ids(&plan.steps[..first]),
            rolled_back_changes: ids(&plan.steps[first..position]),
            pending: ids(&plan.steps[position + 1..]),
            rolled_back,
            journal: journal.to_path_buf(),
            cause,
        }))
    }
}

impl From<journal::Error> for StepFailure {
    fn from(e: journal::Error) -> StepFailure {
        StepFailure::Journal(e)
    }
}

/// Runs a step whose table has triggers, then deletes the events its writes queued (see
/// [`crate::queues`]); returns what it did and how many events it deleted per queue.
async fn run_step_then_unqueue<E: Engine>(
    tx: &mut Transaction<'_, E>,
    journal: &mut Journal,
    plan: &Plan,
    (step, statements): (&Change, &[Statement]),
    (check, progress): (bool, &mut dyn FnMut(Progress<'_>)),
    queues: &[TableInfo],
) -> Result<(Done, Vec<u64>), StepFailure> {
    let failed = |e: crate::queues::QueueError| match e {
        crate::queues::QueueError::Read(e) => StepFailure::Statement {
            statement: String::new(),
            cause: Masked::chain(&e),
        },
        crate::queues::QueueError::Statement { statement, cause } => {
            StepFailure::Statement { statement, cause }
        }
    };
    let before = crate::queues::snapshot(tx.engine(), queues)
        .await
        .map_err(failed)?;
    let mut done = run_step(tx, journal, plan, (step, statements), (check, progress)).await?;
    let (deleted, ran) = crate::queues::delete_added(tx.engine(), queues, &before, &step.id)
        .await
        .map_err(failed)?;
    done.statements += ran;
    Ok((done, deleted))
}

/// Journals the rows of `step` and runs its statements; returns what it did.
///
/// A row-computed change's rows are written from their images: of those it changes, the key
/// and the new values are kept (the other columns would only cost memory). It is read and
/// written a page at a time, in key order, so that one page of rows is held whatever the
/// table's size; any other change is read in one pass and runs its own statements. With
/// `check`, the rows journaled must have the plan's fingerprint: otherwise rows changed since
/// planning (a change planned with no row runs after triggers that fill its table during this
/// apply: nothing to compare).
async fn run_step<E: Engine>(
    tx: &mut Transaction<'_, E>,
    journal: &mut Journal,
    plan: &Plan,
    (step, statements): (&Change, &[Statement]),
    (check, progress): (bool, &mut dyn FnMut(Progress<'_>)),
) -> Result<Done, StepFailure> {
    let engine = tx.engine();
    if let ChangeKind::InsertRows { table, rows } = &step.kind {
        return insert::run(
            engine,
            journal,
            plan,
            step,
            (table, rows),
            (check, progress),
        )
        .await;
    }
    let mut done = Done::default();
    journal.change(step)?;
    let paged = step.rewrites_hosts() && !key_and_written(step).0.is_empty();
    let check = check && step.rows.count > 0;
    let mut fingerprint = Fingerprint::default();
    let mut journaled = 0;
    let mut after: Option<Vec<Value>> = None;
    loop {
        let page = paged.then_some(sql::Page {
            after: after.as_deref(),
            rows: REWRITE_ROWS,
        });
        let read = journal_page(engine, journal, plan, step, page, &mut fingerprint).await;
        let read = match read {
            Ok(read) => read,
            Err(e) => return Err(capture_failed(e, statements)),
        };
        journaled += read.rows;
        let last_page = !paged || read.rows < REWRITE_ROWS as u64;
        // Read in one pass, the rows are compared with the plan before anything runs; read by
        // pages, once the last page is read (the transaction undoes the pages written).
        if check && last_page && std::mem::take(&mut fingerprint).finish() != step.rows.fingerprint
        {
            return Err(StepFailure::ChangedWhileWaiting);
        }
        // A row-computed change's statements are made from the page just read (a change on a
        // table without primary key is refused by the statement maker).
        let made;
        let page_statements: &[Statement] = if !step.rewrites_hosts() {
            statements
        } else if read.rewritten.is_empty() {
            &[]
        } else {
            made = sql::rewrite_statements(step, &read.rewritten, engine.flavor()).map_err(
                |source| StepFailure::Statement {
                    statement: String::new(),
                    cause: Masked::from_message(&source.to_string()),
                },
            )?;
            &made
        };
        done.statements += run_statements(engine, step, page_statements, progress).await?;
        match read.last_key {
            // Keys only grow from page to page; the same key twice would read forever.
            Some(end) if !last_page && after.as_ref() == Some(&end) => {
                return Err(StepFailure::Statement {
                    statement: String::new(),
                    cause: Masked::from_message(
                        "the next page of rows started at the same key again",
                    ),
                })
            }
            Some(end) if !last_page => after = Some(end),
            _ => break,
        }
    }
    if paged {
        journal.end_change()?;
    }
    done.journaled = journaled;
    Ok(done)
}

/// Runs a step's statements in order; returns how many ran. A failure names the statement
/// (without values) and gives the database's message, the step's sensitive values masked.
async fn run_statements<E: Engine>(
    engine: &mut E,
    step: &Change,
    statements: &[Statement],
    progress: &mut dyn FnMut(Progress<'_>),
) -> Result<usize, StepFailure> {
    for statement in statements {
        progress(Progress::Sent {
            id: &step.id,
            statement,
        });
        engine
            .run(statement)
            .await
            .map_err(|e| StepFailure::Statement {
                statement: statement.redacted(),
                cause: Masked::new(&e, statement, step.sensitive()),
            })?;
    }
    Ok(statements.len())
}

/// A failure to read or journal a change's rows: named by the change's first statement, with
/// the whole chain of causes (the capture's own error says only what failed).
fn capture_failed(e: PageError, statements: &[Statement]) -> StepFailure {
    let e = match e {
        PageError::Journal(e) => return StepFailure::Journal(e),
        PageError::Engine(e) => e,
    };
    let first = statements.first();
    StepFailure::Statement {
        statement: first.map(Statement::redacted).unwrap_or_default(),
        cause: match first {
            Some(statement) => Masked::new(&e, statement, true),
            None => Masked::chain(&e),
        },
    }
}

/// One page of a change's rows, journaled.
struct Page {
    /// Rows read and journaled.
    rows: u64,
    /// Of a row-computed change, the rows it changes: their keys and new values.
    rewritten: Vec<RowImage>,
    /// The key of the page's last row (paged changes only).
    last_key: Option<Vec<Value>>,
}

/// Why a page could not be journaled.
enum PageError {
    Engine(engine::Error),
    Journal(journal::Error),
}

/// Reads the rows of `step` (one page of them with `page`) inside the transaction and appends
/// each whole row to the journal, then seals and syncs it: every row read is on disk before
/// any statement that changes it runs.
async fn journal_page<E: Engine>(
    engine: &mut E,
    journal: &mut Journal,
    plan: &Plan,
    step: &Change,
    page: Option<sql::Page<'_>>,
    fingerprint: &mut Fingerprint,
) -> Result<Page, PageError> {
    let rewrites = step.rewrites_hosts();
    let paged = page.is_some();
    let (key, written) = key_and_written(step);
    let mut out = Page {
        rows: 0,
        rewritten: Vec::new(),
        last_key: None,
    };
    let capture =
        sql::capture_query(step, &plan.catalog, engine.flavor(), page).map_err(|source| {
            PageError::Engine(engine::Error::Render {
                change: step.id.clone(),
                source,
            })
        })?;
    if let Some(capture) = capture {
        let context = format!("journaling the rows of change {}", step.id);
        let mut write_error = None;
        let read = engine
            .stream(&capture.select, &context, &mut |values| {
                let image = capture.image(values);
                if paged {
                    out.last_key = Some(
                        key.iter()
                            .filter_map(|&i| image.values.get(i).cloned())
                            .collect(),
                    );
                }
                if rewrites {
                    let changes = written
                        .iter()
                        .zip(&image.after)
                        .any(|(&i, new)| image.values.get(i).is_none_or(|old| !old.same_as(new)));
                    if !changes {
                        return Ok(());
                    }
                    out.rewritten.push(keys_and_new_values(&image, &key));
                }
                out.rows += 1;
                fingerprint.row(&image.values);
                journal.row(&step.id, image).map_err(|e| {
                    let error = engine::Error::Query {
                        context: context.clone(),
                        source: Box::new(std::io::Error::other(e.to_string())),
                    };
                    write_error = Some(e);
                    error
                })
            })
            .await;
        if let Some(e) = write_error {
            return Err(PageError::Journal(e));
        }
        read.map_err(PageError::Engine)?;
    }
    if paged {
        journal.seal_held()
    } else {
        journal.end_change()
    }
    .and_then(|()| journal.sync())
    .map_err(PageError::Journal)?;
    Ok(out)
}

/// A row image with only its key and its new values: what a row-computed statement needs.
fn keys_and_new_values(image: &RowImage, key: &[usize]) -> RowImage {
    RowImage {
        values: image
            .values
            .iter()
            .enumerate()
            .map(|(i, v)| {
                if key.contains(&i) {
                    v.clone()
                } else {
                    Value::Null
                }
            })
            .collect(),
        after: image.after.clone(),
        label: None,
    }
}

/// Commits the apply's transaction.
async fn commit<E: Engine>(
    tx: Transaction<'_, E>,
    journal: &mut Journal,
    (plan, first): (&Plan, usize),
    path: &Path,
) -> Result<(), Error> {
    match tx.commit(Some(journal)).await {
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
    engine: &mut E,
    desired: &Desired,
    plan: &Plan,
) -> Result<Plan, Error> {
    let mut check: Vec<ChangeId> = plan.steps.iter().map(|s| s.id.clone()).collect();
    check.extend(
        desired
            .resources
            .iter()
            // Masking rules too: the copies scan after apply looks for the originals of each.
            .filter(|r| {
                r.kind.is_read_only()
                    || matches!(r.kind, crate::state::desired::ResourceKind::Masked(_))
            })
            .map(|r| r.id.clone()),
    );
    let check = desired.only(&check);
    let found = crate::inspect::inspect(engine, &check).await?;
    Ok(plan::build(
        &check,
        &found.observed,
        &engine.flavor().dialect(),
    )?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::change::ChangeKind;
    use crate::state::desired::{Condition, Predicate};
    use crate::state::observed::Drift;
    use crate::test_support::{block_on, change, desired, id, table, target, FakeEngine};

    /// Two deletes of one row each, on `T1` and `T2`, against database `d`.
    fn two_deletes() -> (Desired, Plan) {
        let mut d = desired(vec![]);
        d.guard.database = Some("d".into());
        let delete = |name: &str, t: &str| Change {
            id: id(name),
            rows: Drift {
                count: 1,
                ..Drift::default()
            },
            ..change(ChangeKind::DeleteRows {
                table: table(t),
                filter: vec![Condition {
                    column: "ID".into(),
                    predicate: Predicate::In(vec![Value::Int(1)]),
                    ignore_case: false,
                }],
            })
        };
        let plan = Plan {
            target: target(),
            steps: vec![delete("first", "T1"), delete("second", "T2")],
            notes: vec![],
            reports: vec![],
            findings: vec![],
            manual: vec![],
            dependencies: vec![],
            catalog: crate::state::observed::Catalog::default(),
            copies: None,
        };
        (d, plan)
    }

    fn apply(engine: &mut FakeEngine, journal: &Path) -> Result<ApplyReport, Error> {
        let (desired, plan) = two_deletes();
        apply_plan(engine, journal, &desired, &plan)
    }

    /// Applies `plan` under the application lock, with the test chain key.
    fn apply_plan(
        engine: &mut FakeEngine,
        journal: &Path,
        desired: &Desired,
        plan: &Plan,
    ) -> Result<ApplyReport, Error> {
        let options = Options {
            lock: Lock::Application,
            journal,
            source: None,
            connected_host: None,
            chain_key: key(),
            signer: None,
        };
        block_on(run(engine, desired, plan, options, &mut |_| {}))
    }

    fn key() -> journal::ChainKey {
        journal::ChainKey::from_bytes([5; 32])
    }

    fn keyed() -> journal::ReadOptions {
        journal::ReadOptions {
            key: Some(key()),
            ..journal::ReadOptions::default()
        }
    }

    fn journal_status(path: &Path) -> Option<journal::Status> {
        journal::read(path, None, keyed(), &[])
            .ok()
            .and_then(|p| p.status)
    }

    /// A statement that fails rolls the transaction back: the error names the change, the
    /// changes rolled back and those never run; nothing is committed; the journal says it was
    /// rolled back and keeps the rows that were about to change. See: issue 22
    #[test]
    fn a_failed_statement_rolls_back_and_names_the_change_issue_22() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("j.jsonl");
        let mut engine = FakeEngine {
            fail_run: Some(1),
            reads: [vec![vec![Value::Int(1)]], vec![vec![Value::Int(1)]]].into(),
            ..FakeEngine::default()
        };
        let Err(Error::Failed(failure)) = apply(&mut engine, &path) else {
            panic!("the apply did not fail: {:?}", engine.log);
        };
        assert_eq!(failure.change.as_str(), "second");
        assert_eq!(failure.rolled_back_changes, [id("first")]);
        assert!(failure.pending.is_empty());
        assert!(failure.rolled_back);
        assert!(
            failure.statement.contains("DELETE FROM [dbo].[T2]"),
            "{}",
            failure.statement
        );
        assert!(
            engine.called("rollback") && !engine.called("commit"),
            "{:?}",
            engine.log
        );
        assert_eq!(journal_status(&path), Some(journal::Status::RolledBack));
        let kept = journal::read(&path, None, keyed(), &[]).unwrap();
        assert_eq!(kept.steps.iter().map(|s| s.count).sum::<u64>(), 2);
    }

    /// Oracle commits `REVOKE` by itself: it runs before the transaction begins, journaled
    /// first, and a later failure never claims the rollback undid it (the error names it as
    /// committed, the rolled-back changes exclude it). A failed `REVOKE` says what stays
    /// committed and that nothing else ran. See: issue 35
    #[test]
    fn changes_the_database_commits_by_itself_run_before_the_transaction_issue_35() {
        let grant = |privilege: &str| crate::state::observed::Grant {
            grantee: "OSRUNTIME_PROD".into(),
            owner: "OSADMIN".into(),
            object: "OSSYS_PARAMETER".into(),
            privilege: privilege.into(),
        };
        let revoke = Change {
            id: id("production-grants"),
            ..change(ChangeKind::RevokeGrants {
                grants: vec![grant("SELECT"), grant("UPDATE")],
            })
        };
        let (desired, mut plan) = two_deletes();
        plan.steps.insert(0, revoke);
        let dir = tempfile::tempdir().unwrap();
        let run_with =
            |engine: &mut FakeEngine, journal: &Path| apply_plan(engine, journal, &desired, &plan);
        // The second DELETE fails: the transaction rolls back, the REVOKEs stay.
        let path = dir.path().join("delete.jsonl");
        let mut engine = FakeEngine {
            oracle: true,
            fail_run: Some(3),
            reads: [vec![vec![Value::Int(1)]], vec![vec![Value::Int(1)]]].into(),
            ..FakeEngine::default()
        };
        let Err(Error::Failed(failure)) = run_with(&mut engine, &path) else {
            panic!("the apply did not fail: {:?}", engine.log);
        };
        let begin = engine.log.iter().position(|l| l == "begin").unwrap();
        let revokes: Vec<usize> = (0..engine.log.len())
            .filter(|&i| engine.log[i].starts_with("run REVOKE"))
            .collect();
        assert_eq!(revokes.len(), 2, "{:?}", engine.log);
        assert!(revokes.iter().all(|&i| i < begin), "{:?}", engine.log);
        assert_eq!(failure.committed_before, [id("production-grants")]);
        assert_eq!(failure.rolled_back_changes, [id("first")]);
        let message = failure.to_string();
        assert!(
            message.contains("except for what the database committed by itself before the transaction began, which stays: production-grants"),
            "{message}"
        );
        let journal = journal::read(&path, None, keyed(), &[]).unwrap();
        assert_eq!(journal.not_restorable.len(), 1);
        assert_eq!(
            journal.not_restorable[0].revoked,
            [grant("SELECT"), grant("UPDATE")]
        );

        // The second REVOKE fails: the first stays, nothing else runs, no rollback is claimed.
        let path = dir.path().join("revoke.jsonl");
        let mut engine = FakeEngine {
            oracle: true,
            fail_run: Some(1),
            ..FakeEngine::default()
        };
        let Err(Error::CommittedFailed(failure)) = run_with(&mut engine, &path) else {
            panic!("the apply did not fail: {:?}", engine.log);
        };
        assert!(
            !engine.called("begin") && !engine.called("rollback"),
            "{:?}",
            engine.log
        );
        assert_eq!(failure.ran, 1);
        assert_eq!(failure.pending, [id("first"), id("second")]);
        let message = failure.to_string();
        assert!(message.contains("no rollback undoes what ran"), "{message}");
        assert!(!message.contains("rolled back"), "{message}");
    }

    /// A rollback that fails after a statement failed is said so: the error does not claim the
    /// database is as it was. See: issue 22
    #[test]
    fn an_unconfirmed_rollback_is_reported_issue_22() {
        let dir = tempfile::tempdir().unwrap();
        let mut engine = FakeEngine {
            fail_run: Some(0),
            fail_rollback: true,
            ..FakeEngine::default()
        };
        let Err(Error::Failed(failure)) = apply(&mut engine, &dir.path().join("j.jsonl")) else {
            panic!("the apply did not fail: {:?}", engine.log);
        };
        assert_eq!(failure.change.as_str(), "first");
        assert_eq!(failure.pending, [id("second")]);
        assert!(!failure.rolled_back);
        assert!(
            failure.to_string().contains("could not be confirmed"),
            "{failure}"
        );
    }

    /// A failed commit rolls back, is named as the commit of the last change, and the journal
    /// says nothing was kept; a failed begin runs nothing. See: issue 22
    #[test]
    fn failed_commits_and_begins_keep_nothing_issue_22() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("commit.jsonl");
        let mut engine = FakeEngine {
            fail_commit: true,
            ..FakeEngine::default()
        };
        let Err(Error::Failed(failure)) = apply(&mut engine, &path) else {
            panic!("the apply did not fail: {:?}", engine.log);
        };
        assert_eq!(failure.statement, "COMMIT TRANSACTION");
        assert_eq!(failure.rolled_back_changes, [id("first"), id("second")]);
        assert_eq!(engine.log.last().map(String::as_str), Some("rollback"));
        assert_eq!(journal_status(&path), Some(journal::Status::RolledBack));

        let path = dir.path().join("begin.jsonl");
        let mut engine = FakeEngine {
            fail_begin: true,
            ..FakeEngine::default()
        };
        assert!(matches!(apply(&mut engine, &path), Err(Error::Engine(_))));
        assert_eq!(engine.log, ["begin"]);
        assert_eq!(journal_status(&path), Some(journal::Status::RolledBack));
    }
}
