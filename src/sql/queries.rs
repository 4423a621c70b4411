//! The queries that read rows: a resource's drifted rows (for the plan), the values of an
//! `in_select` (read once), the tables a metamodel target names, and the whole rows a change is
//! about to delete or modify (for the journal).

use super::ident::QuotedIdent;
use super::writer::{
    all_columns, key_columns, position, where_clause, AssignmentSql, RowRewrite, Writer,
};
use super::{Error, Flavor, Select, Selected, Sql, T};
use crate::change::{Change, ChangeKind};
use crate::journal::RowImage;
use crate::state::desired::Inspected;
use crate::state::desired::{
    key_text, CarriedValue, ColumnValue, Condition, Resource, ResourceId, ResourceKind, Subselect,
    TablesFrom,
};
use crate::state::masking::MaskKey;
use crate::state::observed::{Catalog, ColumnInfo, TableInfo};
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
        /// Set columns: position of the current value, and where the desired one comes from.
        compared: Vec<(usize, Wanted)>,
        /// Whether each row's name follows the computed values.
        label: bool,
        /// The names of the details that follow it.
        details: Vec<String>,
        /// Whether a last value says the row is secret (another resource marks it so).
        secret_flag: bool,
    },
    /// A custom check: every column is shown, as returned.
    Custom,
}

/// Where the value a set column must hold comes from.
#[derive(Debug, Clone, PartialEq)]
pub enum Wanted {
    /// A literal of the spec.
    Literal(Value),
    /// Computed by the query (a lookup, a text rewrite): it follows the table's columns.
    Selected,
    /// Computed from the row by postclone (a host rewrite, a mask).
    Rewrite(RowRewrite),
    /// The environment's own value, by the row's stable key: its parts follow the table's
    /// columns.
    Carried {
        /// The value.
        value: CarriedValue,
        /// Position of the column among the table's.
        column: usize,
    },
}

/// What a carried column's row must hold.
#[derive(Debug, Clone, PartialEq)]
pub enum Carry {
    /// Its own value: the key was not captured.
    Keep,
    /// This value, captured sealed (or in a resource that seals nothing).
    Set(Value),
    /// This value, captured in clear: refused where the row is secret.
    SetInClear(Value),
    /// A sealed value no identity opened.
    Unknown,
}

impl Wanted {
    /// The desired value of a row, given its values and the next value the query computed;
    /// `None` when it cannot be computed without the masking key.
    pub fn of(
        &self,
        row: &[Value],
        computed: &mut dyn Iterator<Item = Value>,
        key: Option<&MaskKey>,
    ) -> Option<Value> {
        match self {
            Wanted::Literal(v) => Some(v.clone()),
            Wanted::Selected => Some(computed.next().unwrap_or(Value::Null)),
            Wanted::Rewrite(r) => r.apply(row, key),
            Wanted::Carried { column, .. } => match self.carry(computed) {
                Carry::Keep => Some(row.get(*column).cloned().unwrap_or(Value::Null)),
                Carry::Set(v) | Carry::SetInClear(v) => Some(v),
                Carry::Unknown => None,
            },
        }
    }

    /// For a carried column, what the row must hold, from its key parts (the next computed
    /// values); `Keep` for any other kind.
    pub fn carry(&self, computed: &mut dyn Iterator<Item = Value>) -> Carry {
        let Wanted::Carried { value, .. } = self else {
            return Carry::Keep;
        };
        let key: Vec<String> = (0..value.parts.len())
            .map(|_| key_text(&computed.next().unwrap_or(Value::Null)))
            .collect();
        match value.wanted(&key) {
            Some(None) => Carry::Keep,
            Some(Some(v)) if value.in_clear(&key) => Carry::SetInClear(v),
            Some(Some(v)) => Carry::Set(v),
            None => Carry::Unknown,
        }
    }

    /// Whether the value is computed per row by postclone (and rows that keep theirs are no
    /// change).
    #[must_use]
    pub fn per_row(&self) -> bool {
        matches!(self, Wanted::Rewrite(_) | Wanted::Carried { .. })
    }
}

/// What a resource's inspection runs: a row query of its table, or its own check.
#[derive(Debug, Clone, PartialEq)]
pub enum RowQuery {
    /// A query this layer wrote, with the layout of its rows.
    Table(Select, Layout),
    /// A custom check, run as the spec writes it.
    Check(Sql),
    /// A scan of text columns for production's hosts.
    Scan(Select, super::scan::ScanLayout),
}

