use std::collections::BTreeMap;

mod rows;

use super::queries::RowQuery;
use super::*;
use crate::change::{Assignment, ChangeKind, EmptyMethod};
use crate::sql::ident::QuotedIdent;
use crate::sql::Statement;
use crate::state::desired::{
    ColumnValue, ColumnValues, Condition, Predicate, ResourceKind, RowsAbsent, TableEmpty,
    TableTarget,
};
use crate::state::observed::{Catalog, ResolvedSubselect, TableRef};
use crate::state::Value;
use crate::test_support::{
    change, col, id, name, platform_catalog as catalog, resource, secret_site_properties, text,
};

pub(super) fn shown(sql: &Sql) -> String {
    let params: Vec<String> = sql.params.iter().map(|p| p.value.to_string()).collect();
    format!("{}\n-- params: [{}]", sql.text, params.join(", "))
}

pub(super) fn shown_statement(s: &Statement) -> String {
    shown(&Sql {
        text: s.sql.clone(),
        params: s.params.clone(),
    })
}

pub(super) fn table_query(
    r: &crate::state::Resource<crate::state::desired::Inspected>,
    cat: &Catalog,
    flavor: Flavor,
) -> (Select, Layout) {
    let table = r.kind.table().and_then(|t| cat.get(t));
    match drift_query(r, table, cat, flavor, &Neighbours::default()).unwrap() {
        RowQuery::Table(select, layout) => (select, layout),
        RowQuery::Check(_) | RowQuery::Scan(..) => panic!("a table resource"),
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
                ignore_case: false,
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
            Shape::LongText { bound: None },
            Shape::Plain,
            Shape::LongText { bound: None },
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
                    ignore_case: false,
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
                ignore_case: false,
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
                ignore_case: false,
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
    let (host, _) = table_query(&r, &cat, Flavor::SqlServer);
    // The same rewrite as plain text: the database's REPLACE, in the query.
    let mut text_rewrite = r.clone();
    if let ResourceKind::ColumnValues(k) = &mut text_rewrite.kind {
        let Some(ColumnValue::Replace { replace }) = k.set.remove("VAL") else {
            panic!("a replace");
        };
        k.set.insert(
            "VAL".into(),
            ColumnValue::ReplaceText {
                replace_text: replace,
            },
        );
    }
    let (plain, _) = table_query(&text_rewrite, &cat, Flavor::SqlServer);
    insta::assert_snapshot!(format!(
        "# replace (host, computed row by row)\n{}\n\n# replace_text\n{}",
        shown(&host.sql()),
        shown(&plain.sql())
    ));
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
        count: 1,
        written_known: false,
        span: None,
    };
    // An update the journal says wrote NAME: only NAME goes back.
    let mut named = step(RestoreAction::Revert);
    named.set = vec!["NAME".into()];
    named.rows[0].after = vec![text("x")];
    named.written_known = true;
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

/// Reading rows back by a composite key names every key column of each row (joined with a
/// list of keys on SQL Server), each row read with the position of the key it matched; a
/// table without a key is read whole.
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
        count: 2,
        written_known: false,
        span: None,
    };
    let q = verify_query(&step, &[0, 1], Flavor::SqlServer);
    assert_eq!(
        q.text(),
        "SELECT v.n, t.[A], t.[B] FROM [dbo].[T] AS t INNER JOIN (VALUES (0, @P1, @P2), (1, @P3, @P4)) AS v(n, k0, k1) ON t.[A] = v.k0 AND t.[B] = v.k1"
    );
    // Keys are typed as their columns (the embedded engine joins only equal types).
    assert_eq!(
        q.params.iter().map(|p| p.column_type).collect::<Vec<_>>(),
        [Some(ColumnType::Int), Some(ColumnType::NVarChar)].repeat(2)
    );
    let q = verify_query(&step, &[0, 1], Flavor::Oracle);
    assert_eq!(
        q.text(),
        "SELECT CASE WHEN (t.\"A\" = :p1 AND t.\"B\" = :p2) THEN 0 WHEN (t.\"A\" = :p3 AND t.\"B\" = :p4) THEN 1 END, t.\"A\", t.\"B\" FROM \"dbo\".\"T\" t WHERE (t.\"A\" = :p1 AND t.\"B\" = :p2) OR (t.\"A\" = :p3 AND t.\"B\" = :p4)"
    );
    let one = key_query(&step, &step.rows[1], Flavor::SqlServer).unwrap();
    assert_eq!(
        one.text(),
        "SELECT t.[A], t.[B] FROM [dbo].[T] AS t WHERE t.[A] = @P1 AND t.[B] = @P2"
    );
    step.primary_key.clear();
    assert_eq!(
        verify_query(&step, &[0], Flavor::SqlServer).rest,
        " FROM [dbo].[T] AS t"
    );
    assert!(key_query(&step, &step.rows[0], Flavor::SqlServer).is_none());
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
                ignore_case: false,
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
                ignore_case: false,
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
        &Neighbours::default(),
    )
    .unwrap_err();
    assert!(
        matches!(&err, Error::UnknownColumn { column, .. } if column.starts_with("NAME]")),
        "{err}"
    );
}

