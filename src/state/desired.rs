//! The desired state: what a spec declares, once loaded, merged and validated.
//!
//! These types are engine-neutral and carry no database handle. They derive `Deserialize` and
//! `JsonSchema` because the spec is written in exactly these shapes; the `spec` layer adds the
//! file handling, locations and cross-resource checks around them.

use std::collections::BTreeMap;
use std::fmt;
use std::path::PathBuf;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::value::Value;

/// The name a resource is known by in plans, `after:` lists, `exclude:` and `--target`.
///
/// Lowercase letters, digits, `-`, `_` and `.`; it starts with a letter or a digit.
#[derive(
    Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, JsonSchema,
)]
#[serde(try_from = "String", into = "String")]
pub struct ResourceId(#[schemars(regex(pattern = r"^[a-z0-9][a-z0-9._-]*$"))] String);

impl ResourceId {
    /// The id as written in the spec.
    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for ResourceId {
    type Error = String;

    fn try_from(id: String) -> Result<Self, Self::Error> {
        let mut chars = id.chars();
        let first_ok = chars
            .next()
            .is_some_and(|c| c.is_ascii_lowercase() || c.is_ascii_digit());
        let rest_ok = chars.all(|c| {
            c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_' || c == '.'
        });
        if first_ok && rest_ok {
            Ok(ResourceId(id))
        } else {
            Err(format!(
                "invalid resource id {id:?}: use lowercase letters, digits, '-', '_' or '.', starting with a letter or digit"
            ))
        }
    }
}

impl From<ResourceId> for String {
    fn from(id: ResourceId) -> String {
        id.0
    }
}

impl fmt::Display for ResourceId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A table as the spec names it: `name` or `schema.name`.
///
/// The name is only a lookup key: the engine finds the real table in the catalog (case-insensitively)
/// and refuses names it cannot find, so nothing written here ever reaches SQL text.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(try_from = "String", into = "String")]
pub struct TableName {
    /// The schema, when the spec names one.
    pub schema: Option<String>,
    /// The table name.
    pub name: String,
}

impl TryFrom<String> for TableName {
    type Error = String;

    fn try_from(text: String) -> Result<Self, Self::Error> {
        let invalid = |why: &str| format!("invalid table name {text:?}: {why}");
        if text.trim().is_empty() {
            return Err(invalid("it is empty"));
        }
        if text.chars().any(char::is_control) {
            return Err(invalid("it contains a control character"));
        }
        let (schema, name) = match text.split_once('.') {
            Some((schema, name)) if !schema.is_empty() && !name.is_empty() => {
                (Some(schema.to_string()), name.to_string())
            }
            Some(_) => return Err(invalid("write `table` or `schema.table`")),
            None => (None, text.clone()),
        };
        if name.len() > 128 || schema.as_ref().is_some_and(|s| s.len() > 128) {
            return Err(invalid("an identifier is longer than 128 characters"));
        }
        Ok(TableName { schema, name })
    }
}

impl From<TableName> for String {
    fn from(t: TableName) -> String {
        t.to_string()
    }
}

impl fmt::Display for TableName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.schema {
            Some(schema) => write!(f, "{schema}.{}", self.name),
            None => f.write_str(&self.name),
        }
    }
}

/// How a condition selects rows by one column.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Predicate {
    /// `column IN (values)`; a `null` among the values also selects rows where the column is
    /// NULL.
    In(Vec<Value>),
    /// `column NOT IN (values)`: rows where the column is NULL are never selected (as in SQL,
    /// whether or not `null` is listed).
    NotIn(Vec<Value>),
    /// `column IN (SELECT other_column FROM other_table WHERE ...)`: rows related to rows of
    /// another table (a site property whose definition is secret, an entity of a module...).
    InSelect(Box<Subselect>),
}

/// The rows of another table that a condition relates to, and the column it compares with.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Subselect {
    /// The other table, checked against the catalog.
    pub table: TableName,
    /// Its column whose values the condition's column must be among.
    pub column: String,
    /// Conditions on the other table's rows; empty means all of them.
    #[serde(rename = "where", default, skip_serializing_if = "Vec::is_empty")]
    pub filter: Vec<Condition>,
}

/// One condition of a `where:` list; the conditions of a list all have to hold.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "ConditionSpec", into = "ConditionSpec")]
pub struct Condition {
    /// The column tested (checked against the catalog).
    pub column: String,
    /// How it is tested.
    pub predicate: Predicate,
}

