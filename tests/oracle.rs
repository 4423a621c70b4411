//! Oracle: the profile's SQL in Oracle's flavor (snapshot), the Data Pump parameter files, the
//! client library path, and a live test for a real server (`POSTCLONE_ORACLE_TEST`).
//!
//! No Oracle server runs here. The profile's Oracle statements are rendered from a real plan:
//! the synthetic clone is inspected on the embedded engine, its catalog retyped as Oracle
//! reports such tables (NUMBER, NVARCHAR2, the OSADMIN schema), and every change and query
//! written in Oracle's flavor.

use std::fmt::Write as _;

use postclone::change::{ChangeKind, Dialect};
use postclone::engine::sqlserver::SqlServer;
use postclone::sql::{self, Flavor};
use postclone::state::observed::Catalog;

use crate::common::{root, Test, TestServer};

/// SQL Server types as Oracle's catalog would report the same platform columns.
fn oracle_type(sqlserver: &str) -> &'static str {
    match sqlserver {
        "int" | "bigint" | "smallint" | "tinyint" | "bit" | "decimal" | "numeric" => "number",
        "varbinary" | "binary" | "image" => "blob",
        "datetime" | "datetime2" | "date" => "date",
        "nvarchar" | "nchar" | "ntext" => "nvarchar2",
        _ => "varchar2",
    }
}

fn to_oracle(catalog: &mut Catalog) {
    for t in &mut catalog.tables {
        t.info.table.schema = "OSADMIN".into();
        for c in &mut t.info.columns {
            c.data_type = match (c.long, oracle_type(&c.data_type)) {
                // The platform's long text and binary data are LOBs on Oracle.
                (true, "nvarchar2" | "varchar2") => "nclob",
                (_, other) => other,
            }
            .into();
            c.identity = false;
        }
    }
}

fn shown(text: &str, params: &[postclone::sql::Param]) -> String {
    let mut out = text.to_string();
    for (i, p) in params.iter().enumerate() {
        let value = if p.secret {
            "(sensitive value)".to_string()
        } else {
            p.value.to_string()
        };
        let _ = write!(out, "\n  -- :p{} = {value}", i + 1);
    }
    out
}

