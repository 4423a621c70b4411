//! The SQL Server engine: tiberius over tokio, TDS with rustls.

pub mod connect;
mod inspect;
pub mod row;
pub mod sql;

use tiberius::ToSql;

use self::connect::TdsClient;
use self::row::SqlParam;
use crate::change::Change;
use crate::diff::Dialect;
use crate::engine::{Engine, Error, ExecuteError, Statement};
use crate::state::desired::Desired;
use crate::state::observed::{Catalog, Observed, Target};

const IDENTIFY: &str = include_str!("queries/identify.sql");

/// A connected SQL Server (or embedded engine).
pub struct SqlServer {
    client: TdsClient,
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
        let client = connect::connect(connect::config(ado)?).await?;
        Ok(SqlServer {
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
        let client = connect::connect(server.config()).await?;
        Ok(SqlServer {
            client,
            _embedded: Some(server),
        })
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
        })
    }

    async fn resolve(&mut self, desired: &Desired) -> Result<Desired, Error> {
        inspect::resolve(&mut self.client, desired).await
    }

    async fn inspect(&mut self, desired: &Desired) -> Result<Observed, Error> {
        let target = self.identify().await?;
        inspect::inspect(&mut self.client, target, desired).await
    }

    fn statements(&self, change: &Change, catalog: &Catalog) -> Result<Vec<Statement>, Error> {
        sql::statements(change, catalog).map_err(|message| Error::Render {
            change: change.id.clone(),
            message,
        })
    }

    async fn execute(&mut self, statements: &[Statement]) -> Result<(), ExecuteError> {
        let failed = |index: usize, e: tiberius::error::Error, rolled_back: bool| ExecuteError {
            index,
            source: Box::new(e),
            rolled_back,
        };
        self.control("BEGIN TRANSACTION")
            .await
            .map_err(|e| failed(0, e, true))?;
        for (index, statement) in statements.iter().enumerate() {
            let params: Vec<SqlParam<'_>> = statement
                .params
                .iter()
                .map(|p| SqlParam(&p.value))
                .collect();
            let refs: Vec<&dyn ToSql> = params.iter().map(|p| p as &dyn ToSql).collect();
            if let Err(e) = self.client.execute(statement.sql.as_str(), &refs).await {
                let rolled_back = self.control("ROLLBACK TRANSACTION").await.is_ok();
                return Err(failed(index, e, rolled_back));
            }
        }
        if let Err(e) = self.control("COMMIT TRANSACTION").await {
            let rolled_back = self.control("ROLLBACK TRANSACTION").await.is_ok();
            return Err(failed(statements.len(), e, rolled_back));
        }
        Ok(())
    }
}

fn query_error(context: &str, e: tiberius::error::Error) -> Error {
    Error::Query {
        context: context.to_string(),
        source: Box::new(e),
    }
}
