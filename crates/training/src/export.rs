//! Exporting weights for other tools: safetensors in PyTorch's layout, or Burnpack.
//!
//! Pattern 1 exports under the names of `torch.nn.RNN(V, H, num_layers=L, nonlinearity="tanh")`
//! followed by `torch.nn.Linear(H, V)`: `rnn.weight_ih_l{k}` `[H, in]`, `rnn.weight_hh_l{k}`
//! `[H, H]`, `rnn.bias_ih_l{k}` (the textbook's `b`), `rnn.bias_hh_l{k}` (zeros: the textbook has
//! one bias), `fc.weight` `[V, H]`, `fc.bias` `[V]`. The input of layer 0 is the one-hot vector
//! of the previous symbol. With a gated cell the same names are `torch.nn.LSTM`'s or
//! `torch.nn.GRU`'s (`[4H, in]`, `[4H, H]`, `[4H]`, `[4H]` for an LSTM, gates `i, f, g, o`;
//! `3H` for a GRU, gates `r, z, n`), the cell's weights as they are.
//!
//! Pattern 3 exports like pattern 1 (`rnn.*`, then `fc.*` applied to the last state); its
//! input is whatever the network reads (one-hot vectors for token ids). Both ways, its stack
//! is PyTorch's with `bidirectional=True` (the backward direction's tensors named
//! `weight_ih_l{k}_reverse`, …) and `fc.*` reads both last states
//! ([`bidirectional_summarizer_safetensors_bytes`]).
//!
//! Pattern 2 exports as two linear layers, `h = tanh(feedback(onehot(y(t-1))))`,
//! `o = fc(h)`: `feedback.weight` `[H, V]` (`W`), `feedback.bias` `[H]` (`b`), `fc.weight`
//! `[V, H]` (`V`), `fc.bias` `[V]` (`c`).
//!
//! A forecaster (patterns 2 and 1 on real values) exports the same way, its width the number of
//! columns ([`forecaster_safetensors_bytes`]). An encoder–decoder exports its two stacks under
//! `encoder.*` and `decoder.*` and the decoder's output under `fc.*`
//! ([`encoder_decoder_safetensors_bytes`]).
//!
//! Metadata: `vocab`, the symbols as a JSON list (strings in text mode, byte values in byte
//! mode), `config`, the training settings as JSON, and `cell` (`tanh`, `lstm` or `gru`) for
//! patterns 1 and 3.

use std::collections::HashMap;
use std::path::Path;

use burn::nn::Linear;
use burn::tensor::Tensor;
use burn::tensor::backend::Backend;
use safetensors::{Dtype, tensor::TensorView};
use unroll_model::{
    BidirectionalStack, BidirectionalSummarizer, Cell, EncoderDecoder, HiddenStack,
    OutputRecurrent, PytorchParameters, SequenceSummarizer,
};

use crate::checkpoint::model_bytes;
use crate::corpus::Vocabulary;
use crate::durable::write_atomically;
use crate::error::Result;
use crate::forecast::Forecaster;
use crate::language::config::LanguageConfig;
use crate::network::Network;
use crate::sequence::network::{Reader, SequenceNetwork};

/// An export format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "clap", derive(clap::ValueEnum))]
pub enum ExportFormat {
    /// safetensors, PyTorch's names and layouts.
    Safetensors,
    /// Burn's own format, loadable by any Burn backend.
    Burnpack,
}

/// One named tensor, row-major f32 values.
struct Named {
    name: String,
    shape: Vec<usize>,
    bytes: Vec<u8>,
}

fn named<B: Backend, const D: usize>(name: String, tensor: Tensor<B, D>) -> Named {
    let shape = tensor.dims().to_vec();
    let bytes = tensor
        .into_data()
        .iter::<f32>()
        .flat_map(f32::to_le_bytes)
        .collect();
    Named { name, shape, bytes }
}

