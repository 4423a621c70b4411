//! The desired state: what a spec declares, once loaded, merged and validated, and (the same
//! types at the [`Inspected`] stage) what inspection resolves it into.
//!
//! These types are engine-neutral and carry no database handle. They derive `Deserialize` and
//! `JsonSchema` because the spec is written in exactly these shapes; the `spec` layer adds the
//! file handling, locations and cross-resource checks around them.

mod carried;
mod column_value;
mod condition;
mod expansion;
pub(crate) mod kind;
mod names;
mod selection;
mod stage;
mod target;

use std::fmt;
use std::path::PathBuf;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::state::host::HostPattern;

pub use carried::{
    key_text, open_rows, CaptureSignature, Captured, CapturedFrom, CapturedRow, Carried,
    CarriedRow, CarriedRows, CarriedValue, Hop, KeyPart, Missing, OnlyInClone, OpenError, Opener,
    RowsPresent, SealBinding, StableKey,
};
pub use column_value::{ColumnValue, Lookup, Replace};
pub use condition::{filter_tables, subselects, Condition, ConditionSpec, Predicate, Subselect};
pub use expansion::ENTITY_ID;
pub use kind::{
    ColumnValues, Custom, GrantsAbsent, Masked, PrincipalsAbsent, ReferencesAbsent, Report,
    ResourceKind, RowsAbsent, TableEmpty, Uncovered,
};
pub use names::{InvalidName, ResourceId, TableName};
pub use selection::{Selection, UnknownSelection};
pub use stage::{Declared, Inspected, Never, Present, Stage};
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

/// One resource, validated: as declared, or (`Resource<Inspected>`) as inspection resolved it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(bound(
    serialize = "S::Present: Serialize, S::Carried: Serialize",
    deserialize = "S::Present: Deserialize<'de>, S::Carried: Deserialize<'de>"
))]
pub struct Resource<S: Stage = Declared> {
    /// Unique id.
    pub id: ResourceId,
    /// What it declares.
    #[serde(flatten)]
    pub kind: ResourceKind<S>,
    /// Resources that must be applied before this one.
    pub after: Vec<ResourceId>,
    /// A sentence for the plan.
    pub description: Option<String>,
    /// Mask every value this resource shows (keys stay visible).
    pub secret: bool,
    /// Its rows hold personal data: shown by key only, journaled only encrypted.
    pub personal: bool,
    /// Where the resource is declared.
    pub origin: Origin,
    /// Where its `table:` is written, for catalog errors.
    pub table_origin: Option<Origin>,
    /// For a resource made from a metamodel target: what the metamodel says of its table
    /// (entity, module...), shown in the plan.
    pub labels: Vec<(String, String)>,
}

impl<S: Stage> Resource<S> {
    /// Whether `other` declares exactly this (same id, kind, order, description, masking),
    /// wherever it is written.
    #[must_use]
    pub fn same_declaration(&self, other: &Resource<S>) -> bool {
        self.id == other.id
            && self.kind == other.kind
            && self.after == other.after
            && self.description == other.description
            && self.secret == other.secret
            && self.personal == other.personal
    }
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
    /// Resources that do this step, for what they declare, when the spec includes them (the
    /// carry profile's, for the values captured before the clone): the plan says so. Ids the
    /// spec does not include are ignored.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub covered_by: Vec<ResourceId>,
}

impl ManualStep {
    /// The step with only the covering resources `desired` declares.
    #[must_use]
    pub fn in_spec<S: Stage>(&self, desired: &Desired<S>) -> ManualStep {
        let mut step = self.clone();
        step.covered_by
            .retain(|id| desired.resources.iter().any(|r| r.id == *id));
        step
    }

