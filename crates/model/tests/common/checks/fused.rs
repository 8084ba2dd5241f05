//! The fused operations against the unrolled graph of Burn's own operations: the recurrence, the
//! summarizer, the top layer with its loss, and the cross-entropy.

use super::*;

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
        // Each pass names the packed leaf itself: a graph is consumed by its backward pass.
        let a = fused
            .forward(sequence.clone(), packed_state(&fused.hidden, &state))
            .unwrap();
        let b = unrolled
            .forward(sequence, packed_state(&unrolled.hidden, &state))
            .unwrap();
        assert_close(
            &format!("{what}: logits"),
            &values(a.logits.clone()),
            &values(b.logits.clone()),
            1e-12,
        );
        assert_close(
            &format!("{what}: state"),
            &values(a.state.clone().packed()),
            &values(b.state.clone().packed()),
            1e-12,
        );
        // The loss also reads the final state, so its gradient path is checked too. The fused
        // side scores with the fused cross-entropy, the reference with Burn's log-softmax.
        let fused_loss = summed_cross_entropy(a.logits, targets.clone())
            + a.state.packed().sum().mul_scalar(0.3);
        let reference_loss =
            burns_cross_entropy(b.logits, targets.clone()) + b.state.packed().sum().mul_scalar(0.3);
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
        let named = || packed_state(&fused.hidden, &state);
        let (losses_a, state_a) = fused
            .forward_loss(sequence.clone(), named(), targets.clone())
            .unwrap();
        let (losses_b, state_b) = unrolled
            .forward_loss(sequence.clone(), named(), targets.clone())
            .unwrap();
        assert_close(
            &format!("{what}: losses"),
            &values(losses_a.clone()),
            &values(losses_b.clone()),
            EXACT,
        );
        assert_close(
            &format!("{what}: state"),
            &values(state_a.packed()),
            &values(state_b.packed()),
            EXACT,
        );
        // The fused loss agrees with the logits of the plain forward pass as well.
        let logits = fused.forward(sequence, named()).unwrap().logits;
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