/// Every statement and query of the plan of `spec` (a file) against `server`, in Oracle's
/// flavor: the catalog read on the embedded engine, retyped as Oracle reports such tables.
/// Captured values are opened with `identity` (an identity file) when given.
pub fn oracle_sql(
    server: &TestServer,
    spec: &std::path::Path,
    identity: Option<&std::path::Path>,
) -> String {
    let desired = postclone::spec::load(spec).expect("spec loads");
    let identities =
        identity.map(|p| postclone::journal::Identities::from_file(p).expect("identity"));
    let opened = desired
        .open_captured(&mut |sealed, bound| {
            identities
                .as_ref()
                .map(|ids| ids.open_values(sealed, bound))
                .transpose()
        })
        .expect("captured values open");
    let connection = server.connection("OS_PREPROD");
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let (mut engine, desired, mut observed) = runtime.block_on(async {
        let engine = SqlServer::connect(&connection).await.expect("connect");
        let mut run = postclone::run::Run::new(engine, postclone::run::Keys::default());
        run.opened = opened;
        let found = run.inspect(&desired).await.expect("inspect");
        (run.engine, found.resolved, found.observed)
    });
    // The rows of a row-computed change (host rewrites, carried values) are read as apply reads
    // them, with the plan of the engine that holds them.
    let here = postclone::plan::build(
        &desired,
        &observed,
        &Dialect {
            truncate_in_transaction: true,
            empty_string_is_null: false,
        },
        None,
    )
    .expect("plan");
    to_oracle(&mut observed.catalog);
    for r in &mut observed.resources {
        if let postclone::state::observed::ObservedResource::Inspected { table: Some(t), .. } = r {
            if let Some(info) = observed
                .catalog
                .tables
                .iter()
                .find(|x| x.info.table.name == t.table.name)
            {
                *t = info.info.clone();
            }
        }
    }
    let dialect = Dialect {
        truncate_in_transaction: false,
        empty_string_is_null: true,
    };
    let plan = postclone::plan::build(&desired, &observed, &dialect, None).expect("plan");
    let mut out = String::new();
    for note in &plan.notes {
        let _ = writeln!(out, "-- note: {}", postclone::render::note_message(note));
    }
    for step in &plan.steps {
        let _ = writeln!(out, "\n-- change {}", step.id);
        match sql::capture_query(step, &plan.catalog, Flavor::Oracle, None) {
            Ok(Some(q)) => {
                let _ = writeln!(
                    out,
                    "-- journal:\n{}",
                    shown(&q.select.text(), &q.select.params)
                );
            }
            Ok(None) => {}
            Err(e) => {
                let _ = writeln!(out, "-- journal: {e}");
            }
        }
        let rows = step.rewrites_hosts().then(|| {
            let read = here
                .steps
                .iter()
                .find(|s| s.id == step.id)
                .expect("same step");
            let capture = sql::capture_query(read, &here.catalog, Flavor::SqlServer, None)
                .expect("capture query")
                .expect("an update reads its rows");
            let mut images = Vec::new();
            runtime
                .block_on(postclone::engine::Reader::stream(
                    &mut engine,
                    &capture.select,
                    "rows to rewrite",
                    &mut |values| {
                        // Only the rows the change changes, as apply writes them.
                        let image = capture.image(values);
                        if let ChangeKind::SetColumns {
                            table, assignments, ..
                        } = &read.kind
                        {
                            let changes = assignments.iter().zip(&image.after).any(|(a, new)| {
                                table
                                    .position(&a.column)
                                    .and_then(|i| image.values.get(i))
                                    .is_none_or(|old| old != new)
                            });
                            if changes {
                                images.push(image);
                            }
                        }
                        Ok(())
                    },
                ))
                .expect("rows read");
            images
        });
        let statements = match &rows {
            Some(rows) => sql::rewrite_statements(step, rows, Flavor::Oracle),
            None => sql::statements(step, &plan.catalog, Flavor::Oracle),
        };
        match statements {
            Ok(statements) => {
                for s in statements {
                    let _ = writeln!(out, "{};", shown(&s.sql, &s.params));
                }
            }
            Err(e) => {
                let _ = writeln!(out, "-- not on Oracle: {e}");
            }
        }
    }
    out
}

/// Oracle's own rules, whatever a snapshot says: no TRUNCATE (it commits), no SQL Server
/// syntax, every identifier in double quotes, no '' literal.
pub fn assert_oracle_only(out: &str) {
    let sql_only: String = out
        .lines()
        .filter(|l| !l.starts_with("-- "))
        .collect::<Vec<_>>()
        .join("\n");
    for forbidden in ["TRUNCATE", "@P", "[dbo]", "CHARINDEX", " AS t", "''"] {
        assert!(
            !sql_only.contains(forbidden),
            "{forbidden} in Oracle SQL:\n{out}"
        );
    }
}

/// Every statement and query of the profile, in Oracle's flavor, from a real plan of the
/// synthetic clone.
#[test]
fn the_profile_in_oracle_sql() {
    let server = TestServer::start(&root().join("examples/demo/clone.sql"));
    let dir = tempfile::tempdir().unwrap();
    let spec = dir.path().join("postclone.yaml");
    std::fs::write(
        &spec,
        "engine: oracle\nguard: { database: OSADMIN }\ninclude: [outsystems-o11]\nproduction: { hosts: [prod.elsewhere.example] }\n",
    )
    .unwrap();
    let out = oracle_sql(&server, &spec, None);
    assert_oracle_only(&out);
    assert!(
        out.contains("DELETE FROM \"OSADMIN\".\"OSSYS_SERVER\""),
        "{out}"
    );
    assert!(
        out.contains("UPDATE \"OSADMIN\".\"OSSYS_SITE_PROPERTY\" t SET"),
        "{out}"
    );
    assert!(
        out.contains("NLSSORT(t.\"NAME\", 'NLS_SORT=BINARY_AI')"),
        "{out}"
    );
    insta::assert_snapshot!(out);
}

