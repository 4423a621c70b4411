//! `postclone verify FILE`: check an attestation's signature against keys this check trusts,
//! and say what it attests.

use std::io::Write;
use std::path::PathBuf;

use clap::Args;

use super::{exit, Error};
use crate::signing::TrustedKey;

/// Check a signed attestation written by `apply --attest`, and show what it states
#[derive(Debug, Args)]
#[command(after_help = "Examples:
  postclone verify preprod-refresh.intoto.json --signer \"$(cat ~/.ssh/postclone_ed25519.pub)\"
  postclone verify preprod-refresh.intoto.json --spec environments/preprod.yaml   # trust.signers")]
pub struct VerifyArgs {
    /// The attestation (a DSSE envelope)
    file: PathBuf,
    /// A trusted public key: an `ssh-ed25519 AAAA... name` line or a .pub file (repeatable)
    #[arg(long, value_name = "KEY")]
    signer: Vec<String>,
    /// A spec whose `trust.signers` are trusted
    #[arg(long, value_name = "SPEC")]
    spec: Option<PathBuf>,
}

/// Checks and prints; exit 0 only when a trusted key's signature verifies.
pub fn run(args: &VerifyArgs, out: &mut impl Write) -> Result<i32, Error> {
    let mut trusted = Vec::new();
    for signer in &args.signer {
        let line = if signer.trim_start().starts_with("ssh-") {
            signer.clone()
        } else {
            let path = PathBuf::from(signer);
            crate::files::read_text(&path, 64 * 1024)
                .map_err(|source| Error::ReadFile { path, source })?
        };
        trusted.push(TrustedKey::parse(&line)?);
    }
    if let Some(spec) = &args.spec {
        let desired = crate::spec::load(spec)?;
        for s in &desired.trust.signers {
            trusted.push(TrustedKey::parse(s)?);
        }
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
    Ok(exit::SUCCESS)
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