    /// The sentence that says which resources do the step, if any.
    #[must_use]
    pub fn coverage(&self) -> Option<String> {
        if self.covered_by.is_empty() {
            return None;
        }
        let ids: Vec<String> = self.covered_by.iter().map(ToString::to_string).collect();
        Some(format!(
            "Done by {} for every value captured before the clone; left to do: what the plan lists as not in this clone.",
            ids.join(", ")
        ))
    }
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

impl Guard {
    /// What the guard forbids of the environment a capture says it was read from (its server
    /// and database): the name that forbids it, as the guard compares a target's. A capture
    /// of production would carry production's configuration into the clone.
    #[must_use]
    pub fn forbids_source(
        &self,
        production: &Production,
        server: &str,
        database: &str,
    ) -> Option<String> {
        if let Some(d) = self
            .forbid_databases
            .iter()
            .chain(&production.databases)
            .find(|d| d.trim().eq_ignore_ascii_case(database.trim()))
        {
            return Some(format!("database {d}"));
        }
        if let Some(h) = self.forbid_hosts.iter().find(|h| host_is(h, server)) {
            return Some(format!("host {h}"));
        }
        production
            .hosts
            .iter()
            .find(|p| p.names_server(server))
            .map(|p| format!("host {p}"))
    }

    /// Whether a host of the platform's front-end list makes the guard refuse the target: it is
    /// one of `forbid_hosts` or in its domain, or one of production's hosts or domains, and not
    /// one of `allow_front_ends`. Names compare case-insensitively, as SQL Server and Oracle
    /// compare unquoted names, a trailing dot ignored.
    pub fn forbids_front_end(&self, host: &str, production: &Production) -> bool {
        let allowed = self
            .allow_front_ends
            .iter()
            .any(|a| normal_host(a) == normal_host(host));
        !allowed
            && (self.forbid_hosts.iter().any(|h| host_is(h, host))
                || production.hosts.iter().any(|p| p.names_server(host)))
    }
}

pub use crate::state::host::host_is;
use crate::state::host::normal_host;

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

fn is_default_masking(m: &Masking) -> bool {
    *m == Masking::default()
}

fn is_default_journal(j: &JournalSettings) -> bool {
    *j == JournalSettings::default()
}

/// Where the masking key comes from, besides `POSTCLONE_MASK_KEY` (which wins).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Masking {
    /// A file holding the key (relative to the spec); never the key itself.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key_file: Option<PathBuf>,
    /// Where the key is kept, read when a command needs it: `env:NAME`, `file:PATH` or
    /// `exec:COMMAND ARGS...` (what the command prints, e.g. `exec:op read op://ops/mask-key`);
    /// never the key itself.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key_from: Option<String>,
    /// Where a plan that masks looks for copies of the originals (every table's text columns
    /// but those left out here).
    #[serde(default, skip_serializing_if = "CopiesScope::is_default")]
    pub copies: CopiesScope,
}

/// How every `carried` resource of a spec (the built-in profile's included) treats the
/// clone's rows.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CarrySettings {
    /// `report`: every carried resource lists the rows the clone holds and the capture does
    /// not (configuration only production had), as if it said `only_in_clone: report`.
    #[serde(default)]
    pub only_in_clone: OnlyInClone,
}

fn is_default_carry(c: &CarrySettings) -> bool {
    *c == CarrySettings::default()
}

/// The tables the copies scan leaves out.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CopiesScope {
    /// Tables not scanned (a log the team empties anyway, an archive with its own masking).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub exclude: Vec<TableName>,
}

impl CopiesScope {
    fn is_default(&self) -> bool {
        self.exclude.is_empty()
    }
}

/// Who can read what the journal keeps of personal data.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct JournalSettings {
    /// age public keys (`age1...`): rows of personal-data resources are journaled encrypted to
    /// them, and `restore --identity FILE` reads them back. With none, such rows are not
    /// journaled at all.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub recipients: Vec<String>,
}

/// Where every apply of the spec writes its signed attestation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AttestationSettings {
    /// The file, relative to the spec (`apply --attest FILE` wins); apply then needs a
    /// signing key.
    pub out: PathBuf,
}

/// Whose signatures the spec trusts.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Trust {
    /// OpenSSH ed25519 public keys (`ssh-ed25519 AAAA... name`, a `.pub` file's line): `postclone
    /// verify --spec` accepts attestations they signed.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub signers: Vec<String>,
}

fn is_default_trust(t: &Trust) -> bool {
    *t == Trust::default()
}

