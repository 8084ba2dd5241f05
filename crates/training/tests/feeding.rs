//! Feeding strategies: ε = 1 is teacher forcing exactly, ε = 0 is fully free-running, the
//! curriculum's tail is free-running while its head is teacher-forced, and the fused path (the
//! rollout, then the teacher-forced pass on the fed symbols) equals the step-wise loop, values
//! and every gradient. The coins and draws come from per-row streams of the seed and iteration.

mod common;

use burn::backend::{Autodiff, NdArray};
use burn::tensor::backend::Backend as _;
use burn::tensor::{Int, Tensor, TensorData};
use common::turn;
use unroll_model::{
    FeedbackSequence, HiddenRecurrentConfig, HiddenStackConfig, InputEncoding,
    OutputRecurrentConfig, SequenceInput, StepInput,
};
use unroll_training::{
    FeedbackChoice, Feeding, FeedingPlan, FeedingStreams, Network, RecurrencePath,
    hidden_recurrent_stepwise, hidden_recurrent_window, output_recurrent_stepwise,
    output_recurrent_window,
};

type B = Autodiff<NdArray<f64>>;

const VOCAB: usize = 5;

const PATHS: [RecurrencePath; 2] = [RecurrencePath::Fused, RecurrencePath::Unrolled];

fn ids(rows: &[[i64; 6]]) -> Tensor<B, 2, Int> {
    let flat: Vec<i64> = rows.iter().flatten().copied().collect();
    Tensor::from_data(TensorData::new(flat, [rows.len(), 6]), &Default::default())
}

fn values<const D: usize>(t: Tensor<B, D>) -> Vec<f64> {
    t.into_data().iter::<f64>().collect()
}

fn inputs() -> Tensor<B, 2, Int> {
    ids(&[[0, 1, 2, 3, 4, 0], [4, 4, 3, 1, 0, 2], [2, 0, 1, 1, 3, 4]])
}

fn targets() -> Tensor<B, 2, Int> {
    ids(&[[1, 2, 3, 4, 0, 1], [4, 3, 1, 0, 2, 2], [0, 1, 1, 3, 4, 4]])
}

fn pattern_1() -> unroll_model::HiddenRecurrent<B> {
    let device = Default::default();
    B::seed(&device, 1);
    HiddenRecurrentConfig::new(
        HiddenStackConfig::new(InputEncoding::Tokens { vocab_size: VOCAB }, 6).with_num_layers(2),
        VOCAB,
    )
    .init(&device)
}

fn pattern_2() -> unroll_model::OutputRecurrent<B> {
    let device = Default::default();
    B::seed(&device, 2);
    OutputRecurrentConfig::new(6, VOCAB).init(&device)
}

fn plan(feeding: Feeding) -> FeedingPlan {
    let streams = FeedingStreams {
        seed: 11,
        iteration: 3,
    };
    feeding.plan([3, 6], streams).unwrap()
}

fn assert_close(a: &[f64], b: &[f64], what: &str) {
    unroll_test_support::assert_within(what, a, b, 1e-12);
}

/// Every parameter's gradient, in visiting order.
fn all_gradients<M: burn::module::Module<B>>(
    model: &M,
    gradients: &<B as burn::tensor::backend::AutodiffBackend>::Gradients,
) -> Vec<Vec<f64>> {
    struct Collect<'a>(
        &'a <B as burn::tensor::backend::AutodiffBackend>::Gradients,
        Vec<Vec<f64>>,
    );
    impl burn::module::ModuleVisitor<B> for Collect<'_> {
        fn visit_float<const D: usize>(&mut self, param: &burn::module::Param<Tensor<B, D>>) {
            let gradient = param.val().grad(self.0).expect("every parameter is used");
            self.1.push(gradient.into_data().iter::<f64>().collect());
        }
    }
    let mut collect = Collect(gradients, Vec::new());
    model.visit(&mut collect);
    collect.1
}

fn assert_same_gradients(a: &[Vec<f64>], b: &[Vec<f64>], what: &str) {
    assert_eq!(a.len(), b.len(), "{what}: parameter counts");
    for (k, (x, y)) in a.iter().zip(b).enumerate() {
        assert_close(x, y, &format!("{what}: parameter {k}"));
    }
}

