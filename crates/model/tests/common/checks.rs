//! The model checks, generic over the backend; `backend_checks!` runs each on every CPU backend.
// Hand computations keep every weight visible, -1.0 included.
#![allow(clippy::neg_multiply)]

use burn::module::{AutodiffModule, Param};
use burn::tensor::backend::AutodiffBackend;
use burn::tensor::{Int, Tensor, TensorData};
use unroll_model::{
    Feedback, FeedbackChoice, FeedbackSequence, HiddenRecurrent, HiddenRecurrentConfig,
    HiddenStack, HiddenStackConfig, InputEncoding, OutputRecurrent, OutputRecurrentConfig,
    RecurrencePath, RecurrentCell, RecurrentOutput, SequenceInput, SequenceSummarizer,
    SequenceSummarizerConfig, StepInput, step_cross_entropy,
};

use super::burn_reference::{output_recurrent_logits, step_losses};
use super::gradients::{all_gradients, check_against_finite_differences};
use super::reference::{Rnn, RnnGradients, flatten, one_hot};
pub use super::rollout_checks::{
    fused_feeding_equals_stepwise_pattern_1, fused_feeding_equals_stepwise_pattern_2,
};
use super::{Numbers, assert_close, ids, matrix, matrix_param, values, vector_param};

/// What every check needs of its backend: autodiff and the fused recurrence.
pub trait TestBackend: AutodiffBackend + unroll_model::RecurrenceBackend {}

impl<T: AutodiffBackend + unroll_model::RecurrenceBackend> TestBackend for T {}

pub use super::gated_checks::{
    gated_cells_by_hand, gated_cells_match_finite_differences, gated_stacks_match_pytorch,
    gru_matches_pytorch, lstm_matches_pytorch,
};

const EXACT: f64 = 1e-12;
const FINITE_DIFFERENCES: f64 = 1e-6;

/// `∂L/∂U`, `∂L/∂W` and `∂L/∂b` of a layer against the hand-written BPTT's.
fn assert_layer_gradients<B: AutodiffBackend>(
    layer: &unroll_model::TanhRecurrence<B>,
    gradients: &B::Gradients,
    expected: &RnnGradients,
) {
    let u = gradient(&layer.input_weight, gradients);
    assert_close("∂L/∂U", &u, &flatten(&expected.u), 1e-10);
    let w = gradient(&layer.recurrent_weight, gradients);
    assert_close("∂L/∂W", &w, &flatten(&expected.w), 1e-10);
    assert_close(
        "∂L/∂b",
        &gradient(&layer.bias, gradients),
        &expected.b,
        1e-10,
    );
}

fn gradient<B: AutodiffBackend, const D: usize>(
    param: &Param<Tensor<B, D>>,
    gradients: &B::Gradients,
) -> Vec<f64> {
    let value = param.val();
    let n = value.shape().num_elements();
    value
        .grad(gradients)
        .map(|g| g.into_data().iter::<f64>().collect())
        .unwrap_or_else(|| vec![0.0; n])
}

/// Pattern 1 with the weights of `rnn` in its one layer.
fn hidden_recurrent_from<B: TestBackend>(
    rnn: &Rnn,
    input: InputEncoding,
    device: &B::Device,
) -> HiddenRecurrent<B> {
    let mut model =
        HiddenRecurrentConfig::new(HiddenStackConfig::new(input, rnn.b.len()), rnn.c.len())
            .init::<B>(device);
    let layer = &mut model.hidden.layers[0];
    layer.input_weight = matrix_param(&rnn.u, device);
    layer.recurrent_weight = matrix_param(&rnn.w, device);
    layer.bias = vector_param(&rnn.b, device);
    model.output.weight = matrix_param(&rnn.v, device);
    model.output.bias = Some(vector_param(&rnn.c, device));
    model
}

fn random_rnn(numbers: &mut Numbers, d_input: usize, d_hidden: usize, d_output: usize) -> Rnn {
    Rnn {
        u: numbers.matrix(d_input, d_hidden, 0.8),
        w: numbers.matrix(d_hidden, d_hidden, 0.8),
        b: numbers.vector(d_hidden, 0.3),
        v: numbers.matrix(d_hidden, d_output, 0.8),
        c: numbers.vector(d_output, 0.3),
    }
}

pub fn random_ids(numbers: &mut Numbers, batch: usize, time: usize, vocab: usize) -> Vec<Vec<i64>> {
    (0..batch)
        .map(|_| {
            (0..time)
                .map(|_| {
                    ((numbers.next(1.0) + 1.0) / 2.0 * vocab as f64).floor() as i64 % vocab as i64
                })
                .collect()
        })
        .collect()
}

fn dense<B: TestBackend>(
    numbers: &mut Numbers,
    batch: usize,
    time: usize,
    width: usize,
    device: &B::Device,
) -> (Tensor<B, 3>, Vec<Vec<Vec<f64>>>) {
    let rows: Vec<Vec<Vec<f64>>> = (0..batch)
        .map(|_| numbers.matrix(time, width, 1.0))
        .collect();
    let flat: Vec<f64> = rows.iter().flatten().flatten().copied().collect();
    (
        Tensor::from_data(TensorData::new(flat, [batch, time, width]), device),
        rows,
    )
}

fn summed_cross_entropy<B: TestBackend>(
    logits: Tensor<B, 3>,
    targets: Tensor<B, 2, Int>,
) -> Tensor<B, 1> {
    step_cross_entropy(logits, targets)
        .expect("shapes agree")
        .sum()
}

/// The summed loss from Burn's own log-softmax, sharing no kernel with the fused cross-entropy.
fn burns_cross_entropy<B: TestBackend>(
    logits: Tensor<B, 3>,
    targets: Tensor<B, 2, Int>,
) -> Tensor<B, 1> {
    step_losses(logits, targets).sum()
}

