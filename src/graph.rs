//! The dependency graph of resources, and the order changes run in.
//!
//! Edges come from `after:` in the spec and from foreign keys read from the catalog (rows of a
//! referencing table are deleted before the rows they reference). Independent resources keep
//! their declaration order, so the same spec and database always give the same plan.
//! Graph bookkeeping (node indices) stays in this file.

use crate::state::desired::{Inspected, Stage};
use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap};
use std::fmt;

use petgraph::algo::tarjan_scc;
use petgraph::graph::{DiGraph, NodeIndex};
use petgraph::visit::EdgeRef;

use crate::state::desired::{Desired, ResourceId, ResourceKind};
use crate::state::observed::{Observed, ObservedResource, TableRef};

/// Why one resource must come before another.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EdgeReason {
    /// The spec says so (`after:`).
    Declared,
    /// The first resource deletes rows that reference rows the second deletes.
    ForeignKey {
        /// Constraint name.
        constraint: String,
    },
    /// The first resource masks a table whose triggers may feed the queue the second one
    /// empties: the queue is emptied after the masking.
    Triggers {
        /// The masked table.
        table: String,
    },
    /// The first resource deletes rows that reference rows the second one updates: the
    /// referencing rows go first, so that the update meets no row that references its own.
    ReferencingFirst {
        /// Constraint name, with its tables.
        constraint: String,
    },
    /// The first resource writes or deletes rows of a table whose environment's own values the
    /// second one carries: the carry writes last.
    Carries {
        /// The table.
        table: String,
    },
    /// The first resource changes a table in a schema the second one's users own: tables are
    /// changed before their owners are dropped.
    Ownership {
        /// The user.
        owner: String,
        /// Its schema.
        schema: String,
    },
}

impl fmt::Display for EdgeReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            EdgeReason::Declared => f.write_str("declared"),
            EdgeReason::ForeignKey { constraint } => write!(f, "foreign key {constraint}"),
            EdgeReason::ReferencingFirst { constraint } => write!(
                f,
                "foreign key {constraint}: the referencing rows are deleted before the referenced ones are updated"
            ),
            EdgeReason::Triggers { table } => {
                write!(
                    f,
                    "masking {table} may queue BPT events; the queue is emptied after"
                )
            }
            EdgeReason::Carries { table } => write!(
                f,
                "the environment's own values of {table} are carried over what the first writes"
            ),
            EdgeReason::Ownership { owner, schema } => {
                write!(f, "ownership: schema {schema} of user {owner}")
            }
        }
    }
}

/// `first` must run before `then`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Dependency {
    /// Runs first.
    pub first: ResourceId,
    /// Runs after `first`.
    pub then: ResourceId,
    /// Why.
    pub reason: EdgeReason,
}

/// A dependency cycle: no order satisfies it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("dependency cycle: {}", render_cycle(.cycle))]
pub struct CycleError {
    /// The resources of the cycle, in cycle order, each edge with its reason.
    pub cycle: Vec<(ResourceId, EdgeReason)>,
}

fn render_cycle(cycle: &[(ResourceId, EdgeReason)]) -> String {
    let mut out = String::new();
    for (id, reason) in cycle {
        out.push_str(&format!("{id} → ({reason}) "));
    }
    if let Some((first, _)) = cycle.first() {
        out.push_str(first.as_str());
    }
    out
}

/// Resources and their dependencies, with a deterministic order.
#[derive(Debug, Clone)]
pub struct ChangeGraph {
    graph: DiGraph<ResourceId, EdgeReason>,
    order: Vec<ResourceId>,
}

impl ChangeGraph {
    /// Every resource, dependencies first; ties keep declaration order.
    #[must_use]
    pub fn order(&self) -> &[ResourceId] {
        &self.order
    }

    /// Every edge, in insertion order.
    pub fn dependencies(&self) -> impl Iterator<Item = Dependency> + '_ {
        self.graph.edge_references().map(|e| Dependency {
            first: self.graph[e.source()].clone(),
            then: self.graph[e.target()].clone(),
            reason: e.weight().clone(),
        })
    }
}

