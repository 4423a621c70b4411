//! The plan: what read-only reports found, changes in the order they run, the notes, and the
//! manual steps that follow.

mod key;

use std::path::PathBuf;

pub use key::{PlanKey, ShortKey};

use serde::{Deserialize, Serialize};

use crate::change::Dialect;
use crate::change::{Action, Change, ChangeId};
use crate::diff::{self, Finding, Note, Reported};
use crate::graph::{self, CycleError, Dependency};
use crate::state::desired::{Desired, ManualStep};
use crate::state::masking::MaskKey;
use crate::state::observed::{Catalog, Observed, Target};
use crate::state::Resolved;

/// Why a plan could not be built.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The observation does not fit the desired state.
    #[error(transparent)]
    Diff(#[from] diff::Error),
    /// Declared and foreign-key dependencies form a cycle.
    #[error(transparent)]
    Cycle(#[from] CycleError),
    /// A change the database commits by itself must follow one inside the transaction.
    #[error("change {change} runs before the apply transaction (the database commits it by itself) and cannot come after change {after}, which runs inside it: remove the dependency ({reason})")]
    CommitsBeforeItsDependency {
        /// The change that commits by itself.
        change: ChangeId,
        /// The transactional change it was to follow.
        after: ChangeId,
        /// Why it was to follow it.
        reason: String,
    },
}

/// A change whose statements cannot be written from the plan's catalog.
#[derive(Debug, thiserror::Error)]
#[error("cannot write the SQL of change {change}")]
pub struct RenderError {
    /// The change.
    pub change: ChangeId,
    /// Why.
    #[source]
    pub source: crate::sql::Error,
}

/// Everything `plan` shows and `apply` executes.
#[derive(Debug, Clone)]
pub struct Plan {
    /// The server and database the plan was made against.
    pub target: Target,
    /// Changes in execution order.
    pub steps: Vec<Change>,
    /// Notes (absent optional tables...).
    pub notes: Vec<Note>,
    /// What read-only reports found, shown before the changes.
    pub reports: Vec<Reported>,
    /// Values that still name production: drift apply cannot fix by itself.
    pub findings: Vec<Finding>,
    /// Manual steps, in spec order.
    pub manual: Vec<ManualStep>,
    /// The dependency edges that shaped the order.
    pub dependencies: Vec<Dependency>,
    /// The tables the changes read and write, as resolved in the catalog.
    pub catalog: Catalog,
    /// When the plan masks: the copies of the originals found elsewhere, and how far the scan
    /// looked (the plan's statement of coverage).
    pub copies: Option<crate::state::copies::CopiesFacts>,
}

/// A change of a saved plan: what it was made from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlannedChange {
    /// The change.
    pub id: ChangeId,
    /// Rows it touched.
    pub rows: u64,
    /// The fingerprint of those rows, whole (in a saved plan: keyed with the plan key).
    pub fingerprint: String,
}

/// `plan --out FILE`: what `apply FILE` needs to apply exactly what was reviewed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PlanFile {
    /// Format version; also how a plan file is told from a spec.
    pub postclone_plan: u32,
    /// The spec's connection setting, unless it holds a password inline.
    pub connection: Option<String>,
    /// The desired state, as loaded (before metamodel targets were resolved).
    pub desired: Desired,
    /// The server and database planned against.
    pub target: Target,
    /// Every change, with the fingerprint of its rows, keyed.
    pub changes: Vec<PlannedChange>,
    /// The id of the plan key the file is sealed with (never the key).
    pub key: String,
    /// HMAC-SHA-256, with the plan key, of everything above: an edited file is refused.
    pub digest: String,
}