pub fn hidden_recurrent_forward_by_hand<B: TestBackend>(device: &B::Device) {
    let rnn = Rnn {
        u: vec![vec![0.5, -0.5], vec![0.25, 1.0]],
        w: vec![vec![0.1, 0.2], vec![-0.3, 0.4]],
        b: vec![0.0, 0.1],
        v: vec![vec![1.0, -1.0], vec![0.5, 2.0]],
        c: vec![0.1, -0.2],
    };
    let model = hidden_recurrent_from::<B>(&rnn, InputEncoding::Tokens { vocab_size: 2 }, device);
    let out = model
        .forward(SequenceInput::Tokens(ids::<B>(&[vec![1, 0]], device)), None)
        .unwrap();
    // x(1) = token 1 selects row 1 of U; h(0) = 0.
    let h1 = [(0.0f64 + 0.25).tanh(), (0.1f64 + 1.0).tanh()];
    // x(2) = token 0; W h(1) in stored layout is Σ_i h1[i] W[i][j].
    let h2 = [
        (0.0 + 0.5 + h1[0] * 0.1 + h1[1] * -0.3f64).tanh(),
        (0.1 - 0.5 + h1[0] * 0.2 + h1[1] * 0.4f64).tanh(),
    ];
    let o = |h: [f64; 2]| {
        [
            0.1 + h[0] * 1.0 + h[1] * 0.5,
            -0.2 + h[0] * -1.0 + h[1] * 2.0,
        ]
    };
    let expected: Vec<f64> = o(h1).into_iter().chain(o(h2)).collect();
    assert_eq!(out.logits.dims(), [1, 2, 2]);
    assert_close("logits", &values(out.logits), &expected, EXACT);
    assert_eq!(out.state.dims(), [1, 1, 2]);
    assert_close("state", &values(out.state), &h2, EXACT);
}

pub fn hidden_recurrent_matches_reference_and_hand_written_bptt<B: TestBackend>(
    device: &B::Device,
) {
    let (vocab, d_hidden, batch, time) = (5, 4, 3, 6);
    let mut numbers = Numbers::new(1);
    let rnn = random_rnn(&mut numbers, vocab, d_hidden, vocab);
    let inputs = random_ids(&mut numbers, batch, time, vocab);
    let targets = random_ids(&mut numbers, batch, time, vocab);
    let model =
        hidden_recurrent_from::<B>(&rnn, InputEncoding::Tokens { vocab_size: vocab }, device);
    let out = model
        .forward(SequenceInput::Tokens(ids::<B>(&inputs, device)), None)
        .unwrap();
    let loss = summed_cross_entropy(out.logits.clone(), ids::<B>(&targets, device));

    let mut expected_logits = Vec::new();
    let mut expected_loss = 0.0;
    let mut expected = rnn.zero_gradients();
    for (sequence, target) in inputs.iter().zip(&targets) {
        let x = one_hot(sequence, vocab);
        let y: Vec<usize> = target.iter().map(|&t| t as usize).collect();
        let trace = rnn.forward(&x, &vec![0.0; d_hidden]);
        expected_logits.extend(flatten(&trace.logits));
        expected_loss += rnn.loss(&trace, &y);
        rnn.backward(&x, &trace, &y, &mut expected);
    }
    assert_close("logits", &values(out.logits), &expected_logits, 1e-10);
    assert_close("loss", &values(loss.clone()), &[expected_loss], 1e-10);

    let gradients = loss.backward();
    assert_layer_gradients(&model.hidden.layers[0], &gradients, &expected);
    assert_close(
        "∂L/∂V",
        &gradient(&model.output.weight, &gradients),
        &flatten(&expected.v),
        1e-10,
    );
    let c = model.output.bias.as_ref().unwrap();
    assert_close("∂L/∂c", &gradient(c, &gradients), &expected.c, 1e-10);
}

pub fn hidden_recurrent_dense_matches_reference_with_initial_state<B: TestBackend>(
    device: &B::Device,
) {
    let (d_input, d_hidden, d_output, batch, time) = (3, 4, 3, 2, 5);
    let mut numbers = Numbers::new(2);
    let rnn = random_rnn(&mut numbers, d_input, d_hidden, d_output);
    let (x, rows) = dense::<B>(&mut numbers, batch, time, d_input, device);
    let initial = numbers.matrix(batch, d_hidden, 0.9);
    let targets = random_ids(&mut numbers, batch, time, d_output);
    let model = hidden_recurrent_from::<B>(&rnn, InputEncoding::Dense { d_input }, device);
    let state = matrix::<B>(&initial, device).reshape([1, batch, d_hidden]);
    let out = model.forward(SequenceInput::Dense(x), Some(state)).unwrap();

    let mut expected_logits = Vec::new();
    let mut expected_state = Vec::new();
    let mut expected = rnn.zero_gradients();
    for b in 0..batch {
        let y: Vec<usize> = targets[b].iter().map(|&t| t as usize).collect();
        let trace = rnn.forward(&rows[b], &initial[b]);
        expected_logits.extend(flatten(&trace.logits));
        expected_state.extend(trace.hidden.last().unwrap().clone());
        rnn.backward(&rows[b], &trace, &y, &mut expected);
    }
    assert_close(
        "logits",
        &values(out.logits.clone()),
        &expected_logits,
        1e-10,
    );
    assert_close("state", &values(out.state), &expected_state, 1e-10);
    let gradients = summed_cross_entropy(out.logits, ids::<B>(&targets, device)).backward();
    assert_layer_gradients(&model.hidden.layers[0], &gradients, &expected);
}

pub fn hidden_recurrent_gradients_match_finite_differences<B: TestBackend>(device: &B::Device) {
    B::seed(device, 7);
    let mut numbers = Numbers::new(3);
    // Two stacked layers on dense input, from a non-zero state, for every cell.
    let (d_input, d_hidden, d_output, batch, time) = (3, 3, 4, 2, 4);
    for cell in CELLS {
        let model = pattern_1::<B>(
            InputEncoding::Dense { d_input },
            (d_hidden, 2, cell),
            d_output,
            device,
        );
        let (x, _) = dense::<B>(&mut numbers, batch, time, d_input, device);
        let rows = 2 * cell.state_rows_per_layer();
        let state = Tensor::<B, 2>::from_data(
            TensorData::new(
                numbers.vector(rows * batch * d_hidden, 0.5),
                [rows * batch, d_hidden],
            ),
            device,
        )
        .reshape([rows, batch, d_hidden]);
        let targets = ids::<B>(&random_ids(&mut numbers, batch, time, d_output), device);
        let checked = check_against_finite_differences(
            &model,
            |m: &HiddenRecurrent<B>| {
                let out = m
                    .forward(SequenceInput::Dense(x.clone()), Some(state.clone()))
                    .unwrap();
                summed_cross_entropy(out.logits, targets.clone())
            },
            FINITE_DIFFERENCES,
        );
        assert_eq!(
            checked,
            2 * layer_parameters(cell) + 2,
            "{cell:?}: every parameter of two layers, V and c"
        );
    }

    // One layer on token ids, for every cell.
    let vocab = 4;
    for cell in CELLS {
        let model = pattern_1::<B>(
            InputEncoding::Tokens { vocab_size: vocab },
            (3, 1, cell),
            vocab,
            device,
        );
        let inputs = ids::<B>(&[vec![0, 1, 2, 3, 1], vec![3, 3, 0, 2, 1]], device);
        let targets = ids::<B>(&[vec![1, 2, 3, 1, 0], vec![3, 0, 2, 1, 1]], device);
        check_against_finite_differences(
            &model,
            |m: &HiddenRecurrent<B>| {
                let out = m
                    .forward(SequenceInput::Tokens(inputs.clone()), None)
                    .unwrap();
                summed_cross_entropy(out.logits, targets.clone())
            },
            FINITE_DIFFERENCES,
        );
    }
}

