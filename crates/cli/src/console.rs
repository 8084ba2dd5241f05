//! Printing that never panics: a closed pipe (`| head`) or a full disk behind stdout or stderr
//! ends what the reader wanted, not the program (the standard library's `println!` panics).

use std::fmt::Display;
use std::io::Write;
use std::process::ExitCode;

use clap::FromArgMatches;
use clap::error::ErrorKind;

/// Writes a line to stdout; false when stdout can no longer be written (its reader went away).
pub fn print(text: impl Display) -> bool {
    let mut stdout = std::io::stdout().lock();
    writeln!(stdout, "{text}")
        .and_then(|()| stdout.flush())
        .is_ok()
}

/// Writes text to stdout without a newline, flushed; false when stdout is gone.
pub fn stream(text: &str) -> bool {
    let mut stdout = std::io::stdout().lock();
    write!(stdout, "{text}")
        .and_then(|()| stdout.flush())
        .is_ok()
}

/// Writes a line to stderr, ignoring failure.
pub fn note(text: impl Display) {
    let _ = writeln!(std::io::stderr().lock(), "{text}");
}

/// A run that ended before its last iteration (stopped by a signal), its closing note printed:
/// as an error, it ends the program with its status and no `error:` line.
#[derive(Debug)]
pub struct Unfinished(pub ExitCode);

impl Display for Unfinished {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("the run stopped before its end")
    }
}

impl std::error::Error for Unfinished {}

/// A command-line program's `main`: keeps the memory it frees for reuse
/// ([`keep_freed_memory`](super::allocator::keep_freed_memory)), parses the command line
/// as `definition` gives it ([`parse`]) and runs `command` on one of rayon's threads
/// ([`unroll::model::on_pool`]: the kernels' parallel parts then start on the calling core),
/// whose error becomes one `error:` line and exit status 1 ([`Unfinished`] its own status).
pub fn main<T: FromArgMatches + Send>(
    definition: clap::Command,
    command: impl FnOnce(T) -> Result<ExitCode, super::Error> + Send,
) -> ExitCode {
    super::allocator::keep_freed_memory();
    let parsed = parse(definition);
    // The pool's threads get the main thread's stack, as the command runs on one of them.
    let _ = rayon::ThreadPoolBuilder::new()
        .stack_size(MAIN_STACK_BYTES)
        .build_global();
    unroll::model::on_pool(|| {
        command(parsed).or_else(|error| match error.downcast::<Unfinished>() {
            Ok(unfinished) => Ok(unfinished.0),
            Err(error) => Err(error.to_string()),
        })
    })
    .unwrap_or_else(fail)
}

/// The stack a program's command runs on: what Linux gives a main thread.
const MAIN_STACK_BYTES: usize = 8 << 20;

/// Prints one `error:` line and gives exit status 1.
pub fn fail(error: impl Display) -> ExitCode {
    note(format!("error: {error}"));
    ExitCode::FAILURE
}

/// `command` and each of its subcommands taking negative numbers as values, so that
/// `--lr-min -1` reaches the setting's check and is refused in its words, not as a flag.
fn with_negative_numbers(command: clap::Command) -> clap::Command {
    let names: Vec<String> = command
        .get_subcommands()
        .map(|sub| sub.get_name().to_string())
        .collect();
    names
        .iter()
        .fold(command.allow_negative_numbers(true), |command, name| {
            command.mut_subcommand(name, with_negative_numbers)
        })
}

/// Parses the command line; help and version print as usual, and a usage error becomes one
/// `error:` line and exit status 2 (instead of clap's three lines).
pub fn parse<T: FromArgMatches>(definition: clap::Command) -> T {
    match with_negative_numbers(definition)
        .try_get_matches()
        .and_then(|matches| T::from_arg_matches(&matches))
    {
        Ok(parsed) => parsed,
        Err(error) => {
            if matches!(
                error.kind(),
                ErrorKind::DisplayHelp
                    | ErrorKind::DisplayVersion
                    | ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand
            ) {
                let _ = error.print();
                std::process::exit(0);
            }
            // clap's message up to its usage block, on one line: a missing flag is named on
            // the lines after the first.
            let rendered = error.to_string();
            let message: Vec<&str> = rendered
                .lines()
                .take_while(|l| !l.trim().is_empty())
                .map(str::trim)
                .collect();
            let message = message.join(" ");
            let message = message.strip_prefix("error: ").unwrap_or(&message);
            note(format!("error: {message} (see --help)"));
            std::process::exit(2);
        }
    }
}
