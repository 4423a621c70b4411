//! `SourceMap`: YAML path (`resources[2].where[0].column`) → line and column in the file.
//!
//! serde_yaml reports a location only for the first error it meets, and none for values that
//! deserialize fine but fail a cross-resource check (a duplicate id, an unknown `after:`). So the
//! spec text is parsed a second time, by yaml-rust2's event parser, which marks every node.
//! Paths use the same notation as `serde_path_to_error`, so both kinds of problems point at the
//! exact spot.

use std::collections::HashMap;

use yaml_rust2::parser::{Event, MarkedEventReceiver, Parser};
use yaml_rust2::scanner::Marker;

/// The deepest nesting of lists and mappings (block or flow) a spec may have; real specs use
/// a handful of levels.
pub const MAX_DEPTH: usize = 64;

/// The most parser events (scalars, starts and ends of lists and mappings) one file may have,
/// so that the work spent on one file is bounded whatever its shape: a captured row takes
/// about 18 (a capture of 50,000 rows fits), the largest profile 1,000; `cargo bench --bench
/// yaml_depth` times the worst inputs (under 2 s).
pub const MAX_EVENTS: usize = 1_000_000;

/// Why a text is not read as a spec, and where.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Structure {
    /// Where the parser stopped (line 0 when the whole text is at fault).
    pub at: Position,
    /// What it found.
    pub problem: StructureProblem,
}

/// What [`SourceMap::scan`] found wrong with a text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StructureProblem {
    /// Not YAML at all.
    Syntax,
    /// Lists and mappings nested deeper than [`MAX_DEPTH`].
    TooDeep,
    /// More than [`MAX_EVENTS`] events.
    TooLarge,
}

impl std::fmt::Display for StructureProblem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            StructureProblem::Syntax => f.write_str("not valid YAML"),
            StructureProblem::TooDeep => write!(
                f,
                "lists and mappings nested more than {MAX_DEPTH} levels deep: not a spec"
            ),
            StructureProblem::TooLarge => write!(
                f,
                "more than {MAX_EVENTS} values, lists and mappings: not a spec"
            ),
        }
    }
}

/// A 1-based line and column.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Position {
    /// Line, from 1.
    pub line: usize,
    /// Column, from 1.
    pub column: usize,
}

impl From<Marker> for Position {
    fn from(m: Marker) -> Self {
        // yaml-rust2 counts lines from 1 and columns from 0.
        Position {
            line: m.line(),
            column: m.col() + 1,
        }
    }
}

/// Positions of every node and mapping key of one YAML document.
#[derive(Debug, Default, Clone)]
pub struct SourceMap {
    values: HashMap<String, Position>,
    keys: HashMap<String, Position>,
}

impl SourceMap {
    /// Maps `text` in one pass over the event parser's own events, never deeper than
    /// [`MAX_DEPTH`] lists and mappings (block or flow) nor longer than [`MAX_EVENTS`] events.
    ///
    /// The parser is driven one event at a time: yaml-rust2's `load` recurses once per level
    /// (and asserts on what it reads), so a text of 23,000 nested `- ` would exhaust the
    /// stack before any limit could be checked.
    ///
    /// # Errors
    /// Where the text stops being a spec: a syntax error, nesting deeper than the limit, or
    /// more events than the budget.
    pub fn scan(text: &str) -> Result<SourceMap, Structure> {
        // The event parser keeps a possible key for every open flow list or mapping and looks
        // at all of them for each token: its cost grows with the nesting times the length. A
        // count of brackets that ignores quotes can only count more than the real nesting, so
        // a text under twice the limit by that count is cheap to parse, and one over it is
        // refused before the parser sees it.
        if let Some(at) = brackets_deeper_than(text, 2 * MAX_DEPTH) {
            return Err(Structure {
                at,
                problem: StructureProblem::TooDeep,
            });
        }
        let mut builder = Builder::default();
        let mut parser = Parser::new_from_str(text);
        let mut depth = 0usize;
        for _ in 0..MAX_EVENTS {
            let (event, mark) = parser.next_token().map_err(|e| Structure {
                at: (*e.marker()).into(),
                problem: StructureProblem::Syntax,
            })?;
            match event {
                Event::StreamEnd => return Ok(builder.map),
                Event::MappingStart(..) | Event::SequenceStart(..) => {
                    depth += 1;
                    if depth > MAX_DEPTH {
                        return Err(Structure {
                            at: mark.into(),
                            problem: StructureProblem::TooDeep,
                        });
                    }
                }
                Event::MappingEnd | Event::SequenceEnd => depth = depth.saturating_sub(1),
                _ => {}
            }
            builder.on_event(event, mark);
        }
        Err(Structure {
            at: Position { line: 0, column: 0 },
            problem: StructureProblem::TooLarge,
        })
    }

    /// Where the value at `path` starts; falls back to the closest enclosing node.
    #[must_use]
    pub fn value(&self, path: &str) -> Option<Position> {
        let mut path = path;
        loop {
            if let Some(p) = self.values.get(path) {
                return Some(*p);
            }
            path = parent(path)?;
        }
    }

    /// Where the key of the mapping entry at `path` is written, else where its value is.
    #[must_use]
    pub fn key(&self, path: &str) -> Option<Position> {
        self.keys.get(path).copied().or_else(|| self.value(path))
    }
}

