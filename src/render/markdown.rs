//! The Markdown plan, ready to paste as a pull-request comment: the reports and the summary
//! first, one collapsible section per change (its text-format lines in a `diff` block, which
//! code hosts colour), then notes, manual steps and the statement of coverage; never longer
//! than a comment may be.

use std::io::{self, Write};

use super::lines::{self, Line};
use super::{escape, note_message, text, Detail};
use crate::plan::Plan;

/// GitHub's limit on the length of a comment, in characters: a longer body is refused.
pub const COMMENT_LIMIT: usize = 65_536;

/// Room kept for the closing list of what was left out.
const LEFT_OUT_RESERVE: usize = 1_024;

/// Writes the plan as Markdown, within [`COMMENT_LIMIT`] characters whatever the plan's size.
///
/// # Errors
/// Only those of `out`.
pub fn render(plan: &Plan, detail: &Detail<'_>, out: &mut impl Write) -> io::Result<()> {
    out.write_all(document(plan, detail, COMMENT_LIMIT).as_bytes())
}

/// The Markdown plan in at most `limit` characters: the summary, the manual steps and the
/// statement of coverage always; then the change table, the change sections, the values that
/// name production, the notes and the copies, each item while it fits; then what was left out
/// and how to get the whole plan.
fn document(plan: &Plan, detail: &Detail<'_>, limit: usize) -> String {
    let head = head(plan);
    let manual = manual(plan);
    let coverage = headed(&lines::coverage(plan));
    let fixed = chars(&head) + chars(&manual) + chars(&coverage);
    let mut budget = Budget {
        room: limit.saturating_sub(fixed + LEFT_OUT_RESERVE),
    };
    let mut left = Vec::new();
    let table = budget.fill(
        &change_table(plan),
        ("row of the change table", "rows of the change table"),
        &mut left,
    );
    let sections = budget.fill(
        &sections(plan, detail),
        ("change section", "change sections"),
        &mut left,
    );
    let findings = budget.fill(
        &findings(plan),
        ("value naming production", "values naming production"),
        &mut left,
    );
    let notes = budget.fill(&notes(plan), ("note", "notes"), &mut left);
    let copies = budget.fill(
        &headed_items(&lines::copies(plan)),
        ("copy", "copies"),
        &mut left,
    );
    let mut doc = head;
    for part in [table, sections, findings, notes, manual, copies, coverage] {
        doc.push_str(&part);
    }
    if !left.is_empty() {
        doc.push_str(&format!(
            "\n**Left out to stay under GitHub's {COMMENT_LIMIT}-character comment limit:** {}. \
             The whole plan: `postclone plan --format markdown > plan.md` (attach the file) or \
             `--format json`.\n",
            left.join(", ")
        ));
    }
    doc
}

/// One part of the plan: a heading written only when one of its items is.
struct Items {
    heading: String,
    items: Vec<String>,
}

/// What an item is, in the singular and the plural.
type Noun = (&'static str, &'static str);

/// Characters still free in the comment.
struct Budget {
    room: usize,
}

impl Budget {
    /// The heading and as many items as fit, in order; the count of the others goes to `left`.
    fn fill(&mut self, part: &Items, what: Noun, left: &mut Vec<String>) -> String {
        let mut out = String::new();
        let heading = chars(&part.heading);
        let mut kept = 0;
        if !part.items.is_empty() && heading <= self.room {
            let mut room = self.room - heading;
            for item in &part.items {
                let n = chars(item);
                if n > room {
                    break;
                }
                room -= n;
                out.push_str(item);
                kept += 1;
            }
            if kept > 0 {
                self.room = room;
            }
        }
        let dropped = part.items.len() - kept;
        if dropped > 0 {
            left.push(format!(
                "{dropped} {}",
                if dropped == 1 { what.0 } else { what.1 }
            ));
        }
        if kept == 0 {
            return String::new();
        }
        format!("{}{out}", part.heading)
    }
}

fn chars(text: &str) -> usize {
    text.chars().count()
}

/// The title, the reports found and the summary line.
fn head(plan: &Plan) -> String {
    let mut out = format!(
        "### postclone plan for {} on {}\n\n",
        escape::markdown_code(&plan.target.database),
        escape::markdown_code(&plan.target.server)
    );
    let found: Vec<_> = plan.reports.iter().filter(|r| r.count > 0).collect();
    if !found.is_empty() {
        out.push_str("**Reports** (read only, before any change):\n\n");
        for r in found {
            out.push_str(&format!("- {}\n", cell(&lines::report_text(r))));
        }
        out.push('\n');
    }
    if plan.is_empty() {
        out.push_str(&format!("**{}**\n", text::NO_CHANGES));
    } else {
        out.push_str(&format!("**{}**\n", text::summary_line(plan)));
    }
    out
}

