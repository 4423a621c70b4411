//! The statements of the changes every engine makes: deleting rows, emptying a table, setting
//! columns, running a custom fix. Each repeats the drift predicate, so that rows already in the
//! desired state are never written.

use super::writer::{where_clause, Writer};
use super::{Error, Flavor, T};
use crate::change::{Assignment, Change, ChangeKind, EmptyMethod};
use crate::engine::ident::QuotedIdent;
use crate::engine::Statement;
use crate::state::desired::ColumnValue;
use crate::state::observed::Catalog;

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
                let set: Vec<(&str, &ColumnValue)> = assignments
                    .iter()
                    .map(|Assignment { column, value }| (column.as_str(), value))
                    .collect();
                let parts = w.update_parts(table, filter, &set, change.secret)?;
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
