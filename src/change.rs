//! Changes: what must happen to one resource's rows for the database to match the spec.
//!
//! A change says *what* to do, never *how*: engines turn it into statements.

use crate::state::desired::Inspected;
use crate::state::desired::{ColumnValue, Condition, Describe, ResourceId};
use crate::state::masking::MaskKey;
use crate::state::observed::{Drift, TableInfo};

/// Engine facts that change what a plan contains, given as data rather than engine branches.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Dialect {
    /// The engine can `TRUNCATE` inside a transaction (SQL Server can; Oracle commits).
    pub truncate_in_transaction: bool,
    /// The engine stores `''` as NULL (Oracle).
    pub empty_string_is_null: bool,
}

/// A change is named after the resource it comes from (one change per resource at most).
pub type ChangeId = ResourceId;

/// How a table is emptied.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EmptyMethod {
    /// `TRUNCATE TABLE`: no foreign key references the table and the engine truncates inside a
    /// transaction.
    Truncate,
    /// `DELETE` every row, because truncation is not allowed here.
    Delete {
        /// Why truncation is not allowed.
        reason: String,
    },
}

/// One column assignment of an update.
#[derive(Debug, Clone, PartialEq)]
pub struct Assignment {
    /// The column, as named in the catalog.
    pub column: String,
    /// The value it receives.
    pub value: ColumnValue<Inspected>,
}

/// What a change does, by kind. Rendered as `-` (delete, empty) or `~` (set, fix).
#[derive(Debug, Clone, PartialEq)]
pub enum ChangeKind {
    /// Delete the rows matching a filter.
    DeleteRows {
        /// The table.
        table: TableInfo,
        /// The rows deleted (never empty: an empty filter is `EmptyTable`).
        filter: Vec<Condition>,
    },
    /// Remove every row of a table.
    EmptyTable {
        /// The table.
        table: TableInfo,
        /// Truncate or delete.
        method: EmptyMethod,
    },
    /// Set column values on the rows matching a filter that differ.
    SetColumns {
        /// The table.
        table: TableInfo,
        /// The rows concerned (possibly all).
        filter: Vec<Condition>,
        /// The values.
        assignments: Vec<Assignment>,
    },
    /// Drop database principals, handing what they own to another principal first.
    DropPrincipals {
        /// The principals, with what they own.
        principals: Vec<crate::state::observed::Principal>,
        /// Who receives it.
        new_owner: String,
    },
    /// Revoke object privileges.
    RevokeGrants {
        /// The privileges.
        grants: Vec<crate::state::observed::Grant>,
    },
    /// Insert the captured rows the table lacks (a carry's `missing: insert`): which ones is
    /// decided inside the transaction, from the keys present then.
    InsertRows {
        /// The table.
        table: TableInfo,
        /// The captured rows and how they are written.
        rows: Box<crate::state::desired::RowsPresent>,
    },
    /// Run a custom fix statement.
    RunFix {
        /// The statement, as written in the spec.
        fix: String,
    },
}

/// One change, with the rows it affects as observed.
#[derive(Debug, Clone, PartialEq)]
pub struct Change {
    /// The resource it comes from.
    pub id: ChangeId,
    /// What it does.
    pub kind: ChangeKind,
    /// The rows that differ now.
    pub rows: Drift,
    /// Mask the values it shows.
    pub secret: bool,
    /// The resource's description.
    pub description: Option<String>,
    /// What the metamodel says of the table (entity, module), for resolved targets.
    pub labels: Vec<(String, String)>,
    /// How each row is named (the resource's `label:`): kept in the journal with the row.
    pub row_label: Option<Describe>,
    /// Its rows hold personal data: shown by key only, journaled only encrypted.
    pub personal: bool,
    /// Its rows may hold secret values (a secret resource, rows `secret_rows` covers, captured
    /// values): journaled sealed to the spec's recipients when it declares any.
    pub sealed: bool,
    /// The key masks are computed with (for a change that masks).
    pub mask_key: Option<MaskKey>,
}

/// The three Terraform-like action classes, for symbols and the summary line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// `+`
    Add,
    /// `~`
    Change,
    /// `-`
    Delete,
}

impl Action {
    /// The plan symbol.
    #[must_use]
    pub fn symbol(self) -> char {
        match self {
            Action::Add => '+',
            Action::Change => '~',
            Action::Delete => '-',
        }
    }
}

