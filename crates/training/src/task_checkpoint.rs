//! The checkpoint of a task trained by the shared loop (a classifier, a forecaster): the loop's
//! files, the run's settings and how the data became numbers, one type for every task.
//!
//! ```text
//! RUN/last/  model.bpk  optimizer.bin  config.json  <the kind's encoding file>  progress.json
//!            metrics.jsonl  checksums.json
//! ```
//! Written and verified as every checkpoint is ([`crate::checkpoint`]).

use std::fmt::Debug;
use std::path::{Path, PathBuf};

use burn::module::Module;
use burn::tensor::backend::Backend;
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::checkpoint::{
    CONFIG, CheckpointFiles, MODEL, OPTIMIZER, PROGRESS, Progress, Which, load_weights, pretty,
    save_snapshot,
};
use crate::checkpoint::{Resumed, Snapshot, not_this_kind};
use crate::error::{Result, checkpoint_error};
use crate::metrics::IterationMetrics;
use crate::settings::FixedSetting;

/// What one kind of task keeps in its checkpoints besides the loop's files.
pub trait CheckpointKind {
    /// The run's settings, `config.json`.
    type Config: Serialize + DeserializeOwned + Clone + Debug;
    /// How the data became the network's numbers, in [`Self::ENCODING_FILE`].
    type Encoding: Serialize + DeserializeOwned + Clone + Debug;
    /// The validation scores each logged iteration carries.
    type Scores: Serialize + DeserializeOwned + Clone + Debug;
    /// The network.
    type Model<B: Backend>: Module<B>;

    /// The name of the encoding's file.
    const ENCODING_FILE: &'static str;

    /// What this kind's checkpoint is called in messages (`a forecaster's checkpoint`).
    const WHAT: &'static str;

    /// Checks the saved settings.
    fn validate(config: &Self::Config) -> Result<()>;

    /// Checks what the saved encoding means, beyond its bytes (which the checksums cover, and
    /// which anyone can rewrite with them): the reason it cannot be right, when it cannot.
    fn check_encoding(encoding: &Self::Encoding) -> std::result::Result<(), String>;

    /// Why data encoded as `encoding` cannot continue a run trained on data encoded as `saved`;
    /// `None` when it can.
    fn other_data(saved: &Self::Encoding, encoding: &Self::Encoding) -> Option<String>;

    /// The settings a run resumed from settings `saved` keeps (its network's shape, its
    /// optimiser…), each with its value there and in `config`.
    fn fixed(saved: &Self::Config, config: &Self::Config) -> Vec<FixedSetting>;

    /// The network the settings and the encoding describe, with fresh weights.
    fn init<B: Backend>(
        config: &Self::Config,
        encoding: &Self::Encoding,
        device: &B::Device,
    ) -> Result<Self::Model<B>>;
}

