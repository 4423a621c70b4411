//! Values read from a related row: as a correlated subquery, or, where the related table is
//! matched by its whole primary key on SQL Server, as an inner join (one row at most per row,
//! read once; the embedded engine runs a correlated subquery again for every row).

use super::ident::QuotedIdent;
use super::writer::Writer;
use super::{Error, Flavor, T};
use crate::state::desired::Lookup;
use crate::state::observed::{ColumnInfo, TableInfo};

impl Writer<'_> {
    /// `FROM lookup AS sN WHERE sN.a = t.b AND ...`, the looked-up column, and its catalog
    /// entry.
    pub(super) fn lookup(
        &mut self,
        table: &TableInfo,
        lookup: &Lookup,
    ) -> Result<(String, String, ColumnInfo), Error> {
        let (other, alias, value, info, on) = self.lookup_parts(table, lookup)?;
        Ok((
            format!(
                "FROM {}{} WHERE {}",
                QuotedIdent::table(&other.table, self.flavor.quote()),
                self.flavor.alias(&alias),
                on.join(" AND ")
            ),
            value,
            info,
        ))
    }

    /// ` INNER JOIN lookup AS sN ON sN.key = t.column ...`, the looked-up column and its
    /// catalog entry, when the lookup matches the other table's whole primary key on SQL
    /// Server; `None` otherwise (a subquery is then the faithful form: Oracle updates no join,
    /// and a lookup by other columns may match several rows).
    pub(super) fn lookup_join(
        &mut self,
        table: &TableInfo,
        lookup: &Lookup,
    ) -> Result<Option<(String, String, ColumnInfo)>, Error> {
        let other = self.table(&lookup.table)?;
        let by_key = !other.primary_key.is_empty()
            && other.primary_key.len() == lookup.on.len()
            && other.primary_key.iter().all(|k| {
                lookup
                    .on
                    .keys()
                    .any(|theirs| theirs.eq_ignore_ascii_case(k))
            });
        if self.flavor != Flavor::SqlServer || !by_key {
            return Ok(None);
        }
        let (other, alias, value, info, on) = self.lookup_parts(table, lookup)?;
        Ok(Some((
            format!(
                " INNER JOIN {}{} ON {}",
                QuotedIdent::table(&other.table, self.flavor.quote()),
                self.flavor.alias(&alias),
                on.join(" AND ")
            ),
            value,
            info,
        )))
    }

    #[allow(clippy::type_complexity)]
    fn lookup_parts(
        &mut self,
        table: &TableInfo,
        lookup: &Lookup,
    ) -> Result<(TableInfo, String, String, ColumnInfo, Vec<String>), Error> {
        let other = self.table(&lookup.table)?.clone();
        let alias = self.alias();
        let value = self.col(Some(&alias), &other, &lookup.column)?;
        let info = Self::column(&other, &lookup.column)?.clone();
        let mut on = Vec::new();
        for (theirs, ours) in &lookup.on {
            on.push(format!(
                "{} = {}",
                self.col(Some(&alias), &other, theirs)?,
                self.col(Some(T), table, ours)?
            ));
        }
        if on.is_empty() {
            return Err(Error::EmptyLookup {
                table: lookup.table.to_string(),
            });
        }
        Ok((other, alias, value, info, on))
    }
}
