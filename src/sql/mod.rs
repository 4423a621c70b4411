//! SQL text for every engine: the queries that read a resource's rows and the statements that
//! change them, written in a [`Flavor`] (SQL Server or Oracle). Pure: snapshot-tested without a
//! server.
//!
//! Queries and statements are built from the same predicates, so `apply` touches exactly the
//! rows `plan` counted. Identifiers come from the catalog (`QuotedIdent`); values are `@Pn`
//! parameters converted for their column's type. Engine-only statements live with their engine
//! (`sqlserver::principals`, `oracle::grants`).
//!
//! Queries that return table rows are [`Select`]s: each selected column carries its [`Shape`],
//! so that an engine whose protocol cannot carry a long value in one piece (the embedded
//! engine) can read it otherwise without this layer knowing.

mod batch;
mod carried;
mod catalog;
mod coercion;
mod copies;
mod error;
mod grants;
pub use grants::grant_again;
pub mod ident;
mod lookup;
mod masking;
mod principals;
mod queries;
mod restore;
mod scan;
mod statement;
mod statements;
mod writer;

pub use carried::{carried_capture_query, carried_keys_query, insert_present, rows_where};
pub use catalog::{with_names, CatalogQueries, PrincipalQueries};
pub use coercion::{captured_fits, coerce, coerce_for, is_binary, is_text, supported, ColumnType};
pub use copies::{copies_query, originals_query};
pub use error::Error;
pub use masking::{attributes_query, index_query};
pub use queries::{
    capture_query, column_query, drift_query, metamodel_query, subselect_query, Capture, Carry,
    Layout, Neighbours, Page, RowQuery, Wanted,
};
pub use restore::{
    delete_keys, key_query, keys_query, restore_statements, verify_query, VERIFY_BATCH,
};
pub use scan::{scan_query, Carrier, CarrierLayout, ScanLayout};
pub use statement::{Masked, Param, Statement};
pub use statements::{rewrite_statements, statements};
pub use writer::{key_columns, RowRewrite};

use self::ident::QuoteStyle;
use crate::state::observed::ColumnInfo;

/// The SQL dialect text is written in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flavor {
    /// SQL Server (and the embedded engine): `[name]`, `@P1`, `UPDATE t ... FROM x AS t`.
    SqlServer,
    /// Oracle: `"NAME"`, `:p1`, `UPDATE x t ...`, no `AS` before a table alias, no TRUNCATE in
    /// a transaction, `''` stored as NULL, text compared as the runbook's `NLS_SORT=BINARY_AI`.
    Oracle,
}

impl Flavor {
    /// What `diff` needs to know of the database this flavor is written for.
    #[must_use]
    pub fn dialect(self) -> crate::change::Dialect {
        match self {
            Flavor::SqlServer => crate::change::Dialect {
                truncate_in_transaction: true,
                empty_string_is_null: false,
            },
            // TRUNCATE commits on Oracle; Oracle stores '' as NULL.
            Flavor::Oracle => crate::change::Dialect {
                truncate_in_transaction: false,
                empty_string_is_null: true,
            },
        }
    }

    /// How this flavor delimits identifiers.
    #[must_use]
    pub fn quote(self) -> QuoteStyle {
        match self {
            Flavor::SqlServer => QuoteStyle::Brackets,
            Flavor::Oracle => QuoteStyle::DoubleQuotes,
        }
    }

    /// The marker of the `n`th parameter, from 1. Oracle's are names (`:p1`), bound by name:
    /// a statement uses a value in several places, and Oracle binds a SQL statement's
    /// placeholders by position one occurrence at a time, but by name all at once.
    #[must_use]
    pub fn marker(self, n: usize) -> String {
        match self {
            Flavor::SqlServer => format!("@P{n}"),
            Flavor::Oracle => format!(":p{n}"),
        }
    }

    /// ` AS alias` after a table (Oracle takes no `AS` there).
    fn alias(self, alias: &str) -> String {
        match self {
            Flavor::SqlServer => format!(" AS {alias}"),
            Flavor::Oracle => format!(" {alias}"),
        }
    }

