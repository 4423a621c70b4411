//! Converting the spec's values for the catalog's column types, so that comparisons and writes
//! are never left to implicit conversion; and which column types postclone can carry at all.

use super::{Error, Flavor};
use crate::state::observed::ColumnInfo;
use crate::state::Value;

/// Whether a column holds text (compared linguistically on Oracle).
#[must_use]
pub fn is_text(column: &ColumnInfo) -> bool {
    matches!(
        column.data_type.to_ascii_lowercase().as_str(),
        "char"
            | "varchar"
            | "nchar"
            | "nvarchar"
            | "text"
            | "ntext"
            | "sysname"
            | "varchar2"
            | "nvarchar2"
            | "clob"
            | "nclob"
    )
}

/// The SQL Server type a value takes from the column it is compared with or written into.
///
/// Real SQL Server converts a parameter to its column's type wherever they meet. The embedded
/// engine does not in a join: it matches a row of a `VALUES` list only when both sides have the
/// same type (an `INT` literal never matches a `BIGINT` key, `N'abc'` never a `VARCHAR` one), so
/// there each value is cast to its column's type. Spelled from this closed list only, never from
/// text a server or a spec sent. Dates are cast in the statement itself, on every engine.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ColumnType {
    /// `TINYINT`.
    TinyInt,
    /// `SMALLINT`.
    SmallInt,
    /// `INT`.
    Int,
    /// `BIGINT` (an OutSystems Long Integer).
    BigInt,
    /// `BIT`.
    Bit,
    /// `DECIMAL` or `NUMERIC` with this many digits after the point.
    Decimal {
        /// The column's scale.
        scale: u32,
    },
    /// `FLOAT` or `REAL`.
    Float,
    /// `CHAR(n)`: blank-padded to its length.
    Char {
        /// Its length.
        length: u64,
    },
    /// `NCHAR(n)`.
    NChar {
        /// Its length.
        length: u64,
    },
    /// `VARCHAR`, `TEXT`.
    VarChar,
    /// `NVARCHAR`, `NTEXT`, `SYSNAME`.
    NVarChar,
    /// `BINARY`, `VARBINARY`, `IMAGE`.
    VarBinary,
    /// `UNIQUEIDENTIFIER`.
    UniqueIdentifier,
    /// Oracle's `CLOB`: bound as a large object, never cast.
    Clob,
    /// Oracle's `NCLOB`.
    NClob,
    /// Oracle's `BLOB`.
    Blob,
}

impl ColumnType {
    /// The type of `column`'s values, when it is one of the list.
    #[must_use]
    pub fn of(column: &ColumnInfo) -> Option<ColumnType> {
        Some(match column.data_type.to_ascii_lowercase().as_str() {
            "tinyint" => ColumnType::TinyInt,
            "smallint" => ColumnType::SmallInt,
            "int" => ColumnType::Int,
            "bigint" => ColumnType::BigInt,
            "bit" => ColumnType::Bit,
            "decimal" | "numeric" => ColumnType::Decimal {
                scale: column.scale?,
            },
            "float" | "real" => ColumnType::Float,
            "char" => ColumnType::Char {
                length: column.max_length?,
            },
            "nchar" => ColumnType::NChar {
                length: column.max_length?,
            },
            "varchar" | "text" => ColumnType::VarChar,
            "nvarchar" | "ntext" | "sysname" => ColumnType::NVarChar,
            "binary" | "varbinary" | "image" => ColumnType::VarBinary,
            "uniqueidentifier" => ColumnType::UniqueIdentifier,
            "clob" => ColumnType::Clob,
            "nclob" => ColumnType::NClob,
            "blob" => ColumnType::Blob,
            _ => return None,
        })
    }

