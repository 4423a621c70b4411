//! The copies scan's lines: copies of masked originals no rule names, and the statement of
//! coverage that ends every plan that masks.

use super::*;

/// Copies of masked originals found where no masking rule names them, by table, key and
/// column: never the value.
pub(in crate::render) fn copies(plan: &Plan) -> Vec<Line> {
    let Some(c) = plan.copies.as_ref().filter(|c| c.found > 0) else {
        return Vec::new();
    };
    let mut out = vec![
        Line::blank(),
        Line::new(
            Kind::FindingHeading,
            0,
            None,
            "Copies of masked values (found by keyed digest; the originals are never shown):",
        ),
    ];
    for copy in c.copies.iter().take(HITS_SHOWN) {
        let key: Vec<String> = copy
            .key
            .iter()
            .map(|(k, v)| format!("{k} = {}", shown_key(v)))
            .collect();
        let covered = match &copy.covered_by {
            Some(id) => format!("; covered by {id} in this plan"),
            None => "; no rule of this plan covers it".to_string(),
        };
        out.push(Line::new(
            Kind::Finding,
            2,
            Some('!'),
            format!(
                "{} {}, {} copies {}{covered}",
                copy.table,
                key.join(", "),
                copy.column,
                copy.origin
            ),
        ));
    }
    let listed = c.copies.len().min(HITS_SHOWN) as u64;
    if c.found > listed {
        out.push(Line::new(
            Kind::More,
            2,
            None,
            format!(
                "… and {} more (the first 1,000 are in `--format json`)",
                c.found - listed
            ),
        ));
    }
    out
}

/// The plan's statement of masking coverage: what was masked, how far the copies scan looked,
/// what it found, and what it did not read.
pub(in crate::render) fn coverage(plan: &Plan) -> Vec<Line> {
    let Some(c) = &plan.copies else {
        return Vec::new();
    };
    let covered = c.found - c.found_uncovered;
    let mut out = vec![
        Line::blank(),
        Line::new(
            Kind::ManualHeading,
            0,
            None,
            "Masking coverage (copies of the originals compared by keyed digest, never kept):",
        ),
        Line::new(
            Kind::ManualDetail,
            2,
            None,
            format!("masked: {}", c.masked.join(", ")),
        ),
        Line::new(
            Kind::ManualDetail,
            2,
            None,
            format!(
                "scanned: {} tables, {} text columns, {} against {} originals",
                c.tables_scanned,
                c.columns_scanned,
                rows(c.rows_scanned),
                c.originals
            ),
        ),
        Line::new(
            Kind::ManualDetail,
            2,
            None,
            format!(
                "copies: {} found, {covered} covered by this plan (masked or deleted), {} not",
                c.found, c.found_uncovered
            ),
        ),
    ];
    if !c.not_scanned.is_empty() {
        let shown: Vec<String> = c
            .not_scanned
            .iter()
            .take(20)
            .map(|n| {
                if n.column.is_empty() {
                    format!("{} ({})", n.table, n.reason)
                } else {
                    format!("{}.{} ({})", n.table, n.column, n.reason)
                }
            })
            .collect();
        let more = c.not_scanned.len().saturating_sub(20);
        out.push(Line::new(
            Kind::ManualDetail,
            2,
            None,
            format!(
                "not scanned: {}{}",
                shown.join(", "),
                if more > 0 {
                    format!(", and {more} more")
                } else {
                    String::new()
                }
            ),
        ));
    }
    out
}
