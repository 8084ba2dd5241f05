//! Sequence to sequence: the encoder's summary starts the decoder. By hand, against PyTorch's
//! numbers (`tests/fixtures/encoder_decoder.json`, written by
//! `scripts/pytorch_seq2seq_fixture.py`: `nn.LSTM`/`nn.GRU` encoder over packed sources, decoder,
//! `nn.Linear`, f64), a padded batch against each pair alone, the fused path against the
//! unrolled one, and finite differences.

use serde_json::Value;
use unroll_model::{EncoderDecoder, EncoderDecoderConfig, FeedbackChoice, FeedingPlan};

use super::*;
use crate::common::gated_checks::{
    AGREEMENT, assert_layer_gradients, numbers, pytorch_layer, tensor,
};

/// Two layers of `cell`, `hidden` units, over `sources` and `targets` symbols; the summary in
/// every decoder input when asked.
fn config(
    sources: usize,
    targets: usize,
    hidden: usize,
    cell: RecurrentCell,
    summary_input: bool,
) -> EncoderDecoderConfig {
    let config = EncoderDecoderConfig::symbols(sources, targets, hidden, 2, cell);
    match summary_input {
        true => config.with_summary_in_every_input(),
        false => config,
    }
}

/// Sets the path of both parts.
fn set_path<B: TestBackend>(model: &mut EncoderDecoder<B>, path: RecurrencePath) {
    model.encoder.as_mut().expect("one way").path = path;
    model.decoder.hidden.path = path;
}

/// `−log softmax(o)[k]` for logits `o`.
fn cross_entropy(o: &[f64], k: usize) -> f64 {
    let log_sum: f64 = o.iter().map(|v| v.exp()).sum::<f64>().ln();
    log_sum - o[k]
}

/// One tanh unit a side, by hand: the decoder fed the previous symbol, and (`summary_input`)
/// the summary too, through an input weight of 0.7.
pub fn encoder_decoder_by_hand<B: TestBackend>(device: &B::Device) {
    for summary_input in [false, true] {
        by_hand::<B>(summary_input, device);
    }
}

