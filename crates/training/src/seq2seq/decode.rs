//! Writing targets: greedy (the most probable symbol at every step, many sources at once), beam
//! search (the `width` most probable prefixes kept at every step, length-normalised) and
//! sampling (each symbol drawn with a temperature, top-k or top-p). Each stops at `end` or at the
//! longest target; none writes `start` or the unknown symbol.

use burn::tensor::{Int, Tensor, TensorData};
use rand::Rng;
use unroll_model::{EncoderDecoder, HiddenState, RecurrenceBackend, SequenceInput};

use super::encoding::PairEncoding;
use crate::buckets::sorted_batches;
use crate::error::{Result, invalid};
use crate::language::generation::SamplingOptions;

/// Sources padded into one `[batch, time]` tensor of ids, and their lengths.
pub fn padded<B: RecurrenceBackend>(
    rows: &[&[u32]],
    device: &B::Device,
) -> (Tensor<B, 2, Int>, Vec<usize>) {
    let lengths: Vec<usize> = rows.iter().map(|r| r.len().max(1)).collect();
    let time = lengths.iter().copied().max().unwrap_or(1);
    let ids: Vec<i64> = rows
        .iter()
        .flat_map(|row| (0..time).map(move |t| row.get(t).map_or(0, |&id| i64::from(id))))
        .collect();
    let tensor = Tensor::from_data(TensorData::new(ids, [rows.len(), time]), device);
    (tensor, lengths)
}

/// Whether the decoder may write `id`: neither `start` nor the unknown symbol.
fn writable(encoding: &PairEncoding, id: u32) -> bool {
    id != encoding.start() && Some(id) != encoding.target.unknown_id()
}

/// The most probable writable symbol of one row of logits.
fn best(encoding: &PairEncoding, logits: &[f64]) -> u32 {
    let mut choice = (encoding.end(), f64::NEG_INFINITY);
    for (id, &value) in logits.iter().enumerate() {
        if writable(encoding, id as u32) && value > choice.1 {
            choice = (id as u32, value);
        }
    }
    choice.0
}

fn ids_tensor<B: RecurrenceBackend>(ids: &[u32], device: &B::Device) -> Tensor<B, 1, Int> {
    let ids: Vec<i64> = ids.iter().map(|&id| i64::from(id)).collect();
    let n = ids.len();
    Tensor::from_data(TensorData::new(ids, [n]), device)
}

fn rows_of<B: RecurrenceBackend>(logits: Tensor<B, 2>) -> Vec<Vec<f64>> {
    let [_, width] = logits.dims();
    let values: Vec<f64> = logits.into_data().iter::<f64>().collect();
    values.chunks(width).map(<[f64]>::to_vec).collect()
}

/// Greedy decoding of every source (ids, any number), in batches of `batch` sources of
/// similar length: each target's ids, without `end`, at most `max_length` of them.
pub fn greedy<B: RecurrenceBackend>(
    model: &EncoderDecoder<B>,
    encoding: &PairEncoding,
    sources: &[Vec<u32>],
    max_length: usize,
    batch: usize,
    device: &B::Device,
) -> Result<Vec<Vec<u32>>> {
    let mut written = vec![Vec::new(); sources.len()];
    let lengths: Vec<usize> = sources.iter().map(Vec::len).collect();
    for indices in sorted_batches(&lengths, batch) {
        let rows: Vec<&[u32]> = indices.iter().map(|&i| sources[i].as_slice()).collect();
        let (source, lengths) = padded::<B>(&rows, device);
        let mut state = model.encode(SequenceInput::Tokens(source), Some(&lengths))?;
        let context = model.context(&state);
        let mut previous = vec![encoding.start(); rows.len()];
        let mut done = vec![false; rows.len()];
        for _ in 0..=max_length {
            let previous_ids = ids_tensor::<B>(&previous, device);
            let (logits, next) = model.decode_step(previous_ids, state, context.as_ref())?;
            state = next;
            for (row, logits) in rows_of(logits).iter().enumerate() {
                if done[row] {
                    continue;
                }
                let target = &mut written[indices[row]];
                let choice = best(encoding, logits);
                if choice == encoding.end() || target.len() == max_length {
                    done[row] = true;
                } else {
                    target.push(choice);
                }
                previous[row] = choice;
            }
            if done.iter().all(|&d| d) {
                break;
            }
        }
    }
    Ok(written)
}

/// A target found by beam search.
#[derive(Debug, Clone, PartialEq)]
pub struct Hypothesis {
    /// Its ids, without `end`.
    pub ids: Vec<u32>,
    /// `log p(target | source)`, `end` included when it was written.
    pub log_probability: f64,
    /// The log-probability per written symbol (`end` included): what ranks hypotheses of
    /// different lengths.
    pub score: f64,
}

/// Log-softmax of one row, in f64.
fn log_softmax(logits: &[f64]) -> Vec<f64> {
    let max = logits.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let log_sum = logits.iter().map(|l| (l - max).exp()).sum::<f64>().ln() + max;
    logits.iter().map(|l| l - log_sum).collect()
}

/// The rows `indices` of every layer's state.
fn select_rows<B: RecurrenceBackend>(
    state: &HiddenState<B>,
    indices: &[usize],
    device: &B::Device,
) -> HiddenState<B> {
    let rows: Vec<i64> = indices.iter().map(|&i| i as i64).collect();
    let n = rows.len();
    let rows = Tensor::<B, 1, Int>::from_data(TensorData::new(rows, [n]), device);
    HiddenState {
        hidden: state.hidden.clone().select(1, rows.clone()),
        cell: state.cell.clone().map(|c| c.select(1, rows)),
    }
}

