//! The matrix products a gated step is made of, timed alone with the `gemm` crate (what the host
//! kernels and Burn's flex matmul call): the per-step recurrent product at a gated layer's sizes,
//! split over the cores by batch rows (as the kernels do) or by gate columns, against large
//! products. It tells how much of a step's time the products alone must take on this machine.

use std::time::{Duration, Instant};

use gemm::Parallelism;

/// `dst = lhs · rhs`, all row-major with the given row strides.
fn product(
    [m, n, k]: [usize; 3],
    dst: &mut [f32],
    lhs: (&[f32], usize),
    rhs: (&[f32], usize),
    parallelism: Parallelism,
) {
    assert!(dst.len() >= m * n && lhs.0.len() >= m * lhs.1 && rhs.0.len() >= k * rhs.1);
    strided(
        [m, n, k],
        dst,
        (lhs.0, [lhs.1, 1]),
        (rhs.0, [rhs.1, 1]),
        parallelism,
    );
}

/// `dst = lhs · rhs`, `dst` row-major, each operand with its `[row, column]` strides (a
/// transposed operand is a row-major one with its strides swapped).
fn strided(
    [m, n, k]: [usize; 3],
    dst: &mut [f32],
    lhs: (&[f32], [usize; 2]),
    rhs: (&[f32], [usize; 2]),
    parallelism: Parallelism,
) {
    let last = |[rows, columns]: [usize; 2], [row, column]: [usize; 2]| {
        (rows - 1) * row + (columns - 1) * column
    };
    assert!(
        dst.len() >= m * n
            && lhs.0.len() > last([m, k], lhs.1)
            && rhs.0.len() > last([k, n], rhs.1)
    );
    // SAFETY: the slices hold the whole matrices (checked above) and `dst` does not overlap
    // the inputs.
    unsafe {
        gemm::gemm(
            m,
            n,
            k,
            dst.as_mut_ptr(),
            1,
            n as isize,
            false,
            lhs.0.as_ptr(),
            lhs.1[1] as isize,
            lhs.1[0] as isize,
            rhs.0.as_ptr(),
            rhs.1[1] as isize,
            rhs.1[0] as isize,
            0.0,
            1.0,
            false,
            false,
            false,
            parallelism,
        );
    }
}

/// GFLOP/s of `run` (which does `flops` per call) repeated for about `budget`.
fn rate(flops: f64, budget: Duration, mut run: impl FnMut()) -> f64 {
    run();
    let start = Instant::now();
    let mut calls = 0u32;
    while start.elapsed() < budget {
        run();
        calls += 1;
    }
    flops * f64::from(calls) / start.elapsed().as_secs_f64() / 1e9
}

/// How the cores share the recurrent products of a step.
#[derive(Clone, Copy)]
enum Split {
    /// Each core all 4H gate rows of `W` for its `batch / threads` columns of `hᵀ`.
    Rows,
    /// Each core `4H / threads` gate rows of `W` for the whole batch.
    GateColumns,
    /// Each core a whole product of its own, all gate rows for the whole batch, with a weight of
    /// its own: both directions of a bidirectional layer, one per core.
    Directions,
}

/// The recurrent product `W_hhᵀ · h(t-1)ᵀ` (`[4H, H] · [H, rows]`) of a batch of 64, per core;
/// GFLOP/s of all the cores' products together.
fn recurrent(hidden: usize, threads: usize, split: Split, budget: Duration) -> f64 {
    let (batch, gates) = (64, 4 * hidden);
    let weights: Vec<Vec<f32>> = (0..threads)
        .map(|part| {
            (0..gates * hidden)
                .map(|i| ((i + part) % 7) as f32 * 0.01)
                .collect()
        })
        .collect();
    let states = vec![0.5f32; hidden * batch];
    let (rows, gate_rows, products) = match split {
        Split::Rows => (batch / threads, gates, 1),
        Split::GateColumns => (batch, gates / threads, 1),
        Split::Directions => (batch, gates, threads),
    };
    let flops = 2.0 * (gates * hidden * batch * products) as f64;
    rate(flops, budget, || {
        rayon::scope(|scope| {
            for part in 0..threads {
                let (weights, states) = (&weights, &states);
                scope.spawn(move |_| {
                    let mut out = vec![0f32; gate_rows * rows];
                    let weight = match split {
                        Split::Rows => &weights[0][..],
                        Split::GateColumns => &weights[0][part * gate_rows * hidden..],
                        Split::Directions => &weights[part][..],
                    };
                    product(
                        [gate_rows, rows, hidden],
                        &mut out,
                        (weight, hidden),
                        (states, rows),
                        Parallelism::None,
                    );
                });
            }
        });
    })
}

