//! The GPU path, tested without a GPU: every pattern's forward and gradients, the feeding
//! strategies, training steps and checkpoints on `Autodiff<Wgpu>`, compared with the CPU backend.
//! CI runs it on lavapipe (Mesa's CPU Vulkan driver): `cargo test --features wgpu --test gpu`.
#![cfg(feature = "wgpu")]

use std::path::{Path, PathBuf};

use burn::backend::wgpu::WgpuDevice;
use burn::backend::{Autodiff, NdArray, Wgpu};
use burn::module::{Module, ModuleVisitor, Param};
use burn::tensor::backend::{AutodiffBackend, Backend};
use burn::tensor::{Int, Tensor, TensorData};
use burn_store::{BurnpackStore, ModuleSnapshot};
use unroll::model::{
    BidirectionalConfig, EncoderDecoderConfig, FeedbackSequence, HiddenRecurrentConfig,
    HiddenStackConfig, InputEncoding, OutputRecurrentConfig, RecurrenceBackend, RecurrencePath,
    RecurrentCell, SequenceInput, SequenceSummarizerConfig, step_cross_entropy,
};
use unroll::training::LanguageCheckpoint;
use unroll::training::checkpoint::{Which, model_bytes};
use unroll::training::{
    Corpus, FeedbackChoice, Feeding, FeedingPlan, FeedingStreams, LanguageConfig, LanguageRun,
    Silent, SymbolMode, hidden_recurrent_window, output_recurrent_window, train_language,
};
use unroll_test_support::{Scratch, turn};

type Cpu = Autodiff<NdArray>;
type Gpu = Autodiff<Wgpu>;

/// f32 on different hardware sums in different orders.
const TOLERANCE: f32 = 2e-4;

fn gpu() -> WgpuDevice {
    WgpuDevice::default()
}

/// The same weights on another backend, through Burn's portable Burnpack format.
fn transfer<A: Backend, B: Backend, S: Module<A>, T: Module<B>>(source: &S, mut target: T) -> T {
    let bytes = model_bytes(source).expect("serialise");
    let mut store = BurnpackStore::from_bytes(Some(burn::tensor::Bytes::from_bytes_vec(bytes)));
    target.load_from(&mut store).expect("same architecture");
    target
}

/// `config` built on the CPU, and the same weights on the GPU.
macro_rules! on_both {
    ($config:expr) => {{
        let cpu_model = $config.init::<Cpu>(&Default::default());
        let gpu_model = transfer(&cpu_model, $config.init::<Gpu>(&gpu()));
        (cpu_model, gpu_model)
    }};
}

fn values<B: Backend, const D: usize>(tensor: Tensor<B, D>) -> Vec<f32> {
    tensor.into_data().iter::<f32>().collect()
}

fn assert_close(what: &str, cpu: &[f32], gpu: &[f32]) {
    unroll_test_support::assert_close(what, cpu, gpu, f64::from(TOLERANCE));
}

/// Every parameter's gradient, in visiting order.
fn gradients<B: AutodiffBackend, M: Module<B>>(model: &M, grads: &B::Gradients) -> Vec<Vec<f32>> {
    struct Collect<'a, B: AutodiffBackend>(&'a B::Gradients, Vec<Vec<f32>>);
    impl<B: AutodiffBackend> ModuleVisitor<B> for Collect<'_, B> {
        fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<B, D>>) {
            let gradient = param
                .val()
                .grad(self.0)
                .expect("every parameter has a gradient");
            self.1.push(gradient.into_data().iter::<f32>().collect());
        }
    }
    let mut collect = Collect::<B>(grads, Vec::new());
    model.visit(&mut collect);
    collect.1
}

/// `layers` layers of `hidden` units reading ids below `vocab`.
fn token_stack(vocab: usize, hidden: usize, layers: usize) -> HiddenStackConfig {
    HiddenStackConfig::new(InputEncoding::Tokens { vocab_size: vocab }, hidden)
        .with_num_layers(layers)
}