/// Why a file given to `apply` is not a saved plan it can use.
#[derive(Debug, thiserror::Error)]
pub enum PlanFileError {
    /// The file cannot be read.
    #[error("cannot read {}", path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// The file is JSON but not a plan file.
    #[error("{} is not a plan file written by `postclone plan --out` ({problem})", path.display())]
    NotAPlan {
        /// The file.
        path: PathBuf,
        /// What the JSON reader found, and where (never the file's text).
        problem: String,
    },
    /// A plan file of another format version.
    #[error("{} was written by another version of postclone (format {version}); plan again", path.display())]
    Version {
        /// The file.
        path: PathBuf,
        /// Its format version.
        version: u32,
    },
    /// The plan was sealed with another plan key.
    #[error("{} was sealed with plan key {planned}, and the plan key here is {here}: apply it where it was planned, or set POSTCLONE_PLAN_KEY to the key it was made with", path.display())]
    OtherKey {
        /// The file.
        path: PathBuf,
        /// The key id in the file.
        planned: String,
        /// The key id here.
        here: String,
    },
    /// The file is not what `plan --out` wrote.
    #[error("{} was altered after it was written (its digest does not match what it holds); nothing was changed; plan again", path.display())]
    Altered {
        /// The file.
        path: PathBuf,
    },
    /// The saved plan cannot be written.
    #[error("cannot write the plan to {}", path.display())]
    Write {
        /// The file.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
}

/// A saved plan that no longer matches the database: nothing is applied.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StalePlan {
    /// The plan was made for another database.
    #[error("the saved plan was made for database {planned}, not {now}; nothing was changed")]
    Database {
        /// The database planned against.
        planned: String,
        /// The database connected to.
        now: String,
    },
    /// Rows of some changes differ from what was reviewed.
    #[error("{} from the saved plan; nothing was changed; review a new plan", if .changes.len() == 1 { "1 change differs".to_string() } else { format!("{} changes differ", .changes.len()) })]
    Rows {
        /// Each change that differs.
        changes: Vec<Staleness>,
    },
}

/// How a saved plan differs from the database now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Staleness {
    /// The change.
    pub id: ChangeId,
    /// Rows when planned (`None`: not in the plan).
    pub planned: Option<u64>,
    /// Rows now (`None`: nothing to do any more).
    pub now: Option<u64>,
}

impl PlanFile {
    /// The current format version: 2 keys fingerprints and seals the file with a digest.
    pub const VERSION: u32 = 2;

    /// A saved plan for `plan`, made from `desired` (as loaded) and the spec's `connection`,
    /// sealed with `key`.
    #[must_use]
    pub fn new(
        desired: &Desired,
        connection: Option<&str>,
        plan: &Plan,
        key: &PlanKey,
    ) -> PlanFile {
        // A connection with a literal password stays out of the file; ${env:..} is fine.
        let connection = connection.map(str::to_string).filter(|c| {
            let lower = c.to_ascii_lowercase();
            !["password=", "pwd="].iter().any(|k| {
                lower
                    .split(';')
                    .any(|pair| pair.trim().starts_with(k) && !pair.contains("${env:"))
            })
        });
        let mut file = PlanFile {
            postclone_plan: Self::VERSION,
            connection,
            desired: desired.clone(),
            target: plan.target.clone(),
            changes: plan
                .planned_changes()
                .into_iter()
                .map(|c| PlannedChange {
                    fingerprint: key.mac(c.fingerprint.as_bytes()),
                    ..c
                })
                .collect(),
            key: key.id(),
            digest: String::new(),
        };
        file.digest = file.sealed_digest(key);
        file
    }

    /// The digest of everything the file holds but its digest.
    fn sealed_digest(&self, key: &PlanKey) -> String {
        let mut unsealed = self.clone();
        unsealed.digest.clear();
        // Serializing plain data cannot fail; an empty text would not match any digest.
        let bytes = serde_json::to_vec(&unsealed).unwrap_or_default();
        key.mac(&bytes)
    }

    /// Checks that the file was sealed with `key` and holds what was sealed.
    ///
    /// # Errors
    /// Another key, or a file altered after it was written.
    pub fn verify(&self, path: &std::path::Path, key: &PlanKey) -> Result<(), PlanFileError> {
        if self.key != key.id() {
            return Err(PlanFileError::OtherKey {
                path: path.to_path_buf(),
                planned: self.key.clone(),
                here: key.id(),
            });
        }
        if self.sealed_digest(key) != self.digest {
            return Err(PlanFileError::Altered {
                path: path.to_path_buf(),
            });
        }
        Ok(())
    }

    /// Whether `text` is a saved plan rather than a spec: a JSON object (a spec is YAML).
    #[must_use]
    pub fn looks_like(text: &str) -> bool {
        text.trim_start().starts_with('{')
    }

    /// Reads a saved plan.
    ///
    /// # Errors
    /// Not JSON, not a plan file, or another format version.
    pub fn parse(path: &std::path::Path, text: &str) -> Result<PlanFile, PlanFileError> {
        let file: PlanFile = serde_json::from_str(text).map_err(|e| PlanFileError::NotAPlan {
            path: path.to_path_buf(),
            problem: crate::files::json_problem(&e),
        })?;
        if file.postclone_plan != Self::VERSION {
            return Err(PlanFileError::Version {
                path: path.to_path_buf(),
                version: file.postclone_plan,
            });
        }
        Ok(file)
    }

