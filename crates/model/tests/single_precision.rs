//! The host kernels in f32, the precision training runs in: the fused training pass of
//! patterns 1 (every cell) and 2, and of the encoder–decoder, against the unrolled reference built from Burn's own operations, on both
//! CPU backends, at sizes that split the batch unevenly over the cores and that the products'
//! tiles do not divide.

use burn::backend::{Autodiff, Flex, NdArray};
use burn::module::{AutodiffModule, Module, ModuleVisitor, Param};
use burn::tensor::backend::{AutodiffBackend, Backend};
use burn::tensor::{Distribution, Int, Tensor};
use unroll_model::{
    EncoderDecoderConfig, FeedbackSequence, HiddenRecurrentConfig, HiddenStackConfig,
    InputEncoding, OutputRecurrentConfig, RecurrenceBackend, RecurrencePath, RecurrentCell,
    SequenceInput,
};
use unroll_test_support::{assert_close_to_largest, turn};

#[path = "common/burn_reference.rs"]
mod burn_reference;

/// f32 rounding over a few dozen steps of accumulation, relative to the largest magnitude of the
/// compared tensor: measured below 7e-6 here, so well above rounding and far below any bug.
const TOLERANCE: f32 = 1e-4;

/// `[batch, time]` ids below `vocab`, from the backend's generator (the caller seeds it).
fn ids<B: AutodiffBackend>(batch: usize, time: usize, vocab: usize) -> Tensor<B, 2, Int> {
    let uniform = Distribution::Uniform(0.0, vocab as f64);
    Tensor::random([batch, time], uniform, &Default::default())
}

/// Asserts `|a − b| ≤ TOLERANCE · max |b|` element by element. The losses are summed, not
/// averaged, so gradients are of order one and the bound is a relative one.
fn assert_close(what: &str, a: &[f32], b: &[f32]) {
    assert_close_to_largest(what, a, b, f64::from(TOLERANCE));
}

/// Every parameter's gradient, in visiting order.
fn gradients<B: AutodiffBackend, M: AutodiffModule<B>>(
    module: &M,
    grads: &B::Gradients,
) -> Vec<Vec<f32>> {
    struct Collect<'a, B: AutodiffBackend> {
        grads: &'a B::Gradients,
        out: Vec<Vec<f32>>,
    }
    impl<B: AutodiffBackend> ModuleVisitor<B> for Collect<'_, B> {
        fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<B, D>>) {
            let gradient = param
                .val()
                .grad(self.grads)
                .expect("every parameter is used");
            self.out.push(gradient.into_data().iter::<f32>().collect());
        }
    }
    let mut collect = Collect {
        grads,
        out: Vec::new(),
    };
    module.visit(&mut collect);
    collect.out
}

/// Reads every parameter so that clones share the lazily initialised values.
fn materialized<B: AutodiffBackend, M: Module<B>>(module: &M) -> M {
    struct Touch;
    impl<B: burn::tensor::backend::Backend> ModuleVisitor<B> for Touch {
        fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<B, D>>) {
            let _ = param.val();
        }
    }
    module.visit(&mut Touch);
    module.clone()
}

/// Asserts that every gradient of `a` (per parameter) is close to `b`'s.
fn assert_gradients_close(what: &str, a: &[Vec<f32>], b: &[Vec<f32>]) {
    assert_eq!(a.len(), b.len(), "{what}: parameters");
    for (k, (a, b)) in a.iter().zip(b).enumerate() {
        assert_close(&format!("{what}, parameter {k}"), a, b);
    }
}

