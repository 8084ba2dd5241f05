//! Training speed of the feeding strategies: teacher forcing against scheduled sampling and the
//! free-running curriculum, each on the fused path (the rollout, then the fused teacher-forced
//! pass on the fed symbols) and on the step-wise loop through autodiff.

use std::time::Duration;

use burn::tensor::{Int, Tensor};
use unroll::model::{
    Feedback, FeedbackSequence, InputEncoding, OutputRecurrent, OutputRecurrentConfig,
    SequenceInput,
};
use unroll::training::{
    FeedbackChoice, Feeding, FeedingPlan, FeedingStreams, ModelSettings, RecurrencePath,
};

use super::{VOCAB, report, seeded_device, time_training, tokens};
use unroll::training::TrainingBackend;

/// The strategies measured: teacher forcing, scheduled sampling at ε = 0.5 with sampled
/// symbols, and the curriculum with the last half of the window free-running.
fn strategies(window: usize) -> [(&'static str, Feeding); 3] {
    [
        ("teacher forcing", Feeding::TeacherForcing),
        (
            "scheduled sampling ε 0.5, sampled",
            Feeding::ScheduledSampling {
                truth_probability: 0.5,
                own: FeedbackChoice::Sample,
            },
        ),
        (
            "curriculum, last half free, sampled",
            Feeding::Curriculum {
                free_steps: window / 2,
                own: FeedbackChoice::Sample,
            },
        ),
    ]
}

/// A fresh plan every step (its cost is part of the step), from per-row streams.
fn plan(feeding: &Feeding, dims: [usize; 2], iteration: &mut u64) -> FeedingPlan {
    *iteration += 1;
    let streams = FeedingStreams {
        seed: 0,
        iteration: *iteration,
    };
    feeding.plan(dims, streams).expect("a valid feeding")
}

/// Pattern 1 as char-rnn trains it ([`unroll::training::Network::window_loss`]).
fn pattern_1<B: TrainingBackend>(
    name: &str,
    (hidden, batch, window): (usize, usize, usize),
    (label, feeding, path): (&str, &Feeding, RecurrencePath),
    budget: Duration,
) -> f64 {
    let settings = ModelSettings {
        hidden,
        ..ModelSettings::default()
    };
    let model = settings.init::<B>(VOCAB, &seeded_device::<B>());
    let inputs = tokens::<B>(batch, window, 1);
    let targets = tokens::<B>(batch, window, 2);
    let mut iteration = 0;
    let timing = time_training(model.expect("valid settings"), budget, |model| {
        let plan = plan(feeding, [batch, window], &mut iteration);
        let (losses, _) = model
            .window_loss(inputs.clone(), targets.clone(), None, &plan, path)
            .expect("shapes");
        losses.mean()
    });
    let what = format!("pattern 1 {name:7} {label}, {path:?}, H {hidden} b {batch} w {window}");
    report(&what, batch * window, timing)
}

/// Pattern 2 with a token input `x(t)` besides the fed-back `y(t-1)`.
fn pattern_2<B: TrainingBackend>(
    name: &str,
    size: (usize, usize, usize),
    (label, feeding, path): (&str, &Feeding, RecurrencePath),
    budget: Duration,
) -> f64 {
    let (hidden, batch, window) = size;
    let model: OutputRecurrent<B> = OutputRecurrentConfig::new(hidden, VOCAB)
        .with_input(Some(InputEncoding::Tokens { vocab_size: VOCAB }))
        .init(&seeded_device::<B>());
    let input = SequenceInput::Tokens(tokens::<B>(batch, window, 3));
    let previous = tokens::<B>(batch, window, 1);
    let targets = tokens::<B>(batch, window, 2);
    let mut iteration = 0;
    let timing = time_training(model, budget, |model| {
        let plan = plan(feeding, [batch, window], &mut iteration);
        match path {
            RecurrencePath::Unrolled if !plan.is_teacher_forcing() => {
                stepwise_loss(model, &input, &previous, &targets, &plan)
            }
            _ => {
                let fed = model
                    .fed_symbols(Some(input.clone()), previous.clone(), &plan)
                    .expect("shapes");
                model
                    .teacher_forced_loss(
                        Some(input.clone()),
                        FeedbackSequence::Tokens(fed),
                        targets.clone(),
                    )
                    .expect("shapes")
                    .mean()
            }
        }
    });
    let what = format!("pattern 2 {name:7} {label}, {path:?}, H {hidden} b {batch} w {window}");
    report(&what, batch * window, timing)
}

/// Pattern 2's step-wise loop: each fed-back symbol the truth or the model's own by the plan.
fn stepwise_loss<B: TrainingBackend>(
    model: &OutputRecurrent<B>,
    input: &SequenceInput<B>,
    previous: &Tensor<B, 2, Int>,
    targets: &Tensor<B, 2, Int>,
    plan: &FeedingPlan,
) -> Tensor<B, 1> {
    let [batch, time] = previous.dims();
    let column = |t: usize| {
        previous
            .clone()
            .slice([0..batch, t..t + 1])
            .reshape([batch])
    };
    let logits = model
        .forward_stepwise(
            Some(input.clone()),
            Feedback::Tokens(column(0)),
            time,
            |t, o| Feedback::Tokens(plan.mix(t, column(t), o)),
        )
        .expect("shapes");
    unroll::model::step_cross_entropy(logits, targets.clone())
        .expect("shapes")
        .mean()
}

/// Every strategy on both paths, with its speed against teacher forcing's in the same run.
pub fn feeding<B: TrainingBackend>(name: &str, budget: Duration) {
    let size = (256, 64, 100);
    type Run = fn(&str, (usize, usize, usize), (&str, &Feeding, RecurrencePath), Duration) -> f64;
    let patterns: [(&str, Run); 2] = [
        ("pattern 1", pattern_1::<B>),
        ("pattern 2 with input", pattern_2::<B>),
    ];
    for (pattern, run) in patterns {
        let [forcing, rest @ ..] = strategies(size.2);
        let teacher_forced = run(
            name,
            size,
            (forcing.0, &forcing.1, RecurrencePath::Fused),
            budget,
        );
        for (label, feeding) in rest {
            let fused = run(name, size, (label, &feeding, RecurrencePath::Fused), budget);
            let unrolled = run(
                name,
                size,
                (label, &feeding, RecurrencePath::Unrolled),
                budget,
            );
            println!(
                "   {pattern}, {label}: fused {:.2}x teacher forcing, unrolled {:.2}x; fused / unrolled {:.2}x",
                fused / teacher_forced,
                unrolled / teacher_forced,
                fused / unrolled
            );
        }
    }
}
