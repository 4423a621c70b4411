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

pub use column_value::{ColumnValue, Lookup, Replace};
pub use condition::{filter_tables, subselects, Condition, ConditionSpec, Predicate, Subselect};
pub use kind::{
    ColumnValues, Custom, GrantsAbsent, PrincipalsAbsent, Report, ResourceKind, RowsAbsent,
    TableEmpty,
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
    /// Oracle only: how the clone is exported and imported.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub datapump: Option<crate::datapump::DataPump>,
}
