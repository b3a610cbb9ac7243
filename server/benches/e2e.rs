//! kmviz against kmviz 0.8 (the Python original, from PyPI) on the same index, same queries,
//! same machine, in one run: the Tara example (`../shared/fixtures/tara-small`, 290 samples)
//! indexed by `kmviz index build --kmer-size 25`; kmviz 0.8 in API mode over `kmviz index
//! serve` on that index, kmviz reading it natively. One-query requests of 1 kb fragments of the
//! samples' sequences, z = 3, coverage 0.1, from 1 and 16 clients, and one 100-query request:
//!
//! - `/api/query/{db}` (kmviz 0.8's form, answered with a ZIP) on both;
//! - the JSON API: kmviz 0.8's `POST /api/query` (the session's JSON) against kmviz's
//!   `POST /api/query`, its `/events` until the end, then `GET /api/sessions/{id}`.
//!
//! Prints throughput, p50, p99, bytes on the wire and peak memory, and the ratios; checks that
//! both find the same samples with the same CovXK (kmviz 0.8 rounds it to 3 decimals).
//!
//! `cargo xtask bench-e2e` installs kmviz 0.8 (`$KMVIZ_08_PYTHON` names its Python) and runs
//! `cargo bench -p kmviz --bench e2e [-- SECONDS]` (seconds per scenario; 8 by default).

use std::collections::BTreeMap;
use std::io::Read;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

const DB: &str = "tara";
const FRAGMENT: usize = 1000;
const Z: &str = "3";
const COVERAGE: &str = "0.1";

fn shared() -> PathBuf {
    std::env::var_os("KMVIZ_SHARED")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared"))
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A server process, killed when dropped.
struct Process {
    name: &'static str,
    child: Child,
}

impl Process {
    fn start(name: &'static str, command: &mut Command, log: &Path) -> Process {
        let log = std::fs::File::create(log).unwrap();
        let child = command
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {name}: {e}"));
        Process { name, child }
    }

    /// Peak resident memory (VmHWM), in MB.
    fn peak_mb(&self) -> f64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id()))
            .unwrap_or_default();
        status
            .lines()
            .find_map(|l| l.strip_prefix("VmHWM:"))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
            .map_or(0.0, |kb| kb / 1024.0)
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