    /// The database's clock, as the platform's Scheduler reads it to find due work.
    fn now(self) -> &'static str {
        match self {
            Flavor::SqlServer => "GETDATE()",
            Flavor::Oracle => "SYSDATE",
        }
    }

    /// Whether `needle` occurs in `haystack`.
    fn contains(self, haystack: &str, needle: &str) -> String {
        match self {
            Flavor::SqlServer => format!("CHARINDEX({needle}, {haystack}) > 0"),
            Flavor::Oracle => format!("INSTR({haystack}, {needle}) > 0"),
        }
    }

    /// `a <> b` for two non-null values of `column`. Oracle cannot compare LOBs with `<>`:
    /// there, `DBMS_LOB.COMPARE`.
    fn differ(self, column: &ColumnInfo, a: &str, b: &str) -> String {
        let lob = matches!(
            column.data_type.to_ascii_lowercase().as_str(),
            "clob" | "nclob" | "blob"
        );
        if self == Flavor::Oracle && lob {
            format!("DBMS_LOB.COMPARE({a}, {b}) <> 0")
        } else {
            format!("{a} <> {b}")
        }
    }

    /// `a` and `b`, two non-null values of `column`, are the same bytes: what a row without a
    /// key to find it by is matched on. `=` is wrong for text both ways: under a
    /// case-insensitive collation (SQL Server's usual, Oracle's `NLS_COMP=LINGUISTIC`) a row
    /// differing only in case would count as present, and neither engine takes `=` on its long
    /// types (`text`, `ntext`, `image`; `CLOB`, `NCLOB`, `BLOB`). Texts are compared as their
    /// encoded bytes in the column's own kind (single-byte or national); binaries by their
    /// bytes and length (a shorter value is not equal to one padded with zeros).
    fn same_exactly(self, column: &ColumnInfo, a: &str, b: &str) -> String {
        let data_type = column.data_type.to_ascii_lowercase();
        match (self, data_type.as_str()) {
            (Flavor::SqlServer, "char" | "varchar" | "text") => format!(
                "CAST(CAST({a} AS VARCHAR(MAX)) AS VARBINARY(MAX)) = CAST(CAST({b} AS VARCHAR(MAX)) AS VARBINARY(MAX))"
            ),
            (Flavor::SqlServer, "nchar" | "nvarchar" | "ntext" | "sysname" | "xml") => format!(
                "CAST(CAST({a} AS NVARCHAR(MAX)) AS VARBINARY(MAX)) = CAST(CAST({b} AS NVARCHAR(MAX)) AS VARBINARY(MAX))"
            ),
            // Lengths of the values cast: the embedded engine miscounts an `image` column's.
            (Flavor::SqlServer, "binary" | "varbinary" | "image") => format!(
                "CAST({a} AS VARBINARY(MAX)) = CAST({b} AS VARBINARY(MAX)) AND DATALENGTH(CAST({a} AS VARBINARY(MAX))) = DATALENGTH(CAST({b} AS VARBINARY(MAX)))"
            ),
            (Flavor::Oracle, "char" | "varchar2") => {
                format!("DBMS_LOB.COMPARE(TO_CLOB({a}), TO_CLOB({b})) = 0")
            }
            (Flavor::Oracle, "nchar" | "nvarchar2") => {
                format!("DBMS_LOB.COMPARE(TO_NCLOB({a}), TO_NCLOB({b})) = 0")
            }
            (Flavor::Oracle, "clob" | "nclob" | "blob") => {
                format!("DBMS_LOB.COMPARE({a}, {b}) = 0")
            }
            _ => format!("{a} = {b}"),
        }
    }

    /// A text expression as compared: Oracle compares case- and accent-insensitively, as the
    /// runbook's `NLS_COMP=LINGUISTIC NLS_SORT=BINARY_AI` intends, written into the statement
    /// rather than left to the session's settings. SQL Server follows the column's collation.
    fn compared(self, expr: &str) -> String {
        match self {
            Flavor::SqlServer => expr.to_string(),
            Flavor::Oracle => format!("NLSSORT({expr}, 'NLS_SORT=BINARY_AI')"),
        }
    }
}

/// SQL text with its parameters.
#[derive(Debug, Clone, PartialEq)]
pub struct Sql {
    /// The text.
    pub text: String,
    /// Its parameters, `@P1` first.
    pub params: Vec<Param>,
}

