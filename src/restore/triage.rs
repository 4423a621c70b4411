//! Restore's triage: every journaled row read as it is now, by key, and sorted (put back,
//! already back, left alone because it changed since the apply); read again inside the
//! transaction to check nothing moved since it was shown.

use std::collections::HashMap;

use super::{shown_key, Error};
use crate::engine::{self, Engine};
use crate::journal::{
    Identities, JournaledRow, LeftAlone, Reason, RestoreAction, RestorePlan, RestoreStep, Triage,
};
use crate::run::Run;
use crate::state::Value;

/// How many journaled rows are read from the journal at a time: only one page of rows (and the
/// rows of one sealed message) is held, whatever the journal's size.
pub(super) const PAGE_ROWS: usize = 2_000;

/// Reads the journaled rows as they are now and sorts them: to put back, already back, or
/// changed since the apply (left alone). Rows of a table without a primary key cannot be found
/// again one by one: they are all put back where missing.
///
/// The journal is read a page at a time; what is kept is, per row, whether it goes back (one
/// byte), the rows left alone (listed to the user) and a sample of each change's rows to show.
///
/// # Errors
/// A failed read of the database or of the journal.
pub async fn triage<E: Engine>(run: &mut Run<E>, plan: &RestorePlan) -> Result<Triage, Error> {
    let (engine, identities) = (&mut run.engine, run.keys.identities.as_ref());
    let mut out = Triage {
        plan: plan.without_steps(),
        left_alone: Vec::new(),
        already_back: 0,
        triggers: Vec::new(),
        queues: Vec::new(),
        chosen: Vec::with_capacity(plan.steps.len()),
    };
    for step in &plan.steps {
        let sorted = sort_step(engine, plan, step, identities).await?;
        out.already_back += sorted.already_back;
        out.left_alone.extend(sorted.left_alone);
        if sorted.put > 0 {
            let mut shown = step.with_rows(sorted.sample);
            shown.count = sorted.put;
            out.plan.steps.push(shown);
        }
        out.chosen.push(sorted.chosen);
    }
    let mut tables: Vec<crate::state::TableRef> = Vec::new();
    for step in &out.plan.steps {
        if !tables.contains(&step.table) {
            tables.push(step.table.clone());
        }
    }
    out.triggers = crate::inspect::triggers(engine, &tables).await?;
    Ok(out)
}

/// One journaled change's rows, sorted.
struct SortedStep {
    /// Per row of the step, in journal order: whether it goes back.
    chosen: Vec<bool>,
    /// How many go back.
    put: u64,
    /// The first of them, to show.
    sample: Vec<JournaledRow>,
    left_alone: Vec<LeftAlone>,
    already_back: u64,
}

/// Sorts the rows of one journaled change (see [`triage`]), a page at a time.
async fn sort_step<E: Engine>(
    engine: &mut E,
    plan: &RestorePlan,
    step: &RestoreStep,
    identities: Option<&Identities>,
) -> Result<SortedStep, Error> {
    let mut out = SortedStep {
        chosen: Vec::with_capacity(usize::try_from(step.count).unwrap_or(0)),
        put: 0,
        sample: Vec::new(),
        left_alone: Vec::new(),
        already_back: 0,
    };
    let keyless = step.key_positions().is_empty();
    let missing = match step.action {
        // A row to insert, or one the apply inserted that is gone: nothing to do either way.
        RestoreAction::Reinsert | RestoreAction::Remove => Missing::Accept,
        RestoreAction::Revert => Missing::Confirm,
    };
    for page in plan.pages(step, identities, PAGE_ROWS) {
        let page = page?;
        if keyless {
            for row in &page.rows {
                out.put_back(row);
            }
            continue;
        }
        current_rows(
            engine,
            &page,
            missing,
            &mut |row, current| match sort(&page, row, current) {
                Sorted::PutBack => out.put_back(row),
                Sorted::AlreadyBack => {
                    out.chosen.push(false);
                    out.already_back += 1;
                }
                Sorted::LeftAlone(reason) => {
                    out.chosen.push(false);
                    out.left_alone.push(LeftAlone {
                        change: step.change.clone(),
                        table: step.table.clone(),
                        key: shown_key(step, &row.values),
                        label: row.label.clone(),
                        reason,
                    });
                }
            },
        )
        .await?;
    }
    Ok(out)
}

impl SortedStep {
    fn put_back(&mut self, row: &JournaledRow) {
        self.chosen.push(true);
        self.put += 1;
        if self.sample.len() < crate::engine::SAMPLE_ROWS {
            self.sample.push(row.clone());
        }
    }
}

/// Whether the journal's rows, sorted again now, are sorted as `shown`: a change at a time, so
/// that only one change's verdicts are held besides what was shown.
pub(super) async fn sorted_as_shown<E: Engine>(
    engine: &mut E,
    journal: &RestorePlan,
    shown: &Triage,
    identities: Option<&Identities>,
) -> Result<bool, Error> {
    if shown.chosen.len() != journal.steps.len() {
        return Ok(false);
    }
    let mut left_alone = shown.left_alone.iter();
    let mut already_back = 0;
    for (step, chosen) in journal.steps.iter().zip(&shown.chosen) {
        let sorted = sort_step(engine, journal, step, identities).await?;
        already_back += sorted.already_back;
        let same_left = sorted
            .left_alone
            .iter()
            .all(|l| left_alone.next() == Some(l));
        if !same_left || sorted.chosen != *chosen {
            return Ok(false);
        }
    }
    Ok(left_alone.next().is_none() && already_back == shown.already_back)
}

pub(super) enum Sorted {
    PutBack,
    AlreadyBack,
    LeftAlone(Reason),
}

