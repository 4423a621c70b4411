//! Apply: guard → statements → one transaction → re-inspect → report.
//!
//! `apply` executes exactly the plan it is given, in its order, then inspects again: the
//! database has converged when a fresh plan is empty.

use std::path::{Path, PathBuf};

use crate::change::{Change, ChangeId, ChangeKind, Dialect};
use crate::engine::{self, Engine, Lock, Masked, Statement};
use crate::guard::{self, GuardError};
use crate::journal::{self, Journal, RowImage, Status};
use crate::plan::{self, Plan};
use crate::state::desired::Desired;
use crate::state::fingerprint::Fingerprint;
use crate::state::observed::TableInfo;
use crate::state::value::Value;

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
#[error("change {change} failed{}; {}\n  statement: {statement}\n  journal: {}", rolled_back_note(*.rolled_back), pending_note(.pending), .journal.display())]
pub struct Failure {
    /// The change whose statement failed.
    pub change: ChangeId,
    /// The statement, secrets masked.
    pub statement: String,
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
    for step in &plan.steps {
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
    engine: &mut E,
    desired: &Desired,
    plan: &Plan,
    options: Options<'_>,
    progress: &mut dyn FnMut(Progress<'_>),
) -> Result<ApplyReport, Error> {
    preflight(desired, plan, options.connected_host)?;
    let mut statements: Vec<Vec<Statement>> = Vec::with_capacity(plan.steps.len());
    for step in &plan.steps {
        statements.push(engine.statements(step, &plan.catalog)?);
    }
    let recipients = journal::Recipients::parse(&desired.journal.recipients).map_err(|source| {
        journal::Error::Seal {
            path: options.journal.to_path_buf(),
            source,
        }
    })?;
    let mut journal = Journal::create(options.journal, &plan.target, options.source, recipients)?;
    let mut tables: Vec<TableInfo> = Vec::new();
    for t in plan.steps.iter().filter_map(|s| s.table()) {
        if !tables.iter().any(|x| x.table == t.table) {
            tables.push(t.clone());
        }
    }
    if let Err(e) = engine.begin(&options.lock, &tables).await {
        journal.finish(Status::RolledBack)?;
        return Err(e.into());
    }
    // With table locks nothing held other applies off between planning and now (and one may
    // just have been waited for): every change must still touch the rows it was planned for.
    // The first change of a table checks its rows in the pass that journals them (below);
    // the others (a later change of a table an earlier one changes, anything after a custom
    // fix, principals, grants) are inspected again here, before anything runs. The
    // application lock is taken before planning.
    let (at_capture, elsewhere) = verification(plan);
    if options.lock == Lock::Tables && !elsewhere.is_empty() {
        let subset = desired.only(&elsewhere);
        let fresh = engine
            .inspect(&subset)
            .await
            .map_err(Error::from)
            .and_then(|found| {
                plan::build(&subset, &found.observed, &engine.dialect()).map_err(Error::from)
            });
        let planned: Vec<_> = plan
            .planned_changes()
            .into_iter()
            .filter(|c| elsewhere.contains(&c.id))
            .collect();
        let stale = fresh.map(|fresh| plan::staleness(&planned, &fresh));
        match stale {
            Ok(s) if s.is_empty() => {}
            Ok(_) => {
                let _ = engine.rollback().await;
                journal.finish(Status::RolledBack)?;
                return Err(Error::ChangedWhileWaiting);
            }
            Err(e) => {
                let _ = engine.rollback().await;
                journal.finish(Status::RolledBack)?;
                return Err(e);
            }
        }
    }
    let mut journaled = 0;
    let mut count = 0;
    for (position, (step, step_statements)) in plan.steps.iter().zip(&statements).enumerate() {
        let failed = |statement: String, cause: Masked, rolled_back: bool| {
            Error::Failed(Box::new(Failure {
                change: step.id.clone(),
                statement,
                rolled_back_changes: plan.steps[..position]
                    .iter()
                    .map(|s| s.id.clone())
                    .collect(),
                pending: plan.steps[position + 1..]
                    .iter()
                    .map(|s| s.id.clone())
                    .collect(),
                rolled_back,
                journal: options.journal.to_path_buf(),
                cause,
            }))
        };
        progress(Progress::Started {
            id: &step.id,
            position: position + 1,
            total: plan.steps.len(),
            rows: step.rows.count,
        });
        journal.change(step)?;
        // A row-computed change's rows are written from their images: of those it changes, the
        // key and the new values are kept (the other columns would only cost memory). It is read
        // and written a page at a time, in key order, so that one page of rows is held whatever
        // the table's size; any other change is read in one pass and runs its own statements.
        let rewrites = step.rewrites_hosts();
        let (key, written) = key_and_written(step);
        let paged = rewrites && !key.is_empty();
        let mut journaled_here = 0;
        // The rows journaled are the rows the change touches: their fingerprint must be the
        // plan's, or rows changed since planning (a change planned with no row runs after
        // triggers that fill its table during this apply: nothing to compare).
        let mut fingerprint = Fingerprint::default();
        let check_fingerprint =
            options.lock == Lock::Tables && at_capture.contains(&step.id) && step.rows.count > 0;
        let mut last_key: Option<Vec<Value>> = None;
        loop {
            let mut write_error = None;
            let mut rewritten: Vec<RowImage> = Vec::new();
            let mut page_end: Option<Vec<Value>> = None;
            let page = paged.then_some(crate::engine::sql::Page {
                after: last_key.as_deref(),
                rows: REWRITE_ROWS,
            });
            let captured = engine
                .capture(step, &plan.catalog, page, &mut |image| {
                    if paged {
                        page_end = Some(
                            key.iter()
                                .filter_map(|&i| image.values.get(i).cloned())
                                .collect(),
                        );
                    }
                    if rewrites {
                        let changes = written.iter().zip(&image.after).any(|(&i, new)| {
                            image.values.get(i).is_none_or(|old| !old.same_as(new))
                        });
                        if !changes {
                            return Ok(());
                        }
                        rewritten.push(RowImage {
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
                        });
                    }
                    journaled_here += 1;
                    fingerprint.row(&image.values);
                    journal.row(&step.id, image).map_err(|e| {
                        let text = e.to_string();
                        write_error = Some(e);
                        std::io::Error::other(text)
                    })
                })
                .await;
            // Every row read is on disk before any statement that changes it runs.
            let synced = match write_error {
                Some(e) => Err(Error::Journal(e)),
                None => if paged {
                    journal.seal_held()
                } else {
                    journal.end_change()
                }
                .and_then(|()| journal.sync())
                .map_err(Error::Journal),
            };
            let last_page = !paged || captured.as_ref().is_ok_and(|&n| n < REWRITE_ROWS as u64);
            // Read in one pass, the rows are compared with the plan before anything runs; read
            // by pages, once the last page is read (the transaction undoes the pages written).
            if captured.is_ok()
                && synced.is_ok()
                && last_page
                && check_fingerprint
                && std::mem::take(&mut fingerprint).finish() != step.rows.fingerprint
            {
                let _ = engine.rollback().await;
                journal.finish(Status::RolledBack)?;
                return Err(Error::ChangedWhileWaiting);
            }
            if let Err(e) = captured.map_err(Error::from).and(synced) {
                let rolled_back = engine.rollback().await.is_ok();
                let _ = journal.finish(Status::RolledBack);
                let first = step_statements.first();
                // The whole chain of causes: the capture's own error says only what failed.
                let cause = match first {
                    Some(statement) => Masked::new(&e, statement),
                    None => Masked::chain(&e),
                };
                return Err(failed(
                    first.map(Statement::redacted).unwrap_or_default(),
                    cause,
                    rolled_back,
                ));
            }
            // A row-computed change's statements are made from the page just read (a change on
            // a table without primary key is refused by the statement maker).
            let made;
            let page_statements: &[Statement] = if !rewrites {
                step_statements
            } else if rewritten.is_empty() {
                &[]
            } else {
                made =
                    match crate::engine::sql::rewrite_statements(step, &rewritten, engine.flavor())
                    {
                        Ok(s) => s,
                        Err(source) => {
                            let rolled_back = engine.rollback().await.is_ok();
                            journal.finish(Status::RolledBack)?;
                            return Err(failed(
                                String::new(),
                                Masked::from_message(&source.to_string()),
                                rolled_back,
                            ));
                        }
                    };
                &made
            };
            for statement in page_statements {
                if let Err(e) = engine.run(statement).await {
                    let rolled_back = engine.rollback().await.is_ok();
                    journal.finish(Status::RolledBack)?;
                    return Err(failed(
                        statement.redacted(),
                        Masked::new(&e, statement),
                        rolled_back,
                    ));
                }
                count += 1;
            }
            match page_end {
                // Keys only grow from page to page; the same key twice would read forever.
                Some(end) if !last_page && last_key.as_ref() == Some(&end) => {
                    let rolled_back = engine.rollback().await.is_ok();
                    journal.finish(Status::RolledBack)?;
                    return Err(failed(
                        String::new(),
                        Masked::from_message("the next page of rows started at the same key again"),
                        rolled_back,
                    ));
                }
                Some(end) if !last_page => last_key = Some(end),
                _ => break,
            }
        }
        if paged {
            journal.end_change()?;
        }
        journaled += journaled_here;
        progress(Progress::Finished {
            id: &step.id,
            journaled: journaled_here,
        });
    }
    if let Err(e) = engine.commit().await {
        let rolled_back = engine.rollback().await.is_ok();
        journal.finish(Status::RolledBack)?;
        // A plan without steps changed nothing: the commit's own error says all there is.
        let Some(last) = plan.steps.last() else {
            return Err(Error::from(e));
        };
        return Err(Error::Failed(Box::new(Failure {
            change: last.id.clone(),
            statement: "COMMIT TRANSACTION".into(),
            rolled_back_changes: plan.steps.iter().map(|s| s.id.clone()).collect(),
            pending: vec![],
            rolled_back,
            journal: options.journal.to_path_buf(),
            cause: Masked::from_message(&e.to_string()),
        })));
    }
    journal.finish(Status::Committed)?;
    // What could differ now: the resources that changed, and the read-only checks (values that
    // name production). The others were found converged by the plan and nothing changed them.
    let dialect: Dialect = engine.dialect();
    let mut check: Vec<ChangeId> = plan.steps.iter().map(|s| s.id.clone()).collect();
    check.extend(
        desired
            .resources
            .iter()
            .filter(|r| r.kind.is_read_only())
            .map(|r| r.id.clone()),
    );
    let check = desired.only(&check);
    let found = engine.inspect(&check).await?;
    let after = plan::build(&check, &found.observed, &dialect)?;
    Ok(ApplyReport {
        applied: plan.steps.iter().map(|s| s.id.clone()).collect(),
        statements: count,
        journaled,
        journal: options.journal.to_path_buf(),
        after,
    })
}
