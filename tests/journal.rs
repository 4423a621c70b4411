//! The journal and `restore`: every row an apply deletes or modifies can be put back.
//! See: issue 4

use crate::common::{demo_spec, journal_in, restore, root, Test, TestServer, IDENTITY, RECIPIENT};

/// apply → restore JOURNAL → every table identical to before the apply, binary columns and
/// NULLs included (personal and secret rows sealed, read back with the identity); the journal
/// is readable by its owner only and the plan said where it is.
#[test]
pub(crate) fn restore_puts_every_row_back() {
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
    out.stdout_has("Journal: .postclone/journal/OS_PREPROD-");
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
    let restore = |server: &TestServer| {
        Test::new()
            .server(server, "OS_PREPROD")
            .args([
                "restore",
                journal_arg,
                "--identity",
                identity_arg,
                "--auto-approve",
            ])
            .run()
            .code(0)
    };
    let out = restore(&server);
    out.stdout_has("Restore complete");
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
    restore(&server);
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
    out.stderr_has("journal: .postclone/journal/");
    let text = std::fs::read_to_string(journal_in(&t)).expect("journal");
    assert!(text.contains("\"prod-fe01\""), "{text}");
    assert!(
        text.trim_end().ends_with('}') && text.contains("\"status\":\"rolled_back\""),
        "{text}"
    );
}

/// The demo applied on a server of its own: the run, its journal (path and text) and the
/// database as the apply left it.
struct Applied {
    server: TestServer,
    t: Test,
    journal: std::path::PathBuf,
    after: Vec<(String, Vec<String>)>,
    text: String,
}

fn applied_demo() -> Applied {
    let mut server = TestServer::start(&root().join("examples/demo/clone.sql"));
    let t = Test::new()
        .spec(&demo_spec())
        .server(&server, "OS_PREPROD")
        .args(["apply", "--auto-approve"]);
    t.run().code(0);
    let journal = journal_in(&t);
    let after = server.dump_everything();
    let text = std::fs::read_to_string(&journal).expect("journal");
    Applied {
        server,
        t,
        journal,
        after,
        text,
    }
}

