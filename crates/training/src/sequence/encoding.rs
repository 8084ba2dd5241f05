//! How samples become numbers: the input symbols' vocabulary, the label set or the targets'
//! standardisation, all fitted on the training part and saved with the model.

use std::collections::BTreeMap;

use rand::SeedableRng;
use rand::seq::SliceRandom;
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

use super::data::{Example, RawSequence, RawTarget, TargetKind};
use crate::corpus::{SymbolMode, Vocabulary};
use crate::error::{Result, invalid};
use crate::settings::check_validation_fraction;

/// How an input sequence enters the network.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "input", rename_all = "snake_case")]
pub enum InputSymbols {
    /// Symbols with ids (characters or bytes): one-hot inputs.
    Symbols {
        /// The symbols.
        vocabulary: Vocabulary,
    },
    /// One real value per step.
    Values,
}

/// What the network's output means.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "target", rename_all = "snake_case")]
pub enum TargetEncoding {
    /// Class `k` of `labels` is output `k`.
    Classes {
        /// The labels, sorted.
        labels: Vec<String>,
        /// How many training samples each class has (for balanced weights and the majority
        /// baseline).
        counts: Vec<usize>,
    },
    /// Per-step labelling: at every step, output `k` is label `k` of `labels`.
    StepLabels {
        /// The labels, sorted.
        labels: Vec<String>,
        /// How many training steps each label has (for balanced weights and the majority
        /// baseline).
        counts: Vec<usize>,
    },
    /// The output is `(y − mean) / deviation`, statistics of the training targets.
    Standardized {
        /// Mean of the training targets.
        mean: f64,
        /// Their standard deviation.
        deviation: f64,
    },
}

/// Inputs and targets as numbers: saved in a checkpoint, so that evaluation and prediction read
/// new data exactly as training did.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Encoding {
    /// The inputs.
    pub inputs: InputSymbols,
    /// The targets.
    pub targets: TargetEncoding,
}

/// Encoded samples: each input sequence and its target.
#[derive(Debug, Clone, PartialEq)]
pub struct Samples {
    /// The input sequences.
    pub inputs: Inputs,
    /// One target per sequence.
    pub targets: Targets,
}

/// Encoded input sequences.
#[derive(Debug, Clone, PartialEq)]
pub enum Inputs {
    /// Symbol ids.
    Symbols(Vec<Vec<u32>>),
    /// Real values.
    Values(Vec<Vec<f32>>),
}

/// Encoded targets.
#[derive(Debug, Clone, PartialEq)]
pub enum Targets {
    /// Class indices.
    Classes(Vec<usize>),
    /// Standardised values.
    Values(Vec<f32>),
    /// A label index per step of each sequence.
    Steps(Vec<Vec<usize>>),
}

impl Inputs {
    /// Number of sequences.
    pub fn len(&self) -> usize {
        match self {
            Inputs::Symbols(sequences) => sequences.len(),
            Inputs::Values(sequences) => sequences.len(),
        }
    }

    /// Whether there is no sequence.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Every sequence's length.
    pub fn lengths(&self) -> Vec<usize> {
        match self {
            Inputs::Symbols(sequences) => sequences.iter().map(Vec::len).collect(),
            Inputs::Values(sequences) => sequences.iter().map(Vec::len).collect(),
        }
    }
}

impl Samples {
    /// Number of samples.
    pub fn len(&self) -> usize {
        self.inputs.len()
    }

    /// Whether there is no sample.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Every sequence's length.
    pub fn lengths(&self) -> Vec<usize> {
        self.inputs.lengths()
    }
}

