//! Reading the catalog: the tables the spec names, their columns (with types and whether their
//! values are long), identity columns, primary keys and foreign keys, each read once per plan
//! for every table named.

use std::collections::{HashMap, HashSet};

use super::text;
use super::Error;
use crate::engine::Reader;
use crate::sql::{with_names, CatalogQueries};
use crate::state::desired::TableName;
use crate::state::observed::{
    Catalog, ColumnInfo, ForeignKey, ResolvedTable, TableInfo, TableRef, UniqueIndex,
};
use crate::state::Value;

/// What the catalog queries returned.
#[derive(Debug, Default, Clone)]
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

impl CatalogRows {
    /// What a read of `names` (upper case, as the queries match them) as far as `extent`
    /// returns of these rows: their tables' entries, and the foreign keys from or to them.
    fn only(&self, names: &HashSet<String>, extent: Extent) -> CatalogRows {
        let named = |t: &TableRef| names.contains(&t.name.to_uppercase());
        let masking = extent == Extent::WithMasking;
        CatalogRows {
            tables: self.tables.iter().filter(|t| named(t)).cloned().collect(),
            columns: self
                .columns
                .iter()
                .filter(|(t, _)| named(t))
                .cloned()
                .collect(),
            primary_keys: self
                .primary_keys
                .iter()
                .filter(|(t, _)| named(t))
                .cloned()
                .collect(),
            foreign_keys: self
                .foreign_keys
                .iter()
                .filter(|fk| named(&fk.from) || named(&fk.to))
                .cloned()
                .collect(),
            unique_indexes: self
                .unique_indexes
                .iter()
                .filter(|(t, _)| masking && named(t))
                .cloned()
                .collect(),
            triggers: self
                .triggers
                .iter()
                .filter(|(t, _)| masking && named(t))
                .cloned()
                .collect(),
        }
    }

    /// These rows without the entries of the tables `names` names (their foreign keys stay:
    /// a later read returns them again, and merging keeps each once).
    fn without(&mut self, names: &HashSet<String>) {
        let named = |t: &TableRef| names.contains(&t.name.to_uppercase());
        self.tables.retain(|t| !named(t));
        self.columns.retain(|(t, _)| !named(t));
        self.primary_keys.retain(|(t, _)| !named(t));
        self.unique_indexes.retain(|(t, _)| !named(t));
        self.triggers.retain(|(t, _)| !named(t));
    }
}

/// The catalog one command has read of its database, kept for the command's run: planning, the
/// check inside the apply's transaction and the check after it ask for the same tables, and
/// their shape does not change under postclone (it changes no table's definition). Only a name
/// read before, as far as asked, is answered from here; anything else is read again.
#[derive(Debug, Default)]
pub struct CatalogCache {
    /// Names read (upper case), and how far.
    read: HashMap<String, Extent>,
    rows: CatalogRows,
}

impl CatalogCache {
    fn answer(&self, names: &HashSet<String>, extent: Extent) -> Option<CatalogRows> {
        names
            .iter()
            .all(|n| {
                self.read
                    .get(n)
                    .is_some_and(|kept| *kept == Extent::WithMasking || extent == Extent::Shape)
            })
            .then(|| self.rows.only(names, extent))
    }

