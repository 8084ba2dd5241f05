//! `claims`: see [`unroll_cli::claims`]; `claims --help` lists the commands.

/// mimalloc keeps freed pages for reuse: with the system allocator, every step's large buffers
/// come back from the kernel as fresh zeroed pages (measured up to 2.3x slower on pattern 2).
/// Wrapped to count live bytes: claim 3 measures the memory a training step adds.
#[global_allocator]
static ALLOCATOR: unroll_cli::allocator::Counting = unroll_cli::allocator::Counting;

fn main() -> std::process::ExitCode {
    unroll_cli::claims::main()
}
