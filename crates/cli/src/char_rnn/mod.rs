//! char-rnn: train, sample, evaluate and export character-level recurrent language models.
//!
//! `cargo run --release --example char-rnn` trains a small pattern-1 model on a built-in corpus
//! and prints generated text; `-- --help` lists the commands. The backend is chosen at build time
//! (`--features ndarray`, `--features wgpu`, …).

pub(crate) mod builtin;
pub(crate) mod cli;

use std::ops::ControlFlow;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use serde_json::json;
use unroll::backend::{Inference, Training};
use unroll::training::durable::{MAX_INPUT_BYTES, read_limited};
use unroll::training::memory::{available_bytes, check_buffer};
use unroll::training::{
    Corpus, DataSource, GenerationRequest, LanguageCheckpoint, LanguageConfig, LanguageFiles,
    LanguageReport, LanguageTask, SamplingOptions, TrainingError, export, generate, score_language,
};

use crate::console::{note, print, stream};
use crate::run::report_json;
use crate::task_run::{self, TaskStart};
use cli::{Command, EvalArgs, ExportArgs, SampleArgs, TrainArgs};
use unroll::training::language::open_loop::{additions_answered, generated_divergences};

use crate::Error;
use crate::program::Invocation;

/// The command line: every command and flag, as `--help` shows them.
pub fn command() -> clap::Command {
    crate::help::show_train_defaults(
        crate::program::definition::<Command>("char-rnn", cli::ABOUT),
        cli::train_defaults(LanguageConfig::default()),
        cli::train_defaults(cli::builtin_defaults()),
        "the built-in corpus",
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
            Command::Sample(args) => run_sample(args),
            Command::Eval(args) => run_eval(args),
            Command::Export(args) => run_export(args),
        },
    )
}

/// A data file's bytes (at most [`MAX_INPUT_BYTES`]) and what to record of it.
fn read_data(path: &Path) -> Result<(Vec<u8>, DataSource), TrainingError> {
    let bytes = read_limited(path, MAX_INPUT_BYTES)?;
    let source = DataSource::of(Some(path), &bytes);
    Ok((bytes, source))
}

/// The data to train on: the file `data_path` names (`--data`, or when `recorded` the file the
/// resumed run recorded), else the built-in corpus.
fn training_data(data_path: Option<&Path>, recorded: bool) -> Result<(Vec<u8>, DataSource), Error> {
    let (bytes, source) = match data_path {
        Some(path) => read_data(path).map_err(|e| match e {
            TrainingError::Io { path, source } if recorded => format!(
                "the run was trained on {path}, which cannot be read ({source}): name the data with --data"
            )
            .into(),
            e => Error::from(e),
        })?,
        None => {
            let bytes = builtin::corpus().into_bytes();
            let source = DataSource::of(None, &bytes);
            (bytes, source)
        }
    };
    if recorded {
        note(format!(
            "data: {} (recorded in the run)",
            data_path.map_or("the built-in corpus".into(), |p| p.display().to_string())
        ));
    }
    Ok((bytes, source))
}

/// Everything a training run needs, read and checked before the device is opened.
struct TrainingSetup {
    config: LanguageConfig,
    corpus: Corpus,
    source: DataSource,
    data_path: Option<PathBuf>,
    out: PathBuf,
    resume: Option<LanguageCheckpoint>,
}

fn run_train(args: TrainArgs) -> Result<ExitCode, Error> {
    let mut setup = training_setup(&args)?;
    let resume = setup.resume.take();
    let (config, corpus, out) = (&setup.config, &setup.corpus, &setup.out);
    let device = crate::device::open()?;
    describe(config, corpus, setup.data_path.as_deref());
    let settings = config.loop_settings();
    let source = Some(setup.source.clone());
    let task = |resume| Ok(LanguageTask::<Training>::new(config, corpus)?.resuming(resume));
    let report = task_run::train(
        (out, resume),
        &args.common,
        source,
        &settings,
        &device,
        task,
    )?;
    report_training(
        &report,
        config,
        corpus,
        setup.data_path.is_none(),
        out,
        args.common.json,
    )
}

