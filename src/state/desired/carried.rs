//! The environment's own configuration, carried across a clone: `kind: carried` declares which
//! rows of a table belong to the environment (found by stable keys, never by numeric ids, which
//! differ in a clone) and which of their columns hold its own values; `captured:` (written by
//! `postclone capture` before the clone) holds those values, the secret ones sealed.
//!
//! After the clone, each carried column becomes a value computed per row: the row's stable key
//! is read by the query (its key parts, each a column or the value reached from it through
//! other tables), and the captured value of that key is what the row must hold. A row whose
//! key was not captured is left as it is; a captured key the clone lacks is reported, or, with
//! `missing: insert`, inserted from the captured values.

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::sync::Arc;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::{Describe, ResourceId, TableName, TableTarget};
use crate::state::value::Value;

/// `carried`: the rows of `table` that belong to the environment, found by `key`, keep their
/// `values` across a clone.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Carried {
    /// The table, checked against the catalog.
    pub table: TableTarget,
    /// The row's stable key: named parts, each a column of the table or the value reached
    /// from one through other tables (a definition's `SS_KEY`, a tenant's name).
    pub key: BTreeMap<String, KeyPart>,
    /// Conditions that all hold on the carried rows; empty means every row. Rows outside them
    /// are neither captured nor carried (the runbook's resets keep them).
    #[serde(rename = "where", default, skip_serializing_if = "Vec::is_empty")]
    pub filter: Vec<super::Condition>,
    /// The columns whose values are the environment's own.
    pub values: Vec<String>,
    /// How each row is named in plans (and in the captured file, without `name`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub label: Option<Describe>,
    /// How a captured row is named in the captured file and in the plan's "not in this
    /// clone" list: these parts' values joined with `.` (`Orders.PageSize`: the module's name,
    /// then the property's). Without it, `label`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub name: Vec<KeyPart>,
    /// A missing table is a note in the plan instead of an error.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub if_exists: bool,
    /// What becomes of a captured row the clone does not hold: listed in the plan (`report`,
    /// the default), or inserted from its key and captured values (`insert`: every key part
    /// must be a column of the table, and the key and `values` must fill every column that
    /// needs a value; otherwise the plan says which is missing and lists the rows).
    #[serde(default, skip_serializing_if = "Missing::is_report")]
    pub missing: Missing,
    /// What becomes of a row the clone holds and the capture does not (configuration only
    /// production had): left as it is (`leave`, the default), and listed in the plan by name
    /// (`report`).
    #[serde(default, skip_serializing_if = "OnlyInClone::is_leave")]
    pub only_in_clone: OnlyInClone,
}

/// What becomes of a row the clone holds and the capture does not.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum OnlyInClone {
    /// Left as it is, silently.
    #[default]
    Leave,
    /// Left as it is, and listed in the plan ("only in this clone, not captured").
    Report,
}

impl OnlyInClone {
    fn is_leave(&self) -> bool {
        *self == OnlyInClone::Leave
    }
}

/// What becomes of a captured row the clone does not hold.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Missing {
    /// Listed in the plan ("not in this clone").
    #[default]
    Report,
    /// Inserted from its stable key and captured values.
    Insert,
}

impl Missing {
    fn is_report(&self) -> bool {
        *self == Missing::Report
    }
}

/// The captured rows a table lacks, inserted: what a `carried` resource with `missing: insert`
/// adds once resolved (as `ID.missing`): only a `Desired<Inspected>` holds one. Never written
/// in a spec, and never serialized.
#[derive(Clone, PartialEq)]
pub struct RowsPresent {
    /// The table.
    pub table: TableTarget,
    /// The carried resource the rows were captured for.
    pub carried: ResourceId,
    /// The key parts, in the order captured keys compare (each a column of the table).
    pub parts: Vec<KeyPart>,
    /// The carried columns, written with the key's into each inserted row.
    pub values: Vec<String>,
    /// The captured rows, opened.
    pub rows: Arc<CarriedRows>,
    /// How each row is named in plans.
    pub label: Option<Describe>,
    /// A missing table is a note in the plan instead of an error.
    pub if_exists: bool,
}

