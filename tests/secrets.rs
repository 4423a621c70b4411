//! Secrets never appear in any output, and names from the database never reach SQL text
//! unchecked.
//! See: issue 4

use crate::common::{demo_spec, restore, root, Test, TestServer};

/// Every secret value of the demo clone (secret columns, credentials, tokens), and the test
/// connection's password.
const SECRETS: [&str; 16] = [
    "tok-PROD-0001",
    "hmac-PROD-0003",
    "spkey-PROD-0018",
    "sk_live_PROD_51Hx",
    "sk_live_PROD_shared",
    "S3cr3t-PROD",
    "ltreg-PROD-token",
    "ltenv-PROD-key",
    "main-PROD-pass",
    "sales-PROD-pass",
    "erp-PROD-pass",
    "dw-PROD-pass",
    "cert-PROD-pass",
    "saml-PROD-signing-key",
    "lifetime.prod.example.com/observer",
    "test-only",
];

fn assert_clean(what: &str, text: &str) {
    for secret in SECRETS {
        assert!(!text.contains(secret), "{what} shows {secret}:\n{text}");
    }
}

/// plan, plan --out (the file), apply, restore and the error paths never show a secret.
#[test]
fn no_output_shows_a_secret() {
    let server = TestServer::start(&root().join("examples/demo/clone.sql"));
    let spec = demo_spec();
    let plan =
        Test::new()
            .spec(&spec)
            .server(&server, "OS_PREPROD")
            .args(["plan", "--out", "plan.json"]);
    let out = plan.run().code(0);
    assert_clean("plan", &(out.stdout + &out.stderr));
    assert_clean(
        "the plan file",
        &std::fs::read_to_string(plan.path().join("plan.json")).expect("plan file"),
    );

    let wrong_database = Test::new()
        .spec(&spec)
        .server(&server, "OS_PROD")
        .args(["apply", "--auto-approve"])
        .run()
        .code(1);
    assert_clean(
        "the guard error",
        &(wrong_database.stdout + &wrong_database.stderr),
    );

    let failing = format!(
        "{spec}  - id: fails-last\n    kind: custom\n    secret: true\n    after: [database-connections]\n    check: SELECT ID FROM OSSYS_DBCONNECTION\n    fix: UPDATE NO_SUCH_TABLE SET X = 1\n"
    );
    let failed = Test::new()
        .spec(&failing)
        .server(&server, "OS_PREPROD")
        .args(["apply", "--auto-approve"])
        .run()
        .code(1);
    // The server's own message, its quoted name masked (the change is secret, and its custom
    // SQL quotes no identifier), without the client's quoting around it.
    assert!(
        failed
            .stderr
            .contains("caused by: change fails-last failed: Invalid object name '(sensitive value)'. (server error 208"),
        "{}",
        failed.stderr
    );
    assert_clean("a failed apply", &(failed.stdout + &failed.stderr));

    let apply = Test::new().spec(&spec).server(&server, "OS_PREPROD").args([
        "apply",
        "--auto-approve",
        "--journal",
        "j.jsonl",
    ]);
    let out = apply.run().code(0);
    assert_clean("apply", &(out.stdout + &out.stderr));
    let journal = apply.path().join("j.jsonl");
    let out = restore(&server, "OS_PREPROD", &journal).run().code(0);
    assert_clean("restore", &(out.stdout + &out.stderr));
}

/// A metamodel row naming a "table" that tries to break out of quoting is refused by the
/// catalog check: the plan notes it and nothing is executed against it.
#[test]
fn hostile_metamodel_names_never_run() {
    let mut server = TestServer::start(&root().join("examples/demo/clone.sql"));
    server.rows(
        "INSERT INTO OSSYS_ENTITY VALUES (11, 'ConfigIdP', 'OSUSR_X]; DROP TABLE OSSYS_ESPACE; --', 1, 1, 'e1000000-0000-4000-8000-000000000011')",
    );
    let out = Test::new()
        .spec("engine: sqlserver\nguard: { database: OS_PREPROD }\ninclude: [outsystems-o11]\nproduction: { hosts: [prod.elsewhere.example] }\n")
        .server(&server, "OS_PREPROD")
        .args(["apply", "--auto-approve"])
        .run()
        .code(0);
    assert!(
        out.stdout.contains(
            "table OSUSR_X]; DROP TABLE OSSYS_ESPACE; -- is not present on this platform"
        ),
        "{}",
        out.stdout
    );
    assert_eq!(server.rows("SELECT COUNT(*) FROM OSSYS_ESPACE"), vec!["5"]);
}