    /// Writes the saved plan.
    ///
    /// # Errors
    /// The file cannot be written.
    pub fn write(&self, path: &std::path::Path) -> Result<(), PlanFileError> {
        let write = |source| PlanFileError::Write {
            path: path.to_path_buf(),
            source,
        };
        let json = serde_json::to_string_pretty(self).map_err(|e| write(e.into()))?;
        std::fs::write(path, json + "\n").map_err(write)
    }

    /// Every change whose rows differ between this saved plan and `fresh`, a plan made now
    /// (its fingerprints keyed with `key` to be compared).
    #[must_use]
    pub fn staleness(&self, fresh: &Plan, key: &PlanKey) -> Vec<Staleness> {
        staleness_by(&self.changes, fresh, &|f| key.mac(f.as_bytes()))
    }

    /// Checks that `fresh`, a plan made now, touches exactly the rows this one was made from.
    ///
    /// # Errors
    /// Another database, or any change whose rows differ.
    pub fn check(&self, fresh: &Plan, key: &PlanKey) -> Result<(), StalePlan> {
        if !fresh
            .target
            .database
            .eq_ignore_ascii_case(&self.target.database)
        {
            return Err(StalePlan::Database {
                planned: self.target.database.clone(),
                now: fresh.target.database.clone(),
            });
        }
        let changes = self.staleness(fresh, key);
        if changes.is_empty() {
            Ok(())
        } else {
            Err(StalePlan::Rows { changes })
        }
    }
}

/// Every change whose rows differ between `planned` and `fresh`, a plan made later.
#[must_use]
pub fn staleness(planned: &[PlannedChange], fresh: &Plan) -> Vec<Staleness> {
    staleness_by(planned, fresh, &|f| f.to_string())
}

/// As [`staleness`], each fresh fingerprint passed through `fingerprint` to be compared.
fn staleness_by(
    planned: &[PlannedChange],
    fresh: &Plan,
    fingerprint: &dyn Fn(&str) -> String,
) -> Vec<Staleness> {
    {
        let mut out = Vec::new();
        for saved in planned {
            match fresh.steps.iter().find(|s| s.id == saved.id) {
                Some(now) if fingerprint(&now.rows.fingerprint) == saved.fingerprint => {}
                now => out.push(Staleness {
                    id: saved.id.clone(),
                    planned: Some(saved.rows),
                    now: now.map(|s| s.rows.count),
                }),
            }
        }
        for now in fresh
            .steps
            .iter()
            .filter(|s| !planned.iter().any(|c| c.id == s.id))
        {
            out.push(Staleness {
                id: now.id.clone(),
                planned: None,
                now: Some(now.rows.count),
            });
        }
        out
    }
}

/// Counts for the closing line.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Summary {
    /// Changes that add rows.
    pub add: usize,
    /// Changes that modify rows.
    pub change: usize,
    /// Changes that delete rows.
    pub delete: usize,
    /// Rows affected by all changes, as observed.
    pub rows: u64,
}

impl Plan {
    /// The statements that carry out `step`, in `flavor`, in order.
    ///
    /// # Errors
    /// A change that refers to a table or column missing from the plan's catalog.
    pub fn statements(
        &self,
        step: &Change,
        flavor: crate::sql::Flavor,
    ) -> Result<Vec<crate::sql::Statement>, RenderError> {
        crate::sql::statements(step, &self.catalog, flavor).map_err(|source| RenderError {
            change: step.id.clone(),
            source,
        })
    }

