//! `postclone plan`: inspect, diff, order and show; never writes.

use crate::run::{Keys, Run};
use std::io::{IsTerminal, Write};

use clap::Args;

use super::args::{ConnectArgs, FormatArg, IdentityArgs, SelectArgs, SpecArg};
use super::{exit, target, Error};
use crate::engine::Engine;
use crate::plan::{Plan, PlanFile};
use crate::planning;
use crate::render::{self, colour, Detail, Format};
use crate::spec;
use crate::sql::Statement;

/// Show what apply would change, without changing anything
#[derive(Debug, Args)]
#[command(after_help = "Examples:
  postclone plan                                  # postclone.yaml in this directory
  postclone plan specs/preprod.yaml --detailed-exitcode
  postclone plan --format markdown > plan.md      # for a pull-request comment
  postclone plan --target front-end-servers --verbose
  POSTCLONE_CONNECTION='server=tcp:db,1433;database=OS_PREPROD;user=u;password=...' postclone plan")]
pub struct PlanArgs {
    #[command(flatten)]
    spec: SpecArg,
    #[command(flatten)]
    connect: ConnectArgs,
    #[command(flatten)]
    select: SelectArgs,
    /// Output format
    #[arg(long, value_enum, default_value_t = FormatArg::Text)]
    format: FormatArg,
    /// Show the SQL of each change (values as parameters, secrets masked)
    #[arg(long, short)]
    verbose: bool,
    /// Exit 0 when there are no changes, 2 when there are, 1 on error
    #[arg(long)]
    detailed_exitcode: bool,
    /// Save the plan, with a fingerprint of every row it touches, for `postclone apply FILE`
    #[arg(long, value_name = "FILE")]
    out: Option<std::path::PathBuf>,
    #[command(flatten)]
    identity: IdentityArgs,
}

/// Plans and prints.
pub fn run(args: &PlanArgs, out: &mut impl Write) -> Result<i32, Error> {
    let spec = spec::load_target(&args.spec.spec)?;
    let desired = spec.desired.select(&args.select.selection())?;
    let declared = spec.connection.as_deref();
    let connection = target::connection(&desired, declared, args.connect.connection.as_deref())?;
    let keys = Keys::read(&desired, args.identity.identities()?)?;
    target::runtime()?.block_on(async {
        let mut run = Run::new(target::open(&desired, &connection).await?, keys);
        let (plan, _) = planning::make(&mut run, &desired).await?;
        let statements = if args.verbose {
            Some(statements(&run.engine, &plan)?)
        } else {
            None
        };
        let detail = Detail {
            statements: statements.as_deref(),
            ..Detail::default()
        };
        show(&plan, args.format.into(), &detail, out)?;
        if let Some(path) = &args.out {
            let key = super::plan_key::for_saving()?;
            PlanFile::new(&desired, declared, &plan, &key).write(path)?;
            // The JSON document stays one document: the confirmation goes to standard error.
            let note = format!(
                "Saved this plan to {}. `postclone apply {}` applies it only if the rows it touches are unchanged.",
                path.display(),
                path.display()
            );
            if args.format == FormatArg::Json {
                super::report::note(&note);
            } else {
                writeln!(out)?;
                writeln!(out, "{note}")?;
            }
        }
        Ok(if args.detailed_exitcode && !plan.is_empty() {
            exit::CHANGES_PENDING
        } else {
            exit::SUCCESS
        })
    })
}

/// Writes the plan in `format`; text is coloured when standard output is a terminal and
/// `NO_COLOR` is not set.
pub(super) fn show(
    plan: &Plan,
    format: Format,
    detail: &Detail<'_>,
    out: &mut impl Write,
) -> Result<(), Error> {
    let detail = Detail {
        colour: format == Format::Text && colour::wanted(std::io::stdout().is_terminal()),
        ..*detail
    };
    render::render(plan, format, &detail, out)?;
    Ok(())
}

/// The statements of every step, redacted, for `--verbose`.
pub(super) fn statements<E: Engine>(engine: &E, plan: &Plan) -> Result<Vec<Vec<String>>, Error> {
    plan.steps
        .iter()
        .enumerate()
        .map(|(i, step)| {
            let (writes, unlisted) = plan.writes(step, engine.flavor())?;
            let mut shown: Vec<String> = writes.iter().map(Statement::redacted).collect();
            if unlisted > 0 {
                shown.push(format!(
                    "-- and the same for the other {unlisted} rows, as apply reads them inside the transaction"
                ));
            }
            // Row-by-row statements list the rows that differ when the change runs.
            let table = step.table().map(|t| &t.table);
            let written_before = plan.steps[..i]
                .iter()
                .any(|s| s.table().map(|t| &t.table) == table);
            if step.rewrites_hosts() && written_before {
                shown.push(
                    "-- an earlier change writes this table too: apply lists the rows that still differ when this change runs"
                        .to_string(),
                );
            }
            Ok(shown)
        })
        .collect()
}
