//! Bad input: each problem is reported with file, line, column and field; exit 1; nothing runs.

use crate::common::{fixture, root, Test, TestServer};

fn validate(spec: &str) -> String {
    let out = Test::new()
        .spec(spec)
        .args(["validate", "postclone.yaml"])
        .run()
        .code(1);
    assert!(out.stdout.is_empty(), "{}", out.stdout);
    out.stderr
}

/// Malformed YAML points at the spot.
#[test]
fn malformed_yaml() {
    let err = validate("engine: sqlserver\nresources:\n  - id: a\n    kind: [table_empty\n");
    insta::assert_snapshot!(err);
}

/// An unknown key is shown where the key is written, with the keys that are allowed.
#[test]
fn unknown_key() {
    let err = validate("engine: sqlserver\nresources:\n  - id: servers\n    kind: table_empty\n    tabel: ossys_server\n");
    assert!(err.contains("postclone.yaml:5:5"), "{err}");
    assert!(err.contains("field: resources[0].tabel"), "{err}");
    insta::assert_snapshot!(err);
}

/// A wrong type names the field.
#[test]
fn wrong_type() {
    let err = validate(
        "engine: sqlserver\nresources:\n  - id: servers\n    kind: table_empty\n    table: ossys_server\n    if_exists: maybe\n",
    );
    assert!(err.contains("postclone.yaml:6:16"), "{err}");
    assert!(err.contains("resources[0].if_exists"), "{err}");
}

/// Every problem of a file is reported at once, each located.
#[test]
fn every_problem_at_once() {
    let err = validate(
        "engine: sqlserver
unknown_top: 1
resources:
  - id: a
    kind: table_empty
    table: t1
  - id: a
    kind: table_empty
    table: t2
  - id: b
    kind: rows_absent
    table: t3
    after: [c]
  - id: e
    kind: rows_absent
    table: t4
    where:
      - { column: NAME, in: [x], not_in: [y] }
  - id: d
    kind: nope
exclude: [zz]
",
    );
    insta::assert_snapshot!(err);
    for code in [
        "duplicate-id",
        "unknown-after",
        "unknown-kind",
        "unknown-exclude",
        "invalid-field",
    ] {
        assert!(err.contains(&format!("[{code}]")), "{code} missing:\n{err}");
    }
}

/// A cycle of `after:` names every resource on it.
#[test]
fn dependency_cycle() {
    let err = validate(
        "engine: sqlserver
resources:
  - { id: a, kind: table_empty, table: t, after: [c] }
  - { id: b, kind: table_empty, table: t, after: [a] }
  - { id: c, kind: table_empty, table: t, after: [b] }
",
    );
    assert!(
        err.contains("a → (declared) b → (declared) c → (declared) a"),
        "{err}"
    );
}

/// A missing engine and a bad include are located too.
#[test]
fn missing_engine_and_bad_include() {
    let err = validate("include: [./nope.yaml, not-a-profile]\nresources: []\n");
    assert!(err.contains("[missing-engine]"), "{err}");
    assert!(err.contains("cannot read included file"), "{err}");
    assert!(
        err.contains("unknown built-in profile `not-a-profile`"),
        "{err}"
    );
}

/// Problems in an included file name that file.
#[test]
fn problems_in_included_files_name_them() {
    let t = Test::new()
        .file(
            "base.yaml",
            "resources:\n  - id: a\n    kind: table_empty\n    table: [x]\n",
        )
        .spec("engine: sqlserver\ninclude: [./base.yaml]\n");
    let out = t.args(["validate"]).run().code(1);
    out.stderr_has("base.yaml:4:12");
}

/// A valid spec validates without any database.
#[test]
fn valid_spec() {
    let out = Test::new()
        .spec("engine: sqlserver\nconnection: ${env:UNSET_IN_CI}\nresources:\n  - { id: a, kind: table_empty, table: t }\n")
        .args(["validate"])
        .run()
        .code(0);
    out.stdout_has("is valid: 1 resources");
}

