//! Reading the catalog: the tables the spec names, their columns (with types and whether their
//! values are long), identity columns, primary keys and foreign keys, each read once per plan
//! for every table named.

use super::{text, Reader};
use crate::engine::sql::{Flavor, Sql};
use crate::engine::{Error, Param};
use crate::state::desired::TableName;
use crate::state::observed::{
    Catalog, ColumnInfo, ForeignKey, ResolvedTable, TableInfo, TableRef, UniqueIndex,
};
use crate::state::Value;

/// An engine's catalog queries. `/*owner*/` stands for the schema the platform lives in
/// (Oracle) and `/*names*/` for the upper-cased table names the spec uses; both become
/// parameters.
#[derive(Debug, Clone)]
pub(crate) struct CatalogQueries {
    /// How parameters are written.
    pub flavor: Flavor,
    /// The schema holding the platform's tables, when the engine needs it named.
    pub owner: Option<String>,
    /// Schema and name of the base tables named.
    pub tables: &'static str,
    /// Schema, table, column, type, nullability (`YES`/`Y`), maximum length (`-1` for
    /// `(MAX)`), numeric precision and scale, in ordinal order.
    pub columns: &'static str,
    /// Schema, table, column of identity columns.
    pub identity_columns: &'static str,
    /// Schema, table, column of primary keys, in key order.
    pub primary_keys: &'static str,
    /// Name, from schema, from table, to schema, to table of foreign keys.
    pub foreign_keys: &'static str,
    /// Schema, table, index, column, position of unique indexes' columns, in key order.
    pub unique_indexes: &'static str,
    /// Schema, table, trigger of the tables' triggers.
    pub triggers: &'static str,
    /// The principal queries (SQL Server's restored database users).
    pub principals: Option<super::PrincipalQueries>,
    /// Grantee, owner, object, privilege of the object privileges `/*grantees*/` hold on
    /// objects of `/*owners*/` (Oracle).
    pub grants: Option<&'static str>,
}

/// What the catalog queries returned.
#[derive(Debug, Default)]
pub(super) struct CatalogRows {
    pub(super) tables: Vec<TableRef>,
    pub(super) columns: Vec<(TableRef, ColumnInfo)>,
    pub(super) primary_keys: Vec<(TableRef, String)>,
    pub(super) foreign_keys: Vec<ForeignKey>,
    pub(super) unique_indexes: Vec<(TableRef, UniqueIndex)>,
    pub(super) triggers: Vec<(TableRef, String)>,
}

impl CatalogRows {
    /// Adds what another read of other tables returned. A foreign key between a table of each
    /// read is in both.
    pub(super) fn merge(&mut self, other: CatalogRows) {
        self.tables.extend(other.tables);
        self.columns.extend(other.columns);
        self.primary_keys.extend(other.primary_keys);
        self.unique_indexes.extend(other.unique_indexes);
        self.triggers.extend(other.triggers);
        for fk in other.foreign_keys {
            if !self.foreign_keys.contains(&fk) {
                self.foreign_keys.push(fk);
            }
        }
    }
}

/// A catalog query with each `/*owner*/` bound to the owner and each `/*names*/` to the
/// upper-cased names, parameters numbered in the order they appear.
pub(super) fn with_names(text: &str, flavor: Flavor, owner: Option<&str>, names: &[String]) -> Sql {
    let mut out = String::with_capacity(text.len());
    let mut params = Vec::new();
    let bind = |value: String, params: &mut Vec<Param>| {
        params.push(Param::new(Value::Text(value), false));
        flavor.marker(params.len())
    };
    let mut rest = text;
    loop {
        let owner_at = rest.find("/*owner*/");
        let names_at = rest.find("/*names*/");
        let next = match (owner_at, names_at) {
            (Some(o), Some(n)) => Some((o.min(n), o < n)),
            (Some(o), None) => Some((o, true)),
            (None, Some(n)) => Some((n, false)),
            (None, None) => None,
        };
        let Some((at, is_owner)) = next else {
            out.push_str(rest);
            break;
        };
        out.push_str(&rest[..at]);
        if is_owner {
            out.push_str(&bind(owner.unwrap_or_default().to_uppercase(), &mut params));
        } else {
            let markers: Vec<String> = names
                .iter()
                .map(|n| bind(n.to_uppercase(), &mut params))
                .collect();
            out.push_str(&markers.join(", "));
        }
        let placeholder = if is_owner { "/*owner*/" } else { "/*names*/" };
        rest = &rest[at + placeholder.len()..];
    }
    Sql { text: out, params }
}

/// Whether a column's values have no declared bound: SQL Server reports `(MAX)` as a maximum
/// length of -1 (the embedded engine as 65,535, more than any bounded SQL Server type takes);
/// the deprecated `text`, `ntext` and `image` and Oracle's LOBs are long by type.
fn long(data_type: &str, max_length: Option<&Value>) -> bool {
    let by_type = matches!(
        data_type,
        "text" | "ntext" | "image" | "xml" | "clob" | "nclob" | "blob" | "long" | "long raw"
    );
    let by_length = match max_length {
        Some(Value::Int(n)) => *n == -1 || *n > 8_000,
        _ => false,
    };
    by_type || by_length
}

