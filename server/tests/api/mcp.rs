//! Agent access: a real MCP client (PyPI's `mcp`, in the venv `cargo xtask test` makes, named
//! by `KMVIZ_MCP_PYTHON`) searches through `/mcp` with an API token, end to end; what it is
//! answered is checked against the JSON API's answers for the same session.

use std::path::PathBuf;
use std::process::Command;

use serde_json::Value;

use crate::common::{self, Server, records};
use crate::support::*;

/// The Python that has the `mcp` package.
fn python() -> PathBuf {
    let python = std::env::var_os("KMVIZ_MCP_PYTHON").map_or_else(
        || PathBuf::from(std::env::var("HOME").unwrap()).join(".cache/kmviz-tools/mcp/bin/python"),
        PathBuf::from,
    );
    assert!(
        python.exists(),
        "no Python with PyPI's mcp at {}: `cargo xtask test` makes it (or give KMVIZ_MCP_PYTHON)",
        python.display()
    );
    python
}

/// GET `path` as `alice`: the JSON body.
async fn as_alice(server: &Server, path: &str) -> Value {
    let response = client()
        .get(server.url(path))
        .basic_auth("alice", Some("a"))
        .send()
        .await
        .unwrap();
    let (status, body) = common::openapi::read("GET", response).await;
    assert_eq!(status, 200, "{body}");
    body
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_agent_searches_through_mcp() {
    let config = write_instance("mcp", "\n[auth]\nalice = \"a\"\n");
    let (token, token_id) = new_token(&config, "agent");
    let server = Server::start(&config);
    let query = &records("pa_dataset", 1)[0];
    let fasta = config.with_file_name("query.fa");
    std::fs::write(&fasta, format!(">{}\n{}\n", query.name, query.seq)).unwrap();

    let out = Command::new(python())
        .arg(std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../e2e/mcp_client.py"))
        .args([&server.url("/mcp"), &token, "tsv", fasta.to_str().unwrap()])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "the MCP client failed: {stderr}");
    let seen: Value = serde_json::from_slice(&out.stdout).unwrap();

    assert_eq!(seen["server"], "kmviz");
    assert_eq!(
        seen["tools"],
        serde_json::json!([
            "hit_coverage",
            "list_databases",
            "read_results",
            "submit_queries",
            "wait_for_session"
        ])
    );
    let info = as_alice(&server, "/api/info").await;
    assert_eq!(seen["databases"]["databases"], info["databases"]);

    // The session it made is the token's, done, and reads as the API reads it.
    let id = seen["submitted"]["session"].as_str().unwrap();
    assert_eq!(seen["waited"]["status"], "done");
    assert_eq!(seen["waited"]["progress"]["finished"], 1);
    let session = as_alice(&server, &format!("/api/sessions/{id}")).await;
    assert_eq!(session["owner"], format!("token:{token_id}"));
    let hits = pair(&session, &query.name, "tsv")["result"]["hits"]
        .as_array()
        .unwrap()
        .clone();
    let mut by_coverage: Vec<(f64, &str)> = hits
        .iter()
        .map(|h| (h["CovXK"].as_f64().unwrap(), h["ID"].as_str().unwrap()))
        .collect();
    by_coverage.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(b.1)));
    let read = &seen["results"]["pairs"][0];
    assert_eq!(read["samples"], hits.len());
    let top: Vec<&str> = read["top"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["ID"].as_str().unwrap())
        .collect();
    let expected: Vec<&str> = by_coverage.iter().take(3).map(|(_, id)| *id).collect();
    assert_eq!(top, expected);
    let best = &read["top"][0];
    let row = hits.iter().find(|h| h["ID"] == best["ID"]).unwrap();
    assert_eq!(best["coverage"]["CovXK"], row["CovXK"]);
    let columns = pair(&session, &query.name, "tsv")["result"]["columns"]
        .as_array()
        .unwrap()
        .clone();
    for (column, value) in columns.iter().zip(row["metadata"].as_array().unwrap()) {
        assert_eq!(
            &best["metadata"][column["name"].as_str().unwrap()],
            value,
            "{best}"
        );
    }

    // The coverage is the hit's own values; per base, one value for each letter.
    let hit = as_alice(
        &server,
        &format!(
            "/api/sessions/{id}/hit?query={}&database=tsv&index={}&id={}",
            query.name,
            best["index"].as_str().unwrap(),
            best["ID"].as_str().unwrap()
        ),
    )
    .await;
    let coverage = &seen["coverage"];
    assert_eq!(coverage["kmers"], hit["kmers"]);
    assert_eq!(coverage["kmer_size"], 25);
    let bases: u64 = coverage["bases"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r[1].as_u64().unwrap())
        .sum();
    assert_eq!(bases as usize, query.seq.len());

    // A failing call answers why, as the API would.
    assert_eq!(
        seen["refused"]["error"],
        "unknown database 'nope'; known: mariadb, parquet, sqlite, tsv"
    );
    // And without credentials, no way in.
    let refused = client()
        .post(server.url("/mcp"))
        .header("accept", "application/json, text/event-stream")
        .json(&serde_json::json!({"jsonrpc": "2.0", "id": 1, "method": "tools/list"}))
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), 401);
}
