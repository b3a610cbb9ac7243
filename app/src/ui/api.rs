//! The one HTTP client of the app: kmviz's JSON API.

use std::cell::{Cell, RefCell};
use std::collections::VecDeque;
use std::rc::Rc;

use gloo_net::http::Request;
use wasm_bindgen::JsCast;
use wasm_bindgen::closure::Closure;

use crate::api::{
    Chosen, ErrorBody, MetadataPage, PositionedPair, ProgressEvent, QueryRequest, Submitted,
    positions_param,
};
use crate::model::options::OptionValues;
use crate::model::plugins::TabContent;
use crate::model::session::{Hit, PairState, Session, Status};

/// Why the API did not give what the app asked for (shown to the user as it reads).
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ApiFailure {
    #[error("the server cannot be reached: {0}")]
    Unreachable(String),
    /// The API's error body: what is wrong with the request.
    #[error("{0}")]
    Refused(String),
    #[error("the server answered {0}")]
    Status(u16),
    #[error("{0}")]
    Unreadable(String),
}

async fn read<T: serde::de::DeserializeOwned>(
    response: Result<gloo_net::http::Response, gloo_net::Error>,
) -> Result<T, ApiFailure> {
    let response = response.map_err(|e| ApiFailure::Unreachable(e.to_string()))?;
    if response.ok() {
        response
            .json()
            .await
            .map_err(|e| ApiFailure::Unreadable(e.to_string()))
    } else {
        match response.json::<ErrorBody>().await {
            Ok(body) => Err(ApiFailure::Refused(body.error)),
            Err(_) => Err(ApiFailure::Status(response.status())),
        }
    }
}

/// Submits `fastx` to `databases` (name, options), mailing `email` when the job ends;
/// returns the session id.
pub async fn submit(
    fastx: String,
    databases: Vec<(String, OptionValues)>,
    email: Option<String>,
) -> Result<String, ApiFailure> {
    let body = QueryRequest {
        fastx,
        databases: databases
            .into_iter()
            .map(|(name, options)| Chosen::WithOptions { name, options })
            .collect(),
        email,
    };
    let request = Request::post("/api/query")
        .json(&body)
        .map_err(|e| ApiFailure::Unreadable(e.to_string()))?;
    let submitted: Submitted = read(request.send().await).await?;
    Ok(submitted.session)
}

/// The whole metadata table of `database`, read page by page.
pub async fn metadata(database: &str) -> Result<MetadataPage, ApiFailure> {
    const PAGE: usize = 10_000;
    let mut all: Option<MetadataPage> = None;
    loop {
        let offset = all.as_ref().map_or(0, |a| a.rows.len());
        let url = format!("/api/databases/{database}/metadata?offset={offset}&limit={PAGE}");
        let page: MetadataPage = read(Request::get(&url).send().await).await?;
        let last = page.rows.len() < PAGE;
        match &mut all {
            Some(all) => all.rows.extend(page.rows),
            None => all = Some(page),
        }
        if last {
            break Ok(all.expect("one page read"));
        }
    }
}

pub async fn session(id: &str) -> Result<Session, ApiFailure> {
    read(Request::get(&format!("/api/sessions/{id}")).send().await).await
}

/// One hit of session `id` with its per-k-mer values.
pub async fn hit(
    id: &str,
    query: &str,
    database: &str,
    index: &str,
    sample: &str,
) -> Result<Hit, ApiFailure> {
    let request = Request::get(&format!("/api/sessions/{id}/hit")).query([
        ("query", query),
        ("database", database),
        ("index", index),
        ("id", sample),
    ]);
    read(request.send().await).await
}

/// Plugin tab `plugin`'s content for query `query` on database `database` of session `id`.
pub async fn tab(id: &str, plugin: &str, query: &str, database: &str) -> TabContent {
    let url = format!("/api/sessions/{id}/tabs/{plugin}");
    let request = Request::get(&url).query([("query", query), ("database", database)]);
    read(request.send().await)
        .await
        .unwrap_or_else(|e| TabContent::Error(e.to_string()))
}

pub fn cancel(id: String) {
    leptos::task::spawn_local(async move {
        let _ = Request::post(&format!("/api/sessions/{id}/cancel"))
            .send()
            .await;
    });
}

