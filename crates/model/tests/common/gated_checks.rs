//! The gated cells against PyTorch's own numbers (`tests/fixtures/gated_cells.json`, written by
//! `scripts/pytorch_cell_fixture.py` with `torch.nn.LSTM` and `torch.nn.GRU` in f64: outputs,
//! final states and every gradient), against a step computed by hand, and against finite
//! differences.

use burn::module::Param;
use burn::tensor::{Tensor, TensorData};
use serde_json::Value;
use unroll_model::{
    GruCell, GruCellConfig, HiddenStack, HiddenStackConfig, HiddenState, InputEncoding, Layer,
    LstmCell, LstmCellConfig, LstmState, RecurrencePath, RecurrentCell, SequenceInput,
};

use super::checks::TestBackend;
use super::gradients::check_against_finite_differences;
use super::{assert_close, values};

const FIXTURE: &str = include_str!("../fixtures/gated_cells.json");
/// PyTorch and Burn sum in different orders: f64 agrees to about 1e-15 per operation.
pub const AGREEMENT: f64 = 1e-10;

fn fixture(kind: &str) -> Value {
    let all: Value = serde_json::from_str(FIXTURE).expect("the fixture is JSON");
    all[kind].clone()
}

pub fn numbers(case: &Value, key: &str) -> Vec<f64> {
    case[key]
        .as_array()
        .unwrap_or_else(|| panic!("fixture key {key}"))
        .iter()
        .map(|v| v.as_f64().unwrap())
        .collect()
}

pub fn tensor<B: TestBackend, const D: usize>(
    values: Vec<f64>,
    shape: [usize; D],
    device: &B::Device,
) -> Tensor<B, D> {
    Tensor::from_data(TensorData::new(values, shape), device)
}

/// PyTorch's `[rows, cols]` weight, stored transposed as the cells store it.
fn transposed<B: TestBackend>(
    case: &Value,
    key: &str,
    [rows, cols]: [usize; 2],
    device: &B::Device,
) -> Param<Tensor<B, 2>> {
    Param::from_tensor(tensor::<B, 2>(numbers(case, key), [rows, cols], device).transpose())
}

fn bias<B: TestBackend>(case: &Value, key: &str, device: &B::Device) -> Param<Tensor<B, 1>> {
    let values = numbers(case, key);
    let len = values.len();
    Param::from_tensor(tensor::<B, 1>(values, [len], device))
}

/// `[batch, time, input, hidden]`.
fn sizes(case: &Value) -> [usize; 4] {
    ["batch", "time", "input", "hidden"].map(|k| case[k].as_u64().unwrap() as usize)
}

/// PyTorch's layer `layer` of `case` as a cell of unroll: an LSTM when the case has `c0`, a GRU
/// otherwise.
fn gated_layer<B: TestBackend>(case: &Value, layer: usize, device: &B::Device) -> Layer<B> {
    pytorch_layer(case, layer, case.get("c0").is_some(), device)
}

/// PyTorch's layer `layer` of `case` (its `weight_ih_l{layer}`…, sized by the case's `input`
/// and `hidden`) as a cell of unroll: an LSTM when `lstm`, a GRU otherwise.
pub fn pytorch_layer<B: TestBackend>(
    case: &Value,
    layer: usize,
    lstm: bool,
    device: &B::Device,
) -> Layer<B> {
    let gates = if lstm { 4 } else { 3 };
    let [input, hidden] = ["input", "hidden"].map(|k| case[k].as_u64().unwrap() as usize);
    let input = if layer == 0 { input } else { hidden };
    let key = |name: &str| format!("{name}_l{layer}");
    let input_weight = transposed::<B>(case, &key("weight_ih"), [gates * hidden, input], device);
    let hidden_weight = transposed::<B>(case, &key("weight_hh"), [gates * hidden, hidden], device);
    let input_bias = bias::<B>(case, &key("bias_ih"), device);
    let hidden_bias = bias::<B>(case, &key("bias_hh"), device);
    if lstm {
        Layer::Lstm(LstmCell {
            input_weight,
            hidden_weight,
            input_bias,
            hidden_bias,
        })
    } else {
        Layer::Gru(GruCell {
            input_weight,
            hidden_weight,
            input_bias,
            hidden_bias,
        })
    }
}

