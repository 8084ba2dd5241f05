//! Pattern 2 (output recurrence only): by hand, parallel over time against step-wise, fed tokens,
//! vectors or probabilities, and its training paths against finite differences.

use super::*;

/// Pattern 2 with explicit weights.
fn output_recurrent_with<B: TestBackend>(
    input: Option<(InputEncoding, Vec<Vec<f64>>)>,
    w: &[Vec<f64>],
    b: &[f64],
    v: &[Vec<f64>],
    c: &[f64],
    device: &B::Device,
) -> OutputRecurrent<B> {
    let mut model = OutputRecurrentConfig::new(b.len(), c.len())
        .with_input(input.as_ref().map(|(e, _)| *e))
        .init::<B>(device);
    if let Some((_, u)) = input {
        model.input_weight = Some(matrix_param(&u, device));
    }
    model.feedback_weight = matrix_param(w, device);
    model.bias = vector_param(b, device);
    model.output.weight = matrix_param(v, device);
    model.output.bias = Some(vector_param(c, device));
    model
}

pub fn output_recurrent_forward_by_hand<B: TestBackend>(device: &B::Device) {
    let model = output_recurrent_with::<B>(
        None,
        &[vec![0.3, -0.2], vec![0.1, 0.4]],
        &[0.05, -0.05],
        &[vec![1.0, 2.0], vec![-1.0, 0.5]],
        &[0.0, 0.1],
        device,
    );
    let logits = model
        .forward_teacher_forced(
            None,
            FeedbackSequence::Tokens(ids::<B>(&[vec![0, 1]], device)),
        )
        .unwrap();
    // y(0) = class 0 selects row 0 of W; y(1) = class 1 selects row 1. No h(t-1) anywhere.
    let h1 = [(0.05f64 + 0.3).tanh(), (-0.05f64 - 0.2).tanh()];
    let h2 = [(0.05f64 + 0.1).tanh(), (-0.05f64 + 0.4).tanh()];
    let o = |h: [f64; 2]| [h[0] * 1.0 + h[1] * -1.0, 0.1 + h[0] * 2.0 + h[1] * 0.5];
    let expected: Vec<f64> = o(h1).into_iter().chain(o(h2)).collect();
    assert_close("logits", &values(logits), &expected, EXACT);
}

fn assert_same_output_recurrent_gradients<B: TestBackend>(
    model: &OutputRecurrent<B>,
    a: &B::Gradients,
    b: &B::Gradients,
) {
    if let Some(u) = &model.input_weight {
        assert_close("∂L/∂U", &gradient(u, a), &gradient(u, b), EXACT);
    }
    assert_close(
        "∂L/∂W",
        &gradient(&model.feedback_weight, a),
        &gradient(&model.feedback_weight, b),
        EXACT,
    );
    assert_close(
        "∂L/∂b",
        &gradient(&model.bias, a),
        &gradient(&model.bias, b),
        EXACT,
    );
    assert_close(
        "∂L/∂V",
        &gradient(&model.output.weight, a),
        &gradient(&model.output.weight, b),
        EXACT,
    );
    let c = model.output.bias.as_ref().unwrap();
    assert_close("∂L/∂c", &gradient(c, a), &gradient(c, b), EXACT);
}

pub fn output_recurrent_parallel_equals_stepwise<B: TestBackend>(device: &B::Device) {
    B::seed(device, 21);
    let mut numbers = Numbers::new(4);
    let (d_input, batch, time, classes) = (3, 2, 5, 5);
    let model = OutputRecurrentConfig::new(4, classes)
        .with_input(Some(InputEncoding::Dense { d_input }))
        .init::<B>(device);
    let (x, _) = dense::<B>(&mut numbers, batch, time, d_input, device);
    let truth = random_ids(&mut numbers, batch, time + 1, classes);
    let previous: Vec<Vec<i64>> = truth.iter().map(|s| s[..time].to_vec()).collect();
    let targets = ids::<B>(
        &truth.iter().map(|s| s[1..].to_vec()).collect::<Vec<_>>(),
        device,
    );
    let previous = ids::<B>(&previous, device);

    let sequence = FeedbackSequence::Tokens(previous);
    assert_pattern_2_paths_match_reference(
        &model,
        (SequenceInput::Dense(x), sequence),
        |logits, reference| {
            let loss = if reference {
                burns_cross_entropy(logits, targets.clone())
            } else {
                summed_cross_entropy(logits, targets.clone())
            };
            loss.backward()
        },
    );
}

