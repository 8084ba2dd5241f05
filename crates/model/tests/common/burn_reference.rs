//! Pattern 2 unrolled over time from Burn's own tensor operations (its `tanh`, `select`, `matmul`
//! and autodiff), sharing no kernel with the model's fused tanh, row lookup or cross-entropy, so
//! that a bug in those shows as a difference.

use burn::tensor::activation::{log_softmax, tanh};
use burn::tensor::backend::Backend;
use burn::tensor::{Int, Tensor};
use unroll_model::{FeedbackSequence, OutputRecurrent, SequenceInput};

/// `o(t) = c + V tanh(b + W y(t-1) + U x(t))` one step at a time, `[batch, time, d_output]`.
pub fn output_recurrent_logits<B: Backend>(
    model: &OutputRecurrent<B>,
    input: Option<&SequenceInput<B>>,
    previous: &FeedbackSequence<B>,
) -> Tensor<B, 3> {
    let (batch, time) = match previous {
        FeedbackSequence::Tokens(ids) => (ids.dims()[0], ids.dims()[1]),
        FeedbackSequence::Dense(y) => (y.dims()[0], y.dims()[1]),
    };
    let weight = model.feedback_weight.val();
    let bias = model.bias.val().unsqueeze::<2>();
    let output_weight = model.output.weight.val();
    let output_bias = model
        .output
        .bias
        .as_ref()
        .expect("the output layer has a bias")
        .val()
        .unsqueeze::<2>();
    let steps = (0..time)
        .map(|t| {
            let fed = match previous {
                FeedbackSequence::Tokens(ids) => {
                    weight.clone().select(0, column(ids, t).reshape([batch]))
                }
                FeedbackSequence::Dense(y) => {
                    let d = y.dims()[2];
                    let y_t = y.clone().slice([0..batch, t..t + 1, 0..d]);
                    y_t.reshape([batch, d]).matmul(weight.clone())
                }
            };
            let projected = match (input, &model.input_weight) {
                (None, _) => None,
                (Some(SequenceInput::Tokens(ids)), Some(u)) => {
                    Some(u.val().select(0, column(ids, t).reshape([batch])))
                }
                (Some(SequenceInput::Dense(x)), Some(u)) => {
                    let d = x.dims()[2];
                    let x_t = x.clone().slice([0..batch, t..t + 1, 0..d]);
                    Some(x_t.reshape([batch, d]).matmul(u.val()))
                }
                (Some(_), None) => panic!("an input needs an input weight"),
            };
            let pre_activation = match projected {
                Some(projected) => fed + projected + bias.clone(),
                None => fed + bias.clone(),
            };
            tanh(pre_activation).matmul(output_weight.clone()) + output_bias.clone()
        })
        .collect();
    Tensor::stack(steps, 1)
}

/// `−log softmax(o(t))[y(t)]` of every step from Burn's log-softmax, `[batch, time]`.
pub fn step_losses<B: Backend>(logits: Tensor<B, 3>, targets: Tensor<B, 2, Int>) -> Tensor<B, 2> {
    let [batch, time, _] = logits.dims();
    log_softmax(logits, 2)
        .gather(2, targets.unsqueeze_dim::<3>(2))
        .reshape([batch, time])
        .neg()
}

fn column<B: Backend>(ids: &Tensor<B, 2, Int>, t: usize) -> Tensor<B, 2, Int> {
    let batch = ids.dims()[0];
    ids.clone().slice([0..batch, t..t + 1])
}
