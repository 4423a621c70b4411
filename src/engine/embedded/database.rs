//! The embedded engine's database: iridium's, with what it gets wrong put right where a batch
//! arrives, before the engine runs it. Only what the engine itself cannot do correctly is
//! changed here; every batch that needs nothing is handed over as it is.
//!
//! What it puts right: the engine checks an `UPDATE` of a row other tables reference as if the
//! row were deleted, so it refuses to update a referenced row (and, under an `ON DELETE
//! CASCADE` key, deletes the rows that reference it). SQL Server updates such a row as long as
//! its key does not change. So an `UPDATE` batch of a table other tables reference, that writes
//! none of the referenced columns, runs with those foreign keys lifted: each is dropped, the
//! update runs, and each is added back as it was declared (its referential actions too, which
//! the engine's catalog views do not report: they are kept from the statements that created
//! them). All of it runs in the caller's transaction (or one of its own), so a failure or a
//! rollback leaves every key as it was.
//!
//! Inside a transaction, it loses what a trigger writes into a table the transaction has not
//! written yet: such tables are written with a delete of no row before the batch that fires
//! the trigger (see `keep_trigger_writes`).
//!
//! It also never moves an identity past values given explicitly, so an `INSERT` that leaves
//! the identity to it can collide with a restored row: such an insert runs with explicit
//! values after the largest (see `identity_past_explicit`).

use std::sync::Mutex;

mod syntax;

use syntax::{
    alter, declared, first_word, integer, object, same_table, updated_table, written_tables,
};

use iridium_core::ast::statements::ddl::{
    AlterTableAction, AlterTableStmt, ReferentialAction, TableConstraintSpec,
};
use iridium_core::ast::statements::dml::InsertSource;
use iridium_core::ast::{
    DdlStatement, DmlStatement, Expr, ObjectName, ProceduralStatement, Statement, TableFactor,
};
use iridium_core::executor::database::CursorFetchResult;
use iridium_core::executor::journal::Journal;
use iridium_core::types::Value;
use iridium_core::{
    Database, DbError, ExecutionTrace, ExplainPlan, QueryResult, SessionId, SessionManager,
    SessionOptions, SqlAnalyzer, StatementExecutor,
};

/// The referential actions a foreign key was declared with, keyed by its table and columns.
#[derive(Debug, Clone)]
struct DeclaredActions {
    table: ObjectName,
    columns: Vec<String>,
    on_delete: Option<ReferentialAction>,
    on_update: Option<ReferentialAction>,
}

/// A foreign key as the catalog holds it now, with its declared actions.
#[derive(Debug, Clone)]
struct LiveKey {
    name: String,
    table: ObjectName,
    columns: Vec<String>,
    referenced: ObjectName,
    referenced_columns: Vec<String>,
}

/// Every foreign key, one row per column, in column order.
const FOREIGN_KEYS: &str = "SELECT fk.name, OBJECT_SCHEMA_NAME(fk.parent_object_id), \
    OBJECT_NAME(fk.parent_object_id), pc.name, OBJECT_SCHEMA_NAME(fk.referenced_object_id), \
    OBJECT_NAME(fk.referenced_object_id), rc.name \
    FROM sys.foreign_keys AS fk \
    INNER JOIN sys.foreign_key_columns AS fkc ON fkc.constraint_object_id = fk.object_id \
    INNER JOIN sys.columns AS pc ON pc.object_id = fkc.parent_object_id AND pc.column_id = fkc.parent_column_id \
    INNER JOIN sys.columns AS rc ON rc.object_id = fkc.referenced_object_id AND rc.column_id = fkc.referenced_column_id \
    ORDER BY fk.name, fkc.constraint_column_id";

/// The tables a trigger's body writes, by the table the trigger is on.
#[derive(Debug, Clone)]
struct TriggerWrites {
    table: ObjectName,
    writes: Vec<ObjectName>,
}

/// iridium's in-memory database with the embedded engine's corrections.
#[derive(Clone)]
pub struct EmbeddedDatabase {
    inner: Database,
    declared: std::sync::Arc<Mutex<Vec<DeclaredActions>>>,
    triggers: std::sync::Arc<Mutex<Vec<TriggerWrites>>>,
}

impl EmbeddedDatabase {
    /// An empty database.
    #[must_use]
    pub fn new() -> EmbeddedDatabase {
        EmbeddedDatabase {
            inner: Database::new(),
            declared: std::sync::Arc::default(),
            triggers: std::sync::Arc::default(),
        }
    }

