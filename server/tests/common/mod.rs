//! Helpers shared by the integration tests: the fixtures in `../shared`, the `kmviz` binary.

#![allow(dead_code)]

pub mod daemon;
pub mod mariadb;
pub mod openapi;
pub mod postgres;

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};

/// An empty folder `kmviz-<name>-<pid>` in the system's temporary folder.
pub fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("kmviz-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// `../shared` beside the repository (or `$KMVIZ_SHARED`).
pub fn shared() -> PathBuf {
    if let Some(dir) = std::env::var_os("KMVIZ_SHARED") {
        return dir.into();
    }
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared");
    assert!(
        dir.join("fixtures/kmindex").is_dir(),
        "the test fixtures are missing: expected {}",
        dir.display()
    );
    dir
}

/// kmindex's test data: `indexes/`, `datasets/`, `outputs/`.
pub fn kmindex_fixtures() -> PathBuf {
    shared().join("fixtures/kmindex")
}

/// The records of `datasets/<dataset>/<sample>.fasta`, read as kmindex reads them.
pub fn records(dataset: &str, sample: usize) -> Vec<app::model::query::Query> {
    let path = kmindex_fixtures().join(format!("datasets/{dataset}/{sample}.fasta"));
    app::model::query::read_fastx(&std::fs::read(path).unwrap()).unwrap()
}

/// The fixture index directory (sub-indexes `pa` and `abs`).
pub fn fixture_index() -> PathBuf {
    kmindex_fixtures().join("indexes/index")
}

/// Runs the `kmviz` binary; returns (status success, stdout, stderr).
pub fn kmviz(args: &[&str]) -> (bool, Vec<u8>, String) {
    let output = Command::new(env!("CARGO_BIN_EXE_kmviz"))
        .args(args)
        .output()
        .expect("run kmviz");
    (
        output.status.success(),
        output.stdout,
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

/// GET `url`: its status and its JSON body, checked against the OpenAPI document (an error of
/// the JSON API also read as its error body).
pub async fn get_json(url: &str) -> (u16, serde_json::Value) {
    let (status, body) = openapi::read("GET", reqwest::get(url).await.unwrap()).await;
    if status >= 400 && url.contains("/api/") {
        contract::<app::api::ErrorBody>(&body);
    }
    (status, body)
}

/// `body` read as the API type `T`, checked to say nothing `T` does not (`T` writes it back
/// as it was): the server answered with the contract the browser reads.
pub fn contract<T: serde::Serialize + serde::de::DeserializeOwned>(body: &serde_json::Value) -> T {
    let read: T = serde_json::from_value(body.clone())
        .unwrap_or_else(|e| panic!("not a {}: {e}\n{body}", std::any::type_name::<T>()));
    assert_eq!(
        &serde_json::to_value(&read).unwrap(),
        body,
        "{} does not hold all of the body",
        std::any::type_name::<T>()
    );
    read
}

/// Reverse complement of an ACGT string (other letters kept).
pub fn revcomp(seq: &str) -> String {
    seq.bytes()
        .rev()
        .map(|b| match b {
            b'A' => 'T',
            b'C' => 'G',
            b'G' => 'C',
            b'T' => 'A',
            b'a' => 't',
            b'c' => 'g',
            b'g' => 'c',
            b't' => 'a',
            other => other as char,
        })
        .collect()
}

/// Starts the kmindex-compatible server on the fixture index at a free loopback port.
pub async fn spawn_kmindex_server() -> std::net::SocketAddr {
    let index = kmindex::Index::open(&fixture_index()).expect("open the fixture index");
    let router = kmviz::api::kmindex::router(
        std::sync::Arc::new(index),
        kmviz::api::kmindex::Limits::default(),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
    addr
}

/// `n` pseudo-random bases from `seed` (xorshift; the same for the same seed, not 0).
pub fn random_dna(mut seed: u64, n: usize) -> String {
    (0..n)
        .map(|_| {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            b"ACGT"[(seed >> 33) as usize % 4] as char
        })
        .collect()
}

/// Writes `kmviz.toml` in `dir` (returned) with one database, `fixture`, on the fixture index
/// and a TSV of its samples (`Sample`, `Site`), sessions in `dir/sessions`, and no `[input]`
/// or `[api]` section: the defaults apply. `extra` is more TOML.
pub fn fixture_config(dir: &Path, extra: &str) -> PathBuf {
    let mut tsv = String::from("Sample\tSite\n");
    for i in 0..16 {
        tsv.push_str(&format!("D{i}\tsite{i}\n"));
    }
    std::fs::write(dir.join("meta.tsv"), tsv).unwrap();
    let config = format!(
        "[databases.fixture]\ntype = \"kmindex\"\nparams = {{ index_path = \"{}\" }}\n\
         metadata = {{ type = \"tsv\", params = {{ path = \"{}\", idx = \"Sample\" }} }}\n\
         {extra}\n[sessions]\ndata_dir = \"{}\"\n",
        fixture_index().display(),
        dir.join("meta.tsv").display(),
        dir.join("sessions").display()
    );
    let path = dir.join("kmviz.toml");
    std::fs::write(&path, config).unwrap();
    path
}

/// A kmviz server on a free loopback port: in this process (as `kmviz serve` runs it:
/// [`kmviz::App`]), or a `kmviz serve` process when a test needs one (its logs, its signals,
/// its memory).
pub struct Server {
    run: Run,
    pub base: String,
    log: Arc<Mutex<Vec<String>>>,
}

enum Run {
    Process(Child),
    /// Its runtime's thread: stopped when the server is dropped.
    InProcess {
        stop: Option<tokio::sync::oneshot::Sender<()>>,
        stopped: std::sync::mpsc::Receiver<()>,
    },
}

impl Server {
    /// Serves `config` in this process, on a runtime of its own (so that the server outlives
    /// no test and blocks none).
    pub fn start(config: &Path) -> Server {
        let config = config.to_owned();
        let (ready, started) = std::sync::mpsc::channel();
        let (stop, stop_asked) = tokio::sync::oneshot::channel::<()>();
        let (done, stopped) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .enable_all()
                .build()
                .unwrap();
            runtime.block_on(async move {
                let opened = async {
                    let read = kmviz::config::Config::read(&config).map_err(|e| e.to_string())?;
                    let base = config.parent().unwrap();
                    let instance =
                        kmviz::Instance::from_config(&read, base).map_err(|e| e.to_string())?;
                    kmviz::App::open(instance)
                        .await
                        .map_err(|e| format!("{e:#}"))
                };
                let app = match opened.await {
                    Ok(app) => app,
                    Err(e) => return ready.send(Err(e)).unwrap(),
                };
                let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
                let base = format!("http://{}", listener.local_addr().unwrap());
                ready.send(Ok(base)).unwrap();
                app.serve(listener, async {
                    let _ = stop_asked.await;
                })
                .await
                .unwrap();
            });
            let _ = done.send(());
        });
        let base = started
            .recv()
            .expect("the server's thread ended")
            .unwrap_or_else(|e| panic!("the server did not start: {e}"));
        Server {
            run: Run::InProcess {
                stop: Some(stop),
                stopped,
            },
            base,
            log: Arc::default(),
        }
    }

    /// A `kmviz serve` process for `config`.
    pub fn process(config: &Path) -> Server {
        Server::start_with(config, &[])
    }

    /// A `kmviz serve` process with more arguments for `kmviz` (`--log-format json`, say).
    pub fn start_with(config: &Path, args: &[&str]) -> Server {
        let mut child = Command::new(env!("CARGO_BIN_EXE_kmviz"))
            .args(args)
            .args(["serve", "--config", config.to_str().unwrap(), "--port", "0"])
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
        let mut seen = Vec::new();
        let base = loop {
            let Some(line) = lines.next() else {
                panic!("kmviz serve stopped: {}", seen.join("\n"));
            };
            let line = line.unwrap();
            if let Some(url) = line.strip_prefix("kmviz is up. Open ") {
                break url.trim_end_matches('/').to_owned();
            }
            seen.push(line);
        };
        let log = Arc::new(Mutex::new(Vec::new()));
        let keep = log.clone();
        std::thread::spawn(move || lines.for_each(|line| keep.lock().unwrap().extend(line.ok())));
        Server {
            run: Run::Process(child),
            base,
            log,
        }
    }

    fn child(&mut self) -> &mut Child {
        match &mut self.run {
            Run::Process(child) => child,
            Run::InProcess { .. } => {
                panic!("a server in this process: start it with Server::process")
            }
        }
    }

    /// Whether the server writes a line containing `text` to stderr within 5 s (its stderr is
    /// read on another thread).
    pub fn logs(&self, text: &str) -> bool {
        self.log_line(text).is_some()
    }

    /// The first line containing `text` the server writes to stderr within 5 s.
    pub fn log_line(&self, text: &str) -> Option<String> {
        assert!(
            matches!(self.run, Run::Process(_)),
            "a server in this process: start it with Server::process to read its log"
        );
        for _ in 0..50 {
            let found = self
                .log
                .lock()
                .unwrap()
                .iter()
                .find(|l| l.contains(text))
                .cloned();
            if found.is_some() {
                return found;
            }
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
        None
    }

    /// The server's process id.
    pub fn pid(&self) -> u32 {
        match &self.run {
            Run::Process(child) => child.id(),
            Run::InProcess { .. } => {
                panic!("a server in this process: start it with Server::process")
            }
        }
    }

    /// Sends SIGTERM and waits for the process to end: whether it exited well, and after how
    /// long.
    pub fn terminate(&mut self) -> (bool, std::time::Duration) {
        let sent = std::time::Instant::now();
        let killed = Command::new("kill")
            .args(["-TERM", &self.pid().to_string()])
            .status()
            .unwrap();
        assert!(killed.success());
        let status = self.child().wait().unwrap();
        (status.success(), sent.elapsed())
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// Session `id` once its job has ended.
    pub async fn finished(&self, id: &str) -> serde_json::Value {
        for _ in 0..600 {
            let (status, session) = get_json(&self.url(&format!("/api/sessions/{id}"))).await;
            assert_eq!(status, 200, "{session}");
            if session["status"] != "running" {
                return session;
            }
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
        panic!("session {id} did not finish");
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        match &mut self.run {
            Run::Process(child) => {
                let _ = child.kill();
                let _ = child.wait();
            }
            Run::InProcess { stop, stopped } => {
                let _ = stop.take().map(|stop| stop.send(()));
                // Jobs still running may take the grace period to wind down: not waited for.
                let _ = stopped.recv_timeout(std::time::Duration::from_secs(2));
            }
        }
    }
}

/// A kmindex-server that answers queries after `delay`: the real engine on the fixture index,
/// behind real HTTP, slowed down. It counts, by query name, the queries it started and those
/// it answered (a client that goes away leaves one started, not answered).
pub struct SlowKmindex {
    pub port: u16,
    pub counts: Arc<Mutex<std::collections::BTreeMap<String, (usize, usize)>>>,
}

impl SlowKmindex {
    pub async fn start(delay: std::time::Duration) -> SlowKmindex {
        let index = kmindex::Index::open(&fixture_index()).unwrap();
        let counts: Arc<Mutex<std::collections::BTreeMap<String, (usize, usize)>>> = Arc::default();
        let counted = Arc::clone(&counts);
        let router =
            kmviz::api::kmindex::router(Arc::new(index), kmviz::api::kmindex::Limits::default())
                .layer(axum::middleware::from_fn(
                    move |request: axum::extract::Request, next: axum::middleware::Next| {
                        let counts = Arc::clone(&counted);
                        async move {
                            if !request.uri().path().ends_with("/query") {
                                return next.run(request).await;
                            }
                            let (parts, body) = request.into_parts();
                            let bytes = axum::body::to_bytes(body, usize::MAX).await.unwrap();
                            let name = serde_json::from_slice::<serde_json::Value>(&bytes)
                                .ok()
                                .and_then(|body| Some(body["id"].as_str()?.to_owned()))
                                .unwrap_or_default();
                            counts.lock().unwrap().entry(name.clone()).or_default().0 += 1;
                            tokio::time::sleep(delay).await;
                            let request = axum::extract::Request::from_parts(parts, bytes.into());
                            let response = next.run(request).await;
                            counts.lock().unwrap().entry(name).or_default().1 += 1;
                            response
                        }
                    },
                ));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
        SlowKmindex { port, counts }
    }
}