/// How a selected value is read: as it is, or in a form an engine may need to carry it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shape {
    /// A number, a date, a bounded national text or binary value.
    Plain,
    /// A bounded text of a single-byte type (`VARCHAR(n)`, `CHAR(n)`).
    NarrowText,
    /// A date, a time or both (`DATETIME`, `DATE`, `DATETIME2`...), read as ISO 8601 text.
    Temporal,
    /// An exact decimal (`DECIMAL(p,s)`, `NUMERIC`), read as its exact text.
    Decimal,
    /// A text of any length (`NVARCHAR(MAX)`, `VARCHAR(MAX)`, `CLOB`), at most `bound`
    /// characters when the engine measured the values about to be read (the embedded engine's
    /// reader does, to read them in pieces).
    LongText {
        /// An upper bound of its length in characters, when known.
        bound: Option<u64>,
    },
    /// A binary value of any length (`VARBINARY(MAX)`, `BLOB`), at most `bound` bytes when
    /// known.
    LongBinary {
        /// An upper bound of its length in bytes, when known.
        bound: Option<u64>,
    },
}

impl Shape {
    /// The shape of a column's values, from the catalog.
    #[must_use]
    pub fn of(column: &ColumnInfo) -> Shape {
        let ty = column.data_type.to_ascii_lowercase();
        let binary = matches!(
            ty.as_str(),
            "varbinary" | "binary" | "image" | "blob" | "raw" | "long raw"
        );
        match (column.long, binary) {
            (true, true) => Shape::LongBinary { bound: None },
            (true, false) => Shape::LongText { bound: None },
            (false, _) if matches!(ty.as_str(), "varchar" | "char" | "text") => Shape::NarrowText,
            (false, _)
                if matches!(
                    ty.as_str(),
                    "date" | "time" | "datetime" | "datetime2" | "smalldatetime" | "datetimeoffset"
                ) =>
            {
                Shape::Temporal
            }
            (false, _) if matches!(ty.as_str(), "decimal" | "numeric") => Shape::Decimal,
            (false, _) => Shape::Plain,
        }
    }
}

/// One selected expression and how its value is read.
#[derive(Debug, Clone, PartialEq)]
pub struct Selected {
    /// The expression, qualified (`t.[NAME]`).
    pub expr: String,
    /// How its value travels.
    pub shape: Shape,
}

impl Selected {
    /// A row's position in a list the query was given (a whole number).
    #[must_use]
    pub fn position(expr: String) -> Selected {
        Selected {
            expr,
            shape: Shape::Plain,
        }
    }

    /// A column of the catalog, read whole.
    #[must_use]
    pub fn column(expr: String, column: &ColumnInfo) -> Selected {
        Selected {
            expr,
            shape: Shape::of(column),
        }
    }
}

/// A query that returns rows of a table: its selected expressions, each with its [`Shape`],
/// and the rest of its text. Engines write the select list; everything else is fixed here.
#[derive(Debug, Clone, PartialEq)]
pub struct Select {
    /// `SELECT DISTINCT`.
    pub distinct: bool,
    /// The selected expressions, in order.
    pub columns: Vec<Selected>,
    /// Everything after the select list up to the order: ` FROM ... WHERE ...`.
    pub rest: String,
    /// ` ORDER BY ...`, or empty: apart from `rest`, so that a reader that needs only the set
    /// of rows (the embedded engine's measuring of long values) can leave the sort out.
    pub order: String,
    /// ` OFFSET 0 ROWS FETCH NEXT n ROWS ONLY` for a page of rows, or empty: with it, the
    /// order decides which rows there are.
    pub limit: String,
    /// Parameters of the whole query, `@P1` first.
    pub params: Vec<Param>,
}

impl Select {
    /// The query with every column selected as it is.
    #[must_use]
    pub fn text(&self) -> String {
        let columns: Vec<&str> = self.columns.iter().map(|c| c.expr.as_str()).collect();
        self.text_with(&columns.join(", "))
    }

    /// The query with `list` as its select list.
    #[must_use]
    pub fn text_with(&self, list: &str) -> String {
        format!(
            "SELECT {}{list}{}{}{}",
            if self.distinct { "DISTINCT " } else { "" },
            self.rest,
            self.order,
            self.limit
        )
    }

    /// The query as plain SQL, every column selected as it is.
    #[must_use]
    pub fn sql(&self) -> Sql {
        Sql {
            text: self.text(),
            params: self.params.clone(),
        }
    }
}

/// The alias of the resource's own table in queries and updates.
const T: &str = "t";

/// Stands in for the replacement text while a `replace` runs (a private-use character, not
/// expected in configuration values).
const PARKED: &str = "\u{E000}";

#[cfg(test)]
mod tests;