// Written as a `ConditionSpec`, so documented as one.
impl JsonSchema for Condition {
    fn schema_name() -> String {
        "Condition".into()
    }

    fn json_schema(gen: &mut schemars::gen::SchemaGenerator) -> schemars::schema::Schema {
        ConditionSpec::json_schema(gen)
    }
}

/// How a condition is written: a column and exactly one of `in`, `not_in`, `in_select`.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ConditionSpec {
    /// The column tested.
    pub column: String,
    /// Select rows whose column equals one of these values.
    #[serde(rename = "in", default, skip_serializing_if = "Option::is_none")]
    pub one_of: Option<Vec<Value>>,
    /// Select rows whose column is not NULL and equals none of these values.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub not_in: Option<Vec<Value>>,
    /// Select rows whose column equals `column` of a row of another table.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub in_select: Option<Box<Subselect>>,
}

impl TryFrom<ConditionSpec> for Condition {
    type Error = String;

    fn try_from(spec: ConditionSpec) -> Result<Self, Self::Error> {
        let column = spec.column;
        let values = |values: Vec<Value>| {
            if values.is_empty() {
                return Err(format!(
                    "condition on column {column:?} has an empty value list"
                ));
            }
            Ok(values)
        };
        let predicate = match (spec.one_of, spec.not_in, spec.in_select) {
            (Some(v), None, None) => Predicate::In(values(v)?),
            (None, Some(v), None) => Predicate::NotIn(values(v)?),
            (None, None, Some(s)) => Predicate::InSelect(s),
            _ => {
                return Err(format!(
                "condition on column {column:?} needs exactly one of `in`, `not_in` or `in_select`"
            ))
            }
        };
        Ok(Condition { column, predicate })
    }
}

impl From<Condition> for ConditionSpec {
    fn from(c: Condition) -> Self {
        let mut spec = ConditionSpec {
            column: c.column,
            one_of: None,
            not_in: None,
            in_select: None,
        };
        match c.predicate {
            Predicate::In(v) => spec.one_of = Some(v),
            Predicate::NotIn(v) => spec.not_in = Some(v),
            Predicate::InSelect(s) => spec.in_select = Some(s),
        }
        spec
    }
}

/// Every table a filter reads, its own subselects included, in order.
pub fn filter_tables(filter: &[Condition]) -> Vec<&TableName> {
    let mut out = Vec::new();
    for c in filter {
        if let Predicate::InSelect(s) = &c.predicate {
            out.push(&s.table);
            out.extend(filter_tables(&s.filter));
        }
    }
    out
}

/// Every `in_select` subquery of the desired resources' filters, once each, a nested one
/// before the subquery that contains it.
#[must_use]
pub fn subselects(desired: &Desired) -> Vec<&Subselect> {
    fn walk<'a>(filter: &'a [Condition], out: &mut Vec<&'a Subselect>) {
        for c in filter {
            if let Predicate::InSelect(s) = &c.predicate {
                walk(&s.filter, out);
                if !out.contains(&&**s) {
                    out.push(s);
                }
            }
        }
    }
    let mut out = Vec::new();
    for r in &desired.resources {
        match &r.kind {
            ResourceKind::RowsAbsent(k) => walk(&k.filter, &mut out),
            ResourceKind::ColumnValues(k) => walk(&k.filter, &mut out),
            ResourceKind::TableEmpty(_)
            | ResourceKind::Custom(_)
            | ResourceKind::PrincipalsAbsent(_)
            | ResourceKind::GrantsAbsent(_) => {}
        }
    }
    out
}

/// A value read from a row of another table, matched column by column.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Lookup {
    /// The other table, checked against the catalog.
    pub table: TableName,
    /// The column whose value is taken.
    pub column: String,
    /// Other table's column → this table's column; all must be equal. A row with no match is
    /// left untouched.
    #[serde(rename = "match")]
    pub on: BTreeMap<String, String>,
}

/// Shorthands for lookups the platform metamodel defines.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum ValueOrigin {
    /// The `DEFAULT_VALUE` of the row's site property definition
    /// (`OSSYS_SITE_PROPERTY_DEFINITION`, matched on `ID` = `SITE_PROPERTY_DEFINITION_ID`).
    SitePropertyDefault,
}

