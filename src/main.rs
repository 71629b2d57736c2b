//! The `aadtrace` binary: everything happens in [`aadtrace::cli`].

fn main() {
    let code = aadtrace::cli::main();
    std::process::exit(code as i32);
}
