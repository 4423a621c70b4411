//! Engine-neutral cell values, and the `Secret` wrapper that keeps a value out of every output.
//!
//! Values are what the engine read from a row or what the spec asks a column to hold. They carry
//! no database type: the engine converts them to a typed parameter from the catalog's column type.

use std::fmt;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// One cell value, as read from the database or written in a spec.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(untagged)]
pub enum Value {
    /// SQL NULL (`null` or `~` in YAML).
    Null,
    /// A boolean; the engine writes it as 1/0 into bit or number columns.
    Bool(bool),
    /// A whole number.
    Int(i64),
    /// A floating point number.
    Float(f64),
    /// Text (also decimals, dates and GUIDs read from the database, in their canonical text form).
    Text(String),
    /// Binary data, read from the database only.
    #[schemars(skip)]
    Bytes(#[serde(with = "hex_bytes")] Vec<u8>),
}

impl Value {
    /// Whether this is SQL NULL.
    #[must_use]
    pub fn is_null(&self) -> bool {
        matches!(self, Value::Null)
    }
}

impl fmt::Display for Value {
    /// A short, unambiguous rendering for plans: text is quoted, NULL is a keyword.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Value::Null => f.write_str("NULL"),
            Value::Bool(b) => write!(f, "{b}"),
            Value::Int(i) => write!(f, "{i}"),
            Value::Float(x) => write!(f, "{x}"),
            Value::Text(s) => write!(f, "{s:?}"),
            Value::Bytes(b) => {
                f.write_str("0x")?;
                for byte in b.iter().take(16) {
                    write!(f, "{byte:02X}")?;
                }
                if b.len() > 16 {
                    write!(f, "… ({} bytes)", b.len())?;
                }
                Ok(())
            }
        }
    }
}

/// A value that must never be shown: `Display` and `Debug` print a fixed mask.
///
/// The inner value stays reachable through [`Secret::expose`] for the one place that needs it
/// (binding a statement parameter, writing a journal).
#[derive(Clone, PartialEq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Secret<T>(T);

/// What is printed in place of a secret value.
pub const MASK: &str = "(sensitive value)";

impl<T> Secret<T> {
    /// Wraps a value so that it is masked in every output.
    pub fn new(value: T) -> Self {
        Secret(value)
    }

    /// The wrapped value. Callers must not print it.
    pub fn expose(&self) -> &T {
        &self.0
    }
}

impl<T> fmt::Debug for Secret<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(MASK)
    }
}

impl<T> fmt::Display for Secret<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(MASK)
    }
}

mod hex_bytes {
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(bytes: &[u8], s: S) -> Result<S::Ok, S::Error> {
        let text: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
        s.serialize_str(&text)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<u8>, D::Error> {
        let text = String::deserialize(d)?;
        (0..text.len())
            .step_by(2)
            .map(|i| {
                text.get(i..i + 2)
                    .and_then(|pair| u8::from_str_radix(pair, 16).ok())
                    .ok_or_else(|| serde::de::Error::custom("invalid hex byte string"))
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A secret never shows its content through Display or Debug.
    #[test]
    fn secret_is_masked() {
        let s = Secret::new("hunter2".to_string());
        assert_eq!(format!("{s}"), MASK);
        assert_eq!(format!("{s:?}"), MASK);
        assert!(!format!("{s:?}").contains("hunter2"));
    }

    /// Text is quoted so that a trailing space or an empty string is visible in a plan.
    #[test]
    fn text_display_is_quoted() {
        assert_eq!(Value::Text(" ".into()).to_string(), "\" \"");
        assert_eq!(Value::Null.to_string(), "NULL");
        assert_eq!(Value::Bytes(vec![1, 0xAB]).to_string(), "0x01AB");
    }

    /// YAML scalars map onto the value kinds users expect.
    #[test]
    fn yaml_scalars_parse() {
        let v: Vec<Value> = serde_yaml::from_str("[~, true, 3, 1.5, text]").unwrap();
        assert_eq!(
            v,
            vec![
                Value::Null,
                Value::Bool(true),
                Value::Int(3),
                Value::Float(1.5),
                Value::Text("text".into())
            ]
        );
    }
}
