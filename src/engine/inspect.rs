//! Inspection, for every engine: a few catalog queries for every table the spec names, then one
//! query per resource that streams its drifted rows (counted, the first few kept). Reads only.
//!
//! An engine provides a [`Reader`] (run a query, return or stream rows) and its
//! [`CatalogQueries`]; everything else here is the same on SQL Server and Oracle.

use crate::engine::sql::{self, Flavor, Layout, Sql};
use crate::engine::{CatalogProblem, Error, SAMPLE_ROWS};
use crate::state::desired::{
    filter_tables, subselects, Describe, Desired, GrantsAbsent, PrincipalsAbsent, ResolvedTargets,
    Resource, ResourceKind, TableName, TableTarget,
};
use crate::state::fingerprint::Fingerprint;
use crate::state::observed::{
    Catalog, ColumnInfo, Drift, DriftRow, ForeignKey, Grant, Observed, ObservedResource,
    OwnedObject, OwnedSchema, Principal, ResolvedSubselect, ResolvedTable, TableInfo, TableRef,
    Target, ValueChange,
};
use crate::state::Value;

/// What inspection needs of a connection.
pub(crate) trait Reader {
    /// Every row of a query (catalog queries: small results).
    async fn rows(&mut self, sql: &Sql, context: &str) -> Result<Vec<Vec<Value>>, Error>;

    /// Streams a query's rows to `each` with their column names (given while `names_wanted`
    /// says so); returns how many rows there were. An error from `each` stops the stream.
    async fn stream(
        &mut self,
        sql: &Sql,
        context: &str,
        each: &mut dyn FnMut(Option<Vec<String>>, Vec<Value>) -> Result<(), Error>,
        names_wanted: &dyn Fn() -> bool,
    ) -> Result<u64, Error>;
}

/// An engine's catalog queries. `/*owner*/` stands for the schema the platform lives in
/// (Oracle) and `/*names*/` for the upper-cased table names the spec uses; both become
/// parameters.
#[derive(Debug, Clone)]
pub(crate) struct CatalogQueries {
    /// How parameters are written.
    pub flavor: Flavor,
    /// The schema holding the platform's tables, when the engine needs it named.
    pub owner: Option<String>,
    /// Schema and name of the base tables named.
    pub tables: &'static str,
    /// Schema, table, column, type, nullability (`YES`/`Y`), in ordinal order.
    pub columns: &'static str,
    /// Schema, table, column of identity columns.
    pub identity_columns: &'static str,
    /// Schema, table, column of primary keys, in key order.
    pub primary_keys: &'static str,
    /// Name, from schema, from table, to schema, to table of foreign keys.
    pub foreign_keys: &'static str,
    /// The principal queries (SQL Server's restored database users).
    pub principals: Option<PrincipalQueries>,
    /// Grantee, owner, object, privilege of the object privileges `/*grantees*/` hold on
    /// objects of `/*owners*/` (Oracle).
    pub grants: Option<&'static str>,
}

/// Queries for `principals_absent`.
#[derive(Debug, Clone, Copy)]
pub(crate) struct PrincipalQueries {
    /// Name and kind of the principals named.
    pub principals: &'static str,
    /// Owner, schema, object count of the schemas they own.
    pub owned_schemas: &'static str,
    /// Owner, schema, name, kind of the objects they own.
    pub owned_objects: &'static str,
    /// Owner and name of the roles they own.
    pub owned_roles: &'static str,
}

/// What the catalog queries returned.
#[derive(Debug, Default)]
pub(super) struct CatalogRows {
    pub(super) tables: Vec<TableRef>,
    pub(super) columns: Vec<(TableRef, ColumnInfo)>,
    pub(super) primary_keys: Vec<(TableRef, String)>,
    pub(super) foreign_keys: Vec<ForeignKey>,
}

