//! `kind: masked` and `outsystems-o11-personal-data`, composed with the quarantine: entities
//! found by module and name (another module's entity of the same name untouched), keyed and
//! deterministic masks that keep joins, NULL and empty values kept, IT users and `admin`
//! untouched, no original value anywhere postclone writes, and restore with the identity
//! giving every original back.
//! See: issue 14

use crate::common::{
    fixture, journal_in, profile_but, Output, Test, TestServer, IDENTITY, RECIPIENT,
};

pub(crate) const KEY: &str = "test-mask-key-0123456789";
const OTHER_KEY: &str = "another-mask-key-9876543210";

/// Every personal value the spec covers (customers, orders, end users, login attempts, the
/// email queue): none may be left anywhere.
const ORIGINALS: [&str; 18] = [
    "Alice Martin",
    "alice.martin@customer-one.example",
    "+33 6 12 34 56 78",
    "Prefers calls after 6pm",
    "Bob Stone",
    "bob.stone@customer-two.example",
    "Carol White",
    "dan.brown@customer-four.example",
    "+1 212 555 0199",
    "Eve Adams",
    "eve.adams",
    "+44 7700 900123",
    "Frank Ocean",
    "frank.o",
    "203.0.113.7",
    "203.0.113.9",
    "Dear Alice",
    "446561722041",
];

/// The tables whose rows the spec masks, empties or leaves: compared whole around restore.
const PERSONAL_TABLES: [&str; 7] = [
    "OSUSR_ABC_CUSTOMER",
    "OSUSR_ABC_ORDER",
    "OSSYS_USER",
    "OSSYS_LOGIN_ATTEMPT",
    "OSUSR_U1_LOGINATTEMPT",
    "OSSYS_EMAIL",
    "OSSYS_EMAIL_CONTENT",
];

pub(crate) fn spec(journal: bool, extra_attributes: &str) -> String {
    format!(
        "engine: sqlserver
guard: {{ database: OS_PREPROD }}
include: [outsystems-o11, outsystems-o11-quarantine, outsystems-o11-personal-data]
exclude: [{}]
{}
resources:
  - id: crm-customers
    kind: masked
    module: CRM
    entity: Customer
    attributes: {{ Name: name, Email: email, Phone: phone, Notes: redact{extra_attributes} }}
  - id: crm-orders
    kind: masked
    module: CRM
    entity: Order
    attributes: {{ ContactEmail: email }}
",
        profile_but(&[]),
        if journal {
            format!("journal: {{ recipients: [{RECIPIENT}] }}")
        } else {
            String::new()
        }
    )
}

fn run(server: &TestServer, spec: &str, key: Option<&str>, args: &[&str]) -> Output {
    let mut t = Test::new()
        .spec(spec)
        .server(server, "OS_PREPROD")
        .args(args.iter().copied());
    if let Some(key) = key {
        t = t.env("POSTCLONE_MASK_KEY", key);
    }
    t.run()
}

/// Whether any original personal value appears in `text` (case ignored: emails).
pub(crate) fn leaked(text: &str) -> Option<&'static str> {
    let lower = text.to_lowercase();
    ORIGINALS
        .iter()
        .find(|o| lower.contains(&o.to_lowercase()))
        .copied()
}

fn everything(server: &mut TestServer) -> String {
    format!("{:?}", server.dump_everything())
}