/// Pattern 2's parallel and step-wise logits on `input` fed `sequence`, and their gradients
/// under `loss` (told whether it scores the reference), against the unrolled reference on Burn's
/// own operations.
fn assert_pattern_2_paths_match_reference<B: TestBackend>(
    model: &OutputRecurrent<B>,
    (input, sequence): (SequenceInput<B>, FeedbackSequence<B>),
    loss: impl Fn(Tensor<B, 3>, bool) -> B::Gradients,
) {
    let parallel = model
        .forward_teacher_forced(Some(input.clone()), sequence.clone())
        .unwrap();
    let time = parallel.dims()[1];
    let stepwise = model
        .forward_stepwise(Some(input.clone()), sequence.step(0), time, |t, _| {
            sequence.step(t)
        })
        .unwrap();
    let reference = output_recurrent_logits(model, Some(&input), &sequence);
    let expected = values(reference.clone());
    assert_close(
        "parallel logits",
        &values(parallel.clone()),
        &expected,
        EXACT,
    );
    assert_close(
        "step-wise logits",
        &values(stepwise.clone()),
        &expected,
        EXACT,
    );
    let reference = loss(reference, true);
    assert_same_output_recurrent_gradients(model, &loss(parallel, false), &reference);
    assert_same_output_recurrent_gradients(model, &loss(stepwise, false), &reference);
}

pub fn output_recurrent_vector_feedback_parallel_equals_stepwise<B: TestBackend>(
    device: &B::Device,
) {
    B::seed(device, 22);
    let mut numbers = Numbers::new(5);
    let (vocab, batch, time, d_output) = (4, 3, 4, 3);
    let model = OutputRecurrentConfig::new(5, d_output)
        .with_input(Some(InputEncoding::Tokens { vocab_size: vocab }))
        .init::<B>(device);
    let inputs = ids::<B>(&random_ids(&mut numbers, batch, time, vocab), device);
    let (previous, _) = dense::<B>(&mut numbers, batch, time, d_output, device);
    let sequence = (
        SequenceInput::Tokens(inputs),
        FeedbackSequence::Dense(previous),
    );
    // A regression loss, as when the fed-back values are real-valued targets.
    assert_pattern_2_paths_match_reference(&model, sequence, |o, _| {
        o.powf_scalar(2.0).sum().backward()
    });
}

pub fn output_recurrent_gradients_match_finite_differences<B: TestBackend>(device: &B::Device) {
    B::seed(device, 23);
    let mut numbers = Numbers::new(6);
    let (vocab, batch, time) = (4, 2, 5);
    let model = OutputRecurrentConfig::new(3, vocab)
        .with_input(Some(InputEncoding::Tokens { vocab_size: vocab }))
        .init::<B>(device);
    let inputs = ids::<B>(&random_ids(&mut numbers, batch, time, vocab), device);
    let previous = ids::<B>(&random_ids(&mut numbers, batch, time, vocab), device);
    let targets = ids::<B>(&random_ids(&mut numbers, batch, time, vocab), device);
    let checked = check_against_finite_differences(
        &model,
        |m: &OutputRecurrent<B>| {
            let logits = m
                .forward_teacher_forced(
                    Some(SequenceInput::Tokens(inputs.clone())),
                    FeedbackSequence::Tokens(previous.clone()),
                )
                .unwrap();
            summed_cross_entropy(logits, targets.clone())
        },
        FINITE_DIFFERENCES,
    );
    assert_eq!(checked, 5, "U, W, b, V and c");
}

pub fn output_recurrent_stepwise_probability_feedback_gradients<B: TestBackend>(
    device: &B::Device,
) {
    // Fed its own softmax output, the model is a true recurrence through o(t-1), and the gradient
    // flows through every fed-back probability vector.
    B::seed(device, 24);
    let mut numbers = Numbers::new(7);
    let (classes, batch, time) = (3, 2, 4);
    let model = OutputRecurrentConfig::new(3, classes).init::<B>(device);
    let first = ids::<B>(&[vec![0, 2]], device).reshape([batch]);
    let targets = ids::<B>(&random_ids(&mut numbers, batch, time, classes), device);
    check_against_finite_differences(
        &model,
        |m: &OutputRecurrent<B>| {
            let logits = m
                .forward_stepwise(None, Feedback::Tokens(first.clone()), time, |_, o| {
                    Feedback::from_logits(o, FeedbackChoice::Probabilities)
                })
                .unwrap();
            summed_cross_entropy(logits, targets.clone())
        },
        FINITE_DIFFERENCES,
    );
}

