//! The `maskgate` command: parse the command line, run what it says.

fn main() -> std::process::ExitCode {
    maskgate::cli::main()
}
