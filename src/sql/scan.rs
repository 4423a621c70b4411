//! The query that scans text columns for production's hosts: the rows whose columns contain a
//! pattern's text (in any case) are read, with their key; which of them really name a host is
//! decided by the host matcher, on these candidate rows only. One query per table, whatever
//! the number of patterns.

use super::coercion::is_text;
use super::ident::QuotedIdent;
use super::writer::{where_clause, Writer};
use super::{Error, Flavor, Neighbours, Select, Selected, T};
use crate::state::desired::{CarriedValue, Condition, ResourceId, ScanScope};
use crate::state::host::HostPattern;
use crate::state::observed::{Catalog, TableInfo};
use crate::state::Value;

/// A `carried` resource of the scanned table: the rows it carries (those its filter holds
/// whose stable key was captured) get the captured values of `values`' columns back.
#[derive(Debug, Clone)]
pub struct Carrier<'a> {
    /// The resource.
    pub id: &'a ResourceId,
    /// Its filter.
    pub filter: &'a [Condition],
    /// One per carried column; every one has the same key parts and captured rows.
    pub values: Vec<&'a CarriedValue>,
}

/// How a scan's row says what a carried resource writes into it: a flag (its filter holds),
/// then the row's stable key parts.
#[derive(Debug, Clone, PartialEq)]
pub struct CarrierLayout {
    /// The resource.
    pub id: ResourceId,
    /// Its carried columns, with the captured rows.
    pub values: Vec<CarriedValue>,
}

impl CarrierLayout {
    /// How many values it adds to each row.
    #[must_use]
    pub fn width(&self) -> usize {
        1 + self.values.first().map_or(0, |v| v.parts.len())
    }
}

/// How to read a scan's rows: the key's values, then the scanned columns', then (when other
/// resources mark rows secret) a flag, then one flag per resource that deletes the row, then
/// what each carried resource of the table reads of it.
#[derive(Debug, Clone, PartialEq)]
pub struct ScanLayout {
    /// Key columns, first in each row.
    pub keys: Vec<String>,
    /// Scanned columns, after them.
    pub columns: Vec<String>,
    /// Columns of the scope that hold no text, and are not scanned.
    pub unscannable: Vec<String>,
    /// Whether a value after the scanned ones says the row is secret.
    pub secret_flag: bool,
    /// The resources whose deletion covers the row, one flag each, last in the row.
    pub removers: Vec<ResourceId>,
    /// The carried resources, last in the row.
    pub carriers: Vec<CarrierLayout>,
}

/// The scan of `scope` (its table resolved in `table`) for `patterns`.
///
/// # Errors
/// A column the table does not have, or a filter that does not fit the catalog.
pub fn scan_query(
    table: &TableInfo,
    scope: &ScanScope,
    patterns: &[HostPattern],
    catalog: &Catalog,
    flavor: Flavor,
    neighbours: &Neighbours<'_>,
) -> Result<(Select, ScanLayout), Error> {
    let secret_rows = neighbours.secret_rows;
    let mut w = Writer::new(catalog, flavor);
    let mut scanned = Vec::new();
    let mut unscannable = Vec::new();
    for name in &scope.columns {
        let info = Writer::column(table, name)?;
        if is_text(info) {
            scanned.push(info.clone());
        } else {
            unscannable.push(format!("{} ({})", info.name, info.data_type));
        }
    }
    let keys: Vec<String> = table.primary_key.clone();
    let mut columns = Vec::new();
    for k in &keys {
        columns.push(Selected::column(
            w.col(Some(T), table, k)?,
            Writer::column(table, k)?,
        ));
    }
    for c in &scanned {
        columns.push(Selected::column(w.col(Some(T), table, &c.name)?, c));
    }
    let mut conditions = w.filter(Some(T), table, &scope.filter)?;
    let needles: Vec<String> = patterns
        .iter()
        .map(|p| w.bind(Value::Text(p.needle()), false))
        .collect();
    let mut candidates = Vec::new();
    for c in &scanned {
        let lowered = format!("LOWER({})", w.col(Some(T), table, &c.name)?);
        for n in &needles {
            candidates.push(flavor.contains(&lowered, n));
        }
    }
    conditions.push(if candidates.is_empty() {
        "1 = 0".to_string()
    } else {
        format!("({})", candidates.join(" OR "))
    });
    let secret_flag = !scope.secret && !secret_rows.is_empty();
    if secret_flag {
        columns.push(w.secret_flag(table, secret_rows)?);
    }
    let mut removers = Vec::new();
    for (id, filter) in neighbours.removers {
        columns.push(w.secret_flag(table, &[filter])?);
        removers.push((*id).clone());
    }
    let mut carriers = Vec::new();
    for carrier in neighbours.carriers {
        columns.push(w.secret_flag(table, &[carrier.filter])?);
        for part in carrier
            .values
            .first()
            .map_or(&[][..], |v| v.parts.as_slice())
        {
            let (expr, info) = w.key_part(Some(T), table, part)?;
            columns.push(Selected::column(expr, &info));
        }
        carriers.push(CarrierLayout {
            id: carrier.id.clone(),
            values: carrier.values.iter().map(|v| (*v).clone()).collect(),
        });
    }
    let order = w.order_by(table, &keys)?;
    let rest = format!(
        " FROM {}{}{}",
        QuotedIdent::table(&table.table, flavor.quote()),
        flavor.alias(T),
        where_clause(&conditions)
    );
    Ok((
        Select {
            distinct: false,
            columns,
            rest,
            order,
            limit: String::new(),
            params: w.into_params(),
        },
        ScanLayout {
            keys,
            columns: scanned.into_iter().map(|c| c.name).collect(),
            unscannable,
            secret_flag,
            removers,
            carriers,
        },
    ))
}
