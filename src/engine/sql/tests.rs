use std::collections::BTreeMap;

use super::queries::RowQuery;
use super::*;
use crate::change::{Assignment, Change, ChangeKind, EmptyMethod};
use crate::engine::Statement;
use crate::state::desired::{
    ColumnValue, ColumnValues, Condition, Predicate, ResourceKind, RowsAbsent, TableEmpty,
    TableTarget,
};
use crate::state::observed::{Catalog, ResolvedSubselect, TableRef};
use crate::state::Value;
use crate::test_support::{
    change, col, id, name, platform_catalog as catalog, resource, secret_site_properties, text,
};

fn shown(sql: &Sql) -> String {
    let params: Vec<String> = sql.params.iter().map(|p| p.value.to_string()).collect();
    format!("{}\n-- params: [{}]", sql.text, params.join(", "))
}

fn shown_statement(s: &Statement) -> String {
    shown(&Sql {
        text: s.sql.clone(),
        params: s.params.clone(),
    })
}

fn table_query(r: &crate::state::Resource, cat: &Catalog, flavor: Flavor) -> (Select, Layout) {
    let table = r.kind.table().and_then(|t| cat.get(t));
    match drift_query(r, table, cat, flavor).unwrap() {
        RowQuery::Table(select, layout) => (select, layout),
        RowQuery::Check(_) => panic!("a table resource"),
    }
}

/// The drift query of each resource kind.
#[test]
fn drift_queries() {
    let cat = catalog();
    let absent = resource(
        "tokens",
        ResourceKind::RowsAbsent(RowsAbsent {
            table: TableTarget::Name(name("ossys_parameter")),
            filter: vec![Condition {
                column: "name".into(),
                predicate: Predicate::In(vec![
                    text("ClientApplicationToken"),
                    text("privateKeyValidation"),
                ]),
            }],
            if_exists: false,
            label: None,
        }),
        &[],
    );
    let empty = resource(
        "servers",
        ResourceKind::TableEmpty(TableEmpty {
            table: TableTarget::Name(name("ossys_server")),
            if_exists: false,
        }),
        &[],
    );
    let set = resource(
        "secrets",
        ResourceKind::ColumnValues(secret_site_properties()),
        &[],
    );
    let mut out = String::new();
    for r in [&absent, &empty, &set] {
        let (select, layout) = table_query(r, &cat, Flavor::SqlServer);
        out.push_str(&format!(
            "# {}\n{}\n-- layout: {layout:?}\n\n",
            r.id,
            shown(&select.sql())
        ));
    }
    insta::assert_snapshot!(out);
}

/// Every selected column says how it is read: long text and binary columns, single-byte text,
/// and a value looked up from a long column, each by its catalog entry.
#[test]
fn selected_shapes_follow_the_catalog() {
    let mut cat = catalog();
    for t in &mut cat.tables {
        for c in &mut t.info.columns {
            if c.name == "PROPERTY_VALUE" || c.name == "DEFAULT_VALUE" {
                c.long = true;
                c.widest = Some(8_000);
            }
            if c.name == "NAME" && t.info.table.name == "OSSYS_PARAMETER" {
                c.data_type = "varchar".into();
            }
        }
    }
    let set = resource(
        "secrets",
        ResourceKind::ColumnValues(secret_site_properties()),
        &[],
    );
    let (select, _) = table_query(&set, &cat, Flavor::SqlServer);
    let shapes: Vec<Shape> = select.columns.iter().map(|c| c.shape).collect();
    assert_eq!(
        shapes,
        [
            Shape::Plain,
            Shape::Plain,
            Shape::LongText { bound: Some(4_000) },
            Shape::Plain,
            Shape::LongText { bound: Some(4_000) },
        ]
    );
    let absent = resource(
        "p",
        ResourceKind::TableEmpty(TableEmpty {
            table: TableTarget::Name(name("ossys_parameter")),
            if_exists: false,
        }),
        &[],
    );
    let (select, _) = table_query(&absent, &cat, Flavor::SqlServer);
    assert_eq!(select.columns[1].shape, Shape::NarrowText);
    let mut binary = col("CERT", "varbinary", true);
    binary.long = true;
    assert_eq!(Shape::of(&binary), Shape::LongBinary { bound: None });
}

