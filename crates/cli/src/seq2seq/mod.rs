//! seq2seq: train, evaluate and translate with encoder–decoders (sequence to sequence: pattern
//! 3's summary of a source starts pattern 1, which writes the target), teacher forced and open
//! loop.
//!
//! `cargo run --release --example seq2seq` trains the built-in task with teacher forcing and
//! with scheduled sampling and shows their scores side by side; `-- --help` lists the commands.

mod cli;
pub(crate) mod study;

use std::io::BufReader;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use serde_json::json;
use unroll::backend::Inference;
use unroll::model::EncoderDecoder;
use unroll::training::DataSource;
use unroll::training::SamplingOptions;
use unroll::training::StrategyKind;
use unroll::training::durable::{MAX_INPUT_BYTES, read_limited};
use unroll::training::export::{encoder_decoder_safetensors_bytes, vocabulary_json};
use unroll::training::memory::available_bytes;
use unroll::training::plot::{Line, plot_lines};
use unroll::training::seq2seq::{
    BuiltinPairs, EncodedPairs, LengthScores, Pair, PairEncoding, Seq2SeqCheckpoint, Seq2SeqConfig,
    Seq2SeqFiles, Seq2SeqScores, Seq2SeqTask, beam_search, greedy, read_pairs, sample,
    score_and_write, split_pairs,
};
use unroll::training::validation::Validation;

use crate::console::{note, print};
use crate::lines::BoundedLines;
use crate::run::task_report_json;
use crate::task_run::{self, TaskStart, run_directory};
use cli::{Command, EvalArgs, ExportArgs, GenerateArgs, TrainArgs, TranslateArgs};

use crate::Error;
use crate::program::Invocation;

/// The command line: every command and flag, as `--help` shows them.
pub fn command() -> clap::Command {
    crate::help::show_train_defaults(
        crate::program::definition::<Command>("seq2seq", cli::ABOUT),
        cli::train_defaults(Seq2SeqConfig::default()),
        cli::train_defaults(builtin_defaults()),
        "the built-in task",
    )
}

/// The program: parses the command line and runs the command.
pub fn main() -> ExitCode {
    crate::console::main(
        command(),
        |invocation: Invocation<Command>| match invocation.command {
            None => demonstration(),
            Some(Command::Train(args)) => run_train(*args).map(|_| ExitCode::SUCCESS),
            Some(Command::Eval(args)) => run_eval(args),
            Some(Command::Translate(args)) => run_translate(args),
            Some(Command::Export(args)) => run_export(args),
            Some(Command::Generate(args)) => run_generate(args),
            Some(Command::Study(args)) => study::run(args),
        },
    )
}

/// Settings for a built-in task: about half a minute of training on 2 cores.
fn builtin_defaults() -> Seq2SeqConfig {
    Seq2SeqConfig {
        iterations: 1500,
        eval_every: 500,
        log_every: 50,
        learning_rate: 5e-3,
        max_target_length: 20,
        ..Seq2SeqConfig::default()
    }
    .with_hidden(64)
}

/// Reads a file of pairs once, and what to record of it.
fn read_data(path: &Path) -> Result<(Vec<Pair>, DataSource), Error> {
    let bytes = read_limited(path, MAX_INPUT_BYTES)?;
    Ok((
        read_pairs(path, &bytes)?,
        DataSource::of(Some(path), &bytes),
    ))
}

/// Refuses a pair whose target is longer than `most` characters, naming its file and line.
fn check_targets(pairs: &[Pair], path: Option<&Path>, most: usize) -> Result<(), Error> {
    for pair in pairs {
        let length = pair.target.chars().count();
        if length > most {
            let place = match (path, pair.line) {
                (Some(path), Some(line)) => format!("{}:{line}: ", path.display()),
                _ => String::new(),
            };
            return Err(format!(
                "{place}the target has {length} characters, more than --max-target-length {most}"
            )
            .into());
        }
    }
    Ok(())
}

/// Everything a training run needs, read and checked before the device is opened.
struct Setup {
    config: Seq2SeqConfig,
    encoding: PairEncoding,
    train: EncodedPairs,
    validation: EncodedPairs,
    source: Option<DataSource>,
    data_path: Option<PathBuf>,
    resume: Option<Seq2SeqCheckpoint>,
}

