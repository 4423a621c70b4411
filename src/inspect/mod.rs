//! Inspection, for every engine: a few catalog queries for every table the spec names, then one
//! query per resource that streams its drifted rows (counted, the first few kept). Reads only.
//!
//! An engine provides a [`Reader`] (run a query, return or stream rows); its flavor picks the
//! [`CatalogQueries`]; everything else here is the same on SQL Server and Oracle.

mod carry;
mod catalog;
mod copies;
mod error;

pub(crate) use carry::{missing_drift, present_keys};
pub use carry::{read_carried, CarriedRead};
pub use catalog::CatalogCache;
pub use error::{CatalogProblem, Error};
mod drift;
mod masking;
mod principals;

use crate::engine::{Engine, Reader};
use crate::sql::{self, CatalogQueries};
use crate::state::copies::Originals;
use crate::state::desired::Opened;
use crate::state::desired::{
    filter_tables, subselects, Describe, Desired, FrontEnds, Guard, Inspected, ResolvedTargets,
    Resource, ResourceKind, TableName, TableTarget,
};
use crate::state::masking::MaskKey;
use crate::state::observed::{Catalog, Observed, ResolvedSubselect, TableRef, Target};
use crate::state::{Resolved, Value};
use std::sync::Arc;

/// Resolves metamodel targets (`table: {tables_from: ...}`) into one resource per table, then
/// reads the catalog and the drifted rows of every resource, on any engine.
///
/// # Guarantees
/// Reads only. A constant number of round trips per resource, never one per row; each
/// table's catalog is read once.
///
/// # Errors
/// A failed read, or tables and columns the spec names that the catalog does not hold (every
/// problem at once).
pub async fn inspect<E: Engine>(
    engine: &mut E,
    cache: &mut CatalogCache,
    desired: &Desired,
    given: Given<'_>,
) -> Result<Inspection, Error> {
    let prepared = desired.prepared(given.opened.unwrap_or(&Opened::new()));
    let target = engine.identify().await?;
    let queries = CatalogQueries::of(engine.flavor(), engine.owner());
    inspect_with((engine, cache), &queries, target, (&prepared, given)).await
}

/// Inspects the database again for a state inspection already resolved (apply's checks
/// inside the transaction and after it): nothing is prepared twice, and the metamodel
/// targets stay those the plan was made for.
///
/// # Guarantees
/// Reads only, as [`inspect`].
///
/// # Errors
/// Those of [`inspect`].
pub async fn inspect_again<E: Engine>(
    engine: &mut E,
    cache: &mut CatalogCache,
    resolved: &Resolved,
    given: Given<'_>,
) -> Result<Inspection, Error> {
    let target = engine.identify().await?;
    let queries = CatalogQueries::of(engine.flavor(), engine.owner());
    inspect_with(
        (engine, cache),
        &queries,
        target,
        (resolved.desired(), given),
    )
    .await
}

/// What inspection is given besides the spec and the database: what the command read or
/// opened before (never written anywhere).
#[derive(Debug, Clone, Copy, Default)]
pub struct Given<'a> {
    /// The masking key: unique indexes are checked for collisions with it, and the copies
    /// scan's digests are keyed with it.
    pub mask_key: Option<&'a MaskKey>,
    /// The captured rows of each carried resource, opened.
    pub opened: Option<&'a Opened>,
    /// The digests of the originals masking replaces, from the plan's inspection: after apply
    /// the masked tables no longer hold them.
    pub originals: Option<&'a Arc<Originals>>,
}

/// The triggers of `tables`, by table: what runs when restore writes their rows back.
///
/// # Guarantees
/// Reads only: one catalog query.
///
/// # Errors
/// A failed read.
pub async fn triggers<E: Engine>(
    engine: &mut E,
    tables: &[crate::state::TableRef],
) -> Result<Vec<(crate::state::TableRef, String)>, crate::engine::Error> {
    if tables.is_empty() {
        return Ok(Vec::new());
    }
    let queries = CatalogQueries::of(engine.flavor(), engine.owner());
    let names: Vec<String> = tables.iter().map(|t| t.name.clone()).collect();
    let sql = crate::sql::with_names(
        queries.triggers,
        queries.flavor,
        queries.owner.as_deref(),
        &names,
    );
    let rows = engine.rows(&sql, "reading triggers").await?;
    Ok(rows
        .into_iter()
        .filter_map(|row| {
            let text = |i: usize| match row.get(i) {
                Some(Value::Text(t)) => t.clone(),
                _ => String::new(),
            };
            let table = crate::state::TableRef {
                schema: text(0),
                name: text(1),
            };
            tables.contains(&table).then(|| (table, text(2)))
        })
        .collect())
}

