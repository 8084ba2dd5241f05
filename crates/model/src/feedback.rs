//! What a model is fed back when it is fed its own output: the choice of value, and sampling a
//! class from `softmax(o)` with the backend's draws or given ones (the fused rollout passes its
//! own, drawn per row, so that every path feeds the same symbols).

use burn::tensor::activation::softmax;
use burn::tensor::{Distribution, Int, Tensor, backend::Backend};

/// How the model's own output `o(t-1)` becomes the next fed-back value when it is not the truth
/// (spelled `probabilities`, `sample`, `argmax` in settings files).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "clap", derive(clap::ValueEnum))]
pub enum FeedbackChoice {
    /// The probability vector `softmax(o(t-1))`; gradients flow through it.
    // No flag offers it: the symbol strategies feed a symbol, as generation does.
    #[cfg_attr(feature = "clap", value(skip))]
    Probabilities,
    /// A class sampled from `softmax(o(t-1))`; no gradient flows through the sample.
    Sample,
    /// The most probable class; no gradient flows through the choice.
    Argmax,
}

/// Draws one class per row from `softmax(logits)`, `[batch, classes]` → `[batch]`.
pub fn sample_classes<B: Backend>(logits: Tensor<B, 2>) -> Tensor<B, 1, Int> {
    let [batch, _] = logits.dims();
    let draws = Tensor::<B, 2>::random([batch, 1], Distribution::Default, &logits.device());
    sample_classes_with(logits, draws)
}

/// Draws one class per row from `softmax(logits)` (`[batch, classes]`) with the given uniform
/// draws (`[batch, 1]`, in `[0, 1)`): the class is the number of cumulative probabilities below
/// the draw. Returns `[batch]`.
pub fn sample_classes_with<B: Backend>(
    logits: Tensor<B, 2>,
    draws: Tensor<B, 2>,
) -> Tensor<B, 1, Int> {
    let [batch, classes] = logits.dims();
    let cumulative = softmax(logits, 1).cumsum(1);
    cumulative
        .lower(draws)
        .int()
        .sum_dim(1)
        .clamp_max(classes as i64 - 1)
        .reshape([batch])
}
