//! The safetensors export, read back with the safetensors crate alone and run by an independent
//! plain-Rust forward pass in PyTorch's conventions, reproduces the model's logits.

use burn::backend::NdArray;
use burn::tensor::backend::Backend as _;
use burn::tensor::{Int, Tensor, TensorData};
use safetensors::SafeTensors;
use unroll_model::RecurrentCell;
use unroll_training::export::safetensors_bytes;
use unroll_training::{
    Corpus, FeedingPlan, LanguageConfig, ModelSettings, Pattern, RecurrencePath, SymbolMode,
};

type B = NdArray;

struct Matrix {
    rows: usize,
    cols: usize,
    values: Vec<f32>,
}

fn tensor(file: &SafeTensors<'_>, name: &str) -> Matrix {
    let view = file
        .tensor(name)
        .unwrap_or_else(|_| panic!("{name} is in the file"));
    let values: Vec<f32> = view
        .data()
        .chunks_exact(4)
        .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
        .collect();
    let shape = view.shape();
    let (rows, cols) = if shape.len() == 2 {
        (shape[0], shape[1])
    } else {
        (shape[0], 1)
    };
    Matrix { rows, cols, values }
}

impl Matrix {
    /// `M · x` for a `[rows, cols]` matrix (PyTorch's `weight @ x`).
    fn times(&self, x: &[f32]) -> Vec<f32> {
        (0..self.rows)
            .map(|r| {
                (0..self.cols)
                    .map(|c| self.values[r * self.cols + c] * x[c])
                    .sum()
            })
            .collect()
    }

    fn column(&self, c: usize) -> Vec<f32> {
        (0..self.rows)
            .map(|r| self.values[r * self.cols + c])
            .collect()
    }
}

fn add(a: &[f32], b: &[f32]) -> Vec<f32> {
    a.iter().zip(b).map(|(x, y)| x + y).collect()
}

/// PyTorch's layer `k` in an exported file: `W_ih x + b_ih`, where `x` is the one-hot `id` for
/// layer 0 and the state of the layer `below` otherwise, and `W_hh h + b_hh`.
fn layer_affines(
    file: &SafeTensors<'_>,
    k: usize,
    (id, below): (usize, Option<&[f32]>),
    h: &[f32],
) -> (Vec<f32>, Vec<f32>) {
    let w_ih = tensor(file, &format!("rnn.weight_ih_l{k}"));
    let w_hh = tensor(file, &format!("rnn.weight_hh_l{k}"));
    let b_ih = tensor(file, &format!("rnn.bias_ih_l{k}")).values;
    let b_hh = tensor(file, &format!("rnn.bias_hh_l{k}")).values;
    let input = below.map_or_else(|| w_ih.column(id), |x| w_ih.times(x));
    (add(&input, &b_ih), add(&w_hh.times(h), &b_hh))
}

fn model_logits(model: &unroll_training::Network<B>, ids: &[u32]) -> Vec<f32> {
    let values: Vec<i64> = ids.iter().map(|&i| i64::from(i)).collect();
    let input = Tensor::<B, 2, Int>::from_data(
        TensorData::new(values, [1, ids.len()]),
        &Default::default(),
    );
    let plan = FeedingPlan::teacher_forcing(1, ids.len()).unwrap();
    model
        .window(input, None, &plan, RecurrencePath::Fused)
        .unwrap()
        .0
        .into_data()
        .iter::<f32>()
        .collect()
}

fn corpus() -> Corpus {
    Corpus::from_bytes(
        "to be, or not to be: that is the question.".as_bytes(),
        SymbolMode::Text,
    )
    .unwrap()
}

/// A freshly initialised language model for `corpus` and its safetensors export.
fn exported(
    settings: ModelSettings,
    corpus: &Corpus,
    seed: u64,
) -> (unroll_training::Network<B>, Vec<u8>) {
    B::seed(&Default::default(), seed);
    let model = settings
        .init::<B>(corpus.vocabulary.len(), &Default::default())
        .unwrap();
    let config = LanguageConfig {
        model: settings,
        ..LanguageConfig::default()
    };
    let bytes = safetensors_bytes(&model, &corpus.vocabulary, &config).unwrap();
    (model, bytes)
}

