//! The terminal plan: Terraform-like symbols (`-` delete, `~` change, `+` add), per resource,
//! with row counts, keys and value diffs, a closing summary line, then the manual steps.

use std::io::{self, Write};

use super::escape;
use super::lines;
use super::mask::shown_key;
use super::Detail;
use crate::journal::{JournalAction, RestoreAction, RestoreStep, Status, Triage};
use crate::plan::Plan;

pub use super::lines::{inline_diff, summary_line, NO_CHANGES};

/// Writes the plan, coloured when `detail.colour` says so.
///
/// # Errors
/// Only those of `out`.
pub fn render(plan: &Plan, detail: &Detail<'_>, out: &mut impl Write) -> io::Result<()> {
    for line in lines::plan(plan, detail) {
        let text = line.plain();
        match super::colour::style(&line) {
            Some(style) if detail.colour && !text.is_empty() => {
                writeln!(out, "{style}{text}{style:#}")?;
            }
            _ => writeln!(out, "{text}")?,
        }
    }
    Ok(())
}

/// Writes how a saved plan differs from the database now.
///
/// # Errors
/// Only those of `out`.
pub fn staleness(
    path: &std::path::Path,
    changes: &[crate::plan::Staleness],
    out: &mut impl Write,
) -> io::Result<()> {
    writeln!(
        out,
        "The database changed since {} was saved:",
        path.display()
    )?;
    let rows = |n: Option<u64>| n.map_or("no change".to_string(), |n| format!("{n} rows"));
    for s in changes {
        writeln!(
            out,
            "  ! {}: planned {}, now {} (or the same count with other values)",
            s.id,
            rows(s.planned),
            rows(s.now)
        )?;
    }
    Ok(())
}

/// Writes a restore plan: what goes back where, and what is left as it is. Only keys and row
/// names are shown; journaled values hold production's secrets.
///
/// # Errors
/// Only those of `out`.
pub fn restore(triage: &Triage, out: &mut impl Write) -> io::Result<()> {
    let plan = &triage.plan;
    let status = match plan.status {
        Some(Status::Committed) => "the apply committed",
        Some(Status::RolledBack) => "the apply was rolled back: the rows should still be there",
        None => "the apply did not finish: the rows should still be there",
    };
    writeln!(
        out,
        "Restore into database {} on server {} ({status})",
        plan.database, plan.server
    )?;
    for step in &plan.steps {
        restore_step(step, out)?;
    }
    not_restored(triage, out)?;
    let total: u64 = plan.steps.iter().map(|s| s.count).sum();
    writeln!(out)?;
    if total == 0 {
        writeln!(out, "Nothing to restore: {}", nothing_because(triage))?;
        return Ok(());
    }
    let back = if triage.already_back > 0 {
        format!("; {} already as journaled", count_rows(triage.already_back))
    } else {
        String::new()
    };
    writeln!(
        out,
        "Restore: {} to put back in {} tables{back}.",
        count_rows(total),
        plan.steps.len()
    )?;
    Ok(())
}

/// `1 row`, `3 rows`.
fn count_rows(n: u64) -> String {
    if n == 1 {
        "1 row".to_string()
    } else {
        format!("{n} rows")
    }
}

/// A row's key, with its name when it has one.
fn named(key: String, label: Option<&str>) -> String {
    match label {
        Some(l) => format!("{key} ({l})"),
        None => key,
    }
}

/// One journaled change's rows to put back, by key.
fn restore_step(step: &RestoreStep, out: &mut impl Write) -> io::Result<()> {
    writeln!(out)?;
    writeln!(out, "  # {}", step.change)?;
    match step.action {
        RestoreAction::Reinsert => writeln!(
            out,
            "  + insert {} into {} (those missing)",
            count_rows(step.count),
            step.table
        )?,
        RestoreAction::Remove => writeln!(
            out,
            "  - delete {} the apply inserted into {} (those still as inserted)",
            count_rows(step.count),
            step.table
        )?,
        RestoreAction::Revert => {
            let columns: Vec<&str> = step
                .written_positions()
                .into_iter()
                .map(|i| step.columns[i].name.as_str())
                .collect();
            writeln!(
                out,
                "  ~ write back {} of {} {} (values masked)",
                columns.join(", "),
                count_rows(step.count),
                step.table
            )?;
        }
    }
    let symbol = step.action_symbol();
    for row in step.rows.iter().take(crate::engine::SAMPLE_ROWS) {
        let key: Vec<String> = step
            .key(&row.values)
            .iter()
            .map(|(c, v)| format!("{c} = {}", shown_key(v)))
            .collect();
        let key = if key.is_empty() {
            "(row without a primary key)".to_string()
        } else {
            key.join(", ")
        };
        writeln!(out, "      {symbol} {}", named(key, row.label.as_deref()))?;
    }
    let shown = step.rows.len().min(crate::engine::SAMPLE_ROWS) as u64;
    if step.count > shown {
        writeln!(out, "      … and {} more", count_rows(step.count - shown))?;
    }
    Ok(())
}

