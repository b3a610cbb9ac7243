//! The cost of the sandbox: the same provider logic — a kmindex-server client — as the Rust
//! plugin component (`plugins/kmindex-http`) and as native code (the built-in `kmindex-server`
//! provider), on the same queries against the same in-process kmindex server, in the same run;
//! then the per-call overhead of a component call that does nothing, and each component's size.
//!
//! `cargo bench -p kmviz --bench plugins [-- QUERIES]` (fixtures in `../shared`, or
//! `$KMVIZ_SHARED`; builds the plugins for `wasm32-wasip2` first).

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use app::model::options::{OptionValue, OptionValues};
use app::model::query::{Query, read_fastx};
use kmviz::plugin::provider::PluginProvider;
use kmviz::plugin::{Grants, PluginSpec};
use kmviz::provider::Provider;
use kmviz::provider::kmindex_server::RemoteKmindex;

const CLIENTS: usize = 2;

fn shared() -> PathBuf {
    std::env::var_os("KMVIZ_SHARED")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared"))
}

/// Builds the example plugins; the folder of their `.wasm` files.
fn build_plugins() -> PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target"));
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let status = std::process::Command::new(cargo)
        .args([
            "build",
            "--locked",
            "--target",
            "wasm32-wasip2",
            "--profile",
            "wasm-release",
        ])
        .args([
            "-p",
            "kmviz-plugin-kmindex-http",
            "-p",
            "kmviz-plugin-sandbox-probe",
        ])
        .env("CARGO_TARGET_DIR", &target)
        .status()
        .expect("run cargo");
    assert!(status.success(), "the plugins do not build");
    target.join("wasm32-wasip2/wasm-release")
}

fn spec(name: &str, wasm: &Path, allow_http: Vec<String>) -> PluginSpec {
    PluginSpec {
        name: name.into(),
        wasm: wasm.to_owned(),
        grants: Grants {
            allow_http,
            dirs: vec![],
            env: Default::default(),
            memory_mb: 64,
            timeout_ms: 10_000,
            concurrency: CLIENTS,
        },
    }
}

/// Queries per second and median latency of `provider` answering `queries`, `CLIENTS` at once.
async fn drive(
    provider: Arc<dyn Provider>,
    queries: &[Query],
    options: &OptionValues,
) -> (f64, Duration, usize) {
    let next = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let queries = Arc::new(queries.to_vec());
    let started = Instant::now();
    let mut workers = Vec::new();
    for _ in 0..CLIENTS {
        let (provider, queries, next, options) = (
            Arc::clone(&provider),
            Arc::clone(&queries),
            Arc::clone(&next),
            options.clone(),
        );
        workers.push(tokio::spawn(async move {
            let (mut latencies, mut hits) = (Vec::new(), 0);
            loop {
                let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                let Some(query) = queries.get(i) else { break };
                let t = Instant::now();
                let answer = provider.query(query, &options).await.expect("answered");
                latencies.push(t.elapsed());
                hits += answer.iter().map(|a| a.samples.len()).sum::<usize>();
            }
            (latencies, hits)
        }));
    }
    let (mut latencies, mut hits) = (Vec::new(), 0);
    for worker in workers {
        let (l, h) = worker.await.unwrap();
        latencies.extend(l);
        hits += h;
    }
    let elapsed = started.elapsed();
    latencies.sort();
    (
        queries.len() as f64 / elapsed.as_secs_f64(),
        latencies[latencies.len() / 2],
        hits,
    )
}

fn main() {
    let count: usize = std::env::args()
        .skip(1)
        .find_map(|a| a.parse().ok())
        .unwrap_or(400);
    let plugins = build_plugins();
    let kmindex = shared().join("fixtures/kmindex");
    // Reads of the presence/absence dataset: each found in its sample.
    let queries: Vec<Query> = (0..16)
        .flat_map(|s| {
            let fasta =
                std::fs::read(kmindex.join(format!("datasets/pa_dataset/{s}.fasta"))).unwrap();
            read_fastx(&fasta).unwrap()
        })
        .step_by(3)
        .take(count)
        .collect();
    let options: OptionValues = [
        ("z".to_owned(), OptionValue::Number(3.0)),
        ("coverage".to_owned(), OptionValue::Number(0.3)),
    ]
    .into();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let index = kmviz::kmindex::Index::open(&kmindex.join("indexes/index")).unwrap();
        let router = kmviz::api::kmindex::router(Arc::new(index));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
        let url = format!("http://{address}");

        let cache = std::env::temp_dir().join(format!("kmviz-bench-plugins-{}", std::process::id()));
        let http_wasm = plugins.join("kmviz_plugin_kmindex_http.wasm");
        let probe_wasm = plugins.join("kmviz_plugin_sandbox_probe.wasm");
        let loaded = kmviz::plugin::load_all(
            &[
                spec("kmindex-http", &http_wasm, vec![address.to_string()]),
                spec("probe", &probe_wasm, vec![]),
            ],
            &cache,
        )
        .unwrap();
        let params = serde_json::json!({ "url": url });
        let plugin: Arc<dyn Provider> = Arc::new(
            PluginProvider::open(Arc::clone(&loaded["kmindex-http"]), &params).await,
        );
        let native: Arc<dyn Provider> = Arc::new(RemoteKmindex::new(url.clone(), Duration::from_secs(30)));
        // Warm both (connections, caches).
        drive(Arc::clone(&native), &queries[..10], &options).await;
        drive(Arc::clone(&plugin), &queries[..10], &options).await;
        let (native_qps, native_p50, native_hits) = drive(native, &queries, &options).await;
        let (plugin_qps, plugin_p50, plugin_hits) = drive(plugin, &queries, &options).await;
        assert_eq!(native_hits, plugin_hits, "both providers find the same samples");
        println!(
            "{} queries, {CLIENTS} at once, against a kmindex server on {address} ({native_hits} hits each):",
            queries.len()
        );
        println!("  native client     {native_qps:8.0} queries/s   p50 {native_p50:>10.2?}");
        println!("  Rust component    {plugin_qps:8.0} queries/s   p50 {plugin_p50:>10.2?}");
        println!(
            "  component/native: throughput {:.2}, p50 latency {:.2}x",
            plugin_qps / native_qps,
            plugin_p50.as_secs_f64() / native_p50.as_secs_f64()
        );
        println!(
            "  (the component is stateless: it reads /kmindex/infos on every query, two requests \
             where the native client, which keeps the server's description, sends one)"
        );

        // A call that does nothing: instantiation and the call itself.
        let probe = PluginProvider::open(
            Arc::clone(&loaded["probe"]),
            &serde_json::json!({ "mode": "find" }),
        )
        .await;
        let empty = OptionValues::new();
        let query = Query { name: "q".into(), seq: "ACGT".into() };
        let calls = 2000;
        let started = Instant::now();
        for _ in 0..calls {
            probe.query(&query, &empty).await.unwrap();
        }
        let per_call = started.elapsed() / calls;
        println!("per-call overhead (fresh instance + call), Rust component: {per_call:.1?}");
        for wasm in [&http_wasm, &probe_wasm] {
            println!(
                "size: {} {} KB",
                wasm.file_name().unwrap().to_string_lossy(),
                std::fs::metadata(wasm).unwrap().len() / 1024
            );
        }
        let _ = std::fs::remove_dir_all(&cache);
    });
}