/// The CPU's and the GPU's `values` agree, and so do their models' gradients of the values' sum.
fn assert_agree<const D: usize, C: Module<Cpu>, G: Module<Gpu>>(
    what: &str,
    (cpu_model, cpu): (&C, Tensor<Cpu, D>),
    (gpu_model, gpu): (&G, Tensor<Gpu, D>),
) {
    assert_close(what, &values(cpu.clone()), &values(gpu.clone()));
    let cpu = gradients(cpu_model, &cpu.sum().backward());
    let gpu = gradients(gpu_model, &gpu.sum().backward());
    assert_eq!(cpu.len(), gpu.len());
    for (k, (a, b)) in cpu.iter().zip(&gpu).enumerate() {
        assert_close(&format!("{what}: gradient of parameter {k}"), a, b);
    }
}

fn ids<B: Backend>(
    batch: usize,
    time: usize,
    vocab: usize,
    seed: usize,
    device: &B::Device,
) -> Tensor<B, 2, Int> {
    let values: Vec<i64> = (0..batch * time)
        .map(|i| ((i * 7 + seed * 13 + i / 3) % vocab) as i64)
        .collect();
    Tensor::from_data(TensorData::new(values, [batch, time]), device)
}

#[test]
fn pattern_1_forward_and_gradients_on_both_paths() {
    let _turn = turn();
    let (vocab, batch, time) = (7, 3, 9);
    let cells = [RecurrentCell::Tanh, RecurrentCell::Lstm, RecurrentCell::Gru];
    let paths = [RecurrencePath::Fused, RecurrencePath::Unrolled];
    for (cell, path) in cells.into_iter().flat_map(|c| paths.map(|p| (c, p))) {
        let stack = token_stack(vocab, 8, 2).with_cell(cell).with_path(path);
        let config = HiddenRecurrentConfig::new(stack, vocab);
        let (cpu_model, gpu_model) = on_both!(config);
        let run = |model: &unroll::model::HiddenRecurrent<_>, device| {
            let out = model
                .forward(
                    SequenceInput::Tokens(ids(batch, time, vocab, 1, device)),
                    None,
                )
                .unwrap();
            let loss = step_cross_entropy(out.logits.clone(), ids(batch, time, vocab, 2, device))
                .unwrap()
                .sum();
            (out, loss)
        };
        let (cpu_out, cpu_loss) = run(&cpu_model, &Default::default());
        let gpu_out = gpu_model
            .forward(
                SequenceInput::Tokens(ids(batch, time, vocab, 1, &gpu())),
                None,
            )
            .unwrap();
        let gpu_loss =
            step_cross_entropy(gpu_out.logits.clone(), ids(batch, time, vocab, 2, &gpu()))
                .unwrap()
                .sum();
        let what = format!("{cell:?} {path:?}");
        assert_close(
            &format!("{what} logits"),
            &values(cpu_out.logits),
            &values(gpu_out.logits),
        );
        assert_close(
            &format!("{what} state"),
            &values(cpu_out.state.packed()),
            &values(gpu_out.state.packed()),
        );
        assert_agree(&what, (&cpu_model, cpu_loss), (&gpu_model, gpu_loss));
    }
}

