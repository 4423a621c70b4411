//! Input made to break postclone, as an attacker or a careless user would make it: links to
//! files that are not specs, nesting of every form, forged lines from the database. Each case
//! must end in exit 1 with a clear error, no abort, and nothing secret in any output.
//! See: issue 33

use crate::common::Test;

/// A value that must never be printed: the process environment holds it.
const SECRET: &str = "Password=Hunter2-in-the-environment";

/// The text a run printed on both streams.
fn printed(t: &Test) -> (i32, String) {
    let out = t.run();
    (out.code, format!("{}\n{}", out.stdout, out.stderr))
}

/// An include that is a link is judged by its target: a link to the process environment, to
/// /etc/passwd or to a key is refused by what it points at, and a file that is not a spec is
/// named by its path and position, never shown. See: issue 33
#[cfg(unix)]
#[test]
fn included_links_are_judged_by_their_target_issue_33() {
    use std::os::unix::fs::symlink;

    let t = Test::new()
        .spec("engine: sqlserver\ninclude: [./env.yaml]\n")
        .env("POSTCLONE_CONNECTION", SECRET)
        .env("POSTCLONE_MASK_KEY", "mask-key-that-must-not-show-0123")
        .args(["validate"]);
    symlink("/proc/self/environ", t.path().join("env.yaml")).expect("link");
    let (code, out) = printed(&t);
    assert_eq!(code, 1, "{out}");
    assert!(!out.contains("Hunter2"), "{out}");
    assert!(!out.contains("mask-key-that"), "{out}");
    assert!(out.contains("a file of the system"), "{out}");

    let t = Test::new()
        .spec("engine: sqlserver\ninclude: [./passwd.yaml]\n")
        .args(["validate"]);
    symlink("/etc/passwd", t.path().join("passwd.yaml")).expect("link");
    let (code, out) = printed(&t);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("resolves to /etc/passwd"), "{out}");
    assert!(!out.contains("root:"), "{out}");

    // A key kept under a spec's name: it parses as a string, not a spec, and is not shown.
    let key = "AGE-SECRET-KEY-17M2G4USE24TPSM2WTA5MHRV8H654NUDKH6RKE0FD9CEYZMAELLHQH9N7WW";
    let t = Test::new()
        .spec("engine: sqlserver\ninclude: [./keys.yaml, ./plan.yaml]\n")
        .file("keys.yaml", &format!("# public key: age1xyz\n{key}\n"))
        .file(
            "plan.key",
            "4f1c0a5e9d2b7c3a8e6f0d1b2c3a4e5f6a7b8c9d0e1f2a3b4c5d6e7f8a9b0c1d\n",
        )
        .args(["validate"]);
    symlink(t.path().join("plan.key"), t.path().join("plan.yaml")).expect("link");
    let (code, out) = printed(&t);
    assert_eq!(code, 1, "{out}");
    assert!(!out.contains("AGE-SECRET-KEY"), "{out}");
    assert!(!out.contains("4f1c0a5e"), "{out}");
    assert!(out.contains("a spec is a mapping of keys"), "{out}");
    assert!(out.contains("which is not a spec file"), "{out}");

    // A file that is not YAML at all: its position, not its text.
    let (code, out) = printed(
        &Test::new()
            .spec("engine: sqlserver\ninclude: [./broken.yaml]\n")
            .file("broken.yaml", &format!("a: [\n{SECRET}\x07\n"))
            .args(["validate"]),
    );
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("broken.yaml:"), "{out}");
    assert!(!out.contains("Hunter2"), "{out}");
}

/// The forms nesting takes in YAML, each written `depth` levels deep (indented forms at
/// most 1,000: deeper, their indentation alone passes the size limit).
fn nested(form: usize, depth: usize) -> String {
    let indented = depth.min(1_000);
    match form {
        0 => "[".repeat(depth),
        1 => "{a: ".repeat(depth),
        2 => "- ".repeat(depth) + "x",
        3 => {
            (0..indented)
                .map(|i| format!("\n{}- ", " ".repeat(2 * i)))
                .collect::<String>()
                + "x"
        }
        4 => {
            (0..indented)
                .map(|i| format!("\n{}a:", " ".repeat(2 * i + 2)))
                .collect::<String>()
                + " x"
        }
        5 => "- [".repeat(depth),
        6 => "? ".repeat(depth) + "x",
        _ => "[{".repeat(depth / 2 + 1),
    }
}

