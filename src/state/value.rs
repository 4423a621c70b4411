//! Engine-neutral cell values, and how a person is shown one.
//!
//! Values are what the engine read from a row or what the spec asks a column to hold. They carry
//! no database type: the engine converts them to a typed parameter from the catalog's column type.

use std::fmt;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// One cell value, as read from the database or written in a spec.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(untagged)]
pub enum Value {
    /// SQL NULL (`null` or `~` in YAML).
    Null,
    /// A boolean; the engine writes it as 1/0 into bit or number columns.
    Bool(bool),
    /// A whole number.
    Int(i64),
    /// A floating point number.
    Float(f64),
    /// Text (also decimals, dates and GUIDs read from the database, in their canonical text form).
    Text(String),
    /// Binary data, written `{hex: "00ff"}` (a plain string is text, so binary data must say
    /// it is binary to read back as binary: a captured `VARBINARY` value, for one).
    Bytes(
        #[serde(with = "hex_bytes")]
        #[schemars(with = "hex_bytes::Hex")]
        Vec<u8>,
    ),
}

impl Value {
    /// Whether this is SQL NULL.
    #[must_use]
    pub fn is_null(&self) -> bool {
        matches!(self, Value::Null)
    }
}

/// Texts longer than this many characters are shown abbreviated.
pub const SHORT_TEXT: usize = 100;

/// Binary values longer than this many bytes are shown by their size.
const SHORT_BINARY: usize = 32;

/// How much of a long text is shown before its size.
const SHOWN_START: usize = 60;

impl Value {
    /// Whether the value is short enough to be read whole (and compared character by
    /// character) in a plan.
    #[must_use]
    pub fn is_short(&self) -> bool {
        match self {
            Value::Text(t) => t.chars().nth(SHORT_TEXT).is_none(),
            Value::Bytes(b) => b.len() <= SHORT_BINARY,
            _ => true,
        }
    }
}

impl Value {
    /// Whether two values are the same value, however each was read: a decimal read as text
    /// (`"0.00000000"`) is the number `0` a spec writes, a bit read as `true` is the `1` a
    /// statement wrote.
    #[must_use]
    pub fn same_as(&self, other: &Value) -> bool {
        if self == other {
            return true;
        }
        match (self, other) {
            (Value::Bool(b), Value::Int(i)) | (Value::Int(i), Value::Bool(b)) => {
                return *i == i64::from(*b)
            }
            _ => {}
        }
        match (self.decimal(), other.decimal()) {
            (Some(a), Some(b)) => a == b,
            _ => false,
        }
    }

    /// A number's canonical decimal text (`-0012.500` → `-12.5`), when the value is one.
    fn decimal(&self) -> Option<String> {
        let text = match self {
            Value::Int(i) => i.to_string(),
            Value::Float(x) if x.is_finite() => x.to_string(),
            Value::Text(t) => t.trim().to_string(),
            _ => return None,
        };
        let (negative, body) = match text.strip_prefix('-') {
            Some(rest) => (true, rest),
            None => (false, text.strip_prefix('+').unwrap_or(&text)),
        };
        let (int, frac) = body.split_once('.').unwrap_or((body, ""));
        if int.is_empty() && frac.is_empty()
            || !int.bytes().chain(frac.bytes()).all(|b| b.is_ascii_digit())
        {
            return None;
        }
        let int = int.trim_start_matches('0');
        let frac = frac.trim_end_matches('0');
        let digits = format!(
            "{}{}{}",
            if int.is_empty() { "0" } else { int },
            if frac.is_empty() { "" } else { "." },
            frac
        );
        Some(if negative && digits != "0" {
            format!("-{digits}")
        } else {
            digits
        })
    }
}

/// `65535` as `65,535`.
#[must_use]
pub fn grouped(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

impl fmt::Display for Value {
    /// A short, unambiguous rendering for people: text is quoted, NULL is a keyword, and a
    /// long value shows its start and its size (`"abc…" (6,000 characters)`,
    /// `<binary, 1.0 MiB>`), never all of it.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Value::Null => f.write_str("NULL"),
            Value::Bool(b) => write!(f, "{b}"),
            Value::Int(i) => write!(f, "{i}"),
            // Debug writes an exponent where Display would write hundreds of digits.
            Value::Float(x) => write!(f, "{x:?}"),
            Value::Text(s) if self.is_short() => write!(f, "{s:?}"),
            Value::Text(s) => {
                let start: String = s.chars().take(SHOWN_START).collect();
                let quoted = format!("{start:?}");
                let open = quoted.strip_suffix('"').unwrap_or(&quoted);
                write!(
                    f,
                    "{open}…\" ({} characters)",
                    grouped(s.chars().count() as u64)
                )
            }
            Value::Bytes(b) if self.is_short() => {
                f.write_str("0x")?;
                for byte in b {
                    write!(f, "{byte:02X}")?;
                }
                Ok(())
            }
            Value::Bytes(b) if b.len() < 1 << 20 => {
                write!(f, "<binary, {} bytes>", grouped(b.len() as u64))
            }
            Value::Bytes(b) => write!(
                f,
                "<binary, {:.1} MiB>",
                b.len() as f64 / f64::from(1 << 20)
            ),
        }
    }
}

/// What is printed in place of a secret value.
pub const MASK: &str = "(sensitive value)";

/// Bytes as lower-case hexadecimal, two digits each: how digests, fingerprints and binary
/// values are written everywhere.
#[must_use]
pub fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write as _;
    bytes
        .iter()
        .fold(String::with_capacity(2 * bytes.len()), |mut s, b| {
            let _ = write!(s, "{b:02x}");
            s
        })
}

