//! Carry: `postclone capture` reads pre-production's own configuration before the clone;
//! after it, `outsystems-o11-carry` and the captured file put it back into production's clone.
//! Two fixtures: pre-production before the clone (`tests/fixtures/carry/preprod.sql`) and
//! production's clone (the demo clone with `tests/fixtures/carry/clone-extra.sql`): the same
//! modules and elements by SS_KEY under other ids and values, a module only in each.
//! See: issue 23

use std::collections::BTreeMap;
use std::path::Path;

use crate::common::{
    demo_spec, fixture, journal_in, restore, root, Output, Test, TestServer, IDENTITY, RECIPIENT,
};

/// Pre-production's secret values (secret site properties, connection passwords) and
/// production's: none may appear in plain text in the captured file or in any output.
const SECRETS: [&str; 11] = [
    "sk_test_PREPROD_7Qa",
    "sk_test_PREPROD_shared",
    "Pr3pr0d-pass",
    "MIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQC7PREPROD",
    "erp-PREPROD-pass",
    "dw-PREPROD-pass",
    "bridge-PREPROD-pass",
    "sk_live_PROD_51Hx",
    "S3cr3t-PROD",
    "erp-PROD-pass",
    "dw-PROD-pass",
];

/// LifeTime's registration properties: not carried (registering again writes new ones).
const LIFETIME_KEYS: &str =
    "'1aaec1be-d60f-43d4-ba32-391f4c3080a6', '441f6eef-9c7f-4bb4-b3dd-7220272269ad'";

fn leaked(text: &str) -> Option<&'static str> {
    SECRETS.iter().find(|s| text.contains(*s)).copied()
}

fn capture_spec(recipients: bool) -> String {
    format!(
        "engine: sqlserver\nguard: {{ database: OS_PREPROD }}\ninclude: [outsystems-o11-carry, ./captured.yaml]\n{}",
        if recipients {
            format!("journal: {{ recipients: [{RECIPIENT}] }}\n")
        } else {
            String::new()
        }
    )
}

/// The demo's spec, with the carry profile and the captured file.
fn after_spec() -> String {
    let spec = demo_spec();
    let include = "include: [outsystems-o11, outsystems-o11-quarantine]";
    assert!(spec.contains(include), "the demo spec changed: {spec}");
    spec.replace(
        include,
        &format!(
            "include: [outsystems-o11, outsystems-o11-quarantine, outsystems-o11-carry, ./captured.yaml]\n\
             journal: {{ recipients: [{RECIPIENT}] }}"
        ),
    )
}

/// Captures pre-production into `captured.yaml` of a run directory; returns the file's text.
/// The spec includes the file it writes (as the spec used after the clone does): the first
/// capture runs before it exists, the second reads the first one's and replaces it.
pub(crate) fn capture(preprod: &TestServer) -> (Output, String) {
    let t = Test::new()
        .spec(&capture_spec(true))
        .server(preprod, "OS_PREPROD")
        .args(["capture", "--out", "captured.yaml"]);
    let first = t.run();
    assert_eq!(first.code, 0, "first capture: {}", first.stderr);
    let out = t.run();
    let text = std::fs::read_to_string(t.path().join("captured.yaml")).unwrap_or_default();
    (out, text)
}

/// Production's clone, as restored over pre-production.
pub(crate) fn clone_server() -> TestServer {
    let mut server = TestServer::start(&root().join("examples/demo/clone.sql"));
    server.run_script(&fixture("carry/clone-extra.sql"));
    server
}

/// A run against the clone with the captured file beside the spec (and the identity file, for
/// `--identity id.txt`).
pub(crate) fn after(clone: &TestServer, captured: &str) -> Test {
    after_with(clone, captured, &after_spec())
}

/// [`after`], with `spec`.
fn after_with(clone: &TestServer, captured: &str, spec: &str) -> Test {
    Test::new()
        .spec(spec)
        .file("captured.yaml", captured)
        .file("id.txt", &format!("{IDENTITY}\n"))
        .server(clone, "OS_PREPROD")
}

/// A value as compared: the server's own text when short, its length and hash when long.
fn value(column: &str) -> String {
    format!(
        "CASE WHEN {column} IS NULL THEN N'NULL' WHEN DATALENGTH({column}) <= 400 THEN CAST({column} AS NVARCHAR(400)) \
         ELSE CAST(DATALENGTH({column}) AS NVARCHAR(20)) + N' bytes, SHA-256 ' + \
         CONVERT(NVARCHAR(64), HASHBYTES('SHA2_256', {column}), 2) END"
    )
}

