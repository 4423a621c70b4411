//! The JSON plan: a stable, versioned document for tools (`plan --format json`).
//!
//! Its schema is generated from these types into `schema/plan.schema.json`. Additions keep
//! `format_version`; anything that would break a reader bumps it.

use std::collections::BTreeMap;
use std::io::{self, Write};

use schemars::JsonSchema;
use serde::Serialize;

use super::mask;
use super::Detail;
use crate::change::{Action, Change, ChangeKind, EmptyMethod};
use crate::diff::Note;
use crate::plan::Plan;
use crate::state::observed::DriftRow;
use crate::state::Value;

/// The version of the JSON plan format this build writes.
pub const FORMAT_VERSION: u32 = 1;

/// A plan, as `postclone plan --format json` writes it.
#[derive(Debug, Serialize, JsonSchema)]
#[schemars(title = "postclone plan (JSON)")]
pub struct PlanDocument {
    /// Version of this format; a reader should refuse a version it does not know.
    pub format_version: u32,
    /// The database the plan was made against, as the server reported it.
    pub target: TargetDocument,
    /// Whether the database already matches the spec.
    pub no_changes: bool,
    /// Counts for the summary line.
    pub summary: SummaryDocument,
    /// What read-only reports found before any change (every report, found rows or not).
    pub reports: Vec<ReportDocument>,
    /// Changes, in the order apply runs them.
    pub changes: Vec<ChangeDocument>,
    /// Values that still name production, per scanned table (apply does not change them).
    pub findings: Vec<FindingDocument>,
    /// Resources with nothing to do for a reason worth saying (an absent optional table...).
    pub notes: Vec<NoteDocument>,
    /// Steps to do by hand after apply, in order.
    pub manual: Vec<ManualDocument>,
    /// When the plan masks: the copies of the originals found elsewhere, and the statement of
    /// coverage (what was masked, what was scanned, what was not).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub copies: Option<CopiesDocument>,
}

/// The copies scan of a plan that masks.
#[derive(Debug, Serialize, JsonSchema)]
pub struct CopiesDocument {
    /// The masked attributes (`crm-customers.Email`).
    pub masked: Vec<String>,
    /// Originals compared, by keyed digest.
    pub originals: u64,
    /// Tables read.
    pub tables_scanned: usize,
    /// Text columns read.
    pub columns_scanned: usize,
    /// Rows read.
    pub rows_scanned: u64,
    /// Copies found, in all.
    pub found: u64,
    /// Copies found that no masking rule of the plan masks.
    pub not_covered: u64,
    /// The first copies found (a thousand at most): where, never the value.
    pub copies: Vec<CopyDocument>,
    /// Columns (or whole tables, with no column) not read, and why.
    pub not_scanned: Vec<NotScannedDocument>,
}

/// A copy of a masked original.
#[derive(Debug, Serialize, JsonSchema)]
pub struct CopyDocument {
    /// The table.
    pub table: String,
    /// The row's primary key.
    pub key: Vec<CellDocument>,
    /// The column holding the copy.
    pub column: String,
    /// The masked attribute it copies.
    pub origin: String,
    /// The masking rule of this plan that masks the column, if one does.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub covered_by: Option<String>,
}

/// A column the copies scan did not read.
#[derive(Debug, Serialize, JsonSchema)]
pub struct NotScannedDocument {
    /// The table.
    pub table: String,
    /// The column; empty for the whole table.
    pub column: String,
    /// Why.
    pub reason: String,
}

fn copies_document(c: &crate::state::copies::CopiesFacts) -> CopiesDocument {
    CopiesDocument {
        masked: c.masked.clone(),
        originals: c.originals,
        tables_scanned: c.tables_scanned,
        columns_scanned: c.columns_scanned,
        rows_scanned: c.rows_scanned,
        found: c.found,
        not_covered: c.found_uncovered,
        copies: c
            .copies
            .iter()
            .map(|copy| CopyDocument {
                table: copy.table.to_string(),
                key: copy
                    .key
                    .iter()
                    .map(|(column, value)| CellDocument {
                        column: column.clone(),
                        value: json(value, false),
                    })
                    .collect(),
                column: copy.column.clone(),
                origin: copy.origin.clone(),
                covered_by: copy.covered_by.as_ref().map(ToString::to_string),
            })
            .collect(),
        not_scanned: c
            .not_scanned
            .iter()
            .map(|n| NotScannedDocument {
                table: n.table.to_string(),
                column: n.column.clone(),
                reason: n.reason.clone(),
            })
            .collect(),
    }
}

