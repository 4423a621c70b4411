//! The JSON Schema of the spec, generated with schemars.
//!
//! Editors use it (the `# yaml-language-server: $schema=...` line) to complete and check specs;
//! `schema/postclone.schema.json` is this output, committed, and a test fails when they differ.

use schemars::gen::{SchemaGenerator, SchemaSettings};
use schemars::schema::{
    InstanceType, Metadata, ObjectValidation, Schema, SchemaObject, SubschemaValidation,
};
use schemars::JsonSchema;

use super::{ResourceHeader, SpecFile};
use crate::state::desired::kind::with_resource_kinds;
use crate::state::desired::{
    Carried, ColumnValues, Custom, GrantsAbsent, Masked, PrincipalsAbsent, ReferencesAbsent,
    Report, RowsAbsent, TableEmpty,
};

/// A resource as written: the common header keys, `kind`, and the kind's own keys.
///
/// The loader reads the header and the kind separately (for precise error locations), so the
/// schema is assembled here from the same types rather than derived from one struct.
pub struct ResourceSchema;

impl JsonSchema for ResourceSchema {
    fn schema_name() -> String {
        "Resource".into()
    }

    fn json_schema(gen: &mut SchemaGenerator) -> Schema {
        macro_rules! variants {
            ($($variant:ident, $name:literal, $description:literal;)*) => {
                vec![$(variant::<$variant>(gen, $name, $description)),*]
            };
        }
        let variants = with_resource_kinds!(variants);
        Schema::Object(SchemaObject {
            metadata: Some(Box::new(Metadata {
                description: Some("A declared resource; `kind` selects its keys.".into()),
                ..Metadata::default()
            })),
            subschemas: Some(Box::new(SubschemaValidation {
                one_of: Some(variants),
                ..SubschemaValidation::default()
            })),
            ..SchemaObject::default()
        })
    }
}

/// Header keys + `kind: NAME` + the kind's keys, closed to anything else.
fn variant<T: JsonSchema>(gen: &mut SchemaGenerator, name: &str, description: &str) -> Schema {
    let mut object = ObjectValidation::default();
    for part in [ResourceHeader::json_schema(gen), T::json_schema(gen)] {
        if let Schema::Object(SchemaObject {
            object: Some(o), ..
        }) = part
        {
            object.properties.extend(o.properties);
            object.required.extend(o.required);
        }
    }
    let kind = SchemaObject {
        instance_type: Some(InstanceType::String.into()),
        const_value: Some(serde_json::Value::String(name.into())),
        ..SchemaObject::default()
    };
    object
        .properties
        .insert("kind".into(), Schema::Object(kind));
    object.required.insert("kind".into());
    object.additional_properties = Some(Box::new(Schema::Bool(false)));
    Schema::Object(SchemaObject {
        metadata: Some(Box::new(Metadata {
            title: Some(name.into()),
            description: Some(description.into()),
            ..Metadata::default()
        })),
        instance_type: Some(InstanceType::Object.into()),
        object: Some(Box::new(object)),
        ..SchemaObject::default()
    })
}

/// The spec's JSON Schema, pretty-printed, with a final newline.
#[must_use]
pub fn generate() -> String {
    let settings = SchemaSettings::draft07().with(|s| s.option_add_null_type = false);
    let schema = settings.into_generator().into_root_schema_for::<SpecFile>();
    // invariant: a schemars RootSchema always serializes.
    let mut text = serde_json::to_string_pretty(&schema).expect("schema serializes");
    text.push('\n');
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The schema documents exactly the top-level keys the loader reads.
    #[test]
    fn schema_keys_match_loader() {
        let schema: serde_json::Value = serde_json::from_str(&generate()).unwrap();
        let mut keys: Vec<&str> = schema["properties"]
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect();
        keys.sort_unstable();
        let mut loader = crate::spec::load::TOP_LEVEL_KEYS.to_vec();
        loader.sort_unstable();
        assert_eq!(keys, loader);
    }

    /// Every resource kind appears once, closed to unknown keys, with the header keys.
    #[test]
    fn schema_has_every_kind() {
        let schema: serde_json::Value = serde_json::from_str(&generate()).unwrap();
        let variants = schema["definitions"]["Resource"]["oneOf"]
            .as_array()
            .unwrap();
        let names: Vec<&str> = variants
            .iter()
            .map(|v| v["properties"]["kind"]["const"].as_str().unwrap())
            .collect();
        assert_eq!(names, crate::state::ResourceKind::NAMES.to_vec());
        for v in variants {
            assert_eq!(v["additionalProperties"], serde_json::Value::Bool(false));
            assert!(v["properties"]["id"].is_object());
            assert!(v["properties"]["after"].is_object());
        }
    }
}