impl fmt::Debug for RowsPresent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RowsPresent")
            .field("table", &self.table)
            .field("carried", &self.carried)
            .field("values", &self.values)
            .field("rows", &self.rows)
            .finish_non_exhaustive()
    }
}

impl RowsPresent {
    /// The columns an inserted row is written with: the key parts' columns, then the carried
    /// values', each once.
    #[must_use]
    pub fn columns(&self) -> Vec<String> {
        let mut out: Vec<String> = Vec::new();
        for c in self.parts.iter().map(|p| &p.column).chain(&self.values) {
            if !out.iter().any(|o| o.eq_ignore_ascii_case(c)) {
                out.push(c.clone());
            }
        }
        out
    }

    /// The captured rows whose stable key is not in `present`, in key order, with the value of
    /// each of [`columns`](Self::columns) (`None` for a sealed row no identity opened).
    #[must_use]
    pub fn missing(
        &self,
        present: &std::collections::HashSet<StableKey>,
    ) -> Vec<(&StableKey, &CarriedRow, Option<Vec<Value>>)> {
        let columns = self.columns();
        let mut out: Vec<_> = self
            .rows
            .rows
            .iter()
            .filter(|(key, _)| !present.contains(*key))
            .map(|(key, row)| (key, row, self.written(row, &columns)))
            .collect();
        out.sort_by(|a, b| a.0.cmp(b.0));
        out
    }

    /// The captured row of `key` as inserted: the value of each of `columns()`; `None` when the
    /// key was not captured or its row is sealed and unopened.
    #[must_use]
    pub fn row_of(&self, key: &StableKey) -> Option<Vec<Value>> {
        let row = self.rows.rows.get(key)?;
        self.written(row, &self.columns())
    }

    fn written(&self, row: &CarriedRow, columns: &[String]) -> Option<Vec<Value>> {
        let values = row.values.as_ref()?;
        Some(
            columns
                .iter()
                .map(|c| {
                    let part = self
                        .parts
                        .iter()
                        .position(|p| p.column.eq_ignore_ascii_case(c));
                    match part {
                        Some(i) => row.key.get(i).cloned().unwrap_or(Value::Null),
                        None => values
                            .iter()
                            .find(|(k, _)| k.eq_ignore_ascii_case(c))
                            .map_or(Value::Null, |(_, v)| v.clone()),
                    }
                })
                .collect(),
        )
    }
}

/// One part of a stable key: `column`, then `through` each table in turn.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct KeyPart {
    /// The column of the carried table the part starts from.
    pub column: String,
    /// Lookups from it: each takes the value so far to the row of `table` whose `match` column
    /// holds it, and reads its `take` column.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub through: Vec<Hop>,
}

/// One lookup of a key part: `SELECT take FROM table WHERE match = value`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Hop {
    /// The table, checked against the catalog.
    pub table: TableName,
    /// Its column the value so far is matched with (its key, usually `ID`).
    #[serde(rename = "match")]
    pub on: String,
    /// Its column read.
    pub take: String,
}

/// What `postclone capture` read from an environment, written as a spec fragment: the values
/// of its carried rows, by resource and stable key.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Captured {
    /// Where and when.
    pub from: CapturedFrom,
    /// Each carried resource's rows.
    pub rows: BTreeMap<ResourceId, Vec<CapturedRow>>,
    /// Who wrote it: an Ed25519 signature over `from` and `rows` by an OpenSSH key (`capture
    /// --signing-key`). Where the spec lists `trust.signers`, a capture must carry one that
    /// one of them made.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signature: Option<CaptureSignature>,
}

/// A capture's signature.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CaptureSignature {
    /// The signer's key fingerprint (`SHA256:...`, as `ssh-keygen -l` prints it).
    pub keyid: String,
    /// The Ed25519 signature, base64.
    pub sig: String,
}

impl Captured {
    /// What a capture's signature covers: `from` and `rows` as JSON, in the order they are
    /// declared (mappings by key), so that the file read back gives the same bytes.
    #[must_use]
    pub fn signed_bytes(&self) -> Vec<u8> {
        #[derive(Serialize)]
        struct Signed<'a> {
            from: &'a CapturedFrom,
            rows: &'a BTreeMap<ResourceId, Vec<CapturedRow>>,
        }
        serde_json::to_vec(&Signed {
            from: &self.from,
            rows: &self.rows,
        })
        .unwrap_or_default()
    }
}

