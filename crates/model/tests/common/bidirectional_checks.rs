//! Both directions against PyTorch's own numbers (`tests/fixtures/bidirectional.json`, written
//! by `scripts/pytorch_bidirectional_fixture.py`: `nn.RNN`, `nn.LSTM` and `nn.GRU` with
//! `bidirectional=True`, two layers, padded rows of different lengths packed, f64: outputs,
//! final states and every gradient), and the patterns built on them against finite
//! differences.

use burn::module::Param;
use burn::tensor::{Tensor, TensorData};
use serde_json::Value;
use unroll_model::{
    BidirectionalConfig, BidirectionalRecurrent, BidirectionalStackConfig, BidirectionalSummarizer,
    EncoderDecoder, EncoderDecoderConfig, GruCell, HiddenStackConfig, InputEncoding, Layer,
    LayerState, LstmCell, RecurrencePath, RecurrentCell, SequenceInput, TanhRecurrence,
};

use super::checks::{TestBackend, layer_parameters};
use super::gated_checks::{AGREEMENT, numbers, tensor};
use super::gradients::check_against_finite_differences;
use super::{Numbers, assert_close, ids, values};

const FIXTURE: &str = include_str!("../fixtures/bidirectional.json");

fn fixture(kind: &str) -> Value {
    let all: Value = serde_json::from_str(FIXTURE).expect("the fixture is JSON");
    all[kind].clone()
}

fn size(case: &Value, key: &str) -> usize {
    case[key].as_u64().unwrap() as usize
}

/// PyTorch's weight `key`, `[rows, cols]`, stored transposed as the cells store it.
fn transposed<B: TestBackend>(
    case: &Value,
    key: &str,
    shape: [usize; 2],
    device: &B::Device,
) -> Param<Tensor<B, 2>> {
    Param::from_tensor(tensor::<B, 2>(numbers(case, key), shape, device).transpose())
}

fn vector<B: TestBackend>(values: Vec<f64>, device: &B::Device) -> Param<Tensor<B, 1>> {
    let len = values.len();
    Param::from_tensor(tensor::<B, 1>(values, [len], device))
}

/// PyTorch's names for layer `k` of one direction: `{name}_l{k}` or `{name}_l{k}_reverse`.
fn key(name: &str, k: usize, reverse: bool) -> String {
    format!("{name}_l{k}{}", if reverse { "_reverse" } else { "" })
}

/// Layer `k` of one direction of `case` as a cell of unroll (the tanh layer's one bias is
/// PyTorch's two summed).
fn direction_layer<B: TestBackend>(
    case: &Value,
    k: usize,
    reverse: bool,
    device: &B::Device,
) -> Layer<B> {
    let (input, hidden) = (size(case, "input"), size(case, "hidden"));
    let d_input = if k == 0 { input } else { 2 * hidden };
    let name = |n: &str| key(n, k, reverse);
    let gates = match case["cell"].as_str().unwrap() {
        "lstm" => 4,
        "gru" => 3,
        _ => 1,
    };
    let input_weight = transposed::<B>(case, &name("weight_ih"), [gates * hidden, d_input], device);
    let hidden_weight = transposed::<B>(case, &name("weight_hh"), [gates * hidden, hidden], device);
    let [input_bias, hidden_bias] = ["bias_ih", "bias_hh"].map(|b| numbers(case, &name(b)));
    match case["cell"].as_str().unwrap() {
        "tanh" => Layer::Tanh(TanhRecurrence {
            input_weight,
            recurrent_weight: hidden_weight,
            bias: vector::<B>(
                input_bias
                    .iter()
                    .zip(&hidden_bias)
                    .map(|(a, b)| a + b)
                    .collect(),
                device,
            ),
        }),
        "lstm" => Layer::Lstm(LstmCell {
            input_weight,
            hidden_weight,
            input_bias: vector::<B>(input_bias, device),
            hidden_bias: vector::<B>(hidden_bias, device),
        }),
        _ => Layer::Gru(GruCell {
            input_weight,
            hidden_weight,
            input_bias: vector::<B>(input_bias, device),
            hidden_bias: vector::<B>(hidden_bias, device),
        }),
    }
}

