//! Dropping the database users restored with a clone (SQL Server): `ALTER AUTHORIZATION` for
//! everything they own, `DROP SCHEMA` for their empty schemas, then `DROP USER`. SQL Server
//! refuses to drop a user who still owns anything.

use super::ident::{QuoteStyle, QuotedIdent};
use crate::state::observed::Principal;

/// The statements, in order, that hand over what `principals` own and drop them.
#[must_use]
pub fn drop_principals(principals: &[Principal], new_owner: &str) -> Vec<String> {
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::state::observed::{OwnedObject, OwnedSchema};

    /// Restored users: what they own is handed over, empty schemas dropped, then the users.
    /// The embedded engine has no CREATE USER, so this SQL is checked here, not executed.
    #[test]
    fn drop_principals_statements() {
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
        // Statements without values: each is shown with its (empty) parameter list.
        let shown: Vec<String> = drop_principals(&principals, "dbo")
            .iter()
            .map(|s| format!("{s}\n-- params: []"))
            .collect();
        insta::assert_snapshot!(shown.join("\n"));
    }
}
