//! Real-valued feedback, proven: a window fed its own outputs back-propagates through them
//! exactly as central finite differences of the whole window say (`FedGradient::Through`), or
//! exactly as teacher forcing on the fed values held constant (`FedGradient::Detached`); and an
//! open-loop forecast equals the map iterated by hand. On ndarray and flex, in f64.

#[allow(dead_code)]
#[path = "../../model/tests/common/gradients.rs"]
mod gradients;

mod common;

use burn::backend::flex::FlexDevice;
use burn::backend::{Autodiff, Flex, NdArray};
use burn::module::Param;
use burn::nn::Linear;
use burn::tensor::backend::{AutodiffBackend, Backend};
use burn::tensor::{DType, Tensor, TensorData};
use common::turn;
use gradients::check_against_finite_differences;
use unroll_model::{
    FeedbackChoice, FeedingPlan, IdCheck, OutputRecurrent, RecurrenceBackend, RecurrentCell,
};
use unroll_training::forecast::{FedGradient, Forecaster, RegressionLoss, init_forecaster};
use unroll_training::{ModelSettings, Network, Pattern};

/// What [`gradients`] reads tensors with.
fn values<B: Backend, const D: usize>(tensor: Tensor<B, D>) -> Vec<f64> {
    tensor.into_data().iter::<f64>().collect()
}

const TOLERANCE: f64 = 1e-6;

/// A plan over `[2, 6]`: row 0 fed its own output at steps 2, 3 and 5, row 1 at 1 and 4.
fn mixed_plan() -> FeedingPlan {
    let own = [[2, 3, 5].as_slice(), [1, 4].as_slice()];
    let truth = (0..2)
        .flat_map(|row| (0..6).map(move |t| !own[row].contains(&t)))
        .collect();
    FeedingPlan::new([2, 6], truth, vec![0.5; 12], FeedbackChoice::Argmax).unwrap()
}

/// A deterministic `[batch, time, width]` tensor.
fn series<B: Backend>(shape: [usize; 3], phase: f64, device: &B::Device) -> Tensor<B, 3> {
    let count = shape.iter().product::<usize>();
    let data: Vec<f64> = (0..count).map(|i| (0.7 * i as f64 + phase).sin()).collect();
    Tensor::from_data(TensorData::new(data, shape), device)
}

fn models<B: Backend>(device: &B::Device) -> Vec<(&'static str, Forecaster<B>)> {
    let settings = |pattern, layers, cell| ModelSettings {
        pattern,
        hidden: 3,
        layers,
        cell,
        dropout: 0.0,
        bidirectional: false,
    };
    let with_cell = |pattern, layers, loss, cell| {
        init_forecaster(&settings(pattern, layers, cell), 2, loss, device).unwrap()
    };
    let init = |pattern, layers, loss| with_cell(pattern, layers, loss, RecurrentCell::Tanh);
    vec![
        (
            "pattern 2",
            init(Pattern::Output, 1, RegressionLoss::MeanSquared),
        ),
        (
            "pattern 1, 2 layers",
            init(Pattern::Hidden, 2, RegressionLoss::MeanSquared),
        ),
        (
            "pattern 2, Gaussian NLL",
            init(Pattern::Output, 1, RegressionLoss::GaussianNll),
        ),
        (
            "pattern 1, Gaussian NLL",
            init(Pattern::Hidden, 1, RegressionLoss::GaussianNll),
        ),
        (
            "pattern 1, LSTM, 2 layers",
            with_cell(
                Pattern::Hidden,
                2,
                RegressionLoss::MeanSquared,
                RecurrentCell::Lstm,
            ),
        ),
        (
            "pattern 1, GRU, Gaussian NLL",
            with_cell(
                Pattern::Hidden,
                1,
                RegressionLoss::GaussianNll,
                RecurrentCell::Gru,
            ),
        ),
    ]
}

