//! A record of the statements a run sends over TDS, by shape and by wire, for the test that
//! lists every statement shape the SQL Server path can send and says whether it ran here.
//!
//! With `POSTCLONE_STATEMENT_SHAPES=FILE`, each statement sent appends one line to `FILE`:
//! the wire it went by (`parameters` or `literals`), a tab, and its shape: the structural SQL
//! keywords it is made of, each once, in order of first appearance. A shape holds no value and
//! no name.

use std::io::Write as _;

use super::wire::Wire;

/// The environment variable naming the file shapes are appended to.
pub const SHAPES_VARIABLE: &str = "POSTCLONE_STATEMENT_SHAPES";

/// The words a shape is made of: what a statement does and how it is built (a join, a list
/// of rows, a subquery test, a case, an order), not its conditions.
const KEYWORDS: [&str; 26] = [
    "SELECT",
    "DISTINCT",
    "TOP",
    "INSERT",
    "INTO",
    "VALUES",
    "UPDATE",
    "SET",
    "DELETE",
    "FROM",
    "JOIN",
    "IF",
    "EXISTS",
    "CASE",
    "TRUNCATE",
    "TABLE",
    "IDENTITY_INSERT",
    "ORDER",
    "UNION",
    "EXEC",
    "DROP",
    "USER",
    "SCHEMA",
    "ALTER",
    "AUTHORIZATION",
    "OFFSET",
];

/// The shape of `text`: its keywords, each once, in order, outside quoted names, strings and
/// `--` comments.
#[must_use]
pub fn shape(text: &str) -> String {
    let mut words: Vec<&str> = Vec::new();
    let mut word = String::new();
    let mut quote: Option<char> = None;
    let push = |word: &mut String, words: &mut Vec<&str>| {
        let upper = word.to_ascii_uppercase();
        if let Some(k) = KEYWORDS.iter().find(|k| **k == upper) {
            if !words.contains(k) {
                words.push(k);
            }
        }
        word.clear();
    };
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match (quote, c) {
            // A comment, to the end of its line: its words are not the statement's.
            (Some('\n'), '\n') => quote = None,
            (Some(q), c) if c == q => quote = None,
            (Some(_), _) => {}
            (None, '-') if chars.peek() == Some(&'-') => {
                push(&mut word, &mut words);
                quote = Some('\n');
            }
            (None, '[') => quote = Some(']'),
            (None, '\'') => quote = Some('\''),
            (None, '"') => quote = Some('"'),
            (None, c) if c.is_ascii_alphanumeric() || c == '_' || c == '@' => word.push(c),
            (None, _) => push(&mut word, &mut words),
        }
    }
    push(&mut word, &mut words);
    words.join(" ")
}

/// Appends the shape of `text` and its wire to the file [`SHAPES_VARIABLE`] names, if any.
/// A file that cannot be written is left: the record serves a test, never the run.
pub fn record(text: &str, wire: Wire) {
    let Some(path) = std::env::var_os(SHAPES_VARIABLE) else {
        return;
    };
    let wire = match wire {
        Wire::Parameters => "parameters",
        Wire::Literals => "literals",
    };
    if let Ok(mut file) = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
    {
        let _ = writeln!(file, "{wire}\t{}", shape(text));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A shape keeps the keywords, never a name, a marker or a value, whatever they spell.
    #[test]
    fn shapes_hold_keywords_only() {
        assert_eq!(
            shape("UPDATE t SET [SELECT] = v.c0 FROM [dbo].[X] AS t INNER JOIN (VALUES (@P1, N'WHERE it''s')) AS v(k0, c0) ON t.[ID] = v.k0"),
            "UPDATE SET FROM JOIN VALUES"
        );
        assert_eq!(
            shape("IF NOT EXISTS (SELECT 1 FROM [T] AS s1 WHERE s1.[A] = @P1 AND s1.[B] IS NULL) INSERT INTO [T] ([A]) VALUES (@P1)"),
            "IF EXISTS SELECT FROM INSERT INTO VALUES"
        );
        for (statement, its_shape) in [
            (
                "ALTER AUTHORIZATION ON OBJECT::[dbo].[X] TO [dbo]",
                "ALTER AUTHORIZATION",
            ),
            ("DROP SCHEMA [app]", "DROP SCHEMA"),
            ("DROP USER [app]", "DROP USER"),
        ] {
            assert_eq!(shape(statement), its_shape);
        }
        assert_eq!(
            shape("-- Tables whose names are IN the spec, SET by hand\nSELECT a -- not DELETE\nFROM t"),
            "SELECT FROM"
        );
    }
}