/// Server and database.
#[derive(Debug, Serialize, JsonSchema)]
pub struct TargetDocument {
    /// `@@SERVERNAME` (SQL Server) or the instance name.
    pub server: String,
    /// The database (or schema) inspected.
    pub database: String,
}

/// What a read-only report found.
#[derive(Debug, Serialize, JsonSchema)]
pub struct ReportDocument {
    /// The resource id.
    pub id: String,
    /// What the rows are.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Rows counted.
    pub count: u64,
    /// The first rows' names (none for a secret report or one without `label:`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub names: Vec<ReportRowDocument>,
}

/// A row a report names.
#[derive(Debug, Serialize, JsonSchema)]
pub struct ReportRowDocument {
    /// Its name.
    pub name: String,
    /// Its details (`since` ...).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub details: BTreeMap<String, String>,
}

/// Counts per action class.
#[derive(Debug, Serialize, JsonSchema)]
pub struct SummaryDocument {
    /// Changes that add rows.
    pub add: usize,
    /// Changes that modify rows.
    pub change: usize,
    /// Changes that delete rows.
    pub delete: usize,
    /// Rows affected by all changes.
    pub rows: u64,
    /// Values that name production.
    pub production_values: usize,
}

/// Values of one table that name production.
#[derive(Debug, Serialize, JsonSchema)]
pub struct FindingDocument {
    /// The resource (one per scanned table).
    pub id: String,
    /// Its description.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// The table, `schema.name`.
    pub table: String,
    /// Every value found.
    pub hits: Vec<HitDocument>,
}

/// One value that names production.
#[derive(Debug, Serialize, JsonSchema)]
pub struct HitDocument {
    /// The row's key.
    pub key: Vec<CellDocument>,
    /// The column.
    pub column: String,
    /// The hosts it names.
    pub hosts: Vec<String>,
    /// The value; `(sensitive value)` when it is secret.
    pub value: ValueDocument,
    /// The change of this plan that rewrites it, if one does.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fixed_by: Option<String>,
}

/// The three action classes, as in the text plan's `+`, `~`, `-`.
#[derive(Debug, Clone, Copy, Serialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum ActionDocument {
    /// Adds rows.
    Add,
    /// Modifies rows (or runs a fix).
    Change,
    /// Deletes rows or principals.
    Delete,
}

/// What a change does.
#[derive(Debug, Clone, Copy, Serialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum OperationDocument {
    /// Deletes the rows matching the resource's filter.
    DeleteRows,
    /// Empties the table with `TRUNCATE`.
    Truncate,
    /// Empties the table with `DELETE` (truncation is not allowed here).
    DeleteAll,
    /// Sets column values.
    SetColumns,
    /// Inserts the captured rows the table lacks (`columns`: those each row is written with).
    InsertRows,
    /// Drops database users, handing what they own to another principal first.
    DropPrincipals,
    /// Revokes object privileges.
    RevokeGrants,
    /// Runs the resource's own fix statement.
    RunFix,
}

/// One change.
#[derive(Debug, Serialize, JsonSchema)]
pub struct ChangeDocument {
    /// Position in the execution order, from 1.
    pub order: usize,
    /// The resource id.
    pub id: String,
    /// Action class.
    pub action: ActionDocument,
    /// What it does.
    pub operation: OperationDocument,
    /// The resource's description.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// The table written, `schema.name`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub table: Option<String>,
    /// The columns set (`set_columns` only).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub columns: Vec<String>,
    /// What the platform metamodel says of the table (entity, module).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub labels: BTreeMap<String, String>,
    /// Values of this change are masked.
    pub secret: bool,
    /// Its rows hold personal data: values are never written, only keys.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub personal: bool,
    /// `true` when the database commits the change by itself (Oracle's `REVOKE`): it runs
    /// before the apply transaction, and a rollback does not undo it.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub outside_transaction: bool,
    /// Rows affected, all counted.
    pub rows: u64,
    /// The first rows, by key; `rows` minus their number are not listed.
    pub sample: Vec<RowDocument>,
    /// Resources that must run before this one, and why.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub after: Vec<DependencyDocument>,
    /// Database users dropped (`drop_principals`), or privileges revoked (`revoke_grants`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub principals: Vec<String>,
    /// The statements apply runs (with `--verbose`): values as parameters, secrets masked.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub statements: Vec<String>,
}

