//! Claim 6: teacher forcing is maximum likelihood. With the true previous outputs fed, the
//! summed loss of a sequence is the negative log-probability of that sequence under the
//! distribution the model samples from when it runs on its own outputs
//! (`log p(y1, y2 | x) = log p(y2 | y1, x) + log p(y1 | x)`). Checked by enumeration: a pattern-1
//! network's teacher-forced losses (its fused training pass) give every sequence of a small
//! vocabulary and length a probability; those must sum to 1, and the frequencies of the
//! sequences the same network writes open loop (step by step, each symbol drawn from its own
//! output) must match them.

use burn::module::Param;
use burn::tensor::backend::Backend;
use burn::tensor::{Int, Tensor, TensorData};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use unroll::backend::Inference;
use unroll::model::{
    HiddenRecurrent, HiddenRecurrentConfig, HiddenStackConfig, InputEncoding, SequenceInput,
    StepInput,
};

use crate::Error;

type Device = burn::tensor::Device<Inference>;

/// The sizes of the experiment.
#[derive(Debug, Clone, Copy)]
pub struct Sizes {
    /// Output symbols.
    pub vocab: usize,
    /// Steps of every sequence.
    pub length: usize,
    /// Hidden units.
    pub hidden: usize,
    /// Sequences written open loop.
    pub samples: usize,
}

/// What one seed's network gave.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Outcome {
    /// The teacher-forced probabilities of every sequence, summed (1 if the claim holds).
    pub total_probability: f64,
    /// The entropy of that distribution over the entropy of the uniform one: how far from
    /// uniform the network's distribution is (1: uniform).
    pub relative_entropy: f64,
    /// Pearson's X² of the open-loop counts against the teacher-forced probabilities.
    pub chi_square: f64,
    /// Its degrees of freedom (sequences − 1).
    pub degrees_of_freedom: usize,
    /// X² as a standard normal deviate (Wilson–Hilferty): beyond 3, the counts do not follow
    /// the probabilities.
    pub deviate: f64,
    /// Half the summed absolute differences between the open-loop frequencies and the
    /// probabilities.
    pub total_variation: f64,
}

/// Every sequence of `length` symbols below `vocab`, in counting order.
fn every_sequence(vocab: usize, length: usize) -> Vec<Vec<u32>> {
    let count = vocab.pow(length as u32);
    (0..count)
        .map(|mut n| {
            let mut sequence = vec![0; length];
            for slot in sequence.iter_mut().rev() {
                *slot = (n % vocab) as u32;
                n /= vocab;
            }
            sequence
        })
        .collect()
}

/// A pattern-1 network over `vocab` symbols and a start symbol (`vocab`), its output weights
/// scaled by `sharpness` so that its distributions are far from uniform.
fn network(sizes: Sizes, sharpness: f64, device: &Device) -> HiddenRecurrent<Inference> {
    let input = InputEncoding::Tokens {
        vocab_size: sizes.vocab + 1,
    };
    let mut model =
        HiddenRecurrentConfig::new(HiddenStackConfig::new(input, sizes.hidden), sizes.vocab)
            .init::<Inference>(device);
    let weight = model.output.weight.val().mul_scalar(sharpness);
    model.output.weight = Param::from_tensor(weight);
    model
}

/// `[rows, columns]` ids as a tensor.
fn ids(rows: &[Vec<u32>], device: &Device) -> Tensor<Inference, 2, Int> {
    let columns = rows[0].len();
    let values: Vec<i64> = rows.iter().flatten().map(|&id| i64::from(id)).collect();
    Tensor::from_data(TensorData::new(values, [rows.len(), columns]), device)
}

/// The teacher-forced log-probability of each sequence: minus its summed loss, fed `start` and
/// then its own symbols.
fn log_probabilities(
    model: &HiddenRecurrent<Inference>,
    sequences: &[Vec<u32>],
    start: u32,
    device: &Device,
) -> Result<Vec<f64>, Error> {
    let inputs: Vec<Vec<u32>> = (sequences.iter())
        .map(|s| {
            std::iter::once(start)
                .chain(s[..s.len() - 1].iter().copied())
                .collect()
        })
        .collect();
    let (losses, _) = model.forward_loss(
        SequenceInput::Tokens(ids(&inputs, device)),
        None,
        ids(sequences, device),
    )?;
    let losses: Vec<f64> = losses.sum_dim(1).into_data().iter::<f64>().collect();
    Ok(losses.into_iter().map(|loss| -loss).collect())
}