    /// The type to cast `value` to (`BIGINT`, `DECIMAL(38,8)`, `VARCHAR(MAX)`), when the cast
    /// keeps it whole: a text longer than a `CHAR(n)` or a decimal with more digits after the
    /// point than the column's scale is left as it is, so that no cast cuts or rounds it into
    /// another value. Texts and binaries are cast without a bound for the same reason.
    #[must_use]
    pub fn cast_for(self, value: &Value) -> Option<String> {
        Some(match self {
            ColumnType::TinyInt => "TINYINT".into(),
            ColumnType::SmallInt => "SMALLINT".into(),
            ColumnType::Int => "INT".into(),
            ColumnType::BigInt => "BIGINT".into(),
            ColumnType::Bit => "BIT".into(),
            ColumnType::Decimal { scale } => {
                let fraction = match value {
                    Value::Text(t) => t
                        .trim()
                        .split_once('.')
                        .map_or(0, |(_, f)| f.trim_end_matches('0').len()),
                    Value::Int(_) | Value::Bool(_) => 0,
                    _ => return None,
                };
                if fraction > scale as usize {
                    return None;
                }
                format!("DECIMAL(38,{scale})")
            }
            ColumnType::Float => "FLOAT".into(),
            ColumnType::Char { length } | ColumnType::NChar { length } => {
                let Value::Text(t) = value else { return None };
                if t.chars().count() as u64 > length {
                    return None;
                }
                let national = matches!(self, ColumnType::NChar { .. });
                format!("{}CHAR({length})", if national { "N" } else { "" })
            }
            ColumnType::VarChar => "VARCHAR(MAX)".into(),
            ColumnType::NVarChar => "NVARCHAR(MAX)".into(),
            ColumnType::VarBinary => "VARBINARY(MAX)".into(),
            ColumnType::UniqueIdentifier => "UNIQUEIDENTIFIER".into(),
            ColumnType::Clob | ColumnType::NClob | ColumnType::Blob => return None,
        })
    }
}

/// Whether postclone reads, journals and writes back values of this catalog type exactly.
/// Tables it changes must hold only these: a column of another type is refused at plan time,
/// naming it, rather than read wrongly (or, for some types, by a client library that aborts).
#[must_use]
pub fn supported(data_type: &str) -> bool {
    matches!(
        data_type.to_ascii_lowercase().as_str(),
        // SQL Server
        "bit" | "tinyint" | "smallint" | "int" | "bigint"
            | "decimal" | "numeric" | "float" | "real"
            | "char" | "varchar" | "nchar" | "nvarchar" | "text" | "ntext" | "sysname" | "xml"
            | "binary" | "varbinary" | "image"
            | "uniqueidentifier"
            | "date" | "time" | "datetime" | "datetime2" | "smalldatetime" | "datetimeoffset"
            // Oracle
            | "number" | "integer" | "binary_double" | "binary_float"
            | "varchar2" | "nvarchar2" | "clob" | "nclob" | "blob" | "raw" // Oracle's TIMESTAMP(n) [WITH [LOCAL] TIME ZONE]; SQL Server's bare `timestamp` is a
                                                                           // rowversion, which cannot be written back.
    ) || data_type.to_ascii_lowercase().starts_with("timestamp(")
}

/// Whether a column holds binary data.
#[must_use]
pub fn is_binary(column: &ColumnInfo) -> bool {
    matches!(
        column.data_type.to_ascii_lowercase().as_str(),
        "binary" | "varbinary" | "image" | "raw" | "long raw" | "blob"
    )
}

