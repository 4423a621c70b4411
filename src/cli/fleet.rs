//! `postclone fleet plan|apply FLEET`: many environments, stage by stage. One line per target
//! as it starts and ends (standard error: the targets of a stage run at once), a summary table
//! at the end, and the report as JSON and Markdown when asked.

use std::io::Write;
use std::path::PathBuf;

use clap::{Args, Subcommand, ValueEnum};

use super::{exit, report, Error};
use crate::fleet::{self, Action, Event, Outcome, Places, Report, Selection};

/// Plan or apply many environments: the targets of a fleet file, stage by stage
#[derive(Debug, Args)]
pub struct FleetArgs {
    #[command(subcommand)]
    command: FleetCommand,
}

#[derive(Debug, Subcommand)]
enum FleetCommand {
    /// Plan every target (read only, held stages included); with --detailed-exitcode, exit 2
    /// when any target drifted from its spec
    Plan(PlanArgs),
    /// Apply stage by stage: a stage starts only when every stage of its `after:` converged
    Apply(ApplyArgs),
}

/// What both take.
#[derive(Debug, Args)]
struct Common {
    /// The fleet file
    #[arg(value_name = "FLEET")]
    fleet: PathBuf,
    /// Only this stage (a held stage runs only when named here)
    #[arg(long, value_name = "NAME")]
    stage: Option<String>,
    /// Only this target (repeatable)
    #[arg(long = "target", value_name = "NAME")]
    targets: Vec<String>,
    /// Write the report as JSON to FILE (schema: `postclone schema --fleet-report`)
    #[arg(long, value_name = "FILE")]
    report: Option<PathBuf>,
    /// Write the report as Markdown to FILE (for an issue or a pull request comment)
    #[arg(long, value_name = "FILE")]
    markdown: Option<PathBuf>,
}

#[derive(Debug, Args)]
struct PlanArgs {
    #[command(flatten)]
    common: Common,
    /// Exit 0 when no target drifted, 2 when any did, 1 when any could not be planned
    #[arg(long)]
    detailed_exitcode: bool,
    /// An earlier plan's JSON report: a target that drifted there too keeps its `drifted_since`
    #[arg(long, value_name = "REPORT")]
    previous: Option<PathBuf>,
}

#[derive(Debug, Args)]
struct ApplyArgs {
    #[command(flatten)]
    common: Common,
    /// Only the targets that ended this way in the report --from names
    #[arg(long, value_enum, requires = "from")]
    only: Option<Only>,
    /// The JSON report of an earlier run, for --only
    #[arg(long, value_name = "REPORT", requires = "only")]
    from: Option<PathBuf>,
}

/// Which targets of an earlier report run again.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Only {
    /// Those that failed.
    Failed,
}

/// Why a fleet command stopped before it ran anything.
#[derive(Debug, thiserror::Error)]
pub enum FleetCliError {
    /// The fleet file cannot be used.
    #[error(transparent)]
    Fleet(#[from] fleet::FleetError),
    /// A report given (`--previous`, `--from`) cannot be read.
    #[error("cannot read the fleet report {}: {message}", path.display())]
    Report {
        /// The file.
        path: PathBuf,
        /// Why.
        message: String,
    },
    /// `--stage` or `--target` names nothing in the fleet.
    #[error("{what} {name:?} is not in the fleet; it has: {names}")]
    Unknown {
        /// `stage` or `target`.
        what: &'static str,
        /// The name given.
        name: String,
        /// Those there are.
        names: String,
    },
}

/// Runs `fleet plan` or `fleet apply`.
pub fn run(args: &FleetArgs, out: &mut impl Write) -> Result<i32, Error> {
    let (common, action) = match &args.command {
        FleetCommand::Plan(p) => (&p.common, Action::Plan),
        FleetCommand::Apply(a) => (&a.common, Action::Apply),
    };
    let loaded = fleet::load(&common.fleet).map_err(FleetCliError::from)?;
    check_names(&loaded, common)?;
    let (previous, failed_in) = match &args.command {
        FleetCommand::Plan(p) => (p.previous.as_deref().map(read_report).transpose()?, None),
        FleetCommand::Apply(a) => (None, a.from.as_deref().map(read_report).transpose()?),
    };
    let selection = Selection {
        stage: common.stage.clone(),
        targets: common.targets.clone(),
        failed_in,
    };
    let places = Places {
        program: std::env::current_exe()?,
        logs: PathBuf::from(".postclone/fleet"),
    };
    // Names come from the fleet file: shown printable, as everything read is.
    let shown = crate::render::escape::printable;
    let tell = |event: Event<'_>| match event {
        Event::Stage {
            name,
            running,
            parallel,
        } => report::note(&format!(
            "stage {}: {running} target(s), {parallel} at a time",
            shown(name)
        )),
        Event::Started { name } => report::note(&format!("  {}: started", shown(name))),
        Event::Running {
            stage,
            names,
            seconds,
        } => report::note(&format!(
            "stage {}: still running after {seconds} s: {}",
            shown(stage),
            shown(&names.join(", "))
        )),
        Event::Ended(t) => report::note(&format!(
            "  {}: {}{}",
            shown(&t.name),
            t.result.word(),
            t.reason
                .as_deref()
                .map(|r| format!(" ({})", shown(r)))
                .unwrap_or_default()
        )),
    };
    let ran = fleet::run(
        &loaded,
        action,
        (&selection, previous.as_ref()),
        &places,
        &tell,
    );
    summary(&ran.report, out)?;
    write_reports(&ran.report, common, out)?;
    let failed = ran.report.summary.failed > 0 || !ran.complete;
    Ok(match &args.command {
        _ if failed => exit::ERROR,
        FleetCommand::Plan(p) if p.detailed_exitcode && ran.report.summary.changes > 0 => {
            exit::CHANGES_PENDING
        }
        _ => exit::SUCCESS,
    })
}

