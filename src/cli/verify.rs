//! `postclone verify FILE`: check an attestation's signature against keys this check trusts,
//! and say what it attests.

use crate::run::{Keys, Run};
use std::io::Write;
use std::path::PathBuf;

use clap::Args;

use super::args::{ConnectArgs, IdentityArgs};
use super::{exit, target, Error};
use crate::signing::TrustedKey;

/// Check a signed attestation written by `apply --attest`, and show what it states
#[derive(Debug, Args)]
#[command(after_help = "Examples:
  postclone verify preprod-refresh.intoto.json --signer \"$(cat ~/.ssh/postclone_ed25519.pub)\"
  postclone verify preprod-refresh.intoto.json --spec environments/preprod.yaml   # trust.signers
  postclone verify preprod-refresh.intoto.json --spec environments/preprod.yaml --drift   # still so?")]
pub struct VerifyArgs {
    /// The attestation (a DSSE envelope)
    file: PathBuf,
    /// A trusted public key: an `ssh-ed25519 AAAA... name` line or a .pub file (repeatable)
    #[arg(long, value_name = "KEY")]
    signer: Vec<String>,
    /// A spec whose `trust.signers` are trusted, and which is compared with the attested one
    #[arg(long, value_name = "SPEC")]
    spec: Option<PathBuf>,
    /// Plan the spec (--spec) again against the attested database and report what changed
    /// since: exit 2 when the database no longer is as attested
    #[arg(long, requires = "spec")]
    drift: bool,
    /// Fail unless the spec (--spec) is the one the attested apply was made from (its digest
    /// is the attestation's; without this flag a different spec is only reported)
    #[arg(long, requires = "spec")]
    exact_spec: bool,
    #[command(flatten)]
    connect: ConnectArgs,
    #[command(flatten)]
    identity: IdentityArgs,
}

/// Checks and prints; exit 0 only when a trusted key's signature verifies.
pub fn run(args: &VerifyArgs, out: &mut impl Write) -> Result<i32, Error> {
    let mut trusted = trusted_keys(&args.signer)?;
    let desired = args
        .spec
        .as_deref()
        .map(crate::spec::load_target)
        .transpose()?;
    if let Some(loaded) = &desired {
        trusted.extend(spec_signers(&loaded.desired)?);
    }
    let text = crate::files::read_text(&args.file, crate::files::MAX_TEXT).map_err(|source| {
        Error::ReadFile {
            path: args.file.clone(),
            source,
        }
    })?;
    let verified = crate::attest::verify(&text, &trusted).map_err(|why| Error::Verify {
        path: args.file.clone(),
        why,
    })?;
    let name = trusted
        .iter()
        .find(|k| k.keyid() == verified.keyid)
        .and_then(TrustedKey::name)
        .map(|n| format!(" ({n})"))
        .unwrap_or_default();
    writeln!(out, "Signature: valid, signed by {}{name}", verified.keyid)?;
    show(&verified.statement, out)?;
    if let (Some(spec), Some(loaded)) = (&args.spec, &desired) {
        same_spec(
            spec,
            &loaded.desired,
            &verified.statement,
            args.exact_spec,
            out,
        )?;
    }
    match (&args.spec, &desired, args.drift) {
        (Some(spec), Some(desired), true) => drift(args, spec, desired, &verified.statement, out),
        _ => Ok(exit::SUCCESS),
    }
}

/// Says whether `spec` is the spec the attested apply was made from (the same digest); with
/// `exact`, one that is not is an error.
fn same_spec(
    spec: &std::path::Path,
    desired: &crate::state::desired::Desired,
    statement: &serde_json::Value,
    exact: bool,
    out: &mut impl Write,
) -> Result<(), Error> {
    let found = crate::attest::spec_digest(desired).map_err(|e| Error::ReadFile {
        path: spec.to_path_buf(),
        source: std::io::Error::other(e.to_string()),
    })?;
    let attested = statement["predicate"]["spec"]["sha256"]
        .as_str()
        .unwrap_or_default();
    if found == attested {
        writeln!(
            out,
            "Spec: {} is the spec the attested apply was made from",
            spec.display()
        )?;
        return Ok(());
    }
    if exact {
        return Err(Error::SpecNotAttested {
            path: spec.to_path_buf(),
            found,
            attested: crate::render::printable(attested).to_string(),
        });
    }
    writeln!(
        out,
        "Spec: {} differs from the spec the attested apply was made from (changed since, or the apply was narrowed with --target/--exclude)",
        spec.display()
    )?;
    Ok(())
}

