//! kmviz's JSON API end to end, over real HTTP on loopback: the kmindex fixtures as providers,
//! metadata in TSV, SQLite, Parquet and a real MariaDB written by the tests, kmindex's own
//! outputs as the oracle.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use app::model::query::{InputLimits, parse_queries};
use arrow_array::{ArrayRef, BooleanArray, Float64Array, Int64Array, RecordBatch, StringArray};
use arrow_schema::{DataType, Field, Schema};
use common::mariadb::mariadb;
use common::{Server, contract, fixture_index, get_json, kmindex_fixtures, records};
use serde_json::{Value, json};

/// Samples of the metadata tables: D0..D15 but D3, so that hits on D3 lack metadata.
const MISSING: usize = 3;

struct Row {
    id: String,
    lat: f64,
    long: f64,
    depth: i64,
    site: String,
    filtered: bool,
}

fn rows() -> Vec<Row> {
    (0..16)
        .filter(|&i| i != MISSING)
        .map(|i| Row {
            id: format!("D{i}"),
            lat: -60.0 + 7.5 * i as f64,
            long: 10.25 * i as f64 - 80.0,
            depth: 5 * i as i64,
            site: format!("site {i}"),
            filtered: i % 2 == 0,
        })
        .collect()
}

/// The metadata JSON values the API must give for sample `id`, in column order.
fn expected_metadata(id: &str) -> Option<Vec<Value>> {
    rows().into_iter().find(|r| r.id == id).map(|r| {
        vec![
            json!(r.lat),
            json!(r.long),
            json!(r.depth),
            json!(r.site),
            json!(r.filtered),
        ]
    })
}

/// Writes `meta.tsv`, `meta.sqlite` and `meta.parquet` into `dir`, and table `table` into the
/// test MariaDB. The id column is `Sample`.
fn write_metadata(dir: &Path, table: &str) {
    let mut tsv = String::from("Sample\tLat\tLong\tDepth\tSite\tFiltered\n");
    for r in rows() {
        tsv.push_str(&format!(
            "{}\t{}\t{}\t{}\t{}\t{}\n",
            r.id, r.lat, r.long, r.depth, r.site, r.filtered
        ));
    }
    std::fs::write(dir.join("meta.tsv"), tsv).unwrap();

    let db = rusqlite::Connection::open(dir.join("meta.sqlite")).unwrap();
    db.execute_batch(
        "CREATE TABLE samples (Sample TEXT, Lat REAL, Long REAL, Depth INTEGER, Site TEXT, \
         Filtered BOOLEAN)",
    )
    .unwrap();
    for r in rows() {
        db.execute(
            "INSERT INTO samples VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            rusqlite::params![r.id, r.lat, r.long, r.depth, r.site, r.filtered],
        )
        .unwrap();
    }

    let schema = Arc::new(Schema::new(vec![
        Field::new("Sample", DataType::Utf8, false),
        Field::new("Lat", DataType::Float64, false),
        Field::new("Long", DataType::Float64, false),
        Field::new("Depth", DataType::Int64, false),
        Field::new("Site", DataType::Utf8, false),
        Field::new("Filtered", DataType::Boolean, false),
    ]));
    let rs = rows();
    let columns: Vec<ArrayRef> = vec![
        Arc::new(StringArray::from_iter_values(
            rs.iter().map(|r| r.id.clone()),
        )),
        Arc::new(Float64Array::from_iter_values(rs.iter().map(|r| r.lat))),
        Arc::new(Float64Array::from_iter_values(rs.iter().map(|r| r.long))),
        Arc::new(Int64Array::from_iter_values(rs.iter().map(|r| r.depth))),
        Arc::new(StringArray::from_iter_values(
            rs.iter().map(|r| r.site.clone()),
        )),
        Arc::new(BooleanArray::from(
            rs.iter().map(|r| r.filtered).collect::<Vec<_>>(),
        )),
    ];
    let batch = RecordBatch::try_new(Arc::clone(&schema), columns).unwrap();
    let file = std::fs::File::create(dir.join("meta.parquet")).unwrap();
    let mut writer = parquet::arrow::ArrowWriter::try_new(file, schema, None).unwrap();
    writer.write(&batch).unwrap();
    writer.close().unwrap();

    let mut sql = format!(
        "DROP TABLE IF EXISTS {table}; CREATE TABLE {table} (Sample VARCHAR(16), \
         Lat DOUBLE, `Long` DOUBLE, Depth INT, Site VARCHAR(32), Filtered BOOLEAN); "
    );
    for r in rows() {
        sql.push_str(&format!(
            "INSERT INTO {table} VALUES ('{}', {}, {}, {}, '{}', {});",
            r.id, r.lat, r.long, r.depth, r.site, r.filtered
        ));
    }
    mariadb().run(&sql);
}

