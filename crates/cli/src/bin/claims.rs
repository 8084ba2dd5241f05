//! `claims`: see [`unroll_cli::claims`]; `claims --help` lists the commands.

/// mimalloc keeps freed pages for reuse: with the system allocator, every step's large buffers
/// come back from the kernel as fresh zeroed pages (measured up to 2.3x slower on pattern 2).
#[global_allocator]
static ALLOCATOR: unroll_cli::allocator::MiMalloc = unroll_cli::allocator::MiMalloc;

fn main() -> std::process::ExitCode {
    unroll_cli::claims::main()
}
