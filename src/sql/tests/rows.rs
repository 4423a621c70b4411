//! The queries and statements of what postclone reads and writes row by row: journal
//! captures, host-rewrite statements, scans for production's hosts, and the quarantine's
//! date conditions.

use std::collections::BTreeMap;

use super::super::*;
use super::{shown, shown_statement, table_query};
use crate::change::{Assignment, Change, ChangeKind, EmptyMethod};
use crate::state::desired::{
    ColumnValue, ColumnValues, Condition, Predicate, ResourceKind, TableTarget,
};
use crate::state::observed::Catalog;
use crate::state::Value;
use crate::test_support::{change, col, id, name, platform_catalog as catalog, resource, text};

/// A change that sets one column of `table` on every row.
fn set_one(
    table: crate::state::observed::TableInfo,
    column: &str,
    value: ColumnValue<crate::state::desired::Inspected>,
) -> Change {
    change(ChangeKind::SetColumns {
        table,
        filter: vec![],
        assignments: vec![Assignment {
            column: column.into(),
            value,
        }],
    })
}

/// Capture reads whole rows, each column with its shape, in key order.
#[test]
fn capture_reads_whole_rows() {
    let cat = catalog();
    let c = Change {
        kind: ChangeKind::EmptyTable {
            table: cat.get(&name("ossys_parameter")).unwrap().clone(),
            method: EmptyMethod::Truncate,
        },
        ..change(ChangeKind::RunFix { fix: String::new() })
    };
    let capture = capture_query(&c, &cat, Flavor::SqlServer, None)
        .unwrap()
        .unwrap();
    assert_eq!(
        capture.select.text(),
        "SELECT t.[ID], t.[NAME], t.[VAL] FROM [dbo].[OSSYS_PARAMETER] AS t ORDER BY t.[ID]"
    );
    assert_eq!(
        (capture.columns, capture.written, capture.label),
        (3, vec![], false)
    );
}

/// A page of a capture starts after the previous page's last key and holds a bounded number
/// of rows, in key order, on both engines; a composite key compares column by column; a key
/// of the wrong length is an error, never a query.
#[test]
fn capture_pages_by_key() {
    let cat = catalog();
    let mut table = cat.get(&name("ossys_parameter")).unwrap().clone();
    let c = |table: crate::state::observed::TableInfo| {
        set_one(table, "VAL", ColumnValue::Literal(text("off")))
    };
    let first = Page {
        after: None,
        rows: 2_000,
    };
    let capture = capture_query(&c(table.clone()), &cat, Flavor::SqlServer, Some(first))
        .unwrap()
        .unwrap();
    assert_eq!(
        capture.select.text(),
        "SELECT t.[ID], t.[NAME], t.[VAL], @P1 FROM [dbo].[OSSYS_PARAMETER] AS t WHERE ((t.[VAL] <> @P1 OR t.[VAL] IS NULL)) ORDER BY t.[ID] OFFSET 0 ROWS FETCH NEXT 2000 ROWS ONLY"
    );
    let after = [Value::Int(41)];
    let next = Page {
        after: Some(&after),
        rows: 2_000,
    };
    let capture = capture_query(&c(table.clone()), &cat, Flavor::Oracle, Some(next))
        .unwrap()
        .unwrap();
    assert_eq!(
        capture.select.text(),
        "SELECT t.\"ID\", t.\"NAME\", t.\"VAL\", :p1 FROM \"dbo\".\"OSSYS_PARAMETER\" t WHERE (((t.\"VAL\" <> :p1 OR t.\"VAL\" IS NULL))) AND ((t.\"ID\" > :p2)) ORDER BY t.\"ID\" OFFSET 0 ROWS FETCH NEXT 2000 ROWS ONLY"
    );
    assert_eq!(
        capture.select.params.last().map(|p| &p.value),
        Some(&Value::Int(41))
    );
    table.primary_key = vec!["ID".into(), "NAME".into()];
    let after = [Value::Int(41), text("Timer")];
    let next = Page {
        after: Some(&after),
        rows: 10,
    };
    let capture = capture_query(&c(table.clone()), &cat, Flavor::SqlServer, Some(next))
        .unwrap()
        .unwrap();
    assert!(
        capture.select.text().ends_with(
            "AND ((t.[ID] > @P2) OR (t.[ID] = @P3 AND t.[NAME] > @P4)) ORDER BY t.[ID], t.[NAME] OFFSET 0 ROWS FETCH NEXT 10 ROWS ONLY"
        ),
        "{}",
        capture.select.text()
    );
    let short = [Value::Int(41)];
    let wrong = Page {
        after: Some(&short),
        rows: 10,
    };
    assert!(matches!(
        capture_query(&c(table), &cat, Flavor::SqlServer, Some(wrong)),
        Err(Error::PageKey {
            expected: 2,
            given: 1,
            ..
        })
    ));
}