/// A configuration with the fixture index behind each of the four MetaDBs (`tsv`, `sqlite`,
/// `parquet`, `mariadb`), plus `extra` TOML.
fn config_text(dir: &Path, table: &str, extra: &str) -> String {
    let index = fixture_index();
    let geodata = "geodata = { latitude = \"Lat\", longitude = \"Long\" }";
    let database = |name: &str, metadata: String| {
        format!(
            "[databases.{name}]\ntype = \"kmindex\"\nparams = {{ index_path = \"{}\" }}\n\
             metadata = {{ type = {metadata} }}\n",
            index.display()
        )
    };
    let mut text = String::new();
    text.push_str(&database(
        "tsv",
        format!("\"tsv\", params = {{ path = \"meta.tsv\", idx = \"Sample\", {geodata} }}"),
    ));
    text.push_str(&database(
        "sqlite",
        format!(
            "\"sqlite\", params = {{ path = \"meta.sqlite\", table = \"samples\", idx = \"Sample\", {geodata} }}"
        ),
    ));
    text.push_str(&database(
        "parquet",
        format!(
            "\"parquet\", params = {{ files = [\"meta.parquet\"], idx = \"Sample\", {geodata} }}"
        ),
    ));
    text.push_str(&database(
        "mariadb",
        format!(
            "\"mysql\", params = {{ host = \"127.0.0.1\", port = {}, user = \"kmviz\", password = \"kmviz\", database = \"kmviz\", table = \"{table}\", idx = \"Sample\", {geodata} }}",
            mariadb().port
        ),
    ));
    text.push_str(extra);
    text.push_str(&format!(
        "\n[sessions]\ndata_dir = \"{}\"\n",
        dir.join("sessions").display()
    ));
    text
}

fn temp_dir(tag: &str) -> PathBuf {
    common::scratch(&format!("api-{tag}"))
}

/// The test's instance: metadata written, configuration written, server started.
fn instance(tag: &str, extra: &str) -> (Server, PathBuf) {
    let dir = temp_dir(tag);
    write_metadata(&dir, &format!("samples_{tag}"));
    let config = dir.join("kmviz.toml");
    std::fs::write(&config, config_text(&dir, &format!("samples_{tag}"), extra)).unwrap();
    (Server::start(&config), dir)
}

/// A multipart form with field names sent as written, as curl and Python's requests do.
fn new_form() -> reqwest::multipart::Form {
    reqwest::multipart::Form::new().percent_encode_noop()
}

async fn post_form(
    server: &Server,
    path: &str,
    form: reqwest::multipart::Form,
) -> reqwest::Response {
    client()
        .post(server.url(path))
        .multipart(form)
        .send()
        .await
        .unwrap()
}

fn client() -> reqwest::Client {
    reqwest::Client::new()
}

async fn submit(server: &Server, body: Value) -> (u16, Value) {
    let response = client()
        .post(server.url("/api/query"))
        .json(&body)
        .send()
        .await
        .unwrap();
    let (status, body) = common::openapi::read("POST", response).await;
    if status == 202 {
        contract::<app::api::Submitted>(&body);
    } else {
        contract::<app::api::ErrorBody>(&body);
    }
    (status, body)
}

/// Polls the session until its job ends.
fn pair<'a>(session: &'a Value, query: &str, database: &str) -> &'a Value {
    session["pairs"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["query"] == query && p["database"] == database)
        .unwrap_or_else(|| panic!("no pair ({query}, {database})"))
}

/// Records of `1.fasta` renamed `a<i>` and of `3.fasta` renamed `c<i>`, as FASTA.
fn fasta(from_1: usize, from_3: usize) -> (String, Vec<(String, String)>) {
    let mut named = Vec::new();
    for (i, r) in records("pa_dataset", 1)
        .into_iter()
        .take(from_1)
        .enumerate()
    {
        named.push((format!("a{i}"), r.name, r.seq));
    }
    for (i, r) in records("pa_dataset", 3)
        .into_iter()
        .take(from_3)
        .enumerate()
    {
        named.push((format!("c{i}"), r.name, r.seq));
    }
    let text = named
        .iter()
        .map(|(n, _, s)| format!(">{n}\n{s}\n"))
        .collect::<String>();
    (text, named.into_iter().map(|(n, o, _)| (n, o)).collect())
}