impl Encoding {
    /// Checks what the ids and outputs rely on, as a checkpoint's encoding must hold it: the
    /// vocabulary in order, at least two labels, sorted and distinct (output `k` is the `k`-th:
    /// labels swapped in the file would swap every prediction), a count per label, and finite
    /// statistics with a positive deviation. The reason, when not.
    pub fn check(&self) -> std::result::Result<(), String> {
        if let InputSymbols::Symbols { vocabulary } = &self.inputs {
            vocabulary.check()?;
        }
        match &self.targets {
            TargetEncoding::Classes { labels, counts }
            | TargetEncoding::StepLabels { labels, counts } => {
                if labels.len() < 2 {
                    return Err(format!(
                        "{} label(s): a classifier has at least two",
                        labels.len()
                    ));
                }
                if let Some(w) = labels.windows(2).find(|w| w[0] >= w[1]) {
                    return Err(format!(
                        "labels {:?} and {:?} are out of order or repeated: outputs would map to the wrong labels",
                        w[0], w[1]
                    ));
                }
                if counts.len() != labels.len() {
                    return Err(format!(
                        "{} class counts for {} labels",
                        counts.len(),
                        labels.len()
                    ));
                }
                Ok(())
            }
            TargetEncoding::Standardized { mean, deviation } => {
                if mean.is_finite() && deviation.is_finite() && *deviation > 0.0 {
                    Ok(())
                } else {
                    Err(format!(
                        "the targets' mean {mean} and deviation {deviation} must be finite, the deviation positive"
                    ))
                }
            }
        }
    }

    /// Fits the encoding on training examples: the symbols of their text (`mode`), their label
    /// set or the mean and deviation of their values. An error when there is nothing to learn:
    /// a single class, or targets that are all equal.
    ///
    /// Text gets the unknown symbol ([`Vocabulary::with_unknown`]): characters seen fewer than
    /// `min_symbol_count` times here read as it, so the model learns it, and so does any
    /// character the training part lacks, in validation or prediction.
    pub fn fit(examples: &[Example], mode: SymbolMode, min_symbol_count: usize) -> Result<Self> {
        let inputs = match examples.first().map(|e| &e.sequence) {
            Some(RawSequence::Numbers(_)) => InputSymbols::Values,
            _ => InputSymbols::Symbols {
                vocabulary: match mode {
                    SymbolMode::Bytes => Vocabulary::Bytes,
                    SymbolMode::Text => Vocabulary::with_unknown(
                        examples.iter().filter_map(|e| match &e.sequence {
                            RawSequence::Text(text) => Some(text.as_str()),
                            RawSequence::Numbers(_) => None,
                        }),
                        min_symbol_count,
                    ),
                },
            },
        };
        let targets = match examples.first().map(|e| &e.target) {
            Some(RawTarget::Value(_)) => {
                let values: Vec<f64> = examples
                    .iter()
                    .filter_map(|e| match e.target {
                        RawTarget::Value(v) => Some(v),
                        RawTarget::Label(_) | RawTarget::Steps(_) => None,
                    })
                    .collect();
                let mean = values.iter().sum::<f64>() / values.len() as f64;
                let variance =
                    values.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / values.len() as f64;
                if variance <= 0.0 {
                    return Err(invalid(
                        "data",
                        format!("every training target equals {mean}: there is nothing to learn"),
                    ));
                }
                TargetEncoding::Standardized {
                    mean,
                    deviation: variance.sqrt(),
                }
            }
            Some(RawTarget::Steps(_)) => {
                let steps = examples.iter().flat_map(|e| match &e.target {
                    RawTarget::Steps(labels) => labels.as_slice(),
                    _ => &[],
                });
                let (labels, counts) = label_counts(
                    steps,
                    "every step of the training data has the label {}: a labeller needs at least two",
                )?;
                TargetEncoding::StepLabels { labels, counts }
            }
            _ => {
                let samples = examples.iter().filter_map(|e| match &e.target {
                    RawTarget::Label(label) => Some(label),
                    _ => None,
                });
                let (labels, counts) = label_counts(
                    samples,
                    "a single class ({}) in the training data: a classifier needs at least two",
                )?;
                TargetEncoding::Classes { labels, counts }
            }
        };
        Ok(Encoding { inputs, targets })
    }

    /// The kind of target.
    pub fn kind(&self) -> TargetKind {
        match self.targets {
            TargetEncoding::Classes { .. } | TargetEncoding::StepLabels { .. } => TargetKind::Class,
            TargetEncoding::Standardized { .. } => TargetKind::Value,
        }
    }

    /// Whether the network labels every step (else it gives one output per sequence).
    pub fn per_step(&self) -> bool {
        matches!(self.targets, TargetEncoding::StepLabels { .. })
    }

    /// Width of the network's input: the vocabulary's size, or 1 value.
    pub fn input_width(&self) -> usize {
        match &self.inputs {
            InputSymbols::Symbols { vocabulary } => vocabulary.len(),
            InputSymbols::Values => 1,
        }
    }