/// The bytes of hexadecimal text, two digits each (either case); `None` for an odd length or
/// any other character. The one decoder of what [`hex`] writes.
#[must_use]
pub fn unhex(text: &str) -> Option<Vec<u8>> {
    if !text.len().is_multiple_of(2) {
        return None;
    }
    (0..text.len())
        .step_by(2)
        .map(|i| {
            text.get(i..i + 2)
                .filter(|pair| pair.bytes().all(|b| b.is_ascii_hexdigit()))
                .and_then(|pair| u8::from_str_radix(pair, 16).ok())
        })
        .collect()
}

mod hex_bytes {
    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    /// Binary data as written: its bytes in hexadecimal, two digits each.
    #[derive(Serialize, Deserialize, schemars::JsonSchema)]
    #[serde(deny_unknown_fields)]
    pub struct Hex {
        /// The bytes, two hexadecimal digits each (`"00ff"`).
        #[schemars(regex(pattern = r"^([0-9a-fA-F]{2})*$"))]
        pub hex: String,
    }

    pub fn serialize<S: Serializer>(bytes: &[u8], s: S) -> Result<S::Ok, S::Error> {
        Hex {
            hex: super::hex(bytes),
        }
        .serialize(s)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<u8>, D::Error> {
        let text = Hex::deserialize(d)?.hex;
        super::unhex(&text).ok_or_else(|| serde::de::Error::custom("invalid hex byte string"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Hexadecimal reads back as written, in either case; an odd length, a sign or any other
    /// character is no hexadecimal (`from_str_radix` alone takes `+f`).
    #[test]
    fn one_hex_codec() {
        assert_eq!(unhex(&hex(&[0, 0xab, 0xff])), Some(vec![0, 0xab, 0xff]));
        assert_eq!(unhex("00ABff"), Some(vec![0, 0xab, 0xff]));
        assert_eq!(unhex(""), Some(vec![]));
        for bad in ["0", "+f", "0g", "é0", " 0"] {
            assert_eq!(unhex(bad), None, "{bad}");
        }
    }

    /// Binary data reads back as binary wherever a value is written as YAML or JSON (a
    /// captured file, a saved plan), never as the text of its hex digits; a plain string stays
    /// text.
    #[test]
    fn bytes_read_back_as_bytes() {
        let bytes = Value::Bytes(vec![0x7a, 0x3a, 0, 0xff]);
        let yaml = serde_yaml::to_string(&bytes).expect("yaml");
        assert_eq!(yaml.trim(), "hex: 7a3a00ff");
        assert_eq!(serde_yaml::from_str::<Value>(&yaml).expect("reads"), bytes);
        let json = serde_json::to_string(&bytes).expect("json");
        assert_eq!(serde_json::from_str::<Value>(&json).expect("reads"), bytes);
        assert_eq!(
            serde_yaml::from_str::<Value>("7a3a00ff").expect("reads"),
            Value::Text("7a3a00ff".into())
        );
        assert!(serde_yaml::from_str::<Value>("{hex: 7a3}").is_err());
        assert!(serde_yaml::from_str::<Value>("{hex: zz}").is_err());
    }

    /// Text is quoted so that a trailing space or an empty string is visible in a plan.
    #[test]
    fn text_display_is_quoted() {
        assert_eq!(Value::Text(" ".into()).to_string(), "\" \"");
        assert_eq!(Value::Null.to_string(), "NULL");
        assert_eq!(Value::Bytes(vec![1, 0xAB]).to_string(), "0x01AB");
    }

    /// Numbers are the same however they were read; other values by kind and content.
    #[test]
    fn same_values() {
        let t = |s: &str| Value::Text(s.into());
        assert!(t("0.00000000").same_as(&Value::Int(0)));
        assert!(t("-12.50").same_as(&Value::Float(-12.5)));
        assert!(t("1500.00000000").same_as(&t("1500")));
        assert!(!t("0.00000001").same_as(&Value::Int(0)));
        assert!(!t("abc").same_as(&t("ABC")));
        assert!(!t("").same_as(&Value::Int(0)));
        assert!(!Value::Null.same_as(&Value::Int(0)));
        assert!(t("-0.0").same_as(&Value::Int(0)));
    }

    /// Long values show their start and their size, never all of them.
    #[test]
    fn long_values_are_abbreviated() {
        let text = Value::Text("abc".repeat(2_000));
        let shown = text.to_string();
        assert!(shown.starts_with("\"abcabc"), "{shown}");
        assert!(shown.ends_with("…\" (6,000 characters)"), "{shown}");
        assert!(shown.chars().count() < 90, "{shown}");
        let quotes = Value::Text("\"".repeat(200)).to_string();
        assert!(quotes.ends_with("…\" (200 characters)"), "{quotes}");
        assert_eq!(
            Value::Bytes(vec![0; 65_535]).to_string(),
            "<binary, 65,535 bytes>"
        );
        assert_eq!(
            Value::Bytes(vec![0; 1 << 20]).to_string(),
            "<binary, 1.0 MiB>"
        );
        assert_eq!(Value::Text("x".repeat(100)).to_string().len(), 102);
        assert_eq!(grouped(1_234_567), "1,234,567");
        assert_eq!(grouped(999), "999");
    }

    /// YAML scalars map onto the value kinds users expect.
    #[test]
    fn yaml_scalars_parse() {
        let v: Vec<Value> = serde_yaml::from_str("[~, true, 3, 1.5, text]").unwrap();
        assert_eq!(
            v,
            vec![
                Value::Null,
                Value::Bool(true),
                Value::Int(3),
                Value::Float(1.5),
                Value::Text("text".into())
            ]
        );
    }
}
