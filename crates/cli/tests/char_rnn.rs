//! The char-rnn program as a user runs it: every command, and every error a user can hit gives
//! one clear line on stderr and a non-zero exit, never a panic.

mod common;

use common::{
    Scratch, TINY, argv, assert_fails, assert_fails_with, assert_files, corpus_text, fails_leaving,
    json_of, path, run, run_ok, succeeded, text, with_corpus,
};
use std::path::Path;
use std::process::Output;

/// Trains a tiny model on `data` into `run_dir` for `steps` iterations, with `--json`.
fn train_tiny(data: &Path, run_dir: &Path, steps: &str) -> Output {
    run(&argv!(
        "train --data {} --out {} --steps {steps} --json {TINY}",
        path(data),
        path(run_dir)
    ))
}

#[test]
fn train_sample_eval_export_and_resume() {
    let (scratch, data) = with_corpus("all");
    let run_dir = scratch.0.join("run");
    let output = succeeded(train_tiny(&data, &run_dir, "20"));
    let result: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(result["iterations"], 20);
    assert!(result["validation"]["nats_per_symbol"].as_f64().unwrap() > 0.0);
    assert!(
        text(&output.stderr).contains("backend"),
        "names its backend"
    );
    assert_files(
        &run_dir,
        "last/model.bpk best/model.bpk metrics.jsonl loss.png",
    );

    let output = run_ok(&argv!(
        "sample --checkpoint {} --prime Speak --length 40 --seed 1",
        path(&run_dir)
    ));
    let streamed = text(&output.stdout);
    assert!(
        streamed.starts_with("Speak") && streamed.chars().count() >= 45,
        "{streamed}"
    );
    let sampled = json_of(&run(&argv!(
        "sample --checkpoint {} --best --length 10 --argmax --json",
        path(&run_dir)
    )));
    assert_eq!(sampled["text"].as_str().unwrap().chars().count(), 10);

    let evaluation = json_of(&run_ok(&argv!(
        "eval --checkpoint {} --data {} --json",
        path(&run_dir),
        path(&data)
    )));
    assert_eq!(
        evaluation["evaluation"]["nats_per_symbol"], result["validation"]["nats_per_symbol"],
        "eval of the last checkpoint on its training file repeats the final validation"
    );

    for (format, name) in [
        ("safetensors", "model.safetensors"),
        ("burnpack", "model.bpk"),
    ] {
        let out = scratch.0.join(name);
        run_ok(&argv!(
            "export --checkpoint {} --format {format} --out {}",
            path(&run_dir),
            path(&out)
        ));
        assert!(std::fs::metadata(&out).unwrap().len() > 1000);
    }

    let resumed = json_of(&run_ok(&argv!(
        "train --data {} --resume {} --steps 30 --json",
        path(&data),
        path(&run_dir)
    )));
    assert_eq!(resumed["iterations"], 30);
    let lines = std::fs::read_to_string(run_dir.join("metrics.jsonl")).unwrap();
    let last: serde_json::Value = serde_json::from_str(lines.lines().last().unwrap()).unwrap();
    assert_eq!(last["iteration"], 30);
    assert_fails(
        &argv!(
            "train --data {} --resume {} --hidden 32",
            path(&data),
            path(&run_dir)
        ),
        "--hidden",
    );
}