/// What the other resources of a spec say of a resource's table.
#[derive(Debug, Clone, Copy, Default)]
pub struct Neighbours<'a> {
    /// The filters of the secret resources on the table: a row one of them covers is flagged,
    /// so that its values are masked wherever it is shown.
    pub secret_rows: &'a [&'a [Condition]],
    /// The resources that delete rows of the table, with their filters (empty: every row): a
    /// scan says which of them removes a hit.
    pub removers: &'a [(&'a ResourceId, &'a [Condition])],
    /// The `carried` resources of the table: a scan reads each row's stable key, so that a
    /// hit in a carried column is known to be replaced by the captured value.
    pub carriers: &'a [super::scan::Carrier<'a>],
    /// Another resource masks (or declares personal) the table's rows: they are named by
    /// their primary key only.
    pub personal: bool,
}

/// The query that returns a resource's drifted rows, in key order.
///
/// # Errors
/// A table or column the catalog does not hold, or a value that does not fit its column.
pub fn drift_query(
    resource: &Resource<Inspected>,
    table: Option<&TableInfo>,
    catalog: &Catalog,
    flavor: Flavor,
    neighbours: &Neighbours<'_>,
) -> Result<RowQuery, Error> {
    let w = Writer::new(catalog, flavor);
    let missing = || Error::NoTable {
        resource: resource.id.clone(),
    };
    let (table, filter, set) = match &resource.kind {
        ResourceKind::RowsAbsent(r) => (table.ok_or_else(missing)?, r.filter.as_slice(), None),
        ResourceKind::Report(r) => (table.ok_or_else(missing)?, r.filter.as_slice(), None),
        ResourceKind::TableEmpty(_) => (table.ok_or_else(missing)?, &[][..], None),
        ResourceKind::ColumnValues(_) | ResourceKind::Masked(_) => (
            table.ok_or_else(missing)?,
            resource.kind.filter(),
            resource.kind.set(),
        ),
        ResourceKind::Custom(c) => {
            return Ok(RowQuery::Check(Sql {
                text: c.check.clone(),
                params: vec![],
            }))
        }
        ResourceKind::ReferencesAbsent(r) => {
            let scope = r.scope().ok_or_else(missing)?;
            let (select, layout) = super::scan::scan_query(
                table.ok_or_else(missing)?,
                scope,
                &r.patterns,
                catalog,
                flavor,
                neighbours,
            )?;
            return Ok(RowQuery::Scan(select, layout));
        }
        // Rows to insert are read by their stable keys (`carried_keys_query`).
        ResourceKind::PrincipalsAbsent(_)
        | ResourceKind::GrantsAbsent(_)
        | ResourceKind::Carried(_)
        | ResourceKind::RowsPresent(_) => {
            return Err(Error::NoRowQuery {
                resource: resource.id.clone(),
            })
        }
    };
    table_query(w, resource, table, filter, set.as_ref(), neighbours)
}

/// The query over a table's rows that a resource reads: every column, what each set column
/// must hold, the row's name and details, whether another resource calls it secret, in key
/// order.
fn table_query(
    mut w: Writer<'_>,
    resource: &Resource<Inspected>,
    table: &TableInfo,
    filter: &[Condition],
    set: Option<&std::collections::BTreeMap<String, ColumnValue<Inspected>>>,
    neighbours: &Neighbours<'_>,
) -> Result<RowQuery, Error> {
    let flavor = w.flavor;
    let set_columns: Vec<&str> = set
        .iter()
        .flat_map(|s| s.keys().map(String::as_str))
        .collect();
    // Rows of personal data are named by their primary key only: a filter's columns (a user
    // name) would show what is being hidden.
    let keys = if resource.personal || neighbours.personal {
        table.primary_key.clone()
    } else {
        key_columns(table, filter, &set_columns)
    };
    let mut columns = all_columns(table, flavor);
    let mut compared = Vec::new();
    let mut joins = Vec::new();
    let predicate = match set {
        None => w.filter(Some(T), table, filter)?.join(" AND "),
        Some(set) => {
            let set: Vec<(&str, &ColumnValue<Inspected>)> =
                set.iter().map(|(c, v)| (c.as_str(), v)).collect();
            let parts = w.update_parts(table, filter, &set, resource.secret)?;
            for a in &parts.assignments {
                let at = position(table, &a.column.name)?;
                compared.push((at, wanted(a, at, &mut columns)));
            }
            joins.clone_from(&parts.joins);
            parts.predicate()
        }
    };
    let label = resource.kind.label();
    if let Some(l) = label {
        columns.push(w.describe(table, l)?);
    }
    let mut details = Vec::new();
    for (name, d) in resource.kind.details().into_iter().flatten() {
        columns.push(w.describe(table, d)?);
        details.push(name.clone());
    }
    let secret_flag = !resource.secret && !neighbours.secret_rows.is_empty();
    if secret_flag {
        columns.push(w.secret_flag(table, neighbours.secret_rows)?);
    }
    let order = w.order_by(table, &keys)?;
    let rest = format!(
        " FROM {}{}{}{}",
        QuotedIdent::table(&table.table, flavor.quote()),
        flavor.alias(T),
        joins.concat(),
        where_clause(
            &[predicate]
                .into_iter()
                .filter(|p| !p.is_empty())
                .collect::<Vec<_>>()
        )
    );
    let key_positions = keys
        .iter()
        .map(|k| position(table, k))
        .collect::<Result<Vec<_>, _>>()?;
    let select = Select {
        distinct: false,
        columns,
        rest,
        order,
        limit: String::new(),
        params: w.into_params(),
    };
    let layout = Layout::Keyed {
        columns: table.columns.iter().map(|c| c.name.clone()).collect(),
        keys: key_positions,
        compared,
        label: label.is_some(),
        details,
        secret_flag,
    };
    Ok(RowQuery::Table(select, layout))
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
    let order = format!(" ORDER BY {column}");
    let rest = format!(
        " FROM {}{}{}",
        QuotedIdent::table(&inner.table, flavor.quote()),
        flavor.alias(T),
        where_clause(&conditions)
    );
    Ok(Select {
        distinct: true,
        columns: vec![Selected::column(column, info)],
        rest,
        order,
        limit: String::new(),
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
        order: String::new(),
        limit: String::new(),
        params: vec![],
    })
}