/// The primary keys of every row of an event queue, by their text (as compared) with their
/// values (as deleted): what it holds before and after a write into a table whose triggers
/// feed it.
///
/// # Errors
/// A failed read.
pub async fn queue_keys<E: Engine>(
    engine: &mut E,
    queue: &crate::state::TableInfo,
) -> Result<std::collections::HashMap<Vec<String>, Vec<Value>>, crate::engine::Error> {
    let select = sql::keys_query(queue, engine.flavor());
    let context = format!("reading the events queued in {}", queue.table);
    let mut out = std::collections::HashMap::new();
    engine
        .stream(&select, &context, &mut |key| {
            out.insert(
                key.iter().map(crate::state::desired::key_text).collect(),
                key,
            );
            Ok(())
        })
        .await?;
    Ok(out)
}

/// The catalog entries of the tables `names` name, those the database holds (a name matching
/// tables in several schemas names none).
///
/// # Guarantees
/// Reads only: the catalog queries, once.
///
/// # Errors
/// A failed read.
pub async fn tables<E: Engine>(
    engine: &mut E,
    cache: &mut CatalogCache,
    names: &[TableName],
) -> Result<Vec<crate::state::TableInfo>, Error> {
    let queries = CatalogQueries::of(engine.flavor(), engine.owner());
    let rows = catalog::read(engine, cache, &queries, names, catalog::Extent::Shape).await?;
    Ok(catalog::resolve_names(names, &rows)
        .tables
        .into_iter()
        .map(|t| t.info)
        .collect())
}

