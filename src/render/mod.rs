//! Rendering plans for people and tools. Every format writes to an `impl Write` and computes
//! nothing: what to show is decided in `plan`, whether a value may be shown in `mask`.

pub mod colour;
pub mod escape;
pub mod graph;
pub mod json;
pub mod lines;
mod markdown;
mod mask;
pub mod text;

use std::io::{self, Write};

pub use escape::printable;

use crate::diff::Note;
use crate::plan::Plan;

/// Output formats of `plan`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Format {
    /// For a terminal.
    #[default]
    Text,
    /// For tools: the versioned document of [`json::PlanDocument`].
    Json,
    /// For a pull-request comment.
    Markdown,
}

/// What a plan shows beyond its changes, and how.
#[derive(Debug, Clone, Copy, Default)]
pub struct Detail<'a> {
    /// Per step, the statements apply runs, already redacted (`--verbose`).
    pub statements: Option<&'a [Vec<String>]>,
    /// Colour the text plan (a terminal without `NO_COLOR`).
    pub colour: bool,
}

/// Writes `plan` in `format`.
///
/// # Errors
/// Only those of `out`.
pub fn render(
    plan: &Plan,
    format: Format,
    detail: &Detail<'_>,
    out: &mut impl Write,
) -> io::Result<()> {
    match format {
        Format::Text => text::render(plan, detail, out),
        Format::Json => json::render(plan, detail, out),
        Format::Markdown => markdown::render(plan, detail, out),
    }
}

/// What a note says, in every format.
#[must_use]
pub fn note_message(note: &Note) -> String {
    printable(&note_text(note))
}

fn note_text(note: &Note) -> String {
    match note {
        Note::TableAbsent { id, table } => {
            format!("{id}: table {table} is not present on this platform; nothing to do")
        }
        Note::EmptyText {
            id,
            column,
            stored_as,
        } => format!(
            "{id}: this engine stores '' as NULL; {column} is set to {stored_as} for the empty text ({})",
            if stored_as == "NULL" { "the column allows NULL" } else { "the column is NOT NULL, as the runbook does" }
        ),
        Note::NotOnThisEngine { id } => {
            format!("{id}: does not apply to this engine; nothing to do")
        }
        Note::NotInClone {
            id,
            rows,
            cannot_insert,
        } => match cannot_insert {
            None => format!(
                "{id}: captured, not in this clone (nothing to write): {}",
                rows.join(", ")
            ),
            Some(why) => format!(
                "{id}: captured, not in this clone, and not inserted ({why}; create them by hand): {}",
                rows.join(", ")
            ),
        },
        Note::OnlyInClone { id, rows, total } => format!(
            "{id}: only in this clone, not captured (left unchanged): {}{}",
            rows.join(", "),
            if *total > rows.len() {
                format!(" and {} more", total - rows.len())
            } else {
                String::new()
            }
        ),
        Note::Sealed { id, rows } => format!(
            "{id}: {rows} captured {} sealed: pass --identity FILE (or POSTCLONE_IDENTITY) to compare and write {}",
            if *rows == 1 { "value is" } else { "values are" },
            if *rows == 1 { "it" } else { "them" }
        ),
        Note::NothingResolved { id, target } => {
            format!("{id}: the platform metamodel names no table ({target}); nothing to do")
        }
        Note::Uncovered { id, items } => format!(
            "{id}: personal data no rule covers: {}",
            items.join("; ")
        ),
        Note::Triggers { id, names } => format!(
            "{id}: updating the table runs its triggers ({}): BPT events may be queued; empty the queues after (the quarantine profile does)",
            names.join(", ")
        ),
        Note::UniqueUnchecked { id, indexes } => format!(
            "{id}: unique indexes {} were not checked for collisions: set {} to check them before apply",
            indexes.join(", "),
            crate::state::masking::MASK_KEY_VARIABLE
        ),
        Note::AttributesUnchecked { id } => format!(
            "{id}: the metamodel's attributes could not be read: the rules were not checked against them"
        ),
        Note::NotJournaled { id, what } => format!(
            "{id}: personal data is not journaled (the spec declares no journal.recipients): restore cannot give back {what}"
        ),
        Note::Unscannable { id, columns } => format!(
            "{id}: {} cannot be scanned for production's hosts (not text); check {} by hand",
            columns.join(", "),
            if columns.len() == 1 { "it" } else { "them" }
        ),
    }
}
