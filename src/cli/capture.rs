//! `postclone capture`: read the environment's own configuration before a clone overwrites it,
//! into a spec fragment for git (secret values sealed).

use crate::run::{Keys, Run};
use std::io::Write;
use std::path::PathBuf;

use clap::Args;

use super::args::{ConnectArgs, SpecArg};
use super::{exit, target, Error};
use crate::spec;

/// Read this environment's own configuration (before it is cloned over) into a file to include after the clone
#[derive(Debug, Args)]
#[command(
    after_help = "The file holds each carried resource's rows by stable key (module and element
SS_KEYs, tenant and connection names, never numeric ids); secret values are sealed to the
spec's journal.recipients, and capture refuses to run without one when a value is secret.

Examples:
  postclone capture environments/preprod.yaml --out environments/preprod.captured.yaml
  # after the clone, in the spec: include: [outsystems-o11, outsystems-o11-carry, ./preprod.captured.yaml]"
)]
pub struct CaptureArgs {
    #[command(flatten)]
    spec: SpecArg,
    #[command(flatten)]
    connect: ConnectArgs,
    /// The file to write (a spec fragment: `captured:`)
    #[arg(long, value_name = "FILE")]
    out: PathBuf,
    /// Sign the capture with this OpenSSH ed25519 private key, so that a spec listing its
    /// public key in `trust.signers` accepts it [env: POSTCLONE_SIGNING_KEY]
    #[arg(long, value_name = "FILE")]
    signing_key: Option<PathBuf>,
}

/// Captures and writes the file.
pub fn run(args: &CaptureArgs, out: &mut impl Write) -> Result<i32, Error> {
    let spec = spec::load_for_capture(&args.spec.spec, &args.out)?;
    let desired = spec.desired;
    // Read before anything connects: a key that cannot sign is known at once.
    let keys = Keys {
        signing: crate::signing::SigningKey::given(args.signing_key.as_deref())?,
        ..Keys::default()
    };
    let connection = target::connection(
        &desired,
        spec.connection.as_deref(),
        args.connect.connection.as_deref(),
    )?;
    let host = target::host(&connection);
    let at = crate::state::clock::now_utc();
    let (file, captures) = target::runtime()?.block_on(async {
        let mut run = Run::new(target::open(&desired, &connection).await?, keys);
        let (mut file, captures) = crate::capture::run(&mut run, &desired, host.as_deref(), &at)
            .await
            .map_err(Error::from)?;
        if let Some(key) = &run.keys.signing {
            use base64::Engine as _;
            let sig = key.sign(&file.captured.signed_bytes());
            file.captured.signature = Some(crate::state::desired::CaptureSignature {
                keyid: key.public().keyid(),
                sig: base64::engine::general_purpose::STANDARD.encode(sig),
            });
        }
        Ok::<_, Error>((file, captures))
    })?;
    let yaml = crate::yaml_out::to_string(&file).map_err(|e| Error::WriteFile {
        path: args.out.clone(),
        source: std::io::Error::other(e.to_string()),
    })?;
    let text = format!(
        "# The environment's own configuration, captured by `postclone capture`\n\
         # from database {} on server {} at {}.\n\
         # Rows are keyed by stable keys; secret values are sealed to the spec's journal.recipients.\n\
         # After the clone, include this file with the carry profile:\n\
         #   include: [outsystems-o11, outsystems-o11-carry, ./{}]\n{yaml}",
        // Names the server sends: a line break in one must not end the comment.
        crate::render::printable(&file.captured.from.database),
        crate::render::printable(&file.captured.from.server),
        file.captured.from.at,
        args.out
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default()
    );
    std::fs::write(&args.out, text).map_err(|source| Error::WriteFile {
        path: args.out.clone(),
        source,
    })?;
    let total: usize = captures.resources.iter().map(|(_, n)| n).sum();
    writeln!(
        out,
        "Captured {total} rows of {} resources from database {} into {} ({} sealed).",
        captures.resources.len(),
        file.captured.from.database,
        args.out.display(),
        captures.sealed
    )?;
    for (id, n) in &captures.resources {
        writeln!(out, "  {id}: {n} {}", if *n == 1 { "row" } else { "rows" })?;
    }
    Ok(exit::SUCCESS)
}