#[test]
fn epsilon_one_is_teacher_forcing_exactly() {
    let _turn = turn();
    let model = Network::Hidden(pattern_1());
    let epsilon_one = plan(Feeding::ScheduledSampling {
        truth_probability: 1.0,
        own: FeedbackChoice::Sample,
    });
    assert!(epsilon_one.is_teacher_forcing());
    let forced_plan = FeedingPlan::teacher_forcing(3, 6).unwrap();
    // Both paths' losses and gradients with ε = 1 against teacher forcing's.
    let (forced, _) = model
        .window_loss(
            inputs(),
            targets(),
            None,
            &forced_plan,
            RecurrencePath::Fused,
        )
        .unwrap();
    let forced_gradients = all_gradients(&model, &forced.clone().sum().backward());
    for path in PATHS {
        let (losses, _) = model
            .window_loss(inputs(), targets(), None, &epsilon_one, path)
            .unwrap();
        assert_eq!(values(losses.clone()), values(forced.clone()), "{path:?}");
        let gradients = all_gradients(&model, &losses.sum().backward());
        assert_same_gradients(&gradients, &forced_gradients, &format!("{path:?}"));
    }
    // The step-wise loop, forced to run with ε = 1, against the fused forward: two paths.
    let Network::Hidden(hidden) = &model else {
        unreachable!()
    };
    let stepwise = hidden_recurrent_stepwise(hidden, inputs(), None, &epsilon_one).unwrap();
    let forward = hidden
        .forward(SequenceInput::Tokens(inputs()), None)
        .unwrap();
    assert_close(
        &values(stepwise.logits),
        &values(forward.logits),
        "pattern 1",
    );

    let model = pattern_2();
    let stepwise = output_recurrent_stepwise(&model, inputs(), &epsilon_one).unwrap();
    let forced = model
        .forward_teacher_forced(None, FeedbackSequence::Tokens(inputs()))
        .unwrap();
    assert_close(&values(stepwise), &values(forced.clone()), "pattern 2");
    for path in PATHS {
        let fed = output_recurrent_window(&model, inputs(), &epsilon_one, path).unwrap();
        assert_eq!(values(fed), values(forced.clone()));
    }
}

/// Greedy open-loop generation, written out: the first symbol is given, then each step is fed
/// the argmax of the previous output.
fn greedy_pattern_1(
    model: &unroll_model::HiddenRecurrent<B>,
    first: Tensor<B, 1, Int>,
) -> Vec<f64> {
    let mut state = None;
    let mut fed = first;
    let mut logits = Vec::new();
    for _ in 0..6 {
        let (o, next) = model.step(StepInput::Tokens(fed), state).unwrap();
        fed = o.clone().argmax(1).reshape([3]);
        state = Some(next);
        logits.push(o);
    }
    values(Tensor::stack::<3>(logits, 1))
}

#[test]
fn epsilon_zero_is_fully_free_running() {
    let _turn = turn();
    let model = pattern_1();
    let first = inputs().slice([0..3, 0..1]).reshape([3]);
    let expected = greedy_pattern_1(&model, first);
    for feeding in [
        Feeding::ScheduledSampling {
            truth_probability: 0.0,
            own: FeedbackChoice::Argmax,
        },
        Feeding::Curriculum {
            free_steps: 6,
            own: FeedbackChoice::Argmax,
        },
    ] {
        for path in PATHS {
            let fed =
                hidden_recurrent_window(&model, inputs(), None, &plan(feeding), path).unwrap();
            assert_close(
                &values(fed.logits),
                &expected,
                &format!("{feeding:?} {path:?}"),
            );
        }
    }
}

#[test]
fn pattern_2_epsilon_zero_feeds_its_own_outputs() {
    let _turn = turn();
    let model = pattern_2();
    let first = inputs().slice([0..3, 0..1]).reshape([3]);
    let mut fed = first;
    let mut expected = Vec::new();
    for _ in 0..6 {
        let o = model
            .step(None, unroll_model::Feedback::Tokens(fed))
            .unwrap();
        fed = o.clone().argmax(1).reshape([3]);
        expected.push(o);
    }
    let expected = values(Tensor::stack::<3>(expected, 1));
    let free = plan(Feeding::ScheduledSampling {
        truth_probability: 0.0,
        own: FeedbackChoice::Argmax,
    });
    for path in PATHS {
        let logits = output_recurrent_window(&model, inputs(), &free, path).unwrap();
        assert_close(&values(logits), &expected, &format!("{path:?}"));
    }
}

#[test]
fn curriculum_head_is_teacher_forced_and_tail_is_not() {
    let _turn = turn();
    let model = pattern_1();
    let feeding = Feeding::Curriculum {
        free_steps: 2,
        own: FeedbackChoice::Argmax,
    };
    let fed = values(
        hidden_recurrent_window(
            &model,
            inputs(),
            None,
            &plan(feeding),
            RecurrencePath::Fused,
        )
        .unwrap()
        .logits,
    );
    let forced = values(
        model
            .forward(SequenceInput::Tokens(inputs()), None)
            .unwrap()
            .logits,
    );
    // [batch 3, time 6, vocab 5]: steps 0..4 match teacher forcing for every sequence.
    for b in 0..3 {
        let row = |v: &[f64], t: usize| v[(b * 6 + t) * VOCAB..(b * 6 + t + 1) * VOCAB].to_vec();
        for t in 0..4 {
            assert_eq!(row(&fed, t), row(&forced, t), "sequence {b}, step {t}");
        }
    }
    let last_differs = (0..3).any(|b| {
        let at = (b * 6 + 5) * VOCAB;
        (0..VOCAB).any(|k| (fed[at + k] - forced[at + k]).abs() > 1e-6)
    });
    assert!(
        last_differs,
        "the last two steps were fed the model's own symbols"
    );
    assert_eq!(feeding.truth_probability(3, 6), 1.0);
    assert_eq!(feeding.truth_probability(4, 6), 0.0);
}