fn window_loss<B: AutodiffBackend + RecurrenceBackend>(
    model: &Forecaster<B>,
    previous: &Tensor<B, 3>,
    targets: &Tensor<B, 3>,
    gradient: FedGradient,
) -> Tensor<B, 1> {
    let outputs = model
        .window(previous.clone(), &mixed_plan(), gradient)
        .unwrap();
    model.loss(outputs, targets.clone())
}

fn fed_back_outputs_are_differentiated_through<B: AutodiffBackend + RecurrenceBackend>(
    device: &B::Device,
) {
    B::seed(device, 5);
    let previous = series::<B>([2, 6, 2], 0.0, device);
    let targets = series::<B>([2, 6, 2], 0.3, device);
    for (name, model) in models::<B>(device) {
        let checked = check_against_finite_differences(
            &model,
            |m: &Forecaster<B>| window_loss(m, &previous, &targets, FedGradient::Through),
            TOLERANCE,
        );
        let parameters = match name {
            "pattern 2" | "pattern 2, Gaussian NLL" => 4,
            "pattern 1, Gaussian NLL" => 3 + 2,
            "pattern 1, LSTM, 2 layers" => 2 * 4 + 2,
            "pattern 1, GRU, Gaussian NLL" => 4 + 2,
            _ => 2 * 3 + 2,
        };
        assert_eq!(checked, parameters, "{name}");
    }
}

fn detached_outputs_are_constants<B: AutodiffBackend + RecurrenceBackend>(device: &B::Device) {
    B::seed(device, 6);
    let previous = series::<B>([2, 6, 2], 0.0, device);
    let targets = series::<B>([2, 6, 2], 0.3, device);
    let plan = mixed_plan();
    for (name, model) in models::<B>(device) {
        // The values each step was fed, read once and then held constant: the truth, or the
        // prediction of the step before.
        let predictions = values(
            model.means(
                model
                    .window(previous.clone(), &plan, FedGradient::Detached)
                    .unwrap(),
            ),
        );
        let truth = values(previous.clone());
        let fed: Vec<f64> = (0..2)
            .flat_map(|row| (0..6).map(move |t| (row, t)))
            .flat_map(|(row, t)| (0..2).map(move |c| (row, t, c)).collect::<Vec<_>>())
            .map(|(row, t, c)| {
                if plan.fed_truth(row, t) {
                    truth[(row * 6 + t) * 2 + c]
                } else {
                    predictions[(row * 6 + t - 1) * 2 + c]
                }
            })
            .collect();
        let fed = Tensor::<B, 3>::from_data(TensorData::new(fed, [2, 6, 2]), device);
        let detached = window_loss(&model, &previous, &targets, FedGradient::Detached);
        let teacher_forced =
            |m: &Forecaster<B>| m.loss(m.teacher_forced(fed.clone()).unwrap(), targets.clone());
        let difference = values(detached.clone() - teacher_forced(&model))[0];
        assert!(
            difference.abs() < 1e-12,
            "{name}: losses differ by {difference}"
        );
        let through = gradients::all_gradients(
            &model,
            &window_loss(&model, &previous, &targets, FedGradient::Through).backward(),
        );
        let detached = gradients::all_gradients(&model, &detached.backward());
        let reference = gradients::all_gradients(&model, &teacher_forced(&model).backward());
        for ((d, r), t) in detached.iter().zip(&reference).zip(&through) {
            for (a, b) in d.iter().zip(r) {
                assert!((a - b).abs() < 1e-12, "{name}: {a} against {b}");
            }
            assert!(
                d.iter().zip(t).any(|(a, b)| (a - b).abs() > 1e-6),
                "{name}: detaching changed nothing, so this test could not fail"
            );
        }
        // And teacher forcing on the fed values agrees with finite differences.
        check_against_finite_differences(&model, teacher_forced, TOLERANCE);
    }
}

