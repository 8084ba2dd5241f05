//! `cargo run --release --example claims`: the `claims` program of `crates/cli`
//! ([`unroll_cli::claims`]); `-- --help` lists its commands.

/// mimalloc keeps freed pages for reuse, wrapped to count live bytes (see
/// `crates/cli/src/bin/claims.rs`).
#[global_allocator]
static ALLOCATOR: unroll_cli::allocator::Counting = unroll_cli::allocator::Counting;

fn main() -> std::process::ExitCode {
    unroll_cli::claims::main()
}
