//! Pattern 3: hidden recurrence that reads a whole sequence and emits one output at the end.
//!
//! `h(t) = tanh(b + W h(t-1) + U x(t))` for `t = 1 … τ`, then `o = c + V h(τ)`: a fixed-size
//! summary of a sequence of any length, for classification or regression.

use burn::config::Config;
use burn::module::Module;
use burn::nn::Linear;
use burn::tensor::{Int, Tensor, backend::Backend};

use crate::error::shape_error;
use crate::fused::RecurrenceBackend;
use crate::input::SequenceInput;
use crate::recurrence::{HiddenStack, HiddenStackConfig};
use crate::setting::at_least_one;

/// Configuration of a [`SequenceSummarizer`]: a [`HiddenStackConfig`] and the size of the one
/// output. Padded batches always run unrolled.
#[derive(Config, Debug)]
pub struct SequenceSummarizerConfig {
    /// The recurrent layers: input encoding, hidden size, layers, dropout, path.
    pub hidden: HiddenStackConfig,
    /// Size of the single output `o`.
    pub d_output: usize,
}

impl SequenceSummarizerConfig {
    /// Checks every setting, naming the first one that is invalid.
    pub fn validate(&self) -> crate::Result<()> {
        self.hidden.validate()?;
        at_least_one("d_output", self.d_output as u64)
    }

    /// Builds the network.
    ///
    /// # Panics
    /// If a setting is invalid; use [`SequenceSummarizerConfig::try_init`] to get an error instead.
    pub fn init<B: Backend>(&self, device: &B::Device) -> SequenceSummarizer<B> {
        self.try_init(device)
            .unwrap_or_else(|error| panic!("{error}"))
    }

    /// Builds the network, or says which setting is invalid.
    pub fn try_init<B: Backend>(&self, device: &B::Device) -> crate::Result<SequenceSummarizer<B>> {
        let (hidden, output) = self.hidden.try_init_with_output(self.d_output, device)?;
        Ok(SequenceSummarizer { hidden, output })
    }
}

/// Pattern 3: reads a sequence with a hidden recurrence and maps `h(τ)` to one output.
///
/// Sequences of different lengths, padded into one batch, each summarised at its own end:
///
/// ```
/// use burn::backend::{Autodiff, Flex};
/// use burn::tensor::{Int, Tensor, TensorData};
/// use unroll_model::{HiddenStackConfig, InputEncoding, SequenceInput, SequenceSummarizerConfig};
///
/// type B = Autodiff<Flex>;
/// let device = Default::default();
/// let features = InputEncoding::Dense { d_input: 2 };
/// let model = SequenceSummarizerConfig::new(HiddenStackConfig::new(features, 8), 3)
///     .init::<B>(&device);
/// let x = Tensor::<B, 3>::ones([2, 6, 2], &device); // [batch, time, d_input], padded
/// let lengths = Tensor::<B, 1, Int>::from_data(TensorData::new(vec![6i64, 4], [2]), &device);
/// let o = model.forward(SequenceInput::Dense(x), Some(lengths))?;
/// assert_eq!(o.dims(), [2, 3]); // one output per sequence
/// o.sum().backward();
/// # Ok::<(), unroll_model::ModelError>(())
/// ```
#[derive(Module, Debug)]
pub struct SequenceSummarizer<B: Backend> {
    /// The recurrent layers.
    pub hidden: HiddenStack<B>,
    /// `o = c + V h(τ)`, applied to the top layer's last real state.
    pub output: Linear<B>,
}

impl<B: Backend> SequenceSummarizer<B> {
    /// Reads each sequence and returns its output `[batch, d_output]`.
    ///
    /// - `input`: `[batch, time]` ids or `[batch, time, d_input]` features, padded to `time`.
    /// - `lengths`: `[batch]`, the real length of each sequence (1 ≤ length ≤ time); `None` when
    ///   every sequence fills the whole `time`. Padding steps leave the state unchanged, so a
    ///   padded sequence gives exactly the output it gives alone.
    pub fn forward(
        &self,
        input: SequenceInput<B>,
        lengths: Option<Tensor<B, 1, Int>>,
    ) -> crate::Result<Tensor<B, 2>>
    where
        B: RecurrenceBackend,
    {
        let [batch, time] = input.check(&self.hidden.input, self.hidden.id_check)?;
        let device = self.output.weight.device();
        let masks = match lengths {
            None => None,
            Some(lengths) => Some(step_masks(lengths, batch, time)?),
        };
        let state = self.hidden.zero_state(batch, &device);
        let (_, state) = self.hidden.forward(input, state, masks.as_deref());
        let layers = self.hidden.layers.len();
        let top = state
            .narrow(0, layers - 1, 1)
            .reshape([batch, self.hidden.d_hidden()]);
        Ok(self.output.forward(top))
    }
}

/// Per-step masks `[batch, 1]`, 1 while `t < length`, from lengths `[batch]`.
fn step_masks<B: Backend>(
    lengths: Tensor<B, 1, Int>,
    batch: usize,
    time: usize,
) -> crate::Result<Vec<Tensor<B, 2>>> {
    if lengths.dims() != [batch] {
        return Err(shape_error(
            "lengths",
            format!("[{batch}]"),
            &lengths.dims(),
        ));
    }
    // A host read of `batch` integers: cheap, and it turns an out-of-range length into an error.
    let values = lengths
        .to_data()
        .convert::<i64>()
        .to_vec::<i64>()
        .unwrap_or_default();
    if let Some(bad) = values.iter().find(|&&l| l < 1 || l as usize > time) {
        return Err(shape_error(
            "lengths",
            format!("every length in 1..={time}, got {bad}"),
            &lengths.dims(),
        ));
    }
    let device = lengths.device();
    let positions = Tensor::<B, 1, Int>::arange(0..time as i64, &device).reshape([1, time]);
    let mask = positions
        .lower(lengths.reshape([batch, 1]))
        .float()
        .reshape([batch, time]);
    Ok((0..time)
        .map(|t| mask.clone().slice([0..batch, t..t + 1]))
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::input::InputEncoding;
    use burn::backend::NdArray;
    use burn::tensor::TensorData;

    type B = NdArray;

    #[test]
    fn lengths_out_of_range_are_rejected() {
        let device = Default::default();
        let model = SequenceSummarizerConfig::new(
            HiddenStackConfig::new(InputEncoding::Tokens { vocab_size: 3 }, 2),
            1,
        )
        .init::<B>(&device);
        let input = || SequenceInput::Tokens(Tensor::<B, 2, Int>::zeros([2, 4], &device));
        for lengths in [vec![0i64, 2], vec![5, 2]] {
            let lengths = Tensor::<B, 1, Int>::from_data(TensorData::new(lengths, [2]), &device);
            let error = model.forward(input(), Some(lengths)).unwrap_err();
            assert!(error.to_string().contains("1..=4"), "{error}");
        }
        let three = Tensor::<B, 1, Int>::from_data(TensorData::new(vec![1i64, 2, 3], [3]), &device);
        assert!(model.forward(input(), Some(three)).is_err());
        assert_eq!(model.forward(input(), None).unwrap().dims(), [2, 1]);
    }
}
