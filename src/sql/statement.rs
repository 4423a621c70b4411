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

    /// `error`'s message (and its causes) about a statement written by hand (a custom check
    /// or fix), which may read or write anything: every value the server quotes is masked,
    /// the objects the statement quotes as identifiers stay readable.
    #[must_use]
    pub fn of_custom(error: &dyn std::error::Error, sql: &str) -> Masked {
        let Masked(text) = Masked::chain(error);
        Masked(mask_quoted(&text, &|span| names_an_identifier(sql, span)))
    }

    /// `error`'s message (and its causes) with every secret parameter of `statement` masked;
    /// for a statement over `sensitive` rows (secret or personal values), every value the
    /// server quotes too (a conversion or trigger error quotes the row's value).
    #[must_use]
    pub fn new(error: &dyn std::error::Error, statement: &Statement, sensitive: bool) -> Masked {
        let Masked(mut text) = Masked::chain(error);
        if sensitive || statement.params.iter().any(|p| p.secret) {
            text = mask_quoted(&text, &|span| names_an_identifier(&statement.sql, span));
        }
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

/// Whether a quoted span of a server message is an object the statement names (a column
/// `'Id'`, a table `'OS_PREPROD.dbo.OSSYS_USER'`), not a value: its last dotted part is an
/// identifier the statement quotes (`[Id]`, `"Id"`), and every other part a plain name.
/// Values travel as parameters: the statement's own text quotes only identifiers.
fn names_an_identifier(sql: &str, span: &str) -> bool {
    let mut parts = span.rsplit('.');
    let Some(last) = parts.next().filter(|l| !l.is_empty()) else {
        return false;
    };
    let plain = |p: &str| {
        !p.is_empty()
            && p.chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '$' | '#'))
    };
    let sql = sql.to_lowercase();
    let last = last.to_lowercase();
    parts.all(plain)
        && (sql.contains(&format!("[{}]", last.replace(']', "]]")))
            || sql.contains(&format!("\"{}\"", last.replace('"', "\"\""))))
}

/// Every `'...'` span of a server message masked (`''` inside a span is a quote it holds),
/// but those `keep` says are not values. A quote right after a letter or digit is an
/// apostrophe (`engine's`), not a span.
fn mask_quoted(text: &str, keep: &dyn Fn(&str) -> bool) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars().peekable();
    let mut previous: Option<char> = None;
    while let Some(c) = chars.next() {
        out.push(c);
        let after_word = previous.is_some_and(char::is_alphanumeric);
        previous = Some(c);
        if c != '\'' || after_word {
            continue;
        }
        // A span: up to the quote that is not doubled; an unclosed one runs to the end.
        let mut span = String::new();
        loop {
            match chars.next() {
                None => {
                    out.push_str(crate::state::value::MASK);
                    return out;
                }
                Some('\'') if chars.peek() == Some(&'\'') => {
                    chars.next();
                    span.push('\'');
                }
                Some('\'') => {
                    if keep(&span) {
                        out.push_str(&span.replace('\'', "''"));
                    } else {
                        out.push_str(crate::state::value::MASK);
                    }
                    out.push('\'');
                    previous = Some('\'');
                    break;
                }
                Some(c) => span.push(c),
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::change::ChangeId;

    /// A value the server quotes in its message is masked for sensitive rows; an unquoted
    /// message is kept; doubled quotes stay inside their span. See: issue 27
    #[test]
    fn quoted_values_are_masked_issue_27() {
        let mask = crate::state::value::MASK;
        assert_eq!(
            mask_quoted(
                "converting the nvarchar value 'Alice O''Hara' to data type int.",
                &|_| false
            ),
            format!("converting the nvarchar value '{mask}' to data type int.")
        );
        assert_eq!(mask_quoted("no quotes here", &|_| false), "no quotes here");
        assert_eq!(
            mask_quoted("longer than the embedded engine's bound", &|_| false),
            "longer than the embedded engine's bound"
        );
        assert_eq!(
            mask_quoted("cut 'S3cr3t", &|_| false),
            format!("cut '{mask}")
        );
        let error = std::io::Error::other("trigger failed: 'alice@customer.example' is blocked");
        let s = Statement {
            sql: "DELETE FROM t".into(),
            params: vec![],
            source: ChangeId::try_from("x".to_string()).unwrap(),
        };
        assert!(!Masked::new(&error, &s, true).to_string().contains("alice@"));
        assert!(Masked::new(&error, &s, false)
            .to_string()
            .contains("alice@"));
    }

    /// The objects a failed statement names stay readable in the server's message (a column,
    /// a table with its database and schema); values, and names the statement does not quote
    /// as identifiers, are masked.
    #[test]
    fn identifiers_stay_readable_values_do_not() {
        let mask = crate::state::value::MASK;
        let s = Statement {
            sql: "INSERT INTO [dbo].[OSUSR_K7Q_ACCOUNT] ([Id], [Notes]) VALUES (@P1, @P2)".into(),
            params: vec![Param::new(Value::Text("Alice Martin".into()), true)],
            source: ChangeId::try_from("x".to_string()).unwrap(),
        };
        let error = std::io::Error::other(
            "Cannot insert the value NULL into column 'Id', table 'OS_PREPROD.dbo.OSUSR_K7q_Account'; \
             value 'Alice Martin' and 'Notes.x''y' and 'dbo.[Id]'",
        );
        assert_eq!(
            Masked::new(&error, &s, true).to_string(),
            format!(
                "Cannot insert the value NULL into column 'Id', table 'OS_PREPROD.dbo.OSUSR_K7q_Account'; \
                 value '{mask}' and '{mask}' and '{mask}'"
            )
        );
    }

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
