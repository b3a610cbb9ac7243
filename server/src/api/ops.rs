//! For operators: `GET /healthz` (the process answers), `GET /readyz` (every database answers
//! and the session store takes writes, with the detail; 503 when not) and `GET /metrics`
//! (Prometheus text, see [`crate::metrics`]).

use std::collections::BTreeMap;
use std::time::Duration;

use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde::Serialize;

use super::AppState;
use super::error::ApiError;

/// How long one readiness check may take: a database that does not answer within it is not
/// ready.
const CHECK_TIME: Duration = Duration::from_secs(5);

/// `/healthz`: answered without any state, so that nothing but a dead process fails it.
pub fn health_router() -> Router {
    Router::new().route("/healthz", get(|| async { Json(Check::ok()) }))
}

/// `/readyz` and `/metrics` (a 404 that says why when `metrics` is off).
pub fn router(metrics: bool) -> Router<AppState> {
    let router = Router::new().route("/readyz", get(ready));
    if metrics {
        router.route("/metrics", get(prometheus))
    } else {
        router.route(
            "/metrics",
            get(|| async { ApiError::not_found("metrics are off ([server] metrics = false)") }),
        )
    }
}

#[derive(Serialize)]
struct Check {
    ok: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<String>,
}

impl Check {
    fn ok() -> Check {
        Check {
            ok: true,
            error: None,
        }
    }

    fn of(outcome: Result<(), String>) -> Check {
        Check {
            ok: outcome.is_ok(),
            error: outcome.err(),
        }
    }
}

#[derive(Serialize)]
struct Readiness {
    ready: bool,
    store: Check,
    databases: BTreeMap<String, Check>,
}

async fn within(check: impl Future<Output = Result<(), String>>) -> Check {
    Check::of(
        tokio::time::timeout(CHECK_TIME, check)
            .await
            .unwrap_or_else(|_| Err(format!("no answer within {} s", CHECK_TIME.as_secs()))),
    )
}

async fn ready(State(state): State<AppState>) -> Response {
    let engine = state.jobs.engine();
    let databases = futures_util::future::join_all(
        engine
            .databases()
            .map(|d| async move { (d.name.clone(), within(d.check()).await) }),
    )
    .await;
    let store = within(async { state.jobs.store().writable().await.map_err(|e| e.0) }).await;
    let readiness = Readiness {
        ready: store.ok && databases.iter().all(|(_, c)| c.ok),
        store,
        databases: databases.into_iter().collect(),
    };
    let status = if readiness.ready {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (status, Json(readiness)).into_response()
}

async fn prometheus(State(state): State<AppState>) -> Response {
    let store_bytes = state.jobs.store().bytes().await;
    if let Err(e) = &store_bytes {
        tracing::warn!("the session store's size: {e}");
    }
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        crate::metrics::render(store_bytes.ok()),
    )
        .into_response()
}
