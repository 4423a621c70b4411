//! The observed state: what an engine read from the database for a desired state.
//!
//! Engines fill these types; `diff` turns them into changes. Nothing here talks to a database,
//! so `diff` and `graph` unit tests build `Observed` by hand.

use std::fmt;

use serde::{Deserialize, Serialize};

use super::desired::{ResourceId, Subselect, TableName};
use super::value::Value;

/// What the server says it is; the guard compares it with the spec.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Target {
    /// The server's own name (`@@SERVERNAME` on SQL Server).
    pub server: String,
    /// The current database.
    pub database: String,
    /// The hosts of the platform's front-end list (when the spec says where it is) that the
    /// spec's guard refuses; the others are not kept, so a long list costs no memory. Older
    /// plans and journals hold the whole list under `front_ends`: the guard filters it again.
    #[serde(default, alias = "front_ends")]
    pub forbidden_front_ends: Vec<String>,
    /// That list's table, as the catalog names it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub front_end_list: Option<TableRef>,
}

/// A table as found in the catalog: the exact schema and name, never the spec's spelling.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct TableRef {
    /// Schema (owner on Oracle).
    pub schema: String,
    /// Table name.
    pub name: String,
}

impl fmt::Display for TableRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}", self.schema, self.name)
    }
}

/// A column as found in the catalog.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ColumnInfo {
    /// Exact name.
    pub name: String,
    /// The catalog's type name, lowercase (`nvarchar`, `int`, `bit`...).
    pub data_type: String,
    /// Whether NULL is allowed.
    pub nullable: bool,
    /// Whether the database generates its values (an identity column).
    #[serde(default)]
    pub identity: bool,
    /// Whether values have no declared bound: `(MAX)` on SQL Server, `CLOB`/`BLOB` on Oracle.
    /// OutSystems stores long Text and Binary Data attributes this way.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub long: bool,
    /// The most characters (or bytes) a bounded text or binary column holds, where the catalog
    /// says (SQL Server).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_length: Option<u64>,
    /// The digits an exact decimal column holds (`DECIMAL(p,s)`, Oracle's `NUMBER(p,s)`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub precision: Option<u32>,
    /// The digits after the point an exact decimal column holds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scale: Option<u32>,
    /// The column has a default: an inserted row may leave it out.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub defaulted: bool,
}

impl ColumnInfo {
    /// A column of `data_type`, neither identity nor long.
    #[must_use]
    pub fn new(name: &str, data_type: &str, nullable: bool) -> ColumnInfo {
        ColumnInfo {
            name: name.to_string(),
            data_type: data_type.to_string(),
            nullable,
            ..ColumnInfo::default()
        }
    }
}

/// A table with its columns and primary key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TableInfo {
    /// Where it is.
    pub table: TableRef,
    /// Columns in ordinal order.
    pub columns: Vec<ColumnInfo>,
    /// Primary key columns, in key order; empty when the table has none.
    pub primary_key: Vec<String>,
}

impl TableInfo {
    /// The column with this name, compared as the catalog would (case-insensitively).
    #[must_use]
    pub fn column(&self, name: &str) -> Option<&ColumnInfo> {
        self.position(name).map(|i| &self.columns[i])
    }

    /// Where the column with this name is among the table's columns (as [`TableInfo::column`]
    /// finds it).
    #[must_use]
    pub fn position(&self, name: &str) -> Option<usize> {
        position_in(&self.columns, name)
    }

    /// Why rows written with only `given` columns cannot be inserted (and journaled, and taken
    /// out again by restore), or `None` when they can: a table without a primary key, a given
    /// column the table lacks, or columns that need a value (not nullable, no default, not an
    /// identity) that are not given.
    #[must_use]
    pub fn cannot_insert(&self, given: &[String]) -> Option<String> {
        if self.primary_key.is_empty() {
            return Some(format!(
                "{} has no primary key: inserted rows could not be found again by restore",
                self.table
            ));
        }
        if let Some(unknown) = given.iter().find(|c| self.column(c).is_none()) {
            return Some(format!("{} has no column {unknown}", self.table));
        }
        let needed: Vec<&str> = self
            .columns
            .iter()
            .filter(|c| !c.nullable && !c.defaulted && !c.identity)
            .filter(|c| !given.iter().any(|g| g.eq_ignore_ascii_case(&c.name)))
            .map(|c| c.name.as_str())
            .collect();
        (!needed.is_empty()).then(|| {
            format!(
                "{} needs a value in {}, which the capture does not hold",
                self.table,
                needed.join(", ")
            )
        })
    }
}

