//! Desired × observed → changes. Pure: no IO, no engine.
//!
//! The engines push each resource's predicate into their inspection query, so `Observed` already
//! holds only the drifted rows. What is decided here: which resources need a change, which kind
//! of change, how a table is emptied (from the engine's `Dialect` and the foreign keys), and which
//! resources are only worth a note.

use crate::change::{Assignment, Change, ChangeKind, Dialect, EmptyMethod};
use crate::state::desired::Inspected;
use crate::state::desired::{
    ColumnValue, Desired, Resource, ResourceId, ResourceKind, TableTarget,
};
use crate::state::masking::MaskKey;
use crate::state::observed::{
    Drift, DriftRow, ForeignKey, Grant, Hit, Observed, ObservedResource, Principal, TableInfo,
    TableRef,
};
use crate::state::Value;

mod finding;
mod note;

pub use finding::{Finding, FoundHit, Reported};
pub use note::Note;

use finding::fixed_by;

/// The result of a diff.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Diff {
    /// One change per drifted resource, in declaration order.
    pub changes: Vec<Change>,
    /// Notes, in declaration order.
    pub notes: Vec<Note>,
    /// Read-only reports, in declaration order.
    pub reports: Vec<Reported>,
    /// Values that name production, per scanned table.
    pub findings: Vec<Finding>,
}

/// Why a diff could not be computed: the observation does not fit the desired state.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum Error {
    /// The engine returned no observation for a resource.
    #[error("resource {id} was not inspected")]
    NotInspected {
        /// The resource.
        id: ResourceId,
    },
    /// A read-only scan would look at nothing.
    #[error("resource {id} would scan nothing: it has no hosts to look for or no table to scan; declare `production.hosts` and include a profile with `configuration_values:`, or give it `patterns:` and `tables:`")]
    NothingToScan {
        /// The resource.
        id: ResourceId,
    },
    /// A table resource came back without its table.
    #[error("resource {id} was inspected without its table")]
    MissingTable {
        /// The resource.
        id: ResourceId,
    },
}

/// Computes the changes that bring `observed` to `desired`; masking changes compute their
/// values with `mask_key`.
///
/// # Errors
/// When `observed` lacks a resource of `desired` (an engine defect, never a user error).
pub fn diff(
    desired: &Desired<Inspected>,
    observed: &Observed,
    dialect: &Dialect,
    mask_key: Option<&MaskKey>,
) -> Result<Diff, Error> {
    let mut out = Diff::default();
    masking_notes(observed, &mut out.notes);
    for facts in &observed.carry {
        if !facts.missing.is_empty() {
            out.notes.push(Note::NotInClone {
                id: facts.id.clone(),
                rows: facts.missing.clone(),
                cannot_insert: facts.cannot_insert.clone(),
            });
        }
        if !facts.only_in_clone.is_empty() {
            out.notes.push(Note::OnlyInClone {
                id: facts.id.clone(),
                rows: facts
                    .only_in_clone
                    .iter()
                    .take(note::ONLY_IN_CLONE_SHOWN)
                    .cloned()
                    .collect(),
                total: facts.only_in_clone.len(),
            });
        }
        if facts.unopened > 0 {
            out.notes.push(Note::Sealed {
                id: facts.id.clone(),
                rows: facts.unopened,
            });
        }
    }
    let context = Context::new(desired, observed, dialect, mask_key);
    for resource in &desired.resources {
        let seen = observed
            .resource(&resource.id)
            .ok_or_else(|| Error::NotInspected {
                id: resource.id.clone(),
            })?;
        match seen {
            // The spec's checks refuse a scan with nothing to look at; one that reaches here
            // (a saved plan, a future path) is an error, never a check that passed.
            ObservedResource::TableAbsent { id } if matches!(&resource.kind, ResourceKind::ReferencesAbsent(k) if k.scope().is_none()) =>
            {
                return Err(Error::NothingToScan { id: id.clone() });
            }
            ObservedResource::References {
                id,
                table,
                hits,
                unscannable,
            } => {
                if !unscannable.is_empty() {
                    out.notes.push(Note::Unscannable {
                        id: id.clone(),
                        columns: unscannable.clone(),
                    });
                }
                if !hits.is_empty() {
                    out.findings.push(context.finding(resource, table, hits));
                }
            }
            ObservedResource::TableAbsent { id } => out.notes.push(absent(resource, id)),
            ObservedResource::Principals {
                found, new_owner, ..
            } => {
                if !found.is_empty() {
                    out.changes
                        .push(context.drop_principals(resource, found, new_owner));
                }
            }
            ObservedResource::Grants { found, .. } => {
                if !found.is_empty() {
                    out.changes.push(context.revoke(resource, found));
                }
            }
            ObservedResource::Inspected { drift, .. } if resource.kind.is_read_only() => {
                out.reports.push(Reported {
                    id: resource.id.clone(),
                    description: resource.description.clone(),
                    secret: resource.secret,
                    count: drift.count,
                    rows: if resource.secret {
                        Vec::new()
                    } else {
                        drift.sample.clone()
                    },
                });
            }
            ObservedResource::Inspected { table, drift, .. } => {
                if let Some(change) =
                    context.table_change(resource, table.as_ref(), drift, &mut out.notes)?
                {
                    out.changes.push(change);
                }
            }
        }
    }
    Ok(out)
}

