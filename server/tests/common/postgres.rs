//! A private, throwaway PostgreSQL cluster for the tests: its own data folder, socket folder
//! and loopback port, user `postgres` without a password. Started once per test binary; a
//! watchdog stops it when the test process ends. Run as the `postgres` system user when the
//! tests run as root (the server refuses root). The store bench starts one too (it includes
//! this file).

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

pub struct Postgres {
    pub port: u16,
    _watchdog: std::process::Child,
}

impl Postgres {
    /// A new, empty database named `name`; its URL.
    pub fn database(&self, name: &str) -> String {
        self.run(&format!("DROP DATABASE IF EXISTS {name}"));
        self.run(&format!("CREATE DATABASE {name}"));
        self.url(name)
    }

    pub fn url(&self, name: &str) -> String {
        format!("postgres://postgres@127.0.0.1:{}/{name}", self.port)
    }

    /// Runs `sql` as `postgres` in database `postgres`.
    pub fn run(&self, sql: &str) {
        self.run_in("postgres", sql);
    }

    /// Runs `sql` in database `database`; what it printed (unaligned, tuples only).
    pub fn run_in(&self, database: &str, sql: &str) -> String {
        let out = Command::new("psql")
            .args([
                "-X",
                "-q",
                "-A",
                "-t",
                "-v",
                "ON_ERROR_STOP=1",
                "-U",
                "postgres",
            ])
            .args([
                "-h",
                "127.0.0.1",
                "-p",
                &self.port.to_string(),
                "-d",
                database,
            ])
            .args(["-c", sql])
            .output()
            .expect("run psql");
        assert!(
            out.status.success(),
            "psql: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    }
}

/// The test binary's PostgreSQL cluster (started on first use).
pub fn postgres() -> &'static Postgres {
    static SERVER: OnceLock<Postgres> = OnceLock::new();
    SERVER.get_or_init(start)
}

/// The folder of the newest installed PostgreSQL's programs.
fn bin_dir() -> PathBuf {
    let mut versions: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
        .expect(
            "PostgreSQL is not installed: `cargo xtask test` installs it (apt package postgresql)",
        )
        .filter_map(|entry| Some(entry.ok()?.path().join("bin")))
        .filter(|bin| bin.join("postgres").exists())
        .collect();
    versions.sort_by_key(|bin| {
        let version = bin
            .parent()
            .unwrap()
            .file_name()
            .unwrap()
            .to_string_lossy()
            .into_owned();
        version.parse::<u32>().unwrap_or(0)
    });
    versions
        .pop()
        .expect("a PostgreSQL server in /usr/lib/postgresql")
}

/// A loopback port no one listens on now.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|out| out.stdout.trim_ascii() == b"0")
}

/// `program` with `args`, as the `postgres` user when this process is root.
fn as_server_user(program: &Path, args: &[&str]) -> Command {
    if is_root() {
        let mut command = Command::new("runuser");
        command
            .args(["-u", "postgres", "--"])
            .arg(program)
            .args(args);
        command
    } else {
        let mut command = Command::new(program);
        command.args(args);
        command
    }
}

fn start() -> Postgres {
    let bin = bin_dir();
    let dir = std::env::temp_dir().join(format!("kmviz-pg-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    if is_root() {
        let owned = Command::new("chown")
            .args(["-R", "postgres:postgres"])
            .arg(&dir)
            .status()
            .unwrap();
        assert!(owned.success());
    }
    let data = dir.join("data");
    let data_arg = data.to_str().unwrap();
    let init = as_server_user(
        &bin.join("initdb"),
        &[
            "-D",
            data_arg,
            "-U",
            "postgres",
            "--auth=trust",
            "--no-sync",
            "-E",
            "UTF8",
        ],
    )
    .output()
    .expect("run initdb");
    assert!(
        init.status.success(),
        "initdb: {}",
        String::from_utf8_lossy(&init.stderr)
    );
    let port = free_port();
    // Commits wait for no disk sync (`synchronous_commit = off`), like the SQLite store's
    // `synchronous = NORMAL`: a crashed process loses nothing, a power cut the last commits.
    let server = format!(
        "{postgres} -D {data} -p {port} -h 127.0.0.1 -k {dir} -c synchronous_commit=off \
         -c max_connections=200 -c shared_buffers=32MB",
        postgres = bin.join("postgres").display(),
        data = data.display(),
        dir = dir.display(),
    );
    let run_as = if is_root() {
        "runuser -u postgres -- "
    } else {
        ""
    };
    let log = dir.join("server.log");
    let ready = || {
        Command::new(bin.join("pg_isready"))
            .args(["-h", "127.0.0.1", "-p", &port.to_string(), "-t", "2"])
            .output()
            .expect("run pg_isready")
            .status
            .success()
    };
    let server = format!("{run_as}{server} >{} 2>&1", log.display());
    let watchdog = super::daemon::keep_running(&server, &dir, &log, ready);
    Postgres {
        port,
        _watchdog: watchdog,
    }
}