/// Layer `layer`'s parameter gradients against PyTorch's.
pub fn assert_layer_gradients<B: TestBackend>(
    kind: &str,
    case: &Value,
    k: usize,
    layer: &Layer<B>,
    gradients: &<B as burn::tensor::backend::AutodiffBackend>::Gradients,
) {
    let ([input_weight, hidden_weight], [input_bias, hidden_bias]) = match layer {
        Layer::Lstm(c) => (
            [&c.input_weight, &c.hidden_weight],
            [&c.input_bias, &c.hidden_bias],
        ),
        Layer::Gru(c) => (
            [&c.input_weight, &c.hidden_weight],
            [&c.input_bias, &c.hidden_bias],
        ),
        Layer::Tanh(_) => panic!("the fixtures are of gated cells"),
    };
    for (name, weight) in [("weight_ih", input_weight), ("weight_hh", hidden_weight)] {
        let gradient = weight.val().grad(gradients).unwrap().transpose();
        let expected = numbers(case, &format!("grad_{name}_l{k}"));
        assert_close(
            &format!("{kind} {name}_l{k}"),
            &values(gradient),
            &expected,
            AGREEMENT,
        );
    }
    for (name, bias) in [("bias_ih", input_bias), ("bias_hh", hidden_bias)] {
        let expected = numbers(case, &format!("grad_{name}_l{k}"));
        let gradient = values(bias.val().grad(gradients).unwrap());
        assert_close(
            &format!("{kind} {name}_l{k}"),
            &gradient,
            &expected,
            AGREEMENT,
        );
    }
}

/// The gradients of the input and the initial states against PyTorch's: `inputs` pairs a
/// fixture key (`x`, `h0`, `c0`) with the tensor it was computed for.
fn assert_input_gradients<B: TestBackend, const D: usize>(
    kind: &str,
    case: &Value,
    inputs: Vec<(&str, Tensor<B, D>)>,
    gradients: &<B as burn::tensor::backend::AutodiffBackend>::Gradients,
) {
    for (key, tensor) in inputs {
        let gradient = values(tensor.grad(gradients).unwrap());
        let expected = numbers(case, &format!("grad_{key}"));
        assert_close(&format!("{kind} ∂{key}"), &gradient, &expected, AGREEMENT);
    }
}

/// The weighted sum the fixture differentiated: of the outputs and of each final state
/// (`[layers · batch, hidden]` values in PyTorch's order).
fn fixture_loss<B: TestBackend, const D: usize>(
    case: &Value,
    outputs: Tensor<B, 3>,
    finals: Vec<(&str, Tensor<B, D>)>,
    device: &B::Device,
) -> Tensor<B, 1> {
    let [batch, time, _, hidden] = sizes(case);
    let weights = numbers(case, "output_weights");
    let mut loss = (outputs * tensor::<B, 3>(weights, [batch, time, hidden], device)).sum();
    for (key, state) in finals {
        let shape = state.dims();
        let weights = tensor::<B, D>(numbers(case, key), shape, device);
        loss = loss + (state * weights).sum();
    }
    let expected = case["loss"].as_f64().unwrap();
    assert_close("loss", &values(loss.clone()), &[expected], AGREEMENT);
    loss
}

/// The input and the initial states of a fixture, `x` `[batch, time, input]` and `h0`, `c0`
/// `[layers, batch, hidden]`, each requiring its gradient.
fn fixture_inputs<B: TestBackend>(
    case: &Value,
    device: &B::Device,
) -> (Tensor<B, 3>, Tensor<B, 3>, Option<Tensor<B, 3>>) {
    let [batch, time, input, hidden] = sizes(case);
    let layers = case["layers"].as_u64().unwrap() as usize;
    let x = tensor::<B, 3>(numbers(case, "x"), [batch, time, input], device).require_grad();
    let state = |key: &str| {
        tensor::<B, 3>(numbers(case, key), [layers, batch, hidden], device).require_grad()
    };
    let c0 = case.get("c0").map(|_| state("c0"));
    (x, state("h0"), c0)
}

