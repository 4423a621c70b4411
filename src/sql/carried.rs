//! The SQL of carried values: a row's stable key read by the query (each key part a column, or
//! the value reached from it through other tables by nested lookups), and the condition by
//! which another resource leaves the carried rows to the carry.

use super::writer::{AssignmentSql, Writer};
use super::{Error, Flavor, Selected, Shape, T};
use crate::sql::ident::QuotedIdent;
use crate::state::desired::{CarriedValue, KeyPart, ResourceId, RowsPresent};
use crate::state::observed::{ColumnInfo, TableInfo};
use crate::state::Value;

/// Most parameters a condition leaving carried rows out binds: the rest of the statement keeps
/// room under SQL Server's 2,100 per request.
const MOST_KEY_PARAMS: usize = 1_800;

/// How the query reads a carried column's value: the key parts it selects after the table's
/// columns, and the captured rows they are looked up in.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct CarriedSql {
    /// The key parts, selected in the order the captured rows compare them.
    pub(super) keys: Vec<Selected>,
    /// The value.
    pub(super) value: CarriedValue,
}

impl Writer<'_> {
    /// A key part as an expression over the row of `table` (under `qualifier`), and the catalog
    /// entry of the column it ends on: `t.[COL]`, or `(SELECT s1.[TAKE] FROM [T2] AS s1 WHERE
    /// s1.[MATCH] = t.[COL])` for each table it goes through.
    pub(super) fn key_part(
        &mut self,
        qualifier: Option<&str>,
        table: &TableInfo,
        part: &KeyPart,
    ) -> Result<(String, ColumnInfo), Error> {
        let mut expr = self.col(qualifier, table, &part.column)?;
        let mut info = Self::column(table, &part.column)?.clone();
        for hop in &part.through {
            let other = self.table(&hop.table)?;
            let alias = self.alias();
            let take = self.col(Some(&alias), other, &hop.take)?;
            let on = self.col(Some(&alias), other, &hop.on)?;
            expr = format!(
                "(SELECT {take} FROM {}{} WHERE {on} = {expr})",
                QuotedIdent::table(&other.table, self.flavor.quote()),
                self.flavor.alias(&alias)
            );
            info = Self::column(other, &hop.take)?.clone();
        }
        Ok((expr, info))
    }

    /// A carried column: every row is read with its stable key, and its value computed from
    /// the captured row of that key (rows whose key was not captured keep theirs).
    pub(super) fn carried(
        &mut self,
        table: &TableInfo,
        name: &str,
        column: ColumnInfo,
        value: &CarriedValue,
    ) -> Result<(AssignmentSql, String), Error> {
        let current = self.col(Some(T), table, name)?;
        let mut keys = Vec::with_capacity(value.parts.len());
        for part in &value.parts {
            let (expr, info) = self.key_part(Some(T), table, part)?;
            keys.push(Selected {
                expr,
                shape: Shape::of(&info),
            });
        }
        Ok((
            AssignmentSql {
                shape: Shape::of(&column),
                column,
                desired: current,
                literal: None,
                rewrite: None,
                carried: Some(CarriedSql {
                    keys,
                    value: value.clone(),
                }),
            },
            "1 = 1".into(),
        ))
    }

    /// `NOT EXISTS` a captured key equal to the row's: the rows of `table` that the carry
    /// `value` does not carry. No captured row: every row.
    pub(super) fn not_carried(
        &mut self,
        qualifier: Option<&str>,
        table: &TableInfo,
        value: &CarriedValue,
    ) -> Result<String, Error> {
        if value.rows.rows.is_empty() {
            return Ok("1 = 1".into());
        }
        if value.rows.rows.len() * value.parts.len() > MOST_KEY_PARAMS {
            return Err(Error::TooManyCarried {
                resource: value.resource.clone(),
                rows: value.rows.rows.len(),
            });
        }
        let mut parts = Vec::with_capacity(value.parts.len());
        for part in &value.parts {
            parts.push(self.key_part(qualifier, table, part)?);
        }
        let mut keys: Vec<&Vec<String>> = value.rows.rows.keys().collect();
        keys.sort();
        let alias = self.alias();
        let tuples: Vec<Vec<String>> = keys
            .iter()
            .map(|key| {
                key.iter()
                    .zip(&parts)
                    .map(|(k, (_, info))| self.bind_for(Value::Text(k.clone()), info, false))
                    .collect()
            })
            .collect();
        let names: Vec<String> = (0..parts.len()).map(|n| format!("k{n}")).collect();
        let matched: Vec<String> = parts
            .iter()
            .enumerate()
            .map(|(n, (expr, _))| format!("{alias}.k{n} = {expr}"))
            .collect();
        let list = match self.flavor {
            Flavor::SqlServer => format!(
                "(VALUES {}) AS {alias}({})",
                tuples
                    .iter()
                    .map(|t| format!("({})", t.join(", ")))
                    .collect::<Vec<_>>()
                    .join(", "),
                names.join(", ")
            ),
            Flavor::Oracle => format!(
                "({}) {alias}",
                tuples
                    .iter()
                    .map(|t| {
                        let columns: Vec<String> = t
                            .iter()
                            .zip(&names)
                            .map(|(marker, name)| format!("{marker} {name}"))
                            .collect();
                        format!("SELECT {} FROM DUAL", columns.join(", "))
                    })
                    .collect::<Vec<_>>()
                    .join(" UNION ALL ")
            ),
        };
        Ok(format!(
            "NOT EXISTS (SELECT 1 FROM {list} WHERE {})",
            matched.join(" AND ")
        ))
    }
}

