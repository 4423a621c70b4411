//! Why an apply stopped, and what a failed change left: the errors apply returns.

use std::path::PathBuf;

use crate::change::ChangeId;
use crate::engine;
use crate::guard::GuardError;
use crate::journal;
use crate::plan;
use crate::sql::Masked;

use super::CommittedFailure;

/// Why an apply stopped.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The target is not the one the spec is for; nothing was executed.
    #[error("refusing to apply; nothing was changed")]
    Refused(#[source] GuardError),
    /// The journal could not be written: nothing is executed without it.
    #[error("the journal could not be written; nothing was changed")]
    Journal(#[source] journal::Error),
    /// Rendering, locking or reading failed.
    #[error(transparent)]
    Engine(#[from] engine::Error),
    /// A change's statements cannot be written.
    #[error(transparent)]
    Render(#[from] plan::RenderError),
    /// Inspecting again (inside the transaction, or after it) failed.
    #[error(transparent)]
    Inspect(#[from] crate::inspect::Error),
    /// The plan after the apply could not be built.
    #[error(transparent)]
    Plan(#[from] plan::Error),
    /// A saved plan no longer matches the database.
    #[error(transparent)]
    Stale(#[from] plan::StalePlan),
    /// The run holds no plan key to chain the journal with.
    #[error("no plan key to chain the journal with: set POSTCLONE_PLAN_KEY (or let postclone keep one); nothing was changed")]
    NoPlanKey,
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

pub(super) fn pending_note(pending: &[ChangeId]) -> String {
    if pending.is_empty() {
        "no change was pending".into()
    } else {
        let ids: Vec<&str> = pending.iter().map(ChangeId::as_str).collect();
        format!("not run: {}", ids.join(", "))
    }
}
