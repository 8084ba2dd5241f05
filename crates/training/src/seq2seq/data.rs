//! Pairs of sequences: a user's `source<TAB>target` lines, or a built-in task generated here
//! (nothing is downloaded).

use std::path::Path;

use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

use crate::corpus::{SymbolMode, numbered_lines};
use crate::error::{Result, data_error, invalid};
use crate::memory::{check_buffer, product};
use crate::seeds::iteration_seed;
use crate::settings::check_validation_fraction;

/// A source and the target it should become.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pair {
    /// The sequence read.
    pub source: String,
    /// The sequence written.
    pub target: String,
    /// The line it came from (1-based), for a file's pairs.
    pub line: Option<usize>,
}

/// Reads `source<TAB>target` lines from a file's `bytes` (UTF-8, a byte-order mark skipped,
/// blank lines skipped): a line without a tab, or with an empty source or target, is an error
/// naming the file and the line.
pub fn read_pairs(path: &Path, bytes: &[u8]) -> Result<Vec<Pair>> {
    let mut pairs = Vec::new();
    for (line, content) in numbered_lines(path, bytes, SymbolMode::Text)? {
        let Some((source, target)) = content.split_once('\t') else {
            return Err(data_error(
                path,
                Some(line),
                "no tab: each line must be `source<TAB>target`",
            ));
        };
        for (what, text) in [("source", source), ("target", target)] {
            if text.is_empty() {
                return Err(data_error(path, Some(line), format!("the {what} is empty")));
            }
        }
        pairs.push(Pair {
            source: source.to_owned(),
            target: target.to_owned(),
            line: Some(line),
        });
    }
    if pairs.is_empty() {
        return Err(data_error(path, None, "no `source<TAB>target` line"));
    }
    Ok(pairs)
}

/// The pairs split at random (drawn from `seed`): a `fraction` of them, at least one, held out
/// for validation, the rest, at least one, for training; `(training, validation)`.
pub fn split_pairs(pairs: Vec<Pair>, fraction: f64, seed: u64) -> Result<(Vec<Pair>, Vec<Pair>)> {
    check_validation_fraction(fraction)?;
    if pairs.len() < 2 {
        return Err(invalid(
            "data",
            format!(
                "{} pair(s): one to train and one to validate are needed",
                pairs.len()
            ),
        ));
    }
    let mut order: Vec<usize> = (0..pairs.len()).collect();
    order.shuffle(&mut ChaCha8Rng::seed_from_u64(iteration_seed(seed, 0, 13)));
    let held = ((fraction * pairs.len() as f64).round() as usize).clamp(1, pairs.len() - 1);
    let mut validation_rows = vec![false; pairs.len()];
    for &i in &order[..held] {
        validation_rows[i] = true;
    }
    let (mut train, mut validation) = (Vec::new(), Vec::new());
    for (i, pair) in pairs.into_iter().enumerate() {
        match validation_rows[i] {
            true => validation.push(pair),
            false => train.push(pair),
        }
    }
    Ok((train, validation))
}

/// A task generated here, its pairs drawn from a seed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "clap", derive(clap::ValueEnum))]
pub enum BuiltinTask {
    /// A random string of letters, reversed.
    Reverse,
    /// A random string of letters, its letters sorted.
    Sort,
    /// `a+b` written out in digits, and its sum.
    Addition,
    /// The autoencoder: a random string copied through the summary.
    Copy,
}

/// The letters the string tasks draw from.
const LETTERS: &[u8] = b"abcdefghijkl";

/// A built-in task's data: how many pairs, and how long a source may be.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct BuiltinPairs {
    /// The task.
    pub task: BuiltinTask,
    /// Pairs generated (training and validation together).
    pub count: usize,
    /// The longest source string (for addition: the most digits of each number).
    pub max_length: usize,
}

impl BuiltinPairs {
    /// Checks the sizes, naming the first out of range.
    pub fn validate(&self) -> Result<()> {
        if self.count < 2 {
            return Err(invalid(
                "count",
                "at least 2 pairs: one to train, one to validate",
            ));
        }
        if self.max_length == 0 || self.max_length > 1000 {
            return Err(invalid("max_length", "between 1 and 1000"));
        }
        Ok(())
    }

