//! The copies scan of a plan that masks: the originals every masking rule replaces are reduced
//! to keyed digests, then every text column of every table is read, one streamed query per
//! table, and each value is compared with them (see `state::copies`). A copy is named by
//! table, key and column, never shown.

use crate::state::desired::Inspected;
use std::collections::HashMap;
use std::sync::Arc;

use super::catalog::{self, CatalogRows, Extent};
use super::Error;
use crate::engine::Reader;
use crate::sql::{self, CatalogQueries};
use crate::state::copies::{CopiesFacts, Copy, NotScanned, Originals};
use crate::state::desired::{Desired, ResourceId, ResourceKind, TableName};
use crate::state::observed::{Catalog, ColumnInfo, TableInfo, TableRef};
use crate::state::Value;

/// Most copies listed; beyond, they are counted.
const MAX_LISTED: usize = 1_000;

/// Table names per catalog read (SQL Server takes 2,100 parameters per request).
const NAMES_PER_READ: usize = 1_000;

/// A masked column: which rule masks it, and the origin of its own values.
struct MaskedColumn {
    resource: ResourceId,
    origin: usize,
}

/// A masking rule's table, and its attributes with their columns.
type MaskedTable<'a> = (&'a ResourceId, &'a TableInfo, Vec<(String, &'a ColumnInfo)>);