/// The vocabulary as the JSON list stored under `vocab`.
pub fn vocabulary_json(vocabulary: &Vocabulary) -> String {
    match vocabulary {
        Vocabulary::Text { symbols, unknown } => {
            // The unknown symbol's id is the last, written `<unk>` (every other entry is one
            // character).
            let strings: Vec<String> = (symbols.iter().map(|c| c.to_string()))
                .chain(unknown.then(|| "<unk>".to_string()))
                .collect();
            serde_json::to_string(&strings).expect("strings serialise")
        }
        Vocabulary::Bytes => {
            serde_json::to_string(&(0..=255u8).collect::<Vec<_>>()).expect("bytes serialise")
        }
    }
}

/// `torch.nn.RNN`'s, `torch.nn.LSTM`'s or `torch.nn.GRU`'s tensors for the stack, under
/// `prefix` (`rnn.weight_ih_l0`, …).
fn stack_tensors<B: Backend>(prefix: &str, hidden: &HiddenStack<B>) -> Vec<Named> {
    let mut tensors = Vec::new();
    for (k, layer) in hidden.layers.iter().enumerate() {
        let PytorchParameters {
            weights: [weight_ih, weight_hh],
            biases: [bias_ih, bias_hh],
        } = layer.pytorch_parameters();
        tensors.push(named(format!("{prefix}.weight_ih_l{k}"), weight_ih));
        tensors.push(named(format!("{prefix}.weight_hh_l{k}"), weight_hh));
        tensors.push(named(format!("{prefix}.bias_ih_l{k}"), bias_ih));
        tensors.push(named(format!("{prefix}.bias_hh_l{k}"), bias_hh));
    }
    tensors
}

/// `torch.nn.RNN`'s, `torch.nn.LSTM`'s or `torch.nn.GRU`'s tensors with `bidirectional=True`,
/// under `prefix`: each layer's forward direction as `weight_ih_l{k}`, …, and its backward one
/// as `weight_ih_l{k}_reverse`, … (layers above the first read `2H` inputs).
fn bidirectional_stack_tensors<B: Backend>(
    prefix: &str,
    stack: &BidirectionalStack<B>,
) -> Vec<Named> {
    let mut tensors = Vec::new();
    for (k, layer) in stack.layers.iter().enumerate() {
        for (direction, suffix) in [(&layer.forward, ""), (&layer.backward, "_reverse")] {
            let PytorchParameters {
                weights: [weight_ih, weight_hh],
                biases: [bias_ih, bias_hh],
            } = direction.layers[0].pytorch_parameters();
            tensors.push(named(format!("{prefix}.weight_ih_l{k}{suffix}"), weight_ih));
            tensors.push(named(format!("{prefix}.weight_hh_l{k}{suffix}"), weight_hh));
            tensors.push(named(format!("{prefix}.bias_ih_l{k}{suffix}"), bias_ih));
            tensors.push(named(format!("{prefix}.bias_hh_l{k}{suffix}"), bias_hh));
        }
    }
    tensors
}

/// The safetensors bytes of pattern 3 both ways: `torch.nn.RNN`, `torch.nn.LSTM` or
/// `torch.nn.GRU` with `bidirectional=True` and `batch_first=True` (`rnn.*`), whose last
/// layer's final states, forward then backward (`h_n[-2:]`, concatenated), feed
/// `torch.nn.Linear(2H, d_output)` (`fc.*`). `metadata` is stored as given, with the `cell` and
/// `bidirectional` = `true`.
pub fn bidirectional_summarizer_safetensors_bytes<B: Backend>(
    model: &BidirectionalSummarizer<B>,
    metadata: HashMap<String, String>,
) -> Vec<u8> {
    bidirectional_bytes(&model.hidden, &model.output, metadata)
}

/// Both ways' stack under `rnn.*`, the output under `fc.*`, with the metadata.
fn bidirectional_bytes<B: Backend>(
    hidden: &BidirectionalStack<B>,
    output: &Linear<B>,
    mut metadata: HashMap<String, String>,
) -> Vec<u8> {
    let cell = hidden.layers[0].forward.cell();
    metadata.insert("cell".into(), cell.name().into());
    metadata.insert("bidirectional".into(), "true".into());
    let mut tensors = bidirectional_stack_tensors("rnn", hidden);
    tensors.extend(linear_tensors("fc", output));
    serialize(&tensors, metadata)
}

