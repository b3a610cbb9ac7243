//! Who a request comes from: a user of `[auth]` (HTTP basic), an API token
//! (`Authorization: Bearer`, see [`crate::token`]), or no one. The [`Caller`] goes into the
//! request's extensions for the handlers (the owner of what they make) and the rate limits.
//! Instances with users let no one else in; open instances take tokens too, as an identity.

use std::collections::{BTreeMap, HashMap};
use std::net::IpAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::Router;
use axum::extract::{ConnectInfo, Request};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use base64::Engine as _;

use super::error::ApiError;
use crate::session::SessionStore;

/// Who sent a request.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum Caller {
    #[default]
    Anonymous,
    User(String),
    Token {
        id: String,
        name: String,
    },
}

impl Caller {
    /// The caller of a request with `extensions`, as the gate found it ([`authenticate`]); no
    /// one when nothing authenticates (a router without the gate).
    pub fn of(extensions: &axum::http::Extensions) -> Caller {
        extensions.get::<Caller>().cloned().unwrap_or_default()
    }

    /// Who owns what the caller makes: `user:NAME` or `token:ID`.
    pub fn owner(&self) -> Option<String> {
        match self {
            Caller::Anonymous => None,
            Caller::User(name) => Some(format!("user:{name}")),
            Caller::Token { id, .. } => Some(format!("token:{id}")),
        }
    }
}

/// A handler's caller ([`Caller::of`]).
impl<S: Send + Sync> axum::extract::FromRequestParts<S> for Caller {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        _: &S,
    ) -> Result<Caller, Self::Rejection> {
        Ok(Caller::of(&parts.extensions))
    }
}

impl std::fmt::Display for Caller {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Caller::Anonymous => f.write_str("an anonymous client"),
            Caller::User(name) => write!(f, "user '{name}'"),
            Caller::Token { id, name } => write!(f, "token '{name}' ({id})"),
        }
    }
}

/// What lets callers in.
#[derive(Debug, Default)]
pub struct Gate {
    /// `[auth]`'s users (name → password): when set, every caller must be one of them or
    /// hold a token.
    pub users: Option<BTreeMap<String, String>>,
    /// Where tokens are kept; none: tokens are not taken.
    pub tokens: Option<Arc<dyn SessionStore>>,
}

/// Why a request is not let in.
enum Refusal {
    /// Credentials were given and are wrong (or revoked): slowed down, logged.
    Wrong,
    /// The instance has users and the request names none.
    Missing,
}

impl Gate {
    async fn identify(&self, headers: &HeaderMap) -> Result<Caller, Refusal> {
        let Some((scheme, credentials)) = authorization(headers) else {
            return match self.users {
                Some(_) => Err(Refusal::Missing),
                None => Ok(Caller::Anonymous),
            };
        };
        if scheme.eq_ignore_ascii_case("bearer") {
            return self.token(credentials).await.ok_or(Refusal::Wrong);
        }
        let Some(users) = &self.users else {
            // An open instance ignores other credentials (a proxy's, say), as it always has.
            return Ok(Caller::Anonymous);
        };
        let (user, password) = scheme
            .eq_ignore_ascii_case("basic")
            .then(|| basic_pair(credentials))
            .flatten()
            .ok_or(Refusal::Wrong)?;
        users
            .get(&user)
            .is_some_and(|expected| same_bytes(expected.as_bytes(), password.as_bytes()))
            .then_some(Caller::User(user))
            .ok_or(Refusal::Wrong)
    }

    async fn token(&self, text: &str) -> Option<Caller> {
        let (id, secret) = crate::token::parse(text)?;
        let token = match self.tokens.as_ref()?.token(id.to_owned()).await {
            Ok(token) => token?,
            Err(e) => {
                tracing::error!("cannot check a token: {e}");
                return None;
            }
        };
        token.opens_with(secret).then_some(Caller::Token {
            id: token.id,
            name: token.name,
        })
    }
}

