//! The classify program as a user runs it: train on a TSV file, evaluate, predict from stdin,
//! export, resume; a CSV regressor; and every mistake a user can make with their data gives one
//! `error:` line naming the file and line, never a panic.

mod common;

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use serde_json::Value;

use common::{
    Arg, Scratch, argv, assert_clean_error, assert_files, exported_header, json_of, last_json,
    path, program, program_fails_with, run_program, run_program_with_stdin, safetensors_header,
    succeeded, text,
};

fn classify(args: &[impl Arg]) -> std::process::Output {
    run_program("classify", args)
}

fn fails(args: &[impl Arg], expected: &str) -> String {
    program_fails_with("classify", args, expected, 1)
}

/// `train --resume OUT --iterations N EXTRA`: the run in `out` continued.
fn resume(out: &Path, iterations: &str, extra: &str) -> std::process::Output {
    classify(&argv!(
        "train --resume {} --iterations {iterations} {extra}",
        path(out)
    ))
}

/// Lines of `x` and `y`; the label says which letter comes first.
fn tsv() -> String {
    let mut text = String::new();
    for i in 0..120 {
        let length = 3 + i % 9;
        let first = if i % 2 == 0 { 'x' } else { 'y' };
        let other = if first == 'x' { 'y' } else { 'x' };
        let line: String = (0..length)
            .map(|k| {
                if k == 0 || (k * 7 + i) % 3 == 0 {
                    first
                } else {
                    other
                }
            })
            .collect();
        text += &format!(
            "{}\t{line}\n",
            if first == 'x' { "starts-x" } else { "starts-y" }
        );
    }
    text
}

const TINY: &str = "--hidden 16 --batch 8 --eval-every 20 --seed 3 --lr 0.01";

fn train(data: &Path, out: &Path, iterations: &str, extra: &str) -> std::process::Output {
    classify(&argv!(
        "train --data {} --out {} --iterations {iterations} --json {TINY} {extra}",
        path(data),
        path(out)
    ))
}

/// A run trained on the built-in TSV text for `iterations` (with `extra` flags) in a scratch
/// directory named `name`: the directory, the data file, the run's directory and its `--json`
/// report.
fn trained(name: &str, iterations: &str, extra: &str) -> (Scratch, PathBuf, PathBuf, Value) {
    let scratch = Scratch::new(name);
    let data = scratch.file("train.tsv", tsv().as_bytes());
    let out = scratch.0.join("run");
    let report = json_of(&succeeded(train(&data, &out, iterations, extra)));
    (scratch, data, out, report)
}

/// `eval --json` of checkpoint `run` on `data`, succeeded.
fn eval_json(run: &Path, data: &Path) -> serde_json::Value {
    let output = succeeded(classify(&argv!(
        "eval --checkpoint {} --data {} --json",
        path(run),
        path(data)
    )));
    serde_json::from_slice(&output.stdout).unwrap()
}

/// `predict` on checkpoint `out` reading stdin, its three streams piped (`--json` when `json`).
fn spawn_predict(out: &Path, json: bool) -> std::process::Child {
    let mut args = vec!["predict", "--checkpoint", path(out)];
    if json {
        args.push("--json");
    }
    Command::new(program("classify"))
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

/// `predict` reads lines from stdin, a label and its probability per line, each answered as soon
/// as it is read: the first answer comes while stdin is still open.
fn predict_from_open_stdin(out: &Path) {
    let mut child = spawn_predict(out, true);
    let mut stdin = child.stdin.take().unwrap();
    let stdout = child.stdout.take().unwrap();
    let (sender, answers) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            let _ = sender.send(line.unwrap());
        }
    });
    stdin.write_all(b"xyyxy\n").unwrap();
    stdin.flush().unwrap();
    let wait = std::time::Duration::from_secs(60);
    let Ok(first) = answers.recv_timeout(wait) else {
        let _ = child.kill();
        panic!("no answer to a line while stdin stays open");
    };
    stdin.write_all(b"\nyxxyx\n").unwrap();
    drop(stdin);
    succeeded(child.wait_with_output().unwrap());
    let lines: Vec<serde_json::Value> = std::iter::once(first)
        .chain(answers.iter())
        .map(|l| serde_json::from_str(&l).unwrap())
        .collect();
    assert_eq!(lines.len(), 3, "one answer per line, a blank line's empty");
    assert_eq!(lines[0]["label"], "starts-x");
    assert_eq!(lines[1], serde_json::json!({"line": 2, "input": ""}));
    assert_eq!(lines[2]["label"], "starts-y");
    assert_eq!(lines[2]["line"], 3);
    assert!(lines[0]["probability"].as_f64().unwrap() > 0.5);
}

