//! The published JSON Schemas against a validator no one here wrote (the `jsonschema` crate):
//! every spec and profile the project ships is valid, a spec postclone refuses for a wrong key
//! or value is invalid too, and every JSON plan the suite produces is checked as it is produced
//! (`common::Test::run`).

use std::path::{Path, PathBuf};

use crate::common::schema::{errors, fleet_validator, is_fleet, spec_validator, yaml_document};
use crate::common::{root, Test};

/// Every `.yaml` file under `dir`, recursively, but for `examples/ci` (CI workflows, not specs).
fn yaml_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("readable directory") {
        let path = entry.expect("directory entry").path();
        if path.ends_with("examples/ci") {
            continue;
        }
        if path.is_dir() {
            yaml_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "yaml" || e == "yml") {
            out.push(path);
        }
    }
}

/// The built-in profiles and every example spec (including a captured fragment) are valid, so
/// an editor using the schema shows none of them in red; a fleet file, under the fleet file's.
#[test]
fn every_shipped_spec_is_valid_issue_25() {
    let mut files = Vec::new();
    yaml_files(&root().join("specs"), &mut files);
    yaml_files(&root().join("examples"), &mut files);
    files.sort();
    assert!(
        files.len() >= 10,
        "expected the profiles and examples, found {files:?}"
    );
    let mut invalid = Vec::new();
    for file in &files {
        let doc = yaml_document(file);
        let validator = if is_fleet(&doc) {
            fleet_validator()
        } else {
            spec_validator()
        };
        for e in errors(validator, &doc) {
            invalid.push(format!("{}: {e}", file.display()));
        }
    }
    assert!(invalid.is_empty(), "{}", invalid.join("\n"));
}

/// Specs with one wrong key or value: postclone refuses each, and so does the schema.
#[test]
fn a_spec_postclone_refuses_is_invalid_issue_25() {
    let resource = |body: &str| format!("engine: sqlserver\nresources:\n  - id: r\n{body}");
    let cases = [
        (
            "a resource key misspelt",
            resource("    kind: column_values\n    table: ossys_parameter\n    sett: { VAL: x }\n"),
        ),
        (
            "a top-level key misspelt",
            "engine: sqlserver\nresourses: []\n".to_string(),
        ),
        (
            "an unknown kind",
            resource("    kind: rows_present\n    table: ossys_parameter\n"),
        ),
        (
            "a key of another kind",
            resource("    kind: table_empty\n    table: ossys_parameter\n    set: { VAL: x }\n"),
        ),
        (
            "a masking method that does not exist",
            resource("    kind: masked\n    table: ossys_user\n    attributes: { NAME: nickname }\n"),
        ),
        (
            "a table name that starts with a dot",
            resource("    kind: table_empty\n    table: .ossys_server\n"),
        ),
        (
            "a production host with a scheme",
            "engine: sqlserver\nproduction:\n  hosts: [\"https://prod.example.com/\"]\n".to_string(),
        ),
        (
            "an id in capitals",
            "engine: sqlserver\nresources:\n  - id: Servers\n    kind: table_empty\n    table: ossys_server\n"
                .to_string(),
        ),
    ];
    for (what, spec) in cases {
        let out = Test::new()
            .spec(&spec)
            .args(["validate", "postclone.yaml"])
            .run();
        assert_eq!(
            out.code, 1,
            "postclone accepts {what}:\n{spec}\n{}",
            out.stdout
        );
        let doc: serde_json::Value = serde_yaml::from_str(&spec).expect("YAML");
        assert!(
            !errors(spec_validator(), &doc).is_empty(),
            "the schema accepts {what}:\n{spec}"
        );
    }
}

/// A spec written with every key the schema describes for one kind validates, and postclone
/// reads it: the two agree in the accepting direction too.
#[test]
fn the_schema_and_postclone_accept_the_same_spec_issue_25() {
    let spec = "engine: sqlserver\nproduction:\n  hosts: [prod.example.com, 10.20.30.40, \"2001:db8::1\"]\nresources:\n  - id: hosts\n    description: production's host in site properties\n    kind: column_values\n    table: dbo.ossys_site_property\n    if_exists: true\n    where:\n      - column: PROPERTY_VALUE\n        not_in: [null, \"\"]\n    set:\n      PROPERTY_VALUE:\n        replace: { from: prod.example.com, to: preprod.example.com }\n  - id: users\n    kind: masked\n    table: ossys_user\n    attributes: { NAME: name, EMAIL: email, MOBILEPHONE: null, USERNAME: { constant: x } }\n";
    let doc: serde_json::Value = serde_yaml::from_str(spec).expect("YAML");
    let invalid = errors(spec_validator(), &doc);
    assert!(invalid.is_empty(), "{}", invalid.join("\n"));
    let out = Test::new()
        .spec(spec)
        .args(["validate", "postclone.yaml"])
        .run();
    assert_eq!(out.code, 0, "{}\n{}", out.stdout, out.stderr);
}