async fn wait_for_port(process: &mut Process, port: u16, log: &Path) {
    for _ in 0..1200 {
        if tokio::net::TcpStream::connect(("127.0.0.1", port))
            .await
            .is_ok()
        {
            return;
        }
        if let Ok(Some(status)) = process.child.try_wait() {
            panic!(
                "{} ended ({status}) before listening:\n{}",
                process.name,
                std::fs::read_to_string(log).unwrap_or_default()
            );
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("{} did not listen on port {port}", process.name);
}

/// 1 kb of each sample's reads, joined, as FASTA records `f<i>`.
fn fragments(tara: &Path) -> Vec<(String, String)> {
    let fof = std::fs::read_to_string(tara.join("fof.txt")).unwrap();
    fof.lines()
        .filter_map(|line| line.split_once(':'))
        .enumerate()
        .map(|(i, (_, file))| {
            let text = std::fs::read(tara.join(file.trim())).unwrap();
            let mut seq = String::new();
            for record in app::model::query::read_fastx(&text).unwrap() {
                seq.push_str(&record.seq);
            }
            seq.truncate(FRAGMENT);
            (format!("f{i}"), seq)
        })
        .filter(|(_, seq)| seq.len() == FRAGMENT)
        .collect()
}

fn fasta(records: &[(String, String)]) -> String {
    records
        .iter()
        .map(|(n, s)| format!(">{n}\n{s}\n"))
        .collect()
}

/// What one request brought back: its bytes on the wire and the answer, read (per query,
/// sample → CovXK) only where answers are compared: under load the client only receives, as
/// its parsing would take the cores from the server it measures.
struct Answer {
    bytes: usize,
    route: Route,
    body: axum::body::Bytes,
}

impl Answer {
    fn hits(&self) -> BTreeMap<String, BTreeMap<String, f64>> {
        match self.route {
            Route::Zip => zip_hits(&self.body),
            Route::Json08 => kmviz_08_session_hits(&serde_json::from_slice(&self.body).unwrap()),
            Route::JsonAsync => {
                let mut json = Vec::new();
                flate2::read::GzDecoder::new(&self.body[..])
                    .read_to_end(&mut json)
                    .unwrap();
                let session: serde_json::Value = serde_json::from_slice(&json).unwrap();
                assert_eq!(session["status"], "done");
                session_hits(&session)
            }
        }
    }
}

/// The form of `/api/query/{db}` (and kmviz 0.8's `/api/query`): the file and bare options;
/// `database_field` adds kmviz 0.8's `database` field and `<db>#<option>` names.
fn form(fastx: String, database_field: bool) -> reqwest::multipart::Form {
    let option = |name: &str| {
        if database_field {
            format!("{DB}#{name}")
        } else {
            name.to_owned()
        }
    };
    let mut form = reqwest::multipart::Form::new()
        .text(option("z"), Z)
        .text(option("coverage"), COVERAGE);
    if database_field {
        form = form.text("database", DB);
    }
    form.part(
        "fastx",
        reqwest::multipart::Part::bytes(fastx.into_bytes()).file_name("queries.fa"),
    )
}

/// Per TSV of a ZIP (one per query): sample → CovXK.
fn zip_hits(bytes: &[u8]) -> BTreeMap<String, BTreeMap<String, f64>> {
    let mut archive = zip::ZipArchive::new(std::io::Cursor::new(bytes)).expect("a ZIP");
    let mut out = BTreeMap::new();
    for i in 0..archive.len() {
        let mut file = archive.by_index(i).unwrap();
        let name = file.name().unwrap().into_owned();
        let Some(stem) = name.strip_suffix(".tsv").map(str::to_owned) else {
            continue;
        };
        // kmviz names its TSVs `<query>__<database>.tsv`, kmviz 0.8 `<query>.tsv`.
        let query = stem.split("__").next().unwrap().to_owned();
        let mut text = String::new();
        file.read_to_string(&mut text).unwrap();
        let mut lines = text.lines();
        let header: Vec<&str> = lines.next().unwrap_or_default().split('\t').collect();
        let column = |name: &str| header.iter().position(|h| *h == name).unwrap();
        let (id, cov) = (column("ID"), column("CovXK"));
        let hits = lines
            .map(|l| l.split('\t').collect::<Vec<_>>())
            .map(|cells| (cells[id].to_owned(), cells[cov].parse().unwrap()))
            .collect();
        out.insert(query, hits);
    }
    out
}

/// Per pair of a session's JSON: sample → CovXK.
fn session_hits(session: &serde_json::Value) -> BTreeMap<String, BTreeMap<String, f64>> {
    let mut out = BTreeMap::new();
    for pair in session["pairs"].as_array().into_iter().flatten() {
        let hits = pair["result"]["hits"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|h| {
                (
                    h["ID"].as_str().unwrap().to_owned(),
                    h["CovXK"].as_f64().unwrap(),
                )
            })
            .collect();
        out.insert(pair["query"].as_str().unwrap().to_owned(), hits);
    }
    out
}

/// The ways a request is sent.
#[derive(Clone, Copy, PartialEq)]
enum Route {
    /// `POST /api/query/{db}` → ZIP (both).
    Zip,
    /// kmviz 0.8's `POST /api/query` → the session's JSON.
    Json08,
    /// kmviz's `POST /api/query`, `/events` until the end, `GET /api/sessions/{id}`.
    JsonAsync,
}

/// Posts `form` to `url`; the answer's bytes.
async fn post_form(
    client: &reqwest::Client,
    url: String,
    form: reqwest::multipart::Form,
) -> reqwest::Result<axum::body::Bytes> {
    let response = client.post(url).multipart(form).send().await?;
    assert!(response.status().is_success(), "{}", response.status());
    response.bytes().await
}

async fn request(client: &reqwest::Client, base: &str, route: Route, fastx: String) -> Answer {
    let body = match route {
        Route::Zip => {
            let url = format!("{base}/api/query/{DB}");
            post_form(client, url, form(fastx, false)).await.unwrap()
        }
        Route::Json08 => {
            let url = format!("{base}/api/query");
            post_form(client, url, form(fastx, true)).await.unwrap()
        }
        Route::JsonAsync => {
            let body = serde_json::json!({
                "fastx": fastx,
                "databases": [{"name": DB, "options": {"z": 3, "coverage": 0.1}}],
            });
            let submitted = client
                .post(format!("{base}/api/query"))
                .json(&body)
                .send()
                .await
                .unwrap();
            assert_eq!(submitted.status(), 202);
            let mut bytes = submitted.content_length().unwrap_or(0) as usize;
            let id = submitted.json::<serde_json::Value>().await.unwrap()["session"]
                .as_str()
                .unwrap()
                .to_owned();
            let events = client
                .get(format!("{base}/api/sessions/{id}/events"))
                .send()
                .await
                .unwrap()
                .bytes()
                .await
                .unwrap();
            bytes += events.len();
            // Sent as a browser sends it: the answer is compressed on the wire.
            let session = client
                .get(format!("{base}/api/sessions/{id}"))
                .header("accept-encoding", "gzip")
                .send()
                .await
                .unwrap();
            assert_eq!(session.headers()["content-encoding"], "gzip");
            let body = session.bytes().await.unwrap();
            return Answer {
                bytes: bytes + body.len(),
                route,
                body,
            };
        }
    };
    Answer {
        bytes: body.len(),
        route,
        body,
    }
}

/// kmviz 0.8's session JSON: `{session: {query: {database: response}}}`, where the response
/// holds its table as pandas writes it (`{"ID": {"0": …}, "CovXK": {"0": …}, …}`).
fn kmviz_08_session_hits(session: &serde_json::Value) -> BTreeMap<String, BTreeMap<String, f64>> {
    fn table(value: &serde_json::Value) -> Option<&serde_json::Map<String, serde_json::Value>> {
        let map = value.as_object()?;
        if map.get("ID").is_some_and(|v| v.is_object()) && map.contains_key("CovXK") {
            return Some(map);
        }
        map.values().find_map(table)
    }
    let mut out = BTreeMap::new();
    for queries in session.as_object().into_iter().flat_map(|m| m.values()) {
        for (query, databases) in queries.as_object().into_iter().flatten() {
            let Some(df) = table(&databases[DB]) else {
                panic!("kmviz 0.8 answered query {query} without a table: {databases}");
            };
            let hits = df["ID"]
                .as_object()
                .unwrap()
                .iter()
                .map(|(row, id)| {
                    (
                        id.as_str().unwrap().to_owned(),
                        df["CovXK"][row].as_f64().unwrap(),
                    )
                })
                .collect();
            out.insert(query.clone(), hits);
        }
    }
    out
}

struct Measure {
    requests: usize,
    per_second: f64,
    p50: Duration,
    p99: Duration,
    bytes_per_request: f64,
}

/// `clients` clients send one-query requests for `seconds`, cycling through `queries`.
async fn load(
    base: &str,
    route: Route,
    queries: &[(String, String)],
    clients: usize,
    seconds: f64,
) -> Measure {
    let client = reqwest::Client::new();
    let queries = Arc::new(queries.to_vec());
    let next = Arc::new(AtomicUsize::new(0));
    let bytes = Arc::new(AtomicUsize::new(0));
    let deadline = Instant::now() + Duration::from_secs_f64(seconds);
    let started = Instant::now();
    let mut workers = Vec::new();
    for _ in 0..clients {
        let (client, base, queries, next, bytes) = (
            client.clone(),
            base.to_owned(),
            Arc::clone(&queries),
            Arc::clone(&next),
            Arc::clone(&bytes),
        );
        workers.push(tokio::spawn(async move {
            let mut latencies = Vec::new();
            while Instant::now() < deadline {
                let i = next.fetch_add(1, Ordering::Relaxed) % queries.len();
                let t = Instant::now();
                let answer = request(&client, &base, route, fasta(&queries[i..=i])).await;
                latencies.push(t.elapsed());
                bytes.fetch_add(answer.bytes, Ordering::Relaxed);
            }
            latencies
        }));
    }
    let mut latencies = Vec::new();
    for worker in workers {
        latencies.extend(worker.await.unwrap());
    }
    let elapsed = started.elapsed().as_secs_f64();
    latencies.sort();
    let at = |q: f64| latencies[((latencies.len() as f64 * q) as usize).min(latencies.len() - 1)];
    Measure {
        requests: latencies.len(),
        per_second: latencies.len() as f64 / elapsed,
        p50: at(0.5),
        p99: at(0.99),
        bytes_per_request: bytes.load(Ordering::Relaxed) as f64 / latencies.len() as f64,
    }
}

fn ms(d: Duration) -> String {
    format!("{:.1} ms", d.as_secs_f64() * 1000.0)
}

/// Checks that both answers hold the same samples with the same CovXK (to kmviz 0.8's
/// rounding); returns the number of hits compared.
fn agree(
    ours: &BTreeMap<String, BTreeMap<String, f64>>,
    theirs: &BTreeMap<String, BTreeMap<String, f64>>,
    what: &str,
) -> usize {
    assert_eq!(
        ours.keys().collect::<Vec<_>>(),
        theirs.keys().collect::<Vec<_>>(),
        "{what}: not the same queries"
    );
    let mut compared = 0;
    for (query, hits) in ours {
        let other = &theirs[query];
        assert_eq!(
            hits.keys().collect::<Vec<_>>(),
            other.keys().collect::<Vec<_>>(),
            "{what}: query {query}: not the same samples"
        );
        for (sample, cov) in hits {
            let rounded = (cov * 1000.0).round() / 1000.0;
            assert!(
                (rounded - other[sample]).abs() < 1e-9,
                "{what}: query {query}, sample {sample}: CovXK {cov} here, {} in kmviz 0.8",
                other[sample]
            );
            compared += 1;
        }
    }
    compared
}

#[tokio::main]
async fn main() {
    let seconds: f64 = std::env::args()
        .skip(1)
        .find_map(|a| a.parse().ok())
        .unwrap_or(8.0);
    let python = std::env::var("KMVIZ_08_PYTHON").unwrap_or_else(|_| {
        panic!("KMVIZ_08_PYTHON must name a Python with kmviz==0.8.0 (cargo xtask bench-e2e installs it)")
    });
    // Another build of kmviz may be measured (`KMVIZ_BIN`), with this bench's workload.
    let kmviz =
        std::env::var("KMVIZ_BIN").unwrap_or_else(|_| env!("CARGO_BIN_EXE_kmviz").to_owned());
    let kmviz = kmviz.as_str();
    let tara = shared().join("fixtures/tara-small");
    let dir = std::env::temp_dir().join(format!("kmviz-bench-e2e-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let index = dir.join("index");

    eprintln!("bench: indexing the Tara example (290 samples, k = 25)");
    let status = Command::new(kmviz)
        .args(["index", "build", "--fof"])
        .arg(tara.join("fof.txt"))
        .arg("--index")
        .arg(&index)
        .args(["--name", DB, "--kmer-size", "25"])
        .stdout(Stdio::null())
        .status()
        .unwrap();
    assert!(status.success(), "kmviz index build failed");

    // kmviz 0.8 over `kmviz index serve`, which must answer before it starts.
    let index_port = free_port();
    let index_log = dir.join("index-serve.log");
    let mut index_server = Process::start(
        "kmviz index serve",
        Command::new(kmviz)
            .args(["index", "serve", "--index"])
            .arg(&index)
            .args(["--port", &index_port.to_string()]),
        &index_log,
    );
    wait_for_port(&mut index_server, index_port, &index_log).await;
    let old_port = free_port();
    std::fs::write(
        dir.join("kmviz08.yaml"),
        format!(
            "databases:\n  {DB}:\n    type: kmindex-server\n    params:\n      url: 127.0.0.1\n      port: {index_port}\n    \
             metadata:\n      type: tsv\n      params:\n        path: {}\n        idx: Sample\n        sep: \"\\t\"\n        \
             geodata: {{latitude: Lat, longitude: Long}}\n\
             cache:\n  result: {{type: disk, params: {{cache_dir: {d}/cache/result}}}}\n  \
             server: {{type: disk, params: {{cache_dir: {d}/cache/server}}}}\n  \
             manager: {{type: disk, params: {{directory: {d}/cache/manager}}}}\n\
             api:\n  enabled: true\n",
            tara.join("metadata.tsv").display(),
            d = dir.display()
        ),
    )
    .unwrap();
    let old_log = dir.join("kmviz08.log");
    let mut old = Process::start(
        "kmviz 0.8",
        Command::new(&python)
            .args(["-m", "kmviz", "app", "-c"])
            .arg(dir.join("kmviz08.yaml"))
            .args([
                "start",
                "api",
                "-u",
                "127.0.0.1",
                "-p",
                &old_port.to_string(),
            ])
            .current_dir(&dir),
        &old_log,
    );
    wait_for_port(&mut old, old_port, &old_log).await;

    // kmviz, reading the same index natively.
    std::fs::write(
        dir.join("kmviz.toml"),
        format!(
            "[databases.{DB}]\ntype = \"kmindex\"\nparams = {{ index_path = \"{}\" }}\n\
             metadata = {{ type = \"tsv\", params = {{ path = \"{}\", idx = \"Sample\", \
             geodata = {{ latitude = \"Lat\", longitude = \"Long\" }} }} }}\n\
             [sessions]\ndata_dir = \"sessions\"\n",
            index.display(),
            tara.join("metadata.tsv").display()
        ),
    )
    .unwrap();
    let new_port = free_port();
    let new_log = dir.join("kmviz.log");
    let mut new = Process::start(
        "kmviz serve",
        Command::new(kmviz)
            .args(["serve", "--config"])
            .arg(dir.join("kmviz.toml"))
            .args(["--port", &new_port.to_string()]),
        &new_log,
    );
    wait_for_port(&mut new, new_port, &new_log).await;
    let (old_base, new_base) = (
        format!("http://127.0.0.1:{old_port}"),
        format!("http://127.0.0.1:{new_port}"),
    );

    let queries = fragments(&tara);
    let client = reqwest::Client::new();
    // Same answers: the first 40 queries, one by one, through each route.
    let mut compared = 0;
    for i in 0..40.min(queries.len()) {
        let fastx = fasta(&queries[i..=i]);
        let theirs = request(&client, &old_base, Route::Zip, fastx.clone()).await;
        let ours = request(&client, &new_base, Route::Zip, fastx.clone()).await;
        compared += agree(&ours.hits(), &theirs.hits(), "ZIP");
        let ours_json = request(&client, &new_base, Route::JsonAsync, fastx).await;
        agree(&ours_json.hits(), &theirs.hits(), "JSON API");
    }
    println!(
        "answers agree: {compared} hits of {} queries (samples and CovXK, to kmviz 0.8's 3 decimals)",
        40.min(queries.len())
    );

    println!(
        "{} queries of {FRAGMENT} letters, z = {Z}, coverage {COVERAGE}, {seconds} s per measure",
        queries.len()
    );
    println!(
        "{:<44} {:>9} {:>10} {:>10} {:>11} {:>9}",
        "", "requests", "per s", "p50", "p99", "KB each"
    );
    let row = |name: &str, m: &Measure| {
        println!(
            "{name:<44} {:>9} {:>10.1} {:>10} {:>11} {:>9.1}",
            m.requests,
            m.per_second,
            ms(m.p50),
            ms(m.p99),
            m.bytes_per_request / 1024.0
        );
    };
    let mut ratios = Vec::new();
    for (label, old_route, new_route) in [
        ("/api/query/{db} (ZIP)", Route::Zip, Route::Zip),
        ("JSON API", Route::Json08, Route::JsonAsync),
    ] {
        for clients in [1, 16] {
            let theirs = load(&old_base, old_route, &queries, clients, seconds).await;
            let ours = load(&new_base, new_route, &queries, clients, seconds).await;
            row(&format!("kmviz 0.8  {label}, {clients} clients"), &theirs);
            row(&format!("kmviz      {label}, {clients} clients"), &ours);
            ratios.push((
                format!("{label}, {clients} clients"),
                ours.per_second / theirs.per_second,
                ours.p99,
                theirs.bytes_per_request / ours.bytes_per_request,
            ));
        }
    }

    // One request of 100 queries, twice each.
    let hundred = fasta(&queries[..100.min(queries.len())]);
    let timed = |base: String| {
        let (client, hundred) = (client.clone(), hundred.clone());
        async move {
            let mut best = Duration::MAX;
            let mut answer = None;
            for _ in 0..2 {
                let t = Instant::now();
                let a = request(&client, &base, Route::Zip, hundred.clone()).await;
                best = best.min(t.elapsed());
                answer = Some(a);
            }
            (best, answer.unwrap())
        }
    };
    let (old_time, old_answer) = timed(old_base.clone()).await;
    let (new_time, new_answer) = timed(new_base.clone()).await;
    let hits = agree(&new_answer.hits(), &old_answer.hits(), "100 queries");
    println!(
        "one request of 100 queries (ZIP, best of 2): kmviz 0.8 {}, kmviz {} ({hits} hits, {:.0} KB and {:.0} KB)",
        ms(old_time),
        ms(new_time),
        old_answer.bytes as f64 / 1024.0,
        new_answer.bytes as f64 / 1024.0
    );
    println!(
        "peak memory: kmviz 0.8 {:.0} MB (+ kmindex server {:.0} MB), kmviz serve {:.0} MB",
        old.peak_mb(),
        index_server.peak_mb(),
        new.peak_mb()
    );
    // What the session store keeps per finished (query, database) pair.
    let store = rusqlite::Connection::open(dir.join("sessions/sessions.sqlite")).unwrap();
    let (pairs, bytes): (i64, i64) = store
        .query_row(
            "SELECT count(*), sum(length(body)) FROM pairs WHERE body IS NOT NULL",
            [],
            |row| Ok((row.get(0)?, row.get(1)?)),
        )
        .unwrap();
    println!(
        "session store: {pairs} pairs, {:.1} KB each (hits, their values and metadata)",
        bytes as f64 / pairs as f64 / 1024.0
    );
    println!("ratios (kmviz / kmviz 0.8):");
    for (what, throughput, p99, bytes) in ratios {
        println!(
            "  {what:<36} throughput {throughput:>6.1}x   kmviz p99 {:>9}   bytes 1/{bytes:.1}",
            ms(p99)
        );
    }
    println!(
        "  one request of 100 queries           {:.1}x faster",
        old_time.as_secs_f64() / new_time.as_secs_f64()
    );
    drop((old, new, index_server));
    let _ = std::fs::remove_dir_all(&dir);
}
