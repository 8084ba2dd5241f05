//! Both directions' outputs side by side, `y(r) = [h(r); g(reads(r))]`, and its backward: what a
//! bidirectional layer hands the next layer and the output layer. The backward direction ran
//! each row turned within its own length, so its outputs are put back in time order by the same
//! permutation (`reads`) that turned its input. One pass writes the joined rows and one pass
//! splits their gradient, on every core; as Burn's `select` and `cat` the gradient of the
//! concatenation came back as strided halves that flex copied one element at a time
//! (BENCHMARKS.md).

#[cfg(host_kernels)]
mod kernel;
pub mod stacked;

use super::prelude::*;

/// The fused join of both directions.
#[derive(Debug)]
pub struct Operation;

operation_inputs! {
    /// What the join reads.
    Input {
        /// The forward direction's `h`, `[rows_ahead, width_ahead]`: the first `rows` rows are
        /// read (a fused LSTM's output keeps `c(τ)` after them).
        ahead,
        /// The backward direction's `g` in the order it ran, `[rows_behind, width_behind]`: the
        /// first `rows` rows are read.
        behind,
        ;
        /// `[rows]`, a permutation of `0..rows`: output row `r` takes `behind`'s row `reads(r)`.
        reads: IntTensor<B>,
    }
    /// `∂L/∂h` and `∂L/∂g` (zero on the rows not read).
    Gradients;
}

/// What the forward pass keeps for the backward pass.
#[derive(Debug, Clone)]
pub struct Saved<B: Backend> {
    /// The permutation.
    pub reads: IntTensor<B>,
    /// `[rows, width]` of `ahead` and of `behind`.
    pub shapes: [[usize; 2]; 2],
}

impl FusedOperation<PARENTS> for Operation {
    type Constants<B: Backend> = ();
    type Saved<B: Backend> = Saved<B>;

    fn forward<B: RecurrenceBackend>(input: Input<B>, keep: bool) -> Forward<B, Self, PARENTS> {
        let rows = input.reads.shape().dims::<1>()[0];
        let ahead = float::<B, 2>(input.ahead);
        let behind = float::<B, 2>(input.behind);
        let shapes = [ahead.dims(), behind.dims()];
        let reads = Tensor::<B, 1, Int>::from_primitive(input.reads.clone());
        let ahead = ahead.narrow(0, 0, rows);
        let behind = behind.narrow(0, 0, rows).select(0, reads);
        Forward {
            output: primitive(Tensor::cat(vec![ahead, behind], 1)),
            constants: (),
            saved: keep.then_some(Saved {
                reads: input.reads,
                shapes,
            }),
        }
    }

    fn backward<B: RecurrenceBackend>(saved: Saved<B>, gradient: FloatTensor<B>) -> Gradients<B> {
        let gradient = float::<B, 2>(gradient);
        let device = gradient.device();
        let [[rows_ahead, width_ahead], [rows_behind, width_behind]] = saved.shapes;
        let rows = gradient.dims()[0];
        let reads = Tensor::<B, 1, Int>::from_primitive(saved.reads);
        let ahead = gradient.clone().slice([0..rows, 0..width_ahead]);
        let behind = gradient.slice([0..rows, width_ahead..width_ahead + width_behind]);
        // Row `reads(r)` of `g` went to row `r`: its gradient comes back by a scatter.
        let behind = Tensor::zeros([rows, width_behind], &device).select_assign(
            0,
            reads,
            behind,
            burn::tensor::IndexingUpdateOp::Add,
        );
        let pad = |part: Tensor<B, 2>, all_rows: usize, width: usize| {
            if all_rows == rows {
                part
            } else {
                Tensor::cat(
                    vec![part, Tensor::zeros([all_rows - rows, width], &device)],
                    0,
                )
            }
        };
        Gradients {
            ahead: primitive(pad(ahead, rows_ahead, width_ahead)),
            behind: primitive(pad(behind, rows_behind, width_behind)),
        }
    }

    fn outer_constants<B: Backend, C: CheckpointStrategy>(_: ()) {}
}

#[cfg(host_kernels)]
impl HostKernel<PARENTS> for Operation {
    fn forward<B: HostBackend, E: Real>(input: Input<B>, keep: bool) -> Forward<B, Self, PARENTS> {
        let device = B::float_device(&input.ahead);
        let shapes = [input.ahead.shape().dims(), input.behind.shape().dims()];
        let reads = read_ids::<B>(input.reads.clone());
        let [[_, width_ahead], [_, width_behind]] = shapes;
        let joined = kernel::forward(
            (&B::view::<E>(&input.ahead), width_ahead),
            (&B::view::<E>(&input.behind), width_behind),
            &reads,
        );
        Forward {
            output: write::<B, E>(
                joined,
                Shape::new([reads.len(), width_ahead + width_behind]),
                &device,
            ),
            constants: (),
            saved: keep.then_some(Saved {
                reads: input.reads,
                shapes,
            }),
        }
    }

    fn backward<B: HostBackend, E: Real>(
        saved: Saved<B>,
        gradient: FloatTensor<B>,
    ) -> Gradients<B> {
        let device = B::float_device(&gradient);
        let reads = read_ids::<B>(saved.reads);
        let [ahead, behind] = saved.shapes;
        let (d_ahead, d_behind) = kernel::backward(&B::view::<E>(&gradient), &reads, saved.shapes);
        Gradients {
            ahead: write::<B, E>(d_ahead, Shape::new(ahead), &device),
            behind: write::<B, E>(d_behind, Shape::new(behind), &device),
        }
    }
}

/// Both directions side by side: `ahead` `[rows_ahead, width_ahead]` (`h`, time order), `behind`
/// `[rows_behind, width_behind]` (`g` in the order it ran), `reads` `[rows]` a permutation of
/// `0..rows` (each at most both row counts); returns `[rows, width_ahead + width_behind]`, row `r`
/// `[ahead(r); behind(reads(r))]`.
pub fn join_directions<B: RecurrenceBackend>(
    ahead: Tensor<B, 2>,
    behind: Tensor<B, 2>,
    reads: Tensor<B, 1, Int>,
) -> Tensor<B, 2> {
    let input = Input {
        ahead: primitive(ahead),
        behind: primitive(behind),
        reads: reads.into_primitive(),
    };
    float(B::join_forward(input, false).output)
}
