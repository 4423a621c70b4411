//! The journal and `restore`: every row an apply deletes or modifies can be put back.
//! See: issue 4

use crate::common::{demo_spec, journal_in, restore, root, Test, TestServer, IDENTITY, RECIPIENT};

/// apply → restore JOURNAL → every table identical to before the apply, binary columns and
/// NULLs included (personal and secret rows sealed, read back with the identity); the journal
/// is readable by its owner only and the plan said where it is.
#[test]
fn restore_puts_every_row_back() {
    let mut server = TestServer::start(&root().join("examples/demo/clone.sql"));
    let before = server.dump_everything();
    let spec = format!(
        "{}\njournal: {{ recipients: [{RECIPIENT}] }}\n",
        demo_spec()
    );
    let t = Test::new()
        .spec(&spec)
        .server(&server, "OS_PREPROD")
        .args(["apply", "--auto-approve"]);
    let out = t.run().code(0);
    assert!(
        out.stdout
            .contains("Journal: .postclone/journal/OS_PREPROD-"),
        "{}",
        out.stdout
    );
    assert_ne!(server.dump_everything(), before);
    let journal = journal_in(&t);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&journal)
            .expect("journal")
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    let text = std::fs::read_to_string(&journal).expect("journal");
    // With a recipient, secret values are sealed like personal data (restore opens them).
    assert!(
        !text.contains("sk_live_PROD_51Hx") && !text.contains("S3cr3t-PROD"),
        "the journal keeps secret values in clear though the spec has a recipient"
    );

    assert!(
        !text.contains("alice.martin@customer-one.example"),
        "the journal keeps personal data in clear"
    );
    let journal_arg = journal.to_str().expect("utf-8 path");
    let identity = t.path().join("identity.txt");
    std::fs::write(&identity, IDENTITY).expect("identity");
    let identity_arg = identity.to_str().expect("utf-8 path");
    let out = Test::new()
        .server(&server, "OS_PREPROD")
        .args([
            "restore",
            journal_arg,
            "--identity",
            identity_arg,
            "--auto-approve",
        ])
        .run()
        .code(0);
    assert!(out.stdout.contains("Restore complete"), "{}", out.stdout);
    assert!(
        !out.stdout.contains("sk_live_PROD"),
        "restore showed a secret:\n{}",
        out.stdout
    );
    assert_eq!(
        server.dump_everything(),
        before,
        "restore did not give back every row"
    );

    // Restoring again changes nothing: rows already present are left as they are.
    Test::new()
        .server(&server, "OS_PREPROD")
        .args([
            "restore",
            journal_arg,
            "--identity",
            identity_arg,
            "--auto-approve",
        ])
        .run()
        .code(0);
    assert_eq!(server.dump_everything(), before);
}

/// restore refuses a database other than the one the journal was written for.
#[test]
fn restore_refuses_another_database() {
    let mut server = TestServer::start(&root().join("examples/demo/clone.sql"));
    let t = Test::new()
        .spec(&demo_spec())
        .server(&server, "OS_PREPROD")
        .args(["apply", "--auto-approve"]);
    t.run().code(0);
    let journal = journal_in(&t);
    let after = server.dump_everything();
    let out = restore(&server, "OS_QA", &journal).run().code(1);
    assert!(
        out.stderr.contains("OS_PREPROD") && out.stderr.contains("OS_QA"),
        "{}",
        out.stderr
    );
    assert_eq!(server.dump_everything(), after);
}

/// A failed apply leaves a journal that says it was rolled back and holds the rows that were
/// about to change.
#[test]
fn failed_apply_keeps_its_journal() {
    let server = TestServer::start(&crate::common::fixture("core/clone.sql"));
    let spec = "engine: sqlserver
guard: { database: OS_PREPROD }
resources:
  - { id: servers, kind: table_empty, table: ossys_server }
  - { id: broken, kind: custom, check: SELECT ID FROM APP_ORDERS, fix: UPDATE NO_SUCH_TABLE SET X = 1 }
";
    let t = Test::new()
        .spec(spec)
        .server(&server, "OS_PREPROD")
        .args(["apply", "--auto-approve"]);
    let out = t.run().code(1);
    assert!(
        out.stderr.contains("journal: .postclone/journal/"),
        "{}",
        out.stderr
    );
    let text = std::fs::read_to_string(journal_in(&t)).expect("journal");
    assert!(text.contains("\"prod-fe01\""), "{text}");
    assert!(
        text.trim_end().ends_with('}') && text.contains("\"status\":\"rolled_back\""),
        "{text}"
    );
}

/// A journal altered after it was written is never acted on: a value edited, a row added, a
/// line removed, the file cut. Restore refuses before connecting to change anything, names
/// the line, and the database stays as the apply left it. See: issue 27
#[test]
fn an_altered_journal_is_refused_issue_27() {
    let mut server = TestServer::start(&root().join("examples/demo/clone.sql"));
    let t = Test::new()
        .spec(&demo_spec())
        .server(&server, "OS_PREPROD")
        .args(["apply", "--auto-approve"]);
    t.run().code(0);
    let journal = journal_in(&t);
    let after = server.dump_everything();
    let text = std::fs::read_to_string(&journal).expect("journal");
    let lines: Vec<&str> = text.lines().collect();
    let row = lines
        .iter()
        .position(|l| l.contains("\"prod-fe01\""))
        .expect("a journaled front-end row");
    let join = |lines: Vec<&str>| format!("{}\n", lines.join("\n"));
    let edited = text.replacen("\"prod-fe01\"", "\"prod-fe09\"", 1);
    let mut added = lines.clone();
    added.insert(row, lines[row]);
    let mut removed = lines.clone();
    removed.remove(row);
    let cut = &text[..text.len() - 20];
    for (what, altered, expected) in [
        ("edited", edited, "altered after it was written"),
        ("a row added", join(added), "altered after it was written"),
        (
            "a row removed",
            join(removed),
            "altered after it was written",
        ),
        ("cut", cut.to_string(), "ends before its apply did"),
    ] {
        let path = t.path().join(format!("{}.jsonl", what.replace(' ', "-")));
        std::fs::write(&path, &altered).expect("altered journal");
        let out = restore(&server, "OS_PREPROD", &path).run().code(1);
        assert!(out.stderr.contains(expected), "{what}: {}", out.stderr);
        assert_eq!(server.dump_everything(), after, "{what}: restore wrote");
    }
    // The journal as written still restores.
    restore(&server, "OS_PREPROD", &journal).run().code(0);
}