#[test]
fn training_passes_agree() {
    let _turn = turn();
    let (vocab, batch, time) = (7, 5, 9);
    let config = HiddenRecurrentConfig::new(token_stack(vocab, 8, 2), vocab);
    let (cpu_model, gpu_model) = on_both!(config);
    let cpu = Default::default();
    let (cpu_losses, cpu_state) = cpu_model
        .forward_loss(
            SequenceInput::Tokens(ids(batch, time, vocab, 1, &cpu)),
            None,
            ids(batch, time, vocab, 2, &cpu),
        )
        .unwrap();
    let (gpu_losses, gpu_state) = gpu_model
        .forward_loss(
            SequenceInput::Tokens(ids(batch, time, vocab, 1, &gpu())),
            None,
            ids(batch, time, vocab, 2, &gpu()),
        )
        .unwrap();
    assert_close(
        "forward_loss state",
        &values(cpu_state.packed()),
        &values(gpu_state.packed()),
    );
    assert_agree(
        "forward_loss",
        (&cpu_model, cpu_losses),
        (&gpu_model, gpu_losses),
    );

    let config = OutputRecurrentConfig::new(5, vocab);
    let (cpu_model, gpu_model) = on_both!(config);
    let cpu_losses = cpu_model
        .teacher_forced_loss(
            None,
            FeedbackSequence::Tokens(ids(batch, time, vocab, 3, &cpu)),
            ids(batch, time, vocab, 4, &cpu),
        )
        .unwrap();
    let gpu_losses = gpu_model
        .teacher_forced_loss(
            None,
            FeedbackSequence::Tokens(ids(batch, time, vocab, 3, &gpu())),
            ids(batch, time, vocab, 4, &gpu()),
        )
        .unwrap();
    assert_agree(
        "teacher_forced_loss",
        (&cpu_model, cpu_losses),
        (&gpu_model, gpu_losses),
    );
}

#[test]
fn pattern_2_both_paths_and_pattern_3_with_lengths_on_the_fused_path() {
    let _turn = turn();
    let (vocab, batch, time) = (6, 2, 7);
    let config = OutputRecurrentConfig::new(5, vocab);
    let (cpu_model, gpu_model) = on_both!(config);
    let cpu = cpu_model
        .forward_teacher_forced(
            None,
            FeedbackSequence::Tokens(ids(batch, time, vocab, 3, &Default::default())),
        )
        .unwrap();
    let gpu_logits = gpu_model
        .forward_teacher_forced(
            None,
            FeedbackSequence::Tokens(ids(batch, time, vocab, 3, &gpu())),
        )
        .unwrap();
    assert_close(
        "pattern 2 logits",
        &values(cpu.clone()),
        &values(gpu_logits.clone()),
    );
    let squares = (cpu.powf_scalar(2.0), gpu_logits.powf_scalar(2.0));
    assert_agree(
        "pattern 2",
        (&cpu_model, squares.0),
        (&gpu_model, squares.1),
    );

    // Pattern 3 on a padded batch: two layers, rows stopping in any order, on the fused path
    // (the generic passes on the GPU, the host kernels on the CPU), for every cell.
    for cell in [RecurrentCell::Tanh, RecurrentCell::Lstm, RecurrentCell::Gru] {
        let config = SequenceSummarizerConfig::new(token_stack(vocab, 4, 2).with_cell(cell), 2);
        let (cpu_model, gpu_model) = on_both!(config);
        let lengths = [3, 7, 1, 5, 7];
        let cpu = cpu_model
            .forward(
                SequenceInput::Tokens(ids(lengths.len(), time, vocab, 4, &Default::default())),
                Some(&lengths),
            )
            .unwrap();
        let gpu_out = gpu_model
            .forward(
                SequenceInput::Tokens(ids(lengths.len(), time, vocab, 4, &gpu())),
                Some(&lengths),
            )
            .unwrap();
        let what = format!("pattern 3, {cell:?}");
        assert_agree(&what, (&cpu_model, cpu), (&gpu_model, gpu_out));
    }
}