/// Every cell a hidden recurrence can take.
pub const CELLS: [RecurrentCell; 3] = RecurrentCell::ALL;

/// Parameters of one layer: `U`, `W`, `b` for tanh; both weights and both biases when gated.
pub fn layer_parameters(cell: RecurrentCell) -> usize {
    match cell {
        RecurrentCell::Tanh => 3,
        RecurrentCell::Lstm | RecurrentCell::Gru => 4,
    }
}

/// `model` over rows of token ids from `state`.
fn on_ids<B: TestBackend>(
    model: &HiddenRecurrent<B>,
    rows: &[Vec<i64>],
    state: Option<Tensor<B, 3>>,
    device: &B::Device,
) -> RecurrentOutput<B> {
    let input = SequenceInput::Tokens(ids::<B>(rows, device));
    model.forward(input, state).unwrap()
}

/// The logits and final state a model gave in pieces equal those of one `whole` pass, exactly.
fn assert_same_as_whole<B: TestBackend>(
    what: &str,
    (logits, state): (Tensor<B, 3>, Tensor<B, 3>),
    whole: RecurrentOutput<B>,
) {
    let logits_what = format!("{what} logits");
    assert_close(&logits_what, &values(logits), &values(whole.logits), EXACT);
    assert_close(
        &format!("{what} state"),
        &values(state),
        &values(whole.state),
        EXACT,
    );
}

pub fn hidden_recurrent_state_carries_across_windows<B: TestBackend>(device: &B::Device) {
    B::seed(device, 11);
    for cell in CELLS {
        let tokens = InputEncoding::Tokens { vocab_size: 6 };
        let model = pattern_1::<B>(tokens, (5, 2, cell), 6, device);
        let sequence = vec![vec![0, 5, 2, 3, 1, 4], vec![2, 2, 1, 0, 5, 3]];
        let whole = on_ids(&model, &sequence, None, device);
        let (first, second): (Vec<Vec<i64>>, Vec<Vec<i64>>) = sequence
            .iter()
            .map(|s| (s[..3].to_vec(), s[3..].to_vec()))
            .unzip();
        let a = on_ids(&model, &first, None, device);
        let b = on_ids(&model, &second, Some(a.state), device);
        let joined = Tensor::cat(vec![a.logits, b.logits], 1);
        assert_eq!(whole.state.dims(), [2 * cell.state_rows_per_layer(), 2, 5]);
        assert_same_as_whole(&format!("{cell:?}"), (joined, b.state), whole);
    }
}

pub fn hidden_recurrent_step_matches_forward<B: TestBackend>(device: &B::Device) {
    B::seed(device, 12);
    for cell in CELLS {
        let tokens = InputEncoding::Tokens { vocab_size: 4 };
        let model = pattern_1::<B>(tokens, (3, 3, cell), 4, device);
        let sequence = vec![vec![0, 3, 2, 1], vec![1, 1, 3, 0]];
        let whole = on_ids(&model, &sequence, None, device);
        let mut state = None;
        let mut logits = Vec::new();
        for t in 0..4 {
            let step_ids: Vec<i64> = sequence.iter().map(|s| s[t]).collect();
            let input =
                StepInput::Tokens(Tensor::from_data(TensorData::new(step_ids, [2]), device));
            let (o, next) = model.step(input, state).unwrap();
            logits.push(o);
            state = Some(next);
        }
        let stepped = (Tensor::stack::<3>(logits, 1), state.unwrap());
        assert_same_as_whole(&format!("{cell:?}"), stepped, whole);
    }
}

/// Pattern 2 with explicit weights.
fn output_recurrent_with<B: TestBackend>(
    input: Option<(InputEncoding, Vec<Vec<f64>>)>,
    w: &[Vec<f64>],
    b: &[f64],
    v: &[Vec<f64>],
    c: &[f64],
    device: &B::Device,
) -> OutputRecurrent<B> {
    let mut model = OutputRecurrentConfig::new(b.len(), c.len())
        .with_input(input.as_ref().map(|(e, _)| *e))
        .init::<B>(device);
    if let Some((_, u)) = input {
        model.input_weight = Some(matrix_param(&u, device));
    }
    model.feedback_weight = matrix_param(w, device);
    model.bias = vector_param(b, device);
    model.output.weight = matrix_param(v, device);
    model.output.bias = Some(vector_param(c, device));
    model
}

pub fn output_recurrent_forward_by_hand<B: TestBackend>(device: &B::Device) {
    let model = output_recurrent_with::<B>(
        None,
        &[vec![0.3, -0.2], vec![0.1, 0.4]],
        &[0.05, -0.05],
        &[vec![1.0, 2.0], vec![-1.0, 0.5]],
        &[0.0, 0.1],
        device,
    );
    let logits = model
        .forward_teacher_forced(
            None,
            FeedbackSequence::Tokens(ids::<B>(&[vec![0, 1]], device)),
        )
        .unwrap();
    // y(0) = class 0 selects row 0 of W; y(1) = class 1 selects row 1. No h(t-1) anywhere.
    let h1 = [(0.05f64 + 0.3).tanh(), (-0.05f64 - 0.2).tanh()];
    let h2 = [(0.05f64 + 0.1).tanh(), (-0.05f64 + 0.4).tanh()];
    let o = |h: [f64; 2]| [h[0] * 1.0 + h[1] * -1.0, 0.1 + h[0] * 2.0 + h[1] * 0.5];
    let expected: Vec<f64> = o(h1).into_iter().chain(o(h2)).collect();
    assert_close("logits", &values(logits), &expected, EXACT);
}

