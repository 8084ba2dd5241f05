//! `cargo run --release --example char-rnn`: the `char-rnn` program of `crates/cli`
//! ([`unroll_cli::char_rnn`]); `-- --help` lists its commands.

/// mimalloc keeps freed pages for reuse (see `crates/cli/src/bin/char-rnn.rs`).
#[global_allocator]
static ALLOCATOR: unroll_cli::allocator::MiMalloc = unroll_cli::allocator::MiMalloc;

fn main() -> std::process::ExitCode {
    unroll_cli::char_rnn::main()
}