/// Builds the graph of `nodes` (in declaration order) and `dependencies`.
///
/// Dependencies naming a resource outside `nodes` (an excluded one) are dropped.
///
/// # Errors
/// A cycle, named resource by resource.
pub fn build(nodes: &[ResourceId], dependencies: &[Dependency]) -> Result<ChangeGraph, CycleError> {
    let mut graph = DiGraph::new();
    let mut index: HashMap<&ResourceId, NodeIndex> = HashMap::new();
    for id in nodes {
        index.insert(id, graph.add_node(id.clone()));
    }
    for dep in dependencies {
        if let (Some(&a), Some(&b)) = (index.get(&dep.first), index.get(&dep.then)) {
            if graph.find_edge(a, b).is_none() {
                graph.add_edge(a, b, dep.reason.clone());
            }
        }
    }
    if let Some(cycle) = find_cycle(&graph) {
        return Err(CycleError { cycle });
    }
    // Kahn's algorithm, always taking the ready node declared first.
    let mut indegree: Vec<usize> = graph
        .node_indices()
        .map(|n| graph.neighbors_directed(n, petgraph::Incoming).count())
        .collect();
    let mut ready: BinaryHeap<Reverse<usize>> = indegree
        .iter()
        .enumerate()
        .filter(|(_, d)| **d == 0)
        .map(|(i, _)| Reverse(i))
        .collect();
    let mut order = Vec::with_capacity(nodes.len());
    while let Some(Reverse(i)) = ready.pop() {
        let n = NodeIndex::new(i);
        order.push(graph[n].clone());
        for next in graph.neighbors_directed(n, petgraph::Outgoing) {
            indegree[next.index()] -= 1;
            if indegree[next.index()] == 0 {
                ready.push(Reverse(next.index()));
            }
        }
    }
    Ok(ChangeGraph { graph, order })
}

/// A cycle in cycle order, if the graph has one: the strongly connected component that holds
/// it, walked from its first-declared member.
fn find_cycle(graph: &DiGraph<ResourceId, EdgeReason>) -> Option<Vec<(ResourceId, EdgeReason)>> {
    let component = tarjan_scc(graph)
        .into_iter()
        .find(|scc| scc.len() > 1 || graph.find_edge(scc[0], scc[0]).is_some())?;
    let start = *component.iter().min_by_key(|n| n.index())?;
    // Breadth-first search inside the component for the shortest way back to `start`.
    let mut previous: HashMap<NodeIndex, (NodeIndex, EdgeReason)> = HashMap::new();
    let mut queue = std::collections::VecDeque::from([start]);
    while let Some(n) = queue.pop_front() {
        let mut edges: Vec<_> = graph.edges(n).collect();
        edges.sort_by_key(|e| e.target().index());
        for e in edges {
            let next = e.target();
            if !component.contains(&next) || previous.contains_key(&next) {
                continue;
            }
            previous.insert(next, (n, e.weight().clone()));
            if next == start {
                let mut path = Vec::new();
                let mut at = start;
                loop {
                    let (from, reason) = previous[&at].clone();
                    path.push((graph[from].clone(), reason));
                    at = from;
                    if at == start {
                        break;
                    }
                }
                path.reverse();
                return Some(path);
            }
            queue.push_back(next);
        }
    }
    None
}

/// The `after:` edges of a desired state.
#[must_use]
pub fn declared_dependencies<S: Stage>(desired: &Desired<S>) -> Vec<Dependency> {
    desired
        .resources
        .iter()
        .flat_map(|r| {
            r.after.iter().map(|before| Dependency {
                first: before.clone(),
                then: r.id.clone(),
                reason: EdgeReason::Declared,
            })
        })
        .collect()
}