/// Every spec in examples/ validates, and every built-in profile validates when included. A
/// captured file is a fragment: it validates through the spec that includes it; a fleet file is
/// not a spec (tests/fleet.rs checks the shipped one).
#[test]
fn shipped_specs_validate() {
    for entry in walk(&root().join("examples")) {
        if entry.extension().is_some_and(|e| e == "yaml")
            && !entry.to_string_lossy().contains("workflow")
            && !entry.to_string_lossy().ends_with(".captured.yaml")
            && !crate::common::schema::is_fleet(&crate::common::schema::yaml_document(&entry))
        {
            let out = Test::new()
                .args(["validate", entry.to_str().expect("utf-8 path")])
                .run();
            assert_eq!(out.code, 0, "{}: {}", entry.display(), out.stderr);
            // Editors complete and check a spec through its first line.
            let text = std::fs::read_to_string(&entry).expect("example spec");
            let schema = text
                .lines()
                .next()
                .and_then(|l| l.strip_prefix("# yaml-language-server: $schema="))
                .unwrap_or_else(|| panic!("{} has no $schema line", entry.display()));
            let schema = entry.parent().expect("directory").join(schema);
            assert_eq!(
                std::fs::canonicalize(&schema).expect("schema path resolves"),
                std::fs::canonicalize(root().join("schema/postclone.schema.json")).unwrap(),
                "{}",
                entry.display()
            );
        }
    }
    for profile in postclone::profile::NAMES {
        let out = Test::new()
            .spec(&format!(
                "engine: sqlserver\nproduction: {{ hosts: [prod.example.com] }}\ninclude: [{profile}]\n"
            ))
            .args(["validate"])
            .run();
        assert_eq!(out.code, 0, "{profile}: {}", out.stderr);
    }
}

fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).expect("read dir").flatten() {
        let path = entry.path();
        if path.is_dir() {
            out.extend(walk(&path));
        } else {
            out.push(path);
        }
    }
    out
}

/// A table that is not in the database is an error at the spec's `table:` line, and nothing
/// is executed.
#[test]
fn missing_table_refused_before_anything_runs() {
    let mut server = TestServer::start(&fixture("core/clone.sql"));
    let before = server.dump_all(&["OSSYS_SERVER"]);
    let out = Test::new()
        .spec(
            "engine: sqlserver
guard: { database: OS_PREPROD }
resources:
  - { id: servers, kind: table_empty, table: ossys_server }
  - id: typo
    kind: table_empty
    table: ossys_servre
  - id: breakout
    kind: table_empty
    table: \"x]; DROP TABLE OSSYS_SERVER; --\"
",
        )
        .server(&server, "OS_PREPROD")
        .args(["apply", "--auto-approve"])
        .run()
        .code(1);
    out.stderr_has("postclone.yaml:7:12: resource typo: table ossys_servre is not in the database");
    out.stderr_has("resource breakout");
    assert_eq!(server.dump_all(&["OSSYS_SERVER"]), before);
}

/// A read-only check that would look at nothing is an error at its line, before any database
/// is opened: `references_absent` with patterns and no table to scan (no profile declares the
/// configuration values), or with tables and no host to look for; `plan` refuses it too, where
/// it used to pass with "No changes". See: issue 21
#[test]
fn a_check_with_nothing_to_scan_is_an_error_issue_21() {
    // See: issue 21
    let no_tables = "engine: sqlserver
guard: { database: OS_PREPROD }
resources:
  - id: hosts-in-config
    kind: references_absent
    patterns: [prod.example.com]
";
    let err = validate(no_tables);
    assert!(err.contains("postclone.yaml:4:5"), "{err}");
    assert!(err.contains("problem[nothing-to-scan]"), "{err}");
    assert!(
        err.contains("resource `hosts-in-config` scans no table"),
        "{err}"
    );
    let out = Test::new()
        .spec(&format!(
            "{no_tables}connection: embedded:{}\n",
            fixture("references/clone.sql").display()
        ))
        .args(["plan", "--detailed-exitcode"])
        .run()
        .code(1);
    assert!(!out.stdout.contains("No changes"), "{}", out.stdout);
    out.stderr_has("scans no table");

    let no_hosts = "engine: sqlserver
resources:
  - id: hosts-in-config
    kind: references_absent
    tables: [{ table: ossys_parameter, columns: [VAL] }]
";
    let err = validate(no_hosts);
    assert!(err.contains("problem[nothing-to-scan]"), "{err}");
    assert!(err.contains("looks for no host"), "{err}");
    assert!(err.contains("field: patterns"), "{err}");
}

/// A `masked` resource that names an entity by module needs the metamodel's location: without
/// `entities:` (here only the personal-data profile is included) the error says what to
/// include, at the resource's line. See: issue 21
#[test]
fn masking_by_entity_without_the_metamodel_says_what_it_needs_issue_21() {
    // See: issue 21
    let err = validate(
        "engine: sqlserver
include: [outsystems-o11-personal-data]
resources:
  - id: crm-customers
    kind: masked
    module: CRM
    entity: Customer
    attributes: { Name: name }
",
    );
    assert!(err.contains("problem[missing-metamodel]"), "{err}");
    assert!(err.contains("postclone.yaml:4:5"), "{err}");
    assert!(err.contains("names entity Customer of module CRM"), "{err}");
    assert!(err.contains("include `outsystems-o11`"), "{err}");
}