/// What a catalog read covers besides the tables' shape (columns, identity, keys).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Extent {
    /// The shape only: all a plan without masking needs.
    Shape,
    /// The shape, and the unique indexes and triggers that masking checks at plan time; two
    /// more queries, each among the slowest of the catalog's.
    WithMasking,
}

impl Extent {
    /// What `desired` needs read.
    pub(super) fn of(desired: &crate::state::desired::Desired) -> Self {
        let masks = desired
            .resources
            .iter()
            .any(|r| matches!(r.kind, crate::state::desired::ResourceKind::Masked(_)));
        if masks {
            Self::WithMasking
        } else {
            Self::Shape
        }
    }
}

/// Reads the catalog of the tables `names`, as far as `extent` asks.
pub(super) async fn read<R: Reader>(
    client: &mut R,
    queries: &CatalogQueries,
    names: &[TableName],
    extent: Extent,
) -> Result<CatalogRows, Error> {
    if names.is_empty() {
        return Ok(CatalogRows::default());
    }
    let names: Vec<String> = names.iter().map(|n| n.name.clone()).collect();
    let run = |text: &str| with_names(text, queries.flavor, queries.owner.as_deref(), &names);
    let mut out = CatalogRows::default();
    for row in client
        .rows(&run(queries.tables), "reading the table catalog")
        .await?
    {
        out.tables.push(table_ref(&row, 0));
    }
    for row in client
        .rows(&run(queries.columns), "reading the column catalog")
        .await?
    {
        let data_type = text(&row, 3).to_lowercase();
        out.columns.push((
            table_ref(&row, 0),
            ColumnInfo {
                name: text(&row, 2),
                long: long(&data_type, row.get(5)),
                data_type,
                nullable: matches!(text(&row, 4).to_ascii_uppercase().as_str(), "YES" | "Y"),
                identity: false,
                widest: None,
                max_length: match row.get(5) {
                    Some(Value::Int(n)) if *n > 0 && *n <= 8_000 => u64::try_from(*n).ok(),
                    _ => None,
                },
                precision: digits(row.get(6)),
                scale: digits(row.get(7)),
            },
        ));
    }
    for row in client
        .rows(&run(queries.identity_columns), "reading identity columns")
        .await?
    {
        let table = table_ref(&row, 0);
        let name = text(&row, 2);
        if let Some((_, column)) = out
            .columns
            .iter_mut()
            .find(|(t, c)| *t == table && c.name == name)
        {
            column.identity = true;
        }
    }
    for row in client
        .rows(&run(queries.primary_keys), "reading primary keys")
        .await?
    {
        out.primary_keys.push((table_ref(&row, 0), text(&row, 2)));
    }
    for row in client
        .rows(&run(queries.foreign_keys), "reading foreign keys")
        .await?
    {
        out.foreign_keys.push(ForeignKey {
            name: text(&row, 0),
            from: table_ref(&row, 1),
            to: table_ref(&row, 3),
        });
    }
    if extent == Extent::Shape {
        return Ok(out);
    }
    for row in client
        .rows(&run(queries.unique_indexes), "reading unique indexes")
        .await?
    {
        let table = table_ref(&row, 0);
        let (name, column) = (text(&row, 2), text(&row, 3));
        match out
            .unique_indexes
            .iter_mut()
            .find(|(t, i)| *t == table && i.name == name)
        {
            Some((_, index)) => index.columns.push(column),
            None => out.unique_indexes.push((
                table,
                UniqueIndex {
                    name,
                    columns: vec![column],
                },
            )),
        }
    }
    for row in client
        .rows(&run(queries.triggers), "reading triggers")
        .await?
    {
        out.triggers.push((table_ref(&row, 0), text(&row, 2)));
    }
    Ok(out)
}

/// A precision or scale the catalog reports (a number from 0 to 38; anything else is unknown).
fn digits(cell: Option<&Value>) -> Option<u32> {
    match cell {
        Some(Value::Int(n)) => u32::try_from(*n).ok().filter(|n| *n <= 38),
        Some(Value::Text(t)) => t.trim().parse().ok().filter(|n| *n <= 38),
        _ => None,
    }
}

fn table_ref(row: &[Value], at: usize) -> TableRef {
    TableRef {
        schema: text(row, at),
        name: text(row, at + 1),
    }
}