#[test]
fn pattern_1_export_follows_torch_rnn() {
    let corpus = corpus();
    let vocab = corpus.vocabulary.len();
    let settings = ModelSettings {
        hidden: 6,
        layers: 2,
        ..ModelSettings::default()
    };
    let (model, bytes) = exported(settings, &corpus, 4);
    let file = SafeTensors::deserialize(&bytes).unwrap();
    let (_, metadata) = SafeTensors::read_metadata(&bytes).unwrap();
    let metadata = metadata.metadata().clone().unwrap();
    let symbols: Vec<String> = serde_json::from_str(&metadata["vocab"]).unwrap();
    assert_eq!(symbols.len(), vocab);
    assert_eq!(symbols.concat().chars().count(), vocab);
    let saved: LanguageConfig = serde_json::from_str(&metadata["config"]).unwrap();
    assert_eq!(saved.model, settings);
    assert_names(
        &file,
        "fc.bias fc.weight rnn.bias_hh_l0 rnn.bias_hh_l1 rnn.bias_ih_l0 rnn.bias_ih_l1 \
         rnn.weight_hh_l0 rnn.weight_hh_l1 rnn.weight_ih_l0 rnn.weight_ih_l1",
    );
    assert_eq!(file.tensor("rnn.weight_ih_l0").unwrap().shape(), [6, vocab]);
    assert_eq!(file.tensor("fc.weight").unwrap().shape(), [vocab, 6]);

    // torch.nn.RNN: h_k(t) = tanh(W_ih x + b_ih + W_hh h_k(t-1) + b_hh), x one-hot for layer 0.
    let ids = &corpus.ids[..12];
    let mut hidden = vec![vec![0.0f32; 6]; 2];
    let mut expected = Vec::new();
    for &id in ids {
        let mut below: Option<Vec<f32>> = None;
        for (k, h) in hidden.iter_mut().enumerate() {
            let x = (id as usize, below.as_deref());
            let (from_input, from_hidden) = layer_affines(&file, k, x, h);
            *h = add(&from_input, &from_hidden)
                .iter()
                .map(|v| v.tanh())
                .collect();
            below = Some(h.clone());
        }
        let fc = tensor(&file, "fc.weight");
        expected.extend(add(
            &fc.times(below.as_ref().unwrap()),
            &tensor(&file, "fc.bias").values,
        ));
    }
    assert_close(&model_logits(&model, ids), &expected);
}

fn logistic(v: f32) -> f32 {
    1.0 / (1.0 + (-v).exp())
}

/// The file's tensor names, sorted, are the whitespace-separated `expected`.
fn assert_names(file: &SafeTensors, expected: &str) {
    let mut names = file.names();
    names.sort();
    assert_eq!(names, expected.split_whitespace().collect::<Vec<_>>());
}

/// Rows `k·h .. (k+1)·h` of a gate vector: gate `k`.
fn gate(values: &[f32], k: usize, h: usize) -> &[f32] {
    &values[k * h..(k + 1) * h]
}

