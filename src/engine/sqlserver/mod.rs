//! The SQL Server engine: tiberius over tokio, TDS with rustls.

pub mod connect;
pub mod row;

use std::time::Duration;

use futures_util::TryStreamExt;
use tiberius::ToSql;

use self::connect::TdsClient;
use self::row::SqlParam;
use crate::change::Change;
use crate::diff::Dialect;
use crate::engine::ident::{QuoteStyle, QuotedIdent};
use crate::engine::inspect::{self, CatalogQueries, PrincipalQueries, Reader};
use crate::engine::sql::{self, Flavor, Sql};
use crate::engine::{journaled, rendered, Engine, Error, Lock, Statement};
use crate::journal::RestoreStep;
use crate::state::desired::Desired;
use crate::state::observed::{Catalog, Observed, Target};
use crate::state::observed::{TableInfo, TableRef};
use crate::state::Value;

/// SQL Server's catalog: `INFORMATION_SCHEMA` and `sys` views, every schema of the database.
const CATALOG: CatalogQueries = CatalogQueries {
    flavor: Flavor::SqlServer,
    owner: None,
    tables: include_str!("queries/tables.sql"),
    columns: include_str!("queries/columns.sql"),
    identity_columns: include_str!("queries/identity_columns.sql"),
    primary_keys: include_str!("queries/primary_keys.sql"),
    foreign_keys: include_str!("queries/foreign_keys.sql"),
    principals: Some(PrincipalQueries {
        principals: include_str!("queries/principals.sql"),
        owned_schemas: include_str!("queries/owned_schemas.sql"),
        owned_objects: include_str!("queries/owned_objects.sql"),
        owned_roles: include_str!("queries/owned_roles.sql"),
    }),
    grants: None,
};

const IDENTIFY: &str = include_str!("queries/identify.sql");
const FRONT_ENDS: &str = include_str!("queries/front_ends.sql");
const LOCK: &str = include_str!("queries/lock.sql");
const LOCK_HOLDER: &str = include_str!("queries/lock_holder.sql");

/// A connected SQL Server (or embedded engine).
pub struct SqlServer {
    client: TdsClient,
    /// How binary values are sent (the embedded engine drops binary parameters).
    binary: sql::BinaryValues,
    /// How long `lock` and `begin` wait for another apply.
    lock_timeout: Duration,
    /// Keeps the embedded engine alive as long as the connection.
    #[cfg(feature = "embedded")]
    _embedded: Option<crate::engine::embedded::EmbeddedServer>,
}

impl SqlServer {
    /// Connects with an ADO.NET connection string.
    ///
    /// # Errors
    /// An unreadable string, or a server that cannot be reached.
    pub async fn connect(ado: &str) -> Result<SqlServer, Error> {
        let mut client = connect::connect(connect::config(ado)?).await?;
        Ok(SqlServer {
            binary: binary_values(&mut client).await?,
            lock_timeout: Duration::from_secs(30),
            client,
            #[cfg(feature = "embedded")]
            _embedded: None,
        })
    }

    /// Starts the embedded engine, loads `script` into it and connects.
    ///
    /// # Errors
    /// The script cannot be read or loaded.
    #[cfg(feature = "embedded")]
    pub async fn embedded(script: &std::path::Path) -> Result<SqlServer, Error> {
        let server = crate::engine::embedded::EmbeddedServer::start(script).await?;
        let mut client = connect::connect(server.config()).await?;
        Ok(SqlServer {
            binary: binary_values(&mut client).await?,
            lock_timeout: Duration::from_secs(30),
            client,
            _embedded: Some(server),
        })
    }

