//! Checkpoints: a directory per checkpoint, written whole to a temporary directory, flushed to
//! the disk, and then renamed into place, so a crash of the process or of the machine never
//! leaves a half-written `last` or `best`.
//!
//! ```text
//! RUN/last/  model.bpk  optimizer.bin  config.json  vocabulary.json  progress.json  metrics.jsonl
//!            checksums.json (the SHA-256 of every other file)
//! RUN/best/  the same, from the iteration with the lowest validation loss
//! ```
//! Weights are in Burn's Burnpack format, which any backend reads. Opening a checkpoint verifies
//! every file against `checksums.json`, and loading the model refuses weights that are not
//! finite, so a damaged checkpoint is an error, never a silently wrong model.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use burn::module::{Module, ModuleMapper, ModuleVisitor, Param, ParamId};
use burn::tensor::backend::Backend;
use burn::tensor::{Tensor, TensorData};
use burn_store::{BurnpackStore, ModuleSnapshot};
use serde::{Deserialize, Serialize};

use crate::corpus::DataSource;
use crate::durable::{sha256_hex, sync_directory, write_new_file};
use crate::error::{Result, checkpoint_error, io_error};
use crate::metrics::{IterationMetrics, METRICS, from_jsonl, to_jsonl};

pub(crate) const MODEL: &str = "model.bpk";
pub(crate) const OPTIMIZER: &str = "optimizer.bin";
pub(crate) const CONFIG: &str = "config.json";
pub(crate) const PROGRESS: &str = "progress.json";
const CHECKSUMS: &str = "checksums.json";

/// A checkpoint's contents, read back by a task for the loop to continue from.
pub struct Resumed<M, V> {
    /// The model with its weights.
    pub model: M,
    /// The optimiser's state, serialised by the loop.
    pub optimizer: Option<Vec<u8>>,
    /// Where training stood.
    pub progress: Progress,
    /// Every logged iteration up to the checkpoint.
    pub metrics: Vec<IterationMetrics<V>>,
}

/// What the loop hands a task to write as a checkpoint.
pub struct Snapshot<'a, M, V> {
    /// The model.
    pub model: &'a M,
    /// The optimiser's state, serialised.
    pub optimizer: Vec<u8>,
    /// Where training stands.
    pub progress: &'a Progress,
    /// Every logged iteration so far.
    pub metrics: &'a [IterationMetrics<V>],
}

/// Which checkpoint of a run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Which {
    /// The most recent.
    Last,
    /// The one with the lowest validation loss.
    Best,
}

impl Which {
    fn name(self) -> &'static str {
        match self {
            Which::Last => "last",
            Which::Best => "best",
        }
    }
}

/// Where training stands, beyond the weights.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Progress {
    /// Iterations completed; training resumes at this iteration.
    pub iteration: u64,
    /// Lowest validation loss so far (nats per symbol).
    pub best_validation: Option<f64>,
    /// Loss of the run's first iteration, the reference of the divergence guard.
    pub initial_loss: Option<f64>,
    /// The loss smoothed over recent iterations (an exponential moving average), what the
    /// divergence guard watches.
    #[serde(default)]
    pub smoothed_loss: Option<f64>,
    /// The carried hidden state, packed (`h` of every layer, then `c` of every layer for an
    /// LSTM: [`unroll_model::HiddenState::packed`]), when state carries over.
    pub carried_state: Option<SavedTensor>,
    /// The backend that wrote the checkpoint (any backend can read it).
    pub backend: String,
    /// The parameters' ids in visiting order: the optimiser's state is keyed by them, and
    /// loading weights alone would give the parameters new ones.
    #[serde(default)]
    pub parameter_ids: Vec<u64>,
    /// The data the run trains on, to resume on the same file and notice when it changed.
    #[serde(default)]
    pub data: Option<DataSource>,
}

/// A small tensor stored as JSON (f32 values round-trip exactly).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SavedTensor {
    /// Its shape.
    pub shape: Vec<usize>,
    /// Its values, row-major.
    pub values: Vec<f32>,
}

impl SavedTensor {
    /// Saves a small tensor's values.
    pub fn from_tensor<B: Backend, const D: usize>(tensor: &Tensor<B, D>) -> Self {
        SavedTensor {
            shape: tensor.dims().to_vec(),
            values: tensor.to_data().iter::<f32>().collect(),
        }
    }

