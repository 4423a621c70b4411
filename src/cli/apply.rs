//! `postclone apply`: show the plan, ask, execute in one transaction, verify convergence.

use crate::run::{Keys, Run};
use std::io::{BufRead, IsTerminal, Write};

use clap::Args;

use std::path::{Path, PathBuf};

use super::args::{ConnectArgs, IdentityArgs, LockArgs, SelectArgs, SpecArg};
use super::{exit, plan, target, Error};
use crate::apply;
use crate::engine::Engine;
use crate::journal::Journal;
use crate::plan::{PlanFile, PlanKey, StalePlan};
use crate::planning;
use crate::render::{self, Detail, Format};
use crate::spec;

/// Show the plan, then bring the database to the spec in one transaction
#[derive(Debug, Args)]
#[command(after_help = "Examples:
  postclone apply                                 # asks before changing anything
  postclone apply specs/preprod.yaml --auto-approve   # in a pipeline
  postclone plan --out plan.json && postclone apply plan.json   # exactly the reviewed plan
  postclone apply --exclude front-end-servers")]
pub struct ApplyArgs {
    #[command(flatten)]
    spec: SpecArg,
    #[command(flatten)]
    connect: ConnectArgs,
    /// Apply without asking (for pipelines)
    #[arg(long)]
    auto_approve: bool,
    /// The journal to write [default: .postclone/journal/DATABASE-TIME.jsonl]
    #[arg(long, value_name = "FILE")]
    journal: Option<std::path::PathBuf>,
    #[command(flatten)]
    lock: LockArgs,
    #[command(flatten)]
    select: SelectArgs,
    /// Show the SQL of each change (values as parameters, secrets masked)
    #[arg(long, short)]
    verbose: bool,
    #[command(flatten)]
    identity: IdentityArgs,
    /// Write a signed attestation of this apply (a DSSE envelope around an in-toto statement)
    /// to FILE, whether it converges or fails; `postclone verify FILE` checks it
    #[arg(long, value_name = "FILE")]
    attest: Option<PathBuf>,
    /// The OpenSSH ed25519 private key that signs the attestation and the journal's end marker
    /// [env: POSTCLONE_SIGNING_KEY]
    #[arg(long, value_name = "FILE")]
    signing_key: Option<PathBuf>,
}

/// What `apply` was given.
enum Source {
    /// A spec: plan now, show, ask.
    Spec(PathBuf),
    /// A plan saved by `plan --out`: apply it if its rows are unchanged.
    PlanFile(Box<PlanFile>, PathBuf),
}

/// A saved plan being applied, its file, and the plan key its seal was checked with.
type Saved<'a> = (&'a PlanFile, &'a PathBuf, PlanKey);

impl Source {
    /// What the apply runs from: the spec as loaded, narrowed to `--target`/`--exclude`; or the
    /// saved plan's, once its seal is checked (with the plan itself).
    fn load<'a>(&'a self, args: &ApplyArgs) -> Result<(spec::Loaded, Option<Saved<'a>>), Error> {
        match self {
            Source::Spec(path) => {
                let spec = spec::load_target(path)?;
                let desired = spec.desired.select(&args.select.selection())?;
                Ok((
                    spec::Loaded {
                        desired,
                        connection: spec.connection,
                    },
                    None,
                ))
            }
            Source::PlanFile(_, path) if !args.select.is_empty() => {
                Err(Error::SelectionWithSavedPlan { path: path.clone() })
            }
            Source::PlanFile(file, path) => {
                // Checked whole before anything is read from it.
                let key = super::plan_key::for_applying()?;
                file.verify(path, &key)?;
                let spec = spec::Loaded {
                    desired: file.desired.clone(),
                    connection: file.connection.clone(),
                };
                Ok((spec, Some((&**file, path, key))))
            }
        }
    }

    /// A file holding a JSON object is a saved plan; anything else a spec.
    fn read(path: &Path) -> Result<Source, Error> {
        let text = crate::files::read_text(path, crate::files::MAX_TEXT).map_err(|source| {
            crate::spec::Error::Read {
                path: path.to_path_buf(),
                source,
            }
        })?;
        if PlanFile::looks_like(&text) {
            let file = PlanFile::parse(path, &text)?;
            return Ok(Source::PlanFile(Box::new(file), path.to_path_buf()));
        }
        Ok(Source::Spec(path.to_path_buf()))
    }
}

/// How approval is obtained.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ApprovalMode {
    Prompt,
    Auto,
}