/// `postclone datapump` writes both parameter files from the spec; the runbook's own
/// inconsistency (remapping a schema it never exported) is refused at its line.
#[test]
fn datapump_parameter_files() {
    let dir = tempfile::tempdir().unwrap();
    let out_dir = dir.path().join("dump");
    let spec = "engine: oracle\nguard: { database: OSADMIN_PP }\ninclude: [outsystems-o11]\nproduction: { hosts: [prod.elsewhere.example] }\n\
        datapump:\n  schemas: [OSADMIN, OSRUNTIME, OSADMIN_LOG, OSRUNTIME_LOG]\n  \
        remap_schema: { OSADMIN: OSADMIN_PP, OSRUNTIME: OSRUNTIME_PP, OSADMIN_LOG: OSADMIN_LOG_PP, OSRUNTIME_LOG: OSRUNTIME_LOG_PP }\n  \
        remap_tablespace: { OSSYS: OSSYS_PP, OSUSR: OSUSR_PP, OSIDX: OSIDX_PP }\n";
    let out = Test::new()
        .spec(spec)
        .args([
            "datapump",
            "postclone.yaml",
            "--out-dir",
            out_dir.to_str().unwrap(),
        ])
        .run()
        .code(0);
    out.stdout_has("export.par");
    let import = std::fs::read_to_string(out_dir.join("import.par")).unwrap();
    assert!(
        import.contains("REMAP_SCHEMA=OSADMIN_LOG:OSADMIN_LOG_PP\n"),
        "{import}"
    );
    assert!(
        import.contains("REMAP_TABLESPACE=OSIDX:OSIDX_PP\n"),
        "{import}"
    );
    let export = std::fs::read_to_string(out_dir.join("export.par")).unwrap();
    assert!(
        export.contains("SCHEMAS=OSADMIN,OSRUNTIME,OSADMIN_LOG,OSRUNTIME_LOG\n"),
        "{export}"
    );
    let runbook =
        "engine: oracle\ninclude: [outsystems-o11]\ndatapump:\n  schemas: [OSADMIN, OSRUNTIME]\n  \
        remap_schema: { OSADMIN: NEW_OSADMIN, OSRUNTIME: NEW_OSRUNTIME, OSLOG: NEW_OSLOG }\n\
        production: { hosts: [prod.elsewhere.example] }\n";
    let refused = Test::new()
        .spec(runbook)
        .args(["datapump", "postclone.yaml", "--out-dir", "dump2"])
        .run()
        .code(1);
    assert!(
        refused
            .stderr
            .contains("OSLOG is not among the exported schemas (OSADMIN, OSRUNTIME)"),
        "{}",
        refused.stderr
    );
    refused.stderr_has("postclone.yaml:4:");
    assert!(
        refused
            .stderr
            .contains("field: datapump.remap_schema.OSLOG"),
        "{}",
        refused.stderr
    );
    let sqlserver = Test::new()
        .spec("engine: sqlserver\ndatapump: { schemas: [OSADMIN] }\n")
        .args(["validate"])
        .run()
        .code(1);
    assert!(
        sqlserver
            .stderr
            .contains("`datapump:` is for `engine: oracle` only"),
        "{}",
        sqlserver.stderr
    );
}

/// Whether Oracle's client library is on `LD_LIBRARY_PATH` (CI installs Instant Client 19.3
/// from PyPI's `pyoracleclient`).
#[cfg(feature = "oracle")]
fn client_library_present() -> bool {
    std::env::var("LD_LIBRARY_PATH")
        .unwrap_or_default()
        .split(':')
        .any(|d| !d.is_empty() && std::path::Path::new(d).join("libclntsh.so").exists())
}

/// The default build handles `engine: oracle`: with the client library, a closed port is "no
/// listener"; without it, postclone says the library is missing and how to install it. Either
/// way: exit 1, never "not supported by this build", no password.
#[cfg(feature = "oracle")]
#[test]
fn oracle_connection_errors_are_clear() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let out = Test::new()
        .spec("engine: oracle\nguard: { database: OSADMIN_PP }\ninclude: [outsystems-o11]\nproduction: { hosts: [prod.elsewhere.example] }\n")
        .env("POSTCLONE_PASSWORD", "pw-FIXTURE-SECRET")
        .args([
            "plan".to_string(),
            "--connection".to_string(),
            format!("oracle://postclone@127.0.0.1:{port}/PREPROD?schema=OSADMIN_PP"),
        ])
        .run()
        .code(1);
    assert!(
        out.stderr.contains(&format!(
            "cannot connect to oracle://postclone@127.0.0.1:{port}/PREPROD (schema OSADMIN_PP)"
        )),
        "{}",
        out.stderr
    );
    let expected = if client_library_present() {
        "no Oracle listener answers at that host and port"
    } else {
        "the Oracle client library (libclntsh) cannot be loaded: install Oracle Instant Client"
    };
    out.stderr_has(expected);
    assert!(
        !out.stderr.contains("not supported by this build"),
        "{}",
        out.stderr
    );
    assert!(!out.stderr.contains("FIXTURE-SECRET") && !out.stdout.contains("FIXTURE-SECRET"));
}