    /// Runs a batch, with referenced rows updatable (see the module's documentation).
    fn run_batch(
        &self,
        session: SessionId,
        sql: &str,
    ) -> Result<Vec<Option<QueryResult>>, DbError> {
        let first = first_word(sql);
        // The engine fires no trigger for a MERGE (postclone sends none).
        if ["insert", "update", "delete"]
            .iter()
            .any(|w| first.eq_ignore_ascii_case(w))
        {
            self.keep_trigger_writes(session, sql)?;
        }
        if first.eq_ignore_ascii_case("update") {
            if let Some(lifted) = self.referencing_keys(session, sql)? {
                return self.run_lifted(session, sql, &lifted);
            }
        }
        if first.eq_ignore_ascii_case("insert") {
            if let Some(done) = self.identity_past_explicit(session, sql)? {
                return Ok(done);
            }
        }
        let result = self.inner.execute_session_batch_sql_multi(session, sql);
        if result.is_ok()
            && (first.eq_ignore_ascii_case("create") || first.eq_ignore_ascii_case("alter"))
        {
            self.record_declarations(sql);
        }
        result
    }

    /// The engine never moves an identity past the values rows were given explicitly (`SET
    /// IDENTITY_INSERT ... ON`, as a restore or a loaded backup does): its next value may be one
    /// a row already holds, and the insert fails on the key. SQL Server moves it past them. So
    /// a single `INSERT ... VALUES` that leaves the identity to the engine, into a table whose
    /// rows hold its next value or more, runs with explicit values after the largest one.
    /// `None`: the batch needs nothing.
    fn identity_past_explicit(
        &self,
        session: SessionId,
        sql: &str,
    ) -> Result<Option<Vec<Option<QueryResult>>>, DbError> {
        let Ok(mut statements) = iridium_core::parse_batch(sql) else {
            return Ok(None);
        };
        let (Some(Statement::Dml(DmlStatement::Insert(mut insert))), None) =
            (statements.pop(), statements.pop())
        else {
            return Ok(None);
        };
        let (Some(columns), InsertSource::Values(rows), None) =
            (&insert.columns, &insert.source, &insert.output)
        else {
            return Ok(None);
        };
        let table =
            format!("{}.{}", insert.table.schema_or_dbo(), insert.table.name).replace('\'', "''");
        let identity = self.first_row(
            session,
            &format!(
                "SELECT c.name, IDENT_CURRENT(N'{table}'), IDENT_INCR(N'{table}') FROM sys.columns AS c \
                 WHERE c.object_id = OBJECT_ID(N'{table}') AND c.is_identity = 1"
            ),
        )?;
        let (Some(Value::NVarChar(column) | Value::VarChar(column)), Some(current), Some(step)) = (
            identity.first(),
            identity.get(1).and_then(integer),
            identity.get(2).and_then(integer),
        ) else {
            return Ok(None);
        };
        if step <= 0 || columns.iter().any(|c| c.eq_ignore_ascii_case(column)) {
            return Ok(None);
        }
        let quoted = |name: &str| format!("[{}]", name.replace(']', "]]"));
        let target = format!(
            "{}.{}",
            quoted(insert.table.schema_or_dbo()),
            quoted(&insert.table.name)
        );
        let largest = self
            .first_row(
                session,
                &format!("SELECT MAX({}) FROM {target}", quoted(column)),
            )?
            .first()
            .and_then(integer);
        let Some(largest) = largest.filter(|&l| l >= current.saturating_add(step)) else {
            return Ok(None);
        };
        let values: Vec<Vec<Expr>> = rows
            .iter()
            .zip(1..)
            .map(|(row, n): (&Vec<Expr>, i64)| {
                let mut row = row.clone();
                row.push(Expr::Integer(
                    largest.saturating_add(step.saturating_mul(n)),
                ));
                row
            })
            .collect();
        let mut with_identity = columns.clone();
        with_identity.push(column.clone());
        insert.columns = Some(with_identity);
        insert.source = InsertSource::Values(values);
        self.inner
            .execute_session_batch_sql(session, &format!("SET IDENTITY_INSERT {target} ON"))?;
        let result = self
            .inner
            .execute_session(session, Statement::Dml(DmlStatement::Insert(insert)));
        self.inner
            .execute_session_batch_sql(session, &format!("SET IDENTITY_INSERT {target} OFF"))?;
        Ok(Some(vec![result?]))
    }

