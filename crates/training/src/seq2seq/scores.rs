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

/// What scoring found of each pair, beyond the totals: for scores of one's own (by target
/// length).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PairOutcomes {
    /// Teacher forced, for every pair: how many of its target symbols (`end` included) were
    /// not the most probable.
    pub teacher_forced_errors: Vec<usize>,
    /// Open loop: what was written for each decoded pair (the first ones), ids without `end`.
    pub written: Vec<Vec<u32>>,
}

/// The scores of the pairs whose targets have one length.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LengthScores {
    /// The target length, in symbols (`end` not counted).
    pub target_length: usize,
    /// Pairs of this length decoded open loop.
    pub pairs: usize,
    /// Teacher forced: the share of those targets with every symbol (`end` included) the most
    /// probable. Greedy decoding writes exactly these targets, so it equals [`Self::exact_match`]
    /// (but for a target cut at the maximum length): exact match shows no exposure bias.
    pub teacher_forced_exact_match: f64,
    /// Teacher forced: the share of their symbols (`end` included) that were not the most
    /// probable; beside [`Self::character_error_rate`], the exposure bias per symbol.
    pub teacher_forced_symbol_error_rate: f64,
    /// Open loop: the share of those targets written exactly.
    pub exact_match: f64,
    /// Open loop: their character error rate.
    pub character_error_rate: f64,
}

impl PairOutcomes {
    /// The scores of the decoded pairs by target length, shortest first; `targets` are the
    /// scored pairs' targets (ids, `end` last).
    pub fn by_length(&self, targets: &[Vec<u32>]) -> Vec<LengthScores> {
        // Per length: the open-loop counts, targets exact and symbols wrong teacher forced.
        let mut lengths =
            std::collections::BTreeMap::<usize, (OpenLoopCounts, usize, usize)>::new();
        let decoded = self
            .written
            .iter()
            .zip(targets)
            .zip(&self.teacher_forced_errors);
        for ((written, truth), &errors) in decoded {
            let truth = &truth[..truth.len() - 1];
            let (counts, exact, wrong) = lengths.entry(truth.len()).or_default();
            counts.add(written, truth);
            *exact += usize::from(errors == 0);
            *wrong += errors;
        }
        (lengths.into_iter())
            .map(|(target_length, (counts, exact, wrong))| {
                let (exact_match, cer) = counts.rates();
                LengthScores {
                    target_length,
                    pairs: counts.pairs,
                    teacher_forced_exact_match: exact as f64 / counts.pairs as f64,
                    teacher_forced_symbol_error_rate: wrong as f64
                        / (counts.pairs * (target_length + 1)) as f64,
                    exact_match: exact_match.unwrap_or(0.0),
                    character_error_rate: cer.unwrap_or(0.0),
                }
            })
            .collect()
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

    #[test]
    fn scores_by_length_by_hand() {
        // Targets "ab", "cd", "e" with `end` (0); two written right, "cd" as "c"; the second
        // pair teacher forced has a symbol wrong.
        let outcomes = PairOutcomes {
            teacher_forced_errors: vec![0, 1, 0],
            written: vec![vec![1, 2], vec![3], vec![5]],
        };
        let targets = [vec![1, 2, 0], vec![3, 4, 0], vec![5, 0]];
        let rows = outcomes.by_length(&targets);
        assert_eq!(rows.len(), 2);
        assert_eq!((rows[0].target_length, rows[0].pairs), (1, 1));
        assert_eq!(rows[0].exact_match, 1.0);
        assert_eq!((rows[1].target_length, rows[1].pairs), (2, 2));
        assert_eq!(rows[1].teacher_forced_exact_match, 0.5);
        // One symbol wrong of two targets of two symbols and `end`.
        assert_eq!(rows[1].teacher_forced_symbol_error_rate, 1.0 / 6.0);
        assert_eq!(rows[0].teacher_forced_symbol_error_rate, 0.0);
        assert_eq!(rows[1].exact_match, 0.5);
        assert_eq!(rows[1].character_error_rate, 0.25);
    }
}