/// The environment a capture was read from.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CapturedFrom {
    /// The server's name.
    pub server: String,
    /// The database.
    pub database: String,
    /// When, in UTC (`2026-12-02T15:04:05Z`).
    pub at: String,
}

/// One captured row: its stable key, its name, and its values, plain or sealed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CapturedRow {
    /// Key part name → value.
    pub key: BTreeMap<String, Value>,
    /// The row's name, for people.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Column → value, for rows that are not secret.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub values: BTreeMap<String, Value>,
    /// Columns only an insert of the row writes (`missing: insert`): those the table needs
    /// that the resource does not carry (NOT NULL without a default), for rows that are not
    /// secret; a secret row holds them in its sealed values. Never written over a row the
    /// clone has.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub insert: BTreeMap<String, Value>,
    /// The values of a secret row, encrypted to the spec's `journal.recipients` (age, base64).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sealed: Option<String>,
}

/// What a sealed captured value is sealed for, written inside the sealed message beside the
/// values and checked when it is opened: the resource, its table, the row's stable key, the
/// columns and the environment it was captured from. A value moved to another row or
/// resource, swapped with another row's, or captured elsewhere no longer opens as its row's.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SealBinding {
    /// The carried resource.
    pub resource: ResourceId,
    /// Its table, as the spec names it (lower case).
    pub table: String,
    /// The row's stable key: part name → value as text.
    pub key: BTreeMap<String, String>,
    /// The carried columns (lower case, sorted).
    pub columns: Vec<String>,
    /// The server the capture read (lower case).
    pub server: String,
    /// The database the capture read (lower case).
    pub database: String,
}

impl SealBinding {
    /// The binding of `key`'s row of resource `id`, captured from `from`.
    #[must_use]
    pub fn of(
        id: &ResourceId,
        carried: &Carried,
        key: &BTreeMap<String, Value>,
        from: &CapturedFrom,
    ) -> SealBinding {
        let mut columns: Vec<String> = carried.values.iter().map(|c| c.to_lowercase()).collect();
        columns.sort();
        SealBinding {
            resource: id.clone(),
            table: carried.table.to_string().to_lowercase(),
            key: key.iter().map(|(k, v)| (k.clone(), key_text(v))).collect(),
            columns,
            server: from.server.trim().to_lowercase(),
            database: from.database.trim().to_lowercase(),
        }
    }

    /// What of `self` (found in a sealed message) differs from `expected` (the row it is
    /// written in), in words: `None` when it is that row's.
    #[must_use]
    pub fn differs_from(&self, expected: &SealBinding) -> Option<&'static str> {
        if self.resource != expected.resource {
            Some("it was sealed for another resource")
        } else if self.table != expected.table {
            Some("it was sealed for another table")
        } else if self.key != expected.key {
            Some("it was sealed for another row")
        } else if self.columns != expected.columns {
            Some("it was sealed for other columns")
        } else if self.server != expected.server || self.database != expected.database {
            Some("it was sealed for another environment than the capture's")
        } else {
            None
        }
    }

    /// The row, for messages: its key parts.
    #[must_use]
    pub fn row(&self) -> String {
        self.key
            .iter()
            .map(|(k, v)| format!("{k} = {v}"))
            .collect::<Vec<_>>()
            .join(", ")
    }
}

/// A stable key as compared: each part's value as text, in key part order.
pub type StableKey = Vec<String>;

/// A key part value as compared: text as it is, anything else as it is shown.
#[must_use]
pub fn key_text(value: &Value) -> String {
    match value {
        Value::Text(t) => t.clone(),
        Value::Null => String::new(),
        other => other.to_string(),
    }
}

/// A carried resource's captured rows, opened: what each stable key's row must hold.
#[derive(Clone, Default, PartialEq)]
pub struct CarriedRows {
    /// The key parts' names, in the order keys are compared.
    pub parts: Vec<String>,
    /// By stable key.
    pub rows: HashMap<StableKey, CarriedRow>,
    /// The columns only an insert writes, as the captured rows hold them.
    pub insert_columns: Vec<String>,
}

