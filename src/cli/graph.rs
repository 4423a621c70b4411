//! `postclone graph`: the order of the changes and why, as DOT or Mermaid.

use crate::run::{Keys, Run};
use std::io::Write;

use clap::Args;

use super::args::{ConnectArgs, SelectArgs, SpecArg};
use super::{exit, target, Error};
use crate::graph;
use crate::render::graph::{self as view, GraphFormat, GraphNode};
use crate::spec;
use crate::state::desired::Desired;

/// Print the dependency graph of the plan, or of the declared resources with --offline
#[derive(Debug, Args)]
#[command(after_help = "Examples:
  postclone graph | dot -Tsvg > plan.svg          # the plan's changes and their order
  postclone graph --offline --format mermaid      # declared resources, no database needed

Edges are labelled with their reason: `declared` (after: in the spec), `foreign key NAME` or
`ownership: schema S of user U` (both read from the catalog, so only with a database).")]
pub struct GraphArgs {
    #[command(flatten)]
    spec: SpecArg,
    #[command(flatten)]
    connect: ConnectArgs,
    #[command(flatten)]
    select: SelectArgs,
    /// Output format
    #[arg(long, value_enum, default_value_t = GraphFormatArg::Dot)]
    format: GraphFormatArg,
    /// Graph the declared resources and their `after:` edges without connecting
    #[arg(long)]
    offline: bool,
}

/// Graph output formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum GraphFormatArg {
    /// Graphviz DOT
    Dot,
    /// Mermaid flowchart
    Mermaid,
}

/// Prints the graph.
pub fn run(args: &GraphArgs, out: &mut impl Write) -> Result<i32, Error> {
    let spec = spec::load_target(&args.spec.spec)?;
    let desired = spec.desired.select(&args.select.selection())?;
    let format = match args.format {
        GraphFormatArg::Dot => GraphFormat::Dot,
        GraphFormatArg::Mermaid => GraphFormat::Mermaid,
    };
    let text = if args.offline {
        declared(&desired, format)
    } else {
        let connection = target::connection(
            &desired,
            spec.connection.as_deref(),
            args.connect.connection.as_deref(),
        )?;
        target::runtime()?.block_on(async {
            let mut run = Run::new(
                target::open(&desired, &connection).await?,
                Keys::read(&desired, None)?,
            );
            let (plan, _) = crate::planning::make(&mut run, &desired).await?;
            let nodes: Vec<GraphNode> = plan
                .steps
                .iter()
                .map(|step| GraphNode {
                    id: step.id.clone(),
                    // What the change does, as the plan says it: `- delete 3 rows from dbo.X`.
                    detail: crate::render::lines::action(step)
                        .plain()
                        .trim()
                        .to_string(),
                })
                .collect();
            Ok::<_, Error>(view::render(&nodes, &plan.dependencies, format))
        })?
    };
    out.write_all(text.as_bytes())?;
    Ok(exit::SUCCESS)
}

/// The declared resources, each with its kind and table, and their `after:` edges.
fn declared(desired: &Desired, format: GraphFormat) -> String {
    let nodes: Vec<GraphNode> = desired
        .resources
        .iter()
        .map(|r| {
            let kind = r.kind.name();
            GraphNode {
                id: r.id.clone(),
                detail: match r.kind.target() {
                    Some(t) => format!("{kind} {t}"),
                    None => kind.to_string(),
                },
            }
        })
        .collect();
    view::render(&nodes, &graph::declared_dependencies(desired), format)
}
