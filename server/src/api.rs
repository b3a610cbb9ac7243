//! The HTTP API. Each resource has its module and its `router()`; handlers only extract,
//! call the domain and map the result.
//!
//! - [`kmindex`]: kmindex-server's API over a local index (for kmindex clients);
//! - `/api/...`: kmviz's JSON API ([`info`], [`databases`], [`query`], [`sessions`]), described
//!   by [`openapi`]; what plugins add ([`plugins`]: tabs, assets).

pub mod databases;
pub mod error;
pub mod info;
pub mod kmindex;
pub mod openapi;
pub mod plugins;
pub mod query;
pub mod sessions;

use std::collections::BTreeMap;
use std::sync::Arc;

use app::model::query::InputLimits;
use axum::Router;
use axum::extract::{DefaultBodyLimit, Request};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use base64::Engine as _;

use crate::config::{Preselection, UiConfig};
use crate::jobs::Jobs;

/// What the API handlers share.
#[derive(Debug, Clone)]
pub struct AppState {
    pub jobs: Arc<Jobs>,
    pub settings: Arc<Settings>,
    /// Plugins' tabs and branding.
    pub pages: Arc<crate::plugin::page::Pages>,
}

/// The instance's settings the API applies.
#[derive(Debug, Clone)]
pub struct Settings {
    /// Limits of JSON query requests (the app's).
    pub input: InputLimits,
    /// Limits of requests in kmviz 0.8's API form.
    pub api_limits: InputLimits,
    pub default: Preselection,
    pub ui: UiConfig,
    pub max_body_size: usize,
}

/// kmviz's JSON API.
pub fn router(state: AppState) -> Router {
    let max_body = state.settings.max_body_size;
    Router::new()
        .merge(info::router())
        .merge(databases::router())
        .merge(query::router())
        .merge(sessions::router())
        .merge(plugins::router())
        .merge(openapi::router())
        .layer(DefaultBodyLimit::max(max_body))
        .with_state(state)
}

/// Puts `router` behind HTTP basic authentication with `users` (name → password).
pub fn require_basic_auth(router: Router, users: BTreeMap<String, String>) -> Router {
    let users = Arc::new(users);
    router.layer(axum::middleware::from_fn(
        move |request: Request, next: Next| {
            let users = Arc::clone(&users);
            async move {
                if authorized(&request, &users) {
                    next.run(request).await
                } else {
                    unauthorized()
                }
            }
        },
    ))
}

fn authorized(request: &Request, users: &BTreeMap<String, String>) -> bool {
    let Some(credentials) = request
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Basic "))
        .and_then(|v| {
            base64::engine::general_purpose::STANDARD
                .decode(v.trim())
                .ok()
        })
        .and_then(|v| String::from_utf8(v).ok())
    else {
        return false;
    };
    let Some((user, password)) = credentials.split_once(':') else {
        return false;
    };
    users
        .get(user)
        .is_some_and(|expected| same_bytes(expected.as_bytes(), password.as_bytes()))
}

/// Compares without stopping at the first difference, so timing does not reveal the prefix.
fn same_bytes(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

fn unauthorized() -> Response {
    let mut response = (
        StatusCode::UNAUTHORIZED,
        axum::Json(serde_json::json!({"error": "authentication required"})),
    )
        .into_response();
    response.headers_mut().insert(
        header::WWW_AUTHENTICATE,
        HeaderValue::from_static("Basic realm=\"kmviz\""),
    );
    response
}
