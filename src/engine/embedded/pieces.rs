//! Long values read in pieces, on the embedded engine.
//!
//! The embedded engine declares `VARCHAR(MAX)`/`VARBINARY(MAX)` results as PLP streams but
//! writes each value with a two-byte length, and cuts any value over 65,535 bytes to that
//! length: tiberius then reads garbage lengths (an allocation that aborts the process, or a
//! silently truncated value). So there, a long value is never selected as it is: it is read as
//! `SUBSTRING` pieces cast to `NVARCHAR(4000)`, each well under the two-byte limit, and put
//! back together here. The engine's `SUBSTRING` cuts a binary value's `0x…` text form, so
//! binary pieces are hex text. Single-byte text is cast to `NVARCHAR` too: the engine sends
//! it as UTF-8 under a single-byte collation, which tiberius would decode as Windows-1252.
//!
//! Its DATE, DATETIME and DATETIME2 values are encoded with days counted from 2000 instead of
//! 1900: they are read as the engine's own text and written in the ISO 8601 form the SQL
//! Server path gives (`2024-02-29T13:45:59`).
//!
//! A DECIMAL written as text is kept as text, and its encoder then sends it as 0: decimals are
//! read as the engine's own (exact) text too.
//!
//! The engine's `SUBSTRING` of NULL is `''`: each long value is preceded by its `DATALENGTH`,
//! NULL only for NULL, so that NULL and empty stay apart. A value never comes back truncated:
//! the last piece of every value must be short of full, or the read fails.

use crate::sql::{Select, Shape};
use crate::state::Value;

/// Characters per text piece: at most 8,000 bytes in UTF-16, whatever the characters.
const TEXT_PIECE: u64 = 2_000;

/// Hex digits per binary piece.
const HEX_PIECE: u64 = 4_000;

/// The most a `(MAX)` column of the embedded engine holds: 65,535 bytes (UTF-8, for text).
const ENGINE_LIMIT: u64 = 65_535;

/// How one selected value is read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Read {
    Whole,
    Temporal,
    Text { pieces: u64 },
    Hex { pieces: u64 },
}

/// How the cells of a row go back together into the query's columns.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pieces {
    reads: Vec<(String, Read)>,
}

/// A value that could not be put back together.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PieceError {
    /// The value is longer than its pieces cover: it grew since it was measured.
    #[error("a value of `{expr}` is longer than the embedded engine's reader was prepared for (it changed since it was measured); run the command again")]
    Incomplete {
        /// The selected expression.
        expr: String,
    },
    /// The engine's text form of a binary value is not `0x` and hex digits.
    #[error("the embedded engine returned `{expr}` in an unexpected form")]
    Malformed {
        /// The selected expression.
        expr: String,
    },
    /// The row has fewer cells than its pieces.
    #[error(
        "the embedded engine returned a row with {found} cells where {expected} were expected"
    )]
    Cells {
        /// Cells expected.
        expected: usize,
        /// Cells found.
        found: usize,
    },
}

/// Room for values another session lengthened between the measuring and the read.
fn with_margin(bound: u64) -> u64 {
    bound + bound / 4 + 256
}

/// Pieces for a text of at most `bound_chars` characters; unknown, as many as the engine's
/// largest value needs.
fn text_pieces(bound_chars: Option<u64>) -> u64 {
    bound_chars.map_or(ENGINE_LIMIT, with_margin) / TEXT_PIECE + 1
}

/// Pieces for a binary value of at most `bound_bytes` bytes, read as `0x` and hex digits.
fn hex_pieces(bound_bytes: Option<u64>) -> u64 {
    (2 + 2 * bound_bytes.map_or(ENGINE_LIMIT, with_margin)) / HEX_PIECE + 1
}

impl Pieces {
    /// The select list of `select` as the embedded engine must receive it, and how to put its
    /// rows back together.
    #[must_use]
    pub fn plan(select: &Select) -> (String, Pieces) {
        let mut list = Vec::new();
        let mut reads = Vec::new();
        for column in &select.columns {
            let expr = &column.expr;
            let read = match column.shape {
                Shape::Plain => {
                    list.push(expr.clone());
                    Read::Whole
                }
                Shape::NarrowText => {
                    list.push(format!("CAST({expr} AS NVARCHAR(8000))"));
                    Read::Whole
                }
                Shape::Temporal => {
                    list.push(format!("CAST({expr} AS NVARCHAR(40))"));
                    Read::Temporal
                }
                Shape::Decimal => {
                    list.push(format!("CAST({expr} AS NVARCHAR(80))"));
                    Read::Whole
                }
                Shape::LongText { bound } => {
                    let pieces = text_pieces(bound);
                    list.push(format!("DATALENGTH({expr})"));
                    for k in 0..pieces {
                        list.push(format!(
                            "CAST(SUBSTRING({expr}, {}, {TEXT_PIECE}) AS NVARCHAR(4000))",
                            k * TEXT_PIECE + 1
                        ));
                    }
                    Read::Text { pieces }
                }
                Shape::LongBinary { bound } => {
                    let pieces = hex_pieces(bound);
                    list.push(format!("DATALENGTH({expr})"));
                    for k in 0..pieces {
                        list.push(format!(
                            "CAST(SUBSTRING({expr}, {}, {HEX_PIECE}) AS NVARCHAR(4000))",
                            k * HEX_PIECE + 1
                        ));
                    }
                    Read::Hex { pieces }
                }
            };
            reads.push((expr.clone(), read));
        }
        (list.join(", "), Pieces { reads })
    }