fn by_hand<B: TestBackend>(summary_input: bool, device: &B::Device) {
    let mut config = EncoderDecoderConfig::symbols(2, 2, 1, 1, RecurrentCell::Tanh);
    if summary_input {
        config = config.with_summary_in_every_input();
    }
    let mut model = config.init::<B>(device);
    let encoder = tanh_layer(&mut model.encoder.as_mut().expect("one way").layers[0]);
    encoder.input_weight = matrix_param(&[vec![0.5], vec![-1.0]], device);
    encoder.recurrent_weight = matrix_param(&[vec![0.8]], device);
    encoder.bias = vector_param(&[0.1], device);
    let decoder = tanh_layer(&mut model.decoder.hidden.layers[0]);
    let mut input_weight = vec![vec![0.3], vec![-0.2]];
    if summary_input {
        input_weight.push(vec![0.7]);
    }
    decoder.input_weight = matrix_param(&input_weight, device);
    decoder.recurrent_weight = matrix_param(&[vec![0.6]], device);
    decoder.bias = vector_param(&[-0.1], device);
    model.decoder.output.weight = matrix_param(&[vec![1.0, -1.0]], device);
    model.decoder.output.bias = Some(vector_param(&[0.2, 0.0], device));

    // Row 0 reads [0, 1, 1]; row 1 reads [1, 0] and a padding 0 it must ignore.
    let h1 = (0.1f64 + 0.5).tanh();
    let h2 = (0.1 - 1.0 + 0.8 * h1).tanh();
    let h3 = (0.1 - 1.0 + 0.8 * h2).tanh();
    let g1 = (0.1f64 - 1.0).tanh();
    let g2 = (0.1 + 0.5 + 0.8 * g1).tanh();
    // The decoder starts from h3 and g2, fed [0, 1] and [1, 0], and each step its summary's
    // 0.7 C when the summary is in every input.
    let c = |summary: f64| if summary_input { 0.7 * summary } else { 0.0 };
    let s1 = (-0.1 + 0.3 + c(h3) + 0.6 * h3).tanh();
    let s2 = (-0.1 - 0.2 + c(h3) + 0.6 * s1).tanh();
    let r1 = (-0.1 - 0.2 + c(g2) + 0.6 * g2).tanh();
    let r2 = (-0.1 + 0.3 + c(g2) + 0.6 * r1).tanh();
    let o = |s: f64| [0.2 + s, -s];
    let logits: Vec<f64> = [s1, s2, r1, r2].iter().flat_map(|&s| o(s)).collect();
    // Targets [1, 0] and [0, 1]; row 1's second step lies past its target length 1.
    let losses = [
        cross_entropy(&o(s1), 1),
        cross_entropy(&o(s2), 0),
        cross_entropy(&o(r1), 0),
        0.0,
    ];
    for path in [RecurrencePath::Fused, RecurrencePath::Unrolled] {
        set_path(&mut model, path);
        let source = || SequenceInput::Tokens(ids::<B>(&[vec![0, 1, 1], vec![1, 0, 0]], device));
        let previous = || ids::<B>(&[vec![0, 1], vec![1, 0]], device);
        let out = model.forward(source(), Some(&[3, 2]), previous()).unwrap();
        assert_close(
            &format!("{path:?} logits"),
            &values(out.logits),
            &logits,
            EXACT,
        );
        let summary = model.encode(source(), Some(&[3, 2])).unwrap();
        assert_close(
            &format!("{path:?} summary"),
            &values(summary.hidden.clone()),
            &[h3, g2],
            EXACT,
        );
        let targets = ids::<B>(&[vec![1, 0], vec![0, 1]], device);
        let got = model
            .forward_loss(source(), Some(&[3, 2]), previous(), targets, Some(&[2, 1]))
            .unwrap();
        assert_close(&format!("{path:?} losses"), &values(got), &losses, EXACT);
        // Step by step from the summary, as decoding runs: the same logits.
        let context = model.context(&summary);
        assert_eq!(context.is_some(), summary_input);
        let mut state = summary;
        for (t, fed) in [[0, 1], [1, 0]].into_iter().enumerate() {
            let previous = Tensor::<B, 1, Int>::from_data(TensorData::from(fed), device);
            let (step, next) = model
                .decode_step(previous, state, context.as_ref())
                .unwrap();
            state = next;
            let expected: Vec<f64> = [0, 1]
                .iter()
                .flat_map(|&row| o([s1, s2, r1, r2][2 * row + t]))
                .collect();
            assert_close(
                &format!("{path:?} step {t}"),
                &values(step),
                &expected,
                EXACT,
            );
        }
    }
}

/// Pairs of random lengths, padded: sources `[batch, 6]` over 5 symbols, previous symbols and
/// targets `[batch, 4]` over 4.
struct Pairs {
    source: Vec<Vec<i64>>,
    previous: Vec<Vec<i64>>,
    targets: Vec<Vec<i64>>,
    source_lengths: Vec<usize>,
    target_lengths: Vec<usize>,
}

impl Pairs {
    fn new(numbers: &mut Numbers) -> Self {
        let source_lengths = vec![6, 2, 4, 1, 5, 3];
        let target_lengths = vec![3, 4, 1, 2, 4, 4];
        let batch = source_lengths.len();
        Pairs {
            source: random_ids(numbers, batch, 6, 5),
            previous: random_ids(numbers, batch, 4, 4),
            targets: random_ids(numbers, batch, 4, 4),
            source_lengths,
            target_lengths,
        }
    }

