//! classify: train, evaluate, predict with and export sequence classifiers and regressors
//! (pattern 3: a hidden recurrence reads the whole sequence, one output comes out at its end),
//! and per-step labellers (`--per-step`, pattern 1: a label for every character, one way or
//! both).
//!
//! `cargo run --release --example classify` trains on a built-in task and reports the result
//! beside chance and the best possible; `-- --help` lists the commands.

mod builtin;
mod cli;

use std::io::BufReader;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

use serde_json::json;
use unroll::backend::Inference;
use unroll::training::durable::csv_line;
use unroll::training::durable::{MAX_INPUT_BYTES, read_limited};
use unroll::training::export::sequence_network_safetensors_bytes;
use unroll::training::memory::available_bytes;
use unroll::training::sequence::data::{
    Origin, RawSequence, RawTarget, numeric_values, without_padding,
};
use unroll::training::sequence::encoding::Samples;
use unroll::training::sequence::plot_confusion;
use unroll::training::sequence::task::{argmax, probabilities};
use unroll::training::sequence::{
    ClassificationScores, Encoding, Example, SequenceCheckpoint, SequenceConfig, SequenceFiles,
    SequenceScores, SequenceTask, TargetKind, labelled_lines, numeric_csv, per_step_labels,
    predict, read_class_directory, score, stratified_split,
};
use unroll::training::validation::Validation;
use unroll::training::{DataSource, LearningRateSchedule, SymbolMode};

use crate::console::{note, print};
use crate::lines::BoundedLines;
use crate::run::{scores_json, task_report_json};
use crate::task_run::{self, TaskStart, run_directory};
use cli::{Command, EvalArgs, ExportArgs, PredictArgs, TrainArgs};

use crate::Error;
use crate::program::Invocation;

/// The command line: every command and flag, as `--help` shows them.
pub fn command() -> clap::Command {
    crate::help::show_train_defaults(
        crate::program::definition::<Command>("classify", cli::ABOUT),
        cli::train_defaults(SequenceConfig::default()),
        cli::train_defaults(builtin_defaults()),
        "the built-in task",
    )
}

/// The program: parses the command line and runs the command.
pub fn main() -> ExitCode {
    crate::console::main(
        command(),
        |invocation: Invocation<Command>| match invocation
            .command
            .unwrap_or(Command::Train(Box::default()))
        {
            Command::Train(args) => run_train(*args),
            Command::Eval(args) => run_eval(args),
            Command::Predict(args) => run_predict(args),
            Command::Export(args) => run_export(args),
        },
    )
}

/// Whether `path` names a CSV file of numeric rows (by its extension).
fn is_csv(path: &Path) -> bool {
    !path.is_dir()
        && path
            .extension()
            .is_some_and(|e| e.eq_ignore_ascii_case("csv"))
}

/// Reads samples in the format the path says: a directory (one file per class), a `.csv`
/// file (numeric rows), or `label<TAB>text` lines; with `per_step`, `labels<TAB>text` lines,
/// a label per character.
fn read_examples(
    path: &Path,
    classes: bool,
    per_step: bool,
    mode: SymbolMode,
) -> Result<Vec<Example>, Error> {
    Ok(read_data(path, classes, per_step, mode)?.0)
}

/// [`read_examples`], and where they came from: a file is read once (a FIFO or `/dev/stdin`
/// can be read only once), its bytes parsed and described by the same read.
fn read_data(
    path: &Path,
    classes: bool,
    per_step: bool,
    mode: SymbolMode,
) -> Result<(Vec<Example>, DataSource), Error> {
    if per_step && (path.is_dir() || is_csv(path)) {
        return Err(format!(
            "{}: per-step labels come as `labels<TAB>text` lines, not as a directory or a .csv file",
            path.display()
        )
        .into());
    }
    if path.is_dir() {
        let examples = read_class_directory(path, mode)?;
        return Ok((examples, DataSource::of(Some(path), &[])));
    }
    let bytes = read_limited(path, MAX_INPUT_BYTES)?;
    let examples = if is_csv(path) {
        let kind = if classes {
            TargetKind::Class
        } else {
            TargetKind::Value
        };
        numeric_csv(path, &bytes, kind)?
    } else if per_step {
        per_step_labels(labelled_lines(path, &bytes, mode)?)?
    } else {
        labelled_lines(path, &bytes, mode)?
    };
    Ok((examples, DataSource::of(Some(path), &bytes)))
}

