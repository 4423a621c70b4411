//! Making a plan against a database: metamodel targets resolved, the database inspected, the
//! changes diffed and ordered. The one place `plan` meets an engine; `plan` itself stays pure.

use crate::engine::Engine;
use crate::plan::{self, Plan};
use crate::run::Run;
use crate::state::desired::Desired;
use crate::state::Resolved;

/// Why a plan could not be made.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The database could not be read, or does not hold what the spec names.
    #[error(transparent)]
    Inspect(#[from] crate::inspect::Error),
    /// The plan could not be built from what was read.
    #[error("cannot build the plan")]
    Plan(#[from] plan::Error),
    /// The captured values cannot be opened.
    #[error("the captured values cannot be opened")]
    Captured(#[from] crate::state::desired::OpenError<crate::journal::SealError>),
}

/// Opens the captured values (the sealed ones with the run's identities) into the run,
/// resolves metamodel targets, inspects and builds the plan; returns it with the resolved
/// state it was built from, which apply inspects again.
///
/// # Guarantees
/// Reads only.
///
/// # Errors
/// A database that cannot be read, or a plan that cannot be built (a dependency cycle).
pub async fn make<E: Engine>(
    run: &mut Run<E>,
    desired: &Desired,
) -> Result<(Plan, Resolved), Error> {
    let identities = run.keys.identities.as_ref();
    run.opened = desired.open_captured(&mut |sealed, bound| {
        identities
            .map(|ids| ids.open_values(sealed, bound))
            .transpose()
    })?;
    let inspection = run.inspect(desired).await?;
    let plan = plan::build(
        &inspection.resolved,
        &inspection.observed,
        &run.engine.flavor().dialect(),
        run.keys.mask.as_ref(),
    )?;
    Ok((plan, inspection.resolved))
}