/// A database whose front-end list names a forbidden host is refused before anything runs,
/// unless the spec expects that front-end.
#[test]
fn front_end_list_naming_a_forbidden_host_is_refused() {
    let mut server = TestServer::start(&root().join("examples/demo/clone.sql"));
    server.rows("INSERT INTO OSSYS_SERVER VALUES (3, 'prod-sql01', '10.20.0.5')");
    let before = server.dump_everything();
    let spec = "engine: sqlserver\nguard: { database: OS_PREPROD, forbid_hosts: [prod-sql01] }\ninclude: [outsystems-o11]\nproduction: { hosts: [prod.elsewhere.example] }\n";
    let out = Test::new()
        .spec(spec)
        .server(&server, "OS_PREPROD")
        .args(["apply", "--auto-approve"])
        .run()
        .code(1);
    out.stderr_has("front-end list (OSSYS_SERVER) names prod-sql01");
    assert_eq!(server.dump_everything(), before, "nothing may change");
    let allowed = spec.replace(
        "forbid_hosts: [prod-sql01]",
        "forbid_hosts: [prod-sql01], allow_front_ends: [prod-sql01]",
    );
    Test::new()
        .spec(&allowed)
        .server(&server, "OS_PREPROD")
        .args(["apply", "--auto-approve"])
        .run()
        .code(0);
}

/// A secret row is secret under any spelling of its table: the spec names the site property
/// tables in the case of the platform's documentation (`ossys_Site_Property`), not the
/// profile's, and still no output shows the secret site property its host rewrite changes.
/// See: issue 21
#[test]
fn a_secret_row_is_secret_under_any_spelling_issue_21() {
    // See: issue 21
    let server = TestServer::start(&root().join("examples/demo/clone.sql"));
    let spec = demo_spec()
        .replace(
            "    table: ossys_site_property\n    set:",
            "    table: ossys_Site_Property\n    set:",
        )
        .replace(
            "    table: ossys_site_property_shared\n",
            "    table: dbo.OSSYS_SITE_PROPERTY_shared\n",
        );
    assert!(spec.contains("table: ossys_Site_Property\n"), "{spec}");
    assert!(
        spec.contains("table: dbo.OSSYS_SITE_PROPERTY_shared\n"),
        "{spec}"
    );
    for args in [
        vec!["plan"],
        vec!["plan", "--verbose"],
        vec!["plan", "--format", "json"],
        vec!["plan", "--format", "markdown"],
    ] {
        let out = Test::new()
            .spec(&spec)
            .server(&server, "OS_PREPROD")
            .args(args.clone())
            .run()
            .code(0);
        assert!(
            out.stdout.contains("site-property-hosts"),
            "{args:?} does not show the rewrite:\n{}",
            out.stdout
        );
        assert_clean(&format!("{args:?}"), &(out.stdout + &out.stderr));
    }
    let out = Test::new()
        .spec(&spec)
        .server(&server, "OS_PREPROD")
        .args(["apply", "--auto-approve"])
        .run()
        .code(0);
    assert_clean("apply", &(out.stdout + &out.stderr));
}

/// A resource of the user's own that shows the platform's credential tables (catalog
/// passwords, connection configurations, the Users module's SAML configuration, whose tables
/// are found through the metamodel) without `secret: true` still never prints them: the
/// profile declares those rows secret. See: issue 27
#[test]
fn credential_tables_are_secret_in_any_resource_issue_27() {
    let server = TestServer::start(&root().join("examples/demo/clone.sql"));
    let spec = format!(
        "{}  - id: my-catalogs\n    kind: column_values\n    table: OSSYS_DBCATALOG\n    set: {{ PASSWORD: rotated-by-ops }}\n\
         \x20 - id: my-connections\n    kind: column_values\n    table: ossys_DBConnection\n    set: {{ DATABASE_CONFIGURATION: none }}\n\
         \x20 - id: my-saml\n    kind: column_values\n    table: osusr_u1_configsp\n    set: {{ SIGNING_KEY: rotated-by-ops }}\n    after: [saml-configuration]\n",
        demo_spec()
    );
    for args in [
        vec!["plan"],
        vec!["plan", "--verbose"],
        vec!["plan", "--format", "json", "--verbose"],
        vec!["plan", "--format", "markdown"],
    ] {
        let out = Test::new()
            .spec(&spec)
            .server(&server, "OS_PREPROD")
            .args(args.clone())
            .run()
            .code(0);
        assert!(
            out.stdout.contains("my-catalogs") && out.stdout.contains("my-saml"),
            "{args:?}:\n{}",
            out.stdout
        );
        assert_clean(&format!("{args:?}"), &(out.stdout + &out.stderr));
    }
}