    /// The tensor again, if it has `shape`.
    pub fn to_tensor<B: Backend, const D: usize>(
        &self,
        shape: [usize; D],
        device: &B::Device,
    ) -> Option<Tensor<B, D>> {
        (self.shape == shape && self.values.len() == shape.iter().product::<usize>())
            .then(|| Tensor::from_data(TensorData::new(self.values.clone(), shape), device))
    }
}

fn read(path: &Path) -> Result<Vec<u8>> {
    std::fs::read(path).map_err(|e| {
        if e.kind() == std::io::ErrorKind::NotFound {
            checkpoint_error(path, "missing file: the checkpoint is incomplete")
        } else {
            io_error(path, e)
        }
    })
}

fn parse<T: for<'de> Deserialize<'de>>(path: &Path, bytes: &[u8]) -> Result<T> {
    serde_json::from_slice(bytes).map_err(|e| checkpoint_error(path, format!("corrupted: {e}")))
}

/// Reads every file `checksums.json` lists, each checked against its SHA-256.
pub(crate) fn verified_files(dir: &Path) -> Result<BTreeMap<String, Vec<u8>>> {
    let manifest_path = dir.join(CHECKSUMS);
    let checksums: BTreeMap<String, String> = match std::fs::read(&manifest_path) {
        Ok(bytes) => parse(&manifest_path, &bytes)?,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err(checkpoint_error(
                &manifest_path,
                "missing file: the checkpoint is incomplete (or was written by a version without checksums)",
            ));
        }
        Err(e) => return Err(io_error(&manifest_path, e)),
    };
    let mut files = BTreeMap::new();
    for (name, expected) in checksums {
        // Names are plain file names; anything else is not a manifest this code wrote.
        if name.contains(['/', '\\']) || name.starts_with('.') {
            return Err(checkpoint_error(
                &manifest_path,
                format!("corrupted: lists {name:?}"),
            ));
        }
        let file = dir.join(&name);
        let bytes = read(&file)?;
        if sha256_hex(&bytes) != expected {
            return Err(checkpoint_error(
                &file,
                "damaged: its contents differ from the SHA-256 recorded when it was written",
            ));
        }
        files.insert(name, bytes);
    }
    Ok(files)
}

/// The directory holding checkpoint `which` of a run, accepting the run directory or a
/// checkpoint directory itself; a checkpoint caught mid-replacement is found under its old name.
/// Asking for `best` while naming a `last` checkpoint directory is an error, not a silent `last`.
pub fn locate(dir: &Path, which: Which) -> Result<PathBuf> {
    if dir.join(CONFIG).is_file() {
        let name = dir.file_name().and_then(|n| n.to_str());
        if which == Which::Best && name == Some(Which::Last.name()) {
            return Err(checkpoint_error(
                dir,
                "this is the `last` checkpoint, but the best one was asked for: name the run directory instead",
            ));
        }
        return Ok(dir.to_path_buf());
    }
    let current = dir.join(which.name());
    if current.is_dir() {
        return Ok(current);
    }
    let previous = dir.join(format!(".{}.old", which.name()));
    if previous.is_dir() {
        return Ok(previous);
    }
    if !dir.exists() {
        return Err(checkpoint_error(dir, "no such directory"));
    }
    Err(checkpoint_error(
        dir,
        format!("no `{}` checkpoint in this directory", which.name()),
    ))
}

/// The file only one kind of checkpoint holds, and whose checkpoint that is.
const OWNERS: [(&str, &str); 4] = [
    (
        "vocabulary.json",
        "a language model's checkpoint (char-rnn's)",
    ),
    (
        "encoding.json",
        "a sequence model's checkpoint (classify's)",
    ),
    (
        "standardization.json",
        "a forecaster's checkpoint (forecast's)",
    ),
    (
        "vocabularies.json",
        "a sequence-to-sequence model's checkpoint (seq2seq's)",
    ),
];

