//! What every request to a kmviz server gets, whatever route answers it: a request id (in
//! the answer's `x-request-id` and in every log line of the request), metrics, security
//! headers, and state-changing requests from other sites refused.

use axum::Router;
use axum::extract::Request;
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use tower_http::set_header::SetResponseHeaderLayer;

use super::error::ApiError;

/// The app's policy: its own scripts and wasm (compiled by the browser: `wasm-unsafe-eval`),
/// inline styles (Leptos sets `style` attributes), images from itself or inline, and no
/// framing. Plugin HTML is shown inside the app, so this also holds it.
const CONTENT_SECURITY_POLICY: &str = "default-src 'self'; script-src 'self' 'wasm-unsafe-eval'; \
     style-src 'self' 'unsafe-inline'; img-src 'self' data: blob:; connect-src 'self'; \
     object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

/// The app's policy for a page whose inline scripts carry `nonce` (the page Leptos renders).
pub fn policy_with_nonce(nonce: &str) -> String {
    CONTENT_SECURITY_POLICY.replacen(
        "script-src 'self'",
        &format!("script-src 'self' 'nonce-{nonce}'"),
        1,
    )
}

/// `router` with the edge's layers.
pub fn guard(router: Router) -> Router {
    let headers = [
        (
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(CONTENT_SECURITY_POLICY),
        ),
        (
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        ),
        (header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY")),
        (
            header::REFERRER_POLICY,
            HeaderValue::from_static("no-referrer"),
        ),
        // Answers differ by the encodings a client accepts (gzip): caches must know.
        (header::VARY, HeaderValue::from_static("accept-encoding")),
    ];
    headers
        .into_iter()
        .fold(router, |router, (name, value)| {
            router.layer(SetResponseHeaderLayer::if_not_present(name, value))
        })
        .layer(axum::middleware::from_fn(refuse_cross_site))
        .layer(axum::middleware::from_fn(crate::metrics::record_request))
        .layer(axum::middleware::from_fn(with_request_id))
}

const REQUEST_ID: &str = "x-request-id";

/// Runs the request in a span that names it: the client's `x-request-id` when it is a short
/// printable token (a proxy's), else a new one; the answer echoes it.
async fn with_request_id(request: Request, next: Next) -> Response {
    let given = request
        .headers()
        .get(REQUEST_ID)
        .and_then(|v| v.to_str().ok())
        .filter(|id| {
            (1..=64).contains(&id.len())
                && id
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"-_.:".contains(&b))
        })
        .map(str::to_owned);
    // 64 random bits: unique enough to find a request's lines in a day of logs.
    let id = given.unwrap_or_else(|| crate::random_hex(8));
    let span = tracing::info_span!("request", request_id = %id);
    let mut response = tracing::Instrument::instrument(next.run(request), span).await;
    if let Ok(value) = HeaderValue::from_str(&id) {
        response.headers_mut().insert(REQUEST_ID, value);
    }
    response
}

/// Refuses a state-changing request that a page of another site made the browser send (a
/// form posted to `/api/query`, say). Browsers say so in `Sec-Fetch-Site`, and in `Origin`;
/// programs (curl, kmviz 0.8's clients) send neither and are let through.
async fn refuse_cross_site(request: Request, next: Next) -> Response {
    let safe = matches!(
        *request.method(),
        Method::GET | Method::HEAD | Method::OPTIONS
    );
    if !safe && let Some(reason) = cross_site(&request) {
        tracing::warn!(
            "refused a cross-site {} {}: {reason}",
            request.method(),
            request.uri()
        );
        return ApiError::new(
            StatusCode::FORBIDDEN,
            format!("cross-site requests are refused ({reason})"),
        )
        .into_response();
    }
    next.run(request).await
}

/// Why `request` comes from another site, if it does. `Sec-Fetch-Site` decides where the
/// browser sends it (all current ones); else `Origin` must name the request's `Host`.
fn cross_site(request: &Request) -> Option<String> {
    let headers = request.headers();
    let text = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    if let Some(site) = text("sec-fetch-site") {
        return (!matches!(site, "same-origin" | "none"))
            .then(|| format!("Sec-Fetch-Site: {site}"));
    }
    let origin = text("origin")?;
    let host = text("host").unwrap_or_default();
    // `Origin` is scheme://host[:port]; `Host` is host[:port].
    let origin_host = origin.split_once("://").map_or("", |(_, rest)| rest);
    (!origin_host.eq_ignore_ascii_case(host)).then(|| format!("Origin: {origin}, Host: {host}"))
}

/// The answer to an `/api/...` path no route has: JSON, not the app's page.
pub async fn unknown_api_path(request: Request) -> ApiError {
    ApiError::not_found(format!(
        "no API route {} {}",
        request.method(),
        request.uri().path()
    ))
}

/// Every error of the JSON API as its error body: what axum answers by itself (a malformed
/// query string or path, a method the route lacks) is plain text, turned into
/// `{"error": text}` with the same status.
pub async fn json_errors(response: Response) -> Response {
    let is_json = response
        .headers()
        .get(header::CONTENT_TYPE)
        .is_some_and(|v| v.as_bytes().starts_with(b"application/json"));
    let status = response.status();
    if is_json || !(status.is_client_error() || status.is_server_error()) {
        return response;
    }
    // axum's own answers are one line.
    let text = axum::body::to_bytes(response.into_body(), 64 * 1024)
        .await
        .map(|bytes| String::from_utf8_lossy(&bytes).trim().to_owned())
        .unwrap_or_default();
    let message = if text.is_empty() {
        status.canonical_reason().unwrap_or("error").to_lowercase()
    } else {
        text
    };
    ApiError::new(status, message).into_response()
}
