//! Agent access: a Model Context Protocol server (streamable HTTP at `/mcp`), behind the same
//! authentication and quotas as the API. Its tools list the databases, submit queries, wait for
//! a session, read its top hits with their metadata and fetch one hit's coverage; each answers
//! JSON (`structuredContent`, and the same as text). The work is the API's: submissions go
//! through [`super::query::submit_checked`], reads through [`super::sessions::readable`].

use std::sync::Arc;
use std::time::Duration;

use app::api::{Chosen, DatabaseInfo};
use app::model::session::{Hit, PairResult, Session};
use app::view::track::runs;
use axum::Router;
use axum::http::Extensions;
use rmcp::model::{
    CallToolRequestParams, CallToolResponse, CallToolResult, ContentBlock, Implementation,
    ListToolsResult, PaginatedRequestParams, ServerCapabilities, ServerConfig, Tool,
};
use rmcp::service::RequestContext;
use rmcp::transport::StreamableHttpService;
use rmcp::transport::streamable_http_server::StreamableHttpServerConfig;
use rmcp::transport::streamable_http_server::session::local::LocalSessionManager;
use rmcp::{ErrorData, RoleServer, ServerHandler};
use serde::Deserialize;
use serde_json::{Value, json};

use super::AppState;
use super::auth::Caller;
use super::error::ApiError;
use super::sessions::{HitKey, find_hit};

/// `/mcp`, counted by the API's quotas.
pub fn router(state: AppState) -> Router {
    let handler = Kmviz {
        state: state.clone(),
    };
    // Any `Host`: the instance is reached by its operator's name for it; requests from
    // other sites' pages are refused at the edge, and the gate authenticates.
    let config = StreamableHttpServerConfig::default().disable_allowed_hosts();
    let service = StreamableHttpService::new(
        move || Ok(handler.clone()),
        Arc::new(LocalSessionManager::default()),
        config,
    );
    Router::new()
        .nest_service("/mcp", service)
        .layer(axum::middleware::from_fn_with_state(
            state,
            super::rate::count_request,
        ))
}

/// The MCP server of an instance.
#[derive(Clone)]
struct Kmviz {
    state: AppState,
}

/// The longest a `wait_for_session` call waits.
const MOST_WAIT: u64 = 300;

/// The tools: name, description, and the JSON Schema of their arguments.
fn tools() -> Vec<Tool> {
    let tool = |name: &'static str, description: &'static str, schema: Value| {
        let Value::Object(schema) = schema else {
            unreachable!("a schema is an object")
        };
        Tool::new(name, description, schema)
    };
    let session =
        json!({"type": "string", "description": "a session id, as submit_queries answers it"});
    vec![
        tool(
            "list_databases",
            "The databases of this kmviz instance: each one's sequence index (sub-indexes with their k-mer size and sample count), its metadata columns, and the options a query may set (name, kind, default, range).",
            json!({"type": "object", "properties": {}}),
        ),
        tool(
            "submit_queries",
            "Search DNA or protein queries (FASTA or FASTQ text, or a bare sequence) in one or more databases; the job runs in the background. Answers the session id, and warnings about the queries.",
            json!({
                "type": "object",
                "properties": {
                    "fastx": {"type": "string", "description": "FASTA or FASTQ text, or a bare sequence"},
                    "databases": {
                        "type": "array",
                        "minItems": 1,
                        "description": "database names, or {name, options} with option values as list_databases describes them",
                        "items": {"oneOf": [
                            {"type": "string"},
                            {"type": "object", "properties": {"name": {"type": "string"}, "options": {"type": "object"}}, "required": ["name"]}
                        ]}
                    },
                    "email": {"type": "string", "description": "where to mail when the job ends, when the instance mails"}
                },
                "required": ["fastx", "databases"]
            }),
        ),
        tool(
            "wait_for_session",
            "Wait until a session's job ends, or for at most timeout_seconds (default 60, at most 300). Answers its status (running, done, cancelled, interrupted) and counts of its (query, database) pairs.",
            json!({
                "type": "object",
                "properties": {
                    "session": session,
                    "timeout_seconds": {"type": "integer", "minimum": 0, "maximum": MOST_WAIT}
                },
                "required": ["session"]
            }),
        ),
        tool(
            "read_results",
            "The results of a session: for each (query, database) pair, its state, how many samples hold the query, and the top samples by k-mer coverage (CovXK) with their scores and metadata.",
            json!({
                "type": "object",
                "properties": {
                    "session": session,
                    "top": {"type": "integer", "minimum": 1, "maximum": 1000, "description": "samples per pair (default 10)"},
                    "query": {"type": "string", "description": "only this query"},
                    "database": {"type": "string", "description": "only this database"}
                },
                "required": ["session"]
            }),
        ),
        tool(
            "hit_coverage",
            "One sample's coverage of one query: its per-k-mer values (presence 0/1, or abundance) as [value, count] runs, and per base, with the k-mer size.",
            json!({
                "type": "object",
                "properties": {
                    "session": session,
                    "query": {"type": "string"},
                    "database": {"type": "string"},
                    "index": {"type": "string", "description": "the sub-index the sample was found in"},
                    "id": {"type": "string", "description": "the sample's ID"}
                },
                "required": ["session", "query", "database", "index", "id"]
            }),
        ),
    ]
}

