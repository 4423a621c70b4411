//! The statements of the changes every engine makes: deleting rows, emptying a table, setting
//! columns, running a custom fix. Each repeats the drift predicate, so that rows already in the
//! desired state are never written.

use super::writer::{position, where_clause, Writer};
use super::{Error, Flavor, T};
use crate::change::{Change, ChangeKind, EmptyMethod};
use crate::engine::ident::QuotedIdent;
use crate::engine::Statement;
use crate::journal::RowImage;
use crate::state::observed::{Catalog, ColumnInfo};
use crate::state::Value;

/// The statements of a change, in order.
///
/// # Errors
/// A table or column the catalog does not hold, a value that does not fit its column, or a
/// change only one engine makes ([`Error::NotOnThisEngine`]: each engine renders its own).
pub fn statements(
    change: &Change,
    catalog: &Catalog,
    flavor: Flavor,
) -> Result<Vec<Statement>, Error> {
    let mut w = Writer::new(catalog, flavor);
    let quote = flavor.quote();
    let text =
        match &change.kind {
            ChangeKind::DeleteRows { table, filter } => {
                // No alias: the embedded engine does not accept `DELETE t FROM ... AS t`, and no
                // correlated subquery needs one here.
                let conditions = w.filter(None, table, filter)?;
                format!(
                    "DELETE FROM {}{}",
                    QuotedIdent::table(&table.table, quote),
                    where_clause(&conditions)
                )
            }
            ChangeKind::EmptyTable { table, method } => match (method, flavor) {
                (EmptyMethod::Truncate, Flavor::SqlServer) => {
                    format!("TRUNCATE TABLE {}", QuotedIdent::table(&table.table, quote))
                }
                // TRUNCATE commits on Oracle: never inside the apply transaction.
                (EmptyMethod::Truncate, Flavor::Oracle) | (EmptyMethod::Delete { .. }, _) => {
                    format!("DELETE FROM {}", QuotedIdent::table(&table.table, quote))
                }
            },
            ChangeKind::SetColumns {
                table,
                filter,
                assignments,
            } => {
                let parts = w.assignment_parts(table, filter, assignments, change.secret)?;
                // Host rewrites are computed row by row: their statements are written from the
                // rows read inside the transaction (`rewrite_statements`).
                if parts.assignments.iter().any(|a| a.rewrite.is_some()) {
                    return Ok(Vec::new());
                }
                let sets: Vec<String> = parts
                    .assignments
                    .iter()
                    .map(|a| format!("{} = {}", QuotedIdent::column(&a.column, quote), a.desired))
                    .collect();
                let table = QuotedIdent::table(&table.table, quote);
                match flavor {
                    Flavor::SqlServer => format!(
                        "UPDATE {T} SET {} FROM {table} AS {T} WHERE {}",
                        sets.join(", "),
                        parts.predicate()
                    ),
                    Flavor::Oracle => format!(
                        "UPDATE {table} {T} SET {} WHERE {}",
                        sets.join(", "),
                        parts.predicate()
                    ),
                }
            }
            ChangeKind::RunFix { fix } => fix.clone(),
            ChangeKind::DropPrincipals { .. } => return Err(Error::NotOnThisEngine {
                what: "dropping restored database users",
                engine:
                    "SQL Server (on Oracle the schemas are the users, created before the import)",
            }),
            ChangeKind::RevokeGrants { .. } => {
                return Err(Error::NotOnThisEngine {
                    what: "revoking privileges",
                    engine: "Oracle",
                })
            }
        };
    let sql = w.finish(text);
    Ok(vec![Statement {
        sql: sql.text,
        params: sql.params,
        source: change.id.clone(),
    }])
}

/// Most parameters one rewrite statement binds (SQL Server takes 2,100 per request).
const REWRITE_PARAMS: usize = 2_000;

/// The statements that write a host-rewriting change's new values, computed row by row: one
/// `UPDATE` per batch of rows, each row found by its primary key and given its own values.
///
/// # Errors
/// A table without a primary key (its rows cannot be found one by one), or a change that does
/// not set columns.
pub fn rewrite_statements(
    change: &Change,
    rows: &[RowImage],
    flavor: Flavor,
) -> Result<Vec<Statement>, Error> {
    let ChangeKind::SetColumns {
        table, assignments, ..
    } = &change.kind
    else {
        return Ok(Vec::new());
    };
    let key: Vec<usize> = table
        .primary_key
        .iter()
        .map(|k| position(table, k))
        .collect();
    if key.is_empty() {
        return Err(Error::NoPrimaryKey {
            table: table.table.clone(),
        });
    }
    let quote = flavor.quote();
    let columns: Vec<&ColumnInfo> = assignments
        .iter()
        .map(|a| &table.columns[position(table, &a.column)])
        .collect();
    let per_row = key.len() + columns.len();
    let batch = (REWRITE_PARAMS / per_row).clamp(1, 500);
    let name = QuotedIdent::table(&table.table, quote);
    let mut out = Vec::new();
    for chunk in rows.chunks(batch) {
        let catalog = Catalog::default();
        let mut w = Writer::new(&catalog, flavor);
        let mut matches = Vec::with_capacity(chunk.len());
        for row in chunk {
            let parts: Vec<String> = key
                .iter()
                .map(|&i| {
                    let value = row.values.get(i).cloned().unwrap_or(Value::Null);
                    let marker = w.bind_for(value, &table.columns[i], false);
                    format!(
                        "{T}.{} = {marker}",
                        QuotedIdent::column(&table.columns[i], quote)
                    )
                })
                .collect();
            matches.push(format!("({})", parts.join(" AND ")));
        }
        let mut sets = Vec::with_capacity(columns.len());
        for (c, column) in columns.iter().enumerate() {
            let mut whens = Vec::with_capacity(chunk.len());
            for (row, matched) in chunk.iter().zip(&matches) {
                let value = row.after.get(c).cloned().unwrap_or(Value::Null);
                // Masked in any error message: the row may be secret, and the resource cannot
                // tell.
                let marker = if value.is_null() {
                    "NULL".to_string()
                } else {
                    w.bind_for(value, column, true)
                };
                whens.push(format!("WHEN {matched} THEN {marker}"));
            }
            sets.push(format!(
                "{} = CASE {} END",
                QuotedIdent::column(column, quote),
                whens.join(" ")
            ));
        }
        let text = match flavor {
            Flavor::SqlServer => format!(
                "UPDATE {T} SET {} FROM {name} AS {T} WHERE {}",
                sets.join(", "),
                matches.join(" OR ")
            ),
            Flavor::Oracle => format!(
                "UPDATE {name} {T} SET {} WHERE {}",
                sets.join(", "),
                matches.join(" OR ")
            ),
        };
        let sql = w.finish(text);
        out.push(Statement {
            sql: sql.text,
            params: sql.params,
            source: change.id.clone(),
        });
    }
    Ok(out)
}
