//! Apply: guard → statements → one transaction → re-inspect → report.
//!
//! `apply` executes exactly the plan it is given, in its order, then inspects again: the
//! database has converged when a fresh plan is empty.

use crate::change::ChangeId;
use crate::diff::Dialect;
use crate::engine::{self, Engine, Statement};
use crate::guard::{self, GuardError};
use crate::plan::{self, Plan};
use crate::state::desired::Desired;

/// What an apply did.
#[derive(Debug, Clone)]
pub struct ApplyReport {
    /// Changes executed and committed, in order.
    pub applied: Vec<ChangeId>,
    /// Statements executed.
    pub statements: usize,
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
    #[error("refusing to apply: {0}; nothing was changed")]
    Guard(#[from] GuardError),
    /// Rendering, or inspecting after the apply, failed.
    #[error(transparent)]
    Engine(#[from] engine::Error),
    /// The plan after the apply could not be built.
    #[error(transparent)]
    Plan(#[from] plan::Error),
    /// A statement failed; the transaction was rolled back.
    #[error("change {change} failed{}; {}", rolled_back_note(*.rolled_back), pending_note(.pending))]
    Failed {
        /// The change whose statement failed.
        change: ChangeId,
        /// The statement, secrets masked.
        statement: String,
        /// Changes whose statements had run before, now rolled back.
        rolled_back_changes: Vec<ChangeId>,
        /// Changes that never ran.
        pending: Vec<ChangeId>,
        /// Whether the rollback succeeded.
        rolled_back: bool,
        /// The database error.
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
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

/// Executes `plan` against the engine it was made with, then re-inspects.
///
/// # Guarantees
/// The guard is checked before anything is executed. All statements run in one transaction:
/// on any error it is rolled back and the error names the change that failed.
///
/// # Assumptions
/// Idempotent: every statement is limited to rows that still differ from the spec, so applying
/// the same spec again changes nothing, and a run interrupted before commit leaves the database
/// as it was.
///
/// # Errors
/// A guard refusal, a failed statement, or a failed re-inspection.
pub async fn run<E: Engine>(
    engine: &mut E,
    desired: &Desired,
    plan: &Plan,
    connected_host: Option<&str>,
) -> Result<ApplyReport, Error> {
    guard::check(&desired.guard, &plan.target, connected_host)?;
    let mut statements: Vec<Statement> = Vec::new();
    for step in &plan.steps {
        statements.extend(engine.statements(step, &plan.catalog)?);
    }
    if !statements.is_empty() {
        if let Err(e) = engine.execute(&statements).await {
            let failed = statements.get(e.index).map_or_else(
                || plan.steps.last().map(|s| s.id.clone()),
                |s| Some(s.source.clone()),
            );
            let change = failed.unwrap_or_else(|| plan.steps[0].id.clone());
            let position = plan.steps.iter().position(|s| s.id == change).unwrap_or(0);
            return Err(Error::Failed {
                statement: statements
                    .get(e.index)
                    .map(Statement::redacted)
                    .unwrap_or_else(|| "COMMIT TRANSACTION".into()),
                rolled_back_changes: plan.steps[..position]
                    .iter()
                    .map(|s| s.id.clone())
                    .collect(),
                pending: plan.steps[position + 1..]
                    .iter()
                    .map(|s| s.id.clone())
                    .collect(),
                rolled_back: e.rolled_back,
                source: e.source,
                change,
            });
        }
    }
    let dialect: Dialect = engine.dialect();
    let observed = engine.inspect(desired).await?;
    let after = plan::build(desired, &observed, &dialect)?;
    Ok(ApplyReport {
        applied: plan.steps.iter().map(|s| s.id.clone()).collect(),
        statements: statements.len(),
        after,
    })
}