#[test]
fn feeding_strategies_agree() {
    let (vocab, batch, time) = (5, 3, 8);
    let _turn = turn();
    // The coins and draws come from the plan, made on the host: both backends feed the same
    // symbols, by the CPU's rollout kernel and by the generic rollout on the GPU, and the GPU's
    // step-wise loop (the reference) agrees with both.
    let streams = FeedingStreams {
        seed: 3,
        iteration: 7,
    };
    // Every cell's rollout, two layers deep: the LSTM's and the GRU's run by the kernel too.
    for cell in [RecurrentCell::Tanh, RecurrentCell::Lstm, RecurrentCell::Gru] {
        let config = HiddenRecurrentConfig::new(token_stack(vocab, 6, 2).with_cell(cell), vocab);
        let (cpu_model, gpu_model) = on_both!(config);
        for feeding in [
            Feeding::TeacherForcing,
            Feeding::ScheduledSampling {
                truth_probability: 0.5,
                own: FeedbackChoice::Sample,
            },
            Feeding::ScheduledSampling {
                truth_probability: 0.0,
                own: FeedbackChoice::Argmax,
            },
            Feeding::Curriculum {
                free_steps: 3,
                own: FeedbackChoice::Sample,
            },
        ] {
            let plan = feeding.plan([batch, time], streams).unwrap();
            let cpu = hidden_recurrent_window(
                &cpu_model,
                ids(batch, time, vocab, 5, &Default::default()),
                None,
                &plan,
                RecurrencePath::Fused,
            )
            .unwrap();
            for path in [RecurrencePath::Fused, RecurrencePath::Unrolled] {
                let gpu_out = hidden_recurrent_window(
                    &gpu_model,
                    ids(batch, time, vocab, 5, &gpu()),
                    None,
                    &plan,
                    path,
                )
                .unwrap();
                assert_close(
                    &format!("{cell:?}, {feeding:?}, GPU {path:?}"),
                    &values(cpu.logits.clone()),
                    &values(gpu_out.logits),
                );
            }
        }
    }
    let pattern_2 = OutputRecurrentConfig::new(6, vocab);
    let (cpu_model, gpu_model) = on_both!(pattern_2);
    let plan = Feeding::ScheduledSampling {
        truth_probability: 0.3,
        own: FeedbackChoice::Sample,
    }
    .plan([batch, time], streams)
    .unwrap();
    let cpu = output_recurrent_window(
        &cpu_model,
        ids(batch, time, vocab, 5, &Default::default()),
        &plan,
        RecurrencePath::Fused,
    )
    .unwrap();
    for path in [RecurrencePath::Fused, RecurrencePath::Unrolled] {
        let gpu_out =
            output_recurrent_window(&gpu_model, ids(batch, time, vocab, 5, &gpu()), &plan, path)
                .unwrap();
        assert_close(
            &format!("pattern 2, GPU {path:?}"),
            &values(cpu.clone()),
            &values(gpu_out),
        );
    }
}

/// Teacher-forced logits of the last checkpoint in `run`, on a backend.
fn checkpoint_logits<B: RecurrenceBackend>(run: &Path, device: &B::Device) -> Vec<f32> {
    let checkpoint = LanguageCheckpoint::open(run, Which::Last).unwrap();
    let vocab = checkpoint.encoding.len();
    let model = checkpoint.model::<B>(device).unwrap();
    let (logits, _) = model
        .window(
            ids::<B>(1, 10, vocab, 6, device),
            None,
            &FeedingPlan::teacher_forcing(1, 10).unwrap(),
            RecurrencePath::Fused,
        )
        .unwrap();
    values(logits)
}

fn assert_loads_on_both(what: &str, run: &Path) {
    let on_cpu = checkpoint_logits::<Cpu>(run, &Default::default());
    let on_gpu = checkpoint_logits::<Gpu>(run, &gpu());
    assert_close(&format!("{what} on both backends"), &on_cpu, &on_gpu);
}