    /// The names in the platform's front-end list, if it has one (table checked in the catalog).
    async fn front_ends(&mut self) -> Result<Vec<String>, Error> {
        let context = "reading the front-end list";
        let tables = self
            .client
            .query(FRONT_ENDS, &[])
            .await
            .map_err(|e| query_error(context, e))?
            .into_first_result()
            .await
            .map_err(|e| query_error(context, e))?;
        let Some(table) = tables.into_iter().next().map(|r| {
            let cells: Vec<String> = r
                .into_iter()
                .map(|c| match row::value(c) {
                    crate::state::Value::Text(t) => t,
                    other => other.to_string(),
                })
                .collect();
            TableRef {
                schema: cells.first().cloned().unwrap_or_default(),
                name: cells.get(1).cloned().unwrap_or_default(),
            }
        }) else {
            return Ok(Vec::new());
        };
        let sql = format!(
            "SELECT [NAME] FROM {}",
            QuotedIdent::table(&table, QuoteStyle::Brackets)
        );
        let rows = match self.client.query(sql, &[]).await {
            Ok(stream) => stream.into_first_result().await,
            Err(e) => Err(e),
        };
        // A front-end list without a NAME column is not the platform's: nothing to compare.
        Ok(rows
            .map(|rows| {
                rows.into_iter()
                    .filter_map(|r| match r.into_iter().next().map(row::value) {
                        Some(crate::state::Value::Text(t)) => Some(t),
                        _ => None,
                    })
                    .collect()
            })
            .unwrap_or_default())
    }

    /// Who holds the apply lock, where the server can say.
    async fn lock_holder(&mut self) -> Option<String> {
        let row = self
            .client
            .query(LOCK_HOLDER, &[])
            .await
            .ok()?
            .into_row()
            .await
            .ok()??;
        let values: Vec<String> = row
            .into_iter()
            .map(|c| match row::value(c) {
                crate::state::Value::Text(t) => t,
                other => other.to_string(),
            })
            .collect();
        match values.as_slice() {
            [login, host, program] => Some(format!("held by {login} from {host} ({program})")),
            _ => None,
        }
    }

    /// Write-locks `table` for the rest of the transaction with an update of no row.
    async fn lock_table(&mut self, table: &TableInfo) -> Result<(), tiberius::error::Error> {
        let Some(column) = table.columns.first() else {
            return Ok(());
        };
        let column = QuotedIdent::column(column, QuoteStyle::Brackets);
        let sql = format!(
            "UPDATE {} SET {column} = {column} WHERE 1 = 0",
            QuotedIdent::table(&table.table, QuoteStyle::Brackets)
        );
        self.client.execute(sql, &[]).await.map(drop)
    }

    /// `SET LOCK_TIMEOUT`, a session setting, so sent as its own batch; the value is a number.
    #[allow(clippy::disallowed_methods)]
    async fn set_lock_timeout(&mut self, ms: i32) -> Result<(), tiberius::error::Error> {
        self.client
            .simple_query(format!("SET LOCK_TIMEOUT {ms}"))
            .await?
            .into_results()
            .await?;
        Ok(())
    }

    /// Transaction control. The one place that sends a plain batch: the embedded engine only
    /// accepts `BEGIN`/`COMMIT`/`ROLLBACK TRANSACTION` at the top level of a batch, and these
    /// statements carry no values.
    #[allow(clippy::disallowed_methods)]
    async fn control(&mut self, statement: &'static str) -> Result<(), tiberius::error::Error> {
        self.client
            .simple_query(statement)
            .await?
            .into_results()
            .await?;
        Ok(())
    }
}

impl Engine for SqlServer {
    fn dialect(&self) -> Dialect {
        Dialect {
            truncate_in_transaction: true,
            empty_string_is_null: false,
        }
    }

    async fn identify(&mut self) -> Result<Target, Error> {
        let row = self
            .client
            .query(IDENTIFY, &[])
            .await
            .map_err(|e| query_error("identifying the server", e))?
            .into_row()
            .await
            .map_err(|e| query_error("identifying the server", e))?;
        let values: Vec<_> = row
            .map(|r| r.into_iter().map(row::value).collect())
            .unwrap_or_default();
        let text = |i: usize| match values.get(i) {
            Some(crate::state::Value::Text(t)) => t.clone(),
            _ => String::new(),
        };
        Ok(Target {
            server: text(0),
            database: text(1),
            front_ends: self.front_ends().await?,
        })
    }

