//! Masking: the one place deciding whether a value may be shown.

use crate::state::value::MASK;
use crate::state::Value;

/// A value as it may be shown: masked when it belongs to a secret resource.
#[must_use]
pub fn shown(value: &Value, secret: bool) -> String {
    if masked(value, secret) {
        MASK.to_string()
    } else {
        value.to_string()
    }
}

/// Whether `value` must be masked: it belongs to a secret resource and is not NULL (a NULL
/// reveals nothing, and saying so helps).
#[must_use]
pub fn masked(value: &Value, secret: bool) -> bool {
    secret && !value.is_null()
}

/// A key value. Keys identify rows (ids, names) and are shown even for secret resources, so a
/// resource must not use a secret column as a key or filter.
#[must_use]
pub fn shown_key(value: &Value) -> String {
    value.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Secret values are masked, NULL stays visible (it reveals nothing).
    #[test]
    fn masking() {
        assert_eq!(shown(&Value::Text("pw".into()), true), MASK);
        assert_eq!(shown(&Value::Text("pw".into()), false), "\"pw\"");
        assert_eq!(shown(&Value::Null, true), "NULL");
    }
}