/// Every carried value of a database, by stable key (module and element SS_KEYs, tenant and
/// connection names): what must be equal across the clone.
fn by_stable_key(server: &mut TestServer) -> BTreeMap<String, String> {
    let queries = [
        (
            "site property",
            3,
            format!(
                "SELECT e.SS_KEY, d.SS_KEY, t.NAME, {}, p.USER_MODIFIED FROM OSSYS_SITE_PROPERTY p \
                 INNER JOIN OSSYS_SITE_PROPERTY_DEFINITION d ON d.ID = p.SITE_PROPERTY_DEFINITION_ID \
                 INNER JOIN OSSYS_ESPACE e ON e.ID = d.ESPACE_ID INNER JOIN OSSYS_TENANT t ON t.ID = p.TENANT_ID \
                 WHERE d.SS_KEY NOT IN ({LIFETIME_KEYS})",
                value("p.PROPERTY_VALUE")
            ),
        ),
        (
            "shared site property",
            2,
            format!(
                "SELECT e.SS_KEY, d.SS_KEY, {}, p.USER_MODIFIED FROM OSSYS_SITE_PROPERTY_SHARED p \
                 INNER JOIN OSSYS_SITE_PROPERTY_DEFINITION d ON d.ID = p.SITE_PROPERTY_DEFINITION_ID \
                 INNER JOIN OSSYS_ESPACE e ON e.ID = d.ESPACE_ID WHERE d.SS_KEY NOT IN ({LIFETIME_KEYS})",
                value("p.PROPERTY_VALUE")
            ),
        ),
        (
            "soap reference",
            2,
            "SELECT e.SS_KEY, w.SS_KEY, w.EFFECTIVE_URL FROM OSSYS_WEB_REFERENCE w \
             INNER JOIN OSSYS_ESPACE e ON e.ID = w.ESPACE_ID"
                .to_string(),
        ),
        (
            "rest reference",
            2,
            "SELECT e.SS_KEY, w.SS_KEY, w.EFFECTIVE_URL FROM OSSYS_REST_WEB_REFERENCE w \
             INNER JOIN OSSYS_ESPACE e ON e.ID = w.ESPACE_ID"
                .to_string(),
        ),
        (
            "shared timer",
            2,
            format!(
                "SELECT e.SS_KEY, m.SS_KEY, {} FROM OSSYS_CYCLIC_JOB_SHARED j \
                 INNER JOIN OSSYS_META_CYCLIC_JOB m ON m.ID = j.META_CYCLIC_JOB_ID \
                 INNER JOIN OSSYS_ESPACE e ON e.ID = m.ESPACE_ID",
                value("j.SCHEDULE")
            ),
        ),
        (
            "timer",
            3,
            format!(
                "SELECT e.SS_KEY, m.SS_KEY, t.NAME, {} FROM OSSYS_CYCLIC_JOB j \
                 INNER JOIN OSSYS_META_CYCLIC_JOB m ON m.ID = j.META_CYCLIC_JOB_ID \
                 INNER JOIN OSSYS_ESPACE e ON e.ID = m.ESPACE_ID INNER JOIN OSSYS_TENANT t ON t.ID = j.TENANT_ID",
                value("j.SCHEDULE")
            ),
        ),
        (
            "connection",
            1,
            format!(
                "SELECT NAME, {} FROM OSSYS_DBCONNECTION",
                value("DATABASE_CONFIGURATION")
            ),
        ),
    ];
    let mut out = BTreeMap::new();
    for (what, key_columns, sql) in queries {
        for row in server.rows(&sql) {
            let cells: Vec<&str> = row.split(" | ").collect();
            let (key, values) = cells.split_at(key_columns);
            let previous = out.insert(format!("{what} {}", key.join(" / ")), values.join(" | "));
            assert_eq!(previous, None, "{what}: two rows of one stable key: {row}");
        }
    }
    out
}

