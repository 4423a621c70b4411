//! `where:` conditions: a column and `in`, `not_in`, `in_select` or `due`; and the tables and
//! subqueries a filter reads.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::{Desired, TableName};
use crate::state::value::Value;

/// How a condition selects rows by one column.
#[derive(Debug, Clone, PartialEq)]
pub enum Predicate {
    /// `column IN (values)`; a `null` among the values also selects rows where the column is
    /// NULL.
    In(Vec<Value>),
    /// `column NOT IN (values)`: rows where the column is NULL are never selected (as in SQL,
    /// whether or not `null` is listed).
    NotIn(Vec<Value>),
    /// `column IN (SELECT other_column FROM other_table WHERE ...)`: rows related to rows of
    /// another table (a site property whose definition is secret, an entity of a module...).
    InSelect(Box<Subselect>),
    /// `due: true`: the column holds a time at or before the database's clock (what the
    /// platform's Scheduler runs); `due: false`: a time after it. NULL is neither.
    Due(bool),
    /// Rows whose stable key a `carried` resource does not carry: another resource writing
    /// the same rows leaves the carried ones to it. Added when a spec is expanded; never
    /// written in a spec.
    NotCarried(Box<super::CarriedValue>),
}

/// The rows of another table that a condition relates to, and the column it compares with.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Subselect {
    /// The other table, checked against the catalog.
    pub table: TableName,
    /// Its column whose values the condition's column must be among.
    pub column: String,
    /// Conditions on the other table's rows; empty means all of them.
    #[serde(rename = "where", default, skip_serializing_if = "Vec::is_empty")]
    pub filter: Vec<Condition>,
}

/// One condition of a `where:` list; the conditions of a list all have to hold.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "ConditionSpec", into = "ConditionSpec")]
pub struct Condition {
    /// The column tested (checked against the catalog).
    pub column: String,
    /// How it is tested.
    pub predicate: Predicate,
    /// Text compared without regard to case, whatever the database's collation.
    pub ignore_case: bool,
}

// Written as a `ConditionSpec`, so documented as one.
impl JsonSchema for Condition {
    fn schema_name() -> String {
        "Condition".into()
    }

    fn json_schema(gen: &mut schemars::gen::SchemaGenerator) -> schemars::schema::Schema {
        ConditionSpec::json_schema(gen)
    }
}

/// How a condition is written: a column and exactly one of `in`, `not_in`, `in_select`, `due`.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ConditionSpec {
    /// The column tested.
    pub column: String,
    /// Select rows whose column equals one of these values.
    #[serde(rename = "in", default, skip_serializing_if = "Option::is_none")]
    pub one_of: Option<Vec<Value>>,
    /// Select rows whose column is not NULL and equals none of these values.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub not_in: Option<Vec<Value>>,
    /// Select rows whose column equals `column` of a row of another table.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub in_select: Option<Box<Subselect>>,
    /// Select rows whose date column is at or before the database's clock (`true`), or after
    /// it (`false`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub due: Option<bool>,
    /// Compare text without regard to case, whatever the database's collation (`in` and
    /// `not_in`).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub ignore_case: bool,
}

/// A condition the spec writes that selects nothing sensible.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InvalidCondition {
    /// `in: []` or `not_in: []`.
    #[error("condition on column {column:?} has an empty value list")]
    EmptyList {
        /// The column.
        column: String,
    },
    /// None or several of `in`, `not_in`, `in_select`, `due`.
    #[error(
        "condition on column {column:?} needs exactly one of `in`, `not_in`, `in_select` or `due`"
    )]
    Operators {
        /// The column.
        column: String,
    },
}

impl TryFrom<ConditionSpec> for Condition {
    type Error = InvalidCondition;

