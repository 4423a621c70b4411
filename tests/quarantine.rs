//! `outsystems-o11-quarantine`: on the demo clone, which holds production's Scheduler work
//! (idle, overdue, running and never-scheduled timers, multi-tenant timers, queued emails and
//! BPT events, activities in every state), the plan says what would run, apply leaves nothing
//! due, running work is untouched, and lifting the quarantine gives back only what it replaced.
//! See: issue 12

use crate::common::{journal_in, root, Test, TestServer};

const SPEC: &str = "engine: sqlserver
guard: { database: OS_PREPROD }
include: [outsystems-o11-quarantine]
";

/// Values of people in the fixture's email queue: never in any output.
const PERSONAL: [&str; 6] = [
    "alice.martin",
    "bob.stone",
    "carol.white",
    "customer-one.example",
    "Your invoice",
    "Payment reminder",
];

fn run(server: &TestServer, args: &[&str]) -> crate::common::Output {
    Test::new()
        .spec(SPEC)
        .server(server, "OS_PREPROD")
        .args(args.iter().copied())
        .run()
}

/// Every column but NEXT_RUN, so that a table can be compared whole minus the one column the
/// quarantine sets.
fn without_next_run(server: &mut TestServer, table: &str) -> Vec<String> {
    let columns: Vec<String> = server
        .rows(&format!(
            "SELECT COLUMN_NAME FROM INFORMATION_SCHEMA.COLUMNS WHERE TABLE_NAME = '{table}' ORDER BY ORDINAL_POSITION"
        ))
        .into_iter()
        .map(|c| c.trim_matches('"').to_string())
        .filter(|c| c != "NEXT_RUN")
        .map(|c| format!("CAST([{c}] AS NVARCHAR(4000))"))
        .collect();
    let mut rows = server.rows(&format!("SELECT {} FROM {table}", columns.join(", ")));
    rows.sort();
    rows
}

fn next_runs(server: &mut TestServer, table: &str, key: &str) -> Vec<String> {
    let mut rows = server.rows(&format!(
        "SELECT {key}, CAST(NEXT_RUN AS NVARCHAR(40)) FROM {table}"
    ));
    rows.sort();
    rows
}

const CHANGED: [&str; 7] = [
    "OSSYS_CYCLIC_JOB_SHARED",
    "OSSYS_CYCLIC_JOB",
    "OSSYS_BPM_ACTIVITY",
    "OSSYS_EMAIL",
    "OSSYS_EMAIL_CONTENT",
    "OSSYS_BPM_EVENT",
    "OSSYS_BPM_EVENT_QUEUE",
];

