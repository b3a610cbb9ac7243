//! Submitting queries.
//!
//! - `POST /api/query`: a JSON body `{"fastx": "...", "databases": ["A", {"name": "B",
//!   "options": {"z": 3}}]}`, or kmviz 0.8's multipart form (`database` fields, `<db>#<option>`
//!   fields, a `fastx` file) → `202 {"session", "status"}`; the job runs in the background.
//! - `POST /api/query/{db}`: kmviz 0.8's form with bare option names → the ZIP download once the
//!   job is done.

use std::collections::BTreeMap;

use app::api::{Chosen, ErrorBody, QueryRequest, Submitted};
use app::model::options::{OptionValue, OptionValues};
use app::model::query::{InputLimits, Query, parse_queries, warnings};
use axum::Json;
use axum::extract::{FromRequest, Multipart, Path, Request, State};
use axum::http::{Extensions, StatusCode, header};
use axum::response::{IntoResponse, Response};
use lettre::message::Mailbox;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::AppState;
use super::auth::Caller;
use super::error::ApiError;
use super::openapi::KMVIZ;
use super::rate::RateLimits;
use crate::engine::{Engine, Selection};
use crate::export::Archive;
use crate::jobs::Submitter;
use crate::notify::Notifier;

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(submit))
        .routes(routes!(submit_for_zip))
}

/// kmviz 0.8's form: `database` fields (repeated), `<database>#<option>` fields, and the
/// queries' file.
#[derive(ToSchema)]
#[allow(dead_code)] // Described for clients; read part by part by `read_form`.
struct QueryForm {
    database: Vec<String>,
    /// FASTA or FASTQ, gzipped or not.
    #[schema(value_type = String, format = Binary)]
    fastx: Vec<u8>,
    /// Where to mail when the job ends (instances with `notify` in `/api/info`).
    email: Option<String>,
}

/// kmviz 0.8's form for one database: option fields by their bare names, and the queries'
/// file.
#[derive(ToSchema)]
#[allow(dead_code)] // Described for clients; read part by part by `read_form`.
struct DatabaseQueryForm {
    /// FASTA or FASTQ, gzipped or not.
    #[schema(value_type = String, format = Binary)]
    fastx: Vec<u8>,
    /// Where to mail when the job ends (instances with `notify` in `/api/info`).
    email: Option<String>,
}

/// The fields of a multipart form: text fields by name, in order, and the `fastx` file.
struct Form {
    fields: Vec<(String, String)>,
    fastx: Option<Vec<u8>>,
}

async fn read_form(mut multipart: Multipart) -> Result<Form, ApiError> {
    let mut form = Form {
        fields: Vec::new(),
        fastx: None,
    };
    while let Some(field) = multipart.next_field().await? {
        let name = field.name().unwrap_or_default().to_owned();
        if name == "fastx" {
            form.fastx = Some(field.bytes().await?.to_vec());
        } else {
            let text = field.text().await?;
            form.fields.push((name, text));
        }
    }
    Ok(form)
}

/// Option values of `database` from form fields `texts` (by option name), read by the option's
/// kind.
fn options_from_form(
    engine: &Engine,
    database: &str,
    texts: BTreeMap<String, Vec<String>>,
) -> Result<OptionValues, ApiError> {
    let specs = engine.database(database)?.options();
    texts
        .into_iter()
        .map(|(name, values)| {
            let spec = specs.iter().find(|s| s.name == name).ok_or_else(|| {
                let known: Vec<&str> = specs.iter().map(|s| s.name.as_str()).collect();
                ApiError::bad_request(format!(
                    "database '{database}': unknown option '{name}'; known options: {}",
                    known.join(", ")
                ))
            })?;
            let value: OptionValue = spec
                .parse_text(&values)
                .map_err(|e| ApiError::bad_request(format!("database '{database}': {e}")))?;
            Ok((name, value))
        })
        .collect()
}

