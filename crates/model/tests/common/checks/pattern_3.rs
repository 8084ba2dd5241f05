//! Pattern 3 (one output after the whole sequence): by hand, padded rows against each alone,
//! finite differences, and its summary training a module downstream.

use super::*;

pub fn sequence_summarizer_forward_by_hand<B: TestBackend>(device: &B::Device) {
    let mut model = SequenceSummarizerConfig::new(
        HiddenStackConfig::new(InputEncoding::Tokens { vocab_size: 2 }, 1),
        1,
    )
    .init::<B>(device);
    let layer = tanh_layer(&mut model.hidden.layers[0]);
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
