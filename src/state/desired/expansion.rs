//! Metamodel targets expanded: one resource per table the platform metamodel names; and
//! `references_absent` resources, one per table they scan.

use std::collections::BTreeMap;

use super::stage::{Inspected, Stage};
use super::{
    CarriedValue, ColumnValue, Condition, Describe, Desired, Predicate, ReferencesAbsent,
    ResolvedTargets, Resource, ResourceId, ResourceKind, Subselect, TableName, TableTarget,
    TablesFrom,
};
use crate::state::Value;

/// The label under which a resolved entity's id is kept, for reading its attributes.
pub const ENTITY_ID: &str = "entity id";

impl Desired {
    /// What inspection works from: `references_absent` resources split per table, `masked`
    /// resources named by module and entity given their metamodel target, `carried` resources
    /// expanded with the rows `opened` holds for them.
    #[must_use]
    pub fn prepared(&self, opened: &super::Opened) -> Desired<Inspected> {
        self.split_scans().resolve_entities().expand_carried(opened)
    }

    /// Replaces each `carried` resource by the `column_values` it amounts to: each carried
    /// column's value computed per row from the row's stable key and the opened captured rows
    /// (none opened: nothing is carried). One with `missing: insert` is followed by
    /// `ID.missing`, which inserts the captured rows the table lacks.
    #[must_use]
    pub fn expand_carried(&self, opened: &super::Opened) -> Desired<Inspected> {
        let mut out: Desired<Inspected> = self.clone().into_stage();
        let mut inserts: Vec<(usize, Resource<Inspected>)> = Vec::new();
        for (at, r) in out.resources.iter_mut().enumerate() {
            let ResourceKind::Carried(c) = &r.kind else {
                continue;
            };
            let rows = opened.get(&r.id).cloned().unwrap_or_default();
            let parts = c.parts();
            if c.missing == super::Missing::Insert {
                inserts.push((
                    at + 1,
                    Resource {
                        id: r.id.child("missing"),
                        kind: ResourceKind::RowsPresent(super::RowsPresent {
                            table: c.table.clone(),
                            carried: r.id.clone(),
                            parts: parts.clone(),
                            values: c
                                .values
                                .iter()
                                .chain(&rows.insert_columns)
                                .cloned()
                                .collect(),
                            rows: rows.clone(),
                            label: c.label.clone(),
                            if_exists: c.if_exists,
                        }),
                        after: vec![r.id.clone()],
                        description: Some(format!(
                            "captured rows of {} the clone lacks, inserted",
                            r.id
                        )),
                        ..r.clone()
                    },
                ));
            }
            let set = c
                .values
                .iter()
                .map(|column| {
                    (
                        column.clone(),
                        ColumnValue::Carried(CarriedValue {
                            resource: r.id.clone(),
                            column: column.clone(),
                            parts: parts.clone(),
                            rows: rows.clone(),
                            only_in_clone: (c.only_in_clone == super::OnlyInClone::Report
                                || self.carry.only_in_clone == super::OnlyInClone::Report)
                                .then(|| c.name.clone()),
                        }),
                    )
                })
                .collect();
            r.kind = ResourceKind::ColumnValues(super::ColumnValues {
                table: c.table.clone(),
                filter: c.filter.clone(),
                set,
                if_exists: c.if_exists,
                label: c.label.clone(),
            });
        }
        for (at, insert) in inserts.into_iter().rev() {
            out.resources.insert(at, insert);
        }
        out
    }
}

impl<S: Stage> Desired<S> {
    /// Gives each `masked` resource named by module and entity the metamodel target that
    /// finds its table: the active entity of that name in the active module of that name,
    /// with the entity's id as a label (its attributes are read by it).
    #[must_use]
    pub fn resolve_entities(&self) -> Desired<S> {
        let Some(entities) = &self.entities else {
            return self.clone();
        };
        let mut out = self.clone();
        for r in &mut out.resources {
            let ResourceKind::Masked(m) = &mut r.kind else {
                continue;
            };
            let (Some(module), Some(entity), None) = (&m.module, &m.entity, &m.table) else {
                continue;
            };
            let is = |column: &str, value: Value| Condition {
                column: column.to_string(),
                predicate: Predicate::In(vec![value]),
                ignore_case: false,
            };
            let module_ids = Subselect {
                table: entities.modules.table.clone(),
                column: entities.modules.id.clone(),
                filter: vec![is(&entities.modules.name, Value::Text(module.clone()))],
            };
            m.table = Some(TableTarget::Metamodel {
                tables_from: TablesFrom {
                    table: entities.table.clone(),
                    column: entities.physical_table.clone(),
                    filter: vec![
                        is(&entities.name, Value::Text(entity.clone())),
                        is(&entities.active, Value::Int(1)),
                        Condition {
                            column: entities.module.clone(),
                            predicate: Predicate::InSelect(Box::new(module_ids)),
                            ignore_case: false,
                        },
                    ],
                    describe: BTreeMap::from([(
                        ENTITY_ID.to_string(),
                        Describe::Column {
                            column: entities.id.clone(),
                        },
                    )]),
                },
            });
        }
        out
    }

    /// Replaces each `references_absent` resource by one resource per table it scans
    /// (`PARENT.table_name`), its patterns and scopes defaulted from `production.hosts` and
    /// `configuration_values`; `after:` lists follow. A resource with one table and its own
    /// patterns, and one with nothing to scan, stay as they are (the plan says why for the
    /// latter).
    #[must_use]
    pub fn split_scans(&self) -> Desired<S> {
        let mut split: Vec<(ResourceId, Vec<Resource<S>>)> = Vec::new();
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
    pub fn expand(&self, resolved: &[ResolvedTargets]) -> Desired<S> {
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
                // A masked entity is one table: it keeps its resource's id.
                Some(x) if matches!(r.kind, ResourceKind::Masked(_)) && x.tables.len() == 1 => {
                    let (table, labels) = &x.tables[0];
                    let mut kind = r.kind.clone();
                    kind.set_table(TableName {
                        schema: None,
                        name: table.clone(),
                    });
                    resources.push(Resource {
                        kind,
                        after,
                        labels: labels.clone(),
                        ..r.clone()
                    });
                }
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

    /// The same desired state with only the resources in `ids`.
    #[must_use]
    pub fn only(&self, ids: &[ResourceId]) -> Desired<S> {
        Desired {
            resources: self
                .resources
                .iter()
                .filter(|r| ids.contains(&r.id))
                .cloned()
                .collect(),
            ..self.clone()
        }
    }

    /// The resource with this id.
    #[must_use]
    pub fn resource(&self, id: &ResourceId) -> Option<&Resource<S>> {
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
                ResourceKind::<crate::state::desired::Declared>::TableEmpty(TableEmpty {
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
