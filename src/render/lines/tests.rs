//! Unit tests of the line model.

use super::*;

/// Only the changed characters are marked.
#[test]
fn character_diffs_only_where_they_help_issue_25() {
    assert_eq!(helpful_diff("True", "False"), None);
    assert_eq!(
        helpful_diff("2026-11-29T04:00:02", "2026-12-02T18:00:00"),
        None
    );
    let url = helpful_diff(
        "https://erp.prod.example.com/api/v2",
        "https://erp.preprod.example.com/api/v2",
    )
    .expect("a host changed in a long URL");
    assert_eq!(url.matches("[+").count(), 1, "{url}");
    assert!(!url.contains("[-"), "{url}");
    assert_eq!(
        url.replace("[+", "").replace("+]", ""),
        "https://erp.preprod.example.com/api/v2"
    );
    // Long, but nothing in common worth marking.
    assert_eq!(
        helpful_diff(
            "Customer Number 42 of the shop",
            "Person 3F9A2C1B77D0 of nowhere"
        ),
        None
    );
    assert_eq!(
        helpful_diff("", "https://erp.preprod.example.com/api/v2"),
        None
    );
}

#[test]
fn inline_diff_marks_changes() {
    assert_eq!(
        inline_diff(
            "https://prod.example.com/x",
            "https://preprod.example.com/x"
        ),
        "https://pr[+epr+]od.example.com/x"
    );
    assert_eq!(inline_diff("abc", "abd"), "ab[-c-][+d+]");
}

/// A line writes its indentation, its symbol and its text.
#[test]
fn plain_lines() {
    assert_eq!(
        Line::new(Kind::Row, 6, Some('-'), "ID = 1").plain(),
        "      - ID = 1"
    );
    assert_eq!(
        Line::new(Kind::More, 6, None, "… and 2 rows more").plain(),
        "      … and 2 rows more"
    );
}
