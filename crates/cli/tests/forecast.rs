//! The forecast program as a user runs it: generate a series, train on its CSV, evaluate one
//! step ahead and open loop, continue the series, resume; and every mistake with the data gives
//! one `error:` line naming the file and line, never a panic.

mod common;

use common::{
    Arg, Scratch, argv, assert_files, fails_leaving, last_json, path, program_fails_with,
    run_program, run_program_with_stdin, succeeded, text,
};

fn forecast(args: &[impl Arg]) -> std::process::Output {
    run_program("forecast", args)
}

fn fails(args: &[impl Arg], expected: &str) -> String {
    program_fails_with("forecast", args, expected, 1)
}

fn json(output: &std::process::Output) -> serde_json::Value {
    assert!(output.status.success(), "{}", text(&output.stderr));
    serde_json::from_slice(&output.stdout).unwrap()
}

const TINY: &str = "--hidden 16 --batch 8 --window 20 --warmup 10 --horizon 30 --eval-every 20 \
                    --seed 3 --lr 0.01 --val-fraction 0.25";

/// `train --config SETTINGS --out OUT` on a short built-in series: the run's saved settings.
fn trained_settings(settings: &std::path::Path, out: &std::path::Path) -> serde_json::Value {
    json(&forecast(&argv!(
        "train --config {} --out {} --iterations 2 --length 400 --batch 4 --window 10 \
         --warmup 5 --horizon 10 --json",
        path(settings),
        path(out)
    )));
    last_json(out, "config.json")
}

#[test]
fn a_user_trains_evaluates_and_continues_a_csv_series() {
    let scratch = Scratch::new("forecast-csv");
    let generated = succeeded(forecast(&[
        "generate", "--length", "800", "--noise", "0.01",
    ]));
    let csv = text(&generated.stdout);
    assert_eq!(csv.lines().next(), Some("x,y,z"));
    assert_eq!(csv.lines().count(), 801);
    let data = scratch.file("lorenz.csv", csv.as_bytes());
    let out = scratch.0.join("run");
    let train = |iterations: &str| {
        forecast(&argv!(
            "train --data {} --out {} --iterations {iterations} --strategy curriculum --json {TINY}",
            path(&data),
            path(&out)
        ))
    };
    let trained = json(&train("40"));
    let validation = &trained["validation"];
    assert_eq!(validation["nrmse"].as_array().unwrap().len(), 30);
    assert!(validation["one_step_nrmse"].as_f64().unwrap() < 1.0);
    assert_files(
        &out,
        "last/standardization.json metrics.jsonl open-loop.png",
    );

    // Resumed to 60 iterations: the same data, recorded in the run; a changed shape is refused.
    let resumed = forecast(&argv!(
        "train --resume {} --iterations 60 --json",
        path(&out)
    ));
    let resumed = json(&resumed);
    assert_eq!(resumed["iterations"], 60);
    fails(
        &argv!("train --resume {} --hidden 32", path(&out)),
        "--hidden cannot change when resuming",
    );
    // Settings are named as the flags spell them, in messages too.
    let changed = fails(
        &argv!("train --resume {} --loss gaussian-nll", path(&out)),
        "--loss cannot change when resuming",
    );
    assert!(
        changed.contains("mse") && changed.contains("gaussian-nll"),
        "{changed}"
    );

    // Scored on the whole file, with the run's open-loop settings unless told otherwise.
    let scored = json(&forecast(&argv!(
        "eval --checkpoint {} --data {} --horizon 12 --json",
        path(&out),
        path(&data)
    )));
    assert_eq!(scored["nrmse"].as_array().unwrap().len(), 12);
    assert_eq!(scored["steps"], 800);
    // Without --data: the run's own validation part, the last quarter of its file.
    let own = json(&forecast(&argv!("eval --checkpoint {} --json", path(&out))));
    assert_eq!(own["steps"], 200);
    assert_eq!(own["one_step_mse"], resumed["validation"]["one_step_mse"]);

    // The series continued after its last row, in its own columns and units.
    let continued = succeeded(forecast(&argv!(
        "forecast --checkpoint {} --data {} --horizon 5",
        path(&out),
        path(&data)
    )));
    let lines: Vec<String> = text(&continued.stdout).lines().map(String::from).collect();
    assert_eq!(lines[0], "x,y,z");
    assert_eq!(lines.len(), 6);
    let last: Vec<f64> = csv
        .lines()
        .last()
        .unwrap()
        .split(',')
        .map(|v| v.parse().unwrap())
        .collect();
    let first: Vec<f64> = lines[1].split(',').map(|v| v.parse().unwrap()).collect();
    // One step of 0.02 time units moves Lorenz-63 by well under one unit per column, while
    // the columns span tens: a forecast in the data's units starts near the last row.
    for (a, b) in first.iter().zip(&last) {
        assert!((a - b).abs() < 5.0, "{first:?} after {last:?}");
    }
    let as_json = json(&forecast(&argv!(
        "forecast --checkpoint {} --data {} --horizon 5 --json",
        path(&out),
        path(&data)
    )));
    assert_eq!(as_json["forecast"].as_array().unwrap().len(), 5);
    assert_eq!(as_json["columns"][2], "z");

    // Exported for PyTorch (scripts/pytorch_forecast.py loads it).
    let exported = scratch.0.join("model.safetensors");
    let export = argv!(
        "export --checkpoint {} --out {}",
        path(&out),
        path(&exported)
    );
    succeeded(forecast(&export));
    assert!(std::fs::metadata(&exported).unwrap().len() > 1000);
    // Not into the run directory, and not over a file without --force.
    fails(&export, "the file exists; pass --force");
    let inside = argv!(
        "export --checkpoint {} --out {}/x.st --force",
        path(&out),
        path(&out)
    );
    fails(&inside, "inside the run directory");
}

