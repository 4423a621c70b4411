//! Values written into SQL text, for the embedded engine only.
//!
//! The embedded engine turns every RPC parameter into a literal itself, and misreads the ones it
//! cannot (binary values, and any text over 4,000 bytes, the statement's own text included). So
//! on that engine each statement is sent as a batch, its `@Pn` markers replaced by literals
//! written here, by [`literal`] alone. Real SQL Server always gets parameters.

use std::fmt::Write as _;

use crate::sql::Param;
use crate::state::Value;

/// Whether the embedded engine reads `text` with `params` right when they travel as an RPC,
/// as SQL Server gets them. Only a read qualifies: the engine's database puts its defects
/// right where a batch arrives (identities, triggers, updates of referenced rows), and an RPC
/// never passes there. Of reads: the statement within 4,000 bytes, no `VALUES` list (the
/// engine types each of its values as a literal of its own, never as the column it is joined
/// with), and every parameter of a kind it reads as SQL Server does: a whole number for a
/// `BIGINT`, `INT`, `SMALLINT` or `TINYINT` column (bound with the column's own type, where it
/// fits), a national text within 4,000 bytes for an `NVARCHAR` column or none (dates, cast in
/// the statement), a bit for a `BIT` column. Everything else goes as literals: binary data
/// (dropped), longer text (misread), floats (written back into the statement in a form its
/// parser refuses), NULL, text for a single-byte column, decimals and numbers of other
/// columns.
#[must_use]
pub fn reads_as_parameters(text: &str, params: &[Param]) -> bool {
    use crate::sql::ColumnType;
    const MOST_BYTES: usize = 4_000;
    let shape = crate::engine::sqlserver::shapes::shape(text);
    let read = shape.starts_with("SELECT")
        && ![
            "INSERT", "UPDATE", "DELETE", "TRUNCATE", "DROP", "ALTER", "EXEC",
        ]
        .iter()
        .any(|w| shape.split(' ').any(|s| s == *w));
    read && text.len() <= MOST_BYTES
        && !text.contains("(VALUES ")
        && params.iter().all(|p| match (&p.value, p.column_type) {
            (Value::Int(_), Some(ColumnType::BigInt)) => true,
            (Value::Int(i), Some(ColumnType::Int)) => i32::try_from(*i).is_ok(),
            (Value::Int(i), Some(ColumnType::SmallInt)) => i16::try_from(*i).is_ok(),
            (Value::Int(i), Some(ColumnType::TinyInt)) => u8::try_from(*i).is_ok(),
            (Value::Text(t), Some(ColumnType::NVarChar) | None) => t.len() <= MOST_BYTES,
            (Value::Bool(_), Some(ColumnType::Bit)) => true,
            _ => false,
        })
}

/// A statement whose markers cannot be replaced.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InlineError {
    /// A marker names a parameter the statement does not have.
    #[error("the statement names parameter @P{number}, but has {count} parameters")]
    NoSuchParameter {
        /// The marker's number.
        number: usize,
        /// How many parameters there are.
        count: usize,
    },
    /// A value the engine cannot take as a literal.
    #[error("parameter @P{number} is not a finite number")]
    NotFinite {
        /// The marker's number.
        number: usize,
    },
}

/// `value` as a SQL Server literal. Text is a national string with quotes doubled; control
/// characters are written as `NCHAR(n)` so that nothing but printable text sits between the
/// quotes; binary data is `0x` and hex digits, which cannot end a literal.
///
/// `None` for a float that is not finite: no literal denotes it.
#[must_use]
pub fn literal(value: &Value) -> Option<String> {
    Some(match value {
        Value::Null => "NULL".into(),
        Value::Bool(b) => if *b { "1" } else { "0" }.into(),
        Value::Int(i) => i.to_string(),
        // The shortest form that reads back as the same float, exponent included.
        Value::Float(x) if x.is_finite() => format!("{x:e}"),
        Value::Float(_) => return None,
        Value::Text(t) => national(t),
        Value::Bytes(b) => {
            let mut out = String::with_capacity(2 + b.len() * 2);
            out.push_str("0x");
            for byte in b {
                let _ = write!(out, "{byte:02X}");
            }
            out
        }
    })
}

/// A parameter as a literal of its column's type: `CAST(1 AS BIGINT)` for a `BIGINT` key, since
/// the embedded engine matches a joined row only when both sides have the same type (see
/// [`crate::sql::ColumnType`]). NULL and untyped values are plain literals.
///
/// `None` for a float that is not finite.
#[must_use]
pub fn typed_literal(param: &Param) -> Option<String> {
    let plain = literal(&param.value)?;
    if param.value.is_null() {
        return Some(plain);
    }
    Some(
        match param.column_type.and_then(|t| t.cast_for(&param.value)) {
            Some(ty) => format!("CAST({plain} AS {ty})"),
            None => plain,
        },
    )
}

