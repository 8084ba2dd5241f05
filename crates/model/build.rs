//! `cfg(host_kernels)`: the CPU kernels are compiled when a CPU backend is.

fn main() {
    cfg_aliases::cfg_aliases! {
        host_kernels: { any(feature = "flex", feature = "ndarray") },
    }
}
