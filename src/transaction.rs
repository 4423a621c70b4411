//! The one transaction an apply or a restore runs in: begun once, ended once, either by a
//! commit or by an abort that rolls back and records in the journal that nothing was kept.
//! Every failure path of apply and restore ends through [`Transaction::abort`], so none can
//! forget the rollback or the journal's last word.
//!
//! It decides nothing about what runs: that is apply's and restore's.

use crate::engine::{self, Engine, Lock};
use crate::journal::{self, Journal, Status};
use crate::state::observed::TableInfo;

/// An open transaction on `engine`, owning what records its end: apply's journal (`&mut
/// Journal`), or nothing for restore, which keeps none (`()`). The steps between reach both
/// through [`Transaction::parts`].
pub struct Transaction<'a, E: Engine, J: Record = ()> {
    engine: &'a mut E,
    journal: J,
}

/// What a transaction records its end into.
pub trait Record {
    /// Records how the transaction ended.
    ///
    /// # Errors
    /// A record that cannot be written.
    fn finish(&mut self, status: Status) -> Result<(), journal::Error>;
}

/// Nothing is recorded (restore).
impl Record for () {
    fn finish(&mut self, _status: Status) -> Result<(), journal::Error> {
        Ok(())
    }
}

/// The apply's journal.
impl Record for &mut Journal {
    fn finish(&mut self, status: Status) -> Result<(), journal::Error> {
        Journal::finish(self, status)
    }
}

/// Why a transaction could not begin. Nothing was changed.
#[derive(Debug, thiserror::Error)]
pub enum BeginError {
    /// The engine refused to begin (or to lock the tables).
    #[error(transparent)]
    Engine(#[from] engine::Error),
    /// The journal could not record that nothing ran.
    #[error(transparent)]
    Journal(#[from] journal::Error),
}

/// A commit that failed: the transaction was rolled back (if `rolled_back`).
#[derive(Debug)]
pub struct CommitFailed {
    /// The engine's error.
    pub cause: engine::Error,
    /// Whether the rollback that followed was confirmed.
    pub rolled_back: bool,
}

impl<'a, E: Engine, J: Record> Transaction<'a, E, J> {
    /// Begins the transaction (first write-locking `tables` with [`Lock::Tables`]).
    ///
    /// # Errors
    /// The engine's, after the journal records that the apply was rolled back.
    pub async fn begin(
        engine: &'a mut E,
        lock: &Lock,
        tables: &[TableInfo],
        mut journal: J,
    ) -> Result<Transaction<'a, E, J>, BeginError> {
        if let Err(e) = engine.begin(lock, tables).await {
            journal.finish(Status::RolledBack)?;
            return Err(e.into());
        }
        Ok(Transaction { engine, journal })
    }

    /// The engine, inside the transaction.
    pub fn engine(&mut self) -> &mut E {
        self.engine
    }

    /// The engine and the journal, inside the transaction.
    pub fn parts(&mut self) -> (&mut E, &mut J) {
        (self.engine, &mut self.journal)
    }

    /// Rolls back and records it in the journal; returns whether the rollback was confirmed.
    /// A journal that cannot record it is left as it is: the failure being reported matters
    /// more, and a journal without its last line reads as one whose apply never committed.
    pub async fn abort(mut self) -> bool {
        let rolled_back = self.engine.rollback().await.is_ok();
        let _ = self.journal.finish(Status::RolledBack);
        rolled_back
    }

    /// Commits, and records it in the journal.
    ///
    /// # Errors
    /// A failed commit (then rolled back, and recorded so), or a journal that cannot record
    /// the commit (the database kept the changes: the journal is what restores them).
    pub async fn commit(mut self) -> Result<(), Committed> {
        if let Err(cause) = self.engine.commit().await {
            let rolled_back = self.engine.rollback().await.is_ok();
            let _ = self.journal.finish(Status::RolledBack);
            return Err(Committed::Failed(CommitFailed { cause, rolled_back }));
        }
        self.journal
            .finish(Status::Committed)
            .map_err(Committed::NotRecorded)
    }
}

/// How a commit did not end well.
#[derive(Debug)]
pub enum Committed {
    /// The commit failed.
    Failed(CommitFailed),
    /// The commit succeeded, but the journal could not record it.
    NotRecorded(journal::Error),
}
