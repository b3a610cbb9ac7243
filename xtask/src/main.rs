//! Project chores, run as `cargo xtask <task>`:
//!
//! - `test`: installs what the test suite needs and is missing (the wasm target, g++ with
//!   Debian's nlohmann-json3-dev and libfmt-dev for the number oracle, MariaDB's server for the
//!   `mysql` MetaDB: the tests start a private one), then runs every test and checks that the
//!   shared model builds for the browser.

use std::path::Path;
use std::process::{Command, ExitCode};

fn main() -> ExitCode {
    let task = std::env::args().nth(1);
    let result = match task.as_deref() {
        Some("test") => test(),
        _ => Err("usage: cargo xtask test".to_owned()),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("xtask: {message}");
            ExitCode::FAILURE
        }
    }
}

fn test() -> Result<(), String> {
    ensure_debian_packages(&[
        ("g++", "/usr/bin/g++"),
        ("nlohmann-json3-dev", "/usr/include/nlohmann/json.hpp"),
        ("libfmt-dev", "/usr/include/fmt/format.h"),
        ("mariadb-server", "/usr/sbin/mariadbd"),
    ])?;
    ensure_rust_target("wasm32-unknown-unknown")?;
    run("cargo", &["test", "--workspace", "--locked"])?;
    run(
        "cargo",
        &[
            "build",
            "--locked",
            "-p",
            "app",
            "--target",
            "wasm32-unknown-unknown",
        ],
    )
}

/// Installs with apt the packages whose marker file is missing.
fn ensure_debian_packages(packages: &[(&str, &str)]) -> Result<(), String> {
    let missing: Vec<&str> = packages
        .iter()
        .filter(|(_, marker)| !Path::new(marker).exists())
        .map(|(name, _)| *name)
        .collect();
    if missing.is_empty() {
        return Ok(());
    }
    eprintln!("xtask: installing {}", missing.join(" "));
    let sudo = !is_root();
    let apt = |args: &[&str]| {
        let mut all = vec!["apt-get"];
        all.extend_from_slice(args);
        if sudo {
            run("sudo", &all)
        } else {
            run(all[0], &all[1..])
        }
    };
    apt(&["update", "-qq"])?;
    let mut install = vec!["install", "-y", "-qq", "--no-install-recommends"];
    install.extend(&missing);
    apt(&install)
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|out| String::from_utf8_lossy(&out.stdout).trim() == "0")
}

fn ensure_rust_target(target: &str) -> Result<(), String> {
    let installed = Command::new("rustup")
        .args(["target", "list", "--installed"])
        .output()
        .map_err(|e| format!("rustup is needed: {e}"))?;
    if String::from_utf8_lossy(&installed.stdout)
        .lines()
        .any(|line| line.trim() == target)
    {
        return Ok(());
    }
    run("rustup", &["target", "add", target])
}

fn run(program: &str, args: &[&str]) -> Result<(), String> {
    eprintln!("xtask: {program} {}", args.join(" "));
    let status = Command::new(program)
        .args(args)
        .status()
        .map_err(|e| format!("cannot run {program}: {e}"))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!("{program} {} failed ({status})", args.join(" ")))
    }
}
