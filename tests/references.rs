//! `references_absent` through the profile's `production-references`: every configuration
//! value that names production's hosts is found (by host, never by substring), none of the
//! look-alikes is, nothing is changed by the check itself, apply exits 1 while a value remains
//! and 0 once the spec's own `replace` rewrites removed them.
//! See: issue 13

use crate::common::{fixture, profile_but, Test, TestServer};

fn spec(extra: &str) -> String {
    format!(
        "engine: sqlserver
guard: {{ database: OS_PREPROD }}
production:
  hosts: [prod.example.com, 10.20.30.40, prod-sql01]
include: [outsystems-o11]
exclude: [{}]
{extra}",
        profile_but(&["production-references"])
    )
}

fn run(server: &TestServer, spec: &str, args: &[&str]) -> crate::common::Output {
    Test::new()
        .spec(spec)
        .server(server, "OS_PREPROD")
        .args(args.iter().copied())
        .run()
}

/// The hits the fixture holds, as the text plan lists them.
const HITS: [&str; 12] = [
    "ID = 1, VAL names erp.prod.example.com: \"https://ERP.PROD.EXAMPLE.COM:8443/x\"",
    "ID = 2, VAL names prod.example.com: \"support@prod.example.com\"",
    "ID = 6, VAL names 10.20.30.40: \"tcp://10.20.30.40:1433\"",
    "ID = 10, VAL names prod.example.com: \"prod.example.com\"",
    "ID = 9, HOST names prod-sql01: \"prod-sql01\"",
    "ID = 1, PROPERTY_VALUE names api.prod.example.com: \"https://API.PROD.EXAMPLE.COM/y\"",
    "ID = 2, PROPERTY_VALUE names mail.prod.example.com (value masked)",
    "SITE_PROPERTY_DEFINITION_ID = 1, PROPERTY_VALUE names api.prod.example.com",
    "ID = 3, EFFECTIVE_URL names 10.20.30.40: \"http://10.20.30.40/ws\"",
    "ID = 1, URL names inventory.prod.example.com",
    "ID = 1, EFFECTIVE_URL names shipping.prod.example.com",
    "ID = 1, DATABASE_CONFIGURATION names prod-sql01 (value masked)",
];

/// Look-alikes and values that are not effective: never listed.
const NOT_HITS: [&str; 9] = [
    "ID = 3, VAL",
    "ID = 4, VAL",
    "ID = 5, VAL",
    "ID = 7, VAL",
    "ID = 8, VAL",
    "ID = 3, PROPERTY_VALUE",
    "SITE_PROPERTY_DEFINITION_ID = 3",
    "ID = 2, URL",
    "ID = 2, DATABASE_CONFIGURATION",
];

/// Secrets of the fixture: never in any output.
const SECRETS: [&str; 2] = ["S3cr3t-PROD", "erp-PROD-pass"];