/// Declares a task's checkpoint: the kind `$kind` (an empty enum) with its settings, encoding
/// file, scores and network, a `TaskCheckpoint<$kind>` named `$checkpoint`, the settings a
/// resumed run keeps besides its network's shape (`fixed`, fields of the settings, spelt by a
/// method of theirs where given: `loss.name()`), and the kind's own rules (`other_data`,
/// `init`) as the body. The settings are checked by their `validate`, the encoding by its
/// `check`.
macro_rules! checkpoint_kind {
    (
        $(#[$doc:meta])*
        $checkpoint:ident = $kind:ident {
            config: $config:ty,
            encoding: $encoding:ty,
            file: $file:literal,
            scores: $scores:ty,
            model: $model:ident,
            what: $what:literal,
            fixed: [$($field:ident $(. $spelling:ident ())?),* $(,)?],
        }
        $($rules:item)*
    ) => {
        $(#[$doc])*
        pub type $checkpoint = $crate::task_checkpoint::TaskCheckpoint<$kind>;

        #[doc = concat!("What ", $what, " holds besides the loop's files.")]
        #[derive(Debug, Clone)]
        pub enum $kind {}

        impl $crate::task_checkpoint::CheckpointKind for $kind {
            type Config = $config;
            type Encoding = $encoding;
            type Scores = $scores;
            type Model<B: burn::tensor::backend::Backend> = $model<B>;

            const ENCODING_FILE: &'static str = $file;

            const WHAT: &'static str = $what;

            fn validate(config: &$config) -> $crate::error::Result<()> {
                config.validate()
            }

            fn check_encoding(encoding: &$encoding) -> std::result::Result<(), String> {
                encoding.check()
            }

            fn fixed(saved: &$config, config: &$config) -> Vec<$crate::settings::FixedSetting> {
                let mut fixed = saved.model.fixed(&config.model);
                $(fixed.push($crate::settings::FixedSetting::of(
                    stringify!($field),
                    &saved.$field $(.$spelling())?,
                    &config.$field $(.$spelling())?,
                ));)*
                fixed
            }

            $($rules)*
        }
    };
}
pub(crate) use checkpoint_kind;

/// The [`Task`](crate::trainer::Task) methods every task with a [`TaskCheckpoint`] of its own
/// writes alike, inside its `impl Task<B>`: a fresh network from its settings (`self.$config`)
/// and encoding (`self.$encoding`), the checkpoint it continues (`self.resume`, checked against
/// both), and its checkpoints written with both.
macro_rules! checkpointed_task {
    ($checkpoint:ty, $config:ident, $encoding:ident) => {
        fn init_model(&mut self, device: &B::Device) -> $crate::error::Result<Self::Model> {
            <$checkpoint>::fresh_model(&self.$config, &self.$encoding, device)
        }

        fn resume(
            &mut self,
            device: &B::Device,
        ) -> $crate::error::Result<
            Option<$crate::checkpoint::Resumed<Self::Model, Self::Validation>>,
        > {
            <$checkpoint>::take_resumed(&mut self.resume, &self.$config, &self.$encoding, device)
        }

        fn save(
            &self,
            out: &std::path::Path,
            which: $crate::checkpoint::Which,
            snapshot: &$crate::checkpoint::Snapshot<'_, Self::Model, Self::Validation>,
        ) -> $crate::error::Result<std::path::PathBuf> {
            <$checkpoint>::save(out, which, &self.$config, &self.$encoding, snapshot)
        }
    };
}
pub(crate) use checkpointed_task;

/// What the loop resumes from, read from a checkpoint of kind `K`, on backend `B`.
pub type ResumedFrom<K, B> =
    Resumed<<K as CheckpointKind>::Model<B>, <K as CheckpointKind>::Scores>;

/// A task's checkpoint, read and verified.
#[derive(Debug, Clone)]
pub struct TaskCheckpoint<K: CheckpointKind> {
    /// The checkpoint's directory.
    pub path: PathBuf,
    /// The run's settings.
    pub config: K::Config,
    /// How the data became numbers: new data is read exactly so.
    pub encoding: K::Encoding,
    /// Where training stood.
    pub progress: Progress,
    /// Every logged iteration so far.
    pub metrics: Vec<IterationMetrics<K::Scores>>,
    model: Vec<u8>,
    optimizer: Option<Vec<u8>>,
}

impl<K: CheckpointKind> TaskCheckpoint<K> {
    /// Reads checkpoint `which` of the run in `dir` (or the checkpoint directory `dir` itself),
    /// every file checked against its SHA-256.
    pub fn open(dir: &Path, which: Which) -> Result<Self> {
        let files = CheckpointFiles::open(dir, which)?;
        let has_file = |name: &str| files.files.contains_key(name);
        if let Some(reason) = not_this_kind(&has_file, K::ENCODING_FILE, K::WHAT) {
            return Err(checkpoint_error(&files.path, reason));
        }
        let config: K::Config = files.json(CONFIG)?;
        K::validate(&config).map_err(|e| checkpoint_error(&files.path.join(CONFIG), e))?;
        let encoding = files.json(K::ENCODING_FILE)?;
        K::check_encoding(&encoding)
            .map_err(|e| checkpoint_error(&files.path.join(K::ENCODING_FILE), e))?;
        Ok(TaskCheckpoint {
            config,
            encoding,
            progress: files.json(PROGRESS)?,
            metrics: files.metrics()?,
            model: files.get(MODEL)?.to_vec(),
            optimizer: files.files.get(OPTIMIZER).cloned(),
            path: files.path,
        })
    }

    /// The network `config` and `encoding` describe, with fresh weights.
    pub fn fresh_model<B: Backend>(
        config: &K::Config,
        encoding: &K::Encoding,
        device: &B::Device,
    ) -> Result<K::Model<B>> {
        K::init::<B>(config, encoding, device)
    }

    /// The network with its weights; an error if they do not fit the settings.
    pub fn model<B: Backend>(&self, device: &B::Device) -> Result<K::Model<B>> {
        let model = Self::fresh_model::<B>(&self.config, &self.encoding, device)?;
        load_weights(model, &self.model, &self.path, &self.progress.parameter_ids)
    }

    /// What the loop resumes from, once the run's `config` and `encoding` are seen to continue
    /// this checkpoint: an error naming the difference otherwise.
    pub fn into_resumed<B: Backend>(
        self,
        config: &K::Config,
        encoding: &K::Encoding,
        device: &B::Device,
    ) -> Result<ResumedFrom<K, B>> {
        if let Some(reason) = K::other_data(&self.encoding, encoding) {
            return Err(checkpoint_error(&self.path, reason));
        }
        if let Some(FixedSetting {
            setting,
            saved,
            asked,
        }) = self.first_change(config)
        {
            return Err(checkpoint_error(
                &self.path,
                format!(
                    "`{setting}` cannot change when resuming: the run has {saved}, these settings ask for {asked}"
                ),
            ));
        }
        Ok(Resumed {
            model: self.model(device)?,
            optimizer: self.optimizer,
            progress: self.progress,
            metrics: self.metrics,
        })
    }

    /// What the loop resumes from when a task holds a checkpoint to continue (`resume`, taken):
    /// [`Self::into_resumed`] of it; `None` when it holds none.
    pub fn take_resumed<B: Backend>(
        resume: &mut Option<Self>,
        config: &K::Config,
        encoding: &K::Encoding,
        device: &B::Device,
    ) -> Result<Option<ResumedFrom<K, B>>> {
        resume
            .take()
            .map(|saved| saved.into_resumed(config, encoding, device))
            .transpose()
    }

    /// The first setting of `config` that differs from the run's where a resumed run cannot
    /// change it; `None` when `config` can continue this checkpoint.
    pub fn first_change(&self, config: &K::Config) -> Option<FixedSetting> {
        K::fixed(&self.config, config)
            .into_iter()
            .find(|fixed| fixed.saved != fixed.asked)
    }

    /// The optimiser's saved state, if any.
    pub fn optimizer_bytes(&self) -> Option<&[u8]> {
        self.optimizer.as_deref()
    }

    /// Writes checkpoint `which` into the run directory `out`, atomically.
    pub fn save<B: Backend>(
        out: &Path,
        which: Which,
        config: &K::Config,
        encoding: &K::Encoding,
        snapshot: &Snapshot<'_, K::Model<B>, K::Scores>,
    ) -> Result<PathBuf> {
        save_snapshot(
            out,
            which,
            snapshot,
            vec![
                (CONFIG, pretty(config)),
                (K::ENCODING_FILE, pretty(encoding)),
            ],
        )
    }
}
