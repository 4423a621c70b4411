//! The two stages of a spec's resources: as declared, and as inspection resolved them.
//!
//! A `carried` resource resolves into kinds no spec may write: its columns' values become the
//! environment's own values of each row ([`CarriedValue`]), and `missing: insert` adds a
//! resource inserting the captured rows a table lacks ([`RowsPresent`]). The resource types
//! take their stage as a type parameter: in the declared stage those variants hold [`Never`],
//! which has no value, so a declaration cannot hold them, and only the declared stage can be
//! written to a file (the resolved one's internal kinds do not serialize, so the compiler
//! refuses to write it).
//!
//! A declaration writes:
//!
//! ```
//! use postclone::state::desired::Desired;
//! fn write(spec: &Desired) -> serde_json::Result<String> {
//!     serde_json::to_string(spec)
//! }
//! ```
//!
//! A resolved state does not compile when written:
//!
//! ```compile_fail
//! use postclone::state::desired::{Desired, Inspected};
//! fn write(resolved: &Desired<Inspected>) -> serde_json::Result<String> {
//!     serde_json::to_string(resolved)
//! }
//! ```

use std::fmt;

use serde::{Deserialize, Serialize};

use super::{
    CarriedValue, ColumnValue, ColumnValues, Describe, Resource, ResourceKind, RowsPresent,
    TableTarget,
};

/// A stage of the spec's resources: what its internal kinds hold.
pub trait Stage: Clone + fmt::Debug + PartialEq + 'static + sealed::Sealed {
    /// What a resource inserting captured rows holds ([`RowsPresent`] once resolved).
    type Present: Clone + fmt::Debug + PartialEq + Present;
    /// What a carried column's value holds ([`CarriedValue`] once resolved).
    type Carried: Clone + fmt::Debug + PartialEq;
}

mod sealed {
    pub trait Sealed {}
    impl Sealed for super::Declared {}
    impl Sealed for super::Inspected {}
}

/// The spec as declared: loaded, merged, validated; what files hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Declared {}

/// The spec as inspection resolved it against one database.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Inspected {}

impl Stage for Declared {
    type Present = Never;
    type Carried = Never;
}

impl Stage for Inspected {
    type Present = RowsPresent;
    type Carried = CarriedValue;
}

/// What an internal kind holds in a declaration: nothing can be one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Never {}

impl Serialize for Never {
    fn serialize<S: serde::Serializer>(&self, _: S) -> Result<S::Ok, S::Error> {
        match *self {}
    }
}

/// Nothing reads as one: a file naming an internal kind is refused.
impl<'de> Deserialize<'de> for Never {
    fn deserialize<D: serde::Deserializer<'de>>(_: D) -> Result<Never, D::Error> {
        Err(serde::de::Error::custom(
            "an internal kind, made by inspection, that no spec or plan file may hold",
        ))
    }
}

/// What every resource kind is asked of the rows a resource inserts.
pub trait Present {
    /// Where the rows go.
    fn table(&self) -> &TableTarget;
    /// The same, to resolve a metamodel target.
    fn table_mut(&mut self) -> &mut TableTarget;
    /// How each row is named.
    fn label(&self) -> Option<&Describe>;
    /// Whether a missing table is acceptable.
    fn if_exists(&self) -> bool;
}

impl Present for Never {
    fn table(&self) -> &TableTarget {
        match *self {}
    }
    fn table_mut(&mut self) -> &mut TableTarget {
        match *self {}
    }
    fn label(&self) -> Option<&Describe> {
        match *self {}
    }
    fn if_exists(&self) -> bool {
        match *self {}
    }
}

impl Present for RowsPresent {
    fn table(&self) -> &TableTarget {
        &self.table
    }
    fn table_mut(&mut self) -> &mut TableTarget {
        &mut self.table
    }
    fn label(&self) -> Option<&Describe> {
        self.label.as_ref()
    }
    fn if_exists(&self) -> bool {
        self.if_exists
    }
}

/// A declared value is one of any stage: its internal kinds, which it cannot hold, are the
/// only difference.
impl super::Desired<Declared> {
    /// The declaration, as a state of stage `T` (nothing in it changes).
    #[must_use]
    pub fn into_stage<T: Stage>(self) -> super::Desired<T> {
        super::Desired {
            resources: self
                .resources
                .into_iter()
                .map(Resource::into_stage)
                .collect(),
            engine: self.engine,
            base_dir: self.base_dir,
            guard: self.guard,
            manual: self.manual,
            front_ends: self.front_ends,
            production: self.production,
            configuration_values: self.configuration_values,
            secret_rows: self.secret_rows,
            entities: self.entities,
            masking: self.masking,
            journal: self.journal,
            event_queues: self.event_queues,
            datapump: self.datapump,
            captured: self.captured,
            carry: self.carry,
            trust: self.trust,
            attestation: self.attestation,
        }
    }
}

