//! Checks across resources: unique ids, `after:` and `exclude:` targets that exist, no cycle.
//!
//! Per-field checks happen while deserializing (newtypes with `try_from`); what needs the whole
//! merged spec lives here. Every problem is collected; none stops the others.

use std::collections::HashMap;

use super::load::{problem_at, Located};
use super::{ProblemCode, SpecProblem};
use crate::graph::{self, Dependency, EdgeReason};
use crate::state::desired::{Desired, ManualStep, Origin, Resource, ResourceId, ResourceKind};

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

/// Resources that would look at nothing, once every include is merged and every exclude
/// removed: a check that cannot fail is an error, never a pass. A `references_absent` needs
/// hosts to look for (its `patterns:` or `production.hosts`) and tables to scan (its `tables:`
/// or the profiles' `configuration_values:`); a `masked` resource that names an entity by module
/// needs the metamodel's location (`entities:`, which the `outsystems-o11` profile declares).
pub(super) fn fail_closed(desired: &Desired) -> Vec<SpecProblem> {
    let mut problems = Vec::new();
    let hidden = hidden_tables(desired);
    for r in &desired.resources {
        match &r.kind {
            ResourceKind::Custom(c) if c.show_values => {
                if let Some(table) = hidden.iter().find(|t| c.names_table(t)) {
                    problems.push(problem_at(
                        &r.origin,
                        "show_values",
                        ProblemCode::SecretShown,
                        format!(
                            "resource `{}` shows the values its check returns, and its SQL names {table}, whose values are secret or personal in this spec",
                            r.id
                        ),
                        Some("remove `show_values: true`: the rows are then counted and their columns named, never shown".into()),
                    ));
                }
            }
            ResourceKind::ReferencesAbsent(k) => {
                if k.patterns.is_empty() && desired.production.hosts.is_empty() {
                    problems.push(problem_at(
                        &r.origin,
                        "patterns",
                        ProblemCode::NothingToScan,
                        format!(
                            "resource `{}` looks for no host: it has no `patterns:` and the spec declares no `production.hosts`",
                            r.id
                        ),
                        Some("declare production's hosts once under `production: { hosts: [...] }`, give the resource `patterns:`, or exclude it (`exclude: [ID]`)".into()),
                    ));
                }
                if k.tables.is_empty() && desired.configuration_values.is_empty() {
                    problems.push(problem_at(
                        &r.origin,
                        "tables",
                        ProblemCode::NothingToScan,
                        format!(
                            "resource `{}` scans no table: it has no `tables:` and no included profile declares `configuration_values:`",
                            r.id
                        ),
                        Some("include `outsystems-o11` (it declares the platform's configuration values), or give the resource `tables: [{ table, columns }]`".into()),
                    ));
                }
            }
            ResourceKind::Masked(m)
                if m.table.is_none() && m.entity.is_some() && desired.entities.is_none() =>
            {
                problems.push(problem_at(
                    &r.origin,
                    "entity",
                    ProblemCode::MissingMetamodel,
                    format!(
                        "resource `{}` names entity {} of module {}, but the spec does not say where the platform's metamodel is (`entities:`)",
                        r.id,
                        m.entity.as_deref().unwrap_or_default(),
                        m.module.as_deref().unwrap_or("(none)")
                    ),
                    Some("include `outsystems-o11` (it declares `entities:`), or declare `entities:` yourself; for one of the platform's own tables write `table:` instead".into()),
                ));
            }
            _ => {}
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

/// The tables whose values the spec never shows: `secret_rows`, secret configuration values,
/// and the tables of secret, personal and masked resources, as the spec names them.
fn hidden_tables(desired: &Desired) -> Vec<String> {
    let mut tables: Vec<String> = desired
        .secret_rows
        .iter()
        .map(|s| s.table.to_string())
        .chain(
            desired
                .configuration_values
                .iter()
                .filter(|c| c.secret)
                .map(|c| c.table.to_string()),
        )
        .collect();
    for r in desired
        .resources
        .iter()
        .filter(|r| (r.secret || r.personal) && !matches!(r.kind, ResourceKind::Custom(_)))
    {
        if let Some(crate::state::desired::TableTarget::Name(t)) = r.kind.target() {
            tables.push(t.to_string());
        }
    }
    tables
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
