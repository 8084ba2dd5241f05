//! Sequence to sequence as a task: an encoder reads a source, its final state starts a decoder
//! that writes the target, trained with teacher forcing, scheduled sampling or the curriculum on
//! the decoder, and scored teacher forced and open loop, where the gap between the two is the
//! exposure bias.
//!
//! - [`data`]: a user's `source<TAB>target` lines, or a built-in task (reverse, sort, addition,
//!   copy);
//! - [`encoding`]: the source's and the target's vocabularies, `start` and `end`;
//! - [`config`]: its settings and their memory;
//! - [`task`]: the task on the shared loop, its scoring and its checkpoint;
//! - [`decode`]: greedy decoding, beam search and sampling;
//! - [`scores`]: what a validation measures, and the edit distance.

pub mod config;
pub mod data;
pub mod decode;
pub mod encoding;
pub mod scores;
pub mod task;

pub use config::Seq2SeqConfig;
pub use data::{BuiltinPairs, BuiltinTask, Pair, read_pairs, split_pairs};
pub use decode::{Hypothesis, beam_search, greedy, sample};
pub use encoding::{EncodedPairs, PairEncoding};
pub use scores::{LengthScores, PairOutcomes, Seq2SeqScores, edit_distance};
pub use task::{Seq2SeqCheckpoint, Seq2SeqFiles, Seq2SeqTask, score, score_and_write};
