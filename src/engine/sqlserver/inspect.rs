//! Inspection: four catalog queries for every table the spec names, then one query per
//! resource that streams its drifted rows (counted, the first few kept). Reads only.

use futures_util::TryStreamExt;
use tiberius::ToSql;

use super::connect::TdsClient;
use super::row::{self, SqlParam};
use crate::engine::sql::{self, Flavor, Layout, Sql};
use crate::engine::{CatalogProblem, Error, SAMPLE_ROWS};
use crate::state::desired::{
    filter_tables, subselects, Describe, Desired, PrincipalsAbsent, ResolvedTargets, Resource,
    ResourceKind, TableName, TableTarget,
};
use crate::state::fingerprint::Fingerprint;
use crate::state::observed::{
    Catalog, ColumnInfo, Drift, DriftRow, ForeignKey, Observed, ObservedResource, OwnedObject,
    OwnedSchema, Principal, ResolvedSubselect, ResolvedTable, TableInfo, TableRef, Target,
    ValueChange,
};
use crate::state::Value;

const TABLES: &str = include_str!("queries/tables.sql");
const COLUMNS: &str = include_str!("queries/columns.sql");
const PRIMARY_KEYS: &str = include_str!("queries/primary_keys.sql");
const FOREIGN_KEYS: &str = include_str!("queries/foreign_keys.sql");
const IDENTITY_COLUMNS: &str = include_str!("queries/identity_columns.sql");
const PRINCIPALS: &str = include_str!("queries/principals.sql");
const OWNED_SCHEMAS: &str = include_str!("queries/owned_schemas.sql");
const OWNED_OBJECTS: &str = include_str!("queries/owned_objects.sql");
const OWNED_ROLES: &str = include_str!("queries/owned_roles.sql");

/// What the catalog queries returned.
#[derive(Debug, Default)]
pub(super) struct CatalogRows {
    pub(super) tables: Vec<TableRef>,
    pub(super) columns: Vec<(TableRef, ColumnInfo)>,
    pub(super) primary_keys: Vec<(TableRef, String)>,
    pub(super) foreign_keys: Vec<ForeignKey>,
}

/// Inspects every resource of `desired`.
pub(super) async fn inspect(
    client: &mut TdsClient,
    target: Target,
    desired: &Desired,
) -> Result<Observed, Error> {
    let names = referenced_tables(desired);
    let rows = read_catalog(client, &names).await?;
    let mut catalog = resolve_names(&names, &rows);
    resolve_subselects(client, desired, &mut catalog).await?;
    let work = prepare(desired, &catalog, &rows.foreign_keys)?;
    let mut resources = Vec::with_capacity(work.len());
    for (resource, job) in desired.resources.iter().zip(work) {
        resources.push(match job {
            Job::Absent => ObservedResource::TableAbsent {
                id: resource.id.clone(),
            },
            Job::Principals(spec) => principals(client, resource, spec).await?,
            Job::Query {
                table,
                referenced_by,
                sql,
                layout,
            } => ObservedResource::Inspected {
                id: resource.id.clone(),
                drift: drift(client, resource, &sql, &layout).await?,
                table: table.map(|t| *t),
                referenced_by,
            },
        });
    }
    let foreign_keys = rows
        .foreign_keys
        .into_iter()
        .filter(|fk| {
            let known = |t: &TableRef| catalog.tables.iter().any(|r| r.info.table == *t);
            known(&fk.from) && known(&fk.to)
        })
        .collect();
    Ok(Observed {
        target,
        catalog,
        resources,
        foreign_keys,
    })
}

/// Most values an `in_select` subquery may return and still be sent as a list of parameters
/// (SQL Server takes at most 2,100 per request).
const SUBSELECT_VALUES_MAX: usize = 1_000;

/// Reads the values of every `in_select` subquery once (one query each, whatever the number
/// of rows they filter), innermost first so that an outer one uses the inner one's list.
/// A subquery whose tables are missing is left for `prepare` to report.
async fn resolve_subselects(
    client: &mut TdsClient,
    desired: &Desired,
    catalog: &mut Catalog,
) -> Result<(), Error> {
    for sub in subselects(desired) {
        let Ok(sql) = sql::subselect_query(sub, catalog, Flavor::SqlServer) else {
            continue;
        };
        let context = format!("reading the values of {}.{}", sub.table, sub.column);
        let values: Vec<Value> = rows(client, &sql, &context)
            .await?
            .into_iter()
            .filter_map(|row| row.into_iter().next())
            .filter(|v| !v.is_null())
            .collect();
        if values.len() <= SUBSELECT_VALUES_MAX {
            catalog.subselects.push(ResolvedSubselect {
                subselect: sub.clone(),
                values,
            });
        }
    }
    Ok(())
}

