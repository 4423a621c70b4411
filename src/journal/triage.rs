//! The journal's rows sorted against the database as it is now: what `restore` puts back, what
//! is back already, and what changed since the apply and is left as it is.

use super::RestorePlan;
use crate::change::ChangeId;
use crate::state::observed::TableRef;

/// Why a journaled row is not put back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reason {
    /// Its values in these columns are no longer what the apply left (it ran, or someone
    /// changed it), or a deleted row is back with other values in them.
    ChangedSince(Vec<String>),
    /// The modified row is no longer in the table.
    Gone,
}

impl std::fmt::Display for Reason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Reason::ChangedSince(columns) => {
                write!(f, "changed since the apply ({})", columns.join(", "))
            }
            Reason::Gone => f.write_str("deleted since the apply"),
        }
    }
}

/// A journaled row left as it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LeftAlone {
    /// The change that journaled it.
    pub change: ChangeId,
    /// Its table.
    pub table: TableRef,
    /// Its key, as `COLUMN = value, ...`.
    pub key: String,
    /// Its declared name.
    pub label: Option<String>,
    /// Why.
    pub reason: Reason,
}

/// The journal's rows sorted against the database as it is now.
#[derive(Debug, Clone, PartialEq)]
pub struct Triage {
    /// The changes with rows to put back: each step counts them and holds the first few, to
    /// show.
    pub plan: RestorePlan,
    /// Per step of the journal's plan, per row in journal order: whether it goes back.
    pub chosen: Vec<Vec<bool>>,
    /// Rows changed since the apply, left as they are.
    pub left_alone: Vec<LeftAlone>,
    /// Rows that already hold their journaled values: nothing to do.
    pub already_back: u64,
    /// The triggers of the tables rows go back into: writing the rows runs them.
    pub triggers: Vec<(crate::state::TableRef, String)>,
    /// The event queues (the spec's `event_queues`, with a primary key) whose events the
    /// restore's own writes queue are deleted in its transaction.
    pub queues: Vec<crate::state::TableRef>,
}
