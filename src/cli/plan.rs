//! `postclone plan`: inspect, diff, order and show; never writes.

use std::io::Write;

use clap::Args;

use super::args::{ConnectArgs, SpecArg};
use super::{exit, target, Error};
use crate::engine::Engine;
use crate::plan::{self, Plan, PlanFile};
use crate::render::{self, Format};
use crate::spec;
use crate::state::desired::Desired;

/// Show what apply would change, without changing anything
#[derive(Debug, Args)]
#[command(after_help = "Examples:
  postclone plan                                  # postclone.yaml in this directory
  postclone plan specs/preprod.yaml --detailed-exitcode
  POSTCLONE_CONNECTION='server=tcp:db,1433;database=OS_PREPROD;user=u;password=...' postclone plan")]
pub struct PlanArgs {
    #[command(flatten)]
    spec: SpecArg,
    #[command(flatten)]
    connect: ConnectArgs,
    /// Exit 0 when there are no changes, 2 when there are, 1 on error
    #[arg(long)]
    detailed_exitcode: bool,
    /// Save the plan, with a fingerprint of every row it touches, for `postclone apply FILE`
    #[arg(long, value_name = "FILE")]
    out: Option<std::path::PathBuf>,
}

/// Plans and prints.
pub fn run(args: &PlanArgs, out: &mut impl Write) -> Result<i32, Error> {
    let desired = spec::load(&args.spec.spec)?;
    let connection = target::connection(&desired, args.connect.connection.as_deref())?;
    target::runtime()?.block_on(async {
        let mut engine = target::open(&desired, &connection).await?;
        let (plan, _) = make(&mut engine, &desired).await?;
        let mut text = Vec::new();
        render::render(&plan, Format::Text, &mut text)?;
        out.write_all(&text)?;
        if let Some(path) = &args.out {
            let spec = std::fs::canonicalize(&args.spec.spec).unwrap_or_else(|_| args.spec.spec.clone());
            let file = PlanFile::new(spec, &desired, &plan, String::from_utf8_lossy(&text).into_owned());
            let json = serde_json::to_string_pretty(&file).map_err(std::io::Error::other)?;
            std::fs::write(path, json + "\n")?;
            writeln!(out)?;
            writeln!(
                out,
                "Saved this plan to {}. `postclone apply {}` applies it only if the rows it touches are unchanged.",
                path.display(),
                path.display()
            )?;
        }
        Ok(if args.detailed_exitcode && !plan.is_empty() {
            exit::CHANGES_PENDING
        } else {
            exit::SUCCESS
        })
    })
}

/// Resolves metamodel targets, inspects and builds the plan; returns it with the resolved
/// desired state that apply re-inspects.
pub(super) async fn make<E: Engine>(
    engine: &mut E,
    desired: &Desired,
) -> Result<(Plan, Desired), Error> {
    let desired = engine.resolve(desired).await?;
    let observed = engine.inspect(&desired).await?;
    let plan = plan::build(&desired, &observed, &engine.dialect())?;
    Ok((plan, desired))
}