/// What masking's checks found, as notes.
fn masking_notes(observed: &Observed, notes: &mut Vec<Note>) {
    for facts in &observed.masking {
        let id = facts.id.clone();
        if !facts.uncovered.is_empty() {
            notes.push(Note::Uncovered {
                id: id.clone(),
                items: facts.uncovered.clone(),
            });
        }
        if !facts.triggers.is_empty() {
            notes.push(Note::Triggers {
                id: id.clone(),
                names: facts.triggers.clone(),
            });
        }
        if !facts.unique_unchecked.is_empty() {
            notes.push(Note::UniqueUnchecked {
                id: id.clone(),
                indexes: facts.unique_unchecked.clone(),
            });
        }
        if facts.attributes_unchecked {
            notes.push(Note::AttributesUnchecked { id });
        }
    }
}

/// Why a resource whose table is absent does nothing.
fn absent(resource: &Resource<Inspected>, id: &ResourceId) -> Note {
    match resource.kind.target() {
        Some(TableTarget::Name(table)) => Note::TableAbsent {
            id: id.clone(),
            table: table.clone(),
        },
        Some(target @ TableTarget::Metamodel { .. }) => Note::NothingResolved {
            id: id.clone(),
            target: target.to_string(),
        },
        None => Note::NotOnThisEngine { id: id.clone() },
    }
}

/// What every resource's change is decided with.
struct Context<'a> {
    desired: &'a Desired<Inspected>,
    observed: &'a Observed,
    dialect: &'a Dialect,
    mask_key: Option<&'a MaskKey>,
    /// Masking a table with triggers queues BPT events during the apply: the queues the spec
    /// empties are emptied then, even if they are empty now.
    triggers_fire: bool,
    /// Tables whose rows hold personal data: every change of such a table journals its rows
    /// sealed (a whole row carries the personal columns too) and shows them by key only.
    personal_tables: Vec<&'a TableRef>,
}