impl Resource<Declared> {
    /// The declared resource, as a resource of stage `T`.
    #[must_use]
    pub fn into_stage<T: Stage>(self) -> Resource<T> {
        Resource {
            kind: self.kind.into_stage(),
            id: self.id,
            after: self.after,
            description: self.description,
            secret: self.secret,
            personal: self.personal,
            origin: self.origin,
            table_origin: self.table_origin,
            labels: self.labels,
        }
    }
}

impl ResourceKind<Declared> {
    /// The declared kind, as a kind of stage `T`.
    #[must_use]
    pub fn into_stage<T: Stage>(self) -> ResourceKind<T> {
        match self {
            ResourceKind::RowsAbsent(k) => ResourceKind::RowsAbsent(k),
            ResourceKind::ColumnValues(k) => ResourceKind::ColumnValues(k.into_stage()),
            ResourceKind::TableEmpty(k) => ResourceKind::TableEmpty(k),
            ResourceKind::Custom(k) => ResourceKind::Custom(k),
            ResourceKind::PrincipalsAbsent(k) => ResourceKind::PrincipalsAbsent(k),
            ResourceKind::GrantsAbsent(k) => ResourceKind::GrantsAbsent(k),
            ResourceKind::Report(k) => ResourceKind::Report(k),
            ResourceKind::ReferencesAbsent(k) => ResourceKind::ReferencesAbsent(k),
            ResourceKind::Masked(k) => ResourceKind::Masked(k),
            ResourceKind::Carried(k) => ResourceKind::Carried(k),
            ResourceKind::RowsPresent(never) => match never {},
        }
    }
}

impl ColumnValues<Declared> {
    /// The declared values, as values of stage `T`.
    #[must_use]
    pub fn into_stage<T: Stage>(self) -> ColumnValues<T> {
        ColumnValues {
            set: self
                .set
                .into_iter()
                .map(|(column, value)| (column, value.into_stage()))
                .collect(),
            table: self.table,
            filter: self.filter,
            if_exists: self.if_exists,
            label: self.label,
        }
    }
}

impl ColumnValue<Declared> {
    /// The declared value, as a value of stage `T`.
    #[must_use]
    pub fn into_stage<T: Stage>(self) -> ColumnValue<T> {
        match self {
            ColumnValue::Literal(v) => ColumnValue::Literal(v),
            ColumnValue::Lookup { lookup } => ColumnValue::Lookup { lookup },
            ColumnValue::Replace { replace } => ColumnValue::Replace { replace },
            ColumnValue::ReplaceText { replace_text } => ColumnValue::ReplaceText { replace_text },
            ColumnValue::Mask { mask } => ColumnValue::Mask { mask },
            ColumnValue::Carried(never) => match never {},
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A file naming an internal kind is refused, with a message that says why.
    #[test]
    fn no_file_declares_an_internal_kind() {
        let e = serde_json::from_str::<ResourceKind>(r#"{"kind": "rows_present"}"#)
            .expect_err("an internal kind is never read");
        assert!(e.to_string().contains("internal kind"), "{e}");
        let declared: ResourceKind =
            serde_json::from_str(r#"{"kind": "table_empty", "table": "OSSYS_SITE_PROPERTY"}"#)
                .expect("a declared kind reads");
        assert_eq!(declared.name(), "table_empty");
    }

    /// A declaration keeps every field on its way to a stage.
    #[test]
    fn a_declaration_changes_nothing_on_its_way_to_a_stage() {
        let values: ColumnValues = serde_yaml::from_str(
            "{table: OSSYS_PARAMETER, where: [{column: NAME, in: [a]}], set: {VAL: 1}, label: {column: NAME}}",
        )
        .expect("values");
        let desired = crate::test_support::desired(vec![crate::test_support::resource(
            "r",
            ResourceKind::ColumnValues(values),
            &[],
        )]);
        assert_eq!(desired.clone().into_stage::<Declared>(), desired);
        let inspected: super::super::Desired<Inspected> = desired.clone().into_stage();
        assert_eq!(inspected.resources[0].kind.name(), "column_values");
        assert_eq!(
            inspected.resources[0].kind.filter(),
            desired.resources[0].kind.filter()
        );
    }
}