/// The refresh as a team runs it: capture pre-production, clone production over it, apply the
/// spec with the carry. Pre-production's own values come back by stable key, the secret ones
/// never in plain text anywhere; what the clone lacks is listed; a second plan is empty; the
/// apply restores.
#[test]
pub(crate) fn a_refresh_keeps_the_environment_configuration_issue_23() {
    // See: issue 23
    let mut preprod = TestServer::start(&fixture("carry/preprod.sql"));
    let preprod_before = preprod.dump_everything();

    // Secret rows and no recipient: refused, nothing written.
    let t = Test::new()
        .spec(&capture_spec(false))
        .server(&preprod, "OS_PREPROD")
        .args(["capture", "--out", "captured.yaml"]);
    let out = t.run().code(1);
    assert!(
        out.stderr.contains("journal.recipients") && out.stderr.contains("nothing was written"),
        "{}",
        out.stderr
    );
    assert!(!t.path().join("captured.yaml").exists());

    // A capture of production is refused by the guard.
    let out = Test::new()
        .spec(&format!(
            "{}production: {{ databases: [OS_PREPROD] }}\n",
            capture_spec(true)
        ))
        .server(&preprod, "OS_PREPROD")
        .args(["capture", "--out", "captured.yaml"])
        .run()
        .code(1);
    out.stderr_has("capture refused");

    // The capture: by stable keys, secret values sealed, nothing written to pre-production.
    let (out, captured) = capture(&preprod);
    let out = out.code(0);
    out.stdout_has(
        "Captured 28 rows of 7 resources from database OS_PREPROD into captured.yaml (8 sealed).",
    );
    assert_eq!(leaked(&captured), None, "in the captured file:\n{captured}");
    assert_eq!(leaked(&out.stdout), None);
    for named in [
        "name: \"LegacyBridge.BridgeEndpoint\"",
        "property: \"c1000000-0000-4000-8000-000000000013\"",
        "tenant: \"Users\"",
        "EFFECTIVE_URL: \"\"",
        "SCHEDULE: \"[Sunday 23:00]\"",
        // Read as a string by YAML 1.1 tools too (PyYAML took it for a date). See: issue 33
        "at: \"",
    ] {
        assert!(captured.contains(named), "{named} not in:\n{captured}");
    }
    let file: serde_yaml::Value = serde_yaml::from_str(&captured).expect("captured file is YAML");
    let mut sealed = 0;
    for (_, rows) in file["captured"]["rows"].as_mapping().expect("rows") {
        for row in rows.as_sequence().expect("a list of rows") {
            for (part, key) in row["key"].as_mapping().expect("key") {
                assert!(
                    key.is_string(),
                    "key part {part:?} is not a stable key: {row:?}"
                );
            }
            sealed += usize::from(row["sealed"].is_string());
        }
    }
    assert_eq!(sealed, 8);
    assert!(!captured.contains("LifeTimeRegistrationToken"));
    assert_eq!(preprod.dump_everything(), preprod_before, "capture wrote");
    // Read before the clone is made: on a live server, the clone takes pre-production's place.
    let want = by_stable_key(&mut preprod);

    // After the clone, without the identity: the plan shows keys and names, lists what the
    // clone lacks and what is sealed; apply refuses before changing anything.
    let mut clone = clone_server();
    let clone_before = clone.dump_everything();
    let plan = after(&clone, &captured)
        .args(["plan", "--detailed-exitcode"])
        .run()
        .code(2);
    for shown in [
        "carried-site-properties: captured, not in this clone (nothing to write): LegacyBridge.BridgeEndpoint",
        "carried-soap-effective-urls: captured, not in this clone (nothing to write): LegacyBridge.BridgeService",
        "carried-timer-schedules-shared: captured, not in this clone (nothing to write): LegacyBridge.BridgeSync",
        "carried-database-connections.missing: captured rows of carried-database-connections the clone lacks, inserted",
        "+ insert 1 row into dbo.OSSYS_DBCONNECTION (NAME, DATABASE_CONFIGURATION; captured values, by stable key)",
        "+ NAME = \"Bridge\" (Bridge)",
        "carried-site-properties: 3 captured values are sealed: pass --identity FILE",
        "Done by carried-database-connections for every value captured before the clone",
        // A value naming production that the captured one replaces: fixed by the carry (the
        // profile's rewrites leave carried rows to it); a sealed one not opened is not known.
        "ID = 4, PROPERTY_VALUE names payments.prod.example.com: \"https://payments.prod.example.com/api\"; fixed by carried-site-properties,",
        "ID = 1, EFFECTIVE_URL names shipping.prod.example.com: \"https://shipping.prod.example.com/v2\"; fixed by carried-rest-effective-urls,",
        "ID = 6, PROPERTY_VALUE names mail.prod.example.com (value masked)\n",
    ] {
        assert!(plan.stdout.contains(shown), "{shown} not in:\n{}", plan.stdout);
    }
    let refused = after(&clone, &captured)
        .args(["apply", "--auto-approve"])
        .run()
        .code(1);
    refused.stderr_has("--identity");
    assert_eq!(
        clone.dump_everything(),
        clone_before,
        "apply without identity wrote"
    );

    // With the identity: every output masks the secrets; apply converges in one run.
    let mut outputs = vec![plan.stdout, plan.stderr, refused.stdout, refused.stderr];
    for args in [
        &["plan", "--identity", "id.txt"][..],
        &["plan", "--identity", "id.txt", "--verbose"],
        &[
            "plan",
            "--identity",
            "id.txt",
            "--format",
            "json",
            "--verbose",
        ],
        &["plan", "--identity", "id.txt", "--format", "markdown"],
    ] {
        let out = after(&clone, &captured).args(args.iter().copied()).run();
        if args.len() == 3 {
            let opened = "ID = 6, PROPERTY_VALUE names mail.prod.example.com (value masked); fixed by carried-site-properties,";
            assert!(
                out.stdout.contains(opened),
                "{opened} not in:\n{}",
                out.stdout
            );
        }
        outputs.push(out.stdout);
        outputs.push(out.stderr);
    }
    let applied =
        after(&clone, &captured).args(["apply", "--identity", "id.txt", "--auto-approve"]);
    let out = applied.run().code(0);
    out.stdout_has("Converged: a new plan shows no changes.");
    outputs.push(out.stdout);
    outputs.push(out.stderr);
    let journal = journal_in(&applied);
    outputs.push(std::fs::read_to_string(&journal).expect("journal"));
    for text in &outputs {
        assert_eq!(leaked(text), None, "shown:\n{text}");
    }

    // Every captured value is back, read by stable key; what only the clone has is as it was.
    let got = by_stable_key(&mut clone);
    let compared: Vec<&String> = want.keys().filter(|k| got.contains_key(*k)).collect();
    assert_eq!(compared.len(), 25, "{want:#?}\n{got:#?}");
    for key in &compared {
        assert_eq!(got[*key], want[*key], "{key}");
    }
    let only_preprod: Vec<&String> = want.keys().filter(|k| !got.contains_key(*k)).collect();
    assert_eq!(only_preprod.len(), 3, "{only_preprod:?}");
    assert!(
        got.contains_key("connection \"Bridge\""),
        "the connection the clone lacked is inserted: {got:#?}"
    );
    assert_eq!(
        clone.rows("SELECT PROPERTY_VALUE FROM OSSYS_SITE_PROPERTY_SHARED WHERE SITE_PROPERTY_DEFINITION_ID = 14"),
        vec!["\"https://analytics.example.net/dash\""],
        "a value only the clone has"
    );
    assert_eq!(
        clone.rows(
            "SELECT PROPERTY_VALUE FROM OSSYS_SITE_PROPERTY WHERE ID IN (20, 21) ORDER BY ID"
        ),
        vec![
            "\"https://analytics.example.net/users\"",
            "\"https://analytics.example.net/orders\""
        ],
        "values only the clone has, per tenant"
    );
    assert_eq!(
        clone.rows("SELECT SCHEDULE FROM OSSYS_CYCLIC_JOB_SHARED WHERE META_CYCLIC_JOB_ID = 5"),
        vec!["\"\""],
        "a timer only the clone has"
    );
    assert_eq!(
        clone.rows("SELECT PROPERTY_VALUE FROM OSSYS_SITE_PROPERTY_SHARED WHERE SITE_PROPERTY_DEFINITION_ID IN (9, 10)"),
        vec!["\"\"", "\"\""],
        "LifeTime's registration is emptied, not carried"
    );

    // Converged: a second plan is empty.
    after(&clone, &captured)
        .args(["plan", "--identity", "id.txt", "--detailed-exitcode"])
        .run()
        .code(0);

    // The apply restores, with the identity that opens its sealed rows.
    restore(&clone, "OS_PREPROD", &journal)
        .env(
            "POSTCLONE_IDENTITY",
            write_identity(&journal).to_str().expect("utf-8"),
        )
        .run()
        .code(0);
    assert_eq!(clone.dump_everything(), clone_before, "restore");
}

