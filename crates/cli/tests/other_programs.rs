//! Every program names another program's checkpoint as such, whatever command reads it: one
//! `error:` line saying whose checkpoint it is, before anything in it is parsed.

mod common;

use common::{Scratch, argv, path, program_fails_with, run_program, succeeded};

#[test]
fn every_program_names_another_programs_checkpoint() {
    let scratch = Scratch::new("other-programs");
    let runs = [
        ("char-rnn", "--hidden 8 --seq-len 16 --batch 4"),
        ("classify", "--hidden 8 --batch 4"),
        ("forecast", "--hidden 8 --batch 4"),
    ]
    .map(|(program, flags)| {
        let out = scratch.0.join(program);
        succeeded(run_program(
            program,
            &argv!("train --out {} --iterations 2 {flags}", path(&out)),
        ));
        (program, out)
    });
    let owner = |program: &str| match program {
        "char-rnn" => "a language model's checkpoint (char-rnn's)",
        "classify" => "a sequence model's checkpoint (classify's)",
        _ => "a forecaster's checkpoint (forecast's)",
    };
    for (reader, _) in &runs {
        for (writer, run) in runs.iter().filter(|(writer, _)| writer != reader) {
            let command = match *reader {
                "classify" => argv!("eval --checkpoint {} --data {}", path(run), path(run)),
                _ => argv!("eval --checkpoint {}", path(run)),
            };
            let message = program_fails_with(reader, &command, owner(writer), 1);
            assert!(
                message.contains(", not a"),
                "{reader} on {writer}'s: {message}"
            );
            let resume = argv!("train --resume {}", path(run));
            program_fails_with(reader, &resume, owner(writer), 1);
        }
    }
}
