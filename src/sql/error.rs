//! Why SQL could not be written for a resource or a change. Every variant names what the spec or
//! the catalog got wrong; none holds a value read from the database.

use crate::state::desired::ResourceId;
use crate::state::observed::TableRef;

/// A query or statement that cannot be written.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    /// A table the spec names is not in the catalog.
    #[error("table {name} is not in the catalog")]
    UnknownTable {
        /// The name as the spec writes it.
        name: String,
    },
    /// A column the spec names is not in its table.
    #[error("column {column} is not in table {table}")]
    UnknownColumn {
        /// The table.
        table: TableRef,
        /// The name as the spec writes it.
        column: String,
    },
    /// A value of the spec cannot be stored in its column.
    /// (Of a secret resource, the value is masked: see [`Error::without_value`].)
    #[error("column {column} ({data_type}) cannot hold {value}: {help}")]
    ValueDoesNotFit {
        /// The column.
        column: String,
        /// Its catalog type.
        data_type: String,
        /// The value, as the spec writes it.
        value: String,
        /// What to write instead.
        help: &'static str,
    },
    /// A decimal of the spec that its column would round or refuse.
    #[error("column {column} ({data_type}) cannot hold {value} exactly: {help}")]
    DecimalDoesNotFit {
        /// The column.
        column: String,
        /// Its catalog type.
        data_type: String,
        /// The value, as the spec writes it.
        value: String,
        /// Why, and what to write instead.
        help: String,
    },
    /// A carried resource covers more rows than one statement can leave out.
    #[error("resource {resource} carries {rows} rows of a table another resource writes too: more than one statement can leave out; exclude one of the two (`exclude:`)")]
    TooManyCarried {
        /// The carried resource.
        resource: crate::state::desired::ResourceId,
        /// Its captured rows.
        rows: usize,
    },
    /// A `replace` whose `from` is not a host.
    #[error("column {column}: `replace` rewrites a host, and {from:?} is not one; write `replace_text` to rewrite any text")]
    NotAHost {
        /// The column set.
        column: String,
        /// As written.
        from: String,
    },
    /// A masked value longer than its column holds.
    #[error("column {column} holds at most {max} characters, and `{method}` masks to up to {longest}; choose another method, or `{{constant: ...}}`")]
    MaskTooLong {
        /// The column.
        column: String,
        /// The method.
        method: String,
        /// Its longest value.
        longest: usize,
        /// The column's length.
        max: u64,
    },
    /// `due:` on a column that holds no date.
    #[error("column {column} ({data_type}) holds no date: `due:` compares a date with the database's clock")]
    NotADate {
        /// The column.
        column: String,
        /// Its catalog type.
        data_type: String,
    },
    /// A `lookup:` with an empty `match:`.
    #[error("lookup in {table} matches no column")]
    EmptyLookup {
        /// The looked-up table.
        table: String,
    },
    /// A table kind reached SQL without its table.
    #[error("resource {resource} has no resolved table")]
    NoTable {
        /// The resource.
        resource: ResourceId,
    },
    /// A kind that is read from the catalog views, not with a query of its own.
    #[error("resource {resource} is inspected through the catalog views, not a row query")]
    NoRowQuery {
        /// The resource.
        resource: ResourceId,
    },
    /// Modified rows of a table without a primary key cannot be found again.
    #[error("{table} has no primary key: the modified rows cannot be found again to revert them")]
    NoPrimaryKey {
        /// The table.
        table: TableRef,
    },
    /// A change one engine does and the other has no use for.
    #[error("{what} is done on {engine} only")]
    NotOnThisEngine {
        /// What the change does.
        what: &'static str,
        /// The engine that does it.
        engine: &'static str,
    },
    /// A page of rows asked to start after a key that is not one of the table's.
    #[error("{table}: a page of rows must start after a whole primary key ({expected} values), not {given}")]
    PageKey {
        /// The table.
        table: TableRef,
        /// Columns of its primary key.
        expected: usize,
        /// Values given.
        given: usize,
    },
    /// A privilege read from the catalog that is not in Oracle's list.
    #[error("privilege {privilege:?} is not one postclone revokes")]
    UnknownPrivilege {
        /// As the catalog spells it.
        privilege: String,
    },
}

impl Error {
    /// The error with the spec's value masked: for a secret resource, whose values are never
    /// shown, not even in an error.
    #[must_use]
    pub fn without_value(self) -> Error {
        match self {
            Error::ValueDoesNotFit {
                column,
                data_type,
                help,
                ..
            } => Error::ValueDoesNotFit {
                column,
                data_type,
                value: crate::state::value::MASK.to_string(),
                help,
            },
            Error::DecimalDoesNotFit {
                column,
                data_type,
                help,
                ..
            } => Error::DecimalDoesNotFit {
                column,
                data_type,
                value: crate::state::value::MASK.to_string(),
                help,
            },
            other => other,
        }
    }
}
