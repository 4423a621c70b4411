//! Rendering plans for people and tools. Every format writes to an `impl Write` and computes
//! nothing: what to show is decided in `plan`, whether a value may be shown in `mask`.

mod mask;
pub mod text;

use std::io::{self, Write};

use crate::plan::Plan;

/// Output formats of `plan`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Format {
    /// For a terminal.
    #[default]
    Text,
}

/// Writes `plan` in `format`.
///
/// # Errors
/// Only those of `out`.
pub fn render(plan: &Plan, format: Format, out: &mut impl Write) -> io::Result<()> {
    match format {
        Format::Text => text::render(plan, out),
    }
}
