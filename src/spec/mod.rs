//! The spec: the YAML file a team keeps in git, declaring the state an environment must be in
//! after a clone.
//!
//! `load` reads a spec and its includes, checks every part of it and returns the validated
//! [`Desired`] state, or every problem found, each with file, line, column and field. Nothing in
//! this layer connects to a database.

mod interpolate;
mod load;
mod mask_key;
mod resource;
pub mod schema;
pub mod source_map;
mod validate;

use std::fmt;
use std::path::PathBuf;

use schemars::JsonSchema;
use serde::Deserialize;

pub use interpolate::{interpolate, InterpolationError};
pub use load::{load, load_for_capture, load_str, load_target, Loaded};
pub use mask_key::{mask_key, MaskKeyError, MASK_KEY_VARIABLE};

use crate::state::desired::{EngineKind, FrontEnds, Guard, ManualStep, ResourceId};

/// The top-level keys of a spec file, as documented in the JSON Schema.
///
/// The loader reads each key on its own (so that one bad key does not hide the problems of the
/// others); this type is the schema's source of truth, and a test keeps the two in step.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(title = "postclone spec")]
pub struct SpecFile {
    /// The database engine: `sqlserver` or `oracle`. Required in the top-level spec.
    pub engine: Option<EngineKind>,
    /// How to reach the database. SQL Server: an ADO.NET string; Oracle:
    /// `oracle://user@host:port/service`; or `embedded:PATH.sql` for a rehearsal on the embedded
    /// engine. `${env:NAME}` is replaced by the environment variable NAME. Overridden by
    /// `--connection` and `POSTCLONE_CONNECTION`. Keep passwords out of this file.
    pub connection: Option<String>,
    /// What the target must, and must not, be.
    pub guard: Option<Guard>,
    /// Production's identity, written once: its hosts and databases are refused by the guard,
    /// and `references_absent` finds the values that name its hosts.
    pub production: Option<crate::state::desired::Production>,
    /// Built-in profiles (`outsystems-o11`) or spec files (relative to this one) whose resources
    /// and manual steps come before this file's.
    #[serde(default)]
    pub include: Vec<String>,
    /// Resource or manual step ids to leave out, from this file or an included one.
    #[serde(default)]
    pub exclude: Vec<ResourceId>,
    /// The declared resources.
    #[serde(default)]
    #[schemars(with = "Vec<schema::ResourceSchema>")]
    pub resources: Vec<serde_yaml::Value>,
    /// Steps no database change can do, listed after the plan.
    #[serde(default)]
    pub manual: Vec<ManualStep>,
    /// Where the platform lists its front-end servers (the built-in profiles say it): the
    /// guard refuses a database whose list names a forbidden host.
    pub front_ends: Option<FrontEnds>,
    /// Where the platform keeps configuration values (the built-in profiles say it): what
    /// `references_absent` scans when it names no tables.
    #[serde(default)]
    pub configuration_values: Vec<crate::state::desired::ScanScope>,
    /// Rows whose values are secret wherever a plan shows them, whatever resource shows them
    /// (the built-in profiles declare secret site properties).
    #[serde(default)]
    pub secret_rows: Vec<crate::state::desired::SecretRows>,
    /// Where the platform metamodel lists entities, modules and attributes (the built-in
    /// profiles say it), for `masked` resources named by module and entity.
    pub entities: Option<crate::state::desired::EntityCatalog>,
    /// Tables the platform's triggers feed when rows change (the quarantine profile names the
    /// BPT event queues): emptied after every masking.
    #[serde(default)]
    pub event_queues: Vec<crate::state::desired::TableName>,
    /// Where the masking key is read from (`POSTCLONE_MASK_KEY` wins).
    pub masking: Option<crate::state::desired::Masking>,
    /// Who can read what the journal keeps of personal data.
    pub journal: Option<crate::state::desired::JournalSettings>,
    /// Oracle only: the Data Pump export and import that make the clone
    /// (`postclone datapump SPEC` writes their parameter files).
    pub datapump: Option<crate::datapump::DataPump>,
    /// The environment's own values, read before the clone by `postclone capture` (the file it
    /// writes holds this key): what `carried` resources put back.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub captured: Option<crate::state::desired::Captured>,
    /// How every `carried` resource treats the rows only the clone has (left as they are;
    /// `only_in_clone: report` lists them in the plan).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub carry: Option<crate::state::desired::CarrySettings>,
    /// Whose signatures the spec trusts (`trust: { signers: [ssh-ed25519 ...] }`): `postclone
    /// verify --spec` accepts the attestations they signed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub trust: Option<crate::state::desired::Trust>,
    /// Where every apply writes its signed attestation (`attestation: { out: FILE }`, relative
    /// to the spec; `apply --attest FILE` wins): apply then needs a signing key.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub attestation: Option<crate::state::desired::AttestationSettings>,
}

/// The keys every resource has, whatever its kind.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ResourceHeader {
    /// Unique id, used by `after:`, `exclude:` and in plans.
    pub id: ResourceId,
    /// Resources that must be applied before this one.
    #[serde(default)]
    pub after: Vec<ResourceId>,
    /// A sentence shown in the plan.
    #[serde(default)]
    pub description: Option<String>,
    /// Mask every value this resource shows in any output (keys stay visible).
    #[serde(default)]
    pub secret: bool,
    /// Its rows hold personal data: shown by key only, journaled only encrypted to
    /// `journal.recipients` (`masked` resources always are).
    #[serde(default)]
    pub personal: bool,
}

