//! The join of a pair's stacked outputs ([`crate::fused::pair`]): both directions'
//! `[steps, batch, H]` as one `[2, steps, batch, H]`, joined as [`super::join_directions`] joins
//! two tensors, its gradient one stacked tensor written in one pass (cut into two views of the
//! pair, the halves' gradients would come back as two zero-filled stacked tensors that autodiff
//! sums).

use super::super::prelude::*;
#[cfg(host_kernels)]
use super::kernel;

/// The fused join of a pair's stacked outputs.
#[derive(Debug)]
pub struct Operation;

operation_inputs! {
    /// What the join reads.
    Input {
        /// Both directions' outputs, `[2, steps, batch, width]`: the forward one's `h` (time
        /// order), then the backward one's `g` in the order it ran; the first `rows` rows of
        /// each (`[steps · batch, width]`) are read.
        pair,
        ;
        /// `[rows]`, a permutation of `0..rows`: output row `r` takes `g`'s row `reads(r)`.
        reads: IntTensor<B>,
    }
    /// `∂L/∂pair` (zero on the rows not read).
    Gradients;
}

/// What the forward pass keeps for the backward pass.
#[derive(Debug, Clone)]
pub struct Saved<B: Backend> {
    /// The permutation.
    pub reads: IntTensor<B>,
    /// `[2, steps, batch, width]`.
    pub dims: [usize; 4],
}

/// `[steps · batch, width]`, the rows of each half.
fn half_shape([_, steps, batch, width]: [usize; 4]) -> [usize; 2] {
    [steps * batch, width]
}

impl FusedOperation<PARENTS> for Operation {
    type Constants<B: Backend> = ();
    type Saved<B: Backend> = Saved<B>;

    /// [`super::Operation`]'s generic pass on the two halves.
    fn forward<B: RecurrenceBackend>(input: Input<B>, keep: bool) -> Forward<B, Self, PARENTS> {
        let pair = float::<B, 4>(input.pair);
        let dims = pair.dims();
        let half = |k: usize| primitive(pair.clone().narrow(0, k, 1).reshape(half_shape(dims)));
        let joined = <super::Operation as FusedOperation<{ super::PARENTS }>>::forward::<B>(
            super::Input {
                ahead: half(0),
                behind: half(1),
                reads: input.reads.clone(),
            },
            false,
        );
        Forward {
            output: joined.output,
            constants: (),
            saved: keep.then_some(Saved {
                reads: input.reads,
                dims,
            }),
        }
    }

    fn backward<B: RecurrenceBackend>(saved: Saved<B>, gradient: FloatTensor<B>) -> Gradients<B> {
        let halves = <super::Operation as FusedOperation<{ super::PARENTS }>>::backward::<B>(
            super::Saved {
                reads: saved.reads,
                shapes: [half_shape(saved.dims); 2],
            },
            gradient,
        );
        let pair = Tensor::cat(
            vec![float::<B, 2>(halves.ahead), float::<B, 2>(halves.behind)],
            0,
        );
        Gradients {
            pair: primitive(pair.reshape(saved.dims)),
        }
    }

    fn outer_constants<B: Backend, C: CheckpointStrategy>(_: ()) {}
}

#[cfg(host_kernels)]
impl HostKernel<PARENTS> for Operation {
    fn forward<B: HostBackend, E: Real>(input: Input<B>, keep: bool) -> Forward<B, Self, PARENTS> {
        let device = B::float_device(&input.pair);
        let dims = input.pair.shape().dims::<4>();
        let [rows, width] = half_shape(dims);
        let reads = read_ids::<B>(input.reads.clone());
        let pair = B::view::<E>(&input.pair);
        let (ahead, behind) = pair.split_at(rows * width);
        let joined = kernel::forward((ahead, width), (behind, width), &reads);
        Forward {
            output: write::<B, E>(joined, Shape::new([reads.len(), 2 * width]), &device),
            constants: (),
            saved: keep.then_some(Saved {
                reads: input.reads,
                dims,
            }),
        }
    }

    fn backward<B: HostBackend, E: Real>(
        saved: Saved<B>,
        gradient: FloatTensor<B>,
    ) -> Gradients<B> {
        let device = B::float_device(&gradient);
        let reads = read_ids::<B>(saved.reads);
        let [rows, width] = half_shape(saved.dims);
        let mut pair = vec![E::default(); 2 * rows * width];
        let (ahead, behind) = pair.split_at_mut(rows * width);
        let shapes = [half_shape(saved.dims); 2];
        kernel::backward_into(&B::view::<E>(&gradient), &reads, shapes, [ahead, behind]);
        Gradients {
            pair: write::<B, E>(pair, Shape::new(saved.dims), &device),
        }
    }
}

/// Both directions of a pair side by side: `pair` `[2, steps, batch, width]` (`h` in time order,
/// then `g` in the order it ran), `reads` `[rows]` a permutation of `0..rows` (`rows` at most
/// `steps · batch`); returns `[rows, 2 · width]`, row `r` `[h(r); g(reads(r))]`.
pub fn join_stacked_directions<B: RecurrenceBackend>(
    pair: Tensor<B, 4>,
    reads: Tensor<B, 1, Int>,
) -> Tensor<B, 2> {
    let input = Input {
        pair: primitive(pair),
        reads: reads.into_primitive(),
    };
    float(B::join_stacked_forward(input, false).output)
}