/// One row per change: number, action, id, rows, table.
fn change_table(plan: &Plan) -> Items {
    Items {
        heading: "\n| # | Change | Rows | Table |\n|--:|---|--:|---|\n".to_string(),
        items: plan
            .steps
            .iter()
            .enumerate()
            .map(|(i, step)| {
                format!(
                    "| {} | `{}` {} | {} | {} |\n",
                    i + 1,
                    step.action().symbol(),
                    cell(step.id.as_str()),
                    step.rows.count,
                    step.table().map_or_else(
                        || "-".to_string(),
                        |t| escape::markdown_code(&t.table.to_string())
                    )
                )
            })
            .collect(),
    }
}

/// A collapsible section per change: its lines in a `diff` block, its SQL with `--verbose`.
fn sections(plan: &Plan, detail: &Detail<'_>) -> Items {
    let items = plan
        .steps
        .iter()
        .enumerate()
        .map(|(i, step)| {
            let what = step.what();
            let mut out = format!(
                "\n<details><summary><code>{}</code> <b>{}</b>: {what}, {} {}</summary>\n\n",
                step.action().symbol(),
                html(step.id.as_str()),
                step.rows.count,
                if step.rows.count == 1 { "row" } else { "rows" }
            );
            out.push_str(&fenced("diff", &diff_block(&lines::change(i + 1, step))));
            if let Some(statements) = detail.statements.and_then(|all| all.get(i)) {
                for statement in statements {
                    out.push('\n');
                    out.push_str(&fenced("sql", statement));
                }
            }
            out.push_str("\n</details>\n");
            out
        })
        .collect();
    Items {
        heading: String::new(),
        items,
    }
}

/// The values that name production, one table row each.
fn findings(plan: &Plan) -> Items {
    let mut items = Vec::new();
    for f in &plan.findings {
        for found in &f.hits {
            let key: Vec<String> = found
                .hit
                .key
                .iter()
                .map(|(c, v)| format!("{c} = {v}"))
                .collect();
            items.push(format!(
                "| {} | {} | {} | {} | {} |\n",
                escape::markdown_code(&f.table.to_string()),
                cell(&key.join(", ")),
                escape::markdown_code(&found.hit.column.to_string()),
                cell(&found.hit.hosts.join(", ")),
                found
                    .fixed_by
                    .as_ref()
                    .map_or_else(|| "-".to_string(), |id| format!("`{id}`"))
            ));
        }
    }
    Items {
        heading: "\n**Values that name production** (apply does not change them; a `replace` in \
                  the spec, or the carry of a captured value, does):\n\n| Table | Row | Column | Hosts | Rewritten by |\n\
                  |---|---|---|---|---|\n"
            .to_string(),
        items,
    }
}

fn notes(plan: &Plan) -> Items {
    Items {
        heading: "\n".to_string(),
        items: plan
            .notes
            .iter()
            .map(|note| format!("- {}\n", cell(&note_message(note))))
            .collect(),
    }
}

/// Text lines under `#### ` headings, as one string (the statement of coverage).
fn headed(lines: &[Line]) -> String {
    headed_items(lines).items.concat()
}

/// Text lines under `#### ` headings: a heading goes with the item after it, so that it is never
/// kept without its first item.
fn headed_items(lines: &[Line]) -> Items {
    let mut items = Vec::new();
    let mut pending = String::new();
    for line in lines.iter().filter(|l| l.kind != lines::Kind::Blank) {
        if line.kind == lines::Kind::FindingHeading || line.kind == lines::Kind::ManualHeading {
            pending.push_str(&format!("\n#### {}\n\n", cell(&line.text)));
        } else {
            items.push(format!("{pending}- {}\n", cell(&line.text)));
            pending.clear();
        }
    }
    if !pending.is_empty() {
        items.push(pending);
    }
    Items {
        heading: String::new(),
        items,
    }
}

