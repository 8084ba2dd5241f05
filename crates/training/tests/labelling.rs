//! Per-step labelling (pattern 1 over the whole input): a label for every character, trained on
//! the shared loop. The loss counts real steps only, checked by hand; a label that depends on
//! the next character is learnt reading both ways and not reading one way.

mod common;

use std::path::{Path, PathBuf};

use burn::module::AutodiffModule;
use common::{Scratch, place, train_silently, turn};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use unroll_training::SymbolMode;
use unroll_training::buckets::BucketedBatches;
use unroll_training::sequence::encoding::Targets;
use unroll_training::sequence::task::probabilities;
use unroll_training::sequence::{
    Encoding, SequenceConfig, SequenceScores, SequenceTask, per_step_labels, predict,
    read_labelled_lines, stratified_split,
};

type Nd = burn::backend::Autodiff<burn::backend::NdArray>;

/// Lines of `a` and `b`, 3–20 long, each character labelled by the next: `s` when it is the
/// same, `d` when it differs, `e` on the last. Reading forward, the next character is a coin
/// toss; reading both ways, it is in view.
fn next_character_file(dir: &Path, count: usize) -> PathBuf {
    let mut random = ChaCha8Rng::seed_from_u64(5);
    let mut text = String::new();
    for _ in 0..count {
        let length = random.random_range(3..=20usize);
        let line: Vec<char> = (0..length)
            .map(|_| if random.random_bool(0.5) { 'a' } else { 'b' })
            .collect();
        let labels = unroll_test_support::labels_of_the_next(&line);
        text += &format!("{labels}\t{}\n", line.into_iter().collect::<String>());
    }
    let path = dir.join("next.tsv");
    std::fs::write(&path, text).unwrap();
    path
}

fn config(iterations: u64, bidirectional: bool) -> SequenceConfig {
    let mut config = SequenceConfig {
        batch: 16,
        iterations,
        eval_every: iterations,
        log_every: 10,
        learning_rate: 1e-2,
        per_step: true,
        seed: 3,
        ..SequenceConfig::default()
    }
    .with_hidden(16);
    config.model.bidirectional = bidirectional;
    config
}

fn task(path: &Path, config: SequenceConfig) -> SequenceTask {
    let examples = per_step_labels(read_labelled_lines(path, SymbolMode::Text).unwrap()).unwrap();
    let (train, validation) =
        stratified_split(examples, config.validation_fraction, config.seed).unwrap();
    let encoding = Encoding::fit(&train, config.symbols, config.min_symbol_count).unwrap();
    assert!(encoding.per_step());
    let train = encoding.encode(&train).unwrap();
    let validation = encoding.encode(&validation).unwrap();
    SequenceTask::new(config, encoding, train, validation).unwrap()
}

/// The training loss is the mean cross-entropy over the batch's real steps, every one of them
/// and nothing of the padding, as computed here from the network's per-step outputs.
#[test]
fn the_loss_is_the_mean_over_real_steps() {
    let _turn = turn();
    let scratch = Scratch::new("labelling-loss");
    let data = next_character_file(scratch.path(), 100);
    let device = Default::default();
    for bidirectional in [false, true] {
        let config = config(1, bidirectional);
        let mut task = task(&data, config.clone());
        let (model, loss) = common::first_loss(&mut task);

        let examples =
            per_step_labels(read_labelled_lines(&data, SymbolMode::Text).unwrap()).unwrap();
        let (train, _) = stratified_split(examples, 0.1, config.seed).unwrap();
        let samples = task.encoding().encode(&train).unwrap();
        let mut batches = BucketedBatches::new(samples.lengths(), config.batch, config.seed);
        let indices = batches.batch(0);
        let Targets::Steps(labels) = &samples.targets else {
            panic!("labels per step")
        };
        let lengths: Vec<usize> = indices.iter().map(|&i| labels[i].len()).collect();
        assert_ne!(
            lengths.iter().min(),
            lengths.iter().max(),
            "the batch is padded"
        );
        let outputs = predict(
            &model.valid(),
            task.encoding(),
            &samples.inputs,
            64,
            &device,
        )
        .unwrap();
        let (mut total, mut steps) = (0.0, 0);
        for &i in &indices {
            assert_eq!(outputs[i].len(), 3 * labels[i].len(), "3 labels a step");
            for (step, &label) in outputs[i].chunks(3).zip(&labels[i]) {
                total -= probabilities(step)[label].ln();
                steps += 1;
            }
        }
        let by_hand = total / steps as f64;
        assert!(
            (loss - by_hand).abs() < 1e-5,
            "both ways {bidirectional}: {loss} vs {by_hand}"
        );
    }
}

/// Both ways the label of the next character is learnt; one way it cannot be, past the
/// characters whose label is `e`... which one way cannot tell from the others either.
#[test]
fn a_label_of_the_next_character_is_learnt_reading_both_ways() {
    let _turn = turn();
    let scratch = Scratch::new("labelling-learns");
    let data = next_character_file(scratch.path(), 400);
    let mut accuracies = Vec::new();
    for bidirectional in [false, true] {
        let config = config(600, bidirectional);
        let mut task = task(&data, config.clone());
        let out = scratch.path().join(format!("run-{bidirectional}"));
        let report =
            train_silently::<Nd, _>(&mut task, &config.loop_settings(), &place(&out, None))
                .unwrap();
        let SequenceScores::Labelling(scores) = &report.validation else {
            panic!("a labeller's scores")
        };
        assert_eq!(scores.steps.classes.len(), 3);
        accuracies.push((scores.steps.accuracy, scores.sequence_accuracy));
    }
    let (one_way, both_ways) = (accuracies[0], accuracies[1]);
    assert!(
        both_ways.0 > 0.97 && both_ways.1 > 0.7,
        "both ways, the next character is in view: {both_ways:?}"
    );
    assert!(
        one_way.0 < 0.7,
        "one way, the next character is a coin toss: {one_way:?}"
    );
}
