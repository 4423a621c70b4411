//! The step that inserts the captured rows a table lacks (a carry's `missing: insert`): which
//! rows is read inside the transaction; each inserted row is read back whole and journaled, so
//! that restore can take exactly it out again.

use super::{Done, StepFailure};
use crate::change::Change;
use crate::engine::Engine;
use crate::journal::{Journal, RowImage};
use crate::plan::Plan;
use crate::sql::{self, Masked};
use crate::state::desired::RowsPresent;
use crate::state::observed::{ColumnInfo, TableInfo};

/// Inserts the captured rows of `present` whose keys `table` does not hold now. With `check`,
/// they must be the rows the plan showed (the same keys): otherwise nothing is inserted.
pub(super) async fn run<E: Engine>(
    engine: &mut E,
    journal: &mut Journal,
    plan: &Plan,
    step: &Change,
    (table, present): (&TableInfo, &RowsPresent),
    (check, progress): (bool, &mut dyn FnMut(super::Progress<'_>)),
) -> Result<Done, StepFailure> {
    let flavor = engine.flavor();
    let failed = |cause: Masked| StepFailure::Statement {
        statement: String::new(),
        cause,
    };
    journal.change(step)?;
    let seen =
        crate::inspect::present_keys(engine, flavor, table, present, &plan.catalog, &step.id)
            .await
            .map_err(|e| failed(Masked::chain(&e)))?;
    if check
        && crate::inspect::missing_drift(present, &seen, table, step.secret).fingerprint
            != step.rows.fingerprint
    {
        return Err(StepFailure::ChangedWhileWaiting);
    }
    let mut names = Vec::new();
    let mut rows = Vec::new();
    for (_, row, values) in present.missing(&seen) {
        // Preflight refuses sealed rows no identity opened; a row reaching here without its
        // values would be inserted empty.
        let Some(values) = values else {
            return Err(failed(Masked::from_message(
                "a captured row to insert is sealed and no identity opened it",
            )));
        };
        names.push(row.name.clone());
        rows.push(values);
    }
    let statements = sql::insert_present(table, present, &rows, flavor, &step.id)
        .map_err(|e| failed(Masked::from_message(&e.to_string())))?;
    let mut done = Done {
        statements: super::run_statements(engine, step, &statements, progress).await?,
        ..Done::default()
    };
    let key: Vec<&ColumnInfo> = present
        .parts
        .iter()
        .filter_map(|p| table.column(&p.column))
        .collect();
    if key.len() != present.parts.len() {
        return Err(failed(Masked::from_message(&format!(
            "a key part of {} is not a column of {}",
            present.carried, table.table
        ))));
    }
    for (values, name) in rows.iter().zip(names) {
        let select = sql::rows_where(table, &key, &values[..key.len()], flavor);
        let context = format!("reading back the rows inserted by change {}", step.id);
        let mut read = Vec::new();
        engine
            .stream(&select, &context, &mut |row| {
                read.push(row);
                Ok(())
            })
            .await
            .map_err(|e| failed(Masked::chain(&e)))?;
        // Exactly the row inserted: restore finds it by the table's key read here.
        let [row] = <[_; 1]>::try_from(read).map_err(|read: Vec<_>| {
            failed(Masked::from_message(&format!(
                "an inserted row of {} read back as {} rows by its stable key",
                table.table,
                read.len()
            )))
        })?;
        journal.row(
            &step.id,
            RowImage {
                values: row,
                after: Vec::new(),
                label: name,
            },
        )?;
        done.journaled += 1;
    }
    journal.end_change()?;
    journal.sync()?;
    Ok(done)
}
