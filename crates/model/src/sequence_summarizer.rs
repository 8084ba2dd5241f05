//! Pattern 3: hidden recurrence that reads a whole sequence and emits one output at the end.
//!
//! `h(t) = tanh(b + W h(t-1) + U x(t))` for `t = 1 … τ`, then `o = c + V h(τ)`: a fixed-size
//! summary of a sequence of any length, for classification or regression.

use burn::config::Config;
use burn::module::Module;
use burn::nn::Linear;
use burn::tensor::{Tensor, backend::Backend};

use crate::fused::RecurrenceBackend;
use crate::hidden_recurrent::{HiddenRecurrent, HiddenRecurrentConfig};
use crate::input::SequenceInput;
use crate::recurrence::{HiddenStack, HiddenStackConfig};

/// Configuration of a [`SequenceSummarizer`]: a [`HiddenStackConfig`] and the size of the one
/// output.
#[derive(Config, Debug)]
pub struct SequenceSummarizerConfig {
    /// The recurrent layers: input encoding, hidden size, layers, dropout, path.
    pub hidden: HiddenStackConfig,
    /// Size of the single output `o`.
    pub d_output: usize,
}

impl SequenceSummarizerConfig {
    /// The same layers read at every step: pattern 1's network, whose parameters pattern 3 has.
    fn every_step(&self) -> HiddenRecurrentConfig {
        HiddenRecurrentConfig::new(self.hidden.clone(), self.d_output)
    }

    /// Checks every setting, naming the first one that is invalid.
    pub fn validate(&self) -> crate::Result<()> {
        self.every_step().validate()
    }

    /// Builds the network, or says which setting is invalid.
    pub fn try_init<B: Backend>(&self, device: &B::Device) -> crate::Result<SequenceSummarizer<B>> {
        let network = self.every_step().try_init(device);
        network.map(|HiddenRecurrent { hidden, output }| SequenceSummarizer { hidden, output })
    }
}

crate::setting::init_or_panic!(SequenceSummarizerConfig => SequenceSummarizer);

/// Pattern 3: reads a sequence with a hidden recurrence and maps `h(τ)` to one output.
///
/// Sequences of different lengths, padded into one batch, each summarised at its own end (on the
/// fused path, a row stops at its own length):
///
/// ```
/// use burn::backend::{Autodiff, Flex};
/// use burn::tensor::Tensor;
/// use unroll_model::{HiddenStackConfig, InputEncoding, SequenceInput, SequenceSummarizerConfig};
///
/// type B = Autodiff<Flex>;
/// let device = Default::default();
/// let features = InputEncoding::Dense { d_input: 2 };
/// let model = SequenceSummarizerConfig::new(HiddenStackConfig::new(features, 8), 3)
///     .init::<B>(&device);
/// let x = Tensor::<B, 3>::ones([2, 6, 2], &device); // [batch, time, d_input], padded
/// let o = model.forward(SequenceInput::Dense(x.clone()), Some(&[6, 4]))?;
/// assert_eq!(o.dims(), [2, 3]); // one output per sequence
/// o.sum().backward();
/// // The summary h(τ) itself, for a module of your own downstream:
/// let summary = model.summarize(SequenceInput::Dense(x), Some(&[6, 4]))?;
/// assert_eq!(summary.dims(), [2, 8]); // [batch, d_hidden]
/// # Ok::<(), unroll_model::ModelError>(())
/// ```
#[derive(Module, Debug)]
pub struct SequenceSummarizer<B: Backend> {
    /// The recurrent layers.
    pub hidden: HiddenStack<B>,
    /// `o = c + V h(τ)`, applied to the top layer's last real state.
    pub output: Linear<B>,
}

impl<B: RecurrenceBackend> SequenceSummarizer<B> {
    /// Reads each sequence and returns its output `o = c + V h(τ)`, `[batch, d_output]`.
    ///
    /// - `input`: `[batch, time]` ids or `[batch, time, d_input]` features, padded to `time`.
    /// - `lengths`: `[batch]`, the real length of each sequence (1 ≤ length ≤ time); `None` when
    ///   every sequence fills the whole `time`. A padded sequence gives exactly the output it
    ///   gives alone, whatever the padding holds.
    pub fn forward(
        &self,
        input: SequenceInput<B>,
        lengths: Option<&[usize]>,
    ) -> crate::Result<Tensor<B, 2>> {
        Ok(self.output.forward(self.summarize(input, lengths)?))
    }

    /// Reads each sequence and returns its summary: the top layer's state at the sequence's own
    /// length, `h(τ)`, `[batch, d_hidden]`: a fixed-size representation for a module downstream,
    /// whose loss alone may then train the recurrence.
    ///
    /// - `input`, `lengths`: as for [`SequenceSummarizer::forward`].
    pub fn summarize(
        &self,
        input: SequenceInput<B>,
        lengths: Option<&[usize]>,
    ) -> crate::Result<Tensor<B, 2>> {
        let device = self.output.weight.device();
        let state = self.hidden.read(input, lengths, &device)?;
        Ok(state.top_hidden())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::input::InputEncoding;
    use burn::backend::Flex;

    #[test]
    fn lengths_out_of_range_are_rejected() {
        let stack = HiddenStackConfig::new(InputEncoding::Tokens { vocab_size: 3 }, 2);
        let model = SequenceSummarizerConfig::new(stack, 1).init::<Flex>(&Default::default());
        let input = || SequenceInput::Tokens(Tensor::zeros([2, 4], &Default::default()));
        for lengths in [[0, 2], [5, 2]] {
            let error = model.forward(input(), Some(&lengths)).unwrap_err();
            assert!(error.to_string().contains("1..=4"), "{error}");
        }
        assert!(model.forward(input(), Some(&[1, 2, 3])).is_err());
        assert_eq!(model.forward(input(), None).unwrap().dims(), [2, 1]);
        assert_eq!(
            model.forward(input(), Some(&[4, 1])).unwrap().dims(),
            [2, 1]
        );
    }
}
