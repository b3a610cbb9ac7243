//! Metrics for operators, in Prometheus' text format at `GET /metrics`: recorded with the
//! `metrics` macros where things happen, rendered by one process-wide recorder.
//!
//! - `kmviz_http_requests_total{route, method, status}`, `kmviz_http_request_seconds{route,
//!   method}`: requests, and the time to their answer's head (see [`record_request`]);
//! - `kmviz_sessions_running`, `kmviz_sessions_total{status}`: jobs running, and ended by status;
//! - `kmviz_pairs_total{state}`: (query, database) pairs ended, by state;
//! - `kmviz_database_query_seconds{database}`, `kmviz_database_failures_total{database}`: each
//!   database's queries (lookup, metadata and join) and failures;
//! - `kmviz_plugin_calls_total{plugin, outcome}`: plugin calls (`ok`, `error`, `timeout`);
//! - `kmviz_kmer_lookups_total`: k-mers looked up in local indexes (its rate: lookups per second);
//! - `kmviz_session_store_bytes`: the session store's size on disk, read when scraped.

use std::sync::OnceLock;
use std::time::{Duration, Instant};

use axum::extract::{MatchedPath, Request};
use axum::middleware::Next;
use axum::response::Response;
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};

/// Latency buckets, in seconds: from a cached answer to a long query.
const BUCKETS: &[f64] = &[
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 120.0,
];

static RECORDER: OnceLock<PrometheusHandle> = OnceLock::new();

/// The process's recorder, installed on first use (one per process: tests that start several
/// instances in one process share it).
fn handle() -> &'static PrometheusHandle {
    RECORDER.get_or_init(|| {
        let recorder = PrometheusBuilder::new()
            .set_buckets(BUCKETS)
            .expect("buckets are given")
            .build_recorder();
        let handle = recorder.handle();
        if metrics::set_global_recorder(recorder).is_err() {
            tracing::warn!("another metrics recorder was installed first: /metrics stays empty");
        }
        // Histograms keep raw samples until upkeep folds them into buckets.
        let upkeep = handle.clone();
        let spawned = std::thread::Builder::new()
            .name("metrics-upkeep".into())
            .spawn(move || {
                loop {
                    std::thread::sleep(Duration::from_secs(5));
                    upkeep.run_upkeep();
                }
            });
        if let Err(e) = spawned {
            tracing::warn!("no metrics upkeep thread: {e}");
        }
        handle
    })
}

/// Starts recording (before the first request, so that counters exist from the start).
pub fn install() {
    handle();
}

/// Everything recorded, with the store's size of now.
pub fn render(store_bytes: Option<u64>) -> String {
    if let Some(bytes) = store_bytes {
        metrics::gauge!("kmviz_session_store_bytes").set(bytes as f64);
    }
    handle().render()
}

/// Counts a request and times it up to its answer's head (a streamed body goes on after),
/// labelled by the route it matched (see [`remember_route`]), `unmatched` for the others
/// (refused before routing, or no route).
pub async fn record_request(request: Request, next: Next) -> Response {
    let method = request.method().as_str().to_owned();
    let started = Instant::now();
    let response = next.run(request).await;
    let route = response
        .extensions()
        .get::<MatchedPath>()
        .map_or("unmatched", MatchedPath::as_str)
        .to_owned();
    let status = response.status().as_u16().to_string();
    metrics::histogram!("kmviz_http_request_seconds", "route" => route.clone(), "method" => method.clone())
        .record(started.elapsed().as_secs_f64());
    metrics::counter!("kmviz_http_requests_total", "route" => route, "method" => method, "status" => status)
        .increment(1);
    response
}

/// Hands the matched route (a template such as `/api/sessions/{id}`, not the path) to
/// [`record_request`], which runs outside the router; a `route_layer`.
pub async fn remember_route(request: Request, next: Next) -> Response {
    let route = request.extensions().get::<MatchedPath>().cloned();
    let mut response = next.run(request).await;
    if let Some(route) = route {
        response.extensions_mut().insert(route);
    }
    response
}
