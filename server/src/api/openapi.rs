//! `GET /api/openapi.json`: the OpenAPI 3.1 description of kmviz's JSON API.

use axum::routing::get;
use axum::{Json, Router};
use serde_json::{Value, json};

use super::AppState;

pub fn router() -> Router<AppState> {
    Router::new().route("/api/openapi.json", get(|| async { Json(document()) }))
}

fn error(description: &str) -> Value {
    json!({
        "description": description,
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}
    })
}

fn session_id() -> Value {
    json!({"name": "id", "in": "path", "required": true, "schema": {"type": "string"}})
}

/// The document: every route of [`super::router`] (a test checks they agree).
pub fn document() -> Value {
    json!({
        "openapi": "3.1.0",
        "info": {
            "title": "kmviz",
            "version": env!("CARGO_PKG_VERSION"),
            "description": "Query sequence indexes, join the samples found with their metadata, keep the results as sessions."
        },
        "paths": {
            "/healthz": {"get": {
                "summary": "The process answers (open without credentials, for probes)",
                "responses": {"200": {"description": "`{\"ok\": true}`", "content": {"application/json": {"schema": {"type": "object"}}}}}
            }},
            "/readyz": {"get": {
                "summary": "Every database answers (its sub-indexes, one metadata row) and the session store takes writes",
                "responses": {
                    "200": {"description": "`ready`, `store` and `databases` (name → `ok`, `error`)", "content": {"application/json": {"schema": {"type": "object"}}}},
                    "503": {"description": "not ready: the same body says what is not", "content": {"application/json": {"schema": {"type": "object"}}}}
                }
            }},
            "/metrics": {"get": {
                "summary": "Prometheus metrics (text format 0.0.4): requests, sessions, pairs, databases, plugins, lookups, store size",
                "responses": {
                    "200": {"description": "the metrics", "content": {"text/plain": {}}},
                    "404": error("metrics are off in the configuration")
                }
            }},
            "/api/info": {"get": {
                "summary": "Databases (provider kind, sub-indexes with k-mer size and sample count, metadata columns and geodata, option schemas, presets), input limits, app settings, plugin tabs and branding (home page, help, stylesheets)",
                "responses": {"200": {"description": "the instance", "content": {"application/json": {"schema": {"type": "object"}}}}}
            }},
            "/api/databases/{db}/metadata": {"get": {
                "summary": "A page of a database's metadata table (ID first)",
                "parameters": [
                    {"name": "db", "in": "path", "required": true, "schema": {"type": "string"}},
                    {"name": "offset", "in": "query", "schema": {"type": "integer", "minimum": 0, "default": 0}},
                    {"name": "limit", "in": "query", "schema": {"type": "integer", "minimum": 0, "maximum": super::databases::MAX_PAGE, "default": 100}}
                ],
                "responses": {
                    "200": {"description": "offset, limit, total, columns, rows", "content": {"application/json": {"schema": {"type": "object"}}}},
                    "400": error("bad paging"),
                    "404": error("unknown database")
                }
            }},
            "/api/query": {"post": {
                "summary": "Submit queries to databases; the job runs in the background",
                "requestBody": {"required": true, "content": {
                    "application/json": {"schema": {"$ref": "#/components/schemas/QueryRequest"}},
                    "multipart/form-data": {"schema": {
                        "type": "object",
                        "description": "kmviz 0.8's form: `database` (repeated), `<database>#<option>` fields, and the `fastx` file",
                        "properties": {"database": {"type": "array", "items": {"type": "string"}}, "fastx": {"type": "string", "format": "binary"}},
                        "required": ["database", "fastx"]
                    }}
                }},
                "responses": {
                    "202": {"description": "the session, running", "content": {"application/json": {"schema": {
                        "type": "object",
                        "properties": {"session": {"type": "string"}, "status": {"type": "string"}}
                    }}}},
                    "400": error("bad queries (the input limit broken), unknown option, bad option value"),
                    "404": error("unknown database"),
                    "413": error("body too large")
                }
            }},
            "/api/query/{db}": {"post": {
                "summary": "kmviz 0.8's query-and-download: runs the queries on one database and answers the ZIP",
                "parameters": [{"name": "db", "in": "path", "required": true, "schema": {"type": "string"}}],
                "requestBody": {"required": true, "content": {"multipart/form-data": {"schema": {
                    "type": "object",
                    "description": "option fields by bare name, and the `fastx` file",
                    "properties": {"fastx": {"type": "string", "format": "binary"}},
                    "required": ["fastx"]
                }}}},
                "responses": {
                    "200": {"description": "the ZIP: one TSV per query and README.md (the session is kept: its download adds session.json)", "content": {"application/zip": {}}},
                    "400": error("bad request"),
                    "404": error("unknown database"),
                    "413": error("body too large")
                }
            }},
            "/api/sessions/{id}": {
                "get": {
                    "summary": "A session: status, pairs with their state and results (hits without their per-k-mer values unless `vectors=true`)",
                    "parameters": [session_id(), {"name": "vectors", "in": "query", "schema": {"type": "boolean", "default": false}, "description": "add each hit's `kmers`: `[value, count]` runs of its per-k-mer values"}],
                    "responses": {
                        "200": {"description": "the session", "content": {
                            "application/json": {"schema": {"$ref": "#/components/schemas/Session"}},
                            "application/vnd.apache.arrow.stream": {"schema": {"description": "one row per hit: query, database, ID, index, CovXK, CovXB, CovYK, CovYB, has_metadata, the metadata columns, then kmers and bases"}}
                        }},
                        "404": error("unknown session")
                    }
                },
                "delete": {
                    "summary": "Cancel the session's job (pairs not finished become cancelled)",
                    "parameters": [session_id()],
                    "responses": {
                        "200": {"description": "the session as it ended", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Session"}}}},
                        "404": error("unknown session")
                    }
                }
            },
            "/api/sessions/{id}/hit": {"get": {
                "summary": "One hit of a session with its per-k-mer values (`kmers`, `[value, count]` runs)",
                "parameters": [
                    session_id(),
                    {"name": "query", "in": "query", "required": true, "schema": {"type": "string"}},
                    {"name": "database", "in": "query", "required": true, "schema": {"type": "string"}},
                    {"name": "index", "in": "query", "required": true, "schema": {"type": "string"}},
                    {"name": "id", "in": "query", "required": true, "schema": {"type": "string"}}
                ],
                "responses": {
                    "200": {"description": "the hit", "content": {"application/json": {"schema": {"type": "object"}}}},
                    "404": error("unknown session, or no such hit")
                }
            }},
            "/api/sessions/{id}/events": {"get": {
                "summary": "Progress as server-sent events: `progress` while running, then one `end`; each carries the status, counts and the pairs changed since the previous event (all in the first), by `position`",
                "parameters": [session_id()],
                "responses": {
                    "200": {"description": "event stream; data: {status, progress: {total, finished, failed}, pairs: [{query, database, state, error, hits}]}", "content": {"text/event-stream": {}}},
                    "404": error("unknown session")
                }
            }},
            "/api/sessions/{id}/download": {"get": {
                "summary": "ZIP: one TSV per (query, database), session.json, README.md",
                "parameters": [session_id()],
                "responses": {
                    "200": {"description": "the ZIP", "content": {"application/zip": {}}},
                    "404": error("unknown session")
                }
            }},
            "/api/sessions/{id}/tabs/{plugin}": {"get": {
                "summary": "A plugin tab's content for one (query, database) of the session",
                "parameters": [
                    session_id(),
                    {"name": "plugin", "in": "path", "required": true, "schema": {"type": "string"}, "description": "a tab plugin listed in /api/info `tabs`"},
                    {"name": "query", "in": "query", "required": true, "schema": {"type": "string"}},
                    {"name": "database", "in": "query", "required": true, "schema": {"type": "string"}}
                ],
                "responses": {
                    "200": {"description": "{html: sanitised HTML} or {text} or {error: why the plugin could not render it}", "content": {"application/json": {}}},
                    "404": error("unknown session, pair or tab plugin")
                }
            }},
            "/plugins/{plugin}/{path}": {"get": {
                "summary": "An instance plugin's asset (stylesheets and images of its pages)",
                "parameters": [
                    {"name": "plugin", "in": "path", "required": true, "schema": {"type": "string"}},
                    {"name": "path", "in": "path", "required": true, "schema": {"type": "string"}}
                ],
                "responses": {
                    "200": {"description": "the file, with its MIME type"},
                    "404": error("no such asset")
                }
            }},
            "/api/openapi.json": {"get": {
                "summary": "This document",
                "responses": {"200": {"description": "OpenAPI 3.1", "content": {"application/json": {}}}}
            }}
        },
        "components": {"schemas": {
            "Error": {"type": "object", "properties": {"error": {"type": "string"}}, "required": ["error"]},
            "QueryRequest": {
                "type": "object",
                "properties": {
                    "fastx": {"type": "string", "description": "FASTA/FASTQ text or a bare sequence"},
                    "databases": {"type": "array", "items": {"oneOf": [
                        {"type": "string"},
                        {"type": "object", "properties": {"name": {"type": "string"}, "options": {"type": "object"}}, "required": ["name"]}
                    ]}}
                },
                "required": ["fastx", "databases"]
            },
            "Session": {
                "type": "object",
                "properties": {
                    "id": {"type": "string"},
                    "created": {"type": "integer"},
                    "status": {"enum": ["running", "done", "cancelled", "interrupted"]},
                    "queries": {"type": "array"},
                    "databases": {"type": "array"},
                    "pairs": {"type": "array", "items": {
                        "type": "object",
                        "properties": {
                            "query": {"type": "string"},
                            "database": {"type": "string"},
                            "state": {"enum": ["pending", "done", "failed", "cancelled"]},
                            "error": {"type": "string"},
                            "result": {"type": "object", "description": "query_length, indexes, columns, geodata, hits (index, ID, has_metadata, CovXK, CovXB, CovYK, CovYB, bases, kmers, metadata), not_shown"}
                        }
                    }}
                }
            }
        }}
    })
}
