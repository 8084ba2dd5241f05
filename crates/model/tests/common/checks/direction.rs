//! A stack run backward in time: each row read from its own last real step to its first, which
//! must be exactly the forward stack on rows reversed by hand (here, on the host: the reference
//! shares no operation with the reversal under test), outputs put back in time order, for every
//! cell and both paths, values and every gradient.

use super::*;
use unroll_model::Direction;

/// Row `b` reversed within its own `length` (padding stays where it is), as positions.
fn reversed_position(t: usize, length: usize) -> usize {
    if t < length { length - 1 - t } else { t }
}

pub fn backward_direction_is_forward_on_rows_reversed_by_hand<B: TestBackend>(device: &B::Device) {
    B::seed(device, 61);
    let mut numbers = Numbers::new(31);
    let (batch, time, d_input, d_hidden) = (3, 5, 2, 4);
    let lengths = [5, 3, 1];
    // `[batch, time, d_input]` on the host, and the same rows reversed within their lengths.
    let rows: Vec<Vec<Vec<f64>>> = (0..batch)
        .map(|_| numbers.matrix(time, d_input, 1.0))
        .collect();
    let reversed: Vec<Vec<Vec<f64>>> = (0..batch)
        .map(|b| {
            (0..time)
                .map(|t| rows[b][reversed_position(t, lengths[b])].clone())
                .collect()
        })
        .collect();
    let tensor = |rows: &[Vec<Vec<f64>>]| {
        let flat: Vec<f64> = rows.iter().flatten().flatten().copied().collect();
        Tensor::<B, 3>::from_data(TensorData::new(flat, [batch, time, d_input]), device)
    };
    // Weights of each output in the loss, zero on padding; the reference's at reversed places.
    let weights = numbers.vector(batch * time * d_hidden, 1.0);
    let weight_at = |b: usize, t: usize, k: usize| {
        if t < lengths[b] {
            weights[(b * time + t) * d_hidden + k]
        } else {
            0.0
        }
    };
    let weights_tensor = |reverse: bool| {
        let flat: Vec<f64> = (0..batch)
            .flat_map(|b| (0..time).map(move |t| (b, t)))
            .flat_map(|(b, t)| {
                let t = if reverse {
                    reversed_position(t, lengths[b])
                } else {
                    t
                };
                (0..d_hidden).map(move |k| weight_at(b, t, k))
            })
            .collect();
        Tensor::<B, 3>::from_data(TensorData::new(flat, [batch, time, d_hidden]), device)
    };
    for &cell in CELLS {
        for path in [RecurrencePath::Fused, RecurrencePath::Unrolled] {
            let what = format!("{cell:?} {path:?}, backward");
            let stack: HiddenStack<B> = materialized(
                &HiddenStackConfig::new(InputEncoding::Dense { d_input }, d_hidden)
                    .with_cell(cell)
                    .with_num_layers(2)
                    .with_path(path)
                    .init::<B>(device),
            );
            // The same weights read backward.
            let mut backward = stack.clone();
            backward.direction = Direction::Backward;
            let zero = || stack.zero_state(batch, device);
            let (outputs, state) =
                backward.forward(SequenceInput::Dense(tensor(&rows)), zero(), Some(&lengths));
            let (reference, reference_state) = stack.forward(
                SequenceInput::Dense(tensor(&reversed)),
                zero(),
                Some(&lengths),
            );
            let (got, expected) = (values(outputs.clone()), values(reference.clone()));
            for (b, &length) in lengths.iter().enumerate() {
                for t in 0..length {
                    let at = |t: usize| (b * time + t) * d_hidden;
                    let r = reversed_position(t, length);
                    assert_close(
                        &format!("{what}: row {b}, g({t})"),
                        &got[at(t)..at(t) + d_hidden],
                        &expected[at(r)..at(r) + d_hidden],
                        EXACT,
                    );
                }
            }
            assert_close(
                &format!("{what}: final state"),
                &values(state.clone().packed()),
                &values(reference_state.clone().packed()),
                EXACT,
            );
            let loss = (outputs * weights_tensor(false)).sum() + state.packed().sum();
            let reference_loss =
                (reference * weights_tensor(true)).sum() + reference_state.packed().sum();
            assert_same_gradients(
                &what,
                &all_gradients(&stack, &loss.backward()),
                &all_gradients(&stack, &reference_loss.backward()),
            );
        }
    }
}

/// A backward stack has no step, and says so; its loss is the loss of its logits, and its
/// summary the state after each row's first step.
pub fn backward_direction_in_the_patterns<B: TestBackend>(device: &B::Device) {
    B::seed(device, 62);
    let mut numbers = Numbers::new(32);
    let (batch, time, vocab) = (2, 4, 5);
    for &cell in CELLS {
        let stack = HiddenStackConfig::new(InputEncoding::Tokens { vocab_size: vocab }, 3)
            .with_cell(cell)
            .with_num_layers(2)
            .with_direction(Direction::Backward);
        let model = materialized(&HiddenRecurrentConfig::new(stack, vocab).init::<B>(device));
        let tokens = ids::<B>(&random_ids(&mut numbers, batch, time, vocab), device);
        let targets = ids::<B>(&random_ids(&mut numbers, batch, time, vocab), device);
        let input = || SequenceInput::Tokens(tokens.clone());
        let step = StepInput::Tokens(tokens.clone().narrow(1, 0, 1).reshape([batch]));
        let error = model.step(step, None).unwrap_err();
        assert!(error.to_string().contains("direction"), "{cell:?}: {error}");
        let logits = model.forward(input(), None).unwrap().logits;
        let (losses, _) = model.forward_loss(input(), None, targets.clone()).unwrap();
        let expected = step_cross_entropy(logits, targets).unwrap();
        assert_close(
            &format!("{cell:?} backward loss"),
            &values(losses),
            &values(expected),
            EXACT,
        );
    }
}