/// Where `[` and `{` first stand more than `limit` deep, counted in the raw text (quotes,
/// comments and escapes not told apart: every reading of the text nests no deeper).
fn brackets_deeper_than(text: &str, limit: usize) -> Option<Position> {
    let mut depth = 0usize;
    let (mut line, mut column) = (1usize, 0usize);
    for c in text.chars() {
        column += 1;
        match c {
            '\n' => (line, column) = (line + 1, 0),
            '[' | '{' => {
                depth += 1;
                if depth > limit {
                    return Some(Position { line, column });
                }
            }
            ']' | '}' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    None
}

/// The path of the enclosing node: `a.b[2]` → `a.b` → `a` → `` → none.
fn parent(path: &str) -> Option<&str> {
    if path.is_empty() {
        return None;
    }
    let cut = path.rfind(['.', '[']).unwrap_or(0);
    Some(&path[..cut])
}

/// Joins a child segment to a path in serde_path_to_error's notation.
#[must_use]
pub fn child(path: &str, key: &str) -> String {
    if path.is_empty() {
        key.to_string()
    } else {
        format!("{path}.{key}")
    }
}

/// Joins a sequence index to a path.
#[must_use]
pub fn index(path: &str, i: usize) -> String {
    format!("{path}[{i}]")
}

enum Frame {
    Mapping {
        path: String,
        key: Option<String>,
        /// No key read yet: the mapping's position becomes its first key's.
        empty: bool,
    },
    Sequence {
        path: String,
        next: usize,
    },
}

#[derive(Default)]
struct Builder {
    map: SourceMap,
    stack: Vec<Frame>,
}

impl Builder {
    /// The path of the node about to be read.
    fn next_path(&self) -> String {
        match self.stack.last() {
            None => String::new(),
            Some(Frame::Mapping { path, key, .. }) => child(path, key.as_deref().unwrap_or("?")),
            Some(Frame::Sequence { path, next }) => index(path, *next),
        }
    }

    /// Whether the next scalar is a mapping key.
    fn expects_key(&self) -> bool {
        matches!(self.stack.last(), Some(Frame::Mapping { key: None, .. }))
    }

    /// A value node is complete: the enclosing mapping expects a key again, or the sequence
    /// moves on.
    fn value_done(&mut self) {
        match self.stack.last_mut() {
            Some(Frame::Mapping { key, .. }) => *key = None,
            Some(Frame::Sequence { next, .. }) => *next += 1,
            None => {}
        }
    }
}

impl MarkedEventReceiver for Builder {
    fn on_event(&mut self, event: Event, mark: Marker) {
        match event {
            Event::Scalar(text, ..) if self.expects_key() => {
                if let Some(Frame::Mapping { path, key, empty }) = self.stack.last_mut() {
                    // Block mappings are marked where the parser recognised them (after the
                    // first key); users look for the first key.
                    if std::mem::take(empty) {
                        self.map.values.insert(path.clone(), mark.into());
                    }
                    self.map.keys.insert(child(path, &text), mark.into());
                    *key = Some(text);
                }
            }
            Event::Scalar(..) | Event::Alias(_) => {
                let path = self.next_path();
                self.map.values.insert(path, mark.into());
                self.value_done();
            }
            Event::MappingStart(..) | Event::SequenceStart(..) => {
                if self.expects_key() {
                    // A complex key: give it a name that no serde path will ever ask for.
                    if let Some(Frame::Mapping { key, .. }) = self.stack.last_mut() {
                        *key = Some("?".into());
                    }
                }
                let path = self.next_path();
                self.map.values.insert(path.clone(), mark.into());
                self.stack
                    .push(if matches!(event, Event::MappingStart(..)) {
                        Frame::Mapping {
                            path,
                            key: None,
                            empty: true,
                        }
                    } else {
                        Frame::Sequence { path, next: 0 }
                    });
            }
            Event::MappingEnd | Event::SequenceEnd => {
                self.stack.pop();
                self.value_done();
            }
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TEXT: &str = "engine: sqlserver
resources:
  - id: one
    kind: table_empty
    table: ossys_server
  - id: two
    where:
      - column: NAME
        in: [a, b]
";

    /// Keys and values of nested mappings and sequences get their own positions.
    #[test]
    fn positions_of_nested_nodes() {
        let map = SourceMap::scan(TEXT).unwrap();
        assert_eq!(map.value("engine"), Some(Position { line: 1, column: 9 }));
        assert_eq!(
            map.key("resources[0].table"),
            Some(Position { line: 5, column: 5 })
        );
        assert_eq!(
            map.value("resources[0].table"),
            Some(Position {
                line: 5,
                column: 12
            })
        );
        assert_eq!(
            map.value("resources[1]"),
            Some(Position { line: 6, column: 5 })
        );
        assert_eq!(
            map.value("resources[1].where[0].in[1]"),
            Some(Position {
                line: 9,
                column: 17
            })
        );
    }

    /// A path that is not in the document falls back to its closest ancestor.
    #[test]
    fn unknown_paths_fall_back_to_the_parent() {
        let map = SourceMap::scan(TEXT).unwrap();
        assert_eq!(map.value("resources[0].after"), map.value("resources[0]"));
        assert_eq!(map.value("resources[7].x"), map.value("resources"));
    }
}
