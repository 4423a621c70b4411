//! Copies of masked originals: the values masking replaces, reduced to keyed digests of their
//! normalised forms, and the candidates of any other value compared with them. No original is
//! kept: only 16 bytes of HMAC-SHA-256 per form, under the masking key.
//!
//! Forms: an email address without case; a phone number as its digits (7 to 15 of them); a
//! text trimmed, without case, its blanks collapsed; and, for originals of two to eight words,
//! the sequence of their words, found inside free text where the same words follow each other.

use std::collections::HashMap;

use hmac::{Hmac, Mac};
use sha2::Sha256;

use crate::state::desired::ResourceId;
use crate::state::observed::TableRef;
use crate::state::Value;

/// The longest word sequence looked for inside free text.
const MAX_WORDS: usize = 8;

/// The shortest whole text compared (shorter ones are too common to be a copy).
const MIN_TEXT: usize = 3;

/// What a form is; part of its digest, so that a name and an email never compare equal.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Form {
    Email,
    Phone,
    Text,
    Words,
}

impl Form {
    fn tag(self) -> &'static [u8] {
        match self {
            Form::Email => b"email",
            Form::Phone => b"phone",
            Form::Text => b"text",
            Form::Words => b"words",
        }
    }
}

type Digest16 = [u8; 16];

/// The digests of every original a plan masks, each with the attribute it comes from.
#[derive(Clone, Default)]
pub struct Originals {
    key: Vec<u8>,
    /// The first-declared origin of each digest (the same text can be the original of two
    /// attributes; the earlier-declared one is where it comes from). A plain number rather than a
    /// list keeps each entry at 20 bytes: the set grows with the values a plan masks.
    by_digest: HashMap<Digest16, u32>,
    /// `resource.Attribute`, by index.
    origins: Vec<String>,
    /// Originals added.
    count: u64,
    /// The longest word sequence among the originals.
    longest: usize,
}

// Never the digests: they are not originals, but there is nothing to see in them.
impl std::fmt::Debug for Originals {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Originals")
            .field("origins", &self.origins)
            .field("count", &self.count)
            .finish()
    }
}

impl PartialEq for Originals {
    fn eq(&self, other: &Self) -> bool {
        self.origins == other.origins && self.by_digest == other.by_digest
    }
}

impl Originals {
    /// An empty set whose digests are keyed with `key` (the masking key).
    #[must_use]
    pub fn new(key: &[u8]) -> Originals {
        Originals {
            key: key.to_vec(),
            ..Originals::default()
        }
    }

    /// The index of an origin (`crm-customers.Email`), added once.
    pub fn origin(&mut self, resource: &ResourceId, attribute: &str) -> usize {
        let name = format!("{resource}.{attribute}");
        match self.origins.iter().position(|o| *o == name) {
            Some(i) => i,
            None => {
                self.origins.push(name);
                self.origins.len() - 1
            }
        }
    }

    /// Every origin, by index.
    #[must_use]
    pub fn origins(&self) -> &[String] {
        &self.origins
    }

    /// How many originals were added.
    #[must_use]
    pub fn count(&self) -> u64 {
        self.count
    }

    fn digest(&self, form: Form, text: &str) -> Digest16 {
        // HMAC takes a key of any length: this cannot fail.
        let Ok(mut mac) = <Hmac<Sha256> as Mac>::new_from_slice(&self.key) else {
            return [0; 16];
        };
        mac.update(form.tag());
        mac.update(b"\0");
        mac.update(text.as_bytes());
        let full = mac.finalize().into_bytes();
        let mut out = [0u8; 16];
        out.copy_from_slice(&full[..16]);
        out
    }

