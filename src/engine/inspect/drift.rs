//! A resource's drift: its query checked against the catalog (every problem collected before
//! any data query runs), then its rows streamed, all counted and fingerprinted, the first few
//! kept for the plan.

use super::catalog::CatalogQueries;
use super::{principals, Reader};
use crate::engine::sql::{self, Flavor, Layout, RowQuery};
use crate::engine::{CatalogProblem, Error, SAMPLE_ROWS};
use crate::state::desired::{
    Desired, GrantsAbsent, PrincipalsAbsent, Resource, ResourceKind, TableTarget,
};
use crate::state::fingerprint::Fingerprint;
use crate::state::observed::{Catalog, Drift, DriftRow, ObservedResource, TableInfo, ValueChange};
use crate::state::Value;

/// What to do for one resource once the catalog is known.
pub(super) enum Job<'a> {
    Absent,
    Principals(&'a PrincipalsAbsent),
    Grants(&'a GrantsAbsent),
    Query {
        table: Option<Box<TableInfo>>,
        query: RowQuery,
    },
}

/// Checks every resource against the catalog and writes its query; collects every problem
/// before any data query runs.
pub(super) fn prepare<'a>(
    desired: &'a Desired,
    catalog: &Catalog,
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
        // Rows of a changed table are read, journaled and written back whole: every column
        // must be of a type postclone carries exactly.
        if let Some(info) = &table {
            let unsupported: Vec<String> = info
                .columns
                .iter()
                .filter(|c| !sql::supported(&c.data_type))
                .map(|c| format!("{} ({})", c.name, c.data_type))
                .collect();
            if !unsupported.is_empty() {
                problems.push(problem(
                    format!(
                        "table {} has columns of a type postclone cannot read and write back exactly: {}; exclude this resource and declare a custom one",
                        info.table,
                        unsupported.join(", ")
                    ),
                    true,
                ));
                continue;
            }
        }
        match sql::drift_query(r, table.as_ref(), catalog, flavor) {
            Ok(query) => jobs.push(Job::Query {
                table: table.map(Box::new),
                query,
            }),
            Err(source) => problems.push(problem(source.to_string(), false)),
        }
    }
    if problems.is_empty() {
        Ok(jobs)
    } else {
        Err(Error::Catalog { problems })
    }
}

/// Runs one resource's job.
pub(super) async fn run<R: Reader>(
    client: &mut R,
    queries: &CatalogQueries,
    resource: &Resource,
    job: Job<'_>,
) -> Result<ObservedResource, Error> {
    let absent = || ObservedResource::TableAbsent {
        id: resource.id.clone(),
    };
    Ok(match job {
        Job::Absent => absent(),
        // Oracle's users are the schemas the import created: nothing to drop there.
        Job::Principals(_) if queries.principals.is_none() => absent(),
        Job::Principals(spec) => principals::principals(client, queries, resource, spec).await?,
        Job::Grants(spec) => match queries.grants {
            Some(text) => principals::grants(client, queries.flavor, text, resource, spec).await?,
            None => absent(),
        },
        Job::Query { table, query } => ObservedResource::Inspected {
            id: resource.id.clone(),
            drift: drift(client, resource, &query).await?,
            table: table.map(|t| *t),
        },
    })
}

/// Streams a resource's drifted rows: every row counted, the first `SAMPLE_ROWS` kept.
async fn drift<R: Reader>(
    client: &mut R,
    resource: &Resource,
    query: &RowQuery,
) -> Result<Drift, Error> {
    let mut sample = Vec::new();
    let mut fingerprint = Fingerprint::default();
    let count = match query {
        RowQuery::Table(select, layout) => {
            let context = format!("inspecting resource {}", resource.id);
            let mut each = |values: Vec<Value>| {
                fingerprint.row(&values);
                if sample.len() < SAMPLE_ROWS {
                    sample.push(decode(layout, Vec::new(), values));
                }
                Ok(())
            };
            client.stream(select, &context, &mut each).await?
        }
        RowQuery::Check(sql) => {
            let context = format!("the check query of resource {}", resource.id);
            let mut each = |names: &[String], values: Vec<Value>| {
                fingerprint.row(&values);
                if sample.len() < SAMPLE_ROWS {
                    sample.push(decode(&Layout::Custom, names.to_vec(), values));
                }
                Ok(())
            };
            client.check(sql, &context, &mut each).await?
        }
    };
    Ok(Drift {
        count,
        sample,
        fingerprint: fingerprint.finish(),
    })
}

