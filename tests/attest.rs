//! The clone attestation: `apply --attest` writes a DSSE envelope around an in-toto statement,
//! signed with an OpenSSH ed25519 key; `postclone verify` and a verifier no one here wrote
//! (Python's `cryptography`, `tests/fixtures/verify_dsse.py`) both check it, and both refuse it
//! once a byte changes. No secret or personal value is in it.
//! See: issue 34

use std::path::{Path, PathBuf};

use base64::Engine as _;

use crate::common::{demo_spec, fixture, root, Test, TestServer};

fn key(name: &str) -> PathBuf {
    fixture(&format!("keys/{name}"))
}

/// The arguments that make an apply write `att.json`, signed with the test signing key.
fn attesting() -> [String; 4] {
    [
        "--attest".into(),
        "att.json".into(),
        "--signing-key".into(),
        key("signer_ed25519").display().to_string(),
    ]
}

/// The demo's passwords and secrets: never in an attestation.
const SECRETS: [&str; 4] = [
    "main-PROD-pass",
    "sales-PROD-pass",
    "archive-PROD-pass",
    "Password=",
];

/// The independent verifier's verdict on `envelope` with the public key `public`: its exit
/// code and what it printed.
fn independent(envelope: &Path, public: &Path) -> (i32, String) {
    let out = std::process::Command::new("python3")
        .arg(fixture("verify_dsse.py"))
        .arg(envelope)
        .arg(public)
        .output()
        .expect("python3 runs (CI installs `cryptography` with pip)");
    let said = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        !said.contains("ModuleNotFoundError"),
        "Python's cryptography is missing: pip install cryptography\n{said}"
    );
    (out.status.code().unwrap_or(-1), said)
}

/// The envelope with one byte of its signed payload changed (a character of the statement).
fn flipped(envelope: &str) -> String {
    let mut doc: serde_json::Value = serde_json::from_str(envelope).expect("an envelope");
    let b64 = base64::engine::general_purpose::STANDARD;
    let mut body = b64
        .decode(doc["payload"].as_str().expect("payload"))
        .expect("base64 payload");
    let at = body.len() / 2;
    body[at] ^= 0x01;
    doc["payload"] = serde_json::Value::String(b64.encode(&body));
    serde_json::to_string_pretty(&doc).expect("JSON")
}

/// The statement an envelope signs.
fn statement(envelope: &str) -> serde_json::Value {
    let doc: serde_json::Value = serde_json::from_str(envelope).expect("an envelope");
    let body = base64::engine::general_purpose::STANDARD
        .decode(doc["payload"].as_str().expect("payload"))
        .expect("base64 payload");
    serde_json::from_slice(&body).expect("a JSON statement")
}

/// Checks an attestation written at `path` both ways, then with a byte flipped; returns its
/// statement.
fn check_both_ways(t: &Test, path: &Path) -> serde_json::Value {
    let envelope = std::fs::read_to_string(path).expect("attestation written");
    let public = key("signer_ed25519.pub");
    let ours = Test::new()
        .args([
            "verify",
            path.to_str().expect("utf-8"),
            "--signer",
            public.to_str().expect("utf-8"),
        ])
        .run()
        .code(0);
    ours.stdout_has("Signature: valid");
    let (code, said) = independent(path, &public);
    assert_eq!(code, 0, "{said}");
    assert!(
        said.contains(
            "VALID https://in-toto.io/Statement/v1 https://postclone.dev/attestation/clone/v0.1"
        ),
        "{said}"
    );
    let bad = t.path().join("flipped.json");
    std::fs::write(&bad, flipped(&envelope)).expect("write");
    let (code, said) = independent(&bad, &public);
    assert_eq!(
        code, 1,
        "the independent verifier accepted a flipped byte: {said}"
    );
    let refused = Test::new()
        .args([
            "verify",
            bad.to_str().expect("utf-8"),
            "--signer",
            public.to_str().expect("utf-8"),
        ])
        .run()
        .code(1);
    refused.stderr_has("no signature verifies");
    let other = Test::new()
        .args([
            "verify",
            path.to_str().expect("utf-8"),
            "--signer",
            key("other_ed25519.pub").to_str().expect("utf-8"),
        ])
        .run()
        .code(1);
    other.stderr_has("no signature verifies");
    statement(&envelope)
}

/// `apply --auto-approve` with `extra` arguments and `spec` asks for an attestation without a
/// signing key: refused before anything runs, the database unchanged.
fn refused_without_key(server: &mut TestServer, spec: &str, extra: &[&str]) {
    let before = server.dump_everything();
    let refused = Test::new()
        .spec(spec)
        .server(server, "OS_PREPROD")
        .args(["apply", "--auto-approve"])
        .args(extra.iter().copied())
        .run()
        .code(1);
    refused.stderr_has("needs a key to sign with");
    assert_eq!(
        server.dump_everything(),
        before,
        "applied without a key to attest with"
    );
}

