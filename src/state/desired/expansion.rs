//! Metamodel targets expanded: one resource per table the platform metamodel names; and
//! `references_absent` resources, one per table they scan.

use super::{
    Desired, ReferencesAbsent, ResolvedTargets, Resource, ResourceId, ResourceKind, TableName,
    TableTarget,
};

impl Desired {
    /// Replaces each `references_absent` resource by one resource per table it scans
    /// (`PARENT.table_name`), its patterns and scopes defaulted from `production.hosts` and
    /// `configuration_values`; `after:` lists follow. A resource with one table and its own
    /// patterns, and one with nothing to scan, stay as they are (the plan says why for the
    /// latter).
    #[must_use]
    pub fn split_scans(&self) -> Desired {
        let mut split: Vec<(ResourceId, Vec<Resource>)> = Vec::new();
        for r in &self.resources {
            let ResourceKind::ReferencesAbsent(k) = &r.kind else {
                continue;
            };
            let patterns = if k.patterns.is_empty() {
                self.production.hosts.clone()
            } else {
                k.patterns.clone()
            };
            let scopes = if k.tables.is_empty() {
                &self.configuration_values
            } else {
                &k.tables
            };
            // One scope with its patterns is what splitting makes: nothing to do (splitting
            // twice, as apply's inspection inside the transaction does, changes nothing).
            if patterns.is_empty()
                || scopes.is_empty()
                || (k.tables.len() == 1 && !k.patterns.is_empty())
            {
                continue;
            }
            let names: Vec<String> = scopes
                .iter()
                .map(|s| match &s.table {
                    TableTarget::Name(n) => n.name.clone(),
                    TableTarget::Metamodel { tables_from } => tables_from.table.name.clone(),
                })
                .collect();
            let children = scopes
                .iter()
                .enumerate()
                .map(|(i, scope)| {
                    let mut name = names[i].clone();
                    if names.iter().filter(|n| **n == name).count() > 1 {
                        name = format!("{name}.{}", scope.columns.join("-"));
                    }
                    Resource {
                        id: r.id.child(&name),
                        kind: ResourceKind::ReferencesAbsent(ReferencesAbsent {
                            patterns: patterns.clone(),
                            tables: vec![scope.clone()],
                        }),
                        secret: r.secret || scope.secret,
                        ..r.clone()
                    }
                })
                .collect();
            split.push((r.id.clone(), children));
        }
        if split.is_empty() {
            return self.clone();
        }
        let children_of = |id: &ResourceId| split.iter().find(|(p, _)| p == id).map(|(_, c)| c);
        let mut resources = Vec::with_capacity(self.resources.len());
        for r in &self.resources {
            let after: Vec<ResourceId> = r
                .after
                .iter()
                .flat_map(|a| match children_of(a) {
                    Some(c) => c.iter().map(|c| c.id.clone()).collect(),
                    None => vec![a.clone()],
                })
                .collect();
            match children_of(&r.id) {
                Some(children) => resources.extend(children.iter().map(|c| Resource {
                    after: after.clone(),
                    ..c.clone()
                })),
                None => resources.push(Resource { after, ..r.clone() }),
            }
        }
        Desired {
            resources,
            ..self.clone()
        }
    }

    /// Replaces each resource whose metamodel target resolved to tables by one resource per
    /// table (`PARENT.table_name`), labelled; `after:` lists follow. A target that resolved to
    /// no table stays as it is, and the plan says so.
    #[must_use]
    pub fn expand(&self, resolved: &[ResolvedTargets]) -> Desired {
        let children = |id: &ResourceId| -> Option<Vec<ResourceId>> {
            let r = resolved.iter().find(|r| &r.resource == id)?;
            (!r.tables.is_empty()).then(|| r.tables.iter().map(|(t, _)| id.child(t)).collect())
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
                            id: r.id.child(table),
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

#[cfg(test)]
mod tests {
    use crate::state::desired::*;

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
}
