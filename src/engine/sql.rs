//! SQL text of every engine: the inspection query of each resource and the statements of each
//! change, written in a [`Flavor`] (SQL Server or Oracle). Pure: snapshot-tested without a
//! server.
//!
//! Both are built from the same predicates, so `apply` touches exactly the rows `plan` counted.
//! Identifiers come from the catalog (`QuotedIdent`), values are `@Pn` parameters converted for
//! their column's type. Update statements repeat the drift predicate, so that rows already in
//! the desired state are never written.

use crate::change::{Assignment, Change, ChangeKind, EmptyMethod};
use crate::engine::ident::{QuoteStyle, QuotedIdent};
use crate::engine::{Param, Statement};
use crate::journal::{RestoreAction, RestoreStep};
use crate::state::desired::{
    ColumnValue, Condition, Describe, Lookup, Predicate, Resource, ResourceKind, Subselect,
    TablesFrom,
};
use crate::state::observed::{Catalog, ColumnInfo, Principal, TableInfo};
use crate::state::Value;

/// The SQL dialect text is written in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flavor {
    /// SQL Server (and the embedded engine): `[name]`, `@P1`, `UPDATE t ... FROM x AS t`.
    SqlServer,
    /// Oracle: `"NAME"`, `:p1`, `UPDATE x t ...`, no `AS` before a table alias, no TRUNCATE in
    /// a transaction, `''` stored as NULL, text compared as the runbook's `NLS_SORT=BINARY_AI`.
    Oracle,
}

impl Flavor {
    fn quote(self) -> QuoteStyle {
        match self {
            Flavor::SqlServer => QuoteStyle::Brackets,
            Flavor::Oracle => QuoteStyle::DoubleQuotes,
        }
    }

    /// The marker of the `n`th parameter, from 1. Oracle's are names (`:p1`), bound by name:
    /// a statement uses a value in several places, and Oracle binds a SQL statement's
    /// placeholders by position one occurrence at a time, but by name all at once.
    #[must_use]
    pub fn marker(self, n: usize) -> String {
        match self {
            Flavor::SqlServer => format!("@P{n}"),
            Flavor::Oracle => format!(":p{n}"),
        }
    }

    /// ` AS alias` after a table (Oracle takes no `AS` there).
    fn alias(self, alias: &str) -> String {
        match self {
            Flavor::SqlServer => format!(" AS {alias}"),
            Flavor::Oracle => format!(" {alias}"),
        }
    }

    /// Whether `needle` occurs in `haystack`.
    fn contains(self, haystack: &str, needle: &str) -> String {
        match self {
            Flavor::SqlServer => format!("CHARINDEX({needle}, {haystack}) > 0"),
            Flavor::Oracle => format!("INSTR({haystack}, {needle}) > 0"),
        }
    }

    /// `a <> b` for two non-null values of `column`. Oracle cannot compare CLOBs with `<>`:
    /// there, `DBMS_LOB.COMPARE`.
    fn differ(self, column: &ColumnInfo, a: &str, b: &str) -> String {
        let lob = matches!(
            column.data_type.to_ascii_lowercase().as_str(),
            "clob" | "nclob"
        );
        if self == Flavor::Oracle && lob {
            format!("DBMS_LOB.COMPARE({a}, {b}) <> 0")
        } else {
            format!("{a} <> {b}")
        }
    }

    /// A text expression as compared: Oracle compares case- and accent-insensitively, as the
    /// runbook's `NLS_COMP=LINGUISTIC NLS_SORT=BINARY_AI` intends, written into the statement
    /// rather than left to the session's settings. SQL Server follows the column's collation.
    fn compared(self, expr: &str) -> String {
        match self {
            Flavor::SqlServer => expr.to_string(),
            Flavor::Oracle => format!("NLSSORT({expr}, 'NLS_SORT=BINARY_AI')"),
        }
    }
}

/// The alias of the resource's own table in queries and updates.
const T: &str = "t";

/// Stands in for the replacement text while a `replace` runs (a private-use character, not
/// expected in configuration values).
const PARKED: &str = "\u{E000}";

/// SQL text with its parameters.
#[derive(Debug, Clone, PartialEq)]
pub struct Sql {
    /// The text.
    pub text: String,
    /// Its parameters, `@P1` first.
    pub params: Vec<Param>,
}

/// How to read the rows an inspection query returns.
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

/// The query that returns a resource's drifted rows, in key order.
///
/// # Errors
/// A table or column the catalog does not hold, or a value that does not fit its column.
pub fn drift_query(
    resource: &Resource,
    table: Option<&TableInfo>,
    catalog: &Catalog,
    flavor: Flavor,
) -> Result<(Sql, Layout), String> {
    let mut w = Writer::new(catalog, flavor);
    let missing = || format!("resource {} has no resolved table", resource.id);
    match &resource.kind {
        ResourceKind::RowsAbsent(r) => {
            let table = table.ok_or_else(missing)?;
            w.select_keys(table, &r.filter)
        }
        ResourceKind::TableEmpty(_) => {
            let table = table.ok_or_else(missing)?;
            w.select_keys(table, &[])
        }
        ResourceKind::ColumnValues(r) => {
            let table = table.ok_or_else(missing)?;
            let set: Vec<(&str, &ColumnValue)> =
                r.set.iter().map(|(c, v)| (c.as_str(), v)).collect();
            let parts = w.update_parts(table, &r.filter, &set, resource.secret)?;
            let keys = key_columns(table, &r.filter);
            let mut select = all_columns(table, w.flavor);
            let mut compared = Vec::with_capacity(parts.assignments.len());
            for a in &parts.assignments {
                if a.literal.is_none() {
                    select.push(a.desired.clone());
                }
                compared.push((position(table, &a.column.name), a.literal.clone()));
            }
            let order = order_by(&w, table, &keys)?;
            let text = format!(
                "SELECT {} FROM {}{} WHERE {}{order}",
                select.join(", "),
                QuotedIdent::table(&table.table, w.flavor.quote()),
                w.flavor.alias(T),
                parts.predicate()
            );
            Ok((w.finish(text), layout(table, &keys, compared)))
        }
        ResourceKind::Custom(c) => Ok((
            Sql {
                text: c.check.clone(),
                params: vec![],
            },
            Layout::Custom,
        )),
        ResourceKind::PrincipalsAbsent(_) | ResourceKind::GrantsAbsent(_) => Err(format!(
            "resource {} is inspected through the catalog views, not a drift query",
            resource.id
        )),
    }
}

/// `SELECT DISTINCT column FROM table WHERE filter`: the values of an `in_select` condition,
/// read once per inspection.
///
/// # Errors
/// A table or column the catalog does not hold, or a value that does not fit its column.
pub fn subselect_query(sub: &Subselect, catalog: &Catalog, flavor: Flavor) -> Result<Sql, String> {
    let mut w = Writer::new(catalog, flavor);
    let inner = w.table(&sub.table)?;
    let column = w.col(Some(T), inner, &sub.column)?;
    let conditions = w.filter(Some(T), inner, &sub.filter)?;
    let text = format!(
        "SELECT DISTINCT {column} FROM {}{}{} ORDER BY {column}",
        QuotedIdent::table(&inner.table, flavor.quote()),
        flavor.alias(T),
        where_clause(&conditions)
    );
    Ok(w.finish(text))
}

