//! The `inzage` binary: everything lives in `inzage-api`.

/// mimalloc instead of the system allocator: a request allocates and frees tens of thousands
/// of small values (rows, fields, JSON), which it serves faster, and it gives freed memory back
/// instead of keeping it per thread, so that idle connections cost less.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() -> std::process::ExitCode {
    inzage_api::cli::main().await
}