#[test]
fn train_eval_predict_export_and_resume_a_text_classifier() {
    let (scratch, data, out, result) = trained("classify", "120", "");
    assert_eq!(result["iterations"], 120);
    let accuracy = result["validation"]["accuracy"].as_f64().unwrap();
    assert!(accuracy > 0.9, "the first letter is learnable: {result}");
    assert_files(
        &out,
        "last/encoding.json best/model.bpk metrics.jsonl loss.png confusion.png",
    );

    // eval scores every sample of a file, as JSON or as tables.
    let scores = eval_json(&out, &data);
    assert_eq!(scores["samples"], 120);
    for key in ["accuracy", "macro_f1", "classes", "confusion"] {
        assert!(scores.get(key).is_some(), "{key}: {scores}");
    }
    let plotted_into = |picture: &Path| {
        let (out, data) = (path(&out), path(&data));
        argv!(
            "eval --checkpoint {out} --data {data} --plot {}",
            path(picture)
        )
    };
    let picture = scratch.0.join("confusion.png");
    let output = classify(&plotted_into(&picture));
    let shown = text(&output.stdout);
    assert!(
        shown.contains("precision") && shown.contains("confusion"),
        "{shown}"
    );
    assert!(picture.is_file());
    // The picture is the user's now: drawn again only with --force, and only as PNG.
    let plotted_into = |picture: &Path| {
        let (out, data) = (path(&out), path(&data));
        argv!(
            "eval --checkpoint {out} --data {data} --plot {}",
            path(picture)
        )
    };
    let again = plotted_into(&picture);
    fails(&again, "the file exists; pass --force");
    succeeded(classify(&[again, vec!["--force".into()]].concat()));
    let as_text = plotted_into(&scratch.0.join("confusion.txt"));
    fails(&as_text, "name a file ending in .png");

    predict_from_open_stdin(&out);

    // export: PyTorch's names, the encoding in the metadata.
    let exported = scratch.0.join("model.safetensors");
    let export = argv!(
        "export --checkpoint {} --out {}",
        path(&out),
        path(&exported)
    );
    succeeded(classify(&export));
    // Written once: the same export again would replace it, so it needs --force.
    fails(&export, "the file exists; pass --force");
    let header = safetensors_header(&exported).to_string();
    for name in [
        "rnn.weight_ih_l0",
        "rnn.weight_hh_l0",
        "rnn.bias_ih_l0",
        "fc.weight",
        "fc.bias",
    ] {
        assert!(header.contains(name), "{name}: {header}");
    }
    assert!(
        header.contains("starts-x"),
        "the labels travel with the weights"
    );

    // Resuming continues the run up to the new count.
    let resumed = json_of(&succeeded(resume(&out, "140", "--json")));
    assert_eq!(resumed["first_iteration"], 120);
    assert_eq!(resumed["iterations"], 140);
    fails(
        &argv!("train --resume {} --iterations 160 --hidden 32", path(&out)),
        "--hidden cannot change",
    );
}

