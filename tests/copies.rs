//! The copies scan: every plan that masks looks for copies of the originals in every text
//! column, by keyed digest, and names each by table, key and column without showing it; apply
//! converges only when none remains.
//! See: issue 24

use crate::common::{fixture, Test, TestServer};

const KEY: &str = "copies-test-mask-key-0123456789";

/// Every original the fixture's customers hold: none may appear in any output.
const ORIGINALS: [&str; 8] = [
    "Alice Martin",
    "alice.martin@customer-one.example",
    "+33 6 12 34 56 78",
    "12 Rue de la Paix",
    "Bob Stone",
    "bob.stone@customer-two.example",
    "7700 900",
    "Baker Street",
];

fn leaked(text: &str) -> Option<&'static str> {
    let lower = text.to_lowercase();
    ORIGINALS
        .iter()
        .find(|o| lower.contains(&o.to_lowercase()))
        .copied()
}

const CUSTOMERS: &str = "  - id: customers
    kind: masked
    table: osusr_crm_customer
    attributes: { Name: name, Email: email, Phone: phone, Address: redact }
";

/// The rules that cover every copy: the shipment's contact, the call log, the report.
const COVERING: &str = "  - id: shipments
    kind: masked
    table: OSUSR_CRM_Shipment
    attributes: { Contact: email }
  - id: call-log
    kind: masked
    table: osusr_crm_calllog
    attributes: { Message: redact }
  - id: report
    kind: masked
    table: osusr_crm_report
    attributes: { CustomerName: name }
";

fn spec(rules: &str) -> String {
    format!("engine: sqlserver\nguard: {{ database: OS_PREPROD }}\nresources:\n{rules}")
}

fn run(server: &TestServer, spec: &str, args: &[&str]) -> crate::common::Output {
    Test::new()
        .spec(spec)
        .server(server, "OS_PREPROD")
        .env("POSTCLONE_MASK_KEY", KEY)
        .args(args.iter().copied())
        .run()
}

/// Copies are found in another case, written otherwise and inside free text, named by table,
/// key and column; look-alikes are not; apply masks what it masks and refuses to call the
/// result converged while a copy remains.
#[test]
pub(crate) fn copies_of_masked_values_are_found_issue_24() {
    let mut server = TestServer::start(&fixture("copies/clone.sql"));
    let only_customers = spec(CUSTOMERS);
    let plan = run(&server, &only_customers, &["plan", "--detailed-exitcode"]).code(2);
    for shown in [
        "dbo.OSUSR_CRM_SHIPMENT ID = 1, CONTACT copies customers.Email; no rule of this plan covers it",
        "dbo.OSUSR_CRM_CALLLOG ID = 1, MESSAGE copies customers.Phone",
        "dbo.OSUSR_CRM_CALLLOG ID = 2, MESSAGE copies customers.Address",
        "dbo.OSUSR_CRM_REPORT ID = 1, CUSTOMERNAME copies customers.Name",
        "copies: 4 found, 0 covered by this plan (masked or deleted), 4 not",
        "not scanned: dbo.OSUSR_CRM_REPORT.PHOTO (binary)",
        "4 copies of masked values no rule masks.",
    ] {
        assert!(plan.stdout.contains(shown), "{shown} not in:\n{}", plan.stdout);
    }
    for not_a_copy in [
        "OSUSR_CRM_SHIPMENT ID = 2",
        "OSUSR_CRM_CALLLOG ID = 3",
        "OSUSR_CRM_REPORT ID = 2",
    ] {
        assert!(
            !plan.stdout.contains(not_a_copy),
            "{not_a_copy} flagged:\n{}",
            plan.stdout
        );
    }
    let json = run(&server, &only_customers, &["plan", "--format", "json"]).code(0);
    let doc: serde_json::Value = serde_json::from_str(&json.stdout).expect("JSON plan");
    assert_eq!(doc["copies"]["found"], 4, "{}", json.stdout);
    assert_eq!(doc["copies"]["not_covered"], 4);
    assert_eq!(doc["copies"]["copies"].as_array().map(Vec::len), Some(4));
    let markdown = run(&server, &only_customers, &["plan", "--format", "markdown"]).code(0);
    markdown.stdout_has("#### Masking coverage");
    for out in [&plan.stdout, &json.stdout, &markdown.stdout] {
        assert_eq!(leaked(out), None, "{out}");
    }

    // Apply masks the customers, then the check after it still finds the copies (from the
    // originals read before): not converged, exit 1.
    let applied = run(&server, &only_customers, &["apply", "--auto-approve"]).code(1);
    assert!(
        applied
            .stderr
            .contains("not converged: 4 copies of masked values remain"),
        "{}",
        applied.stderr
    );
    assert_eq!(leaked(&(applied.stdout.clone() + &applied.stderr)), None);
    let customers = server.rows("SELECT EMAIL FROM OSUSR_CRM_CUSTOMER");
    assert!(
        customers.iter().all(|e| e.ends_with("@example.com\"")),
        "{customers:?}"
    );
}

/// With rules that cover every copy, the plan says each is covered and apply converges.
#[test]
pub(crate) fn covered_copies_converge_issue_24() {
    let mut server = TestServer::start(&fixture("copies/clone.sql"));
    let all = spec(&format!("{CUSTOMERS}{COVERING}"));
    let plan = run(&server, &all, &["plan"]).code(0);
    assert!(
        plan.stdout
            .contains("dbo.OSUSR_CRM_SHIPMENT ID = 1, CONTACT copies customers.Email; covered by shipments in this plan"),
        "{}",
        plan.stdout
    );
    plan.stdout_has("copies: 4 found, 4 covered by this plan (masked or deleted), 0 not");
    let out = run(&server, &all, &["apply", "--auto-approve"]).code(0);
    out.stdout_has("Converged");
    assert_eq!(leaked(&(out.stdout + &out.stderr)), None);
    let everything = format!("{:?}", server.dump_everything());
    assert_eq!(
        leaked(&everything),
        None,
        "an original is left in the database"
    );
}