/// Reads the settings, the corpus and the checkpoint to resume, and picks the run directory,
/// as every task does ([`TaskStart`]).
fn training_setup(args: &TrainArgs) -> Result<TrainingSetup, Error> {
    // Without a file, or under the settings a file leaves out: the built-in corpus's
    // defaults, or the defaults for a user's text.
    let mut start = TaskStart::<LanguageFiles>::read(
        &args.common,
        args.data.as_deref(),
        cli::builtin_defaults,
    )?;
    start.apply_flags(|config| args.apply(config), [])?;
    let TaskStart {
        resume,
        data_path,
        config,
    } = start;
    let (bytes, source) = training_data(
        data_path.as_deref(),
        args.data.is_none() && resume.is_some(),
    )?;
    // A resumed run reads its data with its own vocabulary (one from before the unknown symbol
    // existed included); a new one gets the unknown symbol.
    let corpus = match &resume {
        Some(checkpoint) => Corpus::encode_with(&bytes, &checkpoint.encoding)?,
        None => Corpus::with_unknown(&bytes, config.symbols, config.min_symbol_count)?,
    };
    drop(bytes);
    let memory = crate::device::ON_CPU.then(available_bytes).flatten();
    config.check_memory(corpus.vocabulary.len(), memory)?;
    let out = task_run::run_directory(resume.as_ref(), "char-rnn", &args.common)?;
    Ok(TrainingSetup {
        config,
        corpus,
        source,
        data_path,
        out,
        resume,
    })
}

/// One line saying what is about to be trained.
fn describe(config: &LanguageConfig, corpus: &Corpus, data_path: Option<&Path>) {
    note(format!(
        "corpus: {} ({} symbols, vocabulary {}); {} pattern, {} cell, hidden {}, layers {}, dropout {}, window {}, batch {}, {} iterations, {:?}, lr {}",
        data_path.map_or("built-in additions".into(), |p| p.display().to_string()),
        corpus.ids.len(),
        corpus.vocabulary.len(),
        match config.model.pattern {
            unroll::training::Pattern::Hidden => "hidden-recurrent (1)",
            unroll::training::Pattern::Output => "output-recurrent (2)",
        },
        config.model.cell.name(),
        config.model.hidden,
        config.model.layers,
        config.model.dropout,
        config.window,
        config.batch,
        config.iterations,
        config.optimizer,
        config.learning_rate,
    ));
}

/// Prints (or writes as JSON) what a finished run achieved, with a sample of the trained model.
fn report_training(
    report: &LanguageReport<Training>,
    config: &LanguageConfig,
    corpus: &Corpus,
    builtin: bool,
    out: &Path,
    json: bool,
) -> Result<ExitCode, Error> {
    let validation = report.validation;
    let done = report.iterations - report.first_iteration;
    let tokens = (config.batch * config.window) as f64 * done as f64;
    let entropy = builtin.then(builtin::entropy_per_symbol);
    let model = &report.model;
    let options = SamplingOptions {
        temperature: 0.8,
        ..SamplingOptions::default()
    };
    let request = GenerationRequest {
        prime: "",
        length: 300,
        options,
        seed: config.seed,
    };
    let sample = generate(
        model,
        &corpus.vocabulary,
        &request,
        &Default::default(),
        |_| ControlFlow::Continue(()),
    )?;
    if json {
        print(report_json(
            report,
            json!({
                "validation": validation,
                "best_validation_nats_per_symbol": report.best_validation,
                "corpus_entropy_nats_per_symbol": entropy,
                "sample": sample,
            }),
        ));
        return Ok(ExitCode::SUCCESS);
    }
    let span = if report.first_iteration > 0 {
        format!(
            "iterations {}–{} ({done} in this run)",
            report.first_iteration + 1,
            report.iterations
        )
    } else {
        format!("{} iterations", report.iterations)
    };
    print(format!(
        "trained {span} in {:.1} s ({:.0} symbols/s)",
        report.seconds,
        tokens / report.seconds.max(1e-9)
    ));
    print(format!(
        "validation loss {:.4} nats/char ({:.4} bits/char, perplexity {:.3}) over {} characters",
        validation.nats_per_symbol,
        validation.bits_per_symbol,
        validation.perplexity,
        validation.symbols
    ));
    if let Some(accuracy) = validation.open_loop_accuracy {
        print(format!(
            "open-loop accuracy (fed its own predictions): {:.1} %",
            100.0 * accuracy
        ));
    }
    if let Some(entropy) = entropy {
        print(format!(
            "the built-in corpus's true entropy is {entropy:.4} nats/char: no model can do better; this one is {:.4} above it",
            validation.nats_per_symbol - entropy
        ));
    }
    print(format!("checkpoint: {}", report.checkpoint.display()));
    print(format!(
        "metrics: {}, loss curve: {}",
        out.join("metrics.jsonl").display(),
        out.join("loss.png").display()
    ));
    print(format!("sample (temperature 0.8):\n{sample}"));
    Ok(ExitCode::SUCCESS)
}

