//! Putting journaled rows back: the statements that reinsert deleted rows and write modified
//! values back, and the query that reads them again so that restore can prove its result.

use super::batch::{delete_by_key, insert_rows, row_markers, update_by_key, KeyedRow};
use super::ident::QuotedIdent;
use super::writer::all_columns;
use super::{Error, Flavor, Select, Selected, T};
use super::{Param, Statement};
use crate::journal::{JournaledRow, RestoreAction, RestoreStep};
use crate::state::observed::{ColumnInfo, TableInfo};
use crate::state::Value;

/// How many journaled rows one verification query reads back.
pub const VERIFY_BATCH: usize = 500;

/// The statements that put a triaged step's rows back: the missing rows inserted again (with
/// their identity values), the modified rows given their old values (in the columns the
/// change wrote, when the journal says which), and the rows the apply inserted deleted, many
/// rows per statement, each found by its primary key. A table without one can only have deleted rows put back, one guarded
/// statement per row (`NOT EXISTS` over the whole row).
///
/// # Errors
/// An update to revert on a table without a primary key: its rows cannot be found again.
pub fn restore_statements(step: &RestoreStep, flavor: Flavor) -> Result<Vec<Statement>, Error> {
    let key = step.key_positions();
    match step.action {
        RestoreAction::Revert | RestoreAction::Remove if key.is_empty() => {
            Err(Error::NoPrimaryKey {
                table: step.table.clone(),
            })
        }
        RestoreAction::Remove => {
            let key_columns: Vec<&ColumnInfo> = key.iter().map(|&i| &step.columns[i]).collect();
            let keys: Vec<Vec<&Value>> = step
                .rows
                .iter()
                .map(|r| key.iter().map(|&i| &r.values[i]).collect())
                .collect();
            Ok(delete_by_key(
                &step.table,
                &key_columns,
                &keys,
                flavor,
                &step.change,
            ))
        }
        RestoreAction::Revert => {
            let written = step.written_positions();
            let key_columns: Vec<&ColumnInfo> = key.iter().map(|&i| &step.columns[i]).collect();
            let columns: Vec<&ColumnInfo> = written.iter().map(|&i| &step.columns[i]).collect();
            let rows: Vec<KeyedRow<'_>> = step
                .rows
                .iter()
                .map(|r| KeyedRow {
                    key: key.iter().map(|&i| &r.values[i]).collect(),
                    values: written.iter().map(|&i| &r.values[i]).collect(),
                })
                .collect();
            Ok(update_by_key(
                &step.table,
                &key_columns,
                &columns,
                &rows,
                flavor,
                &step.change,
            ))
        }
        RestoreAction::Reinsert if !key.is_empty() => {
            let rows: Vec<&[Value]> = step.rows.iter().map(|r| r.values.as_slice()).collect();
            Ok(insert_rows(
                &step.table,
                &step.columns,
                &key,
                &rows,
                step.columns.iter().any(|c| c.identity),
                flavor,
                &step.change,
            ))
        }
        RestoreAction::Reinsert => Ok(guarded_inserts(step, flavor)),
    }
}

/// One statement per row of a table without a primary key, inserting it unless an identical
/// row is there: idempotent without a key to find rows by.
fn guarded_inserts(step: &RestoreStep, flavor: Flavor) -> Vec<Statement> {
    let quote = flavor.quote();
    let table = QuotedIdent::table(&step.table, quote);
    let all: Vec<usize> = (0..step.columns.len()).collect();
    let identity = step.columns.iter().any(|c| c.identity);
    let column = |i: usize| QuotedIdent::column(&step.columns[i], quote).to_string();
    let mut out = Vec::with_capacity(step.rows.len());
    for row in &step.rows {
        let row = &row.values;
        let mut params = Vec::new();
        let markers = row_markers(row, &step.columns, &[], flavor, &mut params);
        let matches = all
            .iter()
            .map(|&i| match row[i] {
                Value::Null => format!("s1.{} IS NULL", column(i)),
                _ => {
                    flavor.same_exactly(&step.columns[i], &format!("s1.{}", column(i)), &markers[i])
                }
            })
            .collect::<Vec<_>>()
            .join(" AND ");
        let names: Vec<String> = all.iter().map(|&i| column(i)).collect();
        let missing = format!(
            "NOT EXISTS (SELECT 1 FROM {table}{} WHERE {matches})",
            flavor.alias("s1")
        );
        // SQL Server inserts VALUES under IF: an INSERT ... SELECT of literals leaves the
        // embedded engine's values unconverted to their columns' types.
        let insert = match flavor {
            Flavor::SqlServer => format!(
                "IF {missing} INSERT INTO {table} ({}) VALUES ({})",
                names.join(", "),
                markers.join(", ")
            ),
            Flavor::Oracle => format!(
                "INSERT INTO {table} ({}) SELECT {} FROM DUAL WHERE {missing}",
                names.join(", "),
                markers.join(", ")
            ),
        };
        let sql = if identity && flavor == Flavor::SqlServer {
            format!("SET IDENTITY_INSERT {table} ON; {insert}; SET IDENTITY_INSERT {table} OFF")
        } else {
            insert
        };
        out.push(Statement {
            sql,
            params,
            source: step.change.clone(),
        });
    }
    out
}