impl ServerHandler for Kmviz {
    fn get_info(&self) -> ServerConfig {
        ServerConfig::new(ServerCapabilities::builder().enable_tools().build())
            .with_server_info(Implementation::new("kmviz", env!("CARGO_PKG_VERSION")))
            .with_instructions(
                "Search sequences in k-mer indexes: list_databases, then submit_queries, \
                 wait_for_session, read_results, and hit_coverage for one sample.",
            )
    }

    async fn list_tools(
        &self,
        _: Option<PaginatedRequestParams>,
        _: RequestContext<RoleServer>,
    ) -> Result<ListToolsResult, ErrorData> {
        Ok(ListToolsResult::with_all_items(tools()))
    }

    fn get_tool(&self, name: &str) -> Option<Tool> {
        tools().into_iter().find(|t| t.name == name)
    }

    async fn call_tool(
        &self,
        request: CallToolRequestParams,
        context: RequestContext<RoleServer>,
    ) -> Result<CallToolResponse, ErrorData> {
        // The HTTP request's extensions: who calls (the gate's), and from where.
        let extensions = context
            .extensions
            .get::<axum::http::request::Parts>()
            .map(|parts| parts.extensions.clone())
            .unwrap_or_default();
        let arguments = Value::Object(request.arguments.unwrap_or_default());
        let answer = match request.name.as_ref() {
            "list_databases" => self.list_databases().await,
            "submit_queries" => self.submit(&extensions, arguments).await,
            "wait_for_session" => self.wait(&extensions, arguments).await,
            "read_results" => self.results(&extensions, arguments).await,
            "hit_coverage" => self.coverage(&extensions, arguments).await,
            other => {
                return Err(ErrorData::invalid_params(
                    format!("unknown tool '{other}'"),
                    None,
                ));
            }
        };
        // A tool's failure is its answer, for the agent to read (as the API's error bodies).
        Ok(match answer {
            Ok(value) => CallToolResult::structured(value),
            Err(e) => CallToolResult::error(vec![ContentBlock::text(e.told())]),
        }
        .into())
    }
}