/// Where the column with this name is among `columns`, compared as the catalog would
/// (case-insensitively).
#[must_use]
pub fn position_in(columns: &[ColumnInfo], name: &str) -> Option<usize> {
    columns
        .iter()
        .position(|c| c.name.eq_ignore_ascii_case(name))
}

/// A foreign key: rows of `from` reference rows of `to`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ForeignKey {
    /// Constraint name.
    pub name: String,
    /// The referencing table.
    pub from: TableRef,
    /// The referenced table.
    pub to: TableRef,
}

/// One column value that differs from what the spec asks.
#[derive(Debug, Clone, PartialEq)]
pub struct ValueChange {
    /// Column name.
    pub column: String,
    /// What the row holds now.
    pub old: Value,
    /// What it must hold.
    pub new: Value,
}

/// One drifted row: its key, and for updates, the values that change.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct DriftRow {
    /// Key columns and their values (primary key, then the filter columns).
    pub key: Vec<(String, Value)>,
    /// Value changes (updates only).
    pub changes: Vec<ValueChange>,
    /// The row's name, when its resource declares `label:`.
    pub label: Option<String>,
    /// More named values (reports' `details:`).
    pub details: Vec<(String, String)>,
    /// A secret resource covers this row: its values are masked wherever it is shown.
    pub secret: bool,
    /// A value the row would be given comes from a captured row written in clear: refused
    /// when the row is secret.
    pub captured_in_clear: bool,
}

/// A scanned value that names one of production's hosts.
#[derive(Debug, Clone, PartialEq)]
pub struct Hit {
    /// The row's key columns and values.
    pub key: Vec<(String, Value)>,
    /// The column.
    pub column: String,
    /// The hosts it names, as written in the value (lower case, each once).
    pub hosts: Vec<String>,
    /// The value, unless it is secret.
    pub value: Option<Value>,
    /// A resource of the spec that deletes the row, or a `carried` one that writes back into
    /// the column a captured value naming none of production's hosts.
    pub fixed_by: Option<ResourceId>,
    /// A `carried` resource writes the column of this row back from its captured value: no
    /// other rewrite of the spec touches it.
    pub carried: bool,
}

/// The rows of a resource that do not match the spec: how many, and the first few in key order.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Drift {
    /// Every drifted row, counted.
    pub count: u64,
    /// The first rows in key order, at most the engine's sample size.
    pub sample: Vec<DriftRow>,
    /// A digest of every drifted row, whole (see `Fingerprint`): a saved plan is applied only
    /// if it is unchanged.
    pub fingerprint: String,
}

impl Drift {
    /// No drift.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.count == 0
    }
}

/// A schema a principal owns.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OwnedSchema {
    /// Schema name, from the catalog.
    pub name: String,
    /// Objects it holds: an empty schema is dropped, a non-empty one handed over.
    pub objects: u64,
}

/// An object a principal owns explicitly.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OwnedObject {
    /// Its schema.
    pub schema: String,
    /// Its name.
    pub name: String,
    /// Its type (`USER_TABLE`, `VIEW`...).
    pub kind: String,
}

/// A database principal found in the catalog, with what it owns.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    /// Exact name.
    pub name: String,
    /// Its type (`SQL_USER`, `WINDOWS_USER`...).
    pub kind: String,
    /// Schemas it owns.
    pub schemas: Vec<OwnedSchema>,
    /// Objects it owns explicitly.
    pub objects: Vec<OwnedObject>,
    /// Roles it owns.
    pub roles: Vec<String>,
}

/// An object privilege found in the catalog (journaled when revoked, to be granted again by
/// hand).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Grant {
    /// Who holds it.
    pub grantee: String,
    /// The schema owning the object.
    pub owner: String,
    /// The object.
    pub object: String,
    /// The privilege (`SELECT`, `EXECUTE`...).
    pub privilege: String,
}

/// What an engine found for one resource.
#[derive(Debug, Clone, PartialEq)]
pub enum ObservedResource {
    /// The resource's table is not in the catalog and the resource allows that (`if_exists`).
    TableAbsent {
        /// The resource.
        id: ResourceId,
    },
    /// The resource was inspected.
    Inspected {
        /// The resource.
        id: ResourceId,
        /// Its table, for table kinds.
        table: Option<TableInfo>,
        /// The rows that differ.
        drift: Drift,
    },
    /// Database principals that must be absent and are present.
    Principals {
        /// The resource.
        id: ResourceId,
        /// Those found, in name order.
        found: Vec<Principal>,
        /// The new owner, as the catalog spells it.
        new_owner: String,
    },
    /// Values that name production, found by a scan.
    References {
        /// The resource.
        id: ResourceId,
        /// The table scanned.
        table: TableInfo,
        /// Every hit, in key order.
        hits: Vec<Hit>,
        /// Columns of the scope that hold no text and were not scanned (`NAME (type)`).
        unscannable: Vec<String>,
    },
    /// Object privileges that must be absent and are present.
    Grants {
        /// The resource.
        id: ResourceId,
        /// Those found, by grantee, owner, object and privilege.
        found: Vec<Grant>,
    },
}