/// The built-in task's samples: `count` strings with lengths in `lengths`, labelled balanced or
/// not, or with `per_step`, each bracket labelled by whether it has a partner.
fn builtin_examples(
    per_step: bool,
    count: usize,
    lengths: (usize, usize),
    seed: u64,
) -> Vec<Example> {
    if per_step {
        builtin::partner_examples(count, lengths, seed)
    } else {
        builtin::examples(count, lengths, seed)
    }
}

/// Settings for the built-in task: about ten seconds of training on 2 cores.
fn builtin_defaults() -> SequenceConfig {
    SequenceConfig {
        batch: 32,
        iterations: 15000,
        eval_every: 1500,
        log_every: 500,
        // A tanh recurrence trained at a constant rate swings in and out of the solution;
        // decaying the rate lets it settle.
        learning_rate_schedule: LearningRateSchedule::Cosine { minimum: 1e-4 },
        ..SequenceConfig::default()
    }
    .with_hidden(64)
}

/// Everything a training run needs, read and checked before the device is opened.
struct Setup {
    config: SequenceConfig,
    encoding: Encoding,
    train: Samples,
    validation: Samples,
    source: Option<DataSource>,
    data_path: Option<PathBuf>,
    resume: Option<SequenceCheckpoint>,
    /// Characters read as the unknown symbol: in the training part, and in the validation part.
    unknown: [usize; 2],
}

fn setup(args: &TrainArgs) -> Result<Setup, Error> {
    let mut start =
        TaskStart::<SequenceFiles>::read(&args.common, args.data.as_deref(), builtin_defaults)?;
    let validation = (start.resume.as_ref()).and_then(|c| args.validation_unchanged(&c.config));
    start.apply_flags(|config| args.apply(config), validation)?;
    let TaskStart {
        resume,
        data_path,
        mut config,
    } = start;
    // A resumed run reads its data as it did: a CSV file's targets as labels for a classifier.
    let classes = args.classes
        || resume
            .as_ref()
            .is_some_and(|c| c.encoding.kind() == TargetKind::Class);
    let numeric = data_path.as_deref().is_some_and(is_csv);
    let per_step = config.per_step;
    crate::flags::refuse_meaningless(&[
        (
            "--bytes",
            args.common.bytes,
            numeric.then_some("text data: a .csv file holds numbers"),
        ),
        (
            "--classes",
            args.classes,
            (!numeric).then_some("a .csv file (text and directories hold labels already)"),
        ),
        (
            "--balanced",
            args.balanced,
            (numeric && !classes).then_some("classes: with a .csv file, give --classes too"),
        ),
        (
            "--min-symbol-count",
            args.min_symbol_count.is_some(),
            (numeric || args.common.bytes)
                .then_some("text read as characters (not numbers, not --bytes)"),
        ),
    ])?;
    let (all, source) = match &data_path {
        Some(path) => {
            let (examples, source) = read_data(path, classes, per_step, config.symbols)?;
            (examples, Some(source))
        }
        None => (
            builtin_examples(per_step, 6000, builtin::TRAINING_LENGTHS, 1),
            None,
        ),
    };
    if let Some(val) = &args.val {
        config.validation_file = Some(std::path::absolute(val)?);
    }
    let (train, validation) = match &config.validation_file {
        Some(val) => (all, read_examples(val, classes, per_step, config.symbols)?),
        None => stratified_split(all, config.validation_fraction, config.seed)?,
    };
    let encoding = match &resume {
        Some(checkpoint) => checkpoint.encoding.clone(),
        None => Encoding::fit(&train, config.symbols, config.min_symbol_count)?,
    };
    let unknown = [
        encoding.unknown_symbols(&train).0,
        encoding.unknown_symbols(&validation).0,
    ];
    Ok(Setup {
        unknown,
        train: encoding.encode(&train)?,
        validation: encoding.encode(&validation)?,
        encoding,
        config,
        source,
        data_path,
        resume,
    })
}

