//! The command line: clap definitions.

use std::path::PathBuf;

use clap::{Args, Subcommand};

use crate::study::StudyFlags;

/// What `--help` says of the program.
pub const ABOUT: &str = "The chapter's claims, measured: each claim of the text the project \
implements turned into an experiment on the project's own modules, with seeds and a verdict.\n\n\
With no command, runs the quick version of every claim and prints the report.";

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Measure the claims and write a report (10 to 25 minutes on 2 cores; --quick: under a
    /// minute).
    Run(RunArgs),
}

#[derive(Args, Debug)]
pub struct RunArgs {
    /// --quick, --seeds and --force.
    #[command(flatten)]
    pub study: StudyFlags,
    /// Only these claims, by their number in the report (repeat for several; default: every
    /// claim).
    #[arg(long, value_parser = clap::value_parser!(u8).range(1..=8))]
    pub only: Vec<u8>,
    /// Where the report goes.
    #[arg(long, value_hint = clap::ValueHint::DirPath, default_value = "runs/claims")]
    pub out: PathBuf,
}
