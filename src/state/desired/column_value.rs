//! The values `column_values` sets: literals, lookups in other tables, text rewrites.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::stage::{Declared, Stage};
use super::TableName;
use crate::state::masking::MaskMethod;
use crate::state::value::Value;

/// A value read from a row of another table, matched column by column.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Lookup {
    /// The other table, checked against the catalog.
    pub table: TableName,
    /// The column whose value is taken.
    pub column: String,
    /// Other table's column → this table's column; all must be equal. A row with no match is
    /// left untouched.
    #[serde(rename = "match")]
    pub on: BTreeMap<String, String>,
}

/// The value a column must hold.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(untagged)]
#[serde(bound(
    serialize = "S::Carried: Serialize",
    deserialize = "S::Carried: Deserialize<'de>"
))]
#[schemars(rename = "ColumnValue", bound = "S: Stage")]
pub enum ColumnValue<S: Stage = Declared> {
    /// A literal value, bound as a parameter.
    Literal(Value),
    /// A value read from another table: `{lookup: {table, column, match}}`.
    Lookup {
        /// Where it is read.
        lookup: Lookup,
    },
    /// A host rewritten wherever the text names it:
    /// `{replace: {from: prod.example.com, to: preprod.example.com}}`. `from` is a host, a domain
    /// or an IP address, matched as `references_absent` matches (that host and its subdomains,
    /// in any case, never a longer label or another host that merely contains it); the rest of
    /// the text is kept byte for byte.
    Replace {
        /// The rewrite.
        replace: Replace,
    },
    /// Every occurrence of a text rewritten, wherever it is, as the database's `REPLACE`
    /// does: `{replace_text: {from: "[old]", to: "[new]"}}`. For text that is not a host.
    ReplaceText {
        /// The rewrite.
        replace_text: Replace,
    },
    /// Personal data masked, keyed and deterministic: `{mask: email}`.
    Mask {
        /// The method.
        mask: MaskMethod,
    },
    /// The environment's own value of the row, by its stable key: what a `carried` resource
    /// becomes once inspection resolved it (nothing, in a declaration).
    #[schemars(skip)]
    Carried(S::Carried),
}

/// Rewrites `from` as `to`, in the column itself or (with `source`) in another column of the
/// row: a host wherever the text names it (`replace`), or every occurrence of a text
/// (`replace_text`, where occurrences of `to` are left as they are, so that a rewrite whose `to`
/// contains its `from` applies once and converges).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Replace {
    /// The text to find (compared as the database compares text).
    pub from: String,
    /// Its replacement.
    pub to: String,
    /// Read the text from this column instead (a web reference's `URL` when its
    /// `EFFECTIVE_URL` is blank).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
}

impl Replace {
    /// `from` as a host pattern, when it is one.
    #[must_use]
    pub fn host(&self) -> Option<crate::state::host::HostPattern> {
        crate::state::host::HostPattern::parse(&self.from)
    }
}

impl<S: Stage> ColumnValue<S> {
    /// The lookup behind this value, if it has one.
    #[must_use]
    pub fn lookup(&self) -> Option<&Lookup> {
        match self {
            ColumnValue::Literal(_)
            | ColumnValue::Replace { .. }
            | ColumnValue::ReplaceText { .. }
            | ColumnValue::Mask { .. }
            | ColumnValue::Carried(_) => None,
            ColumnValue::Lookup { lookup } => Some(lookup),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A column value is a literal scalar, a lookup or a rewrite; the retired shorthand
    /// `{from: ...}` is refused.
    #[test]
    fn column_value_forms() {
        let v: BTreeMap<String, ColumnValue> = serde_yaml::from_str(
            "{A: ' ', B: 0, C: {replace: {from: prod.example.com, to: preprod.example.com}}}",
        )
        .unwrap();
        assert_eq!(v["A"], ColumnValue::Literal(Value::Text(" ".into())));
        assert_eq!(v["B"], ColumnValue::Literal(Value::Int(0)));
        assert!(matches!(v["C"], ColumnValue::Replace { .. }));
        let t: ColumnValue = serde_yaml::from_str("{replace_text: {from: '[a]', to: b}}").unwrap();
        assert!(matches!(t, ColumnValue::ReplaceText { .. }));
        assert!(serde_yaml::from_str::<ColumnValue>("{from: site_property_default}").is_err());
        let l: ColumnValue =
            serde_yaml::from_str("{lookup: {table: D, column: V, match: {ID: D_ID}}}").unwrap();
        assert_eq!(l.lookup().unwrap().on["ID"], "D_ID");
    }
}