/// A subquery whose values were read renders as a list of them; none read, as a test that
/// matches nothing; values that do not fit the column, as the subquery itself.
#[test]
fn resolved_subselects() {
    let secret = secret_site_properties();
    let Predicate::InSelect(sub) = &secret.filter[0].predicate else {
        unreachable!()
    };
    let query = |values: Vec<Value>| {
        let mut cat = catalog();
        cat.subselects.push(ResolvedSubselect {
            subselect: (**sub).clone(),
            values,
        });
        let r = resource("secrets", ResourceKind::ColumnValues(secret.clone()), &[]);
        shown(&table_query(&r, &cat, Flavor::SqlServer).0.sql())
    };
    let listed = query(vec![Value::Int(6), Value::Int(11)]);
    assert!(
        listed.contains("t.[SITE_PROPERTY_DEFINITION_ID] IN (@P1, @P2)")
            && listed.contains("-- params: [6, 11"),
        "{listed}"
    );
    assert!(!listed.contains("OSSYS_SITE_PROPERTY_DEF_EXT"), "{listed}");
    let none = query(vec![]);
    assert!(none.contains("WHERE 1 = 0 AND"), "{none}");
    let unfit = query(vec![text("not a number")]);
    assert!(
        unfit.contains(
            "IN (SELECT s1.[SITE_PROPERTY_DEFINITION_ID] FROM [dbo].[OSSYS_SITE_PROPERTY_DEF_EXT]"
        ),
        "{unfit}"
    );
    assert!(!unfit.contains("not a number"), "{unfit}");
}

/// A null listed for a NOT NULL column is a test that matches nothing, not an error; on
/// Oracle, '' in a nullable column is a null too.
#[test]
fn listed_nulls() {
    let cat = catalog();
    let absent = |column: &str, values: Vec<Value>| {
        resource(
            "p",
            ResourceKind::RowsAbsent(RowsAbsent {
                table: TableTarget::Name(name("ossys_parameter")),
                filter: vec![Condition {
                    column: column.into(),
                    predicate: Predicate::In(values),
                }],
                if_exists: false,
                label: None,
            }),
            &[],
        )
    };
    let (sql, _) = table_query(&absent("NAME", vec![Value::Null]), &cat, Flavor::SqlServer);
    assert!(sql.rest.contains("WHERE t.[NAME] IS NULL"), "{}", sql.rest);
    let (sql, _) = table_query(
        &absent("VAL", vec![text(""), text("x")]),
        &cat,
        Flavor::Oracle,
    );
    assert!(
        sql.rest.contains(
            "(NLSSORT(t.\"VAL\", 'NLS_SORT=BINARY_AI') IN (NLSSORT(:p1, 'NLS_SORT=BINARY_AI')) OR t.\"VAL\" IS NULL)"
        ),
        "{}",
        sql.rest
    );
    assert_eq!(sql.params.len(), 1);
}

/// Oracle compares a CLOB with DBMS_LOB.COMPARE, never `<>`; other columns as usual.
#[test]
fn oracle_clob_differs() {
    let mut cat = catalog();
    let sp = cat
        .tables
        .iter_mut()
        .find(|t| t.info.table.name == "OSSYS_SITE_PROPERTY")
        .unwrap();
    sp.info.columns[2].data_type = "clob".into();
    let set = ColumnValues {
        table: TableTarget::Name(name("ossys_site_property")),
        filter: vec![],
        set: BTreeMap::from([
            ("PROPERTY_VALUE".into(), ColumnValue::Literal(text("x"))),
            ("USER_MODIFIED".into(), ColumnValue::Literal(Value::Int(0))),
        ]),
        if_exists: false,
        label: None,
    };
    let r = resource("values", ResourceKind::ColumnValues(set), &[]);
    let (sql, _) = table_query(&r, &cat, Flavor::Oracle);
    assert!(
        sql.rest
            .contains("DBMS_LOB.COMPARE(t.\"PROPERTY_VALUE\", :p1) <> 0"),
        "{}",
        sql.rest
    );
    assert!(
        sql.rest.contains("t.\"USER_MODIFIED\" <> :p2"),
        "{}",
        sql.rest
    );
}