    /// The losses of rows `rows` (all padded together, or one alone and unpadded).
    fn losses<B: TestBackend>(
        &self,
        model: &EncoderDecoder<B>,
        rows: std::ops::Range<usize>,
        device: &B::Device,
    ) -> Tensor<B, 2> {
        if rows.len() == 1 {
            let b = rows.start;
            let (ls, lt) = (self.source_lengths[b], self.target_lengths[b]);
            let one = |rows: &[Vec<i64>], n: usize| ids::<B>(&[rows[b][..n].to_vec()], device);
            let source = SequenceInput::Tokens(one(&self.source, ls));
            let (previous, targets) = (one(&self.previous, lt), one(&self.targets, lt));
            return model
                .forward_loss(source, None, previous, targets, None)
                .unwrap();
        }
        let source = SequenceInput::Tokens(ids::<B>(&self.source, device));
        let previous = ids::<B>(&self.previous, device);
        let targets = ids::<B>(&self.targets, device);
        model
            .forward_loss(
                source,
                Some(&self.source_lengths),
                previous,
                targets,
                Some(&self.target_lengths),
            )
            .unwrap()
    }
}

/// A padded batch gives every pair exactly its losses alone and zero past its target length,
/// and the same gradients; the fused path gives what the unrolled one does. Every cell, two
/// layers.
pub fn encoder_decoder_padding_equals_alone_and_paths_agree<B: TestBackend>(device: &B::Device) {
    B::seed(device, 41);
    let mut numbers = Numbers::new(41);
    let pairs = Pairs::new(&mut numbers);
    let batch = pairs.source.len();
    let cells = [RecurrentCell::Tanh, RecurrentCell::Lstm, RecurrentCell::Gru];
    for (cell, summary_input) in cells.into_iter().flat_map(|c| [(c, false), (c, true)]) {
        let mut model = config(5, 4, 3, cell, summary_input).init::<B>(device);
        let mut by_path = Vec::new();
        for path in [RecurrencePath::Fused, RecurrencePath::Unrolled] {
            set_path(&mut model, path);
            let what = format!("{cell:?} {path:?}, summary in every input {summary_input}");
            let batched = pairs.losses(&model, 0..batch, device);
            let batched_gradients = all_gradients(&model, &batched.clone().sum().backward());
            assert_eq!(
                batched_gradients.len(),
                2 * 2 * layer_parameters(cell) + 2,
                "{what}: every parameter has a gradient"
            );
            let mut expected = Vec::new();
            let mut alone_sum = None;
            for (b, &length) in pairs.target_lengths.iter().enumerate() {
                let alone = pairs.losses(&model, b..b + 1, device);
                expected.extend(values(alone.clone()));
                expected.extend(std::iter::repeat_n(0.0, 4 - length));
                let term = alone.sum();
                alone_sum = Some(match alone_sum {
                    None => term,
                    Some(sum) => sum + term,
                });
            }
            let batched = values(batched);
            assert_close(&format!("{what} losses"), &batched, &expected, EXACT);
            let alone = all_gradients(&model, &alone_sum.unwrap().backward());
            assert_same_gradients(&what, &batched_gradients, &alone);
            by_path.push((batched, batched_gradients));
        }
        let (fused, unrolled) = (&by_path[0], &by_path[1]);
        let what = format!("{cell:?}, summary in every input {summary_input}, fused");
        assert_close(&format!("{what} losses"), &fused.0, &unrolled.0, EXACT);
        assert_same_gradients(&what, &fused.1, &unrolled.1);
    }
}

pub fn encoder_decoder_gradients_match_finite_differences<B: TestBackend>(device: &B::Device) {
    B::seed(device, 42);
    let mut numbers = Numbers::new(42);
    let source = ids::<B>(&random_ids(&mut numbers, 2, 4, 3), device);
    let previous = ids::<B>(&random_ids(&mut numbers, 2, 3, 3), device);
    let targets = ids::<B>(&random_ids(&mut numbers, 2, 3, 3), device);
    for (path, cell, summary_input) in [
        (RecurrencePath::Fused, RecurrentCell::Tanh, false),
        (RecurrencePath::Unrolled, RecurrentCell::Tanh, false),
        (RecurrencePath::Fused, RecurrentCell::Lstm, false),
        (RecurrencePath::Fused, RecurrentCell::Gru, false),
        (RecurrencePath::Fused, RecurrentCell::Tanh, true),
        (RecurrencePath::Fused, RecurrentCell::Lstm, true),
        (RecurrencePath::Unrolled, RecurrentCell::Gru, true),
    ] {
        let mut model = config(3, 3, 2, cell, summary_input).init::<B>(device);
        set_path(&mut model, path);
        let loss = |m: &EncoderDecoder<B>| {
            m.forward_loss(
                SequenceInput::Tokens(source.clone()),
                Some(&[4, 2]),
                previous.clone(),
                targets.clone(),
                Some(&[3, 1]),
            )
            .unwrap()
            .sum()
        };
        let checked = check_against_finite_differences(&model, loss, FINITE_DIFFERENCES);
        assert_eq!(
            checked,
            2 * 2 * layer_parameters(cell) + 2,
            "{cell:?} {path:?}, summary in every input {summary_input}"
        );
    }
}