/// A row of a change.
#[derive(Debug, Serialize, JsonSchema)]
pub struct RowDocument {
    /// Key columns and their values (every column for a custom check's rows).
    pub key: Vec<CellDocument>,
    /// The row's name, when its resource declares `label:`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub label: Option<String>,
    /// Value changes (updates only).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub changes: Vec<ValueChangeDocument>,
}

/// One column's value.
#[derive(Debug, Serialize, JsonSchema)]
pub struct CellDocument {
    /// Column name.
    pub column: String,
    /// Its value.
    pub value: ValueDocument,
}

/// A value in a plan.
#[derive(Debug, Serialize, JsonSchema)]
#[serde(untagged)]
pub enum ValueDocument {
    /// A value over 1,024 characters (or bytes): its size and digest.
    Long(LongValueDocument),
    /// Null, a boolean, a number or a string (binary data as hex digits); a masked value is
    /// the string `(sensitive value)`.
    Whole(serde_json::Value),
}

/// A value too long to be written whole into a plan: its size and digest.
#[derive(Debug, Serialize, JsonSchema)]
pub struct LongValueDocument {
    /// `text` or `binary`.
    pub long: &'static str,
    /// Characters (text) or bytes (binary).
    pub length: u64,
    /// SHA-256 of the value (of its UTF-8 bytes, for text), as hex digits.
    pub sha256: String,
    /// The first 100 characters of a text.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub start: Option<String>,
}

/// Longest text (characters) or binary value (bytes) written whole into a JSON plan.
pub const LONGEST_WHOLE: usize = 1_024;

/// A column whose value changes.
#[derive(Debug, Serialize, JsonSchema)]
pub struct ValueChangeDocument {
    /// Column name.
    pub column: String,
    /// Value now (`(sensitive value)` when masked).
    pub before: ValueDocument,
    /// Value after apply (`(sensitive value)` when masked).
    pub after: ValueDocument,
}

/// An ordering edge.
#[derive(Debug, Serialize, JsonSchema)]
pub struct DependencyDocument {
    /// The resource that runs first.
    pub id: String,
    /// `declared` (`after:` in the spec), `foreign key NAME`, or `ownership: schema S of user U`.
    pub reason: String,
}

/// A resource with nothing to do, and why.
#[derive(Debug, Serialize, JsonSchema)]
pub struct NoteDocument {
    /// The resource.
    pub id: String,
    /// Why.
    pub message: String,
}

/// A manual step.
#[derive(Debug, Serialize, JsonSchema)]
pub struct ManualDocument {
    /// Its id.
    pub id: String,
    /// What to do.
    pub title: String,
    /// How.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub details: Option<String>,
    /// The resources of the plan that do the step for what they declare.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub covered_by: Vec<String>,
}

