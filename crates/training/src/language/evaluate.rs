//! Validation: the teacher-forced loss over a whole split, and pattern 2's open-loop accuracy.

use burn::tensor::backend::Backend;
use burn::tensor::{ElementConversion, Int, Tensor, TensorData};
use unroll_model::{FeedingPlan, RecurrenceBackend};

use crate::error::{Result, TrainingError};
use crate::feeding::{Feeding, FeedingStreams};
use crate::network::Network;
use crate::validation::Validation;
use unroll_model::FeedbackChoice;
use unroll_model::RecurrencePath;

/// Symbols per forward call: the pass is one stream, cut into chunks only to bound memory.
const CHUNK: usize = 1024;
/// At most this many windows are scored open-loop.
const OPEN_LOOP_WINDOWS: usize = 256;

/// The result of a validation.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct LanguageScores {
    /// Mean negative log-likelihood in nats per symbol.
    pub nats_per_symbol: f64,
    /// The same in bits (nats / ln 2).
    pub bits_per_symbol: f64,
    /// `exp(nats_per_symbol)`.
    pub perplexity: f64,
    /// Number of symbols scored.
    pub symbols: usize,
    /// Pattern 2: the fraction of symbols predicted right when the model is fed its own argmax
    /// predictions from the start of each window.
    pub open_loop_accuracy: Option<f64>,
}

impl Validation for LanguageScores {
    const ITEMS: &'static str = "symbols";

    fn loss(&self) -> f64 {
        self.nats_per_symbol
    }

    fn summary(&self) -> String {
        format!(
            "{:.4} nats/symbol, {:.4} bits/symbol, perplexity {:.3} over {} symbols{}",
            self.nats_per_symbol,
            self.bits_per_symbol,
            self.perplexity,
            self.symbols,
            self.open_loop_accuracy
                .map(|a| format!(", open-loop accuracy {:.1} %", 100.0 * a))
                .unwrap_or_default(),
        )
    }
}

fn tokens<B: Backend>(ids: &[u32], device: &B::Device) -> Tensor<B, 2, Int> {
    let values: Vec<i64> = ids.iter().map(|&id| i64::from(id)).collect();
    Tensor::from_data(TensorData::new(values, [1, ids.len()]), device)
}

/// Scores every symbol of `ids` after the first, predicted from all symbols before it, in one
/// stateful teacher-forced pass from a zero state. For pattern 2 also scores open-loop windows of
/// `window` symbols. Run it on a model without autodiff (`model.valid()`).
pub fn score_language<B: RecurrenceBackend>(
    model: &Network<B>,
    ids: &[u32],
    window: usize,
    device: &B::Device,
) -> Result<LanguageScores> {
    if ids.len() < 2 {
        return Err(TrainingError::CorpusTooShort {
            needed: 2,
            why: "to score one prediction in the validation split".into(),
            actual: ids.len(),
        });
    }
    let scored = ids.len() - 1;
    let mut total = 0.0;
    let mut state = None;
    let mut start = 0;
    while start < scored {
        let end = (start + CHUNK).min(scored);
        let inputs = tokens::<B>(&ids[start..end], device);
        let targets = tokens::<B>(&ids[start + 1..end + 1], device);
        let plan = FeedingPlan::teacher_forcing(1, end - start)?;
        let (losses, next) =
            model.window_loss(inputs, targets, state, &plan, RecurrencePath::Fused)?;
        state = next;
        let sum = losses.sum();
        total += sum.into_scalar().elem::<f64>();
        start = end;
    }
    let nats = total / scored as f64;
    let open_loop_accuracy = match model {
        Network::Output(_) => Some(open_loop_accuracy(model, ids, window, device)?),
        Network::Hidden(_) => None,
    };
    Ok(LanguageScores {
        nats_per_symbol: nats,
        bits_per_symbol: nats / std::f64::consts::LN_2,
        perplexity: nats.exp(),
        symbols: scored,
        open_loop_accuracy,
    })
}

/// Windows of `window` symbols, first fed the truth then the model's own argmax predictions.
fn open_loop_accuracy<B: RecurrenceBackend>(
    model: &Network<B>,
    ids: &[u32],
    window: usize,
    device: &B::Device,
) -> Result<f64> {
    let count = ((ids.len() - 1) / window).clamp(1, OPEN_LOOP_WINDOWS);
    let window = window.min(ids.len() - 1);
    let mut inputs = Vec::with_capacity(count * window);
    let mut targets = Vec::with_capacity(count * window);
    for w in 0..count {
        let start = w * window;
        inputs.extend(ids[start..start + window].iter().map(|&id| i64::from(id)));
        targets.extend(
            ids[start + 1..start + window + 1]
                .iter()
                .map(|&id| i64::from(id)),
        );
    }
    let inputs = Tensor::<B, 2, Int>::from_data(TensorData::new(inputs, [count, window]), device);
    let feeding = Feeding::Curriculum {
        free_steps: window,
        own: FeedbackChoice::Argmax,
    };
    // Argmax predictions draw nothing: any streams give the same plan.
    let streams = FeedingStreams {
        seed: 0,
        iteration: 0,
    };
    let plan = feeding.plan([count, window], streams)?;
    let (logits, _) = model.window(inputs, None, &plan, RecurrencePath::Fused)?;
    let predicted: Vec<i64> = logits.argmax(2).into_data().iter::<i64>().collect();
    let correct = predicted
        .iter()
        .zip(&targets)
        .filter(|(p, t)| p == t)
        .count();
    Ok(correct as f64 / targets.len() as f64)
}