/// An apply of the demo writes an attestation both verifiers accept and a flipped byte breaks;
/// it states the outcome per area and holds no secret; `verify --spec` trusts the spec's
/// `trust.signers`; `--attest` without a key refuses before anything runs. See: issue 34
#[test]
fn the_demo_apply_is_attested_issue_34() {
    let mut server = TestServer::start(&root().join("examples/demo/clone.sql"));
    refused_without_key(&mut server, &demo_spec(), &["--attest", "att.json"]);

    let t = Test::new()
        .spec(&demo_spec())
        .server(&server, "OS_PREPROD")
        .args(["apply", "--auto-approve", "--attest", "att.json"])
        .env(
            "POSTCLONE_SIGNING_KEY",
            key("signer_ed25519").to_str().expect("utf-8"),
        );
    let out = t.run().code(0);
    assert!(
        out.stdout
            .contains("Attestation: att.json (signed by SHA256:"),
        "{}",
        out.stdout
    );
    let path = t.path().join("att.json");
    let text = std::fs::read_to_string(&path).expect("attestation");
    let s = check_both_ways(&t, &path);
    let p = &s["predicate"];
    assert_eq!(p["summary"]["verdict"], "PASSED", "{p:#}");
    assert_eq!(p["target"]["database"], "OS_PREPROD");
    assert_eq!(p["guard"]["result"], "passed");
    let changes = p["plan"]["changes"].as_array().expect("changes");
    assert_eq!(changes.len(), 36);
    assert!(
        changes.iter().all(|c| c["result"] == "committed"),
        "{changes:#?}"
    );
    assert_eq!(p["production_references"]["remaining_after"], 0);
    assert!(p["manual_steps"].as_array().is_some_and(|m| !m.is_empty()));
    let journal = std::fs::read(crate::common::journal_in(&t)).expect("journal");
    let digest: String = {
        use sha2::Digest;
        sha2::Sha256::digest(&journal)
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect()
    };
    assert_eq!(
        s["subject"][0]["digest"]["sha256"],
        digest.as_str(),
        "the subject is the journal"
    );
    let decoded = s.to_string();
    for secret in SECRETS {
        assert!(
            !text.contains(secret) && !decoded.contains(secret),
            "{secret} in the attestation"
        );
    }

    // Applied again: nothing to do, and that is attested too (no journal, nothing run).
    let again = Test::new()
        .spec(&demo_spec())
        .server(&server, "OS_PREPROD")
        .args(["apply", "--auto-approve", "--attest", "again.json"])
        .env(
            "POSTCLONE_SIGNING_KEY",
            key("signer_ed25519").to_str().expect("utf-8"),
        );
    let out = again.run().code(0);
    out.stdout_has("Apply complete: nothing to do.");
    let s = check_both_ways(&again, &again.path().join("again.json"));
    let p = &s["predicate"];
    assert_eq!(p["summary"]["verdict"], "PASSED", "{p:#}");
    assert_eq!(p["journal"]["sha256"], serde_json::Value::Null, "{p:#}");
    assert_eq!(
        p["plan"]["changes"].as_array().map(Vec::len),
        Some(0),
        "{p:#}"
    );

    let trusting = format!(
        "{}trust: {{ signers: ['{}'] }}\n",
        demo_spec(),
        std::fs::read_to_string(key("signer_ed25519.pub"))
            .expect("public key")
            .trim()
    );
    let by_spec = Test::new()
        .spec(&trusting)
        .file("att.json", &text)
        .args(["verify", "att.json", "--spec", "postclone.yaml"])
        .run()
        .code(0);
    by_spec.stdout_has("(postclone test signer)");

    // The database as attested, then after one quarantined timer was made due again.
    let drift = |server: &TestServer| {
        Test::new()
            .spec(&trusting)
            .file("att.json", &text)
            .server(server, "OS_PREPROD")
            .args(["verify", "att.json", "--spec", "postclone.yaml", "--drift"])
            .run()
    };
    let same = drift(&server).code(0);
    same.stdout_has("Database: still as attested");
    server.run_sql(
        "UPDATE OSSYS_CYCLIC_JOB_SHARED SET NEXT_RUN = '2020-01-01T00:00:00' WHERE META_CYCLIC_JOB_ID = 1",
    );
    let drifted = drift(&server).code(2);
    assert!(
        drifted
            .stdout
            .contains("Database: drifted since the attestation:"),
        "{}",
        drifted.stdout
    );
    drifted.stdout_has("quarantined-timers: 1 row");
}