fn pattern_1<B: AutodiffBackend + RecurrenceBackend>() {
    let _turn = turn();
    let device = Default::default();
    B::seed(&device, 1);
    let (batch, time, hidden, vocab) = (33, 17, 40, 11);
    let cells = [RecurrentCell::Tanh, RecurrentCell::Lstm, RecurrentCell::Gru];
    for (cell, layers) in cells.into_iter().flat_map(|cell| [(cell, 1), (cell, 2)]) {
        let fused = HiddenRecurrentConfig::new(
            HiddenStackConfig::new(InputEncoding::Tokens { vocab_size: vocab }, hidden)
                .with_num_layers(layers)
                .with_cell(cell),
            vocab,
        )
        .init::<B>(&device);
        let mut unrolled = materialized(&fused);
        unrolled.hidden.path = RecurrencePath::Unrolled;
        let (inputs, targets) = (ids::<B>(batch, time, vocab), ids::<B>(batch, time, vocab));
        let run = |model: &unroll_model::HiddenRecurrent<B>| {
            let (losses, state) = model
                .forward_loss(SequenceInput::Tokens(inputs.clone()), None, targets.clone())
                .unwrap();
            let loss_values: Vec<f32> = losses.clone().into_data().iter::<f32>().collect();
            let state: Vec<f32> = state.packed().into_data().iter::<f32>().collect();
            let grads = losses.sum().backward();
            (loss_values, state, gradients(model, &grads))
        };
        let (losses_a, state_a, grads_a) = run(&fused);
        let (losses_b, state_b, grads_b) = run(&unrolled);
        let what = format!("{cell:?}, {layers} layer(s)");
        assert_close(&format!("{what}: losses"), &losses_a, &losses_b);
        assert_close(&format!("{what}: state"), &state_a, &state_b);
        assert_gradients_close(&what, &grads_a, &grads_b);
    }
}

fn pattern_2<B: AutodiffBackend + RecurrenceBackend>() {
    let _turn = turn();
    let device = Default::default();
    B::seed(&device, 2);
    let (batch, time, hidden, vocab) = (33, 17, 40, 11);
    let model = OutputRecurrentConfig::new(hidden, vocab).init::<B>(&device);
    let (previous, targets) = (ids::<B>(batch, time, vocab), ids::<B>(batch, time, vocab));
    let fused = model
        .teacher_forced_loss(
            None,
            FeedbackSequence::Tokens(previous.clone()),
            targets.clone(),
        )
        .unwrap();
    // The reference: pattern 2 unrolled on Burn's own tanh, scored by Burn's log-softmax.
    let logits = burn_reference::output_recurrent_logits(
        &model,
        None,
        &FeedbackSequence::Tokens(previous.clone()),
    );
    let reference = burn_reference::step_losses(logits, targets).reshape([batch * time]);
    let values = |t: Tensor<B, 1>| -> Vec<f32> { t.into_data().iter::<f32>().collect() };
    assert_close(
        "losses",
        &values(fused.clone().reshape([batch * time])),
        &values(reference.clone()),
    );
    let a = gradients(&model, &fused.sum().backward());
    let b = gradients(&model, &reference.sum().backward());
    assert_gradients_close("pattern 2", &a, &b);
}

/// The encoder–decoder in f32: padded sources and targets of every length, two layers of every
/// cell, the encoder one way and both ways, the summary in every decoder input, the fused path against the unrolled one (losses and
/// every gradient).
fn encoder_decoder<B: AutodiffBackend + RecurrenceBackend>() {
    let _turn = turn();
    let device = Default::default();
    B::seed(&device, 3);
    let (batch, source_time, target_time, hidden, vocab) = (33, 13, 9, 40, 11);
    let source_lengths: Vec<usize> = (0..batch).map(|b| 1 + (b * 7) % source_time).collect();
    let target_lengths: Vec<usize> = (0..batch).map(|b| 1 + (b * 5) % target_time).collect();
    let cells = [RecurrentCell::Tanh, RecurrentCell::Lstm, RecurrentCell::Gru];
    let ways = [(false, false), (true, false), (false, true)];
    for (cell, (both_ways, summary_input)) in cells.into_iter().flat_map(|c| ways.map(|w| (c, w))) {
        let mut config = EncoderDecoderConfig::symbols(vocab, vocab, hidden, 2, cell)
            .with_bidirectional(both_ways);
        if both_ways {
            config.encoder.d_hidden = hidden / 2;
        }
        if summary_input {
            config = config.with_summary_in_every_input();
        }
        let fused = config.init::<B>(&device);
        let mut unrolled = materialized(&fused);
        if let Some(encoder) = unrolled.encoder.as_mut() {
            encoder.path = RecurrencePath::Unrolled;
        }
        for layer in (unrolled.bidirectional_encoder.iter_mut()).flat_map(|e| e.layers.iter_mut()) {
            layer.forward.path = RecurrencePath::Unrolled;
            layer.backward.path = RecurrencePath::Unrolled;
        }
        unrolled.decoder.hidden.path = RecurrencePath::Unrolled;
        let source = ids::<B>(batch, source_time, vocab);
        let (previous, targets) = (
            ids::<B>(batch, target_time, vocab),
            ids::<B>(batch, target_time, vocab),
        );
        let run = |model: &unroll_model::EncoderDecoder<B>| {
            let losses = model
                .forward_loss(
                    SequenceInput::Tokens(source.clone()),
                    Some(&source_lengths),
                    previous.clone(),
                    targets.clone(),
                    Some(&target_lengths),
                )
                .unwrap();
            let loss_values: Vec<f32> = losses.clone().into_data().iter::<f32>().collect();
            (loss_values, gradients(model, &losses.sum().backward()))
        };
        let (losses_a, grads_a) = run(&fused);
        let (losses_b, grads_b) = run(&unrolled);
        let what = format!("{cell:?}, both ways {both_ways}, summary input {summary_input}");
        assert_close(&format!("{what}: losses"), &losses_a, &losses_b);
        assert_gradients_close(&what, &grads_a, &grads_b);
    }
}

