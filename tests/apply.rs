//! `apply`: convergence, ordering, approval, the guard and rollback, against a real TDS engine.

use crate::common::{core_spec, fixture, Output, Test, TestServer};

const NO_CHANGES: &str = "No changes. The database matches the spec.";

fn run(server: &TestServer, spec: &str, args: &[&str]) -> Output {
    Test::new()
        .spec(spec)
        .server(server, "OS_PREPROD")
        .args(args.iter().copied())
        .run()
}

/// plan shows changes → apply → plan shows none → apply again runs nothing; rows checked after
/// each step.
#[test]
pub(crate) fn core_spec_converges() {
    let mut server = TestServer::start(&fixture("core/clone.sql"));
    let spec = core_spec();

    run(&server, &spec, &["plan", "--detailed-exitcode"]).code(2);
    assert_eq!(server.rows("SELECT COUNT(*) FROM OSSYS_SERVER"), vec!["2"]);

    let out = run(&server, &spec, &["apply", "--auto-approve"]).code(0);
    out.stdout_has("Apply complete: 7 changes committed");
    out.stdout_has("Converged: a new plan shows no changes.");
    assert!(
        !out.stdout.contains("FIXTURE-SECRET"),
        "a secret leaked:\n{}",
        out.stdout
    );
    let expected = [
        (
            "OSSYS_PARAMETER",
            vec!["3 | \"Compiler.Timeout\" | \"600\""],
        ),
        ("OSSYS_SERVER", vec![]),
        (
            "OSSYS_DBCATALOG",
            vec![
                "1 | \"(Main)\" | \"OSRUNTIME\" | \"main-FIXTURE-SECRET\"",
                "2 | \"Sales\" | \" \" | \" \"",
            ],
        ),
        (
            "OSSYS_SITE_PROPERTY_SHARED",
            vec![
                "1 | \"https://api.example.com\" | false",
                "2 | \"20\" | false",
                "3 | NULL | false",
            ],
        ),
        ("OSSYS_DBCONNECTION", vec!["1 | \"$OS_LOG_DB_7e3e8ce0\""]),
        ("OSSYS_EXTENSION_DBCONNECTION", vec![]),
        (
            "APP_ORDERS",
            vec!["1 | \"Contoso\"", "2 | \"Fabrikam (anonymised)\""],
        ),
    ];
    for (table, rows) in &expected {
        assert_eq!(&server.dump(table), rows, "{table} after apply");
    }

    let out = run(&server, &spec, &["plan", "--detailed-exitcode"]).code(0);
    out.stdout_has(NO_CHANGES);

    let out = run(&server, &spec, &["apply", "--auto-approve"]).code(0);
    out.stdout_has("Apply complete: nothing to do.");
    for (table, rows) in &expected {
        assert_eq!(&server.dump(table), rows, "{table} after the second apply");
    }
}

/// Clearing a referenced table and its referencing table converges whatever the order the
/// resources are written in.
#[test]
pub(crate) fn foreign_keys_converge_in_either_order() {
    let referencing = "  - { id: extension-connections, kind: table_empty, table: ossys_extension_dbconnection }\n";
    let referenced = "  - { id: db-connections, kind: table_empty, table: ossys_dbconnection }\n";
    for body in [
        format!("{referenced}{referencing}"),
        format!("{referencing}{referenced}"),
    ] {
        let mut server = TestServer::start(&fixture("core/clone.sql"));
        let spec =
            format!("engine: sqlserver\nguard: {{ database: OS_PREPROD }}\nresources:\n{body}");
        let out = run(&server, &spec, &["apply", "--auto-approve"]).code(0);
        out.stdout_has("Converged");
        out.stdout_has("DELETE, referenced by foreign key FK_EXT_DBCONN");
        assert!(server.dump("OSSYS_DBCONNECTION").is_empty());
        assert!(server.dump("OSSYS_EXTENSION_DBCONNECTION").is_empty());
        run(&server, &spec, &["plan", "--detailed-exitcode"]).code(0);
    }
}

