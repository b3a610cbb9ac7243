//! What an attacker (or a careless client) can send: bounded by default limits, refused when
//! wasteful, stopped when cancelled. Against a real `kmviz serve` on the fixture index.

mod common;

use std::io::Write;
use std::path::PathBuf;
use std::time::Duration;

use common::Server;
use serde_json::{Value, json};

/// One database on the fixture index (see [`common::fixture_config`]), served.
fn instance(tag: &str, extra: &str) -> (Server, PathBuf) {
    let dir = common::scratch(&format!("hardening-{tag}"));
    (Server::process(&common::fixture_config(&dir, extra)), dir)
}

/// A field of `/proc/<pid>/status`, in kB.
fn status_kb(pid: u32, field: &str) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .unwrap()
        .lines()
        .find_map(|l| l.strip_prefix(field))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap()
}

/// CPU seconds process `pid` has used so far (user and system).
fn cpu_seconds(pid: u32) -> f64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
    // Fields after the command name, which is in parentheses: utime and stime are 14 and 15.
    let fields: Vec<&str> = stat[stat.rfind(')').unwrap() + 2..].split(' ').collect();
    let ticks: f64 = fields[11].parse::<f64>().unwrap() + fields[12].parse::<f64>().unwrap();
    ticks / 100.0
}

fn gzip(data: &[u8]) -> Vec<u8> {
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    encoder.write_all(data).unwrap();
    encoder.finish().unwrap()
}

