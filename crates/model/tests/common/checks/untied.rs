//! The control without sharing over time: by hand, against the shared network it becomes when
//! every position holds the same weights (values, and gradients that sum to the shared ones),
//! and finite differences.

use unroll_model::{UntiedPosition, UntiedSummarizer, UntiedSummarizerConfig};

use super::*;

/// A parameter of `shape` holding `values`.
fn param<B: TestBackend, const D: usize>(
    values: Vec<f64>,
    shape: [usize; D],
    device: &B::Device,
) -> Param<Tensor<B, D>> {
    Param::from_tensor(Tensor::from_data(TensorData::new(values, shape), device))
}

pub fn untied_summarizer_forward_by_hand<B: TestBackend>(device: &B::Device) {
    let mut model = UntiedSummarizerConfig::new(2, 1, 3, 1).init::<B>(device);
    // Position 1: U = [0.5, −1], W unused (h(0) = 0), b = 0.1; position 2: U = [2, 0.3],
    // W = 0.8, b = −0.2; position 3: U = [−0.7, 1.2], W = −1.5, b = 0.05. Output after one
    // step: V = 1.5, c = 0.25; after two: V = −2, c = 1; after three: V = 0.6, c = −0.3.
    let weights = [
        ([0.5, -1.0], 9.0, 0.1, 1.5, 0.25),
        ([2.0, 0.3], 0.8, -0.2, -2.0, 1.0),
        ([-0.7, 1.2], -1.5, 0.05, 0.6, -0.3),
    ];
    for (position, (u, w, b, v, c)) in model.positions.iter_mut().zip(weights) {
        position.input_weight = matrix_param(&[vec![u[0]], vec![u[1]]], device);
        position.recurrent_weight = matrix_param(&[vec![w]], device);
        position.bias = vector_param(&[b], device);
        position.output_weight = matrix_param(&[vec![v]], device);
        position.output_bias = vector_param(&[c], device);
    }
    let (a1, b1) = ((0.1f64 + 0.5).tanh(), (0.1f64 - 1.0).tanh());
    let (a2, b2) = (
        (-0.2 + 0.3 + 0.8 * a1).tanh(),
        (-0.2 + 2.0 + 0.8 * b1).tanh(),
    );
    let (a3, b3) = (
        (0.05 - 0.7 - 1.5 * a2).tanh(),
        (0.05 + 1.2 - 1.5 * b2).tanh(),
    );
    let three = model
        .forward(ids::<B>(&[vec![0, 1, 0], vec![1, 0, 1]], device))
        .unwrap();
    assert_close(
        "three steps",
        &values(three),
        &[-0.3 + 0.6 * a3, -0.3 + 0.6 * b3],
        EXACT,
    );
    let two = model
        .forward(ids::<B>(&[vec![0, 1], vec![1, 0]], device))
        .unwrap();
    assert_close(
        "two steps",
        &values(two),
        &[1.0 - 2.0 * a2, 1.0 - 2.0 * b2],
        EXACT,
    );
    let one = model.forward(ids::<B>(&[vec![1]], device)).unwrap();
    assert_close("one step", &values(one), &[0.25 + 1.5 * b1], EXACT);
    assert!(
        model
            .forward(ids::<B>(&[vec![0, 1, 1, 0]], device))
            .is_err(),
        "longer than its positions"
    );
    assert!(
        model.forward(ids::<B>(&[vec![0, 2]], device)).is_err(),
        "an id outside the vocabulary"
    );
}

/// The shared layer's `(U, W, b)` as the untied network holds them at one position (the LSTM's
/// two biases summed), and the parameters they come from, for their gradients.
#[allow(clippy::type_complexity)]
fn shared_layer<B: TestBackend>(
    layer: &Layer<B>,
) -> (
    [Vec<f64>; 3],
    Vec<(Param<Tensor<B, 2>>, usize)>,
    Vec<Param<Tensor<B, 1>>>,
) {
    match layer {
        Layer::Tanh(l) => (
            [
                values(l.input_weight.val()),
                values(l.recurrent_weight.val()),
                values(l.bias.val()),
            ],
            vec![(l.input_weight.clone(), 0), (l.recurrent_weight.clone(), 1)],
            vec![l.bias.clone()],
        ),
        Layer::Lstm(l) => (
            [
                values(l.input_weight.val()),
                values(l.hidden_weight.val()),
                values(l.input_bias.val() + l.hidden_bias.val()),
            ],
            vec![(l.input_weight.clone(), 0), (l.hidden_weight.clone(), 1)],
            vec![l.input_bias.clone(), l.hidden_bias.clone()],
        ),
        other => panic!("no untied {:?}", other.kind()),
    }
}