/// Configuration only the clone has (a module only production has) is left as it is, and
/// listed by name only when the spec asks (`carry: {only_in_clone: report}`, for every carried
/// resource, the profile's included).
/// See: issue 23
#[test]
fn rows_only_the_clone_has_are_listed_when_asked_issue_23() {
    let preprod = TestServer::start(&fixture("carry/preprod.sql"));
    let (out, captured) = capture(&preprod);
    out.code(0);
    let clone = clone_server();
    // The shared row, and the module's per-tenant rows (one name, a row in each tenant).
    let shown = [
        "carried-site-properties-shared: only in this clone, not captured (left unchanged): Analytics.DashboardUrl\n",
        "carried-site-properties: only in this clone, not captured (left unchanged): Analytics.DashboardUrl (2 rows)",
    ];
    let silent = after(&clone, &captured)
        .args(["plan", "--identity", "id.txt"])
        .run()
        .code(0);
    assert!(
        !silent.stdout.contains("only in this clone"),
        "{}",
        silent.stdout
    );
    let asked = format!("{}carry: {{ only_in_clone: report }}\n", after_spec());
    // A resource of which nothing was captured: every row of the clone is one the capture does
    // not hold.
    let mut file: serde_yaml::Value = serde_yaml::from_str(&captured).expect("captured file");
    if let Some(rows) = file["captured"]["rows"].as_mapping_mut() {
        rows.remove("carried-soap-effective-urls");
    }
    let captured = serde_yaml::to_string(&file).expect("captured file");
    let soap = "carried-soap-effective-urls: only in this clone, not captured (left unchanged): ";
    for format in ["text", "markdown", "json"] {
        let out = after_with(&clone, &captured, &asked)
            .args(["plan", "--identity", "id.txt", "--format", format])
            .run()
            .code(0);
        for shown in shown.iter().copied().chain(std::iter::once(soap)) {
            // JSON escapes the line's end.
            let shown = if format == "json" {
                shown.trim_end()
            } else {
                shown
            };
            assert!(
                out.stdout.contains(shown),
                "{format}: {shown} not in:\n{}",
                out.stdout
            );
        }
        assert_eq!(leaked(&out.stdout), None);
    }
}

/// An identity file next to `beside`, for a run that takes `POSTCLONE_IDENTITY`.
fn write_identity(beside: &Path) -> std::path::PathBuf {
    let path = beside.with_extension("identity");
    std::fs::write(&path, format!("{IDENTITY}\n")).expect("identity file");
    path
}