impl ObservedResource {
    /// The resource this observation is for.
    #[must_use]
    pub fn id(&self) -> &ResourceId {
        match self {
            ObservedResource::TableAbsent { id }
            | ObservedResource::Inspected { id, .. }
            | ObservedResource::Principals { id, .. }
            | ObservedResource::References { id, .. }
            | ObservedResource::Grants { id, .. } => id,
        }
    }
}

/// A table the spec names, as found in the catalog.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResolvedTable {
    /// The name as the spec wrote it.
    pub requested: TableName,
    /// What the catalog holds under that name.
    pub info: TableInfo,
}

/// Every table the spec names that exists, resolved once: statements are rendered from these,
/// never from the spec's spelling.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Catalog {
    /// Resolved tables, in the order first named.
    pub tables: Vec<ResolvedTable>,
    /// The values of `in_select` conditions, read once when inspecting, so that inspection,
    /// journal and statements compare with a list instead of running the subquery for every
    /// row; a subquery with too many values is left as a subquery.
    pub subselects: Vec<ResolvedSubselect>,
    /// Unique indexes of the resolved tables.
    pub unique_indexes: Vec<(TableRef, UniqueIndex)>,
    /// Triggers of the resolved tables, by name.
    pub triggers: Vec<(TableRef, String)>,
}

/// A unique index (or constraint): no two rows share its columns' values.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UniqueIndex {
    /// Its name.
    pub name: String,
    /// Its columns, in key order.
    pub columns: Vec<String>,
}

/// The non-null values an `in_select` condition's subquery returned.
#[derive(Debug, Clone, PartialEq)]
pub struct ResolvedSubselect {
    /// The subquery, as the spec declares it.
    pub subselect: Subselect,
    /// Its distinct non-null values, in order: NULL never matches `IN`, so none is kept.
    pub values: Vec<Value>,
}

impl Catalog {
    /// The table the spec calls `name`, under any spelling: names are compared as the catalog
    /// resolved them (case-insensitively, the schema when one is written), so `OSSYS_USER` and
    /// `ossys_user` are one table, and a name matching tables in several schemas is none.
    #[must_use]
    pub fn get(&self, name: &TableName) -> Option<&TableInfo> {
        let same = |a: &str, b: &str| a.eq_ignore_ascii_case(b);
        self.tables
            .iter()
            .find(|t| {
                same(&t.requested.name, &name.name)
                    && match (&t.requested.schema, &name.schema) {
                        (None, None) => true,
                        (Some(a), Some(b)) => same(a, b),
                        // `dbo.x` is the table `x` resolved to, when it is in `dbo`.
                        (None, Some(schema)) => same(&t.info.table.schema, schema),
                        // `x` is resolved on its own: it may name tables in several schemas.
                        (Some(_), None) => false,
                    }
            })
            .map(|t| &t.info)
    }

    /// Where the table the spec calls `name` is: the one identity every comparison of tables
    /// uses, whatever the spelling.
    #[must_use]
    pub fn resolve(&self, name: &TableName) -> Option<&TableRef> {
        self.get(name).map(|t| &t.table)
    }

    /// Whether two names the spec writes are one table of the catalog (never when either is
    /// not in it).
    #[must_use]
    pub fn same_table(&self, a: &TableName, b: &TableName) -> bool {
        match (self.resolve(a), self.resolve(b)) {
            (Some(a), Some(b)) => a == b,
            _ => false,
        }
    }

    /// The values read for `subselect`, if they were.
    #[must_use]
    pub fn subselect_values(&self, subselect: &Subselect) -> Option<&[Value]> {
        self.subselects
            .iter()
            .find(|r| r.subselect == *subselect)
            .map(|r| r.values.as_slice())
    }
}

/// Everything inspected for one desired state.
#[derive(Debug, Clone, PartialEq)]
pub struct Observed {
    /// The server and database inspected.
    pub target: Target,
    /// The tables the spec names, resolved.
    pub catalog: Catalog,
    /// One entry per desired resource, in the same order.
    pub resources: Vec<ObservedResource>,
    /// Foreign keys from or to the tables the spec names, whatever table is on their other
    /// side: a table another references cannot be truncated.
    pub foreign_keys: Vec<ForeignKey>,
    /// What masking's checks found, per `masked` resource.
    pub masking: Vec<MaskingFacts>,
    /// What carrying found, per carried resource with captured rows.
    pub carry: Vec<CarryFacts>,
    /// What the copies scan found, when the plan masks.
    pub copies: Option<crate::state::copies::CopiesFacts>,
}