    async fn resolve(&mut self, desired: &Desired) -> Result<Desired, Error> {
        inspect::resolve(&mut self.client, &CATALOG, desired).await
    }

    async fn inspect(&mut self, desired: &Desired) -> Result<Observed, Error> {
        let target = self.identify().await?;
        inspect::inspect(&mut self.client, &CATALOG, target, desired).await
    }

    fn statements(&self, change: &Change, catalog: &Catalog) -> Result<Vec<Statement>, Error> {
        rendered(
            &change.id,
            sql::statements(change, catalog, Flavor::SqlServer),
        )
    }

    async fn lock(&mut self, timeout: Duration) -> Result<Lock, Error> {
        self.lock_timeout = timeout;
        let ms = i32::try_from(timeout.as_millis()).unwrap_or(i32::MAX);
        let result = match self.client.query(LOCK, &[&ms]).await {
            Ok(stream) => stream.into_row().await,
            Err(e) => Err(e),
        };
        match result {
            Ok(row) => {
                let code = row.map(|r| r.into_iter().map(row::value).collect::<Vec<_>>());
                match code.as_deref() {
                    Some([crate::state::Value::Int(granted)]) if *granted >= 0 => {
                        Ok(Lock::Application)
                    }
                    _ => Err(Error::Locked {
                        holder: self.lock_holder().await,
                    }),
                }
            }
            // No application locks here (the embedded engine): lock the tables instead.
            Err(e) if e.to_string().contains("sp_getapplock") => Ok(Lock::Tables),
            Err(e) => Err(query_error("taking the apply lock", e)),
        }
    }