/// The statements of each change kind.
#[test]
fn change_statements() {
    let cat = catalog();
    let parameter = cat.get(&name("ossys_parameter")).unwrap().clone();
    let server = cat.get(&name("ossys_server")).unwrap().clone();
    let sp = cat.get(&name("ossys_site_property")).unwrap().clone();
    let secret = secret_site_properties();
    let changes = [
        change(ChangeKind::DeleteRows {
            table: parameter,
            filter: vec![Condition {
                column: "NAME".into(),
                predicate: Predicate::NotIn(vec![text("(Main)")]),
            }],
        }),
        change(ChangeKind::EmptyTable {
            table: server.clone(),
            method: EmptyMethod::Truncate,
        }),
        change(ChangeKind::EmptyTable {
            table: server,
            method: EmptyMethod::Delete {
                reason: "fk".into(),
            },
        }),
        change(ChangeKind::SetColumns {
            table: sp,
            filter: secret.filter.clone(),
            assignments: secret
                .set
                .iter()
                .map(|(c, v)| Assignment {
                    column: c.clone(),
                    value: v.clone(),
                })
                .collect(),
        }),
        change(ChangeKind::RunFix {
            fix: "UPDATE x SET y = 1".into(),
        }),
    ];
    let mut out = String::new();
    for c in &changes {
        for s in statements(c, &cat, Flavor::SqlServer).unwrap() {
            out.push_str(&shown_statement(&s));
            out.push_str("\n\n");
        }
    }
    insta::assert_snapshot!(out);
}

/// Engine-only changes are refused here, naming the engine that makes them.
#[test]
fn engine_only_changes_are_left_to_their_engine() {
    let revoke = change(ChangeKind::RevokeGrants { grants: vec![] });
    assert!(matches!(
        statements(&revoke, &catalog(), Flavor::SqlServer),
        Err(Error::NotOnThisEngine {
            engine: "Oracle",
            ..
        })
    ));
}

/// A host rewrite parks existing replacements, so that it converges; a listed null becomes
/// an IS NULL test.
#[test]
fn replace_and_null_conditions() {
    use crate::state::desired::Replace;
    let cat = catalog();
    let r = resource(
        "hosts",
        ResourceKind::ColumnValues(ColumnValues {
            table: TableTarget::Name(name("ossys_parameter")),
            filter: vec![Condition {
                column: "VAL".into(),
                predicate: Predicate::In(vec![Value::Null, text("")]),
            }],
            set: BTreeMap::from([(
                "VAL".into(),
                ColumnValue::Replace {
                    replace: Replace {
                        from: "prod.example.com".into(),
                        to: "preprod.example.com".into(),
                        source: Some("NAME".into()),
                    },
                },
            )]),
            if_exists: false,
            label: None,
        }),
        &[],
    );
    let (select, _) = table_query(&r, &cat, Flavor::SqlServer);
    insta::assert_snapshot!(shown(&select.sql()));
}

/// Restore statements: missing rows inserted back (identity values kept), modified rows
/// written back by key; NULL as the keyword; only key values are not secret.
#[test]
fn restore_statement_shapes() {
    use crate::journal::{JournaledRow, RestoreAction, RestoreStep};
    let mut columns = vec![
        col("ID", "int", false),
        col("NAME", "nvarchar", false),
        col("CERT", "varbinary", true),
        col("NOTE", "nvarchar", true),
    ];
    columns[0].identity = true;
    let step = |action| RestoreStep {
        change: id("certs"),
        action,
        table: TableRef {
            schema: "dbo".into(),
            name: "OSSYS_MOBILE_CERTIFICATE".into(),
        },
        columns: columns.clone(),
        primary_key: vec!["ID".into()],
        rows: vec![JournaledRow {
            values: vec![
                Value::Int(1),
                text("prod"),
                Value::Bytes(vec![0, 0xAB]),
                Value::Null,
            ],
            after: vec![],
            label: None,
        }],
        set: vec![],
    };
    // An update the journal says wrote NAME: only NAME goes back.
    let mut named = step(RestoreAction::Revert);
    named.set = vec!["NAME".into()];
    named.rows[0].after = vec![text("x")];
    let mut out = Vec::new();
    for step in [
        step(RestoreAction::Reinsert),
        step(RestoreAction::Revert),
        named,
    ] {
        for s in restore_statements(&step, Flavor::SqlServer).unwrap() {
            let secret: Vec<bool> = s.params.iter().map(|p| p.secret).collect();
            out.push(format!("{}\n-- secret: {secret:?}", shown_statement(&s)));
        }
    }
    let verify = verify_query(&step(RestoreAction::Revert), &[0], Flavor::SqlServer);
    out.push(shown(&verify.sql()));
    insta::assert_snapshot!(out.join("\n\n"));
}