/// `SELECT <key parts>, <name parts> FROM table AS t`: every row's stable key (and, when
/// `names` are given, the parts that name it), to tell which captured rows the table does not
/// hold and which of its rows were not captured.
///
/// # Errors
/// A key or name part naming a table or column the catalog does not hold.
pub fn carried_keys_query(
    table: &TableInfo,
    parts: &[KeyPart],
    names: &[KeyPart],
    filter: &[crate::state::desired::Condition],
    catalog: &crate::state::observed::Catalog,
    flavor: Flavor,
) -> Result<super::Select, Error> {
    let mut w = Writer::new(catalog, flavor);
    let mut columns = Vec::with_capacity(parts.len() + names.len());
    for part in parts.iter().chain(names) {
        let (expr, info) = w.key_part(Some(T), table, part)?;
        columns.push(Selected {
            expr,
            shape: Shape::of(&info),
        });
    }
    let conditions = w.filter(Some(T), table, filter)?;
    Ok(super::Select {
        distinct: false,
        columns,
        rest: format!(
            " FROM {}{}{}",
            QuotedIdent::table(&table.table, flavor.quote()),
            flavor.alias(T),
            super::writer::where_clause(&conditions)
        ),
        order: String::new(),
        limit: String::new(),
        params: w.into_params(),
    })
}

/// What `postclone capture` reads of a carried resource: each row's key parts, its carried
/// values (whole), its name when the resource says how (its `name` parts, or its label), and whether a secret resource or
/// `secret_rows` covers it (last, when `secret_rows` is not empty). In key order.
///
/// # Errors
/// A key part, value or name naming a table or column the catalog does not hold.
pub fn carried_capture_query(
    table: &TableInfo,
    carried: &crate::state::desired::Carried,
    secret_rows: &[&[crate::state::desired::Condition]],
    catalog: &crate::state::observed::Catalog,
    flavor: Flavor,
) -> Result<super::Select, Error> {
    let mut w = Writer::new(catalog, flavor);
    let mut columns = Vec::new();
    let mut keys = Vec::new();
    for part in carried.key.values() {
        let (expr, info) = w.key_part(Some(T), table, part)?;
        keys.push(expr.clone());
        columns.push(Selected {
            expr,
            shape: Shape::of(&info),
        });
    }
    for name in &carried.values {
        let info = Writer::column(table, name)?;
        columns.push(Selected::column(w.col(Some(T), table, name)?, info));
    }
    if carried.name.is_empty() {
        if let Some(label) = &carried.label {
            columns.push(w.describe(table, label)?);
        }
    } else {
        for part in &carried.name {
            let (expr, info) = w.key_part(Some(T), table, part)?;
            columns.push(Selected {
                expr,
                shape: Shape::of(&info),
            });
        }
    }
    if !secret_rows.is_empty() {
        columns.push(w.secret_flag(table, secret_rows)?);
    }
    let conditions = w.filter(Some(T), table, &carried.filter)?;
    let order = if keys.is_empty() {
        String::new()
    } else {
        format!(" ORDER BY {}", keys.join(", "))
    };
    Ok(super::Select {
        distinct: false,
        columns,
        rest: format!(
            " FROM {}{}{}",
            QuotedIdent::table(&table.table, flavor.quote()),
            flavor.alias(T),
            super::writer::where_clause(&conditions)
        ),
        order,
        limit: String::new(),
        params: w.into_params(),
    })
}

/// The statements that insert the captured rows a table lacks: `rows` hold the value of each
/// of `present.columns()`, in order. Values but the key's are bound as secret (they are the
/// environment's own configuration, sealed when captured).
///
/// # Errors
/// A column the table does not hold.
pub fn insert_present(
    table: &TableInfo,
    present: &RowsPresent,
    rows: &[Vec<Value>],
    flavor: Flavor,
    source: &ResourceId,
) -> Result<Vec<super::Statement>, Error> {
    let columns = present
        .columns()
        .iter()
        .map(|c| Writer::column(table, c).cloned())
        .collect::<Result<Vec<ColumnInfo>, Error>>()?;
    let key: Vec<usize> = (0..present.parts.len()).collect();
    let rows: Vec<&[Value]> = rows.iter().map(Vec::as_slice).collect();
    // A key part that is the table's identity is written as captured (explicit identity
    // values, as restore writes them).
    let identity = columns.iter().any(|c| c.identity);
    Ok(super::batch::insert_rows(
        &table.table,
        &columns,
        &key,
        &rows,
        identity,
        flavor,
        source,
    ))
}

/// The rows of `table` whose `columns` hold `values` (`NULL` as `IS NULL`), whole: an inserted
/// row read back to be journaled, a journaled row looked for by its key.
#[must_use]
pub fn rows_where(
    table: &TableInfo,
    columns: &[&ColumnInfo],
    values: &[Value],
    flavor: Flavor,
) -> super::Select {
    let catalog = crate::state::observed::Catalog::default();
    let mut w = Writer::new(&catalog, flavor);
    let parts: Vec<String> = columns
        .iter()
        .zip(values)
        .map(|(column, value)| {
            let qualified = format!("{T}.{}", QuotedIdent::column(column, flavor.quote()));
            if value.is_null() {
                format!("{qualified} IS NULL")
            } else {
                format!("{qualified} = {}", w.bind_for(value.clone(), column, false))
            }
        })
        .collect();
    super::Select {
        distinct: false,
        columns: super::writer::all_columns(table, flavor),
        rest: format!(
            " FROM {}{}{}",
            QuotedIdent::table(&table.table, flavor.quote()),
            flavor.alias(T),
            super::writer::where_clause(&[parts.join(" AND ")])
        ),
        order: String::new(),
        limit: String::new(),
        params: w.into_params(),
    }
}
