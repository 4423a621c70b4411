//! The published JSON Schemas, checked with a validator no one here wrote (the `jsonschema`
//! crate, draft 7 as the schemas declare): every JSON plan a test produces goes through it.

use std::path::Path;
use std::sync::OnceLock;

use super::root;

fn validator(
    path: &str,
    cell: &'static OnceLock<jsonschema::Validator>,
) -> &'static jsonschema::Validator {
    cell.get_or_init(|| {
        let text = std::fs::read_to_string(root().join(path)).expect("committed schema");
        let schema: serde_json::Value = serde_json::from_str(&text).expect("schema is JSON");
        assert_eq!(
            schema["$schema"], "http://json-schema.org/draft-07/schema#",
            "{path} declares its draft"
        );
        jsonschema::draft7::new(&schema)
            .unwrap_or_else(|e| panic!("{path} is not a valid schema: {e}"))
    })
}

/// The validator of `schema/postclone.schema.json`.
pub fn spec_validator() -> &'static jsonschema::Validator {
    static CELL: OnceLock<jsonschema::Validator> = OnceLock::new();
    validator("schema/postclone.schema.json", &CELL)
}

/// The validator of `schema/plan.schema.json`.
pub fn plan_validator() -> &'static jsonschema::Validator {
    static CELL: OnceLock<jsonschema::Validator> = OnceLock::new();
    validator("schema/plan.schema.json", &CELL)
}

/// The validator of `schema/fleet.schema.json`.
pub fn fleet_validator() -> &'static jsonschema::Validator {
    static CELL: OnceLock<jsonschema::Validator> = OnceLock::new();
    validator("schema/fleet.schema.json", &CELL)
}

/// The validator of `schema/fleet-report.schema.json`.
pub fn fleet_report_validator() -> &'static jsonschema::Validator {
    static CELL: OnceLock<jsonschema::Validator> = OnceLock::new();
    validator("schema/fleet-report.schema.json", &CELL)
}

/// The schema errors of `doc`, one line each with the place they are at.
pub fn errors(validator: &jsonschema::Validator, doc: &serde_json::Value) -> Vec<String> {
    validator
        .iter_errors(doc)
        .map(|e| format!("{}: {e}", e.instance_path()))
        .collect()
}

/// Whether `doc` is a fleet file (it lists `targets` and `stages`), not a spec: judged by what
/// it holds, whatever it is named.
pub fn is_fleet(doc: &serde_json::Value) -> bool {
    doc.get("targets").is_some() && doc.get("stages").is_some()
}

/// A YAML file read as the JSON document a YAML-aware editor validates.
pub fn yaml_document(path: &Path) -> serde_json::Value {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_yaml::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// Panics unless `text` is a JSON plan valid under the published plan schema.
#[track_caller]
pub fn assert_valid_plan(text: &str) {
    let doc: serde_json::Value = serde_json::from_str(text)
        .unwrap_or_else(|e| panic!("not one JSON document ({e}):\n{text}"));
    let errors = errors(plan_validator(), &doc);
    assert!(
        errors.is_empty(),
        "the JSON plan is invalid under schema/plan.schema.json:\n{}",
        errors.join("\n")
    );
}
