//! What masking needs checked before anything runs: every attribute a rule names is an active
//! attribute of its entity; the personal data no rule covers (attributes of the types the
//! metamodel's declaration calls personal, `personal_types`, and columns of deleted attributes)
//! is reported; the table's triggers are named; and masking gives no two rows the same key in a
//! unique index, checked at plan time with the key.

use crate::state::desired::Inspected;
use std::collections::HashMap;

use super::{CatalogProblem, Error};
use crate::engine::Reader;
use crate::sql::{self, Flavor};
use crate::state::desired::{Desired, Masked, Resource, ResourceKind, Uncovered, ENTITY_ID};
use crate::state::fingerprint::row_digest;
use crate::state::masking::MaskMethod;
use crate::state::observed::{Catalog, MaskingFacts, TableInfo};
use crate::state::Value;

/// The facts of every `masked` resource of `desired`, in order; problems are collected and
/// returned together.
pub(super) async fn check<R: Reader>(
    client: &mut R,
    flavor: Flavor,
    (desired, given): (&Desired<Inspected>, super::Given<'_>),
    catalog: &Catalog,
) -> Result<Vec<MaskingFacts>, Error> {
    let mut facts = Vec::new();
    let mut problems = Vec::new();
    for r in &desired.resources {
        let ResourceKind::Masked(m) = &r.kind else {
            continue;
        };
        let Some(table) = r.kind.table().and_then(|t| catalog.get(t)) else {
            continue;
        };
        let mut found = MaskingFacts {
            id: r.id.clone(),
            uncovered: Vec::new(),
            triggers: catalog
                .triggers
                .iter()
                .filter(|(t, _)| *t == table.table)
                .map(|(_, name)| name.clone())
                .collect(),
            attributes_unchecked: false,
            unique_unchecked: Vec::new(),
        };
        let problem = |message: String| CatalogProblem {
            resource: r.id.clone(),
            origin: r.origin.clone(),
            message,
        };
        if let Some(entity_id) = r
            .labels
            .iter()
            .find(|(k, _)| k == ENTITY_ID)
            .map(|(_, v)| v.clone())
        {
            match attributes(client, flavor, desired, catalog, &entity_id).await? {
                Some(attrs) => {
                    let personal = desired
                        .entities
                        .as_ref()
                        .map_or(&[][..], |e| e.personal_types.as_slice());
                    let (wrong, uncovered) = compare(m, table, &attrs, personal);
                    problems.extend(wrong.into_iter().map(&problem));
                    if m.uncovered == Uncovered::Error && !uncovered.is_empty() {
                        problems.push(problem(format!(
                            "personal data no rule covers ({}); add rules, or `uncovered: report`",
                            uncovered.join("; ")
                        )));
                    }
                    found.uncovered = uncovered;
                }
                None => found.attributes_unchecked = true,
            }
        }
        match given.mask_key {
            Some(key) => {
                for message in collisions(client, flavor, catalog, r, m, table, key).await? {
                    problems.push(problem(message));
                }
            }
            None => {
                found.unique_unchecked = unique_indexes(catalog, m, table)
                    .map(|i| i.name.clone())
                    .collect();
            }
        }
        facts.push(found);
    }
    if problems.is_empty() {
        Ok(facts)
    } else {
        Err(Error::Catalog { problems })
    }
}

/// One attribute of the metamodel.
struct Attribute {
    name: String,
    data_type: String,
    active: bool,
}

/// The entity's attributes, when the metamodel says where they are.
async fn attributes<R: Reader>(
    client: &mut R,
    flavor: Flavor,
    desired: &Desired<Inspected>,
    catalog: &Catalog,
    entity_id: &str,
) -> Result<Option<Vec<Attribute>>, Error> {
    let Some(entities) = &desired.entities else {
        return Ok(None);
    };
    let Ok(select) = sql::attributes_query(&entities.attributes, entity_id, catalog, flavor) else {
        return Ok(None);
    };
    let mut out = Vec::new();
    client
        .stream(&select, "reading the entity's attributes", &mut |row| {
            let mut cells = row.into_iter();
            let text = |v: Option<Value>| match v {
                Some(Value::Text(t)) => t.trim().to_string(),
                Some(other) if !other.is_null() => other.to_string(),
                _ => String::new(),
            };
            let name = text(cells.next());
            let data_type = text(cells.next());
            let active = matches!(cells.next(), Some(Value::Int(1) | Value::Bool(true)));
            out.push(Attribute {
                name,
                data_type,
                active,
            });
            Ok(())
        })
        .await?;
    Ok(Some(out))
}

/// Rules naming no active attribute (problems), and personal data no rule covers: attributes
/// of a type the metamodel's declaration calls personal (`personal_types`), and columns of
/// deleted attributes.
fn compare(
    m: &Masked,
    table: &TableInfo,
    attrs: &[Attribute],
    personal_types: &[String],
) -> (Vec<String>, Vec<String>) {
    let personal = |data_type: &str| {
        personal_types
            .iter()
            .any(|t| t.eq_ignore_ascii_case(data_type))
    };
    let ruled = |name: &str| m.attributes.keys().any(|k| k.eq_ignore_ascii_case(name));
    let mut wrong = Vec::new();
    for name in m.attributes.keys() {
        if !attrs
            .iter()
            .any(|a| a.active && a.name.eq_ignore_ascii_case(name))
        {
            wrong.push(format!(
                "{name} is not an active attribute of entity {} of module {}",
                m.entity.as_deref().unwrap_or("?"),
                m.module.as_deref().unwrap_or("?")
            ));
        }
    }
    let mut uncovered = Vec::new();
    for a in attrs.iter().filter(|a| !ruled(&a.name)) {
        let column = table.column(&a.name);
        if a.active && personal(&a.data_type) {
            uncovered.push(format!("attribute {} ({})", a.name, a.data_type));
        } else if !a.active && column.is_some() {
            uncovered.push(format!(
                "column {} of a deleted attribute still in the table",
                column.map_or(a.name.as_str(), |c| c.name.as_str())
            ));
        }
    }
    (wrong, uncovered)
}

/// The table's unique indexes that hold a masked column.
fn unique_indexes<'a>(
    catalog: &'a Catalog,
    m: &'a Masked,
    table: &'a TableInfo,
) -> impl Iterator<Item = &'a crate::state::observed::UniqueIndex> + 'a {
    catalog
        .unique_indexes
        .iter()
        .filter(move |(t, _)| *t == table.table)
        .map(|(_, i)| i)
        .filter(move |i| {
            i.columns
                .iter()
                .any(|c| m.attributes.keys().any(|k| k.eq_ignore_ascii_case(c)))
        })
}