/// One captured row, opened.
#[derive(Clone, Default, PartialEq)]
pub struct CarriedRow {
    /// Its stable key's values as captured (typed), in key part order.
    pub key: Vec<Value>,
    /// Its name, for people.
    pub name: Option<String>,
    /// Whether its values were sealed in the captured file.
    pub sealed: bool,
    /// Its values; `None` when they are sealed and no identity opened them.
    pub values: Option<BTreeMap<String, Value>>,
}

// Never the values: secret ones are opened here.
impl fmt::Debug for CarriedRows {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CarriedRows")
            .field("parts", &self.parts)
            .field("rows", &self.rows.len())
            .finish()
    }
}

impl CarriedRows {
    /// How many rows are sealed and were not opened.
    #[must_use]
    pub fn unopened(&self) -> usize {
        self.rows.values().filter(|r| r.values.is_none()).count()
    }
}

/// A carried column's value, computed per row from its stable key: what `column_values` sets
/// once a `carried` resource is resolved (only in a `Desired<Inspected>`; it holds the opened
/// captured rows, so it never serializes).
#[derive(Clone, PartialEq)]
pub struct CarriedValue {
    /// The carried resource.
    pub resource: ResourceId,
    /// The column.
    pub column: String,
    /// The stable key's parts, in the order `rows` compares them.
    pub parts: Vec<KeyPart>,
    /// The captured rows, opened.
    pub rows: Arc<CarriedRows>,
    /// When the spec asks that rows only the clone has be listed (`only_in_clone: report`):
    /// the parts that name them (the resource's `name`; empty: by their key).
    pub only_in_clone: Option<Vec<KeyPart>>,
}

impl fmt::Debug for CarriedValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CarriedValue")
            .field("resource", &self.resource)
            .field("column", &self.column)
            .field("rows", &self.rows)
            .finish()
    }
}

impl CarriedValue {
    /// The value the row with this stable key must hold in the column: `Some(None)` when the
    /// key was not captured (the row keeps its value), `None` when it is sealed and unopened.
    #[must_use]
    pub fn wanted(&self, key: &[String]) -> Option<Option<Value>> {
        match self.rows.rows.get(key) {
            None => Some(None),
            Some(row) => row
                .values
                .as_ref()
                .map(|values| values.get(&self.column).cloned()),
        }
    }
}

impl CarriedValue {
    /// Whether the captured row of this stable key gave its values in clear (not sealed).
    #[must_use]
    pub fn in_clear(&self, key: &[String]) -> bool {
        self.rows.rows.get(key).is_some_and(|row| !row.sealed)
    }
}

impl Carried {
    /// The key parts in the order they are compared (their names' order).
    #[must_use]
    pub fn parts(&self) -> Vec<KeyPart> {
        self.key.values().cloned().collect()
    }

    /// Every table a key or name part reads through.
    #[must_use]
    pub fn hop_tables(&self) -> Vec<&TableName> {
        self.key
            .values()
            .chain(&self.name)
            .flat_map(|p| p.through.iter().map(|h| &h.table))
            .collect()
    }
}

/// What opens a sealed captured row, given what it must be sealed for: its values, or `None`
/// without an identity.
pub type Opener<'a, E> =
    dyn FnMut(&str, &SealBinding) -> Result<Option<BTreeMap<String, Value>>, E> + 'a;

