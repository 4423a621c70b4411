//! tiberius row cells → engine-neutral values, binary-safe and NULL-safe.

use std::borrow::Cow;

use tiberius::{ColumnData, ToSql};

use crate::state::Value;

/// A value bound as a statement parameter: a whole number typed as its column is (`INT` for an
/// `INT` column...) where it fits, so that the server compares like with like.
pub struct SqlParam<'a>(pub &'a crate::sql::Param);

impl ToSql for SqlParam<'_> {
    fn to_sql(&self) -> ColumnData<'_> {
        use crate::sql::ColumnType;
        match (&self.0.value, self.0.column_type) {
            (Value::Int(i), Some(ColumnType::Int)) if i32::try_from(*i).is_ok() => {
                ColumnData::I32(i32::try_from(*i).ok())
            }
            (Value::Int(i), Some(ColumnType::SmallInt)) if i16::try_from(*i).is_ok() => {
                ColumnData::I16(i16::try_from(*i).ok())
            }
            (Value::Int(i), Some(ColumnType::TinyInt)) if u8::try_from(*i).is_ok() => {
                ColumnData::U8(u8::try_from(*i).ok())
            }
            (value, _) => plain(value),
        }
    }
}

/// A value as tiberius binds it by its own type.
fn plain(value: &Value) -> ColumnData<'_> {
    {
        match value {
            // An untyped NULL: nvarchar converts implicitly to every column type.
            Value::Null => ColumnData::String(None),
            Value::Bool(b) => ColumnData::Bit(Some(*b)),
            Value::Int(i) => ColumnData::I64(Some(*i)),
            Value::Float(x) => ColumnData::F64(Some(*x)),
            Value::Text(t) => ColumnData::String(Some(Cow::Borrowed(t.as_str()))),
            Value::Bytes(b) => ColumnData::Binary(Some(Cow::Borrowed(b.as_slice()))),
        }
    }
}

/// Converts one cell.
#[must_use]
pub fn value(cell: ColumnData<'static>) -> Value {
    match cell {
        ColumnData::U8(v) => v.map_or(Value::Null, |v| Value::Int(i64::from(v))),
        ColumnData::I16(v) => v.map_or(Value::Null, |v| Value::Int(i64::from(v))),
        ColumnData::I32(v) => v.map_or(Value::Null, |v| Value::Int(i64::from(v))),
        ColumnData::I64(v) => v.map_or(Value::Null, Value::Int),
        ColumnData::F32(v) => v.map_or(Value::Null, |v| Value::Float(f64::from(v))),
        ColumnData::F64(v) => v.map_or(Value::Null, Value::Float),
        ColumnData::Bit(v) => v.map_or(Value::Null, Value::Bool),
        ColumnData::String(v) => v.map_or(Value::Null, |s| Value::Text(s.into_owned())),
        ColumnData::Guid(v) => v.map_or(Value::Null, |g| Value::Text(g.to_string().to_uppercase())),
        ColumnData::Binary(v) => v.map_or(Value::Null, |b| Value::Bytes(b.into_owned())),
        ColumnData::Numeric(v) => {
            v.map_or(Value::Null, |n| Value::Text(decimal(n.value(), n.scale())))
        }
        ColumnData::Xml(v) => v.map_or(Value::Null, |x| Value::Text(x.as_ref().to_string())),
        ColumnData::DateTime(v) => v.map_or(Value::Null, |d| {
            // 1/300 s ticks since midnight, rounded to the millisecond SQL Server shows (.003,
            // .007): written back, it rounds to the same tick.
            let ms = (u64::from(d.seconds_fragments()) * 10 + 1) / 3;
            Value::Text(timestamp(i64::from(d.days()), ms * 1_000_000))
        }),
        ColumnData::SmallDateTime(v) => v.map_or(Value::Null, |d| {
            Value::Text(timestamp(
                i64::from(d.days()),
                u64::from(d.seconds_fragments()) * 60 * 1_000_000_000,
            ))
        }),
        ColumnData::Date(v) => v.map_or(Value::Null, |d| {
            Value::Text(date(i64::from(d.days()) - DAYS_0001_TO_1900))
        }),
        ColumnData::Time(v) => v.map_or(Value::Null, |t| Value::Text(time_of_day(time_nanos(&t)))),
        ColumnData::DateTime2(v) => v.map_or(Value::Null, |d| {
            let days = i64::from(d.date().days()) - DAYS_0001_TO_1900;
            Value::Text(timestamp(days, time_nanos(&d.time())))
        }),
        ColumnData::DateTimeOffset(v) => v.map_or(Value::Null, |d| {
            let dt = d.datetime2();
            let days = i64::from(dt.date().days()) - DAYS_0001_TO_1900;
            let offset = d.offset();
            let sign = if offset < 0 { '-' } else { '+' };
            let offset = offset.unsigned_abs();
            Value::Text(format!(
                "{}{sign}{:02}:{:02}",
                timestamp(days, time_nanos(&dt.time())),
                offset / 60,
                offset % 60
            ))
        }),
    }
}

