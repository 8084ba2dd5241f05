//! Speed and memory of training and generation, per pattern, CPU backend and recurrence path.
//!
//! `cargo bench -p unroll-cli --bench speed` (add `-- quick` for fewer sizes, `-- feeding` for the
//! feeding strategies alone, `-- gated` for the LSTM and GRU alone, `-- stacks` for their
//! stacks with dropout and three layers, `-- products` for the
//! matrix products a gated step is made of, timed alone (`products.rs`), `-- --threads N` to
//! run the kernels on N threads instead of one per core; `scripts/pytorch_speed.py` takes the
//! same flag, so that both sides of a comparison use the same cores). Built with
//! `--features wgpu` and/or `cuda`, `-- gpu` measures the GPU backends instead
//! (`scripts/gpu-bench.sh`).
//! Every configuration prints its exact setup, tokens/s, ms/step and the peak memory one step
//! adds: the peak of live heap bytes during the step less those live before it, counted by the
//! global allocator (exact, whatever the allocator caches). A training step is forward + cross-entropy over all steps + backward + global-norm clip +
//! Adam, on random token windows of a 65-symbol vocabulary. `scripts/pytorch_speed.py` measures
//! the same configurations in PyTorch.

/// mimalloc keeps freed pages for reuse: with the system allocator, every step's large buffers
/// come back from the kernel as fresh zeroed pages (measured up to 2.3x slower on pattern 2).
/// Wrapped to count live bytes, so that the memory a step adds is measured exactly, whatever
/// the allocator keeps cached.
#[global_allocator]
static ALLOCATOR: unroll_cli::allocator::Counting = unroll_cli::allocator::Counting;

use std::time::{Duration, Instant};

use burn::backend::{Autodiff, Flex, NdArray};
use burn::module::AutodiffModule;
use burn::optim::{AdamConfig, GradientsParams, Optimizer};
use burn::tensor::{Int, Tensor, TensorData};
use unroll::model::{
    FeedbackSequence, HiddenRecurrentConfig, HiddenStackConfig, IdCheck, InputEncoding,
    OutputRecurrentConfig, RecurrenceBackend, RecurrencePath, RecurrentCell, SequenceInput,
    SequenceSummarizerConfig, StepInput, step_cross_entropy,
};
use unroll::training::{FusedAdam, TrainingBackend, clip_global_norm};

mod adam;
mod bidirectional;
mod feeding;
mod gated;
mod products;

const VOCAB: usize = 65;

/// Live heap now, in MiB.
fn live_mib() -> f64 {
    unroll_cli::allocator::live_bytes().unwrap_or(0) as f64 / 1048576.0
}

/// Starts a new peak at the current live heap.
fn reset_peak() {
    unroll_cli::allocator::reset_peak();
}

/// Peak live heap since the last reset, in MiB.
fn peak_mib() -> f64 {
    unroll_cli::allocator::peak_bytes() as f64 / 1048576.0
}

/// The default device, with the backend's generator seeded: every run draws the same weights.
fn seeded_device<B: burn::tensor::backend::Backend>() -> B::Device {
    let device = Default::default();
    B::seed(&device, 0);
    device
}

/// The windows of the memory tables: the ends only when `quick`.
fn memory_windows(quick: bool) -> &'static [usize] {
    if quick {
        &[64, 1024]
    } else {
        &[64, 128, 256, 512, 1024]
    }
}

fn tokens<B: burn::tensor::backend::Backend>(
    batch: usize,
    time: usize,
    seed: usize,
) -> Tensor<B, 2, Int> {
    let values: Vec<i64> = (0..batch * time)
        .map(|i| ((i * 7919 + seed * 104729) % VOCAB) as i64)
        .collect();
    Tensor::from_data(TensorData::new(values, [batch, time]), &Default::default())
}

/// Runs `step` until at least `budget` has passed (after two warm-up steps); returns ms per step
/// and the peak memory one step added.
fn time_steps(budget: Duration, mut step: impl FnMut()) -> (f64, f64) {
    step();
    let before = live_mib();
    reset_peak();
    step();
    let peak = peak_mib();
    let started = Instant::now();
    let mut count = 0;
    while count < 3 || started.elapsed() < budget {
        step();
        count += 1;
    }
    (
        1000.0 * started.elapsed().as_secs_f64() / count as f64,
        peak - before,
    )
}

