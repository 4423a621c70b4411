//! The write path apply and restore share inside their transaction: for each step, what the
//! event queues hold is read (when the step's table has triggers), the step's pages of
//! statements run in order, each page made just before it runs, and what the step's writes
//! queued is deleted.
//!
//! What a page is, and what is checked while it is made, is the step's own ([`Step`]): apply
//! journals a page of rows and compares them with the plan before it writes them; restore
//! makes a page of the journal's rows into statements. Everything between (running the
//! statements, naming the one that failed with the step's values masked, the event queues, the
//! count of statements run) is done here once, for both.

use std::borrow::Cow;

use crate::change::ChangeId;
use crate::engine::{self, Engine};
use crate::queues::{QueueError, Watch};
use crate::sql::{Masked, Statement};
use crate::state::observed::{TableInfo, TableRef};

/// What a step writes, as the executor needs to know it besides its pages.
#[derive(Debug, Clone, Copy)]
pub struct Writes<'a> {
    /// The change the step's writes are for: the events they queued are deleted in its name.
    pub change: &'a ChangeId,
    /// Whether the table the step writes has triggers (its writes may queue events).
    pub triggered: bool,
    /// Whether the step's statements carry values to mask in the database's messages.
    pub sensitive: bool,
}

/// One step of an apply or a restore, as the executor runs it: pages of statements, made one
/// at a time.
// Implemented by apply's and restore's steps only, and run where their types are known: no
// caller needs to name a bound on the page's future.
#[allow(async_fn_in_trait)]
pub trait Step<E: Engine> {
    /// Why making a page failed (the step's own checks, reads and journal).
    type Error;

    /// The next page's statements, made after the previous page's ran; `None` once the step is
    /// done (a step may do its last work, such as reading back what it wrote, in this call).
    ///
    /// # Errors
    /// The step's own: nothing of this page runs.
    async fn next_page(
        &mut self,
        engine: &mut E,
    ) -> Result<Option<Cow<'_, [Statement]>>, Self::Error>;
}

/// How a step failed, before the caller rolls back.
#[derive(Debug)]
pub enum Failure<F> {
    /// Making a page failed.
    Step(F),
    /// A statement (the step's, or a delete of the events it queued) failed.
    Statement {
        /// The statement, without values.
        statement: String,
        /// The database's message, the step's sensitive values masked.
        cause: Masked,
    },
    /// The event queues could not be read.
    Queues(engine::Error),
}

impl<F> From<QueueError> for Failure<F> {
    fn from(e: QueueError) -> Failure<F> {
        match e {
            QueueError::Read(e) => Failure::Queues(e),
            QueueError::Statement { statement, cause } => Failure::Statement { statement, cause },
        }
    }
}

/// Runs the steps of one transaction, and keeps what they did that outlives a step: the
/// statements run and the events deleted from each queue.
pub struct Executor<'q> {
    watch: Watch<'q>,
    statements: usize,
}

