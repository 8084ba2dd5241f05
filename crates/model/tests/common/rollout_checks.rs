//! The rollout's checks: the fed symbols from the rollout, trained on by the fused teacher-forced
//! pass, against the step-wise loop through Burn's operations and autodiff (values and every
//! gradient), and the host kernels against the generic passes the GPU backends run.

use burn::module::AutodiffModule;
use burn::tensor::{Distribution, Int, Tensor, TensorData};
use unroll_model::fused::rollout::{
    FeedingPlan, HiddenRollout, LayerWeights, OutputRollout, RolloutCell, hidden_generic,
    output_generic,
};
use unroll_model::{
    Feedback, FeedbackChoice, FeedbackSequence, HiddenRecurrent, HiddenState, InputEncoding, Layer,
    OutputRecurrent, RecurrentCell, SequenceInput, StepInput, step_cross_entropy,
};

use super::checks::{
    TestBackend, assert_same_case_gradients, materialized, packed_state, pattern_1, pattern_2,
    random_case, random_ids,
};
use super::{Numbers, assert_close, ids, values};

const EXACT: f64 = 1e-12;

/// A plan with coins of probability `truth_probability` (the last `free_steps` steps always
/// fed own predictions) and draws in `[0, 1)`, from `numbers`.
fn random_plan(
    numbers: &mut Numbers,
    [batch, time]: [usize; 2],
    (truth_probability, free_steps, own): (f64, usize, FeedbackChoice),
) -> FeedingPlan {
    let mut truth = Vec::new();
    let mut draws = Vec::new();
    for _ in 0..batch {
        for t in 0..time {
            let coin = (numbers.next(1.0) + 1.0) / 2.0;
            truth.push(coin < truth_probability && t + free_steps < time);
            draws.push(((numbers.next(1.0) + 1.0) / 2.0).min(0.999_999));
        }
    }
    FeedingPlan::new([batch, time], truth, draws, own).expect("a valid plan")
}

/// The fused pass's losses `[batch, time]` equal the step-wise loop's, and so do every
/// parameter's gradient of their sum and `∂L/∂h(0)` when the case gave a tracked `state`.
fn assert_same_losses<B: TestBackend, M: AutodiffModule<B>>(
    what: &str,
    (model, state): (&M, Option<Tensor<B, 3>>),
    fused_loss: Tensor<B, 2>,
    stepwise_loss: Tensor<B, 2>,
) {
    let losses = [&fused_loss, &stepwise_loss].map(|loss| values(loss.clone()));
    assert_close(&format!("{what}: losses"), &losses[0], &losses[1], EXACT);
    let grads = [fused_loss, stepwise_loss].map(|loss| loss.sum().backward());
    assert_same_case_gradients(what, [model, model], state, grads);
}

fn id_values<const D: usize, B: burn::tensor::backend::Backend>(
    tensor: Tensor<B, D, Int>,
) -> Vec<i64> {
    tensor.into_data().iter::<i64>().collect()
}

fn column<B: burn::tensor::backend::Backend>(
    ids: &Tensor<B, 2, Int>,
    t: usize,
) -> Tensor<B, 1, Int> {
    let [batch, _] = ids.dims();
    ids.clone().slice([0..batch, t..t + 1]).reshape([batch])
}

/// The step-wise loop: each step fed the truth or the model's own prediction by `plan`, through
/// Burn's operations and autodiff. Returns the logits `[batch, time, vocab]` and the fed symbols.
fn hidden_stepwise<B: TestBackend>(
    model: &HiddenRecurrent<B>,
    truth: &Tensor<B, 2, Int>,
    state: Option<HiddenState<B>>,
    plan: &FeedingPlan,
) -> (Tensor<B, 3>, Tensor<B, 2, Int>) {
    let [_, time] = truth.dims();
    let (mut state, mut logits, mut fed) = (state, Vec::new(), Vec::new());
    for t in 0..time {
        let symbols = match logits.last() {
            None => column(truth, t),
            Some(previous) => plan.mix(t, column(truth, t), Tensor::clone(previous)),
        };
        let (o, next) = model
            .step(StepInput::Tokens(symbols.clone()), state)
            .unwrap();
        fed.push(symbols);
        logits.push(o);
        state = Some(next);
    }
    (Tensor::stack(logits, 1), Tensor::stack(fed, 1))
}

