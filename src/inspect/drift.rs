//! A resource's drift: its query checked against the catalog (every problem collected before
//! any data query runs), then its rows streamed, all counted and fingerprinted, the first few
//! kept for the plan.

use super::principals;
use super::{CatalogProblem, Error};
use crate::engine::Reader;
use crate::engine::SAMPLE_ROWS;
use crate::sql::CatalogQueries;
use crate::sql::{self, Carry, Flavor, Layout, RowQuery, RowRewrite, Wanted};
use crate::state::desired::Inspected;
use crate::state::desired::{
    ColumnValue, Condition, Desired, GrantsAbsent, PrincipalsAbsent, Resource, ResourceId,
    ResourceKind, RowsPresent, TableTarget,
};
use crate::state::fingerprint::Fingerprint;
use crate::state::host::HostPattern;
use crate::state::observed::{
    Catalog, Drift, DriftRow, Hit, ObservedResource, TableInfo, ValueChange,
};
use crate::state::Value;

/// What to do for one resource once the catalog is known.
// One per resource, for the length of an inspection: a box would cost more code than memory.
#[allow(clippy::large_enum_variant)]
pub(super) enum Job<'a> {
    Absent,
    Principals(&'a PrincipalsAbsent),
    Grants(&'a GrantsAbsent),
    Query {
        table: Option<Box<TableInfo>>,
        query: RowQuery,
    },
    /// Captured rows to insert where the table lacks them (`None`: they cannot be, and the
    /// carried resource's note says why).
    Present {
        table: Box<TableInfo>,
        present: Option<&'a RowsPresent>,
    },
}

/// Checks every resource against the catalog and writes its query; collects every problem
/// before any data query runs.
pub(super) fn prepare<'a>(
    desired: &'a Desired<Inspected>,
    catalog: &Catalog,
    flavor: Flavor,
) -> Result<Vec<Job<'a>>, Error> {
    let mut problems = Vec::new();
    let mut jobs = Vec::new();
    for r in &desired.resources {
        match job(desired, catalog, flavor, r) {
            Ok(job) => jobs.push(job),
            Err((message, at_table)) => problems.push(CatalogProblem {
                resource: r.id.clone(),
                origin: if at_table {
                    r.table_origin.clone().unwrap_or_else(|| r.origin.clone())
                } else {
                    r.origin.clone()
                },
                message,
            }),
        }
    }
    if problems.is_empty() {
        Ok(jobs)
    } else {
        Err(Error::Catalog { problems })
    }
}

/// One resource's job, or what is wrong with it (and whether at its `table:`).
fn job<'a>(
    desired: &'a Desired<Inspected>,
    catalog: &Catalog,
    flavor: Flavor,
    r: &'a Resource<Inspected>,
) -> Result<Job<'a>, (String, bool)> {
    match &r.kind {
        ResourceKind::GrantsAbsent(spec) => return Ok(Job::Grants(spec)),
        ResourceKind::PrincipalsAbsent(spec) => return Ok(Job::Principals(spec)),
        // A scan with no patterns or no scope left nothing to scan: diff refuses it.
        ResourceKind::ReferencesAbsent(k) if k.scope().is_none() => return Ok(Job::Absent),
        _ => {}
    }
    // A metamodel target still unresolved here named no table: the plan notes it.
    if matches!(r.kind.target(), Some(TableTarget::Metamodel { .. })) {
        return Ok(Job::Absent);
    }
    let table = match r.kind.table() {
        Some(name) => match catalog.get(name) {
            Some(info) => Some(info.clone()),
            None if r.kind.if_exists() => return Ok(Job::Absent),
            None => {
                return Err((
                    format!(
                        "table {name} is not in the database (or its name matches tables in several schemas; write schema.table)"
                    ),
                    true,
                ))
            }
        },
        None => None,
    };
    // Rows of a changed table are read, journaled and written back whole: every column must
    // be of a type postclone carries exactly. A scan reads its text columns only.
    let scan = matches!(r.kind, ResourceKind::ReferencesAbsent(_));
    if let Some(info) = table.as_ref().filter(|_| !scan) {
        let unsupported: Vec<String> = info
            .columns
            .iter()
            .filter(|c| !sql::supported(&c.data_type))
            .map(|c| format!("{} ({})", c.name, c.data_type))
            .collect();
        if !unsupported.is_empty() {
            return Err((
                format!(
                    "table {} has columns of a type postclone cannot read and write back exactly: {}; exclude this resource and declare a custom one",
                    info.table,
                    unsupported.join(", ")
                ),
                true,
            ));
        }
    }
    if let Some(problem) = table.as_ref().and_then(|info| captured_misfit(r, info)) {
        return Err((problem, false));
    }
    if let (ResourceKind::RowsPresent(present), Some(info)) = (&r.kind, &table) {
        let insertable = info.cannot_insert(&present.columns()).is_none();
        return Ok(Job::Present {
            table: Box::new(info.clone()),
            present: insertable.then_some(present),
        });
    }
    let (secret_rows, removers) = neighbours(desired, catalog, r);
    let carriers = if matches!(r.kind, ResourceKind::ReferencesAbsent(_)) {
        carriers(desired, catalog, r)
    } else {
        Vec::new()
    };
    let neighbours = sql::Neighbours {
        secret_rows: &secret_rows,
        removers: &removers,
        carriers: &carriers,
        personal: personal_table(desired, catalog, r),
    };
    match sql::drift_query(r, table.as_ref(), catalog, flavor, &neighbours) {
        Ok(query) => Ok(Job::Query {
            table: table.map(Box::new),
            query,
        }),
        Err(source) => Err((source.to_string(), false)),
    }
}

