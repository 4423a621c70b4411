//! Resource kinds: what each kind declares, and what every kind is asked (its table, whether a
//! missing table is allowed).

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::stage::{Declared, Present as _, Stage};
use super::{Carried, ColumnValue, Condition, Describe, ScanScope, TableName, TableTarget};
use crate::state::host::HostPattern;
use crate::state::masking::MaskMethod;

/// `rows_absent`: no row of `table` matches `where` (every row, when `where` is empty).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RowsAbsent {
    /// The table (or metamodel tables), checked against the catalog.
    pub table: TableTarget,
    /// Conditions that all hold on the rows to delete; empty means every row.
    #[serde(rename = "where", default, skip_serializing_if = "Vec::is_empty")]
    pub filter: Vec<Condition>,
    /// A missing table is a note in the plan instead of an error.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub if_exists: bool,
    /// A name for each row, shown in the plan and kept in the journal (`restore --label`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub label: Option<Describe>,
}

/// `column_values`: every row of `table` matching `where` holds the values in `set`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[serde(bound(
    serialize = "S::Present: Serialize, S::Carried: Serialize",
    deserialize = "S::Present: Deserialize<'de>, S::Carried: Deserialize<'de>"
))]
#[schemars(rename = "ColumnValues", bound = "S: Stage")]
pub struct ColumnValues<S: Stage = Declared> {
    /// The table (or metamodel tables), checked against the catalog.
    pub table: TableTarget,
    /// Conditions that all hold on the rows concerned; empty means every row.
    #[serde(rename = "where", default, skip_serializing_if = "Vec::is_empty")]
    pub filter: Vec<Condition>,
    /// Column name → value it must hold.
    pub set: BTreeMap<String, ColumnValue<S>>,
    /// A missing table is a note in the plan instead of an error.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub if_exists: bool,
    /// A name for each row, shown in the plan and kept in the journal, so that `restore
    /// --label NAME` can give back the values of named rows only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub label: Option<Describe>,
}

/// `table_empty`: `table` holds no row.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TableEmpty {
    /// The table (or metamodel tables), checked against the catalog.
    pub table: TableTarget,
    /// A missing table is a note in the plan instead of an error.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub if_exists: bool,
}

/// `report`: read-only. Counts the rows of `table` matching `where` and names the first few;
/// shown before the changes (what the clone holds that would act if the Scheduler started).
/// Never a change, never drift: a report does not keep a plan from being empty.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Report {
    /// The table (or metamodel tables), checked against the catalog.
    pub table: TableTarget,
    /// Conditions that all hold on the rows counted; empty means every row.
    #[serde(rename = "where", default, skip_serializing_if = "Vec::is_empty")]
    pub filter: Vec<Condition>,
    /// A name for each row; without one the report is a count only (always, for rows that
    /// hold personal data).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub label: Option<Describe>,
    /// More values shown after each row's name (`since: {column: IS_RUNNING_SINCE}`).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub details: BTreeMap<String, Describe>,
    /// A missing table is a note in the plan instead of an error.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub if_exists: bool,
}

/// `references_absent`: read only. No scanned value names one of production's hosts (matched
/// by host, never as a substring). A hit is drift apply cannot fix by itself: it keeps a plan
/// from being empty and an apply from claiming convergence.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ReferencesAbsent {
    /// Production's hosts, domains and IP addresses; none means the spec's `production.hosts`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub patterns: Vec<HostPattern>,
    /// What to scan; none means the configuration values the profiles declare
    /// (`configuration_values:`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tables: Vec<ScanScope>,
}

impl ReferencesAbsent {
    /// The one scope of a resource expanded to one table per resource.
    #[must_use]
    pub fn scope(&self) -> Option<&ScanScope> {
        match self.tables.as_slice() {
            [one] => Some(one),
            _ => None,
        }
    }
}

/// `masked`: personal data masked, by module, entity and attribute name through the platform
/// metamodel (or, for the platform's own tables, by table and column): keyed, deterministic,
/// format-aware, idempotent.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Masked {
    /// The module (`ossys_espace.NAME`) whose entity is masked.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub module: Option<String>,
    /// The entity (`ossys_entity.NAME`, active, within the module).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub entity: Option<String>,
    /// A platform table instead of a module's entity (`ossys_user`); set by postclone once the
    /// entity is resolved.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub table: Option<TableTarget>,
    /// Attribute (or column) name → how it is masked.
    pub attributes: BTreeMap<String, MaskMethod>,
    /// Only the rows matching these conditions; empty means all of them.
    #[serde(rename = "where", default, skip_serializing_if = "Vec::is_empty")]
    pub filter: Vec<Condition>,
    /// A missing table or entity is a note in the plan instead of an error.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub if_exists: bool,
    /// What personal data no rule covers (email and phone attributes, columns of deleted
    /// attributes) is: reported in the plan (`report`, the default) or an error (`error`).
    #[serde(default, skip_serializing_if = "Uncovered::is_report")]
    pub uncovered: Uncovered,
}

