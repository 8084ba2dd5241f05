//! What every program's command line is: a name, a description, and one of its commands or none
//! (with no command, each program runs its built-in demonstration).

use clap::{CommandFactory, Parser, Subcommand};

/// A program's command line as parsed: one of its commands `C`, or none.
#[derive(Parser, Debug)]
#[command(version)]
pub struct Invocation<C: Subcommand> {
    /// The command given, if any.
    #[command(subcommand)]
    pub command: Option<C>,
}

/// The command line of the program `name` with the commands `C`, described by `about`: its
/// first paragraph is the short help (`-h`), the whole the long one (`--help`), as clap's derive
/// makes of a doc comment.
pub fn definition<C: Subcommand>(name: &'static str, about: &'static str) -> clap::Command {
    let summary = about.split("\n\n").next().unwrap_or(about);
    Invocation::<C>::command()
        .name(name)
        .about(summary.trim_end_matches('.'))
        .long_about(about)
}