/// Whether another resource masks `r`'s table (or declares its rows personal): then `r` names
/// its rows by their primary key only, whatever its filter reads.
fn personal_table(
    desired: &Desired<Inspected>,
    catalog: &Catalog,
    r: &Resource<Inspected>,
) -> bool {
    let own = r.kind.table().and_then(|n| catalog.resolve(n));
    own.is_some()
        && desired.resources.iter().any(|s| {
            (s.personal || matches!(s.kind, ResourceKind::Masked(_)))
                && s.kind.table().and_then(|n| catalog.resolve(n)) == own
        })
}

/// What other resources say of `r`'s rows: the filters of the rows they declare secret (masked
/// wherever `r` shows them), and those of the resources that delete rows of its table (a scan
/// says which one deletes a hit's row). Tables are the catalog's, whatever the spelling each
/// resource (or `secret_rows`) wrote.
#[allow(clippy::type_complexity)]
fn neighbours<'a>(
    desired: &'a Desired<Inspected>,
    catalog: &Catalog,
    r: &Resource<Inspected>,
) -> (Vec<&'a [Condition]>, Vec<(&'a ResourceId, &'a [Condition])>) {
    let own = r.kind.table().and_then(|n| catalog.resolve(n));
    let same_table = |s: &&Resource<Inspected>| {
        s.id != r.id && own.is_some() && s.kind.table().and_then(|n| catalog.resolve(n)) == own
    };
    let mut secret_rows: Vec<&[Condition]> = desired
        .resources
        .iter()
        .filter(same_table)
        .filter(|s| s.secret)
        .map(|s| s.kind.filter())
        .collect();
    secret_rows.extend(
        desired
            .secret_rows
            .iter()
            .filter(|s| own.is_some() && catalog.resolve(&s.table) == own)
            .map(|s| s.filter.as_slice()),
    );
    let removers = desired
        .resources
        .iter()
        .filter(same_table)
        .filter(|s| {
            matches!(
                s.kind,
                ResourceKind::RowsAbsent(_) | ResourceKind::TableEmpty(_)
            )
        })
        .map(|s| (&s.id, s.kind.filter()))
        .collect();
    (secret_rows, removers)
}

/// The `carried` resources of `r`'s table (the catalog's, whatever the spelling): a scan of
/// it reads each row's stable key, to tell which hits the captured values replace.
fn carriers<'a>(
    desired: &'a Desired<Inspected>,
    catalog: &Catalog,
    r: &Resource<Inspected>,
) -> Vec<sql::Carrier<'a>> {
    let own = r.kind.table().and_then(|n| catalog.resolve(n));
    desired
        .resources
        .iter()
        .filter(|s| own.is_some() && s.kind.table().and_then(|n| catalog.resolve(n)) == own)
        .filter_map(|s| {
            let ResourceKind::ColumnValues(k) = &s.kind else {
                return None;
            };
            let values: Vec<_> = k
                .set
                .values()
                .filter_map(|v| match v {
                    // Nothing captured: nothing carried back, no key to read.
                    ColumnValue::Carried(c) if !c.rows.rows.is_empty() => Some(c),
                    _ => None,
                })
                .collect();
            (!values.is_empty()).then(|| sql::Carrier {
                id: &s.id,
                filter: &k.filter,
                values,
            })
        })
        .collect()
}

