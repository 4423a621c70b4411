//! The built-in `outsystems-o11` profile against a synthetic production clone: it leaves the
//! tables as the runbook's own SQL Server statements do, and converges.
//! See: issue 3

use crate::common::{fixture, root, Test, TestServer};

/// Production's host is one the clone does not name: the profile's `production-references`
/// check scans and finds nothing, and the tables are compared with the runbook's.
const SPEC: &str = "engine: sqlserver
guard: { database: OS_PREPROD, forbid_databases: [OS_PROD] }
production: { hosts: [prod.elsewhere.example] }
include: [outsystems-o11]
";

/// The application table holding an entity named `ConfigSP`: the runbook's SAML query matches
/// it too (it is not scoped to a module) and empties it; the profile keeps to the Users module.
const APPLICATION_CONFIGSP: &str = "OSUSR_OR2_CONFIGSP";

/// After apply, every table of the clone holds exactly what the runbook's statements leave,
/// except the application table the runbook empties by mistake, which is untouched; then a
/// second plan is empty and a second apply does nothing.
#[test]
pub(crate) fn profile_leaves_what_the_runbook_leaves() {
    let clone = root().join("examples/demo/clone.sql");
    let mut runbook = TestServer::start(&clone);
    runbook.run_script(&fixture("o11/runbook.sql"));
    let expected = runbook.dump_everything();

    let mut server = TestServer::start(&clone);
    let before = server.dump_everything();
    let out = Test::new()
        .spec(SPEC)
        .server(&server, "OS_PREPROD")
        .args(["apply", "--auto-approve"])
        .run()
        .code(0);
    out.stdout_has("Converged: a new plan shows no changes.");
    let after = server.dump_everything();

    assert_eq!(after.len(), expected.len(), "same tables");
    for ((table, rows), (_, runbook_rows)) in after.iter().zip(&expected) {
        if table == APPLICATION_CONFIGSP {
            let original = &before
                .iter()
                .find(|(t, _)| t == table)
                .expect("table before")
                .1;
            assert_eq!(rows, original, "{table} must survive");
            assert!(runbook_rows.is_empty(), "the runbook empties {table}");
        } else {
            assert_eq!(
                rows, runbook_rows,
                "{table} differs from what the runbook leaves"
            );
        }
    }

    let out = Test::new()
        .spec(SPEC)
        .server(&server, "OS_PREPROD")
        .args(["plan", "--detailed-exitcode"])
        .run()
        .code(0);
    out.stdout_has("No changes. The database matches the spec.");
    let out = Test::new()
        .spec(SPEC)
        .server(&server, "OS_PREPROD")
        .args(["apply", "--auto-approve"])
        .run()
        .code(0);
    out.stdout_has("Apply complete: nothing to do.");
    assert_eq!(
        server.dump_everything(),
        after,
        "the second apply changed something"
    );
}

/// The decoys of the clone survive: other parameters, non-secret site properties, application
/// tables, the inactive LifeTime module's table, the log database connection.
#[test]
fn decoys_survive() {
    let mut server = TestServer::start(&root().join("examples/demo/clone.sql"));
    let keep = [
        ("SELECT NAME FROM OSSYS_PARAMETER ORDER BY ID", vec!["\"DeploymentController.Timeout\"", "\"Compiler.DefaultLanguage\""]),
        (
            "SELECT SITE_PROPERTY_DEFINITION_ID, PROPERTY_VALUE FROM OSSYS_SITE_PROPERTY WHERE SITE_PROPERTY_DEFINITION_ID IN (7, 8) ORDER BY 1",
            vec!["7 | \"https://payments.prod.example.com/api\"", "8 | \"50\""],
        ),
        ("SELECT ISACTIVE FROM OSLTM_LEGACY_ENVIRONMENT", vec!["true"]),
        ("SELECT NAME FROM OSSYS_DBCONNECTION", vec!["\"$OS_LOG_DB_7e3e8ce0\""]),
        ("SELECT NAME FROM OSSYS_PLATFORMCONFIG", vec!["\"Platform Version\""]),
        ("SELECT COUNT(*) FROM OSUSR_OR2_ORDER", vec!["2"]),
        ("SELECT COUNT(*) FROM OSUSR_OR2_CONFIGSP", vec!["1"]),
        ("SELECT USERNAME, PASSWORD FROM OSSYS_DBCATALOG WHERE NAME = '(Main)'", vec!["\"OSRUNTIME\" | \"main-PROD-pass\""]),
    ];
    Test::new()
        .spec(SPEC)
        .server(&server, "OS_PREPROD")
        .args(["apply", "--auto-approve"])
        .run()
        .code(0);
    for (sql, rows) in keep {
        assert_eq!(server.rows(sql), rows, "{sql}");
    }
}

/// The plan names the module of every table resolved through the metamodel, and says which
/// optional table this platform does not have.
#[test]
fn plan_shows_modules_and_absent_tables() {
    let server = TestServer::start(&root().join("examples/demo/clone.sql"));
    let out = Test::new()
        .spec(SPEC)
        .server(&server, "OS_PREPROD")
        .args(["plan"])
        .run()
        .code(0);
    out.stdout_has("[entity ConfigIdP, module Users]");
    out.stdout_has("[entity Environment, module LifeTime]");
    assert!(!out.stdout.contains("LifeTimeLegacy"), "{}", out.stdout);
    out.stdout_has("table ossys_cloudservices_observer is not present on this platform");
    assert!(
        !out.stdout.contains("PROD-pass") && !out.stdout.contains("PROD-0"),
        "a secret leaked:\n{}",
        out.stdout
    );
}

