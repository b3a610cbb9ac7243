//! Serves the browser app built into `site/` by `cargo xtask web`: its files (sent gzipped when
//! the browser accepts it, revalidated by date), and the page itself for every other path, so that
//! app URLs such as `/s/{id}` load the app. The page paints something before the app has loaded
//! (which replaces it): "Loading", or on a session's link (`/s/{id}`) a summary of the session,
//! which is also what a browser without JavaScript shows.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use app::model::session::{PairState, Session};
use axum::Router;
use axum::extract::{Path as UrlPath, State};
use axum::http::{HeaderValue, header};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use tower_http::services::{ServeDir, ServeFile};
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
    let page = site.join("index.html");
    let shell: Arc<str> = std::fs::read_to_string(&page).ok()?.into();
    let files = ServeDir::new(site)
        .precompressed_gzip()
        .fallback(ServeFile::new(page).precompressed_gzip());
    Some(
        Router::new()
            .route("/s/{id}", get(shared_link))
            .with_state((state, shell))
            .fallback_service(files)
            // File names do not change between builds: browsers must revalidate.
            .layer(SetResponseHeaderLayer::if_not_present(
                header::CACHE_CONTROL,
                HeaderValue::from_static("no-cache"),
            )),
    )
}

/// The page, with a summary of session `id` when the caller may read it.
async fn shared_link(
    State((state, shell)): State<(AppState, Arc<str>)>,
    caller: Caller,
    UrlPath(id): UrlPath<String>,
) -> Response {
    let Ok(session) = crate::api::sessions::readable(&state, &caller, &id).await else {
        return Html(shell.to_string()).into_response();
    };
    Html(with_first_paint(&shell, &summary(&session))).into_response()
}

/// The page `shell` with its first paint (the page's own `#first-paint`, "Loading the app")
/// replaced by `html`.
fn with_first_paint(shell: &str, html: &str) -> String {
    const START: &str = "<main id=\"first-paint\"";
    const END: &str = "</main>";
    let Some(start) = shell.find(START) else {
        return shell.replacen("<body>", &format!("<body>\n{html}"), 1);
    };
    let end = shell[start..]
        .find(END)
        .map_or(shell.len(), |end| start + end + END.len());
    format!("{}{html}{}", &shell[..start], &shell[end..])
}

/// Pairs, and hits per pair, the summary shows.
const PAIRS_SHOWN: usize = 50;
const HITS_SHOWN: usize = 20;

/// A session as plain HTML: its status, and per (query, database) pair its state and best
/// samples (the app shows the rest).
fn summary(session: &Session) -> String {
    let text = ammonia::clean_text;
    let done = session
        .pairs
        .iter()
        .filter(|p| p.state != PairState::Pending)
        .count();
    let mut html = format!(
        "<main id=\"first-paint\" class=\"first-paint\">\n<h1>kmviz session {}</h1>\n\
         <p>{}: {done} of {} pairs ended.</p>\n",
        text(&session.id),
        session.status.as_str(),
        session.pairs.len()
    );
    for pair in session.pairs.iter().take(PAIRS_SHOWN) {
        let _ = write!(
            html,
            "<section>\n<h2>{} on {}</h2>\n",
            text(&pair.query),
            text(&pair.database)
        );
        match (&pair.result, &pair.error) {
            (Some(result), _) => {
                let _ = write!(
                    html,
                    "<p>{} samples</p>\n<table>\n<thead><tr><th>ID</th><th>CovXK</th>\
                     <th>CovXB</th></tr></thead>\n<tbody>\n",
                    result.hits.len() + result.not_shown
                );
                for hit in result.hits.iter().take(HITS_SHOWN) {
                    let _ = writeln!(
                        html,
                        "<tr><td>{}</td><td>{:.4}</td><td>{:.4}</td></tr>",
                        text(&hit.id),
                        hit.coverage.cov_xk,
                        hit.coverage.cov_xb
                    );
                }
                html.push_str("</tbody>\n</table>\n");
            }
            (None, Some(error)) => {
                let _ = writeln!(html, "<p>{}: {}</p>", pair.state.as_str(), text(error));
            }
            (None, None) => {
                let _ = writeln!(html, "<p>{}</p>", pair.state.as_str());
            }
        }
        html.push_str("</section>\n");
    }
    if session.pairs.len() > PAIRS_SHOWN {
        let _ = writeln!(
            html,
            "<p>… and {} more pairs.</p>",
            session.pairs.len() - PAIRS_SHOWN
        );
    }
    html.push_str("</main>");
    html
}

#[cfg(test)]
mod tests {
    use super::with_first_paint;

    #[test]
    fn the_summary_takes_the_place_of_the_pages_first_paint() {
        let shell = "<body>\n  <main id=\"first-paint\" class=\"first-paint\">\n<p>Loading</p>\n  </main>\n  <script></script>\n</body>";
        assert_eq!(
            with_first_paint(shell, "<main>S</main>"),
            "<body>\n  <main>S</main>\n  <script></script>\n</body>"
        );
        // A page built before it had one: put first in the body.
        assert_eq!(
            with_first_paint("<body><script></script></body>", "<main>S</main>"),
            "<body>\n<main>S</main><script></script></body>"
        );
    }
}