impl ValueOrigin {
    /// The lookup this shorthand stands for.
    #[must_use]
    pub fn lookup(self) -> Lookup {
        match self {
            ValueOrigin::SitePropertyDefault => Lookup {
                table: TableName {
                    schema: None,
                    name: "OSSYS_SITE_PROPERTY_DEFINITION".into(),
                },
                column: "DEFAULT_VALUE".into(),
                on: BTreeMap::from([("ID".into(), "SITE_PROPERTY_DEFINITION_ID".into())]),
            },
        }
    }
}

/// The value a column must hold.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(untagged)]
pub enum ColumnValue {
    /// A literal value, bound as a parameter.
    Literal(Value),
    /// A value from the platform metamodel: `{from: site_property_default}`.
    Derived {
        /// Which one.
        from: ValueOrigin,
    },
    /// A value read from another table: `{lookup: {table, column, match}}`.
    Lookup {
        /// Where it is read.
        lookup: Lookup,
    },
    /// Text with one part rewritten: `{replace: {from: prod.example.com, to: preprod.example.com}}`.
    Replace {
        /// The rewrite.
        replace: Replace,
    },
}

/// Rewrites every occurrence of `from` as `to`, in the column itself or (with `source`) in
/// another column of the row. Only rows whose text contains `from` are concerned. Occurrences
/// of `to` are left as they are, so a rewrite whose `to` contains its `from` (`prod.example.com`
/// → `preprod.example.com`) applies once and converges.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Replace {
    /// The text to find (compared as the database compares text).
    pub from: String,
    /// Its replacement.
    pub to: String,
    /// Read the text from this column instead (a web reference's `URL` when its
    /// `EFFECTIVE_URL` is blank).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
}

impl ColumnValue {
    /// The lookup behind this value, if it has one.
    #[must_use]
    pub fn lookup(&self) -> Option<Lookup> {
        match self {
            ColumnValue::Literal(_) | ColumnValue::Replace { .. } => None,
            ColumnValue::Derived { from } => Some(from.lookup()),
            ColumnValue::Lookup { lookup } => Some(lookup.clone()),
        }
    }
}

/// Where a resource's rows are: a table the spec names, or the tables the platform metamodel
/// names (the physical tables of entities, found in `ossys_entity`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(untagged)]
pub enum TableTarget {
    /// `table: ossys_server`.
    Name(TableName),
    /// `table: {tables_from: {...}}`: every table named in a column of the selected rows.
    Metamodel {
        /// The selection.
        tables_from: TablesFrom,
    },
}

impl fmt::Display for TableTarget {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TableTarget::Name(name) => write!(f, "{name}"),
            TableTarget::Metamodel { tables_from } => write!(
                f,
                "the tables named by {}.{}",
                tables_from.table, tables_from.column
            ),
        }
    }
}

/// Tables named in a column of the rows of a metamodel table.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TablesFrom {
    /// The metamodel table (`ossys_entity`), checked against the catalog.
    pub table: TableName,
    /// The column holding a table name (`PHYSICAL_TABLE_NAME`).
    pub column: String,
    /// Which rows; empty means all.
    #[serde(rename = "where", default, skip_serializing_if = "Vec::is_empty")]
    pub filter: Vec<Condition>,
    /// Labels shown in the plan beside each table (entity name, module name...).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub describe: BTreeMap<String, Describe>,
}

/// A label of a metamodel-resolved table.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(untagged)]
pub enum Describe {
    /// A column of the selected row.
    Column {
        /// The column.
        column: String,
    },
    /// A value from a related table.
    Lookup {
        /// The lookup.
        lookup: Lookup,
    },
}

/// The tables a metamodel target resolved to, with their labels.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResolvedTargets {
    /// The resource whose target was resolved.
    pub resource: ResourceId,
    /// Table name and labels, in table name order.
    pub tables: Vec<(String, Vec<(String, String)>)>,
}

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
}

/// `column_values`: every row of `table` matching `where` holds the values in `set`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ColumnValues {
    /// The table (or metamodel tables), checked against the catalog.
    pub table: TableTarget,
    /// Conditions that all hold on the rows concerned; empty means every row.
    #[serde(rename = "where", default, skip_serializing_if = "Vec::is_empty")]
    pub filter: Vec<Condition>,
    /// Column name → value it must hold.
    pub set: BTreeMap<String, ColumnValue>,
    /// A missing table is a note in the plan instead of an error.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub if_exists: bool,
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
/// the check returning no rows, or `apply` reports that it did not converge.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Custom {
    /// A query; every row it returns is a drifted row.
    pub check: String,
    /// The statement that removes the drift.
    pub fix: String,
}