fn assert_same_output_recurrent_gradients<B: TestBackend>(
    model: &OutputRecurrent<B>,
    a: &B::Gradients,
    b: &B::Gradients,
) {
    if let Some(u) = &model.input_weight {
        assert_close("∂L/∂U", &gradient(u, a), &gradient(u, b), EXACT);
    }
    assert_close(
        "∂L/∂W",
        &gradient(&model.feedback_weight, a),
        &gradient(&model.feedback_weight, b),
        EXACT,
    );
    assert_close(
        "∂L/∂b",
        &gradient(&model.bias, a),
        &gradient(&model.bias, b),
        EXACT,
    );
    assert_close(
        "∂L/∂V",
        &gradient(&model.output.weight, a),
        &gradient(&model.output.weight, b),
        EXACT,
    );
    let c = model.output.bias.as_ref().unwrap();
    assert_close("∂L/∂c", &gradient(c, a), &gradient(c, b), EXACT);
}

pub fn output_recurrent_parallel_equals_stepwise<B: TestBackend>(device: &B::Device) {
    B::seed(device, 21);
    let mut numbers = Numbers::new(4);
    let (d_input, batch, time, classes) = (3, 2, 5, 5);
    let model = OutputRecurrentConfig::new(4, classes)
        .with_input(Some(InputEncoding::Dense { d_input }))
        .init::<B>(device);
    let (x, _) = dense::<B>(&mut numbers, batch, time, d_input, device);
    let truth = random_ids(&mut numbers, batch, time + 1, classes);
    let previous: Vec<Vec<i64>> = truth.iter().map(|s| s[..time].to_vec()).collect();
    let targets = ids::<B>(
        &truth.iter().map(|s| s[1..].to_vec()).collect::<Vec<_>>(),
        device,
    );
    let previous = ids::<B>(&previous, device);

    let sequence = FeedbackSequence::Tokens(previous);
    assert_pattern_2_paths_match_reference(
        &model,
        (SequenceInput::Dense(x), sequence),
        |logits, reference| {
            let loss = if reference {
                burns_cross_entropy(logits, targets.clone())
            } else {
                summed_cross_entropy(logits, targets.clone())
            };
            loss.backward()
        },
    );
}

/// Pattern 2's parallel and step-wise logits on `input` fed `sequence`, and their gradients
/// under `loss` (told whether it scores the reference), against the unrolled reference on Burn's
/// own operations.
fn assert_pattern_2_paths_match_reference<B: TestBackend>(
    model: &OutputRecurrent<B>,
    (input, sequence): (SequenceInput<B>, FeedbackSequence<B>),
    loss: impl Fn(Tensor<B, 3>, bool) -> B::Gradients,
) {
    let parallel = model
        .forward_teacher_forced(Some(input.clone()), sequence.clone())
        .unwrap();
    let time = parallel.dims()[1];
    let stepwise = model
        .forward_stepwise(Some(input.clone()), sequence.step(0), time, |t, _| {
            sequence.step(t)
        })
        .unwrap();
    let reference = output_recurrent_logits(model, Some(&input), &sequence);
    let expected = values(reference.clone());
    assert_close(
        "parallel logits",
        &values(parallel.clone()),
        &expected,
        EXACT,
    );
    assert_close(
        "step-wise logits",
        &values(stepwise.clone()),
        &expected,
        EXACT,
    );
    let reference = loss(reference, true);
    assert_same_output_recurrent_gradients(model, &loss(parallel, false), &reference);
    assert_same_output_recurrent_gradients(model, &loss(stepwise, false), &reference);
}

pub fn output_recurrent_vector_feedback_parallel_equals_stepwise<B: TestBackend>(
    device: &B::Device,
) {
    B::seed(device, 22);
    let mut numbers = Numbers::new(5);
    let (vocab, batch, time, d_output) = (4, 3, 4, 3);
    let model = OutputRecurrentConfig::new(5, d_output)
        .with_input(Some(InputEncoding::Tokens { vocab_size: vocab }))
        .init::<B>(device);
    let inputs = ids::<B>(&random_ids(&mut numbers, batch, time, vocab), device);
    let (previous, _) = dense::<B>(&mut numbers, batch, time, d_output, device);
    let sequence = (
        SequenceInput::Tokens(inputs),
        FeedbackSequence::Dense(previous),
    );
    // A regression loss, as when the fed-back values are real-valued targets.
    assert_pattern_2_paths_match_reference(&model, sequence, |o, _| {
        o.powf_scalar(2.0).sum().backward()
    });
}

pub fn output_recurrent_gradients_match_finite_differences<B: TestBackend>(device: &B::Device) {
    B::seed(device, 23);
    let mut numbers = Numbers::new(6);
    let (vocab, batch, time) = (4, 2, 5);
    let model = OutputRecurrentConfig::new(3, vocab)
        .with_input(Some(InputEncoding::Tokens { vocab_size: vocab }))
        .init::<B>(device);
    let inputs = ids::<B>(&random_ids(&mut numbers, batch, time, vocab), device);
    let previous = ids::<B>(&random_ids(&mut numbers, batch, time, vocab), device);
    let targets = ids::<B>(&random_ids(&mut numbers, batch, time, vocab), device);
    let checked = check_against_finite_differences(
        &model,
        |m: &OutputRecurrent<B>| {
            let logits = m
                .forward_teacher_forced(
                    Some(SequenceInput::Tokens(inputs.clone())),
                    FeedbackSequence::Tokens(previous.clone()),
                )
                .unwrap();
            summed_cross_entropy(logits, targets.clone())
        },
        FINITE_DIFFERENCES,
    );
    assert_eq!(checked, 5, "U, W, b, V and c");
}

pub fn output_recurrent_stepwise_probability_feedback_gradients<B: TestBackend>(
    device: &B::Device,
) {
    // Fed its own softmax output, the model is a true recurrence through o(t-1), and the gradient
    // flows through every fed-back probability vector.
    B::seed(device, 24);
    let mut numbers = Numbers::new(7);
    let (classes, batch, time) = (3, 2, 4);
    let model = OutputRecurrentConfig::new(3, classes).init::<B>(device);
    let first = ids::<B>(&[vec![0, 2]], device).reshape([batch]);
    let targets = ids::<B>(&random_ids(&mut numbers, batch, time, classes), device);
    check_against_finite_differences(
        &model,
        |m: &OutputRecurrent<B>| {
            let logits = m
                .forward_stepwise(None, Feedback::Tokens(first.clone()), time, |_, o| {
                    Feedback::from_logits(o, FeedbackChoice::Probabilities)
                })
                .unwrap();
            summed_cross_entropy(logits, targets.clone())
        },
        FINITE_DIFFERENCES,
    );
}