/// Where one journaled row stands, given the row with its key in the table now.
pub(super) fn sort(step: &RestoreStep, row: &JournaledRow, now: Option<&[Value]>) -> Sorted {
    let differing = |positions: &[usize], wanted: &dyn Fn(usize) -> Value| -> Vec<String> {
        positions
            .iter()
            .filter(|&&i| {
                !now.and_then(|r| r.get(i))
                    .is_some_and(|v| v.same_as(&wanted(i)))
            })
            .map(|&i| step.columns[i].name.clone())
            .collect()
    };
    match (step.action, now) {
        (RestoreAction::Reinsert, None) => Sorted::PutBack,
        (RestoreAction::Reinsert, Some(_)) => {
            let all: Vec<usize> = (0..step.columns.len()).collect();
            let changed = differing(&all, &|i| row.values[i].clone());
            if changed.is_empty() {
                Sorted::AlreadyBack
            } else {
                Sorted::LeftAlone(Reason::ChangedSince(changed))
            }
        }
        (RestoreAction::Remove, None) => Sorted::AlreadyBack,
        (RestoreAction::Remove, Some(_)) => {
            let all: Vec<usize> = (0..step.columns.len()).collect();
            let changed = differing(&all, &|i| row.values[i].clone());
            if changed.is_empty() {
                Sorted::PutBack
            } else {
                Sorted::LeftAlone(Reason::ChangedSince(changed))
            }
        }
        (RestoreAction::Revert, None) => Sorted::LeftAlone(Reason::Gone),
        (RestoreAction::Revert, Some(_)) => {
            let written = step.written_positions();
            if differing(&written, &|i| row.values[i].clone()).is_empty() {
                return Sorted::AlreadyBack;
            }
            if !step.knows_written_values() {
                // A journal that does not say what the apply wrote: the old values go back.
                return Sorted::PutBack;
            }
            let after: HashMap<usize, &Value> = written.iter().copied().zip(&row.after).collect();
            let changed = differing(&written, &|i| {
                after.get(&i).map_or(Value::Null, |v| (*v).clone())
            });
            if changed.is_empty() {
                Sorted::PutBack
            } else {
                Sorted::LeftAlone(Reason::ChangedSince(changed))
            }
        }
    }
}

/// Gives `each` every journaled row, in journal order, with the row of its key as it is now
/// (`None`: not in the table), read by key in batches: only one batch of current rows is held.
/// Which current row belongs to which journaled row is the server's own comparison of keys
/// (each row read back comes with the position of the key it matched), never a comparison of
/// values read back. With [`Missing::Confirm`], a row the batch did not return is looked for
/// again by its key alone before it is called missing.
pub(super) async fn current_rows<E: Engine>(
    engine: &mut E,
    step: &RestoreStep,
    missing: Missing,
    each: &mut dyn FnMut(&JournaledRow, Option<&[Value]>),
) -> Result<(), Error> {
    let context = format!(
        "reading the journaled rows of {} as they are now",
        step.table
    );
    let indices: Vec<usize> = (0..step.rows.len()).collect();
    for batch in indices.chunks(crate::sql::VERIFY_BATCH) {
        let mut now: Vec<Option<Vec<Value>>> = vec![None; batch.len()];
        let select = crate::sql::verify_query(step, batch, engine.flavor());
        let mut unexpected = false;
        let read = engine
            .stream(&select, &context, &mut |mut row| {
                // The embedded engine sends a `VALUES` list's numbers as text.
                let position = match row.first() {
                    Some(Value::Int(n)) => usize::try_from(*n).ok(),
                    Some(Value::Text(t)) => t.parse().ok(),
                    _ => None,
                };
                let slot = position.and_then(|n| now.get_mut(n));
                let Some(slot) = slot.filter(|s| s.is_none()) else {
                    unexpected = true;
                    return Err(engine::Error::Stopped {
                        context: context.clone(),
                    });
                };
                row.remove(0);
                *slot = Some(row);
                Ok(())
            })
            .await;
        if unexpected {
            return Err(unexpected_row(&context));
        }
        read?;
        for (&i, current) in batch.iter().zip(now.iter_mut()) {
            let row = &step.rows[i];
            if current.is_none() && missing == Missing::Confirm {
                *current = by_key_alone(engine, step, row).await?;
            }
            each(row, current.as_deref());
        }
    }
    Ok(())
}

/// Whether a journaled row a batch did not return is looked for again.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Missing {
    /// It is to be inserted: an insert of a row that is there fails on its key anyway.
    Accept,
    /// Calling it missing would be a verdict (gone since the apply, or not restored).
    Confirm,
}

/// The row with `row`'s key, read by its key alone.
async fn by_key_alone<E: Engine>(
    engine: &mut E,
    step: &RestoreStep,
    row: &JournaledRow,
) -> Result<Option<Vec<Value>>, Error> {
    let Some(select) = crate::sql::key_query(step, row, engine.flavor()) else {
        return Ok(None);
    };
    let context = format!(
        "looking for the row of {} with {} by its key",
        step.table,
        shown_key(step, &row.values)
    );
    let mut found = None;
    let mut count = 0;
    engine
        .stream(&select, &context, &mut |current| {
            count += 1;
            found = Some(current);
            Ok(())
        })
        .await?;
    if count > 1 {
        return Err(unexpected_row(&context));
    }
    Ok(found)
}

/// A row the server returned that matches no journaled key, or a second row for one key: the
/// journal's key is not the table's, and nothing can be sorted safely.
fn unexpected_row(context: &str) -> Error {
    Error::KeyNotJournaled {
        context: context.to_string(),
    }
}