    /// Width of the network's output: the number of classes, or 1 value.
    pub fn output_width(&self) -> usize {
        match &self.targets {
            TargetEncoding::Classes { labels, .. } | TargetEncoding::StepLabels { labels, .. } => {
                labels.len()
            }
            TargetEncoding::Standardized { .. } => 1,
        }
    }

    /// The label of class `k` (classification).
    pub fn label(&self, class: usize) -> &str {
        match &self.targets {
            TargetEncoding::Classes { labels, .. } | TargetEncoding::StepLabels { labels, .. } => {
                labels.get(class).map_or("?", String::as_str)
            }
            TargetEncoding::Standardized { .. } => "",
        }
    }

    /// A standardised output back in the targets' units (regression).
    pub fn value(&self, output: f64) -> f64 {
        match self.targets {
            TargetEncoding::Standardized { mean, deviation } => mean + deviation * output,
            TargetEncoding::Classes { .. } | TargetEncoding::StepLabels { .. } => output,
        }
    }

    /// Encodes one input sequence; an error names the sample's file and line.
    pub fn encode_sequence(&self, example: &Example) -> Result<EncodedSequence> {
        let origin = &example.origin;
        match (&self.inputs, &example.sequence) {
            (InputSymbols::Symbols { vocabulary }, RawSequence::Text(text)) => {
                let ids = match vocabulary {
                    // Byte mode read each byte as the char of its value.
                    Vocabulary::Bytes => text.chars().map(|c| (c as u32).min(255)).collect(),
                    Vocabulary::Text { .. } => text
                        .chars()
                        .map(|c| {
                            vocabulary.id_of(c).ok_or_else(|| {
                                origin.error(format!(
                                    "the symbol {c:?} never occurs in the training data, and this model (trained before the unknown symbol existed) has no input for it"
                                ))
                            })
                        })
                        .collect::<Result<Vec<u32>>>()?,
                };
                Ok(EncodedSequence::Symbols(ids))
            }
            (InputSymbols::Values, RawSequence::Numbers(values)) => {
                Ok(EncodedSequence::Values(values.clone()))
            }
            (InputSymbols::Symbols { .. }, RawSequence::Numbers(_)) => {
                Err(origin.error("numbers, where the model reads text"))
            }
            (InputSymbols::Values, RawSequence::Text(_)) => {
                Err(origin.error("text, where the model reads numbers"))
            }
        }
    }

    /// How many characters of the examples' text the model reads as the unknown symbol, and in
    /// how many examples.
    pub fn unknown_symbols(&self, examples: &[Example]) -> (usize, usize) {
        let InputSymbols::Symbols { vocabulary } = &self.inputs else {
            return (0, 0);
        };
        examples
            .iter()
            .map(|e| match &e.sequence {
                RawSequence::Text(text) => vocabulary.unknown_in(text),
                RawSequence::Numbers(_) => 0,
            })
            .filter(|&n| n > 0)
            .fold((0, 0), |(symbols, samples), n| (symbols + n, samples + 1))
    }

    /// The input vocabulary, for a model that reads text.
    pub fn vocabulary(&self) -> Option<&Vocabulary> {
        match &self.inputs {
            InputSymbols::Symbols { vocabulary } => Some(vocabulary),
            InputSymbols::Values => None,
        }
    }

    /// Whether the model reads text (else numbers).
    pub fn reads_text(&self) -> bool {
        matches!(self.inputs, InputSymbols::Symbols { .. })
    }

    /// Whether the model reads bytes (byte mode): its input text is then a line's bytes, each
    /// as the char of its value, as the data readers make it.
    pub fn reads_bytes(&self) -> bool {
        matches!(
            self.inputs,
            InputSymbols::Symbols {
                vocabulary: Vocabulary::Bytes
            }
        )
    }

    /// Encodes the examples' input sequences (their targets are not looked at): what
    /// prediction needs.
    pub fn encode_inputs(&self, examples: &[Example]) -> Result<Inputs> {
        let mut symbols = Vec::new();
        let mut values = Vec::new();
        for example in examples {
            match self.encode_sequence(example)? {
                EncodedSequence::Symbols(ids) => symbols.push(ids),
                EncodedSequence::Values(v) => values.push(v),
            }
        }
        Ok(match self.inputs {
            InputSymbols::Symbols { .. } => Inputs::Symbols(symbols),
            InputSymbols::Values => Inputs::Values(values),
        })
    }