/// A settings file that names one setting of the network keeps every other default of forecast's:
/// the study's choice (pattern 1, the curriculum fitted to the run, back-propagated through the
/// fed-back outputs), not those of a bare network.
#[test]
fn a_partial_settings_file_keeps_the_other_defaults() {
    let scratch = Scratch::new("forecast-partial");
    let settings = scratch.file("partial.json", br#"{"model": {"hidden": 12}}"#);
    let out = scratch.0.join("run");
    let saved = trained_settings(&settings, &out);
    assert_eq!(saved["model"]["hidden"], 12, "{saved}");
    assert_eq!(saved["model"]["pattern"], "hidden", "{saved}");
    assert_eq!(saved["fed_gradient"], "through", "{saved}");
    // Fitted to this run's 2 iterations and window of 10.
    let schedule = serde_json::json!({"maximum": 5, "start": 0, "ramp": 1});
    assert_eq!(saved["strategy"]["kind"], "curriculum", "{saved}");
    assert_eq!(saved["strategy"]["schedule"], schedule, "{saved}");
}

/// A settings file may spell a value as its flag does (`gaussian-nll`, `teacher-forcing`); the
/// run's own settings are written in the file's spelling.
#[test]
fn a_settings_file_takes_the_flags_spellings() {
    let scratch = Scratch::new("forecast-spelling");
    let settings = scratch.file(
        "spelt.json",
        br#"{"loss": "gaussian-nll", "strategy": {"kind": "teacher-forcing"}}"#,
    );
    let out = scratch.0.join("run");
    let saved = trained_settings(&settings, &out);
    assert_eq!(saved["loss"], "gaussian_nll", "{saved}");
    assert_eq!(saved["strategy"]["kind"], "teacher_forcing", "{saved}");
}

#[test]
fn mistakes_with_the_data_are_one_error_line() {
    let scratch = Scratch::new("forecast-errors");
    let bad = scratch.file("bad.csv", b"a,b\n1,2\n3,x\n");
    fails(
        &argv!("train --data {}", path(&bad)),
        "bad.csv:3: value 2 (\"x\") is not a finite number",
    );
    // --out names a file (here the data): said so, the file left as it was.
    let out_is_data = argv!("train --out {}", path(&bad));
    fails_leaving(
        "forecast",
        &bad,
        &out_is_data,
        "is a file, not a run directory",
    );
    let ragged = scratch.file("ragged.csv", b"1,2\n3\n");
    fails(&argv!("train --data {}", path(&ragged)), "ragged.csv:2");
    let short = scratch.file("short.csv", b"1,2\n3,4\n5,7\n");
    fails(
        &argv!("train --data {}", path(&short)),
        "each part needs at least",
    );
    let constant = (0..2000).map(|i| format!("{i},1\n")).collect::<String>();
    let constant = scratch.file("constant.csv", constant.as_bytes());
    fails(&argv!("train --data {}", path(&constant)), "constant");
    fails(&argv!("train --window 0"), "window");
    fails(&["train", "--bytes"], "numbers, not text");
    fails(
        &argv!("eval --checkpoint {}", path(&scratch.0.join("nowhere"))),
        "nowhere",
    );

    // A checkpoint of three columns refuses a series of two.
    let out = scratch.0.join("run");
    succeeded(forecast(&argv!(
        "train --system lorenz --length 400 --iterations 5 --out {} {TINY}",
        path(&out)
    )));
    let two = scratch.file("two.csv", b"1,2\n3,4\n");
    fails(
        &argv!(
            "forecast --checkpoint {} --data {} --horizon 3",
            path(&out),
            path(&two)
        ),
        "trained on 3 (x, y, z)",
    );
    // Without --data, eval scores the run's own validation part of its built-in system.
    let own = json(&forecast(&argv!("eval --checkpoint {} --json", path(&out))));
    assert_eq!(own["steps"], 100);
}

/// The data is read once: `--data /dev/stdin` trains on what the pipe held and records its size
/// (a second read would find the pipe empty).
#[test]
fn a_series_from_a_pipe_is_read_once() {
    let scratch = Scratch::new("forecast-pipe");
    let generated = succeeded(forecast(&["generate", "--length", "300"]));
    let out = scratch.0.join("run");
    let mut line = vec!["train", "--data", "/dev/stdin", "--out", path(&out)];
    line.extend([
        "--iterations",
        "4",
        "--hidden",
        "8",
        "--batch",
        "4",
        "--window",
        "20",
    ]);
    line.extend([
        "--warmup",
        "10",
        "--horizon",
        "10",
        "--val-fraction",
        "0.25",
    ]);
    succeeded(run_program_with_stdin("forecast", &line, &generated.stdout));
    let progress = last_json(&out, "progress.json");
    assert_eq!(
        progress["data"]["bytes"],
        generated.stdout.len(),
        "{progress}"
    );
}

/// The CSV's lines with its columns in `order` (indices into its header's columns).
fn permuted(csv: &str, order: &[usize]) -> String {
    csv.lines()
        .map(|line| {
            let fields: Vec<&str> = line.split(',').collect();
            order
                .iter()
                .map(|&i| fields[i])
                .collect::<Vec<_>>()
                .join(",")
                + "\n"
        })
        .collect()
}

#[test]
fn columns_are_matched_by_name() {
    let scratch = Scratch::new("forecast-columns");
    let csv = text(&succeeded(forecast(&["generate", "--length", "400"])).stdout);
    let data = scratch.file("xyz.csv", csv.as_bytes());
    let zyx = scratch.file("zyx.csv", permuted(&csv, &[2, 1, 0]).as_bytes());
    let xy = scratch.file("xy.csv", permuted(&csv, &[0, 1]).as_bytes());
    let out = scratch.0.join("run");
    json(&forecast(&argv!(
        "train --data {} --out {} --iterations 20 --json {TINY}",
        path(&data),
        path(&out)
    )));
    let eval = |file: &std::path::Path| {
        json(&forecast(&argv!(
            "eval --checkpoint {} --data {} --json",
            path(&out),
            path(file)
        )))
    };
    // The same series with its columns in another order scores the same.
    let (straight, reversed) = (eval(&data), eval(&zyx));
    assert_eq!(straight["one_step_nrmse"], reversed["one_step_nrmse"]);
    assert_eq!(straight["nrmse"], reversed["nrmse"]);
    let continued = |file: &std::path::Path| {
        text(
            &succeeded(forecast(&argv!(
                "forecast --checkpoint {} --data {} --horizon 3",
                path(&out),
                path(file)
            )))
            .stdout,
        )
    };
    assert_eq!(continued(&data), continued(&zyx));
    // A missing column, or one the model does not know, is named.
    let error = fails(
        &argv!("eval --checkpoint {} --data {}", path(&out), path(&xy)),
        "lacks column \"z\"",
    );
    assert!(error.contains("x, y, z"), "{error}");
    let renamed = scratch.file("renamed.csv", csv.replacen("z", "w", 1).as_bytes());
    let error = fails(
        &argv!(
            "forecast --checkpoint {} --data {} --horizon 3",
            path(&out),
            path(&renamed)
        ),
        "lacks column \"z\"",
    );
    assert!(error.contains("has column \"w\""), "{error}");
    // Resuming on the permuted file continues the same run, columns matched.
    json(&forecast(&argv!(
        "train --resume {} --data {} --iterations 40 --json",
        path(&out),
        path(&zyx)
    )));
    // A header that names a column twice is refused.
    let twice = scratch.file("twice.csv", b"a,a\n1,2\n3,4\n");
    fails(
        &argv!("train --data {}", path(&twice)),
        "column \"a\" twice",
    );
}

/// `study --out` writes only into an empty directory, a new one or an earlier study's (with
/// --force): never over a file, nor among files a user keeps there.
#[test]
fn a_study_leaves_what_a_user_owns_alone() {
    let scratch = Scratch::new("forecast-study-out");
    let file = scratch.file("notes.csv", b"1,2\n");
    let study = argv!("study --out {}", path(&file));
    fails_leaving("forecast", &file, &study, "is a file, not a directory");
    let kept = scratch.0.join("kept");
    std::fs::create_dir_all(&kept).unwrap();
    std::fs::write(kept.join("mine.txt"), b"mine").unwrap();
    fails(&argv!("study --out {}", path(&kept)), "not a study's");
    let study = scratch.0.join("study");
    std::fs::create_dir_all(&study).unwrap();
    std::fs::write(study.join("report.md"), b"# an earlier study").unwrap();
    fails(
        &argv!("study --out {}", path(&study)),
        "already holds a study",
    );
}