/// Splits a result row into its key, its value changes and its name, following the query's
/// layout.
pub(crate) fn decode(layout: &Layout, names: Vec<String>, values: Vec<Value>) -> DriftRow {
    match layout {
        Layout::Custom => DriftRow {
            key: names.into_iter().zip(values).collect(),
            changes: vec![],
            label: None,
            details: vec![],
        },
        Layout::Keyed {
            columns,
            keys,
            compared,
            label,
            details,
        } => {
            let cell = |i: usize| values.get(i).cloned().unwrap_or(Value::Null);
            let key = keys
                .iter()
                .map(|&i| (columns.get(i).cloned().unwrap_or_default(), cell(i)))
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
                    (!old.same_as(&new)).then(|| ValueChange {
                        column: columns.get(*i).cloned().unwrap_or_default(),
                        old,
                        new,
                    })
                })
                .collect();
            let label = if *label {
                computed.next().and_then(shown)
            } else {
                None
            };
            let details = details
                .iter()
                .filter_map(|name| Some((name.clone(), shown(computed.next()?)?)))
                .collect();
            DriftRow {
                key,
                changes,
                label,
                details,
            }
        }
    }
}

/// A value as a row's name shows it; NULL shows nothing.
fn shown(value: Value) -> Option<String> {
    match value {
        Value::Null => None,
        Value::Text(t) => Some(t.trim_end().to_string()),
        other => Some(other.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Keyed rows split into key and changes; unchanged columns are not shown as changes.
    #[test]
    fn decode_keyed_rows() {
        let layout = Layout::Keyed {
            columns: vec!["ID".into(), "A".into(), "B".into()],
            keys: vec![0],
            compared: vec![(1, None), (2, Some(Value::Int(0)))],
            label: true,
            details: vec![],
        };
        let row = decode(
            &layout,
            vec![],
            vec![
                Value::Int(1),
                Value::Text("x".into()),
                Value::Int(0),
                Value::Text("y".into()),
                Value::Text("SyncInvoices".into()),
            ],
        );
        assert_eq!(row.key, vec![("ID".to_string(), Value::Int(1))]);
        assert_eq!(row.changes.len(), 1);
        assert_eq!(row.changes[0].column, "A");
        assert_eq!(row.label.as_deref(), Some("SyncInvoices"));
    }

    /// A changed table with a column of a type postclone cannot carry is refused at plan time,
    /// naming the table, the column and its type.
    #[test]
    fn unsupported_types_are_refused_by_name() {
        use crate::state::desired::{TableEmpty, TableTarget};
        use crate::state::observed::ResolvedTable;
        use crate::test_support::{col, desired, info, name, resource};
        let d = desired(vec![resource(
            "odd",
            ResourceKind::TableEmpty(TableEmpty {
                table: TableTarget::Name(name("odd")),
                if_exists: false,
            }),
            &[],
        )]);
        let catalog = Catalog {
            tables: vec![ResolvedTable {
                requested: name("odd"),
                info: info(
                    "ODD",
                    vec![col("ID", "int", false), col("V", "sql_variant", true)],
                    &["ID"],
                ),
            }],
            subselects: vec![],
        };
        let Err(Error::Catalog { problems }) = prepare(&d, &catalog, Flavor::SqlServer) else {
            panic!("refused");
        };
        assert!(
            problems[0].message.contains("dbo.ODD")
                && problems[0].message.contains("V (sql_variant)"),
            "{}",
            problems[0].message
        );
    }
}