    /// The statements apply sends to write `step`, as `plan -v` shows them, and how many of
    /// its rows they leave out. A change whose values are computed row by row (host rewrites,
    /// masks, the carry) writes the rows it reads inside the transaction, found by key: its
    /// statements are made by the same function from the rows the plan listed (a value the
    /// plan did not list, a column the row keeps, is bound as a masked parameter, as every
    /// value of those statements is).
    ///
    /// # Errors
    /// A change that cannot be rendered (as [`Plan::statements`]).
    pub fn writes(
        &self,
        step: &Change,
        flavor: crate::sql::Flavor,
    ) -> Result<(Vec<crate::sql::Statement>, u64), RenderError> {
        let crate::change::ChangeKind::SetColumns {
            table, assignments, ..
        } = &step.kind
        else {
            return Ok((self.statements(step, flavor)?, 0));
        };
        if !step.rewrites_hosts() {
            return Ok((self.statements(step, flavor)?, 0));
        }
        let images: Vec<crate::journal::RowImage> = step
            .rows
            .sample
            .iter()
            .map(|row| crate::journal::RowImage {
                values: table
                    .columns
                    .iter()
                    .map(|c| {
                        row.key
                            .iter()
                            .find(|(name, _)| *name == c.name)
                            .map_or(crate::state::Value::Null, |(_, v)| v.clone())
                    })
                    .collect(),
                after: assignments
                    .iter()
                    .map(|a| {
                        row.changes
                            .iter()
                            .find(|c| c.column == a.column)
                            .map_or_else(
                                || crate::state::Value::Text(String::new()),
                                |c| c.new.clone(),
                            )
                    })
                    .collect(),
                label: None,
            })
            .collect();
        let statements =
            crate::sql::rewrite_statements(step, &images, flavor).map_err(|source| {
                RenderError {
                    change: step.id.clone(),
                    source,
                }
            })?;
        let unlisted = step.rows.count.saturating_sub(images.len() as u64);
        Ok((statements, unlisted))
    }

    /// Each change with its row count and fingerprint.
    #[must_use]
    pub fn planned_changes(&self) -> Vec<PlannedChange> {
        self.steps
            .iter()
            .map(|s| PlannedChange {
                id: s.id.clone(),
                rows: s.rows.count,
                fingerprint: s.rows.fingerprint.clone(),
            })
            .collect()
    }

    /// The database matches the spec: no change to make, no value that names production.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.steps.is_empty()
            && self.findings.is_empty()
            && self.copies.as_ref().is_none_or(|c| c.found == 0)
    }

    /// Values that name production, counted.
    #[must_use]
    pub fn hits(&self) -> usize {
        self.findings.iter().map(|f| f.hits.len()).sum()
    }

    /// Counts per action class.
    #[must_use]
    pub fn summary(&self) -> Summary {
        let mut s = Summary::default();
        for step in &self.steps {
            match step.action() {
                Action::Add => s.add += 1,
                Action::Change => s.change += 1,
                Action::Delete => s.delete += 1,
            }
            s.rows += step.rows.count;
        }
        s
    }
}

/// Diffs, orders and assembles the plan of what inspection `resolved` and `observed`; masking
/// changes compute their values with `mask_key`.
///
/// # Errors
/// A dependency cycle (declared edges are checked at validation already, so this one involves a
/// foreign key), or an observation that does not fit the desired state.
pub fn build(
    resolved: &Resolved,
    observed: &Observed,
    dialect: &Dialect,
    mask_key: Option<&MaskKey>,
) -> Result<Plan, Error> {
    let desired = resolved.desired();
    let diff = diff::diff(desired, observed, dialect, mask_key)?;
    let mut dependencies = graph::declared_dependencies(desired);
    dependencies.extend(graph::foreign_key_dependencies(desired, observed));
    dependencies.extend(graph::ownership_dependencies(desired, observed));
    dependencies.extend(graph::masking_dependencies(desired, observed));
    dependencies.extend(graph::carry_dependencies(desired, observed));
    let nodes: Vec<_> = desired.resources.iter().map(|r| r.id.clone()).collect();
    let graph = graph::build(&nodes, &dependencies)?;
    let mut changes = diff.changes;
    let mut steps = Vec::with_capacity(changes.len());
    for id in graph.order() {
        if let Some(at) = changes.iter().position(|c| &c.id == id) {
            steps.push(changes.swap_remove(at));
        }
    }
    let steps = committing_first(steps, &graph.dependencies().collect::<Vec<_>>())?;
    Ok(Plan {
        target: observed.target.clone(),
        steps,
        notes: diff.notes,
        reports: diff.reports,
        findings: diff.findings,
        manual: desired.manual.iter().map(|m| m.in_spec(desired)).collect(),
        dependencies: graph.dependencies().collect(),
        catalog: observed.catalog.clone(),
        copies: observed.copies.clone(),
    })
}