/// Edges from foreign keys: a resource deleting rows of a referencing table runs before one
/// deleting rows of the table it references, and before one updating them (a mask, a
/// rewrite).
#[must_use]
pub fn foreign_key_dependencies(
    desired: &Desired<Inspected>,
    observed: &Observed,
) -> Vec<Dependency> {
    let tables = |update: bool| -> Vec<(&ResourceId, &TableRef)> {
        desired
            .resources
            .iter()
            .filter(|r| match r.kind {
                ResourceKind::RowsAbsent(_) | ResourceKind::TableEmpty(_) => !update,
                ResourceKind::ColumnValues(_) | ResourceKind::Masked(_) => update,
                _ => false,
            })
            .filter_map(|r| match observed.resource(&r.id)? {
                ObservedResource::Inspected { table: Some(t), .. } => Some((&r.id, &t.table)),
                _ => None,
            })
            .collect()
    };
    let deleting = tables(false);
    let updating = tables(true);
    let mut out = Vec::new();
    for fk in &observed.foreign_keys {
        if fk.from == fk.to {
            continue;
        }
        let constraint = format!("{} ({} → {})", fk.name, fk.from, fk.to);
        for (referencing, _) in deleting.iter().filter(|(_, t)| **t == fk.from) {
            for (referenced, _) in deleting.iter().filter(|(_, t)| **t == fk.to) {
                out.push(Dependency {
                    first: (*referencing).clone(),
                    then: (*referenced).clone(),
                    reason: EdgeReason::ForeignKey {
                        constraint: constraint.clone(),
                    },
                });
            }
            for (updated, _) in updating.iter().filter(|(_, t)| **t == fk.to) {
                out.push(Dependency {
                    first: (*referencing).clone(),
                    then: (*updated).clone(),
                    reason: EdgeReason::ReferencingFirst {
                        constraint: constraint.clone(),
                    },
                });
            }
        }
    }
    out
}

/// Edges from carrying: a resource that writes or deletes rows of a table runs before the
/// resource that carries the environment's own values of that table (what the runbook resets,
/// the carry then puts back).
#[must_use]
pub fn carry_dependencies(desired: &Desired<Inspected>, observed: &Observed) -> Vec<Dependency> {
    let table_of = |id: &ResourceId| match observed.resource(id) {
        Some(ObservedResource::Inspected { table: Some(t), .. }) => Some(&t.table),
        _ => None,
    };
    let mut out = Vec::new();
    for carry in desired
        .resources
        .iter()
        .filter(|r| r.kind.carried().is_some())
    {
        let Some(table) = table_of(&carry.id) else {
            continue;
        };
        for other in &desired.resources {
            let writes = matches!(
                other.kind,
                ResourceKind::ColumnValues(_)
                    | ResourceKind::RowsAbsent(_)
                    | ResourceKind::TableEmpty(_)
                    | ResourceKind::Masked(_)
            );
            if other.id != carry.id
                && writes
                && other.kind.carried().is_none()
                && table_of(&other.id) == Some(table)
            {
                out.push(Dependency {
                    first: other.id.clone(),
                    then: carry.id.clone(),
                    reason: EdgeReason::Carries {
                        table: table.to_string(),
                    },
                });
            }
        }
    }
    out
}

/// Edges from ownership: a `principals_absent` resource runs after every resource that changes
/// a table in a schema its users own (objects, then schemas, then users: the change itself
/// orders the rest).
#[must_use]
pub fn ownership_dependencies(
    desired: &Desired<Inspected>,
    observed: &Observed,
) -> Vec<Dependency> {
    let mut out = Vec::new();
    for r in &desired.resources {
        let Some(ObservedResource::Principals { found, .. }) = observed.resource(&r.id) else {
            continue;
        };
        for (p, s) in found
            .iter()
            .flat_map(|p| p.schemas.iter().map(move |s| (p, s)))
        {
            for other in &observed.resources {
                if let ObservedResource::Inspected {
                    id, table: Some(t), ..
                } = other
                {
                    if id != &r.id && t.table.schema.eq_ignore_ascii_case(&s.name) {
                        out.push(Dependency {
                            first: id.clone(),
                            then: r.id.clone(),
                            reason: EdgeReason::Ownership {
                                owner: p.name.clone(),
                                schema: s.name.clone(),
                            },
                        });
                    }
                }
            }
        }
    }
    out
}