/// Plans `spec` against its database (which must be the attested one) and reports the
/// changes a new apply would make: what drifted since the attestation, by resource and rows,
/// never values.
fn drift(
    args: &VerifyArgs,
    spec: &std::path::Path,
    loaded: &crate::spec::Loaded,
    statement: &serde_json::Value,
    out: &mut impl Write,
) -> Result<i32, Error> {
    let desired = &loaded.desired;
    let connection = target::connection(
        desired,
        loaded.connection.as_deref(),
        args.connect.connection.as_deref(),
    )?;
    let keys = Keys::read(desired, args.identity.identities()?)?;
    target::runtime()?.block_on(async {
        let mut run = Run::new(target::open(desired, &connection).await?, keys);
        let (plan, _) = crate::planning::make(&mut run, desired).await?;
        let attested = &statement["predicate"]["target"];
        if attested["database"] != plan.target.database.as_str()
            || attested["server"] != plan.target.server.as_str()
        {
            return Err(Error::DriftTarget {
                attested: format!(
                    "{} on {}",
                    attested["database"].as_str().unwrap_or("-"),
                    attested["server"].as_str().unwrap_or("-")
                ),
                connected: format!("{} on {}", plan.target.database, plan.target.server),
            });
        }
        if plan.is_empty() {
            writeln!(
                out,
                "Database: still as attested (a new plan of {} shows no changes)",
                spec.display()
            )?;
            return Ok(exit::SUCCESS);
        }
        // A database the attested apply left differing still differs: that is no drift.
        if statement["predicate"]["summary"]["verdict"] == "PASSED" {
            writeln!(out, "Database: drifted since the attestation:")?;
        } else {
            writeln!(
                out,
                "Database: differs from the spec (the attested apply did not converge either):"
            )?;
        }
        for step in &plan.steps {
            writeln!(
                out,
                "  {} {}: {} {}{}",
                step.action().symbol(),
                step.id,
                step.rows.count,
                if step.rows.count == 1 { "row" } else { "rows" },
                step.table()
                    .map(|t| format!(" in {}", t.table))
                    .unwrap_or_default()
            )?;
        }
        if plan.hits() > 0 {
            writeln!(out, "  {} values name production", plan.hits())?;
        }
        if let Some(c) = plan.copies.as_ref().filter(|c| c.found > 0) {
            writeln!(out, "  {} copies of masked values", c.found)?;
        }
        Ok(exit::CHANGES_PENDING)
    })
}

/// The keys `--signer` names: each an `ssh-ed25519 AAAA... name` line or a .pub file's path.
///
/// # Errors
/// A file that cannot be read, or a text that is no such key.
pub(super) fn trusted_keys(signers: &[String]) -> Result<Vec<TrustedKey>, Error> {
    signers
        .iter()
        .map(|signer| {
            let line = if signer.trim_start().starts_with("ssh-") {
                signer.clone()
            } else {
                let path = PathBuf::from(signer);
                crate::files::read_text(&path, 64 * 1024)
                    .map_err(|source| Error::ReadFile { path, source })?
            };
            Ok(TrustedKey::parse(&line)?)
        })
        .collect()
}

/// The keys a spec's `trust.signers` lists.
///
/// # Errors
/// An entry that is no such key (loading the spec checked them already).
pub(super) fn spec_signers(
    desired: &crate::state::desired::Desired,
) -> Result<Vec<TrustedKey>, Error> {
    desired
        .trust
        .signers
        .iter()
        .map(|s| Ok(TrustedKey::parse(s)?))
        .collect()
}

/// What the statement says, one line per area.
fn show(statement: &serde_json::Value, out: &mut impl Write) -> Result<(), Error> {
    use crate::render::printable;
    let p = &statement["predicate"];
    let text = |v: &serde_json::Value| printable(v.as_str().unwrap_or("-"));
    let subject = &statement["subject"][0];
    writeln!(
        out,
        "Subject: {} (sha256 {})",
        text(&subject["name"]),
        text(&subject["digest"]["sha256"])
    )?;
    writeln!(
        out,
        "Verdict: {}: {} ({})",
        text(&p["summary"]["verdict"]),
        text(&p["summary"]["result"]),
        text(&p["summary"]["detail"])
    )?;
    writeln!(
        out,
        "Applied: {} to {}, postclone {}",
        text(&p["started"]),
        text(&p["finished"]),
        text(&p["postclone"]["version"])
    )?;
    writeln!(
        out,
        "Guard: {}, expected database {}",
        text(&p["guard"]["result"]),
        text(&p["guard"]["expected_database"])
    )?;
    let changes = p["plan"]["changes"].as_array().cloned().unwrap_or_default();
    let count = |result: &str| changes.iter().filter(|c| c["result"] == result).count();
    writeln!(
        out,
        "Changes: {} planned, {} committed, {} rolled back, {} not run",
        changes.len(),
        count("committed"),
        count("rolled back") + count("failed, rolled back"),
        count("not run")
    )?;
    writeln!(
        out,
        "Values naming production: {} before, {} fixed by the spec, {} after",
        p["production_references"]["values_naming_production_before"],
        p["production_references"]["fixed_by_the_spec"],
        p["production_references"]["remaining_after"]
    )?;
    if p["masking"]["masked"] == true {
        writeln!(
            out,
            "Masking: key {}, copies found {}, not covered {}, remaining after {}",
            text(&p["masking"]["key_fingerprint"]),
            p["masking"]["copies_scan"]["copies_found"],
            p["masking"]["copies_scan"]["copies_not_covered"],
            p["masking"]["copies_remaining_after"]
        )?;
    } else {
        writeln!(out, "Masking: none in this apply")?;
    }
    writeln!(
        out,
        "Manual steps left to people: {}",
        p["manual_steps"].as_array().map_or(0, Vec::len)
    )?;
    Ok(())
}