#[test]
pub(crate) fn personal_data_masked_through_the_metamodel_issue_14() {
    // See: issue 14
    let mut server = TestServer::start(&fixture("personal/clone.sql"));
    let before = server.dump_everything();
    let before_tables: Vec<Vec<String>> = PERSONAL_TABLES.iter().map(|t| server.dump(t)).collect();
    let queue_before = server.dump("OSSYS_BPM_EVENT_QUEUE");
    let spec = spec(true, "");

    // The plan shows keys and "personal data changes", never a value, in every format.
    let text = run(&server, &spec, Some(KEY), &["plan", "--detailed-exitcode"])
        .code(2)
        .stdout;
    for shown in [
        "# 6. crm-customers (personal data: values never shown)",
        "~ update 4 rows in dbo.OSUSR_ABC_CUSTOMER (set EMAIL, NAME, NOTES, PHONE; masked row by row)",
        "~ EMAIL: (personal data changes)",
        "crm-customers: personal data no rule covers: attribute BackupEmail (rtEmail); column OLDPHONE of a deleted attribute still in the table",
        "crm-customers: updating the table runs its triggers (OSTRG_EI__OSUSR_ABC_CUSTOMER)",
        "~ update 2 rows in dbo.OSSYS_USER",
    ] {
        assert!(text.contains(shown), "{shown} not in:\n{text}");
    }
    let saved_dir = tempfile::tempdir().expect("temp dir");
    let saved = saved_dir.path().join("plan.json");
    let outputs = [
        text,
        run(
            &server,
            &spec,
            Some(KEY),
            &["plan", "--format", "json", "--verbose"],
        )
        .stdout,
        run(&server, &spec, Some(KEY), &["plan", "--format", "markdown"]).stdout,
        run(&server, &spec, Some(KEY), &["plan", "--verbose"]).stdout,
        run(
            &server,
            &spec,
            Some(KEY),
            &["plan", "--out", saved.to_str().expect("utf-8")],
        )
        .code(0)
        .stdout,
    ];
    for out in &outputs {
        assert_eq!(leaked(out), None, "shown:\n{out}");
    }
    let saved_text = std::fs::read_to_string(&saved).expect("saved plan");
    assert_eq!(leaked(&saved_text), None, "in the saved plan");
    assert_eq!(server.dump_everything(), before, "plan wrote something");

    // Apply: masked, emptied, converged; nothing personal printed or journaled in clear.
    let applied = Test::new()
        .spec(&spec)
        .server(&server, "OS_PREPROD")
        .env("POSTCLONE_MASK_KEY", KEY)
        .args(["apply", "--auto-approve"]);
    let out = applied.run().code(0);
    out.stdout_has("Converged: a new plan shows no changes.");
    // The masking's updates fire the table's trigger: the events it queues are deleted at once,
    // not journaled as if the clone had held them. See: issue 27
    out.stdout_has(
            "that the apply's own writes queued in dbo.OSSYS_BPM_EVENT_QUEUE (triggers): never in the clone, not journaled."
        );
    assert_eq!(
        server.dump("OSSYS_BPM_EVENT_QUEUE"),
        queue_before,
        "events queued by the masking"
    );
    assert_eq!(leaked(&out.stdout), None);
    assert_eq!(leaked(&out.stderr), None);
    let journal = journal_in(&applied);
    let journal_text = std::fs::read_to_string(&journal).expect("journal");
    assert_eq!(
        leaked(&journal_text),
        None,
        "the journal holds personal data in clear"
    );
    assert!(journal_text.contains("\"entry\":\"sealed\""));
    let database = everything(&mut server);
    assert_eq!(leaked(&database), None, "left in the database");

    // Related values stay related; NULL and empty stay; formats as documented.
    let customers = server.rows("SELECT ID, EMAIL FROM OSUSR_ABC_CUSTOMER");
    let orders = server.rows("SELECT CUSTOMERID, CONTACTEMAIL FROM OSUSR_ABC_ORDER");
    for order in &orders {
        let (customer, email) = order.split_once(" | ").expect("two columns");
        if email == "NULL" {
            continue;
        }
        let own = customers
            .iter()
            .find(|c| c.split(" | ").next() == Some(customer))
            .expect("customer");
        assert!(own.ends_with(email), "{order} vs {own}");
        assert!(
            email.starts_with("\"p") && email.ends_with("@example.com\""),
            "{email}"
        );
    }
    let mut rest = server.rows("SELECT ID, NAME, PHONE, NOTES FROM OSUSR_ABC_CUSTOMER");
    rest.sort();
    assert!(
        rest[1].starts_with("2 | \"Person ") && rest[1].ends_with(" | NULL | \"\""),
        "{}",
        rest[1]
    );
    assert!(rest[2].ends_with(" | \"\" | NULL"), "{}", rest[2]);
    assert!(rest[3].starts_with("4 | \"\" | \"+1 555 01"), "{}", rest[3]);
    assert!(rest[3].ends_with("\"[redacted]\""), "{}", rest[3]);
    // IT users, the admin users, the other module's customers, static data: untouched.
    let users = server.rows("SELECT ID, NAME, USERNAME FROM OSSYS_USER");
    for untouched in [
        "1 | \"Administrator\" | \"admin\"",
        "2 | \"Dev One\" | \"dev1\"",
        "3 | \"Users Admin\" | \"Admin\"",
    ] {
        assert!(
            users.iter().any(|u| u == untouched),
            "{untouched}: {users:?}"
        );
    }
    for table in ["OSUSR_XYZ_CUSTOMER", "OSUSR_ABC_COUNTRY"] {
        let then = before.iter().find(|(t, _)| t.eq_ignore_ascii_case(table));
        assert_eq!(
            Some(&server.dump(table)),
            then.map(|(_, rows)| rows),
            "{table}"
        );
    }
    // The masking's trigger queued BPT events; the quarantine emptied the queue after it.
    assert_eq!(server.dump("OSSYS_BPM_EVENT_QUEUE"), Vec::<String>::new());
    run(&server, &spec, Some(KEY), &["plan", "--detailed-exitcode"]).code(0);

    // Without the identity, restore refuses unless told to leave the sealed rows out, and then
    // says what it cannot give back; with it, every original value is back.
    let journal_arg = journal.to_str().expect("utf-8");
    let refused = run(
        &server,
        &spec,
        None,
        &["restore", journal_arg, "--auto-approve"],
    )
    .code(1);
    assert!(
        refused.stderr.contains("--without-sealed") && refused.stderr.contains("crm-customers"),
        "{}",
        refused.stderr
    );
    let out = run(
        &server,
        &spec,
        None,
        &["restore", journal_arg, "--auto-approve", "--without-sealed"],
    )
    .code(0);
    out.stdout_has("crm-customers: not restorable here: personal data, journaled encrypted: pass --identity FILE");
    let identity = applied.path().join("identity.txt");
    std::fs::write(&identity, format!("# test key\n{IDENTITY}\n")).expect("identity");
    let out = run(
        &server,
        &spec,
        None,
        &[
            "restore",
            journal_arg,
            "--identity",
            identity.to_str().expect("utf-8"),
            "--auto-approve",
        ],
    )
    .code(0);
    assert_eq!(leaked(&out.stdout), None, "restore printed personal data");
    // Writing the rows back runs the table's triggers: the restore says so, and deletes the
    // events they queue in the same transaction. See: issue 27
    out.stdout_has(
            "writing rows back into dbo.OSUSR_ABC_CUSTOMER runs its triggers (OSTRG_EI__OSUSR_ABC_CUSTOMER): \
             the events they queue in dbo.OSSYS_BPM_EVENT_QUEUE are deleted in the same transaction"
        );
    out.stdout_has(
        "Deleted 4 events that restore's own writes queued in dbo.OSSYS_BPM_EVENT_QUEUE \
             (the triggers of the tables written back).",
    );
    assert_eq!(
        server.dump("OSSYS_BPM_EVENT_QUEUE"),
        queue_before,
        "the queue holds what it held before the apply, no event the mask or the restore queued"
    );
    for (table, then) in PERSONAL_TABLES.iter().zip(&before_tables) {
        assert_eq!(&server.dump(table), then, "{table} not restored");
    }
}

