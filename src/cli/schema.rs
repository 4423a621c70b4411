//! `postclone schema`: the spec's JSON Schema, for editors.

use std::io::Write;

use clap::Args;

use super::{exit, Error};

/// Print the JSON Schema of the spec
#[derive(Debug, Args)]
pub struct SchemaArgs {}

/// Writes the schema.
pub fn run(_: &SchemaArgs, out: &mut impl Write) -> Result<i32, Error> {
    out.write_all(crate::spec::schema::generate().as_bytes())?;
    Ok(exit::SUCCESS)
}