/// Rows of a table another resource masks are named by their primary key only, whatever the
/// resource's own filter reads (a filter on a personal column would show it). See: issue 21
#[test]
fn rows_of_a_personal_table_are_named_by_key_only_issue_21() {
    let cat = catalog();
    let r = resource(
        "tokens",
        ResourceKind::RowsAbsent(RowsAbsent {
            table: TableTarget::Name(name("ossys_parameter")),
            filter: vec![Condition {
                column: "NAME".into(),
                predicate: Predicate::In(vec![text("ClientApplicationToken")]),
                ignore_case: false,
            }],
            if_exists: false,
            label: None,
        }),
        &[],
    );
    let table = cat.get(&name("ossys_parameter"));
    let keys = |personal: bool| {
        let neighbours = Neighbours {
            personal,
            ..Neighbours::default()
        };
        match drift_query(&r, table, &cat, Flavor::SqlServer, &neighbours).unwrap() {
            RowQuery::Table(_, Layout::Keyed { keys, columns, .. }) => {
                keys.iter().map(|&k| columns[k].clone()).collect::<Vec<_>>()
            }
            _ => panic!("a table query"),
        }
    };
    assert_eq!(keys(false), ["ID", "NAME"]);
    assert_eq!(keys(true), ["ID"]);
}

/// A deleted row of a table without a primary key goes back unless the very same row is there:
/// every text compared as its bytes (a row differing only in case is another row, under a
/// case-insensitive collation too), and no long column (`ntext`, `image`; `CLOB`, `BLOB`)
/// compared with `=`, which neither engine accepts. See: issue 35
#[test]
fn rows_without_a_key_are_matched_exactly_issue_35() {
    use crate::journal::{JournaledRow, RestoreAction, RestoreStep};
    let step = |columns: Vec<ColumnInfo>, values: Vec<Value>| RestoreStep {
        change: id("audit"),
        action: RestoreAction::Reinsert,
        table: TableRef {
            schema: "dbo".into(),
            name: "OSLOG_GENERAL".into(),
        },
        columns,
        primary_key: vec![],
        rows: vec![JournaledRow {
            values,
            after: vec![],
            label: None,
        }],
        set: vec![],
        count: 1,
        written_known: false,
        span: None,
    };
    // Each column's type on either engine (none: not on that engine), and its value.
    let columns: [(&str, Option<&str>, Option<&str>, Value); 7] = [
        ("TENANT_ID", Some("int"), Some("number"), Value::Int(1)),
        (
            "MESSAGE",
            Some("nvarchar"),
            Some("nvarchar2"),
            text("Login OK"),
        ),
        ("MODULE", Some("varchar"), Some("varchar2"), text("Users")),
        ("STACK", Some("ntext"), Some("nclob"), text("at Foo()")),
        ("DETAIL", None, Some("clob"), text("detail")),
        (
            "PAYLOAD",
            Some("image"),
            Some("blob"),
            Value::Bytes(vec![1, 2]),
        ),
        (
            "HASH",
            Some("varbinary"),
            Some("raw"),
            Value::Bytes(vec![3]),
        ),
    ];
    let on = |oracle: bool| {
        let kept = columns
            .iter()
            .filter_map(|(name, sqlserver, other, value)| {
                let ty = if oracle { other } else { sqlserver };
                ty.map(|ty| (col(name, ty, *name != "TENANT_ID"), value.clone()))
            });
        let (columns, values): (Vec<ColumnInfo>, Vec<Value>) = kept.unzip();
        step(columns, values)
    };
    let (sqlserver, oracle) = (on(false), on(true));
    let mut out = Vec::new();
    for (step, flavor) in [(sqlserver, Flavor::SqlServer), (oracle, Flavor::Oracle)] {
        let statements = restore_statements(&step, flavor).unwrap();
        assert_eq!(statements.len(), 1);
        let sql = &statements[0].sql;
        // Only the number and the short binary are compared with a bare `=`.
        for column in &step.columns {
            let bare = format!("s1.{} = ", QuotedIdent::column(column, flavor.quote()));
            let plain = matches!(column.data_type.as_str(), "int" | "number" | "raw");
            assert_eq!(
                sql.contains(&bare),
                plain,
                "{flavor:?} {}: {sql}",
                column.name
            );
        }
        out.push(shown_statement(&statements[0]));
    }
    insta::assert_snapshot!(out.join("\n\n"));
}

