//! Capture: the environment's own configuration read before it is overwritten by a clone,
//! as a spec fragment (`captured:`) for git: each carried resource's rows by stable key, the
//! secret ones sealed to the spec's `journal.recipients`. Included after the clone, it is what
//! the `carried` resources put back.
//!
//! Nothing secret is ever written in plain text: a capture with secret rows and no recipient is
//! refused before anything is written.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::engine::{self, Engine};
use crate::journal::{Recipients, SealError};
use crate::state::desired::{
    Captured, CapturedFrom, CapturedRow, Desired, ResourceId, ResourceKind, SealBinding,
};

/// Why a capture stopped. Nothing was written.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The spec declares no carried resource.
    #[error("the spec declares nothing to capture: include `outsystems-o11-carry` (or declare `kind: carried` resources)")]
    NothingToCapture,
    /// Secret rows would be captured and no recipient can read them.
    #[error("{rows} captured rows are secret ({resources}) and the spec declares no `journal.recipients` to seal them to; nothing was written")]
    NoRecipient {
        /// How many.
        rows: usize,
        /// The resources they belong to.
        resources: String,
    },
    /// The recipients cannot be used, or sealing failed.
    #[error("cannot seal the secret values")]
    Seal(#[source] SealError),
    /// The guard refused the database: a capture of production would carry production's
    /// configuration (and seal its secrets into git).
    #[error("capture refused: {0}")]
    Refused(#[from] crate::guard::GuardError),
    /// Reading failed.
    #[error(transparent)]
    Engine(#[from] engine::Error),
    /// The database does not hold what the spec names, or reading it failed.
    #[error(transparent)]
    Inspect(#[from] crate::inspect::Error),
}

/// What `postclone capture` writes: a spec fragment.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CaptureFile {
    /// The captured rows.
    pub captured: Captured,
}

/// How much a capture holds, for its report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Captures {
    /// Rows per resource, in spec order.
    pub resources: Vec<(ResourceId, usize)>,
    /// Rows sealed.
    pub sealed: usize,
}

/// Reads every carried resource's rows and seals the secret ones.
///
/// # Guarantees
/// Reads only, and only once the guard accepts the database (`connected_host` is the host
/// the connection named). No secret value leaves this function unsealed.
///
/// # Errors
/// A spec without carried resources, a database the guard refuses, secret rows without a
/// recipient (checked before any row is sealed), or a failed read.
pub async fn run<E: Engine>(
    run: &mut crate::run::Run<E>,
    desired: &Desired,
    connected_host: Option<&str>,
    at: &str,
) -> Result<(CaptureFile, Captures), Error> {
    if !desired
        .resources
        .iter()
        .any(|r| matches!(r.kind, ResourceKind::Carried(_)))
    {
        return Err(Error::NothingToCapture);
    }
    let recipients = Recipients::parse(&desired.journal.recipients).map_err(Error::Seal)?;
    let identified = run.engine.identify().await?;
    crate::guard::check(
        &desired.guard,
        &desired.production,
        &identified,
        connected_host,
    )?;
    let (target, read) = run.read_carried(desired).await?;
    let secret: Vec<(&ResourceId, usize)> = read
        .iter()
        .map(|(id, rows)| (id, rows.iter().filter(|r| r.secret).count()))
        .filter(|(_, n)| *n > 0)
        .collect();
    if recipients.is_empty() && !secret.is_empty() {
        return Err(Error::NoRecipient {
            rows: secret.iter().map(|(_, n)| n).sum(),
            resources: secret
                .iter()
                .map(|(id, _)| id.to_string())
                .collect::<Vec<_>>()
                .join(", "),
        });
    }
    let mut rows = BTreeMap::new();
    let mut captures = Captures {
        resources: Vec::new(),
        sealed: 0,
    };
    let from = CapturedFrom {
        server: target.server.clone(),
        database: target.database.clone(),
        at: at.to_string(),
    };
    for (id, read) in read {
        let carried = desired.resources.iter().find_map(|r| match &r.kind {
            ResourceKind::Carried(c) if r.id == id => Some(c),
            _ => None,
        });
        let mut out = Vec::with_capacity(read.len());
        for row in read {
            let (values, sealed) = if row.secret {
                captures.sealed += 1;
                // What it is sealed for goes inside: opened anywhere else, it is refused.
                let bound = carried
                    .map(|c| SealBinding::of(&id, c, &row.key, &from))
                    .ok_or_else(|| {
                        Error::Seal(SealError::Encrypt(format!(
                            "{id} is not a carried resource"
                        )))
                    })?;
                (
                    BTreeMap::new(),
                    Some(
                        recipients
                            .seal_values(&bound, &row.values)
                            .map_err(Error::Seal)?,
                    ),
                )
            } else {
                (row.values, None)
            };
            // Values the resource does not declare are the columns only an insert writes.
            let declared = |k: &String| carried.is_some_and(|c| c.values.contains(k));
            let (values, insert): (BTreeMap<_, _>, BTreeMap<_, _>) =
                values.into_iter().partition(|(k, _)| declared(k));
            out.push(CapturedRow {
                key: row.key,
                name: row.name,
                values,
                insert,
                sealed,
            });
        }
        captures.resources.push((id.clone(), out.len()));
        rows.insert(id, out);
    }
    Ok((
        CaptureFile {
            captured: Captured {
                from,
                rows,
                signature: None,
            },
        },
        captures,
    ))
}
