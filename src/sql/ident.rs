//! `QuotedIdent`: an identifier ready for SQL text, built only from names the catalog returned.
//!
//! The constructors take catalog types (`TableRef`, `ColumnInfo`), never a spec string, so a
//! name that was not checked against the catalog cannot reach SQL text through this type.

use std::fmt;

use crate::state::observed::{ColumnInfo, OwnedObject, OwnedSchema, TableRef};

/// How an engine delimits identifiers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum QuoteStyle {
    /// `[name]`, with `]` doubled (SQL Server).
    Brackets,
    /// `"name"`, with `"` doubled (Oracle, standard SQL).
    DoubleQuotes,
}

/// A delimited identifier (or a schema-qualified pair of them).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QuotedIdent(String);

impl QuotedIdent {
    /// `[schema].[table]`.
    #[must_use]
    pub fn table(table: &TableRef, style: QuoteStyle) -> QuotedIdent {
        QuotedIdent(format!(
            "{}.{}",
            delimit(&table.schema, style),
            delimit(&table.name, style)
        ))
    }

    /// `[principal]`, for a principal name read from the catalog.
    #[must_use]
    pub fn principal(name: &str, style: QuoteStyle) -> QuotedIdent {
        QuotedIdent(delimit(name, style))
    }

    /// `[schema]`, for a schema read from the catalog.
    #[must_use]
    pub fn schema(schema: &OwnedSchema, style: QuoteStyle) -> QuotedIdent {
        QuotedIdent(delimit(&schema.name, style))
    }

    /// `[schema].[object]`, for an object read from the catalog.
    #[must_use]
    pub fn object(object: &OwnedObject, style: QuoteStyle) -> QuotedIdent {
        QuotedIdent(format!(
            "{}.{}",
            delimit(&object.schema, style),
            delimit(&object.name, style)
        ))
    }

    /// `[name]`, for a column the server reported in a query's result (a custom check's).
    #[must_use]
    pub fn result_column(name: &str, style: QuoteStyle) -> QuotedIdent {
        QuotedIdent(delimit(name, style))
    }

    /// `[column]`.
    #[must_use]
    pub fn column(column: &ColumnInfo, style: QuoteStyle) -> QuotedIdent {
        QuotedIdent(delimit(&column.name, style))
    }
}

impl fmt::Display for QuotedIdent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

fn delimit(name: &str, style: QuoteStyle) -> String {
    match style {
        QuoteStyle::Brackets => format!("[{}]", name.replace(']', "]]")),
        QuoteStyle::DoubleQuotes => format!("\"{}\"", name.replace('"', "\"\"")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A name that tries to close the delimiter stays one identifier.
    #[test]
    fn delimiters_are_escaped() {
        let t = TableRef {
            schema: "dbo".into(),
            name: "x]; DROP TABLE y; --".into(),
        };
        assert_eq!(
            QuotedIdent::table(&t, QuoteStyle::Brackets).to_string(),
            "[dbo].[x]]; DROP TABLE y; --]"
        );
        let c = ColumnInfo {
            name: "a\"b".into(),
            data_type: "int".into(),
            nullable: false,
            identity: false,
            ..ColumnInfo::default()
        };
        assert_eq!(
            QuotedIdent::column(&c, QuoteStyle::DoubleQuotes).to_string(),
            "\"a\"\"b\""
        );
    }
}
