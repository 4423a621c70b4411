//! What reading needs of a connection: run a catalog query, stream a query's rows whole, stream
//! a custom check's rows with their column names. Inspection, apply and restore read through it.

use super::Error;
use crate::sql::{Select, Sql};
use crate::state::Value;

/// A row callback: every value of the row, whole.
pub type RowSink<'a> = dyn FnMut(Vec<Value>) -> Result<(), Error> + 'a;

/// A custom check's row callback: the result's column names and the row's values.
pub type CheckSink<'a> = dyn FnMut(&[String], Vec<Value>) -> Result<(), Error> + 'a;

/// What reading needs of a connection.
// The engines run on a current-thread runtime and are never shared across threads, so the
// futures need no `Send` bound.
#[allow(async_fn_in_trait)]
pub trait Reader {
    /// Every row of a catalog query (small results of short values).
    async fn rows(&mut self, sql: &Sql, context: &str) -> Result<Vec<Vec<Value>>, Error>;

    /// Streams the rows of a query over table rows to `each`, every value whole whatever its
    /// shape; returns how many rows there were. An error from `each` stops the stream.
    async fn stream(
        &mut self,
        query: &Select,
        context: &str,
        each: &mut RowSink<'_>,
    ) -> Result<u64, Error>;

    /// Streams the rows of a custom check, as the spec writes it, with their column names.
    async fn check(
        &mut self,
        sql: &Sql,
        context: &str,
        each: &mut CheckSink<'_>,
    ) -> Result<u64, Error>;
}
