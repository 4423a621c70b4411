//! The time postclone writes into what it records (captures, attestations, fleet reports):
//! UTC, to the second, in one form.

/// Now, as `YYYY-MM-DDTHH:MM:SSZ`.
#[must_use]
pub fn now_utc() -> String {
    let seconds = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    i64::try_from(seconds)
        .ok()
        .and_then(|s| chrono::DateTime::<chrono::Utc>::from_timestamp(s, 0))
        .map(|t| t.format("%Y-%m-%dT%H:%M:%SZ").to_string())
        .unwrap_or_default()
}
