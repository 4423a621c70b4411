//! `Writer`: builds SQL text while collecting its parameters and subquery aliases. Every
//! identifier it writes comes from a catalog type; every value becomes a parameter.

use super::coercion::{coerce_for, is_text};
use super::ident::QuotedIdent;
use super::Param;
use super::{Error, Flavor, Selected, Shape, Sql, PARKED, T};
use crate::state::desired::{ColumnValue, Condition, Describe, Predicate, TableName};
use crate::state::host::HostPattern;
use crate::state::masking::{MaskKey, MaskMethod};
use crate::state::observed::{Catalog, ColumnInfo, TableInfo};
use crate::state::Value;

mod assignment;

/// The columns that identify a row in a plan: the primary key, then the filter's own columns
/// that say something of the row (a name it was selected by), but not those the change sets
/// (their values are shown as changes) nor those tested only for NULL or against the clock.
#[must_use]
pub fn key_columns(table: &TableInfo, filter: &[Condition], set: &[&str]) -> Vec<String> {
    let mut keys: Vec<String> = table.primary_key.clone();
    let telling = |p: &Predicate| match p {
        Predicate::In(values) | Predicate::NotIn(values) => values.iter().any(|v| !v.is_null()),
        Predicate::InSelect(_) => true,
        Predicate::Due(_) | Predicate::NotCarried(_) => false,
    };
    for c in filter.iter().filter(|c| telling(&c.predicate)) {
        if let Some(col) = table.column(&c.column) {
            let known = keys.iter().any(|k| k.eq_ignore_ascii_case(&col.name));
            let changed = set.iter().any(|s| s.eq_ignore_ascii_case(&col.name));
            if !known && !changed {
                keys.push(col.name.clone());
            }
        }
    }
    keys
}

/// `t.[c]` for every column of the table, in the catalog's order, each with its shape.
/// Row queries read whole rows so that a saved plan's fingerprint covers every value a change
/// touches.
pub(super) fn all_columns(table: &TableInfo, flavor: Flavor) -> Vec<Selected> {
    table
        .columns
        .iter()
        .map(|c| Selected::column(format!("{T}.{}", QuotedIdent::column(c, flavor.quote())), c))
        .collect()
}

pub(super) fn where_clause(conditions: &[String]) -> String {
    if conditions.is_empty() {
        String::new()
    } else {
        format!(" WHERE {}", conditions.join(" AND "))
    }
}

/// One column of an update: its desired value expression.
pub(super) struct AssignmentSql {
    pub(super) column: ColumnInfo,
    pub(super) desired: String,
    /// How the desired value is read back when it is computed by the query.
    pub(super) shape: Shape,
    /// The desired value, when it is a literal.
    pub(super) literal: Option<Value>,
    /// A value computed by postclone for each row (`desired` is then its source).
    pub(super) rewrite: Option<RowRewrite>,
    /// A value carried from the environment, by the row's stable key.
    pub(super) carried: Option<super::carried::CarriedSql>,
}

/// A value postclone computes from each row, because SQL cannot: a host rewritten with the
/// host matcher, or personal data masked with the key.
#[derive(Debug, Clone, PartialEq)]
pub enum RowRewrite {
    /// `replace`: a host and its subdomains rewritten.
    Host {
        /// The host (and its subdomains) to rewrite.
        from: HostPattern,
        /// What it becomes.
        to: String,
        /// Position of the column the text is read from, among the table's columns.
        source: usize,
    },
    /// `mask`: the value masked.
    Mask {
        /// How.
        method: MaskMethod,
        /// Position of the column masked.
        source: usize,
    },
}

impl RowRewrite {
    /// The value the row's column receives, from the row's values; `None` when it cannot be
    /// computed here (a mask without its key) or the source is not text.
    #[must_use]
    pub fn apply(&self, row: &[Value], key: Option<&MaskKey>) -> Option<Value> {
        match self {
            RowRewrite::Host { from, to, source } => match row.get(*source) {
                Some(Value::Text(text)) => Some(Value::Text(from.replace(text, to).into_owned())),
                _ => None,
            },
            RowRewrite::Mask { method, source } => Some(method.mask(key?, row.get(*source)?)),
        }
    }

