//! Generating text from a language model: temperature, top-k, top-p (nucleus) or argmax, on the
//! model without autodiff, one symbol at a time.

use std::ops::Bound::{Excluded, Included, Unbounded};
use std::ops::ControlFlow;

use burn::tensor::{Int, Tensor, TensorData};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use unroll_model::RecurrenceBackend;
use unroll_model::setting::{at_least_one, within};

use crate::corpus::Vocabulary;
use crate::error::Result;
use crate::network::Network;

/// How the next symbol is chosen from the predicted distribution.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SamplingOptions {
    /// Divides the logits: below 1 sharpens, above 1 flattens. Must be > 0.
    pub temperature: f64,
    /// Keep only the `k` most probable symbols.
    pub top_k: Option<usize>,
    /// Keep the smallest set of most probable symbols whose probability reaches `p`.
    pub top_p: Option<f64>,
    /// Always take the most probable symbol (ignores the rest).
    pub argmax: bool,
}

impl Default for SamplingOptions {
    fn default() -> Self {
        SamplingOptions {
            temperature: 1.0,
            top_k: None,
            top_p: None,
            argmax: false,
        }
    }
}

impl SamplingOptions {
    /// Checks the options, naming the one out of range.
    pub fn validate(&self) -> Result<()> {
        within("temperature", self.temperature, Excluded(0.0), Unbounded)?;
        if let Some(k) = self.top_k {
            at_least_one("top_k", k as u64)?;
        }
        if let Some(p) = self.top_p {
            within("top_p", p, Excluded(0.0), Included(1.0))?;
        }
        Ok(())
    }

    /// Picks a symbol from logits `[vocab]`.
    pub fn choose(&self, logits: &[f32], rng: &mut impl Rng) -> usize {
        let mut order: Vec<usize> = (0..logits.len()).collect();
        order.sort_by(|&a, &b| logits[b].total_cmp(&logits[a]));
        if self.argmax {
            return order[0];
        }
        let max = f64::from(logits[order[0]]);
        let mut weights: Vec<f64> = order
            .iter()
            .map(|&i| ((f64::from(logits[i]) - max) / self.temperature).exp())
            .collect();
        let mut keep = weights.len();
        if let Some(k) = self.top_k {
            keep = keep.min(k);
        }
        if let Some(p) = self.top_p {
            let total: f64 = weights.iter().sum();
            let mut cumulative = 0.0;
            for (n, w) in weights.iter().enumerate() {
                cumulative += w / total;
                if cumulative >= p {
                    keep = keep.min(n + 1);
                    break;
                }
            }
        }
        weights.truncate(keep);
        let total: f64 = weights.iter().sum();
        let mut draw = rng.random::<f64>() * total;
        for (n, w) in weights.iter().enumerate() {
            if draw < *w {
                return order[n];
            }
            draw -= w;
        }
        order[keep - 1]
    }
}

/// What to generate.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct GenerationRequest<'a> {
    /// Text the model reads first (not repeated in the output).
    pub prime: &'a str,
    /// Number of symbols to generate.
    pub length: usize,
    /// How each symbol is chosen.
    pub options: SamplingOptions,
    /// Seed of the sampler.
    pub seed: u64,
}