/// Layer `k` of one direction: every parameter's gradient against PyTorch's (the tanh layer's
/// one bias against each of PyTorch's two, which receive the same gradient).
fn assert_direction_gradients<B: TestBackend>(
    what: &str,
    case: &Value,
    (k, reverse): (usize, bool),
    layer: &Layer<B>,
    gradients: &<B as burn::tensor::backend::AutodiffBackend>::Gradients,
) {
    let matrix =
        |p: &Param<Tensor<B, 2>>| values(p.val().grad(gradients).expect("a gradient").transpose());
    let vector = |p: &Param<Tensor<B, 1>>| values(p.val().grad(gradients).expect("a gradient"));
    let found: Vec<(&str, Vec<f64>)> = match layer {
        Layer::Tanh(l) => vec![
            ("weight_ih", matrix(&l.input_weight)),
            ("weight_hh", matrix(&l.recurrent_weight)),
            ("bias_ih", vector(&l.bias)),
            ("bias_hh", vector(&l.bias)),
        ],
        Layer::Lstm(LstmCell {
            input_weight,
            hidden_weight,
            input_bias,
            hidden_bias,
        })
        | Layer::Gru(GruCell {
            input_weight,
            hidden_weight,
            input_bias,
            hidden_bias,
        }) => vec![
            ("weight_ih", matrix(input_weight)),
            ("weight_hh", matrix(hidden_weight)),
            ("bias_ih", vector(input_bias)),
            ("bias_hh", vector(hidden_bias)),
        ],
    };
    for (name, gradient) in found {
        let name = key(name, k, reverse);
        let expected = numbers(case, &format!("grad_{name}"));
        assert_close(&format!("{what} {name}"), &gradient, &expected, AGREEMENT);
    }
}

/// Every fixture case, on both paths: the real steps' outputs, `h_n` (and `c_n`), the loss, and
/// the gradients of every weight of both directions of both layers and of the input. The rows
/// are unsorted and one is a single step: a backward direction that started at the padded end
/// would be read a padding step first.
pub fn bidirectional_stacks_match_pytorch<B: TestBackend>(device: &B::Device) {
    for kind in ["tanh", "lstm", "gru"] {
        let case = fixture(kind);
        let [batch, time, input, hidden, layers] =
            ["batch", "time", "input", "hidden", "layers"].map(|k| size(&case, k));
        let lengths: Vec<usize> = (case["lengths"].as_array().unwrap().iter())
            .map(|l| l.as_u64().unwrap() as usize)
            .collect();
        let cell = match kind {
            "tanh" => RecurrentCell::Tanh,
            "lstm" => RecurrentCell::Lstm,
            _ => RecurrentCell::Gru,
        };
        for path in [RecurrencePath::Fused, RecurrencePath::Unrolled] {
            let what = format!("{kind} {path:?}");
            let one_direction =
                HiddenStackConfig::new(InputEncoding::Dense { d_input: input }, hidden)
                    .with_cell(cell)
                    .with_num_layers(layers)
                    .with_path(path);
            let mut stack = BidirectionalStackConfig::new(one_direction).init::<B>(device);
            for (k, layer) in stack.layers.iter_mut().enumerate() {
                layer.forward.layers[0] = direction_layer::<B>(&case, k, false, device);
                layer.backward.layers[0] = direction_layer::<B>(&case, k, true, device);
            }
            let x =
                tensor::<B, 3>(numbers(&case, "x"), [batch, time, input], device).require_grad();
            let (outputs, state) = stack
                .forward(SequenceInput::Dense(x.clone()), Some(&lengths))
                .unwrap();
            assert_eq!(outputs.dims(), [batch, time, 2 * hidden], "{what}");
            // Only the real steps: PyTorch's padding is zeros, unroll's is never read.
            let real = |row: usize, t: usize| f64::from(u8::from(t < lengths[row]));
            let mask: Vec<f64> = (0..batch)
                .flat_map(|row| (0..time).map(move |t| (row, t)))
                .flat_map(|(row, t)| std::iter::repeat_n(real(row, t), 2 * hidden))
                .collect();
            let ours: Vec<f64> = (values(outputs.clone()).iter().zip(&mask))
                .map(|(v, m)| v * m)
                .collect();
            assert_close(
                &format!("{what} outputs"),
                &ours,
                &numbers(&case, "outputs"),
                AGREEMENT,
            );
            assert_close(
                &format!("{what} h_n"),
                &values(state.hidden.clone()),
                &numbers(&case, "h_n"),
                AGREEMENT,
            );
            let mask =
                Tensor::<B, 3>::from_data(TensorData::new(mask, [batch, time, 2 * hidden]), device);
            let output_weights = tensor::<B, 3>(
                numbers(&case, "output_weights"),
                [batch, time, 2 * hidden],
                device,
            );
            let finals = [2 * layers, batch, hidden];
            let mut loss = (outputs * output_weights * mask).sum()
                + (state.hidden * tensor::<B, 3>(numbers(&case, "final_weights"), finals, device))
                    .sum();
            if let Some(cell_state) = state.cell {
                assert_close(
                    &format!("{what} c_n"),
                    &values(cell_state.clone()),
                    &numbers(&case, "c_n"),
                    AGREEMENT,
                );
                let cell_weights = tensor::<B, 3>(numbers(&case, "cell_weights"), finals, device);
                loss = loss + (cell_state * cell_weights).sum();
            }
            assert_close(
                &format!("{what} loss"),
                &values(loss.clone()),
                &[case["loss"].as_f64().unwrap()],
                AGREEMENT,
            );
            let gradients = loss.backward();
            assert_close(
                &format!("{what} ∂L/∂x"),
                &values(x.grad(&gradients).unwrap()),
                &numbers(&case, "grad_x"),
                AGREEMENT,
            );
            for (k, layer) in stack.layers.iter().enumerate() {
                let forward = &layer.forward.layers[0];
                assert_direction_gradients(&what, &case, (k, false), forward, &gradients);
                let backward = &layer.backward.layers[0];
                assert_direction_gradients(&what, &case, (k, true), backward, &gradients);
            }
        }
    }
}

