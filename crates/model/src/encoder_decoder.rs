//! Sequence to sequence (Deep Learning §10.4): pattern 3's summary of a source starts pattern 1,
//! which writes a target symbol by symbol, each step fed the symbol before.
//!
//! The encoder reads the source `x(1) … x(n)` and stops, in every row, at the row's own length;
//! its final state, every layer's `h` (and `c` for an LSTM), is the fixed-size summary `C`. The
//! decoder starts from `C` and reads `y(0) … y(m-1)` (a start symbol, then the target), giving
//! `o(t) = c + V h(t)` for `y(t)`. No attention: the summary is the only path from the source
//! to the target, as the text has it.
//!
//! Both ways (`bidirectional`), the encoder reads the source forward and backward, each
//! direction with half the decoder's units, and each layer's two final states, forward then
//! backward, concatenated, start the decoder's layer of the same depth: OpenNMT's `brnn`
//! encoder. Concatenation rather than a learned projection (Bahdanau et al.'s `tanh(W g(1))`):
//! no parameters are added, the summary keeps the one-way encoder's size (a fair comparison at
//! equal `C`), and the export is PyTorch's own modules.
//!
//! With the summary in every input (`summary_input`), the decoder also reads `C` at every step,
//! as Cho et al. (2014) feed theirs: its input is the one-hot previous symbol and the encoder's
//! top layer's final `h`, concatenated (`[y(t-1), C]`), so its first layer computes
//! `W_ih [y(t-1), C]`, what PyTorch's decoder does when given that concatenation. The state
//! still starts from every layer's summary.

use burn::config::Config;
use burn::module::Module;
use burn::tensor::backend::Backend;
use burn::tensor::{Int, Tensor, TensorData};

use crate::error::ModelError;
use crate::fused::RecurrenceBackend;
use crate::fused::rollout::FeedingPlan;
use crate::hidden_recurrent::{HiddenRecurrent, HiddenRecurrentConfig, RecurrentOutput};
use crate::ids::require_ids_below;
use crate::input::{InputEncoding, SequenceInput, StepInput, symbol_and_context};
use crate::recurrence::stack::check_lengths;
use crate::recurrence::{
    BidirectionalStack, BidirectionalStackConfig, HiddenStack, HiddenStackConfig, HiddenState,
};

/// Configuration of an [`EncoderDecoder`]: the encoder's stack and the decoder, whose state
/// has the encoder's shape (the same cell, layers and hidden size) and whose input is the
/// previous target symbol.
#[derive(Config, Debug)]
pub struct EncoderDecoderConfig {
    /// The encoder: the source's input encoding, hidden size, layers, cell, dropout, path.
    pub encoder: HiddenStackConfig,
    /// The decoder: pattern 1 over target symbols (`InputEncoding::Tokens`), its output the
    /// target vocabulary.
    pub decoder: HiddenRecurrentConfig,
    /// Read the source both ways; `encoder` is then each direction's stack, with half the
    /// decoder's hidden units.
    #[config(default = false)]
    pub bidirectional: bool,
}

impl EncoderDecoderConfig {
    /// An encoder and a decoder of one shape: `cell` layers of `hidden` units, `layers` deep,
    /// over source symbols (`source_vocab`) and target symbols (`target_vocab`, the decoder's
    /// input and output).
    pub fn symbols(
        source_vocab: usize,
        target_vocab: usize,
        hidden: usize,
        layers: usize,
        cell: crate::RecurrentCell,
    ) -> Self {
        let stack = |vocab_size| {
            HiddenStackConfig::new(InputEncoding::Tokens { vocab_size }, hidden)
                .with_num_layers(layers)
                .with_cell(cell)
        };
        EncoderDecoderConfig::new(
            stack(source_vocab),
            HiddenRecurrentConfig::new(stack(target_vocab), target_vocab),
        )
    }

    /// The same network with the summary also part of every decoder input (`[y(t-1), C]`, `C`
    /// the encoder's top layer's final `h`): the decoder's input becomes `d_output + hidden`
    /// features.
    pub fn with_summary_in_every_input(mut self) -> Self {
        let decoder = &mut self.decoder;
        decoder.hidden.input = InputEncoding::of_symbols(decoder.d_output, decoder.hidden.d_hidden);
        self
    }

    /// Whether the decoder reads the summary at every step as well as starting from it.
    pub fn summary_input(&self) -> bool {
        matches!(self.decoder.hidden.input, InputEncoding::Dense { .. })
    }

