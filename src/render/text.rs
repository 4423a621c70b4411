//! The terminal plan: Terraform-like symbols (`-` delete, `~` change, `+` add), per resource,
//! with row counts, keys and value diffs, a closing summary line, then the manual steps.

use std::io::{self, Write};

use similar::{ChangeTag, TextDiff};

use super::mask::{shown, shown_key};
use super::{note_message, Detail};
use crate::change::{Change, ChangeKind, EmptyMethod};
use crate::journal::{JournalAction, RestoreAction, RestorePlan, Status};
use crate::plan::Plan;
use crate::state::observed::{DriftRow, ValueChange};
use crate::state::Value;

/// The sentence printed when the database already matches the spec.
pub const NO_CHANGES: &str = "No changes. The database matches the spec.";

/// Writes the plan.
///
/// # Errors
/// Only those of `out`.
pub fn render(plan: &Plan, detail: &Detail<'_>, out: &mut impl Write) -> io::Result<()> {
    writeln!(
        out,
        "Target: database {} on server {}",
        plan.target.database, plan.target.server
    )?;
    writeln!(out)?;
    if plan.is_empty() {
        writeln!(out, "{NO_CHANGES}")?;
    } else {
        writeln!(
            out,
            "postclone will perform the following changes, in this order:"
        )?;
        for (i, step) in plan.steps.iter().enumerate() {
            writeln!(out)?;
            change(i + 1, step, out)?;
            statements(detail, i, out)?;
        }
    }
    if !plan.notes.is_empty() {
        writeln!(out)?;
        for note in &plan.notes {
            writeln!(out, "  = {}", note_message(note))?;
        }
    }
    if !plan.is_empty() {
        writeln!(out)?;
        writeln!(out, "{}", summary_line(plan))?;
    }
    manual(plan, out)
}

/// `Plan: 0 to add, 2 to change, 3 to delete (14 rows affected).`
#[must_use]
pub fn summary_line(plan: &Plan) -> String {
    let s = plan.summary();
    format!(
        "Plan: {} to add, {} to change, {} to delete ({} {} affected).",
        s.add,
        s.change,
        s.delete,
        s.rows,
        if s.rows == 1 { "row" } else { "rows" }
    )
}

/// The statements of step `i`, with `--verbose`.
fn statements(detail: &Detail<'_>, i: usize, out: &mut impl Write) -> io::Result<()> {
    let Some(statements) = detail.statements.and_then(|all| all.get(i)) else {
        return Ok(());
    };
    for statement in statements {
        writeln!(out, "      SQL:")?;
        for line in statement.lines() {
            writeln!(out, "        {line}")?;
        }
    }
    Ok(())
}

