//! Feeding strategies: ε = 1 is teacher forcing exactly, ε = 0 is fully free-running, and the
//! curriculum's tail is free-running while its head is teacher-forced.

use burn::backend::{Autodiff, NdArray};
use burn::tensor::backend::Backend as _;
use burn::tensor::{Int, Tensor, TensorData};
use unroll_model::{
    FeedbackSequence, HiddenRecurrentConfig, HiddenStackConfig, InputEncoding,
    OutputRecurrentConfig, SequenceInput, StepInput, step_cross_entropy,
};
use unroll_training::{
    FeedbackChoice, Feeding, hidden_recurrent_stepwise, hidden_recurrent_window, mix,
    output_recurrent_stepwise, output_recurrent_window,
};

type B = Autodiff<NdArray<f64>>;

const VOCAB: usize = 5;

/// The CPU backends' random generator is process-wide: tests that seed it take turns.
fn turn() -> std::sync::MutexGuard<'static, ()> {
    static TURN: std::sync::Mutex<()> = std::sync::Mutex::new(());
    TURN.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

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

fn assert_close(a: &[f64], b: &[f64], what: &str) {
    assert_eq!(a.len(), b.len(), "{what}: lengths");
    for (x, y) in a.iter().zip(b) {
        assert!((x - y).abs() < 1e-12, "{what}: {x} vs {y}");
    }
}

#[test]
fn epsilon_one_is_teacher_forcing_exactly() {
    let _turn = turn();
    let model = pattern_1();
    let feeding = Feeding::ScheduledSampling {
        truth_probability: 1.0,
        own: FeedbackChoice::Sample,
    };
    // The step-wise loop, forced to run with ε = 1, against the fused forward: two paths.
    let stepwise = hidden_recurrent_stepwise(&model, inputs(), None, &feeding).unwrap();
    let forced = model
        .forward(SequenceInput::Tokens(inputs()), None)
        .unwrap();
    assert_close(
        &values(stepwise.logits),
        &values(forced.logits.clone()),
        "pattern 1",
    );
    // And the window with ε = 1 takes the teacher-forced path.
    let fed = hidden_recurrent_window(&model, inputs(), None, &feeding).unwrap();
    assert_eq!(values(fed.logits), values(forced.logits));

    let model = pattern_2();
    let stepwise = output_recurrent_stepwise(&model, inputs(), &feeding).unwrap();
    let forced = model
        .forward_teacher_forced(None, FeedbackSequence::Tokens(inputs()))
        .unwrap();
    assert_close(&values(stepwise), &values(forced.clone()), "pattern 2");
    let fed = output_recurrent_window(&model, inputs(), &feeding).unwrap();
    assert_eq!(values(fed), values(forced));
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
        Feeding::FreeRunningTail {
            free_steps: 6,
            own: FeedbackChoice::Argmax,
        },
    ] {
        let fed = hidden_recurrent_window(&model, inputs(), None, &feeding).unwrap();
        assert_eq!(values(fed.logits), expected, "{feeding:?}");
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
    let feeding = Feeding::ScheduledSampling {
        truth_probability: 0.0,
        own: FeedbackChoice::Argmax,
    };
    let logits = output_recurrent_window(&model, inputs(), &feeding).unwrap();
    assert_eq!(values(logits), values(Tensor::stack::<3>(expected, 1)));
}

