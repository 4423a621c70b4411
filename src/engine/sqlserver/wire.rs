//! How statements and rows travel over TDS: [`Tds`] is a tiberius client with its [`Wire`].
//!
//! SQL Server gets every statement as an RPC with typed parameters (long values as PLP, which
//! tiberius reads and writes) and returns every column as it is. The embedded engine gets each
//! statement as a batch with its values written as literals (`literal`), and long values are
//! read in pieces (`pieces`): see those files for what the engine does wrong on the wire.

use futures_util::TryStreamExt;
use tiberius::{ColumnType, QueryStream, ToSql};

use super::connect::TdsClient;
use super::row::{self, SqlParam};
use crate::engine::embedded::literal;
use crate::engine::embedded::pieces::Pieces;
use crate::engine::Error;
use crate::engine::{CheckSink, Reader, RowSink};
use crate::sql::ident::{QuoteStyle, QuotedIdent};
use crate::sql::Param;
use crate::sql::{Select, Selected, Shape, Sql};
use crate::state::Value;

/// How values reach the server and come back.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Wire {
    /// RPC with typed parameters; columns read as they are (SQL Server).
    Parameters,
    /// Batches with literals; long values read in pieces (the embedded engine).
    Literals,
}

/// A connection and the way it carries values.
pub struct Tds {
    /// The tiberius client.
    pub(super) client: TdsClient,
    /// How values travel on it.
    pub(super) wire: Wire,
}

pub(super) fn query_error(
    context: &str,
    e: impl Into<Box<dyn std::error::Error + Send + Sync>>,
) -> Error {
    let source: Box<dyn std::error::Error + Send + Sync> = e.into();
    let source: Box<dyn std::error::Error + Send + Sync> =
        match source.downcast::<tiberius::error::Error>() {
            Ok(e) => match *e {
                tiberius::error::Error::Server(token) => Box::new(ServerMessage {
                    message: token.message().to_string(),
                    code: token.code(),
                    state: token.state(),
                    line: token.line(),
                }),
                other => Box::new(other),
            },
            Err(other) => other,
        };
    Error::Query {
        context: context.to_string(),
        source,
    }
}

/// What the server said, its own text first: the client's display wraps it in quotes of its
/// own, which masking would read as the start of a quoted value.
#[derive(Debug, thiserror::Error)]
#[error("{message} (server error {code}, state {state}, line {line})")]
struct ServerMessage {
    message: String,
    code: u32,
    state: u8,
    line: u32,
}

impl Tds {
    /// Which wire the server needs: the embedded engine names itself in `@@VERSION`.
    ///
    /// Values are never cut to a text size: the largest there is is set for the session.
    /// (SQL Server sets it for tiberius's ODBC-style login anyway; the embedded engine cuts every
    /// text and binary value to 4,096 bytes unless told otherwise.)
    #[allow(clippy::disallowed_methods)]
    pub(super) async fn open(mut client: TdsClient) -> Result<Tds, Error> {
        let context = "setting the text size";
        client
            .simple_query("SET TEXTSIZE 2147483647")
            .await
            .map_err(|e| query_error(context, e))?
            .into_results()
            .await
            .map_err(|e| query_error(context, e))?;
        let context = "reading the server version";
        let version = client
            .query("SELECT @@VERSION", &[])
            .await
            .map_err(|e| query_error(context, e))?
            .into_row()
            .await
            .map_err(|e| query_error(context, e))?
            .and_then(|r| r.get::<&str, _>(0).map(str::to_string))
            .unwrap_or_default();
        let wire = if version.contains("iridium") {
            Wire::Literals
        } else {
            Wire::Parameters
        };
        Ok(Tds { client, wire })
    }

