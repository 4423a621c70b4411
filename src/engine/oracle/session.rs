//! A live Oracle session. The `oracle` crate blocks: every call runs on tokio's blocking
//! threads, and rows come back through a bounded channel, so a large table is streamed, never
//! held.

use std::sync::Arc;
use std::time::Duration;

use oracle::sql_type::{OracleType, ToSql};
use tokio::sync::mpsc;

use super::{explain, OracleUrl, PASSWORD_VARIABLE};
use crate::engine::{CheckSink, Engine, Error, Lock, Reader, RowSink};
use crate::sql::ident::{QuoteStyle, QuotedIdent};
use crate::sql::{Flavor, Param, Select, Sql, Statement};
use crate::state::observed::{TableInfo, Target};
use crate::state::Value;

const IDENTIFY: &str = include_str!("queries/identify.sql");
const LOCK: &str = include_str!("queries/lock.sql");

/// The names [`LOCK`]'s placeholders are bound by: the schema, the timeout, the result.
const LOCK_BINDS: [&str; 3] = ["lock_schema", "lock_timeout", "lock_result"];

/// Rows in flight between the blocking reader and the caller.
const CHANNEL_ROWS: usize = 256;

/// A connected Oracle database, working on one platform schema.
pub struct Oracle {
    conn: Arc<oracle::Connection>,
    url: OracleUrl,
    lock_timeout: Duration,
}

/// A value as the `oracle` crate binds it.
type Bound = (String, Box<dyn ToSql + Send + Sync>);

/// The most bytes a text is bound with as `VARCHAR2`/`NVARCHAR2` in SQL (without the
/// database's `MAX_STRING_SIZE = EXTENDED`): a longer one fails with ORA-01461.
const VARCHAR2_BYTES: usize = 4_000;

/// The most bytes binary data is bound with as `RAW` in SQL; the client refuses more than
/// 32,767 in any case.
const RAW_BYTES: usize = 2_000;

/// How a parameter is bound: as its value's own type, or as a large object.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum BindAs {
    /// `NUMBER`, `NVARCHAR2`, `RAW`... as the value is.
    Value,
    /// A temporary `CLOB`.
    Clob,
    /// A temporary `NCLOB`.
    NClob,
    /// A temporary `BLOB`.
    Blob,
}

impl BindAs {
    /// A value written into or compared with a LOB column is bound as that LOB (NULL
    /// included: typed so that `DBMS_LOB.COMPARE` and `INSERT` take it); a text or binary
    /// value too long for `VARCHAR2`/`RAW` is bound as a LOB whatever its column.
    fn of(param: &Param) -> BindAs {
        use crate::sql::ColumnType;
        match (&param.value, param.column_type) {
            (Value::Text(_) | Value::Null, Some(ColumnType::Clob)) => BindAs::Clob,
            (Value::Text(_) | Value::Null, Some(ColumnType::NClob)) => BindAs::NClob,
            (Value::Bytes(_) | Value::Null, Some(ColumnType::Blob)) => BindAs::Blob,
            (Value::Text(t), _) if t.len() > VARCHAR2_BYTES => BindAs::Clob,
            (Value::Bytes(b), _) if b.len() > RAW_BYTES => BindAs::Blob,
            _ => BindAs::Value,
        }
    }
}

/// A value bound as the given Oracle type (the crate's own `(&T, &OracleType)` borrows; a
/// statement's binds outlive the call that makes them).
struct Typed<T>(T, OracleType);

impl<T: ToSql> ToSql for Typed<T> {
    fn oratype(&self, _conn: &oracle::Connection) -> oracle::Result<OracleType> {
        Ok(self.1.clone())
    }
    fn to_sql(&self, val: &mut oracle::SqlValue) -> oracle::Result<()> {
        self.0.to_sql(val)
    }
}