/// Backward, global-norm clip 5 and an Adam step at 2e-3: the end of every training step here.
fn clipped_adam_step<B, M, O>(model: M, loss: Tensor<B, 1>, optimizer: &mut O) -> M
where
    B: TrainingBackend,
    M: AutodiffModule<B>,
    O: Optimizer<M, B>,
{
    let gradients = GradientsParams::from_grads(loss.backward(), &model);
    let (gradients, _) = clip_global_norm(&model, gradients, 5.0).expect("clip");
    optimizer.step(2e-3, model, gradients)
}

/// Whether `burn-adam` asks for Burn's own `Adam` instead of the trainer's ([`FusedAdam`], the
/// same steps in one pass a parameter), to measure one against the other.
fn burns_adam() -> bool {
    std::env::args().any(|a| a == "burn-adam")
}

/// Times training steps of `model` for `budget`: the loss `loss` gives at each step, global-norm
/// clipping, Adam (the trainer's, or Burn's with `burn-adam`). Returns ms per step and the
/// memory a step adds.
fn time_training<B: TrainingBackend, M: AutodiffModule<B>>(
    model: M,
    budget: Duration,
    loss: impl FnMut(&M) -> Tensor<B, 1>,
) -> (f64, f64) {
    if burns_adam() {
        let optimizer = AdamConfig::new().with_epsilon(1e-8).init();
        time_training_with(model, budget, loss, optimizer)
    } else {
        time_training_with(model, budget, loss, FusedAdam::default().init())
    }
}

/// [`time_training`] with `optimizer`.
fn time_training_with<B: TrainingBackend, M: AutodiffModule<B>, O: Optimizer<M, B>>(
    model: M,
    budget: Duration,
    mut loss: impl FnMut(&M) -> Tensor<B, 1>,
    mut optimizer: O,
) -> (f64, f64) {
    let mut model = Some(model);
    time_steps(budget, || {
        let current = model.take().expect("model");
        let loss = loss(&current);
        model = Some(clipped_adam_step(current, loss, &mut optimizer));
    })
}

fn report(what: &str, tokens_per_step: usize, (ms, added): (f64, f64)) -> f64 {
    let rate = tokens_per_step as f64 / (ms / 1000.0);
    println!("{what:58} {rate:>10.0} tokens/s {ms:>9.2} ms/step  +{added:>6.1} MiB");
    rate
}

fn pattern_1<B: TrainingBackend>(
    name: &str,
    path: RecurrencePath,
    size: (usize, usize, usize),
    budget: Duration,
) -> f64 {
    pattern_1_checking::<B>(name, path, size, budget, IdCheck::EveryCall)
}

/// [`pattern_1`] with the ids checked by the model on every call or by the caller.
fn pattern_1_checking<B: TrainingBackend>(
    name: &str,
    path: RecurrencePath,
    (hidden, batch, window): (usize, usize, usize),
    budget: Duration,
    id_check: IdCheck,
) -> f64 {
    let hidden_stack = HiddenStackConfig::new(InputEncoding::Tokens { vocab_size: VOCAB }, hidden)
        .with_path(path)
        .with_id_check(id_check);
    let timing = time_pattern_1_training::<B>(hidden_stack, (batch, window), budget);
    let checked = match id_check {
        IdCheck::EveryCall => "",
        IdCheck::Caller => ", ids checked by the caller",
    };
    let what =
        format!("pattern 1 {name:7} {path:?} H {hidden} batch {batch} window {window}{checked}");
    report(&what, batch * window, timing)
}

/// Times pattern-1 training steps (`forward_loss`, mean, clip, Adam) of a model with
/// `hidden_stack` on random token windows; returns ms per step and the memory a step adds.
fn time_pattern_1_training<B: TrainingBackend>(
    hidden_stack: HiddenStackConfig,
    (batch, window): (usize, usize),
    budget: Duration,
) -> (f64, f64) {
    let device = seeded_device::<B>();
    let model = HiddenRecurrentConfig::new(hidden_stack, VOCAB).init::<B>(&device);
    let inputs = tokens::<B>(batch, window, 1);
    let targets = tokens::<B>(batch, window, 2);
    time_training(model, budget, |model| {
        let input = SequenceInput::Tokens(inputs.clone());
        let (losses, _) = model
            .forward_loss(input, None, targets.clone())
            .expect("shapes");
        losses.mean()
    })
}

