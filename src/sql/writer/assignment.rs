//! The assignments of an update: each column's new value as SQL (a literal, a lookup, a text
//! rewrite) or as a rewrite computed row by row (hosts, masks, the carry), with the test that
//! the row still differs.

use super::*;
use crate::state::desired::Inspected;

impl Writer<'_> {
    /// [`Self::update_parts`] of a change's assignments.
    pub(in crate::sql) fn assignment_parts(
        &mut self,
        table: &TableInfo,
        filter: &[Condition],
        assignments: &[crate::change::Assignment],
        secret: bool,
    ) -> Result<UpdateParts, Error> {
        let set: Vec<(&str, &ColumnValue<Inspected>)> = assignments
            .iter()
            .map(|a| (a.column.as_str(), &a.value))
            .collect();
        self.update_parts(table, filter, &set, secret)
    }

    pub(in crate::sql) fn update_parts(
        &mut self,
        table: &TableInfo,
        filter: &[Condition],
        set: &[(&str, &ColumnValue<Inspected>)],
        secret: bool,
    ) -> Result<UpdateParts, Error> {
        let mut parts = UpdateParts {
            assignments: Vec::new(),
            conditions: self.filter(Some(T), table, filter)?,
            joins: Vec::new(),
            differs: Vec::new(),
        };
        for (name, value) in set {
            let column = Self::column(table, name)?.clone();
            let (assignment, differs) = match value {
                ColumnValue::Replace { replace } => {
                    self.host_rewrite(table, name, column, replace, secret)?
                }
                ColumnValue::Mask { mask } => self.mask(table, name, column, mask)?,
                ColumnValue::ReplaceText { replace_text } => {
                    self.text_rewrite(table, name, column, replace_text, secret)?
                }
                ColumnValue::Literal(literal) => {
                    self.literal(table, name, column, literal, secret)?
                }
                ColumnValue::Lookup { lookup } => {
                    self.looked_up(table, name, column, lookup, &mut parts)?
                }
                ColumnValue::Carried(value) => self.carried(table, name, column, value)?,
            };
            parts.differs.push(differs);
            parts.assignments.push(assignment);
        }
        Ok(parts)
    }

    /// `replace`: a host rewrite needs the host matcher: rows that may name the host are read
    /// (their text contains it, in any case) and each new value is computed by postclone, then
    /// written row by row.
    fn host_rewrite(
        &mut self,
        table: &TableInfo,
        name: &str,
        column: ColumnInfo,
        replace: &crate::state::desired::Replace,
        secret: bool,
    ) -> Result<(AssignmentSql, String), Error> {
        let current = self.col(Some(T), table, name)?;
        let from = replace.host().ok_or_else(|| Error::NotAHost {
            column: column.name.clone(),
            from: replace.from.clone(),
        })?;
        let (source, source_pos) = match &replace.source {
            Some(source) => (self.col(Some(T), table, source)?, position(table, source)?),
            None => (current, position(table, name)?),
        };
        let needle = self.bind(Value::Text(from.needle()), secret);
        let candidate = self.flavor.contains(&format!("LOWER({source})"), &needle);
        Ok((
            AssignmentSql {
                shape: Shape::of(&column),
                column,
                desired: source,
                literal: None,
                carried: None,
                rewrite: Some(RowRewrite::Host {
                    from,
                    to: replace.to.clone(),
                    source: source_pos,
                }),
            },
            format!("({candidate})"),
        ))
    }

    /// `mask`: masked by postclone with the key: rows that hold a value are read, those not
    /// masked yet change. The masked value must fit the column.
    fn mask(
        &mut self,
        table: &TableInfo,
        name: &str,
        column: ColumnInfo,
        mask: &MaskMethod,
    ) -> Result<(AssignmentSql, String), Error> {
        let current = self.col(Some(T), table, name)?;
        if let Some(max) = column.max_length.filter(|m| *m < mask.longest() as u64) {
            return Err(Error::MaskTooLong {
                column: column.name.clone(),
                method: mask.to_string(),
                longest: mask.longest(),
                max,
            });
        }
        if *mask == MaskMethod::Null && !column.nullable {
            return Err(Error::ValueDoesNotFit {
                column: column.name.clone(),
                data_type: column.data_type.clone(),
                value: "NULL".into(),
                help: "the column is NOT NULL: choose another masking method",
            });
        }
        let differs = format!("{current} IS NOT NULL");
        Ok((
            AssignmentSql {
                shape: Shape::of(&column),
                desired: current,
                literal: None,
                carried: None,
                rewrite: Some(RowRewrite::Mask {
                    method: mask.clone(),
                    source: position(table, name)?,
                }),
                column,
            },
            differs,
        ))
    }

    /// `replace_text`: every occurrence of a text replaced, as the database's `REPLACE` does.
    fn text_rewrite(
        &mut self,
        table: &TableInfo,
        name: &str,
        column: ColumnInfo,
        replace: &crate::state::desired::Replace,
        secret: bool,
    ) -> Result<(AssignmentSql, String), Error> {
        let current = self.col(Some(T), table, name)?;
        let (source, source_info) = match &replace.source {
            Some(source) => (
                self.col(Some(T), table, source)?,
                Self::column(table, source)?.clone(),
            ),
            None => (current.clone(), column.clone()),
        };
        let from = self.bind(Value::Text(replace.from.clone()), secret);
        let to = self.bind(Value::Text(replace.to.clone()), secret);
        // Occurrences of `to` are parked under a private-use character while `from` is
        // replaced, so that `prod` → `preprod` does not rewrite `preprod` again.
        let parked = self.bind(Value::Text(PARKED.into()), false);
        let desired = format!(
            "REPLACE(REPLACE(REPLACE({source}, {to}, {parked}), {from}, {to}), {parked}, {to})"
        );
        let differs = format!(
            "({} AND ({} OR {current} IS NULL))",
            self.flavor.contains(&source, &from),
            self.flavor.differ(&column, &current, &desired)
        );
        Ok((
            AssignmentSql {
                column,
                desired,
                shape: grown(
                    Shape::of(&source_info),
                    replace.from.chars().count(),
                    replace.to.chars().count(),
                ),
                literal: None,
                rewrite: None,
                carried: None,
            },
            differs,
        ))
    }

    /// A literal, converted for the column's type.
    fn literal(
        &mut self,
        table: &TableInfo,
        name: &str,
        column: ColumnInfo,
        literal: &Value,
        secret: bool,
    ) -> Result<(AssignmentSql, String), Error> {
        let current = self.col(Some(T), table, name)?;
        let literal = coerce_for(literal, &column, self.flavor).map_err(|e| {
            if secret {
                e.without_value()
            } else {
                e
            }
        })?;
        let (desired, differs) = if literal.is_null() {
            ("NULL".to_string(), format!("{current} IS NOT NULL"))
        } else {
            let marker = self.bind_for(literal.clone(), &column, secret);
            let differs = format!(
                "({} OR {current} IS NULL)",
                self.flavor.differ(&column, &current, &marker)
            );
            (marker, differs)
        };
        Ok((
            AssignmentSql {
                column,
                desired,
                shape: Shape::Plain,
                literal: Some(literal),
                rewrite: None,
                carried: None,
            },
            differs,
        ))
    }

    /// A value looked up in another table. Rows without a matching lookup row are left as they
    /// are, as the runbook's inner joins do.
    fn looked_up(
        &mut self,
        table: &TableInfo,
        name: &str,
        column: ColumnInfo,
        lookup: &crate::state::desired::Lookup,
        parts: &mut UpdateParts,
    ) -> Result<(AssignmentSql, String), Error> {
        let current = self.col(Some(T), table, name)?;
        let (desired, differs, shape) = match self.lookup_join(table, lookup)? {
            // A lookup by the other table's key is a join: the engine reads the value once per
            // row instead of running subqueries for each.
            Some((join, looked_up, info)) => {
                parts.joins.push(join);
                let differs = format!(
                    "({} OR ({looked_up} IS NULL AND {current} IS NOT NULL) OR ({looked_up} IS NOT NULL AND {current} IS NULL))",
                    self.flavor.differ(&column, &looked_up, &current)
                );
                (looked_up, differs, Shape::of(&info))
            }
            None => {
                let (from_where, looked_up, info) = self.lookup(table, lookup)?;
                parts
                    .conditions
                    .push(format!("EXISTS (SELECT 1 {from_where})"));
                let desired = format!("(SELECT {looked_up} {from_where})");
                // One correlated subquery for "differs", not three: an engine that runs it for
                // every row pays for each.
                let differs = format!(
                    "EXISTS (SELECT 1 {from_where} AND ({} OR ({looked_up} IS NULL AND {current} IS NOT NULL) OR ({looked_up} IS NOT NULL AND {current} IS NULL)))",
                    self.flavor.differ(&column, &looked_up, &current)
                );
                (desired, differs, Shape::of(&info))
            }
        };
        Ok((
            AssignmentSql {
                column,
                desired,
                shape,
                literal: None,
                rewrite: None,
                carried: None,
            },
            differs,
        ))
    }
}