/// Plans, asks, applies and reports.
pub fn run(args: &ApplyArgs, out: &mut impl Write) -> Result<i32, Error> {
    let source = Source::read(&args.spec.spec)?;
    // A saved plan was reviewed when it was made: applying it is the approval.
    let approval = if args.auto_approve || matches!(source, Source::PlanFile(..)) {
        ApprovalMode::Auto
    } else {
        ApprovalMode::Prompt
    };
    let (spec, saved) = source.load(args)?;
    let (desired, declared) = (spec.desired, spec.connection);
    let connection = target::connection(
        &desired,
        declared.as_deref(),
        args.connect.connection.as_deref(),
    )?;
    let host = target::host(&connection);
    // Every key is read once, before anything connects: an attestation that cannot be signed,
    // or a journal that cannot be chained, is known at once, not after the apply.
    let signing = crate::signing::SigningKey::given(args.signing_key.as_deref())?;
    let attest = args.attest.clone().or_else(|| {
        desired
            .attestation
            .as_ref()
            .map(|a| desired.base_dir.join(&a.out))
    });
    if attest.is_some() && signing.is_none() {
        return Err(Error::AttestWithoutKey);
    }
    // The saved plan's key, or the one plans are saved with (made when there is none yet): it
    // chains the journal.
    let plan_key = match &saved {
        Some((_, _, key)) => key.clone(),
        None => super::plan_key::for_saving()?,
    };
    let keys = Keys {
        plan: Some(plan_key),
        signing,
        ..Keys::read(&desired, args.identity.identities()?)?
    };
    target::runtime()?.block_on(async {
        let mut run = Run::new(target::open(&desired, &connection).await?, keys);
        // Locked before planning, so that the plan shown is not made stale by another apply.
        let lock = run.engine.lock(args.lock.timeout()).await?;
        let (plan, resolved) = planning::make(&mut run, &desired).await?;
        // Never skipped: a saved plan always carries the key its seal was checked with.
        if let Some((saved, path, key)) = &saved {
            check_saved((saved, path, key), &plan, out)?;
        }
        let statements = if args.verbose {
            Some(plan::statements(&run.engine, &plan)?)
        } else {
            None
        };
        plan::show(
            &plan,
            Format::Text,
            &Detail {
                statements: statements.as_deref(),
                ..Detail::default()
            },
            out,
        )?;
        if plan.steps.is_empty() {
            let attest = attest.as_deref().zip(run.keys.signing.as_ref());
            return nothing_to_change(&desired, &plan, (attest, host.as_deref()), out);
        }
        // Refuse before asking: nobody should approve a plan for the wrong database.
        apply::preflight(&desired, &plan, host.as_deref())?;
        let journal = args.journal.clone().unwrap_or_else(|| {
            Journal::default_path(Path::new(crate::journal::DEFAULT_DIR), &plan.target)
        });
        writeln!(out)?;
        writeln!(
            out,
            "Journal: {} (every row deleted or modified is saved there first; it holds \
             production's values and is readable by you only)",
            journal.display()
        )?;
        if approval == ApprovalMode::Prompt && !approved(out, "apply these changes")? {
            writeln!(out, "Apply cancelled: nothing was changed.")?;
            return Ok(exit::ERROR);
        }
        writeln!(out)?;
        let first = plan.steps.iter().filter(|s| s.commits_by_itself()).count();
        if first == 0 {
            writeln!(
                out,
                "Applying {} changes in one transaction...",
                plan.steps.len()
            )?;
        } else {
            writeln!(
                out,
                "Applying {} changes: {first} the database commits by itself first, then {} in one transaction...",
                plan.steps.len(),
                plan.steps.len() - first
            )?;
        }
        let approved = Approved {
            args,
            lock,
            journal: &journal,
            host: host.as_deref(),
            attest: attest.as_deref(),
        };
        approved.apply(&mut run, (&desired, &resolved), &plan, out).await
    })
}

/// What an approved apply runs with.
struct Approved<'a> {
    args: &'a ApplyArgs,
    lock: crate::engine::Lock,
    journal: &'a Path,
    host: Option<&'a str>,
    attest: Option<&'a Path>,
}

