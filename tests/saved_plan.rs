//! Saved plans: `apply FILE` applies exactly what was reviewed, or refuses with the drift shown.
//! See: issue 4

use crate::common::{core_spec, fixture, Test, TestServer};

/// Plans into a file in a fresh directory; returns the directory's test and the file name.
fn save_plan(server: &TestServer) -> Test {
    let t = Test::new()
        .spec(&core_spec())
        .server(server, "OS_PREPROD")
        .args(["plan", "--out", "plan.json"]);
    let out = t.run().code(0);
    out.stdout_has("Saved this plan to plan.json");
    t
}

fn apply_saved(server: &TestServer, t: &Test) -> crate::common::Output {
    let plan = t.path().join("plan.json");
    Test::new()
        .server(server, "OS_PREPROD")
        .args(["apply", plan.to_str().expect("utf-8 path")])
        .run()
}

/// A row the plan deletes changes (a value, not its key) after planning: apply FILE refuses,
/// shows the drift, changes nothing.
#[test]
fn changed_row_refuses_the_saved_plan() {
    let mut server = TestServer::start(&fixture("core/clone.sql"));
    let t = save_plan(&server);
    server.rows("UPDATE OSSYS_SERVER SET NAME = 'prod-fe09' WHERE ID = 2");
    let before = server.dump_all(&["OSSYS_SERVER", "OSSYS_PARAMETER", "OSSYS_DBCATALOG"]);
    let out = apply_saved(&server, &t).code(1);
    out.stdout_has("! servers: planned 2 rows, now 2 rows");
    assert!(
        out.stderr
            .contains("from the saved plan; nothing was changed"),
        "{}",
        out.stderr
    );
    assert_eq!(
        server.dump_all(&["OSSYS_SERVER", "OSSYS_PARAMETER", "OSSYS_DBCATALOG"]),
        before
    );
}

/// A new row the spec concerns appears after planning: refused too.
#[test]
fn new_drift_refuses_the_saved_plan() {
    let mut server = TestServer::start(&fixture("core/clone.sql"));
    let t = save_plan(&server);
    server.rows("INSERT INTO OSSYS_SERVER VALUES (3, 'prod-fe03')");
    let out = apply_saved(&server, &t).code(1);
    out.stdout_has("! servers: planned 2 rows, now 3 rows");
    assert_eq!(server.rows("SELECT COUNT(*) FROM OSSYS_SERVER"), vec!["3"]);
}

/// A row no change touches changes after planning: the saved plan still applies, without a
/// prompt, and converges.
#[test]
fn unrelated_change_keeps_the_saved_plan() {
    let mut server = TestServer::start(&fixture("core/clone.sql"));
    let t = save_plan(&server);
    server.rows("UPDATE APP_ORDERS SET CUSTOMER = 'Contoso Ltd' WHERE ID = 1");
    server.rows("UPDATE OSSYS_PARAMETER SET VAL = '900' WHERE ID = 3");
    let out = apply_saved(&server, &t).code(0);
    out.stdout_has("the rows it touches are unchanged");
    out.stdout_has("Converged");
    assert_eq!(server.dump("OSSYS_SERVER"), Vec::<String>::new());
    assert_eq!(server.dump("APP_ORDERS")[0], "1 | \"Contoso Ltd\"");
}

/// A saved plan holds no secret value of the rows it touches.
#[test]
fn saved_plan_holds_no_secret() {
    let server = TestServer::start(&fixture("core/clone.sql"));
    let t = save_plan(&server);
    let text = std::fs::read_to_string(t.path().join("plan.json")).expect("plan file");
    assert!(!text.contains("FIXTURE-SECRET"), "{text}");
    assert!(
        !text.contains("test-only"),
        "the connection password leaked: {text}"
    );
}

/// A saved plan is checked whole before anything runs: an edited `set` value, or a guard
/// removed, is refused and nothing is changed. See: issue 27
#[test]
fn an_edited_saved_plan_is_refused_issue_27() {
    let mut server = TestServer::start(&fixture("core/clone.sql"));
    let before = server.dump_everything();
    let t = save_plan(&server);
    let path = t.path().join("plan.json");
    let text = std::fs::read_to_string(&path).expect("saved plan");
    let edited_value = text.replacen("\"USERNAME\": \" \"", "\"USERNAME\": \"pwned\"", 1);
    assert_ne!(edited_value, text, "the plan holds the set value");
    let mut json: serde_json::Value = serde_json::from_str(&text).expect("JSON");
    json["desired"]["guard"]["forbid_databases"] = serde_json::json!([]);
    json["desired"]["guard"]["forbid_hosts"] = serde_json::json!([]);
    let no_guard = serde_json::to_string_pretty(&json).expect("JSON");
    assert_ne!(no_guard, text);
    for (what, altered) in [("a set value", edited_value), ("the guard", no_guard)] {
        std::fs::write(&path, altered).expect("edit");
        let out = apply_saved(&server, &t).code(1);
        assert!(
            out.stderr.contains("was altered after it was written"),
            "{what}: {}",
            out.stderr
        );
        assert_eq!(server.dump_everything(), before, "{what}: apply wrote");
    }
    std::fs::write(&path, &text).expect("restore the file");
    apply_saved(&server, &t).code(0);
}

/// The fingerprints a saved plan holds are keyed with a key that is not in the file: the same
/// rows give other fingerprints under another key, so they cannot confirm a guessed value. A
/// plan is applied only with the key it was sealed with. See: issue 27
#[test]
fn saved_plan_fingerprints_are_keyed_issue_27() {
    let server = TestServer::start(&fixture("core/clone.sql"));
    let key_a = "a".repeat(64);
    let key_b = "b".repeat(64);
    let fingerprints = |key: &str| -> (Test, Vec<String>) {
        let t = Test::new()
            .spec(&core_spec())
            .server(&server, "OS_PREPROD")
            .env("POSTCLONE_PLAN_KEY", key)
            .args(["plan", "--out", "plan.json"]);
        t.run().code(0);
        let text = std::fs::read_to_string(t.path().join("plan.json")).expect("plan");
        assert!(!text.contains(key), "the key is in the file");
        let json: serde_json::Value = serde_json::from_str(&text).expect("JSON");
        let prints = json["changes"]
            .as_array()
            .expect("changes")
            .iter()
            .map(|c| c["fingerprint"].as_str().expect("fingerprint").to_string())
            .collect();
        (t, prints)
    };
    let (t, a) = fingerprints(&key_a);
    let (_, b) = fingerprints(&key_b);
    assert!(!a.is_empty());
    assert!(a.iter().zip(&b).all(|(x, y)| x != y), "{a:?} {b:?}");
    let plan = t.path().join("plan.json");
    let out = Test::new()
        .server(&server, "OS_PREPROD")
        .env("POSTCLONE_PLAN_KEY", &key_b)
        .args(["apply", plan.to_str().expect("utf-8 path")])
        .run()
        .code(1);
    out.stderr_has("was sealed with plan key");
}
