//! The plan as lines, built once: what each line is (a change's title, its action, a row, a
//! value change...), its indentation and its symbol. The text renderer writes them with or
//! without colour, Markdown moves the symbol to the first column of a `diff` block, the graph
//! takes a change's action line as a node label. No renderer parses another's output.

use super::mask::{shown, shown_key};
use super::{note_message, Detail};
use crate::change::{Change, ChangeKind, EmptyMethod};
use crate::diff::{FoundHit, Reported};
use crate::plan::Plan;
use crate::state::observed::{DriftRow, ValueChange};
use crate::state::Value;

mod copies;
mod diff;

pub(super) use copies::{copies, coverage};
use diff::helpful_diff;
pub use diff::inline_diff;

/// The sentence printed when the database already matches the spec.
pub const NO_CHANGES: &str = "No changes. The database matches the spec.";

/// What a line is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// The target, the plan's opening sentence.
    Heading,
    /// A change's title (`# 3. front-end-servers`).
    Title,
    /// What a change does (`- empty dbo.OSSYS_SERVER`).
    Action,
    /// One of its rows, or what it owns.
    Row,
    /// A value that changes in a row.
    Value,
    /// The characters that change in a value.
    Diff,
    /// Rows not listed.
    More,
    /// A statement apply runs (`--verbose`).
    Statement,
    /// Something the plan says that is not a change.
    Note,
    /// The reports' heading.
    ReportHeading,
    /// What a read-only report found.
    Report,
    /// The heading of the values that name production.
    FindingHeading,
    /// A value that names production.
    Finding,
    /// The closing count.
    Summary,
    /// The manual steps' heading.
    ManualHeading,
    /// A manual step.
    Manual,
    /// How to do a manual step.
    ManualDetail,
    /// An empty line.
    Blank,
}

/// One line of a plan.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Line {
    /// What it is.
    pub kind: Kind,
    /// Spaces before its symbol (or text).
    pub indent: usize,
    /// `-`, `~`, `+`, `#` or `=`, written before the text.
    pub symbol: Option<char>,
    /// The rest of the line.
    pub text: String,
}

impl Line {
    fn new(kind: Kind, indent: usize, symbol: Option<char>, text: impl Into<String>) -> Line {
        Line {
            kind,
            indent,
            symbol,
            text: super::printable(&text.into()),
        }
    }

    fn blank() -> Line {
        Line::new(Kind::Blank, 0, None, "")
    }

    /// The line as the text plan writes it.
    #[must_use]
    pub fn plain(&self) -> String {
        let pad = " ".repeat(self.indent);
        match self.symbol {
            Some(symbol) => format!("{pad}{symbol} {}", self.text),
            None => format!("{pad}{}", self.text),
        }
    }
}

/// Every line of the plan, in order.
#[must_use]
pub fn plan(plan: &Plan, detail: &Detail<'_>) -> Vec<Line> {
    let mut out = vec![
        Line::new(
            Kind::Heading,
            0,
            None,
            format!(
                "Target: database {} on server {}",
                plan.target.database, plan.target.server
            ),
        ),
        Line::blank(),
    ];
    let reports = reports(plan);
    if !reports.is_empty() {
        out.extend(reports);
        out.push(Line::blank());
    }
    if plan.is_empty() {
        out.push(Line::new(Kind::Heading, 0, None, NO_CHANGES));
    }
    if !plan.steps.is_empty() {
        out.push(Line::new(
            Kind::Heading,
            0,
            None,
            "postclone will perform the following changes, in this order:",
        ));
        for (i, step) in plan.steps.iter().enumerate() {
            out.push(Line::blank());
            out.extend(change(i + 1, step));
            out.extend(statements(detail, i));
        }
    }
    if !plan.findings.is_empty() {
        if !plan.steps.is_empty() {
            out.push(Line::blank());
        }
        out.extend(findings(plan));
    }
    out.extend(copies(plan));
    if !plan.notes.is_empty() {
        out.push(Line::blank());
        for note in &plan.notes {
            out.push(Line::new(Kind::Note, 2, Some('='), note_message(note)));
        }
    }
    if !plan.is_empty() {
        out.push(Line::blank());
        out.push(Line::new(Kind::Summary, 0, None, summary_line(plan)));
    }
    out.extend(manual(plan));
    out.extend(coverage(plan));
    out
}

