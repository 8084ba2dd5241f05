//! The seq2seq program as a user runs it: train on a file of pairs, evaluate by target length,
//! translate a file and stdin (greedy and beam search), resume; a built-in task; and every
//! mistake a user can make with their pairs gives one `error:` line naming the file and line.

mod common;

use common::{
    Arg, Scratch, argv, exported_header, json_of, path, program_fails_with, run_program,
    run_program_with_stdin, safetensors_header, succeeded, text,
};

fn seq2seq(args: &[impl Arg]) -> std::process::Output {
    run_program("seq2seq", args)
}

/// seq2seq's `--json` output, the run asserted to succeed.
fn seq2seq_json(args: &[impl Arg]) -> serde_json::Value {
    json_of(&succeeded(seq2seq(args)))
}

fn fails(args: &[impl Arg], expected: &str) -> String {
    program_fails_with("seq2seq", args, expected, 1)
}

/// Reversals of short strings over four letters, `source<TAB>target` lines.
fn reversals(count: usize) -> String {
    let letters = ['a', 'b', 'c', 'd'];
    (0..count)
        .map(|i| {
            let length = 1 + i % 4;
            let source: String = (0..length)
                .map(|k| letters[(i / 4 + k * 3 + k * i) % 4])
                .collect();
            format!("{source}\t{}\n", source.chars().rev().collect::<String>())
        })
        .collect()
}

const TINY: &str = "--hidden 32 --iterations 300 --eval-every 100 --lr 0.01";

