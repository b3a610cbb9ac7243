//! Sessions: cancelled and kept across a restart, downloaded as ZIPs, submitted with kmviz
//! 0.8's form, streamed as Arrow, followed as events.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::Duration;

use arrow_array::StringArray;
use arrow_schema::DataType;
use axum::http::StatusCode;
use axum::http::header::CONTENT_TYPE;
use axum::response::IntoResponse;
use serde_json::{Value, json};
use tokio::sync::Semaphore;

use crate::common::{self, Server, contract, get_json, records};
use crate::support::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cancel_then_restart_keeps_sessions_and_marks_interrupted_jobs() {
    let port = silent_server();
    let extra = remote_database("silent", port) + "\n[engine]\ntimeout = 600\n";
    // A process: it is killed while a job runs.
    let config = write_instance("cancel", &extra);
    let server = Server::process(&config);
    let (text, _) = fasta(2, 0);
    let body = json!({"fastx": text, "databases": ["tsv", "silent"]});
    let (_, submitted) = submit(&server, body.clone()).await;
    let id = submitted["session"].as_str().unwrap().to_owned();
    // Wait for the local pairs; the silent server's never end.
    for _ in 0..100 {
        let (_, s) = get_json(&server.url(&format!("/api/sessions/{id}"))).await;
        if s["pairs"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|p| p["state"] == "done")
            .count()
            == 2
        {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let response = client()
        .post(server.url(&format!("/api/sessions/{id}/cancel")))
        .send()
        .await
        .unwrap();
    let (_, cancelled) = common::openapi::read("POST", response).await;
    assert_eq!(cancelled["status"], "cancelled");
    assert_eq!(pair(&cancelled, "a0", "tsv")["state"], "done");
    assert_eq!(pair(&cancelled, "a0", "silent")["state"], "cancelled");
    assert_eq!(pair(&cancelled, "a1", "silent")["state"], "cancelled");
    // Cancelling again changes nothing.
    let response = client()
        .post(server.url(&format!("/api/sessions/{id}/cancel")))
        .send()
        .await
        .unwrap();
    let (_, again) = common::openapi::read("POST", response).await;
    assert_eq!(again, cancelled);

    // A second job left running when the server stops.
    let (_, running) = submit(&server, body).await;
    let running_id = running["session"].as_str().unwrap().to_owned();
    tokio::time::sleep(Duration::from_millis(500)).await;
    drop(server);

    let server = Server::process(&config);
    let (status, reloaded) = get_json(&server.url(&format!("/api/sessions/{id}"))).await;
    assert_eq!(status, 200);
    assert_eq!(reloaded, cancelled, "the session survives the restart");
    let (_, interrupted) = get_json(&server.url(&format!("/api/sessions/{running_id}"))).await;
    assert_eq!(interrupted["status"], "interrupted");
    let stopped = pair(&interrupted, "a0", "silent");
    assert_eq!(stopped["state"], "failed");
    assert!(
        stopped["error"]
            .as_str()
            .unwrap()
            .contains("server stopped")
    );
}

/// A kmindex-server that describes the fixture index but answers each query only when the test
/// releases it (a permit of the returned gate), with an error.
async fn gated_kmindex_server() -> (u16, Arc<Semaphore>) {
    let real = common::spawn_kmindex_server().await;
    let gate = Arc::new(Semaphore::new(0));
    let answer = {
        let gate = gate.clone();
        move |request: axum::extract::Request| {
            let gate = gate.clone();
            async move {
                let path = request.uri().path().to_owned();
                if path.starts_with("/kmindex/infos") {
                    let infos = reqwest::get(format!("http://{real}{path}")).await.unwrap();
                    let body = infos.text().await.unwrap();
                    return ([(CONTENT_TYPE, "application/json")], body).into_response();
                }
                gate.acquire().await.unwrap().forget();
                (StatusCode::INTERNAL_SERVER_ERROR, "released").into_response()
            }
        }
    };
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let router = axum::Router::new().fallback(answer);
    tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
    (port, gate)
}

/// Reads `events` until `wanted` is in what came (kept in `seen`); false after 10 s without.
async fn read_until(events: &mut reqwest::Response, seen: &mut String, wanted: &str) -> bool {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while !seen.contains(wanted) {
        match tokio::time::timeout_at(deadline, events.chunk()).await {
            Ok(Ok(Some(chunk))) => seen.push_str(&String::from_utf8_lossy(&chunk)),
            _ => return false,
        }
    }
    true
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn events_say_each_change_as_it_happens() {
    let (port, gate) = gated_kmindex_server().await;
    let extra = remote_database("gated", port) + "\n[engine]\ntimeout = 600\n";
    let (server, _dir) = instance("events", &extra);
    let (text, _) = fasta(2, 0);
    let body = json!({"fastx": text, "databases": ["gated"]});
    let (_, submitted) = submit(&server, body).await;
    let id = submitted["session"].as_str().unwrap();
    let url = server.url(&format!("/api/sessions/{id}/events"));
    let mut events = client().get(url).send().await.unwrap();
    let mut seen = String::new();
    assert!(
        read_until(&mut events, &mut seen, "\"finished\":0").await,
        "{seen}"
    );
    // One query answered: its failure is said then, not when something else changes.
    gate.add_permits(1);
    let said = read_until(&mut events, &mut seen, "\"failed\":1").await;
    assert!(said, "no event for the failed pair: {seen}");
    assert!(!seen.contains("event: end"));
    gate.add_permits(1);
    assert!(
        read_until(&mut events, &mut seen, "event: end").await,
        "{seen}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pairs_are_read_by_position() {
    let (server, _dir) = instance("pairs", "");
    let (text, _) = fasta(3, 0);
    let body = json!({"fastx": text, "databases": ["tsv", "sqlite"]});
    let (_, submitted) = submit(&server, body).await;
    let id = submitted["session"].as_str().unwrap();
    let session = server.finished(id).await;
    let url =
        |positions: &str| server.url(&format!("/api/sessions/{id}/pairs?positions={positions}"));
    // In the order asked, as the session has them (hits without their per-k-mer values).
    let (status, pairs) = get_json(&url("4,0-1")).await;
    assert_eq!(status, 200, "{pairs}");
    let expected: Vec<Value> = [4, 0, 1]
        .map(|p| json!({"position": p, "pair": session["pairs"][p]}))
        .to_vec();
    assert_eq!(pairs, Value::Array(expected));
    contract::<Vec<app::api::PositionedPair>>(&pairs);
    for (positions, error) in [
        (
            "x",
            "positions: 'x' is neither a position nor a run like 3-7".to_owned(),
        ),
        (
            "2-6",
            format!("positions: session '{id}' has 6 pairs, numbered from 0; there is no 6"),
        ),
    ] {
        let (status, body) = get_json(&url(positions)).await;
        assert_eq!(status, 400);
        assert_eq!(body["error"], error);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stalled_database_leaves_slots_to_the_others() {
    // Two slots: the silent server's pairs, first of each query, may hold one, never both.
    let extra =
        remote_database("silent", silent_server()) + "\n[engine]\ntimeout = 600\nconcurrency = 2\n";
    let (server, _dir) = instance("fair", &extra);
    let (text, _) = fasta(4, 0);
    let body = json!({"fastx": text, "databases": ["silent", "tsv"]});
    let (_, submitted) = submit(&server, body).await;
    let id = submitted["session"].as_str().unwrap().to_owned();
    let states = |session: &Value, database: &str| -> Vec<String> {
        session["pairs"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|p| p["database"] == database)
            .map(|p| p["state"].as_str().unwrap().to_owned())
            .collect()
    };
    let mut session = Value::Null;
    for _ in 0..300 {
        (_, session) = get_json(&server.url(&format!("/api/sessions/{id}"))).await;
        if states(&session, "tsv").iter().all(|s| s == "done") {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(states(&session, "tsv"), ["done"; 4], "{session}");
    assert_eq!(states(&session, "silent"), ["pending"; 4]);
    let response = client()
        .post(server.url(&format!("/api/sessions/{id}/cancel")))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn downloads_hold_one_tsv_per_pair_with_distinct_names() {
    let (server, _dir) = instance("zip", "");
    let seq = &records("pa_dataset", 1)[0].seq;
    // Two names that make the same file name once cleaned.
    let text = format!(">q/1\n{seq}\n>q_1\n{seq}\n");
    let (_, submitted) = submit(
        &server,
        json!({"fastx": text, "databases": ["tsv", {"name": "sqlite", "options": {"z": 3}}]}),
    )
    .await;
    let id = submitted["session"].as_str().unwrap();
    let session = server.finished(id).await;
    let response = client()
        .get(server.url(&format!("/api/sessions/{id}/download")))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["content-type"], "application/zip");
    let files = unzip(&response.bytes().await.unwrap());
    let names: BTreeSet<&str> = files.keys().map(String::as_str).collect();
    assert_eq!(
        names,
        BTreeSet::from([
            "README.md",
            "q_1__sqlite-2.tsv",
            "q_1__sqlite.tsv",
            "q_1__tsv-2.tsv",
            "q_1__tsv.tsv",
            "session.json",
        ])
    );
    // The README states the options each database ran with (defaults included).
    let stated = |database: &str| {
        let line = format!("- `{database}`: ");
        files["README.md"]
            .lines()
            .find_map(|l| l.strip_prefix(line.as_str()))
            .unwrap_or_else(|| panic!("no options for {database}: {}", files["README.md"]))
            .to_owned()
    };
    assert!(stated("sqlite").split(", ").any(|o| o == "z = 3"));
    let defaults = stated("tsv");
    assert!(
        defaults.contains("z = ") && !defaults.contains("z = 3"),
        "{defaults}"
    );
    // The file holds everything, the per-k-mer values included.
    let stored: Value = serde_json::from_str(&files["session.json"]).unwrap();
    let (_, full) = get_json(&server.url(&format!("/api/sessions/{id}?vectors=true"))).await;
    assert_eq!(stored, full);
    assert!(stored.to_string().contains("\"kmers\""));
    for (file, query, database) in [
        ("q_1__tsv.tsv", "q/1", "tsv"),
        ("q_1__tsv-2.tsv", "q_1", "tsv"),
        ("q_1__sqlite.tsv", "q/1", "sqlite"),
        ("q_1__sqlite-2.tsv", "q_1", "sqlite"),
    ] {
        assert!(files["README.md"].contains(&format!(
            "`{file}`: query `{query}` in database `{database}`"
        )));
        let hits = pair(&session, query, database)["result"]["hits"]
            .as_array()
            .unwrap()
            .clone();
        let lines: Vec<&str> = files[file].lines().collect();
        assert_eq!(
            lines[0],
            "ID\tindex\tCovXK\tCovXB\tCovYK\tCovYB\thas_metadata\tLat\tLong\tDepth\tSite\tFiltered"
        );
        assert_eq!(lines.len(), hits.len() + 1);
        for (line, hit) in lines[1..].iter().zip(&hits) {
            let cells: Vec<&str> = line.split('\t').collect();
            assert_eq!(cells[0], hit["ID"].as_str().unwrap());
            assert_eq!(
                cells[2].parse::<f64>().unwrap(),
                hit["CovXK"].as_f64().unwrap()
            );
            assert_eq!(cells[6], hit["has_metadata"].to_string());
            if let Some(site) = hit["metadata"][3].as_str() {
                assert_eq!(cells[10], site);
            }
        }
    }
    // z = 3 on sqlite, 0 on tsv: different k-mer counts.
    assert_eq!(
        pair(&session, "q/1", "sqlite")["result"]["indexes"][0]["kmer_size"],
        28
    );

    // kmviz 0.8's query-and-download, multipart with bare option names.
    let form = new_form()
        .text("z", "4")
        .text("coverage", "0.5")
        .text("index", "pa")
        .part(
            "fastx",
            reqwest::multipart::Part::bytes(format!(">x\n{seq}\n").into_bytes()).file_name("q.fa"),
        );
    let response = post_form(&server, "/api/query/parquet", form).await;
    assert_eq!(response.status(), 200);
    let files = unzip(&response.bytes().await.unwrap());
    // As kmviz 0.8's: the tables; the session stays stored, its download has session.json.
    let names: BTreeSet<&str> = files.keys().map(String::as_str).collect();
    assert_eq!(names, BTreeSet::from(["README.md", "x__parquet.tsv"]));
    let id = files["README.md"]
        .lines()
        .next()
        .and_then(|l| l.strip_prefix("# kmviz session "))
        .unwrap()
        .to_owned();
    let response = client()
        .get(server.url(&format!("/api/sessions/{id}/download")))
        .send()
        .await
        .unwrap();
    assert!(unzip(&response.bytes().await.unwrap()).contains_key("session.json"));
    let tsv = &files["x__parquet.tsv"];
    assert!(
        tsv.lines()
            .nth(1)
            .unwrap()
            .starts_with("D1\tpa\t1\t1\t\t\ttrue\t"),
        "{tsv}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kmviz_08_form_arrow_stream_and_events() {
    let (server, _dir) = instance("form", "");
    let (text, _) = fasta(2, 1);
    let form = new_form()
        .text("database", "tsv")
        .text("database", "mariadb")
        .text("tsv#z", "4")
        .text("tsv#coverage", "0.5")
        .text("mariadb#index", "abs")
        .part(
            "fastx",
            reqwest::multipart::Part::bytes(text.into_bytes()).file_name("q.fa"),
        );
    let response = post_form(&server, "/api/query", form).await;
    assert_eq!(response.status(), 202);
    let id = common::openapi::read("POST", response).await.1["session"]
        .as_str()
        .unwrap()
        .to_owned();

    // Events: progress while running, then one `end`.
    let events = client()
        .get(server.url(&format!("/api/sessions/{id}/events")))
        .send()
        .await
        .unwrap();
    assert_eq!(events.headers()["content-type"], "text/event-stream");
    let body = tokio::time::timeout(Duration::from_secs(60), events.text())
        .await
        .expect("the event stream ends with the job")
        .unwrap();
    let kinds: Vec<&str> = body
        .lines()
        .filter_map(|l| l.strip_prefix("event: "))
        .collect();
    assert_eq!(kinds.last(), Some(&"end"), "{body}");
    assert!(kinds[..kinds.len() - 1].iter().all(|k| *k == "progress"));
    let last: Value = serde_json::from_str(
        body.lines()
            .filter_map(|l| l.strip_prefix("data: "))
            .next_back()
            .unwrap(),
    )
    .unwrap();
    assert_eq!(last["status"], "done");
    assert_eq!(
        last["progress"],
        json!({"total": 6, "finished": 6, "failed": 0, "cancelled": 0})
    );
    // The first event holds every pair, the next ones only what changed: each pair is sent
    // at most twice (pending, then done), and its last word is `done`.
    let mut sent: BTreeMap<u64, Vec<String>> = BTreeMap::new();
    for data in body.lines().filter_map(|l| l.strip_prefix("data: ")) {
        let event: Value = serde_json::from_str(data).unwrap();
        contract::<app::api::ProgressEvent>(&event);
        common::openapi::validate("/components/schemas/ProgressEvent", &event).unwrap();
        for pair in event["pairs"].as_array().unwrap() {
            sent.entry(pair["position"].as_u64().unwrap())
                .or_default()
                .push(pair["state"].as_str().unwrap().to_owned());
        }
    }
    assert_eq!(sent.len(), 6, "{body}");
    for states in sent.values() {
        assert!(states.len() <= 2, "{body}");
        assert_eq!(states.last().unwrap(), "done", "{body}");
    }

    let session = server.finished(&id).await;
    assert_eq!(session["databases"][0]["options"]["z"], 4.0);
    assert_eq!(session["databases"][1]["options"]["index"], json!(["abs"]));
    assert_eq!(
        pair(&session, "a0", "mariadb")["result"]["indexes"][0]["abundance"],
        true
    );

    // The same session as an Arrow IPC stream.
    let batches = arrow_batches(&server, &id).await;
    let rows: usize = batches.iter().map(|b| b.num_rows()).sum();
    let hits: usize = session["pairs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["result"]["hits"].as_array().unwrap().len())
        .sum();
    assert_eq!(rows, hits);
    let batch = &batches[0];
    let schema = batch.schema();
    assert_eq!(
        schema.field_with_name("Lat").unwrap().data_type(),
        &DataType::Float64
    );
    assert_eq!(
        schema.field_with_name("Filtered").unwrap().data_type(),
        &DataType::Boolean
    );
    let ids = batch
        .column_by_name("ID")
        .unwrap()
        .as_any()
        .downcast_ref::<StringArray>()
        .unwrap();
    let first = &session["pairs"][0]["result"]["hits"][0];
    assert_eq!(ids.value(0), first["ID"].as_str().unwrap());
}