/// What a resource declares, by kind.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum ResourceKind {
    /// Rows absent from a table.
    RowsAbsent(RowsAbsent),
    /// Columns holding given values.
    ColumnValues(ColumnValues),
    /// A table without rows.
    TableEmpty(TableEmpty),
    /// A check query and a fix statement.
    Custom(Custom),
    /// Database users dropped, with what they own handed over.
    PrincipalsAbsent(PrincipalsAbsent),
    /// Object privileges revoked (Oracle: the clone's users on the original schemas).
    GrantsAbsent(GrantsAbsent),
}

impl ResourceKind {
    /// Every kind name, as written after `kind:`.
    pub const NAMES: [&'static str; 6] = [
        "rows_absent",
        "column_values",
        "table_empty",
        "custom",
        "principals_absent",
        "grants_absent",
    ];

    /// Where the resource's rows are, for table kinds.
    #[must_use]
    pub fn target(&self) -> Option<&TableTarget> {
        match self {
            ResourceKind::RowsAbsent(r) => Some(&r.table),
            ResourceKind::ColumnValues(r) => Some(&r.table),
            ResourceKind::TableEmpty(r) => Some(&r.table),
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

    fn set_table(&mut self, name: TableName) {
        let target = match self {
            ResourceKind::RowsAbsent(r) => &mut r.table,
            ResourceKind::ColumnValues(r) => &mut r.table,
            ResourceKind::TableEmpty(r) => &mut r.table,
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
            ResourceKind::Custom(_)
            | ResourceKind::PrincipalsAbsent(_)
            | ResourceKind::GrantsAbsent(_) => false,
        }
    }
}

/// A place in a spec file, for messages that point the user at what they wrote.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Origin {
    /// The spec file (or `<profile NAME>` for built-in profiles).
    pub file: PathBuf,
    /// 1-based line.
    pub line: usize,
    /// 1-based column.
    pub column: usize,
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}:{}", self.file.display(), self.line, self.column)
    }
}

/// One declared resource, validated.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Resource {
    /// Unique id.
    pub id: ResourceId,
    /// What it declares.
    #[serde(flatten)]
    pub kind: ResourceKind,
    /// Resources that must be applied before this one.
    pub after: Vec<ResourceId>,
    /// A sentence for the plan.
    pub description: Option<String>,
    /// Mask every value this resource shows (keys stay visible).
    pub secret: bool,
    /// Where the resource is declared.
    pub origin: Origin,
    /// Where its `table:` is written, for catalog errors.
    pub table_origin: Option<Origin>,
    /// For a resource made from a metamodel target: what the metamodel says of its table
    /// (entity, module...), shown in the plan.
    pub labels: Vec<(String, String)>,
}

/// A runbook step no database change can do; listed after the plan, in order.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ManualStep {
    /// Unique id (shared namespace with resources).
    pub id: ResourceId,
    /// One line: what to do.
    pub title: String,
    /// How to do it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub details: Option<String>,
}

/// Names that must, or must not, be the target: checked against what the server reports.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Guard {
    /// The database this spec is for; `apply` refuses any other.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub database: Option<String>,
    /// Database names that must never be the target (production's).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub forbid_databases: Vec<String>,
    /// Host names that must never be the target (production's database servers): compared
    /// with the server's own name, the host connected to, and the platform's front-end list.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub forbid_hosts: Vec<String>,
    /// Forbidden hosts a clone may still list as front-ends (a single-server production, where
    /// the database server is also the front-end): postclone removes them from the list.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub allow_front_ends: Vec<String>,
}

/// The database engine a spec targets.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum EngineKind {
    /// Microsoft SQL Server (and the embedded engine).
    Sqlserver,
    /// Oracle Database.
    Oracle,
}