/// `ALTER AUTHORIZATION` for everything the principals own, `DROP SCHEMA` for their empty
/// schemas, then `DROP USER`: SQL Server refuses to drop a user who still owns anything.
fn drop_principals(principals: &[Principal], new_owner: &str) -> Vec<String> {
    const QUOTE: QuoteStyle = QuoteStyle::Brackets;
    let owner = QuotedIdent::principal(new_owner, QUOTE);
    let mut out = Vec::new();
    for p in principals {
        for o in &p.objects {
            out.push(format!(
                "ALTER AUTHORIZATION ON OBJECT::{} TO {owner}",
                QuotedIdent::object(o, QUOTE)
            ));
        }
        for r in &p.roles {
            out.push(format!(
                "ALTER AUTHORIZATION ON ROLE::{} TO {owner}",
                QuotedIdent::principal(r, QUOTE)
            ));
        }
        for s in &p.schemas {
            let schema = QuotedIdent::schema(s, QUOTE);
            out.push(if s.objects == 0 {
                format!("DROP SCHEMA {schema}")
            } else {
                format!("ALTER AUTHORIZATION ON SCHEMA::{schema} TO {owner}")
            });
        }
        out.push(format!(
            "DROP USER {}",
            QuotedIdent::principal(&p.name, QUOTE)
        ));
    }
    out
}

/// Object privileges Oracle can revoke by name; a privilege read from the catalog is written
/// into `REVOKE` only if it is one of these (privileges cannot be parameters).
const PRIVILEGES: [&str; 16] = [
    "ALTER",
    "DEBUG",
    "DELETE",
    "EXECUTE",
    "FLASHBACK",
    "INDEX",
    "INHERIT PRIVILEGES",
    "INSERT",
    "MERGE VIEW",
    "ON COMMIT REFRESH",
    "QUERY REWRITE",
    "READ",
    "REFERENCES",
    "SELECT",
    "UNDER",
    "UPDATE",
];

/// `REVOKE privilege ON "OWNER"."OBJECT" FROM "GRANTEE"`, one per privilege (Oracle only).
fn revoke(grants: &[crate::state::observed::Grant], flavor: Flavor) -> Result<Vec<String>, String> {
    if flavor != Flavor::Oracle {
        return Err("revoking privileges is done on Oracle only".into());
    }
    grants
        .iter()
        .map(|g| {
            let privilege = PRIVILEGES
                .iter()
                .find(|p| p.eq_ignore_ascii_case(&g.privilege))
                .ok_or_else(|| {
                    format!("privilege {:?} is not one postclone revokes", g.privilege)
                })?;
            let object = QuotedIdent::table(
                &crate::state::observed::TableRef {
                    schema: g.owner.clone(),
                    name: g.object.clone(),
                },
                QuoteStyle::DoubleQuotes,
            );
            let grantee = QuotedIdent::principal(&g.grantee, QuoteStyle::DoubleQuotes);
            Ok(format!("REVOKE {privilege} ON {object} FROM {grantee}"))
        })
        .collect()
}

/// The query listing the tables a metamodel target names, with their labels, in table order.
///
/// # Errors
/// A table or column the catalog does not hold.
pub fn metamodel_query(
    from: &TablesFrom,
    catalog: &Catalog,
    flavor: Flavor,
) -> Result<(Sql, Vec<String>), String> {
    let mut w = Writer::new(catalog, flavor);
    let table = w.table(&from.table)?;
    let named = w.col(Some(T), table, &from.column)?;
    let mut select = vec![named.clone()];
    let mut labels = Vec::new();
    for (label, describe) in &from.describe {
        select.push(match describe {
            Describe::Column { column } => w.col(Some(T), table, column)?,
            Describe::Lookup { lookup } => {
                let (from_where, value) = w.lookup(table, lookup)?;
                format!("(SELECT {value} {from_where})")
            }
        });
        labels.push(label.clone());
    }
    let conditions = w.filter(Some(T), table, &from.filter)?;
    let text = format!(
        "SELECT {} FROM {}{}{} ORDER BY {named}",
        select.join(", "),
        QuotedIdent::table(&table.table, flavor.quote()),
        flavor.alias(T),
        where_clause(&conditions)
    );
    Ok((w.finish(text), labels))
}

/// The statements of a change, in order.
///
/// # Errors
/// A table or column the catalog does not hold, or a value that does not fit its column.
pub fn statements(
    change: &Change,
    catalog: &Catalog,
    flavor: Flavor,
) -> Result<Vec<Statement>, String> {
    if let ChangeKind::DropPrincipals {
        principals,
        new_owner,
    } = &change.kind
    {
        if flavor == Flavor::Oracle {
            return Err("dropping restored database users is done on SQL Server only; on Oracle the schemas are the users, created before the import".into());
        }
        return Ok(drop_principals(principals, new_owner)
            .into_iter()
            .map(|sql| Statement {
                sql,
                params: vec![],
                source: change.id.clone(),
            })
            .collect());
    }
    if let ChangeKind::RevokeGrants { grants } = &change.kind {
        return revoke(grants, flavor).map(|all| {
            all.into_iter()
                .map(|sql| Statement {
                    sql,
                    params: vec![],
                    source: change.id.clone(),
                })
                .collect()
        });
    }
    let mut w = Writer::new(catalog, flavor);
    let quote = flavor.quote();
    let text = match &change.kind {
        ChangeKind::DeleteRows { table, filter } => {
            // No alias: the embedded engine does not accept `DELETE t FROM ... AS t`, and no
            // correlated subquery needs one here.
            let conditions = w.filter(None, table, filter)?;
            format!(
                "DELETE FROM {}{}",
                QuotedIdent::table(&table.table, quote),
                where_clause(&conditions)
            )
        }
        ChangeKind::EmptyTable { table, method } => match (method, flavor) {
            (EmptyMethod::Truncate, Flavor::SqlServer) => {
                format!("TRUNCATE TABLE {}", QuotedIdent::table(&table.table, quote))
            }
            // TRUNCATE commits on Oracle: never inside the apply transaction.
            (EmptyMethod::Truncate, Flavor::Oracle) | (EmptyMethod::Delete { .. }, _) => {
                format!("DELETE FROM {}", QuotedIdent::table(&table.table, quote))
            }
        },
        ChangeKind::SetColumns {
            table,
            filter,
            assignments,
        } => {
            let set: Vec<(&str, &ColumnValue)> = assignments
                .iter()
                .map(|Assignment { column, value }| (column.as_str(), value))
                .collect();
            let parts = w.update_parts(table, filter, &set, change.secret)?;
            let sets: Vec<String> = parts
                .assignments
                .iter()
                .map(|a| format!("{} = {}", QuotedIdent::column(&a.column, quote), a.desired))
                .collect();
            let table = QuotedIdent::table(&table.table, quote);
            match flavor {
                Flavor::SqlServer => format!(
                    "UPDATE {T} SET {} FROM {table} AS {T} WHERE {}",
                    sets.join(", "),
                    parts.predicate()
                ),
                Flavor::Oracle => format!(
                    "UPDATE {table} {T} SET {} WHERE {}",
                    sets.join(", "),
                    parts.predicate()
                ),
            }
        }
        ChangeKind::RunFix { fix } => fix.clone(),
        ChangeKind::DropPrincipals { .. } | ChangeKind::RevokeGrants { .. } => {
            unreachable!("handled above")
        }
    };
    let sql = w.finish(text);
    Ok(vec![Statement {
        sql: sql.text,
        params: sql.params,
        source: change.id.clone(),
    }])
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
) -> Result<Option<Sql>, String> {
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
    let columns: Vec<String> = table
        .columns
        .iter()
        .map(|c| format!("{T}.{}", QuotedIdent::column(c, flavor.quote())))
        .collect();
    let order = order_by(&w, table, &table.primary_key)?;
    let filter = if predicate.is_empty() {
        String::new()
    } else {
        format!(" WHERE {predicate}")
    };
    let text = format!(
        "SELECT {} FROM {}{}{filter}{order}",
        columns.join(", "),
        QuotedIdent::table(&table.table, flavor.quote()),
        flavor.alias(T)
    );
    Ok(Some(w.finish(text)))
}