/// The copies scan, when the plan masks; `None` otherwise.
pub(super) async fn scan<R: Reader>(
    client: &mut R,
    queries: &CatalogQueries,
    (desired, given): (&Desired<Inspected>, super::Given<'_>),
    catalog: &Catalog,
) -> Result<Option<(CopiesFacts, Arc<Originals>)>, Error> {
    let masked: Vec<MaskedTable<'_>> = desired
        .resources
        .iter()
        .filter_map(|r| {
            let ResourceKind::Masked(m) = &r.kind else {
                return None;
            };
            let table = r.kind.table().and_then(|t| catalog.get(t))?;
            let columns = m
                .attributes
                .keys()
                .filter_map(|a| Some((a.clone(), table.column(a)?)))
                .collect();
            Some((&r.id, table, columns))
        })
        .collect();
    if masked.is_empty() {
        return Ok(None);
    }
    let mut columns_masked: HashMap<(TableRef, String), MaskedColumn> = HashMap::new();
    let mut facts = CopiesFacts::default();
    let mut originals = match given.originals {
        Some(before) => (**before).clone(),
        None => Originals::new(&key(given.mask_key)),
    };
    for (id, table, columns) in &masked {
        for (attribute, column) in columns {
            let origin = originals.origin(id, attribute);
            facts.masked.push(format!("{id}.{attribute}"));
            columns_masked.insert(
                (table.table.clone(), column.name.to_uppercase()),
                MaskedColumn {
                    resource: (*id).clone(),
                    origin,
                },
            );
        }
    }
    if given.originals.is_none() {
        for r in &desired.resources {
            read_originals(client, queries, catalog, r, &mut originals).await?;
        }
    }
    // A table the plan empties holds no copy after it: whatever it holds is covered.
    for r in &desired.resources {
        let empties = match &r.kind {
            ResourceKind::TableEmpty(_) => true,
            ResourceKind::RowsAbsent(k) => k.filter.is_empty(),
            _ => false,
        };
        if let Some(table) = r
            .kind
            .table()
            .and_then(|t| catalog.get(t))
            .filter(|_| empties)
        {
            columns_masked.insert(
                (table.table.clone(), String::new()),
                MaskedColumn {
                    resource: r.id.clone(),
                    origin: usize::MAX,
                },
            );
        }
    }
    let originals = Arc::new(originals);
    facts.originals = originals.count();
    let tables = all_tables(client, queries, desired).await?;
    for table in &tables {
        scan_table(
            client,
            queries,
            desired,
            table,
            &originals,
            &columns_masked,
            &mut facts,
        )
        .await?;
    }
    facts.digests = originals.clone();
    Ok(Some((facts, originals)))
}

/// The key digests are made with: the masking key, or (without one, the plan cannot apply
/// masks anyway) a random one: digests never leave this process.
fn key(mask_key: Option<&crate::state::masking::MaskKey>) -> Vec<u8> {
    if let Some(key) = mask_key {
        return key.secret().to_vec();
    }
    let mut bytes = [0u8; 32];
    // Without randomness, a fixed key: the digests still never leave memory.
    let _ = getrandom::getrandom(&mut bytes);
    bytes.to_vec()
}

/// Adds the originals of one `masked` resource: the values its rows hold now in the columns
/// it masks, those already masked left out.
async fn read_originals<R: Reader>(
    client: &mut R,
    queries: &CatalogQueries,
    catalog: &Catalog,
    r: &crate::state::desired::Resource<Inspected>,
    originals: &mut Originals,
) -> Result<(), Error> {
    let ResourceKind::Masked(m) = &r.kind else {
        return Ok(());
    };
    let Some(table) = r.kind.table().and_then(|t| catalog.get(t)) else {
        return Ok(());
    };
    let columns: Vec<(usize, &crate::state::masking::MaskMethod, &ColumnInfo)> = m
        .attributes
        .iter()
        .filter_map(|(a, method)| Some((originals.origin(&r.id, a), method, table.column(a)?)))
        .collect();
    if columns.is_empty() {
        return Ok(());
    }
    let infos: Vec<&ColumnInfo> = columns.iter().map(|(_, _, c)| *c).collect();
    let select = sql::originals_query(table, &infos, r.kind.filter(), catalog, queries.flavor)
        .map_err(|e| Error::resource(r, e.to_string()))?;
    let context = format!("reading the values resource {} masks", r.id);
    client
        .stream(&select, &context, &mut |row| {
            for ((origin, method, _), value) in columns.iter().zip(row) {
                if !method.is_masked(&value) {
                    originals.add(*origin, &value);
                }
            }
            Ok(())
        })
        .await?;
    Ok(())
}

/// Every table of the database but those the spec leaves out, with its columns and key.
async fn all_tables<R: Reader>(
    client: &mut R,
    queries: &CatalogQueries,
    desired: &Desired<Inspected>,
) -> Result<Vec<TableInfo>, Error> {
    let listed = sql::with_names(
        queries.all_tables,
        queries.flavor,
        queries.owner.as_deref(),
        &[],
    );
    let mut names: Vec<TableName> = Vec::new();
    for row in client
        .rows(&listed, "listing the tables to scan for copies")
        .await?
    {
        let text = |i: usize| match row.get(i) {
            Some(Value::Text(t)) => t.clone(),
            _ => String::new(),
        };
        let name = TableName {
            schema: Some(text(0)),
            name: text(1),
        };
        let excluded = desired.masking.copies.exclude.iter().any(|x| {
            x.name.eq_ignore_ascii_case(&name.name)
                && x.schema.as_ref().is_none_or(|s| {
                    name.schema
                        .as_ref()
                        .is_some_and(|n| n.eq_ignore_ascii_case(s))
                })
        });
        if !excluded {
            names.push(name);
        }
    }
    let mut rows = CatalogRows::default();
    for chunk in names.chunks(NAMES_PER_READ) {
        rows.merge(catalog::read_unkept(client, queries, chunk, Extent::Shape).await?);
    }
    let mut by_table: HashMap<TableRef, TableInfo> = rows
        .tables
        .iter()
        .map(|t| {
            (
                t.clone(),
                TableInfo {
                    table: t.clone(),
                    columns: Vec::new(),
                    primary_key: Vec::new(),
                },
            )
        })
        .collect();
    for (t, c) in rows.columns {
        if let Some(info) = by_table.get_mut(&t) {
            info.columns.push(c);
        }
    }
    for (t, k) in rows.primary_keys {
        if let Some(info) = by_table.get_mut(&t) {
            info.primary_key.push(k);
        }
    }
    let mut tables: Vec<TableInfo> = by_table.into_values().collect();
    tables.sort_by_key(|t| t.table.to_string());
    Ok(tables)
}

/// Reads one table's text columns and records the copies found.
async fn scan_table<R: Reader>(
    client: &mut R,
    queries: &CatalogQueries,
    desired: &Desired<Inspected>,
    table: &TableInfo,
    originals: &Originals,
    masked: &HashMap<(TableRef, String), MaskedColumn>,
    facts: &mut CopiesFacts,
) -> Result<(), Error> {
    let mut text = Vec::new();
    for c in &table.columns {
        let not = |reason: &str| NotScanned {
            table: table.table.clone(),
            column: c.name.clone(),
            reason: reason.into(),
        };
        if encrypted(desired, table, c) {
            facts.not_scanned.push(not("encrypted"));
        } else if sql::is_text(c) {
            text.push(c);
        } else if is_binary(c) {
            facts.not_scanned.push(not("binary"));
        }
    }
    if text.is_empty() {
        return Ok(());
    }
    if table.primary_key.is_empty() {
        facts.not_scanned.push(NotScanned {
            table: table.table.clone(),
            column: String::new(),
            reason: "no primary key: a copy could not be named".into(),
        });
        return Ok(());
    }
    let select =
        sql::copies_query(table, &text, queries.flavor).map_err(|source| Error::Query {
            context: format!("scanning {} for copies", table.table),
            source,
        })?;
    let keys = table.primary_key.len();
    let context = format!("scanning {} for copies of masked values", table.table);
    facts.tables_scanned += 1;
    facts.columns_scanned += text.len();
    let origins = originals.origins();
    let rows = client
        .stream(&select, &context, &mut |row| {
            for (i, value) in row.iter().enumerate().skip(keys) {
                let Value::Text(t) = value else { continue };
                let column = &text[i - keys];
                let masking = masked.get(&(table.table.clone(), column.name.to_uppercase()));
                // The masked column's own values are its originals, not copies of them.
                let Some(origin) = originals.copied_in(t, masking.map(|m| m.origin)) else {
                    continue;
                };
                let origin_name = origins.get(origin).cloned().unwrap_or_default();
                // One rule masking two attributes of a row (an email that spells the name):
                // both go, nothing is left to report.
                if masking.is_some_and(|m| origin_name.starts_with(&format!("{}.", m.resource))) {
                    continue;
                }
                let cover = masking.or_else(|| masked.get(&(table.table.clone(), String::new())));
                facts.found += 1;
                if cover.is_none() {
                    facts.found_uncovered += 1;
                }
                if facts.copies.len() < MAX_LISTED {
                    facts.copies.push(Copy {
                        table: table.table.clone(),
                        key: table
                            .primary_key
                            .iter()
                            .cloned()
                            .zip(row.iter().take(keys).cloned())
                            .collect(),
                        column: column.name.clone(),
                        origin: origin_name,
                        covered_by: cover.map(|m| m.resource.clone()),
                    });
                }
            }
            Ok(())
        })
        .await?;
    facts.rows_scanned += rows;
    Ok(())
}

/// A column the spec's configuration values call secret (encrypted connection strings).
fn encrypted(desired: &Desired<Inspected>, table: &TableInfo, column: &ColumnInfo) -> bool {
    desired.configuration_values.iter().any(|s| {
        let named = match &s.table {
            crate::state::desired::TableTarget::Name(n) => {
                n.name.eq_ignore_ascii_case(&table.table.name)
            }
            crate::state::desired::TableTarget::Metamodel { .. } => false,
        };
        s.secret
            && named
            && s.columns
                .iter()
                .any(|c| c.eq_ignore_ascii_case(&column.name))
    })
}

fn is_binary(column: &ColumnInfo) -> bool {
    matches!(
        column.data_type.to_ascii_lowercase().as_str(),
        "varbinary" | "binary" | "image" | "blob" | "raw" | "long raw"
    )
}