/// Everything a spec declares, after includes, excludes and validation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Desired {
    /// The engine.
    pub engine: EngineKind,
    /// The connection written in the spec (after `${env:..}`), if any. May hold a password.
    #[serde(skip)]
    pub connection: Option<String>,
    /// The directory relative paths in the connection are resolved from.
    pub base_dir: PathBuf,
    /// The guard.
    pub guard: Guard,
    /// Resources, in declaration order (included files first).
    pub resources: Vec<Resource>,
    /// Manual steps, in order.
    pub manual: Vec<ManualStep>,
    /// Oracle only: how the clone is exported and imported.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub datapump: Option<crate::datapump::DataPump>,
}

/// `--target` and `--exclude`: the resources a command works on.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Selection {
    /// Only these, with the resources they must run after (`after:`, transitively). Empty: all.
    pub targets: Vec<String>,
    /// Never these, even when a target must run after them.
    pub excludes: Vec<String>,
}

/// A `--target` or `--exclude` that names nothing in the spec.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("--{flag} {id}: the spec has no resource or manual step with this id{}", did_you_mean(.closest))]
pub struct UnknownSelection {
    /// `target` or `exclude`.
    pub flag: &'static str,
    /// The id given.
    pub id: String,
    /// The closest id the spec has.
    pub closest: Option<String>,
}

fn did_you_mean(closest: &Option<String>) -> String {
    closest
        .as_ref()
        .map(|c| format!(" (did you mean {c}?)"))
        .unwrap_or_default()
}

impl Desired {
    /// Keeps the resources and manual steps `selection` names. Targets bring the resources
    /// they are declared `after:` along, since their order may depend on them (deleting
    /// referencing rows first); excludes win over both.
    ///
    /// # Errors
    /// An id that names no resource and no manual step.
    pub fn select(&self, selection: &Selection) -> Result<Desired, UnknownSelection> {
        let ids: Vec<&str> = self
            .resources
            .iter()
            .map(|r| r.id.as_str())
            .chain(self.manual.iter().map(|m| m.id.as_str()))
            .collect();
        for (flag, list) in [
            ("target", &selection.targets),
            ("exclude", &selection.excludes),
        ] {
            if let Some(id) = list.iter().find(|id| !ids.contains(&id.as_str())) {
                return Err(UnknownSelection {
                    flag,
                    id: id.clone(),
                    closest: closest(id, &ids),
                });
            }
        }
        let mut keep: Vec<&str> = selection.targets.iter().map(String::as_str).collect();
        let mut at = 0;
        while at < keep.len() {
            if let Some(r) = self.resources.iter().find(|r| r.id.as_str() == keep[at]) {
                for before in &r.after {
                    if !keep.contains(&before.as_str()) {
                        keep.push(before.as_str());
                    }
                }
            }
            at += 1;
        }
        let wanted = |id: &ResourceId| {
            (selection.targets.is_empty() || keep.contains(&id.as_str()))
                && !selection.excludes.iter().any(|e| e == id.as_str())
        };
        let mut out = self.clone();
        out.resources.retain(|r| wanted(&r.id));
        out.manual.retain(|m| wanted(&m.id));
        Ok(out)
    }
}

/// The id nearest to `id` by edit distance, if it is near enough to be a typo.
fn closest(id: &str, ids: &[&str]) -> Option<String> {
    let distance = |a: &str, b: &str| -> usize {
        let b: Vec<char> = b.chars().collect();
        let mut row: Vec<usize> = (0..=b.len()).collect();
        for (i, ca) in a.chars().enumerate() {
            let mut previous = row[0];
            row[0] = i + 1;
            for (j, cb) in b.iter().enumerate() {
                let current = row[j + 1];
                row[j + 1] = (previous + usize::from(ca != *cb))
                    .min(row[j] + 1)
                    .min(current + 1);
                previous = current;
            }
        }
        row[b.len()]
    };
    ids.iter()
        .map(|c| (distance(id, c), *c))
        .filter(|(d, _)| *d <= 3.max(id.len() / 4))
        .min()
        .map(|(_, c)| c.to_string())
}

