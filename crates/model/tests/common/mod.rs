//! Helpers shared by the model's integration tests: parameter surgery, finite differences, an
//! independent plain-Rust reference of pattern 1 with hand-written BPTT, and the checks that run
//! on every CPU backend.
#![allow(dead_code)]

pub mod bidirectional_checks;
pub mod burn_reference;
pub mod checks;
pub mod gated_checks;
pub mod gradients;
pub mod reference;
pub mod rollout_checks;

use burn::module::Param;
use burn::tensor::{Int, Tensor, TensorData, backend::Backend};

pub use unroll_test_support::{assert_close, turn};

/// A float tensor from nested rows.
pub fn matrix<B: Backend>(rows: &[Vec<f64>], device: &B::Device) -> Tensor<B, 2> {
    let cols = rows[0].len();
    let flat: Vec<f64> = rows.iter().flatten().copied().collect();
    Tensor::from_data(TensorData::new(flat, [rows.len(), cols]), device)
}

/// A float parameter from nested rows.
pub fn matrix_param<B: Backend>(rows: &[Vec<f64>], device: &B::Device) -> Param<Tensor<B, 2>> {
    Param::from_tensor(matrix(rows, device))
}

/// A 1-d float parameter.
pub fn vector_param<B: Backend>(values: &[f64], device: &B::Device) -> Param<Tensor<B, 1>> {
    Param::from_tensor(Tensor::from_data(
        TensorData::new(values.to_vec(), [values.len()]),
        device,
    ))
}

/// Token ids `[batch, time]`.
pub fn ids<B: Backend>(rows: &[Vec<i64>], device: &B::Device) -> Tensor<B, 2, Int> {
    let cols = rows[0].len();
    let flat: Vec<i64> = rows.iter().flatten().copied().collect();
    Tensor::from_data(TensorData::new(flat, [rows.len(), cols]), device)
}

/// Values of any float tensor as f64, whatever the backend's element type.
pub fn values<B: Backend, const D: usize>(tensor: Tensor<B, D>) -> Vec<f64> {
    tensor.into_data().iter::<f64>().collect()
}

/// A deterministic stream of numbers in `[-scale, scale]` (a linear congruential generator), so
/// test weights do not depend on any backend's random generator.
pub struct Numbers(u64);

impl Numbers {
    pub fn new(seed: u64) -> Self {
        Numbers(
            seed.wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407),
        )
    }

    pub fn next(&mut self, scale: f64) -> f64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        let unit = (self.0 >> 11) as f64 / (1u64 << 53) as f64;
        (2.0 * unit - 1.0) * scale
    }

    pub fn matrix(&mut self, rows: usize, cols: usize, scale: f64) -> Vec<Vec<f64>> {
        (0..rows)
            .map(|_| (0..cols).map(|_| self.next(scale)).collect())
            .collect()
    }

    pub fn vector(&mut self, len: usize, scale: f64) -> Vec<f64> {
        (0..len).map(|_| self.next(scale)).collect()
    }
}

/// Generates one `#[test]` per check in [`checks`], for backend `$backend` on `$device`, each
/// taking its [`turn`].
#[macro_export]
macro_rules! backend_checks {
    ($backend:ty, $device:expr) => {
        $crate::backend_checks!(@tests $backend, $device;
            hidden_recurrent_forward_by_hand,
            hidden_recurrent_matches_reference_and_hand_written_bptt,
            hidden_recurrent_dense_matches_reference_with_initial_state,
            hidden_recurrent_gradients_match_finite_differences,
            hidden_recurrent_state_carries_across_windows,
            hidden_recurrent_step_matches_forward,
            output_recurrent_forward_by_hand,
            output_recurrent_parallel_equals_stepwise,
            output_recurrent_vector_feedback_parallel_equals_stepwise,
            output_recurrent_gradients_match_finite_differences,
            output_recurrent_stepwise_probability_feedback_gradients,
            output_recurrent_training_paths_match_finite_differences,
            sequence_summarizer_forward_by_hand,
            sequence_summarizer_padding_equals_alone,
            sequence_summarizer_gradients_match_finite_differences,
            sequence_summarizer_summary_trains_a_downstream_module,
            loss_matches_hand_computed_cross_entropy,
            fused_recurrence_equals_unrolled,
            fused_sequence_summarizer_equals_unrolled,
            fused_forward_loss_equals_unrolled,
            fused_cross_entropy_equals_burns_log_softmax,
            output_recurrent_teacher_forced_loss_equals_stepwise,
            fused_feeding_equals_stepwise_pattern_1,
            fused_feeding_equals_stepwise_pattern_2,
            lstm_matches_pytorch,
            gru_matches_pytorch,
            gated_cells_by_hand,
            gated_cells_match_finite_differences,
            gated_stacks_match_pytorch,
            backward_direction_is_forward_on_rows_reversed_by_hand,
            backward_direction_in_the_patterns,
            encoder_decoder_by_hand,
            encoder_decoder_padding_equals_alone_and_paths_agree,
            encoder_decoder_gradients_match_finite_differences,
            encoder_decoder_matches_pytorch,
            encoder_decoder_fed_symbols_follow_decoding,
            untied_summarizer_forward_by_hand,
            untied_summarizer_with_equal_weights_is_the_shared_summarizer,
            untied_summarizer_gradients_match_finite_differences,
            bidirectional_stacks_match_pytorch,
            bidirectional_patterns_match_finite_differences,
            bidirectional_encoder_starts_the_decoder,
        );
    };
    (@tests $backend:ty, $device:expr; $($name:ident),* $(,)?) => {
        $(
            #[test]
            fn $name() {
                let _turn = common::turn();
                common::checks::$name::<$backend>(&$device);
            }
        )*
    };
}
