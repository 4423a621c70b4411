//! `postclone datapump`: the Data Pump parameter files that make an Oracle clone.

use std::io::Write;
use std::path::PathBuf;

use clap::Args;

use super::args::SpecArg;
use super::{exit, Error};
use crate::spec;

/// Write the expdp/impdp parameter files of an Oracle spec's `datapump:` section
#[derive(Debug, Args)]
#[command(after_help = "Examples:
  postclone datapump environments/preprod-oracle.yaml --out-dir dump/
  expdp system PARFILE=dump/export.par      # against production
  impdp system PARFILE=dump/import.par      # against this environment's instance")]
pub struct DataPumpArgs {
    #[command(flatten)]
    spec: SpecArg,
    /// Where to write export.par and import.par
    #[arg(long, value_name = "DIR", default_value = ".")]
    out_dir: PathBuf,
}

/// Checks the section and writes both files.
pub fn run(args: &DataPumpArgs, out: &mut impl Write) -> Result<i32, Error> {
    let desired = spec::load(&args.spec.spec)?;
    let Some(datapump) = &desired.datapump else {
        return Err(Error::Usage {
            message: format!(
                "{} has no `datapump:` section; add one (see README.md, Oracle) to list the schemas to clone and their remapping",
                args.spec.spec.display()
            ),
        });
    };
    // The loader already refused a section with problems: this cannot fail here, but the
    // files are only ever written from a checked section.
    let files = datapump
        .parameter_files()
        .map_err(|problems| Error::Usage {
            message: problems
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join("; "),
        })?;
    std::fs::create_dir_all(&args.out_dir)?;
    let export = args.out_dir.join("export.par");
    let import = args.out_dir.join("import.par");
    std::fs::write(&export, &files.export)?;
    std::fs::write(&import, &files.import)?;
    writeln!(out, "Wrote {} and {}.", export.display(), import.display())?;
    writeln!(
        out,
        "  1. expdp <user> PARFILE={}   (against production)",
        export.display()
    )?;
    writeln!(
        out,
        "  2. impdp <user> PARFILE={}   (against this environment's instance, schemas and tablespaces created first)",
        import.display()
    )?;
    writeln!(
        out,
        "  3. postclone apply {}   (the platform clean-up)",
        args.spec.spec.display()
    )?;
    Ok(exit::SUCCESS)
}