    /// Checks every setting, naming the first one that is invalid: each part's, and that the
    /// encoder's final state can start the decoder.
    pub fn validate(&self) -> crate::Result<()> {
        self.encoder.validate()?;
        self.decoder.validate()?;
        let (encoder, decoder) = (&self.encoder, &self.decoder.hidden);
        let directions = 1 + usize::from(self.bidirectional);
        let shape = |s: &HiddenStackConfig, directions: usize| {
            (s.d_hidden * directions, s.num_layers, s.cell)
        };
        if shape(encoder, directions) != shape(decoder, 1) {
            return Err(ModelError::InvalidConfig {
                setting: "decoder",
                reason: format!(
                    "its state must have the encoder's shape (hidden{}, layers, cell): {:?} against {:?}",
                    if self.bidirectional {
                        " of both directions"
                    } else {
                        ""
                    },
                    shape(decoder, 1),
                    shape(encoder, directions)
                ),
            });
        }
        let tokens = InputEncoding::of_symbols(self.decoder.d_output, 0);
        let with_summary = InputEncoding::of_symbols(self.decoder.d_output, decoder.d_hidden);
        if decoder.input != tokens && decoder.input != with_summary {
            return Err(ModelError::InvalidConfig {
                setting: "decoder",
                reason: format!(
                    "its input is the previous target symbol ({tokens:?}), or that symbol one-hot \
                     and the summary ({with_summary:?}); not {:?}",
                    decoder.input
                ),
            });
        }
        Ok(())
    }

    /// Builds the network, or says which setting is invalid.
    pub fn try_init<B: Backend>(&self, device: &B::Device) -> crate::Result<EncoderDecoder<B>> {
        self.validate()?;
        let (encoder, bidirectional_encoder) = if self.bidirectional {
            let both = BidirectionalStackConfig::new(self.encoder.clone()).try_init(device)?;
            (None, Some(both))
        } else {
            (Some(self.encoder.try_init(device)?), None)
        };
        Ok(EncoderDecoder {
            encoder,
            bidirectional_encoder,
            decoder: self.decoder.try_init(device)?,
        })
    }
}

crate::setting::init_or_panic!(EncoderDecoderConfig => EncoderDecoder);

/// An encoder whose final state starts a decoder.
///
/// ```
/// use burn::backend::{Autodiff, Flex};
/// use burn::tensor::{Int, Tensor};
/// use unroll_model::{EncoderDecoderConfig, RecurrentCell, SequenceInput};
///
/// type B = Autodiff<Flex>;
/// let device = Default::default();
/// let model = EncoderDecoderConfig::symbols(12, 9, 16, 2, RecurrentCell::Lstm).init::<B>(&device);
/// let source = Tensor::<B, 2, Int>::zeros([3, 7], &device); // [batch, source time], padded
/// let previous = Tensor::<B, 2, Int>::zeros([3, 5], &device); // y(0) … y(m-1), padded
/// let targets = Tensor::<B, 2, Int>::ones([3, 5], &device); // y(1) … y(m)
/// let losses = model.forward_loss(
///     SequenceInput::Tokens(source),
///     Some(&[7, 4, 2]),
///     previous,
///     targets,
///     Some(&[5, 5, 3]),
/// )?;
/// assert_eq!(losses.dims(), [3, 5]); // zero past each row's target length
/// losses.sum().backward(); // through the decoder, the summary and the encoder
/// # Ok::<(), unroll_model::ModelError>(())
/// ```
#[derive(Module, Debug)]
pub struct EncoderDecoder<B: Backend> {
    /// Reads the source forward (absent when it reads both ways). Named as before both ways
    /// existed, so that checkpoints written then load as they are.
    pub encoder: Option<HiddenStack<B>>,
    /// Reads the source both ways (absent when it reads forward only).
    pub bidirectional_encoder: Option<BidirectionalStack<B>>,
    /// Writes the target, starting from the encoder's final state.
    pub decoder: HiddenRecurrent<B>,
}

impl<B: Backend> EncoderDecoder<B> {
    /// The cell of the encoder and the decoder (the same one).
    pub fn cell(&self) -> crate::RecurrentCell {
        self.decoder.hidden.cell()
    }

    /// Whether the encoder reads the source both ways.
    pub fn is_bidirectional(&self) -> bool {
        self.bidirectional_encoder.is_some()
    }

    /// Whether the decoder reads the summary at every step as well as starting from it.
    pub fn summary_input(&self) -> bool {
        matches!(self.decoder.hidden.input, InputEncoding::Dense { .. })
    }

