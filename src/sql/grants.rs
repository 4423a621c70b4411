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
            let (object, grantee) = quoted(g);
            Ok(format!("REVOKE {privilege} ON {object} FROM {grantee}"))
        })
        .collect()
}

/// `GRANT privilege ON "OWNER"."OBJECT" TO "GRANTEE"`: what gives a revoked privilege back,
/// shown for an administrator to run by hand (restore does not grant). Names are quoted as
/// the revoke quoted them, so that a name with a quote or a space is still one name; a
/// privilege Oracle does not name is shown as the catalog gave it.
#[must_use]
pub fn grant_again(g: &Grant) -> String {
    let privilege = PRIVILEGES
        .iter()
        .find(|p| p.eq_ignore_ascii_case(&g.privilege))
        .map_or(g.privilege.as_str(), |p| p);
    let (object, grantee) = quoted(g);
    format!("GRANT {privilege} ON {object} TO {grantee}")
}

/// The object and the grantee of `g`, quoted as Oracle reads them.
fn quoted(g: &Grant) -> (QuotedIdent, QuotedIdent) {
    let object = QuotedIdent::table(
        &TableRef {
            schema: g.owner.clone(),
            name: g.object.clone(),
        },
        QuoteStyle::DoubleQuotes,
    );
    let grantee = QuotedIdent::principal(&g.grantee, QuoteStyle::DoubleQuotes);
    (object, grantee)
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

    /// What restore shows to grant a revoked privilege back quotes each name, so that a name
    /// with a quote or a space is pasted as one name.
    #[test]
    fn grants_shown_again_quote_their_names() {
        let g = Grant {
            grantee: "OSRUNTIME PP".into(),
            owner: "OSADMIN".into(),
            object: "X\"; DROP USER Y; --".into(),
            privilege: "select".into(),
        };
        assert_eq!(
            grant_again(&g),
            "GRANT SELECT ON \"OSADMIN\".\"X\"\"; DROP USER Y; --\" TO \"OSRUNTIME PP\""
        );
    }
}
