//! The `kmviz` command line. Raw arguments become validated options here, once; each
//! subcommand then calls the library.

use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, bail};
use clap::{Args, Parser, Subcommand};

use kmindex::{Format, Index};

#[derive(Debug, Parser)]
#[command(
    name = "kmviz",
    version,
    about = "Explore sequence indexes from a browser"
)]
struct Cli {
    /// How log lines are written (on standard error): for people, or one JSON object each
    /// for log collectors.
    #[arg(long, global = true, value_enum, default_value_t = LogFormat::Text)]
    log_format: LogFormat,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum LogFormat {
    Text,
    Json,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Serve the databases of a configuration (without --config: the embedded demo).
    Serve {
        /// The configuration file (TOML, YAML or JSON).
        #[arg(long)]
        config: Option<PathBuf>,
        #[command(flatten)]
        listen: Listen,
    },
    /// Check a configuration, or print one to start from.
    #[command(subcommand)]
    Config(ConfigCommand),
    /// Make (or reuse) the demo survey and serve it.
    Demo {
        /// Where the demo's files go (default: the user's data folder, kmviz/demo).
        #[arg(long)]
        data_dir: Option<PathBuf>,
        /// Seed of the made-up survey: the same seed gives the same files.
        #[arg(long, default_value_t = crate::demo::DEFAULT_SEED)]
        seed: u64,
        #[command(flatten)]
        listen: Listen,
    },
    /// Work with kmindex indexes directly.
    #[command(subcommand)]
    Index(IndexCommand),
    /// Inspect WebAssembly plugins.
    #[command(subcommand)]
    Plugin(PluginCommand),
    /// Print the OpenAPI document of kmviz's HTTP API (as served at /api/openapi.json), for
    /// generating clients.
    Openapi,
    /// Exit 0 when URL answers 2xx within 5 s (a container's health check: the image has no
    /// curl).
    Health {
        #[arg(default_value = "http://127.0.0.1:8080/healthz")]
        url: String,
    },
}

#[derive(Debug, Subcommand)]
enum PluginCommand {
    /// Say which of kmviz's interfaces FILE.wasm exports, against which WIT version, and
    /// what it asks the host for.
    Check { file: PathBuf },
    /// List the plugins a configuration declares, with their grants.
    List {
        #[arg(long)]
        config: PathBuf,
    },
    /// Write a new plugin project NAME that builds as it is.
    New {
        /// rust (js, python and c are planned).
        #[arg(long)]
        lang: String,
        name: String,
        /// Where the project's folder goes.
        #[arg(long, default_value = ".")]
        dir: PathBuf,
    },
}

#[derive(Debug, Subcommand)]
enum ConfigCommand {
    /// Read FILE, open every database it names, and say what is wrong.
    Check { file: PathBuf },
    /// Print a configuration with every section.
    Template {
        #[arg(long, value_enum, default_value = "toml")]
        format: crate::config::Format,
    },
}

#[derive(Debug, Subcommand)]
enum IndexCommand {
    /// Print an index's registry (index.json), as `kmindex index-infos` does.
    Infos {
        /// The index directory (holding index.json).
        #[arg(long)]
        index: PathBuf,
    },
    /// Query one sub-index; prints what `kmindex query` writes into its output file.
    Query(QueryArgs),
    /// Build a sub-index from FASTA/FASTQ files, in kmindex's format, and register it.
    Build(BuildArgs),
    /// Serve the index with kmindex-server's HTTP API.
    Serve(IndexServeArgs),
}

#[derive(Debug, Args)]
struct IndexServeArgs {
    /// The index directory (holding index.json).
    #[arg(long)]
    index: PathBuf,
    #[command(flatten)]
    listen: Listen,
    /// Largest request body in bytes; larger requests get 413.
    #[arg(long, default_value_t = 64 << 20)]
    max_body_size: usize,
    /// Queries looked up at once (default: the number of cores); more wait their turn.
    #[arg(long)]
    concurrency: Option<usize>,
    /// A TOML file of `user = "password"` pairs: every request then needs HTTP basic
    /// authentication.
    #[arg(long)]
    auth_file: Option<PathBuf>,
}

#[derive(Debug, Args)]
struct QueryArgs {
    /// The index directory (holding index.json).
    #[arg(long)]
    index: PathBuf,
    /// The sub-index to query.
    #[arg(long)]
    name: String,
    /// FASTA/FASTQ file, plain or gzip; each record is one query.
    #[arg(long)]
    fastx: PathBuf,
    /// findere's z: index s-mers, query (s+z)-mers.
    #[arg(long, default_value_t = 0, value_parser = clap::value_parser!(u8).range(0..=8))]
    z: u8,
    /// Report samples holding at least this fraction of a query's k-mers.
    #[arg(long, default_value_t = 0.0, value_parser = parse_ratio)]
    r: f64,
    /// Output format: json, json_vec or tsv.
    #[arg(long, default_value = "json")]
    format: Format,
}

#[derive(Debug, Args)]
struct BuildArgs {
    /// kmtricks file of files: `ID: file1 ; file2` per line (paths relative to its folder).
    #[arg(long)]
    fof: PathBuf,
    /// The index directory (created if needed; index.json is created or updated).
    #[arg(long)]
    index: PathBuf,
    /// Name of the new sub-index.
    #[arg(long)]
    name: String,
    /// s-mer size (kmindex's k-mer size), at most 31.
    #[arg(long)]
    kmer_size: usize,
    /// Minimizer size.
    #[arg(long, default_value_t = 10)]
    minim_size: usize,
    /// Rows of the Bloom filter; by default chosen from the data for a 5% false-positive
    /// rate per s-mer in the largest sample.
    #[arg(long)]
    bloom_size: Option<u64>,
    /// Number of partitions.
    #[arg(long, default_value_t = 4)]
    nb_partitions: usize,
    /// Bits per sample: 1 for presence/absence, 2 to 8 for abundance classes.
    #[arg(long, default_value_t = 1)]
    bw: usize,
    /// Threads (default: all cores).
    #[arg(long)]
    threads: Option<usize>,
}

#[derive(Debug, Args)]
struct Listen {
    /// Address to listen on (the container image sets 0.0.0.0).
    #[arg(long, env = "KMVIZ_ADDRESS", default_value = "127.0.0.1")]
    address: IpAddr,
    /// Port to listen on (0 picks a free one).
    #[arg(long, env = "KMVIZ_PORT", default_value_t = 8080)]
    port: u16,
}

fn parse_ratio(text: &str) -> Result<f64, String> {
    let r: f64 = text.parse().map_err(|e| format!("{e}"))?;
    if (0.0..=1.0).contains(&r) {
        Ok(r)
    } else {
        Err(format!("{r} is not in [0.0, 1.0]"))
    }
}

/// Runs the command line; errors are printed on standard error.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    init_logging(cli.log_format);
    match run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn init_logging(format: LogFormat) {
    let filter = tracing_subscriber::EnvFilter::try_from_env("KMVIZ_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let logs = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    match format {
        LogFormat::Text => logs.init(),
        // The request's span (its `request_id`) is in each line's `span` and `spans`.
        LogFormat::Json => logs.json().init(),
    }
}

fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Command::Serve {
            config: Some(file),
            listen,
        } => serve_config(&file, &listen),
        Command::Serve {
            config: None,
            listen,
        } => demo(default_demo_dir(), crate::demo::DEFAULT_SEED, &listen),
        Command::Config(ConfigCommand::Check { file }) => check_config(&file),
        Command::Health { url } => health(&url),
        Command::Openapi => {
            println!("{}", crate::api::openapi::document().to_pretty_json()?);
            Ok(())
        }
        Command::Plugin(PluginCommand::Check { file }) => check_plugin(&file),
        Command::Plugin(PluginCommand::List { config }) => list_plugins(&config),
        Command::Plugin(PluginCommand::New { lang, name, dir }) => {
            let made = crate::plugin::template::write(&lang, &name, &dir)?;
            println!(
                "{}: build it with `cargo build --target wasm32-wasip2 --release`",
                made.display()
            );
            Ok(())
        }
        Command::Config(ConfigCommand::Template { format }) => {
            print!("{}", crate::config::template(format));
            Ok(())
        }
        Command::Demo {
            data_dir,
            seed,
            listen,
        } => demo(data_dir.unwrap_or_else(default_demo_dir), seed, &listen),
        Command::Index(IndexCommand::Infos { index }) => {
            let registry = kmindex::registry::Registry::read(&index)?;
            println!("{}", registry.document.pretty());
            Ok(())
        }
        Command::Index(IndexCommand::Query(args)) => {
            let text = query(&args)?;
            print!("{text}");
            Ok(())
        }
        Command::Index(IndexCommand::Build(args)) => build(&args),
        Command::Index(IndexCommand::Serve(args)) => serve_index(&args),
    }
}