/// Resolves every metamodel target (`table: {tables_from: ...}`) to the tables it names, and
/// expands the desired state: one catalog read for the metamodel tables, then one query per
/// such resource.
pub(super) async fn resolve(client: &mut TdsClient, desired: &Desired) -> Result<Desired, Error> {
    let targets: Vec<(&Resource, &crate::state::desired::TablesFrom)> = desired
        .resources
        .iter()
        .filter_map(|r| match r.kind.target()? {
            TableTarget::Metamodel { tables_from } => Some((r, tables_from)),
            TableTarget::Name(_) => None,
        })
        .collect();
    if targets.is_empty() {
        return Ok(desired.clone());
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
    let catalog = resolve_names(&names, &read_catalog(client, &names).await?);
    let mut problems = Vec::new();
    let mut queries = Vec::new();
    for (r, from) in &targets {
        match sql::metamodel_query(from, &catalog, Flavor::SqlServer) {
            Ok(q) => queries.push((r, q)),
            Err(message) => problems.push(CatalogProblem {
                resource: r.id.clone(),
                origin: r.table_origin.clone().unwrap_or_else(|| r.origin.clone()),
                message,
            }),
        }
    }
    if !problems.is_empty() {
        return Err(Error::Catalog { problems });
    }
    let mut resolved = Vec::with_capacity(queries.len());
    for (r, (sql, labels)) in queries {
        let context = format!("resolving the tables of resource {}", r.id);
        let mut tables = Vec::new();
        for row in rows(client, &sql, &context).await? {
            let mut cells = row.into_iter();
            let Some(Value::Text(table)) = cells.next() else {
                continue;
            };
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
        resolved.push(ResolvedTargets {
            resource: r.id.clone(),
            tables,
        });
    }
    Ok(desired.expand(&resolved))
}

/// Every table a resource reads or writes, once, in first-use order.
fn referenced_tables(desired: &Desired) -> Vec<TableName> {
    let mut names: Vec<TableName> = Vec::new();
    let mut add = |n: &TableName| {
        if !names.contains(n) {
            names.push(n.clone());
        }
    };
    for r in &desired.resources {
        if let Some(table) = r.kind.table() {
            add(table);
        }
        match &r.kind {
            ResourceKind::RowsAbsent(k) => {
                filter_tables(&k.filter).into_iter().for_each(&mut add);
            }
            ResourceKind::TableEmpty(_) => {}
            ResourceKind::ColumnValues(k) => {
                filter_tables(&k.filter).into_iter().for_each(&mut add);
                for v in k.set.values() {
                    if let Some(l) = v.lookup() {
                        add(&l.table);
                    }
                }
            }
            ResourceKind::Custom(_) | ResourceKind::PrincipalsAbsent(_) => {}
        }
    }
    names
}

/// A catalog query with its `/*names*/` list bound to upper-cased names.
fn with_names(text: &str, names: &[String]) -> Sql {
    let markers: Vec<String> = (1..=names.len()).map(|i| format!("@P{i}")).collect();
    Sql {
        text: text.replace("/*names*/", &markers.join(", ")),
        params: names
            .iter()
            .map(|n| crate::engine::Param {
                value: Value::Text(n.to_uppercase()),
                secret: false,
            })
            .collect(),
    }
}

/// The principals a `principals_absent` resource lists that exist, with what they own. The
/// ownership queries only run when one exists.
async fn principals(
    client: &mut TdsClient,
    resource: &Resource,
    spec: &PrincipalsAbsent,
) -> Result<ObservedResource, Error> {
    let context = format!("reading the principals of resource {}", resource.id);
    let mut names = spec.names.clone();
    names.push(spec.new_owner.clone());
    let listed = rows(client, &with_names(PRINCIPALS, &names), &context).await?;
    let Some(new_owner) = listed
        .iter()
        .map(|r| text(r, 0))
        .find(|n| n.eq_ignore_ascii_case(&spec.new_owner))
    else {
        return Err(Error::Catalog {
            problems: vec![CatalogProblem {
                resource: resource.id.clone(),
                origin: resource.origin.clone(),
                message: format!(
                    "the new owner {} is not a database principal",
                    spec.new_owner
                ),
            }],
        });
    };
    let mut found: Vec<Principal> = listed
        .iter()
        .filter(|r| {
            let name = text(r, 0);
            !name.eq_ignore_ascii_case(&new_owner)
                && spec.names.iter().any(|n| n.eq_ignore_ascii_case(&name))
        })
        .map(|r| Principal {
            name: text(r, 0),
            kind: text(r, 1),
            schemas: vec![],
            objects: vec![],
            roles: vec![],
        })
        .collect();
    if !found.is_empty() {
        let present: Vec<String> = found.iter().map(|p| p.name.clone()).collect();
        let owner_of = |found: &mut Vec<Principal>, name: &str| -> Option<usize> {
            found.iter().position(|p| p.name == name)
        };
        for r in rows(client, &with_names(OWNED_SCHEMAS, &present), &context).await? {
            if let Some(i) = owner_of(&mut found, &text(&r, 0)) {
                let objects = match r.get(2) {
                    Some(Value::Int(n)) => u64::try_from(*n).unwrap_or(0),
                    _ => 0,
                };
                found[i].schemas.push(OwnedSchema {
                    name: text(&r, 1),
                    objects,
                });
            }
        }
        for r in rows(client, &with_names(OWNED_OBJECTS, &present), &context).await? {
            if let Some(i) = owner_of(&mut found, &text(&r, 0)) {
                found[i].objects.push(OwnedObject {
                    schema: text(&r, 1),
                    name: text(&r, 2),
                    kind: text(&r, 3),
                });
            }
        }
        for r in rows(client, &with_names(OWNED_ROLES, &present), &context).await? {
            if let Some(i) = owner_of(&mut found, &text(&r, 0)) {
                found[i].roles.push(text(&r, 1));
            }
        }
    }
    Ok(ObservedResource::Principals {
        id: resource.id.clone(),
        found,
        new_owner,
    })
}

async fn read_catalog(client: &mut TdsClient, names: &[TableName]) -> Result<CatalogRows, Error> {
    if names.is_empty() {
        return Ok(CatalogRows::default());
    }
    let names: Vec<String> = names.iter().map(|n| n.name.clone()).collect();
    let run = |text: &str| with_names(text, &names);
    let mut out = CatalogRows::default();
    for row in rows(client, &run(TABLES), "reading the table catalog").await? {
        out.tables.push(table_ref(&row, 0));
    }
    for row in rows(client, &run(COLUMNS), "reading the column catalog").await? {
        out.columns.push((
            table_ref(&row, 0),
            ColumnInfo {
                name: text(&row, 2),
                data_type: text(&row, 3).to_lowercase(),
                nullable: text(&row, 4).eq_ignore_ascii_case("YES"),
                identity: false,
            },
        ));
    }
    for row in rows(client, &run(IDENTITY_COLUMNS), "reading identity columns").await? {
        let table = table_ref(&row, 0);
        let name = text(&row, 2);
        if let Some((_, column)) = out
            .columns
            .iter_mut()
            .find(|(t, c)| *t == table && c.name == name)
        {
            column.identity = true;
        }
    }
    for row in rows(client, &run(PRIMARY_KEYS), "reading primary keys").await? {
        out.primary_keys.push((table_ref(&row, 0), text(&row, 2)));
    }
    for row in rows(client, &run(FOREIGN_KEYS), "reading foreign keys").await? {
        out.foreign_keys.push(ForeignKey {
            name: text(&row, 0),
            from: table_ref(&row, 1),
            to: table_ref(&row, 3),
        });
    }
    Ok(out)
}

fn text(row: &[Value], i: usize) -> String {
    match row.get(i) {
        Some(Value::Text(t)) => t.clone(),
        Some(other) if !other.is_null() => other.to_string(),
        _ => String::new(),
    }
}

fn table_ref(row: &[Value], at: usize) -> TableRef {
    TableRef {
        schema: text(row, at),
        name: text(row, at + 1),
    }
}

/// Runs a query and returns all its rows (catalog queries only: small results).
async fn rows(client: &mut TdsClient, sql: &Sql, context: &str) -> Result<Vec<Vec<Value>>, Error> {
    let params: Vec<SqlParam<'_>> = sql.params.iter().map(|p| SqlParam(&p.value)).collect();
    let refs: Vec<&dyn ToSql> = params.iter().map(|p| p as &dyn ToSql).collect();
    let fail = |e: tiberius::error::Error| Error::Query {
        context: context.to_string(),
        source: Box::new(e),
    };
    let stream = client.query(&sql.text, &refs).await.map_err(fail)?;
    let rows = stream.into_first_result().await.map_err(fail)?;
    Ok(rows
        .into_iter()
        .map(|r| r.into_iter().map(row::value).collect())
        .collect())
}

/// Matches each requested name to one catalog table (case-insensitively, schema if given).
pub(super) fn resolve_names(names: &[TableName], rows: &CatalogRows) -> Catalog {
    let mut tables = Vec::new();
    for name in names {
        let candidates: Vec<&TableRef> = rows
            .tables
            .iter()
            .filter(|t| t.name.eq_ignore_ascii_case(&name.name))
            .filter(|t| {
                name.schema
                    .as_ref()
                    .is_none_or(|s| t.schema.eq_ignore_ascii_case(s))
            })
            .collect();
        if let [table] = candidates.as_slice() {
            let table = (*table).clone();
            let columns = rows
                .columns
                .iter()
                .filter(|(t, _)| *t == table)
                .map(|(_, c)| c.clone())
                .collect();
            let primary_key = rows
                .primary_keys
                .iter()
                .filter(|(t, _)| *t == table)
                .map(|(_, c)| c.clone())
                .collect();
            tables.push(ResolvedTable {
                requested: name.clone(),
                info: TableInfo {
                    table,
                    columns,
                    primary_key,
                },
            });
        }
    }
    Catalog {
        tables,
        subselects: Vec::new(),
    }
}

/// What to do for one resource once the catalog is known.
enum Job<'a> {
    Absent,
    Principals(&'a PrincipalsAbsent),
    Query {
        table: Option<Box<TableInfo>>,
        referenced_by: Vec<ForeignKey>,
        sql: Sql,
        layout: Layout,
    },
}

/// Checks every resource against the catalog and renders its query; collects every problem
/// before any data query runs.
fn prepare<'a>(
    desired: &'a Desired,
    catalog: &Catalog,
    foreign_keys: &[ForeignKey],
) -> Result<Vec<Job<'a>>, Error> {
    let mut problems = Vec::new();
    let mut jobs = Vec::new();
    for r in &desired.resources {
        let problem = |message: String, at_table: bool| CatalogProblem {
            resource: r.id.clone(),
            origin: if at_table {
                r.table_origin.clone().unwrap_or_else(|| r.origin.clone())
            } else {
                r.origin.clone()
            },
            message,
        };
        if let ResourceKind::PrincipalsAbsent(spec) = &r.kind {
            jobs.push(Job::Principals(spec));
            continue;
        }
        // A metamodel target still unresolved here named no table: the plan notes it.
        if matches!(r.kind.target(), Some(TableTarget::Metamodel { .. })) {
            jobs.push(Job::Absent);
            continue;
        }
        let table = match r.kind.table() {
            Some(name) => match catalog.get(name) {
                Some(info) => Some(info.clone()),
                None if r.kind.if_exists() => {
                    jobs.push(Job::Absent);
                    continue;
                }
                None => {
                    problems.push(problem(
                        format!(
                            "table {name} is not in the database (or its name matches tables in several schemas; write schema.table)"
                        ),
                        true,
                    ));
                    continue;
                }
            },
            None => None,
        };
        match sql::drift_query(r, table.as_ref(), catalog, Flavor::SqlServer) {
            Ok((sql, layout)) => {
                let referenced_by = table
                    .as_ref()
                    .map(|t| {
                        foreign_keys
                            .iter()
                            .filter(|fk| fk.to == t.table && fk.from != t.table)
                            .cloned()
                            .collect()
                    })
                    .unwrap_or_default();
                jobs.push(Job::Query {
                    table: table.map(Box::new),
                    referenced_by,
                    sql,
                    layout,
                });
            }
            Err(message) => problems.push(problem(message, false)),
        }
    }
    if problems.is_empty() {
        Ok(jobs)
    } else {
        Err(Error::Catalog { problems })
    }
}