    /// Whether the rewrite changes the row's column at `column`.
    #[must_use]
    pub fn changes(&self, row: &[Value], column: usize) -> bool {
        match self {
            RowRewrite::Host { .. } => match (self.apply(row, None), row.get(column)) {
                (Some(new), Some(old)) => !old.same_as(&new),
                _ => false,
            },
            RowRewrite::Mask { method, source } => {
                row.get(*source).is_some_and(|v| !method.is_masked(v))
            }
        }
    }
}

/// Position of a column among the table's, by name. A change read from a saved plan carries
/// its own table description, so a name is checked here too, never assumed.
pub(super) fn position(table: &TableInfo, column: &str) -> Result<usize, Error> {
    table.position(column).ok_or_else(|| Error::UnknownColumn {
        table: table.table.clone(),
        column: column.to_string(),
    })
}

/// The pieces shared by the row query of `column_values` and its update statement.
pub(super) struct UpdateParts {
    pub(super) assignments: Vec<AssignmentSql>,
    /// Filter conditions and lookup existence checks; all must hold.
    pub(super) conditions: Vec<String>,
    /// `INNER JOIN` clauses of lookups read by key, written after the table.
    pub(super) joins: Vec<String>,
    /// One "differs" test per assignment; any may hold.
    pub(super) differs: Vec<String>,
}

impl UpdateParts {
    pub(super) fn predicate(&self) -> String {
        let mut all = self.conditions.clone();
        all.push(format!("({})", self.differs.join(" OR ")));
        all.join(" AND ")
    }
}

/// Most parameters the lists of one statement's filters bind together: the keys a carry leaves
/// out and the values of `in_select` subqueries read when inspecting. SQL Server takes 2,100
/// per request; the rest of a statement (assignments, a page's last key) keeps the remainder.
/// A subquery's values that would not fit are tested by the subquery itself.
const LIST_PARAMS: usize = 1_900;

/// Accumulates parameters and subquery aliases while text is built.
pub(super) struct Writer<'a> {
    pub(super) catalog: &'a Catalog,
    pub(super) flavor: Flavor,
    params: Vec<Param>,
    aliases: usize,
    /// What the statement's lists may still bind (of [`LIST_PARAMS`]).
    list_room: usize,
}

impl<'a> Writer<'a> {
    pub(super) fn new(catalog: &'a Catalog, flavor: Flavor) -> Self {
        Writer {
            catalog,
            flavor,
            params: Vec::new(),
            aliases: 0,
            list_room: LIST_PARAMS,
        }
    }

    pub(super) fn finish(self, text: String) -> Sql {
        Sql {
            text,
            params: self.params,
        }
    }

    pub(super) fn into_params(self) -> Vec<Param> {
        self.params
    }

    pub(super) fn bind(&mut self, value: Value, secret: bool) -> String {
        self.push(Param::new(value, secret))
    }

    fn push(&mut self, param: Param) -> String {
        self.params.push(param);
        self.flavor.marker(self.params.len())
    }

    /// A value compared with or written into `column`, typed as the column is (see
    /// [`super::ColumnType`]). A date or time travels as text: on SQL
    /// Server it is cast to the column's type, so that it is compared as a date, never as text
    /// (the embedded engine compares a DATETIME with text by their text forms); on Oracle it is
    /// converted with an explicit format.
    pub(super) fn bind_for(&mut self, value: Value, column: &ColumnInfo, secret: bool) -> String {
        let value = temporal_text(self.flavor, column, value);
        let marker = self.push(Param::for_column(value, column, secret));
        typed_marker(self.flavor, column, marker)
    }

