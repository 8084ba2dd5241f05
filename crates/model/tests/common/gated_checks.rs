//! The gated cells against PyTorch's own numbers (`tests/fixtures/gated_cells.json`, written by
//! `scripts/pytorch_cell_fixture.py` with `torch.nn.LSTM` and `torch.nn.GRU` in f64: outputs,
//! final states and every gradient), against a step computed by hand, and against finite
//! differences.

use burn::module::Param;
use burn::tensor::{Tensor, TensorData};
use serde_json::Value;
use unroll_model::{GruCell, GruCellConfig, LstmCell, LstmCellConfig, LstmState};

use super::checks::TestBackend;
use super::gradients::check_against_finite_differences;
use super::{assert_close, values};

const FIXTURE: &str = include_str!("../fixtures/gated_cells.json");
/// PyTorch and Burn sum in different orders: f64 agrees to about 1e-15 per operation.
const AGREEMENT: f64 = 1e-10;

fn fixture(kind: &str) -> Value {
    let all: Value = serde_json::from_str(FIXTURE).expect("the fixture is JSON");
    all[kind].clone()
}

fn numbers(case: &Value, key: &str) -> Vec<f64> {
    case[key]
        .as_array()
        .unwrap_or_else(|| panic!("fixture key {key}"))
        .iter()
        .map(|v| v.as_f64().unwrap())
        .collect()
}