/// What may stand before the nesting: text that fooled a count of brackets aware of quotes.
const PREFIXES: [&str; 7] = [
    "",
    "a'b, ",
    "\"a\\\\\" ",
    "'x[' ",
    "# [[[\n",
    "&a ",
    "!!seq ",
];

/// Nesting of every form, behind every prefix, at depths past the limit, in the spec itself
/// and in an included file: exit 1, never an abort, a problem that says why. The cases are a
/// fixed table, the same on every run; `cargo bench --bench yaml_depth` times the worst.
/// See: issue 33
#[test]
fn nesting_of_every_form_is_refused_issue_33() {
    let mut cases = 0;
    for form in 0..8 {
        for (p, prefix) in PREFIXES.iter().enumerate() {
            for depth in [65, 129, 1_000, 23_000] {
                let body = format!("{prefix}{}\n", nested(form, depth));
                // Every other case goes through an include.
                let t = if (form + p + depth) % 2 == 0 {
                    Test::new().spec(&format!("engine: sqlserver\nresources: {body}"))
                } else {
                    Test::new()
                        .spec("engine: sqlserver\ninclude: [./deep.yaml]\n")
                        .file("deep.yaml", &format!("resources: {body}"))
                };
                let out = t.args(["validate"]).run();
                let said = format!(
                    "form {form}, prefix {prefix:?}, depth {depth}:\n{}",
                    out.stderr
                );
                assert_eq!(out.code, 1, "{said}");
                assert!(!out.stderr.contains("panicked"), "{said}");
                assert!(out.stderr.contains("problem["), "{said}");
                assert!(out.stderr.len() < 4_000, "{said}");
                cases += 1;
            }
        }
    }
    assert_eq!(cases, 8 * PREFIXES.len() * 4);
}

/// A chain of includes each one deeper than the last stops at the limit. See: issue 33
#[test]
fn include_chains_are_bounded_issue_33() {
    let mut t = Test::new().spec("engine: sqlserver\ninclude: [./f1.yaml]\n");
    for i in 1..=200 {
        t = t.file(
            &format!("f{i}.yaml"),
            &format!("include: [./f{}.yaml]\n", i + 1),
        );
    }
    let out = t
        .file("f201.yaml", "resources: []\n")
        .args(["validate"])
        .run()
        .code(1);
    out.stderr_has("included more than");
}

/// The plan in every format a user or a pipeline reads.
const EVERY_PLAN: [&[&str]; 4] = [
    &["plan"],
    &["plan", "--verbose"],
    &["plan", "--format", "json"],
    &["plan", "--format", "markdown"],
];

/// Whether `c` may not reach an output raw: a control character other than the line breaks
/// the output makes itself, or a bidirectional or invisible formatting character.
fn raw(c: char) -> bool {
    (c.is_control() && c != '\n') || postclone::render::escape::is_format(c)
}

/// Timer names from the database that carry a terminal escape, a bell, a line that would be a
/// Markdown heading and a right-to-left override are shown escaped in every format: no raw
/// control or bidirectional character, no line of their own. See: issue 33
#[test]
fn forged_names_from_the_database_stay_text_issue_33() {
    let mut server =
        crate::common::TestServer::start(&crate::common::root().join("examples/demo/clone.sql"));
    let forged = "Sync\u{1b}[2J\u{7}\n# 99. fake \u{202e}fdp.exe";
    server.run_sql(&format!(
        "UPDATE OSSYS_META_CYCLIC_JOB SET NAME = N'{forged}' WHERE NAME = N'SyncInvoicesToERP'"
    ));
    let spec = "engine: sqlserver\nguard: { database: OS_PREPROD }\ninclude: [outsystems-o11-quarantine]\n";
    for args in EVERY_PLAN {
        let out = Test::new()
            .spec(spec)
            .server(&server, "OS_PREPROD")
            .args(args.iter().copied())
            .run()
            .code(0);
        let all = format!("{}{}", out.stdout, out.stderr);
        assert!(
            all.contains("fdp.exe"),
            "{args:?}: the forged timer is not listed:\n{all}"
        );
        assert!(!all.chars().any(raw), "{args:?}: a raw character:\n{all:?}");
        assert!(
            !all.lines().any(|l| l.trim_start().starts_with("# 99")),
            "{args:?}: a forged line:\n{all}"
        );
        if args.contains(&"json") {
            let doc: serde_json::Value = serde_json::from_str(&out.stdout).expect("JSON plan");
            assert!(
                doc.to_string().contains('\u{202e}'),
                "JSON keeps the value itself"
            );
        }
    }
}

