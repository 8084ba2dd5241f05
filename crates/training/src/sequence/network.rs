//! The network classify trains: pattern 3 reading each sequence forward in time, or both ways.

use burn::module::Module;
use burn::nn::Linear;
use burn::tensor::Tensor;
use burn::tensor::backend::Backend;
use unroll_model::{
    BidirectionalStack, BidirectionalSummarizer, HiddenStack, RecurrenceBackend, RecurrentCell,
    SequenceInput, SequenceSummarizer,
};

use crate::error::Result;

/// Pattern 3 one way or both: `o = c + V s`, the summary `s` being `h(τ)` read forward, or
/// `[h(τ); g(1)]` read both ways (each row's backward pass starting at its own last step).
///
/// One of the two stacks is present. The one-way stack keeps the name `hidden`, so checkpoints
/// written before the network could read both ways load as they are.
#[derive(Module, Debug)]
pub struct SequenceNetwork<B: Backend> {
    hidden: Option<HiddenStack<B>>,
    bidirectional: Option<BidirectionalStack<B>>,
    output: Linear<B>,
}

/// The layers of a [`SequenceNetwork`], one way or both.
pub enum Reader<'a, B: Backend> {
    /// Forward in time only.
    OneDirection(&'a HiddenStack<B>),
    /// Forward and backward.
    BothDirections(&'a BidirectionalStack<B>),
}

impl<B: Backend> From<SequenceSummarizer<B>> for SequenceNetwork<B> {
    fn from(SequenceSummarizer { hidden, output }: SequenceSummarizer<B>) -> Self {
        SequenceNetwork {
            hidden: Some(hidden),
            bidirectional: None,
            output,
        }
    }
}

impl<B: Backend> From<BidirectionalSummarizer<B>> for SequenceNetwork<B> {
    fn from(BidirectionalSummarizer { hidden, output }: BidirectionalSummarizer<B>) -> Self {
        SequenceNetwork {
            hidden: None,
            bidirectional: Some(hidden),
            output,
        }
    }
}

impl<B: Backend> SequenceNetwork<B> {
    /// Its layers.
    pub fn reader(&self) -> Reader<'_, B> {
        match (&self.hidden, &self.bidirectional) {
            (_, Some(both)) => Reader::BothDirections(both),
            (Some(one), None) => Reader::OneDirection(one),
            // Built only from one of the two summarizers, and loading keeps the shape.
            (None, None) => unreachable!("a sequence network has layers"),
        }
    }

    /// `o = c + V s`.
    pub fn output(&self) -> &Linear<B> {
        &self.output
    }

    /// The hidden layers' cell.
    pub fn cell(&self) -> RecurrentCell {
        match self.reader() {
            Reader::OneDirection(stack) => stack.cell(),
            Reader::BothDirections(stack) => stack.layers[0].forward.cell(),
        }
    }

    /// Whether it reads both ways.
    pub fn is_bidirectional(&self) -> bool {
        matches!(self.reader(), Reader::BothDirections(_))
    }
}

impl<B: RecurrenceBackend> SequenceNetwork<B> {
    /// Reads each sequence and returns its output `o`, `[batch, d_output]`.
    ///
    /// - `input`: `[batch, time]` ids or `[batch, time, d_input]` features, padded to `time`.
    /// - `lengths`: `[batch]`, each row's real length; `None` when every row fills `time`.
    pub fn forward(
        &self,
        input: SequenceInput<B>,
        lengths: Option<&[usize]>,
    ) -> Result<Tensor<B, 2>> {
        let summary = match self.reader() {
            Reader::OneDirection(stack) => {
                let device = self.output.weight.device();
                stack.read(input, lengths, &device)?.top_hidden()
            }
            Reader::BothDirections(stack) => stack.summarize(input, lengths)?,
        };
        Ok(self.output.forward(summary))
    }