pub fn sequence_summarizer_forward_by_hand<B: TestBackend>(device: &B::Device) {
    let mut model = SequenceSummarizerConfig::new(
        HiddenStackConfig::new(InputEncoding::Tokens { vocab_size: 2 }, 1),
        1,
    )
    .init::<B>(device);
    let layer = &mut model.hidden.layers[0];
    layer.input_weight = matrix_param(&[vec![0.5], vec![-1.0]], device);
    layer.recurrent_weight = matrix_param(&[vec![0.8]], device);
    layer.bias = vector_param(&[0.1], device);
    model.output.weight = matrix_param(&[vec![2.0]], device);
    model.output.bias = Some(vector_param(&[0.5], device));
    let h1 = (0.1f64 + 0.5).tanh();
    let h2 = (0.1 - 1.0 + 0.8 * h1).tanh();
    let h3 = (0.1 - 1.0 + 0.8 * h2).tanh();
    let g1 = (0.1f64 - 1.0).tanh();
    let g2 = (0.1 + 0.5 + 0.8 * g1).tanh();
    for path in [RecurrencePath::Fused, RecurrencePath::Unrolled] {
        model.hidden.path = path;
        // Second sequence is [1, 0] padded with a 1 that must be ignored.
        let input = || SequenceInput::Tokens(ids::<B>(&[vec![0, 1, 1], vec![1, 0, 1]], device));
        let out = model.forward(input(), Some(&[3, 2])).unwrap();
        assert_eq!(out.dims(), [2, 1]);
        assert_close(
            &format!("{path:?} outputs"),
            &values(out),
            &[0.5 + 2.0 * h3, 0.5 + 2.0 * g2],
            EXACT,
        );
        let summary = model.summarize(input(), Some(&[3, 2])).unwrap();
        assert_close(
            &format!("{path:?} summary"),
            &values(summary),
            &[h3, g2],
            EXACT,
        );
    }
}

/// A padded batch gives every sequence exactly what it gives alone, values and every gradient,
/// on both paths: stacked layers, token and dense input, rows stopped in any order (a stopped
/// row between running ones) and a batch large enough to be split over the cores.
pub fn sequence_summarizer_padding_equals_alone<B: TestBackend>(device: &B::Device) {
    B::seed(device, 31);
    let mut numbers = Numbers::new(8);
    let (time, d_hidden, d_output, vocab) = (6, 3, 2, 4);
    let lengths = [6usize, 3, 1, 6, 2, 5, 1, 4, 6];
    let batch = lengths.len();
    let tokens = InputEncoding::Tokens { vocab_size: vocab };
    let features = InputEncoding::Dense { d_input: 2 };
    for (input, path, cell) in [
        (features, RecurrencePath::Fused, RecurrentCell::Tanh),
        (tokens, RecurrencePath::Fused, RecurrentCell::Tanh),
        (features, RecurrencePath::Unrolled, RecurrentCell::Tanh),
        (features, RecurrencePath::Fused, RecurrentCell::Lstm),
        (tokens, RecurrencePath::Fused, RecurrentCell::Gru),
        (tokens, RecurrencePath::Fused, RecurrentCell::Lstm),
    ] {
        let mut model = SequenceSummarizerConfig::new(
            HiddenStackConfig::new(input, d_hidden)
                .with_num_layers(2)
                .with_cell(cell),
            d_output,
        )
        .init::<B>(device);
        model.hidden.path = path;
        // Padding holds arbitrary non-zero values: masking, not zeros, must make it harmless.
        let (x, sequence) = match input {
            InputEncoding::Dense { d_input } => {
                let (x, rows) = dense::<B>(&mut numbers, batch, time, d_input, device);
                let sequence = move |b: usize, length: usize| {
                    let x = matrix::<B>(&rows[b][..length], device);
                    SequenceInput::Dense(x.reshape([1, length, d_input]))
                };
                (
                    SequenceInput::Dense(x),
                    Box::new(sequence) as Box<dyn Fn(_, _) -> _>,
                )
            }
            InputEncoding::Tokens { vocab_size } => {
                let rows = random_ids(&mut numbers, batch, time, vocab_size);
                let x = SequenceInput::Tokens(ids::<B>(&rows, device));
                let sequence = move |b: usize, length: usize| {
                    SequenceInput::Tokens(ids::<B>(&[rows[b][..length].to_vec()], device))
                };
                (x, Box::new(sequence) as Box<dyn Fn(_, _) -> _>)
            }
        };
        let weights = matrix::<B>(&numbers.matrix(batch, d_output, 1.0), device);
        let batched = model.forward(x, Some(&lengths)).unwrap();
        let batched_gradients = (batched.clone() * weights.clone()).sum().backward();

        let mut alone_outputs = Vec::new();
        let mut alone_loss = None;
        for (b, &length) in lengths.iter().enumerate() {
            let o = model.forward(sequence(b, length), None).unwrap();
            alone_outputs.extend(values(o.clone()));
            let term = (o * weights.clone().narrow(0, b, 1)).sum();
            alone_loss = Some(match alone_loss {
                None => term,
                Some(sum) => sum + term,
            });
        }
        let what = format!("{input:?} {path:?} {cell:?}");
        assert_close(&what, &values(batched), &alone_outputs, EXACT);
        let alone_gradients = alone_loss.unwrap().backward();
        let batched = all_gradients(&model, &batched_gradients);
        assert_eq!(
            batched.len(),
            2 * layer_parameters(cell) + 2,
            "every parameter has a gradient"
        );
        assert_same_gradients(&what, &batched, &all_gradients(&model, &alone_gradients));
    }
}

pub fn sequence_summarizer_gradients_match_finite_differences<B: TestBackend>(device: &B::Device) {
    B::seed(device, 32);
    let mut numbers = Numbers::new(9);
    let inputs = ids::<B>(&random_ids(&mut numbers, 2, 4, 3), device);
    let targets = matrix::<B>(&numbers.matrix(2, 2, 1.0), device);
    for (path, cell) in [
        (RecurrencePath::Fused, RecurrentCell::Tanh),
        (RecurrencePath::Unrolled, RecurrentCell::Tanh),
        (RecurrencePath::Fused, RecurrentCell::Lstm),
        (RecurrencePath::Fused, RecurrentCell::Gru),
    ] {
        let mut model = SequenceSummarizerConfig::new(
            HiddenStackConfig::new(InputEncoding::Tokens { vocab_size: 3 }, 3)
                .with_num_layers(2)
                .with_cell(cell),
            2,
        )
        .init::<B>(device);
        model.hidden.path = path;
        for lengths in [None, Some([4, 2])] {
            let checked = check_against_finite_differences(
                &model,
                |m: &SequenceSummarizer<B>| {
                    let o = m
                        .forward(
                            SequenceInput::Tokens(inputs.clone()),
                            lengths.as_ref().map(|l| &l[..]),
                        )
                        .unwrap();
                    (o - targets.clone()).powf_scalar(2.0).sum()
                },
                FINITE_DIFFERENCES,
            );
            assert_eq!(checked, 2 * layer_parameters(cell) + 2, "{cell:?}");
        }
    }
}

