//! Unit tests of carried resources and captured rows.

use super::*;

fn carried() -> Carried {
    let part = |column: &str| KeyPart {
        column: column.into(),
        through: vec![],
    };
    Carried {
        table: TableTarget::Name(crate::test_support::name("ossys_dbconnection")),
        key: [
            ("name".to_string(), part("NAME")),
            ("a".to_string(), part("A")),
        ]
        .into_iter()
        .collect(),
        filter: vec![],
        values: vec!["CONFIG".into()],
        label: None,
        name: vec![],
        if_exists: false,
        missing: Missing::Report,
        only_in_clone: OnlyInClone::Leave,
    }
}

fn row(name: &str, values: &[(&str, &str)], sealed: Option<&str>) -> CapturedRow {
    CapturedRow {
        key: [
            ("name".to_string(), Value::Text(name.into())),
            ("a".to_string(), Value::Int(7)),
        ]
        .into_iter()
        .collect(),
        name: Some(name.into()),
        insert: BTreeMap::new(),
        values: values
            .iter()
            .map(|(k, v)| ((*k).to_string(), Value::Text((*v).into())))
            .collect(),
        sealed: sealed.map(str::to_string),
    }
}

fn id() -> ResourceId {
    crate::test_support::id("carried")
}

/// Keys compare in part-name order; a sealed row is opened by `open`, or stays unknown.
#[test]
fn rows_open_by_stable_key() {
    let rows = [
        row("ERP", &[("CONFIG", "plain")], None),
        row("DW", &[], Some("x")),
    ];
    let mut open = |_: &str, _: &SealBinding| -> Result<_, ()> {
        Ok(Some(
            [("CONFIG".to_string(), Value::Text("opened".into()))].into(),
        ))
    };
    let opened = open_rows(
        &carried(),
        &id(),
        false,
        &rows,
        &CapturedFrom::default(),
        &mut open,
    )
    .unwrap();
    assert_eq!(opened.parts, vec!["a".to_string(), "name".to_string()]);
    let value = CarriedValue {
        resource: id(),
        column: "CONFIG".into(),
        parts: carried().parts(),
        rows: Arc::new(opened),
        only_in_clone: None,
    };
    let key = |n: &str| vec!["7".to_string(), n.to_string()];
    assert_eq!(
        value.wanted(&key("ERP")),
        Some(Some(Value::Text("plain".into())))
    );
    assert_eq!(
        value.wanted(&key("DW")),
        Some(Some(Value::Text("opened".into())))
    );
    assert_eq!(
        value.wanted(&key("Other")),
        Some(None),
        "not captured: kept"
    );

    let mut closed = |_: &str, _: &SealBinding| -> Result<_, ()> { Ok(None) };
    let unopened = open_rows(
        &carried(),
        &id(),
        false,
        &rows,
        &CapturedFrom::default(),
        &mut closed,
    )
    .unwrap();
    assert_eq!(unopened.unopened(), 1);
    let value = CarriedValue {
        rows: Arc::new(unopened),
        ..value
    };
    assert_eq!(
        value.wanted(&key("DW")),
        None,
        "sealed and unopened: unknown"
    );
    assert!(
        !format!("{value:?}").contains("plain"),
        "Debug shows no value"
    );
}

/// A row without every key part, or two rows of one key, are refused.
#[test]
fn ambiguous_captures_are_refused() {
    let mut open = |_: &str, _: &SealBinding| -> Result<_, ()> { Ok(None) };
    let mut partial = row("ERP", &[], None);
    partial.key.remove("a");
    assert!(matches!(
        open_rows(
            &carried(),
            &id(),
            false,
            &[partial],
            &CapturedFrom::default(),
            &mut open
        ),
        Err(OpenError::Key { .. })
    ));
    let twice = [row("ERP", &[], None), row("ERP", &[], None)];
    assert!(matches!(
        open_rows(
            &carried(),
            &id(),
            false,
            &twice,
            &CapturedFrom::default(),
            &mut open
        ),
        Err(OpenError::Duplicate { .. })
    ));
}

/// Key parts compare as text; NULL as empty.
#[test]
fn key_text_is_the_shown_value() {
    assert_eq!(key_text(&Value::Text("b9f4".into())), "b9f4");
    assert_eq!(key_text(&Value::Int(12)), "12");
    assert_eq!(key_text(&Value::Null), "");
}