/// A decimal's exact text: `value` scaled down by `scale` digits. (tiberius's own rendering
/// drops the sign of the fraction of negative numbers: `-1.5` comes out as `-1.-5`.)
fn decimal(value: i128, scale: u8) -> String {
    let digits = value.unsigned_abs().to_string();
    let scale = usize::from(scale);
    let sign = if value < 0 { "-" } else { "" };
    if scale == 0 {
        return format!("{sign}{digits}");
    }
    let padded = format!("{digits:0>width$}", width = scale + 1);
    let (int, frac) = padded.split_at(padded.len() - scale);
    format!("{sign}{int}.{frac}")
}

/// Days from 0001-01-01 (TDS date epoch) to 1900-01-01 (TDS datetime epoch).
const DAYS_0001_TO_1900: i64 = 693_595;

fn time_nanos(t: &tiberius::time::Time) -> u64 {
    t.increments() * 10u64.pow(9 - u32::from(t.scale()))
}

/// `YYYY-MM-DD` for a day count from 1900-01-01 (civil-from-days, proleptic Gregorian).
fn date(days_since_1900: i64) -> String {
    let z = days_since_1900 + 693_901; // days since 0000-03-01
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!("{year:04}-{month:02}-{day:02}")
}

fn time_of_day(nanos: u64) -> String {
    let secs = nanos / 1_000_000_000;
    let frac = nanos % 1_000_000_000;
    let base = format!("{:02}:{:02}:{:02}", secs / 3600, secs / 60 % 60, secs % 60);
    if frac == 0 {
        base
    } else {
        format!("{base}.{}", format!("{frac:09}").trim_end_matches('0'))
    }
}

