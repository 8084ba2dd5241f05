//! Every `--help` shows every default: each flag that takes a value and may be left out says
//! what it is when left out.

#[test]
fn every_optional_flag_shows_its_default() {
    let programs = unroll_cli::programs();
    let mut missing = Vec::new();
    for (program, mut command) in programs {
        command.build();
        for sub in command.get_subcommands() {
            for arg in sub.get_arguments() {
                if !arg.get_action().takes_values() || arg.is_required_set() {
                    continue;
                }
                let help = [arg.get_help(), arg.get_long_help()]
                    .into_iter()
                    .flatten()
                    .map(|h| h.to_string())
                    .collect::<Vec<_>>()
                    .join(" ");
                let shown = !arg.get_default_values().is_empty() || help.contains("default");
                if !shown {
                    missing.push(format!("{program} {} --{}", sub.get_name(), arg.get_id()));
                }
            }
        }
    }
    assert!(
        missing.is_empty(),
        "no default shown:\n{}",
        missing.join("\n")
    );
}

/// The defaults as the binary prints them, where the built-in task starts elsewhere.
#[test]
fn the_binary_prints_them() {
    let help = |program: &str| {
        let output = std::process::Command::new(match program {
            "char-rnn" => env!("CARGO_BIN_EXE_char-rnn"),
            "classify" => env!("CARGO_BIN_EXE_classify"),
            _ => env!("CARGO_BIN_EXE_forecast"),
        })
        .args(["train", "--help"])
        .output()
        .unwrap();
        assert!(output.status.success());
        String::from_utf8(output.stdout).unwrap()
    };
    assert!(help("char-rnn").contains("[default: 100; 64 on the built-in corpus]"));
    assert!(help("classify").contains("[default: 128; 64 on the built-in task]"));
    let forecast = help("forecast");
    assert!(forecast.contains("[default: hidden]"), "{forecast}");
    assert!(
        forecast.contains("[default: curriculum, back-propagated through"),
        "{forecast}"
    );
}
