//! Event queues (the spec's `event_queues`): a write into a table whose triggers feed a queue
//! queues events that were never in the clone. Apply and restore read what each queue holds
//! before such a write and delete what the write added, in the same transaction, so that their
//! own writes never leave work for the platform (nor, in the journal, events to put back).

use std::collections::HashMap;

use crate::change::ChangeId;
use crate::engine::{self, Engine};
use crate::sql::Masked;
use crate::state::observed::{TableInfo, TableRef};
use crate::state::Value;

/// The event queues of one apply or restore and the events its writes queued there, per queue:
/// the one place both bracket a write into a table with triggers (read the queues before,
/// delete what the write added after).
pub struct Watch<'q> {
    queues: &'q [TableInfo],
    /// Per queue (in `queues` order): the events deleted so far.
    deleted: Vec<(TableRef, u64)>,
}

/// A write under way into a table whose triggers feed the queues: what they held before it.
pub struct Watching(Option<Snapshot>);

impl<'q> Watch<'q> {
    /// A watch over `queues`, nothing deleted yet.
    #[must_use]
    pub fn new(queues: &'q [TableInfo]) -> Watch<'q> {
        Watch {
            queues,
            deleted: queues.iter().map(|q| (q.table.clone(), 0)).collect(),
        }
    }

    /// Before a write: reads what the queues hold when `triggered` (the table written has
    /// triggers); otherwise nothing is read and nothing will be deleted.
    ///
    /// # Errors
    /// A failed read.
    pub async fn before<E: Engine>(
        &self,
        engine: &mut E,
        triggered: bool,
    ) -> Result<Watching, QueueError> {
        if !triggered || self.queues.is_empty() {
            return Ok(Watching(None));
        }
        Ok(Watching(Some(snapshot(engine, self.queues).await?)))
    }

    /// After the write of change `source`: deletes what it added to the queues (counted);
    /// returns the statements run.
    ///
    /// # Errors
    /// A failed read or delete.
    pub async fn after<E: Engine>(
        &mut self,
        engine: &mut E,
        watching: Watching,
        source: &ChangeId,
    ) -> Result<usize, QueueError> {
        let Watching(Some(before)) = watching else {
            return Ok(0);
        };
        let (deleted, statements) = delete_added(engine, self.queues, &before, source).await?;
        for (n, total) in deleted.iter().zip(&mut self.deleted) {
            total.1 += n;
        }
        Ok(statements)
    }

    /// The events deleted, per queue.
    #[must_use]
    pub fn deleted(self) -> Vec<(TableRef, u64)> {
        self.deleted
    }
}

/// What each queue held before a write: its rows' primary keys.
struct Snapshot(Vec<HashMap<Vec<String>, Vec<Value>>>);

/// Why the events a write queued could not be deleted.
#[derive(Debug)]
pub enum QueueError {
    /// A queue could not be read.
    Read(engine::Error),
    /// A delete failed.
    Statement {
        /// The statement, without values.
        statement: String,
        /// The database's message, values masked.
        cause: Masked,
    },
}

/// What `queues` hold now.
///
/// # Errors
/// A failed read.
async fn snapshot<E: Engine>(engine: &mut E, queues: &[TableInfo]) -> Result<Snapshot, QueueError> {
    let mut out = Vec::with_capacity(queues.len());
    for queue in queues {
        out.push(
            crate::inspect::queue_keys(engine, queue)
                .await
                .map_err(QueueError::Read)?,
        );
    }
    Ok(Snapshot(out))
}

/// Deletes the rows each queue holds now and did not at `before`; returns how many, per queue
/// (in `queues` order), and the statements run.
///
/// # Errors
/// A failed read or delete.
async fn delete_added<E: Engine>(
    engine: &mut E,
    queues: &[TableInfo],
    before: &Snapshot,
    source: &ChangeId,
) -> Result<(Vec<u64>, usize), QueueError> {
    let mut deleted = Vec::with_capacity(queues.len());
    let mut statements = 0;
    for (queue, held) in queues.iter().zip(&before.0) {
        let added: Vec<Vec<Value>> = crate::inspect::queue_keys(engine, queue)
            .await
            .map_err(QueueError::Read)?
            .into_iter()
            .filter(|(text, _)| !held.contains_key(text))
            .map(|(_, key)| key)
            .collect();
        for statement in crate::sql::delete_keys(queue, &added, engine.flavor(), source) {
            engine
                .run(&statement)
                .await
                .map_err(|e| QueueError::Statement {
                    statement: statement.redacted(),
                    cause: Masked::new(&e, &statement, false),
                })?;
            statements += 1;
        }
        deleted.push(added.len() as u64);
    }
    Ok((deleted, statements))
}