#[test]
pub(crate) fn every_value_that_names_production_is_found_and_nothing_else_issue_13() {
    // See: issue 13
    let mut server = TestServer::start(&fixture("references/clone.sql"));
    let before = server.dump_everything();
    let spec = spec("");

    let text = run(&server, &spec, &["plan", "--detailed-exitcode"])
        .code(2)
        .stdout;
    for hit in HITS {
        assert!(text.contains(hit), "{hit} not in:\n{text}");
    }
    for not in NOT_HITS {
        assert!(!text.contains(not), "{not} listed:\n{text}");
    }
    assert!(text.contains("12 values still name production."), "{text}");
    let json = run(&server, &spec, &["plan", "--format", "json"])
        .code(0)
        .stdout;
    let doc: serde_json::Value = serde_json::from_str(&json).expect("JSON plan");
    assert_eq!(doc["summary"]["production_values"], 12);
    assert_eq!(doc["no_changes"], false);
    let hits: usize = doc["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .map(|f| f["hits"].as_array().expect("hits").len())
        .sum();
    assert_eq!(hits, 12);
    let markdown = run(&server, &spec, &["plan", "--format", "markdown"])
        .code(0)
        .stdout;
    assert!(
        markdown.contains("| `dbo.OSSYS_PARAMETER` | ID = 9 | `HOST` | prod-sql01 | - |"),
        "{markdown}"
    );
    for out in [&text, &json, &markdown] {
        for secret in SECRETS {
            assert!(!out.contains(secret), "{secret} shown:\n{out}");
        }
    }

    // Apply changes nothing by itself and does not claim convergence.
    let out = run(&server, &spec, &["apply", "--auto-approve"]).code(1);
    out.stderr_has("not converged: 12 values still name production");
    assert!(!out.stdout.contains("Converged"), "{}", out.stdout);
    for secret in SECRETS {
        assert!(!out.stdout.contains(secret) && !out.stderr.contains(secret));
    }
    assert_eq!(
        server.dump_everything(),
        before,
        "the check changed something"
    );
}

/// The same clone with the spec's own rewrites, written with the same hosts: the plan says
/// which change fixes each hit, apply rewrites hosts only (look-alikes byte for byte) and
/// converges.
#[test]
pub(crate) fn declared_rewrites_remove_every_hit_and_apply_converges() {
    let mut server = TestServer::start(&fixture("references/clone.sql"));
    let rewrite = |id: &str, table: &str, column: &str, from: &str, to: &str| {
        format!(
            "  - {{ id: {id}, kind: column_values, table: {table}, set: {{ {column}: {{ replace: {{ from: '{from}', to: '{to}' }} }} }} }}\n"
        )
    };
    let mut resources = String::from("resources:\n");
    for (id, table, column, from, to) in [
        (
            "parameter-hosts",
            "ossys_parameter",
            "VAL",
            "prod.example.com",
            "preprod.example.com",
        ),
        (
            "parameter-addresses",
            "ossys_parameter",
            "VAL",
            "10.20.30.40",
            "10.99.30.40",
        ),
        (
            "parameter-servers",
            "ossys_parameter",
            "HOST",
            "prod-sql01",
            "preprod-sql01",
        ),
        (
            "property-hosts",
            "ossys_site_property",
            "PROPERTY_VALUE",
            "prod.example.com",
            "preprod.example.com",
        ),
        (
            "shared-property-hosts",
            "ossys_site_property_shared",
            "PROPERTY_VALUE",
            "prod.example.com",
            "preprod.example.com",
        ),
        (
            "soap-hosts",
            "ossys_web_reference",
            "URL",
            "prod.example.com",
            "preprod.example.com",
        ),
        (
            "soap-addresses",
            "ossys_web_reference",
            "EFFECTIVE_URL",
            "10.20.30.40",
            "10.99.30.40",
        ),
        (
            "rest-hosts",
            "ossys_rest_web_reference",
            "EFFECTIVE_URL",
            "prod.example.com",
            "preprod.example.com",
        ),
        (
            "connection-servers",
            "ossys_dbconnection",
            "DATABASE_CONFIGURATION",
            "prod-sql01",
            "preprod-sql01",
        ),
    ] {
        resources.push_str(&rewrite(id, table, column, from, to));
    }
    let spec = spec(&resources);
    let text = run(&server, &spec, &["plan", "--detailed-exitcode"])
        .code(2)
        .stdout;
    assert!(
        text.contains("ID = 9, HOST names prod-sql01: \"prod-sql01\"; fixed by parameter-servers"),
        "{text}"
    );
    let out = run(&server, &spec, &["apply", "--auto-approve"]).code(0);
    out.stdout_has("Converged: a new plan shows no changes.");
    for secret in SECRETS {
        assert!(!out.stdout.contains(secret), "{secret} shown");
    }
    let values = server.rows("SELECT ID, VAL, HOST FROM OSSYS_PARAMETER");
    let mut values = values;
    values.sort_by_key(|r| r.split(' ').next().and_then(|n| n.parse::<u32>().ok()));
    assert_eq!(
        values,
        vec![
            "1 | \"https://ERP.preprod.example.com:8443/x\" | NULL",
            "2 | \"support@preprod.example.com\" | NULL",
            "3 | \"https://preprod.example.com/\" | NULL",
            "4 | \"https://notprod.example.com/\" | NULL",
            "5 | \"https://prod.example.com.evil.example.net/\" | NULL",
            "6 | \"tcp://10.99.30.40:1433\" | NULL",
            "7 | \"110.20.30.40\" | NULL",
            "8 | \"the prod example, in prose\" | NULL",
            "9 | \"600\" | \"preprod-sql01\"",
            "10 | \"preprod.example.com\" | NULL",
        ]
    );
    assert_eq!(
        server.rows("SELECT PROPERTY_VALUE FROM OSSYS_SITE_PROPERTY WHERE ID = 2"),
        vec!["\"smtps://relay:S3cr3t-PROD@mail.preprod.example.com\""]
    );
    run(&server, &spec, &["plan", "--detailed-exitcode"]).code(0);
}
