//! The engine a connection opens, chosen at run time: SQL Server (or the embedded engine) or
//! Oracle. Every method hands over to the one inside.

use std::time::Duration;

use super::sqlserver::SqlServer;
use super::{CheckSink, Engine, Error, Lock, Reader, RowSink};
use crate::sql::{Flavor, Select, Sql, Statement};
use crate::state::observed::{TableInfo, Target};
use crate::state::Value;

/// An open engine of either kind.
pub enum AnyEngine {
    /// SQL Server, or the embedded engine.
    SqlServer(Box<SqlServer>),
    /// Oracle.
    #[cfg(feature = "oracle")]
    Oracle(Box<super::oracle::Oracle>),
}

/// `$call` on whichever engine is inside.
macro_rules! each {
    ($self:ident, $e:ident => $call:expr) => {
        match $self {
            AnyEngine::SqlServer($e) => $call,
            #[cfg(feature = "oracle")]
            AnyEngine::Oracle($e) => $call,
        }
    };
}

impl Reader for AnyEngine {
    async fn rows(&mut self, sql: &Sql, context: &str) -> Result<Vec<Vec<Value>>, Error> {
        each!(self, e => e.rows(sql, context).await)
    }

    async fn stream(
        &mut self,
        query: &Select,
        context: &str,
        each: &mut RowSink<'_>,
    ) -> Result<u64, Error> {
        each!(self, e => e.stream(query, context, each).await)
    }

    async fn check(
        &mut self,
        sql: &Sql,
        context: &str,
        each: &mut CheckSink<'_>,
    ) -> Result<u64, Error> {
        each!(self, e => e.check(sql, context, each).await)
    }
}

impl Engine for AnyEngine {
    fn flavor(&self) -> Flavor {
        each!(self, e => e.flavor())
    }

    fn owner(&self) -> Option<&str> {
        each!(self, e => e.owner())
    }

    async fn identify(&mut self) -> Result<Target, Error> {
        each!(self, e => e.identify().await)
    }

    async fn lock(&mut self, timeout: Duration) -> Result<Lock, Error> {
        each!(self, e => e.lock(timeout).await)
    }

    async fn begin(&mut self, lock: &Lock, tables: &[TableInfo]) -> Result<(), Error> {
        each!(self, e => e.begin(lock, tables).await)
    }

    async fn run(&mut self, statement: &Statement) -> Result<(), Error> {
        each!(self, e => e.run(statement).await)
    }

    async fn commit(&mut self) -> Result<(), Error> {
        each!(self, e => e.commit().await)
    }

    async fn rollback(&mut self) -> Result<(), Error> {
        each!(self, e => e.rollback().await)
    }
}
