//! `--target` and `--exclude`: the resources and manual steps a command works on.

use super::stage::Stage;
use super::{Desired, ResourceId};

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

impl<S: Stage> Desired<S> {
    /// Keeps the resources and manual steps `selection` names. Targets bring the resources
    /// they are declared `after:` along, since their order may depend on them (deleting
    /// referencing rows first); excludes win over both.
    ///
    /// # Errors
    /// An id that names no resource and no manual step.
    pub fn select(&self, selection: &Selection) -> Result<Desired<S>, UnknownSelection> {
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
    ids.iter()
        .map(|c| (strsim::levenshtein(id, c), *c))
        .filter(|(d, _)| *d <= 3.max(id.len() / 4))
        .min()
        .map(|(_, c)| c.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::state::desired::*;

    /// `--target` brings what the target runs after; `--exclude` wins; unknown ids are refused
    /// with the nearest known one.
    #[test]
    fn selection() {
        let id = |s: &str| ResourceId::try_from(s.to_string()).unwrap();
        let resource = |name: &str, after: &[&str]| {
            crate::test_support::resource(
                name,
                ResourceKind::<crate::state::desired::Declared>::TableEmpty(TableEmpty {
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
            covered_by: vec![],
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
}