/// Pattern 3 as a feature extractor: its summary `h(τ)` feeds a module of the caller's, whose
/// loss alone trains the recurrence (pattern 3's own output layer gets no gradient).
#[derive(burn::module::Module, Debug)]
pub struct SummaryWithHead<B: burn::tensor::backend::Backend> {
    summarizer: SequenceSummarizer<B>,
    head: burn::nn::Linear<B>,
}

pub fn sequence_summarizer_summary_trains_a_downstream_module<B: TestBackend>(device: &B::Device) {
    B::seed(device, 33);
    let mut numbers = Numbers::new(10);
    let (batch, time, d_input, d_hidden) = (3, 5, 2, 4);
    let model = SummaryWithHead {
        summarizer: SequenceSummarizerConfig::new(
            HiddenStackConfig::new(InputEncoding::Dense { d_input }, d_hidden).with_num_layers(2),
            1,
        )
        .init::<B>(device),
        head: burn::nn::LinearConfig::new(d_hidden, 2).init(device),
    };
    let x = dense::<B>(&mut numbers, batch, time, d_input, device).0;
    let targets = matrix::<B>(&numbers.matrix(batch, 2, 1.0), device);
    let loss = |m: &SummaryWithHead<B>| {
        let summary = m
            .summarizer
            .summarize(SequenceInput::Dense(x.clone()), Some(&[5, 2, 4]))
            .unwrap();
        assert_eq!(summary.dims(), [batch, d_hidden]);
        (m.head.forward(summary) - targets.clone())
            .powf_scalar(2.0)
            .sum()
    };
    // The recurrence's 2 × 3 parameters and the head's 2; the unused output layer has none.
    let checked = check_against_finite_differences(&model, loss, FINITE_DIFFERENCES);
    assert_eq!(checked, 2 * 3 + 2);
    let gradients = loss(&model).backward();
    assert!(model.summarizer.output.weight.grad(&gradients).is_none());
}

/// The paths pattern 2 trains with: the per-symbol logits table (token feedback, no input) and
/// the fused output layer and loss (with an input), through `teacher_forced_loss` and
/// `forward_teacher_forced`.
pub fn output_recurrent_training_paths_match_finite_differences<B: TestBackend>(
    device: &B::Device,
) {
    B::seed(device, 25);
    let mut numbers = Numbers::new(15);
    let (batch, time, classes, d_input) = (2, 4, 4, 3);
    for with_input in [false, true] {
        let model = pattern_2::<B>(3, classes, with_input.then_some(d_input), device);
        let input = with_input.then(|| {
            SequenceInput::Dense(dense::<B>(&mut numbers, batch, time, d_input, device).0)
        });
        let previous = FeedbackSequence::Tokens(ids::<B>(
            &random_ids(&mut numbers, batch, time, classes),
            device,
        ));
        let targets = ids::<B>(&random_ids(&mut numbers, batch, time, classes), device);
        let weights = step_weights::<B>(&mut numbers, batch, time, device);
        let parameters = if with_input { 5 } else { 4 };
        let checked = check_against_finite_differences(
            &model,
            |m: &OutputRecurrent<B>| {
                let losses = m
                    .teacher_forced_loss(input.clone(), previous.clone(), targets.clone())
                    .unwrap();
                (losses * weights.clone()).sum()
            },
            FINITE_DIFFERENCES,
        );
        assert_eq!(
            checked, parameters,
            "teacher_forced_loss, input: {with_input}"
        );
        let checked = check_against_finite_differences(
            &model,
            |m: &OutputRecurrent<B>| {
                let logits = m
                    .forward_teacher_forced(input.clone(), previous.clone())
                    .unwrap();
                (logits.clone() * logits).sum()
            },
            FINITE_DIFFERENCES,
        );
        assert_eq!(
            checked, parameters,
            "forward_teacher_forced, input: {with_input}"
        );
    }
}

pub fn loss_matches_hand_computed_cross_entropy<B: TestBackend>(device: &B::Device) {
    let logits = Tensor::<B, 3>::from_data(
        TensorData::new(vec![1.0f64, 2.0, 0.5, -1.0, 0.0, 3.0], [1, 2, 3]),
        device,
    );
    let losses = step_cross_entropy(logits, ids::<B>(&[vec![1, 0]], device)).unwrap();
    let nll = |o: [f64; 3], y: usize| -(o[y] - o.iter().map(|v| v.exp()).sum::<f64>().ln());
    let expected = [nll([1.0, 2.0, 0.5], 1), nll([-1.0, 0.0, 3.0], 0)];
    assert_close("losses", &values(losses), &expected, EXACT);
}

/// A copy with the same weights. Burn initialises parameters lazily, on first use, so a clone
/// of a fresh module would draw its own; reading every parameter first fixes them.
pub fn materialized<B: TestBackend, M: burn::module::Module<B>>(module: &M) -> M {
    struct Touch;
    impl<B: burn::tensor::backend::Backend> burn::module::ModuleVisitor<B> for Touch {
        fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<B, D>>) {
            let _ = param.val();
        }
    }
    module.visit(&mut Touch);
    module.clone()
}

pub fn assert_same_gradients(what: &str, a: &[Vec<f64>], b: &[Vec<f64>]) {
    assert_eq!(a.len(), b.len(), "{what}: parameter counts");
    for (k, (x, y)) in a.iter().zip(b).enumerate() {
        assert_close(&format!("{what}: parameter {k}"), x, y, 1e-10);
    }
}

/// A random input sequence `[batch, time]` in `stack`'s encoding and, `with_state`, a tracked
/// random initial state of `stack`'s shape.
pub fn random_case<B: TestBackend>(
    numbers: &mut Numbers,
    stack: &HiddenStack<B>,
    (batch, time, with_state): (usize, usize, bool),
    device: &B::Device,
) -> (SequenceInput<B>, Option<Tensor<B, 3>>) {
    let [layers, _, d_hidden] = stack.state_dims(batch);
    let sequence = match stack.input {
        InputEncoding::Tokens { vocab_size } => SequenceInput::Tokens(ids::<B>(
            &random_ids(numbers, batch, time, vocab_size),
            device,
        )),
        InputEncoding::Dense { d_input } => {
            SequenceInput::Dense(dense::<B>(numbers, batch, time, d_input, device).0)
        }
    };
    let state = with_state.then(|| {
        Tensor::<B, 2>::from_data(
            TensorData::new(
                numbers.vector(layers * batch * d_hidden, 0.7),
                [layers * batch, d_hidden],
            ),
            device,
        )
        .reshape([layers, batch, d_hidden])
        .require_grad()
    });
    (sequence, state)
}

