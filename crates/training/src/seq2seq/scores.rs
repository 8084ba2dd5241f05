//! What a sequence-to-sequence validation measures: fed the true previous symbols (teacher
//! forced), the loss and the share of symbols predicted; decoding its own outputs (open loop),
//! the share of targets written exactly and the character error rate. The gap between the two
//! is the exposure bias.

use serde::{Deserialize, Serialize};

use crate::validation::Validation;

/// A validation's scores.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Seq2SeqScores {
    /// Teacher forced: the cross-entropy per target symbol (`end` included), in nats.
    pub nats_per_symbol: f64,
    /// Teacher forced: the share of target symbols (`end` included) that are the most probable.
    pub symbol_accuracy: f64,
    /// Open loop (greedy): the share of targets written exactly, when any was decoded.
    pub exact_match: Option<f64>,
    /// Open loop: the edit distance between written and true targets over the true targets'
    /// total length, when any was decoded.
    pub character_error_rate: Option<f64>,
    /// Pairs scored teacher forced.
    pub pairs: usize,
    /// Pairs decoded open loop.
    pub decoded: usize,
}

impl Validation for Seq2SeqScores {
    const ITEMS: &'static str = "symbols";

    fn loss(&self) -> f64 {
        self.nats_per_symbol
    }

    fn summary(&self) -> String {
        let teacher_forced = format!(
            "{:.4} nats/symbol, symbols right {:.1} %",
            self.nats_per_symbol,
            100.0 * self.symbol_accuracy
        );
        match (self.exact_match, self.character_error_rate) {
            (Some(exact), Some(cer)) => format!(
                "{teacher_forced}; open loop: exact {:.1} %, CER {cer:.3}",
                100.0 * exact
            ),
            _ => teacher_forced,
        }
    }
}

/// Open-loop scores of written targets against true ones.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct OpenLoopCounts {
    /// Targets written exactly.
    pub exact: usize,
    /// Targets compared.
    pub pairs: usize,
    /// The summed edit distances.
    pub edits: usize,
    /// The true targets' summed lengths.
    pub symbols: usize,
}

impl OpenLoopCounts {
    /// Adds one written target against its truth (ids, without `end`).
    pub fn add(&mut self, written: &[u32], truth: &[u32]) {
        self.exact += usize::from(written == truth);
        self.pairs += 1;
        self.edits += edit_distance(written, truth);
        self.symbols += truth.len();
    }

    /// The share written exactly, and the character error rate; `None` when nothing was
    /// compared.
    pub fn rates(&self) -> (Option<f64>, Option<f64>) {
        if self.pairs == 0 {
            return (None, None);
        }
        (
            Some(self.exact as f64 / self.pairs as f64),
            Some(self.edits as f64 / self.symbols.max(1) as f64),
        )
    }
}

/// Levenshtein's distance: the fewest insertions, deletions and substitutions that turn `a`
/// into `b`.
pub fn edit_distance(a: &[u32], b: &[u32]) -> usize {
    let mut previous: Vec<usize> = (0..=b.len()).collect();
    for (i, x) in a.iter().enumerate() {
        let mut current = vec![i + 1; b.len() + 1];
        for (j, y) in b.iter().enumerate() {
            let substitution = previous[j] + usize::from(x != y);
            current[j + 1] = substitution.min(previous[j + 1] + 1).min(current[j] + 1);
        }
        previous = current;
    }
    previous[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn edit_distances_by_hand() {
        assert_eq!(edit_distance(&[], &[]), 0);
        assert_eq!(edit_distance(&[1, 2, 3], &[]), 3);
        assert_eq!(edit_distance(&[], &[4, 5]), 2);
        // kitten → sitting: two substitutions and an insertion.
        let word = |w: &str| w.bytes().map(u32::from).collect::<Vec<_>>();
        assert_eq!(edit_distance(&word("kitten"), &word("sitting")), 3);
        assert_eq!(edit_distance(&word("flaw"), &word("lawn")), 2);
        let mut counts = OpenLoopCounts::default();
        counts.add(&word("abc"), &word("abc"));
        counts.add(&word("ab"), &word("abcd"));
        assert_eq!(counts.rates(), (Some(0.5), Some(2.0 / 7.0)));
        assert_eq!(OpenLoopCounts::default().rates(), (None, None));
    }
}
