//! What a fused operation is (a forward pass and its hand-written backward, each generic over the
//! backend, plus what autodiff needs to wrap the pair in one graph node), the registry of every
//! operation, and the backend trait it generates ([`RecurrenceBackend`]). The trait names each
//! operation's types and each operation's passes run on the trait: the two are defined together,
//! here, from the one table.

use burn::backend::Autodiff;
use burn::backend::autodiff::checkpoint::strategy::CheckpointStrategy;
use burn::tensor::DType;
use burn::tensor::backend::Backend;
use burn::tensor::ops::FloatTensor;

use burn::tensor::{Int, Tensor};

use super::{adam, dropout, rollout, squared_norm};

/// What a forward pass returns.
#[derive(Debug)]
pub struct Forward<B: Backend, Op: FusedOperation<PARENTS>, const PARENTS: usize> {
    /// The output gradients flow back from.
    pub output: FloatTensor<B>,
    /// Outputs that carry no gradient (`()` for most operations).
    pub constants: Op::Constants<B>,
    /// What the backward pass needs, when the caller asked to keep it.
    pub saved: Option<Op::Saved<B>>,
}

/// What a fused operation reads and what its backward pass returns, as autodiff sees them: the
/// float inputs gradients flow to (its parents), the input moved to the inner backend, and the
/// gradients in the parents' order. In each operation's module, the crate's `operation_inputs!`
/// macro declares the input and gradient structs and this implementation from one list.
///
/// `PARENTS` is the number of float inputs gradients flow to.
pub trait OperationInputs<const PARENTS: usize>:
    Sized + Send + Sync + std::fmt::Debug + 'static
{
    /// What the forward pass reads.
    type Input<B: Backend>;
    /// The gradients of the inputs gradients flow to.
    type Gradients<B: Backend>;

    /// Under autodiff: the inputs gradients flow to, in the order of
    /// [`OperationInputs::parent_gradients`].
    fn parents<B: Backend, C: CheckpointStrategy>(
        input: &Self::Input<Autodiff<B, C>>,
    ) -> [&FloatTensor<Autodiff<B, C>>; PARENTS];

    /// Under autodiff: the input on the inner backend.
    fn inner<B: Backend, C: CheckpointStrategy>(
        input: Self::Input<Autodiff<B, C>>,
    ) -> Self::Input<B>;

    /// The gradients in the order of [`OperationInputs::parents`].
    fn parent_gradients<B: Backend>(gradients: Self::Gradients<B>) -> [FloatTensor<B>; PARENTS];

    /// The float type the input is in (its first parent's): what a host kernel computes in.
    fn dtype<B: Backend>(input: &Self::Input<B>) -> DType;
}

/// One fused operation, declared in a module of its own: its inputs ([`OperationInputs`]), what
/// its forward pass saves, and both passes from Burn's tensor operations (what a backend without
/// kernels of its own runs, the GPU backends among them).
pub trait FusedOperation<const PARENTS: usize>: OperationInputs<PARENTS> {
    /// The outputs besides the differentiable one.
    type Constants<B: Backend>;
    /// What the forward pass keeps for the backward pass.
    type Saved<B: Backend>: Clone + Send + std::fmt::Debug + 'static;

    /// The forward pass; `keep`: also return what [`FusedOperation::backward`] needs.
    fn forward<B: RecurrenceBackend>(
        input: Self::Input<B>,
        keep: bool,
    ) -> Forward<B, Self, PARENTS>;

    /// The backward pass: the inputs' gradients from what the forward pass saved and the
    /// gradient of its output.
    fn backward<B: RecurrenceBackend>(
        saved: Self::Saved<B>,
        output_gradient: FloatTensor<B>,
    ) -> Self::Gradients<B>;

    /// Under autodiff: the inner backend's constant outputs as constants of the graph.
    fn outer_constants<B: Backend, C: CheckpointStrategy>(
        constants: Self::Constants<B>,
    ) -> Self::Constants<Autodiff<B, C>>;
}

