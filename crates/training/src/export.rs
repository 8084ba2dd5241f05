//! Exporting weights for other tools: safetensors in PyTorch's layout, or Burnpack.
//!
//! Pattern 1 exports under the names of `torch.nn.RNN(V, H, num_layers=L, nonlinearity="tanh")`
//! followed by `torch.nn.Linear(H, V)`: `rnn.weight_ih_l{k}` `[H, in]`, `rnn.weight_hh_l{k}`
//! `[H, H]`, `rnn.bias_ih_l{k}` (the textbook's `b`), `rnn.bias_hh_l{k}` (zeros: the textbook has
//! one bias), `fc.weight` `[V, H]`, `fc.bias` `[V]`. The input of layer 0 is the one-hot vector
//! of the previous symbol.
//!
//! Pattern 2 exports as two linear layers, `h = tanh(feedback(onehot(y(t-1))))`,
//! `o = fc(h)`: `feedback.weight` `[H, V]` (`W`), `feedback.bias` `[H]` (`b`), `fc.weight`
//! `[V, H]` (`V`), `fc.bias` `[V]` (`c`).
//!
//! Metadata: `vocab`, the symbols as a JSON list (strings in text mode, byte values in byte
//! mode), and `config`, the training settings as JSON.

use std::collections::HashMap;
use std::path::Path;

use burn::tensor::Tensor;
use burn::tensor::backend::Backend;
use safetensors::{Dtype, tensor::TensorView};

use crate::checkpoint::model_bytes;
use crate::config::TrainingConfig;
use crate::corpus::Vocabulary;
use crate::error::{Result, io_error};
use crate::language_model::LanguageModel;

/// An export format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
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
        Vocabulary::Text { symbols } => {
            let strings: Vec<String> = symbols.iter().map(|c| c.to_string()).collect();
            serde_json::to_string(&strings).expect("strings serialise")
        }
        Vocabulary::Bytes => {
            serde_json::to_string(&(0..=255u8).collect::<Vec<_>>()).expect("bytes serialise")
        }
    }
}

/// The safetensors bytes of a model.
pub fn safetensors_bytes<B: Backend>(
    model: &LanguageModel<B>,
    vocabulary: &Vocabulary,
    config: &TrainingConfig,
) -> Result<Vec<u8>> {
    let mut tensors = Vec::new();
    match model {
        LanguageModel::Hidden(model) => {
            for (k, layer) in model.hidden.layers.iter().enumerate() {
                let hidden = layer.d_hidden();
                let device = layer.bias.device();
                tensors.push(named(
                    format!("rnn.weight_ih_l{k}"),
                    layer.input_weight.val().transpose(),
                ));
                tensors.push(named(
                    format!("rnn.weight_hh_l{k}"),
                    layer.recurrent_weight.val().transpose(),
                ));
                tensors.push(named(format!("rnn.bias_ih_l{k}"), layer.bias.val()));
                tensors.push(named(
                    format!("rnn.bias_hh_l{k}"),
                    Tensor::<B, 1>::zeros([hidden], &device),
                ));
            }
            tensors.push(named(
                "fc.weight".into(),
                model.output.weight.val().transpose(),
            ));
            if let Some(bias) = &model.output.bias {
                tensors.push(named("fc.bias".into(), bias.val()));
            }
        }
        LanguageModel::Output(model) => {
            tensors.push(named(
                "feedback.weight".into(),
                model.feedback_weight.val().transpose(),
            ));
            tensors.push(named("feedback.bias".into(), model.bias.val()));
            tensors.push(named(
                "fc.weight".into(),
                model.output.weight.val().transpose(),
            ));
            if let Some(bias) = &model.output.bias {
                tensors.push(named("fc.bias".into(), bias.val()));
            }
        }
    }
    let views: Vec<(String, TensorView<'_>)> = tensors
        .iter()
        .map(|t| {
            let view = TensorView::new(Dtype::F32, t.shape.clone(), &t.bytes).expect("sizes agree");
            (t.name.clone(), view)
        })
        .collect();
    let metadata = HashMap::from([
        ("vocab".to_string(), vocabulary_json(vocabulary)),
        (
            "config".to_string(),
            serde_json::to_string(config).expect("settings serialise"),
        ),
        ("format".to_string(), "pt".to_string()),
    ]);
    Ok(safetensors::serialize(views, Some(metadata)).expect("valid tensors serialise"))
}

/// Writes `bytes` to `path` through a temporary file and a rename, so `path` is never half-written.
pub fn write_atomically(path: &Path, bytes: &[u8]) -> Result<()> {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let temporary = path.with_file_name(format!(".{name}.tmp"));
    std::fs::write(&temporary, bytes).map_err(|e| io_error(&temporary, e))?;
    std::fs::rename(&temporary, path).map_err(|e| io_error(path, e))
}

/// Exports a model to `path` in `format`.
pub fn export<B: Backend>(
    model: &LanguageModel<B>,
    vocabulary: &Vocabulary,
    config: &TrainingConfig,
    format: ExportFormat,
    path: &Path,
) -> Result<()> {
    let bytes = match format {
        ExportFormat::Safetensors => safetensors_bytes(model, vocabulary, config)?,
        ExportFormat::Burnpack => model_bytes(model)?,
    };
    write_atomically(path, &bytes)
}
