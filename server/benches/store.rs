//! The cost of a shared store: one-query sessions on the fixture index, 16 clients, each
//! `POST /api/query`, its `/events` until the end, then `GET /api/sessions/{id}` — against one
//! `kmviz serve` on SQLite (the baseline), one on PostgreSQL, and three replicas on one
//! PostgreSQL (each session submitted to one replica, watched on the next, read on the third).
//! Prints sessions/s, p50 and p99 per setup and the ratios to SQLite. Three replicas on a
//! 2-core machine share its cores: the point is what the shared store costs, not scaling.
//!
//! `cargo bench -p kmviz --bench store [-- SESSIONS]` (fixtures in `../shared`, or
//! `$KMVIZ_SHARED`; PostgreSQL from Debian's packages, started privately on a free port).

#[path = "../tests/common/daemon.rs"]
mod daemon;
#[path = "../tests/common/postgres.rs"]
#[allow(dead_code)]
mod postgres;

use std::io::BufRead;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

const CLIENTS: usize = 16;

fn shared() -> PathBuf {
    std::env::var_os("KMVIZ_SHARED")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared"))
}

/// A `kmviz serve` process, killed when dropped.
struct Replica {
    child: Child,
    base: String,
}

impl Drop for Replica {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn serve(config: &Path) -> Replica {
    let mut child = Command::new(env!("CARGO_BIN_EXE_kmviz"))
        .args(["serve", "--port", "0", "--config"])
        .arg(config)
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = std::io::BufReader::new(child.stderr.take().unwrap()).lines();
    let base = loop {
        let line = lines.next().expect("kmviz serve stopped").unwrap();
        if let Some(url) = line.strip_prefix("kmviz is up. Open ") {
            break url.trim_end_matches('/').to_owned();
        }
    };
    std::thread::spawn(move || lines.for_each(drop));
    Replica { child, base }
}

/// The fixture's database and `sessions` (SQLite in `dir`, or `url`).
fn write_config(dir: &Path, sessions: &str) -> PathBuf {
    let fixtures = shared().join("fixtures/kmindex");
    let mut tsv = String::from("ID\tSite\n");
    for i in 0..16 {
        tsv.push_str(&format!("D{i}\tsite{i}\n"));
    }
    std::fs::create_dir_all(dir).unwrap();
    std::fs::write(dir.join("meta.tsv"), tsv).unwrap();
    let config = format!(
        "[databases.fixture]\ntype = \"kmindex\"\nparams = {{ index_path = \"{}\" }}\n\
         metadata = {{ type = \"tsv\", params = {{ path = \"{}\", idx = \"ID\" }} }}\n\
         [sessions]\ndata_dir = \"{}\"\n{sessions}\n",
        fixtures.join("indexes/index").display(),
        dir.join("meta.tsv").display(),
        dir.join("data").display()
    );
    let path = dir.join("kmviz.toml");
    std::fs::write(&path, config).unwrap();
    path
}

/// One session: submitted to `submit`, watched on `watch` to its end, read from `read`.
async fn session(
    client: &reqwest::Client,
    fastx: &str,
    [submit, watch, read]: [&str; 3],
) -> Result<(), String> {
    let fail = |e: &dyn std::fmt::Display| e.to_string();
    let body = serde_json::json!({"fastx": fastx, "databases": ["fixture"]});
    let submitted = client
        .post(format!("{submit}/api/query"))
        .json(&body)
        .send()
        .await
        .map_err(|e| fail(&e))?;
    if submitted.status() != 202 {
        return Err(format!("submit: {}", submitted.status()));
    }
    let answer: serde_json::Value = submitted.json().await.map_err(|e| fail(&e))?;
    let id = answer["session"].as_str().ok_or("no session id")?;
    let events = client
        .get(format!("{watch}/api/sessions/{id}/events"))
        .send()
        .await
        .map_err(|e| fail(&e))?
        .text()
        .await
        .map_err(|e| fail(&e))?;
    if !events.contains("\"status\":\"done\"") {
        return Err(format!("events ended without the end: {events}"));
    }
    let session: serde_json::Value = client
        .get(format!("{read}/api/sessions/{id}"))
        .send()
        .await
        .map_err(|e| fail(&e))?
        .json()
        .await
        .map_err(|e| fail(&e))?;
    match session["status"].as_str() {
        Some("done") => Ok(()),
        other => Err(format!("session {id}: {other:?}")),
    }
}

struct Measured {
    per_second: f64,
    p50: Duration,
    p99: Duration,
}

/// `sessions` sessions from [`CLIENTS`] clients over `replicas`.
async fn measure(replicas: &[Replica], sessions: usize, fastx: &str) -> Measured {
    let bases: Arc<Vec<String>> = Arc::new(replicas.iter().map(|r| r.base.clone()).collect());
    let client = reqwest::Client::new();
    let warm = [bases[0].as_str(); 3];
    session(&client, fastx, warm).await.unwrap();
    let next = Arc::new(AtomicUsize::new(0));
    let started = Instant::now();
    let tasks: Vec<_> = (0..CLIENTS)
        .map(|_| {
            let (client, next, bases) = (client.clone(), Arc::clone(&next), Arc::clone(&bases));
            let fastx = fastx.to_owned();
            tokio::spawn(async move {
                let mut times = Vec::new();
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    if i >= sessions {
                        return times;
                    }
                    let n = bases.len();
                    let at = |k: usize| bases[(i + k) % n].as_str();
                    let begun = Instant::now();
                    session(&client, &fastx, [at(0), at(1), at(2)])
                        .await
                        .unwrap();
                    times.push(begun.elapsed());
                }
            })
        })
        .collect();
    let mut times = Vec::new();
    for task in tasks {
        times.extend(task.await.unwrap());
    }
    let elapsed = started.elapsed();
    times.sort();
    let at = |q: f64| times[((times.len() as f64 * q) as usize).min(times.len() - 1)];
    Measured {
        per_second: sessions as f64 / elapsed.as_secs_f64(),
        p50: at(0.5),
        p99: at(0.99),
    }
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let sessions: usize = std::env::args()
        .skip(1)
        .find_map(|a| a.parse().ok())
        .unwrap_or(1_000);
    let dir = std::env::temp_dir().join(format!("kmviz-bench-store-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let record =
        std::fs::read_to_string(shared().join("fixtures/kmindex/datasets/pa_dataset/1.fasta"))
            .unwrap();
    let mut lines = record.lines();
    let fastx = format!("{}\n{}\n", lines.next().unwrap(), lines.next().unwrap());
    let cluster = postgres::postgres();

    let mut rows: Vec<(&str, Measured)> = Vec::new();
    {
        let sqlite = serve(&write_config(&dir.join("sqlite"), ""));
        rows.push((
            "SQLite, 1 replica",
            measure(&[sqlite], sessions, &fastx).await,
        ));
    }
    {
        let url = cluster.database("bench_one");
        let one = serve(&write_config(&dir.join("pg1"), &format!("url = \"{url}\"")));
        rows.push((
            "PostgreSQL, 1 replica",
            measure(&[one], sessions, &fastx).await,
        ));
    }
    {
        let url = cluster.database("bench_three");
        let config = write_config(&dir.join("pg3"), &format!("url = \"{url}\""));
        let three = [serve(&config), serve(&config), serve(&config)];
        rows.push((
            "PostgreSQL, 3 replicas",
            measure(&three, sessions, &fastx).await,
        ));
    }

    println!(
        "\none-query sessions (submit, events to the end, read), {CLIENTS} clients, \
         {sessions} sessions each:"
    );
    println!(
        "{:<24} {:>12} {:>10} {:>10} {:>16}",
        "store", "sessions/s", "p50", "p99", "vs SQLite"
    );
    let baseline = rows[0].1.per_second;
    for (name, m) in &rows {
        println!(
            "{name:<24} {:>12.1} {:>8.1}ms {:>8.1}ms {:>15.2}×",
            m.per_second,
            m.p50.as_secs_f64() * 1e3,
            m.p99.as_secs_f64() * 1e3,
            m.per_second / baseline
        );
    }
    let _ = std::fs::remove_dir_all(&dir);
}