    /// Adds the forms of one original value of `origin`.
    pub fn add(&mut self, origin: usize, value: &Value) {
        let Value::Text(text) = value else {
            return;
        };
        let mut forms: Vec<(Form, String)> = Vec::new();
        if let Some(whole) = normal_text(text) {
            forms.push((Form::Text, whole));
        }
        forms.extend(emails_in(text).into_iter().map(|e| (Form::Email, e)));
        forms.extend(phones_in(text).into_iter().map(|p| (Form::Phone, p)));
        let words = words(text);
        if (2..=MAX_WORDS).contains(&words.len()) {
            self.longest = self.longest.max(words.len());
            forms.push((Form::Words, words.join(" ")));
        }
        if forms.is_empty() {
            return;
        }
        self.count += 1;
        for (form, text) in forms {
            let digest = self.digest(form, &text);
            let origin = u32::try_from(origin).unwrap_or(u32::MAX);
            let first = self.by_digest.entry(digest).or_insert(origin);
            *first = (*first).min(origin);
        }
    }

    /// The origin of an original `text` holds a copy of, if any: the whole text, an email or a
    /// phone number inside it, or a word sequence of an original. For a text that is itself an
    /// original of `own` (a masked column), only the originals of attributes declared before
    /// it count: of two masked columns holding the same value, the later one holds the copy.
    #[must_use]
    pub fn copied_in(&self, text: &str, own: Option<usize>) -> Option<usize> {
        if self.by_digest.is_empty() {
            return None;
        }
        let hit = |form: Form, t: &str| {
            self.by_digest
                .get(&self.digest(form, t))
                .map(|&o| o as usize)
                .filter(|o| own.is_none_or(|own| *o < own))
        };
        if let Some(found) = normal_text(text).and_then(|w| hit(Form::Text, &w)) {
            return Some(found);
        }
        for email in emails_in(text) {
            if let Some(found) = hit(Form::Email, &email) {
                return Some(found);
            }
        }
        for phone in phones_in(text) {
            if let Some(found) = hit(Form::Phone, &phone) {
                return Some(found);
            }
        }
        let words = words(text);
        for n in 2..=self.longest.min(words.len()) {
            for window in words.windows(n) {
                if let Some(found) = hit(Form::Words, &window.join(" ")) {
                    return Some(found);
                }
            }
        }
        None
    }
}

/// A text trimmed, without case, its blanks collapsed; `None` when too short to compare.
fn normal_text(text: &str) -> Option<String> {
    let out = text
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .to_lowercase();
    (out.chars().count() >= MIN_TEXT).then_some(out)
}

/// The words of a text, without case (letters and digits; anything else separates).
fn words(text: &str) -> Vec<String> {
    text.split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(str::to_lowercase)
        .collect()
}

/// Every email address inside a text, without case.
fn emails_in(text: &str) -> Vec<String> {
    let part = |c: char| c.is_alphanumeric() || "._%+-".contains(c);
    let mut out = Vec::new();
    for (at, _) in text.match_indices('@') {
        let local: String = text[..at]
            .chars()
            .rev()
            .take_while(|c| part(*c))
            .collect::<Vec<_>>()
            .into_iter()
            .rev()
            .collect();
        let domain: String = text[at + 1..]
            .chars()
            .take_while(|c| c.is_alphanumeric() || ".-".contains(*c))
            .collect();
        let domain = domain.trim_end_matches('.');
        if !local.is_empty() && domain.contains('.') {
            out.push(format!("{local}@{domain}").to_lowercase());
        }
    }
    out
}

/// Every phone number inside a text, as its digits: runs of digits and the signs numbers are
/// written with (`+`, blanks, `-`, `.`, `(`, `)`), of 7 to 15 digits; an international `00`
/// prefix is written `+`, so it is left out like the `+`.
fn phones_in(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut digits = String::new();
    let mut flush = |digits: &mut String| {
        let number = digits.strip_prefix("00").unwrap_or(digits);
        if (7..=15).contains(&number.len()) {
            out.push(number.to_string());
        }
        digits.clear();
    };
    for c in text.chars() {
        if c.is_ascii_digit() {
            digits.push(c);
        } else if !"+ -.()".contains(c) {
            flush(&mut digits);
        }
    }
    flush(&mut digits);
    out
}