    /// With the summary in every input, the part of every decoder input that the summary gives:
    /// `C`, the top layer's `h`, `[batch, d_hidden]`; `None` otherwise.
    pub fn context(&self, summary: &HiddenState<B>) -> Option<Tensor<B, 2>> {
        self.summary_input().then(|| {
            let [layers, batch, d_hidden] = summary.hidden.dims();
            summary
                .hidden
                .clone()
                .narrow(0, layers - 1, 1)
                .reshape([batch, d_hidden])
        })
    }
}

impl<B: RecurrenceBackend> EncoderDecoder<B> {
    /// The summary of each source: every layer's state at the row's own length (`h`, and `c`
    /// for an LSTM), `[layers, batch, d_hidden]` each; both ways, the forward state at the
    /// row's last step and the backward one at its first, concatenated in that order.
    ///
    /// - `source`: `[batch, time]` ids or `[batch, time, d_input]` features, padded to `time`.
    /// - `lengths`: `[batch]`, each row's real length (1 ≤ length ≤ time); `None` when every
    ///   row fills `time`. A padded row's summary is the one it has alone.
    pub fn encode(
        &self,
        source: SequenceInput<B>,
        lengths: Option<&[usize]>,
    ) -> crate::Result<HiddenState<B>> {
        match (&self.encoder, &self.bidirectional_encoder) {
            (Some(one), _) => one.read(source, lengths, &self.device()),
            (None, Some(both)) => Ok(concatenate_directions(both.final_state(source, lengths)?)),
            (None, None) => Err(ModelError::InvalidConfig {
                setting: "encoder",
                reason: "the network has no encoder".into(),
            }),
        }
    }

    /// The decoder's logits for every target step, the decoder fed `previous`.
    ///
    /// - `source`, `source_lengths`: as for [`EncoderDecoder::encode`].
    /// - `previous`: `y(0) … y(m-1)`, `[batch, m]` target ids (a start symbol first).
    ///
    /// Returns logits `[batch, m, d_output]` and the decoder's final state.
    pub fn forward(
        &self,
        source: SequenceInput<B>,
        source_lengths: Option<&[usize]>,
        previous: Tensor<B, 2, Int>,
    ) -> crate::Result<RecurrentOutput<B>> {
        let summary = self.encode(source, source_lengths)?;
        let input = self.decoder_inputs(previous, self.context(&summary).as_ref())?;
        self.decoder.forward(input, Some(summary))
    }

    /// The training pass: `−log softmax(o(t))[y(t)]` for every target step, `[batch, m]`, zero
    /// past each row's target length.
    ///
    /// - `source`, `source_lengths`: as for [`EncoderDecoder::encode`].
    /// - `previous`: `y(0) … y(m-1)`, `[batch, m]`; `targets`: `y(1) … y(m)`, `[batch, m]`,
    ///   both padded to `m`.
    /// - `target_lengths`: `[batch]`, each row's number of target steps (1 ≤ length ≤ m); `None`
    ///   when every row has `m`.
    ///
    /// The decoder's loss runs fused on the fused path; the gradient reaches the encoder through
    /// the summary.
    pub fn forward_loss(
        &self,
        source: SequenceInput<B>,
        source_lengths: Option<&[usize]>,
        previous: Tensor<B, 2, Int>,
        targets: Tensor<B, 2, Int>,
        target_lengths: Option<&[usize]>,
    ) -> crate::Result<Tensor<B, 2>> {
        let summary = self.encode(source, source_lengths)?;
        self.decode_loss(summary, previous, targets, target_lengths)
    }

    /// [`EncoderDecoder::forward_loss`] from a summary already encoded ([`EncoderDecoder::encode`]):
    /// the decoder's losses `[batch, m]`, zero past each row's target length, the gradient
    /// reaching the encoder through `summary` when it was encoded under autodiff.
    pub fn decode_loss(
        &self,
        summary: HiddenState<B>,
        previous: Tensor<B, 2, Int>,
        targets: Tensor<B, 2, Int>,
        target_lengths: Option<&[usize]>,
    ) -> crate::Result<Tensor<B, 2>> {
        let [batch, steps] = previous.dims();
        if let Some(lengths) = target_lengths {
            check_lengths("target_lengths", lengths, batch, steps)?;
        }
        let input = self.decoder_inputs(previous, self.context(&summary).as_ref())?;
        let (losses, _) = self.decoder.forward_loss(input, Some(summary), targets)?;
        Ok(match target_lengths {
            Some(lengths) => losses * step_mask::<B>(lengths, steps, &self.device()),
            None => losses,
        })
    }

