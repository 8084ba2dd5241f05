//! Every program names another program's checkpoint as such, whatever command reads it: one
//! `error:` line saying whose checkpoint it is, before anything in it is parsed.

mod common;

use common::{
    Scratch, argv, assert_clean_error, path, program_fails_with, run_program,
    run_program_with_stdin, succeeded, text,
};

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

/// Rewrites `file` of checkpoint `dir` through `edit`, and its checksum with it, as someone who
/// knows the format would: the checksums alone no longer catch the change.
fn rewrite_with_checksum(dir: &std::path::Path, file: &str, edit: impl Fn(&mut serde_json::Value)) {
    let path = dir.join(file);
    let mut value: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
    edit(&mut value);
    let bytes = serde_json::to_vec_pretty(&value).unwrap();
    std::fs::write(&path, &bytes).unwrap();
    let sums_path = dir.join("checksums.json");
    let mut sums: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&sums_path).unwrap()).unwrap();
    sums[file] = serde_json::json!(unroll::training::durable::sha256_hex(&bytes));
    std::fs::write(&sums_path, serde_json::to_vec_pretty(&sums).unwrap()).unwrap();
}

/// A checkpoint is checked for meaning, not only for bytes: labels swapped in its encoding (which
/// would swap every prediction), a deviation of zero, a column named twice are refused naming
/// the file, even when its checksum was rewritten to match.
#[test]
fn a_checkpoint_whose_meaning_was_edited_is_refused() {
    let scratch = Scratch::new("edited-meaning");
    let tsv: String = (0..40)
        .map(|i| format!("{}\t{}\n", ["neg", "pos"][i % 2], ["xxy", "yyx"][i % 2]))
        .collect();
    let data = scratch.file("data.tsv", tsv.as_bytes());
    let classifier = scratch.0.join("classifier");
    succeeded(run_program(
        "classify",
        &argv!(
            "train --data {} --out {} --iterations 2 --hidden 8",
            path(&data),
            path(&classifier)
        ),
    ));
    let last = classifier.join("last");
    // The edit is seen to pass the checksums: the encoding is unchanged in meaning first.
    rewrite_with_checksum(&last, "encoding.json", |_| {});
    let predict = argv!("predict --checkpoint {}", path(&classifier));
    succeeded(run_program_with_stdin("classify", &predict, b"xxy\n"));
    rewrite_with_checksum(&last, "encoding.json", |e| {
        e["targets"]["labels"] = serde_json::json!(["pos", "neg"]);
    });
    let output = run_program_with_stdin("classify", &predict, b"xxy\n");
    assert_clean_error(&text(&output.stderr), "encoding.json", "swapped labels");
    assert!(
        text(&output.stderr).contains("out of order"),
        "{}",
        text(&output.stderr)
    );

    let forecaster = scratch.0.join("forecaster");
    succeeded(run_program(
        "forecast",
        &argv!(
            "train --out {} --length 300 --iterations 2 --hidden 8 --window 10 --warmup 10 --horizon 10",
            path(&forecaster)
        ),
    ));
    let last = forecaster.join("last");
    let eval = argv!("eval --checkpoint {}", path(&forecaster));
    rewrite_with_checksum(&last, "standardization.json", |s| {
        s["deviation"][1] = serde_json::json!(0.0);
    });
    let output = run_program("forecast", &eval);
    assert_clean_error(
        &text(&output.stderr),
        "standardization.json",
        "zero deviation",
    );
    assert!(
        text(&output.stderr).contains("deviation positive"),
        "{}",
        text(&output.stderr)
    );
    rewrite_with_checksum(&last, "standardization.json", |s| {
        s["deviation"][1] = serde_json::json!(1.0);
        s["columns"] = serde_json::json!(["x", "x", "z"]);
    });
    let output = run_program("forecast", &eval);
    assert_clean_error(&text(&output.stderr), "named twice", "a column named twice");
}

/// Errors are one line a person can act on, never a dump: weights that do not fit their
/// settings name the first tensor and its two shapes; a malformed TOML settings file names the
/// line and column.
#[test]
fn errors_are_one_line_not_a_dump() {
    let scratch = Scratch::new("one-line-errors");
    let run = scratch.0.join("run");
    succeeded(run_program(
        "forecast",
        &argv!(
            "train --out {} --length 300 --iterations 2 --hidden 8 --window 10 --warmup 10 --horizon 10",
            path(&run)
        ),
    ));
    rewrite_with_checksum(&run.join("last"), "config.json", |c| {
        c["model"]["hidden"] = serde_json::json!(12);
    });
    let output = run_program("forecast", &argv!("eval --checkpoint {}", path(&run)));
    let stderr = text(&output.stderr);
    assert_clean_error(&stderr, "weights do not load", "another hidden size");
    assert!(
        stderr.contains("in the file, ") && !stderr.contains("ShapeMismatch"),
        "{stderr}"
    );
    let toml = scratch.file("bad.toml", b"batch = 4\nhidden = \n");
    let output = run_program(
        "classify",
        &argv!(
            "train --config {} --out {}",
            path(&toml),
            path(&scratch.0.join("c"))
        ),
    );
    let stderr = text(&output.stderr);
    assert_clean_error(&stderr, "bad.toml: line 2, column 10:", "malformed TOML");
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
}