#[test]
fn settings_come_from_a_config_file() {
    let (scratch, data) = with_corpus("config");
    let config = scratch.file(
        "run.toml",
        b"window = 12\nbatch = 3\nsteps = 6\neval_every = 3\n[model]\nhidden = 8\npattern = \"output\"\n",
    );
    let run_dir = scratch.0.join("run");
    let output = run_ok(&argv!(
        "train --data {} --out {} --config {} --steps 9 --json",
        path(&data),
        path(&run_dir),
        path(&config)
    ));
    let result: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(result["iterations"], 9, "the flag wins over the file");
    assert!(
        result["validation"]["open_loop_accuracy"].is_number(),
        "pattern 2 from the file"
    );
    let saved: serde_json::Value =
        serde_json::from_slice(&std::fs::read(run_dir.join("last/config.json")).unwrap()).unwrap();
    assert_eq!(saved["window"], 12);
    assert_eq!(saved["model"]["hidden"], 8);

    // Resuming under a settings file that changes the network's shape: the file is named as
    // what asked for it, with both values; the same value given as a flag is the flag's doing.
    let wider = scratch.file(
        "wider.toml",
        b"[model]\nhidden = 16\npattern = \"output\"\n",
    );
    let refused = |extra: &str, said: &str| {
        assert_fails(
            &argv!(
                "train --resume {} --config {} --steps 12 {extra}",
                path(&run_dir),
                path(&wider)
            ),
            said,
        )
    };
    refused(
        "",
        "--hidden (from --config) cannot change when resuming: the run has 8, this command asks for 16",
    );
    refused(
        "--hidden 32",
        "--hidden cannot change when resuming: the run has 8, this command asks for 32",
    );
}

#[test]
fn user_errors_are_one_clear_line() {
    let scratch = Scratch::new("errors");
    let missing = scratch.0.join("missing.txt");
    assert_fails(&argv!("train --data {}", path(&missing)), "missing.txt");
    let empty = scratch.file("empty.txt", b"");
    assert_fails(&argv!("train --data {}", path(&empty)), "empty");
    let short = scratch.file("short.txt", b"hello there");
    assert_fails(&argv!("train --data {}", path(&short)), "too short");
    let binary_file = scratch.file("binary.bin", &[0x66, 0x6f, 0xff, 0xfe, 0x00]);
    assert_fails(&argv!("train --data {}", path(&binary_file)), "UTF-8");
    // A generator has no future to read: both directions are refused, saying why.
    assert_fails(
        &argv!("train --bidirectional"),
        "char-rnn writes each step from the steps before it",
    );
    let data = scratch.file("input.txt", corpus_text().as_bytes());
    assert_fails(&argv!("train --data {} --seq-len 0", path(&data)), "window");
    assert_fails(
        &argv!("train --data {} --lr -1", path(&data)),
        "learning_rate",
    );
    assert_fails(
        &argv!(
            "train --data {} --strategy scheduled-sampling --schedule constant --epsilon 1.5",
            path(&data)
        ),
        "truth_probability",
    );
    // --out names a file: said so, and the file is left as it was.
    let out_is_data = argv!(
        "train --data {} --out {} --steps 1",
        path(&data),
        path(&data)
    );
    fails_leaving(
        "char-rnn",
        &data,
        &out_is_data,
        "is a file, not a run directory",
    );
    let nowhere = scratch.0.join("no-such-run");
    assert_fails(
        &argv!("sample --checkpoint {}", path(&nowhere)),
        "no such directory",
    );
    let incomplete = scratch.0.join("incomplete");
    std::fs::create_dir_all(incomplete.join("last")).unwrap();
    std::fs::write(incomplete.join("last/config.json"), "{}").unwrap();
    assert_fails(
        &argv!("sample --checkpoint {}", path(&incomplete)),
        "incomplete",
    );

    let run_dir = scratch.0.join("run");
    assert!(train_tiny(&data, &run_dir, "2").status.success());
    for temperature in ["0", "-2"] {
        let sample = argv!(
            "sample --checkpoint {} --temperature {temperature}",
            path(&run_dir)
        );
        assert_fails(&sample, "temperature");
    }
    std::fs::write(run_dir.join("last/model.bpk"), b"not weights").unwrap();
    assert_fails(&argv!("sample --checkpoint {}", path(&run_dir)), "damaged");
    assert_fails(
        &argv!(
            "eval --checkpoint {} --best --data {}",
            path(&run_dir),
            path(&binary_file)
        ),
        "UTF-8",
    );
}

