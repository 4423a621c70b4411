//! What one command knows while it runs: the open engine, what inspection has read of its
//! catalog, the keys it was given, the captured rows it opened and the originals masking
//! replaces. Built once per command by the command line, passed by `&mut` to the stage that
//! needs it, and never serialized: the spec (`Desired`) stays what was declared.

use std::sync::Arc;

use crate::engine::Engine;
use crate::inspect::Error;
use crate::inspect::{CarriedRead, CatalogCache, Given, Inspection};
use crate::journal::Identities;
use crate::plan::PlanKey;
use crate::signing::SigningKey;
use crate::state::copies::Originals;
use crate::state::desired::{Desired, Opened, ResourceId, TableName};
use crate::state::masking::MaskKey;
use crate::state::observed::Target;
use crate::state::Resolved;

/// One command's run against one database.
pub struct Run<E> {
    /// The open connection.
    pub engine: E,
    /// The catalog read so far, by inspection (tables' shape does not change under postclone).
    pub catalog: CatalogCache,
    /// The keys the command was given.
    pub keys: Keys,
    /// The captured rows of each carried resource, opened with `keys.identities`.
    pub opened: Opened,
    /// The digests of the originals masking replaces, from the first inspection that scanned
    /// for copies: after apply the masked tables no longer hold them.
    pub originals: Option<Arc<Originals>>,
}

/// The secrets a command reads once, before it touches the database; never written anywhere.
#[derive(Default)]
pub struct Keys {
    /// The masking key (`POSTCLONE_MASK_KEY` or the spec's `masking.key_file`).
    pub mask: Option<MaskKey>,
    /// The identities that open sealed values (captured rows, a journal's sealed rows).
    pub identities: Option<Identities>,
    /// The plan key: it seals saved plans and (a key derived from it) chains journals.
    pub plan: Option<PlanKey>,
    /// The key that signs attestations, captures and a journal's end marker.
    pub signing: Option<SigningKey>,
}

// Which keys are held, never the keys.
impl std::fmt::Debug for Keys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Keys")
            .field("mask", &self.mask.as_ref().map(MaskKey::fingerprint))
            .field("identities", &self.identities.is_some())
            .field("plan", &self.plan)
            .field(
                "signing",
                &self.signing.as_ref().map(|k| k.public().keyid()),
            )
            .finish()
    }
}

impl Keys {
    /// The keys a command on `desired` has: its masking key, when one is given, and
    /// `identities`.
    ///
    /// # Errors
    /// A masking key file that cannot be read, or a key too short.
    pub fn read(
        desired: &Desired,
        identities: Option<Identities>,
    ) -> Result<Keys, crate::spec::MaskKeyError> {
        Ok(Keys {
            mask: crate::spec::mask_key(desired)?,
            identities,
            ..Keys::default()
        })
    }
}

impl<E: Engine> Run<E> {
    /// A run on `engine` with `keys`, having read and opened nothing yet.
    pub fn new(engine: E, keys: Keys) -> Run<E> {
        Run {
            engine,
            catalog: CatalogCache::default(),
            keys,
            opened: Opened::new(),
            originals: None,
        }
    }

    /// Inspects the database for `desired` (see [`crate::inspect::inspect`]) with what this
    /// run knows; keeps the originals the first copies scan reads.
    ///
    /// # Errors
    /// Those of [`crate::inspect::inspect`].
    pub async fn inspect(&mut self, desired: &Desired) -> Result<Inspection, Error> {
        let given = given(&self.keys, &self.opened, self.originals.as_ref());
        let found =
            crate::inspect::inspect(&mut self.engine, &mut self.catalog, desired, given).await?;
        if self.originals.is_none() {
            self.originals.clone_from(&found.originals);
        }
        Ok(found)
    }

    /// Inspects the database again for a state already resolved (see
    /// [`crate::inspect::inspect_again`]), with what this run knows.
    ///
    /// # Errors
    /// Those of [`crate::inspect::inspect`].
    pub async fn inspect_again(&mut self, resolved: &Resolved) -> Result<Inspection, Error> {
        let given = given(&self.keys, &self.opened, self.originals.as_ref());
        crate::inspect::inspect_again(&mut self.engine, &mut self.catalog, resolved, given).await
    }

    /// The catalog entries of the tables `names` name (see [`crate::inspect::tables`]).
    ///
    /// # Errors
    /// A failed read.
    pub async fn tables(
        &mut self,
        names: &[TableName],
    ) -> Result<Vec<crate::state::TableInfo>, Error> {
        crate::inspect::tables(&mut self.engine, &mut self.catalog, names).await
    }

    /// The rows every carried resource of `desired` captures (see
    /// [`crate::inspect::read_carried`]).
    ///
    /// # Errors
    /// Those of [`crate::inspect::read_carried`].
    pub async fn read_carried(
        &mut self,
        desired: &Desired,
    ) -> Result<(Target, Vec<(ResourceId, Vec<CarriedRead>)>), Error> {
        crate::inspect::read_carried(&mut self.engine, &mut self.catalog, desired).await
    }
}

/// What inspection is given of a run: its masking key, the rows it opened and the originals it
/// kept (borrowed apart from the engine and the catalog, which inspection writes).
pub(crate) fn given<'a>(
    keys: &'a Keys,
    opened: &'a Opened,
    originals: Option<&'a Arc<Originals>>,
) -> Given<'a> {
    Given {
        mask_key: keys.mask.as_ref(),
        opened: Some(opened),
        originals,
    }
}
