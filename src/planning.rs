//! Making a plan against a database: metamodel targets resolved, the database inspected, the
//! changes diffed and ordered. The one place `plan` meets an engine; `plan` itself stays pure.

use crate::engine::{self, Engine};
use crate::plan::{self, Plan};
use crate::state::desired::Desired;

/// Why a plan could not be made.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The database could not be read.
    #[error(transparent)]
    Engine(#[from] engine::Error),
    /// The plan could not be built from what was read.
    #[error("cannot build the plan")]
    Plan(#[from] plan::Error),
    /// The masking key cannot be used.
    #[error(transparent)]
    MaskKey(#[from] crate::spec::MaskKeyError),
    /// The captured values cannot be opened.
    #[error("the captured values cannot be opened")]
    Captured(#[from] crate::state::desired::OpenError<crate::journal::SealError>),
}

/// Reads the masking key (when one is given), opens the captured values (the sealed ones with
/// `identities`), resolves metamodel targets, inspects and builds the plan; returns it with the
/// resolved desired state, which apply inspects again.
///
/// # Guarantees
/// Reads only.
///
/// # Errors
/// A database that cannot be read, or a plan that cannot be built (a dependency cycle).
pub async fn make<E: Engine>(
    engine: &mut E,
    desired: &Desired,
    identities: Option<&crate::journal::Identities>,
) -> Result<(Plan, Desired), Error> {
    let mut desired = desired.clone();
    desired.mask_key = crate::spec::mask_key(&desired)?;
    desired.open_captured(&mut |sealed, bound| {
        identities
            .map(|ids| ids.open_values(sealed, bound))
            .transpose()
    })?;
    let inspection = crate::inspect::inspect(engine, &desired).await?;
    let plan = plan::build(
        &inspection.desired,
        &inspection.observed,
        &engine.flavor().dialect(),
    )?;
    Ok((plan, inspection.desired))
}
