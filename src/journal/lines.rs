//! A journal's lines, one at a time and bounded, with the offset after each: how a journal is
//! read whole, and how a step's rows are read again from where they start.

use std::io::{BufRead, Read};

/// The longest journal line read: a page of sealed rows is one line. Anything longer is not a
/// journal postclone wrote (`/dev/zero` would be read forever).
const MAX_LINE: u64 = 512 * 1024 * 1024;

/// The lines of a journal, each at most [`MAX_LINE`] bytes, each with the byte offset just
/// after it.
pub(super) struct Lines<R> {
    pub(super) reader: R,
    /// Bytes read so far.
    pub(super) offset: u64,
}

impl<R: BufRead> Lines<R> {
    pub(super) fn next(&mut self) -> Option<std::io::Result<String>> {
        let mut bytes = Vec::new();
        match (&mut self.reader)
            .take(MAX_LINE + 1)
            .read_until(b'\n', &mut bytes)
        {
            Ok(0) => None,
            Ok(_) if bytes.len() as u64 > MAX_LINE => Some(Err(std::io::Error::new(
                std::io::ErrorKind::InvalidData,
                "a line longer than 512 MiB: not a journal",
            ))),
            Ok(n) => {
                self.offset += n as u64;
                if bytes.last() == Some(&b'\n') {
                    bytes.pop();
                    // A line ending made CRLF by git or an editor: the journal writes none, and
                    // JSON escapes a carriage return inside a value, so this one is no data.
                    if bytes.last() == Some(&b'\r') {
                        bytes.pop();
                    }
                }
                Some(String::from_utf8(bytes).map_err(|e| {
                    std::io::Error::new(std::io::ErrorKind::InvalidData, e.to_string())
                }))
            }
            Err(e) => Some(Err(e)),
        }
    }
}

impl<R: BufRead> Iterator for Lines<R> {
    /// A line and the offset just after it.
    type Item = std::io::Result<(String, u64)>;

    fn next(&mut self) -> Option<Self::Item> {
        let line = Lines::next(self)?;
        Some(line.map(|l| (l, self.offset)))
    }
}