/// The parameters, named as [`Flavor::marker`] writes them (`p1`, `p2`...).
fn bound(params: &[Param]) -> Vec<Bound> {
    params
        .iter()
        .enumerate()
        .map(|(i, p)| -> Bound {
            let value: Box<dyn ToSql + Send + Sync> = match (BindAs::of(p), &p.value) {
                (BindAs::Clob, Value::Text(t)) => Box::new(Typed(t.clone(), OracleType::CLOB)),
                (BindAs::NClob, Value::Text(t)) => Box::new(Typed(t.clone(), OracleType::NCLOB)),
                (BindAs::Blob, Value::Bytes(b)) => Box::new(Typed(b.clone(), OracleType::BLOB)),
                (BindAs::Clob, _) => Box::new(Typed(None::<String>, OracleType::CLOB)),
                (BindAs::NClob, _) => Box::new(Typed(None::<String>, OracleType::NCLOB)),
                (BindAs::Blob, _) => Box::new(Typed(None::<Vec<u8>>, OracleType::BLOB)),
                (BindAs::Value, Value::Null) => Box::new(None::<String>),
                (BindAs::Value, Value::Bool(b)) => Box::new(i64::from(*b)),
                (BindAs::Value, Value::Int(i)) => Box::new(*i),
                (BindAs::Value, Value::Float(x)) => Box::new(*x),
                (BindAs::Value, Value::Text(t)) => Box::new(t.clone()),
                (BindAs::Value, Value::Bytes(b)) => Box::new(b.clone()),
            };
            (format!("p{}", i + 1), value)
        })
        .collect()
}

/// The named parameters as the `oracle` crate takes them.
fn named(params: &[Bound]) -> Vec<(&str, &dyn ToSql)> {
    params
        .iter()
        .map(|(name, value)| (name.as_str(), value.as_ref() as &dyn ToSql))
        .collect()
}

/// A column value as postclone compares and journals it: integers as numbers, decimals and
/// dates as their text (exact), binary as bytes.
fn value(v: &oracle::SqlValue) -> Value {
    if v.is_null().unwrap_or(true) {
        return Value::Null;
    }
    let text = || v.get::<String>().map_or(Value::Null, Value::Text);
    match v.oracle_type() {
        Ok(OracleType::Number(_, 0 | -127) | OracleType::Int64) => {
            v.get::<i64>().map_or_else(|_| text(), Value::Int)
        }
        Ok(OracleType::BinaryDouble | OracleType::BinaryFloat) => {
            v.get::<f64>().map_or_else(|_| text(), Value::Float)
        }
        Ok(OracleType::Raw(_) | OracleType::BLOB | OracleType::LongRaw) => {
            v.get::<Vec<u8>>().map_or(Value::Null, Value::Bytes)
        }
        Ok(OracleType::Boolean) => v.get::<bool>().map_or_else(|_| text(), Value::Bool),
        _ => text(),
    }
}

fn query_error(context: &str, e: impl std::fmt::Display) -> Error {
    Error::Query {
        context: context.to_string(),
        source: explain(&e.to_string()).into(),
    }
}

impl Oracle {
    /// Connects with an `oracle://` URL; the password comes from the URL or
    /// `POSTCLONE_PASSWORD`.
    ///
    /// # Errors
    /// A malformed URL, no password, no client library, or a server that cannot be reached.
    pub async fn connect(url: &str) -> Result<Oracle, Error> {
        // The password may be a reference (env:, file:, exec:) to where it is kept.
        let given = crate::secret::from_variable(PASSWORD_VARIABLE).map_err(|e| {
            Error::InvalidConnection {
                message: format!("{PASSWORD_VARIABLE}: {e}"),
            }
        })?;
        let url = OracleUrl::parse(url, given.map(|s| s.expose().to_string()))?;
        let Some(password) = url.password.clone() else {
            return Err(Error::InvalidConnection {
                message: format!(
                    "no password for {}: set {PASSWORD_VARIABLE}",
                    url.describe()
                ),
            });
        };
        let (user, connect_string) = (url.user.clone(), url.connect_string());
        let connected = tokio::task::spawn_blocking(move || {
            oracle::Connection::connect(user, password, connect_string)
        })
        .await
        .map_err(|e| Error::Connect {
            target: url.describe(),
            source: e.to_string().into(),
        })?;
        let conn = connected.map_err(|e| Error::Connect {
            target: url.describe(),
            source: explain(&e.to_string()).into(),
        })?;
        Ok(Oracle {
            conn: Arc::new(conn),
            url,
            lock_timeout: Duration::from_secs(30),
        })
    }

