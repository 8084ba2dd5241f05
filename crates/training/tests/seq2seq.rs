//! Sequence to sequence on the shared loop: a built-in task learnt open loop, every strategy
//! trained, a stopped run resumed to the last digit, the checkpoint alone reproducing the
//! scores, beam search of width 1 as greedy, another task's checkpoint refused. On ndarray and
//! flex.

mod common;

use std::path::Path;

use common::{place, test_on_cpu_backends, train_silently};
use unroll_training::seq2seq::{
    BuiltinPairs, BuiltinTask, PairEncoding, Seq2SeqCheckpoint, Seq2SeqConfig, Seq2SeqTask,
    beam_search, greedy, score, score_and_write, split_pairs,
};
use unroll_training::{
    CurriculumSchedule, FeedbackChoice, SamplingSchedule, Strategy, Task, TrainingBackend, Which,
};

fn config(iterations: u64) -> Seq2SeqConfig {
    Seq2SeqConfig {
        iterations,
        batch: 32,
        eval_every: 100,
        log_every: 10,
        learning_rate: 1e-2,
        builtin: Some(BuiltinPairs {
            task: BuiltinTask::Reverse,
            count: 600,
            max_length: 4,
        }),
        open_loop_pairs: 60,
        max_target_length: 8,
        ..Seq2SeqConfig::default()
    }
    .with_hidden(48)
}

fn task(config: Seq2SeqConfig) -> Seq2SeqTask {
    let pairs = config.builtin.unwrap().pairs(config.seed).unwrap();
    let (train, validation) = split_pairs(pairs, config.validation_fraction, config.seed).unwrap();
    let encoding = PairEncoding::fit(&train, config.min_symbol_count);
    let train = encoding.encode(&train).unwrap();
    let validation = encoding.encode(&validation).unwrap();
    Seq2SeqTask::new(config, encoding, train, validation).unwrap()
}

test_on_cpu_backends!(learns_and_resumes:
    reversal_is_learnt_open_loop_and_resumes_exactly_on_ndarray,
    reversal_is_learnt_open_loop_and_resumes_exactly_on_flex
);

fn learns_and_resumes<B: TrainingBackend>(dir: &Path) {
    let device = Default::default();
    let out = dir.join("whole");
    let mut whole = task(config(400));
    let report =
        train_silently::<B, _>(&mut whole, &config(400).loop_settings(), &place(&out, None))
            .unwrap();
    let scores = &report.validation;
    let exact = scores.exact_match.unwrap();
    assert!(exact > 0.5, "strings of 4 letters reversed: {scores:?}");
    assert!(scores.symbol_accuracy > 0.8, "{scores:?}");
    assert_eq!(scores.decoded, 60);

    // Stopped at 200 and resumed to 400: the same run, to the last digit.
    let halves = dir.join("halves");
    let mut first = task(config(200));
    train_silently::<B, _>(
        &mut first,
        &config(200).loop_settings(),
        &place(&halves, None),
    )
    .unwrap();
    let checkpoint = Seq2SeqCheckpoint::open(&halves, Which::Last).unwrap();
    let part_way = checkpoint.model::<B::InnerBackend>(&device).unwrap();
    let mut second = task(config(400)).resuming(Some(checkpoint));
    let resumed = train_silently::<B, _>(
        &mut second,
        &config(400).loop_settings(),
        &place(&halves, Some(halves.join("last"))),
    )
    .unwrap();
    assert_eq!(resumed.final_loss, report.final_loss);
    assert_eq!(resumed.validation, report.validation);

    // The checkpoint alone reproduces the scores; beam search of width 1 is greedy decoding.
    let last = Seq2SeqCheckpoint::open(&out, Which::Last).unwrap();
    let model = last.model::<B::InnerBackend>(&device).unwrap();
    let pairs = config(400).builtin.unwrap().pairs(0).unwrap();
    let (_, validation) = split_pairs(pairs, 0.1, 0).unwrap();
    let validation = last.encoding.encode(&validation).unwrap();
    let again = score(&model, &last.encoding, &validation, (32, 60), 8, &device).unwrap();
    assert_eq!(again, report.validation);
    let written = greedy(
        &model,
        &last.encoding,
        &validation.sources[..10],
        8,
        32,
        &device,
    )
    .unwrap();
    for (source, greedy) in validation.sources[..10].iter().zip(&written) {
        let beam = beam_search(&model, &last.encoding, source, 1, 8, &device).unwrap();
        assert_eq!(&beam.ids, greedy);
        let wider = beam_search(&model, &last.encoding, source, 4, 8, &device).unwrap();
        assert!(
            wider.score >= beam.score - 1e-9,
            "{wider:?} against {beam:?}"
        );
    }
    // Every pair decoded: fed the truth, a target with no symbol wrong is the one greedy
    // decoding writes, and only that one (no target here reaches the cut at 8).
    let all = validation.len();
    let (scores, outcomes) = score_and_write(
        &part_way,
        &last.encoding,
        &validation,
        (32, all),
        8,
        &device,
    )
    .unwrap();
    assert_eq!(outcomes.written.len(), all);
    let mut exact = 0;
    for ((written, truth), &errors) in
        (outcomes.written.iter().zip(&validation.targets)).zip(&outcomes.teacher_forced_errors)
    {
        let truth = &truth[..truth.len() - 1];
        assert_eq!(written == truth, errors == 0, "{written:?} for {truth:?}");
        exact += usize::from(errors == 0);
    }
    assert!(
        0 < exact && exact < all,
        "a model part way: {exact} of {all}"
    );
    let wrong: usize = outcomes.teacher_forced_errors.iter().sum();
    let symbols: usize = validation.targets.iter().map(Vec::len).sum();
    let accuracy = 1.0 - wrong as f64 / symbols as f64;
    assert!(
        (accuracy - scores.symbol_accuracy).abs() < 1e-12,
        "{accuracy} {scores:?}"
    );

    // Another task's pairs do not continue this run.
    let mut other = config(400);
    other.builtin = Some(BuiltinPairs {
        task: BuiltinTask::Addition,
        count: 600,
        max_length: 3,
    });
    let mut mismatched = task(other).resuming(Some(last));
    let error = Task::<B>::resume(&mut mismatched, &device).err().unwrap();
    assert!(error.to_string().contains("other characters"), "{error}");
}