/// Refuses a generation of `length` symbols (flag `setting`) whose text cannot fit in memory:
/// ids and text, about 8 bytes a symbol.
fn check_length(setting: &'static str, length: usize) -> Result<(), Error> {
    let text = format!("a text of {length} symbols");
    let bytes = (length as u128).saturating_mul(8);
    Ok(check_buffer(setting, &text, bytes, available_bytes())?)
}

fn run_sample(args: SampleArgs) -> Result<ExitCode, Error> {
    check_length("length", args.length)?;
    let checkpoint = LanguageCheckpoint::open(&args.from.checkpoint, args.from.which())?;
    let options = SamplingOptions {
        temperature: args.temperature,
        top_k: args.top_k,
        top_p: args.top_p,
        argmax: args.argmax,
    };
    options.validate()?;
    // The prime is checked before anything is printed.
    checkpoint.encoding.encode(&args.prime)?;
    let device = crate::device::open()?;
    let model = checkpoint.model::<Inference>(&device)?;
    let streaming = !args.json;
    if streaming && !stream(&args.prime) {
        return Ok(ExitCode::SUCCESS);
    }
    let request = GenerationRequest {
        prime: &args.prime,
        length: args.length,
        options,
        seed: args.seed,
    };
    let mut reader_left = false;
    let text = generate(&model, &checkpoint.encoding, &request, &device, |symbol| {
        if streaming && !stream(symbol) {
            // The reader went away (`| head`): what it wanted is written.
            reader_left = true;
            return ControlFlow::Break(());
        }
        ControlFlow::Continue(())
    })?;
    if reader_left {
        return Ok(ExitCode::SUCCESS);
    }
    if streaming {
        print("");
    } else {
        print(json!({ "prime": args.prime, "text": text, "checkpoint": checkpoint.path }));
    }
    Ok(ExitCode::SUCCESS)
}

