//! The autodiff side of the fused operations: each one a single node whose backward calls the
//! inner backend's hand-written gradient.

use burn::backend::Autodiff;
use burn::backend::autodiff::checkpoint::base::Checkpointer;
use burn::backend::autodiff::checkpoint::strategy::CheckpointStrategy;
use burn::backend::autodiff::grads::Gradients;
use burn::backend::autodiff::ops::{Backward, Ops, OpsKind};
use burn::tensor::TensorMetadata;
use burn::tensor::backend::{AutodiffBackend, Backend};
use burn::tensor::ops::{FloatTensor, IntTensor};

use super::RecurrenceBackend;

/// The autodiff node of [`RecurrenceBackend::tanh_activation`]: keeps the output `y`.
#[derive(Debug)]
struct TanhBackward;

impl<B: Backend> Backward<B, 1> for TanhBackward {
    type State = FloatTensor<B>;

    fn backward(self, ops: Ops<Self::State, 1>, grads: &mut Gradients, _: &mut Checkpointer) {
        let [parent] = ops.parents;
        let gradient = grads.consume::<B>(&ops.node);
        if let Some(node) = parent {
            let output = ops.state;
            let slope = B::float_add_scalar(
                B::float_neg(B::float_mul(output.clone(), output)),
                1f32.into(),
            );
            grads.register::<B>(node.id, B::float_mul(gradient, slope));
        }
    }
}

/// The single autodiff node of the fused recurrence.
#[derive(Debug)]
struct TanhRecurrenceBackward;

impl<B: RecurrenceBackend> Backward<B, 3> for TanhRecurrenceBackward {
    /// `h(1) … h(τ)`, `h(0)` and `W`.
    type State = (FloatTensor<B>, FloatTensor<B>, FloatTensor<B>);

    fn backward(self, ops: Ops<Self::State, 3>, grads: &mut Gradients, _: &mut Checkpointer) {
        let [projected_node, initial_node, weight_node] = ops.parents;
        let output_gradient = grads.consume::<B>(&ops.node);
        let (states, initial, weight) = ops.state;
        let (projected_gradient, initial_gradient, weight_gradient) =
            B::tanh_recurrence_backward(states, initial, weight, output_gradient);
        if let Some(node) = projected_node {
            grads.register::<B>(node.id, projected_gradient);
        }
        if let Some(node) = initial_node {
            grads.register::<B>(node.id, initial_gradient);
        }
        if let Some(node) = weight_node {
            grads.register::<B>(node.id, weight_gradient);
        }
    }
}

/// The autodiff node of the fused cross-entropy: keeps the logits gradient.
#[derive(Debug)]
struct CrossEntropyBackward;

impl<B: RecurrenceBackend> Backward<B, 1> for CrossEntropyBackward {
    type State = FloatTensor<B>;

    fn backward(self, ops: Ops<Self::State, 1>, grads: &mut Gradients, _: &mut Checkpointer) {
        let [parent] = ops.parents;
        let loss_gradient = grads.consume::<B>(&ops.node);
        if let Some(node) = parent {
            grads.register::<B>(node.id, B::cross_entropy_backward(ops.state, loss_gradient));
        }
    }
}

/// The autodiff node of the fused output layer and loss: keeps `h`, `V` and the per-row
/// logits gradient.
#[derive(Debug)]
struct OutputCrossEntropyBackward;

impl<B: RecurrenceBackend> Backward<B, 3> for OutputCrossEntropyBackward {
    type State = (FloatTensor<B>, FloatTensor<B>, FloatTensor<B>);

    fn backward(self, ops: Ops<Self::State, 3>, grads: &mut Gradients, _: &mut Checkpointer) {
        let [hidden_node, weight_node, bias_node] = ops.parents;
        let loss_gradient = grads.consume::<B>(&ops.node);
        let (hidden, weight, logits_gradient) = ops.state;
        let (hidden_gradient, weight_gradient, bias_gradient) =
            B::output_cross_entropy_backward(hidden, weight, logits_gradient, loss_gradient);
        if let Some(node) = hidden_node {
            grads.register::<B>(node.id, hidden_gradient);
        }
        if let Some(node) = weight_node {
            grads.register::<B>(node.id, weight_gradient);
        }
        if let Some(node) = bias_node {
            grads.register::<B>(node.id, bias_gradient);
        }
    }
}

