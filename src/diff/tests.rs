//! Unit tests of the diff.

use super::*;
use crate::state::desired::{Condition, Predicate, RowsAbsent, TableEmpty, TableName};
use crate::state::Value;
use crate::test_support::{desired, id, inspected, observed, resource, table_ref};

const SQLSERVER: Dialect = Dialect {
    truncate_in_transaction: true,
    empty_string_is_null: false,
};

fn table_name(s: &str) -> TableName {
    TableName::try_from(s.to_string()).unwrap()
}

/// Resources without drift produce no change; drifted ones produce one each, in order.
#[test]
fn only_drifted_resources_change() {
    let d = desired(vec![
        resource(
            "a",
            ResourceKind::TableEmpty(TableEmpty {
                table: TableTarget::Name(table_name("t1")),
                if_exists: false,
            }),
            &[],
        ),
        resource(
            "b",
            ResourceKind::TableEmpty(TableEmpty {
                table: TableTarget::Name(table_name("t2")),
                if_exists: false,
            }),
            &[],
        ),
    ]);
    let o = observed(vec![inspected("a", "t1", 0), inspected("b", "t2", 3)]);
    let out = diff(&d, &o, &SQLSERVER, None).unwrap();
    assert_eq!(out.changes.len(), 1);
    assert_eq!(out.changes[0].id, id("b"));
    assert_eq!(out.changes[0].rows.count, 3);
}

/// A referenced table is emptied with DELETE; an unreferenced one is truncated; an engine
/// that cannot truncate in a transaction always deletes.
#[test]
fn empty_method_follows_foreign_keys_and_dialect() {
    let fk = ForeignKey {
        name: "FK_child".into(),
        from: table_ref("child"),
        to: table_ref("parent"),
    };
    let empty = |name: &str, t: &str| {
        resource(
            name,
            ResourceKind::TableEmpty(TableEmpty {
                table: TableTarget::Name(table_name(t)),
                if_exists: false,
            }),
            &[],
        )
    };
    let d = desired(vec![empty("p", "parent"), empty("c", "child")]);
    let mut o = observed(vec![
        inspected("p", "parent", 1),
        inspected("c", "child", 1),
    ]);
    o.foreign_keys = vec![fk];
    let out = diff(&d, &o, &SQLSERVER, None).unwrap();
    assert!(matches!(
        &out.changes[0].kind,
        ChangeKind::EmptyTable { method: EmptyMethod::Delete { reason }, .. } if reason.contains("FK_child")
    ));
    assert!(matches!(
        &out.changes[1].kind,
        ChangeKind::EmptyTable {
            method: EmptyMethod::Truncate,
            ..
        }
    ));
    let oracle = Dialect {
        truncate_in_transaction: false,
        empty_string_is_null: false,
    };
    let out = diff(&d, &o, &oracle, None).unwrap();
    assert!(matches!(
        &out.changes[1].kind,
        ChangeKind::EmptyTable {
            method: EmptyMethod::Delete { .. },
            ..
        }
    ));
}

/// A filtered rows_absent deletes rows; an absent optional table becomes a note.
#[test]
fn filtered_delete_and_absent_note() {
    let filter = vec![Condition {
        column: "NAME".into(),
        predicate: Predicate::In(vec![Value::Text("x".into())]),
        ignore_case: false,
    }];
    let d = desired(vec![
        resource(
            "rows",
            ResourceKind::RowsAbsent(RowsAbsent {
                table: TableTarget::Name(table_name("t")),
                filter: filter.clone(),
                if_exists: false,
                label: None,
            }),
            &[],
        ),
        resource(
            "gone",
            ResourceKind::TableEmpty(TableEmpty {
                table: TableTarget::Name(table_name("observer")),
                if_exists: true,
            }),
            &[],
        ),
    ]);
    let o = observed(vec![
        inspected("rows", "t", 2),
        ObservedResource::TableAbsent { id: id("gone") },
    ]);
    let out = diff(&d, &o, &SQLSERVER, None).unwrap();
    assert!(
        matches!(&out.changes[0].kind, ChangeKind::DeleteRows { filter: f, .. } if *f == filter)
    );
    assert_eq!(
        out.notes,
        vec![Note::TableAbsent {
            id: id("gone"),
            table: table_name("observer")
        }]
    );
}

/// A resource the engine did not report is an error, not silence.
#[test]
fn missing_observation_is_an_error() {
    let d = desired(vec![resource(
        "a",
        ResourceKind::TableEmpty(TableEmpty {
            table: TableTarget::Name(table_name("t")),
            if_exists: false,
        }),
        &[],
    )]);
    let o = observed(vec![]);
    assert_eq!(
        diff(&d, &o, &SQLSERVER, None),
        Err(Error::NotInspected { id: id("a") })
    );
}