    pub(super) fn alias(&mut self) -> String {
        self.aliases += 1;
        format!("s{}", self.aliases)
    }

    pub(super) fn column<'t>(table: &'t TableInfo, name: &str) -> Result<&'t ColumnInfo, Error> {
        table.column(name).ok_or_else(|| Error::UnknownColumn {
            table: table.table.clone(),
            column: name.to_string(),
        })
    }

    pub(super) fn col(
        &self,
        qualifier: Option<&str>,
        table: &TableInfo,
        name: &str,
    ) -> Result<String, Error> {
        let column = QuotedIdent::column(Self::column(table, name)?, self.flavor.quote());
        Ok(match qualifier {
            Some(q) => format!("{q}.{column}"),
            None => column.to_string(),
        })
    }

    pub(super) fn table(&self, name: &TableName) -> Result<&'a TableInfo, Error> {
        self.catalog.get(name).ok_or_else(|| Error::UnknownTable {
            name: name.to_string(),
        })
    }

    pub(super) fn order_by(&self, table: &TableInfo, keys: &[String]) -> Result<String, Error> {
        if keys.is_empty() {
            return Ok(String::new());
        }
        let cols: Vec<String> = keys
            .iter()
            .map(|k| self.col(Some(T), table, k))
            .collect::<Result<_, _>>()?;
        Ok(format!(" ORDER BY {}", cols.join(", ")))
    }

    /// Rows whose primary key comes after `after` (its values in key order), in the order
    /// [`Writer::order_by`] gives: `(k1 > a) OR (k1 = a AND k2 > b) ...`, which both engines
    /// read by the key's index.
    pub(super) fn after_key(
        &mut self,
        table: &TableInfo,
        after: &[Value],
    ) -> Result<String, Error> {
        let keys = &table.primary_key;
        if keys.is_empty() || after.len() != keys.len() {
            return Err(Error::PageKey {
                table: table.table.clone(),
                expected: keys.len(),
                given: after.len(),
            });
        }
        let mut alternatives = Vec::with_capacity(keys.len());
        for last in 0..keys.len() {
            let mut parts = Vec::with_capacity(last + 1);
            for (i, (name, value)) in keys.iter().zip(after).take(last + 1).enumerate() {
                let column = Self::column(table, name)?;
                let qualified = self.col(Some(T), table, name)?;
                let marker = self.bind_for(value.clone(), column, false);
                let op = if i == last { ">" } else { "=" };
                parts.push(format!("{qualified} {op} {marker}"));
            }
            alternatives.push(format!("({})", parts.join(" AND ")));
        }
        Ok(format!("({})", alternatives.join(" OR ")))
    }

    /// Each condition as SQL, against `table` under `qualifier`.
    pub(super) fn filter(
        &mut self,
        qualifier: Option<&str>,
        table: &TableInfo,
        filter: &[Condition],
    ) -> Result<Vec<String>, Error> {
        // The carry's keys cannot be left to a subquery: their room is taken first, and the
        // subqueries' lists share what remains, in the filter's order.
        let carried: usize = filter
            .iter()
            .map(|c| match &c.predicate {
                Predicate::NotCarried(value) => value.rows.rows.len() * value.parts.len(),
                _ => 0,
            })
            .sum();
        self.list_room = self.list_room.saturating_sub(carried);
        filter
            .iter()
            .map(|c| self.condition(qualifier, table, c))
            .collect()
    }

    /// The markers of a list of values compared with `info`, and whether a null was listed.
    /// NULL never equals anything in SQL: a listed null is tested with IS NULL instead (and on
    /// Oracle, so is '' in a nullable column).
    fn list(
        &mut self,
        info: &ColumnInfo,
        values: &[Value],
        compared: &dyn Fn(&str) -> String,
    ) -> Result<(Option<String>, bool), Error> {
        let mut markers = Vec::with_capacity(values.len());
        let mut null = false;
        for v in values {
            // A listed null needs no conversion (a NOT NULL column simply matches none).
            let v = if v.is_null() {
                Value::Null
            } else {
                coerce_for(v, info, self.flavor)?
            };
            if v.is_null() {
                null = true;
            } else {
                markers.push(compared(&self.bind_for(v, info, false)));
            }
        }
        Ok(((!markers.is_empty()).then(|| markers.join(", ")), null))
    }

    fn condition(
        &mut self,
        qualifier: Option<&str>,
        table: &TableInfo,
        c: &Condition,
    ) -> Result<String, Error> {
        let info = Self::column(table, &c.column)?.clone();
        let text = is_text(&info);
        let flavor = self.flavor;
        // Without regard to case: both sides upper-cased (values here, the column in SQL).
        let upper = c.ignore_case && text;
        let compared = move |expr: &str| {
            let expr = if upper {
                format!("UPPER({expr})")
            } else {
                expr.to_string()
            };
            if text {
                flavor.compared(&expr)
            } else {
                expr
            }
        };
        let upper_values = |values: &[Value]| -> Vec<Value> {
            values
                .iter()
                .map(|v| match v {
                    Value::Text(t) if upper => Value::Text(t.to_uppercase()),
                    other => other.clone(),
                })
                .collect()
        };
        let bare = self.col(qualifier, table, &c.column)?;
        let col = compared(&bare);
        Ok(match &c.predicate {
            Predicate::In(values) => match self.list(&info, &upper_values(values), &compared)? {
                (Some(l), false) => format!("{col} IN ({l})"),
                (Some(l), true) => format!("({col} IN ({l}) OR {bare} IS NULL)"),
                (None, _) => format!("{bare} IS NULL"),
            },
            Predicate::NotIn(values) => match self.list(&info, &upper_values(values), &compared)?.0
            {
                Some(l) => format!("{col} NOT IN ({l})"),
                None => format!("{bare} IS NOT NULL"),
            },
            Predicate::NotCarried(value) => self.not_carried(qualifier, table, value)?,
            Predicate::Due(due) => {
                if temporal_type(&info).is_none() && !is_oracle_date(&info) {
                    return Err(Error::NotADate {
                        column: info.name.clone(),
                        data_type: info.data_type.clone(),
                    });
                }
                let op = if *due { "<=" } else { ">" };
                format!("{bare} {op} {}", self.flavor.now())
            }
            Predicate::InSelect(sub) => {
                let listed = self
                    .catalog
                    .subselect_values(sub)
                    .filter(|values| values.len() <= self.list_room);
                if let Some(values) = listed {
                    self.list_room -= values.len();
                    // Values read from another column may not convert to this one's type: then
                    // the subquery itself is the only faithful test.
                    let bound = self.params.len();
                    match self.list(&info, values, &compared) {
                        Ok((Some(l), _)) => return Ok(format!("{col} IN ({l})")),
                        Ok((None, _)) => return Ok("1 = 0".into()),
                        Err(_) => {
                            self.params.truncate(bound);
                            self.list_room += values.len();
                        }
                    }
                }
                let inner = self.table(&sub.table)?;
                let alias = self.alias();
                let inner_col = compared(&self.col(Some(&alias), inner, &sub.column)?);
                let conditions = self.filter(Some(&alias), inner, &sub.filter)?;
                format!(
                    "{col} IN (SELECT {inner_col} FROM {}{}{})",
                    QuotedIdent::table(&inner.table, self.flavor.quote()),
                    self.flavor.alias(&alias),
                    where_clause(&conditions)
                )
            }
        })
    }

    /// `CASE WHEN <any of the filters> THEN 1 ELSE 0 END`: whether a row is covered by a
    /// resource with one of these filters (an empty filter covers every row).
    pub(super) fn secret_flag(
        &mut self,
        table: &TableInfo,
        filters: &[&[Condition]],
    ) -> Result<Selected, Error> {
        let mut any = Vec::with_capacity(filters.len());
        for f in filters {
            let conditions = self.filter(Some(T), table, f)?;
            any.push(if conditions.is_empty() {
                "1 = 1".to_string()
            } else {
                format!("({})", conditions.join(" AND "))
            });
        }
        Ok(Selected {
            expr: format!("CASE WHEN {} THEN 1 ELSE 0 END", any.join(" OR ")),
            shape: Shape::Plain,
        })
    }

    /// A value shown beside each row of `table`: one of its columns, or a looked-up value.
    pub(super) fn describe(
        &mut self,
        table: &TableInfo,
        describe: &Describe,
    ) -> Result<Selected, Error> {
        Ok(match describe {
            Describe::Column { column } => Selected::column(
                self.col(Some(T), table, column)?,
                Self::column(table, column)?,
            ),
            Describe::Lookup { lookup } => {
                let (from_where, value, info) = self.lookup(table, lookup)?;
                Selected::column(format!("(SELECT {value} {from_where})"), &info)
            }
        })
    }
}