/// The document for `plan`.
#[must_use]
pub fn document(plan: &Plan, detail: &Detail<'_>) -> PlanDocument {
    let s = plan.summary();
    PlanDocument {
        format_version: FORMAT_VERSION,
        target: TargetDocument {
            server: plan.target.server.clone(),
            database: plan.target.database.clone(),
        },
        no_changes: plan.is_empty(),
        summary: SummaryDocument {
            add: s.add,
            change: s.change,
            delete: s.delete,
            rows: s.rows,
            production_values: plan.hits(),
        },
        reports: plan
            .reports
            .iter()
            .map(|r| ReportDocument {
                id: r.id.to_string(),
                description: r.description.clone(),
                count: r.count,
                names: r
                    .rows
                    .iter()
                    .filter_map(|row| {
                        Some(ReportRowDocument {
                            name: row.label.clone()?,
                            details: row.details.iter().cloned().collect(),
                        })
                    })
                    .collect(),
            })
            .collect(),
        changes: plan
            .steps
            .iter()
            .enumerate()
            .map(|(i, step)| change(plan, i, step, detail))
            .collect(),
        findings: plan
            .findings
            .iter()
            .map(|f| FindingDocument {
                id: f.id.to_string(),
                description: f.description.clone(),
                table: f.table.to_string(),
                hits: f
                    .hits
                    .iter()
                    .map(|found| HitDocument {
                        key: found
                            .hit
                            .key
                            .iter()
                            .map(|(column, value)| CellDocument {
                                column: column.clone(),
                                value: json(value, false),
                            })
                            .collect(),
                        column: found.hit.column.clone(),
                        hosts: found.hit.hosts.clone(),
                        value: found.hit.value.as_ref().map_or_else(
                            || json(&Value::Text(String::new()), true),
                            |v| json(v, false),
                        ),
                        fixed_by: found.fixed_by.as_ref().map(ToString::to_string),
                    })
                    .collect(),
            })
            .collect(),
        notes: plan
            .notes
            .iter()
            .map(|n| NoteDocument {
                id: note_id(n).to_string(),
                message: super::note_message(n),
            })
            .collect(),
        manual: plan
            .manual
            .iter()
            .map(|m| ManualDocument {
                id: m.id.to_string(),
                title: m.title.clone(),
                details: m.details.clone(),
                covered_by: m.covered_by.iter().map(ToString::to_string).collect(),
            })
            .collect(),
        copies: plan.copies.as_ref().map(copies_document),
    }
}

/// Writes the plan as pretty-printed JSON.
///
/// # Errors
/// Only those of `out`.
pub fn render(plan: &Plan, detail: &Detail<'_>, out: &mut impl Write) -> io::Result<()> {
    let text = serde_json::to_string_pretty(&document(plan, detail)).map_err(io::Error::other)?;
    writeln!(out, "{}", super::escape::json(&text))
}

/// The JSON Schema of [`PlanDocument`], as committed in `schema/plan.schema.json`.
#[must_use]
pub fn schema() -> String {
    let schema = schemars::schema_for!(PlanDocument);
    serde_json::to_string_pretty(&schema).unwrap_or_default() + "\n"
}

fn note_id(note: &Note) -> &crate::state::desired::ResourceId {
    match note {
        Note::TableAbsent { id, .. }
        | Note::NothingResolved { id, .. }
        | Note::EmptyText { id, .. }
        | Note::NotOnThisEngine { id }
        | Note::Unscannable { id, .. }
        | Note::Uncovered { id, .. }
        | Note::Triggers { id, .. }
        | Note::UniqueUnchecked { id, .. }
        | Note::AttributesUnchecked { id }
        | Note::NotJournaled { id, .. }
        | Note::NotInClone { id, .. }
        | Note::OnlyInClone { id, .. }
        | Note::Sealed { id, .. } => id,
    }
}

