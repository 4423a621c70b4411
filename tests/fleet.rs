//! `postclone fleet`: three environments on three embedded servers over TDS, two stages, a
//! target whose guard refuses, a held stage, a rerun of only what failed, a nightly drift
//! plan, every secret read through `exec:` and shown nowhere. The verdicts come from the
//! databases' own dumps and from the report, checked against its published schema.
//! See: issue 37

use crate::common::schema::{errors, fleet_report_validator, fleet_validator, yaml_document};
use crate::common::{files_text, fixture, root, Output, Test, TestServer};

const KEY: &str = crate::personal::KEY;

/// A vault's command line: prints the connection of the target named, or the masking key.
fn vault(connections: &[(&str, String)]) -> String {
    let mut script = String::from("#!/bin/sh\ncase \"$1\" in\n");
    for (name, connection) in connections {
        script.push_str(&format!("  {name}) printf '%s\\n' '{connection}' ;;\n"));
    }
    script.push_str(&format!(
        "  mask-key) printf '%s\\n' '{KEY}' ;;\n  *) echo \"no secret named $1\" >&2; exit 4 ;;\nesac\n"
    ));
    script
}

/// The personal-data spec, its masking key read through the vault, guarded for `database`.
fn spec(database: &str) -> String {
    crate::personal::spec(true, "")
        .replacen(
            "guard: { database: OS_PREPROD }",
            &format!("guard: {{ database: {database} }}"),
            1,
        )
        .replacen(
            "engine: sqlserver\n",
            "engine: sqlserver\nmasking: { key_from: \"exec:sh vault.sh mask-key\" }\n",
            1,
        )
}

