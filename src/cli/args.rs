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