/// An update's capture also reads the value each set column receives (computed as the update
/// computes it) and the row's name, and splits them off the row for the journal.
#[test]
fn capture_of_an_update_reads_written_values_and_names() {
    use crate::state::desired::Describe;
    let cat = catalog();
    let table = cat.get(&name("ossys_parameter")).unwrap().clone();
    let c = Change {
        row_label: Some(Describe::Column {
            column: "NAME".into(),
        }),
        ..set_one(table, "VAL", ColumnValue::Literal(text("off")))
    };
    let capture = capture_query(&c, &cat, Flavor::SqlServer, None)
        .unwrap()
        .unwrap();
    assert_eq!(
        capture.select.text(),
        "SELECT t.[ID], t.[NAME], t.[VAL], @P1, t.[NAME] FROM [dbo].[OSSYS_PARAMETER] AS t WHERE ((t.[VAL] <> @P1 OR t.[VAL] IS NULL)) ORDER BY t.[ID]"
    );
    let image = capture.image(vec![
        Value::Int(1),
        text("Timer "),
        text("on"),
        text("off"),
        text("Timer "),
    ]);
    assert_eq!(
        image.values,
        vec![Value::Int(1), text("Timer "), text("on")]
    );
    assert_eq!(image.after, vec![text("off")]);
    assert_eq!(image.label.as_deref(), Some("Timer"));
}

/// A timer table's quarantine in both flavors: `due:` against the database clock, a date
/// literal converted with an explicit format (cast on SQL Server, `TO_DATE` on Oracle), and
/// the timer's name read as each row's label.
#[test]
fn quarantine_queries() {
    use crate::state::desired::{Describe, Lookup, Report};
    use crate::state::observed::ResolvedTable;
    use crate::test_support::info;
    let timer = |ty: &str| {
        info(
            "OSSYS_CYCLIC_JOB_SHARED",
            vec![
                col("META_CYCLIC_JOB_ID", "int", false),
                col("NEXT_RUN", ty, true),
                col("IS_RUNNING_SINCE", ty, true),
            ],
            &["META_CYCLIC_JOB_ID"],
        )
    };
    let meta = info(
        "OSSYS_META_CYCLIC_JOB",
        vec![col("ID", "int", false), col("NAME", "nvarchar", false)],
        &["ID"],
    );
    let label = Describe::Lookup {
        lookup: Lookup {
            table: name("ossys_meta_cyclic_job"),
            column: "NAME".into(),
            on: BTreeMap::from([("ID".into(), "META_CYCLIC_JOB_ID".into())]),
        },
    };
    let idle = |due: Predicate| {
        vec![
            Condition {
                column: "IS_RUNNING_SINCE".into(),
                predicate: Predicate::In(vec![Value::Null]),
                ignore_case: false,
            },
            Condition {
                column: "NEXT_RUN".into(),
                predicate: due,
                ignore_case: false,
            },
        ]
    };
    let overdue = resource(
        "timers-overdue",
        ResourceKind::Report(Report {
            table: TableTarget::Name(name("ossys_cyclic_job_shared")),
            filter: idle(Predicate::Due(true)),
            label: Some(label.clone()),
            details: BTreeMap::new(),
            if_exists: false,
        }),
        &[],
    );
    let quarantined = resource(
        "quarantined-timers",
        ResourceKind::ColumnValues(ColumnValues {
            table: TableTarget::Name(name("ossys_cyclic_job_shared")),
            filter: idle(Predicate::NotIn(vec![Value::Null])),
            set: BTreeMap::from([("NEXT_RUN".into(), ColumnValue::Literal(text("9999-12-31")))]),
            if_exists: false,
            label: Some(label),
        }),
        &[],
    );
    let mut out = String::new();
    for (flavor, ty) in [(Flavor::SqlServer, "datetime"), (Flavor::Oracle, "date")] {
        let cat = Catalog {
            tables: vec![
                ResolvedTable {
                    requested: name("ossys_cyclic_job_shared"),
                    info: timer(ty),
                },
                ResolvedTable {
                    requested: name("ossys_meta_cyclic_job"),
                    info: meta.clone(),
                },
            ],
            subselects: vec![],
            unique_indexes: Vec::new(),
            triggers: Vec::new(),
        };
        for r in [&overdue, &quarantined] {
            let (select, layout) = table_query(r, &cat, flavor);
            out.push_str(&format!(
                "# {} ({flavor:?})\n{}\n-- layout: {layout:?}\n\n",
                r.id,
                shown(&select.sql())
            ));
        }
    }
    insta::assert_snapshot!(out);
}