fn timestamp(days_since_1900: i64, nanos: u64) -> String {
    format!("{}T{}", date(days_since_1900), time_of_day(nanos))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Day counts turn into the right calendar dates.
    #[test]
    fn dates() {
        assert_eq!(date(0), "1900-01-01");
        assert_eq!(date(59), "1900-03-01");
        assert_eq!(date(36_524), "2000-01-01");
        assert_eq!(date(45_000), "2023-03-17");
    }

    /// Times keep their fraction without trailing zeros.
    #[test]
    fn times() {
        assert_eq!(time_of_day(0), "00:00:00");
        assert_eq!(time_of_day(3_723_500_000_000), "01:02:03.5");
    }

    /// NULL stays NULL and binary data survives byte for byte.
    #[test]
    fn null_and_binary_cells() {
        assert_eq!(value(ColumnData::I32(None)), Value::Null);
        assert_eq!(
            value(ColumnData::Binary(Some(Cow::Owned(vec![0, 255, 10])))),
            Value::Bytes(vec![0, 255, 10])
        );
    }

    /// Decimals keep every digit and their sign, DECIMAL(37,8) included.
    #[test]
    fn decimals_are_exact() {
        let n = |v: i128, s: u8| {
            value(ColumnData::Numeric(Some(
                tiberius::numeric::Numeric::new_with_scale(v, s),
            )))
        };
        assert_eq!(
            n(-1_234_567_890_123_456_789_012_345_678_900_000_001, 8),
            Value::Text("-12345678901234567890123456789.00000001".into())
        );
        assert_eq!(n(1, 8), Value::Text("0.00000001".into()));
        assert_eq!(n(-5, 1), Value::Text("-0.5".into()));
        assert_eq!(n(125_000, 2), Value::Text("1250.00".into()));
        assert_eq!(n(-7, 0), Value::Text("-7".into()));
    }

    /// DATETIME ticks (1/300 s) become the milliseconds SQL Server shows.
    #[test]
    fn datetime_milliseconds() {
        let at = |fragments: u32| {
            value(ColumnData::DateTime(Some(tiberius::time::DateTime::new(
                0, fragments,
            ))))
        };
        assert_eq!(at(299), Value::Text("1900-01-01T00:00:00.997".into()));
        assert_eq!(at(1), Value::Text("1900-01-01T00:00:00.003".into()));
        assert_eq!(at(2), Value::Text("1900-01-01T00:00:00.007".into()));
        assert_eq!(at(300 * 59), Value::Text("1900-01-01T00:00:59".into()));
    }

    /// SQL Server's long values (PLP on the wire, whole in tiberius) convert whole, and bind
    /// whole: 100,000 characters and a binary value of 1 MiB.
    #[test]
    fn long_values_convert_whole() {
        let text: String = "ab'😀".repeat(25_000);
        let bytes: Vec<u8> = (0..=255u8).cycle().take(1 << 20).collect();
        assert_eq!(
            value(ColumnData::String(Some(Cow::Owned(text.clone())))),
            Value::Text(text.clone())
        );
        assert_eq!(
            value(ColumnData::Binary(Some(Cow::Owned(bytes.clone())))),
            Value::Bytes(bytes.clone())
        );
        let as_text = crate::sql::Param::new(Value::Text(text.clone()), false);
        assert!(matches!(SqlParam(&as_text).to_sql(), ColumnData::String(Some(s)) if s == text));
        let as_bytes = crate::sql::Param::new(Value::Bytes(bytes.clone()), false);
        assert!(
            matches!(SqlParam(&as_bytes).to_sql(), ColumnData::Binary(Some(b)) if *b == bytes[..])
        );
    }

    /// A whole number is bound with its column's type where it fits (the server compares like
    /// with like), as `BIGINT` otherwise.
    #[test]
    fn whole_numbers_take_their_column_type() {
        use crate::sql::ColumnType;
        let typed = |v: i64, t: Option<ColumnType>| crate::sql::Param {
            value: Value::Int(v),
            secret: false,
            column_type: t,
        };
        assert!(matches!(
            SqlParam(&typed(7, Some(ColumnType::Int))).to_sql(),
            ColumnData::I32(Some(7))
        ));
        assert!(matches!(
            SqlParam(&typed(7, Some(ColumnType::SmallInt))).to_sql(),
            ColumnData::I16(Some(7))
        ));
        assert!(matches!(
            SqlParam(&typed(7, Some(ColumnType::TinyInt))).to_sql(),
            ColumnData::U8(Some(7))
        ));
        assert!(matches!(
            SqlParam(&typed(1 << 40, Some(ColumnType::Int))).to_sql(),
            ColumnData::I64(Some(_))
        ));
        assert!(matches!(
            SqlParam(&typed(-1, Some(ColumnType::TinyInt))).to_sql(),
            ColumnData::I64(Some(-1))
        ));
        assert!(matches!(
            SqlParam(&typed(7, None)).to_sql(),
            ColumnData::I64(Some(7))
        ));
    }
}