/// Why a checkpoint holding the files `has_file` says yes to is not `what` (`a forecaster's
/// checkpoint`), whose every checkpoint holds `own_file`: whose it is when another kind's file
/// says so. `None` when it holds `own_file`. Checked before anything is parsed, so that every
/// program names another program's checkpoint as such.
pub(crate) fn not_this_kind(
    has_file: &dyn Fn(&str) -> bool,
    own_file: &str,
    what: &str,
) -> Option<String> {
    if has_file(own_file) {
        return None;
    }
    Some(match OWNERS.iter().find(|(file, _)| has_file(file)) {
        Some((_, owner)) => format!("this is {owner}, not {what}"),
        None => format!("this is not {what} (it has no {own_file})"),
    })
}

/// A checkpoint's files, each verified against its SHA-256: what every task's checkpoint reads.
pub(crate) struct CheckpointFiles {
    /// The checkpoint's directory.
    pub path: PathBuf,
    /// Each file's bytes by name.
    pub files: BTreeMap<String, Vec<u8>>,
}

impl CheckpointFiles {
    /// Reads checkpoint `which` of the run in `dir` (or the checkpoint directory `dir`).
    ///
    /// A training run may replace the checkpoint while it is read (the old one renamed away,
    /// then the new one in): what was read then misses a file or mixes the two, and would be
    /// taken for damage. So when the manifest has changed since it was read, the checkpoint is
    /// read again, a few times at most; a checkpoint that fails while it stays put is damaged.
    pub fn open(dir: &Path, which: Which) -> Result<Self> {
        const ATTEMPTS: usize = 5;
        let manifest = |path: &Path| std::fs::read(path.join(CHECKSUMS)).ok();
        let mut attempt = 1;
        loop {
            let path = locate(dir, which)?;
            let before = manifest(&path);
            let error = match verified_files(&path) {
                Ok(files) => return Ok(CheckpointFiles { path, files }),
                Err(error) => error,
            };
            let now = locate(dir, which).ok();
            let replaced =
                now.as_ref() != Some(&path) || now.as_deref().and_then(manifest) != before;
            if !replaced || attempt == ATTEMPTS {
                return Err(error);
            }
            attempt += 1;
        }
    }

    /// A file that must be there.
    pub fn get(&self, name: &str) -> Result<&[u8]> {
        self.files.get(name).map(Vec::as_slice).ok_or_else(|| {
            checkpoint_error(
                &self.path.join(name),
                "missing file: the checkpoint is incomplete",
            )
        })
    }

    /// A JSON file that must be there.
    pub fn json<T: for<'de> Deserialize<'de>>(&self, name: &str) -> Result<T> {
        parse(&self.path.join(name), self.get(name)?)
    }

    /// The logged iterations.
    pub fn metrics<V: serde::de::DeserializeOwned>(&self) -> Result<Vec<IterationMetrics<V>>> {
        let path = self.path.join(METRICS);
        let text =
            std::str::from_utf8(self.get(METRICS)?).map_err(|e| checkpoint_error(&path, e))?;
        from_jsonl(text).map_err(|e| checkpoint_error(&path, format!("corrupted: {e}")))
    }
}

/// How parameters were named before every cell became a [`unroll_model::Layer`] of one list:
/// gated layers under `gated.layers`, tanh layers straight under `layers`.
const LAYOUT_BEFORE_CELL_TRAIT: [(&str, &str); 2] = [
    (r"^(.*\.)?gated\.layers\.(\d+)\.", "${1}layers.$2."),
    (
        r"^((?:.*\.)?layers\.\d+)\.(input_weight|recurrent_weight|bias)$",
        "$1.Tanh.$2",
    ),
];

/// What differs between the weights in a file and the model of its settings, in one line: the
/// first tensor that does not fit, and how many more; `None` when nothing does.
fn mismatch(result: &burn_store::ApplyResult) -> Option<String> {
    let dims = |shape: &burn::tensor::Shape| {
        (shape.iter().map(ToString::to_string))
            .collect::<Vec<_>>()
            .join("×")
    };
    let mut problems = result.errors.iter().map(|error| match error {
        burn_store::ApplyError::ShapeMismatch {
            path,
            expected,
            found,
        } => format!(
            "`{path}` is {} in the file, {} for these settings",
            dims(found),
            dims(expected)
        ),
        other => other.to_string(),
    });
    let missing = result
        .missing
        .iter()
        .map(|(path, _)| format!("`{path}` is missing"));
    let mut all = problems.by_ref().chain(missing);
    let first = all.next()?;
    let more = all.count();
    Some(match more {
        0 => first,
        n => format!(
            "{first} ({n} more tensor{} differ)",
            if n == 1 { "" } else { "s" }
        ),
    })
}

