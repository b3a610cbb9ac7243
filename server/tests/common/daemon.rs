//! A database server the tests start for themselves, stopped when the test process ends.

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// Runs `server` (a shell command line, its output redirected by the caller) in the
/// background: a shell watches this process and, once it is gone, stops the server and
/// removes `dir`. Returns that shell (never waited for: it outlives the tests by design) once
/// `ready()` says the server answers; panics after 60 s with the server's `log`.
pub fn keep_running(server: &str, dir: &Path, log: &Path, ready: impl Fn() -> bool) -> Child {
    let script = format!(
        "{server} & server=$!; \
         while kill -0 {parent} 2>/dev/null && kill -0 $server 2>/dev/null; do sleep 0.5; done; \
         kill $server; wait $server; rm -rf {dir}",
        dir = dir.display(),
        parent = std::process::id(),
    );
    let watchdog = Command::new("sh")
        .arg("-c")
        .arg(script)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start a shell");
    let started = Instant::now();
    while !ready() {
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "{server} did not start: {}",
            std::fs::read_to_string(log).unwrap_or_default()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    watchdog
}