/// One statement never binds more than SQL Server's 2,100 parameters: a subquery's 999
/// values read when inspecting plus the keys a carry of 1,800 rows leaves out would be 2,800,
/// so the subquery is left to test itself. See: issue 35
#[test]
fn a_statement_stays_under_the_parameter_limit_issue_35() {
    use crate::state::desired::{CarriedRow, CarriedRows, CarriedValue, KeyPart};
    let mut secret = secret_site_properties();
    let Predicate::InSelect(sub) = &secret.filter[0].predicate else {
        unreachable!()
    };
    let mut cat = catalog();
    cat.subselects.push(ResolvedSubselect {
        subselect: (**sub).clone(),
        values: (1..1_000).map(Value::Int).collect(),
    });
    let rows = (0..1_800)
        .map(|n| {
            let key = vec![n.to_string()];
            let row = CarriedRow {
                key: vec![Value::Int(n)],
                ..CarriedRow::default()
            };
            (key, row)
        })
        .collect();
    let carried = |rows| CarriedValue {
        resource: id("carried"),
        column: "PROPERTY_VALUE".into(),
        parts: vec![KeyPart {
            column: "ID".into(),
            through: vec![],
        }],
        rows: std::sync::Arc::new(CarriedRows {
            parts: vec!["ID".into()],
            rows,
            insert_columns: vec![],
        }),
        only_in_clone: None,
    };
    secret.filter.push(Condition {
        column: "ID".into(),
        predicate: Predicate::NotCarried(Box::new(carried(rows))),
        ignore_case: false,
    });
    let r = resource("secrets", ResourceKind::ColumnValues(secret.clone()), &[]);
    let (query, _) = table_query(&r, &cat, Flavor::SqlServer);
    assert!(
        query.params.len() <= 2_100,
        "{} parameters",
        query.params.len()
    );
    assert!(
        shown(&query.sql()).contains("IN (SELECT s1.[SITE_PROPERTY_DEFINITION_ID]"),
        "the subquery tests itself"
    );
    // Without the carry the values fit, and are listed.
    secret.filter.pop();
    let r = resource("secrets", ResourceKind::ColumnValues(secret), &[]);
    let (query, _) = table_query(&r, &cat, Flavor::SqlServer);
    assert!(
        query.params.len() >= 999,
        "{} parameters",
        query.params.len()
    );
}

/// A journaled date goes back in the one form the statement converts, whatever form the client
/// library read it in (Oracle's `2026-11-29 10:00:00`, which `TO_DATE` with `"T"` written out
/// would refuse): keyed rows (batched) and key-less ones (guarded) alike.
#[test]
fn journaled_dates_go_back_in_the_converted_form() {
    use crate::journal::{JournaledRow, RestoreAction, RestoreStep};
    let step = |key: &[&str]| RestoreStep {
        change: id("timers"),
        action: RestoreAction::Reinsert,
        table: TableRef {
            schema: "OSADMIN".into(),
            name: "OSSYS_CYCLIC_JOB_SHARED".into(),
        },
        columns: vec![
            col("META_CYCLIC_JOB_ID", "number", false),
            col("NEXT_RUN", "date", true),
        ],
        primary_key: key.iter().map(ToString::to_string).collect(),
        rows: vec![JournaledRow {
            values: vec![Value::Int(7), text("2026-11-29 10:00:00")],
            after: vec![],
            label: None,
        }],
        set: vec![],
        count: 1,
        written_known: false,
        span: None,
    };
    for key in [&["META_CYCLIC_JOB_ID"][..], &[]] {
        let statements = restore_statements(&step(key), Flavor::Oracle).unwrap();
        let s = &statements[0];
        assert!(s.sql.contains("TO_DATE("), "{}", s.sql);
        assert!(
            s.params
                .iter()
                .any(|p| p.value == text("2026-11-29T10:00:00")),
            "{key:?}: {:?}",
            s.params
        );
    }
}