#[test]
fn a_resumed_run_keeps_its_data_and_validation_file_to_the_last_digit() {
    let scratch = Scratch::new("classify-resume");
    let data = scratch.file("train.tsv", tsv().as_bytes());
    let first: String = tsv().lines().take(30).map(|l| format!("{l}\n")).collect();
    let val = scratch.file("val.tsv", first.as_bytes());
    let straight = scratch.0.join("straight");
    let whole = json_of(&succeeded(train(
        &data,
        &straight,
        "40",
        &format!("--val {}", path(&val)),
    )));
    let halves = scratch.0.join("halves");
    succeeded(train(
        &data,
        &halves,
        "20",
        &format!("--val {}", path(&val)),
    ));
    // Neither the data nor the validation file named again: the run recorded both.
    let resumed = json_of(&succeeded(resume(&halves, "40", "--json")));
    assert_eq!(resumed["validation"], whole["validation"]);
    assert_eq!(resumed["final_training_loss"], whole["final_training_loss"]);
    assert_eq!(
        resumed["validation"]["classes"][0]["support"], 15,
        "validated on val.tsv"
    );
}

#[test]
fn a_csv_regressor_reports_error_beside_the_mean() {
    let scratch = Scratch::new("classify-csv");
    let mut csv = String::from("target,values\n");
    for i in 0..150 {
        let values: Vec<f64> = (0..2 + i % 5)
            .map(|k| ((i * 7 + k * 3) % 11) as f64 / 10.0 - 0.5)
            .collect();
        let sum: f64 = values.iter().sum();
        let row: Vec<String> = values.iter().map(|v| format!("{v}")).collect();
        csv += &format!("{sum},{}\n", row.join(","));
    }
    let data = scratch.file("sums.csv", csv.as_bytes());
    let out = scratch.0.join("run");
    let output = succeeded(train(&data, &out, "200", ""));
    let result: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    let validation = &result["validation"];
    for key in ["mse", "mae", "r2", "baseline_mse"] {
        assert!(validation[key].is_number(), "{key}: {result}");
    }
    let scores = eval_json(&out, &data);
    assert!(scores["r2"].is_number(), "{scores}");
    let input = scratch.file("rows.txt", b"0.1, 0.2, 0.3\n");
    let output = succeeded(classify(&argv!(
        "predict --checkpoint {} --input {}",
        path(&out),
        path(&input)
    )));
    let value: f64 = text(&output.stdout)
        .split('\t')
        .next()
        .unwrap()
        .parse()
        .unwrap();
    assert!(value.is_finite());
    // predict reads a line by training's rules: a byte-order mark skipped, quotes and padding
    // as in a CSV file; an empty cell, nan or inf refused, naming the line.
    let answers = |input: &[u8]| {
        let output = succeeded(run_program_with_stdin(
            "classify",
            &argv!("predict --checkpoint {} --json", path(&out)),
            input,
        ));
        text(&output.stdout)
            .lines()
            .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
            .collect::<Vec<_>>()
    };
    let plain = answers(b"0.1,0.2,0.3\n");
    let marked = answers(b"\xEF\xBB\xBF\"0.1\", 0.2,0.3,,\n\n0.5,0.5\n");
    assert_eq!(marked.len(), 3);
    assert_eq!(marked[0]["value"], plain[0]["value"]);
    assert_eq!(marked[1], serde_json::json!({"line": 2, "input": ""}));
    assert_eq!(marked[2]["line"], 3);
    for (line, says) in [
        ("0.1,,0.3", "value 2 is empty"),
        ("0.1,nan", "value 2 (\"nan\") is not a finite number"),
        ("inf", "value 1 (\"inf\") is not a finite number"),
        ("1e60", "value 1 (\"1e60\") is not a finite number"),
    ] {
        let input = format!("0.1,0.2\n{line}\n");
        let args = argv!("predict --checkpoint {}", path(&out));
        let output = run_program_with_stdin("classify", &args, input.as_bytes());
        assert_eq!(output.status.code(), Some(1), "{line}");
        assert_clean_error(&text(&output.stderr), &format!("stdin:2: {says}"), line);
    }
    // Training reads the same rules: an empty cell inside a row is refused, not skipped.
    let gap = scratch.file("gap.csv", format!("{csv}1,0.5,,0.25\n").as_bytes());
    let output = train(&gap, &scratch.0.join("gap"), "2", "");
    assert_clean_error(
        &text(&output.stderr),
        "gap.csv:152: value 3 is empty",
        "gap",
    );
}

