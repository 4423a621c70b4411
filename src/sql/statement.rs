//! A statement as it is sent: SQL text with its parameters and the change it comes from, and
//! how it is shown (secret values masked, in statements and in the database's messages).

use crate::change::ChangeId;
use crate::state::Value;

/// One statement parameter. A secret one is masked wherever a statement is shown.
#[derive(Debug, Clone, PartialEq)]
pub struct Param {
    /// The value, already converted for its column's type.
    pub value: Value,
    /// Mask it in any output.
    pub secret: bool,
    /// The type of the column the value is compared with or written into, when there is one:
    /// an engine that compares values by type (the embedded engine's joins) gets it typed so.
    pub column_type: Option<super::ColumnType>,
}

impl Param {
    /// A value with no column to take a type from.
    #[must_use]
    pub fn new(value: Value, secret: bool) -> Param {
        Param {
            value,
            secret,
            column_type: None,
        }
    }

    /// A value compared with or written into `column`, typed as the column is.
    #[must_use]
    pub fn for_column(
        value: Value,
        column: &crate::state::observed::ColumnInfo,
        secret: bool,
    ) -> Param {
        Param {
            value,
            secret,
            column_type: super::ColumnType::of(column),
        }
    }
}

/// Rendered SQL with its parameters and the change it comes from.
#[derive(Debug, Clone, PartialEq)]
pub struct Statement {
    /// SQL text; values only appear as parameter markers.
    pub sql: String,
    /// Parameters, in marker order.
    pub params: Vec<Param>,
    /// The change this statement implements.
    pub source: ChangeId,
}

impl Statement {
    /// The statement for display: SQL followed by its parameters, secrets masked.
    #[must_use]
    pub fn redacted(&self) -> String {
        let mut out = self.sql.clone();
        for (i, p) in self.params.iter().enumerate() {
            let shown = if p.secret {
                crate::state::value::MASK.to_string()
            } else {
                p.value.to_string()
            };
            out.push_str(&format!("\n  -- @P{} = {shown}", i + 1));
        }
        out
    }
}

/// An error message with secret values masked out.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct Masked(String);

impl Masked {
    /// A message that holds no secret value.
    #[must_use]
    pub fn from_message(message: &str) -> Masked {
        Masked(message.to_string())
    }

    /// `error`'s message and its causes, for an error no statement's values reach.
    #[must_use]
    pub fn chain(error: &dyn std::error::Error) -> Masked {
        let mut text = error.to_string();
        let mut source = error.source();
        while let Some(cause) = source {
            text.push_str(&format!(": {cause}"));
            source = cause.source();
        }
        Masked(text)
    }

    /// `error`'s message (and its causes) with every secret parameter of `statement` masked.
    #[must_use]
    pub fn new(error: &dyn std::error::Error, statement: &Statement) -> Masked {
        let Masked(mut text) = Masked::chain(error);
        // Text long enough to be a credential is masked wherever it appears; masking shorter
        // values (a `2`) would garble the message and protect nothing.
        for p in statement.params.iter().filter(|p| p.secret) {
            if let crate::state::Value::Text(t) = &p.value {
                if t.chars().count() >= 4 {
                    text = text.replace(t.as_str(), crate::state::value::MASK);
                }
            }
        }
        Masked(text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::change::ChangeId;

    /// A secret parameter is masked in the redacted statement.
    #[test]
    fn redacted_statement_masks_secrets() {
        let s = Statement {
            sql: "UPDATE t SET [V] = @P1 WHERE [N] IN (@P2)".into(),
            params: vec![
                Param::new(Value::Text("hunter2".into()), true),
                Param::new(Value::Text("name".into()), false),
            ],
            source: ChangeId::try_from("x".to_string()).unwrap(),
        };
        let shown = s.redacted();
        assert!(!shown.contains("hunter2"));
        assert!(shown.contains("\"name\""));
    }
}