/// One idempotent statement per journaled row: missing rows inserted again (with their
/// identity values), modified rows given their old values back by primary key.
///
/// # Errors
/// An update to revert on a table without a primary key: its rows cannot be found again.
pub fn restore_statements(
    step: &RestoreStep,
    binary: BinaryValues,
    flavor: Flavor,
) -> Result<Vec<Statement>, String> {
    let quote = flavor.quote();
    let table = QuotedIdent::table(&step.table, quote);
    let key: Vec<usize> = step
        .primary_key
        .iter()
        .filter_map(|k| {
            step.columns
                .iter()
                .position(|c| c.name.eq_ignore_ascii_case(k))
        })
        .collect();
    if step.action == RestoreAction::Revert && key.is_empty() {
        return Err(format!(
            "{} has no primary key: the modified rows cannot be found again to revert them",
            step.table
        ));
    }
    let identity = step.columns.iter().any(|c| c.identity);
    let column = |i: usize| QuotedIdent::column(&step.columns[i], quote).to_string();
    let mut out = Vec::with_capacity(step.rows.len());
    for row in &step.rows {
        let (markers, params) = restore_markers(row, &key, binary, flavor);
        let matches = |indices: &[usize], q: &str| -> String {
            indices
                .iter()
                .map(|&i| match row[i] {
                    Value::Null => format!("{q}{} IS NULL", column(i)),
                    _ => format!("{q}{} = {}", column(i), markers[i]),
                })
                .collect::<Vec<_>>()
                .join(" AND ")
        };
        let sql = match step.action {
            RestoreAction::Reinsert => {
                let all: Vec<usize> = (0..step.columns.len()).collect();
                let names: Vec<String> = all.iter().map(|&i| column(i)).collect();
                let identify = if key.is_empty() { &all } else { &key };
                let insert = format!(
                    "INSERT INTO {table} ({}) SELECT {}{} WHERE NOT EXISTS (SELECT 1 FROM {table}{} WHERE {})",
                    names.join(", "),
                    markers.join(", "),
                    if flavor == Flavor::Oracle { " FROM DUAL" } else { "" },
                    flavor.alias("s1"),
                    matches(identify, "s1.")
                );
                // Oracle identity columns generated BY DEFAULT take explicit values as they are.
                if identity && flavor == Flavor::SqlServer {
                    format!(
                        "SET IDENTITY_INSERT {table} ON; {insert}; SET IDENTITY_INSERT {table} OFF"
                    )
                } else {
                    insert
                }
            }
            RestoreAction::Revert => {
                let sets: Vec<String> = (0..step.columns.len())
                    .filter(|i| !key.contains(i) && !step.columns[*i].identity)
                    .map(|i| format!("{} = {}", column(i), markers[i]))
                    .collect();
                format!(
                    "UPDATE {table} SET {} WHERE {}",
                    sets.join(", "),
                    matches(&key, "")
                )
            }
        };
        out.push(Statement {
            sql,
            params,
            source: step.change.clone(),
        });
    }
    Ok(out)
}

/// How binary values reach the server.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BinaryValues {
    /// As parameters, like every value.
    Parameters,
    /// As `0x…` literals: the embedded engine stores binary parameters as NULL. Hex digits
    /// cannot close a literal or start a statement, so nothing else can reach the text this way.
    HexLiterals,
}

/// One marker per column of a journaled row: `NULL` written as the keyword (a typed NULL
/// parameter does not convert to every column type), other values as parameters. Binary values
/// are numbered last: the embedded engine misreads any parameter that follows a binary one.
/// Values are secret but for the key's: journaled rows hold production's secrets.
fn restore_markers(
    row: &[Value],
    key: &[usize],
    binary: BinaryValues,
    flavor: Flavor,
) -> (Vec<String>, Vec<Param>) {
    let mut markers = vec![String::from("NULL"); row.len()];
    let mut params = Vec::new();
    if binary == BinaryValues::HexLiterals {
        for (i, v) in row.iter().enumerate() {
            if let Value::Bytes(bytes) = v {
                let hex: String = bytes.iter().map(|b| format!("{b:02X}")).collect();
                markers[i] = format!("0x{hex}");
            }
        }
    }
    let binary_last =
        row.iter()
            .enumerate()
            .filter(|(_, v)| !v.is_null() && !matches!(v, Value::Bytes(_)))
            .chain(row.iter().enumerate().filter(|(_, v)| {
                matches!(v, Value::Bytes(_)) && binary == BinaryValues::Parameters
            }));
    for (i, v) in binary_last {
        params.push(Param {
            value: v.clone(),
            secret: !key.contains(&i),
        });
        markers[i] = flavor.marker(params.len());
    }
    (markers, params)
}