/// Where the platform metamodel lists entities, their modules and attributes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct EntityCatalog {
    /// The entities' table (`ossys_entity`).
    pub table: TableName,
    /// Its key column.
    pub id: String,
    /// The entity's name.
    pub name: String,
    /// The entity's physical table name.
    pub physical_table: String,
    /// The column that is 1 for an active entity.
    pub active: String,
    /// The column naming the entity's module (its id).
    pub module: String,
    /// Where modules are.
    pub modules: ModuleCatalog,
    /// Where attributes are.
    pub attributes: AttributeCatalog,
    /// Attribute types that hold personal data (`rtEmail`, `rtPhoneNumber`): reported when no
    /// rule covers them.
    #[serde(default)]
    pub personal_types: Vec<String>,
}

/// Where the platform lists modules.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ModuleCatalog {
    /// The modules' table (`ossys_espace`).
    pub table: TableName,
    /// Its key column.
    pub id: String,
    /// The module's name.
    pub name: String,
}

/// Where the platform lists an entity's attributes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AttributeCatalog {
    /// The attributes' table (`ossys_entity_attr`).
    pub table: TableName,
    /// The column naming the attribute's entity (its id).
    pub entity: String,
    /// The attribute's name (its column's, matched case-insensitively).
    pub name: String,
    /// The attribute's type (`rtText`, `rtEmail`...).
    #[serde(rename = "type")]
    pub data_type: String,
    /// The column that is 1 for an active attribute (a deleted one's column stays).
    pub active: String,
}

/// Everything a spec declares, after includes, excludes and validation; `Desired<Inspected>`
/// is what inspection resolved it into (see [`Stage`]), never written to a file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(bound(
    serialize = "S::Present: Serialize, S::Carried: Serialize",
    deserialize = "S::Present: Deserialize<'de>, S::Carried: Deserialize<'de>"
))]
pub struct Desired<S: Stage = Declared> {
    /// The engine.
    pub engine: EngineKind,
    /// The directory relative paths in the connection are resolved from.
    pub base_dir: PathBuf,
    /// The guard.
    pub guard: Guard,
    /// Resources, in declaration order (included files first).
    pub resources: Vec<Resource<S>>,
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
    /// How entities, modules and attributes are found in the platform metamodel (from a
    /// profile), for `masked` resources named by module and entity.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub entities: Option<EntityCatalog>,
    /// Where the masking key is read from.
    #[serde(default, skip_serializing_if = "is_default_masking")]
    pub masking: Masking,
    /// Who can read the personal data the journal keeps.
    #[serde(default, skip_serializing_if = "is_default_journal")]
    pub journal: JournalSettings,
    /// Tables the platform's triggers feed when rows change (BPT event queues, from a
    /// profile): emptied after every masking.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub event_queues: Vec<TableName>,
    /// Oracle only: how the clone is exported and imported.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub datapump: Option<crate::datapump::DataPump>,
    /// The environment's own values, read before the clone (`postclone capture`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub captured: Option<Captured>,
    /// What every carried resource does with the rows only the clone has.
    #[serde(default, skip_serializing_if = "is_default_carry")]
    pub carry: CarrySettings,
    /// Whose signatures are trusted.
    #[serde(default, skip_serializing_if = "is_default_trust")]
    pub trust: Trust,
    /// Where every apply writes its signed attestation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub attestation: Option<AttestationSettings>,
}

/// The captured rows of each carried resource, opened (sealed values with the identity
/// given): what a command knows of them, never written anywhere.
pub type Opened = std::collections::BTreeMap<ResourceId, std::sync::Arc<CarriedRows>>;

impl Desired {
    /// Opens the captured rows of every carried resource: plain values as they are, sealed
    /// ones with `open` (`None` without an identity: those rows stay unknown).
    ///
    /// # Errors
    /// Those of `open`, or a captured row that lacks a key part.
    pub fn open_captured<E>(
        &self,
        open: &mut carried::Opener<'_, E>,
    ) -> Result<Opened, OpenError<E>> {
        let mut opened = std::collections::BTreeMap::new();
        for r in &self.resources {
            let ResourceKind::Carried(c) = &r.kind else {
                continue;
            };
            let rows = self
                .captured
                .as_ref()
                .and_then(|cap| cap.rows.get(&r.id))
                .map_or(&[][..], Vec::as_slice);
            let from = self
                .captured
                .as_ref()
                .map(|cap| cap.from.clone())
                .unwrap_or_default();
            opened.insert(
                r.id.clone(),
                std::sync::Arc::new(open_rows(c, &r.id, r.secret, rows, &from, open)?),
            );
        }
        Ok(opened)
    }
}