    /// Runs `f` with the connection on a blocking thread.
    async fn call<T: Send + 'static>(
        &self,
        context: &str,
        f: impl FnOnce(&oracle::Connection) -> oracle::Result<T> + Send + 'static,
    ) -> Result<T, Error> {
        let conn = self.conn.clone();
        tokio::task::spawn_blocking(move || f(&conn))
            .await
            .map_err(|e| query_error(context, e))?
            .map_err(|e| query_error(context, e))
    }

    /// Streams a query's rows (with column names) through a bounded channel to `each`.
    async fn each_row(
        &self,
        sql: &Sql,
        context: &str,
        each: &mut dyn FnMut(Vec<String>, Vec<Value>) -> Result<(), Error>,
    ) -> Result<u64, Error> {
        let (tx, mut rx) = mpsc::channel::<(Vec<String>, Vec<Value>)>(CHANNEL_ROWS);
        let conn = self.conn.clone();
        let text = sql.text.clone();
        let params = bound(&sql.params);
        let reader = tokio::task::spawn_blocking(move || -> oracle::Result<()> {
            let rows = conn.query_named(&text, &named(&params))?;
            let names: Vec<String> = rows
                .column_info()
                .iter()
                .map(|c| c.name().to_string())
                .collect();
            for row in rows {
                let row = row?;
                let values = row.sql_values().iter().map(value).collect();
                if tx.blocking_send((names.clone(), values)).is_err() {
                    break;
                }
            }
            Ok(())
        });
        let mut count = 0;
        let mut failed = None;
        while let Some((names, values)) = rx.recv().await {
            count += 1;
            if let Err(e) = each(names, values) {
                failed = Some(e);
                break;
            }
        }
        drop(rx);
        reader
            .await
            .map_err(|e| query_error(context, e))?
            .map_err(|e| query_error(context, e))?;
        failed.map_or(Ok(count), Err)
    }

    async fn rows_of(&self, sql: &Sql, context: &str) -> Result<Vec<Vec<Value>>, Error> {
        let mut out = Vec::new();
        self.each_row(sql, context, &mut |_, values| {
            out.push(values);
            Ok(())
        })
        .await?;
        Ok(out)
    }
}

impl Reader for Oracle {
    async fn rows(&mut self, sql: &Sql, context: &str) -> Result<Vec<Vec<Value>>, Error> {
        self.rows_of(sql, context).await
    }

    async fn stream(
        &mut self,
        query: &Select,
        context: &str,
        each: &mut RowSink<'_>,
    ) -> Result<u64, Error> {
        // Oracle's client reads CLOBs and BLOBs whole: every column as it is.
        self.each_row(&query.sql(), context, &mut |_, values| each(values))
            .await
    }

    async fn check(
        &mut self,
        sql: &Sql,
        context: &str,
        each: &mut CheckSink<'_>,
    ) -> Result<u64, Error> {
        self.each_row(sql, context, &mut |names, values| each(&names, values))
            .await
    }
}

impl Engine for Oracle {
    fn owner(&self) -> Option<&str> {
        Some(&self.url.schema)
    }

    async fn identify(&mut self) -> Result<Target, Error> {
        let row = self
            .rows_of(
                &Sql {
                    text: IDENTIFY.into(),
                    params: vec![],
                },
                "identifying the server",
            )
            .await?
            .into_iter()
            .next()
            .unwrap_or_default();
        let text = |i: usize| match row.get(i) {
            Some(Value::Text(t)) => t.clone(),
            _ => String::new(),
        };
        let schema = self.url.schema.clone();
        Ok(Target {
            server: format!("{} ({})", text(0), text(1)),
            database: schema,
            forbidden_front_ends: Vec::new(),
            front_end_list: None,
        })
    }

    async fn lock(&mut self, timeout: Duration) -> Result<Lock, Error> {
        self.lock_timeout = timeout;
        let schema = self.url.schema.clone();
        let seconds = i64::try_from(timeout.as_secs()).unwrap_or(i64::MAX);
        let result = self
            .call("taking the apply lock", move |conn| {
                let mut stmt = conn.statement(LOCK).build()?;
                let [schema_name, timeout_name, result_name] = LOCK_BINDS;
                stmt.execute_named(&[
                    (schema_name, &schema),
                    (timeout_name, &seconds),
                    (result_name, &OracleType::Number(0, 0)),
                ])?;
                stmt.bind_value::<&str, i64>(result_name)
            })
            .await;
        match result {
            Ok(0 | 4) => Ok(Lock::Application),
            Ok(1) => Err(Error::Locked { holder: None }),
            Ok(code) => Err(Error::Locked {
                holder: Some(format!("DBMS_LOCK.REQUEST returned {code}")),
            }),
            // Without EXECUTE on DBMS_LOCK: lock the tables in the transaction instead.
            Err(e)
                if e.to_string().contains("DBMS_LOCK") || e.to_string().contains("PLS-00201") =>
            {
                Ok(Lock::Tables)
            }
            Err(e) => Err(e),
        }
    }

