//! Pattern 3 trained on a user's files end to end: a text classifier from a TSV file and a
//! regressor from a CSV file, on the shared loop, with exact resume and class weights.

mod common;

use std::path::{Path, PathBuf};

use common::{Scratch, assert_files, place, test_on_cpu_backends, train_silently, turn};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use unroll_training::buckets::BucketedBatches;
use unroll_training::sequence::task::probabilities;
use unroll_training::sequence::{
    ClassWeights, Encoding, SequenceCheckpoint, SequenceConfig, SequenceScores, SequenceTask,
    TargetKind, predict, read_labelled_lines, read_numeric_csv, score, stratified_split,
};
use unroll_training::{SymbolMode, Task, TrainingBackend, Which};

/// Lines of `a` and `b` of lengths 3–30; the label says which letter is in the majority (the
/// recurrence must count over the whole line, whatever its length). `rare` of every 10 are `b`
/// lines when asked for imbalance.
fn majority_file(dir: &Path, count: usize, b_per_10: usize) -> PathBuf {
    let mut random = ChaCha8Rng::seed_from_u64(11);
    let mut text = String::new();
    for i in 0..count {
        let length = random.random_range(3..=30usize) | 1;
        let b_wins = i % 10 < b_per_10;
        let b_count = if b_wins {
            random.random_range(length / 2 + 1..=length)
        } else {
            random.random_range(0..=length / 2)
        };
        let mut line: Vec<char> = (0..length)
            .map(|k| if k < b_count { 'b' } else { 'a' })
            .collect();
        for k in (1..line.len()).rev() {
            line.swap(k, random.random_range(0..=k));
        }
        let label = if b_wins { "more-b" } else { "more-a" };
        text += &format!("{label}\t{}\n", line.into_iter().collect::<String>());
    }
    let path = dir.join("majority.tsv");
    std::fs::write(&path, text).unwrap();
    path
}

fn config(iterations: u64) -> SequenceConfig {
    SequenceConfig {
        batch: 16,
        iterations,
        eval_every: 20,
        log_every: 5,
        learning_rate: 1e-2,
        seed: 4,
        ..SequenceConfig::default()
    }
    .with_hidden(16)
}

fn task(path: &Path, config: SequenceConfig) -> SequenceTask {
    let examples = read_labelled_lines(path, SymbolMode::Text).unwrap();
    let (train, validation) =
        stratified_split(examples, config.validation_fraction, config.seed).unwrap();
    let encoding = Encoding::fit(&train, config.symbols, config.min_symbol_count).unwrap();
    let train = encoding.encode(&train).unwrap();
    let validation = encoding.encode(&validation).unwrap();
    SequenceTask::new(config, encoding, train, validation).unwrap()
}

test_on_cpu_backends!(classifier_learns_and_resumes:
    a_text_classifier_learns_from_a_tsv_file_and_resumes_exactly,
    a_text_classifier_learns_and_resumes_exactly_on_flex
);

