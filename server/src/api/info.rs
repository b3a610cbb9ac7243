//! `GET /api/info`: the databases (provider kind, sub-indexes with k-mer sizes and sample
//! counts, metadata columns and geodata, option schemas, presets), the input limits and the
//! app's settings.

use app::api::{DatabaseInfo, Info, MetadataInfo};
use axum::Json;
use axum::extract::State;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::AppState;
use super::openapi::KMVIZ;
use crate::engine::Database;
use crate::metadb::columns;

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(info))
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
        provider: database.provider.kind().to_owned(),
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

/// Every database of the instance, described.
pub(super) async fn describe_all(state: &AppState) -> Vec<DatabaseInfo> {
    let engine = state.jobs.engine();
    futures_util::future::join_all(engine.databases().map(|d| describe(d))).await
}

/// The instance: databases (provider kind, sub-indexes with k-mer size and sample count, metadata columns and geodata, option schemas, presets), input limits, app settings, plugin tabs and branding
#[utoipa::path(get, path = "/api/info", tag = KMVIZ, responses(
    (status = 200, description = "the instance", body = Info)
))]
async fn info(State(state): State<AppState>) -> Json<Info> {
    Json(instance(&state).await)
}

/// The instance as `GET /api/info` describes it (the app's page starts with it too).
pub(crate) async fn instance(state: &AppState) -> Info {
    let engine = state.jobs.engine();
    let databases = describe_all(state).await;
    Info {
        version: env!("CARGO_PKG_VERSION").to_owned(),
        databases,
        default: state.settings.default.clone(),
        input: state.settings.input,
        max_results: engine.settings().max_results,
        ui: state.settings.ui.clone(),
        example: state.settings.example.clone(),
        tabs: state.pages.tabs(),
        branding: state.pages.branding().cloned(),
        notify: state.settings.notify.clone(),
    }
}
