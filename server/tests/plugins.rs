//! Plugins built from source (`plugins/`, for `wasm32-wasip2`) and used through the JSON API of
//! a real `kmviz serve`: the Rust kmindex-server provider answers as the built-in client does,
//! and the sandbox stops plugins that loop, allocate past their limit, read outside their grant
//! or call a host they were not granted, while a query on another database succeeds.

mod common;

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use common::{Server, kmviz, records, spawn_kmindex_server};
use serde_json::{Value, json};

const PLUGINS: [&str; 2] = ["kmviz-plugin-kmindex-http", "kmviz-plugin-sandbox-probe"];

/// Builds the plugins (once per test binary); the folder holding their `.wasm` files.
fn plugins() -> &'static Path {
    static BUILT: OnceLock<PathBuf> = OnceLock::new();
    BUILT.get_or_init(|| {
        // The target folder the tests were built in: .../target/debug/kmviz.
        let target = Path::new(env!("CARGO_BIN_EXE_kmviz"))
            .ancestors()
            .nth(2)
            .unwrap()
            .to_owned();
        let mut cargo = std::process::Command::new(env!("CARGO"));
        cargo.args([
            "build",
            "--locked",
            "--target",
            "wasm32-wasip2",
            "--profile",
            "wasm-release",
        ]);
        for plugin in PLUGINS {
            cargo.args(["-p", plugin]);
        }
        let status = cargo.env("CARGO_TARGET_DIR", &target).status().unwrap();
        assert!(status.success(), "the plugins do not build");
        target.join("wasm32-wasip2/wasm-release")
    })
}

fn wasm(crate_name: &str) -> String {
    plugins()
        .join(format!("{}.wasm", crate_name.replace('-', "_")))
        .display()
        .to_string()
}

fn temp_dir(tag: &str) -> PathBuf {
    common::scratch(&format!("plugins-{tag}"))
}

/// Starts `kmviz serve` with `databases` (TOML) and `plugins` (TOML), metadata in `meta.tsv`.
fn serve(tag: &str, body: &str) -> (Server, PathBuf) {
    let dir = temp_dir(tag);
    let samples: String = (0..16).map(|i| format!("D{i}\t{i}\n")).collect();
    std::fs::write(dir.join("meta.tsv"), format!("ID\tn\n{samples}S1\t99\n")).unwrap();
    let config = dir.join("kmviz.toml");
    std::fs::write(
        &config,
        format!(
            "[engine]\ntimeout = 60\nconcurrency = 8\n[sessions]\ndata_dir = \"sessions\"\n{body}"
        ),
    )
    .unwrap();
    (Server::start(&config), dir)
}

fn database(name: &str, kind: &str, params: &str) -> String {
    format!(
        "[databases.{name}]\ntype = \"{kind}\"\nparams = {params}\n\
         metadata = {{ type = \"tsv\", params = {{ path = \"meta.tsv\", idx = \"ID\" }} }}\n"
    )
}

/// Submits one query to `databases` and waits for its session to end.
async fn run(server: &Server, fastx: &str, databases: &[&str]) -> Value {
    let client = reqwest::Client::new();
    let body = json!({
        "fastx": fastx,
        "databases": databases.iter().map(|d| {
            // The kmindex providers, built in or not, with the same settings.
            let options = if ["native", "plugin"].contains(d) { json!({"z": 3, "coverage": 0.3}) } else { json!({}) };
            json!({"name": d, "options": options})
        }).collect::<Vec<_>>(),
    });
    let response = client
        .post(server.url("/api/query"))
        .json(&body)
        .send()
        .await
        .unwrap();
    let status = response.status();
    let submitted: Value = response.json().await.unwrap();
    assert_eq!(status, 202, "{submitted}");
    server
        .finished(submitted["session"].as_str().unwrap())
        .await
}

/// What `GET /api/info` says of `database`.
async fn described(server: &Server, database: &str) -> Value {
    let info: Value = reqwest::get(server.url("/api/info"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    info["databases"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["name"] == database)
        .unwrap()
        .clone()
}

fn pair<'a>(session: &'a Value, database: &str) -> &'a Value {
    session["pairs"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["database"] == database)
        .unwrap()
}

