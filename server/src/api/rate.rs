//! Rate limits per client — the user or token it authenticated as, else its address: requests
//! to the API and query letters submitted, per minute (`[rate_limits]`). A client over its
//! quota is answered 429 with `Retry-After`, and counted in `kmviz_rate_limited_total`.

use std::net::SocketAddr;
use std::num::NonZeroU32;
use std::time::Duration;

use axum::extract::{ConnectInfo, Request, State};
use axum::http::Extensions;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};

use super::AppState;
use super::auth::Caller;
use super::error::ApiError;
use crate::config::RateLimitConfig;

/// The quotas of every client.
pub struct RateLimits {
    requests: Option<DefaultKeyedRateLimiter<String>>,
    letters: Option<DefaultKeyedRateLimiter<String>>,
}

impl std::fmt::Debug for RateLimits {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RateLimits")
            .field("requests", &self.requests.is_some())
            .field("letters", &self.letters.is_some())
            .finish()
    }
}

impl RateLimits {
    pub fn new(config: RateLimitConfig) -> RateLimits {
        let limiter = |per_minute: Option<NonZeroU32>| {
            per_minute.map(|n| RateLimiter::keyed(Quota::per_minute(n)))
        };
        RateLimits {
            requests: limiter(config.requests_per_minute),
            letters: limiter(config.letters_per_minute),
        }
    }

    /// Who a request comes from: the user or token it authenticated as ([`Caller`]), else
    /// its address.
    pub fn client(extensions: &Extensions) -> String {
        let caller = extensions
            .get::<Caller>()
            .filter(|c| **c != Caller::Anonymous);
        match (caller, extensions.get::<ConnectInfo<SocketAddr>>()) {
            (Some(caller), _) => caller.to_string(),
            (None, Some(ConnectInfo(peer))) => format!("client {}", peer.ip()),
            (None, None) => "an unknown client".to_owned(),
        }
    }

    /// Counts `letters` submitted by `client`: refused when they pass its quota.
    pub fn letters(&self, client: &str, letters: usize) -> Result<(), ApiError> {
        let Some(limiter) = &self.letters else {
            return Ok(());
        };
        let n = NonZeroU32::new(u32::try_from(letters).unwrap_or(u32::MAX));
        let Some(n) = n else { return Ok(()) };
        forget_quiet_clients(limiter);
        match limiter.check_key_n(&client.to_owned(), n) {
            Ok(Ok(())) => Ok(()),
            Ok(Err(not_until)) => Err(limited(
                "letters",
                format!("{client} submitted more query letters than its quota per minute allows"),
                Some(not_until.wait_time_from(DefaultClock::default().now())),
            )),
            // Waiting would not help: no Retry-After.
            Err(_) => Err(limited(
                "letters",
                format!("{letters} letters are more than {client}'s quota of a whole minute"),
                None,
            )),
        }
    }
}

/// 429, counted, with the wait before the quota allows again, if waiting helps (whole seconds,
/// rounded up).
fn limited(what: &'static str, message: String, wait: Option<Duration>) -> ApiError {
    metrics::counter!("kmviz_rate_limited_total", "what" => what).increment(1);
    let seconds = wait.map(|w| (w.as_secs() + u64::from(w.subsec_nanos() > 0)).max(1));
    ApiError::too_many(message, seconds)
}

/// Clients remembered before those whose quota is whole again are forgotten: the state of
/// every address ever seen would otherwise grow without end.
const CLIENTS_KEPT: usize = 10_000;

fn forget_quiet_clients(limiter: &DefaultKeyedRateLimiter<String>) {
    if limiter.len() > CLIENTS_KEPT {
        limiter.retain_recent();
    }
}

/// The middleware: counts each request of its client.
pub async fn count_request(
    State(state): State<AppState>,
    request: Request,
    next: Next,
) -> Response {
    if let Some(limiter) = &state.rates.requests {
        forget_quiet_clients(limiter);
        let who = RateLimits::client(request.extensions());
        if let Err(not_until) = limiter.check_key(&who) {
            let wait = not_until.wait_time_from(DefaultClock::default().now());
            let message = format!("{who} sent more requests than its quota per minute allows");
            return limited("requests", message, Some(wait)).into_response();
        }
    }
    next.run(request).await
}