/// Patterns 3 and 1 both ways, every cell, two layers, token input, padded rows: autodiff
/// against finite differences over every parameter.
pub fn bidirectional_patterns_match_finite_differences<B: TestBackend>(device: &B::Device) {
    B::seed(device, 51);
    let mut numbers = Numbers::new(14);
    let (batch, time, vocab, hidden) = (3, 4, 3, 3);
    let lengths = [4usize, 2, 3];
    let rows: Vec<Vec<i64>> = (0..batch)
        .map(|_| {
            (0..time)
                .map(|_| ((numbers.next(1.0) + 1.0) * 1.5) as i64 % 3)
                .collect()
        })
        .collect();
    let tokens = ids::<B>(&rows, device);
    for cell in [RecurrentCell::Tanh, RecurrentCell::Lstm, RecurrentCell::Gru] {
        let config = BidirectionalConfig::new(
            HiddenStackConfig::new(InputEncoding::Tokens { vocab_size: vocab }, hidden)
                .with_cell(cell)
                .with_num_layers(2),
            2,
        );
        let summarizer = config.try_init_summarizer::<B>(device).unwrap();
        let targets = tensor::<B, 2>(numbers.vector(batch * 2, 1.0), [batch, 2], device);
        // Two layers × two directions × the cell's parameters, and the output layer's two.
        let per_layer = layer_parameters(cell);
        let checked = check_against_finite_differences(
            &summarizer,
            |m: &BidirectionalSummarizer<B>| {
                let o = m
                    .forward(SequenceInput::Tokens(tokens.clone()), Some(&lengths))
                    .unwrap();
                (o - targets.clone()).powf_scalar(2.0).sum()
            },
            super::checks::FINITE_DIFFERENCES,
        );
        assert_eq!(checked, 4 * per_layer + 2, "{cell:?} summarizer");
        let recurrent = config.try_init_recurrent::<B>(device).unwrap();
        let weights = tensor::<B, 3>(
            numbers.vector(batch * time * 2, 1.0),
            [batch, time, 2],
            device,
        );
        let checked = check_against_finite_differences(
            &recurrent,
            |m: &BidirectionalRecurrent<B>| {
                let o = m
                    .forward(SequenceInput::Tokens(tokens.clone()), Some(&lengths))
                    .unwrap();
                (o.tanh() * weights.clone()).sum()
            },
            super::checks::FINITE_DIFFERENCES,
        );
        assert_eq!(checked, 4 * per_layer + 2, "{cell:?} per-step outputs");
    }
}