/// `samples` sequences written open loop: each step fed the symbol drawn from the step before
/// (`start` first), drawn with `random`; the index of each in counting order.
fn written(
    model: &HiddenRecurrent<Inference>,
    sizes: Sizes,
    random: &mut ChaCha8Rng,
    device: &Device,
) -> Result<Vec<usize>, Error> {
    let start = sizes.vocab as i64;
    let mut fed = vec![start; sizes.samples];
    let mut index = vec![0usize; sizes.samples];
    let mut state = None;
    for _ in 0..sizes.length {
        let input = Tensor::from_data(TensorData::new(fed.clone(), [sizes.samples]), device);
        let (logits, next) = model.step(StepInput::Tokens(input), state)?;
        state = Some(next);
        let logits: Vec<f64> = logits.into_data().iter::<f64>().collect();
        for (row, o) in logits.chunks(sizes.vocab).enumerate() {
            let max = o.iter().copied().fold(f64::NEG_INFINITY, f64::max);
            let weights: Vec<f64> = o.iter().map(|v| (v - max).exp()).collect();
            let mut draw = random.random::<f64>() * weights.iter().sum::<f64>();
            let mut symbol = sizes.vocab - 1;
            for (k, w) in weights.iter().enumerate() {
                if draw < *w {
                    symbol = k;
                    break;
                }
                draw -= w;
            }
            fed[row] = symbol as i64;
            index[row] = index[row] * sizes.vocab + symbol;
        }
    }
    Ok(index)
}

/// Runs the experiment on the network of `seed`.
pub fn run(sizes: Sizes, seed: u64, device: &Device) -> Result<Outcome, Error> {
    Inference::seed(device, seed);
    let model = network(sizes, 8.0, device);
    let sequences = every_sequence(sizes.vocab, sizes.length);
    let log_p = log_probabilities(&model, &sequences, sizes.vocab as u32, device)?;
    let p: Vec<f64> = log_p.iter().map(|l| l.exp()).collect();
    let total_probability: f64 = p.iter().sum();
    let entropy: f64 = -(p.iter().zip(&log_p)).map(|(p, l)| p * l).sum::<f64>();
    let mut random = ChaCha8Rng::seed_from_u64(seed ^ 0xC1A1_5EED);
    let mut counts = vec![0usize; sequences.len()];
    for index in written(&model, sizes, &mut random, device)? {
        counts[index] += 1;
    }
    let n = sizes.samples as f64;
    let chi_square: f64 = (counts.iter().zip(&p))
        .map(|(&count, &p)| (count as f64 - n * p).powi(2) / (n * p))
        .sum();
    let total_variation = 0.5
        * (counts.iter().zip(&p))
            .map(|(&count, &p)| (count as f64 / n - p).abs())
            .sum::<f64>();
    let df = sequences.len() - 1;
    Ok(Outcome {
        total_probability,
        relative_entropy: entropy / (sequences.len() as f64).ln(),
        chi_square,
        degrees_of_freedom: df,
        deviate: wilson_hilferty(chi_square, df as f64),
        total_variation,
    })
}

/// X² with `df` degrees of freedom as a standard normal deviate (Wilson & Hilferty 1931).
fn wilson_hilferty(chi_square: f64, df: f64) -> f64 {
    let v = 2.0 / (9.0 * df);
    ((chi_square / df).cbrt() - (1.0 - v)) / v.sqrt()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sequences_are_counted_in_order() {
        let all = every_sequence(3, 2);
        assert_eq!(all.len(), 9);
        assert_eq!(all[0], [0, 0]);
        assert_eq!(all[5], [1, 2]);
        assert_eq!(all[8], [2, 2]);
    }

    #[test]
    fn the_deviate_of_a_typical_chi_square_is_near_zero() {
        // The median of X² with k degrees of freedom is about k (1 − 2/(9k))³.
        let k = 242.0f64;
        let median = k * (1.0 - 2.0 / (9.0 * k)).powi(3);
        assert!(wilson_hilferty(median, k).abs() < 1e-12);
        assert!(wilson_hilferty(2.0 * k, k) > 3.0);
    }

    /// The fused teacher-forced pass and the step-wise sampler agree, on a distribution far
    /// from uniform.
    #[test]
    fn enumeration_and_open_loop_agree() {
        let device = Default::default();
        let sizes = Sizes {
            vocab: 3,
            length: 3,
            hidden: 8,
            samples: 20_000,
        };
        let outcome = run(sizes, 1, &device).unwrap();
        assert!(
            (outcome.total_probability - 1.0).abs() < 1e-4,
            "{outcome:?}"
        );
        assert!(outcome.deviate < 3.0, "{outcome:?}");
        assert!(
            outcome.relative_entropy < 0.95,
            "far from uniform: {outcome:?}"
        );
    }
}