/// Two tests of `check::<B>()`: `$on_flex` on autodiff flex, `$on_ndarray` on autodiff ndarray,
/// both in f32.
macro_rules! test_in_f32 {
    ($check:ident: $on_flex:ident, $on_ndarray:ident) => {
        #[test]
        fn $on_flex() {
            $check::<Autodiff<Flex>>();
        }

        #[test]
        fn $on_ndarray() {
            $check::<Autodiff<NdArray<f32>>>();
        }
    };
}

test_in_f32!(pattern_1:
    flex_f32_pattern_1_fused_equals_unrolled,
    ndarray_f32_pattern_1_fused_equals_unrolled
);
test_in_f32!(pattern_2:
    flex_f32_pattern_2_teacher_forced_loss_equals_stepwise,
    ndarray_f32_pattern_2_teacher_forced_loss_equals_stepwise
);
test_in_f32!(encoder_decoder:
    flex_f32_encoder_decoder_fused_equals_unrolled,
    ndarray_f32_encoder_decoder_fused_equals_unrolled
);

/// The rollout's fed symbols, sampled in f32, do not depend on how many cores share the batch
/// rows: each row's coins and draws come from the plan and its arithmetic is its own.
#[test]
fn the_rollout_does_not_depend_on_how_rows_are_split() {
    let _turn = turn();
    type B = Autodiff<Flex>;
    let device = Default::default();
    B::seed(&device, 3);
    let (batch, time, vocab) = (37, 23, 11);
    let model = HiddenRecurrentConfig::new(
        HiddenStackConfig::new(InputEncoding::Tokens { vocab_size: vocab }, 40).with_num_layers(2),
        vocab,
    )
    .init::<B>(&device);
    let truth = ids::<B>(batch, time, vocab);
    let unit = |i: usize, salt: usize| ((i * 2_654_435_761 + salt) % 1000) as f64 / 1000.0;
    let plan = unroll_model::FeedingPlan::new(
        [batch, time],
        (0..batch * time).map(|i| unit(i, 17) < 0.5).collect(),
        (0..batch * time).map(|i| unit(i, 91)).collect(),
        unroll_model::FeedbackChoice::Sample,
    )
    .unwrap();
    let fed_on = |threads: usize| -> Vec<i64> {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .unwrap();
        pool.install(|| model.fed_symbols(truth.clone(), None, &plan).unwrap())
            .into_data()
            .iter::<i64>()
            .collect()
    };
    let alone = fed_on(1);
    let given: Vec<i64> = truth.clone().into_data().iter::<i64>().collect();
    assert_ne!(alone, given, "some steps were fed own samples");
    for threads in [2, 3, 5] {
        assert_eq!(fed_on(threads), alone, "{threads} threads");
    }
}