fn change(plan: &Plan, i: usize, step: &Change, detail: &Detail<'_>) -> ChangeDocument {
    let (operation, columns, principals) = match &step.kind {
        ChangeKind::DeleteRows { .. } => (OperationDocument::DeleteRows, vec![], vec![]),
        ChangeKind::EmptyTable { method, .. } => (
            match method {
                EmptyMethod::Truncate => OperationDocument::Truncate,
                EmptyMethod::Delete { .. } => OperationDocument::DeleteAll,
            },
            vec![],
            vec![],
        ),
        ChangeKind::SetColumns { assignments, .. } => (
            OperationDocument::SetColumns,
            assignments.iter().map(|a| a.column.clone()).collect(),
            vec![],
        ),
        ChangeKind::DropPrincipals { principals, .. } => (
            OperationDocument::DropPrincipals,
            vec![],
            principals.iter().map(|p| p.name.clone()).collect(),
        ),
        ChangeKind::RevokeGrants { grants } => (
            OperationDocument::RevokeGrants,
            vec![],
            grants
                .iter()
                .map(|g| {
                    format!(
                        "{} on {}.{} from {}",
                        g.privilege, g.owner, g.object, g.grantee
                    )
                })
                .collect(),
        ),
        ChangeKind::InsertRows { rows, .. } => {
            (OperationDocument::InsertRows, rows.columns(), vec![])
        }
        ChangeKind::RunFix { .. } => (OperationDocument::RunFix, vec![], vec![]),
    };
    ChangeDocument {
        order: i + 1,
        id: step.id.to_string(),
        action: match step.action() {
            Action::Add => ActionDocument::Add,
            Action::Change => ActionDocument::Change,
            Action::Delete => ActionDocument::Delete,
        },
        operation,
        description: step.description.clone(),
        table: step.table().map(|t| t.table.to_string()),
        columns,
        labels: step.labels.iter().cloned().collect(),
        secret: step.secret,
        personal: step.personal,
        outside_transaction: step.commits_by_itself(),
        rows: step.rows.count,
        sample: step.rows.sample.iter().map(|r| row(r, step)).collect(),
        after: plan
            .dependencies
            .iter()
            .filter(|d| d.then == step.id && plan.steps.iter().any(|s| s.id == d.first))
            .map(|d| DependencyDocument {
                id: d.first.to_string(),
                reason: d.reason.to_string(),
            })
            .collect(),
        principals,
        statements: detail
            .statements
            .and_then(|all| all.get(i))
            .cloned()
            .unwrap_or_default(),
    }
}

fn row(r: &DriftRow, step: &Change) -> RowDocument {
    let custom = matches!(step.kind, ChangeKind::RunFix { .. });
    RowDocument {
        key: r
            .key
            .iter()
            .map(|(column, value)| CellDocument {
                column: column.clone(),
                value: if custom {
                    json(value, step.secret || step.personal || r.secret)
                } else {
                    json(value, false)
                },
            })
            .collect(),
        label: r.label.clone(),
        changes: r
            .changes
            .iter()
            .map(|c| ValueChangeDocument {
                column: c.column.clone(),
                before: json(&c.old, step.secret || step.personal || r.secret),
                after: json(&c.new, step.secret || step.personal || r.secret),
            })
            .collect(),
    }
}

/// A value as JSON, or the mask: the same rule as every other format (`mask::shown`); a long
/// value as its size and digest.
fn json(value: &Value, secret: bool) -> ValueDocument {
    use sha2::{Digest, Sha256};
    let hex = |bytes: &[u8]| crate::state::value::hex(&Sha256::digest(bytes));
    let long = match value {
        _ if mask::masked(value, secret) => {
            return ValueDocument::Whole(serde_json::Value::String(
                crate::state::value::MASK.into(),
            ))
        }
        Value::Text(t) if t.chars().nth(LONGEST_WHOLE).is_some() => Some(LongValueDocument {
            long: "text",
            length: t.chars().count() as u64,
            sha256: hex(t.as_bytes()),
            start: Some(t.chars().take(100).collect()),
        }),
        Value::Bytes(b) if b.len() > LONGEST_WHOLE => Some(LongValueDocument {
            long: "binary",
            length: b.len() as u64,
            sha256: hex(b),
            start: None,
        }),
        _ => None,
    };
    match long {
        Some(doc) => ValueDocument::Long(doc),
        None => ValueDocument::Whole(serde_json::to_value(value).unwrap_or_default()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Long values are written as size and digest; short ones whole; secrets masked first.
    #[test]
    fn long_values_as_size_and_digest() {
        let json = |v: &Value, secret| serde_json::to_value(json(v, secret)).unwrap();
        let long = json(&Value::Text("é".repeat(2_000)), false);
        assert_eq!(long["long"], "text");
        assert_eq!(long["length"], 2_000);
        assert_eq!(long["sha256"].as_str().map(str::len), Some(64));
        assert_eq!(long["start"].as_str().map(|s| s.chars().count()), Some(100));
        let bytes = json(&Value::Bytes(vec![7; 1 << 20]), false);
        assert_eq!(bytes["length"], 1 << 20);
        assert!(bytes.get("start").is_none());
        assert_eq!(json(&Value::Text("short".into()), false), "short");
        assert_eq!(
            json(&Value::Text("x".repeat(5_000)), true),
            "(sensitive value)"
        );
    }
}