/// Loads Burnpack `weights` (of the checkpoint at `path`) into `model`, refusing weights that do
/// not fit it or are not finite, and gives its parameters the saved `ids` (the optimiser's state
/// is keyed by them).
pub(crate) fn load_weights<B: Backend, M: Module<B>>(
    mut model: M,
    weights: &[u8],
    path: &Path,
    ids: &[u64],
) -> Result<M> {
    let store =
        || BurnpackStore::from_bytes(Some(burn::tensor::Bytes::from_bytes_vec(weights.to_vec())));
    if let Err(error) = model.load_from(&mut store()) {
        // Checkpoints written before the stack held one list of layers name their parameters
        // the old way; they load under the new names, and nothing else does.
        let mut renamed = LAYOUT_BEFORE_CELL_TRAIT
            .iter()
            .fold(store(), |store, (from, to)| {
                store.with_remap_pattern(*from, *to)
            });
        if model.load_from(&mut renamed).is_err() {
            // Loaded again without the store's own check, to say what differs in words (its
            // message is a debug dump of every tensor).
            let lenient = &mut store().validate(false).allow_partial(true);
            let reason = match model.load_from(lenient) {
                Ok(result) => mismatch(&result).unwrap_or_else(|| error.to_string()),
                Err(other) => other.to_string(),
            };
            return Err(checkpoint_error(
                &path.join(MODEL),
                format!("weights do not load: {reason}"),
            ));
        }
    }
    if let Some(name) = first_non_finite(&model) {
        return Err(checkpoint_error(
            &path.join(MODEL),
            format!("the weights hold NaN or infinite values ({name}): the run had diverged"),
        ));
    }
    if ids.is_empty() {
        return Ok(model);
    }
    if ids.len() != parameter_ids(&model).len() {
        return Err(checkpoint_error(
            &path.join(PROGRESS),
            "its parameter list does not match the model",
        ));
    }
    Ok(model.map(&mut AssignIds { ids, next: 0 }))
}

/// The ids of a module's float parameters, in visiting order.
pub fn parameter_ids<B: Backend, M: Module<B>>(module: &M) -> Vec<u64> {
    struct Collect(Vec<u64>);
    impl<B: Backend> ModuleVisitor<B> for Collect {
        fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<B, D>>) {
            self.0.push(param.id.val());
        }
    }
    let mut collect = Collect(Vec::new());
    module.visit(&mut collect);
    collect.0
}

/// The path of the first float parameter holding a NaN or an infinity, if any.
pub fn first_non_finite<B: Backend, M: Module<B>>(module: &M) -> Option<String> {
    #[derive(Default)]
    struct Find {
        path: Vec<String>,
        found: Option<String>,
    }
    impl<B: Backend> ModuleVisitor<B> for Find {
        fn enter_module(&mut self, name: &str, _container_type: &str) {
            self.path.push(name.to_string());
        }
        fn exit_module(&mut self, _name: &str, _container_type: &str) {
            self.path.pop();
        }
        fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<B, D>>) {
            if self.found.is_none() && !param.val().into_data().iter::<f64>().all(f64::is_finite) {
                self.found = Some(self.path.join("."));
            }
        }
    }
    let mut find = Find::default();
    module.visit(&mut find);
    find.found
}

/// Gives a module's float parameters saved ids, in visiting order.
struct AssignIds<'a> {
    ids: &'a [u64],
    next: usize,
}

impl<B: Backend> ModuleMapper<B> for AssignIds<'_> {
    fn map_float<const D: usize>(&mut self, param: Param<Tensor<B, D>>) -> Param<Tensor<B, D>> {
        let (_, tensor, mapper) = param.consume();
        let id = ParamId::from(self.ids[self.next]);
        self.next += 1;
        Param::from_mapped_value(id, tensor, mapper)
    }
}