/// `t.[c]` for every column of the table, in the catalog's order. Inspection reads whole rows
/// so that a saved plan's fingerprint covers every value a change touches.
fn all_columns(table: &TableInfo, flavor: Flavor) -> Vec<String> {
    table
        .columns
        .iter()
        .map(|c| format!("{T}.{}", QuotedIdent::column(c, flavor.quote())))
        .collect()
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

/// The columns that identify a row in a plan: the primary key, then the filter's own columns.
#[must_use]
pub fn key_columns(table: &TableInfo, filter: &[Condition]) -> Vec<String> {
    let mut keys: Vec<String> = table.primary_key.clone();
    for c in filter {
        if let Some(col) = table.column(&c.column) {
            if !keys.iter().any(|k| k.eq_ignore_ascii_case(&col.name)) {
                keys.push(col.name.clone());
            }
        }
    }
    keys
}

fn order_by(w: &Writer<'_>, table: &TableInfo, keys: &[String]) -> Result<String, String> {
    if keys.is_empty() {
        return Ok(String::new());
    }
    let cols: Vec<String> = keys
        .iter()
        .map(|k| w.col(Some(T), table, k))
        .collect::<Result<_, _>>()?;
    Ok(format!(" ORDER BY {}", cols.join(", ")))
}

fn where_clause(conditions: &[String]) -> String {
    if conditions.is_empty() {
        String::new()
    } else {
        format!(" WHERE {}", conditions.join(" AND "))
    }
}

/// One column of an update: its current and desired value expressions.
struct AssignmentSql {
    column: ColumnInfo,
    desired: String,
    /// The desired value, when it is a literal.
    literal: Option<Value>,
}

/// The pieces shared by the drift query of `column_values` and its update statement.
struct UpdateParts {
    assignments: Vec<AssignmentSql>,
    /// Filter conditions and lookup existence checks; all must hold.
    conditions: Vec<String>,
    /// One "differs" test per assignment; any may hold.
    differs: Vec<String>,
}

impl UpdateParts {
    fn predicate(&self) -> String {
        let mut all = self.conditions.clone();
        all.push(format!("({})", self.differs.join(" OR ")));
        all.join(" AND ")
    }
}

/// Accumulates parameters and subquery aliases while text is built.
struct Writer<'a> {
    catalog: &'a Catalog,
    flavor: Flavor,
    params: Vec<Param>,
    aliases: usize,
}

impl<'a> Writer<'a> {
    fn new(catalog: &'a Catalog, flavor: Flavor) -> Self {
        Writer {
            catalog,
            flavor,
            params: Vec::new(),
            aliases: 0,
        }
    }

    fn finish(self, text: String) -> Sql {
        Sql {
            text,
            params: self.params,
        }
    }

    fn bind(&mut self, value: Value, secret: bool) -> String {
        self.params.push(Param { value, secret });
        self.flavor.marker(self.params.len())
    }

    fn alias(&mut self) -> String {
        self.aliases += 1;
        format!("s{}", self.aliases)
    }

