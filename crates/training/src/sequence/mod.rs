//! Pattern 3 trained on a user's data: sequence classification and regression.
//!
//! - [`data`]: `label<TAB>text` lines, a directory with one file per class, or numeric CSV rows
//!   `target,v1,v2,…`, each sample remembering its file and line;
//! - [`encoding`]: the vocabulary, the label set or the targets' standardisation, fitted on the
//!   training part and saved with the model; a stratified, seeded split;
//! - [`network`]: pattern 3 reading each sequence forward, or both ways;
//! - [`batches`]: length-bucketed batches, so padding stays small (a padded batch runs on the
//!   fused path, each row stopping at its own length);
//! - [`task`]: the [`Task`](crate::Task) the shared loop trains, with exact resume, atomic
//!   checkpoints, the divergence guard, metrics and the loss plot;
//! - [`scores`]: accuracy, macro-F1, per-class scores and the confusion matrix, or MSE, MAE
//!   and R², each beside its trivial baseline.

pub mod batches;
pub mod config;
pub mod data;
pub mod encoding;
pub mod network;
pub mod plot;
pub mod scores;
pub mod task;

pub use config::{ClassWeights, SequenceConfig};
pub use data::{
    Example, TargetKind, labelled_lines, numeric_csv, per_step_labels, read_class_directory,
    read_labelled_lines, read_numeric_csv,
};
pub use encoding::{Encoding, Samples, stratified_split};
pub use network::SequenceNetwork;
pub use plot::plot_confusion;
pub use scores::{ClassificationScores, LabellingScores, RegressionScores, SequenceScores};
pub use task::{SequenceCheckpoint, SequenceFiles, SequenceTask, predict, score};
