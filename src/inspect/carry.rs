//! What carrying needs once the catalog is known: other resources leave the carried rows to the
//! carry (so that a reset of the same rows and the carry both converge), and the captured keys
//! the clone does not hold are reported.

use super::{CatalogProblem, Error};
use crate::engine::Reader;
use crate::sql::{self, Flavor};
use crate::state::desired::Inspected;
use std::collections::HashSet;

use crate::state::desired::{
    key_text, Condition, Desired, Predicate, Resource, ResourceId, ResourceKind, RowsAbsent,
    RowsPresent, StableKey,
};
use crate::state::observed::{CarryFacts, Catalog, Drift, DriftRow};
use crate::state::Value;

/// The desired state with every resource that writes or deletes rows a carried resource
/// carries (on the same table, the same columns for a write) leaving those rows to it: a
/// condition `NOT EXISTS` a captured key equal to the row's. Emptying a table becomes deleting
/// its rows but the carried ones.
pub(super) fn leave_to_carry(
    desired: &Desired<Inspected>,
    catalog: &Catalog,
) -> Desired<Inspected> {
    let carries: Vec<&Resource<Inspected>> = desired
        .resources
        .iter()
        .filter(|r| r.kind.carried().is_some_and(|c| !c.rows.rows.is_empty()))
        .collect();
    if carries.is_empty() {
        return desired.clone();
    }
    let mut out = desired.clone();
    for r in out
        .resources
        .iter_mut()
        .filter(|r| r.kind.carried().is_none())
    {
        let Some(table) = r.kind.table().cloned() else {
            continue;
        };
        for carry in &carries {
            let (Some(value), Some(carried_table)) = (carry.kind.carried(), carry.kind.table())
            else {
                continue;
            };
            if !catalog.same_table(&table, carried_table) {
                continue;
            }
            let ResourceKind::ColumnValues(carried) = &carry.kind else {
                continue;
            };
            let writes_carried = match &r.kind {
                ResourceKind::ColumnValues(k) => k
                    .set
                    .keys()
                    .any(|c| carried.set.keys().any(|d| d.eq_ignore_ascii_case(c))),
                ResourceKind::RowsAbsent(_) | ResourceKind::TableEmpty(_) => true,
                _ => false,
            };
            if !writes_carried {
                continue;
            }
            let condition = Condition {
                column: value
                    .parts
                    .first()
                    .map(|p| p.column.clone())
                    .unwrap_or_default(),
                predicate: Predicate::NotCarried(Box::new(value.clone())),
                ignore_case: false,
            };
            match &mut r.kind {
                ResourceKind::ColumnValues(k) => k.filter.push(condition),
                ResourceKind::RowsAbsent(k) => k.filter.push(condition),
                ResourceKind::TableEmpty(k) => {
                    r.kind = ResourceKind::RowsAbsent(RowsAbsent {
                        table: k.table.clone(),
                        filter: vec![condition],
                        if_exists: k.if_exists,
                        label: None,
                    });
                }
                _ => {}
            }
        }
    }
    out
}

/// For each carried resource: the captured rows the clone does not hold (by name), and how
/// many are sealed and were not opened. One query per carried table, reading its keys only.
pub(super) async fn facts<R: Reader>(
    client: &mut R,
    flavor: Flavor,
    desired: &Desired<Inspected>,
    catalog: &Catalog,
) -> Result<Vec<CarryFacts>, Error> {
    let mut out = Vec::new();
    for r in &desired.resources {
        // Nothing captured: nothing to report missing, but every row is one the capture does
        // not hold, listed when asked.
        let Some(value) = r
            .kind
            .carried()
            .filter(|c| !c.rows.rows.is_empty() || c.only_in_clone.is_some())
        else {
            continue;
        };
        let Some(table) = r.kind.table().and_then(|t| catalog.get(t)) else {
            continue;
        };
        let names = value.only_in_clone.as_deref().unwrap_or_default();
        let select =
            sql::carried_keys_query(table, &value.parts, names, r.kind.filter(), catalog, flavor)
                .map_err(|e| Error::resource(r, e.to_string()))?;
        let mut seen: std::collections::HashSet<StableKey> = std::collections::HashSet::new();
        // By name, with how many rows bear it (per-tenant rows share their element's name).
        let mut only_in_clone: std::collections::BTreeMap<String, usize> =
            std::collections::BTreeMap::new();
        let context = format!("reading the stable keys of resource {}", r.id);
        let width = value.parts.len();
        client
            .stream(&select, &context, &mut |mut row| {
                let name = row.split_off(width.min(row.len()));
                let key: StableKey = row.iter().map(key_text).collect();
                if value.only_in_clone.is_some() && !value.rows.rows.contains_key(&key) {
                    let name = if name.is_empty() {
                        key.join(" / ")
                    } else {
                        name.iter().map(key_text).collect::<Vec<_>>().join(".")
                    };
                    *only_in_clone.entry(name).or_default() += 1;
                }
                seen.insert(key);
                Ok(())
            })
            .await?;
        // Rows a `missing: insert` sibling inserts are changes, not notes; unless it cannot.
        let insert = desired.resources.iter().find_map(|p| match &p.kind {
            ResourceKind::RowsPresent(present) if present.carried == r.id => Some(present),
            _ => None,
        });
        let cannot_insert = insert.and_then(|p| table.cannot_insert(&p.columns()));
        let mut missing: Vec<String> = if insert.is_some() && cannot_insert.is_none() {
            Vec::new()
        } else {
            value
                .rows
                .rows
                .iter()
                .filter(|(key, _)| !seen.contains(*key))
                .map(|(key, row)| row.name.clone().unwrap_or_else(|| key.join(" / ")))
                .collect()
        };
        missing.sort();
        out.push(CarryFacts {
            id: r.id.clone(),
            cannot_insert: cannot_insert.filter(|_| !missing.is_empty()),
            missing,
            unopened: value.rows.unopened(),
            carried: value.rows.rows.len(),
            only_in_clone: only_in_clone
                .into_iter()
                .map(|(name, rows)| match rows {
                    1 => name,
                    n => format!("{name} ({n} rows)"),
                })
                .collect(),
        });
    }
    Ok(out)
}

