//! The rollout on host memory.
//!
//! Rows never interact, and each row's coins and draws come from the plan, so the batch is cut
//! into one block of rows per core and each core runs the whole window on its block: the fed
//! symbols do not depend on how the rows were split. A step's output product runs only when
//! some row of the block is fed its own prediction next, and the loop stops at the last such
//! step.

use std::ops::Range;

use rayon::prelude::*;

use super::{FeedingPlan, RolloutCell};
use crate::feedback::FeedbackChoice;
use crate::fused::host::math::Real;
use crate::fused::host::matmul::{Operand, Threads, Write, matmul};
use crate::fused::recurrence::kernel::row_ranges;

/// One layer's `U` (`[d_input, G · d_hidden]`), `b` and `W` (`[d_hidden, G · d_hidden]`),
/// row-major, and the GRU's `b_hh`, as [`super::LayerWeights`] holds them.
pub(crate) struct Layer<E> {
    pub cell: RolloutCell,
    pub input_weight: Vec<E>,
    pub bias: Vec<E>,
    pub recurrent_weight: Vec<E>,
    pub recurrent_bias: Option<Vec<E>>,
}

impl<E: Real> Layer<E> {
    fn width(&self) -> usize {
        self.bias.len()
    }

    /// One step of `rows` rows: `gates` holds `b + U x` (`[rows, G · H]`) on entry; `h` and
    /// `c` (`[rows, H]`, `c` the LSTM's) the state before the step on entry and after it on
    /// return. `recurrent` is scratch, `[rows, G · H]`.
    fn step(&self, gates: &mut [E], recurrent: &mut [E], (h, c): (&mut [E], &mut [E])) {
        let (width, hidden) = (self.width(), self.width() / self.cell.gates());
        let rows = h.len() / hidden;
        let previous = Operand::new(h, rows, hidden);
        let weight = Operand::new(&self.recurrent_weight, hidden, width);
        if self.cell != RolloutCell::Gru {
            matmul(gates, Write::Accumulate, previous, weight, Threads::One);
        }
        match self.cell {
            RolloutCell::Tanh => {
                h.copy_from_slice(gates);
                E::tanh_in_place(h);
            }
            RolloutCell::Lstm => {
                for ((gates, h), c) in (gates.chunks_mut(width))
                    .zip(h.chunks_mut(hidden))
                    .zip(c.chunks_mut(hidden))
                {
                    E::sigmoid_in_place(&mut gates[..2 * hidden]);
                    E::tanh_in_place(&mut gates[2 * hidden..3 * hidden]);
                    E::sigmoid_in_place(&mut gates[3 * hidden..]);
                    for j in 0..hidden {
                        c[j] = gates[hidden + j] * c[j] + gates[j] * gates[2 * hidden + j];
                    }
                    h.copy_from_slice(c);
                    E::tanh_in_place(h);
                    for (h, output) in h.iter_mut().zip(&gates[3 * hidden..]) {
                        *h = *h * *output;
                    }
                }
            }
            RolloutCell::Gru => {
                let bias = self.recurrent_bias.as_deref().expect("a GRU has b_hh");
                for row in recurrent.chunks_mut(width) {
                    row.copy_from_slice(bias);
                }
                matmul(recurrent, Write::Accumulate, previous, weight, Threads::One);
                for ((gates, recurrent), h) in (gates.chunks_mut(width))
                    .zip(recurrent.chunks(width))
                    .zip(h.chunks_mut(hidden))
                {
                    for j in 0..2 * hidden {
                        gates[j] = gates[j] + recurrent[j];
                    }
                    E::sigmoid_in_place(&mut gates[..2 * hidden]);
                    for j in 0..hidden {
                        gates[2 * hidden + j] =
                            gates[2 * hidden + j] + gates[j] * recurrent[2 * hidden + j];
                    }
                    E::tanh_in_place(&mut gates[2 * hidden..]);
                    for j in 0..hidden {
                        let (update, new) = (gates[hidden + j], gates[2 * hidden + j]);
                        h[j] = new + update * (h[j] - new);
                    }
                }
            }
        }
    }
}

/// The output layer: `V` (`[d_hidden, vocab]`) and `c`.
pub(crate) struct Output<E> {
    pub weight: Vec<E>,
    pub bias: Vec<E>,
}

impl<E: Real> Output<E> {
    fn vocab(&self) -> usize {
        self.bias.len()
    }

