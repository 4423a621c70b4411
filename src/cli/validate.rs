//! `postclone validate SPEC`: every problem at once, no database needed.

use std::io::Write;

use clap::Args;

use super::args::SpecArg;
use super::{exit, Error};
use crate::spec;

/// Check a spec without touching any database
#[derive(Debug, Args)]
#[command(
    after_help = "Examples:\n  postclone validate postclone.yaml\n  pre-commit: postclone validate specs/preprod.yaml"
)]
pub struct ValidateArgs {
    #[command(flatten)]
    spec: SpecArg,
}

/// Loads and validates the spec.
pub fn run(args: &ValidateArgs, out: &mut impl Write) -> Result<i32, Error> {
    let desired = spec::load(&args.spec.spec)?;
    writeln!(
        out,
        "{} is valid: {} resources, {} manual steps.",
        args.spec.spec.display(),
        desired.resources.len(),
        desired.manual.len()
    )?;
    Ok(exit::SUCCESS)
}
