//! `cargo run --release --example seq2seq`: the `seq2seq` program of `crates/cli`
//! ([`unroll_cli::seq2seq`]); `-- --help` lists its commands.

/// mimalloc keeps freed pages for reuse (see `crates/cli/src/bin/seq2seq.rs`).
#[global_allocator]
static ALLOCATOR: unroll_cli::allocator::MiMalloc = unroll_cli::allocator::MiMalloc;

fn main() -> std::process::ExitCode {
    unroll_cli::seq2seq::main()
}