/// The seq2seq encoder both ways: each layer's summary is its forward final state then its
/// backward one, concatenated (built here with `Tensor::cat` from the states the stack's
/// `forward` returns, which the PyTorch fixture proves; the encoder takes them from
/// `final_state`, which skips the top layer's outputs), and autodiff through encoder and decoder agrees with finite
/// differences. Every cell, two layers, padded sources.
pub fn bidirectional_encoder_starts_the_decoder<B: TestBackend>(device: &B::Device) {
    B::seed(device, 52);
    let mut numbers = Numbers::new(15);
    let mut random_rows = |batch: usize, time: usize| -> Vec<Vec<i64>> {
        (0..batch)
            .map(|_| {
                (0..time)
                    .map(|_| ((numbers.next(1.0) + 1.0) * 1.5) as i64 % 3)
                    .collect()
            })
            .collect()
    };
    let (source, previous, targets) = (
        ids::<B>(&random_rows(3, 4), device),
        ids::<B>(&random_rows(3, 3), device),
        ids::<B>(&random_rows(3, 3), device),
    );
    let (source_lengths, target_lengths) = ([4usize, 2, 3], [3usize, 1, 2]);
    for cell in [RecurrentCell::Tanh, RecurrentCell::Lstm, RecurrentCell::Gru] {
        let mut config = EncoderDecoderConfig::symbols(3, 3, 4, 2, cell).with_bidirectional(true);
        let one_way = config.validate().unwrap_err().to_string();
        assert!(one_way.contains("both directions"), "{one_way}");
        config.encoder.d_hidden = 2;
        let model = config.init::<B>(device);
        let input = || SequenceInput::Tokens(source.clone());
        let summary = model.encode(input(), Some(&source_lengths)).unwrap();
        let stack = model.bidirectional_encoder.as_ref().unwrap();
        let (_, both) = stack.forward(input(), Some(&source_lengths)).unwrap();
        let join = |part: fn(LayerState<B>) -> Option<Tensor<B, 2>>| -> Option<Tensor<B, 3>> {
            let layers: Option<Vec<Tensor<B, 2>>> = (0..2)
                .map(|k| {
                    let (ahead, behind) = (part(both.layer(2 * k)), part(both.layer(2 * k + 1)));
                    Some(Tensor::cat(vec![ahead?, behind?], 1))
                })
                .collect();
            layers.map(|layers| Tensor::stack(layers, 0))
        };
        let expected_hidden = join(|state| Some(state.hidden)).unwrap();
        assert_eq!(
            summary.dims(),
            [2, 3, 4],
            "{cell:?}: [layers, batch, 2 · 2]"
        );
        let what = format!("{cell:?} summary");
        assert_close(
            &what,
            &values(summary.hidden),
            &values(expected_hidden),
            0.0,
        );
        match (summary.cell, join(|state| state.cell)) {
            (Some(found), Some(expected)) => {
                assert_close(&what, &values(found), &values(expected), 0.0);
            }
            (None, None) => {}
            _ => panic!("{what}: a cell state on one side only"),
        }
        let per_layer = layer_parameters(cell);
        let checked = check_against_finite_differences(
            &model,
            |m: &EncoderDecoder<B>| {
                m.forward_loss(
                    input(),
                    Some(&source_lengths),
                    previous.clone(),
                    targets.clone(),
                    Some(&target_lengths),
                )
                .unwrap()
                .sum()
            },
            super::checks::FINITE_DIFFERENCES,
        );
        // Encoder: two layers × two directions; decoder: two layers and its output's two.
        assert_eq!(checked, 4 * per_layer + 2 * per_layer + 2, "{cell:?}");
    }
}