#[test]
fn gated_exports_follow_torch_lstm_and_gru() {
    let corpus = corpus();
    let vocab = corpus.vocabulary.len();
    let h = 5;
    for (cell, gates) in [(RecurrentCell::Lstm, 4), (RecurrentCell::Gru, 3)] {
        let settings = ModelSettings {
            hidden: h,
            layers: 2,
            cell,
            ..ModelSettings::default()
        };
        let (model, bytes) = exported(settings, &corpus, 6);
        let file = SafeTensors::deserialize(&bytes).unwrap();
        let (_, metadata) = SafeTensors::read_metadata(&bytes).unwrap();
        let metadata = metadata.metadata().clone().unwrap();
        assert_eq!(metadata["cell"], cell.name());
        assert_eq!(
            file.names().len(),
            2 * 4 + 2,
            "{cell:?}: nn.LSTM/GRU's names and fc's"
        );
        for k in 0..2 {
            let width = if k == 0 { vocab } else { h };
            let shape = |name: &str| {
                file.tensor(&format!("rnn.{name}_l{k}"))
                    .unwrap()
                    .shape()
                    .to_vec()
            };
            assert_eq!(shape("weight_ih"), [gates * h, width]);
            assert_eq!(shape("weight_hh"), [gates * h, h]);
            assert_eq!(shape("bias_ih"), [gates * h]);
            assert_eq!(shape("bias_hh"), [gates * h]);
        }

        // torch.nn.LSTM (gates i, f, g, o) and torch.nn.GRU (r, z, n; the reset gate multiplies
        // W_hn h + b_hn), layer 0 reading one-hot symbols.
        let ids = &corpus.ids[..12];
        let mut hidden = vec![vec![0.0f32; h]; 2];
        let mut cells = vec![vec![0.0f32; h]; 2];
        let mut expected = Vec::new();
        for &id in ids {
            let mut below: Option<Vec<f32>> = None;
            for k in 0..2 {
                let x = (id as usize, below.as_deref());
                let (from_input, from_hidden) = layer_affines(&file, k, x, &hidden[k]);
                if cell == RecurrentCell::Lstm {
                    let a = add(&from_input, &from_hidden);
                    for j in 0..h {
                        let (i, f) = (logistic(gate(&a, 0, h)[j]), logistic(gate(&a, 1, h)[j]));
                        let (g, o) = (gate(&a, 2, h)[j].tanh(), logistic(gate(&a, 3, h)[j]));
                        cells[k][j] = f * cells[k][j] + i * g;
                        hidden[k][j] = o * cells[k][j].tanh();
                    }
                } else {
                    for (j, state) in hidden[k].iter_mut().enumerate() {
                        let r = logistic(gate(&from_input, 0, h)[j] + gate(&from_hidden, 0, h)[j]);
                        let z = logistic(gate(&from_input, 1, h)[j] + gate(&from_hidden, 1, h)[j]);
                        let n =
                            (gate(&from_input, 2, h)[j] + r * gate(&from_hidden, 2, h)[j]).tanh();
                        *state = (1.0 - z) * n + z * *state;
                    }
                }
                below = Some(hidden[k].clone());
            }
            let fc = tensor(&file, "fc.weight");
            expected.extend(add(
                &fc.times(below.as_ref().unwrap()),
                &tensor(&file, "fc.bias").values,
            ));
        }
        assert_close(&model_logits(&model, ids), &expected);
    }
}

#[test]
fn pattern_2_export_is_two_linear_layers() {
    let corpus = corpus();
    let vocab = corpus.vocabulary.len();
    let settings = ModelSettings {
        pattern: Pattern::Output,
        hidden: 5,
        ..ModelSettings::default()
    };
    let (model, bytes) = exported(settings, &corpus, 5);
    let file = SafeTensors::deserialize(&bytes).unwrap();
    let feedback = tensor(&file, "feedback.weight");
    assert_eq!((feedback.rows, feedback.cols), (5, vocab));
    let ids = &corpus.ids[..10];
    let mut expected = Vec::new();
    for &id in ids {
        let h: Vec<f32> = add(
            &feedback.column(id as usize),
            &tensor(&file, "feedback.bias").values,
        )
        .iter()
        .map(|v| v.tanh())
        .collect();
        expected.extend(add(
            &tensor(&file, "fc.weight").times(&h),
            &tensor(&file, "fc.bias").values,
        ));
    }
    assert_close(&model_logits(&model, ids), &expected);
}

#[test]
fn pattern_3_export_is_an_rnn_then_a_linear_on_the_last_state() {
    use std::collections::HashMap;
    use unroll_model::{HiddenStackConfig, InputEncoding, SequenceInput, SequenceSummarizerConfig};
    use unroll_training::export::sequence_summarizer_safetensors_bytes;

    B::seed(&Default::default(), 6);
    let (d_input, time, batch) = (3, 5, 2);
    let model = SequenceSummarizerConfig::new(
        HiddenStackConfig::new(InputEncoding::Dense { d_input }, 4),
        2,
    )
    .init::<B>(&Default::default());
    let inputs: Vec<f32> = (0..batch * time * d_input)
        .map(|i| ((i * 37 % 11) as f32 - 5.0) / 5.0)
        .collect();
    let x = Tensor::<B, 3>::from_data(
        TensorData::new(inputs.clone(), [batch, time, d_input]),
        &Default::default(),
    );
    let outputs: Vec<f32> = model
        .forward(SequenceInput::Dense(x), None)
        .unwrap()
        .into_data()
        .iter::<f32>()
        .collect();
    let metadata = HashMap::from([("task".to_string(), "test".to_string())]);
    let bytes = sequence_summarizer_safetensors_bytes(&model, metadata);
    let file = SafeTensors::deserialize(&bytes).unwrap();
    let w_ih = tensor(&file, "rnn.weight_ih_l0");
    let w_hh = tensor(&file, "rnn.weight_hh_l0");
    let b_ih = tensor(&file, "rnn.bias_ih_l0").values;
    let b_hh = tensor(&file, "rnn.bias_hh_l0").values;
    let fc = tensor(&file, "fc.weight");
    let mut expected = Vec::new();
    for b in 0..batch {
        let mut h = vec![0.0f32; 4];
        for t in 0..time {
            let start = (b * time + t) * d_input;
            let x = &inputs[start..start + d_input];
            let a = add(&add(&w_ih.times(x), &b_ih), &add(&w_hh.times(&h), &b_hh));
            h = a.iter().map(|v| v.tanh()).collect();
        }
        expected.extend(add(&fc.times(&h), &tensor(&file, "fc.bias").values));
    }
    assert_close(&outputs, &expected);
}

