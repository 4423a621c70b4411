//! `postclone apply`: show the plan, ask, execute in one transaction, verify convergence.

use std::io::{BufRead, IsTerminal, Write};

use clap::Args;

use super::args::{ConnectArgs, LockArgs, SpecArg};
use super::{exit, plan, target, Error};
use std::path::Path;

use crate::apply;
use crate::engine::Engine;
use crate::journal::Journal;
use crate::render::{self, Format};
use crate::spec;

/// Show the plan, then bring the database to the spec in one transaction
#[derive(Debug, Args)]
#[command(after_help = "Examples:
  postclone apply                                 # asks before changing anything
  postclone apply specs/preprod.yaml --auto-approve   # in a pipeline")]
pub struct ApplyArgs {
    #[command(flatten)]
    spec: SpecArg,
    #[command(flatten)]
    connect: ConnectArgs,
    /// Apply without asking (for pipelines)
    #[arg(long)]
    auto_approve: bool,
    /// The journal to write [default: .postclone/journal/DATABASE-TIME.jsonl]
    #[arg(long, value_name = "FILE")]
    journal: Option<std::path::PathBuf>,
    #[command(flatten)]
    lock: LockArgs,
}

/// How approval is obtained.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ApprovalMode {
    Prompt,
    Auto,
}

/// Plans, asks, applies and reports.
pub fn run(args: &ApplyArgs, out: &mut impl Write) -> Result<i32, Error> {
    let approval = if args.auto_approve {
        ApprovalMode::Auto
    } else {
        ApprovalMode::Prompt
    };
    let desired = spec::load(&args.spec.spec)?;
    let connection = target::connection(&desired, args.connect.connection.as_deref())?;
    let host = target::host(&connection);
    target::runtime()?.block_on(async {
        let mut engine = target::open(&desired, &connection).await?;
        // Locked before planning, so that the plan shown is not made stale by another apply.
        let lock = engine.lock(args.lock.timeout()).await?;
        let (plan, desired) = plan::make(&mut engine, &desired).await?;
        render::render(&plan, Format::Text, out)?;
        if plan.is_empty() {
            writeln!(out)?;
            writeln!(out, "Apply complete: nothing to do.")?;
            return Ok(exit::SUCCESS);
        }
        // Refuse before asking: nobody should approve a plan for the wrong database.
        crate::guard::check(&desired.guard, &plan.target, host.as_deref())
            .map_err(apply::Error::from)?;
        let journal = args.journal.clone().unwrap_or_else(|| {
            Journal::default_path(Path::new(crate::journal::DEFAULT_DIR), &plan.target)
        });
        writeln!(out)?;
        writeln!(
            out,
            "Journal: {} (every row deleted or modified is saved there first; it holds \
             production's values and is readable by you only)",
            journal.display()
        )?;
        if approval == ApprovalMode::Prompt && !approved(out, "apply these changes")? {
            writeln!(out, "Apply cancelled: nothing was changed.")?;
            return Ok(exit::ERROR);
        }
        writeln!(out)?;
        writeln!(
            out,
            "Applying {} changes in one transaction...",
            plan.steps.len()
        )?;
        let source =
            std::fs::canonicalize(&args.spec.spec).unwrap_or_else(|_| args.spec.spec.clone());
        let options = apply::Options {
            lock,
            journal: &journal,
            source: Some(&source),
            connected_host: host.as_deref(),
        };
        let report = apply::run(&mut engine, &desired, &plan, options).await?;
        writeln!(
            out,
            "Apply complete: {} changes committed ({} statements, {} rows journaled).",
            report.applied.len(),
            report.statements,
            report.journaled
        )?;
        if report.converged() {
            writeln!(out, "Converged: a new plan shows no changes.")?;
            Ok(exit::SUCCESS)
        } else {
            writeln!(out)?;
            writeln!(out, "Still differing after apply:")?;
            render::render(&report.after, Format::Text, out)?;
            Err(Error::NotConverged {
                remaining: report.after.steps.len(),
            })
        }
    })
}

/// Asks on the terminal; refuses to wait on a non-interactive stdin.
pub(super) fn approved(out: &mut impl Write, what: &str) -> Result<bool, Error> {
    let stdin = std::io::stdin();
    if !stdin.is_terminal() {
        return Err(Error::Approval {
            message:
                "standard input is not a terminal, so nobody can approve the plan; \
                      pass --auto-approve to apply without asking, or review `postclone plan` first"
                    .into(),
        });
    }
    writeln!(out)?;
    writeln!(out, "Do you want to {what}? Only 'yes' will be accepted.")?;
    write!(out, "  Enter a value: ")?;
    out.flush()?;
    let mut answer = String::new();
    stdin.lock().read_line(&mut answer)?;
    Ok(answer.trim() == "yes")
}
