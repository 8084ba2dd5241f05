//! The sequence loss: negative log-likelihood of the targets under `softmax(o(t))`.

use burn::nn::Linear;
use burn::tensor::backend::Backend;
use burn::tensor::{Int, Tensor};

use crate::error::{Result, shape_error};
use crate::fused::{RecurrenceBackend, row_cross_entropy};
use crate::ids::{IdCheck, require_ids_below};

/// Cross-entropy of every step, `-log softmax(o(t))[y(t)]`.
///
/// - `logits`: `[batch, time, classes]`.
/// - `targets`: `[batch, time]` class ids.
///
/// Returns `[batch, time]`; `.sum()` is the textbook's loss summed over steps, `.mean()` the
/// per-symbol loss in nats that language models report.
pub fn step_cross_entropy<B: RecurrenceBackend>(
    logits: Tensor<B, 3>,
    targets: Tensor<B, 2, Int>,
) -> Result<Tensor<B, 2>> {
    let [batch, time, classes] = logits.dims();
    check_targets(&targets, [batch, time], classes, IdCheck::EveryCall)?;
    let rows = batch * time;
    let losses = row_cross_entropy(logits.reshape([rows, classes]), targets.reshape([rows]));
    Ok(losses.reshape([batch, time]))
}

/// Checks targets: shape `[batch, time]`, every id below `classes` (by `id_check`).
pub(crate) fn check_targets<B: Backend>(
    targets: &Tensor<B, 2, Int>,
    [batch, time]: [usize; 2],
    classes: usize,
    id_check: IdCheck,
) -> Result<()> {
    if targets.dims() != [batch, time] {
        return Err(shape_error(
            "targets",
            format!("[batch, time] = [{batch}, {time}]"),
            &targets.dims(),
        ));
    }
    require_ids_below("targets", targets, classes, id_check)
}

/// The output layer's `c`, zeros for a layer built without a bias.
pub(crate) fn output_bias<B: Backend>(output: &Linear<B>) -> Tensor<B, 1> {
    match &output.bias {
        Some(bias) => bias.val(),
        None => Tensor::zeros([output.weight.dims()[1]], &output.weight.device()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::backend::Flex;

    #[test]
    fn targets_of_another_shape_are_rejected() {
        let device = Default::default();
        let logits = Tensor::<Flex, 3>::zeros([2, 3, 4], &device);
        let targets = Tensor::<Flex, 2, Int>::zeros([2, 2], &device);
        assert!(step_cross_entropy(logits, targets).is_err());
    }

    #[test]
    fn targets_outside_the_classes_are_rejected() {
        let device = Default::default();
        let logits = Tensor::<Flex, 3>::zeros([1, 2, 4], &device);
        for bad in [4i64, -1] {
            let targets = Tensor::<Flex, 2, Int>::from_data([[0i64, bad]], &device);
            let error = step_cross_entropy(logits.clone(), targets).unwrap_err();
            assert!(
                error
                    .to_string()
                    .contains(&format!("id {bad}, outside 0..4")),
                "{error}"
            );
        }
    }

    #[test]
    fn uniform_logits_cost_log_classes() {
        let device = Default::default();
        let logits = Tensor::<Flex, 3>::zeros([2, 3, 4], &device);
        let targets = Tensor::<Flex, 2, Int>::zeros([2, 3], &device);
        let mean = step_cross_entropy(logits, targets)
            .unwrap()
            .mean()
            .into_scalar();
        assert!((mean - 4f32.ln()).abs() < 1e-6);
    }
}
