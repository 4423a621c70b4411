//! Unit tests of restore against a fake engine.

use super::triage::{sort, Sorted};
use super::*;
use crate::journal::{Reason, RestoreAction};
use crate::run::Keys;
use crate::state::Value;
use crate::test_support::{block_on, col, id, table_ref, FakeEngine};

/// A row the apply inserted is deleted only while it holds what was inserted; one already
/// gone needs nothing; one changed since is left alone, its changed columns named.
#[test]
fn inserted_rows_are_taken_out_only_as_inserted_issue_23() {
    let mut step = one_deleted_row().steps.remove(0);
    step.action = RestoreAction::Remove;
    let row = step.rows[0].clone();
    let same = row.values.clone();
    assert!(matches!(sort(&step, &row, Some(&same)), Sorted::PutBack));
    assert!(matches!(sort(&step, &row, None), Sorted::AlreadyBack));
    let edited = vec![Value::Int(7), Value::Text("edited".into())];
    match sort(&step, &row, Some(&edited)) {
        Sorted::LeftAlone(Reason::ChangedSince(columns)) => {
            assert_eq!(columns, vec!["NAME".to_string()]);
        }
        _ => panic!("a row changed since the apply is left alone"),
    }
    let statements =
        crate::sql::restore_statements(&step, crate::sql::Flavor::SqlServer).expect("statements");
    assert_eq!(statements.len(), 1);
    assert_eq!(
        statements[0].sql,
        "DELETE FROM [dbo].[T] WHERE [ID] IN (@P1)"
    );
    step.primary_key.clear();
    assert!(
        crate::sql::restore_statements(&step, crate::sql::Flavor::SqlServer).is_err(),
        "without a key the inserted rows cannot be found"
    );
}

/// A journal of one deleted row of `T` (key `ID = 7`).
fn one_deleted_row() -> RestorePlan {
    RestorePlan {
        server: "s".into(),
        database: "d".into(),
        source: None,
        status: Some(crate::journal::Status::Committed),
        steps: vec![RestoreStep {
            change: id("purge"),
            action: RestoreAction::Reinsert,
            table: table_ref("T"),
            columns: vec![col("ID", "bigint", false), col("NAME", "nvarchar", true)],
            primary_key: vec!["ID".into()],
            set: vec![],
            rows: vec![JournaledRow {
                values: vec![Value::Int(7), Value::Text("seven".into())],
                after: vec![],
                label: None,
            }],
            count: 1,
            written_known: false,
            span: None,
        }],
        not_restorable: vec![],
        personal: vec![],
        sealed: vec![],
        path: std::path::PathBuf::new(),
        verified: true,
        labels: vec![],
        labels_found: vec![],
        end_signature: None,
    }
}

/// Triages `journal` and restores what it shows on `engine`, as the command line does;
/// `shown` judges the triage first.
fn triage_and_run(
    engine: &mut FakeEngine,
    journal: &RestorePlan,
    shown: impl FnOnce(&Triage),
) -> Result<RestoreReport, Error> {
    let mut on = Run::new(std::mem::take(engine), Keys::default());
    let outcome = block_on(async {
        let triaged = triage(&mut on, journal).await?;
        shown(&triaged);
        run(&mut on, journal, &triaged, &Lock::Application, &[]).await
    });
    *engine = on.engine;
    outcome
}

fn restore(engine: &mut FakeEngine) -> Result<RestoreReport, Error> {
    triage_and_run(engine, &one_deleted_row(), |shown| {
        assert_eq!(
            shown.plan.steps.len(),
            1,
            "the missing row is to be put back"
        );
    })
}

/// A journal is restored only on the server and database it was written on, whatever the
/// case of their names. See: issue 27
#[test]
fn another_server_is_refused_issue_27() {
    let plan = one_deleted_row();
    let target = |server: &str, database: &str| Target {
        server: server.into(),
        database: database.into(),
        forbidden_front_ends: vec![],
        front_end_list: None,
    };
    assert!(check(&plan, &target("S", "D")).is_ok());
    assert!(matches!(
        check(&plan, &target("other", "d")),
        Err(Error::Refused(GuardError::WrongServer { .. }))
    ));
    assert!(matches!(
        check(&plan, &target("s", "other")),
        Err(Error::Refused(GuardError::WrongDatabase { .. }))
    ));
}

/// A restore statement that fails rolls back and names the change; nothing is committed.
/// See: issue 22
#[test]
fn a_failed_statement_rolls_the_restore_back_issue_22() {
    let mut engine = FakeEngine {
        fail_run: Some(0),
        ..FakeEngine::default()
    };
    let Err(Error::Statement {
        change,
        rolled_back,
        ..
    }) = restore(&mut engine)
    else {
        panic!("the restore did not fail: {:?}", engine.log);
    };
    assert_eq!(change.as_str(), "purge");
    assert!(rolled_back);
    assert!(
        engine.called("rollback") && !engine.called("commit"),
        "{:?}",
        engine.log
    );
}

/// A row that does not read back after it was put back (looked for by its key alone too)
/// fails the restore, names the row, and commits nothing: "complete" is never claimed for
/// a row not read back. See: issue 21
#[test]
fn a_row_not_read_back_is_never_complete_issue_21() {
    let mut engine = FakeEngine::default();
    let Err(Error::Mismatch {
        key,
        mismatch,
        rolled_back,
        ..
    }) = restore(&mut engine)
    else {
        panic!("the restore did not fail: {:?}", engine.log);
    };
    assert_eq!(key, "ID = 7");
    assert_eq!(mismatch, Mismatch::Missing);
    assert!(rolled_back);
    assert!(!engine.called("commit"), "{:?}", engine.log);
    // Read in the triage, read again inside the transaction, read back after the insert,
    // then looked for by its key alone.
    assert_eq!(
        engine.log.iter().filter(|l| *l == "stream").count(),
        4,
        "{:?}",
        engine.log
    );
}

/// A row that came back between the triage shown and the transaction (someone inserted it
/// again) stops the restore before any statement runs: nothing is written, the transaction
/// is rolled back. See: issue 26
#[test]
fn rows_changed_while_waiting_write_nothing_issue_26() {
    let journal = one_deleted_row();
    let mut engine = FakeEngine {
        // The triage finds the row missing; inside the transaction it is there again.
        reads: [
            vec![],
            vec![vec![
                Value::Int(0),
                Value::Int(7),
                Value::Text("seven".into()),
            ]],
        ]
        .into(),
        ..FakeEngine::default()
    };
    let outcome = triage_and_run(&mut engine, &journal, |shown| {
        assert_eq!(shown.chosen, vec![vec![true]]);
    });
    assert!(
        matches!(outcome, Err(Error::ChangedWhileWaiting)),
        "{outcome:?}"
    );
    assert!(!engine.called("run"), "{:?}", engine.log);
    assert!(
        engine.called("rollback") && !engine.called("commit"),
        "{:?}",
        engine.log
    );
}
