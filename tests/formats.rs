//! Plan output formats, the dependency graph, `--verbose`, `--target`/`--exclude`, completions
//! and the man page: each through the real binary against the real engine.

use crate::common::{core_spec, fixture, root, Test, TestServer};

fn plan(server: &TestServer, args: &[&str]) -> crate::common::Output {
    let mut all = vec!["plan"];
    all.extend_from_slice(args);
    Test::new()
        .spec(&core_spec())
        .server(server, "OS_PREPROD")
        .args(all)
        .run()
}

fn assert_no_secret(text: &str) {
    assert!(!text.contains("FIXTURE-SECRET"), "a secret leaked:\n{text}");
}

/// JSON: the versioned document, its counts equal to the text plan's, secrets masked.
#[test]
fn json_plan() {
    let server = TestServer::start(&fixture("core/clone.sql"));
    let out = plan(&server, &["--format", "json"]).code(0);
    assert_no_secret(&out.stdout);
    let doc: serde_json::Value = serde_json::from_str(&out.stdout).expect("one JSON document");
    assert_eq!(doc["format_version"], 1);
    assert_eq!(doc["target"]["database"], "OS_PREPROD");
    assert_eq!(doc["no_changes"], false);
    let text = plan(&server, &[]).code(0).stdout;
    let summary = &doc["summary"];
    let line = format!(
        "Plan: {} to add, {} to change, {} to delete ({} rows affected).",
        summary["add"], summary["change"], summary["delete"], summary["rows"]
    );
    assert!(text.contains(&line), "{line} not in:\n{text}");
    let changes = doc["changes"].as_array().expect("changes");
    let ids: Vec<&str> = changes.iter().map(|c| c["id"].as_str().unwrap()).collect();
    // Foreign keys order the referencing table's rows first, whatever the declaration order.
    let ext = ids
        .iter()
        .position(|i| *i == "extension-connections")
        .unwrap();
    let conn = ids.iter().position(|i| *i == "db-connections").unwrap();
    assert!(ext < conn, "{ids:?}");
    assert!(
        changes[conn]["after"]
            .as_array()
            .unwrap()
            .iter()
            .any(|d| d["id"] == "extension-connections"
                && d["reason"].as_str().unwrap().starts_with("foreign key")),
        "{}",
        changes[conn]
    );
    let catalogs = changes.iter().find(|c| c["id"] == "catalogs").unwrap();
    assert_eq!(catalogs["secret"], true);
    assert_eq!(
        catalogs["sample"][0]["changes"][0]["before"],
        "(sensitive value)"
    );
    insta::assert_snapshot!(out.stdout);
}

/// The committed schema of the JSON plan is what the code generates.
#[test]
fn committed_plan_schema_is_current() {
    let out = Test::new().args(["schema", "--plan"]).run().code(0);
    let committed =
        std::fs::read_to_string(root().join("schema/plan.schema.json")).expect("committed schema");
    assert!(
        committed == out.stdout,
        "schema/plan.schema.json is stale: run `cargo run -- schema --plan > schema/plan.schema.json`"
    );
    let schema: serde_json::Value = serde_json::from_str(&committed).unwrap();
    assert!(schema["properties"]["format_version"].is_object());
}

/// Markdown: summary first, a collapsible section per change, manual steps last.
#[test]
fn markdown_plan() {
    let server = TestServer::start(&fixture("core/clone.sql"));
    let out = plan(&server, &["--format", "markdown"]).code(0);
    assert_no_secret(&out.stdout);
    let md = &out.stdout;
    let summary = md.find("**Plan: ").expect("summary");
    let first_section = md.find("<details>").expect("sections");
    let manual = md.find("#### Manual steps").expect("manual steps");
    assert!(summary < first_section && first_section < manual, "{md}");
    assert_eq!(
        md.matches("<details>").count(),
        md.matches("</details>").count()
    );
    insta::assert_snapshot!(out.stdout);
}

