//! `postclone restore JOURNAL`: put back what an apply deleted or modified, planned, shown and
//! approved like apply.

use crate::run::{Keys, Run};
use std::io::Write;
use std::path::{Path, PathBuf};

use clap::Args;

use super::args::{ConnectArgs, IdentityArgs, LockArgs};
use super::{apply, exit, target, Error};
use crate::engine::Connection;
use crate::journal;
use crate::plan::PlanKey;
use crate::render::text;
use crate::restore;
use crate::spec;

/// Put back the rows an apply deleted or modified, from its journal
#[derive(Debug, Args)]
#[command(
    after_help = "Rows changed since the apply (a timer that ran, a value someone edited) are left as \
they are and listed: restore never overwrites what happened after the apply.

Examples:
  postclone restore .postclone/journal/OS_PREPROD-1764030000-000000000.jsonl
  postclone restore JOURNAL --resource timers-quarantined --label SyncInvoicesToERP
  postclone restore JOURNAL --connection 'server=tcp:db,1433;database=OS_PREPROD;...' --auto-approve"
)]
pub struct RestoreArgs {
    /// The journal an apply wrote
    #[arg(value_name = "JOURNAL")]
    journal: PathBuf,
    #[command(flatten)]
    connect: ConnectArgs,
    /// The spec whose connection to use [default: the one the journal names]
    #[arg(long, value_name = "SPEC")]
    spec: Option<PathBuf>,
    /// Put back only the rows of this change (repeatable)
    #[arg(long = "resource", value_name = "ID")]
    resources: Vec<String>,
    /// Put back only the rows with this name, from their resource's `label:`, compared
    /// case-insensitively (repeatable)
    #[arg(long = "label", value_name = "NAME")]
    labels: Vec<String>,
    #[command(flatten)]
    identity: IdentityArgs,
    /// Restore a journal that has no end marker (its apply was interrupted after committing);
    /// every line it holds is still checked
    #[arg(long)]
    incomplete: bool,
    /// Restore a journal written by an older postclone, whose lines carry no digest (whether
    /// it was altered cannot be checked)
    #[arg(long)]
    unverified: bool,
    /// Restore what can be read without --identity, leaving the sealed rows out
    #[arg(long)]
    without_sealed: bool,
    /// Restore without asking (for pipelines)
    #[arg(long)]
    auto_approve: bool,
    /// Restore only a journal whose end marker this key signed: an `ssh-ed25519 AAAA...` line
    /// or a .pub file (repeatable; the spec's `trust.signers` are trusted too)
    #[arg(long, value_name = "KEY")]
    signer: Vec<String>,
    #[command(flatten)]
    lock: LockArgs,
}

/// Plans, asks, restores.
pub fn run(args: &RestoreArgs, out: &mut impl Write) -> Result<i32, Error> {
    // Every key restore uses, read once: the identities open sealed rows, the plan key's chain
    // key checks the journal's chain.
    let keys = Keys {
        identities: args.identity.identities()?,
        plan: super::plan_key::for_reading()?,
        ..Keys::default()
    };
    let options = journal::ReadOptions {
        incomplete: args.incomplete,
        unverified: args.unverified,
        key: keys.plan.as_ref().map(PlanKey::journal_chain),
    };
    let mut plan = journal::read(
        &args.journal,
        keys.identities.as_ref(),
        options,
        &args.labels,
    )?;
    plan.select(&args.resources, &args.labels)?;
    let sealed: Vec<String> = plan
        .sealed_unopened()
        .iter()
        .map(ToString::to_string)
        .collect();
    if !sealed.is_empty() && !args.without_sealed {
        return Err(Error::SealedWithoutIdentity { changes: sealed });
    }
    let desired = journal_spec(args, &plan)?;
    // Who must have signed the journal: --signer, and the spec's trust.signers.
    let mut trusted = super::verify::trusted_keys(&args.signer)?;
    if let Some(d) = &desired {
        trusted.extend(super::verify::spec_signers(&d.desired)?);
    }
    if let Some(keyid) = plan.signed_by(&trusted)? {
        writeln!(out, "Journal signed by {keyid}.")?;
    }
    let queue_names = desired
        .as_ref()
        .map(|d| d.desired.event_queues.clone())
        .unwrap_or_default();
    let connection = match (args.connect.connection.as_deref(), &desired) {
        (Some(text), _) => Connection::parse(text, Path::new(".")),
        (None, Some(spec)) => target::connection(&spec.desired, spec.connection.as_deref(), None)?,
        (None, None) => return Err(target::ConnectionError::JournalWithoutSpec.into()),
    };
    target::runtime()?.block_on(async {
        let mut run = Run::new(target::open_engine(&connection).await?, keys);
        let restore::Prepared {
            lock,
            triage,
            queues,
        } = restore::prepare(&mut run, &mut plan, &queue_names, args.lock.timeout()).await?;
        text::restore(&triage, out)?;
        if triage.plan.steps.is_empty() {
            return Ok(exit::SUCCESS);
        }
        if !args.auto_approve && !apply::approved(out, "restore these rows")? {
            writeln!(out, "Restore cancelled: nothing was changed.")?;
            return Ok(exit::ERROR);
        }
        let report = restore::run(&mut run, &plan, &triage, &lock, &queues).await?;
        report_restored(&report, &triage, out)?;
        Ok(exit::SUCCESS)
    })
}

/// The spec restore runs under: `--spec`, or the one the journal was applied from. It says
/// who must have signed the journal and which tables are event queues (the events restore's
/// own writes queue there are deleted in its transaction). A journal's spec that no longer
/// loads is an error, never skipped: skipping it would drop the signatures its
/// `trust.signers` require.
fn journal_spec(
    args: &RestoreArgs,
    plan: &journal::RestorePlan,
) -> Result<Option<spec::Loaded>, Error> {
    Ok(match (&args.spec, &plan.source) {
        (Some(spec), _) => Some(spec::load_target(spec)?),
        (None, Some(spec)) => {
            Some(
                spec::load_target(spec).map_err(|source| Error::JournalSpec {
                    path: spec.clone(),
                    source,
                })?,
            )
        }
        (None, None) => None,
    })
}

/// What a restore did: rows back, events its writes queued and deleted, rows left alone.
fn report_restored(
    report: &restore::RestoreReport,
    triage: &journal::Triage,
    out: &mut impl Write,
) -> Result<(), Error> {
    writeln!(out)?;
    writeln!(
        out,
        "Restore complete: {} journaled rows are back in {} tables, each read back and identical to the journal.",
        report.rows, report.tables
    )?;
    for (queue, events) in report.unqueued.iter().filter(|(_, n)| *n > 0) {
        writeln!(
            out,
            "Deleted {events} {} that restore's own writes queued in {queue} (the triggers of the tables written back).",
            if *events == 1 { "event" } else { "events" }
        )?;
    }
    if !triage.left_alone.is_empty() {
        let n = triage.left_alone.len();
        writeln!(
            out,
            "{} changed since the apply {} left as {} (listed above).",
            if n == 1 {
                "1 row".to_string()
            } else {
                format!("{n} rows")
            },
            if n == 1 { "was" } else { "were" },
            if n == 1 { "it is" } else { "they are" },
        )?;
    }
    Ok(())
}
