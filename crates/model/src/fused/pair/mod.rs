//! Two recurrences at once, each on its own half of the cores: both directions of a
//! bidirectional layer. The directions never read each other, so instead of each splitting
//! every step's product by batch rows over all the cores (the narrow side of `[gates · H, H] ·
//! [H, rows]` then half the batch), each runs the whole batch on its half, its product twice as
//! wide and no core waiting for another (`speed -- products`: "a direction a core").
//!
//! A pair is one operation (one autodiff node) whose output is both outputs stacked,
//! `[2, steps, batch, H]`, so that its backward runs both BPTTs at once too. Its generic pass runs
//! the two operations' generic passes one after the other (what the GPU backends run); its host
//! kernel runs each operation's host kernel inside a thread pool of its own half of the threads,
//! where the kernels see as many threads as that pool holds.

use super::prelude::*;

#[cfg(host_kernels)]
mod halves;

/// Writes a pair operation of a recurrence operation `$inner` with `$parents` float inputs
/// (`$both` = twice as many): `Input` holds the two operations' inputs, `ahead` and `behind`;
/// the output is their outputs stacked, `[2, steps, batch, H]`, both of one shape.
macro_rules! pair_operation {
    ($inner:ident, $method:ident, $parents:literal, $both:literal) => {
        use crate::fused::prelude::*;
        use crate::fused::$inner as inner;

        /// Both directions' recurrences as one operation.
        #[derive(Debug)]
        pub struct Operation;

        /// How many of the inputs gradients flow to: both operations'.
        pub const PARENTS: usize = $both;

        /// The two recurrences' inputs.
        #[derive(Debug)]
        pub struct Input<B: Backend> {
            /// The forward direction's.
            pub ahead: inner::Input<B>,
            /// The backward direction's (its rows already turned in time).
            pub behind: inner::Input<B>,
        }

        /// The two recurrences' inputs' gradients.
        #[derive(Debug)]
        pub struct Gradients<B: Backend> {
            /// The forward direction's.
            pub ahead: inner::Gradients<B>,
            /// The backward direction's.
            pub behind: inner::Gradients<B>,
        }

        /// What the two forward passes keep.
        #[derive(Debug, Clone)]
        pub struct Saved<B: Backend> {
            /// The forward direction's.
            pub ahead: inner::Saved<B>,
            /// The backward direction's.
            pub behind: inner::Saved<B>,
        }

        /// Both recurrences, each on half of the cores where the backend has host kernels:
        /// their outputs stacked, `[2, steps, batch, H]` (`ahead`'s first).
        pub fn recurrences<B: RecurrenceBackend>(
            ahead: inner::Input<B>,
            behind: inner::Input<B>,
        ) -> Tensor<B, 4> {
            float(B::$method(Input { ahead, behind }, false).output)
        }

        /// `[a; b]` of two arrays of `$parents`.
        fn chained<T>(a: [T; $parents], b: [T; $parents]) -> [T; $both] {
            let mut both = a.into_iter().chain(b);
            std::array::from_fn(|_| both.next().expect("twice $parents values"))
        }

        impl OperationInputs<$both> for Operation {
            type Input<B: Backend> = Input<B>;
            type Gradients<B: Backend> = Gradients<B>;

            fn parents<B: Backend, C: CheckpointStrategy>(
                input: &Input<Autodiff<B, C>>,
            ) -> [&FloatTensor<Autodiff<B, C>>; $both] {
                chained(
                    inner::Operation::parents(&input.ahead),
                    inner::Operation::parents(&input.behind),
                )
            }

            fn inner<B: Backend, C: CheckpointStrategy>(input: Input<Autodiff<B, C>>) -> Input<B> {
                Input {
                    ahead: inner::Operation::inner(input.ahead),
                    behind: inner::Operation::inner(input.behind),
                }
            }

            fn parent_gradients<B: Backend>(gradients: Gradients<B>) -> [FloatTensor<B>; $both] {
                chained(
                    inner::Operation::parent_gradients(gradients.ahead),
                    inner::Operation::parent_gradients(gradients.behind),
                )
            }

            fn dtype<B: Backend>(input: &Input<B>) -> DType {
                inner::Operation::dtype(&input.ahead)
            }
        }

        impl FusedOperation<$both> for Operation {
            type Constants<B: Backend> = ();
            type Saved<B: Backend> = Saved<B>;

            /// The two generic passes, one after the other.
            fn forward<B: RecurrenceBackend>(
                input: Input<B>,
                keep: bool,
            ) -> Forward<B, Self, $both> {
                let ahead =
                    <inner::Operation as FusedOperation<$parents>>::forward(input.ahead, keep);
                let behind =
                    <inner::Operation as FusedOperation<$parents>>::forward(input.behind, keep);
                Forward {
                    output: super::stacked_output::<B>(ahead.output, behind.output),
                    constants: (),
                    saved: ahead
                        .saved
                        .zip(behind.saved)
                        .map(|(ahead, behind)| Saved { ahead, behind }),
                }
            }

            fn backward<B: RecurrenceBackend>(
                saved: Saved<B>,
                output_gradient: FloatTensor<B>,
            ) -> Gradients<B> {
                let [ahead, behind] = super::halves_of::<B>(output_gradient);
                Gradients {
                    ahead: <inner::Operation as FusedOperation<$parents>>::backward(
                        saved.ahead,
                        ahead,
                    ),
                    behind: <inner::Operation as FusedOperation<$parents>>::backward(
                        saved.behind,
                        behind,
                    ),
                }
            }

            fn outer_constants<B: Backend, C: CheckpointStrategy>(_: ()) {}
        }

        #[cfg(host_kernels)]
        impl HostKernel<$both> for Operation {
            /// Each host kernel on its own half of the threads, at once; the outputs stacked
            /// by both halves too.
            fn forward<B: HostBackend, E: Real>(
                input: Input<B>,
                keep: bool,
            ) -> Forward<B, Self, $both> {
                let (ahead, behind) = super::halves::at_once(
                    || {
                        <inner::Operation as HostKernel<$parents>>::forward::<B, E>(
                            input.ahead,
                            keep,
                        )
                    },
                    || {
                        <inner::Operation as HostKernel<$parents>>::forward::<B, E>(
                            input.behind,
                            keep,
                        )
                    },
                );
                Forward {
                    output: super::halves::stacked::<B, E>(&ahead.output, &behind.output),
                    constants: (),
                    saved: ahead
                        .saved
                        .zip(behind.saved)
                        .map(|(ahead, behind)| Saved { ahead, behind }),
                }
            }

            fn backward<B: HostBackend, E: Real>(
                saved: Saved<B>,
                output_gradient: FloatTensor<B>,
            ) -> Gradients<B> {
                // Views of the two halves: each kernel reads its own on its own threads.
                let [ahead_gradient, behind_gradient] = super::halves_of::<B>(output_gradient);
                let (ahead, behind) = super::halves::at_once(
                    || {
                        <inner::Operation as HostKernel<$parents>>::backward::<B, E>(
                            saved.ahead,
                            ahead_gradient,
                        )
                    },
                    || {
                        <inner::Operation as HostKernel<$parents>>::backward::<B, E>(
                            saved.behind,
                            behind_gradient,
                        )
                    },
                );
                Gradients { ahead, behind }
            }
        }
    };
}