    /// Encodes examples with their targets; a label the encoding does not know, a symbol
    /// never seen, or a target of the other kind is an error naming the file and line.
    pub fn encode(&self, examples: &[Example]) -> Result<Samples> {
        let inputs = self.encode_inputs(examples)?;
        let mut classes = Vec::new();
        let mut targets = Vec::new();
        let mut steps = Vec::new();
        for example in examples {
            let class_of = |labels: &[String], label: &String| {
                labels.binary_search(label).map_err(|_| {
                    example.origin.error(format!(
                        "the label {label:?} is not one the model knows ({})",
                        labels.join(", ")
                    ))
                })
            };
            match (&self.targets, &example.target) {
                (TargetEncoding::Classes { labels, .. }, RawTarget::Label(label)) => {
                    classes.push(class_of(labels, label)?);
                }
                (TargetEncoding::StepLabels { labels, .. }, RawTarget::Steps(per_step)) => {
                    steps.push(
                        per_step
                            .iter()
                            .map(|label| class_of(labels, label))
                            .collect::<Result<Vec<usize>>>()?,
                    );
                }
                (TargetEncoding::StepLabels { .. }, _) => {
                    return Err(example
                        .origin
                        .error("one label for the line, where the model labels every step"));
                }
                (_, RawTarget::Steps(_)) => {
                    return Err(example
                        .origin
                        .error("a label per step, where the model gives one output per line"));
                }
                (TargetEncoding::Standardized { mean, deviation }, RawTarget::Value(value)) => {
                    targets.push(((value - mean) / deviation) as f32);
                }
                (TargetEncoding::Classes { .. }, RawTarget::Value(_)) => {
                    return Err(example
                        .origin
                        .error("a number, where the model predicts a class"));
                }
                (TargetEncoding::Standardized { .. }, RawTarget::Label(_)) => {
                    return Err(example
                        .origin
                        .error("a label, where the model predicts a number"));
                }
            }
        }
        Ok(Samples {
            inputs,
            targets: match self.targets {
                TargetEncoding::Classes { .. } => Targets::Classes(classes),
                TargetEncoding::StepLabels { .. } => Targets::Steps(steps),
                TargetEncoding::Standardized { .. } => Targets::Values(targets),
            },
        })
    }
}

/// The distinct labels, sorted, and how often each occurs; `refusal` (its `{}` the label) when
/// there are fewer than two.
fn label_counts<'a>(
    labels: impl Iterator<Item = &'a String>,
    refusal: &str,
) -> Result<(Vec<String>, Vec<usize>)> {
    let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
    for label in labels {
        *counts.entry(label.as_str()).or_default() += 1;
    }
    if counts.len() < 2 {
        let only = format!("{:?}", counts.keys().next().copied().unwrap_or_default());
        return Err(invalid("data", refusal.replace("{}", &only)));
    }
    Ok((
        counts.keys().map(|&l| l.to_owned()).collect(),
        counts.into_values().collect(),
    ))
}

/// One encoded input sequence.
#[derive(Debug, Clone, PartialEq)]
pub enum EncodedSequence {
    /// Symbol ids.
    Symbols(Vec<u32>),
    /// Real values.
    Values(Vec<f32>),
}