/// Inspects every resource of `desired`.
pub(crate) async fn inspect<R: Reader>(
    client: &mut R,
    queries: &CatalogQueries,
    target: Target,
    desired: &Desired,
) -> Result<Observed, Error> {
    let names = referenced_tables(desired);
    let rows = read_catalog(client, queries, &names).await?;
    let mut catalog = resolve_names(&names, &rows);
    resolve_subselects(client, queries.flavor, desired, &mut catalog).await?;
    let work = prepare(desired, &catalog, &rows.foreign_keys, queries.flavor)?;
    let mut resources = Vec::with_capacity(work.len());
    for (resource, job) in desired.resources.iter().zip(work) {
        resources.push(match job {
            Job::Absent => ObservedResource::TableAbsent {
                id: resource.id.clone(),
            },
            // Oracle's users are the schemas the import created: nothing to drop there.
            Job::Principals(_) if queries.principals.is_none() => ObservedResource::TableAbsent {
                id: resource.id.clone(),
            },
            Job::Principals(spec) => principals(client, queries, resource, spec).await?,
            Job::Grants(spec) => match queries.grants {
                Some(text) => grants(client, queries.flavor, text, resource, spec).await?,
                None => ObservedResource::TableAbsent {
                    id: resource.id.clone(),
                },
            },
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
async fn resolve_subselects<R: Reader>(
    client: &mut R,
    flavor: Flavor,
    desired: &Desired,
    catalog: &mut Catalog,
) -> Result<(), Error> {
    for sub in subselects(desired) {
        let Ok(sql) = sql::subselect_query(sub, catalog, flavor) else {
            continue;
        };
        let context = format!("reading the values of {}.{}", sub.table, sub.column);
        let values: Vec<Value> = client
            .rows(&sql, &context)
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
pub(crate) async fn resolve<R: Reader>(
    client: &mut R,
    queries: &CatalogQueries,
    desired: &Desired,
) -> Result<Desired, Error> {
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
    let catalog = resolve_names(&names, &read_catalog(client, queries, &names).await?);
    let mut problems = Vec::new();
    let mut work = Vec::new();
    for (r, from) in &targets {
        match sql::metamodel_query(from, &catalog, queries.flavor) {
            Ok(q) => work.push((r, q)),
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
    let mut resolved = Vec::with_capacity(work.len());
    for (r, (sql, labels)) in work {
        let context = format!("resolving the tables of resource {}", r.id);
        let mut tables = Vec::new();
        for row in client.rows(&sql, &context).await? {
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
            ResourceKind::Custom(_)
            | ResourceKind::PrincipalsAbsent(_)
            | ResourceKind::GrantsAbsent(_) => {}
        }
    }
    names
}

/// A catalog query with each `/*owner*/` bound to the owner and each `/*names*/` to the
/// upper-cased names, parameters numbered in the order they appear.
fn with_names(text: &str, flavor: Flavor, owner: Option<&str>, names: &[String]) -> Sql {
    let mut out = String::with_capacity(text.len());
    let mut params = Vec::new();
    let bind = |value: String, params: &mut Vec<crate::engine::Param>| {
        params.push(crate::engine::Param {
            value: Value::Text(value),
            secret: false,
        });
        flavor.marker(params.len())
    };
    let mut rest = text;
    loop {
        let owner_at = rest.find("/*owner*/");
        let names_at = rest.find("/*names*/");
        let next = match (owner_at, names_at) {
            (Some(o), Some(n)) => Some((o.min(n), o < n)),
            (Some(o), None) => Some((o, true)),
            (None, Some(n)) => Some((n, false)),
            (None, None) => None,
        };
        let Some((at, is_owner)) = next else {
            out.push_str(rest);
            break;
        };
        out.push_str(&rest[..at]);
        if is_owner {
            out.push_str(&bind(owner.unwrap_or_default().to_uppercase(), &mut params));
        } else {
            let markers: Vec<String> = names
                .iter()
                .map(|n| bind(n.to_uppercase(), &mut params))
                .collect();
            out.push_str(&markers.join(", "));
        }
        let placeholder = if is_owner { "/*owner*/" } else { "/*names*/" };
        rest = &rest[at + placeholder.len()..];
    }
    Sql { text: out, params }
}

/// The privileges a `grants_absent` resource forbids that exist, in the catalog's order.
async fn grants<R: Reader>(
    client: &mut R,
    flavor: Flavor,
    query: &str,
    resource: &Resource,
    spec: &GrantsAbsent,
) -> Result<ObservedResource, Error> {
    let mut params = Vec::new();
    let mut list = |names: &[String]| -> String {
        names
            .iter()
            .map(|n| {
                params.push(crate::engine::Param {
                    value: Value::Text(n.to_uppercase()),
                    secret: false,
                });
                flavor.marker(params.len())
            })
            .collect::<Vec<_>>()
            .join(", ")
    };
    let grantees = list(&spec.grantees);
    let owners = list(&spec.owners);
    let sql = Sql {
        text: query
            .replace("/*grantees*/", &grantees)
            .replace("/*owners*/", &owners),
        params,
    };
    let context = format!("reading the privileges of resource {}", resource.id);
    let found = client
        .rows(&sql, &context)
        .await?
        .into_iter()
        .map(|r| Grant {
            grantee: text(&r, 0),
            owner: text(&r, 1),
            object: text(&r, 2),
            privilege: text(&r, 3),
        })
        .collect();
    Ok(ObservedResource::Grants {
        id: resource.id.clone(),
        found,
    })
}

/// The principals a `principals_absent` resource lists that exist, with what they own. The
/// ownership queries only run when one exists.
async fn principals<R: Reader>(
    client: &mut R,
    queries: &CatalogQueries,
    resource: &Resource,
    spec: &PrincipalsAbsent,
) -> Result<ObservedResource, Error> {
    let context = format!("reading the principals of resource {}", resource.id);
    let Some(q) = queries.principals else {
        return Err(Error::Catalog {
            problems: vec![CatalogProblem {
                resource: resource.id.clone(),
                origin: resource.origin.clone(),
                message: "principals_absent is for SQL Server; on Oracle the platform's users are the schemas the import created".into(),
            }],
        });
    };
    let run = |text: &str, names: &[String]| {
        with_names(text, queries.flavor, queries.owner.as_deref(), names)
    };
    let mut names = spec.names.clone();
    names.push(spec.new_owner.clone());
    let listed = client.rows(&run(q.principals, &names), &context).await?;
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
        for r in client
            .rows(&run(q.owned_schemas, &present), &context)
            .await?
        {
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
        for r in client
            .rows(&run(q.owned_objects, &present), &context)
            .await?
        {
            if let Some(i) = owner_of(&mut found, &text(&r, 0)) {
                found[i].objects.push(OwnedObject {
                    schema: text(&r, 1),
                    name: text(&r, 2),
                    kind: text(&r, 3),
                });
            }
        }
        for r in client.rows(&run(q.owned_roles, &present), &context).await? {
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

async fn read_catalog<R: Reader>(
    client: &mut R,
    queries: &CatalogQueries,
    names: &[TableName],
) -> Result<CatalogRows, Error> {
    if names.is_empty() {
        return Ok(CatalogRows::default());
    }
    let names: Vec<String> = names.iter().map(|n| n.name.clone()).collect();
    let run = |text: &str| with_names(text, queries.flavor, queries.owner.as_deref(), &names);
    let mut out = CatalogRows::default();
    for row in client
        .rows(&run(queries.tables), "reading the table catalog")
        .await?
    {
        out.tables.push(table_ref(&row, 0));
    }
    for row in client
        .rows(&run(queries.columns), "reading the column catalog")
        .await?
    {
        out.columns.push((
            table_ref(&row, 0),
            ColumnInfo {
                name: text(&row, 2),
                data_type: text(&row, 3).to_lowercase(),
                nullable: matches!(text(&row, 4).to_ascii_uppercase().as_str(), "YES" | "Y"),
                identity: false,
            },
        ));
    }
    for row in client
        .rows(&run(queries.identity_columns), "reading identity columns")
        .await?
    {
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
    for row in client
        .rows(&run(queries.primary_keys), "reading primary keys")
        .await?
    {
        out.primary_keys.push((table_ref(&row, 0), text(&row, 2)));
    }
    for row in client
        .rows(&run(queries.foreign_keys), "reading foreign keys")
        .await?
    {
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

/// Matches each requested name to one catalog table (case-insensitively, schema if given).
fn resolve_names(names: &[TableName], rows: &CatalogRows) -> Catalog {
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
    Grants(&'a GrantsAbsent),
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
    flavor: Flavor,
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
        if let ResourceKind::GrantsAbsent(spec) = &r.kind {
            jobs.push(Job::Grants(spec));
            continue;
        }
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
        match sql::drift_query(r, table.as_ref(), catalog, flavor) {
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
async fn drift<R: Reader>(
    client: &mut R,
    resource: &Resource,
    sql: &Sql,
    layout: &Layout,
) -> Result<Drift, Error> {
    let context = match layout {
        Layout::Custom => format!("the check query of resource {}", resource.id),
        Layout::Keyed { .. } => format!("inspecting resource {}", resource.id),
    };
    let sample = std::cell::RefCell::new(Vec::new());
    let mut fingerprint = Fingerprint::default();
    let count = client
        .stream(
            sql,
            &context,
            &mut |names, values| {
                fingerprint.row(&values);
                let mut sample = sample.borrow_mut();
                if sample.len() < SAMPLE_ROWS {
                    sample.push(decode(layout, names.unwrap_or_default(), values));
                }
                Ok(())
            },
            &|| sample.borrow().len() < SAMPLE_ROWS,
        )
        .await?;
    Ok(Drift {
        count,
        sample: sample.into_inner(),
        fingerprint: fingerprint.finish(),
    })
}

/// Splits a result row into its key and its value changes, following the query's layout.
pub(crate) fn decode(layout: &Layout, names: Vec<String>, values: Vec<Value>) -> DriftRow {
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

    /// The owner and each list of names become parameters in order of appearance, a list
    /// used twice gets markers of its own each time (Oracle binds occurrences), and names are
    /// upper-cased.
    #[test]
    fn catalog_query_binding() {
        let sql = with_names(
            "WHERE f.OWNER = /*owner*/ AND (f.T IN (/*names*/) OR p.T IN (/*names*/))",
            Flavor::Oracle,
            Some("osadmin_pp"),
            &["ossys_server".to_string(), "Ossys_Parameter".to_string()],
        );
        assert_eq!(
            sql.text,
            "WHERE f.OWNER = :p1 AND (f.T IN (:p2, :p3) OR p.T IN (:p4, :p5))"
        );
        let values: Vec<String> = sql.params.iter().map(|p| p.value.to_string()).collect();
        assert_eq!(
            values,
            [
                "\"OSADMIN_PP\"",
                "\"OSSYS_SERVER\"",
                "\"OSSYS_PARAMETER\"",
                "\"OSSYS_SERVER\"",
                "\"OSSYS_PARAMETER\""
            ]
        );
        let sqlserver = with_names("IN (/*names*/)", Flavor::SqlServer, None, &["a".into()]);
        assert_eq!(sqlserver.text, "IN (@P1)");
    }

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