/// Scheduled sampling through the binary: the fused path (the default) and the step-wise loop
/// (`--stepwise-path unrolled`) feed the same symbols from the same streams, so both runs train
/// to the same loss (to f32 rounding); an unknown path is one clear error.
#[test]
fn scheduled_sampling_trains_alike_on_both_paths() {
    let (scratch, data) = with_corpus("stepwise");
    let loss = |name: &str, extra: &str| {
        let run_dir = scratch.0.join(name);
        let report = json_of(&run_ok(&argv!(
            "train --data {} --out {} --steps 6 --json --strategy scheduled-sampling \
             --schedule constant --epsilon 0.5 {TINY} {extra}",
            path(&data),
            path(&run_dir)
        )));
        report["final_training_loss"].as_f64().unwrap()
    };
    let fused = loss("fused", "");
    let unrolled = loss("unrolled", "--stepwise-path unrolled");
    assert!(
        (fused - unrolled).abs() < 1e-4 * fused,
        "fused {fused}, unrolled {unrolled}"
    );
    assert_fails_with(
        &argv!("train --data {} --stepwise-path sideways", path(&data)),
        "sideways",
        2,
    );
}

#[test]
fn every_command_has_help() {
    for command in [
        vec!["--help"],
        vec!["train", "--help"],
        vec!["sample", "--help"],
        vec!["eval", "--help"],
        vec!["export", "--help"],
    ] {
        let output = run(&command);
        assert!(output.status.success(), "{command:?}");
        assert!(text(&output.stdout).contains("Usage"), "{command:?}");
    }
}

/// `eval --open-loop`: on lines of additions, the exact answers the model generates after true
/// prompts, and the n-gram divergence of the text it generates; the run's own data by default.
#[test]
fn eval_runs_the_model_open_loop() {
    let scratch = Scratch::new("open-loop");
    let lines: String = (0..400)
        .map(|i| format!("{}+{}={}\n", i % 10, i % 7, i % 10 + i % 7))
        .collect();
    let data = scratch.file("additions.txt", lines.as_bytes());
    let run_dir = scratch.0.join("run");
    succeeded(train_tiny(&data, &run_dir, "40"));
    let output = run_ok(&argv!(
        "eval --checkpoint {} --open-loop --prompts 30 --generate 500 --json",
        path(&run_dir)
    ));
    let result: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    let open_loop = &result["open_loop"];
    assert_eq!(open_loop["additions"]["prompts"], 30);
    let exact = open_loop["additions"]["exact"].as_f64().unwrap();
    assert!((0.0..=1.0).contains(&exact));
    for n in ["1", "2", "3", "4"] {
        let divergence = open_loop["js_divergence_bits"][n].as_f64().unwrap();
        assert!((0.0..=1.0).contains(&divergence), "{n}-grams: {divergence}");
    }
    // Text without additions has no prompts to answer, only divergences.
    let prose = scratch.file("prose.txt", corpus_text().as_bytes());
    let prose_run = scratch.0.join("prose");
    succeeded(train_tiny(&prose, &prose_run, "10"));
    let output = run_ok(&argv!(
        "eval --checkpoint {} --open-loop --generate 300",
        path(&prose_run)
    ));
    let shown = text(&output.stdout);
    assert!(!shown.contains("addition prompts"), "{shown}");
    assert!(shown.contains("4-grams"), "{shown}");
}

