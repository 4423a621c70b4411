//! What a fleet run reports: per target its stage, times, result and why, the journal and
//! attestation it wrote, and for a drift watch since when it has drifted. Written as JSON
//! (`--report FILE`, schema `schema/fleet-report.schema.json`) and as Markdown for an issue or a
//! pull request comment.

use std::fmt::Write as _;
use std::path::PathBuf;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// The report format's version.
pub const REPORT_VERSION: u32 = 1;

/// A fleet run's report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Report {
    /// The format's version (1).
    pub fleet_report: u32,
    /// `plan` or `apply`.
    pub command: String,
    /// The fleet file, as given.
    pub fleet: String,
    /// When the run started (UTC).
    pub started: String,
    /// When it ended (UTC).
    pub finished: String,
    /// How many targets ended how.
    pub summary: Summary,
    /// Every target of the fleet, in the order the stages run.
    pub targets: Vec<TargetReport>,
}

/// How many targets ended each way.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Summary {
    /// Their database matches their spec.
    pub converged: usize,
    /// Their database differs from their spec (plan only).
    pub changes: usize,
    /// They could not be planned or applied.
    pub failed: usize,
    /// They did not run (an earlier stage did not converge, a failure stopped the stage, not
    /// selected).
    pub skipped: usize,
    /// Their stage waits to be named with `--stage`.
    pub held: usize,
}

/// How one target ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// The database matches the spec (after the apply, or with nothing to change).
    Converged,
    /// The database differs from the spec (plan).
    Changes,
    /// The plan or the apply failed (a guard refusal included), or it did not converge.
    Failed,
    /// It did not run.
    Skipped,
    /// Its stage waits to be named.
    Held,
}

impl Outcome {
    /// The word the report and the text use.
    #[must_use]
    pub fn word(self) -> &'static str {
        match self {
            Outcome::Converged => "converged",
            Outcome::Changes => "changes",
            Outcome::Failed => "failed",
            Outcome::Skipped => "skipped",
            Outcome::Held => "held",
        }
    }
}

/// One target's part of the report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TargetReport {
    /// The target.
    pub name: String,
    /// Its stage.
    pub stage: String,
    /// When its run started (UTC), if it ran.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub started: Option<String>,
    /// When it ended (UTC), if it ran.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ended: Option<String>,
    /// How it ended.
    pub result: Outcome,
    /// Why, when it did not converge: postclone's own error line (secrets masked as in every
    /// output), or why it did not run.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// For a target with changes: the start of the first run that found it drifted (from the
    /// previous report, when it had changes there too).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub drifted_since: Option<String>,
    /// The journal its apply wrote.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub journal: Option<PathBuf>,
    /// The attestation its apply wrote.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub attestation: Option<PathBuf>,
    /// Everything its run printed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub log: Option<PathBuf>,
}

impl Summary {
    /// The counts of `targets`.
    #[must_use]
    pub fn of(targets: &[TargetReport]) -> Summary {
        let mut s = Summary::default();
        for t in targets {
            *match t.result {
                Outcome::Converged => &mut s.converged,
                Outcome::Changes => &mut s.changes,
                Outcome::Failed => &mut s.failed,
                Outcome::Skipped => &mut s.skipped,
                Outcome::Held => &mut s.held,
            } += 1;
        }
        s
    }
}

impl Report {
    /// The JSON Schema of the report.
    #[must_use]
    pub fn schema() -> String {
        let schema = schemars::schema_for!(Report);
        serde_json::to_string_pretty(&schema).unwrap_or_default() + "\n"
    }
}

/// The report in Markdown: a summary line, then a table of the targets.
#[must_use]
pub fn markdown(report: &Report) -> String {
    let s = &report.summary;
    let mut out = format!(
        "**postclone fleet {}** ({}, {} to {}): {} converged, {} with changes, {} failed, {} skipped, {} held\n\n",
        report.command,
        cell(&report.fleet),
        report.started,
        report.finished,
        s.converged,
        s.changes,
        s.failed,
        s.skipped,
        s.held
    );
    out.push_str("| target | stage | result | since | reason |\n|---|---|---|---|---|\n");
    for t in &report.targets {
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} | {} |",
            cell(&t.name),
            cell(&t.stage),
            t.result.word(),
            t.drifted_since.as_deref().unwrap_or(""),
            cell(t.reason.as_deref().unwrap_or(""))
        );
    }
    out
}

/// Text safe in a Markdown table cell: printable, no column bars, no markup.
fn cell(text: &str) -> String {
    crate::render::escape::markdown(text)
}