/// `steps` with the changes the database commits by itself first (in their order), as apply
/// runs them: before its transaction.
///
/// # Errors
/// Such a change that must follow a change inside the transaction.
fn committing_first(steps: Vec<Change>, dependencies: &[Dependency]) -> Result<Vec<Change>, Error> {
    let (first, rest): (Vec<Change>, Vec<Change>) =
        steps.into_iter().partition(Change::commits_by_itself);
    for step in &first {
        if let Some(d) = dependencies
            .iter()
            .find(|d| d.then == step.id && rest.iter().any(|r| r.id == d.first))
        {
            return Err(Error::CommitsBeforeItsDependency {
                change: step.id.clone(),
                after: d.first.clone(),
                reason: d.reason.to_string(),
            });
        }
    }
    Ok(first.into_iter().chain(rest).collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::state::desired::{ResourceKind, TableEmpty, TableName, TableTarget};
    use crate::state::observed::ForeignKey;
    use crate::test_support::{desired, id, inspected, resource, table_ref};

    fn empty(name: &str, table: &str) -> crate::state::Resource {
        resource(
            name,
            ResourceKind::TableEmpty(TableEmpty {
                table: TableTarget::Name(TableName::try_from(table.to_string()).unwrap()),
                if_exists: false,
            }),
            &[],
        )
    }

    fn fk() -> ForeignKey {
        ForeignKey {
            name: "FK_child_parent".into(),
            from: table_ref("child"),
            to: table_ref("parent"),
        }
    }

    /// A saved plan is stale when a change's rows differ, appear or disappear.
    #[test]
    fn staleness_compares_fingerprints() {
        let d = desired(vec![empty("a", "a"), empty("b", "b")]);
        let observed = |n: u64| Observed {
            target: Target {
                server: "s".into(),
                database: "d".into(),
                forbidden_front_ends: vec![],
                front_end_list: None,
            },
            resources: vec![inspected("a", "a", 2), inspected("b", "b", n)],
            catalog: Default::default(),
            foreign_keys: vec![],
            masking: vec![],
            carry: vec![],
            copies: None,
        };
        let dialect = Dialect {
            truncate_in_transaction: true,
            empty_string_is_null: false,
        };
        let planned = build(
            &Resolved::new(d.clone().into_stage()),
            &observed(1),
            &dialect,
            None,
        )
        .unwrap();
        let key = PlanKey::from_bytes([1; 32]);
        let file = PlanFile::new(&d, None, &planned, &key);
        assert!(file.staleness(&planned, &key).is_empty());
        assert!(file.verify(std::path::Path::new("p"), &key).is_ok());
        let mut edited = file.clone();
        edited.target.database = "OS_PROD".into();
        assert!(matches!(
            edited.verify(std::path::Path::new("p"), &key),
            Err(PlanFileError::Altered { .. })
        ));
        let changed = build(
            &Resolved::new(d.clone().into_stage()),
            &observed(3),
            &dialect,
            None,
        )
        .unwrap();
        assert_eq!(
            file.staleness(&changed, &key),
            vec![Staleness {
                id: id("b"),
                planned: Some(1),
                now: Some(3)
            }]
        );
        let gone = build(
            &Resolved::new(d.clone().into_stage()),
            &observed(0),
            &dialect,
            None,
        )
        .unwrap();
        assert_eq!(file.staleness(&gone, &key)[0].now, None);
    }

    /// Whatever the declaration order, the referencing table is emptied first.
    #[test]
    fn foreign_keys_order_deletes_either_way() {
        for names in [["parent", "child"], ["child", "parent"]] {
            let d = desired(names.iter().map(|n| empty(n, n)).collect());
            let o = Observed {
                target: Target {
                    server: "s".into(),
                    database: "d".into(),
                    forbidden_front_ends: vec![],
                    front_end_list: None,
                },
                resources: names.iter().map(|n| inspected(n, n, 2)).collect(),
                catalog: Default::default(),
                foreign_keys: vec![fk()],
                masking: vec![],
                carry: vec![],
                copies: None,
            };
            let plan = build(
                &Resolved::new(d.into_stage()),
                &o,
                &Dialect {
                    truncate_in_transaction: true,
                    empty_string_is_null: false,
                },
                None,
            )
            .unwrap();
            let order: Vec<_> = plan.steps.iter().map(|s| s.id.clone()).collect();
            assert_eq!(order, vec![id("child"), id("parent")], "declared {names:?}");
            assert_eq!(plan.summary().delete, 2);
            assert_eq!(plan.summary().rows, 4);
        }
    }
}
