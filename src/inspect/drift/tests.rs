//! Unit tests of the drift read from a change's rows.

use super::*;

/// Keyed rows split into key and changes; unchanged columns are not shown as changes.
#[test]
fn decode_keyed_rows() {
    let layout = Layout::Keyed {
        columns: vec!["ID".into(), "A".into(), "B".into()],
        keys: vec![0],
        compared: vec![(1, Wanted::Selected), (2, Wanted::Literal(Value::Int(0)))],
        label: true,
        details: vec![],
        secret_flag: false,
    };
    let row = decode(
        &layout,
        vec![],
        vec![
            Value::Int(1),
            Value::Text("x".into()),
            Value::Int(0),
            Value::Text("y".into()),
            Value::Text("SyncInvoices".into()),
        ],
    );
    assert_eq!(row.key, vec![("ID".to_string(), Value::Int(1))]);
    assert_eq!(row.changes.len(), 1);
    assert_eq!(row.changes[0].column, "A");
    assert_eq!(row.label.as_deref(), Some("SyncInvoices"));
}

/// A changed table with a column of a type postclone cannot carry is refused at plan time,
/// naming the table, the column and its type.
#[test]
fn unsupported_types_are_refused_by_name() {
    use crate::state::desired::{TableEmpty, TableTarget};
    use crate::state::observed::ResolvedTable;
    use crate::test_support::{col, desired, info, name, resource};
    let d = desired(vec![resource(
        "odd",
        ResourceKind::TableEmpty(TableEmpty {
            table: TableTarget::Name(name("odd")),
            if_exists: false,
        }),
        &[],
    )]);
    let catalog = Catalog {
        tables: vec![ResolvedTable {
            requested: name("odd"),
            info: info(
                "ODD",
                vec![col("ID", "int", false), col("V", "sql_variant", true)],
                &["ID"],
            ),
        }],
        subselects: vec![],
        unique_indexes: Vec::new(),
        triggers: Vec::new(),
    };
    let Err(Error::Catalog { problems }) = prepare(&d, &catalog, Flavor::SqlServer) else {
        panic!("refused");
    };
    assert!(
        problems[0].message.contains("dbo.ODD") && problems[0].message.contains("V (sql_variant)"),
        "{}",
        problems[0].message
    );
}

/// A hit in a carried column is fixed by the carry when the row's stable key was captured
/// and the captured value names no production host; a row not captured, a captured value
/// naming production and a sealed value nobody opened are not fixed (and a carried one is
/// marked, so that no rewrite the carry leaves it out of claims it).
#[test]
fn carried_hits_are_fixed_only_by_a_clean_captured_value() {
    use crate::state::desired::{CarriedRow, CarriedRows, CarriedValue, KeyPart};
    use std::collections::{BTreeMap, HashMap};
    let captured = |url: Option<&str>| CarriedRow {
        key: vec![],
        name: None,
        sealed: url.is_none(),
        values: url.map(|u| BTreeMap::from([("EFFECTIVE_URL".to_string(), Value::Text(u.into()))])),
    };
    let rows = CarriedRows {
        insert_columns: vec![],
        parts: vec!["reference".into()],
        rows: HashMap::from([
            (
                vec!["k-clean".to_string()],
                captured(Some("https://qa.example.com/api")),
            ),
            (
                vec!["k-prod".to_string()],
                captured(Some("https://prod.example.com/api")),
            ),
            (vec!["k-sealed".to_string()], captured(None)),
        ]),
    };
    let layout = sql::ScanLayout {
        keys: vec!["ID".into()],
        columns: vec!["Effective_Url".into(), "URL".into()],
        unscannable: vec![],
        secret_flag: false,
        removers: vec![],
        carriers: vec![sql::CarrierLayout {
            id: crate::test_support::id("carried-urls"),
            values: vec![CarriedValue {
                resource: crate::test_support::id("carried-urls"),
                column: "EFFECTIVE_URL".into(),
                parts: vec![KeyPart {
                    column: "SS_KEY".into(),
                    through: vec![],
                }],
                rows: std::sync::Arc::new(rows),
                only_in_clone: None,
            }],
        }],
    };
    let patterns = vec![HostPattern::parse("prod.example.com").expect("pattern")];
    let scanned = |key: &str, in_scope: bool| {
        let prod = Value::Text("https://prod.example.com/x".into());
        scan_row(
            &layout,
            &patterns,
            false,
            vec![
                Value::Int(1),
                prod.clone(),
                prod,
                Value::Int(i64::from(in_scope)),
                Value::Text(key.into()),
            ],
        )
    };
    let fixed = |hits: &[Hit]| -> Vec<(String, Option<String>, bool)> {
        hits.iter()
            .map(|h| {
                (
                    h.column.clone(),
                    h.fixed_by.as_ref().map(ToString::to_string),
                    h.carried,
                )
            })
            .collect()
    };
    let carried = Some("carried-urls".to_string());
    // The URL column is not carried: never fixed by the carry.
    let url = ("URL".to_string(), None, false);
    assert_eq!(
        fixed(&scanned("k-clean", true)),
        vec![("Effective_Url".into(), carried, true), url.clone()]
    );
    assert_eq!(
        fixed(&scanned("k-prod", true)),
        vec![("Effective_Url".into(), None, true), url.clone()]
    );
    assert_eq!(
        fixed(&scanned("k-sealed", true)),
        vec![("Effective_Url".into(), None, true), url.clone()]
    );
    assert_eq!(
        fixed(&scanned("k-other", true)),
        vec![("Effective_Url".into(), None, false), url.clone()]
    );
    assert_eq!(
        fixed(&scanned("k-clean", false)),
        vec![("Effective_Url".into(), None, false), url]
    );
}
