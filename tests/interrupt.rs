//! Interrupted and concurrent applies, on a clone large enough to take a few seconds.
//! See: issue 4

use std::path::PathBuf;
use std::time::{Duration, Instant};

use crate::common::{restore, Test, TestServer};

const ROWS: usize = 2000;

const SPEC: &str = "engine: sqlserver
guard: { database: OS_PREPROD }
resources:
  - id: big
    kind: column_values
    secret: true
    table: big
    set: { VAL: preprod }
";

/// A clone with one table of `ROWS` rows, written to `dir`.
fn big_clone(dir: &std::path::Path) -> PathBuf {
    let mut sql = String::from(
        "USE OS_PREPROD\nGO\nCREATE TABLE BIG (ID INT NOT NULL PRIMARY KEY, VAL NVARCHAR(100) NOT NULL, SECRET NVARCHAR(100) NULL)\nGO\n",
    );
    for start in (0..ROWS).step_by(500) {
        let values: Vec<String> = (start + 1..=ROWS.min(start + 500))
            .map(|i| format!("({i}, 'prod-value-{i}', 'BIG-SECRET-{i}')"))
            .collect();
        sql.push_str(&format!(
            "INSERT INTO BIG VALUES {}\nGO\n",
            values.join(",")
        ));
    }
    let path = dir.join("big.sql");
    std::fs::write(&path, sql).expect("write clone");
    path
}

fn wait_for(what: &str, mut done: impl FnMut() -> bool) {
    let start = Instant::now();
    while !done() {
        assert!(
            start.elapsed() < Duration::from_secs(120),
            "timed out waiting for {what}"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Killing apply after its journal is written and while its update runs leaves the database
/// as it was; apply again converges; the killed apply's journal still restores the original.
#[test]
fn killed_apply_rolls_back_and_its_journal_restores() {
    let scratch = tempfile::tempdir().expect("temp dir");
    let mut server = TestServer::start(&big_clone(scratch.path()));
    let original = server.dump("BIG");

    let first = Test::new().spec(SPEC).server(&server, "OS_PREPROD").args([
        "apply",
        "--auto-approve",
        "--journal",
        "first.jsonl",
    ]);
    let journal = first.path().join("first.jsonl");
    let mut child = first.spawn();
    // The journal is flushed before the update starts: once every row is there, kill.
    wait_for("the journal", || {
        std::fs::read_to_string(&journal)
            .is_ok_and(|t| t.matches("\"entry\":\"row\"").count() == ROWS)
    });
    std::thread::sleep(Duration::from_millis(300));
    child.kill().expect("kill apply");
    child.wait().expect("reap apply");

    // The server rolls the open transaction back when the connection drops.
    wait_for("the rollback", || server.dump("BIG") == original);
    let text = std::fs::read_to_string(&journal).expect("journal");
    assert!(
        !text.contains("\"entry\":\"status\""),
        "the killed apply wrote no outcome"
    );

    let again = Test::new()
        .spec(SPEC)
        .server(&server, "OS_PREPROD")
        .args(["apply", "--auto-approve", "--journal", "second.jsonl"])
        .run()
        .code(0);
    again.stdout_has("Converged");
    assert!(server.dump("BIG").iter().all(|r| r.contains("\"preprod\"")));

    // Without its end marker, the journal is restored only when asked to.
    let refused = restore(&server, "OS_PREPROD", &journal).run().code(1);
    refused.stderr_has("--incomplete");
    assert!(server.dump("BIG").iter().all(|r| r.contains("\"preprod\"")));
    let out = restore(&server, "OS_PREPROD", &journal)
        .args(["--incomplete"])
        .run()
        .code(0);
    out.stdout_has("the apply did not finish");
    assert!(!out.stdout.contains("BIG-SECRET"), "{}", out.stdout);
    assert_eq!(server.dump("BIG"), original);
}

/// Two applies at once: one runs; the other either gives up on the lock, or waits until the
/// first has committed and then has nothing to do. Never do both change rows.
#[test]
fn concurrent_applies_never_both_run() {
    let scratch = tempfile::tempdir().expect("temp dir");
    let mut server = TestServer::start(&big_clone(scratch.path()));
    let run = |name: &str| {
        Test::new().spec(SPEC).server(&server, "OS_PREPROD").args([
            "apply",
            "--auto-approve",
            "--lock-timeout",
            "1",
            "--journal",
            name,
        ])
    };
    let (a, b) = (run("a.jsonl"), run("b.jsonl"));
    let first = a.spawn();
    wait_for("the first apply's journal", || {
        a.path().join("a.jsonl").exists()
    });
    let second = b.spawn();
    let (a_out, b_out) = (Test::wait(first), Test::wait(second));
    assert_eq!(a_out.code, 0, "{}", a_out.stderr);
    a_out.stdout_has(&format!("{ROWS} rows journaled"));
    let gave_up = b_out.code == 1
        && (b_out.stderr.contains("another postclone apply is running")
            || b_out
                .stderr
                .contains("another apply changed these rows while this one waited"));
    let waited = b_out.code == 0 && b_out.stdout.contains("Apply complete: nothing to do.");
    assert!(
        gave_up || waited,
        "the second apply neither waited nor gave up:\n{}\n{}\nFIRST:\n{}\n{}",
        b_out.stdout,
        b_out.stderr,
        a_out.stdout,
        a_out.stderr
    );
    let b_rows = std::fs::read_to_string(b.path().join("b.jsonl")).unwrap_or_default();
    assert!(
        !b_rows.contains("\"entry\":\"row\""),
        "the second apply journaled rows: {b_rows}"
    );
    assert!(server.dump("BIG").iter().all(|r| r.contains("\"preprod\"")));
}
