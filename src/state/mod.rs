//! Engine-neutral model of the desired and the observed state.
//!
//! Nothing in here knows which database it describes: no tokio, no tiberius, no oracle.

pub mod desired;
pub mod fingerprint;
pub mod host;
pub mod masking;
pub mod observed;
pub mod value;

pub use desired::{Desired, Resource, ResourceId, ResourceKind};
pub use observed::{Observed, ObservedResource, TableInfo, TableRef, Target};
pub use value::Value;