/// `--stage` and `--target` name what the fleet has.
fn check_names(loaded: &fleet::Loaded, common: &Common) -> Result<(), FleetCliError> {
    let stages: Vec<&str> = loaded
        .fleet
        .stages
        .iter()
        .map(|s| s.name.as_str())
        .collect();
    let targets: Vec<&str> = loaded
        .fleet
        .targets
        .iter()
        .map(|t| t.name.as_str())
        .collect();
    let unknown = |what, name: &str, names: &[&str]| FleetCliError::Unknown {
        what,
        name: name.to_string(),
        names: names.join(", "),
    };
    if let Some(s) = common.stage.as_deref().filter(|s| !stages.contains(s)) {
        return Err(unknown("stage", s, &stages));
    }
    if let Some(t) = common
        .targets
        .iter()
        .find(|t| !targets.contains(&t.as_str()))
    {
        return Err(unknown("target", t, &targets));
    }
    Ok(())
}

fn read_report(path: &std::path::Path) -> Result<Report, FleetCliError> {
    let problem = |message: String| FleetCliError::Report {
        path: path.to_path_buf(),
        message,
    };
    let text = crate::files::read_text(path, crate::files::MAX_TEXT)
        .map_err(|e| problem(e.to_string()))?;
    let report: Report = serde_json::from_str(&text).map_err(|e| problem(e.to_string()))?;
    if report.fleet_report != fleet::REPORT_VERSION {
        return Err(problem(format!(
            "format version {} (this postclone reads {})",
            report.fleet_report,
            fleet::REPORT_VERSION
        )));
    }
    Ok(report)
}

/// The summary table: one line per target, then the counts.
fn summary(report: &Report, out: &mut impl Write) -> Result<(), Error> {
    let width = report
        .targets
        .iter()
        .map(|t| t.name.chars().count())
        .max()
        .unwrap_or(6)
        .max(6);
    writeln!(out)?;
    writeln!(
        out,
        "{:width$}  {:10}  {:10}  reason",
        "target", "stage", "result"
    )?;
    for t in &report.targets {
        let since = match (&t.result, &t.drifted_since) {
            (Outcome::Changes, Some(since)) => format!("drifted since {since}"),
            _ => String::new(),
        };
        writeln!(
            out,
            "{:width$}  {:10}  {:10}  {}",
            crate::render::escape::printable(&t.name),
            crate::render::escape::printable(&t.stage),
            t.result.word(),
            t.reason.as_deref().unwrap_or(&since)
        )?;
    }
    let s = &report.summary;
    writeln!(out)?;
    writeln!(
        out,
        "Fleet {}: {} converged, {} with changes, {} failed, {} skipped, {} held.",
        report.command, s.converged, s.changes, s.failed, s.skipped, s.held
    )?;
    Ok(())
}

fn write_reports(report: &Report, common: &Common, out: &mut impl Write) -> Result<(), Error> {
    let write = |path: &PathBuf, text: String| {
        std::fs::write(path, text).map_err(|source| Error::WriteFile {
            path: path.clone(),
            source,
        })
    };
    if let Some(path) = &common.report {
        write(
            path,
            serde_json::to_string_pretty(report).unwrap_or_default() + "\n",
        )?;
        writeln!(out, "Report: {}", path.display())?;
    }
    if let Some(path) = &common.markdown {
        write(path, fleet::markdown(report))?;
        writeln!(out, "Markdown report: {}", path.display())?;
    }
    Ok(())
}
