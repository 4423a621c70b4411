//! `postclone schema`: the spec's JSON Schema, for editors; `--plan`, the JSON plan's;
//! `--fleet`, a fleet file's, for editors; `--fleet-report`, a fleet run's report's.

use std::io::Write;

use clap::Args;

use super::{exit, Error};

/// Print the JSON Schema of the spec (with --plan, of `plan --format json`; with --fleet, of a fleet file; with --fleet-report, of `fleet --report`)
#[derive(Debug, Args)]
#[group(multiple = false)]
pub struct SchemaArgs {
    /// The schema of the JSON plan instead (committed as schema/plan.schema.json)
    #[arg(long)]
    plan: bool,
    /// The schema of a fleet file instead (committed as schema/fleet.schema.json)
    #[arg(long)]
    fleet: bool,
    /// The schema of `fleet --report` instead (committed as schema/fleet-report.schema.json)
    #[arg(long)]
    fleet_report: bool,
}

/// Writes the schema.
pub fn run(args: &SchemaArgs, out: &mut impl Write) -> Result<i32, Error> {
    let schema = if args.plan {
        crate::render::json::schema()
    } else if args.fleet {
        crate::fleet::Fleet::schema()
    } else if args.fleet_report {
        crate::fleet::Report::schema()
    } else {
        crate::spec::schema::generate()
    };
    out.write_all(schema.as_bytes())?;
    Ok(exit::SUCCESS)
}