/// Reading rows back by a composite key names every key column of each row; a table without
/// a key is read whole.
#[test]
fn verification_reads_by_key() {
    use crate::journal::{JournaledRow, RestoreAction, RestoreStep};
    let mut step = RestoreStep {
        change: id("x"),
        action: RestoreAction::Reinsert,
        table: TableRef {
            schema: "dbo".into(),
            name: "T".into(),
        },
        columns: vec![col("A", "int", false), col("B", "nvarchar", false)],
        primary_key: vec!["A".into(), "B".into()],
        rows: [[Value::Int(1), text("x")], [Value::Int(2), text("y")]]
            .into_iter()
            .map(|values| JournaledRow {
                values: values.to_vec(),
                after: vec![],
                label: None,
            })
            .collect(),
        set: vec![],
    };
    let q = verify_query(&step, &[0, 1], Flavor::SqlServer);
    assert_eq!(
        q.rest,
        " FROM [dbo].[T] AS t WHERE (t.[A] = @P1 AND t.[B] = @P2) OR (t.[A] = @P3 AND t.[B] = @P4)"
    );
    step.primary_key.clear();
    assert_eq!(
        verify_query(&step, &[0], Flavor::SqlServer).rest,
        " FROM [dbo].[T] AS t"
    );
}

/// Values of a secret resource are secret parameters; filter values are not.
#[test]
fn secret_resource_masks_set_values_only() {
    let cat = catalog();
    let mut r = resource(
        "creds",
        ResourceKind::ColumnValues(ColumnValues {
            table: TableTarget::Name(name("ossys_parameter")),
            filter: vec![Condition {
                column: "NAME".into(),
                predicate: Predicate::In(vec![text("k")]),
            }],
            set: BTreeMap::from([("VAL".into(), ColumnValue::Literal(text(" ")))]),
            if_exists: false,
            label: None,
        }),
        &[],
    );
    r.secret = true;
    let (select, _) = table_query(&r, &cat, Flavor::SqlServer);
    let secrets: Vec<bool> = select.params.iter().map(|p| p.secret).collect();
    assert_eq!(secrets, vec![false, true]);
}

/// A column that is not in the catalog is an error, never pasted into SQL.
#[test]
fn unknown_column_is_refused() {
    let cat = catalog();
    let r = resource(
        "x",
        ResourceKind::RowsAbsent(RowsAbsent {
            table: TableTarget::Name(name("ossys_parameter")),
            filter: vec![Condition {
                column: "NAME]; DROP TABLE x; --".into(),
                predicate: Predicate::In(vec![text("a")]),
            }],
            if_exists: false,
            label: None,
        }),
        &[],
    );
    let err = drift_query(
        &r,
        cat.get(&name("ossys_parameter")),
        &cat,
        Flavor::SqlServer,
    )
    .unwrap_err();
    assert!(
        matches!(&err, Error::UnknownColumn { column, .. } if column.starts_with("NAME]")),
        "{err}"
    );
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
    let capture = capture_query(&c, &cat, Flavor::SqlServer).unwrap().unwrap();
    assert_eq!(
        capture.select.text(),
        "SELECT t.[ID], t.[NAME], t.[VAL] FROM [dbo].[OSSYS_PARAMETER] AS t ORDER BY t.[ID]"
    );
    assert_eq!(
        (capture.columns, capture.written, capture.label),
        (3, 0, false)
    );
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
        ..change(ChangeKind::SetColumns {
            table,
            filter: vec![],
            assignments: vec![Assignment {
                column: "VAL".into(),
                value: ColumnValue::Literal(text("off")),
            }],
        })
    };
    let capture = capture_query(&c, &cat, Flavor::SqlServer).unwrap().unwrap();
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
            },
            Condition {
                column: "NEXT_RUN".into(),
                predicate: due,
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
    // `due:` on a column that holds no date is refused, naming it.
    let cat = Catalog {
        tables: vec![ResolvedTable {
            requested: name("ossys_meta_cyclic_job"),
            info: meta,
        }],
        subselects: vec![],
    };
    let wrong = resource(
        "wrong",
        ResourceKind::Report(Report {
            table: TableTarget::Name(name("ossys_meta_cyclic_job")),
            filter: vec![Condition {
                column: "NAME".into(),
                predicate: Predicate::Due(true),
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
    )
    .unwrap_err();
    assert_eq!(
        err.to_string(),
        "column NAME (nvarchar) holds no date: `due:` compares a date with the database's clock"
    );
}