    /// Refuses pairs that would not fit in `available` bytes (when known) or are absurd: each
    /// pair's two strings, their ids and their padded copies in a batch, about 64 bytes per
    /// character.
    pub fn check_memory(&self, available: Option<u64>) -> Result<()> {
        let characters = self.max_length.saturating_mul(2).saturating_add(2);
        check_buffer(
            "count",
            &format!("{} pairs of up to {characters} characters", self.count),
            product(&[self.count, characters, 64]),
            available,
        )
    }

    /// The pairs, drawn from `seed`.
    pub fn pairs(&self, seed: u64) -> Result<Vec<Pair>> {
        self.validate()?;
        let mut random = ChaCha8Rng::seed_from_u64(seed ^ 0x5EC2_5EC2);
        let max = self.max_length;
        let pairs = (0..self.count)
            .map(|_| {
                let (source, target) = match self.task {
                    BuiltinTask::Addition => {
                        let digits = |random: &mut ChaCha8Rng| {
                            let n = random.random_range(1..=max.min(18) as u32);
                            random.random_range(0..10u64.pow(n))
                        };
                        let (a, b) = (digits(&mut random), digits(&mut random));
                        (
                            format!("{a}+{b}"),
                            (u128::from(a) + u128::from(b)).to_string(),
                        )
                    }
                    task => {
                        let length = random.random_range(1..=max);
                        let letters: Vec<u8> = (0..length)
                            .map(|_| LETTERS[random.random_range(0..LETTERS.len())])
                            .collect();
                        let mut target = letters.clone();
                        match task {
                            BuiltinTask::Reverse => target.reverse(),
                            BuiltinTask::Sort => target.sort_unstable(),
                            _ => {}
                        }
                        let text = |bytes: Vec<u8>| String::from_utf8(bytes).expect("ASCII");
                        (text(letters), text(target))
                    }
                };
                Pair {
                    source,
                    target,
                    line: None,
                }
            })
            .collect();
        Ok(pairs)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_file_of_pairs_and_its_mistakes() {
        let path = Path::new("pairs.tsv");
        let pairs = read_pairs(path, "\u{FEFF}abc\tcba\r\n\nxy\tyx\n".as_bytes()).unwrap();
        assert_eq!(pairs.len(), 2);
        assert_eq!(
            (pairs[1].source.as_str(), pairs[1].target.as_str()),
            ("xy", "yx")
        );
        assert_eq!(pairs[1].line, Some(3));
        for (bytes, said) in [
            (&b"abc\tcba\nno tab here\n"[..], "pairs.tsv:2: no tab"),
            (b"\tcba\n", "pairs.tsv:1: the source is empty"),
            (b"abc\t\n", "pairs.tsv:1: the target is empty"),
            (b"\n\n", "no `source<TAB>target` line"),
            (b"ab\xffc\tx\n", "pairs.tsv:1: not valid UTF-8"),
        ] {
            let error = read_pairs(path, bytes).unwrap_err().to_string();
            assert!(error.contains(said), "{error}");
        }
    }

    #[test]
    fn built_in_tasks_say_what_they_are() {
        let pairs = |task, seed| {
            BuiltinPairs {
                task,
                count: 50,
                max_length: 6,
            }
            .pairs(seed)
            .unwrap()
        };
        for pair in pairs(BuiltinTask::Reverse, 1) {
            let reversed: String = pair.source.chars().rev().collect();
            assert_eq!(pair.target, reversed);
            assert!((1..=6).contains(&pair.source.len()));
        }
        for pair in pairs(BuiltinTask::Sort, 1) {
            let mut sorted: Vec<char> = pair.source.chars().collect();
            sorted.sort_unstable();
            assert_eq!(pair.target, sorted.into_iter().collect::<String>());
        }
        for pair in pairs(BuiltinTask::Copy, 1) {
            assert_eq!(pair.source, pair.target);
        }
        for pair in pairs(BuiltinTask::Addition, 1) {
            let (a, b) = pair.source.split_once('+').unwrap();
            let sum = a.parse::<u128>().unwrap() + b.parse::<u128>().unwrap();
            assert_eq!(pair.target, sum.to_string());
        }
        assert_eq!(pairs(BuiltinTask::Copy, 7), pairs(BuiltinTask::Copy, 7));
        assert_ne!(pairs(BuiltinTask::Copy, 7), pairs(BuiltinTask::Copy, 8));
        let none = BuiltinPairs {
            task: BuiltinTask::Copy,
            count: 1,
            max_length: 3,
        };
        assert!(none.pairs(0).unwrap_err().to_string().contains("count"));
    }
}