fn tensor<B: TestBackend, const D: usize>(
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

/// A gradient of a PyTorch weight compared with the cell's (stored transposed).
fn assert_weight_gradient<B: TestBackend>(
    what: &str,
    gradient: Tensor<B::InnerBackend, 2>,
    case: &Value,
    key: &str,
) {
    assert_close(
        what,
        &values(gradient.transpose()),
        &numbers(case, key),
        AGREEMENT,
    );
}

pub fn lstm_matches_pytorch<B: TestBackend>(device: &B::Device) {
    let case = fixture("lstm");
    let [batch, time, input, hidden] = sizes(&case);
    let cell = LstmCell {
        input_weight: transposed::<B>(&case, "weight_ih_l0", [4 * hidden, input], device),
        hidden_weight: transposed::<B>(&case, "weight_hh_l0", [4 * hidden, hidden], device),
        input_bias: bias::<B>(&case, "bias_ih_l0", device),
        hidden_bias: bias::<B>(&case, "bias_hh_l0", device),
    };
    let x = tensor::<B, 3>(numbers(&case, "x"), [batch, time, input], device).require_grad();
    let state = LstmState {
        hidden: tensor::<B, 2>(numbers(&case, "h0"), [batch, hidden], device).require_grad(),
        cell: tensor::<B, 2>(numbers(&case, "c0"), [batch, hidden], device).require_grad(),
    };
    let (outputs, last) = cell.forward(x.clone(), Some(state.clone()));
    assert_close(
        "lstm outputs",
        &values(outputs.clone()),
        &numbers(&case, "outputs"),
        AGREEMENT,
    );
    assert_close(
        "lstm h_n",
        &values(last.hidden.clone()),
        &numbers(&case, "h_n"),
        AGREEMENT,
    );
    assert_close(
        "lstm c_n",
        &values(last.cell.clone()),
        &numbers(&case, "c_n"),
        AGREEMENT,
    );
    let weights = |key: &str, shape: [usize; 2]| tensor::<B, 2>(numbers(&case, key), shape, device);
    let loss = (outputs
        * tensor::<B, 3>(
            numbers(&case, "output_weights"),
            [batch, time, hidden],
            device,
        ))
    .sum()
        + (last.hidden * weights("final_weights", [batch, hidden])).sum()
        + (last.cell * weights("cell_weights", [batch, hidden])).sum();
    let expected = case["loss"].as_f64().unwrap();
    assert!((values(loss.clone())[0] - expected).abs() < AGREEMENT);
    let gradients = loss.backward();
    let grad = |p: &Param<Tensor<B, 2>>| p.val().grad(&gradients).unwrap();
    assert_weight_gradient::<B>(
        "lstm weight_ih",
        grad(&cell.input_weight),
        &case,
        "grad_weight_ih_l0",
    );
    assert_weight_gradient::<B>(
        "lstm weight_hh",
        grad(&cell.hidden_weight),
        &case,
        "grad_weight_hh_l0",
    );
    for (what, p, key) in [
        ("lstm bias_ih", &cell.input_bias, "grad_bias_ih_l0"),
        ("lstm bias_hh", &cell.hidden_bias, "grad_bias_hh_l0"),
    ] {
        assert_close(
            what,
            &values(p.val().grad(&gradients).unwrap()),
            &numbers(&case, key),
            AGREEMENT,
        );
    }
    assert_close(
        "lstm ∂x",
        &values(x.grad(&gradients).unwrap()),
        &numbers(&case, "grad_x"),
        AGREEMENT,
    );
    assert_close(
        "lstm ∂h0",
        &values(state.hidden.grad(&gradients).unwrap()),
        &numbers(&case, "grad_h0"),
        AGREEMENT,
    );
    assert_close(
        "lstm ∂c0",
        &values(state.cell.grad(&gradients).unwrap()),
        &numbers(&case, "grad_c0"),
        AGREEMENT,
    );
}

pub fn gru_matches_pytorch<B: TestBackend>(device: &B::Device) {
    let case = fixture("gru");
    let [batch, time, input, hidden] = sizes(&case);
    let cell = GruCell {
        input_weight: transposed::<B>(&case, "weight_ih_l0", [3 * hidden, input], device),
        hidden_weight: transposed::<B>(&case, "weight_hh_l0", [3 * hidden, hidden], device),
        input_bias: bias::<B>(&case, "bias_ih_l0", device),
        hidden_bias: bias::<B>(&case, "bias_hh_l0", device),
    };
    let x = tensor::<B, 3>(numbers(&case, "x"), [batch, time, input], device).require_grad();
    let h0 = tensor::<B, 2>(numbers(&case, "h0"), [batch, hidden], device).require_grad();
    let (outputs, last) = cell.forward(x.clone(), Some(h0.clone()));
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
    let loss = (outputs
        * tensor::<B, 3>(
            numbers(&case, "output_weights"),
            [batch, time, hidden],
            device,
        ))
    .sum()
        + (last * tensor::<B, 2>(numbers(&case, "final_weights"), [batch, hidden], device)).sum();
    let gradients = loss.backward();
    let grad = |p: &Param<Tensor<B, 2>>| p.val().grad(&gradients).unwrap();
    assert_weight_gradient::<B>(
        "gru weight_ih",
        grad(&cell.input_weight),
        &case,
        "grad_weight_ih_l0",
    );
    assert_weight_gradient::<B>(
        "gru weight_hh",
        grad(&cell.hidden_weight),
        &case,
        "grad_weight_hh_l0",
    );
    for (what, p, key) in [
        ("gru bias_ih", &cell.input_bias, "grad_bias_ih_l0"),
        ("gru bias_hh", &cell.hidden_bias, "grad_bias_hh_l0"),
    ] {
        assert_close(
            what,
            &values(p.val().grad(&gradients).unwrap()),
            &numbers(&case, key),
            AGREEMENT,
        );
    }
    assert_close(
        "gru ∂x",
        &values(x.grad(&gradients).unwrap()),
        &numbers(&case, "grad_x"),
        AGREEMENT,
    );
    assert_close(
        "gru ∂h0",
        &values(h0.grad(&gradients).unwrap()),
        &numbers(&case, "grad_h0"),
        AGREEMENT,
    );
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
    let lstm = LstmCellConfig::new(input, hidden).init::<B>(device);
    let checked = check_against_finite_differences(
        &lstm,
        |m: &LstmCell<B>| {
            let (outputs, last) = m.forward(x.clone(), None);
            (outputs - targets.clone()).powf_scalar(2.0).sum() + last.cell.sum()
        },
        1e-6,
    );
    assert_eq!(checked, 4);
    let gru = GruCellConfig::new(input, hidden).init::<B>(device);
    let checked = check_against_finite_differences(
        &gru,
        |m: &GruCell<B>| {
            (m.forward(x.clone(), None).0 - targets.clone())
                .powf_scalar(2.0)
                .sum()
        },
        1e-6,
    );
    assert_eq!(checked, 4);
}