/// Text piped to a file is never coloured; `--verbose` shows each change's SQL with values as
/// parameters and secrets masked.
#[test]
fn verbose_text_plan() {
    let server = TestServer::start(&fixture("core/clone.sql"));
    let out = plan(&server, &["--verbose"]).code(0);
    assert!(!out.stdout.contains('\u{1b}'), "colour in a pipe");
    assert_no_secret(&out.stdout);
    out.stdout_has(
        "      SQL:\n        DELETE FROM [dbo].[OSSYS_PARAMETER] WHERE [NAME] IN (@P1, @P2)",
    );
    out.stdout_has("-- @P1 = \"ClientApplicationToken\"");
    // The catalogs resource is secret: the values it sets are masked in the statement.
    out.stdout_has("= (sensitive value)");
}

/// The graph of the plan has the foreign-key edge; offline, only declared edges.
#[test]
fn graph_formats() {
    let server = TestServer::start(&fixture("core/clone.sql"));
    let dot = Test::new()
        .spec(&core_spec())
        .server(&server, "OS_PREPROD")
        .args(["graph"])
        .run()
        .code(0);
    dot.stdout_has("\"extension-connections\" -> \"db-connections\" [label=\"foreign key");
    insta::assert_snapshot!("graph_dot", dot.stdout);
    let mermaid = Test::new()
        .spec(&core_spec())
        .server(&server, "OS_PREPROD")
        .args(["graph", "--format", "mermaid"])
        .run()
        .code(0);
    insta::assert_snapshot!("graph_mermaid", mermaid.stdout);
    // No connection at all: the declared resources still graph.
    let offline = Test::new()
        .spec(&core_spec())
        .args(["graph", "--offline"])
        .run()
        .code(0);
    assert!(
        offline
            .stdout
            .contains("\"tokens\" [label=\"tokens\\nrows_absent"),
        "{}",
        offline.stdout
    );
    assert!(
        !offline.stdout.contains("foreign key"),
        "{}",
        offline.stdout
    );
}

/// `--exclude` is honoured by plan, apply and the check after apply: the excluded table keeps
/// its rows, the rest converges; `--target` narrows to one resource.
#[test]
fn exclude_and_target() {
    let mut server = TestServer::start(&fixture("core/clone.sql"));
    let servers_before = server.dump("OSSYS_SERVER");
    let parameters_before = server.dump("OSSYS_PARAMETER");
    let test = |server: &TestServer, args: &[&str]| {
        Test::new()
            .spec(&core_spec())
            .server(server, "OS_PREPROD")
            .args(args.iter().copied())
            .run()
    };
    let planned = test(
        &server,
        &["plan", "--exclude", "servers", "--exclude", "license"],
    )
    .code(0);
    assert!(
        planned.stdout.contains("OSSYS_PARAMETER") && !planned.stdout.contains("OSSYS_SERVER"),
        "{}",
        planned.stdout
    );
    // An excluded manual step is gone too.
    assert!(
        !planned.stdout.contains("environment license"),
        "{}",
        planned.stdout
    );
    let applied = test(
        &server,
        &["apply", "--auto-approve", "--exclude", "servers"],
    )
    .code(0);
    applied.stdout_has("Converged");
    assert_eq!(
        server.dump("OSSYS_SERVER"),
        servers_before,
        "excluded table changed"
    );
    assert_ne!(server.dump("OSSYS_PARAMETER"), parameters_before);
    test(
        &server,
        &["plan", "--detailed-exitcode", "--exclude", "servers"],
    )
    .code(0);
    let rest = test(&server, &["plan", "--detailed-exitcode"]).code(2);
    rest.stdout_has("# 1. servers");
    let targeted = test(
        &server,
        &["plan", "--target", "servers", "--format", "json"],
    )
    .code(0);
    let doc: serde_json::Value = serde_json::from_str(&targeted.stdout).unwrap();
    assert_eq!(doc["changes"].as_array().unwrap().len(), 1);
    assert_eq!(doc["changes"][0]["id"], "servers");
    // A mistyped id is an error before anything connects or runs.
    let typo = test(&server, &["apply", "--auto-approve", "--target", "server"]).code(1);
    typo.stderr_has("--target server: the spec has no resource or manual step with this id (did you mean servers?)");
    assert_eq!(server.dump("OSSYS_SERVER"), servers_before);
}

