//! The queries that read rows: a resource's drifted rows (for the plan), the values of an
//! `in_select` (read once), the tables a metamodel target names, and the whole rows a change is
//! about to delete or modify (for the journal).

use super::writer::{all_columns, key_columns, where_clause, Writer};
use super::{Error, Flavor, Select, Selected, Sql, T};
use crate::change::{Assignment, Change, ChangeKind};
use crate::engine::ident::QuotedIdent;
use crate::state::desired::{ColumnValue, Describe, Resource, ResourceKind, Subselect, TablesFrom};
use crate::state::observed::{Catalog, TableInfo};
use crate::state::Value;

/// How to read the rows a resource's query returns.
#[derive(Debug, Clone, PartialEq)]
pub enum Layout {
    /// Every column of the table (catalog order), then the desired value of each set column
    /// computed by the query (lookups, rewrites), in assignment order.
    Keyed {
        /// Names of the table's columns, first in each row.
        columns: Vec<String>,
        /// Positions of the key columns among them.
        keys: Vec<usize>,
        /// Set columns: position of the current value, and the desired value when it is a
        /// literal (otherwise it follows the table's columns).
        compared: Vec<(usize, Option<Value>)>,
    },
    /// A custom check: every column is shown, as returned.
    Custom,
}

/// What a resource's inspection runs: a row query of its table, or its own check.
#[derive(Debug, Clone, PartialEq)]
pub enum RowQuery {
    /// A query this layer wrote, with the layout of its rows.
    Table(Select, Layout),
    /// A custom check, run as the spec writes it.
    Check(Sql),
}

/// The query that returns a resource's drifted rows, in key order.
///
/// # Errors
/// A table or column the catalog does not hold, or a value that does not fit its column.
pub fn drift_query(
    resource: &Resource,
    table: Option<&TableInfo>,
    catalog: &Catalog,
    flavor: Flavor,
) -> Result<RowQuery, Error> {
    let mut w = Writer::new(catalog, flavor);
    let missing = || Error::NoTable {
        resource: resource.id.clone(),
    };
    let (table, filter, set) = match &resource.kind {
        ResourceKind::RowsAbsent(r) => (table.ok_or_else(missing)?, r.filter.as_slice(), None),
        ResourceKind::TableEmpty(_) => (table.ok_or_else(missing)?, &[][..], None),
        ResourceKind::ColumnValues(r) => (
            table.ok_or_else(missing)?,
            r.filter.as_slice(),
            Some(&r.set),
        ),
        ResourceKind::Custom(c) => {
            return Ok(RowQuery::Check(Sql {
                text: c.check.clone(),
                params: vec![],
            }))
        }
        ResourceKind::PrincipalsAbsent(_) | ResourceKind::GrantsAbsent(_) => {
            return Err(Error::NoRowQuery {
                resource: resource.id.clone(),
            })
        }
    };
    let keys = key_columns(table, filter);
    let mut columns = all_columns(table, flavor);
    let mut compared = Vec::new();
    let predicate = match set {
        None => w.filter(Some(T), table, filter)?.join(" AND "),
        Some(set) => {
            let set: Vec<(&str, &ColumnValue)> = set.iter().map(|(c, v)| (c.as_str(), v)).collect();
            let parts = w.update_parts(table, filter, &set, resource.secret)?;
            for a in &parts.assignments {
                if a.literal.is_none() {
                    columns.push(Selected {
                        expr: a.desired.clone(),
                        shape: a.shape,
                    });
                }
                compared.push((position(table, &a.column.name), a.literal.clone()));
            }
            parts.predicate()
        }
    };
    let order = w.order_by(table, &keys)?;
    let rest = format!(
        " FROM {}{}{}{order}",
        QuotedIdent::table(&table.table, flavor.quote()),
        flavor.alias(T),
        where_clause(
            &[predicate]
                .into_iter()
                .filter(|p| !p.is_empty())
                .collect::<Vec<_>>()
        )
    );
    let select = Select {
        distinct: false,
        columns,
        rest,
        params: w.into_params(),
    };
    Ok(RowQuery::Table(select, layout(table, &keys, compared)))
}

/// `SELECT DISTINCT column FROM table WHERE filter`: the values of an `in_select` condition,
/// read once per inspection.
///
/// # Errors
/// A table or column the catalog does not hold, or a value that does not fit its column.
pub fn subselect_query(
    sub: &Subselect,
    catalog: &Catalog,
    flavor: Flavor,
) -> Result<Select, Error> {
    let mut w = Writer::new(catalog, flavor);
    let inner = w.table(&sub.table)?;
    let column = w.col(Some(T), inner, &sub.column)?;
    let info = Writer::column(inner, &sub.column)?;
    let conditions = w.filter(Some(T), inner, &sub.filter)?;
    let rest = format!(
        " FROM {}{}{} ORDER BY {column}",
        QuotedIdent::table(&inner.table, flavor.quote()),
        flavor.alias(T),
        where_clause(&conditions)
    );
    Ok(Select {
        distinct: true,
        columns: vec![Selected::column(column, info)],
        rest,
        params: w.into_params(),
    })
}