fn first_layer<B: TestBackend>(state: &Tensor<B, 3>) -> Tensor<B, 2> {
    let [_, batch, hidden] = state.dims();
    state.clone().reshape([batch, hidden])
}

pub fn lstm_matches_pytorch<B: TestBackend>(device: &B::Device) {
    let case = fixture("lstm");
    let layer = gated_layer::<B>(&case, 0, device);
    let Layer::Lstm(cell) = &layer else {
        panic!("an LSTM fixture has c0")
    };
    let (x, h0, c0) = fixture_inputs::<B>(&case, device);
    let c0 = c0.expect("an LSTM fixture has c0");
    let state = LstmState {
        hidden: first_layer(&h0),
        cell: first_layer(&c0),
    };
    let (outputs, last) = cell.forward(x.clone(), Some(state));
    for (what, got, key) in [
        ("lstm outputs", values(outputs.clone()), "outputs"),
        ("lstm h_n", values(last.hidden.clone()), "h_n"),
        ("lstm c_n", values(last.cell.clone()), "c_n"),
    ] {
        assert_close(what, &got, &numbers(&case, key), AGREEMENT);
    }
    let finals = vec![("final_weights", last.hidden), ("cell_weights", last.cell)];
    let gradients = fixture_loss(&case, outputs, finals, device).backward();
    assert_layer_gradients("lstm", &case, 0, &layer, &gradients);
    assert_input_gradients("lstm", &case, vec![("h0", h0), ("c0", c0)], &gradients);
    assert_input_gradients("lstm", &case, vec![("x", x)], &gradients);
}

pub fn gru_matches_pytorch<B: TestBackend>(device: &B::Device) {
    let case = fixture("gru");
    let (x, h0, _) = fixture_inputs::<B>(&case, device);
    let layer = gated_layer::<B>(&case, 0, device);
    let Layer::Gru(cell) = &layer else {
        panic!("a GRU fixture has no c0")
    };
    let (outputs, last) = cell.forward(x.clone(), Some(first_layer(&h0)));
    assert_close(
        "gru outputs",
        &values(outputs.clone()),
        &numbers(&case, "outputs"),
        AGREEMENT,
    );
    assert_close(
        "gru h_n",
        &values(last.clone()),
        &numbers(&case, "h_n"),
        AGREEMENT,
    );
    let gradients = fixture_loss(&case, outputs, vec![("final_weights", last)], device).backward();
    assert_layer_gradients("gru", &case, 0, &layer, &gradients);
    assert_input_gradients("gru", &case, vec![("h0", h0)], &gradients);
    assert_input_gradients("gru", &case, vec![("x", x)], &gradients);
}

/// Two stacked layers of each cell against `nn.LSTM(num_layers=2)` and `nn.GRU(num_layers=2)`:
/// outputs, every layer's final state, every layer's gradients.
pub fn gated_stacks_match_pytorch<B: TestBackend>(device: &B::Device) {
    for kind in ["lstm_2_layers", "gru_2_layers"] {
        let case = fixture(kind);
        let layers: Vec<Layer<B>> = (0..2).map(|k| gated_layer::<B>(&case, k, device)).collect();
        for path in [
            None,
            Some(RecurrencePath::Unrolled),
            Some(RecurrencePath::Fused),
        ] {
            let kind = &format!("{kind}, through HiddenStack: {path:?}");
            check_stack_against_pytorch(kind, &case, &layers, path, device);
        }
    }
}

