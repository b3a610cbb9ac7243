//! For operators: `GET /healthz` (the process answers), `GET /readyz` (every database answers
//! and the session store takes writes, with the detail; 503 when not) and `GET /metrics`
//! (Prometheus text, see [`crate::metrics`]).

use std::collections::BTreeMap;
use std::time::Duration;

use app::api::ErrorBody;
use axum::Json;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::AppState;
use super::error::ApiError;
use super::openapi::OPERATIONS;

/// How long one readiness check may take: a database that does not answer within it is not
/// ready.
const CHECK_TIME: Duration = Duration::from_secs(5);

/// `/healthz`: answered without any state, so that nothing but a dead process fails it.
pub fn health_routes() -> OpenApiRouter {
    OpenApiRouter::new().routes(routes!(health))
}

/// `/readyz` and `/metrics` (a 404 that says why when `metrics` is off).
pub fn routes(metrics: bool) -> OpenApiRouter<AppState> {
    let routes = OpenApiRouter::new().routes(routes!(ready));
    if metrics {
        routes.routes(routes!(prometheus))
    } else {
        routes.routes(routes!(metrics_off))
    }
}

/// The process answers (open without credentials, for probes)
#[utoipa::path(get, path = "/healthz", tag = OPERATIONS, responses(
    (status = 200, description = "always `{\"ok\": true}`", body = Check)
))]
async fn health() -> Json<Check> {
    Json(Check::ok())
}

#[derive(Serialize, ToSchema)]
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

    fn of(outcome: Result<(), impl std::fmt::Display>) -> Check {
        Check {
            ok: outcome.is_ok(),
            error: outcome.err().map(|e| e.to_string()),
        }
    }
}

/// Whether the instance can answer queries, and if not, what fails.
#[derive(Serialize, ToSchema)]
struct Readiness {
    ready: bool,
    store: Check,
    databases: BTreeMap<String, Check>,
}

async fn within<E: std::fmt::Display>(check: impl Future<Output = Result<(), E>>) -> Check {
    match tokio::time::timeout(CHECK_TIME, check).await {
        Ok(outcome) => Check::of(outcome),
        Err(_) => Check::of(Err(format!("no answer within {} s", CHECK_TIME.as_secs()))),
    }
}

/// Every database answers (its sub-indexes, one metadata row) and the session store takes writes
#[utoipa::path(get, path = "/readyz", tag = OPERATIONS, responses(
    (status = 200, description = "ready", body = Readiness),
    (status = 503, description = "not ready: the same body says what is not", body = Readiness)
))]
async fn ready(State(state): State<AppState>) -> Response {
    let engine = state.jobs.engine();
    let databases = futures_util::future::join_all(
        engine
            .databases()
            .map(|d| async move { (d.name.clone(), within(d.check()).await) }),
    )
    .await;
    let store = within(state.jobs.store().writable()).await;
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

/// Prometheus metrics (text format 0.0.4): requests, sessions, pairs, databases, plugins, lookups, store size
#[utoipa::path(get, path = "/metrics", tag = OPERATIONS, responses(
    (status = 200, description = "the metrics", content_type = "text/plain", body = String),
    (status = 404, description = "metrics are off in the configuration", body = ErrorBody)
))]
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

#[utoipa::path(get, path = "/metrics", tag = OPERATIONS, responses(
    (status = 404, description = "metrics are off in the configuration", body = ErrorBody)
))]
async fn metrics_off() -> ApiError {
    ApiError::not_found("metrics are off ([server] metrics = false)")
}
