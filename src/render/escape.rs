//! Text from a database or a spec made safe to show, once, for each kind of output: the
//! terminal, JSON, Markdown, HTML inside Markdown, DOT and Mermaid labels, error messages.
//!
//! A timer name, a site property, a table name or a spec line is data: it must not move the
//! cursor, recolour the terminal, reverse the reading order of what follows (a bidirectional
//! override turns `exe.txt` into `txt.exe` on screen), start a line of its own, or become a
//! heading, list item or table row of a pull-request comment. Every renderer goes through
//! these functions and no other escaping.

/// Whether `c` is invisible formatting that changes how the text around it reads: the
/// bidirectional embeddings, overrides, isolates and marks, zero-width characters, the soft
/// hyphen, the byte-order mark and the tag characters (Unicode general category Cf).
#[must_use]
pub fn is_format(c: char) -> bool {
    matches!(
        u32::from(c),
        0xAD | 0x600..=0x605
            | 0x61C
            | 0x6DD
            | 0x70F
            | 0x8E2
            | 0x180E
            | 0x200B..=0x200F
            | 0x202A..=0x202E
            | 0x2060..=0x2064
            | 0x2066..=0x206F
            | 0xFEFF
            | 0xFFF9..=0xFFFB
            | 0x110BD
            | 0x110CD
            | 0x1D173..=0x1D17A
            | 0xE0001
            | 0xE0020..=0xE007F
    )
}

/// Whether `c` must not reach an output as itself.
fn unsafe_char(c: char) -> bool {
    c.is_control() || is_format(c)
}

/// `c` written as an escape: `\n`, `\r`, `\t`, else `\u{1b}`.
fn escaped(c: char, out: &mut String) {
    match c {
        '\n' => out.push_str("\\n"),
        '\r' => out.push_str("\\r"),
        '\t' => out.push_str("\\t"),
        c => out.push_str(&format!("\\u{{{:x}}}", u32::from(c))),
    }
}

/// `text` with every control character (a newline, a terminal escape) and every invisible
/// formatting character (a bidirectional override) written as an escape (`\n`, `\u{1b}`,
/// `\u{202e}`): for the terminal, and the base of every other format.
#[must_use]
pub fn printable(text: &str) -> String {
    if !text.chars().any(unsafe_char) {
        return text.to_string();
    }
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        if unsafe_char(c) {
            escaped(c, &mut out);
        } else {
            out.push(c);
        }
    }
    out
}

/// A message of several lines (an error with its statement and journal): its own line
/// breaks kept, every other control or formatting character escaped.
#[must_use]
pub fn message(text: &str) -> String {
    text.split('\n')
        .map(printable)
        .collect::<Vec<_>>()
        .join("\n")
}

/// Text inside a Markdown line (a list item, a table cell, bold text): printable, and every
/// character Markdown reads as structure backslash-escaped, so that it stays text (CommonMark
/// allows a backslash before any ASCII punctuation). A label cannot start a heading, a list
/// item, a quote or a table row, nor end a cell, open a link, emphasis, code or HTML.
#[must_use]
pub fn markdown(text: &str) -> String {
    let text = printable(text);
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        if matches!(
            c,
            '\\' | '`' | '*' | '_' | '[' | ']' | '<' | '>' | '|' | '#' | '!' | '~' | '&'
        ) {
            out.push('\\');
        }
        out.push(c);
    }
    // What only reads as structure at the start of a line: `- `, `+ `, `1. `, `1) `, `=`.
    let lead = out.len() - out.trim_start().len();
    let rest = &out[lead..];
    let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
    let marker = match rest.as_bytes().first() {
        Some(b'-' | b'+' | b'=') => Some(lead),
        Some(b'0'..=b'9') if matches!(rest.as_bytes().get(digits), Some(b'.' | b')')) => {
            Some(lead + digits)
        }
        _ => None,
    };
    if let Some(at) = marker {
        out.insert(at, '\\');
    }
    out
}

/// Text as inline code in Markdown (a table name): printable, inside a run of backticks
/// longer than any inside it.
#[must_use]
pub fn markdown_code(text: &str) -> String {
    let text = printable(text);
    let longest = text.split(|c| c != '`').map(str::len).max().unwrap_or(0);
    let fence = "`".repeat(longest + 1);
    let pad = if text.starts_with('`') || text.ends_with('`') {
        " "
    } else {
        ""
    };
    format!("{fence}{pad}{text}{pad}{fence}")
}

/// Text inside HTML (the Markdown plan's `<summary>`): printable, `&`, `<` and `>` as
/// entities.
#[must_use]
pub fn html(text: &str) -> String {
    printable(text)
        .replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// A JSON document with every invisible formatting character inside its strings written as
/// a `\u` escape: serde_json escapes control characters, not a right-to-left override. The
/// document reads back to the same values.
#[must_use]
pub fn json(document: &str) -> String {
    if !document.chars().any(is_format) {
        return document.to_string();
    }
    let mut out = String::with_capacity(document.len() + 16);
    for c in document.chars() {
        if is_format(c) {
            let mut units = [0u16; 2];
            for unit in c.encode_utf16(&mut units) {
                out.push_str(&format!("\\u{unit:04x}"));
            }
        } else {
            out.push(c);
        }
    }
    out
}

/// Text inside a DOT double-quoted string: printable, `\` and `"` escaped.
#[must_use]
pub fn dot(text: &str) -> String {
    printable(text).replace('\\', "\\\\").replace('"', "\\\"")
}

/// A label inside a Mermaid quoted label: printable, and what Mermaid parses as entities.
#[must_use]
pub fn mermaid(text: &str) -> String {
    printable(text)
        .replace('&', "#amp;")
        .replace('"', "#quot;")
        .replace('<', "#lt;")
        .replace('>', "#gt;")
        .replace('|', "#124;")
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The forged timer names of the attack: no raw control or bidirectional character, no
    /// line of their own, no Markdown structure, in any format. See: issue 33
    #[test]
    fn forged_names_stay_text_in_every_format_issue_33() {
        let forged = [
            "Sync\u{1b}[2J\u{7}Invoices",
            "x\n# 99. fake heading",
            "invoice\u{202e}fdp.exe",
            "a\u{2066}b\u{2069}",
            "| cell | forged |",
            "<img src=x onerror=alert(1)>",
            "[click](https://evil.example)",
        ];
        for name in forged {
            for shown in [
                printable(name),
                markdown(name),
                markdown_code(name),
                html(name),
                dot(name),
                mermaid(name),
            ] {
                assert!(!shown.chars().any(unsafe_char), "{shown:?}");
                assert!(!shown.contains('\n'), "{shown:?}");
            }
            let json_text = json(&serde_json::to_string(name).unwrap());
            assert!(!json_text.chars().any(unsafe_char), "{json_text}");
            assert_eq!(serde_json::from_str::<String>(&json_text).unwrap(), name);
        }
        assert_eq!(printable("a\u{202e}b"), "a\\u{202e}b");
        assert_eq!(markdown("# 99. fake"), "\\# 99. fake");
        assert_eq!(markdown("99. fake"), "99\\. fake");
        assert_eq!(markdown("- item"), "\\- item");
        assert_eq!(markdown("a | b"), "a \\| b");
        assert_eq!(
            markdown("SyncInvoicesToERP (2026-11-29)"),
            "SyncInvoicesToERP (2026-11-29)"
        );
        assert_eq!(markdown_code("dbo.a`b"), "``dbo.a`b``");
        assert_eq!(
            message("line one\nline\u{1b} two"),
            "line one\nline\\u{1b} two"
        );
    }
}
