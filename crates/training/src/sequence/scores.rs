//! What a sequence model's predictions score: for classes, accuracy, macro-F1, per-class
//! precision, recall and support, and the confusion matrix; for numbers, MSE, MAE and R², each
//! beside the trivial predictor's.

use serde::{Deserialize, Serialize};

use crate::validation::Validation;

/// One class's scores.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ClassScore {
    /// The label.
    pub label: String,
    /// Of the samples predicted this class, the fraction that are (0 when none is).
    pub precision: f64,
    /// Of the samples of this class, the fraction predicted so.
    pub recall: f64,
    /// The harmonic mean of precision and recall.
    pub f1: f64,
    /// Samples of this class.
    pub support: usize,
}

/// A classifier's scores.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ClassificationScores {
    /// Mean cross-entropy, nats per sample.
    pub cross_entropy: f64,
    /// Fraction predicted right.
    pub accuracy: f64,
    /// The unweighted mean of the classes' F1.
    pub macro_f1: f64,
    /// The accuracy of always predicting the training data's most frequent class: chance.
    pub majority_accuracy: f64,
    /// Per class, in label order.
    pub classes: Vec<ClassScore>,
    /// `confusion[true][predicted]`, counts.
    pub confusion: Vec<Vec<usize>>,
}

/// A regressor's scores, in the targets' own units.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RegressionScores {
    /// Mean squared error.
    pub mse: f64,
    /// Mean absolute error.
    pub mae: f64,
    /// Coefficient of determination, `1 − SSE / SST` (1 is perfect, 0 is the mean's).
    pub r2: f64,
    /// The MSE of always predicting the training targets' mean.
    pub baseline_mse: f64,
    /// The MAE of that constant.
    pub baseline_mae: f64,
    /// Samples scored.
    pub samples: usize,
}

/// A per-step labeller's scores: every real step scored as a classifier's sample, and whole
/// sequences.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LabellingScores {
    /// Each step a sample: accuracy, per-label scores and confusion; the cross-entropy in nats
    /// per step; chance is always the training data's most frequent label.
    pub steps: ClassificationScores,
    /// The fraction of sequences with every step labelled right.
    pub sequence_accuracy: f64,
    /// Sequences scored.
    pub sequences: usize,
}

/// A sequence model's validation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum SequenceScores {
    /// Of a classifier.
    Classification(ClassificationScores),
    /// Of a regressor.
    Regression(RegressionScores),
    /// Of a per-step labeller.
    Labelling(LabellingScores),
}

impl Validation for SequenceScores {
    const ITEMS: &'static str = "steps";

    fn loss(&self) -> f64 {
        match self {
            SequenceScores::Classification(scores) => scores.cross_entropy,
            SequenceScores::Regression(scores) => scores.mse,
            SequenceScores::Labelling(scores) => scores.steps.cross_entropy,
        }
    }

    fn summary(&self) -> String {
        match self {
            SequenceScores::Classification(s) => format!(
                "accuracy {:.1} % (chance {:.1} %), macro-F1 {:.3}, {:.4} nats",
                100.0 * s.accuracy,
                100.0 * s.majority_accuracy,
                s.macro_f1,
                s.cross_entropy
            ),
            SequenceScores::Regression(s) => format!(
                "MSE {:.4} (mean's {:.4}), MAE {:.4}, R² {:.3}",
                s.mse, s.baseline_mse, s.mae, s.r2
            ),
            SequenceScores::Labelling(s) => format!(
                "steps right {:.1} % (chance {:.1} %), sequences all right {:.1} %, {:.4} nats a step",
                100.0 * s.steps.accuracy,
                100.0 * s.steps.majority_accuracy,
                100.0 * s.sequence_accuracy,
                s.steps.cross_entropy
            ),
        }
    }
}

impl ClassificationScores {
    /// Scores predicted classes against true ones.
    ///
    /// - `labels`: every class's label; `truth`, `predicted`: class per sample;
    /// - `cross_entropy`: the mean loss; `majority`: the training data's most frequent class.
    pub fn new(
        labels: &[String],
        truth: &[usize],
        predicted: &[usize],
        cross_entropy: f64,
        majority: usize,
    ) -> Self {
        let classes = labels.len();
        let mut confusion = vec![vec![0usize; classes]; classes];
        for (&t, &p) in truth.iter().zip(predicted) {
            confusion[t][p] += 1;
        }
        let ratio = |a: usize, b: usize| if b == 0 { 0.0 } else { a as f64 / b as f64 };
        let per_class: Vec<ClassScore> = (0..classes)
            .map(|k| {
                let right = confusion[k][k];
                let support: usize = confusion[k].iter().sum();
                let predicted_k: usize = confusion.iter().map(|row| row[k]).sum();
                let (precision, recall) = (ratio(right, predicted_k), ratio(right, support));
                let f1 = if precision + recall > 0.0 {
                    2.0 * precision * recall / (precision + recall)
                } else {
                    0.0
                };
                ClassScore {
                    label: labels[k].clone(),
                    precision,
                    recall,
                    f1,
                    support,
                }
            })
            .collect();
        let right: usize = (0..classes).map(|k| confusion[k][k]).sum();
        ClassificationScores {
            cross_entropy,
            accuracy: ratio(right, truth.len()),
            macro_f1: per_class.iter().map(|c| c.f1).sum::<f64>() / classes.max(1) as f64,
            majority_accuracy: ratio(
                truth.iter().filter(|&&t| t == majority).count(),
                truth.len(),
            ),
            classes: per_class,
            confusion,
        }
    }

