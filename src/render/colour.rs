//! Colour for the text plan on a terminal: applied to finished text, so that every renderer
//! stays plain and the plan reads the same with colour off.

use anstyle::{AnsiColor, Style};

/// Whether to colour output written to a terminal: `NO_COLOR` (any value) turns it off.
#[must_use]
pub fn wanted(is_terminal: bool) -> bool {
    is_terminal && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
}

/// `text` with each line styled by its first symbol: `-` red, `+` green, `~` yellow,
/// change titles and the summary line bold.
#[must_use]
pub fn paint(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + text.len() / 8);
    for line in text.split_inclusive('\n') {
        let trimmed = line.trim_start();
        let style = if trimmed.starts_with("- ") {
            Style::new().fg_color(Some(AnsiColor::Red.into()))
        } else if trimmed.starts_with("+ ") {
            Style::new().fg_color(Some(AnsiColor::Green.into()))
        } else if trimmed.starts_with("~ ") {
            Style::new().fg_color(Some(AnsiColor::Yellow.into()))
        } else if trimmed.starts_with("# ") || line.starts_with("Plan: ") {
            Style::new().bold()
        } else if trimmed.starts_with("= ") {
            Style::new().dimmed()
        } else {
            Style::new()
        };
        let (body, end) = match line.strip_suffix('\n') {
            Some(body) => (body, "\n"),
            None => (line, ""),
        };
        if style == Style::new() || body.is_empty() {
            out.push_str(line);
        } else {
            out.push_str(&format!("{style}{body}{style:#}{end}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Symbols get their colour; plain lines and line ends are untouched.
    #[test]
    fn paints_by_symbol() {
        let painted = paint("Target: x\n  - delete 1 row\n  ~ update\nPlan: 1\n");
        assert!(painted.starts_with("Target: x\n"));
        assert!(
            painted.contains("\u{1b}[31m  - delete 1 row\u{1b}[0m\n"),
            "{painted:?}"
        );
        assert!(
            painted.contains("\u{1b}[33m  ~ update\u{1b}[0m\n"),
            "{painted:?}"
        );
        assert!(
            painted.contains("\u{1b}[1mPlan: 1\u{1b}[0m\n"),
            "{painted:?}"
        );
    }
}