/// The carry's statements and queries in Oracle's flavor, from a real plan of the clone with a
/// real capture: stable keys read through the platform's tables, captured values bound as
/// parameters (sealed ones shown as sensitive).
#[test]
fn the_carry_in_oracle_sql() {
    let preprod = TestServer::start(&fixture("carry/preprod.sql"));
    let (out, captured) = capture(&preprod);
    out.code(0);
    let clone = clone_server();
    let dir = tempfile::tempdir().expect("temp dir");
    std::fs::write(dir.path().join("captured.yaml"), &captured).expect("captured");
    std::fs::write(dir.path().join("id.txt"), format!("{IDENTITY}\n")).expect("identity");
    let spec = dir.path().join("postclone.yaml");
    std::fs::write(
        &spec,
        "engine: oracle\nguard: { database: OSADMIN }\ninclude: [outsystems-o11-carry, ./captured.yaml]\n",
    )
    .expect("spec");
    let out = crate::oracle::oracle_sql(&clone, &spec, Some(&dir.path().join("id.txt")));
    crate::oracle::assert_oracle_only(&out);
    assert_eq!(leaked(&out), None, "{out}");
    assert!(
        out.contains("UPDATE \"OSADMIN\".\"OSSYS_SITE_PROPERTY\" t SET"),
        "{out}"
    );
    assert!(
        out.contains(
            "INSERT INTO \"OSADMIN\".\"OSSYS_DBCONNECTION\" (\"NAME\", \"DATABASE_CONFIGURATION\")"
        ),
        "the connection the clone lacks is inserted: {out}"
    );
    insta::assert_snapshot!(out);
}

/// A clone whose connection table needs a value the capture does not hold (a `NOT NULL`
/// column without a default): the connection it lacks is not inserted, and the plan names the
/// column and lists the connection to create by hand; the rest of the carry is planned.
/// See: issue 23
#[test]
fn a_row_the_table_cannot_take_is_listed_issue_23() {
    let preprod = TestServer::start(&fixture("carry/preprod.sql"));
    let (out, captured) = capture(&preprod);
    out.code(0);
    let mut clone = clone_server();
    let dir = tempfile::tempdir().expect("temp dir");
    let script = dir.path().join("provider.sql");
    std::fs::write(
        &script,
        "ALTER TABLE OSSYS_DBCONNECTION ADD PROVIDER_KEY NVARCHAR(50) NULL\nGO\n\
         UPDATE OSSYS_DBCONNECTION SET PROVIDER_KEY = 'SqlServer'\nGO\n\
         ALTER TABLE OSSYS_DBCONNECTION ALTER COLUMN PROVIDER_KEY NVARCHAR(50) NOT NULL\nGO\n",
    )
    .expect("script");
    clone.run_script(&script);
    let plan = after(&clone, &captured)
        .args(["plan", "--identity", "id.txt"])
        .run()
        .code(0);
    assert!(
        plan.stdout.contains(
            "carried-database-connections: captured, not in this clone, and not inserted \
             (dbo.OSSYS_DBCONNECTION needs a value in PROVIDER_KEY, which the capture does not hold; \
             create them by hand): Bridge"
        ),
        "{}",
        plan.stdout
    );
    assert!(
        !plan.stdout.contains("insert 1 row into"),
        "{}",
        plan.stdout
    );
    assert!(
        plan.stdout.contains(
            "~ update 3 rows in dbo.OSSYS_DBCONNECTION (set DATABASE_CONFIGURATION; captured values"
        ),
        "the connections the clone has are still carried: {}",
        plan.stdout
    );
}

/// `captured` with the first line (after `after`, when given) that contains `find` replaced
/// by `with` (indented as that line).
fn tampered(captured: &str, after: Option<&str>, find: &str, with: &str) -> String {
    let from = after.map_or(0, |a| captured.find(a).expect("section") + a.len());
    let (head, tail) = captured.split_at(from);
    let at = tail.find(find).expect("a line to tamper with");
    let line_start = tail[..at].rfind('\n').map_or(0, |i| i + 1);
    let line_end = tail[at..].find('\n').map_or(tail.len(), |i| at + i);
    let indent = &tail[line_start..at];
    format!(
        "{head}{}{indent}{with}{}",
        &tail[..line_start],
        &tail[line_end..]
    )
}