/// `N'...'`, or a parenthesised concatenation when the text holds control characters.
fn national(text: &str) -> String {
    let mut parts: Vec<String> = Vec::new();
    let mut run = String::new();
    for c in text.chars() {
        if c.is_control() && (c as u32) < 0x80 {
            if !run.is_empty() {
                parts.push(format!("N'{}'", run.replace('\'', "''")));
                run.clear();
            }
            parts.push(format!("NCHAR({})", c as u32));
        } else {
            run.push(c);
        }
    }
    if !run.is_empty() || parts.is_empty() {
        parts.push(format!("N'{}'", run.replace('\'', "''")));
    }
    if parts.len() == 1 {
        parts.remove(0)
    } else {
        format!("({})", parts.join(" + "))
    }
}

/// `sql` with each `@Pn` marker replaced by the typed literal of parameter `n`. Markers inside
/// quoted strings, delimited identifiers and comments are left alone.
///
/// # Errors
/// A marker without a parameter, or a value without a literal.
pub fn inline(sql: &str, params: &[Param]) -> Result<String, InlineError> {
    if params.is_empty() {
        return Ok(sql.to_string());
    }
    let chars: Vec<char> = sql.chars().collect();
    let mut out = String::with_capacity(sql.len() + params.len() * 8);
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        let next = chars.get(i + 1).copied();
        // Copy a quoted or commented stretch whole.
        let closing: Option<&[char]> = match (c, next) {
            ('\'', _) => Some(&['\'']),
            ('[', _) => Some(&[']']),
            ('"', _) => Some(&['"']),
            ('-', Some('-')) => Some(&['\n']),
            ('/', Some('*')) => Some(&['*', '/']),
            _ => None,
        };
        if let Some(closing) = closing {
            let start = i;
            i += if c == '-' || c == '/' { 2 } else { 1 };
            loop {
                if i >= chars.len() {
                    break;
                }
                if chars[i..].starts_with(closing) {
                    i += closing.len();
                    // A doubled quote or bracket continues the same stretch.
                    if closing.len() == 1 && closing[0] != '\n' && chars.get(i) == Some(&closing[0])
                    {
                        i += 1;
                        continue;
                    }
                    break;
                }
                i += 1;
            }
            out.extend(&chars[start..i]);
            continue;
        }
        let starts_marker = c == '@'
            && next == Some('P')
            && chars.get(i + 2).is_some_and(char::is_ascii_digit)
            && !(i > 0 && identifier_char(chars[i - 1]));
        if starts_marker {
            let digits: String = chars[i + 2..]
                .iter()
                .take_while(|d| d.is_ascii_digit())
                .collect();
            let end = i + 2 + digits.len();
            if !chars.get(end).is_some_and(|c| identifier_char(*c)) {
                let number: usize = digits.parse().unwrap_or(0);
                let param = number.checked_sub(1).and_then(|at| params.get(at)).ok_or(
                    InlineError::NoSuchParameter {
                        number,
                        count: params.len(),
                    },
                )?;
                out.push_str(&typed_literal(param).ok_or(InlineError::NotFinite { number })?);
                i = end;
                continue;
            }
        }
        out.push(c);
        i += 1;
    }
    Ok(out)
}

fn identifier_char(c: char) -> bool {
    c.is_alphanumeric() || matches!(c, '_' | '@' | '#' | '$')
}

#[cfg(test)]
mod tests {
    use super::*;

    fn param(value: Value) -> Param {
        Param::new(value, false)
    }

    /// Crafted text stays one literal: quotes doubled, control characters outside the quotes,
    /// whatever the text tries to close or start.
    #[test]
    fn crafted_text_stays_a_literal() {
        let lit = |t: &str| literal(&Value::Text(t.into())).unwrap();
        assert_eq!(lit(""), "N''");
        assert_eq!(lit("it's"), "N'it''s'");
        assert_eq!(lit("x'; DROP TABLE t; --"), "N'x''; DROP TABLE t; --'");
        assert_eq!(lit("'"), "N''''");
        assert_eq!(lit("a\0b"), "(N'a' + NCHAR(0) + N'b')");
        assert_eq!(lit("\r\n"), "(NCHAR(13) + NCHAR(10))");
        assert_eq!(lit("N'@P1 ]] \" /* --"), "N'N''@P1 ]] \" /* --'");
        assert_eq!(lit("😀 é ’"), "N'😀 é ’'");
        for crafted in ["'", "''", "\\'", "a'b'c", "'; --", "\u{0}'\u{0}"] {
            let out = lit(crafted);
            // Between the literal's own quotes, every quote is doubled.
            for part in out
                .trim_start_matches('(')
                .trim_end_matches(')')
                .split(" + ")
            {
                if let Some(body) = part.strip_prefix("N'").and_then(|p| p.strip_suffix('\'')) {
                    assert!(
                        !body.replace("''", "").contains('\''),
                        "{crafted:?} -> {out}"
                    );
                } else {
                    assert!(part.starts_with("NCHAR("), "{crafted:?} -> {out}");
                }
            }
        }
    }