    /// Sends `text` with `params` the way this wire carries values.
    // The one place besides transaction control that sends a plain batch: on the embedded
    // engine every value in it was written by `literal::literal`.
    #[allow(clippy::disallowed_methods)]
    pub(super) async fn query(
        &mut self,
        text: &str,
        params: &[Param],
        context: &str,
    ) -> Result<QueryStream<'_>, Error> {
        let wire = match self.wire {
            Wire::Literals if literal::reads_as_parameters(text, params) => Wire::Parameters,
            wire => wire,
        };
        crate::engine::sqlserver::shapes::record(text, wire);
        match wire {
            Wire::Parameters => {
                let values: Vec<SqlParam<'_>> = params.iter().map(SqlParam).collect();
                let refs: Vec<&dyn ToSql> = values.iter().map(|p| p as &dyn ToSql).collect();
                self.client
                    .query(text, &refs)
                    .await
                    .map_err(|e| query_error(context, e))
            }
            Wire::Literals => {
                let text = literal::inline(text, params).map_err(|e| query_error(context, e))?;
                self.client
                    .simple_query(text)
                    .await
                    .map_err(|e| query_error(context, e))
            }
        }
    }

    /// Runs a statement to completion.
    pub(super) async fn execute(
        &mut self,
        text: &str,
        params: &[Param],
        context: &str,
    ) -> Result<(), Error> {
        self.query(text, params, context)
            .await?
            .into_results()
            .await
            .map(drop)
            .map_err(|e| query_error(context, e))
    }

    /// Streams the rows of `text`, each already put together by `pieces`, to `each` with the
    /// result's column names.
    async fn each_row(
        &mut self,
        text: &str,
        params: &[Param],
        pieces: Option<&Pieces>,
        context: &str,
        each: &mut CheckSink<'_>,
    ) -> Result<u64, Error> {
        let mut stream = self.query(text, params, context).await?.into_row_stream();
        let mut names: Option<Vec<String>> = None;
        let mut count = 0;
        while let Some(r) = stream
            .try_next()
            .await
            .map_err(|e| query_error(context, e))?
        {
            count += 1;
            let names = names
                .get_or_insert_with(|| r.columns().iter().map(|c| c.name().to_string()).collect());
            let cells: Vec<Value> = r.into_iter().map(row::value).collect();
            let values = match pieces {
                Some(pieces) => pieces
                    .reassemble(cells)
                    .map_err(|e| query_error(context, e))?,
                None => cells,
            };
            each(names, values)?;
        }
        Ok(count)
    }

    /// `query` with the largest value of each long column it reads measured on the rows it
    /// reads, so that the embedded engine's long values are read in as few pieces as they need
    /// (unmeasured, every value would be read in as many pieces as the engine's largest value
    /// takes). Measured just before the read, in the same connection: nothing written earlier
    /// (by this command or another) can have made a value longer than it was measured.
    async fn measured(&mut self, query: &Select, context: &str) -> Result<Select, Error> {
        let long: Vec<usize> = (0..query.columns.len())
            .filter(|&i| {
                matches!(
                    query.columns[i].shape,
                    Shape::LongText { bound: None } | Shape::LongBinary { bound: None }
                )
            })
            .collect();
        if long.is_empty() {
            return Ok(query.clone());
        }
        // The rows the read selects, their long values only: neither DISTINCT nor the sort
        // changes the largest; a page's order decides which rows are in it, so it stays.
        let inner: Vec<String> = long
            .iter()
            .map(|&i| format!("{} AS [c{i}]", query.columns[i].expr))
            .collect();
        let order = if query.limit.is_empty() {
            ""
        } else {
            query.order.as_str()
        };
        let sizes: Vec<String> = long
            .iter()
            .map(|i| format!("MAX(DATALENGTH(q.[c{i}]))"))
            .collect();
        let sql = Sql {
            text: format!(
                "SELECT {} FROM (SELECT {}{}{order}{}) AS q",
                sizes.join(", "),
                inner.join(", "),
                query.rest,
                query.limit
            ),
            params: query.params.clone(),
        };
        let row = self
            .rows(&sql, &format!("{context} (measuring its long values)"))
            .await?
            .into_iter()
            .next()
            .unwrap_or_default();
        let mut measured = query.clone();
        for (&i, size) in long.iter().zip(row) {
            // DATALENGTH counts bytes, at least one per character: a bound for both shapes. No
            // row gives NULL (nothing to read); an answer of another kind bounds nothing, and
            // the value is read in as many pieces as the engine's largest takes.
            let bound = match size {
                Value::Int(n) => u64::try_from(n).ok(),
                Value::Null => Some(0),
                _ => None,
            };
            measured.columns[i].shape = match measured.columns[i].shape {
                Shape::LongText { .. } => Shape::LongText { bound },
                _ => Shape::LongBinary { bound },
            };
        }
        Ok(measured)
    }

    /// The names and types of a custom check's columns, from a query that returns no row (so
    /// that no value of an unknown type is decoded). The embedded engine can only name the
    /// columns of a query that has rows: for one without, it names a single column `*`.
    async fn check_columns(
        &mut self,
        check: &str,
        context: &str,
    ) -> Result<Vec<(String, ColumnType)>, Error> {
        let probe = format!("SELECT TOP 0 * FROM (\n{check}\n) AS q");
        let mut stream = self
            .query(&probe, &[], context)
            .await
            .map_err(|e| explain_check(context, e))?;
        let columns = stream
            .columns()
            .await
            .map_err(|e| explain_check(context, query_error(context, e)))?
            .map(|cols| {
                cols.iter()
                    .map(|c| (c.name().to_string(), c.column_type()))
                    .collect()
            })
            .unwrap_or_default();
        stream
            .into_results()
            .await
            .map_err(|e| query_error(context, e))?;
        Ok(columns)
    }
}