/// A captured file is checked before anything runs: a binary value for a text column, a value
/// that is not of its column's type, a column the resource does not carry, a secret row in
/// clear (a sealed resource's, and a secret site property's), and a capture read from
/// production are refused, naming the row and never its value; the clone is unchanged.
/// See: issue 33
#[test]
fn captured_files_are_checked_before_anything_runs_issue_33() {
    let preprod = TestServer::start(&fixture("carry/preprod.sql"));
    let (out, captured) = capture(&preprod);
    out.code(0);
    let mut clone = clone_server();
    let before = clone.dump_everything();
    let cases = [
        (
            "binary for text",
            tampered(
                &captured,
                None,
                "EFFECTIVE_URL: \"",
                "EFFECTIVE_URL: {hex: \"00ff\"}",
            ),
            "binary data for EFFECTIVE_URL",
        ),
        (
            "not of its type",
            tampered(
                &captured,
                None,
                "USER_MODIFIED: ",
                "USER_MODIFIED: \"sometimes\"",
            ),
            "the captured value of USER_MODIFIED for row",
        ),
        (
            "too long",
            tampered(
                &captured,
                None,
                "EFFECTIVE_URL: \"",
                &format!(
                    "EFFECTIVE_URL: \"https://{}.example.com/\"",
                    "a".repeat(600)
                ),
            ),
            "characters for EFFECTIVE_URL (nvarchar), which holds 500",
        ),
        (
            "a column not carried",
            tampered(
                &captured,
                None,
                "EFFECTIVE_URL: \"",
                "URL: \"https://elsewhere.example.com/\"",
            ),
            "names column URL, which the resource does not carry",
        ),
        (
            "a sealed resource in clear",
            tampered(
                &captured,
                Some("carried-database-connections:"),
                "sealed: ",
                "values: {DATABASE_CONFIGURATION: \"Server=x;Password=Clear-pass-1\"}",
            ),
            "gives its values in clear, but the resource is secret",
        ),
        (
            "a secret site property in clear",
            tampered(
                &captured,
                Some("carried-site-properties:"),
                "sealed: ",
                "values: {PROPERTY_VALUE: \"Clear-secret-2\", USER_MODIFIED: true}",
            ),
            "is given in clear; secret values must be sealed",
        ),
        (
            "read from production",
            captured.replacen("database: \"OS_PREPROD\"", "database: \"OS_PROD\"", 1),
            "problem[forbidden-source]",
        ),
    ];
    for (what, text, expected) in cases {
        assert_ne!(text, captured, "{what}: nothing tampered");
        let said = refused(&mut clone, &before, &text, &after_spec(), (what, expected));
        for value in ["Clear-pass-1", "Clear-secret-2", "sometimes"] {
            assert!(!said.contains(value), "{value} shown: {said}");
        }
    }
}

/// Applies `spec` with the captured file `text` to `clone`, which must refuse (exit 1) saying
/// `expected`, show no secret and leave `clone` as `before`; gives what it printed. `what`
/// names the case.
fn refused(
    clone: &mut TestServer,
    before: &[(String, Vec<String>)],
    text: &str,
    spec: &str,
    (what, expected): (&str, &str),
) -> String {
    let out = after_with(clone, text, spec)
        .args(["apply", "--auto-approve", "--identity", "id.txt"])
        .run();
    let said = format!("{what}:\n{}\n{}", out.stdout, out.stderr);
    assert_eq!(out.code, 1, "{said}");
    assert!(out.stderr.contains(expected), "{expected} not in {said}");
    assert_eq!(leaked(&said), None, "{said}");
    assert_eq!(clone.dump_everything(), before, "{what}: the clone changed");
    said
}

/// The `sealed:` value of the first row after `section` whose line contains `row`, and the
/// file with that value replaced by `with`.
fn sealed_of(captured: &str, section: &str, row: &str) -> String {
    let from = captured.find(section).expect("section");
    let at = from + captured[from..].find(row).expect("row");
    let line = &captured[at..];
    let start = line.find("sealed: ").expect("a sealed value") + "sealed: ".len();
    let end = start + line[start..].find('\n').unwrap_or(line.len() - start);
    line[start..end].to_string()
}

/// A sealed captured value opens only as the row it was sealed for: one swapped with another
/// row's, moved to another resource's row, or kept under another environment's `from:` is
/// refused, naming the row, and the clone is unchanged; the capture as written applies.
/// See: issue 34
#[test]
fn sealed_values_open_only_as_their_own_row_issue_34() {
    let preprod = TestServer::start(&fixture("carry/preprod.sql"));
    let (out, captured) = capture(&preprod);
    out.code(0);
    let mut clone = clone_server();
    let before = clone.dump_everything();
    let connections = "carried-database-connections:";
    let erp = sealed_of(&captured, connections, "name: \"ERP\"");
    let warehouse = sealed_of(&captured, connections, "name: \"Warehouse\"");
    assert_ne!(erp, warehouse);
    let swapped = captured
        .replacen(&erp, "SWAP", 1)
        .replacen(&warehouse, &erp, 1)
        .replacen("SWAP", &warehouse, 1);
    let site = sealed_of(&captured, "carried-site-properties:", "- key:");
    let moved = captured.replacen(&site, &erp, 1);
    let elsewhere = captured.replacen(
        "database: \"OS_PREPROD\"",
        "database: \"OS_PREPROD_OLD\"",
        1,
    );
    for (what, text, expected) in [
        ("swapped", swapped, "it was sealed for another row"),
        ("moved", moved, "it was sealed for another resource"),
        (
            "another environment",
            elsewhere,
            "it was sealed for another environment",
        ),
    ] {
        assert_ne!(text, captured, "{what}: nothing changed");
        let said = refused(&mut clone, &before, &text, &after_spec(), (what, expected));
        assert!(said.contains("the sealed value of row"), "{said}");
    }
    after(&clone, &captured)
        .args(["apply", "--auto-approve", "--identity", "id.txt"])
        .run()
        .code(0);
}