impl<'a> Context<'a> {
    fn new(
        desired: &'a Desired<Inspected>,
        observed: &'a Observed,
        dialect: &'a Dialect,
        mask_key: Option<&'a MaskKey>,
    ) -> Context<'a> {
        let triggers_fire = observed.masking.iter().any(|f| {
            !f.triggers.is_empty()
                && matches!(observed.resource(&f.id),
                    Some(ObservedResource::Inspected { drift, .. }) if !drift.is_empty())
        });
        let personal_tables = desired
            .resources
            .iter()
            .filter(|r| r.personal || matches!(r.kind, ResourceKind::Masked(_)))
            .filter_map(|r| match observed.resource(&r.id) {
                Some(ObservedResource::Inspected { table: Some(t), .. }) => Some(&t.table),
                _ => None,
            })
            .collect();
        Context {
            desired,
            observed,
            dialect,
            mask_key,
            triggers_fire,
            personal_tables,
        }
    }

    /// Values of a scanned table that name production, each with the change that fixes it.
    fn finding(&self, resource: &Resource<Inspected>, table: &TableInfo, hits: &[Hit]) -> Finding {
        Finding {
            id: resource.id.clone(),
            description: resource.description.clone(),
            table: table.table.clone(),
            hits: hits
                .iter()
                .map(|h| FoundHit {
                    fixed_by: h.fixed_by.clone().or_else(|| {
                        (!h.carried)
                            .then(|| fixed_by(self.desired, &self.observed.catalog, table, h))
                            .flatten()
                    }),
                    hit: h.clone(),
                })
                .collect(),
        }
    }

    /// Dropping the database users found, with what they own.
    fn drop_principals(
        &self,
        resource: &Resource<Inspected>,
        found: &[Principal],
        new_owner: &str,
    ) -> Change {
        change(
            self.mask_key,
            resource,
            ChangeKind::DropPrincipals {
                principals: found.to_vec(),
                new_owner: new_owner.to_string(),
            },
            Drift {
                count: found.len() as u64,
                fingerprint: principals_fingerprint(found),
                sample: found
                    .iter()
                    .map(|p| DriftRow {
                        key: vec![("user".into(), Value::Text(p.name.clone()))],
                        ..DriftRow::default()
                    })
                    .collect(),
            },
        )
    }

    /// Revoking the privileges found.
    fn revoke(&self, resource: &Resource<Inspected>, found: &[Grant]) -> Change {
        let mut fingerprint = crate::state::fingerprint::Fingerprint::default();
        for g in found {
            let row: Vec<Value> = [&g.grantee, &g.owner, &g.object, &g.privilege]
                .into_iter()
                .map(|t| Value::Text(t.clone()))
                .collect();
            fingerprint.row(&row);
        }
        change(
            self.mask_key,
            resource,
            ChangeKind::RevokeGrants {
                grants: found.to_vec(),
            },
            Drift {
                count: found.len() as u64,
                fingerprint: fingerprint.finish(),
                sample: found
                    .iter()
                    .map(|g| DriftRow {
                        key: vec![
                            ("grantee".into(), Value::Text(g.grantee.clone())),
                            (
                                "object".into(),
                                Value::Text(format!("{}.{}", g.owner, g.object)),
                            ),
                            ("privilege".into(), Value::Text(g.privilege.clone())),
                        ],
                        ..DriftRow::default()
                    })
                    .collect(),
            },
        )
    }

    /// The change of a table resource, if its rows drifted (or it empties a queue masking will
    /// feed); with the notes it needs.
    fn table_change(
        &self,
        resource: &Resource<Inspected>,
        table: Option<&TableInfo>,
        drift: &Drift,
        notes: &mut Vec<Note>,
    ) -> Result<Option<Change>, Error> {
        if let (ResourceKind::ColumnValues(r), Some(table)) = (&resource.kind, table) {
            notes.extend(empty_texts(resource, r, table, self.dialect));
        }
        let catalog = &self.observed.catalog;
        let queue = matches!(
            resource.kind,
            ResourceKind::TableEmpty(_) | ResourceKind::RowsAbsent(_)
        ) && resource.kind.table().is_some_and(|t| {
            self.desired
                .event_queues
                .iter()
                .any(|q| catalog.same_table(q, t))
        });
        if drift.is_empty() && !(queue && self.triggers_fire) {
            return Ok(None);
        }
        let referencing: Vec<&ForeignKey> = table
            .map(|t| self.observed.referencing(&t.table).collect())
            .unwrap_or_default();
        let kind = change_kind(resource, table, &referencing, self.dialect)?;
        let personal =
            resource.personal || table.is_some_and(|t| self.personal_tables.contains(&&t.table));
        if personal && self.desired.journal.recipients.is_empty() {
            let what = match &kind {
                ChangeKind::SetColumns { assignments, .. } => {
                    let columns: Vec<&str> =
                        assignments.iter().map(|a| a.column.as_str()).collect();
                    format!("the original values of {}", columns.join(", "))
                }
                _ => "the deleted rows".to_string(),
            };
            notes.push(Note::NotJournaled {
                id: resource.id.clone(),
                what,
            });
        }
        let mut change = change(self.mask_key, resource, kind, drift.clone());
        change.personal = personal;
        change.sealed = personal
            || resource.secret
            || resource.kind.carried().is_some()
            || table.is_some_and(|t| {
                self.desired
                    .secret_rows
                    .iter()
                    .any(|s| self.observed.catalog.resolve(&s.table) == Some(&t.table))
            });
        Ok(Some(change))
    }
}