#[test]
fn curriculum_head_is_teacher_forced_and_tail_is_not() {
    let _turn = turn();
    let model = pattern_1();
    let feeding = Feeding::FreeRunningTail {
        free_steps: 2,
        own: FeedbackChoice::Argmax,
    };
    let fed = values(
        hidden_recurrent_window(&model, inputs(), None, &feeding)
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
        // The step-wise path and the fused forward round tanh differently, hence a tolerance.
        let close = |t: usize| {
            row(&fed, t)
                .iter()
                .zip(row(&forced, t))
                .all(|(a, e)| (a - e).abs() < 1e-12)
        };
        for t in 0..4 {
            assert!(close(t), "sequence {b}, step {t}");
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

/// Every parameter's gradient, in visiting order.
fn all_gradients(
    model: &unroll_model::HiddenRecurrent<B>,
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
    burn::module::Module::visit(model, &mut collect);
    collect.1
}

#[test]
fn gradients_flow_through_the_state_but_not_the_samples() {
    let _turn = turn();
    let device = Default::default();
    let model = pattern_1();
    let feeding = Feeding::ScheduledSampling {
        truth_probability: 0.5,
        own: FeedbackChoice::Sample,
    };
    // Burn draws the weights on first use: draw them now, so both runs below see the same
    // random numbers.
    model
        .forward(SequenceInput::Tokens(inputs()), None)
        .unwrap();
    B::seed(&device, 5);
    let out = hidden_recurrent_window(&model, inputs(), None, &feeding).unwrap();

    // The same draws in the same order, replayed by hand, record the symbol each step was fed.
    B::seed(&device, 5);
    let (mut state, mut previous, mut fed) = (None, None, Vec::new());
    for t in 0..6 {
        let truth = inputs().slice([0..3, t..t + 1]).reshape([3]);
        let symbol = match previous.take() {
            None => truth,
            Some(logits) => {
                let sample = match unroll_model::Feedback::from_logits(
                    logits,
                    unroll_model::FeedbackChoice::Sample,
                ) {
                    unroll_model::Feedback::Tokens(ids) => ids,
                    other => panic!("a sample is a class id, got {other:?}"),
                };
                mix(truth, sample, 0.5)
            }
        };
        let (o, next) = model
            .step(StepInput::Tokens(symbol.clone()), state)
            .unwrap();
        fed.push(symbol);
        previous = Some(o);
        state = Some(next);
    }
    let fed = Tensor::stack::<2>(fed, 1);
    assert_ne!(
        fed.clone().into_data().iter::<i64>().collect::<Vec<_>>(),
        inputs().into_data().iter::<i64>().collect::<Vec<_>>(),
        "some steps were fed the model's own samples"
    );

    // Teacher forcing on the fed symbols is the same computation with every symbol a constant:
    // full back-propagation through the states, nothing through the choice of symbol.
    let forced = model.forward(SequenceInput::Tokens(fed), None).unwrap();
    assert_close(
        &values(out.logits.clone()),
        &values(forced.logits.clone()),
        "logits",
    );
    let sampled = step_cross_entropy(out.logits, inputs()).unwrap().sum();
    let forced = step_cross_entropy(forced.logits, inputs()).unwrap().sum();
    let sampled = all_gradients(&model, &sampled.backward());
    let forced = all_gradients(&model, &forced.backward());
    assert_eq!(sampled.len(), forced.len());
    for (k, (a, b)) in sampled.iter().zip(&forced).enumerate() {
        assert_close(a, b, &format!("parameter {k}"));
    }
}

#[test]
fn coins_follow_the_probability_and_the_seed() {
    let _turn = turn();
    let device = Default::default();
    let batch = 20_000;
    let truth = Tensor::<B, 1, Int>::zeros([batch], &device);
    let own = Tensor::<B, 1, Int>::ones([batch], &device);
    B::seed(&device, 9);
    let a: Vec<i64> = mix(truth.clone(), own.clone(), 0.3)
        .into_data()
        .iter::<i64>()
        .collect();
    let kept = a.iter().filter(|&&v| v == 0).count() as f64 / batch as f64;
    assert!((kept - 0.3).abs() < 0.015, "truth kept {kept}");
    B::seed(&device, 9);
    let b: Vec<i64> = mix(truth, own, 0.3).into_data().iter::<i64>().collect();
    assert_eq!(a, b, "same seed, same coins");
}

#[test]
fn invalid_feeding_is_rejected() {
    let _turn = turn();
    let model = pattern_1();
    let bad = Feeding::ScheduledSampling {
        truth_probability: 1.5,
        own: FeedbackChoice::Sample,
    };
    assert!(hidden_recurrent_window(&model, inputs(), None, &bad).is_err());
    let bad = Feeding::FreeRunningTail {
        free_steps: 7,
        own: FeedbackChoice::Sample,
    };
    assert!(hidden_recurrent_window(&model, inputs(), None, &bad).is_err());
}
