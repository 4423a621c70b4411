//! Event queues (the spec's `event_queues`): a write into a table whose triggers feed a queue
//! queues events that were never in the clone. Apply and restore read what each queue holds
//! before such a write and delete what the write added, in the same transaction, so that their
//! own writes never leave work for the platform (nor, in the journal, events to put back).

use std::collections::HashMap;

use crate::change::ChangeId;
use crate::engine::{self, Engine};
use crate::sql::Masked;
use crate::state::observed::TableInfo;
use crate::state::Value;

/// What each queue held before a write: its rows' primary keys.
pub struct Snapshot(Vec<HashMap<Vec<String>, Vec<Value>>>);

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
pub async fn snapshot<E: Engine>(
    engine: &mut E,
    queues: &[TableInfo],
) -> Result<Snapshot, QueueError> {
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
pub async fn delete_added<E: Engine>(
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