/// A pattern-1 model on `input`: `layers` layers of `cell` with `d_hidden` units, `d_output`
/// outputs.
pub fn pattern_1<B: TestBackend>(
    input: InputEncoding,
    (d_hidden, layers, cell): (usize, usize, RecurrentCell),
    d_output: usize,
    device: &B::Device,
) -> HiddenRecurrent<B> {
    let stack = HiddenStackConfig::new(input, d_hidden)
        .with_num_layers(layers)
        .with_cell(cell);
    HiddenRecurrentConfig::new(stack, d_output).init::<B>(device)
}

/// A pattern-2 model of `d_hidden` units and `classes` classes, reading `d_input` dense features
/// at each step when given.
pub fn pattern_2<B: TestBackend>(
    d_hidden: usize,
    classes: usize,
    d_input: Option<usize>,
    device: &B::Device,
) -> OutputRecurrent<B> {
    let input = d_input.map(|d_input| InputEncoding::Dense { d_input });
    OutputRecurrentConfig::new(d_hidden, classes)
        .with_input(input)
        .init::<B>(device)
}

/// A pattern-1 model of `cell` on the fused path, and the same weights on the unrolled path.
fn fused_and_unrolled<B: TestBackend>(
    input: InputEncoding,
    d_hidden: usize,
    layers: usize,
    cell: RecurrentCell,
    classes: usize,
    device: &B::Device,
) -> (HiddenRecurrent<B>, HiddenRecurrent<B>) {
    let fused = pattern_1::<B>(input, (d_hidden, layers, cell), classes, device);
    let mut unrolled = materialized(&fused);
    unrolled.hidden.path = RecurrencePath::Unrolled;
    (fused, unrolled)
}

/// The stacks the fused-against-unrolled proofs run, for a vocabulary of `vocab_size`: each
/// cell, token and dense input, one to three layers, with and without a given `h(0)`.
fn stack_cases(vocab_size: usize) -> [(InputEncoding, usize, bool, RecurrentCell); 11] {
    let (tokens, features) = (
        InputEncoding::Tokens { vocab_size },
        InputEncoding::Dense { d_input: 4 },
    );
    let (tanh, lstm, gru) = (RecurrentCell::Tanh, RecurrentCell::Lstm, RecurrentCell::Gru);
    [
        (tokens, 1, false, tanh),
        (tokens, 1, true, tanh),
        (features, 2, true, tanh),
        (tokens, 3, true, tanh),
        (tokens, 3, false, tanh),
        (tokens, 2, true, lstm),
        (features, 1, true, lstm),
        (features, 1, false, lstm),
        (tokens, 1, false, gru),
        (tokens, 2, true, gru),
        (features, 2, true, gru),
    ]
}

/// Every parameter's gradient agrees between `models`' two backward passes `grads`, and so does
/// `∂L/∂h(0)` when the case gave a tracked `state`.
pub fn assert_same_case_gradients<B: TestBackend, M: AutodiffModule<B>>(
    what: &str,
    models: [&M; 2],
    state: Option<Tensor<B, 3>>,
    grads: [B::Gradients; 2],
) {
    let [a, b] = &grads;
    let [model_a, model_b] = models;
    assert_same_gradients(what, &all_gradients(model_a, a), &all_gradients(model_b, b));
    if let Some(state) = state {
        let gradient = |grads: &B::Gradients| values(state.grad(grads).expect("h(0) is tracked"));
        let what = format!("{what}: ∂L/∂h(0)");
        assert_close(&what, &gradient(a), &gradient(b), 1e-10);
    }
}

pub fn fused_recurrence_equals_unrolled<B: TestBackend>(device: &B::Device) {
    B::seed(device, 41);
    let mut numbers = Numbers::new(10);
    let (batch, time, d_hidden) = (3, 7, 5);
    for (input, layers, with_state, cell) in stack_cases(6) {
        let (fused, unrolled) = fused_and_unrolled::<B>(input, d_hidden, layers, cell, 6, device);
        let case = (batch, time, with_state);
        let (sequence, state) = random_case(&mut numbers, &fused.hidden, case, device);
        let targets = ids::<B>(&random_ids(&mut numbers, batch, time, 6), device);
        let what = format!("{input:?}, {layers} layer(s), {cell:?}");
        let a = fused.forward(sequence.clone(), state.clone()).unwrap();
        let b = unrolled.forward(sequence, state.clone()).unwrap();
        assert_close(
            &format!("{what}: logits"),
            &values(a.logits.clone()),
            &values(b.logits.clone()),
            1e-12,
        );
        assert_close(
            &format!("{what}: state"),
            &values(a.state.clone()),
            &values(b.state.clone()),
            1e-12,
        );
        // The loss also reads the final state, so its gradient path is checked too. The fused
        // side scores with the fused cross-entropy, the reference with Burn's log-softmax.
        let fused_loss =
            summed_cross_entropy(a.logits, targets.clone()) + a.state.sum().mul_scalar(0.3);
        let reference_loss =
            burns_cross_entropy(b.logits, targets.clone()) + b.state.sum().mul_scalar(0.3);
        let grads = [fused_loss.backward(), reference_loss.backward()];
        assert_same_case_gradients(&what, [&fused, &unrolled], state, grads);
    }
}

pub fn fused_sequence_summarizer_equals_unrolled<B: TestBackend>(device: &B::Device) {
    B::seed(device, 42);
    let mut numbers = Numbers::new(11);
    for (cell, lengths) in [
        (RecurrentCell::Tanh, None),
        (RecurrentCell::Tanh, Some([6, 2, 4])),
        (RecurrentCell::Lstm, None),
        (RecurrentCell::Lstm, Some([3, 6, 1])),
        (RecurrentCell::Gru, Some([6, 1, 5])),
    ] {
        let fused = SequenceSummarizerConfig::new(
            HiddenStackConfig::new(InputEncoding::Dense { d_input: 3 }, 4)
                .with_num_layers(2)
                .with_cell(cell),
            2,
        )
        .init::<B>(device);
        let mut unrolled = materialized(&fused);
        unrolled.hidden.path = RecurrencePath::Unrolled;
        let x = SequenceInput::Dense(dense::<B>(&mut numbers, 3, 6, 3, device).0);
        let lengths = lengths.as_ref().map(|l| &l[..]);
        let a = fused.forward(x.clone(), lengths).unwrap();
        let b = unrolled.forward(x, lengths).unwrap();
        let what = format!("pattern 3, {cell:?}, lengths {lengths:?}");
        assert_close(&what, &values(a.clone()), &values(b.clone()), 1e-12);
        let grads_a = a.powf_scalar(2.0).sum().backward();
        let grads_b = b.powf_scalar(2.0).sum().backward();
        assert_same_gradients(
            &what,
            &all_gradients(&fused, &grads_a),
            &all_gradients(&unrolled, &grads_b),
        );
    }
}