/// A custom check on the embedded engine that cannot be read through a derived table.
fn explain_check(context: &str, e: Error) -> Error {
    Error::Query {
        context: format!(
            "{context} (on the embedded engine a custom check is read through a derived table, so that long values can be read safely: write it as one SELECT whose columns have distinct names)"
        ),
        source: Box::new(e),
    }
}

impl Reader for Tds {
    async fn rows(&mut self, sql: &Sql, context: &str) -> Result<Vec<Vec<Value>>, Error> {
        let rows = self
            .query(&sql.text, &sql.params, context)
            .await?
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
        query: &Select,
        context: &str,
        each: &mut RowSink<'_>,
    ) -> Result<u64, Error> {
        match self.wire {
            Wire::Parameters => {
                let text = query.text();
                self.each_row(&text, &query.params, None, context, &mut |_, v| each(v))
                    .await
            }
            Wire::Literals => {
                let query = self.measured(query, context).await?;
                let (list, pieces) = Pieces::plan(&query);
                let text = query.text_with(&list);
                self.each_row(&text, &query.params, Some(&pieces), context, &mut |_, v| {
                    each(v)
                })
                .await
            }
        }
    }

    async fn check(
        &mut self,
        sql: &Sql,
        context: &str,
        each: &mut CheckSink<'_>,
    ) -> Result<u64, Error> {
        if self.wire == Wire::Parameters {
            return self
                .each_row(&sql.text, &sql.params, None, context, each)
                .await;
        }
        let check = sql
            .text
            .trim_end()
            .trim_end_matches(';')
            .trim_end()
            .to_string();
        let columns = self.check_columns(&check, context).await?;
        if let [(star, _)] = columns.as_slice() {
            if star == "*" {
                // No column names: the check returns no row, as a count confirms.
                let count = format!("SELECT COUNT(*) FROM (\n{check}\n) AS q");
                let rows = self
                    .rows(
                        &Sql {
                            text: count,
                            params: sql.params.clone(),
                        },
                        context,
                    )
                    .await?;
                return match rows.first().and_then(|r| r.first()) {
                    Some(Value::Int(0)) => Ok(0),
                    _ => Err(explain_check(
                        context,
                        query_error(context, "the engine did not report the check's columns"),
                    )),
                };
            }
        }
        let shape = |ty: ColumnType| match ty {
            ColumnType::BigVarChar
            | ColumnType::BigChar
            | ColumnType::NVarchar
            | ColumnType::NChar
            | ColumnType::Text
            | ColumnType::NText
            | ColumnType::Xml => Shape::LongText { bound: None },
            ColumnType::BigVarBin | ColumnType::BigBinary | ColumnType::Image => {
                Shape::LongBinary { bound: None }
            }
            _ => Shape::Plain,
        };
        if columns.iter().all(|(_, ty)| shape(*ty) == Shape::Plain) {
            return self
                .each_row(&check, &sql.params, None, context, each)
                .await;
        }
        let mut names: Vec<String> = Vec::new();
        for (name, _) in &columns {
            if name.is_empty() || names.iter().any(|n| n.eq_ignore_ascii_case(name)) {
                return Err(explain_check(
                    context,
                    query_error(context, format!("the check returns a column named {name:?} more than once or without a name")),
                ));
            }
            names.push(name.clone());
        }
        let select = Select {
            distinct: false,
            columns: columns
                .iter()
                .map(|(name, ty)| Selected {
                    expr: format!(
                        "q.{}",
                        QuotedIdent::result_column(name, QuoteStyle::Brackets)
                    ),
                    shape: shape(*ty),
                })
                .collect(),
            rest: format!(" FROM (\n{check}\n) AS q"),
            order: String::new(),
            limit: String::new(),
            params: sql.params.clone(),
        };
        let (list, pieces) = Pieces::plan(&select);
        let text = select.text_with(&list);
        self.each_row(
            &text,
            &select.params,
            Some(&pieces),
            context,
            &mut |_, v| each(&names, v),
        )
        .await
    }
}