/// No table: for queries over one table the caller already resolved.
static EMPTY: Catalog = Catalog {
    tables: Vec::new(),
    subselects: Vec::new(),
    unique_indexes: Vec::new(),
    triggers: Vec::new(),
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
        columns.push(w.describe(table, describe)?);
        labels.push(label.clone());
    }
    let conditions = w.filter(Some(T), table, &from.filter)?;
    let order = format!(" ORDER BY {named}");
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
        labels,
    ))
}

/// The query returning the whole rows a change is about to delete or modify (every column, in
/// the catalog's order, by primary key), then for an update the value it writes into each set
/// column, then the row's name; `None` for changes without a row image.
///
/// # Errors
/// A table or column the catalog does not hold.
pub fn capture_query(
    change: &Change,
    catalog: &Catalog,
    flavor: Flavor,
    page: Option<Page<'_>>,
) -> Result<Option<Capture>, Error> {
    let mut w = Writer::new(catalog, flavor);
    let mut written = Vec::new();
    let mut wanted = Vec::new();
    let mut joins = Vec::new();
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
            let parts = w.assignment_parts(table, filter, assignments, change.secret)?;
            // The value each column receives, computed by the same expressions as the update:
            // read in the same pass, it is exactly what the update writes. A host rewrite is
            // computed from the row, as the statement that writes it will be.
            for a in &parts.assignments {
                let at = position(table, &a.column.name)?;
                if a.rewrite.is_some() || a.carried.is_some() {
                    wanted.push(self::wanted(a, at, &mut written));
                } else {
                    // The value each column receives, computed by the same expression as the
                    // update, read back whole.
                    written.push(Selected {
                        expr: a.desired.clone(),
                        shape: match &a.literal {
                            Some(literal) => literal_shape(&a.column, literal),
                            None => a.shape,
                        },
                    });
                    wanted.push(Wanted::Selected);
                }
            }
            joins.clone_from(&parts.joins);
            (table, parts.predicate())
        }
        // Inserted rows are journaled as read back after their insert.
        ChangeKind::RunFix { .. }
        | ChangeKind::InsertRows { .. }
        | ChangeKind::DropPrincipals { .. }
        | ChangeKind::RevokeGrants { .. } => return Ok(None),
    };
    let mut columns = all_columns(table, flavor);
    let capture_columns = columns.len();
    columns.extend(written);
    let label = match &change.row_label {
        Some(d) => {
            columns.push(w.describe(table, d)?);
            true
        }
        None => false,
    };
    let order = w.order_by(table, &table.primary_key)?;
    let mut predicate = predicate;
    let mut limit = String::new();
    if let Some(page) = page {
        if let Some(after) = page.after {
            let next = w.after_key(table, after)?;
            predicate = if predicate.is_empty() {
                next
            } else {
                format!("({predicate}) AND {next}")
            };
        }
        // The same words on SQL Server (2012 on) and Oracle (12c on); the order is the key's.
        limit = format!(" OFFSET 0 ROWS FETCH NEXT {} ROWS ONLY", page.rows);
    }
    let filter = if predicate.is_empty() {
        String::new()
    } else {
        format!(" WHERE {predicate}")
    };
    let rest = format!(
        " FROM {}{}{}{filter}",
        QuotedIdent::table(&table.table, flavor.quote()),
        flavor.alias(T),
        joins.concat()
    );
    Ok(Some(Capture {
        select: Select {
            distinct: false,
            columns,
            rest,
            order,
            limit,
            params: w.into_params(),
        },
        columns: capture_columns,
        written: wanted,
        label,
        key: change.mask_key.clone(),
    }))
}

