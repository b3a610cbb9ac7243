//! Serves the browser app built into `site/` by `cargo xtask web`: its files (sent gzipped when
//! the browser accepts it, revalidated by date), and the page itself for every other path, so that
//! app URLs such as `/s/{id}` load the app.

use std::path::{Path, PathBuf};

use axum::Router;
use axum::http::{HeaderValue, header};
use tower_http::services::{ServeDir, ServeFile};
use tower_http::set_header::SetResponseHeaderLayer;

/// Where the app is: `$KMVIZ_SITE`, else `site/` of the source tree it was built from.
pub fn default_site() -> PathBuf {
    std::env::var_os("KMVIZ_SITE").map_or_else(
        || Path::new(env!("CARGO_MANIFEST_DIR")).join("../site"),
        PathBuf::from,
    )
}

/// The app's routes, or `None` when `site` holds no built app.
pub fn router(site: &Path) -> Option<Router> {
    let page = site.join("index.html");
    if !page.is_file() {
        return None;
    }
    let files = ServeDir::new(site)
        .precompressed_gzip()
        .fallback(ServeFile::new(page).precompressed_gzip());
    Some(
        Router::new()
            .fallback_service(files)
            // File names do not change between builds: browsers must revalidate.
            .layer(SetResponseHeaderLayer::if_not_present(
                header::CACHE_CONTROL,
                HeaderValue::from_static("no-cache"),
            )),
    )
}