fn run_train(args: TrainArgs) -> Result<ExitCode, Error> {
    let setup = setup(&args)?;
    let out = run_directory(setup.resume.as_ref(), "classify", &args.common)?;
    let longest = setup
        .train
        .lengths()
        .into_iter()
        .chain(setup.validation.lengths())
        .max();
    let available = crate::device::ON_CPU.then(available_bytes).flatten();
    setup
        .config
        .check_memory(&setup.encoding, longest.unwrap_or(1), available)?;
    let device = crate::device::open()?;
    describe(&setup);
    let settings = setup.config.loop_settings();
    let builtin = setup.data_path.is_none();
    let (config, encoding) = (setup.config.clone(), setup.encoding.clone());
    let (train, validation) = (setup.train, setup.validation);
    let run = (out.as_path(), setup.resume);
    let report = task_run::train(
        run,
        &args.common,
        setup.source.clone(),
        &settings,
        &device,
        |resume| Ok(SequenceTask::new(config, encoding, train, validation)?.resuming(resume)),
    )?;
    let picture = out.join("confusion.png");
    if let Some(scores) = confusion(&report.validation) {
        plot_confusion(scores, &picture)?;
    }
    let lengths = if builtin {
        Some(accuracy_by_length(
            &report.model,
            &setup.encoding,
            &setup.config,
            &device,
        )?)
    } else {
        None
    };
    if args.common.json {
        print(task_report_json(
            &report,
            json!({ "accuracy_by_length": lengths }),
        ));
        return Ok(ExitCode::SUCCESS);
    }
    let rate = report.metrics.last().map(|m| m.items_per_second);
    print(format!(
        "trained {} iterations in {:.1} s ({:.0} {}/s at the end)",
        report.iterations - report.first_iteration,
        report.seconds,
        rate.unwrap_or(0.0),
        <SequenceScores as Validation>::ITEMS,
    ));
    print_scores(&report.validation);
    if let Some(lengths) = &lengths {
        print_builtin(lengths, setup.config.per_step);
    }
    print(format!("checkpoint: {}", report.checkpoint.display()));
    print(format!(
        "metrics: {}, loss curve: {}{}",
        out.join("metrics.jsonl").display(),
        out.join("loss.png").display(),
        if confusion(&report.validation).is_some() {
            format!(", confusion matrix: {}", picture.display())
        } else {
            String::new()
        }
    ));
    Ok(ExitCode::SUCCESS)
}

/// The classes' scores a confusion matrix is drawn from: a classifier's, or a labeller's
/// steps'.
fn confusion(scores: &SequenceScores) -> Option<&ClassificationScores> {
    match scores {
        SequenceScores::Classification(s) => Some(s),
        SequenceScores::Labelling(s) => Some(&s.steps),
        SequenceScores::Regression(_) => None,
    }
}

/// One line saying what is about to be trained.
fn describe(setup: &Setup) {
    let lengths = setup.train.lengths();
    let (shortest, longest) = (
        lengths.iter().min().copied().unwrap_or(0),
        lengths.iter().max().copied().unwrap_or(0),
    );
    let what = match (&setup.data_path, setup.encoding.kind()) {
        (None, _) if setup.config.per_step => {
            "built-in task, a label per bracket: does it have a partner?".to_string()
        }
        (None, _) => "built-in task: are the brackets balanced?".to_string(),
        (Some(path), _) if setup.config.per_step => format!(
            "{}: {} labels, one per character",
            path.display(),
            setup.encoding.output_width()
        ),
        (Some(path), TargetKind::Class) => format!(
            "{}: {} classes",
            path.display(),
            setup.encoding.output_width()
        ),
        (Some(path), TargetKind::Value) => format!("{}: regression", path.display()),
    };
    let config = &setup.config;
    let inputs = match setup.encoding.vocabulary() {
        Some(vocabulary) if vocabulary.unknown_id().is_some() => format!(
            "{} symbols and the unknown symbol (read for {} rare characters in training, {} in validation)",
            vocabulary.len() - 1,
            setup.unknown[0],
            setup.unknown[1]
        ),
        _ => format!("input width {}", setup.encoding.input_width()),
    };
    note(format!(
        "{what}; {} training and {} validation samples, lengths {shortest}–{longest}, {inputs}; hidden {}, layers {}{}, batch {}, {} iterations, {:?}, lr {}",
        setup.train.len(),
        setup.validation.len(),
        config.model.hidden,
        config.model.layers,
        if config.model.bidirectional {
            ", both directions"
        } else {
            ""
        },
        config.batch,
        config.iterations,
        config.optimizer,
        config.learning_rate
    ));
}

