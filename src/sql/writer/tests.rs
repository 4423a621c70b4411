//! Unit tests of the statement writer.

use super::*;

/// A rewrite that lengthens its text widens the bound by what every occurrence can add;
/// one that shortens it keeps the source's bound.
#[test]
fn rewritten_bounds() {
    let source = Shape::LongText { bound: Some(100) };
    assert_eq!(
        grown(source, 4, 7),
        Shape::LongText {
            bound: Some(100 + 26 * 3)
        }
    );
    assert_eq!(grown(source, 7, 4), source);
    assert_eq!(grown(Shape::Plain, 1, 9), Shape::Plain);
}
