//! `postclone restore JOURNAL`: put back what an apply deleted or modified, planned, shown and
//! approved like apply.

use std::io::Write;
use std::path::{Path, PathBuf};

use clap::Args;

use super::args::{ConnectArgs, LockArgs};
use super::{apply, exit, target, Error};
use crate::engine::{Connection, Engine};
use crate::journal;
use crate::render::text;
use crate::restore;
use crate::spec;

/// Put back the rows an apply deleted or modified, from its journal
#[derive(Debug, Args)]
#[command(after_help = "Examples:
  postclone restore .postclone/journal/OS_PREPROD-1764030000-000000000.jsonl
  postclone restore JOURNAL --connection 'server=tcp:db,1433;database=OS_PREPROD;...' --auto-approve")]
pub struct RestoreArgs {
    /// The journal an apply wrote
    #[arg(value_name = "JOURNAL")]
    journal: PathBuf,
    #[command(flatten)]
    connect: ConnectArgs,
    /// The spec whose connection to use [default: the one the journal names]
    #[arg(long, value_name = "SPEC")]
    spec: Option<PathBuf>,
    /// Restore without asking (for pipelines)
    #[arg(long)]
    auto_approve: bool,
    #[command(flatten)]
    lock: LockArgs,
}

/// Plans, asks, restores.
pub fn run(args: &RestoreArgs, out: &mut impl Write) -> Result<i32, Error> {
    let plan = journal::restore(&args.journal)?;
    let connection = match (
        args.connect.connection.as_deref(),
        args.spec.as_ref().or(plan.source.as_ref()),
    ) {
        (Some(text), _) => Connection::parse(text, Path::new(".")),
        (None, Some(spec)) => target::connection(&spec::load(spec)?, None)?,
        (None, None) => return Err(target::ConnectionError::JournalWithoutSpec.into()),
    };
    target::runtime()?.block_on(async {
        let mut engine = target::open_engine(&connection).await?;
        let lock = engine.lock(args.lock.timeout()).await?;
        let server = engine.identify().await?;
        restore::check(&plan, &server)?;
        text::restore(&plan, out)?;
        if plan.steps.is_empty() {
            return Ok(exit::SUCCESS);
        }
        if !args.auto_approve && !apply::approved(out, "restore these rows")? {
            writeln!(out, "Restore cancelled: nothing was changed.")?;
            return Ok(exit::ERROR);
        }
        let report = restore::run(&mut engine, &plan, &lock).await?;
        writeln!(out)?;
        writeln!(
            out,
            "Restore complete: {} journaled rows are back in {} tables, each read back and identical to the journal.",
            report.rows, report.tables
        )?;
        Ok(exit::SUCCESS)
    })
}
