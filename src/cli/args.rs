//! Argument groups shared by several subcommands, flattened where needed.

use std::path::PathBuf;

use clap::Args;

/// Where the spec is.
#[derive(Debug, Args)]
pub struct SpecArg {
    /// The spec file (apply also takes a plan file written by `plan --out`)
    #[arg(value_name = "SPEC", default_value = "postclone.yaml")]
    pub spec: PathBuf,
}

/// How to reach the database.
#[derive(Debug, Args)]
pub struct ConnectArgs {
    /// Connection, overriding the spec's: an ADO.NET string for SQL Server, or embedded:PATH.sql
    #[arg(
        long,
        env = "POSTCLONE_CONNECTION",
        hide_env_values = true,
        value_name = "CONNECTION"
    )]
    pub connection: Option<String>,
}

/// Who can open sealed values: captured ones (secret site properties, connections) and the
/// personal data a journal keeps.
#[derive(Debug, Args)]
pub struct IdentityArgs {
    /// An age identity file (age-keygen) of one of the spec's `journal.recipients`: opens sealed
    /// values (captured secrets, a journal's personal data)
    #[arg(long, value_name = "FILE")]
    pub identity: Option<PathBuf>,
}

impl IdentityArgs {
    /// The identities of `--identity`, or of the file `POSTCLONE_IDENTITY` names.
    ///
    /// # Errors
    /// A file that cannot be read or holds no identity.
    pub fn identities(&self) -> Result<Option<crate::journal::Identities>, crate::journal::Error> {
        crate::journal::Identities::given(self.identity.as_deref()).map_err(|source| {
            crate::journal::Error::Seal {
                path: self
                    .identity
                    .clone()
                    .unwrap_or_else(|| PathBuf::from(crate::journal::IDENTITY_VARIABLE)),
                source,
            }
        })
    }
}

/// How long to wait for another apply to finish.
#[derive(Debug, Args)]
pub struct LockArgs {
    /// Seconds to wait for another apply on the same database to finish
    #[arg(long, value_name = "SECONDS", default_value_t = 30)]
    pub lock_timeout: u64,
}

impl LockArgs {
    /// The timeout as a duration.
    #[must_use]
    pub fn timeout(&self) -> std::time::Duration {
        std::time::Duration::from_secs(self.lock_timeout)
    }
}

/// Which resources to work on.
#[derive(Debug, Args)]
pub struct SelectArgs {
    /// Only this resource, with those it is declared `after:` (repeatable)
    #[arg(long = "target", value_name = "ID")]
    pub targets: Vec<String>,
    /// Leave this resource or manual step out (repeatable; wins over --target)
    #[arg(long = "exclude", value_name = "ID")]
    pub excludes: Vec<String>,
}

impl SelectArgs {
    /// The selection, for `Desired::select`.
    #[must_use]
    pub fn selection(&self) -> crate::state::desired::Selection {
        crate::state::desired::Selection {
            targets: self.targets.clone(),
            excludes: self.excludes.clone(),
        }
    }

    /// Whether anything was selected.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.targets.is_empty() && self.excludes.is_empty()
    }
}

/// Plan output formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum FormatArg {
    /// For a terminal (colour only on a terminal, never with NO_COLOR)
    Text,
    /// For tools: versioned, schema in schema/plan.schema.json
    Json,
    /// For a pull-request comment
    Markdown,
}

impl From<FormatArg> for crate::render::Format {
    fn from(f: FormatArg) -> Self {
        match f {
            FormatArg::Text => crate::render::Format::Text,
            FormatArg::Json => crate::render::Format::Json,
            FormatArg::Markdown => crate::render::Format::Markdown,
        }
    }
}