/// The safetensors bytes of classify's network: one way as
/// [`sequence_summarizer_safetensors_bytes`] writes it, both ways as
/// [`bidirectional_summarizer_safetensors_bytes`] does.
pub fn sequence_network_safetensors_bytes<B: Backend>(
    model: &SequenceNetwork<B>,
    mut metadata: HashMap<String, String>,
) -> Vec<u8> {
    match model.reader() {
        Reader::OneDirection(hidden) => {
            metadata.insert("cell".into(), hidden.cell().name().into());
            serialize(&rnn_tensors(hidden, model.output()), metadata)
        }
        Reader::BothDirections(hidden) => bidirectional_bytes(hidden, model.output(), metadata),
    }
}

/// The stack's tensors under `rnn.*`, then `torch.nn.Linear`'s for the output under `fc.*`.
fn rnn_tensors<B: Backend>(hidden: &HiddenStack<B>, output: &Linear<B>) -> Vec<Named> {
    let mut tensors = stack_tensors("rnn", hidden);
    tensors.extend(linear_tensors("fc", output));
    tensors
}

/// `torch.nn.Linear`'s `weight` `[out, in]` and `bias` under `prefix`.
fn linear_tensors<B: Backend>(prefix: &str, linear: &Linear<B>) -> Vec<Named> {
    let mut tensors = vec![named(
        format!("{prefix}.weight"),
        linear.weight.val().transpose(),
    )];
    if let Some(bias) = &linear.bias {
        tensors.push(named(format!("{prefix}.bias"), bias.val()));
    }
    tensors
}

