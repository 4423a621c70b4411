//! Why an inspection stopped: the engine's IO failed, or what the database holds does not fit
//! what the spec names.

use std::fmt;

use crate::engine;
use crate::state::desired::{Origin, ResourceId};

/// A problem with one resource found while inspecting the catalog.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CatalogProblem {
    /// The resource.
    pub resource: ResourceId,
    /// Where the resource (or its table) is written.
    pub origin: Origin,
    /// What is wrong.
    pub message: String,
}

impl fmt::Display for CatalogProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}: resource {}: {}",
            self.origin, self.resource, self.message
        )
    }
}

/// Why an inspection stopped. Nothing was changed in any case: inspection reads only.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Reading failed.
    #[error(transparent)]
    Engine(#[from] engine::Error),
    /// Tables or columns named by the spec are not in the catalog, or values do not fit them.
    #[error("the database does not match what the spec names; nothing was changed\n{}", list(.problems))]
    Catalog {
        /// Every problem found.
        problems: Vec<CatalogProblem>,
    },
    /// The front-end list the spec names cannot be read: the guard needs it.
    #[error("the platform's front-end list cannot be read ({message}); the guard needs it to tell this database from production's")]
    FrontEnds {
        /// What is wrong.
        message: String,
    },
    /// A query could not be written for what the catalog holds.
    #[error("cannot write the query for {context}")]
    Query {
        /// What the query was for.
        context: String,
        /// Why.
        #[source]
        source: crate::sql::Error,
    },
}

impl Error {
    /// A catalog problem with one resource: what `message` says is wrong with it.
    #[must_use]
    pub fn resource<S: crate::state::desired::Stage>(
        resource: &crate::state::Resource<S>,
        message: impl Into<String>,
    ) -> Error {
        Error::Catalog {
            problems: vec![CatalogProblem {
                resource: resource.id.clone(),
                origin: resource.origin.clone(),
                message: message.into(),
            }],
        }
    }
}

fn list(problems: &[CatalogProblem]) -> String {
    problems
        .iter()
        .map(|p| format!("  {p}"))
        .collect::<Vec<_>>()
        .join("\n")
}