/// One core's recurrent products for `rows` rows at H `hidden` in both of the kernels' layouts
/// (`fused::recurrence::kernel::RowProduct`), GFLOP/s: the forward step `W_hhᵀ · h(t-1)ᵀ` and
/// `h(t-1) · W_hh`, BPTT's `W_hh · δaᵀ` and `δa · W_hhᵀ` (`W_hh` turned). Products alone: the
/// transposed layout's two turns a step are not counted.
fn layouts(hidden: usize, rows: usize, budget: Duration) -> [f64; 4] {
    let gates = 4 * hidden;
    // The same values serve as `W_hh` stored `[H, 4H]` and as its turn `[4H, H]`.
    let weight: Vec<f32> = (0..gates * hidden).map(|i| (i % 7) as f32 * 0.01).collect();
    let states = vec![0.5f32; rows * gates];
    let one = Parallelism::None;
    let flops = 2.0 * (gates * hidden * rows) as f64;
    let shapes = [
        // forward, transposed: [4H, H] · [H, rows]
        ([gates, rows, hidden], (hidden, rows)),
        // forward, plain: [rows, H] · [H, 4H]
        ([rows, gates, hidden], (hidden, gates)),
        // BPTT, transposed: [H, 4H] · [4H, rows]
        ([hidden, rows, gates], (gates, rows)),
        // BPTT, plain: [rows, 4H] · [4H, H]
        ([rows, hidden, gates], (gates, hidden)),
    ];
    shapes.map(|([m, n, k], (lhs_stride, rhs_stride))| {
        let mut out = vec![0f32; m * n];
        let (lhs, rhs) = if m == rows {
            (&states[..], &weight[..])
        } else {
            (&weight[..], &states[..])
        };
        rate(flops, budget, || {
            product(
                [m, n, k],
                &mut out,
                (lhs, lhs_stride),
                (rhs, rhs_stride),
                one,
            );
        })
    })
}

/// A large row-major product on every core.
fn large([m, n, k]: [usize; 3], budget: Duration) -> f64 {
    let lhs = vec![0.5f32; m * k];
    let rhs = vec![0.25f32; k * n];
    let mut out = vec![0f32; m * n];
    rate(2.0 * (m * n * k) as f64, budget, || {
        product(
            [m, n, k],
            &mut out,
            (&lhs, k),
            (&rhs, n),
            Parallelism::Rayon(0),
        );
    })
}

/// A stacked layer's input projection over a window and its two gradients, in the layouts the
/// fused projection runs them: `y = x · W` (`[rows, d_in] · [d_in, d_out]`), `∂x = ∂y · Wᵀ`
/// and `∂W = xᵀ · ∂y`, both transposed operands read in place. Returns the three rates and the
/// rate of the three together.
fn projection([rows, d_in, d_out]: [usize; 3], budget: Duration) -> [f64; 4] {
    let x = vec![0.5f32; rows * d_in];
    let weight = vec![0.25f32; d_in * d_out];
    let dy = vec![0.125f32; rows * d_out];
    let flops = 2.0 * (rows * d_in * d_out) as f64;
    let products = [
        // y = x · W
        (
            [rows, d_out, d_in],
            (&x[..], [d_in, 1]),
            (&weight[..], [d_out, 1]),
        ),
        // ∂x = ∂y · Wᵀ
        (
            [rows, d_in, d_out],
            (&dy[..], [d_out, 1]),
            (&weight[..], [1, d_out]),
        ),
        // ∂W = xᵀ · ∂y
        (
            [d_in, d_out, rows],
            (&x[..], [1, d_in]),
            (&dy[..], [d_out, 1]),
        ),
    ];
    let [forward, input, weights] = products.map(|(dims, lhs, rhs)| {
        let mut out = vec![0f32; dims[0] * dims[1]];
        rate(flops, budget, || {
            strided(dims, &mut out, lhs, rhs, Parallelism::Rayon(0));
        })
    });
    let together = 3.0 / (1.0 / forward + 1.0 / input + 1.0 / weights);
    [forward, input, weights, together]
}

