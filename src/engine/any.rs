//! The engine a connection opens, chosen at run time: SQL Server (or the embedded engine) or
//! Oracle. Every method hands over to the one inside.

use std::time::Duration;

use super::sqlserver::SqlServer;
use super::{Engine, Error, Lock, Statement};
use crate::change::Change;
use crate::change::Dialect;
use crate::journal::RestoreStep;
use crate::state::desired::Desired;
use crate::state::observed::{Catalog, TableInfo, Target};
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

impl Engine for AnyEngine {
    fn dialect(&self) -> Dialect {
        each!(self, e => e.dialect())
    }

    async fn identify(&mut self) -> Result<Target, Error> {
        each!(self, e => e.identify().await)
    }

    async fn inspect(&mut self, desired: &Desired) -> Result<super::Inspection, Error> {
        each!(self, e => e.inspect(desired).await)
    }

    fn statements(&self, change: &Change, catalog: &Catalog) -> Result<Vec<Statement>, Error> {
        each!(self, e => e.statements(change, catalog))
    }

    async fn lock(&mut self, timeout: Duration) -> Result<Lock, Error> {
        each!(self, e => e.lock(timeout).await)
    }

    async fn begin(&mut self, lock: &Lock, tables: &[TableInfo]) -> Result<(), Error> {
        each!(self, e => e.begin(lock, tables).await)
    }

    async fn capture(
        &mut self,
        change: &Change,
        catalog: &Catalog,
        page: Option<crate::engine::sql::Page<'_>>,
        sink: &mut dyn FnMut(crate::journal::RowImage) -> std::io::Result<()>,
    ) -> Result<u64, Error> {
        each!(self, e => e.capture(change, catalog, page, sink).await)
    }

    async fn read(
        &mut self,
        select: &super::sql::Select,
        context: &str,
        each: &mut dyn FnMut(Vec<Value>) -> Result<(), Error>,
    ) -> Result<u64, Error> {
        each!(self, e => e.read(select, context, each).await)
    }

    fn flavor(&self) -> super::sql::Flavor {
        each!(self, e => e.flavor())
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

    fn restore_statements(&self, step: &RestoreStep) -> Result<Vec<Statement>, Error> {
        each!(self, e => e.restore_statements(step))
    }
}