fn setup(args: &TrainArgs) -> Result<Setup, Error> {
    let mut start =
        TaskStart::<Seq2SeqFiles>::read(&args.common, args.data.as_deref(), builtin_defaults)?;
    let builtin = start.data_path.is_none();
    start.apply_flags(|config| args.apply(config, builtin), [])?;
    let TaskStart {
        resume,
        data_path,
        mut config,
    } = start;
    let (pairs, source) = match &data_path {
        Some(path) => {
            let (pairs, source) = read_data(path)?;
            (pairs, Some(source))
        }
        None => {
            let builtin = config
                .builtin
                .expect("a run without a file has a built-in task");
            builtin.check_memory(available_bytes())?;
            (builtin.pairs(config.seed)?, None)
        }
    };
    if let Some(val) = &args.val {
        config.validation_file = Some(std::path::absolute(val)?);
    }
    check_targets(&pairs, data_path.as_deref(), config.max_target_length)?;
    let (train, validation) = match &config.validation_file {
        Some(val) => {
            let (validation, _) = read_data(val)?;
            check_targets(&validation, Some(val), config.max_target_length)?;
            (pairs, validation)
        }
        None => split_pairs(pairs, config.validation_fraction, config.seed)?,
    };
    let encoding = match &resume {
        Some(checkpoint) => checkpoint.encoding.clone(),
        None => PairEncoding::fit(&train, config.min_symbol_count),
    };
    Ok(Setup {
        train: encoding.encode(&train)?,
        validation: encoding.encode(&validation)?,
        encoding,
        config,
        source,
        data_path,
        resume,
    })
}

/// Trains as `args` ask and gives the run's validation scores (a run stopped by a signal ends in
/// [`Unfinished`](crate::console::Unfinished)).
fn run_train(args: TrainArgs) -> Result<Seq2SeqScores, Error> {
    let setup = setup(&args)?;
    let out = run_directory(setup.resume.as_ref(), "seq2seq", &args.common)?;
    let longest = |pairs: &EncodedPairs, of: fn(&EncodedPairs) -> &Vec<Vec<u32>>| {
        of(pairs).iter().map(Vec::len).max().unwrap_or(1)
    };
    let longest = [
        longest(&setup.train, |p| &p.sources).max(longest(&setup.validation, |p| &p.sources)),
        setup.config.max_target_length + 1,
    ];
    let available = crate::device::ON_CPU.then(available_bytes).flatten();
    setup
        .config
        .check_memory(&setup.encoding, longest, available)?;
    let device = crate::device::open()?;
    describe(&setup);
    let settings = setup.config.loop_settings();
    let examples = setup
        .validation
        .select(&(0..setup.validation.len().min(5)).collect::<Vec<_>>());
    let (config, encoding) = (setup.config.clone(), setup.encoding.clone());
    let (train, validation) = (setup.train, setup.validation);
    let run = (out.as_path(), setup.resume);
    let report = task_run::train(
        run,
        &args.common,
        setup.source.clone(),
        &settings,
        &device,
        |resume| Ok(Seq2SeqTask::new(config, encoding, train, validation)?.resuming(resume)),
    )?;
    let written = greedy(
        &report.model,
        &setup.encoding,
        &examples.sources,
        setup.config.max_target_length,
        setup.config.batch,
        &device,
    )?;
    let shown: Vec<serde_json::Value> = (0..examples.len())
        .map(|i| {
            json!({
                "source": setup.encoding.source.decode(&examples.sources[i]),
                "target": setup.encoding.decode_target(&examples.targets[i]),
                "written": setup.encoding.decode_target(&written[i]),
            })
        })
        .collect();
    if args.common.json {
        print(task_report_json(&report, json!({ "examples": shown })));
        return Ok(report.validation);
    }
    let rate = report.metrics.last().map(|m| m.items_per_second);
    print(format!(
        "trained {} iterations in {:.1} s ({:.0} {}/s at the end)",
        report.iterations - report.first_iteration,
        report.seconds,
        rate.unwrap_or(0.0),
        <Seq2SeqScores as Validation>::ITEMS,
    ));
    print(format!("validation: {}", report.validation.summary()));
    for example in &shown {
        print(format!(
            "  {} → {} (target {})",
            example["source"].as_str().unwrap_or(""),
            example["written"].as_str().unwrap_or(""),
            example["target"].as_str().unwrap_or("")
        ));
    }
    print(format!("checkpoint: {}", report.checkpoint.display()));
    Ok(report.validation)
}

/// One line saying what is about to be trained.
fn describe(setup: &Setup) {
    let what = match (&setup.data_path, &setup.config.builtin) {
        (Some(path), _) => path.display().to_string(),
        (None, Some(builtin)) => format!(
            "built-in task {}, sources up to {} characters",
            crate::flags::flag_value(&builtin.task),
            builtin.max_length
        ),
        (None, None) => "no data".into(),
    };
    let model = &setup.config.model;
    note(format!(
        "pairs: {what} ({} to train, {} to validate); vocabularies {} and {}; {} cell, hidden {}, layers {}{}, {}, batch {}, {} iterations",
        setup.train.len(),
        setup.validation.len(),
        setup.encoding.source_symbols(),
        setup.encoding.target_symbols(),
        model.cell.name(),
        model.hidden,
        model.layers,
        if model.bidirectional {
            " (the encoder both ways, half the units each)"
        } else {
            ""
        },
        setup.config.strategy.name(),
        setup.config.batch,
        setup.config.iterations,
    ));
}

