//! The step that inserts the captured rows a table lacks (a carry's `missing: insert`): which
//! rows is read inside the transaction; each inserted row is read back whole and journaled, so
//! that restore can take exactly it out again.

use std::borrow::Cow;

use super::StepFailure;
use crate::change::Change;
use crate::engine::Engine;
use crate::executor::Step;
use crate::journal::{Journal, RowImage};
use crate::plan::Plan;
use crate::sql::{self, Masked, Statement};
use crate::state::desired::RowsPresent;
use crate::state::observed::{ColumnInfo, TableInfo};
use crate::state::Value;

/// The insert of the captured rows of `present` whose keys `table` does not hold now, as one
/// page: its statements, then (once they ran) the rows read back and journaled. With `check`,
/// they must be the rows the plan showed (the same keys): otherwise nothing is inserted.
pub(super) struct Insert<'a> {
    pub(super) journal: &'a mut Journal,
    pub(super) plan: &'a Plan,
    pub(super) step: &'a Change,
    pub(super) table: &'a TableInfo,
    pub(super) present: &'a RowsPresent,
    pub(super) check: bool,
    /// Rows read back and journaled.
    pub(super) journaled: u64,
    stage: Stage,
}

/// Where the insert is.
enum Stage {
    /// Nothing done yet.
    Begin,
    /// The rows' statements were given to run: these are read back next.
    Inserted {
        rows: Vec<Vec<Value>>,
        names: Vec<Option<String>>,
    },
    /// The rows were read back and journaled.
    Ended,
}

fn failed(cause: Masked) -> StepFailure {
    StepFailure::Statement {
        statement: String::new(),
        cause,
    }
}

impl<'a> Insert<'a> {
    /// The insert `step` makes into `table` of the rows `present` holds.
    pub(super) fn new(
        journal: &'a mut Journal,
        plan: &'a Plan,
        step: &'a Change,
        (table, present): (&'a TableInfo, &'a RowsPresent),
        check: bool,
    ) -> Insert<'a> {
        Insert {
            journal,
            plan,
            step,
            table,
            present,
            check,
            journaled: 0,
            stage: Stage::Begin,
        }
    }

    /// The statements that insert the rows missing now; the rows are kept to be read back.
    async fn statements<E: Engine>(
        &mut self,
        engine: &mut E,
    ) -> Result<Vec<Statement>, StepFailure> {
        let flavor = engine.flavor();
        let (step, present, table) = (self.step, self.present, self.table);
        self.journal.change(step)?;
        let seen = crate::inspect::present_keys(
            engine,
            flavor,
            table,
            present,
            &self.plan.catalog,
            &step.id,
        )
        .await
        .map_err(|e| failed(Masked::chain(&e)))?;
        if self.check
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
        self.stage = Stage::Inserted { rows, names };
        Ok(statements)
    }

    /// Reads back each inserted row by its stable key and journals it whole.
    async fn read_back<E: Engine>(
        &mut self,
        engine: &mut E,
        rows: &[Vec<Value>],
        names: Vec<Option<String>>,
    ) -> Result<(), StepFailure> {
        let (step, present, table) = (self.step, self.present, self.table);
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
            let select = sql::rows_where(table, &key, &values[..key.len()], engine.flavor());
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
            self.journal.row(
                &step.id,
                RowImage {
                    values: row,
                    after: Vec::new(),
                    label: name,
                },
            )?;
            self.journaled += 1;
        }
        self.journal.end_change()?;
        self.journal.sync()?;
        Ok(())
    }
}

impl<E: Engine> Step<E> for Insert<'_> {
    type Error = StepFailure;

    async fn next_page(
        &mut self,
        engine: &mut E,
    ) -> Result<Option<Cow<'_, [Statement]>>, StepFailure> {
        match std::mem::replace(&mut self.stage, Stage::Ended) {
            Stage::Begin => Ok(Some(Cow::Owned(self.statements(engine).await?))),
            Stage::Inserted { rows, names } => {
                self.read_back(engine, &rows, names).await?;
                Ok(None)
            }
            Stage::Ended => Ok(None),
        }
    }
}
