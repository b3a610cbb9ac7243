//! What operators rely on: health and readiness, Prometheus metrics, JSON logs with request
//! ids, and a stop (SIGTERM) that lets running sessions finish. Against a real `kmviz serve`.

mod common;

use std::time::Duration;

use common::{Server, fixture_config, get_json, records};
use serde_json::{Value, json};

fn client() -> reqwest::Client {
    reqwest::Client::new()
}

/// Submits the first fixture query to `databases`; the session's id.
async fn submit(server: &Server, databases: Value) -> String {
    let response = client()
        .post(server.url("/api/query"))
        .json(&json!({"fastx": first_query(), "databases": databases}))
        .send()
        .await
        .unwrap();
    let (status, body) = common::openapi::read("POST", response).await;
    assert_eq!(status, 202);
    body["session"].as_str().unwrap().to_owned()
}

async fn metrics_text(server: &Server) -> String {
    let response = client().get(server.url("/metrics")).send().await.unwrap();
    assert_eq!(response.status(), 200);
    assert!(
        response.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/plain; version=0.0.4")
    );
    response.text().await.unwrap()
}

fn first_query() -> String {
    let record = &records("pa_dataset", 1)[0];
    format!(">{}\n{}\n", record.name, record.seq)
}

/// The server's first JSON log line containing `text`, parsed.
fn json_log_line(server: &Server, text: &str) -> Value {
    let line = server
        .log_line(text)
        .unwrap_or_else(|| panic!("no log line with {text}"));
    serde_json::from_str(&line).expect("a JSON log line")
}