/// Prints the rates.
pub fn products(threads: usize, budget: Duration) {
    println!("== matrix products alone (gemm crate, f32, {threads} threads), GFLOP/s");
    for hidden in [256, 512] {
        println!(
            "   recurrent [4H, H]·[H, 64], H {hidden}: rows split {:.0}, gate columns split {:.0}, \
             a direction a core {:.0}",
            recurrent(hidden, threads, Split::Rows, budget),
            recurrent(hidden, threads, Split::GateColumns, budget),
            recurrent(hidden, threads, Split::Directions, budget),
        );
    }
    for (hidden, rows) in [(256, 8), (256, 16), (256, 32), (256, 64), (512, 16)] {
        let [forward_turned, forward_plain, back_turned, back_plain] =
            layouts(hidden, rows, budget / 4);
        println!(
            "   a core's {rows} rows, H {hidden}, one core: forward transposed {forward_turned:.0}, \
             plain {forward_plain:.0}; BPTT transposed {back_turned:.0}, plain {back_plain:.0}"
        );
    }
    for shape in [[8192, 2048, 512], [8192, 1024, 256], [2048, 2048, 2048]] {
        println!(
            "   large {}x{}x{} (a layer's input projection over a window, or square): {:.0}",
            shape[0],
            shape[1],
            shape[2],
            large(shape, budget)
        );
    }
    for shape in [[6400, 512, 1024], [6400, 512, 2048]] {
        let [forward, input, weights, together] = projection(shape, budget);
        println!(
            "   input projection [{}x{}]·[{}x{}]: y = x·W {forward:.0}, ∂x = ∂y·Wᵀ {input:.0}, \
             ∂W = xᵀ·∂y {weights:.0}, the three {together:.0}",
            shape[0], shape[1], shape[1], shape[2]
        );
    }
}

/// The sizes of one training row of the tables: what its step's products are made of.
#[derive(Clone, Copy, Debug)]
pub struct StepSizes {
    /// The cell's gate blocks: 4 (LSTM), 3 (GRU), 1 (tanh).
    pub gates: usize,
    /// Stacked layers.
    pub layers: usize,
    /// Hidden units of a layer (each way).
    pub hidden: usize,
    /// Rows a step.
    pub batch: usize,
    /// Steps a window.
    pub window: usize,
    /// 1, or 2 for both directions.
    pub directions: usize,
    /// The output layer's classes.
    pub classes: usize,
}

/// A product `[m, n, k]` with its operands' strides, as [`strided`] takes it.
#[derive(Clone, Copy)]
struct Shape {
    dims: [usize; 3],
    lhs: [usize; 2],
    rhs: [usize; 2],
}

impl Shape {
    /// Row-major operands, `rhs` read transposed when `turned` (`[n, k]` stored).
    fn plain([m, n, k]: [usize; 3], turned: bool) -> Self {
        Shape {
            dims: [m, n, k],
            lhs: [k, 1],
            rhs: if turned { [1, k] } else { [n, 1] },
        }
    }

    fn flops(&self) -> f64 {
        2.0 * self.dims.iter().product::<usize>() as f64
    }
}

/// GFLOP/s of `shape` on `threads` cores, each core taking a part of it: its `m` rows split
/// ([`Split::Rows`]), its `n` columns split ([`Split::GateColumns`]), or each core a whole
/// product of its own ([`Split::Directions`]).
fn split(shape: Shape, threads: usize, by: Split, budget: Duration) -> f64 {
    let [m, n, k] = shape.dims;
    let extent = |[rows, columns]: [usize; 2], [row, column]: [usize; 2]| {
        (rows - 1) * row + (columns - 1) * column + 1
    };
    let lhs = vec![0.5f32; extent([m, k], shape.lhs)];
    let rhs = vec![0.25f32; extent([k, n], shape.rhs)];
    let [part_m, part_n] = match by {
        Split::Rows => [m.div_ceil(threads), n],
        Split::GateColumns => [m, n.div_ceil(threads)],
        Split::Directions => [m, n],
    };
    let mut outs = vec![vec![0f32; part_m * part_n]; threads];
    let flops = match by {
        Split::Directions => shape.flops() * threads as f64,
        _ => shape.flops(),
    };
    rate(flops, budget, || {
        use rayon::prelude::*;
        outs.par_iter_mut().enumerate().for_each(|(part, out)| {
            let (lhs_at, rhs_at, rows, columns) = match by {
                Split::Rows => {
                    let first = (part * part_m).min(m);
                    (first * shape.lhs[0], 0, part_m.min(m - first), n)
                }
                Split::GateColumns => {
                    let first = (part * part_n).min(n);
                    (0, first * shape.rhs[1], m, part_n.min(n - first))
                }
                Split::Directions => (0, 0, m, n),
            };
            if rows > 0 && columns > 0 {
                strided(
                    [rows, columns, k],
                    out,
                    (&lhs[lhs_at..], shape.lhs),
                    (&rhs[rhs_at..], shape.rhs),
                    Parallelism::None,
                );
            }
        });
    })
}