/// A TSV file's header line (`label<TAB>text`) is read as a header, not as a class of one.
#[test]
fn a_tsv_header_line_is_not_a_class() {
    let scratch = Scratch::new("classify-header");
    let data = scratch.file("headed.tsv", format!("label\ttext\n{}", tsv()).as_bytes());
    let out = scratch.0.join("run");
    succeeded(train(&data, &out, "2", ""));
    let labels = last_json(&out, "encoding.json");
    let labels = labels.to_string();
    assert!(
        labels.contains("starts-x") && !labels.contains("\"label\""),
        "{labels}"
    );
}

#[test]
fn bad_data_gives_one_line_naming_file_and_line() {
    let scratch = Scratch::new("classify-bad");
    let out = scratch.0.join("run");
    let o = path(&out);
    let single = "a\txy\n".repeat(20);
    for (name, contents, expected) in [
        (
            "no-tab.tsv",
            &b"a\tfine\nno tab here\n"[..],
            "no-tab.tsv:2: no tab",
        ),
        (
            "empty.tsv",
            b"a\tfine\nb\t\n",
            "empty.tsv:2: empty sequence",
        ),
        ("single.tsv", single.as_bytes(), "single class"),
        ("bad.csv", b"1,2,3\n2,x,4\n", "bad.csv:2: value 2"),
        (
            "binary.tsv",
            b"a\txy\nb\t\xff\xfe\n",
            "binary.tsv:2: not valid UTF-8",
        ),
    ] {
        let data = scratch.file(name, contents);
        fails(&argv!("train --data {} --out {o}", path(&data)), expected);
    }
    fails(
        &argv!(
            "train --data {} --out {o}",
            path(&scratch.0.join("missing.tsv"))
        ),
        "missing.tsv",
    );
    fails(&argv!("train --hidden 0 --out {o}"), "hidden");
    // A run that cannot fit in any memory is refused before anything is allocated.
    let long = format!("a\t{}\nb\txy\na\tyx\nb\tyy\n", "x".repeat(200_000));
    let long = scratch.file("long.tsv", long.as_bytes());
    fails(
        &argv!(
            "train --data {} --out {o} --batch 1000 --hidden 1000",
            path(&long)
        ),
        "longest sequence 200000",
    );

    // A label at evaluation the model never saw; a checkpoint of another kind.
    let data = scratch.file("train.tsv", tsv().as_bytes());
    succeeded(train(&data, &out, "10", ""));
    let unseen = scratch.file("unseen.tsv", b"starts-x\txy\nstarts-z\tyx\n");
    fails(
        &argv!("eval --checkpoint {o} --data {}", path(&unseen)),
        "unseen.tsv:2: the label \"starts-z\" is not one the model knows",
    );
    // An unseen character is the unknown symbol, not an error: see
    // unseen_characters_are_the_unknown_symbol.
    let lm = scratch.0.join("lm");
    let corpus = scratch.file("corpus.txt", common::corpus_text().as_bytes());
    succeeded(common::run(&argv!(
        "train --data {} --out {} --steps 2 --hidden 8 --seq-len 8 --batch 2",
        path(&corpus),
        path(&lm)
    )));
    fails(
        &argv!("eval --checkpoint {} --data {}", path(&lm), path(&data)),
        "language model's checkpoint",
    );
}

