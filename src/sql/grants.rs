//! Revoking the object privileges the clone's users hold on production's schemas (Oracle,
//! when the clone was imported into the instance it was exported from).

use super::ident::{QuoteStyle, QuotedIdent};
use super::Error;
use crate::state::observed::{Grant, TableRef};

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

/// `REVOKE privilege ON "OWNER"."OBJECT" FROM "GRANTEE"`, one per privilege.
///
/// # Errors
/// A privilege that is not one of Oracle's object privileges.
pub fn revoke(grants: &[Grant]) -> Result<Vec<String>, Error> {
    grants
        .iter()
        .map(|g| {
            let privilege = PRIVILEGES
                .iter()
                .find(|p| p.eq_ignore_ascii_case(&g.privilege))
                .ok_or_else(|| Error::UnknownPrivilege {
                    privilege: g.privilege.clone(),
                })?;
            let object = QuotedIdent::table(
                &TableRef {
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

#[cfg(test)]
mod tests {
    use super::*;

    /// One statement per privilege, only when the catalog's privilege is one Oracle names.
    #[test]
    fn revoke_grants() {
        let grant = |privilege: &str| Grant {
            grantee: "OSRUNTIME_PP".into(),
            owner: "OSADMIN".into(),
            object: "OSSYS_PARAMETER".into(),
            privilege: privilege.into(),
        };
        assert_eq!(
            revoke(&[grant("SELECT"), grant("on commit refresh")]).unwrap(),
            [
                "REVOKE SELECT ON \"OSADMIN\".\"OSSYS_PARAMETER\" FROM \"OSRUNTIME_PP\"",
                "REVOKE ON COMMIT REFRESH ON \"OSADMIN\".\"OSSYS_PARAMETER\" FROM \"OSRUNTIME_PP\""
            ]
        );
        assert!(matches!(
            revoke(&[grant("SELECT ON X TO PUBLIC; --")]),
            Err(Error::UnknownPrivilege { .. })
        ));
    }
}
