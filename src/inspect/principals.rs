//! The database principals and privileges that `principals_absent` and `grants_absent` are
//! about, read from the catalog views (their owned schemas, objects and roles included).

use super::text;
use super::Error;
use crate::engine::Reader;
use crate::sql::Param;
use crate::sql::{with_names, CatalogQueries};
use crate::sql::{Flavor, Sql};
use crate::state::desired::Inspected;
use crate::state::desired::{GrantsAbsent, PrincipalsAbsent, Resource};
use crate::state::observed::{Grant, ObservedResource, OwnedObject, OwnedSchema, Principal};
use crate::state::Value;

/// The privileges a `grants_absent` resource forbids that exist, in the catalog's order.
pub(super) async fn grants<R: Reader>(
    client: &mut R,
    flavor: Flavor,
    query: &str,
    resource: &Resource<Inspected>,
    spec: &GrantsAbsent,
) -> Result<ObservedResource, Error> {
    let mut params = Vec::new();
    let mut list = |names: &[String]| -> String {
        names
            .iter()
            .map(|n| {
                params.push(Param::new(Value::Text(n.to_uppercase()), false));
                flavor.marker(params.len())
            })
            .collect::<Vec<_>>()
            .join(", ")
    };
    let grantees = list(&spec.grantees);
    let owners = list(&spec.owners);
    let sql = Sql {
        text: query
            .replace("/*grantees*/", &grantees)
            .replace("/*owners*/", &owners),
        params,
    };
    let context = format!("reading the privileges of resource {}", resource.id);
    let found = client
        .rows(&sql, &context)
        .await?
        .into_iter()
        .map(|r| Grant {
            grantee: text(&r, 0),
            owner: text(&r, 1),
            object: text(&r, 2),
            privilege: text(&r, 3),
        })
        .collect();
    Ok(ObservedResource::Grants {
        id: resource.id.clone(),
        found,
    })
}

/// The principals a `principals_absent` resource lists that exist, with what they own. The
/// ownership queries only run when one exists.
pub(super) async fn principals<R: Reader>(
    client: &mut R,
    queries: &CatalogQueries,
    resource: &Resource<Inspected>,
    spec: &PrincipalsAbsent,
) -> Result<ObservedResource, Error> {
    let context = format!("reading the principals of resource {}", resource.id);
    let Some(q) = queries.principals else {
        return Err(Error::resource(resource, "principals_absent is for SQL Server; on Oracle the platform's users are the schemas the import created"));
    };
    let run = |text: &str, names: &[String]| {
        with_names(text, queries.flavor, queries.owner.as_deref(), names)
    };
    let mut names = spec.names.clone();
    names.push(spec.new_owner.clone());
    let listed = client.rows(&run(q.principals, &names), &context).await?;
    let Some(new_owner) = listed
        .iter()
        .map(|r| text(r, 0))
        .find(|n| n.eq_ignore_ascii_case(&spec.new_owner))
    else {
        return Err(Error::resource(
            resource,
            format!(
                "the new owner {} is not a database principal",
                spec.new_owner
            ),
        ));
    };
    let mut found: Vec<Principal> = listed
        .iter()
        .filter(|r| {
            let name = text(r, 0);
            !name.eq_ignore_ascii_case(&new_owner)
                && spec.names.iter().any(|n| n.eq_ignore_ascii_case(&name))
        })
        .map(|r| Principal {
            name: text(r, 0),
            kind: text(r, 1),
            schemas: vec![],
            objects: vec![],
            roles: vec![],
        })
        .collect();
    if !found.is_empty() {
        let present: Vec<String> = found.iter().map(|p| p.name.clone()).collect();
        let owner_of = |found: &mut Vec<Principal>, name: &str| -> Option<usize> {
            found.iter().position(|p| p.name == name)
        };
        for r in client
            .rows(&run(q.owned_schemas, &present), &context)
            .await?
        {
            if let Some(i) = owner_of(&mut found, &text(&r, 0)) {
                let objects = match r.get(2) {
                    Some(Value::Int(n)) => u64::try_from(*n).unwrap_or(0),
                    _ => 0,
                };
                found[i].schemas.push(OwnedSchema {
                    name: text(&r, 1),
                    objects,
                });
            }
        }
        for r in client
            .rows(&run(q.owned_objects, &present), &context)
            .await?
        {
            if let Some(i) = owner_of(&mut found, &text(&r, 0)) {
                found[i].objects.push(OwnedObject {
                    schema: text(&r, 1),
                    name: text(&r, 2),
                    kind: text(&r, 3),
                });
            }
        }
        for r in client.rows(&run(q.owned_roles, &present), &context).await? {
            if let Some(i) = owner_of(&mut found, &text(&r, 0)) {
                found[i].roles.push(text(&r, 1));
            }
        }
    }
    Ok(ObservedResource::Principals {
        id: resource.id.clone(),
        found,
        new_owner,
    })
}