/// `SELECT column FROM table`: one column of every row.
///
/// # Errors
/// A column the table does not have.
pub fn column_query(table: &TableInfo, column: &str, flavor: Flavor) -> Result<Select, Error> {
    let w = Writer::new(&EMPTY, flavor);
    let expr = w.col(Some(T), table, column)?;
    Ok(Select {
        distinct: false,
        columns: vec![Selected::column(expr, Writer::column(table, column)?)],
        rest: format!(
            " FROM {}{}",
            QuotedIdent::table(&table.table, flavor.quote()),
            flavor.alias(T)
        ),
        params: vec![],
    })
}

/// No table: for queries over one table the caller already resolved.
static EMPTY: Catalog = Catalog {
    tables: Vec::new(),
    subselects: Vec::new(),
};

/// The query listing the tables a metamodel target names, with their labels, in table order.
///
/// # Errors
/// A table or column the catalog does not hold.
pub fn metamodel_query(
    from: &TablesFrom,
    catalog: &Catalog,
    flavor: Flavor,
) -> Result<(Select, Vec<String>), Error> {
    let mut w = Writer::new(catalog, flavor);
    let table = w.table(&from.table)?;
    let named = w.col(Some(T), table, &from.column)?;
    let mut columns = vec![Selected::column(
        named.clone(),
        Writer::column(table, &from.column)?,
    )];
    let mut labels = Vec::new();
    for (label, describe) in &from.describe {
        columns.push(match describe {
            Describe::Column { column } => Selected::column(
                w.col(Some(T), table, column)?,
                Writer::column(table, column)?,
            ),
            Describe::Lookup { lookup } => {
                let (from_where, value, info) = w.lookup(table, lookup)?;
                Selected::column(format!("(SELECT {value} {from_where})"), &info)
            }
        });
        labels.push(label.clone());
    }
    let conditions = w.filter(Some(T), table, &from.filter)?;
    let rest = format!(
        " FROM {}{}{} ORDER BY {named}",
        QuotedIdent::table(&table.table, flavor.quote()),
        flavor.alias(T),
        where_clause(&conditions)
    );
    Ok((
        Select {
            distinct: false,
            columns,
            rest,
            params: w.into_params(),
        },
        labels,
    ))
}

/// The query returning the whole rows a change is about to delete or modify (every column, in
/// the catalog's order), by primary key; `None` for changes without a row image.
///
/// # Errors
/// A table or column the catalog does not hold.
pub fn capture_query(
    change: &Change,
    catalog: &Catalog,
    flavor: Flavor,
) -> Result<Option<Select>, Error> {
    let mut w = Writer::new(catalog, flavor);
    let (table, predicate) = match &change.kind {
        ChangeKind::DeleteRows { table, filter } => {
            let conditions = w.filter(Some(T), table, filter)?;
            (table, conditions.join(" AND "))
        }
        ChangeKind::EmptyTable { table, .. } => (table, String::new()),
        ChangeKind::SetColumns {
            table,
            filter,
            assignments,
        } => {
            let set: Vec<(&str, &ColumnValue)> = assignments
                .iter()
                .map(|Assignment { column, value }| (column.as_str(), value))
                .collect();
            (
                table,
                w.update_parts(table, filter, &set, change.secret)?
                    .predicate(),
            )
        }
        ChangeKind::RunFix { .. }
        | ChangeKind::DropPrincipals { .. }
        | ChangeKind::RevokeGrants { .. } => return Ok(None),
    };
    let order = w.order_by(table, &table.primary_key)?;
    let filter = if predicate.is_empty() {
        String::new()
    } else {
        format!(" WHERE {predicate}")
    };
    let rest = format!(
        " FROM {}{}{filter}{order}",
        QuotedIdent::table(&table.table, flavor.quote()),
        flavor.alias(T)
    );
    Ok(Some(Select {
        distinct: false,
        columns: all_columns(table, flavor),
        rest,
        params: w.into_params(),
    }))
}

fn position(table: &TableInfo, column: &str) -> usize {
    table
        .columns
        .iter()
        .position(|c| c.name.eq_ignore_ascii_case(column))
        .unwrap_or(0)
}

fn layout(table: &TableInfo, keys: &[String], compared: Vec<(usize, Option<Value>)>) -> Layout {
    Layout::Keyed {
        columns: table.columns.iter().map(|c| c.name.clone()).collect(),
        keys: keys.iter().map(|k| position(table, k)).collect(),
        compared,
    }
}
