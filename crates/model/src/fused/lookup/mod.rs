//! Rows of a table by id, `out(n) = table(ids(n))`, and its backward, a scatter-add: the token
//! lookup that replaces a product with one-hot inputs.

#[cfg(host_kernels)]
pub(crate) mod kernel;

use super::prelude::*;

/// The fused row lookup.
#[derive(Debug)]
pub struct Operation;

operation_inputs! {
    /// What the lookup reads.
    Input {
        /// `[vocab, width]`.
        table,
        ;
        /// `[rows]`, every id below `vocab`.
        ids: IntTensor<B>,
    }
    /// `∂L/∂table`: the rows' gradients summed by id.
    Gradients;
}

/// What the forward pass keeps for the backward pass.
#[derive(Debug, Clone)]
pub struct Saved<B: Backend> {
    /// The ids looked up, `[rows]`.
    pub ids: IntTensor<B>,
    /// The table's row count.
    pub vocab: usize,
}

impl FusedOperation<PARENTS> for Operation {
    type Constants<B: Backend> = ();
    type Saved<B: Backend> = Saved<B>;

    fn forward<B: RecurrenceBackend>(input: Input<B>, keep: bool) -> Forward<B, Self, PARENTS> {
        let saved = keep.then(|| Saved {
            ids: input.ids.clone(),
            vocab: input.table.shape().dims::<2>()[0],
        });
        Forward {
            output: B::float_select(input.table, 0, input.ids),
            constants: (),
            saved,
        }
    }

    fn backward<B: RecurrenceBackend>(
        saved: Saved<B>,
        rows_gradient: FloatTensor<B>,
    ) -> Gradients<B> {
        let width = rows_gradient.shape().dims::<2>()[1];
        let zeros = Tensor::<B, 2>::zeros([saved.vocab, width], &B::float_device(&rows_gradient));
        Gradients {
            table: B::float_select_add(primitive(zeros), 0, saved.ids, rows_gradient),
        }
    }

    fn outer_constants<B: Backend, C: CheckpointStrategy>(_: ()) {}
}

#[cfg(host_kernels)]
impl HostKernel<PARENTS> for Operation {
    fn forward<B: HostBackend, E: Real>(input: Input<B>, keep: bool) -> Forward<B, Self, PARENTS> {
        let device = B::float_device(&input.table);
        let [vocab, width] = input.table.shape().dims();
        let saved = keep.then(|| Saved {
            ids: input.ids.clone(),
            vocab,
        });
        let ids = read_ids::<B>(input.ids);
        let rows = kernel::forward(&B::view::<E>(&input.table), &ids, width);
        Forward {
            output: write::<B, E>(rows, Shape::new([ids.len(), width]), &device),
            constants: (),
            saved,
        }
    }

    fn backward<B: HostBackend, E: Real>(
        saved: Saved<B>,
        rows_gradient: FloatTensor<B>,
    ) -> Gradients<B> {
        let device = B::float_device(&rows_gradient);
        let width = rows_gradient.shape().dims::<2>()[1];
        let gradient = kernel::backward(
            &read_ids::<B>(saved.ids),
            &B::view::<E>(&rows_gradient),
            saved.vocab,
            width,
        );
        Gradients {
            table: write::<B, E>(gradient, Shape::new([saved.vocab, width]), &device),
        }
    }
}

/// The fused row lookup: `table` `[vocab, width]`, `ids` `[rows]`; returns `[rows, width]`.
pub fn lookup_rows<B: RecurrenceBackend>(
    table: Tensor<B, 2>,
    ids: Tensor<B, 1, Int>,
) -> Tensor<B, 2> {
    let input = Input {
        table: primitive(table),
        ids: ids.into_primitive(),
    };
    float(B::lookup_rows_forward(input, false).output)
}
