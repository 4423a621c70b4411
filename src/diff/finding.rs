//! What read-only resources found: reports' counts and names, and values that still name
//! production, with the change of the plan that fixes each, when one does.

use crate::state::desired::Inspected;
use crate::state::desired::{ColumnValue, Desired, ResourceId, ResourceKind};
use crate::state::observed::{Catalog, DriftRow, Hit, TableInfo, TableRef};

/// What a read-only `report` resource found: shown before the changes, never a change.
#[derive(Debug, Clone, PartialEq)]
pub struct Reported {
    /// The resource.
    pub id: ResourceId,
    /// What the rows are (the resource's description).
    pub description: Option<String>,
    /// Show the count only, never the rows' names.
    pub secret: bool,
    /// Rows counted.
    pub count: u64,
    /// The first rows, with their names and details.
    pub rows: Vec<DriftRow>,
}

/// Values of one table that still name production: drift apply cannot fix by itself.
#[derive(Debug, Clone, PartialEq)]
pub struct Finding {
    /// The resource (one per scanned table).
    pub id: ResourceId,
    /// Its description.
    pub description: Option<String>,
    /// The table.
    pub table: TableRef,
    /// Every hit, in key order.
    pub hits: Vec<FoundHit>,
}

/// A hit, and the change of this plan that rewrites it, if one does.
#[derive(Debug, Clone, PartialEq)]
pub struct FoundHit {
    /// The value found.
    pub hit: Hit,
    /// The change of this plan that deletes the row, or a `replace` whose host is every host
    /// the value names: the check after apply proves whether it did.
    pub fixed_by: Option<ResourceId>,
}

/// The `column_values` resource of `desired` that rewrites every host `hit` names, if any.
pub(super) fn fixed_by(
    desired: &Desired<Inspected>,
    catalog: &Catalog,
    table: &TableInfo,
    hit: &Hit,
) -> Option<ResourceId> {
    desired.resources.iter().find_map(|r| {
        let ResourceKind::ColumnValues(k) = &r.kind else {
            return None;
        };
        let same_table = r.kind.table().and_then(|n| catalog.resolve(n)) == Some(&table.table);
        if !same_table {
            return None;
        }
        // A rewrite of the column, or of another column from this one (an effective URL
        // written from the URL, after which the URL is no longer the effective value).
        let rewrites = k.set.iter().any(|(column, value)| {
            let ColumnValue::Replace { replace } = value else {
                return false;
            };
            let reads = replace.source.as_deref().unwrap_or(column);
            reads.eq_ignore_ascii_case(&hit.column)
                && hit
                    .hosts
                    .iter()
                    .all(|h| replace.host().is_some_and(|p| p.names(h)))
        });
        rewrites.then(|| r.id.clone())
    })
}