    fn keep(&mut self, names: &HashSet<String>, extent: Extent, rows: &CatalogRows) {
        self.rows.without(names);
        self.rows.merge(rows.clone());
        for n in names {
            self.read.insert(n.clone(), extent);
        }
    }
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
    pub(super) fn of(
        desired: &crate::state::desired::Desired<crate::state::desired::Inspected>,
    ) -> Self {
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

/// Reads the catalog of the tables `names`, as far as `extent` asks; what `cache` holds of them
/// already is not read again.
pub(super) async fn read<R: Reader>(
    client: &mut R,
    cache: &mut CatalogCache,
    queries: &CatalogQueries,
    names: &[TableName],
    extent: Extent,
) -> Result<CatalogRows, Error> {
    let upper: HashSet<String> = names.iter().map(|n| n.name.to_uppercase()).collect();
    if let Some(kept) = cache.answer(&upper, extent) {
        return Ok(kept);
    }
    let rows = read_unkept(client, queries, names, extent).await?;
    cache.keep(&upper, extent, &rows);
    Ok(rows)
}

/// Reads the catalog of the tables `names`, as far as `extent` asks, and keeps nothing (the
/// copies scan reads every table's, once).
pub(super) async fn read_unkept<R: Reader>(
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
                max_length: match row.get(5) {
                    Some(Value::Int(n)) if *n > 0 && *n <= 8_000 => u64::try_from(*n).ok(),
                    _ => None,
                },
                precision: digits(row.get(6)),
                scale: digits(row.get(7)),
                defaulted: matches!(row.get(8), Some(Value::Int(1))),
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

    /// A connection that answers the tables and foreign keys queries (two tables, a key from
    /// one to the other), nothing else, and counts the queries.
    #[derive(Default)]
    struct Counting {
        queries: usize,
    }

    impl Reader for Counting {
        async fn rows(
            &mut self,
            sql: &crate::sql::Sql,
            _context: &str,
        ) -> Result<Vec<Vec<Value>>, crate::engine::Error> {
            self.queries += 1;
            let text = |s: &str| Value::Text(s.into());
            Ok(if sql.text.contains("INFORMATION_SCHEMA.TABLES") {
                vec![vec![text("dbo"), text("T1")], vec![text("dbo"), text("T2")]]
            } else if sql.text.contains("sys.foreign_keys") {
                vec![vec![
                    text("FK_T2_T1"),
                    text("dbo"),
                    text("T2"),
                    text("dbo"),
                    text("T1"),
                ]]
            } else {
                Vec::new()
            })
        }

        async fn stream(
            &mut self,
            _query: &crate::sql::Select,
            _context: &str,
            _each: &mut crate::engine::RowSink<'_>,
        ) -> Result<u64, crate::engine::Error> {
            Ok(0)
        }

        async fn check(
            &mut self,
            _sql: &crate::sql::Sql,
            _context: &str,
            _each: &mut crate::engine::CheckSink<'_>,
        ) -> Result<u64, crate::engine::Error> {
            Ok(0)
        }
    }

    /// A run reads each table's catalog once: a later read of tables it read (in any
    /// spelling, as far as it read them) sends no query and returns what a fresh read would
    /// (their entries, the foreign keys from or to them); a new table, or more than was read
    /// (unique indexes and triggers), is read again. The copies scan's reads keep nothing.
    #[test]
    fn a_run_reads_each_tables_catalog_once() {
        let name = |s: &str| TableName::try_from(s.to_string()).unwrap();
        let queries = CatalogQueries::of(crate::sql::Flavor::SqlServer, None);
        let mut c = Counting::default();
        let mut cache = CatalogCache::default();
        crate::test_support::block_on(async {
            let all = read(
                &mut c,
                &mut cache,
                &queries,
                &[name("t1"), name("T2")],
                Extent::Shape,
            )
            .await
            .unwrap();
            assert_eq!(all.tables.len(), 2);
            let first = c.queries;
            assert!(first > 0);
            let one = read(
                &mut c,
                &mut cache,
                &queries,
                &[name("dbo.T1")],
                Extent::Shape,
            )
            .await
            .unwrap();
            assert_eq!(c.queries, first, "nothing read again");
            assert_eq!(one.tables, vec![t("dbo", "T1")]);
            assert_eq!(one.foreign_keys.len(), 1, "the key to T1 from T2");
            read(
                &mut c,
                &mut cache,
                &queries,
                &[name("t1")],
                Extent::WithMasking,
            )
            .await
            .unwrap();
            assert!(
                c.queries > first,
                "unique indexes and triggers were not read"
            );
            let after = c.queries;
            read(
                &mut c,
                &mut cache,
                &queries,
                &[name("T3"), name("T1")],
                Extent::Shape,
            )
            .await
            .unwrap();
            assert!(c.queries > after, "T3 was never read");
            let after = c.queries;
            read_unkept(&mut c, &queries, &[name("T4")], Extent::Shape)
                .await
                .unwrap();
            read(&mut c, &mut cache, &queries, &[name("T4")], Extent::Shape)
                .await
                .unwrap();
            assert!(c.queries > after + 1, "the copies scan's read kept T4");
        });
    }
}