    /// Per-class scores and the confusion matrix as text tables.
    pub fn table(&self) -> String {
        let width = self
            .classes
            .iter()
            .map(|c| c.label.chars().count())
            .max()
            .unwrap_or(5)
            .max(5);
        let mut out = format!("{:width$}  precision  recall     F1  support\n", "class");
        for c in &self.classes {
            out += &format!(
                "{:width$}  {:9.3}  {:6.3}  {:5.3}  {:7}\n",
                c.label, c.precision, c.recall, c.f1, c.support
            );
        }
        out += &format!(
            "\nconfusion (rows: true class, columns: predicted)\n{:width$}",
            ""
        );
        let cell = self
            .confusion
            .iter()
            .flatten()
            .max()
            .map_or(1, |m| m.to_string().len())
            .max(width.min(8));
        for c in &self.classes {
            out += &format!(" {:>cell$}", truncate(&c.label, cell));
        }
        out.push('\n');
        for (c, row) in self.classes.iter().zip(&self.confusion) {
            out += &format!("{:width$}", c.label);
            for count in row {
                out += &format!(" {count:>cell$}");
            }
            out.push('\n');
        }
        out
    }
}

fn truncate(text: &str, width: usize) -> String {
    text.chars().take(width).collect()
}

impl RegressionScores {
    /// Scores predictions against targets (both in the targets' units); `training_mean` is the
    /// constant baseline.
    pub fn new(truth: &[f64], predicted: &[f64], training_mean: f64) -> Self {
        let n = truth.len().max(1) as f64;
        let mse = truth
            .iter()
            .zip(predicted)
            .map(|(t, p)| (t - p).powi(2))
            .sum::<f64>()
            / n;
        let mae = truth
            .iter()
            .zip(predicted)
            .map(|(t, p)| (t - p).abs())
            .sum::<f64>()
            / n;
        let mean = truth.iter().sum::<f64>() / n;
        let total = truth.iter().map(|t| (t - mean).powi(2)).sum::<f64>() / n;
        RegressionScores {
            mse,
            mae,
            r2: if total > 0.0 { 1.0 - mse / total } else { 0.0 },
            baseline_mse: truth
                .iter()
                .map(|t| (t - training_mean).powi(2))
                .sum::<f64>()
                / n,
            baseline_mae: truth.iter().map(|t| (t - training_mean).abs()).sum::<f64>() / n,
            samples: truth.len(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classification_scores_by_hand() {
        let labels = ["a", "b", "c"].map(String::from);
        // truth a a a b b c; predicted a a b b c c.
        let scores =
            ClassificationScores::new(&labels, &[0, 0, 0, 1, 1, 2], &[0, 0, 1, 1, 2, 2], 0.5, 0);
        assert_eq!(
            scores.confusion,
            vec![vec![2, 1, 0], vec![0, 1, 1], vec![0, 0, 1]]
        );
        assert!((scores.accuracy - 4.0 / 6.0).abs() < 1e-12);
        let a = &scores.classes[0];
        assert_eq!((a.precision, a.support), (1.0, 3));
        assert!((a.recall - 2.0 / 3.0).abs() < 1e-12);
        assert!((a.f1 - 0.8).abs() < 1e-12);
        let b = &scores.classes[1];
        assert_eq!((b.precision, b.recall, b.f1), (0.5, 0.5, 0.5));
        let c = &scores.classes[2];
        assert!((c.f1 - 2.0 / 3.0).abs() < 1e-12, "precision ½, recall 1");
        assert!((scores.macro_f1 - (0.8 + 0.5 + 2.0 / 3.0) / 3.0).abs() < 1e-12);
        assert!((scores.majority_accuracy - 0.5).abs() < 1e-12);
        let table = scores.table();
        assert!(table.contains("confusion"), "{table}");
    }

    #[test]
    fn regression_scores_by_hand() {
        let scores = RegressionScores::new(&[1.0, 2.0, 3.0], &[1.0, 2.0, 5.0], 2.0);
        assert!((scores.mse - 4.0 / 3.0).abs() < 1e-12);
        assert!((scores.mae - 2.0 / 3.0).abs() < 1e-12);
        assert!((scores.r2 - (1.0 - (4.0 / 3.0) / (2.0 / 3.0))).abs() < 1e-12);
        assert!((scores.baseline_mse - 2.0 / 3.0).abs() < 1e-12);
        assert!((scores.baseline_mae - 2.0 / 3.0).abs() < 1e-12);
    }
}