/// The pairs `eval` scores: `--data`, else the run's own validation pairs (its validation
/// file, or its data split again as training split it).
fn eval_pairs(args: &EvalArgs, checkpoint: &Seq2SeqCheckpoint) -> Result<Vec<Pair>, Error> {
    let config = &checkpoint.config;
    if let Some(path) = &args.data {
        return Ok(read_data(path)?.0);
    }
    if let Some(val) = &config.validation_file {
        return Ok(read_data(val)?.0);
    }
    let all = match (&checkpoint.progress.data, &config.builtin) {
        (
            Some(DataSource {
                path: Some(path), ..
            }),
            _,
        ) => read_data(path)?.0,
        (_, Some(builtin)) => {
            builtin.check_memory(available_bytes())?;
            builtin.pairs(config.seed)?
        }
        _ => return Err("the run's data is not known: name the pairs with --data".into()),
    };
    Ok(split_pairs(all, config.validation_fraction, config.seed)?.1)
}

fn run_eval(args: EvalArgs) -> Result<ExitCode, Error> {
    args.figure.check(&args.from.checkpoint)?;
    let checkpoint = Seq2SeqCheckpoint::open(&args.from.checkpoint, args.from.which())?;
    let pairs = eval_pairs(&args, &checkpoint)?;
    let encoding = &checkpoint.encoding;
    let config = &checkpoint.config;
    check_targets(&pairs, args.data.as_deref(), config.max_target_length)?;
    let encoded = encoding.encode(&pairs)?;
    let device = crate::device::open()?;
    let model: EncoderDecoder<Inference> = checkpoint.model(&device)?;
    // Every pair decoded once: the overall scores and those by target length.
    let (scores, outcomes) = score_and_write(
        &model,
        encoding,
        &encoded,
        (config.batch, encoded.len()),
        config.max_target_length,
        &device,
    )?;
    let lengths = outcomes.by_length(&encoded.targets);
    let unknown = encoded.unknown;
    print_eval(&scores, &lengths, &checkpoint, unknown, args.json)?;
    // Drawn last: a picture that cannot be written loses no score.
    if let Some(path) = &args.figure.plot {
        let line = |name: &str, value: fn(&LengthScores) -> f64| Line {
            name: name.into(),
            points: (lengths.iter())
                .map(|row| (row.target_length as f64, value(row)))
                .collect(),
            band: Vec::new(),
        };
        plot_lines(
            &[
                line("exact match", |r| r.exact_match),
                line("symbol errors, teacher forced", |r| {
                    r.teacher_forced_symbol_error_rate
                }),
                line("character error rate, open loop", |r| {
                    r.character_error_rate
                }),
            ],
            "by target length (open loop: greedy)",
            ["target length", "share"],
            path,
        )?;
    }
    Ok(ExitCode::SUCCESS)
}

/// Prints what `eval` scored: as one JSON object, or as lines and a table by target length.
fn print_eval(
    scores: &Seq2SeqScores,
    lengths: &[LengthScores],
    checkpoint: &Seq2SeqCheckpoint,
    unknown: [usize; 2],
    json: bool,
) -> Result<(), Error> {
    if json {
        let mut value = serde_json::to_value(scores)?;
        value["checkpoint"] = json!(checkpoint.path);
        value["by_target_length"] = json!(lengths);
        value["unknown_symbols"] = json!({ "sources": unknown[0], "targets": unknown[1] });
        print(value);
        return Ok(());
    }
    print(format!("{} pairs: {}", scores.pairs, scores.summary()));
    // Exact match is one figure: greedy decoding writes a target exactly when, fed the truth,
    // each of its symbols is the most probable.
    print("target length  pairs    exact  symbol errors, teacher forced  CER, open loop");
    for row in lengths {
        print(format!(
            "{:>13}  {:>5}  {:>5.1} %  {:>29.3}  {:>14.3}",
            row.target_length,
            row.pairs,
            100.0 * row.exact_match,
            row.teacher_forced_symbol_error_rate,
            row.character_error_rate,
        ));
    }
    if unknown != [0, 0] {
        note(format!(
            "note: characters unknown to the model, read as the unknown symbol: {} in the sources, {} in the targets",
            unknown[0], unknown[1]
        ));
    }
    Ok(())
}

