//! Soak: a `kmviz serve` on the fixture index takes 10,000 requests from 32 clients — queries,
//! session reads, ZIP downloads, cancels, info — while 200 connections send half their headers
//! and stall. Prints errors (the goal is 0), p50/p99 per kind, the server's peak memory, and
//! how many stalled connections the server closed.
//!
//! `cargo bench -p kmviz --bench soak [-- REQUESTS]` (fixtures in `../shared`, or
//! `$KMVIZ_SHARED`).

use std::io::{BufRead, Read, Write};
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

fn shared() -> PathBuf {
    std::env::var_os("KMVIZ_SHARED")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared"))
}

const CLIENTS: usize = 32;
const SLOW_CONNECTIONS: usize = 200;
const KINDS: [&str; 5] = ["query", "session", "download", "cancel", "info"];

/// Peak resident memory of process `pid`, in MB.
fn peak_mb(pid: u32) -> f64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("VmHWM:"))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
        })
        .map_or(0.0, |kb| kb / 1024.0)
}

/// One request of kind `kind`; whether it got the answer it should.
async fn request(
    client: &reqwest::Client,
    base: &str,
    kind: usize,
    fastx: &str,
    sessions: &Mutex<Vec<String>>,
) -> bool {
    let submit = || async {
        let body = serde_json::json!({"fastx": fastx, "databases": ["fixture"]});
        let response = client
            .post(format!("{base}/api/query"))
            .json(&body)
            .send()
            .await
            .ok()?;
        if response.status() != 202 {
            return None;
        }
        let answer: serde_json::Value = response.json().await.ok()?;
        answer["session"].as_str().map(str::to_owned)
    };
    let known = || sessions.lock().unwrap().last().cloned();
    let get = |path: String| async move {
        match client.get(format!("{base}{path}")).send().await {
            Ok(response) => response.status() == 200 && response.bytes().await.is_ok(),
            Err(_) => false,
        }
    };
    match KINDS[kind] {
        "query" => match submit().await {
            Some(id) => {
                sessions.lock().unwrap().push(id);
                true
            }
            None => false,
        },
        "session" => match known() {
            Some(id) => get(format!("/api/sessions/{id}")).await,
            None => true,
        },
        "download" => match known() {
            Some(id) => get(format!("/api/sessions/{id}/download")).await,
            None => true,
        },
        "cancel" => match submit().await {
            Some(id) => client
                .post(format!("{base}/api/sessions/{id}/cancel"))
                .send()
                .await
                .is_ok_and(|r| r.status() == 200),
            None => false,
        },
        _ => get("/api/info".to_owned()).await,
    }
}