const FLEET: &str = "targets:
  - { name: qa, spec: qa.yaml, connection: \"exec:sh vault.sh qa\", labels: { tier: lower } }
  - { name: test, spec: test.yaml, connection: \"exec:sh vault.sh test\", labels: { tier: lower } }
  - { name: preprod, spec: qa.yaml, connection: \"exec:sh vault.sh preprod\", labels: { tier: upper } }
stages:
  - { name: lower, match: { tier: lower }, parallel: 2, on_error: continue }
  - { name: upper, match: { tier: upper }, after: [lower], hold: true }
";

fn report(t: &Test, name: &str) -> serde_json::Value {
    let text = std::fs::read_to_string(t.path().join(name)).expect("report");
    let doc: serde_json::Value = serde_json::from_str(&text).expect("JSON report");
    let problems = errors(fleet_report_validator(), &doc);
    assert!(problems.is_empty(), "{name}: {}", problems.join("\n"));
    doc
}

/// `name`'s result in a report, and its reason.
fn result(doc: &serde_json::Value, name: &str) -> (String, String) {
    let t = doc["targets"]
        .as_array()
        .expect("targets")
        .iter()
        .find(|t| t["name"] == name)
        .unwrap_or_else(|| panic!("{name} not in {doc}"));
    (
        t["result"].as_str().unwrap_or_default().to_string(),
        t["reason"].as_str().unwrap_or_default().to_string(),
    )
}

/// Runs `postclone fleet ARGS` (words split at blanks) in `t`'s directory; what it printed is
/// added to `shown`.
fn fleet(t: &mut Test, shown: &mut String, args: &str) -> Output {
    let out = t
        .set_args(std::iter::once("fleet").chain(args.split_whitespace()))
        .run();
    shown.push_str(&out.stdout);
    shown.push_str(&out.stderr);
    out
}

#[test]
#[allow(clippy::too_many_lines)]
fn a_fleet_applies_stage_by_stage_reports_and_reruns_what_failed_issue_37() {
    let clone = fixture("personal/clone.sql");
    let mut servers: Vec<TestServer> = (0..3).map(|_| TestServer::start(&clone)).collect();
    let originals: Vec<Vec<String>> = servers
        .iter_mut()
        .map(|s| s.dump("OSUSR_ABC_CUSTOMER"))
        .collect();
    let connections: Vec<(&str, String)> = ["qa", "test", "preprod"]
        .into_iter()
        .zip(servers.iter().map(|s| s.connection("OS_PREPROD")))
        .collect();
    let mut t = Test::new()
        .file("vault.sh", &vault(&connections))
        .file("qa.yaml", &spec("OS_PREPROD"))
        // This one's guard expects another database: it refuses.
        .file("test.yaml", &spec("OS_TEST"))
        .file("fleet.yaml", FLEET)
        // The fleet file and the specs read their secrets through exec: references.
        .env("POSTCLONE_EXEC", "allow");
    let mut outputs = String::new();

    // 1. The lower stage runs both its targets (on_error: continue): qa converges, test is
    //    refused by its guard; the held upper stage stays held.
    let out = fleet(
        &mut t,
        &mut outputs,
        "apply fleet.yaml --report r1.json --markdown r1.md",
    );
    let out = out.code(1);
    let r1 = report(&t, "r1.json");
    assert_eq!(result(&r1, "qa").0, "converged", "{r1}\n{}", out.stdout);
    let (test_result, test_reason) = result(&r1, "test");
    assert_eq!(test_result, "failed");
    assert!(test_reason.contains("refusing"), "{test_reason}");
    assert_eq!(result(&r1, "preprod").0, "held");
    assert_ne!(
        servers[0].dump("OSUSR_ABC_CUSTOMER"),
        originals[0],
        "qa was not masked"
    );
    assert_eq!(
        servers[1].dump("OSUSR_ABC_CUSTOMER"),
        originals[1],
        "the refused target changed"
    );
    assert_eq!(
        servers[2].dump("OSUSR_ABC_CUSTOMER"),
        originals[2],
        "a held stage ran"
    );
    let md = std::fs::read_to_string(t.path().join("r1.md")).expect("markdown");
    assert!(md.contains("| test | lower | failed |"), "{md}");

    // 2. Naming the held stage while the lower one has not converged starts nothing.
    let out = fleet(
        &mut t,
        &mut outputs,
        "apply fleet.yaml --stage upper --report r2.json",
    );
    out.code(1);
    let r2 = report(&t, "r2.json");
    assert_eq!(
        result(&r2, "preprod"),
        ("skipped".into(), "stage lower has not converged".into())
    );
    assert_eq!(servers[2].dump("OSUSR_ABC_CUSTOMER"), originals[2]);

    // 3. The guard fixed, only what failed runs again.
    std::fs::write(t.path().join("test.yaml"), spec("OS_PREPROD")).expect("spec");
    let out = fleet(
        &mut t,
        &mut outputs,
        "apply fleet.yaml --only failed --from r1.json --report r3.json",
    );
    out.code(0);
    let r3 = report(&t, "r3.json");
    assert_eq!(result(&r3, "test").0, "converged");
    assert_eq!(result(&r3, "qa"), ("skipped".into(), "not selected".into()));
    assert_eq!(
        servers[1].dump("OSUSR_ABC_CUSTOMER"),
        servers[0].dump("OSUSR_ABC_CUSTOMER"),
        "test masked otherwise than qa with the same key"
    );

    // 4. The held stage named: the lower stage converged (planned now), preprod applies.
    let out = fleet(
        &mut t,
        &mut outputs,
        "apply fleet.yaml --stage upper --report r4.json",
    );
    out.code(0);
    assert_eq!(result(&report(&t, "r4.json"), "preprod").0, "converged");
    assert_eq!(
        servers[2].dump("OSUSR_ABC_CUSTOMER"),
        servers[0].dump("OSUSR_ABC_CUSTOMER")
    );

    // 5. The nightly drift plan: nothing drifted (0); a value written back on qa is drift
    //    (2, qa named, since this run); the next night keeps the date; applied, 0 again.
    let out = fleet(
        &mut t,
        &mut outputs,
        "plan fleet.yaml --detailed-exitcode --report n1.json",
    );
    out.code(0);
    servers[0].run_sql("UPDATE OSUSR_ABC_CUSTOMER SET NAME = N'Alice Martin' WHERE ID = 1");
    let out = fleet(
        &mut t,
        &mut outputs,
        "plan fleet.yaml --detailed-exitcode --previous n1.json --report n2.json",
    );
    let out = out.code(2);
    out.stdout_has("qa");
    let n2 = report(&t, "n2.json");
    assert_eq!(result(&n2, "qa").0, "changes");
    assert_eq!(result(&n2, "test").0, "converged");
    let since = n2["targets"][0]["drifted_since"].clone();
    assert!(since.is_string(), "{n2}");
    let out = fleet(
        &mut t,
        &mut outputs,
        "plan fleet.yaml --detailed-exitcode --previous n2.json --report n3.json",
    );
    out.code(2);
    assert_eq!(report(&t, "n3.json")["targets"][0]["drifted_since"], since);
    let out = fleet(&mut t, &mut outputs, "apply fleet.yaml --target qa");
    out.code(0);
    let out = fleet(&mut t, &mut outputs, "plan fleet.yaml --detailed-exitcode");
    out.code(0);

    // No secret anywhere: outputs, reports, logs, journals.
    let everything = outputs + &files_text(t.path(), &["vault.sh"]);
    for secret in [KEY, "test-only", "Alice Martin"] {
        assert!(
            !everything.contains(secret),
            "{secret} was shown or written"
        );
    }
}

/// The committed schema of the fleet report is what the code generates.
#[test]
fn committed_fleet_report_schema_is_current_issue_37() {
    let out = Test::new().args(["schema", "--fleet-report"]).run().code(0);
    let committed = std::fs::read_to_string(root().join("schema/fleet-report.schema.json"))
        .expect("committed schema");
    assert!(
        committed == out.stdout,
        "schema/fleet-report.schema.json is stale: run `cargo run -- schema --fleet-report > schema/fleet-report.schema.json`"
    );
}

/// The committed schema of the fleet file is what the code generates; every fleet file shipped
/// (the example, the README's) is valid under it, and the example loads and refers to specs
/// that exist; a fleet file postclone refuses for its shape is invalid under the schema too.
#[test]
fn shipped_fleet_files_are_valid_under_the_published_schema_issue_37() {
    let out = Test::new().args(["schema", "--fleet"]).run().code(0);
    let committed =
        std::fs::read_to_string(root().join("schema/fleet.schema.json")).expect("committed");
    assert!(
        committed == out.stdout,
        "schema/fleet.schema.json is stale: run `cargo run -- schema --fleet > schema/fleet.schema.json`"
    );
    let example = root().join("examples/fleet/fleet.yaml");
    let text = std::fs::read_to_string(&example).expect("the example");
    assert!(
        text.starts_with("# yaml-language-server: $schema=../../schema/fleet.schema.json\n"),
        "editors find the example's schema on its first line"
    );
    let problems = errors(fleet_validator(), &yaml_document(&example));
    assert!(problems.is_empty(), "{}", problems.join("\n"));
    let loaded = postclone::fleet::load(&example).expect("the example loads");
    assert_eq!(loaded.fleet.targets.len(), 3);

    let readme = std::fs::read_to_string(root().join("README.md")).expect("README");
    let block = readme
        .split("```yaml\n")
        .find(|b| b.starts_with("# fleet.yaml"))
        .and_then(|b| b.split("```").next())
        .expect("the README's fleet file");
    let doc: serde_json::Value = serde_yaml::from_str(block).expect("the README's fleet file");
    let problems = errors(fleet_validator(), &doc);
    assert!(problems.is_empty(), "README: {}", problems.join("\n"));

    let dir = tempfile::tempdir().expect("temp dir");
    std::fs::write(dir.path().join("a.yaml"), "engine: sqlserver\n").expect("spec");
    // Each refused file below is this one with one thing wrong.
    let path = dir.path().join("fleet.yaml");
    let accepted = "targets: [{name: a, spec: a.yaml}]\nstages: [{name: s, match: {}}]\n";
    std::fs::write(&path, accepted).expect("fleet file");
    postclone::fleet::load(&path).expect("the minimal fleet file loads");
    let doc: serde_json::Value = serde_yaml::from_str(accepted).expect("YAML");
    assert!(errors(fleet_validator(), &doc).is_empty());
    for refused in [
        "targets: [{name: a, spec: a.yaml}]\nstages: [{name: s, match: {}}]\nschedule: nightly\n",
        "targets: [{name: a, spec: a.yaml}]\n",
        "targets: [{name: a, spec: a.yaml}]\nstages: [{name: s, match: {}, parallel: two}]\n",
        "targets: [{name: a, spec: a.yaml, lables: {}}]\nstages: [{name: s, match: {}}]\n",
    ] {
        std::fs::write(&path, refused).expect("fleet file");
        assert!(
            postclone::fleet::load(&path).is_err(),
            "postclone loads {refused}"
        );
        let doc: serde_json::Value = serde_yaml::from_str(refused).expect("YAML");
        assert!(
            !errors(fleet_validator(), &doc).is_empty(),
            "the schema accepts {refused}"
        );
    }
}

/// A fleet file's `exec:` runs nothing unless `POSTCLONE_EXEC=allow` is set where postclone
/// runs, and `POSTCLONE_SECRETS=references` refuses a password written in clear in it: both
/// refused with the file's line and field, before any target runs.
#[test]
fn a_fleet_file_runs_no_command_and_holds_no_password_unless_allowed_issue_37() {
    let server = TestServer::start(&fixture("personal/clone.sql"));
    let connection = server.connection("OS_PREPROD");
    let fleet_file = |connection: &str| {
        format!(
            "targets:\n  - {{ name: qa, spec: qa.yaml, connection: \"{connection}\" }}\nstages:\n  - {{ name: all }}\n"
        )
    };
    let mut t = Test::new()
        .file("vault.sh", &vault(&[("qa", connection.clone())]))
        .file("qa.yaml", &spec("OS_PREPROD"))
        .file("fleet.yaml", &fleet_file("exec:sh vault.sh qa"));
    let mut shown = String::new();
    let out = fleet(&mut t, &mut shown, "plan fleet.yaml").code(1);
    assert!(
        out.stderr.contains(
            "fleet.yaml:2: targets[0].connection: `exec:sh vault.sh qa` in the fleet file"
        ) && out.stderr.contains("POSTCLONE_EXEC=allow"),
        "{}",
        out.stderr
    );
    assert!(!t.path().join(".postclone").exists(), "a target ran");

    std::fs::write(t.path().join("fleet.yaml"), fleet_file(&connection)).expect("fleet file");
    let mut t = t.env("POSTCLONE_SECRETS", "references");
    let out = fleet(&mut t, &mut shown, "plan fleet.yaml").code(1);
    out.stderr_has("targets[0].connection: the connection holds a password in clear");
    assert!(!shown.contains("test-only"), "{shown}");
}

/// A target's attestation is in the report when its apply wrote one, and only then: when a
/// later apply refuses before it attests, last run's file is still there, and is not this
/// run's. See: issue 37
#[test]
fn a_report_names_only_an_attestation_its_run_wrote_issue_37() {
    let server = TestServer::start(&root().join("examples/demo/clone.sql"));
    // A fleet passes on no connection of its own: this target's is in its spec.
    let spec = format!(
        "connection: \"{}\"\n{}attestation: {{ out: att.json }}\n",
        server.connection("OS_PREPROD"),
        crate::common::demo_spec()
    );
    let key = fixture("keys/signer_ed25519");
    let mut t = Test::new()
        .file("qa.yaml", &spec)
        .file(
            "fleet.yaml",
            "targets: [{ name: qa, spec: qa.yaml }]\nstages: [{ name: all, match: {} }]\n",
        )
        .env("POSTCLONE_SIGNING_KEY", key.to_str().expect("utf-8"));
    let attestation = |doc: &serde_json::Value| doc["targets"][0]["attestation"].clone();
    let mut shown = String::new();
    fleet(&mut t, &mut shown, "apply fleet.yaml --report r1.json").code(0);
    let r1 = report(&t, "r1.json");
    assert_eq!(result(&r1, "qa").0, "converged", "{r1}");
    let written = attestation(&r1);
    assert!(
        written
            .as_str()
            .is_some_and(|p| std::fs::canonicalize(t.path().join(p)).ok()
                == std::fs::canonicalize(t.path().join("att.json")).ok()),
        "{r1}"
    );

    // Without a signing key the apply refuses before anything runs: the file there is the
    // first run's.
    let mut t = t.env("POSTCLONE_SIGNING_KEY", "");
    fleet(&mut t, &mut shown, "apply fleet.yaml --report r2.json").code(1);
    let r2 = report(&t, "r2.json");
    let (outcome, reason) = result(&r2, "qa");
    assert_eq!(outcome, "failed", "{r2}");
    assert!(reason.contains("needs a key to sign with"), "{reason}");
    assert!(t.path().join("att.json").is_file());
    assert_eq!(attestation(&r2), serde_json::Value::Null, "{r2}");
}