fn run_translate(args: TranslateArgs) -> Result<ExitCode, Error> {
    if args.beam == 0 {
        return Err("invalid setting `beam`: at least 1 hypothesis".into());
    }
    let checkpoint = Seq2SeqCheckpoint::open(&args.from.checkpoint, args.from.which())?;
    let device = crate::device::open()?;
    let model: EncoderDecoder<Inference> = checkpoint.model(&device)?;
    let encoding = &checkpoint.encoding;
    let most = checkpoint.config.max_target_length;
    let (lines, source): (Box<dyn Iterator<Item = _>>, String) = match &args.input {
        Some(file) => {
            let opened =
                std::fs::File::open(file).map_err(|e| format!("{}: {e}", file.display()))?;
            let name = file.display().to_string();
            (
                Box::new(BoundedLines::new(BufReader::new(opened), name.clone())),
                name,
            )
        }
        None => (
            Box::new(BoundedLines::new(std::io::stdin().lock(), "stdin")),
            "stdin".into(),
        ),
    };
    let sampling = args.sample.then_some(SamplingOptions {
        temperature: args.temperature,
        top_k: args.top_k,
        top_p: args.top_p,
        argmax: false,
    });
    if let Some(options) = &sampling {
        options.validate()?;
    }
    let mut rng = ChaCha8Rng::seed_from_u64(args.seed);
    let mut unknown = 0;
    for line in lines {
        let (number, bytes) = line?;
        let text =
            String::from_utf8(bytes).map_err(|_| format!("{source}:{number}: not valid UTF-8"))?;
        let text = text.strip_suffix('\r').unwrap_or(&text);
        if text.is_empty() {
            return Err(format!("{source}:{number}: the source is empty").into());
        }
        let (ids, unseen) = encoding.encode_sources([text])?;
        unknown += unseen;
        let found = match &sampling {
            Some(options) => sample(
                &model,
                encoding,
                &ids[0],
                (options, most),
                &mut rng,
                &device,
            )?,
            None => beam_search(&model, encoding, &ids[0], args.beam, most, &device)?,
        };
        let target = encoding.decode_target(&found.ids);
        let said = if args.json {
            print(json!({
                "line": number,
                "source": text,
                "target": target,
                "log_probability": found.log_probability,
                "score": found.score,
                "unknown_symbols": unseen,
            }))
        } else {
            print(&target)
        };
        if !said {
            break;
        }
    }
    if unknown > 0 {
        note(format!(
            "note: {unknown} character(s) unknown to the model, read as the unknown symbol"
        ));
    }
    Ok(ExitCode::SUCCESS)
}

fn run_generate(args: GenerateArgs) -> Result<ExitCode, Error> {
    let builtin = BuiltinPairs {
        task: args.task,
        count: args.pairs,
        max_length: args.max_length,
    };
    builtin.validate()?;
    builtin.check_memory(available_bytes())?;
    for pair in builtin.pairs(args.seed)? {
        if !print(format!("{}\t{}", pair.source, pair.target)) {
            break;
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn run_export(args: ExportArgs) -> Result<ExitCode, Error> {
    crate::flags::export_task::<Seq2SeqFiles>(
        &args,
        |checkpoint| {
            let encoding = &checkpoint.encoding;
            Ok(vec![
                ("source_vocab", vocabulary_json(&encoding.source)),
                ("target_vocab", vocabulary_json(&encoding.target)),
                ("end", encoding.end().to_string()),
                ("start", encoding.start().to_string()),
            ])
        },
        encoder_decoder_safetensors_bytes,
    )
}

/// With no command: the built-in task trained with teacher forcing and with scheduled
/// sampling (inverse sigmoid, k = 150), their teacher-forced and open-loop scores side by side.
fn demonstration() -> Result<ExitCode, Error> {
    let mut rows = Vec::new();
    for (name, sampled) in [("teacher forcing", false), ("scheduled sampling", true)] {
        note(format!("== {name}"));
        let mut args = TrainArgs::default();
        if sampled {
            args.feeding.strategy = Some(StrategyKind::ScheduledSampling);
            args.feeding.k = Some(150.0);
        }
        rows.push((name, run_train(args)?));
    }
    print("strategy             nats/symbol  symbols right  open loop: exact     CER");
    for (name, s) in &rows {
        print(format!(
            "{name:<20} {:>11.4}  {:>11.1} %  {:>14.1} %  {:.3}",
            s.nats_per_symbol,
            100.0 * s.symbol_accuracy,
            100.0 * s.exact_match.unwrap_or(0.0),
            s.character_error_rate.unwrap_or(0.0)
        ));
    }
    Ok(ExitCode::SUCCESS)
}
