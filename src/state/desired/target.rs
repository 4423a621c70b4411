//! Where a resource's rows are: a table the spec names, or the tables the platform metamodel
//! names.

use std::collections::BTreeMap;
use std::fmt;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::{Condition, Lookup, ResourceId, TableName};

/// Where a resource's rows are: a table the spec names, or the tables the platform metamodel
/// names (the physical tables of entities, found in `ossys_entity`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(untagged)]
pub enum TableTarget {
    /// `table: ossys_server`.
    Name(TableName),
    /// `table: {tables_from: {...}}`: every table named in a column of the selected rows.
    Metamodel {
        /// The selection.
        tables_from: TablesFrom,
    },
}

impl fmt::Display for TableTarget {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TableTarget::Name(name) => write!(f, "{name}"),
            TableTarget::Metamodel { tables_from } => write!(
                f,
                "the tables named by {}.{}",
                tables_from.table, tables_from.column
            ),
        }
    }
}

/// Tables named in a column of the rows of a metamodel table.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TablesFrom {
    /// The metamodel table (`ossys_entity`), checked against the catalog.
    pub table: TableName,
    /// The column holding a table name (`PHYSICAL_TABLE_NAME`).
    pub column: String,
    /// Which rows; empty means all.
    #[serde(rename = "where", default, skip_serializing_if = "Vec::is_empty")]
    pub filter: Vec<Condition>,
    /// Labels shown in the plan beside each table (entity name, module name...).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub describe: BTreeMap<String, Describe>,
}

/// A value shown beside a table or a row: a column of its row, or a value looked up in a
/// related table (a timer's name in the timer definitions).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(untagged)]
pub enum Describe {
    /// A column of the selected row.
    Column {
        /// The column.
        column: String,
    },
    /// A value from a related table.
    Lookup {
        /// The lookup.
        lookup: Lookup,
    },
}

/// The tables a metamodel target resolved to, with their labels.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResolvedTargets {
    /// The resource whose target was resolved.
    pub resource: ResourceId,
    /// Table name and labels, in table name order.
    pub tables: Vec<(String, Vec<(String, String)>)>,
}