/// Runs one resource's job.
pub(super) async fn run<R: Reader>(
    client: &mut R,
    queries: &CatalogQueries,
    catalog: &Catalog,
    resource: &Resource<Inspected>,
    job: Job<'_>,
) -> Result<ObservedResource, Error> {
    let absent = || ObservedResource::TableAbsent {
        id: resource.id.clone(),
    };
    Ok(match job {
        Job::Absent => absent(),
        // Oracle's users are the schemas the import created: nothing to drop there.
        Job::Principals(_) if queries.principals.is_none() => absent(),
        Job::Principals(spec) => principals::principals(client, queries, resource, spec).await?,
        Job::Grants(spec) => match queries.grants {
            Some(text) => principals::grants(client, queries.flavor, text, resource, spec).await?,
            None => absent(),
        },
        Job::Query {
            table: Some(table),
            query: RowQuery::Scan(select, layout),
        } => {
            let ResourceKind::ReferencesAbsent(spec) = &resource.kind else {
                return Err(Error::resource(
                    resource,
                    "a scan for a resource that is not references_absent",
                ));
            };
            let context = format!("scanning resource {}", resource.id);
            let mut hits = Vec::new();
            client
                .stream(&select, &context, &mut |values| {
                    hits.extend(scan_row(&layout, &spec.patterns, resource.secret, values));
                    Ok(())
                })
                .await?;
            ObservedResource::References {
                id: resource.id.clone(),
                table: *table,
                hits,
                unscannable: layout.unscannable,
            }
        }
        Job::Present { table, present } => {
            let drift = match present {
                Some(present) => {
                    let seen = super::carry::present_keys(
                        client,
                        queries.flavor,
                        &table,
                        present,
                        catalog,
                        &resource.id,
                    )
                    .await?;
                    super::carry::missing_drift(present, &seen, &table, resource.secret)
                }
                None => Drift::default(),
            };
            ObservedResource::Inspected {
                id: resource.id.clone(),
                drift,
                table: Some(*table),
            }
        }
        Job::Query { table, query } => ObservedResource::Inspected {
            id: resource.id.clone(),
            drift: drift(client, resource, &query).await?,
            table: table.map(|t| *t),
        },
    })
}

/// The hits of one scanned row: each column whose text names a pattern's host.
fn scan_row(
    layout: &sql::ScanLayout,
    patterns: &[HostPattern],
    secret: bool,
    mut values: Vec<Value>,
) -> Vec<Hit> {
    let flag = |v: Option<Value>| matches!(v, Some(Value::Int(1) | Value::Bool(true)));
    let carried_width: usize = layout.carriers.iter().map(sql::CarrierLayout::width).sum();
    let mut carried = values.split_off(values.len().saturating_sub(carried_width));
    // What each carried resource writes into this row: its columns' captured values, when its
    // filter holds and the row's stable key was captured.
    let mut carried_back: Vec<(&ResourceId, &sql::CarrierLayout, Vec<String>)> = Vec::new();
    for carrier in &layout.carriers {
        let rest = carried.split_off(carrier.width().min(carried.len()));
        let mut own = std::mem::replace(&mut carried, rest).into_iter();
        if flag(own.next()) {
            let key = own.map(|v| crate::state::desired::key_text(&v)).collect();
            carried_back.push((&carrier.id, carrier, key));
        }
    }
    let flags = values.split_off(
        values
            .len()
            .saturating_sub(layout.removers.len() + usize::from(layout.secret_flag)),
    );
    let mut flags = flags.into_iter();
    let secret_row = layout.secret_flag && flag(flags.next());
    let removed_by = layout
        .removers
        .iter()
        .zip(flags)
        .find(|(_, f)| flag(Some(f.clone())))
        .map(|(id, _)| id.clone());
    let key: Vec<(String, Value)> = layout
        .keys
        .iter()
        .cloned()
        .zip(values.iter().cloned())
        .collect();
    let mut hits = Vec::new();
    for (column, value) in layout
        .columns
        .iter()
        .zip(values.into_iter().skip(layout.keys.len()))
    {
        let Value::Text(text) = &value else {
            continue;
        };
        let mut hosts: Vec<String> = Vec::new();
        for p in patterns {
            for m in p.find(text) {
                let host = text[m.host].to_ascii_lowercase();
                if !hosts.contains(&host) {
                    hosts.push(host);
                }
            }
        }
        if !hosts.is_empty() {
            // The captured value replaces this one: it fixes the hit unless it names one of
            // production's hosts itself (or is sealed and unopened: not known).
            let carry = carried_back.iter().find_map(|(id, carrier, key)| {
                let value = carrier
                    .values
                    .iter()
                    .find(|v| v.column.eq_ignore_ascii_case(column))?;
                match value.wanted(key) {
                    Some(None) => None,
                    Some(Some(Value::Text(captured))) => {
                        let names_production =
                            patterns.iter().any(|p| !p.find(&captured).is_empty());
                        Some((!names_production).then(|| (*id).clone()))
                    }
                    Some(Some(_)) => Some(Some((*id).clone())),
                    None => Some(None),
                }
            });
            hits.push(Hit {
                key: key.clone(),
                column: column.clone(),
                hosts,
                value: (!secret && !secret_row).then_some(value),
                fixed_by: removed_by.clone().or_else(|| carry.clone().flatten()),
                carried: carry.is_some(),
            });
        }
    }
    hits
}