/// Streams a resource's drifted rows: every row counted, the first `SAMPLE_ROWS` kept.
async fn drift(
    client: &mut TdsClient,
    resource: &Resource,
    sql: &Sql,
    layout: &Layout,
) -> Result<Drift, Error> {
    let params: Vec<SqlParam<'_>> = sql.params.iter().map(|p| SqlParam(&p.value)).collect();
    let refs: Vec<&dyn ToSql> = params.iter().map(|p| p as &dyn ToSql).collect();
    let context = match layout {
        Layout::Custom => format!("the check query of resource {}", resource.id),
        Layout::Keyed { .. } => format!("inspecting resource {}", resource.id),
    };
    let fail = |e: tiberius::error::Error| Error::Query {
        context: context.clone(),
        source: Box::new(e),
    };
    let mut stream = client
        .query(&sql.text, &refs)
        .await
        .map_err(fail)?
        .into_row_stream();
    let mut out = Drift::default();
    let mut fingerprint = Fingerprint::default();
    while let Some(r) = stream.try_next().await.map_err(fail)? {
        out.count += 1;
        let names: Vec<String> = if out.sample.len() < SAMPLE_ROWS {
            r.columns().iter().map(|c| c.name().to_string()).collect()
        } else {
            Vec::new()
        };
        let values: Vec<Value> = r.into_iter().map(row::value).collect();
        fingerprint.row(&values);
        if out.sample.len() < SAMPLE_ROWS {
            out.sample.push(decode(layout, names, values));
        }
    }
    out.fingerprint = fingerprint.finish();
    Ok(out)
}