    /// Other values: numbers exactly, binary as hex, NULL as the keyword.
    #[test]
    fn other_literals() {
        assert_eq!(literal(&Value::Null).unwrap(), "NULL");
        assert_eq!(literal(&Value::Bool(true)).unwrap(), "1");
        assert_eq!(literal(&Value::Int(-42)).unwrap(), "-42");
        assert_eq!(literal(&Value::Float(1.5e-7)).unwrap(), "1.5e-7");
        let x = -2.225_073_858_507_201_4e-308;
        assert_eq!(
            literal(&Value::Float(x)).unwrap().parse::<f64>().unwrap(),
            x
        );
        assert!(literal(&Value::Float(f64::NAN)).is_none());
        assert_eq!(literal(&Value::Bytes(vec![0, 0xAB])).unwrap(), "0x00AB");
        assert_eq!(literal(&Value::Bytes(vec![])).unwrap(), "0x");
    }

    /// A value bound for a column is cast to the column's type, so that the embedded engine's
    /// joins match it (an `INT` literal never matches a `BIGINT` key there); a cast that would
    /// cut or round the value is not written. See: issue 21
    #[test]
    fn typed_literals_carry_their_column_type_issue_21() {
        use crate::state::observed::ColumnInfo;
        let typed = |value: Value, ty: &str, length: Option<u64>, scale: Option<u32>| {
            let column = ColumnInfo {
                max_length: length,
                scale,
                ..ColumnInfo::new("K", ty, false)
            };
            typed_literal(&Param::for_column(value, &column, false)).unwrap()
        };
        assert_eq!(
            typed(Value::Int(1), "bigint", None, None),
            "CAST(1 AS BIGINT)"
        );
        assert_eq!(
            typed(Value::Int(-2), "SMALLINT", None, None),
            "CAST(-2 AS SMALLINT)"
        );
        assert_eq!(
            typed(Value::Int(7), "tinyint", None, None),
            "CAST(7 AS TINYINT)"
        );
        assert_eq!(
            typed(Value::Bool(true), "bit", None, None),
            "CAST(1 AS BIT)"
        );
        assert_eq!(
            typed(Value::Text("ab ".into()), "varchar", Some(20), None),
            "CAST(N'ab ' AS VARCHAR(MAX))"
        );
        assert_eq!(
            typed(Value::Text("ab".into()), "char", Some(5), None),
            "CAST(N'ab' AS CHAR(5))"
        );
        // Longer than the column: no cast that would cut it into a shorter, matching value.
        assert_eq!(
            typed(Value::Text("abcdef".into()), "char", Some(5), None),
            "N'abcdef'"
        );
        assert_eq!(
            typed(Value::Text("1.50".into()), "decimal", None, Some(2)),
            "CAST(N'1.50' AS DECIMAL(38,2))"
        );
        assert_eq!(
            typed(Value::Text("1.505".into()), "decimal", None, Some(2)),
            "N'1.505'"
        );
        assert_eq!(
            typed(Value::Bytes(vec![1]), "varbinary", Some(10), None),
            "CAST(0x01 AS VARBINARY(MAX))"
        );
        assert_eq!(typed(Value::Null, "bigint", None, None), "NULL");
        // No column, no cast: catalog parameters and the like.
        assert_eq!(typed_literal(&param(Value::Int(1))).unwrap(), "1");
        assert_eq!(
            inline(
                "SELECT 1 WHERE k = @P1",
                &[Param::for_column(
                    Value::Int(3),
                    &ColumnInfo::new("K", "bigint", false),
                    false
                )]
            )
            .unwrap(),
            "SELECT 1 WHERE k = CAST(3 AS BIGINT)"
        );
    }

    /// Markers are replaced by number, not by prefix; markers in strings, identifiers and
    /// comments stay; a missing parameter is an error.
    #[test]
    fn markers_are_replaced_in_code_only() {
        let params: Vec<Param> = (1..=11).map(|i| param(Value::Int(i * 100))).collect();
        assert_eq!(
            inline("SELECT @P1, @P11, @P10 FROM t WHERE a = @P2", &params).unwrap(),
            "SELECT 100, 1100, 1000 FROM t WHERE a = 200"
        );
        assert_eq!(
            inline(
                "SELECT '@P1', [@P1], \"@P1\", 'it''s @P1' -- @P1\n, @P1 /* @P1 */",
                &params
            )
            .unwrap(),
            "SELECT '@P1', [@P1], \"@P1\", 'it''s @P1' -- @P1\n, 100 /* @P1 */"
        );
        assert_eq!(
            inline("SELECT @@P1, @P1x", &params).unwrap(),
            "SELECT @@P1, @P1x"
        );
        assert_eq!(
            inline("SELECT @P12", &params),
            Err(InlineError::NoSuchParameter {
                number: 12,
                count: 11
            })
        );
        let text = [param(Value::Text("a@P1'".into()))];
        assert_eq!(
            inline("UPDATE t SET v = @P1", &text).unwrap(),
            "UPDATE t SET v = N'a@P1'''"
        );
        assert_eq!(inline("SELECT 1", &[]).unwrap(), "SELECT 1");
    }
}
