//! The HTTP API. Each resource has its module and its `router()`; handlers only extract,
//! call the domain and map the result.
//!
//! - [`kmindex`]: kmindex-server's API over a local index (for kmindex clients);
//! - `/api/...`: kmviz's JSON API ([`info`], [`databases`], [`query`], [`sessions`]), described
//!   by [`openapi`].

pub mod databases;
pub mod error;
pub mod info;
pub mod kmindex;
pub mod openapi;
pub mod query;
pub mod sessions;

use std::sync::Arc;

use app::model::query::InputLimits;
use axum::Router;
use axum::extract::DefaultBodyLimit;

use crate::config::{Preselection, UiConfig};
use crate::jobs::Jobs;

/// What the API handlers share.
#[derive(Debug, Clone)]
pub struct AppState {
    pub jobs: Arc<Jobs>,
    pub settings: Arc<Settings>,
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
        .merge(openapi::router())
        .layer(DefaultBodyLimit::max(max_body))
        .with_state(state)
}
