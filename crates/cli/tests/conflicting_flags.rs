//! A flag that conflicts with another, or means nothing where it is given, is refused before
//! anything runs, naming both: it is never silently ignored.

mod common;

use common::{Scratch, argv, path, program_fails_with};

/// `program args` fails with status `code` and one error line naming each of `named`.
fn refused(program: &str, args: &[String], code: i32, named: &[&str]) {
    let stderr = program_fails_with(program, args, named[0], code);
    for name in named {
        assert!(
            stderr.contains(name),
            "{program} {args:?}: {name} not named: {stderr}"
        );
    }
}

#[test]
fn char_rnn_refuses_flags_without_their_strategy_or_schedule() {
    let scratch = Scratch::new("conflicting-char-rnn");
    let out = path(&scratch.0).to_string() + "/run";
    let cases: [(&str, &[&str]); 9] = [
        ("--k 3", &["--k", "--strategy scheduled-sampling"]),
        (
            "--schedule linear",
            &["--schedule", "--strategy scheduled-sampling"],
        ),
        (
            "--strategy scheduled-sampling --truth-probability 0.5",
            &["--truth-probability", "--schedule constant"],
        ),
        (
            "--strategy scheduled-sampling --schedule exponential --c 0.1",
            &["--c", "--schedule linear"],
        ),
        (
            "--strategy scheduled-sampling --schedule constant --k 2",
            &["--k", "--schedule"],
        ),
        (
            "--curriculum-ramp 10",
            &["--curriculum-ramp", "--strategy curriculum"],
        ),
        ("--own argmax", &["--own", "--strategy"]),
        ("--lr-every 10", &["--lr-every", "--lr-schedule step"]),
        (
            "--lr-schedule step --lr-min 0.1",
            &["--lr-min", "--lr-schedule cosine"],
        ),
    ];
    for (flags, named) in cases {
        refused("char-rnn", &argv!("train --out {out} {flags}"), 1, named);
    }
    assert!(!scratch.0.join("run").exists(), "nothing ran");
}

#[test]
fn char_rnn_sample_refuses_argmax_with_sampling_settings() {
    for flag in ["--temperature 0.5", "--top-k 3", "--top-p 0.9"] {
        let args = argv!("sample --checkpoint nowhere --argmax {flag}");
        refused(
            "char-rnn",
            &args,
            2,
            &["--argmax", flag.split(' ').next().unwrap()],
        );
    }
    refused(
        "char-rnn",
        &argv!("eval --checkpoint nowhere --generate 100"),
        2,
        &["--open-loop"],
    );
}

#[test]
fn forecast_refuses_builtin_settings_with_data_and_through_with_teacher_forcing() {
    let scratch = Scratch::new("conflicting-forecast");
    let data = scratch.file("series.csv", b"1,2\n3,4\n");
    for flag in ["--system lorenz", "--length 500", "--noise 0.1"] {
        let args = argv!("train --data {} {flag}", path(&data));
        refused(
            "forecast",
            &args,
            2,
            &["--data", flag.split(' ').next().unwrap()],
        );
    }
    let out = path(&scratch.0).to_string() + "/run";
    refused(
        "forecast",
        &argv!("train --out {out} --strategy teacher-forcing --through"),
        1,
        &["--through", "teacher forcing"],
    );
    refused(
        "forecast",
        &argv!("train --out {out} --strategy teacher-forcing --detached"),
        1,
        &["--detached", "teacher forcing"],
    );
    refused(
        "forecast",
        &argv!("train --through --detached"),
        2,
        &["--through", "--detached"],
    );
    refused(
        "forecast",
        &argv!("train --out {out} --lr-factor 0.5"),
        1,
        &["--lr-factor", "--lr-schedule step or exponential"],
    );
}

#[test]
fn classify_refuses_text_flags_with_numbers_and_csv_flags_with_text() {
    let scratch = Scratch::new("conflicting-classify");
    let csv = scratch.file("rows.csv", b"1,0.5,0.25\n0,0.1,0.2\n");
    let tsv = scratch.file("lines.tsv", b"a\txy\nb\tyx\n");
    let out = path(&scratch.0).to_string() + "/run";
    let cases = [
        (&csv, "--bytes", "text data"),
        (&csv, "--balanced", "--classes"),
        (&tsv, "--classes", ".csv"),
    ];
    for (data, flag, needs) in cases {
        let args = argv!("train --data {} --out {out} {flag}", path(data));
        refused("classify", &args, 1, &[flag, needs]);
    }
}