fn print_scores(scores: &SequenceScores) {
    match scores {
        SequenceScores::Classification(s) => {
            print(format!(
                "validation: accuracy {:.2} % (always the most frequent class: {:.2} %), macro-F1 {:.4}, cross-entropy {:.4} nats",
                100.0 * s.accuracy,
                100.0 * s.majority_accuracy,
                s.macro_f1,
                s.cross_entropy
            ));
            print(s.table());
        }
        SequenceScores::Regression(s) => {
            print(format!(
                "validation: MSE {:.6}, MAE {:.6}, R² {:.4} over {} samples (always the training mean: MSE {:.6}, MAE {:.6})",
                s.mse, s.mae, s.r2, s.samples, s.baseline_mse, s.baseline_mae
            ));
        }
        SequenceScores::Labelling(s) => {
            print(format!(
                "validation: {:.2} % of the steps labelled right (always the most frequent label: {:.2} %), {:.2} % of the {} sequences right at every step, macro-F1 {:.4}, cross-entropy {:.4} nats a step",
                100.0 * s.steps.accuracy,
                100.0 * s.steps.majority_accuracy,
                100.0 * s.sequence_accuracy,
                s.sequences,
                s.steps.macro_f1,
                s.steps.cross_entropy
            ));
            print(s.steps.table());
        }
    }
}

/// The built-in task's accuracy in bands of length, on fresh strings: up to the longest
/// trained on, and longer.
fn accuracy_by_length(
    model: &unroll::training::sequence::SequenceNetwork<Inference>,
    encoding: &Encoding,
    config: &SequenceConfig,
    device: &burn::tensor::Device<Inference>,
) -> Result<Vec<serde_json::Value>, Error> {
    let mut rows = Vec::new();
    for (k, (shortest, longest)) in builtin::TEST_BANDS.into_iter().enumerate() {
        let seed = 100 + k as u64;
        let examples = builtin_examples(config.per_step, 1000, (shortest, longest), seed);
        let samples = encoding.encode(&examples)?;
        let outputs = predict(model, encoding, &samples.inputs, config.batch, device)?;
        let mut row = json!({
            "lengths": [shortest, longest],
            "seen_in_training": longest <= builtin::TRAINING_LENGTHS.1,
        });
        match score(encoding, &samples, &outputs) {
            SequenceScores::Classification(s) => row["accuracy"] = json!(s.accuracy),
            SequenceScores::Labelling(s) => {
                row["accuracy"] = json!(s.steps.accuracy);
                row["sequence_accuracy"] = json!(s.sequence_accuracy);
            }
            SequenceScores::Regression(_) => continue,
        }
        rows.push(row);
    }
    Ok(rows)
}

fn print_builtin(rows: &[serde_json::Value], per_step: bool) {
    if per_step {
        print(format!(
            "the best possible is {:.0} % both ways (a ')' has a partner when a '(' is open before it, a '(' when a ')' closes it later: a counter run backward decides it); reading one way, a '(' is a guess. Steps (and whole strings) right on fresh strings by length:",
            100.0 * builtin::BEST
        ));
    } else {
        print(format!(
            "chance is {:.0} %, the best possible {:.0} % (a counter of open brackets decides every string). Accuracy on fresh strings by length:",
            100.0 * builtin::CHANCE,
            100.0 * builtin::BEST
        ));
    }
    for row in rows {
        let length = |k: usize| row["lengths"][k].as_u64().unwrap_or(0);
        let whole = row["sequence_accuracy"]
            .as_f64()
            .map_or(String::new(), |a| format!(" ({:6.2} %)", 100.0 * a));
        print(format!(
            "  lengths {:>3}–{:<3}  {:6.2} %{whole}{}",
            length(0),
            length(1),
            100.0 * row["accuracy"].as_f64().unwrap_or(0.0),
            if row["seen_in_training"].as_bool() == Some(true) {
                ""
            } else {
                "  (longer than any trained on)"
            }
        ));
    }
}

