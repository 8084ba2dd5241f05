//! `classify --per-step` as a user runs it: a label for every character of a `labels<TAB>text`
//! file, read both ways; eval, predict (a label string a line), export and resume; the built-in
//! labelling task; and a user's mistakes as one `error:` line.

mod common;

use std::path::Path;

use common::{
    Arg, Scratch, argv, exported_header, path, program_fails_with, run_program,
    run_program_with_stdin, succeeded, text,
};

fn classify(args: &[impl Arg]) -> std::process::Output {
    run_program("classify", args)
}

fn fails(args: &[impl Arg], expected: &str) -> String {
    program_fails_with("classify", args, expected, 1)
}

/// Lines of `x` and `y`, 2–12 long, each character labelled by the next one: `s` the same, `d`
/// different, `e` the last. Only a reading that sees ahead can label them.
fn next_character_tsv() -> String {
    let mut text = String::new();
    // A linear congruential generator's high bits: a coin per character.
    let mut state = 7u64;
    let mut coin = || {
        state = state
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        state >> 63 == 1
    };
    for i in 0..160usize {
        let length = 2 + i % 11;
        let line: Vec<char> = (0..length)
            .map(|_| if coin() { 'x' } else { 'y' })
            .collect();
        let labels = unroll_test_support::labels_of_the_next(&line);
        text += &format!("{labels}\t{}\n", line.into_iter().collect::<String>());
    }
    text
}

const TINY: &str = "--hidden 16 --batch 8 --eval-every 100 --seed 3 --lr 0.01 --per-step";

fn json_of(output: std::process::Output) -> serde_json::Value {
    serde_json::from_slice(&succeeded(output).stdout).unwrap()
}

#[test]
fn a_labeller_read_both_ways_trains_evaluates_predicts_exports_and_resumes() {
    let scratch = Scratch::new("classify-per-step");
    let data = scratch.file("next.tsv", next_character_tsv().as_bytes());
    let out = scratch.0.join("run");
    let train = |out: &Path, iterations: &str, extra: &str| {
        classify(&argv!(
            "train --data {} --out {} --iterations {iterations} --json {TINY} {extra}",
            path(&data),
            path(out)
        ))
    };
    let report = json_of(train(&out, "300", "--bidirectional --cell gru"));
    let steps = report["validation"]["steps"]["accuracy"].as_f64().unwrap();
    assert!(steps > 0.95, "the next character is in view: {report}");
    assert!(report["validation"]["sequence_accuracy"].as_f64().unwrap() > 0.6);
    assert_eq!(report["validation"]["steps"]["classes"][0]["label"], "d");

    // Every line of the file scored, step by step.
    let scores = json_of(classify(&argv!(
        "eval --checkpoint {} --data {} --json",
        path(&out),
        path(&data)
    )));
    assert_eq!(scores["sequences"], 160);
    assert!(
        scores["steps"]["accuracy"].as_f64().unwrap() > 0.95,
        "{scores}"
    );

    // A label per character, in order: as text and as JSON; a blank line gets a blank answer.
    let output = run_program_with_stdin(
        "classify",
        &["predict", "--checkpoint", path(&out)],
        b"xxyx\n\nyy\n",
    );
    assert_eq!(text(&succeeded(output).stdout), "sdde\txxyx\n\nse\tyy\n");
    let output = run_program_with_stdin(
        "classify",
        &["predict", "--checkpoint", path(&out), "--json"],
        b"xyy\n",
    );
    let answer: serde_json::Value = serde_json::from_slice(&succeeded(output).stdout).unwrap();
    assert_eq!(answer["labels"], "dse", "{answer}");
    assert_eq!(answer["probabilities"].as_array().unwrap().len(), 3);

    // The same tensors as a classifier read both ways: `fc` maps every step's [h(t); g(t)].
    let header = exported_header("classify", &out, &scratch.0.join("tags.safetensors"));
    assert_eq!(header["fc.weight"]["shape"], serde_json::json!([3, 32]));
    assert!(
        header["__metadata__"]["encoding"]
            .as_str()
            .unwrap()
            .contains("step_labels")
    );

    let resumed = json_of(classify(&argv!(
        "train --resume {} --iterations 310 --json",
        path(&out)
    )));
    assert_eq!(resumed["iterations"], 310);

    // Reading one way, a label of the next character is a guess.
    let one_way = json_of(train(&scratch.0.join("one-way"), "300", "--cell gru"));
    let guessed = one_way["validation"]["steps"]["accuracy"].as_f64().unwrap();
    assert!(guessed < 0.8, "{one_way}");
}

#[test]
fn the_builtin_labelling_task_reports_steps_and_strings_by_length() {
    let report = json_of(classify(&[
        "train",
        "--per-step",
        "--iterations",
        "20",
        "--hidden",
        "8",
        "--json",
        "--out",
        path(&Scratch::new("classify-per-step-builtin").0.join("run")),
    ]));
    let bands = report["accuracy_by_length"].as_array().unwrap();
    assert_eq!(bands.len(), 5);
    for band in bands {
        assert!(band["accuracy"].as_f64().is_some(), "{band}");
        assert!(band["sequence_accuracy"].as_f64().is_some(), "{band}");
    }
}

#[test]
fn per_step_mistakes_name_the_file_and_line() {
    let scratch = Scratch::new("classify-per-step-mistakes");
    let short = scratch.file("short.tsv", b"sd\txyz\nse\txy\n");
    fails(
        &argv!("train --per-step --data {}", path(&short)),
        "short.tsv:1: 2 labels for 3 characters",
    );
    let numbers = scratch.file("numbers.csv", b"target,v1\n1,2\n2,3\n");
    fails(
        &argv!("train --per-step --data {}", path(&numbers)),
        "per-step labels come as `labels<TAB>text` lines",
    );
    let one_label = scratch.file("one.tsv", b"ss\txx\nss\tyy\nss\txy\n");
    fails(
        &argv!("train --per-step --data {}", path(&one_label)),
        "a labeller needs at least two",
    );
}