/// Streams a resource's drifted rows: every row counted, the first `SAMPLE_ROWS` kept.
async fn drift<R: Reader>(
    client: &mut R,
    resource: &Resource<Inspected>,
    query: &RowQuery,
) -> Result<Drift, Error> {
    let mut sample = Vec::new();
    let mut fingerprint = Fingerprint::default();
    let count = match query {
        RowQuery::Table(select, layout) => {
            let context = format!("inspecting resource {}", resource.id);
            // A host rewrite reads the rows whose text contains the host; only those whose
            // value it changes are drift.
            let rewrites = matches!(layout, Layout::Keyed { compared, .. }
                if compared.iter().any(|(_, w)| w.per_row()));
            // The fingerprint covers the table's own columns, whole: what the journal captures
            // of the same rows, so that apply checks them in the pass that journals them.
            let width = match layout {
                Layout::Keyed { columns, .. } => columns.len(),
                Layout::Custom => usize::MAX,
            };
            let mut count = 0;
            let mut refused = None;
            let mut each = |values: Vec<Value>| {
                let row = if rewrites {
                    let row = decode(layout, Vec::new(), values.clone());
                    if row.changes.is_empty() {
                        return Ok(());
                    }
                    // A secret row (a secret site property) is only ever captured sealed: a
                    // value in clear for it was not written by capture.
                    if row.secret && row.captured_in_clear {
                        refused = Some(Error::resource(
                            resource,
                            format!(
                                "the captured value for the secret row {} is given in clear; secret values must be sealed: capture again (capture seals them to journal.recipients)",
                                row.label.clone().unwrap_or_else(|| row
                                    .key
                                    .iter()
                                    .map(|(c, v)| format!("{c} = {v}"))
                                    .collect::<Vec<_>>()
                                    .join(", "))
                            ),
                        ));
                        return Err(crate::engine::Error::Stopped {
                            context: context.clone(),
                        });
                    }
                    Some(row)
                } else {
                    None
                };
                count += 1;
                fingerprint.row(&values[..width.min(values.len())]);
                if sample.len() < SAMPLE_ROWS {
                    sample.push(row.unwrap_or_else(|| decode(layout, Vec::new(), values)));
                }
                Ok(())
            };
            let streamed = client.stream(select, &context, &mut each).await;
            if let Some(refusal) = refused {
                return Err(refusal);
            }
            streamed?;
            count
        }
        RowQuery::Scan(..) => 0,
        RowQuery::Check(sql) => {
            let context = format!("the check query of resource {}", resource.id);
            let mut each = |names: &[String], values: Vec<Value>| {
                fingerprint.row(&values);
                if sample.len() < SAMPLE_ROWS {
                    sample.push(decode(&Layout::Custom, names.to_vec(), values));
                }
                Ok(())
            };
            // A check written by hand may read credentials: the server's message about it
            // is masked as a secret change's is.
            client
                .check(sql, &context, &mut each)
                .await
                .map_err(|e| match e {
                    crate::engine::Error::Query { context, source } => {
                        crate::engine::Error::Query {
                            context,
                            source: Box::new(sql::Masked::of_custom(&*source, &sql.text)),
                        }
                    }
                    other => other,
                })?
        }
    };
    Ok(Drift {
        count,
        sample,
        fingerprint: fingerprint.finish(),
    })
}

