//! `postclone restore JOURNAL`: put back what an apply deleted or modified, planned, shown and
//! approved like apply.

use std::io::Write;
use std::path::{Path, PathBuf};

use clap::Args;

use super::args::{ConnectArgs, LockArgs};
use super::{apply, exit, target, Error};
use crate::engine::{Connection, Engine};
use crate::guard::GuardError;
use crate::journal;
use crate::render::text;
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
        (None, None) => return Err(Error::Connection {
            message:
                "the journal names no spec: pass --spec, --connection or set POSTCLONE_CONNECTION"
                    .into(),
        }),
    };
    target::runtime()?.block_on(async {
        let mut engine = target::open_engine(&connection).await?;
        let lock = engine.lock(args.lock.timeout()).await?;
        let server = engine.identify().await?;
        if !server.database.eq_ignore_ascii_case(&plan.database) {
            return Err(crate::apply::Error::from(GuardError::WrongDatabase {
                expected: plan.database.clone(),
                actual: server.database,
            })
            .into());
        }
        text::restore(&plan, out)?;
        if plan.steps.is_empty() {
            return Ok(exit::SUCCESS);
        }
        if !args.auto_approve && !apply::approved(out, "restore these rows")? {
            writeln!(out, "Restore cancelled: nothing was changed.")?;
            return Ok(exit::ERROR);
        }
        let mut statements = Vec::new();
        for step in &plan.steps {
            statements.push(engine.restore_statements(step)?);
        }
        let tables: Vec<_> = plan.steps.iter().map(journal::RestoreStep::table_info).collect();
        // Restore statements are idempotent: waiting for another transaction changes nothing.
        engine.begin(&lock, &tables).await?;
        for (step, step_statements) in plan.steps.iter().zip(&statements) {
            for statement in step_statements {
                if let Err(e) = engine.run(statement).await {
                    let rolled_back = engine.rollback().await.is_ok();
                    return Err(Error::Restore {
                        change: step.change.to_string(),
                        rolled_back,
                        message: crate::apply::Masked::new(&e, statement).to_string(),
                    });
                }
            }
        }
        engine.commit().await?;
        let rows: usize = plan.steps.iter().map(|s| s.rows.len()).sum();
        writeln!(out)?;
        writeln!(
            out,
            "Restore complete: {rows} journaled rows are back in {} tables (rows already present were left as they are).",
            plan.steps.len()
        )?;
        Ok(exit::SUCCESS)
    })
}