#[test]
fn training_steps_and_checkpoints_cross_backends() {
    let _turn = turn();
    let scratch = Scratch(std::env::temp_dir().join(format!("unroll-gpu-{}", std::process::id())));
    let text = "the cat sat on the mat. the dog ran. ".repeat(30);
    let corpus = Corpus::from_bytes(text.as_bytes(), SymbolMode::Text).unwrap();
    // Settings as a settings file gives them; the rest are the defaults.
    let settings =
        r#"{"window": 12, "batch": 4, "iterations": 2, "eval_every": 2, "model": {"hidden": 16}}"#;
    let config: LanguageConfig = serde_json::from_str(settings).unwrap();
    let start = scratch.0.join("start");
    let run = |iterations: u64, out: &PathBuf, from: &PathBuf, on_gpu: bool| {
        let config = LanguageConfig {
            iterations,
            ..config.clone()
        };
        let resume = Some(LanguageCheckpoint::open(from, Which::Last).unwrap());
        // The losses of the resumed iterations.
        let metrics = if on_gpu {
            train_language::<Gpu>(
                LanguageRun::new(config, &corpus, out, gpu(), "wgpu").resuming(resume),
                &mut Silent,
            )
            .unwrap()
            .metrics
        } else {
            train_language::<Cpu>(
                LanguageRun::new(config, &corpus, out, Default::default(), "ndarray")
                    .resuming(resume),
                &mut Silent,
            )
            .unwrap()
            .metrics
        };
        metrics
            .iter()
            .skip(2)
            .map(|m| m.loss as f32)
            .collect::<Vec<_>>()
    };
    train_language::<Cpu>(
        LanguageRun::new(
            config.clone(),
            &corpus,
            start.clone(),
            Default::default(),
            "ndarray",
        ),
        &mut Silent,
    )
    .unwrap();
    // The same two further steps from the same checkpoint, on each backend.
    let on_gpu = scratch.0.join("gpu");
    let on_cpu = scratch.0.join("cpu");
    let gpu_losses = run(4, &on_gpu, &start, true);
    let cpu_losses = run(4, &on_cpu, &start, false);
    assert_close("losses of iterations 3 and 4", &cpu_losses, &gpu_losses);
    // A checkpoint written on the GPU loads on the CPU, and one written on the CPU on the GPU.
    assert_loads_on_both("GPU checkpoint", &on_gpu);
    assert_loads_on_both("CPU checkpoint", &on_cpu);
}

/// The forecaster on real values: teacher forcing, a window fed its own outputs (detached and
/// through) and an open-loop forecast, patterns 2 and 1, values and every gradient.
#[test]
fn forecasters_agree() {
    use unroll::training::forecast::{FedGradient, Forecaster, RegressionLoss, init_forecaster};
    use unroll::training::{ModelSettings, Pattern};
    let _turn = turn();
    let (batch, time, width) = (3, 8, 2);
    let series = |phase: f32, device: &WgpuDevice| {
        let data: Vec<f32> = (0..batch * time * width)
            .map(|i| (0.37 * i as f32 + phase).sin())
            .collect();
        Tensor::<Gpu, 3>::from_data(TensorData::new(data, [batch, time, width]), device)
    };
    let on_cpu =
        |t: Tensor<Gpu, 3>| Tensor::<Cpu, 3>::from_data(t.into_data(), &Default::default());
    let plan = Feeding::ScheduledSampling {
        truth_probability: 0.5,
        own: FeedbackChoice::Argmax,
    }
    .plan(
        [batch, time],
        FeedingStreams {
            seed: 4,
            iteration: 2,
        },
    )
    .unwrap();
    for (pattern, loss, cell) in [
        (
            Pattern::Output,
            RegressionLoss::MeanSquared,
            RecurrentCell::Tanh,
        ),
        (
            Pattern::Hidden,
            RegressionLoss::MeanSquared,
            RecurrentCell::Tanh,
        ),
        (
            Pattern::Output,
            RegressionLoss::GaussianNll,
            RecurrentCell::Tanh,
        ),
        (
            Pattern::Hidden,
            RegressionLoss::MeanSquared,
            RecurrentCell::Lstm,
        ),
    ] {
        let settings = ModelSettings {
            pattern,
            hidden: 8,
            layers: 1,
            cell,
            dropout: 0.0,
            bidirectional: false,
        };
        let cpu: Forecaster<Cpu> =
            init_forecaster(&settings, width, loss, &Default::default()).unwrap();
        let gpu_model: Forecaster<Gpu> = transfer(
            &cpu,
            init_forecaster(&settings, width, loss, &gpu()).unwrap(),
        );
        let (previous, targets) = (series(0.0, &gpu()), series(0.4, &gpu()));
        let (cpu_previous, cpu_targets) = (on_cpu(previous.clone()), on_cpu(targets.clone()));
        for (what, gradient) in [
            ("teacher forcing", None),
            ("detached", Some(FedGradient::Detached)),
            ("through", Some(FedGradient::Through)),
        ] {
            let what = format!("{pattern:?} {loss:?} {what}");
            let run_cpu = match gradient {
                None => cpu.teacher_forced(cpu_previous.clone()).unwrap(),
                Some(g) => cpu.window(cpu_previous.clone(), &plan, g).unwrap(),
            };
            let run_gpu = match gradient {
                None => gpu_model.teacher_forced(previous.clone()).unwrap(),
                Some(g) => gpu_model.window(previous.clone(), &plan, g).unwrap(),
            };
            assert_close(&what, &values(run_cpu.clone()), &values(run_gpu.clone()));
            let cpu_loss = cpu.loss(run_cpu, cpu_targets.clone());
            let gpu_loss = gpu_model.loss(run_gpu, targets.clone());
            assert_agree(&what, (&cpu, cpu_loss), (&gpu_model, gpu_loss));
        }
        let warm = previous.narrow(1, 0, 4);
        assert_close(
            &format!("{pattern:?} {loss:?} open loop"),
            &values(cpu.open_loop(on_cpu(warm.clone()), 6).unwrap()),
            &values(gpu_model.open_loop(warm, 6).unwrap()),
        );
    }
}