/// The same clone masked twice with one key is identical; another key gives other values.
#[test]
fn masks_are_deterministic_and_keyed() {
    let masked = |key: &str| {
        let mut server = TestServer::start(&fixture("personal/clone.sql"));
        run(
            &server,
            &spec(false, ""),
            Some(key),
            &["apply", "--auto-approve"],
        )
        .code(0);
        let mut rows = server.rows("SELECT ID, NAME, EMAIL, PHONE FROM OSUSR_ABC_CUSTOMER");
        rows.sort();
        rows
    };
    let once = masked(KEY);
    assert_eq!(masked(KEY), once);
    assert_ne!(masked(OTHER_KEY), once);
}

/// A mask that would give two rows the same key in a unique index (NULL included, as SQL
/// Server counts it) is refused at plan time, naming the index; apply without a key is refused
/// before anything is asked; without recipients the plan says what will not be journaled.
/// Nothing is changed.
#[test]
fn refused_before_anything_runs() {
    let mut server = TestServer::start(&fixture("personal/clone.sql"));
    let before = server.dump_everything();
    let constant = spec(true, "").replace("Email: email,", "Email: {constant: one@example.com},");
    let out = run(&server, &constant, Some(KEY), &["plan"]).code(1);
    out.stderr_has("unique index IX_CUSTOMER_EMAIL");
    // SQL Server's unique index admits one NULL: masking several emails to NULL collides.
    let null = spec(true, "").replace("Email: email,", "Email: null,");
    let out = run(&server, &null, Some(KEY), &["plan"]).code(1);
    out.stderr_has("unique index IX_CUSTOMER_EMAIL");
    let out = run(&server, &spec(true, ""), None, &["apply", "--auto-approve"]).code(1);
    out.stderr_has("masks personal data and needs the masking key: set POSTCLONE_MASK_KEY");
    let out = run(&server, &spec(false, ""), Some(KEY), &["plan"]).code(0);
    out.stdout_has("crm-customers: personal data is not journaled (the spec declares no journal.recipients): restore cannot give back the original values of EMAIL, NAME, NOTES, PHONE");
    assert_eq!(server.dump_everything(), before, "something changed");
}