/// Reads the queries of a request, within `limits`.
fn queries(fastx: &[u8], limits: &InputLimits) -> Result<Vec<Query>, ApiError> {
    Ok(parse_queries(fastx, limits)?)
}

/// The queries file and the chosen databases with their options, from kmviz 0.8's form:
/// `database` fields and `<database>#<option>` fields.
fn chosen_from_form(engine: &Engine, form: Form) -> Result<(Vec<u8>, Vec<Selection>), ApiError> {
    let fastx = form
        .fastx
        .ok_or_else(|| ApiError::bad_request("the form has no 'fastx' file"))?;
    let names: Vec<String> = form
        .fields
        .iter()
        .filter(|(k, _)| k == "database")
        .map(|(_, v)| v.clone())
        .collect();
    let mut texts: BTreeMap<String, BTreeMap<String, Vec<String>>> = BTreeMap::new();
    for (key, value) in form.fields {
        if key == "database" {
            continue;
        }
        let (database, option) = key.split_once('#').ok_or_else(|| {
            ApiError::bad_request(format!(
                "unknown field '{key}'; option fields are named <database>#<option>"
            ))
        })?;
        if !names.iter().any(|n| n == database) {
            return Err(ApiError::bad_request(format!(
                "field '{key}' sets an option of database '{database}', which is not chosen"
            )));
        }
        texts
            .entry(database.to_owned())
            .or_default()
            .entry(option.to_owned())
            .or_default()
            .push(value);
    }
    let mut chosen = Vec::new();
    for name in names {
        engine.database(&name)?;
        let options = options_from_form(engine, &name, texts.remove(&name).unwrap_or_default())?;
        chosen.push((name, options));
    }
    Ok((fastx, chosen))
}

/// Submit queries to databases; the job runs in the background
#[utoipa::path(post, path = "/api/query", tag = KMVIZ,
    request_body(content(
        (QueryRequest = "application/json"),
        (QueryForm = "multipart/form-data"),
    )),
    responses(
        (status = 202, description = "the session, running (also in `Location`), with warnings about the queries", body = Submitted),
        (status = 400, description = "bad queries (an input limit broken), unknown option, bad option value", body = ErrorBody),
        (status = 404, description = "unknown database", body = ErrorBody),
        (status = 413, description = "body too large", body = ErrorBody),
        (status = 415, description = "neither JSON nor a multipart form", body = ErrorBody)
))]
async fn submit(State(state): State<AppState>, request: Request) -> Result<Response, ApiError> {
    let extensions = request.extensions().clone();
    let is_form = request
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("multipart/form-data"));
    let (fastx, limits, chosen, email) = if is_form {
        let multipart = Multipart::from_request(request, &())
            .await
            .map_err(|e| ApiError::bad_request(e.body_text()))?;
        let mut form = read_form(multipart).await?;
        let email = take_field(&mut form.fields, "email");
        let (fastx, chosen) = chosen_from_form(state.jobs.engine(), form)?;
        (fastx, state.settings.api_limits, chosen, email)
    } else {
        let Json(body) = Json::<QueryRequest>::from_request(request, &()).await?;
        let chosen = chosen(body.databases);
        (
            body.fastx.into_bytes(),
            state.settings.input,
            chosen,
            body.email,
        )
    };
    let submitted = submit_checked(&state, &extensions, &fastx, &limits, chosen, email).await?;
    Ok((
        StatusCode::ACCEPTED,
        [(
            header::LOCATION,
            format!("/api/sessions/{}", submitted.session),
        )],
        Json(submitted),
    )
        .into_response())
}

/// The databases a JSON submission chose, with their options.
pub(super) fn chosen(databases: Vec<Chosen>) -> Vec<Selection> {
    databases
        .into_iter()
        .map(|c| match c {
            Chosen::Name(name) => (name, OptionValues::new()),
            Chosen::WithOptions { name, options } => (name, options),
        })
        .collect()
}