/// One page of a capture: at most `rows` rows, in primary-key order, after the key of the
/// previous page's last row. A change whose rows are written from their images (masks, host
/// rewrites) is captured and written a page at a time, so that its memory does not grow with
/// the table.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Page<'a> {
    /// The primary key of the previous page's last row, in key order; `None` on the first page.
    pub after: Option<&'a [Value]>,
    /// Rows at most.
    pub rows: usize,
}

/// The capture query of a change and how its rows split into a journal row image.
#[derive(Debug, Clone, PartialEq)]
pub struct Capture {
    /// The query.
    pub select: Select,
    /// Columns of the table, first in each row.
    pub columns: usize,
    /// Where each value the update writes comes from: read after the table's columns, or
    /// computed from the row.
    pub written: Vec<Wanted>,
    /// Whether the row's name comes last.
    pub label: bool,
    /// The key masks are computed with.
    pub key: Option<MaskKey>,
}

impl Capture {
    /// A result row as the journal keeps it.
    #[must_use]
    pub fn image(&self, mut values: Vec<Value>) -> RowImage {
        let label = if self.label {
            match values.pop() {
                Some(Value::Text(t)) => Some(t.trim_end().to_string()),
                Some(Value::Null) | None => None,
                Some(other) => Some(other.to_string()),
            }
        } else {
            None
        };
        let extra = values.split_off(self.columns.min(values.len()));
        let mut extra = extra.into_iter();
        let after = self
            .written
            .iter()
            .map(|w| {
                w.of(&values, &mut extra, self.key.as_ref())
                    .unwrap_or_else(|| match w {
                        // A sealed value no identity opened (apply refuses before): the row
                        // keeps its own.
                        Wanted::Carried { column, .. } => {
                            values.get(*column).cloned().unwrap_or(Value::Null)
                        }
                        _ => Value::Null,
                    })
            })
            .collect();
        RowImage {
            values,
            after,
            label,
        }
    }

    /// Whether some value is computed by postclone from the row (a host rewrite): the rows are
    /// then written from their images, and a row the rewrite leaves as it is is not written.
    #[must_use]
    pub fn rewrites(&self) -> bool {
        self.written.iter().any(|w| matches!(w, Wanted::Rewrite(_)))
    }
}

/// Where the value an assignment writes into the column at `at` comes from; what the query
/// must select for it is pushed to `columns` (a computed value, a carried row's key parts).
fn wanted(a: &AssignmentSql, at: usize, columns: &mut Vec<Selected>) -> Wanted {
    if let Some(carried) = &a.carried {
        columns.extend(carried.keys.iter().cloned());
        return Wanted::Carried {
            value: carried.value.clone(),
            column: at,
        };
    }
    match (&a.literal, &a.rewrite) {
        (Some(v), _) => Wanted::Literal(v.clone()),
        (None, Some(r)) => Wanted::Rewrite(r.clone()),
        (None, None) => {
            columns.push(Selected {
                expr: a.desired.clone(),
                shape: a.shape,
            });
            Wanted::Selected
        }
    }
}

/// How a literal written into `column` is read back: as the column's values are, a long value
/// bounded by the longest the column held when the catalog was read or the literal itself,
/// whichever is longer (a literal longer than anything the column holds yet is read whole).
fn literal_shape(column: &ColumnInfo, literal: &Value) -> super::Shape {
    use super::Shape;
    match (Shape::of(column), literal) {
        (Shape::LongText { bound }, Value::Text(t)) => Shape::LongText {
            bound: bound.map(|b| b.max(t.chars().count() as u64)),
        },
        (Shape::LongBinary { bound }, Value::Bytes(b)) => Shape::LongBinary {
            bound: bound.map(|n| n.max(b.len() as u64)),
        },
        (shape, _) => shape,
    }
}