/// With every position holding the shared layer's weights, the untied network computes what
/// the shared one (the fused path) computes, and the shared weights' gradients are the sums of
/// the untied positions' gradients: sharing is tying, exactly. Tanh and LSTM.
pub fn untied_summarizer_with_equal_weights_is_the_shared_summarizer<B: TestBackend>(
    device: &B::Device,
) {
    B::seed(device, 41);
    let mut numbers = Numbers::new(12);
    let (vocab, hidden, classes, positions, time, batch) = (3, 4, 2, 6, 4, 3);
    for cell in [RecurrentCell::Tanh, RecurrentCell::Lstm] {
        let mut shared = SequenceSummarizerConfig::new(
            HiddenStackConfig::new(InputEncoding::Tokens { vocab_size: vocab }, hidden)
                .with_cell(cell),
            classes,
        )
        .init::<B>(device);
        shared.hidden.path = RecurrencePath::Fused;
        let tokens = ids::<B>(&random_ids(&mut numbers, batch, time, vocab), device);
        let weights = matrix::<B>(&numbers.matrix(batch, classes, 1.0), device);
        // First: Burn draws a parameter when it is first read, and a copy read first draws
        // its own.
        let shared_out = shared
            .forward(SequenceInput::Tokens(tokens.clone()), None)
            .unwrap();
        let ([u, w, b], matrices, biases) = shared_layer(&shared.hidden.layers[0]);
        let gates = b.len();
        let mut untied = UntiedSummarizerConfig::new(vocab, hidden, positions, classes)
            .with_cell(cell)
            .init::<B>(device);
        let output_bias = values(shared.output.bias.as_ref().expect("a bias").val());
        for position in &mut untied.positions {
            position.input_weight = param::<B, 2>(u.clone(), [vocab, gates], device);
            position.recurrent_weight = param::<B, 2>(w.clone(), [hidden, gates], device);
            position.bias = param::<B, 1>(b.clone(), [gates], device);
            position.output_weight = param::<B, 2>(
                values(shared.output.weight.val()),
                [hidden, classes],
                device,
            );
            position.output_bias = param::<B, 1>(output_bias.clone(), [classes], device);
        }
        let untied_out = untied.forward(tokens).unwrap();
        assert_close(
            &format!("{cell:?} outputs"),
            &values(untied_out.clone()),
            &values(shared_out.clone()),
            1e-10,
        );
        let shared_gradients = (shared_out * weights.clone()).sum().backward();
        let untied_gradients = (untied_out * weights).sum().backward();
        // Σ over the positions read (the first `time`) of the untied gradients; positions
        // beyond the sequence are not read, and no gradient reaches them.
        let summed = |name: &str, of: &dyn Fn(&UntiedPosition<B>) -> Vec<f64>| -> Vec<f64> {
            let each: Vec<Vec<f64>> = untied.positions.iter().map(of).collect();
            for beyond in &each[time..] {
                assert!(beyond.iter().all(|&g| g == 0.0), "{cell:?} {name}");
            }
            (0..each[0].len())
                .map(|k| each[..time].iter().map(|g| g[k]).sum())
                .collect()
        };
        let u = summed("∂L/∂U", &|p| {
            gradient(&p.input_weight, &untied_gradients)
        });
        let w = summed("∂L/∂W", &|p| {
            gradient(&p.recurrent_weight, &untied_gradients)
        });
        for (parameter, which) in matrices {
            assert_close(
                &format!("{cell:?} {}", ["∂L/∂U", "∂L/∂W"][which]),
                [&u, &w][which],
                &gradient(&parameter, &shared_gradients),
                1e-10,
            );
        }
        // Each of the shared biases is added once a step: its gradient is the summed bias's.
        let bias = summed("∂L/∂b", &|p| gradient(&p.bias, &untied_gradients));
        for parameter in biases {
            assert_close(
                &format!("{cell:?} ∂L/∂b"),
                &bias,
                &gradient(&parameter, &shared_gradients),
                1e-10,
            );
        }
        // The output weights read are those of length `time` alone.
        for (t, position) in untied.positions.iter().enumerate() {
            let output = gradient(&position.output_weight, &untied_gradients);
            if t == time - 1 {
                assert_close(
                    &format!("{cell:?} ∂L/∂V(τ)"),
                    &output,
                    &gradient(&shared.output.weight, &shared_gradients),
                    1e-10,
                );
            } else {
                assert!(output.iter().all(|&g| g == 0.0), "only V(τ) is read");
            }
        }
    }
}

pub fn untied_summarizer_gradients_match_finite_differences<B: TestBackend>(device: &B::Device) {
    B::seed(device, 43);
    let mut numbers = Numbers::new(13);
    for (cell, time) in [1, 3, 5]
        .map(|t| (RecurrentCell::Tanh, t))
        .into_iter()
        .chain([(RecurrentCell::Lstm, 1), (RecurrentCell::Lstm, 4)])
    {
        let model = UntiedSummarizerConfig::new(3, 3, 5, 2)
            .with_cell(cell)
            .init::<B>(device);
        let tokens = ids::<B>(&random_ids(&mut numbers, 2, time, 3), device);
        let targets = matrix::<B>(&numbers.matrix(2, 2, 1.0), device);
        let checked = check_against_finite_differences(
            &model,
            |m: &UntiedSummarizer<B>| {
                let o = m.forward(tokens.clone()).unwrap();
                (o - targets.clone()).powf_scalar(2.0).sum()
            },
            FINITE_DIFFERENCES,
        );
        // Read at length τ: U(t) and b(t) of positions 1 … τ, W(t) of 2 … τ (h(0) = 0), and
        // V(τ), c(τ); the rest have no gradient, and finite differences find none either.
        assert_eq!(
            checked,
            3 * time + 1,
            "{cell:?}: the parameters read, at length {time}"
        );
    }
}