impl ResourceHeader {
    /// The header keys, which the loader separates from the kind's own keys.
    pub const KEYS: [&'static str; 5] = ["id", "after", "description", "secret", "personal"];
}

/// What kind of problem a spec has. Codes are stable, kebab-case, and documented in the README.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProblemCode {
    /// The file is not valid YAML.
    YamlSyntax,
    /// A value has the wrong type, an unknown key, or a missing required key.
    InvalidField,
    /// `kind:` names no resource kind.
    UnknownKind,
    /// Two resources or manual steps share an id.
    DuplicateId,
    /// `after:` names no resource.
    UnknownAfter,
    /// `exclude:` names no resource or manual step.
    UnknownExclude,
    /// `after:` edges form a cycle.
    DependencyCycle,
    /// No `engine:` anywhere.
    MissingEngine,
    /// `${env:NAME}` names an unset variable, or is malformed.
    EnvVariable,
    /// An include names no profile and no readable file, or includes itself.
    Include,
    /// A read-only check would look at nothing (no hosts to look for, no table to scan).
    NothingToScan,
    /// A resource names an entity by module, but no `entities:` says where the platform's
    /// metamodel is.
    MissingMetamodel,
    /// A custom resource would show the values of a table the spec declares secret or
    /// personal.
    SecretShown,
    /// A captured file says it was read from a database or server the guard forbids.
    ForbiddenSource,
    /// A captured file is unsigned, or not signed by a key the spec trusts, where the spec
    /// lists `trust.signers`.
    UntrustedCapture,
}

impl ProblemCode {
    /// Every code, for documentation and the uniqueness test.
    pub const ALL: [ProblemCode; 15] = [
        ProblemCode::YamlSyntax,
        ProblemCode::InvalidField,
        ProblemCode::UnknownKind,
        ProblemCode::DuplicateId,
        ProblemCode::UnknownAfter,
        ProblemCode::UnknownExclude,
        ProblemCode::DependencyCycle,
        ProblemCode::MissingEngine,
        ProblemCode::EnvVariable,
        ProblemCode::Include,
        ProblemCode::NothingToScan,
        ProblemCode::MissingMetamodel,
        ProblemCode::SecretShown,
        ProblemCode::ForbiddenSource,
        ProblemCode::UntrustedCapture,
    ];

    /// The kebab-case code shown after each problem.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            ProblemCode::YamlSyntax => "yaml-syntax",
            ProblemCode::InvalidField => "invalid-field",
            ProblemCode::UnknownKind => "unknown-kind",
            ProblemCode::DuplicateId => "duplicate-id",
            ProblemCode::UnknownAfter => "unknown-after",
            ProblemCode::UnknownExclude => "unknown-exclude",
            ProblemCode::DependencyCycle => "dependency-cycle",
            ProblemCode::MissingEngine => "missing-engine",
            ProblemCode::EnvVariable => "env-variable",
            ProblemCode::Include => "include",
            ProblemCode::NothingToScan => "nothing-to-scan",
            ProblemCode::MissingMetamodel => "missing-metamodel",
            ProblemCode::SecretShown => "secret-shown",
            ProblemCode::ForbiddenSource => "forbidden-source",
            ProblemCode::UntrustedCapture => "untrusted-capture",
        }
    }
}

impl fmt::Display for ProblemCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One problem in a spec, located.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SpecProblem {
    /// The file (or `builtin:NAME` for a built-in profile).
    pub file: PathBuf,
    /// 1-based line (0 when the problem concerns the whole file).
    pub line: usize,
    /// 1-based column (0 when the problem concerns the whole file).
    pub column: usize,
    /// The YAML path of the field (`resources[2].table`), empty for the whole document.
    pub field: String,
    /// What kind of problem.
    pub code: ProblemCode,
    /// What is wrong.
    pub message: String,
    /// What to do about it.
    pub help: Option<String>,
    /// The source line the problem is on, for the caret display.
    pub source_line: Option<String>,
}

impl fmt::Display for SpecProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}:{}:{}: {}",
            self.file.display(),
            self.line,
            self.column,
            self.message
        )?;
        if !self.field.is_empty() {
            write!(f, " (field `{}`)", self.field)?;
        }
        Ok(())
    }
}

/// Why a spec could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The top-level spec file could not be read.
    #[error("cannot read spec {}", path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// The IO error.
        #[source]
        source: std::io::Error,
    },
    /// The spec has problems; nothing was done.
    #[error("{} in {}; nothing was done", plural(.problems.len()), .file.display())]
    Invalid {
        /// The top-level file.
        file: PathBuf,
        /// Every problem, in file order.
        problems: Vec<SpecProblem>,
    },
}

fn plural(n: usize) -> String {
    if n == 1 {
        "1 problem".into()
    } else {
        format!("{n} problems")
    }
}

/// The name under which a built-in profile appears in locations.
#[must_use]
pub fn builtin_path(name: &str) -> PathBuf {
    PathBuf::from(format!("builtin:{name}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Problem codes are unique and kebab-case.
    #[test]
    fn problem_codes_unique_and_kebab() {
        let mut seen = std::collections::HashSet::new();
        for code in ProblemCode::ALL {
            let s = code.as_str();
            assert!(seen.insert(s), "duplicate code {s}");
            assert!(s.chars().all(|c| c.is_ascii_lowercase() || c == '-'));
        }
    }
}