/// Built without the `oracle` feature, postclone says how to get the engine.
#[cfg(not(feature = "oracle"))]
#[test]
fn oracle_engine_needs_its_feature() {
    let out = Test::new()
        .spec("engine: oracle\ninclude: [outsystems-o11]\nproduction: { hosts: [prod.elsewhere.example] }\n")
        .args(["plan", "--connection", "oracle://u@127.0.0.1:1/S"])
        .run()
        .code(1);
    out.stderr_has("default `oracle` feature");
}

/// The whole profile against a real Oracle: plan, apply, plan again shows nothing. Run with
/// `POSTCLONE_ORACLE_TEST=oracle://user@host:1521/service?schema=OSADMIN_PP`,
/// `POSTCLONE_PASSWORD=...` and `cargo test -- --ignored live_oracle`, on a
/// disposable clone: it changes it.
#[cfg(feature = "oracle")]
#[test]
#[ignore = "needs a disposable Oracle clone in POSTCLONE_ORACLE_TEST"]
fn live_oracle_profile_converges() {
    let url = std::env::var("POSTCLONE_ORACLE_TEST")
        .expect("set POSTCLONE_ORACLE_TEST to an oracle:// URL of a disposable clone");
    let schema = url
        .split("schema=")
        .nth(1)
        .map_or("OSADMIN".to_string(), |s| s.to_ascii_uppercase());
    let spec =
        format!("engine: oracle\nguard: {{ database: {schema} }}\ninclude: [outsystems-o11]\nproduction: {{ hosts: [prod.elsewhere.example] }}\n");
    let run = |args: &[&str]| {
        Test::new()
            .spec(&spec)
            .env("POSTCLONE_CONNECTION", &url)
            .args(args.iter().copied())
            .run()
    };
    run(&["plan"]).code(0);
    let applied = run(&["apply", "--auto-approve"]).code(0);
    applied.stdout_has("Converged");
    run(&["plan", "--detailed-exitcode"]).code(0);
}

/// `grants_absent` is Oracle's: on SQL Server the plan says it does not apply.
#[test]
fn grants_absent_is_oracle_only() {
    let server = TestServer::start(&root().join("examples/demo/clone.sql"));
    let out = Test::new()
        .spec(
            "engine: sqlserver\nguard: { database: OS_PREPROD }\nresources:\n  - id: clone-grants\n    kind: grants_absent\n    grantees: [OSRUNTIME_PP]\n    owners: [OSADMIN]\n",
        )
        .server(&server, "OS_PREPROD")
        .args(["plan", "--detailed-exitcode"])
        .run()
        .code(0);
    assert!(
        out.stdout
            .contains("clone-grants: does not apply to this engine; nothing to do"),
        "{}",
        out.stdout
    );
}

/// A connection of the test's own to the live Oracle schema (the `oracle` crate, not
/// postclone's session), with the URL and the schema's name.
#[cfg(feature = "oracle")]
fn live_oracle() -> (String, oracle::Connection, String) {
    let url = std::env::var("POSTCLONE_ORACLE_TEST")
        .expect("set POSTCLONE_ORACLE_TEST to an oracle:// URL of a disposable schema");
    let password = std::env::var("POSTCLONE_PASSWORD")
        .expect("set POSTCLONE_PASSWORD for POSTCLONE_ORACLE_TEST");
    let rest = url.strip_prefix("oracle://").expect("an oracle:// URL");
    let (user, rest) = rest
        .split_once('@')
        .expect("oracle://USER@HOST:PORT/SERVICE");
    let (address, query) = rest.split_once('?').unwrap_or((rest, ""));
    let schema = query
        .split('&')
        .find_map(|p| p.strip_prefix("schema="))
        .unwrap_or(user)
        .to_ascii_uppercase();
    let conn = oracle::Connection::connect(user, password, address)
        .expect("the live Oracle accepts the connection");
    (url, conn, schema)
}