fn pattern_2<B: TrainingBackend>(
    name: &str,
    (hidden, batch, window): (usize, usize, usize),
    budget: Duration,
) -> f64 {
    let model = OutputRecurrentConfig::new(hidden, VOCAB).init::<B>(&seeded_device::<B>());
    let previous = tokens::<B>(batch, window, 1);
    let targets = tokens::<B>(batch, window, 2);
    let timing = time_training(model, budget, |model| {
        let previous = FeedbackSequence::Tokens(previous.clone());
        let losses = model.teacher_forced_loss(None, previous, targets.clone());
        losses.expect("shapes").mean()
    });
    let what =
        format!("pattern 2 {name:7} teacher-forced H {hidden} batch {batch} window {window}");
    report(&what, batch * window, timing)
}

/// Pattern 3 as a sequence classifier: one label per window, from the last state.
fn pattern_3<B: TrainingBackend>(
    name: &str,
    path: RecurrencePath,
    (hidden, batch, window): (usize, usize, usize),
    budget: Duration,
) -> f64 {
    let stack = HiddenStackConfig::new(InputEncoding::Tokens { vocab_size: VOCAB }, hidden);
    let model = SequenceSummarizerConfig::new(stack.with_path(path), VOCAB);
    let inputs = tokens::<B>(batch, window, 1);
    let labels = tokens::<B>(batch, 1, 2);
    let timing = time_training(model.init::<B>(&seeded_device::<B>()), budget, |model| {
        let logits = model.forward(SequenceInput::Tokens(inputs.clone()), None);
        label_loss(logits.expect("shapes"), &labels)
    });
    let what = format!("pattern 3 {name:7} {path:?} H {hidden} batch {batch} window {window}");
    report(&what, batch * window, timing)
}

/// The mean cross-entropy of one label a row, from its logits `[batch, VOCAB]`.
fn label_loss<B: RecurrenceBackend>(
    logits: Tensor<B, 2>,
    labels: &Tensor<B, 2, Int>,
) -> Tensor<B, 1> {
    let batch = logits.dims()[0];
    let losses = step_cross_entropy(logits.reshape([batch, 1, VOCAB]), labels.clone());
    losses.expect("shapes").mean()
}

/// The lengths of batch `j`'s rows, uniform in 20–200 (a multiplicative hash, the same in
/// `scripts/pytorch_speed.py`).
fn variable_lengths(j: usize, batch: usize) -> Vec<usize> {
    (0..batch)
        .map(|r| 20 + ((j * batch + r) as u64 * 2_654_435_761 % (1 << 32)) as usize % 181)
        .collect()
}

/// Pattern 3 on padded batches of sequences of 20–200 tokens (eight batches in turn), each row
/// stopping at its own length; `sorted`: rows longest first, as the classify task's
/// length-bucketed batches come (PyTorch's `pack_padded_sequence` sorts them itself). Tokens
/// are the real, unpadded ones.
fn pattern_3_variable<B: TrainingBackend>(
    name: &str,
    (hidden, batch): (usize, usize),
    sorted: bool,
    budget: Duration,
) -> f64 {
    let stack = HiddenStackConfig::new(InputEncoding::Tokens { vocab_size: VOCAB }, hidden);
    let model = SequenceSummarizerConfig::new(stack.with_id_check(IdCheck::Caller), VOCAB)
        .init::<B>(&seeded_device::<B>());
    let batches: Vec<(Tensor<B, 2, Int>, Vec<usize>)> = (0..8)
        .map(|j| {
            let mut lengths = variable_lengths(j, batch);
            if sorted {
                lengths.sort_unstable_by(|a, b| b.cmp(a));
            }
            let time = *lengths.iter().max().expect("rows");
            (tokens::<B>(batch, time, 1 + j), lengths)
        })
        .collect();
    let tokens_per_round: usize = batches.iter().map(|(_, l)| l.iter().sum::<usize>()).sum();
    let labels = tokens::<B>(batch, 1, 2);
    let mut next = 0;
    let timing = time_training(model, budget, |model| {
        let (inputs, lengths) = &batches[next % batches.len()];
        next += 1;
        let logits = model.forward(SequenceInput::Tokens(inputs.clone()), Some(lengths));
        label_loss(logits.expect("shapes"), &labels)
    });
    let order = if sorted { "sorted" } else { "unsorted" };
    let what = format!("pattern 3 {name:7} lengths 20-200 {order:8} H {hidden} batch {batch}");
    report(&what, tokens_per_round / batches.len(), timing)
}