/// The autodiff node of the fused recurrence, output layer and loss: keeps the states, the
/// logits gradient, `h(0)`, `W` and `V`.
#[derive(Debug)]
struct RecurrenceLossBackward;

impl<B: RecurrenceBackend> Backward<B, 5> for RecurrenceLossBackward {
    type State = (
        FloatTensor<B>,
        FloatTensor<B>,
        FloatTensor<B>,
        FloatTensor<B>,
        FloatTensor<B>,
    );

    fn backward(self, ops: Ops<Self::State, 5>, grads: &mut Gradients, _: &mut Checkpointer) {
        let loss_gradient = grads.consume::<B>(&ops.node);
        let (states, logits_gradient, initial, weight, output_weight) = ops.state;
        let gradients = B::tanh_recurrence_loss_backward(
            states,
            logits_gradient,
            initial,
            weight,
            output_weight,
            loss_gradient,
        );
        let gradients = [
            gradients.0,
            gradients.1,
            gradients.2,
            gradients.3,
            gradients.4,
        ];
        for (parent, gradient) in ops.parents.into_iter().zip(gradients) {
            if let Some(node) = parent {
                grads.register::<B>(node.id, gradient);
            }
        }
    }
}

/// The autodiff node of the fused lookup: keeps the ids and the table's row count.
#[derive(Debug)]
struct LookupRowsBackward;

impl<B: RecurrenceBackend> Backward<B, 1> for LookupRowsBackward {
    type State = (IntTensor<B>, usize);

    fn backward(self, ops: Ops<Self::State, 1>, grads: &mut Gradients, _: &mut Checkpointer) {
        let [parent] = ops.parents;
        let rows_gradient = grads.consume::<B>(&ops.node);
        if let Some(node) = parent {
            let (ids, vocab) = ops.state;
            grads.register::<B>(node.id, B::lookup_rows_backward(ids, rows_gradient, vocab));
        }
    }
}

impl<B: RecurrenceBackend, C: CheckpointStrategy> RecurrenceBackend for Autodiff<B, C> {
    fn tanh_activation(x: FloatTensor<Self>) -> FloatTensor<Self> {
        match TanhBackward
            .prepare::<C>([x.node.clone()])
            .compute_bound()
            .stateful()
        {
            OpsKind::Tracked(prep) => {
                let output = B::tanh_activation(x.primitive);
                prep.finish(output.clone(), output)
            }
            OpsKind::UnTracked(prep) => prep.finish(B::tanh_activation(x.primitive)),
        }
    }

    fn tanh_recurrence(
        projected: FloatTensor<Self>,
        initial: FloatTensor<Self>,
        weight: FloatTensor<Self>,
    ) -> FloatTensor<Self> {
        let nodes = [
            projected.node.clone(),
            initial.node.clone(),
            weight.node.clone(),
        ];
        match TanhRecurrenceBackward
            .prepare::<C>(nodes)
            .compute_bound()
            .stateful()
        {
            OpsKind::Tracked(prep) => {
                let states = B::tanh_recurrence(
                    projected.primitive,
                    initial.primitive.clone(),
                    weight.primitive.clone(),
                );
                prep.finish(
                    (states.clone(), initial.primitive, weight.primitive),
                    states,
                )
            }
            OpsKind::UnTracked(prep) => prep.finish(B::tanh_recurrence(
                projected.primitive,
                initial.primitive,
                weight.primitive,
            )),
        }
    }

    fn cross_entropy(
        logits: FloatTensor<Self>,
        targets: IntTensor<Self>,
        keep_gradient: bool,
    ) -> (FloatTensor<Self>, Option<FloatTensor<Self>>) {
        let constant = <Self as AutodiffBackend>::from_inner;
        match CrossEntropyBackward
            .prepare::<C>([logits.node.clone()])
            .compute_bound()
            .stateful()
        {
            OpsKind::Tracked(prep) => {
                let (losses, gradient) = B::cross_entropy(logits.primitive, targets, true);
                let gradient = gradient.expect("asked for");
                let kept = keep_gradient.then(|| constant(gradient.clone()));
                (prep.finish(gradient, losses), kept)
            }
            OpsKind::UnTracked(prep) => {
                let (losses, gradient) = B::cross_entropy(logits.primitive, targets, keep_gradient);
                (prep.finish(losses), gradient.map(constant))
            }
        }
    }