/// The rows of a query, each as the debug text of its values (LOBs read whole).
#[cfg(feature = "oracle")]
fn oracle_rows(conn: &oracle::Connection, sql: &str) -> Vec<String> {
    let mut out: Vec<String> = conn
        .query(sql, &[])
        .unwrap_or_else(|e| panic!("{sql}: {e}"))
        .map(|row| {
            let row = row.unwrap_or_else(|e| panic!("{sql}: {e}"));
            row.sql_values()
                .iter()
                .map(|v| match v.oracle_type() {
                    Ok(
                        oracle::sql_type::OracleType::BLOB | oracle::sql_type::OracleType::Raw(_),
                    ) => {
                        format!("{:?}", v.get::<Option<Vec<u8>>>().unwrap_or_default())
                    }
                    _ => format!("{:?}", v.get::<Option<String>>().unwrap_or_default()),
                })
                .collect::<Vec<_>>()
                .join(" | ")
        })
        .collect();
    out.sort();
    out
}

/// The defects only a real Oracle shows, end to end on a disposable schema (its user owns it,
/// may read `DBA_TAB_PRIVS`, and `POSTCLONE_ORACLE_GRANTEE`, default `OSRUNTIME_PP`, is another
/// user): a site property of 7,500 characters in an NCLOB has its host rewritten (bound as a
/// LOB: as NVARCHAR2 it fails with ORA-01461); 300 rows of a 5-column table with a DATE are
/// emptied and restored, every date to the second and the NULLs NULL (`INSERT ALL` batches
/// under 999 columns; a journaled date goes back through `TO_DATE` with an explicit format); rows of a key-less log table with LOB
/// columns, differing only in case, go back exactly, twice without duplicates; a privilege is
/// revoked before the transaction, as the plan says; the apply lock binds by name.
/// Run with `cargo test --all-features --test integration live_oracle -- --ignored`.
#[cfg(feature = "oracle")]
#[test]
#[ignore = "needs a disposable Oracle schema in POSTCLONE_ORACLE_TEST"]
fn live_oracle_real_engine_defects_issue_35() {
    use oracle::sql_type::OracleType;
    let (url, conn, schema) = live_oracle();
    let grantee =
        std::env::var("POSTCLONE_ORACLE_GRANTEE").unwrap_or_else(|_| "OSRUNTIME_PP".into());
    for table in ["OSSYS_SITE_PROPERTY", "OSUSR_K4X_ITEM", "OSLOG_GENERAL"] {
        conn.execute(
            &format!("BEGIN EXECUTE IMMEDIATE 'DROP TABLE {table} PURGE'; EXCEPTION WHEN OTHERS THEN NULL; END;"),
            &[],
        )
        .expect("drop");
    }
    for ddl in [
        "CREATE TABLE OSSYS_SITE_PROPERTY (ID NUMBER(10) PRIMARY KEY, SITE_PROPERTY_DEFINITION_ID NUMBER(10) NOT NULL, PROPERTY_VALUE NCLOB, USER_MODIFIED NUMBER(1) NOT NULL)",
        "CREATE TABLE OSUSR_K4X_ITEM (ID NUMBER(19) PRIMARY KEY, CODE NVARCHAR2(50) NOT NULL, AMOUNT NUMBER(18,4), NOTE NVARCHAR2(200), CREATED DATE)",
        "CREATE TABLE OSLOG_GENERAL (TENANT_ID NUMBER(10) NOT NULL, MESSAGE NVARCHAR2(2000), STACK NCLOB, PAYLOAD BLOB)",
    ] {
        conn.execute(ddl, &[]).unwrap_or_else(|e| panic!("{ddl}: {e}"));
    }
    let long = "see https://prod.example.com/a ".repeat(250);
    conn.execute(
        "INSERT INTO OSSYS_SITE_PROPERTY VALUES (1, 7, :1, 0)",
        &[&(&long, &OracleType::NCLOB)],
    )
    .expect("site property");
    // A Date Time attribute is a DATE on Oracle: a minute apart each, one in seven NULL.
    for id in 1..=300i64 {
        conn.execute(
            "INSERT INTO OSUSR_K4X_ITEM VALUES (:1, :2, :3, :4, \
             CASE WHEN MOD(:5, 7) = 0 THEN NULL \
             ELSE TO_DATE('2026-11-29 10:00:00', 'YYYY-MM-DD HH24:MI:SS') + :6 / 1440 END)",
            &[
                &id,
                &format!("ITEM-{id}"),
                &format!("{id}.2500"),
                &"note",
                &id,
                &id,
            ],
        )
        .expect("item");
    }
    let blob: Vec<u8> = (0..40_000u32).map(|i| (i % 251) as u8).collect();
    for (tenant, message, stack) in [
        (1i64, "Login OK", "at Login()"),
        (1, "LOGIN OK", "AT LOGIN()"),
        (1, "Login OK ", "at Login() "),
        (2, "kept", "kept"),
    ] {
        conn.execute(
            "INSERT INTO OSLOG_GENERAL VALUES (:1, :2, :3, :4)",
            &[
                &tenant,
                &message,
                &(&stack, &OracleType::NCLOB),
                &(&blob, &OracleType::BLOB),
            ],
        )
        .expect("log");
    }
    conn.execute(
        &format!("GRANT SELECT ON OSUSR_K4X_ITEM TO \"{grantee}\""),
        &[],
    )
    .expect("grant");
    conn.commit().expect("commit");
    let items = "SELECT ID, CODE, TO_CHAR(AMOUNT), NOTE, \
                 TO_CHAR(CREATED, 'YYYY-MM-DD HH24:MI:SS') FROM OSUSR_K4X_ITEM";
    let logs = "SELECT TENANT_ID, MESSAGE, STACK, PAYLOAD FROM OSLOG_GENERAL";
    let property = "SELECT PROPERTY_VALUE FROM OSSYS_SITE_PROPERTY";
    let grants = format!("SELECT PRIVILEGE FROM USER_TAB_PRIVS_MADE WHERE GRANTEE = '{grantee}'");
    let before = [
        oracle_rows(&conn, items),
        oracle_rows(&conn, logs),
        oracle_rows(&conn, property),
    ];

    let spec = format!(
        "engine: oracle\nguard: {{ database: {schema} }}\nresources:\n\
         - id: site-property-hosts\n  kind: column_values\n  table: ossys_site_property\n  set:\n    PROPERTY_VALUE: {{ replace: {{ from: prod.example.com, to: preprod.example.com }} }}\n\
         - id: items\n  kind: table_empty\n  table: osusr_k4x_item\n\
         - id: old-logs\n  kind: rows_absent\n  table: oslog_general\n  where: [{{ column: tenant_id, in: [1] }}]\n\
         - id: clone-grants\n  kind: grants_absent\n  grantees: [{grantee}]\n  owners: [{schema}]\n"
    );
    let run = |args: &[&str]| {
        Test::new()
            .spec(&spec)
            .env("POSTCLONE_CONNECTION", &url)
            .args(args.iter().copied())
    };
    let plan = run(&["plan", "-v"]).run().code(0);
    plan.stdout_has("runs before the apply transaction");
    let apply = run(&["apply", "--auto-approve", "-v"]);
    let out = apply.run().code(0);
    out.stdout_has("Converged");
    run(&["plan", "--detailed-exitcode"]).run().code(0);
    assert_eq!(
        oracle_rows(&conn, property),
        [format!(
            "{:?}",
            Some(long.replace("prod.example.com", "preprod.example.com"))
        )]
    );
    assert!(oracle_rows(&conn, items).is_empty());
    assert_eq!(oracle_rows(&conn, logs).len(), 1);
    assert!(
        oracle_rows(&conn, &grants).is_empty(),
        "the privilege was not revoked"
    );

    let journal = crate::common::journal_in(&apply);
    for attempt in ["restore", "restore again"] {
        let out = Test::new()
            .env("POSTCLONE_CONNECTION", &url)
            .args([
                "restore",
                journal.to_str().expect("utf-8 path"),
                "--auto-approve",
            ])
            .run()
            .code(0);
        let after = [
            oracle_rows(&conn, items),
            oracle_rows(&conn, logs),
            oracle_rows(&conn, property),
        ];
        assert!(
            after == before,
            "{attempt} did not give every row back:\n{}",
            out.stdout
        );
    }
}
