//! The dependency graph (`postclone graph`) as Graphviz DOT or Mermaid: one node per change (or
//! declared resource), one edge per ordering constraint, labelled with its reason.

use std::fmt::Write as _;

use crate::graph::Dependency;
use crate::state::desired::ResourceId;

/// A node: the resource and what to say of it under its id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GraphNode {
    /// The resource.
    pub id: ResourceId,
    /// A second line (what the change does, or the resource's kind and table).
    pub detail: String,
}

/// Graph output formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum GraphFormat {
    /// Graphviz (`dot -Tsvg`).
    #[default]
    Dot,
    /// Mermaid, which code hosts draw in Markdown.
    Mermaid,
}

/// The graph in `format`. Edges between nodes not listed are left out.
#[must_use]
pub fn render(nodes: &[GraphNode], edges: &[Dependency], format: GraphFormat) -> String {
    let index = |id: &ResourceId| nodes.iter().position(|n| &n.id == id);
    let edges: Vec<(usize, usize, String)> = edges
        .iter()
        .filter_map(|d| Some((index(&d.first)?, index(&d.then)?, d.reason.to_string())))
        .collect();
    match format {
        GraphFormat::Dot => dot(nodes, &edges),
        GraphFormat::Mermaid => mermaid(nodes, &edges),
    }
}

fn dot(nodes: &[GraphNode], edges: &[(usize, usize, String)]) -> String {
    let quoted = |s: &str| format!("\"{}\"", super::escape::dot(s));
    let mut out = String::from("digraph postclone {\n  rankdir=LR;\n  node [shape=box];\n");
    for n in nodes {
        // The line break between id and detail is DOT's own `\n`; the texts' are escaped.
        let label = if n.detail.is_empty() {
            quoted(n.id.as_str())
        } else {
            format!(
                "\"{}\\n{}\"",
                super::escape::dot(n.id.as_str()),
                super::escape::dot(&n.detail)
            )
        };
        let _ = writeln!(out, "  {} [label={}];", quoted(n.id.as_str()), label);
    }
    for (a, b, reason) in edges {
        let _ = writeln!(
            out,
            "  {} -> {} [label={}];",
            quoted(nodes[*a].id.as_str()),
            quoted(nodes[*b].id.as_str()),
            quoted(reason)
        );
    }
    out.push_str("}\n");
    out
}

fn mermaid(nodes: &[GraphNode], edges: &[(usize, usize, String)]) -> String {
    // Mermaid ids are plain words: nodes are numbered, and labels escape what Mermaid parses.
    let text = super::escape::mermaid;
    let mut out = String::from("flowchart LR\n");
    for (i, n) in nodes.iter().enumerate() {
        let label = if n.detail.is_empty() {
            text(n.id.as_str())
        } else {
            format!("{}<br/>{}", text(n.id.as_str()), text(&n.detail))
        };
        let _ = writeln!(out, "  n{i}[\"{label}\"]");
    }
    for (a, b, reason) in edges {
        let _ = writeln!(out, "  n{a} -->|\"{}\"| n{b}", text(reason));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::graph::EdgeReason;

    fn id(s: &str) -> ResourceId {
        ResourceId::try_from(s.to_string()).unwrap()
    }

    /// Both formats: every node, labelled edges, quotes escaped, unknown nodes' edges left out.
    #[test]
    fn dot_and_mermaid() {
        let nodes = vec![
            GraphNode {
                id: id("mappings"),
                detail: "- delete 2 rows from dbo.\"MAP\"".into(),
            },
            GraphNode {
                id: id("connections"),
                detail: String::new(),
            },
        ];
        let edges = vec![
            Dependency {
                first: id("mappings"),
                then: id("connections"),
                reason: EdgeReason::ForeignKey {
                    constraint: "FK_MAP_CONN".into(),
                },
            },
            Dependency {
                first: id("gone"),
                then: id("connections"),
                reason: EdgeReason::Declared,
            },
        ];
        let dot = render(&nodes, &edges, GraphFormat::Dot);
        assert_eq!(
            dot,
            "digraph postclone {\n  rankdir=LR;\n  node [shape=box];\n  \
             \"mappings\" [label=\"mappings\\n- delete 2 rows from dbo.\\\"MAP\\\"\"];\n  \
             \"connections\" [label=\"connections\"];\n  \
             \"mappings\" -> \"connections\" [label=\"foreign key FK_MAP_CONN\"];\n}\n"
        );
        let mermaid = render(&nodes, &edges, GraphFormat::Mermaid);
        assert_eq!(
            mermaid,
            "flowchart LR\n  n0[\"mappings<br/>- delete 2 rows from dbo.#quot;MAP#quot;\"]\n  \
             n1[\"connections\"]\n  n0 -->|\"foreign key FK_MAP_CONN\"| n1\n"
        );
    }
}