/// GFLOP/s of `shape` as one product on every core (the `gemm` crate's own split).
fn whole(shape: Shape, budget: Duration) -> f64 {
    let [m, n, k] = shape.dims;
    let lhs = vec![0.5f32; m * k];
    let rhs = vec![0.25f32; k * n];
    let mut out = vec![0f32; m * n];
    rate(shape.flops(), budget, || {
        strided(
            shape.dims,
            &mut out,
            (&lhs, shape.lhs),
            (&rhs, shape.rhs),
            Parallelism::Rayon(0),
        );
    })
}

/// The fastest this host runs a step's recurrent product of `batch` rows, `[batch, k] ·
/// [k, n]`, on `threads` cores: either layout (rows first, or turned, `[n, k] · [k, batch]`),
/// split by rows or by columns, one product on every core, and with two directions, a whole
/// product a core.
fn recurrent_best(
    [batch, n, k]: [usize; 3],
    directions: usize,
    threads: usize,
    budget: Duration,
) -> f64 {
    let layouts = [
        Shape::plain([batch, n, k], false),
        Shape::plain([n, batch, k], false),
    ];
    let mut best = 0f64;
    for shape in layouts {
        best = best.max(whole(shape, budget));
        if threads > 1 {
            best = best.max(split(shape, threads, Split::Rows, budget));
            best = best.max(split(shape, threads, Split::GateColumns, budget));
        }
        if directions > 1 && threads > 1 {
            best = best.max(split(shape, threads, Split::Directions, budget));
        }
    }
    best
}

/// A training step's products (those [`crate::gated::step_flops`] and
/// [`crate::bidirectional::step_flops`] count), each timed alone on this host's `threads` cores
/// in the fastest way the `gemm` crate runs it: per layer and direction the recurrent product
/// and BPTT's (per step, `batch` rows: [`recurrent_best`]) and `∂L/∂W_hh` over the window;
/// above the first layer the input projection over the window and its two gradients; the
/// output layer's three. Returns the step's FLOPs and the rate of them all together (FLOPs over
/// the sum of their times): the ceiling a step's products can reach here.
pub fn step_alone(sizes: StepSizes, threads: usize, budget: Duration) -> (f64, f64) {
    let StepSizes {
        gates,
        layers,
        hidden,
        batch,
        window,
        directions,
        classes,
    } = sizes;
    let (width, tokens, wide) = (gates * hidden, batch * window, directions * hidden);
    let budget = budget / 16;
    let mut parts: Vec<(f64, f64)> = Vec::new();
    let units = (layers * directions) as f64;
    // Per step: h(t-1)·W_hh, then δa·W_hhᵀ; over the window: h(t-1)ᵀ·δa.
    for shape in [[batch, width, hidden], [batch, hidden, width]] {
        let flops = units * window as f64 * 2.0 * (batch * width * hidden) as f64;
        parts.push((flops, recurrent_best(shape, directions, threads, budget)));
    }
    let weight = Shape {
        dims: [hidden, width, tokens],
        lhs: [1, hidden],
        rhs: [width, 1],
    };
    parts.push((units * weight.flops(), whole(weight, budget)));
    // y = x·W, ∂x = ∂y·Wᵀ, ∂W = xᵀ·∂y for the input projections above the first layer (per
    // direction) and for the output layer.
    let affine = |[d_in, d_out]: [usize; 2]| {
        [
            Shape::plain([tokens, d_out, d_in], false),
            Shape::plain([tokens, d_in, d_out], true),
            Shape {
                dims: [d_in, d_out, tokens],
                lhs: [1, d_in],
                rhs: [d_out, 1],
            },
        ]
    };
    let projections = ((layers - 1) * directions) as f64;
    if projections > 0.0 {
        for shape in affine([wide, width]) {
            parts.push((projections * shape.flops(), whole(shape, budget)));
        }
    }
    for shape in affine([wide, classes]) {
        parts.push((shape.flops(), whole(shape, budget)));
    }
    let flops: f64 = parts.iter().map(|(flops, _)| flops).sum();
    let seconds: f64 = parts.iter().map(|(flops, rate)| flops / (rate * 1e9)).sum();
    (flops, flops / seconds / 1e9)
}