/// A byte-mode model reads a line's bytes in `predict` as training and `eval` read them: the
/// probability `predict` gives a non-ASCII line (from a file and from stdin) is the one `eval`
/// scores for the same line in a one-line file.
#[test]
fn byte_mode_predict_reads_bytes_as_eval_does() {
    let scratch = Scratch::new("classify-bytes");
    let mut data = tsv();
    for i in 0..40 {
        let label = if i % 2 == 0 { "starts-x" } else { "starts-y" };
        let first = if i % 2 == 0 { "x" } else { "y" };
        data += &format!("{label}\t{first}é😀{}\n", "xy".repeat(i % 4));
    }
    let data = scratch.file("train.tsv", data.as_bytes());
    let out = scratch.0.join("run");
    succeeded(train(&data, &out, "30", "--bytes"));
    let line = "xCafé 😀.";
    let input = scratch.file("input.txt", format!("{line}\n").as_bytes());
    let answer = json_of(&succeeded(classify(&argv!(
        "predict --checkpoint {} --input {} --json",
        path(&out),
        path(&input)
    ))));
    assert_eq!(answer["input"], line);
    let label = answer["label"].as_str().unwrap().to_owned();
    let probability = answer["probability"].as_f64().unwrap();
    let predict = argv!("predict --checkpoint {} --json", path(&out));
    let answer = json_of(&succeeded(run_program_with_stdin(
        "classify",
        &predict,
        format!("{line}\n").as_bytes(),
    )));
    assert_eq!(answer["probability"].as_f64().unwrap(), probability);
    let one = scratch.file("one.tsv", format!("{label}\t{line}\n").as_bytes());
    let scores = eval_json(&out, &one);
    let scored = (-scores["cross_entropy"].as_f64().unwrap()).exp();
    assert!(
        (scored - probability).abs() < 1e-4,
        "predict says {probability}, eval scores {scored}"
    );
}

/// An endless input is refused in one line, not read until the memory runs out: a line has a
/// most (`/dev/zero` has no line end), from a file and from stdin.
#[test]
fn predict_refuses_an_endless_line() {
    let (_scratch, _, out, _) = trained("classify-endless", "4", "");
    let message = fails(
        &argv!("predict --checkpoint {} --input /dev/zero", path(&out)),
        "a line longer than 1 MiB",
    );
    assert!(message.contains("/dev/zero:1"), "{message}");
    let mut child = spawn_predict(&out, false);
    let mut stdin = child.stdin.take().unwrap();
    // The program stops reading at the limit; a write after that finds the pipe closed.
    let _ = stdin.write_all(&vec![b'x'; 3 << 20]);
    drop(stdin);
    let output = child.wait_with_output().unwrap();
    assert_eq!(output.status.code(), Some(1), "{}", text(&output.stderr));
    let stderr = text(&output.stderr);
    assert!(
        stderr.contains("stdin:1: a line longer than 1 MiB"),
        "{stderr}"
    );
}

/// The data is read once: `--data /dev/stdin` trains on what the pipe held and records its size
/// and hash (a second read would find the pipe empty, or a FIFO block forever).
#[test]
fn data_from_a_pipe_is_read_once() {
    let scratch = Scratch::new("classify-pipe");
    let out = scratch.0.join("run");
    let data = tsv();
    let args = argv!(
        "train --data /dev/stdin --out {} --iterations 4 --hidden 8 --batch 8",
        path(&out)
    );
    succeeded(run_program_with_stdin("classify", &args, data.as_bytes()));
    let progress = last_json(&out, "progress.json");
    assert_eq!(progress["data"]["bytes"], data.len(), "{progress}");
}

/// Resuming refuses a change it cannot honour: other validation samples would move samples
/// between training and validation, and `best/` would compare losses on different sets.
#[test]
fn a_resumed_run_refuses_other_validation_samples() {
    let (scratch, _, out, _) = trained("classify-resume-val", "4", "");
    let other: String = tsv().lines().take(20).map(|l| format!("{l}\n")).collect();
    let other = scratch.file("other.tsv", other.as_bytes());
    let message = fails(
        &argv!(
            "train --resume {} --iterations 8 --val {}",
            path(&out),
            path(&other)
        ),
        "--val cannot change when resuming",
    );
    assert!(message.contains("held-out 10 %"), "{message}");
    // Without --val it continues on the samples it had.
    succeeded(resume(&out, "8", ""));
}

/// A resumed run that reads its recorded data file, changed since, says so (as char-rnn does).
#[test]
fn a_resumed_run_says_its_data_file_changed() {
    let (_scratch, data, out, _) = trained("classify-changed", "4", "");
    std::fs::write(&data, tsv() + "starts-x\txyxy\n").unwrap();
    let resumed = succeeded(resume(&out, "8", ""));
    let stderr = text(&resumed.stderr);
    assert!(
        stderr.contains("changed since the run's checkpoint"),
        "{stderr}"
    );
    let again = succeeded(resume(&out, "12", ""));
    let stderr = text(&again.stderr);
    assert!(!stderr.contains("changed since"), "{stderr}");
}