/// The gated cells, stacked two deep: outputs, final states and every gradient on wgpu against
/// the CPU.
#[test]
fn gated_stacks_agree() {
    use unroll::model::{HiddenStack, HiddenStackConfig, InputEncoding, RecurrencePath};
    let _turn = turn();
    let (batch, time, input, hidden) = (3, 6, 4, 5);
    let data: Vec<f32> = (0..batch * time * input)
        .map(|i| (0.61 * i as f32).sin())
        .collect();
    for cell in [RecurrentCell::Lstm, RecurrentCell::Gru] {
        // The cells step by step, on Burn's operations on either side.
        let config = HiddenStackConfig::new(InputEncoding::Dense { d_input: input }, hidden)
            .with_cell(cell)
            .with_num_layers(2)
            .with_path(RecurrencePath::Unrolled);
        let cpu: HiddenStack<Cpu> = config.init(&Default::default());
        let gpu_stack: HiddenStack<Gpu> = transfer(&cpu, config.init(&gpu()));
        let x = TensorData::new(data.clone(), [batch, time, input]);
        let cpu_x = SequenceInput::Dense(Tensor::from_data(x.clone(), &Default::default()));
        let cpu_zero = cpu.zero_state(batch, &Default::default());
        let (cpu_outputs, cpu_state) = cpu.forward(cpu_x, cpu_zero, None);
        let gpu_x = SequenceInput::Dense(Tensor::from_data(x, &gpu()));
        let (outputs, state) = gpu_stack.forward(gpu_x, gpu_stack.zero_state(batch, &gpu()), None);
        let what = format!("{cell:?}");
        assert_close(
            &what,
            &values(cpu_outputs.clone()),
            &values(outputs.clone()),
        );
        let state_what = format!("{what} final state");
        assert_close(
            &state_what,
            &values(cpu_state.hidden.clone()),
            &values(state.hidden.clone()),
        );
        // One loss over the outputs and the final state, so that both carry gradients.
        let cpu_loss = cpu_outputs.powf_scalar(2.0).sum() + cpu_state.hidden.sum();
        let gpu_loss = outputs.powf_scalar(2.0).sum() + state.hidden.sum();
        assert_agree(&what, (&cpu, cpu_loss), (&gpu_stack, gpu_loss));
    }
}