/// The query that reads back, whole, the rows of `step` at `rows` (positions in `step.rows`, at
/// most [`VERIFY_BATCH`]) by primary key, each row preceded by the position in `rows` of the
/// journaled row whose key it has: the server's own comparison of keys says which row is which,
/// never a comparison of values read back. A table without a key is read whole, without
/// positions.
#[must_use]
pub fn verify_query(step: &RestoreStep, rows: &[usize], flavor: Flavor) -> Select {
    let table = step.table_info();
    let key = step.key_positions();
    let mut params = Vec::new();
    // Keys typed as their columns: the embedded engine matches a join only on equal types.
    let mut bind = |value: &Value, column: usize| {
        params.push(Param::for_column(
            value.clone(),
            &step.columns[column],
            false,
        ));
        flavor.marker(params.len())
    };
    let column = |i: usize| {
        format!(
            "{T}.{}",
            QuotedIdent::column(&step.columns[i], flavor.quote())
        )
    };
    let journaled: Vec<&JournaledRow> = rows.iter().filter_map(|&r| step.rows.get(r)).collect();
    let mut columns = all_columns(&table, flavor);
    let filter = if key.is_empty() {
        String::new()
    } else if flavor == Flavor::SqlServer {
        // Rows by key as a join with a list of keys: the embedded engine matches a join by
        // hashing, and an `IN` list by comparing every row with every value.
        let tuples: Vec<String> = journaled
            .iter()
            .enumerate()
            .map(|(n, row)| {
                let mut markers = vec![n.to_string()];
                markers.extend(key.iter().map(|&i| bind(&row.values[i], i)));
                format!("({})", markers.join(", "))
            })
            .collect();
        let names: Vec<String> = std::iter::once("n".to_string())
            .chain((0..key.len()).map(|n| format!("k{n}")))
            .collect();
        let on: Vec<String> = key
            .iter()
            .enumerate()
            .map(|(n, &i)| format!("{} = v.k{n}", column(i)))
            .collect();
        columns.insert(0, Selected::position("v.n".into()));
        format!(
            " INNER JOIN (VALUES {}) AS v({}) ON {}",
            tuples.join(", "),
            names.join(", "),
            on.join(" AND ")
        )
    } else {
        // Oracle binds by name: each key's markers serve both the filter and the position.
        let matches: Vec<String> = journaled
            .iter()
            .map(|row| {
                let parts: Vec<String> = key
                    .iter()
                    .map(|&i| format!("{} = {}", column(i), bind(&row.values[i], i)))
                    .collect();
                format!("({})", parts.join(" AND "))
            })
            .collect();
        let whens: Vec<String> = matches
            .iter()
            .enumerate()
            .map(|(n, m)| format!("WHEN {m} THEN {n}"))
            .collect();
        columns.insert(
            0,
            Selected::position(format!("CASE {} END", whens.join(" "))),
        );
        format!(" WHERE {}", matches.join(" OR "))
    };
    Select {
        distinct: false,
        columns,
        rest: format!(
            " FROM {}{}{filter}",
            QuotedIdent::table(&step.table, flavor.quote()),
            flavor.alias(T)
        ),
        order: String::new(),
        limit: String::new(),
        params,
    }
}

/// The query that reads one journaled row, whole, by its key alone (`k1 = @P1 AND ...`): what
/// restore asks before it says a row is no longer in the table. `None` for a table without a
/// primary key.
#[must_use]
pub fn key_query(step: &RestoreStep, row: &JournaledRow, flavor: Flavor) -> Option<Select> {
    let key = step.key_positions();
    if key.is_empty() {
        return None;
    }
    let columns: Vec<&ColumnInfo> = key.iter().map(|&i| &step.columns[i]).collect();
    let values: Vec<Value> = key
        .iter()
        .map(|&i| row.values.get(i).cloned().unwrap_or(Value::Null))
        .collect();
    Some(super::carried::rows_where(
        &step.table_info(),
        &columns,
        &values,
        flavor,
    ))
}

/// The primary key of every row of `table`: what an event queue holds before and after
/// restore writes into a table whose triggers feed it.
#[must_use]
pub fn keys_query(table: &TableInfo, flavor: Flavor) -> Select {
    let key: Vec<&ColumnInfo> = table
        .primary_key
        .iter()
        .filter_map(|k| table.column(k))
        .collect();
    Select {
        distinct: false,
        columns: key
            .iter()
            .map(|c| Selected::column(format!("{T}.{}", QuotedIdent::column(c, flavor.quote())), c))
            .collect(),
        rest: format!(
            " FROM {}{}",
            QuotedIdent::table(&table.table, flavor.quote()),
            flavor.alias(T)
        ),
        order: String::new(),
        limit: String::new(),
        params: Vec::new(),
    }
}

/// `DELETE` statements taking out the rows of `table` with these primary keys (each in
/// `table.primary_key` order).
#[must_use]
pub fn delete_keys(
    table: &TableInfo,
    keys: &[Vec<Value>],
    flavor: Flavor,
    source: &crate::change::ChangeId,
) -> Vec<Statement> {
    let key: Vec<&ColumnInfo> = table
        .primary_key
        .iter()
        .filter_map(|k| table.column(k))
        .collect();
    let keys: Vec<Vec<&Value>> = keys.iter().map(|k| k.iter().collect()).collect();
    delete_by_key(&table.table, &key, &keys, flavor, source)
}