    /// The first row a query returns (empty when none).
    fn first_row(&self, session: SessionId, sql: &str) -> Result<Vec<Value>, DbError> {
        Ok(self
            .inner
            .execute_session_batch_sql(session, sql)?
            .and_then(|r| r.rows.into_iter().next())
            .unwrap_or_default())
    }

    /// Keeps the referential actions of the foreign keys a batch declared.
    fn record_declarations(&self, sql: &str) {
        let Ok(statements) = iridium_core::parse_batch(sql) else {
            return;
        };
        let mut found = Vec::new();
        for statement in statements {
            match statement {
                Statement::Ddl(DdlStatement::CreateTable(create)) => {
                    for column in &create.columns {
                        if let Some(fk) = &column.foreign_key {
                            found.push(DeclaredActions {
                                table: create.name.clone(),
                                columns: vec![column.name.clone()],
                                on_delete: fk.on_delete,
                                on_update: fk.on_update,
                            });
                        }
                    }
                    for constraint in &create.table_constraints {
                        if let Some(d) = declared(&create.name, constraint) {
                            found.push(d);
                        }
                    }
                }
                Statement::Ddl(DdlStatement::AlterTable(AlterTableStmt {
                    table,
                    action: AlterTableAction::AddConstraint(constraint),
                })) => found.extend(declared(&table, &constraint)),
                Statement::Procedural(ProceduralStatement::CreateTrigger(trigger)) => {
                    let mut writes = Vec::new();
                    written_tables(&trigger.body, &mut writes);
                    if let Ok(mut all) = self.triggers.lock() {
                        all.push(TriggerWrites {
                            table: trigger.table,
                            writes,
                        });
                    }
                }
                _ => {}
            }
        }
        if let Ok(mut all) = self.declared.lock() {
            all.extend(found);
        }
    }

    /// Inside a transaction, the engine keeps what a trigger writes into a table only if the
    /// transaction has written that table before: otherwise the trigger's rows are never seen
    /// and never committed (SQL Server keeps them). So before a batch that writes a table with
    /// triggers, inside a transaction, each table those triggers write (and that has no trigger
    /// of its own) is written with a delete of no row.
    fn keep_trigger_writes(&self, session: SessionId, sql: &str) -> Result<(), DbError> {
        let triggers = self.triggers.lock().map(|t| t.clone()).unwrap_or_default();
        if triggers.is_empty() || !SqlAnalyzer::transaction_is_active(&self.inner, session)? {
            return Ok(());
        }
        let Ok(statements) = iridium_core::parse_batch(sql) else {
            return Ok(());
        };
        let mut targets = Vec::new();
        written_tables(&statements, &mut targets);
        let mut touched: Vec<&ObjectName> = Vec::new();
        for trigger in triggers
            .iter()
            .filter(|t| targets.iter().any(|w| same_table(w, &t.table)))
        {
            for table in &trigger.writes {
                let has_triggers = triggers.iter().any(|t| same_table(&t.table, table));
                if has_triggers || touched.iter().any(|t| same_table(t, table)) {
                    continue;
                }
                touched.push(table);
                let quoted = |name: &str| format!("[{}]", name.replace(']', "]]"));
                self.inner.execute_session_batch_sql(
                    session,
                    &format!(
                        "DELETE FROM {}.{} WHERE 1 = 0",
                        quoted(table.schema_or_dbo()),
                        quoted(&table.name)
                    ),
                )?;
            }
        }
        Ok(())
    }

    /// The foreign keys that reference the table a single-`UPDATE` batch updates, when the
    /// update writes none of their referenced columns; `None` when nothing is to be lifted.
    fn referencing_keys(
        &self,
        session: SessionId,
        sql: &str,
    ) -> Result<Option<Vec<LiveKey>>, DbError> {
        let Ok(mut statements) = iridium_core::parse_batch(sql) else {
            return Ok(None);
        };
        let (Some(Statement::Dml(DmlStatement::Update(update))), None) =
            (statements.pop(), statements.pop())
        else {
            return Ok(None);
        };
        let target = updated_table(&update);
        let keys: Vec<LiveKey> = self
            .live_keys(session)?
            .into_iter()
            .filter(|k| same_table(&k.referenced, &target) && !same_table(&k.table, &target))
            .collect();
        let writes_a_key = update.assignments.iter().any(|a| {
            let column = a.column.rsplit('.').next().unwrap_or(&a.column);
            keys.iter().any(|k| {
                k.referenced_columns
                    .iter()
                    .any(|c| c.eq_ignore_ascii_case(column))
            })
        });
        Ok((!keys.is_empty() && !writes_a_key).then_some(keys))
    }