/// The rows left as they are and the changes restore cannot undo, each with why.
fn not_restored(triage: &Triage, out: &mut impl Write) -> io::Result<()> {
    let mut tables: Vec<&crate::state::TableRef> = Vec::new();
    for (table, _) in &triage.triggers {
        if !tables.contains(&table) {
            tables.push(table);
        }
    }
    for table in tables {
        let names: Vec<String> = triage
            .triggers
            .iter()
            .filter(|(t, _)| t == table)
            .map(|(_, n)| super::printable(n))
            .collect();
        if triage.queues.is_empty() {
            writeln!(
                out,
                "  ! writing rows back into {table} runs its triggers ({}): BPT events may be queued; plan again afterwards (the quarantine profile empties the queues)",
                names.join(", ")
            )?;
        } else {
            let queues: Vec<String> = triage.queues.iter().map(ToString::to_string).collect();
            writeln!(
                out,
                "  ! writing rows back into {table} runs its triggers ({}): the events they queue in {} are deleted in the same transaction",
                names.join(", "),
                queues.join(", ")
            )?;
        }
    }
    if !triage.left_alone.is_empty() {
        writeln!(out)?;
        writeln!(
            out,
            "  Left as they are ({}; restore never overwrites what happened after the apply):",
            count_rows(triage.left_alone.len() as u64)
        )?;
        for l in &triage.left_alone {
            writeln!(
                out,
                "    ! {} {}: {}",
                l.change,
                named(l.key.clone(), l.label.as_deref()),
                l.reason
            )?;
        }
    }
    for n in &triage.plan.not_restorable {
        let change = &n.change;
        let what = match n.action {
            JournalAction::Fix => "a custom fix: its effect is not journaled",
            JournalAction::DropPrincipals => "dropped database users: create them again by hand",
            JournalAction::RevokeGrants => {
                "revoked privileges: the journal lists them; grant them again by hand"
            }
            JournalAction::Delete | JournalAction::Update | JournalAction::Insert => {
                "no table recorded"
            }
        };
        writeln!(
            out,
            "  = {change}: not restorable from the journal ({what})"
        )?;
        for g in &n.revoked {
            writeln!(
                out,
                "      {}",
                escape::printable(&crate::sql::grant_again(g))
            )?;
        }
    }
    for (change, why) in &triage.plan.personal {
        writeln!(out, "  = {change}: not restorable here: {why}")?;
    }
    Ok(())
}

fn nothing_because(triage: &Triage) -> &'static str {
    if triage.already_back > 0 && triage.left_alone.is_empty() {
        "every journaled row already holds its journaled values."
    } else if triage.already_back == 0 && triage.left_alone.is_empty() {
        "the journal holds no row."
    } else {
        "the other journaled rows are back already or were changed since the apply."
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Dropping restored users shows what each owns and what happens to it.
    #[test]
    fn drop_principals_plan() {
        use crate::change::{Change, ChangeKind};
        use crate::plan::Plan;
        use crate::state::observed::{
            Catalog, Drift, DriftRow, OwnedObject, OwnedSchema, Principal, Target,
        };
        use crate::state::{ResourceId, Value};
        let principal = Principal {
            name: "OSADMIN".into(),
            kind: "SQL_USER".into(),
            schemas: vec![
                OwnedSchema {
                    name: "OSADMIN".into(),
                    objects: 0,
                },
                OwnedSchema {
                    name: "REPORTS".into(),
                    objects: 3,
                },
            ],
            objects: vec![OwnedObject {
                schema: "dbo".into(),
                name: "V_ORDERS".into(),
                kind: "VIEW".into(),
            }],
            roles: vec![],
        };
        let plan = Plan {
            target: Target {
                server: "preprod-sql".into(),
                database: "OS_PREPROD".into(),
                forbidden_front_ends: vec![],
                front_end_list: None,
            },
            steps: vec![Change {
                id: ResourceId::try_from("restored-database-users".to_string()).unwrap(),
                rows: Drift {
                    count: 1,
                    fingerprint: String::new(),
                    sample: vec![DriftRow {
                        key: vec![("user".into(), Value::Text("OSADMIN".into()))],
                        changes: vec![],
                        ..DriftRow::default()
                    }],
                },
                ..crate::test_support::change(ChangeKind::DropPrincipals {
                    principals: vec![principal],
                    new_owner: "dbo".into(),
                })
            }],
            notes: vec![],
            reports: vec![],
            findings: vec![],
            manual: vec![],
            dependencies: vec![],
            catalog: Catalog::default(),
            copies: None,
        };
        let mut out = Vec::new();
        render(&plan, &Detail::default(), &mut out).unwrap();
        insta::assert_snapshot!(String::from_utf8(out).unwrap());
    }
}