/// (sub-index, ID, CovXK, per-k-mer vector) of every hit.
fn hits(pair: &Value) -> Vec<(String, String, f64, Value)> {
    let mut hits: Vec<_> = pair["result"]["hits"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| {
            (
                h["index"].as_str().unwrap().to_owned(),
                h["ID"].as_str().unwrap().to_owned(),
                h["CovXK"].as_f64().unwrap(),
                h["kmers"].clone(),
            )
        })
        .collect();
    hits.sort_by(|a, b| (&a.0, &a.1).cmp(&(&b.0, &b.1)));
    hits
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rust_plugin_provider_answers_as_the_built_in_client_does() {
    let kmindex = spawn_kmindex_server().await;
    let url = format!("http://{kmindex}");
    let body = format!(
        "{}{}[plugins.kmindex-http]\nwasm = \"{}\"\nallow_http = [\"{kmindex}\"]\n",
        database(
            "native",
            "kmindex-server",
            &format!("{{ url = \"{url}\" }}")
        ),
        database("plugin", "kmindex-http", &format!("{{ url = \"{url}\" }}")),
        wasm("kmviz-plugin-kmindex-http"),
    );
    let (server, _dir) = serve("same", &body);
    let plugin = described(&server, "plugin").await;
    assert_eq!(plugin["provider"], "kmindex-http");
    let names: Vec<&str> = plugin["indexes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["abs", "pa"]);
    assert_eq!(plugin["options"][0]["name"], "z");

    let read = &records("pa_dataset", 1)[0];
    let session = run(
        &server,
        &format!(">{}\n{}\n", read.name, read.seq),
        &["native", "plugin"],
    )
    .await;
    let (native, plugin) = (pair(&session, "native"), pair(&session, "plugin"));
    assert_eq!(
        (&native["state"], &plugin["state"]),
        (&json!("done"), &json!("done")),
        "{session}"
    );
    let found = hits(native);
    assert!(found.iter().any(|h| h.1 == "D1" && h.2 == 1.0), "{found:?}");
    assert_eq!(hits(plugin), found);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn misbehaving_plugins_are_stopped_and_other_databases_keep_answering() {
    let kmindex = spawn_kmindex_server().await;
    let outside = temp_dir("outside").join("secret.txt");
    std::fs::write(&outside, "not for plugins").unwrap();
    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let granted = temp_dir("granted");
    std::fs::write(granted.join("open.txt"), "for the probe").unwrap();
    let probe = wasm("kmviz-plugin-sandbox-probe");
    let plugin = |name: &str, grants: &str| {
        format!(
            "[plugins.{name}]\nwasm = \"{probe}\"\ntimeout_ms = 1000\nmemory_mb = 32\n{grants}\n"
        )
    };
    let dirs = format!("dirs = [\"{}\"]", granted.display());
    let body = [
        database(
            "native",
            "kmindex-server",
            &format!("{{ url = \"http://{kmindex}\" }}"),
        ),
        database("looping", "probe", "{ mode = \"loop\" }"),
        database("greedy", "probe", "{ mode = \"allocate\" }"),
        database(
            "snooping",
            "probe",
            &format!("{{ mode = \"read\", target = \"{}\" }}", outside.display()),
        ),
        database(
            "reading",
            "probe",
            &format!(
                "{{ mode = \"read\", target = \"{}\" }}",
                granted.join("open.txt").display()
            ),
        ),
        database(
            "calling",
            "probe",
            &format!("{{ mode = \"http\", target = \"http://{kmindex}/kmindex/infos\" }}"),
        ),
        database("polite", "probe", "{ mode = \"find\" }"),
        plugin("probe", &dirs),
        // A plugin whose server is down when kmviz starts: that database alone fails.
        database(
            "unreachable",
            "kmindex-http",
            &format!("{{ url = \"http://127.0.0.1:{closed}\" }}"),
        ),
        format!(
            "[plugins.kmindex-http]\nwasm = \"{}\"\nallow_http = [\"127.0.0.1:{closed}\"]\n",
            wasm("kmviz-plugin-kmindex-http")
        ),
    ]
    .concat();
    let (server, _dir) = serve("sandbox", &body);
    let unreachable = described(&server, "unreachable").await;
    let why = unreachable["error"].as_str().unwrap();
    assert!(
        why.starts_with("plugin 'kmindex-http': cannot describe itself: http://127.0.0.1:"),
        "{why}"
    );
    let read = &records("pa_dataset", 1)[0];
    let fastx = format!(">{}\n{}\n", read.name, read.seq);
    let all = [
        "native", "looping", "greedy", "snooping", "reading", "calling", "polite",
    ];
    let session = run(&server, &fastx, &all).await;
    let error = |db: &str| {
        let pair = pair(&session, db);
        assert_eq!(pair["state"], "failed", "{db}: {pair}");
        pair["error"].as_str().unwrap().to_owned()
    };
    assert_eq!(
        error("looping"),
        "plugin 'probe': stopped after its time limit of 1000 ms"
    );
    assert_eq!(
        error("greedy"),
        "plugin 'probe': stopped: it needed more than its memory limit of 32 MB"
    );
    let snooping = error("snooping");
    assert!(
        snooping.starts_with(&format!(
            "plugin 'probe': cannot read {}",
            outside.display()
        )),
        "{snooping}"
    );
    let calling = error("calling");
    assert!(
        calling.contains(&format!(
            "it tried to reach {kmindex}, which it was not granted"
        )),
        "{calling}"
    );
    // What was granted works, and the other databases answered meanwhile.
    assert_eq!(pair(&session, "reading")["state"], "done");
    let polite = pair(&session, "polite");
    assert_eq!(
        hits(polite)
            .iter()
            .map(|h| h.1.as_str())
            .collect::<Vec<_>>(),
        ["S1"]
    );
    assert!(hits(pair(&session, "native")).iter().any(|h| h.1 == "D1"));
    // The server keeps serving: the same query again still works.
    let again = run(&server, &fastx, &["native", "polite"]).await;
    assert_eq!(pair(&again, "polite")["state"], "done");
}

#[test]
fn plugin_check_and_list_say_what_plugins_are_and_may_do() {
    let http = wasm("kmviz-plugin-kmindex-http");
    let (ok, stdout, stderr) = kmviz(&["plugin", "check", &http]);
    let stdout = String::from_utf8(stdout).unwrap();
    assert!(ok, "{stdout}{stderr}");
    assert!(
        stdout.contains("exports kmviz:plugin/provider@0.1.0"),
        "{stdout}"
    );
    assert!(
        stdout.contains("asks for: environment variables (env), outgoing HTTP (allow_http)"),
        "{stdout}"
    );
    assert!(
        stdout.contains("loads in this kmviz (kmviz:plugin@0.1.0)"),
        "{stdout}"
    );

    let dir = temp_dir("check");
    let text = dir.join("not.wasm");
    std::fs::write(&text, "hello").unwrap();
    let (ok, _, stderr) = kmviz(&["plugin", "check", text.to_str().unwrap()]);
    assert!(!ok);
    assert!(
        stderr.contains("not.wasm: not a WebAssembly file (it does not start with \\0asm)"),
        "{stderr}"
    );

    let config = dir.join("kmviz.toml");
    std::fs::write(
        &config,
        format!(
            "[plugins.kmindex-http]\nwasm = \"{http}\"\nallow_http = [\"127.0.0.1:9\"]\n\
             memory_mb = 16\n[plugins.kmviz_example]\n[databases]\n"
        ),
    )
    .unwrap();
    let (ok, stdout, stderr) = kmviz(&["plugin", "list", "--config", config.to_str().unwrap()]);
    let stdout = String::from_utf8(stdout).unwrap();
    assert!(ok, "{stderr}");
    assert_eq!(
        stdout,
        format!(
            "kmindex-http: {http}\n  http: 127.0.0.1:9\n  folders (read-only): none\n  \
             environment: none\n  memory 16 MB, 10000 ms per call, 2 calls at once\n"
        )
    );
    // kmviz 0.8's Python plugins are named and ignored.
    assert!(
        stderr.contains("plugins.kmviz_example: a kmviz 0.8 (Python) plugin is ignored"),
        "{stderr}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn compiled_plugins_are_cached_and_reused() {
    let body = format!(
        "{}[plugins.probe]\nwasm = \"{}\"\n",
        database("polite", "probe", "{ mode = \"find\" }"),
        wasm("kmviz-plugin-sandbox-probe")
    );
    let (server, dir) = serve("cache", &body);
    let cache = dir.join("sessions/plugin-cache");
    let cached: Vec<PathBuf> = std::fs::read_dir(&cache)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert_eq!(cached.len(), 1, "{cached:?}");
    assert_eq!(cached[0].extension().unwrap(), "cwasm");
    let written = std::fs::metadata(&cached[0]).unwrap().modified().unwrap();
    drop(server);
    // A second start reads the cache instead of compiling again.
    let config = dir.join("kmviz.toml");
    let server = Server::start(&config);
    let session = run(&server, ">q\nACGT\n", &["polite"]).await;
    assert_eq!(pair(&session, "polite")["state"], "done");
    assert_eq!(
        std::fs::metadata(&cached[0]).unwrap().modified().unwrap(),
        written
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn plugin_new_writes_a_rust_provider_that_builds_and_answers() {
    let dir = temp_dir("new");
    let (ok, _, stderr) = kmviz(&[
        "plugin",
        "new",
        "--lang",
        "rust",
        "my-index",
        "--dir",
        dir.to_str().unwrap(),
    ]);
    assert!(ok, "{stderr}");
    let project = dir.join("my-index");
    // Built on its own, as its author would, sharing the tests' compiled dependencies.
    let target = plugins().ancestors().nth(2).unwrap();
    let status = std::process::Command::new(env!("CARGO"))
        .args([
            "build",
            "--offline",
            "--target",
            "wasm32-wasip2",
            "--release",
            "--manifest-path",
        ])
        .arg(project.join("Cargo.toml"))
        .env("CARGO_TARGET_DIR", target)
        .status()
        .unwrap();
    assert!(status.success(), "the template does not build");
    let built = target.join("wasm32-wasip2/release/my_index.wasm");
    let (ok, stdout, stderr) = kmviz(&["plugin", "check", built.to_str().unwrap()]);
    assert!(ok, "{stderr}");
    assert!(
        String::from_utf8(stdout)
            .unwrap()
            .contains("exports kmviz:plugin/provider@0.1.0")
    );

    let body = format!(
        "{}[plugins.my-index]\nwasm = \"{}\"\n",
        database(
            "mine",
            "my-index",
            "{ samples = { S1 = \"TTACGTACGTAA\", S2 = \"TTTT\" } }"
        ),
        built.display()
    );
    let (server, _dir) = serve("new-served", &body);
    let session = run(&server, ">q\nACGTACGTGG\n", &["mine"]).await;
    let found: Vec<String> = hits(pair(&session, "mine"))
        .into_iter()
        .map(|h| h.1)
        .collect();
    assert_eq!(found, ["S1"]);

    let (ok, _, stderr) = kmviz(&[
        "plugin",
        "new",
        "--lang",
        "js",
        "x",
        "--dir",
        dir.to_str().unwrap(),
    ]);
    assert!(!ok && stderr.contains("no js template yet"), "{stderr}");
    let (ok, _, stderr) = kmviz(&[
        "plugin",
        "new",
        "--lang",
        "rust",
        "My Index",
        "--dir",
        dir.to_str().unwrap(),
    ]);
    assert!(
        !ok && stderr.contains("'My Index' is not a plugin name"),
        "{stderr}"
    );
    let (ok, _, stderr) = kmviz(&[
        "plugin",
        "new",
        "--lang",
        "rust",
        "my-index",
        "--dir",
        dir.to_str().unwrap(),
    ]);
    assert!(!ok && stderr.contains("already exists"), "{stderr}");
}
