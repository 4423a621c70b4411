//! The only error printer: `error: <headline>`, indented `caused by:` lines, and for spec
//! problems a snippet with a caret under the offending spot.
#![allow(clippy::disallowed_macros)]

use std::error::Error as _;
use std::io::{self, Write};

use super::Error;
use crate::spec::{self, SpecProblem};

/// Prints `error` to standard error.
pub fn print(error: &Error) {
    let stderr = io::stderr();
    let mut out = stderr.lock();
    // Nothing sensible is left to do if standard error is gone.
    let _ = write_error(error, &mut out);
}

/// Prints a panic as one line that says it is a bug.
pub fn bug(info: &std::panic::PanicHookInfo<'_>) {
    let message = info
        .payload()
        .downcast_ref::<&str>()
        .map(|s| (*s).to_string())
        .or_else(|| info.payload().downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "an unexpected failure".into());
    let at = info
        .location()
        .map(|l| format!(" at {}:{}", l.file(), l.line()))
        .unwrap_or_default();
    let _ = writeln!(
        io::stderr().lock(),
        "error: internal error{at}: {message}; this is a bug in postclone, please report it (nothing was committed unless apply said so)"
    );
}

/// Prints a remark that must not mix with a machine-readable standard output.
pub fn note(text: &str) {
    let _ = writeln!(io::stderr().lock(), "{text}");
}

/// Writes `error` as the CLI shows it.
///
/// # Errors
/// Only those of `out`.
pub fn write_error(error: &Error, out: &mut impl Write) -> io::Result<()> {
    // Errors quote the server, the catalog and the spec: one escaping for all of them.
    let shown = |text: &dyn std::fmt::Display| crate::render::escape::message(&text.to_string());
    writeln!(out, "error: {}", shown(error))?;
    if let Error::Spec(spec::Error::Invalid { problems, .. }) = error {
        for problem in problems {
            writeln!(out)?;
            write_problem(problem, out)?;
        }
        return Ok(());
    }
    let mut source = error.source();
    while let Some(cause) = source {
        writeln!(out, "  caused by: {}", shown(cause))?;
        source = cause.source();
    }
    Ok(())
}

fn write_problem(p: &SpecProblem, out: &mut impl Write) -> io::Result<()> {
    use crate::render::printable;
    writeln!(out, "problem[{}]: {}", p.code, printable(&p.message))?;
    writeln!(out, "  --> {}:{}:{}", p.file.display(), p.line, p.column)?;
    if let Some(line) = &p.source_line {
        let number = p.line.to_string();
        let pad = " ".repeat(number.len());
        writeln!(out, "{pad} |")?;
        writeln!(out, "{number} | {}", printable(line))?;
        let caret = " ".repeat(p.column.saturating_sub(1));
        writeln!(out, "{pad} | {caret}^")?;
    }
    if !p.field.is_empty() {
        writeln!(out, "  = field: {}", printable(&p.field))?;
    }
    if let Some(help) = &p.help {
        writeln!(out, "  = help: {}", printable(help))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use super::*;
    use crate::apply::Failure;
    use crate::guard::GuardError;
    use crate::plan::{StalePlan, Staleness};
    use crate::sql::Masked;
    use crate::test_support::id;

    fn shown(error: Error) -> String {
        let mut out = Vec::new();
        write_error(&error, &mut out).unwrap();
        String::from_utf8(out).unwrap()
    }

    /// The main failures as the CLI prints them: a headline, then each cause once.
    #[test]
    fn main_failures() {
        let failures = [
            Error::from(crate::apply::Error::from(GuardError::WrongDatabase {
                expected: "OS_QA".into(),
                actual: "OS_PREPROD".into(),
            })),
            Error::from(crate::apply::Error::from(StalePlan::Rows {
                changes: vec![Staleness {
                    id: id("front-end-servers"),
                    planned: Some(2),
                    now: Some(3),
                }],
            })),
            Error::from(crate::engine::Error::Locked {
                holder: Some("held by ops from build-07 (postclone)".into()),
            }),
            Error::from(crate::apply::Error::Failed(Box::new(Failure {
                change: id("database-connections"),
                statement: "DELETE FROM [dbo].[OSSYS_DBCONNECTION] WHERE [NAME] NOT IN (@P1)".into(),
                committed_before: vec![],
                rolled_back_changes: vec![id("front-end-servers")],
                pending: vec![id("restored-database-users")],
                rolled_back: true,
                journal: PathBuf::from(".postclone/journal/OS_PREPROD-1.jsonl"),
                cause: Masked::from_message(
                    "The DELETE statement conflicted with the REFERENCE constraint \"FK_EXT_DBCONN\"",
                ),
            }))),
            Error::from(crate::journal::Error::Invalid {
                path: PathBuf::from("journal.jsonl"),
                line: 3,
                message: "expected value at line 1 column 1".into(),
            }),
        ];
        let all: Vec<String> = failures.into_iter().map(shown).collect();
        let text = all.join("\n");
        assert_eq!(text.matches("OS_QA").count(), 1, "{text}");
        insta::assert_snapshot!(text);
    }
}