/// Completions and the man page come from the command definition.
#[test]
fn completions_and_man_page() {
    let bash = Test::new().args(["completions", "bash"]).run().code(0);
    bash.stdout_has("complete -F _postclone");
    bash.stdout_has("--auto-approve");
    let zsh = Test::new().args(["completions", "zsh"]).run().code(0);
    assert!(
        zsh.stdout.starts_with("#compdef postclone"),
        "{}",
        zsh.stdout
    );
    let man = Test::new().args(["man"]).run().code(0);
    man.stdout_has(".TH postclone 1");
    let apply = Test::new().args(["man", "apply"]).run().code(0);
    apply.stdout_has(".TH postclone-apply 1");
    apply.stdout_has("auto\\-approve");
    Test::new().args(["man", "nope"]).run().code(1);
}

/// A plan of tens of thousands of rows still fits a pull-request comment: the summary first,
/// as many change sections as fit, then what was left out and how to get the whole plan.
#[test]
fn markdown_plan_fits_a_comment_issue_25() {
    use std::fmt::Write as _;
    const ROWS: usize = 20_000;
    const TABLES: usize = 120;
    let mut sql = String::from(
        "USE OS_PREPROD\nGO\nCREATE TABLE OSUSR_K4X_Endpoint (Id BIGINT IDENTITY(1,1) NOT NULL PRIMARY KEY, Url NVARCHAR(MAX) NULL)\nGO\n",
    );
    let rows: Vec<String> = (0..ROWS)
        .map(|i| format!("('https://api{i}.prod.example.com/v1')"))
        .collect();
    for chunk in rows.chunks(500) {
        let _ = writeln!(
            sql,
            "INSERT INTO OSUSR_K4X_Endpoint (Url) VALUES {}\nGO",
            chunk.join(", ")
        );
    }
    let mut spec = String::from(
        "engine: sqlserver\nguard: { database: OS_PREPROD }\nproduction:\n  hosts: [prod.example.com]\nresources:\n  - id: endpoints\n    kind: references_absent\n    tables: [{ table: osusr_k4x_endpoint, columns: [URL] }]\n",
    );
    for t in 0..TABLES {
        let _ = writeln!(
            sql,
            "CREATE TABLE OSUSR_K4X_Queue{t} (Id BIGINT IDENTITY(1,1) NOT NULL PRIMARY KEY, Payload NVARCHAR(MAX) NULL)\nGO\nINSERT INTO OSUSR_K4X_Queue{t} (Payload) VALUES ('pending job {t}'), ('another job {t}')\nGO"
        );
        let _ = write!(
            spec,
            "  - id: queue-{t}\n    description: the queue {t} of the integration, emptied so that no job of production runs here\n    kind: table_empty\n    table: osusr_k4x_queue{t}\n"
        );
    }
    let dir = tempfile::tempdir().unwrap();
    let clone = dir.path().join("clone.sql");
    std::fs::write(&clone, sql).unwrap();
    let server = TestServer::start(&clone);
    let out = Test::new()
        .spec(&spec)
        .server(&server, "OS_PREPROD")
        .args(["plan", "--format", "markdown"])
        .run()
        .code(0);
    let md = &out.stdout;
    let length = md.chars().count();
    assert!(length <= 65_536, "{length} characters");
    assert!(
        length > 50_000,
        "the budget was not used: {length} characters"
    );
    assert!(
        md.starts_with("### postclone plan for `OS_PREPROD`"),
        "{md}"
    );
    assert!(
        md.contains(&format!("{ROWS} values still name production")),
        "the summary counts every value:\n{}",
        &md[..md.len().min(2_000)]
    );
    // Every change is in the table; the sections that did not fit are counted, never cut.
    assert!(
        md.contains(&format!("| {TABLES} | `-` queue-{} |", TABLES - 1)),
        "{md}"
    );
    assert_eq!(
        md.matches("<details>").count(),
        md.matches("</details>").count()
    );
    let left = md
        .split("**Left out to stay under GitHub's 65536-character comment limit:** ")
        .nth(1)
        .expect("what was left out is said");
    assert!(left.contains("values naming production"), "{left}");
    assert!(
        left.contains("`postclone plan --format markdown > plan.md`"),
        "{left}"
    );
    let shown =
        md.matches("prod.example.com` |").count() + md.matches("| `OSUSR_K4X_Endpoint` |").count();
    assert!(shown < ROWS, "every row was listed");
}