/// Serialises a model's weights in the Burnpack format.
pub fn model_bytes<B: Backend, M: Module<B>>(model: &M) -> Result<Vec<u8>> {
    let mut store = BurnpackStore::from_bytes(None);
    model
        .save_into(&mut store)
        .map_err(|e| checkpoint_error(Path::new(MODEL), e))?;
    let bytes = store
        .get_bytes()
        .map_err(|e| checkpoint_error(Path::new(MODEL), e))?;
    Ok(bytes.to_vec())
}

/// Writes a task's checkpoint `which` into the run directory `out`: the snapshot's model,
/// optimiser state, progress and metrics, and the task's own `files` (its settings, its
/// encoding…), atomically ([`save_files`]).
pub fn save_snapshot<B: Backend, M: Module<B>, V: Serialize>(
    out: &Path,
    which: Which,
    snapshot: &Snapshot<'_, M, V>,
    files: Vec<(&str, Vec<u8>)>,
) -> Result<PathBuf> {
    let mut all = vec![
        (MODEL, model_bytes(snapshot.model)?),
        (OPTIMIZER, snapshot.optimizer.clone()),
    ];
    all.extend(files);
    all.push((PROGRESS, pretty(snapshot.progress)));
    all.push((METRICS, to_jsonl(snapshot.metrics).into_bytes()));
    save_files(out, which, all)
}

/// Writes checkpoint `which` into the run directory `run` from named files, adding
/// `checksums.json`: all files into a temporary directory, flushed, then renamed, so the previous
/// checkpoint stays whole until the new one is. Any task's checkpoint is written this way.
pub fn save_files(run: &Path, which: Which, mut files: Vec<(&str, Vec<u8>)>) -> Result<PathBuf> {
    let name = which.name();
    let target = run.join(name);
    let temporary = run.join(format!(".{name}.tmp"));
    let previous = run.join(format!(".{name}.old"));
    std::fs::create_dir_all(run).map_err(|e| io_error(run, e))?;
    if temporary.exists() {
        std::fs::remove_dir_all(&temporary).map_err(|e| io_error(&temporary, e))?;
    }
    std::fs::create_dir(&temporary).map_err(|e| io_error(&temporary, e))?;
    let checksums: BTreeMap<&str, String> = files
        .iter()
        .map(|(file, bytes)| (*file, sha256_hex(bytes)))
        .collect();
    files.push((CHECKSUMS, pretty(&checksums)));
    for (file, bytes) in files {
        write_new_file(&temporary.join(file), &bytes)?;
    }
    // Every file and the directory itself reach the disk before the rename makes them current.
    sync_directory(&temporary)?;
    if previous.exists() {
        std::fs::remove_dir_all(&previous).map_err(|e| io_error(&previous, e))?;
    }
    if target.exists() {
        std::fs::rename(&target, &previous).map_err(|e| io_error(&target, e))?;
    }
    std::fs::rename(&temporary, &target).map_err(|e| io_error(&temporary, e))?;
    sync_directory(run)?;
    if previous.exists() {
        std::fs::remove_dir_all(&previous).map_err(|e| io_error(&previous, e))?;
    }
    Ok(target)
}

