//! The `inzage` binary: everything lives in `inzage-api`.

// The `bench` feature can switch the authorization policy off; a server must never carry it.
#[cfg(feature = "bench")]
compile_error!("the `bench` feature is for `inzage-bench` only: build with `--features bench --bin inzage-bench`");

#[tokio::main]
async fn main() -> std::process::ExitCode {
    inzage_api::cli::main().await
}
