//! Apply against a fake engine: rollbacks, failed commits and begins, changes the database
//! commits by itself.

use super::*;
use crate::change::{Change, ChangeKind};
use crate::state::desired::{Condition, Predicate};
use crate::state::observed::Drift;
use crate::state::Value;
use crate::test_support::{block_on, change, desired, id, table, target, FakeEngine};

/// Two deletes of one row each, on `T1` and `T2`, against database `d`.
fn two_deletes() -> (Desired, Plan) {
    let mut d = desired(vec![]);
    d.guard.database = Some("d".into());
    let delete = |name: &str, t: &str| Change {
        id: id(name),
        rows: Drift {
            count: 1,
            ..Drift::default()
        },
        ..change(ChangeKind::DeleteRows {
            table: table(t),
            filter: vec![Condition {
                column: "ID".into(),
                predicate: Predicate::In(vec![Value::Int(1)]),
                ignore_case: false,
            }],
        })
    };
    let plan = Plan {
        target: target(),
        steps: vec![delete("first", "T1"), delete("second", "T2")],
        notes: vec![],
        reports: vec![],
        findings: vec![],
        manual: vec![],
        dependencies: vec![],
        catalog: crate::state::observed::Catalog::default(),
        copies: None,
    };
    (d, plan)
}

fn apply(engine: &mut FakeEngine, journal: &Path) -> Result<ApplyReport, Error> {
    let (desired, plan) = two_deletes();
    apply_plan(engine, journal, &desired, &plan)
}

/// Applies `plan` under the application lock, with the test chain key.
fn apply_plan(
    engine: &mut FakeEngine,
    journal: &Path,
    desired: &Desired,
    plan: &Plan,
) -> Result<ApplyReport, Error> {
    let options = Options {
        lock: Lock::Application,
        journal,
        source: None,
        connected_host: None,
    };
    let keys = crate::run::Keys {
        plan: Some(plan_key()),
        ..crate::run::Keys::default()
    };
    let mut on = crate::run::Run::new(std::mem::take(engine), keys);
    let resolved = crate::state::Resolved::new(desired.clone().into_stage());
    let report = block_on(run(&mut on, &resolved, plan, options, &mut |_| {}));
    *engine = on.engine;
    report
}

fn plan_key() -> crate::plan::PlanKey {
    crate::plan::PlanKey::from_bytes([5; 32])
}

fn key() -> journal::ChainKey {
    plan_key().journal_chain()
}

fn keyed() -> journal::ReadOptions {
    journal::ReadOptions {
        key: Some(key()),
        ..journal::ReadOptions::default()
    }
}

fn journal_status(path: &Path) -> Option<journal::Status> {
    journal::read(path, None, keyed(), &[])
        .ok()
        .and_then(|p| p.status)
}

/// A statement that fails rolls the transaction back: the error names the change, the
/// changes rolled back and those never run; nothing is committed; the journal says it was
/// rolled back and keeps the rows that were about to change. See: issue 22
#[test]
fn a_failed_statement_rolls_back_and_names_the_change_issue_22() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("j.jsonl");
    let mut engine = FakeEngine {
        fail_run: Some(1),
        reads: [vec![vec![Value::Int(1)]], vec![vec![Value::Int(1)]]].into(),
        ..FakeEngine::default()
    };
    let Err(Error::Failed(failure)) = apply(&mut engine, &path) else {
        panic!("the apply did not fail: {:?}", engine.log);
    };
    assert_eq!(failure.change.as_str(), "second");
    assert_eq!(failure.rolled_back_changes, [id("first")]);
    assert!(failure.pending.is_empty());
    assert!(failure.rolled_back);
    assert!(
        failure.statement.contains("DELETE FROM [dbo].[T2]"),
        "{}",
        failure.statement
    );
    assert!(
        engine.called("rollback") && !engine.called("commit"),
        "{:?}",
        engine.log
    );
    assert_eq!(journal_status(&path), Some(journal::Status::RolledBack));
    let kept = journal::read(&path, None, keyed(), &[]).unwrap();
    assert_eq!(kept.steps.iter().map(|s| s.count).sum::<u64>(), 2);
}

