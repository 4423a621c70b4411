//! The command line: argument parsing (clap derive), exit codes, and output. Nothing else.

mod apply;
mod args;
mod capture;
mod completions;
mod datapump;
pub mod exit;
mod fleet;
mod graph;
mod plan;
mod plan_key;
pub mod report;
mod restore;
mod schema;
mod target;
mod validate;
mod verify;

use std::io::{self, Write};

use clap::{Parser, Subcommand};

/// Bring an OutSystems 11 environment back to a safe, declared state after its platform
/// database was cloned from another environment.
#[derive(Debug, Parser)]
#[command(name = "postclone", version, about, long_about = None)]
pub struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    Plan(plan::PlanArgs),
    Apply(apply::ApplyArgs),
    Validate(validate::ValidateArgs),
    Schema(schema::SchemaArgs),
    Restore(restore::RestoreArgs),
    Graph(graph::GraphArgs),
    Completions(completions::CompletionsArgs),
    Man(completions::ManArgs),
    Datapump(datapump::DataPumpArgs),
    Capture(capture::CaptureArgs),
    Verify(verify::VerifyArgs),
    Fleet(fleet::FleetArgs),
}

/// Every way a command can fail, for the one printer in `report`.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The spec could not be loaded.
    #[error(transparent)]
    Spec(#[from] crate::spec::Error),
    /// The database could not be reached or read.
    #[error(transparent)]
    Engine(#[from] crate::engine::Error),
    /// A change's statements cannot be written (`--verbose`).
    #[error(transparent)]
    Render(#[from] crate::plan::RenderError),
    /// A fleet command cannot start.
    #[error(transparent)]
    Fleet(#[from] fleet::FleetCliError),
    /// The database does not hold what the spec names, or reading it failed.
    #[error(transparent)]
    Inspect(#[from] crate::inspect::Error),
    /// No plan could be made.
    #[error(transparent)]
    Planning(#[from] crate::planning::Error),
    /// The masking key cannot be used.
    #[error(transparent)]
    MaskKey(#[from] crate::spec::MaskKeyError),
    /// Apply stopped.
    #[error(transparent)]
    Apply(Box<crate::apply::Error>),
    /// Restore stopped.
    #[error(transparent)]
    Restore(Box<crate::restore::Error>),
    /// Capture stopped.
    #[error(transparent)]
    Capture(#[from] crate::capture::Error),
    /// The journal could not be read.
    #[error(transparent)]
    Journal(#[from] crate::journal::Error),
    /// The plan key cannot be had.
    #[error(transparent)]
    PlanKey(#[from] plan_key::PlanKeyError),
    /// A restore would leave sealed rows out without being told to.
    #[error("the journal holds sealed rows of {} and no identity opens them: pass --identity FILE (or POSTCLONE_IDENTITY), or --without-sealed to restore the rest; nothing was restored", .changes.join(", "))]
    SealedWithoutIdentity {
        /// The changes.
        changes: Vec<String>,
    },
    /// The spec a journal was applied from does not load, and no other was given.
    #[error("the journal was applied from {}, which does not load now: its trust.signers (who must have signed the journal) and event queues decide how restore runs, so nothing was restored; pass --spec FILE to restore under the spec as it is now", .path.display())]
    JournalSpec {
        /// The spec the journal names.
        path: std::path::PathBuf,
        /// Why it does not load.
        #[source]
        source: crate::spec::Error,
    },
    /// `restore --resource` or `--label` names nothing in the journal.
    #[error(transparent)]
    RestoreSelection(#[from] crate::journal::UnknownSelection),
    /// A saved plan could not be read or written.
    #[error(transparent)]
    PlanFile(#[from] crate::plan::PlanFileError),
    /// No usable connection.
    #[error(transparent)]
    Connection(#[from] target::ConnectionError),
    /// `apply` would ask, but nobody can answer.
    #[error("standard input is not a terminal, so nobody can approve the plan; pass --auto-approve to apply without asking, or review `postclone plan` first")]
    NotInteractive,
    /// Apply committed (or had nothing to change), but the database still differs from the
    /// spec.
    #[error("{}", not_converged(*.remaining, *.production_values, *.copies))]
    NotConverged {
        /// Changes in the plan made after apply.
        remaining: usize,
        /// Values that still name production.
        production_values: usize,
        /// Copies of masked values still found.
        copies: u64,
    },
    /// `--target`/`--exclude` given with a saved plan, which keeps its own selection.
    #[error("{} is a saved plan: it applies what was selected when it was made; pass --target/--exclude to `postclone plan --out` instead", path.display())]
    SelectionWithSavedPlan {
        /// The saved plan.
        path: std::path::PathBuf,
    },
    /// `--target` or `--exclude` names nothing.
    #[error(transparent)]
    Selection(#[from] crate::state::desired::UnknownSelection),
    /// `postclone datapump` on a spec without a `datapump:` section.
    #[error("{} has no `datapump:` section; add one (see README.md, Oracle) to list the schemas to clone and their remapping", spec.display())]
    NoDataPump {
        /// The spec.
        spec: std::path::PathBuf,
    },
    /// `postclone man` for a subcommand that does not exist.
    #[error("no subcommand {name}; there are: {names}")]
    UnknownSubcommand {
        /// The name given.
        name: String,
        /// The subcommands.
        names: String,
    },
    /// A file could not be written.
    #[error("cannot write {}", path.display())]
    WriteFile {
        /// The file.
        path: std::path::PathBuf,
        /// Why.
        #[source]
        source: io::Error,
    },
    /// A signing or trusted key cannot be used.
    #[error(transparent)]
    Signing(#[from] crate::signing::SigningError),
    /// `--attest` without a key to sign with.
    #[error("an attestation (--attest, or the spec's attestation: out) needs a key to sign with: pass --signing-key FILE (an OpenSSH ed25519 key, `ssh-keygen -t ed25519`) or set POSTCLONE_SIGNING_KEY; nothing was done")]
    AttestWithoutKey,
    /// An attestation does not verify.
    #[error("{} does not verify: {why}", path.display())]
    Verify {
        /// The attestation.
        path: std::path::PathBuf,
        /// Why.
        why: crate::attest::VerifyError,
    },
    /// `verify --drift` connected to another database than the attested one.
    #[error("the attestation is of {attested}, but the spec's connection reaches {connected}: nothing to compare")]
    DriftTarget {
        /// The attested database and server.
        attested: String,
        /// The one connected to.
        connected: String,
    },
    /// `verify --exact-spec`: the spec given is not the one attested.
    #[error("{} is not the spec the attested apply was made from (its digest is {found}, the attestation's {attested}): the spec changed since, or the apply was narrowed with --target/--exclude", path.display())]
    SpecNotAttested {
        /// The spec given.
        path: std::path::PathBuf,
        /// Its digest.
        found: String,
        /// The attested digest.
        attested: String,
    },
    /// The attestation's statement could not be made.
    #[error("no attestation was written")]
    Attest(#[from] crate::attest::StatementError),
    /// A file named on the command line could not be read.
    #[error("cannot read {}", path.display())]
    ReadFile {
        /// The file.
        path: std::path::PathBuf,
        /// Why.
        #[source]
        source: io::Error,
    },
    /// Standard output or standard input failed.
    #[error("cannot write to standard output or read from standard input")]
    Terminal(#[from] io::Error),
}

fn not_converged(remaining: usize, production_values: usize, copies: u64) -> String {
    if copies > 0 {
        let what = if copies == 1 {
            "1 copy of a masked value remains".to_string()
        } else {
            format!("{copies} copies of masked values remain")
        };
        return format!(
            "not converged: {what} (listed above by table, key and column); mask those columns too (a `masked` rule), or clear them, then plan again"
        );
    }
    let values = match production_values {
        0 => String::new(),
        1 => "1 value still names production".into(),
        n => format!("{n} values still name production"),
    };
    match (remaining, production_values) {
        (0, _) => format!(
            "not converged: {values} (listed above); rewrite them with a `replace` in the spec, or by hand, then plan again"
        ),
        (_, 0) => format!(
            "apply committed, but {remaining} changes remain; check that the spec does not contradict itself and that nothing else writes to these tables"
        ),
        _ => format!(
            "apply committed, but {remaining} changes remain and {values} (listed above); check the spec's rewrites and that nothing else writes to these tables"
        ),
    }
}

impl From<crate::apply::Error> for Error {
    fn from(e: crate::apply::Error) -> Error {
        Error::Apply(Box::new(e))
    }
}

impl From<crate::restore::Error> for Error {
    fn from(e: crate::restore::Error) -> Error {
        Error::Restore(Box::new(e))
    }
}

/// Runs the command line and returns the process exit code.
///
/// A panic anywhere (postclone or a library) is a bug: it is reported as one line that says so
/// and the process exits 1. This is a backstop; inputs and server answers are checked first.
#[must_use]
pub fn main() -> i32 {
    std::panic::set_hook(Box::new(report::bug));
    std::panic::catch_unwind(run).unwrap_or(exit::ERROR)
}

fn run() -> i32 {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let code = match e.kind() {
                clap::error::ErrorKind::DisplayHelp | clap::error::ErrorKind::DisplayVersion => {
                    exit::SUCCESS
                }
                _ => exit::ERROR,
            };
            let _ = e.print();
            return code;
        }
    };
    let stdout = io::stdout();
    let mut out = stdout.lock();
    let result = match &cli.command {
        Command::Plan(args) => plan::run(args, &mut out),
        Command::Apply(args) => apply::run(args, &mut out),
        Command::Validate(args) => validate::run(args, &mut out),
        Command::Schema(args) => schema::run(args, &mut out),
        Command::Restore(args) => restore::run(args, &mut out),
        Command::Graph(args) => graph::run(args, &mut out),
        Command::Completions(args) => completions::run(args, &mut out),
        Command::Man(args) => completions::man(args, &mut out),
        Command::Datapump(args) => datapump::run(args, &mut out),
        Command::Capture(args) => capture::run(args, &mut out),
        Command::Verify(args) => verify::run(args, &mut out),
        Command::Fleet(args) => fleet::run(args, &mut out),
    };
    let _ = out.flush();
    match result {
        Ok(code) => code,
        // A closed pipe (`postclone plan | head`) is not an error.
        Err(Error::Terminal(e)) if e.kind() == io::ErrorKind::BrokenPipe => exit::SUCCESS,
        Err(e) => {
            report::print(&e);
            exit::ERROR
        }
    }
}
