//! The autodiff side of the fused operations: each one a single graph node whose backward calls
//! the inner backend's hand-written backward pass.

use std::marker::PhantomData;

use burn::backend::Autodiff;
use burn::backend::autodiff::checkpoint::base::Checkpointer;
use burn::backend::autodiff::checkpoint::strategy::CheckpointStrategy;
use burn::backend::autodiff::grads::Gradients;
use burn::backend::autodiff::ops::{Backward, Ops, OpsKind};

use super::operation::{Dispatch, Forward, OperationInputs, operations};
use super::{RecurrenceBackend, rollout};
use burn::tensor::{Int, Tensor};

/// The graph node of operation `Op`: keeps what its forward pass saved.
struct Node<Op, const PARENTS: usize>(PhantomData<Op>);

impl<Op, const PARENTS: usize> std::fmt::Debug for Node<Op, PARENTS> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "fused {}", std::any::type_name::<Op>())
    }
}

impl<B, Op, const PARENTS: usize> Backward<B, PARENTS> for Node<Op, PARENTS>
where
    B: RecurrenceBackend,
    Op: Dispatch<PARENTS>,
{
    type State = Op::Saved<B>;

    fn backward(self, ops: Ops<Self::State, PARENTS>, grads: &mut Gradients, _: &mut Checkpointer) {
        let output_gradient = grads.consume::<B>(&ops.node);
        let gradients = Op::parent_gradients(Op::backward_on::<B>(ops.state, output_gradient));
        for (parent, gradient) in ops.parents.into_iter().zip(gradients) {
            if let Some(node) = parent {
                grads.register::<B>(node.id, gradient);
            }
        }
    }
}

/// The forward pass of `Op` under autodiff: the inner backend's, as one graph node. Nothing is
/// kept for the caller: the node keeps what the backward pass needs.
fn forward<B, C, Op, const PARENTS: usize>(
    input: Op::Input<Autodiff<B, C>>,
) -> Forward<Autodiff<B, C>, Op, PARENTS>
where
    B: RecurrenceBackend,
    C: CheckpointStrategy,
    Op: Dispatch<PARENTS>,
{
    let nodes = Op::parents(&input).map(|tensor| tensor.node.clone());
    let input = Op::inner(input);
    let node = Node::<Op, PARENTS>(PhantomData);
    match node.prepare::<C>(nodes).compute_bound().stateful() {
        OpsKind::Tracked(prep) => {
            let forward = Op::forward_on::<B>(input, true);
            let saved = forward
                .saved
                .expect("the forward pass was asked to keep it");
            Forward {
                output: prep.finish(saved, forward.output),
                constants: Op::outer_constants::<B, C>(forward.constants),
                saved: None,
            }
        }
        OpsKind::UnTracked(prep) => {
            let forward = Op::forward_on::<B>(input, false);
            Forward {
                output: prep.finish(forward.output),
                constants: Op::outer_constants::<B, C>(forward.constants),
                saved: None,
            }
        }
    }
}

/// Every registered operation's forward method as [`forward`].
macro_rules! autodiff_methods {
    ($($op:ident, $forward:ident, $backward:ident;)*) => {
        impl<B: RecurrenceBackend, C: CheckpointStrategy> RecurrenceBackend for Autodiff<B, C> {
            $(
                fn $forward(
                    input: <crate::fused::$op::Operation as OperationInputs<{ crate::fused::$op::PARENTS }>>::Input<Self>,
                    _keep: bool,
                ) -> Forward<Self, crate::fused::$op::Operation, { crate::fused::$op::PARENTS }> {
                    forward::<B, C, crate::fused::$op::Operation, { crate::fused::$op::PARENTS }>(input)
                }
            )*

            fn hidden_rollout(
                input: rollout::HiddenRollout<Self>,
                plan: &rollout::FeedingPlan,
            ) -> Tensor<Self, 2, Int> {
                Tensor::from_inner(B::hidden_rollout(input.inner(), plan))
            }

            fn output_rollout(
                input: rollout::OutputRollout<Self>,
                plan: &rollout::FeedingPlan,
            ) -> Tensor<Self, 2, Int> {
                Tensor::from_inner(B::output_rollout(input.inner(), plan))
            }

            fn dropout_mask(
                shape: burn::tensor::Shape,
                keep: f64,
                device: &Self::Device,
            ) -> burn::tensor::ops::FloatTensor<Self> {
                // A constant of the graph: no gradient flows to the mask.
                <Self as burn::tensor::backend::AutodiffBackend>::from_inner(B::dropout_mask(
                    shape, keep, device,
                ))
            }
        }
    };
}

operations!(autodiff_methods);