fn run_eval(args: EvalArgs) -> Result<ExitCode, Error> {
    args.figure.check(&args.from.checkpoint)?;
    let checkpoint = SequenceCheckpoint::open(&args.from.checkpoint, args.from.which())?;
    let classes = checkpoint.encoding.kind() == TargetKind::Class;
    let per_step = checkpoint.encoding.per_step();
    let examples = read_examples(&args.data, classes, per_step, checkpoint.config.symbols)?;
    let samples = checkpoint.encoding.encode(&examples)?;
    let (unknown, with_unknown) = checkpoint.encoding.unknown_symbols(&examples);
    let device = crate::device::open()?;
    let model = checkpoint.model::<Inference>(&device)?;
    let batch = checkpoint.config.batch;
    let outputs = predict(
        &model,
        &checkpoint.encoding,
        &samples.inputs,
        batch,
        &device,
    )?;
    let scores = score(&checkpoint.encoding, &samples, &outputs);
    if args.json {
        let counted = ("samples", samples.len());
        let mut result = scores_json(&scores, &checkpoint.path, &args.data, counted)?;
        if checkpoint.encoding.reads_text() {
            result["unknown_symbols"] = json!(unknown);
            result["samples_with_unknown_symbols"] = json!(with_unknown);
        }
        print(result);
    } else {
        let data = args.data.display();
        let unknown = if unknown > 0 {
            format!("; {}", unknown_note(unknown, with_unknown, "sample"))
        } else {
            String::new()
        };
        print(format!("{data}: {} samples scored{unknown}", samples.len()));
        print_scores(&scores);
    }
    // Drawn last: a picture that cannot be written loses no score.
    if let (Some(path), Some(s)) = (&args.figure.plot, confusion(&scores)) {
        plot_confusion(s, path)?;
    }
    Ok(ExitCode::SUCCESS)
}

/// `N symbols unknown to the model in M ITEMs (…)`.
fn unknown_note(unknown: usize, items: usize, item: &str) -> String {
    format!(
        "{unknown} symbol{} unknown to the model in {items} {item}{} (read as the unknown symbol)",
        if unknown == 1 { "" } else { "s" },
        if items == 1 { "" } else { "s" }
    )
}

/// One input line: its number, its sample (`None` for a blank line, which gets an empty
/// answer, so that answers and lines stay one to one) and the line as shown.
type InputLine = (usize, Option<Example>, String);

/// One input line (its bytes, without the line end) as a sample that remembers where it was
/// read (its target unused). The rules are training's: a byte-mode model reads the line's bytes;
/// a text model its UTF-8 characters, a byte-order mark at the start skipped; a numeric model its
/// comma-separated values, each a finite number ([`numeric_values`]).
fn input_example(line: &[u8], origin: Origin, encoding: &Encoding) -> Result<InputLine, Error> {
    let line = line.strip_suffix(b"\r").unwrap_or(line);
    let line = match line.strip_prefix(b"\xEF\xBB\xBF") {
        Some(rest) if origin.line == 1 && !encoding.reads_bytes() => rest,
        _ => line,
    };
    let shown = String::from_utf8_lossy(line).into_owned();
    if shown.trim().is_empty() {
        return Ok((origin.line, None, shown));
    }
    let text = || {
        std::str::from_utf8(line).map_err(|_| {
            origin.error("not valid UTF-8 (a model trained with --bytes reads any bytes)")
        })
    };
    let sequence = if encoding.reads_bytes() {
        RawSequence::Text(line.iter().map(|&b| char::from(b)).collect())
    } else if encoding.reads_text() {
        RawSequence::Text(text()?.to_owned())
    } else {
        let fields = csv_line(text()?).map_err(|e| origin.error(e))?;
        let fields: Vec<&str> = fields.iter().map(String::as_str).collect();
        RawSequence::Numbers(numeric_values(without_padding(&fields), 1, &origin)?)
    };
    let example = Example {
        sequence,
        target: RawTarget::Value(0.0),
        origin,
    };
    Ok((example.origin.line, Some(example), shown))
}

