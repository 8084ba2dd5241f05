//! The device, checked before the first real tensor: a GPU build on a machine without the
//! driver or adapter it needs gets one clear error naming what is missing and which build to
//! use instead, not panics with backtraces from inside the backend.

use burn::tensor::{Device, Tensor};
use unroll::backend::{Inference, NAME};

use super::console::note;

/// Whether the chosen backend computes on the CPU, where a run's memory is the machine's.
pub const ON_CPU: bool = matches!(NAME.as_bytes(), b"flex" | b"ndarray");

#[cfg(feature = "cuda")]
fn check_driver() -> Result<(), String> {
    let candidates: &[&str] = if cfg!(windows) {
        &["nvcuda.dll"]
    } else {
        &["libcuda.so.1", "libcuda.so"]
    };
    // SAFETY: loading the driver library runs its initialisers, as the CUDA backend would.
    let found = candidates
        .iter()
        .any(|name| unsafe { libloading::Library::new(name) }.is_ok());
    if found {
        Ok(())
    } else {
        Err(format!(
            "this program was built with --features cuda, but the NVIDIA driver library ({}) was not found: install the NVIDIA driver, or build without --features cuda (the default runs on the CPU; --features wgpu uses other GPUs)",
            candidates.join(" or ")
        ))
    }
}

#[cfg(not(feature = "cuda"))]
fn check_driver() -> Result<(), String> {
    Ok(())
}

/// The device, after a first small tensor has been made on it; prints the backend and device.
pub fn open() -> Result<Device<Inference>, String> {
    check_driver()?;
    let device: Device<Inference> = Default::default();
    // The backend reports a missing adapter or driver by panicking, on this thread or on its
    // server's; both are kept quiet and turned into the error below.
    let hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(|_| {}));
    let probe = std::panic::catch_unwind(|| {
        Tensor::<Inference, 1>::zeros([1], &device)
            .into_data()
            .to_vec::<f32>()
            .is_ok()
    });
    std::panic::set_hook(hook);
    if probe.is_err() {
        return Err(match NAME {
            "wgpu" => "this program was built with --features wgpu, but no GPU adapter (Vulkan, Metal or DX12) was found: install a GPU driver (without a GPU, Mesa's lavapipe: apt-get install mesa-vulkan-drivers), or build without --features wgpu to run on the CPU".into(),
            "cuda" => "this program was built with --features cuda, but the CUDA device could not be opened: check the NVIDIA driver (nvidia-smi), or build without --features cuda to run on the CPU".into(),
            name => format!("the {name} backend could not start"),
        });
    }
    note(format!("backend {NAME}, device {device:?}"));
    Ok(device)
}