/// PyTorch's `nn.LSTM` (`nn.GRU`) encoder over packed sources, decoder and `nn.Linear`: the
/// masked per-step losses and the gradient of their sum for every weight, on both paths.
pub fn encoder_decoder_matches_pytorch<B: TestBackend>(device: &B::Device) {
    let all: Value = serde_json::from_str(include_str!("../../fixtures/encoder_decoder.json"))
        .expect("the fixture is JSON");
    for (kind, cell, summary_input) in [
        ("lstm", RecurrentCell::Lstm, false),
        ("gru", RecurrentCell::Gru, false),
        ("lstm_summary", RecurrentCell::Lstm, true),
        ("gru_summary", RecurrentCell::Gru, true),
    ] {
        let case = &all[kind];
        let size = |key: &str| case[key].as_u64().unwrap() as usize;
        let part = |key: &str, field: &str| case[key][field].as_u64().unwrap() as usize;
        let (batch, hidden, layers) = (part("encoder", "batch"), part("encoder", "hidden"), 2);
        let source_vocab = part("encoder", "input");
        // The decoder's input, less the summary's part when it reads the summary too.
        let target_vocab = part("decoder", "input") - usize::from(summary_input) * hidden;
        let mut model =
            config(source_vocab, target_vocab, hidden, cell, summary_input).init::<B>(device);
        let lstm = cell == RecurrentCell::Lstm;
        for k in 0..layers {
            model.encoder.as_mut().expect("one way").layers[k] =
                pytorch_layer(&case["encoder"], k, lstm, device);
            model.decoder.hidden.layers[k] = pytorch_layer(&case["decoder"], k, lstm, device);
        }
        let fc = tensor::<B, 2>(numbers(case, "fc.weight"), [target_vocab, hidden], device);
        model.decoder.output.weight = burn::module::Param::from_tensor(fc.transpose());
        model.decoder.output.bias = Some(vector_param(&numbers(case, "fc.bias"), device));
        let id_rows = |key: &str, time: usize| -> Vec<Vec<i64>> {
            let flat: Vec<i64> = case[key]
                .as_array()
                .unwrap()
                .iter()
                .map(|v| v.as_i64().unwrap())
                .collect();
            flat.chunks(time).map(<[i64]>::to_vec).collect()
        };
        let lengths = |key: &str| -> Vec<usize> {
            case[key]
                .as_array()
                .unwrap()
                .iter()
                .map(|v| v.as_u64().unwrap() as usize)
                .collect()
        };
        let (source_time, target_time) = (size("source_time"), size("target_time"));
        let source = id_rows("source", source_time);
        let (previous, targets) = (
            id_rows("previous", target_time),
            id_rows("targets", target_time),
        );
        assert_eq!(source.len(), batch);
        for path in [RecurrencePath::Fused, RecurrencePath::Unrolled] {
            set_path(&mut model, path);
            let what = format!("{kind} {path:?}");
            let losses = model
                .forward_loss(
                    SequenceInput::Tokens(ids::<B>(&source, device)),
                    Some(&lengths("source_lengths")),
                    ids::<B>(&previous, device),
                    ids::<B>(&targets, device),
                    Some(&lengths("target_lengths")),
                )
                .unwrap();
            let expected = numbers(case, "losses");
            assert_close(
                &format!("{what} losses"),
                &values(losses.clone()),
                &expected,
                AGREEMENT,
            );
            let gradients = losses.sum().backward();
            for k in 0..layers {
                let encoder = &model.encoder.as_ref().expect("one way").layers[k];
                assert_layer_gradients(
                    &format!("{what} encoder"),
                    &case["encoder"],
                    k,
                    encoder,
                    &gradients,
                );
                let decoder = &model.decoder.hidden.layers[k];
                assert_layer_gradients(
                    &format!("{what} decoder"),
                    &case["decoder"],
                    k,
                    decoder,
                    &gradients,
                );
            }
            let output = &model.decoder.output;
            let weight = output.weight.val().grad(&gradients).unwrap().transpose();
            let expected = numbers(case, "grad_fc.weight");
            assert_close(
                &format!("{what} fc.weight"),
                &values(weight),
                &expected,
                AGREEMENT,
            );
            let bias = output
                .bias
                .as_ref()
                .unwrap()
                .val()
                .grad(&gradients)
                .unwrap();
            let expected = numbers(case, "grad_fc.bias");
            assert_close(
                &format!("{what} fc.bias"),
                &values(bias),
                &expected,
                AGREEMENT,
            );
        }
    }
}

