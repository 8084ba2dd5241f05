//! An independent plain-Rust implementation of pattern 1 (one layer) and of back-propagation
//! through time written out by hand from the textbook's recursion (Deep Learning, eq. 10.18–10.28).
//!
//! Weights use the stored (row) layout of the crate: `U` is `[d_input][d_hidden]`, `W` is
//! `[d_hidden][d_hidden]`, `V` is `[d_hidden][d_output]`, so the textbook's `W h` is `Σ_i h_i W[i][j]`
//! and its `Wᵀ δ` is `Σ_j W[i][j] δ_j`.

// Index loops mirror the subscripts of the equations they implement.
#![allow(clippy::needless_range_loop)]

/// Parameters of a one-layer pattern-1 network.
#[derive(Clone, Debug)]
pub struct Rnn {
    pub u: Vec<Vec<f64>>,
    pub w: Vec<Vec<f64>>,
    pub b: Vec<f64>,
    pub v: Vec<Vec<f64>>,
    pub c: Vec<f64>,
}

/// Gradients of the summed loss with respect to each parameter, laid out as the parameters.
pub type RnnGradients = Rnn;

/// The forward pass of one sequence: hidden states `h(0) … h(τ)` and logits `o(1) … o(τ)`.
pub struct Trace {
    pub hidden: Vec<Vec<f64>>,
    pub logits: Vec<Vec<f64>>,
}

fn row_times(x: &[f64], m: &[Vec<f64>]) -> Vec<f64> {
    let cols = m[0].len();
    (0..cols)
        .map(|j| x.iter().zip(m).map(|(xi, row)| xi * row[j]).sum())
        .collect()
}

fn times_column(m: &[Vec<f64>], y: &[f64]) -> Vec<f64> {
    m.iter()
        .map(|row| row.iter().zip(y).map(|(a, b)| a * b).sum())
        .collect()
}

fn softmax(o: &[f64]) -> Vec<f64> {
    let max = o.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
    let e: Vec<f64> = o.iter().map(|x| (x - max).exp()).collect();
    let s: f64 = e.iter().sum();
    e.iter().map(|x| x / s).collect()
}

impl Rnn {
    /// `a(t) = b + W h(t-1) + U x(t)`, `h(t) = tanh(a(t))`, `o(t) = c + V h(t)`.
    pub fn forward(&self, inputs: &[Vec<f64>], initial: &[f64]) -> Trace {
        let mut hidden = vec![initial.to_vec()];
        let mut logits = Vec::new();
        for x in inputs {
            let previous = hidden.last().unwrap();
            let recurrent = row_times(previous, &self.w);
            let projected = row_times(x, &self.u);
            let h: Vec<f64> = (0..self.b.len())
                .map(|j| (self.b[j] + recurrent[j] + projected[j]).tanh())
                .collect();
            let o: Vec<f64> = row_times(&h, &self.v)
                .iter()
                .zip(&self.c)
                .map(|(a, c)| a + c)
                .collect();
            hidden.push(h);
            logits.push(o);
        }
        Trace { hidden, logits }
    }

    /// `L = Σ_t -log softmax(o(t))[y(t)]`.
    pub fn loss(&self, trace: &Trace, targets: &[usize]) -> f64 {
        trace
            .logits
            .iter()
            .zip(targets)
            .map(|(o, &y)| -softmax(o)[y].ln())
            .sum()
    }

    /// Back-propagation through time, adding this sequence's gradients into `into`:
    ///
    /// - `∂L/∂o(t) = ŷ(t) − onehot(y(t))`
    /// - `δ(τ) = Vᵀ ∂L/∂o(τ)`
    /// - `δ(t) = Vᵀ ∂L/∂o(t) + Wᵀ diag(1 − h(t+1)²) δ(t+1)`
    /// - `∂L/∂c = Σ_t ∂L/∂o(t)`, `∂L/∂V = Σ_t ∂L/∂o(t) h(t)ᵀ`
    /// - `∂L/∂b = Σ_t diag(1 − h(t)²) δ(t)`, `∂L/∂W = Σ_t diag(1 − h(t)²) δ(t) h(t-1)ᵀ`,
    ///   `∂L/∂U = Σ_t diag(1 − h(t)²) δ(t) x(t)ᵀ`
    pub fn backward(
        &self,
        inputs: &[Vec<f64>],
        trace: &Trace,
        targets: &[usize],
        into: &mut RnnGradients,
    ) {
        let tau = inputs.len();
        let d_hidden = self.b.len();
        // δ(t+1) passed back through the tanh: diag(1 − h(t+1)²) δ(t+1); zero beyond τ.
        let mut next_pre_activation = vec![0.0; d_hidden];
        for t in (0..tau).rev() {
            let h = &trace.hidden[t + 1];
            let h_previous = &trace.hidden[t];
            let mut output_gradient = softmax(&trace.logits[t]);
            output_gradient[targets[t]] -= 1.0;
            let from_output = times_column(&self.v, &output_gradient);
            let from_future = times_column(&self.w, &next_pre_activation);
            let delta: Vec<f64> = (0..d_hidden)
                .map(|i| from_output[i] + from_future[i])
                .collect();
            let pre_activation: Vec<f64> = (0..d_hidden)
                .map(|i| (1.0 - h[i] * h[i]) * delta[i])
                .collect();
            for j in 0..output_gradient.len() {
                into.c[j] += output_gradient[j];
                for i in 0..d_hidden {
                    into.v[i][j] += h[i] * output_gradient[j];
                }
            }
            for j in 0..d_hidden {
                into.b[j] += pre_activation[j];
                for i in 0..d_hidden {
                    into.w[i][j] += h_previous[i] * pre_activation[j];
                }
                for (k, x) in inputs[t].iter().enumerate() {
                    into.u[k][j] += x * pre_activation[j];
                }
            }
            next_pre_activation = pre_activation;
        }
    }

    pub fn zero_gradients(&self) -> RnnGradients {
        let zeros = |m: &Vec<Vec<f64>>| vec![vec![0.0; m[0].len()]; m.len()];
        RnnGradients {
            u: zeros(&self.u),
            w: zeros(&self.w),
            b: vec![0.0; self.b.len()],
            v: zeros(&self.v),
            c: vec![0.0; self.c.len()],
        }
    }
}

/// One-hot vectors of `width` for token ids.
pub fn one_hot(ids: &[i64], width: usize) -> Vec<Vec<f64>> {
    ids.iter()
        .map(|&id| {
            (0..width)
                .map(|k| if k as i64 == id { 1.0 } else { 0.0 })
                .collect()
        })
        .collect()
}

pub fn flatten(m: &[Vec<f64>]) -> Vec<f64> {
    m.iter().flatten().copied().collect()
}
