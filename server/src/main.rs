//! The `kmviz` binary: everything lives in the library.

/// glibc's allocator made threads wait on each other freeing what others had allocated (a
/// twentieth of the server's waits under load), and musl's, in the image, is slower still.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    kmviz::cli::main()
}