/// One change: its title line, what it does, and its sample rows.
pub fn change(n: usize, step: &Change, out: &mut impl Write) -> io::Result<()> {
    let rows = |count: u64| {
        if count == 1 {
            "1 row".to_string()
        } else {
            format!("{count} rows")
        }
    };
    let title = match &step.description {
        Some(d) => format!("{}: {d}", step.id),
        None => step.id.to_string(),
    };
    let labels: Vec<String> = step
        .labels
        .iter()
        .map(|(k, v)| format!("{k} {v}"))
        .collect();
    let labels = if labels.is_empty() {
        String::new()
    } else {
        format!(" [{}]", labels.join(", "))
    };
    writeln!(
        out,
        "  # {n}. {title}{labels}{}",
        if step.secret { " (values masked)" } else { "" }
    )?;
    let symbol = step.action().symbol();
    match &step.kind {
        ChangeKind::DeleteRows { table, .. } => {
            writeln!(
                out,
                "  {symbol} delete {} from {}",
                rows(step.rows.count),
                table.table
            )?;
        }
        ChangeKind::EmptyTable { table, method } => {
            let how = match method {
                EmptyMethod::Truncate => "TRUNCATE".to_string(),
                EmptyMethod::Delete { reason } => format!("DELETE, {reason}"),
            };
            writeln!(
                out,
                "  {symbol} empty {} ({}, {how})",
                table.table,
                rows(step.rows.count)
            )?;
        }
        ChangeKind::SetColumns {
            table, assignments, ..
        } => {
            let columns: Vec<&str> = assignments.iter().map(|a| a.column.as_str()).collect();
            writeln!(
                out,
                "  {symbol} update {} in {} (set {})",
                rows(step.rows.count),
                table.table,
                columns.join(", ")
            )?;
        }
        ChangeKind::DropPrincipals {
            principals,
            new_owner,
        } => {
            writeln!(
                out,
                "  {symbol} drop {} database {} (what {} is handed to {new_owner} first)",
                principals.len(),
                if principals.len() == 1 {
                    "user"
                } else {
                    "users"
                },
                if principals.len() == 1 {
                    "it owns"
                } else {
                    "they own"
                },
            )?;
            for p in principals {
                writeln!(out, "      - user {} ({})", p.name, p.kind)?;
                for o in &p.objects {
                    writeln!(
                        out,
                        "          ~ {} {}.{}: owner -> {new_owner}",
                        o.kind, o.schema, o.name
                    )?;
                }
                for r in &p.roles {
                    writeln!(out, "          ~ role {r}: owner -> {new_owner}")?;
                }
                for s in &p.schemas {
                    if s.objects == 0 {
                        writeln!(out, "          - schema {} (empty): dropped", s.name)?;
                    } else {
                        writeln!(
                            out,
                            "          ~ schema {} ({} objects): owner -> {new_owner}, kept",
                            s.name, s.objects
                        )?;
                    }
                }
            }
            return Ok(());
        }
        ChangeKind::RevokeGrants { grants } => {
            writeln!(
                out,
                "  {symbol} revoke {} {}",
                grants.len(),
                if grants.len() == 1 {
                    "privilege"
                } else {
                    "privileges"
                }
            )?;
            for g in grants.iter().take(crate::engine::SAMPLE_ROWS) {
                writeln!(
                    out,
                    "      - {} on {}.{} from {}",
                    g.privilege, g.owner, g.object, g.grantee
                )?;
            }
            if grants.len() > crate::engine::SAMPLE_ROWS {
                writeln!(
                    out,
                    "      … and {} more",
                    grants.len() - crate::engine::SAMPLE_ROWS
                )?;
            }
            return Ok(());
        }
        ChangeKind::RunFix { .. } => {
            writeln!(
                out,
                "  {symbol} run the fix statement ({} returned by the check query)",
                rows(step.rows.count)
            )?;
        }
    }
    let row_symbol = if matches!(
        step.kind,
        ChangeKind::DeleteRows { .. } | ChangeKind::EmptyTable { .. }
    ) {
        '-'
    } else {
        '~'
    };
    for row in &step.rows.sample {
        drift_row(row_symbol, row, step, out)?;
    }
    let hidden = step
        .rows
        .count
        .saturating_sub(step.rows.sample.len() as u64);
    if hidden > 0 {
        writeln!(out, "      … and {} more", rows(hidden))?;
    }
    Ok(())
}

fn drift_row(symbol: char, row: &DriftRow, step: &Change, out: &mut impl Write) -> io::Result<()> {
    // Custom check rows have no declared key: all their columns are shown, masked if secret.
    let custom = matches!(step.kind, ChangeKind::RunFix { .. });
    if row.key.is_empty() {
        writeln!(out, "      {symbol} (row without a primary key)")?;
    } else {
        let key: Vec<String> = row
            .key
            .iter()
            .map(|(column, value)| {
                let value = if custom {
                    shown(value, step.secret)
                } else {
                    shown_key(value)
                };
                format!("{column} = {value}")
            })
            .collect();
        writeln!(out, "      {symbol} {}", key.join(", "))?;
    }
    for c in &row.changes {
        value_change(c, step.secret, out)?;
    }
    Ok(())
}

fn value_change(c: &ValueChange, secret: bool, out: &mut impl Write) -> io::Result<()> {
    if secret {
        return writeln!(out, "          ~ {}: (sensitive value changes)", c.column);
    }
    writeln!(out, "          ~ {}: {} -> {}", c.column, c.old, c.new)?;
    if let (Value::Text(old), Value::Text(new)) = (&c.old, &c.new) {
        // A character diff helps only where both sides can be read whole.
        if !old.is_empty() && !new.is_empty() && c.old.is_short() && c.new.is_short() {
            writeln!(out, "            {}", inline_diff(old, new))?;
        }
    }
    Ok(())
}

/// `prod.example.com` → `preprod.example.com` as `[+pre+]prod.example.com`: only what changes is
/// marked, so a long URL with a one-word change reads at a glance.
#[must_use]
pub fn inline_diff(old: &str, new: &str) -> String {
    let diff = TextDiff::from_chars(old, new);
    let mut out = String::new();
    let mut open: Option<ChangeTag> = None;
    for change in diff.iter_all_changes() {
        let tag = change.tag();
        if open != Some(tag) {
            close(&mut out, open);
            match tag {
                ChangeTag::Delete => out.push_str("[-"),
                ChangeTag::Insert => out.push_str("[+"),
                ChangeTag::Equal => {}
            }
            open = Some(tag);
        }
        out.push_str(change.value());
    }
    close(&mut out, open);
    out
}

