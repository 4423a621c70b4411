//! Argument groups shared by several subcommands, flattened where needed.

use std::path::PathBuf;

use clap::Args;

/// Where the spec is.
#[derive(Debug, Args)]
pub struct SpecArg {
    /// The spec file
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
