//! The `inzage` binary: everything lives in `inzage-api`.

#[tokio::main]
async fn main() -> std::process::ExitCode {
    inzage_api::cli::main().await
}