/// Reports that found rows: `! timers overdue: 3 (SyncInvoicesToERP, PurgeOldLeads, ScoreLeads)`.
/// A report that found nothing says nothing.
fn reports(plan: &Plan) -> Vec<Line> {
    let found: Vec<&Reported> = plan.reports.iter().filter(|r| r.count > 0).collect();
    if found.is_empty() {
        return Vec::new();
    }
    let mut out = vec![Line::new(
        Kind::ReportHeading,
        0,
        None,
        "Reports (read only, before any change):",
    )];
    for r in found {
        out.push(Line::new(Kind::Report, 2, Some('!'), report_text(r)));
    }
    out
}

/// One report in a line: what, how many, and the names of the first rows.
#[must_use]
pub fn report_text(r: &Reported) -> String {
    let what = r.description.clone().unwrap_or_else(|| r.id.to_string());
    let names: Vec<String> = r.rows.iter().filter_map(row_name).collect();
    if names.is_empty() {
        return format!("{what}: {}", r.count);
    }
    let more = r.count.saturating_sub(names.len() as u64);
    let more = if more > 0 {
        format!(", … and {more} more")
    } else {
        String::new()
    };
    format!("{what}: {} ({}{more})", r.count, names.join(", "))
}

/// A row's name and details: `SynchronizeDomainUsers since 2026-11-29T04:00:02`.
fn row_name(row: &DriftRow) -> Option<String> {
    let mut text = row.label.clone()?;
    for (name, value) in &row.details {
        text.push_str(&format!(" {name} {value}"));
    }
    Some(text)
}

/// Most hits listed per table in text and Markdown; JSON lists every one.
const HITS_SHOWN: usize = 50;

/// Values that name production, per table: key, column, hosts, and the value unless secret.
fn findings(plan: &Plan) -> Vec<Line> {
    let mut out = vec![Line::new(
        Kind::FindingHeading,
        0,
        None,
        "Values that name production (apply does not change them; a `replace` in the spec, or the carry of a captured value, does):",
    )];
    for f in &plan.findings {
        out.push(Line::blank());
        let what = match &f.description {
            Some(d) => format!("{}: {d}", f.id),
            None => f.id.to_string(),
        };
        out.push(Line::new(
            Kind::Title,
            2,
            Some('#'),
            format!("{what} ({} in {})", values(f.hits.len()), f.table),
        ));
        for found in f.hits.iter().take(HITS_SHOWN) {
            out.push(Line::new(Kind::Finding, 6, Some('!'), hit_text(found)));
        }
        if f.hits.len() > HITS_SHOWN {
            out.push(Line::new(
                Kind::More,
                6,
                None,
                format!(
                    "… and {} more (every one is in `--format json`)",
                    values(f.hits.len() - HITS_SHOWN)
                ),
            ));
        }
    }
    out
}

