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
    writeln!(out, "error: {error}")?;
    if let Error::Spec(spec::Error::Invalid { problems, .. }) = error {
        for problem in problems {
            writeln!(out)?;
            write_problem(problem, out)?;
        }
        return Ok(());
    }
    let mut source = error.source();
    while let Some(cause) = source {
        writeln!(out, "  caused by: {cause}")?;
        source = cause.source();
    }
    Ok(())
}

fn write_problem(p: &SpecProblem, out: &mut impl Write) -> io::Result<()> {
    writeln!(out, "problem[{}]: {}", p.code, p.message)?;
    writeln!(out, "  --> {}:{}:{}", p.file.display(), p.line, p.column)?;
    if let Some(line) = &p.source_line {
        let number = p.line.to_string();
        let pad = " ".repeat(number.len());
        writeln!(out, "{pad} |")?;
        writeln!(out, "{number} | {line}")?;
        let caret = " ".repeat(p.column.saturating_sub(1));
        writeln!(out, "{pad} | {caret}^")?;
    }
    if !p.field.is_empty() {
        writeln!(out, "  = field: {}", p.field)?;
    }
    if let Some(help) = &p.help {
        writeln!(out, "  = help: {help}")?;
    }
    Ok(())
}