test_on_cpu_backends!(every_strategy_trains:
    every_strategy_trains_on_ndarray,
    every_strategy_trains_on_flex
);

/// Scheduled sampling and the curriculum feed the decoder its own symbols through the rollout
/// from the summary: they train, log their ε and n, and change what the loss sees; with the
/// summary in every decoder input too.
fn every_strategy_trains<B: TrainingBackend>(dir: &Path) {
    for summary_input in [false, true] {
        strategies_train::<B>(
            &dir.join(format!("summary-input-{summary_input}")),
            summary_input,
        );
    }
}

fn strategies_train<B: TrainingBackend>(dir: &Path, summary_input: bool) {
    let own = FeedbackChoice::Sample;
    let strategies = [
        Strategy::TeacherForcing,
        Strategy::ScheduledSampling {
            schedule: SamplingSchedule::Constant {
                truth_probability: 0.5,
            },
            own,
        },
        Strategy::Curriculum {
            schedule: CurriculumSchedule {
                maximum: 9,
                start: 0,
                ramp: 1,
            },
            own,
        },
    ];
    let mut losses = Vec::new();
    for (k, strategy) in strategies.into_iter().enumerate() {
        let mut config = config(20);
        config.strategy = strategy;
        config.summary_input = summary_input;
        let out = dir.join(format!("strategy-{k}"));
        let report = train_silently::<B, _>(
            &mut task(config.clone()),
            &config.loop_settings(),
            &place(&out, None),
        )
        .unwrap();
        let logged = unroll_training::metrics::read_run_metrics::<
            unroll_training::seq2seq::Seq2SeqScores,
        >(&out)
        .unwrap();
        let last = logged.last().unwrap();
        match strategy {
            Strategy::ScheduledSampling { .. } => assert_eq!(last.truth_probability, Some(0.5)),
            Strategy::Curriculum { .. } => assert_eq!(last.free_steps, Some(9)),
            Strategy::TeacherForcing => {
                assert_eq!((last.truth_probability, last.free_steps), (None, None))
            }
        }
        losses.push(report.final_loss);
    }
    assert!(losses.iter().all(|l| l.is_finite()), "{losses:?}");
    assert_ne!(
        losses[0], losses[1],
        "scheduled sampling feeds other symbols"
    );
    assert_ne!(losses[0], losses[2], "the curriculum feeds other symbols");
}