    fn column<'t>(table: &'t TableInfo, name: &str) -> Result<&'t ColumnInfo, String> {
        table
            .column(name)
            .ok_or_else(|| format!("column {name} is not in table {}", table.table))
    }

    fn col(
        &self,
        qualifier: Option<&str>,
        table: &TableInfo,
        name: &str,
    ) -> Result<String, String> {
        let column = QuotedIdent::column(Self::column(table, name)?, self.flavor.quote());
        Ok(match qualifier {
            Some(q) => format!("{q}.{column}"),
            None => column.to_string(),
        })
    }

    fn table(&self, name: &crate::state::desired::TableName) -> Result<&'a TableInfo, String> {
        self.catalog
            .get(name)
            .ok_or_else(|| format!("table {name} is not in the catalog"))
    }

    /// `SELECT keys FROM table AS t WHERE filter ORDER BY keys`.
    fn select_keys(
        mut self,
        table: &TableInfo,
        filter: &[Condition],
    ) -> Result<(Sql, Layout), String> {
        let keys = key_columns(table, filter);
        let conditions = self.filter(Some(T), table, filter)?;
        let order = order_by(&self, table, &keys)?;
        let text = format!(
            "SELECT {} FROM {}{}{}{order}",
            all_columns(table, self.flavor).join(", "),
            QuotedIdent::table(&table.table, self.flavor.quote()),
            self.flavor.alias(T),
            where_clause(&conditions)
        );
        Ok((self.finish(text), layout(table, &keys, vec![])))
    }

    /// Each condition as SQL, against `table` under `qualifier`.
    fn filter(
        &mut self,
        qualifier: Option<&str>,
        table: &TableInfo,
        filter: &[Condition],
    ) -> Result<Vec<String>, String> {
        filter
            .iter()
            .map(|c| self.condition(qualifier, table, c))
            .collect()
    }

    fn condition(
        &mut self,
        qualifier: Option<&str>,
        table: &TableInfo,
        c: &Condition,
    ) -> Result<String, String> {
        let info = Self::column(table, &c.column)?.clone();
        let text = is_text(&info);
        let flavor = self.flavor;
        let compared = |expr: &str| {
            if text {
                flavor.compared(expr)
            } else {
                expr.to_string()
            }
        };
        let bare = self.col(qualifier, table, &c.column)?;
        let col = compared(&bare);
        // NULL never equals anything in SQL: a listed null becomes an IS NULL test (and on
        // Oracle, so does '' in a nullable column). Returns the list of the others, and
        // whether there was a null.
        let list = |w: &mut Self, values: &[Value]| -> Result<(Option<String>, bool), String> {
            let mut markers = Vec::with_capacity(values.len());
            let mut null = false;
            for v in values {
                // A listed null needs no conversion (a NOT NULL column simply matches none).
                let v = if v.is_null() {
                    Value::Null
                } else {
                    coerce_for(v, &info, w.flavor)?
                };
                if v.is_null() {
                    null = true;
                } else {
                    markers.push(compared(&w.bind(v, false)));
                }
            }
            Ok(((!markers.is_empty()).then(|| markers.join(", ")), null))
        };
        Ok(match &c.predicate {
            Predicate::In(values) => match list(self, values)? {
                (Some(l), false) => format!("{col} IN ({l})"),
                (Some(l), true) => format!("({col} IN ({l}) OR {bare} IS NULL)"),
                (None, _) => format!("{bare} IS NULL"),
            },
            Predicate::NotIn(values) => match list(self, values)?.0 {
                Some(l) => format!("{col} NOT IN ({l})"),
                None => format!("{bare} IS NOT NULL"),
            },
            Predicate::InSelect(sub) => {
                if let Some(values) = self.catalog.subselect_values(sub) {
                    // Values read from another column may not convert to this one's type: then
                    // the subquery itself is the only faithful test.
                    let bound = self.params.len();
                    match list(self, values) {
                        Ok((Some(l), _)) => return Ok(format!("{col} IN ({l})")),
                        Ok((None, _)) => return Ok("1 = 0".into()),
                        Err(_) => self.params.truncate(bound),
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

    /// `FROM lookup AS sN WHERE sN.a = t.b AND ...`, and the looked-up column.
    fn lookup(&mut self, table: &TableInfo, lookup: &Lookup) -> Result<(String, String), String> {
        let other = self.table(&lookup.table)?;
        let alias = self.alias();
        let value = self.col(Some(&alias), other, &lookup.column)?;
        let mut on = Vec::new();
        for (theirs, ours) in &lookup.on {
            on.push(format!(
                "{} = {}",
                self.col(Some(&alias), other, theirs)?,
                self.col(Some(T), table, ours)?
            ));
        }
        if on.is_empty() {
            return Err(format!("lookup in {} matches no column", lookup.table));
        }
        Ok((
            format!(
                "FROM {}{} WHERE {}",
                QuotedIdent::table(&other.table, self.flavor.quote()),
                self.flavor.alias(&alias),
                on.join(" AND ")
            ),
            value,
        ))
    }

    fn update_parts(
        &mut self,
        table: &TableInfo,
        filter: &[Condition],
        set: &[(&str, &ColumnValue)],
        secret: bool,
    ) -> Result<UpdateParts, String> {
        let mut parts = UpdateParts {
            assignments: Vec::new(),
            conditions: self.filter(Some(T), table, filter)?,
            differs: Vec::new(),
        };
        for (name, value) in set {
            let column = Self::column(table, name)?.clone();
            let current = self.col(Some(T), table, name)?;
            if let ColumnValue::Replace { replace } = value {
                let source = match &replace.source {
                    Some(source) => self.col(Some(T), table, source)?,
                    None => current.clone(),
                };
                let from = self.bind(Value::Text(replace.from.clone()), secret);
                let to = self.bind(Value::Text(replace.to.clone()), secret);
                // Occurrences of `to` are parked under a private-use character while `from` is
                // replaced, so that `prod` → `preprod` does not rewrite `preprod` again.
                let parked = self.bind(Value::Text(PARKED.into()), false);
                let desired = format!(
                    "REPLACE(REPLACE(REPLACE({source}, {to}, {parked}), {from}, {to}), {parked}, {to})"
                );
                parts.differs.push(format!(
                    "({} AND ({} OR {current} IS NULL))",
                    self.flavor.contains(&source, &from),
                    self.flavor.differ(&column, &current, &desired)
                ));
                parts.assignments.push(AssignmentSql {
                    column,
                    desired,
                    literal: None,
                });
                continue;
            }
            let (desired, differs, literal) = match value.lookup() {
                None => {
                    let ColumnValue::Literal(literal) = value else {
                        return Err(format!("column {name}: unsupported value"));
                    };
                    let literal = coerce_for(literal, &column, self.flavor)?;
                    if literal.is_null() {
                        (
                            "NULL".to_string(),
                            format!("{current} IS NOT NULL"),
                            Some(literal),
                        )
                    } else {
                        let marker = self.bind(literal.clone(), secret);
                        let differs = format!(
                            "({} OR {current} IS NULL)",
                            self.flavor.differ(&column, &current, &marker)
                        );
                        (marker, differs, Some(literal))
                    }
                }
                Some(lookup) => {
                    let (from_where, looked_up) = self.lookup(table, &lookup)?;
                    // Rows without a matching lookup row are left as they are, as the runbook's
                    // inner joins do.
                    parts
                        .conditions
                        .push(format!("EXISTS (SELECT 1 {from_where})"));
                    let desired = format!("(SELECT {looked_up} {from_where})");
                    // One correlated subquery for "differs", not three: an engine that runs it
                    // for every row pays for each.
                    let differs = format!(
                        "EXISTS (SELECT 1 {from_where} AND ({} OR ({looked_up} IS NULL AND {current} IS NOT NULL) OR ({looked_up} IS NOT NULL AND {current} IS NULL)))",
                        self.flavor.differ(&column, &looked_up, &current)
                    );
                    (desired, differs, None)
                }
            };
            parts.differs.push(differs);
            parts.assignments.push(AssignmentSql {
                column,
                desired,
                literal,
            });
        }
        Ok(parts)
    }
}

/// Whether a column holds text (compared linguistically on Oracle).
fn is_text(column: &ColumnInfo) -> bool {
    matches!(
        column.data_type.to_ascii_lowercase().as_str(),
        "char"
            | "varchar"
            | "nchar"
            | "nvarchar"
            | "text"
            | "ntext"
            | "sysname"
            | "varchar2"
            | "nvarchar2"
            | "clob"
            | "nclob"
    )
}

/// [`coerce`], then Oracle's empty string: Oracle stores `''` as NULL, so an empty text is
/// NULL in a nullable column and a single space (what the runbook writes) in a NOT NULL one.
///
/// # Errors
/// Those of [`coerce`].
pub fn coerce_for(value: &Value, column: &ColumnInfo, flavor: Flavor) -> Result<Value, String> {
    match (coerce(value, column)?, flavor) {
        (Value::Text(t), Flavor::Oracle) if t.is_empty() => Ok(if column.nullable {
            Value::Null
        } else {
            Value::Text(" ".into())
        }),
        (v, _) => Ok(v),
    }
}

/// Converts a spec value for a column of the catalog's type, so that comparisons and writes
/// are not left to implicit conversion.
///
/// # Errors
/// A value that cannot be stored in the column.
pub fn coerce(value: &Value, column: &ColumnInfo) -> Result<Value, String> {
    let wrong = |what: &str| {
        format!(
            "column {} ({}) cannot hold {value}: {what}",
            column.name, column.data_type
        )
    };
    if value.is_null() {
        return if column.nullable {
            Ok(Value::Null)
        } else {
            Err(wrong("the column is NOT NULL"))
        };
    }
    let ty = column.data_type.to_ascii_lowercase();
    match ty.as_str() {
        "bit" => match value {
            Value::Bool(b) => Ok(Value::Bool(*b)),
            Value::Int(0) => Ok(Value::Bool(false)),
            Value::Int(1) => Ok(Value::Bool(true)),
            Value::Text(t) if t == "0" || t.eq_ignore_ascii_case("false") => Ok(Value::Bool(false)),
            Value::Text(t) if t == "1" || t.eq_ignore_ascii_case("true") => Ok(Value::Bool(true)),
            _ => Err(wrong("write 0, 1, true or false")),
        },
        "tinyint" | "smallint" | "int" | "bigint" | "integer" => match value {
            Value::Int(i) => Ok(Value::Int(*i)),
            Value::Bool(b) => Ok(Value::Int(i64::from(*b))),
            Value::Text(t) => t
                .trim()
                .parse()
                .map(Value::Int)
                .map_err(|_| wrong("write a whole number")),
            _ => Err(wrong("write a whole number")),
        },
        // Oracle's NUMBER holds integers and decimals alike (and NUMBER(1) the flags).
        "number" => match value {
            Value::Int(_) | Value::Float(_) => Ok(value.clone()),
            Value::Bool(b) => Ok(Value::Int(i64::from(*b))),
            Value::Text(t) => t
                .trim()
                .parse::<i64>()
                .map(Value::Int)
                .or_else(|_| t.trim().parse().map(Value::Float))
                .map_err(|_| wrong("write a number")),
            _ => Err(wrong("write a number")),
        },
        "decimal" | "numeric" | "money" | "smallmoney" | "float" | "real" | "binary_double"
        | "binary_float" => match value {
            Value::Int(_) | Value::Float(_) => Ok(value.clone()),
            Value::Text(t) => t
                .trim()
                .parse()
                .map(Value::Float)
                .map_err(|_| wrong("write a number")),
            _ => Err(wrong("write a number")),
        },
        "char" | "varchar" | "nchar" | "nvarchar" | "text" | "ntext" | "sysname" | "xml"
        | "varchar2" | "nvarchar2" | "clob" | "nclob" => match value {
            Value::Text(t) => Ok(Value::Text(t.clone())),
            Value::Int(i) => Ok(Value::Text(i.to_string())),
            Value::Float(x) => Ok(Value::Text(x.to_string())),
            _ => Err(wrong("write the text in quotes, for example 'True'")),
        },
        _ => match value {
            Value::Text(t) => Ok(Value::Text(t.clone())),
            _ => Err(wrong("write the value as text in quotes")),
        },
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;
    use crate::change::ChangeKind;
    use crate::diff::tests::{id, resource};
    use crate::state::desired::{
        ColumnValues, RowsAbsent, Subselect, TableEmpty, TableName, TableTarget, ValueOrigin,
    };
    use crate::state::observed::{Drift, ResolvedSubselect, ResolvedTable, TableRef};

    fn col(name: &str, ty: &str, nullable: bool) -> ColumnInfo {
        ColumnInfo {
            name: name.into(),
            data_type: ty.into(),
            nullable,
            identity: false,
        }
    }

    fn info(name: &str, columns: Vec<ColumnInfo>, pk: &[&str]) -> TableInfo {
        TableInfo {
            table: TableRef {
                schema: "dbo".into(),
                name: name.into(),
            },
            columns,
            primary_key: pk.iter().map(|s| s.to_string()).collect(),
        }
    }

    fn name(s: &str) -> TableName {
        TableName::try_from(s.to_string()).unwrap()
    }

    fn catalog() -> Catalog {
        let tables = vec![
            (
                "ossys_parameter",
                info(
                    "OSSYS_PARAMETER",
                    vec![
                        col("ID", "int", false),
                        col("NAME", "nvarchar", false),
                        col("VAL", "nvarchar", true),
                    ],
                    &["ID"],
                ),
            ),
            (
                "ossys_site_property",
                info(
                    "OSSYS_SITE_PROPERTY",
                    vec![
                        col("ID", "int", false),
                        col("SITE_PROPERTY_DEFINITION_ID", "int", false),
                        col("PROPERTY_VALUE", "nvarchar", true),
                        col("USER_MODIFIED", "bit", false),
                    ],
                    &["ID"],
                ),
            ),
            (
                "OSSYS_SITE_PROPERTY_DEFINITION",
                info(
                    "OSSYS_SITE_PROPERTY_DEFINITION",
                    vec![
                        col("ID", "int", false),
                        col("DEFAULT_VALUE", "nvarchar", true),
                    ],
                    &["ID"],
                ),
            ),
            (
                "ossys_site_property_def_ext",
                info(
                    "OSSYS_SITE_PROPERTY_DEF_EXT",
                    vec![
                        col("SITE_PROPERTY_DEFINITION_ID", "int", false),
                        col("IS_SECRET", "bit", false),
                    ],
                    &[],
                ),
            ),
            (
                "ossys_server",
                info("OSSYS_SERVER", vec![col("NAME", "nvarchar", false)], &[]),
            ),
        ];
        Catalog {
            tables: tables
                .into_iter()
                .map(|(n, info)| ResolvedTable {
                    requested: name(n),
                    info,
                })
                .collect(),
            subselects: Vec::new(),
        }
    }

    fn text(v: &str) -> Value {
        Value::Text(v.into())
    }

    fn secret_site_properties() -> ColumnValues {
        ColumnValues {
            table: TableTarget::Name(name("ossys_site_property")),
            filter: vec![Condition {
                column: "SITE_PROPERTY_DEFINITION_ID".into(),
                predicate: Predicate::InSelect(Box::new(Subselect {
                    table: name("ossys_site_property_def_ext"),
                    column: "SITE_PROPERTY_DEFINITION_ID".into(),
                    filter: vec![Condition {
                        column: "IS_SECRET".into(),
                        predicate: Predicate::In(vec![Value::Int(1)]),
                    }],
                })),
            }],
            set: BTreeMap::from([
                (
                    "PROPERTY_VALUE".into(),
                    ColumnValue::Derived {
                        from: ValueOrigin::SitePropertyDefault,
                    },
                ),
                ("USER_MODIFIED".into(), ColumnValue::Literal(Value::Int(0))),
            ]),
            if_exists: false,
        }
    }

    fn change(kind: ChangeKind) -> Change {
        Change {
            id: id("c"),
            kind,
            rows: Drift::default(),
            secret: false,
            description: None,
            labels: vec![],
        }
    }

    fn shown(sql: &Sql) -> String {
        let params: Vec<String> = sql.params.iter().map(|p| p.value.to_string()).collect();
        format!("{}\n-- params: [{}]", sql.text, params.join(", "))
    }

    fn shown_statement(s: &Statement) -> String {
        shown(&Sql {
            text: s.sql.clone(),
            params: s.params.clone(),
        })
    }

    /// The drift query of each resource kind.
    #[test]
    fn drift_queries() {
        let cat = catalog();
        let absent = resource(
            "tokens",
            ResourceKind::RowsAbsent(RowsAbsent {
                table: TableTarget::Name(name("ossys_parameter")),
                filter: vec![Condition {
                    column: "name".into(),
                    predicate: Predicate::In(vec![
                        text("ClientApplicationToken"),
                        text("privateKeyValidation"),
                    ]),
                }],
                if_exists: false,
            }),
            &[],
        );
        let empty = resource(
            "servers",
            ResourceKind::TableEmpty(TableEmpty {
                table: TableTarget::Name(name("ossys_server")),
                if_exists: false,
            }),
            &[],
        );
        let set = resource(
            "secrets",
            ResourceKind::ColumnValues(secret_site_properties()),
            &[],
        );
        let mut out = String::new();
        for (r, t) in [
            (&absent, "ossys_parameter"),
            (&empty, "ossys_server"),
            (&set, "ossys_site_property"),
        ] {
            let (sql, layout) = drift_query(r, cat.get(&name(t)), &cat, Flavor::SqlServer).unwrap();
            out.push_str(&format!(
                "# {}\n{}\n-- layout: {layout:?}\n\n",
                r.id,
                shown(&sql)
            ));
        }
        insta::assert_snapshot!(out);
    }

    /// A subquery whose values were read renders as a list of them; none read, as a test that
    /// matches nothing; values that do not fit the column, as the subquery itself.
    #[test]
    fn resolved_subselects() {
        let secret = secret_site_properties();
        let Predicate::InSelect(sub) = &secret.filter[0].predicate else {
            unreachable!()
        };
        let query = |values: Vec<Value>| {
            let mut cat = catalog();
            cat.subselects.push(ResolvedSubselect {
                subselect: (**sub).clone(),
                values,
            });
            let r = resource("secrets", ResourceKind::ColumnValues(secret.clone()), &[]);
            let (sql, _) = drift_query(
                &r,
                cat.get(&name("ossys_site_property")),
                &cat,
                Flavor::SqlServer,
            )
            .unwrap();
            shown(&sql)
        };
        let listed = query(vec![Value::Int(6), Value::Int(11)]);
        assert!(
            listed.contains("t.[SITE_PROPERTY_DEFINITION_ID] IN (@P1, @P2)")
                && listed.contains("-- params: [6, 11"),
            "{listed}"
        );
        assert!(!listed.contains("OSSYS_SITE_PROPERTY_DEF_EXT"), "{listed}");
        let none = query(vec![]);
        assert!(none.contains("WHERE 1 = 0 AND"), "{none}");
        let unfit = query(vec![text("not a number")]);
        assert!(
            unfit.contains("IN (SELECT s1.[SITE_PROPERTY_DEFINITION_ID] FROM [dbo].[OSSYS_SITE_PROPERTY_DEF_EXT]"),
            "{unfit}"
        );
        assert!(!unfit.contains("not a number"), "{unfit}");
    }

    /// Privileges are revoked on Oracle, one statement each, only when the catalog's privilege
    /// is one Oracle names; SQL Server refuses the change.
    #[test]
    fn revoke_grants() {
        use crate::state::observed::Grant;
        let grant = |privilege: &str| Grant {
            grantee: "OSRUNTIME_PP".into(),
            owner: "OSADMIN".into(),
            object: "OSSYS_PARAMETER".into(),
            privilege: privilege.into(),
        };
        let revoke = |grants: Vec<Grant>, flavor| {
            statements(
                &change(ChangeKind::RevokeGrants { grants }),
                &catalog(),
                flavor,
            )
        };
        let done = revoke(
            vec![grant("SELECT"), grant("on commit refresh")],
            Flavor::Oracle,
        )
        .unwrap();
        let sql: Vec<&str> = done.iter().map(|s| s.sql.as_str()).collect();
        assert_eq!(
            sql,
            [
                "REVOKE SELECT ON \"OSADMIN\".\"OSSYS_PARAMETER\" FROM \"OSRUNTIME_PP\"",
                "REVOKE ON COMMIT REFRESH ON \"OSADMIN\".\"OSSYS_PARAMETER\" FROM \"OSRUNTIME_PP\""
            ]
        );
        assert!(
            revoke(vec![grant("SELECT ON X TO PUBLIC; --")], Flavor::Oracle)
                .unwrap_err()
                .contains("is not one postclone revokes")
        );
        assert!(revoke(vec![grant("SELECT")], Flavor::SqlServer).is_err());
    }

    /// A null listed for a NOT NULL column is a test that matches nothing, not an error; on
    /// Oracle, '' in a nullable column is a null too.
    #[test]
    fn listed_nulls() {
        let cat = catalog();
        let absent = |column: &str, values: Vec<Value>| {
            resource(
                "p",
                ResourceKind::RowsAbsent(RowsAbsent {
                    table: TableTarget::Name(name("ossys_parameter")),
                    filter: vec![Condition {
                        column: column.into(),
                        predicate: Predicate::In(values),
                    }],
                    if_exists: false,
                }),
                &[],
            )
        };
        let table = cat.get(&name("ossys_parameter"));
        let (sql, _) = drift_query(
            &absent("NAME", vec![Value::Null]),
            table,
            &cat,
            Flavor::SqlServer,
        )
        .unwrap();
        assert!(sql.text.contains("WHERE t.[NAME] IS NULL"), "{}", sql.text);
        let (sql, _) = drift_query(
            &absent("VAL", vec![text(""), text("x")]),
            table,
            &cat,
            Flavor::Oracle,
        )
        .unwrap();
        assert!(
            sql.text.contains(
                "(NLSSORT(t.\"VAL\", 'NLS_SORT=BINARY_AI') IN (NLSSORT(:p1, 'NLS_SORT=BINARY_AI')) OR t.\"VAL\" IS NULL)"
            ),
            "{}",
            sql.text
        );
        assert_eq!(sql.params.len(), 1);
    }

    /// Oracle compares a CLOB with DBMS_LOB.COMPARE, never `<>`; other columns as usual.
    #[test]
    fn oracle_clob_differs() {
        let mut cat = catalog();
        let sp = cat
            .tables
            .iter_mut()
            .find(|t| t.info.table.name == "OSSYS_SITE_PROPERTY")
            .unwrap();
        sp.info.columns[2].data_type = "clob".into();
        let set = ColumnValues {
            table: TableTarget::Name(name("ossys_site_property")),
            filter: vec![],
            set: BTreeMap::from([
                ("PROPERTY_VALUE".into(), ColumnValue::Literal(text("x"))),
                ("USER_MODIFIED".into(), ColumnValue::Literal(Value::Int(0))),
            ]),
            if_exists: false,
        };
        let r = resource("values", ResourceKind::ColumnValues(set), &[]);
        let (sql, _) = drift_query(
            &r,
            cat.get(&name("ossys_site_property")),
            &cat,
            Flavor::Oracle,
        )
        .unwrap();
        assert!(
            sql.text
                .contains("DBMS_LOB.COMPARE(t.\"PROPERTY_VALUE\", :p1) <> 0"),
            "{}",
            sql.text
        );
        assert!(
            sql.text.contains("t.\"USER_MODIFIED\" <> :p2"),
            "{}",
            sql.text
        );
    }

    /// The statements of each change kind.
    #[test]
    fn change_statements() {
        let cat = catalog();
        let parameter = cat.get(&name("ossys_parameter")).unwrap().clone();
        let server = cat.get(&name("ossys_server")).unwrap().clone();
        let sp = cat.get(&name("ossys_site_property")).unwrap().clone();
        let secret = secret_site_properties();
        let changes = [
            change(ChangeKind::DeleteRows {
                table: parameter,
                filter: vec![Condition {
                    column: "NAME".into(),
                    predicate: Predicate::NotIn(vec![text("(Main)")]),
                }],
            }),
            change(ChangeKind::EmptyTable {
                table: server.clone(),
                method: EmptyMethod::Truncate,
            }),
            change(ChangeKind::EmptyTable {
                table: server,
                method: EmptyMethod::Delete {
                    reason: "fk".into(),
                },
            }),
            change(ChangeKind::SetColumns {
                table: sp,
                filter: secret.filter.clone(),
                assignments: secret
                    .set
                    .iter()
                    .map(|(c, v)| Assignment {
                        column: c.clone(),
                        value: v.clone(),
                    })
                    .collect(),
            }),
            change(ChangeKind::RunFix {
                fix: "UPDATE x SET y = 1".into(),
            }),
        ];
        let mut out = String::new();
        for c in &changes {
            for s in statements(c, &cat, Flavor::SqlServer).unwrap() {
                out.push_str(&shown_statement(&s));
                out.push_str("\n\n");
            }
        }
        insta::assert_snapshot!(out);
    }

    /// Restored users: what they own is handed over, empty schemas dropped, then the users.
    /// The embedded engine has no CREATE USER, so this SQL is checked here, not executed.
    #[test]
    fn drop_principals_statements() {
        use crate::state::observed::{OwnedObject, OwnedSchema, Principal};
        let principals = vec![
            Principal {
                name: "OSADMIN".into(),
                kind: "SQL_USER".into(),
                schemas: vec![
                    OwnedSchema {
                        name: "OSADMIN".into(),
                        objects: 0,
                    },
                    OwnedSchema {
                        name: "REPORTS".into(),
                        objects: 3,
                    },
                ],
                objects: vec![OwnedObject {
                    schema: "dbo".into(),
                    name: "V_ORDERS".into(),
                    kind: "VIEW".into(),
                }],
                roles: vec!["os_readers".into()],
            },
            Principal {
                name: "OS]RUNTIME".into(),
                kind: "SQL_USER".into(),
                schemas: vec![],
                objects: vec![],
                roles: vec![],
            },
        ];
        let c = change(ChangeKind::DropPrincipals {
            principals,
            new_owner: "dbo".into(),
        });
        let out: Vec<String> = statements(&c, &catalog(), Flavor::SqlServer)
            .unwrap()
            .iter()
            .map(shown_statement)
            .collect();
        insta::assert_snapshot!(out.join("\n"));
    }

    /// A host rewrite parks existing replacements, so that it converges; a listed null becomes
    /// an IS NULL test.
    #[test]
    fn replace_and_null_conditions() {
        use crate::state::desired::Replace;
        let cat = catalog();
        let r = resource(
            "hosts",
            ResourceKind::ColumnValues(ColumnValues {
                table: TableTarget::Name(name("ossys_parameter")),
                filter: vec![Condition {
                    column: "VAL".into(),
                    predicate: Predicate::In(vec![Value::Null, text("")]),
                }],
                set: BTreeMap::from([(
                    "VAL".into(),
                    ColumnValue::Replace {
                        replace: Replace {
                            from: "prod.example.com".into(),
                            to: "preprod.example.com".into(),
                            source: Some("NAME".into()),
                        },
                    },
                )]),
                if_exists: false,
            }),
            &[],
        );
        let (sql, _) = drift_query(
            &r,
            cat.get(&name("ossys_parameter")),
            &cat,
            Flavor::SqlServer,
        )
        .unwrap();
        insta::assert_snapshot!(shown(&sql));
    }

    /// Restore statements: missing rows inserted back (identity values kept), modified rows
    /// written back by key; NULL as the keyword; binary values last, or as hex literals on the
    /// embedded engine; only key values are not secret.
    #[test]
    fn restore_statement_shapes() {
        use crate::journal::{RestoreAction, RestoreStep};
        let mut columns = vec![
            col("ID", "int", false),
            col("NAME", "nvarchar", false),
            col("CERT", "varbinary", true),
            col("NOTE", "nvarchar", true),
        ];
        columns[0].identity = true;
        let step = |action| RestoreStep {
            change: id("certs"),
            action,
            table: TableRef {
                schema: "dbo".into(),
                name: "OSSYS_MOBILE_CERTIFICATE".into(),
            },
            columns: columns.clone(),
            primary_key: vec!["ID".into()],
            rows: vec![vec![
                Value::Int(1),
                text("prod"),
                Value::Bytes(vec![0, 0xAB]),
                Value::Null,
            ]],
        };
        let mut out = Vec::new();
        for (action, binary) in [
            (RestoreAction::Reinsert, BinaryValues::Parameters),
            (RestoreAction::Reinsert, BinaryValues::HexLiterals),
            (RestoreAction::Revert, BinaryValues::Parameters),
        ] {
            for s in restore_statements(&step(action), binary, Flavor::SqlServer).unwrap() {
                let secret: Vec<bool> = s.params.iter().map(|p| p.secret).collect();
                out.push(format!("{}\n-- secret: {secret:?}", shown_statement(&s)));
            }
        }
        insta::assert_snapshot!(out.join("\n\n"));
    }

    /// Values of a secret resource are secret parameters; filter values are not.
    #[test]
    fn secret_resource_masks_set_values_only() {
        let cat = catalog();
        let mut r = resource(
            "creds",
            ResourceKind::ColumnValues(ColumnValues {
                table: TableTarget::Name(name("ossys_parameter")),
                filter: vec![Condition {
                    column: "NAME".into(),
                    predicate: Predicate::In(vec![text("k")]),
                }],
                set: BTreeMap::from([("VAL".into(), ColumnValue::Literal(text(" ")))]),
                if_exists: false,
            }),
            &[],
        );
        r.secret = true;
        let (sql, _) = drift_query(
            &r,
            cat.get(&name("ossys_parameter")),
            &cat,
            Flavor::SqlServer,
        )
        .unwrap();
        let secrets: Vec<bool> = sql.params.iter().map(|p| p.secret).collect();
        assert_eq!(secrets, vec![false, true]);
    }

    /// Literals are converted for the column type, and impossible ones are refused.
    #[test]
    fn coercion_by_column_type() {
        assert_eq!(
            coerce(&Value::Int(1), &col("B", "bit", false)),
            Ok(Value::Bool(true))
        );
        assert_eq!(
            coerce(&text("7"), &col("I", "int", false)),
            Ok(Value::Int(7))
        );
        assert_eq!(
            coerce(&Value::Int(7), &col("S", "nvarchar", false)),
            Ok(text("7"))
        );
        assert!(coerce(&Value::Bool(true), &col("S", "nvarchar", false)).is_err());
        assert!(coerce(&Value::Null, &col("S", "nvarchar", false))
            .unwrap_err()
            .contains("NOT NULL"));
        assert!(coerce(&Value::Int(2), &col("B", "bit", false)).is_err());
    }

    /// A column that is not in the catalog is an error, never pasted into SQL.
    #[test]
    fn unknown_column_is_refused() {
        let cat = catalog();
        let r = resource(
            "x",
            ResourceKind::RowsAbsent(RowsAbsent {
                table: TableTarget::Name(name("ossys_parameter")),
                filter: vec![Condition {
                    column: "NAME]; DROP TABLE x; --".into(),
                    predicate: Predicate::In(vec![text("a")]),
                }],
                if_exists: false,
            }),
            &[],
        );
        let err = drift_query(
            &r,
            cat.get(&name("ossys_parameter")),
            &cat,
            Flavor::SqlServer,
        )
        .unwrap_err();
        assert!(err.contains("is not in table"), "{err}");
    }
}
