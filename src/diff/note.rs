//! What a plan says that is not a change: absent tables, what a scan or a masking found
//! besides its rows, values stored otherwise on this engine.

use crate::state::desired::{ResourceId, TableName};

/// Something the plan says that is not a change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Note {
    /// The resource's table does not exist on this platform, and the resource allows that.
    TableAbsent {
        /// The resource.
        id: ResourceId,
        /// The table as the spec names it.
        table: TableName,
    },
    /// An empty text the spec sets is stored otherwise on this engine (Oracle: `''` is NULL).
    EmptyText {
        /// The resource.
        id: ResourceId,
        /// The column set to `""`.
        column: String,
        /// What is written instead: `NULL` (nullable column) or `' '` (NOT NULL column).
        stored_as: String,
    },
    /// The resource has no meaning on this engine (database users on Oracle, where the users
    /// are the schemas the import created).
    NotOnThisEngine {
        /// The resource.
        id: ResourceId,
    },
    /// Columns a scan cannot read as text.
    Unscannable {
        /// The resource.
        id: ResourceId,
        /// `NAME (type)` of each.
        columns: Vec<String>,
    },
    /// Personal data a `masked` resource's rules do not cover.
    Uncovered {
        /// The resource.
        id: ResourceId,
        /// What (attributes, columns of deleted attributes).
        items: Vec<String>,
    },
    /// The masked table has triggers: updating it runs them.
    Triggers {
        /// The resource.
        id: ResourceId,
        /// Their names.
        names: Vec<String>,
    },
    /// Unique indexes masking was not checked against, for want of the key.
    UniqueUnchecked {
        /// The resource.
        id: ResourceId,
        /// The indexes.
        indexes: Vec<String>,
    },
    /// The resource's rules were not checked against the metamodel's attributes.
    AttributesUnchecked {
        /// The resource.
        id: ResourceId,
    },
    /// Personal data the journal will not keep (the spec declares no recipients).
    NotJournaled {
        /// The resource.
        id: ResourceId,
        /// The columns (or rows) that cannot be restored.
        what: String,
    },
    /// Captured rows of a carried resource that the clone does not hold: left as they are.
    NotInClone {
        /// The resource.
        id: ResourceId,
        /// The rows, by name.
        rows: Vec<String>,
        /// Why they are not inserted, when the resource says `missing: insert`.
        cannot_insert: Option<String>,
    },
    /// Rows of a carried resource's table that the capture does not hold (configuration only
    /// the clone has): left as they are, listed because the resource asks (`only_in_clone:
    /// report`).
    OnlyInClone {
        /// The resource.
        id: ResourceId,
        /// The rows, by name (at most [`ONLY_IN_CLONE_SHOWN`]).
        rows: Vec<String>,
        /// How many there are.
        total: usize,
    },
    /// Sealed captured rows that no identity opened: compared and written only with one.
    Sealed {
        /// The resource.
        id: ResourceId,
        /// How many.
        rows: usize,
    },
    /// The resource's metamodel target names no table on this platform.
    NothingResolved {
        /// The resource.
        id: ResourceId,
        /// What was looked for.
        target: String,
    },
}

/// Most rows of a carried table not captured that a plan names; the rest are counted.
pub const ONLY_IN_CLONE_SHOWN: usize = 50;
