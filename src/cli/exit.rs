//! Exit codes. Derived from the outcome, never from clap's defaults: clap exits 2 on a usage
//! error, which CI would read as "changes pending".

/// Success, or (for `plan`) no changes.
pub const SUCCESS: i32 = 0;
/// Any error, usage errors included.
pub const ERROR: i32 = 1;
/// `plan --detailed-exitcode` only: the database differs from the spec.
pub const CHANGES_PENDING: i32 = 2;