    /// Reads each sequence and returns an output at every step (pattern 1: per-step labelling),
    /// `o(t) = c + V h(t)` one way or `c + V [h(t); g(t)]` both ways, `[batch, time, d_output]`
    /// (past a row's length: padding, which nothing reads).
    ///
    /// - `input`, `lengths`: as for [`SequenceNetwork::forward`].
    pub fn forward_steps(
        &self,
        input: SequenceInput<B>,
        lengths: Option<&[usize]>,
    ) -> Result<Tensor<B, 3>> {
        let top = match self.reader() {
            Reader::OneDirection(stack) => {
                let device = self.output.weight.device();
                let batch = input.check(&stack.input, stack.id_check)?[0];
                stack
                    .forward(input, stack.zero_state(batch, &device), lengths)
                    .0
            }
            Reader::BothDirections(stack) => stack.forward(input, lengths)?.0,
        };
        Ok(self.output.forward(top))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::backend::NdArray;
    use unroll_model::{
        BidirectionalConfig, HiddenStackConfig, InputEncoding, SequenceSummarizerConfig,
    };

    type B = NdArray<f64>;

    /// Two layers of `cell`, 4 units, over 5 symbols.
    fn two_layers(cell: RecurrentCell) -> HiddenStackConfig {
        HiddenStackConfig::new(InputEncoding::Tokens { vocab_size: 5 }, 4)
            .with_cell(cell)
            .with_num_layers(2)
    }

    /// Each way, the network gives what the model crate's summarizer it was built from gives.
    #[test]
    fn each_way_is_the_summarizer_it_holds() {
        let device = Default::default();
        let hidden = two_layers(RecurrentCell::Gru);
        let ids =
            || SequenceInput::Tokens(Tensor::from_data([[1, 2, 3, 4], [4, 0, 0, 0]], &device));
        let lengths = Some(&[4, 1][..]);
        let one = SequenceSummarizerConfig::new(hidden.clone(), 3).init::<B>(&device);
        let expected = one.forward(ids(), lengths).unwrap();
        let network = SequenceNetwork::from(one);
        assert!(!network.is_bidirectional());
        let found = network.forward(ids(), lengths).unwrap();
        found.into_data().assert_eq(&expected.into_data(), true);

        let both = BidirectionalConfig::new(hidden, 3)
            .try_init_summarizer::<B>(&device)
            .unwrap();
        let expected = both.forward(ids(), lengths).unwrap();
        let network = SequenceNetwork::from(both);
        assert!(network.is_bidirectional());
        assert_eq!(network.cell(), RecurrentCell::Gru);
        let found = network.forward(ids(), lengths).unwrap();
        found.into_data().assert_eq(&expected.into_data(), true);
    }

    /// Labelling every step, each way, the network gives what the model crate's pattern 1
    /// gives with the same weights: the stack's states through the output layer, and for both
    /// ways the proven [`unroll_model::BidirectionalRecurrent`].
    #[test]
    fn every_step_is_pattern_one_each_way() {
        let device = Default::default();
        let hidden = two_layers(RecurrentCell::Lstm);
        let ids =
            || SequenceInput::Tokens(Tensor::from_data([[1, 2, 3, 4], [4, 2, 0, 0]], &device));
        let lengths = Some(&[4, 2][..]);
        let both = BidirectionalConfig::new(hidden.clone(), 3)
            .try_init_recurrent::<B>(&device)
            .unwrap();
        let expected = both.forward(ids(), lengths).unwrap();
        let network = SequenceNetwork {
            hidden: None,
            bidirectional: Some(both.hidden),
            output: both.output,
        };
        let found = network.forward_steps(ids(), lengths).unwrap();
        assert_eq!(found.dims(), [2, 4, 3]);
        found.into_data().assert_eq(&expected.into_data(), true);

        let one = SequenceSummarizerConfig::new(hidden, 3).init::<B>(&device);
        let state = one.hidden.zero_state(2, &device);
        let (states, _) = one.hidden.forward(ids(), state, lengths);
        let expected = one.output.forward(states);
        let found = SequenceNetwork::from(one)
            .forward_steps(ids(), lengths)
            .unwrap();
        found.into_data().assert_eq(&expected.into_data(), true);
    }

    /// Weights saved when classify's network was a [`SequenceSummarizer`] load into the network
    /// read one way, and give its outputs.
    #[test]
    fn checkpoints_from_before_both_ways_load() {
        let device = Default::default();
        let hidden = two_layers(RecurrentCell::Lstm);
        let before = SequenceSummarizerConfig::new(hidden.clone(), 3).init::<B>(&device);
        let bytes = crate::checkpoint::model_bytes(&before).unwrap();
        let fresh: SequenceNetwork<B> = SequenceSummarizerConfig::new(hidden, 3)
            .init::<B>(&device)
            .into();
        let path = std::path::Path::new("run");
        let loaded = crate::checkpoint::load_weights(fresh, &bytes, path, &[]).unwrap();
        let ids = || SequenceInput::Tokens(Tensor::from_data([[1, 2, 3], [4, 0, 1]], &device));
        let expected = before.forward(ids(), Some(&[3, 2])).unwrap();
        let found = loaded.forward(ids(), Some(&[3, 2])).unwrap();
        found.into_data().assert_eq(&expected.into_data(), true);
    }
}