/// `replace_text` from an empty text would rewrite every value of every row: refused at its
/// line. See: issue 27
#[test]
fn replace_text_from_nothing_is_refused_issue_27() {
    // See: issue 27
    let err = validate(
        "engine: sqlserver
resources:
  - id: urls
    kind: column_values
    table: ossys_parameter
    set:
      VAL: { replace_text: { from: \"\", to: x } }
",
    );
    assert!(
        err.contains("field: resources[0].set.VAL.replace_text.from"),
        "{err}"
    );
    assert!(err.contains("would rewrite every value"), "{err}");
}

/// A carried resource without a key or values, or carrying its own key column, is refused at
/// its line.
/// See: issue 23
#[test]
fn carried_needs_a_key_and_values_issue_23() {
    let err = validate(
        "engine: sqlserver
resources:
  - id: nothing-keyed
    kind: carried
    table: ossys_dbconnection
    key: {}
    values: [DATABASE_CONFIGURATION]
  - id: key-carried
    kind: carried
    table: ossys_dbconnection
    key: { name: { column: NAME } }
    values: [name]
  - id: no-values
    kind: carried
    table: ossys_dbconnection
    key: { name: { column: NAME } }
    values: []
  - id: inserted-through
    kind: carried
    table: ossys_site_property
    key:
      tenant: { column: TENANT_ID, through: [{ table: ossys_tenant, match: ID, take: NAME }] }
    values: [PROPERTY_VALUE]
    missing: insert
  - id: clone-only
    kind: carried
    table: ossys_dbconnection
    key: { name: { column: NAME } }
    values: [DATABASE_CONFIGURATION]
    only_in_clone: list
carry: { only_in_clone: always }
",
    );
    for shown in [
        "--> postclone.yaml:6:10",
        "field: resources[0].key",
        "`key` names no part",
        "--> postclone.yaml:12:13",
        "field: resources[1].values",
        "`name` is both a key part and a carried value",
        "--> postclone.yaml:17:13",
        "field: resources[2].values",
        "`values` names no column to carry",
        "--> postclone.yaml:24:14",
        "field: resources[3].missing",
        "`missing: insert` writes each key part into its column, but key part `tenant` goes through other tables",
        "field: resources[4].only_in_clone",
        "field: carry.only_in_clone",
    ] {
        assert!(err.contains(shown), "{shown} not in:\n{err}");
    }
}

/// Inputs that used to hang or abort get a clear error at once: nesting hundreds of thousands
/// deep, files that each include the next twice, a file that is not a spec, a named pipe, a
/// device given as a journal; a byte-order mark is read as text starts. See: issue 27
#[test]
fn bounded_inputs_issue_27() {
    let deep = validate(&format!(
        "engine: sqlserver\nresources: {}\n",
        "[".repeat(200_000)
    ));
    assert!(deep.contains("nested more than 64 levels deep"), "{deep}");
    assert!(
        deep.len() < 2_000,
        "the whole line was shown: {} bytes",
        deep.len()
    );

    let mut t = Test::new().spec("engine: sqlserver\ninclude: [./f1.yaml]\n");
    for i in 1..=31 {
        t = t.file(
            &format!("f{i}.yaml"),
            &format!("include: [./f{n}.yaml, ./f{n}.yaml]\n", n = i + 1),
        );
    }
    let out = t
        .file("f32.yaml", "resources: []\n")
        .args(["validate"])
        .run()
        .code(1);
    out.stderr_has("more than 256 files");

    let not_spec = validate("engine: sqlserver\ninclude: [/etc/passwd]\n");
    assert!(not_spec.contains("is not a spec file"), "{not_spec}");
    assert!(!not_spec.contains("root:"), "{not_spec}");

    #[cfg(unix)]
    {
        let t = Test::new().spec("engine: sqlserver\ninclude: [./pipe.yaml]\n");
        let made = std::process::Command::new("mkfifo")
            .arg(t.path().join("pipe.yaml"))
            .status()
            .expect("mkfifo");
        assert!(made.success());
        let out = t.args(["validate"]).run().code(1);
        out.stderr_has("not a regular file");

        let out = Test::new().args(["restore", "/dev/zero"]).run().code(1);
        out.stderr_has("not a regular file");
    }

    let bom = Test::new()
        .spec("\u{feff}engine: sqlserver\nresources: []\n")
        .args(["validate"])
        .run()
        .code(0);
    bom.stdout_has("is valid");
}
