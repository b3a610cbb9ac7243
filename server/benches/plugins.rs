//! The cost of the sandbox: the same provider logic — a kmindex-server client — as the Rust
//! plugin component (`plugins/kmindex-http`) and as native code (the built-in `kmindex-server`
//! provider), on the same queries against the same in-process kmindex server, in the same run;
//! then, for the example plugin of each language, the per-call overhead (a fresh instance and a
//! call refused at once), the cost of its smallest call doing work, the time to compile it, and
//! its size.
//!
//! `cargo xtask plugins && cargo bench -p kmviz --bench plugins [-- QUERIES]` (fixtures in
//! `../shared`, or `$KMVIZ_SHARED`; the plugins in `$KMVIZ_PLUGINS`, else `target/plugins`).

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use app::model::options::{OptionValue, OptionValues};
use app::model::query::{Query, read_fastx};
use kmviz::metadb::MetaDb;
use kmviz::plugin::metadb::PluginMetaDb;
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

/// The example plugins' folder, built by `cargo xtask plugins`.
fn plugins() -> PathBuf {
    std::env::var_os("KMVIZ_PLUGINS").map_or_else(
        || PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target/plugins"),
        PathBuf::from,
    )
}

fn spec(name: &str, wasm: &Path, allow_http: Vec<String>, dirs: Vec<PathBuf>) -> PluginSpec {
    PluginSpec {
        name: name.into(),
        wasm: wasm.to_owned(),
        grants: Grants {
            allow_http,
            dirs,
            memory_mb: 128,
            timeout_ms: 60_000,
            concurrency: CLIENTS,
            ..Grants::default()
        },
        params: serde_json::json!({}),
    }
}

/// The mean time of `calls` runs of `call`.
async fn per_call<F: std::future::Future<Output = ()>>(
    calls: u32,
    call: impl Fn() -> F,
) -> Duration {
    call().await;
    let started = Instant::now();
    for _ in 0..calls {
        call().await;
    }
    started.elapsed() / calls
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
    let plugins = plugins();
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
        let index = kmindex::Index::open(&kmindex.join("indexes/index")).unwrap();
        let router = kmviz::api::kmindex::router(Arc::new(index), Default::default());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
        let url = format!("http://{address}");

        let cache = std::env::temp_dir().join(format!("kmviz-bench-plugins-{}", std::process::id()));
        // The smallest data each example can answer about: one tiny FASTA, a two-row CSV.
        let data = cache.join("data");
        std::fs::create_dir_all(&data).unwrap();
        std::fs::write(data.join("s1.fa"), ">s\nACGTACGTACGTACGTACGTACGTACGT\n").unwrap();
        std::fs::write(data.join("meta.csv"), "ID,n\ns1,1\ns2,2\n").unwrap();
        let wasm = |folder: &str| {
            let wasm = plugins.join(format!("{folder}.wasm"));
            assert!(wasm.is_file(), "{} is missing: run `cargo xtask plugins`", wasm.display());
            wasm
        };
        let http_wasm = wasm("kmindex-http");
        let specs = [
            spec("kmindex-http", &http_wasm, vec![address.to_string()], vec![]),
            spec("rust", &wasm("sandbox-probe"), vec![], vec![]),
            spec("c", &wasm("kmer-c"), vec![], vec![data.clone()]),
            spec("python", &wasm("fasta-scan-py"), vec![], vec![data.clone()]),
            spec("js", &wasm("csv-metadb-js"), vec![], vec![data.clone()]),
        ];
        let mut loaded = kmviz::plugin::Plugins::new();
        let mut compile = Vec::new();
        for spec in &specs {
            let started = Instant::now();
            loaded.extend(kmviz::plugin::load_all(std::slice::from_ref(spec), &cache).unwrap());
            compile.push(started.elapsed());
        }
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

        // Per language: the overhead — a fresh instance and a call refused at once (`describe`
        // with empty parameters) — then the smallest call its example makes that does work.
        let calls = 200;
        let nothing = serde_json::json!({});
        let refused = |name: &str| PluginProvider::open(Arc::clone(&loaded[name]), &nothing);
        let (rust_refused, c_refused, python_refused) =
            (refused("rust").await, refused("c").await, refused("python").await);
        let overhead = [
            per_call(calls, || async { assert!(rust_refused.indexes().await.is_err()) }).await,
            per_call(calls, || async { assert!(c_refused.indexes().await.is_err()) }).await,
            per_call(calls, || async { assert!(python_refused.indexes().await.is_err()) }).await,
            per_call(calls, || async {
                assert!(PluginMetaDb::open(Arc::clone(&loaded["js"]), &nothing).await.is_err())
            })
            .await,
        ];
        let empty = OptionValues::new();
        let query = Query { name: "q".into(), seq: "ACGT".into() };
        let probe = PluginProvider::open(
            Arc::clone(&loaded["rust"]),
            &serde_json::json!({ "mode": "find" }),
        )
        .await;
        let folder = serde_json::json!({ "dir": data, "k": 21 });
        let csv = serde_json::json!({ "path": data.join("meta.csv"), "id": "ID" });
        let js = PluginMetaDb::open(Arc::clone(&loaded["js"]), &csv).await.unwrap();
        let costs = [
            ("Rust", "sandbox-probe: search", per_call(calls, || async {
                probe.query(&query, &empty).await.unwrap();
            }).await),
            ("C", "kmer-c: describe", per_call(calls, || async {
                PluginProvider::open(Arc::clone(&loaded["c"]), &folder).await.indexes().await.unwrap();
            }).await),
            ("Python", "fasta-scan-py: describe", per_call(calls, || async {
                PluginProvider::open(Arc::clone(&loaded["python"]), &folder).await.indexes().await.unwrap();
            }).await),
            ("JavaScript", "csv-metadb-js: table", per_call(calls, || async {
                js.count().await.unwrap();
            }).await),
        ];
        println!("\nper example ({calls} calls each; compiled on load, cached afterwards):");
        println!("  language    overhead   smallest call              per call    compile    size");
        for (i, (language, call, cost)) in costs.iter().enumerate() {
            let spec = &specs[i + 1];
            println!(
                "  {language:<11} {:>8.1?}   {call:<26} {:>8.1?} {:>10.2?} {:>6} KB",
                overhead[i],
                cost,
                compile[i + 1],
                std::fs::metadata(&spec.wasm).unwrap().len() / 1024
            );
        }
        println!(
            "  (overhead: a fresh instance and a call refused at once, describe with empty params)"
        );
        println!(
            "  kmindex-http (Rust)                                          {:>10.2?} {:>6} KB",
            compile[0],
            std::fs::metadata(&http_wasm).unwrap().len() / 1024
        );
        let _ = std::fs::remove_dir_all(&cache);
    });
}
