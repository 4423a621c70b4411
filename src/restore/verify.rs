//! Restore's proof: every row it put back read again and compared with the journal before the
//! commit (by key; a table without one read whole, as digests).

use std::collections::HashMap;

use super::triage::{current_rows, Missing};
use super::{chosen_pages, Mismatch};
use crate::engine::Engine;
use crate::journal::{Identities, RestoreAction, RestorePlan, RestoreStep};
use crate::state::fingerprint::row_digest;
use crate::state::Value;

/// Why rows did not read back as journaled.
pub(super) enum Failure {
    Read(super::Error),
    Journal(crate::journal::Error),
    Row { key: String, mismatch: Mismatch },
}

/// `COLUMN = value, ...` of a row's key, or a note for a table without one.
pub(super) fn shown_key(step: &RestoreStep, row: &[Value]) -> String {
    let key = step.key(row);
    if key.is_empty() {
        "no primary key (values not shown)".into()
    } else {
        key.iter()
            .map(|(c, v)| format!("{c} = {v}"))
            .collect::<Vec<_>>()
            .join(", ")
    }
}

/// Reads back every row of `step` that `chosen` marks and compares it with the journal in the
/// columns restore wrote (every column for a row inserted back); returns how many matched.
pub(super) async fn verify<E: Engine>(
    engine: &mut E,
    journal: &RestorePlan,
    step: &RestoreStep,
    chosen: &[bool],
    identities: Option<&Identities>,
) -> Result<u64, Failure> {
    let key = step.key_positions();
    if key.is_empty() {
        return verify_keyless(engine, journal, step, chosen, identities).await;
    }
    let compared: Vec<usize> = match step.action {
        RestoreAction::Reinsert => (0..step.columns.len()).collect(),
        // A row taken out must be gone.
        RestoreAction::Remove => Vec::new(),
        RestoreAction::Revert => {
            let mut c = key.clone();
            c.extend(step.written_positions());
            c
        }
    };
    let mut matched = 0;
    for part in chosen_pages(journal, step, chosen, identities) {
        let part = part.map_err(Failure::Journal)?;
        // The first row, in journal order, that does not read back as journaled.
        let mut first: Option<(String, Mismatch)> = None;
        current_rows(engine, &part, Missing::Confirm, &mut |row, current| {
            if first.is_some() {
                return;
            }
            let current = match (step.action, current) {
                (RestoreAction::Remove, None) => return,
                (RestoreAction::Remove, Some(_)) => {
                    first = Some((shown_key(step, &row.values), Mismatch::StillThere));
                    return;
                }
                (_, None) => {
                    first = Some((shown_key(step, &row.values), Mismatch::Missing));
                    return;
                }
                (_, Some(current)) => current,
            };
            let differs: Vec<String> = compared
                .iter()
                .filter(|&&i| current.get(i) != row.values.get(i))
                .map(|&i| step.columns[i].name.clone())
                .collect();
            if !differs.is_empty() {
                first = Some((shown_key(step, &row.values), Mismatch::Differs(differs)));
            }
        })
        .await
        .map_err(Failure::Read)?;
        if let Some((key, mismatch)) = first {
            return Err(Failure::Row { key, mismatch });
        }
        matched += part.rows.len() as u64;
    }
    Ok(matched)
}

/// A table without a key: every journaled row must be among the table's rows, as many times.
/// Its rows cannot be looked for one by one, so a digest of each (32 bytes) is held while the
/// table is read once.
async fn verify_keyless<E: Engine>(
    engine: &mut E,
    journal: &RestorePlan,
    step: &RestoreStep,
    chosen: &[bool],
    identities: Option<&Identities>,
) -> Result<u64, Failure> {
    let context = format!("reading back the restored rows of {}", step.table);
    let mut wanted: HashMap<[u8; 32], usize> = HashMap::new();
    let mut total = 0;
    for part in chosen_pages(journal, step, chosen, identities) {
        for row in &part.map_err(Failure::Journal)?.rows {
            *wanted.entry(row_digest(&row.values)).or_insert(0) += 1;
            total += 1;
        }
    }
    let select = crate::sql::verify_query(step, &[], engine.flavor());
    engine
        .stream(&select, &context, &mut |row| {
            if let Some(n) = wanted.get_mut(&row_digest(&row)) {
                *n = n.saturating_sub(1);
            }
            Ok(())
        })
        .await
        .map_err(|e| Failure::Read(e.into()))?;
    if wanted.values().any(|n| *n > 0) {
        return Err(Failure::Row {
            key: shown_key(step, &[]),
            mismatch: Mismatch::Missing,
        });
    }
    Ok(total)
}
