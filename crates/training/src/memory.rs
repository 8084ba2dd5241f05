//! How much memory a run will take, estimated before anything is allocated, so that a run that
//! cannot fit is refused with the estimate instead of ending in the out-of-memory killer (or a
//! "capacity overflow" panic for absurd sizes).

use unroll_model::RecurrentCell;

use crate::error::{Result, TrainingError};

/// Bytes no run may need, whatever the machine: sizes this large are typing mistakes, and
/// refusing them also keeps every size computation below `usize::MAX`.
pub const ABSURD_BYTES: u128 = 1 << 50;

/// A training run's memory, in bytes, by where it goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MemoryEstimate {
    /// Weights, their gradients and the optimiser's state (four copies of the weights).
    pub parameters: u128,
    /// One iteration's states, logits and their gradients.
    pub activations: u128,
}

impl MemoryEstimate {
    /// The total.
    pub fn total(&self) -> u128 {
        self.parameters.saturating_add(self.activations)
    }
}

/// Bytes shown the way people read them (`1.5 GiB`).
pub fn human_bytes(bytes: u128) -> String {
    let units = ["bytes", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"];
    let mut value = bytes as f64;
    let mut unit = 0;
    while value >= 1024.0 && unit + 1 < units.len() {
        value /= 1024.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{bytes} bytes")
    } else {
        format!("{value:.1} {}", units[unit])
    }
}

/// Refuses an estimate above `available` bytes (when known) or absurd; `shape` says what the
/// activations are of (`batch 64 × window 100`).
pub fn check(estimate: MemoryEstimate, available: Option<u64>, shape: &str) -> Result<()> {
    refuse_above(estimate, available, "run", |weights, activations| {
        format!(
            "weights with gradients and optimiser state {weights}, activations of {shape} {activations}"
        )
    })
}

/// [`check`] for inference (an open loop): the weights alone, no gradient or optimiser state.
pub fn check_inference(
    estimate: MemoryEstimate,
    available: Option<u64>,
    shape: &str,
) -> Result<()> {
    refuse_above(estimate, available, "forecast", |weights, activations| {
        format!("weights {weights}, activations of {shape} {activations}")
    })
}

/// Refuses an estimate above `available` bytes (when known) or absurd, for `what` (`run`),
/// saying where the memory goes with `detail` (of the weights' and the activations' sizes).
fn refuse_above(
    estimate: MemoryEstimate,
    available: Option<u64>,
    what: &'static str,
    detail: impl FnOnce(String, String) -> String,
) -> Result<()> {
    let total = estimate.total();
    room_for(total, available).map_err(|room| TrainingError::OutOfMemory {
        what,
        needed: human_bytes(total),
        available: room,
        detail: detail(
            human_bytes(estimate.parameters),
            human_bytes(estimate.activations),
        ),
    })
}

/// Refuses one buffer of `bytes` above `available` bytes (when known) or absurd, as an invalid
/// `setting`: `what` says what it holds (`a series of 10 steps × 3 columns`).
pub fn check_buffer(
    setting: &'static str,
    what: &str,
    bytes: u128,
    available: Option<u64>,
) -> Result<()> {
    room_for(bytes, available).map_err(|room| {
        crate::error::invalid(
            setting,
            format!(
                "{what} needs about {} of memory, more than {room}",
                human_bytes(bytes)
            ),
        )
    })
}

/// `Ok` when `bytes` fit in `available` (when known) and are not absurd, else what there is, in
/// words.
fn room_for(bytes: u128, available: Option<u64>) -> std::result::Result<(), String> {
    let limit = available.map_or(ABSURD_BYTES, |a| u128::from(a).min(ABSURD_BYTES));
    if bytes <= limit {
        Ok(())
    } else if bytes > ABSURD_BYTES {
        Err("any machine".into())
    } else {
        Err(format!("the {} available", human_bytes(limit)))
    }
}

/// The weights of a stack of `layers` layers of `cell` with `hidden` units reading `inputs`
/// wide, and an output layer of `outputs` units: what patterns 1 and 3 hold.
pub(crate) fn hidden_stack_weights(
    inputs: usize,
    hidden: usize,
    layers: usize,
    outputs: usize,
    cell: RecurrentCell,
) -> u128 {
    let gates = cell.gates();
    product(&[inputs, gates, hidden])
        .saturating_add(product(&[hidden, gates, hidden]))
        .saturating_add(product(&[cell.facts().bias_vectors, gates, hidden]))
        .saturating_add(product(&[
            layers.saturating_sub(1),
            2,
            gates,
            hidden,
            hidden,
        ]))
        .saturating_add(product(&[hidden, outputs]))
        .saturating_add(outputs as u128)
}

/// The product of sizes, saturating.
pub(crate) fn product(factors: &[usize]) -> u128 {
    factors
        .iter()
        .fold(1u128, |acc, &f| acc.saturating_mul(f as u128))
}

/// The memory this process can still take, in bytes: Linux's `MemAvailable`, lowered to the
/// room left under a cgroup (container) limit when there is one. `None` where unknown.
pub fn available_bytes() -> Option<u64> {
    let mut available = proc_field("/proc/meminfo", "MemAvailable:")?.saturating_mul(1024);
    let read = |p: &str| -> Option<u64> { std::fs::read_to_string(p).ok()?.trim().parse().ok() };
    if let (Some(max), Some(current)) = (
        read("/sys/fs/cgroup/memory.max"),
        read("/sys/fs/cgroup/memory.current"),
    ) {
        available = available.min(max.saturating_sub(current));
    }
    if let Some(room) = address_space_left() {
        available = available.min(room);
    }
    Some(available)
}

/// The address space this process may still map under its limit (`ulimit -v`, `prlimit
/// --as`), where there is one: past it every allocation fails, whatever memory is free.
fn address_space_left() -> Option<u64> {
    let limit = proc_field("/proc/self/limits", "Max address space")?;
    let mapped_kib = proc_field("/proc/self/status", "VmSize:")?;
    Some(limit.saturating_sub(mapped_kib.saturating_mul(1024)))
}

/// The first number after `prefix` on its line of the `/proc` file `path` (`MemAvailable:
/// 1234 kB` gives 1234); `None` when absent or not a number (`unlimited`).
fn proc_field(path: &str, prefix: &str) -> Option<u64> {
    std::fs::read_to_string(path)
        .ok()?
        .lines()
        .find_map(|l| l.strip_prefix(prefix))?
        .split_whitespace()
        .next()?
        .parse()
        .ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bytes_read_as_people_read_them() {
        assert_eq!(human_bytes(512), "512 bytes");
        assert_eq!(human_bytes(3 << 29), "1.5 GiB");
    }

    #[test]
    fn this_machine_reports_its_memory() {
        if cfg!(target_os = "linux") {
            assert!(available_bytes().is_some_and(|b| b > 0));
        }
    }
}
