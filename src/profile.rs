//! Built-in profiles: specs shipped in `specs/` and embedded in the binary, included by name
//! (`include: [outsystems-o11]`).
//!
//! The OutSystems knowledge lives in those YAML files as data; this file only finds them.

/// The built-in profiles, by name, with their text.
const PROFILES: &[(&str, &str)] = &[
    (
        "outsystems-o11",
        include_str!("../specs/outsystems-o11.yaml"),
    ),
    (
        "outsystems-o11-quarantine",
        include_str!("../specs/outsystems-o11-quarantine.yaml"),
    ),
    (
        "outsystems-o11-personal-data",
        include_str!("../specs/outsystems-o11-personal-data.yaml"),
    ),
    (
        "outsystems-o11-carry",
        include_str!("../specs/outsystems-o11-carry.yaml"),
    ),
];

/// The names of the built-in profiles.
pub const NAMES: [&str; 4] = [
    "outsystems-o11",
    "outsystems-o11-quarantine",
    "outsystems-o11-personal-data",
    "outsystems-o11-carry",
];

/// The text of the built-in profile `name`.
#[must_use]
pub fn get(name: &str) -> Option<&'static str> {
    PROFILES
        .iter()
        .find(|(n, _)| *n == name)
        .map(|(_, text)| *text)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every name in `NAMES` resolves, and nothing else does.
    #[test]
    fn names_resolve() {
        for name in NAMES {
            assert!(get(name).is_some(), "{name}");
        }
        assert_eq!(PROFILES.len(), NAMES.len());
        assert!(get("nope").is_none());
    }
}