/// Both directions of a bidirectional tanh layer ([`crate::fused::recurrence`]): output
/// `[2, time, batch, H]`.
pub mod tanh {
    pair_operation!(recurrence, tanh_pair_forward, 3, 6);
}

/// Both directions of a bidirectional LSTM layer ([`crate::fused::lstm`]): output
/// `[2, time + 1, batch, H]`, each direction's `h(1) … h(τ)` then `c(τ)`.
pub mod lstm {
    pair_operation!(lstm, lstm_pair_forward, 4, 8);
}

/// Both directions of a bidirectional GRU layer ([`crate::fused::gru`]): output
/// `[2, time, batch, H]`.
pub mod gru {
    pair_operation!(gru, gru_pair_forward, 4, 8);
}

/// The two outputs stacked, `[2, steps, batch, H]` from two `[steps, batch, H]`.
fn stacked_output<B: Backend>(ahead: FloatTensor<B>, behind: FloatTensor<B>) -> FloatTensor<B> {
    primitive(Tensor::stack::<4>(
        vec![float::<B, 3>(ahead), float::<B, 3>(behind)],
        0,
    ))
}

/// The stacked output's gradient cut back into the two directions', `[steps, batch, H]` each.
fn halves_of<B: Backend>(gradient: FloatTensor<B>) -> [FloatTensor<B>; 2] {
    halves(float::<B, 4>(gradient)).map(primitive)
}

/// A pair's two halves, `[steps, batch, H]` each, of `[2, steps, batch, H]` (views, no copy).
pub(crate) fn halves<B: Backend>(both: Tensor<B, 4>) -> [Tensor<B, 3>; 2] {
    let [_, steps, batch, width] = both.dims();
    let half = |k: usize| both.clone().narrow(0, k, 1).reshape([steps, batch, width]);
    [half(0), half(1)]
}