/// Captures pre-production signed with the test key `key` (under tests/fixtures/keys).
fn signed_capture(preprod: &TestServer, key: &str) -> String {
    let t = Test::new()
        .spec(&capture_spec(true))
        .server(preprod, "OS_PREPROD")
        .env(
            "POSTCLONE_SIGNING_KEY",
            fixture(&format!("keys/{key}")).to_str().expect("utf-8"),
        )
        .args(["capture", "--out", "captured.yaml"]);
    t.run().code(0);
    std::fs::read_to_string(t.path().join("captured.yaml")).expect("captured file")
}

/// Where the spec lists `trust.signers`, a capture must be signed by one of them: signed and
/// untouched, it applies; an edited value, a sealed value replaced by another sealed for the
/// same row (what anyone with the recipients' public key can make), an unsigned capture or one
/// signed by another key are refused before anything runs, and the clone is unchanged.
/// See: issue 34
#[test]
fn a_capture_must_be_signed_by_a_trusted_key_issue_34() {
    let preprod = TestServer::start(&fixture("carry/preprod.sql"));
    let signed = signed_capture(&preprod, "signer_ed25519");
    assert!(signed.contains("signature:"), "{signed}");
    let resealed = signed_capture(&preprod, "signer_ed25519");
    let by_other = signed_capture(&preprod, "other_ed25519");
    let (_, unsigned) = capture(&preprod);
    let public = std::fs::read_to_string(fixture("keys/signer_ed25519.pub")).expect("public key");
    let spec = format!(
        "{}trust: {{ signers: ['{}'] }}\n",
        after_spec(),
        public.trim()
    );
    let mut clone = clone_server();
    let before = clone.dump_everything();
    let connections = "carried-database-connections:";
    let erp = sealed_of(&signed, connections, "name: \"ERP\"");
    let erp_again = sealed_of(&resealed, connections, "name: \"ERP\"");
    assert_ne!(erp, erp_again, "age seals with a fresh key each time");
    for (what, text, expected) in [
        (
            "a value edited",
            tampered(
                &signed,
                None,
                "EFFECTIVE_URL: \"",
                "EFFECTIVE_URL: \"https://evil.example.com/\"",
            ),
            "does not verify with a key of trust.signers",
        ),
        (
            "a sealed value replaced",
            signed.replacen(&erp, &erp_again, 1),
            "does not verify with a key of trust.signers",
        ),
        ("unsigned", unsigned, "this capture is not signed"),
        (
            "a key added beside the capture",
            format!("{signed}exclude: [secret-site-properties]\n"),
            "which its signature does not cover",
        ),
        (
            "another key",
            by_other,
            "does not verify with a key of trust.signers",
        ),
    ] {
        let said = refused(&mut clone, &before, &text, &spec, (what, expected));
        assert!(said.contains("problem[untrusted-capture]"), "{said}");
    }
    after_with(&clone, &signed, &spec)
        .args(["apply", "--auto-approve", "--identity", "id.txt"])
        .run()
        .code(0);
}

/// Adds a NOT NULL `IS_ACTIVE` (no default) to the connections of `server`, every row active.
fn with_is_active(server: &mut TestServer) {
    let dir = tempfile::tempdir().expect("temp dir");
    let script = dir.path().join("is_active.sql");
    std::fs::write(
        &script,
        "ALTER TABLE OSSYS_DBCONNECTION ADD IS_ACTIVE BIT NULL\nGO\n\
         UPDATE OSSYS_DBCONNECTION SET IS_ACTIVE = 1\nGO\n\
         ALTER TABLE OSSYS_DBCONNECTION ALTER COLUMN IS_ACTIVE BIT NOT NULL\nGO\n",
    )
    .expect("script");
    server.run_script(&script);
}

/// A capture holds every column an insert of its rows needs: with a NOT NULL `IS_ACTIVE` in
/// pre-production's and the clone's connections, the connection only pre-production had is
/// inserted with its captured `IS_ACTIVE` (sealed with the rest of the row), and the
/// connections the clone has keep theirs. See: issue 34
#[test]
fn a_capture_holds_what_an_insert_needs_issue_34() {
    let mut preprod = TestServer::start(&fixture("carry/preprod.sql"));
    with_is_active(&mut preprod);
    let (out, captured) = capture(&preprod);
    out.code(0);
    assert!(
        !captured.contains("IS_ACTIVE"),
        "sealed with its row: {captured}"
    );
    let mut clone = clone_server();
    with_is_active(&mut clone);
    let out = after(&clone, &captured)
        .args(["apply", "--auto-approve", "--identity", "id.txt"])
        .run();
    assert_eq!(out.code, 0, "{}\n{}", out.stdout, out.stderr);
    out.stdout_has("+ insert 1 row into dbo.OSSYS_DBCONNECTION");
    let rows = clone.rows("SELECT NAME, IS_ACTIVE FROM OSSYS_DBCONNECTION ORDER BY NAME");
    assert!(
        rows.iter()
            .any(|r| r.contains("Bridge") && r.contains("true")),
        "the inserted connection holds its captured IS_ACTIVE: {rows:?}"
    );
}

