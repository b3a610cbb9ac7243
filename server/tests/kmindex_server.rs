//! The kmindex-compatible HTTP API over real HTTP: kmindex-server's bodies, status codes,
//! encodings, and many requests at once.

mod common;

use std::io::Read;

use common::{fixture_index, records, spawn_kmindex_server};
use kmindex::{Format, Index, output};

fn first_records(n: usize) -> Vec<app::model::query::Query> {
    let mut records = records("pa_dataset", 1);
    records.truncate(n);
    records
}

async fn post(addr: std::net::SocketAddr, body: &str) -> (u16, String, String) {
    let response = reqwest::Client::new()
        .post(format!("http://{addr}/kmindex/query"))
        .body(body.to_owned())
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    let content_type = response.headers()["content-type"]
        .to_str()
        .unwrap()
        .to_owned();
    let url = response.url().to_string();
    let text = response.text().await.unwrap();
    // As the OpenAPI document describes it (a JSON answer's body against its schema).
    let json = serde_json::from_str(&text).unwrap_or(serde_json::Value::Null);
    common::openapi::check("POST", &url, status, &content_type, &json);
    (status, content_type, text)
}

#[tokio::test]
async fn infos_is_the_registry_without_its_path() {
    let addr = spawn_kmindex_server().await;
    let text = reqwest::get(format!("http://{addr}/kmindex/infos"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let mut registry: serde_json::Value =
        serde_json::from_slice(&std::fs::read(fixture_index().join("index.json")).unwrap())
            .unwrap();
    registry.as_object_mut().unwrap().remove("path");
    assert_eq!(
        serde_json::from_str::<serde_json::Value>(&text).unwrap(),
        registry
    );
    assert!(text.starts_with(
        "{\n    \"index\": {\n        \"abs\": {\n            \"bloom_size\": 800000,"
    ));
}

#[tokio::test]
async fn a_single_sequence_answers_like_kmindex_query() {
    let addr = spawn_kmindex_server().await;
    let record = &first_records(1)[0];
    let index = Index::open(&fixture_index()).unwrap();
    for (format, name) in [(Format::Json, "json"), (Format::JsonVec, "json_vec")] {
        for sub in ["pa", "abs"] {
            let body = serde_json::json!({"index": [sub], "id": "q1", "seq": [record.seq], "z": 3, "r": 0.2, "format": name});
            let (status, content_type, text) = post(addr, &body.to_string()).await;
            assert_eq!(
                (status, content_type.as_str()),
                (200, "application/json"),
                "{text}"
            );
            let engine = index.get(sub).unwrap();
            let results = engine
                .query(&[record.seq.as_bytes()], 3, format.needs_positions())
                .unwrap();
            assert_eq!(
                text,
                output::records(engine, &["q1"], &results, format, 0.2)
            );
        }
    }
}

#[tokio::test]
async fn kmviz_08s_payload_over_two_indexes() {
    let addr = spawn_kmindex_server().await;
    let record = &first_records(1)[0];
    // What kmviz 0.8's KmindexServerProvider sends.
    let body = serde_json::json!({"id": "my query", "seq": [record.seq], "index": ["abs", "pa"], "r": 0.1, "z": 3, "format": "json_vec"});
    let (status, _, text) = post(addr, &body.to_string()).await;
    assert_eq!(status, 200, "{text}");
    let doc: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert_eq!(doc["pa"]["my query"]["D1"]["R"], 1.0);
    assert_eq!(
        doc["pa"]["my query"]["D1"]["P"].as_array().unwrap().len(),
        record.seq.len() - 28 + 1
    );
    assert!(doc["abs"]["my query"].is_object());
}

#[tokio::test]
async fn several_sequences_are_one_query() {
    let addr = spawn_kmindex_server().await;
    let records = first_records(3);
    let fastx: String = records
        .iter()
        .map(|r| format!(">{}\n{}\n", r.name, r.seq))
        .collect();
    let body = serde_json::json!({"index": ["pa"], "id": "all", "fastx": fastx, "z": 0, "format": "json_vec"});
    let (status, _, text) = post(addr, &body.to_string()).await;
    assert_eq!(status, 200, "{text}");
    let doc: serde_json::Value = serde_json::from_str(&text).unwrap();
    let index = Index::open(&fixture_index()).unwrap();
    let pa = index.get("pa").unwrap();
    let seqs: Vec<&[u8]> = records.iter().map(|r| r.seq.as_bytes()).collect();
    let results = pa.query(&seqs, 0, true).unwrap();
    for (column, sample) in pa.samples().iter().enumerate() {
        let present: u32 = results.iter().map(|r| r.counts[column]).sum();
        let kmers: usize = results.iter().map(|r| r.nb_kmers).sum();
        let answer = &doc["pa"]["all"][sample];
        assert_eq!(
            answer["R"].as_f64().unwrap(),
            f64::from(present) / kmers as f64,
            "{sample}"
        );
        assert_eq!(
            answer["P"].as_array().unwrap().len(),
            3,
            "one vector per sequence"
        );
    }
    // The same query as `seq`: the same answer.
    let seqs: Vec<&str> = records.iter().map(|r| r.seq.as_str()).collect();
    let body = serde_json::json!({"index": ["pa"], "id": "all", "seq": seqs, "z": 0, "format": "json_vec"});
    assert_eq!(post(addr, &body.to_string()).await.2, text);
}

#[tokio::test]
async fn tsv_answers_are_csv_with_a_blank_line_per_index() {
    let addr = spawn_kmindex_server().await;
    let record = &first_records(1)[0];
    let body = serde_json::json!({"index": ["pa", "abs"], "id": "q", "seq": [record.seq], "z": 1, "format": "tsv"});
    let (status, content_type, text) = post(addr, &body.to_string()).await;
    assert_eq!((status, content_type.as_str()), (200, "text/csv"));
    let blocks: Vec<&str> = text.split("\n\n").collect();
    assert_eq!(blocks.len(), 3, "{text:?}");
    assert!(blocks[0].starts_with("pa\tD0\tD1\t"));
    assert!(
        blocks[0].lines().nth(1).unwrap().starts_with("q\t0\t1\t0"),
        "{}",
        blocks[0]
    );
    assert!(
        blocks[1].lines().nth(1).unwrap().starts_with("abs:q\t"),
        "{}",
        blocks[1]
    );
    assert_eq!(blocks[2], "");
}

#[tokio::test]
async fn refusals_are_400s_worded_like_kmindex_server() {
    let addr = spawn_kmindex_server().await;
    let cases = [
        (
            r#"{"index":["pa"],"id":"q","seq":["ACGT"]}"#,
            r#"{"error":"[kmq_error]: 'z' entry is missing."}"#,
        ),
        (
            r#"{"index":["nope"],"id":"q","seq":["ACGT"],"z":0}"#,
            r#"{"error":"[kmq_error]: 'nope' is not registered by this instance"}"#,
        ),
        (
            "{not json",
            r#"{"error":"json parsing failure, check your inputs"}"#,
        ),
    ];
    for (body, want) in cases {
        let (status, content_type, text) = post(addr, body).await;
        assert_eq!(
            (status, content_type.as_str(), text.as_str()),
            (400, "application/json", want),
            "{body}"
        );
    }
    // s + z = 28 letters are enough, 27 are not.
    let (status, _, text) = post(
        addr,
        r#"{"index":["pa"],"id":"q","seq":["ACGTACGTACGTACGTACGTACGTACGT"],"z":3}"#,
    )
    .await;
    assert_eq!(status, 200, "{text}");
    let (status, _, text) = post(
        addr,
        r#"{"index":["pa"],"id":"q","seq":["ACGTACGTACGTACGTACGTACGTACG"],"z":3}"#,
    )
    .await;
    assert_eq!(
        (status, text.as_str()),
        (
            400,
            r#"{"error":"[kmq_error]: Sequence too small: 27, min size is 28."}"#
        )
    );
}

#[tokio::test]
async fn deflate_when_the_client_accepts_it() {
    let addr = spawn_kmindex_server().await;
    let record = &first_records(1)[0];
    let body = serde_json::json!({"index": ["pa"], "id": "q", "seq": [record.seq], "z": 0, "format": "json_vec"}).to_string();
    // Keep the body as sent: no transparent decompression.
    let client = reqwest::Client::builder().no_deflate().build().unwrap();
    let plain = client
        .post(format!("http://{addr}/kmindex/query"))
        .body(body.clone())
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let response = client
        .post(format!("http://{addr}/kmindex/query"))
        .header("Accept-Encoding", "gzip, deflate")
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(response.headers()["content-encoding"], "deflate");
    let compressed = response.bytes().await.unwrap();
    assert!(compressed.len() < plain.len() / 4);
    let mut inflated = String::new();
    flate2::read::ZlibDecoder::new(&compressed[..])
        .read_to_string(&mut inflated)
        .unwrap();
    assert_eq!(inflated, plain);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn answers_many_requests_at_once() {
    let addr = spawn_kmindex_server().await;
    let records = first_records(64);
    let client = reqwest::Client::new();
    let tasks: Vec<_> = records
        .iter()
        .map(|record| {
            let client = client.clone();
            let body = serde_json::json!({"index": ["pa", "abs"], "id": record.name, "seq": [record.seq], "z": 2, "format": "json_vec"}).to_string();
            tokio::spawn(async move {
                client.post(format!("http://{addr}/kmindex/query")).body(body).send().await.unwrap().text().await.unwrap()
            })
        })
        .collect();
    let index = Index::open(&fixture_index()).unwrap();
    for (record, task) in records.iter().zip(tasks) {
        let doc: serde_json::Value = serde_json::from_str(&task.await.unwrap()).unwrap();
        let pa = index.get("pa").unwrap();
        let result = &pa.query(&[record.seq.as_bytes()], 2, true).unwrap()[0];
        assert_eq!(
            doc["pa"][&record.name]["D1"]["R"].as_f64().unwrap(),
            result.ratios[1]
        );
    }
}