/// `ID = 7, VAL names erp.prod.example.com: "https://erp.prod.example.com/api"`.
#[must_use]
pub fn hit_text(found: &FoundHit) -> String {
    let h = &found.hit;
    let key = if h.key.is_empty() {
        "(row without a primary key)".to_string()
    } else {
        h.key
            .iter()
            .map(|(c, v)| format!("{c} = {}", shown_key(v)))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let value = match &h.value {
        Some(v) => format!(": {v}"),
        None => " (value masked)".to_string(),
    };
    let fixed = match &found.fixed_by {
        Some(id) => format!("; fixed by {id}, proved by the check after apply"),
        None => String::new(),
    };
    format!(
        "{key}, {} names {}{value}{fixed}",
        h.column,
        h.hosts.join(", ")
    )
}

fn values(n: usize) -> String {
    if n == 1 {
        "1 value".to_string()
    } else {
        format!("{n} values")
    }
}

/// `Plan: 0 to add, 2 to change, 3 to delete (14 rows affected).`, and how many values name
/// production when some do.
#[must_use]
pub fn summary_line(plan: &Plan) -> String {
    let s = plan.summary();
    let hits = plan.hits();
    let production = if hits > 0 {
        format!(" {} still name production.", values(hits))
    } else {
        String::new()
    };
    let copies = match plan.copies.as_ref().map_or(0, |c| c.found_uncovered) {
        0 => String::new(),
        1 => " 1 copy of a masked value no rule masks.".to_string(),
        n => format!(" {n} copies of masked values no rule masks."),
    };
    format!(
        "Plan: {} to add, {} to change, {} to delete ({} affected).{production}{copies}",
        s.add,
        s.change,
        s.delete,
        rows(s.rows)
    )
}

fn rows(count: u64) -> String {
    if count == 1 {
        "1 row".to_string()
    } else {
        format!("{count} rows")
    }
}

/// The statements of step `i`, with `--verbose`.
fn statements(detail: &Detail<'_>, i: usize) -> Vec<Line> {
    let mut out = Vec::new();
    for statement in detail
        .statements
        .and_then(|all| all.get(i))
        .into_iter()
        .flatten()
    {
        out.push(Line::new(Kind::Statement, 6, None, "SQL:"));
        for line in statement.lines() {
            out.push(Line::new(Kind::Statement, 8, None, line));
        }
    }
    out
}

/// What a change does, in one line: `- delete 3 rows from dbo.X`.
#[must_use]
pub fn action(step: &Change) -> Line {
    let count = step.rows.count;
    let text = match &step.kind {
        ChangeKind::DeleteRows { table, .. } => {
            format!("delete {} from {}", rows(count), table.table)
        }
        ChangeKind::EmptyTable { table, method } => {
            let how = match method {
                EmptyMethod::Truncate => "TRUNCATE".to_string(),
                EmptyMethod::Delete { reason } => format!("DELETE, {reason}"),
            };
            format!("empty {} ({}, {how})", table.table, rows(count))
        }
        ChangeKind::SetColumns {
            table, assignments, ..
        } => {
            let columns: Vec<&str> = assignments.iter().map(|a| a.column.as_str()).collect();
            format!(
                "update {} in {} (set {}{})",
                rows(count),
                table.table,
                columns.join(", "),
                if step.masks() {
                    "; masked row by row"
                } else if step.carried().is_some() {
                    "; captured values, row by row by stable key"
                } else if step.rewrites_hosts() {
                    "; hosts rewritten row by row"
                } else {
                    ""
                }
            )
        }
        ChangeKind::InsertRows {
            table,
            rows: present,
        } => format!(
            "insert {} into {} ({}; captured values, by stable key)",
            rows(count),
            table.table,
            present.columns().join(", ")
        ),
        ChangeKind::DropPrincipals {
            principals,
            new_owner,
        } => {
            let one = principals.len() == 1;
            format!(
                "drop {} database {} (what {} is handed to {new_owner} first)",
                principals.len(),
                if one { "user" } else { "users" },
                if one { "it owns" } else { "they own" },
            )
        }
        ChangeKind::RevokeGrants { grants } => format!(
            "revoke {} {}",
            grants.len(),
            if grants.len() == 1 {
                "privilege"
            } else {
                "privileges"
            }
        ),
        ChangeKind::RunFix { .. } => format!(
            "run the fix statement ({} returned by the check query)",
            rows(count)
        ),
    };
    Line::new(Kind::Action, 2, Some(step.action().symbol()), text)
}

/// One change: its title line, what it does, and its sample rows.
#[must_use]
pub fn change(n: usize, step: &Change) -> Vec<Line> {
    let mut out = vec![title(n, step), action(step)];
    if step.commits_by_itself() {
        out.push(Line::new(
            Kind::Note,
            4,
            Some('!'),
            "runs before the apply transaction: the database commits it by itself, and a rollback does not undo it",
        ));
    }
    match &step.kind {
        ChangeKind::DropPrincipals {
            principals,
            new_owner,
        } => {
            out.extend(principals.iter().flat_map(|p| dropped(p, new_owner)));
            return out;
        }
        ChangeKind::RevokeGrants { grants } => {
            for g in grants.iter().take(crate::engine::SAMPLE_ROWS) {
                out.push(Line::new(
                    Kind::Row,
                    6,
                    Some('-'),
                    format!(
                        "{} on {}.{} from {}",
                        g.privilege, g.owner, g.object, g.grantee
                    ),
                ));
            }
            if grants.len() > crate::engine::SAMPLE_ROWS {
                out.push(Line::new(
                    Kind::More,
                    6,
                    None,
                    format!("… and {} more", grants.len() - crate::engine::SAMPLE_ROWS),
                ));
            }
            return out;
        }
        ChangeKind::DeleteRows { .. }
        | ChangeKind::EmptyTable { .. }
        | ChangeKind::SetColumns { .. }
        | ChangeKind::InsertRows { .. }
        | ChangeKind::RunFix { .. } => {}
    }
    let row_symbol = match step.kind {
        ChangeKind::DeleteRows { .. } | ChangeKind::EmptyTable { .. } => '-',
        ChangeKind::InsertRows { .. } => '+',
        _ => '~',
    };
    for row in &step.rows.sample {
        out.extend(drift_row(row_symbol, row, step));
    }
    let hidden = step
        .rows
        .count
        .saturating_sub(step.rows.sample.len() as u64);
    if hidden > 0 {
        out.push(Line::new(
            Kind::More,
            6,
            None,
            format!("… and {} more", rows(hidden)),
        ));
    }
    out
}

/// `# n. id: description [labels]`, and whether its values are shown.
fn title(n: usize, step: &Change) -> Line {
    let title = match &step.description {
        Some(d) => format!("{}: {d}", step.id),
        None => step.id.to_string(),
    };
    let labels: Vec<String> = step
        .labels
        .iter()
        .filter(|(k, _)| k != crate::state::desired::ENTITY_ID)
        .map(|(k, v)| format!("{k} {v}"))
        .collect();
    let labels = if labels.is_empty() {
        String::new()
    } else {
        format!(" [{}]", labels.join(", "))
    };
    Line::new(
        Kind::Title,
        2,
        Some('#'),
        format!(
            "{n}. {title}{labels}{}",
            if step.personal {
                " (personal data: values never shown)"
            } else if step.secret {
                " (values masked)"
            } else {
                ""
            }
        ),
    )
}

/// A database user dropped: what it owns handed over, its empty schemas dropped.
fn dropped(p: &crate::state::observed::Principal, new_owner: &str) -> Vec<Line> {
    let mut out = vec![Line::new(
        Kind::Row,
        6,
        Some('-'),
        format!("user {} ({})", p.name, p.kind),
    )];
    for o in &p.objects {
        out.push(Line::new(
            Kind::Value,
            10,
            Some('~'),
            format!("{} {}.{}: owner -> {new_owner}", o.kind, o.schema, o.name),
        ));
    }
    for r in &p.roles {
        out.push(Line::new(
            Kind::Value,
            10,
            Some('~'),
            format!("role {r}: owner -> {new_owner}"),
        ));
    }
    for s in &p.schemas {
        out.push(if s.objects == 0 {
            Line::new(
                Kind::Value,
                10,
                Some('-'),
                format!("schema {} (empty): dropped", s.name),
            )
        } else {
            Line::new(
                Kind::Value,
                10,
                Some('~'),
                format!(
                    "schema {} ({} objects): owner -> {new_owner}, kept",
                    s.name, s.objects
                ),
            )
        });
    }
    out
}

fn drift_row(symbol: char, row: &DriftRow, step: &Change) -> Vec<Line> {
    // Custom check rows have no declared key: all their columns are shown, masked if secret.
    let custom = matches!(step.kind, ChangeKind::RunFix { .. });
    let key = if row.key.is_empty() {
        "(row without a primary key)".to_string()
    } else {
        row.key
            .iter()
            .map(|(column, value)| {
                let value = if custom {
                    shown(value, step.secret)
                } else {
                    shown_key(value)
                };
                format!("{column} = {value}")
            })
            .collect::<Vec<_>>()
            .join(", ")
    };
    // A row's declared name is shown like its key: it identifies the row.
    let key = match &row.label {
        Some(label) => format!("{key} ({label})"),
        None => key,
    };
    let mut out = vec![Line::new(Kind::Row, 6, Some(symbol), key)];
    for c in &row.changes {
        if step.personal {
            out.push(Line::new(
                Kind::Value,
                10,
                Some('~'),
                format!("{}: (personal data changes)", c.column),
            ));
            continue;
        }
        out.extend(value_change(c, step.secret || row.secret));
    }
    out
}

fn value_change(c: &ValueChange, secret: bool) -> Vec<Line> {
    if secret {
        return vec![Line::new(
            Kind::Value,
            10,
            Some('~'),
            format!("{}: (sensitive value changes)", c.column),
        )];
    }
    let mut out = vec![Line::new(
        Kind::Value,
        10,
        Some('~'),
        format!("{}: {} -> {}", c.column, c.old, c.new),
    )];
    if let (Value::Text(old), Value::Text(new)) = (&c.old, &c.new) {
        if c.old.is_short() && c.new.is_short() {
            if let Some(diff) = helpful_diff(old, new) {
                out.push(Line::new(Kind::Diff, 12, None, diff));
            }
        }
    }
    out
}

fn manual(plan: &Plan) -> Vec<Line> {
    if plan.manual.is_empty() {
        return Vec::new();
    }
    let mut out = vec![
        Line::blank(),
        Line::new(
            Kind::ManualHeading,
            0,
            None,
            "Manual steps (postclone cannot do these; do them in order after apply):",
        ),
    ];
    for (i, step) in plan.manual.iter().enumerate() {
        out.push(Line::new(
            Kind::Manual,
            2,
            None,
            format!("{}. {} [{}]", i + 1, step.title, step.id),
        ));
        for line in step.details.iter().flat_map(|d| d.lines()) {
            out.push(Line::new(Kind::ManualDetail, 7, None, line));
        }
        if let Some(coverage) = step.coverage() {
            out.push(Line::new(Kind::ManualDetail, 7, None, coverage));
        }
    }
    out
}

#[cfg(test)]
mod tests;