const DATABASES: [&str; 4] = ["tsv", "sqlite", "parquet", "mariadb"];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn four_metadbs_join_kmindex_answers_and_keep_samples_without_metadata() {
    let (server, _dir) = instance("join", "");
    let (text, names) = fasta(4, 2);
    let options = json!({"z": 4, "coverage": 0.5, "index": ["pa"]});
    let databases: Vec<Value> = DATABASES
        .iter()
        .map(|d| json!({"name": d, "options": options}))
        .collect();
    let (status, submitted) = submit(&server, json!({"fastx": text, "databases": databases})).await;
    assert_eq!(status, 202, "{submitted}");
    assert_eq!(submitted["status"], "running");
    let id = submitted["session"].as_str().unwrap();
    let session = server.finished(id).await;
    assert_eq!(session["status"], "done");
    assert_eq!(session["pairs"].as_array().unwrap().len(), names.len() * 4);
    // The per-k-mer values only when asked for; everything else the same.
    let (status, mut full) =
        get_json(&server.url(&format!("/api/sessions/{id}?vectors=true"))).await;
    assert_eq!(status, 200, "{full}");
    for pair in full["pairs"].as_array_mut().unwrap() {
        let kmers_per_hit = result_len(&pair["result"]) - 29 + 1;
        for hit in pair["result"]["hits"].as_array_mut().unwrap() {
            let kmers = hit.as_object_mut().unwrap().remove("kmers").unwrap();
            assert_eq!(kmer_values(&kmers).len(), kmers_per_hit, "{hit}");
        }
    }
    assert_eq!(full, session);

    // kmindex's own answer for 1.fasta, z = 4, r = 0.5.
    let oracle: Value = serde_json::from_slice(
        &std::fs::read(kmindex_fixtures().join("outputs/q1_pa.json")).unwrap(),
    )
    .unwrap();
    let mut saw_missing = false;
    for (name, original) in &names {
        let reference = &pair(&session, name, "tsv")["result"];
        for database in DATABASES {
            let p = pair(&session, name, database);
            assert_eq!(p["state"], "done", "{p}");
            let result = &p["result"];
            assert_eq!(
                result["columns"],
                json!([
                    {"name": "Lat", "type": "float"},
                    {"name": "Long", "type": "float"},
                    {"name": "Depth", "type": "integer"},
                    {"name": "Site", "type": "text"},
                    {"name": "Filtered", "type": "boolean"},
                ]),
                "{database}"
            );
            assert_eq!(
                result["geodata"],
                json!({"latitude": "Lat", "longitude": "Long"})
            );
            // Same hits, coverage and metadata whatever the MetaDB.
            assert_eq!(
                result["hits"], reference["hits"],
                "{database} differs from tsv"
            );
        }
        let hits = reference["hits"].as_array().unwrap();
        for hit in hits {
            let id = hit["ID"].as_str().unwrap();
            match expected_metadata(id) {
                Some(metadata) => {
                    assert_eq!(hit["has_metadata"], true);
                    assert_eq!(hit["metadata"], json!(metadata), "{id}");
                }
                None => {
                    saw_missing = true;
                    assert_eq!(hit["has_metadata"], false);
                    assert_eq!(hit["metadata"], json!([null, null, null, null, null]));
                }
            }
            assert_eq!(hit["index"], "pa");
            assert!(hit.get("kmers").is_none(), "{hit}");
        }
        // Ranked by CovXK.
        let ratios: Vec<f64> = hits.iter().map(|h| h["CovXK"].as_f64().unwrap()).collect();
        assert!(ratios.windows(2).all(|w| w[0] >= w[1]), "{ratios:?}");
        if name.starts_with('a') {
            let expected: BTreeMap<String, f64> = oracle["pa"][original]
                .as_object()
                .unwrap()
                .iter()
                .map(|(s, r)| (s.clone(), r.as_f64().unwrap()))
                .collect();
            let got: BTreeMap<String, f64> = hits
                .iter()
                .map(|h| {
                    (
                        h["ID"].as_str().unwrap().to_owned(),
                        h["CovXK"].as_f64().unwrap(),
                    )
                })
                .collect();
            assert_eq!(got, expected, "query {name} (record {original})");
        }
    }
    assert!(
        saw_missing,
        "D3's own records find D3, which has no metadata"
    );
}

/// Per-k-mer values from their `[value, count]` runs.
fn kmer_values(runs: &Value) -> Vec<f64> {
    let mut values = Vec::new();
    for run in runs.as_array().unwrap() {
        let (value, count) = (run[0].as_f64().unwrap(), run[1].as_u64().unwrap());
        values.extend(std::iter::repeat_n(value, count as usize));
    }
    values
}

fn result_len(result: &Value) -> usize {
    result["query_length"].as_u64().unwrap() as usize
}