/// The personal-data example's apply is attested with the masking key's fingerprint and the
/// copies scan's coverage, never a person's value nor the key. See: issue 34
#[test]
fn a_masking_apply_is_attested_without_personal_values_issue_34() {
    let server = TestServer::start(&fixture("personal/clone.sql"));
    let t = Test::new()
        .spec(&crate::personal::spec(true, ""))
        .server(&server, "OS_PREPROD")
        .env("POSTCLONE_MASK_KEY", crate::personal::KEY)
        .args(["apply", "--auto-approve"])
        .args(attesting());
    let out = t.run();
    let path = t.path().join("att.json");
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|_| panic!("no attestation:\n{}\n{}", out.stdout, out.stderr));
    let s = check_both_ways(&t, &path);
    let m = &s["predicate"]["masking"];
    assert_eq!(m["masked"], true, "{m:#}");
    assert_eq!(
        m["key_fingerprint"].as_str().map(str::len),
        Some(16),
        "{m:#}"
    );
    assert!(m["copies_scan"]["originals"].as_u64() > Some(0), "{m:#}");
    for shown in [&text, &s.to_string()] {
        assert_eq!(
            crate::personal::leaked(shown),
            None,
            "a personal value in {shown}"
        );
        assert!(
            !shown.contains(crate::personal::KEY),
            "the masking key in {shown}"
        );
    }
    assert_eq!(
        s["predicate"]["summary"]["verdict"],
        if out.code == 0 { "PASSED" } else { "FAILED" },
        "the verdict follows the apply's outcome:\n{}",
        out.stdout
    );
}

/// A spec's `attestation: { out: FILE }` makes every apply write one, next to the spec: with a
/// signing key it is written and verifies; without one the apply refuses before anything runs.
/// See: issue 34
#[test]
fn the_spec_asks_for_an_attestation_issue_34() {
    let mut server = TestServer::start(&root().join("examples/demo/clone.sql"));
    let spec = format!(
        "{}attestation: {{ out: refresh.intoto.json }}\n",
        demo_spec()
    );
    refused_without_key(&mut server, &spec, &[]);
    let t = Test::new()
        .spec(&spec)
        .server(&server, "OS_PREPROD")
        .env(
            "POSTCLONE_SIGNING_KEY",
            key("signer_ed25519").to_str().expect("utf-8"),
        )
        .args(["apply", "--auto-approve"]);
    t.run().code(0);
    let path = t.path().join("refresh.intoto.json");
    let s = check_both_ways(&t, &path);
    assert_eq!(s["predicate"]["summary"]["verdict"], "PASSED");
}

/// An apply that carries the environment's values is attested by the spec as declared. What
/// inspection resolved it into holds kinds no spec can write (captured rows to insert, carried
/// values), which do not serialize: the statement digested nothing there, the SHA-256 of no
/// bytes, for every apply with a carry. See: issue 36
#[test]
fn a_carry_apply_attests_the_spec_as_declared_issue_36() {
    const NOTHING: &str = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
    let preprod = TestServer::start(&fixture("carry/preprod.sql"));
    let (out, captured) = crate::carry::capture(&preprod);
    out.code(0);
    let clone = crate::carry::clone_server();
    let t = crate::carry::after(&clone, &captured)
        .args(["apply", "--identity", "id.txt", "--auto-approve"])
        .args(attesting());
    t.run()
        .code(0)
        .stdout_has("Converged: a new plan shows no changes.");
    let s = check_both_ways(&t, &t.path().join("att.json"));
    let spec = s["predicate"]["spec"]["sha256"]
        .as_str()
        .expect("spec digest");
    assert_eq!(spec.len(), 64, "{spec}");
    assert_ne!(spec, NOTHING, "the spec's digest is that of nothing");
    let carried = s["predicate"]["carry"].to_string();
    assert!(carried.contains("missing"), "{carried}");
}

/// `verify --spec` says whether the spec given is the one the attested apply was made from,
/// wherever that spec is checked out; with `--exact-spec` another spec fails the check.
/// See: issue 36
#[test]
fn verify_checks_a_spec_against_the_attested_one_issue_36() {
    let server = TestServer::start(&root().join("examples/demo/clone.sql"));
    let public = key("signer_ed25519.pub");
    let t = Test::new()
        .spec(&demo_spec())
        .server(&server, "OS_PREPROD")
        .args(["apply", "--auto-approve"])
        .args(attesting());
    t.run().code(0);
    let attestation = t.path().join("att.json");
    // Each check runs in a directory of its own: another checkout of the spec.
    let verify = |spec: &str, exact: bool| {
        let mut args = vec![
            "verify",
            attestation.to_str().expect("utf-8"),
            "--signer",
            public.to_str().expect("utf-8"),
            "--spec",
            "postclone.yaml",
        ];
        if exact {
            args.push("--exact-spec");
        }
        Test::new().spec(spec).args(args).run()
    };
    let same = "Spec: postclone.yaml is the spec the attested apply was made from";
    verify(&demo_spec(), true).code(0).stdout_has(same);
    let changed = demo_spec().replace("forbid_hosts: [prod-sql01]", "forbid_hosts: [prod-sql02]");
    assert_ne!(changed, demo_spec(), "the demo spec changed");
    let out = verify(&changed, false).code(0);
    out.stdout_has("Spec: postclone.yaml differs from the spec the attested apply was made from");
    assert!(!out.stdout.contains(same), "{}", out.stdout);
    verify(&changed, true)
        .code(1)
        .stderr_has("postclone.yaml is not the spec the attested apply was made from");
}
