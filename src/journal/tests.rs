//! Unit tests of the journal writer.

use super::*;
use crate::state::observed::TableInfo;
use crate::test_support::id;

fn test_key() -> ChainKey {
    ChainKey::from_bytes([3; 32])
}

/// A journal of no recipients, chained with the test key.
fn create(path: &Path, target: &Target) -> Result<Journal, Error> {
    Journal::create(
        path,
        target,
        None,
        Recipients::parse(&[]).unwrap(),
        test_key(),
    )
}

fn keyed() -> ReadOptions {
    ReadOptions {
        key: Some(test_key()),
        ..ReadOptions::default()
    }
}

#[test]
fn journal_names_are_readable_and_sort_by_time() {
    use std::time::{Duration, UNIX_EPOCH};
    let at = |secs: u64, nanos: u32| file_time(UNIX_EPOCH + Duration::new(secs, nanos));
    assert_eq!(
        at(1_796_173_911, 188_775_952),
        "2026-12-02T011151.188775952Z"
    );
    let times = [
        at(1_796_173_911, 5),
        at(1_796_173_911, 40),
        at(1_796_173_912, 0),
    ];
    let mut sorted = times.clone();
    sorted.sort();
    assert_eq!(sorted, times);
    assert!(!at(0, 0).contains(':'));
}

fn image(values: Vec<Value>) -> RowImage {
    RowImage {
        values,
        ..RowImage::default()
    }
}

fn change() -> Change {
    Change {
        id: id("servers"),
        ..crate::test_support::change(ChangeKind::EmptyTable {
            table: TableInfo {
                table: TableRef {
                    schema: "dbo".into(),
                    name: "OSSYS_SERVER".into(),
                },
                columns: vec![
                    ColumnInfo {
                        name: "ID".into(),
                        data_type: "int".into(),
                        nullable: false,
                        identity: true,
                        ..ColumnInfo::default()
                    },
                    ColumnInfo {
                        name: "CERT".into(),
                        data_type: "varbinary".into(),
                        nullable: true,
                        identity: false,
                        ..ColumnInfo::default()
                    },
                ],
                primary_key: vec!["ID".into()],
            },
            method: crate::change::EmptyMethod::Truncate,
        })
    }
}

/// Rows written are read back exactly, binary and NULL included, and the file is private.
#[test]
fn round_trip() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("j/x.jsonl");
    let target = Target {
        server: "s".into(),
        database: "OS_PREPROD".into(),
        forbidden_front_ends: vec![],
        front_end_list: None,
    };
    let mut j = create(&path, &target).unwrap();
    let c = change();
    j.change(&c).unwrap();
    j.row(
        &c.id,
        image(vec![Value::Int(1), Value::Bytes(vec![0, 255, 10])]),
    )
    .unwrap();
    j.row(&c.id, image(vec![Value::Int(2), Value::Null]))
        .unwrap();
    j.finish(Status::Committed).unwrap();
    drop(j);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    let plan = read(&path, None, keyed(), &[]).unwrap();
    assert_eq!(plan.database, "OS_PREPROD");
    assert_eq!(plan.status, Some(Status::Committed));
    assert_eq!(plan.steps.len(), 1);
    assert_eq!(plan.steps[0].action, RestoreAction::Reinsert);
    assert_eq!(plan.steps[0].count, 2);
    // The rows are read again from the file, a page at a time.
    let pages: Vec<RestoreStep> = plan
        .pages(&plan.steps[0], None, 1)
        .collect::<Result<_, _>>()
        .unwrap();
    let rows: Vec<&Vec<Value>> = pages
        .iter()
        .flat_map(|p| &p.rows)
        .map(|r| &r.values)
        .collect();
    assert_eq!(
        rows,
        vec![
            &vec![Value::Int(1), Value::Bytes(vec![0, 255, 10])],
            &vec![Value::Int(2), Value::Null]
        ]
    );
    // A journal altered after it was read is refused when its rows are read again.
    let text = std::fs::read_to_string(&path).unwrap();
    std::fs::write(
        &path,
        text.replace("{\"t\":\"int\",\"v\":2}", "{\"t\":\"int\",\"v\":3}"),
    )
    .unwrap();
    let again: Result<Vec<RestoreStep>, Error> = plan.pages(&plan.steps[0], None, 1).collect();
    assert!(matches!(again, Err(Error::Altered { .. })), "{again:?}");
    assert!(
        Journal::create(
            &path,
            &target,
            None,
            Recipients::parse(&[]).unwrap(),
            test_key()
        )
        .is_err(),
        "never overwrites"
    );
}

/// A journal cut short by a killed process is refused as it is, and read up to its last
/// whole line when the user accepts an incomplete journal; an edited line is refused even
/// then. See: issue 27
#[test]
fn truncated_journal_reads_only_when_accepted_issue_27() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("x.jsonl");
    let target = Target {
        server: "s".into(),
        database: "d".into(),
        forbidden_front_ends: vec![],
        front_end_list: None,
    };
    let mut j = create(&path, &target).unwrap();
    let c = change();
    j.change(&c).unwrap();
    j.row(&c.id, image(vec![Value::Int(1), Value::Null]))
        .unwrap();
    j.sync().unwrap();
    drop(j);
    let mut text = std::fs::read_to_string(&path).unwrap();
    text.push_str("{\"entry\":\"row\",\"change\":\"servers\",\"val");
    std::fs::write(&path, text).unwrap();
    assert!(matches!(
        read(&path, None, keyed(), &[]),
        Err(Error::Incomplete { cut: true, .. })
    ));
    let accept = ReadOptions {
        incomplete: true,
        ..keyed()
    };
    let plan = read(&path, None, accept, &[]).unwrap();
    assert_eq!(plan.status, None);
    assert_eq!(plan.steps[0].count, 1);
    let edited = std::fs::read_to_string(&path)
        .unwrap()
        .replace("{\"t\":\"int\",\"v\":1}", "{\"t\":\"int\",\"v\":2}");
    std::fs::write(&path, edited).unwrap();
    assert!(matches!(
        read(&path, None, accept, &[]),
        Err(Error::Altered { line: 3, .. })
    ));
}