fn close(out: &mut String, tag: Option<ChangeTag>) {
    match tag {
        Some(ChangeTag::Delete) => out.push_str("-]"),
        Some(ChangeTag::Insert) => out.push_str("+]"),
        _ => {}
    }
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

/// Writes a restore plan: what goes back where. Only key values are shown; journaled values
/// hold production's secrets.
///
/// # Errors
/// Only those of `out`.
pub fn restore(plan: &RestorePlan, out: &mut impl Write) -> io::Result<()> {
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
    if plan.steps.is_empty() {
        writeln!(out)?;
        writeln!(out, "Nothing to restore: the journal holds no row.")?;
    }
    let rows = |n: usize| {
        if n == 1 {
            "1 row".to_string()
        } else {
            format!("{n} rows")
        }
    };
    for step in &plan.steps {
        writeln!(out)?;
        writeln!(out, "  # {}", step.change)?;
        match step.action {
            RestoreAction::Reinsert => writeln!(
                out,
                "  + insert {} into {} (those missing)",
                rows(step.rows.len()),
                step.table
            )?,
            RestoreAction::Revert => writeln!(
                out,
                "  ~ write back {} of {} (values masked)",
                rows(step.rows.len()),
                step.table
            )?,
        }
        let symbol = step.action_symbol();
        for row in step.rows.iter().take(crate::engine::SAMPLE_ROWS) {
            let key: Vec<String> = step
                .key(row)
                .iter()
                .map(|(c, v)| format!("{c} = {}", shown_key(v)))
                .collect();
            if key.is_empty() {
                writeln!(out, "      {symbol} (row without a primary key)")?;
            } else {
                writeln!(out, "      {symbol} {}", key.join(", "))?;
            }
        }
        if step.rows.len() > crate::engine::SAMPLE_ROWS {
            writeln!(
                out,
                "      … and {} more",
                rows(step.rows.len() - crate::engine::SAMPLE_ROWS)
            )?;
        }
    }
    for (change, action) in &plan.not_restorable {
        let what = match action {
            JournalAction::Fix => "a custom fix: its effect is not journaled",
            JournalAction::DropPrincipals => "dropped database users: create them again by hand",
            JournalAction::RevokeGrants => {
                "revoked privileges: the journal lists them; grant them again by hand"
            }
            JournalAction::Delete | JournalAction::Update => "no table recorded",
        };
        writeln!(
            out,
            "  = {change}: not restorable from the journal ({what})"
        )?;
    }
    let total: usize = plan.steps.iter().map(|s| s.rows.len()).sum();
    writeln!(out)?;
    writeln!(
        out,
        "Restore: {} to put back in {} tables.",
        rows(total),
        plan.steps.len()
    )?;
    Ok(())
}

fn manual(plan: &Plan, out: &mut impl Write) -> io::Result<()> {
    if plan.manual.is_empty() {
        return Ok(());
    }
    writeln!(out)?;
    writeln!(
        out,
        "Manual steps (postclone cannot do these; do them in order after apply):"
    )?;
    for (i, step) in plan.manual.iter().enumerate() {
        writeln!(out, "  {}. {} [{}]", i + 1, step.title, step.id)?;
        if let Some(details) = &step.details {
            for line in details.lines() {
                writeln!(out, "       {line}")?;
            }
        }
    }
    Ok(())
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
                front_ends: vec![],
            },
            steps: vec![Change {
                id: ResourceId::try_from("restored-database-users".to_string()).unwrap(),
                kind: ChangeKind::DropPrincipals {
                    principals: vec![principal],
                    new_owner: "dbo".into(),
                },
                rows: Drift {
                    count: 1,
                    fingerprint: String::new(),
                    sample: vec![DriftRow {
                        key: vec![("user".into(), Value::Text("OSADMIN".into()))],
                        changes: vec![],
                    }],
                },
                secret: false,
                description: None,
                labels: vec![],
            }],
            notes: vec![],
            manual: vec![],
            dependencies: vec![],
            catalog: Catalog::default(),
        };
        let mut out = Vec::new();
        render(&plan, &Detail::default(), &mut out).unwrap();
        insta::assert_snapshot!(String::from_utf8(out).unwrap());
    }

    /// Only the changed characters are marked.
    #[test]
    fn inline_diff_marks_changes() {
        assert_eq!(
            inline_diff(
                "https://prod.example.com/x",
                "https://preprod.example.com/x"
            ),
            "https://pr[+epr+]od.example.com/x"
        );
        assert_eq!(inline_diff("abc", "abd"), "ab[-c-][+d+]");
    }
}
