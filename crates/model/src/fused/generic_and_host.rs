//! Every registered operation's generic passes (what wgpu and cuda run) against the host kernel
//! ndarray runs: the same output and the same gradients, to 1e-12 in f64.

use burn::backend::NdArray;
use burn::tensor::{Int, Tensor, TensorData};

use super::test_values::{assert_generic_equals_host, tensor};
use super::{
    cross_entropy, gru, gru_pair, join, join_stacked, lookup, lstm, lstm_pair, output_loss,
    primitive, projection, recurrence, recurrence_loss, tanh, tanh_pair,
};

type B = NdArray<f64>;

/// Integer ids as a primitive.
fn ids(values: &[i64]) -> burn::tensor::ops::IntTensor<B> {
    let data = TensorData::new(values.to_vec(), [values.len()]);
    Tensor::<B, 1, Int>::from_data(data, &Default::default()).into_primitive()
}

/// Rows of uneven lengths (stopped in any order), and none.
const LENGTHS: [Option<[usize; 6]>; 2] = [None, Some([5, 1, 3, 5, 2, 4])];
/// Steps and rows of the recurrences' inputs.
const TIME: usize = 5;
const BATCH: usize = 6;

#[test]
fn the_elementwise_and_row_operations() {
    assert_generic_equals_host::<tanh::Operation, { tanh::PARENTS }>(
        "tanh",
        || tanh::Input {
            x: primitive(tensor([4, 5], 1)),
        },
        || primitive(tensor([4, 5], 2)),
    );
    assert_generic_equals_host::<cross_entropy::Operation, { cross_entropy::PARENTS }>(
        "cross-entropy",
        || cross_entropy::Input {
            logits: primitive(tensor([6, 5], 3)),
            targets: ids(&[0, 4, 2, 1, 3, 4]),
        },
        || primitive(tensor([6], 4)),
    );
    // Repeated ids: the backward sums their rows' gradients.
    assert_generic_equals_host::<lookup::Operation, { lookup::PARENTS }>(
        "lookup",
        || lookup::Input {
            table: primitive(tensor([5, 3], 5)),
            ids: ids(&[4, 0, 4, 2, 2, 4]),
        },
        || primitive(tensor([6, 3], 6)),
    );
    assert_generic_equals_host::<projection::Operation, { projection::PARENTS }>(
        "input projection",
        || projection::Input {
            x: primitive(tensor([7, 4], 11)),
            weight: primitive(tensor([4, 5], 12)),
            bias: primitive(tensor([5], 13)),
        },
        || primitive(tensor([7, 5], 14)),
    );
    // Seven rows, turned within lengths as a backward direction's are; `ahead` keeps two rows
    // past them (an LSTM's c(τ)).
    assert_generic_equals_host::<join::Operation, { join::PARENTS }>(
        "both directions joined",
        || join::Input {
            ahead: primitive(tensor([9, 3], 15)),
            behind: primitive(tensor([7, 2], 16)),
            reads: ids(&[2, 1, 0, 3, 5, 4, 6]),
        },
        || primitive(tensor([7, 5], 17)),
    );
    // A pair's stacked outputs, `[2, steps, batch, width]`: 8 rows a half, the first 6 read
    // (an LSTM's c(τ) after them).
    assert_generic_equals_host::<join_stacked::Operation, { join_stacked::PARENTS }>(
        "both directions of a pair joined",
        || join_stacked::Input {
            pair: primitive(tensor([2, 4, 2, 3], 18)),
            reads: ids(&[1, 0, 2, 5, 4, 3]),
        },
        || primitive(tensor([6, 6], 19)),
    );
    assert_generic_equals_host::<output_loss::Operation, { output_loss::PARENTS }>(
        "output layer and loss",
        || output_loss::Input {
            hidden: primitive(tensor([6, 4], 7)),
            weight: primitive(tensor([4, 5], 8)),
            bias: primitive(tensor([5], 9)),
            targets: ids(&[0, 4, 2, 1, 3, 4]),
        },
        || primitive(tensor([6], 10)),
    );
}