#[test]
pub(crate) fn quarantine_leaves_nothing_due_and_running_work_untouched_issue_12() {
    // See: issue 12
    let mut server = TestServer::start(&root().join("examples/demo/clone.sql"));
    let before = server.dump_everything();
    let timers_before = without_next_run(&mut server, "OSSYS_CYCLIC_JOB_SHARED");
    let tenants_before = without_next_run(&mut server, "OSSYS_CYCLIC_JOB");
    let activities_before = without_next_run(&mut server, "OSSYS_BPM_ACTIVITY");

    // The plan says, before the changes, what would run.
    let text = run(&server, &["plan", "--detailed-exitcode"])
        .code(2)
        .stdout;
    for line in [
        "! timers overdue, would run within 20 s of the Scheduler starting: 2 (SyncInvoicesToERP, PurgeOldLeads)",
        "! timers overdue in tenants, would run within 20 s of the Scheduler starting: 1 (ScoreLeads)",
        "! timers running, left as they are: 1 (SynchronizeDomainUsers since 2026-11-29T04:00:02)",
        "! emails queued, would be sent by the Scheduler: 3",
        "! BPT events queued (processes): 2",
        "! BPT events queued (light processes): 1",
        "! BPT activities due, would run within 20 s of the Scheduler starting: 2 (SendToERP, RetryExport)",
        "! BPT activities running, left as they are: 1 (ScoreLead since 2026-11-29T09:00:05)",
        "~ META_CYCLIC_JOB_ID = 4 (SendDunningLetters)",
    ] {
        assert!(text.contains(line), "{line} not in:\n{text}");
    }
    assert!(
        text.find("Reports (read only").unwrap() < text.find("# 1.").unwrap(),
        "reports come before the changes:\n{text}"
    );
    let json = run(&server, &["plan", "--format", "json"]).code(0).stdout;
    let doc: serde_json::Value = serde_json::from_str(&json).expect("JSON plan");
    let count = |id: &str| {
        doc["reports"]
            .as_array()
            .expect("reports")
            .iter()
            .find(|r| r["id"] == id)
            .map(|r| r["count"].as_u64().expect("count"))
    };
    assert_eq!(count("timers-overdue"), Some(2));
    assert_eq!(count("emails-queued"), Some(3));
    assert_eq!(count("bpt-activities-due"), Some(2));
    let markdown = run(&server, &["plan", "--format", "markdown"])
        .code(0)
        .stdout;
    assert!(
        markdown.contains("- emails queued, would be sent by the Scheduler: 3"),
        "{markdown}"
    );
    let verbose = run(&server, &["plan", "--verbose"]).code(0).stdout;
    for out in [&text, &json, &markdown, &verbose] {
        for value in PERSONAL {
            assert!(!out.contains(value), "{value} shown:\n{out}");
        }
    }
    assert_eq!(server.dump_everything(), before, "plan wrote something");

    let out = run(&server, &["apply", "--auto-approve"]).code(0).stdout;
    assert!(
        out.contains("Converged: a new plan shows no changes."),
        "{out}"
    );
    for value in PERSONAL {
        assert!(!out.contains(value), "{value} shown:\n{out}");
    }

    // Exactly the declared state.
    for table in [
        "OSSYS_EMAIL",
        "OSSYS_EMAIL_CONTENT",
        "OSSYS_BPM_EVENT",
        "OSSYS_BPM_EVENT_QUEUE",
    ] {
        assert_eq!(server.dump(table), Vec::<String>::new(), "{table}");
    }
    let far = "9999-12-31 00:00:00";
    assert_eq!(
        next_runs(&mut server, "OSSYS_CYCLIC_JOB_SHARED", "META_CYCLIC_JOB_ID"),
        vec![
            format!("1 | \"{far}\""),
            format!("2 | \"{far}\""),
            // Running: left as it is.
            "3 | \"2026-11-29 04:00:00\"".to_string(),
            format!("4 | \"{far}\""),
            // Never scheduled: left as it is.
            "5 | NULL".to_string(),
        ]
    );
    assert_eq!(
        next_runs(
            &mut server,
            "OSSYS_CYCLIC_JOB",
            "CAST(META_CYCLIC_JOB_ID AS NVARCHAR(9)) + '/' + CAST(TENANT_ID AS NVARCHAR(9))"
        ),
        vec![
            format!("\"6/1\" | \"{far}\""),
            "\"6/2\" | \"2026-11-29 12:00:00\"".to_string(),
        ]
    );
    assert_eq!(
        next_runs(&mut server, "OSSYS_BPM_ACTIVITY", "ID"),
        vec![
            // Closed (terminal): untouched.
            "1 | NULL".to_string(),
            format!("2 | \"{far}\""),
            format!("3 | \"{far}\""),
            // Running: untouched.
            "4 | \"2026-11-28 09:00:00\"".to_string(),
            format!("5 | \"{far}\""),
            // Waiting for a person, no NEXT_RUN: untouched.
            "6 | NULL".to_string(),
            // Terminated (terminal), with a past NEXT_RUN: untouched.
            "7 | \"2026-11-19 09:00:00\"".to_string(),
        ]
    );
    // Nothing else changed: every other column of the updated tables, every other table.
    assert_eq!(
        without_next_run(&mut server, "OSSYS_CYCLIC_JOB_SHARED"),
        timers_before
    );
    assert_eq!(
        without_next_run(&mut server, "OSSYS_CYCLIC_JOB"),
        tenants_before
    );
    assert_eq!(
        without_next_run(&mut server, "OSSYS_BPM_ACTIVITY"),
        activities_before
    );
    let after = server.dump_everything();
    for ((table, rows), (_, then)) in after.iter().zip(&before) {
        if !CHANGED.contains(&table.to_uppercase().as_str()) {
            assert_eq!(rows, then, "{table} changed");
        }
    }

    // A second plan is empty; only the running work is still reported.
    let again = run(&server, &["plan", "--detailed-exitcode"])
        .code(0)
        .stdout;
    assert!(again.contains("No changes."), "{again}");
    assert!(!again.contains("overdue"), "{again}");
    assert!(!again.contains("queued"), "{again}");
    assert!(
        again.contains("! timers running, left as they are: 1 (SynchronizeDomainUsers"),
        "{again}"
    );
}

