//! `plan`: what it shows, its exit codes, and that it never writes.

use crate::common::{core_spec, fixture, Test, TestServer};

const TABLES: [&str; 8] = [
    "OSSYS_PARAMETER",
    "OSSYS_SERVER",
    "OSSYS_DBCATALOG",
    "OSSYS_SITE_PROPERTY_SHARED",
    "OSSYS_SITE_PROPERTY_DEFINITION",
    "OSSYS_DBCONNECTION",
    "OSSYS_EXTENSION_DBCONNECTION",
    "APP_ORDERS",
];

/// The rendered plan of every resource kind; secrets masked; the database untouched.
#[test]
fn plan_shows_changes_and_writes_nothing() {
    let mut server = TestServer::start(&fixture("core/clone.sql"));
    let before = server.dump_all(&TABLES);
    let out = Test::new()
        .spec(&core_spec())
        .server(&server, "OS_PREPROD")
        .args(["plan", "--detailed-exitcode"])
        .run()
        .code(2);
    insta::assert_snapshot!(out.stdout);
    assert!(
        !out.stdout.contains("FIXTURE-SECRET"),
        "a secret leaked:\n{}",
        out.stdout
    );
    assert_eq!(
        server.dump_all(&TABLES),
        before,
        "plan changed the database"
    );
    // Without --detailed-exitcode, pending changes are still a success.
    Test::new()
        .spec(&core_spec())
        .server(&server, "OS_PREPROD")
        .args(["plan"])
        .run()
        .code(0);
}

/// A value diff of a non-secret column shows old, new and what changed.
#[test]
fn value_diffs_are_shown() {
    let server = TestServer::start(&fixture("core/clone.sql"));
    let out = Test::new()
        .spec(&core_spec())
        .server(&server, "OS_PREPROD")
        .args(["plan"])
        .run()
        .code(0);
    out.stdout_has(
        "~ PROPERTY_VALUE: \"https://api.prod.example.com\" -> \"https://api.example.com\"",
    );
    out.stdout_has("https://api.[-prod.-]example.com");
}

/// Referenced rows are deleted after the rows referencing them, whatever the declaration order.
#[test]
fn foreign_keys_order_the_plan() {
    let server = TestServer::start(&fixture("core/clone.sql"));
    let out = Test::new()
        .spec(&core_spec())
        .server(&server, "OS_PREPROD")
        .args(["plan"])
        .run()
        .code(0);
    let ext = out
        .stdout
        .find("extension-connections")
        .expect("extension step");
    let conn = out.stdout.find("db-connections").expect("connection step");
    assert!(ext < conn, "{}", out.stdout);
}

/// Names read from the database cannot forge plan lines or drive the terminal: a control
/// character is shown as an escape, in every text format. See: issue 27
#[test]
fn control_characters_in_names_are_escaped_issue_27() {
    let clone = "USE OS_PREPROD\nGO\nCREATE TABLE APP_JOB (ID INT NOT NULL PRIMARY KEY, NAME NVARCHAR(100) NOT NULL, ACTIVE BIT NOT NULL)\nGO\n\
        INSERT INTO APP_JOB VALUES (1, N'nightly' + NCHAR(27) + N'[2J' + NCHAR(10) + N'  + drop everything', 1)\nGO\n";
    let spec = "engine: sqlserver\nconnection: embedded:clone.sql\nguard: { database: OS_PREPROD }\n\
        resources:\n  - id: jobs\n    kind: column_values\n    table: app_job\n    label: { column: NAME }\n    set: { ACTIVE: 0 }\n";
    for format in ["text", "markdown"] {
        let out = Test::new()
            .file("clone.sql", clone)
            .spec(spec)
            .args(["plan", "--format", format])
            .run()
            .code(0);
        assert!(!out.stdout.contains('\u{1b}'), "{format}: {}", out.stdout);
        assert!(
            out.stdout
                .contains("nightly\\u{1b}[2J\\n  + drop everything"),
            "{format}: {}",
            out.stdout
        );
        assert!(
            !out.stdout
                .lines()
                .any(|l| l.trim_start().starts_with("+ drop")),
            "{format}: {}",
            out.stdout
        );
    }
}