/// An entity larger than a page (2,000 rows) is read, journaled and written a page at a time:
/// every row is masked, the journal seals one message per page, and restore with the identity
/// gives every row back.
#[test]
pub(crate) fn an_entity_larger_than_a_page_is_masked_page_by_page() {
    let mut server = TestServer::start(&fixture("personal/clone.sql"));
    for first in (1_000..3_100).step_by(700) {
        let rows: Vec<String> = (first..first + 700)
            .map(|i| {
                format!(
                    "({i}, N'Customer {i}', N'customer{i}@crm.example', N'+1 555 {i:04}', NULL, NULL, NULL, N'C{i}')"
                )
            })
            .collect();
        server.run_sql(&format!(
            "SET IDENTITY_INSERT OSUSR_ABC_CUSTOMER ON; \
             INSERT INTO OSUSR_ABC_CUSTOMER (ID, NAME, EMAIL, PHONE, NOTES, BACKUPEMAIL, OLDPHONE, CODE) VALUES {}; \
             SET IDENTITY_INSERT OSUSR_ABC_CUSTOMER OFF",
            rows.join(", ")
        ));
    }
    let before = server.dump("OSUSR_ABC_CUSTOMER");
    assert_eq!(before.len(), 2_104);
    let spec = spec(true, "");
    let applied = Test::new()
        .spec(&spec)
        .server(&server, "OS_PREPROD")
        .env("POSTCLONE_MASK_KEY", KEY)
        .args(["apply", "--auto-approve"]);
    applied.run().code(0);
    run(&server, &spec, Some(KEY), &["plan", "--detailed-exitcode"]).code(0);
    let names = server.rows("SELECT NAME FROM OSUSR_ABC_CUSTOMER WHERE NAME LIKE N'Customer %'");
    assert_eq!(names, Vec::<String>::new(), "rows left unmasked");
    let journal = journal_in(&applied);
    let text = std::fs::read_to_string(&journal).expect("journal");
    let sealed = text
        .lines()
        .filter(|l| l.contains("\"entry\":\"sealed\"") && l.contains("\"crm-customers\""))
        .count();
    assert_eq!(sealed, 2, "one sealed message per page of 2,000 rows");
    let identity = applied.path().join("identity.txt");
    std::fs::write(&identity, format!("{IDENTITY}\n")).expect("identity");
    run(
        &server,
        &spec,
        None,
        &[
            "restore",
            journal.to_str().expect("utf-8"),
            "--identity",
            identity.to_str().expect("utf-8"),
            "--auto-approve",
        ],
    )
    .code(0);
    assert_eq!(server.dump("OSUSR_ABC_CUSTOMER"), before);
}
