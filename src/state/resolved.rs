//! The spec as inspection resolved it against one database: what plans are built from and
//! apply checks again. A type of its own, so that a signature says which stage it needs: a
//! function taking a [`Desired`] takes the declaration (which may name metamodel targets,
//! entities and carried resources); one taking a [`Resolved`] takes what inspection made of it.

use super::desired::{Desired, Resource, ResourceId};
use crate::state::desired::Inspected;

/// The desired state resolved: `references_absent` split per table, `masked` resources named
/// by entity given their table, `carried` resources expanded into the values and inserts they
/// amount to (the only place the internal kinds `rows_present` and carried values exist), and
/// metamodel targets expanded into one resource per table. Never written to a file: the
/// declaration is (a saved plan holds the spec as declared).
#[derive(Debug, Clone)]
pub struct Resolved(Desired<Inspected>);

impl Resolved {
    /// What inspection resolved `desired` into. Inspection is the one maker outside tests: a
    /// declared spec wrapped here would skip the resolving its readers rely on.
    #[must_use]
    pub(crate) fn new(desired: Desired<Inspected>) -> Resolved {
        Resolved(desired)
    }

    /// The resolved state, for the layers below planning that read its resources.
    #[must_use]
    pub fn desired(&self) -> &Desired<Inspected> {
        &self.0
    }

    /// Its resources, in order.
    #[must_use]
    pub fn resources(&self) -> &[Resource<Inspected>] {
        &self.0.resources
    }

    /// The same resolved state with only the resources in `ids` (still resolved: the resources
    /// kept are those inspection made).
    #[must_use]
    pub fn only(&self, ids: &[ResourceId]) -> Resolved {
        Resolved(self.0.only(ids))
    }
}