impl Approved<'_> {
    /// Applies `plan` (built from `resolved`, what inspection made of `desired`), shows what
    /// was sent (`--verbose`), writes the attestation when asked (of the spec as declared), and
    /// reports.
    async fn apply<E: Engine>(
        &self,
        run: &mut Run<E>,
        (desired, resolved): (&crate::state::desired::Desired, &crate::state::Resolved),
        plan: &crate::plan::Plan,
        out: &mut impl Write,
    ) -> Result<i32, Error> {
        let args = self.args;
        let source =
            std::fs::canonicalize(&args.spec.spec).unwrap_or_else(|_| args.spec.spec.clone());
        let options = apply::Options {
            lock: self.lock,
            journal: self.journal,
            source: Some(&source),
            connected_host: self.host,
        };
        let mut printer = progress_printer(std::io::stderr().is_terminal());
        let mut sent: Vec<(String, String)> = Vec::new();
        let mut progress = |event: apply::Progress<'_>| match event {
            apply::Progress::Sent { id, statement } if args.verbose => {
                sent.push((id.to_string(), statement.redacted()));
            }
            event => printer(event),
        };
        let started = crate::state::clock::now_utc();
        let result = apply::run(run, resolved, plan, options, &mut progress).await;
        if args.verbose {
            show_sent(&sent, out)?;
        }
        if let (Some(path), Some(key)) = (self.attest, &run.keys.signing) {
            let attested = Attested {
                desired,
                plan,
                journal: Some(self.journal),
                started: &started,
            };
            attested.write(ending(&result), path, key, out)?;
        }
        report_outcome(&result?, out)
    }
}

/// A plan without changes: attested when asked (the guard checked first, as apply would);
/// complete when nothing else differs, not converged when read-only findings remain.
fn nothing_to_change(
    desired: &crate::state::desired::Desired,
    plan: &crate::plan::Plan,
    (attest, host): (Option<(&Path, &crate::signing::SigningKey)>, Option<&str>),
    out: &mut impl Write,
) -> Result<i32, Error> {
    if let Some((path, key)) = attest {
        apply::preflight(desired, plan, host)?;
        let attested = Attested {
            desired,
            plan,
            journal: None,
            started: &crate::state::clock::now_utc(),
        };
        attested.write(crate::attest::Ending::Unchanged, path, key, out)?;
    }
    writeln!(out)?;
    if plan.is_empty() {
        writeln!(out, "Apply complete: nothing to do.")?;
        return Ok(exit::SUCCESS);
    }
    writeln!(out, "Apply: nothing to change.")?;
    Err(Error::NotConverged {
        remaining: 0,
        production_values: plan.hits(),
        copies: plan.copies.as_ref().map_or(0, |c| c.found),
    })
}

/// A saved plan applies only if the rows it touches are unchanged; otherwise what differs is
/// shown, with what a plan would do now.
fn check_saved(
    (saved, path, key): (&crate::plan::PlanFile, &Path, &PlanKey),
    plan: &crate::plan::Plan,
    out: &mut impl Write,
) -> Result<(), Error> {
    if let Err(stale) = saved.check(plan, key) {
        if let StalePlan::Rows { changes } = &stale {
            render::text::staleness(path, changes, out)?;
            writeln!(out)?;
            writeln!(out, "What a plan would do now:")?;
            plan::show(plan, Format::Text, &Detail::default(), out)?;
        }
        return Err(apply::Error::from(stale).into());
    }
    writeln!(
        out,
        "Applying the saved plan {} to database {}: the rows it touches are unchanged.",
        path.display(),
        plan.target.database
    )?;
    Ok(())
}

/// What the apply did, and whether the database converged.
fn report_outcome(report: &apply::ApplyReport, out: &mut impl Write) -> Result<i32, Error> {
    writeln!(
        out,
        "Apply complete: {} changes committed ({} statements, {} rows journaled).",
        report.applied.len(),
        report.statements,
        report.journaled
    )?;
    for (queue, events) in report.unqueued.iter().filter(|(_, n)| *n > 0) {
        writeln!(
            out,
            "Deleted {events} {} that the apply's own writes queued in {queue} (triggers): never in the clone, not journaled.",
            if *events == 1 { "event" } else { "events" }
        )?;
    }
    if report.converged() {
        writeln!(out, "Converged: a new plan shows no changes.")?;
        Ok(exit::SUCCESS)
    } else {
        writeln!(out)?;
        writeln!(out, "Still differing after apply:")?;
        plan::show(&report.after, Format::Text, &Detail::default(), out)?;
        Err(Error::NotConverged {
            remaining: report.after.steps.len(),
            production_values: report.after.hits(),
            copies: report.after.copies.as_ref().map_or(0, |c| c.found),
        })
    }
}

/// What an attestation of an apply is made from.
struct Attested<'a> {
    desired: &'a crate::state::desired::Desired,
    plan: &'a crate::plan::Plan,
    /// The journal, when the apply got as far as writing one.
    journal: Option<&'a Path>,
    started: &'a str,
}

