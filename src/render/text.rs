//! The terminal plan: Terraform-like symbols (`-` delete, `~` change, `+` add), per resource,
//! with row counts, keys and value diffs, a closing summary line, then the manual steps.

use std::io::{self, Write};

use super::lines;
use super::mask::shown_key;
use super::Detail;
use crate::journal::{JournalAction, RestoreAction, RestorePlan, Status};
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
                front_end_list: None,
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
}