    /// `logits = c + states · V` for `rows` rows of width `hidden`.
    fn logits(&self, logits: &mut [E], states: &[E], rows: usize, hidden: usize) {
        let vocab = self.vocab();
        for row in logits.chunks_mut(vocab) {
            row.copy_from_slice(&self.bias);
        }
        matmul(
            logits,
            Write::Accumulate,
            Operand::new(states, rows, hidden),
            Operand::new(&self.weight, hidden, vocab),
            Threads::One,
        );
    }
}

/// The symbol a row of logits gives: its argmax, or a sample by `draw` (the number of
/// cumulative softmax probabilities below it, as [`crate::sample_classes_with`] counts).
/// Overwrites `logits`.
fn own_symbol<E: Real>(logits: &mut [E], own: FeedbackChoice, draw: f64) -> i64 {
    let max = logits
        .iter()
        .copied()
        .fold(E::neg_infinity(), |a, b| if b > a { b } else { a });
    if own != FeedbackChoice::Sample {
        return logits.iter().position(|&value| value == max).unwrap_or(0) as i64;
    }
    let total = E::shifted_exp_in_place(logits, max);
    let draw = E::from(draw).expect("a draw in [0, 1) is a float");
    let mut cumulative = E::zero();
    let mut below = 0;
    for &value in logits.iter() {
        cumulative = cumulative + value / total;
        if cumulative < draw {
            below += 1;
        }
    }
    below.min(logits.len() - 1) as i64
}

/// Runs `block` on every core's rows; `fed` (`[batch, time]`, the truth on entry) receives the
/// own predictions where the plan asks for them.
fn per_block<F>(fed: &mut [i64], plan: &FeedingPlan, block: F)
where
    F: Fn(Range<usize>, &mut [i64], usize) + Sync,
{
    let Some(last) = plan.last_own_step() else {
        return;
    };
    let [batch, time] = plan.dims();
    let ranges = row_ranges(batch);
    let mut rest = fed;
    let mut blocks = Vec::with_capacity(ranges.len());
    for range in &ranges {
        let (head, tail) = std::mem::take(&mut rest).split_at_mut(range.len() * time);
        blocks.push(head);
        rest = tail;
    }
    ranges
        .into_par_iter()
        .zip(blocks)
        .for_each(|(range, fed)| block(range, fed, last));
}

/// Where step `t + 1` of the block's rows is fed an own prediction, writes it from the
/// block's output at step `t`.
fn feed_own<E: Real>(
    output: &Output<E>,
    (logits, states, hidden): (&mut [E], &[E], usize),
    (fed, rows, t): (&mut [i64], &Range<usize>, usize),
    plan: &FeedingPlan,
) {
    let time = plan.dims()[1];
    let wanted: Vec<usize> = (0..rows.len())
        .filter(|&i| !plan.fed_truth(rows.start + i, t + 1))
        .collect();
    if wanted.is_empty() {
        return;
    }
    let vocab = output.vocab();
    output.logits(logits, states, rows.len(), hidden);
    for i in wanted {
        let draw = plan.draw(rows.start + i, t + 1);
        fed[i * time + t + 1] =
            own_symbol(&mut logits[i * vocab..(i + 1) * vocab], plan.own(), draw);
    }
}