    fn lookup_rows(table: FloatTensor<Self>, ids: IntTensor<Self>) -> FloatTensor<Self> {
        match LookupRowsBackward
            .prepare::<C>([table.node.clone()])
            .compute_bound()
            .stateful()
        {
            OpsKind::Tracked(prep) => {
                let vocab = table.primitive.shape().dims::<2>()[0];
                let rows = B::lookup_rows(table.primitive, ids.clone());
                prep.finish((ids, vocab), rows)
            }
            OpsKind::UnTracked(prep) => prep.finish(B::lookup_rows(table.primitive, ids)),
        }
    }

    fn output_cross_entropy(
        hidden: FloatTensor<Self>,
        weight: FloatTensor<Self>,
        bias: FloatTensor<Self>,
        targets: IntTensor<Self>,
        keep_gradient: bool,
    ) -> (FloatTensor<Self>, Option<FloatTensor<Self>>) {
        let nodes = [hidden.node.clone(), weight.node.clone(), bias.node.clone()];
        let (losses, gradient) = match OutputCrossEntropyBackward
            .prepare::<C>(nodes)
            .compute_bound()
            .stateful()
        {
            OpsKind::Tracked(prep) => {
                let (losses, gradient) = B::output_cross_entropy(
                    hidden.primitive.clone(),
                    weight.primitive.clone(),
                    bias.primitive,
                    targets,
                    true,
                );
                let gradient = gradient.expect("asked for");
                let losses = prep.finish(
                    (hidden.primitive, weight.primitive, gradient.clone()),
                    losses,
                );
                (losses, keep_gradient.then_some(gradient))
            }
            OpsKind::UnTracked(prep) => {
                let (losses, gradient) = B::output_cross_entropy(
                    hidden.primitive,
                    weight.primitive,
                    bias.primitive,
                    targets,
                    keep_gradient,
                );
                (prep.finish(losses), gradient)
            }
        };
        // The logits gradient is a constant of this graph, not a function to differentiate.
        (losses, gradient.map(<Self as AutodiffBackend>::from_inner))
    }

    fn tanh_recurrence_loss(
        projected: FloatTensor<Self>,
        initial: FloatTensor<Self>,
        weight: FloatTensor<Self>,
        output_weight: FloatTensor<Self>,
        output_bias: FloatTensor<Self>,
        targets: IntTensor<Self>,
        keep: bool,
    ) -> (
        FloatTensor<Self>,
        FloatTensor<Self>,
        Option<(FloatTensor<Self>, FloatTensor<Self>)>,
    ) {
        let nodes = [
            projected.node.clone(),
            initial.node.clone(),
            weight.node.clone(),
            output_weight.node.clone(),
            output_bias.node.clone(),
        ];
        let constant = <Self as AutodiffBackend>::from_inner;
        match RecurrenceLossBackward
            .prepare::<C>(nodes)
            .compute_bound()
            .stateful()
        {
            OpsKind::Tracked(prep) => {
                let (losses, final_state, saved) = B::tanh_recurrence_loss(
                    projected.primitive,
                    initial.primitive.clone(),
                    weight.primitive.clone(),
                    output_weight.primitive.clone(),
                    output_bias.primitive,
                    targets,
                    true,
                );
                let (states, logits_gradient) = saved.expect("asked for");
                let kept =
                    keep.then(|| (constant(states.clone()), constant(logits_gradient.clone())));
                let state = (
                    states,
                    logits_gradient,
                    initial.primitive,
                    weight.primitive,
                    output_weight.primitive,
                );
                (prep.finish(state, losses), constant(final_state), kept)
            }
            OpsKind::UnTracked(prep) => {
                let (losses, final_state, saved) = B::tanh_recurrence_loss(
                    projected.primitive,
                    initial.primitive,
                    weight.primitive,
                    output_weight.primitive,
                    output_bias.primitive,
                    targets,
                    keep,
                );
                let kept = saved.map(|(states, gradient)| (constant(states), constant(gradient)));
                (prep.finish(losses), constant(final_state), kept)
            }
        }
    }
}