/// The loss of both paths through [`Network::window_loss`], values and every gradient,
/// for both patterns, sampled and greedy own symbols.
#[test]
fn the_fused_path_trains_exactly_as_the_stepwise_loop() {
    let _turn = turn();
    let models = [Network::Hidden(pattern_1()), Network::Output(pattern_2())];
    let feedings = [
        Feeding::ScheduledSampling {
            truth_probability: 0.5,
            own: FeedbackChoice::Sample,
        },
        Feeding::Curriculum {
            free_steps: 3,
            own: FeedbackChoice::Argmax,
        },
    ];
    for model in &models {
        for feeding in feedings {
            let what = format!("{}: {feeding:?}", model.d_output());
            let plan = plan(feeding);
            assert!(!plan.is_teacher_forcing(), "{what}: some own symbols");
            let run = |path| {
                let (losses, _) = model
                    .window_loss(inputs(), targets(), None, &plan, path)
                    .unwrap();
                let gradients = all_gradients(model, &losses.clone().sum().backward());
                (values(losses), gradients)
            };
            let (fused, fused_gradients) = run(RecurrencePath::Fused);
            let (stepwise, stepwise_gradients) = run(RecurrencePath::Unrolled);
            assert_close(&fused, &stepwise, &what);
            assert_same_gradients(&fused_gradients, &stepwise_gradients, &what);
        }
    }
}

#[test]
fn plans_follow_the_probability_and_the_streams() {
    let streams = FeedingStreams {
        seed: 9,
        iteration: 4,
    };
    let feeding = Feeding::ScheduledSampling {
        truth_probability: 0.3,
        own: FeedbackChoice::Sample,
    };
    let (batch, time) = (2_000, 11);
    let big = feeding.plan([batch, time], streams).unwrap();
    let truth = |plan: &FeedingPlan, rows: usize, steps: std::ops::Range<usize>| {
        (0..rows)
            .flat_map(|row| steps.clone().map(move |t| (row, t)))
            .filter(|&(row, t)| plan.fed_truth(row, t))
            .count()
    };
    assert_eq!(
        truth(&big, batch, 0..1),
        batch,
        "step 0 is always the truth"
    );
    let kept = truth(&big, batch, 1..time) as f64 / (batch * (time - 1)) as f64;
    assert!((kept - 0.3).abs() < 0.01, "truth kept {kept}");
    let mean_draw = (0..batch).map(|row| big.draw(row, 5)).sum::<f64>() / batch as f64;
    assert!(
        (mean_draw - 0.5).abs() < 0.02,
        "draws uniform: mean {mean_draw}"
    );

    assert_eq!(
        feeding.plan([batch, time], streams).unwrap(),
        big,
        "same streams"
    );
    let next = FeedingStreams {
        iteration: 5,
        ..streams
    };
    assert_ne!(
        feeding.plan([batch, time], next).unwrap(),
        big,
        "next iteration"
    );
    // A row's stream is its own: the first rows of a smaller batch are the same rows.
    let small = feeding.plan([7, time], streams).unwrap();
    for row in 0..7 {
        for t in 0..time {
            assert_eq!(small.fed_truth(row, t), big.fed_truth(row, t));
            assert_eq!(small.draw(row, t), big.draw(row, t));
        }
    }
}

#[test]
fn invalid_feeding_is_rejected() {
    let streams = FeedingStreams {
        seed: 0,
        iteration: 0,
    };
    for bad in [
        Feeding::ScheduledSampling {
            truth_probability: 1.5,
            own: FeedbackChoice::Sample,
        },
        Feeding::Curriculum {
            free_steps: 7,
            own: FeedbackChoice::Sample,
        },
        Feeding::ScheduledSampling {
            truth_probability: 0.5,
            own: FeedbackChoice::Probabilities,
        },
    ] {
        assert!(bad.plan([3, 6], streams).is_err(), "{bad:?}");
    }
    let _turn = turn();
    let model = pattern_1();
    let wrong_shape = FeedingPlan::teacher_forcing(3, 5).unwrap();
    for path in PATHS {
        let error = hidden_recurrent_window(&model, inputs(), None, &wrong_shape, path);
        assert!(error.is_err(), "{path:?}");
    }
}
