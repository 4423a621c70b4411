//! Changes the database commits by itself (Oracle commits before and after DDL such as
//! `REVOKE`): no transaction can hold them, so apply runs them before its transaction begins,
//! each journaled and synced first, and never says a rollback undid them.

use std::path::{Path, PathBuf};

use super::{pending_note, Done, Error, Progress};
use crate::change::{Change, ChangeId};
use crate::engine::Engine;
use crate::journal::{Journal, Status};
use crate::plan::Plan;
use crate::sql::{Masked, Statement};

/// A change the database commits by itself failed: what ran before it stays committed.
#[derive(Debug, thiserror::Error)]
#[error("change {change} failed after {ran} of its statements; it runs outside the apply transaction (the database commits it by itself), so no rollback undoes what ran{}; {}\n  statement: {statement}\n  journal: {}", committed_note(.committed), pending_note(.pending), .journal.display())]
pub struct CommittedFailure {
    /// The change whose statement failed.
    pub change: ChangeId,
    /// Its statements that ran (and stay committed) before the one that failed.
    pub ran: usize,
    /// The statement, secrets masked.
    pub statement: String,
    /// Changes of the same kind that ran before it, committed.
    pub committed: Vec<ChangeId>,
    /// Changes that never ran (the transaction never began).
    pub pending: Vec<ChangeId>,
    /// The journal, which lists what each change was to do.
    pub journal: PathBuf,
    /// The database's message, secret values masked.
    #[source]
    pub cause: Masked,
}

fn committed_note(committed: &[ChangeId]) -> String {
    if committed.is_empty() {
        String::new()
    } else {
        let ids: Vec<&str> = committed.iter().map(ChangeId::as_str).collect();
        format!("; committed before it: {}", ids.join(", "))
    }
}

/// Runs `steps`, the plan's first, each journaled and synced before its statements run.
///
/// # Errors
/// A journal that cannot be written (nothing of the step ran), or a failed statement
/// ([`Error::CommittedFailed`]; the journal is closed as rolled back, no transaction having
/// begun, and the message names what stays committed).
pub(super) async fn run<E: Engine>(
    engine: &mut E,
    journal: &mut Journal,
    plan: &Plan,
    (steps, statements): (&[Change], &[Vec<Statement>]),
    path: &Path,
    progress: &mut dyn FnMut(Progress<'_>),
) -> Result<Done, Error> {
    let mut done = Done::default();
    for (position, (step, step_statements)) in steps.iter().zip(statements).enumerate() {
        progress(Progress::Started {
            id: &step.id,
            position: position + 1,
            total: plan.steps.len(),
            rows: step.rows.count,
        });
        journal.change(step)?;
        journal.end_change()?;
        journal.sync()?;
        for (ran, statement) in step_statements.iter().enumerate() {
            progress(Progress::Sent {
                id: &step.id,
                statement,
            });
            if let Err(e) = engine.run(statement).await {
                let _ = journal.finish(Status::RolledBack);
                let ids = |steps: &[Change]| steps.iter().map(|s| s.id.clone()).collect();
                return Err(Error::CommittedFailed(Box::new(CommittedFailure {
                    change: step.id.clone(),
                    ran,
                    statement: statement.redacted(),
                    committed: ids(&steps[..position]),
                    pending: ids(&plan.steps[position + 1..]),
                    journal: path.to_path_buf(),
                    cause: Masked::new(&e, statement, step.sensitive()),
                })));
            }
        }
        done.statements += step_statements.len();
        progress(Progress::Finished {
            id: &step.id,
            journaled: 0,
        });
    }
    Ok(done)
}