fn serialize(tensors: &[Named], metadata: HashMap<String, String>) -> Vec<u8> {
    let views: Vec<(String, TensorView<'_>)> = tensors
        .iter()
        .map(|t| {
            let view = TensorView::new(Dtype::F32, t.shape.clone(), &t.bytes).expect("sizes agree");
            (t.name.clone(), view)
        })
        .collect();
    safetensors::serialize(views, Some(metadata)).expect("valid tensors serialise")
}

/// The safetensors bytes of a language model (pattern 1 or 2), with its vocabulary and settings.
pub fn safetensors_bytes<B: Backend>(
    model: &Network<B>,
    vocabulary: &Vocabulary,
    config: &LanguageConfig,
) -> Result<Vec<u8>> {
    let tensors = match model {
        Network::Hidden(model) => rnn_tensors(&model.hidden, &model.output),
        Network::Output(model) => output_recurrent_tensors(model),
    };
    let metadata = HashMap::from([
        ("cell".to_string(), config.model.cell.name().to_string()),
        ("vocab".to_string(), vocabulary_json(vocabulary)),
        (
            "config".to_string(),
            serde_json::to_string(config).expect("settings serialise"),
        ),
        ("format".to_string(), "pt".to_string()),
    ]);
    Ok(serialize(&tensors, metadata))
}

/// Pattern 2 without input as two linear layers: `feedback.*` (`W`, `b`) and `fc.*` (`V`, `c`).
fn output_recurrent_tensors<B: Backend>(model: &OutputRecurrent<B>) -> Vec<Named> {
    let mut tensors = vec![
        named(
            "feedback.weight".into(),
            model.feedback_weight.val().transpose(),
        ),
        named("feedback.bias".into(), model.bias.val()),
    ];
    tensors.extend(linear_tensors("fc", &model.output));
    tensors
}

/// The safetensors bytes of a forecaster: pattern 2 as `feedback.*` and `fc.*`
/// (`o = fc(tanh(feedback(y(t-1))))`, `y` in standard units), pattern 1 as `rnn.*` and `fc.*`
/// (`torch.nn.RNN(columns, H, num_layers=L, nonlinearity="tanh", batch_first=True)` fed
/// `y(t-1)`, then `torch.nn.Linear(H, outputs)` at every step). Under the Gaussian NLL `fc`
/// gives the means, then the log-variances, and only the means are fed back. `metadata` is stored as given
/// (the standardisation, the settings…).
pub fn forecaster_safetensors_bytes<B: Backend>(
    model: &Forecaster<B>,
    metadata: HashMap<String, String>,
) -> Vec<u8> {
    let tensors = match &model.network {
        Network::Output(network) => {
            let mut tensors = output_recurrent_tensors(network);
            // Only means are fed back: the rows of the log-variances, which always meet zeros,
            // are left out, so `feedback` reads the `columns` values alone.
            let weight = network.feedback_weight.val().narrow(0, 0, model.columns);
            tensors[0] = named("feedback.weight".into(), weight.transpose());
            tensors
        }
        Network::Hidden(network) => rnn_tensors(&network.hidden, &network.output),
    };
    let mut metadata = metadata;
    if let Network::Hidden(network) = &model.network {
        metadata.insert("cell".into(), network.hidden.cell().name().into());
    }
    serialize(&tensors, metadata)
}

/// The safetensors bytes of a pattern-3 network: `torch.nn.RNN(d_input, H, num_layers=L,
/// nonlinearity="tanh", batch_first=True)` (`rnn.*`, as for pattern 1; token inputs are one-hot
/// vectors) whose last state feeds `torch.nn.Linear(H, d_output)` (`fc.*`). `metadata` is stored
/// as given (a model config, labels…).
pub fn sequence_summarizer_safetensors_bytes<B: Backend>(
    model: &SequenceSummarizer<B>,
    mut metadata: HashMap<String, String>,
) -> Vec<u8> {
    metadata.insert("cell".into(), model.hidden.cell().name().into());
    serialize(&rnn_tensors(&model.hidden, &model.output), metadata)
}

/// The safetensors bytes of an encoder–decoder: the encoder as `torch.nn.RNN`, `torch.nn.LSTM`
/// or `torch.nn.GRU` (`batch_first=True`; with `bidirectional=True` and half the decoder's
/// units when it reads both ways, metadata `bidirectional` = `true`) under `encoder.*`, the decoder as the same module under
/// `decoder.*`, its output `torch.nn.Linear` under `fc.*`; symbols enter both as one-hot vectors.
/// `metadata` is stored as given (the settings, the vocabularies), with the `cell`.
pub fn encoder_decoder_safetensors_bytes<B: Backend>(
    model: &EncoderDecoder<B>,
    mut metadata: HashMap<String, String>,
) -> Vec<u8> {
    let mut tensors = match (&model.encoder, &model.bidirectional_encoder) {
        (_, Some(both)) => {
            metadata.insert("bidirectional".into(), "true".into());
            bidirectional_stack_tensors("encoder", both)
        }
        (Some(one), None) => stack_tensors("encoder", one),
        (None, None) => Vec::new(),
    };
    tensors.extend(stack_tensors("decoder", &model.decoder.hidden));
    tensors.extend(linear_tensors("fc", &model.decoder.output));
    metadata.insert("cell".into(), model.cell().name().into());
    if model.summary_input() {
        // The decoder's `weight_ih_l0` reads `[one_hot(y(t-1)), C]`, the summary's part last.
        metadata.insert("summary_input".into(), "true".into());
    }
    serialize(&tensors, metadata)
}

/// Exports a model to `path` in `format`.
pub fn export<B: Backend>(
    model: &Network<B>,
    vocabulary: &Vocabulary,
    config: &LanguageConfig,
    format: ExportFormat,
    path: &Path,
) -> Result<()> {
    let bytes = match format {
        ExportFormat::Safetensors => safetensors_bytes(model, vocabulary, config)?,
        ExportFormat::Burnpack => model_bytes(model)?,
    };
    write_atomically(path, &bytes)
}