/// Splits examples into training and validation, seeded: each class contributes `fraction` of
/// its samples to validation (at least one of every class with two or more), so both parts keep
/// the classes' proportions; numbers are split at random.
pub fn stratified_split(
    examples: Vec<Example>,
    fraction: f64,
    seed: u64,
) -> Result<(Vec<Example>, Vec<Example>)> {
    check_validation_fraction(fraction)?;
    let mut groups: BTreeMap<Option<String>, Vec<Example>> = BTreeMap::new();
    for example in examples {
        let key = match &example.target {
            RawTarget::Label(label) => Some(label.clone()),
            RawTarget::Value(_) | RawTarget::Steps(_) => None,
        };
        groups.entry(key).or_default().push(example);
    }
    let mut random = ChaCha8Rng::seed_from_u64(seed);
    let (mut train, mut validation) = (Vec::new(), Vec::new());
    for (_, mut group) in groups {
        group.shuffle(&mut random);
        let held = ((group.len() as f64 * fraction).round() as usize)
            .max(usize::from(group.len() >= 2))
            .min(group.len().saturating_sub(1));
        validation.extend(group.drain(..held));
        train.extend(group);
    }
    if train.is_empty() || validation.is_empty() {
        return Err(invalid(
            "data",
            format!(
                "{} samples are too few to hold some out for validation",
                train.len() + validation.len()
            ),
        ));
    }
    // Neither part is ordered by class.
    train.shuffle(&mut random);
    validation.shuffle(&mut random);
    Ok((train, validation))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sequence::data::Origin;
    use std::path::Path;
    use std::sync::Arc;

    fn example(text: &str, label: &str, line: usize) -> Example {
        Example {
            sequence: RawSequence::Text(text.into()),
            target: RawTarget::Label(label.into()),
            origin: Origin {
                path: Arc::from(Path::new("data.tsv")),
                line,
            },
        }
    }

    #[test]
    fn labels_and_symbols_come_from_training_and_strangers_are_named() {
        let train = [example("ab", "yes", 1), example("ba", "no", 2)];
        let encoding = Encoding::fit(&train, SymbolMode::Text, 1).unwrap();
        assert_eq!(encoding.output_width(), 2);
        assert_eq!(encoding.input_width(), 3, "a, b and the unknown symbol");
        let samples = encoding.encode(&train).unwrap();
        assert_eq!(
            samples.targets,
            Targets::Classes(vec![1, 0]),
            "sorted: no, yes"
        );
        assert_eq!(
            samples.inputs,
            Inputs::Symbols(vec![vec![0, 1], vec![1, 0]])
        );
        let unseen = encoding.encode(&[example("ab", "maybe", 7)]).unwrap_err();
        assert!(unseen.to_string().contains("data.tsv:7:"), "{unseen}");
        assert!(unseen.to_string().contains("\"maybe\""), "{unseen}");
        // A character the training part lacks reads as the unknown symbol, and is counted.
        let stranger = [example("abc", "yes", 9)];
        let samples = encoding.encode(&stranger).unwrap();
        assert_eq!(samples.inputs, Inputs::Symbols(vec![vec![0, 1, 2]]));
        assert_eq!(encoding.unknown_symbols(&stranger), (1, 1));
        // Characters rarer than the threshold read as it in training too.
        let rare = Encoding::fit(&train, SymbolMode::Text, 3).unwrap();
        assert_eq!(rare.input_width(), 1, "a and b occur twice: both unknown");
        // An encoding stored before the unknown symbol existed refuses the stranger, naming it.
        let mut old = encoding.clone();
        if let InputSymbols::Symbols {
            vocabulary: Vocabulary::Text { unknown, .. },
        } = &mut old.inputs
        {
            *unknown = false;
        }
        let symbol = old.encode(&stranger).unwrap_err();
        assert!(symbol.to_string().contains("data.tsv:9:"), "{symbol}");
        let single = Encoding::fit(
            &[example("a", "x", 1), example("b", "x", 2)],
            SymbolMode::Text,
            1,
        );
        assert!(single.unwrap_err().to_string().contains("single class"));
    }

    #[test]
    fn the_split_is_stratified_seeded_and_leaves_both_parts_non_empty() {
        let examples: Vec<Example> = (0..100)
            .map(|i| example("a", if i < 80 { "big" } else { "small" }, i))
            .collect();
        let (train, validation) = stratified_split(examples.clone(), 0.1, 3).unwrap();
        let count = |part: &[Example], label: &str| {
            part.iter()
                .filter(|e| e.target == RawTarget::Label(label.into()))
                .count()
        };
        assert_eq!(
            (count(&validation, "big"), count(&validation, "small")),
            (8, 2)
        );
        assert_eq!(train.len(), 90);
        let (_, again) = stratified_split(examples.clone(), 0.1, 3).unwrap();
        assert_eq!(validation, again, "the seed fixes the split");
        let (_, other) = stratified_split(examples, 0.1, 4).unwrap();
        assert_ne!(validation, other);
        assert!(stratified_split(vec![example("a", "x", 1)], 0.1, 0).is_err());
    }
}
