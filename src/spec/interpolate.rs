//! `${env:NAME}` in a spec's connection: written in the spec, replaced by the environment
//! variable when connecting, so that no password sits in the YAML.

use std::ops::Range;

/// A `${...}` that cannot be replaced.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InterpolationError {
    /// A `${` that is never closed.
    #[error("`${{` at byte {at} is never closed")]
    Unclosed {
        /// Where it opens.
        at: usize,
    },
    /// `${...}` that is not `${env:...}`.
    #[error("`${{{inner}}}` is not an environment reference")]
    NotEnv {
        /// What is between the braces.
        inner: String,
    },
    /// `${env:...}` whose name is not a variable name.
    #[error("`${{{inner}}}` does not name a variable")]
    BadName {
        /// What is between the braces.
        inner: String,
    },
    /// A variable that is not set.
    #[error("environment variable {name} is not set")]
    Unset {
        /// The variable.
        name: String,
    },
}

/// The `${env:NAME}` references of a text, in order.
///
/// # Errors
/// A `${` that does not open a well-formed `${env:NAME}`.
pub(crate) fn env_references(text: &str) -> Result<Vec<(Range<usize>, &str)>, InterpolationError> {
    let mut out = Vec::new();
    let mut from = 0;
    while let Some(start) = text[from..].find("${").map(|i| i + from) {
        let end = text[start..]
            .find('}')
            .map(|i| i + start)
            .ok_or(InterpolationError::Unclosed { at: start })?;
        let inner = &text[start + 2..end];
        let name = inner
            .strip_prefix("env:")
            .ok_or_else(|| InterpolationError::NotEnv {
                inner: inner.to_string(),
            })?;
        let valid = !name.is_empty()
            && !name.starts_with(|c: char| c.is_ascii_digit())
            && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
        if !valid {
            return Err(InterpolationError::BadName {
                inner: inner.to_string(),
            });
        }
        out.push((start..end + 1, name));
        from = end + 1;
    }
    Ok(out)
}

/// Replaces every `${env:NAME}` with the variable's value.
///
/// # Errors
/// The first unset variable, or a malformed reference.
pub fn interpolate(
    text: &str,
    lookup: impl Fn(&str) -> Option<String>,
) -> Result<String, InterpolationError> {
    let mut out = String::with_capacity(text.len());
    let mut last = 0;
    for (range, name) in env_references(text)? {
        out.push_str(&text[last..range.start]);
        let value = lookup(name).ok_or_else(|| InterpolationError::Unset {
            name: name.to_string(),
        })?;
        out.push_str(&value);
        last = range.end;
    }
    out.push_str(&text[last..]);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `${env:NAME}` is replaced; unset or malformed references are errors.
    #[test]
    fn interpolation() {
        let env = |n: &str| (n == "HOST").then(|| "db1".to_string());
        assert_eq!(
            interpolate("server=${env:HOST};x", env).unwrap(),
            "server=db1;x"
        );
        assert_eq!(
            interpolate("${env:NOPE}", env),
            Err(InterpolationError::Unset {
                name: "NOPE".into()
            })
        );
        assert!(matches!(
            interpolate("${HOST}", env),
            Err(InterpolationError::NotEnv { .. })
        ));
        assert!(matches!(
            interpolate("${env:HOST", env),
            Err(InterpolationError::Unclosed { at: 0 })
        ));
        assert_eq!(interpolate("no refs", env).unwrap(), "no refs");
    }
}