/// A step can be left out by id; the rest still converges.
#[test]
fn excluded_steps_are_left_alone() {
    let mut server = TestServer::start(&root().join("examples/demo/clone.sql"));
    let spec = format!("{SPEC}exclude: [front-end-servers, saml-configuration]\n");
    Test::new()
        .spec(&spec)
        .server(&server, "OS_PREPROD")
        .args(["apply", "--auto-approve"])
        .run()
        .code(0);
    assert_eq!(server.rows("SELECT COUNT(*) FROM OSSYS_SERVER"), vec!["2"]);
    assert_eq!(
        server.rows("SELECT COUNT(*) FROM OSUSR_U1_CONFIGIDP"),
        vec!["1"]
    );
    assert_eq!(
        server.rows("SELECT COUNT(*) FROM OSSYS_MODULEFRONTEND"),
        vec!["0"]
    );
}

/// The demo's application configuration: production's host rewritten once in site property
/// values and in web references' effective URLs (from URL when EFFECTIVE_URL is blank), values
/// already pointing at pre-production and other hosts left alone; converges across processes.
#[test]
pub(crate) fn application_configuration_rewrites_hosts_once() {
    let demo = root().join("examples/demo");
    let mut server = TestServer::start(&demo.join("clone.sql"));
    let spec = crate::common::demo_spec();
    Test::new()
        .spec(&spec)
        .server(&server, "OS_PREPROD")
        .args(["apply", "--auto-approve"])
        .run()
        .code(0);
    assert_eq!(
        server.rows("SELECT ID, URL, EFFECTIVE_URL FROM OSSYS_WEB_REFERENCE ORDER BY ID"),
        vec![
            "1 | \"https://inventory.prod.example.com/soap\" | \"https://inventory.preprod.example.com/soap\"",
            "2 | \"https://partners.example.org/ws\" | \"\"",
            "3 | \"https://reports.prod.example.com/ws\" | \"https://reports.preprod.example.com/ws\"",
        ]
    );
    assert_eq!(
        server.rows("SELECT EFFECTIVE_URL FROM OSSYS_REST_WEB_REFERENCE"),
        vec!["\"https://shipping.preprod.example.com/v2\""]
    );
    assert_eq!(
        server
            .rows("SELECT PROPERTY_VALUE FROM OSSYS_SITE_PROPERTY WHERE ID IN (4, 5) ORDER BY ID"),
        vec!["\"https://payments.preprod.example.com/api\"", "\"25\""]
    );
    let out = Test::new()
        .spec(&spec)
        .server(&server, "OS_PREPROD")
        .args(["plan", "--detailed-exitcode"])
        .run()
        .code(0);
    out.stdout_has("No changes.");
}

/// Rows of every table, by their first column.
type Rows = std::collections::BTreeMap<(String, String), String>;

fn by_key(dump: &[(String, Vec<String>)]) -> Rows {
    let mut out = Rows::new();
    for (table, rows) in dump {
        for row in rows {
            let key = row.split(" | ").next().unwrap_or_default().to_string();
            out.insert((table.clone(), key), row.clone());
        }
    }
    out
}

/// Each step alone (every other excluded) changes only rows the runbook changes, and leaves
/// each of them as the runbook does; steps with something to do on the clone change something.
#[test]
pub(crate) fn each_step_does_what_its_runbook_section_does() {
    let clone = root().join("examples/demo/clone.sql");
    let mut runbook = TestServer::start(&clone);
    runbook.run_script(&fixture("o11/runbook.sql"));
    let finished = by_key(&runbook.dump_everything());
    let profile: serde_yaml::Value =
        serde_yaml::from_str(postclone::profile::get("outsystems-o11").expect("profile"))
            .expect("yaml");
    let resources = profile["resources"].as_sequence().expect("resources");
    let ids: Vec<String> = resources
        .iter()
        .map(|r| r["id"].as_str().expect("id").to_string())
        .collect();
    // A step runs with what it is declared to run after (database connections need their
    // extension mappings gone first).
    let needs = |id: &str| -> Vec<String> {
        resources
            .iter()
            .find(|r| r["id"].as_str() == Some(id))
            .and_then(|r| r["after"].as_sequence())
            .map(|a| {
                a.iter()
                    .filter_map(|x| x.as_str().map(str::to_string))
                    .collect()
            })
            .unwrap_or_default()
    };
    // Nothing to do on this clone: the table is absent, no restored user exists; and the
    // check that nothing names production only reads.
    let idle = [
        "lifetime-cloud-services-observer",
        "restored-database-users",
        "production-references",
    ];
    for id in &ids {
        let mut server = TestServer::start(&clone);
        let before = by_key(&server.dump_everything());
        let kept = [vec![id.clone()], needs(id)].concat();
        let others: Vec<&str> = ids
            .iter()
            .map(String::as_str)
            .filter(|o| !kept.iter().any(|k| k == o))
            .collect();
        let spec = format!("{SPEC}exclude: [{}]\n", others.join(", "));
        Test::new()
            .spec(&spec)
            .server(&server, "OS_PREPROD")
            .args(["apply", "--auto-approve"])
            .run()
            .code(0);
        let after = by_key(&server.dump_everything());
        let keys: std::collections::BTreeSet<_> = before
            .keys()
            .chain(after.keys())
            .chain(finished.keys())
            .collect();
        let mut changed = 0;
        for key in keys {
            let now = after.get(key);
            if now != before.get(key) {
                changed += 1;
                let is_application_configsp = key.0 == APPLICATION_CONFIGSP;
                assert!(
                    now == finished.get(key) && !is_application_configsp,
                    "{id}: {key:?} is {now:?}, the runbook leaves {:?}",
                    finished.get(key)
                );
            }
        }
        assert_eq!(
            changed == 0,
            idle.contains(&id.as_str()),
            "{id} changed {changed} rows"
        );
    }
}