/// Pattern 1's rollout: `layers` (the first one's `U` a `[vocab, G · d_hidden]` table), the
/// output layer and what each row adds to the first layer's input at every step (`[batch, G ·
/// d_hidden]`, or nothing), `h(0)` and the LSTM's `c(0)` (`[layers, batch, d_hidden]`; zeros
/// when `None`) and the true symbols (`[batch, time]`); returns the fed symbols, `[batch, time]`.
pub(crate) fn hidden<E: Real>(
    layers: &[Layer<E>],
    (output, offset): (&Output<E>, Option<&[E]>),
    (initial, initial_cell): (&[E], Option<&[E]>),
    truth: Vec<i64>,
    plan: &FeedingPlan,
) -> Vec<i64> {
    let [batch, time] = plan.dims();
    let width = layers[0].width();
    let hidden = width / layers[0].cell.gates();
    assert_eq!(truth.len(), batch * time, "truth shape");
    let shape = layers.len() * batch * hidden;
    assert_eq!(initial.len(), shape, "initial shape");
    if let Some(cells) = initial_cell {
        assert_eq!(cells.len(), shape, "initial cell shape");
    }
    if let Some(offset) = offset {
        assert_eq!(offset.len(), batch * width, "first layer offset shape");
    }
    // b added to every row of the first layer's table once: each step is then a row copy.
    let table: Vec<E> = layers[0]
        .input_weight
        .chunks(width)
        .flat_map(|row| row.iter().zip(&layers[0].bias).map(|(u, b)| *u + *b))
        .collect();
    let mut fed = truth;
    per_block(&mut fed, plan, |rows, fed, last| {
        let n = rows.len();
        let of_rows = |states: &[E], l: usize| {
            states[(l * batch + rows.start) * hidden..(l * batch + rows.end) * hidden].to_vec()
        };
        let mut states: Vec<Vec<E>> = (0..layers.len()).map(|l| of_rows(initial, l)).collect();
        let mut cells: Vec<Vec<E>> = (0..layers.len())
            .map(|l| initial_cell.map_or_else(|| vec![E::zero(); n * hidden], |c| of_rows(c, l)))
            .collect();
        let mut gates = vec![E::zero(); n * width];
        let mut recurrent = vec![E::zero(); n * width];
        let mut logits = vec![E::zero(); n * output.vocab()];
        for t in 0..last {
            for (i, row) in gates.chunks_mut(width).enumerate() {
                let id = fed[i * time + t] as usize;
                let looked_up = &table[id * width..(id + 1) * width];
                match offset {
                    Some(offset) => {
                        let at = (rows.start + i) * width;
                        let share = &offset[at..at + width];
                        for ((g, u), o) in row.iter_mut().zip(looked_up).zip(share) {
                            *g = *u + *o;
                        }
                    }
                    None => row.copy_from_slice(looked_up),
                }
            }
            for (l, layer) in layers.iter().enumerate() {
                if l > 0 {
                    for row in gates.chunks_mut(width) {
                        row.copy_from_slice(&layer.bias);
                    }
                    let below = Operand::new(&states[l - 1], n, hidden);
                    let weight = Operand::new(&layer.input_weight, hidden, width);
                    matmul(&mut gates, Write::Accumulate, below, weight, Threads::One);
                }
                let state = (&mut states[l][..], &mut cells[l][..]);
                layer.step(&mut gates, &mut recurrent, state);
            }
            let top = &states[layers.len() - 1];
            feed_own(output, (&mut logits, top, hidden), (fed, &rows, t), plan);
        }
    });
    fed
}

/// Pattern 2's rollout: `W` (`[vocab, d_hidden]`), `b`, the output layer, `U x(t)`
/// (`[batch, time, d_hidden]`, for a model with an input) and the true fed-back symbols
/// (`[batch, time]`); returns the fed-back symbols, `[batch, time]`.
pub(crate) fn output<E: Real>(
    (feedback_weight, bias): (&[E], &[E]),
    output: &Output<E>,
    projected: Option<&[E]>,
    truth: Vec<i64>,
    plan: &FeedingPlan,
) -> Vec<i64> {
    let [batch, time] = plan.dims();
    let hidden = bias.len();
    assert_eq!(truth.len(), batch * time, "truth shape");
    if let Some(projected) = projected {
        assert_eq!(projected.len(), batch * time * hidden, "projected shape");
    }
    let mut fed = truth;
    per_block(&mut fed, plan, |rows, fed, last| {
        let n = rows.len();
        let mut states = vec![E::zero(); n * hidden];
        let mut logits = vec![E::zero(); n * output.vocab()];
        for t in 0..last {
            for (i, row) in states.chunks_mut(hidden).enumerate() {
                let id = fed[i * time + t] as usize;
                let looked_up = &feedback_weight[id * hidden..(id + 1) * hidden];
                for ((h, w), b) in row.iter_mut().zip(looked_up).zip(bias) {
                    *h = *w + *b;
                }
                if let Some(projected) = projected {
                    let start = ((rows.start + i) * time + t) * hidden;
                    for (h, p) in row.iter_mut().zip(&projected[start..start + hidden]) {
                        *h = *h + *p;
                    }
                }
            }
            E::tanh_in_place(&mut states);
            feed_own(
                output,
                (&mut logits, &states, hidden),
                (fed, &rows, t),
                plan,
            );
        }
    });
    fed
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sample_counts_the_cumulative_probabilities_below_the_draw() {
        // softmax of ln(1), ln(2), ln(1) is 0.25, 0.5, 0.25: cumulative 0.25, 0.75, 1.
        let logits = [0.0f64, 2f64.ln(), 0.0];
        let sample = |draw: f64| own_symbol(&mut logits.clone(), FeedbackChoice::Sample, draw);
        assert_eq!(sample(0.1), 0);
        assert_eq!(sample(0.3), 1);
        assert_eq!(sample(0.74), 1);
        assert_eq!(sample(0.8), 2);
        assert_eq!(sample(0.999_999), 2);
        assert_eq!(
            own_symbol(&mut logits.clone(), FeedbackChoice::Argmax, 0.0),
            1
        );
    }
}
