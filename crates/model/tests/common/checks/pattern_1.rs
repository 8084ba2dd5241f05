//! Pattern 1 (hidden recurrence, an output every step): by hand, against the hand-written BPTT
//! and finite differences, a state carried across windows, a step against the whole pass.

use super::*;

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
    assert_close("state", &values(out.state.hidden), &h2, EXACT);
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
    assert_layer_gradients(
        tanh_layer(&mut model.hidden.layers[0].clone()),
        &gradients,
        &expected,
    );
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
    let state = HiddenState::from_packed(state, false);
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
    assert_close("state", &values(out.state.hidden), &expected_state, 1e-10);
    let gradients = summed_cross_entropy(out.logits, ids::<B>(&targets, device)).backward();
    assert_layer_gradients(
        tanh_layer(&mut model.hidden.layers[0].clone()),
        &gradients,
        &expected,
    );
}

pub fn hidden_recurrent_gradients_match_finite_differences<B: TestBackend>(device: &B::Device) {
    B::seed(device, 7);
    let mut numbers = Numbers::new(3);
    // Two stacked layers on dense input, from a non-zero state, for every cell.
    let (d_input, d_hidden, d_output, batch, time) = (3, 3, 4, 2, 4);
    for &cell in CELLS {
        let model = pattern_1::<B>(
            InputEncoding::Dense { d_input },
            (d_hidden, 2, cell),
            d_output,
            device,
        );
        let (x, _) = dense::<B>(&mut numbers, batch, time, d_input, device);
        let rows = 2 * (1 + usize::from(cell.has_cell_state()));
        let state = Tensor::<B, 2>::from_data(
            TensorData::new(
                numbers.vector(rows * batch * d_hidden, 0.5),
                [rows * batch, d_hidden],
            ),
            device,
        )
        .reshape([rows, batch, d_hidden]);
        let state = HiddenState::from_packed(state, cell.has_cell_state());
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
    for &cell in CELLS {
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

/// `model` over rows of token ids from `state`.
fn on_ids<B: TestBackend>(
    model: &HiddenRecurrent<B>,
    rows: &[Vec<i64>],
    state: Option<HiddenState<B>>,
    device: &B::Device,
) -> RecurrentOutput<B> {
    let input = SequenceInput::Tokens(ids::<B>(rows, device));
    model.forward(input, state).unwrap()
}

/// The logits and final state a model gave in pieces equal those of one `whole` pass, exactly.
fn assert_same_as_whole<B: TestBackend>(
    what: &str,
    (logits, state): (Tensor<B, 3>, HiddenState<B>),
    whole: RecurrentOutput<B>,
) {
    let logits_what = format!("{what} logits");
    assert_close(&logits_what, &values(logits), &values(whole.logits), EXACT);
    assert_close(
        &format!("{what} state"),
        &values(state.packed()),
        &values(whole.state.packed()),
        EXACT,
    );
}

pub fn hidden_recurrent_state_carries_across_windows<B: TestBackend>(device: &B::Device) {
    B::seed(device, 11);
    for &cell in CELLS {
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
        assert_eq!(whole.state.dims(), [2, 2, 5]);
        assert_eq!(whole.state.cell.is_some(), cell == RecurrentCell::Lstm);
        assert_same_as_whole(&format!("{cell:?}"), (joined, b.state), whole);
    }
}

pub fn hidden_recurrent_step_matches_forward<B: TestBackend>(device: &B::Device) {
    B::seed(device, 12);
    for &cell in CELLS {
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