/// Calls `update` with session `id` now, and after each progress event while its job runs:
/// an event names the pairs that changed, and only those that finished are asked for
/// (`GET /api/sessions/{id}/pairs`), not the whole session again. Closing the returned stream
/// stops following.
pub fn follow(
    id: String,
    update: impl Fn(Result<Session, ApiFailure>) + 'static,
) -> Option<web_sys::EventSource> {
    let events = web_sys::EventSource::new(&format!("/api/sessions/{id}/events")).ok()?;
    let follower = Rc::new(Follower {
        id,
        session: RefCell::new(None),
        queue: RefCell::new(VecDeque::new()),
        busy: Cell::new(true),
        update: Box::new(update),
        events: events.clone(),
    });
    leptos::task::spawn_local({
        let follower = follower.clone();
        async move { follower.apply_queued().await }
    });
    let on_event =
        Closure::<dyn FnMut(web_sys::MessageEvent)>::new(move |message: web_sys::MessageEvent| {
            let Some(event) = message
                .data()
                .as_string()
                .and_then(|text| serde_json::from_str::<ProgressEvent>(&text).ok())
            else {
                return;
            };
            follower.queue.borrow_mut().push_back(event);
            if !follower.busy.get() {
                follower.busy.set(true);
                let follower = follower.clone();
                leptos::task::spawn_local(async move { follower.apply_queued().await });
            }
        });
    for name in ["progress", "end"] {
        let _ = events.add_event_listener_with_callback(name, on_event.as_ref().unchecked_ref());
    }
    // The listener lives as long as the page.
    on_event.forget();
    Some(events)
}

/// A followed session: the last state shown, and the events not applied yet (in order).
struct Follower {
    id: String,
    session: RefCell<Option<Session>>,
    queue: RefCell<VecDeque<ProgressEvent>>,
    /// An event is being applied: the next ones wait in `queue`.
    busy: Cell<bool>,
    update: Box<dyn Fn(Result<Session, ApiFailure>)>,
    events: web_sys::EventSource,
}

impl Follower {
    /// Reads the whole session if it has none (at first, or after a failed read), then applies
    /// the queued events one after another, asking for the pairs they say finished.
    async fn apply_queued(&self) {
        if self.session.borrow().is_none() {
            match session(&self.id).await {
                Ok(now) => {
                    (self.update)(Ok(now.clone()));
                    *self.session.borrow_mut() = Some(now);
                }
                Err(e) => {
                    // The next event tries again.
                    (self.update)(Err(e));
                    self.busy.set(false);
                    return;
                }
            }
        }
        loop {
            // Every event that came meanwhile at once: one request and one redraw for them all
            // (a redraw of a large session takes longer than a pair).
            let queued: Vec<ProgressEvent> = self.queue.borrow_mut().drain(..).collect();
            let Some(event) = ProgressEvent::merged(queued) else {
                break;
            };
            if let Err(e) = self.apply(event).await {
                // What that event changed is unknown here: the session is read whole again.
                (self.update)(Err(e));
                *self.session.borrow_mut() = None;
                break;
            }
        }
        self.busy.set(false);
    }

    async fn apply(&self, event: ProgressEvent) -> Result<(), ApiFailure> {
        let missing: Vec<usize> = {
            let session = self.session.borrow();
            let Some(session) = session.as_ref() else {
                return Ok(());
            };
            event
                .pairs
                .iter()
                .filter(|p| p.state == PairState::Done)
                .filter(|p| {
                    session
                        .pairs
                        .get(p.position)
                        .is_some_and(|s| s.result.is_none())
                })
                .map(|p| p.position)
                .collect()
        };
        let mut finished = Vec::new();
        for chunk in missing.chunks(PAIRS_PER_REQUEST) {
            let url = format!("/api/sessions/{}/pairs", self.id);
            let request = Request::get(&url).query([("positions", positions_param(chunk))]);
            finished.extend(read::<Vec<PositionedPair>>(request.send().await).await?);
        }
        let now = {
            let mut session = self.session.borrow_mut();
            let Some(session) = session.as_mut() else {
                return Ok(());
            };
            for changed in &event.pairs {
                if let Some(pair) = session.pairs.get_mut(changed.position) {
                    pair.state = changed.state;
                    pair.error = changed.error.clone();
                }
            }
            for PositionedPair { position, pair } in finished {
                if let Some(slot) = session.pairs.get_mut(position) {
                    *slot = pair;
                }
            }
            session.status = event.status;
            session.clone()
        };
        if now.status != Status::Running {
            self.events.close();
        }
        (self.update)(Ok(now));
        Ok(())
    }
}

/// Pairs asked for at once: keeps the address short.
const PAIRS_PER_REQUEST: usize = 500;