#[test]
fn train_eval_translate_and_resume_on_a_file_of_pairs() {
    let scratch = Scratch::new("seq2seq");
    let data = scratch.file("pairs.tsv", reversals(600).as_bytes());
    let out = scratch.0.join("run");
    let report = seq2seq_json(&argv!(
        "train --data {} --out {} {TINY} --json",
        path(&data),
        path(&out)
    ));
    assert_eq!(report["iterations"], 300);
    let exact = report["validation"]["exact_match"].as_f64().unwrap();
    assert!(exact > 0.5, "reversing up to 4 letters is learnt: {report}");
    assert_eq!(report["examples"].as_array().unwrap().len(), 5);

    // eval on the run's own validation pairs, and on a file; by target length.
    let scores = seq2seq_json(&argv!("eval --checkpoint {} --json", path(&out)));
    assert_eq!(scores["exact_match"], report["validation"]["exact_match"]);
    let lengths = scores["by_target_length"].as_array().unwrap();
    assert!(lengths.iter().all(|row| row["pairs"].as_u64().unwrap() > 0));
    // Greedy decoding writes a target exactly when, fed the truth, each of its symbols is the
    // most probable: the two exact matches are one figure (no target here reaches the cut).
    for row in lengths {
        assert_eq!(
            row["exact_match"], row["teacher_forced_exact_match"],
            "{row}"
        );
        let errors = row["teacher_forced_symbol_error_rate"].as_f64().unwrap();
        assert!((0.0..=1.0).contains(&errors), "{row}");
    }
    // --plot: exact match and CER by target length, as a PNG, never over a file without --force.
    let picture = scratch.0.join("by-length.png");
    let plotted = argv!("eval --checkpoint {} --plot {}", path(&out), path(&picture));
    succeeded(seq2seq(&plotted));
    assert_eq!(&std::fs::read(&picture).unwrap()[..4], b"\x89PNG");
    fails(&plotted, "the file exists; pass --force");
    let other = scratch.file("other.tsv", b"abcd\tdcba\nab\tba\nzz\tzz\n");
    let scores = seq2seq_json(&argv!(
        "eval --checkpoint {} --data {} --json",
        path(&out),
        path(&other)
    ));
    assert_eq!(scores["pairs"], 3);
    assert_eq!(
        scores["unknown_symbols"]["sources"], 2,
        "z is unknown: {scores}"
    );

    // translate: one output a line, from a file and from stdin, greedy and beam search.
    let input = scratch.file("sources.txt", b"abc\ndcba\nz\n");
    let greedy = succeeded(seq2seq(&argv!(
        "translate --checkpoint {} --input {}",
        path(&out),
        path(&input)
    )));
    let lines: Vec<String> = text(&greedy.stdout).lines().map(String::from).collect();
    assert_eq!(lines.len(), 3, "{lines:?}");
    assert!(text(&greedy.stderr).contains("1 character(s) unknown"));
    let beam = succeeded(run_program_with_stdin(
        "seq2seq",
        &argv!("translate --checkpoint {} --beam 4 --json", path(&out)),
        b"abc\ndcba\n",
    ));
    let answers: Vec<serde_json::Value> = text(&beam.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(answers.len(), 2);
    assert_eq!(answers[1]["line"], 2);
    assert!(answers[0]["log_probability"].as_f64().unwrap() <= 0.0);
    let one = succeeded(run_program_with_stdin(
        "seq2seq",
        &argv!("translate --checkpoint {} --beam 1", path(&out)),
        b"abc\ndcba\nz\n",
    ));
    assert_eq!(
        text(&one.stdout),
        text(&greedy.stdout),
        "a beam of one is greedy"
    );
    // Sampling: reproducible by its seed; at a temperature near 0, the greedy targets.
    let sampled = |extra: &str| {
        let args = argv!(
            "translate --checkpoint {} --input {} --sample {extra}",
            path(&out),
            path(&input)
        );
        text(&succeeded(seq2seq(&args)).stdout)
    };
    assert_eq!(sampled("--seed 3"), sampled("--seed 3"));
    assert_eq!(sampled("--temperature 0.001"), text(&greedy.stdout));
    let both = seq2seq(&argv!(
        "translate --checkpoint {} --sample --beam 4",
        path(&out)
    ));
    assert_eq!(both.status.code(), Some(2), "--sample and --beam conflict");
    let gap = scratch.file("gap.txt", b"ab\n\nba\n");
    fails(
        &argv!(
            "translate --checkpoint {} --input {}",
            path(&out),
            path(&gap)
        ),
        "gap.txt:2: the source is empty",
    );

    exports_under_pytorchs_names(&scratch, &out);

    // Resumed to 400 iterations: the same data, recorded in the run; a changed shape refused.
    let resumed = seq2seq_json(&argv!(
        "train --resume {} --iterations 400 --json",
        path(&out)
    ));
    assert_eq!(resumed["first_iteration"], 300);
    fails(
        &argv!("train --resume {} --hidden 16", path(&out)),
        "--hidden cannot change when resuming",
    );
}

/// `export`: PyTorch's names for both stacks and the output, the vocabularies in the metadata.
fn exports_under_pytorchs_names(scratch: &Scratch, out: &std::path::Path) {
    let exported = scratch.0.join("model.safetensors");
    succeeded(seq2seq(&argv!(
        "export --checkpoint {} --out {}",
        path(out),
        path(&exported)
    )));
    let header = safetensors_header(&exported);
    for name in [
        "encoder.weight_ih_l0",
        "encoder.bias_hh_l0",
        "decoder.weight_hh_l0",
        "fc.weight",
        "fc.bias",
    ] {
        assert!(header.get(name).is_some(), "{name}: {header}");
    }
    let metadata = &header["__metadata__"];
    for key in [
        "source_vocab",
        "target_vocab",
        "start",
        "end",
        "config",
        "vocabularies",
        "cell",
    ] {
        assert!(metadata.get(key).is_some(), "{key}: {metadata}");
    }
}

#[test]
fn mistakes_with_pairs_are_one_error_line() {
    let scratch = Scratch::new("seq2seq-errors");
    for (name, content, said) in [
        ("tabless.tsv", "ab\tba\nno tab\n", "tabless.tsv:2: no tab"),
        (
            "empty-source.tsv",
            "ab\tba\n\tba\n",
            "empty-source.tsv:2: the source is empty",
        ),
        (
            "empty-target.tsv",
            "ab\t\n",
            "empty-target.tsv:1: the target is empty",
        ),
        ("blank.tsv", "\n\n", "no `source<TAB>target` line"),
    ] {
        let data = scratch.file(name, content.as_bytes());
        fails(&argv!("train --data {} --iterations 2", path(&data)), said);
    }
    let long = scratch.file("long.tsv", b"ab\tba\nabc\tcbacbacba\n");
    fails(
        &argv!("train --data {} --max-target-length 4", path(&long)),
        "long.tsv:2: the target has 9 characters, more than --max-target-length 4",
    );
    let data = scratch.file("pairs.tsv", reversals(40).as_bytes());
    fails(
        &argv!("train --data {} --task copy", path(&data)),
        "--task means nothing here",
    );
    fails(&argv!("train --pairs 1"), "invalid setting `count`");
    fails(
        &argv!("train --pairs 100000000000"),
        "invalid setting `count`",
    );
    fails(&argv!("train --bytes"), "--bytes means nothing here");
    // Another program's checkpoint is named as such.
    let classify = scratch.0.join("classify-run");
    let labelled: String = (0..40).map(|i| ["x\tab\n", "y\tba\n"][i % 2]).collect();
    let tsv = scratch.file("labels.tsv", labelled.as_bytes());
    let trained = run_program(
        "classify",
        &argv!(
            "train --data {} --out {} --iterations 2 --hidden 4",
            path(&tsv),
            path(&classify)
        ),
    );
    assert!(trained.status.success(), "{}", text(&trained.stderr));
    fails(
        &argv!("translate --checkpoint {}", path(&classify)),
        "this is a sequence model's checkpoint (classify's), not a sequence-to-sequence model's checkpoint",
    );
}

#[test]
fn a_built_in_task_trains_without_data() {
    let scratch = Scratch::new("seq2seq-builtin");
    let out = scratch.0.join("copy");
    let report = seq2seq_json(&argv!(
        "train --task copy --pairs 300 --max-length 3 --out {} --hidden 16 --iterations 20 --json",
        path(&out)
    ));
    assert_eq!(report["iterations"], 20);
    // eval regenerates the run's validation pairs from its settings.
    let scores = seq2seq_json(&argv!("eval --checkpoint {} --json", path(&out)));
    assert_eq!(scores["pairs"], 30);
    assert_eq!(
        scores["nats_per_symbol"],
        report["validation"]["nats_per_symbol"]
    );
}

/// `translate --json` of the run in `out`, with the flags `how`, writes a target for `abc`.
fn translates_abc(out: &std::path::Path, how: &str) {
    let answer = json_of(&succeeded(run_program_with_stdin(
        "seq2seq",
        &argv!("translate --checkpoint {} --json {how}", path(out)),
        b"abc\n",
    )));
    assert!(answer["target"].is_string(), "{how}: {answer}");
}

/// `--bidirectional`: the encoder reads both ways, half the units each; translate and export
/// work on it; an odd hidden size is refused, naming it.
#[test]
fn an_encoder_read_both_ways_trains_translates_and_exports() {
    let scratch = Scratch::new("seq2seq-both-ways");
    let out = scratch.0.join("run");
    let common = "train --task reverse --pairs 300 --max-length 3 --iterations 20 --json";
    succeeded(seq2seq(&argv!(
        "{common} --out {} --hidden 16 --layers 2 --bidirectional",
        path(&out)
    )));
    translates_abc(&out, "--beam 2");
    let header = exported_header("seq2seq", &out, &scratch.0.join("both.safetensors"));
    assert_eq!(header["__metadata__"]["bidirectional"], "true");
    // Each direction has half the units; the second layer reads both directions' 16.
    assert_eq!(
        header["encoder.weight_hh_l1_reverse"]["shape"],
        serde_json::json!([32, 8])
    );
    assert_eq!(
        header["encoder.weight_ih_l1"]["shape"],
        serde_json::json!([32, 16])
    );
    assert_eq!(
        header["decoder.weight_hh_l1"]["shape"],
        serde_json::json!([64, 16])
    );
    fails(
        &argv!(
            "{common} --out {} --hidden 15 --bidirectional",
            path(&scratch.0.join("odd"))
        ),
        "must be even",
    );
}

/// `--summary-input`: the decoder reads the summary at every step as well. It trains with
/// scheduled sampling, translates greedily, by beam search and by sampling, exports a decoder
/// reading the target symbols and the summary's units, resumes as it was, and a run without it
/// refuses to take it on resuming.
#[test]
fn the_summary_in_every_decoder_input_trains_translates_and_exports() {
    let scratch = Scratch::new("seq2seq-summary-input");
    let (with, without) = (scratch.0.join("with"), scratch.0.join("without"));
    let common = "train --task reverse --pairs 300 --max-length 3 --hidden 16 --json";
    let report = seq2seq_json(&argv!(
        "{common} --iterations 20 --out {} --summary-input --strategy scheduled-sampling",
        path(&with)
    ));
    assert_eq!(report["iterations"], 20);
    for how in ["", "--beam 2", "--sample --seed 3"] {
        translates_abc(&with, how);
    }
    let header = exported_header("seq2seq", &with, &scratch.0.join("with.safetensors"));
    assert_eq!(header["__metadata__"]["summary_input"], "true");
    let targets = header["fc.weight"]["shape"][0].as_u64().unwrap();
    assert_eq!(
        header["decoder.weight_ih_l0"]["shape"],
        serde_json::json!([64, targets + 16])
    );
    let resumed = seq2seq_json(&argv!(
        "train --resume {} --iterations 30 --json",
        path(&with)
    ));
    assert_eq!(resumed["iterations"], 30);
    succeeded(seq2seq(&argv!(
        "{common} --iterations 10 --out {}",
        path(&without)
    )));
    fails(
        &argv!(
            "train --resume {} --iterations 20 --summary-input",
            path(&without)
        ),
        "--summary-input cannot change when resuming: the run has false",
    );
}

/// `study`: every strategy on the tasks asked, the seeds asked, a report with a table per task,
/// two figures per task and every run's scores; a second study into the same place only with
/// --force.
#[test]
fn a_study_reports_every_strategy_with_its_figures() {
    let scratch = Scratch::new("seq2seq-study");
    let out = scratch.0.join("study");
    let study = argv!(
        "study --task sort --seeds 2 --iterations 3 --pairs 60 --out {}",
        path(&out)
    );
    let done = succeeded(seq2seq(&study));
    let report = std::fs::read_to_string(out.join("report.md")).unwrap();
    assert!(
        text(&done.stdout).starts_with(&report),
        "the report is printed too"
    );
    assert!(report.contains("## sort"), "{report}");
    for strategy in [
        "teacher forcing",
        "scheduled sampling, linear",
        "scheduled sampling, exponential",
        "scheduled sampling, inverse sigmoid",
        "curriculum",
    ] {
        assert!(
            report.contains(&format!("| {strategy} | ")),
            "{strategy}: {report}"
        );
    }
    assert!(
        report.contains(" ± "),
        "mean ± deviation over seeds: {report}"
    );
    for figure in ["exact-sort.png", "errors-sort.png"] {
        assert_eq!(&std::fs::read(out.join(figure)).unwrap()[..4], b"\x89PNG");
    }
    let results = std::fs::read_to_string(out.join("results.jsonl")).unwrap();
    assert_eq!(results.lines().count(), 5 * 2, "a line per run: {results}");
    for line in results.lines() {
        let run: serde_json::Value = serde_json::from_str(line).unwrap();
        assert!(
            run["by_target_length"]
                .as_array()
                .is_some_and(|l| !l.is_empty()),
            "{run}"
        );
    }
    fails(&study, "already holds a study");
    fails(
        &argv!(
            "study --task sort --pairs 1 --out {}",
            path(&scratch.0.join("other"))
        ),
        "invalid setting `count`",
    );
    // With the summary in every decoder input, every run; the report says so.
    let with = scratch.0.join("with");
    let summary = argv!(
        "study --task sort --seeds 1 --iterations 3 --pairs 60 --summary-input --out {}",
        path(&with)
    );
    succeeded(seq2seq(&summary));
    let report = std::fs::read_to_string(with.join("report.md")).unwrap();
    assert!(report.contains("study --summary-input`"), "{report}");
    assert!(
        report.contains("the summary also in every decoder input"),
        "{report}"
    );
}