/// Resources that mask a table before those that empty a table the platform's triggers feed
/// (`event_queues`, from the quarantine profile): masking updates rows, and an update of a
/// table with process events queues BPT work the purge must catch.
#[must_use]
pub fn masking_dependencies(desired: &Desired<Inspected>, observed: &Observed) -> Vec<Dependency> {
    let mut out = Vec::new();
    let catalog = &observed.catalog;
    let queues: Vec<&ResourceId> = desired
        .resources
        .iter()
        .filter(|q| {
            matches!(
                q.kind,
                ResourceKind::TableEmpty(_) | ResourceKind::RowsAbsent(_)
            ) && q.kind.table().is_some_and(|t| {
                desired
                    .event_queues
                    .iter()
                    .any(|e| catalog.same_table(e, t))
            })
        })
        .map(|q| &q.id)
        .collect();
    for r in &desired.resources {
        let ResourceKind::Masked(_) = &r.kind else {
            continue;
        };
        let table = r
            .kind
            .table()
            .map_or_else(|| r.id.to_string(), ToString::to_string);
        for q in &queues {
            out.push(Dependency {
                first: r.id.clone(),
                then: (*q).clone(),
                reason: EdgeReason::Triggers {
                    table: table.clone(),
                },
            });
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::id;

    /// A plan that empties a child table and updates (masks, rewrites) its parent empties the
    /// child first: the edge names the foreign key. A table no key joins gets no edge.
    /// See: issue 21
    #[test]
    fn referencing_rows_go_before_their_parent_is_updated_issue_21() {
        use crate::state::desired::{ColumnValues, TableEmpty, TableTarget};
        use crate::state::observed::ForeignKey;
        use crate::test_support::{desired, inspected, name, observed, resource, table_ref};
        let d = desired(vec![
            resource(
                "mask-customers",
                ResourceKind::ColumnValues(ColumnValues {
                    table: TableTarget::Name(name("customer")),
                    filter: vec![],
                    set: std::collections::BTreeMap::new(),
                    if_exists: false,
                    label: None,
                }),
                &[],
            ),
            resource(
                "purge-orders",
                ResourceKind::TableEmpty(TableEmpty {
                    table: TableTarget::Name(name("orders")),
                    if_exists: false,
                }),
                &[],
            ),
            resource(
                "purge-logs",
                ResourceKind::TableEmpty(TableEmpty {
                    table: TableTarget::Name(name("logs")),
                    if_exists: false,
                }),
                &[],
            ),
        ]);
        let mut o = observed(vec![
            inspected("mask-customers", "CUSTOMER", 2),
            inspected("purge-orders", "ORDERS", 2),
            inspected("purge-logs", "LOGS", 2),
        ]);
        o.foreign_keys.push(ForeignKey {
            name: "FK_ORDERS_CUSTOMER".into(),
            from: table_ref("ORDERS"),
            to: table_ref("CUSTOMER"),
        });
        let deps = foreign_key_dependencies(&d, &o);
        assert_eq!(deps.len(), 1, "{deps:?}");
        assert_eq!(
            (deps[0].first.as_str(), deps[0].then.as_str()),
            ("purge-orders", "mask-customers")
        );
        assert_eq!(
            deps[0].reason.to_string(),
            "foreign key FK_ORDERS_CUSTOMER (dbo.ORDERS → dbo.CUSTOMER): the referencing rows are deleted before the referenced ones are updated"
        );
        let nodes: Vec<ResourceId> = d.resources.iter().map(|r| r.id.clone()).collect();
        let graph = build(&nodes, &deps).unwrap();
        let order: Vec<&str> = graph.order().iter().map(ResourceId::as_str).collect();
        let at = |id: &str| order.iter().position(|o| *o == id).unwrap();
        assert!(at("purge-orders") < at("mask-customers"), "{order:?}");
    }

    /// Users are dropped after the changes to tables in the schemas they own, and only those.
    #[test]
    fn ownership_orders_users_last() {
        use crate::state::desired::{PrincipalsAbsent, TableEmpty, TableName, TableTarget};
        use crate::state::observed::{OwnedSchema, Principal};
        use crate::test_support::{desired, inspected, observed, resource};
        let empty = |name: &str| {
            resource(
                name,
                ResourceKind::TableEmpty(TableEmpty {
                    table: TableTarget::Name(TableName::try_from(name.to_string()).unwrap()),
                    if_exists: false,
                }),
                &[],
            )
        };
        let users = resource(
            "users",
            ResourceKind::PrincipalsAbsent(PrincipalsAbsent {
                names: vec!["OSADMIN".into()],
                new_owner: "dbo".into(),
            }),
            &[],
        );
        let d = desired(vec![users, empty("inside"), empty("outside")]);
        let mut inside = inspected("inside", "T1", 1);
        if let ObservedResource::Inspected { table: Some(t), .. } = &mut inside {
            t.table.schema = "osadmin".into();
        }
        let o = observed(vec![
            ObservedResource::Principals {
                id: id("users"),
                found: vec![Principal {
                    name: "OSADMIN".into(),
                    kind: "SQL_USER".into(),
                    schemas: vec![OwnedSchema {
                        name: "OSADMIN".into(),
                        objects: 1,
                    }],
                    objects: vec![],
                    roles: vec![],
                }],
                new_owner: "dbo".into(),
            },
            inside,
            inspected("outside", "T2", 1),
        ]);
        let deps = ownership_dependencies(&d, &o);
        assert_eq!(deps.len(), 1, "{deps:?}");
        assert_eq!(
            (deps[0].first.as_str(), deps[0].then.as_str()),
            ("inside", "users")
        );
        assert_eq!(
            deps[0].reason.to_string(),
            "ownership: schema OSADMIN of user OSADMIN"
        );
        let g = build(&ids(&["users", "inside", "outside"]), &deps).unwrap();
        assert_eq!(g.order(), ids(&["inside", "users", "outside"]).as_slice());
    }

    fn dep(a: &str, b: &str) -> Dependency {
        Dependency {
            first: id(a),
            then: id(b),
            reason: EdgeReason::Declared,
        }
    }

    fn ids(names: &[&str]) -> Vec<ResourceId> {
        names.iter().map(|n| id(n)).collect()
    }

    /// Without edges the order is the declaration order.
    #[test]
    fn independent_resources_keep_declaration_order() {
        let g = build(&ids(&["c", "a", "b"]), &[]).unwrap();
        assert_eq!(g.order(), ids(&["c", "a", "b"]).as_slice());
    }

    /// Edges move a resource after its dependency, and only as far as needed.
    #[test]
    fn dependencies_come_first() {
        let g = build(&ids(&["a", "b", "c", "d"]), &[dep("d", "a"), dep("c", "b")]).unwrap();
        assert_eq!(g.order(), ids(&["c", "b", "d", "a"]).as_slice());
    }

    /// A cycle names every resource on it, in cycle order, with the edge reasons.
    #[test]
    fn cycle_names_every_member() {
        let err = build(
            &ids(&["x", "a", "b", "c"]),
            &[dep("a", "b"), dep("b", "c"), dep("c", "a")],
        )
        .unwrap_err();
        let members: Vec<&str> = err.cycle.iter().map(|(id, _)| id.as_str()).collect();
        assert_eq!(members, vec!["a", "b", "c"]);
        assert_eq!(
            err.to_string(),
            "dependency cycle: a → (declared) b → (declared) c → (declared) a"
        );
    }

    /// A resource that depends on itself is a cycle too.
    #[test]
    fn self_dependency_is_a_cycle() {
        let err = build(&ids(&["a"]), &[dep("a", "a")]).unwrap_err();
        assert_eq!(err.cycle.len(), 1);
    }

    /// Edges to resources outside the graph (excluded ones) are ignored.
    #[test]
    fn edges_to_excluded_resources_are_dropped() {
        let g = build(&ids(&["a"]), &[dep("gone", "a")]).unwrap();
        assert_eq!(g.order(), ids(&["a"]).as_slice());
        assert_eq!(g.dependencies().count(), 0);
    }
}