/// Custom SQL cannot show a credential: a check that selects the catalogs' passwords shows
/// its rows as secret in every format; a check or fix whose server error quotes a password
/// is masked; `show_values: true` over a table the spec keeps secret is refused before
/// anything runs. See: issue 33
#[test]
fn custom_sql_never_shows_a_credential_issue_33() {
    let server =
        crate::common::TestServer::start(&crate::common::root().join("examples/demo/clone.sql"));
    let passwords = ["main-PROD-pass", "sales-PROD-pass", "archive-PROD-pass"];
    let spec = |resource: &str| {
        format!(
            "engine: sqlserver\nguard: {{ database: OS_PREPROD }}\nsecret_rows: [{{ table: ossys_dbcatalog }}]\nresources:\n{resource}"
        )
    };
    let reads = spec(
        "  - id: catalog-passwords\n    kind: custom\n    check: SELECT NAME, PASSWORD FROM OSSYS_DBCATALOG\n    fix: UPDATE OSSYS_DBCATALOG SET PASSWORD = PASSWORD WHERE 1 = 0\n",
    );
    for args in EVERY_PLAN {
        let out = Test::new()
            .spec(&reads)
            .server(&server, "OS_PREPROD")
            .args(args.iter().copied())
            .run()
            .code(0);
        let all = format!("{}{}", out.stdout, out.stderr);
        assert!(all.contains("catalog-passwords"), "{args:?}:\n{all}");
        for p in passwords {
            assert!(!all.contains(p), "{args:?} shows {p}:\n{all}");
        }
    }

    // The server quotes the value it could not convert: in a check at plan time, and in a fix
    // at apply time.
    let failing_check = spec(
        "  - id: bad-check\n    kind: custom\n    check: SELECT CAST(PASSWORD AS INT) AS X FROM OSSYS_DBCATALOG\n    fix: SELECT 1\n",
    );
    let out = Test::new()
        .spec(&failing_check)
        .server(&server, "OS_PREPROD")
        .args(["plan"])
        .run()
        .code(1);
    out.stderr_has("bad-check");
    for p in passwords {
        assert!(
            !out.stderr.contains(p),
            "the check's error shows {p}:\n{}",
            out.stderr
        );
    }
    let failing_fix = spec(
        "  - id: bad-fix\n    kind: custom\n    show_values: true\n    check: SELECT ID FROM OSSYS_SERVER\n    fix: UPDATE OSSYS_SERVER SET ID = (SELECT CAST(PASSWORD AS INT) FROM OSSYS_DBCATALOG WHERE ID = 2)\n",
    )
    .replace("secret_rows: [{ table: ossys_dbcatalog }]\n", "");
    let out = Test::new()
        .spec(&failing_fix)
        .server(&server, "OS_PREPROD")
        .args(["apply", "--auto-approve"])
        .run()
        .code(1);
    out.stderr_has("change bad-fix failed");
    for p in passwords {
        assert!(
            !out.stderr.contains(p),
            "the fix's error shows {p}:\n{}",
            out.stderr
        );
    }

    let shown = Test::new()
        .spec(&reads.replace("kind: custom\n", "kind: custom\n    show_values: true\n"))
        .args(["validate"])
        .run()
        .code(1);
    shown.stderr_has("problem[secret-shown]");
    shown.stderr_has("field: show_values");
}