/// A copy of a masked original, found in a scanned column: named by table, key and column,
/// never shown.
#[derive(Debug, Clone, PartialEq)]
pub struct Copy {
    /// The table.
    pub table: TableRef,
    /// The row's key columns and values.
    pub key: Vec<(String, Value)>,
    /// The column.
    pub column: String,
    /// The masked attribute the original comes from (`crm-customers.Email`).
    pub origin: String,
    /// The masking rule of this plan that masks the column holding the copy, if one does.
    pub covered_by: Option<ResourceId>,
}

/// A column the copies scan did not read, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NotScanned {
    /// The table.
    pub table: TableRef,
    /// The column (empty for the whole table).
    pub column: String,
    /// Why.
    pub reason: String,
}

/// What the copies scan of a plan that masks found, and how far it looked: the plan's
/// statement of coverage.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct CopiesFacts {
    /// The masked attributes (`crm-customers.Email`).
    pub masked: Vec<String>,
    /// Originals reduced to digests.
    pub originals: u64,
    /// Tables and text columns read.
    pub tables_scanned: usize,
    /// Text columns read.
    pub columns_scanned: usize,
    /// Rows read.
    pub rows_scanned: u64,
    /// Copies found, in all.
    pub found: u64,
    /// Copies found that no masking rule of the plan covers.
    pub found_uncovered: u64,
    /// The first copies found (a thousand at most), in table order.
    pub copies: Vec<Copy>,
    /// Columns not read, and why.
    pub not_scanned: Vec<NotScanned>,
    /// The originals, for the check after apply (the masked table no longer holds them).
    pub digests: std::sync::Arc<Originals>,
}

impl CopiesFacts {
    /// Copies no masking rule of the plan covers: drift apply does not fix.
    #[must_use]
    pub fn uncovered(&self) -> u64 {
        self.found_uncovered
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn originals(values: &[&str]) -> Originals {
        let mut o = Originals::new(b"a test key of some length");
        let at = o.origin(&crate::test_support::id("crm"), "Email");
        for v in values {
            o.add(at, &Value::Text((*v).into()));
        }
        o
    }

    /// Copies in another case, with other blanks, formatted otherwise or inside free text are
    /// found; look-alikes are not.
    #[test]
    fn copies_and_look_alikes() {
        let o = originals(&[
            "Alice.Martin@Customer-One.example",
            "+33 6 12 34 56 78",
            "12 Rue de la Paix, Paris",
            "Alice Martin",
        ]);
        for copy in [
            "alice.martin@customer-one.EXAMPLE",
            "Contact: ALICE.MARTIN@customer-one.example (work)",
            "0033612345678",
            "call 33-6-12-34-56-78 after 6pm",
            "  12 rue de la  paix, PARIS ",
            "Delivered to 12 Rue de la Paix Paris yesterday",
            "Dear Alice Martin,",
        ] {
            assert_eq!(o.copied_in(copy, None), Some(0), "{copy}");
        }
        for other in [
            "bob.stone@customer-two.example",
            "21 Rue de la Paix, Paris",
            "+33 6 12 34 56 79",
            "Alice",
            "Martin Alice",
            "p3f9a2c1b77d0@example.com",
            "Person 3F9A2C1B77D0",
        ] {
            assert_eq!(o.copied_in(other, None), None, "{other}");
        }
    }

    /// Another key gives other digests: the set is keyed.
    #[test]
    fn digests_are_keyed() {
        let a = originals(&["Alice Martin"]);
        let mut b = Originals::new(b"another key entirely");
        let at = b.origin(&crate::test_support::id("crm"), "Email");
        b.add(at, &Value::Text("Alice Martin".into()));
        assert_ne!(
            a.by_digest.keys().collect::<Vec<_>>(),
            b.by_digest.keys().collect::<Vec<_>>()
        );
    }
}
