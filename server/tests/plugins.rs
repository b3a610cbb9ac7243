//! Plugins built from source (`plugins/`, for `wasm32-wasip2`) and used through the JSON API of
//! a real `kmviz serve`: the Rust kmindex-server provider answers as the built-in client does,
//! and the sandbox stops plugins that loop, allocate past their limit, read outside their grant
//! or call a host they were not granted, while a query on another database succeeds.

mod common;

use std::path::{Path, PathBuf};

use common::{Server, get_json, kmviz, records, spawn_kmindex_server};
use serde_json::{Value, json};

/// Example plugin `plugins/<folder>`, built by `cargo xtask plugins` (which `cargo xtask test`
/// runs) into `$KMVIZ_PLUGINS`, else `target/plugins`.
fn wasm(folder: &str) -> String {
    let dir = std::env::var_os("KMVIZ_PLUGINS").map_or_else(
        || Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/plugins"),
        PathBuf::from,
    );
    let wasm = dir.join(format!("{folder}.wasm"));
    assert!(
        wasm.is_file(),
        "{} is missing: build the example plugins with `cargo xtask plugins` (`cargo xtask test` \
         does) and give their folder in KMVIZ_PLUGINS",
        wasm.display()
    );
    wasm.display().to_string()
}

fn temp_dir(tag: &str) -> PathBuf {
    common::scratch(&format!("plugins-{tag}"))
}

/// Starts `kmviz serve` with `databases` (TOML) and `plugins` (TOML), metadata in `meta.tsv`.
fn serve(tag: &str, body: &str) -> (Server, PathBuf) {
    let (config, dir) = write_config(tag, body);
    (Server::start(&config), dir)
}

/// [`serve`] as a `kmviz serve` process (whose log a test reads).
fn serve_process(tag: &str, body: &str) -> (Server, PathBuf) {
    let (config, dir) = write_config(tag, body);
    (Server::process(&config), dir)
}

/// `kmviz.toml` in a new folder for `tag`, with `body` after the engine and sessions settings,
/// beside a `meta.tsv` of samples D0..D15 and S1.
fn write_config(tag: &str, body: &str) -> (PathBuf, PathBuf) {
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
    (config, dir)
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
    let (status, submitted) = common::openapi::read("POST", response).await;
    assert_eq!(status, 202, "{submitted}");
    let id = submitted["session"].as_str().unwrap();
    server.finished(id).await;
    // With the per-k-mer values: the tests compare them.
    let (status, session) =
        get_json(&server.url(&format!("/api/sessions/{id}?vectors=true"))).await;
    assert_eq!(status, 200, "{session}");
    session
}

