//! `postclone schema`: the spec's JSON Schema, for editors; `--plan`, the JSON plan's.

use std::io::Write;

use clap::Args;

use super::{exit, Error};

/// Print the JSON Schema of the spec (or, with --plan, of `plan --format json`)
#[derive(Debug, Args)]
pub struct SchemaArgs {
    /// The schema of the JSON plan instead (committed as schema/plan.schema.json)
    #[arg(long)]
    plan: bool,
}

/// Writes the schema.
pub fn run(args: &SchemaArgs, out: &mut impl Write) -> Result<i32, Error> {
    let schema = if args.plan {
        crate::render::json::schema()
    } else {
        crate::spec::schema::generate()
    };
    out.write_all(schema.as_bytes())?;
    Ok(exit::SUCCESS)
}