impl Change {
    /// Whether the change rewrites hosts: its new values are computed by postclone from each
    /// row read inside the transaction, and written row by row.
    #[must_use]
    pub fn rewrites_hosts(&self) -> bool {
        matches!(&self.kind, ChangeKind::SetColumns { assignments, .. }
            if assignments.iter().any(|a| matches!(a.value, ColumnValue::Replace { .. } | ColumnValue::Mask { .. } | ColumnValue::Carried(_))))
    }

    /// The captured rows of a carry: those it writes values into, or those it inserts.
    #[must_use]
    pub fn captured_rows(&self) -> Option<&crate::state::desired::CarriedRows> {
        match &self.kind {
            ChangeKind::InsertRows { rows, .. } => Some(&rows.rows),
            _ => self.carried().map(|c| &*c.rows),
        }
    }

    /// The environment's own values the change carries, when it is a carry.
    #[must_use]
    pub fn carried(&self) -> Option<&crate::state::desired::CarriedValue> {
        let ChangeKind::SetColumns { assignments, .. } = &self.kind else {
            return None;
        };
        assignments.iter().find_map(|a| match &a.value {
            ColumnValue::Carried(c) => Some(c),
            _ => None,
        })
    }

    /// Whether the change's rows may hold secret or personal values: the server's messages
    /// about them are masked. A custom fix is always: it may touch anything.
    #[must_use]
    pub fn sensitive(&self) -> bool {
        self.secret
            || self.personal
            || self.sealed
            || matches!(self.kind, ChangeKind::RunFix { .. })
    }

    /// What the change does, in two or three words (`delete rows`, `run fix`): the Markdown
    /// plan's sections and the attestation name it so.
    #[must_use]
    pub fn what(&self) -> &'static str {
        match &self.kind {
            ChangeKind::DeleteRows { .. } => "delete rows",
            ChangeKind::EmptyTable { .. } => "empty table",
            ChangeKind::SetColumns { .. } => "update rows",
            ChangeKind::InsertRows { .. } => "insert rows",
            ChangeKind::DropPrincipals { .. } => "drop users",
            ChangeKind::RevokeGrants { .. } => "revoke privileges",
            ChangeKind::RunFix { .. } => "run fix",
        }
    }

    /// Whether the database commits this change by itself, so that no transaction can hold
    /// it: Oracle commits before and after DDL such as `REVOKE` (privileges are revoked only on
    /// Oracle). Apply runs such changes before its transaction, each journaled first, and a
    /// rollback of the transaction does not undo them.
    #[must_use]
    pub fn commits_by_itself(&self) -> bool {
        matches!(self.kind, ChangeKind::RevokeGrants { .. })
    }

    /// Whether the change masks personal data (and needs the masking key).
    #[must_use]
    pub fn masks(&self) -> bool {
        matches!(&self.kind, ChangeKind::SetColumns { assignments, .. }
            if assignments.iter().any(|a| matches!(a.value, ColumnValue::Mask { .. })))
    }

    /// The action class of this change.
    #[must_use]
    pub fn action(&self) -> Action {
        match self.kind {
            ChangeKind::DeleteRows { .. }
            | ChangeKind::EmptyTable { .. }
            | ChangeKind::DropPrincipals { .. }
            | ChangeKind::RevokeGrants { .. } => Action::Delete,
            ChangeKind::SetColumns { .. } | ChangeKind::RunFix { .. } => Action::Change,
            ChangeKind::InsertRows { .. } => Action::Add,
        }
    }

    /// The table the change writes to, if it names one.
    #[must_use]
    pub fn table(&self) -> Option<&TableInfo> {
        match &self.kind {
            ChangeKind::DeleteRows { table, .. }
            | ChangeKind::EmptyTable { table, .. }
            | ChangeKind::SetColumns { table, .. }
            | ChangeKind::InsertRows { table, .. } => Some(table),
            ChangeKind::RunFix { .. }
            | ChangeKind::DropPrincipals { .. }
            | ChangeKind::RevokeGrants { .. } => None,
        }
    }

    /// The table the change writes to, to update what is known of it.
    pub fn table_mut(&mut self) -> Option<&mut TableInfo> {
        match &mut self.kind {
            ChangeKind::DeleteRows { table, .. }
            | ChangeKind::EmptyTable { table, .. }
            | ChangeKind::SetColumns { table, .. }
            | ChangeKind::InsertRows { table, .. } => Some(table),
            ChangeKind::RunFix { .. }
            | ChangeKind::DropPrincipals { .. }
            | ChangeKind::RevokeGrants { .. } => None,
        }
    }
}