/// Declares, in an operation's module, `Input` (the float inputs gradients flow to, then any
/// others after `;`), `Gradients` (one per float input, same names), the constant `PARENTS` (how
/// many) and [`OperationInputs`] for the module's `Operation`: the list of inputs is written once.
macro_rules! operation_inputs {
    (
        $(#[$input_meta:meta])*
        Input {
            $(#[$first_meta:meta])* $first:ident,
            $( $(#[$parent_meta:meta])* $parent:ident, )*
            $( ; $( $(#[$other_meta:meta])* $other:ident: $other_type:ty, )* )?
        }
        $(#[$gradients_meta:meta])*
        Gradients;
    ) => {
        /// How many of the inputs gradients flow to.
        pub const PARENTS: usize = [stringify!($first) $(, stringify!($parent))*].len();

        $(#[$input_meta])*
        #[derive(Debug)]
        pub struct Input<B: Backend> {
            $(#[$first_meta])*
            pub $first: FloatTensor<B>,
            $( $(#[$parent_meta])* pub $parent: FloatTensor<B>, )*
            $($( $(#[$other_meta])* pub $other: $other_type, )*)?
        }

        $(#[$gradients_meta])*
        #[derive(Debug)]
        pub struct Gradients<B: Backend> {
            #[doc = concat!("The gradient of [`Input::", stringify!($first), "`], shaped as it.")]
            pub $first: FloatTensor<B>,
            $(
                #[doc = concat!("The gradient of [`Input::", stringify!($parent), "`], shaped as it.")]
                pub $parent: FloatTensor<B>,
            )*
        }

        impl OperationInputs<PARENTS> for Operation {
            type Input<B: Backend> = Input<B>;
            type Gradients<B: Backend> = Gradients<B>;

            fn parents<B: Backend, C: CheckpointStrategy>(
                input: &Input<Autodiff<B, C>>,
            ) -> [&FloatTensor<Autodiff<B, C>>; PARENTS] {
                [&input.$first $(, &input.$parent)*]
            }

            fn inner<B: Backend, C: CheckpointStrategy>(input: Input<Autodiff<B, C>>) -> Input<B> {
                Input {
                    $first: input.$first.primitive,
                    $( $parent: input.$parent.primitive, )*
                    $($( $other: input.$other, )*)?
                }
            }

            fn parent_gradients<B: Backend>(gradients: Gradients<B>) -> [FloatTensor<B>; PARENTS] {
                [gradients.$first $(, gradients.$parent)*]
            }

            fn dtype<B: Backend>(input: &Input<B>) -> DType {
                input.$first.dtype()
            }
        }
    };
}
pub(crate) use operation_inputs;

/// Runs an operation through the backend's method for it, which a backend may override (the
/// CPU backends with host kernels, autodiff with one graph node). Generated by
/// [`operations!`] for every registered operation.
pub(crate) trait Dispatch<const PARENTS: usize>: FusedOperation<PARENTS> {
    /// `B`'s forward pass of this operation.
    fn forward_on<B: RecurrenceBackend>(
        input: Self::Input<B>,
        keep: bool,
    ) -> Forward<B, Self, PARENTS>;

    /// `B`'s backward pass of this operation.
    fn backward_on<B: RecurrenceBackend>(
        saved: Self::Saved<B>,
        output_gradient: FloatTensor<B>,
    ) -> Self::Gradients<B>;
}

/// The registry: every fused operation, one line each (the module that declares it, whose
/// `PARENTS` gives its number of differentiable inputs, and the names of the backend methods
/// that run it). `$then` is called with the list, so that the trait, every backend's
/// implementation and the dispatch come from one table.
macro_rules! operations {
    ($then:ident) => {
        $then! {
            tanh, tanh_forward, tanh_backward;
            recurrence, tanh_recurrence_forward, tanh_recurrence_backward;
            cross_entropy, cross_entropy_forward, cross_entropy_backward;
            output_loss, output_loss_forward, output_loss_backward;
            recurrence_loss, recurrence_loss_forward, recurrence_loss_backward;
            lookup, lookup_rows_forward, lookup_rows_backward;
            lstm, lstm_recurrence_forward, lstm_recurrence_backward;
            gru, gru_recurrence_forward, gru_recurrence_backward;
            projection, projection_forward, projection_backward;
            join, join_forward, join_backward;
            join_stacked, join_stacked_forward, join_stacked_backward;
            lstm_pair, lstm_pair_forward, lstm_pair_backward;
            gru_pair, gru_pair_forward, gru_pair_backward;
            tanh_pair, tanh_pair_forward, tanh_pair_backward;
        }
    };
}
pub(crate) use operations;

/// [`Dispatch`] for every registered operation.
macro_rules! dispatch {
    ($($op:ident, $forward:ident, $backward:ident;)*) => {
        $(
            impl Dispatch<{ crate::fused::$op::PARENTS }> for crate::fused::$op::Operation {
                fn forward_on<B: RecurrenceBackend>(
                    input: Self::Input<B>,
                    keep: bool,
                ) -> Forward<B, Self, { crate::fused::$op::PARENTS }> {
                    B::$forward(input, keep)
                }

                fn backward_on<B: RecurrenceBackend>(
                    saved: Self::Saved<B>,
                    output_gradient: FloatTensor<B>,
                ) -> Self::Gradients<B> {
                    B::$backward(saved, output_gradient)
                }
            }
        )*
    };
}

operations!(dispatch);

/// [`RecurrenceBackend`] with a forward and a backward method per registered operation.
macro_rules! declare_backend {
    ($($op:ident, $forward:ident, $backward:ident;)*) => {
        /// A backend that runs the recurrence, the loss and the token lookup as fused operations.
        ///
        /// Every method has a generic default (the operation's [`FusedOperation`] passes); the
        /// CPU backends override them with host kernels, autodiff with one graph node each. A
        /// backend of your own needs only `impl RecurrenceBackend for MyBackend {}`.
        pub trait RecurrenceBackend: Backend {
            $(
                #[doc = concat!("The forward pass of [`crate::fused::", stringify!($op), "::Operation`].")]
                fn $forward(
                    input: <crate::fused::$op::Operation as OperationInputs<{ crate::fused::$op::PARENTS }>>::Input<Self>,
                    keep: bool,
                ) -> Forward<Self, crate::fused::$op::Operation, { crate::fused::$op::PARENTS }> {
                    <crate::fused::$op::Operation as FusedOperation<{ crate::fused::$op::PARENTS }>>::forward::<Self>(input, keep)
                }

                #[doc = concat!("The backward pass of [`crate::fused::", stringify!($op), "::Operation`].")]
                fn $backward(
                    saved: <crate::fused::$op::Operation as FusedOperation<{ crate::fused::$op::PARENTS }>>::Saved<Self>,
                    output_gradient: FloatTensor<Self>,
                ) -> <crate::fused::$op::Operation as OperationInputs<{ crate::fused::$op::PARENTS }>>::Gradients<Self> {
                    <crate::fused::$op::Operation as FusedOperation<{ crate::fused::$op::PARENTS }>>::backward::<Self>(
                        saved,
                        output_gradient,
                    )
                }
            )*

            /// Pattern 1's rollout: the symbol every step is fed under `plan`
            /// ([`rollout::FeedingPlan`]), `[batch, time]`; no gradient.
            fn hidden_rollout(
                input: rollout::HiddenRollout<Self>,
                plan: &rollout::FeedingPlan,
            ) -> Tensor<Self, 2, Int> {
                rollout::hidden_generic(input, plan)
            }

            /// Pattern 2's rollout: the symbol fed back at every step under `plan`,
            /// `[batch, time]`; no gradient.
            fn output_rollout(
                input: rollout::OutputRollout<Self>,
                plan: &rollout::FeedingPlan,
            ) -> Tensor<Self, 2, Int> {
                rollout::output_generic(input, plan)
            }

            /// One Adam step of one parameter ([`adam::AdamStep`]); no gradient.
            fn adam_step(step: adam::AdamStep<Self>) -> adam::AdamUpdate<Self> {
                adam::generic(step)
            }

            /// `Σ g²` over a tensor's values ([`squared_norm`]): what global-norm clipping adds
            /// over every gradient; no gradient.
            fn squared_norm(tensor: FloatTensor<Self>) -> f64 {
                squared_norm::generic::<Self>(tensor)
            }

            /// Dropout's mask of `shape` ([`dropout`]): each value `1/keep` with probability
            /// `keep`, else zero, from the backend's seeded generator; no gradient.
            fn dropout_mask(
                shape: burn::tensor::Shape,
                keep: f64,
                device: &Self::Device,
            ) -> FloatTensor<Self> {
                dropout::generic::<Self>(shape, keep, device)
            }
        }
    };
}

operations!(declare_backend);

#[cfg(feature = "wgpu")]
impl RecurrenceBackend for burn::backend::Wgpu {}
#[cfg(feature = "cuda")]
impl RecurrenceBackend for burn::backend::Cuda {}
