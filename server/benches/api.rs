//! The JSON API's overhead: many concurrent clients send one-query sessions over HTTP
//! (`POST /api/query`, wait on `/events`, `GET /api/sessions/{id}`), against the same queries
//! sent straight to the engine in-process with the same concurrency, in the same run.
//!
//! `cargo bench -p kmviz --bench api [-- CLIENTS]` (fixtures in `../shared`, or
//! `$KMVIZ_SHARED`).

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use app::model::options::OptionValues;
use app::model::query::Query;
use kmviz::config::Config;
use kmviz::instance::Instance;

fn shared() -> PathBuf {
    std::env::var_os("KMVIZ_SHARED")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared"))
}

struct Report {
    qps: f64,
    p50: Duration,
    p99: Duration,
}

/// Runs `queries` with `clients` workers calling `one` per query; latencies per call.
async fn drive<F, Fut>(queries: &[Query], clients: usize, one: F) -> Report
where
    F: Fn(Query) -> Fut + Clone + Send + 'static,
    Fut: std::future::Future<Output = ()> + Send,
{
    let queries = Arc::new(queries.to_vec());
    let next = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let started = Instant::now();
    let mut workers = Vec::new();
    for _ in 0..clients {
        let (queries, next, one) = (Arc::clone(&queries), Arc::clone(&next), one.clone());
        workers.push(tokio::spawn(async move {
            let mut latencies = Vec::new();
            loop {
                let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                let Some(query) = queries.get(i) else { break };
                let t = Instant::now();
                one(query.clone()).await;
                latencies.push(t.elapsed());
            }
            latencies
        }));
    }
    let mut latencies = Vec::new();
    for worker in workers {
        latencies.extend(worker.await.unwrap());
    }
    let elapsed = started.elapsed();
    latencies.sort();
    let at = |q: f64| latencies[((latencies.len() as f64 * q) as usize).min(latencies.len() - 1)];
    Report {
        qps: queries.len() as f64 / elapsed.as_secs_f64(),
        p50: at(0.50),
        p99: at(0.99),
    }
}

#[tokio::main]
async fn main() {
    let clients: usize = std::env::args()
        .skip(1)
        .find_map(|a| a.parse().ok())
        .unwrap_or(16);
    let fixtures = shared().join("fixtures/kmindex");
    let dir = std::env::temp_dir().join(format!("kmviz-bench-api-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let mut tsv = String::from("ID\tLat\tLong\n");
    for i in 0..16 {
        tsv.push_str(&format!("D{i}\t{}\t{}\n", i as f64 * 5.0, i as f64 * -3.5));
    }
    std::fs::write(dir.join("meta.tsv"), tsv).unwrap();
    let config = format!(
        "[databases.bench]\ntype = \"kmindex\"\nparams = {{ index_path = \"{}\" }}\n\
         metadata = {{ type = \"tsv\", params = {{ path = \"meta.tsv\", idx = \"ID\" }} }}\n\
         [engine]\nconcurrency = {clients}\n[sessions]\ndata_dir = \"sessions\"\n",
        fixtures.join("indexes/index").display()
    );
    let config: Config = kmviz::config::parse(&config, kmviz::config::Format::Toml).unwrap();
    let instance = Instance::from_config(&config, &dir).unwrap();
    let app = kmviz::App::open(instance).await.unwrap();
    let jobs = app.jobs().clone();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(app.serve(listener, std::future::pending()));

    let queries: Vec<Query> = app::model::query::read_fastx(
        &std::fs::read(fixtures.join("datasets/pa_dataset/1.fasta")).unwrap(),
    )
    .unwrap()
    .into_iter()
    .take(400)
    .collect();
    let options: OptionValues = serde_json::from_str(r#"{"z": 3, "coverage": 0.5}"#).unwrap();
    let engine = Arc::clone(jobs.engine());
    let run = engine
        .check(vec![("bench".to_owned(), options.clone())])
        .unwrap()
        .remove(0);

    let in_process = {
        let (engine, run) = (Arc::clone(&engine), run.clone());
        drive(&queries, clients, move |query| {
            let (engine, run) = (Arc::clone(&engine), run.clone());
            async move {
                let result = engine.run(&query, &run).await.unwrap();
                std::hint::black_box(result);
            }
        })
        .await
    };
    let http = reqwest::Client::new();
    let over_http = drive(&queries, clients, move |query| {
        let (http, base, options) = (http.clone(), base.clone(), options.clone());
        async move {
            let body = serde_json::json!({
                "fastx": format!(">{}\n{}\n", query.name, query.seq),
                "databases": [{"name": "bench", "options": options}],
            });
            let submitted: serde_json::Value = http
                .post(format!("{base}/api/query"))
                .json(&body)
                .send()
                .await
                .unwrap()
                .json()
                .await
                .unwrap();
            let id = submitted["session"].as_str().unwrap();
            // The event stream ends with the job.
            http.get(format!("{base}/api/sessions/{id}/events"))
                .send()
                .await
                .unwrap()
                .bytes()
                .await
                .unwrap();
            let session: serde_json::Value = http
                .get(format!("{base}/api/sessions/{id}"))
                .send()
                .await
                .unwrap()
                .json()
                .await
                .unwrap();
            assert_eq!(session["status"], "done");
        }
    })
    .await;

    println!(
        "{} one-query sessions, {clients} concurrent clients, fixture index (pa + abs), z = 3",
        queries.len()
    );
    for (name, r) in [("in-process engine", &in_process), ("HTTP API", &over_http)] {
        println!(
            "{name:>18}: {:8.1} queries/s   p50 {:>9.3?}   p99 {:>9.3?}",
            r.qps, r.p50, r.p99
        );
    }
    println!(
        "ratio API / in-process: throughput {:.2}, p50 latency {:.2}x, p99 latency {:.2}x",
        over_http.qps / in_process.qps,
        over_http.p50.as_secs_f64() / in_process.p50.as_secs_f64(),
        over_http.p99.as_secs_f64() / in_process.p99.as_secs_f64(),
    );
    let _ = std::fs::remove_dir_all(&dir);
}
