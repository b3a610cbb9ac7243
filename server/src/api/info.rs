//! `GET /api/info`: the databases (provider kind, sub-indexes with k-mer sizes and sample
//! counts, metadata columns and geodata, option schemas, presets), the input limits and the
//! app's settings.

use app::model::options::OptionSpec;
use app::model::plugins::{Branding, PluginTab};
use app::model::query::InputLimits;
use app::model::session::{Column, Geodata};
use axum::extract::State;
use axum::routing::get;
use axum::{Json, Router};
use std::collections::BTreeMap;

use serde::Serialize;
use serde_json::Value as JsonValue;

use super::AppState;
use crate::config::{Preselection, UiConfig};
use crate::engine::Database;
use crate::metadb::columns;
use crate::provider::IndexInfo;

pub fn router() -> Router<AppState> {
    Router::new().route("/api/info", get(info))
}

#[derive(Serialize)]
struct Info {
    version: &'static str,
    databases: Vec<DatabaseInfo>,
    default: Preselection,
    input: InputLimits,
    max_results: usize,
    ui: UiConfig,
    /// Plugins' analysis tabs, in order.
    tabs: Vec<PluginTab>,
    #[serde(skip_serializing_if = "Option::is_none")]
    branding: Option<Branding>,
}

#[derive(Serialize)]
struct DatabaseInfo {
    name: String,
    provider: &'static str,
    /// Why the provider cannot be used now (e.g. its server is down).
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<String>,
    indexes: Vec<IndexInfo>,
    options: Vec<OptionSpec>,
    metadata: MetadataInfo,
    #[serde(skip_serializing_if = "Option::is_none")]
    presets: Option<JsonValue>,
}

#[derive(Serialize)]
struct MetadataInfo {
    rows: Option<usize>,
    columns: Vec<Column>,
    geodata: Option<Geodata>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    links: BTreeMap<String, String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<String>,
}

async fn describe(database: &Database) -> DatabaseInfo {
    let (indexes, error) = match database.provider.indexes().await {
        Ok(indexes) => (indexes, None),
        Err(e) => (Vec::new(), Some(e.to_string())),
    };
    let (rows, metadata_error) = match database.metadb.count().await {
        Ok(rows) => (Some(rows), None),
        Err(e) => (None, Some(e.to_string())),
    };
    DatabaseInfo {
        name: database.name.clone(),
        provider: database.provider.kind(),
        error,
        indexes,
        options: database.options(),
        metadata: MetadataInfo {
            rows,
            columns: columns(&database.metadb.schema()),
            geodata: database.metadb.geodata().cloned(),
            links: database.links.clone(),
            error: metadata_error,
        },
        presets: database.presets.clone(),
    }
}

async fn info(State(state): State<AppState>) -> Json<Info> {
    let engine = state.jobs.engine();
    let databases = futures_util::future::join_all(engine.databases().map(|d| describe(d))).await;
    Json(Info {
        version: env!("CARGO_PKG_VERSION"),
        databases,
        default: state.settings.default.clone(),
        input: state.settings.input,
        max_results: engine.settings().max_results,
        ui: state.settings.ui.clone(),
        tabs: state.pages.tabs(),
        branding: state.pages.branding().cloned(),
    })
}