/// A stack run backward in time, each row within its own length (the reversal is a gather on
/// either side): outputs, final state and every gradient on wgpu against the CPU.
#[test]
fn backward_direction_agrees() {
    use unroll::model::Direction;
    let _turn = turn();
    let (vocab, batch, time) = (6, 3, 7);
    let lengths = [7, 4, 1];
    let config = HiddenRecurrentConfig::new(
        token_stack(vocab, 5, 2)
            .with_cell(RecurrentCell::Lstm)
            .with_direction(Direction::Backward),
        vocab,
    );
    let (cpu_model, gpu_model) = on_both!(config);
    let summarizer = SequenceSummarizerConfig::new(config.hidden.clone(), vocab);
    let (cpu_summarizer, gpu_summarizer) = on_both!(summarizer);
    let cpu_ids = || SequenceInput::Tokens(ids(batch, time, vocab, 3, &Default::default()));
    let gpu_ids = || SequenceInput::Tokens(ids(batch, time, vocab, 3, &gpu()));
    let cpu_out = cpu_model.forward(cpu_ids(), None).unwrap();
    let gpu_out = gpu_model.forward(gpu_ids(), None).unwrap();
    assert_agree(
        "backward logits",
        (&cpu_model, cpu_out.logits),
        (&gpu_model, gpu_out.logits),
    );
    let cpu_summary = cpu_summarizer.forward(cpu_ids(), Some(&lengths)).unwrap();
    let gpu_summary = gpu_summarizer.forward(gpu_ids(), Some(&lengths)).unwrap();
    assert_agree(
        "backward summary",
        (&cpu_summarizer, cpu_summary),
        (&gpu_summarizer, gpu_summary),
    );
}

/// Both directions, two layers of every cell, padded rows: pattern 3's output and pattern 1's
/// per-step outputs, and every gradient, on wgpu against the CPU.
#[test]
fn bidirectional_agrees() {
    let _turn = turn();
    let (vocab, batch, time) = (6, 3, 7);
    let lengths = [7, 4, 1];
    for cell in [RecurrentCell::Tanh, RecurrentCell::Lstm, RecurrentCell::Gru] {
        let config = BidirectionalConfig::new(token_stack(vocab, 5, 2).with_cell(cell), 3);
        let cpu_ids = || SequenceInput::Tokens(ids(batch, time, vocab, 4, &Default::default()));
        let gpu_ids = || SequenceInput::Tokens(ids(batch, time, vocab, 4, &gpu()));
        let cpu_model = config
            .try_init_summarizer::<Cpu>(&Default::default())
            .unwrap();
        let gpu_model = transfer(
            &cpu_model,
            config.try_init_summarizer::<Gpu>(&gpu()).unwrap(),
        );
        let cpu_out = cpu_model.forward(cpu_ids(), Some(&lengths)).unwrap();
        let gpu_out = gpu_model.forward(gpu_ids(), Some(&lengths)).unwrap();
        let what = format!("both ways, summary, {cell:?}");
        assert_agree(&what, (&cpu_model, cpu_out), (&gpu_model, gpu_out));
        let cpu_model = config
            .try_init_recurrent::<Cpu>(&Default::default())
            .unwrap();
        let gpu_model = transfer(
            &cpu_model,
            config.try_init_recurrent::<Gpu>(&gpu()).unwrap(),
        );
        // Past a row's length the outputs are padding: only the full row is compared whole.
        let cpu_out = cpu_model.forward(cpu_ids(), None).unwrap();
        let gpu_out = gpu_model.forward(gpu_ids(), None).unwrap();
        let what = format!("both ways, every step, {cell:?}");
        assert_agree(&what, (&cpu_model, cpu_out), (&gpu_model, gpu_out));
    }
}