    async fn begin(&mut self, lock: &Lock, tables: &[TableInfo]) -> Result<bool, Error> {
        let begin = |e| query_error("starting the transaction", e);
        if *lock == Lock::Application {
            self.control("BEGIN TRANSACTION").await.map_err(begin)?;
            return Ok(false);
        }
        // The embedded engine reads a snapshot taken at BEGIN: a transaction that waited for
        // another one's locks would not see what it committed. So the locks are tried without
        // waiting, and a blocked attempt starts again in a fresh transaction. Even an attempt
        // that gets the locks may have begun while another apply was still committing: so the
        // first success is rolled back and the locks taken again at once, in a transaction
        // begun after they were seen free.
        let deadline = std::time::Instant::now() + self.lock_timeout;
        let mut waited = false;
        let mut seen_free = false;
        self.set_lock_timeout(0)
            .await
            .map_err(|e| query_error("setting the lock timeout", e))?;
        loop {
            self.control("BEGIN TRANSACTION").await.map_err(begin)?;
            let mut blocked = None;
            for table in tables {
                if let Err(e) = self.lock_table(table).await {
                    let text = e.to_string();
                    if !text.contains("lock timeout") && !text.contains("lock conflict") {
                        let _ = self.control("ROLLBACK TRANSACTION").await;
                        return Err(query_error("locking the tables to change", e));
                    }
                    blocked = Some(table.table.clone());
                    break;
                }
            }
            let Some(table) = blocked else {
                if seen_free {
                    return Ok(waited);
                }
                let _ = self.control("ROLLBACK TRANSACTION").await;
                seen_free = true;
                continue;
            };
            let _ = self.control("ROLLBACK TRANSACTION").await;
            seen_free = false;
            if std::time::Instant::now() >= deadline {
                return Err(Error::Locked {
                    holder: Some(format!("a transaction holds a write lock on {table}")),
                });
            }
            waited = true;
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    async fn capture(
        &mut self,
        change: &Change,
        catalog: &Catalog,
        sink: &mut dyn FnMut(Vec<crate::state::Value>) -> std::io::Result<()>,
    ) -> Result<u64, Error> {
        let sql = rendered(
            &change.id,
            sql::capture_query(change, catalog, Flavor::SqlServer),
        )?;
        let Some(sql) = sql else {
            return Ok(0);
        };
        let context = format!("journaling the rows of change {}", change.id);
        let mut each = journaled(sink, &context);
        let count = self
            .client
            .stream(&sql, &context, &mut each, &|| false)
            .await;
        count
    }

    async fn run(&mut self, statement: &Statement) -> Result<(), Error> {
        let params: Vec<SqlParam<'_>> = statement
            .params
            .iter()
            .map(|p| SqlParam(&p.value))
            .collect();
        let refs: Vec<&dyn ToSql> = params.iter().map(|p| p as &dyn ToSql).collect();
        self.client
            .execute(statement.sql.as_str(), &refs)
            .await
            .map(drop)
            .map_err(|e| query_error(&format!("change {}", statement.source), e))
    }

    async fn commit(&mut self) -> Result<(), Error> {
        self.control("COMMIT TRANSACTION")
            .await
            .map_err(|e| query_error("committing", e))
    }

    async fn rollback(&mut self) -> Result<(), Error> {
        self.control("ROLLBACK TRANSACTION")
            .await
            .map_err(|e| query_error("rolling back", e))
    }

    fn restore_statements(&self, step: &RestoreStep) -> Result<Vec<Statement>, Error> {
        rendered(
            &step.change,
            sql::restore_statements(step, self.binary, Flavor::SqlServer),
        )
    }
}

impl Reader for TdsClient {
    async fn rows(&mut self, sql: &Sql, context: &str) -> Result<Vec<Vec<Value>>, Error> {
        let params: Vec<SqlParam<'_>> = sql.params.iter().map(|p| SqlParam(&p.value)).collect();
        let refs: Vec<&dyn ToSql> = params.iter().map(|p| p as &dyn ToSql).collect();
        let stream = self
            .query(&sql.text, &refs)
            .await
            .map_err(|e| query_error(context, e))?;
        let rows = stream
            .into_first_result()
            .await
            .map_err(|e| query_error(context, e))?;
        Ok(rows
            .into_iter()
            .map(|r| r.into_iter().map(row::value).collect())
            .collect())
    }

    async fn stream(
        &mut self,
        sql: &Sql,
        context: &str,
        each: &mut dyn FnMut(Option<Vec<String>>, Vec<Value>) -> Result<(), Error>,
        names_wanted: &dyn Fn() -> bool,
    ) -> Result<u64, Error> {
        let params: Vec<SqlParam<'_>> = sql.params.iter().map(|p| SqlParam(&p.value)).collect();
        let refs: Vec<&dyn ToSql> = params.iter().map(|p| p as &dyn ToSql).collect();
        let mut stream = self
            .query(&sql.text, &refs)
            .await
            .map_err(|e| query_error(context, e))?
            .into_row_stream();
        let mut count = 0;
        while let Some(r) = stream
            .try_next()
            .await
            .map_err(|e| query_error(context, e))?
        {
            count += 1;
            let names =
                names_wanted().then(|| r.columns().iter().map(|c| c.name().to_string()).collect());
            each(names, r.into_iter().map(row::value).collect())?;
        }
        Ok(count)
    }
}

/// The embedded engine names itself in `@@VERSION`; it stores binary parameters as NULL.
async fn binary_values(client: &mut TdsClient) -> Result<sql::BinaryValues, Error> {
    let version = client
        .query("SELECT @@VERSION", &[])
        .await
        .map_err(|e| query_error("reading the server version", e))?
        .into_row()
        .await
        .map_err(|e| query_error("reading the server version", e))?
        .and_then(|r| r.get::<&str, _>(0).map(str::to_string))
        .unwrap_or_default();
    Ok(if version.contains("iridium") {
        sql::BinaryValues::HexLiterals
    } else {
        sql::BinaryValues::Parameters
    })
}

fn query_error(context: &str, e: tiberius::error::Error) -> Error {
    Error::Query {
        context: context.to_string(),
        source: Box::new(e),
    }
}
