//! The `aadtrace` binary: everything happens in [`aadtrace::cli`].

fn main() {
    let code = aadtrace::cli::main();
    std::process::exit(code as i32);
}

/// mimalloc instead of the system allocator: the analysis makes many small
/// short-lived strings per exchange, and the whole command is about 10 % faster
/// with it (benches/README.md). `--no-default-features` builds without it.
#[cfg(feature = "mimalloc")]
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;