/// What the plan says of a carried resource besides its rows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CarryFacts {
    /// The resource.
    pub id: ResourceId,
    /// The captured rows the clone does not hold, by name.
    pub missing: Vec<String>,
    /// Why they cannot be inserted, when the resource says `missing: insert`.
    pub cannot_insert: Option<String>,
    /// Captured rows sealed and not opened (no identity given).
    pub unopened: usize,
    /// Captured rows.
    pub carried: usize,
    /// Rows the clone holds and the capture does not, by name (`Orders.PageSize (2 rows)` when
    /// several rows bear one), when the resource asks that they be listed (`only_in_clone:
    /// report`).
    pub only_in_clone: Vec<String>,
}

/// What the plan says of a `masked` resource besides its rows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MaskingFacts {
    /// The resource.
    pub id: ResourceId,
    /// Personal data no rule covers (email and phone attributes, deleted attributes' columns).
    pub uncovered: Vec<String>,
    /// The triggers updating its table runs.
    pub triggers: Vec<String>,
    /// The metamodel's attributes could not be read: rules were not checked against them.
    pub attributes_unchecked: bool,
    /// Unique indexes not checked for collisions, for want of the masking key.
    pub unique_unchecked: Vec<String>,
}

impl Observed {
    /// Foreign keys by which other tables' rows reference `table`'s.
    pub fn referencing<'a>(
        &'a self,
        table: &'a TableRef,
    ) -> impl Iterator<Item = &'a ForeignKey> + 'a {
        self.foreign_keys
            .iter()
            .filter(move |fk| fk.to == *table && fk.from != *table)
    }

    /// The observation for this resource.
    #[must_use]
    pub fn resource(&self, id: &ResourceId) -> Option<&ObservedResource> {
        self.resources.iter().find(|r| r.id() == id)
    }
}

#[cfg(test)]
mod tests {
    use super::{ColumnInfo, TableInfo, TableRef, Target};

    /// Rows written with some columns can be inserted only into a table with a key, where every
    /// column they leave out allows NULL, has a default or is an identity.
    #[test]
    fn what_an_insert_needs_issue_23() {
        let mut table = TableInfo {
            table: TableRef {
                schema: "dbo".into(),
                name: "OSSYS_DBCONNECTION".into(),
            },
            columns: vec![
                ColumnInfo {
                    identity: true,
                    ..ColumnInfo::new("ID", "int", false)
                },
                ColumnInfo::new("NAME", "nvarchar", false),
                ColumnInfo::new("DATABASE_CONFIGURATION", "nvarchar", true),
                ColumnInfo {
                    defaulted: true,
                    ..ColumnInfo::new("IS_ACTIVE", "bit", false)
                },
            ],
            primary_key: vec!["ID".into()],
        };
        let given = |names: &[&str]| names.iter().map(|n| (*n).to_string()).collect::<Vec<_>>();
        assert_eq!(
            table.cannot_insert(&given(&["name", "DATABASE_CONFIGURATION"])),
            None
        );
        let needs = table.cannot_insert(&given(&["DATABASE_CONFIGURATION"]));
        assert!(
            needs
                .as_deref()
                .is_some_and(|m| m.contains("needs a value in NAME")),
            "{needs:?}"
        );
        let unknown = table.cannot_insert(&given(&["NAME", "PASSWORD"]));
        assert!(
            unknown
                .as_deref()
                .is_some_and(|m| m.contains("has no column PASSWORD")),
            "{unknown:?}"
        );
        table
            .columns
            .push(ColumnInfo::new("PROVIDER", "nvarchar", false));
        let needs = table.cannot_insert(&given(&["NAME"]));
        assert!(
            needs.as_deref().is_some_and(
                |m| m.ends_with("needs a value in PROVIDER, which the capture does not hold")
            ),
            "{needs:?}"
        );
        table.primary_key.clear();
        let keyless = table.cannot_insert(&given(&["NAME", "PROVIDER"]));
        assert!(
            keyless
                .as_deref()
                .is_some_and(|m| m.contains("no primary key")),
            "{keyless:?}"
        );
    }

    /// Plans and journals written before only the refused front-ends were kept hold the whole
    /// list: it is still read, and the guard filters it again.
    #[test]
    fn the_whole_front_end_list_of_older_files_is_read() {
        let old = r#"{"server":"s","database":"d","front_ends":["fe01","prod-sql01"]}"#;
        let target: Target = serde_json::from_str(old).expect("an older target reads");
        assert_eq!(target.forbidden_front_ends, ["fe01", "prod-sql01"]);
    }
}