/// Oracle commits `REVOKE` by itself: it runs before the transaction begins, journaled
/// first, and a later failure never claims the rollback undid it (the error names it as
/// committed, the rolled-back changes exclude it). A failed `REVOKE` says what stays
/// committed and that nothing else ran. See: issue 35
#[test]
fn changes_the_database_commits_by_itself_run_before_the_transaction_issue_35() {
    let grant = |privilege: &str| crate::state::observed::Grant {
        grantee: "OSRUNTIME_PROD".into(),
        owner: "OSADMIN".into(),
        object: "OSSYS_PARAMETER".into(),
        privilege: privilege.into(),
    };
    let revoke = Change {
        id: id("production-grants"),
        ..change(ChangeKind::RevokeGrants {
            grants: vec![grant("SELECT"), grant("UPDATE")],
        })
    };
    let (desired, mut plan) = two_deletes();
    plan.steps.insert(0, revoke);
    let dir = tempfile::tempdir().unwrap();
    let run_with =
        |engine: &mut FakeEngine, journal: &Path| apply_plan(engine, journal, &desired, &plan);
    // The second DELETE fails: the transaction rolls back, the REVOKEs stay.
    let path = dir.path().join("delete.jsonl");
    let mut engine = FakeEngine {
        oracle: true,
        fail_run: Some(3),
        reads: [vec![vec![Value::Int(1)]], vec![vec![Value::Int(1)]]].into(),
        ..FakeEngine::default()
    };
    let Err(Error::Failed(failure)) = run_with(&mut engine, &path) else {
        panic!("the apply did not fail: {:?}", engine.log);
    };
    let begin = engine.log.iter().position(|l| l == "begin").unwrap();
    let revokes: Vec<usize> = (0..engine.log.len())
        .filter(|&i| engine.log[i].starts_with("run REVOKE"))
        .collect();
    assert_eq!(revokes.len(), 2, "{:?}", engine.log);
    assert!(revokes.iter().all(|&i| i < begin), "{:?}", engine.log);
    assert_eq!(failure.committed_before, [id("production-grants")]);
    assert_eq!(failure.rolled_back_changes, [id("first")]);
    let message = failure.to_string();
    assert!(
        message.contains("except for what the database committed by itself before the transaction began, which stays: production-grants"),
        "{message}"
    );
    let journal = journal::read(&path, None, keyed(), &[]).unwrap();
    assert_eq!(journal.not_restorable.len(), 1);
    assert_eq!(
        journal.not_restorable[0].revoked,
        [grant("SELECT"), grant("UPDATE")]
    );

    // The second REVOKE fails: the first stays, nothing else runs, no rollback is claimed.
    let path = dir.path().join("revoke.jsonl");
    let mut engine = FakeEngine {
        oracle: true,
        fail_run: Some(1),
        ..FakeEngine::default()
    };
    let Err(Error::CommittedFailed(failure)) = run_with(&mut engine, &path) else {
        panic!("the apply did not fail: {:?}", engine.log);
    };
    assert!(
        !engine.called("begin") && !engine.called("rollback"),
        "{:?}",
        engine.log
    );
    assert_eq!(failure.ran, 1);
    assert_eq!(failure.pending, [id("first"), id("second")]);
    let message = failure.to_string();
    assert!(message.contains("no rollback undoes what ran"), "{message}");
    assert!(!message.contains("rolled back"), "{message}");
}

/// A rollback that fails after a statement failed is said so: the error does not claim the
/// database is as it was. See: issue 22
#[test]
fn an_unconfirmed_rollback_is_reported_issue_22() {
    let dir = tempfile::tempdir().unwrap();
    let mut engine = FakeEngine {
        fail_run: Some(0),
        fail_rollback: true,
        ..FakeEngine::default()
    };
    let Err(Error::Failed(failure)) = apply(&mut engine, &dir.path().join("j.jsonl")) else {
        panic!("the apply did not fail: {:?}", engine.log);
    };
    assert_eq!(failure.change.as_str(), "first");
    assert_eq!(failure.pending, [id("second")]);
    assert!(!failure.rolled_back);
    assert!(
        failure.to_string().contains("could not be confirmed"),
        "{failure}"
    );
}

/// A failed commit rolls back, is named as the commit of the last change, and the journal
/// says nothing was kept; a failed begin runs nothing. See: issue 22
#[test]
fn failed_commits_and_begins_keep_nothing_issue_22() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("commit.jsonl");
    let mut engine = FakeEngine {
        fail_commit: true,
        ..FakeEngine::default()
    };
    let Err(Error::Failed(failure)) = apply(&mut engine, &path) else {
        panic!("the apply did not fail: {:?}", engine.log);
    };
    assert_eq!(failure.statement, "COMMIT TRANSACTION");
    assert_eq!(failure.rolled_back_changes, [id("first"), id("second")]);
    assert_eq!(engine.log.last().map(String::as_str), Some("rollback"));
    assert_eq!(journal_status(&path), Some(journal::Status::RolledBack));

    let path = dir.path().join("begin.jsonl");
    let mut engine = FakeEngine {
        fail_begin: true,
        ..FakeEngine::default()
    };
    assert!(matches!(apply(&mut engine, &path), Err(Error::Engine(_))));
    assert_eq!(engine.log, ["begin"]);
    assert_eq!(journal_status(&path), Some(journal::Status::RolledBack));
}