fn run_eval(args: EvalArgs) -> Result<ExitCode, Error> {
    check_length("generate", args.generate)?;
    let checkpoint = LanguageCheckpoint::open(&args.from.checkpoint, args.from.which())?;
    let recorded = checkpoint.progress.data.as_ref();
    let from_run = args.data.is_none() && recorded.is_some();
    let data_path = args
        .data
        .clone()
        .or_else(|| recorded.and_then(|d| d.path.clone()));
    let (bytes, source) = training_data(data_path.as_deref(), from_run)?;
    task_run::note_changed_data(recorded, Some(&source));
    let shown = source
        .path
        .as_deref()
        .map_or("the built-in corpus".into(), |p| p.display().to_string());
    let corpus = Corpus::encode_with(&bytes, &checkpoint.encoding).map_err(|e| match e {
        TrainingError::InvalidUtf8 { offset } => format!(
            "{shown} is not valid UTF-8 (first bad byte at offset {offset}), and this checkpoint's model reads UTF-8 text"
        )
        .into(),
        TrainingError::UnknownSymbol { symbol } => {
            format!("{shown}: symbol {symbol:?} is not in the checkpoint's vocabulary").into()
        }
        e => Error::from(e),
    })?;
    let device = crate::device::open()?;
    let model = checkpoint.model::<Inference>(&device)?;
    let (_, validation) = corpus.split(checkpoint.config.validation_fraction, 2)?;
    let unknown = checkpoint
        .encoding
        .unknown_id()
        .map_or(0, |id| validation.iter().filter(|&&v| v == id).count());
    let evaluation = score_language(&model, validation, checkpoint.config.window, &device)?;
    if !evaluation.nats_per_symbol.is_finite() {
        return Err(format!(
            "the loss on {shown} is {}: the model's predictions are not finite",
            evaluation.nats_per_symbol
        )
        .into());
    }
    let open_loop = if args.open_loop {
        let text = checkpoint.encoding.decode(validation);
        let additions =
            additions_answered(&model, &checkpoint.encoding, &text, args.prompts, &device)?;
        let divergence = generated_divergences(
            &model,
            &checkpoint.encoding,
            &text,
            args.generate,
            args.seed,
            &device,
        )?;
        Some((additions, divergence))
    } else {
        None
    };
    if args.json {
        let mut object =
            json!({ "checkpoint": checkpoint.path, "data": source.path, "evaluation": evaluation });
        if checkpoint.encoding.unknown_id().is_some() {
            object["unknown_symbols"] = json!(unknown);
        }
        if let Some((additions, divergence)) = &open_loop {
            object["open_loop"] = json!({
                "additions": additions,
                "generated_characters": args.generate,
                "js_divergence_bits": { "1": divergence[0], "2": divergence[1], "3": divergence[2], "4": divergence[3] },
            });
        }
        print(object);
        return Ok(ExitCode::SUCCESS);
    }
    let unknown = if unknown > 0 {
        format!(
            "; {unknown} of them rare or unseen in training, read and scored as the unknown symbol"
        )
    } else {
        String::new()
    };
    print(format!(
        "{shown}: {:.4} nats/char, {:.4} bits/char, perplexity {:.3}, {} characters scored (the last {} % of the file){unknown}",
        evaluation.nats_per_symbol,
        evaluation.bits_per_symbol,
        evaluation.perplexity,
        evaluation.symbols,
        100.0 * checkpoint.config.validation_fraction
    ));
    if let Some(accuracy) = evaluation.open_loop_accuracy {
        print(format!("open-loop accuracy: {:.1} %", 100.0 * accuracy));
    }
    if let Some((additions, divergence)) = open_loop {
        if let Some(additions) = additions {
            print(format!(
                "open loop: {:.1} % of {} addition prompts answered exactly (greedy, after the true prompt a+b=)",
                100.0 * additions.exact,
                additions.prompts
            ));
        }
        let shown: Vec<String> = divergence
            .iter()
            .enumerate()
            .map(|(k, d)| {
                d.map_or(format!("{}-grams: -", k + 1), |d| {
                    format!("{}-grams {d:.4}", k + 1)
                })
            })
            .collect();
        print(format!(
            "open loop: Jensen–Shannon divergence (bits) between {} generated characters and the split: {}",
            args.generate,
            shown.join(", ")
        ));
    }
    Ok(ExitCode::SUCCESS)
}

fn run_export(args: ExportArgs) -> Result<ExitCode, Error> {
    args.check_output()?;
    let checkpoint = LanguageCheckpoint::open(&args.from.checkpoint, args.from.which())?;
    let model = checkpoint.model::<Inference>(&crate::device::open()?)?;
    export(
        &model,
        &checkpoint.encoding,
        &checkpoint.config,
        args.format,
        &args.out,
    )?;
    print(format!("wrote {}", args.out.display()));
    Ok(ExitCode::SUCCESS)
}