pub(crate) fn pretty<T: Serialize>(value: &T) -> Vec<u8> {
    serde_json::to_vec_pretty(value).expect("settings serialise")
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A reader never sees a checkpoint half replaced: `sample` or `eval` may read `last` while
    /// the training run writes the next one over it.
    #[test]
    fn a_checkpoint_replaced_while_it_is_read_is_read_whole() {
        let run = crate::durable::scratch("replaced");
        let files = |generation: u8| -> Vec<(&'static str, Vec<u8>)> {
            ["a", "b", "c", "d", "e", "f", "g", "h"]
                .into_iter()
                .map(|name| (name, vec![generation; 64 << 10]))
                .collect()
        };
        save_files(&run, Which::Last, files(0)).unwrap();
        let writing = std::sync::atomic::AtomicBool::new(true);
        std::thread::scope(|scope| {
            scope.spawn(|| {
                for generation in 1..=60 {
                    save_files(&run, Which::Last, files(generation)).unwrap();
                }
                writing.store(false, std::sync::atomic::Ordering::SeqCst);
            });
            let mut reads = 0;
            while writing.load(std::sync::atomic::Ordering::SeqCst) || reads == 0 {
                let read = CheckpointFiles::open(&run, Which::Last).unwrap_or_else(|error| {
                    panic!("read {reads} while the checkpoint was replaced: {error}")
                });
                // One generation throughout: no file of the checkpoint before or after.
                let first = read.files["a"][0];
                assert!(read.files.values().all(|bytes| bytes[0] == first));
                reads += 1;
            }
        });
        std::fs::remove_dir_all(&run).unwrap();
    }

    /// The stack as it was laid out before every cell became a layer of one list.
    mod before_cell_trait {
        use burn::module::Module;
        use burn::nn::{Dropout, Linear};
        use burn::tensor::backend::Backend;
        use unroll_model::{Layer, TanhRecurrence};

        #[derive(Module, Debug)]
        pub struct Gated<B: Backend> {
            pub layers: Vec<Layer<B>>,
            pub dropout: Dropout,
        }

        #[derive(Module, Debug)]
        pub struct Stack<B: Backend> {
            pub layers: Vec<TanhRecurrence<B>>,
            pub gated: Option<Gated<B>>,
            pub dropout: Dropout,
        }

        #[derive(Module, Debug)]
        pub struct HiddenRecurrent<B: Backend> {
            pub hidden: Stack<B>,
            pub output: Linear<B>,
        }
    }

    /// A checkpoint written before the cell trait loads, every cell, into today's stack with
    /// the same values; a checkpoint of another shape still does not.
    #[test]
    fn checkpoints_of_the_layout_before_the_cell_trait_load() {
        use burn::backend::Flex;
        use unroll_model::{
            HiddenRecurrent, HiddenRecurrentConfig, HiddenStackConfig, InputEncoding, Layer,
            RecurrentCell, SequenceInput,
        };
        // Not NdArray: its device keeps the float type first used on it, and a test here runs
        // NdArray<f64>.
        type B = Flex;
        let device = Default::default();
        let tokens = InputEncoding::Tokens { vocab_size: 5 };
        let config = |cell| {
            let stack = HiddenStackConfig::new(tokens, 4)
                .with_cell(cell)
                .with_num_layers(2);
            HiddenRecurrentConfig::new(stack, 5)
        };
        let logits = |model: &HiddenRecurrent<B>| {
            let ids = Tensor::<B, 2, burn::tensor::Int>::from_data([[0, 3, 1, 4]], &device);
            let out = model.forward(SequenceInput::Tokens(ids), None).unwrap();
            out.logits.into_data().iter::<f32>().collect::<Vec<_>>()
        };
        for &cell in RecurrentCell::ALL {
            let model = config(cell).init::<B>(&device);
            // Read first: parameters draw their values when first read, each clone its own.
            let expected = logits(&model);
            let HiddenRecurrent { hidden, output } = model.clone();
            let (tanh, gated): (Vec<_>, Vec<_>) = hidden
                .layers
                .into_iter()
                .partition(|l| l.kind() == RecurrentCell::Tanh);
            let tanh = tanh
                .into_iter()
                .map(|layer| match layer {
                    Layer::Tanh(layer) => layer,
                    _ => unreachable!("partitioned"),
                })
                .collect();
            let old = before_cell_trait::HiddenRecurrent {
                hidden: before_cell_trait::Stack {
                    layers: tanh,
                    gated: (!gated.is_empty()).then(|| before_cell_trait::Gated {
                        layers: gated,
                        dropout: hidden.dropout.clone(),
                    }),
                    dropout: hidden.dropout,
                },
                output,
            };
            let bytes = model_bytes(&old).unwrap();
            let fresh = config(cell).init::<B>(&device);
            assert_ne!(logits(&fresh), expected, "{cell:?}: a fresh draw differs");
            let loaded = load_weights(fresh, &bytes, Path::new("old"), &[]).unwrap();
            assert_eq!(logits(&loaded), expected, "{cell:?}");
            let another = RecurrentCell::ALL.iter().find(|&&c| c != cell).unwrap();
            let other = config(*another).init::<B>(&device);
            let error = load_weights(other, &bytes, Path::new("old"), &[]).unwrap_err();
            assert!(
                error.to_string().contains("do not load"),
                "{cell:?}: {error}"
            );
        }
    }
}
