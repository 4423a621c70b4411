//! The Markdown plan, ready to paste as a pull-request comment: the reports and the summary
//! first, one
//! collapsible section per change (its text-format lines in a `diff` block, which code hosts
//! colour), then notes and manual steps.

use std::io::{self, Write};

use super::lines::{self, Line};
use super::{note_message, text, Detail};
use crate::change::ChangeKind;
use crate::plan::Plan;

/// Writes the plan as Markdown.
///
/// # Errors
/// Only those of `out`.
pub fn render(plan: &Plan, detail: &Detail<'_>, out: &mut impl Write) -> io::Result<()> {
    writeln!(
        out,
        "### postclone plan for `{}` on `{}`",
        plan.target.database, plan.target.server
    )?;
    writeln!(out)?;
    let found: Vec<_> = plan.reports.iter().filter(|r| r.count > 0).collect();
    if !found.is_empty() {
        writeln!(out, "**Reports** (read only, before any change):")?;
        writeln!(out)?;
        for r in found {
            writeln!(out, "- {}", cell(&lines::report_text(r)))?;
        }
        writeln!(out)?;
    }
    if plan.is_empty() {
        writeln!(out, "**{}**", text::NO_CHANGES)?;
    } else {
        writeln!(out, "**{}**", text::summary_line(plan))?;
    }
    if !plan.steps.is_empty() {
        writeln!(out)?;
        writeln!(out, "| # | Change | Rows | Table |")?;
        writeln!(out, "|--:|---|--:|---|")?;
        for (i, step) in plan.steps.iter().enumerate() {
            writeln!(
                out,
                "| {} | `{}` {} | {} | {} |",
                i + 1,
                step.action().symbol(),
                cell(step.id.as_str()),
                step.rows.count,
                step.table()
                    .map_or_else(|| "-".to_string(), |t| format!("`{}`", t.table))
            )?;
        }
        for (i, step) in plan.steps.iter().enumerate() {
            writeln!(out)?;
            let what = match &step.kind {
                ChangeKind::DeleteRows { .. } => "delete rows",
                ChangeKind::EmptyTable { .. } => "empty table",
                ChangeKind::SetColumns { .. } => "update rows",
                ChangeKind::DropPrincipals { .. } => "drop users",
                ChangeKind::RevokeGrants { .. } => "revoke privileges",
                ChangeKind::RunFix { .. } => "run fix",
            };
            writeln!(
                out,
                "<details><summary><code>{}</code> <b>{}</b>: {what}, {} {}</summary>",
                step.action().symbol(),
                html(step.id.as_str()),
                step.rows.count,
                if step.rows.count == 1 { "row" } else { "rows" }
            )?;
            writeln!(out)?;
            fenced("diff", &diff_block(&lines::change(i + 1, step)), out)?;
            if let Some(statements) = detail.statements.and_then(|all| all.get(i)) {
                for statement in statements {
                    writeln!(out)?;
                    fenced("sql", statement, out)?;
                }
            }
            writeln!(out)?;
            writeln!(out, "</details>")?;
        }
    }
    if !plan.findings.is_empty() {
        writeln!(out)?;
        writeln!(
            out,
            "**Values that name production** (apply does not change them; a `replace` in the spec does):"
        )?;
        writeln!(out)?;
        writeln!(out, "| Table | Row | Column | Hosts | Rewritten by |")?;
        writeln!(out, "|---|---|---|---|---|")?;
        for f in &plan.findings {
            for found in &f.hits {
                let key: Vec<String> = found
                    .hit
                    .key
                    .iter()
                    .map(|(c, v)| format!("{c} = {v}"))
                    .collect();
                writeln!(
                    out,
                    "| `{}` | {} | `{}` | {} | {} |",
                    f.table,
                    cell(&key.join(", ")),
                    found.hit.column,
                    cell(&found.hit.hosts.join(", ")),
                    found
                        .fixed_by
                        .as_ref()
                        .map_or_else(|| "-".to_string(), |id| format!("`{id}`"))
                )?;
            }
        }
    }
    if !plan.notes.is_empty() {
        writeln!(out)?;
        for note in &plan.notes {
            writeln!(out, "- {}", note_message(note))?;
        }
    }
    manual(plan, out)
}

/// The manual steps, numbered, with how to do each and what the plan does of it.
fn manual(plan: &Plan, out: &mut impl Write) -> io::Result<()> {
    if plan.manual.is_empty() {
        return Ok(());
    }
    writeln!(out)?;
    writeln!(out, "#### Manual steps, in order, after apply")?;
    writeln!(out)?;
    for (i, step) in plan.manual.iter().enumerate() {
        writeln!(out, "{}. **{}** (`{}`)", i + 1, cell(&step.title), step.id)?;
        if let Some(details) = &step.details {
            for line in details.lines() {
                writeln!(out, "   {line}")?;
            }
        }
        if let Some(coverage) = step.coverage() {
            writeln!(out, "   {}", cell(&coverage))?;
        }
    }
    Ok(())
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
fn fenced(language: &str, body: &str, out: &mut impl Write) -> io::Result<()> {
    let longest = body.split(|c| c != '`').map(str::len).max().unwrap_or(0);
    let fence = "`".repeat(longest.max(2) + 1);
    writeln!(out, "{fence}{language}")?;
    write!(out, "{body}")?;
    if !body.ends_with('\n') {
        writeln!(out)?;
    }
    writeln!(out, "{fence}")
}

/// Text inside a table cell: pipes would end the cell.
fn cell(text: &str) -> String {
    text.replace('|', "\\|")
}

/// Text inside HTML.
fn html(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}
