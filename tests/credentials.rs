//! Secrets by reference: the connection, the masking key and the plan key read from where
//! they are kept (`exec:` a helper script, `env:`, `file:`), never shown, and the database's
//! own dump the verdict on whether the referenced key was the one used.
//! See: issue 37

use crate::common::{files_text, fixture, journal_in, Test, TestServer};

/// The masking key the helper prints; the same key given directly masks the same way.
const KEY: &str = crate::personal::KEY;

/// A helper that prints the secret its first argument names, as a vault's command line would
/// (and leaves a file `ran` behind, to tell whether it ran).
fn helper(connection: &str) -> String {
    format!(
        "#!/bin/sh\ntouch ran\ncase \"$1\" in\n  connection) printf '%s\\n' '{connection}' ;;\n  mask-key) printf '%s\\n' '{KEY}' ;;\n  *) echo \"no secret named $1\" >&2; exit 4 ;;\nesac\n"
    )
}

/// A run whose spec reads its connection and its masking key (`key`, the vault's name for it)
/// from the vault script through `exec:`.
fn with_vault(server: &TestServer, key: &str) -> Test {
    Test::new()
        .file("vault.sh", &helper(&server.connection("OS_PREPROD")))
        .spec(&spec(
            "exec:sh vault.sh connection",
            &format!("exec:sh vault.sh {key}"),
        ))
}

fn spec(connection: &str, key_from: &str) -> String {
    crate::personal::spec(true, "").replacen(
        "engine: sqlserver\n",
        &format!("engine: sqlserver\nconnection: \"{connection}\"\nmasking: {{ key_from: \"{key_from}\" }}\n"),
        1,
    )
}

/// The connection and the masking key come from a helper through `exec:`, the plan key
/// through `env:`: apply converges, masks exactly as the key given directly does (judged by
/// the two databases' dumps), and neither the key nor the connection's password appears in any
/// output, saved plan or journal.
#[test]
fn secrets_come_from_references_and_are_never_shown_issue_37() {
    let mut server = TestServer::start(&fixture("personal/clone.sql"));
    let mut direct = TestServer::start(&fixture("personal/clone.sql"));
    let mut t = with_vault(&server, "mask-key")
        .env("POSTCLONE_EXEC", "allow")
        .env("PIPELINE_PLAN_KEY", "plan-key-from-the-pipeline-0123456789")
        .env("POSTCLONE_PLAN_KEY", "env:PIPELINE_PLAN_KEY");
    let saved = t.path().join("plan.json");
    let plan = t
        .set_args(["plan", "--out", saved.to_str().expect("utf-8")])
        .run()
        .code(0);
    let applied = t.set_args(["apply", "--auto-approve"]).run().code(0);
    applied.stdout_has("Converged");
    let again = t.set_args(["plan", "--detailed-exitcode"]).run().code(0);

    // The same spec with the key and connection given directly, on a copy of the clone.
    Test::new()
        .spec(&crate::personal::spec(true, ""))
        .server(&direct, "OS_PREPROD")
        .env("POSTCLONE_MASK_KEY", KEY)
        .args(["apply", "--auto-approve"])
        .run()
        .code(0);
    for table in ["OSUSR_ABC_CUSTOMER", "OSUSR_ABC_ORDER", "OSSYS_USER"] {
        assert_eq!(
            server.dump(table),
            direct.dump(table),
            "{table} masked otherwise than with the key itself"
        );
    }

    let journal = journal_in(&t);
    let written = format!(
        "{}{}{}{}{}{}{}",
        plan.stdout,
        plan.stderr,
        applied.stdout,
        applied.stderr,
        again.stdout,
        again.stderr,
        files_text(journal.parent().expect("journal dir"), &[])
    ) + &std::fs::read_to_string(&saved).expect("saved plan");
    for secret in [KEY, "test-only", "plan-key-from-the-pipeline"] {
        assert!(!written.contains(secret), "{secret} was shown or written");
    }
}

/// A helper that fails is reported with what it said (the secret it printed masked) and
/// nothing runs; a spec that writes the masking key itself in `key_from` is refused at load,
/// naming the field.
#[test]
fn failing_and_literal_references_are_refused_issue_37() {
    let mut server = TestServer::start(&fixture("personal/clone.sql"));
    let dump = server.dump_everything();
    let mut t = with_vault(&server, "no-such-key").env("POSTCLONE_EXEC", "allow");
    let out = t.set_args(["apply", "--auto-approve"]).run().code(1);
    out.stderr_has("`sh vault.sh no-such-key` (from an exec: reference) failed (exit status: 4): no secret named no-such-key");
    assert_eq!(
        server.dump_everything(),
        dump,
        "a failed reference changed rows"
    );

    let literal = Test::new()
        .spec(&spec("exec:sh vault.sh connection", KEY))
        .args(["validate"])
        .run()
        .code(1);
    assert!(
        literal.stderr.contains("masking.key_from")
            && literal
                .stderr
                .contains("names where the masking key is kept; it is not the key"),
        "{}",
        literal.stderr
    );
    assert!(!literal.stderr.contains(KEY), "{}", literal.stderr);
}

/// `POSTCLONE_SECRETS=references` refuses a spec whose connection writes its password in
/// clear, and accepts the same connection read through a reference.
#[test]
fn the_references_policy_refuses_passwords_in_clear_issue_37() {
    let server = TestServer::start(&fixture("personal/clone.sql"));
    let connection = server.connection("OS_PREPROD");
    let plain = Test::new()
        .spec(&spec(&connection, "env:MASK_KEY_OF_THE_PIPELINE"))
        .env("MASK_KEY_OF_THE_PIPELINE", KEY)
        .env("POSTCLONE_SECRETS", "references")
        .args(["plan"])
        .run()
        .code(1);
    assert!(
        plain.stderr.contains("holds a password in clear")
            && plain.stderr.contains("POSTCLONE_SECRETS=references"),
        "{}",
        plain.stderr
    );
    assert!(!plain.stderr.contains("test-only"), "{}", plain.stderr);
    Test::new()
        .file("connection.txt", &connection)
        .spec(&spec("file:connection.txt", "env:MASK_KEY_OF_THE_PIPELINE"))
        .env("MASK_KEY_OF_THE_PIPELINE", KEY)
        .env("POSTCLONE_SECRETS", "references")
        .args(["plan"])
        .run()
        .code(0);
}

/// An `exec:` reference written in a spec runs nothing unless `POSTCLONE_EXEC=allow` is set
/// where postclone runs: whoever edits a spec (a pull request) does not choose what runs.
#[test]
fn a_spec_runs_no_command_unless_allowed_issue_37() {
    let mut server = TestServer::start(&fixture("personal/clone.sql"));
    let dump = server.dump_everything();
    let mut t = with_vault(&server, "mask-key");
    for command in [&["plan"][..], &["apply", "--auto-approve"]] {
        let out = t.set_args(command.iter().copied()).run().code(1);
        assert!(
            out.stderr.contains("would run a command")
                && out.stderr.contains("POSTCLONE_EXEC=allow"),
            "{}",
            out.stderr
        );
    }
    assert!(!t.path().join("ran").exists(), "the helper ran");
    assert_eq!(server.dump_everything(), dump, "rows changed");
}