/// The stable keys of `table`'s rows: which captured rows of `present` it holds. Every row
/// counts, whatever the carried resource's filter: a row of the same key elsewhere in the
/// table would be a second row of that key.
///
/// # Errors
/// A failed read, or a key part the table does not hold.
pub(crate) async fn present_keys<R: Reader + ?Sized>(
    client: &mut R,
    flavor: Flavor,
    table: &crate::state::TableInfo,
    present: &RowsPresent,
    catalog: &Catalog,
    id: &ResourceId,
) -> Result<HashSet<StableKey>, Error> {
    let select = sql::carried_keys_query(table, &present.parts, &[], &[], catalog, flavor)
        .map_err(|source| Error::Query {
            context: format!("reading the stable keys of {}", table.table),
            source,
        })?;
    let mut seen: HashSet<StableKey> = HashSet::new();
    let context = format!("reading the stable keys of resource {id}");
    client
        .stream(&select, &context, &mut |row| {
            seen.insert(row.iter().map(key_text).collect());
            Ok(())
        })
        .await?;
    Ok(seen)
}

/// The captured rows of `present` whose keys are not in `seen`, as drift: each named by its
/// key columns and name, every one of them kept (captured configuration rows are few, and the
/// plan's statements are written from them); the fingerprint covers their keys, so that apply
/// inserts only the rows the plan showed.
pub(crate) fn missing_drift(
    present: &RowsPresent,
    seen: &HashSet<StableKey>,
    table: &crate::state::TableInfo,
    secret: bool,
) -> Drift {
    let mut drift = Drift::default();
    let mut fingerprint = crate::state::fingerprint::Fingerprint::default();
    for (_, row, _) in present.missing(seen) {
        drift.count += 1;
        fingerprint.row(&row.key);
        {
            drift.sample.push(DriftRow {
                key: present
                    .parts
                    .iter()
                    .zip(&row.key)
                    .map(|(p, v)| {
                        let name = table.column(&p.column).map_or(&p.column, |c| &c.name);
                        (name.clone(), v.clone())
                    })
                    .collect(),
                label: row.name.clone(),
                secret,
                ..DriftRow::default()
            });
        }
    }
    drift.fingerprint = fingerprint.finish();
    drift
}

/// One row of a carried table as `postclone capture` reads it.
#[derive(Debug, Clone, PartialEq)]
pub struct CarriedRead {
    /// Key part name → value.
    pub key: std::collections::BTreeMap<String, crate::state::Value>,
    /// Column → value, whole.
    pub values: std::collections::BTreeMap<String, crate::state::Value>,
    /// The row's name.
    pub name: Option<String>,
    /// A secret resource or `secret_rows` covers the row: its values are to be sealed.
    pub secret: bool,
}

/// Every row of every carried resource of `desired`, with its stable key, its carried values,
/// its name and whether it is secret: what `postclone capture` writes. A carried table the
/// catalog does not hold is skipped when the resource allows it (`if_exists`).
///
/// # Guarantees
/// Reads only: the catalog once, then one query per carried resource.
///
/// # Errors
/// A failed read, or a table, key part or value the catalog does not hold.
pub async fn read_carried<E: crate::engine::Engine>(
    engine: &mut E,
    cache: &mut super::CatalogCache,
    desired: &Desired,
) -> Result<
    (
        crate::state::observed::Target,
        Vec<(crate::state::desired::ResourceId, Vec<CarriedRead>)>,
    ),
    Error,