/// Per base, the mean of the k-mer values covering it (the definition, computed slowly).
fn per_base_mean(kmers: &[f64], k: usize, len: usize) -> Vec<f64> {
    (0..len)
        .map(|b| {
            let covering: Vec<f64> = (0..kmers.len())
                .filter(|&i| i <= b && b < i + k)
                .map(|i| kmers[i])
                .collect();
            covering.iter().sum::<f64>() / covering.len() as f64
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn coverage_equals_hand_computed_values() {
    let (server, _dir) = instance("coverage", "");
    // A 100-letter record of sample D1 followed by 40 letters found nowhere: with z = 4
    // (k = 29), the first 100 - 29 + 1 = 72 of the 112 k-mers are in D1, and its first 100 of
    // 140 bases are covered.
    let tail = "AC".repeat(20);
    let pa = records("pa_dataset", 1)[0].seq.clone();
    let abs = records("abs_dataset", 1)[0].seq.clone();
    assert_eq!((pa.len(), abs.len()), (100, 100));
    let text = format!(">pa\n{pa}{tail}\n>abs\n{abs}{tail}\n");
    let (status, submitted) = submit(
        &server,
        json!({"fastx": text, "databases": [{"name": "tsv", "options": {"z": 4, "coverage": 0.5}}]}),
    )
    .await;
    assert_eq!(status, 202, "{submitted}");
    let id = submitted["session"].as_str().unwrap();
    let session = server.finished(id).await;
    let per_base_of = arrow_per_base(&server, id).await;
    let close = |a: f64, b: f64| (a - b).abs() < 1e-12;
    for (query, index, abundance) in [("pa", "pa", false), ("abs", "abs", true)] {
        let result = &pair(&session, query, "tsv")["result"];
        assert_eq!(result["query_length"], 140);
        assert!(
            result["hits"]
                .as_array()
                .unwrap()
                .iter()
                .any(|h| h["ID"] == "D1" && h["index"] == index),
            "D1 in {index}: {result}"
        );
        // One hit with its values, at its own route.
        let (status, hit) = get_json(&server.url(&format!(
            "/api/sessions/{id}/hit?query={query}&database=tsv&index={index}&id=D1"
        )))
        .await;
        assert_eq!(status, 200, "{hit}");
        let kmers = kmer_values(&hit["kmers"]);
        assert_eq!(kmers.len(), 112);
        assert!(kmers[..72].iter().all(|&v| v > 0.0), "{kmers:?}");
        assert!(kmers[72..].iter().all(|&v| v == 0.0), "{kmers:?}");
        assert!(close(hit["CovXK"].as_f64().unwrap(), 72.0 / 112.0));
        assert!(close(hit["CovXB"].as_f64().unwrap(), 100.0 / 140.0));
        // Per base, as the Arrow stream derives it from the k-mers.
        let bases = &per_base_of[&(query.to_owned(), index.to_owned(), "D1".to_owned())];
        assert_eq!(bases.len(), 140);
        if abundance {
            let mean_k = kmers.iter().sum::<f64>() / 112.0;
            assert!(close(hit["CovYK"].as_f64().unwrap(), mean_k));
            let per_base = per_base_mean(&kmers, 29, 140);
            assert!(bases.iter().zip(&per_base).all(|(a, b)| close(*a, *b)));
            assert!(close(
                hit["CovYB"].as_f64().unwrap(),
                per_base.iter().sum::<f64>() / 140.0
            ));
            // The last base is covered by the last k-mer only (kmviz 0.8 shifted it).
            assert_eq!(bases[139], kmers[111]);
        } else {
            assert!(hit.get("CovYK").is_none());
            let covered: Vec<f64> = (0..140).map(|b| if b < 100 { 1.0 } else { 0.0 }).collect();
            assert_eq!(bases, &covered);
        }
    }
    let (status, missing) = get_json(&server.url(&format!(
        "/api/sessions/{id}/hit?query=pa&database=tsv&index=pa&id=nobody"
    )))
    .await;
    assert_eq!(status, 404);
    assert_eq!(
        missing["error"],
        format!(
            "session '{id}' has no hit 'nobody' in index 'pa' for query 'pa' on database 'tsv'"
        )
    );
}

/// The session's Arrow IPC stream (asked with `Accept`, answered with that content type), read.
async fn arrow_batches(server: &Server, id: &str) -> Vec<RecordBatch> {
    let response = client()
        .get(server.url(&format!("/api/sessions/{id}")))
        .header("accept", "application/vnd.apache.arrow.stream")
        .send()
        .await
        .unwrap();
    assert_eq!(
        response.headers()["content-type"],
        "application/vnd.apache.arrow.stream"
    );
    let bytes = response.bytes().await.unwrap();
    let reader =
        arrow_ipc::reader::StreamReader::try_new(std::io::Cursor::new(bytes), None).unwrap();
    // The pair, then the table's layout.
    let names: Vec<String> = reader
        .schema()
        .fields()
        .iter()
        .map(|f| f.name().clone())
        .collect();
    let layout = app::model::table::HIT_COLUMNS.map(|(name, _)| name);
    assert_eq!(names[..2], ["query", "database"]);
    assert_eq!(names[2..2 + layout.len()], layout);
    assert_eq!(names[names.len() - 2..], ["kmers", "bases"]);
    reader.map(Result::unwrap).collect()
}

/// Per (query, index, sample): the `bases` column of the session's Arrow stream.
async fn arrow_per_base(server: &Server, id: &str) -> BTreeMap<(String, String, String), Vec<f64>> {
    let mut out = BTreeMap::new();
    for batch in arrow_batches(server, id).await {
        let text = |name: &str| {
            batch
                .column_by_name(name)
                .unwrap()
                .as_any()
                .downcast_ref::<arrow_array::StringArray>()
                .unwrap()
                .clone()
        };
        let (queries, indexes, ids) = (text("query"), text("index"), text("ID"));
        let bases = batch
            .column_by_name("bases")
            .unwrap()
            .as_any()
            .downcast_ref::<arrow_array::ListArray>()
            .unwrap()
            .clone();
        for row in 0..batch.num_rows() {
            let values = bases.value(row);
            let values = values
                .as_any()
                .downcast_ref::<arrow_array::Float64Array>()
                .unwrap();
            out.insert(
                (
                    queries.value(row).to_owned(),
                    indexes.value(row).to_owned(),
                    ids.value(row).to_owned(),
                ),
                values.values().to_vec(),
            );
        }
    }
    out
}

/// A TCP server that accepts connections and never answers.
fn silent_server() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        let mut held = Vec::new();
        for stream in listener.incoming() {
            held.push(stream);
        }
    });
    port
}