/// `marker`, a parameter for `column`, as the statement must read it: a date or time travels
/// as text, converted in the statement (on SQL Server cast to the column's type, so that it is
/// compared as a date, never as text; on Oracle with the format written out, never the
/// session's `NLS_DATE_FORMAT`).
pub(super) fn typed_marker(flavor: Flavor, column: &ColumnInfo, marker: String) -> String {
    match (flavor, temporal_type(column)) {
        (Flavor::SqlServer, Some(ty)) => format!("CAST({marker} AS {ty})"),
        (Flavor::Oracle, _) if column.data_type.eq_ignore_ascii_case("date") => {
            format!("TO_DATE({marker}, 'YYYY-MM-DD\"T\"HH24:MI:SS')")
        }
        (Flavor::Oracle, _) if is_oracle_date(column) => {
            format!("TO_TIMESTAMP({marker}, 'YYYY-MM-DD\"T\"HH24:MI:SS.FF')")
        }
        _ => marker,
    }
}

/// A value for a date or time column in the one text form [`typed_marker`] converts
/// (`2026-11-29T10:00:00`): a value read back from the database (a journal's, a capture's) is
/// written as the client library prints it (Oracle's `2026-11-29 10:00:00`), which Oracle's
/// `TO_DATE` with the format written out would refuse. Any other value as it is.
pub(super) fn temporal_text(flavor: Flavor, column: &ColumnInfo, value: Value) -> Value {
    if temporal_type(column).is_none() && !is_oracle_date(column) {
        return value;
    }
    coerce_for(&value, column, flavor).unwrap_or(value)
}

