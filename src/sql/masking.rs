//! The queries masking's plan-time checks read: an entity's attributes from the metamodel, and
//! the columns of a unique index for every row, with whether the row is masked.

use super::ident::QuotedIdent;
use super::writer::{where_clause, Writer};
use super::{Error, Flavor, Select, Selected, Shape, T};
use crate::state::desired::{AttributeCatalog, Condition, Predicate};
use crate::state::observed::{Catalog, TableInfo};
use crate::state::Value;

/// Name, type and active flag of the attributes of the entity whose id is `entity_id`.
///
/// # Errors
/// A table or column of the attribute catalog the database does not hold.
pub fn attributes_query(
    attributes: &AttributeCatalog,
    entity_id: &str,
    catalog: &Catalog,
    flavor: Flavor,
) -> Result<Select, Error> {
    let mut w = Writer::new(catalog, flavor);
    let table = w.table(&attributes.table)?;
    let id = entity_id
        .trim()
        .parse::<i64>()
        .map_or_else(|_| Value::Text(entity_id.trim().to_string()), Value::Int);
    let filter = w.filter(
        Some(T),
        table,
        &[Condition {
            column: attributes.entity.clone(),
            predicate: Predicate::In(vec![id]),
            ignore_case: false,
        }],
    )?;
    let mut columns = Vec::new();
    for name in [&attributes.name, &attributes.data_type, &attributes.active] {
        columns.push(Selected::column(
            w.col(Some(T), table, name)?,
            Writer::column(table, name)?,
        ));
    }
    let rest = format!(
        " FROM {}{}{}",
        QuotedIdent::table(&table.table, flavor.quote()),
        flavor.alias(T),
        where_clause(&filter)
    );
    Ok(Select {
        distinct: false,
        columns,
        rest,
        order: String::new(),
        limit: String::new(),
        params: w.into_params(),
    })
}

/// The `columns` of every row of `table`, then 1 when the row matches `filter` (it is masked)
/// and 0 when not.
///
/// # Errors
/// A column the table does not have, or a filter that does not fit the catalog.
pub fn index_query(
    table: &TableInfo,
    columns: &[String],
    filter: &[Condition],
    catalog: &Catalog,
    flavor: Flavor,
) -> Result<Select, Error> {
    let mut w = Writer::new(catalog, flavor);
    let mut selected = Vec::new();
    for c in columns {
        selected.push(Selected::column(
            w.col(Some(T), table, c)?,
            Writer::column(table, c)?,
        ));
    }
    let flag = w.secret_flag(table, &[filter])?;
    selected.push(Selected {
        expr: flag.expr,
        shape: Shape::Plain,
    });
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
        params: w.into_params(),
    })
}