/// What to do with personal data a `masked` resource does not cover.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Uncovered {
    /// List it in the plan.
    #[default]
    Report,
    /// Refuse to plan until a rule covers it.
    Error,
}

impl Uncovered {
    fn is_report(&self) -> bool {
        *self == Uncovered::Report
    }
}

/// `principals_absent`: the database users restored with the clone are gone; what they own is
/// handed to `new_owner` first (objects, roles, non-empty schemas), their empty schemas dropped.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PrincipalsAbsent {
    /// User names, matched case-insensitively against the catalog; absent ones need nothing.
    pub names: Vec<String>,
    /// Who receives what they own (checked against the catalog).
    #[serde(default = "default_owner")]
    pub new_owner: String,
}

fn default_owner() -> String {
    "dbo".into()
}

/// `grants_absent`: no object privilege held by `grantees` on objects owned by `owners`.
///
/// Oracle, when the clone was imported into the instance it was exported from: the clone's
/// users must not keep privileges on production's schemas (the runbook's warning). Read from
/// `DBA_TAB_PRIVS`, so the connecting user needs to see it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct GrantsAbsent {
    /// Users or roles whose privileges go (the clone's users), matched case-insensitively.
    pub grantees: Vec<String>,
    /// Schemas whose objects they must not reach (production's), matched case-insensitively.
    pub owners: Vec<String>,
}

/// `custom`: a check query whose rows are drift, and a statement that fixes them.
///
/// The escape hatch for what no other kind covers. Both are run as written; the fix must leave
/// the check returning no rows, or `apply` reports that it did not converge. A query can read
/// anything the connection can, credentials included, so the rows it returns are shown as
/// secret (counted, their columns named, their values masked) unless `show_values` says
/// otherwise; the server's messages about either statement are masked as a secret change's.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Custom {
    /// A query; every row it returns is a drifted row.
    pub check: String,
    /// The statement that removes the drift.
    pub fix: String,
    /// Show the values of the rows the check returns. Refused when the check or the fix
    /// names a table whose values are secret or personal in this spec (`secret_rows`, a secret
    /// configuration value, a `secret: true`, `personal: true` or `masked` resource's table).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub show_values: bool,
}

impl Custom {
    /// Whether the check or the fix names `table` (any schema, any case, quoted or not): its
    /// words compared with the table's own name.
    #[must_use]
    pub fn names_table(&self, table: &str) -> bool {
        let name = table.rsplit('.').next().unwrap_or(table);
        let words = |sql: &str| {
            sql.split(|c: char| !(c.is_alphanumeric() || matches!(c, '_' | '$' | '#')))
                .any(|w| w.eq_ignore_ascii_case(name))
        };
        !name.is_empty() && (words(&self.check) || words(&self.fix))
    }
}

/// What a resource declares, by kind.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
#[serde(bound(
    serialize = "S::Present: Serialize, S::Carried: Serialize",
    deserialize = "S::Present: Deserialize<'de>, S::Carried: Deserialize<'de>"
))]
pub enum ResourceKind<S: Stage = Declared> {
    /// Rows absent from a table.
    RowsAbsent(RowsAbsent),
    /// Columns holding given values.
    ColumnValues(ColumnValues<S>),
    /// A table without rows.
    TableEmpty(TableEmpty),
    /// A check query and a fix statement.
    Custom(Custom),
    /// Database users dropped, with what they own handed over.
    PrincipalsAbsent(PrincipalsAbsent),
    /// Object privileges revoked (Oracle: the clone's users on the original schemas).
    GrantsAbsent(GrantsAbsent),
    /// Rows counted and named, never changed.
    Report(Report),
    /// No value names production; read only.
    ReferencesAbsent(ReferencesAbsent),
    /// Personal data masked.
    Masked(Masked),
    /// The environment's own values carried across a clone.
    Carried(Carried),
    /// Captured rows the table lacks, inserted: a `carried` resource with `missing: insert`,
    /// once inspection resolved it (nothing, in a declaration).
    RowsPresent(S::Present),
}