/// The captured rows of a carried resource, opened: plain values as they are, sealed ones with
/// `open` (which gives the values of a sealed row, or `None` without an identity).
///
/// A `secret` resource's rows must all be sealed.
///
/// # Errors
/// Those of `open`, a captured row whose key lacks one of the resource's parts, that names a
/// column the resource does not carry, or that gives a secret resource's values in clear.
pub fn open_rows<E>(
    carried: &Carried,
    id: &ResourceId,
    secret: bool,
    rows: &[CapturedRow],
    from: &CapturedFrom,
    open: &mut Opener<'_, E>,
) -> Result<CarriedRows, OpenError<E>> {
    let parts: Vec<String> = carried.key.keys().cloned().collect();
    let mut out = CarriedRows {
        parts: parts.clone(),
        rows: HashMap::with_capacity(rows.len()),
        insert_columns: Vec::new(),
    };
    let carries = |c: &str| carried.values.iter().any(|v| v.eq_ignore_ascii_case(c));
    for row in rows {
        let typed = parts
            .iter()
            .map(|p| row.key.get(p).cloned())
            .collect::<Option<Vec<Value>>>()
            .ok_or_else(|| OpenError::Key {
                resource: id.clone(),
                name: row.name.clone(),
            })?;
        let key: StableKey = typed.iter().map(key_text).collect();
        // Only the columns the resource carries may be captured: a file that names another
        // would write what the spec never declared.
        if let Some(column) = row
            .values
            .keys()
            .find(|c| !carried.values.iter().any(|v| v.eq_ignore_ascii_case(c)))
        {
            return Err(OpenError::Column {
                resource: id.clone(),
                name: row.name.clone(),
                column: column.clone(),
            });
        }
        if let Some(column) = row.insert.keys().find(|c| carries(c)) {
            return Err(OpenError::Column {
                resource: id.clone(),
                name: row.name.clone(),
                column: format!("{column} (under insert:, though the resource carries it)"),
            });
        }
        if secret && !(row.values.is_empty() && row.insert.is_empty()) {
            return Err(OpenError::InClear {
                resource: id.clone(),
                name: row.name.clone(),
            });
        }
        let values = match &row.sealed {
            Some(sealed) => open(sealed, &SealBinding::of(id, carried, &row.key, from))
                .map_err(OpenError::Open)?
                .map(|mut opened| {
                    opened.extend(row.values.clone());
                    opened
                }),
            None => Some(
                row.values
                    .iter()
                    .chain(&row.insert)
                    .map(|(k, v)| (k.clone(), v.clone()))
                    .collect(),
            ),
        };
        // What only an insert writes: every opened column the resource does not carry.
        for column in values
            .iter()
            .flat_map(BTreeMap::keys)
            .filter(|c| !carries(c))
        {
            if !out
                .insert_columns
                .iter()
                .any(|i| i.eq_ignore_ascii_case(column))
            {
                out.insert_columns.push(column.clone());
            }
        }
        let previous = out.rows.insert(
            key,
            CarriedRow {
                key: typed,
                name: row.name.clone(),
                sealed: row.sealed.is_some(),
                values,
            },
        );
        // Two values for one key: which one is the environment's cannot be told.
        if previous.is_some() {
            return Err(OpenError::Duplicate {
                resource: id.clone(),
                name: row.name.clone(),
            });
        }
    }
    Ok(out)
}

/// Why captured rows cannot be opened.
#[derive(Debug, thiserror::Error)]
pub enum OpenError<E> {
    /// A sealed value cannot be opened.
    #[error(transparent)]
    Open(E),
    /// A captured row lacks a key part.
    #[error("a captured row of {resource}{} lacks a part of the resource's key; capture again with this spec", name.as_ref().map(|n| format!(" ({n})")).unwrap_or_default())]
    Key {
        /// The resource.
        resource: ResourceId,
        /// The row's name.
        name: Option<String>,
    },
    /// A captured row names a column its resource does not carry.
    #[error("a captured row of {resource}{} names column {column}, which the resource does not carry (`values:`); capture again with this spec", name.as_ref().map(|n| format!(" ({n})")).unwrap_or_default())]
    Column {
        /// The resource.
        resource: ResourceId,
        /// The row's name.
        name: Option<String>,
        /// The column.
        column: String,
    },
    /// A secret resource's captured row gives its values in clear.
    #[error("a captured row of {resource}{} gives its values in clear, but the resource is secret: its values must be sealed; capture again (capture seals them to journal.recipients)", name.as_ref().map(|n| format!(" ({n})")).unwrap_or_default())]
    InClear {
        /// The resource.
        resource: ResourceId,
        /// The row's name.
        name: Option<String>,
    },
    /// Two captured rows have the same stable key.
    #[error("two captured rows of {resource}{} have the same stable key; the key does not tell the environment's rows apart: add a key part to the resource and capture again", name.as_ref().map(|n| format!(" ({n})")).unwrap_or_default())]
    Duplicate {
        /// The resource.
        resource: ResourceId,
        /// The row's name.
        name: Option<String>,
    },
}

#[cfg(test)]
mod tests;
