//! Every default in `--help`. A training flag is an `Option` without a clap default, because a
//! clap default would override the settings file and the resumed run; its default is written
//! into its help here instead, from the same settings the program starts from.

use clap::Command;

/// What each flag of a command stands for when left out: its clap id and the value in words.
pub type Defaults = Vec<(&'static str, String)>;

/// `command` with `[default: …]` added to the help of each flag of `subcommand` that `defaults`
/// names. Panics on a flag the command does not have: a definition error, caught by the tests.
pub fn show_defaults(command: Command, subcommand: &str, defaults: Defaults) -> Command {
    command.mut_subcommand(subcommand, |mut sub| {
        for (id, value) in defaults {
            sub = sub.mut_arg(id, |arg| {
                let with_default =
                    |help: &clap::builder::StyledStr| format!("{help} [default: {value}]");
                let help = arg.get_help().map(with_default);
                let long_help = arg.get_long_help().map(with_default);
                let arg = match help {
                    Some(help) => arg.help(help),
                    None => arg,
                };
                match long_help {
                    Some(long_help) => arg.long_help(long_help),
                    None => arg,
                }
            });
        }
        sub
    })
}

/// `command` with the defaults of its `train` flags shown: `data`'s (a user's data), with
/// `builtin`'s beside them where the built-in task (`on`) starts from other settings.
pub fn show_train_defaults(
    command: Command,
    data: Defaults,
    builtin: Defaults,
    on: &str,
) -> Command {
    train_command(command, with_builtin(data, builtin, on))
}

/// `command` with the defaults of its `train` flags shown, `--out`'s named after the program.
pub fn train_command(command: Command, mut defaults: Defaults) -> Command {
    let name = command.get_name().to_string();
    defaults.push((
        "out",
        format!("runs/{name}, or runs/{name}-2, -3, … when that holds one"),
    ));
    show_defaults(command, "train", defaults)
}

/// The defaults of a program whose built-in task starts from other settings than a user's data:
/// one value where both agree, else `VALUE; BUILTIN on the built-in …` (`on` names the task).
pub fn with_builtin(data: Defaults, builtin: Defaults, on: &str) -> Defaults {
    data.into_iter()
        .map(|(id, value)| {
            let other = builtin.iter().find(|(b, _)| *b == id).map(|(_, v)| v);
            match other {
                Some(other) if *other != value => (id, format!("{value}; {other} on {on}")),
                _ => (id, value),
            }
        })
        .collect()
}