    /// One decoding step: the decoder fed `previous` (`[batch]` ids) from `state` (the summary,
    /// or the state of the step before), with `context` (`[batch, d_hidden]`, what
    /// [`EncoderDecoder::context`] gave for the summary) when the summary is in every input.
    /// Returns logits `[batch, d_output]` and the new state.
    pub fn decode_step(
        &self,
        previous: Tensor<B, 1, Int>,
        state: HiddenState<B>,
        context: Option<&Tensor<B, 2>>,
    ) -> crate::Result<(Tensor<B, 2>, HiddenState<B>)> {
        let input = match context {
            None => StepInput::Tokens(previous),
            Some(context) => {
                let symbols = self.checked_symbols(&previous)?;
                StepInput::Dense(symbol_and_context(previous, symbols, context.clone()))
            }
        };
        self.decoder.step(input, Some(state))
    }

    /// The symbol every decoder step is fed under `plan` (scheduled sampling, the curriculum):
    /// [`HiddenRecurrent::fed_symbols`] from `summary`, for either kind of decoder input.
    ///
    /// - `truth`: `y(0) … y(m-1)`, `[batch, m]`; `summary`: the encoder's ([`EncoderDecoder::encode`]).
    ///
    /// Returns the fed symbols, `[batch, m]`; the CPU backends run the rollout as one kernel,
    /// the summary's share of every decoder input added to its first layer's.
    pub fn fed_symbols(
        &self,
        truth: Tensor<B, 2, Int>,
        summary: HiddenState<B>,
        plan: &FeedingPlan,
    ) -> crate::Result<Tensor<B, 2, Int>> {
        let summary = summary.detach();
        let context = self.context(&summary);
        self.decoder
            .fed_symbols_with(truth, Some(summary), context, plan)
    }

    /// The decoder's input for `previous` (`[batch, m]` ids): the ids, or with `context`
    /// (`[batch, d_hidden]`) `[y(t-1), C]` at every step, `[batch, m, d_output + d_hidden]`.
    fn decoder_inputs(
        &self,
        previous: Tensor<B, 2, Int>,
        context: Option<&Tensor<B, 2>>,
    ) -> crate::Result<SequenceInput<B>> {
        let Some(context) = context else {
            return Ok(SequenceInput::Tokens(previous));
        };
        let symbols = self.checked_symbols(&previous)?;
        let [batch, steps] = previous.dims();
        let d_hidden = context.dims()[1];
        let rows = [batch * steps, d_hidden];
        let repeated = context
            .clone()
            .unsqueeze_dim::<3>(1)
            .expand([batch, steps, d_hidden]);
        let features =
            symbol_and_context(previous.reshape([rows[0]]), symbols, repeated.reshape(rows));
        Ok(SequenceInput::Dense(features.reshape([
            batch,
            steps,
            symbols + d_hidden,
        ])))
    }

    /// The decoder's number of symbols, once every id of `previous` is checked to be below it
    /// (a one-hot vector has no place for another).
    fn checked_symbols<const D: usize>(
        &self,
        previous: &Tensor<B, D, Int>,
    ) -> crate::Result<usize> {
        let (symbols, id_check) = (self.decoder.d_output(), self.decoder.hidden.id_check);
        require_ids_below("previous", previous, symbols, id_check)?;
        Ok(symbols)
    }

    fn device(&self) -> B::Device {
        self.decoder.output.weight.device()
    }
}

/// PyTorch's `h_n` of a bidirectional stack, `[2 · layers, batch, d]` (layer 0 forward, layer 0
/// backward, …), as one state per layer, `[layers, batch, 2 · d]`, forward units first.
fn concatenate_directions<B: Backend>(state: HiddenState<B>) -> HiddenState<B> {
    let join = |both: Tensor<B, 3>| {
        let [rows, batch, d] = both.dims();
        both.reshape([rows / 2, 2, batch, d])
            .swap_dims(1, 2)
            .reshape([rows / 2, batch, 2 * d])
    };
    HiddenState {
        hidden: join(state.hidden),
        cell: state.cell.map(join),
    }
}

/// 1 where a step is within its row's length, 0 past it: `[batch, steps]`.
fn step_mask<B: Backend>(lengths: &[usize], steps: usize, device: &B::Device) -> Tensor<B, 2> {
    let mask: Vec<f32> = lengths
        .iter()
        .flat_map(|&length| (0..steps).map(move |t| f32::from(u8::from(t < length))))
        .collect();
    Tensor::from_data(TensorData::new(mask, [lengths.len(), steps]), device)
}