/// Sampling at batch 1 without autodiff: one step, softmax, a draw, per character.
fn generation<B: TrainingBackend>(name: &str, hidden: usize, budget: Duration) -> f64 {
    let device = seeded_device::<B>();
    let model = HiddenRecurrentConfig::new(
        HiddenStackConfig::new(InputEncoding::Tokens { vocab_size: VOCAB }, hidden),
        VOCAB,
    )
    .init::<B>(&device)
    .valid();
    let mut state = None;
    let mut next: Tensor<B::InnerBackend, 1, Int> = Tensor::zeros([1], &device);
    let characters = 200;
    let timing = time_steps(budget, || {
        for _ in 0..characters {
            let (logits, new_state) = model
                .step(StepInput::Tokens(next.clone()), state.take())
                .expect("shapes");
            state = Some(new_state);
            next = unroll::model::sample_classes(logits);
        }
    });
    let what = format!("generation {name:7} H {hidden} batch 1 (sampled, 200 per step)");
    report(&what, characters, timing)
}

/// Whether the backend can run at all: a GPU backend without a usable device panics on its
/// first tensor, which here becomes a clear message instead.
#[cfg(any(feature = "wgpu", feature = "cuda"))]
fn usable<B: burn::tensor::backend::Backend>(name: &str, device: &B::Device) -> bool {
    let probe = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        Tensor::<B, 1>::zeros([1], device).into_data()
    }));
    match probe {
        Ok(_) => true,
        Err(cause) => {
            let reason = cause
                .downcast_ref::<String>()
                .map(String::as_str)
                .or_else(|| cause.downcast_ref::<&str>().copied())
                .unwrap_or("unknown reason");
            println!("{name}: no usable GPU adapter or device found, skipped ({reason})");
            false
        }
    }
}

/// The GPU configurations: patterns 1 and 2 at two sizes, per GPU backend.
#[cfg(any(feature = "wgpu", feature = "cuda"))]
fn gpu(budget: Duration) -> bool {
    fn sizes<B: TrainingBackend>(name: &str, budget: Duration) {
        for size in [(256, 64, 100), (1024, 256, 128)] {
            let checked = pattern_1::<B>(name, RecurrencePath::Fused, size, budget);
            // The model's id check reads the ids back: a synchronisation per call.
            let trusted =
                pattern_1_checking::<B>(name, RecurrencePath::Fused, size, budget, IdCheck::Caller);
            println!(
                "   ids checked by the caller / by the model: {:.2}x",
                trusted / checked
            );
            pattern_2::<B>(name, size, budget);
        }
    }
    let mut any = false;
    // A panic's own report would repeat the message below; keep the output to one line.
    std::panic::set_hook(Box::new(|_| {}));
    #[cfg(feature = "wgpu")]
    if usable::<burn::backend::Wgpu>("wgpu", &Default::default()) {
        sizes::<Autodiff<burn::backend::Wgpu>>("wgpu", budget);
        any = true;
    }
    #[cfg(feature = "cuda")]
    if usable::<burn::backend::Cuda>("cuda", &Default::default()) {
        sizes::<Autodiff<burn::backend::Cuda>>("cuda", budget);
        any = true;
    }
    let _ = std::panic::take_hook();
    any
}

/// The value of `--threads N`, or one thread per core.
fn threads() -> Result<usize, String> {
    let arguments: Vec<String> = std::env::args().collect();
    match arguments.iter().position(|a| a == "--threads") {
        None => Ok(std::thread::available_parallelism().map_or(1, |n| n.get())),
        Some(at) => match arguments.get(at + 1).map(|n| n.parse::<usize>()) {
            Some(Ok(n)) if n > 0 => Ok(n),
            _ => Err("--threads needs a whole number of threads above 0".into()),
        },
    }
}