/// Beam search for one source (ids): the `width` most probable prefixes kept at every step, a
/// prefix finished when it writes `end`; the finished hypothesis with the best log-probability
/// per symbol wins (a prefix still running at `max_length` symbols counts as finished there).
pub fn beam_search<B: RecurrenceBackend>(
    model: &EncoderDecoder<B>,
    encoding: &PairEncoding,
    source: &[u32],
    width: usize,
    max_length: usize,
    device: &B::Device,
) -> Result<Hypothesis> {
    if width == 0 {
        return Err(invalid("beam", "at least 1 hypothesis"));
    }
    let (tensor, lengths) = padded::<B>(&[source], device);
    let mut state = model.encode(SequenceInput::Tokens(tensor), Some(&lengths))?;
    // The source's `C` (with the summary in every input), the same for every prefix.
    let context = model.context(&state);
    // The running prefixes: ids and log-probability.
    let mut live: Vec<(Vec<u32>, f64)> = vec![(Vec::new(), 0.0)];
    let mut finished: Vec<Hypothesis> = Vec::new();
    let finish = |ids: Vec<u32>, log_probability: f64, ended: bool| Hypothesis {
        score: log_probability / (ids.len() + usize::from(ended)).max(1) as f64,
        ids,
        log_probability,
    };
    while !live.is_empty() && finished.len() < width {
        let previous: Vec<u32> = live
            .iter()
            .map(|(ids, _)| ids.last().copied().unwrap_or(encoding.start()))
            .collect();
        let prefixes = context.as_ref().map(|c| {
            let [_, d_hidden] = c.dims();
            c.clone().expand([previous.len(), d_hidden])
        });
        let previous_ids = ids_tensor::<B>(&previous, device);
        let (logits, next) = model.decode_step(previous_ids, state, prefixes.as_ref())?;
        let mut candidates: Vec<(usize, u32, f64)> = Vec::new();
        for (i, logits) in rows_of(logits).iter().enumerate() {
            for (id, lp) in log_softmax(logits).into_iter().enumerate() {
                if writable(encoding, id as u32) {
                    candidates.push((i, id as u32, live[i].1 + lp));
                }
            }
        }
        candidates.sort_by(|a, b| b.2.total_cmp(&a.2));
        let mut kept: Vec<(usize, Vec<u32>, f64)> = Vec::new();
        // A prefix of `max_length` symbols finishes there, once, whatever it would write next.
        let mut at_the_limit = vec![false; live.len()];
        for (i, id, log_probability) in candidates {
            if kept.len() == width || finished.len() == width {
                break;
            }
            let mut ids = live[i].0.clone();
            if id == encoding.end() {
                finished.push(finish(ids, log_probability, true));
            } else if ids.len() == max_length {
                if !std::mem::replace(&mut at_the_limit[i], true) {
                    finished.push(finish(ids, live[i].1, false));
                }
            } else {
                ids.push(id);
                kept.push((i, ids, log_probability));
            }
        }
        let rows: Vec<usize> = kept.iter().map(|(i, _, _)| *i).collect();
        state = select_rows(&next, &rows, device);
        live = kept.into_iter().map(|(_, ids, lp)| (ids, lp)).collect();
    }
    finished.extend(live.into_iter().map(|(ids, lp)| finish(ids, lp, false)));
    Ok(finished
        .into_iter()
        .max_by(|a, b| a.score.total_cmp(&b.score))
        .expect("a beam of at least one"))
}

/// A target for one source (ids) drawn symbol by symbol from the decoder's distribution, as
/// `options` shape it (temperature, top-k, top-p), with the draws of `rng`; at most
/// `max_length` symbols.
pub fn sample<B: RecurrenceBackend>(
    model: &EncoderDecoder<B>,
    encoding: &PairEncoding,
    source: &[u32],
    (options, max_length): (&SamplingOptions, usize),
    rng: &mut impl Rng,
    device: &B::Device,
) -> Result<Hypothesis> {
    options.validate()?;
    let (tensor, lengths) = padded::<B>(&[source], device);
    let mut state = model.encode(SequenceInput::Tokens(tensor), Some(&lengths))?;
    let context = model.context(&state);
    let (mut previous, mut ids, mut log_probability) = (encoding.start(), Vec::new(), 0.0);
    let mut ended = false;
    while !ended {
        let previous_ids = ids_tensor::<B>(&[previous], device);
        let (logits, next) = model.decode_step(previous_ids, state, context.as_ref())?;
        state = next;
        let row = rows_of(logits).swap_remove(0);
        let log_p = log_softmax(&row);
        let masked: Vec<f32> = (row.iter().enumerate())
            .map(|(id, &v)| match writable(encoding, id as u32) {
                true => v as f32,
                false => f32::NEG_INFINITY,
            })
            .collect();
        let choice = options.choose(&masked, rng) as u32;
        ended = choice == encoding.end();
        if !ended && ids.len() == max_length {
            break;
        }
        log_probability += log_p[choice as usize];
        if !ended {
            ids.push(choice);
            previous = choice;
        }
    }
    Ok(Hypothesis {
        score: log_probability / (ids.len() + usize::from(ended)).max(1) as f64,
        ids,
        log_probability,
    })
}
