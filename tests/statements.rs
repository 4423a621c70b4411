//! Every statement shape the SQL Server path can send, and how each ran here: as an RPC with
//! typed parameters (as SQL Server gets it), as a batch of literals (the embedded engine's
//! rewrite, for what it misreads), or not at all (and why). The list is
//! `tests/fixtures/statement-shapes.txt`; the runs below record what they sent
//! (`POSTCLONE_STATEMENT_SHAPES`), and the test fails on a shape sent that the list lacks, a
//! wire that differs, or a shape listed as run that no run sent. See: issue 35

use std::collections::{BTreeMap, BTreeSet};

use crate::common::{
    demo_spec, fixture, journal_in, restore, root, Test, TestServer, IDENTITY, RECIPIENT,
};

const LIST: &str = include_str!("fixtures/statement-shapes.txt");

/// The committed list: shape → `parameters`, `literals`, both, or `not run here: REASON`.
fn listed() -> BTreeMap<String, String> {
    LIST.lines()
        .filter(|l| !l.trim().is_empty() && !l.starts_with('#'))
        .map(|l| {
            let (shape, how) = l.split_once('\t').expect("SHAPE<TAB>HOW");
            (shape.to_string(), how.to_string())
        })
        .collect()
}

#[test]
fn every_statement_shape_is_listed_with_how_it_ran_here_issue_35() {
    let dir = tempfile::tempdir().expect("temp dir");
    let log = dir.path().join("shapes.tsv");
    let log_arg = log.to_str().expect("utf-8 path").to_string();
    let recorded = |t: Test| {
        t.env(
            postclone::engine::sqlserver::shapes::SHAPES_VARIABLE,
            &log_arg,
        )
    };

    // The runbook profile, quarantine and host rewrites: plan, apply, restore.
    let demo = TestServer::start(&root().join("examples/demo/clone.sql"));
    let spec = format!(
        "{}\njournal: {{ recipients: [{RECIPIENT}] }}\n",
        demo_spec()
    );
    let apply = recorded(
        Test::new()
            .spec(&spec)
            .server(&demo, "OS_PREPROD")
            .args(["apply", "--auto-approve"]),
    );
    apply.run().code(0);
    let identity = apply.path().join("identity.txt");
    std::fs::write(&identity, IDENTITY).expect("identity");
    let journal = journal_in(&apply);
    recorded(
        restore(&demo, "OS_PREPROD", &journal)
            .args(["--identity", identity.to_str().expect("utf-8")]),
    )
    .run()
    .code(0);

    // Masking, the copies scan and the triggers' queue.
    let personal = TestServer::start(&fixture("personal/clone.sql"));
    recorded(
        Test::new()
            .spec(&crate::personal::spec(true, ""))
            .server(&personal, "OS_PREPROD")
            .env("POSTCLONE_MASK_KEY", crate::personal::KEY)
            .args(["apply", "--auto-approve"]),
    )
    .run()
    .code(0);

    // The carry: captured values written by key, a missing row inserted.
    let preprod = TestServer::start(&fixture("carry/preprod.sql"));
    let (out, captured) = crate::carry::capture(&preprod);
    out.code(0);
    let clone = crate::carry::clone_server();
    recorded(crate::carry::after(&clone, &captured).args([
        "apply",
        "--identity",
        "id.txt",
        "--auto-approve",
    ]))
    .run()
    .code(0);

    // A table without a key, restored row by row.
    let logs = TestServer::start(&fixture("restore/log-without-key.sql"));
    let spec = "engine: sqlserver\nguard: { database: OS_PREPROD }\nresources:\n  - id: old-logs\n    kind: rows_absent\n    table: oslog_general\n    where: [{ column: tenant_id, in: [1] }]\n";
    let apply = recorded(
        Test::new()
            .spec(spec)
            .server(&logs, "OS_PREPROD")
            .args(["apply", "--auto-approve"]),
    );
    apply.run().code(0);
    recorded(restore(&logs, "OS_PREPROD", &journal_in(&apply)))
        .run()
        .code(0);

    let text = std::fs::read_to_string(&log).expect("the runs recorded what they sent");
    let mut sent: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for line in text.lines() {
        let (wire, shape) = line.split_once('\t').expect("WIRE<TAB>SHAPE");
        sent.entry(shape.to_string())
            .or_default()
            .insert(wire.to_string());
    }
    let listed = listed();
    let mut problems = Vec::new();
    for (shape, wires) in &sent {
        let how = wires.iter().cloned().collect::<Vec<_>>().join(", ");
        match listed.get(shape) {
            None => problems.push(format!("sent, not listed:\n{shape}\t{how}")),
            Some(l) if *l != how => problems.push(format!("listed as {l}, sent as {how}: {shape}")),
            Some(_) => {}
        }
    }
    for (shape, how) in &listed {
        match how.strip_prefix("not run here: ") {
            Some(reason) => {
                assert!(!reason.trim().is_empty(), "no reason given for {shape}");
                if sent.contains_key(shape) {
                    problems.push(format!("listed as not run here, but sent: {shape}"));
                }
            }
            None if !sent.contains_key(shape) => {
                problems.push(format!("listed as {how}, never sent: {shape}"))
            }
            None => {}
        }
    }
    assert!(
        problems.is_empty(),
        "{}\n({} shapes sent)",
        problems.join("\n"),
        sent.len()
    );
    // The parameterised path is exercised here, not only the literal one.
    let by_parameters = sent.values().filter(|w| w.contains("parameters")).count();
    assert!(
        by_parameters >= 10,
        "{by_parameters} shapes sent as parameters"
    );
}
