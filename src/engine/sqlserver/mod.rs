//! The SQL Server engine: tiberius over tokio, TDS with rustls. The embedded engine speaks the
//! same protocol and is driven by the same code, over the wire it needs (`wire`).

pub mod connect;
pub mod row;
pub mod shapes;
pub mod wire;

use std::time::Duration;

use self::connect::TdsClient;
use self::wire::{query_error, Tds, Wire};
use crate::engine::{CheckSink, Engine, Error, Lock, Reader, RowSink};
use crate::sql::ident::{QuoteStyle, QuotedIdent};
use crate::sql::{Flavor, Param, Select, Sql, Statement};
use crate::state::observed::{TableInfo, Target};
use crate::state::Value;

const IDENTIFY: &str = include_str!("queries/identify.sql");
const LOCK: &str = include_str!("queries/lock.sql");
const LOCK_HOLDER: &str = include_str!("queries/lock_holder.sql");

/// A connected SQL Server (or embedded engine).
pub struct SqlServer {
    tds: Tds,
    /// How long `lock` and `begin` wait for another apply.
    lock_timeout: Duration,
    /// Keeps the embedded engine alive as long as the connection.
    #[cfg(feature = "embedded")]
    _embedded: Option<crate::engine::embedded::EmbeddedServer>,
}

fn text_of(v: Value) -> String {
    match v {
        Value::Text(t) => t,
        other => other.to_string(),
    }
}

