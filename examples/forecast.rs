//! `cargo run --release --example forecast`: the `forecast` program of `crates/cli`
//! ([`unroll_cli::forecast`]); `-- --help` lists its commands.

/// mimalloc keeps freed pages for reuse (see `crates/cli/src/bin/forecast.rs`).
#[global_allocator]
static ALLOCATOR: unroll_cli::allocator::MiMalloc = unroll_cli::allocator::MiMalloc;

fn main() -> std::process::ExitCode {
    unroll_cli::forecast::main()
}