#[tokio::main]
async fn main() {
    let requests: usize = std::env::args()
        .skip(1)
        .find_map(|a| a.parse().ok())
        .unwrap_or(10_000);
    let fixtures = shared().join("fixtures/kmindex");
    let dir = std::env::temp_dir().join(format!("kmviz-bench-soak-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let mut tsv = String::from("ID\tSite\n");
    for i in 0..16 {
        tsv.push_str(&format!("D{i}\tsite{i}\n"));
    }
    std::fs::write(dir.join("meta.tsv"), tsv).unwrap();
    let config = format!(
        "[databases.fixture]\ntype = \"kmindex\"\nparams = {{ index_path = \"{}\" }}\n\
         metadata = {{ type = \"tsv\", params = {{ path = \"{}\", idx = \"ID\" }} }}\n\
         [sessions]\ndata_dir = \"{}\"\n",
        fixtures.join("indexes/index").display(),
        dir.join("meta.tsv").display(),
        dir.join("sessions").display()
    );
    std::fs::write(dir.join("kmviz.toml"), config).unwrap();
    let mut server = Command::new(env!("CARGO_BIN_EXE_kmviz"))
        .args(["serve", "--port", "0", "--config"])
        .arg(dir.join("kmviz.toml"))
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = std::io::BufReader::new(server.stderr.take().unwrap()).lines();
    let base = loop {
        let line = lines.next().expect("kmviz serve stopped").unwrap();
        if let Some(url) = line.strip_prefix("kmviz is up. Open ") {
            break url.trim_end_matches('/').to_owned();
        }
    };
    std::thread::spawn(move || lines.for_each(drop));

    let address = base.trim_start_matches("http://").to_owned();
    let slow: Vec<std::net::TcpStream> = (0..SLOW_CONNECTIONS)
        .map(|_| {
            let mut stream = std::net::TcpStream::connect(&address).unwrap();
            stream
                .write_all(b"GET /api/info HTTP/1.1\r\nHost: x\r\n")
                .unwrap();
            stream
        })
        .collect();
    let opened = Instant::now();

    let reads: Vec<String> = std::fs::read_to_string(fixtures.join("datasets/pa_dataset/1.fasta"))
        .unwrap()
        .lines()
        .filter(|l| !l.starts_with('>') && l.len() > 40)
        .map(|l| format!(">read\n{l}\n"))
        .collect();
    let reads = Arc::new(reads);
    let client = reqwest::Client::new();
    let sessions = Arc::new(Mutex::new(Vec::new()));
    let next = Arc::new(AtomicUsize::new(0));
    let started = Instant::now();
    let mut workers = Vec::new();
    for _ in 0..CLIENTS {
        let (client, base, reads, sessions, next) = (
            client.clone(),
            base.clone(),
            Arc::clone(&reads),
            Arc::clone(&sessions),
            Arc::clone(&next),
        );
        workers.push(tokio::spawn(async move {
            let mut seen = Vec::new();
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= requests {
                    return seen;
                }
                let kind = i % KINDS.len();
                let t = Instant::now();
                let ok = request(&client, &base, kind, &reads[i % reads.len()], &sessions).await;
                seen.push((kind, t.elapsed(), ok));
            }
        }));
    }
    let mut seen = Vec::new();
    for worker in workers {
        seen.extend(worker.await.unwrap());
    }
    let elapsed = started.elapsed();
    let errors = seen.iter().filter(|(_, _, ok)| !ok).count();
    println!(
        "{} requests from {CLIENTS} clients in {:.1} s ({:.0}/s), {SLOW_CONNECTIONS} stalled connections open: {errors} errors",
        seen.len(),
        elapsed.as_secs_f64(),
        seen.len() as f64 / elapsed.as_secs_f64()
    );
    for (kind, name) in KINDS.iter().enumerate() {
        let mut times: Vec<Duration> = seen
            .iter()
            .filter(|(k, _, _)| *k == kind)
            .map(|(_, t, _)| *t)
            .collect();
        times.sort();
        let at = |q: f64| times[((times.len() as f64 * q) as usize).min(times.len() - 1)];
        println!(
            "  {name:<9} {:>6} requests  p50 {:>7.1} ms  p99 {:>7.1} ms",
            times.len(),
            at(0.5).as_secs_f64() * 1000.0,
            at(0.99).as_secs_f64() * 1000.0
        );
    }
    println!("server peak memory: {:.0} MB", peak_mb(server.id()));

    // The stalled connections must have been closed by the server (10 s for headers).
    std::thread::sleep(Duration::from_secs(12).saturating_sub(opened.elapsed()));
    let closed = slow
        .into_iter()
        .filter(|stream| {
            let mut stream = stream;
            stream
                .set_read_timeout(Some(Duration::from_millis(100)))
                .unwrap();
            let mut buffer = Vec::new();
            stream.read_to_end(&mut buffer).is_ok()
        })
        .count();
    println!("stalled connections closed by the server: {closed} of {SLOW_CONNECTIONS}");
    let _ = server.kill();
    let _ = server.wait();
    let _ = std::fs::remove_dir_all(&dir);
    if errors > 0 || closed < SLOW_CONNECTIONS {
        std::process::exit(1);
    }
}