/// Splits a result row into its key and its value changes, following the query's layout.
pub(super) fn decode(layout: &Layout, names: Vec<String>, values: Vec<Value>) -> DriftRow {
    match layout {
        Layout::Custom => DriftRow {
            key: names.into_iter().zip(values).collect(),
            changes: vec![],
        },
        Layout::Keyed {
            columns,
            keys,
            compared,
        } => {
            let cell = |i: usize| values.get(i).cloned().unwrap_or(Value::Null);
            let key = keys
                .iter()
                .map(|&i| (columns[i].clone(), cell(i)))
                .collect();
            let mut computed = values.iter().skip(columns.len()).cloned();
            let changes = compared
                .iter()
                .filter_map(|(i, literal)| {
                    let old = cell(*i);
                    let new = match literal {
                        Some(v) => v.clone(),
                        None => computed.next().unwrap_or(Value::Null),
                    };
                    (old != new).then(|| ValueChange {
                        column: columns[*i].clone(),
                        old,
                        new,
                    })
                })
                .collect();
            DriftRow { key, changes }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(schema: &str, name: &str) -> TableRef {
        TableRef {
            schema: schema.into(),
            name: name.into(),
        }
    }

    /// Names resolve case-insensitively; an ambiguous or missing name stays unresolved.
    #[test]
    fn resolution() {
        let rows = CatalogRows {
            tables: vec![t("dbo", "OSSYS_SERVER"), t("dbo", "X"), t("app", "X")],
            columns: vec![(
                t("dbo", "OSSYS_SERVER"),
                ColumnInfo {
                    name: "NAME".into(),
                    data_type: "nvarchar".into(),
                    nullable: false,
                    identity: false,
                },
            )],
            primary_keys: vec![],
            foreign_keys: vec![],
        };
        let name = |s: &str| TableName::try_from(s.to_string()).unwrap();
        let catalog = resolve_names(
            &[name("ossys_server"), name("x"), name("app.x"), name("nope")],
            &rows,
        );
        assert_eq!(catalog.get(&name("ossys_server")).unwrap().columns.len(), 1);
        assert!(
            catalog.get(&name("x")).is_none(),
            "ambiguous without a schema"
        );
        assert_eq!(catalog.get(&name("app.x")).unwrap().table, t("app", "X"));
        assert!(catalog.get(&name("nope")).is_none());
    }

    /// Keyed rows split into key and changes; unchanged columns are not shown as changes.
    #[test]
    fn decode_keyed_rows() {
        let layout = Layout::Keyed {
            columns: vec!["ID".into(), "A".into(), "B".into()],
            keys: vec![0],
            compared: vec![(1, None), (2, Some(Value::Int(0)))],
        };
        let row = decode(
            &layout,
            vec![],
            vec![
                Value::Int(1),
                Value::Text("x".into()),
                Value::Int(0),
                Value::Text("y".into()),
            ],
        );
        assert_eq!(row.key, vec![("ID".to_string(), Value::Int(1))]);
        assert_eq!(row.changes.len(), 1);
        assert_eq!(row.changes[0].column, "A");
    }
}