/// Generates `request.length` symbols after the prime, calling `emit` with the text of each
/// symbol as it is generated; `emit` returning [`ControlFlow::Break`] ends generation early (the
/// reader went away, say). An empty prime starts from a newline when the vocabulary has one,
/// else from its first symbol. Returns the generated text.
///
/// ```
/// use std::ops::ControlFlow;
/// use burn::backend::Flex;
/// use unroll_training::{Corpus, GenerationRequest, ModelSettings, SamplingOptions, SymbolMode};
/// use unroll_training::generate;
///
/// let corpus = Corpus::from_bytes(b"hello world\n", SymbolMode::Text)?;
/// let device = Default::default();
/// let model = ModelSettings::default().init::<Flex>(corpus.vocabulary.len(), &device)?;
/// let options = SamplingOptions { temperature: 0.8, top_k: Some(3), ..Default::default() };
/// let request = GenerationRequest { prime: "hel", length: 10, options, seed: 7 };
/// let mut streamed = String::new();
/// let text = generate(&model, &corpus.vocabulary, &request, &device, |piece| {
///     streamed.push_str(piece); // each symbol as it is generated
///     ControlFlow::Continue(())
/// })?;
/// assert_eq!(text, streamed);
/// # Ok::<(), unroll_training::TrainingError>(())
/// ```
pub fn generate<B: RecurrenceBackend>(
    model: &Network<B>,
    vocabulary: &Vocabulary,
    request: &GenerationRequest<'_>,
    device: &B::Device,
    mut emit: impl FnMut(&str) -> ControlFlow<()>,
) -> Result<String> {
    let GenerationRequest {
        prime,
        length,
        options,
        seed,
    } = *request;
    options.validate()?;
    let mut prime_ids = vocabulary.encode(prime)?;
    if prime_ids.is_empty() {
        let start = vocabulary.encode("\n").map(|ids| ids[0]).unwrap_or(0);
        prime_ids.push(start);
    }
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let symbol =
        |id: u32| Tensor::<B, 1, Int>::from_data(TensorData::new(vec![i64::from(id)], [1]), device);
    let mut state = None;
    let mut logits = None;
    for &id in &prime_ids {
        let (o, next) = model.step(symbol(id), state)?;
        state = next;
        logits = Some(o);
    }
    let mut generated = Vec::new();
    for _ in 0..length {
        let mut values: Vec<f32> = logits
            .take()
            .expect("set by the prime")
            .into_data()
            .iter::<f32>()
            .collect();
        // The unknown symbol stands for characters the model cannot name: never written.
        if let Some(unknown) = vocabulary.unknown_id().filter(|_| values.len() > 1) {
            values[unknown as usize] = f32::NEG_INFINITY;
        }
        let id = options.choose(&values, &mut rng) as u32;
        generated.push(id);
        if emit(&vocabulary.decode(&[id])).is_break() {
            break;
        }
        let (o, next) = model.step(symbol(id), state)?;
        state = next;
        logits = Some(o);
    }
    Ok(vocabulary.decode(&generated))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// How often each class is drawn under the default options with `change` made.
    fn frequencies(change: fn(&mut SamplingOptions), logits: &[f32]) -> Vec<f64> {
        let mut options = SamplingOptions::default();
        change(&mut options);
        let mut rng = ChaCha8Rng::seed_from_u64(1);
        let mut counts = vec![0usize; logits.len()];
        let draws = 20_000;
        for _ in 0..draws {
            counts[options.choose(logits, &mut rng)] += 1;
        }
        counts.iter().map(|&c| c as f64 / draws as f64).collect()
    }

    #[test]
    fn sampling_rules() {
        let p = [0.5f32, 0.3, 0.15, 0.05];
        let logits: Vec<f32> = p.iter().map(|x| x.ln()).collect();
        let plain = frequencies(|_| (), &logits);
        for (f, e) in plain.iter().zip(p) {
            assert!((f - f64::from(e)).abs() < 0.015, "{plain:?}");
        }
        assert_eq!(frequencies(|o| o.argmax = true, &logits)[0], 1.0);
        let top_2 = frequencies(|o| o.top_k = Some(2), &logits);
        assert_eq!(top_2[2] + top_2[3], 0.0);
        assert!((top_2[0] - 0.625).abs() < 0.015, "{top_2:?}");
        // Nucleus 0.8: 0.5 + 0.3 reaches it, so only the first two remain.
        let nucleus = frequencies(|o| o.top_p = Some(0.8), &logits);
        assert_eq!(nucleus[2] + nucleus[3], 0.0);
        // Temperature 0.5 squares the probabilities before renormalising.
        let cold = frequencies(|o| o.temperature = 0.5, &logits);
        let squares: f64 = p.iter().map(|x| f64::from(x * x)).sum();
        assert!((cold[0] - 0.25 / squares).abs() < 0.015, "{cold:?}");
    }

    #[test]
    fn nonsense_options_are_rejected() {
        for bad in [
            SamplingOptions {
                temperature: 0.0,
                ..Default::default()
            },
            SamplingOptions {
                temperature: -1.0,
                ..Default::default()
            },
            SamplingOptions {
                top_k: Some(0),
                ..Default::default()
            },
            SamplingOptions {
                top_p: Some(1.5),
                ..Default::default()
            },
        ] {
            assert!(bad.validate().is_err(), "{bad:?}");
        }
    }
}