fn build(args: &BuildArgs) -> anyhow::Result<()> {
    use kmindex::build::{self, BuildOptions, Progress};
    let samples = build::read_fof(&args.fof)?;
    let options = BuildOptions {
        name: args.name.clone(),
        smer_size: args.kmer_size,
        minim_size: args.minim_size,
        bloom_size: args.bloom_size,
        nb_partitions: args.nb_partitions,
        bw: args.bw,
        threads: args.threads.unwrap_or_else(default_threads),
    };
    let progress = Progress::default();
    let started = std::time::Instant::now();
    let done = std::sync::atomic::AtomicBool::new(false);
    let report = std::thread::scope(|scope| {
        if std::io::IsTerminal::is_terminal(&std::io::stderr()) {
            scope.spawn(|| show_progress(&progress, samples.len(), started, &done));
        }
        let report = build::build(&args.index, &samples, &options, &progress);
        done.store(true, std::sync::atomic::Ordering::Relaxed);
        report
    })?;
    let seconds = started.elapsed().as_secs_f64();
    if let Some(sizing) = &report.sizing {
        eprintln!(
            "Bloom size {} chosen for ~{} distinct s-mers in the largest sample; expected false positives:",
            sizing.bloom_size, sizing.largest_sample
        );
        eprintln!("  per s-mer: {:.4}", sizing.smer_fpr);
        for (z, fpr) in sizing.kmer_fpr.iter().enumerate() {
            eprintln!("  per (s+z)-mer, z = {z}: {fpr:.2e}");
        }
    }
    eprintln!(
        "built '{}' ({} samples, {} bases in {seconds:.1} s, {:.1} Mb/s) in {}",
        args.name,
        report.entry.nb_samples,
        report.bases,
        report.bases as f64 / seconds / 1e6,
        report.dir.display()
    );
    Ok(())
}

