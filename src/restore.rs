//! Restore: the rows a journal holds, put back in one transaction, then read back and compared
//! with the journal, row by row, before anything is committed.
//!
//! Like `apply`, restore refuses any database but the one the journal was written for, holds
//! the apply lock, and changes nothing unless every statement runs and every row reads back as
//! journaled.

use std::collections::HashMap;

use crate::change::ChangeId;
use crate::engine::{self, Engine, Lock, Statement};
use crate::guard::GuardError;
use crate::journal::{RestorePlan, RestoreStep};
use crate::state::fingerprint::row_digest;
use crate::state::observed::{TableRef, Target};
use crate::state::Value;

/// What a restore did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RestoreReport {
    /// Rows that read back as journaled.
    pub rows: u64,
    /// Tables they are in.
    pub tables: usize,
    /// Statements run.
    pub statements: usize,
}

/// How a restored row differs from the journal.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Mismatch {
    /// The row is not in the table.
    Missing,
    /// The row is there with other values in these columns (it was changed after the apply).
    Differs(Vec<String>),
}

impl std::fmt::Display for Mismatch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Mismatch::Missing => f.write_str("is missing"),
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
    /// A restore statement failed.
    #[error("restoring the rows of change {change} failed; {}", rolled_back_note(*.rolled_back))]
    Statement {
        /// The journaled change.
        change: ChangeId,
        /// Whether the rollback succeeded.
        rolled_back: bool,
        /// The database's message, secret values masked.
        #[source]
        cause: crate::engine::Masked,
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

/// Checks that `target` is the database the journal was written for.
///
/// # Errors
/// [`Error::Refused`] for any other database.
pub fn check(plan: &RestorePlan, target: &Target) -> Result<(), Error> {
    if target.database.eq_ignore_ascii_case(&plan.database) {
        Ok(())
    } else {
        Err(Error::Refused(GuardError::WrongDatabase {
            expected: plan.database.clone(),
            actual: target.database.clone(),
        }))
    }
}

/// Puts the journal's rows back.
///
/// # Guarantees
/// Every statement runs in one transaction; every restored row is then read back (all
/// columns) and compared with the journal by fingerprint. The transaction is committed only if
/// every row matches; otherwise it is rolled back and the first row that differs is named.
///
/// # Assumptions
/// Idempotent: rows already present as journaled are left as they are, so restoring twice
/// changes nothing the second time.
///
/// # Errors
/// A failed statement, a row that does not read back as journaled, or an engine error.
pub async fn run<E: Engine>(
    engine: &mut E,
    plan: &RestorePlan,
    lock: &Lock,
) -> Result<RestoreReport, Error> {
    let mut statements: Vec<Vec<Statement>> = Vec::with_capacity(plan.steps.len());
    for step in &plan.steps {
        statements.push(engine.restore_statements(step)?);
    }
    let tables: Vec<_> = plan.steps.iter().map(RestoreStep::table_info).collect();
    engine.begin(lock, &tables).await?;
    let mut count = 0;
    for (step, step_statements) in plan.steps.iter().zip(&statements) {
        for statement in step_statements {
            if let Err(e) = engine.run(statement).await {
                let rolled_back = engine.rollback().await.is_ok();
                return Err(Error::Statement {
                    change: step.change.clone(),
                    rolled_back,
                    cause: crate::engine::Masked::new(&e, statement),
                });
            }
            count += 1;
        }
    }
    let mut rows = 0;
    for step in &plan.steps {
        match verify(engine, step).await {
            Ok(n) => rows += n,
            Err(Failure::Engine(e)) => {
                let _ = engine.rollback().await;
                return Err(e.into());
            }
            Err(Failure::Row { key, mismatch }) => {
                let rolled_back = engine.rollback().await.is_ok();
                return Err(Error::Mismatch {
                    change: step.change.clone(),
                    table: step.table.clone(),
                    key,
                    mismatch,
                    rolled_back,
                });
            }
        }
    }
    engine.commit().await?;
    Ok(RestoreReport {
        rows,
        tables: plan.steps.len(),
        statements: count,
    })
}

enum Failure {
    Engine(engine::Error),
    Row { key: String, mismatch: Mismatch },
}

/// Reads back every row of `step` and compares it with the journal; returns how many matched.
async fn verify<E: Engine>(engine: &mut E, step: &RestoreStep) -> Result<u64, Failure> {
    let key = key_positions(step);
    let context = format!("reading back the restored rows of {}", step.table);
    let shown = |row: &[Value]| -> String {
        if key.is_empty() {
            "no primary key (values not shown)".into()
        } else {
            step.key(row)
                .iter()
                .map(|(c, v)| format!("{c} = {v}"))
                .collect::<Vec<_>>()
                .join(", ")
        }
    };
    if key.is_empty() {
        // No key: every journaled row must be among the table's rows, as many times.
        let mut wanted: HashMap<[u8; 32], (usize, usize)> = HashMap::new();
        for (i, row) in step.rows.iter().enumerate() {
            wanted.entry(row_digest(row)).or_insert((0, i)).0 += 1;
        }
        let select = crate::engine::sql::verify_query(step, &[], engine.flavor());
        engine
            .read(&select, &context, &mut |row| {
                if let Some((n, _)) = wanted.get_mut(&row_digest(&row)) {
                    *n = n.saturating_sub(1);
                }
                Ok(())
            })
            .await
            .map_err(Failure::Engine)?;
        if let Some((_, (_, at))) = wanted.iter().find(|(_, (n, _))| *n > 0) {
            return Err(Failure::Row {
                key: shown(&step.rows[*at]),
                mismatch: Mismatch::Missing,
            });
        }
        return Ok(step.rows.len() as u64);
    }
    let key_of = |row: &[Value]| -> [u8; 32] {
        let values: Vec<Value> = key.iter().map(|&i| row[i].clone()).collect();
        row_digest(&values)
    };
    let indices: Vec<usize> = (0..step.rows.len()).collect();
    for batch in indices.chunks(crate::engine::sql::VERIFY_BATCH) {
        let mut expected: HashMap<[u8; 32], ([u8; 32], usize)> = batch
            .iter()
            .map(|&i| (key_of(&step.rows[i]), (row_digest(&step.rows[i]), i)))
            .collect();
        let mut differs = None;
        let select = crate::engine::sql::verify_query(step, batch, engine.flavor());
        engine
            .read(&select, &context, &mut |row| {
                if let Some((digest, at)) = expected.remove(&key_of(&row)) {
                    if digest != row_digest(&row) && differs.is_none() {
                        let columns = step
                            .columns
                            .iter()
                            .zip(step.rows[at].iter().zip(&row))
                            .filter(|(_, (journaled, now))| journaled != now)
                            .map(|(c, _)| c.name.clone())
                            .collect();
                        differs = Some((at, columns));
                    }
                }
                Ok(())
            })
            .await
            .map_err(Failure::Engine)?;
        if let Some((at, columns)) = differs {
            return Err(Failure::Row {
                key: shown(&step.rows[at]),
                mismatch: Mismatch::Differs(columns),
            });
        }
        if let Some((_, at)) = expected.values().min_by_key(|(_, at)| *at) {
            return Err(Failure::Row {
                key: shown(&step.rows[*at]),
                mismatch: Mismatch::Missing,
            });
        }
    }
    Ok(step.rows.len() as u64)
}

fn key_positions(step: &RestoreStep) -> Vec<usize> {
    step.primary_key
        .iter()
        .filter_map(|k| {
            step.columns
                .iter()
                .position(|c| c.name.eq_ignore_ascii_case(k))
        })
        .collect()
}