/// Whether a captured value can be written into `column` as it is, and read back equal: of
/// the column's kind (binary into binary, text into text, a number into a number), within its
/// length, NULL only where allowed.
///
/// # Errors
/// Why not, in words that never quote the value (it may be a sealed secret's).
pub fn captured_fits(value: &Value, column: &ColumnInfo) -> Result<(), String> {
    let kind = |v: &Value| match v {
        Value::Null => "NULL",
        Value::Bool(_) => "a boolean",
        Value::Int(_) => "a whole number",
        Value::Float(_) => "a number",
        Value::Text(_) => "text",
        Value::Bytes(_) => "binary data",
    };
    let of_type = format!("{} ({})", column.name, column.data_type);
    let length = match value {
        Value::Null if !column.nullable => return Err(format!("{of_type} is NOT NULL")),
        Value::Null => return Ok(()),
        Value::Bytes(b) if is_binary(column) => b.len() as u64,
        Value::Bytes(_) => {
            return Err(format!(
                "binary data for {of_type}, which holds no binary data"
            ))
        }
        _ if is_binary(column) => {
            return Err(format!(
                "{} for binary column {of_type} (binary data is written {{hex: \"...\"}})",
                kind(value)
            ))
        }
        Value::Text(t) => {
            coerce(value, column).map_err(|_| format!("text that is not a value of {of_type}"))?;
            // SQL Server counts an NCHAR/NVARCHAR's length in UTF-16 units: a character
            // outside the BMP takes two.
            if column.data_type.to_ascii_lowercase().starts_with('n') {
                t.encode_utf16().count() as u64
            } else {
                t.chars().count() as u64
            }
        }
        _ => {
            coerce(value, column).map_err(|_| format!("{} for {of_type}", kind(value)))?;
            0
        }
    };
    match column.max_length {
        Some(max) if !column.long && length > max && (is_text(column) || is_binary(column)) => {
            Err(format!(
                "{length} {} for {of_type}, which holds {max}",
                if is_binary(column) {
                    "bytes"
                } else {
                    "characters"
                }
            ))
        }
        _ => Ok(()),
    }
}

/// [`coerce`], then Oracle's empty string: Oracle stores `''` as NULL, so an empty text is
/// NULL in a nullable column and a single space (what the runbook writes) in a NOT NULL one;
/// and Oracle's `DATE`, which holds a time, always gets one.
///
/// # Errors
/// Those of [`coerce`].
pub fn coerce_for(value: &Value, column: &ColumnInfo, flavor: Flavor) -> Result<Value, Error> {
    match (coerce(value, column)?, flavor) {
        (Value::Text(t), Flavor::Oracle) if t.is_empty() => Ok(if column.nullable {
            Value::Null
        } else {
            Value::Text(" ".into())
        }),
        // Oracle's DATE holds a time: always written whole.
        (Value::Text(t), Flavor::Oracle)
            if column.data_type.eq_ignore_ascii_case("date") && t.len() == 10 =>
        {
            Ok(Value::Text(format!("{t}T00:00:00")))
        }
        (v, _) => Ok(v),
    }
}

