//! Patterns 1 and 3 over a [`BidirectionalStack`], for tasks where the whole input is given
//! before any output is needed (Deep Learning §10.3): an output at every step that reads the
//! past and the future, `o(t) = c + V [h(t); g(t)]`, or one output from both directions'
//! summaries, `o = c + V [h(τ); g(1)]`. Neither generates: a backward direction needs the whole
//! sequence before its first step.

use burn::config::Config;
use burn::module::Module;
use burn::nn::{Linear, LinearConfig};
use burn::tensor::Tensor;
use burn::tensor::backend::Backend;

use crate::fused::{RecurrenceBackend, project_rows};
use crate::input::SequenceInput;
use crate::recurrence::{BidirectionalStack, BidirectionalStackConfig, HiddenStackConfig};
use crate::setting::at_least_one;

/// Configuration of a [`BidirectionalSummarizer`] or a [`BidirectionalRecurrent`]: each
/// direction's stack and the size of the output.
#[derive(Config, Debug)]
pub struct BidirectionalConfig {
    /// Each direction's layers: input encoding, hidden size per direction, cell, depth,
    /// dropout, path.
    pub hidden: HiddenStackConfig,
    /// Size of the output `o`.
    pub d_output: usize,
}

impl BidirectionalConfig {
    /// Checks every setting, naming the first one that is invalid.
    pub fn validate(&self) -> crate::Result<()> {
        BidirectionalStackConfig::new(self.hidden.clone()).validate()?;
        at_least_one("d_output", self.d_output as u64)
    }

    /// The stack and the output layer on both directions' `2 · d_hidden` units.
    fn parts<B: Backend>(
        &self,
        device: &B::Device,
    ) -> crate::Result<(BidirectionalStack<B>, Linear<B>)> {
        self.validate()?;
        Ok((
            BidirectionalStackConfig::new(self.hidden.clone()).try_init(device)?,
            LinearConfig::new(2 * self.hidden.d_hidden, self.d_output).init(device),
        ))
    }

    /// Pattern 3 both ways, or says which setting is invalid.
    pub fn try_init_summarizer<B: Backend>(
        &self,
        device: &B::Device,
    ) -> crate::Result<BidirectionalSummarizer<B>> {
        let (hidden, output) = self.parts(device)?;
        Ok(BidirectionalSummarizer { hidden, output })
    }

    /// Pattern 1 both ways (an output at every step), or says which setting is invalid.
    pub fn try_init_recurrent<B: Backend>(
        &self,
        device: &B::Device,
    ) -> crate::Result<BidirectionalRecurrent<B>> {
        let (hidden, output) = self.parts(device)?;
        Ok(BidirectionalRecurrent { hidden, output })
    }
}

/// Pattern 3 both ways: reads a whole sequence forward and backward and maps both summaries,
/// `[h(τ); g(1)]`, to one output.
///
/// ```
/// use burn::backend::{Autodiff, Flex};
/// use burn::tensor::{Int, Tensor};
/// use unroll_model::{BidirectionalConfig, HiddenStackConfig, InputEncoding, SequenceInput};
///
/// type B = Autodiff<Flex>;
/// let device = Default::default();
/// let tokens = InputEncoding::Tokens { vocab_size: 10 };
/// let model = BidirectionalConfig::new(HiddenStackConfig::new(tokens, 8), 3)
///     .try_init_summarizer::<B>(&device)?;
/// let ids = Tensor::<B, 2, Int>::zeros([2, 6], &device); // [batch, time], padded
/// let o = model.forward(SequenceInput::Tokens(ids), Some(&[6, 3]))?;
/// assert_eq!(o.dims(), [2, 3]); // [batch, d_output]
/// # Ok::<(), unroll_model::ModelError>(())
/// ```
#[derive(Module, Debug)]
pub struct BidirectionalSummarizer<B: Backend> {
    /// Both directions' layers.
    pub hidden: BidirectionalStack<B>,
    /// `o = c + V [h(τ); g(1)]`.
    pub output: Linear<B>,
}

impl<B: RecurrenceBackend> BidirectionalSummarizer<B> {
    /// Reads each sequence both ways and returns `o`, `[batch, d_output]`.
    ///
    /// - `input`: `[batch, time]` ids or `[batch, time, d_input]` features, padded.
    /// - `lengths`: `[batch]`, each row's real length; `None` when every row fills `time`.
    pub fn forward(
        &self,
        input: SequenceInput<B>,
        lengths: Option<&[usize]>,
    ) -> crate::Result<Tensor<B, 2>> {
        Ok(self.output.forward(self.hidden.summarize(input, lengths)?))
    }

    /// Both summaries, `[h(τ); g(1)]`, `[batch, 2 · d_hidden]`, for a module of your own.
    pub fn summarize(
        &self,
        input: SequenceInput<B>,
        lengths: Option<&[usize]>,
    ) -> crate::Result<Tensor<B, 2>> {
        self.hidden.summarize(input, lengths)
    }
}

/// Pattern 1 both ways: an output at every step from the past and the future,
/// `o(t) = c + V [h(t); g(t)]` (a labeller of positions, not a generator).
#[derive(Module, Debug)]
pub struct BidirectionalRecurrent<B: Backend> {
    /// Both directions' layers.
    pub hidden: BidirectionalStack<B>,
    /// `o(t) = c + V [h(t); g(t)]`.
    pub output: Linear<B>,
}

impl<B: RecurrenceBackend> BidirectionalRecurrent<B> {
    /// Reads each sequence both ways and returns `o(t)` at every step,
    /// `[batch, time, d_output]` (past a row's length: padding).
    ///
    /// - `input`: `[batch, time]` ids or `[batch, time, d_input]` features, padded.
    /// - `lengths`: `[batch]`, each row's real length; `None` when every row fills `time`.
    pub fn forward(
        &self,
        input: SequenceInput<B>,
        lengths: Option<&[usize]>,
    ) -> crate::Result<Tensor<B, 3>> {
        // Projected as time-major rows (one product over every step), and the narrower
        // result turned batch-major.
        let (both, _) = self.hidden.forward_time_major(input, lengths)?;
        let [time, batch, width] = both.dims();
        let bias = crate::loss::output_bias(&self.output);
        let d_output = bias.dims()[0];
        let outputs = project_rows(
            both.reshape([time * batch, width]),
            self.output.weight.val(),
            bias,
        );
        Ok(outputs.reshape([time, batch, d_output]).swap_dims(0, 1))
    }
}