/// Equal lengths, and every value within 1e-5.
fn assert_close(actual: &[f32], expected: &[f32]) {
    unroll_test_support::assert_within("exported values", actual, expected, 1e-5);
}

/// A forecaster's export: pattern 2's open-loop forecast recomputed from the exported tensors
/// alone (`o = fc(tanh(feedback(y)))` iterated), and pattern 1 under `nn.RNN`'s names.
#[test]
fn forecaster_export_reproduces_the_open_loop_forecast() {
    use std::collections::HashMap;
    use unroll_training::export::forecaster_safetensors_bytes;
    use unroll_training::forecast::{RegressionLoss, init_forecaster};
    use unroll_training::{ModelSettings, Pattern};

    B::seed(&Default::default(), 7);
    let settings = |pattern| ModelSettings {
        pattern,
        hidden: 5,
        layers: 1,
        dropout: 0.0,
        ..ModelSettings::default()
    };
    let model = init_forecaster::<B>(
        &settings(Pattern::Output),
        3,
        RegressionLoss::MeanSquared,
        &Default::default(),
    )
    .unwrap();
    let warm = [0.2f32, -0.4, 0.9, 0.5, 0.1, -0.3];
    let warmup = Tensor::<B, 3>::from_data(
        TensorData::new(warm.to_vec(), [1, 2, 3]),
        &Default::default(),
    );
    let forecast: Vec<f32> = model
        .open_loop(warmup, 4)
        .unwrap()
        .into_data()
        .iter::<f32>()
        .collect();
    let bytes = forecaster_safetensors_bytes(&model, HashMap::new());
    let file = SafeTensors::deserialize(&bytes).unwrap();
    let feedback = tensor(&file, "feedback.weight");
    let fc = tensor(&file, "fc.weight");
    let mut y = warm[3..].to_vec();
    let mut expected = Vec::new();
    for _ in 0..4 {
        let h: Vec<f32> = add(&feedback.times(&y), &tensor(&file, "feedback.bias").values)
            .iter()
            .map(|v| v.tanh())
            .collect();
        y = add(&fc.times(&h), &tensor(&file, "fc.bias").values);
        expected.extend(&y);
    }
    assert_close(&forecast, &expected);

    let hidden = init_forecaster::<B>(
        &settings(Pattern::Hidden),
        3,
        RegressionLoss::MeanSquared,
        &Default::default(),
    )
    .unwrap();
    let file_bytes = forecaster_safetensors_bytes(&hidden, HashMap::new());
    let file = SafeTensors::deserialize(&file_bytes).unwrap();
    let names = "fc.bias fc.weight rnn.bias_hh_l0 rnn.bias_ih_l0 rnn.weight_hh_l0 rnn.weight_ih_l0";
    assert_names(&file, names);
}