impl Desired {
    /// Replaces each resource whose metamodel target resolved to tables by one resource per
    /// table (`PARENT.table_name`), labelled; `after:` lists follow. A target that resolved to
    /// no table stays as it is, and the plan says so.
    #[must_use]
    pub fn expand(&self, resolved: &[ResolvedTargets]) -> Desired {
        let children = |id: &ResourceId| -> Option<Vec<ResourceId>> {
            let r = resolved.iter().find(|r| &r.resource == id)?;
            (!r.tables.is_empty()).then(|| r.tables.iter().map(|(t, _)| child_id(id, t)).collect())
        };
        let rewrite_after = |after: &[ResourceId]| -> Vec<ResourceId> {
            after
                .iter()
                .flat_map(|a| children(a).unwrap_or_else(|| vec![a.clone()]))
                .collect()
        };
        let mut resources = Vec::with_capacity(self.resources.len());
        for r in &self.resources {
            let tables = resolved
                .iter()
                .find(|x| x.resource == r.id)
                .filter(|x| !x.tables.is_empty());
            let after = rewrite_after(&r.after);
            match tables {
                None => resources.push(Resource { after, ..r.clone() }),
                Some(x) => {
                    for (table, labels) in &x.tables {
                        let mut kind = r.kind.clone();
                        kind.set_table(TableName {
                            schema: None,
                            name: table.clone(),
                        });
                        resources.push(Resource {
                            id: child_id(&r.id, table),
                            kind,
                            after: after.clone(),
                            labels: labels.clone(),
                            ..r.clone()
                        });
                    }
                }
            }
        }
        Desired {
            resources,
            ..self.clone()
        }
    }

    /// The resource with this id.
    #[must_use]
    pub fn resource(&self, id: &ResourceId) -> Option<&Resource> {
        self.resources.iter().find(|r| &r.id == id)
    }
}