/// `$XDG_DATA_HOME/kmviz/demo`, else `~/.local/share/kmviz/demo`, else `./kmviz-demo`.
fn default_demo_dir() -> PathBuf {
    match crate::instance::user_data_dir() {
        Some(data) => data.join("kmviz/demo"),
        None => PathBuf::from("kmviz-demo"),
    }
}

fn demo(data_dir: PathBuf, seed: u64, listen: &Listen) -> anyhow::Result<()> {
    let started = std::time::Instant::now();
    let demo = crate::demo::prepare(&data_dir, seed, default_threads())
        .with_context(|| format!("cannot prepare the demo in {}", data_dir.display()))?;
    match &demo.built {
        Some(report) => tracing::info!(
            "demo survey made in {} ({} samples, {} bases) in {:.1} s",
            data_dir.display(),
            report.entry.nb_samples,
            report.bases,
            started.elapsed().as_secs_f64()
        ),
        None => tracing::info!("reusing the demo survey in {}", data_dir.display()),
    }
    let index = Arc::new(Index::open(&demo.index)?);
    let instance = crate::instance::Instance::demo(&demo, &data_dir);
    let runtime = tokio::runtime::Runtime::new()?;
    runtime.block_on(async {
        let app = crate::App::open(instance).await?.with_kmindex(index);
        let listener = crate::bind(SocketAddr::new(listen.address, listen.port)).await?;
        let base = base_url(&listener)?;
        eprintln!("\nkmviz demo is up. Open {base}/");
        eprintln!("API: {base}/api/info (described at {base}/api/openapi.json)");
        eprintln!("Metadata: {}", demo.metadata.display());
        eprintln!("Example queries: {}", demo.queries.display());
        if let Some(example) = first_query(&demo.queries) {
            eprintln!(
                "Query it: curl -s {base}/api/query -H 'content-type: application/json' -d '{{\"fastx\":\">{}\\n{}\",\"databases\":[\"{}\"]}}'",
                example.name,
                example.seq,
                crate::demo::SUB_INDEX,
            );
            eprintln!("then: curl -s {base}/api/sessions/<session>\n");
        }
        app.serve(listener, crate::stop_signal()).await?;
        Ok(())
    })
}

fn health(url: &str) -> anyhow::Result<()> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async {
        let client = reqwest::Client::builder()
            .timeout(Duration::from_secs(5))
            .build()?;
        let response = client.get(url).send().await?;
        if !response.status().is_success() {
            bail!("{url}: {}", response.status());
        }
        Ok(())
    })
}

/// The address to open the server at: a wildcard one (`0.0.0.0`, `::`) is not one a browser
/// can open, so it becomes loopback.
fn base_url(listener: &tokio::net::TcpListener) -> std::io::Result<String> {
    let mut address = listener.local_addr()?;
    if address.ip().is_unspecified() {
        address.set_ip(match address.ip() {
            IpAddr::V4(_) => IpAddr::V4(std::net::Ipv4Addr::LOCALHOST),
            IpAddr::V6(_) => IpAddr::V6(std::net::Ipv6Addr::LOCALHOST),
        });
    }
    Ok(format!("http://{address}"))
}

