//! Metamodel targets expanded: one resource per table the platform metamodel names.

use super::{Desired, ResolvedTargets, Resource, ResourceId, TableName};

impl Desired {
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