/// The manual steps, numbered, with how to do each and what the plan does of it.
fn manual(plan: &Plan) -> String {
    if plan.manual.is_empty() {
        return String::new();
    }
    let mut out = "\n#### Manual steps, in order, after apply\n\n".to_string();
    for (i, step) in plan.manual.iter().enumerate() {
        out.push_str(&format!(
            "{}. **{}** (`{}`)\n",
            i + 1,
            cell(&step.title),
            step.id
        ));
        if let Some(details) = &step.details {
            for line in details.lines() {
                out.push_str(&format!("   {}\n", cell(line)));
            }
        }
        if let Some(coverage) = step.coverage() {
            out.push_str(&format!("   {}\n", cell(&coverage)));
        }
    }
    out
}

/// A change's lines with their `-`, `+` or `~` moved to the first column, where a `diff`
/// block colours it (`      - ID = 1` becomes `-      ID = 1`); the indentation after it
/// stays.
fn diff_block(lines: &[Line]) -> String {
    let mut out = String::new();
    for line in lines {
        match line.symbol {
            Some(symbol @ ('-' | '+' | '~')) => {
                out.push(symbol);
                out.push_str(&" ".repeat(line.indent + 1));
                out.push_str(&line.text);
            }
            _ => out.push_str(&line.plain()),
        }
        out.push('\n');
    }
    out
}

/// A fenced block whose fence is longer than any backtick run inside it.
fn fenced(language: &str, body: &str) -> String {
    let longest = body.split(|c| c != '`').map(str::len).max().unwrap_or(0);
    let fence = "`".repeat(longest.max(2) + 1);
    let newline = if body.ends_with('\n') { "" } else { "\n" };
    format!("{fence}{language}\n{body}{newline}{fence}\n")
}

/// Text from a database or a spec inside a Markdown line or table cell.
fn cell(text: &str) -> String {
    escape::markdown(text)
}

/// Text inside HTML.
fn html(text: &str) -> String {
    escape::html(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_budget_keeps_items_in_order_while_they_fit() {
        let part = Items {
            heading: "H\n".into(),
            items: vec!["aaaa\n".into(), "bbbb\n".into(), "cccc\n".into()],
        };
        let mut left = Vec::new();
        let mut budget = Budget { room: 12 };
        assert_eq!(
            budget.fill(&part, ("copy", "copies"), &mut left),
            "H\naaaa\nbbbb\n"
        );
        assert_eq!(budget.room, 0);
        assert_eq!(left, vec!["1 copy".to_string()]);
        // Nothing fits: neither the heading nor any item is written, and no room is spent.
        let mut budget = Budget { room: 4 };
        let mut left = Vec::new();
        assert_eq!(budget.fill(&part, ("copy", "copies"), &mut left), "");
        assert_eq!(budget.room, 4);
        assert_eq!(left, vec!["3 copies".to_string()]);
    }

    proptest::proptest! {
        /// Whatever the parts and the room: what is written never passes the room, items keep
        /// their order and are never cut, a heading is written only with an item, and every
        /// item left out is counted.
        #[test]
        fn a_budget_never_passes_its_room(
            room in 0usize..400,
            parts in proptest::collection::vec(
                (0usize..30, proptest::collection::vec(1usize..80, 0..12)),
                1..5,
            ),
        ) {
            let mut budget = Budget { room };
            let mut written = 0;
            let mut left = Vec::new();
            for (heading, items) in &parts {
                let part = Items {
                    heading: "h".repeat(*heading),
                    items: items.iter().enumerate().map(|(i, n)| format!("{i:03}{}", "x".repeat(*n))).collect(),
                };
                let before = left.len();
                let out = budget.fill(&part, ("item", "items"), &mut left);
                written += chars(&out);
                let kept: Vec<&String> = part.items.iter().filter(|i| out.contains(i.as_str())).collect();
                proptest::prop_assert!(out.is_empty() || out.starts_with(&part.heading));
                proptest::prop_assert_eq!(out.is_empty(), kept.is_empty());
                proptest::prop_assert!(kept.iter().zip(&part.items).all(|(k, i)| *k == i), "not a prefix in order");
                let dropped = part.items.len() - kept.len();
                proptest::prop_assert_eq!(left.len() - before, usize::from(dropped > 0));
                if dropped > 0 {
                    let counted = format!("{} ", dropped);
                    proptest::prop_assert!(left[before].starts_with(&counted));
                }
            }
            proptest::prop_assert!(written <= room, "{} written into {}", written, room);
            proptest::prop_assert_eq!(written + budget.room, room);
        }
    }
}