/// The paths pattern 2 trains with: the per-symbol logits table (token feedback, no input) and
/// the fused output layer and loss (with an input), through `teacher_forced_loss` and
/// `forward_teacher_forced`.
pub fn output_recurrent_training_paths_match_finite_differences<B: TestBackend>(
    device: &B::Device,
) {
    B::seed(device, 25);
    let mut numbers = Numbers::new(15);
    let (batch, time, classes, d_input) = (2, 4, 4, 3);
    for with_input in [false, true] {
        let model = pattern_2::<B>(3, classes, with_input.then_some(d_input), device);
        let input = with_input.then(|| {
            SequenceInput::Dense(dense::<B>(&mut numbers, batch, time, d_input, device).0)
        });
        let previous = FeedbackSequence::Tokens(ids::<B>(
            &random_ids(&mut numbers, batch, time, classes),
            device,
        ));
        let targets = ids::<B>(&random_ids(&mut numbers, batch, time, classes), device);
        let weights = step_weights::<B>(&mut numbers, batch, time, device);
        let parameters = if with_input { 5 } else { 4 };
        let checked = check_against_finite_differences(
            &model,
            |m: &OutputRecurrent<B>| {
                let losses = m
                    .teacher_forced_loss(input.clone(), previous.clone(), targets.clone())
                    .unwrap();
                (losses * weights.clone()).sum()
            },
            FINITE_DIFFERENCES,
        );
        assert_eq!(
            checked, parameters,
            "teacher_forced_loss, input: {with_input}"
        );
        let checked = check_against_finite_differences(
            &model,
            |m: &OutputRecurrent<B>| {
                let logits = m
                    .forward_teacher_forced(input.clone(), previous.clone())
                    .unwrap();
                (logits.clone() * logits).sum()
            },
            FINITE_DIFFERENCES,
        );
        assert_eq!(
            checked, parameters,
            "forward_teacher_forced, input: {with_input}"
        );
    }
}

pub fn output_recurrent_teacher_forced_loss_equals_stepwise<B: TestBackend>(device: &B::Device) {
    B::seed(device, 44);
    let mut numbers = Numbers::new(14);
    let (batch, time, classes, d_input) = (5, 6, 7, 3);
    for with_input in [false, true] {
        let model = pattern_2::<B>(4, classes, with_input.then_some(d_input), device);
        let x = with_input.then(|| dense::<B>(&mut numbers, batch, time, d_input, device).0);
        let truth = random_ids(&mut numbers, batch, time + 1, classes);
        let previous: Vec<Vec<i64>> = truth.iter().map(|s| s[..time].to_vec()).collect();
        let targets = ids::<B>(
            &truth.iter().map(|s| s[1..].to_vec()).collect::<Vec<_>>(),
            device,
        );
        let previous = FeedbackSequence::Tokens(ids::<B>(&previous, device));
        let weights = step_weights::<B>(&mut numbers, batch, time, device);
        let input = x.map(SequenceInput::Dense);
        let fused = model
            .teacher_forced_loss(input.clone(), previous.clone(), targets.clone())
            .unwrap();
        let logits = model
            .forward_teacher_forced(input.clone(), previous.clone())
            .unwrap();
        let stepwise = model
            .forward_stepwise(input.clone(), previous.step(0), time, |t, _| {
                previous.step(t)
            })
            .unwrap();
        // The reference: pattern 2 unrolled on Burn's own tanh, scored by Burn's log-softmax.
        let reference_logits = output_recurrent_logits(&model, input.as_ref(), &previous);
        let expected = values(reference_logits.clone());
        assert_close("logits", &values(logits), &expected, EXACT);
        assert_close("step-wise logits", &values(stepwise), &expected, EXACT);
        let reference = step_losses(reference_logits, targets);
        let what = if with_input {
            "with input"
        } else {
            "tokens only"
        };
        assert_close(
            what,
            &values(fused.clone()),
            &values(reference.clone()),
            EXACT,
        );
        let a = (fused * weights.clone()).sum().backward();
        let b = (reference * weights).sum().backward();
        assert_same_output_recurrent_gradients(&model, &a, &b);
    }
}