/// Lifting: named timers first, then the rest; a timer that ran since is left as it is and
/// listed; nothing the quarantine did not replace comes back.
#[test]
pub(crate) fn lifting_the_quarantine_gives_back_only_what_it_replaced() {
    let mut server = TestServer::start(&root().join("examples/demo/clone.sql"));
    let original = next_runs(&mut server, "OSSYS_CYCLIC_JOB_SHARED", "META_CYCLIC_JOB_ID");
    let t = Test::new()
        .spec(SPEC)
        .server(&server, "OS_PREPROD")
        .args(["apply", "--auto-approve"]);
    t.run().code(0);
    let journal = journal_in(&t);
    let journal = journal.to_str().expect("utf-8 path");
    // PurgeOldLeads ran after the apply (someone pressed Run Now).
    server.run_sql(
        "UPDATE OSSYS_CYCLIC_JOB_SHARED SET LAST_RUN = '2026-11-29T10:00:00', NEXT_RUN = '2026-11-30T10:00:00' WHERE META_CYCLIC_JOB_ID = 2",
    );
    let restore = |server: &TestServer, args: &[&str]| {
        let mut all = vec!["restore", journal];
        all.extend_from_slice(args);
        Test::new()
            .spec(SPEC)
            .server(server, "OS_PREPROD")
            .args(all)
            .run()
    };

    let out = restore(
        &server,
        &[
            "--resource",
            "quarantined-timers",
            "--label",
            "syncinvoicestoerp",
            "--auto-approve",
        ],
    )
    .code(0);
    out.stdout_has("~ META_CYCLIC_JOB_ID = 1 (SyncInvoicesToERP)");
    out.stdout_has("write back NEXT_RUN of 1 row");
    let far = "\"9999-12-31 00:00:00\"";
    assert_eq!(
        next_runs(&mut server, "OSSYS_CYCLIC_JOB_SHARED", "META_CYCLIC_JOB_ID"),
        vec![
            original[0].clone(),
            "2 | \"2026-11-30 10:00:00\"".to_string(),
            original[2].clone(),
            format!("4 | {far}"),
            original[4].clone(),
        ]
    );

    let out = restore(
        &server,
        &["--resource", "quarantined-timers", "--auto-approve"],
    )
    .code(0);
    out.stdout_has("! quarantined-timers META_CYCLIC_JOB_ID = 2 (PurgeOldLeads): changed since the apply (NEXT_RUN)");
    out.stdout_has("1 row already as journaled");
    assert_eq!(
        next_runs(&mut server, "OSSYS_CYCLIC_JOB_SHARED", "META_CYCLIC_JOB_ID"),
        vec![
            original[0].clone(),
            "2 | \"2026-11-30 10:00:00\"".to_string(),
            original[2].clone(),
            original[3].clone(),
            original[4].clone(),
        ]
    );
    // The other resources' rows stay quarantined and purged.
    assert_eq!(
        next_runs(&mut server, "OSSYS_BPM_ACTIVITY", "ID")[1],
        format!("2 | {far}")
    );
    assert_eq!(server.dump("OSSYS_EMAIL"), Vec::<String>::new());

    let out = restore(&server, &["--label", "NoSuchTimer", "--auto-approve"]).code(1);
    out.stderr_has("no journaled row is named \"NoSuchTimer\"");
    let out = restore(&server, &["--resource", "nope", "--auto-approve"]).code(1);
    out.stderr_has("the journal holds no change nope");
}