/// Pattern 2's teacher-forced speed at several windows, and the fixed and per-token costs of a
/// step fitted to them.
fn pattern_2_against_the_window(quick: bool, budget: Duration) {
    println!("== pattern 2 teacher-forced training, seconds per token against the window");
    let windows: &[usize] = if quick {
        &[64, 512]
    } else {
        &[64, 128, 256, 512]
    };
    let rates: Vec<f64> = windows
        .iter()
        .map(|&w| pattern_2::<Autodiff<Flex>>("flex", (256, 64, w), budget))
        .collect();
    let (fastest, slowest) = rates
        .iter()
        .fold((0.0f64, f64::MAX), |(hi, lo), &r| (hi.max(r), lo.min(r)));
    println!(
        "   spread of tokens/s over windows: {:.1} %",
        100.0 * (fastest / slowest - 1.0)
    );
    // ms/step = fixed + marginal · tokens, by least squares: what does not grow with the window
    // (optimizer, clipping, the per-symbol tables) against what does.
    let points: Vec<(f64, f64)> = windows
        .iter()
        .zip(&rates)
        .map(|(&w, &rate)| {
            let tokens = (64 * w) as f64;
            (tokens, 1000.0 * tokens / rate)
        })
        .collect();
    let n = points.len() as f64;
    let (mean_x, mean_y) = (
        points.iter().map(|p| p.0).sum::<f64>() / n,
        points.iter().map(|p| p.1).sum::<f64>() / n,
    );
    let slope = points
        .iter()
        .map(|(x, y)| (x - mean_x) * (y - mean_y))
        .sum::<f64>()
        / points
            .iter()
            .map(|(x, _)| (x - mean_x).powi(2))
            .sum::<f64>();
    let fixed = mean_y - slope * mean_x;
    let worst = points
        .iter()
        .map(|(x, y)| ((fixed + slope * x) / y - 1.0).abs())
        .fold(0.0f64, f64::max);
    println!(
        "   flex fit: {fixed:.2} ms per step + {:.1} ns per token (worst point off by {:.1} %)",
        slope * 1e6,
        100.0 * worst
    );
}

/// The gated cells the command line names (`lstm`, `gru`), or both.
fn gated_cells() -> Vec<RecurrentCell> {
    let named: Vec<RecurrentCell> = [RecurrentCell::Lstm, RecurrentCell::Gru]
        .into_iter()
        .filter(|cell| std::env::args().any(|a| a == cell.name()))
        .collect();
    if named.is_empty() {
        vec![RecurrentCell::Lstm, RecurrentCell::Gru]
    } else {
        named
    }
}

/// Runs the mode the command line names, if it names one of those that run alone (`products`,
/// `gated`, `stacks`, `adam`, `bidirectional`); whether it did.
fn one_mode(quick: bool, threads: usize, budget: Duration) -> bool {
    if std::env::args().any(|a| a == "products") {
        products::products(threads, budget);
        return true;
    }
    if std::env::args().any(|a| a == "gated") {
        gated::gated::<Autodiff<Flex>>("flex", quick, budget);
        return true;
    }
    if std::env::args().any(|a| a == "adam") {
        adam::adam(budget / 2);
        return true;
    }
    if std::env::args().any(|a| a == "stacks") {
        gated::stacks::<Autodiff<Flex>>("flex", budget);
        return true;
    }
    if std::env::args().any(|a| a == "bidirectional") {
        bidirectional::bidirectional::<Autodiff<Flex>>("flex", quick, budget);
        return true;
    }
    false
}

/// What `--help` prints: the benchmark's modes and flags.
const USAGE: &str = "\
speed: tokens/s, ms/step and the peak memory a step adds, per pattern, CPU backend and path

usage: cargo bench -p unroll-cli --bench speed -- [MODE] [quick] [--threads N]

modes (default: patterns 1 and 2, generation, both CPU backends):
  feeding    the feeding strategies alone (H 256, batch 64, window 100)
  gated      the LSTM and GRU alone
  stacks     the LSTM and GRU stacks with dropout 0.25, and three layers
  adam       the optimiser's step alone: Burn's Adam against the trainer's
  bidirectional  the LSTM and GRU both ways (pattern 1, an output at every step)
  products   the matrix products a gated step is made of, timed alone
  gpu        the GPU backends (a build with --features wgpu and/or cuda)

flags:
  quick        fewer sizes and a shorter time per size (2 s instead of 4)
  lstm, gru    gated, stacks and bidirectional: that cell alone [default: both]
  burn-adam    Burn's own Adam instead of the trainer's (one pass a parameter)
  --threads N  the kernels' threads [default: one per core]";

fn main() {
    if std::env::args().any(|a| a == "--help" || a == "-h") {
        println!("{USAGE}");
        return;
    }
    unroll_cli::allocator::keep_freed_memory();
    let quick = std::env::args().any(|a| a == "quick");
    let threads = threads().unwrap_or_else(|error| {
        eprintln!("error: {error}");
        std::process::exit(2);
    });
    // The host kernels, flex and ndarray all run on rayon's global pool.
    rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build_global()
        .expect("the pool is built before any kernel runs");
    // On a pool thread, as the programs run (`unroll::model::on_pool`).
    unroll::model::on_pool(|| measure(quick, threads));
}