    /// Every foreign key in the catalog, as the session sees it.
    fn live_keys(&self, session: SessionId) -> Result<Vec<LiveKey>, DbError> {
        let rows = self
            .inner
            .execute_session_batch_sql(session, FOREIGN_KEYS)?
            .map(|r| r.rows)
            .unwrap_or_default();
        let mut keys: Vec<LiveKey> = Vec::new();
        for row in rows {
            let text = |i: usize| match row.get(i) {
                Some(Value::NVarChar(s) | Value::VarChar(s) | Value::NChar(s) | Value::Char(s)) => {
                    s.clone()
                }
                _ => String::new(),
            };
            let name = text(0);
            match keys.last_mut().filter(|k| k.name == name) {
                Some(key) => {
                    key.columns.push(text(3));
                    key.referenced_columns.push(text(6));
                }
                None => keys.push(LiveKey {
                    name,
                    table: object(text(1), text(2)),
                    columns: vec![text(3)],
                    referenced: object(text(4), text(5)),
                    referenced_columns: vec![text(6)],
                }),
            }
        }
        Ok(keys)
    }

    /// Drops `keys`, runs the batch, and adds every key back as declared, in a transaction of
    /// its own when the session has none.
    fn run_lifted(
        &self,
        session: SessionId,
        sql: &str,
        keys: &[LiveKey],
    ) -> Result<Vec<Option<QueryResult>>, DbError> {
        let own = !SqlAnalyzer::transaction_is_active(&self.inner, session)?;
        if own {
            self.inner
                .execute_session_batch_sql(session, "BEGIN TRANSACTION")?;
        }
        let result = self.lift_and_run(session, sql, keys);
        if own {
            let end = if result.is_ok() {
                "COMMIT TRANSACTION"
            } else {
                "ROLLBACK TRANSACTION"
            };
            self.inner.execute_session_batch_sql(session, end)?;
        }
        result
    }

    fn lift_and_run(
        &self,
        session: SessionId,
        sql: &str,
        keys: &[LiveKey],
    ) -> Result<Vec<Option<QueryResult>>, DbError> {
        let declared = self.declared.lock().map(|d| d.clone()).unwrap_or_default();
        for key in keys {
            self.inner.execute_session(
                session,
                alter(
                    &key.table,
                    AlterTableAction::DropConstraint(key.name.clone()),
                ),
            )?;
        }
        let result = self.inner.execute_session_batch_sql_multi(session, sql);
        let mut restored = Ok(());
        for key in keys {
            let actions = declared.iter().rev().find(|d| {
                same_table(&d.table, &key.table)
                    && d.columns.len() == key.columns.len()
                    && d.columns
                        .iter()
                        .zip(&key.columns)
                        .all(|(a, b)| a.eq_ignore_ascii_case(b))
            });
            let add = TableConstraintSpec::ForeignKey {
                name: key.name.clone(),
                columns: key.columns.clone(),
                referenced_table: key.referenced.clone(),
                referenced_columns: key.referenced_columns.clone(),
                on_delete: actions.and_then(|a| a.on_delete),
                on_update: actions.and_then(|a| a.on_update),
            };
            if let Err(e) = self.inner.execute_session(
                session,
                alter(&key.table, AlterTableAction::AddConstraint(add)),
            ) {
                restored = restored.and(Err(e));
            }
        }
        let result = result?;
        restored?;
        Ok(result)
    }
}

impl Default for EmbeddedDatabase {
    fn default() -> Self {
        Self::new()
    }
}

impl SessionManager for EmbeddedDatabase {
    fn create_session(&self) -> SessionId {
        self.inner.create_session()
    }

    fn reset_session(&self, session_id: SessionId) -> Result<(), DbError> {
        SessionManager::reset_session(&self.inner, session_id)
    }

    fn close_session(&self, session_id: SessionId) -> Result<(), DbError> {
        SessionManager::close_session(&self.inner, session_id)
    }

