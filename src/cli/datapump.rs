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
    // The loader refuses a section with problems, so a loaded spec's section has none.
    let Some(files) = desired
        .datapump
        .as_ref()
        .and_then(|d| d.parameter_files().ok())
    else {
        return Err(Error::NoDataPump {
            spec: args.spec.spec.clone(),
        });
    };
    let write = |path: &std::path::Path, text: &str| {
        std::fs::create_dir_all(&args.out_dir)
            .and_then(|()| std::fs::write(path, text))
            .map_err(|source| Error::WriteFile {
                path: path.to_path_buf(),
                source,
            })
    };
    let export = args.out_dir.join("export.par");
    let import = args.out_dir.join("import.par");
    write(&export, &files.export)?;
    write(&import, &files.import)?;
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