/// Runs one direction of layer `k` of an exported bidirectional tanh stack over `inputs` (the
/// row's real steps, in time order) from zero: `h(t)` in time order, read backward when
/// `reverse`.
fn exported_direction(
    file: &SafeTensors,
    k: usize,
    reverse: bool,
    inputs: &[Vec<f32>],
) -> Vec<Vec<f32>> {
    let suffix = if reverse { "_reverse" } else { "" };
    let w_ih = tensor(file, &format!("rnn.weight_ih_l{k}{suffix}"));
    let w_hh = tensor(file, &format!("rnn.weight_hh_l{k}{suffix}"));
    let b_ih = tensor(file, &format!("rnn.bias_ih_l{k}{suffix}")).values;
    let b_hh = tensor(file, &format!("rnn.bias_hh_l{k}{suffix}")).values;
    let mut h = vec![0.0f32; w_hh.rows];
    let mut states = vec![Vec::new(); inputs.len()];
    let order: Vec<usize> = if reverse {
        (0..inputs.len()).rev().collect()
    } else {
        (0..inputs.len()).collect()
    };
    for t in order {
        let a = add(
            &add(&w_ih.times(&inputs[t]), &b_ih),
            &add(&w_hh.times(&h), &b_hh),
        );
        h = a.iter().map(|v| v.tanh()).collect();
        states[t] = h.clone();
    }
    states
}

#[test]
fn bidirectional_pattern_3_export_is_torch_bidirectional_rnn_then_a_linear_on_both_last_states() {
    use std::collections::HashMap;
    use unroll_model::{BidirectionalConfig, HiddenStackConfig, InputEncoding, SequenceInput};
    use unroll_training::export::bidirectional_summarizer_safetensors_bytes;

    B::seed(&Default::default(), 7);
    let (d_input, time, hidden) = (3, 5, 4);
    let lengths = [5usize, 2];
    let model = BidirectionalConfig::new(
        HiddenStackConfig::new(InputEncoding::Dense { d_input }, hidden).with_num_layers(2),
        2,
    )
    .try_init_summarizer::<B>(&Default::default())
    .unwrap();
    let inputs: Vec<f32> = (0..lengths.len() * time * d_input)
        .map(|i| ((i * 37 % 11) as f32 - 5.0) / 5.0)
        .collect();
    let x = Tensor::<B, 3>::from_data(
        TensorData::new(inputs.clone(), [lengths.len(), time, d_input]),
        &Default::default(),
    );
    let outputs: Vec<f32> = model
        .forward(SequenceInput::Dense(x), Some(&lengths))
        .unwrap()
        .into_data()
        .iter::<f32>()
        .collect();
    let bytes = bidirectional_summarizer_safetensors_bytes(&model, HashMap::new());
    let file = SafeTensors::deserialize(&bytes).unwrap();
    let mut names: Vec<String> = (0..2)
        .flat_map(|k| {
            ["", "_reverse"].into_iter().flat_map(move |suffix| {
                ["bias_hh", "bias_ih", "weight_hh", "weight_ih"]
                    .map(|name| format!("rnn.{name}_l{k}{suffix}"))
            })
        })
        .chain(["fc.bias".to_string(), "fc.weight".to_string()])
        .collect();
    names.sort();
    assert_names(&file, &names.join(" "));
    assert_eq!(
        tensor(&file, "rnn.weight_ih_l1_reverse").cols,
        2 * hidden,
        "layer 1 reads both"
    );
    let (_, header) = SafeTensors::read_metadata(&bytes).unwrap();
    let metadata = header.metadata().clone().unwrap();
    assert_eq!(metadata["bidirectional"], "true");
    assert_eq!(metadata["cell"], "tanh");
    let mut expected = Vec::new();
    for (row, &length) in lengths.iter().enumerate() {
        // Each row alone, to its own length: what PyTorch's packed sequence runs.
        let mut layer_input: Vec<Vec<f32>> = (0..length)
            .map(|t| inputs[(row * time + t) * d_input..(row * time + t + 1) * d_input].to_vec())
            .collect();
        let mut last = Vec::new();
        for k in 0..2 {
            let ahead = exported_direction(&file, k, false, &layer_input);
            let behind = exported_direction(&file, k, true, &layer_input);
            last = [ahead[length - 1].clone(), behind[0].clone()].concat();
            layer_input = ahead
                .iter()
                .zip(&behind)
                .map(|(a, b)| [a.clone(), b.clone()].concat())
                .collect();
        }
        let fc = tensor(&file, "fc.weight");
        expected.extend(add(&fc.times(&last), &tensor(&file, "fc.bias").values));
    }
    assert_close(&outputs, &expected);
}