/// The encoder–decoder's losses on a padded batch (sources and targets of several lengths).
fn encoder_decoder_losses<B: RecurrenceBackend>(
    model: &unroll::model::EncoderDecoder<B>,
    device: &B::Device,
) -> Tensor<B, 2> {
    let (vocab, source_time, target_time) = (6, 7, 5);
    let (source_lengths, target_lengths) = ([3, 7, 1, 5], [5, 2, 4, 1]);
    let batch = source_lengths.len();
    model
        .forward_loss(
            SequenceInput::Tokens(ids(batch, source_time, vocab, 5, device)),
            Some(&source_lengths),
            ids(batch, target_time, vocab, 6, device),
            ids(batch, target_time, vocab, 7, device),
            Some(&target_lengths),
        )
        .unwrap()
}

/// The symbols the encoder–decoder's decoder is fed under scheduled sampling (sampled own
/// symbols) on the padded batch of [`encoder_decoder_losses`], `[batch · steps]`.
fn encoder_decoder_fed<B: RecurrenceBackend>(
    model: &unroll::model::EncoderDecoder<B>,
    plan: &FeedingPlan,
    device: &B::Device,
) -> Vec<i64> {
    let (vocab, source_time, target_time) = (6, 7, 5);
    let source_lengths = [3, 7, 1, 5];
    let batch = source_lengths.len();
    let source = SequenceInput::Tokens(ids(batch, source_time, vocab, 5, device));
    let summary = model.encode(source, Some(&source_lengths)).unwrap();
    let truth = ids(batch, target_time, vocab, 6, device);
    let fed = model.fed_symbols(truth, summary, plan).unwrap();
    fed.into_data().iter::<i64>().collect()
}

/// The encoder–decoder on a padded batch, two layers of every cell, the encoder one way and
/// both ways, the summary in every decoder input, fused: the losses and every gradient agree,
/// and so do the symbols scheduled sampling feeds the decoder.
#[test]
fn encoder_decoder_agrees() {
    let _turn = turn();
    let cells = [RecurrentCell::Tanh, RecurrentCell::Lstm, RecurrentCell::Gru];
    let ways = [(false, false), (true, false), (false, true)];
    for (cell, (both_ways, summary_input)) in cells.into_iter().flat_map(|c| ways.map(|w| (c, w))) {
        let mut config =
            EncoderDecoderConfig::symbols(6, 6, 4, 2, cell).with_bidirectional(both_ways);
        if both_ways {
            config.encoder.d_hidden = 2;
        }
        if summary_input {
            config = config.with_summary_in_every_input();
        }
        let (cpu_model, gpu_model) = on_both!(config);
        let cpu = encoder_decoder_losses(&cpu_model, &Default::default());
        let gpu_losses = encoder_decoder_losses(&gpu_model, &gpu());
        let what = format!(
            "encoder–decoder, {cell:?}, both ways {both_ways}, summary input {summary_input}"
        );
        assert_agree(&what, (&cpu_model, cpu), (&gpu_model, gpu_losses));
    }
    // The rollout of a wider decoder (its symbols follow its state closely): the CPU's kernel
    // and the GPU's generic pass feed the same symbols.
    let feeding = Feeding::ScheduledSampling {
        truth_probability: 0.3,
        own: FeedbackChoice::Sample,
    };
    let streams = FeedingStreams {
        seed: 3,
        iteration: 7,
    };
    let plan = feeding.plan([4, 5], streams).unwrap();
    for cell in cells {
        let config = EncoderDecoderConfig::symbols(6, 6, 32, 1, cell);
        let (cpu_model, gpu_model) = on_both!(config.clone().with_summary_in_every_input());
        let on_cpu = encoder_decoder_fed(&cpu_model, &plan, &Default::default());
        let what = format!("encoder–decoder, {cell:?}, the summary in every input: fed symbols");
        assert_eq!(
            on_cpu,
            encoder_decoder_fed(&gpu_model, &plan, &gpu()),
            "{what}"
        );
    }
}
