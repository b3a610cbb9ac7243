//! What the API tests share: the metadata tables (in TSV, SQLite, Parquet and MariaDB), the
//! instance's configuration, requests, and readers of answers.

use std::collections::BTreeMap;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use arrow_array::{ArrayRef, BooleanArray, Float64Array, Int64Array, RecordBatch, StringArray};
use arrow_schema::{DataType, Field, Schema};
use serde_json::{Value, json};

use crate::common::mariadb::mariadb;
use crate::common::{self, Server, contract, fixture_index, kmviz, records};

/// Samples of the metadata tables: D0..D15 but D3, so that hits on D3 lack metadata.
pub const MISSING: usize = 3;

pub struct Row {
    pub id: String,
    pub lat: f64,
    pub long: f64,
    pub depth: i64,
    pub site: String,
    pub filtered: bool,
}

pub fn rows() -> Vec<Row> {
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
pub fn expected_metadata(id: &str) -> Option<Vec<Value>> {
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
pub fn write_metadata(dir: &Path, table: &str) {
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
pub fn config_text(dir: &Path, table: &str, extra: &str) -> String {
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
    let data_dir = format!("data_dir = \"{}\"\n", dir.join("sessions").display());
    // Into `extra`'s own `[sessions]` when it has one: a table is written once.
    match extra.split_once("\n[sessions]\n") {
        Some((before, after)) => text.push_str(&format!("{before}\n[sessions]\n{data_dir}{after}")),
        None => text.push_str(&format!("{extra}\n[sessions]\n{data_dir}")),
    }
    text
}

pub fn temp_dir(tag: &str) -> PathBuf {
    common::scratch(&format!("api-{tag}"))
}

/// The test's instance: metadata written, configuration written, server started (in this
/// process).
pub fn instance(tag: &str, extra: &str) -> (Server, PathBuf) {
    let config = write_instance(tag, extra);
    (Server::start(&config), config.parent().unwrap().to_owned())
}

/// The test's metadata and configuration, written: the configuration file.
pub fn write_instance(tag: &str, extra: &str) -> PathBuf {
    let dir = temp_dir(tag);
    write_metadata(&dir, &format!("samples_{tag}"));
    let config = dir.join("kmviz.toml");
    std::fs::write(&config, config_text(&dir, &format!("samples_{tag}"), extra)).unwrap();
    config
}

/// A multipart form with field names sent as written, as curl and Python's requests do.
pub fn new_form() -> reqwest::multipart::Form {
    reqwest::multipart::Form::new().percent_encode_noop()
}

pub async fn post_form(
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

pub fn client() -> reqwest::Client {
    reqwest::Client::new()
}

pub async fn submit(server: &Server, body: Value) -> (u16, Value) {
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

/// The (query, database) pair of a session.
pub fn pair<'a>(session: &'a Value, query: &str, database: &str) -> &'a Value {
    session["pairs"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["query"] == query && p["database"] == database)
        .unwrap_or_else(|| panic!("no pair ({query}, {database})"))
}

/// Records of `1.fasta` renamed `a<i>` and of `3.fasta` renamed `c<i>`, as FASTA.
pub fn fasta(from_1: usize, from_3: usize) -> (String, Vec<(String, String)>) {
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

pub const DATABASES: [&str; 4] = ["tsv", "sqlite", "parquet", "mariadb"];

/// Per-k-mer values from their `[value, count]` runs.
pub fn kmer_values(runs: &Value) -> Vec<f64> {
    let mut values = Vec::new();
    for run in runs.as_array().unwrap() {
        let (value, count) = (run[0].as_f64().unwrap(), run[1].as_u64().unwrap());
        values.extend(std::iter::repeat_n(value, count as usize));
    }
    values
}

pub fn result_len(result: &Value) -> usize {
    result["query_length"].as_u64().unwrap() as usize
}

/// Per base, the mean of the k-mer values covering it (the definition, computed slowly).
pub fn per_base_mean(kmers: &[f64], k: usize, len: usize) -> Vec<f64> {
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

/// The session's Arrow IPC stream (asked with `Accept`, answered with that content type), read.
pub async fn arrow_batches(server: &Server, id: &str) -> Vec<RecordBatch> {
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
pub async fn arrow_per_base(
    server: &Server,
    id: &str,
) -> BTreeMap<(String, String, String), Vec<f64>> {
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
pub fn silent_server() -> u16 {
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

pub fn closed_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap().port()
}

pub fn remote_database(name: &str, port: u16) -> String {
    format!(
        "\n[databases.{name}]\ntype = \"kmindex-server\"\nparams = {{ url = \"127.0.0.1\", port = {port} }}\n\
         metadata = {{ type = \"tsv\", params = {{ path = \"meta.tsv\", idx = \"Sample\" }} }}\n"
    )
}

/// The entries of a ZIP, by name.
pub fn unzip(bytes: &[u8]) -> BTreeMap<String, String> {
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

/// `kmviz token ARGS --config CONFIG`: whether it succeeded, its stdout and stderr.
pub fn token_cli(config: &Path, args: &[&str]) -> (bool, String, String) {
    let mut all = vec!["token", "--config", config.to_str().unwrap()];
    all.extend_from_slice(args);
    let (ok, out, err) = kmviz(&all);
    (ok, String::from_utf8(out).unwrap(), err)
}

/// A new token named `name`: its text and its id.
pub fn new_token(config: &Path, name: &str) -> (String, String) {
    let (ok, out, err) = token_cli(config, &["create", name]);
    assert!(ok, "{err}");
    let text = out.trim().to_owned();
    let id = text.split('_').nth(1).unwrap().to_owned();
    assert!(
        err.contains(&format!("token {id} ('{name}') made")),
        "{err}"
    );
    (text, id)
}