/// Per-step weights for a loss, so that every row's gradient differs.
fn step_weights<B: TestBackend>(
    numbers: &mut Numbers,
    batch: usize,
    time: usize,
    device: &B::Device,
) -> Tensor<B, 2> {
    Tensor::from_data(
        TensorData::new(numbers.vector(batch * time, 1.0), [batch, time]),
        device,
    )
}

pub fn fused_forward_loss_equals_unrolled<B: TestBackend>(device: &B::Device) {
    B::seed(device, 43);
    let mut numbers = Numbers::new(12);
    let (batch, time, d_hidden, classes) = (9, 6, 5, 7);
    for (input, layers, with_state, cell) in stack_cases(classes) {
        let (fused, unrolled) =
            fused_and_unrolled::<B>(input, d_hidden, layers, cell, classes, device);
        let case = (batch, time, with_state);
        let (sequence, state) = random_case(&mut numbers, &fused.hidden, case, device);
        let targets = ids::<B>(&random_ids(&mut numbers, batch, time, classes), device);
        let weights = step_weights::<B>(&mut numbers, batch, time, device);
        let what = format!("forward_loss {input:?}, {layers} layer(s), {cell:?}");
        let (losses_a, state_a) = fused
            .forward_loss(sequence.clone(), state.clone(), targets.clone())
            .unwrap();
        let (losses_b, state_b) = unrolled
            .forward_loss(sequence.clone(), state.clone(), targets.clone())
            .unwrap();
        assert_close(
            &format!("{what}: losses"),
            &values(losses_a.clone()),
            &values(losses_b.clone()),
            EXACT,
        );
        assert_close(
            &format!("{what}: state"),
            &values(state_a),
            &values(state_b),
            EXACT,
        );
        // The fused loss agrees with the logits of the plain forward pass as well.
        let logits = fused.forward(sequence, state.clone()).unwrap().logits;
        assert_close(
            &format!("{what}: against forward"),
            &values(losses_a.clone()),
            &values(step_cross_entropy(logits, targets).unwrap()),
            EXACT,
        );
        let grads = [losses_a, losses_b].map(|losses| (losses * weights.clone()).sum().backward());
        assert_same_case_gradients(&what, [&fused, &unrolled], state, grads);
    }
}

pub fn fused_cross_entropy_equals_burns_log_softmax<B: TestBackend>(device: &B::Device) {
    let mut numbers = Numbers::new(13);
    let (rows, classes) = (300, 9);
    let logits = Tensor::<B, 2>::from_data(
        TensorData::new(numbers.vector(rows * classes, 6.0), [rows, classes]),
        device,
    )
    .require_grad();
    let targets: Vec<i64> = (0..rows).map(|n| ((n * 5) % classes) as i64).collect();
    let targets = Tensor::<B, 1, Int>::from_data(TensorData::new(targets, [rows]), device);
    let weights =
        Tensor::<B, 1>::from_data(TensorData::new(numbers.vector(rows, 1.0), [rows]), device);
    let fused = step_cross_entropy(
        logits.clone().reshape([3, rows / 3, classes]),
        targets.clone().reshape([3, rows / 3]),
    )
    .unwrap()
    .reshape([rows]);
    let reference = step_losses(
        logits.clone().reshape([1, rows, classes]),
        targets.clone().reshape([1, rows]),
    )
    .reshape([rows]);
    assert_close(
        "losses",
        &values(fused.clone()),
        &values(reference.clone()),
        EXACT,
    );
    let a = (fused * weights.clone()).sum().backward();
    let b = (reference * weights).sum().backward();
    assert_close(
        "∂L/∂o",
        &values(logits.grad(&a).unwrap()),
        &values(logits.grad(&b).unwrap()),
        EXACT,
    );
}

pub fn output_recurrent_teacher_forced_loss_equals_stepwise<B: TestBackend>(device: &B::Device) {
    B::seed(device, 44);
    let mut numbers = Numbers::new(14);
    let (batch, time, classes, d_input) = (5, 6, 7, 3);
    for with_input in [false, true] {
        let model = pattern_2::<B>(4, classes, with_input.then_some(d_input), device);
        let x = with_input.then(|| dense::<B>(&mut numbers, batch, time, d_input, device).0);
        let truth = random_ids(&mut numbers, batch, time + 1, classes);
        let previous: Vec<Vec<i64>> = truth.iter().map(|s| s[..time].to_vec()).collect();
        let targets = ids::<B>(
            &truth.iter().map(|s| s[1..].to_vec()).collect::<Vec<_>>(),
            device,
        );
        let previous = FeedbackSequence::Tokens(ids::<B>(&previous, device));
        let weights = step_weights::<B>(&mut numbers, batch, time, device);
        let input = x.map(SequenceInput::Dense);
        let fused = model
            .teacher_forced_loss(input.clone(), previous.clone(), targets.clone())
            .unwrap();
        let logits = model
            .forward_teacher_forced(input.clone(), previous.clone())
            .unwrap();
        let stepwise = model
            .forward_stepwise(input.clone(), previous.step(0), time, |t, _| {
                previous.step(t)
            })
            .unwrap();
        // The reference: pattern 2 unrolled on Burn's own tanh, scored by Burn's log-softmax.
        let reference_logits = output_recurrent_logits(&model, input.as_ref(), &previous);
        let expected = values(reference_logits.clone());
        assert_close("logits", &values(logits), &expected, EXACT);
        assert_close("step-wise logits", &values(stepwise), &expected, EXACT);
        let reference = step_losses(reference_logits, targets);
        let what = if with_input {
            "with input"
        } else {
            "tokens only"
        };
        assert_close(
            what,
            &values(fused.clone()),
            &values(reference.clone()),
            EXACT,
        );
        let a = (fused * weights.clone()).sum().backward();
        let b = (reference * weights).sum().backward();
        assert_same_output_recurrent_gradients(&model, &a, &b);
    }
}
