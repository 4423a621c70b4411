//! The catalog queries of each flavor: the tables the spec names, their columns, keys,
//! indexes and triggers, and the principals and privileges some resources are about. Each is
//! a `.sql` file beside this one (`catalog/sqlserver/`, `catalog/oracle/`), with `/*names*/`
//! and `/*owner*/` where parameters go.

use super::{Flavor, Param, Sql};
use crate::state::Value;

/// An engine's catalog queries. `/*owner*/` stands for the schema the platform lives in
/// (Oracle) and `/*names*/` for the upper-cased table names the spec uses; both become
/// parameters.
#[derive(Debug, Clone)]
pub struct CatalogQueries {
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
    /// Schema and name of every table (what the copies scan reads).
    pub all_tables: &'static str,
    /// The principal queries (SQL Server's restored database users).
    pub principals: Option<PrincipalQueries>,
    /// Grantee, owner, object, privilege of the object privileges `/*grantees*/` hold on
    /// objects of `/*owners*/` (Oracle).
    pub grants: Option<&'static str>,
}

/// Queries for `principals_absent`.
#[derive(Debug, Clone, Copy)]
pub struct PrincipalQueries {
    /// Name and kind of the principals named.
    pub principals: &'static str,
    /// Owner, schema, object count of the schemas they own.
    pub owned_schemas: &'static str,
    /// Owner, schema, name, kind of the objects they own.
    pub owned_objects: &'static str,
    /// Owner and name of the roles they own.
    pub owned_roles: &'static str,
}

impl CatalogQueries {
    /// SQL Server's catalog: `INFORMATION_SCHEMA` and `sys` views, every schema of the database.
    #[must_use]
    pub fn sqlserver() -> CatalogQueries {
        CatalogQueries {
            flavor: Flavor::SqlServer,
            owner: None,
            tables: include_str!("catalog/sqlserver/tables.sql"),
            columns: include_str!("catalog/sqlserver/columns.sql"),
            identity_columns: include_str!("catalog/sqlserver/identity_columns.sql"),
            primary_keys: include_str!("catalog/sqlserver/primary_keys.sql"),
            foreign_keys: include_str!("catalog/sqlserver/foreign_keys.sql"),
            unique_indexes: include_str!("catalog/sqlserver/unique_indexes.sql"),
            triggers: include_str!("catalog/sqlserver/triggers.sql"),
            all_tables: include_str!("catalog/sqlserver/all_tables.sql"),
            principals: Some(PrincipalQueries {
                principals: include_str!("catalog/sqlserver/principals.sql"),
                owned_schemas: include_str!("catalog/sqlserver/owned_schemas.sql"),
                owned_objects: include_str!("catalog/sqlserver/owned_objects.sql"),
                owned_roles: include_str!("catalog/sqlserver/owned_roles.sql"),
            }),
            grants: None,
        }
    }

    /// Oracle's catalog: the `ALL_*` views, the owner (the platform's schema) named.
    #[must_use]
    pub fn oracle(owner: &str) -> CatalogQueries {
        CatalogQueries {
            flavor: Flavor::Oracle,
            owner: Some(owner.to_string()),
            tables: include_str!("catalog/oracle/tables.sql"),
            columns: include_str!("catalog/oracle/columns.sql"),
            identity_columns: include_str!("catalog/oracle/identity_columns.sql"),
            primary_keys: include_str!("catalog/oracle/primary_keys.sql"),
            foreign_keys: include_str!("catalog/oracle/foreign_keys.sql"),
            unique_indexes: include_str!("catalog/oracle/unique_indexes.sql"),
            triggers: include_str!("catalog/oracle/triggers.sql"),
            all_tables: include_str!("catalog/oracle/all_tables.sql"),
            principals: None,
            grants: Some(include_str!("catalog/oracle/grants.sql")),
        }
    }

    /// The queries of `flavor`; `owner` is the schema Oracle's name (ignored on SQL Server).
    #[must_use]
    pub fn of(flavor: Flavor, owner: Option<&str>) -> CatalogQueries {
        match flavor {
            Flavor::SqlServer => CatalogQueries::sqlserver(),
            Flavor::Oracle => CatalogQueries::oracle(owner.unwrap_or_default()),
        }
    }
}

/// A catalog query with each `/*owner*/` bound to the owner and each `/*names*/` to the
/// upper-cased names, parameters numbered in the order they appear.
pub fn with_names(text: &str, flavor: Flavor, owner: Option<&str>, names: &[String]) -> Sql {
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
}