/// `due:` on a column that holds no date is refused, naming it.
#[test]
fn due_needs_a_date() {
    use crate::state::desired::Report;
    use crate::state::observed::ResolvedTable;
    use crate::test_support::info;
    let meta = info(
        "OSSYS_META_CYCLIC_JOB",
        vec![col("ID", "int", false), col("NAME", "nvarchar", false)],
        &["ID"],
    );
    let cat = Catalog {
        tables: vec![ResolvedTable {
            requested: name("ossys_meta_cyclic_job"),
            info: meta,
        }],
        subselects: vec![],
        unique_indexes: Vec::new(),
        triggers: Vec::new(),
    };
    let wrong = resource(
        "wrong",
        ResourceKind::Report(Report {
            table: TableTarget::Name(name("ossys_meta_cyclic_job")),
            filter: vec![Condition {
                column: "NAME".into(),
                predicate: Predicate::Due(true),
                ignore_case: false,
            }],
            label: None,
            details: BTreeMap::new(),
            if_exists: false,
        }),
        &[],
    );
    let err = drift_query(
        &wrong,
        cat.get(&name("ossys_meta_cyclic_job")),
        &cat,
        Flavor::SqlServer,
        &Neighbours::default(),
    )
    .unwrap_err();
    assert_eq!(
        err.to_string(),
        "column NAME (nvarchar) holds no date: `due:` compares a date with the database's clock"
    );
}

/// A scan reads key and text columns of the rows whose text contains a pattern (one query,
/// every pattern), flags rows a secret resource covers and rows another resource deletes,
/// reads the stable key of a carried resource's rows; a column that is not text is not
/// scanned and is named.
#[test]
fn scan_queries() {
    use crate::state::desired::ScanScope;
    let cat = catalog();
    let scope = ScanScope {
        table: TableTarget::Name(name("ossys_parameter")),
        columns: vec!["VAL".into(), "NAME".into(), "ID".into()],
        filter: vec![],
        secret: false,
        if_exists: false,
    };
    let patterns = vec![
        crate::state::host::HostPattern::parse("prod.example.com").unwrap(),
        crate::state::host::HostPattern::parse("10.20.30.40").unwrap(),
    ];
    let secret = vec![Condition {
        column: "NAME".into(),
        predicate: Predicate::In(vec![text("ClientApplicationToken")]),
        ignore_case: false,
    }];
    let tokens = id("tokens");
    let removers = [(&tokens, secret.as_slice())];
    let secret_rows = [secret.as_slice()];
    let carried = id("carried-values");
    let value = crate::state::desired::CarriedValue {
        resource: carried.clone(),
        column: "VAL".into(),
        parts: vec![crate::state::desired::KeyPart {
            column: "NAME".into(),
            through: vec![],
        }],
        rows: std::sync::Arc::default(),
        only_in_clone: None,
    };
    let carriers = [crate::sql::Carrier {
        id: &carried,
        filter: &[],
        values: vec![&value],
    }];
    let neighbours = Neighbours {
        personal: false,
        secret_rows: &secret_rows,
        removers: &removers,
        carriers: &carriers,
    };
    let table = cat.get(&name("ossys_parameter")).unwrap();
    let mut out = Vec::new();
    for flavor in [Flavor::SqlServer, Flavor::Oracle] {
        let (select, layout) =
            scan_query(table, &scope, &patterns, &cat, flavor, &neighbours).unwrap();
        out.push(format!("{}\n-- layout: {layout:?}", shown(&select.sql())));
    }
    insta::assert_snapshot!(out.join("\n\n"));
}