#[test]
fn the_recurrences() {
    let hidden = 3;
    for lengths in LENGTHS {
        let lengths = lengths.map(Vec::from);
        let what = |name: &str| format!("{name}, lengths {lengths:?}");
        assert_generic_equals_host::<recurrence::Operation, { recurrence::PARENTS }>(
            &what("tanh recurrence"),
            || recurrence::Input {
                projected: primitive(tensor([TIME, BATCH, hidden], 1)),
                initial: primitive(tensor([BATCH, hidden], 2)),
                weight: primitive(tensor([hidden, hidden], 3)),
                lengths: lengths.clone(),
            },
            || primitive(tensor([TIME, BATCH, hidden], 4)),
        );
        assert_generic_equals_host::<lstm::Operation, { lstm::PARENTS }>(
            &what("LSTM"),
            || lstm::Input {
                projected: primitive(tensor([TIME, BATCH, 4 * hidden], 5)),
                initial_hidden: primitive(tensor([BATCH, hidden], 6)),
                initial_cell: primitive(tensor([BATCH, hidden], 7)),
                weight: primitive(tensor([hidden, 4 * hidden], 8)),
                lengths: lengths.clone(),
            },
            // `h(1) … h(τ)`, then `c(τ)`.
            || primitive(tensor([TIME + 1, BATCH, hidden], 9)),
        );
        assert_generic_equals_host::<gru::Operation, { gru::PARENTS }>(
            &what("GRU"),
            || gru::Input {
                projected: primitive(tensor([TIME, BATCH, 3 * hidden], 10)),
                initial: primitive(tensor([BATCH, hidden], 11)),
                weight: primitive(tensor([hidden, 3 * hidden], 12)),
                bias: primitive(tensor([3 * hidden], 13)),
                lengths: lengths.clone(),
            },
            || primitive(tensor([TIME, BATCH, hidden], 14)),
        );
        // Both directions at once: two inputs of other values (the second's rows as a
        // backward direction's, any order), their outputs stacked.
        let lstm = |seed: u64| lstm::Input {
            projected: primitive(tensor([TIME, BATCH, 4 * hidden], seed)),
            initial_hidden: primitive(tensor([BATCH, hidden], seed + 1)),
            initial_cell: primitive(tensor([BATCH, hidden], seed + 2)),
            weight: primitive(tensor([hidden, 4 * hidden], seed + 3)),
            lengths: lengths.clone(),
        };
        let tanh = |seed: u64| recurrence::Input {
            projected: primitive(tensor([TIME, BATCH, hidden], seed)),
            initial: primitive(tensor([BATCH, hidden], seed + 1)),
            weight: primitive(tensor([hidden, hidden], seed + 2)),
            lengths: lengths.clone(),
        };
        assert_generic_equals_host::<tanh_pair::Operation, { tanh_pair::PARENTS }>(
            &what("tanh pair"),
            || tanh_pair::Input {
                ahead: tanh(80),
                behind: tanh(90),
            },
            || primitive(tensor([2, TIME, BATCH, hidden], 100)),
        );
        assert_generic_equals_host::<lstm_pair::Operation, { lstm_pair::PARENTS }>(
            &what("LSTM pair"),
            || lstm_pair::Input {
                ahead: lstm(20),
                behind: lstm(30),
            },
            || primitive(tensor([2, TIME + 1, BATCH, hidden], 40)),
        );
        let gru = |seed: u64| gru::Input {
            projected: primitive(tensor([TIME, BATCH, 3 * hidden], seed)),
            initial: primitive(tensor([BATCH, hidden], seed + 1)),
            weight: primitive(tensor([hidden, 3 * hidden], seed + 2)),
            bias: primitive(tensor([3 * hidden], seed + 3)),
            lengths: lengths.clone(),
        };
        assert_generic_equals_host::<gru_pair::Operation, { gru_pair::PARENTS }>(
            &what("GRU pair"),
            || gru_pair::Input {
                ahead: gru(50),
                behind: gru(60),
            },
            || primitive(tensor([2, TIME, BATCH, hidden], 70)),
        );
    }
}

#[test]
fn the_recurrence_with_its_loss() {
    let [hidden, classes] = [4, 5];
    let targets: Vec<i64> = (0..TIME * BATCH)
        .map(|n| (n * 7 % classes) as i64)
        .collect();
    assert_generic_equals_host::<recurrence_loss::Operation, { recurrence_loss::PARENTS }>(
        "recurrence with its loss",
        || recurrence_loss::Input {
            projected: primitive(tensor([TIME, BATCH, hidden], 1)),
            initial: primitive(tensor([BATCH, hidden], 2)),
            weight: primitive(tensor([hidden, hidden], 3)),
            output_weight: primitive(tensor([hidden, classes], 4)),
            output_bias: primitive(tensor([classes], 5)),
            targets: ids(&targets),
        },
        || primitive(tensor([TIME * BATCH], 6)),
    );
}
