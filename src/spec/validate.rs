//! Checks across resources: unique ids, `after:` and `exclude:` targets that exist, no cycle.
//!
//! Per-field checks happen while deserializing (newtypes with `try_from`); what needs the whole
//! merged spec lives here. Every problem is collected; none stops the others.

use std::collections::HashMap;

use super::load::{problem_at, Located};
use super::{ProblemCode, SpecProblem};
use crate::graph::{self, Dependency, EdgeReason};
use crate::state::desired::{ManualStep, Origin, Resource, ResourceId};

/// Every cross-reference problem of a merged spec.
pub(super) fn cross_references(
    resources: &[Located<Resource>],
    manual: &[Located<ManualStep>],
    exclude: &[Located<ResourceId>],
) -> Vec<SpecProblem> {
    let mut problems = Vec::new();

    let mut first_seen: HashMap<&ResourceId, &Origin> = HashMap::new();
    let declared: Vec<(&ResourceId, &Origin)> = resources
        .iter()
        .map(|r| (&r.item.id, &r.origin))
        .chain(manual.iter().map(|m| (&m.item.id, &m.origin)))
        .collect();
    for &(id, origin) in &declared {
        if let Some(first) = first_seen.get(id) {
            problems.push(problem_at(
                origin,
                "id",
                ProblemCode::DuplicateId,
                format!("id `{id}` is already used"),
                Some(format!(
                    "first declared at {first}; ids of resources and manual steps are unique across included files"
                )),
            ));
        } else {
            first_seen.insert(id, origin);
        }
    }

    let resource_ids: Vec<&ResourceId> = resources.iter().map(|r| &r.item.id).collect();
    for r in resources {
        for (target, origin) in r.item.after.iter().zip(&r.after_origins) {
            if !resource_ids.contains(&target) {
                problems.push(problem_at(
                    origin,
                    "after",
                    ProblemCode::UnknownAfter,
                    format!(
                        "resource `{}` runs after `{target}`, which is not declared",
                        r.item.id
                    ),
                    Some(suggestion(target, &resource_ids)),
                ));
            }
        }
    }

    for e in exclude {
        if !first_seen.contains_key(&e.item) {
            problems.push(problem_at(
                &e.origin,
                "exclude",
                ProblemCode::UnknownExclude,
                format!(
                    "`{}` is excluded but no resource or manual step has that id",
                    e.item
                ),
                Some(suggestion(
                    &e.item,
                    &declared.iter().map(|(id, _)| *id).collect::<Vec<_>>(),
                )),
            ));
        }
    }

    let nodes: Vec<ResourceId> = resources.iter().map(|r| r.item.id.clone()).collect();
    let edges: Vec<Dependency> = resources
        .iter()
        .flat_map(|r| {
            r.item.after.iter().map(|before| Dependency {
                first: before.clone(),
                then: r.item.id.clone(),
                reason: EdgeReason::Declared,
            })
        })
        .collect();
    if let Err(cycle) = graph::build(&nodes, &edges) {
        if let Some(r) = cycle
            .cycle
            .first()
            .and_then(|(id, _)| resources.iter().find(|r| &r.item.id == id))
        {
            problems.push(problem_at(
                &r.origin,
                "after",
                ProblemCode::DependencyCycle,
                cycle.to_string(),
                Some("remove one of the `after:` entries on the cycle".into()),
            ));
        }
    }
    problems
}

/// "did you mean" for a mistyped id, or the list of ids.
fn suggestion(wrong: &ResourceId, known: &[&ResourceId]) -> String {
    let mut close: Vec<String> = Vec::new();
    for k in known
        .iter()
        .filter(|k| strsim_close(wrong.as_str(), k.as_str()))
    {
        let shown = format!("`{k}`");
        if !close.contains(&shown) {
            close.push(shown);
        }
    }
    if close.is_empty() {
        "check the id against the resources declared in the spec and its includes".into()
    } else {
        format!("did you mean {}?", close.join(" or "))
    }
}

/// Two ids are close when one or two edits separate them.
fn strsim_close(a: &str, b: &str) -> bool {
    a != b && strsim::levenshtein(a, b) <= 2
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Ids one or two edits apart are suggested; distant ones are not.
    #[test]
    fn close_ids() {
        assert!(strsim_close("front-ends", "frontends"));
        assert!(strsim_close("zones", "zone"));
        assert!(!strsim_close("zones", "saml-tables"));
    }
}