/// The `SQL:` blocks of each change in a text plan (`# n. id...` titles), or of the
/// `Statements sent` section apply prints with `-v` (`# id` titles), in order.
fn sql_blocks(text: &str) -> Vec<(String, Vec<String>)> {
    let mut out: Vec<(String, Vec<String>)> = Vec::new();
    let mut block: Option<String> = None;
    for line in text.lines() {
        let trimmed = line.trim_start();
        if let Some(title) = trimmed.strip_prefix("# ") {
            let id = title
                .split_once(". ")
                .map_or(title, |(_, rest)| rest)
                .split([':', ' '])
                .next()
                .unwrap_or_default();
            out.push((id.to_string(), Vec::new()));
            block = None;
        } else if trimmed == "SQL:" {
            if let Some((_, blocks)) = out.last_mut() {
                blocks.push(String::new());
            }
            block = Some(String::new());
        } else if block.is_some() && line.starts_with("        ") {
            if let Some(last) = out.last_mut().and_then(|(_, b)| b.last_mut()) {
                last.push_str(line.trim_start());
                last.push('\n');
            }
        } else {
            block = None;
        }
    }
    out.retain(|(_, blocks)| !blocks.is_empty());
    out
}

/// The changes whose statements `apply -v` showed in its plan and then sent, compared
/// statement by statement (changes whose rows the plan did not all list, or may not list as
/// apply will find them, are left out: the plan says so under their SQL).
fn shown_then_sent(stdout: &str) -> Vec<String> {
    let (planned, sent) = stdout
        .split_once("Statements sent (")
        .expect("apply -v lists the statements it sent");
    let sent = sql_blocks(sent);
    let mut compared = Vec::new();
    for (id, blocks) in sql_blocks(planned) {
        if blocks.iter().any(|b| b.starts_with("-- ")) {
            continue;
        }
        let sent_by: Vec<&String> = sent
            .iter()
            .filter(|(s, _)| *s == id)
            .flat_map(|(_, b)| b)
            .collect();
        assert_eq!(
            blocks.iter().collect::<Vec<_>>(),
            sent_by,
            "change {id}: shown by the plan, then sent"
        );
        compared.push(id);
    }
    compared
}

/// `apply -v` shows the statements the plan will send and then those it sent: for every
/// change whose rows the plan listed all of, the carry's and the host rewrites' row-by-row
/// updates included, they are the same statements, in the same order; `plan -v` shows what
/// `apply -v` shows, and no statement over the whole table for a carried column.
/// See: issue 35
#[test]
pub(crate) fn plan_verbose_shows_what_apply_sends_issue_35() {
    let preprod = TestServer::start(&fixture("carry/preprod.sql"));
    let (out, captured) = capture(&preprod);
    out.code(0);
    let clone = clone_server();
    let plan = after(&clone, &captured)
        .args(["plan", "-v", "--identity", "id.txt"])
        .run()
        .code(0);
    assert!(
        !plan.stdout.contains("WHERE (1 = 1)"),
        "a whole-table statement is shown:\n{}",
        plan.stdout
    );
    let out = after(&clone, &captured)
        .args(["apply", "-v", "--auto-approve", "--identity", "id.txt"])
        .run()
        .code(0);
    assert_eq!(leaked(&out.stdout), None);
    let shown = out
        .stdout
        .split("Statements sent (")
        .next()
        .unwrap_or_default();
    assert_eq!(sql_blocks(&plan.stdout), sql_blocks(shown));
    let compared = shown_then_sent(&out.stdout);
    for id in [
        "carried-site-properties",
        "carried-soap-effective-urls",
        "carried-database-connections.missing",
        "queued-emails",
    ] {
        assert!(
            compared.iter().any(|c| c == id),
            "{id} not compared: {compared:?}"
        );
    }

    // Host rewrites, on the demo.
    let demo = TestServer::start(&root().join("examples/demo/clone.sql"));
    let out = Test::new()
        .spec(&demo_spec())
        .server(&demo, "OS_PREPROD")
        .args(["apply", "-v", "--auto-approve"])
        .run()
        .code(0);
    let compared = shown_then_sent(&out.stdout);
    for id in ["soap-reference-default-hosts", "rest-reference-hosts"] {
        assert!(
            compared.iter().any(|c| c == id),
            "{id} not compared: {compared:?}\n{}",
            out.stdout
        );
    }
    // Secret site properties are set to their defaults first: the host rewrite of the same
    // table writes what still differs then, and the plan says so.
    let hosts = sql_blocks(&out.stdout)
        .into_iter()
        .find(|(id, _)| id == "site-property-hosts")
        .map(|(_, blocks)| blocks.concat())
        .unwrap_or_default();
    assert!(
        hosts.contains("-- an earlier change writes this table too"),
        "{hosts}"
    );
}
