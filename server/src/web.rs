//! Serves the browser app built into `site/` by `cargo xtask web`: its files (sent gzipped when
//! the browser accepts it, revalidated by date), and its page, rendered here by the app itself
//! (`leptos_axum`): the home page at `/`, and at `/s/{id}` the session's results, which the
//! browser app then takes over (hydrates). A browser without JavaScript sees the same page.

use std::path::{Path, PathBuf};

use app::ui::Initial;
use axum::Router;
use axum::extract::{Path as UrlPath, Request, State};
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use tower_http::services::ServeDir;
use tower_http::set_header::SetResponseHeaderLayer;

use crate::api::AppState;
use crate::api::auth::Caller;

/// Where the app is: `$KMVIZ_SITE`, else `site/` of the source tree it was built from.
pub fn default_site() -> PathBuf {
    std::env::var_os("KMVIZ_SITE").map_or_else(
        || Path::new(env!("CARGO_MANIFEST_DIR")).join("../site"),
        PathBuf::from,
    )
}

/// The app's routes, or `None` when `site` holds no built app.
pub fn router(site: &Path, state: AppState) -> Option<Router> {
    if !site.join("pkg/app.js").is_file() {
        return None;
    }
    // Leptos's rendering spawns its tasks on the server's runtime (set once per process).
    let _ = any_spawner::Executor::init_tokio();
    let files = ServeDir::new(site).precompressed_gzip();
    Some(
        Router::new()
            .route("/", get(home))
            .route("/s/{id}", get(shared_link))
            .layer(crate::api::compression())
            .with_state(state)
            .fallback_service(files)
            // File names do not change between builds: browsers must revalidate.
            .layer(SetResponseHeaderLayer::if_not_present(
                header::CACHE_CONTROL,
                HeaderValue::from_static("no-cache"),
            )),
    )
}

async fn home(State(state): State<AppState>, request: Request) -> Response {
    page(&state, None, request).await
}

/// The page of session `id`, with its results when the caller may read it (else the app says
/// why once it runs).
async fn shared_link(
    State(state): State<AppState>,
    caller: Caller,
    UrlPath(id): UrlPath<String>,
    request: Request,
) -> Response {
    let session = crate::api::sessions::readable(&state, &caller, &id)
        .await
        .ok();
    page(&state, session.as_deref(), request).await
}

/// The app's page rendered from the instance and `session`.
async fn page(
    state: &AppState,
    session: Option<&app::model::session::Session>,
    request: Request,
) -> Response {
    let initial = Initial::new(crate::api::info::instance(state).await, session);
    let render = leptos_axum::render_app_async_with_context(allow_leptos_scripts, move || {
        app::ui::page(initial.clone())
    });
    render(request).await.into_response()
}

/// Leptos ends the page with inline scripts (hydration's data) marked with the request's nonce:
/// this page's policy allows them.
fn allow_leptos_scripts() {
    use leptos::prelude::use_context;
    let nonce = leptos::nonce::use_nonce();
    let response = use_context::<leptos_axum::ResponseOptions>();
    if let (Some(nonce), Some(response)) = (nonce, response) {
        let policy = crate::api::edge::policy_with_nonce(&nonce.to_string());
        if let Ok(policy) = HeaderValue::from_str(&policy) {
            response.insert_header(header::CONTENT_SECURITY_POLICY, policy);
        }
    }
}