    fn try_from(spec: ConditionSpec) -> Result<Self, Self::Error> {
        let column = spec.column;
        let values = |values: Vec<Value>| {
            if values.is_empty() {
                return Err(InvalidCondition::EmptyList {
                    column: column.clone(),
                });
            }
            Ok(values)
        };
        let predicate = match (spec.one_of, spec.not_in, spec.in_select, spec.due) {
            (Some(v), None, None, None) => Predicate::In(values(v)?),
            (None, Some(v), None, None) => Predicate::NotIn(values(v)?),
            (None, None, Some(s), None) => Predicate::InSelect(s),
            (None, None, None, Some(due)) => Predicate::Due(due),
            _ => return Err(InvalidCondition::Operators { column }),
        };
        Ok(Condition {
            column,
            predicate,
            ignore_case: spec.ignore_case,
        })
    }
}

impl From<Condition> for ConditionSpec {
    fn from(c: Condition) -> Self {
        let mut spec = ConditionSpec {
            column: c.column,
            one_of: None,
            not_in: None,
            in_select: None,
            due: None,
            ignore_case: c.ignore_case,
        };
        match c.predicate {
            Predicate::In(v) => spec.one_of = Some(v),
            Predicate::NotIn(v) => spec.not_in = Some(v),
            Predicate::InSelect(s) => spec.in_select = Some(s),
            Predicate::Due(due) => spec.due = Some(due),
            // Never written: an expanded spec is not saved. Written anyway, it reads back as an
            // error (an empty list), never as another condition.
            Predicate::NotCarried(_) => spec.not_in = Some(Vec::new()),
        }
        spec
    }
}

/// Every table a filter reads, its own subselects included, in order.
pub fn filter_tables(filter: &[Condition]) -> Vec<&TableName> {
    let mut out = Vec::new();
    for c in filter {
        if let Predicate::InSelect(s) = &c.predicate {
            out.push(&s.table);
            out.extend(filter_tables(&s.filter));
        }
    }
    out
}

/// Every `in_select` subquery of the desired resources' filters (and of the secret rows'),
/// once each, a nested one before the subquery that contains it.
#[must_use]
pub fn subselects<S: super::Stage>(desired: &Desired<S>) -> Vec<&Subselect> {
    fn walk<'a>(filter: &'a [Condition], out: &mut Vec<&'a Subselect>) {
        for c in filter {
            if let Predicate::InSelect(s) = &c.predicate {
                walk(&s.filter, out);
                if !out.contains(&&**s) {
                    out.push(s);
                }
            }
        }
    }
    let mut out = Vec::new();
    for r in &desired.resources {
        walk(r.kind.filter(), &mut out);
    }
    for s in &desired.secret_rows {
        walk(&s.filter, &mut out);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A condition needs exactly one of `in` / `not_in`, with values.
    #[test]
    fn condition_needs_one_operator() {
        let ok: Condition = serde_yaml::from_str("{column: NAME, not_in: ['(Main)']}").unwrap();
        assert!(matches!(ok.predicate, Predicate::NotIn(_)));
        let sub: Condition = serde_yaml::from_str(
            "{column: ID, in_select: {table: T, column: X, where: [{column: S, in: [1]}]}}",
        )
        .unwrap();
        assert!(matches!(sub.predicate, Predicate::InSelect(_)));
        let both = serde_yaml::from_str::<Condition>("{column: NAME, in: [a], not_in: [b]}");
        assert!(both.unwrap_err().to_string().contains("exactly one"));
        let empty = serde_yaml::from_str::<Condition>("{column: NAME, in: []}");
        assert!(empty.unwrap_err().to_string().contains("empty"));
        let due: Condition = serde_yaml::from_str("{column: NEXT_RUN, due: true}").unwrap();
        assert_eq!(due.predicate, Predicate::Due(true));
        let null: Condition = serde_yaml::from_str("{column: URL, in: [null, '']}").unwrap();
        assert_eq!(
            null.predicate,
            Predicate::In(vec![Value::Null, Value::Text(String::new())])
        );
    }
}