/// Puts `router` behind `gate`: each request gets its [`Caller`], or is refused with 401.
pub fn authenticate(router: Router, gate: Gate) -> Router {
    let gate = Arc::new(gate);
    let failures = Arc::new(AuthFailures::default());
    router.layer(axum::middleware::from_fn(
        move |mut request: Request, next: Next| {
            let (gate, failures) = (Arc::clone(&gate), Arc::clone(&failures));
            async move {
                let client = request
                    .extensions()
                    .get::<ConnectInfo<std::net::SocketAddr>>()
                    .map(|info| info.0.ip());
                match gate.identify(request.headers()).await {
                    Ok(caller) => {
                        if caller != Caller::Anonymous {
                            failures.forget(client);
                        }
                        request.extensions_mut().insert(caller);
                        next.run(request).await
                    }
                    Err(Refusal::Wrong) => {
                        // Answered late so that guessing is slow (the delay holds no worker).
                        let (count, delay) = failures.count(client);
                        tracing::warn!(
                            "authentication failed for {} from {} ({count} in a row; answered in {delay:?})",
                            request.uri().path(),
                            client.map_or("an unknown client".to_owned(), |ip| ip.to_string()),
                        );
                        tokio::time::sleep(delay).await;
                        unauthorized(&gate)
                    }
                    Err(Refusal::Missing) => unauthorized(&gate),
                }
            }
        },
    ))
}

/// Puts `router` behind HTTP basic authentication with `users` (name → password).
pub fn require_basic_auth(router: Router, users: BTreeMap<String, String>) -> Router {
    let gate = Gate {
        users: Some(users),
        tokens: None,
    };
    authenticate(router, gate)
}

/// The scheme and credentials of a request's `Authorization`.
fn authorization(headers: &HeaderMap) -> Option<(&str, &str)> {
    let (scheme, credentials) = headers
        .get(header::AUTHORIZATION)?
        .to_str()
        .ok()?
        .split_once(' ')?;
    Some((scheme, credentials.trim()))
}

/// A user and password from basic credentials (`base64(user:password)`).
fn basic_pair(credentials: &str) -> Option<(String, String)> {
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(credentials)
        .ok()?;
    let text = String::from_utf8(decoded).ok()?;
    let (user, password) = text.split_once(':')?;
    Some((user.to_owned(), password.to_owned()))
}

/// Failed authentications per client address: each one in a row doubles the delay of the
/// answer, from [`FIRST_DELAY`] up to [`MOST_DELAY`]; a success, or [`FAILURES_KEPT`] of
/// quiet, starts over.
#[derive(Default)]
struct AuthFailures(Mutex<HashMap<Option<IpAddr>, (u32, Instant)>>);

const FIRST_DELAY: Duration = Duration::from_millis(500);
const MOST_DELAY: Duration = Duration::from_secs(8);
const FAILURES_KEPT: Duration = Duration::from_secs(600);

impl AuthFailures {
    /// Counts a failure of `client`: how many in a row, and how late to answer it.
    fn count(&self, client: Option<IpAddr>) -> (u32, Duration) {
        let now = Instant::now();
        let mut failures = self.0.lock().expect("not poisoned");
        if failures.len() >= 100_000 {
            // Many addresses (a botnet, IPv6): keep the recent ones.
            failures.retain(|_, (_, last)| now.duration_since(*last) < FAILURES_KEPT);
        }
        let (count, last) = failures.entry(client).or_insert((0, now));
        if now.duration_since(*last) >= FAILURES_KEPT {
            *count = 0;
        }
        *count += 1;
        *last = now;
        let delay = FIRST_DELAY
            .saturating_mul(1 << (*count - 1).min(4))
            .min(MOST_DELAY);
        (*count, delay)
    }

    fn forget(&self, client: Option<IpAddr>) {
        let mut failures = self.0.lock().expect("not poisoned");
        if !failures.is_empty() {
            failures.remove(&client);
        }
    }
}

/// Compares without stopping at the first difference, so timing does not reveal the prefix.
pub fn same_bytes(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

fn unauthorized(gate: &Gate) -> Response {
    let mut response =
        ApiError::new(StatusCode::UNAUTHORIZED, "authentication required").into_response();
    let challenge = if gate.users.is_some() {
        "Basic realm=\"kmviz\""
    } else {
        "Bearer realm=\"kmviz\", error=\"invalid_token\""
    };
    response.headers_mut().insert(
        header::WWW_AUTHENTICATE,
        HeaderValue::from_static(challenge),
    );
    response
}