/// Pattern 1's rollout input, read from the model's parameters as the generic pass takes it.
fn hidden_rollout<B: TestBackend>(
    model: &HiddenRecurrent<B>,
    truth: Tensor<B, 2, Int>,
    (initial, initial_cell): (Tensor<B, 3>, Option<Tensor<B, 3>>),
) -> HiddenRollout<B> {
    let layer = |layer: &Layer<B>| match layer {
        Layer::Tanh(layer) => LayerWeights {
            cell: RolloutCell::Tanh,
            input_weight: layer.input_weight.val(),
            bias: layer.bias.val(),
            recurrent_weight: layer.recurrent_weight.val(),
            recurrent_bias: None,
        },
        Layer::Lstm(layer) => LayerWeights {
            cell: RolloutCell::Lstm,
            input_weight: layer.input_weight.val(),
            bias: layer.input_bias.val() + layer.hidden_bias.val(),
            recurrent_weight: layer.hidden_weight.val(),
            recurrent_bias: None,
        },
        Layer::Gru(layer) => LayerWeights {
            cell: RolloutCell::Gru,
            input_weight: layer.input_weight.val(),
            bias: layer.input_bias.val(),
            recurrent_weight: layer.hidden_weight.val(),
            recurrent_bias: Some(layer.hidden_bias.val()),
        },
    };
    HiddenRollout {
        layers: model.hidden.layers.iter().map(layer).collect(),
        output_weight: model.output.weight.val(),
        output_bias: model.output.bias.as_ref().expect("a bias").val(),
        initial,
        initial_cell,
        truth,
        first_layer_offset: None,
    }
}

pub fn fused_feeding_equals_stepwise_pattern_1<B: TestBackend>(device: &B::Device) {
    B::seed(device, 51);
    let mut numbers = Numbers::new(21);
    let (batch, time, d_hidden, vocab) = (9, 7, 6, 5);
    let tokens = InputEncoding::Tokens { vocab_size: vocab };
    let (tanh, lstm, gru) = (RecurrentCell::Tanh, RecurrentCell::Lstm, RecurrentCell::Gru);
    let cases = [
        (tanh, 1, 0.5, 0, FeedbackChoice::Sample, true),
        (tanh, 2, 1.0, 3, FeedbackChoice::Argmax, false),
        (tanh, 3, 0.3, 0, FeedbackChoice::Sample, true),
        (tanh, 2, 1.0, 0, FeedbackChoice::Sample, true),
        (lstm, 2, 0.5, 0, FeedbackChoice::Sample, true),
        (gru, 2, 0.4, 2, FeedbackChoice::Argmax, true),
    ];
    let mut offset_changed = 0;
    for (cell, layers, truth_probability, free_steps, own, with_state) in cases {
        let what = format!(
            "pattern 1, {cell:?}, {layers} layer(s), ε {truth_probability}, {free_steps} free, \
             {own:?}"
        );
        let model = materialized(&pattern_1::<B>(
            tokens,
            (d_hidden, layers, cell),
            vocab,
            device,
        ));
        let case = (batch, time, with_state);
        let (sequence, state) = random_case(&mut numbers, &model.hidden, case, device);
        let SequenceInput::Tokens(truth) = sequence else {
            unreachable!("token input")
        };
        let targets = ids::<B>(&random_ids(&mut numbers, batch, time, vocab), device);
        let feeding = (truth_probability, free_steps, own);
        let plan = random_plan(&mut numbers, [batch, time], feeding);

        // Each pass names the packed leaf itself: a graph is consumed by its backward pass.
        let named = || packed_state(&model.hidden, &state);
        let (logits, stepwise_fed) = hidden_stepwise(&model, &truth, named(), &plan);
        let stepwise_loss = step_cross_entropy(logits, targets.clone()).unwrap();
        let fed = model.fed_symbols(truth.clone(), named(), &plan).unwrap();
        assert_eq!(
            id_values(fed.clone()),
            id_values(stepwise_fed),
            "{what}: fed symbols"
        );
        assert_eq!(
            id_values(fed.clone()) == id_values(truth.clone()),
            plan.is_teacher_forcing(),
            "{what}: own predictions fed where the plan asks"
        );
        // The generic pass the GPU backends run, from the same state.
        let initial = match named() {
            Some(state) => (state.hidden.detach(), state.cell.map(Tensor::detach)),
            None => (Tensor::zeros([layers, batch, d_hidden], device), None),
        };
        let rollout = hidden_rollout(&model, truth, initial);
        let generic = hidden_generic(rollout.clone(), &plan);
        assert_eq!(
            id_values(generic),
            id_values(fed.clone()),
            "{what}: generic pass"
        );
        // Each row's share of an input it has at every step (an encoder–decoder's summary),
        // added to the first layer's: the host kernel and the generic pass agree (and, below,
        // it changed what some cases fed).
        let width = rollout.layers[0].bias.dims()[0];
        let offset = Tensor::random([batch, width], Distribution::Uniform(-2.0, 2.0), device);
        let with_offset = HiddenRollout {
            first_layer_offset: Some(offset),
            ..rollout
        };
        let host = B::hidden_rollout(with_offset.clone(), &plan);
        let generic = hidden_generic(with_offset, &plan);
        assert_eq!(
            id_values(host.clone()),
            id_values(generic),
            "{what}: with an offset"
        );
        offset_changed += usize::from(id_values(host) != id_values(fed.clone()));

        let (fused_loss, _) = model
            .forward_loss(SequenceInput::Tokens(fed), named(), targets)
            .unwrap();
        assert_same_losses(&what, (&model, state), fused_loss, stepwise_loss);
    }
    assert!(
        offset_changed >= 2,
        "an offset changes what is fed: {offset_changed} cases"
    );
}