/// Prints one answer per input line, in order (a blank line's is empty); false when stdout is
/// gone.
fn answer(
    model: &unroll::training::sequence::SequenceNetwork<Inference>,
    checkpoint: &SequenceCheckpoint,
    lines: Vec<InputLine>,
    json: bool,
    unknown_total: &mut (usize, usize),
    device: &burn::tensor::Device<Inference>,
) -> Result<bool, Error> {
    let encoding = &checkpoint.encoding;
    let examples: Vec<Example> = lines.iter().filter_map(|(_, e, _)| e.clone()).collect();
    let inputs = encoding.encode_inputs(&examples)?;
    let batch = checkpoint.config.batch;
    let mut outputs = predict(model, encoding, &inputs, batch, device)?.into_iter();
    for (number, example, line) in &lines {
        let output = example.as_ref().and_then(|_| outputs.next());
        let unknown = example
            .as_ref()
            .map_or(0, |e| encoding.unknown_symbols(std::slice::from_ref(e)).0);
        *unknown_total = (
            unknown_total.0 + unknown,
            unknown_total.1 + usize::from(unknown > 0),
        );
        let shown = match (output, encoding.kind()) {
            (None, _) if json => json!({ "line": number, "input": line }).to_string(),
            (None, _) => String::new(),
            (Some(output), _) if encoding.per_step() => {
                let (labels, probability): (String, Vec<f64>) = output
                    .chunks(encoding.output_width())
                    .map(|o| {
                        let p = probabilities(o);
                        let class = argmax(&p);
                        (encoding.label(class), p[class])
                    })
                    .unzip();
                if json {
                    let mut answer = json!({ "line": number, "input": line, "labels": labels, "probabilities": probability });
                    if encoding.reads_text() {
                        answer["unknown_symbols"] = json!(unknown);
                    }
                    answer.to_string()
                } else {
                    format!("{labels}\t{line}")
                }
            }
            (Some(output), TargetKind::Class) => {
                let p = probabilities(&output);
                let class = argmax(&p);
                let label = encoding.label(class);
                if json {
                    let mut answer = json!({ "line": number, "input": line, "label": label, "probability": p[class] });
                    if encoding.reads_text() {
                        answer["unknown_symbols"] = json!(unknown);
                    }
                    answer.to_string()
                } else {
                    format!("{label}\t{:.4}\t{line}", p[class])
                }
            }
            (Some(output), TargetKind::Value) => {
                let value = encoding.value(output[0]);
                if json {
                    let mut answer = json!({ "line": number, "input": line, "value": value });
                    if encoding.reads_text() {
                        answer["unknown_symbols"] = json!(unknown);
                    }
                    answer.to_string()
                } else {
                    format!("{value}\t{line}")
                }
            }
        };
        if !print(shown) {
            return Ok(false);
        }
    }
    Ok(true)
}

/// `predict`: a file's lines in batches, or stdin's one at a time, each answered as soon as it
/// is read (so that a person typing gets each answer at once).
fn run_predict(args: PredictArgs) -> Result<ExitCode, Error> {
    let checkpoint = SequenceCheckpoint::open(&args.from.checkpoint, args.from.which())?;
    let device = crate::device::open()?;
    let model = checkpoint.model::<Inference>(&device)?;
    let origin = |path: &Arc<Path>, line: usize| Origin {
        path: path.clone(),
        line,
    };
    let mut unknown = (0, 0);
    match &args.input {
        Some(file) => {
            let opened =
                std::fs::File::open(file).map_err(|e| format!("{}: {e}", file.display()))?;
            let path: Arc<Path> = Arc::from(file.as_path());
            let lines = BoundedLines::new(BufReader::new(opened), file.display().to_string());
            let mut examples = Vec::new();
            for line in lines {
                let (number, line) = line?;
                let encoding = &checkpoint.encoding;
                examples.push(input_example(&line, origin(&path, number), encoding)?);
            }
            answer(
                &model,
                &checkpoint,
                examples,
                args.json,
                &mut unknown,
                &device,
            )?;
        }
        None => {
            let path: Arc<Path> = Arc::from(Path::new("stdin"));
            for line in BoundedLines::new(std::io::stdin().lock(), "stdin") {
                let (number, line) = line?;
                let example = input_example(&line, origin(&path, number), &checkpoint.encoding)?;
                if !answer(
                    &model,
                    &checkpoint,
                    vec![example],
                    args.json,
                    &mut unknown,
                    &device,
                )? {
                    break;
                }
            }
        }
    }
    if unknown.0 > 0 {
        note(format!(
            "note: {}",
            unknown_note(unknown.0, unknown.1, "line")
        ));
    }
    Ok(ExitCode::SUCCESS)
}

fn run_export(args: ExportArgs) -> Result<ExitCode, Error> {
    crate::flags::export_task::<SequenceFiles>(
        &args,
        |_| Ok(Vec::new()),
        sequence_network_safetensors_bytes,
    )
}
