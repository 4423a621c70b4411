//! Many environments at once: a fleet file lists targets (a spec, a connection, labels) and
//! stages (which targets by label, how many at a time, what a failure does, which stages must
//! have converged first, whether the stage waits to be named). `postclone fleet plan|apply`
//! runs each target exactly as `postclone plan|apply` would (the same binary, one process per
//! target: guard, lock, journal and attestation included), stage by stage, and reports.

mod report;
mod run;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

pub use report::{markdown, Outcome, Report, Summary, TargetReport, REPORT_VERSION};
pub use run::{run, Action, Event, Places, Ran, Selection};

/// A fleet file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Fleet {
    /// The environments.
    pub targets: Vec<Target>,
    /// The order they run in.
    pub stages: Vec<Stage>,
}

impl Fleet {
    /// The JSON Schema of a fleet file (draft 7), for editors: `postclone schema --fleet`.
    #[must_use]
    pub fn schema() -> String {
        let mut schema = schemars::schema_for!(Fleet);
        if let Some(meta) = schema.schema.metadata.as_mut() {
            meta.description = Some(
                "A postclone fleet file: environments (targets) and the stages they are applied in. \
                 postclone checks more than this schema: every target in exactly one stage, \
                 `after:` without cycles, specs that exist."
                    .into(),
            );
        }
        serde_json::to_string_pretty(&schema).unwrap_or_default() + "\n"
    }
}

/// One environment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Target {
    /// Its name, unique in the fleet.
    pub name: String,
    /// Its spec, relative to the fleet file.
    pub spec: PathBuf,
    /// Its connection (else the spec's): best a reference (`exec:...`, `env:NAME`,
    /// `file:PATH`), read by the run of this target only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub connection: Option<String>,
    /// Labels stages match on (`tier: qa`, `unit: sales`).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub labels: BTreeMap<String, String>,
}

/// One stage: the targets whose labels match, run together.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Stage {
    /// Its name, unique in the fleet.
    pub name: String,
    /// Labels a target must have, each with one of the values given (every target when
    /// empty).
    #[serde(default, rename = "match", skip_serializing_if = "BTreeMap::is_empty")]
    pub matches: BTreeMap<String, OneOrMore>,
    /// How many of its targets run at once.
    #[serde(default = "one")]
    pub parallel: usize,
    /// What a failed target does to the others of the stage.
    #[serde(default)]
    pub on_error: OnError,
    /// Stages every target of which must have converged before this one starts.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub after: Vec<String>,
    /// Runs only when named with `--stage`.
    #[serde(default)]
    pub hold: bool,
}

fn one() -> usize {
    1
}

/// A label's value, or a list of them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(untagged)]
pub enum OneOrMore {
    /// One value.
    One(String),
    /// Any of these.
    More(Vec<String>),
}

impl OneOrMore {
    fn contains(&self, value: &str) -> bool {
        match self {
            OneOrMore::One(v) => v == value,
            OneOrMore::More(vs) => vs.iter().any(|v| v == value),
        }
    }
}

/// What a failed target does to the rest of its stage (the stages after it never start).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum OnError {
    /// Targets not yet started are skipped.
    #[default]
    Stop,
    /// The others still run.
    Continue,
}

impl Stage {
    /// Whether `target` is one of this stage's.
    #[must_use]
    pub fn takes(&self, target: &Target) -> bool {
        self.matches.iter().all(|(label, wanted)| {
            target
                .labels
                .get(label)
                .is_some_and(|value| wanted.contains(value))
        })
    }
}

/// Why a fleet file cannot be used; nothing ran.
#[derive(Debug, thiserror::Error)]
pub enum FleetError {
    /// The file cannot be read.
    #[error("cannot read the fleet file {}", path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// The file is not a fleet, or says something inconsistent.
    #[error("{}:{line}: {field}: {message}; nothing was run", path.display())]
    Invalid {
        /// The file.
        path: PathBuf,
        /// The line (0: the whole file).
        line: usize,
        /// The field (`stages[1].after[0]`).
        field: String,
        /// What is wrong.
        message: String,
    },
}

/// A fleet as loaded: the file, its directory (specs and `file:` references are relative to
/// it), and each stage's targets, stages in an order where every `after:` comes first.
#[derive(Debug, Clone)]
pub struct Loaded {
    /// The fleet file.
    pub path: PathBuf,
    /// Its directory.
    pub dir: PathBuf,
    /// What it says.
    pub fleet: Fleet,
    /// Stage indexes in running order.
    pub order: Vec<usize>,
    /// Per stage (by index), its targets' indexes.
    pub members: Vec<Vec<usize>>,
}

/// Loads and checks the fleet file at `path`.
///
/// # Errors
/// A file that cannot be read, is not a fleet (its line and field named), or whose names,
/// stages and targets do not fit together.
pub fn load(path: &Path) -> Result<Loaded, FleetError> {
    let text = crate::files::read_text(path, crate::files::MAX_TEXT).map_err(|source| {
        FleetError::Read {
            path: path.to_path_buf(),
            source,
        }
    })?;
    let invalid = |line: usize, field: &str, message: String| FleetError::Invalid {
        path: path.to_path_buf(),
        line,
        field: field.to_string(),
        message,
    };
    // Mapped first: the limits on depth and size hold before the parser that builds values.
    let map = crate::spec::source_map::SourceMap::scan(&text)
        .map_err(|s| invalid(s.at.line, "", s.problem.to_string()))?;
    let document: serde_yaml::Value = serde_yaml::from_str(&text).map_err(|e| {
        invalid(
            e.location().map_or(0, |l| l.line()),
            "",
            "not valid YAML".into(),
        )
    })?;
    let fleet: Fleet = serde_path_to_error::deserialize(document).map_err(|e| {
        let field = e.path().to_string();
        let line = map.value(&field).map_or(0, |p| p.line);
        invalid(line, &field, e.into_inner().to_string())
    })?;
    let at = |field: &str| map.value(field).map_or(0, |p| p.line);
    let dir = path
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .map_or_else(|| PathBuf::from("."), Path::to_path_buf);
    check_targets(&fleet, (path, &dir))
        .map_err(|(field, message)| invalid(at(&field), &field, message))?;
    let members =
        members(&fleet).map_err(|(field, message)| invalid(at(&field), &field, message))?;
    let order = order(&fleet).map_err(|(field, message)| invalid(at(&field), &field, message))?;
    Ok(Loaded {
        path: path.to_path_buf(),
        dir,
        fleet,
        order,
        members,
    })
}