pub fn fused_feeding_equals_stepwise_pattern_2<B: TestBackend>(device: &B::Device) {
    B::seed(device, 52);
    let mut numbers = Numbers::new(22);
    let (batch, time, d_hidden, vocab, d_input) = (9, 7, 6, 5, 3);
    let cases = [
        (false, 0.5, 0, FeedbackChoice::Sample),
        (true, 0.4, 0, FeedbackChoice::Sample),
        (true, 1.0, 4, FeedbackChoice::Argmax),
    ];
    for (with_input, truth_probability, free_steps, own) in cases {
        let what = format!(
            "pattern 2, input {with_input}, ε {truth_probability}, {free_steps} free, {own:?}"
        );
        let model = pattern_2::<B>(d_hidden, vocab, with_input.then_some(d_input), device);
        let model: OutputRecurrent<B> = materialized(&model);
        let input = with_input.then(|| {
            let x = numbers.vector(batch * time * d_input, 1.0);
            SequenceInput::Dense(Tensor::from_data(
                TensorData::new(x, [batch, time, d_input]),
                device,
            ))
        });
        let truth = ids::<B>(&random_ids(&mut numbers, batch, time, vocab), device);
        let targets = ids::<B>(&random_ids(&mut numbers, batch, time, vocab), device);
        let feeding = (truth_probability, free_steps, own);
        let plan = random_plan(&mut numbers, [batch, time], feeding);

        let mut stepwise_fed = vec![column(&truth, 0)];
        let first = Feedback::Tokens(column(&truth, 0));
        let logits = model
            .forward_stepwise(input.clone(), first, time, |t, o| {
                let symbols = plan.mix(t, column(&truth, t), o);
                stepwise_fed.push(symbols.clone());
                Feedback::Tokens(symbols)
            })
            .unwrap();
        let stepwise_loss = step_cross_entropy(logits, targets.clone()).unwrap();
        let fed = model
            .fed_symbols(input.clone(), truth.clone(), &plan)
            .unwrap();
        let stepwise_fed = Tensor::stack::<2>(stepwise_fed, 1);
        assert_eq!(
            id_values(fed.clone()),
            id_values(stepwise_fed),
            "{what}: fed symbols"
        );
        assert_ne!(
            id_values(fed.clone()),
            id_values(truth.clone()),
            "{what}: own fed"
        );
        let projected = input.clone().map(|input| match input {
            SequenceInput::Dense(x) => x
                .reshape([batch * time, d_input])
                .matmul(model.input_weight.as_ref().expect("an input").val())
                .reshape([batch, time, d_hidden]),
            SequenceInput::Tokens(_) => unreachable!("dense input"),
        });
        let rollout = OutputRollout {
            feedback_weight: model.feedback_weight.val(),
            bias: model.bias.val(),
            output_weight: model.output.weight.val(),
            output_bias: model.output.bias.as_ref().expect("a bias").val(),
            projected,
            truth,
        };
        let generic = output_generic(rollout, &plan);
        assert_eq!(
            id_values(generic),
            id_values(fed.clone()),
            "{what}: generic pass"
        );

        let fused_loss = model
            .teacher_forced_loss(input, FeedbackSequence::Tokens(fed), targets)
            .unwrap();
        assert_same_losses(&what, (&model, None), fused_loss, stepwise_loss);
    }
}