impl SqlServer {
    /// Connects with an ADO.NET connection string.
    ///
    /// # Errors
    /// An unreadable string, or a server that cannot be reached.
    pub async fn connect(ado: &str) -> Result<SqlServer, Error> {
        let client = connect::connect(connect::config(ado)?).await?;
        Ok(SqlServer {
            tds: Tds::open(client).await?,
            lock_timeout: Duration::from_secs(30),
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
        let client: TdsClient = connect::connect(server.config()).await?;
        Ok(SqlServer {
            tds: Tds::open(client).await?,
            lock_timeout: Duration::from_secs(30),
            _embedded: Some(server),
        })
    }

    /// How values travel on this connection.
    #[must_use]
    pub fn wire(&self) -> Wire {
        self.tds.wire
    }

    /// Who holds the apply lock, where the server can say.
    async fn lock_holder(&mut self) -> Option<String> {
        let sql = Sql {
            text: LOCK_HOLDER.into(),
            params: vec![],
        };
        let row = self.tds.rows(&sql, "finding the lock holder").await.ok()?;
        let values: Vec<String> = row.into_iter().next()?.into_iter().map(text_of).collect();
        match values.as_slice() {
            [login, host, program] => Some(format!("held by {login} from {host} ({program})")),
            _ => None,
        }
    }

    /// Write-locks `table` for the rest of the transaction with a delete of no row. Not an
    /// update: the platform's BPT triggers fire on updates (and the embedded engine fails a
    /// trigger that reads `INSERTED` when no row changed).
    async fn lock_table(&mut self, table: &TableInfo) -> Result<(), Error> {
        if table.columns.is_empty() {
            return Ok(());
        }
        let sql = format!(
            "DELETE FROM {} WHERE 1 = 0",
            QuotedIdent::table(&table.table, QuoteStyle::Brackets)
        );
        self.tds
            .execute(&sql, &[], "locking the tables to change")
            .await
    }

    /// `SET LOCK_TIMEOUT`, a session setting, so sent as its own batch; the value is a number.
    #[allow(clippy::disallowed_methods)]
    async fn set_lock_timeout(&mut self, ms: i32) -> Result<(), Error> {
        let context = "setting the lock timeout";
        self.tds
            .client
            .simple_query(format!("SET LOCK_TIMEOUT {ms}"))
            .await
            .map_err(|e| query_error(context, e))?
            .into_results()
            .await
            .map_err(|e| query_error(context, e))?;
        Ok(())
    }

    /// Transaction control. A plain batch: the embedded engine only accepts
    /// `BEGIN`/`COMMIT`/`ROLLBACK TRANSACTION` at the top level of a batch, and these
    /// statements carry no values.
    #[allow(clippy::disallowed_methods)]
    async fn control(&mut self, statement: &'static str) -> Result<(), Error> {
        self.tds
            .client
            .simple_query(statement)
            .await
            .map_err(|e| query_error(statement, e))?
            .into_results()
            .await
            .map_err(|e| query_error(statement, e))?;
        Ok(())
    }
}

/// Whether a lock failure says another transaction holds the lock (rather than any error).
fn lock_conflict(e: &Error) -> bool {
    let text = match e {
        Error::Query { source, .. } => source.to_string(),
        other => other.to_string(),
    };
    text.contains("lock timeout") || text.contains("lock conflict")
}

impl Reader for SqlServer {
    async fn rows(&mut self, sql: &Sql, context: &str) -> Result<Vec<Vec<Value>>, Error> {
        self.tds.rows(sql, context).await
    }

    async fn stream(
        &mut self,
        query: &Select,
        context: &str,
        each: &mut RowSink<'_>,
    ) -> Result<u64, Error> {
        self.tds.stream(query, context, each).await
    }

    async fn check(
        &mut self,
        sql: &Sql,
        context: &str,
        each: &mut CheckSink<'_>,
    ) -> Result<u64, Error> {
        self.tds.check(sql, context, each).await
    }
}

impl Engine for SqlServer {
    async fn identify(&mut self) -> Result<Target, Error> {
        let sql = Sql {
            text: IDENTIFY.into(),
            params: vec![],
        };
        let values: Vec<Value> = self
            .tds
            .rows(&sql, "identifying the server")
            .await?
            .into_iter()
            .next()
            .unwrap_or_default();
        let text = |i: usize| match values.get(i) {
            Some(Value::Text(t)) => t.clone(),
            _ => String::new(),
        };
        Ok(Target {
            server: text(0),
            database: text(1),
            forbidden_front_ends: Vec::new(),
            front_end_list: None,
        })
    }

    async fn lock(&mut self, timeout: Duration) -> Result<Lock, Error> {
        self.lock_timeout = timeout;
        let ms = i64::try_from(timeout.as_millis()).unwrap_or(i64::from(i32::MAX));
        let params = [Param::new(Value::Int(ms.min(i64::from(i32::MAX))), false)];
        let sql = Sql {
            text: LOCK.into(),
            params: params.to_vec(),
        };
        match self.tds.rows(&sql, "taking the apply lock").await {
            Ok(rows) => match rows.into_iter().next().as_deref() {
                Some([Value::Int(granted)]) if *granted >= 0 => Ok(Lock::Application),
                _ => Err(Error::Locked {
                    holder: self.lock_holder().await,
                }),
            },
            // No application locks here (the embedded engine): lock the tables instead.
            Err(Error::Query { source, .. }) if source.to_string().contains("sp_getapplock") => {
                Ok(Lock::Tables)
            }
            Err(e) => Err(e),
        }
    }

    async fn begin(&mut self, lock: &Lock, tables: &[TableInfo]) -> Result<(), Error> {
        if *lock == Lock::Application {
            return self.control("BEGIN TRANSACTION").await;
        }
        // The embedded engine reads a snapshot taken at BEGIN: a transaction that waited for
        // another one's locks would not see what it committed. So the locks are tried without
        // waiting, and a blocked attempt starts again in a fresh transaction. Even an attempt
        // that gets the locks may have begun while another apply was still committing: so the
        // first success is rolled back and the locks taken again at once, in a transaction
        // begun after they were seen free.
        let deadline = std::time::Instant::now() + self.lock_timeout;
        let mut seen_free = false;
        self.set_lock_timeout(0).await?;
        loop {
            self.control("BEGIN TRANSACTION").await?;
            let mut blocked = None;
            for table in tables {
                if let Err(e) = self.lock_table(table).await {
                    if !lock_conflict(&e) {
                        let _ = self.control("ROLLBACK TRANSACTION").await;
                        return Err(e);
                    }
                    blocked = Some(table.table.clone());
                    break;
                }
            }
            let Some(table) = blocked else {
                if seen_free {
                    return Ok(());
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
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    async fn run(&mut self, statement: &Statement) -> Result<(), Error> {
        let context = format!("change {}", statement.source);
        self.tds
            .execute(&statement.sql, &statement.params, &context)
            .await
    }

    async fn commit(&mut self) -> Result<(), Error> {
        self.control("COMMIT TRANSACTION").await
    }

    async fn rollback(&mut self) -> Result<(), Error> {
        self.control("ROLLBACK TRANSACTION").await
    }

    fn flavor(&self) -> Flavor {
        Flavor::SqlServer
    }
}
