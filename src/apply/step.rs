//! One change inside the apply transaction, as pages the executor runs: its rows read and
//! journaled (a page at a time for a row-computed change) and compared with the plan before
//! the page's statements are given to run.

use std::borrow::Cow;
use std::path::Path;

use super::insert::Insert;
use super::{Error, Progress};
use crate::change::{Change, ChangeKind};
use crate::engine::{self, Engine};
use crate::executor::{Executor, Failure, Step, Writes};
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
        Error::Failed(Box::new(super::Failure {
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

impl From<Failure<StepFailure>> for StepFailure {
    fn from(e: Failure<StepFailure>) -> StepFailure {
        match e {
            Failure::Step(e) => e,
            Failure::Statement { statement, cause } => StepFailure::Statement { statement, cause },
            Failure::Queues(e) => StepFailure::Statement {
                statement: String::new(),
                cause: Masked::chain(&e),
            },
        }
    }
}

/// Runs one change inside the transaction through `executor`: its rows journaled and its
/// statements run, with the events its writes queued deleted when its table has triggers.
pub(super) async fn run_in_transaction<E: Engine>(
    tx: &mut Transaction<'_, E, &mut Journal>,
    plan: &Plan,
    (step, statements): (&Change, &[Statement]),
    (check, progress): (bool, &mut dyn FnMut(Progress<'_>)),
    executor: &mut Executor<'_>,
) -> Result<Done, StepFailure> {
    let triggered = step.table().is_some_and(|t| {
        plan.catalog
            .triggers
            .iter()
            .any(|(table, _)| *table == t.table)
    });
    let (engine, journal) = tx.parts();
    let mut sent = |statement: &Statement| {
        progress(Progress::Sent {
            id: &step.id,
            statement,
        });
    };
    let writes = Writes {
        change: &step.id,
        triggered,
        sensitive: step.sensitive(),
    };
    if let ChangeKind::InsertRows { table, rows } = &step.kind {
        let mut insert = Insert::new(journal, plan, step, (table, rows), check);
        let statements = executor
            .run(engine, (writes, &mut insert), &mut sent)
            .await?;
        return Ok(Done {
            statements,
            journaled: insert.journaled,
        });
    }
    let mut pages = Pages {
        journal,
        plan,
        step,
        statements,
        paged: step.rewrites_hosts() && !key_and_written(step).0.is_empty(),
        check: check && step.rows.count > 0,
        fingerprint: Fingerprint::default(),
        journaled: 0,
        stage: Stage::Begin,
    };
    let statements = executor
        .run(engine, (writes, &mut pages), &mut sent)
        .await?;
    Ok(Done {
        statements,
        journaled: pages.journaled,
    })
}

/// A change's rows, journaled a page at a time, and the statements that write each page.
///
/// A row-computed change's rows are written from their images: of those it changes, the key
/// and the new values are kept (the other columns would only cost memory). It is read and
/// written a page at a time, in key order, so that one page of rows is held whatever the
/// table's size; any other change is read in one pass and runs its own statements. With
/// `check`, the rows journaled must have the plan's fingerprint: otherwise rows changed since
/// planning (a change planned with no row runs after triggers that fill its table during this
/// apply: nothing to compare).
struct Pages<'a> {
    journal: &'a mut Journal,
    plan: &'a Plan,
    step: &'a Change,
    /// The plan's statements (a change that does not compute them from its rows).
    statements: &'a [Statement],
    /// Read by pages of [`REWRITE_ROWS`] in key order.
    paged: bool,
    check: bool,
    fingerprint: Fingerprint,
    journaled: u64,
    stage: Stage,
}

/// Where a change's reading is.
enum Stage {
    /// Nothing read yet.
    Begin,
    /// The next page starts after this key.
    After(Vec<Value>),
    /// The last page was read (its statements ran once the executor asks again).
    Read,
    /// The change is closed in the journal.
    Ended,
}

impl Pages<'_> {
    /// Reads and journals the next page; returns it, and whether it is the last.
    async fn read<E: Engine>(&mut self, engine: &mut E) -> Result<Option<Page>, StepFailure> {
        let after = match std::mem::replace(&mut self.stage, Stage::Read) {
            Stage::Begin => {
                self.journal.change(self.step)?;
                None
            }
            Stage::After(key) => Some(key),
            stage @ (Stage::Read | Stage::Ended) => {
                if matches!(stage, Stage::Read) && self.paged {
                    self.journal.end_change()?;
                }
                self.stage = Stage::Ended;
                return Ok(None);
            }
        };
        let page = self.paged.then_some(sql::Page {
            after: after.as_deref(),
            rows: REWRITE_ROWS,
        });
        let read = journal_page(
            engine,
            self.journal,
            self.plan,
            self.step,
            page,
            &mut self.fingerprint,
        )
        .await
        .map_err(|e| capture_failed(e, self.statements))?;
        self.journaled += read.rows;
        let last_page = !self.paged || read.rows < REWRITE_ROWS as u64;
        // Read in one pass, the rows are compared with the plan before anything runs; read by
        // pages, once the last page is read (the transaction undoes the pages written).
        if self.check
            && last_page
            && std::mem::take(&mut self.fingerprint).finish() != self.step.rows.fingerprint
        {
            return Err(StepFailure::ChangedWhileWaiting);
        }
        match &read.last_key {
            // Keys only grow from page to page; the same key twice would read forever.
            Some(end) if !last_page && after.as_ref() == Some(end) => {
                return Err(StepFailure::Statement {
                    statement: String::new(),
                    cause: Masked::from_message(
                        "the next page of rows started at the same key again",
                    ),
                })
            }
            Some(end) if !last_page => self.stage = Stage::After(end.clone()),
            _ => {}
        }
        Ok(Some(read))
    }
}

impl<E: Engine> Step<E> for Pages<'_> {
    type Error = StepFailure;

    async fn next_page(
        &mut self,
        engine: &mut E,
    ) -> Result<Option<Cow<'_, [Statement]>>, StepFailure> {
        let Some(read) = self.read(engine).await? else {
            return Ok(None);
        };
        if !self.step.rewrites_hosts() {
            return Ok(Some(Cow::Borrowed(self.statements)));
        }
        if read.rewritten.is_empty() {
            return Ok(Some(Cow::Borrowed(&[])));
        }
        // A row-computed change's statements are made from the page just read (a change on a
        // table without primary key is refused by the statement maker).
        sql::rewrite_statements(self.step, &read.rewritten, engine.flavor())
            .map(|made| Some(Cow::Owned(made)))
            .map_err(|source| StepFailure::Statement {
                statement: String::new(),
                cause: Masked::from_message(&source.to_string()),
            })
    }
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
