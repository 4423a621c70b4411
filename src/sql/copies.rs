//! The queries of the copies scan: the originals a masking rule replaces, and every text
//! column of a scanned table, each row named by its primary key.

use super::ident::QuotedIdent;
use super::writer::{where_clause, Writer};
use super::{Error, Flavor, Select, Selected, T};
use crate::state::desired::Condition;
use crate::state::observed::{Catalog, ColumnInfo, TableInfo};

/// `SELECT columns FROM table WHERE filter`: the values a masking rule replaces.
///
/// # Errors
/// A column or condition the catalog does not hold.
pub fn originals_query(
    table: &TableInfo,
    columns: &[&ColumnInfo],
    filter: &[Condition],
    catalog: &Catalog,
    flavor: Flavor,
) -> Result<Select, Error> {
    let mut w = Writer::new(catalog, flavor);
    let selected = columns
        .iter()
        .map(|c| Ok(Selected::column(w.col(Some(T), table, &c.name)?, c)))
        .collect::<Result<Vec<_>, Error>>()?;
    let conditions = w.filter(Some(T), table, filter)?;
    Ok(Select {
        distinct: false,
        columns: selected,
        rest: format!(
            " FROM {}{}{}",
            QuotedIdent::table(&table.table, flavor.quote()),
            flavor.alias(T),
            where_clause(&conditions)
        ),
        order: String::new(),
        limit: String::new(),
        params: w.into_params(),
    })
}

/// `SELECT key..., text columns... FROM table`: every value the copies scan compares, each
/// row named by its primary key.
///
/// # Errors
/// A column the table does not hold.
pub fn copies_query(
    table: &TableInfo,
    columns: &[&ColumnInfo],
    flavor: Flavor,
) -> Result<Select, Error> {
    let none = Catalog::default();
    let w = Writer::new(&none, flavor);
    let mut selected = Vec::with_capacity(table.primary_key.len() + columns.len());
    for name in &table.primary_key {
        let info = Writer::column(table, name)?;
        selected.push(Selected::column(w.col(Some(T), table, name)?, info));
    }
    for c in columns {
        selected.push(Selected::column(w.col(Some(T), table, &c.name)?, c));
    }
    Ok(Select {
        distinct: false,
        columns: selected,
        rest: format!(
            " FROM {}{}",
            QuotedIdent::table(&table.table, flavor.quote()),
            flavor.alias(T)
        ),
        order: String::new(),
        limit: String::new(),
        params: vec![],
    })
}
