//! `cargo run --release --example classify`: the `classify` program of `crates/cli`
//! ([`unroll_cli::classify`]); `-- --help` lists its commands.

/// mimalloc keeps freed pages for reuse (see `crates/cli/src/bin/classify.rs`).
#[global_allocator]
static ALLOCATOR: unroll_cli::allocator::MiMalloc = unroll_cli::allocator::MiMalloc;

fn main() -> std::process::ExitCode {
    unroll_cli::classify::main()
}