> {
    let target = engine.identify().await?;
    let queries = crate::sql::CatalogQueries::of(engine.flavor(), engine.owner());
    let flavor = queries.flavor;
    let names = capture_tables(desired);
    let rows = super::catalog::read(
        engine,
        cache,
        &queries,
        &names,
        super::catalog::Extent::Shape,
    )
    .await?;
    let catalog = super::catalog::resolve_names(&names, &rows);
    let mut out = Vec::new();
    let mut problems = Vec::new();
    for r in &desired.resources {
        let ResourceKind::Carried(c) = &r.kind else {
            continue;
        };
        let Some(table) = r.kind.table().and_then(|t| catalog.get(t)) else {
            if !c.if_exists {
                problems.push(CatalogProblem {
                    resource: r.id.clone(),
                    origin: r.table_origin.clone().unwrap_or_else(|| r.origin.clone()),
                    message: format!(
                        "table {} is not in the database",
                        r.kind.table().map(ToString::to_string).unwrap_or_default()
                    ),
                });
            }
            continue;
        };
        let secret_rows: Vec<&[Condition]> = desired
            .secret_rows
            .iter()
            .filter(|s| catalog.resolve(&s.table) == Some(&table.table))
            .map(|s| s.filter.as_slice())
            .collect();
        // Rows the clone may lack are inserted: the capture also holds every column an insert
        // needs that the resource does not carry (NOT NULL without a default), read as values.
        let widened;
        let c = if c.missing == crate::state::desired::Missing::Insert {
            let mut wide = c.clone();
            wide.values.extend(insert_columns(c, table));
            widened = wide;
            &widened
        } else {
            c
        };
        let select = match sql::carried_capture_query(table, c, &secret_rows, &catalog, flavor) {
            Ok(select) => select,
            Err(e) => {
                problems.push(CatalogProblem {
                    resource: r.id.clone(),
                    origin: r.origin.clone(),
                    message: e.to_string(),
                });
                continue;
            }
        };
        let context = format!("capturing the rows of resource {}", r.id);
        let flagged = !secret_rows.is_empty();
        let mut read = Vec::new();
        engine
            .stream(&select, &context, &mut |row| {
                let mut row = decode(c, flagged, row);
                row.secret |= r.secret;
                read.push(row);
                Ok(())
            })
            .await?;
        out.push((r.id.clone(), read));
    }
    if problems.is_empty() {
        Ok((target, out))
    } else {
        Err(Error::Catalog { problems })
    }
}

/// The columns of `table` an insert of `c`'s rows needs beyond its key parts and values:
/// NOT NULL, without a default, not an identity.
#[must_use]
pub fn insert_columns(
    c: &crate::state::desired::Carried,
    table: &crate::state::TableInfo,
) -> Vec<String> {
    let given = |name: &str| {
        c.key
            .values()
            .map(|p| &p.column)
            .chain(&c.values)
            .any(|g| g.eq_ignore_ascii_case(name))
    };
    table
        .columns
        .iter()
        .filter(|col| !col.nullable && !col.defaulted && !col.identity && !given(&col.name))
        .map(|col| col.name.clone())
        .collect()
}

/// One row of [`sql::carried_capture_query`]: key parts, values, name parts, then the secret
/// flag when `flagged`.
fn decode(c: &crate::state::desired::Carried, flagged: bool, row: Vec<Value>) -> CarriedRead {
    let mut cells = row.into_iter();
    let key = c
        .key
        .keys()
        .map(|p| (p.clone(), cells.next().unwrap_or(Value::Null)))
        .collect();
    let values = c
        .values
        .iter()
        .map(|v| (v.clone(), cells.next().unwrap_or(Value::Null)))
        .collect();
    let named = if c.name.is_empty() {
        usize::from(c.label.is_some())
    } else {
        c.name.len()
    };
    let words: Vec<String> = (0..named)
        .filter_map(|_| match cells.next() {
            None | Some(Value::Null) => None,
            Some(Value::Text(t)) => Some(t.trim_end().to_string()),
            Some(other) => Some(other.to_string()),
        })
        .collect();
    CarriedRead {
        key,
        values,
        name: (!words.is_empty()).then(|| words.join(".")),
        secret: flagged && matches!(cells.next(), Some(Value::Int(1) | Value::Bool(true))),
    }
}

/// The tables a capture reads: the carried tables, the tables their keys go through, and those
/// of the secret rows' conditions.
fn capture_tables(desired: &Desired) -> Vec<crate::state::desired::TableName> {
    let mut names: Vec<crate::state::desired::TableName> = Vec::new();
    let mut add = |n: &crate::state::desired::TableName| {
        if !names.contains(n) {
            names.push(n.clone());
        }
    };
    for r in &desired.resources {
        let ResourceKind::Carried(c) = &r.kind else {
            continue;
        };
        if let Some(t) = r.kind.table() {
            add(t);
        }
        c.hop_tables().into_iter().for_each(&mut add);
        crate::state::desired::filter_tables(&c.filter)
            .into_iter()
            .for_each(&mut add);
        for l in r.kind.lookups() {
            add(&l.table);
        }
    }
    for s in &desired.secret_rows {
        add(&s.table);
        crate::state::desired::filter_tables(&s.filter)
            .into_iter()
            .for_each(&mut add);
    }
    names
}