fn classifier_learns_and_resumes<B: TrainingBackend>(dir: &Path) {
    let data = majority_file(dir, 600, 5);
    let device = Default::default();
    let settings = config(200).loop_settings();
    let mut whole = task(&data, config(200));
    let out = dir.join("whole");
    let report = train_silently::<B, _>(&mut whole, &settings, &place(&out, None)).unwrap();
    let SequenceScores::Classification(scores) = &report.validation else {
        panic!("a classifier's scores")
    };
    assert!(
        scores.accuracy > 0.9,
        "which letter is in the majority is learnable: {scores:?}"
    );
    assert!(scores.majority_accuracy < 0.6, "chance is about one half");
    assert_eq!(scores.classes.len(), 2);
    assert_files(
        &out,
        "last/encoding.json best/model.bpk metrics.jsonl loss.png",
    );

    // Stopped at 100 and resumed to 200: the same run, to the last digit.
    let halves = dir.join("halves");
    let mut first = task(&data, config(100));
    train_silently::<B, _>(
        &mut first,
        &config(100).loop_settings(),
        &place(&halves, None),
    )
    .unwrap();
    let checkpoint = SequenceCheckpoint::open(&halves, Which::Last).unwrap();
    assert_eq!(checkpoint.progress.iteration, 100);
    let mut second = task(&data, config(200)).resuming(Some(checkpoint));
    let resumed = train_silently::<B, _>(
        &mut second,
        &settings,
        &place(&halves, Some(halves.join("last"))),
    )
    .unwrap();
    assert_eq!(resumed.final_loss, report.final_loss);
    assert_eq!(resumed.validation, report.validation);

    // The checkpoint alone reproduces the scores: the model and the encoding it saved.
    let best = SequenceCheckpoint::open(&out, Which::Last).unwrap();
    let model = best.model::<B::InnerBackend>(&device).unwrap();
    let examples = read_labelled_lines(&data, SymbolMode::Text).unwrap();
    let (_, validation) = stratified_split(examples, 0.1, 4).unwrap();
    let samples = best.encoding.encode(&validation).unwrap();
    // In batches as validation ran them: a row's rounding may depend on its neighbours in the
    // products.
    let outputs = predict(&model, &best.encoding, &samples.inputs, 16, &device).unwrap();
    assert_eq!(score(&best.encoding, &samples, &outputs), report.validation);

    // A checkpoint of another task's data is refused on resume.
    let other = dir.join("other.tsv");
    std::fs::write(
        &other,
        "x\tcd\ny\tdc\nx\tcc\ny\tdd\nx\tc\ny\td\nx\tcdc\ny\tdcd\n",
    )
    .unwrap();
    let mut mismatched = task(&other, config(200))
        .resuming(Some(SequenceCheckpoint::open(&out, Which::Last).unwrap()));
    let error = Task::<B>::resume(&mut mismatched, &device).err().unwrap();
    assert!(
        error.to_string().contains("other symbols or labels"),
        "{error}"
    );
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn balanced_class_weights_are_the_weighted_mean_of_the_losses() {
    let _turn = turn();
    let scratch = Scratch::new("sequence-weights");
    let dir = scratch.path();
    let data = majority_file(dir, 200, 2);
    let device = Default::default();
    let mut config = config(1);
    config.class_weights = ClassWeights::Balanced;
    let mut task = task(&data, config.clone());
    let (model, loss) = common::first_loss(&mut task);

    // By hand: the same batch, each sample's cross-entropy weighted by n / (K · n_k).
    let examples = read_labelled_lines(&data, SymbolMode::Text).unwrap();
    let (train, _) = stratified_split(examples, 0.1, config.seed).unwrap();
    let samples = task.encoding().encode(&train).unwrap();
    let mut batches = BucketedBatches::new(samples.lengths(), config.batch, config.seed);
    let indices = batches.batch(0);
    let unroll_training::sequence::encoding::TargetEncoding::Classes { counts, .. } =
        &task.encoding().targets
    else {
        panic!("classes")
    };
    let unroll_training::sequence::encoding::Targets::Classes(classes) = &samples.targets else {
        panic!("classes")
    };
    let total: usize = counts.iter().sum();
    let outputs = predict(
        &burn::module::AutodiffModule::valid(&model),
        task.encoding(),
        &samples.inputs,
        64,
        &device,
    )
    .unwrap();
    let (mut weighted, mut weights) = (0.0, 0.0);
    for &i in &indices {
        let weight = total as f64 / (counts.len() * counts[classes[i]]) as f64;
        weighted += weight * -probabilities(&outputs[i])[classes[i]].ln();
        weights += weight;
    }
    assert!(counts[0] > 3 * counts[1], "imbalanced: {counts:?}");
    assert!(
        (loss - weighted / weights).abs() < 1e-5,
        "{loss} vs {}",
        weighted / weights
    );
}

test_on_cpu_backends!(regressor_learns:
    a_regressor_learns_from_a_csv_file_and_beats_the_mean,
    a_regressor_learns_from_a_csv_file_on_flex
);

fn regressor_learns<B: TrainingBackend>(dir: &Path) {
    // The target is the sum of a variable number of values: the mean knows nothing of it.
    let mut random = ChaCha8Rng::seed_from_u64(5);
    let mut text = String::from("target,values\n");
    for _ in 0..500 {
        let length = random.random_range(2..=12);
        let values: Vec<f32> = (0..length)
            .map(|_| random.random_range(-1.0..1.0))
            .collect();
        let sum: f32 = values.iter().sum();
        let row: Vec<String> = values.iter().map(|v| format!("{v:.4}")).collect();
        text += &format!("{sum:.4},{}\n", row.join(","));
    }
    let data = dir.join("sums.csv");
    std::fs::write(&data, text).unwrap();
    let examples = read_numeric_csv(&data, TargetKind::Value).unwrap();
    let mut config = config(300);
    config.eval_every = 100;
    let (train, validation) = stratified_split(examples, 0.1, config.seed).unwrap();
    let encoding = Encoding::fit(&train, config.symbols, config.min_symbol_count).unwrap();
    let (train, validation) = (
        encoding.encode(&train).unwrap(),
        encoding.encode(&validation).unwrap(),
    );
    let mut task = SequenceTask::new(config.clone(), encoding, train, validation).unwrap();
    let report = train_silently::<B, _>(
        &mut task,
        &config.loop_settings(),
        &place(&dir.join("run"), None),
    )
    .unwrap();
    let SequenceScores::Regression(scores) = &report.validation else {
        panic!("a regressor's scores")
    };
    assert!(scores.r2 > 0.8, "a sum is learnable: {scores:?}");
    assert!(scores.mse < 0.2 * scores.baseline_mse, "{scores:?}");
    let saved = SequenceCheckpoint::open(&dir.join("run"), Which::Best).unwrap();
    assert!(matches!(
        saved.encoding.targets,
        unroll_training::sequence::encoding::TargetEncoding::Standardized { .. }
    ));
    std::fs::remove_dir_all(dir).unwrap();
}