/// The SQL Server type a date or time column's values are cast to, from the catalog's type
/// name (only names on this list are ever written).
fn temporal_type(column: &ColumnInfo) -> Option<&'static str> {
    Some(match column.data_type.to_ascii_lowercase().as_str() {
        "datetime" => "DATETIME",
        "datetime2" => "DATETIME2",
        "smalldatetime" => "SMALLDATETIME",
        "date" => "DATE",
        "time" => "TIME",
        "datetimeoffset" => "DATETIMEOFFSET",
        _ => return None,
    })
}

/// Oracle's date types: `DATE` and `TIMESTAMP(n)` with or without a time zone.
fn is_oracle_date(column: &ColumnInfo) -> bool {
    let t = column.data_type.to_ascii_lowercase();
    t == "date" || t.starts_with("timestamp")
}

/// The shape of a text rewritten by `replace` (`from` → `to`): as long as its source, plus
/// what each occurrence of `from` can add.
fn grown(source: Shape, from: usize, to: usize) -> Shape {
    match source {
        Shape::LongText { bound: Some(n) } => {
            let extra = to.saturating_sub(from) as u64;
            let occurrences = n / (from.max(1) as u64) + 1;
            Shape::LongText {
                bound: Some(n + occurrences * extra),
            }
        }
        other => other,
    }
}

#[cfg(test)]
mod tests;