/// A host rewrite's rows are written by key, in batches, each row with its own value; a NULL
/// is written as the keyword. Both flavors.
#[test]
fn rewrite_statements_by_key() {
    use crate::journal::RowImage;
    use crate::state::desired::Replace;
    let cat = catalog();
    let table = cat.get(&name("ossys_parameter")).unwrap().clone();
    let c = set_one(
        table,
        "VAL",
        ColumnValue::Replace {
            replace: Replace {
                from: "prod.example.com".into(),
                to: "preprod.example.com".into(),
                source: None,
            },
        },
    );
    let rows = vec![
        RowImage {
            values: vec![Value::Int(1), text("Api"), text("https://prod.example.com")],
            after: vec![text("https://preprod.example.com")],
            label: None,
        },
        RowImage {
            values: vec![Value::Int(2), text("Gone"), text("x")],
            after: vec![Value::Null],
            label: None,
        },
    ];
    let mut out = Vec::new();
    for flavor in [Flavor::SqlServer, Flavor::Oracle] {
        for s in rewrite_statements(&c, &rows, flavor).unwrap() {
            out.push(shown_statement(&s));
        }
    }
    insta::assert_snapshot!(out.join("\n\n"));
    assert!(statements(&c, &cat, Flavor::SqlServer).unwrap().is_empty());
}

/// A change whose column its table does not hold (a saved plan edited by hand) is an error
/// naming the column, never a write into another column.
#[test]
fn rewrite_of_an_unknown_column_is_an_error() {
    use crate::journal::RowImage;
    let cat = catalog();
    let table = cat.get(&name("ossys_parameter")).unwrap().clone();
    let c = set_one(
        table,
        "NOT_THERE",
        ColumnValue::Mask {
            mask: crate::state::masking::MaskMethod::Redact,
        },
    );
    let rows = vec![RowImage {
        values: vec![Value::Int(1), text("Api"), text("x")],
        after: vec![text("[redacted]")],
        label: None,
    }];
    let err = rewrite_statements(&c, &rows, Flavor::SqlServer).unwrap_err();
    assert!(
        matches!(&err, Error::UnknownColumn { column, .. } if column == "NOT_THERE"),
        "{err}"
    );
}

/// A masked resource in both flavors: rows holding a value are read (masking is computed by
/// postclone with the key, row by row), keyed by the primary key only (a filter's columns
/// would show personal data), and written by key in batches.
#[test]
fn masking_queries() {
    use crate::journal::RowImage;
    use crate::state::desired::Masked;
    use crate::state::masking::MaskMethod;
    let cat = catalog();
    let mut r = resource(
        "end-users",
        ResourceKind::Masked(Masked {
            module: None,
            entity: None,
            table: Some(TableTarget::Name(name("ossys_parameter"))),
            attributes: BTreeMap::from([("VAL".into(), MaskMethod::Email)]),
            filter: vec![Condition {
                column: "NAME".into(),
                predicate: Predicate::NotIn(vec![text("admin")]),
                ignore_case: true,
            }],
            if_exists: false,
            uncovered: crate::state::desired::Uncovered::Report,
        }),
        &[],
    );
    r.personal = true;
    let table = cat.get(&name("ossys_parameter")).unwrap().clone();
    let c = change(ChangeKind::SetColumns {
        table,
        filter: r.kind.filter().to_vec(),
        assignments: vec![Assignment {
            column: "VAL".into(),
            value: ColumnValue::Mask {
                mask: MaskMethod::Email,
            },
        }],
    });
    let image = RowImage {
        values: vec![Value::Int(3), text("alice"), text("alice@customer.example")],
        after: vec![text("p0123456789ab@example.com")],
        label: None,
    };
    let mut out = Vec::new();
    for flavor in [Flavor::SqlServer, Flavor::Oracle] {
        let (select, layout) = table_query(&r, &cat, flavor);
        out.push(format!(
            "# {flavor:?}\n{}\n-- layout: {layout:?}",
            shown(&select.sql())
        ));
        for s in rewrite_statements(&c, std::slice::from_ref(&image), flavor).unwrap() {
            out.push(shown_statement(&s));
        }
    }
    let text = out.join("\n\n");
    assert!(!text.contains("alice@customer.example"), "{text}");
    insta::assert_snapshot!(text);
}