/// The cells' own `forward`, layer after layer on dense input: `[batch, time, d_hidden]` and
/// the final state.
fn cells_forward<B: TestBackend>(
    layers: &[Layer<B>],
    x: Tensor<B, 3>,
    state: HiddenState<B>,
) -> (Tensor<B, 3>, HiddenState<B>) {
    let mut sequence = x;
    let mut finals = Vec::new();
    for (k, layer) in layers.iter().enumerate() {
        let initial = state.layer(k);
        let last;
        (sequence, last) = match layer {
            Layer::Lstm(cell) => {
                let initial = LstmState {
                    hidden: initial.hidden,
                    cell: initial.cell.expect("an LSTM state holds c"),
                };
                let (outputs, last) = cell.forward(sequence, Some(initial));
                (outputs, (last.hidden, Some(last.cell)))
            }
            Layer::Gru(cell) => {
                let (outputs, last) = cell.forward(sequence, Some(initial.hidden));
                (outputs, (last, None))
            }
            Layer::Tanh(_) => panic!("the fixtures are of gated cells"),
        };
        finals.push(unroll_model::LayerState {
            hidden: last.0,
            cell: last.1,
        });
    }
    (sequence, HiddenState::of_layers(finals))
}

/// One stacked fixture case: `layers` run by each cell's own `forward` (step by step on dense
/// input), or inside a [`HiddenStack`] on `path` (the patterns' paths: per-step projections, or
/// the fused operations).
fn check_stack_against_pytorch<B: TestBackend>(
    kind: &str,
    case: &Value,
    layers: &[Layer<B>],
    path: Option<RecurrencePath>,
    device: &B::Device,
) {
    let (x, h0, c0) = fixture_inputs::<B>(case, device);
    let state = HiddenState {
        hidden: h0.clone(),
        cell: c0.clone(),
    };
    let (outputs, last) = if let Some(path) = path {
        let [_, _, input, hidden] = sizes(case);
        let cell = layers[0].kind();
        let mut stack: HiddenStack<B> =
            HiddenStackConfig::new(InputEncoding::Dense { d_input: input }, hidden)
                .with_cell(cell)
                .with_num_layers(layers.len())
                .with_path(path)
                .init::<B>(device);
        stack.layers = layers.to_vec();
        stack.forward(SequenceInput::Dense(x.clone()), state, None)
    } else {
        cells_forward(layers, x.clone(), state)
    };
    assert_close(
        kind,
        &values(outputs.clone()),
        &numbers(case, "outputs"),
        AGREEMENT,
    );
    assert_close(
        kind,
        &values(last.hidden.clone()),
        &numbers(case, "h_n"),
        AGREEMENT,
    );
    let mut finals = vec![("final_weights", last.hidden)];
    if let Some(cell) = last.cell {
        assert_close(
            kind,
            &values(cell.clone()),
            &numbers(case, "c_n"),
            AGREEMENT,
        );
        finals.push(("cell_weights", cell));
    }
    let gradients = fixture_loss(case, outputs, finals, device).backward();
    for (k, layer) in layers.iter().enumerate() {
        assert_layer_gradients(kind, case, k, layer, &gradients);
    }
    let mut states = vec![("h0", h0)];
    states.extend(c0.map(|c| ("c0", c)));
    assert_input_gradients(kind, case, states, &gradients);
    assert_input_gradients(kind, case, vec![("x", x)], &gradients);
}

fn sigmoid(v: f64) -> f64 {
    1.0 / (1.0 + (-v).exp())
}

