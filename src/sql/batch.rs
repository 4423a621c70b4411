//! Statements over many rows at once, each row found by its key: an `UPDATE` that gives each
//! row its own values (`CASE` by key), and an `INSERT` of many rows. Never one statement per
//! row; batches stay under the engines' parameter limits.

use super::ident::QuotedIdent;
use super::writer::Writer;
use super::{Flavor, T};
use super::{Param, Statement};
use crate::change::ChangeId;
use crate::state::observed::{Catalog, ColumnInfo, TableRef};
use crate::state::Value;

/// Most parameters one statement binds (SQL Server takes 2,100 per request).
const MAX_PARAMS: usize = 2_000;

/// Most rows one statement writes.
const MAX_ROWS: usize = 500;

/// Most columns all the `INTO` clauses of one Oracle `INSERT ALL` name together: Oracle
/// refuses a multitable insert past 999 (ORA-24335); 500 rows of a 4-column table would be
/// 2,000.
const ORACLE_INSERT_ALL_COLUMNS: usize = 999;

/// One row of a batch: its key's values, and the values it receives.
pub(super) struct KeyedRow<'a> {
    pub(super) key: Vec<&'a Value>,
    pub(super) values: Vec<&'a Value>,
}

/// `UPDATE` statements giving each row of `rows` its `values` in `columns`, the row found by
/// `key`. Values are bound as secret (masked in error messages): the rows may hold production's
/// secrets or personal data.
pub(super) fn update_by_key(
    table: &TableRef,
    key: &[&ColumnInfo],
    columns: &[&ColumnInfo],
    rows: &[KeyedRow<'_>],
    flavor: Flavor,
    source: &ChangeId,
) -> Vec<Statement> {
    let quote = flavor.quote();
    let name = QuotedIdent::table(table, quote);
    let per_row = key.len() + columns.len();
    // Oracle's rows are matched by a chain of OR: shorter batches keep it shallow.
    let most = if flavor == Flavor::SqlServer {
        MAX_ROWS
    } else {
        50
    };
    let batch = (MAX_PARAMS / per_row.max(1)).clamp(1, most);
    let catalog = Catalog::default();
    let mut out = Vec::new();
    for chunk in rows.chunks(batch) {
        let mut w = Writer::new(&catalog, flavor);
        let text = match flavor {
            Flavor::SqlServer => values_update(&mut w, &name, key, columns, chunk),
            Flavor::Oracle => case_update(&mut w, &name, key, columns, chunk),
        };
        let sql = w.finish(text);
        out.push(Statement {
            sql: sql.text,
            params: sql.params,
            source: source.clone(),
        });
    }
    out
}

/// SQL Server: `UPDATE t SET c = v.c0 ... FROM table AS t INNER JOIN (VALUES (...), ...) AS
/// v(k0, ..., c0, ...) ON t.key = v.k0 ...`. A join with a list of rows: the embedded engine
/// matches it by hashing, where `IN` and `CASE` lists compare every row with every value.
fn values_update(
    w: &mut Writer<'_>,
    name: &QuotedIdent,
    key: &[&ColumnInfo],
    columns: &[&ColumnInfo],
    chunk: &[KeyedRow<'_>],
) -> String {
    let quote = w.flavor.quote();
    let tuples: Vec<String> = chunk
        .iter()
        .map(|row| {
            let mut markers: Vec<String> = key
                .iter()
                .zip(&row.key)
                .map(|(column, value)| w.bind_for((*value).clone(), column, false))
                .collect();
            for (c, column) in columns.iter().enumerate() {
                let value = row.values.get(c).copied().unwrap_or(&Value::Null);
                markers.push(if value.is_null() {
                    // Typed, so that a column of NULLs still has its type.
                    format!("CAST(NULL AS {})", null_type(column))
                } else {
                    w.bind_for(value.clone(), column, true)
                });
            }
            format!("({})", markers.join(", "))
        })
        .collect();
    let names: Vec<String> = (0..key.len())
        .map(|n| format!("k{n}"))
        .chain((0..columns.len()).map(|n| format!("c{n}")))
        .collect();
    let sets: Vec<String> = columns
        .iter()
        .enumerate()
        .map(|(n, c)| format!("{} = v.c{n}", QuotedIdent::column(c, quote)))
        .collect();
    let on: Vec<String> = key
        .iter()
        .enumerate()
        .map(|(n, c)| format!("{T}.{} = v.k{n}", QuotedIdent::column(c, quote)))
        .collect();
    format!(
        "UPDATE {T} SET {} FROM {name} AS {T} INNER JOIN (VALUES {}) AS v({}) ON {}",
        sets.join(", "),
        tuples.join(", "),
        names.join(", "),
        on.join(" AND ")
    )
}

/// A type a NULL can be cast to for `column`: its own where it takes no length, else a
/// national text (which converts to any column type).
fn null_type(column: &ColumnInfo) -> &'static str {
    match column.data_type.to_ascii_lowercase().as_str() {
        "int" => "INT",
        "bigint" => "BIGINT",
        "smallint" => "SMALLINT",
        "tinyint" => "TINYINT",
        "bit" => "BIT",
        "datetime" => "DATETIME",
        "date" => "DATE",
        "float" => "FLOAT",
        "varbinary" | "binary" | "image" => "VARBINARY(MAX)",
        _ => "NVARCHAR(MAX)",
    }
}

/// Oracle: `UPDATE table t SET c = CASE WHEN (t.key = ...) THEN ... END WHERE ...`.
fn case_update(
    w: &mut Writer<'_>,
    name: &QuotedIdent,
    key: &[&ColumnInfo],
    columns: &[&ColumnInfo],
    chunk: &[KeyedRow<'_>],
) -> String {
    let quote = w.flavor.quote();
    let matches: Vec<String> = chunk
        .iter()
        .map(|row| {
            let parts: Vec<String> = key
                .iter()
                .zip(&row.key)
                .map(|(column, value)| {
                    let marker = w.bind_for((*value).clone(), column, false);
                    format!("{T}.{} = {marker}", QuotedIdent::column(column, quote))
                })
                .collect();
            format!("({})", parts.join(" AND "))
        })
        .collect();
    let sets: Vec<String> = columns
        .iter()
        .enumerate()
        .map(|(c, column)| {
            let whens: Vec<String> = chunk
                .iter()
                .zip(&matches)
                .map(|(row, matched)| {
                    let value = row.values.get(c).copied().unwrap_or(&Value::Null);
                    let marker = if value.is_null() {
                        "NULL".to_string()
                    } else {
                        w.bind_for(value.clone(), column, true)
                    };
                    format!("WHEN {matched} THEN {marker}")
                })
                .collect();
            format!(
                "{} = CASE {} END",
                QuotedIdent::column(column, quote),
                whens.join(" ")
            )
        })
        .collect();
    format!(
        "UPDATE {name} {T} SET {} WHERE {}",
        sets.join(", "),
        matches.join(" OR ")
    )
}

/// `INSERT` statements of many whole rows (`NULL` written as the keyword). Values but the
/// key's are bound as secret. With `identity`, SQL Server is told the rows carry their identity
/// values.
pub(super) fn insert_rows(
    table: &TableRef,
    columns: &[ColumnInfo],
    key: &[usize],
    rows: &[&[Value]],
    identity: bool,
    flavor: Flavor,
    source: &ChangeId,
) -> Vec<Statement> {
    let quote = flavor.quote();
    let name = QuotedIdent::table(table, quote);
    let names: Vec<String> = columns
        .iter()
        .map(|c| QuotedIdent::column(c, quote).to_string())
        .collect();
    let width = columns.len().max(1);
    let batch = match flavor {
        Flavor::SqlServer => MAX_PARAMS / width,
        Flavor::Oracle => ORACLE_INSERT_ALL_COLUMNS / width,
    }
    .clamp(1, MAX_ROWS);
    let mut out = Vec::new();
    for chunk in rows.chunks(batch) {
        let mut params: Vec<Param> = Vec::new();
        let tuples: Vec<String> = chunk
            .iter()
            .map(|row| {
                format!(
                    "({})",
                    row_markers(row, columns, key, flavor, &mut params).join(", ")
                )
            })
            .collect();
        let sql = match flavor {
            Flavor::SqlServer => {
                let insert = format!(
                    "INSERT INTO {name} ({}) VALUES {}",
                    names.join(", "),
                    tuples.join(", ")
                );
                if identity {
                    format!(
                        "SET IDENTITY_INSERT {name} ON; {insert}; SET IDENTITY_INSERT {name} OFF"
                    )
                } else {
                    insert
                }
            }
            // One row (a table too wide for two in one INSERT ALL): a plain INSERT.
            Flavor::Oracle if tuples.len() == 1 => format!(
                "INSERT INTO {name} ({}) VALUES {}",
                names.join(", "),
                tuples.join("")
            ),
            // Oracle inserts several rows with INSERT ALL; identity columns generated BY
            // DEFAULT take explicit values as they are.
            Flavor::Oracle => format!(
                "INSERT ALL {} SELECT 1 FROM DUAL",
                tuples
                    .iter()
                    .map(|t| format!("INTO {name} ({}) VALUES {t}", names.join(", ")))
                    .collect::<Vec<_>>()
                    .join(" ")
            ),
        };
        out.push(Statement {
            sql,
            params,
            source: source.clone(),
        });
    }
    out
}

/// One marker per value of a row written whole (inserted, or put back), its parameters appended
/// to `params`: `NULL` written as the keyword (a typed NULL parameter does not convert to every
/// column type), a date or time in the form its conversion in the statement reads. Values are
/// secret but for those at `key`: such rows may hold production's secrets.
pub(super) fn row_markers(
    row: &[Value],
    columns: &[ColumnInfo],
    key: &[usize],
    flavor: Flavor,
    params: &mut Vec<Param>,
) -> Vec<String> {
    row.iter()
        .enumerate()
        .map(|(i, v)| {
            if v.is_null() {
                return "NULL".to_string();
            }
            let secret = !key.contains(&i);
            let marker = flavor.marker(params.len() + 1);
            match columns.get(i) {
                Some(column) => {
                    let v = super::writer::temporal_text(flavor, column, v.clone());
                    params.push(Param::for_column(v, column, secret));
                    super::writer::typed_marker(flavor, column, marker)
                }
                None => {
                    params.push(Param::new(v.clone(), secret));
                    marker
                }
            }
        })
        .collect()
}

/// `DELETE` statements taking out the rows whose `key` columns hold each of `keys`, without an
/// alias (the embedded engine does not accept one in `DELETE`), the keys bound typed as their
/// columns: `DELETE FROM table WHERE k IN (@P1, ...)` for a one-column key, `(k1 = @P1 AND
/// ...) OR ...` in short batches otherwise (a long chain of `OR` nests as deep as it is long).
pub(super) fn delete_by_key(
    table: &TableRef,
    key: &[&ColumnInfo],
    keys: &[Vec<&Value>],
    flavor: Flavor,
    source: &ChangeId,
) -> Vec<Statement> {
    let quote = flavor.quote();
    let name = QuotedIdent::table(table, quote);
    let batch = match key {
        [_] => MAX_ROWS,
        _ => (MAX_PARAMS / key.len().max(1)).clamp(1, 50),
    };
    let catalog = Catalog::default();
    let mut out = Vec::new();
    for chunk in keys.chunks(batch) {
        let mut w = Writer::new(&catalog, flavor);
        let predicate = if let [column] = key {
            let markers: Vec<String> = chunk
                .iter()
                .filter_map(|values| values.first())
                .map(|value| w.bind_for((*value).clone(), column, false))
                .collect();
            format!(
                "{} IN ({})",
                QuotedIdent::column(column, quote),
                markers.join(", ")
            )
        } else {
            let matches: Vec<String> = chunk
                .iter()
                .map(|values| {
                    let parts: Vec<String> = key
                        .iter()
                        .zip(values)
                        .map(|(column, value)| {
                            let marker = w.bind_for((*value).clone(), column, false);
                            format!("{} = {marker}", QuotedIdent::column(column, quote))
                        })
                        .collect();
                    format!("({})", parts.join(" AND "))
                })
                .collect();
            matches.join(" OR ")
        };
        let sql = w.finish(format!("DELETE FROM {name} WHERE {predicate}"));
        out.push(Statement {
            sql: sql.text,
            params: sql.params,
            source: source.clone(),
        });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::{col, id, table_ref};

    /// An Oracle `INSERT ALL` never names more than 999 columns in all its `INTO` clauses (a
    /// restore of 600 rows of a 4-column table, a 400-column table), and every row is written
    /// once; SQL Server stays under its parameter limit. See: issue 35
    #[test]
    fn inserts_stay_within_each_engines_limits_issue_35() {
        for width in [1usize, 4, 12, 400, 999] {
            let columns: Vec<ColumnInfo> = (0..width)
                .map(|i| col(&format!("C{i}"), "int", false))
                .collect();
            let rows: Vec<Vec<Value>> = (0..600)
                .map(|r| {
                    (0..width)
                        .map(|c| Value::Int((r * width + c) as i64))
                        .collect()
                })
                .collect();
            let rows: Vec<&[Value]> = rows.iter().map(Vec::as_slice).collect();
            for flavor in [Flavor::Oracle, Flavor::SqlServer] {
                let statements = insert_rows(
                    &table_ref("T"),
                    &columns,
                    &[0],
                    &rows,
                    false,
                    flavor,
                    &id("c"),
                );
                let written: usize = statements.iter().map(|s| s.params.len()).sum();
                assert_eq!(written, 600 * width, "{flavor:?}, {width} columns");
                for s in &statements {
                    match flavor {
                        Flavor::Oracle => {
                            let intos = s.sql.matches(" INTO ").count().max(1);
                            assert!(intos * width <= 999, "{width} columns, {intos} rows");
                            if width * 2 > 999 {
                                assert!(s.sql.starts_with("INSERT INTO"), "{}", s.sql);
                            }
                        }
                        Flavor::SqlServer => assert!(s.params.len() <= 2_100),
                    }
                }
            }
        }
    }
}