/// Every resource kind, once: its variant (named as its type), its name after `kind:`, and what
/// it declares (the schema's description). The names, the loader and the JSON Schema are made
/// from this table by `$callback`, a macro taking `Variant, "name", "description";` lines: a new
/// kind is one line here, and `match` exhaustiveness points to the rest.
macro_rules! with_resource_kinds {
    ($callback:ident) => {
        $callback! {
            RowsAbsent, "rows_absent",
                "No row of `table` matches `where` (every row when `where` is empty).";
            ColumnValues, "column_values",
                "Every row of `table` matching `where` holds the values in `set`.";
            TableEmpty, "table_empty",
                "`table` holds no row (truncated where foreign keys and the engine allow, otherwise deleted).";
            Custom, "custom",
                "A check query whose rows are drift, and a statement that removes them.";
            PrincipalsAbsent, "principals_absent",
                "Database users restored with the clone dropped, what they own handed to `new_owner` first.";
            GrantsAbsent, "grants_absent",
                "Oracle: no object privilege held by `grantees` on objects owned by `owners` (the clone's users on production's schemas).";
            Report, "report",
                "Read only: the rows of `table` matching `where`, counted and named before the changes; never a change.";
            ReferencesAbsent, "references_absent",
                "Read only: no scanned value names one of production's hosts (matched by host, never as a substring); a hit keeps the plan from being empty and apply from claiming convergence.";
            Masked, "masked",
                "Personal data masked by module, entity and attribute (or a platform table and its columns): keyed, deterministic, format-aware, idempotent.";
            Carried, "carried",
                "The environment's own values of `table`'s rows, found by a stable `key`, put back after a clone from what `postclone capture` read before it (`captured:`).";
        }
    };
}
pub(crate) use with_resource_kinds;

/// `ResourceKind::NAMES` and `ResourceKind::name`, from the kinds table.
macro_rules! kind_names {
    ($($variant:ident, $name:literal, $description:literal;)*) => {
        impl ResourceKind {
            /// Every kind name, as written after `kind:`.
            pub const NAMES: &'static [&'static str] = &[$($name),*];
        }

        impl<S: Stage> ResourceKind<S> {
            /// The kind's name, as written after `kind:`.
            #[must_use]
            pub fn name(&self) -> &'static str {
                match self {
                    $(ResourceKind::$variant(_) => $name,)*
                    ResourceKind::RowsPresent(_) => "rows_present",
                }
            }
        }
    };
}
with_resource_kinds!(kind_names);

impl<S: Stage> ResourceKind<S> {
    /// The conditions on the resource's rows (none for kinds without a filter).
    #[must_use]
    pub fn filter(&self) -> &[Condition] {
        match self {
            ResourceKind::RowsAbsent(r) => &r.filter,
            ResourceKind::ColumnValues(r) => &r.filter,
            ResourceKind::Report(r) => &r.filter,
            ResourceKind::ReferencesAbsent(r) => r.scope().map_or(&[], |s| &s.filter),
            ResourceKind::Masked(r) => &r.filter,
            ResourceKind::Carried(r) => &r.filter,
            ResourceKind::RowsPresent(_)
            | ResourceKind::TableEmpty(_)
            | ResourceKind::Custom(_)
            | ResourceKind::PrincipalsAbsent(_)
            | ResourceKind::GrantsAbsent(_) => &[],
        }
    }

    /// How each row is named, when the resource says.
    #[must_use]
    pub fn label(&self) -> Option<&Describe> {
        match self {
            ResourceKind::RowsAbsent(r) => r.label.as_ref(),
            ResourceKind::ColumnValues(r) => r.label.as_ref(),
            ResourceKind::Report(r) => r.label.as_ref(),
            ResourceKind::Carried(r) => r.label.as_ref(),
            ResourceKind::RowsPresent(r) => r.label(),
            ResourceKind::ReferencesAbsent(_)
            | ResourceKind::Masked(_)
            | ResourceKind::TableEmpty(_)
            | ResourceKind::Custom(_)
            | ResourceKind::PrincipalsAbsent(_)
            | ResourceKind::GrantsAbsent(_) => None,
        }
    }

    /// More values shown for each row (reports).
    #[must_use]
    pub fn details(&self) -> Option<&BTreeMap<String, Describe>> {
        match self {
            ResourceKind::Report(r) => Some(&r.details),
            _ => None,
        }
    }