    /// The cells a row must have.
    #[must_use]
    pub fn cells(&self) -> usize {
        self.reads
            .iter()
            .map(|(_, r)| match r {
                Read::Whole | Read::Temporal => 1,
                Read::Text { pieces } | Read::Hex { pieces } => 1 + *pieces as usize,
            })
            .sum()
    }

    /// A row's cells put back together into one value per selected column.
    ///
    /// # Errors
    /// A value longer than its pieces, a binary value in an unexpected form, a short row.
    pub fn reassemble(&self, cells: Vec<Value>) -> Result<Vec<Value>, PieceError> {
        if cells.len() != self.cells() {
            return Err(PieceError::Cells {
                expected: self.cells(),
                found: cells.len(),
            });
        }
        let mut cells = cells.into_iter();
        let mut out = Vec::with_capacity(self.reads.len());
        for (expr, read) in &self.reads {
            match *read {
                Read::Whole => out.push(cells.next().unwrap_or(Value::Null)),
                Read::Temporal => out.push(match cells.next() {
                    Some(Value::Text(t)) => Value::Text(iso(&t)),
                    other => other.unwrap_or(Value::Null),
                }),
                Read::Text { pieces } => {
                    let null = cells.next().is_none_or(|length| length.is_null());
                    let parts: Vec<Value> = cells.by_ref().take(pieces as usize).collect();
                    out.push(if null {
                        Value::Null
                    } else {
                        Value::Text(join(expr, &parts, TEXT_PIECE)?)
                    });
                }
                Read::Hex { pieces } => {
                    let null = cells.next().is_none_or(|length| length.is_null());
                    let parts: Vec<Value> = cells.by_ref().take(pieces as usize).collect();
                    out.push(if null {
                        Value::Null
                    } else {
                        Value::Bytes(hex(expr, &join(expr, &parts, HEX_PIECE)?)?)
                    });
                }
            }
        }
        Ok(out)
    }
}

/// The pieces of one (non-NULL) value joined.
fn join(expr: &str, parts: &[Value], size: u64) -> Result<String, PieceError> {
    let incomplete = || PieceError::Incomplete {
        expr: expr.to_string(),
    };
    let mut out = String::new();
    let mut ended = false;
    for part in parts {
        // Past its end a value's pieces are empty, never NULL.
        let Value::Text(t) = part else {
            return Err(incomplete());
        };
        let chars = t.chars().count() as u64;
        // A piece short of full ends the value: any text after it was cut somewhere.
        if (ended && chars > 0) || chars > size {
            return Err(incomplete());
        }
        ended |= chars < size;
        out.push_str(t);
    }
    if ended {
        Ok(out)
    } else {
        Err(incomplete())
    }
}

/// `2024-02-29 13:45:59.500` as `2024-02-29T13:45:59.5`: the date and time joined by `T`,
/// the fraction without trailing zeros, as values read from SQL Server are written.
fn iso(text: &str) -> String {
    let joined = match text.split_once(' ') {
        Some((date, time)) if date.len() == 10 && date.as_bytes().get(4) == Some(&b'-') => {
            format!("{date}T{time}")
        }
        _ => text.to_string(),
    };
    match joined.split_once('.') {
        Some((whole, fraction)) if fraction.bytes().all(|b| b.is_ascii_digit()) => {
            let fraction = fraction.trim_end_matches('0');
            if fraction.is_empty() {
                whole.to_string()
            } else {
                format!("{whole}.{fraction}")
            }
        }
        _ => joined,
    }
}