async fn submit(server: &Server, body: Value) -> (u16, Value) {
    let response = reqwest::Client::new()
        .post(server.url("/api/query"))
        .json(&body)
        .send()
        .await
        .unwrap();
    common::openapi::read("POST", response).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_gzip_bomb_under_the_default_limits_is_refused_with_memory_bounded() {
    let (server, _dir) = instance("bomb", "");
    // 32 MB of one letter inflate from a few tens of KB.
    let mut fasta = b">bomb\n".to_vec();
    fasta.resize(32 << 20, b'A');
    let bomb = gzip(&fasta);
    assert!(bomb.len() < 64 << 10, "{} bytes", bomb.len());
    let before = status_kb(server.pid(), "VmRSS:");
    for path in ["/api/query", "/api/query/fixture"] {
        let mut form = reqwest::multipart::Form::new().part(
            "fastx",
            reqwest::multipart::Part::bytes(bomb.clone()).file_name("bomb.fa.gz"),
        );
        if path == "/api/query" {
            form = form.text("database", "fixture");
        }
        let response = reqwest::Client::new()
            .post(server.url(path))
            .multipart(form)
            .send()
            .await
            .unwrap();
        let (status, body) = common::openapi::read("POST", response).await;
        assert_eq!(status, 400, "{path}");
        let error = body["error"].as_str().unwrap();
        assert!(error.contains("21048576"), "{path}: {error}");
    }
    // What was inflated is capped (21 MB), and nothing ran.
    let peak = status_kb(server.pid(), "VmHWM:");
    assert!(
        peak < before + 200_000,
        "peak {peak} kB, {before} kB before"
    );
    // A query of the largest size allowed by default is taken.
    let (status, body) = submit(
        &server,
        json!({"fastx": format!(">big\n{}\n", common::random_dna(7, 1_000_000)), "databases": ["fixture"]}),
    )
    .await;
    assert_eq!(status, 202, "{body}");
    let (status, body) = submit(
        &server,
        json!({"fastx": format!(">big\n{}\n", common::random_dna(7, 1_000_001)), "databases": ["fixture"]}),
    )
    .await;
    assert_eq!(status, 400, "{body}");
    assert!(
        body["error"].as_str().unwrap().contains("1000000"),
        "{body}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sub_index_named_twice_is_refused() {
    let (server, _dir) = instance("twice", "");
    let index: Vec<&str> = std::iter::repeat_n("pa", 2_000).collect();
    let (status, body) = submit(
        &server,
        json!({"fastx": common::random_dna(3, 200), "databases": [{"name": "fixture", "options": {"index": index}}]}),
    )
    .await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(
        body["error"], "database 'fixture': option 'index' names 'pa' twice",
        "{body}"
    );
}

/// Lets queries long enough to keep the lookups busy for many seconds.
const LONG_QUERIES: &str = "[input]\nmax_query_size = 8000000\nmax_size = 40000000\n";

/// Submits `queries` queries of `letters` letters, which keep both cores busy for seconds,
/// waits until they do, and returns the session id.
async fn busy_session(server: &Server, queries: u64, letters: usize) -> String {
    let fastx: String = (0..queries)
        .map(|i| format!(">q{i}\n{}\n", common::random_dna(i + 1, letters)))
        .collect();
    let (status, body) = submit(server, json!({"fastx": fastx, "databases": ["fixture"]})).await;
    assert_eq!(status, 202, "{body}");
    let id = body["session"].as_str().unwrap().to_owned();
    // Busy: half a CPU second used since (other tests may share the cores).
    let started = cpu_seconds(server.pid());
    for _ in 0..200 {
        if cpu_seconds(server.pid()) - started > 0.5 {
            return id;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("the lookups did not start");
}

/// CPU seconds the server uses over one second starting `after` from now.
async fn cpu_over_a_second(server: &Server, after: Duration) -> f64 {
    tokio::time::sleep(after).await;
    let start = cpu_seconds(server.pid());
    tokio::time::sleep(Duration::from_secs(1)).await;
    cpu_seconds(server.pid()) - start
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cancelling_a_session_stops_its_lookups() {
    let (server, _dir) = instance(
        "cancel",
        &format!("{LONG_QUERIES}[engine]\nconcurrency = 2\ntimeout = 600\n"),
    );
    let id = busy_session(&server, 8, 4_000_000).await;
    let response = reqwest::Client::new()
        .post(server.url(&format!("/api/sessions/{id}/cancel")))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let used = cpu_over_a_second(&server, Duration::from_millis(200)).await;
    assert!(
        used < 0.25,
        "{used:.2} CPU seconds in the second after the cancel"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_timed_out_pair_stops_its_lookup() {
    let (server, _dir) = instance(
        "timeout",
        &format!("{LONG_QUERIES}[engine]\nconcurrency = 2\ntimeout = 1\n"),
    );
    let id = busy_session(&server, 4, 8_000_000).await;
    // Every pair times out a second after it starts: two at a time, four in all.
    let session = server.finished(&id).await;
    for pair in session["pairs"].as_array().unwrap() {
        assert_eq!(pair["state"], "failed", "{pair}");
        assert_eq!(pair["error"], "no answer within 1 s", "{pair}");
    }
    let used = cpu_over_a_second(&server, Duration::from_millis(200)).await;
    assert!(
        used < 0.25,
        "{used:.2} CPU seconds in the second after the timeouts"
    );
}

/// Reads what the server sends on `stream` until it closes it; `None` if it has not within
/// `limit`.
fn read_until_closed(stream: &mut std::net::TcpStream, limit: Duration) -> Option<String> {
    use std::io::Read;
    stream.set_read_timeout(Some(limit)).unwrap();
    let mut answer = Vec::new();
    match stream.read_to_end(&mut answer) {
        Ok(_) => Some(String::from_utf8_lossy(&answer).into_owned()),
        Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => Some(String::new()),
        Err(_) => None,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slow_headers_and_stalled_bodies_are_dropped() {
    let (server, _dir) = instance("slow", "");
    let address = server.base.trim_start_matches("http://").to_owned();
    // 200 connections that never finish their headers, and one whose body stalls.
    let mut slow: Vec<std::net::TcpStream> = (0..200)
        .map(|_| {
            let mut stream = std::net::TcpStream::connect(&address).unwrap();
            stream
                .write_all(b"GET /api/info HTTP/1.1\r\nHost: x\r\n")
                .unwrap();
            stream
        })
        .collect();
    let mut stalled = std::net::TcpStream::connect(&address).unwrap();
    stalled
        .write_all(
            b"POST /api/query HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n\
              Content-Length: 1000\r\n\r\n{\"fastx\": ",
        )
        .unwrap();
    // Others are served meanwhile.
    let started = std::time::Instant::now();
    let (status, _) = common::get_json(&server.url("/api/info")).await;
    assert_eq!(status, 200);
    assert!(started.elapsed() < Duration::from_secs(2));
    // Each is closed once its time is up (10 s), not left open: the first one found open
    // after 20 s fails the test.
    let closed = tokio::task::spawn_blocking(move || -> Result<(), String> {
        let limit = Duration::from_secs(20);
        let body = read_until_closed(&mut stalled, limit)
            .ok_or("the stalled body's connection was left open")?;
        if !(body.is_empty() || body.starts_with("HTTP/1.1 4")) {
            return Err(format!("stalled body answered: {body}"));
        }
        for stream in &mut slow {
            let answer =
                read_until_closed(stream, limit).ok_or("a slow-header connection was left open")?;
            if !(answer.is_empty() || answer.starts_with("HTTP/1.1 408")) {
                return Err(format!("slow headers answered: {answer}"));
            }
        }
        Ok(())
    })
    .await
    .unwrap();
    closed.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_answer_has_security_headers_and_unknown_api_paths_are_json_404() {
    let (server, _dir) = instance("headers", "");
    let client = reqwest::Client::new();
    for path in ["/api/info", "/api/nope", "/kmindex/nope"] {
        let response = client.get(server.url(path)).send().await.unwrap();
        let headers = response.headers();
        let policy = headers["content-security-policy"].to_str().unwrap();
        assert!(
            policy.contains("script-src 'self' 'wasm-unsafe-eval';")
                && policy.contains("frame-ancestors 'none'"),
            "{path}: {policy}"
        );
        assert_eq!(headers["x-content-type-options"], "nosniff", "{path}");
        assert_eq!(headers["referrer-policy"], "no-referrer", "{path}");
        assert!(
            headers.get_all("vary").iter().any(|v| v
                .to_str()
                .unwrap()
                .to_ascii_lowercase()
                .contains("accept-encoding")),
            "{path}"
        );
    }
    let response = client.post(server.url("/api/nope")).send().await.unwrap();
    let (status, body) = common::openapi::read("POST", response).await;
    assert_eq!(status, 404);
    assert_eq!(body["error"], "no API route POST /api/nope");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cross_site_requests_that_change_state_are_refused() {
    let (server, _dir) = instance("cross-site", "");
    let client = reqwest::Client::new();
    let body = json!({"fastx": common::random_dna(5, 200), "databases": ["fixture"]});
    let post = |headers: &[(&'static str, &'static str)]| {
        let mut request = client.post(server.url("/api/query")).json(&body);
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        request.send()
    };
    // What another site's page makes a browser send.
    for headers in [
        &[("sec-fetch-site", "cross-site")][..],
        &[("sec-fetch-site", "same-site")],
        &[("origin", "http://evil.example")],
        &[("origin", "null")],
    ] {
        let response = post(headers).await.unwrap();
        let (status, error) = common::openapi::read("POST", response).await;
        assert_eq!(status, 403, "{headers:?}");
        assert!(
            error["error"]
                .as_str()
                .unwrap()
                .starts_with("cross-site requests are refused"),
            "{error}"
        );
    }
    // The app itself, and programs that send no Origin (kmviz 0.8's clients, curl).
    let own = server.base.clone();
    let own: &'static str = Box::leak(own.into_boxed_str());
    for headers in [
        &[("sec-fetch-site", "same-origin"), ("origin", own)][..],
        &[("origin", own)],
        &[],
    ] {
        let response = post(headers).await.unwrap();
        assert_eq!(response.status(), 202, "{headers:?}");
    }
    // Reading is never refused.
    let response = client
        .get(server.url("/api/info"))
        .header("sec-fetch-site", "cross-site")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn basic_authentication_takes_any_scheme_case_and_slows_failures() {
    let (server, _dir) = instance("auth", "[auth]\nana = \"s3cret\"\n");
    let client = reqwest::Client::new();
    let get = |authorization: &'static str| {
        client
            .get(server.url("/api/info"))
            .header("authorization", authorization)
            .send()
    };
    // "ana:s3cret"
    for scheme in ["Basic", "basic", "BASIC"] {
        let value: &'static str = Box::leak(format!("{scheme} YW5hOnMzY3JldA==").into_boxed_str());
        assert_eq!(get(value).await.unwrap().status(), 200, "{scheme}");
    }
    // "ana:guess": each failure in a row from this client is answered twice as late.
    let mut delays = Vec::new();
    for _ in 0..3 {
        let started = std::time::Instant::now();
        assert_eq!(get("Basic YW5hOmd1ZXNz").await.unwrap().status(), 401);
        delays.push(started.elapsed());
    }
    for (delay, least) in delays.iter().zip([500, 1000, 2000]) {
        let least = Duration::from_millis(least);
        assert!(*delay >= least && *delay < least * 2, "{delays:?}");
    }
    assert!(server.logs("authentication failed for /api/info from 127.0.0.1 (3 in a row"));
    // A success starts over.
    assert_eq!(get("Basic YW5hOnMzY3JldA==").await.unwrap().status(), 200);
    let started = std::time::Instant::now();
    assert_eq!(get("Basic YW5hOmd1ZXNz").await.unwrap().status(), 401);
    assert!(started.elapsed() < Duration::from_millis(1000));
}

/// `kmviz index serve` on the fixture index with `args`; its base URL once it listens.
fn index_serve(args: &[&str]) -> (std::process::Child, String) {
    use std::io::BufRead;
    let index = common::fixture_index();
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_kmviz"))
        .args(["index", "serve", "--port", "0", "--index"])
        .arg(&index)
        .args(args)
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = std::io::BufReader::new(child.stderr.take().unwrap()).lines();
    let base = loop {
        let line = lines.next().expect("kmviz index serve stopped").unwrap();
        if let Some((_, url)) = line.split_once("listening on ") {
            break url.trim().to_owned();
        }
    };
    std::thread::spawn(move || lines.for_each(drop));
    (child, base)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kmindex_serve_takes_a_body_limit_and_authentication_and_refuses_repeats() {
    let dir = common::scratch("hardening-index-serve");
    let users = dir.join("users.toml");
    std::fs::write(&users, "ana = \"s3cret\"\n").unwrap();
    let (mut child, base) = index_serve(&[
        "--max-body-size",
        "2000",
        "--concurrency",
        "1",
        "--auth-file",
        users.to_str().unwrap(),
    ]);
    let client = reqwest::Client::new();
    let post = |body: String, authorized: bool| {
        let mut request = client.post(format!("{base}/kmindex/query")).body(body);
        if authorized {
            request = request.basic_auth("ana", Some("s3cret"));
        }
        request.send()
    };
    let query =
        |index: &str, seq: &str| format!(r#"{{"index":[{index}],"id":"q","seq":["{seq}"],"z":0}}"#);
    let seq = common::random_dna(9, 100);
    let response = post(query("\"pa\"", &seq), false).await.unwrap();
    assert_eq!(response.status(), 401);
    let response = post(query("\"pa\"", &seq), true).await.unwrap();
    assert_eq!(response.status(), 200);
    let response = post(query("\"pa\",\"pa\"", &seq), true).await.unwrap();
    assert_eq!(response.status(), 400);
    assert_eq!(
        response.text().await.unwrap(),
        r#"{"error":"[kmq_error]: 'index' names 'pa' more than once."}"#
    );
    let response = post(query("\"pa\"", &common::random_dna(9, 3000)), true)
        .await
        .unwrap();
    assert_eq!(response.status(), 413);
    let _ = child.kill();
    let _ = child.wait();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn large_downloads_leave_other_requests_answered() {
    let (server, _dir) = instance("downloads", "");
    // 992 queries (the default allows 1,000) of reads of the fixture's samples: thousands of hits.
    let mut fastx = String::new();
    for sample in 0..16 {
        for (i, read) in common::records("pa_dataset", sample)
            .iter()
            .enumerate()
            .take(62)
        {
            fastx.push_str(&format!(">s{sample}r{i}\n{}\n", read.seq));
        }
    }
    let (status, body) = submit(&server, json!({"fastx": fastx, "databases": ["fixture"]})).await;
    assert_eq!(status, 202, "{body}");
    let id = body["session"].as_str().unwrap().to_owned();
    server.finished(&id).await;
    // Two large downloads at once, read slowly, and a trivial request meanwhile.
    let download = |path: String| {
        let url = server.url(&path);
        tokio::spawn(async move {
            let mut response = reqwest::get(url).await.unwrap();
            assert_eq!(response.status(), 200);
            let mut bytes = 0;
            while let Some(chunk) = response.chunk().await.unwrap() {
                bytes += chunk.len();
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
            bytes
        })
    };
    let (zip, json) = (
        download(format!("/api/sessions/{id}/download")),
        download(format!("/api/sessions/{id}?vectors=true")),
    );
    tokio::time::sleep(Duration::from_millis(50)).await;
    let mut slowest = Duration::ZERO;
    for _ in 0..10 {
        let started = std::time::Instant::now();
        let (status, _) = common::get_json(&server.url("/api/info")).await;
        assert_eq!(status, 200);
        slowest = slowest.max(started.elapsed());
    }
    assert!(slowest < Duration::from_millis(100), "{slowest:?}");
    let (zip, json) = (zip.await.unwrap(), json.await.unwrap());
    eprintln!("downloaded {zip} and {json} bytes");
    assert!(zip > 100_000 && json > 100_000);
}