/// Where the engine stores `''` as NULL: a note for each column set to an empty text.
fn empty_texts(
    resource: &Resource<Inspected>,
    values: &crate::state::desired::ColumnValues<Inspected>,
    table: &TableInfo,
    dialect: &Dialect,
) -> Vec<Note> {
    if !dialect.empty_string_is_null {
        return Vec::new();
    }
    values
        .set
        .iter()
        .filter(|(_, value)| matches!(value, ColumnValue::Literal(Value::Text(t)) if t.is_empty()))
        .filter_map(|(column, _)| table.column(column))
        .map(|info| Note::EmptyText {
            id: resource.id.clone(),
            column: info.name.clone(),
            stored_as: if info.nullable { "NULL" } else { "' '" }.into(),
        })
        .collect()
}

/// The change `resource` needs: `kind` on `rows`, with what the resource says of itself.
fn change(
    mask_key: Option<&MaskKey>,
    resource: &Resource<Inspected>,
    kind: ChangeKind,
    rows: Drift,
) -> Change {
    Change {
        id: resource.id.clone(),
        kind,
        rows,
        secret: resource.secret,
        description: resource.description.clone(),
        labels: resource.labels.clone(),
        row_label: resource.kind.label().cloned(),
        personal: resource.personal,
        sealed: resource.personal || resource.secret,
        mask_key: mask_key.cloned(),
    }
}

fn change_kind(
    resource: &Resource<Inspected>,
    table: Option<&crate::state::TableInfo>,
    referencing: &[&ForeignKey],
    dialect: &Dialect,
) -> Result<ChangeKind, Error> {
    let table = || {
        table.cloned().ok_or_else(|| Error::MissingTable {
            id: resource.id.clone(),
        })
    };
    Ok(match &resource.kind {
        ResourceKind::RowsAbsent(r) if !r.filter.is_empty() => ChangeKind::DeleteRows {
            table: table()?,
            filter: r.filter.clone(),
        },
        ResourceKind::RowsAbsent(_) | ResourceKind::TableEmpty(_) => ChangeKind::EmptyTable {
            table: table()?,
            method: empty_method(referencing, dialect),
        },
        ResourceKind::ColumnValues(_) | ResourceKind::Masked(_) => {
            let table = table()?;
            let assignments = resource
                .kind
                .set()
                .unwrap_or_default()
                .into_iter()
                .map(|(column, value)| Assignment {
                    // The engine checked the column exists; use the catalog's spelling.
                    column: table
                        .column(&column)
                        .map_or_else(|| column.clone(), |c| c.name.clone()),
                    value,
                })
                .collect();
            ChangeKind::SetColumns {
                table,
                filter: resource.kind.filter().to_vec(),
                assignments,
            }
        }
        ResourceKind::Custom(c) => ChangeKind::RunFix { fix: c.fix.clone() },
        ResourceKind::RowsPresent(r) => ChangeKind::InsertRows {
            table: table()?,
            rows: Box::new(r.clone()),
        },
        // Principals are observed as `ObservedResource::Principals`, never as table rows;
        // reports are never changes; a carried resource is expanded into the values it sets
        // before it is inspected.
        ResourceKind::PrincipalsAbsent(_)
        | ResourceKind::GrantsAbsent(_)
        | ResourceKind::Report(_)
        | ResourceKind::ReferencesAbsent(_)
        | ResourceKind::Carried(_) => {
            return Err(Error::MissingTable {
                id: resource.id.clone(),
            })
        }
    })
}

/// The fingerprint of principals: their names and what they own, in order.
fn principals_fingerprint(found: &[crate::state::observed::Principal]) -> String {
    let mut f = crate::state::fingerprint::Fingerprint::default();
    for p in found {
        let mut row = vec![Value::Text(p.name.clone()), Value::Text(p.kind.clone())];
        row.extend(
            p.schemas
                .iter()
                .map(|s| Value::Text(format!("schema {} {}", s.name, s.objects))),
        );
        row.extend(
            p.objects
                .iter()
                .map(|o| Value::Text(format!("object {}.{} {}", o.schema, o.name, o.kind))),
        );
        row.extend(p.roles.iter().map(|r| Value::Text(format!("role {r}"))));
        f.row(&row);
    }
    f.finish()
}

fn empty_method(referencing: &[&ForeignKey], dialect: &Dialect) -> EmptyMethod {
    if let Some(fk) = referencing.first() {
        return EmptyMethod::Delete {
            reason: format!("referenced by foreign key {} from {}", fk.name, fk.from),
        };
    }
    if !dialect.truncate_in_transaction {
        return EmptyMethod::Delete {
            reason: "truncation would commit the transaction on this engine".into(),
        };
    }
    EmptyMethod::Truncate
}

#[cfg(test)]
mod tests;
