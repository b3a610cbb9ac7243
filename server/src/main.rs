//! The `kmviz` binary: everything lives in the library.

fn main() -> std::process::ExitCode {
    kmviz::cli::main()
}
