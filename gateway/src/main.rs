//! The `maskgate` command: parse the command line, run what it says.

/// mimalloc: measured on the load benchmark, the system allocator's
/// malloc/free were the largest user-space cost of a proxied request.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    maskgate::cli::main()
}