/// What `GET /api/info` says of `database`.
async fn described(server: &Server, database: &str) -> Value {
    let (_, info) = get_json(&server.url("/api/info")).await;
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
        wasm("kmindex-http"),
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
    // Accepts connections and never answers.
    let silent = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let silent_port = silent.local_addr().unwrap().port();
    std::thread::spawn(move || {
        let held: Vec<_> = silent.incoming().collect();
        drop(held);
    });
    let silent = silent_port;
    let granted = temp_dir("granted");
    std::fs::write(granted.join("open.txt"), "for the probe").unwrap();
    let probe = wasm("sandbox-probe");
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
        // Blocked in a host call: an HTTP answer that never comes, from a granted host.
        database(
            "hanging",
            "waiting",
            &format!("{{ mode = \"http\", target = \"http://127.0.0.1:{silent}/\" }}"),
        ),
        plugin("waiting", &format!("allow_http = [\"127.0.0.1:{silent}\"]")),
        database("crashing", "probe", "{ mode = \"panic\" }"),
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
            wasm("kmindex-http")
        ),
    ]
    .concat();
    let (server, _dir) = serve_process("sandbox", &body);
    let unreachable = described(&server, "unreachable").await;
    let why = unreachable["error"].as_str().unwrap();
    assert!(
        why.starts_with("plugin 'kmindex-http': cannot describe itself: http://127.0.0.1:"),
        "{why}"
    );
    let read = &records("pa_dataset", 1)[0];
    let fastx = format!(">{}\n{}\n", read.name, read.seq);
    let all = [
        "native", "looping", "greedy", "snooping", "reading", "calling", "hanging", "crashing",
        "polite",
    ];
    let started = std::time::Instant::now();
    let session = run(&server, &fastx, &all).await;
    // Every plugin call ended within its limit (1 s), the blocked one included.
    assert!(
        started.elapsed() < std::time::Duration::from_secs(10),
        "{:?}",
        started.elapsed()
    );
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
        error("hanging"),
        "plugin 'waiting': stopped after its time limit of 1000 ms"
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
    assert_eq!(
        error("crashing"),
        "plugin 'probe': crashed (wasm `unreachable` instruction executed); what it printed is in \
         the server's log"
    );
    assert!(server.logs("the probe panics on request"));
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
    let http = wasm("kmindex-http");
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
        wasm("sandbox-probe")
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
    let (ok, _, stderr) = plugin_new("rust", "my-index", &dir);
    assert!(ok, "{stderr}");
    let project = dir.join("my-index");
    // Built on its own, as its author would, sharing the tests' compiled dependencies.
    // The target folder the tests were built in: .../target/debug/kmviz.
    let target = Path::new(env!("CARGO_BIN_EXE_kmviz"))
        .ancestors()
        .nth(2)
        .unwrap();
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

    let (ok, _, stderr) = plugin_new("go", "x", &dir);
    assert!(
        !ok && stderr.contains("unknown language 'go': rust, js, python or c"),
        "{stderr}"
    );
    let (ok, _, stderr) = plugin_new("rust", "My Index", &dir);
    assert!(
        !ok && stderr.contains("'My Index' is not a plugin name"),
        "{stderr}"
    );
    let (ok, _, stderr) = plugin_new("rust", "my-index", &dir);
    assert!(!ok && stderr.contains("already exists"), "{stderr}");
}