/// The value of the metric line starting with `name{labels}` (or `name ` when no labels).
fn metric(text: &str, prefix: &str) -> Option<f64> {
    text.lines()
        .find(|l| l.starts_with(prefix))
        .and_then(|l| l.rsplit(' ').next())
        .and_then(|v| v.parse().ok())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn health_readiness_and_metrics() {
    let dir = common::scratch("ops-metrics");
    // A second database whose kmindex-server does not answer: the instance starts, but is
    // not ready, and says which database is not.
    let gone = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let gone_port = gone.local_addr().unwrap().port();
    drop(gone);
    let extra = format!(
        "[databases.remote]\ntype = \"kmindex-server\"\nparams = {{ url = \"127.0.0.1\", port = {gone_port} }}\n\
         metadata = {{ type = \"tsv\", params = {{ path = \"{}\", idx = \"Sample\" }} }}\n",
        dir.join("meta.tsv").display()
    );
    let server = Server::process(&fixture_config(&dir, &extra));

    assert_eq!(
        get_json(&server.url("/healthz")).await,
        (200, json!({"ok": true}))
    );
    let (status, ready) = get_json(&server.url("/readyz")).await;
    assert_eq!(status, 503, "{ready}");
    assert_eq!(ready["ready"], false);
    assert_eq!(ready["store"]["ok"], true);
    assert_eq!(ready["databases"]["fixture"]["ok"], true);
    assert_eq!(ready["databases"]["remote"]["ok"], false);
    assert!(
        ready["databases"]["remote"]["error"]
            .as_str()
            .unwrap()
            .starts_with("provider: "),
        "{ready}"
    );

    let id = submit(&server, json!(["fixture"])).await;
    server.finished(&id).await;
    let text = metrics_text(&server).await;
    // Labelled by route template, not by path.
    let requests = "kmviz_http_requests_total{route=\"/api/query\",method=\"POST\",status=\"202\"}";
    assert_eq!(metric(&text, requests), Some(1.0), "{text}");
    assert!(text.contains(
        "kmviz_http_requests_total{route=\"/api/sessions/{id}\",method=\"GET\",status=\"200\"}"
    ));
    assert!(text.contains(
        "kmviz_http_request_seconds_bucket{route=\"/api/query\",method=\"POST\",le=\"0.005\"}"
    ));
    assert_eq!(
        metric(&text, "kmviz_pairs_total{state=\"done\"}"),
        Some(1.0),
        "{text}"
    );
    assert_eq!(
        metric(&text, "kmviz_sessions_total{status=\"done\"}"),
        Some(1.0)
    );
    assert_eq!(metric(&text, "kmviz_sessions_running "), Some(0.0));
    assert_eq!(
        metric(
            &text,
            "kmviz_database_query_seconds_count{database=\"fixture\"}"
        ),
        Some(1.0)
    );
    // Both sub-indexes were looked up: at least one s-mer per k-mer of the query each.
    let letters = first_query().lines().nth(1).unwrap().len() as f64;
    assert!(metric(&text, "kmviz_smer_lookups_total ").unwrap() >= 2.0 * (letters - 24.0));
    assert!(metric(&text, "kmviz_session_store_bytes ").unwrap() > 4096.0);
    // A query on the missing server fails and is counted.
    let id = submit(&server, json!(["remote"])).await;
    server.finished(&id).await;
    let text = metrics_text(&server).await;
    assert_eq!(
        metric(&text, "kmviz_database_failures_total{database=\"remote\"}"),
        Some(1.0),
        "{text}"
    );
    assert_eq!(
        metric(&text, "kmviz_pairs_total{state=\"failed\"}"),
        Some(1.0)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_can_be_off_and_are_behind_authentication() {
    let dir = common::scratch("ops-off");
    let server = Server::process(&fixture_config(&dir, "[server]\nmetrics = false\n"));
    let (status, body) = get_json(&server.url("/metrics")).await;
    assert_eq!(status, 404);
    assert!(
        body["error"].as_str().unwrap().contains("metrics = false"),
        "{body}"
    );

    let dir = common::scratch("ops-auth");
    let server = Server::process(&fixture_config(&dir, "[auth]\nalice = \"secret\"\n"));
    // Probes have no password: health is open, the rest is not.
    assert_eq!(get_json(&server.url("/healthz")).await.0, 200);
    for path in ["/readyz", "/metrics"] {
        let response = client().get(server.url(path)).send().await.unwrap();
        assert_eq!(response.status(), 401, "{path}");
        let response = client()
            .get(server.url(path))
            .basic_auth("alice", Some("secret"))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200, "{path}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn json_logs_carry_the_request_id() {
    let dir = common::scratch("ops-logs");
    let server = Server::start_with(&fixture_config(&dir, ""), &["--log-format", "json"]);
    // A proxy's id is kept and echoed.
    let response = client()
        .post(server.url("/api/query"))
        .header("x-request-id", "proxy-42")
        .json(&json!({"fastx": first_query(), "databases": ["fixture"]}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.headers()["x-request-id"], "proxy-42");
    let id = common::openapi::read("POST", response).await.1["session"]
        .as_str()
        .unwrap()
        .to_owned();
    let line = json_log_line(&server, &format!("session {id}: 1 queries"));
    assert_eq!(line["level"], "INFO");
    assert_eq!(line["span"]["request_id"], "proxy-42", "{line}");
    // Otherwise a new one; a header that is no short token is not taken.
    for given in [None, Some("not a token\u{7f}")] {
        let mut request = client().get(server.url("/api/info"));
        if let Some(given) = given {
            request = request.header("x-request-id", given.replace('\u{7f}', "!"));
        }
        let response = request.send().await.unwrap();
        let id = response.headers()["x-request-id"].to_str().unwrap();
        assert_eq!(id.len(), 16, "{id}");
        assert!(id.bytes().all(|b| b.is_ascii_hexdigit()));
    }
    // A failed pair's warning names the request that submitted it, from the job's task.
    let response = client()
        .post(server.url("/api/query"))
        .header("x-request-id", "too-short")
        .json(&json!({"fastx": ">short\nACGTACGT\n", "databases": ["fixture"]}))
        .send()
        .await
        .unwrap();
    let id = common::openapi::read("POST", response).await.1["session"]
        .as_str()
        .unwrap()
        .to_owned();
    let warning = json_log_line(&server, &format!("session {id}: query 'short'"));
    assert_eq!(warning["level"], "WARN");
    assert_eq!(warning["span"]["request_id"], "too-short", "{warning}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_lets_running_sessions_finish_within_the_grace_period() {
    let dir = common::scratch("ops-stop");
    let quick = common::SlowKmindex::start(Duration::from_millis(1500))
        .await
        .port;
    let slow = common::SlowKmindex::start(Duration::from_secs(60))
        .await
        .port;
    let mut extra = String::from("[server]\nshutdown_grace = 4\n");
    for (name, port) in [("quick", quick), ("slow", slow)] {
        extra.push_str(&format!(
            "[databases.{name}]\ntype = \"kmindex-server\"\nparams = {{ url = \"127.0.0.1\", port = {port} }}\n\
             metadata = {{ type = \"tsv\", params = {{ path = \"{}\", idx = \"Sample\" }} }}\n",
            dir.join("meta.tsv").display()
        ));
    }
    let config = fixture_config(&dir, &extra);
    let mut server = Server::process(&config);
    // Done before the stop: kept as it is.
    let before = submit(&server, json!(["fixture"])).await;
    server.finished(&before).await;
    // Running at the stop: `quick` ends within the grace period, `slow` does not.
    let running = submit(&server, json!(["quick", "slow"])).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let (exited, after) = server.terminate();
    assert!(exited, "the server exits cleanly");
    assert!(
        after >= Duration::from_secs(4) && after < Duration::from_secs(12),
        "stopped after {after:?}: the grace period is 4 s"
    );
    assert!(server.logs("sessions interrupted by the stop"));

    let server = Server::process(&config);
    let (_, kept) = get_json(&server.url(&format!("/api/sessions/{before}"))).await;
    assert_eq!(kept["status"], "done");
    let (_, stopped) = get_json(&server.url(&format!("/api/sessions/{running}"))).await;
    assert_eq!(stopped["status"], "interrupted", "{stopped}");
    let pair = |database: &str| {
        stopped["pairs"]
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p["database"] == database)
            .unwrap()
            .clone()
    };
    assert_eq!(pair("quick")["state"], "done", "{stopped}");
    assert!(
        !pair("quick")["result"]["hits"]
            .as_array()
            .unwrap()
            .is_empty()
    );
    assert_eq!(pair("slow")["state"], "failed");
    assert_eq!(pair("slow")["error"], kmviz::jobs::INTERRUPTED);
}