fn arguments<T: serde::de::DeserializeOwned>(arguments: Value) -> Result<T, ApiError> {
    serde_path_to_error::deserialize(arguments)
        .map_err(|e| ApiError::bad_request(format!("arguments: {e}")))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Submit {
    fastx: String,
    databases: Vec<Chosen>,
    #[serde(default)]
    email: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Wait {
    session: String,
    #[serde(default = "default_wait")]
    timeout_seconds: u64,
}

fn default_wait() -> u64 {
    60
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Results {
    session: String,
    #[serde(default = "default_top")]
    top: usize,
    #[serde(default)]
    query: Option<String>,
    #[serde(default)]
    database: Option<String>,
}

fn default_top() -> usize {
    10
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Coverage {
    session: String,
    query: String,
    database: String,
    index: String,
    id: String,
}

impl Kmviz {
    async fn list_databases(&self) -> Result<Value, ApiError> {
        let described: Vec<DatabaseInfo> = super::info::describe_all(&self.state).await;
        Ok(json!({ "databases": described }))
    }

    async fn submit(&self, extensions: &Extensions, given: Value) -> Result<Value, ApiError> {
        let given: Submit = arguments(given)?;
        let state = &self.state;
        let chosen = super::query::chosen(given.databases);
        let fastx = given.fastx.as_bytes();
        let submitted = super::query::submit_checked(
            state,
            extensions,
            fastx,
            &state.settings.input,
            chosen,
            given.email,
        )
        .await?;
        Ok(serde_json::to_value(submitted).expect("serialisable"))
    }

    async fn wait(&self, extensions: &Extensions, given: Value) -> Result<Value, ApiError> {
        let given: Wait = arguments(given)?;
        let id = &given.session;
        super::sessions::readable(&self.state, &Caller::of(extensions), id).await?;
        let deadline = Duration::from_secs(given.timeout_seconds.min(MOST_WAIT));
        let ended = tokio::time::timeout(deadline, self.state.jobs.finished(id)).await;
        let session = match ended {
            Ok(ended) => ended?.ok_or_else(|| super::sessions::unknown(id))?,
            Err(_) => self
                .state
                .jobs
                .get(id)
                .await?
                .ok_or_else(|| super::sessions::unknown(id))?,
        };
        Ok(json!({
            "session": session.id,
            "status": session.status,
            "progress": session.progress(),
        }))
    }

    async fn results(&self, extensions: &Extensions, given: Value) -> Result<Value, ApiError> {
        let given: Results = arguments(given)?;
        let session =
            super::sessions::readable(&self.state, &Caller::of(extensions), &given.session).await?;
        let top = given.top.clamp(1, 1000);
        let pairs: Vec<Value> = session
            .pairs
            .iter()
            .filter(|p| given.query.as_ref().is_none_or(|q| *q == p.query))
            .filter(|p| given.database.as_ref().is_none_or(|d| *d == p.database))
            .map(|pair| {
                let mut answer = json!({
                    "query": pair.query,
                    "database": pair.database,
                    "state": pair.state,
                });
                if let Some(error) = &pair.error {
                    answer["error"] = json!(error);
                }
                if let Some(result) = &pair.result {
                    answer["samples"] = json!(result.hits.len() + result.not_shown);
                    answer["top"] = json!(top_hits(result, top));
                }
                answer
            })
            .collect();
        Ok(json!({
            "session": session.id,
            "status": session.status,
            "pairs": pairs,
        }))
    }

    async fn coverage(&self, extensions: &Extensions, given: Value) -> Result<Value, ApiError> {
        let given: Coverage = arguments(given)?;
        let session: Arc<Session> =
            super::sessions::readable(&self.state, &Caller::of(extensions), &given.session).await?;
        let key = HitKey {
            query: given.query,
            database: given.database,
            index: given.index,
            id: given.id,
        };
        let (result, hit) = find_hit(&session, &key)?;
        let answer = result.indexes.iter().find(|i| i.name == hit.index);
        let per_base = answer.and_then(|index| {
            app::model::results::per_base(
                &hit.kmers.values(),
                index.kmer_size,
                result.query_length,
                index.abundance,
            )
        });
        Ok(json!({
            "ID": hit.id,
            "index": hit.index,
            "coverage": hit.coverage,
            "kmer_size": answer.map(|i| i.kmer_size),
            "abundance": answer.map(|i| i.abundance),
            "kmers": hit.kmers,
            // `[value, count]` runs, as the k-mers'.
            "bases": per_base.map(|bases| {
                runs(&bases)
                    .into_iter()
                    .map(|(start, end, value)| (value, end - start))
                    .collect::<Vec<_>>()
            }),
        }))
    }
}

/// The `top` hits of `result` by CovXK (then ID), with their metadata by column name.
fn top_hits(result: &PairResult, top: usize) -> Vec<Value> {
    let mut hits: Vec<&Hit> = result.hits.iter().collect();
    hits.sort_by(|a, b| {
        b.coverage
            .cov_xk
            .total_cmp(&a.coverage.cov_xk)
            .then_with(|| a.id.cmp(&b.id))
    });
    hits.into_iter()
        .take(top)
        .map(|hit| {
            let metadata: serde_json::Map<String, Value> = result
                .columns
                .iter()
                .zip(&hit.metadata)
                .map(|(column, value)| (column.name.clone(), json!(value)))
                .collect();
            json!({
                "ID": hit.id,
                "index": hit.index,
                "coverage": hit.coverage,
                "metadata": metadata,
            })
        })
        .collect()
}
