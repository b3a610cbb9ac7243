//! A private, throwaway MariaDB server for the tests: its own data folder, socket and loopback
//! port; database `kmviz`, user `kmviz`/`kmviz`. Started once per test binary; a watchdog
//! stops it when the test process ends.

use std::path::PathBuf;
use std::process::Command;
use std::sync::OnceLock;

pub struct MariaDb {
    pub port: u16,
    dir: PathBuf,
    /// The shell that runs the server and stops it when the test process ends (never waited
    /// for: it outlives the tests by design).
    _watchdog: std::process::Child,
}

impl MariaDb {
    /// Runs `sql` as root through the socket.
    pub fn run(&self, sql: &str) {
        let out = Command::new("mariadb")
            .args(["--no-defaults", "-uroot"])
            .arg(format!("--socket={}", self.dir.join("sock").display()))
            .arg("kmviz")
            .arg("-e")
            .arg(sql)
            .output()
            .expect("run the mariadb client");
        assert!(
            out.status.success(),
            "mariadb: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

/// The test binary's MariaDB server (started on first use).
pub fn mariadb() -> &'static MariaDb {
    static SERVER: OnceLock<MariaDb> = OnceLock::new();
    SERVER.get_or_init(start)
}

fn start() -> MariaDb {
    assert!(
        std::path::Path::new("/usr/sbin/mariadbd").exists(),
        "MariaDB is not installed: `cargo xtask test` installs it (apt package mariadb-server)"
    );
    let dir = std::env::temp_dir().join(format!("kmviz-mdb-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(dir.join("data")).unwrap();
    let data = dir.join("data");
    let install = Command::new("mariadb-install-db")
        .args([
            "--no-defaults",
            "--user=root",
            "--auth-root-authentication-method=normal",
            "--skip-test-db",
            "--skip-name-resolve",
            "--innodb-buffer-pool-size=16M",
            "--innodb-log-file-size=8M",
        ])
        .arg(format!("--datadir={}", data.display()))
        .output()
        .expect("run mariadb-install-db");
    assert!(
        install.status.success(),
        "mariadb-install-db: {}",
        String::from_utf8_lossy(&install.stderr)
    );
    let port = super::postgres::free_port();
    let server = format!(
        "mariadbd --no-defaults --user=root --datadir={data} --bind-address=127.0.0.1 \
         --port={port} --socket={dir}/sock --pid-file={dir}/pid --log-error={dir}/error.log \
         --skip-name-resolve --skip-log-bin --innodb-buffer-pool-size=16M \
         --innodb-log-file-size=8M --performance-schema=OFF 2>{dir}/stderr.log",
        data = data.display(),
        dir = dir.display(),
    );
    let ping = || {
        // A server still starting may take the connection and not answer it yet: a ping
        // without its own timeout was seen to wait for ever.
        Command::new("mariadb-admin")
            .args(["--no-defaults", "-uroot", "--connect-timeout=2"])
            .arg(format!("--socket={}", dir.join("sock").display()))
            .arg("ping")
            .output()
            .expect("run mariadb-admin")
            .status
            .success()
    };
    let watchdog = super::daemon::keep_running(&server, &dir, &dir.join("stderr.log"), ping);
    let server = MariaDb {
        port,
        dir,
        _watchdog: watchdog,
    };
    let out = Command::new("mariadb")
        .args(["--no-defaults", "-uroot"])
        .arg(format!("--socket={}", server.dir.join("sock").display()))
        .arg("-e")
        .arg(
            "CREATE DATABASE kmviz; \
             CREATE USER 'kmviz'@'127.0.0.1' IDENTIFIED VIA mysql_native_password USING PASSWORD('kmviz'); \
             CREATE USER 'kmviz'@'localhost' IDENTIFIED VIA mysql_native_password USING PASSWORD('kmviz'); \
             GRANT ALL PRIVILEGES ON kmviz.* TO 'kmviz'@'127.0.0.1'; \
             GRANT ALL PRIVILEGES ON kmviz.* TO 'kmviz'@'localhost';",
        )
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    server
}