/// Converts a spec value for a column of the catalog's type.
///
/// # Errors
/// A value that cannot be stored in the column.
pub fn coerce(value: &Value, column: &ColumnInfo) -> Result<Value, Error> {
    let wrong = |help: &'static str| Error::ValueDoesNotFit {
        column: column.name.clone(),
        data_type: column.data_type.clone(),
        value: value.to_string(),
        help,
    };
    if value.is_null() {
        return if column.nullable {
            Ok(Value::Null)
        } else {
            Err(wrong("the column is NOT NULL"))
        };
    }
    let ty = column.data_type.to_ascii_lowercase();
    match ty.as_str() {
        "bit" => match value {
            Value::Bool(b) => Ok(Value::Bool(*b)),
            Value::Int(0) => Ok(Value::Bool(false)),
            Value::Int(1) => Ok(Value::Bool(true)),
            Value::Text(t) if t == "0" || t.eq_ignore_ascii_case("false") => Ok(Value::Bool(false)),
            Value::Text(t) if t == "1" || t.eq_ignore_ascii_case("true") => Ok(Value::Bool(true)),
            _ => Err(wrong("write 0, 1, true or false")),
        },
        "tinyint" | "smallint" | "int" | "bigint" | "integer" => match value {
            Value::Int(i) => Ok(Value::Int(*i)),
            Value::Bool(b) => Ok(Value::Int(i64::from(*b))),
            Value::Text(t) => t
                .trim()
                .parse()
                .map(Value::Int)
                .map_err(|_| wrong("write a whole number")),
            _ => Err(wrong("write a whole number")),
        },
        // Oracle's NUMBER holds integers and decimals alike (and NUMBER(1) the flags).
        "number" => match value {
            Value::Int(_) | Value::Float(_) => Ok(value.clone()),
            Value::Bool(b) => Ok(Value::Int(i64::from(*b))),
            Value::Text(t) => t
                .trim()
                .parse::<i64>()
                .map(Value::Int)
                .or_else(|_| t.trim().parse().map(Value::Float))
                .map_err(|_| wrong("write a number")),
            _ => Err(wrong("write a number")),
        },
        "decimal" | "numeric" => exact_decimal(value, column),
        "money" | "smallmoney" | "float" | "real" | "binary_double" | "binary_float" => match value
        {
            Value::Int(_) | Value::Float(_) => Ok(value.clone()),
            Value::Text(t) => t
                .trim()
                .parse()
                .map(Value::Float)
                .map_err(|_| wrong("write a number")),
            _ => Err(wrong("write a number")),
        },
        "datetime" | "datetime2" | "smalldatetime" | "date" => match value {
            Value::Text(t) => timestamp(t, ty == "date")
                .map(Value::Text)
                .ok_or_else(|| wrong("write a date as 2026-12-31 or 2026-12-31T08:00:00")),
            _ => Err(wrong(
                "write the date as text in quotes, for example '9999-12-31'",
            )),
        },
        t if t.starts_with("timestamp(") => match value {
            Value::Text(t) => timestamp(t, false)
                .map(Value::Text)
                .ok_or_else(|| wrong("write a date as 2026-12-31 or 2026-12-31T08:00:00")),
            _ => Err(wrong(
                "write the date as text in quotes, for example '9999-12-31'",
            )),
        },
        "char" | "varchar" | "nchar" | "nvarchar" | "text" | "ntext" | "sysname" | "xml"
        | "varchar2" | "nvarchar2" | "clob" | "nclob" => match value {
            Value::Text(t) => Ok(Value::Text(t.clone())),
            Value::Int(i) => Ok(Value::Text(i.to_string())),
            Value::Float(x) => Ok(Value::Text(x.to_string())),
            _ => Err(wrong("write the text in quotes, for example 'True'")),
        },
        _ => match value {
            Value::Text(t) => Ok(Value::Text(t.clone())),
            _ => Err(wrong("write the value as text in quotes")),
        },
    }
}

/// A value for an exact decimal column, as exact decimal text: never through a float, which
/// would store another number (`1234567890123.12345678` became `...12358912`). A value with more
/// digits after the point than the column's scale, or more before it than its precision leaves,
/// is refused: the database would round it, or refuse it, and the plan would never converge.
/// A number the spec writes unquoted went through a float when the YAML was read: it is taken
/// only when it has at most 15 significant digits (every such decimal survives a float whole).
fn exact_decimal(value: &Value, column: &ColumnInfo) -> Result<Value, Error> {
    let refuse = |help: String| Error::DecimalDoesNotFit {
        column: column.name.clone(),
        data_type: column.data_type.clone(),
        value: value.to_string(),
        help,
    };
    let text = match value {
        Value::Int(i) => i.to_string(),
        Value::Bool(b) => i64::from(*b).to_string(),
        Value::Text(t) => t.trim().to_string(),
        Value::Float(x) if x.is_finite() => {
            let shortest = x.to_string();
            let significant = shortest
                .chars()
                .filter(char::is_ascii_digit)
                .collect::<String>()
                .trim_start_matches('0')
                .len();
            if significant > 15 {
                return Err(refuse(
                    "write the number in quotes, so that every digit is kept".into(),
                ));
            }
            shortest
        }
        _ => return Err(refuse("write a number".into())),
    };
    let (negative, body) = match text.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, text.strip_prefix('+').unwrap_or(&text)),
    };
    let (int, frac) = body.split_once('.').unwrap_or((body, ""));
    if (int.is_empty() && frac.is_empty())
        || !int.bytes().chain(frac.bytes()).all(|b| b.is_ascii_digit())
    {
        return Err(refuse("write a number such as 1234.5678".into()));
    }
    let int = int.trim_start_matches('0');
    let frac = frac.trim_end_matches('0');
    if let Some(scale) = column.scale {
        if frac.len() > scale as usize {
            return Err(refuse(format!(
                "the column keeps {scale} digits after the point: write at most {scale}"
            )));
        }
        if let Some(precision) = column.precision {
            let room = precision.saturating_sub(scale) as usize;
            if int.len() > room {
                return Err(refuse(format!(
                    "the column keeps {room} digits before the point"
                )));
            }
        }
    }
    let int = if int.is_empty() { "0" } else { int };
    let digits = if frac.is_empty() {
        int.to_string()
    } else {
        format!("{int}.{frac}")
    };
    Ok(Value::Text(if negative && digits != "0" {
        format!("-{digits}")
    } else {
        digits
    }))
}