/// The bytes of the engine's `0x…` text form of a binary value.
fn hex(expr: &str, text: &str) -> Result<Vec<u8>, PieceError> {
    let malformed = || PieceError::Malformed {
        expr: expr.to_string(),
    };
    let digits = text.strip_prefix("0x").ok_or_else(malformed)?;
    crate::state::value::unhex(digits).ok_or_else(malformed)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sql::Selected;

    fn select(shapes: &[Shape]) -> Select {
        Select {
            distinct: false,
            columns: shapes
                .iter()
                .enumerate()
                .map(|(i, s)| Selected {
                    expr: format!("t.[C{i}]"),
                    shape: *s,
                })
                .collect(),
            rest: " FROM [dbo].[T] AS t".into(),
            order: String::new(),
            limit: String::new(),
            params: vec![],
        }
    }

    /// The cells the engine would return for a value cut in pieces: its length (NULL for
    /// NULL), then the pieces (empty, never NULL, past its end and for NULL).
    fn cut(value: Option<&str>, size: usize, pieces: u64) -> Vec<Value> {
        let chars: Vec<char> = value.map(|v| v.chars().collect()).unwrap_or_default();
        let length = value.map_or(Value::Null, |v| Value::Int(v.len() as i64));
        std::iter::once(length)
            .chain(
                (0..pieces as usize).map(|k| {
                    Value::Text(chars.iter().skip(k * size).take(size).collect::<String>())
                }),
            )
            .collect()
    }

    /// Texts and binaries of any length within their bound come back exactly, NULL and empty
    /// apart, characters outside the BMP and trailing blanks included.
    #[test]
    fn values_come_back_whole() {
        let long: String = "ab'c😀 ".repeat(25_000); // 150,000 characters
        let bytes: Vec<u8> = (0..=255u8).cycle().take(1 << 20).collect(); // 1 MiB
        let hex_text = format!(
            "0x{}",
            bytes.iter().map(|b| format!("{b:02X}")).collect::<String>()
        );
        let shapes = [
            Shape::Plain,
            Shape::LongText {
                bound: Some(long.chars().count() as u64),
            },
            Shape::LongText { bound: Some(10) },
            Shape::LongText { bound: Some(10) },
            Shape::LongBinary {
                bound: Some(bytes.len() as u64),
            },
        ];
        let (list, pieces) = Pieces::plan(&select(&shapes));
        assert!(list.starts_with("t.[C0], DATALENGTH(t.[C1]), CAST(SUBSTRING(t.[C1], 1, 2000) AS NVARCHAR(4000)), CAST(SUBSTRING(t.[C1], 2001, 2000)"));
        let text_count = text_pieces(Some(long.chars().count() as u64));
        let hex_count = hex_pieces(Some(bytes.len() as u64));
        let mut cells = vec![Value::Int(7)];
        cells.extend(cut(Some(&long), 2000, text_count));
        cells.extend(cut(Some(""), 2000, text_pieces(Some(10))));
        cells.extend(cut(None, 2000, text_pieces(Some(10))));
        cells.extend(cut(Some(&hex_text), 4000, hex_count));
        let row = pieces.reassemble(cells).unwrap();
        assert_eq!(
            row,
            vec![
                Value::Int(7),
                Value::Text(long.clone()),
                Value::Text(String::new()),
                Value::Null,
                Value::Bytes(bytes),
            ]
        );
    }

    /// A value longer than its pieces is an error, never a truncated value.
    #[test]
    fn a_longer_value_is_an_error() {
        let (_, pieces) = Pieces::plan(&select(&[Shape::LongText { bound: Some(10) }]));
        let n = text_pieces(Some(10));
        let too_long = "x".repeat((n as usize) * 2000 + 5);
        assert!(matches!(
            pieces.reassemble(cut(Some(&too_long), 2000, n)),
            Err(PieceError::Incomplete { .. })
        ));
        let exactly_full = "x".repeat((n as usize) * 2000);
        assert!(pieces
            .reassemble(cut(Some(&exactly_full), 2000, n))
            .is_err());
        assert!(matches!(
            pieces.reassemble(vec![]),
            Err(PieceError::Cells { .. })
        ));
        // A piece cut short in the middle (a server that truncates values) is caught too.
        let (_, pieces) = Pieces::plan(&select(&[Shape::LongText { bound: Some(5_000) }]));
        let mut cells = cut(Some(&"y".repeat(5_000)), 2000, text_pieces(Some(5_000)));
        cells[1] = Value::Text("y".repeat(1_024));
        assert!(matches!(
            pieces.reassemble(cells),
            Err(PieceError::Incomplete { .. })
        ));
    }

    /// The engine's date and time text becomes the ISO form SQL Server's values have.
    #[test]
    fn temporal_text() {
        assert_eq!(iso("2024-02-29 13:45:59"), "2024-02-29T13:45:59");
        assert_eq!(iso("2024-02-29 13:45:59.500"), "2024-02-29T13:45:59.5");
        assert_eq!(iso("2024-02-29 13:45:59.000000000"), "2024-02-29T13:45:59");
        assert_eq!(iso("2024-02-29"), "2024-02-29");
        assert_eq!(iso("13:45:59"), "13:45:59");
        assert_eq!(
            iso("2024-02-29T10:00:00+02:00"),
            "2024-02-29T10:00:00+02:00"
        );
    }

    /// Unknown sizes are read with as many pieces as the engine's largest value needs;
    /// known ones with what they need plus room to grow; single-byte text is cast.
    #[test]
    fn piece_counts() {
        assert_eq!(text_pieces(None), 33);
        assert_eq!(hex_pieces(None), 33);
        assert_eq!(text_pieces(Some(0)), 1);
        assert_eq!(text_pieces(Some(1_000)), 1);
        assert_eq!(text_pieces(Some(2_000)), 2);
        let (list, _) = Pieces::plan(&select(&[Shape::NarrowText]));
        assert_eq!(list, "CAST(t.[C0] AS NVARCHAR(8000))");
        let (_, pieces) = Pieces::plan(&select(&[Shape::LongBinary { bound: None }]));
        let mut cells = vec![Value::Int(2), Value::Text("0x0G".into())];
        cells.extend((1..33).map(|_| Value::Text(String::new())));
        assert!(matches!(
            pieces.reassemble(cells),
            Err(PieceError::Malformed { .. })
        ));
    }
}
