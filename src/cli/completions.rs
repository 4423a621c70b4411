//! `postclone completions SHELL` and `postclone man`: generated from the command definition.

use std::io::Write;

use clap::{Args, CommandFactory};

use super::{exit, Cli, Error};

/// Print shell completions
#[derive(Debug, Args)]
#[command(after_help = "Examples:
  postclone completions bash > /etc/bash_completion.d/postclone
  postclone completions zsh > \"${fpath[1]}/_postclone\"
  postclone completions fish > ~/.config/fish/completions/postclone.fish")]
pub struct CompletionsArgs {
    /// The shell
    #[arg(value_enum)]
    shell: clap_complete::Shell,
}

/// Writes the completion script.
pub fn run(args: &CompletionsArgs, out: &mut impl Write) -> Result<i32, Error> {
    let mut command = Cli::command();
    clap_complete::generate(args.shell, &mut command, "postclone", out);
    Ok(exit::SUCCESS)
}

/// Print the man page (roff)
#[derive(Debug, Args)]
#[command(after_help = "Examples:
  postclone man > /usr/local/share/man/man1/postclone.1
  postclone man apply | man -l -")]
pub struct ManArgs {
    /// A subcommand's page instead of the main one
    #[arg(value_name = "SUBCOMMAND")]
    subcommand: Option<String>,
}

/// Writes the man page of postclone, or of one subcommand (`postclone-apply(1)`).
pub fn man(args: &ManArgs, out: &mut impl Write) -> Result<i32, Error> {
    let command = Cli::command();
    let page = match &args.subcommand {
        None => clap_mangen::Man::new(command),
        Some(name) => {
            let Some(sub) = command.find_subcommand(name) else {
                let names: Vec<&str> = command.get_subcommands().map(|s| s.get_name()).collect();
                return Err(Error::UnknownSubcommand {
                    name: name.clone(),
                    names: names.join(", "),
                });
            };
            clap_mangen::Man::new(sub.clone()).title(format!("postclone-{name}"))
        }
    };
    page.render(out)?;
    Ok(exit::SUCCESS)
}