impl<'q> Executor<'q> {
    /// An executor for a transaction whose writes may feed `queues`.
    #[must_use]
    pub fn new(queues: &'q [TableInfo]) -> Executor<'q> {
        Executor {
            watch: Watch::new(queues),
            statements: 0,
        }
    }

    /// Runs `step`, which `writes` describes, to its end: every page's statements in order
    /// (each one told to `sent` just before it is sent), with the events its writes queued
    /// deleted after them. Returns the statements run, deletes included.
    ///
    /// # Errors
    /// The step's own, a failed statement or a failed read of the queues; the caller rolls
    /// back.
    pub async fn run<E: Engine, S: Step<E>>(
        &mut self,
        engine: &mut E,
        (writes, step): (Writes<'_>, &mut S),
        sent: &mut dyn FnMut(&Statement),
    ) -> Result<usize, Failure<S::Error>> {
        let watching = self.watch.before(engine, writes.triggered).await?;
        let mut ran = 0;
        while let Some(page) = step.next_page(engine).await.map_err(Failure::Step)? {
            for statement in page.iter() {
                sent(statement);
                engine
                    .run(statement)
                    .await
                    .map_err(|e| Failure::Statement {
                        statement: statement.redacted(),
                        cause: Masked::new(&e, statement, writes.sensitive),
                    })?;
                ran += 1;
            }
        }
        ran += self.watch.after(engine, watching, writes.change).await?;
        self.statements += ran;
        Ok(ran)
    }

    /// The statements run by every step so far.
    #[must_use]
    pub fn statements(&self) -> usize {
        self.statements
    }

    /// The events deleted, per queue.
    #[must_use]
    pub fn unqueued(self) -> Vec<(TableRef, u64)> {
        self.watch.deleted()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::state::Value;
    use crate::test_support::{block_on, id, table, FakeEngine};

    /// A step of scripted pages that notes how many statements had run when each was asked.
    struct Scripted {
        change: ChangeId,
        pages: Vec<Vec<&'static str>>,
        triggered: bool,
        /// Statements the engine had run when each page was asked for.
        asked_after: Vec<usize>,
        /// The page whose making fails.
        fail_page: Option<usize>,
        page: Vec<Statement>,
    }

    impl Scripted {
        fn new(pages: Vec<Vec<&'static str>>) -> Scripted {
            Scripted {
                change: id("step"),
                pages,
                triggered: false,
                asked_after: Vec::new(),
                fail_page: None,
                page: Vec::new(),
            }
        }
    }

    fn ran(engine: &FakeEngine) -> Vec<&str> {
        engine
            .log
            .iter()
            .filter_map(|l| l.strip_prefix("run "))
            .collect()
    }

    /// What a scripted step writes: its change is `step`, its values sensitive.
    fn writes(change: &ChangeId, triggered: bool) -> Writes<'_> {
        Writes {
            change,
            triggered,
            sensitive: true,
        }
    }

    impl Step<FakeEngine> for Scripted {
        type Error = &'static str;

        async fn next_page(
            &mut self,
            engine: &mut FakeEngine,
        ) -> Result<Option<Cow<'_, [Statement]>>, &'static str> {
            self.asked_after.push(ran(engine).len());
            if self.fail_page == Some(self.asked_after.len() - 1) {
                return Err("the page could not be made");
            }
            if self.pages.is_empty() {
                return Ok(None);
            }
            self.page = self
                .pages
                .remove(0)
                .into_iter()
                .map(|sql| Statement {
                    sql: sql.to_string(),
                    params: Vec::new(),
                    source: self.change.clone(),
                })
                .collect();
            Ok(Some(Cow::Borrowed(&self.page)))
        }
    }

    /// Each page is asked for once the previous page's statements ran, every statement runs in
    /// order and is told to `sent` first, and the count covers all of them.
    #[test]
    fn pages_run_in_order_each_made_after_the_previous_ran() {
        let mut engine = FakeEngine::default();
        let change = id("step");
        let mut step = Scripted::new(vec![vec!["A1", "A2"], vec![], vec!["C1"]]);
        let mut executor = Executor::new(&[]);
        let mut told = Vec::new();
        let count = block_on(executor.run(
            &mut engine,
            (writes(&change, step.triggered), &mut step),
            &mut |s| {
                told.push(s.sql.clone());
            },
        ))
        .expect("runs");
        assert_eq!(count, 3);
        assert_eq!(executor.statements(), 3);
        assert_eq!(ran(&engine), ["A1", "A2", "C1"]);
        assert_eq!(told, ["A1", "A2", "C1"]);
        assert_eq!(step.asked_after, [0, 2, 2, 3]);
        assert!(executor.unqueued().is_empty());
    }

    /// A failed statement stops the step: it is named, and no later statement or page runs.
    #[test]
    fn a_failed_statement_is_named_and_nothing_after_it_runs() {
        let mut engine = FakeEngine {
            fail_run: Some(1),
            ..FakeEngine::default()
        };
        let change = id("step");
        let mut step = Scripted::new(vec![vec!["A1", "A2", "A3"], vec!["B1"]]);
        let mut executor = Executor::new(&[]);
        match block_on(executor.run(
            &mut engine,
            (writes(&change, step.triggered), &mut step),
            &mut |_| {},
        )) {
            Err(Failure::Statement { statement, .. }) => assert_eq!(statement, "A2"),
            other => panic!("expected the failed statement, got {other:?}"),
        }
        assert_eq!(ran(&engine), ["A1", "A2"]);
        assert_eq!(step.asked_after, [0]);
        assert_eq!(executor.statements(), 0, "a failed step counts nothing");
    }

    /// A page that cannot be made is the step's failure, and nothing of it runs.
    #[test]
    fn a_page_that_cannot_be_made_fails_the_step() {
        let mut engine = FakeEngine::default();
        let change = id("step");
        let mut step = Scripted::new(vec![vec!["A1"], vec!["B1"]]);
        step.fail_page = Some(1);
        let mut executor = Executor::new(&[]);
        match block_on(executor.run(
            &mut engine,
            (writes(&change, step.triggered), &mut step),
            &mut |_| {},
        )) {
            Err(Failure::Step(e)) => assert_eq!(e, "the page could not be made"),
            other => panic!("expected the step's failure, got {other:?}"),
        }
        assert_eq!(ran(&engine), ["A1"]);
    }

    /// A step into a table with triggers: what the queue held before is kept, what its writes
    /// added is deleted after them (in the step's count), and the executor tells per queue.
    #[test]
    fn events_a_triggered_step_queued_are_deleted_after_it() {
        let queue = table("OSSYS_EVENT_QUEUE");
        let queues = [queue.clone()];
        let mut engine = FakeEngine::default();
        // The queue's keys read before the step, then after it.
        engine.reads.push_back(vec![vec![Value::Int(1)]]);
        engine.reads.push_back(vec![
            vec![Value::Int(1)],
            vec![Value::Int(2)],
            vec![Value::Int(3)],
        ]);
        let change = id("step");
        let mut step = Scripted::new(vec![vec!["A1"]]);
        step.triggered = true;
        let mut executor = Executor::new(&queues);
        let count = block_on(executor.run(
            &mut engine,
            (writes(&change, step.triggered), &mut step),
            &mut |_| {},
        ))
        .expect("runs");
        let ran = ran(&engine);
        assert_eq!(ran[0], "A1");
        assert!(
            ran[1..]
                .iter()
                .all(|sql| sql.starts_with("DELETE FROM [dbo].[OSSYS_EVENT_QUEUE]")),
            "{ran:?}"
        );
        assert_eq!(count, ran.len());
        assert_eq!(executor.unqueued(), vec![(queue.table, 2)]);
    }
}