/// `kmviz plugin new --lang LANG NAME --dir DIR`: (success, stdout, stderr).
fn plugin_new(lang: &str, name: &str, dir: &Path) -> (bool, Vec<u8>, String) {
    kmviz(&[
        "plugin",
        "new",
        "--lang",
        lang,
        name,
        "--dir",
        dir.to_str().unwrap(),
    ])
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn examples_in_four_languages_serve_one_instance() {
    let dir = temp_dir("examples");
    // Three references: one holds the query, one its reverse complement, one neither.
    let refs = dir.join("refs");
    std::fs::create_dir_all(&refs).unwrap();
    let genome = common::random_dna(7, 400);
    let query = &genome[100..300];
    std::fs::write(refs.join("north.fa"), format!(">n\n{genome}\n")).unwrap();
    std::fs::write(
        refs.join("south.fasta"),
        format!(
            ">s1\n{}\n>s2\n{}\n",
            common::random_dna(8, 50),
            common::revcomp(&genome)
        ),
    )
    .unwrap();
    std::fs::write(
        refs.join("elsewhere.fa"),
        format!(">e\n{}\n", common::random_dna(9, 400)),
    )
    .unwrap();
    // Their metadata, as a CSV the JavaScript MetaDB reads from its granted folder.
    let meta = dir.join("meta");
    std::fs::create_dir_all(&meta).unwrap();
    std::fs::write(
        meta.join("samples.csv"),
        "ID,Biome,depth,lat,lon,cold\n\
         north,\"Polar, north\",5,78.5,15.2,true\n\
         south,Austral,40,-60.25,-45,TRUE\n\
         elsewhere,\"Trades \"\"east\"\"\",,10,120.5,false\n",
    )
    .unwrap();
    let metadata = format!(
        "metadata = {{ type = \"csv-js\", params = {{ path = \"{}\", id = \"ID\", \
         latitude = \"lat\", longitude = \"lon\" }} }}",
        meta.join("samples.csv").display()
    );
    let body = format!(
        "[plugins.fasta-scan]\nwasm = \"{py}\"\ndirs = [\"refs\"]\ntimeout_ms = 60000\n\
         [plugins.kmer-c]\nwasm = \"{c}\"\ndirs = [\"refs\"]\n\
         [plugins.csv-js]\nwasm = \"{js}\"\ndirs = [\"meta\"]\ntimeout_ms = 60000\n\
         [plugins.coverage]\nwasm = \"{tab}\"\nparams = {{ group = \"Biome\", bins = 4 }}\n\
         [plugins.demo]\nwasm = \"{demo}\"\n\
         [databases.python]\ntype = \"fasta-scan\"\nparams = {{ dir = \"{refs}\", k = 21 }}\n{metadata}\n\
         [databases.c]\ntype = \"kmer-c\"\nparams = {{ dir = \"{refs}\", k = 21 }}\n{metadata}\n",
        py = wasm("fasta-scan-py"),
        c = wasm("kmer-c"),
        js = wasm("csv-metadb-js"),
        tab = wasm("coverage-tab"),
        demo = wasm("demo-instance"),
        refs = refs.display(),
    );
    let config = dir.join("kmviz.toml");
    std::fs::write(
        &config,
        format!("[sessions]\ndata_dir = \"sessions\"\n{body}"),
    )
    .unwrap();
    let server = Server::start(&config);

    // The Python and the C providers find the same samples, every k-mer of the query.
    let session = run(&server, &format!(">q1\n{query}\n"), &["python", "c"]).await;
    let (python, c) = (pair(&session, "python"), pair(&session, "c"));
    assert_eq!(
        (&python["state"], &c["state"]),
        (&json!("done"), &json!("done")),
        "{session}"
    );
    // As `[value, count]` runs: one run of found k-mers.
    let all_kmers = json!([[1, query.len() - 21 + 1]]);
    let expected: Vec<(String, String, f64, Value)> = ["north", "south"]
        .iter()
        .map(|s| ("refs".to_owned(), s.to_string(), 1.0, all_kmers.clone()))
        .collect();
    assert_eq!(hits(python), expected);
    assert_eq!(hits(c), expected);

    // The JavaScript MetaDB's columns, typed from the CSV, joined to the hits.
    let result = &python["result"];
    let columns: Vec<(&str, &str)> = result["columns"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| (c["name"].as_str().unwrap(), c["type"].as_str().unwrap()))
        .collect();
    assert_eq!(
        columns,
        [
            ("Biome", "text"),
            ("depth", "integer"),
            ("lat", "float"),
            ("lon", "float"),
            ("cold", "boolean")
        ]
    );
    let north = result["hits"]
        .as_array()
        .unwrap()
        .iter()
        .find(|h| h["ID"] == "north")
        .unwrap();
    assert_eq!(
        north["metadata"],
        json!(["Polar, north", 5, 78.5, 15.2, true]),
        "{north}"
    );
    let info = described(&server, "c").await;
    assert_eq!(info["metadata"]["rows"], 3);
    assert_eq!(
        info["metadata"]["geodata"],
        json!({"latitude": "lat", "longitude": "lon"})
    );

    // The Rust tab: coverage per biome, from the hits.
    let id = session["id"].as_str().unwrap();
    let tabs = |query: &str| {
        server.url(&format!(
            "/api/sessions/{id}/tabs/coverage?query={query}&database=python"
        ))
    };
    let (status, tab) = get_json(&tabs("q1")).await;
    assert_eq!(status, 200, "{tab}");
    let html = tab["html"].as_str().unwrap_or_else(|| panic!("{tab}"));
    for biome in ["Polar, north", "Austral"] {
        // One sample, in the last of 4 bins, mean 1.
        let row = format!("<tr><td>{biome}</td><td>1</td><td>0</td><td>0</td><td>0</td><td>1</td>");
        assert!(html.contains(&row), "{html}");
    }
    assert!(!html.contains("Trades"), "{html}");
    let (status, missing) = get_json(&tabs("q2")).await;
    assert_eq!(status, 404);
    assert_eq!(
        missing["error"],
        format!("session '{id}' has no query 'q2' on database 'python'")
    );

    // The instance plugin's pages, listed with the tab in /api/info, and its assets.
    let (_, info) = get_json(&server.url("/api/info")).await;
    assert_eq!(
        info["tabs"],
        json!([{"plugin": "coverage", "name": "Coverage by group", "icon": "bar-chart", "position": 0}])
    );
    let branding = &info["branding"];
    assert!(
        branding["home"]
            .as_str()
            .unwrap()
            .contains("<h2>The kmviz demo</h2>"),
        "{branding}"
    );
    assert!(
        branding["help"]
            .as_str()
            .unwrap()
            .contains("About the demo survey"),
        "{branding}"
    );
    assert_eq!(branding["styles"], json!(["/plugins/demo/demo.css"]));
    let logo = reqwest::get(server.url("/plugins/demo/logo.svg"))
        .await
        .unwrap();
    assert_eq!(logo.headers()["content-type"], "image/svg+xml");
    assert!(logo.text().await.unwrap().starts_with("<svg"));
    let none = reqwest::get(server.url("/plugins/demo/nope.css"))
        .await
        .unwrap();
    let (status, none) = common::openapi::read("GET", none).await;
    assert_eq!(status, 404);
    assert_eq!(none["error"], "plugin 'demo' has no asset 'nope.css'");

    // A MetaDB that cannot describe itself stops the configuration, naming why.
    drop(server);
    let broken = dir.join("broken.toml");
    std::fs::write(
        &broken,
        std::fs::read_to_string(&config)
            .unwrap()
            .replace("id = \"ID\"", "id = \"Sample\""),
    )
    .unwrap();
    let (ok, stdout, stderr) = kmviz(&["config", "check", broken.to_str().unwrap()]);
    let stdout = String::from_utf8(stdout).unwrap();
    assert!(!ok, "{stdout}{stderr}");
    assert!(
        stdout.contains("database 'c': metadata: plugin 'csv-js': cannot describe itself:")
            && stdout.contains("Sample"),
        "{stdout}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn plugin_new_writes_js_python_and_c_providers_that_build_and_answer() {
    let dir = temp_dir("new-languages");
    let mut body = String::new();
    for lang in ["js", "python", "c"] {
        let name = format!("my-{lang}");
        let (ok, _, stderr) = plugin_new(lang, &name, &dir);
        assert!(ok, "{stderr}");
        // Built by its own script, as its author would (the C tool the examples' build made
        // is reused rather than built again from the project's copy).
        let project = dir.join(&name);
        let mut build = std::process::Command::new(project.join("build.sh"));
        build.current_dir(&project);
        if let Some(tool) = c_tools() {
            build.env("KMVIZ_C_TOOLS", tool);
        }
        let status = build.status().unwrap();
        assert!(status.success(), "the {lang} template does not build");
        let built = project.join(format!("{name}.wasm"));
        body.push_str(&database(
            &format!("db-{lang}"),
            &name,
            "{ samples = { S1 = \"TTACGTACGTAA\", S2 = \"TTTT\" } }",
        ));
        body.push_str(&format!(
            "[plugins.{name}]\nwasm = \"{}\"\ntimeout_ms = 60000\n",
            built.display()
        ));
    }
    let (server, _dir) = serve("new-languages-served", &body);
    let session = run(&server, ">q\nACGTACGTGG\n", &["db-js", "db-python", "db-c"]).await;
    for lang in ["js", "python", "c"] {
        let found: Vec<String> = hits(pair(&session, &format!("db-{lang}")))
            .into_iter()
            .map(|h| h.1)
            .collect();
        assert_eq!(found, ["S1"], "{lang}: {session}");
    }
}

/// The C tool `plugins/kmer-c/build.sh` built beside the examples, if it is there.
fn c_tools() -> Option<PathBuf> {
    let target = std::env::var_os("CARGO_TARGET_DIR").map_or_else(
        || Path::new(env!("CARGO_MANIFEST_DIR")).join("../target"),
        PathBuf::from,
    );
    Some(target.join("c-tools/release/kmviz-c-tools")).filter(|tool| tool.is_file())
}