/// The first captured value a carried resource would write that its column cannot hold as it
/// is (another kind, too long, NULL in a NOT NULL column): checked before anything runs, so
/// that a wrong capture is refused instead of written and then never converging. Named by
/// row and column, never by value.
fn captured_misfit(
    r: &Resource<Inspected>,
    info: &crate::state::observed::TableInfo,
) -> Option<String> {
    use crate::state::desired::{CarriedRows, ColumnValue};
    let check = |rows: &CarriedRows, column: &str| -> Option<String> {
        let Some(col) = info.column(column) else {
            // A column only an insert writes that this table lacks: the insert's own check
            // names it (the rows are then listed, not inserted).
            if rows
                .insert_columns
                .iter()
                .any(|c| c.eq_ignore_ascii_case(column))
            {
                return None;
            }
            return Some(format!(
                "captured column {column} is not in table {}",
                info.table
            ));
        };
        let mut keys: Vec<_> = rows.rows.iter().collect();
        keys.sort_by(|a, b| a.0.cmp(b.0));
        keys.into_iter().find_map(|(key, row)| {
            let value = row.values.as_ref()?.get(column)?;
            sql::captured_fits(value, col).err().map(|why| {
                format!(
                    "the captured value of {column} for row {} cannot be written: {why}; capture again from the environment, or correct the captured file",
                    row.name.clone().unwrap_or_else(|| key.join(", "))
                )
            })
        })
    };
    match &r.kind {
        ResourceKind::RowsPresent(present) => present
            .values
            .iter()
            .find_map(|column| check(&present.rows, column)),
        kind => kind.set()?.iter().find_map(|(_, value)| match value {
            ColumnValue::Carried(c) => check(&c.rows, &c.column),
            _ => None,
        }),
    }
}

/// Splits a result row into its key, its value changes and its name, following the query's
/// layout.
pub(crate) fn decode(layout: &Layout, names: Vec<String>, values: Vec<Value>) -> DriftRow {
    match layout {
        Layout::Custom => DriftRow {
            key: names.into_iter().zip(values).collect(),
            changes: vec![],
            label: None,
            details: vec![],
            secret: false,
            captured_in_clear: false,
        },
        Layout::Keyed {
            columns,
            keys,
            compared,
            label,
            details,
            secret_flag,
        } => {
            let cell = |i: usize| values.get(i).cloned().unwrap_or(Value::Null);
            let key = keys
                .iter()
                .map(|&i| (columns.get(i).cloned().unwrap_or_default(), cell(i)))
                .collect();
            let mut computed = values.iter().skip(columns.len()).cloned();
            let mut captured_in_clear = false;
            let changes = compared
                .iter()
                .filter_map(|(i, wanted)| {
                    let old = cell(*i);
                    // A mask is shown as a change only (personal data): its value is computed
                    // with the key when the change is applied.
                    let new = match wanted {
                        Wanted::Rewrite(r @ RowRewrite::Mask { .. }) => {
                            if !r.changes(&values, *i) {
                                return None;
                            }
                            Value::Null
                        }
                        // A sealed value no identity opened: a change whose value is unknown.
                        Wanted::Carried { .. } => match wanted.carry(&mut computed) {
                            Carry::Keep => return None,
                            Carry::Set(v) => v,
                            Carry::SetInClear(v) => {
                                captured_in_clear = true;
                                v
                            }
                            Carry::Unknown => {
                                return Some(ValueChange {
                                    column: columns.get(*i).cloned().unwrap_or_default(),
                                    old,
                                    new: Value::Null,
                                })
                            }
                        },
                        _ => wanted
                            .of(&values, &mut computed, None)
                            .unwrap_or(Value::Null),
                    };
                    if matches!(wanted, Wanted::Rewrite(RowRewrite::Mask { .. })) {
                        return Some(ValueChange {
                            column: columns.get(*i).cloned().unwrap_or_default(),
                            old,
                            new,
                        });
                    }
                    (!old.same_as(&new)).then(|| ValueChange {
                        column: columns.get(*i).cloned().unwrap_or_default(),
                        old,
                        new,
                    })
                })
                .collect();
            let label = if *label {
                computed.next().and_then(shown)
            } else {
                None
            };
            let details = details
                .iter()
                .filter_map(|name| Some((name.clone(), shown(computed.next()?)?)))
                .collect();
            let secret =
                *secret_flag && matches!(computed.next(), Some(Value::Int(1) | Value::Bool(true)));
            DriftRow {
                key,
                changes,
                label,
                details,
                secret,
                captured_in_clear,
            }
        }
    }
}

/// A value as a row's name shows it; NULL shows nothing.
fn shown(value: Value) -> Option<String> {
    match value {
        Value::Null => None,
        Value::Text(t) => Some(t.trim_end().to_string()),
        other => Some(other.to_string()),
    }
}

#[cfg(test)]
mod tests;