/// A failing statement rolls everything back and names the change that failed.
#[test]
pub(crate) fn failure_rolls_back_and_names_the_change() {
    let mut server = TestServer::start(&fixture("core/clone.sql"));
    let before = server.dump_all(&["OSSYS_SERVER", "APP_ORDERS"]);
    let spec = "engine: sqlserver
guard: { database: OS_PREPROD }
resources:
  - { id: servers, kind: table_empty, table: ossys_server }
  - id: broken-fix
    kind: custom
    check: SELECT ID FROM APP_ORDERS
    fix: UPDATE NO_SUCH_TABLE SET X = 1
  - { id: after-broken, kind: table_empty, table: app_orders, after: [broken-fix] }
";
    let out = run(&server, spec, &["apply", "--auto-approve"]).code(1);
    out.stderr_has("change broken-fix failed");
    out.stderr_has("rolled back");
    out.stderr_has("not run: after-broken");
    assert_eq!(
        server.dump_all(&["OSSYS_SERVER", "APP_ORDERS"]),
        before,
        "rollback incomplete"
    );
}

/// The guard refuses the wrong database before anything runs.
#[test]
fn guard_refuses_wrong_database() {
    let mut server = TestServer::start(&fixture("core/clone.sql"));
    let before = server.dump_all(&["OSSYS_SERVER", "OSSYS_PARAMETER"]);
    let out = Test::new()
        .spec(&core_spec())
        .server(&server, "OS_PROD")
        .args(["apply", "--auto-approve"])
        .run()
        .code(1);
    out.stderr_has("database OS_PROD is forbidden");
    let out = Test::new()
        .spec(&core_spec())
        .server(&server, "OS_QA")
        .args(["apply", "--auto-approve"])
        .run()
        .code(1);
    out.stderr_has("the spec is for database OS_PREPROD, but the server reports database OS_QA");
    assert_eq!(
        server.dump_all(&["OSSYS_SERVER", "OSSYS_PARAMETER"]),
        before
    );
}

/// A forbidden host is refused when it is the host connected to, before anything runs.
#[test]
fn guard_refuses_forbidden_host() {
    let mut server = TestServer::start(&fixture("core/clone.sql"));
    let before = server.dump_all(&["OSSYS_SERVER", "OSSYS_PARAMETER"]);
    let spec = core_spec().replace(
        "forbid_hosts: [prod-sql01]",
        "forbid_hosts: [prod-sql01, 127.0.0.1]",
    );
    let out = run(&server, &spec, &["apply", "--auto-approve"]).code(1);
    out.stderr_has("server 127.0.0.1 is forbidden");
    assert_eq!(
        server.dump_all(&["OSSYS_SERVER", "OSSYS_PARAMETER"]),
        before
    );
}

/// Without --auto-approve and without a terminal, apply does not wait and changes nothing.
#[test]
fn non_interactive_apply_refuses_to_wait() {
    let mut server = TestServer::start(&fixture("core/clone.sql"));
    let before = server.dump("OSSYS_SERVER");
    let out = run(&server, &core_spec(), &["apply"]).code(1);
    out.stderr_has("pass --auto-approve");
    assert_eq!(server.dump("OSSYS_SERVER"), before);
}

/// The demo in examples/ plans, applies and converges on the embedded engine.
#[test]
pub(crate) fn demo_converges_on_the_embedded_engine() {
    let spec = crate::common::root().join("examples/demo/postclone.yaml");
    let spec = spec.to_str().expect("utf-8 path");
    let out = Test::new()
        .args(["plan", spec, "--detailed-exitcode"])
        .run()
        .code(2);
    out.stdout_has("Plan: ");
    let out = Test::new()
        .args(["apply", spec, "--auto-approve"])
        .run()
        .code(0);
    out.stdout_has("Converged: a new plan shows no changes.");
    assert!(
        !out.stdout.contains("PROD-pass"),
        "a secret leaked:\n{}",
        out.stdout
    );
}
