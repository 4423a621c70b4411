//! The desired state: what a spec declares, once loaded, merged and validated.
//!
//! These types are engine-neutral and carry no database handle. They derive `Deserialize` and
//! `JsonSchema` because the spec is written in exactly these shapes; the `spec` layer adds the
//! file handling, locations and cross-resource checks around them.

mod column_value;
mod condition;
mod expansion;
mod kind;
mod names;
mod selection;
mod target;

use std::fmt;
use std::path::PathBuf;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::state::host::HostPattern;

pub use column_value::{ColumnValue, Lookup, Replace};
pub use condition::{filter_tables, subselects, Condition, ConditionSpec, Predicate, Subselect};
pub use kind::{
    ColumnValues, Custom, GrantsAbsent, PrincipalsAbsent, ReferencesAbsent, Report, ResourceKind,
    RowsAbsent, TableEmpty,
};
pub use names::{InvalidName, ResourceId, TableName};
pub use selection::{Selection, UnknownSelection};
pub use target::{Describe, ResolvedTargets, TableTarget, TablesFrom};

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

/// Production's identity, written once: the guard refuses it, `references_absent` looks for it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Production {
    /// Production's hosts, domains and IP addresses (a domain names its subdomains too): the
    /// guard refuses a server that reports itself as one, or was reached through one, and
    /// `references_absent` finds the values that name one.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub hosts: Vec<HostPattern>,
    /// Production's databases: the guard refuses them (as `guard.forbid_databases`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub databases: Vec<String>,
}

/// Columns of a table whose values are scanned for production's hosts.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ScanScope {
    /// The table (or metamodel tables), checked against the catalog.
    pub table: TableTarget,
    /// Its text columns to scan.
    pub columns: Vec<String>,
    /// Only the rows matching these conditions (a web reference's `URL` only where its
    /// `EFFECTIVE_URL` is blank).
    #[serde(rename = "where", default, skip_serializing_if = "Vec::is_empty")]
    pub filter: Vec<Condition>,
    /// Values that are secret (encrypted configuration): scanned, a hit reported by table, key
    /// and host only.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub secret: bool,
    /// A missing table is a note in the plan instead of an error.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub if_exists: bool,
}

/// Rows whose values are secret wherever a plan shows them (a secret site property), whatever
/// resource shows them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SecretRows {
    /// The table, checked against the catalog where it exists.
    pub table: TableName,
    /// The rows; empty means all of them.
    #[serde(rename = "where", default, skip_serializing_if = "Vec::is_empty")]
    pub filter: Vec<Condition>,
}

/// Where the platform lists its front-end servers, for the guard.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct FrontEnds {
    /// The table, checked against the catalog.
    pub table: TableName,
    /// Its column holding a front-end's host name.
    pub column: String,
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

fn is_default(p: &Production) -> bool {
    *p == Production::default()
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
    /// Where the platform lists its front-ends (from a profile), for the guard.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub front_ends: Option<FrontEnds>,
    /// Production's identity.
    #[serde(default, skip_serializing_if = "is_default")]
    pub production: Production,
    /// Where the platform keeps configuration values (from a profile): what
    /// `references_absent` scans when it names no tables.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub configuration_values: Vec<ScanScope>,
    /// Rows secret wherever they are shown (from a profile, or the spec).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub secret_rows: Vec<SecretRows>,
    /// Oracle only: how the clone is exported and imported.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub datapump: Option<crate::datapump::DataPump>,
}
