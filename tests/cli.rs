//! The command-line contract: help, exit codes for usage errors, the committed JSON Schema.

use crate::common::{root, Test};

/// `--help` of every subcommand, as users see it.
#[test]
fn help_of_every_subcommand() {
    for sub in [
        "plan",
        "apply",
        "validate",
        "schema",
        "restore",
        "graph",
        "completions",
        "man",
        "datapump",
        "capture",
        "verify",
        "fleet",
    ] {
        let out = Test::new().args([sub, "--help"]).run().code(0);
        insta::assert_snapshot!(format!("help_{sub}"), out.stdout);
    }
    for sub in ["plan", "apply"] {
        let out = Test::new().args(["fleet", sub, "--help"]).run().code(0);
        insta::assert_snapshot!(format!("help_fleet_{sub}"), out.stdout);
    }
    let out = Test::new().args(["--help"]).run().code(0);
    insta::assert_snapshot!("help", out.stdout);
}

/// A mistyped flag is an error (1), never "changes pending" (2).
#[test]
fn usage_error_exits_1() {
    let out = Test::new()
        .args(["plan", "--detailed-exitcod"])
        .run()
        .code(1);
    out.stderr_has("unexpected argument");
    Test::new().args(["frobnicate"]).run().code(1);
    Test::new().run().code(1);
}

/// The committed schema is exactly what the code generates.
#[test]
fn committed_schema_is_current() {
    let out = Test::new().args(["schema"]).run().code(0);
    let committed = std::fs::read_to_string(root().join("schema/postclone.schema.json"))
        .expect("committed schema");
    assert!(
        committed == out.stdout,
        "schema/postclone.schema.json is stale: run `cargo run -- schema > schema/postclone.schema.json`"
    );
}

/// Without any connection, plan says where to put one and touches nothing.
#[test]
fn missing_connection_is_explained() {
    let out = Test::new()
        .spec("engine: sqlserver\nresources: []\n")
        .args(["plan"])
        .run()
        .code(1);
    out.stderr_has("--connection");
    out.stderr_has("POSTCLONE_CONNECTION");
}

/// An unreadable connection string is refused without echoing it (it may hold a password).
#[test]
fn invalid_connection_string_is_not_echoed() {
    let out = Test::new()
        .spec("engine: sqlserver\nresources: []\n")
        .args([
            "plan",
            "--connection",
            "server=tcp:x,notaport;password=hunter2",
        ])
        .run()
        .code(1);
    out.stderr_has("invalid connection");
    assert!(!out.stderr.contains("hunter2"));
}
