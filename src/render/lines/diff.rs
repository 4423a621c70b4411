//! The characters that change in a value, marked inline, when a diff helps the reader.

use similar::{ChangeTag, TextDiff};

/// Values shorter than this are read whole at a glance: a character diff of `True` and `False`
/// only repeats them.
const DIFF_MIN_CHARS: usize = 24;

/// The character diff of two texts, where it helps: a long text of which little changes (a host
/// in a URL), in at most one place. Two dates, two names or two short words differ everywhere
/// or are read faster whole.
pub(super) fn helpful_diff(old: &str, new: &str) -> Option<String> {
    let longest = old.chars().count().max(new.chars().count());
    if old.is_empty() || new.is_empty() || longest < DIFF_MIN_CHARS {
        return None;
    }
    // Most of the text shared: similar's ratio is 2 * shared / (both lengths).
    if TextDiff::from_chars(old, new).ratio() < 0.6 {
        return None;
    }
    let diff = inline_diff(old, new);
    (diff.matches("[-").count() + diff.matches("[+").count() <= 2).then_some(diff)
}

/// `prod.example.com` → `preprod.example.com` as `[+pre+]prod.example.com`: only what changes is
/// marked, so a long URL with a one-word change reads at a glance.
#[must_use]
pub fn inline_diff(old: &str, new: &str) -> String {
    let diff = TextDiff::from_chars(old, new);
    let mut out = String::new();
    let mut open: Option<ChangeTag> = None;
    for change in diff.iter_all_changes() {
        let tag = change.tag();
        if open != Some(tag) {
            close(&mut out, open);
            match tag {
                ChangeTag::Delete => out.push_str("[-"),
                ChangeTag::Insert => out.push_str("[+"),
                ChangeTag::Equal => {}
            }
            open = Some(tag);
        }
        out.push_str(change.value());
    }
    close(&mut out, open);
    out
}

fn close(out: &mut String, tag: Option<ChangeTag>) {
    match tag {
        Some(ChangeTag::Delete) => out.push_str("-]"),
        Some(ChangeTag::Insert) => out.push_str("+]"),
        _ => {}
    }
}
