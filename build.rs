//! Tells the end-to-end tests what they can run against on this machine, so that a test that
//! cannot run here is reported as ignored, with the reason, rather than passing without running:
//!
//! - `postgres_tests`: `INZAGE_TEST_DATABASE_URL` names a PostgreSQL server (the URL is also
//!   compiled into the tests, see `tests/common`);
//! - `node_clients`: `node` and `npm` are installed (third-party JavaScript clients, the
//!   GraphQL-over-HTTP audit, an OpenID Connect provider);
//! - `python_clients`: `python3` is installed (the Python client);
//! - `browser_tests`: node and a Chromium (`chromium`, or `INZAGE_TEST_CHROMIUM`) are installed.

use std::path::{Path, PathBuf};

fn main() {
    for variable in ["INZAGE_TEST_DATABASE_URL", "INZAGE_TEST_CHROMIUM", "PATH"] {
        println!("cargo::rerun-if-env-changed={variable}");
    }
    println!("cargo::rerun-if-changed=build.rs");
    for cfg in ["postgres_tests", "node_clients", "python_clients", "browser_tests"] {
        println!("cargo::rustc-check-cfg=cfg({cfg})");
    }
    if std::env::var("INZAGE_TEST_DATABASE_URL").is_ok_and(|url| !url.is_empty()) {
        println!("cargo::rustc-cfg=postgres_tests");
    }
    let node = on_path("node").is_some() && on_path("npm").is_some();
    if node {
        println!("cargo::rustc-cfg=node_clients");
    }
    if on_path("python3").is_some() {
        println!("cargo::rustc-cfg=python_clients");
    }
    let chromium = std::env::var_os("INZAGE_TEST_CHROMIUM").map(PathBuf::from).filter(|path| path.is_file());
    if node && (chromium.is_some() || on_path("chromium").is_some()) {
        println!("cargo::rustc-cfg=browser_tests");
    }
}

/// Where `program` is on `PATH`, if anywhere.
fn on_path(program: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path).map(|dir| dir.join(program)).find(|candidate| is_executable(candidate))
}

fn is_executable(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    path.metadata().is_ok_and(|meta| meta.is_file() && meta.permissions().mode() & 0o111 != 0)
}
