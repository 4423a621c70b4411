//! One change inside the apply transaction: its rows read and journaled (a page at a time for
//! a row-computed change), then its statements run; with the events its writes queue deleted
//! when its table has triggers.

use std::path::Path;

use super::{insert, Error, Failure, Progress};
use crate::change::{Change, ChangeKind};
use crate::engine::{self, Engine};
use crate::journal::{self, Journal, RowImage};
use crate::plan::Plan;
use crate::sql::{self, Masked, Statement};
use crate::state::fingerprint::Fingerprint;
use crate::state::value::Value;
use crate::transaction::Transaction;

/// Rows in one page of a row-computed change: read, journaled and written together, so that
/// only these are held (as images, then as SQL text and parameters) at a time.
const REWRITE_ROWS: usize = 2_000;

/// Positions among its table's columns of a change's primary key (in the key's order) and of
/// the columns it sets; none for a change that sets no column.
pub(super) fn key_and_written(step: &Change) -> (Vec<usize>, Vec<usize>) {
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

/// What the steps run so far did.
#[derive(Debug, Default)]
pub(super) struct Done {
    pub(super) statements: usize,
    pub(super) journaled: u64,
}

impl Done {
    /// Counts a step; returns the rows it journaled.
    pub(super) fn add(&mut self, step: &Done) -> u64 {
        self.statements += step.statements;
        self.journaled += step.journaled;
        step.journaled
    }
}

/// How a step failed inside the transaction, before the rollback.
pub(super) enum StepFailure {
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
    pub(super) fn into_error(
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

/// Runs one change inside the transaction: its rows journaled and its statements run, with
/// the events its writes queued deleted when its table has triggers (counted by `watch`, per
/// queue).
pub(super) async fn run_in_transaction<E: Engine>(
    tx: &mut Transaction<'_, E, &mut Journal>,
    plan: &Plan,
    (step, statements): (&Change, &[Statement]),
    (check, progress): (bool, &mut dyn FnMut(Progress<'_>)),
    watch: &mut crate::queues::Watch<'_>,
) -> Result<Done, StepFailure> {
    let triggered = step.table().is_some_and(|t| {
        plan.catalog
            .triggers
            .iter()
            .any(|(table, _)| *table == t.table)
    });
    let failed = |e: crate::queues::QueueError| match e {
        crate::queues::QueueError::Read(e) => StepFailure::Statement {
            statement: String::new(),
            cause: Masked::chain(&e),
        },
        crate::queues::QueueError::Statement { statement, cause } => {
            StepFailure::Statement { statement, cause }
        }
    };
    let watching = watch.before(tx.engine(), triggered).await.map_err(failed)?;
    let mut done = run_step(tx, plan, (step, statements), (check, progress)).await?;
    done.statements += watch
        .after(tx.engine(), watching, &step.id)
        .await
        .map_err(failed)?;
    Ok(done)
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
    tx: &mut Transaction<'_, E, &mut Journal>,
    plan: &Plan,
    (step, statements): (&Change, &[Statement]),
    (check, progress): (bool, &mut dyn FnMut(Progress<'_>)),
) -> Result<Done, StepFailure> {
    let (engine, journal) = tx.parts();
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
pub(super) async fn run_statements<E: Engine>(
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
    let e: Box<dyn std::error::Error> = match e {
        PageError::Journal(e) => return StepFailure::Journal(e),
        PageError::Engine(e) => Box::new(e),
        PageError::Render(e) => Box::new(e),
    };
    let first = statements.first();
    StepFailure::Statement {
        statement: first.map(Statement::redacted).unwrap_or_default(),
        cause: match first {
            Some(statement) => Masked::new(&*e, statement, true),
            None => Masked::chain(&*e),
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
    Render(crate::plan::RenderError),
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
            PageError::Render(crate::plan::RenderError {
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