    fn set_session_journal(
        &self,
        session_id: SessionId,
        journal: Box<dyn Journal>,
    ) -> Result<(), DbError> {
        self.inner.set_session_journal(session_id, journal)
    }
}

impl StatementExecutor for EmbeddedDatabase {
    fn execute_session(
        &self,
        session_id: SessionId,
        stmt: Statement,
    ) -> Result<Option<QueryResult>, DbError> {
        StatementExecutor::execute_session(&self.inner, session_id, stmt)
    }

    fn execute_session_batch(
        &self,
        session_id: SessionId,
        stmts: Vec<Statement>,
    ) -> Result<Option<QueryResult>, DbError> {
        StatementExecutor::execute_session_batch(&self.inner, session_id, stmts)
    }

    fn execute_session_batch_sql(
        &self,
        session_id: SessionId,
        sql: &str,
    ) -> Result<Option<QueryResult>, DbError> {
        Ok(self
            .run_batch(session_id, sql)?
            .into_iter()
            .flatten()
            .last())
    }

    fn execute_session_batch_sql_multi(
        &self,
        session_id: SessionId,
        sql: &str,
    ) -> Result<Vec<Option<QueryResult>>, DbError> {
        self.run_batch(session_id, sql)
    }

    fn set_session_metadata(
        &self,
        session_id: SessionId,
        user: Option<String>,
        app_name: Option<String>,
        host_name: Option<String>,
        database: Option<String>,
    ) -> Result<(), DbError> {
        self.inner
            .set_session_metadata(session_id, user, app_name, host_name, database)
    }

    fn set_session_database(&self, session_id: SessionId, database: String) -> Result<(), DbError> {
        self.inner.set_session_database(session_id, database)
    }

    fn cursor_rpc_open(
        &self,
        session_id: SessionId,
        sql: &str,
        scroll_opt: i32,
    ) -> Result<(i32, QueryResult), DbError> {
        self.inner.cursor_rpc_open(session_id, sql, scroll_opt)
    }

    fn cursor_rpc_fetch(
        &self,
        session_id: SessionId,
        handle: i32,
        fetch_type: i32,
        row_num: i32,
        n_rows: i32,
    ) -> Result<CursorFetchResult, DbError> {
        self.inner
            .cursor_rpc_fetch(session_id, handle, fetch_type, row_num, n_rows)
    }

    fn cursor_rpc_close(&self, session_id: SessionId, handle: i32) -> Result<(), DbError> {
        self.inner.cursor_rpc_close(session_id, handle)
    }

    fn cursor_rpc_deallocate(&self, session_id: SessionId, handle: i32) -> Result<(), DbError> {
        self.inner.cursor_rpc_deallocate(session_id, handle)
    }

    fn set_bulk_load_active(
        &self,
        session_id: SessionId,
        active: bool,
        table: ObjectName,
        columns: Vec<iridium_core::ast::statements::ddl::ColumnSpec>,
        received_metadata: bool,
    ) -> Result<(), DbError> {
        self.inner
            .set_bulk_load_active(session_id, active, table, columns, received_metadata)
    }

    fn get_bulk_load_state(
        &self,
        session_id: SessionId,
    ) -> (
        bool,
        Option<ObjectName>,
        Option<Vec<iridium_core::ast::statements::ddl::ColumnSpec>>,
        bool,
    ) {
        self.inner.get_bulk_load_state(session_id)
    }
}

impl SqlAnalyzer for EmbeddedDatabase {
    fn explain_sql(&self, sql: &str) -> Result<ExplainPlan, DbError> {
        self.inner.explain_sql(sql)
    }

    fn trace_execute_session_sql(
        &self,
        session_id: SessionId,
        sql: &str,
    ) -> Result<ExecutionTrace, DbError> {
        self.inner.trace_execute_session_sql(session_id, sql)
    }

    fn session_isolation_level(
        &self,
        session_id: SessionId,
    ) -> Result<iridium_core::ast::IsolationLevel, DbError> {
        self.inner.session_isolation_level(session_id)
    }

    fn transaction_is_active(&self, session_id: SessionId) -> Result<bool, DbError> {
        SqlAnalyzer::transaction_is_active(&self.inner, session_id)
    }

    fn session_options(&self, session_id: SessionId) -> Result<SessionOptions, DbError> {
        SqlAnalyzer::session_options(&self.inner, session_id)
    }
}

#[cfg(test)]
mod tests;