/// Every measurement the command line asks for.
fn measure(quick: bool, threads: usize) {
    if std::env::args().any(|a| a == "gpu") {
        #[cfg(any(feature = "wgpu", feature = "cuda"))]
        {
            println!("unroll GPU speed: f32, vocabulary {VOCAB}, one layer\n");
            let found = gpu(Duration::from_secs(if quick { 2 } else { 4 }));
            std::process::exit(if found { 0 } else { 2 });
        }
        #[cfg(not(any(feature = "wgpu", feature = "cuda")))]
        {
            eprintln!("error: built without a GPU backend; build with --features wgpu and/or cuda");
            std::process::exit(2);
        }
    }
    let budget = Duration::from_secs(if quick { 2 } else { 4 });
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    println!(
        "unroll speed: f32, vocabulary {VOCAB}, one layer, CPU backends flex and ndarray, \
         {threads} threads on {cores} cores\n"
    );
    let strategies = || {
        println!(
            "== feeding strategies (forward, loss, backward, clip, Adam; H 256, batch 64, window 100)"
        );
        feeding::feeding::<Autodiff<Flex>>("flex", budget);
        println!();
    };
    if std::env::args().any(|a| a == "feeding") {
        strategies();
        return;
    }
    if one_mode(quick, threads, budget) {
        return;
    }
    println!("== pattern 1 training (forward, loss, backward, clip, Adam)");
    let sizes: &[(usize, usize, usize)] = if quick {
        &[(256, 64, 100)]
    } else {
        &[(128, 32, 64), (256, 64, 100), (512, 64, 128)]
    };
    for &size in sizes {
        let fused = pattern_1::<Autodiff<Flex>>("flex", RecurrencePath::Fused, size, budget);
        let unrolled = pattern_1::<Autodiff<Flex>>("flex", RecurrencePath::Unrolled, size, budget);
        let nd_fused =
            pattern_1::<Autodiff<NdArray>>("ndarray", RecurrencePath::Fused, size, budget);
        let nd_unrolled =
            pattern_1::<Autodiff<NdArray>>("ndarray", RecurrencePath::Unrolled, size, budget);
        println!(
            "   fused / unrolled: flex {:.2}x, ndarray {:.2}x; flex / ndarray fused {:.2}x\n",
            fused / unrolled,
            nd_fused / nd_unrolled,
            fused / nd_fused
        );
    }
    pattern_2_against_the_window(quick, budget);
    pattern_2::<Autodiff<NdArray>>("ndarray", (256, 64, 100), budget);
    println!();
    println!("== pattern 3 training (one label per window, from the last state)");
    let size = (256, 64, 100);
    let fused = pattern_3::<Autodiff<Flex>>("flex", RecurrencePath::Fused, size, budget);
    let unrolled = pattern_3::<Autodiff<Flex>>("flex", RecurrencePath::Unrolled, size, budget);
    let nd_fused = pattern_3::<Autodiff<NdArray>>("ndarray", RecurrencePath::Fused, size, budget);
    let nd_unrolled =
        pattern_3::<Autodiff<NdArray>>("ndarray", RecurrencePath::Unrolled, size, budget);
    println!(
        "   fused / unrolled: flex {:.2}x, ndarray {:.2}x",
        fused / unrolled,
        nd_fused / nd_unrolled
    );
    let sorted = pattern_3_variable::<Autodiff<Flex>>("flex", (256, 64), true, budget);
    let unsorted = pattern_3_variable::<Autodiff<Flex>>("flex", (256, 64), false, budget);
    pattern_3_variable::<Autodiff<NdArray>>("ndarray", (256, 64), true, budget);
    println!(
        "   flex, rows sorted longest first / in any order: {:.2}x\n",
        sorted / unsorted
    );
    println!("== pattern 1 fused training memory against the window (H 256, batch 64, flex)");
    for &w in memory_windows(quick) {
        pattern_1::<Autodiff<Flex>>(
            "flex",
            RecurrencePath::Fused,
            (256, 64, w),
            Duration::from_millis(1),
        );
    }
    println!();
    strategies();
    gated::gated::<Autodiff<Flex>>("flex", quick, budget);
    println!("== generation");
    generation::<Autodiff<Flex>>("flex", 256, budget);
    generation::<Autodiff<NdArray>>("ndarray", 256, budget);
}
