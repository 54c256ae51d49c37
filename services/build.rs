//! Bakes the build's identity into the binary: the Worker Deployment build id a worker uses
//! unless WORKER_BUILD_ID says otherwise (docs/day-09.md). `CAPSTONE_BUILD_ID` at build time
//! wins (the Dockerfile passes it); else the git commit; else the crate's version.

use std::process::Command;

fn main() {
    println!("cargo:rerun-if-env-changed=CAPSTONE_BUILD_ID");
    println!("cargo:rerun-if-changed=../.git/HEAD");
    println!("cargo:rerun-if-changed=../.git/refs/heads");
    let from_env = std::env::var("CAPSTONE_BUILD_ID").ok().filter(|id| !id.trim().is_empty());
    let from_git = || {
        let output = Command::new("git").args(["rev-parse", "--short=12", "HEAD"]).output().ok()?;
        let commit = String::from_utf8(output.stdout).ok()?.trim().to_owned();
        (output.status.success() && !commit.is_empty()).then_some(commit)
    };
    let build_id = from_env
        .or_else(from_git)
        .unwrap_or_else(|| format!("v{}", std::env::var("CARGO_PKG_VERSION").unwrap_or_default()));
    println!("cargo:rustc-env=CAPSTONE_BUILD_ID={build_id}");
}