/// A problem: the field, and what is wrong with it.
type Problem = (String, String);

fn check_targets(fleet: &Fleet, (path, dir): (&Path, &Path)) -> Result<(), Problem> {
    let mut names = BTreeSet::new();
    for (i, t) in fleet.targets.iter().enumerate() {
        if t.name.trim().is_empty() || !names.insert(t.name.as_str()) {
            return Err((
                format!("targets[{i}].name"),
                format!("target name {:?} is empty or used twice", t.name),
            ));
        }
        if !dir.join(&t.spec).is_file() {
            return Err((
                format!("targets[{i}].spec"),
                format!(
                    "{} is not a file (specs are relative to the fleet file)",
                    t.spec.display()
                ),
            ));
        }
        if let Some(Err(e)) = t
            .connection
            .as_deref()
            .map(|c| crate::secret::check_written(c, &format!("the fleet file {}", path.display())))
        {
            return Err((format!("targets[{i}].connection"), e.to_string()));
        }
        let plain = t.connection.as_deref().is_some_and(|c| {
            crate::secret::Reference::parse(c).is_none()
                && crate::secret::writes_password_in_clear(c)
        });
        if plain && crate::secret::references_only() {
            return Err((
                format!("targets[{i}].connection"),
                format!(
                    "the connection holds a password in clear, and {}=references refuses it: write exec:..., env:NAME or file:PATH",
                    crate::secret::POLICY_VARIABLE
                ),
            ));
        }
    }
    if fleet.targets.is_empty() {
        return Err(("targets".into(), "a fleet names at least one target".into()));
    }
    Ok(())
}

/// Each stage's targets; every target in exactly one stage.
fn members(fleet: &Fleet) -> Result<Vec<Vec<usize>>, Problem> {
    let mut names = BTreeSet::new();
    let mut owner: Vec<Option<usize>> = vec![None; fleet.targets.len()];
    let mut out = Vec::with_capacity(fleet.stages.len());
    for (s, stage) in fleet.stages.iter().enumerate() {
        if stage.name.trim().is_empty() || !names.insert(stage.name.as_str()) {
            return Err((
                format!("stages[{s}].name"),
                format!("stage name {:?} is empty or used twice", stage.name),
            ));
        }
        if stage.parallel == 0 {
            return Err((format!("stages[{s}].parallel"), "at least 1".into()));
        }
        let mut mine = Vec::new();
        for (t, target) in fleet.targets.iter().enumerate() {
            if !stage.takes(target) {
                continue;
            }
            if let Some(other) = owner[t] {
                return Err((
                    format!("stages[{s}].match"),
                    format!(
                        "target {} is matched by stage {} already: a target runs in one stage",
                        target.name, fleet.stages[other].name
                    ),
                ));
            }
            owner[t] = Some(s);
            mine.push(t);
        }
        // A stage of no target would pass every `after:` that names it without looking at
        // anything: a label mistyped, most likely.
        if mine.is_empty() {
            return Err((
                format!("stages[{s}].match"),
                format!("stage {} matches no target", stage.name),
            ));
        }
        out.push(mine);
    }
    if let Some(t) = owner.iter().position(Option::is_none) {
        return Err((
            format!("targets[{t}]"),
            format!(
                "target {} is matched by no stage: give it labels a stage matches",
                fleet.targets[t].name
            ),
        ));
    }
    Ok(out)
}

/// Stage indexes with every `after:` first; an unknown name or a cycle is a problem.
fn order(fleet: &Fleet) -> Result<Vec<usize>, Problem> {
    let index = |name: &str| fleet.stages.iter().position(|s| s.name == name);
    let mut after: Vec<Vec<usize>> = Vec::with_capacity(fleet.stages.len());
    for (s, stage) in fleet.stages.iter().enumerate() {
        let mut mine = Vec::new();
        for (a, name) in stage.after.iter().enumerate() {
            match index(name) {
                Some(i) if i != s => mine.push(i),
                _ => {
                    return Err((
                        format!("stages[{s}].after[{a}]"),
                        format!("no other stage is named {name:?}"),
                    ))
                }
            }
        }
        after.push(mine);
    }
    let mut order = Vec::with_capacity(fleet.stages.len());
    while order.len() < fleet.stages.len() {
        let ready = (0..fleet.stages.len())
            .find(|s| !order.contains(s) && after[*s].iter().all(|a| order.contains(a)));
        match ready {
            Some(s) => order.push(s),
            None => {
                let s = (0..fleet.stages.len())
                    .find(|s| !order.contains(s))
                    .unwrap_or_default();
                return Err((
                    format!("stages[{s}].after"),
                    "the stages' `after:` lists form a cycle".into(),
                ));
            }
        }
    }
    Ok(order)
}

#[cfg(test)]
mod tests;
