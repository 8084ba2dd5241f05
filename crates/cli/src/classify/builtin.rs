//! The built-in tasks: is a string of brackets balanced (Dyck-1 membership)? And, labelling
//! every step, which brackets have a partner?
//!
//! What pattern 3 is for: the answer depends on the whole sequence, read to its end, and comes
//! out once. A counter decides it exactly (the nesting depth never goes below 0 and ends at 0),
//! so the best possible accuracy is 100 %; chance is 50 % (half the strings are balanced, and
//! every string has an even length, so neither parity nor length gives the answer away). The
//! unbalanced half are near misses of balanced strings: one bracket flipped (the counts differ
//! by two), or two swapped (the counts agree, but the depth dips below zero on the way). A tanh
//! recurrence has to hold an unbounded count in a bounded state: it learns short strings and
//! loses accuracy as they grow, most of all past the lengths it was trained on.

use std::path::Path;
use std::sync::Arc;

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use unroll::training::sequence::data::{Example, Origin, RawSequence, RawTarget};

/// Lengths trained and validated on.
pub const TRAINING_LENGTHS: (usize, usize) = (2, 40);
/// Bands of length the trained model is tested on with fresh strings: those trained on, then
/// ever longer ones.
pub const TEST_BANDS: [(usize, usize); 5] = [(2, 20), (22, 40), (42, 80), (82, 160), (162, 320)];

const BALANCED: &str = "balanced";
const UNBALANCED: &str = "unbalanced";

/// Whether the brackets are balanced.
fn balanced(text: &[u8]) -> bool {
    let mut depth = 0i64;
    for &c in text {
        depth += if c == b'(' { 1 } else { -1 };
        if depth < 0 {
            return false;
        }
    }
    depth == 0
}

/// A balanced string of `length` (even) brackets: a random walk that never dips below zero and
/// ends at zero.
fn balanced_string(length: usize, random: &mut ChaCha8Rng) -> Vec<u8> {
    let mut text = Vec::with_capacity(length);
    let mut depth = 0;
    for position in 0..length {
        let left = length - position;
        let open = depth == 0 || (depth < left && random.random_bool(0.5));
        depth = if open { depth + 1 } else { depth - 1 };
        text.push(if open { b'(' } else { b')' });
    }
    text
}

/// A near miss of a balanced string of `length` brackets.
fn unbalanced_string(length: usize, random: &mut ChaCha8Rng) -> Vec<u8> {
    loop {
        let mut text = balanced_string(length, random);
        if random.random_bool(0.5) {
            let at = random.random_range(0..length);
            text[at] = if text[at] == b'(' { b')' } else { b'(' };
        } else {
            let (a, b) = (
                random.random_range(0..length),
                random.random_range(0..length),
            );
            text.swap(a, b);
        }
        if !balanced(&text) {
            return text;
        }
    }
}

/// `count` strings with even lengths uniform in `lengths`, half of them balanced.
pub fn examples(count: usize, (shortest, longest): (usize, usize), seed: u64) -> Vec<Example> {
    let mut random = ChaCha8Rng::seed_from_u64(seed);
    let path: Arc<Path> = Arc::from(Path::new("built-in brackets"));
    (0..count)
        .map(|line| {
            let length = 2 * random.random_range(shortest / 2..=longest / 2);
            let positive = line % 2 == 0;
            let text = if positive {
                balanced_string(length, &mut random)
            } else {
                unbalanced_string(length, &mut random)
            };
            debug_assert_eq!(balanced(&text), positive);
            Example {
                sequence: RawSequence::Text(String::from_utf8(text).expect("ASCII")),
                target: RawTarget::Label(if positive { BALANCED } else { UNBALANCED }.into()),
                origin: Origin {
                    path: path.clone(),
                    line: line + 1,
                },
            }
        })
        .collect()
}

/// Per-step labelling's built-in task: which brackets of a random string have a partner?
///
/// Every bracket is labelled `y` when it has one (the usual matching: a `)` closes the nearest
/// open `(` before it) and `n` when not. Reading forward decides every `)` (is a `(` open before
/// it?), but not a `(`: whether a later `)` closes it is in the text after it, which only a
/// reading backward sees; a counter run backward decides it, so reading both ways can label every
/// bracket right.
pub fn partner_examples(
    count: usize,
    (shortest, longest): (usize, usize),
    seed: u64,
) -> Vec<Example> {
    let mut random = ChaCha8Rng::seed_from_u64(seed);
    let path: Arc<Path> = Arc::from(Path::new("built-in brackets"));
    (0..count)
        .map(|line| {
            let length = random.random_range(shortest..=longest);
            let text: Vec<u8> = (0..length)
                .map(|_| if random.random_bool(0.5) { b'(' } else { b')' })
                .collect();
            Example {
                target: RawTarget::Steps(partners(&text)),
                sequence: RawSequence::Text(String::from_utf8(text).expect("ASCII")),
                origin: Origin {
                    path: path.clone(),
                    line: line + 1,
                },
            }
        })
        .collect()
}

/// `y` for each bracket of `text` with a partner, `n` for the others.
fn partners(text: &[u8]) -> Vec<String> {
    let mut partnered = vec![false; text.len()];
    let mut open = Vec::new();
    for (at, &c) in text.iter().enumerate() {
        if c == b'(' {
            open.push(at);
        } else if let Some(opened) = open.pop() {
            partnered[opened] = true;
            partnered[at] = true;
        }
    }
    partnered
        .into_iter()
        .map(|p| if p { "y" } else { "n" }.to_string())
        .collect()
}

/// What the task's baselines are, for the report.
pub const CHANCE: f64 = 0.5;
/// A counter is exact.
pub const BEST: f64 = 1.0;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn partners_by_hand() {
        let labels = |text: &str| partners(text.as_bytes()).concat();
        assert_eq!(labels("(()"), "nyy");
        assert_eq!(labels(")()("), "nyyn");
        assert_eq!(labels("(())"), "yyyy");
        assert_eq!(labels("))(("), "nnnn");
    }
}