fn read_instance(file: &Path) -> anyhow::Result<crate::instance::Instance> {
    let config = crate::config::Config::read(file)?;
    for warning in config.warnings() {
        tracing::warn!("{}: {warning}", file.display());
    }
    let base = file.parent().unwrap_or(Path::new("."));
    crate::instance::Instance::from_config(&config, base)
        .map_err(|e| anyhow::anyhow!("{}: {e}", file.display()))
}

fn serve_config(file: &Path, listen: &Listen) -> anyhow::Result<()> {
    let instance = read_instance(file)?;
    let runtime = tokio::runtime::Runtime::new()?;
    runtime.block_on(async {
        let app = crate::App::open(instance).await?;
        let listener = crate::bind(SocketAddr::new(listen.address, listen.port)).await?;
        eprintln!("kmviz is up. Open {}/", base_url(&listener)?);
        app.serve(listener, crate::stop_signal()).await?;
        Ok(())
    })
}

fn check_plugin(file: &Path) -> anyhow::Result<()> {
    let cache = std::env::temp_dir().join(format!("kmviz-plugin-check-{}", std::process::id()));
    let inspected = crate::plugin::inspect(file, &cache);
    let _ = std::fs::remove_dir_all(&cache);
    let inspected = inspected?;
    println!("{}: a WebAssembly component", file.display());
    let ours: Vec<&String> = inspected
        .exports
        .iter()
        .filter(|e| e.starts_with("kmviz:plugin/"))
        .collect();
    for export in &ours {
        println!("  exports {export}");
    }
    let asks: Vec<&str> = inspected
        .imports
        .iter()
        .filter_map(|i| crate::plugin::capability(i))
        .collect::<std::collections::BTreeSet<_>>()
        .into_iter()
        .collect();
    println!(
        "  asks for: {}",
        if asks.is_empty() {
            "nothing".to_owned()
        } else {
            asks.join(", ")
        }
    );
    let wanted = format!("@{}", crate::plugin::WIT_VERSION);
    if ours.is_empty() {
        bail!(
            "{} exports none of kmviz's interfaces (kmviz:plugin/provider{wanted}, …)",
            file.display()
        );
    }
    if let Some(other) = ours.iter().find(|e| !e.ends_with(&wanted)) {
        bail!("{other} is not the WIT version this kmviz loads ({wanted})");
    }
    println!("  loads in this kmviz (kmviz:plugin{wanted})");
    Ok(())
}

fn list_plugins(config: &Path) -> anyhow::Result<()> {
    let instance = read_instance(config)?;
    if instance.plugins.is_empty() {
        println!("{}: no WebAssembly plugins", config.display());
    }
    for plugin in &instance.plugins {
        let g = &plugin.grants;
        println!("{}: {}", plugin.name, plugin.wasm.display());
        println!(
            "  http: {}",
            if g.allow_http.is_empty() {
                "none".to_owned()
            } else {
                g.allow_http.join(", ")
            }
        );
        println!(
            "  folders (read-only): {}",
            if g.dirs.is_empty() {
                "none".to_owned()
            } else {
                g.dirs
                    .iter()
                    .map(|d| d.display().to_string())
                    .collect::<Vec<_>>()
                    .join(", ")
            }
        );
        println!(
            "  environment: {}",
            if g.env.is_empty() {
                "none".to_owned()
            } else {
                g.env.keys().cloned().collect::<Vec<_>>().join(", ")
            }
        );
        println!(
            "  memory {} MB, {} ms per call, {} calls at once",
            g.memory_mb, g.timeout_ms, g.concurrency
        );
    }
    Ok(())
}

fn check_config(file: &Path) -> anyhow::Result<()> {
    let instance = read_instance(file)?;
    let runtime = tokio::runtime::Runtime::new()?;
    let plugins = instance.load_plugins()?;
    runtime.block_on(async {
        let mut failed = 0;
        let context = crate::registry::Context {
            plugins: &plugins,
            local: &Default::default(),
            timeout: std::time::Duration::from_secs(instance.engine.timeout.min(10)),
        };
        for spec in instance.databases {
            let name = spec.name.clone();
            match crate::engine::Database::open(spec, &context).await {
                Ok(database) => match database.provider.indexes().await {
                    Ok(indexes) => println!(
                        "{name}: ok ({} {}, metadata {} columns)",
                        database.provider.kind(),
                        indexes
                            .iter()
                            .map(|i| format!("{}: {} samples", i.name, i.samples))
                            .collect::<Vec<_>>()
                            .join(", "),
                        database.metadb.schema().fields().len()
                    ),
                    Err(e) => {
                        failed += 1;
                        println!("{name}: {e}");
                    }
                },
                Err(e) => {
                    failed += 1;
                    println!("{e}");
                }
            }
        }
        if failed > 0 {
            bail!("{}: {failed} database(s) cannot be used", file.display());
        }
        println!("{}: ok", file.display());
        Ok(())
    })
}