/// Checks and submits the queries of `fastx` (within `limits`) to `chosen`, for the caller of
/// a request with `extensions` (its owner and quota), mailing `email` when the job ends: how
/// the API and agents ([`super::mcp`]) submit.
pub(super) async fn submit_checked(
    state: &AppState,
    extensions: &Extensions,
    fastx: &[u8],
    limits: &InputLimits,
    chosen: Vec<Selection>,
    email: Option<String>,
) -> Result<Submitted, ApiError> {
    let engine = state.jobs.engine();
    let queries = queries(fastx, limits)?;
    let notify = recipient(state, email)?;
    let runs = engine.check(chosen)?;
    state
        .rates
        .letters(&RateLimits::client(extensions), letters(&queries))?;
    let warnings = warnings(&queries, limits, &engine.kmer_sizes(&runs).await);
    let owner = Caller::of(extensions).owner();
    let session = state
        .jobs
        .submit(queries, runs, Submitter { owner, notify })
        .await?;
    Ok(Submitted {
        session: session.id,
        status: session.status,
        warnings,
    })
}

/// kmviz 0.8's query-and-download: runs the queries on one database and answers the ZIP
#[utoipa::path(post, path = "/api/query/{db}", tag = KMVIZ,
    params(("db" = String, Path, description = "the database")),
    request_body(content((DatabaseQueryForm = "multipart/form-data"))),
    responses(
        (status = 200, description = "the ZIP: one TSV per query and README.md (the session is kept: its download adds session.json)", content_type = "application/zip"),
        (status = 400, description = "bad request", body = ErrorBody),
        (status = 404, description = "unknown database", body = ErrorBody),
        (status = 413, description = "body too large", body = ErrorBody)
))]
async fn submit_for_zip(
    State(state): State<AppState>,
    Path(db): Path<String>,
    request: Request,
) -> Result<Response, ApiError> {
    let client = RateLimits::client(request.extensions());
    let owner = Caller::of(request.extensions()).owner();
    let multipart = Multipart::from_request(request, &()).await;
    let engine = state.jobs.engine();
    engine.database(&db)?;
    let mut form = read_form(multipart.map_err(|e| ApiError::bad_request(e.body_text()))?).await?;
    let fastx = form
        .fastx
        .ok_or_else(|| ApiError::bad_request("the form has no 'fastx' file"))?;
    let notify = recipient(&state, take_field(&mut form.fields, "email"))?;
    let mut texts: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for (key, value) in form.fields {
        texts.entry(key).or_default().push(value);
    }
    let options = options_from_form(engine, &db, texts)?;
    let queries = queries(&fastx, &state.settings.api_limits)?;
    let runs = engine.check(vec![(db, options)])?;
    state.rates.letters(&client, letters(&queries))?;
    let session = state
        .jobs
        .submit(queries, runs, Submitter { owner, notify })
        .await?;
    let session = state
        .jobs
        .finished(&session.id)
        .await?
        .ok_or_else(|| ApiError::internal("the session vanished"))?;
    Ok(super::sessions::zip_download(session, Archive::Tables))
}

/// The value of field `name` of a form's `fields`, taken out of them.
fn take_field(fields: &mut Vec<(String, String)>, name: &str) -> Option<String> {
    let at = fields.iter().position(|(n, _)| n == name)?;
    Some(fields.remove(at).1)
}

/// The mailbox a submission's `email` names, checked; refused when the instance sends no mail.
fn recipient(state: &AppState, email: Option<String>) -> Result<Option<Mailbox>, ApiError> {
    let Some(email) = email.filter(|e| !e.trim().is_empty()) else {
        return Ok(None);
    };
    if !state.jobs.notifies() {
        return Err(ApiError::bad_request(
            "email: this instance sends no mail (it has no [notif] section)",
        ));
    }
    Notifier::recipient(&email)
        .map(Some)
        .map_err(ApiError::bad_request)
}

/// The letters of `queries`, as a client's quota counts them.
fn letters(queries: &[Query]) -> usize {
    queries.iter().map(|q| q.seq.len()).sum()
}