/// The symbols the decoder is fed under a plan (scheduled sampling, the curriculum) are those
/// of decoding step by step from the summary: the truth where the plan says so, else the
/// argmax of the step before. Every cell, two layers, the summary in every input or not (the
/// rollout kernel against `decode_step`, and the step-wise rollout against it).
pub fn encoder_decoder_fed_symbols_follow_decoding<B: TestBackend>(device: &B::Device) {
    B::seed(device, 43);
    let mut numbers = Numbers::new(43);
    let (batch, time, targets) = (12, 8, 6);
    let source = ids::<B>(&random_ids(&mut numbers, batch, 5, 3), device);
    let truth = random_ids(&mut numbers, batch, time, targets);
    let flags: Vec<bool> = (0..batch * time).map(|i| i % 3 == 0).collect();
    let plan = FeedingPlan::new(
        [batch, time],
        flags.clone(),
        vec![0.0; batch * time],
        FeedbackChoice::Argmax,
    )
    .unwrap();
    let cells = [RecurrentCell::Tanh, RecurrentCell::Lstm, RecurrentCell::Gru];
    for (cell, summary_input) in cells.into_iter().flat_map(|c| [(c, false), (c, true)]) {
        let what = format!("{cell:?}, summary in every input {summary_input}");
        let model = config(3, targets, 16, cell, summary_input).init::<B>(device);
        let lengths: Vec<usize> = (0..batch).map(|b| 1 + b % 5).collect();
        let summary = model
            .encode(SequenceInput::Tokens(source.clone()), Some(&lengths))
            .unwrap();
        let fed = model
            .fed_symbols(ids::<B>(&truth, device), summary.clone(), &plan)
            .unwrap();
        let fed: Vec<i64> = fed.into_data().iter::<i64>().collect();
        // By decode_step: each row's symbol is the truth at step 0 and where the plan says so.
        let context = model.context(&summary);
        let (mut state, mut expected) = (summary, vec![0; batch * time]);
        let mut previous: Vec<i64> = truth.iter().map(|row| row[0]).collect();
        for t in 0..time {
            for b in 0..batch {
                if t == 0 || flags[b * time + t] {
                    previous[b] = truth[b][t];
                }
                expected[b * time + t] = previous[b];
            }
            let fed_now =
                Tensor::<B, 1, Int>::from_data(TensorData::new(previous.clone(), [batch]), device);
            let (logits, next) = model.decode_step(fed_now, state, context.as_ref()).unwrap();
            state = next;
            previous = logits.argmax(1).into_data().iter::<i64>().collect();
        }
        assert_eq!(fed, expected, "{what}");
        let own = (0..batch * time)
            .filter(|&i| i % time != 0 && !flags[i])
            .count();
        let differ = (0..batch * time)
            .filter(|&i| fed[i] != truth[i / time][i % time])
            .count();
        assert!(
            own > 0 && differ > 0,
            "{what}: the plan feeds own symbols that differ from the truth"
        );
    }
}