    async fn begin(&mut self, lock: &Lock, tables: &[TableInfo]) -> Result<(), Error> {
        // An Oracle transaction begins with its first change; reads are consistent per
        // statement, so nothing is stale after waiting, but the caller plans again anyway.
        if *lock == Lock::Application {
            return Ok(());
        }
        let wait = self.lock_timeout.as_secs();
        for table in tables {
            let sql = format!(
                "LOCK TABLE {} IN EXCLUSIVE MODE WAIT {wait}",
                QuotedIdent::table(&table.table, QuoteStyle::DoubleQuotes)
            );
            let name = table.table.to_string();
            self.call("locking the tables to change", move |conn| {
                conn.execute(&sql, &[]).map(drop)
            })
            .await
            .map_err(|e| match &e {
                Error::Query { source, .. } if source.to_string().contains("ORA-30006") => {
                    Error::Locked {
                        holder: Some(format!("a transaction holds a lock on {name}")),
                    }
                }
                _ => e,
            })?;
        }
        Ok(())
    }

    fn flavor(&self) -> Flavor {
        Flavor::Oracle
    }

    async fn run(&mut self, statement: &Statement) -> Result<(), Error> {
        let text = statement.sql.clone();
        let params = bound(&statement.params);
        self.call(&format!("change {}", statement.source), move |conn| {
            conn.execute_named(&text, &named(&params)).map(drop)
        })
        .await
    }

    async fn commit(&mut self) -> Result<(), Error> {
        self.call("committing", oracle::Connection::commit).await
    }

    async fn rollback(&mut self) -> Result<(), Error> {
        self.call("rolling back", oracle::Connection::rollback)
            .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn param(value: Value, column_type: Option<crate::sql::ColumnType>) -> Param {
        Param {
            value,
            secret: false,
            column_type,
        }
    }

    /// Values for LOB columns are bound as LOBs, NULL included; texts over 4,000 bytes and
    /// binaries over 2,000 bytes are bound as LOBs whatever their column (as VARCHAR2/RAW
    /// they fail with ORA-01461 or are refused by the client). See: issue 35
    #[test]
    fn long_values_and_lob_columns_are_bound_as_lobs_issue_35() {
        use crate::sql::ColumnType::{Blob, Clob, NClob, NVarChar, VarBinary};
        let text = |n: usize| Value::Text("é".repeat(n));
        let cases = [
            (param(text(10), Some(Clob)), BindAs::Clob),
            (param(Value::Null, Some(Clob)), BindAs::Clob),
            (param(text(10), Some(NClob)), BindAs::NClob),
            (param(Value::Bytes(vec![1; 10]), Some(Blob)), BindAs::Blob),
            (param(Value::Null, Some(Blob)), BindAs::Blob),
            // 2,000 characters of two bytes each: exactly 4,000 bytes fit VARCHAR2.
            (param(text(2_000), Some(NVarChar)), BindAs::Value),
            (param(text(2_001), Some(NVarChar)), BindAs::Clob),
            (param(text(2_001), None), BindAs::Clob),
            (param(Value::Bytes(vec![0; 2_000]), None), BindAs::Value),
            (
                param(Value::Bytes(vec![0; 2_001]), Some(VarBinary)),
                BindAs::Blob,
            ),
            (param(Value::Bytes(vec![0; 40_000]), None), BindAs::Blob),
            (param(Value::Int(7), Some(Clob)), BindAs::Value),
            (param(Value::Null, None), BindAs::Value),
        ];
        for (p, expected) in cases {
            assert_eq!(BindAs::of(&p), expected, "{p:?}");
        }
        // Every parameter is bound under its own name, whatever its kind.
        let names: Vec<String> = bound(&[param(text(3_000), None), param(Value::Int(1), None)])
            .into_iter()
            .map(|(name, _)| name)
            .collect();
        assert_eq!(names, ["p1", "p2"]);
    }

    /// The lock's placeholders are exactly the names its call binds, each bound by name: no
    /// numbered placeholder whose position would decide what it gets. See: issue 35
    #[test]
    fn the_lock_binds_every_placeholder_by_name_issue_35() {
        let code: String = LOCK
            .lines()
            .filter(|l| !l.trim_start().starts_with("--"))
            .collect::<Vec<_>>()
            .join("\n");
        let mut found: Vec<String> = code
            .match_indices(':')
            .filter_map(|(i, _)| {
                let name: String = code[i + 1..]
                    .chars()
                    .take_while(|c| c.is_alphanumeric() || *c == '_')
                    .collect();
                (!name.is_empty()).then_some(name)
            })
            .collect();
        found.sort();
        found.dedup();
        let mut bound: Vec<String> = LOCK_BINDS.iter().map(ToString::to_string).collect();
        bound.sort();
        assert_eq!(found, bound);
        assert!(found.iter().all(|n| !n.chars().all(|c| c.is_ascii_digit())));
    }
}