/// A date or date and time as written in a spec, in the one form every engine converts
/// exactly: `YYYY-MM-DDTHH:MM:SS`, a fraction only when there is one, and a date alone for a
/// date column at midnight (SQL Server's `date`; Oracle's `DATE` holds a time too).
fn timestamp(text: &str, date_column: bool) -> Option<String> {
    use chrono::{NaiveDate, NaiveDateTime, Timelike};
    let text = text.trim();
    let parsed = NaiveDate::parse_from_str(text, "%Y-%m-%d")
        .ok()
        .and_then(|d| d.and_hms_opt(0, 0, 0))
        .or_else(|| {
            [
                "%Y-%m-%dT%H:%M:%S%.f",
                "%Y-%m-%d %H:%M:%S%.f",
                "%Y-%m-%dT%H:%M",
                "%Y-%m-%d %H:%M",
            ]
            .iter()
            .find_map(|f| NaiveDateTime::parse_from_str(text, f).ok())
        })?;
    if date_column && parsed.time() == chrono::NaiveTime::MIN {
        return Some(parsed.format("%Y-%m-%d").to_string());
    }
    Some(if parsed.nanosecond() == 0 {
        parsed.format("%Y-%m-%dT%H:%M:%S").to_string()
    } else {
        parsed.format("%Y-%m-%dT%H:%M:%S%.f").to_string()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A captured value of another kind than its column, or longer than it, is refused in
    /// words that never quote it. See: issue 33
    #[test]
    fn captured_values_fit_their_columns_issue_33() {
        let column = |data_type: &str, max: Option<u64>, nullable: bool| ColumnInfo {
            name: "C".into(),
            data_type: data_type.into(),
            nullable,
            max_length: max,
            ..ColumnInfo::default()
        };
        let text = column("nvarchar", Some(10), true);
        let binary = column("varbinary", Some(4), true);
        let int = column("int", None, false);
        assert!(captured_fits(&Value::Text("secret-ok".into()), &text).is_ok());
        // Six characters outside the BMP are twelve UTF-16 units: too long for NVARCHAR(10).
        assert!(captured_fits(&Value::Text("😀".repeat(6)), &text).is_err());
        let long = captured_fits(&Value::Text("secret-too-long".into()), &text).unwrap_err();
        assert!(
            long.contains("15 characters") && !long.contains("secret"),
            "{long}"
        );
        let hex = captured_fits(&Value::Bytes(vec![1, 2]), &text).unwrap_err();
        assert!(hex.contains("binary data for C"), "{hex}");
        assert!(captured_fits(&Value::Bytes(vec![1, 2]), &binary).is_ok());
        assert!(captured_fits(&Value::Bytes(vec![0; 5]), &binary).is_err());
        assert!(captured_fits(&Value::Text("00ff".into()), &binary).is_err());
        let word = captured_fits(&Value::Text("secret-word".into()), &int).unwrap_err();
        assert!(!word.contains("secret"), "{word}");
        assert!(captured_fits(&Value::Int(7), &int).is_ok());
        assert!(captured_fits(&Value::Null, &int).is_err());
        assert!(captured_fits(&Value::Null, &text).is_ok());
    }

    fn col(name: &str, ty: &str, nullable: bool) -> ColumnInfo {
        ColumnInfo::new(name, ty, nullable)
    }

    /// Literals are converted for the column type, and impossible ones are refused.
    #[test]
    fn coercion_by_column_type() {
        assert_eq!(
            coerce(&Value::Int(1), &col("B", "bit", false)),
            Ok(Value::Bool(true))
        );
        assert_eq!(
            coerce(&Value::Text("7".into()), &col("I", "int", false)),
            Ok(Value::Int(7))
        );
        assert_eq!(
            coerce(&Value::Int(7), &col("S", "nvarchar", false)),
            Ok(Value::Text("7".into()))
        );
        assert!(coerce(&Value::Bool(true), &col("S", "nvarchar", false)).is_err());
        assert!(matches!(
            coerce(&Value::Null, &col("S", "nvarchar", false)),
            Err(Error::ValueDoesNotFit { help, .. }) if help.contains("NOT NULL")
        ));
        assert!(coerce(&Value::Int(2), &col("B", "bit", false)).is_err());
    }

    /// Decimals stay exact decimal text at any precision the column holds, whatever their
    /// form in the spec; a value the column would round or refuse is an error, as is an
    /// unquoted number a float may have cut. See: issue 27
    #[test]
    fn decimals_stay_exact_issue_27() {
        let amount = ColumnInfo {
            precision: Some(37),
            scale: Some(8),
            ..col("TOTAL", "decimal", true)
        };
        let exact = |v: Value| coerce(&v, &amount);
        let t = |s: &str| Ok(Value::Text(s.into()));
        assert_eq!(
            exact(Value::Text("1234567890123.12345678".into())),
            t("1234567890123.12345678")
        );
        assert_eq!(exact(Value::Text("-00012.50000000".into())), t("-12.5"));
        assert_eq!(exact(Value::Int(0)), t("0"));
        assert_eq!(exact(Value::Float(0.5)), t("0.5"));
        assert_eq!(exact(Value::Text("-0.0".into())), t("0"));
        for refused in [
            Value::Text("1.123456789".into()),
            Value::Text("12345678901234567890123456789012".into()),
            Value::Text("1e5".into()),
            Value::Text("abc".into()),
            Value::Float(1_234_567_890_123.123_4),
        ] {
            assert!(
                matches!(exact(refused.clone()), Err(Error::DecimalDoesNotFit { .. })),
                "{refused:?}"
            );
        }
        // A decimal column of unknown scale takes any exact decimal.
        assert_eq!(
            coerce(
                &Value::Text("1.123456789".into()),
                &col("X", "numeric", true)
            ),
            t("1.123456789")
        );
    }

    /// Dates are read in the forms people write and written in one form; a date column at
    /// midnight gets the date alone; anything else is refused.
    #[test]
    fn dates() {
        let at = |text: &str, ty: &str| coerce(&Value::Text(text.into()), &col("D", ty, true));
        let t = |s: &str| Ok(Value::Text(s.into()));
        assert_eq!(at("9999-12-31", "datetime"), t("9999-12-31T00:00:00"));
        assert_eq!(
            at("2026-01-02 08:30", "datetime2"),
            t("2026-01-02T08:30:00")
        );
        assert_eq!(
            at("2026-01-02T08:30:05.250", "timestamp(6)"),
            t("2026-01-02T08:30:05.250")
        );
        assert_eq!(at("9999-12-31T00:00:00", "date"), t("9999-12-31"));
        assert_eq!(at("2026-01-02T08:30:00", "date"), t("2026-01-02T08:30:00"));
        assert!(at("31/12/9999", "datetime").is_err());
        assert!(at("9999-13-01", "datetime").is_err());
        assert!(coerce(&Value::Int(1), &col("D", "datetime", true)).is_err());
    }

    /// The types the platform uses are carried; exotic ones are refused by name.
    #[test]
    fn supported_types() {
        for ty in [
            "nvarchar",
            "VARCHAR",
            "varbinary",
            "decimal",
            "datetime",
            "bit",
            "tinyint",
            "smallint",
            "bigint",
            "float",
            "int",
            "clob",
            "blob",
            "timestamp(6)",
        ] {
            assert!(supported(ty), "{ty}");
        }
        for ty in [
            "sql_variant",
            "money",
            "geography",
            "hierarchyid",
            "timestamp",
            "bfile",
            "xmltype",
        ] {
            assert!(!supported(ty), "{ty}");
        }
    }
}