fn first_query(path: &Path) -> Option<app::model::query::Query> {
    let text = std::fs::read(path).ok()?;
    app::model::query::read_fastx(&text)
        .ok()?
        .into_iter()
        .next()
}

fn default_threads() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

/// Redraws one status line on the terminal until `done`.
fn show_progress(
    progress: &kmindex::build::Progress,
    total: usize,
    started: std::time::Instant,
    done: &std::sync::atomic::AtomicBool,
) {
    use std::sync::atomic::Ordering::Relaxed;
    while !done.load(Relaxed) {
        let bases = progress.bases.load(Relaxed);
        let rate = bases as f64 / started.elapsed().as_secs_f64().max(1e-3) / 1e6;
        eprint!(
            "\r{}/{total} samples, {bases} bases read, {rate:.1} Mb/s   ",
            progress.samples_done.load(Relaxed)
        );
        std::thread::sleep(std::time::Duration::from_millis(200));
    }
    eprintln!();
}

/// `kmindex query` for one sub-index, one thread: records shorter than s + z are skipped with a
/// warning, a record without a name ends the input (kmindex's end-of-queue marker), and no
/// record at all writes nothing.
fn query(args: &QueryArgs) -> anyhow::Result<String> {
    let index = Index::open_only(&args.index, std::slice::from_ref(&args.name))?;
    let sub = index.get(&args.name).expect("opened above");
    let input = std::fs::read(&args.fastx)
        .with_context(|| format!("cannot read {}", args.fastx.display()))?;
    let records = app::model::query::read_fastx(&input)
        .with_context(|| format!("cannot read queries from {}", args.fastx.display()))?;
    let z = usize::from(args.z);
    let min = sub.smer_size() + z;
    let mut kept = Vec::with_capacity(records.len());
    for (number, record) in records.iter().enumerate() {
        if record.seq.len() < min {
            tracing::warn!("'{}' skipped: min size is s+z={min}", record.name);
            continue;
        }
        if record.name.is_empty() {
            tracing::warn!(
                "record {} has no name: kmindex stops reading there, so does kmviz",
                number + 1
            );
            break;
        }
        kept.push(record);
    }
    if kept.is_empty() {
        tracing::warn!("no query to answer");
        return Ok(String::new());
    }
    let seqs: Vec<&[u8]> = kept.iter().map(|q| q.seq.as_bytes()).collect();
    let names: Vec<&str> = kept.iter().map(|q| q.name.as_str()).collect();
    let results = sub.query(&seqs, z, args.format.needs_positions())?;
    Ok(kmindex::output::records(
        sub,
        &names,
        &results,
        args.format,
        args.r,
    ))
}

fn serve_index(args: &IndexServeArgs) -> anyhow::Result<()> {
    let dir = &args.index;
    let index = Index::open(dir).with_context(|| format!("cannot open index {}", dir.display()))?;
    let names: Vec<&str> = index.sub_indexes().map(|s| s.name()).collect();
    if names.is_empty() {
        bail!("{} registers no sub-index", dir.display());
    }
    tracing::info!("serving {} ({})", dir.display(), names.join(", "));
    let limits = crate::api::kmindex::Limits {
        max_body: args.max_body_size,
        concurrency: args
            .concurrency
            .unwrap_or(crate::api::kmindex::Limits::default().concurrency),
    };
    let mut router = crate::api::kmindex::router(Arc::new(index), limits);
    if let Some(path) = &args.auth_file {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read {}", path.display()))?;
        let users: std::collections::BTreeMap<String, String> = toml::from_str(&text)
            .with_context(|| format!("{}: expected `user = \"password\"` pairs", path.display()))?;
        if users.is_empty() {
            bail!("{} names no user", path.display());
        }
        router = crate::api::require_basic_auth(router, users);
    }
    let runtime = tokio::runtime::Runtime::new()?;
    runtime.block_on(async {
        let listen = &args.listen;
        let listener = crate::bind(SocketAddr::new(listen.address, listen.port)).await?;
        crate::serve(listener, router, crate::stop_signal(), async {}).await?;
        Ok(())
    })
}