/// One step of each cell with one input and one hidden unit, every weight set by hand.
pub fn gated_cells_by_hand<B: TestBackend>(device: &B::Device) {
    let row = |v: Vec<f64>| {
        let n = v.len();
        Param::from_tensor(tensor::<B, 2>(v, [1, n], device))
    };
    let vector = |v: Vec<f64>| {
        let n = v.len();
        Param::from_tensor(tensor::<B, 1>(v, [n], device))
    };
    // Gates i, f, g, o: input weights, hidden weights and both biases per gate.
    let (wi, wh, bi, bh) = (
        [0.5, -0.3, 0.8, 0.2],
        [0.1, 0.4, -0.6, 0.7],
        [0.05, 0.1, -0.2, 0.0],
        [0.0, 0.3, 0.1, -0.1],
    );
    let lstm = LstmCell {
        input_weight: row(wi.to_vec()),
        hidden_weight: row(wh.to_vec()),
        input_bias: vector(bi.to_vec()),
        hidden_bias: vector(bh.to_vec()),
    };
    let (x, h, c) = (0.9, -0.4, 0.6);
    let state = LstmState {
        hidden: tensor::<B, 2>(vec![h], [1, 1], device),
        cell: tensor::<B, 2>(vec![c], [1, 1], device),
    };
    let next = lstm.step(tensor::<B, 2>(vec![x], [1, 1], device), state);
    let a = |k: usize| wi[k] * x + bi[k] + wh[k] * h + bh[k];
    let cell = sigmoid(a(1)) * c + sigmoid(a(0)) * a(2).tanh();
    let hidden = sigmoid(a(3)) * cell.tanh();
    assert_close("lstm cell by hand", &values(next.cell), &[cell], 1e-12);
    assert_close(
        "lstm hidden by hand",
        &values(next.hidden),
        &[hidden],
        1e-12,
    );

    // Gates r, z, n.
    let (wi, wh, bi, bh) = (
        [0.5, -0.3, 0.8],
        [0.1, 0.4, -0.6],
        [0.05, 0.1, -0.2],
        [0.2, 0.3, 0.1],
    );
    let gru = GruCell {
        input_weight: row(wi.to_vec()),
        hidden_weight: row(wh.to_vec()),
        input_bias: vector(bi.to_vec()),
        hidden_bias: vector(bh.to_vec()),
    };
    let next = gru.step(
        tensor::<B, 2>(vec![x], [1, 1], device),
        tensor::<B, 2>(vec![h], [1, 1], device),
    );
    let r = sigmoid(wi[0] * x + bi[0] + wh[0] * h + bh[0]);
    let z = sigmoid(wi[1] * x + bi[1] + wh[1] * h + bh[1]);
    let n = (wi[2] * x + bi[2] + r * (wh[2] * h + bh[2])).tanh();
    assert_close(
        "gru by hand",
        &values(next),
        &[(1.0 - z) * n + z * h],
        1e-12,
    );
}

/// Every parameter of both cells against central finite differences, over a few steps.
pub fn gated_cells_match_finite_differences<B: TestBackend>(device: &B::Device) {
    B::seed(device, 41);
    let (batch, time, input, hidden) = (2, 4, 3, 3);
    let data: Vec<f64> = (0..batch * time * input)
        .map(|i| (0.9 * i as f64).sin())
        .collect();
    let x = tensor::<B, 3>(data, [batch, time, input], device);
    let targets: Vec<f64> = (0..batch * time * hidden)
        .map(|i| (0.4 * i as f64).cos())
        .collect();
    let targets = tensor::<B, 3>(targets, [batch, time, hidden], device);
    let error = |outputs: Tensor<B, 3>| (outputs - targets.clone()).powf_scalar(2.0).sum();
    let lstm = LstmCellConfig::new(input, hidden).init::<B>(device);
    // The final cell state is in the loss, so that its gradient path is checked too.
    let lstm_loss = |m: &LstmCell<B>| {
        let (outputs, last) = m.forward(x.clone(), None);
        error(outputs) + last.cell.sum()
    };
    assert_eq!(check_against_finite_differences(&lstm, lstm_loss, 1e-6), 4);
    let gru = GruCellConfig::new(input, hidden).init::<B>(device);
    let gru_loss = |m: &GruCell<B>| error(m.forward(x.clone(), None).0);
    assert_eq!(check_against_finite_differences(&gru, gru_loss, 1e-6), 4);
    for cell in [RecurrentCell::Lstm, RecurrentCell::Gru] {
        let stack = HiddenStackConfig::new(InputEncoding::Dense { d_input: input }, hidden)
            .with_cell(cell)
            .with_num_layers(2)
            .with_path(RecurrencePath::Unrolled)
            .init::<B>(device);
        let stack_loss = |m: &HiddenStack<B>| {
            let state = m.zero_state(batch, device);
            let (outputs, last) = m.forward(SequenceInput::Dense(x.clone()), state, None);
            error(outputs) + last.hidden.sum()
        };
        let checked = check_against_finite_differences(&stack, stack_loss, 1e-6);
        assert_eq!(checked, 2 * 4, "{cell:?}");
    }
}
