//! A journaled value: tagged, so that text and binary data read back exactly as written.

use serde::{Deserialize, Serialize};

use crate::state::Value;

/// One cell, tagged so that text and binary data read back exactly as written.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "t", content = "v", rename_all = "snake_case")]
pub enum Cell {
    /// SQL NULL.
    Null,
    /// A boolean (bit).
    Bool(bool),
    /// A whole number.
    Int(i64),
    /// A floating point number.
    Float(f64),
    /// Text (also decimals, dates and GUIDs in their canonical text form).
    Text(String),
    /// Binary data, hex-encoded.
    Bytes(String),
}

impl From<Value> for Cell {
    fn from(v: Value) -> Cell {
        match v {
            Value::Null => Cell::Null,
            Value::Bool(b) => Cell::Bool(b),
            Value::Int(i) => Cell::Int(i),
            Value::Float(x) => Cell::Float(x),
            Value::Text(t) => Cell::Text(t),
            Value::Bytes(b) => Cell::Bytes(crate::state::value::hex(&b)),
        }
    }
}

/// A journaled cell that cannot be read back.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid hex bytes {hex:?}")]
pub struct InvalidCell {
    /// The text found.
    pub hex: String,
}

impl TryFrom<Cell> for Value {
    type Error = InvalidCell;

    fn try_from(c: Cell) -> Result<Value, InvalidCell> {
        Ok(match c {
            Cell::Null => Value::Null,
            Cell::Bool(b) => Value::Bool(b),
            Cell::Int(i) => Value::Int(i),
            Cell::Float(x) => Value::Float(x),
            Cell::Text(t) => Value::Text(t),
            Cell::Bytes(hex) => Value::Bytes(
                crate::state::value::unhex(&hex).ok_or_else(|| InvalidCell { hex: hex.clone() })?,
            ),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A float the journal keeps reads back as the very same float: restore writes back what
    /// the apply read, to the last bit. (The generated shapes found one that came back one unit
    /// in the last place off.) See: issue 21
    #[test]
    fn floats_read_back_whole_issue_21() {
        for x in [
            -957_116.280_245_587_7,
            113_026.194_533_217_99,
            1.5e300,
            -2.225_073_858_507_201_4e-308,
            5e-324,
            0.1,
        ] {
            let text = serde_json::to_string(&Cell::from(Value::Float(x))).unwrap();
            let back: Cell = serde_json::from_str(&text).unwrap();
            assert_eq!(Value::try_from(back).unwrap(), Value::Float(x), "{text}");
        }
    }
}
