//! The model checks, generic over the backend; `backend_checks!` runs each on every CPU backend.
// Hand computations keep every weight visible, -1.0 included.
#![allow(clippy::neg_multiply)]

use burn::module::{AutodiffModule, Param};
use burn::tensor::backend::AutodiffBackend;
use burn::tensor::{Int, Tensor, TensorData};
use unroll_model::{
    Feedback, FeedbackChoice, FeedbackSequence, HiddenRecurrent, HiddenRecurrentConfig,
    HiddenStack, HiddenStackConfig, HiddenState, InputEncoding, Layer, OutputRecurrent,
    OutputRecurrentConfig, RecurrencePath, RecurrentCell, RecurrentOutput, SequenceInput,
    SequenceSummarizer, SequenceSummarizerConfig, StepInput, TanhRecurrence, step_cross_entropy,
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

pub use super::bidirectional_checks::{
    bidirectional_encoder_starts_the_decoder, bidirectional_patterns_match_finite_differences,
    bidirectional_stacks_match_pytorch,
};
pub use super::gated_checks::{
    gated_cells_by_hand, gated_cells_match_finite_differences, gated_stacks_match_pytorch,
    gru_matches_pytorch, lstm_matches_pytorch,
};

mod direction;
mod fused;
mod pattern_1;
mod pattern_2;
mod pattern_3;
mod seq2seq;
mod untied;

pub use direction::*;
pub use fused::*;
pub use pattern_1::*;
pub use pattern_2::*;
pub use pattern_3::*;
pub use seq2seq::*;
pub use untied::*;

const EXACT: f64 = 1e-12;
pub const FINITE_DIFFERENCES: f64 = 1e-6;

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
    let layer = tanh_layer(&mut model.hidden.layers[0]);
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

/// Every cell a hidden recurrence can take.
pub const CELLS: &[RecurrentCell] = RecurrentCell::ALL;

/// Parameters of one layer: `U`, `W`, `b` for tanh; both weights and both biases when gated.
pub fn layer_parameters(cell: RecurrentCell) -> usize {
    match cell {
        RecurrentCell::Tanh => 3,
        RecurrentCell::Lstm | RecurrentCell::Gru => 4,
    }
}

/// Pattern 3 as a feature extractor: its summary `h(τ)` feeds a module of the caller's, whose
/// loss alone trains the recurrence (pattern 3's own output layer gets no gradient).
#[derive(burn::module::Module, Debug)]
pub struct SummaryWithHead<B: burn::tensor::backend::Backend> {
    summarizer: SequenceSummarizer<B>,
    head: burn::nn::Linear<B>,
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
/// random initial state of `stack`'s shape, packed (`h` of every layer, then `c` of every layer
/// for an LSTM: [`packed_state`] names it), so that its gradient is one tensor's.
pub fn random_case<B: TestBackend>(
    numbers: &mut Numbers,
    stack: &HiddenStack<B>,
    (batch, time, with_state): (usize, usize, bool),
    device: &B::Device,
) -> (SequenceInput<B>, Option<Tensor<B, 3>>) {
    let [layers, _, d_hidden] = stack.state_dims(batch);
    let layers = layers * (1 + usize::from(stack.cell().has_cell_state()));
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

/// The named state of a packed one (see [`random_case`]), for `stack`.
pub fn packed_state<B: TestBackend>(
    stack: &HiddenStack<B>,
    packed: &Option<Tensor<B, 3>>,
) -> Option<HiddenState<B>> {
    packed
        .clone()
        .map(|packed| HiddenState::from_packed(packed, stack.cell().has_cell_state()))
}

/// The tanh layer in `layer`.
pub fn tanh_layer<B: TestBackend>(layer: &mut Layer<B>) -> &mut TanhRecurrence<B> {
    match layer {
        Layer::Tanh(layer) => layer,
        other => panic!("a tanh layer expected, got the {:?} cell", other.kind()),
    }
}
