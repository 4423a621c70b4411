//! Writing YAML that every YAML reader reads as written: YAML 1.2 readers (postclone's own)
//! and YAML 1.1 ones (PyYAML, and the validators built on it) alike.
//!
//! A plain scalar means different things to them: `2026-12-02T14:54:23Z` is a string in YAML
//! 1.2 and a timestamp in 1.1, `yes`, `on` and `off` are booleans in 1.1, `0777` an octal
//! number, `1.5e300` a string. So every string is written double-quoted (JSON's escapes,
//! which both read), every key that is not a plain word is quoted, and characters that YAML
//! 1.1 reads as line breaks or refuses are written as escapes.

use std::fmt::Write;

use serde_json::Value as Json;

/// `value` as a block YAML document.
///
/// # Errors
/// A value serde_json cannot represent (a map with non-string keys).
pub fn to_string<T: serde::Serialize>(value: &T) -> Result<String, serde_json::Error> {
    let json = serde_json::to_value(value)?;
    let mut out = String::new();
    match &json {
        Json::Object(map) if !map.is_empty() => mapping(map, 0, &mut out),
        other => {
            out.push_str(&scalar(other));
            out.push('\n');
        }
    }
    Ok(out)
}

fn mapping(map: &serde_json::Map<String, Json>, indent: usize, out: &mut String) {
    for (i, (key, value)) in map.iter().enumerate() {
        // The first key of a list item goes on the item's own line, after `- `.
        if i > 0 || !out.ends_with("- ") {
            out.push_str(&" ".repeat(indent));
        }
        out.push_str(&key_text(key));
        out.push(':');
        node(value, indent, out);
    }
}

/// The value after `key:` at `indent`.
fn node(value: &Json, indent: usize, out: &mut String) {
    match value {
        Json::Object(map) if !map.is_empty() => {
            out.push('\n');
            mapping(map, indent + 2, out);
        }
        Json::Array(items) if !items.is_empty() => {
            out.push('\n');
            for item in items {
                out.push_str(&" ".repeat(indent));
                out.push_str("- ");
                match item {
                    Json::Object(map) if !map.is_empty() => mapping(map, indent + 2, out),
                    Json::Array(_) => {
                        // A list in a list: written in flow style, which both read alike.
                        out.push_str(&flow(item));
                        out.push('\n');
                    }
                    other => {
                        out.push_str(&scalar(other));
                        out.push('\n');
                    }
                }
            }
        }
        other => {
            out.push(' ');
            out.push_str(&scalar(other));
            out.push('\n');
        }
    }
}

fn flow(value: &Json) -> String {
    match value {
        Json::Array(items) => format!(
            "[{}]",
            items.iter().map(flow).collect::<Vec<_>>().join(", ")
        ),
        Json::Object(map) => format!(
            "{{{}}}",
            map.iter()
                .map(|(k, v)| format!("{}: {}", key_text(k), flow(v)))
                .collect::<Vec<_>>()
                .join(", ")
        ),
        other => scalar(other),
    }
}

fn scalar(value: &Json) -> String {
    match value {
        Json::Null => "null".into(),
        Json::Bool(b) => b.to_string(),
        Json::Number(n) if n.is_f64() => float(&n.to_string()),
        Json::Number(n) => n.to_string(),
        Json::String(s) => quoted(s),
        Json::Array(_) | Json::Object(_) => flow(value),
    }
}

/// A float as YAML 1.1 reads one too: a point in the mantissa, a sign in the exponent
/// (`1.5e300` is a string there; `1.5e+300` a float in both).
fn float(text: &str) -> String {
    let (mantissa, exponent) = match text.split_once(['e', 'E']) {
        Some((m, e)) => (m, Some(e)),
        None => (text, None),
    };
    let mut out = mantissa.to_string();
    if !out.contains('.') {
        out.push_str(".0");
    }
    if let Some(e) = exponent {
        out.push('e');
        if !e.starts_with(['+', '-']) {
            out.push('+');
        }
        out.push_str(e);
    }
    out
}

/// A string double-quoted with JSON's escapes, and as escapes too what YAML 1.1 reads as a
/// line break (NEL, the line and paragraph separators) or refuses (DEL, C1 controls, the
/// byte-order mark, U+FFFE, U+FFFF).
fn quoted(text: &str) -> String {
    let json = serde_json::to_string(text).unwrap_or_else(|_| "\"\"".into());
    let mut out = String::with_capacity(json.len());
    for c in json.chars() {
        if matches!(
            c,
            '\u{7f}'..='\u{9f}' | '\u{2028}' | '\u{2029}' | '\u{feff}' | '\u{fffe}' | '\u{ffff}'
        ) {
            let _ = write!(out, "\\u{:04x}", u32::from(c));
        } else {
            out.push(c);
        }
    }
    out
}

/// A key: as it is when it is a plain word that no YAML reads as anything but a string,
/// else quoted.
fn key_text(key: &str) -> String {
    let word = key.chars().next().is_some_and(|c| c.is_ascii_alphabetic())
        && key
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
    let special = matches!(
        key.to_ascii_lowercase().as_str(),
        "y" | "n" | "yes" | "no" | "on" | "off" | "true" | "false" | "null"
    );
    if word && !special {
        key.to_string()
    } else {
        quoted(key)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What YAML 1.1 would read as another type is written so that it reads as written, and
    /// the text reads back to the same values. See: issue 33
    #[test]
    fn every_reader_reads_what_was_written_issue_33() {
        let doc = serde_json::json!({
            "captured": {
                "from": { "server": "pre-sql01", "database": "OS_PREPROD", "at": "2026-12-02T14:54:23Z" },
                "rows": {
                    "carried-site-properties": [
                        { "key": { "module": "0777", "yes": "on" }, "values": { "VALUE": "yes", "N": 1.5e300, "B": { "hex": "00ff" } } },
                        { "key": { "module": "a\u{2028}b\u{85}c\u{7f}" }, "values": { "VALUE": null, "X": [1, "no"] } }
                    ]
                }
            }
        });
        let text = to_string(&doc).unwrap();
        assert!(text.contains("at: \"2026-12-02T14:54:23Z\""), "{text}");
        assert!(text.contains("\"yes\": \"on\""), "{text}");
        assert!(text.contains("\"N\": 1.5e+300"), "{text}");
        assert!(
            !text.contains('\u{2028}') && !text.contains('\u{85}'),
            "{text}"
        );
        let back: serde_json::Value = serde_yaml::from_str(&text).unwrap();
        assert_eq!(back, doc, "{text}");
    }
}