/// A journal altered after it was written is never acted on: a value edited, a row added, a
/// line removed, the file cut. Restore refuses before connecting to change anything, names
/// the line, and the database stays as the apply left it. See: issue 27
#[test]
fn an_altered_journal_is_refused_issue_27() {
    let Applied {
        mut server,
        t,
        journal,
        after,
        text,
    } = applied_demo();
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

/// Restore reads the journal a page at a time (2,000 rows): on changes of several pages, rows
/// changed or deleted after the apply in every page are left alone and listed, every other row
/// goes back, and a second restore finds nothing to do. See: issue 26
#[test]
pub(crate) fn restore_over_many_pages_issue_26() {
    use std::fmt::Write as _;
    const ROWS: usize = 4_500;
    let mut sql = String::from(
        "USE OS_PREPROD\nGO\n\
         CREATE TABLE OSUSR_K4X_JOB (ID BIGINT IDENTITY(1,1) NOT NULL PRIMARY KEY, NAME NVARCHAR(MAX) NULL, STATUS SMALLINT NOT NULL)\nGO\n\
         CREATE TABLE OSUSR_K4X_EVENT (ID BIGINT IDENTITY(1,1) NOT NULL PRIMARY KEY, PAYLOAD NVARCHAR(MAX) NULL)\nGO\n",
    );
    let jobs: Vec<String> = (0..ROWS)
        .map(|i| format!("('job {i}', {})", i % 3))
        .collect();
    let events: Vec<String> = (0..ROWS).map(|i| format!("('event {i}')")).collect();
    for (table, rows) in [
        ("OSUSR_K4X_JOB (NAME, STATUS)", &jobs),
        ("OSUSR_K4X_EVENT (PAYLOAD)", &events),
    ] {
        for chunk in rows.chunks(500) {
            let _ = writeln!(sql, "INSERT INTO {table} VALUES {}\nGO", chunk.join(", "));
        }
    }
    let dir = tempfile::tempdir().unwrap();
    let clone = dir.path().join("clone.sql");
    std::fs::write(&clone, sql).unwrap();
    let mut server = TestServer::start(&clone);
    let before_jobs = server.dump("OSUSR_K4X_JOB");
    let before_events = server.dump("OSUSR_K4X_EVENT");
    let spec = "engine: sqlserver\nguard: { database: OS_PREPROD }\nresources:\n  - id: jobs-paused\n    kind: column_values\n    table: osusr_k4x_job\n    set: { Status: 9 }\n  - id: events\n    kind: table_empty\n    table: OsUsr_K4x_Event\n";
    let t = Test::new()
        .spec(spec)
        .server(&server, "OS_PREPROD")
        .args(["apply", "--auto-approve"]);
    t.run().code(0);
    let journal = journal_in(&t);
    // After the apply, in the first, second and third page: a job changed, a job deleted, an
    // event inserted again with other values.
    server.run_sql("UPDATE OSUSR_K4X_JOB SET STATUS = 5 WHERE ID IN (7, 2501, 4400)");
    server.run_sql("DELETE FROM OSUSR_K4X_JOB WHERE ID IN (1999, 4001)");
    server.run_sql(
        "SET IDENTITY_INSERT OSUSR_K4X_EVENT ON; INSERT INTO OSUSR_K4X_EVENT (ID, PAYLOAD) VALUES (2222, 'not the journaled one'); SET IDENTITY_INSERT OSUSR_K4X_EVENT OFF",
    );
    let out = restore(&server, "OS_PREPROD", &journal).run().code(0);
    let text = &out.stdout;
    assert!(
        text.contains(&format!(
            "  + insert {} rows into dbo.OSUSR_K4X_EVENT",
            ROWS - 1
        )),
        "{text}"
    );
    assert!(
        text.contains(&format!("write back STATUS of {} rows", ROWS - 5)),
        "{text}"
    );
    assert!(text.contains("Left as they are (6 rows"), "{text}");
    for key in [
        "ID = 7",
        "ID = 2501",
        "ID = 4400",
        "ID = 1999",
        "ID = 4001",
        "ID = 2222",
    ] {
        assert!(
            text.contains(&format!("{key}:")) || text.contains(&format!("{key} ")),
            "{key} not listed:\n{text}"
        );
    }
    assert!(
        text.contains(&format!(
            "Restore complete: {} journaled rows are back in 2 tables",
            2 * ROWS - 6
        )),
        "{text}"
    );
    let jobs = server.dump("OSUSR_K4X_JOB");
    let events = server.dump("OSUSR_K4X_EVENT");
    assert_eq!(jobs.len(), ROWS - 2);
    assert_eq!(events.len(), ROWS);
    let changed: Vec<&String> = jobs.iter().filter(|r| !before_jobs.contains(r)).collect();
    assert_eq!(
        changed.len(),
        3,
        "only the jobs changed after the apply differ: {changed:?}"
    );
    let other: Vec<&String> = events
        .iter()
        .filter(|r| !before_events.contains(r))
        .collect();
    assert_eq!(other.len(), 1, "{other:?}");
    let again = restore(&server, "OS_PREPROD", &journal).run().code(0);
    again.stdout_has("Nothing to restore");
}

/// `--unverified` is offered and accepted only for a journal written before lines carried
/// digests: one of the current format whose digests were all taken out is refused with or
/// without it, and one whose line endings became CRLF (git, an editor) restores as written.
/// See: issue 33
#[test]
fn unverified_only_where_it_means_something_issue_33() {
    let Applied {
        mut server,
        t,
        after,
        text,
        ..
    } = applied_demo();
    let stripped: String = text
        .lines()
        .map(|l| match l.rfind(",\"chain\":\"") {
            Some(at) => format!("{}}}\n", &l[..at]),
            None => format!("{l}\n"),
        })
        .collect();
    assert_ne!(stripped, text, "the journal's lines carry digests");
    let path = t.path().join("stripped.jsonl");
    std::fs::write(&path, &stripped).expect("stripped journal");
    for extra in [&[][..], &["--unverified"]] {
        let out = restore(&server, "OS_PREPROD", &path)
            .args(extra.iter().copied())
            .run()
            .code(1);
        out.stderr_has("the digests were taken out");
        assert!(!out.stderr.contains("Restore it anyway"), "{}", out.stderr);
        assert_eq!(server.dump_everything(), after, "restore wrote");
    }
    let crlf = t.path().join("crlf.jsonl");
    std::fs::write(&crlf, text.replace('\n', "\r\n")).expect("CRLF journal");
    let out = restore(&server, "OS_PREPROD", &crlf).run().code(0);
    out.stdout_has("Restore complete");
    assert_ne!(
        server.dump_everything(),
        after,
        "the CRLF journal restored nothing"
    );
}

/// `lines` (JSON objects without their digests) chained again as anyone could: plain SHA-256
/// from format 3's public starting value, the 12-line script of the attack.
fn rechained(lines: &[String]) -> String {
    use sha2::{Digest, Sha256};
    let mut last: [u8; 32] = Sha256::digest(b"postclone journal, format 3").into();
    let mut out = String::new();
    for json in lines {
        let mut h = Sha256::new();
        h.update(last);
        h.update(json.as_bytes());
        last = h.finalize().into();
        let hex: String = last.iter().map(|b| format!("{b:02x}")).collect();
        out.push_str(&format!(
            "{},\"chain\":\"{hex}\"}}\n",
            &json[..json.len() - 1]
        ));
    }
    out
}

/// A journal's chain is keyed with a secret the file does not hold (derived from the plan
/// key): a journal edited, or grown by a row, and chained again with plain SHA-256, the same
/// claiming the older format, a journal cut in half with its end marker put back, and the untouched journal
/// read with another plan key or none are refused, and the database is unchanged; the
/// untouched journal restores. See: issue 34
#[test]
fn a_journal_chained_again_is_refused_issue_34() {
    let Applied {
        mut server,
        t,
        journal,
        after,
        text,
    } = applied_demo();
    let bare: Vec<String> = text
        .lines()
        .map(|l| format!("{}}}", &l[..l.rfind(",\"chain\":\"").expect("a digest")]))
        .collect();
    assert!(bare[0].contains("\"format\":4"), "{}", bare[0]);
    let edited: Vec<String> = bare
        .iter()
        .map(|l| l.replacen("\"prod-fe01\"", "\"prod-fe09\"", 1))
        .collect();
    let older: Vec<String> = edited
        .iter()
        .map(|l| l.replacen("\"format\":4", "\"format\":3", 1))
        .collect();
    let mut cut: Vec<String> = bare[..bare.len() / 2].to_vec();
    cut.push(bare.last().expect("end marker").clone());
    // A journaled row written twice: a line added among the rows.
    let row = bare
        .iter()
        .position(|l| l.contains("\"entry\":\"row\""))
        .expect("a journaled row");
    let mut grown = bare.clone();
    grown.insert(row + 1, bare[row].clone());
    for (what, altered, expected) in [
        (
            "a row added, chained again",
            rechained(&grown),
            "altered after it was written",
        ),
        (
            "edited, chained again",
            rechained(&edited),
            "altered after it was written",
        ),
        ("claiming format 3", rechained(&older), "plain SHA-256"),
        (
            "cut, end marker put back",
            rechained(&cut),
            "altered after it was written",
        ),
    ] {
        let path = t
            .path()
            .join(format!("{}.jsonl", what.replace([' ', ','], "-")));
        std::fs::write(&path, &altered).expect("altered journal");
        let out = restore(&server, "OS_PREPROD", &path).run().code(1);
        assert!(out.stderr.contains(expected), "{what}: {}", out.stderr);
        assert_eq!(server.dump_everything(), after, "{what}: restore wrote");
    }
    let other_key = restore(&server, "OS_PREPROD", &journal)
        .env("POSTCLONE_PLAN_KEY", &"ab".repeat(32))
        .run()
        .code(1);
    other_key.stderr_has("altered after it was written");
    let empty = tempfile::tempdir().expect("a configuration directory without a key");
    let no_key = restore(&server, "OS_PREPROD", &journal)
        .env("XDG_CONFIG_HOME", empty.path().to_str().expect("utf-8"))
        .run()
        .code(1);
    no_key.stderr_has("no plan key is set here");
    assert_eq!(server.dump_everything(), after, "a refused restore wrote");
    restore(&server, "OS_PREPROD", &journal).run().code(0);
}

/// A restore of `journal` trusting only `signer` (a .pub file) is refused saying `expected`,
/// and the database is unchanged.
fn refused_unless_signed(
    server: &mut TestServer,
    journal: &std::path::Path,
    signer: &str,
    expected: &str,
) {
    let before = server.dump_everything();
    let out = restore(server, "OS_PREPROD", journal)
        .args(["--signer", signer])
        .run()
        .code(1);
    out.stderr_has(expected);
    assert_eq!(server.dump_everything(), before, "a refused restore wrote");
}

/// With a signing key, the apply signs the journal's end marker over the chain of every line;
/// a restore told to trust a key (`--signer`, or the spec's `trust.signers`) restores only a
/// journal that key signed: another key's signature or an unsigned journal is refused and the
/// database is unchanged. See: issue 34
#[test]
fn a_restore_that_trusts_a_signer_needs_its_signature_issue_34() {
    let key = |name: &str| crate::common::fixture(&format!("keys/{name}"));
    let path = |p: std::path::PathBuf| p.to_str().expect("utf-8").to_string();
    let mut server = TestServer::start(&root().join("examples/demo/clone.sql"));
    let t = Test::new()
        .spec(&demo_spec())
        .server(&server, "OS_PREPROD")
        .env("POSTCLONE_SIGNING_KEY", &path(key("signer_ed25519")))
        .args(["apply", "--auto-approve"]);
    t.run().code(0);
    let signed = journal_in(&t);
    let text = std::fs::read_to_string(&signed).expect("journal");
    assert!(
        text.lines()
            .last()
            .is_some_and(|l| l.contains("\"signature\"")),
        "the end marker is signed"
    );
    let after = server.dump_everything();
    refused_unless_signed(
        &mut server,
        &signed,
        &path(key("other_ed25519.pub")),
        "no trusted key's signature verifies",
    );

    // `_run` keeps the run's directory, where the journal is, until the end.
    let Applied {
        server: mut other_server,
        t: _run,
        journal: unsigned,
        ..
    } = applied_demo();
    refused_unless_signed(
        &mut other_server,
        &unsigned,
        &path(key("signer_ed25519.pub")),
        "is not signed",
    );

    let out = restore(&server, "OS_PREPROD", &signed)
        .args(["--signer", &path(key("signer_ed25519.pub"))])
        .run()
        .code(0);
    out.stdout_has("Journal signed by SHA256:");
    assert_ne!(
        server.dump_everything(),
        after,
        "the signed journal restored nothing"
    );
}

/// Rows of a table without a primary key go back when each is missing, matched on their exact
/// bytes: rows differing only in case or by a trailing blank are rows of their own (under a
/// case-insensitive collation, as a real SQL Server's default, `=` took one for the other and
/// left it out), and the long columns (`ntext`, `image`) are compared too (with `=`, a real
/// server refuses them). See: issue 35
#[test]
pub(crate) fn rows_without_a_key_go_back_exactly_issue_35() {
    let mut server = TestServer::start(&crate::common::fixture("restore/log-without-key.sql"));
    let before = server.dump("OSLOG_GENERAL");
    let spec = "engine: sqlserver\nguard: { database: OS_PREPROD }\nresources:\n  - id: old-logs\n    kind: rows_absent\n    table: oslog_general\n    where: [{ column: tenant_id, in: [1] }]\n";
    let t = Test::new()
        .spec(spec)
        .server(&server, "OS_PREPROD")
        .args(["apply", "--auto-approve"]);
    let out = t.run().code(0);
    out.stdout_has("Converged");
    assert_eq!(server.dump("OSLOG_GENERAL").len(), 1);
    let journal = journal_in(&t);
    for run in ["restore", "restore again"] {
        let out = restore(&server, "OS_PREPROD", &journal).run().code(0);
        out.stdout_has("Restore complete");
        assert_eq!(
            server.dump("OSLOG_GENERAL"),
            before,
            "{run}: {}",
            out.stdout
        );
    }
}

/// The spec a journal was applied from decides who must have signed it: when that spec no
/// longer loads, restore refuses (and names the file), rather than restore without the
/// signature its `trust.signers` require; `--spec` restores under the spec given.
#[test]
fn a_journal_whose_spec_no_longer_loads_is_not_restored_unsigned() {
    let signer = std::fs::read_to_string(crate::common::fixture("keys/signer_ed25519.pub"))
        .expect("public key");
    let spec = format!(
        "{}\ntrust: {{ signers: [\"{}\"] }}\n",
        demo_spec(),
        signer.trim()
    );
    let mut server = TestServer::start(&root().join("examples/demo/clone.sql"));
    // Applied without a signing key: the journal is not signed.
    let t = Test::new()
        .spec(&spec)
        .server(&server, "OS_PREPROD")
        .args(["apply", "--auto-approve"]);
    t.run().code(0);
    let journal = journal_in(&t);
    let after = server.dump_everything();
    let out = restore(&server, "OS_PREPROD", &journal).run().code(1);
    out.stderr_has("is not signed");

    // The spec broken: still refused, the file named; nothing written.
    std::fs::write(t.path().join("postclone.yaml"), "resources: [unclosed\n").expect("spec");
    let out = restore(&server, "OS_PREPROD", &journal).run().code(1);
    out.stderr_has("which does not load now");
    out.stderr_has("postclone.yaml");
    assert_eq!(server.dump_everything(), after, "a refused restore wrote");

    // Under a spec given on the command line (trusting no signer), it restores.
    let other = t.path().join("other.yaml");
    std::fs::write(&other, demo_spec()).expect("spec");
    restore(&server, "OS_PREPROD", &journal)
        .args(["--spec", other.to_str().expect("utf-8")])
        .run()
        .code(0);
    assert_ne!(server.dump_everything(), after, "nothing was restored");
}