/// Characters the training part lacks are read as the unknown symbol, which the model learns
/// from the rare ones: a rare character held out for validation, an unseen one in `eval` or
/// mid-stream in `predict`, is counted and reported, never a refusal.
#[test]
fn unseen_characters_are_the_unknown_symbol() {
    let scratch = Scratch::new("classify-unknown");
    // One sample holds '7', once: whichever part the split puts it in, training runs.
    let data = scratch.file("rare.tsv", format!("{}starts-x\tx7y\n", tsv()).as_bytes());
    for seed in 0..8 {
        let out = scratch.0.join(format!("seed-{seed}"));
        let output = classify(&argv!(
            "train --data {} --out {} --iterations 2 --hidden 16 --batch 8 --seed {seed}",
            path(&data),
            path(&out)
        ));
        let stderr = text(&output.stderr);
        assert!(output.status.success(), "seed {seed}: {stderr}");
        assert!(
            stderr.contains("2 symbols and the unknown symbol"),
            "{stderr}"
        );
    }
    let out = scratch.0.join("seed-0");
    let strangers = scratch.file(
        "strangers.tsv",
        b"starts-x\txyz\nstarts-y\tyxy\nstarts-y\t\xc3\xa9\xc3\xa9y\n",
    );
    let scores = eval_json(&out, &strangers);
    assert_eq!(scores["unknown_symbols"], 3, "{scores}");
    assert_eq!(scores["samples_with_unknown_symbols"], 2, "{scores}");
    let output = succeeded(classify(&argv!(
        "eval --checkpoint {} --data {}",
        path(&out),
        path(&strangers)
    )));
    assert!(
        text(&output.stdout).contains("3 symbols unknown to the model in 2 samples"),
        "{}",
        text(&output.stdout)
    );
    // predict answers every line, the stranger's included, and counts them.
    let output = succeeded(run_program_with_stdin(
        "classify",
        &argv!("predict --checkpoint {} --json", path(&out)),
        "xyx\nx?y\nyxx\n".as_bytes(),
    ));
    let answers: Vec<serde_json::Value> = text(&output.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(answers.len(), 3);
    let unknown: Vec<&serde_json::Value> = answers.iter().map(|a| &a["unknown_symbols"]).collect();
    assert_eq!(unknown, [0, 1, 0]);
    assert!(
        text(&output.stderr).contains("1 symbol unknown to the model in 1 line"),
        "{}",
        text(&output.stderr)
    );
}

/// `--bidirectional`: a classifier read both ways trains, predicts, exports PyTorch's
/// `*_reverse` tensors with `fc` on both final states, and resumes keeping its direction, which
/// a resumed run cannot change either way.
#[test]
fn a_classifier_read_both_ways_trains_predicts_exports_and_resumes() {
    let (scratch, data, out, report) =
        trained("classify-both-ways", "120", "--bidirectional --cell gru");
    assert!(
        report["validation"]["accuracy"].as_f64().unwrap() > 0.9,
        "{report}"
    );
    predict_from_open_stdin(&out);

    let header = exported_header("classify", &out, &scratch.0.join("both.safetensors"));
    assert_eq!(header["__metadata__"]["bidirectional"], "true");
    assert_eq!(
        header["rnn.weight_ih_l0_reverse"]["shape"],
        serde_json::json!([48, 3])
    );
    assert_eq!(header["fc.weight"]["shape"], serde_json::json!([2, 32]));

    let resumed = json_of(&succeeded(resume(&out, "130", "--json")));
    assert_eq!(resumed["iterations"], 130);
    let one_way = scratch.0.join("one-way");
    succeeded(train(&data, &one_way, "10", ""));
    fails(
        &argv!(
            "train --resume {} --iterations 20 --bidirectional",
            path(&one_way)
        ),
        "--bidirectional cannot change when resuming",
    );
}