/// Whether a unique index holds a key, so that another row with the same key collides. SQL
/// Server compares NULLs as equal in a unique index (a second NULL is a duplicate); Oracle leaves
/// keys whose columns are all NULL out of the index, and compares the others with NULLs equal.
fn enforced(key: &[Value], flavor: Flavor) -> bool {
    match flavor {
        Flavor::SqlServer => true,
        Flavor::Oracle => !key.iter().all(Value::is_null),
    }
}

/// For each unique index holding a masked column: reads its columns for every row (and
/// whether the row is masked), masks them as apply would, and names the index if two rows
/// would share a key. No value is kept or shown: keys are compared by digest.
async fn collisions<R: Reader>(
    client: &mut R,
    flavor: Flavor,
    catalog: &Catalog,
    r: &Resource<Inspected>,
    m: &Masked,
    table: &TableInfo,
    key: &crate::state::masking::MaskKey,
) -> Result<Vec<String>, Error> {
    let mut out = Vec::new();
    for index in unique_indexes(catalog, m, table) {
        let methods: Vec<Option<&MaskMethod>> = index
            .columns
            .iter()
            .map(|c| {
                m.attributes
                    .iter()
                    .find(|(k, _)| k.eq_ignore_ascii_case(c))
                    .map(|(_, method)| method)
            })
            .collect();
        let Ok(select) = sql::index_query(table, &index.columns, &m.filter, catalog, flavor) else {
            continue;
        };
        let mut seen: HashMap<[u8; 32], ()> = HashMap::new();
        let mut collides = false;
        let context = format!("checking unique index {} for resource {}", index.name, r.id);
        client
            .stream(&select, &context, &mut |mut row| {
                let masked = matches!(row.pop(), Some(Value::Int(1) | Value::Bool(true)));
                let key_values: Vec<Value> = row
                    .iter()
                    .zip(&methods)
                    .map(|(v, method)| match (masked, method) {
                        (true, Some(method)) => method.mask(key, v),
                        _ => v.clone(),
                    })
                    .collect();
                if !enforced(&key_values, flavor) {
                    return Ok(());
                }
                if seen.insert(row_digest(&key_values), ()).is_some() {
                    collides = true;
                }
                Ok(())
            })
            .await?;
        if collides {
            out.push(format!(
                "masking would give two rows the same {} in unique index {}: nothing would be applied; mask another way (`{{constant: ...}}` is never unique), or exclude the rows",
                index.columns.join(", "),
                index.name
            ));
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Masking to NULL is a collision where the engine's unique index says so: always on SQL
    /// Server, only for keys not entirely NULL on Oracle.
    #[test]
    fn nulls_in_unique_keys() {
        let null = [Value::Null];
        let partly = [Value::Null, Value::Int(1)];
        let full = [Value::Int(1)];
        assert!(enforced(&null, Flavor::SqlServer));
        assert!(enforced(&partly, Flavor::SqlServer));
        assert!(!enforced(&null, Flavor::Oracle));
        assert!(!enforced(&[Value::Null, Value::Null], Flavor::Oracle));
        assert!(enforced(&partly, Flavor::Oracle));
        assert!(enforced(&full, Flavor::Oracle));
    }

    /// What is personal by type is the profile's declaration (`personal_types`), read as data:
    /// another list reports other attributes. See: issue 22
    #[test]
    fn personal_types_come_from_the_declaration_issue_22() {
        use crate::test_support::{col, info};
        let m = Masked {
            module: Some("CRM".into()),
            entity: Some("Customer".into()),
            table: None,
            attributes: std::collections::BTreeMap::new(),
            filter: vec![],
            if_exists: false,
            uncovered: Uncovered::Report,
        };
        let table = info(
            "OSUSR_ABC_CUSTOMER",
            vec![
                col("EMAIL", "nvarchar", true),
                col("PHONE", "nvarchar", true),
            ],
            &[],
        );
        let attrs = [("Email", "rtEmail"), ("Phone", "rtPhoneNumber")].map(|(n, t)| Attribute {
            name: n.into(),
            data_type: t.into(),
            active: true,
        });
        let types = |list: &[&str]| list.iter().map(ToString::to_string).collect::<Vec<_>>();
        let (_, both) = compare(&m, &table, &attrs, &types(&["rtEmail", "RTPHONENUMBER"]));
        assert_eq!(
            both,
            [
                "attribute Email (rtEmail)",
                "attribute Phone (rtPhoneNumber)"
            ]
        );
        let (_, phone) = compare(&m, &table, &attrs, &types(&["rtPhoneNumber"]));
        assert_eq!(phone, ["attribute Phone (rtPhoneNumber)"]);
        assert!(compare(&m, &table, &attrs, &[]).1.is_empty());
    }
}