/// `o = c + V tanh(b + W y)` with width 1 and one hidden unit, set by hand.
fn scalar_map<B: Backend>(device: &B::Device) -> OutputRecurrent<B> {
    let matrix = |v: f64| Param::from_tensor(Tensor::<B, 2>::from_data([[v]], device));
    let vector = |v: f64| Param::from_tensor(Tensor::<B, 1>::from_data([v], device));
    OutputRecurrent {
        input_weight: None,
        feedback_weight: matrix(1.5),
        bias: vector(-0.2),
        output: Linear {
            weight: matrix(0.9),
            bias: Some(vector(0.1)),
        },
        input_encoding: None,
        id_check: IdCheck::EveryCall,
    }
}

fn open_loop_iterates_the_map<B: Backend + RecurrenceBackend>(device: &B::Device) {
    let model = Forecaster {
        network: Network::Output(scalar_map::<B>(device)),
        columns: 1,
        loss: RegressionLoss::MeanSquared,
    };
    let map = |y: f64| 0.1 + 0.9 * (-0.2 + 1.5 * y).tanh();
    // Warm-up 0.3, then 0.5: the first forecast is the map of 0.5 (the last true value).
    let warmup = Tensor::<B, 3>::from_data(TensorData::new(vec![0.3, 0.5], [1, 2, 1]), device);
    let forecast = values(model.open_loop(warmup, 3).unwrap());
    let first = map(0.5);
    let expected = [first, map(first), map(map(first))];
    for (f, e) in forecast.iter().zip(expected) {
        assert!((f - e).abs() < 1e-12, "{forecast:?} against {expected:?}");
    }
}

/// The losses of outputs set by hand.
fn losses_by_hand<B: Backend + RecurrenceBackend>(device: &B::Device) {
    let model = |loss| Forecaster {
        network: Network::Output(scalar_map::<B>(device)),
        columns: 1,
        loss,
    };
    let tensor = |v: Vec<f64>, width| {
        let steps = v.len() / width;
        Tensor::<B, 3>::from_data(TensorData::new(v, [1, steps, width]), device)
    };
    let targets = tensor(vec![2.0, -1.0], 1);
    // Means 1 and 0.5: errors 1 and 1.5.
    let squared =
        values(model(RegressionLoss::MeanSquared).loss(tensor(vec![1.0, 0.5], 1), targets.clone()));
    assert!((squared[0] - (1.0 + 2.25) / 2.0).abs() < 1e-12);
    // The same means with log-variances 0.5 and −1: ½ (s + e² e^(−s)) per step.
    let nll = values(
        model(RegressionLoss::GaussianNll).loss(tensor(vec![1.0, 0.5, 0.5, -1.0], 2), targets),
    );
    let expected = (0.5 * (0.5 + (-0.5f64).exp()) + 0.5 * (-1.0 + 2.25 * 1f64.exp())) / 2.0;
    assert!(
        (nll[0] - expected).abs() < 1e-12,
        "{nll:?} against {expected}"
    );
}

type Ndarray = Autodiff<NdArray<f64>>;
type FlexF64 = Autodiff<Flex>;

/// Flex picks its float type at run time: f64 is set before any tensor exists in this binary.
fn flex() -> FlexDevice {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        burn::tensor::backend::set_default_float_dtype::<Flex>(&FlexDevice, DType::F64)
            .expect("f64 is set before any tensor is created");
    });
    FlexDevice
}

/// One test per line, `test => check`: `check` in f64 on ndarray, then on flex, taking turns.
macro_rules! tests_in_f64 {
    ($($test:ident => $check:ident,)+) => {$(
        #[test]
        fn $test() {
            let _turn = turn();
            $check::<Ndarray>(&Default::default());
            $check::<FlexF64>(&flex());
        }
    )+};
}

tests_in_f64! {
    through_fed_outputs_matches_finite_differences => fed_back_outputs_are_differentiated_through,
    detached_fed_outputs_are_teacher_forcing_on_the_fed_values => detached_outputs_are_constants,
    regression_losses_by_hand => losses_by_hand,
    open_loop_forecast_by_hand => open_loop_iterates_the_map,
}