fn closed_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap().port()
}

fn remote_database(name: &str, port: u16) -> String {
    format!(
        "\n[databases.{name}]\ntype = \"kmindex-server\"\nparams = {{ url = \"127.0.0.1\", port = {port} }}\n\
         metadata = {{ type = \"tsv\", params = {{ path = \"meta.tsv\", idx = \"Sample\" }} }}\n"
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_database_whose_server_is_down_fails_alone() {
    let port = closed_port();
    let (server, _dir) = instance("down", &remote_database("down", port));
    let (_, info) = get_json(&server.url("/api/info")).await;
    let down = info["databases"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["name"] == "down")
        .unwrap();
    assert_eq!(down["provider"], "kmindex-server");
    assert!(
        down["error"]
            .as_str()
            .unwrap()
            .contains(&format!("127.0.0.1:{port}")),
        "{down}"
    );
    let (text, _) = fasta(3, 0);
    let (status, submitted) = submit(
        &server,
        json!({"fastx": text, "databases": ["tsv", "down"]}),
    )
    .await;
    assert_eq!(status, 202, "{submitted}");
    let session = server
        .finished(submitted["session"].as_str().unwrap())
        .await;
    assert_eq!(session["status"], "done");
    for q in ["a0", "a1", "a2"] {
        assert_eq!(pair(&session, q, "tsv")["state"], "done");
        let failed = pair(&session, q, "down");
        assert_eq!(failed["state"], "failed");
        assert!(
            failed["error"]
                .as_str()
                .unwrap()
                .contains("cannot be reached"),
            "{failed}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_remote_kmindex_server_answers_like_the_local_index() {
    let remote = common::spawn_kmindex_server().await;
    let (server, _dir) = instance("remote", &remote_database("remote", remote.port()));
    let (text, _) = fasta(3, 1);
    let options = json!({"z": 2, "coverage": 0.3});
    let (status, submitted) = submit(
        &server,
        json!({"fastx": text, "databases": [
            {"name": "tsv", "options": options},
            {"name": "remote", "options": options},
        ]}),
    )
    .await;
    assert_eq!(status, 202, "{submitted}");
    let session = server
        .finished(submitted["session"].as_str().unwrap())
        .await;
    for q in ["a0", "a1", "a2", "c0"] {
        let local = &pair(&session, q, "tsv")["result"];
        let remote = &pair(&session, q, "remote")["result"];
        assert_eq!(local["hits"], remote["hits"], "{q}");
        assert!(!local["hits"].as_array().unwrap().is_empty());
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cancel_then_restart_keeps_sessions_and_marks_interrupted_jobs() {
    let port = silent_server();
    let extra = remote_database("silent", port) + "\n[engine]\ntimeout = 600\n";
    let (server, dir) = instance("cancel", &extra);
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
        .delete(server.url(&format!("/api/sessions/{id}")))
        .send()
        .await
        .unwrap();
    let (_, cancelled) = common::openapi::read("DELETE", response).await;
    assert_eq!(cancelled["status"], "cancelled");
    assert_eq!(pair(&cancelled, "a0", "tsv")["state"], "done");
    assert_eq!(pair(&cancelled, "a0", "silent")["state"], "cancelled");
    assert_eq!(pair(&cancelled, "a1", "silent")["state"], "cancelled");
    // Cancelling again changes nothing.
    let response = client()
        .delete(server.url(&format!("/api/sessions/{id}")))
        .send()
        .await
        .unwrap();
    let (_, again) = common::openapi::read("DELETE", response).await;
    assert_eq!(again, cancelled);

    // A second job left running when the server stops.
    let (_, running) = submit(&server, body).await;
    let running_id = running["session"].as_str().unwrap().to_owned();
    tokio::time::sleep(Duration::from_millis(500)).await;
    let config = dir.join("kmviz.toml");
    drop(server);

    let server = Server::start(&config);
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

/// The entries of a ZIP, by name.
fn unzip(bytes: &[u8]) -> BTreeMap<String, String> {
    let mut archive = zip::ZipArchive::new(std::io::Cursor::new(bytes)).unwrap();
    (0..archive.len())
        .map(|i| {
            let mut file = archive.by_index(i).unwrap();
            let mut text = String::new();
            file.read_to_string(&mut text).unwrap();
            (file.name().unwrap().to_string(), text)
        })
        .collect()
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
        json!({"total": 6, "finished": 6, "failed": 0})
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_refusal_names_what_is_wrong() {
    let extra = "\n[input]\nmax_query = 2\nmax_query_size = 150\n[api]\nmax_body_size = 4096\n";
    let (server, _dir) = instance("errors", extra);
    let seq = &records("pa_dataset", 1)[0].seq;
    let refused = |status: u16, body: &Value, message: &str| {
        assert_eq!(body["error"].as_str(), Some(message), "{body}");
        assert_eq!(status, 400, "{body}");
    };
    // An unknown database is not found, wherever the request names it.
    let not_found = |status: u16, body: &Value| {
        let message = "unknown database 'nope'; known: mariadb, parquet, sqlite, tsv";
        assert_eq!(body["error"].as_str(), Some(message), "{body}");
        assert_eq!(status, 404, "{body}");
    };

    let three = format!(">a\n{seq}\n>b\n{seq}\n>c\n{seq}\n");
    let limits = InputLimits {
        max_query: 2,
        max_query_size: 150,
        ..InputLimits::default()
    };
    let reason = parse_queries(three.as_bytes(), &limits)
        .unwrap_err()
        .to_string();
    let (status, body) = submit(&server, json!({"fastx": three, "databases": ["tsv"]})).await;
    refused(status, &body, &reason);

    let long = format!(">long\n{}\n", "ACGT".repeat(40));
    let reason = parse_queries(long.as_bytes(), &limits)
        .unwrap_err()
        .to_string();
    let (status, body) = submit(&server, json!({"fastx": long, "databases": ["tsv"]})).await;
    refused(status, &body, &reason);

    let one = format!(">a\n{seq}\n");
    let (status, body) = submit(&server, json!({"fastx": one, "databases": ["tsv", "nope"]})).await;
    not_found(status, &body);
    let (status, body) = submit(
        &server,
        json!({"fastx": one, "databases": [{"name": "tsv", "options": {"k": 3}}]}),
    )
    .await;
    refused(
        status,
        &body,
        "database 'tsv': unknown option 'k'; known options: z, coverage, index",
    );
    let (status, body) = submit(
        &server,
        json!({"fastx": one, "databases": [{"name": "tsv", "options": {"z": 7}}]}),
    )
    .await;
    refused(
        status,
        &body,
        "database 'tsv': option 'z' is 7, outside [0, 5]",
    );
    let (status, body) = submit(
        &server,
        json!({"fastx": one, "databases": [{"name": "tsv", "options": {"index": ["pa", "zz"]}}]}),
    )
    .await;
    refused(
        status,
        &body,
        "database 'tsv': option 'index' is 'zz'; choose one of [\"abs\", \"pa\"]",
    );
    let (status, body) = submit(&server, json!({"fastx": one, "databases": []})).await;
    refused(status, &body, "no database chosen");
    let (status, body) = submit(&server, json!({"fastx": one, "databases": ["tsv", "tsv"]})).await;
    refused(status, &body, "database 'tsv' is chosen twice");
    let (status, body) = submit(&server, json!({"fasta": one, "databases": ["tsv"]})).await;
    assert_eq!(status, 400);
    assert!(
        body["error"]
            .as_str()
            .unwrap()
            .contains("unknown field `fasta`"),
        "{body}"
    );

    // Too large a body: 413, whatever its form.
    let big = ">a\n".to_owned() + &"A".repeat(8000);
    let (status, _) = submit(&server, json!({"fastx": big, "databases": ["tsv"]})).await;
    assert_eq!(status, 413);
    let form = new_form()
        .text("database", "tsv")
        .part("fastx", reqwest::multipart::Part::bytes(big.into_bytes()));
    let response = post_form(&server, "/api/query", form).await;
    assert_eq!(response.status(), 413);

    // kmviz 0.8 forms.
    let form = new_form().text("database", "tsv");
    let response = post_form(&server, "/api/query", form).await;
    let (status, body) = common::openapi::read("POST", response).await;
    refused(status, &body, "the form has no 'fastx' file");
    let form = new_form()
        .text("database", "tsv")
        .text("tsv#z", "three")
        .part(
            "fastx",
            reqwest::multipart::Part::bytes(one.clone().into_bytes()),
        );
    let response = post_form(&server, "/api/query", form).await;
    let (status, body) = common::openapi::read("POST", response).await;
    refused(status, &body, "database 'tsv': option 'z' expects a number");
    let form = new_form().part("fastx", reqwest::multipart::Part::bytes(one.into_bytes()));
    let response = post_form(&server, "/api/query/nope", form).await;
    let (status, body) = common::openapi::read("POST", response).await;
    not_found(status, &body);

    // What axum refuses by itself is the error body too.
    let (status, body) = get_json(&server.url("/api/sessions/f00d?vectors=maybe")).await;
    assert_eq!(status, 400);
    assert!(
        body["error"].as_str().unwrap().contains("vectors"),
        "{body}"
    );
    let response = client().put(server.url("/api/info")).send().await.unwrap();
    assert_eq!(response.status(), 405);
    contract::<app::api::ErrorBody>(&response.json().await.unwrap());

    // Unknown sessions: 404 everywhere.
    for path in ["", "/events", "/download"] {
        let (status, body) = get_json(&server.url(&format!("/api/sessions/f00d{path}"))).await;
        assert_eq!(status, 404, "{path}");
        assert_eq!(body["error"], "no session 'f00d'");
    }
    let response = client()
        .delete(server.url("/api/sessions/f00d"))
        .send()
        .await
        .unwrap();
    assert_eq!(common::openapi::read("DELETE", response).await.0, 404);

    // Metadata pages.
    let (status, page) =
        get_json(&server.url("/api/databases/tsv/metadata?offset=10&limit=3")).await;
    assert_eq!(status, 200, "{page}");
    contract::<app::api::MetadataPage>(&page);
    assert_eq!(page["total"], 15);
    assert_eq!(page["columns"][0], json!({"name": "ID", "type": "text"}));
    assert_eq!(page["rows"].as_array().unwrap().len(), 3);
    assert_eq!(page["rows"][0][0], "D11", "D3 is missing, so row 10 is D11");
    assert_eq!(page["rows"][0][1], json!(rows()[10].lat));
    // MySQL tables are paged by id: D0 D1 D10 .. D15 D2 D4 D5.
    let (_, by_id) =
        get_json(&server.url("/api/databases/mariadb/metadata?offset=10&limit=3")).await;
    assert_eq!(by_id["total"], 15);
    let ids: Vec<&str> = by_id["rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r[0].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["D5", "D6", "D7"]);
    for database in ["sqlite", "parquet"] {
        let (_, other) = get_json(&server.url(&format!(
            "/api/databases/{database}/metadata?offset=10&limit=3"
        )))
        .await;
        assert_eq!(other, page, "{database}");
    }
    // Past the end, however far (SQLite reads a negative OFFSET as none).
    for database in DATABASES {
        let (status, past) = get_json(&server.url(&format!(
            "/api/databases/{database}/metadata?offset={}&limit=3",
            u64::MAX
        )))
        .await;
        assert_eq!(status, 200, "{database}: {past}");
        assert_eq!(past["rows"], json!([]), "{database}");
    }
    let (status, body) = get_json(&server.url("/api/databases/nope/metadata")).await;
    assert_eq!(status, 404);
    assert_eq!(
        body["error"],
        "unknown database 'nope'; known: mariadb, parquet, sqlite, tsv"
    );
    let (status, body) = get_json(&server.url("/api/databases/tsv/metadata?limit=20000")).await;
    assert_eq!(status, 400);
    assert_eq!(
        body["error"],
        "limit 20000 is above the largest page, 10000"
    );
    let (status, body) = get_json(&server.url("/api/databases/tsv/metadata?limit=lots")).await;
    assert_eq!(status, 400);
    assert!(body["error"].as_str().unwrap().contains("limit"), "{body}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_openapi_document_lists_every_route_and_info_describes_the_databases() {
    let (server, _dir) = instance(
        "openapi",
        "\n[databases.tsv.defaults]\nz = { value = 3, hide = true }\ncoverage = 0.4\n",
    );
    let (status, doc) = get_json(&server.url("/api/openapi.json")).await;
    assert_eq!(status, 200);
    assert_eq!(doc["openapi"], "3.1.0");
    let paths: BTreeSet<&str> = doc["paths"]
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(
        paths,
        BTreeSet::from([
            "/healthz",
            "/readyz",
            "/metrics",
            "/api/info",
            "/api/databases/{db}/metadata",
            "/api/query",
            "/api/query/{db}",
            "/api/sessions/{id}",
            "/api/sessions/{id}/hit",
            "/api/sessions/{id}/events",
            "/api/sessions/{id}/download",
            "/api/sessions/{id}/tabs/{plugin}",
            "/plugins/{plugin}/{path}",
            "/api/openapi.json",
            "/kmindex/infos",
            "/kmindex/query",
        ])
    );
    assert_eq!(&doc, common::openapi::document(), "served as made");
    // The validator the tests check answers with refuses what the types would not write.
    for wrong in [
        json!({"session": 1, "status": "running"}),
        json!({"session": "a", "status": "late"}),
        json!({"session": "a"}),
    ] {
        assert!(
            common::openapi::validate("/components/schemas/Submitted", &wrong).is_err(),
            "{wrong}"
        );
    }
    common::openapi::validate(
        "/components/schemas/Submitted",
        &json!({"session": "a", "status": "running"}),
    )
    .unwrap();
    let info = "/paths/~1api~1info/get/responses/200/content/application~1json/schema";
    assert!(common::openapi::validate(info, &json!({})).is_err());
    // Every described operation is routed: none falls through to the unknown-path answer
    // (405 for a method the path lacks), whatever it answers with made-up parameters.
    for (template, item) in doc["paths"].as_object().unwrap() {
        if template.starts_with("/kmindex/") {
            continue; // Served by `kmviz index serve` and the demo (tests/kmindex_server.rs).
        }
        let path = template
            .replace("{db}", "tsv")
            .replace("{id}", "f00d")
            .replace("{plugin}", "none")
            .replace("{path}", "a.css");
        for method in item.as_object().unwrap().keys() {
            let method = reqwest::Method::from_bytes(method.to_uppercase().as_bytes()).unwrap();
            let response = client()
                .request(method.clone(), server.url(&path))
                .send()
                .await
                .unwrap();
            let status = response.status().as_u16();
            let body = response.text().await.unwrap();
            assert!(
                status != 405 && !body.contains("no API route"),
                "{method} {template} is described but not routed: {status} {body}"
            );
        }
    }
    let (_, info) = get_json(&server.url("/api/info")).await;
    contract::<app::api::Info>(&info);
    let tsv = info["databases"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["name"] == "tsv")
        .unwrap();
    assert_eq!(tsv["provider"], "kmindex");
    let mut indexes = tsv["indexes"].clone();
    for index in indexes.as_array_mut().unwrap() {
        let occupancy = index.as_object_mut().unwrap().remove("occupancy");
        let occupancy = occupancy.and_then(|o| o.as_f64()).unwrap();
        assert!(0.0 < occupancy && occupancy < 0.5, "{occupancy}");
    }
    let layout = json!({"minimizer_size": 10, "partitions": 4, "bloom_size": 800000});
    let index = |name, abundance, bits| {
        let mut index = json!({"name": name, "smer_size": 25, "abundance": abundance,
            "samples": 16, "bits_per_cell": bits});
        index
            .as_object_mut()
            .unwrap()
            .extend(layout.as_object().unwrap().clone());
        index
    };
    assert_eq!(
        indexes,
        json!([index("abs", true, 2), index("pa", false, 1)])
    );
    assert_eq!(tsv["metadata"]["rows"], 15);
    let z = &tsv["options"][0];
    assert_eq!(
        (
            z["name"].as_str(),
            z["value"].as_f64(),
            z["hidden"].as_bool()
        ),
        (Some("z"), Some(3.0), Some(true))
    );
    assert_eq!(tsv["options"][1]["value"], 0.4);
    assert_eq!(tsv["options"][2]["type"], "multi_choice");
    assert_eq!(tsv["options"][2]["default"], json!(["abs", "pa"]));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn basic_authentication_guards_everything_when_configured() {
    let (server, _dir) = instance("auth", "\n[auth]\nalice = \"s3cret\"\n");
    let url = server.url("/api/info");
    let response = client().get(&url).send().await.unwrap();
    assert_eq!(response.status(), 401);
    assert_eq!(
        response.headers()["www-authenticate"],
        "Basic realm=\"kmviz\""
    );
    let wrong = client()
        .get(&url)
        .basic_auth("alice", Some("secret"))
        .send()
        .await
        .unwrap();
    assert_eq!(wrong.status(), 401);
    let stranger = client()
        .get(server.url("/api/sessions/x"))
        .basic_auth("bob", Some("s3cret"))
        .send()
        .await
        .unwrap();
    assert_eq!(stranger.status(), 401);
    let right = client()
        .get(&url)
        .basic_auth("alice", Some("s3cret"))
        .send()
        .await
        .unwrap();
    assert_eq!(right.status(), 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn results_are_capped_with_a_count_of_what_is_not_shown() {
    let (server, _dir) = instance("cap", "\n[engine]\nmax_results = 3\n");
    let seq = &records("pa_dataset", 1)[0].seq;
    // Coverage 0 keeps every sample of both sub-indexes: 32 hits, 3 kept.
    let (_, submitted) = submit(
        &server,
        json!({"fastx": format!(">q\n{seq}\n"), "databases": [{"name": "tsv", "options": {"coverage": 0}}]}),
    )
    .await;
    let id = submitted["session"].as_str().unwrap();
    let session = server.finished(id).await;
    let result = &pair(&session, "q", "tsv")["result"];
    assert_eq!(result["hits"].as_array().unwrap().len(), 3);
    assert_eq!(result["not_shown"], 29);
    // The best are kept: D1 holds the whole query in both sub-indexes.
    assert_eq!(result["hits"][0]["ID"], "D1");
    assert_eq!(result["hits"][0]["CovXK"], 1.0);
    let zip = client()
        .get(server.url(&format!("/api/sessions/{id}/download")))
        .send()
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    assert!(unzip(&zip)["README.md"].contains("3 samples (29 more not shown)"));
}