/// Matches each requested name to one catalog table (case-insensitively, schema if given).
pub(super) fn resolve_names(names: &[TableName], rows: &CatalogRows) -> Catalog {
    let mut tables = Vec::new();
    for name in names {
        let candidates: Vec<&TableRef> = rows
            .tables
            .iter()
            .filter(|t| t.name.eq_ignore_ascii_case(&name.name))
            .filter(|t| {
                name.schema
                    .as_ref()
                    .is_none_or(|s| t.schema.eq_ignore_ascii_case(s))
            })
            .collect();
        if let [table] = candidates.as_slice() {
            let table = (*table).clone();
            let columns = rows
                .columns
                .iter()
                .filter(|(t, _)| *t == table)
                .map(|(_, c)| c.clone())
                .collect();
            let primary_key = rows
                .primary_keys
                .iter()
                .filter(|(t, _)| *t == table)
                .map(|(_, c)| c.clone())
                .collect();
            tables.push(ResolvedTable {
                requested: name.clone(),
                info: TableInfo {
                    table,
                    columns,
                    primary_key,
                },
            });
        }
    }
    let found = |t: &TableRef| tables.iter().any(|r: &ResolvedTable| r.info.table == *t);
    let unique_indexes = rows
        .unique_indexes
        .iter()
        .filter(|(t, _)| found(t))
        .cloned()
        .collect();
    let triggers = rows
        .triggers
        .iter()
        .filter(|(t, _)| found(t))
        .cloned()
        .collect();
    Catalog {
        tables,
        subselects: Vec::new(),
        unique_indexes,
        triggers,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The owner and each list of names become parameters in order of appearance, a list
    /// used twice gets markers of its own each time (Oracle binds occurrences), and names are
    /// upper-cased.
    #[test]
    fn catalog_query_binding() {
        let sql = with_names(
            "WHERE f.OWNER = /*owner*/ AND (f.T IN (/*names*/) OR p.T IN (/*names*/))",
            Flavor::Oracle,
            Some("osadmin_pp"),
            &["ossys_server".to_string(), "Ossys_Parameter".to_string()],
        );
        assert_eq!(
            sql.text,
            "WHERE f.OWNER = :p1 AND (f.T IN (:p2, :p3) OR p.T IN (:p4, :p5))"
        );
        let values: Vec<String> = sql.params.iter().map(|p| p.value.to_string()).collect();
        assert_eq!(
            values,
            [
                "\"OSADMIN_PP\"",
                "\"OSSYS_SERVER\"",
                "\"OSSYS_PARAMETER\"",
                "\"OSSYS_SERVER\"",
                "\"OSSYS_PARAMETER\""
            ]
        );
        let sqlserver = with_names("IN (/*names*/)", Flavor::SqlServer, None, &["a".into()]);
        assert_eq!(sqlserver.text, "IN (@P1)");
    }

    fn t(schema: &str, name: &str) -> TableRef {
        TableRef {
            schema: schema.into(),
            name: name.into(),
        }
    }

    /// Names resolve case-insensitively; an ambiguous or missing name stays unresolved.
    #[test]
    fn resolution() {
        let rows = CatalogRows {
            tables: vec![t("dbo", "OSSYS_SERVER"), t("dbo", "X"), t("app", "X")],
            columns: vec![(
                t("dbo", "OSSYS_SERVER"),
                ColumnInfo::new("NAME", "nvarchar", false),
            )],
            primary_keys: vec![],
            foreign_keys: vec![],
            unique_indexes: vec![],
            triggers: vec![],
        };
        let name = |s: &str| TableName::try_from(s.to_string()).unwrap();
        let catalog = resolve_names(
            &[name("ossys_server"), name("x"), name("app.x"), name("nope")],
            &rows,
        );
        assert_eq!(catalog.get(&name("ossys_server")).unwrap().columns.len(), 1);
        assert!(
            catalog.get(&name("x")).is_none(),
            "ambiguous without a schema"
        );
        assert_eq!(catalog.get(&name("app.x")).unwrap().table, t("app", "X"));
        assert!(catalog.get(&name("nope")).is_none());
        // Any spelling of a resolved name is the same table. See: issue 21
        assert_eq!(catalog.get(&name("OSSYS_Server")).unwrap().columns.len(), 1);
        assert_eq!(
            catalog.resolve(&name("DBO.ossys_SERVER")),
            Some(&t("dbo", "OSSYS_SERVER"))
        );
        assert!(catalog.same_table(&name("Ossys_Server"), &name("dbo.OSSYS_SERVER")));
        assert!(catalog.get(&name("APP.X")).is_some());
        assert!(!catalog.same_table(&name("x"), &name("app.x")));
    }

    /// (MAX) is -1 on SQL Server and 65,535 on the embedded engine; LOBs are long by type.
    #[test]
    fn long_columns() {
        assert!(long("nvarchar", Some(&Value::Int(-1))));
        assert!(long("varbinary", Some(&Value::Int(65_535))));
        assert!(!long("nvarchar", Some(&Value::Int(4_000))));
        assert!(!long("varchar", Some(&Value::Int(8_000))));
        assert!(!long("int", None));
        assert!(long("clob", None));
        assert!(long("ntext", Some(&Value::Int(1_073_741_823))));
    }
}