#[test]
fn every_command_works_with_the_gated_cells() {
    let (scratch, data) = with_corpus("gated");
    for cell in ["lstm", "gru"] {
        let run_dir = scratch.0.join(cell);
        run_ok(&argv!(
            "train --data {} --out {} --cell {cell} --layers 2 --batching streams --carry-state \
             --strategy scheduled-sampling --schedule constant --epsilon 0.5 --steps 6 {TINY}",
            path(&data),
            path(&run_dir)
        ));
        let settings = std::fs::read_to_string(run_dir.join("last/config.json")).unwrap();
        assert!(
            settings.contains(&format!("\"cell\": \"{cell}\"")),
            "{settings}"
        );

        // Resuming continues with the run's cell, and refuses another one.
        let other = if cell == "lstm" { "gru" } else { "lstm" };
        assert_fails_with(
            &argv!("train --resume {} --steps 8 --cell {other}", path(&run_dir)),
            "--cell cannot change",
            1,
        );
        run_ok(&argv!("train --resume {} --steps 8", path(&run_dir)));

        let sampled = run_ok(&argv!("sample --checkpoint {} --length 30", path(&run_dir)));
        assert!(!text(&sampled.stdout).is_empty());
        run_ok(&argv!("eval --checkpoint {} --json", path(&run_dir)));
        let export = scratch.0.join(format!("{cell}.safetensors"));
        run_ok(&argv!(
            "export --checkpoint {} --format safetensors --out {}",
            path(&run_dir),
            path(&export)
        ));
        // safetensors: an 8-byte little-endian header length, then the header's JSON.
        let bytes = std::fs::read(&export).unwrap();
        let length = u64::from_le_bytes(bytes[..8].try_into().unwrap()) as usize;
        let header: serde_json::Value = serde_json::from_slice(&bytes[8..8 + length]).unwrap();
        assert_eq!(header["__metadata__"]["cell"], cell);
        assert!(
            header.get("rnn.weight_ih_l1").is_some(),
            "nn.LSTM/nn.GRU names"
        );
    }
    // Pattern 2's hidden layer is the tanh one: a gated cell there is a clear error.
    let output_dir = scratch.0.join("output");
    assert_fails_with(
        &argv!(
            "train --data {} --out {} --pattern output --cell lstm {TINY}",
            path(&data),
            path(&output_dir)
        ),
        "invalid setting `cell`",
        1,
    );
}

/// A text holds characters the training text lacks: they read as the unknown symbol, which the
/// model learned from the rare ones; `eval` on that text scores every character and counts them.
#[test]
fn eval_on_another_text_reads_unseen_characters_as_the_unknown_symbol() {
    let scratch = Scratch::new("unknown-symbols");
    // '#' occurs once: rarer than --min-symbol-count 2, so training reads it as unknown too.
    let data = scratch.file("input.txt", format!("{}#", corpus_text()).as_bytes());
    let run_dir = scratch.0.join("run");
    let trained = train_tiny(&data, &run_dir, "2");
    assert!(trained.status.success(), "{}", text(&trained.stderr));
    let vocabulary = std::fs::read_to_string(run_dir.join("last/vocabulary.json")).unwrap();
    assert!(vocabulary.contains("\"unknown\": true"), "{vocabulary}");
    assert!(!vocabulary.contains("\"#\""), "{vocabulary}");
    // Another text: its last 10 % holds 3 characters the training text never had.
    let other = format!("{}Zoë + Zed", corpus_text());
    let other = scratch.file("other.txt", other.as_bytes());
    let eval = |json: &str| {
        succeeded(run(&argv!(
            "eval --checkpoint {} --data {} {json}",
            path(&run_dir),
            path(&other)
        )))
    };
    let scores: serde_json::Value = serde_json::from_slice(&eval("--json").stdout).unwrap();
    assert_eq!(scores["unknown_symbols"], 4, "Z, ë, Z and +: {scores}");
    assert!(
        scores["evaluation"]["nats_per_symbol"]
            .as_f64()
            .unwrap()
            .is_finite()
    );
    let shown = text(&eval("").stdout);
    assert!(
        shown.contains("4 of them rare or unseen in training"),
        "{shown}"
    );
    // --min-symbol-count means nothing with --bytes, and is fixed on resume.
    assert_fails(
        &argv!("train --data {} --bytes --min-symbol-count 3", path(&data)),
        "--min-symbol-count means nothing",
    );
    assert_fails(
        &argv!("train --resume {} --min-symbol-count 3", path(&run_dir)),
        "--min-symbol-count cannot change",
    );
}
