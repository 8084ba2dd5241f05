//! `cargo run --release --example claims`: the `claims` program of `crates/cli`
//! ([`unroll_cli::claims`]); `-- --help` lists its commands.

/// mimalloc keeps freed pages for reuse (see `crates/cli/src/bin/claims.rs`).
#[global_allocator]
static ALLOCATOR: unroll_cli::allocator::MiMalloc = unroll_cli::allocator::MiMalloc;

fn main() -> std::process::ExitCode {
    unroll_cli::claims::main()
}