/// How an apply that ran ended, as its attestation states it.
fn ending(result: &Result<apply::ApplyReport, apply::Error>) -> crate::attest::Ending<'_> {
    use crate::attest::Ending;
    match result {
        Ok(report) => Ending::Applied(report),
        Err(e) => {
            let (failed, rolled_back) = match e {
                apply::Error::Failed(f) => (
                    Some(f.change.to_string()),
                    f.rolled_back_changes
                        .iter()
                        .map(ToString::to_string)
                        .collect(),
                ),
                apply::Error::CommittedFailed(f) => (Some(f.change.to_string()), Vec::new()),
                _ => (None, Vec::new()),
            };
            Ending::Failed {
                message: crate::render::escape::message(&e.to_string()),
                failed,
                rolled_back,
                refused: matches!(e, apply::Error::Refused(_)),
            }
        }
    }
}

impl Attested<'_> {
    /// Writes the signed attestation of the apply that ended as `ending` to `path`.
    fn write(
        &self,
        ending: crate::attest::Ending<'_>,
        path: &Path,
        key: &crate::signing::SigningKey,
        out: &mut impl Write,
    ) -> Result<(), Error> {
        let finished = crate::state::clock::now_utc();
        let journal = self.journal.filter(|j| j.exists());
        let statement = crate::attest::statement(
            self.desired,
            self.plan,
            &ending,
            journal,
            (self.started, &finished),
        )?;
        std::fs::write(path, crate::attest::envelope(&statement, key)).map_err(|source| {
            Error::WriteFile {
                path: path.to_path_buf(),
                source,
            }
        })?;
        writeln!(
            out,
            "Attestation: {} (signed by {}; check it with `postclone verify {}`)",
            path.display(),
            key.public().keyid(),
            path.display()
        )?;
        Ok(())
    }
}

/// Per-change progress on standard error when it is a terminal; nothing in pipelines, whose
/// logs get the final report.
fn progress_printer(terminal: bool) -> impl FnMut(apply::Progress<'_>) {
    let mut started = std::time::Instant::now();
    move |event| {
        if !terminal {
            return;
        }
        let mut err = std::io::stderr().lock();
        let _ = match event {
            apply::Progress::Started {
                id,
                position,
                total,
                rows,
            } => {
                started = std::time::Instant::now();
                write!(
                    err,
                    "{}",
                    progress_start(id.as_str(), position, total, rows)
                )
            }
            // Shown with `--verbose`, by the apply itself (see `sent_printer`).
            apply::Progress::Sent { .. } => Ok(()),
            apply::Progress::Finished { journaled, .. } => writeln!(
                err,
                " done in {:.1}s ({journaled} journaled)",
                started.elapsed().as_secs_f64()
            ),
        };
        let _ = err.flush();
    }
}

/// With `--verbose`: every statement the apply sent, in order, under its change, written as
/// `plan -v` writes them (values as parameters, secrets masked).
fn show_sent(sent: &[(String, String)], out: &mut impl Write) -> Result<(), Error> {
    use crate::render::escape::printable;
    writeln!(out)?;
    writeln!(out, "Statements sent ({}):", sent.len())?;
    let mut last: Option<&str> = None;
    for (id, statement) in sent {
        if last != Some(id.as_str()) {
            writeln!(out, "  # {}", printable(id))?;
            last = Some(id);
        }
        writeln!(out, "      SQL:")?;
        for line in statement.lines() {
            writeln!(out, "        {}", printable(line))?;
        }
    }
    Ok(())
}

/// `[2/14] secret-site-properties (1203 rows)...`
fn progress_start(id: &str, position: usize, total: usize, rows: u64) -> String {
    let width = total.to_string().len();
    format!(
        "[{position:>width$}/{total}] {id} ({rows} {})...",
        if rows == 1 { "row" } else { "rows" }
    )
}

/// Asks on the terminal; refuses to wait on a non-interactive stdin.
pub(super) fn approved(out: &mut impl Write, what: &str) -> Result<bool, Error> {
    let stdin = std::io::stdin();
    if !stdin.is_terminal() {
        return Err(Error::NotInteractive);
    }
    writeln!(out)?;
    writeln!(out, "Do you want to {what}? Only 'yes' will be accepted.")?;
    write!(out, "  Enter a value: ")?;
    out.flush()?;
    let mut answer = String::new();
    stdin.lock().read_line(&mut answer)?;
    Ok(answer.trim() == "yes")
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Progress lines align on the widest position.
    #[test]
    fn progress_line() {
        assert_eq!(
            progress_start("servers", 3, 14, 1),
            "[ 3/14] servers (1 row)..."
        );
        assert_eq!(
            progress_start("params", 12, 14, 40),
            "[12/14] params (40 rows)..."
        );
    }
}