/// `saml-configuration` + `OSUSR_U1_CONFIGIDP` → `saml-configuration.osusr_u1_configidp`.
fn child_id(parent: &ResourceId, table: &str) -> ResourceId {
    let suffix: String = table
        .chars()
        .map(|c| {
            let c = c.to_ascii_lowercase();
            if c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' {
                c
            } else {
                '-'
            }
        })
        .collect();
    ResourceId(format!("{parent}.{suffix}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Ids accept the documented alphabet and reject the rest.
    #[test]
    fn resource_id_alphabet() {
        assert!(ResourceId::try_from("security.tokens-1_a".to_string()).is_ok());
        assert!(ResourceId::try_from("Tokens".to_string()).is_err());
        assert!(ResourceId::try_from("-x".to_string()).is_err());
        assert!(ResourceId::try_from(String::new()).is_err());
    }

    /// A metamodel target becomes one labelled resource per table; `after:` follows; a target
    /// that resolved to nothing stays.
    #[test]
    fn expansion() {
        let target: TableTarget = serde_yaml::from_str(
            "{tables_from: {table: ossys_entity, column: PHYSICAL_TABLE_NAME}}",
        )
        .unwrap();
        let resource = |id: &str, table: TableTarget, after: &[&str]| {
            crate::test_support::resource(
                id,
                ResourceKind::TableEmpty(TableEmpty {
                    table,
                    if_exists: false,
                }),
                after,
            )
        };
        let desired = crate::test_support::desired(vec![
            resource("saml", target.clone(), &[]),
            resource(
                "next",
                TableTarget::Name(TableName::try_from("t".to_string()).unwrap()),
                &["saml"],
            ),
        ]);
        let resolved = |tables: &[&str]| ResolvedTargets {
            resource: ResourceId::try_from("saml".to_string()).unwrap(),
            tables: tables
                .iter()
                .map(|t| {
                    (
                        t.to_string(),
                        vec![("module".to_string(), "Users".to_string())],
                    )
                })
                .collect(),
        };
        let expanded = desired.expand(&[resolved(&["OSUSR_A", "OSUSR_B"])]);
        let ids: Vec<&str> = expanded.resources.iter().map(|r| r.id.as_str()).collect();
        assert_eq!(ids, vec!["saml.osusr_a", "saml.osusr_b", "next"]);
        assert_eq!(expanded.resources[0].kind.table().unwrap().name, "OSUSR_A");
        assert_eq!(expanded.resources[0].labels[0].1, "Users");
        let after: Vec<&str> = expanded.resources[2]
            .after
            .iter()
            .map(ResourceId::as_str)
            .collect();
        assert_eq!(after, vec!["saml.osusr_a", "saml.osusr_b"]);
        let unresolved = desired.expand(&[resolved(&[])]);
        assert_eq!(unresolved.resources, desired.resources);
    }

    /// `--target` brings what the target runs after; `--exclude` wins; unknown ids are refused
    /// with the nearest known one.
    #[test]
    fn selection() {
        let id = |s: &str| ResourceId::try_from(s.to_string()).unwrap();
        let resource = |name: &str, after: &[&str]| {
            crate::test_support::resource(
                name,
                ResourceKind::TableEmpty(TableEmpty {
                    table: TableTarget::Name(TableName::try_from(name.to_string()).unwrap()),
                    if_exists: false,
                }),
                after,
            )
        };
        let mut desired = crate::test_support::desired(vec![
            resource("mappings", &[]),
            resource("connections", &["mappings"]),
            resource("servers", &[]),
        ]);
        desired.manual = vec![ManualStep {
            id: id("republish"),
            title: "Republish".into(),
            details: None,
        }];
        let select = |targets: &[&str], excludes: &[&str]| {
            let selection = Selection {
                targets: targets.iter().map(|s| s.to_string()).collect(),
                excludes: excludes.iter().map(|s| s.to_string()).collect(),
            };
            desired.select(&selection).map(|d| {
                d.resources
                    .iter()
                    .map(|r| r.id.to_string())
                    .chain(d.manual.iter().map(|m| m.id.to_string()))
                    .collect::<Vec<_>>()
            })
        };
        assert_eq!(
            select(&[], &[]).unwrap(),
            ["mappings", "connections", "servers", "republish"]
        );
        assert_eq!(
            select(&["connections"], &[]).unwrap(),
            ["mappings", "connections"]
        );
        assert_eq!(
            select(&["connections"], &["mappings"]).unwrap(),
            ["connections"]
        );
        assert_eq!(
            select(&[], &["servers", "republish"]).unwrap(),
            ["mappings", "connections"]
        );
        let unknown = select(&["conections"], &[]).unwrap_err();
        assert_eq!(
            unknown.to_string(),
            "--target conections: the spec has no resource or manual step with this id (did you mean connections?)"
        );
        assert_eq!(select(&[], &["zzz"]).unwrap_err().closest, None);
    }

    /// A table name splits into schema and name, and refuses empty parts.
    #[test]
    fn table_name_parses() {
        let t = TableName::try_from("dbo.ossys_server".to_string()).unwrap();
        assert_eq!(t.schema.as_deref(), Some("dbo"));
        assert_eq!(t.name, "ossys_server");
        assert!(TableName::try_from(".x".to_string()).is_err());
        assert!(TableName::try_from(" ".to_string()).is_err());
    }

    /// A condition needs exactly one of `in` / `not_in`, with values.
    #[test]
    fn condition_needs_one_operator() {
        let ok: Condition = serde_yaml::from_str("{column: NAME, not_in: ['(Main)']}").unwrap();
        assert!(matches!(ok.predicate, Predicate::NotIn(_)));
        let sub: Condition = serde_yaml::from_str(
            "{column: ID, in_select: {table: T, column: X, where: [{column: S, in: [1]}]}}",
        )
        .unwrap();
        assert!(matches!(sub.predicate, Predicate::InSelect(_)));
        let both = serde_yaml::from_str::<Condition>("{column: NAME, in: [a], not_in: [b]}");
        assert!(both.unwrap_err().to_string().contains("exactly one"));
        let empty = serde_yaml::from_str::<Condition>("{column: NAME, in: []}");
        assert!(empty.unwrap_err().to_string().contains("empty"));
        let null: Condition = serde_yaml::from_str("{column: URL, in: [null, '']}").unwrap();
        assert_eq!(
            null.predicate,
            Predicate::In(vec![Value::Null, Value::Text(String::new())])
        );
    }

    /// A column value is a literal scalar or a derived origin.
    #[test]
    fn column_value_forms() {
        let v: BTreeMap<String, ColumnValue> =
            serde_yaml::from_str("{A: ' ', B: 0, C: {from: site_property_default}}").unwrap();
        assert_eq!(v["A"], ColumnValue::Literal(Value::Text(" ".into())));
        assert_eq!(v["B"], ColumnValue::Literal(Value::Int(0)));
        assert_eq!(
            v["C"].lookup().unwrap().table.name,
            "OSSYS_SITE_PROPERTY_DEFINITION"
        );
        let l: ColumnValue =
            serde_yaml::from_str("{lookup: {table: D, column: V, match: {ID: D_ID}}}").unwrap();
        assert_eq!(l.lookup().unwrap().on["ID"], "D_ID");
    }
}