    /// Every lookup the resource reads through (`set:` values, row labels, details).
    #[must_use]
    pub fn lookups(&self) -> Vec<&super::Lookup> {
        let mut out: Vec<&super::Lookup> = Vec::new();
        if let ResourceKind::ColumnValues(k) = self {
            out.extend(k.set.values().filter_map(ColumnValue::lookup));
        }
        let described = self
            .label()
            .into_iter()
            .chain(self.details().into_iter().flat_map(BTreeMap::values));
        for d in described {
            if let Describe::Lookup { lookup } = d {
                out.push(lookup);
            }
        }
        out
    }

    /// The values the resource's rows must hold (`column_values`, and `masked` as masks).
    #[must_use]
    pub fn set(&self) -> Option<BTreeMap<String, ColumnValue<S>>> {
        match self {
            ResourceKind::ColumnValues(r) => Some(r.set.clone()),
            ResourceKind::Masked(r) => Some(
                r.attributes
                    .iter()
                    .map(|(column, method)| {
                        (
                            column.clone(),
                            ColumnValue::Mask {
                                mask: method.clone(),
                            },
                        )
                    })
                    .collect(),
            ),
            _ => None,
        }
    }

    /// Whether the resource only reads (never a change).
    #[must_use]
    pub fn is_read_only(&self) -> bool {
        matches!(
            self,
            ResourceKind::Report(_) | ResourceKind::ReferencesAbsent(_)
        )
    }

    /// Where the resource's rows are, for table kinds.
    #[must_use]
    pub fn target(&self) -> Option<&TableTarget> {
        match self {
            ResourceKind::RowsAbsent(r) => Some(&r.table),
            ResourceKind::ColumnValues(r) => Some(&r.table),
            ResourceKind::TableEmpty(r) => Some(&r.table),
            ResourceKind::Report(r) => Some(&r.table),
            ResourceKind::ReferencesAbsent(r) => r.scope().map(|s| &s.table),
            ResourceKind::Masked(r) => r.table.as_ref(),
            ResourceKind::Carried(r) => Some(&r.table),
            ResourceKind::RowsPresent(r) => Some(r.table()),
            ResourceKind::Custom(_)
            | ResourceKind::PrincipalsAbsent(_)
            | ResourceKind::GrantsAbsent(_) => None,
        }
    }

    /// The table the resource names, once any metamodel target is resolved.
    #[must_use]
    pub fn table(&self) -> Option<&TableName> {
        match self.target()? {
            TableTarget::Name(name) => Some(name),
            TableTarget::Metamodel { .. } => None,
        }
    }

    pub(super) fn set_table(&mut self, name: TableName) {
        let target = match self {
            ResourceKind::RowsAbsent(r) => &mut r.table,
            ResourceKind::ColumnValues(r) => &mut r.table,
            ResourceKind::TableEmpty(r) => &mut r.table,
            ResourceKind::Report(r) => &mut r.table,
            ResourceKind::ReferencesAbsent(r) => match r.tables.as_mut_slice() {
                [one] => &mut one.table,
                _ => return,
            },
            ResourceKind::Masked(r) => {
                r.table = Some(TableTarget::Name(name));
                return;
            }
            ResourceKind::Carried(r) => &mut r.table,
            ResourceKind::RowsPresent(r) => r.table_mut(),
            ResourceKind::Custom(_)
            | ResourceKind::PrincipalsAbsent(_)
            | ResourceKind::GrantsAbsent(_) => return,
        };
        *target = TableTarget::Name(name);
    }

    /// Whether a missing table is acceptable.
    #[must_use]
    pub fn if_exists(&self) -> bool {
        match self {
            ResourceKind::RowsAbsent(r) => r.if_exists,
            ResourceKind::ColumnValues(r) => r.if_exists,
            ResourceKind::TableEmpty(r) => r.if_exists,
            ResourceKind::Report(r) => r.if_exists,
            ResourceKind::ReferencesAbsent(r) => r.scope().is_some_and(|s| s.if_exists),
            ResourceKind::Masked(r) => r.if_exists,
            ResourceKind::Carried(r) => r.if_exists,
            ResourceKind::RowsPresent(r) => r.if_exists(),
            ResourceKind::Custom(_)
            | ResourceKind::PrincipalsAbsent(_)
            | ResourceKind::GrantsAbsent(_) => false,
        }
    }
}

impl ResourceKind<super::Inspected> {
    /// What a `carried` resource carries, once resolved: the value of its first carried
    /// column (every one holds the same key parts and rows).
    #[must_use]
    pub fn carried(&self) -> Option<&super::CarriedValue> {
        let ResourceKind::ColumnValues(k) = self else {
            return None;
        };
        k.set.values().find_map(|v| match v {
            ColumnValue::Carried(c) => Some(c),
            _ => None,
        })
    }
}