/// Resolves every metamodel target of `prepared` (a declaration prepared, or a state already
/// resolved, whose targets are tables already) and inspects every resource of the result.
/// The catalog of each table is read once: the metamodel's tables first, then the rest.
async fn inspect_with<R: Reader>(
    (client, cache): (&mut R, &mut CatalogCache),
    queries: &CatalogQueries,
    mut target: Target,
    (prepared, given): (&Desired<Inspected>, Given<'_>),
) -> Result<Inspection, Error> {
    let (desired, read_so_far) = resolve((client, cache), queries, prepared).await?;
    let names = referenced_tables(&desired);
    let unread: Vec<TableName> = names
        .iter()
        .filter(|n| !read_so_far.names.contains(n))
        .cloned()
        .collect();
    let mut rows = read_so_far.rows;
    rows.merge(
        catalog::read(
            client,
            cache,
            queries,
            &unread,
            catalog::Extent::of(&desired),
        )
        .await?,
    );
    let mut catalog = catalog::resolve_names(&names, &rows);
    if let Some(list) = &desired.front_ends {
        let (table, hosts) = front_ends(
            client,
            queries,
            &catalog,
            list,
            &desired.guard,
            &desired.production,
        )
        .await?;
        target.front_end_list = Some(table);
        target.forbidden_front_ends = hosts;
    }
    let desired = carry::leave_to_carry(&desired, &catalog);
    resolve_subselects(client, queries, &desired, &mut catalog).await?;
    let work = drift::prepare(&desired, &catalog, queries.flavor)?;
    let mut resources = Vec::with_capacity(work.len());
    for (resource, job) in desired.resources.iter().zip(work) {
        resources.push(drift::run(client, queries, &catalog, resource, job).await?);
    }
    let masking = masking::check(client, queries.flavor, (&desired, given), &catalog).await?;
    let carry = carry::facts(client, queries.flavor, &desired, &catalog).await?;
    let (copies, originals) =
        match copies::scan(client, queries, (&desired, given), &catalog).await? {
            Some((facts, originals)) => (Some(facts), Some(originals)),
            None => (None, None),
        };
    let observed = Observed {
        target,
        catalog,
        resources,
        foreign_keys: rows.foreign_keys,
        masking,
        carry,
        copies,
    };
    Ok(Inspection {
        resolved: Resolved::new(desired),
        observed,
        originals,
    })
}

/// What an inspection found: the desired state with its metamodel targets resolved (one
/// resource per table they name), and the database as observed for it.
#[derive(Debug, Clone)]
pub struct Inspection {
    /// The desired state, resolved.
    pub resolved: Resolved,
    /// The database.
    pub observed: Observed,
    /// The digests of the originals masking replaces, when the copies scan ran (those it was
    /// given, or those it read).
    pub originals: Option<Arc<Originals>>,
}

/// The catalog rows read while resolving, and for which names.
struct ReadSoFar {
    names: Vec<TableName>,
    rows: catalog::CatalogRows,
}

/// Most values an `in_select` subquery may return and still be sent as a list of parameters
/// (SQL Server takes at most 2,100 per request).
const SUBSELECT_VALUES_MAX: usize = 1_000;

/// Reads the values of every `in_select` subquery once (one query each, whatever the number
/// of rows they filter), innermost first so that an outer one uses the inner one's list.
/// A subquery whose tables are missing is left for `prepare` to report.
async fn resolve_subselects<R: Reader>(
    client: &mut R,
    queries: &CatalogQueries,
    desired: &Desired<Inspected>,
    catalog: &mut Catalog,
) -> Result<(), Error> {
    for sub in subselects(desired) {
        let Ok(select) = sql::subselect_query(sub, catalog, queries.flavor) else {
            continue;
        };
        let context = format!("reading the values of {}.{}", sub.table, sub.column);
        let mut values = Vec::new();
        let mut too_many = false;
        client
            .stream(&select, &context, &mut |row| {
                if let Some(v) = row.into_iter().next().filter(|v| !v.is_null()) {
                    too_many = values.len() >= SUBSELECT_VALUES_MAX;
                    if !too_many {
                        values.push(v);
                    }
                }
                Ok(())
            })
            .await?;
        if !too_many {
            catalog.subselects.push(ResolvedSubselect {
                subselect: sub.clone(),
                values,
            });
        }
    }
    Ok(())
}

/// The tables a metamodel query names for resource `r`, each with its labels.
async fn target_tables<R: Reader>(
    client: &mut R,
    r: &Resource<Inspected>,
    select: &sql::Select,
    labels: &[String],
) -> Result<Vec<(String, Vec<(String, String)>)>, Error> {
    let context = format!("resolving the tables of resource {}", r.id);
    let mut tables = Vec::new();
    client
        .stream(select, &context, &mut |row| {
            let mut cells = row.into_iter();
            if let Some(Value::Text(table)) = cells.next() {
                let shown = labels
                    .iter()
                    .zip(cells)
                    .map(|(label, v)| {
                        let v = match v {
                            Value::Text(t) => t,
                            other => other.to_string(),
                        };
                        (label.clone(), v)
                    })
                    .collect();
                tables.push((table.trim().to_string(), shown));
            }
            Ok(())
        })
        .await?;
    Ok(tables)
}

/// A masked entity names exactly one table (none only with `if_exists`).
fn one_table_per_entity(
    r: &Resource<Inspected>,
    tables: &[(String, Vec<(String, String)>)],
) -> Option<CatalogProblem> {
    let ResourceKind::Masked(m) = &r.kind else {
        return None;
    };
    let entity = format!(
        "entity {} of module {}",
        m.entity.as_deref().unwrap_or("?"),
        m.module.as_deref().unwrap_or("?")
    );
    let message = match tables.len() {
        0 if m.if_exists => return None,
        0 => format!("the metamodel has no active {entity}"),
        1 => return None,
        n => format!(
            "the metamodel names {n} tables for the active {entity} ({}); it must name one",
            tables
                .iter()
                .map(|(t, _)| t.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        ),
    };
    Some(CatalogProblem {
        resource: r.id.clone(),
        origin: r.origin.clone(),
        message,
    })
}

/// Resolves every metamodel target (`table: {tables_from: ...}`) to the tables it names, and
/// expands the desired state: one catalog read for the metamodel tables, then one query per
/// such resource. Returns the catalog rows it read, for the inspection that follows.
async fn resolve<R: Reader>(
    (client, cache): (&mut R, &mut CatalogCache),
    queries: &CatalogQueries,
    desired: &Desired<Inspected>,
) -> Result<(Desired<Inspected>, ReadSoFar), Error> {
    let targets: Vec<(&Resource<Inspected>, &crate::state::desired::TablesFrom)> = desired
        .resources
        .iter()
        .filter_map(|r| match r.kind.target()? {
            TableTarget::Metamodel { tables_from } => Some((r, tables_from)),
            TableTarget::Name(_) => None,
        })
        .collect();
    if targets.is_empty() {
        let nothing = ReadSoFar {
            names: Vec::new(),
            rows: catalog::CatalogRows::default(),
        };
        return Ok((desired.clone(), nothing));
    }
    let mut names: Vec<TableName> = Vec::new();
    for (_, from) in &targets {
        let mut add = |n: &TableName| {
            if !names.contains(n) {
                names.push(n.clone());
            }
        };
        add(&from.table);
        filter_tables(&from.filter).into_iter().for_each(&mut add);
        for d in from.describe.values() {
            if let Describe::Lookup { lookup } = d {
                add(&lookup.table);
            }
        }
    }
    let rows = catalog::read(client, cache, queries, &names, catalog::Extent::of(desired)).await?;
    let catalog = catalog::resolve_names(&names, &rows);
    let mut problems = Vec::new();
    let mut work = Vec::new();
    for (r, from) in &targets {
        match sql::metamodel_query(from, &catalog, queries.flavor) {
            Ok(q) => work.push((r, q)),
            Err(source) => problems.push(CatalogProblem {
                resource: r.id.clone(),
                origin: r.table_origin.clone().unwrap_or_else(|| r.origin.clone()),
                message: source.to_string(),
            }),
        }
    }
    if !problems.is_empty() {
        return Err(Error::Catalog { problems });
    }
    let mut resolved = Vec::with_capacity(work.len());
    for (r, (select, labels)) in work {
        let tables = target_tables(client, r, &select, &labels).await?;
        if let Some(problem) = one_table_per_entity(r, &tables) {
            problems.push(problem);
        }
        resolved.push(ResolvedTargets {
            resource: r.id.clone(),
            tables,
        });
    }
    if !problems.is_empty() {
        return Err(Error::Catalog { problems });
    }
    Ok((desired.expand(&resolved), ReadSoFar { names, rows }))
}

/// The host names in the platform's front-end list, which the spec says where to find, that the
/// guard refuses. The guard relies on it: a list the catalog does not hold is an error, never an
/// empty list. Only those hosts are kept, so memory does not grow with the list.
async fn front_ends<R: Reader>(
    client: &mut R,
    queries: &CatalogQueries,
    catalog: &Catalog,
    list: &FrontEnds,
    guard: &Guard,
    production: &crate::state::desired::Production,
) -> Result<(TableRef, Vec<String>), Error> {
    let problem = |message: String| Error::FrontEnds { message };
    let table = catalog
        .get(&list.table)
        .ok_or_else(|| problem(format!("table {} is not in the database", list.table)))?;
    let select = sql::column_query(table, &list.column, queries.flavor)
        .map_err(|e| problem(e.to_string()))?;
    let mut hosts = Vec::new();
    client
        .stream(&select, "reading the front-end list", &mut |row| {
            if let Some(Value::Text(host)) = row.into_iter().next() {
                if guard.forbids_front_end(&host, production) {
                    hosts.push(host);
                }
            }
            Ok(())
        })
        .await?;
    Ok((table.table.clone(), hosts))
}

/// Every table a resource reads or writes, once, in first-use order.
fn referenced_tables(desired: &Desired<Inspected>) -> Vec<TableName> {
    let mut names: Vec<TableName> = Vec::new();
    let mut add = |n: &TableName| {
        if !names.contains(n) {
            names.push(n.clone());
        }
    };
    if let Some(list) = &desired.front_ends {
        add(&list.table);
    }
    if let Some(entities) = desired.entities.as_ref().filter(|_| {
        desired
            .resources
            .iter()
            .any(|r| matches!(r.kind, ResourceKind::Masked(_)))
    }) {
        add(&entities.attributes.table);
    }
    for s in &desired.secret_rows {
        add(&s.table);
        filter_tables(&s.filter).into_iter().for_each(&mut add);
    }
    for r in &desired.resources {
        if let Some(table) = r.kind.table() {
            add(table);
        }
        filter_tables(r.kind.filter())
            .into_iter()
            .for_each(&mut add);
        for l in r.kind.lookups() {
            add(&l.table);
        }
        if let Some(c) = r.kind.carried() {
            for hop in c.parts.iter().flat_map(|p| &p.through) {
                add(&hop.table);
            }
        }
    }
    names
}

/// A catalog cell as text (`""` for NULL).
pub(super) fn text(row: &[Value], i: usize) -> String {
    match row.get(i) {
        Some(Value::Text(t)) => t.clone(),
        Some(other) if !other.is_null() => other.to_string(),
        _ => String::new(),
    }
}
