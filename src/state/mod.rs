//! Engine-neutral model of the desired and the observed state.
//!
//! Nothing in here knows which database it describes: no tokio, no tiberius, no oracle.

pub mod clock;
pub mod copies;
pub mod desired;
pub mod fingerprint;
pub mod host;
pub mod masking;
pub mod observed;
pub mod resolved;
pub mod value;

pub use desired::{Desired, Resource, ResourceId, ResourceKind};
pub use observed::{Observed, ObservedResource, TableInfo, TableRef, Target};
pub use resolved::Resolved;
pub use value::Value;

/// The JSON Schema of a value written as one string, for the types read from text through
/// `TryFrom<String>` (schemars would otherwise describe their parsed fields).
pub(crate) fn text_schema(description: &str, pattern: &str) -> schemars::schema::Schema {
    use schemars::schema::{InstanceType, Metadata, SchemaObject, StringValidation};
    SchemaObject {
        instance_type: Some(InstanceType::String.into()),
        metadata: Some(Box::new(Metadata {
            description: Some(description.to_string()),
            ..Metadata::default()
        })),
        string: Some(Box::new(StringValidation {
            pattern: Some(pattern.to_string()),
            ..StringValidation::default()
        })),
        ..SchemaObject::default()
    }
    .into()
}
