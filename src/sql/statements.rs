//! The statements of the changes every engine makes: deleting rows, emptying a table, setting
//! columns, inserting captured rows, running a custom fix. Each repeats the drift predicate, so that rows already in the
//! desired state are never written.

use super::batch::{update_by_key, KeyedRow};
use super::ident::QuotedIdent;
use super::writer::{position, where_clause, Writer};
use super::Statement;
use super::{Error, Flavor, T};
use crate::change::{Change, ChangeKind, EmptyMethod};
use crate::journal::RowImage;
use crate::state::desired::key_text;
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
                // Host rewrites, masks and carried values are computed row by row: their
                // statements are written from the rows read inside the transaction
                // (`rewrite_statements`), never as one statement over the table.
                if parts
                    .assignments
                    .iter()
                    .any(|a| a.rewrite.is_some() || a.carried.is_some())
                {
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
                        "UPDATE {T} SET {} FROM {table} AS {T}{} WHERE {}",
                        sets.join(", "),
                        parts.joins.concat(),
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
            // The rows the plan found missing (apply reads which again inside the transaction
            // and writes the same statements from them, `insert_present`); sealed rows no
            // identity opened are left out (apply refuses them).
            ChangeKind::InsertRows { table, rows } => {
                let values: Vec<Vec<Value>> = change
                    .rows
                    .sample
                    .iter()
                    .filter_map(|r| rows.row_of(&r.key.iter().map(|(_, v)| key_text(v)).collect()))
                    .collect();
                return super::insert_present(table, rows, &values, flavor, &change.id);
            }
            ChangeKind::DropPrincipals {
                principals,
                new_owner,
            } if flavor == Flavor::SqlServer => {
                return Ok(unparameterized(
                    super::principals::drop_principals(principals, new_owner),
                    change,
                ))
            }
            ChangeKind::DropPrincipals { .. } => return Err(Error::NotOnThisEngine {
                what: "dropping restored database users",
                engine:
                    "SQL Server (on Oracle the schemas are the users, created before the import)",
            }),
            ChangeKind::RevokeGrants { grants } if flavor == Flavor::Oracle => {
                return Ok(unparameterized(super::grants::revoke(grants)?, change))
            }
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

/// Statements of `change` that take no parameters (their names come from the catalog, quoted).
fn unparameterized(texts: Vec<String>, change: &Change) -> Vec<Statement> {
    texts
        .into_iter()
        .map(|sql| Statement {
            sql,
            params: vec![],
            source: change.id.clone(),
        })
        .collect()
}

/// The statements that write a row-computed change's new values (host rewrites, masks): one
/// `UPDATE` per batch of rows, each row found by its primary key and given its own values.
///
/// # Errors
/// A table without a primary key (its rows cannot be found one by one).
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
        .collect::<Result<_, _>>()?;
    if key.is_empty() {
        return Err(Error::NoPrimaryKey {
            table: table.table.clone(),
        });
    }
    let key_columns: Vec<&ColumnInfo> = key.iter().map(|&i| &table.columns[i]).collect();
    let columns: Vec<&ColumnInfo> = assignments
        .iter()
        .map(|a| position(table, &a.column).map(|i| &table.columns[i]))
        .collect::<Result<_, _>>()?;
    let rows: Vec<KeyedRow<'_>> = rows
        .iter()
        .map(|row| KeyedRow {
            key: key
                .iter()
                .map(|&i| row.values.get(i).unwrap_or(&Value::Null))
                .collect(),
            values: row.after.iter().collect(),
        })
        .collect();
    Ok(update_by_key(
        &table.table,
        &key_columns,
        &columns,
        &rows,
        flavor,
        &change.id,
    ))
}
