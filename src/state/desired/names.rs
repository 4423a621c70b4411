//! Names a spec writes: resource ids, and table names (lookup keys for the catalog, never SQL).

use std::fmt;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// A name the spec writes that cannot be one.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InvalidName {
    /// A resource id outside the id alphabet.
    #[error("invalid resource id {id:?}: use lowercase letters, digits, '-', '_' or '.', starting with a letter or digit")]
    ResourceId {
        /// As written.
        id: String,
    },
    /// A table name that cannot name a table.
    #[error("invalid table name {name:?}: {why}")]
    TableName {
        /// As written.
        name: String,
        /// Why.
        why: &'static str,
    },
}

/// The name a resource is known by in plans, `after:` lists, `exclude:` and `--target`.
///
/// Lowercase letters, digits, `-`, `_` and `.`; it starts with a letter or a digit.
#[derive(
    Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, JsonSchema,
)]
#[serde(try_from = "String", into = "String")]
pub struct ResourceId(#[schemars(regex(pattern = r"^[a-z0-9][a-z0-9._-]*$"))] String);

impl ResourceId {
    /// The id as written in the spec.
    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The id of the resource `self` becomes for one of the tables its metamodel target names:
    /// `saml-configuration` + `OSUSR_U1_CONFIGIDP` → `saml-configuration.osusr_u1_configidp`.
    #[must_use]
    pub fn child(&self, table: &str) -> ResourceId {
        let suffix: String = table
            .chars()
            .map(|c| {
                let c = c.to_ascii_lowercase();
                if c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' {
                    c
                } else {
                    '-'
                }
            })
            .collect();
        ResourceId(format!("{self}.{suffix}"))
    }
}

impl TryFrom<String> for ResourceId {
    type Error = InvalidName;

    fn try_from(id: String) -> Result<Self, Self::Error> {
        let mut chars = id.chars();
        let first_ok = chars
            .next()
            .is_some_and(|c| c.is_ascii_lowercase() || c.is_ascii_digit());
        let rest_ok = chars.all(|c| {
            c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_' || c == '.'
        });
        if first_ok && rest_ok {
            Ok(ResourceId(id))
        } else {
            Err(InvalidName::ResourceId { id })
        }
    }
}

impl From<ResourceId> for String {
    fn from(id: ResourceId) -> String {
        id.0
    }
}

impl fmt::Display for ResourceId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A table as the spec names it: `name` or `schema.name`.
///
/// The name is only a lookup key: the engine finds the real table in the catalog (case-insensitively)
/// and refuses names it cannot find, so nothing written here ever reaches SQL text.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct TableName {
    /// The schema, when the spec names one.
    pub schema: Option<String>,
    /// The table name.
    pub name: String,
}

// Written as one string, so documented as one.
impl JsonSchema for TableName {
    fn schema_name() -> String {
        "TableName".into()
    }

    fn json_schema(_: &mut schemars::gen::SchemaGenerator) -> schemars::schema::Schema {
        crate::state::text_schema(
            "A table as the spec names it: `name` or `schema.name`, found in the catalog case-insensitively.",
            r"^[^.]+(\..+)?$",
        )
    }
}

impl TryFrom<String> for TableName {
    type Error = InvalidName;

    fn try_from(text: String) -> Result<Self, Self::Error> {
        let invalid = |why: &'static str| InvalidName::TableName {
            name: text.clone(),
            why,
        };
        if text.trim().is_empty() {
            return Err(invalid("it is empty"));
        }
        if text.chars().any(char::is_control) {
            return Err(invalid("it contains a control character"));
        }
        let (schema, name) = match text.split_once('.') {
            Some((schema, name)) if !schema.is_empty() && !name.is_empty() => {
                (Some(schema.to_string()), name.to_string())
            }
            Some(_) => return Err(invalid("write `table` or `schema.table`")),
            None => (None, text.clone()),
        };
        if name.len() > 128 || schema.as_ref().is_some_and(|s| s.len() > 128) {
            return Err(invalid("an identifier is longer than 128 characters"));
        }
        Ok(TableName { schema, name })
    }
}

impl From<TableName> for String {
    fn from(t: TableName) -> String {
        t.to_string()
    }
}

impl fmt::Display for TableName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.schema {
            Some(schema) => write!(f, "{schema}.{}", self.name),
            None => f.write_str(&self.name),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Ids accept the documented alphabet and reject the rest.
    #[test]
    fn resource_id_alphabet() {
        assert!(ResourceId::try_from("security.tokens-1_a".to_string()).is_ok());
        assert!(ResourceId::try_from("Tokens".to_string()).is_err());
        assert!(ResourceId::try_from("-x".to_string()).is_err());
        assert!(ResourceId::try_from(String::new()).is_err());
    }

    /// A table name splits into schema and name, and refuses empty parts.
    #[test]
    fn table_name_parses() {
        let t = TableName::try_from("dbo.ossys_server".to_string()).unwrap();
        assert_eq!(t.schema.as_deref(), Some("dbo"));
        assert_eq!(t.name, "ossys_server");
        assert!(TableName::try_from(".x".to_string()).is_err());
        assert!(TableName::try_from(" ".to_string()).is_err());
    }
}
