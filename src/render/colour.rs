//! Colour for the text plan on a terminal, chosen by what each line is and applied while it is
//! written: the plan reads the same with colour off.

use anstyle::{AnsiColor, Style};

use super::lines::{Kind, Line};

/// Whether to colour output written to a terminal: `NO_COLOR` (any value) turns it off.
#[must_use]
pub fn wanted(is_terminal: bool) -> bool {
    is_terminal && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
}

/// The style of a line: `-` red, `+` green, `~` yellow, change titles and the summary bold,
/// reports magenta, notes dimmed; `None` for plain text.
#[must_use]
pub fn style(line: &Line) -> Option<Style> {
    let colour = |c: AnsiColor| Some(Style::new().fg_color(Some(c.into())));
    match (line.kind, line.symbol) {
        (Kind::Title | Kind::Summary | Kind::ReportHeading, _) => Some(Style::new().bold()),
        (Kind::Report, _) => colour(AnsiColor::Magenta),
        (Kind::FindingHeading, _) => Some(Style::new().bold()),
        (Kind::Finding, _) => colour(AnsiColor::Red),
        (Kind::Note, _) => Some(Style::new().dimmed()),
        (_, Some('-')) => colour(AnsiColor::Red),
        (_, Some('+')) => colour(AnsiColor::Green),
        (_, Some('~')) => colour(AnsiColor::Yellow),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::change::{Change, ChangeKind, EmptyMethod};
    use crate::render::Detail;
    use crate::test_support::{change, drift, id, table, target};

    /// Lines are coloured by what they are, never by how their text starts: a manual step's
    /// detail beginning with `- ` is not painted as a deletion.
    #[test]
    fn styles_by_kind() {
        let step = Change {
            rows: drift(1),
            ..change(ChangeKind::EmptyTable {
                table: table("OSSYS_SERVER"),
                method: EmptyMethod::Truncate,
            })
        };
        let lines = crate::render::lines::change(1, &step);
        assert_eq!(style(&lines[0]), Some(Style::new().bold()));
        assert_eq!(
            style(&lines[1]),
            Some(Style::new().fg_color(Some(AnsiColor::Red.into())))
        );
        let plan = crate::plan::Plan {
            target: target(),
            steps: vec![step],
            notes: vec![],
            reports: vec![],
            findings: vec![],
            manual: vec![crate::state::desired::ManualStep {
                id: id("m"),
                title: "Do it".into(),
                details: Some("- not a deletion".into()),
                covered_by: vec![],
            }],
            dependencies: vec![],
            catalog: Default::default(),
            copies: None,
        };
        let mut out = Vec::new();
        let detail = Detail {
            colour: true,
            ..Detail::default()
        };
        crate::render::text::render(&plan, &detail, &mut out).unwrap();
        let text = String::from_utf8(out).unwrap();
        assert!(
            text.contains("\u{1b}[31m  - empty dbo.OSSYS_SERVER"),
            "{text:?}"
        );
        assert!(text.contains("\n       - not a deletion\n"), "{text:?}");
    }
}
